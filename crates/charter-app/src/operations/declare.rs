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

use crate::core::audit::RecordWrite;
use crate::registry::records::RecordView;
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

/// The message of a denial: its decision id, reasons and what went wrong.
pub(crate) fn denied(answer: &charter_policy::DecisionAnswer) -> String {
    let mut text = format!(
        "denied by the decision point ({}; {})",
        answer.decision_id.as_deref().unwrap_or("not logged"),
        answer.reasons.join(", "),
    );
    if !answer.errors.is_empty() {
        text.push_str(": ");
        text.push_str(&answer.errors.join("; "));
    }
    text
}

impl App {
    /// The next number of the day for ids like `OPS-YYYY-MM-DD-NNN`, from
    /// the workspace's counter `what/date`, in a transaction of its own so
    /// numbers are never reused; once the day's 999 are taken, `refused`
    /// (what was being made) is invalid.
    pub(crate) async fn number_for_day(
        &self,
        row: &charter_store::WorkspaceRow,
        what: &str,
        date: charter_model::Date,
        refused: &str,
    ) -> Result<u16> {
        let (target, what, refused) = (row.clone(), what.to_owned(), refused.to_owned());
        self.write(row, move |_app, tx| {
            let (row, what, refused) = (target.clone(), what.clone(), refused.clone());
            Box::pin(async move { advance_day_counter(tx, &row, &what, date, &refused).await })
        })
        .await
    }

    /// Refuses a declaration whose REQUESTED_BY is neither `actor` nor a
    /// registered agent owned by `actor`'s team: whoever declares in an
    /// agent's name is recorded as the declarer, and nobody declares in
    /// another person's name (who could then approve their own change).
    async fn check_requester(
        &self,
        row: &charter_store::WorkspaceRow,
        actor: &str,
        requested_by: &str,
    ) -> Result<()> {
        if requested_by.eq_ignore_ascii_case(actor) {
            return Ok(());
        }
        let refuse = |why: String| {
            Err(AppError::invalid(
                "operation declaration",
                vec![format!("REQUESTED_BY: \"{requested_by}\" {why}")],
            ))
        };
        let agent = match self.store.record(row.id, RecordKind::Agent, requested_by).await? {
            Some(stored) => match RecordKind::Agent.parse_json(&stored.body) {
                Ok(Record::Agent(agent)) => agent,
                _ => return refuse("is not a readable agent record".into()),
            },
            None => {
                return refuse(format!(
                    "is not you (\"{actor}\"): declare as yourself, or for a registered agent your team owns"
                ));
            }
        };
        let team = match self.store.record(row.id, RecordKind::Person, actor).await? {
            Some(stored) => match RecordKind::Person.parse_json(&stored.body) {
                Ok(Record::Person(person)) => person.team,
                _ => None,
            },
            None => None,
        };
        let team_name = match &team {
            Some(team) => match self.store.record(row.id, RecordKind::Team, team.as_str()).await? {
                Some(stored) => match RecordKind::Team.parse_json(&stored.body) {
                    Ok(Record::Team(team)) => Some(team.name),
                    _ => None,
                },
                None => None,
            },
            None => None,
        };
        let owns = agent.owner_team.as_deref().is_some_and(|owner| {
            team.as_ref().is_some_and(|id| owner.eq_ignore_ascii_case(id.as_str()))
                || team_name.as_deref().is_some_and(|name| owner.eq_ignore_ascii_case(name))
        });
        if owns {
            Ok(())
        } else {
            refuse(format!(
                "is an agent of team {}, and \"{actor}\" is not in it: declare as yourself, or for an agent your team owns",
                agent.owner_team.as_deref().unwrap_or("(none)")
            ))
        }
    }

