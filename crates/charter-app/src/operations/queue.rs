//! The approvals queue: operations planned and waiting for the approvals
//! their tier needs under the workspace's rules.

use charter_model::{Operation, OperationStatus, WorkspaceName};

use crate::{App, Caller, Result};

impl App {
    /// Planned operations that lack approvals of their current plan, the
    /// oldest request first, each with the approvals it still needs.
    pub async fn approvals_queue(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
    ) -> Result<Vec<(Operation, usize)>> {
        let row = self.visible_workspace(caller, workspace).await?;
        let rules = self.ops_rules(&row).await?;
        let operations: Vec<Operation> = self.read_values(&row).await?;
        let mut queue: Vec<(Operation, usize)> = operations
            .into_iter()
            .filter(|operation| operation.status == OperationStatus::Planned)
            .filter_map(|operation| {
                let bound = operation
                    .approvals
                    .iter()
                    .filter(|approval| approval.declaration_hash == operation.declaration_hash)
                    .count();
                let missing = rules.approvals_needed(operation.tier).saturating_sub(bound);
                (missing > 0).then_some((operation, missing))
            })
            .collect();
        queue.sort_by(|(a, _), (b, _)| {
            (a.requested_at, &a.operation_id).cmp(&(b.requested_at, &b.operation_id))
        });
        Ok(queue)
    }
}
