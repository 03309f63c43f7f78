//! The assessment of a portfolio as of a date: every agent's scores with
//! their components and evidence, flags, value findings, trends and HITL
//! cost; the ranked risk signals and system blast radii; escalations and
//! recommendations, each citing the records that triggered it; and the
//! problems found in the input.

use charter_model::RecordKind;
use std::collections::{BTreeMap, BTreeSet};

use charter_model::{
    Agent, AgentStatus, Criticality, Date, KpiRecord, OwnershipReview, ReviewOutcome, RiskEvent, RiskSignal,
    Snapshot, System, ValueRecord, Workflow,
};
use serde::Serialize;

use crate::blast::{BlastRadius, Dependents};
use crate::config::Config;
use crate::evidence::{Evidence, Score};
use crate::history::{Direction, Precedence, RiskPath, Sentence, narrative, precedence, risk_paths};
use crate::integration::{Flag, integration_score};
use crate::risk::{RankedRisk, RiskInputs, hitl_cost_per_day, rank_risks, risk_score};
use crate::trend::{
    Label, Trend, WindowChange, cost_up_roi_down, history, run_at_or_over, trend, window_changes,
};
use crate::value::{ValueFinding, value_leakage};

/// Everything an assessment reads.
#[derive(Debug, Clone, Copy)]
pub struct Portfolio<'a> {
    /// Agents.
    pub agents: &'a [Agent],
    /// Systems.
    pub systems: &'a [System],
    /// Workflows.
    pub workflows: &'a [Workflow],
    /// KPI records.
    pub kpis: &'a [KpiRecord],
    /// Risk signals.
    pub signals: &'a [RiskSignal],
    /// Snapshots (imported and saved alike).
    pub snapshots: &'a [Snapshot],
    /// Expected-vs-actual value records.
    pub values: &'a [ValueRecord],
    /// Owner reviews.
    pub reviews: &'a [OwnershipReview],
    /// Risk history (`risk_signal_history.json`).
    pub risk_events: &'a [RiskEvent],
    /// The day assessed; records after it are not read.
    pub as_of: Date,
}

/// One agent's assessment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentAssessment {
    /// The agent.
    pub agent_id: String,
    /// Its name.
    pub name: String,
    /// Its status.
    pub status: AgentStatus,
    /// Its criticality.
    pub criticality: Option<Criticality>,
    /// Its invocations per day, when registered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub daily_invocations: Option<u64>,
    /// Integration score (higher is better).
    pub integration: Score,
    /// Risk score (higher is worse).
    pub risk: Score,
    /// Value-leakage score (higher is worse).
    pub value_leakage: Score,
    /// Trends of risk score, cost, ROI, failure rate and manual minutes.
    pub trends: Vec<Trend>,
    /// Flags on its dependencies.
    pub flags: Vec<Flag>,
    /// Findings about its value.
    pub value_findings: Vec<ValueFinding>,
    /// Cost of humans in the loop per day (USD), when it has any.
    pub hitl_cost_per_day: Option<f64>,
    /// Failure rate of its worst workflow over 7 days, when it has workflows.
    pub failure_rate_7d: Option<f64>,
    /// Manual minutes per run, from its latest value record or snapshot.
    pub manual_minutes_per_run: Option<f64>,
    /// The path of each risk in its history, by risk id.
    pub risk_history: Vec<RiskPath>,
    /// Its risk maturity, from its history (none without one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub risk_maturity: Option<Maturity>,
    /// Changes over the configured window ending on the day assessed, when
    /// the window holds enough snapshots.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub window_changes: Vec<WindowChange>,
    /// What began before what: its risks emerging and its metrics turning
    /// the bad way, each day before the next.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub precedence: Vec<Precedence>,
    /// When it is escalated: what happened to it, in order, each sentence
    /// citing its record.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub narrative: Vec<Sentence>,
}

/// Something an executive must look at, with the records that say so.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Escalation {
    /// The agent (or system) concerned.
    pub subject: String,
    /// The rule that fired.
    pub rule: &'static str,
    /// What it means.
    pub message: String,
    /// The records that triggered it.
    pub evidence: Vec<Evidence>,
}

/// What to do, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recommendation {
    /// The agent or system concerned.
    pub subject: String,
    /// `refactor`, `reduce_human_in_the_loop`, `replace_system`, `pause_scaling` or `shut_down`.
    pub action: &'static str,
    /// Why.
    pub reason: String,
    /// The records it rests on.
    pub evidence: Vec<Evidence>,
}

/// The assessment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assessment {
    /// The day assessed.
    pub as_of: Date,
    /// Agents, riskiest first (then by id).
    pub agents: Vec<AgentAssessment>,
    /// Open risk signals, by severity × blast radius.
    pub risks: Vec<RankedRisk>,
    /// Blast radius of every system an agent depends on, widest first.
    pub systems: Vec<BlastRadius>,
    /// Escalations.
    pub escalations: Vec<Escalation>,
    /// Recommendations.
    pub recommendations: Vec<Recommendation>,
    /// What is wrong with the input (records for unknown agents, duplicate snapshots).
    pub problems: Vec<String>,
    /// The executive summary's findings about history and trends, in plain
    /// sentences, each with the records it rests on (see [`summary`]).
    pub summary: Vec<SummaryLine>,
}

/// One sentence of the executive summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SummaryLine {
    /// The sentence.
    pub text: String,
    /// The records it rests on (none for a count over the portfolio, whose
    /// parts are each agent's own findings).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Evidence>,
}

/// Agents named one by one in a line of the summary, riskiest first.
pub const SUMMARY_AGENTS: usize = 5;

/// The executive summary's sentences, from `agents` (riskiest first):
/// the risk history in numbers; what moved over the window and for how
/// many agents; for the riskiest agents, how much their risk score rose
/// over the window and what began before what; and where automation debt
/// is accumulating.
pub fn summary(agents: &[AgentAssessment], config: &Config) -> Vec<SummaryLine> {
    let mut tally = SummaryTally::default();
    for agent in agents {
        tally.add(agent);
    }
    tally.lines(config)
}

