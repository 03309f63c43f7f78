//! `charter assess` as a use case, on SQLite and PostgreSQL: the example's
//! escalations, and one snapshot per agent with KPIs, saved once.

use std::path::PathBuf;
use std::sync::Arc;

use charter_app::AppError;
use charter_app::{App, Caller, FixedClock, ImportSource};
use charter_model::{Record, RecordKind, RiskSettings, WorkspaceName};
use charter_store::testing::each_backend;

/// An app on `store` with the example imported as `ops`, a local caller
/// and the day assessed.
async fn example(store: charter_store::Store) -> (App, WorkspaceName, Caller, charter_model::Date) {
    let app = App::with_clock(store, Arc::new(FixedClock("2025-01-15T09:00:00Z".parse().unwrap())));
    let ops = WorkspaceName::new("ops").unwrap();
    let local = Caller::local("ops_governance_lead");
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/ops-workspace");
    app.import(&local, &ops, ImportSource::from_dir(&dir).unwrap(), true).await.unwrap();
    (app, ops, local, "2025-01-15".parse().unwrap())
}

/// A copy of the example (its JSON files) in a temporary directory, with
/// `kpis` as its `kpis_cost.json`.
fn example_with_kpis(kpis: &serde_json::Value) -> tempfile::TempDir {
    let example = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/ops-workspace");
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(&example).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name().to_string_lossy().ends_with(".json") {
            std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
        }
    }
    std::fs::write(dir.path().join("kpis_cost.json"), kpis.to_string()).unwrap();
    dir
}

#[tokio::test]
async fn the_assessment_escalates_the_invoice_agent_and_saves_snapshots_once() {
    each_backend(|store| async move {
        let (app, ops, local, as_of) = example(store).await;

        let dry = app.assess(&local, &ops, as_of, false, None).await.unwrap();
        assert!(dry.saved.is_empty());
        assert!(
            dry.assessment
                .escalations
                .iter()
                .any(|e| e.subject == "agent_finance_01" && e.rule == "negative_roi_high_criticality")
        );

        let first = app.assess(&local, &ops, as_of, true, None).await.unwrap();
        assert_eq!(first.saved, ["agent_finance_01@2025-01-15", "agent_sales_01@2025-01-15"]);
        assert!(first.skipped.iter().any(|s| s.starts_with("agent_support_02: no KPI record")));
        let stored =
            app.get_record(&local, &ops, RecordKind::Snapshot, "agent_finance_01@2025-01-15").await.unwrap();
        assert_eq!(stored.version, 1);
        let again = app.assess(&local, &ops, as_of, true, None).await.unwrap();
        assert!(again.saved.is_empty(), "the same figures are not written twice: {:?}", again.saved);
        let stored =
            app.get_record(&local, &ops, RecordKind::Snapshot, "agent_finance_01@2025-01-15").await.unwrap();
        assert_eq!(stored.version, 1);
    })
    .await;
}

fn settings(config: serde_json::Value) -> Record {
    let serde_json::Value::Object(config) = config else { panic!("an object") };
    Record::from(RiskSettings { settings_id: "default".parse().unwrap(), config })
}

#[tokio::test]
async fn a_workspace_keeps_its_own_thresholds_and_bad_ones_are_refused() {
    each_backend(|store| async move {
        let (app, ops, local, as_of) = example(store).await;
        let latency_flagged = |assessed: &charter_app::Assessed| {
            assessed.assessment.agents.iter().flat_map(|a| &a.flags).any(|f| f.kind == "latency")
        };
        // SendGrid's p95 of 890 ms is over the default 500 ms threshold.
        let default = app.assess(&local, &ops, as_of, false, None).await.unwrap();
        assert!(latency_flagged(&default));

        // Bad settings are refused, naming the field and the value.
        let error = app
            .create_record(&local, &ops, settings(serde_json::json!({"latency_threshold_ms": "fast"})))
            .await
            .unwrap_err();
        let AppError::Invalid { problems, .. } = error else { panic!("{error}") };
        assert!(problems[0].starts_with("config.latency_threshold_ms: invalid type"), "{problems:?}");
        let error = app
            .create_record(&local, &ops, settings(serde_json::json!({"risk": {"signals": 0.9}})))
            .await
            .unwrap_err();
        assert!(error.to_string().contains("risk: weights must sum to 1, got 1.6"), "{error}");

        // The workspace's own threshold replaces the default; a file given
        // for one run replaces the workspace's.
        app.create_record(&local, &ops, settings(serde_json::json!({"latency_threshold_ms": 1000})))
            .await
            .unwrap();
        assert_eq!(app.risk_config(&local, &ops).await.unwrap().latency_threshold_ms, 1000.0);
        let own = app.assess(&local, &ops, as_of, false, None).await.unwrap();
        assert!(!latency_flagged(&own));
        let file = charter_risk::Config::default();
        let overridden = app.assess(&local, &ops, as_of, false, Some(&file)).await.unwrap();
        assert!(latency_flagged(&overridden));
    })
    .await;
}

