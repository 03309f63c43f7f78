//! The RAIDA log as use cases (risks, assumptions, issues, dependencies and
//! actions; POL-AGENT-COORDINATION rule 3), and [`raise`], which keeps
//! the items Charter raises itself in step with what it found: one item per
//! finding, updated rather than duplicated, reopened when the finding comes
//! back, closed when it is gone.

use std::collections::{HashMap, HashSet};

use charter_model::raida::RaidaItem;
use charter_model::{Date, RaidaKind, RaidaStatus, Record, RecordKind, Severity, WorkspaceName};
use charter_store::{WorkspaceRow, WriteTx};
use serde::Serialize;

use crate::core::audit::RecordWrite;
use crate::data::datasets::{load_all, pick};
use crate::registry::records::RecordView;
use crate::{App, AppError, Caller, Result};

/// A RAIDA item to add by hand.
#[derive(Debug, Clone)]
pub struct NewRaida {
    /// Risk, assumption, issue, dependency or action.
    pub item_type: RaidaKind,
    /// One line.
    pub title: String,
    /// Details.
    pub description: Option<String>,
    /// Who must act.
    pub owner: Option<String>,
    /// Severity.
    pub severity: Severity,
    /// When it is due.
    pub due_date: Option<Date>,
    /// The record that raised it, as `kind/id`.
    pub source: Option<String>,
}

/// Changes to a RAIDA item; absent fields stay as they are.
#[derive(Debug, Clone, Default)]
pub struct RaidaPatch {
    /// New title.
    pub title: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New owner.
    pub owner: Option<String>,
    /// New severity.
    pub severity: Option<Severity>,
    /// New status.
    pub status: Option<RaidaStatus>,
    /// New due date.
    pub due_date: Option<Date>,
}

/// Which items to list.
#[derive(Debug, Clone, Default)]
pub struct RaidaFilter {
    /// Only this type.
    pub item_type: Option<RaidaKind>,
    /// Only this status (default: every status but closed).
    pub status: Option<RaidaStatus>,
    /// Only this owner.
    pub owner: Option<String>,
    /// Closed items too.
    pub all: bool,
}

/// An item Charter raises for a finding.
#[derive(Debug, Clone)]
pub(crate) struct Raise {
    pub(crate) origin_key: String,
    pub(crate) item_type: RaidaKind,
    pub(crate) title: String,
    pub(crate) description: String,
    pub(crate) owner: Option<String>,
    pub(crate) severity: Severity,
    pub(crate) source: String,
    pub(crate) due_date: Option<Date>,
}

/// What [`raise`] did with one item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Raised {
    /// The item.
    pub raida_id: String,
    /// The finding it is about.
    pub origin_key: String,
    /// What happened to it.
    pub outcome: RaisedOutcome,
}

/// What happened to a RAIDA item about a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RaisedOutcome {
    /// A new item.
    Opened,
    /// An open item, changed.
    Updated,
    /// A closed item, open again.
    Reopened,
    /// An open item, as it was.
    Unchanged,
    /// An item whose finding is gone, closed.
    Closed,
}

impl std::fmt::Display for RaisedOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RaisedOutcome::Opened => "opened",
            RaisedOutcome::Updated => "updated",
            RaisedOutcome::Reopened => "reopened",
            RaisedOutcome::Unchanged => "unchanged",
            RaisedOutcome::Closed => "closed",
        })
    }
}

impl RaisedOutcome {
    /// Whether the item is newly open (opened or reopened).
    pub fn raised(self) -> bool {
        matches!(self, RaisedOutcome::Opened | RaisedOutcome::Reopened)
    }
}

/// The writes that bring the items whose origin key starts with `prefix`
/// in line with `raises`; the caller writes them in its transaction.
pub(crate) async fn raise(
    tx: &mut WriteTx,
    row: &WorkspaceRow,
    prefix: &str,
    raises: Vec<Raise>,
) -> Result<(Vec<RecordWrite>, Vec<Raised>)> {
    let existing = load_all(tx, row, RecordKind::Raida, pick::raida).await?;
    let mut taken: HashSet<String> = existing.iter().map(|l| l.id.clone()).collect();
    let mut by_origin: HashMap<String, (String, u64, RaidaItem)> = HashMap::new();
    for loaded in existing {
        if let Some(key) = loaded.value.origin_key.clone().filter(|k| k.starts_with(prefix)) {
            by_origin.insert(key, (loaded.id, loaded.version, loaded.value));
        }
    }
    let mut writes = Vec::new();
    let mut raised = Vec::new();
    for finding in raises {
        let origin_key = finding.origin_key.clone();
        match by_origin.remove(&origin_key) {
            Some((id, version, current)) => {
                let mut next = current.clone();
                next.title = finding.title;
                next.description = Some(finding.description);
                next.owner = finding.owner.or(current.owner.clone());
                next.severity = finding.severity;
                next.source = Some(finding.source);
                next.due_date = finding.due_date.or(current.due_date);
                let outcome = if current.status == RaidaStatus::Closed {
                    next.status = RaidaStatus::Open;
                    RaisedOutcome::Reopened
                } else if next != current {
                    RaisedOutcome::Updated
                } else {
                    RaisedOutcome::Unchanged
                };
                if next != current {
                    writes.push(item_write(next, Some(version)));
                }
                raised.push(Raised { raida_id: id, origin_key, outcome });
            }
            None => {
                let raida_id = crate::registry::references::allocate_id(tx, row, &mut taken).await?;
                let item = RaidaItem {
                    raida_id: raida_id.clone(),
                    item_type: finding.item_type,
                    title: finding.title,
                    description: Some(finding.description),
                    owner: finding.owner,
                    severity: finding.severity,
                    status: RaidaStatus::Open,
                    source: Some(finding.source),
                    origin_key: Some(origin_key.clone()),
                    due_date: finding.due_date,
                };
                writes.push(item_write(item, None));
                raised.push(Raised {
                    raida_id: raida_id.to_string(),
                    origin_key,
                    outcome: RaisedOutcome::Opened,
                });
            }
        }
    }
    let mut gone: Vec<(String, (String, u64, RaidaItem))> = by_origin.into_iter().collect();
    gone.sort_by(|a, b| a.1.0.cmp(&b.1.0));
    for (origin_key, (id, version, mut item)) in gone {
        if item.status != RaidaStatus::Closed {
            item.status = RaidaStatus::Closed;
            writes.push(item_write(item, Some(version)));
            raised.push(Raised { raida_id: id, origin_key, outcome: RaisedOutcome::Closed });
        }
    }
    Ok((writes, raised))
}

