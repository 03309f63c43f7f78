//! Writing audit events. Every mutating use case describes its changes and
//! hands them to this module, which appends the events in the transaction
//! that makes the changes.
//!
//! Registry records go through [`write_records`]: it appends one event per
//! record and points the record at it, so a record's value *is* the value of
//! the last event about it. Other subjects (workspaces, tokens) go through
//! [`append`].

use charter_model::audit::{AuditEvent, action};
use charter_model::{RecordKind, Timestamp};
use charter_store::{EventRow, NewRecord, WorkspaceRow, WriteTx};

use std::sync::Arc;

use crate::core::commit::MadeOn;
use crate::decisions::decide::LoadedEngine;
use crate::{AppError, Result};

/// Name of the per-workspace counter that numbers audit events.
pub(crate) const AUDIT_COUNTER: &str = "audit";

/// Name of the per-workspace counter that every write of a record the
/// decision point reads (see [`is_policy_input`]) advances: the version of
/// the decision point's inputs.
pub(crate) const POLICY_INPUTS: &str = "policy_inputs";

/// The per-workspace counter of writes of records of `kind`: advanced by
/// one in every transaction that writes such records. Together these are
/// the revision of any set of kinds (see [`revision`]), which tells a
/// cached reading of those records (the console's portfolio scores, the
/// governance reading) that it is out of date.
pub(crate) fn revision_counter(kind: RecordKind) -> String {
    format!("records/{}", kind.name())
}

/// The revision of the records of `kinds`: it grows whenever any of them
/// is written, and only then.
pub(crate) async fn revision(
    store: &charter_store::Store,
    workspace: &WorkspaceRow,
    kinds: &[RecordKind],
) -> Result<u64> {
    let names: Vec<String> = kinds.iter().map(|&kind| revision_counter(kind)).collect();
    Ok(store.counters_sum(workspace.id, &names).await?)
}

/// Whether records of `kind` feed the decision point.
pub(crate) fn is_policy_input(kind: RecordKind) -> bool {
    matches!(
        kind,
        RecordKind::Agent
            | RecordKind::System
            | RecordKind::Dataset
            | RecordKind::Workflow
            | RecordKind::Person
            | RecordKind::Team
            | RecordKind::Policy
            | RecordKind::Grant
            | RecordKind::Budget
            | RecordKind::DlpRule
            | RecordKind::GuardSettings
    )
}

/// The committed version of the policy inputs, read while holding the
/// workspace's audit counter: every write of a policy input holds it too
/// until it commits, so the version cannot change before this transaction
/// ends.
pub(crate) async fn policy_inputs(tx: &mut WriteTx, workspace: &WorkspaceRow) -> Result<u64> {
    tx.hold_counter(workspace.id, AUDIT_COUNTER).await?;
    Ok(tx.counter(workspace.id, POLICY_INPUTS).await?)
}

/// How many versions of the policy inputs decisions may be behind and still
/// be checked against the writes since, rather than made again.
const MAX_BEHIND: u64 = 1_000;

/// Whether decisions made on each of `made_on` may be logged now, in this
/// transaction: the policy inputs are still at the version they were made
/// on, or the writes since changed nothing they read. Also returns the
/// current version.
pub(crate) async fn still_hold(
    tx: &mut WriteTx,
    workspace: &WorkspaceRow,
    made_on: &[Option<&MadeOn>],
) -> Result<(u64, Vec<bool>)> {
    if made_on.iter().all(Option::is_none) {
        return Ok((0, vec![true; made_on.len()]));
    }
    let current = policy_inputs(tx, workspace).await?;
    let checkable = |version: u64| version < current && current - version <= MAX_BEHIND;
    // Bring what each engine knows of the writes since its version up to
    // the current one (usually nothing to read: a few writes at most).
    let mut engines: Vec<&Arc<LoadedEngine>> = Vec::new();
    for made_on in made_on.iter().flatten() {
        if checkable(made_on.engine.version) && !engines.iter().any(|e| Arc::ptr_eq(e, &made_on.engine)) {
            engines.push(&made_on.engine);
        }
    }
    for engine in engines {
        let through = engine.affected_through();
        if through < current {
            let changes = tx.input_changes(workspace.id, through).await?;
            let changed: Vec<charter_policy::Input> = changes
                .iter()
                .filter(|(version, _, _)| *version <= current)
                .map(|(_, entity_type, id)| charter_policy::Input::from_pair(entity_type, id))
                .collect();
            engine.learn(&changed, current);
        }
    }
    let holds = made_on
        .iter()
        .map(|made_on| match made_on {
            None => true,
            Some(made_on) if made_on.engine.version == current => true,
            Some(made_on) if checkable(made_on.engine.version) => {
                made_on.engine.unaffected_through(current, &made_on.read)
            }
            Some(_) => false,
        })
        .collect();
    Ok((current, holds))
}

