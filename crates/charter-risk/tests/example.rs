//! Acceptance on the example workspace, for the parts built so far: the
//! SendGrid system is flagged for expiring credentials and high latency
//! with the sales workflow in its blast radius, and the support agent's
//! `zendesk` and `knowledge_base`, which no system record describes, are
//! flagged as undocumented. Every conclusion names its records.

use std::collections::BTreeMap;

use charter_model::{Agent, RecordKind, System, Workflow};
use charter_risk::{Config, integration_score, system_blast_radius};

fn load<T: serde::de::DeserializeOwned>(file: &str) -> Vec<T> {
    let path = format!("{}/../../examples/ops-workspace/{file}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn sendgrid_and_undocumented_dependencies_are_flagged_with_their_records() {
    let agents: Vec<Agent> = load("agents.json");
    let systems: Vec<System> = load("system_integrations.json");
    let workflows: Vec<Workflow> = load("workflows.json");
    let by_id: BTreeMap<&str, &System> = systems.iter().map(|s| (s.system_id.as_str(), s)).collect();
    let config = Config::default();
    assert!(config.problems().is_empty());

    let sales = agents.iter().find(|a| a.agent_id.as_str() == "agent_sales_01").unwrap();
    let (_, flags) = integration_score(sales, &by_id, &config);
    let sendgrid: Vec<&str> = flags.iter().filter(|f| f.system == "email_sendgrid").map(|f| f.kind).collect();
    assert!(sendgrid.contains(&"auth_expiring") && sendgrid.contains(&"latency"), "{sendgrid:?}");
    for flag in flags.iter().filter(|f| f.system == "email_sendgrid") {
        assert!(
            flag.evidence.iter().all(|e| e.kind == RecordKind::System && e.id == "email_sendgrid"),
            "{flag:?}"
        );
    }
    let radius = system_blast_radius("email_sendgrid", &agents, &workflows);
    assert_eq!(radius.agents, ["agent_sales_01"]);
    assert_eq!(radius.workflows, ["wf_sales_outreach"]);
    assert!(radius.evidence.iter().any(|e| e.kind == RecordKind::Workflow && e.id == "wf_sales_outreach"));

    let support = agents.iter().find(|a| a.agent_id.as_str() == "agent_support_02").unwrap();
    let (score, flags) = integration_score(support, &by_id, &config);
    let undocumented: Vec<&str> =
        flags.iter().filter(|f| f.kind == "undocumented").map(|f| f.system.as_str()).collect();
    assert_eq!(undocumented, ["zendesk", "knowledge_base"]);
    let component = score.components.iter().find(|c| c.name == "undocumented").unwrap();
    assert_eq!(component.penalty, 100.0);
    assert_eq!(component.evidence.len(), 2);
}

#[test]
fn value_leakage_and_trends_of_the_invoice_and_sales_agents() {
    use charter_model::{Snapshot, ValueRecord};
    use charter_risk::trend::{Label, history, trend};
    let values: Vec<ValueRecord> = load("expected_vs_actual_value.json");
    let snapshots: Vec<Snapshot> = load("historical_snapshots.json");
    let config = Config::default();
    let of = |agent: &str| values.iter().filter(|v| v.agent_id.as_str() == agent).collect::<Vec<_>>();

    // The invoice agent: ROI −300 against 2,000 expected, cost 940 against
    // 600, manual minutes up from 3 to 6.
    let (score, findings) = charter_risk::value_leakage(&of("agent_finance_01"), &config);
    let kinds: Vec<&str> = findings.iter().map(|f| f.kind).collect();
    assert_eq!(kinds, ["negative_roi", "cost_overrun", "manual_growth", "no_owner_signoff"]);
    let manual = findings.iter().find(|f| f.kind == "manual_growth").unwrap();
    assert!(manual.message.contains("from 3 to 6"), "{}", manual.message);
    assert_eq!(manual.evidence[0].id, "agent_finance_01@2024-11-01");
    let penalties: Vec<f64> = score.components.iter().map(|c| c.penalty).collect();
    assert_eq!(penalties, [100.0, 56.7, 100.0]);
    assert_eq!(score.value, 87.0); // 50 + 17.01 + 20

    // The sales agent: ROI below expectation, no owner signoff in December,
    // risk 32 → 63 over six snapshots: degrading.
    let (_, findings) = charter_risk::value_leakage(&of("agent_sales_01"), &config);
    let kinds: Vec<&str> = findings.iter().map(|f| f.kind).collect();
    assert!(kinds.contains(&"roi_below_expectation") && kinds.contains(&"no_owner_signoff"), "{kinds:?}");
    let signoff = findings.iter().find(|f| f.kind == "no_owner_signoff").unwrap();
    assert!(signoff.message.contains("2024-12-01 to 2024-12-31"), "{}", signoff.message);
    let (sorted, problems) = history("agent_sales_01", &snapshots);
    assert!(problems.is_empty());
    let risk = trend(
        "risk_score",
        &sorted,
        |s| s.risk_score,
        true,
        config.trend_threshold_points,
        config.trend_min_snapshots,
    );
    assert_eq!(
        (risk.label, risk.first, risk.last, risk.snapshots),
        (Label::Degrading, Some(32.0), Some(63.0), 6)
    );

    // No history at all: insufficient, never a fabricated trend.
    let (none, _) = history("agent_support_02", &snapshots);
    let t = trend("risk_score", &none, |s| s.risk_score, true, 10.0, 3);
    assert_eq!(t.label, Label::InsufficientHistory);
    let (score, findings) = charter_risk::value_leakage(&of("agent_support_02"), &config);
    assert_eq!((score.value, findings.len()), (0.0, 0));
}

/// The layers a risk score reads: agents, risk signals, workflows, snapshots.
fn risk_layers() -> (Vec<Agent>, Vec<charter_model::RiskSignal>, Vec<Workflow>, Vec<charter_model::Snapshot>)
{
    (
        load("agents.json"),
        load("risk_signals.json"),
        load("workflows.json"),
        load("historical_snapshots.json"),
    )
}

fn refs<T>(records: &[T]) -> Vec<&T> {
    records.iter().collect()
}

#[test]
fn the_invoice_agents_risk_names_its_escalation_and_its_failing_workflow() {
    use charter_model::OwnershipReview;
    use charter_risk::{Evidence, RiskInputs, risk_score};
    let (agents, signals, workflows, snapshots) = risk_layers();
    let (signals, workflows) = (refs(&signals), refs(&workflows));
    let reviews: Vec<OwnershipReview> = load("ownership_review_history.json");
    let finance = agents.iter().find(|a| a.agent_id.as_str() == "agent_finance_01").unwrap();
    let own: Vec<&OwnershipReview> = reviews.iter().filter(|r| r.agent_id == finance.agent_id).collect();
    let (history, _) = charter_risk::trend::history("agent_finance_01", &snapshots);
    let minutes = Evidence::new(
        RecordKind::ValueRecord,
        "agent_finance_01@2024-12-01",
        "actual.manual_minutes_per_run",
        6,
    );
    let inputs = RiskInputs {
        agent: finance,
        signals: &signals,
        workflows: &workflows,
        reviews: &own,
        manual_minutes: Some((6.0, &minutes)),
        history: &history,
        min_snapshots: 3,
        as_of: "2025-01-15".parse().unwrap(),
    };
    let score = risk_score(&inputs, &Config::default());
    let component = |name: &str| score.components.iter().find(|c| c.name == name).unwrap();
    // wf_invoice_processing at 12.5% of 20% (62.5) is worse than the growth
    // from 8.2% to 12.5% over the snapshots (+52%); both are cited.
    let failure = component("failure_rate");
    assert_eq!(failure.penalty, 62.5);
    assert!(failure.evidence.iter().any(|e| e.id == "agent_finance_01@2024-11-15"), "{failure:?}");
    assert_eq!(component("hitl").penalty, 100.0); // 6 manual minutes per run, 5 is the full penalty
    let friction = component("ownership_friction");
    // rev_005 on 2024-12-19 is 27 days before (45 is the full penalty): 60;
    // 3 action items: 30; one escalation: 25; at most 100.
    assert_eq!(friction.penalty, 100.0);
    assert!(friction.evidence.iter().any(|e| e.id == "rev_005" && e.value == "escalated"), "{friction:?}");
    assert!(component("signals").evidence.iter().any(|e| e.id == "risk_002"));
    assert!(component("hitl").evidence.contains(&minutes));
    assert!(score.value > 0.0 && score.value <= 100.0);
}

#[test]
fn a_failure_rate_growing_fast_costs_more_than_its_level() {
    use charter_model::OwnershipReview;
    use charter_risk::{RiskInputs, risk_score};
    let (agents, signals, workflows, snapshots) = risk_layers();
    let (signals, workflows) = (refs(&signals), refs(&workflows));
    let sales = agents.iter().find(|a| a.agent_id.as_str() == "agent_sales_01").unwrap();
    let (history, _) = charter_risk::trend::history("agent_sales_01", &snapshots);
    let reviews: Vec<&OwnershipReview> = Vec::new();
    let inputs = RiskInputs {
        agent: sales,
        signals: &signals,
        workflows: &workflows,
        reviews: &reviews,
        manual_minutes: None,
        history: &history,
        min_snapshots: 3,
        as_of: "2025-01-15".parse().unwrap(),
    };
    let score = risk_score(&inputs, &Config::default());
    let failure = score.components.iter().find(|c| c.name == "failure_rate").unwrap();
    // wf_sales_outreach is at 3.2% (16 of 100), but its rate went from 1.4%
    // to 3.9% over six snapshots (+179%): the growth sets the penalty.
    assert_eq!(failure.penalty, 100.0);
    assert!(
        failure.detail.starts_with("failure rate 1.4% → 3.9% over 6 snapshots (+179%)"),
        "{}",
        failure.detail
    );
    let ids: Vec<&str> = failure.evidence.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["wf_sales_outreach", "agent_sales_01@2024-11-15", "agent_sales_01@2024-12-20"]);
    // With fewer snapshots than a trend needs, only the level counts.
    let short = RiskInputs { history: &history[..2], ..inputs };
    let score = risk_score(&short, &Config::default());
    let failure = score.components.iter().find(|c| c.name == "failure_rate").unwrap();
    assert_eq!(failure.penalty, 16.0);
}

