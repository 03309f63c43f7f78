//! Writing audit events: every mutating use case describes its changes as
//! [`Change`]s and appends them here, in the transaction that made them.

use charter_model::Timestamp;
use charter_model::audit::AuditEvent;
use charter_store::{EventRow, WorkspaceRow, WriteTx};

use crate::Result;

/// Name of the per-workspace counter that numbers audit events.
pub(crate) const AUDIT_COUNTER: &str = "audit";

/// One change to one subject.
#[derive(Debug)]
pub(crate) struct Change {
    pub(crate) action: &'static str,
    pub(crate) kind: String,
    pub(crate) subject: String,
    pub(crate) version: Option<u64>,
    pub(crate) prev_version: Option<u64>,
    pub(crate) value: Option<String>,
}

/// Appends one audit event per change, numbered consecutively after the
/// workspace's last event.
pub(crate) async fn append(
    tx: &mut WriteTx,
    workspace: &WorkspaceRow,
    actor: &str,
    at: Timestamp,
    changes: Vec<Change>,
) -> Result<()> {
    if changes.is_empty() {
        return Ok(());
    }
    let count = changes.len() as u64;
    let last = tx.advance_counter(workspace.id, AUDIT_COUNTER, count).await?;
    let first = last + 1 - count;
    let rows: Vec<EventRow> = changes
        .into_iter()
        .zip(first..)
        .map(|(change, seq)| {
            let event = AuditEvent {
                workspace: workspace.name.clone(),
                seq,
                at,
                actor: actor.to_owned(),
                action: change.action.to_owned(),
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
        .collect();
    tx.append_events(workspace.id, &rows).await?;
    Ok(())
}
