//! Health signals per agent and time window, and the robust baseline each
//! signal is judged against.
//!
//! A window is `[from + i·length, from + (i+1)·length)`; a run counts in the
//! window its end falls in, a denied decision in the window of its time.
//! A window without runs has no latency, error or quality value (NaN), but
//! its counts (guardrail hits, redactions, tokens, cost) are zero.
//!
//! The baseline of a signal is the median and the MAD (median absolute
//! deviation) of its values in the windows before the ones judged: both
//! robust to the outliers they are meant to find, unlike a mean and a
//! standard deviation. It exists only after a minimum history of windows
//! with a value.

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use crate::runs::{Run, RunStatus};

/// A health signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    /// Median run duration, in milliseconds.
    LatencyP50,
    /// 95th percentile of run duration, in milliseconds.
    LatencyP95,
    /// Share of runs that failed.
    ErrorRate,
    /// Share of tool calls that failed.
    ToolFailureRate,
    /// Decisions denied to the agent.
    GuardrailHits,
    /// Redactions the safety filter made.
    Redactions,
    /// Input and output tokens.
    Tokens,
    /// Spend, in USD.
    CostUsd,
    /// Mean output-quality score.
    Quality,
}

impl Signal {
    /// Every signal, in the order of [`Signals::values`].
    pub const ALL: [Signal; 9] = [
        Signal::LatencyP50,
        Signal::LatencyP95,
        Signal::ErrorRate,
        Signal::ToolFailureRate,
        Signal::GuardrailHits,
        Signal::Redactions,
        Signal::Tokens,
        Signal::CostUsd,
        Signal::Quality,
    ];

    /// Its place in [`Signals::values`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// Its name, as in the configuration and the API.
    pub fn name(self) -> &'static str {
        match self {
            Signal::LatencyP50 => "latency_p50_ms",
            Signal::LatencyP95 => "latency_p95_ms",
            Signal::ErrorRate => "error_rate",
            Signal::ToolFailureRate => "tool_failure_rate",
            Signal::GuardrailHits => "guardrail_hits",
            Signal::Redactions => "redactions",
            Signal::Tokens => "tokens",
            Signal::CostUsd => "cost_usd",
            Signal::Quality => "quality",
        }
    }
}

/// The signals of one agent in one window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signals {
    /// Start of the window, in microseconds since the epoch.
    pub window_start_us: i64,
    /// Runs that ended in it.
    pub runs: u64,
    /// One value per [`Signal::ALL`]; NaN where there is none.
    pub values: [f64; 9],
    /// Tools, systems and datasets touched in the window.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub touched: BTreeSet<String>,
}

impl Signals {
    /// The value of `signal`, if the window has one.
    pub fn get(&self, signal: Signal) -> Option<f64> {
        let value = self.values[signal.index()];
        (!value.is_nan()).then_some(value)
    }

    fn empty(window_start_us: i64) -> Self {
        let mut values = [f64::NAN; 9];
        for signal in [Signal::GuardrailHits, Signal::Redactions, Signal::Tokens, Signal::CostUsd] {
            values[signal.index()] = 0.0;
        }
        Self { window_start_us, runs: 0, values, touched: BTreeSet::new() }
    }
}

/// What the windows are computed from.
#[derive(Debug, Clone, Copy)]
pub struct WindowInput<'a> {
    /// The runs.
    pub runs: &'a [Run],
    /// Decisions denied, as (agent, time in µs).
    pub denied: &'a [(&'a str, i64)],
    /// Values the safety filter redacted outside runs, as (agent, time in
    /// µs, count): they add to the window's redactions.
    pub redacted: &'a [(&'a str, i64, u64)],
    /// Start of the first window.
    pub from_us: i64,
    /// End of the last window (exclusive).
    pub to_us: i64,
    /// Length of a window (default five minutes).
    pub length_us: i64,
}

/// Five minutes, the default window.
pub const DEFAULT_WINDOW_US: i64 = 5 * 60 * 1_000_000;