/// Fails with [`AppError::Stale`] unless decisions made on `made_on` (when
/// given) may be logged now (see [`still_hold`]).
pub(crate) async fn require_still_holds(
    tx: &mut WriteTx,
    workspace: &WorkspaceRow,
    made_on: Option<&MadeOn>,
) -> Result<u64> {
    let (current, holds) = still_hold(tx, workspace, &[made_on]).await?;
    if holds[0] { Ok(current) } else { Err(AppError::Stale { current }) }
}

/// One change to one subject.
#[derive(Debug, Clone)]
pub(crate) struct AuditChange {
    pub(crate) action: std::borrow::Cow<'static, str>,
    pub(crate) kind: String,
    pub(crate) subject: String,
    pub(crate) version: Option<u64>,
    pub(crate) prev_version: Option<u64>,
    pub(crate) value: Option<String>,
}

/// A registry record to create (no previous version) or to set to a new
/// value (replacing `previous`).
#[derive(Debug)]
pub(crate) struct RecordWrite {
    pub(crate) kind: RecordKind,
    pub(crate) id: String,
    pub(crate) body: String,
    pub(crate) previous: Option<u64>,
    /// A creation by an import, recorded as `import` rather than `create`.
    pub(crate) imported: bool,
}

impl RecordWrite {
    pub(crate) fn create(kind: RecordKind, id: String, body: String) -> Self {
        Self { kind, id, body, previous: None, imported: false }
    }

    pub(crate) fn update(kind: RecordKind, id: String, body: String, previous: u64) -> Self {
        Self { kind, id, body, previous: Some(previous), imported: false }
    }

    /// The same write, recorded as an import.
    pub(crate) fn imported(self) -> Self {
        Self { imported: true, ..self }
    }

    fn change(&self) -> AuditChange {
        AuditChange {
            action: match (self.previous, self.imported) {
                (Some(_), _) => action::UPDATE,
                (None, true) => action::IMPORT,
                (None, false) => action::CREATE,
            }
            .into(),
            kind: self.kind.name().to_owned(),
            subject: self.id.clone(),
            version: Some(self.previous.map_or(1, |previous| previous + 1)),
            prev_version: self.previous,
            value: Some(self.body.clone()),
        }
    }
}

/// Appends one audit event per change, numbered consecutively after the
/// workspace's last event; returns the first number (0 when there are none).
pub(crate) async fn append(
    tx: &mut WriteTx,
    workspace: &WorkspaceRow,
    actor: &str,
    at: Timestamp,
    changes: Vec<AuditChange>,
) -> Result<u64> {
    if changes.is_empty() {
        return Ok(0);
    }
    let first = reserve(tx, workspace, changes.len() as u64).await?;
    let rows = encode(workspace, first, actor, at, changes);
    tx.append_events(workspace.id, &rows).await?;
    Ok(first)
}

/// Writes registry records: one audit event each, then the records pointing
/// at their events. An update whose record is no longer at `previous` fails
/// with a conflict, and the caller's transaction rolls back. A hard budget
/// that KPI cost records or a budget's own new limit exhaust is marked so
/// in the same transaction, by the same actor.
pub(crate) async fn write_records(
    tx: &mut WriteTx,
    workspace: &WorkspaceRow,
    actor: &str,
    at: Timestamp,
    writes: &[RecordWrite],
) -> Result<()> {
    write_plain(tx, workspace, actor, at, writes).await?;
    if writes.iter().any(|write| matches!(write.kind, RecordKind::Kpi | RecordKind::Budget)) {
        let exhausted = crate::oversight::budgets::exhausted_by_writes(tx, workspace, at, writes).await?;
        write_plain(tx, workspace, actor, at, &exhausted).await?;
    }
    Ok(())
}