#[tokio::test]
async fn the_scored_portfolio_is_made_once_per_revision_of_the_records_it_reads() {
    each_backend(|store| async move {
        let (app, ops, local, as_of) = example(store).await;
        let first = app.scored_portfolio(&local, &ops, as_of).await.unwrap();
        assert_eq!(first.assessment, app.assess(&local, &ops, as_of, false, None).await.unwrap().assessment);
        assert!(first.agent("agent_finance_01").is_some() && first.agent("nobody").is_none());
        let same = app.scored_portfolio(&local, &ops, as_of).await.unwrap();
        assert!(Arc::ptr_eq(&first, &same), "nothing changed: the same assessment");

        // Decisions and records the assessment does not read leave it current.
        let request = charter_policy::DecisionRequest {
            principal: charter_policy::EntityRef { entity_type: "Agent".into(), id: "agent_sales_01".into() },
            action: "invoke_tool".into(),
            resource: charter_policy::EntityRef { entity_type: "Tool".into(), id: "crm_salesforce".into() },
            context: serde_json::Map::new(),
        };
        app.decide(&local, &ops, &[request]).await.unwrap();
        let raida = charter_app::NewRaida {
            item_type: "Issue".parse().unwrap(),
            title: "a note".into(),
            description: None,
            owner: None,
            severity: "Low".parse().unwrap(),
            due_date: None,
            source: None,
        };
        app.raida_add(&local, &ops, raida).await.unwrap();
        assert!(Arc::ptr_eq(&first, &app.scored_portfolio(&local, &ops, as_of).await.unwrap()));

        // Another day is another assessment.
        let next_day = as_of.plus_days(1).unwrap();
        let tomorrow = app.scored_portfolio(&local, &ops, next_day).await.unwrap();
        assert_eq!(tomorrow.as_of, next_day);

        // A changed agent is seen at once.
        app.set_agent_status(&local, &ops, "agent_sales_01", charter_model::AgentStatus::Paused)
            .await
            .unwrap();
        // The server's refresher makes it again before anyone asks.
        assert_eq!(app.refresh_scored_portfolios(as_of).await.unwrap(), 1);
        assert_eq!(app.refresh_scored_portfolios(as_of).await.unwrap(), 0, "made once");
        let after = app.scored_portfolio(&local, &ops, as_of).await.unwrap();
        assert!(Arc::ptr_eq(&after, &app.scored_portfolio(&local, &ops, as_of).await.unwrap()));
        assert!(after.revision > first.revision);
        assert_eq!(after.agent("agent_sales_01").unwrap().status, charter_model::AgentStatus::Paused);
        // And a saved snapshot moves the revision again.
        app.assess(&local, &ops, as_of, true, None).await.unwrap();
        let saved = app.scored_portfolio(&local, &ops, as_of).await.unwrap();
        assert!(saved.revision > after.revision);
    })
    .await;
}

