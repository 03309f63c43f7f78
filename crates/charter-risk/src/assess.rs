//! The assessment of a portfolio as of a date: every agent's scores with
//! their components and evidence, flags, value findings, trends and HITL
//! cost; the ranked risk signals and system blast radii; escalations and
//! recommendations, each citing the records that triggered it; and the
//! problems found in the input.

use std::collections::{BTreeMap, BTreeSet};

use charter_model::{
    Agent, AgentStatus, Criticality, Date, KpiRecord, OwnershipReview, ReviewOutcome, RiskSignal, Snapshot,
    System, ValueRecord, Workflow,
};
use serde::Serialize;

use crate::blast::{BlastRadius, Dependents};
use crate::config::Config;
use crate::evidence::{Evidence, Score};
use crate::integration::{Flag, integration_score};
use crate::risk::{RankedRisk, RiskInputs, hitl_cost_per_day, rank_risks, risk_score};
use crate::trend::{Label, Trend, cost_up_roi_down, history, run_at_or_over, trend};
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
}

/// Assesses `portfolio` with `config`.
pub fn assess(portfolio: &Portfolio<'_>, config: &Config) -> Assessment {
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

    let systems: BTreeMap<&str, &System> =
        portfolio.systems.iter().map(|s| (s.system_id.as_str(), s)).collect();
    // Every layer grouped by agent once, so each agent reads only its own records.
    fn group<T>(records: &[T], agent: impl Fn(&T) -> &str) -> BTreeMap<&str, Vec<&T>> {
        let mut groups: BTreeMap<&str, Vec<&T>> = BTreeMap::new();
        for record in records {
            groups.entry(agent(record)).or_default().push(record);
        }
        groups
    }
    let signals: Vec<RiskSignal> =
        portfolio.signals.iter().filter(|s| s.detected_at.date() <= as_of).cloned().collect();
    let signals_of = group(&signals, |s| s.agent_id.as_str());
    let snapshots_of = group(portfolio.snapshots, |s| s.agent_id.as_str());
    let values_of = group(portfolio.values, |v| v.agent_id.as_str());
    let reviews_of = group(portfolio.reviews, |r| r.agent_id.as_str());
    let workflows_of = group(portfolio.workflows, |w| w.agent_id.as_str());
    let kpi_of = group(portfolio.kpis, |k| k.agent_id.as_str());
    let mut agents = Vec::new();
    let mut escalations = Vec::new();
    let mut recommendations = Vec::new();
    for agent in portfolio.agents {
        let id = agent.agent_id.as_str();
        let snapshots: Vec<&Snapshot> = snapshots_of
            .get(id)
            .into_iter()
            .flatten()
            .copied()
            .filter(|s| s.snapshot_date <= as_of)
            .collect();
        let (snapshots, duplicate) = history(id, snapshots);
        problems.extend(duplicate);
        let values: Vec<&ValueRecord> =
            values_of.get(id).into_iter().flatten().copied().filter(|v| v.period_start <= as_of).collect();
        let reviews: Vec<&OwnershipReview> =
            reviews_of.get(id).into_iter().flatten().copied().filter(|r| r.review_date <= as_of).collect();
        let workflows: Vec<&Workflow> = workflows_of.get(id).cloned().unwrap_or_default();
        let own_workflows: Vec<Workflow> = workflows.iter().map(|w| (*w).clone()).collect();
        let own_signals: Vec<RiskSignal> =
            signals_of.get(id).into_iter().flatten().map(|s| (*s).clone()).collect();

        let (integration, flags) = integration_score(agent, &systems, config);
        let (leakage, value_findings) = value_leakage(&values, config);
        // Manual minutes: the latest value record's actual, else the latest snapshot's.
        let latest_value = values.iter().max_by_key(|v| v.period_start).copied();
        let manual = latest_value
            .and_then(|v| {
                v.actual
                    .manual_minutes_per_run
                    .map(|m| (m, Evidence::new("value_record", v.key(), "actual.manual_minutes_per_run", m)))
            })
            .or_else(|| {
                snapshots.last().map(|s| {
                    (
                        s.manual_minutes_per_run,
                        Evidence::new(
                            "snapshot",
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
                signals: &own_signals,
                workflows: &own_workflows,
                reviews: &reviews,
                manual_minutes: manual.as_ref().map(|(m, e)| (*m, e)),
                history: &snapshots,
                min_snapshots: config.trend_min_snapshots,
                as_of,
            },
            config,
        );
        let (min, threshold) = (config.trend_min_snapshots, config.trend_threshold_points);
        let trends = vec![
            trend("risk_score", &snapshots, |s| s.risk_score, true, threshold, min),
            trend("value_leakage_score", &snapshots, |s| s.value_leakage_score, true, threshold, min),
            trend("integration_score", &snapshots, |s| s.integration_score, false, threshold, min),
        ];
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
            "agent",
            id,
            "criticality",
            agent.criticality.map_or("absent".into(), |c| c.to_string()),
        );
        let roi = kpi_of.get(id).and_then(|k| k.first()).and_then(|k| k.kpis.roi_estimate_usd);
        if high && roi.is_some_and(|r| r < 0.0) {
            let mut evidence = vec![
                criticality.clone(),
                Evidence::new("kpi", id, "kpis.roi_estimate_usd", roi.unwrap_or_default()),
            ];
            evidence.extend(reviews.iter().filter(|r| r.review_outcome == ReviewOutcome::Escalated).map(
                |r| {
                    Evidence::new(
                        "ownership_review",
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
                        "workflow",
                        workflow.workflow_id.as_str(),
                        "failure_rate_7d",
                        workflow.failure_rate_7d,
                    ),
                    Evidence::new("workflow", workflow.workflow_id.as_str(), "human_in_the_loop", true),
                ],
            });
            recommendations.push(Recommendation {
                subject: workflow.workflow_id.to_string(),
                action: "reduce_human_in_the_loop",
                reason: format!("{}% failures need manual correction", workflow.failure_rate_7d),
                evidence: vec![Evidence::new(
                    "workflow",
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
                    "{id}: risk degrading ({:?} → {:?}) with no owner review in {} days",
                    trends[0].first, trends[0].last, config.owner_review_days_escalation
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
        for flag in &flags {
            if matches!(flag.kind, "auth_expiring" | "auth_expired" | "latency" | "schema_drift") {
                escalations.push(Escalation {
                    subject: flag.system.clone(),
                    rule: "dependency_health",
                    message: format!("{} (used by {id})", flag.message),
                    evidence: flag.evidence.clone(),
                });
            }
        }
        let costs = cost_up_roi_down(&snapshots);
        if costs >= 2 {
            let evidence: Vec<Evidence> = snapshots[snapshots.len() - costs - 1..]
                .iter()
                .map(|s| Evidence::new("snapshot", s.key(), "cost_usd_30d", s.cost_usd_30d))
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
                    .map(|s| Evidence::new("snapshot", s.key(), "failure_rate_7d", s.failure_rate_7d))
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

        agents.push(AgentAssessment {
            agent_id: id.to_owned(),
            name: agent.name.clone(),
            status: agent.status,
            criticality: agent.criticality,
            integration,
            risk,
            value_leakage: leakage,
            trends,
            flags,
            value_findings,
            hitl_cost_per_day: hitl_cost,
            failure_rate_7d: workflows.iter().map(|w| w.failure_rate_7d).reduce(f64::max),
            manual_minutes_per_run: manual.as_ref().map(|(m, _)| *m),
        });
    }

    // Systems to replace: expired credentials, uptime at the floor, or
    // latency twice the threshold.
    let dependents = Dependents::new(portfolio.agents, portfolio.workflows);
    let used: BTreeSet<&str> = dependents.systems().collect();
    let mut radii: Vec<BlastRadius> = used.iter().map(|s| dependents.radius(s)).collect();
    radii.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.system.cmp(&b.system)));
    for system in portfolio.systems.iter().filter(|s| used.contains(s.system_id.as_str())) {
        let id = system.system_id.as_str();
        let mut reasons = Vec::new();
        let mut evidence = Vec::new();
        if system.auth_status == Some(charter_model::AuthStatus::Expired) {
            reasons.push("credentials expired".to_owned());
            evidence.push(Evidence::new("system", id, "auth_status", "expired"));
        }
        if let Some(uptime) = system.uptime_30d.filter(|u| *u <= config.uptime_floor) {
            reasons.push(format!("uptime {uptime}%"));
            evidence.push(Evidence::new("system", id, "uptime_30d", uptime));
        }
        if let Some(latency) = system.latency_ms_p95.filter(|l| *l >= 2.0 * config.latency_threshold_ms) {
            reasons.push(format!("p95 latency {latency} ms"));
            evidence.push(Evidence::new("system", id, "latency_ms_p95", latency));
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
    Assessment {
        as_of,
        agents,
        risks: rank_risks(&signals, portfolio.workflows),
        systems: radii,
        escalations,
        recommendations,
        problems,
    }
}
