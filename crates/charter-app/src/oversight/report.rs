//! Runs as people read them: the list, one run, and its report in the
//! shape the agent operations framework asks of run reports (scope,
//! duration, data touched, deviations, mitigations, approvals).

use charter_model::{Grant, Operation, Record, RecordKind, RunOutcome, RunRecord, Timestamp, WorkspaceName};
use serde::Serialize;

use crate::{App, AppError, Caller, Result};

/// Which runs to list.
#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    /// Of one agent.
    pub agent: Option<String>,
    /// Started at or after.
    pub since: Option<Timestamp>,
    /// Started before.
    pub until: Option<Timestamp>,
    /// Only failed runs.
    pub failed: bool,
    /// At most this many, newest first.
    pub limit: Option<usize>,
}

/// A run's report.
#[derive(Debug, Clone, Serialize)]
pub struct AgentRunReport {
    /// The run.
    pub run_id: String,
    /// The agent.
    pub agent_id: String,
    /// The workflow, if a span named one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workflow_id: Option<String>,
    /// What the run reached: tools and systems called, models asked.
    pub scope: Vec<String>,
    /// Start.
    pub started_at: Timestamp,
    /// End.
    pub ended_at: Timestamp,
    /// Duration in milliseconds.
    pub duration_ms: f64,
    /// How it ended.
    pub status: RunOutcome,
    /// Datasets and systems touched.
    pub data_touched: Vec<String>,
    /// What went other than planned.
    pub deviations: Vec<String>,
    /// What stopped or contained something during the run: denied
    /// decisions, redactions.
    pub mitigations: Vec<String>,
    /// Its post-run validation: the files declared, and per file what the
    /// safety filter found (or that it is still to be validated).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub validation: Vec<String>,
    /// What it ran under: the grants of this agent that held during the
    /// run (time-bound approvals), and the governed operations this agent
    /// asked for whose run overlapped it, with their approvals.
    pub approvals: Vec<String>,
    /// Tokens in and out, and their cost.
    pub tokens: (u64, u64),
    /// Cost in USD (priced tokens).
    pub cost_usd: f64,
    /// Tokens without a price.
    pub unpriced_tokens: u64,
    /// Provenance: models, content hashes, spans and their digest.
    pub provenance: Provenance,
    /// The run record's version (above 1 when late spans amended it).
    pub version: u64,
}

/// Where a run's facts come from.
#[derive(Debug, Clone, Serialize)]
pub struct Provenance {
    /// Models as the spans name them.
    pub models: Vec<String>,
    /// SHA-256 of prompts and outputs.
    pub content_hashes: Vec<String>,
    /// Spans folded in.
    pub spans: u64,
    /// SHA-256 binding the run to its spans.
    pub spans_sha256: String,
}

impl App {
    /// Runs matching `filter`, newest first.
    pub async fn runs(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        filter: &RunFilter,
    ) -> Result<Vec<RunRecord>> {
        let row = self.visible_workspace(caller, workspace).await?;
        let mut runs: Vec<RunRecord> = self.read_values(&row).await?;
        runs.retain(|run| {
            filter.agent.as_deref().is_none_or(|agent| run.agent_id.as_str() == agent)
                && filter.since.is_none_or(|since| run.started_at >= since)
                && filter.until.is_none_or(|until| run.started_at < until)
                && (!filter.failed || run.status == RunOutcome::Error)
        });
        runs.sort_by(|a, b| (b.started_at, b.run_id.as_str()).cmp(&(a.started_at, a.run_id.as_str())));
        if let Some(limit) = filter.limit {
            runs.truncate(limit);
        }
        Ok(runs)
    }

    /// One run, with its record's version.
    pub async fn run(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        id: &str,
    ) -> Result<(RunRecord, u64)> {
        let view = self.get_record(caller, workspace, RecordKind::Run, id).await?;
        match view.record {
            Record::Run(run) => Ok((*run, view.version)),
            _ => Err(AppError::NotFound { kind: RecordKind::Run, id: id.to_owned() }),
        }
    }