/// Whether agent `a` ranks before agent `b`: riskiest first, then by id.
pub fn riskiest_first(a: (f64, &str), b: (f64, &str)) -> std::cmp::Ordering {
    b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1))
}

/// The metrics the summary counts moves of, and the way that is bad.
const MOVES: [(&str, &str); 5] = [
    ("risk_score", "increased"),
    ("cost_usd_30d", "increased"),
    ("failure_rate_7d", "increased"),
    ("manual_minutes_per_run", "increased"),
    ("roi_estimate_usd", "decreased"),
];

/// What the executive summary needs of the agents, gathered one agent at a
/// time in any order: counts, and for each named line only the
/// [`SUMMARY_AGENTS`] riskiest candidates.
#[derive(Debug, Default)]
struct SummaryTally {
    paths: usize,
    escalated: usize,
    persisted: usize,
    resolved: Vec<f64>,
    recurred: usize,
    grades: BTreeMap<char, usize>,
    windowed: usize,
    moved: [usize; MOVES.len()],
    rising: Riskiest,
    first: Riskiest,
    indebted: usize,
    debts: Riskiest,
}

/// The [`SUMMARY_AGENTS`] riskiest agents offered, each with its line.
#[derive(Debug, Default)]
struct Riskiest(Vec<(f64, String, SummaryLine)>);

impl Riskiest {
    /// Keeps `line` of agent `x` if it is among the riskiest so far; the
    /// line is made only then.
    fn offer(&mut self, x: &AgentAssessment, line: impl FnOnce() -> SummaryLine) {
        let key = (x.risk.value, x.agent_id.as_str());
        let full = self.0.len() >= SUMMARY_AGENTS;
        if full && self.0.last().is_some_and(|(r, id, _)| riskiest_first(key, (*r, id)).is_ge()) {
            return;
        }
        let at = self.0.partition_point(|(r, id, _)| riskiest_first((*r, id), key).is_lt());
        self.0.insert(at, (key.0, key.1.to_owned(), line()));
        self.0.truncate(SUMMARY_AGENTS);
    }

    fn lines(self) -> impl Iterator<Item = SummaryLine> {
        self.0.into_iter().map(|(_, _, line)| line)
    }
}

impl SummaryTally {
    fn add(&mut self, x: &AgentAssessment) {
        for p in &x.risk_history {
            self.paths += 1;
            self.escalated += usize::from(p.open && p.direction == Direction::Escalated);
            self.persisted += usize::from(p.open && p.persisted());
            self.recurred += usize::from(p.recurred);
            self.resolved.extend(p.days_to_resolve);
        }
        if let Some(m) = &x.risk_maturity {
            *self.grades.entry(m.grade).or_default() += 1;
        }
        if !x.window_changes.is_empty() {
            self.windowed += 1;
            for (count, (metric, direction)) in self.moved.iter_mut().zip(MOVES) {
                *count += usize::from(
                    x.window_changes.iter().any(|c| c.metric == metric && c.direction == direction),
                );
            }
        }
        let line = |text: String, evidence: &[Evidence]| SummaryLine { text, evidence: evidence.to_vec() };
        if let Some(change) =
            x.window_changes.iter().find(|c| c.metric == "risk_score" && c.direction == "increased")
        {
            self.rising.offer(x, || line(format!("{}: {}.", x.agent_id, change.sentence), &change.evidence));
        }
        if let Some(p) = x.precedence.first() {
            self.first.offer(x, || line(format!("{}: {}", x.agent_id, p.sentence), &p.evidence));
        }
        if let Some(f) = x.value_findings.iter().find(|f| f.kind == "automation_debt") {
            self.indebted += 1;
            self.debts.offer(x, || line(format!("{}: {}.", x.agent_id, f.message), &f.evidence));
        }
    }

    fn lines(mut self, config: &Config) -> Vec<SummaryLine> {
        let mut lines = Vec::new();
        let line = |text: String| SummaryLine { text, evidence: Vec::new() };
        if let Some(text) = self.history() {
            lines.push(line(text));
        }
        if self.windowed > 0 {
            let [risk, cost, failures, manual, roi] = self.moved;
            lines.push(line(format!(
                "Over the last {} days ({} agent(s) with {} snapshots or more in the window): the risk score increased for {risk}, cost for {cost}, the failure rate for {failures} and manual minutes per run for {manual}; ROI decreased for {roi}.",
                config.trend_window_days,
                self.windowed,
                config.trend_min_snapshots.max(2),
            )));
        }
        lines.extend(self.rising.lines());
        lines.extend(self.first.lines());
        if self.indebted > 0 {
            lines.push(line(format!("Automation debt is accumulating for {} agent(s).", self.indebted)));
            lines.extend(self.debts.lines());
        }
        lines
    }

    /// The risk history in a sentence: how many risks escalated, persisted
    /// and were resolved (and how fast), how many came back, and how many
    /// agents have each maturity grade. None without a risk history.
    fn history(&mut self) -> Option<String> {
        if self.paths == 0 {
            return None;
        }
        let grades: Vec<String> = self.grades.iter().map(|(g, n)| format!("{g}: {n}")).collect();
        let mut text = format!(
            "Risk history: {} risk(s), {} open and escalated in severity, {} open and persisting",
            self.paths, self.escalated, self.persisted
        );
        if !self.resolved.is_empty() {
            // Summed in one order whatever the agents' order.
            self.resolved.sort_by(f64::total_cmp);
            let mean = self.resolved.iter().sum::<f64>() / self.resolved.len() as f64;
            text.push_str(&format!(", {} resolved (in {:.1} days on average)", self.resolved.len(), mean));
        }
        if self.recurred > 0 {
            text.push_str(&format!(", {} back after being resolved", self.recurred));
        }
        text.push_str(&format!("; agents by risk maturity (A best, E worst): {}.", grades.join(", ")));
        Some(text)
    }
}