/// [`write_records`] without what follows from the records written.
async fn write_plain(
    tx: &mut WriteTx,
    workspace: &WorkspaceRow,
    actor: &str,
    at: Timestamp,
    writes: &[RecordWrite],
) -> Result<()> {
    if writes.is_empty() {
        return Ok(());
    }
    let first = reserve(tx, workspace, writes.len() as u64).await?;
    if writes.iter().any(|write| is_policy_input(write.kind)) {
        let inputs = changed_inputs(tx, workspace, writes).await?;
        let version = tx.advance_counter(workspace.id, POLICY_INPUTS, 1).await?;
        tx.insert_input_changes(workspace.id, version, &inputs).await?;
    }
    let kinds: std::collections::BTreeSet<RecordKind> = writes.iter().map(|write| write.kind).collect();
    for kind in kinds {
        tx.advance_counter(workspace.id, &revision_counter(kind), 1).await?;
    }
    let events = encode(workspace, first, actor, at, writes.iter().map(RecordWrite::change).collect());
    store_records(tx, workspace, at, writes, &events).await
}

/// The decision-point inputs `writes` change, as stored (type, id) pairs:
/// those of each record's new value and, where they depend on more than
/// its id, of its value before.
async fn changed_inputs(
    tx: &mut WriteTx,
    workspace: &WorkspaceRow,
    writes: &[RecordWrite],
) -> Result<Vec<(String, String)>> {
    let mut inputs = std::collections::BTreeSet::new();
    for write in writes.iter().filter(|write| is_policy_input(write.kind)) {
        let mut bodies = vec![write.body.clone()];
        if write.previous.is_some()
            && matches!(write.kind, RecordKind::Agent | RecordKind::Person | RecordKind::Team)
            && let Some(before) = tx.record(workspace.id, write.kind, &write.id).await?
        {
            bodies.push(before.body);
        }
        for body in bodies {
            match write.kind.parse_json(&body) {
                Ok(record) => inputs.extend(charter_policy::record_inputs(&record)),
                // Validated before it was written; if not, nothing is safe.
                Err(_) => {
                    inputs.insert(charter_policy::Input::Everything);
                }
            }
        }
    }
    Ok(inputs.iter().map(charter_policy::Input::to_pair).collect())
}

/// Appends `events` (one per write, as [`encode`] made them) and the records
/// they set.
async fn store_records(
    tx: &mut WriteTx,
    workspace: &WorkspaceRow,
    at: Timestamp,
    writes: &[RecordWrite],
    events: &[EventRow],
) -> Result<()> {
    tx.append_events(workspace.id, events).await?;
    let mut inserts = Vec::new();
    for (write, event) in writes.iter().zip(events) {
        match write.previous {
            None => inserts.push(NewRecord { kind: write.kind, id: &write.id, event_seq: event.seq }),
            Some(previous) => {
                tx.update_record(workspace.id, write.kind, &write.id, previous, event.seq, at).await?;
            }
        }
    }
    tx.insert_records(workspace.id, &inserts, at).await?;
    Ok(())
}

/// Reserves `count` consecutive sequence numbers and returns the first.
pub(crate) async fn reserve(tx: &mut WriteTx, workspace: &WorkspaceRow, count: u64) -> Result<u64> {
    let last = tx.advance_counter(workspace.id, AUDIT_COUNTER, count).await?;
    Ok(last + 1 - count)
}

/// Encodes one event per change, numbered from `first`.
pub(crate) fn encode(
    workspace: &WorkspaceRow,
    first: u64,
    actor: &str,
    at: Timestamp,
    changes: Vec<AuditChange>,
) -> Vec<EventRow> {
    changes
        .into_iter()
        .zip(first..)
        .map(|(change, seq)| {
            let event = AuditEvent {
                workspace: workspace.name.clone(),
                seq,
                at,
                actor: actor.to_owned(),
                action: change.action.into_owned(),
                kind: change.kind,
                subject: change.subject,
                version: change.version,
                prev_version: change.prev_version,
                value: change.value,
            };
            EventRow {
                seq,
                at,
                body: event.encode(),
                actor: event.actor,
                action: event.action,
                kind: event.kind,
                subject: event.subject,
            }
        })
        .collect()
}
