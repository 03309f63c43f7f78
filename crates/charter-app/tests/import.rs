//! Importing the example workspace and bad input, on SQLite and PostgreSQL.

use std::path::PathBuf;
use std::sync::Arc;

use charter_app::import::SourceFile;
use charter_app::{App, AppError, Caller, FixedClock, ImportSource};
use charter_model::{RaidaStatus, Record, RecordKind, WorkspaceName};
use charter_store::Store;
use charter_store::testing::each_backend;

fn example_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/ops-workspace")
}

fn app(store: Store) -> App {
    App::with_clock(store, Arc::new(FixedClock("2026-11-22T09:00:00Z".parse().unwrap())))
}

fn ops() -> WorkspaceName {
    WorkspaceName::new("ops").unwrap()
}

fn admin() -> Caller {
    Caller::local("ops_governance_lead")
}

fn source(files: &[(&str, &[u8])]) -> ImportSource {
    ImportSource {
        origin: "fixture".into(),
        files: files
            .iter()
            .map(|(name, bytes)| SourceFile { name: (*name).into(), bytes: bytes.to_vec() })
            .collect(),
        ignored: Vec::new(),
    }
}

/// Everything observable about a workspace's contents, to compare before
/// and after a refused operation.
async fn fingerprint(app: &App) -> (u64, Vec<(String, u64)>, Vec<String>) {
    let store = app.store();
    let Some(row) = store.workspace(&ops()).await.unwrap() else {
        return (0, Vec::new(), Vec::new());
    };
    let mut bodies = Vec::new();
    for kind in RecordKind::ALL {
        for record in store.records(row.id, *kind, None, 10_000).await.unwrap() {
            bodies.push(format!("{}/{}@{}:{}", kind, record.id, record.version, record.body));
        }
    }
    (store.event_count(row.id).await.unwrap(), store.record_counts(row.id).await.unwrap(), bodies)
}

#[tokio::test]
async fn example_workspace_imports_and_reimport_changes_nothing() {
    each_backend(|store| async move {
        let app = app(store);
        let report = app
            .import(&admin(), &ops(), ImportSource::from_dir(&example_dir()).unwrap(), true)
            .await
            .unwrap();
        assert!(report.workspace_created);
        let created =
            |kind: RecordKind| report.kinds.iter().find(|k| k.kind == kind).map_or(0, |k| k.created);
        assert_eq!(created(RecordKind::Agent), 7, "3 seed agents and 4 specialist agents");
        assert_eq!(created(RecordKind::System), 3);
        assert_eq!(created(RecordKind::Workflow), 2);
        assert_eq!(created(RecordKind::Snapshot), 12);
        assert_eq!(created(RecordKind::RiskEvent), 10);
        assert_eq!(created(RecordKind::ValueRecord), 4);
        assert_eq!(created(RecordKind::OwnershipReview), 5);
        assert_eq!(created(RecordKind::Dataset), 5);
        assert_eq!(
            created(RecordKind::Policy),
            5,
            "the three seed policies, POL-AGENT-ACCESS and POL-OPS-CHANGE"
        );
        assert_eq!(created(RecordKind::Procedure), 6);
        assert_eq!(created(RecordKind::AlertClass), 3);
        assert_eq!(created(RecordKind::Budget), 2);
        assert_eq!(report.raida.opened.len(), 3, "zendesk, knowledge_base and ocr_service are undescribed");

        let raida = app.list_records(&admin(), &ops(), RecordKind::Raida, None, 100).await.unwrap();
        let titles: Vec<String> = raida
            .items
            .iter()
            .map(|view| match &view.record {
                Record::Raida(item) => {
                    assert_eq!(item.status, RaidaStatus::Open);
                    item.title.clone()
                }
                other => panic!("{other:?}"),
            })
            .collect();
        for system in ["zendesk", "knowledge_base", "ocr_service"] {
            assert!(titles.contains(&format!("no system record describes \"{system}\"")), "{titles:?}");
        }
        let zendesk = raida.items.iter().find_map(|view| match &view.record {
            Record::Raida(item) if item.title.contains("zendesk") => Some(item.clone()),
            _ => None,
        });
        let zendesk = zendesk.unwrap();
        assert_eq!(zendesk.source.as_deref(), Some("agent/agent_support_02"));
        assert!(zendesk.description.unwrap().contains("agent agent_support_02 (dependencies[0])"));

        let before = fingerprint(&app).await;
        let again = app
            .import(&admin(), &ops(), ImportSource::from_dir(&example_dir()).unwrap(), true)
            .await
            .unwrap();
        assert!(!again.workspace_created);
        let (created, updated, unchanged) = again.totals();
        assert_eq!((created, updated), (0, 0));
        assert!(unchanged > 50);
        assert!(again.raida.opened.is_empty() && again.raida.closed.is_empty());
        assert_eq!(fingerprint(&app).await, before, "re-import must not bump versions or add events");
    })
    .await;
}

