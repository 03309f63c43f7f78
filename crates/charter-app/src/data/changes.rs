//! Schema changes as use cases (PROC-ANALYZE-SCHEMA-CHANGE): propose
//! (diff, impact analysis, change-log entry, notifications to the owners of
//! affected agents), apply (Executing → Complete, schema_version + 1) and
//! roll back. Each step asks the decision point for `change_schema` and is
//! in the ledger. Webhook deliveries happen after the change is committed
//! and never hold it up.

use std::time::Duration;

use charter_data::{ImpactRecords, Index, Proposal, Walker};
use charter_model::data::{Delivery, DeliveryStatus, Notification, notification_id};
use charter_model::{Change, ChangeId, ChangeStatus, Record, RecordKind, WorkspaceName};
use serde::Serialize;

use crate::core::audit::RecordWrite;
use crate::data::datasets::{Loaded, data_settings, load_one, pick, values};
use crate::registry::records::RecordView;
use crate::{App, AppError, Caller, Result};

/// Attempts at delivering one notification to the webhook.
pub const WEBHOOK_ATTEMPTS: u32 = 3;

/// How long one webhook attempt may take.
const WEBHOOK_DEADLINE: Duration = Duration::from_secs(5);

/// Counter that numbers notifications.
const NOTIFICATION_COUNTER: &str = "notifications";

/// A proposed change as logged.
#[derive(Debug, Clone, Serialize)]
pub struct Proposed {
    /// The change-log entry (status Planned), with its impact analysis.
    pub change: Change,
    /// The notifications raised, one per owner of affected agents.
    pub notifications: Vec<Notification>,
    /// The decision that allowed the proposal.
    pub decision_id: Option<String>,
}

impl App {
    async fn require_change_schema(
        &self,
        caller: &Caller,
        row: &charter_store::WorkspaceRow,
        dataset: &str,
    ) -> Result<Option<String>> {
        let resource = charter_policy::EntityRef { entity_type: "Dataset".into(), id: dataset.to_owned() };
        self.require_allowed(caller, row, "change_schema", resource, serde_json::Map::new()).await
    }

