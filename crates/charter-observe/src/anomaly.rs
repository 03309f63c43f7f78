//! Anomalies: the rules of the agent operations framework ("auto-page on
//! unusual access patterns, elevated redaction counts, or divergence from
//! baseline output quality"), each with a reason id and its evidence.
//!
//! The last [`AnomalyConfig::consecutive`] windows of an agent's series are
//! judged against the baseline of the windows before them. A value is
//! beyond its baseline when it is more than `k` robust deviations away:
//! `|x − median| > k · max(1.4826 · MAD, floor)`, where the floor (a share of
//! the median, and an absolute minimum per signal) keeps a perfectly steady
//! history from paging on the first wobble. Higher is worse for every signal
//! but quality, where lower is.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::health::{Baseline, Signal, Signals, baseline};

/// Reason ids of anomalies.
pub mod reason {
    /// A signal beyond its baseline for N consecutive windows.
    pub const BEYOND_BASELINE: &str = "anomaly:signal-beyond-baseline";
    /// A burst of denied decisions.
    pub const DENIED_BURST: &str = "anomaly:denied-burst";
    /// Redactions above the agent's baseline.
    pub const REDACTIONS_ELEVATED: &str = "anomaly:redactions-elevated";
    /// Output quality below the agent's baseline.
    pub const QUALITY_DIVERGENCE: &str = "anomaly:quality-divergence";
    /// A tool, system or dataset the agent never touched in its baseline.
    pub const NEW_ACCESS: &str = "anomaly:new-access";
}

/// How anomalies are judged.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnomalyConfig {
    /// Windows judged, each of which must be beyond the baseline (N).
    pub consecutive: usize,
    /// Windows with a value the baseline needs before it judges.
    pub min_history: usize,
    /// Robust deviations from the median that count as beyond.
    pub k: f64,
    /// The smallest spread, as a share of the median.
    pub min_relative_spread: f64,
    /// Denied decisions in one window below which no burst is reported.
    pub min_denied_burst: f64,
    /// Redactions in one window below which none is elevated.
    pub min_redactions: f64,
    /// Runs in the judged windows below which no new access is reported
    /// (0: any).
    pub min_runs_for_access: u64,
}

impl Default for AnomalyConfig {
    fn default() -> Self {
        Self {
            consecutive: 3,
            min_history: 12,
            k: 3.0,
            min_relative_spread: 0.1,
            min_denied_burst: 5.0,
            min_redactions: 3.0,
            min_runs_for_access: 0,
        }
    }
}

/// The evidence behind an anomaly.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evidence {
    /// The values observed in the judged windows.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub observed: Vec<f64>,
    /// The baseline they were judged against.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<Baseline>,
    /// The value beyond which a window counts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// Starts of the judged windows.
    pub windows: Vec<i64>,
    /// Runs in the judged windows.
    pub runs: u64,
    /// For new access: what was touched that the baseline never touched.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub new_targets: Vec<String>,
}

/// One anomaly of one agent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Anomaly {
    /// Its reason id ([`reason`]).
    pub reason: &'static str,
    /// The agent.
    pub agent_id: String,
    /// The signal, where one is behind it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal: Option<Signal>,
    /// One sentence for the page.
    pub summary: String,
    /// What it rests on.
    pub evidence: Evidence,
}

/// The smallest spread of a signal, whatever its history.
fn absolute_floor(signal: Signal) -> f64 {
    match signal {
        Signal::LatencyP50 | Signal::LatencyP95 => 50.0,
        Signal::ErrorRate | Signal::ToolFailureRate => 0.05,
        Signal::GuardrailHits | Signal::Redactions => 1.0,
        Signal::Tokens => 100.0,
        Signal::CostUsd => 0.01,
        Signal::Quality => 0.05,
    }
}

