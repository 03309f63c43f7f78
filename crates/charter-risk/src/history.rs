//! Risk history (`risk_signal_history.json`): each risk's severity path over
//! its events, how long it stayed at one severity, whether it is open or
//! resolved and how long resolving took, and whether it came back after it
//! was resolved. Events detected after the day assessed are not read.

use std::collections::BTreeMap;

use charter_model::{Date, RecordKind, RiskEvent, RiskSignal, RiskStatus, Severity, Snapshot, Timestamp};
use serde::Serialize;

use crate::evidence::{Evidence, round1};
use crate::trend::Read;

/// Which way a risk's severity went, from its first event to its last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Its last severity is above its first.
    Escalated,
    /// Its last severity is below its first.
    DeEscalated,
    /// Several events, first and last at the same severity.
    Unchanged,
    /// One event: no path yet.
    Single,
}

/// One risk's path through its events.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RiskPath {
    /// The risk (`risk_id` of its events).
    pub risk_id: String,
    /// The agent it concerns (of its latest event).
    pub agent_id: String,
    /// Its type (of its latest event).
    pub risk_type: String,
    /// The severity of each event, in order.
    pub severities: Vec<Severity>,
    /// First severity to last.
    pub direction: Direction,
    /// The highest severity it reached.
    pub peak: Severity,
    /// The longest run of consecutive open events at one severity: the
    /// periods it persisted.
    pub longest_run: usize,
    /// Whether its latest event leaves it open (not resolved).
    pub open: bool,
    /// Its first event.
    pub first_seen: Timestamp,
    /// Its latest event.
    pub last_seen: Timestamp,
    /// When the event that resolved it was detected, if its latest did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<Timestamp>,
    /// Days from its first event to the one that resolved it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days_to_resolve: Option<f64>,
    /// Days from its first event to the day assessed, while open.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days_open: Option<f64>,
    /// Whether it was seen again after an event that resolved it.
    pub recurred: bool,
    /// Its events, in order.
    pub evidence: Vec<Evidence>,
}

impl RiskPath {
    /// Whether it stayed open at one severity for two periods or more.
    pub fn persisted(&self) -> bool {
        self.longest_run >= 2
    }
}

fn days_between(from: Timestamp, to: Timestamp) -> f64 {
    round1((to.unix_micros() - from.unix_micros()) as f64 / 86_400_000_000.0)
}

/// The path of every risk with events up to `as_of`, by risk id.
pub fn risk_paths<'a>(events: impl IntoIterator<Item = &'a RiskEvent>, as_of: Date) -> Vec<RiskPath> {
    let mut by_risk: BTreeMap<&str, Vec<&RiskEvent>> = BTreeMap::new();
    for event in events.into_iter().filter(|e| e.detected_at.date() <= as_of) {
        by_risk.entry(event.risk_id.as_str()).or_default().push(event);
    }
    // The end of the day assessed, for the days an open risk has been open.
    let end_of_day =
        as_of.plus_days(1).map(|next| Timestamp::from_offset_date_time(next.inner().midnight().assume_utc()));
    by_risk
        .into_values()
        .filter_map(|mut events| {
            events.sort_by(|a, b| {
                (a.detected_at, a.risk_event_id.as_str()).cmp(&(b.detected_at, b.risk_event_id.as_str()))
            });
            let (first, last) = (*events.first()?, *events.last()?);
            let severities: Vec<Severity> = events.iter().map(|e| e.severity).collect();
            let direction = match (events.len(), last.severity.cmp(&first.severity)) {
                (1, _) => Direction::Single,
                (_, std::cmp::Ordering::Greater) => Direction::Escalated,
                (_, std::cmp::Ordering::Less) => Direction::DeEscalated,
                (_, std::cmp::Ordering::Equal) => Direction::Unchanged,
            };
            let (mut longest_run, mut run) = (0, 0);
            let mut previous: Option<Severity> = None;
            for event in &events {
                let open = event.status != RiskStatus::Resolved;
                run = if open && previous == Some(event.severity) { run + 1 } else { usize::from(open) };
                previous = open.then_some(event.severity);
                longest_run = longest_run.max(run);
            }
            // Seen open again right after an event that resolved it.
            let recurred = events
                .windows(2)
                .any(|w| w[0].status == RiskStatus::Resolved && w[1].status != RiskStatus::Resolved);
            let open = last.status != RiskStatus::Resolved;
            let resolved_at = (!open).then_some(last.detected_at);
            Some(RiskPath {
                risk_id: last.risk_id.to_string(),
                agent_id: last.agent_id.to_string(),
                risk_type: last.risk_type.clone(),
                peak: severities.iter().copied().max().unwrap_or(last.severity),
                severities,
                direction,
                longest_run,
                open,
                first_seen: first.detected_at,
                last_seen: last.detected_at,
                resolved_at,
                days_to_resolve: resolved_at.map(|at| days_between(first.detected_at, at)),
                days_open: open.then(|| end_of_day.map(|end| days_between(first.detected_at, end))).flatten(),
                recurred,
                evidence: events
                    .iter()
                    .map(|e| {
                        Evidence::new(
                            RecordKind::RiskEvent,
                            e.risk_event_id.as_str(),
                            "severity",
                            format!("{} ({}, {})", e.severity, e.status, e.detected_at),
                        )
                    })
                    .collect(),
            })
        })
        .collect()
}