    /// Proposes a new schema for `dataset`: computes the diff and the
    /// impact, logs a Planned change `CHG-YYYY-MM-DD-###` and one
    /// notification per owner of an affected agent, in one transaction.
    pub async fn propose_schema_change(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        dataset: &str,
        proposal: Proposal,
    ) -> Result<Proposed> {
        let row = self.visible_workspace(caller, workspace).await?;
        caller.require_writer(RecordKind::Change)?;
        if self.store.record(row.id, RecordKind::Dataset, dataset).await?.is_none() {
            return Err(AppError::NotFound { kind: RecordKind::Dataset, id: dataset.to_owned() });
        }
        let decision_id = self.require_change_schema(caller, &row, dataset).await?;
        let at = self.clock.now();
        let date = at.date();
        let actor = caller.actor().to_owned();
        let (target, dataset) = (row.clone(), dataset.to_owned());
        self.write(&row, move |_app, tx| {
            let (row, dataset, actor, proposal) = (target.clone(), dataset.clone(), actor.clone(), proposal.clone());
            let decision_id = decision_id.clone();
            Box::pin(async move {
                let datasets = values(tx, &row, RecordKind::Dataset, pick::dataset).await?;
                let Some(current) = datasets.iter().find(|d| d.dataset_id.as_str() == dataset) else {
                    return Err(AppError::NotFound { kind: RecordKind::Dataset, id: dataset });
                };
                let schema = proposal.schema(current);
                let mut next = current.clone();
                next.set_schema(schema.clone());
                let next = Record::from(next);
                let mut problems: Vec<String> =
                    crate::registry::records::rule_problems(&next).iter().map(ToString::to_string).collect();
                for reference in next.references() {
                    if reference.kind == RecordKind::Dataset
                        && !datasets.iter().any(|d| d.dataset_id.as_str() == reference.id)
                    {
                        problems.push(format!("{}: \"{}\" is not a registered dataset", reference.field, reference.id));
                    }
                }
                let diff = charter_data::diff(&current.schema(), &schema, &proposal.renamed)
                    .map_err(|p| AppError::invalid(format!("proposed schema for {dataset}"), p))?;
                if diff.is_empty() {
                    problems.push("the proposed schema is the current one: nothing to change".into());
                }
                if !problems.is_empty() {
                    return Err(AppError::invalid(format!("proposed schema for {dataset}"), problems));
                }
                // The number is taken in the transaction that logs the change,
                // so a refused proposal leaves no gap (numbers are never reused).
                let seq = crate::operations::declare::advance_day_counter(tx, &row, "changes", date, "schema change").await?;
                let change_id = ChangeId::for_day(date.inner(), seq)
                    .map_err(|error| AppError::invalid("schema change", vec![error.to_string()]))?;
                let agents = values(tx, &row, RecordKind::Agent, pick::agent).await?;
                let workflows = values(tx, &row, RecordKind::Workflow, pick::workflow).await?;
                let policies = values(tx, &row, RecordKind::Policy, pick::policy).await?;
                let grants = values(tx, &row, RecordKind::Grant, pick::grant).await?;
                let teams = values(tx, &row, RecordKind::Team, pick::team).await?;
                let registry = ImpactRecords {
                    datasets: &datasets,
                    agents: &agents,
                    workflows: &workflows,
                    policies: &policies,
                    grants: &grants,
                    teams: &teams,
                };
                let index = Index::new(registry);
                let impact = index
                    .analyze(&mut Walker::default(), &dataset, &diff, at)
                    .ok_or_else(|| AppError::NotFound { kind: RecordKind::Dataset, id: dataset.clone() })?;
                let impact_json = serde_json::to_value(&impact).unwrap_or(serde_json::Value::Null);
                let change = Change {
                    change_id: change_id.clone(),
                    dataset_affected: current.dataset_id.clone(),
                    change_type: diff.change_type(),
                    change_description: proposal.description.clone().unwrap_or_else(|| diff.summary()),
                    impact_analysis: impact_json,
                    status: ChangeStatus::Planned,
                    executed_date: None,
                    executed_by: None,
                    requested_by: Some(actor.clone()),
                    from_version: Some(current.schema_version),
                    to_version: None,
                    proposed: Some(schema),
                    previous: None,
                };
                let settings = data_settings(tx, &row).await?;
                let mut notifications = Vec::new();
                for owner in &impact.owners {
                    let number = tx.advance_counter(row.id, NOTIFICATION_COUNTER, 1).await?;
                    let agents: Vec<charter_model::AgentId> =
                        owner.agents.iter().filter_map(|a| a.parse().ok()).collect();
                    notifications.push(Notification {
                        notification_id: notification_id(number),
                        recipient: owner.recipient.clone(),
                        about: format!("change/{change_id}"),
                        message: format!(
                            "{change_id} proposes a {} change to {dataset}{}: it affects your agent(s) {}. {}",
                            diff.change_type(),
                            if diff.breaking() { " (breaking)" } else { "" },
                            owner.agents.join(", "),
                            impact.summary
                        ),
                        agents,
                        created_at: at,
                        delivery: settings.webhook_url.clone().map(|url| Delivery {
                            url,
                            status: DeliveryStatus::Pending,
                            attempts: 0,
                            last_attempt_at: None,
                            last_error: None,
                        }),
                    });
                }
                let mut writes = vec![record_write(Record::from(change.clone()), None)];
                writes.extend(notifications.iter().map(|n| record_write(Record::from(n.clone()), None)));
                crate::core::audit::write_records(tx, &row, &actor, at, &writes).await?;
                Ok(Proposed { change, notifications, decision_id })
            })
        })
        .await
    }

    /// Applies a Planned change: Executing, then the dataset at the new
    /// schema and version + 1, then Complete; three ledger entries in one
    /// transaction. Refused when the dataset moved on since the analysis.
    pub async fn apply_change(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        id: &str,
    ) -> Result<RecordView> {
        self.finish_change(caller, workspace, id, true).await
    }