#[tokio::test]
async fn kpis_in_the_seeds_current_and_previous_shape_import_and_give_trends_that_agree_with_the_snapshots() {
    each_backend(|store| async move {
        let app = App::with_clock(store, Arc::new(FixedClock("2025-01-15T09:00:00Z".parse().unwrap())));
        let example = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/ops-workspace");
        // The sales agent's snapshots, in date order.
        let snapshots: Vec<serde_json::Value> =
            serde_json::from_slice(&std::fs::read(example.join("historical_snapshots.json")).unwrap()).unwrap();
        let mut sales: Vec<&serde_json::Value> =
            snapshots.iter().filter(|s| s["agent_id"] == "agent_sales_01").collect();
        sales.sort_by_key(|s| s["snapshot_date"].as_str().unwrap().to_owned());
        let failure = |s: &serde_json::Value| s["failure_rate_7d"].as_f64().unwrap();
        let (first, previous, last) = (sales[0], sales[sales.len() - 2], sales[sales.len() - 1]);
        // A copy of the example with the sales agent's KPIs in the seed's
        // current/previous shape: the failure rate now and a week before,
        // the cost now and the snapshot about 30 days before.
        let kpis = serde_json::json!([
            { "agent_id": "agent_sales_01", "kpis": {
                "conversion_rate": 0.042,
                "emails_sent": 34000,
                "failure_rate_7d": { "current": failure(last), "prev_7d": failure(previous) },
                "cost_usd_30d": { "current": 1820, "prev_30d": sales[1]["cost_usd_30d"] },
                "roi_estimate_usd": 12500 } },
            { "agent_id": "agent_finance_01", "kpis": {
                "invoices_processed": 4200, "error_rate": 0.18, "cost_usd_30d": 940, "roi_estimate_usd": -300 } }
        ]);
        let dir = example_with_kpis(&kpis);
        let (ops, local) = (WorkspaceName::new("ops").unwrap(), Caller::local("ops_governance_lead"));
        app.import(&local, &ops, ImportSource::from_dir(dir.path()).unwrap(), true).await.unwrap();
        // Stored in the shape it came in.
        let stored = app.get_record(&local, &ops, RecordKind::Kpi, "agent_sales_01").await.unwrap();
        let json = stored.record.to_json_value();
        assert_eq!(json["kpis"]["failure_rate_7d"]["prev_7d"].as_f64(), Some(failure(previous)), "{json}");
        assert_eq!(json["kpis"]["cost_usd_30d"]["current"].as_f64(), Some(1820.0), "{json}");

        let assessed = app.assess(&local, &ops, "2025-01-15".parse().unwrap(), false, None).await.unwrap();
        let agent = assessed.assessment.agents.iter().find(|a| a.agent_id == "agent_sales_01").unwrap();
        let trend = agent.trends.iter().find(|t| t.metric == "failure_rate_7d").expect("a failure-rate trend");
        assert_eq!(trend.window_days, Some(7));
        assert_eq!((trend.first, trend.last), (Some(failure(previous)), Some(failure(last))));
        // The snapshots rise from first to last; so does the KPI pair:
        // both read "degrading" (a failure rate is worse higher).
        assert!(failure(last) > failure(first));
        assert_eq!(trend.label, charter_risk::Label::Degrading, "{trend:?}");
        let cost = agent.trends.iter().find(|t| t.metric == "cost_usd_30d").unwrap();
        assert_eq!((cost.label, cost.window_days), (charter_risk::Label::Degrading, Some(30)));
        assert_eq!(cost.evidence[0].value, format!("prev_30d {}", sales[1]["cost_usd_30d"]));
        // The finance agent's figures have no previous value: no such trend.
        let finance = assessed.assessment.agents.iter().find(|a| a.agent_id == "agent_finance_01").unwrap();
        assert!(finance.trends.iter().all(|t| t.window_days.is_none()));
    })
    .await;
}

