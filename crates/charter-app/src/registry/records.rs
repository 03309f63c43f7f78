//! Workspaces and registry records: create, read, list, update.

use charter_model::validate::FieldError;
use charter_model::{Record, RecordKind, Timestamp, WorkspaceName, audit};
use charter_store::{StoredRecord, WorkspaceRow, WriteTx};
use serde::Serialize;

use crate::core::audit::{AuditChange, RecordWrite};
use crate::registry::references::{self, Missing};
use crate::{App, AppError, Caller, Result};

/// Largest page [`App::list_records`] returns.
pub const MAX_PAGE: u32 = 1_000;

/// A record with its metadata.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordView {
    /// Kind.
    pub kind: RecordKind,
    /// Id within its kind.
    pub id: String,
    /// Version, from 1; updates must name it.
    pub version: u64,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
    /// The record.
    #[serde(serialize_with = "serialize_record")]
    pub record: Record,
}

fn serialize_record<S: serde::Serializer>(record: &Record, serializer: S) -> Result<S::Ok, S::Error> {
    record.to_json_value().serialize(serializer)
}

/// A record view as the API answers it (the CLI's remote mode reads it).
impl<'de> serde::Deserialize<'de> for RecordView {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        #[derive(serde::Deserialize)]
        struct Wire {
            kind: String,
            id: String,
            version: u64,
            created_at: Timestamp,
            updated_at: Timestamp,
            record: serde_json::Value,
        }
        let wire = Wire::deserialize(deserializer)?;
        let kind = RecordKind::from_name(&wire.kind)
            .ok_or_else(|| D::Error::custom(format!("unknown record kind \"{}\"", wire.kind)))?;
        let record = kind.parse_json(&wire.record.to_string()).map_err(D::Error::custom)?;
        Ok(RecordView {
            kind,
            id: wire.id,
            version: wire.version,
            created_at: wire.created_at,
            updated_at: wire.updated_at,
            record,
        })
    }
}

/// One page of records.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Page {
    /// The records, in id order.
    pub items: Vec<RecordView>,
    /// Pass as `after` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_after: Option<String>,
}

impl RecordView {
    pub(crate) fn from_stored(stored: StoredRecord) -> Result<Self> {
        let record = stored
            .kind
            .parse_json(&stored.body)
            .map_err(|error| AppError::corrupt(format!("{} \"{}\": {error}", stored.kind, stored.id)))?;
        Ok(Self {
            kind: stored.kind,
            id: stored.id,
            version: stored.version,
            created_at: stored.created_at,
            updated_at: stored.updated_at,
            record,
        })
    }
}

/// Creates a workspace inside `tx` and describes the change.
pub(crate) async fn create_workspace_in(
    tx: &mut WriteTx,
    name: &WorkspaceName,
    at: Timestamp,
    changes: &mut Vec<AuditChange>,
) -> Result<WorkspaceRow> {
    let row = tx.create_workspace(name, at).await?;
    changes.push(AuditChange {
        action: audit::action::CREATE.into(),
        kind: "workspace".into(),
        subject: name.to_string(),
        version: None,
        prev_version: None,
        value: Some(format!("{{\"name\":\"{name}\"}}")),
    });
    Ok(row)
}

/// Refuses a generic write (a record API call or an import) of a record
/// whose kind only its use cases write: their state moves only through
/// them, which check the declaration, the approvals, the gates and the runs.
pub(crate) fn use_case_only(kind: RecordKind) -> Option<FieldError> {
    kind.written_by_use_case().map(|message| FieldError {
        field: kind.id_field().into(),
        message: format!("{message}, not written as records"),
    })
}