    /// Rolls a change back: a Planned or Executing change is abandoned; a
    /// Complete one has its previous schema restored (version + 1), provided
    /// the dataset is still at the version the change produced.
    pub async fn rollback_change(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        id: &str,
    ) -> Result<RecordView> {
        self.finish_change(caller, workspace, id, false).await
    }

    async fn finish_change(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        id: &str,
        apply: bool,
    ) -> Result<RecordView> {
        let row = self.visible_workspace(caller, workspace).await?;
        caller.require_writer(RecordKind::Change)?;
        let stored = self
            .store
            .record(row.id, RecordKind::Change, id)
            .await?
            .ok_or_else(|| AppError::NotFound { kind: RecordKind::Change, id: id.to_owned() })?;
        let Ok(Record::Change(change)) = RecordKind::Change.parse_json(&stored.body) else {
            return Err(AppError::NotFound { kind: RecordKind::Change, id: id.to_owned() });
        };
        self.require_change_schema(caller, &row, change.dataset_affected.as_str()).await?;
        let at = self.clock.now();
        let actor = caller.actor().to_owned();
        let (target, id) = (row.clone(), id.to_owned());
        self.write(&row, move |_app, tx| {
            let (row, id, actor) = (target.clone(), id.clone(), actor.clone());
            Box::pin(async move {
                let loaded = load_one(tx, &row, RecordKind::Change, &id, pick::change).await?;
                let (mut change, mut version) = (loaded.value, loaded.version);
                let dataset = load_one(tx, &row, RecordKind::Dataset, change.dataset_affected.as_str(), pick::dataset).await?;
                let what = format!("{} of {id}", if apply { "apply" } else { "rollback" });
                let mut writes: Vec<RecordWrite> = Vec::new();
                let mut step = |change: &Change, writes: &mut Vec<RecordWrite>| {
                    writes.push(record_write(Record::from(change.clone()), Some(version)));
                    version += 1;
                };
                let dataset_write = |dataset: &Loaded<charter_model::Dataset>, next: charter_model::Dataset| {
                    RecordWrite::update(RecordKind::Dataset, dataset.id.clone(), Record::from(next).to_canonical_json(), dataset.version)
                };
                match (apply, change.status) {
                    (true, ChangeStatus::Planned) => {
                        let from = change.from_version.unwrap_or(dataset.value.schema_version);
                        if dataset.value.schema_version != from {
                            return Err(AppError::invalid(what, vec![format!(
                                "{} is at schema version {}, but {id} was analysed against version {from}: propose it again",
                                dataset.id, dataset.value.schema_version
                            )]));
                        }
                        let Some(proposed) = change.proposed.clone() else {
                            return Err(AppError::invalid(what, vec![format!("{id} holds no proposed schema")]));
                        };
                        change.status = ChangeStatus::Executing;
                        step(&change, &mut writes);
                        let mut next = dataset.value.clone();
                        change.previous = Some(next.schema());
                        next.set_schema(proposed);
                        next.schema_version += 1;
                        next.last_modified = Some(at.date());
                        change.to_version = Some(next.schema_version);
                        writes.push(dataset_write(&dataset, next));
                        change.status = ChangeStatus::Complete;
                    }
                    (true, status) => {
                        return Err(AppError::invalid(what, vec![format!("{id} is {status}; only a Planned change is applied")]));
                    }
                    (false, ChangeStatus::Planned | ChangeStatus::Executing) => change.status = ChangeStatus::RolledBack,
                    (false, ChangeStatus::Complete) => {
                        let (Some(to), Some(previous)) = (change.to_version, change.previous.clone()) else {
                            return Err(AppError::invalid(what, vec![format!("{id} holds no previous schema to restore")]));
                        };
                        if dataset.value.schema_version != to {
                            return Err(AppError::invalid(what, vec![format!(
                                "{} is at schema version {}, not {to} as {id} left it: a later change must be rolled back first",
                                dataset.id, dataset.value.schema_version
                            )]));
                        }
                        let mut next = dataset.value.clone();
                        next.set_schema(previous);
                        next.schema_version += 1;
                        next.last_modified = Some(at.date());
                        writes.push(dataset_write(&dataset, next));
                        change.status = ChangeStatus::RolledBack;
                    }
                    (false, ChangeStatus::RolledBack) => {
                        return Err(AppError::invalid(what, vec![format!("{id} is already Rolled Back")]));
                    }
                }
                change.executed_date = Some(at.date());
                change.executed_by = Some(actor.clone());
                step(&change, &mut writes);
                crate::core::audit::write_records(tx, &row, &actor, at, &writes).await?;
                Ok(RecordView {
                    kind: RecordKind::Change,
                    id,
                    version,
                    created_at: at,
                    updated_at: at,
                    record: Record::from(change),
                })
            })
        })
        .await
    }

