//! What the alert evaluator keeps in memory per workspace, so judging the
//! agents whose runs just closed costs what is new, not the whole horizon:
//! each agent's runs and denied decisions per window over the evaluation
//! horizon, fed from the audit events after the last one read. The first
//! evaluation of a workspace reads the horizon from the store once.
//!
//! A window keeps at most [`RUNS_PER_WINDOW`] runs per agent (its first
//! ones): latency percentiles of a busier window are those of that sample.

use std::collections::{BTreeMap, HashMap, HashSet};

use charter_model::{RunRecord, Timestamp};
use charter_observe::{Anomaly, AnomalyConfig, Run};
use charter_store::WorkspaceRow;

use super::health::observed;
use crate::{App, AppError, Result};

/// Runs kept per agent and window.
pub const RUNS_PER_WINDOW: usize = 200;

/// One agent's recent history.
#[derive(Debug, Default)]
struct AgentHistory {
    /// Runs, in the order they closed.
    runs: Vec<Run>,
    /// Where each run id is in `runs` (an amended run replaces itself).
    index: HashMap<String, usize>,
    /// Runs kept per window start.
    per_window: BTreeMap<i64, usize>,
    /// Denied decisions' times (blocked filterings among them).
    denied: Vec<i64>,
    /// Values the safety filter redacted: (time, count).
    redacted: Vec<(i64, u64)>,
}

/// A workspace's recent history.
#[derive(Debug)]
pub(crate) struct Watch {
    length_us: i64,
    /// The last audit event read.
    last_seq: u64,
    agents: HashMap<String, AgentHistory>,
}

impl Watch {
    fn add_run(&mut self, run: Run, id: String) -> String {
        let window = run.end_us.div_euclid(self.length_us) * self.length_us;
        let agent = run.agent_id.clone();
        let history = self.agents.entry(agent.clone()).or_default();
        if let Some(&at) = history.index.get(&id) {
            history.runs[at] = run;
        } else {
            let kept = history.per_window.entry(window).or_default();
            if *kept < RUNS_PER_WINDOW {
                *kept += 1;
                history.index.insert(id, history.runs.len());
                history.runs.push(run);
            }
        }
        agent
    }

    fn add_denied(&mut self, agent: String, at_us: i64) -> String {
        self.agents.entry(agent.clone()).or_default().denied.push(at_us);
        agent
    }

    /// A filtering of `agent`'s content: redactions count as such, a block
    /// as a denied decision.
    fn add_filtered(&mut self, (agent, at_us, redacted, blocked): (String, i64, u64, bool)) -> String {
        let history = self.agents.entry(agent.clone()).or_default();
        if redacted > 0 {
            history.redacted.push((at_us, redacted));
        }
        if blocked {
            history.denied.push(at_us);
        }
        agent
    }

    /// Reads one audit event into the history, naming the agent it moved.
    fn add_event(&mut self, event: &charter_store::EventRow) -> Result<Option<String>> {
        if let Some(filtered) = crate::guard::filtered_of(event)? {
            return Ok(Some(self.add_filtered(filtered)));
        }
        Ok(super::denied_to_agent(event)?.map(|(agent, _)| self.add_denied(agent, event.at.unix_micros())))
    }

    /// Reads new audit events into the history, adding the agents they
    /// moved to `touched`.
    fn read(&mut self, events: &[charter_store::EventRow], touched: &mut HashSet<String>) -> Result<()> {
        for event in events {
            if event.kind == "run" {
                let decoded = charter_model::AuditEvent::decode(&event.body)
                    .map_err(|error| AppError::corrupt(format!("event {}: {error}", event.seq)))?;
                if let Some((id, run)) = decoded.value.as_deref().and_then(run_of) {
                    touched.insert(self.add_run(run, id));
                }
            } else if let Some(agent) = self.add_event(event)? {
                touched.insert(agent);
            }
        }
        Ok(())
    }

    /// Forgets what lies before `from_us`.
    fn prune(&mut self, from_us: i64) {
        let length = self.length_us;
        for history in self.agents.values_mut() {
            if history.per_window.first_key_value().is_some_and(|(window, _)| *window < from_us) {
                history.per_window = history.per_window.split_off(&from_us);
                let kept: Vec<(String, Run)> = {
                    let mut by_index: Vec<(usize, String)> =
                        history.index.drain().map(|(id, at)| (at, id)).collect();
                    by_index.sort_unstable();
                    let mut runs: Vec<Option<Run>> =
                        std::mem::take(&mut history.runs).into_iter().map(Some).collect();
                    by_index
                        .into_iter()
                        .filter_map(|(at, id)| runs[at].take().map(|run| (id, run)))
                        .filter(|(_, run)| run.end_us.div_euclid(length) * length >= from_us)
                        .collect()
                };
                for (id, run) in kept {
                    history.index.insert(id, history.runs.len());
                    history.runs.push(run);
                }
            }
            history.denied.retain(|at| *at >= from_us);
            history.redacted.retain(|(at, _)| *at >= from_us);
        }
        self.agents.retain(|_, history| {
            !history.runs.is_empty() || !history.denied.is_empty() || !history.redacted.is_empty()
        });
    }

