//! Health: every agent's signals per window over a period, the robust
//! baseline of each signal, and the anomalies of the last windows
//! (`charter-observe`'s `windows`, `baseline` and `detect`).

use std::collections::{BTreeMap, HashMap};

use charter_model::{RunOutcome, RunRecord, Timestamp, WorkspaceName};
use charter_observe::{Anomaly, AnomalyConfig, Baseline, Signal, Signals};
use charter_store::WorkspaceRow;
use serde::Serialize;

use crate::{App, AppError, Caller, Result};

/// Windows of a health reading by default: one day of five-minute windows.
pub const DEFAULT_HEALTH_WINDOWS: u32 = 288;
/// The most windows one reading may span.
pub const MAX_HEALTH_WINDOWS: u32 = 10_000;

/// What to read.
#[derive(Debug, Clone, Default)]
pub struct HealthQuery {
    /// One agent, or all.
    pub agent: Option<String>,
    /// Width of a window in minutes (the workspace's setting by default).
    pub window_minutes: Option<u32>,
    /// How many windows, ending with the last complete one.
    pub windows: Option<u32>,
    /// The reading's time (now by default).
    pub as_of: Option<Timestamp>,
}

/// One agent's health.
#[derive(Debug, Clone, Serialize)]
pub struct AgentHealth {
    /// The agent.
    pub agent_id: String,
    /// Runs in the period.
    pub runs: u64,
    /// Start of the last window.
    pub latest_window: Timestamp,
    /// Each signal in the last window (none where the window has no value).
    pub latest: BTreeMap<&'static str, Option<f64>>,
    /// Each signal's baseline over the windows before the judged ones.
    pub baseline: BTreeMap<&'static str, Option<Baseline>>,
    /// What the last windows show, with its evidence.
    pub anomalies: Vec<Anomaly>,
}

/// A health reading.
#[derive(Debug, Clone, Serialize)]
pub struct HealthReport {
    /// Its time.
    pub as_of: Timestamp,
    /// Width of a window in minutes.
    pub window_minutes: u32,
    /// Windows read.
    pub windows: u32,
    /// Start of the first window.
    pub from: Timestamp,
    /// End of the last window (exclusive).
    pub to: Timestamp,
    /// How anomalies were judged.
    pub config: AnomalyConfig,
    /// Agents with runs or denied decisions in the period, by id.
    pub agents: Vec<AgentHealth>,
}

/// The `charter-observe` run a run record describes.
pub(crate) fn observed(run: &RunRecord) -> charter_observe::Run {
    charter_observe::Run {
        trace_id: run.trace_id.clone(),
        agent_id: run.agent_id.to_string(),
        workflow: run.workflow_id.as_ref().map(ToString::to_string),
        start_us: run.started_at.unix_micros(),
        end_us: run.ended_at.unix_micros(),
        status: match run.status {
            RunOutcome::Ok => charter_observe::RunStatus::Ok,
            RunOutcome::Error => charter_observe::RunStatus::Error,
        },
        errors: run.errors.clone(),
        tool_calls: run.tool_calls,
        tool_failures: run.tool_failures,
        tools: run.tools.iter().cloned().collect(),
        datasets: run.datasets.iter().cloned().collect(),
        models: run.models.iter().cloned().collect(),
        input_tokens: run.input_tokens,
        output_tokens: run.output_tokens,
        cost_usd: run.cost_usd,
        unpriced_tokens: run.unpriced_tokens,
        redactions: run.redactions,
        quality: run.quality,
        content_hashes: run.content_hashes.clone(),
        spans: run.spans,
        validate_files: run.validation.iter().flat_map(|v| v.files.iter().cloned()).collect(),
        validate_block: run.validation.iter().flat_map(|v| v.block.iter().cloned()).collect(),
    }
}

impl App {
    /// The runs closed (or amended) since `since`, each at its latest version.
    pub(crate) async fn runs_closed_since(
        &self,
        row: &WorkspaceRow,
        since: Timestamp,
    ) -> Result<Vec<RunRecord>> {
        // No run closes after now; a day's margin covers a clock set back.
        let now = self.clock.now();
        let until = now.plus(charter_model::Span::from_secs(86_400)).unwrap_or(now);
        let events = self.store.events_between(row.id, "run", None, since, until).await?;
        let mut latest: HashMap<String, RunRecord> = HashMap::with_capacity(events.len());
        for event in events {
            let decoded = charter_model::AuditEvent::decode(&event.body)
                .map_err(|error| AppError::corrupt(format!("event {}: {error}", event.seq)))?;
            let Some(value) = decoded.value else { continue };
            let run: RunRecord = serde_json::from_str(&value)
                .map_err(|error| AppError::corrupt(format!("run in event {}: {error}", event.seq)))?;
            latest.insert(decoded.subject, run);
        }
        Ok(latest.into_values().collect())
    }

