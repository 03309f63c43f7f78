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
        // Waiting is not lost: after an hour it is named as unexplained.
        clock.set_micros(ROOT_END_US + 2 * 3_600_000_000);
        let waiting = app.budget_report(&operator(), &ops(), None).await.unwrap().unexplained;
        assert_eq!(waiting.waiting_spans, 1);
        clock.set_micros(ROOT_END_US + 30_000_000);
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

/// A local receiver that answers 503 to its first request, never answers
/// its second, and accepts every later one, keeping what it received.
async fn flaky_receiver() -> (String, Arc<Mutex<Vec<(String, serde_json::Value)>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let received = Arc::new(Mutex::new(Vec::new()));
    let kept = received.clone();
    tokio::spawn(async move {
        let mut count = 0;
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            count += 1;
            let mut data = Vec::new();
            let mut buffer = [0; 8192];
            let (head_end, length) = loop {
                let n = socket.read(&mut buffer).await.unwrap();
                data.extend_from_slice(&buffer[..n]);
                if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
                    let length = head
                        .lines()
                        .find_map(|line| {
                            line.strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap())
                        })
                        .unwrap_or(0);
                    break (end + 4, length);
                }
            };
            while data.len() < head_end + length {
                let n = socket.read(&mut buffer).await.unwrap();
                data.extend_from_slice(&buffer[..n]);
            }
            let path = String::from_utf8_lossy(&data).split_whitespace().nth(1).unwrap().to_owned();
            match count {
                1 => {
                    let _ = socket
                        .write_all(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n")
                        .await;
                }
                // Holds the connection without answering.
                2 => {
                    tokio::spawn(async move {
                        tokio::time::sleep(std::time::Duration::from_secs(60)).await;
                        drop(socket);
                    });
                }
                _ => {
                    let body: serde_json::Value =
                        serde_json::from_slice(&data[head_end..head_end + length]).unwrap();
                    kept.lock().unwrap().push((path, body));
                    let _ = socket.write_all(b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n").await;
                }
            }
        }
    });
    (address, received)
}