#[tokio::test]
async fn describing_a_missing_system_closes_its_raida_item() {
    each_backend(|store| async move {
        let app = app(store);
        app.import(&admin(), &ops(), ImportSource::from_dir(&example_dir()).unwrap(), true).await.unwrap();
        let zendesk = RecordKind::System
            .parse_json(r#"{"system_id":"zendesk","type":"external_api","auth_status":"valid"}"#)
            .unwrap();
        app.create_record(&admin(), &ops(), zendesk).await.unwrap();
        let raida = app.list_records(&admin(), &ops(), RecordKind::Raida, None, 100).await.unwrap();
        let statuses: Vec<(String, RaidaStatus)> = raida
            .items
            .iter()
            .filter_map(|view| match &view.record {
                Record::Raida(item) => Some((item.title.clone(), item.status)),
                _ => None,
            })
            .collect();
        assert!(
            statuses.contains(&("no system record describes \"zendesk\"".into(), RaidaStatus::Closed)),
            "{statuses:?}"
        );
        assert_eq!(statuses.iter().filter(|(_, s)| *s == RaidaStatus::Open).count(), 2);
    })
    .await;
}

/// Each bad input is refused with the expected message and leaves the
/// database exactly as it was.
#[tokio::test]
async fn bad_input_is_refused_and_nothing_is_written() {
    let agent = r#"{"agent_id":"agent_sales_01","name":"Sales","status":"active"}"#;
    type Files = Vec<(&'static str, Vec<u8>)>;
    let cases: Vec<(Files, &str)> = vec![
        (
            vec![("agents.json", format!("[{agent},\n{{\"agent_id\": \"agent_x_01\" \"name\": 1}}]").into_bytes())],
            "agents.json: line 2, column 27: malformed JSON: expected \",\" or \"}\"",
        ),
        (
            vec![("agents.json", br#"[{"agent_id":"agent_a_01","name":"A","status":"active"},{"agent_id":"agent_b_01","name":"B","status":"active"},{"agent_id":"agent_c_01","name":"C","status":"active","criticality":"urgent"}]"#.to_vec())],
            "agents.json: [2].criticality: unknown value \"urgent\", expected one of low, medium, high, critical",
        ),
        (
            vec![("system_integrations.json", br#"[{"system_id":"crm","type":"external_api","uptime_30d":"high"}]"#.to_vec())],
            "system_integrations.json: [0].uptime_30d: invalid type: string \"high\", expected a number",
        ),
        (
            // A regression: a key named twice made the whole file import nothing, silently.
            vec![("agents.json", format!("[{agent},\n{{\"agent_id\":\"agent_b_01\",\"name\":\"B\",\"name\":\"C\",\"status\":\"active\"}}]").into_bytes())],
            "agents.json: [1]: duplicate key \"name\"",
        ),
        (
            // Figures by name: a name given twice is refused, not overwritten.
            vec![("kpis_cost.json", br#"[{"agent_id":"agent_sales_01","kpis":{"emails_sent":1,"emails_sent":2}}]"#.to_vec())],
            "kpis_cost.json: [0].kpis: duplicate key \"emails_sent\"",
        ),
        (
            vec![("agents.json", format!("[{agent},{agent}]").into_bytes())],
            "agents.json: [1].agent_id: duplicate id \"agent_sales_01\" (first at [0])",
        ),
        (
            vec![("agents.json", format!("[{agent}]").into_bytes()), ("agent_identities.json", format!("[{agent}]").into_bytes())],
            "agent_identities.json: [0].agent_id: duplicate id \"agent_sales_01\" (first at agents.json [0])",
        ),
        (
            vec![("policies.json", br#"[{"policy_id":"POL_GOV","title":"t","purpose":"p","rules":"1. r","owner":"o","status":"Active"}]"#.to_vec())],
            "policies.json: [0].policy_id: invalid policy id \"POL_GOV\": expected POL-[DOMAIN]-[NAME] in upper case (e.g. POL-GOVERNANCE-MASTER)",
        ),
        (
            vec![("workflows.json", br#"[{"workflow_id":"wf","agent_id":"agent_sales_01","human_in_the_loop":true}]"#.to_vec())],
            "workflows.json: [0].failure_rate_7d: missing required field",
        ),
        (
            vec![("agents.json", b"[{\"agent_id\":\"agent_a_01\",\n\"name\":\"caf\xe9\",\"status\":\"active\"}]".to_vec())],
            "agents.json: not valid UTF-8 at line 2, column 12 (byte offset 38); save the file as UTF-8",
        ),
        (vec![("agents.json", b"  \n".to_vec())], "agents.json: the file is empty; expected a JSON array of agent records"),
        (
            vec![("workflows.json", br#"[{"workflow_id":"wf","agent_id":"agent_sales_01","human_in_the_loop":true,"failure_rate_7d":140}]"#.to_vec())],
            "workflows.json: [0].failure_rate_7d: must be between 0 and 100, got 140",
        ),
    ];
    each_backend(|store| {
        let cases = cases.clone();
        async move {
            let app = app(store);
            app.import(&admin(), &ops(), ImportSource::from_dir(&example_dir()).unwrap(), true)
                .await
                .unwrap();
            let before = fingerprint(&app).await;
            for (files, expected) in &cases {
                let files: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (*n, b.as_slice())).collect();
                let error = app.import(&admin(), &ops(), source(&files), true).await.unwrap_err();
                let AppError::Import(error) = error else { panic!("{error:?}") };
                assert_eq!(error.problems, [expected.to_string()]);
                assert_eq!(fingerprint(&app).await, before, "{expected}");
            }
        }
    })
    .await;
}

#[tokio::test]
async fn every_bad_element_of_a_file_is_listed() {
    let test = charter_store::testing::TestStore::sqlite().await;
    let app = app(test.store.clone());
    let agents = br#"[
        {"agent_id":"agent_a_01","name":"A","status":"sleeping"},
        {"agent_id":"agent_b_01","name":"B","status":"active"},
        {"agent_id":"b","name":"","status":"active"},
        {"agent_id":"agent_c_01","status":"active","daily_invocations":-3}
    ]"#;
    let error = app.import(&admin(), &ops(), source(&[("agents.json", agents)]), true).await.unwrap_err();
    let AppError::Import(error) = error else { panic!("{error:?}") };
    assert_eq!(
        error.problems,
        [
            "agents.json: [0].status: unknown value \"sleeping\", expected one of active, pilot, paused, retired",
            "agents.json: [2].agent_id: invalid agent id \"b\": expected AGENT-[FUNCTION]-[WORKSPACE] (e.g. AGENT-DATAMODEL-OPS) or agent_[function]_[NN] (e.g. agent_sales_01)",
            "agents.json: [3].daily_invocations: invalid value: integer \"-3\", expected a whole number of at least 0",
        ]
    );
    assert!(app.store().workspace(&ops()).await.unwrap().is_none(), "the workspace was not created either");
}

#[tokio::test]
async fn a_directory_without_charter_files_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.json"), "[]").unwrap();
    let error = ImportSource::from_dir(dir.path()).unwrap_err();
    assert_eq!(error.problems.len(), 1);
    assert!(
        error.problems[0].contains("no Charter data files found, in it or in its folders config/")
            && error.problems[0].contains("expected one or more of teams.json"),
        "{error}"
    );
    let error = ImportSource::from_dir(&dir.path().join("missing")).unwrap_err();
    assert!(error.problems[0].contains("cannot read directory"), "{error}");
}

#[tokio::test]
async fn importing_into_a_missing_workspace_without_create_is_refused() {
    let test = charter_store::testing::TestStore::sqlite().await;
    let app = app(test.store.clone());
    let error = app
        .import(&admin(), &ops(), ImportSource::from_dir(&example_dir()).unwrap(), false)
        .await
        .unwrap_err();
    assert!(matches!(error, AppError::WorkspaceNotFound(_)), "{error:?}");
}

/// A problem found after earlier batches were already written (files are
/// read and written in a stream) still leaves nothing behind.
#[tokio::test]
async fn a_late_problem_rolls_back_batches_already_written() {
    let portfolio = tempfile::tempdir().unwrap();
    let spec = charter_bench::portfolio::PortfolioSpec {
        agents: 120,
        seed: 5,
        end_date: "2024-12-20".parse().unwrap(),
    };
    charter_bench::portfolio::portfolio(spec, portfolio.path()).unwrap();
    let snapshots = portfolio.path().join("historical_snapshots.json");
    let text = std::fs::read_to_string(&snapshots).unwrap();
    // Break the second-to-last snapshot (element 6238 of 6240): far past the first batch.
    let lines: Vec<&str> = text.lines().collect();
    let target = lines.len() - 3;
    let broken = lines[target].replacen("\"risk_score\":", "\"risk_score\":\"high\",\"x\":", 1);
    let mut edited: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
    edited[target] = broken;
    std::fs::write(&snapshots, edited.join("\n")).unwrap();

    each_backend(|store| {
        let dir = portfolio.path().to_owned();
        async move {
            let app = app(store);
            app.import(&admin(), &ops(), ImportSource::from_dir(&example_dir()).unwrap(), true).await.unwrap();
            let before = fingerprint(&app).await;
            let error = app.import(&admin(), &ops(), ImportSource::from_dir(&dir).unwrap(), true).await.unwrap_err();
            let AppError::Import(error) = error else { panic!("{error:?}") };
            assert_eq!(
                error.problems,
                ["historical_snapshots.json: [6238].risk_score: invalid type: string \"high\", expected a number"]
            );
            assert_eq!(fingerprint(&app).await, before);
        }
    })
    .await;
}

/// A regression: re-importing the example put a PUBLISHED dataset back to
/// DRAFT and a later schema back to version 1, and a paused agent back to
/// active. A first import may describe an estate as it is (recorded as
/// `import`, not as a promotion); later imports keep governed fields.
#[tokio::test]
async fn reimporting_never_moves_governed_state() {
    each_backend(|store| async move {
        let app = app(store);
        let datasets = std::fs::read_to_string(example_dir().join("datasets.json")).unwrap();
        let published = datasets.replacen("\"DRAFT\"", "\"PUBLISHED\"", 1).replacen(
            "\"schema_version\": 1",
            "\"schema_version\": 3",
            1,
        );
        assert_ne!(published, datasets);
        let first = app
            .import(&admin(), &ops(), source(&[("datasets.json", published.as_bytes())]), true)
            .await
            .unwrap();
        assert_eq!(first.totals(), (5, 0, 0));
        let row = app.store().workspace(&ops()).await.unwrap().unwrap();
        let filter = charter_store::EventFilter {
            subject: Some("Business_Policies_Ops".into()),
            ..Default::default()
        };
        let events = app.store().events_matching(row.id, &filter, 0, 10).await.unwrap();
        assert_eq!(events.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["import"]);

        let again = app
            .import(&admin(), &ops(), ImportSource::from_dir(&example_dir()).unwrap(), true)
            .await
            .unwrap();
        let kept: Vec<&str> = again.kinds.iter().flat_map(|k| k.kept.iter().map(String::as_str)).collect();
        assert_eq!(kept, ["Business_Policies_Ops.scope", "Business_Policies_Ops.schema_version"]);
        let dataset = app.dataset(&admin(), &ops(), "Business_Policies_Ops").await.unwrap();
        assert_eq!((dataset.scope.as_str(), dataset.schema_version), ("PUBLISHED", 3));

        app.set_agent_status(&admin(), &ops(), "agent_sales_01", charter_model::AgentStatus::Paused)
            .await
            .unwrap();
        let third = app
            .import(&admin(), &ops(), ImportSource::from_dir(&example_dir()).unwrap(), true)
            .await
            .unwrap();
        let mut kept: Vec<&str> =
            third.kinds.iter().flat_map(|k| k.kept.iter().map(String::as_str)).collect();
        kept.sort_unstable();
        assert_eq!(
            kept,
            ["Business_Policies_Ops.schema_version", "Business_Policies_Ops.scope", "agent_sales_01.status"]
        );
        assert_eq!(third.totals().1, 0, "nothing else differs, so nothing is updated");
        let agent = app.get_record(&admin(), &ops(), RecordKind::Agent, "agent_sales_01").await.unwrap();
        let Record::Agent(agent) = agent.record else { panic!() };
        assert_eq!(agent.status, charter_model::AgentStatus::Paused);

        // Records only use cases write are refused in an import.
        let grants = br#"[{"grant_id":"GRANT-0001"}]"#;
        let error = app.import(&admin(), &ops(), source(&[("grants.json", grants)]), true).await.unwrap_err();
        let AppError::Import(error) = error else { panic!("{error:?}") };
        assert!(
            error.problems[0]
                .starts_with("grants.json: grant_id: grants are created with `charter grant create`"),
            "{error}"
        );
    })
    .await;
}

/// Every record of workspace `name` as (kind, id, body).
async fn records_of(app: &App, name: &str) -> Vec<(String, String, String)> {
    let store = app.store();
    let row = store.workspace(&WorkspaceName::new(name).unwrap()).await.unwrap().unwrap();
    let mut all = Vec::new();
    for kind in RecordKind::ALL {
        for record in store.records(row.id, *kind, None, 10_000).await.unwrap() {
            all.push((kind.to_string(), record.id, record.body));
        }
    }
    all
}

#[tokio::test]
async fn the_seeds_layered_folders_import_to_the_same_records_as_the_flat_layout() {
    each_backend(|store| async move {
        let app = app(store);
        let dir = tempfile::tempdir().unwrap();
        // The seed's recommended layout; every other file stays at the top.
        let layers = [
            ("config", &["agents.json", "workflows.json", "system_integrations.json"][..]),
            ("current_state", &["kpis_cost.json", "risk_signals.json"][..]),
            ("historical", &["historical_snapshots.json", "risk_signal_history.json", "ownership_review_history.json"][..]),
            ("business_intent", &["expected_vs_actual_value.json"][..]),
        ];
        for entry in std::fs::read_dir(example_dir()).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.ends_with(".json") {
                continue;
            }
            let folder = layers.iter().find(|(_, files)| files.contains(&name.as_str())).map(|(f, _)| *f);
            let target = match folder {
                Some(folder) => dir.path().join(folder),
                None => dir.path().to_owned(),
            };
            std::fs::create_dir_all(&target).unwrap();
            std::fs::copy(entry.path(), target.join(&name)).unwrap();
        }
        let layered = ImportSource::from_dir(dir.path()).unwrap();
        assert!(layered.files.iter().any(|f| f.name == "current_state/kpis_cost.json"));
        app.import(&admin(), &WorkspaceName::new("lay").unwrap(), layered, true).await.unwrap();
        let flat = ImportSource::from_dir(&example_dir()).unwrap();
        app.import(&admin(), &WorkspaceName::new("flat").unwrap(), flat, true).await.unwrap();
        let (lay, flat) = (records_of(&app, "lay").await, records_of(&app, "flat").await);
        assert!(lay.len() > 50, "{}", lay.len());
        assert_eq!(lay, flat);

        // A problem names the file by its path in the layout.
        std::fs::write(dir.path().join("current_state/kpis_cost.json"), b"[{\"agent_id\": 7}]").unwrap();
        let refused = app
            .import(&admin(), &WorkspaceName::new("lay").unwrap(), ImportSource::from_dir(dir.path()).unwrap(), false)
            .await
            .unwrap_err();
        assert!(refused.to_string().contains("current_state/kpis_cost.json: [0].agent_id"), "{refused}");
        // The same file in two places is refused, naming both.
        std::fs::copy(example_dir().join("agents.json"), dir.path().join("agents.json")).unwrap();
        let twice = ImportSource::from_dir(dir.path()).unwrap_err();
        assert!(
            twice.to_string().contains("agents.json: found as agents.json and as config/agents.json"),
            "{twice}"
        );
    })
    .await;
}
