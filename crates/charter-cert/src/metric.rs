//! The metrics Charter computes from its own records, each for one claim,
//! with the direction its threshold goes and the blocker a Tier 0 failure
//! raises. The matrix picks thresholds; `charter-app` measures.

use serde::{Deserialize, Serialize};

use crate::verdict::BlockerId;

/// Which side of its threshold a metric must be on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// The value must be at least the threshold.
    AtLeast,
    /// The value must be at most the threshold.
    AtMost,
}

/// One metric Charter knows how to compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricDef {
    /// Its id in the matrix.
    pub id: &'static str,
    /// The claim it belongs to.
    pub claim: &'static str,
    /// What it measures, in one line.
    pub what: &'static str,
    /// Its unit.
    pub unit: &'static str,
    /// Which side of the threshold passes.
    pub direction: Direction,
    /// The blocker a failure of a Tier 0 claim raises.
    pub blocker: BlockerId,
    /// Measured by running something (a time): the verdict shows whether it
    /// passed, not the value, so the same records give the same verdict.
    pub volatile: bool,
}

const fn def(
    id: &'static str,
    claim: &'static str,
    what: &'static str,
    unit: &'static str,
    direction: Direction,
    blocker: BlockerId,
) -> MetricDef {
    MetricDef { id, claim, what, unit, direction, blocker, volatile: false }
}

use BlockerId::*;
use Direction::*;

/// Every metric, by claim.
pub const METRICS: &[MetricDef] = &[
    def(
        "corridor_share",
        "T0.1",
        "operations run in the period that went through the corridor: every approval it needs bound to the plan hash that ran, and a passing dry run of that plan when its tier asks for one",
        "share",
        AtLeast,
        B1,
    ),
    def("change_success_rate", "T0.1", "real runs in the period that ended SUCCESS", "share", AtLeast, B1),
    def(
        "rollback_recovery_seconds",
        "T0.1",
        "the slowest recovery of the rollback drills in the period: from the failing step's end to the restore's end",
        "s",
        AtMost,
        B2,
    ),
    def(
        "ledger_verified",
        "T0.5",
        "the whole ledger verifies (every leaf, tile, checkpoint signature and stored column) and a signed checkpoint covers it",
        "1 = yes",
        AtLeast,
        B3,
    ),
    def(
        "provenance_completeness",
        "T0.5",
        "decisions with principal, policy versions and registry version; runs with model versions and content hashes; operation runs with per-step evidence, as a share of all of them in the period",
        "share",
        AtLeast,
        B3,
    ),
    MetricDef {
        volatile: true,
        ..def(
            "audit_query_ms",
            "T0.5",
            "the slowest of the audit queries (a subject's history, the decisions of an agent, an inclusion proof), run now",
            "ms",
            AtMost,
            B3,
        )
    },
    def(
        "trace_chain_complete",
        "T0.5",
        "a sample of the period's operation runs whose chain is whole: request (the operation in the ledger) → decisions (approvals bound to the hash) → run evidence per step → registry version",
        "share",
        AtLeast,
        B3,
    ),
    def(
        "alert_ownership",
        "T0.4",
        "critical and high alert classes with an owner who is a registered person and a runbook that is a registered procedure",
        "share",
        AtLeast,
        B4,
    ),
    def(
        "escalation_policy",
        "T0.4",
        "severities with an acknowledgement time and an escalation chain that resolves to people (commander, team lead, steward)",
        "share",
        AtLeast,
        B4,
    ),
    def(
        "postmortem_quality",
        "T0.4",
        "incidents (drills included) resolved in the period whose postmortem passed its check",
        "share",
        AtLeast,
        B4,
    ),
    def(
        "budget_coverage",
        "T0.6",
        "active agents under a budget (their own or their team's)",
        "share",
        AtLeast,
        B5,
    ),
    def(
        "attributed_spend",
        "T0.6",
        "spend in the period that is attributed: priced runs of registered agents, over all spend including unpriced tokens",
        "share",
        AtLeast,
        B5,
    ),
    def(
        "unexplained_spend",
        "T0.6",
        "spend Charter cannot explain in the as-of month: tokens without a price, spans of no registered agent, spans waiting for their agent past an hour",
        "tokens and spans",
        AtMost,
        B5,
    ),
    def(
        "cost_receipts",
        "T0.6",
        "agents with spend in the period that have a cost-to-outcome receipt (value or KPI record)",
        "share",
        AtLeast,
        B5,
    ),
    def(
        "dry_run_first",
        "T1.1",
        "real runs in the period preceded by a passing dry run of the same plan",
        "share",
        AtLeast,
        B1,
    ),
    def(
        "gated_promotions",
        "T1.1",
        "datasets out of DRAFT promoted through their gates (an allowed promote_dataset decision) within the period",
        "share",
        AtLeast,
        B1,
    ),
    def(
        "drift_alerts_handled",
        "T1.2",
        "drift and anomaly alerts of the period acknowledged or resolved",
        "share",
        AtLeast,
        B4,
    ),
    def(
        "quality_at_schema",
        "T1.3",
        "active datasets with a passing quality run at their current schema version in the period",
        "share",
        AtLeast,
        B3,
    ),
    def(
        "policies_reviewed",
        "T2.1",
        "governance policies reviewed within their review period",
        "share",
        AtLeast,
        B3,
    ),
    def(
        "dlp_lint_clean",
        "T2.1",
        "DLP rules and guard settings without a lint error",
        "1 = yes",
        AtLeast,
        B3,
    ),
];

/// The metric with id `id`.
pub fn metric(id: &str) -> Option<&'static MetricDef> {
    METRICS.iter().find(|metric| metric.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_claims_are_the_seeds() {
        let mut ids: Vec<&str> = METRICS.iter().map(|m| m.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), METRICS.len());
        for metric in METRICS {
            assert!(["T0.1", "T0.4", "T0.5", "T0.6", "T1.1", "T1.2", "T1.3", "T2.1"].contains(&metric.claim));
        }
    }
}