#[tokio::test]
async fn the_risk_history_escalates_what_escalated_and_grades_each_agent() {
    each_backend(|store| async move {
        let (app, ops, local, as_of) = example(store).await;
        let assessed = app.assess(&local, &ops, as_of, false, None).await.unwrap().assessment;
        let agent = |id: &str| assessed.agents.iter().find(|a| a.agent_id == id).unwrap();
        let sales = agent("agent_sales_01");
        let paths: Vec<&str> = sales.risk_history.iter().map(|p| p.risk_id.as_str()).collect();
        assert_eq!(paths, ["risk_sendgrid_latency", "risk_token_cost_spike"]);
        // SendGrid latency escalated low → medium → high and is open; the
        // token cost spike was resolved.
        let escalated: Vec<&str> = assessed
            .escalations
            .iter()
            .filter(|e| e.rule == "risk_escalated")
            .map(|e| e.message.as_str())
            .collect();
        assert_eq!(escalated.len(), 2, "{escalated:?}");
        assert!(
            escalated.iter().any(|m| m.starts_with(
                "agent_sales_01: risk risk_sendgrid_latency (integration) escalated low → medium → high, open"
            )),
            "{escalated:?}"
        );
        assert!(escalated.iter().any(|m| {
            m.contains("risk_invoice_manual_override (operational) escalated medium → high → high")
        }));
        // The ERP schema mismatch has been open since 2024-12-06: past 30 days.
        let long: Vec<&str> = assessed
            .escalations
            .iter()
            .filter(|e| e.rule == "risk_open_too_long")
            .map(|e| e.message.as_str())
            .collect();
        assert_eq!(long.len(), 1, "{long:?}");
        assert!(long[0].contains("risk_erp_schema_mismatch"), "{long:?}");
        // The invoice agent's narrative follows its history in time: the
        // manual corrections (11-22, 11-29), the ERP schema mismatch (12-06),
        // the sustained manual intervention (12-13), then today's signal.
        let finance = agent("agent_finance_01");
        let cited: Vec<&str> = finance.narrative.iter().map(|s| s.evidence.id.as_str()).collect();
        assert_eq!(cited, ["risk_evt_007", "risk_evt_008", "risk_evt_010", "risk_evt_009", "risk_002"]);
        assert_eq!(
            finance.narrative[0].text,
            "First, on 2024-11-22: Manual correction rate exceeded 15% (operational, medium)."
        );
        assert!(
            finance.narrative[4].text.starts_with("Most recently, on 2025-01-09: "),
            "{:?}",
            finance.narrative
        );
        assert!(agent("agent_support_02").narrative.is_empty(), "not escalated: no narrative");
        let grade = |id: &str| agent(id).risk_maturity.as_ref().map(|m| m.grade);
        assert_eq!(grade("agent_sales_01"), Some('D'));
        assert_eq!(grade("agent_finance_01"), Some('D'));
        assert_eq!(grade("agent_support_02"), None, "no history, no grade");
        // The executive summary says it in a sentence.
        let report =
            app.report(&local, &ops, as_of, None, charter_app::ReportFormat::Markdown).await.unwrap();
        let mut text = Vec::new();
        report.write_to(&mut text).unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(
            text.contains(
                "Risk history: 4 risk(s), 2 open and escalated in severity, 1 open and persisting, \
                 1 resolved (in 14.3 days on average); agents by risk maturity (A best, E worst): D: 2."
            ),
            "{text}"
        );
        assert!(
            text.contains("First, on 2024-11-22: Manual correction rate exceeded 15% (operational, medium).")
        );
    })
    .await;
}

