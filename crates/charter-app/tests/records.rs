//! Record use cases, optimistic concurrency, the audit trail and roles, on
//! SQLite and PostgreSQL.

use std::sync::Arc;

use charter_app::{App, AppError, Caller, FixedClock};
use charter_model::audit::AuditEvent;
use charter_model::{Record, RecordKind, Role, WorkspaceName};
use charter_store::Store;
use charter_store::testing::each_backend;

fn app(store: Store) -> App {
    App::with_clock(store, Arc::new(FixedClock("2026-11-22T09:00:00Z".parse().unwrap())))
}

fn name(value: &str) -> WorkspaceName {
    WorkspaceName::new(value).unwrap()
}

fn system(id: &str, latency: u32) -> Record {
    RecordKind::System
        .parse_json(&format!(r#"{{"system_id":"{id}","type":"external_api","latency_ms_p95":{latency}}}"#))
        .unwrap()
}

async fn events(app: &App, workspace: &str) -> Vec<AuditEvent> {
    let row = app.store().workspace(&name(workspace)).await.unwrap().unwrap();
    let count = app.store().event_count(row.id).await.unwrap();
    app.store()
        .events(row.id, 1, count)
        .await
        .unwrap()
        .iter()
        .map(|event| AuditEvent::decode(&event.body).unwrap())
        .collect()
}

#[tokio::test]
async fn updates_bump_versions_and_stale_versions_conflict() {
    each_backend(|store| async move {
        let app = app(store);
        let local = Caller::local("alice");
        app.create_workspace(&local, &name("ops")).await.unwrap();
        let created = app.create_record(&local, &name("ops"), system("crm", 400)).await.unwrap();
        assert_eq!(created.version, 1);

        let updated = app.update_record(&local, &name("ops"), "crm", 1, system("crm", 900)).await.unwrap();
        assert_eq!(updated.version, 2);
        let error = app.update_record(&local, &name("ops"), "crm", 1, system("crm", 100)).await.unwrap_err();
        assert!(matches!(error, AppError::Conflict { expected: 1, current: 2, .. }), "{error:?}");
        assert_eq!(
            error.to_string(),
            "system \"crm\" was changed by someone else: expected version 1, current version is 2"
        );

        // Writing the stored value again changes nothing.
        let same = app.update_record(&local, &name("ops"), "crm", 2, system("crm", 900)).await.unwrap();
        assert_eq!(same.version, 2);

        let stored = app.get_record(&local, &name("ops"), RecordKind::System, "crm").await.unwrap();
        assert_eq!(stored.record, system("crm", 900));

        let log = events(&app, "ops").await;
        type Line<'a> = (u64, &'a str, &'a str, Option<u64>, Option<u64>);
        let summary: Vec<Line> = log
            .iter()
            .map(|e| (e.seq, e.action.as_str(), e.subject.as_str(), e.version, e.prev_version))
            .collect();
        assert_eq!(
            summary,
            [
                (1, "create", "ops", None, None),
                (2, "create", "crm", Some(1), None),
                (3, "update", "crm", Some(2), Some(1)),
            ]
        );
        assert!(log.iter().all(|e| e.actor == "alice"));
        assert_eq!(log[2].value.as_deref(), Some(system("crm", 900).to_canonical_json().as_str()));
    })
    .await;
}

#[tokio::test]
async fn a_failed_mutation_leaves_neither_change_nor_event() {
    each_backend(|store| async move {
        let app = app(store);
        let local = Caller::local("alice");
        app.create_workspace(&local, &name("ops")).await.unwrap();
        app.create_record(&local, &name("ops"), system("crm", 400)).await.unwrap();
        let error = app.create_record(&local, &name("ops"), system("crm", 999)).await.unwrap_err();
        assert!(matches!(error, AppError::AlreadyExists { .. }), "{error:?}");
        let invalid = RecordKind::System
            .parse_json(r#"{"system_id":"erp","type":"internal_system","uptime_30d":120}"#)
            .unwrap();
        let error = app.create_record(&local, &name("ops"), invalid).await.unwrap_err();
        assert_eq!(error.to_string(), "invalid system:\n  uptime_30d: must be between 0 and 100, got 120");
        assert_eq!(events(&app, "ops").await.len(), 2);
        let stored = app.get_record(&local, &name("ops"), RecordKind::System, "crm").await.unwrap();
        assert_eq!((stored.version, stored.record), (1, system("crm", 400)));
        let error = app.get_record(&local, &name("ops"), RecordKind::System, "erp").await.unwrap_err();
        assert!(matches!(error, AppError::NotFound { .. }));
    })
    .await;
}

#[tokio::test]
async fn tokens_reach_one_workspace_with_one_role() {
    each_backend(|store| async move {
        let app = app(store);
        let local = Caller::local("root");
        app.create_workspace(&local, &name("a")).await.unwrap();
        app.create_workspace(&local, &name("b")).await.unwrap();
        app.create_record(&local, &name("b"), system("secret_system", 1)).await.unwrap();
        // Each workspace is set up by an import: its people, and the
        // example's policy on who writes which records.
        let set_up = |workspace: &'static str, people: serde_json::Value| {
            let (app, local) = (app.clone(), local.clone());
            async move {
                let dir = tempfile::tempdir().unwrap();
                std::fs::write(dir.path().join("people.json"), people.to_string()).unwrap();
                let policies: Vec<serde_json::Value> = serde_json::from_slice(
                    &std::fs::read(
                        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                            .join("../../examples/ops-workspace/policies.json"),
                    )
                    .unwrap(),
                )
                .unwrap();
                let change: Vec<_> = policies.into_iter().filter(|p| p["policy_id"] == "POL-OPS-CHANGE").collect();
                std::fs::write(dir.path().join("policies.json"), serde_json::to_vec(&change).unwrap()).unwrap();
                let source = charter_app::ImportSource::from_dir(dir.path()).unwrap();
                app.import(&local, &name(workspace), source, true).await.unwrap();
            }
        };
        set_up(
            "a",
            serde_json::json!([
                {"person_id": "audit-bot", "name": "audit-bot", "roles": ["auditor"]},
                {"person_id": "owner-bot", "name": "owner-bot", "roles": ["owner"]}
            ]),
        )
        .await;
        set_up("b", serde_json::json!([{"person_id": "bob", "name": "bob", "roles": ["auditor"]}])).await;

        // A token is bound to a person of its own workspace, with a role
        // they hold: not a person of another workspace, nor another role.
        let forged = app.create_token(&local, &name("a"), Role::Auditor, "bob").await.unwrap_err();
        assert!(
            forged.to_string().contains("\"bob\" is neither a person nor an agent registered in workspace a"),
            "{forged}"
        );
        let raised = app.create_token(&local, &name("a"), Role::Owner, "audit-bot").await.unwrap_err();
        assert!(raised.to_string().contains("audit-bot holds [auditor], not owner"), "{raised}");

        let auditor = app.create_token(&local, &name("a"), Role::Auditor, "audit-bot").await.unwrap();
        let owner = app.create_token(&local, &name("a"), Role::Owner, "owner-bot").await.unwrap();
        assert!(auditor.secret.starts_with(charter_app::SECRET_PREFIX));
        let auditor = app.authenticate(&auditor.secret).await.unwrap().unwrap();
        let owner = app.authenticate(&owner.secret).await.unwrap().unwrap();
        assert!(app.authenticate("charter_0000").await.unwrap().is_none());
        assert!(app.authenticate("not-a-token").await.unwrap().is_none());

        // Reads within the workspace work for every role.
        app.list_records(&auditor, &name("a"), RecordKind::System, None, 10).await.unwrap();
        // Another workspace looks exactly like a missing one.
        for caller in [&auditor, &owner] {
            let error = app.get_record(caller, &name("b"), RecordKind::System, "secret_system").await.unwrap_err();
            assert_eq!(error.to_string(), "workspace \"b\" not found");
            let error = app.get_record(caller, &name("nope"), RecordKind::System, "x").await.unwrap_err();
            assert_eq!(error.to_string(), "workspace \"nope\" not found");
        }
        assert_eq!(app.list_workspaces(&owner).await.unwrap().len(), 1);

        // Writes need the kind's role.
        let error = app.create_record(&auditor, &name("a"), system("crm", 1)).await.unwrap_err();
        assert!(matches!(error, AppError::Forbidden(_)), "{error:?}");
        app.create_record(&owner, &name("a"), system("crm", 1)).await.unwrap();
        let policy = RecordKind::Policy
            .parse_json(r#"{"policy_id":"POL-A-B","title":"t","purpose":"p","rules":"1. r","owner":"o","status":"Active"}"#)
            .unwrap();
        let error = app.create_record(&owner, &name("a"), policy).await.unwrap_err();
        assert_eq!(error.to_string(), "forbidden: role owner may not write policy records: that needs steward or admin");
        assert!(matches!(app.create_token(&owner, &name("a"), Role::Admin, "x").await, Err(AppError::Forbidden(_))));
        assert!(matches!(app.create_workspace(&owner, &name("c")).await, Err(AppError::Forbidden(_))));

        // The audit trail names the token, and never holds a secret.
        let log = events(&app, "a").await;
        assert_eq!(log.last().unwrap().actor, "owner-bot");
        assert!(log.iter().all(|e| !e.value.as_deref().unwrap_or_default().contains("charter_")));
    })
    .await;
}

#[tokio::test]
async fn an_update_keeps_the_creation_time() {
    each_backend(|store| async move {
        let app = app(store.clone());
        let local = Caller::local("alice");
        app.create_workspace(&local, &name("ops")).await.unwrap();
        let created = app.create_record(&local, &name("ops"), system("crm", 400)).await.unwrap();
        let tomorrow = "2026-11-23T09:00:00Z".parse().unwrap();
        let later = App::with_clock(store, Arc::new(FixedClock(tomorrow)));
        let updated = later.update_record(&local, &name("ops"), "crm", 1, system("crm", 900)).await.unwrap();
        assert_eq!((updated.created_at, updated.updated_at), (created.created_at, tomorrow));
        let stored = later.get_record(&local, &name("ops"), RecordKind::System, "crm").await.unwrap();
        assert_eq!((stored.created_at, stored.updated_at), (updated.created_at, updated.updated_at));
    })
    .await;
}

#[tokio::test]
async fn every_record_write_is_decided_once_a_person_is_registered() {
    each_backend(|store| async move {
        let app = app(store);
        let root = Caller::local("root");
        // Set-up: before anyone is registered, the installation writes.
        app.create_workspace(&root, &name("ops")).await.unwrap();
        app.create_record(&root, &name("ops"), system("erp", 1)).await.unwrap();
        let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/ops-workspace");
        let source = charter_app::ImportSource::from_dir(&examples).unwrap();
        app.import(&root, &name("ops"), source, true).await.unwrap();

        // From then on, an unregistered writer is refused, and a registered
        // one writes only what the policy permits (POL-OPS-CHANGE rule 4:
        // the records their role writes, or any as an admin).
        let error = app.create_record(&root, &name("ops"), system("crm", 1)).await.unwrap_err();
        assert!(matches!(&error, AppError::Forbidden(m) if m.contains("not in the registry")), "{error}");
        let owner = Caller::local("revenue_ops_lead");
        app.create_record(&owner, &name("ops"), system("crm", 1)).await.unwrap();
        let team = RecordKind::Team.parse_json(r#"{"team_id":"legal","name":"Legal"}"#).unwrap();
        let error = app.create_record(&owner, &name("ops"), team.clone()).await.unwrap_err();
        assert!(
            matches!(&error, AppError::Forbidden(m) if m.contains("denied by the decision point") && m.contains("default-deny")),
            "{error}"
        );
        app.create_record(&Caller::local("ops_governance_lead"), &name("ops"), team).await.unwrap();
        let update = app.update_record(&owner, &name("ops"), "crm", 1, system("crm", 9)).await.unwrap();
        assert_eq!(update.version, 2);

        // Each write's decision is in the ledger, before the write.
        let log = events(&app, "ops").await;
        let decided: Vec<(&str, &str)> = log
            .iter()
            .filter(|e| e.kind == "decision" && e.value.as_deref().is_some_and(|v| v.contains("write_record")))
            .map(|e| (e.actor.as_str(), if e.value.as_deref().unwrap().contains("\"allow\"") { "allow" } else { "deny" }))
            .collect();
        assert_eq!(
            decided,
            [
                ("revenue_ops_lead", "allow"),
                ("revenue_ops_lead", "deny"),
                ("ops_governance_lead", "allow"),
                ("revenue_ops_lead", "allow")
            ]
        );
    })
    .await;
}
