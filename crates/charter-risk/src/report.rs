//! The executive report as Markdown: the portfolio in a few lines, agents
//! ranked, escalations and recommendations with the records behind them,
//! the risks by severity × blast radius, and what was wrong with the
//! input. The same assessment always renders to the same bytes.

use std::fmt::Write as _;

use crate::assess::Assessment;
use crate::evidence::Evidence;
use crate::trend::Label;

fn cite(evidence: &[Evidence]) -> String {
    evidence
        .iter()
        .map(|e| format!("`{}/{}` {} = {}", e.kind, e.id, e.field, e.value))
        .collect::<Vec<_>>()
        .join("; ")
}

fn label(label: Label) -> &'static str {
    match label {
        Label::Improving => "improving",
        Label::Stable => "stable",
        Label::Degrading => "degrading",
        Label::InsufficientHistory => "insufficient history",
    }
}

/// `text` with `|` escaped, for a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\\\|").replace('\n', " ")
}

/// The report of `assessment` for `workspace`, in Markdown.
pub fn markdown(workspace: &str, assessment: &Assessment) -> String {
    let mut out = String::new();
    let a = assessment;
    let n = a.agents.len().max(1) as f64;
    let mean = |f: &dyn Fn(&crate::assess::AgentAssessment) -> f64| a.agents.iter().map(f).sum::<f64>() / n;
    let _ = writeln!(out, "# Agent portfolio of {workspace} as of {}\n", a.as_of);
    let degrading =
        a.agents.iter().filter(|x| x.trends.first().is_some_and(|t| t.label == Label::Degrading)).count();
    let hitl: f64 = a.agents.iter().filter_map(|x| x.hitl_cost_per_day).sum();
    let _ = writeln!(
        out,
        "{} agents; mean risk {:.1}, integration {:.1}, value leakage {:.1}; {degrading} degrading; {} open risk signal(s); {} escalation(s); {} recommendation(s); humans in the loop cost {hitl:.2} USD a day.\n",
        a.agents.len(),
        mean(&|x| x.risk.value),
        mean(&|x| x.integration.value),
        mean(&|x| x.value_leakage.value),
        a.risks.len(),
        a.escalations.len(),
        a.recommendations.len(),
    );

    let _ = writeln!(out, "## Agents, riskiest first\n");
    let _ = writeln!(
        out,
        "| agent | status | criticality | risk | integration | value leakage | risk trend | HITL USD/day |"
    );
    let _ = writeln!(out, "|---|---|---|---:|---:|---:|---|---:|");
    for x in &a.agents {
        let trend = x.trends.first();
        let trend = match trend {
            Some(t) if t.snapshots > 1 => format!(
                "{} ({} → {})",
                label(t.label),
                t.first.map(|v| v.to_string()).unwrap_or_default(),
                t.last.map(|v| v.to_string()).unwrap_or_default()
            ),
            Some(t) => label(t.label).to_owned(),
            None => String::new(),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {trend} | {} |",
            cell(&x.agent_id),
            x.status,
            x.criticality.map_or("-".to_owned(), |c| c.to_string()),
            x.risk.value,
            x.integration.value,
            x.value_leakage.value,
            x.hitl_cost_per_day.map_or("-".to_owned(), |c| format!("{c:.2}")),
        );
    }

    let _ = writeln!(out, "\n## Escalations\n");
    if a.escalations.is_empty() {
        let _ = writeln!(out, "None.");
    }
    for e in &a.escalations {
        let _ =
            writeln!(out, "- **{}** ({}): {}  \n  from {}", e.subject, e.rule, e.message, cite(&e.evidence));
    }
    let _ = writeln!(out, "\n## Recommendations\n");
    if a.recommendations.is_empty() {
        let _ = writeln!(out, "None.");
    }
    for r in &a.recommendations {
        let _ =
            writeln!(out, "- **{}** {}: {}  \n  from {}", r.action, r.subject, r.reason, cite(&r.evidence));
    }
    let _ = writeln!(out, "\n## Risk signals, by severity × blast radius\n");
    for r in &a.risks {
        let _ = writeln!(
            out,
            "- {} ({}, {}): blast radius {} ({}), priority {}",
            r.risk_id,
            r.agent_id,
            r.severity,
            r.blast_radius,
            r.affected_workflows.join(", "),
            r.priority
        );
    }
    let _ = writeln!(out, "\n## Systems, by blast radius\n");
    for s in &a.systems {
        let _ = writeln!(
            out,
            "- {}: {} agent(s) ({}), {} workflow(s) ({})",
            s.system,
            s.agents.len(),
            s.agents.join(", "),
            s.workflows.len(),
            s.workflows.join(", ")
        );
    }
    let _ = writeln!(out, "\n## How each score was reached\n");
    for x in &a.agents {
        let _ = writeln!(out, "### {}\n", x.agent_id);
        for (name, score) in
            [("integration", &x.integration), ("risk", &x.risk), ("value leakage", &x.value_leakage)]
        {
            let _ = writeln!(out, "{name} {}:\n", score.value);
            for c in &score.components {
                let _ = writeln!(
                    out,
                    "- {} (weight {}): penalty {}, {} points; {}{}",
                    c.name,
                    c.weight,
                    c.penalty,
                    c.points,
                    c.detail,
                    if c.evidence.is_empty() {
                        String::new()
                    } else {
                        format!("; from {}", cite(&c.evidence))
                    }
                );
            }
            let _ = writeln!(out);
        }
    }
    if !a.problems.is_empty() {
        let _ = writeln!(out, "## Input problems\n");
        for p in &a.problems {
            let _ = writeln!(out, "- {p}");
        }
    }
    out
}