/// The executive summary as of 2024-12-20, checked by hand against the
/// example: both agents with snapshots have five in the 30 days before
/// (2024-11-22 to 2024-12-20), and in both the risk score, cost, failure
/// rate and manual minutes rose while ROI fell; the invoice agent's risk
/// score went 60 → 79 (+31.7%), the sales agent's 38 → 63 (+65.8%). The
/// sales agent's KPIs are given here in the current/previous shape with
/// manual minutes (0 → 2) and invocations (1000 → 1200) both up over 30
/// days: automation debt.
#[tokio::test]
async fn the_executive_summary_states_window_changes_precedence_and_automation_debt_with_their_records() {
    each_backend(|store| async move {
        let app = App::with_clock(store, Arc::new(FixedClock("2025-01-15T09:00:00Z".parse().unwrap())));
        let kpis = serde_json::json!([
            { "agent_id": "agent_sales_01", "kpis": {
                "conversion_rate": 0.042, "cost_usd_30d": 1820, "roi_estimate_usd": 12500,
                "manual_minutes_per_run": { "current": 2, "prev_30d": 0 },
                "daily_invocations": { "current": 1200, "prev_30d": 1000 } } },
            { "agent_id": "agent_finance_01", "kpis": {
                "error_rate": 0.18, "cost_usd_30d": 940, "roi_estimate_usd": -300 } }
        ]);
        let dir = example_with_kpis(&kpis);
        let (ops, local) = (WorkspaceName::new("ops").unwrap(), Caller::local("ops_governance_lead"));
        app.import(&local, &ops, ImportSource::from_dir(dir.path()).unwrap(), true).await.unwrap();
        let as_of = "2024-12-20".parse().unwrap();
        let assessed = app.assess(&local, &ops, as_of, false, None).await.unwrap().assessment;
        let lines: Vec<&str> = assessed.summary.iter().map(|l| l.text.as_str()).collect();
        let has = |text: &str| lines.contains(&text);
        assert!(
            has("Over the last 30 days (2 agent(s) with 3 snapshots or more in the window): the risk score \
                 increased for 2, cost for 2, the failure rate for 2 and manual minutes per run for 2; ROI \
                 decreased for 2."),
            "{lines:#?}"
        );
        let line_starting = |prefix: &str| {
            assessed
                .summary
                .iter()
                .find(|l| l.text.starts_with(prefix))
                .unwrap_or_else(|| panic!("no summary line starts {prefix:?}: {lines:#?}"))
        };
        let sales_risk = line_starting("agent_sales_01: Risk score has increased");
        assert_eq!(
            sales_risk.text,
            "agent_sales_01: Risk score has increased 65.8% over the last 30 days (38 on 2024-11-22 to 63 on 2024-12-20)."
        );
        let cited: Vec<&str> = sales_risk.evidence.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(cited, ["agent_sales_01@2024-11-22", "agent_sales_01@2024-12-20"]);
        assert!(lines.iter().any(|l| l.starts_with("agent_finance_01: Risk score has increased 31.7%")), "{lines:#?}");
        let first = line_starting("agent_sales_01: Integration risk emerged on 2024-11-18, before ");
        assert_eq!(first.evidence[0].id, "risk_evt_001");
        assert!(has("Automation debt is accumulating for 1 agent(s)."), "{lines:#?}");
        let debt = line_starting("agent_sales_01: Automation debt is accumulating");
        assert!(
            debt.text.ends_with(
                "manual minutes per run rose from 0 to 2 while daily invocations rose from 1000 to 1200 over the last 30 days."
            ),
            "{}",
            debt.text
        );
        assert!(debt.evidence.iter().all(|e| e.kind == RecordKind::Kpi && e.id == "agent_sales_01"));

        // The same sentences open the Markdown report and are in the JSON.
        for format in [charter_app::ReportFormat::Markdown, charter_app::ReportFormat::Json] {
            let report = app.report(&local, &ops, as_of, None, format).await.unwrap();
            let mut text = Vec::new();
            report.write_to(&mut text).unwrap();
            let text = String::from_utf8(text).unwrap();
            assert!(text.contains("Automation debt is accumulating for 1 agent(s)."), "{format:?}");
            assert!(text.contains("Risk score has increased 65.8% over the last 30 days"), "{format:?}");
        }
    })
    .await;
}

/// The JSON report assesses agent by agent as the snapshots stream in and
/// keeps the agents' JSON out of memory; it is byte for byte the whole
/// assessment, riskiest first.
#[tokio::test]
async fn the_json_report_made_agent_by_agent_is_the_whole_assessment() {
    each_backend(|store| async move {
        let (app, ops, local, _) = example(store).await;
        for as_of in ["2024-11-01", "2024-12-20", "2025-01-15"] {
            let as_of = as_of.parse().unwrap();
            let whole = app.assess(&local, &ops, as_of, false, None).await.unwrap().assessment;
            assert!(whole.agents.len() >= 5 && !whole.escalations.is_empty(), "{as_of}");
            let report =
                app.report(&local, &ops, as_of, None, charter_app::ReportFormat::Json).await.unwrap();
            let mut written = Vec::new();
            report.write_to(&mut written).unwrap();
            let mut expected = serde_json::to_vec(&whole).unwrap();
            expected.push(b'\n');
            assert_eq!(String::from_utf8(written).unwrap(), String::from_utf8(expected).unwrap(), "{as_of}");
        }
    })
    .await;
}