#[tokio::test]
async fn a_drift_raises_one_alert_paged_through_a_receiver_that_fails_times_out_and_recovers() {
    each_backend(|store| async move {
        let (app, clock) = imported(store.clone()).await;
        let app = app.with_notifier(Arc::new(charter_notify::Webhook));
        let (address, received) = flaky_receiver().await;
        let admin = Caller::local("ops_governance_lead");
        // The example's agent-drift class, paging two receivers.
        let class = charter_model::RecordKind::AlertClass
            .parse_json(
                r#"{"class_id":"agent-drift","reasons":["anomaly:signal-beyond-baseline"],"severity":"high",
                    "owner":"ops_on_call","runbook":"PROC-RESPOND-AGENT-INCIDENT","receivers":["pd","hook"]}"#,
            )
            .unwrap();
        let stored = app.get_record(&admin, &ops(), charter_model::RecordKind::AlertClass, "agent-drift").await.unwrap();
        app.update_record(&admin, &ops(), "agent-drift", stored.version, class).await.unwrap();
        let settings = app.get_record(&admin, &ops(), charter_model::RecordKind::ObserveSettings, "default").await.unwrap();
        let mut value: serde_json::Value = serde_json::from_str(&settings.record.to_canonical_json()).unwrap();
        value["receivers"] = serde_json::json!({
            "pd": { "kind": "pagerduty", "url": format!("http://{address}/v2/enqueue"), "routing_key": "R0UT1NG" },
            "hook": { "kind": "webhook", "url": format!("http://{address}/alertmanager") },
        });
        let record = charter_model::RecordKind::ObserveSettings.from_value(value).unwrap();
        app.update_record(&admin, &ops(), "default", settings.version, record).await.unwrap();

        // Fifteen five-minute windows of runs: twelve steady at 100 ms, then
        // three at 5 s.
        let window = 300_000_000_i64;
        let end = 1_800_000_000_000_000_i64 / window * window;
        let spans: Vec<charter_observe::Span> = (0..15)
            .map(|i| {
                let start = end - (15 - i) * window + 1_000_000;
                let length = if i < 12 { 100_000 } else { 5_000_000 };
                serde_json::from_value(serde_json::json!({
                    "trace_id": format!("{:032x}", 1000 + i), "span_id": "00000000000000aa", "name": "run",
                    "kind": "invoke_agent", "agent_id": "agent_sales_01", "start_us": start,
                    "end_us": start + length, "status": "ok",
                }))
                .unwrap()
            })
            .collect();
        clock.set_micros(end + 1_000_000);
        let ingested = app.ingest_spans(&operator(), &ops(), spans).await.unwrap();
        assert_eq!(ingested.runs.len(), 15);
        let evaluated = app.evaluate_pending().await.unwrap();
        assert_eq!(evaluated.len(), 1);
        let opened = &evaluated[0].1.opened;
        assert!(!opened.is_empty(), "{:?}", evaluated);
        let alert = &opened[0];
        assert_eq!((alert.class_id.as_str(), alert.agent_id.as_str()), ("agent-drift", "agent_sales_01"));
        assert_eq!(alert.owner.as_ref().map(|o| o.as_str()), Some("ops_on_call"));
        assert_eq!(alert.runbook.as_deref(), Some("PROC-RESPOND-AGENT-INCIDENT"));
        assert_eq!(alert.evidence["runs"], 3);
        // Another slow run of the agent: judged again, it raises nothing new,
        // the alert holds while the anomaly lasts.
        let again: Vec<charter_observe::Span> = serde_json::from_value(serde_json::json!([{
            "trace_id": format!("{:032x}", 2000), "span_id": "00000000000000aa", "name": "run",
            "kind": "invoke_agent", "agent_id": "agent_sales_01", "start_us": end - window + 2_000_000,
            "end_us": end - window + 7_000_000, "status": "ok",
        }]))
        .unwrap();
        assert_eq!(app.ingest_spans(&operator(), &ops(), again).await.unwrap().runs.len(), 1);
        assert!(app.evaluate_pending().await.unwrap().iter().all(|(_, e)| e.opened.is_empty() && e.resolved.is_empty()));

        // The process stops before paging: another one, on the same
        // database, delivers the pages, once each.
        let (fresh, fresh_clock) = {
            let clock = Arc::new(Manual(Mutex::new(Timestamp::from_unix_micros(end + 2_000_000).unwrap())));
            (App::with_clock(store, clock.clone()).with_notifier(Arc::new(charter_notify::Webhook)), clock)
        };
        let pages = opened.len() as u64 * 2;
        let first = fresh.deliver_pages().await.unwrap();
        assert_eq!((first.delivered, first.failed), (0, 2), "a 503, then a timeout");
        let mut delivered = 0;
        for round in 0..pages + 5 {
            fresh_clock.set_micros(end + 2_000_000 + (round as i64 + 1) * 600_000_000);
            delivered += fresh.deliver_pages().await.unwrap().delivered;
        }
        assert_eq!(delivered, pages);
        let got = received.lock().unwrap().clone();
        assert_eq!(got.len() as u64, pages, "each page once");
        let pd = got.iter().find(|(path, body)| path == "/v2/enqueue" && body["dedup_key"] == alert.dedup_key).unwrap();
        assert_eq!(pd.1["routing_key"], "R0UT1NG");
        assert_eq!(pd.1["event_action"], "trigger");
        assert_eq!(pd.1["payload"]["severity"], "error");
        assert_eq!(pd.1["payload"]["source"], "charter/ops/agent_sales_01");
        let hook = got.iter().find(|(path, body)| path == "/alertmanager" && body["groupKey"] == alert.dedup_key).unwrap();
        assert_eq!(hook.1["status"], "firing");
        assert_eq!(hook.1["alerts"][0]["labels"]["alertname"], "agent-drift");
        let outbox = fresh.pages(&operator(), &ops(), 100).await.unwrap();
        assert!(outbox.iter().all(|page| page.delivered_at.is_some()));
        assert!(outbox.iter().any(|page| page.attempts >= 2), "the failed attempts are recorded");

        // Resolving pages resolve with the same key.
        fresh.move_alert(&operator(), &ops(), alert.alert_id.as_str(), true).await.unwrap();
        fresh.deliver_pages().await.unwrap();
        let got = received.lock().unwrap().clone();
        let resolve = got.iter().find(|(_, body)| body["event_action"] == "resolve").unwrap();
        assert_eq!(resolve.1["dedup_key"], alert.dedup_key);
        let again = fresh.move_alert(&operator(), &ops(), alert.alert_id.as_str(), true).await.unwrap_err();
        assert!(again.to_string().contains("is resolved"), "{again}");
    })
    .await;
}