    /// The workspace's rules for operations: its `ops_settings` record, or
    /// the defaults.
    pub(crate) async fn ops_rules(&self, row: &charter_store::WorkspaceRow) -> Result<TierRules> {
        let Some(stored) = self.store.record(row.id, RecordKind::OpsSettings, "default").await? else {
            return Ok(TierRules::default());
        };
        match RecordView::from_stored(stored)?.record {
            Record::OpsSettings(settings) => TierRules::from_settings(&settings)
                .map_err(|problems| AppError::corrupt(format!("ops_settings: {}", problems.join("; ")))),
            _ => Ok(TierRules::default()),
        }
    }

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
        let declaration = charter_ops::parse(text)
            .map_err(|error| AppError::invalid("operation declaration", error.problems))?;
        // Before a number is taken: the declarer is registered, and requests
        // for itself or for an agent its team owns.
        self.require_registered(caller, workspace).await?;
        self.check_requester(&row, caller.actor(), declaration.requested_by.trim()).await?;
        let problems = charter_ops::scope::check_resolved(&declaration, resolve_path);
        if !problems.is_empty() {
            return Err(AppError::invalid("operation declaration", problems));
        }
        let rules = self.ops_rules(&row).await?;
        // Said now, not at `op run` after the dry run and the approvals.
        let problems = charter_ops::tiers::declaration_problems(&declaration, rules.tier(&declaration));
        if !problems.is_empty() {
            return Err(AppError::invalid("operation declaration", problems));
        }
        let at = self.clock.now();
        let date = at.date();
        let operation = Operation {
            operation_id: OperationId::for_day(date.inner(), 1)
                .map_err(|error| AppError::invalid("operation declaration", vec![error.to_string()]))?,
            status: OperationStatus::Requested,
            tier: rules.tier(&declaration),
            declaration_hash: charter_ops::declaration_hash(&declaration),
            declaration,
            requested_at: at,
            declared_by: Some(caller.actor().to_owned()),
            approvals: Vec::new(),
            rejection: None,
            runs: Vec::new(),
            halt_requested: None,
        };
        let mut operation = operation;
        // The id first (numbers are never reused; a refused request leaves
        // its number unused, named by the decision that refused it), then
        // the decision point, then the operation.
        let seq = self.number_for_day(&row, "operations", date, "operation declaration").await?;
        operation.operation_id = OperationId::for_day(date.inner(), seq)
            .map_err(|error| AppError::invalid("operation declaration", vec![error.to_string()]))?;
        let answer = self.decide_operation(caller, &row, "request_operation", &operation, &rules).await?;
        if answer.decision != charter_policy::Effect::Allow {
            return Err(AppError::Forbidden(denied(&answer)));
        }
        let actor = caller.actor().to_owned();
        let target = row.clone();
        let operation = self
            .write(&row, move |_app, tx| {
                let (mut operation, row, actor) = (operation.clone(), target.clone(), actor.clone());
                Box::pin(async move {
                    let id = operation.operation_id.to_string();
                    let requested = Record::Operation(Box::new(operation.clone())).to_canonical_json();
                    crate::core::audit::write_records(
                        tx,
                        &row,
                        &actor,
                        at,
                        &[RecordWrite::create(RecordKind::Operation, id.clone(), requested)],
                    )
                    .await?;
                    operation.status =
                        operation.status.transition(OperationStatus::Planned).map_err(|error| {
                            AppError::invalid("operation declaration", vec![error.to_string()])
                        })?;
                    let planned = Record::Operation(Box::new(operation.clone())).to_canonical_json();
                    crate::core::audit::write_records(
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

impl App {
    /// Approves the current plan of an operation as `caller`: an approver
    /// (or admin) who neither requested it nor has approved this plan
    /// already, after a dry run of this plan passed. The approval is bound
    /// to the plan's hash; enough approvals make the operation Approved.
    pub async fn approve_operation(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        id: &str,
    ) -> Result<RecordView> {
        let row = self.visible_workspace(caller, workspace).await?;
        caller.require_role(charter_model::Role::Approver)?;
        let approver = caller.actor().to_owned();
        let at = self.clock.now();
        let needed = self.ops_rules(&row).await?;
        let (_, current) = self.load_operation(&row, id).await?;
        if current.tier >= charter_policy::APPROVAL_TIER {
            caller.require_own_identity("approves an operation at Tier 3 or above")?;
        }
        if !matches!(current.status, OperationStatus::Planned | OperationStatus::Approved) {
            return Err(AppError::invalid(
                "operation declaration",
                vec![format!("{id} is {}: only a Planned operation is approved", current.status)],
            ));
        }
        let answer = self.decide_operation(caller, &row, "approve_operation", &current, &needed).await?;
        if answer.decision != charter_policy::Effect::Allow {
            return Err(AppError::Forbidden(denied(&answer)));
        }
        let decision_id = answer.decision_id.clone();
        self.change_operation(&row, caller, id, move |operation| {
            if !matches!(operation.status, OperationStatus::Planned | OperationStatus::Approved) {
                return Err(AppError::invalid(
                    "operation declaration",
                    vec![format!(
                        "{} is {}: only a Planned operation is approved",
                        operation.operation_id, operation.status
                    )],
                ));
            }
            let proof = charter_ops::run::dry_run_passed(operation);
            let problems = charter_ops::tiers::approval_problems(operation, &approver, proof);
            if !problems.is_empty() {
                return Err(AppError::Forbidden(problems.join("; ")));
            }
            operation.approvals.push(charter_model::operation::Approval {
                by: approver.clone(),
                at,
                declaration_hash: operation.declaration_hash.clone(),
                decision_id: decision_id.clone(),
            });
            let have = charter_ops::tiers::current_approvals(operation).len();
            if have >= needed.approvals_needed(operation.tier) && operation.status == OperationStatus::Planned
            {
                operation.status = OperationStatus::Approved;
            }
            Ok(())
        })
        .await
    }

    /// Rejects an operation that has not run: it becomes Rejected.
    pub async fn reject_operation(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        id: &str,
        reason: &str,
    ) -> Result<RecordView> {
        let row = self.visible_workspace(caller, workspace).await?;
        caller.require_role(charter_model::Role::Approver)?;
        if reason.trim().is_empty() {
            return Err(AppError::invalid(
                "operation declaration",
                vec!["reason: a rejection says why".into()],
            ));
        }
        let rejection = charter_model::operation::Rejection {
            by: caller.actor().to_owned(),
            at: self.clock.now(),
            reason: reason.to_owned(),
        };
        self.change_operation(&row, caller, id, move |operation| {
            operation.status = operation
                .status
                .transition(OperationStatus::Rejected)
                .map_err(|error| AppError::invalid("operation declaration", vec![error.to_string()]))?;
            operation.rejection = Some(rejection.clone());
            Ok(())
        })
        .await
    }

    /// Changes an operation in a write transaction (one ledger entry).
    pub(crate) async fn change_operation<F>(
        &self,
        row: &charter_store::WorkspaceRow,
        caller: &Caller,
        id: &str,
        change: F,
    ) -> Result<RecordView>
    where
        F: Fn(&mut Operation) -> Result<()> + Send + Sync + 'static,
    {
        self.change_record(row, caller, RecordKind::Operation, id, move |record, _| match record {
            Record::Operation(operation) => change(operation),
            _ => Err(AppError::NotFound { kind: RecordKind::Operation, id: record.id() }),
        })
        .await
    }
}

impl App {
    /// Replaces the plan of an operation that has not run. Its hash changes,
    /// so every approval and dry run of the old plan is void: an Approved
    /// operation goes back to Planned.
    pub async fn revise_operation(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        id: &str,
        text: &str,
    ) -> Result<RecordView> {
        let row = self.visible_workspace(caller, workspace).await?;
        caller.require_writer(RecordKind::Operation)?;
        let declaration = charter_ops::parse(text)
            .map_err(|error| AppError::invalid("operation declaration", error.problems))?;
        let problems = charter_ops::scope::check_resolved(&declaration, resolve_path);
        if !problems.is_empty() {
            return Err(AppError::invalid("operation declaration", problems));
        }
        let tier = self.ops_rules(&row).await?.tier(&declaration);
        let problems = charter_ops::tiers::declaration_problems(&declaration, tier);
        if !problems.is_empty() {
            return Err(AppError::invalid("operation declaration", problems));
        }
        let hash = charter_ops::declaration_hash(&declaration);
        self.change_operation(&row, caller, id, move |operation| {
            if declaration.requested_by != operation.declaration.requested_by {
                return Err(AppError::invalid(
                    "operation declaration",
                    vec![format!(
                        "REQUESTED_BY: a revision keeps the requester \"{}\"",
                        operation.declaration.requested_by
                    )],
                ));
            }
            operation.status = match operation.status {
                OperationStatus::Planned => OperationStatus::Planned,
                status => status
                    .transition(OperationStatus::Planned)
                    .map_err(|error| AppError::invalid("operation declaration", vec![error.to_string()]))?,
            };
            operation.declaration = declaration.clone();
            operation.declaration_hash = hash.clone();
            operation.tier = tier;
            Ok(())
        })
        .await
    }
}

impl App {
    /// Moves a Validated operation to Published, or a Published, Rejected
    /// or RolledBack one to Retired (the lifecycle refuses anything else).
    pub async fn advance_operation(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        id: &str,
        to: OperationStatus,
    ) -> Result<RecordView> {
        let row = self.visible_workspace(caller, workspace).await?;
        caller.require_role(charter_model::Role::Operator)?;
        if !matches!(to, OperationStatus::Published | OperationStatus::Retired) {
            return Err(AppError::invalid(
                "operation declaration",
                vec![format!("status: {to} is reached by running, approving or rejecting, not set")],
            ));
        }
        self.change_operation(&row, caller, id, move |operation| {
            operation.status = operation
                .status
                .transition(to)
                .map_err(|error| AppError::invalid("operation declaration", vec![error.to_string()]))?;
            Ok(())
        })
        .await
    }
}

/// Takes the next of the day's numbers for `what` inside `tx`: refused once
/// the day's ids run out.
pub(crate) async fn advance_day_counter(
    tx: &mut charter_store::WriteTx,
    row: &charter_store::WorkspaceRow,
    what: &str,
    date: charter_model::Date,
    refused: &str,
) -> Result<u16> {
    let seq = tx.advance_counter(row.id, &format!("{what}/{date}"), 1).await?;
    if seq > MAX_PER_DAY {
        return Err(AppError::Invalid {
            what: refused.to_owned(),
            problems: vec![format!(
                "workspace {} has used all {MAX_PER_DAY} {what} numbers of {date}, the most one day's ids allow",
                row.name
            )],
        });
    }
    Ok(u16::try_from(seq).unwrap_or(u16::MAX))
}
