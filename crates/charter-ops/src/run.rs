//! What the runner decides without touching anything: which files a step
//! may change, whether a dry run proves a plan, the execution contract's
//! text, the run report and the signoff ledger entry.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use charter_model::operation::{CommandResult, RunOutcome, RunRecord, StepRecord};
use charter_model::{Operation, Timestamp};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::scope::is_within;

/// Default timeout of a step's command, in seconds.
pub const DEFAULT_TIMEOUT_SECS: u64 = 300;

/// What is at a path under ALLOWED_PATHS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Entry {
    /// A regular file: the SHA-256 of its bytes, and its mode.
    File {
        /// Hexadecimal SHA-256 of the content.
        sha256: String,
        /// Unix permission bits.
        mode: u32,
    },
    /// A symbolic link and its target, as written.
    Symlink {
        /// The target.
        target: String,
    },
    /// A directory.
    Dir,
}

/// The files under ALLOWED_PATHS, by absolute path.
pub type Manifest = BTreeMap<String, Entry>;

/// Paths whose entry differs between `before` and `after` (changed, created
/// or removed), in order.
pub fn changed(before: &Manifest, after: &Manifest) -> Vec<String> {
    let mut paths: Vec<String> = before
        .iter()
        .filter(|(path, entry)| after.get(*path) != Some(entry))
        .map(|(path, _)| path.clone())
        .chain(after.keys().filter(|path| !before.contains_key(*path)).cloned())
        .collect();
    paths.sort();
    paths.dedup();
    paths
}

/// The changed paths outside every path the step declared it touches
/// (resolved). A directory that only holds a touched path may change (a
/// file created in it changes its listing, not its entry, so it never shows).
pub fn outside(changed: &[String], touches: &[String]) -> Vec<String> {
    changed
        .iter()
        .filter(|path| !touches.iter().any(|touched| is_within(path, touched) || is_within(touched, path)))
        .cloned()
        .collect()
}

/// Whether a dry run of the operation's current plan has passed.
pub fn dry_run_passed(operation: &Operation) -> bool {
    operation.runs.iter().any(|run| {
        run.dry_run
            && run.declaration_hash == operation.declaration_hash
            && run.outcome == Some(RunOutcome::Success)
    })
}

fn block(out: &mut String, text: &str) {
    let text = text.trim_end();
    if text.is_empty() {
        out.push_str("(no output)\n");
    } else {
        out.push_str(text);
        out.push('\n');
    }
}

fn result_line(result: &CommandResult) -> String {
    let status = match (result.exit_code, result.timed_out, result.halted) {
        (_, true, _) => "killed: timed out".to_owned(),
        (_, _, true) => "killed: halted".to_owned(),
        (Some(code), _, _) => format!("exit {code}"),
        (None, _, _) => "killed".to_owned(),
    };
    format!("{status} in {} ms", result.duration_ms)
}

/// The seed's execution contract for one step:
///
/// ```text
/// [STEP N | UTC timestamp]
/// Command:
/// <exact command>
/// Result:
/// <relevant output>
/// Status: PASS/FAIL
/// Verification:
/// <verification command + output>
/// ```
pub fn contract(step: &StepRecord) -> String {
    let mut out = format!("[STEP {} | {}] {}\nCommand:\n", step.number, step.at, step.name);
    match &step.command {
        Some(command) => {
            out.push_str(&command.command);
            out.push_str("\nResult:\n");
            let _ = writeln!(out, "{}", result_line(command));
            block(&mut out, &format!("{}{}", command.stdout_tail, command.stderr_tail));
        }
        None => out.push_str("(none: the step has no dry-run command)\nResult:\n(not run)\n"),
    }
    let _ = writeln!(out, "Status: {}", if step.passed { "PASS" } else { "FAIL" });
    if let Some(failure) = &step.failure {
        let _ = writeln!(out, "Failure: {failure}");
    }
    out.push_str("Verification:\n");
    if step.verify.is_empty() {
        out.push_str("(none run)\n");
    }
    for verify in &step.verify {
        let _ = writeln!(out, "$ {}  ({})", verify.command, result_line(verify));
        block(&mut out, &format!("{}{}", verify.stdout_tail, verify.stderr_tail));
    }
    out
}