/// The rules `record` breaks: those of the model and, for a policy with
/// Cedar text, every diagnostic of Cedar's parser and validator, with its
/// line and column in that text.
pub fn rule_problems(record: &Record) -> Vec<FieldError> {
    let mut problems = record.check();
    if let Record::Dataset(dataset) = record {
        for (index, rule) in dataset.rules.iter().enumerate() {
            if let Err(message) = charter_data::compile_rule(dataset, rule) {
                problems.push(FieldError { field: format!("rules[{index}].expression"), message });
            }
        }
    }
    if let Record::RiskSettings(settings) = record
        && let Err(errors) = charter_risk::Config::from_json(&settings.config)
    {
        problems.extend(errors.into_iter().map(|message| match message.split_once(": ") {
            Some((field, message)) if !field.contains(' ') => {
                FieldError { field: format!("config.{field}"), message: message.to_owned() }
            }
            _ => FieldError { field: "config".into(), message },
        }));
    }
    if let Record::CertSettings(settings) = record
        && let Err(errors) = charter_cert::Matrix::from_toml("matrix", &settings.matrix)
    {
        problems.extend(errors.into_iter().map(|message| FieldError { field: "matrix".into(), message }));
    }
    if let Record::OpsSettings(settings) = record
        && let Err(errors) = charter_ops::TierRules::from_settings(settings)
    {
        problems.extend(errors.into_iter().map(|message| {
            let (field, message) = message.split_once(": ").unwrap_or(("change_windows", &message));
            FieldError { field: field.to_owned(), message: message.to_owned() }
        }));
    }
    if let Record::Policy(policy) = record
        && let Some(text) = &policy.cedar
        && let Err(error) = charter_policy::compile(policy.policy_id.as_str(), text)
    {
        problems.extend(
            error
                .diagnostics
                .into_iter()
                .map(|diagnostic| FieldError { field: "cedar".into(), message: diagnostic.to_string() }),
        );
    }
    problems
}

/// Over the API, grants are made and revoked only by their own use cases,
/// which sign them with the caller's name and bound their lifetime.
fn signed_by_caller(caller: &Caller, record: &Record) -> Result<()> {
    if let (Record::Grant(_), Caller::Token { .. }) = (record, caller) {
        return Err(AppError::Forbidden(
            "grants are created with POST /v1/workspaces/{ws}/grants and revoked with \
             POST /v1/workspaces/{ws}/grants/{id}/revoke"
                .into(),
        ));
    }
    Ok(())
}

/// What an update did.
enum Updated {
    /// The stored value was already this one: nothing was written.
    Unchanged(charter_store::StoredRecord),
    /// The new value was written over one created at `created_at`.
    Written { created_at: charter_model::Timestamp },
}

pub(crate) fn invalid(record: &Record) -> Result<()> {
    let problems = rule_problems(record);
    if problems.is_empty() {
        return Ok(());
    }
    Err(AppError::Invalid {
        what: record.kind().name().to_owned(),
        problems: problems.iter().map(ToString::to_string).collect(),
    })
}

impl App {
    /// Creates a workspace (local callers only).
    pub async fn create_workspace(&self, caller: &Caller, name: &WorkspaceName) -> Result<WorkspaceRow> {
        caller.require_local()?;
        let at = self.clock.now();
        let mut tx = self.store.begin().await?;
        let mut changes = Vec::new();
        let row = create_workspace_in(&mut tx, name, at, &mut changes).await?;
        crate::core::audit::append(&mut tx, &row, caller.actor(), at, changes).await?;
        self.commit(tx, &row).await?;
        Ok(row)
    }

    /// The workspaces the caller may see.
    pub async fn list_workspaces(&self, caller: &Caller) -> Result<Vec<WorkspaceRow>> {
        let all = self.store.workspaces().await?;
        Ok(all.into_iter().filter(|w| caller.may_see(&w.name)).collect())
    }

    /// One record.
    pub async fn get_record(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        kind: RecordKind,
        id: &str,
    ) -> Result<RecordView> {
        let row = self.visible_workspace(caller, workspace).await?;
        let stored = self
            .store
            .record(row.id, kind, id)
            .await?
            .ok_or_else(|| AppError::NotFound { kind, id: id.to_owned() })?;
        RecordView::from_stored(stored)
    }

