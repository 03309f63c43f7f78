//! Governed operations as use cases: declaring an operation.
//!
//! A declaration is checked in full — fields, scope contract on its text,
//! and the scope contract on the paths as this machine resolves them
//! (symlinks) — before anything is written. A valid one becomes an
//! operation `OPS-YYYY-MM-DD-NNN` (the number allocated atomically per
//! workspace and day), recorded as Requested and then Planned: two ledger
//! entries in one transaction.

use std::path::{Component, Path, PathBuf};

use charter_model::{Operation, OperationId, OperationStatus, Record, RecordKind, WorkspaceName};
use charter_ops::TierRules;

use crate::audit::RecordWrite;
use crate::records::RecordView;
use crate::{App, AppError, Caller, Result};

/// Most operations a workspace may declare in one day (the id has three digits).
const MAX_PER_DAY: u64 = 999;

/// The canonical form of `path` on this machine: symlinks followed; for a
/// path that does not exist yet, its nearest existing ancestor's canonical
/// form with the rest appended.
pub(crate) fn resolve_path(path: &str) -> std::result::Result<String, String> {
    let path = Path::new(path);
    let mut existing = path.to_path_buf();
    let mut rest: Vec<std::ffi::OsString> = Vec::new();
    loop {
        match std::fs::canonicalize(&existing) {
            Ok(mut resolved) => {
                for part in rest.iter().rev() {
                    resolved.push(part);
                }
                return Ok(resolved.to_string_lossy().into_owned());
            }
            Err(_) => {
                let Some(name) = existing.file_name().map(ToOwned::to_owned) else {
                    return Err(format!("\"{}\" cannot be resolved", path.display()));
                };
                rest.push(name);
                existing = existing.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("/"));
                if existing.components().all(|c| matches!(c, Component::RootDir)) && !existing.exists() {
                    return Err(format!("\"{}\" cannot be resolved", path.display()));
                }
            }
        }
    }
}

fn invalid(problems: Vec<String>) -> AppError {
    AppError::Invalid { what: "operation declaration".into(), problems }
}

impl App {
    /// Declares an operation from its YAML text: checks it in full and
    /// records it as Planned, with its tier and the hash approvals bind to.
    pub async fn declare_operation(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        text: &str,
    ) -> Result<RecordView> {
        let row = self.visible_workspace(caller, workspace).await?;
        caller.require_writer(RecordKind::Operation)?;
        let declaration = charter_ops::parse(text).map_err(|error| invalid(error.problems))?;
        if let Caller::Token { name, .. } = caller
            && declaration.requested_by.trim() != name
        {
            return Err(invalid(vec![format!(
                "REQUESTED_BY: \"{}\" but this token requests as \"{name}\"",
                declaration.requested_by
            )]));
        }
        let problems = charter_ops::scope::check_resolved(&declaration, resolve_path);
        if !problems.is_empty() {
            return Err(invalid(problems));
        }
        let rules = TierRules::default();
        let at = self.clock.now();
        let date = at.date();
        let operation = Operation {
            operation_id: OperationId::for_day(date.inner(), 1)
                .map_err(|error| invalid(vec![error.to_string()]))?,
            status: OperationStatus::Requested,
            tier: rules.tier(&declaration),
            declaration_hash: charter_ops::declaration_hash(&declaration),
            declaration,
            requested_at: at,
            approvals: Vec::new(),
            rejection: None,
            runs: Vec::new(),
            halt_requested: None,
        };
        let actor = caller.actor().to_owned();
        let target = row.clone();
        let operation = self
            .write(&row, move |_app, tx| {
                let (mut operation, row, actor) = (operation.clone(), target.clone(), actor.clone());
                Box::pin(async move {
                    let counter = format!("operations/{date}");
                    let seq = tx.advance_counter(row.id, &counter, 1).await?;
                    if seq > MAX_PER_DAY {
                        return Err(invalid(vec![format!(
                            "workspace {} has declared {MAX_PER_DAY} operations on {date}, the most one day's ids allow",
                            row.name
                        )]));
                    }
                    let seq = u16::try_from(seq).unwrap_or(u16::MAX);
                    operation.operation_id =
                        OperationId::for_day(date.inner(), seq).map_err(|error| invalid(vec![error.to_string()]))?;
                    let id = operation.operation_id.to_string();
                    let requested = Record::Operation(Box::new(operation.clone())).to_canonical_json();
                    crate::audit::write_records(
                        tx,
                        &row,
                        &actor,
                        at,
                        &[RecordWrite::create(RecordKind::Operation, id.clone(), requested)],
                    )
                    .await?;
                    operation.status = operation
                        .status
                        .transition(OperationStatus::Planned)
                        .map_err(|error| invalid(vec![error.to_string()]))?;
                    let planned = Record::Operation(Box::new(operation.clone())).to_canonical_json();
                    crate::audit::write_records(
                        tx,
                        &row,
                        &actor,
                        at,
                        &[RecordWrite::update(RecordKind::Operation, id, planned, 1)],
                    )
                    .await?;
                    Ok(operation)
                })
            })
            .await?;
        let id = operation.operation_id.to_string();
        Ok(RecordView {
            kind: RecordKind::Operation,
            id,
            version: 2,
            created_at: at,
            updated_at: at,
            record: Record::Operation(Box::new(operation)),
        })
    }
}