/// Every agent's signals in every window of `input`, agents in name order,
/// windows in time order (each agent with every window, active or not).
/// Runs and denials outside `[from, to)` are left out.
pub fn windows(input: WindowInput<'_>) -> Vec<(String, Vec<Signals>)> {
    let length = input.length_us.max(1);
    let count = usize::try_from((input.to_us - input.from_us).max(0).div_euclid(length)).unwrap_or(0);
    let slot = |at: i64| -> Option<usize> {
        (at >= input.from_us && at < input.to_us).then(|| ((at - input.from_us) / length) as usize)
    };
    let mut agents: HashMap<&str, Vec<Vec<&Run>>> = HashMap::new();
    let mut denied: HashMap<&str, Vec<u64>> = HashMap::new();
    let mut redacted: HashMap<&str, Vec<u64>> = HashMap::new();
    for run in input.runs {
        if let Some(i) = slot(run.end_us).filter(|i| *i < count) {
            agents.entry(&run.agent_id).or_insert_with(|| vec![Vec::new(); count])[i].push(run);
        }
    }
    for (agent, at) in input.denied {
        if let Some(i) = slot(*at).filter(|i| *i < count) {
            agents.entry(agent).or_insert_with(|| vec![Vec::new(); count]);
            denied.entry(agent).or_insert_with(|| vec![0; count])[i] += 1;
        }
    }
    for (agent, at, values) in input.redacted {
        if let Some(i) = slot(*at).filter(|i| *i < count) {
            agents.entry(agent).or_insert_with(|| vec![Vec::new(); count]);
            redacted.entry(agent).or_insert_with(|| vec![0; count])[i] += *values;
        }
    }
    let mut names: Vec<&str> = agents.keys().copied().collect();
    names.sort_unstable();
    names
        .into_iter()
        .map(|agent| {
            let slots = &agents[agent];
            let hits = denied.get(agent);
            let series = (0..count)
                .map(|i| {
                    let mut signals = window(input.from_us + i as i64 * length, &slots[i]);
                    signals.values[Signal::GuardrailHits.index()] = hits.map_or(0.0, |h| h[i] as f64);
                    if let Some(filtered) = redacted.get(agent) {
                        signals.values[Signal::Redactions.index()] += filtered[i] as f64;
                    }
                    signals
                })
                .collect();
            (agent.to_owned(), series)
        })
        .collect()
}

fn window(start_us: i64, runs: &[&Run]) -> Signals {
    let mut signals = Signals::empty(start_us);
    if runs.is_empty() {
        return signals;
    }
    let mut durations: Vec<f64> = runs.iter().map(|run| run.duration_us() as f64 / 1_000.0).collect();
    durations.sort_unstable_by(f64::total_cmp);
    let (mut errors, mut calls, mut failures, mut redactions, mut tokens, mut cost) =
        (0_u64, 0_u64, 0_u64, 0_u64, 0_u64, 0.0);
    let (mut quality, mut rated) = (0.0, 0);
    for run in runs {
        errors += u64::from(run.status == RunStatus::Error);
        calls = calls.saturating_add(run.tool_calls);
        failures = failures.saturating_add(run.tool_failures);
        redactions = redactions.saturating_add(run.redactions);
        tokens = tokens.saturating_add(run.input_tokens.saturating_add(run.output_tokens));
        cost += run.cost_usd;
        if let Some(score) = run.quality {
            quality += score;
            rated += 1;
        }
        signals.touched.extend(run.tools.iter().chain(&run.datasets).cloned());
    }
    let n = runs.len();
    signals.runs = n as u64;
    let values = &mut signals.values;
    values[Signal::LatencyP50.index()] = percentile(&durations, 0.50);
    values[Signal::LatencyP95.index()] = percentile(&durations, 0.95);
    values[Signal::ErrorRate.index()] = errors as f64 / n as f64;
    values[Signal::ToolFailureRate.index()] =
        if calls > 0 { failures as f64 / calls as f64 } else { f64::NAN };
    values[Signal::Redactions.index()] = redactions as f64;
    values[Signal::Tokens.index()] = tokens as f64;
    values[Signal::CostUsd.index()] = cost;
    values[Signal::Quality.index()] = if rated > 0 { quality / rated as f64 } else { f64::NAN };
    signals
}

/// The nearest-rank percentile `p` of sorted, non-empty `values`.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// A signal's baseline.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// The median of the history.
    pub median: f64,
    /// The median absolute deviation from it.
    pub mad: f64,
    /// Windows with a value it was computed from.
    pub windows: usize,
}