    /// The report of run `id`.
    pub async fn agent_run_report(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        id: &str,
    ) -> Result<AgentRunReport> {
        let (run, version) = self.run(caller, workspace, id).await?;
        let row = self.visible_workspace(caller, workspace).await?;
        let grants: Vec<Grant> = self.read_values(&row).await?;
        let mut approvals: Vec<String> = grants
            .iter()
            .filter(|grant| {
                grant.agent_id == run.agent_id
                    && grant.granted_at <= run.ended_at
                    && grant.expires_at > run.started_at
                    && grant.revoked_at.is_none_or(|revoked| revoked > run.started_at)
            })
            .map(|grant| {
                format!(
                    "{}: {} on {}::\"{}\", approved by {} ({} to {})",
                    grant.grant_id,
                    grant.action,
                    grant.resource_type,
                    grant.resource_id,
                    grant.approved_by,
                    grant.granted_at,
                    grant.expires_at
                )
            })
            .collect();
        let operations: Vec<Operation> = self.read_values(&row).await?;
        approvals.extend(operations.iter().filter_map(|operation| operation_line(operation, &run)));
        approvals.sort();
        let mut mitigations: Vec<String> = run
            .guardrail_hits
            .iter()
            .map(|hit| {
                format!(
                    "denied {} on {} at {} (ledger entry {}): {}",
                    hit.action,
                    hit.resource,
                    hit.at,
                    hit.seq,
                    hit.reasons.join(", ")
                )
            })
            .collect();
        if run.redactions > 0 {
            mitigations.push(format!("{} redactions by the safety filter", run.redactions));
        }
        let mut deviations = run.deviations.clone();
        let validation = match &run.validation {
            None => Vec::new(),
            Some(validation) => match &validation.result {
                None => vec![format!("declared, not yet validated: {}", validation.files.join(", "))],
                Some(result) => {
                    let mut lines = vec![format!(
                        "{} at {} (outputs from {}){}",
                        if result.passed { "passed" } else { "failed" },
                        result.at,
                        result.by,
                        result.incident.as_ref().map_or_else(String::new, |id| format!("; opened {id}"))
                    )];
                    lines.extend(result.files.iter().map(|file| file.summary.clone()));
                    if !result.passed {
                        deviations.push(format!(
                            "validation failed: {}",
                            result
                                .files
                                .iter()
                                .filter(|file| !file.passed)
                                .map(|file| file.summary.as_str())
                                .collect::<Vec<_>>()
                                .join("; ")
                        ));
                    }
                    lines
                }
            },
        };
        let mut scope: Vec<String> = run.tools.iter().map(|tool| format!("tool {tool}")).collect();
        scope.extend(run.models.iter().map(|model| format!("model {model}")));
        let mut data_touched = run.datasets.clone();
        data_touched.extend(run.tools.iter().cloned());
        data_touched.sort();
        data_touched.dedup();
        Ok(AgentRunReport {
            run_id: run.run_id.to_string(),
            agent_id: run.agent_id.to_string(),
            workflow_id: run.workflow_id.as_ref().map(ToString::to_string),
            scope,
            started_at: run.started_at,
            ended_at: run.ended_at,
            duration_ms: run.duration_ms,
            status: run.status,
            data_touched,
            deviations,
            mitigations,
            validation,
            approvals,
            tokens: (run.input_tokens, run.output_tokens),
            cost_usd: run.cost_usd,
            unpriced_tokens: run.unpriced_tokens,
            provenance: Provenance {
                models: run.models.clone(),
                content_hashes: run.content_hashes.clone(),
                spans: run.spans,
                spans_sha256: run.spans_sha256.clone(),
            },
            version,
        })
    }
}

/// How `run` ran under `operation`, if it did: the agent asked for the
/// operation, and one of its real (not dry) runs overlapped the agent's run.
fn operation_line(operation: &Operation, run: &RunRecord) -> Option<String> {
    if operation.declaration.requested_by != run.agent_id.as_str() {
        return None;
    }
    let during = operation.runs.iter().find(|op_run| {
        !op_run.dry_run
            && op_run.started_at <= run.ended_at
            && op_run.ended_at.is_none_or(|ended| ended >= run.started_at)
    })?;
    let approved: Vec<String> = operation
        .approvals
        .iter()
        .filter(|approval| approval.declaration_hash == operation.declaration_hash)
        .map(|approval| format!("{} at {}", approval.by, approval.at))
        .collect();
    Some(format!(
        "{}: operation \"{}\" (Tier {}), approved by {}; run by {} from {} to {} ({})",
        operation.operation_id,
        operation.declaration.operation_name,
        operation.tier,
        if approved.is_empty() { "nobody (no approval needed)".to_owned() } else { approved.join(", ") },
        during.operator,
        during.started_at,
        during.ended_at.map_or_else(|| "now".to_owned(), |ended| ended.to_string()),
        during.outcome.map_or_else(|| "running".to_owned(), |outcome| format!("{outcome:?}").to_lowercase()),
    ))
}

#[cfg(test)]
mod tests {
    use charter_model::operation::{Approval, RunRecord as OperationRun};
    use charter_model::{Operation, OperationId, OperationStatus, RunRecord, Timestamp};