/// One sentence of a root-cause narrative, with the record it rests on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sentence {
    /// The sentence.
    pub text: String,
    /// The record it cites.
    pub evidence: Evidence,
}

/// What happened to an agent, in the order it happened: every event of its
/// risk history and every risk signal open now, detected by `as_of`, one
/// sentence each ("First, …", "Then, …", "Now, …"), each citing its record.
/// The first sentence names the signal that appeared first.
pub fn narrative<'a>(
    events: impl IntoIterator<Item = &'a RiskEvent>,
    signals: impl IntoIterator<Item = &'a RiskSignal>,
    as_of: Date,
) -> Vec<Sentence> {
    // (time, kind order, id) orders events detected at the same instant.
    let mut happened: Vec<(Timestamp, u8, String, String, Evidence)> = Vec::new();
    for e in events.into_iter().filter(|e| e.detected_at.date() <= as_of) {
        let what = match e.status {
            RiskStatus::Resolved => format!("{} ({}, {}; resolved)", e.signal, e.risk_type, e.severity),
            _ => format!("{} ({}, {})", e.signal, e.risk_type, e.severity),
        };
        let cited = Evidence::new(RecordKind::RiskEvent, e.risk_event_id.as_str(), "signal", &e.signal);
        happened.push((e.detected_at, 0, e.risk_event_id.to_string(), what, cited));
    }
    for s in signals.into_iter().filter(|s| s.detected_at.date() <= as_of) {
        let what = format!("{} ({}, {}; open now)", s.signal, s.risk_type, s.severity);
        let cited = Evidence::new(RecordKind::RiskSignal, s.risk_id.as_str(), "signal", &s.signal);
        happened.push((s.detected_at, 1, s.risk_id.to_string(), what, cited));
    }
    happened.sort_by(|a, b| (a.0, a.1, &a.2).cmp(&(b.0, b.1, &b.2)));
    let last = happened.len().saturating_sub(1);
    happened
        .into_iter()
        .enumerate()
        .map(|(n, (at, _, _, what, evidence))| {
            let lead = match n {
                0 => "First",
                _ if n == last => "Most recently",
                _ => "Then",
            };
            Sentence { text: format!("{lead}, on {}: {what}.", at.date()), evidence }
        })
        .collect()
}

/// "X began before Y": two things that began for an agent on different
/// days, the earlier first, with the records they rest on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Precedence {
    /// The sentence: "Integration risk emerged on 2024-11-18, before the
    /// risk score began rising on 2024-11-22."
    pub sentence: String,
    /// The records of both.
    pub evidence: Vec<Evidence>,
}

