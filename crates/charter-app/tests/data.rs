//! Data-model governance use cases on the example workspace, on SQLite and
//! PostgreSQL: schema changes with impact analysis, notifications and
//! webhooks, quality runs with their RAIDA issues, promotion gates and the
//! daily check.

use std::path::PathBuf;
use std::sync::Arc;

use charter_app::{App, AppError, Caller, FixedClock, ImportSource, RaisedOutcome, Source};
use charter_data::quality::{Format, KeySets, Options};
use charter_model::data::DeliveryStatus;
use charter_model::{ChangeStatus, Dataset, DatasetScope, Record, RecordKind, WorkspaceName};
use charter_store::Store;
use charter_store::testing::each_backend;

fn ops() -> WorkspaceName {
    WorkspaceName::new("ops").unwrap()
}

/// A steward: the example's policy lets stewards change schemas and promote.
fn steward() -> Caller {
    Caller::local("data_model_steward")
}

async fn imported(store: Store) -> App {
    let app = App::with_clock(store, Arc::new(FixedClock("2026-11-22T09:00:00Z".parse().unwrap())))
        .with_notifier(Arc::new(charter_notify::Webhook));
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/ops-workspace");
    app.import(&Caller::local("tester"), &ops(), ImportSource::from_dir(&dir).unwrap(), true).await.unwrap();
    app
}

