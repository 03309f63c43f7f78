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
    /// A safety check after the verifications: the filter over the step's
    /// output files; a finding of a blocked type fails the step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validate: Option<SafetyCheck>,
}

/// A step's safety check: the safety filter over output files. A finding of
/// a type (or family: `secret`, `personal`, `financial`, `network`) in
/// `block` fails the step, and so does content the DLP rules block for the
/// agent that asked for the operation; each file's filtering is logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SafetyCheck {
    /// The files to filter.
    pub files: Vec<String>,
    /// Finding types or families that fail the step (default: `secret`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub block: Vec<String>,
}

impl SafetyCheck {
    /// The types that fail the step, or the names that are no type or family.
    pub fn blocked_types(&self) -> Result<Vec<crate::FindingType>, Vec<String>> {
        let names: Vec<&str> = if self.block.is_empty() {
            vec!["secret"]
        } else {
            self.block.iter().map(String::as_str).collect()
        };
        let mut types = Vec::new();
        let mut unknown = Vec::new();
        for name in names {
            if let Ok(kind) = name.parse::<crate::FindingType>() {
                types.push(kind);
            } else if let Ok(family) = name.parse::<crate::Family>() {
                types.extend(crate::FindingType::ALL.iter().copied().filter(|kind| kind.family() == family));
            } else {
                unknown.push(name.to_owned());
            }
        }
        if unknown.is_empty() { Ok(types) } else { Err(unknown) }
    }
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
    /// The TCP ports the steps may connect to (the allowed services' ports):
    /// when given, the kernel refuses every other connection and every
    /// bind; when left out, the network is not restricted.
    #[serde(rename = "ALLOWED_PORTS", default, skip_serializing_if = "Option::is_none")]
    pub allowed_ports: Option<Vec<u16>>,
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

/// A command that ran, and what it did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommandResult {
    /// The exact command.
    pub command: String,
    /// Its exit code (absent when it was killed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// How long it ran, in milliseconds.
    pub duration_ms: u64,
    /// The end of its standard output.
    #[serde(default)]
    pub stdout_tail: String,
    /// The end of its standard error.
    #[serde(default)]
    pub stderr_tail: String,
    /// Whether it was killed for running past its timeout.
    #[serde(default)]
    pub timed_out: bool,
    /// Whether it was killed by a halt.
    #[serde(default)]
    pub halted: bool,
}

impl CommandResult {
    /// Whether it ran to completion with exit code 0.
    pub fn passed(&self) -> bool {
        self.exit_code == Some(0) && !self.timed_out && !self.halted
    }
}

/// One step of a run: the seed's execution contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepRecord {
    /// Step number, from 1.
    pub number: usize,
    /// Its name.
    pub name: String,
    /// When it started.
    pub at: Timestamp,
    /// The command (in a dry run, the step's dry-run command, if it has one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<CommandResult>,
    /// The verification commands (not run in a dry run).
    #[serde(default)]
    pub verify: Vec<CommandResult>,
    /// Files the step changed, created or removed under ALLOWED_PATHS.
    #[serde(default)]
    pub changed: Vec<String>,
    /// PASS or FAIL.
    pub passed: bool,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RunOutcome {
    /// Every step and verification passed.
    Success,
    /// A step failed or the run was halted, and everything was rolled back.
    Rollback,
    /// A step failed and the rollback did not fully succeed.
    Partial,
}

/// One run of an operation, or a dry run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunRecord {
    /// A dry run runs only the steps' dry-run commands.
    pub dry_run: bool,
    /// Who ran it.
    pub operator: String,
    /// The plan it ran.
    pub declaration_hash: String,
    /// When it started.
    pub started_at: Timestamp,
    /// When it ended (absent while running, or if the runner died).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<Timestamp>,
    /// Files under ALLOWED_PATHS before the first step.
    #[serde(default)]
    pub snapshot_files: u64,
    /// The steps run.
    #[serde(default)]
    pub steps: Vec<StepRecord>,
    /// Rollback commands run, in the order run.
    #[serde(default)]
    pub rollback: Vec<CommandResult>,
    /// Files restored from the snapshot.
    #[serde(default)]
    pub restored: Vec<String>,
    /// Who halted it, if someone did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub halted_by: Option<String>,
    /// How it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<RunOutcome>,
    /// SHA-256 of the run's JSON report, once written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_sha256: Option<String>,
    /// Whether the commands ran confined by Landlock (`false`: detection by
    /// snapshot comparison only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confined: Option<bool>,
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
    /// Who declared it: REQUESTED_BY itself, or the person who declared it
    /// for an agent of their team. Neither may approve it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared_by: Option<String>,
    /// Approvals, in order; only those of the current hash count.
    #[serde(default)]
    pub approvals: Vec<Approval>,
    /// The refusal, if it was refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejection: Option<Rejection>,
    /// Runs and dry runs, oldest first.
    #[serde(default)]
    pub runs: Vec<RunRecord>,
    /// A halt asked for while it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub halt_requested: Option<Rejection>,
}

/// Four tiers, 1 to 4, one per risk class.
fn class_tiers_schema() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    ArrayBuilder::new()
        .items(ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1)).maximum(Some(4)))
        .min_items(Some(4))
        .max_items(Some(4))
        .build()
}

/// A workspace's rules for operations (record id `default`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpsSettings {
    /// Always `default`: a workspace has one set of rules.
    pub settings_id: crate::id::Key,
    /// Tiers of READ_ONLY, LOW_RISK_CONFIG, SERVICE_RESTART and
    /// FILESYSTEM_WRITE (default 1, 2, 3, 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = class_tiers_schema)]
    pub class_tiers: Option<[u8; 4]>,
    /// Approvals a Tier 3 operation needs (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(maximum = 255)]
    pub tier3_approvals: Option<u8>,
    /// Approvals a Tier 4 operation needs (default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(maximum = 255)]
    pub tier4_approvals: Option<u8>,
    /// Accept Tier 3+ runs on a machine whose kernel cannot confine steps
    /// with Landlock: detection by snapshot comparison only, which every
    /// such run's report states (default false: they are refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detection_only: Option<bool>,
    /// Weekly change windows for Tier 4, like `Tue 02:00-04:00 UTC`.
    #[serde(default)]
    pub change_windows: Vec<String>,
}

impl Check for OpsSettings {
    fn check(&self, check: &mut Checker) {
        if self.settings_id.as_str() != "default" {
            check.fail("settings_id", &format!("must be \"default\", got \"{}\"", self.settings_id));
        }
        if let Some(tiers) = self.class_tiers
            && (tiers.iter().any(|t| !(1..=4).contains(t)) || tiers.windows(2).any(|w| w[0] > w[1]))
        {
            check.fail(
                "class_tiers",
                &format!("must be four tiers from 1 to 4, never decreasing, got {tiers:?}"),
            );
        }
        for (field, value) in
            [("tier3_approvals", self.tier3_approvals), ("tier4_approvals", self.tier4_approvals)]
        {
            if value == Some(0) {
                check.fail(field, "must be at least 1");
            }
        }
    }
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