/// The baseline of `history` (NaN values skipped), or `None` with fewer
/// than `min_history` values. `scratch` is reused between calls.
pub fn baseline(history: &[f64], min_history: usize, scratch: &mut Vec<f64>) -> Option<Baseline> {
    scratch.clear();
    scratch.extend(history.iter().copied().filter(|value| !value.is_nan()));
    if scratch.len() < min_history.max(1) {
        return None;
    }
    let windows = scratch.len();
    let median = median_of(scratch);
    for value in scratch.iter_mut() {
        *value = (*value - median).abs();
    }
    let mad = median_of(scratch);
    Some(Baseline { median, mad, windows })
}

/// The median of `values` (reordered), which is not empty.
fn median_of(values: &mut [f64]) -> f64 {
    let mid = values.len() / 2;
    let (_, upper, _) = values.select_nth_unstable_by(mid, f64::total_cmp);
    let upper = *upper;
    if values.len() % 2 == 1 {
        upper
    } else {
        let lower = values[..mid].iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (lower + upper) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runs::{PriceTable, runs};
    use crate::span::{SpanKind, SpanStatus, span};

    #[test]
    fn runs_and_denials_land_in_the_window_of_their_end() {
        let minute = 60_000_000;
        let mut spans = Vec::new();
        for (n, (start, end)) in [(0, 10_000), (0, 30_000), (minute, minute + 20_000)].into_iter().enumerate()
        {
            let mut s = span(n as u32 + 1, 1, "agent_a", start, end);
            if n == 1 {
                s.status = SpanStatus::Error;
            }
            spans.push(s);
        }
        let mut tool = span(1, 2, "agent_a", 1_000, 2_000);
        tool.kind = SpanKind::ExecuteTool;
        tool.tool = Some("crm".into());
        spans.push(tool);
        let runs = runs(&spans, &PriceTable::default());
        let denied = [("agent_a", 5), ("agent_b", minute + 1)];
        let series = windows(WindowInput {
            redacted: &[("agent_b", minute + 5, 3), ("agent_b", 10 * minute, 7)],
            runs: &runs,
            denied: &denied,
            from_us: 0,
            to_us: 3 * minute,
            length_us: minute,
        });
        assert_eq!(
            series.iter().map(|(a, w)| (a.as_str(), w.len())).collect::<Vec<_>>(),
            [("agent_a", 3), ("agent_b", 3)]
        );
        let a = &series[0].1;
        assert_eq!(a[0].runs, 2);
        assert_eq!(a[0].get(Signal::LatencyP50), Some(10.0));
        assert_eq!(a[0].get(Signal::LatencyP95), Some(30.0));
        assert_eq!(a[0].get(Signal::ErrorRate), Some(0.5));
        assert_eq!(a[0].get(Signal::ToolFailureRate), Some(0.0));
        assert_eq!(a[0].get(Signal::GuardrailHits), Some(1.0));
        assert!(a[0].touched.contains("crm"));
        assert_eq!(a[1].get(Signal::LatencyP50), Some(20.0));
        assert_eq!(a[2].runs, 0);
        assert_eq!(a[2].get(Signal::LatencyP50), None);
        assert_eq!(a[2].get(Signal::Tokens), Some(0.0));
        assert_eq!(series[1].1[1].get(Signal::GuardrailHits), Some(1.0));
        // The filter's redactions count in their window; one outside the
        // period is left out.
        assert_eq!(series[1].1[1].get(Signal::Redactions), Some(3.0));
        assert_eq!(series[1].1[2].get(Signal::Redactions), Some(0.0));
    }

    #[test]
    fn the_baseline_is_the_median_and_mad_and_needs_a_history() {
        let mut scratch = Vec::new();
        let history = [1.0, 2.0, f64::NAN, 3.0, 4.0, 100.0];
        let b = baseline(&history, 3, &mut scratch).unwrap();
        assert_eq!((b.median, b.mad, b.windows), (3.0, 1.0, 5));
        let even = baseline(&[1.0, 2.0, 3.0, 4.0], 1, &mut scratch).unwrap();
        assert_eq!((even.median, even.mad), (2.5, 1.0));
        assert_eq!(baseline(&[1.0, f64::NAN], 2, &mut scratch), None);
    }
}
