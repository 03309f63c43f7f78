//! Trends from snapshots: a metric's direction over an agent's snapshot
//! history, labelled improving, stable or degrading against a threshold, or
//! "insufficient history" when there are too few snapshots — never a
//! fabricated trend.

use charter_model::RecordKind;
use std::collections::BTreeMap;

use charter_model::{Date, KpiRecord, Snapshot};
use serde::Serialize;

use crate::evidence::{Evidence, round1};

/// The direction of a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Label {
    /// Moved the good way by at least the threshold.
    Improving,
    /// Moved less than the threshold.
    Stable,
    /// Moved the bad way by at least the threshold.
    Degrading,
    /// Fewer snapshots than a trend needs.
    InsufficientHistory,
}

/// A metric's trend over an agent's snapshots.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trend {
    /// The metric, e.g. `risk_score`.
    pub metric: &'static str,
    /// Its label.
    pub label: Label,
    /// Snapshots it was computed from.
    pub snapshots: usize,
    /// The first and last values, when there are any.
    pub first: Option<f64>,
    /// The last value.
    pub last: Option<f64>,
    /// last − first.
    pub change: Option<f64>,
    /// The snapshots read.
    pub evidence: Vec<Evidence>,
    /// For a KPI figure given with its previous value: the days between
    /// the two (the window its `prev_<N>d` names).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window_days: Option<u32>,
}

/// An agent's snapshots in date order, one per date; the second snapshot
/// for a date is dropped and reported.
pub fn history<'a>(
    agent: &str,
    snapshots: impl IntoIterator<Item = &'a Snapshot>,
) -> (Vec<&'a Snapshot>, Vec<String>) {
    let mut by_date: BTreeMap<Date, &Snapshot> = BTreeMap::new();
    let mut problems = Vec::new();
    for snapshot in snapshots.into_iter().filter(|s| s.agent_id.as_str() == agent) {
        if by_date.insert(snapshot.snapshot_date, snapshot).is_some() {
            problems.push(format!(
                "{agent} has more than one snapshot for {}: the last one read is used",
                snapshot.snapshot_date
            ));
        }
    }
    (by_date.into_values().collect(), problems)
}

/// The trend of `metric` (read by `value`) over `history` (in date order):
/// `higher_is_worse` says which way is bad, `threshold` how far the last
/// value must be from the first for the trend not to be stable, and
/// `min_snapshots` how many a trend needs.
pub fn trend(
    metric: &'static str,
    history: &[&Snapshot],
    value: impl Fn(&Snapshot) -> f64,
    higher_is_worse: bool,
    threshold: f64,
    min_snapshots: usize,
) -> Trend {
    // A trend is read from its first and last snapshots: those are its evidence.
    let ends = match history {
        [] => Vec::new(),
        [only] => vec![*only],
        [first, .., last] => vec![*first, *last],
    };
    let evidence: Vec<Evidence> =
        ends.iter().map(|s| Evidence::new(RecordKind::Snapshot, s.key(), metric, value(s))).collect();
    let first = history.first().map(|s| value(s));
    let last = history.last().map(|s| value(s));
    let change = first.zip(last).map(|(a, b)| round1(b - a));
    let label = match change {
        _ if history.len() < min_snapshots.max(2) => Label::InsufficientHistory,
        Some(change) if change.is_finite() && change.abs() >= threshold => {
            if (change > 0.0) == higher_is_worse { Label::Degrading } else { Label::Improving }
        }
        _ => Label::Stable,
    };
    Trend { metric, label, snapshots: history.len(), first, last, change, evidence, window_days: None }
}

/// A metric's change over a window of days ending on the day assessed:
/// "Risk score has increased 22% over the last 30 days".
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WindowChange {
    /// The metric, e.g. `risk_score`.
    pub metric: &'static str,
    /// The window, in days, ending on the day assessed.
    pub window_days: u32,
    /// The first snapshot in the window: its date and value.
    pub from: (Date, f64),
    /// The last snapshot in the window: its date and value.
    pub to: (Date, f64),
    /// The change as a percent of the first value (none when it is 0).
    pub percent: Option<f64>,
    /// Snapshots in the window.
    pub snapshots: usize,
    /// How it reads: `increased`, `decreased` or `unchanged`.
    pub direction: &'static str,
    /// The sentence, e.g. "Risk score has increased 22% over the last 30
    /// days (51 on 2024-11-22 to 63 on 2024-12-20)".
    pub sentence: String,
    /// The first and last snapshots of the window.
    pub evidence: Vec<Evidence>,
}