/// Assesses `portfolio` with `config`.
pub fn assess(portfolio: &Portfolio<'_>, config: &Config) -> Assessment {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    assess_on(portfolio, config, cores)
}

/// [`assess`] on up to `threads` threads.
fn assess_on(portfolio: &Portfolio<'_>, config: &Config, threads: usize) -> Assessment {
    let assessor = Assessor::new(portfolio, config);
    let mut tally = Tally::default();
    let owned = OwnLayers::new(portfolio);
    for agent in owned.snapshots.keys().filter(|a| assessor.position(a).is_none()) {
        tally.unknown("snapshot", agent);
    }
    let own = |id: &str| owned.of(id);
    // Agents are assessed independently: in chunks on every core, put back
    // in input order, so the result does not depend on the thread count.
    let chunk = portfolio.agents.len().div_ceil(threads.max(1)).max(MIN_AGENTS_PER_THREAD);
    let outcomes: Vec<Vec<AgentOutcome>> = std::thread::scope(|scope| {
        let (assessor, own) = (&assessor, &own);
        let handles: Vec<_> = (0..portfolio.agents.len())
            .step_by(chunk.max(1))
            .map(|first| {
                scope.spawn(move || {
                    let positions = first..(first + chunk).min(portfolio.agents.len());
                    positions
                        .map(|at| {
                            let id = portfolio.agents[at].agent_id.as_str();
                            assessor.agent(at, own(id))
                        })
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect()
    });
    let agents = outcomes.into_iter().flatten().enumerate().map(|(at, o)| tally.add(at, o)).collect();
    tally.finish(&assessor, agents)
}

/// The flags on a dependency that escalate: its health, not its paperwork.
const SYSTEM_HEALTH: [&str; 4] = ["auth_expiring", "auth_expired", "latency", "schema_drift"];

/// `names` for a message: all of them up to five, else the first five and a count.
fn named(names: &[String]) -> String {
    match names.len() {
        0 => String::new(),
        1..=5 => format!(" ({})", names.join(", ")),
        n => format!(" ({}, and {} more)", names[..5].join(", "), n - 5),
    }
}

/// Below this many agents per thread, assessing on more threads costs more
/// than it saves.
const MIN_AGENTS_PER_THREAD: usize = 1024;

/// The layers every agent's assessment reads beside its own records,
/// grouped by agent once, so each agent reads only its own.
#[derive(Debug)]
struct Layers<'a> {
    systems: BTreeMap<&'a str, &'a System>,
    signals: BTreeMap<&'a str, Vec<&'a RiskSignal>>,
    workflows: BTreeMap<&'a str, Vec<&'a Workflow>>,
    kpis: BTreeMap<&'a str, Vec<&'a KpiRecord>>,
}

/// An agent's own records of the layers that are read only for it, and
/// so may stream: its snapshots, value records, owner reviews and risk
/// history, each in the order read.
#[derive(Debug, Default)]
pub struct Own<'r> {
    /// Its snapshots.
    pub snapshots: Vec<&'r Snapshot>,
    /// Its expected-vs-actual value records.
    pub values: Vec<&'r ValueRecord>,
    /// Its owner reviews.
    pub reviews: Vec<&'r OwnershipReview>,
    /// Its risk history.
    pub events: Vec<&'r RiskEvent>,
}

fn group<'a, T>(records: &'a [T], agent: impl Fn(&'a T) -> &'a str) -> BTreeMap<&'a str, Vec<&'a T>> {
    let mut groups: BTreeMap<&str, Vec<&T>> = BTreeMap::new();
    let mut add = |agent: &'a str, run: Vec<&'a T>| match groups.entry(agent) {
        std::collections::btree_map::Entry::Vacant(place) => {
            place.insert(run);
        }
        std::collections::btree_map::Entry::Occupied(place) => place.into_mut().extend(run),
    };
    // Records come in id order, an agent's together: they are gathered
    // into a run and the map is searched once per run.
    let mut run: Option<(&'a str, Vec<&'a T>)> = None;
    for record in records {
        let of = agent(record);
        match &mut run {
            Some((agent, run)) if *agent == of => run.push(record),
            _ => {
                if let Some((agent, done)) = run.replace((of, vec![record])) {
                    add(agent, done);
                }
            }
        }
    }
    if let Some((agent, done)) = run {
        add(agent, done);
    }
    groups
}

/// The layers each agent reads only its own records of, grouped by agent.
struct OwnLayers<'a> {
    snapshots: BTreeMap<&'a str, Vec<&'a Snapshot>>,
    values: BTreeMap<&'a str, Vec<&'a ValueRecord>>,
    reviews: BTreeMap<&'a str, Vec<&'a OwnershipReview>>,
    events: BTreeMap<&'a str, Vec<&'a RiskEvent>>,
}

impl<'a> OwnLayers<'a> {
    fn new(portfolio: &Portfolio<'a>) -> Self {
        OwnLayers {
            snapshots: group(portfolio.snapshots, |s| s.agent_id.as_str()),
            values: group(portfolio.values, |v| v.agent_id.as_str()),
            reviews: group(portfolio.reviews, |r| r.agent_id.as_str()),
            events: group(portfolio.risk_events, |e| e.agent_id.as_str()),
        }
    }

    /// Agent `id`'s own records.
    fn of(&self, id: &str) -> Own<'a> {
        Own {
            snapshots: self.snapshots.get(id).cloned().unwrap_or_default(),
            values: self.values.get(id).cloned().unwrap_or_default(),
            reviews: self.reviews.get(id).cloned().unwrap_or_default(),
            events: self.events.get(id).cloned().unwrap_or_default(),
        }
    }
}

