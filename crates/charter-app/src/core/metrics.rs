//! Charter's own metrics, in the Prometheus text exposition format (0.0.4).
//! Counters and histograms live in memory (per process); gauges are read
//! from the store when scraped. Every label takes its values from a fixed
//! set (decision outcomes, reason classes) or from one workspace's alert
//! classes, so the number of series stays bounded.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the decision latency buckets, in seconds.
const LATENCY_BUCKETS: [f64; 12] =
    [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0];
/// Upper bounds of the ledger append batch-size buckets, in events.
const BATCH_BUCKETS: [f64; 8] = [1.0, 2.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0];

/// A histogram with fixed buckets.
#[derive(Debug)]
struct Histogram {
    bounds: &'static [f64],
    counts: Vec<AtomicU64>,
    /// Sum in millionths (of seconds or of events).
    sum_micros: AtomicU64,
    count: AtomicU64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Self {
        Self {
            bounds,
            counts: bounds.iter().map(|_| AtomicU64::new(0)).collect(),
            sum_micros: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
    }

    fn observe(&self, value: f64) {
        if let Some(slot) = self.bounds.iter().position(|bound| value <= *bound) {
            self.counts[slot].fetch_add(1, Ordering::Relaxed);
        }
        self.sum_micros.fetch_add((value * 1e6) as u64, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        let mut cumulative = 0;
        for (bound, count) in self.bounds.iter().zip(&self.counts) {
            cumulative += count.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(out, "{name}_sum {}", self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6);
        let _ = writeln!(out, "{name}_count {count}");
    }
}

/// The process's counters and histograms.
#[derive(Debug)]
pub(crate) struct Metrics {
    /// Decisions by outcome (allow, deny) and reason class: lock-free, as
    /// every decision passes here.
    decisions: [[AtomicU64; REASON_CLASSES.len()]; 2],
    latency: Histogram,
    batches: Histogram,
    spans_accepted: AtomicU64,
    spans_rejected: AtomicU64,
    deliveries_failed: AtomicU64,
    deliveries: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            decisions: Default::default(),
            latency: Histogram::new(&LATENCY_BUCKETS),
            batches: Histogram::new(&BATCH_BUCKETS),
            spans_accepted: AtomicU64::new(0),
            spans_rejected: AtomicU64::new(0),
            deliveries_failed: AtomicU64::new(0),
            deliveries: AtomicU64::new(0),
        }
    }
}

/// The reason classes decisions are counted by: the guardrails, then what
/// kind of rule decided.
const REASON_CLASSES: [&str; 17] = [
    charter_policy::reason::UNKNOWN_ACTION,
    charter_policy::reason::UNKNOWN_PRINCIPAL,
    charter_policy::reason::UNKNOWN_RESOURCE,
    charter_policy::reason::INVALID_REQUEST,
    charter_policy::reason::UNREADABLE_REGISTRY,
    charter_policy::reason::UNREADABLE_POLICY,
    charter_policy::reason::KILL_SWITCH,
    charter_policy::reason::BUDGET_EXHAUSTED,
    charter_policy::reason::LEAST_PRIVILEGE,
    charter_policy::reason::TIER_APPROVAL,
    charter_policy::reason::DATA_RESIDENCY,
    charter_policy::reason::EVALUATION_ERROR,
    "default-deny",
    "policy",
    "grant",
    "other",
    "none",
];

/// The index in [`REASON_CLASSES`] of a decision's first reason.
fn reason_class(reason: Option<&str>) -> usize {
    let class =
        |name: &str| REASON_CLASSES.iter().position(|c| *c == name).unwrap_or(REASON_CLASSES.len() - 1);
    let Some(reason) = reason else { return class("none") };
    if let Some(guardrail) = REASON_CLASSES[..12].iter().position(|g| *g == reason) {
        return guardrail;
    }
    if reason == charter_policy::reason::DEFAULT_DENY {
        class("default-deny")
    } else if reason.starts_with("POL-") {
        class("policy")
    } else if reason.starts_with("grant") || reason.starts_with("GRANT") {
        class("grant")
    } else {
        class("other")
    }
}

impl Metrics {
    /// Counts a decision and its latency.
    pub(crate) fn decided(&self, allowed: bool, first_reason: Option<&str>, took: Duration) {
        self.decisions[usize::from(!allowed)][reason_class(first_reason)].fetch_add(1, Ordering::Relaxed);
        self.latency.observe(took.as_secs_f64());
    }

    /// Counts one ledger append of `events` events.
    pub(crate) fn appended(&self, events: usize) {
        self.batches.observe(events as f64);
    }

    /// Counts spans in.
    pub(crate) fn ingested(&self, accepted: u64, rejected: u64) {
        self.spans_accepted.fetch_add(accepted, Ordering::Relaxed);
        self.spans_rejected.fetch_add(rejected, Ordering::Relaxed);
    }

    /// Counts page deliveries.
    pub(crate) fn delivered(&self, delivered: u64, failed: u64) {
        self.deliveries.fetch_add(delivered, Ordering::Relaxed);
        self.deliveries_failed.fetch_add(failed, Ordering::Relaxed);
    }