/// The report of a run (the reporting contract), from its record alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct RunReport {
    /// The operation.
    pub operation_id: String,
    /// EXEC SUMMARY: one paragraph.
    pub exec_summary: String,
    /// CHANGES MADE: files and services.
    pub changes_made: Vec<String>,
    /// VERIFICATION EVIDENCE: every step's execution contract.
    pub verification_evidence: Vec<String>,
    /// RISK ASSESSMENT: the residual risk.
    pub risk_assessment: String,
    /// NEXT SAFE ACTIONS, bounded.
    pub next_safe_actions: Vec<String>,
}

/// The report of `run` of `operation`.
pub fn report(operation: &Operation, run: &RunRecord) -> RunReport {
    let d = &operation.declaration;
    let passed = run.steps.iter().filter(|s| s.passed).count();
    let outcome = match run.outcome {
        Some(RunOutcome::Success) => "SUCCESS",
        Some(RunOutcome::Rollback) => "ROLLBACK",
        Some(RunOutcome::Partial) => "PARTIAL",
        None => "INTERRUPTED",
    };
    let kind = if run.dry_run { "Dry run" } else { "Run" };
    let failed = run.steps.iter().find(|s| !s.passed);
    let mut summary = format!(
        "{kind} of {} \"{}\" ({}, Tier {}) by {} from {} to {}: {outcome}. {passed} of {} steps passed.",
        operation.operation_id,
        d.operation_name,
        d.risk_class,
        operation.tier,
        run.operator,
        run.started_at,
        run.ended_at.map_or_else(|| "(not finished)".to_owned(), |t| t.to_string()),
        d.steps.len(),
    );
    if let Some(step) = failed {
        let _ = write!(
            summary,
            " Step {} \"{}\" failed: {}.",
            step.number,
            step.name,
            step.failure.as_deref().unwrap_or("see its evidence")
        );
    }
    if let Some(by) = &run.halted_by {
        let _ = write!(summary, " Halted by {by}.");
    }
    if !run.rollback.is_empty() || !run.restored.is_empty() {
        let _ = write!(
            summary,
            " Rolled back: {} rollback commands ({} passed), {} files restored from the snapshot.",
            run.rollback.len(),
            run.rollback.iter().filter(|r| r.passed()).count(),
            run.restored.len()
        );
    }
    let mut changes: Vec<String> = Vec::new();
    if !run.dry_run {
        for step in &run.steps {
            for path in &step.changed {
                changes.push(format!("step {}: file {path}", step.number));
            }
            if let Some(declared) = d.steps.get(step.number - 1) {
                for service in &declared.services {
                    changes.push(format!("step {}: service {service}", step.number));
                }
            }
        }
        for path in &run.restored {
            changes.push(format!("rollback: restored {path}"));
        }
    }
    if changes.is_empty() {
        changes.push("none".to_owned());
    }
    let risk = match run.outcome {
        Some(RunOutcome::Success) if run.dry_run => format!(
            "Nothing was changed. The dry run proves plan {} for approval; the real run's blast radius: {}.",
            &run.declaration_hash[..16.min(run.declaration_hash.len())],
            d.blast_radius
        ),
        Some(RunOutcome::Success) => {
            format!("Changes are in place and verified. Residual blast radius: {}.", d.blast_radius)
        }
        Some(RunOutcome::Rollback) => {
            "Every change was rolled back and the rollback verified; the system is as before the run."
                .to_owned()
        }
        Some(RunOutcome::Partial) => {
            "The rollback did not fully succeed: the system may be in a mixed state. Treat as an incident."
                .to_owned()
        }
        None => "The run did not finish: the system may be in a mixed state.".to_owned(),
    };
    let network = match &d.allowed_ports {
        Some(ports) if ports.is_empty() => {
            " Their network was closed: no TCP connection, no bind.".to_owned()
        }
        Some(ports) => {
            let ports: Vec<String> = ports.iter().map(u16::to_string).collect();
            format!(
                " Their TCP connections were limited to ports {} (ALLOWED_PORTS), and binds refused.",
                ports.join(", ")
            )
        }
        None => " Their network was not restricted (the declaration names no ALLOWED_PORTS).".to_owned(),
    };
    let risk = match run.confined {
        Some(true) => format!("{risk} The commands ran confined by Landlock to the scope contract.{network}"),
        Some(false) => format!(
            "{risk} The commands ran UNCONFINED (detection only): writes outside the scope contract were caught \
             only by the snapshot comparison after each step."
        ),
        None => risk,
    };
    let next = match run.outcome {
        Some(RunOutcome::Success) if run.dry_run && operation.tier >= 3 => vec![
            format!("Ask an approver (not {}) to approve {}.", d.requested_by, operation.operation_id),
            "Do not edit the plan: an edit voids the dry-run proof and any approval.".to_owned(),
        ],
        Some(RunOutcome::Success) if run.dry_run => vec![format!("Run {} for real.", operation.operation_id)],
        Some(RunOutcome::Success) => vec![
            "Watch the services' health signals for one change window.".to_owned(),
            format!("Publish {} when the results are accepted.", operation.operation_id),
        ],
        Some(RunOutcome::Rollback) => vec![
            "Read the failed step's evidence; do not fix forward.".to_owned(),
            "Declare a corrected operation; it needs a new dry run and new approvals.".to_owned(),
        ],
        _ => vec![
            "Halt all related changes and page the on-call person.".to_owned(),
            "Restore from the snapshot or the rollback commands by hand, verifying each.".to_owned(),
        ],
    };
    RunReport {
        operation_id: operation.operation_id.to_string(),
        exec_summary: summary,
        changes_made: changes,
        verification_evidence: run.steps.iter().map(contract).collect(),
        risk_assessment: risk,
        next_safe_actions: next,
    }
}