impl<'a> Layers<'a> {
    fn new(portfolio: &Portfolio<'a>) -> Self {
        // Signals detected after the day assessed are not read.
        let mut signals: BTreeMap<&str, Vec<&RiskSignal>> = BTreeMap::new();
        for signal in portfolio.signals.iter().filter(|s| s.detected_at.date() <= portfolio.as_of) {
            signals.entry(signal.agent_id.as_str()).or_default().push(signal);
        }
        Layers {
            systems: portfolio.systems.iter().map(|s| (s.system_id.as_str(), s)).collect(),
            signals,
            workflows: group(portfolio.workflows, |w| w.agent_id.as_str()),
            kpis: group(portfolio.kpis, |k| k.agent_id.as_str()),
        }
    }
}

/// The assessment made one agent at a time, so that a portfolio's
/// snapshots (most of its records) can stream through it an agent at a
/// time, in any order of agents: [`Assessor::agent`] assesses one agent
/// from its snapshots and every other layer, and a [`Tally`] gathers what
/// the portfolio's findings need. [`assess`] is this, on every core.
#[derive(Debug)]
pub struct Assessor<'a> {
    portfolio: Portfolio<'a>,
    config: &'a Config,
    layers: Layers<'a>,
    positions: std::collections::HashMap<&'a str, usize>,
}

/// What assessing one agent found.
#[derive(Debug)]
pub struct AgentOutcome {
    assessment: AgentAssessment,
    escalations: Vec<Escalation>,
    recommendations: Vec<Recommendation>,
    problems: Vec<String>,
}

impl<'a> Assessor<'a> {
    /// The assessor of `portfolio` with `config`. It does not read the
    /// portfolio's snapshots, value records, owner reviews or risk history:
    /// each agent's are handed to [`Assessor::agent`] (the value records
    /// and owner reviews given here are checked for unknown agents).
    pub fn new(portfolio: &Portfolio<'a>, config: &'a Config) -> Self {
        let positions =
            portfolio.agents.iter().enumerate().map(|(at, a)| (a.agent_id.as_str(), at)).collect();
        Assessor { portfolio: *portfolio, config, layers: Layers::new(portfolio), positions }
    }

