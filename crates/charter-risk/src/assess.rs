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
    let mut lines = Vec::new();
    let line = |text: String, evidence: Vec<Evidence>| SummaryLine { text, evidence };
    if let Some(text) = history_summary(agents) {
        lines.push(line(text, Vec::new()));
    }
    let windowed: Vec<&AgentAssessment> = agents.iter().filter(|x| !x.window_changes.is_empty()).collect();
    if !windowed.is_empty() {
        let moved = |metric: &str, direction: &str| {
            windowed
                .iter()
                .filter(|x| x.window_changes.iter().any(|c| c.metric == metric && c.direction == direction))
                .count()
        };
        lines.push(line(
            format!(
                "Over the last {} days ({} agent(s) with {} snapshots or more in the window): the risk score increased for {}, cost for {}, the failure rate for {} and manual minutes per run for {}; ROI decreased for {}.",
                config.trend_window_days,
                windowed.len(),
                config.trend_min_snapshots.max(2),
                moved("risk_score", "increased"),
                moved("cost_usd_30d", "increased"),
                moved("failure_rate_7d", "increased"),
                moved("manual_minutes_per_run", "increased"),
                moved("roi_estimate_usd", "decreased"),
            ),
            Vec::new(),
        ));
    }
    let rising = agents.iter().filter_map(|x| {
        let change =
            x.window_changes.iter().find(|c| c.metric == "risk_score" && c.direction == "increased")?;
        Some(line(format!("{}: {}.", x.agent_id, change.sentence), change.evidence.clone()))
    });
    lines.extend(rising.take(SUMMARY_AGENTS));
    let first = agents.iter().filter_map(|x| {
        let p = x.precedence.first()?;
        Some(line(format!("{}: {}", x.agent_id, p.sentence), p.evidence.clone()))
    });
    lines.extend(first.take(SUMMARY_AGENTS));
    let indebted: Vec<(&str, &ValueFinding)> = agents
        .iter()
        .filter_map(|x| {
            x.value_findings.iter().find(|f| f.kind == "automation_debt").map(|f| (x.agent_id.as_str(), f))
        })
        .collect();
    if !indebted.is_empty() {
        lines.push(line(
            format!("Automation debt is accumulating for {} agent(s).", indebted.len()),
            Vec::new(),
        ));
        for (agent, finding) in indebted.into_iter().take(SUMMARY_AGENTS) {
            lines.push(line(format!("{agent}: {}.", finding.message), finding.evidence.clone()));
        }
    }
    lines
}

/// The risk history in a sentence: how many risks escalated, persisted
/// and were resolved (and how fast), how many came back, and how many
/// agents have each maturity grade. None without a risk history.
fn history_summary(agents: &[AgentAssessment]) -> Option<String> {
    let paths: Vec<&RiskPath> = agents.iter().flat_map(|x| &x.risk_history).collect();
    if paths.is_empty() {
        return None;
    }
    let escalated = paths.iter().filter(|p| p.open && p.direction == Direction::Escalated).count();
    let persisted = paths.iter().filter(|p| p.open && p.persisted()).count();
    let resolved: Vec<f64> = paths.iter().filter_map(|p| p.days_to_resolve).collect();
    let recurred = paths.iter().filter(|p| p.recurred).count();
    let mut grades: BTreeMap<char, usize> = BTreeMap::new();
    for m in agents.iter().filter_map(|x| x.risk_maturity.as_ref()) {
        *grades.entry(m.grade).or_default() += 1;
    }
    let grades: Vec<String> = grades.iter().map(|(g, n)| format!("{g}: {n}")).collect();
    let mut text = format!(
        "Risk history: {} risk(s), {escalated} open and escalated in severity, {persisted} open and persisting",
        paths.len()
    );
    if !resolved.is_empty() {
        let mean = resolved.iter().sum::<f64>() / resolved.len() as f64;
        text.push_str(&format!(", {} resolved (in {:.1} days on average)", resolved.len(), mean));
    }
    if recurred > 0 {
        text.push_str(&format!(", {recurred} back after being resolved"));
    }
    text.push_str(&format!("; agents by risk maturity (A best, E worst): {}.", grades.join(", ")));
    Some(text)
}