impl RunReport {
    /// The report as Markdown.
    pub fn markdown(&self) -> String {
        let mut out = format!(
            "# Operation report: {}\n\n## EXEC SUMMARY\n\n{}\n\n## CHANGES MADE\n\n",
            self.operation_id, self.exec_summary
        );
        for change in &self.changes_made {
            let _ = writeln!(out, "- {change}");
        }
        out.push_str("\n## VERIFICATION EVIDENCE\n\n");
        for evidence in &self.verification_evidence {
            let _ = writeln!(out, "```\n{}```\n", evidence);
        }
        let _ = writeln!(out, "## RISK ASSESSMENT\n\n{}\n\n## NEXT SAFE ACTIONS\n", self.risk_assessment);
        for action in &self.next_safe_actions {
            let _ = writeln!(out, "- {action}");
        }
        out
    }

    /// The report as canonical JSON, and its SHA-256: what the ledger holds.
    pub fn json_and_hash(&self) -> (String, String) {
        let value = serde_json::to_value(self).unwrap_or_default();
        let json = charter_model::canonical::to_string(&value);
        let hash = Sha256::digest(json.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
        (json, hash)
    }
}

/// A quoted YAML scalar.
fn scalar(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_owned())
}

/// One signoff ledger entry, in the fields of `ops-governor.md`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignoffEntry {
    /// The operation.
    pub operation_id: String,
    /// Its name.
    pub operation_name: String,
    /// Who asked for it.
    pub requested_by: String,
    /// Who approved the plan that ran (`SELF` when nobody had to).
    pub approved_by: String,
    /// When the last approval of that plan was given.
    pub approval_timestamp: Timestamp,
    /// When the run started.
    pub execution_timestamp: Timestamp,
    /// The risk class.
    pub risk_class: String,
    /// What could break.
    pub blast_radius: String,
    /// Steps passed and files changed.
    pub changes_summary: String,
    /// How it is reverted.
    pub rollback_ref: String,
    /// SUCCESS, ROLLBACK or PARTIAL.
    pub outcome: &'static str,
    /// Operator, plan and report hash.
    pub notes: String,
    /// When a run that did not succeed was rolled back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollback_timestamp: Option<Timestamp>,
    /// What the rollback did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollback_evidence: Option<String>,
}

