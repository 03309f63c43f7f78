//! Governed operations (Ops Governor): the declaration an operation starts
//! from, its lifecycle as a state machine, and the operation record.
//!
//! The declaration's keys are the seed's names (`OPERATION_NAME`,
//! `RISK_CLASS`, `ALLOWED_PATHS`, …); a step's keys are lower case.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::enums::{OperationStatus, RiskClass};
use crate::id::OperationId;
use crate::time::Timestamp;
use crate::validate::{Check, Checker};

/// What an operation must never touch, even inside its allowed scope: the
/// deny list wins.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotAllowed {
    /// Paths (and everything under them).
    #[serde(default)]
    pub paths: Vec<String>,
    /// Services.
    #[serde(default)]
    pub services: Vec<String>,
    /// Streams (e.g. Redis streams) no step may write to.
    #[serde(default)]
    pub streams: Vec<String>,
}

/// One step of an operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OperationStep {
    /// What the step does.
    pub name: String,
    /// The exact shell command.
    pub command: String,
    /// Paths the command may change.
    #[serde(default)]
    pub touches: Vec<String>,
    /// Services it restarts or reloads.
    #[serde(default)]
    pub services: Vec<String>,
    /// Verification commands; every one must succeed.
    pub verify: Vec<String>,
    /// The command that undoes the step.
    pub rollback: String,
    /// A command that checks the step without changing anything
    /// (`nginx -t`, `terraform plan`): all a dry run executes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<String>,
    /// Longest the command may run, in seconds (default 300).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<u64>,
}

/// The mandatory operation declaration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Declaration {
    /// Short name.
    #[serde(rename = "OPERATION_NAME")]
    pub operation_name: String,
    /// What it is for.
    #[serde(rename = "OBJECTIVE")]
    pub objective: String,
    /// Its risk class.
    #[serde(rename = "RISK_CLASS")]
    pub risk_class: RiskClass,
    /// The tier the declaration asks for, when above its class's (at most 4).
    #[serde(rename = "TIER", default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<u8>,
    /// What can break.
    #[serde(rename = "BLAST_RADIUS")]
    pub blast_radius: String,
    /// How to revert: `snapshot` restores the files under ALLOWED_PATHS byte
    /// for byte; anything else describes the steps' rollback commands.
    #[serde(rename = "ROLLBACK_STRATEGY")]
    pub rollback_strategy: String,
    /// The hard allowlist of paths.
    #[serde(rename = "ALLOWED_PATHS")]
    pub allowed_paths: Vec<String>,
    /// The hard allowlist of services.
    #[serde(rename = "ALLOWED_SERVICES")]
    pub allowed_services: Vec<String>,
    /// The deny lists.
    #[serde(rename = "NOT_ALLOWED", default)]
    pub not_allowed: NotAllowed,
    /// Who asks: a person or an agent.
    #[serde(rename = "REQUESTED_BY")]
    pub requested_by: String,
    /// The on-call person during the change (required for Tier 4).
    #[serde(rename = "ON_CALL", default, skip_serializing_if = "Option::is_none")]
    pub on_call: Option<String>,
    /// The steps, run strictly in order.
    #[serde(rename = "STEPS")]
    pub steps: Vec<OperationStep>,
}

/// An approval, bound to the plan it approved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    /// Who approved.
    pub by: String,
    /// When.
    pub at: Timestamp,
    /// The hash of the declaration approved; an approval of another hash is void.
    pub declaration_hash: String,
    /// The decision that allowed it, in the ledger.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_id: Option<String>,
}

/// A refusal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rejection {
    /// Who refused.
    pub by: String,
    /// When.
    pub at: Timestamp,
    /// Why.
    pub reason: String,
}

/// A governed operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Operation {
    /// `OPS-YYYY-MM-DD-NNN`.
    pub operation_id: OperationId,
    /// Where it is in its lifecycle.
    pub status: OperationStatus,
    /// Its permission tier (1-4).
    pub tier: u8,
    /// The plan.
    pub declaration: Declaration,
    /// SHA-256 of the declaration's canonical JSON, hexadecimal.
    pub declaration_hash: String,
    /// When it was declared.
    pub requested_at: Timestamp,
    /// Approvals, in order; only those of the current hash count.
    #[serde(default)]
    pub approvals: Vec<Approval>,
    /// The refusal, if it was refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejection: Option<Rejection>,
}

/// A transition the lifecycle does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an operation that is {from} cannot become {to}{}", allowed(*.from))]
pub struct IllegalTransition {
    /// The current status.
    pub from: OperationStatus,
    /// The status asked for.
    pub to: OperationStatus,
}

fn allowed(from: OperationStatus) -> String {
    let next = from.next();
    if next.is_empty() {
        " (it is final)".to_owned()
    } else {
        format!(" (it can become {})", next.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "))
    }
}

impl OperationStatus {
    /// The statuses this one may move to.
    pub fn next(self) -> &'static [OperationStatus] {
        use OperationStatus::*;
        match self {
            Requested => &[Planned, Rejected],
            // Tiers 1 and 2 need no approval: a plan may execute directly.
            Planned => &[Approved, Executing, Rejected],
            // An edited plan voids its approvals and goes back to Planned.
            Approved => &[Executing, Planned, Rejected],
            Executing => &[Validated, Halted],
            Validated => &[Published, Halted],
            Published => &[Retired],
            Halted => &[RolledBack],
            RolledBack => &[Retired],
            Rejected => &[Retired],
            Retired => &[],
        }
    }

    /// Moves to `to`, or says why it may not.
    pub fn transition(self, to: OperationStatus) -> Result<OperationStatus, IllegalTransition> {
        if self.next().contains(&to) { Ok(to) } else { Err(IllegalTransition { from: self, to }) }
    }
}

impl Check for Operation {
    fn check(&self, check: &mut Checker) {
        if !(1..=4).contains(&self.tier) {
            check.fail("tier", &format!("must be 1 to 4, got {}", self.tier));
        }
        let hex =
            self.declaration_hash.len() == 64 && self.declaration_hash.bytes().all(|b| b.is_ascii_hexdigit());
        if !hex {
            check.fail(
                "declaration_hash",
                &format!("must be 64 hexadecimal digits, got \"{}\"", self.declaration_hash),
            );
        }
        check.text("declaration.OPERATION_NAME", &self.declaration.operation_name);
        check.text("declaration.REQUESTED_BY", &self.declaration.requested_by);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use OperationStatus::*;

    #[test]
    fn the_lifecycle_refuses_illegal_transitions() {
        let path = [Requested, Planned, Approved, Executing, Validated, Published, Retired];
        for pair in path.windows(2) {
            assert_eq!(pair[0].transition(pair[1]), Ok(pair[1]));
        }
        assert_eq!(Executing.transition(Halted).and_then(|s| s.transition(RolledBack)), Ok(RolledBack));
        let error = Requested.transition(Executing).unwrap_err();
        assert_eq!(
            error.to_string(),
            "an operation that is Requested cannot become Executing (it can become Planned, Rejected)"
        );
        assert!(Halted.transition(Executing).is_err(), "never fix forward");
        assert_eq!(
            Retired.transition(Planned).unwrap_err().to_string(),
            "an operation that is Retired cannot become Planned (it is final)"
        );
        // Every status is reachable from Requested.
        let mut seen = vec![Requested];
        let mut index = 0;
        while index < seen.len() {
            for next in seen[index].next() {
                if !seen.contains(next) {
                    seen.push(*next);
                }
            }
            index += 1;
        }
        assert_eq!(seen.len(), OperationStatus::ALL.len());
    }
}