fn registry_proposal(app_dataset: &Dataset) -> charter_data::Proposal {
    let mut fields = app_dataset.fields.clone();
    for field in &mut fields {
        if field.name == "dataset_id" {
            field.name = "registry_id".into();
        }
    }
    fields.push(serde_json::from_str(r#"{"name":"steward","type":"string"}"#).unwrap());
    charter_data::Proposal {
        fields,
        rules: None,
        dependencies: None,
        relationships: None,
        renamed: [("dataset_id".to_owned(), "registry_id".to_owned())].into(),
        description: Some("rename the key".into()),
    }
}

async fn dataset(app: &App, id: &str) -> Dataset {
    app.dataset(&steward(), &ops(), id).await.unwrap()
}

#[tokio::test]
async fn a_schema_change_is_analysed_logged_applied_and_rolled_back() {
    each_backend(|store| async move {
        let app = imported(store).await;
        let before = dataset(&app, "AI_Data_Model_Registry").await;
        // A refused proposal takes no number (a regression: it spent one).
        let unchanged = charter_data::Proposal {
            fields: before.fields.clone(),
            rules: None,
            dependencies: None,
            relationships: None,
            renamed: Default::default(),
            description: None,
        };
        let error = app
            .propose_schema_change(&steward(), &ops(), "AI_Data_Model_Registry", unchanged)
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains("nothing to change"), "{error}");
        let proposed = app
            .propose_schema_change(&steward(), &ops(), "AI_Data_Model_Registry", registry_proposal(&before))
            .await
            .unwrap();
        let change = &proposed.change;
        assert_eq!(change.change_id.as_str(), "CHG-2026-11-22-001");
        assert_eq!(change.status, ChangeStatus::Planned);
        let impact = &change.impact_analysis;
        let downstream: Vec<&str> =
            impact["downstream"].as_array().unwrap().iter().map(|d| d["dataset"].as_str().unwrap()).collect();
        assert_eq!(downstream, ["AI_Agent_Identity_Ops", "AI_Model_Change_Log"]);
        // Both reference the renamed key field.
        assert_eq!(impact["downstream"][0]["fields"][0]["field"], "primary_dataset");
        assert_eq!(impact["downstream"][1]["fields"][0]["field"], "dataset_affected");
        let agents: Vec<&str> =
            impact["agents"].as_array().unwrap().iter().map(|a| a["agent_id"].as_str().unwrap()).collect();
        assert_eq!(agents, ["AGENT-DATAMODEL-OPS", "AGENT-IDENTITY-OPS"]);
        assert_eq!(impact["breaking"], true);
        assert_eq!(proposed.notifications.len(), 1, "both agents belong to Operations, led by one person");
        assert_eq!(proposed.notifications[0].recipient, "ops_governance_lead");
        assert!(proposed.decision_id.is_some());

        let applied = app.apply_change(&steward(), &ops(), "CHG-2026-11-22-001").await.unwrap();
        let Record::Change(applied) = applied.record else { panic!("a change") };
        assert_eq!((applied.status, applied.to_version), (ChangeStatus::Complete, Some(2)));
        let after = dataset(&app, "AI_Data_Model_Registry").await;
        assert_eq!(after.schema_version, 2);
        assert!(after.fields.iter().any(|f| f.name == "registry_id"));
        let again = app.apply_change(&steward(), &ops(), "CHG-2026-11-22-001").await.unwrap_err();
        assert!(again.to_string().contains("only a Planned change is applied"), "{again}");

        app.rollback_change(&steward(), &ops(), "CHG-2026-11-22-001").await.unwrap();
        let restored = dataset(&app, "AI_Data_Model_Registry").await;
        assert_eq!(restored.schema_version, 3);
        assert_eq!(restored.fields, before.fields);
        let again = app.rollback_change(&steward(), &ops(), "CHG-2026-11-22-001").await.unwrap_err();
        assert!(again.to_string().contains("already Rolled Back"), "{again}");

        // Every step is in the ledger.
        let row = app.store().workspace(&ops()).await.unwrap().unwrap();
        let events = app.store().recent_events(row.id, 20).await.unwrap();
        let steps: Vec<(String, String)> = events
            .iter()
            .filter(|e| e.kind == "change" || e.kind == "notification")
            .map(|e| (e.kind.clone(), e.action.clone()))
            .collect();
        // Proposed, notified, Executing, Complete, Rolled Back.
        assert_eq!(steps.len(), 5, "{steps:?}");
    })
    .await;
}

#[tokio::test]
async fn changes_need_the_decision_point_and_the_version_they_were_analysed_on() {
    each_backend(|store| async move {
        let app = imported(store).await;
        let before = dataset(&app, "AI_Data_Model_Registry").await;
        let error = app
            .propose_schema_change(&Caller::local("support_lead"), &ops(), "AI_Data_Model_Registry", registry_proposal(&before))
            .await
            .unwrap_err();
        assert!(matches!(error, AppError::Forbidden(ref m) if m.contains("change_schema") || m.contains("default-deny")), "{error}");

        let first = app.propose_schema_change(&steward(), &ops(), "AI_Data_Model_Registry", registry_proposal(&before)).await.unwrap();
        let mut second = registry_proposal(&before);
        second.renamed.clear();
        second.fields.retain(|f| f.name != "registry_id");
        let second = app.propose_schema_change(&steward(), &ops(), "AI_Data_Model_Registry", second).await.unwrap();
        assert_eq!(second.change.change_id.as_str(), "CHG-2026-11-22-002");
        app.apply_change(&steward(), &ops(), first.change.change_id.as_str()).await.unwrap();
        let error = app.apply_change(&steward(), &ops(), second.change.change_id.as_str()).await.unwrap_err();
        assert!(error.to_string().contains("propose it again"), "{error}");

        let same = app
            .propose_schema_change(
                &steward(),
                &ops(),
                "AI_Model_Change_Log",
                charter_data::Proposal {
                    fields: dataset(&app, "AI_Model_Change_Log").await.fields,
                    rules: None,
                    dependencies: None,
                    relationships: None,
                    renamed: Default::default(),
                    description: None,
                },
            )
            .await
            .unwrap_err();
        assert!(same.to_string().contains("nothing to change"), "{same}");
    })
    .await;
}

/// Validates `csv` against the stored schema of `id` and records the run.
async fn run_quality(app: &App, id: &str, csv: &str) -> charter_app::RecordedRun {
    let schema = dataset(app, id).await;
    let report = charter_data::validate(
        &schema,
        csv.as_bytes(),
        Format::Csv,
        &KeySets::new(),
        Options::default(),
        &mut |_| {},
    )
    .unwrap();
    let source = Source { name: "sample.csv".into(), sha256: "00".into() };
    app.record_quality_run(&steward(), &ops(), id, schema.schema_version, source, report).await.unwrap()
}

const POLICIES_HEADER: &str = "policy_id,title,purpose,rules,owner,status\n";

#[tokio::test]
async fn promotion_is_refused_with_every_unmet_gate_then_allowed() {
    each_backend(|store| async move {
        let app = imported(store).await;
        let id = "Business_Policies_Ops";
        let refused = app.promote_dataset(&steward(), &ops(), id, DatasetScope::Stage).await.unwrap_err();
        let AppError::Invalid { problems, .. } = refused else { panic!("refused: {refused}") };
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].starts_with("quality-score: never validated"));

        // 1 of 2 rows passes: 50% < 95%; and a change is open.
        run_quality(&app, id, &format!("{POLICIES_HEADER}POL-A-B,t,p,r,o,Active\nbad,t,p,r,o,Active\n"))
            .await;
        let mut proposal = dataset(&app, id).await;
        proposal.fields.push(serde_json::from_str(r#"{"name":"note","type":"string"}"#).unwrap());
        let change = app
            .propose_schema_change(
                &steward(),
                &ops(),
                id,
                charter_data::Proposal {
                    fields: proposal.fields,
                    rules: None,
                    dependencies: None,
                    relationships: None,
                    renamed: Default::default(),
                    description: None,
                },
            )
            .await
            .unwrap();
        let refused = app.promote_dataset(&steward(), &ops(), id, DatasetScope::Published).await.unwrap_err();
        let AppError::Invalid { problems, .. } = refused else { panic!("refused") };
        let gates: Vec<&str> = problems.iter().map(|p| p.split(':').next().unwrap()).collect();
        assert_eq!(gates, ["scope-order", "quality-score", "no-open-change"], "{problems:?}");

        app.rollback_change(&steward(), &ops(), change.change.change_id.as_str()).await.unwrap();
        run_quality(&app, id, &format!("{POLICIES_HEADER}POL-A-B,t,p,r,o,Active\n")).await;
        let promoted = app.promote_dataset(&steward(), &ops(), id, DatasetScope::Stage).await.unwrap();
        assert!(promoted.gates.iter().all(|g| g.met));
        assert_eq!(dataset(&app, id).await.scope, DatasetScope::Stage);
        // A caller the policy does not let promote is refused by the decision gate.
        let refused = app
            .promote_dataset(&Caller::local("support_lead"), &ops(), id, DatasetScope::Published)
            .await
            .unwrap_err();
        assert!(refused.to_string().contains("decision: denied"), "{refused}");
        app.promote_dataset(&steward(), &ops(), id, DatasetScope::Published).await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn quality_runs_keep_one_raida_issue_per_failing_check() {
    each_backend(|store| async move {
        let app = imported(store).await;
        let id = "Business_Policies_Ops";
        let first =
            run_quality(&app, id, &format!("{POLICIES_HEADER}bad,t,p,r,o,Active\nPOL-A-B,t,p,r,,Active\n"))
                .await;
        assert_eq!(first.run.score, 0.0);
        let opened: Vec<RaisedOutcome> = first.raida.iter().map(|r| r.outcome).collect();
        assert_eq!(opened, [RaisedOutcome::Opened, RaisedOutcome::Opened], "{:?}", first.raida);
        let second =
            run_quality(&app, id, &format!("{POLICIES_HEADER}bad,t,p,r,o,Active\nworse,t,p,r,o,Active\n"))
                .await;
        let outcomes: Vec<(&str, RaisedOutcome)> =
            second.raida.iter().map(|r| (r.origin_key.as_str(), r.outcome)).collect();
        assert_eq!(
            outcomes,
            [
                ("dq/Business_Policies_Ops/rule:policy_id_format", RaisedOutcome::Updated),
                ("dq/Business_Policies_Ops/mandatory:owner", RaisedOutcome::Closed),
            ]
        );
        assert_eq!(
            second.raida[0].raida_id,
            first.raida.iter().find(|r| r.origin_key.ends_with("format")).unwrap().raida_id
        );
        let items = app.raida_list(&steward(), &ops(), &Default::default()).await.unwrap();
        let issue = items.iter().find(|i| i.raida_id.as_str() == second.raida[0].raida_id).unwrap();
        assert_eq!(issue.owner.as_deref(), Some("ops_governance_lead"), "assigned to the dataset owner");
        assert!(issue.description.as_deref().unwrap().contains("2 of 2 rows"));
    })
    .await;
}

#[tokio::test]
async fn the_daily_check_raises_items_once_and_turns_red() {
    each_backend(|store| async move {
        let app = imported(store).await;
        let today = "2026-11-22".parse().unwrap();
        // A reading says what raising would do, and writes nothing.
        let row = app.store().workspace(&ops()).await.unwrap().unwrap();
        let size = app.store().event_count(row.id).await.unwrap();
        // A reading waits for no writer: it completes while a write
        // transaction holds SQLite's one write connection.
        let held = app.store().begin().await.unwrap();
        let reading = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            app.governance_reading(&steward(), &ops(), today),
        )
        .await
        .expect("the reading does not wait for the write lock")
        .unwrap();
        drop(held);
        assert!(!reading.applied && reading.raida.iter().all(|r| r.outcome == RaisedOutcome::Opened));
        assert_eq!(app.store().event_count(row.id).await.unwrap(), size);
        let first = app.governance_check(&steward(), &ops(), today).await.unwrap();
        assert!(first.applied);
        assert_eq!(
            first.raida.iter().map(|r| &r.raida_id).collect::<Vec<_>>(),
            reading.raida.iter().map(|r| &r.raida_id).collect::<Vec<_>>()
        );
        assert_eq!(first.dashboard.status, charter_data::check::Status::Amber);
        assert!(first.raida.iter().all(|r| r.outcome == RaisedOutcome::Opened));
        assert!(!first.raida.is_empty());
        // The reading is kept until a record it reads changes: the check
        // wrote RAIDA items, so the next reading sees them, and is kept.
        let again = app.governance_reading(&steward(), &ops(), today).await.unwrap();
        assert!(!std::sync::Arc::ptr_eq(&reading, &again));
        assert!(again.raida.iter().all(|r| r.outcome == RaisedOutcome::Unchanged), "{:?}", again.raida);
        let kept = app.governance_reading(&steward(), &ops(), today).await.unwrap();
        assert!(std::sync::Arc::ptr_eq(&again, &kept));
        let tomorrow = app.governance_reading(&steward(), &ops(), today.plus_days(1).unwrap()).await.unwrap();
        assert!(!std::sync::Arc::ptr_eq(&again, &tomorrow));
        let second = app.governance_check(&steward(), &ops(), today).await.unwrap();
        assert!(second.raida.iter().all(|r| r.outcome == RaisedOutcome::Unchanged), "{:?}", second.raida);
        assert_eq!(second.raida.len(), first.raida.len());
        // The review action is the one `policy review-due` raises, not a second item.
        let due = app.policies_due_for_review(&steward(), &ops(), today).await.unwrap();
        assert!(due.iter().all(|d| !d.opened && first.raida.iter().any(|r| r.raida_id == d.raida_id)));

        // A dataset without a specialist agent is RED.
        let orphan = RecordKind::Dataset
            .parse_json(r#"{"dataset_id":"Orphan","dataset_name":"Orphan","fields":[{"name":"id","type":"string","key":true}]}"#)
            .unwrap();
        app.create_record(&Caller::local("ops_governance_lead"), &ops(), orphan).await.unwrap();
        let third = app.governance_check(&steward(), &ops(), today).await.unwrap();
        assert_eq!(third.dashboard.status, charter_data::check::Status::Red);
        let opened: Vec<&str> =
            third.raida.iter().filter(|r| r.outcome == RaisedOutcome::Opened).map(|r| r.origin_key.as_str()).collect();
        assert!(opened.contains(&"check/dataset-without-agent/dataset/Orphan"), "{opened:?}");

        // Renaming the registry's key leaves the fields that referenced it
        // dangling: RED, one item per referring dataset.
        let before = dataset(&app, "AI_Data_Model_Registry").await;
        let change = app
            .propose_schema_change(&steward(), &ops(), "AI_Data_Model_Registry", registry_proposal(&before))
            .await
            .unwrap();
        app.apply_change(&steward(), &ops(), change.change.change_id.as_str()).await.unwrap();
        let fourth = app.governance_check(&steward(), &ops(), today).await.unwrap();
        let lineage = fourth.dashboard.sections.iter().find(|s| s.section == "lineage").unwrap();
        assert_eq!(lineage.status, charter_data::check::Status::Red);
        let dangling: Vec<&str> = fourth
            .raida
            .iter()
            .filter(|r| r.origin_key.starts_with("check/dangling-reference/"))
            .map(|r| r.origin_key.as_str())
            .collect();
        assert_eq!(
            dangling,
            ["check/dangling-reference/dataset/AI_Agent_Identity_Ops", "check/dangling-reference/dataset/AI_Model_Change_Log"]
        );
    })
    .await;
}

#[tokio::test]
async fn create_dataset_needs_a_specialist_a_key_and_draft() {
    each_backend(|store| async move {
        let app = imported(store).await;
        let parse = |json: &str| -> Dataset { serde_json::from_str(json).unwrap() };
        let bad = parse(
            r#"{"dataset_id":"New_Ops","dataset_name":"New","scope":"STAGE","fields":[{"name":"a","type":"string"}],
                "rules":[{"name":"r","expression":"a >"}]}"#,
        );
        let error = app.create_dataset(&steward(), &ops(), bad).await.unwrap_err();
        let AppError::Invalid { problems, .. } = error else { panic!("invalid") };
        assert!(problems.iter().any(|p| p.starts_with("scope:")), "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("no field is marked key")), "{problems:?}");
        assert!(problems.iter().any(|p| p.starts_with("managed_by_agent:")), "{problems:?}");
        let good = parse(
            r#"{"dataset_id":"New_Ops","dataset_name":"New","managed_by_agent":"AGENT-DATAMODEL-OPS",
                "dependencies":["AI_Data_Model_Registry"],
                "fields":[{"name":"a","type":"string","key":true,"mandatory":true}],
                "rules":[{"name":"r","expression":"size(a) > 1"}]}"#,
        );
        // Only a registered person creates a dataset, as the corridor asks.
        let stranger = app.create_dataset(&Caller::local("root"), &ops(), good.clone()).await.unwrap_err();
        assert!(matches!(&stranger, AppError::Forbidden(m) if m.contains("not in the registry")), "{stranger}");
        let view = app.create_dataset(&steward(), &ops(), good.clone()).await.unwrap();
        assert_eq!(view.version, 1);
        let mut broken = good;
        broken.dataset_id = "Other_Ops".parse().unwrap();
        broken.rules[0].expression = "size(a) >".into();
        let error = app.create_dataset(&steward(), &ops(), broken).await.unwrap_err();
        assert!(error.to_string().contains("rules[0].expression"), "{error}");
    })
    .await;
}

/// A webhook that answers 500 to its first request and 200 after.
async fn flaky_webhook() -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let hits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut buffer = vec![0_u8; 65536];
            let _ = socket.read(&mut buffer).await;
            let status = if n == 0 { "500 Internal Server Error" } else { "200 OK" };
            let _ = socket
                .write_all(
                    format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").as_bytes(),
                )
                .await;
        }
    });
    (url, hits)
}

