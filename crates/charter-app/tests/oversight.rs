//! Runtime oversight on SQLite and PostgreSQL: the OpenTelemetry Python
//! SDK's exports (captured in charter-observe's fixtures) ingested as the
//! SDK sends them, a run closed once as one ledger event, guardrail hits
//! joined from the decision log, duplicates, late spans, unknown agents,
//! the run report and health.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use charter_app::ledger::LedgerSettings;
use charter_app::{App, Caller, Clock, HealthQuery, ImportSource, RunFilter};
use charter_model::{RunOutcome, Timestamp, WorkspaceName};
use charter_observe::otlp::{Encoding, ExportTraceServiceRequest, decode};
use charter_policy::{DecisionRequest, EntityRef};
use charter_store::Store;
use charter_store::testing::each_backend;

/// A clock the test moves.
#[derive(Debug)]
struct Manual(Mutex<Timestamp>);

impl Clock for Manual {
    fn now(&self) -> Timestamp {
        *self.0.lock().unwrap()
    }
}

impl Manual {
    fn set_micros(&self, micros: i64) {
        *self.0.lock().unwrap() = Timestamp::from_unix_micros(micros).unwrap();
    }
}

fn signer() -> charter_ledger::NoteSigner {
    charter_ledger::NoteSigner::from_seed("charter-test", [42; 32]).unwrap()
}

fn ops() -> WorkspaceName {
    WorkspaceName::new("ops").unwrap()
}

fn fixture(name: &str) -> Vec<u8> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../charter-observe/tests/fixtures/python-sdk");
    std::fs::read(dir.join(name)).unwrap()
}

/// A captured export, decoded.
fn export(name: &str) -> ExportTraceServiceRequest {
    let encoding = if name.ends_with(".json") { Encoding::Json } else { Encoding::Protobuf };
    decode(&fixture(name), encoding).unwrap()
}

/// The root span of the JSON fixtures: start and end, in µs.
const ROOT_START_US: i64 = 1_796_607_726_305_359;
const ROOT_END_US: i64 = 1_796_607_726_310_908;

async fn imported(store: Store) -> (App, Arc<Manual>) {
    let clock =
        Arc::new(Manual(Mutex::new(Timestamp::from_unix_micros(ROOT_START_US - 60_000_000).unwrap())));
    let settings = LedgerSettings { signer: Some(Arc::new(signer())), ..LedgerSettings::default() };
    let app = App::with_clock(store, clock.clone()).with_ledger(settings);
    let examples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/ops-workspace");
    app.import(&Caller::local("tester"), &ops(), ImportSource::from_dir(&examples).unwrap(), true)
        .await
        .unwrap();
    (app, clock)
}

/// An operator (finance_systems_manager is one in the example).
fn operator() -> Caller {
    Caller::local("finance_systems_manager")
}