impl SignoffEntry {
    /// The entry as one YAML document (`---` first), as the seed's
    /// `ops/ledger/YYYY-MM.yaml` holds it.
    pub fn yaml(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "---");
        let _ = writeln!(out, "operation_id: {}", self.operation_id);
        let _ = writeln!(out, "operation_name: {}", scalar(&self.operation_name));
        let _ = writeln!(out, "requested_by: {}", scalar(&self.requested_by));
        let _ = writeln!(out, "approved_by: {}", scalar(&self.approved_by));
        let _ = writeln!(out, "approval_timestamp: {}", self.approval_timestamp);
        let _ = writeln!(out, "execution_timestamp: {}", self.execution_timestamp);
        let _ = writeln!(out, "risk_class: {}", self.risk_class);
        let _ = writeln!(out, "blast_radius: {}", scalar(&self.blast_radius));
        let _ = writeln!(out, "changes_summary: {}", scalar(&self.changes_summary));
        let _ = writeln!(out, "rollback_ref: {}", scalar(&self.rollback_ref));
        let _ = writeln!(out, "outcome: {}", self.outcome);
        let _ = writeln!(out, "notes: {}", scalar(&self.notes));
        if let Some(at) = self.rollback_timestamp {
            let _ = writeln!(out, "rollback_timestamp: {at}");
        }
        if let Some(evidence) = &self.rollback_evidence {
            let _ = writeln!(out, "rollback_evidence: {}", scalar(evidence));
        }
        out
    }
}

/// The signoff ledger entries of an operation, one per real run. A
/// rolled-back run's entry keeps the original approval fields and gains the
/// rollback's time and evidence; nothing is overwritten.
pub fn signoff(operation: &Operation) -> Vec<SignoffEntry> {
    let d = &operation.declaration;
    let mut entries = Vec::new();
    for run in operation.runs.iter().filter(|run| !run.dry_run) {
        let valid: Vec<_> =
            operation.approvals.iter().filter(|a| a.declaration_hash == run.declaration_hash).collect();
        let approved_by = if valid.is_empty() {
            "SELF".to_owned()
        } else {
            valid.iter().map(|a| a.by.as_str()).collect::<Vec<_>>().join(", ")
        };
        let outcome = match run.outcome {
            Some(RunOutcome::Success) => "SUCCESS",
            Some(RunOutcome::Rollback) => "ROLLBACK",
            _ => "PARTIAL",
        };
        let changed: usize = run.steps.iter().map(|s| s.changed.len()).sum();
        let rollback_ref = if d.rollback_strategy.trim().eq_ignore_ascii_case("snapshot") {
            format!("snapshot of ALLOWED_PATHS taken {}", run.started_at)
        } else {
            d.rollback_strategy.clone()
        };
        let mut notes = format!(
            "operator {}; plan {}",
            run.operator,
            &run.declaration_hash[..16.min(run.declaration_hash.len())]
        );
        if let Some(hash) = &run.report_sha256 {
            let _ = write!(notes, "; report sha256 {hash}");
        }
        let rolled_back = outcome != "SUCCESS";
        entries.push(SignoffEntry {
            operation_id: operation.operation_id.to_string(),
            operation_name: d.operation_name.clone(),
            requested_by: d.requested_by.clone(),
            approved_by,
            approval_timestamp: valid.iter().map(|a| a.at).max().unwrap_or(operation.requested_at),
            execution_timestamp: run.started_at,
            risk_class: d.risk_class.to_string(),
            blast_radius: d.blast_radius.clone(),
            changes_summary: format!(
                "{} of {} steps; {changed} files changed",
                run.steps.iter().filter(|s| s.passed).count(),
                d.steps.len()
            ),
            rollback_ref,
            outcome,
            notes,
            rollback_timestamp: rolled_back.then(|| run.ended_at.unwrap_or(run.started_at)),
            rollback_evidence: rolled_back.then(|| {
                run.rollback
                    .iter()
                    .map(|r| format!("{} ({})", r.command, result_line(r)))
                    .chain(run.restored.iter().map(|p| format!("restored {p}")))
                    .collect::<Vec<_>>()
                    .join("; ")
            }),
        });
    }
    entries
}