/// Something that began for an agent, and when.
struct Onset {
    what: String,
    on: Date,
    evidence: Evidence,
}

/// Snapshot metrics whose onset is found: (name, what began, higher is
/// worse, how it is read).
const ONSET_METRICS: [(&str, &str, bool, Read); 5] = [
    ("risk_score", "the risk score began rising", true, |s| s.risk_score),
    ("cost_usd_30d", "cost began rising", true, |s| s.cost_usd_30d),
    ("failure_rate_7d", "the failure rate began rising", true, |s| s.failure_rate_7d),
    ("manual_minutes_per_run", "manual minutes per run began rising", true, |s| s.manual_minutes_per_run),
    ("roi_estimate_usd", "ROI began falling", false, |s| s.roi_estimate_usd),
];

/// When each thing began: the first detection of each risk type (history
/// and open signals), the snapshot where each metric began the run that
/// carries it the bad way to the last snapshot (never turning back), and
/// the first snapshot of the last run of negative ROI.
fn onsets(history: &[&Snapshot], events: &[&RiskEvent], signals: &[&RiskSignal], as_of: Date) -> Vec<Onset> {
    let mut found = Vec::new();
    let mut first_of_type: BTreeMap<&str, (Timestamp, Evidence)> = BTreeMap::new();
    let detected = events
        .iter()
        .filter(|e| e.detected_at.date() <= as_of)
        .map(|e| {
            let cited =
                Evidence::new(RecordKind::RiskEvent, e.risk_event_id.as_str(), "detected_at", e.detected_at);
            (e.risk_type.as_str(), e.detected_at, cited)
        })
        .chain(signals.iter().filter(|s| s.detected_at.date() <= as_of).map(|s| {
            let cited =
                Evidence::new(RecordKind::RiskSignal, s.risk_id.as_str(), "detected_at", s.detected_at);
            (s.risk_type.as_str(), s.detected_at, cited)
        }));
    for (kind, at, cited) in detected {
        let earlier = first_of_type.get(kind).is_none_or(|(known, _)| at < *known);
        if earlier {
            first_of_type.insert(kind, (at, cited));
        }
    }
    for (kind, (at, evidence)) in first_of_type {
        found.push(Onset { what: format!("{kind} risk emerged"), on: at.date(), evidence });
    }
    let history: Vec<&Snapshot> = history.iter().copied().filter(|s| s.snapshot_date <= as_of).collect();
    for (name, what, higher_is_worse, read) in ONSET_METRICS {
        let worse = |a: f64, b: f64| if higher_is_worse { b > a } else { b < a };
        let values: Vec<f64> = history.iter().map(|s| read(s)).collect();
        // The run, back from the last snapshot, that never gets better.
        let mut start = values.len().saturating_sub(1);
        while start > 0 && !worse(values[start], values[start - 1]) {
            start -= 1;
        }
        // Its first move the bad way.
        let moved = (start + 1..values.len()).find(|&i| worse(values[i - 1], values[i]));
        if let Some(i) = moved {
            let s = history[i];
            found.push(Onset {
                what: what.to_owned(),
                on: s.snapshot_date,
                evidence: Evidence::new(RecordKind::Snapshot, s.key(), name, values[i]),
            });
        }
    }
    let negative = history.iter().rev().take_while(|s| s.roi_estimate_usd < 0.0).last();
    if let Some(s) = negative {
        found.push(Onset {
            what: "ROI turned negative".to_owned(),
            on: s.snapshot_date,
            evidence: Evidence::new(RecordKind::Snapshot, s.key(), "roi_estimate_usd", s.roi_estimate_usd),
        });
    }
    found
}