    /// Every agent's health over the windows `query` names.
    pub async fn health(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        query: HealthQuery,
    ) -> Result<HealthReport> {
        let row = self.visible_workspace(caller, workspace).await?;
        self.health_of(&row, query).await
    }

    /// [`App::health`] of a workspace the caller may see.
    async fn health_of(&self, row: &WorkspaceRow, query: HealthQuery) -> Result<HealthReport> {
        let row = row.clone();
        let settings = self.observe_settings(&row).await?;
        let minutes = query.window_minutes.unwrap_or_else(|| settings.window_minutes());
        let windows = query.windows.unwrap_or(DEFAULT_HEALTH_WINDOWS);
        let mut problems = Vec::new();
        if !(1..=1_440).contains(&minutes) {
            problems.push(format!("window: {minutes} minutes; a window is 1 to 1440 minutes"));
        }
        if !(1..=MAX_HEALTH_WINDOWS).contains(&windows) {
            problems.push(format!("windows: {windows}; a reading spans 1 to {MAX_HEALTH_WINDOWS} windows"));
        }
        if !problems.is_empty() {
            return Err(AppError::invalid("health query", problems));
        }
        let as_of = query.as_of.unwrap_or_else(|| self.clock.now());
        let length = i64::from(minutes) * 60_000_000;
        let to_us = as_of.unix_micros().div_euclid(length) * length;
        let from_us = to_us - i64::from(windows) * length;
        let (Some(from), Some(to)) =
            (Timestamp::from_unix_micros(from_us), Timestamp::from_unix_micros(to_us))
        else {
            return Err(AppError::invalid("health query", vec!["as_of: the period is out of range".into()]));
        };
        let mut runs: Vec<charter_observe::Run> =
            self.runs_closed_since(&row, from).await?.iter().map(observed).collect();
        runs.retain(|run| query.agent.as_deref().is_none_or(|agent| run.agent_id == agent));
        let decisions = self.store.events_between(row.id, charter_policy::DECISION, None, from, to).await?;
        let mut denied_owned: Vec<(String, i64)> = Vec::new();
        for event in decisions {
            if let Some((agent, hit)) = super::denied_to_agent(&event)?
                && query.agent.as_deref().is_none_or(|wanted| agent == wanted)
            {
                denied_owned.push((agent, hit.at.unix_micros()));
            }
        }
        let mut redacted_owned: Vec<(String, i64, u64)> = Vec::new();
        for event in self.store.events_between(row.id, crate::guard::FILTER, None, from, to).await? {
            if let Some((agent, at, redacted, blocked)) = crate::guard::filtered_of(&event)?
                && query.agent.as_deref().is_none_or(|wanted| agent == wanted)
            {
                if blocked {
                    denied_owned.push((agent.clone(), at));
                }
                if redacted > 0 {
                    redacted_owned.push((agent, at, redacted));
                }
            }
        }
        let denied: Vec<(&str, i64)> = denied_owned.iter().map(|(agent, at)| (agent.as_str(), *at)).collect();
        let redacted: Vec<(&str, i64, u64)> =
            redacted_owned.iter().map(|(agent, at, n)| (agent.as_str(), *at, *n)).collect();
        let series = charter_observe::windows(charter_observe::WindowInput {
            runs: &runs,
            denied: &denied,
            redacted: &redacted,
            from_us,
            to_us,
            length_us: length,
        });
        let config = AnomalyConfig::default();
        let mut scratch = Vec::new();
        let agents = series
            .into_iter()
            .map(|(agent_id, series)| agent_health(agent_id, &series, &config, &mut scratch))
            .collect::<Result<Vec<_>>>()?;
        Ok(HealthReport { as_of, window_minutes: minutes, windows, from, to, config, agents })
    }
}

fn agent_health(
    agent_id: String,
    series: &[Signals],
    config: &AnomalyConfig,
    scratch: &mut Vec<f64>,
) -> Result<AgentHealth> {
    let anomalies = charter_observe::detect(&agent_id, series, config, scratch);
    let last = series.last().ok_or_else(|| AppError::Internal("a health series without windows".into()))?;
    let history = &series[..series.len().saturating_sub(config.consecutive)];
    let mut latest = BTreeMap::new();
    let mut baseline = BTreeMap::new();
    for signal in Signal::ALL {
        latest.insert(signal.name(), last.get(signal));
        let values: Vec<f64> = history.iter().map(|window| window.values[signal.index()]).collect();
        baseline.insert(signal.name(), charter_observe::baseline(&values, config.min_history, scratch));
    }
    Ok(AgentHealth {
        runs: series.iter().map(|window| window.runs).sum(),
        latest_window: Timestamp::from_unix_micros(last.window_start_us)
            .ok_or_else(|| AppError::Internal("a window out of range".into()))?,
        agent_id,
        latest,
        baseline,
        anomalies,
    })
}
