//! The value-leakage score of an agent: how far its value falls short of
//! what was expected — ROI below expectation, cost over it, and manual
//! minutes per run growing. Higher is worse.

use charter_model::RecordKind;
use charter_model::ValueRecord;
use serde::Serialize;

use crate::config::Config;
use crate::evidence::{Component, Evidence, Score};

/// A finding about an agent's value, with its records.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ValueFinding {
    /// `roi_below_expectation`, `negative_roi`, `cost_overrun`, `manual_growth`,
    /// `no_owner_signoff` or `automation_debt`.
    pub kind: &'static str,
    /// What was found.
    pub message: String,
    /// The records it rests on.
    pub evidence: Vec<Evidence>,
}

/// How far `actual` falls short of `expected` (both money), as a penalty:
/// the shortfall as a percent of the expectation, or, when nothing positive
/// was expected, 100 for any shortfall at all (never a division by zero).
fn shortfall(expected: f64, actual: f64) -> f64 {
    if actual >= expected {
        0.0
    } else if expected > 0.0 {
        (expected - actual) / expected * 100.0
    } else {
        100.0
    }
}

/// The value-leakage score of one agent from its value records (any
/// order): the latest period against its expectation, and manual minutes
/// from the first period to the latest.
pub fn value_leakage(records: &[&ValueRecord], config: &Config) -> (Score, Vec<ValueFinding>) {
    let weights = &config.value;
    let mut sorted: Vec<&ValueRecord> = records.to_vec();
    sorted.sort_by_key(|r| (r.period_start, r.period_end));
    let mut findings = Vec::new();
    let Some(latest) = sorted.last() else {
        let none = |name, weight| {
            Component::new(name, weight, 0.0, "no expected-vs-actual value record".into(), Vec::new())
        };
        let components = vec![
            none("roi_shortfall", weights.roi_shortfall),
            none("cost_overrun", weights.cost_overrun),
            none("manual_growth", weights.manual_growth),
        ];
        return (Score::sum(components), findings);
    };
    let key = latest.key();
    let field = |field: &'static str, value: Option<f64>| {
        Evidence::new(
            RecordKind::ValueRecord,
            key.clone(),
            field,
            value.map_or_else(|| "absent".to_owned(), |v| v.to_string()),
        )
    };

    let roi = match (latest.expected.roi_usd, latest.actual.roi_usd) {
        (Some(expected), Some(actual)) => {
            let evidence =
                vec![field("expected.roi_usd", Some(expected)), field("actual.roi_usd", Some(actual))];
            if actual < expected {
                findings.push(ValueFinding {
                    kind: if actual < 0.0 { "negative_roi" } else { "roi_below_expectation" },
                    message: format!(
                        "{}: ROI {actual} USD against {expected} expected ({key})",
                        latest.agent_id
                    ),
                    evidence: evidence.clone(),
                });
            }
            Component::new(
                "roi_shortfall",
                weights.roi_shortfall,
                shortfall(expected, actual),
                format!("{actual} USD actual against {expected} expected"),
                evidence,
            )
        }
        (expected, actual) => Component::new(
            "roi_shortfall",
            weights.roi_shortfall,
            0.0,
            "ROI expectation or actual missing".into(),
            vec![field("expected.roi_usd", expected), field("actual.roi_usd", actual)],
        ),
    };

    let cost = match (latest.expected.cost_usd, latest.actual.cost_usd) {
        (Some(expected), Some(actual)) => {
            let evidence =
                vec![field("expected.cost_usd", Some(expected)), field("actual.cost_usd", Some(actual))];
            let overrun = if expected > 0.0 { (actual - expected) / expected * 100.0 } else { 0.0 };
            // Over a positive expectation, the overrun in percent; over
            // none, any cost at all is the full penalty.
            let penalty = if actual <= expected {
                0.0
            } else if expected > 0.0 {
                overrun
            } else {
                100.0
            };
            if actual > expected {
                findings.push(ValueFinding {
                    kind: "cost_overrun",
                    message: format!(
                        "{}: cost {actual} USD against {expected} expected (+{overrun:.0}%, {key})",
                        latest.agent_id
                    ),
                    evidence: evidence.clone(),
                });
            }
            Component::new(
                "cost_overrun",
                weights.cost_overrun,
                penalty,
                format!("{actual} USD against {expected} expected"),
                evidence,
            )
        }
        (expected, actual) => Component::new(
            "cost_overrun",
            weights.cost_overrun,
            0.0,
            "cost expectation or actual missing".into(),
            vec![field("expected.cost_usd", expected), field("actual.cost_usd", actual)],
        ),
    };

    let minutes: Vec<(&ValueRecord, f64)> =
        sorted.iter().filter_map(|r| r.actual.manual_minutes_per_run.map(|m| (*r, m))).collect();
    let manual = match (minutes.first(), minutes.last()) {
        (Some(&(first, from)), Some(&(last, to))) if minutes.len() >= 2 => {
            let evidence = vec![
                Evidence::new(RecordKind::ValueRecord, first.key(), "actual.manual_minutes_per_run", from),
                Evidence::new(RecordKind::ValueRecord, last.key(), "actual.manual_minutes_per_run", to),
            ];
            let growth = (to - from) / from.max(1.0) * 100.0;
            if to > from {
                findings.push(ValueFinding {
                    kind: "manual_growth",
                    message: format!(
                        "{}: manual minutes per run up from {from} to {to} ({} to {})",
                        latest.agent_id, first.period_start, last.period_start
                    ),
                    evidence: evidence.clone(),
                });
            }
            Component::new(
                "manual_growth",
                weights.manual_growth,
                growth.max(0.0),
                format!("{from} → {to} minutes per run ({} → {})", first.period_start, last.period_start),
                evidence,
            )
        }
        _ => Component::new(
            "manual_growth",
            weights.manual_growth,
            0.0,
            "fewer than two periods report manual minutes: insufficient history".into(),
            Vec::new(),
        ),
    };

    if !latest.owner_signoff {
        findings.push(ValueFinding {
            kind: "no_owner_signoff",
            message: format!(
                "{}: no owner signoff for {} to {}",
                latest.agent_id, latest.period_start, latest.period_end
            ),
            evidence: vec![Evidence::new(RecordKind::ValueRecord, key.clone(), "owner_signoff", false)],
        });
    }
    (Score::sum(vec![roi, cost, manual]), findings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(expected_roi: f64, actual_roi: f64, expected_cost: f64, actual_cost: f64) -> ValueRecord {
        serde_json::from_value(serde_json::json!({
            "period_start": "2024-12-01", "period_end": "2024-12-31", "agent_id": "agent_x_01",
            "expected": {"roi_usd": expected_roi, "cost_usd": expected_cost},
            "actual": {"roi_usd": actual_roi, "cost_usd": actual_cost}, "owner_signoff": true
        }))
        .unwrap()
    }

    #[test]
    fn zero_or_negative_expectations_never_divide_by_zero() {
        let config = Config::default();
        for (record, roi, cost) in [
            (record(0.0, -5.0, 0.0, 10.0), 100.0, 100.0),
            (record(0.0, 5.0, 0.0, 0.0), 0.0, 0.0),
            (record(-100.0, -50.0, -1.0, -2.0), 0.0, 0.0),
            (record(-100.0, -150.0, 100.0, 150.0), 100.0, 50.0),
        ] {
            let (score, _) = value_leakage(&[&record], &config);
            assert!(score.value.is_finite());
            let penalties: Vec<f64> = score.components.iter().map(|c| c.penalty).collect();
            assert_eq!(penalties[..2], [roi, cost], "{record:?}");
        }
    }
}
