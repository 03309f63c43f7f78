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

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The verdict as a self-contained HTML page (no script, no external
/// resource): the summary, the claims with levels and metrics, the blocker
/// register and the waivers.
pub fn html(verdict: &Verdict) -> String {
    let mut out = String::new();
    let outcome = match verdict.outcome {
        Outcome::Green => "GREEN",
        Outcome::Red => "RED",
    };
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Certification of {ws}: {outcome}</title>\
         <style>body{{font-family:system-ui,sans-serif;margin:2rem;max-width:72rem}}table{{border-collapse:collapse;margin:1rem 0}}\
         td,th{{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}}.GREEN{{color:#05662f}}.RED{{color:#a50e0e}}</style>\
         </head><body>\n<h1>Certification of {ws}: <span class=\"{outcome}\">{outcome}</span></h1>\n<p>As of {as_of}; evidence from {from}.</p>\n",
        ws = escape(&verdict.workspace),
        as_of = verdict.as_of,
        from = verdict.period_from,
    );
    if let Some(checkpoint) = &verdict.checkpoint {
        let _ = writeln!(
            out,
            "<p>Ledger checkpoint <code>{}</code> size {} root <code>{}</code>.</p>",
            escape(&checkpoint.origin),
            checkpoint.size,
            escape(&checkpoint.root)
        );
    }
    if !verdict.reasons.is_empty() {
        out.push_str("<h2>Why</h2><ul>\n");
        for reason in &verdict.reasons {
            let _ = writeln!(out, "<li>{}</li>", escape(reason));
        }
        out.push_str("</ul>\n");
    }
    out.push_str("<h2>Claims</h2>\n<table><tr><th>Claim</th><th>Tier</th><th>Level</th><th>Status</th><th>Metrics</th></tr>\n");
    for claim in &verdict.claims {
        let status = serde_json::to_value(claim.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let metrics: Vec<String> = claim
            .metrics
            .iter()
            .map(|metric| {
                let status = serde_json::to_value(metric.status)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                format!(
                    "{} {}{}",
                    escape(&metric.id),
                    status,
                    metric.value.map_or_else(String::new, |value| format!(" ({value:.4})"))
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "<tr><td>{} {}</td><td>{}</td><td>{:?}</td><td>{}</td><td>{}</td></tr>",
            escape(&claim.id),
            escape(&claim.title),
            claim.tier,
            claim.level,
            status,
            metrics.join("<br>")
        );
    }
    out.push_str("</table>\n<h2>Blocker register</h2>\n");
    if verdict.blockers.is_empty() {
        out.push_str("<p>None.</p>\n");
    } else {
        out.push_str(
            "<table><tr><th>Blocker</th><th>Claim</th><th>Subject</th><th>State</th><th>Reason</th></tr>\n",
        );
        for blocker in &verdict.blockers {
            let state = match (blocker.state, &blocker.waiver) {
                (BlockerState::Active, _) => "ACTIVE".to_owned(),
                (BlockerState::Waived, waiver) => format!("waived {}", waiver.as_deref().unwrap_or("")),
            };
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                blocker.id,
                escape(&blocker.claim),
                escape(&blocker.subject),
                escape(&state),
                escape(&blocker.reason)
            );
        }
        out.push_str("</table>\n");
    }
    out.push_str("<h2>Waivers</h2>\n");
    if verdict.waivers.is_empty() {
        out.push_str("<p>None.</p>\n");
    } else {
        out.push_str("<table><tr><th>Waiver</th><th>Scope</th><th>Owner</th><th>Approver</th><th>Expires</th><th>State</th></tr>\n");
        for waiver in &verdict.waivers {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&waiver.waiver_id),
                escape(&waiver.scope),
                escape(&waiver.owner),
                escape(waiver.approver.as_deref().unwrap_or("—")),
                waiver.expires_at,
                escape(&waiver.state)
            );
        }
        out.push_str("</table>\n");
    }
    out.push_str("</body></html>\n");
    out
}