#[tokio::test]
async fn incidents_move_through_their_states_escalate_and_close_with_a_checked_postmortem() {
    each_backend(|store| async move {
        let (app, clock) = imported(store).await;
        clock.set_micros(1_800_000_000_000_000);
        let commander = Caller::local("ops_on_call");
        // Incidents page the on-call receiver.
        let admin = Caller::local("ops_governance_lead");
        let settings = app.get_record(&admin, &ops(), charter_model::RecordKind::ObserveSettings, "default").await.unwrap();
        let mut value: serde_json::Value = serde_json::from_str(&settings.record.to_canonical_json()).unwrap();
        value["receivers"] = serde_json::json!({"pd": {"kind": "pagerduty", "url": "http://127.0.0.1:9/enqueue", "routing_key": "K"}});
        value["incident_receivers"] = serde_json::json!(["pd"]);
        let record = charter_model::RecordKind::ObserveSettings.from_value(value).unwrap();
        app.update_record(&admin, &ops(), "default", settings.version, record).await.unwrap();
        let new = charter_app::NewIncident {
            title: "Finance agent posts duplicate journal entries".into(),
            severity: charter_model::IncidentSeverity::Sev1,
            agent_id: Some("agent_finance_01".into()),
            commander: None,
            source: "manual".into(),
        };
        let before = app.ledger_size(&commander, &ops()).await.unwrap();
        let incident = app.open_incident(&commander, &ops(), new.clone()).await.unwrap();
        let id = incident.incident_id.to_string();
        assert!(id.starts_with("INC-2027-01-15-"), "{id}");
        assert_eq!(incident.commander.as_ref().map(|c| c.as_str()), Some("ops_on_call"));
        // A decision to write the incident, then the incident.
        assert_eq!(app.ledger_size(&commander, &ops()).await.unwrap(), before + 2);

        // Not acknowledged within SEV1's five minutes: the commander, then
        // the agent owner's team lead, then a steward.
        clock.set_micros(1_800_000_000_000_000 + 6 * 60_000_000);
        let escalated = app.escalate_incidents().await.unwrap();
        assert_eq!(escalated.escalations.len(), 1);
        assert_eq!(escalated.escalations[0].2, "ops_on_call");
        assert!(app.escalate_incidents().await.unwrap().escalations.is_empty(), "once per period");
        clock.set_micros(1_800_000_000_000_000 + 11 * 60_000_000);
        let second = app.escalate_incidents().await.unwrap();
        assert_eq!(second.escalations.len(), 1);
        assert_ne!(second.escalations[0].2, "ops_on_call");

        let mitigate_early = app
            .move_incident(&commander, &ops(), &id, charter_model::IncidentStatus::Mitigated, None)
            .await
            .unwrap_err();
        assert!(
            mitigate_early.to_string().contains("moves to Mitigated from Acknowledged"),
            "{mitigate_early}"
        );
        for status in [
            charter_model::IncidentStatus::Acknowledged,
            charter_model::IncidentStatus::Mitigated,
            charter_model::IncidentStatus::Resolved,
        ] {
            app.move_incident(&commander, &ops(), &id, status, Some(format!("now {status}"))).await.unwrap();
        }
        let incomplete = charter_model::Postmortem {
            summary: "Duplicate postings".into(),
            actions: vec![charter_model::PostmortemAction {
                description: "Idempotency keys".into(),
                owner: None,
                due: None,
            }],
            ..Default::default()
        };
        let refused =
            app.write_postmortem(&commander, &ops(), &id, incomplete).await.unwrap_err().to_string();
        for missing in [
            "impact: missing",
            "root_cause: missing",
            "timeline: missing",
            "actions[0].owner: missing",
            "actions[0].due: missing",
        ] {
            assert!(refused.contains(missing), "{missing}: {refused}");
        }
        let complete = charter_model::Postmortem {
            summary: "Duplicate postings".into(),
            impact: "14 journal entries posted twice".into(),
            root_cause: "retries without idempotency keys".into(),
            timeline: vec!["09:02 first duplicate".into()],
            actions: vec![charter_model::PostmortemAction {
                description: "Idempotency keys on postings".into(),
                owner: Some("finance_systems_manager".into()),
                due: Some("2027-02-01".parse().unwrap()),
            }],
        };
        // Opened, escalated twice, acknowledged, mitigated, resolved: one dedup key.
        let pages = app.pages(&commander, &ops(), 100).await.unwrap();
        let actions: Vec<&str> =
            pages.iter().rev().filter(|p| p.page.dedup_key == id).map(|p| p.page.action.as_str()).collect();
        assert_eq!(actions, ["trigger", "trigger", "trigger", "acknowledge", "acknowledge", "resolve"]);
        let done = app.write_postmortem(&commander, &ops(), &id, complete).await.unwrap();
        assert_eq!(done.status, charter_model::IncidentStatus::PostmortemDone);
        assert_eq!(done.escalations.len(), 2);
        assert!(done.timeline.len() >= 7, "{:?}", done.timeline);
        assert!(done.timeline.iter().all(|event| !event.actor.is_empty()));

        // The kill switch from an incident; a pause opens an incident of its
        // own only when none is open for the agent.
        let second = app.open_incident(&commander, &ops(), new).await.unwrap();
        let paused = app.pause_from_incident(&commander, &ops(), second.incident_id.as_str()).await.unwrap();
        assert!(paused.timeline.last().unwrap().event.contains("paused agent agent_finance_01"));
        let agent = app
            .get_record(&commander, &ops(), charter_model::RecordKind::Agent, "agent_finance_01")
            .await
            .unwrap();
        assert!(agent.record.to_canonical_json().contains("\"status\":\"paused\""));
        assert_eq!(app.incidents(&commander, &ops(), true).await.unwrap().len(), 1);
        app.set_agent_status(
            &Caller::local("revenue_ops_lead"),
            &ops(),
            "agent_sales_01",
            charter_model::AgentStatus::Paused,
        )
        .await
        .unwrap();
        let open = app.incidents(&commander, &ops(), true).await.unwrap();
        assert_eq!(open.len(), 2);
        assert_eq!(open.iter().filter(|i| i.source == "kill-switch").count(), 1);

        // The month's KPIs: three incidents, one resolved after its postmortem.
        let kpis = app.kpis(&commander, &ops(), Some("2027-01".into())).await.unwrap();
        assert_eq!((kpis.incidents_opened, kpis.incidents_resolved), (3, 1));
        assert!(kpis.mttr_minutes.is_some_and(|m| m >= 11.0), "{:?}", kpis.mttr_minutes);
        assert!(kpis.incident_mtta_minutes.is_some());
        assert_eq!(kpis.coverage.agents, 7, "the example's agents, none retired");
        let bad = app.kpis(&commander, &ops(), Some("2027-13".into())).await.unwrap_err();
        assert!(bad.to_string().contains("is not YYYY-MM"), "{bad}");

        // An auditor reads incidents but cannot open one.
        let auditor = Caller::Token {
            token_id: "t".into(),
            name: "internal_audit".into(),
            workspace: ops(),
            role: charter_model::Role::Auditor,
        };
        assert!(
            app.open_incident(
                &auditor,
                &ops(),
                charter_app::NewIncident {
                    title: "x".into(),
                    severity: charter_model::IncidentSeverity::Sev4,
                    agent_id: None,
                    commander: None,
                    source: "manual".into(),
                }
            )
            .await
            .is_err()
        );
    })
    .await;
}