#[tokio::test]
async fn webhooks_are_retried_recorded_and_never_block_the_change() {
    each_backend(|store| async move {
        let app = imported(store).await;
        let (url, hits) = flaky_webhook().await;
        let settings = RecordKind::DataSettings
            .parse_json(&format!(r#"{{"settings_id":"default","webhook_url":"{url}"}}"#))
            .unwrap();
        app.create_record(&Caller::local("ops_governance_lead"), &ops(), settings).await.unwrap();
        let before = dataset(&app, "AI_Data_Model_Registry").await;
        let proposed = app
            .propose_schema_change(&steward(), &ops(), "AI_Data_Model_Registry", registry_proposal(&before))
            .await
            .unwrap();
        let delivery = proposed.notifications[0].delivery.as_ref().unwrap();
        assert_eq!(delivery.status, DeliveryStatus::Pending);
        let delivered = app.deliver_notifications(&steward(), &ops()).await.unwrap();
        let delivery = delivered[0].delivery.as_ref().unwrap();
        assert_eq!((delivery.status, delivery.attempts), (DeliveryStatus::Delivered, 2));
        assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 2);

        // A webhook nobody answers: the change is logged all the same and
        // the delivery ends Failed after every attempt.
        let dead = RecordKind::DataSettings
            .parse_json(r#"{"settings_id":"default","webhook_url":"http://127.0.0.1:9/hook"}"#)
            .unwrap();
        app.update_record(&Caller::local("ops_governance_lead"), &ops(), "default", 1, dead).await.unwrap();
        let mut second = registry_proposal(&before);
        second.renamed.clear();
        second.fields.retain(|f| f.name != "registry_id");
        let proposed =
            app.propose_schema_change(&steward(), &ops(), "AI_Data_Model_Registry", second).await.unwrap();
        assert_eq!(proposed.change.status, ChangeStatus::Planned);
        let delivered = app.deliver_notifications(&steward(), &ops()).await.unwrap();
        let delivery = delivered[0].delivery.as_ref().unwrap();
        assert_eq!(
            (delivery.status, delivery.attempts),
            (DeliveryStatus::Failed, charter_app::WEBHOOK_ATTEMPTS)
        );
        assert!(delivery.last_error.is_some());
    })
    .await;
}