/// The first and last of the snapshots of `history` (in date order) in the
/// `window_days` ending on `as_of`, and how many there are: none unless the
/// window holds `min_snapshots` (and at least two).
fn window<'a>(
    history: &[&'a Snapshot],
    as_of: Date,
    window_days: u32,
    min_snapshots: usize,
) -> Option<(&'a Snapshot, &'a Snapshot, usize)> {
    let start = as_of.plus_days(-i64::from(window_days))?;
    let inside = |s: &Snapshot| s.snapshot_date > start && s.snapshot_date <= as_of;
    let from = history.iter().position(|s| inside(s))?;
    let count = history[from..].iter().take_while(|s| inside(s)).count();
    (count >= min_snapshots.max(2)).then(|| (history[from], history[from + count - 1], count))
}

/// A KPI figure given with its previous value (`{"current": …,
/// "prev_<N>d": …}`): both values, the days between them, and the two
/// readings cited.
struct FigurePair {
    previous: f64,
    current: f64,
    days: u32,
    evidence: Vec<Evidence>,
}

fn figure_pair(kpi: &KpiRecord, figure: &'static str) -> Option<FigurePair> {
    let current = kpi.kpis.current(figure)?;
    let previous = kpi.kpis.previous.get(figure)?;
    let agent = kpi.agent_id.as_str();
    let evidence = vec![
        Evidence::new(RecordKind::Kpi, agent, figure, format!("prev_{}d {}", previous.days, previous.value)),
        Evidence::new(RecordKind::Kpi, agent, figure, format!("current {current}")),
    ];
    Some(FigurePair { previous: previous.value, current, days: previous.days, evidence })
}

/// How a metric is read from a snapshot.
pub type Read = fn(&Snapshot) -> f64;

/// The metrics a window change is stated for: (name, label, value).
pub const WINDOW_METRICS: [(&str, &str, Read); 5] = [
    ("risk_score", "Risk score", |s| s.risk_score),
    ("cost_usd_30d", "Cost (30 days)", |s| s.cost_usd_30d),
    ("roi_estimate_usd", "ROI", |s| s.roi_estimate_usd),
    ("failure_rate_7d", "Failure rate (7 days)", |s| s.failure_rate_7d),
    ("manual_minutes_per_run", "Manual minutes per run", |s| s.manual_minutes_per_run),
];

/// The change of each of [`WINDOW_METRICS`] over the `window_days` ending on
/// `as_of`, read from the agent's snapshots in that window (`history`, in
/// date order): stated only when the window holds `min_snapshots` or more.
pub fn window_changes(
    history: &[&Snapshot],
    as_of: Date,
    window_days: u32,
    min_snapshots: usize,
) -> Vec<WindowChange> {
    let Some((first, last, snapshots)) = window(history, as_of, window_days, min_snapshots) else {
        return Vec::new();
    };
    WINDOW_METRICS
        .iter()
        .map(|&(metric, label, value)| {
            let (a, b) = (value(first), value(last));
            let percent = (a != 0.0).then(|| round1((b - a) / a.abs() * 100.0));
            let direction = if b > a {
                "increased"
            } else if b < a {
                "decreased"
            } else {
                "unchanged"
            };
            let how_much = match (direction, percent) {
                ("unchanged", _) => String::new(),
                (_, Some(percent)) => format!(" {}%", round1(percent.abs())),
                (_, None) => format!(" by {}", round1((b - a).abs())),
            };
            let verb = if direction == "unchanged" {
                "has not changed".to_owned()
            } else {
                format!("has {direction}{how_much}")
            };
            let sentence = format!(
                "{label} {verb} over the last {window_days} days ({a} on {} to {b} on {})",
                first.snapshot_date, last.snapshot_date
            );
            WindowChange {
                metric,
                window_days,
                from: (first.snapshot_date, a),
                to: (last.snapshot_date, b),
                percent,
                snapshots,
                direction,
                sentence,
                evidence: vec![
                    Evidence::new(RecordKind::Snapshot, first.key(), metric, a),
                    Evidence::new(RecordKind::Snapshot, last.key(), metric, b),
                ],
            }
        })
        .collect()
}