#[test]
fn the_whole_assessment_of_the_example_names_its_records() {
    use charter_model::{KpiRecord, OwnershipReview, RiskSignal, Snapshot, ValueRecord};
    use charter_risk::trend::Label;
    use charter_risk::{Portfolio, assess};
    let (agents, systems, workflows): (Vec<Agent>, Vec<System>, Vec<Workflow>) =
        (load("agents.json"), load("system_integrations.json"), load("workflows.json"));
    let (kpis, signals, snapshots): (Vec<KpiRecord>, Vec<RiskSignal>, Vec<Snapshot>) =
        (load("kpis_cost.json"), load("risk_signals.json"), load("historical_snapshots.json"));
    let (values, reviews): (Vec<ValueRecord>, Vec<OwnershipReview>) =
        (load("expected_vs_actual_value.json"), load("ownership_review_history.json"));
    let portfolio = Portfolio {
        agents: &agents,
        systems: &systems,
        workflows: &workflows,
        kpis: &kpis,
        signals: &signals,
        snapshots: &snapshots,
        values: &values,
        reviews: &reviews,
        risk_events: &[],
        as_of: "2025-01-15".parse().unwrap(),
    };
    let config = Config::default();
    let assessment = assess(&portfolio, &config);
    assert_eq!(assessment, assess(&portfolio, &config), "same records, same as-of: same assessment");
    let report = charter_risk::report::markdown("ops", &assessment);
    assert_eq!(report, charter_risk::report::markdown("ops", &assess(&portfolio, &config)), "byte-identical");
    // The HTML page has headings where the Markdown has them, not the marks.
    let page = charter_risk::report::html("ops", &assessment, &[]);
    assert!(page.contains("<h3>agent_finance_01</h3>"), "{page}");
    assert!(!page.contains("### "), "{page}");
    assert_eq!(page.matches("<pre>").count(), page.matches("</pre>").count());
    assert!(report.contains("**agent_finance_01** (negative_roi_high_criticality)"), "{report}");
    assert!(
        report.contains("`ownership_review/rev_005` review_outcome = escalated by VP Finance"),
        "{report}"
    );
    assert!(assessment.problems.is_empty(), "{:?}", assessment.problems);

    // The invoice agent is escalated: negative ROI on high criticality,
    // the VP-level escalation on record, manual minutes up from 3 to 6.
    let invoice = assessment
        .escalations
        .iter()
        .find(|e| e.subject == "agent_finance_01" && e.rule == "negative_roi_high_criticality")
        .expect("the invoice agent is escalated");
    let ids: Vec<(&str, &str)> = invoice.evidence.iter().map(|e| (e.id.as_str(), e.field)).collect();
    assert!(ids.contains(&("agent_finance_01", "kpis.roi_estimate_usd")), "{ids:?}");
    assert!(
        invoice.evidence.iter().any(|e| e.id == "rev_005" && e.value == "escalated by VP Finance"),
        "{ids:?}"
    );
    assert!(ids.contains(&("agent_finance_01@2024-11-01", "actual.manual_minutes_per_run")), "{ids:?}");
    assert!(ids.contains(&("agent_finance_01@2024-12-01", "actual.manual_minutes_per_run")), "{ids:?}");

    // The sales agent is degrading, below its expected ROI, without a December signoff.
    let sales = assessment.agents.iter().find(|a| a.agent_id == "agent_sales_01").unwrap();
    assert_eq!(sales.trends[0].label, Label::Degrading);
    assert_eq!((sales.trends[0].first, sales.trends[0].last), (Some(32.0), Some(63.0)));
    // Messages show scores as people read them, never program values.
    assert!(!assessment.escalations.is_empty());
    for escalation in &assessment.escalations {
        assert!(!escalation.message.contains("Some("), "{}", escalation.message);
    }
    let kinds: Vec<&str> = sales.value_findings.iter().map(|f| f.kind).collect();
    assert!(kinds.contains(&"roi_below_expectation") && kinds.contains(&"no_owner_signoff"), "{kinds:?}");

    // SendGrid: expiring credentials and latency, the sales workflow in its blast radius.
    let sendgrid: Vec<&str> = assessment
        .escalations
        .iter()
        .filter(|e| e.subject == "email_sendgrid")
        .map(|e| e.message.as_str())
        .collect();
    // One escalation for the system, however many agents use it.
    assert_eq!(sendgrid.len(), 1, "{sendgrid:?}");
    assert!(sendgrid[0].contains("credentials expiring_soon"), "{sendgrid:?}");
    assert!(sendgrid[0].contains("p95 latency 890"), "{sendgrid:?}");
    assert!(
        sendgrid[0].ends_with("1 agent(s) and 1 workflow(s) depend on it (wf_sales_outreach)"),
        "{sendgrid:?}"
    );
    let cited = &assessment.escalations.iter().find(|e| e.subject == "email_sendgrid").unwrap().evidence;
    for (kind, id, field) in [
        ("system", "email_sendgrid", "auth_status"),
        ("system", "email_sendgrid", "latency_ms_p95"),
        ("agent", "agent_sales_01", "dependencies"),
        ("workflow", "wf_sales_outreach", "agent_id"),
    ] {
        assert!(
            cited.iter().any(|e| (e.kind.name(), e.id.as_str(), e.field) == (kind, id, field)),
            "{kind}/{id}.{field}"
        );
    }
    let radius = assessment.systems.iter().find(|s| s.system == "email_sendgrid").unwrap();
    assert_eq!(radius.workflows, ["wf_sales_outreach"]);

    // The support agent's undocumented dependencies.
    let support = assessment.agents.iter().find(|a| a.agent_id == "agent_support_02").unwrap();
    let undocumented: Vec<&str> =
        support.flags.iter().filter(|f| f.kind == "undocumented").map(|f| f.system.as_str()).collect();
    assert_eq!(undocumented, ["zendesk", "knowledge_base"]);
    assert_eq!(support.trends[0].label, Label::InsufficientHistory);

    // The invoice workflow is a scale risk; reduce the human in the loop.
    assert!(assessment.escalations.iter().any(|e| e.rule == "scale_risk" && e.subject == "agent_finance_01"));
    assert!(assessment.recommendations.iter().any(|r| r.action == "reduce_human_in_the_loop"));
    for escalation in &assessment.escalations {
        assert!(!escalation.evidence.is_empty(), "{escalation:?}");
    }
    for recommendation in &assessment.recommendations {
        assert!(!recommendation.evidence.is_empty(), "{recommendation:?}");
    }
}