#[tokio::test]
async fn a_spent_hard_budget_stops_its_agent_until_raised_or_the_month_turns() {
    each_backend(|store| async move {
        let (app, clock) = imported(store).await;
        let admin = Caller::local("ops_governance_lead");
        let now = 1_800_000_000_000_000_i64; // 2027-01-15
        clock.set_micros(now);
        let budget = |monthly_usd: f64| charter_model::Budget {
            budget_id: "sales-monthly".parse().unwrap(),
            agent_id: Some("agent_sales_01".parse().unwrap()),
            team: None,
            monthly_usd,
            soft_percent: Some(50.0),
            hard: true,
            exhausted_in: None,
        };
        app.set_budget(&admin, &ops(), budget(0.001)).await.unwrap();
        let decide = |app: App| async move {
            app.decide(
                &Caller::local("ops_governance_lead"),
                &ops(),
                &[DecisionRequest {
                    principal: EntityRef { entity_type: "Agent".into(), id: "agent_sales_01".into() },
                    action: "invoke_tool".into(),
                    resource: EntityRef { entity_type: "Tool".into(), id: "crm_salesforce".into() },
                    context: serde_json::Map::new(),
                }],
            )
            .await
            .unwrap()
            .remove(0)
        };
        assert_eq!(decide(app.clone()).await.decision, charter_policy::Effect::Allow);

        // 2,000 priced tokens (0.00075 USD) a run, and 500 of a model without a price.
        let run = |trace: u32| {
            serde_json::from_value::<Vec<charter_observe::Span>>(serde_json::json!([
                {"trace_id": format!("{trace:032x}"), "span_id": "0000000000000001", "name": "run", "kind": "invoke_agent",
                 "agent_id": "agent_sales_01", "start_us": now - 10_000_000, "end_us": now - 9_000_000, "status": "ok"},
                {"trace_id": format!("{trace:032x}"), "span_id": "0000000000000002", "parent_span_id": "0000000000000001",
                 "name": "chat", "kind": "model", "agent_id": "agent_sales_01", "start_us": now - 9_900_000,
                 "end_us": now - 9_500_000, "status": "ok", "model": "gpt-4o-mini", "input_tokens": 1000, "output_tokens": 1000},
                {"trace_id": format!("{trace:032x}"), "span_id": "0000000000000003", "parent_span_id": "0000000000000001",
                 "name": "chat", "kind": "model", "agent_id": "agent_sales_01", "start_us": now - 9_400_000,
                 "end_us": now - 9_200_000, "status": "ok", "model": "home-made-llm", "input_tokens": 500},
            ]))
            .unwrap()
        };
        app.ingest_spans(&operator(), &ops(), run(1)).await.unwrap();
        // Past the soft threshold (50%), not yet spent: an alert, no stop.
        let evaluated = app.evaluate_pending().await.unwrap();
        let opened: Vec<_> = evaluated.iter().flat_map(|(_, e)| e.opened.iter()).collect();
        assert!(opened.iter().any(|a| a.reason == charter_app::BUDGET_THRESHOLD), "{opened:?}");
        assert_eq!(decide(app.clone()).await.decision, charter_policy::Effect::Allow);

        app.ingest_spans(&operator(), &ops(), run(2)).await.unwrap();
        let denied = decide(app.clone()).await;
        assert_eq!(denied.decision, charter_policy::Effect::Deny);
        assert!(denied.reasons.iter().any(|r| r == "guardrail:budget-exhausted"), "{:?}", denied.reasons);
        let report = app.budget_report(&operator(), &ops(), None).await.unwrap();
        assert_eq!(report.month, "2027-01");
        let sales_budget = report.budgets.iter().find(|b| b.budget.budget_id.as_str() == "sales-monthly").unwrap();
        assert!(sales_budget.exhausted && sales_budget.percent >= 100.0, "{:?}", report.budgets);
        let sales = report.receipts.iter().find(|r| r.agent_id == "agent_sales_01").unwrap();
        assert_eq!((sales.runs, sales.tokens, sales.unpriced_tokens), (2, 5_000, 1_000));
        assert!((sales.spend_usd - 0.0015).abs() < 1e-12, "{}", sales.spend_usd);
        assert_eq!(report.unexplained.unpriced_tokens, 1_000);
        // A generic write cannot lift the stop.
        let stored = app.get_record(&admin, &ops(), charter_model::RecordKind::Budget, "sales-monthly").await.unwrap();
        let mut lifted: serde_json::Value = serde_json::from_str(&stored.record.to_canonical_json()).unwrap();
        lifted.as_object_mut().unwrap().remove("exhausted_in");
        let refused = app
            .update_record(&admin, &ops(), "sales-monthly", stored.version, charter_model::RecordKind::Budget.from_value(lifted).unwrap())
            .await
            .unwrap_err();
        assert!(refused.to_string().contains("exhausted_in"), "{refused}");

        // The daily check names the unexplained spend and an alert class
        // nobody owns, and raises RAIDA items for them.
        let unowned = charter_model::RecordKind::AlertClass
            .parse_json(r#"{"class_id":"orphan","severity":"low","runbook":"PROC-NOPE-NOPE"}"#)
            .unwrap();
        app.create_record(&admin, &ops(), unowned).await.unwrap();
        let check = app.governance_check(&admin, &ops(), "2027-01-15".parse().unwrap()).await.unwrap();
        let codes: Vec<&str> =
            check.dashboard.sections.iter().flat_map(|s| s.findings.iter().map(|f| f.code)).collect();
        for code in ["unexplained-spend", "alert-class-without-owner", "alert-class-runbook-unknown"] {
            assert!(codes.contains(&code), "{code}: {codes:?}");
        }
        assert!(check.raida.iter().any(|r| r.origin_key.contains("unexplained-spend")), "{:?}", check.raida);

        // Raised, the agent acts again; spent again, it stops; next month it acts.
        app.set_budget(&admin, &ops(), budget(10.0)).await.unwrap();
        assert_eq!(decide(app.clone()).await.decision, charter_policy::Effect::Allow);
        app.set_budget(&admin, &ops(), budget(0.001)).await.unwrap();
        assert_eq!(decide(app.clone()).await.decision, charter_policy::Effect::Deny);
        clock.set_micros(now + 20 * 86_400_000_000);
        assert_eq!(decide(app.clone()).await.decision, charter_policy::Effect::Allow);
    })
    .await;
}

#[tokio::test]
async fn a_tier_3_action_denied_for_want_of_approval_opens_one_incident() {
    each_backend(|store| async move {
        let (app, _) = imported(store).await;
        let request = DecisionRequest {
            principal: EntityRef { entity_type: "Agent".into(), id: "agent_finance_01".into() },
            action: "invoke_tool".into(),
            resource: EntityRef { entity_type: "Tool".into(), id: "erp_netsuite".into() },
            context: serde_json::Map::new(),
        };
        let gateway = Caller::local("ops_governance_lead");
        for _ in 0..2 {
            let answer =
                app.decide(&gateway, &ops(), std::slice::from_ref(&request)).await.unwrap().remove(0);
            assert!(answer.reasons.iter().any(|r| r == "guardrail:tier-approval"), "{:?}", answer.reasons);
        }
        let incidents = app.incidents(&gateway, &ops(), true).await.unwrap();
        assert_eq!(incidents.len(), 1, "one while it is open: {incidents:?}");
        assert!(incidents[0].source.starts_with("decision:DEC-"), "{}", incidents[0].source);
        assert_eq!(incidents[0].agent_id.as_ref().map(|a| a.as_str()), Some("agent_finance_01"));
    })
    .await;
}

#[tokio::test]
async fn imported_kpi_cost_counts_as_spend_and_can_exhaust_a_hard_budget() {
    each_backend(|store| async move {
        let (app, clock) = imported(store).await;
        let admin = Caller::local("ops_governance_lead");
        // The example's KPI records were imported at 2026-12-07 01:41:06:
        // December holds 6 days 1 h 41 min of their 30 days.
        let december = app.budget_report(&operator(), &ops(), Some("2026-12".into())).await.unwrap();
        let finance = december.receipts.iter().find(|r| r.agent_id == "agent_finance_01").unwrap();
        let held = (ROOT_START_US - 60_000_000 - 1_796_083_200_000_000) as f64 / (30.0 * 86_400e6);
        assert!(
            (finance.imported_usd - 940.0 * held).abs() < 1e-6,
            "{} vs {}",
            finance.imported_usd,
            940.0 * held
        );
        assert_eq!((finance.telemetry_usd, finance.spend_usd), (0.0, finance.imported_usd));
        assert_eq!(finance.kpi_cost_usd_30d, Some(940.0));
        let november = app.budget_report(&operator(), &ops(), Some("2026-11".into())).await.unwrap();
        let finance_nov = november.receipts.iter().find(|r| r.agent_id == "agent_finance_01").unwrap();
        assert!((finance_nov.imported_usd + finance.imported_usd - 940.0).abs() < 1e-6);
        let budget =
            december.budgets.iter().find(|b| b.budget.budget_id.as_str() == "finance-agent-monthly").unwrap();
        assert!(!budget.exhausted && (budget.spend_usd - finance.imported_usd).abs() < 1e-9, "{budget:?}");
        assert!(
            (december.workspace_spend_usd - december.receipts.iter().map(|r| r.spend_usd).sum::<f64>()).abs()
                < 1e-9
        );

        // Mid-January a new KPI record reports 3,000 USD over 30 days: the
        // 14 days 8 h of January (1,433.33 USD) exceed the 1,200 USD hard
        // budget, which stops the agent in the same write.
        clock.set_micros(1_800_000_000_000_000); // 2027-01-15 08:00
        let stored =
            app.get_record(&admin, &ops(), charter_model::RecordKind::Kpi, "agent_finance_01").await.unwrap();
        let kpi = charter_model::RecordKind::Kpi
            .parse_json(
                r#"{"agent_id":"agent_finance_01","kpis":{"cost_usd_30d":3000,"roi_estimate_usd":-300}}"#,
            )
            .unwrap();
        app.update_record(&admin, &ops(), "agent_finance_01", stored.version, kpi).await.unwrap();
        let january = app.budget_report(&operator(), &ops(), None).await.unwrap();
        let budget =
            january.budgets.iter().find(|b| b.budget.budget_id.as_str() == "finance-agent-monthly").unwrap();
        assert!((budget.spend_usd - 3000.0 * (14.0 + 8.0 / 24.0) / 30.0).abs() < 1e-6, "{budget:?}");
        assert!(budget.exhausted, "{budget:?}");
        let answer = app
            .decide(
                &admin,
                &ops(),
                &[DecisionRequest {
                    principal: EntityRef { entity_type: "Agent".into(), id: "agent_finance_01".into() },
                    action: "invoke_tool".into(),
                    resource: EntityRef { entity_type: "Tool".into(), id: "erp_netsuite".into() },
                    context: serde_json::Map::new(),
                }],
            )
            .await
            .unwrap()
            .remove(0);
        assert!(answer.reasons.iter().any(|r| r == "guardrail:budget-exhausted"), "{:?}", answer.reasons);
        // The stop is the budget's ledger entry, by the writer of the KPI.
        let stopped = app
            .get_record(&admin, &ops(), charter_model::RecordKind::Budget, "finance-agent-monthly")
            .await
            .unwrap();
        assert!(
            stopped.record.to_canonical_json().contains(r#""exhausted_in":"2027-01""#),
            "{}",
            stopped.record.to_canonical_json()
        );
    })
    .await;
}

#[tokio::test]
async fn a_run_declares_its_outputs_and_a_secret_in_one_fails_its_validation_and_opens_an_incident() {
    const TOKEN: &str = "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789";
    each_backend(|store| async move {
        let (app, clock) = imported(store).await;
        clock.set_micros(1_800_000_000_000_000);
        let span = |trace: u32, id: u32, parent: Option<u32>, files: &[&str], block: &[&str]| {
            serde_json::json!({
                "trace_id": format!("{trace:032x}"),
                "span_id": format!("{id:016x}"),
                "parent_span_id": parent.map(|p| format!("{p:016x}")),
                "name": "work",
                "kind": if parent.is_none() { "invoke_agent" } else { "execute_tool" },
                "agent_id": "agent_finance_01",
                "start_us": 1_799_999_990_000_000_i64 + i64::from(id),
                "end_us": 1_799_999_990_001_000_i64,
                "status": "ok",
                "validate_files": files,
                "validate_block": block,
            })
        };
        let spans: Vec<charter_observe::Span> = serde_json::from_value(serde_json::json!([
            span(7, 1, None, &["out/summary.md"], &[]),
            span(7, 2, Some(1), &["out/ledger.csv"], &[]),
            span(8, 1, None, &["report.txt"], &["personal"]),
            span(9, 1, None, &["missing.txt"], &[]),
            span(10, 1, None, &["x.txt"], &["secrets", "email"]),
            span(11, 1, None, &[], &[]),
        ]))
        .unwrap();
        let ingested = app.ingest_spans(&operator(), &ops(), spans).await.unwrap();
        // A block name that is no type or family refuses the span, saying which.
        assert_eq!(ingested.rejected.len(), 1, "{:?}", ingested.rejected);
        assert!(
            ingested.rejected[0].reason.contains("charter.validate.block: \"secrets\" is no finding type"),
            "{}",
            ingested.rejected[0].reason
        );
        assert_eq!(ingested.runs.len(), 4);
        let id = |trace: u32| charter_observe::run_id(&format!("{trace:032x}"), "agent_finance_01");

        // The run's spans declared two files; they are to be validated.
        let (run, version) = app.run(&operator(), &ops(), &id(7)).await.unwrap();
        let validation = run.validation.clone().unwrap();
        assert_eq!(validation.files, ["out/ledger.csv", "out/summary.md"]);
        assert!(validation.result.is_none());
        let report = app.agent_run_report(&operator(), &ops(), &id(7)).await.unwrap();
        assert_eq!(report.validation, ["declared, not yet validated: out/ledger.csv, out/summary.md"]);
        assert!(app.run(&operator(), &ops(), &id(11)).await.unwrap().0.validation.is_none());

        // A file it did not declare is refused, naming it; nothing is recorded.
        let output = |name: &str, content: &str| charter_app::RunOutput {
            name: name.into(),
            content: content.as_bytes().to_vec(),
        };
        let refused = app
            .validate_run(&operator(), &ops(), &id(7), vec![output("out/other.md", "x")])
            .await
            .unwrap_err();
        assert!(refused.to_string().contains("\"out/other.md\" is not a file"), "{refused}");
        // Nobody else's agent validates this run.
        let other_agent = Caller::Token {
            token_id: "a".into(),
            name: "agent_support_02".into(),
            workspace: ops(),
            role: charter_model::Role::Operator,
        };
        let forbidden = app.validate_run(&other_agent, &ops(), &id(7), Vec::new()).await.unwrap_err();
        assert!(matches!(forbidden, charter_app::AppError::Forbidden(_)), "{forbidden}");
        assert_eq!(app.run(&operator(), &ops(), &id(7)).await.unwrap().1, version);

        // A token in one output fails it and opens an incident.
        let validated = app
            .validate_run(
                &operator(),
                &ops(),
                &id(7),
                vec![
                    output("out/summary.md", &format!("Closed the month.\ndeploy key {TOKEN}\n")),
                    output("out/ledger.csv", "id,amount\n1,20\n"),
                ],
            )
            .await
            .unwrap();
        let result = validated.validation.clone().unwrap().result.unwrap();
        assert!(!result.passed);
        assert_eq!(result.by, "finance_systems_manager");
        let files: Vec<(&str, bool)> = result.files.iter().map(|f| (f.file.as_str(), f.passed)).collect();
        assert_eq!(files, [("out/ledger.csv", true), ("out/summary.md", false)]);
        assert!(result.files[1].summary.contains("holds 1 github_token"), "{}", result.files[1].summary);
        assert!(result.files.iter().all(|file| file.decision_id.is_some()));
        let incident = result.incident.clone().expect("an incident");
        let incidents = app.incidents(&operator(), &ops(), true).await.unwrap();
        let opened = incidents.iter().find(|i| i.incident_id == incident).unwrap();
        assert_eq!(opened.severity, charter_model::IncidentSeverity::Sev2);
        assert_eq!(opened.agent_id.as_ref().map(|a| a.as_str()), Some("agent_finance_01"));
        assert!(opened.title.contains("holds 1 github_token"), "{}", opened.title);
        // The record names types and counts, never the value.
        let stored = serde_json::to_string(&validated).unwrap();
        assert!(!stored.contains("ghp_"), "{stored}");
        let report = app.agent_run_report(&operator(), &ops(), &id(7)).await.unwrap();
        assert!(report.validation[0].starts_with("failed at "), "{:?}", report.validation);
        assert!(report.deviations.iter().any(|d| d.starts_with("validation failed: out/summary.md")));
        // Once: a second validation is refused.
        let again = app.validate_run(&operator(), &ops(), &id(7), Vec::new()).await.unwrap_err();
        assert!(matches!(again, charter_app::AppError::AlreadyExists { .. }), "{again}");
        // A late span amends the run and keeps its validation.
        let late: Vec<charter_observe::Span> =
            serde_json::from_value(serde_json::json!([span(7, 3, Some(1), &[], &[])])).unwrap();
        assert_eq!(app.ingest_spans(&operator(), &ops(), late).await.unwrap().runs, [id(7)]);
        let (amended, _) = app.run(&operator(), &ops(), &id(7)).await.unwrap();
        assert_eq!(amended.spans, 3);
        assert_eq!(amended.validation.unwrap().result, Some(result));

        // An email passes where only secrets are blocked, fails where personal data is.
        let run8 = app
            .validate_run(
                &operator(),
                &ops(),
                &id(8),
                vec![output("report.txt", "ask jane.doe@example.com\n")],
            )
            .await
            .unwrap();
        let result8 = run8.validation.unwrap().result.unwrap();
        assert!(!result8.passed && result8.files[0].summary.contains("holds 1 email"), "{result8:?}");
        assert_eq!(result8.files[0].findings.get("email"), Some(&1));
        // A declared file not provided fails.
        let run9 = app.validate_run(&operator(), &ops(), &id(9), Vec::new()).await.unwrap();
        let result9 = run9.validation.unwrap().result.unwrap();
        assert!(!result9.passed);
        assert_eq!(result9.files[0].summary, "missing.txt: not provided");
        // A run that declared nothing has nothing to validate.
        let none = app.validate_run(&operator(), &ops(), &id(11), Vec::new()).await.unwrap_err();
        assert!(none.to_string().contains("declares no output files"), "{none}");

        // A clean output passes and opens nothing.
        let before = app.incidents(&operator(), &ops(), true).await.unwrap().len();
        let spans: Vec<charter_observe::Span> =
            serde_json::from_value(serde_json::json!([span(12, 1, None, &["notes.md"], &[])])).unwrap();
        app.ingest_spans(&operator(), &ops(), spans).await.unwrap();
        let clean = app
            .validate_run(&operator(), &ops(), &id(12), vec![output("notes.md", "mail ops@example.com\n")])
            .await
            .unwrap();
        let result = clean.validation.unwrap().result.unwrap();
        assert!(result.passed && result.incident.is_none(), "{result:?}");
        assert_eq!(app.incidents(&operator(), &ops(), true).await.unwrap().len(), before);

        let verified = app.verify_ledger(&ops(), &signer().verifier(), &|_, _| {}).await.unwrap();
        assert_eq!(verified.failure, None);
    })
    .await;
}