/// The anomalies of one agent's `series` (its windows in time order).
/// `scratch` is reused between calls.
pub fn detect(
    agent_id: &str,
    series: &[Signals],
    config: &AnomalyConfig,
    scratch: &mut Vec<f64>,
) -> Vec<Anomaly> {
    let judged_len = config.consecutive.max(1);
    if series.len() <= judged_len {
        return Vec::new();
    }
    let (history, judged) = series.split_at(series.len() - judged_len);
    let windows: Vec<i64> = judged.iter().map(|w| w.window_start_us).collect();
    let runs: u64 = judged.iter().map(|w| w.runs).sum();
    let mut anomalies = Vec::new();
    let mut values = Vec::with_capacity(history.len());
    for signal in Signal::ALL {
        values.clear();
        values.extend(history.iter().map(|w| w.values[signal.index()]));
        let Some(base) = baseline(&values, config.min_history, scratch) else { continue };
        let spread = (1.4826 * base.mad)
            .max(config.min_relative_spread * base.median.abs())
            .max(absolute_floor(signal));
        let lower_is_worse = signal == Signal::Quality;
        let threshold =
            if lower_is_worse { base.median - config.k * spread } else { base.median + config.k * spread };
        let observed: Vec<f64> = judged.iter().map(|w| w.values[signal.index()]).collect();
        let beyond = |x: &f64| !x.is_nan() && if lower_is_worse { *x < threshold } else { *x > threshold };
        let (reason, all_needed, minimum) = match signal {
            Signal::GuardrailHits => (reason::DENIED_BURST, false, config.min_denied_burst),
            Signal::Redactions => (reason::REDACTIONS_ELEVATED, false, config.min_redactions),
            Signal::Quality => (reason::QUALITY_DIVERGENCE, true, f64::NEG_INFINITY),
            _ => (reason::BEYOND_BASELINE, true, f64::NEG_INFINITY),
        };
        // A burst is one window; a drift is every judged window.
        let fires = if all_needed {
            observed.iter().all(beyond)
        } else {
            observed.last().is_some_and(|x| beyond(x) && *x >= minimum)
        };
        if !fires {
            continue;
        }
        let shown: Vec<String> = observed.iter().map(|x| format!("{x:.3}")).collect();
        let direction = if lower_is_worse { "below" } else { "above" };
        let summary = if all_needed {
            format!(
                "{agent_id}: {} {direction} its baseline (median {:.3}) in {} consecutive windows: {}",
                signal.name(),
                base.median,
                judged.len(),
                shown.join(", ")
            )
        } else {
            format!(
                "{agent_id}: {} {} in the last window, baseline median {:.3}",
                shown.last().map_or("", String::as_str),
                signal.name(),
                base.median
            )
        };
        anomalies.push(Anomaly {
            reason,
            agent_id: agent_id.to_owned(),
            signal: Some(signal),
            summary,
            evidence: Evidence {
                observed,
                baseline: Some(base),
                threshold: Some(threshold),
                windows: windows.clone(),
                runs,
                new_targets: Vec::new(),
            },
        });
    }
    // Unusual access: a target touched now that the baseline never touched.
    if history.len() >= config.min_history && runs >= config.min_runs_for_access.max(1) {
        let known: BTreeSet<&String> = history.iter().flat_map(|w| &w.touched).collect();
        let new: BTreeSet<&String> =
            judged.iter().flat_map(|w| &w.touched).filter(|t| !known.contains(t)).collect();
        if !new.is_empty() {
            let new_targets: Vec<String> = new.into_iter().cloned().collect();
            anomalies.push(Anomaly {
                reason: reason::NEW_ACCESS,
                agent_id: agent_id.to_owned(),
                signal: None,
                summary: format!(
                    "{agent_id} touched what it never touched in its baseline: {}",
                    new_targets.join(", ")
                ),
                evidence: Evidence {
                    observed: Vec::new(),
                    baseline: None,
                    threshold: None,
                    windows,
                    runs,
                    new_targets,
                },
            });
        }
    }
    anomalies
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A steady agent: `n` windows of two runs at about 200 ms, 2% errors,
    /// one redaction now and then, quality about 0.9.
    fn steady(n: usize) -> Vec<Signals> {
        (0..n)
            .map(|i| {
                let wobble = (i % 5) as f64;
                let mut values = [0.0; 9];
                values[Signal::LatencyP50.index()] = 200.0 + wobble * 4.0;
                values[Signal::LatencyP95.index()] = 400.0 + wobble * 8.0;
                values[Signal::ErrorRate.index()] = 0.02;
                values[Signal::ToolFailureRate.index()] = 0.01;
                values[Signal::GuardrailHits.index()] = (i % 3 == 0) as u8 as f64;
                values[Signal::Redactions.index()] = (i % 4 == 0) as u8 as f64;
                values[Signal::Tokens.index()] = 2_000.0 + wobble * 50.0;
                values[Signal::CostUsd.index()] = 0.02;
                values[Signal::Quality.index()] = 0.9 - wobble * 0.005;
                Signals {
                    window_start_us: i as i64 * 300_000_000,
                    runs: 2,
                    values,
                    touched: ["crm".to_owned()].into(),
                }
            })
            .collect()
    }

    #[test]
    fn a_steady_agent_raises_nothing() {
        let mut scratch = Vec::new();
        assert!(detect("agent_a", &steady(288), &AnomalyConfig::default(), &mut scratch).is_empty());
    }

    #[test]
    fn a_drift_must_last_n_windows_and_a_burst_one() {
        let config = AnomalyConfig::default();
        let mut scratch = Vec::new();
        let mut series = steady(60);
        let n = series.len();
        // Latency triples in the last two windows only: not yet.
        for window in &mut series[n - 2..] {
            window.values[Signal::LatencyP95.index()] = 1_500.0;
        }
        assert!(detect("agent_a", &series, &config, &mut scratch).is_empty());
        // And in the third: a drift, with its evidence.
        series[n - 3].values[Signal::LatencyP95.index()] = 1_400.0;
        let found = detect("agent_a", &series, &config, &mut scratch);
        assert_eq!(found.len(), 1, "{found:?}");
        let anomaly = &found[0];
        assert_eq!((anomaly.reason, anomaly.signal), (reason::BEYOND_BASELINE, Some(Signal::LatencyP95)));
        assert_eq!(anomaly.evidence.observed, vec![1_400.0, 1_500.0, 1_500.0]);
        let baseline = anomaly.evidence.baseline.unwrap();
        assert_eq!((baseline.median, baseline.windows), (416.0, 57));
        assert!(anomaly.evidence.threshold.unwrap() < 1_400.0);
        assert_eq!(anomaly.evidence.windows.len(), 3);
        assert!(anomaly.summary.contains("latency_p95_ms above its baseline"), "{}", anomaly.summary);

        // Denials and redactions page on one window, above their minimum.
        let mut series = steady(60);
        series[n - 1].values[Signal::GuardrailHits.index()] = 4.0;
        assert!(detect("agent_a", &series, &config, &mut scratch).is_empty(), "below the minimum burst");
        series[n - 1].values[Signal::GuardrailHits.index()] = 9.0;
        series[n - 1].values[Signal::Redactions.index()] = 12.0;
        let reasons: Vec<&str> =
            detect("agent_a", &series, &config, &mut scratch).iter().map(|a| a.reason).collect();
        assert_eq!(reasons, [reason::DENIED_BURST, reason::REDACTIONS_ELEVATED]);
    }

    #[test]
    fn quality_pages_when_it_falls_and_access_when_it_is_new() {
        let config = AnomalyConfig::default();
        let mut scratch = Vec::new();
        let mut series = steady(40);
        let n = series.len();
        for window in &mut series[n - 3..] {
            window.values[Signal::Quality.index()] = 0.5;
        }
        series[n - 1].touched.insert("hr_payroll".into());
        let found = detect("agent_a", &series, &config, &mut scratch);
        let reasons: Vec<&str> = found.iter().map(|a| a.reason).collect();
        assert_eq!(reasons, [reason::QUALITY_DIVERGENCE, reason::NEW_ACCESS]);
        assert_eq!(found[1].evidence.new_targets, vec!["hr_payroll".to_owned()]);
        // Higher quality is no anomaly.
        for window in &mut series[n - 3..] {
            window.values[Signal::Quality.index()] = 1.0;
            window.touched.remove("hr_payroll");
        }
        assert!(detect("agent_a", &series, &config, &mut scratch).is_empty());
    }

    #[test]
    fn without_enough_history_nothing_is_judged() {
        let mut series = steady(10);
        for window in &mut series[7..] {
            window.values[Signal::LatencyP95.index()] = 9_999.0;
            window.touched.insert("new_system".into());
        }
        assert!(detect("agent_a", &series, &AnomalyConfig::default(), &mut Vec::new()).is_empty());
    }
}