/// "Automation debt is accumulating": manual minutes per run and the
/// invocations they multiply both rose over a window, so the hours people
/// spend correcting the agent grow on two counts.
///
/// Read from the agent's snapshots in the `window_days` ending on `as_of`
/// (at least `min_snapshots` of them, the first and last carrying
/// `daily_invocations`), else from its KPI record's `manual_minutes_per_run`
/// and `daily_invocations` given with their previous values. The finding
/// cites the two readings of each figure.
pub fn automation_debt(
    history: &[&Snapshot],
    kpi: Option<&KpiRecord>,
    as_of: Date,
    window_days: u32,
    min_snapshots: usize,
) -> Option<crate::value::ValueFinding> {
    let from_snapshots = window(history, as_of, window_days, min_snapshots).and_then(|(first, last, _)| {
        let (a, b) = first.daily_invocations.zip(last.daily_invocations)?;
        let cite =
            |s: &Snapshot, field, value: f64| Evidence::new(RecordKind::Snapshot, s.key(), field, value);
        let over =
            format!("over the last {window_days} days ({} to {})", first.snapshot_date, last.snapshot_date);
        Some((
            (first.manual_minutes_per_run, last.manual_minutes_per_run),
            (a as f64, b as f64),
            over,
            vec![
                cite(first, "manual_minutes_per_run", first.manual_minutes_per_run),
                cite(last, "manual_minutes_per_run", last.manual_minutes_per_run),
                cite(first, "daily_invocations", a as f64),
                cite(last, "daily_invocations", b as f64),
            ],
        ))
    });
    let from_kpis = || {
        let kpi = kpi?;
        let manual = figure_pair(kpi, "manual_minutes_per_run")?;
        let volume = figure_pair(kpi, "daily_invocations")?;
        let over = if manual.days == volume.days {
            format!("over the last {} days", manual.days)
        } else {
            format!("over the last {} and {} days", manual.days, volume.days)
        };
        let evidence = manual.evidence.into_iter().chain(volume.evidence).collect();
        Some(((manual.previous, manual.current), (volume.previous, volume.current), over, evidence))
    };
    let (manual, volume, over, evidence) = from_snapshots.or_else(from_kpis)?;
    (manual.1 > manual.0 && volume.1 > volume.0).then(|| crate::value::ValueFinding {
        kind: "automation_debt",
        message: format!(
            "Automation debt is accumulating: manual minutes per run rose from {} to {} while daily invocations rose from {} to {} {over}",
            manual.0, manual.1, volume.0, volume.1
        ),
        evidence,
    })
}

/// KPI figures whose good direction is known, and whether higher is worse.
pub const FIGURES: [(&str, bool); 5] = [
    ("failure_rate_7d", true),
    ("cost_usd_30d", true),
    ("roi_estimate_usd", false),
    ("manual_minutes_per_run", true),
    ("error_rate", true),
];

/// The trend of each KPI figure of `kpi` given with its previous value (the
/// portfolio seed's `{"current": …, "prev_<N>d": …}`) whose good direction
/// is known: from the value N days before to the current one, improving or
/// degrading when it moved by at least `threshold_percent` of the previous
/// value (any move from 0). Its evidence is the KPI record's two values.
pub fn figure_trends(kpi: &KpiRecord, threshold_percent: f64) -> Vec<Trend> {
    let mut trends = Vec::new();
    for (metric, higher_is_worse) in FIGURES {
        let Some(FigurePair { previous, current, days, evidence }) = figure_pair(kpi, metric) else {
            continue;
        };
        let change = current - previous;
        let moved = if previous == 0.0 {
            change != 0.0
        } else {
            (change / previous.abs() * 100.0).abs() >= threshold_percent
        };
        let label = match change {
            change if !change.is_finite() || !moved => Label::Stable,
            change if (change > 0.0) == higher_is_worse => Label::Degrading,
            _ => Label::Improving,
        };
        trends.push(Trend {
            metric,
            label,
            snapshots: 0,
            first: Some(previous),
            last: Some(current),
            change: Some(round1(change)),
            evidence,
            window_days: Some(days),
        });
    }
    trends
}