    use super::operation_line;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn operation(requested_by: &str, runs: Vec<OperationRun>) -> Operation {
        let declaration = charter_ops::parse(&format!(
            "OPERATION_NAME: reindex crm\nOBJECTIVE: Faster search.\nRISK_CLASS: SERVICE_RESTART\n\
             BLAST_RADIUS: search\nROLLBACK_STRATEGY: restart the old index\nALLOWED_PATHS: []\n\
             ALLOWED_SERVICES: [crm-search]\nNOT_ALLOWED: {{}}\nREQUESTED_BY: {requested_by}\n\
             STEPS:\n  - name: reindex\n    command: \"true\"\n    verify: [\"true\"]\n    rollback: \"true\"\n"
        ))
        .unwrap();
        let hash = charter_ops::declaration_hash(&declaration);
        Operation {
            operation_id: OperationId::for_day(at("2027-01-15T00:00:00Z").date().inner(), 7).unwrap(),
            status: OperationStatus::Validated,
            tier: 3,
            declaration,
            requested_at: at("2027-01-15T07:00:00Z"),
            declared_by: Some(requested_by.to_owned()),
            approvals: vec![
                Approval {
                    by: "old_approver".into(),
                    at: at("2027-01-15T07:10:00Z"),
                    declaration_hash: "stale".into(),
                    decision_id: None,
                },
                Approval {
                    by: "cfo".into(),
                    at: at("2027-01-15T07:20:00Z"),
                    declaration_hash: hash.clone(),
                    decision_id: None,
                },
            ],
            rejection: None,
            halt_requested: None,
            declaration_hash: hash.clone(),
            runs,
        }
    }

    fn op_run(dry_run: bool, from: &str, to: Option<&str>) -> OperationRun {
        OperationRun {
            dry_run,
            operator: "ops_lead".into(),
            declaration_hash: "h".into(),
            started_at: at(from),
            ended_at: to.map(at),
            snapshot_files: 0,
            steps: Vec::new(),
            rollback: Vec::new(),
            restored: Vec::new(),
            halted_by: None,
            outcome: to.map(|_| charter_model::operation::RunOutcome::Success),
            report_sha256: None,
            confined: None,
        }
    }

    fn agent_run(agent: &str, from: &str, to: &str) -> RunRecord {
        serde_json::from_value(serde_json::json!({
            "run_id": "RUN-1", "trace_id": "1", "agent_id": agent, "started_at": from, "ended_at": to,
            "duration_ms": 1.0, "status": "ok", "tool_calls": 0, "tool_failures": 0, "input_tokens": 0,
            "output_tokens": 0, "cost_usd": 0.0, "unpriced_tokens": 0, "redactions": 0, "spans": 1,
            "spans_sha256": "00"
        }))
        .unwrap()
    }

    #[test]
    fn a_run_is_under_the_operation_its_agent_asked_for_while_a_real_run_of_it_overlapped() {
        let run = agent_run("agent_crm_01", "2027-01-15T08:00:00Z", "2027-01-15T08:05:00Z");
        let real = operation(
            "agent_crm_01",
            vec![op_run(false, "2027-01-15T07:59:00Z", Some("2027-01-15T08:01:00Z"))],
        );
        let line = operation_line(&real, &run).unwrap();
        assert!(line.starts_with("OPS-2027-01-15-007: operation \"reindex crm\" (Tier 3)"), "{line}");
        assert!(
            line.contains("approved by cfo at 2027-01-15T07:20:00") && !line.contains("old_approver"),
            "{line}"
        );
        assert!(line.contains("run by ops_lead") && line.ends_with("(success)"), "{line}");
        // Still running: it holds until now.
        let running = operation("agent_crm_01", vec![op_run(false, "2027-01-15T07:00:00Z", None)]);
        assert!(operation_line(&running, &run).unwrap().contains("to now (running)"));
        // Not when another agent asked, when only a dry run overlapped, or
        // when the real run ended before the agent's run began.
        assert!(operation_line(&operation("agent_other", real.runs.clone()), &run).is_none());
        let dry = operation(
            "agent_crm_01",
            vec![op_run(true, "2027-01-15T08:00:00Z", Some("2027-01-15T08:01:00Z"))],
        );
        assert!(operation_line(&dry, &run).is_none());
        let before = operation(
            "agent_crm_01",
            vec![op_run(false, "2027-01-15T07:00:00Z", Some("2027-01-15T07:59:59Z"))],
        );
        assert!(operation_line(&before, &run).is_none());
    }
}