    /// A page of records of one kind, in id order, after `after`.
    pub async fn list_records(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        kind: RecordKind,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Page> {
        let row = self.visible_workspace(caller, workspace).await?;
        let limit = limit.clamp(1, MAX_PAGE);
        let stored = self.store.records(row.id, kind, after, limit + 1).await?;
        let more = stored.len() > limit as usize;
        let items = stored
            .into_iter()
            .take(limit as usize)
            .map(RecordView::from_stored)
            .collect::<Result<Vec<_>>>()?;
        let next_after = if more { items.last().map(|item| item.id.clone()) } else { None };
        Ok(Page { items, next_after })
    }

    /// Creates a record at version 1.
    pub async fn create_record(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        record: Record,
    ) -> Result<RecordView> {
        let row = self.visible_workspace(caller, workspace).await?;
        caller.require_writer(record.kind())?;
        refuse_use_case_only(record.kind())?;
        self.decide_write(caller, &row, record.kind()).await?;
        signed_by_caller(caller, &record)?;
        invalid(&record)?;
        let body = record.to_canonical_json();
        let governed = match governed_json(record.kind(), &body)? {
            Some(written) => charter_model::governed::governed_at_creation(record.kind(), &written),
            None => Vec::new(),
        };
        if !governed.is_empty() {
            return Err(AppError::Invalid {
                what: record.kind().name().to_owned(),
                problems: governed
                    .iter()
                    .map(|g| {
                        format!(
                            "{}: a new record starts at its initial value; change it with {}",
                            g.field, g.use_case
                        )
                    })
                    .collect(),
            });
        }
        let (kind, id) = (record.kind(), record.id());
        let at = self.clock.now();
        let actor = caller.actor().to_owned();
        let (written, target) = (record.clone(), row.clone());
        let id_in = id.clone();
        self.write(&row, move |app, tx| {
            let (record, row, actor, id, body) =
                (written.clone(), target.clone(), actor.clone(), id_in.clone(), body.clone());
            Box::pin(async move {
                if tx.record(row.id, kind, &id).await?.is_some() {
                    return Err(AppError::AlreadyExists { what: kind.name().to_owned(), id });
                }
                let mut writes = vec![RecordWrite::create(kind, id, body)];
                writes.extend(app.reconcile_references(tx, &row, &record).await?);
                crate::core::audit::write_records(tx, &row, &actor, at, &writes).await?;
                Ok(())
            })
        })
        .await?;
        Ok(RecordView { kind, id, version: 1, created_at: at, updated_at: at, record })
    }

    /// Replaces a record, provided its current version is `expected_version`.
    /// An update to the value already stored changes nothing.
    pub async fn update_record(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        id: &str,
        expected_version: u64,
        record: Record,
    ) -> Result<RecordView> {
        let row = self.visible_workspace(caller, workspace).await?;
        let kind = record.kind();
        caller.require_writer(kind)?;
        refuse_use_case_only(kind)?;
        self.decide_write(caller, &row, kind).await?;
        if record.id() != id {
            return Err(AppError::Invalid {
                what: kind.name().to_owned(),
                problems: vec![format!(
                    "{}: the record's id \"{}\" differs from \"{id}\", the id it is stored under",
                    kind.id_field(),
                    record.id()
                )],
            });
        }
        signed_by_caller(caller, &record)?;
        invalid(&record)?;
        let body = record.to_canonical_json();
        let at = self.clock.now();
        let actor = caller.actor().to_owned();
        let (written, target, id_in) = (record.clone(), row.clone(), id.to_owned());
        let outcome = self
            .write(&row, move |app, tx| {
                let (record, row, actor, id, body) =
                    (written.clone(), target.clone(), actor.clone(), id_in.clone(), body.clone());
                Box::pin(async move {
                    let current = tx
                        .record(row.id, kind, &id)
                        .await?
                        .ok_or_else(|| AppError::NotFound { kind, id: id.clone() })?;
                    if current.version != expected_version {
                        return Err(AppError::Conflict {
                            kind,
                            id,
                            expected: expected_version,
                            current: current.version,
                        });
                    }
                    if current.body == body {
                        return Ok(Updated::Unchanged(current));
                    }
                    let governed = match (governed_json(kind, &current.body)?, governed_json(kind, &body)?) {
                        (Some(stored), Some(written)) => {
                            charter_model::governed::governed_changes(kind, &stored, &written)
                        }
                        _ => Vec::new(),
                    };
                    if !governed.is_empty() {
                        return Err(AppError::Invalid {
                            what: kind.name().to_owned(),
                            problems: governed.iter().map(ToString::to_string).collect(),
                        });
                    }
                    let created_at = current.created_at;
                    let mut writes = vec![RecordWrite::update(kind, id, body, expected_version)];
                    writes.extend(app.reconcile_references(tx, &row, &record).await?);
                    crate::core::audit::write_records(tx, &row, &actor, at, &writes).await?;
                    Ok(Updated::Written { created_at })
                })
            })
            .await?;
        match outcome {
            Updated::Unchanged(current) => RecordView::from_stored(current),
            Updated::Written { created_at } => Ok(RecordView {
                kind,
                id: id.to_owned(),
                version: expected_version + 1,
                created_at,
                updated_at: at,
                record,
            }),
        }
    }

    /// Reads record `kind`/`id` in a write transaction, changes it with
    /// `change` and writes it back (one ledger entry), unless the change
    /// left it as it was. `change` may run more than once (group commit).
    pub(crate) async fn change_record<F>(
        &self,
        row: &WorkspaceRow,
        caller: &Caller,
        kind: RecordKind,
        id: &str,
        change: F,
    ) -> Result<RecordView>
    where
        F: Fn(&mut Record, Timestamp) -> Result<()> + Send + Sync + 'static,
    {
        let at = self.clock.now();
        let (target, actor, id) = (row.clone(), caller.actor().to_owned(), id.to_owned());
        let change = std::sync::Arc::new(change);
        self.write(row, move |_app, tx| {
            let (row, actor, id, change) = (target.clone(), actor.clone(), id.clone(), change.clone());
            Box::pin(async move {
                let stored = tx
                    .record(row.id, kind, &id)
                    .await?
                    .ok_or_else(|| AppError::NotFound { kind, id: id.clone() })?;
                let view = RecordView::from_stored(stored)?;
                let mut record = view.record.clone();
                change(&mut record, at)?;
                if record == view.record {
                    return Ok(view);
                }
                let body = record.to_canonical_json();
                crate::core::audit::write_records(
                    tx,
                    &row,
                    &actor,
                    at,
                    &[RecordWrite::update(kind, id, body, view.version)],
                )
                .await?;
                Ok(RecordView { version: view.version + 1, updated_at: at, record, ..view })
            })
        })
        .await
    }

    /// The RAIDA writes for references of `record` to missing records, and
    /// the closing of the item about `record` itself if one was open.
    async fn reconcile_references(
        &self,
        tx: &mut WriteTx,
        workspace: &WorkspaceRow,
        record: &Record,
    ) -> Result<Vec<RecordWrite>> {
        // Most writes refer only to records that exist and are of a kind
        // nothing refers to: then no RAIDA item can open or close.
        let referable = matches!(
            record.kind(),
            RecordKind::Agent
                | RecordKind::System
                | RecordKind::Dataset
                | RecordKind::Workflow
                | RecordKind::Team
                | RecordKind::Person
        );
        let mut present = Vec::new();
        for reference in record.references() {
            if tx.record(workspace.id, reference.kind, &reference.id).await?.is_some() {
                present.push((reference.kind, reference.id));
            }
        }
        let (own_kind, own_id) = (record.kind(), record.id());
        let exists = |kind: RecordKind, id: &str| {
            (kind == own_kind && id == own_id) || present.iter().any(|(k, i)| *k == kind && i == id)
        };
        let mut missing = Missing::new();
        references::collect_missing(record, exists, &mut missing);
        if missing.is_empty() && !referable {
            return Ok(Vec::new());
        }
        let (writes, _) = references::reconcile(tx, workspace, &missing, exists).await?;
        Ok(writes)
    }
}

/// A record's canonical JSON as a value, to compare its governed fields;
/// `None` for kinds without governed fields, which need no parsing.
fn governed_json(kind: RecordKind, body: &str) -> Result<Option<serde_json::Value>> {
    if kind.governed_fields().is_empty() {
        return Ok(None);
    }
    serde_json::from_str(body).map(Some).map_err(|error| AppError::internal(format!("{kind} body: {error}")))
}

fn refuse_use_case_only(kind: RecordKind) -> Result<()> {
    match use_case_only(kind) {
        Some(problem) => {
            Err(AppError::Invalid { what: kind.name().to_owned(), problems: vec![problem.to_string()] })
        }
        None => Ok(()),
    }
}