    /// The problems of every layer but the snapshots: records naming an
    /// agent that is not in the portfolio.
    fn unknown(&self) -> impl Iterator<Item = String> + '_ {
        let p = &self.portfolio;
        p.kpis
            .iter()
            .map(|k| ("kpi", k.agent_id.as_str()))
            .chain(p.signals.iter().map(|s| ("risk_signal", s.agent_id.as_str())))
            .chain(p.values.iter().map(|v| ("value_record", v.agent_id.as_str())))
            .chain(p.reviews.iter().map(|r| ("ownership_review", r.agent_id.as_str())))
            .filter(|(_, agent)| !self.positions.contains_key(agent))
            .map(|(kind, agent)| {
                format!("a {kind} record names agent {agent}, which is not registered: it is left out")
            })
    }

    /// The number of agents.
    pub fn len(&self) -> usize {
        self.portfolio.agents.len()
    }

    /// Whether the portfolio has no agent.
    pub fn is_empty(&self) -> bool {
        self.portfolio.agents.is_empty()
    }

    /// The position of agent `id` among the portfolio's agents, if it is one.
    pub fn position(&self, id: &str) -> Option<usize> {
        self.positions.get(id).copied()
    }

    /// The agent at `position` (below [`Assessor::len`]) assessed with its
    /// `own` records (every one of them, in the order read).
    pub fn agent(&self, position: usize, own: Own<'_>) -> AgentOutcome {
        let (layers, config, as_of) = (&self.layers, self.config, self.portfolio.as_of);
        let agent = &self.portfolio.agents[position];
        let id = agent.agent_id.as_str();
        let (mut escalations, mut recommendations, mut problems) = (Vec::new(), Vec::new(), Vec::new());
        let snapshots: Vec<&Snapshot> =
            own.snapshots.into_iter().filter(|s| s.snapshot_date <= as_of).collect();
        let (snapshots, duplicate) = history(id, snapshots);
        problems.extend(duplicate);
        let values: Vec<&ValueRecord> = own.values.into_iter().filter(|v| v.period_start <= as_of).collect();
        let reviews: Vec<&OwnershipReview> =
            own.reviews.into_iter().filter(|r| r.review_date <= as_of).collect();
        let workflows: &[&Workflow] = layers.workflows.get(id).map_or(&[], Vec::as_slice);
        let signals: &[&RiskSignal] = layers.signals.get(id).map_or(&[], Vec::as_slice);

        let (integration, flags) = integration_score(agent, &layers.systems, config);
        let (leakage, mut value_findings) = value_leakage(&values, config);
        let kpi = layers.kpis.get(id).and_then(|k| k.first()).copied();
        value_findings.extend(crate::trend::automation_debt(
            &snapshots,
            kpi,
            as_of,
            config.trend_window_days,
            config.trend_min_snapshots,
        ));
        // Manual minutes: the latest value record's actual, else the latest snapshot's.
        let latest_value = values.iter().max_by_key(|v| v.period_start).copied();
        let manual = latest_value
            .and_then(|v| {
                v.actual.manual_minutes_per_run.map(|m| {
                    (m, Evidence::new(RecordKind::ValueRecord, v.key(), "actual.manual_minutes_per_run", m))
                })
            })
            .or_else(|| {
                snapshots.last().map(|s| {
                    (
                        s.manual_minutes_per_run,
                        Evidence::new(
                            RecordKind::Snapshot,
                            s.key(),
                            "manual_minutes_per_run",
                            s.manual_minutes_per_run,
                        ),
                    )
                })
            });
        let risk = risk_score(
            &RiskInputs {
                agent,
                signals,
                workflows,
                reviews: &reviews,
                manual_minutes: manual.as_ref().map(|(m, e)| (*m, e)),
                history: &snapshots,
                min_snapshots: config.trend_min_snapshots,
                as_of,
            },
            config,
        );
        let (min, threshold) = (config.trend_min_snapshots, config.trend_threshold_points);
        let mut trends = vec![
            trend("risk_score", &snapshots, |s| s.risk_score, true, threshold, min),
            trend("value_leakage_score", &snapshots, |s| s.value_leakage_score, true, threshold, min),
            trend("integration_score", &snapshots, |s| s.integration_score, false, threshold, min),
        ];
        for kpi in layers.kpis.get(id).into_iter().flatten() {
            trends.extend(crate::trend::figure_trends(kpi, config.trend_threshold_percent));
        }
        let events: &[&RiskEvent] = &own.events;
        let risk_history = risk_paths(events.iter().copied(), as_of);
        for path in risk_history.iter().filter(|p| p.open) {
            let severities: Vec<&str> = path.severities.iter().map(|s| s.as_str()).collect();
            let days = path.days_open.unwrap_or(0.0);
            let rule = if path.direction == Direction::Escalated {
                Some(("risk_escalated", format!("escalated {}", severities.join(" → "))))
            } else if days >= config.risk_open_days_escalation {
                Some(("risk_open_too_long", format!("{} since it was first seen", path.peak)))
            } else {
                None
            };
            if let Some((rule, how)) = rule {
                escalations.push(Escalation {
                    subject: id.to_owned(),
                    rule,
                    message: format!(
                        "{id}: risk {} ({}) {how}, open {days} days, since {}",
                        path.risk_id,
                        path.risk_type,
                        path.first_seen.date()
                    ),
                    evidence: path.evidence.clone(),
                });
            }
        }
        let risk_maturity = maturity(&risk_history, config);
        let window_changes =
            window_changes(&snapshots, as_of, config.trend_window_days, config.trend_min_snapshots);
        let precedence = precedence(&snapshots, events, signals, as_of);
        let hitl = workflows.iter().any(|w| w.human_in_the_loop);
        let hitl_cost = match (hitl, &manual) {
            (true, Some((minutes, _))) => Some(hitl_cost_per_day(
                agent.daily_invocations.unwrap_or(0),
                *minutes,
                config.hourly_rate_usd,
            )),
            _ => None,
        };

        // Escalations.
        let high = matches!(agent.criticality, Some(Criticality::High | Criticality::Critical));
        let criticality = Evidence::new(
            RecordKind::Agent,
            id,
            "criticality",
            agent.criticality.map_or("absent".into(), |c| c.to_string()),
        );
        let roi = kpi.and_then(|k| k.kpis.roi_estimate_usd);
        if high && roi.is_some_and(|r| r < 0.0) {
            let mut evidence = vec![
                criticality.clone(),
                Evidence::new(RecordKind::Kpi, id, "kpis.roi_estimate_usd", roi.unwrap_or_default()),
            ];
            evidence.extend(reviews.iter().filter(|r| r.review_outcome == ReviewOutcome::Escalated).map(
                |r| {
                    Evidence::new(
                        RecordKind::OwnershipReview,
                        r.review_id.as_str(),
                        "review_outcome",
                        format!("escalated by {}", r.reviewer),
                    )
                },
            ));
            evidence.extend(
                value_findings.iter().filter(|f| f.kind == "manual_growth").flat_map(|f| f.evidence.clone()),
            );
            escalations.push(Escalation {
                subject: id.to_owned(),
                rule: "negative_roi_high_criticality",
                message: format!(
                    "{id}: ROI {} USD on a {} criticality agent",
                    roi.unwrap_or_default(),
                    agent.criticality.map_or("", |c| c.as_str())
                ),
                evidence,
            });
        }
        for workflow in workflows
            .iter()
            .filter(|w| w.human_in_the_loop && w.failure_rate_7d >= config.failure_rate_escalation)
        {
            escalations.push(Escalation {
                subject: id.to_owned(),
                rule: "scale_risk",
                message: format!(
                    "{}: {}% failures with a human in the loop: it will not scale",
                    workflow.workflow_id, workflow.failure_rate_7d
                ),
                evidence: vec![
                    Evidence::new(
                        RecordKind::Workflow,
                        workflow.workflow_id.as_str(),
                        "failure_rate_7d",
                        workflow.failure_rate_7d,
                    ),
                    Evidence::new(
                        RecordKind::Workflow,
                        workflow.workflow_id.as_str(),
                        "human_in_the_loop",
                        true,
                    ),
                ],
            });
            recommendations.push(Recommendation {
                subject: workflow.workflow_id.to_string(),
                action: "reduce_human_in_the_loop",
                reason: format!("{}% failures need manual correction", workflow.failure_rate_7d),
                evidence: vec![Evidence::new(
                    RecordKind::Workflow,
                    workflow.workflow_id.as_str(),
                    "failure_rate_7d",
                    workflow.failure_rate_7d,
                )],
            });
        }
        let degrading = trends[0].label == Label::Degrading;
        let last_review = reviews.iter().map(|r| r.review_date).max();
        let stale = last_review.is_none_or(|d| as_of.days_since(d) > config.owner_review_days_escalation);
        if high && degrading && stale {
            let mut evidence = trends[0].evidence.clone();
            evidence.push(criticality.clone());
            escalations.push(Escalation {
                subject: id.to_owned(),
                rule: "degrading_without_owner_review",
                message: format!(
                    "{id}: risk degrading ({} → {}) with no owner review in {} days",
                    score(trends[0].first),
                    score(trends[0].last),
                    config.owner_review_days_escalation
                ),
                evidence,
            });
        }
        if agent.status == AgentStatus::Pilot && degrading {
            escalations.push(Escalation {
                subject: id.to_owned(),
                rule: "pilot_not_ready_to_scale",
                message: format!("{id}: a pilot with a worsening trend is not ready to scale"),
                evidence: trends[0].evidence.clone(),
            });
            recommendations.push(Recommendation {
                subject: id.to_owned(),
                action: "pause_scaling",
                reason: "pilot risk is degrading".into(),
                evidence: trends[0].evidence.clone(),
            });
        }
        let costs = cost_up_roi_down(&snapshots);
        if costs >= 2 {
            let evidence: Vec<Evidence> = snapshots[snapshots.len() - costs - 1..]
                .iter()
                .map(|s| Evidence::new(RecordKind::Snapshot, s.key(), "cost_usd_30d", s.cost_usd_30d))
                .collect();
            recommendations.push(Recommendation {
                subject: id.to_owned(),
                action: "refactor",
                reason: format!("costs rose while ROI declined for {costs} periods"),
                evidence,
            });
        }
        let failing = run_at_or_over(&snapshots, |s| s.failure_rate_7d, config.failure_rate_escalation);
        if failing >= 3 {
            recommendations.push(Recommendation {
                subject: id.to_owned(),
                action: "refactor",
                reason: format!(
                    "failure rate at or over {}% for {failing} consecutive snapshots",
                    config.failure_rate_escalation
                ),
                evidence: snapshots[snapshots.len() - failing..]
                    .iter()
                    .map(|s| {
                        Evidence::new(RecordKind::Snapshot, s.key(), "failure_rate_7d", s.failure_rate_7d)
                    })
                    .collect(),
            });
        }
        if roi.is_some_and(|r| r < 0.0)
            && leakage.value >= config.shutdown_leakage
            && reviews.iter().any(|r| r.review_outcome == ReviewOutcome::Escalated)
        {
            recommendations.push(Recommendation {
                subject: id.to_owned(),
                action: "shut_down",
                reason: format!("negative ROI, value leakage {} and an escalation on record", leakage.value),
                evidence: value_findings.iter().flat_map(|f| f.evidence.clone()).collect(),
            });
        }

        // An escalated agent gets the story of its risks, in order.
        let narrative = if escalations.iter().any(|e| e.subject == id) {
            narrative(events.iter().copied(), signals.iter().copied(), as_of)
        } else {
            Vec::new()
        };
        let assessment = AgentAssessment {
            agent_id: id.to_owned(),
            name: agent.name.clone(),
            status: agent.status,
            criticality: agent.criticality,
            daily_invocations: agent.daily_invocations,
            integration,
            risk,
            value_leakage: leakage,
            trends,
            flags,
            value_findings,
            hitl_cost_per_day: hitl_cost,
            failure_rate_7d: workflows.iter().map(|w| w.failure_rate_7d).reduce(f64::max),
            manual_minutes_per_run: manual.as_ref().map(|(m, _)| *m),
            risk_history,
            risk_maturity,
            window_changes,
            precedence,
            narrative,
        };

        AgentOutcome { assessment, escalations, recommendations, problems }
    }
}