/// Joins `a`, `a and b`, `a, b and c`.
fn and_list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// What began before what for an agent, from its snapshots, risk history
/// and open signals up to `as_of`: the things that began are put in date
/// order, those of one day together, and each day is said to come before
/// the next ("Integration risk emerged on 2024-11-18, before the risk score
/// began rising on 2024-11-22.").
pub fn precedence(
    history: &[&Snapshot],
    events: &[&RiskEvent],
    signals: &[&RiskSignal],
    as_of: Date,
) -> Vec<Precedence> {
    let mut by_day: BTreeMap<Date, Vec<Onset>> = BTreeMap::new();
    for onset in onsets(history, events, signals, as_of) {
        by_day.entry(onset.on).or_default().push(onset);
    }
    let days: Vec<(Date, Vec<Onset>)> = by_day
        .into_iter()
        .map(|(day, mut onsets)| {
            onsets.sort_by(|a, b| a.what.cmp(&b.what));
            (day, onsets)
        })
        .collect();
    days.windows(2)
        .map(|pair| {
            let ((early, before), (late, after)) = (&pair[0], &pair[1]);
            let first: Vec<&str> = before.iter().map(|o| o.what.as_str()).collect();
            let then: Vec<&str> = after.iter().map(|o| o.what.as_str()).collect();
            let mut sentence =
                format!("{} on {early}, before {} on {late}.", and_list(&first), and_list(&then));
            if let Some(c) = sentence.get(..1) {
                sentence = c.to_uppercase() + &sentence[1..];
            }
            let evidence = before.iter().chain(after).map(|o| o.evidence.clone()).collect();
            Precedence { sentence, evidence }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: &str, risk: &str, severity: &str, at: &str, status: &str) -> RiskEvent {
        serde_json::from_value(serde_json::json!({
            "risk_event_id": id, "risk_id": risk, "agent_id": "agent_sales_01", "risk_type": "integration",
            "severity": severity, "signal": "s", "detected_at": at, "status": status,
        }))
        .unwrap()
    }

    #[test]
    fn a_risk_that_is_resolved_and_seen_again_has_recurred() {
        let events = [
            event("e1", "r", "medium", "2024-11-01T00:00:00Z", "open"),
            event("e2", "r", "low", "2024-11-05T12:00:00Z", "resolved"),
            event("e3", "r", "medium", "2024-11-20T00:00:00Z", "open"),
        ];
        let paths = risk_paths(&events, "2024-12-01".parse().unwrap());
        let path = &paths[0];
        assert!(path.recurred && path.open);
        assert_eq!(path.direction, Direction::Unchanged);
        assert_eq!(path.resolved_at, None);
        assert_eq!(path.days_open, Some(31.0));
        // Events after the day assessed are not read.
        let earlier = risk_paths(&events, "2024-11-10".parse().unwrap());
        assert!(!earlier[0].open && !earlier[0].recurred);
        assert_eq!(earlier[0].days_to_resolve, Some(4.5));
        assert_eq!(earlier[0].direction, Direction::DeEscalated);
    }

    #[test]
    fn maturity_grades_from_every_risk_resolved_to_risks_that_came_back() {
        let config = crate::Config::default();
        let as_of = "2024-11-10".parse().unwrap();
        let grade = |events: &[RiskEvent]| {
            crate::assess::maturity(&risk_paths(events, as_of), &config).map(|m| m.grade)
        };
        assert_eq!(grade(&[]), None);
        let resolved = event("e1", "r", "low", "2024-11-01T00:00:00Z", "resolved");
        assert_eq!(grade(std::slice::from_ref(&resolved)), Some('A'));
        let open = event("e2", "s", "medium", "2024-11-02T00:00:00Z", "open");
        assert_eq!(grade(&[resolved.clone(), open.clone()]), Some('B'));
        let again = event("e3", "s", "medium", "2024-11-03T00:00:00Z", "open");
        assert_eq!(grade(&[open.clone(), again.clone()]), Some('C'), "persisted two periods");
        let higher = event("e4", "s", "high", "2024-11-04T00:00:00Z", "open");
        assert_eq!(grade(&[open.clone(), higher.clone()]), Some('D'));
        let back = event("e5", "r", "low", "2024-11-05T00:00:00Z", "open");
        assert_eq!(grade(&[resolved, back]), Some('E'), "came back after being resolved");
    }
}
