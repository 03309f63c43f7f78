//! The risk score of an agent (higher is worse): its open risk signals
//! weighed by severity, blast radius and the agent's criticality; the
//! failure rate of its workflows and its growth over the snapshots; its
//! dependence on humans in the loop;
//! and ownership friction (a stale owner review, open action items,
//! escalations). Also the portfolio-wide ranking of risk signals, where a
//! medium signal with a large blast radius outranks an isolated high one.

use charter_model::RecordKind;
use std::collections::BTreeMap;

use charter_model::{
    Agent, Criticality, Date, OwnershipReview, ReviewOutcome, RiskSignal, RiskStatus, Severity, Snapshot,
    Workflow,
};
use serde::Serialize;

use crate::config::Config;
use crate::evidence::{Component, Evidence, Score};

/// Points a signal of `severity` is worth before blast radius and criticality.
pub fn severity_points(severity: Severity) -> f64 {
    match severity {
        Severity::Low => 10.0,
        Severity::Medium => 25.0,
        Severity::High => 50.0,
        Severity::Critical => 80.0,
    }
}

fn criticality_factor(criticality: Option<Criticality>) -> f64 {
    match criticality {
        Some(Criticality::Low) => 0.5,
        Some(Criticality::Medium) | None => 0.75,
        Some(Criticality::High) => 1.0,
        Some(Criticality::Critical) => 1.25,
    }
}

/// A risk signal and its place in the portfolio.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RankedRisk {
    /// The signal.
    pub risk_id: String,
    /// Its agent.
    pub agent_id: String,
    /// Its severity.
    pub severity: Severity,
    /// Workflows it affects (its `affected_workflows`, else its agent's).
    pub affected_workflows: Vec<String>,
    /// Their number, at least 1.
    pub blast_radius: usize,
    /// Severity points × blast radius: the ranking key.
    pub priority: f64,
    /// The records read.
    pub evidence: Vec<Evidence>,
}

/// The open (or mitigating) signals ranked by severity × blast radius, then
/// id. A signal that names no workflows affects its agent's (from `workflows`).
pub fn rank_risks<'a>(
    signals: impl IntoIterator<Item = &'a RiskSignal>,
    workflows: impl IntoIterator<Item = &'a Workflow>,
) -> Vec<RankedRisk> {
    let mut workflows_of: BTreeMap<&str, Vec<&Workflow>> = BTreeMap::new();
    for workflow in workflows {
        workflows_of.entry(workflow.agent_id.as_str()).or_default().push(workflow);
    }
    let mut ranked: Vec<RankedRisk> = signals
        .into_iter()
        .filter(|s| s.status != RiskStatus::Resolved)
        .map(|signal| {
            let mut evidence = vec![Evidence::new(
                RecordKind::RiskSignal,
                signal.risk_id.as_str(),
                "severity",
                signal.severity,
            )];
            let affected: Vec<String> = if signal.affected_workflows.is_empty() {
                workflows_of
                    .get(signal.agent_id.as_str())
                    .into_iter()
                    .flatten()
                    .map(|w| {
                        evidence.push(Evidence::new(
                            RecordKind::Workflow,
                            w.workflow_id.as_str(),
                            "agent_id",
                            w.agent_id.as_str(),
                        ));
                        w.workflow_id.to_string()
                    })
                    .collect()
            } else {
                evidence.push(Evidence::new(
                    RecordKind::RiskSignal,
                    signal.risk_id.as_str(),
                    "affected_workflows",
                    signal.affected_workflows.len(),
                ));
                signal.affected_workflows.iter().map(ToString::to_string).collect()
            };
            let blast_radius = affected.len().max(1);
            RankedRisk {
                risk_id: signal.risk_id.to_string(),
                agent_id: signal.agent_id.to_string(),
                severity: signal.severity,
                priority: severity_points(signal.severity) * blast_radius as f64,
                affected_workflows: affected,
                blast_radius,
                evidence,
            }
        })
        .collect();
    ranked.sort_by(|a, b| b.priority.total_cmp(&a.priority).then_with(|| a.risk_id.cmp(&b.risk_id)));
    ranked
}