/// What the portfolio's findings need of its assessed agents, gathered
/// one agent at a time in any order and put back in the agents' order:
/// their escalations, recommendations and problems, the dependencies whose
/// health escalates, and the executive summary's counts and candidates.
#[derive(Debug, Default)]
pub struct Tally {
    escalations: Vec<(usize, Escalation)>,
    recommendations: Vec<(usize, Recommendation)>,
    problems: Vec<(usize, String)>,
    unknown: BTreeSet<String>,
    /// The first health flag of each kind on each system.
    health: BTreeMap<(String, &'static str), FirstFlag>,
    summary: SummaryTally,
}

/// A flag with where it came first: the agent's position, and its place
/// among the agent's flags.
type FirstFlag = ((usize, usize), Flag);

impl Tally {
    /// Takes in the outcome of the agent at `position` and hands back its
    /// assessment.
    pub fn add(&mut self, position: usize, outcome: AgentOutcome) -> AgentAssessment {
        let AgentOutcome { assessment, escalations, recommendations, problems } = outcome;
        self.escalations.extend(escalations.into_iter().map(|e| (position, e)));
        self.recommendations.extend(recommendations.into_iter().map(|r| (position, r)));
        self.problems.extend(problems.into_iter().map(|p| (position, p)));
        for (place, flag) in
            assessment.flags.iter().enumerate().filter(|(_, f)| SYSTEM_HEALTH.contains(&f.kind))
        {
            let first = (position, place);
            match self.health.entry((flag.system.clone(), flag.kind)) {
                std::collections::btree_map::Entry::Vacant(entry) => {
                    entry.insert((first, flag.clone()));
                }
                std::collections::btree_map::Entry::Occupied(mut entry) if entry.get().0 > first => {
                    entry.insert((first, flag.clone()));
                }
                std::collections::btree_map::Entry::Occupied(_) => {}
            }
        }
        self.summary.add(&assessment);
        assessment
    }

    /// Notes that a `kind` record names `agent`, which is not in the portfolio.
    pub fn unknown(&mut self, kind: &str, agent: &str) {
        self.unknown
            .insert(format!("a {kind} record names agent {agent}, which is not registered: it is left out"));
    }