    /// The exposition of the process's metrics, with the scraped gauges.
    pub(crate) fn render(&self, gauges: &Gauges) -> String {
        let mut out = String::new();
        out.push_str("# HELP charter_decisions_total Decisions made, by outcome and reason class.\n");
        out.push_str("# TYPE charter_decisions_total counter\n");
        for (outcome, counts) in ["allow", "deny"].iter().zip(&self.decisions) {
            for (reason, count) in REASON_CLASSES.iter().zip(counts) {
                let count = count.load(Ordering::Relaxed);
                if count > 0 {
                    let _ = writeln!(
                        out,
                        "charter_decisions_total{{outcome=\"{outcome}\",reason=\"{reason}\"}} {count}"
                    );
                }
            }
        }
        self.latency.render(&mut out, "charter_decision_seconds", "Time to decide and log a request.");
        self.batches.render(&mut out, "charter_ledger_append_batch_events", "Events per ledger append.");
        let counter = |out: &mut String, name: &str, help: &str, value: u64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}");
        };
        counter(
            &mut out,
            "charter_ingest_spans_accepted_total",
            "Spans accepted at ingest.",
            self.spans_accepted.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "charter_ingest_spans_rejected_total",
            "Spans rejected at ingest.",
            self.spans_rejected.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "charter_pages_delivered_total",
            "Pages delivered.",
            self.deliveries.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "charter_page_delivery_failures_total",
            "Page delivery attempts that failed.",
            self.deliveries_failed.load(Ordering::Relaxed),
        );
        let gauge = |out: &mut String, name: &str, help: &str, value: u64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}");
        };
        gauge(
            &mut out,
            "charter_ledger_entries",
            "Entries in the workspace's ledger.",
            gauges.ledger_entries,
        );
        gauge(
            &mut out,
            "charter_outbox_pending",
            "Pages of the workspace not yet delivered.",
            gauges.outbox_pending,
        );
        gauge(
            &mut out,
            "charter_outbox_failed_attempts",
            "Failed delivery attempts of the workspace's pages.",
            gauges.outbox_failed,
        );
        out.push_str("# HELP charter_alerts_open Alerts of the workspace not resolved, by class.\n");
        out.push_str("# TYPE charter_alerts_open gauge\n");
        for (class, count) in &gauges.alerts_open {
            let _ = writeln!(out, "charter_alerts_open{{class=\"{}\"}} {count}", escape(class));
        }
        out
    }
}

/// A label value escaped for the text format.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// What a scrape reads from the store, for the caller's workspace.
#[derive(Debug, Default)]
pub(crate) struct Gauges {
    pub(crate) ledger_entries: u64,
    pub(crate) outbox_pending: u64,
    pub(crate) outbox_failed: u64,
    pub(crate) alerts_open: BTreeMap<String, u64>,
}

impl crate::App {
    /// Charter's metrics in the Prometheus text format, with the gauges of
    /// `workspace` (`GET /metrics`, any role of the workspace).
    pub async fn metrics_text(
        &self,
        caller: &crate::Caller,
        workspace: &charter_model::WorkspaceName,
    ) -> crate::Result<String> {
        let row = self.visible_workspace(caller, workspace).await?;
        let (outbox_pending, outbox_failed) = self.store.outbox_counts(Some(row.id)).await?;
        let alerts: Vec<charter_model::Alert> = self.read_values(&row).await?;
        let mut alerts_open = BTreeMap::new();
        for alert in alerts.iter().filter(|alert| alert.status != charter_model::AlertStatus::Resolved) {
            *alerts_open.entry(alert.class_id.to_string()).or_default() += 1;
        }
        let gauges = Gauges {
            ledger_entries: self.store.event_count(row.id).await?,
            outbox_pending,
            outbox_failed,
            alerts_open,
        };
        Ok(self.metrics.render(&gauges))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_has_one_type_per_family_cumulative_buckets_and_escaped_labels() {
        let metrics = Metrics::default();
        metrics.decided(true, Some("POL-A-B/rule"), Duration::from_micros(300));
        metrics.decided(false, Some("guardrail:kill-switch"), Duration::from_millis(3));
        metrics.decided(false, Some("guardrail:kill-switch"), Duration::from_secs(2));
        metrics.appended(3);
        let mut gauges = Gauges::default();
        gauges.alerts_open.insert("a\"b".into(), 2);
        let text = metrics.render(&gauges);
        assert!(
            text.contains("charter_decisions_total{outcome=\"deny\",reason=\"guardrail:kill-switch\"} 2")
        );
        assert!(text.contains("charter_decisions_total{outcome=\"allow\",reason=\"policy\"} 1"));
        assert!(text.contains("charter_decision_seconds_bucket{le=\"0.0005\"} 1"));
        assert!(text.contains("charter_decision_seconds_bucket{le=\"0.005\"} 2"));
        assert!(text.contains("charter_decision_seconds_bucket{le=\"+Inf\"} 3"));
        assert!(text.contains("charter_alerts_open{class=\"a\\\"b\"} 2"));
        let types = text.lines().filter(|l| l.starts_with("# TYPE charter_decision_seconds ")).count();
        assert_eq!(types, 1);
    }
}