/// The signoff ledger entries of an operation as YAML documents (see
/// [`signoff`]).
pub fn signoff_entries(operation: &Operation) -> String {
    signoff(operation).iter().map(SignoffEntry::yaml).collect()
}

/// The signoff entries of `operations` for the runs that started in `month`
/// (`YYYY-MM`): the seed's `ops/ledger/YYYY-MM.yaml` file.
pub fn month_ledger(operations: &[Operation], month: &str) -> Vec<SignoffEntry> {
    let mut entries = Vec::new();
    for operation in operations {
        let mut only = operation.clone();
        only.runs.retain(|run| run.started_at.to_string().starts_with(month));
        entries.extend(signoff(&only));
    }
    entries
}

/// The time a run ended, or now.
pub fn ended(run: &RunRecord, now: Timestamp) -> Timestamp {
    run.ended_at.unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(hash: &str) -> Entry {
        Entry::File { sha256: hash.into(), mode: 0o644 }
    }

    #[test]
    fn changes_and_paths_outside_the_declared_ones() {
        let before: Manifest = [("/a/x".to_owned(), entry("1")), ("/a/y".to_owned(), entry("2"))].into();
        let after: Manifest = [("/a/x".to_owned(), entry("9")), ("/a/z".to_owned(), entry("3"))].into();
        assert_eq!(changed(&before, &after), ["/a/x", "/a/y", "/a/z"]);
        assert_eq!(outside(&changed(&before, &after), &["/a/x".to_owned()]), ["/a/y", "/a/z"]);
        assert!(outside(&["/a/dir/f".to_owned()], &["/a/dir".to_owned()]).is_empty());
    }
}

/// Operations KPIs over a period (agent operations framework).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Kpis {
    /// The period, a month `YYYY-MM` or a prefix of RFC 3339 times.
    pub period: String,
    /// Real runs that ended in the period.
    pub runs: usize,
    /// Those that ended in SUCCESS.
    pub succeeded: usize,
    /// succeeded / runs, in percent (absent without runs).
    pub change_success_rate: Option<f64>,
    /// Runs halted and rolled back (or partially).
    pub halted: usize,
    /// Mean time from the failure (the failing step's start) to the end of
    /// the rollback, in seconds, over halted runs.
    pub mean_time_to_recover_secs: Option<f64>,
}

/// The KPIs of the real runs of `operations` that started in `period`.
pub fn kpis(operations: &[Operation], period: &str) -> Kpis {
    let runs: Vec<&RunRecord> = operations
        .iter()
        .flat_map(|op| &op.runs)
        .filter(|run| !run.dry_run && run.outcome.is_some() && run.started_at.to_string().starts_with(period))
        .collect();
    let succeeded = runs.iter().filter(|run| run.outcome == Some(RunOutcome::Success)).count();
    let recoveries: Vec<f64> = runs
        .iter()
        .filter(|run| run.outcome != Some(RunOutcome::Success))
        .map(|run| {
            let failed_at = run.steps.iter().find(|s| !s.passed).map_or(run.started_at, |s| s.at);
            let end = run.ended_at.unwrap_or(failed_at);
            (end.unix_micros() - failed_at.unix_micros()).max(0) as f64 / 1e6
        })
        .collect();
    Kpis {
        period: period.to_owned(),
        runs: runs.len(),
        succeeded,
        change_success_rate: (!runs.is_empty()).then(|| succeeded as f64 * 100.0 / runs.len() as f64),
        halted: recoveries.len(),
        mean_time_to_recover_secs: (!recoveries.is_empty())
            .then(|| recoveries.iter().sum::<f64>() / recoveries.len() as f64),
    }
}