#[test]
fn records_for_unknown_agents_are_reported_not_scored() {
    use charter_model::KpiRecord;
    use charter_risk::{Portfolio, assess};
    let agents: Vec<Agent> = load("agents.json");
    let kpis: Vec<KpiRecord> =
        serde_json::from_str(r#"[{"agent_id":"agent_ghost_09","kpis":{"roi_estimate_usd":5}}]"#).unwrap();
    let portfolio = Portfolio {
        agents: &agents,
        systems: &[],
        workflows: &[],
        kpis: &kpis,
        signals: &[],
        snapshots: &[],
        values: &[],
        reviews: &[],
        risk_events: &[],
        as_of: "2025-01-15".parse().unwrap(),
    };
    let assessment = assess(&portfolio, &Config::default());
    assert_eq!(assessment.problems.len(), 1);
    assert!(assessment.problems[0].contains("agent_ghost_09"));
    assert_eq!(assessment.agents.len(), agents.len());
    let json = serde_json::to_string(&assessment).unwrap();
    assert!(!json.contains("NaN") && !json.contains("-0.0"), "{json}");
}

#[test]
fn the_four_charts_are_svg_and_the_same_every_time() {
    use charter_model::Snapshot;
    let snapshots: Vec<Snapshot> = load("historical_snapshots.json");
    let agents = ["agent_finance_01", "agent_sales_01", "agent_support_02"];
    let as_of: charter_model::Date = "2025-01-31".parse().unwrap();
    let charts = charter_risk::charts::charts(&snapshots, &agents, as_of, &Config::default()).unwrap();
    let names: Vec<&str> = charts.iter().map(|(name, _)| *name).collect();
    assert_eq!(names, ["risk-over-time.svg", "cost-vs-roi.svg", "failure-vs-manual.svg", "risk-heatmap.svg"]);
    for (name, svg) in &charts {
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"), "{name}");
    }
    assert!(charts[0].1.contains("agent_sales_01") && charts[3].1.contains("agent_finance_01"));
    assert!(!charts[3].1.contains("agent_support_02"), "an agent without snapshots has no heatmap row");
    assert_eq!(charts, charter_risk::charts::charts(&snapshots, &agents, as_of, &Config::default()).unwrap());
    // Snapshots after the day reported are not drawn.
    let early =
        charter_risk::charts::charts(&snapshots, &agents, "2024-11-30".parse().unwrap(), &Config::default())
            .unwrap();
    assert!(early[0].1.contains("2024-11-29") && !early[0].1.contains("2024-12-20"));
    // The workspace's bands colour the charts.
    let strict = Config { risk_amber_from: 20.0, risk_red_from: 50.0, ..Config::default() };
    let banded = charter_risk::charts::charts(&snapshots, &agents, as_of, &strict).unwrap();
    assert_ne!(banded[0].1, charts[0].1, "the bands move");
    assert_ne!(banded[3].1, charts[3].1, "the heatmap recolours");
    // No snapshots at all still draws (empty) charts rather than failing.
    assert_eq!(charter_risk::charts::charts(&[], &agents, as_of, &Config::default()).unwrap().len(), 4);
}

/// The default weights continue the example's imported history: Charter's
/// own scores as of 2025-01-15 land within 6 points of each agent's last
/// imported snapshot (2024-12-20), so a snapshot `charter assess` saves
/// extends the series instead of breaking it, and the trends keep their
/// labels once it is in.
#[test]
fn charters_scores_continue_the_imported_history() {
    use charter_model::{KpiRecord, OwnershipReview, RiskSignal, Snapshot, ValueRecord};
    use charter_risk::trend::Label;
    use charter_risk::{Portfolio, assess};
    let (agents, systems, workflows): (Vec<Agent>, Vec<System>, Vec<Workflow>) =
        (load("agents.json"), load("system_integrations.json"), load("workflows.json"));
    let (kpis, signals, mut snapshots): (Vec<KpiRecord>, Vec<RiskSignal>, Vec<Snapshot>) =
        (load("kpis_cost.json"), load("risk_signals.json"), load("historical_snapshots.json"));
    let (values, reviews): (Vec<ValueRecord>, Vec<OwnershipReview>) =
        (load("expected_vs_actual_value.json"), load("ownership_review_history.json"));
    let as_of = "2025-01-15".parse().unwrap();
    let base = Portfolio {
        agents: &agents,
        systems: &systems,
        workflows: &workflows,
        kpis: &kpis,
        signals: &signals,
        snapshots: &[],
        values: &values,
        reviews: &reviews,
        risk_events: &[],
        as_of,
    };
    let config = Config::default();
    let assessment = assess(&Portfolio { snapshots: &snapshots, ..base }, &config);
    for id in ["agent_finance_01", "agent_sales_01"] {
        let agent = assessment.agents.iter().find(|a| a.agent_id == id).unwrap();
        let last =
            snapshots.iter().filter(|s| s.agent_id.as_str() == id).max_by_key(|s| s.snapshot_date).unwrap();
        for (score, computed, imported) in [
            ("risk", agent.risk.value, last.risk_score),
            ("integration", agent.integration.value, last.integration_score),
            ("value_leakage", agent.value_leakage.value, last.value_leakage_score),
        ] {
            assert!(
                (computed - imported).abs() <= 6.0,
                "{id} {score}: computed {computed}, last imported {imported}"
            );
        }
    }
    // The snapshot save step, then the trends over imported and saved alike.
    for agent in &assessment.agents {
        let Some(kpi) = kpis.iter().find(|k| k.agent_id.as_str() == agent.agent_id) else { continue };
        snapshots.push(Snapshot {
            agent_id: agent.agent_id.parse().unwrap(),
            cost_usd_30d: kpi.kpis.cost_usd_30d.unwrap(),
            daily_invocations: agent.daily_invocations,
            failure_rate_7d: agent.failure_rate_7d.unwrap_or(0.0),
            integration_score: agent.integration.value,
            manual_minutes_per_run: agent.manual_minutes_per_run.unwrap_or(0.0),
            risk_score: agent.risk.value,
            roi_estimate_usd: kpi.kpis.roi_estimate_usd.unwrap(),
            snapshot_date: as_of,
            value_leakage_score: agent.value_leakage.value,
        });
    }
    let after = assess(&Portfolio { snapshots: &snapshots, ..base }, &config);
    for id in ["agent_finance_01", "agent_sales_01"] {
        let trends = &after.agents.iter().find(|a| a.agent_id == id).unwrap().trends;
        assert_eq!(trends[0].snapshots, 7, "{id}");
        assert_eq!(
            trends.iter().map(|t| t.label).collect::<Vec<_>>(),
            [Label::Degrading, Label::Degrading, Label::Degrading],
            "{id}: risk, value leakage and integration keep degrading"
        );
    }
}

/// The example's risk history, checked by hand against
/// `risk_signal_history.json`:
/// - `risk_sendgrid_latency` (sales): low 11-18, medium 11-25, high 12-06,
///   all open: escalated, never two periods at one severity.
/// - `risk_token_cost_spike` (sales): medium 11-29, medium 12-06, low and
///   resolved 12-13 16:05: persisted two periods, de-escalated, resolved
///   14.3 days after it was first seen (11-29 08:22).
/// - `risk_invoice_manual_override` (finance): medium 11-22, high 11-29,
///   high 12-13, open: escalated and persisted two periods at high.
/// - `risk_erp_schema_mismatch` (finance): medium 12-06, open: one event.
#[test]
fn the_example_risk_history_names_what_escalated_persisted_and_was_resolved() {
    let events: Vec<charter_model::RiskEvent> = load("risk_signal_history.json");
    let paths = charter_risk::risk_paths(&events, "2024-12-20".parse().unwrap());
    let names = |keep: &dyn Fn(&charter_risk::RiskPath) -> bool| -> Vec<&str> {
        paths.iter().filter(|p| keep(p)).map(|p| p.risk_id.as_str()).collect()
    };
    use charter_risk::Direction;
    assert_eq!(
        names(&|p| p.direction == Direction::Escalated),
        ["risk_invoice_manual_override", "risk_sendgrid_latency"]
    );
    assert_eq!(names(&|p| p.persisted()), ["risk_invoice_manual_override", "risk_token_cost_spike"]);
    assert_eq!(names(&|p| !p.open), ["risk_token_cost_spike"]);
    assert_eq!(names(&|p| p.direction == Direction::Single), ["risk_erp_schema_mismatch"]);
    assert!(paths.iter().all(|p| !p.recurred));
    let token = paths.iter().find(|p| p.risk_id == "risk_token_cost_spike").unwrap();
    assert_eq!(token.direction, Direction::DeEscalated);
    assert_eq!(token.days_to_resolve, Some(14.3));
    assert_eq!(token.longest_run, 2);
    let invoice = paths.iter().find(|p| p.risk_id == "risk_invoice_manual_override").unwrap();
    assert_eq!((invoice.agent_id.as_str(), invoice.longest_run), ("agent_finance_01", 2));
    assert_eq!(
        invoice.evidence.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
        ["risk_evt_007", "risk_evt_008", "risk_evt_009"]
    );
    let sendgrid = paths.iter().find(|p| p.risk_id == "risk_sendgrid_latency").unwrap();
    // Open from 11-18 09:12 to the end of 12-20.
    assert_eq!(sendgrid.days_open, Some(32.6));
    assert_eq!(sendgrid.peak, charter_model::Severity::High);
}

/// The sales agent's snapshots over the 30 days ending 2024-12-20, by hand:
/// 2024-11-22 to 2024-12-20 (five snapshots); risk 38 → 63 (+65.8%), cost
/// 1380 → 1820 (+31.9%), ROI 13600 → 12500 (−8.1%), failure rate 1.9 →
/// 3.9 (+105.3%), manual minutes 0 → 2 (no percent of 0).
#[test]
fn window_changes_say_how_much_over_which_days() {
    let snapshots: Vec<charter_model::Snapshot> = load("historical_snapshots.json");
    let mut sales: Vec<&charter_model::Snapshot> =
        snapshots.iter().filter(|s| s.agent_id.as_str() == "agent_sales_01").collect();
    sales.sort_by_key(|s| s.snapshot_date);
    let changes = charter_risk::window_changes(&sales, "2024-12-20".parse().unwrap(), 30, 3);
    let read: Vec<(&str, Option<f64>, &str)> =
        changes.iter().map(|c| (c.metric, c.percent, c.direction)).collect();
    assert_eq!(
        read,
        [
            ("risk_score", Some(65.8), "increased"),
            ("cost_usd_30d", Some(31.9), "increased"),
            ("roi_estimate_usd", Some(-8.1), "decreased"),
            ("failure_rate_7d", Some(105.3), "increased"),
            ("manual_minutes_per_run", None, "increased"),
        ]
    );
    assert_eq!(changes[0].snapshots, 5);
    assert_eq!(
        changes[0].sentence,
        "Risk score has increased 65.8% over the last 30 days (38 on 2024-11-22 to 63 on 2024-12-20)"
    );
    assert_eq!(
        changes[2].sentence,
        "ROI has decreased 8.1% over the last 30 days (13600 on 2024-11-22 to 12500 on 2024-12-20)"
    );
    assert!(
        changes[4].sentence.starts_with("Manual minutes per run has increased by 2 over"),
        "{}",
        changes[4].sentence
    );
    // A window with fewer snapshots than a trend needs states nothing.
    assert!(charter_risk::window_changes(&sales, "2024-12-20".parse().unwrap(), 10, 3).is_empty());
}

/// What began before what, by hand from the example as of 2025-01-15. The
/// sales agent: integration risk first seen 2024-11-18 (risk_evt_001); its
/// risk score, cost and failure rate first rose on 2024-11-22 and never
/// turned back; cost risk first seen and manual minutes first rose on
/// 2024-11-29; ROI turned back up on 2024-12-20, so it is not falling. The
/// invoice agent: integration risk (the ERP mismatch) on 2024-12-06, then
/// ROI below zero from 2024-12-13.
#[test]
fn precedence_says_what_began_before_what_with_both_dates() {
    let snapshots: Vec<charter_model::Snapshot> = load("historical_snapshots.json");
    let events: Vec<charter_model::RiskEvent> = load("risk_signal_history.json");
    let signals: Vec<charter_model::RiskSignal> = load("risk_signals.json");
    let as_of = "2025-01-15".parse().unwrap();
    let of = |agent: &str| {
        let mut history: Vec<&charter_model::Snapshot> =
            snapshots.iter().filter(|s| s.agent_id.as_str() == agent).collect();
        history.sort_by_key(|s| s.snapshot_date);
        let events: Vec<&charter_model::RiskEvent> =
            events.iter().filter(|e| e.agent_id.as_str() == agent).collect();
        let signals: Vec<&charter_model::RiskSignal> =
            signals.iter().filter(|s| s.agent_id.as_str() == agent).collect();
        charter_risk::precedence(&history, &events, &signals, as_of)
    };
    let sales: Vec<String> = of("agent_sales_01").into_iter().map(|p| p.sentence).collect();
    assert_eq!(
        sales,
        [
            "Integration risk emerged on 2024-11-18, before cost began rising, the failure rate began rising and \
             the risk score began rising on 2024-11-22.",
            "Cost began rising, the failure rate began rising and the risk score began rising on 2024-11-22, \
             before cost risk emerged and manual minutes per run began rising on 2024-11-29.",
        ]
    );
    let invoice = of("agent_finance_01");
    let last = invoice.last().unwrap();
    assert_eq!(
        last.sentence,
        "Integration risk emerged on 2024-12-06, before ROI turned negative on 2024-12-13."
    );
    let cited: Vec<&str> = last.evidence.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(cited, ["risk_evt_010", "agent_finance_01@2024-12-13"]);
}
