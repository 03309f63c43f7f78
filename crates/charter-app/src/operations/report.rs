//! The report of an operation's run (the reporting contract: exec summary,
//! changes made, verification evidence, risk assessment, next safe
//! actions), produced from the operation's record alone.

use charter_model::{Record, RecordKind, WorkspaceName};
use charter_ops::run::RunReport;

use crate::{App, AppError, Caller, Result};

impl App {
    /// The report of run `run` (counted from 1; the latest when `None`) of
    /// operation `id`. Anyone who may read the operation may read it.
    pub async fn operation_report(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        id: &str,
        run: Option<u64>,
    ) -> Result<RunReport> {
        let view = self.get_record(caller, workspace, RecordKind::Operation, id).await?;
        let Record::Operation(operation) = &view.record else {
            return Err(AppError::invalid("operation", vec![format!("{id} is not an operation")]));
        };
        let runs = operation.runs.len() as u64;
        let index = run.unwrap_or(runs);
        let record = index
            .checked_sub(1)
            .and_then(|i| usize::try_from(i).ok())
            .and_then(|i| operation.runs.get(i))
            .ok_or_else(|| {
                AppError::invalid("run", vec![format!("{id} has {runs} runs; there is no run {index}")])
            })?;
        Ok(charter_ops::run::report(operation, record))
    }
}