#[tokio::test]
async fn spans_sent_child_first_close_one_run_with_its_tools_tokens_and_guardrail_hits() {
    each_backend(|store| async move {
        let (app, clock) = imported(store).await;
        // During the run the agent asked for a tool it holds no permission
        // for: least privilege denied it.
        clock.set_micros(ROOT_START_US + 1_000);
        let denied = app
            .decide(
                &Caller::local("ops_governance_lead"),
                &ops(),
                &[DecisionRequest {
                    principal: EntityRef { entity_type: "Agent".into(), id: "agent_finance_01".into() },
                    action: "invoke_tool".into(),
                    resource: EntityRef { entity_type: "Tool".into(), id: "crm_salesforce".into() },
                    context: serde_json::Map::new(),
                }],
            )
            .await
            .unwrap();
        assert_eq!(denied[0].decision, charter_policy::Effect::Deny);
        clock.set_micros(ROOT_END_US + 30_000_000);

        // The SDK's simple processor: the chat span, the tool span, then the root.
        let before = app.ledger_size(&operator(), &ops()).await.unwrap();
        let chat = app.ingest_otlp(&operator(), &ops(), &export("python-sdk-3.json")).await.unwrap();
        assert_eq!((chat.accepted, chat.stored, chat.waiting), (1, 1, 1));
        assert!(chat.rejected.is_empty() && chat.runs.is_empty());
        let tool = app.ingest_otlp(&operator(), &ops(), &export("python-sdk-4.json")).await.unwrap();
        assert_eq!((tool.accepted, tool.waiting), (1, 1));
        let root = app.ingest_otlp(&operator(), &ops(), &export("python-sdk-5.json")).await.unwrap();
        assert_eq!((root.accepted, root.stored, root.waiting), (1, 1, 0));
        assert_eq!(root.runs.len(), 1, "{root:?}");
        let id = root.runs[0].clone();
        assert!(id.starts_with("RUN-") && id.ends_with("-agent_finance_01"), "{id}");
        // Three logged decisions to write runs, and one run event.
        assert_eq!(app.ledger_size(&operator(), &ops()).await.unwrap(), before + 4);

        let (run, version) = app.run(&operator(), &ops(), &id).await.unwrap();
        assert_eq!(version, 1);
        assert_eq!(run.spans, 3);
        assert_eq!((run.input_tokens, run.output_tokens), (1200, 300));
        assert_eq!(run.tools, vec!["erp_netsuite".to_owned()]);
        assert_eq!((run.status, run.tool_calls, run.tool_failures), (RunOutcome::Error, 1, 1));
        assert_eq!(run.models, vec!["gpt-x".to_owned()]);
        // gpt-x has no price in the example: its tokens are unexplained spend.
        assert_eq!((run.cost_usd, run.unpriced_tokens), (0.0, 1500));
        assert_eq!(run.guardrail_hits.len(), 1, "{:?}", run.guardrail_hits);
        assert_eq!(run.guardrail_hits[0].action, "invoke_tool");
        assert!(
            run.guardrail_hits[0].reasons.iter().any(|r| r.contains("least-privilege")),
            "{:?}",
            run.guardrail_hits
        );
        assert!(run.deviations.iter().any(|d| d == "error: timeout"), "{:?}", run.deviations);

        // The whole export again (a retrying exporter): accepted, nothing new.
        let again = app.ingest_otlp(&operator(), &ops(), &export("python-sdk-5.json")).await.unwrap();
        assert_eq!((again.accepted, again.stored), (1, 0));
        assert!(again.runs.is_empty());
        assert_eq!(app.run(&operator(), &ops(), &id).await.unwrap().1, 1);

        // The same run in protobuf is the same run (other trace ids).
        let mut closed = Vec::new();
        for file in ["python-sdk-0.pb", "python-sdk-1.pb", "python-sdk-2.pb"] {
            closed.extend(app.ingest_otlp(&operator(), &ops(), &export(file)).await.unwrap().runs);
        }
        assert_eq!(closed.len(), 1);
        let runs = app.runs(&operator(), &ops(), &RunFilter::default()).await.unwrap();
        assert_eq!(runs.len(), 2);

        let report = app.agent_run_report(&operator(), &ops(), &id).await.unwrap();
        assert!(report.data_touched.contains(&"erp_netsuite".to_owned()));
        assert!(
            report.mitigations[0].starts_with("denied invoke_tool on Tool::\"crm_salesforce\""),
            "{:?}",
            report.mitigations
        );
        assert_eq!(report.provenance.spans, 3);
        assert_eq!(report.provenance.spans_sha256, run.spans_sha256);

        // The ledger still verifies: runs are ordinary audit events.
        let verified = app.verify_ledger(&ops(), &signer().verifier(), &|_, _| {}).await.unwrap();
        assert_eq!(verified.failure, None);
    })
    .await;
}