    /// The assessment, with `agents` (the assessed agents handed back by
    /// [`Tally::add`], in any order; none when they were written elsewhere)
    /// put riskiest first.
    pub fn finish(self, assessor: &Assessor<'_>, mut agents: Vec<AgentAssessment>) -> Assessment {
        let Tally { mut escalations, mut recommendations, mut problems, mut unknown, health, summary } = self;
        let (portfolio, config) = (&assessor.portfolio, assessor.config);
        unknown.extend(assessor.unknown());
        escalations.sort_by_key(|(at, _)| *at);
        recommendations.sort_by_key(|(at, _)| *at);
        problems.sort_by_key(|(at, _)| *at);
        let mut escalations: Vec<Escalation> = escalations.into_iter().map(|(_, e)| e).collect();
        let mut recommendations: Vec<Recommendation> = recommendations.into_iter().map(|(_, r)| r).collect();
        let problems: Vec<String> = unknown.into_iter().chain(problems.into_iter().map(|(_, p)| p)).collect();

        // Systems to replace: expired credentials, uptime at the floor, or
        // latency twice the threshold.
        let dependents = Dependents::new(portfolio.agents, portfolio.workflows);
        let used: BTreeSet<&str> = dependents.systems().collect();
        let mut radii: Vec<BlastRadius> = used.iter().map(|s| dependents.radius(s)).collect();
        // One escalation per unhealthy system, whatever number of agents use
        // it: its flags in the order they came first, and who depends on it.
        let mut unhealthy: BTreeMap<String, Vec<FirstFlag>> = BTreeMap::new();
        for ((system, _), first) in health {
            unhealthy.entry(system).or_default().push(first);
        }
        for (system, mut flags) in unhealthy {
            flags.sort_by_key(|(first, _)| *first);
            // `radii` is still in system order here.
            let Ok(at) = radii.binary_search_by(|r| r.system.as_str().cmp(&system)) else { continue };
            let radius = &radii[at];
            let mut evidence: Vec<Evidence> = flags.iter().flat_map(|(_, f)| f.evidence.clone()).collect();
            evidence.extend(radius.evidence.iter().cloned());
            escalations.push(Escalation {
                message: format!(
                    "{}; {} agent(s) and {} workflow(s) depend on it{}",
                    flags.iter().map(|(_, f)| f.message.as_str()).collect::<Vec<_>>().join("; "),
                    radius.agents.len(),
                    radius.workflows.len(),
                    named(&radius.workflows)
                ),
                subject: system,
                rule: "dependency_health",
                evidence,
            });
        }
        radii.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.system.cmp(&b.system)));
        for system in portfolio.systems.iter().filter(|s| used.contains(s.system_id.as_str())) {
            let id = system.system_id.as_str();
            let mut reasons = Vec::new();
            let mut evidence = Vec::new();
            if system.auth_status == Some(charter_model::AuthStatus::Expired) {
                reasons.push("credentials expired".to_owned());
                evidence.push(Evidence::new(RecordKind::System, id, "auth_status", "expired"));
            }
            if let Some(uptime) = system.uptime_30d.filter(|u| *u <= config.uptime_floor) {
                reasons.push(format!("uptime {uptime}%"));
                evidence.push(Evidence::new(RecordKind::System, id, "uptime_30d", uptime));
            }
            if let Some(latency) = system.latency_ms_p95.filter(|l| *l >= 2.0 * config.latency_threshold_ms) {
                reasons.push(format!("p95 latency {latency} ms"));
                evidence.push(Evidence::new(RecordKind::System, id, "latency_ms_p95", latency));
            }
            if !reasons.is_empty() {
                recommendations.push(Recommendation {
                    subject: id.to_owned(),
                    action: "replace_system",
                    reason: reasons.join(", "),
                    evidence,
                });
            }
        }

        agents.sort_by(|a, b| riskiest_first((a.risk.value, &a.agent_id), (b.risk.value, &b.agent_id)));
        let as_of = portfolio.as_of;
        let signals = portfolio.signals.iter().filter(|s| s.detected_at.date() <= as_of);
        Assessment {
            as_of,
            agents,
            risks: rank_risks(signals, portfolio.workflows),
            systems: radii,
            escalations,
            recommendations,
            problems,
            summary: summary.lines(config),
        }
    }
}

/// An agent's risk maturity: how well its risks are brought under control,
/// read from its risk history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Maturity {
    /// `A` (best) to `E`.
    pub grade: char,
    /// Why, in a sentence naming the risks.
    pub reason: String,
}

/// The grade of an agent's risk history:
/// - **E**: a risk came back after it was resolved, or two or more open
///   risks escalated;
/// - **D**: an open risk escalated;
/// - **C**: an open risk persisted (two periods or more at one severity)
///   or has been open `risk_open_days_escalation` days or more;
/// - **B**: risks are open, none of them escalating or persisting;
/// - **A**: every risk in its history is resolved.
///
/// No history, no grade.
pub fn maturity(paths: &[RiskPath], config: &Config) -> Option<Maturity> {
    if paths.is_empty() {
        return None;
    }
    let named = |keep: &dyn Fn(&RiskPath) -> bool| -> Vec<&str> {
        paths.iter().filter(|p| keep(p)).map(|p| p.risk_id.as_str()).collect()
    };
    let recurred = named(&|p| p.recurred);
    let escalated = named(&|p| p.open && p.direction == Direction::Escalated);
    let lingering = named(&|p| {
        p.open && (p.persisted() || p.days_open.is_some_and(|d| d >= config.risk_open_days_escalation))
    });
    let open = named(&|p| p.open);
    let (grade, reason) = if !recurred.is_empty() {
        ('E', format!("came back after being resolved: {}", recurred.join(", ")))
    } else if escalated.len() >= 2 {
        ('E', format!("{} open risks escalated: {}", escalated.len(), escalated.join(", ")))
    } else if !escalated.is_empty() {
        ('D', format!("an open risk escalated: {}", escalated.join(", ")))
    } else if !lingering.is_empty() {
        ('C', format!("open risks persist: {}", lingering.join(", ")))
    } else if !open.is_empty() {
        ('B', format!("open, neither escalating nor persisting: {}", open.join(", ")))
    } else {
        ('A', format!("every risk resolved: {}", named(&|_| true).join(", ")))
    };
    Some(Maturity { grade, reason })
}

