//! `charter-bench health`: health evaluation and anomaly detection for many
//! agents over a day of windows (issue 15's target: 10,000 agents × 288
//! five-minute windows in at most 1 s).

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use charter_observe::{AnomalyConfig, Signal, Signals, detect};

/// A deterministic day of windows for agent `agent`: steady signals with a
/// wobble, and for one agent in fifty a latency drift in its last windows.
fn series(agent: usize, windows: usize) -> Vec<Signals> {
    (0..windows)
        .map(|i| {
            let wobble = ((agent * 31 + i * 17) % 11) as f64;
            let drifting = agent.is_multiple_of(50) && i + 3 >= windows;
            let mut values = [0.0; 9];
            values[Signal::LatencyP50.index()] = 180.0 + wobble * 5.0;
            values[Signal::LatencyP95.index()] = if drifting { 2_000.0 } else { 400.0 + wobble * 10.0 };
            values[Signal::ErrorRate.index()] = 0.01 * (wobble / 10.0);
            values[Signal::ToolFailureRate.index()] = 0.02;
            values[Signal::GuardrailHits.index()] = (i % 7 == 0) as u8 as f64;
            values[Signal::Redactions.index()] = (i % 9 == 0) as u8 as f64;
            values[Signal::Tokens.index()] = 3_000.0 + wobble * 40.0;
            values[Signal::CostUsd.index()] = 0.03 + wobble * 0.001;
            values[Signal::Quality.index()] = 0.9 - wobble * 0.002;
            Signals { window_start_us: i as i64 * 300_000_000, runs: 3, values, touched: Default::default() }
        })
        .collect()
}

pub(crate) fn health(agents: usize, windows: usize, rounds: usize) -> Result<ExitCode> {
    let started = Instant::now();
    let day: Vec<(String, Vec<Signals>)> =
        (0..agents).map(|agent| (format!("agent_{agent:05}"), series(agent, windows))).collect();
    println!(
        "health: {agents} agents × {windows} windows generated in {:.3} s",
        started.elapsed().as_secs_f64()
    );
    let config = AnomalyConfig::default();
    let mut times = Vec::new();
    let mut found = 0;
    for _ in 0..rounds.max(1) {
        let t = Instant::now();
        let mut scratch = Vec::new();
        found = day.iter().map(|(agent, series)| detect(agent, series, &config, &mut scratch).len()).sum();
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    println!(
        "health: baselines of 9 signals and every anomaly rule for {agents} agents × {windows} windows: median {:.3} s of {} round(s) (target 1 s); {found} anomalies (expected {})",
        times[times.len() / 2],
        times.len(),
        agents.div_ceil(50)
    );
    Ok(ExitCode::SUCCESS)
}