/// What the risk score of one agent reads.
#[derive(Debug, Clone, Copy)]
pub struct RiskInputs<'a> {
    /// The agent.
    pub agent: &'a Agent,
    /// Risk signals (those of other agents are not read).
    pub signals: &'a [&'a RiskSignal],
    /// Workflows (those of other agents are not read).
    pub workflows: &'a [&'a Workflow],
    /// The agent's owner reviews.
    pub reviews: &'a [&'a OwnershipReview],
    /// Manual minutes per run when the workflows do not say, with the record
    /// it comes from (the latest snapshot or value record).
    pub manual_minutes: Option<(f64, &'a Evidence)>,
    /// The agent's snapshots in date order, for the failure-rate trend.
    pub history: &'a [&'a Snapshot],
    /// Snapshots a trend needs.
    pub min_snapshots: usize,
    /// The day assessed.
    pub as_of: Date,
}

/// The risk score of one agent.
pub fn risk_score(inputs: &RiskInputs<'_>, config: &Config) -> Score {
    let weights = &config.risk;
    let agent = inputs.agent;
    let factor = criticality_factor(agent.criticality);
    let ranked = rank_risks(
        inputs.signals.iter().copied().filter(|s| s.agent_id == agent.agent_id),
        inputs.workflows.iter().copied(),
    );
    let signal_points: f64 = ranked.iter().map(|r| r.priority * factor).sum();
    let signals = Component::new(
        "signals",
        weights.signals,
        signal_points,
        format!(
            "{} open signal(s), severity × blast radius × criticality {factor}: {}",
            ranked.len(),
            ranked
                .iter()
                .map(|r| format!("{} {}×{}", r.risk_id, severity_points(r.severity), r.blast_radius))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        ranked.iter().flat_map(|r| r.evidence.clone()).collect(),
    );

    let flows: Vec<&Workflow> =
        inputs.workflows.iter().copied().filter(|w| w.agent_id == agent.agent_id).collect();
    let worst = flows.iter().max_by(|a, b| a.failure_rate_7d.total_cmp(&b.failure_rate_7d));
    let failure = failure_component(worst.copied(), inputs, config);
    let hitl_flows: Vec<&&Workflow> = flows.iter().filter(|w| w.human_in_the_loop).collect();
    let hitl = if hitl_flows.is_empty() {
        Component::new("hitl", weights.hitl, 0.0, "no workflow has a human in the loop".into(), Vec::new())
    } else {
        let mut evidence: Vec<Evidence> = hitl_flows
            .iter()
            .map(|w| Evidence::new(RecordKind::Workflow, w.workflow_id.as_str(), "human_in_the_loop", true))
            .collect();
        let minutes = hitl_flows
            .iter()
            .filter_map(|w| w.manual_minutes_per_run)
            .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
        let minutes = match (minutes, inputs.manual_minutes) {
            (Some(m), _) => m,
            (None, Some((m, source))) => {
                evidence.push(source.clone());
                m
            }
            (None, None) => config.hitl_minutes_full / 2.0,
        };
        Component::new(
            "hitl",
            weights.hitl,
            minutes / config.hitl_minutes_full * 100.0,
            format!(
                "human in the loop, {minutes} manual minutes per run ({} is the full penalty)",
                config.hitl_minutes_full
            ),
            evidence,
        )
    };

    let mut evidence = Vec::new();
    let last = inputs.reviews.iter().max_by_key(|r| r.review_date);
    let days = last.map(|r| inputs.as_of.days_since(r.review_date));
    let mut penalty = match days {
        Some(days) => days as f64 / config.owner_review_days_full * 100.0,
        None => 100.0,
    };
    if let Some(review) = last {
        evidence.push(Evidence::new(
            RecordKind::OwnershipReview,
            review.review_id.as_str(),
            "review_date",
            review.review_date,
        ));
        if review.action_required {
            penalty += config.points_per_open_action * review.action_items.len() as f64;
            evidence.push(Evidence::new(
                RecordKind::OwnershipReview,
                review.review_id.as_str(),
                "action_items",
                review.action_items.len(),
            ));
        }
    }
    let escalations: Vec<&&OwnershipReview> =
        inputs.reviews.iter().filter(|r| r.review_outcome == ReviewOutcome::Escalated).collect();
    for review in &escalations {
        evidence.push(Evidence::new(
            RecordKind::OwnershipReview,
            review.review_id.as_str(),
            "review_outcome",
            review.review_outcome,
        ));
    }
    penalty += config.points_per_escalation * escalations.len() as f64;
    let ownership = Component::new(
        "ownership_friction",
        weights.ownership_friction,
        penalty,
        match (last, days) {
            (Some(review), Some(days)) => format!(
                "last owner review {} ({days} days before {}), {} open action item(s), {} escalation(s)",
                review.review_date,
                inputs.as_of,
                if review.action_required { review.action_items.len() } else { 0 },
                escalations.len()
            ),
            _ => "no owner review on record".into(),
        },
        evidence,
    );
    Score::sum(vec![signals, failure, hitl, ownership])
}

/// The failure-rate component: the worst workflow's 7-day rate against the
/// rate that costs the full penalty, or — when it is worse — the growth of
/// the failure rate over the snapshots (first to last, in percent of the
/// first, at least 1%: doubling costs the full penalty).
fn failure_component(worst: Option<&Workflow>, inputs: &RiskInputs<'_>, config: &Config) -> Component {
    let weight = config.risk.failure_rate;
    let rate = worst.map(|w| {
        (
            w.failure_rate_7d / config.failure_rate_full * 100.0,
            format!(
                "{}: {}% over 7 days ({}% is the full penalty)",
                w.workflow_id, w.failure_rate_7d, config.failure_rate_full
            ),
            Evidence::new(RecordKind::Workflow, w.workflow_id.as_str(), "failure_rate_7d", w.failure_rate_7d),
        )
    });
    let history = inputs.history;
    let growth = match history {
        [first, .., last] if history.len() >= inputs.min_snapshots.max(2) => {
            let (from, to) = (first.failure_rate_7d, last.failure_rate_7d);
            let growth = (to - from) / from.max(1.0) * 100.0;
            Some((
                growth,
                format!("failure rate {from}% → {to}% over {} snapshots ({growth:+.0}%)", history.len()),
                [first, last].map(|s| {
                    Evidence::new(RecordKind::Snapshot, s.key(), "failure_rate_7d", s.failure_rate_7d)
                }),
            ))
        }
        _ => None,
    };
    match (rate, growth) {
        (Some((penalty, detail, evidence)), Some((growth, trend, ends))) => {
            let mut all = vec![evidence];
            all.extend(ends);
            if growth > penalty {
                Component::new("failure_rate", weight, growth, format!("{trend}; {detail}"), all)
            } else {
                Component::new("failure_rate", weight, penalty, format!("{detail}; {trend}"), all)
            }
        }
        (Some((penalty, detail, evidence)), None) => {
            Component::new("failure_rate", weight, penalty, detail, vec![evidence])
        }
        (None, Some((growth, trend, ends))) => {
            Component::new("failure_rate", weight, growth, trend, ends.to_vec())
        }
        (None, None) => Component::new("failure_rate", weight, 0.0, "no workflow".into(), Vec::new()),
    }
}

/// The cost of humans in the loop per day: invocations × manual minutes per
/// run × the hourly rate, in USD (to cents).
pub fn hitl_cost_per_day(daily_invocations: u64, manual_minutes_per_run: f64, hourly_rate: f64) -> f64 {
    let cost = daily_invocations as f64 * manual_minutes_per_run / 60.0 * hourly_rate;
    if cost.is_finite() { (cost * 100.0).round() / 100.0 } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signal(id: &str, severity: &str, affected: &[&str]) -> RiskSignal {
        serde_json::from_value(serde_json::json!({
            "risk_id": id, "agent_id": "agent_x_01", "risk_type": "integration", "severity": severity,
            "signal": "s", "detected_at": "2025-01-10T14:22:00Z", "affected_workflows": affected
        }))
        .unwrap()
    }

    #[test]
    fn a_wide_medium_risk_outranks_an_isolated_high_one() {
        let signals = [
            signal("risk_high", "high", &["wf_a"]),
            signal("risk_wide", "medium", &["wf_a", "wf_b", "wf_c"]),
        ];
        let ranked = rank_risks(&signals, &[]);
        let order: Vec<&str> = ranked.iter().map(|r| r.risk_id.as_str()).collect();
        assert_eq!(order, ["risk_wide", "risk_high"]);
        assert_eq!((ranked[0].priority, ranked[1].priority), (75.0, 50.0));
    }

    #[test]
    fn hitl_cost_is_invocations_times_minutes_times_rate() {
        assert_eq!(hitl_cost_per_day(150, 6.0, 60.0), 900.0);
        assert_eq!(hitl_cost_per_day(0, f64::NAN, 60.0), 0.0);
    }
}