    /// Delivers the pending webhook notifications of `workspace`: up to
    /// [`WEBHOOK_ATTEMPTS`] attempts each, with a short pause between them;
    /// each outcome is recorded on the notification (so in the ledger).
    /// Returns the notifications as they end up.
    pub async fn deliver_notifications(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
    ) -> Result<Vec<Notification>> {
        let row = self.visible_workspace(caller, workspace).await?;
        let pending: Vec<Notification> = self
            .read_values::<Notification>(&row)
            .await?
            .into_iter()
            .filter(|n| n.delivery.as_ref().is_some_and(|d| d.status == DeliveryStatus::Pending))
            .collect();
        let mut delivered = Vec::new();
        for notification in pending {
            let mut attempt = notification.delivery.as_ref().map_or(0, |d| d.attempts);
            let body = serde_json::to_string(&notification).unwrap_or_default();
            let url = notification.delivery.as_ref().map(|d| d.url.clone()).unwrap_or_default();
            let mut outcome = Err(String::new());
            while attempt < WEBHOOK_ATTEMPTS {
                if attempt > 0 {
                    tokio::time::sleep(Duration::from_millis(250 << attempt)).await;
                }
                attempt += 1;
                outcome = tokio::time::timeout(WEBHOOK_DEADLINE, self.notifier.post_json(&url, body.clone()))
                    .await
                    .unwrap_or_else(|_| Err(format!("no answer within {} ms", WEBHOOK_DEADLINE.as_millis())));
                if outcome.is_ok() {
                    break;
                }
            }
            let view = self
                .change_record(
                    &row,
                    caller,
                    RecordKind::Notification,
                    notification.notification_id.as_str(),
                    move |record, at| {
                        if let Record::Notification(n) = record
                            && let Some(delivery) = &mut n.delivery
                        {
                            delivery.attempts = attempt;
                            delivery.last_attempt_at = Some(at);
                            match &outcome {
                                Ok(_) => {
                                    delivery.status = DeliveryStatus::Delivered;
                                    delivery.last_error = None;
                                }
                                Err(error) => {
                                    delivery.status = DeliveryStatus::Failed;
                                    delivery.last_error = Some(error.clone());
                                }
                            }
                        }
                        Ok(())
                    },
                )
                .await?;
            if let Record::Notification(n) = view.record {
                delivered.push(*n);
            }
        }
        Ok(delivered)
    }

    /// Changes logged on `workspace`, newest first, optionally for one dataset.
    pub async fn list_changes(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        dataset: Option<&str>,
    ) -> Result<Vec<Change>> {
        let row = self.visible_workspace(caller, workspace).await?;
        let mut changes: Vec<Change> = self.read_values(&row).await?;
        changes.retain(|c| dataset.is_none_or(|d| c.dataset_affected.as_str() == d));
        changes.sort_by(|a, b| b.change_id.as_str().cmp(a.change_id.as_str()));
        Ok(changes)
    }
}

fn record_write(record: Record, previous: Option<u64>) -> RecordWrite {
    let (kind, id, body) = (record.kind(), record.id(), record.to_canonical_json());
    match previous {
        None => RecordWrite::create(kind, id, body),
        Some(previous) => RecordWrite::update(kind, id, body, previous),
    }
}