    /// The anomalies of `agents` over `windows` windows ending with the one
    /// in progress at `now_us` (left out while idle).
    fn judge(&self, agents: &HashSet<String>, windows: u32, now_us: i64) -> Vec<Anomaly> {
        let to_us = now_us.div_euclid(self.length_us) * self.length_us + self.length_us;
        let from_us = to_us - i64::from(windows) * self.length_us;
        let config = AnomalyConfig::default();
        let mut scratch = Vec::new();
        let mut anomalies = Vec::new();
        for agent in agents {
            let Some(history) = self.agents.get(agent) else { continue };
            let denied: Vec<(&str, i64)> = history.denied.iter().map(|at| (agent.as_str(), *at)).collect();
            let redacted: Vec<(&str, i64, u64)> =
                history.redacted.iter().map(|(at, n)| (agent.as_str(), *at, *n)).collect();
            let input = charter_observe::WindowInput {
                runs: &history.runs,
                denied: &denied,
                redacted: &redacted,
                from_us,
                to_us,
                length_us: self.length_us,
            };
            for (agent_id, mut series) in charter_observe::windows(input) {
                if series.len() > 1
                    && series.last().is_some_and(|w| {
                        w.runs == 0
                            && w.get(charter_observe::Signal::GuardrailHits).unwrap_or(0.0) == 0.0
                            && w.get(charter_observe::Signal::Redactions).unwrap_or(0.0) == 0.0
                    })
                {
                    series.pop();
                }
                anomalies.extend(charter_observe::detect(&agent_id, &series, &config, &mut scratch));
            }
        }
        anomalies
    }
}

/// The run an audit event's value records, if it is one.
fn run_of(value: &str) -> Option<(String, Run)> {
    let record: RunRecord = serde_json::from_str(value).ok()?;
    Some((record.run_id.to_string(), observed(&record)))
}

impl App {
    /// The anomalies of the agents whose runs closed or whose decisions were
    /// denied since the last evaluation of `row` (the first one judges every
    /// agent of the horizon), and those agents.
    pub(crate) async fn watch_anomalies(
        &self,
        row: &WorkspaceRow,
        windows: u32,
    ) -> Result<(Vec<Anomaly>, HashSet<String>)> {
        let settings = self.observe_settings(row).await?;
        let length_us = i64::from(settings.window_minutes()) * 60_000_000;
        let now_us = self.clock.now().unix_micros();
        let from_us = (now_us.div_euclid(length_us) + 1 - i64::from(windows)) * length_us;
        let mut watches = self.oversight.watches.lock().await;
        let fresh = watches.get(&row.id).is_none_or(|watch| watch.length_us != length_us);
        let mut touched = HashSet::new();
        if fresh {
            let last_seq = self.store.event_count(row.id).await?;
            let mut watch = Watch { length_us, last_seq, agents: HashMap::new() };
            let since = Timestamp::from_unix_micros(from_us)
                .ok_or_else(|| AppError::Internal("the evaluation horizon is out of range".into()))?;
            for run in self.runs_closed_since(row, since).await? {
                touched.insert(watch.add_run(observed(&run), run.run_id.to_string()));
            }
            let until = self.clock.now().plus(charter_model::Span::from_secs(86_400)).unwrap_or(since);
            for kind in [charter_policy::DECISION, crate::guard::FILTER] {
                for event in self.store.events_between(row.id, kind, None, since, until).await? {
                    if event.seq <= last_seq
                        && let Some(agent) = watch.add_event(&event)?
                    {
                        touched.insert(agent);
                    }
                }
            }
            watches.insert(row.id, watch);
        }
        let mut watch = watches.remove(&row.id).ok_or_else(|| AppError::Internal("no watch".into()))?;
        let last = self.store.event_count(row.id).await?;
        // New events, read a page at a time; read into the history and
        // judged on the background thread, so the requests served meanwhile
        // get the cores first.
        let mut events = Vec::new();
        let mut read_upto = watch.last_seq;
        while read_upto < last {
            let upto = (read_upto + 10_000).min(last);
            events.extend(self.store.events(row.id, read_upto + 1, upto).await?);
            read_upto = upto;
        }
        let (watch, judged) = crate::core::background::run(move || {
            let judged = watch.read(&events, &mut touched).map(|()| {
                watch.last_seq = read_upto;
                watch.prune(from_us);
                let anomalies = watch.judge(&touched, windows, now_us);
                (anomalies, touched)
            });
            (watch, judged)
        })
        .await?;
        watches.insert(row.id, watch);
        judged
    }
}
