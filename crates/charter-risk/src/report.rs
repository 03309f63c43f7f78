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

    for line in &a.summary {
        if line.evidence.is_empty() {
            let _ = writeln!(out, "- {}", line.text);
        } else {
            let _ = writeln!(out, "- {}  \n  from {}", line.text, cite(&line.evidence));
        }
    }
    if !a.summary.is_empty() {
        let _ = writeln!(out);
    }
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
    let _ = writeln!(out, "\n## Changes over the window\n");
    let changing: Vec<_> = a.agents.iter().take(RISKIEST).filter(|x| !x.window_changes.is_empty()).collect();
    if changing.is_empty() {
        let _ = writeln!(out, "No agent has enough snapshots in the window.");
    }
    for x in changing {
        let _ = writeln!(out, "- **{}**:", x.agent_id);
        for c in &x.window_changes {
            let _ = writeln!(out, "  - {}  \n    from {}", c.sentence, cite(&c.evidence));
        }
    }
    let _ = writeln!(out, "\n## Risk history and maturity\n");
    let graded: Vec<_> = a.agents.iter().filter(|x| x.risk_maturity.is_some()).collect();
    if graded.is_empty() {
        let _ = writeln!(out, "No risk history.");
    }
    for x in graded {
        if let Some(m) = &x.risk_maturity {
            let _ = writeln!(out, "- **{}**: maturity {} ({})", x.agent_id, m.grade, m.reason);
        }
        for p in &x.risk_history {
            let _ = writeln!(out, "  - {}  \n    from {}", path_line(p), cite(&p.evidence));
        }
        for p in &x.precedence {
            let _ = writeln!(out, "  - {}  \n    from {}", p.sentence, cite(&p.evidence));
        }
        if !x.narrative.is_empty() {
            let _ = writeln!(out, "  - What happened, in order:");
            for sentence in &x.narrative {
                let _ = writeln!(
                    out,
                    "    - {} ({})",
                    sentence.text,
                    cite(std::slice::from_ref(&sentence.evidence))
                );
            }
        }
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
    breakdowns(&mut out, a, Style::Markdown);
    if !a.problems.is_empty() {
        let _ = writeln!(out, "## Input problems\n");
        for p in &a.problems {
            let _ = writeln!(out, "- {p}");
        }
    }
    out
}

/// The agents whose charts and score breakdowns the report shows: the
/// riskiest ones (every agent's breakdown is in the JSON assessment).
pub const RISKIEST: usize = 50;

/// The markup a part of the report is written in.
#[derive(Clone, Copy)]
enum Style {
    Markdown,
    Html,
}

