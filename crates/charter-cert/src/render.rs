//! The verdict as Markdown: the summary, the claim matrix with levels, the
//! blocker register and the waivers. The same verdict, the same bytes.

use std::fmt::Write as _;

use crate::verdict::{BlockerState, MetricStatus, Outcome, Verdict};

/// The verdict as a Markdown document.
pub fn markdown(verdict: &Verdict) -> String {
    let mut out = String::new();
    let outcome = match verdict.outcome {
        Outcome::Green => "GREEN",
        Outcome::Red => "RED",
    };
    let _ = writeln!(out, "# Operations and governance certification: {}\n", verdict.workspace);
    let _ = writeln!(
        out,
        "**Verdict: {outcome}** as of {} (evidence from {}).\n",
        verdict.as_of, verdict.period_from
    );
    match &verdict.checkpoint {
        Some(checkpoint) => {
            let _ = writeln!(
                out,
                "Computed at ledger checkpoint `{}` size {} root `{}`; claim matrix sha256 `{}`.\n",
                checkpoint.origin, checkpoint.size, checkpoint.root, verdict.matrix_sha256
            );
        }
        None => {
            let _ = writeln!(
                out,
                "No signed ledger checkpoint; claim matrix sha256 `{}`.\n",
                verdict.matrix_sha256
            );
        }
    }
    if !verdict.reasons.is_empty() {
        let _ = writeln!(out, "## Why\n");
        for reason in &verdict.reasons {
            let _ = writeln!(out, "- {reason}");
        }
        out.push('\n');
    }
    let _ = writeln!(out, "## Claims\n");
    let _ = writeln!(out, "| claim | tier | level | status | title |");
    let _ = writeln!(out, "|---|---|---|---|---|");
    for claim in &verdict.claims {
        let status = serde_json::to_value(claim.status).ok().and_then(|v| v.as_str().map(str::to_owned));
        let _ = writeln!(
            out,
            "| {} | {} | {:?} | {} | {} |",
            claim.id,
            claim.tier,
            claim.level,
            status.unwrap_or_default(),
            claim.title
        );
    }
    for claim in &verdict.claims {
        let _ = writeln!(out, "\n### {} {}\n", claim.id, claim.title);
        let _ = writeln!(out, "| metric | threshold | value | status | records |");
        let _ = writeln!(out, "|---|---|---|---|---|");
        for metric in &claim.metrics {
            let side = match metric.direction {
                crate::Direction::AtLeast => "≥",
                crate::Direction::AtMost => "≤",
            };
            let status = match metric.status {
                MetricStatus::Pass => "pass",
                MetricStatus::Fail => "FAIL",
                MetricStatus::NoEvidence => "no evidence",
                MetricStatus::NotMeasured => "not measured",
            };
            let _ = writeln!(
                out,
                "| {} | {side} {} | {} | {status} | {} of {} |",
                metric.id,
                metric.threshold,
                metric.value.map_or_else(|| "—".to_owned(), |v| format!("{v:.4}")),
                metric.records.len(),
                metric.records_total
            );
        }
        for count in &claim.evidence {
            let _ = writeln!(out, "\nEvidence: {} {} (at least {}).", count.found, count.kind, count.min);
        }
        if let Some(drill) = &claim.drill {
            let _ = writeln!(
                out,
                "\nDrill ({}): {}.",
                drill.kind,
                match (&drill.latest, drill.passed) {
                    (Some(id), true) => format!("{id} met its objective"),
                    (Some(id), false) => format!("{id} did not meet its objective"),
                    (None, _) => "none in the period".to_owned(),
                }
            );
        }
    }
    let _ = writeln!(out, "\n## Blocker register\n");
    if verdict.blockers.is_empty() {
        let _ = writeln!(out, "None.");
    } else {
        let _ = writeln!(out, "| blocker | claim | subject | state | reason | records |");
        let _ = writeln!(out, "|---|---|---|---|---|---|");
        for blocker in &verdict.blockers {
            let state = match (blocker.state, &blocker.waiver) {
                (BlockerState::Active, _) => "ACTIVE".to_owned(),
                (BlockerState::Waived, Some(waiver)) => format!("waived ({waiver})"),
                (BlockerState::Waived, None) => "waived".to_owned(),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {state} | {} | {} |",
                blocker.id,
                blocker.claim,
                blocker.subject,
                blocker.reason.replace('|', "\\|"),
                blocker.records.join(", ")
            );
        }
    }
    let _ = writeln!(out, "\n## Waivers\n");
    if verdict.waivers.is_empty() {
        let _ = writeln!(out, "None.");
    } else {
        let _ = writeln!(out, "| waiver | scope | owner | approver | expires | state | holds |");
        let _ = writeln!(out, "|---|---|---|---|---|---|---|");
        for waiver in &verdict.waivers {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} |",
                waiver.waiver_id,
                waiver.scope,
                waiver.owner,
                waiver.approver.as_deref().unwrap_or("—"),
                waiver.expires_at,
                waiver.state,
                waiver.holds.join("; ")
            );
        }
    }
    out
}