/// A score as people read it: `66`, `65.5`, or `n/a` when there is none.
fn score(value: Option<f64>) -> String {
    match value {
        Some(value) if value.fract() == 0.0 => format!("{value:.0}"),
        Some(value) => format!("{value:.1}"),
        None => "n/a".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn scores_read_as_numbers() {
        assert_eq!(
            [super::score(Some(66.0)), super::score(Some(65.5)), super::score(None)],
            ["66", "65.5", "n/a"]
        );
    }

    use super::*;

    fn load<T: serde::de::DeserializeOwned>(json: &str) -> Vec<T> {
        serde_json::from_str(json).unwrap()
    }

    /// Assesses `portfolio` agent by agent in the order `order` gives the
    /// agents with snapshots, as a stream of snapshots would, and the rest
    /// after them.
    fn streamed(portfolio: &Portfolio<'_>, config: &Config, order: impl Fn(&mut Vec<&str>)) -> Assessment {
        let assessor = Assessor::new(portfolio, config);
        let mut tally = Tally::default();
        let owned = OwnLayers::new(portfolio);
        let own = |id: &str| owned.of(id);
        let mut agents: Vec<&str> = owned.snapshots.keys().copied().collect();
        order(&mut agents);
        let mut done = vec![false; assessor.len()];
        let mut assessed = Vec::new();
        for agent in agents {
            match assessor.position(agent) {
                Some(at) => {
                    done[at] = true;
                    assessed.push(tally.add(at, assessor.agent(at, own(agent))));
                }
                None => tally.unknown("snapshot", agent),
            }
        }
        for at in (0..assessor.len()).filter(|&at| !done[at]) {
            assessed.push(tally.add(at, assessor.agent(at, own(portfolio.agents[at].agent_id.as_str()))));
        }
        tally.finish(&assessor, assessed)
    }

    #[test]
    fn agents_assessed_one_at_a_time_in_any_order_give_the_whole_assessment() {
        let agents: Vec<Agent> = load(include_str!("../../../examples/ops-workspace/agents.json"));
        let systems: Vec<System> =
            load(include_str!("../../../examples/ops-workspace/system_integrations.json"));
        let workflows: Vec<Workflow> = load(include_str!("../../../examples/ops-workspace/workflows.json"));
        let kpis: Vec<KpiRecord> = load(include_str!("../../../examples/ops-workspace/kpis_cost.json"));
        let signals: Vec<RiskSignal> =
            load(include_str!("../../../examples/ops-workspace/risk_signals.json"));
        let mut snapshots: Vec<Snapshot> =
            load(include_str!("../../../examples/ops-workspace/historical_snapshots.json"));
        let values: Vec<ValueRecord> =
            load(include_str!("../../../examples/ops-workspace/expected_vs_actual_value.json"));
        let reviews: Vec<OwnershipReview> =
            load(include_str!("../../../examples/ops-workspace/ownership_review_history.json"));
        let risk_events: Vec<RiskEvent> =
            load(include_str!("../../../examples/ops-workspace/risk_signal_history.json"));
        // A snapshot of an agent that is not registered, and one taken twice.
        let mut stray = snapshots[0].clone();
        stray.agent_id = "agent_stray_01".parse().unwrap();
        snapshots.push(stray);
        snapshots.push(snapshots[0].clone());
        snapshots.sort_by_key(|s| s.key());
        for as_of in ["2024-12-20", "2025-01-15"] {
            let portfolio = Portfolio {
                agents: &agents,
                systems: &systems,
                workflows: &workflows,
                kpis: &kpis,
                signals: &signals,
                snapshots: &snapshots,
                values: &values,
                reviews: &reviews,
                risk_events: &risk_events,
                as_of: as_of.parse().unwrap(),
            };
            let config = Config::default();
            let whole = assess_on(&portfolio, &config, 1);
            assert!(!whole.escalations.is_empty() && !whole.summary.is_empty(), "{as_of}");
            assert!(whole.problems.iter().any(|p| p.contains("agent_stray_01")), "{:?}", whole.problems);
            assert!(
                whole.problems.iter().any(|p| p.contains("more than one snapshot")),
                "{:?}",
                whole.problems
            );
            assert_eq!(whole, streamed(&portfolio, &config, |_| {}), "{as_of}");
            assert_eq!(whole, streamed(&portfolio, &config, |agents| agents.reverse()), "{as_of}");
            assert_eq!(whole, streamed(&portfolio, &config, |agents| agents.rotate_left(2)), "{as_of}");
        }
    }

    #[test]
    fn the_assessment_does_not_depend_on_the_thread_count() {
        // The example's agents, copied under new ids into a portfolio large
        // enough to be split.
        let example: Vec<Agent> = load(include_str!("../../../examples/ops-workspace/agents.json"));
        let snapshots: Vec<Snapshot> =
            load(include_str!("../../../examples/ops-workspace/historical_snapshots.json"));
        let workflows: Vec<Workflow> = load(include_str!("../../../examples/ops-workspace/workflows.json"));
        let (mut agents, mut copies, mut flows) = (Vec::new(), Vec::new(), Vec::new());
        for n in 0..3 * MIN_AGENTS_PER_THREAD {
            let mut agent = example[n % example.len()].clone();
            let id = format!("{}_{n:05}", agent.agent_id);
            for s in snapshots.iter().filter(|s| s.agent_id == agent.agent_id) {
                copies.push(Snapshot { agent_id: id.parse().unwrap(), ..s.clone() });
            }
            for w in workflows.iter().filter(|w| w.agent_id == agent.agent_id) {
                let mut w = w.clone();
                w.workflow_id = format!("{}_{n:05}", w.workflow_id).parse().unwrap();
                w.agent_id = id.parse().unwrap();
                flows.push(w);
            }
            agent.agent_id = id.parse().unwrap();
            agents.push(agent);
        }
        let portfolio = Portfolio {
            agents: &agents,
            systems: &[],
            workflows: &flows,
            kpis: &[],
            signals: &[],
            snapshots: &copies,
            values: &[],
            reviews: &[],
            risk_events: &[],
            as_of: "2025-01-15".parse().unwrap(),
        };
        let config = Config::default();
        let one = assess_on(&portfolio, &config, 1);
        assert_eq!(one.agents.len(), agents.len());
        assert!(!one.escalations.is_empty());
        assert_eq!(one, assess_on(&portfolio, &config, 3));
        assert_eq!(one, assess_on(&portfolio, &config, 64));
        assert_eq!(one, streamed(&portfolio, &config, |agents| agents.reverse()));
    }
}