/// How each score of the riskiest agents was reached, component by
/// component with the records read, in `style`.
fn breakdowns(out: &mut String, a: &Assessment, style: Style) {
    let text = |text: &str| match style {
        Style::Markdown => text.to_owned(),
        Style::Html => escape(text),
    };
    if a.agents.len() > RISKIEST {
        let note = format!(
            "The {RISKIEST} riskiest agents of {}; every agent's breakdown is in the JSON assessment.",
            a.agents.len()
        );
        let _ = match style {
            Style::Markdown => writeln!(out, "{note}\n"),
            Style::Html => writeln!(out, "<p>{}</p>", escape(&note)),
        };
    }
    for x in a.agents.iter().take(RISKIEST) {
        let _ = match style {
            Style::Markdown => writeln!(out, "### {}\n", x.agent_id),
            Style::Html => writeln!(out, "<h3>{}</h3>\n<pre>", escape(&x.agent_id)),
        };
        for (name, score) in
            [("integration", &x.integration), ("risk", &x.risk), ("value leakage", &x.value_leakage)]
        {
            let _ = writeln!(out, "{name} {}:\n", score.value);
            for c in &score.components {
                let line = format!(
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
                let _ = writeln!(out, "{}", text(&line));
            }
            let _ = writeln!(out);
        }
        if let Style::Html = style {
            let _ = writeln!(out, "</pre>");
        }
    }
}

/// A risk's path in one line: its severities, which way it went, how long
/// it persisted, and whether it is open (for how long) or resolved (in how
/// long), and whether it came back.
fn path_line(p: &crate::history::RiskPath) -> String {
    use crate::history::Direction;
    let severities: Vec<&str> = p.severities.iter().map(|s| s.as_str()).collect();
    let way = match p.direction {
        Direction::Escalated => "escalated",
        Direction::DeEscalated => "de-escalated",
        Direction::Unchanged => "unchanged",
        Direction::Single => "seen once",
    };
    let mut line = format!("{} ({}): {} ({way})", p.risk_id, p.risk_type, severities.join(" → "));
    if p.persisted() {
        line.push_str(&format!(", persisted {} periods", p.longest_run));
    }
    match (p.days_open, p.days_to_resolve) {
        (Some(days), _) => line.push_str(&format!(", open {days} days")),
        (_, Some(days)) => line.push_str(&format!(", resolved in {days} days")),
        _ => {}
    }
    if p.recurred {
        line.push_str(", came back after it was resolved");
    }
    line
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The report as one HTML page with `charts` (name, SVG) inline.
pub fn html(workspace: &str, assessment: &Assessment, charts: &[(&str, String)]) -> String {
    let a = assessment;
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Agent portfolio of {0} as of {1}</title>\
         <style>body{{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}}table{{border-collapse:collapse}}\
         td,th{{border:1px solid #ccc;padding:4px 8px}}td.n{{text-align:right}}.ev{{color:#555;font-size:90%}}</style></head><body>\n\
         <h1>Agent portfolio of {0} as of {1}</h1>\n",
        escape(workspace),
        a.as_of
    );
    if !a.summary.is_empty() {
        let _ = writeln!(out, "<ul>");
        for line in &a.summary {
            let _ = write!(out, "<li>{}", escape(&line.text));
            if !line.evidence.is_empty() {
                let _ = write!(out, "<br><span class=\"ev\">from {}</span>", escape(&cite(&line.evidence)));
            }
            let _ = writeln!(out, "</li>");
        }
        let _ = writeln!(out, "</ul>");
    }
    let _ = writeln!(
        out,
        "<h2>Agents, riskiest first</h2>\n<table><tr><th>agent</th><th>status</th><th>risk</th><th>integration</th><th>value leakage</th><th>risk trend</th><th>HITL USD/day</th></tr>"
    );
    for x in &a.agents {
        let trend = x.trends.first().map(|t| label(t.label)).unwrap_or("");
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{trend}</td><td class=\"n\">{}</td></tr>",
            escape(&x.agent_id),
            x.status,
            x.risk.value,
            x.integration.value,
            x.value_leakage.value,
            x.hitl_cost_per_day.map_or("-".to_owned(), |c| format!("{c:.2}"))
        );
    }
    let _ = writeln!(out, "</table>\n<h2>Charts</h2>");
    for (name, svg) in charts {
        let _ = writeln!(out, "<figure id=\"{}\">{svg}</figure>", escape(name));
    }
    let _ = writeln!(out, "<h2>Escalations</h2>\n<ul>");
    for e in &a.escalations {
        let _ = writeln!(
            out,
            "<li><b>{}</b> ({}): {}<div class=\"ev\">from {}</div></li>",
            escape(&e.subject),
            e.rule,
            escape(&e.message),
            escape(&cite(&e.evidence))
        );
    }
    let _ = writeln!(out, "</ul>\n<h2>Recommendations</h2>\n<ul>");
    for r in &a.recommendations {
        let _ = writeln!(
            out,
            "<li><b>{}</b> {}: {}<div class=\"ev\">from {}</div></li>",
            r.action,
            escape(&r.subject),
            escape(&r.reason),
            escape(&cite(&r.evidence))
        );
    }
    let _ = writeln!(out, "</ul>\n<h2>Changes over the window</h2>\n<ul>");
    for x in a.agents.iter().take(RISKIEST).filter(|x| !x.window_changes.is_empty()) {
        let _ = writeln!(out, "<li><b>{}</b><ul>", escape(&x.agent_id));
        for c in &x.window_changes {
            let _ = writeln!(
                out,
                "<li>{}<div class=\"ev\">from {}</div></li>",
                escape(&c.sentence),
                escape(&cite(&c.evidence))
            );
        }
        let _ = writeln!(out, "</ul></li>");
    }
    let _ = writeln!(out, "</ul>\n<h2>Risk history and maturity</h2>\n<ul>");
    for x in a.agents.iter().filter(|x| x.risk_maturity.is_some()) {
        if let Some(m) = &x.risk_maturity {
            let _ = writeln!(
                out,
                "<li><b>{}</b>: maturity {} ({})<ul>",
                escape(&x.agent_id),
                m.grade,
                escape(&m.reason)
            );
        }
        for p in &x.risk_history {
            let _ = writeln!(
                out,
                "<li>{}<div class=\"ev\">from {}</div></li>",
                escape(&path_line(p)),
                escape(&cite(&p.evidence))
            );
        }
        for p in &x.precedence {
            let _ = writeln!(
                out,
                "<li>{}<div class=\"ev\">from {}</div></li>",
                escape(&p.sentence),
                escape(&cite(&p.evidence))
            );
        }
        if !x.narrative.is_empty() {
            let _ = writeln!(out, "<li>What happened, in order:<ol>");
            for sentence in &x.narrative {
                let _ = writeln!(
                    out,
                    "<li>{}<div class=\"ev\">from {}</div></li>",
                    escape(&sentence.text),
                    escape(&cite(std::slice::from_ref(&sentence.evidence)))
                );
            }
            let _ = writeln!(out, "</ol></li>");
        }
        let _ = writeln!(out, "</ul></li>");
    }
    let _ = writeln!(out, "</ul>\n<h2>How each score was reached</h2>");
    breakdowns(&mut out, a, Style::Html);
    if !a.problems.is_empty() {
        let _ = writeln!(out, "<h2>Input problems</h2>\n<pre>");
        for p in &a.problems {
            let _ = writeln!(out, "- {}", escape(p));
        }
        let _ = writeln!(out, "</pre>");
    }
    let _ = writeln!(out, "</body></html>");
    out
}