/// The longest run of consecutive snapshots, ending at the last one, whose
/// value is at or over `threshold` (e.g. failure rate over its escalation
/// threshold for 3 consecutive snapshots).
pub fn run_at_or_over(history: &[&Snapshot], value: impl Fn(&Snapshot) -> f64, threshold: f64) -> usize {
    history.iter().rev().take_while(|s| value(s) >= threshold).count()
}

/// Periods, ending at the last snapshot, in which cost rose while ROI fell
/// ("costs rose while ROI declined for N periods").
pub fn cost_up_roi_down(history: &[&Snapshot]) -> usize {
    history
        .windows(2)
        .rev()
        .take_while(|w| {
            w[1].cost_usd_30d > w[0].cost_usd_30d && w[1].roi_estimate_usd < w[0].roi_estimate_usd
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(date: &str, risk: f64) -> Snapshot {
        serde_json::from_value(serde_json::json!({
            "snapshot_date": date, "agent_id": "agent_sales_01", "integration_score": 80, "risk_score": risk,
            "value_leakage_score": 10, "failure_rate_7d": 1, "cost_usd_30d": risk * 10.0,
            "roi_estimate_usd": 1000.0 - risk, "manual_minutes_per_run": 0
        }))
        .unwrap()
    }

    #[test]
    fn trends_need_history_and_sort_it() {
        let snapshots =
            [snapshot("2024-12-06", 52.0), snapshot("2024-11-15", 32.0), snapshot("2024-11-22", 38.0)];
        let (sorted, problems) = history("agent_sales_01", &snapshots);
        assert!(problems.is_empty());
        let t = trend("risk_score", &sorted, |s| s.risk_score, true, 10.0, 3);
        assert_eq!(
            (t.label, t.change, t.first, t.last),
            (Label::Degrading, Some(20.0), Some(32.0), Some(52.0))
        );
        assert_eq!(t.evidence[0].id, "agent_sales_01@2024-11-15");
        let t = trend("risk_score", &sorted[..2], |s| s.risk_score, true, 10.0, 3);
        assert_eq!(t.label, Label::InsufficientHistory);
        let t = trend("risk_score", &[], |s| s.risk_score, true, 10.0, 3);
        assert_eq!((t.label, t.change), (Label::InsufficientHistory, None));
        assert_eq!(cost_up_roi_down(&sorted), 2);
        assert_eq!(run_at_or_over(&sorted, |s| s.risk_score, 38.0), 2);
    }

    #[test]
    fn a_second_snapshot_for_a_date_is_reported() {
        let snapshots = [snapshot("2024-11-15", 32.0), snapshot("2024-11-15", 40.0)];
        let (sorted, problems) = history("agent_sales_01", &snapshots);
        assert_eq!(sorted.len(), 1);
        assert_eq!(problems.len(), 1);
        assert_eq!(sorted[0].risk_score, 40.0);
    }

    fn busy(date: &str, manual: f64, invocations: Option<u64>) -> Snapshot {
        Snapshot { manual_minutes_per_run: manual, daily_invocations: invocations, ..snapshot(date, 40.0) }
    }

    #[test]
    fn automation_debt_needs_manual_minutes_and_invocations_both_rising_in_the_window() {
        let as_of: Date = "2024-12-20".parse().unwrap();
        let debt = |history: &[Snapshot], kpi: Option<&KpiRecord>| {
            let history: Vec<&Snapshot> = history.iter().collect();
            automation_debt(&history, kpi, as_of, 30, 3)
        };
        let rising = [
            // Outside the window: not read.
            busy("2024-11-01", 9.0, Some(5000)),
            busy("2024-11-22", 2.0, Some(800)),
            busy("2024-12-06", 3.0, Some(900)),
            busy("2024-12-20", 5.0, Some(1100)),
        ];
        let found = debt(&rising, None).expect("debt");
        assert_eq!(found.kind, "automation_debt");
        assert_eq!(
            found.message,
            "Automation debt is accumulating: manual minutes per run rose from 2 to 5 while daily \
             invocations rose from 800 to 1100 over the last 30 days (2024-11-22 to 2024-12-20)"
        );
        let cited: Vec<(&str, &str, &str)> =
            found.evidence.iter().map(|e| (e.id.as_str(), e.field, e.value.as_str())).collect();
        assert_eq!(
            cited,
            [
                ("agent_sales_01@2024-11-22", "manual_minutes_per_run", "2"),
                ("agent_sales_01@2024-12-20", "manual_minutes_per_run", "5"),
                ("agent_sales_01@2024-11-22", "daily_invocations", "800"),
                ("agent_sales_01@2024-12-20", "daily_invocations", "1100"),
            ]
        );
        // Fewer invocations: the manual minutes are not debt piling up.
        let falling = [
            busy("2024-11-22", 2.0, Some(800)),
            busy("2024-12-06", 3.0, Some(700)),
            busy("2024-12-20", 5.0, Some(600)),
        ];
        assert_eq!(debt(&falling, None), None);
        // Manual minutes flat: no debt.
        let flat = [
            busy("2024-11-22", 2.0, Some(800)),
            busy("2024-12-06", 2.0, Some(900)),
            busy("2024-12-20", 2.0, Some(1100)),
        ];
        assert_eq!(debt(&flat, None), None);
        // Two snapshots in the window are fewer than three.
        assert_eq!(debt(&rising[2..], None), None);
        // No invocation counts in the snapshots: the KPI pairs are read.
        let unknown =
            [busy("2024-11-22", 2.0, None), busy("2024-12-06", 3.0, None), busy("2024-12-20", 5.0, None)];
        assert_eq!(debt(&unknown, None), None);
        let kpi: KpiRecord = serde_json::from_value(serde_json::json!({
            "agent_id": "agent_sales_01",
            "kpis": {
                "manual_minutes_per_run": {"current": 4, "prev_30d": 1},
                "daily_invocations": {"current": 1300, "prev_30d": 1200}
            }
        }))
        .unwrap();
        let found = debt(&unknown, Some(&kpi)).expect("debt from the KPI pairs");
        assert!(
            found.message.ends_with(
                "rose from 1 to 4 while daily invocations rose from 1200 to 1300 over the last 30 days"
            ),
            "{}",
            found.message
        );
        assert_eq!(found.evidence[0].value, "prev_30d 1");
        assert_eq!(found.evidence.len(), 4);
    }

    #[test]
    fn a_kpi_figure_with_its_previous_value_reads_by_its_direction_and_the_percent_threshold() {
        let kpi: KpiRecord = serde_json::from_value(serde_json::json!({
            "agent_id": "agent_sales_01",
            "kpis": {
                "failure_rate_7d": {"current": 10.5, "prev_7d": 10.0},
                "roi_estimate_usd": {"current": 1200, "prev_30d": 1000},
                "manual_minutes_per_run": {"current": 2, "prev_14d": 0},
                "conversion_rate": {"current": 0.1, "prev_7d": 0.2},
                "cost_usd_30d": 500
            }
        }))
        .unwrap();
        let trends = figure_trends(&kpi, 10.0);
        let read: Vec<(&str, Label, Option<u32>)> =
            trends.iter().map(|t| (t.metric, t.label, t.window_days)).collect();
        assert_eq!(
            read,
            [
                // 5% up: under the threshold.
                ("failure_rate_7d", Label::Stable, Some(7)),
                // ROI up 20%: better.
                ("roi_estimate_usd", Label::Improving, Some(30)),
                // Any rise from 0 counts; more manual minutes are worse.
                ("manual_minutes_per_run", Label::Degrading, Some(14)),
            ]
        );
        // A figure of unknown direction (conversion_rate) and one without a
        // previous value (cost) give no trend.
        assert_eq!(trends[1].evidence[0].value, "prev_30d 1000");
        assert_eq!(trends[1].change, Some(200.0));
    }
}