/// Assesses `portfolio` with `config`.
pub fn assess(portfolio: &Portfolio<'_>, config: &Config) -> Assessment {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    assess_on(portfolio, config, cores)
}

/// [`assess`] on up to `threads` threads.
fn assess_on(portfolio: &Portfolio<'_>, config: &Config, threads: usize) -> Assessment {
    let as_of = portfolio.as_of;
    let known: BTreeSet<&str> = portfolio.agents.iter().map(|a| a.agent_id.as_str()).collect();
    let mut problems = Vec::new();
    for (kind, agent) in portfolio
        .kpis
        .iter()
        .map(|k| ("kpi", k.agent_id.as_str()))
        .chain(portfolio.signals.iter().map(|s| ("risk_signal", s.agent_id.as_str())))
        .chain(portfolio.snapshots.iter().map(|s| ("snapshot", s.agent_id.as_str())))
        .chain(portfolio.values.iter().map(|v| ("value_record", v.agent_id.as_str())))
        .chain(portfolio.reviews.iter().map(|r| ("ownership_review", r.agent_id.as_str())))
    {
        if !known.contains(agent) {
            problems.push(format!(
                "a {kind} record names agent {agent}, which is not registered: it is left out"
            ));
        }
    }
    problems.sort();
    problems.dedup();

    // Signals detected after the day assessed are not read.
    let signals = || portfolio.signals.iter().filter(|s| s.detected_at.date() <= as_of);
    let layers = Layers::new(portfolio, signals());
    // Agents are assessed independently: in chunks on every core, put back
    // in input order, so the result does not depend on the thread count.
    let chunk = portfolio.agents.len().div_ceil(threads.max(1)).max(MIN_AGENTS_PER_THREAD);
    let outcomes: Vec<Outcome> = std::thread::scope(|scope| {
        let layers = &layers;
        let handles: Vec<_> = portfolio
            .agents
            .chunks(chunk)
            .map(|part| scope.spawn(move || assess_agents(layers, part, config, as_of)))
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect()
    });
    let mut agents = Vec::with_capacity(portfolio.agents.len());
    let mut escalations = Vec::new();
    let mut recommendations = Vec::new();
    for outcome in outcomes {
        agents.extend(outcome.agents);
        escalations.extend(outcome.escalations);
        recommendations.extend(outcome.recommendations);
        problems.extend(outcome.problems);
    }

    // Systems to replace: expired credentials, uptime at the floor, or
    // latency twice the threshold.
    let dependents = Dependents::new(portfolio.agents, portfolio.workflows);
    let used: BTreeSet<&str> = dependents.systems().collect();
    let mut radii: Vec<BlastRadius> = used.iter().map(|s| dependents.radius(s)).collect();
    // One escalation per unhealthy system, whatever number of agents use
    // it: its flags, and who depends on it.
    let mut unhealthy: BTreeMap<&str, Vec<&Flag>> = BTreeMap::new();
    for flag in agents.iter().flat_map(|a| &a.flags).filter(|f| SYSTEM_HEALTH.contains(&f.kind)) {
        let flags = unhealthy.entry(flag.system.as_str()).or_default();
        if !flags.iter().any(|f| f.kind == flag.kind) {
            flags.push(flag);
        }
    }
    for (system, flags) in unhealthy {
        // `radii` is still in system order here.
        let Ok(at) = radii.binary_search_by(|r| r.system.as_str().cmp(system)) else { continue };
        let radius = &radii[at];
        let mut evidence: Vec<Evidence> = flags.iter().flat_map(|f| f.evidence.clone()).collect();
        evidence.extend(radius.evidence.iter().cloned());
        escalations.push(Escalation {
            subject: system.to_owned(),
            rule: "dependency_health",
            message: format!(
                "{}; {} agent(s) and {} workflow(s) depend on it{}",
                flags.iter().map(|f| f.message.as_str()).collect::<Vec<_>>().join("; "),
                radius.agents.len(),
                radius.workflows.len(),
                named(&radius.workflows)
            ),
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

    agents.sort_by(|a, b| b.risk.value.total_cmp(&a.risk.value).then_with(|| a.agent_id.cmp(&b.agent_id)));
    let summary = summary(&agents, config);
    Assessment {
        as_of,
        agents,
        risks: rank_risks(signals(), portfolio.workflows),
        systems: radii,
        escalations,
        recommendations,
        problems,
        summary,
    }
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

/// Every layer grouped by agent once, so each agent reads only its own records.
struct Layers<'a> {
    systems: BTreeMap<&'a str, &'a System>,
    signals: BTreeMap<&'a str, Vec<&'a RiskSignal>>,
    snapshots: BTreeMap<&'a str, Vec<&'a Snapshot>>,
    values: BTreeMap<&'a str, Vec<&'a ValueRecord>>,
    reviews: BTreeMap<&'a str, Vec<&'a OwnershipReview>>,
    workflows: BTreeMap<&'a str, Vec<&'a Workflow>>,
    kpis: BTreeMap<&'a str, Vec<&'a KpiRecord>>,
    events: BTreeMap<&'a str, Vec<&'a RiskEvent>>,
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

impl<'a> Layers<'a> {
    /// `signals` are the portfolio's signals detected by the day assessed.
    fn new(portfolio: &Portfolio<'a>, signals: impl Iterator<Item = &'a RiskSignal>) -> Self {
        let mut signals_of: BTreeMap<&str, Vec<&RiskSignal>> = BTreeMap::new();
        for signal in signals {
            signals_of.entry(signal.agent_id.as_str()).or_default().push(signal);
        }
        Layers {
            systems: portfolio.systems.iter().map(|s| (s.system_id.as_str(), s)).collect(),
            signals: signals_of,
            snapshots: group(portfolio.snapshots, |s| s.agent_id.as_str()),
            values: group(portfolio.values, |v| v.agent_id.as_str()),
            reviews: group(portfolio.reviews, |r| r.agent_id.as_str()),
            workflows: group(portfolio.workflows, |w| w.agent_id.as_str()),
            kpis: group(portfolio.kpis, |k| k.agent_id.as_str()),
            events: group(portfolio.risk_events, |e| e.agent_id.as_str()),
        }
    }
}

/// What assessing some agents found.
#[derive(Default)]
struct Outcome {
    agents: Vec<AgentAssessment>,
    escalations: Vec<Escalation>,
    recommendations: Vec<Recommendation>,
    problems: Vec<String>,
}

/// Assesses `agents` (a part of the portfolio).
fn assess_agents(layers: &Layers<'_>, agents: &[Agent], config: &Config, as_of: Date) -> Outcome {
    let mut outcome = Outcome::default();
    let Outcome { agents: assessed, escalations, recommendations, problems } = &mut outcome;
    for agent in agents {
        let id = agent.agent_id.as_str();
        let escalations_before = escalations.len();
        let snapshots: Vec<&Snapshot> = layers
            .snapshots
            .get(id)
            .into_iter()
            .flatten()
            .copied()
            .filter(|s| s.snapshot_date <= as_of)
            .collect();
        let (snapshots, duplicate) = history(id, snapshots);
        problems.extend(duplicate);
        let values: Vec<&ValueRecord> = layers
            .values
            .get(id)
            .into_iter()
            .flatten()
            .copied()
            .filter(|v| v.period_start <= as_of)
            .collect();
        let reviews: Vec<&OwnershipReview> = layers
            .reviews
            .get(id)
            .into_iter()
            .flatten()
            .copied()
            .filter(|r| r.review_date <= as_of)
            .collect();
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
        let events: &[&RiskEvent] = layers.events.get(id).map_or(&[], Vec::as_slice);
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
        let narrative = if escalations[escalations_before..].iter().any(|e| e.subject == id) {
            narrative(events.iter().copied(), signals.iter().copied(), as_of)
        } else {
            Vec::new()
        };
        assessed.push(AgentAssessment {
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
        });
    }
    outcome
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
    }
}