#[tokio::test]
async fn unknown_agents_are_rejected_and_counted_and_late_spans_amend_a_run() {
    each_backend(|store| async move {
        let (app, clock) = imported(store).await;
        clock.set_micros(1_800_000_000_000_000);
        let span = |trace: u32, id: u32, agent: &str, parent: Option<u32>, start: i64| {
            serde_json::json!({
                "trace_id": format!("{trace:032x}"),
                "span_id": format!("{id:016x}"),
                "parent_span_id": parent.map(|p| format!("{p:016x}")),
                "name": "work",
                "kind": if parent.is_none() { "invoke_agent" } else { "execute_tool" },
                "agent_id": agent,
                "start_us": start,
                "end_us": start + 1_000,
                "status": "ok",
                "tool": if parent.is_some() { Some("crm_salesforce") } else { None },
                "input_tokens": 10,
                "output_tokens": 5,
                "redactions": 0,
                "model": "gpt-4o-mini",
                "datasets": [],
            })
        };
        let spans: Vec<charter_observe::Span> = serde_json::from_value(serde_json::json!([
            span(1, 1, "Sales Outreach Agent", None, 1_799_999_990_000_000),
            span(1, 2, "agent_sales_01", Some(1), 1_799_999_990_000_100),
            span(2, 1, "agent_ghost_09", None, 1_799_999_990_000_000),
            span(3, 1, "agent_sales_01", None, 1_800_000_900_000_000),
        ]))
        .unwrap();
        let ingested = app.ingest_spans(&operator(), &ops(), spans).await.unwrap();
        assert_eq!(ingested.accepted, 3);
        assert_eq!(ingested.rejected.len(), 1);
        assert!(ingested.rejected[0].reason.contains("unknown agent \"agent_ghost_09\""));
        assert_eq!(ingested.flagged.len(), 1, "a span from the future is flagged");
        assert_eq!(ingested.runs.len(), 2);
        let id = charter_observe::run_id(&format!("{:032x}", 1), "agent_sales_01");
        let (run, _) = app.run(&operator(), &ops(), &id).await.unwrap();
        // gpt-4o-mini has a price in the example's settings.
        assert_eq!(run.tools, vec!["crm_salesforce".to_owned()]);
        assert!((run.cost_usd - (20.0 * 0.15 + 10.0 * 0.6) / 1e6).abs() < 1e-12, "{}", run.cost_usd);
        let future = charter_observe::run_id(&format!("{:032x}", 3), "agent_sales_01");
        let (future, _) = app.run(&operator(), &ops(), &future).await.unwrap();
        assert!(future.deviations.iter().any(|d| d.starts_with("clock skew")), "{:?}", future.deviations);

        // A span that arrives after its run closed amends it.
        let late: Vec<charter_observe::Span> = serde_json::from_value(serde_json::json!([span(
            1,
            3,
            "agent_sales_01",
            Some(1),
            1_799_999_990_000_200
        )]))
        .unwrap();
        let amended = app.ingest_spans(&operator(), &ops(), late).await.unwrap();
        assert_eq!(amended.runs, vec![id.clone()]);
        let (run, version) = app.run(&operator(), &ops(), &id).await.unwrap();
        assert_eq!((run.spans, run.tool_calls, version), (3, 2, 2));

        // An auditor may read but not write runs; an agent reports only its own.
        let auditor = Caller::Token {
            token_id: "t".into(),
            name: "internal_audit".into(),
            workspace: ops(),
            role: charter_model::Role::Auditor,
        };
        let refused = app.ingest_spans(&auditor, &ops(), Vec::new()).await.unwrap_err();
        assert!(matches!(refused, charter_app::AppError::Forbidden(_)), "{refused}");
        assert_eq!(app.runs(&auditor, &ops(), &RunFilter::default()).await.unwrap().len(), 2);
        let agent = Caller::Token {
            token_id: "a".into(),
            name: "agent_support_02".into(),
            workspace: ops(),
            role: charter_model::Role::Operator,
        };
        let other: Vec<charter_observe::Span> = serde_json::from_value(serde_json::json!([span(
            4,
            1,
            "agent_sales_01",
            None,
            1_799_999_990_000_000
        )]))
        .unwrap();
        let answer = app.ingest_spans(&agent, &ops(), other).await.unwrap();
        assert_eq!(answer.accepted, 0);
        assert!(answer.rejected[0].reason.contains("reports its own runs only"), "{:?}", answer.rejected);

        // Health over the last day of five-minute windows.
        let health = app.health(&operator(), &ops(), HealthQuery::default()).await.unwrap();
        assert_eq!((health.window_minutes, health.windows), (5, 288));
        let sales = health.agents.iter().find(|a| a.agent_id == "agent_sales_01").unwrap();
        assert_eq!(sales.runs, 1, "the run from the future ends after the last window");
        let bad = app
            .health(&operator(), &ops(), HealthQuery { windows: Some(0), ..HealthQuery::default() })
            .await
            .unwrap_err();
        assert!(bad.to_string().contains("windows: 0"), "{bad}");
    })
    .await;
}
