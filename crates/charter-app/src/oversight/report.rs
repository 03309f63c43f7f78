//! Runs as people read them: the list, one run, and its report in the
//! shape the agent operations framework asks of run reports (scope,
//! duration, data touched, deviations, mitigations, approvals).

use charter_model::{Grant, Record, RecordKind, RunOutcome, RunRecord, Timestamp, WorkspaceName};
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
    /// The grants it ran under (time-bound approvals of this agent that
    /// held during the run).
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
            deviations: run.deviations.clone(),
            mitigations,
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