fn item_write(item: RaidaItem, previous: Option<u64>) -> RecordWrite {
    let record = Record::from(item);
    match previous {
        None => RecordWrite::create(RecordKind::Raida, record.id(), record.to_canonical_json()),
        Some(previous) => {
            RecordWrite::update(RecordKind::Raida, record.id(), record.to_canonical_json(), previous)
        }
    }
}

impl App {
    /// RAIDA items, by id.
    pub async fn raida_list(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        filter: &RaidaFilter,
    ) -> Result<Vec<RaidaItem>> {
        let row = self.visible_workspace(caller, workspace).await?;
        let mut items: Vec<RaidaItem> = self.read_values(&row).await?;
        items.retain(|item| {
            filter.item_type.is_none_or(|t| item.item_type == t)
                && match filter.status {
                    Some(status) => item.status == status,
                    None => filter.all || item.status != RaidaStatus::Closed,
                }
                && filter.owner.as_deref().is_none_or(|o| item.owner.as_deref() == Some(o))
        });
        Ok(items)
    }

    /// Adds an item, numbered `RAIDA-NNNN`, Open.
    pub async fn raida_add(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        new: NewRaida,
    ) -> Result<RecordView> {
        let row = self.visible_workspace(caller, workspace).await?;
        caller.require_writer(RecordKind::Raida)?;
        self.decide_write(caller, &row, RecordKind::Raida).await?;
        let at = self.clock.now();
        let mut problems = Vec::new();
        if new.title.trim().is_empty() {
            problems.push("title: must not be empty".to_owned());
        }
        // A new item due in the past is a slip of the keyboard more often
        // than a plan: say so rather than raise it overdue.
        if let Some(due) = new.due_date
            && due < at.date()
        {
            problems.push(format!(
                "due_date: {due} is before today ({}); a new item is due today or later",
                at.date()
            ));
        }
        if !problems.is_empty() {
            return Err(AppError::Invalid { what: "RAIDA item".into(), problems });
        }
        let (actor, target) = (caller.actor().to_owned(), row.clone());
        self.write(&row, move |_app, tx| {
            let (row, actor, new) = (target.clone(), actor.clone(), new.clone());
            Box::pin(async move {
                let mut taken: HashSet<String> =
                    tx.record_ids(row.id, RecordKind::Raida).await?.into_iter().collect();
                let raida_id = crate::registry::references::allocate_id(tx, &row, &mut taken).await?;
                let item = RaidaItem {
                    raida_id,
                    item_type: new.item_type,
                    title: new.title,
                    description: new.description,
                    owner: new.owner,
                    severity: new.severity,
                    status: RaidaStatus::Open,
                    source: new.source,
                    origin_key: None,
                    due_date: new.due_date,
                };
                let record = Record::from(item);
                crate::registry::records::invalid(&record)?;
                let id = record.id();
                let write = RecordWrite::create(RecordKind::Raida, id.clone(), record.to_canonical_json());
                crate::core::audit::write_records(tx, &row, &actor, at, &[write]).await?;
                Ok(RecordView {
                    kind: RecordKind::Raida,
                    id,
                    version: 1,
                    created_at: at,
                    updated_at: at,
                    record,
                })
            })
        })
        .await
    }

    /// Changes an item.
    pub async fn raida_update(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        id: &str,
        patch: RaidaPatch,
    ) -> Result<RecordView> {
        let row = self.visible_workspace(caller, workspace).await?;
        caller.require_writer(RecordKind::Raida)?;
        self.decide_write(caller, &row, RecordKind::Raida).await?;
        self.change_record(&row, caller, RecordKind::Raida, id, move |record, _| {
            let Record::Raida(item) = record else { return Ok(()) };
            if let Some(title) = &patch.title {
                item.title = title.clone();
            }
            if let Some(description) = &patch.description {
                item.description = Some(description.clone());
            }
            if let Some(owner) = &patch.owner {
                item.owner = Some(owner.clone());
            }
            if let Some(severity) = patch.severity {
                item.severity = severity;
            }
            if let Some(status) = patch.status {
                item.status = status;
            }
            if let Some(due) = patch.due_date {
                item.due_date = Some(due);
            }
            crate::registry::records::invalid(record)
        })
        .await
    }

    /// Closes an item.
    pub async fn raida_close(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        id: &str,
    ) -> Result<RecordView> {
        let patch = RaidaPatch { status: Some(RaidaStatus::Closed), ..RaidaPatch::default() };
        self.raida_update(caller, workspace, id, patch).await
    }
}
