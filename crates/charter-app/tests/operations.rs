//! Declaring governed operations, on SQLite and PostgreSQL, with real paths
//! in temporary directories.

use std::sync::Arc;

use charter_app::{App, AppError, Caller, FixedClock};
use charter_model::{OperationStatus, Record, RecordKind, WorkspaceName};
use charter_store::testing::each_backend;

fn ops() -> WorkspaceName {
    WorkspaceName::new("ops").unwrap()
}

fn declaration(root: &std::path::Path, touches: &str) -> String {
    let root = root.display();
    format!(
        "OPERATION_NAME: rotate site config\n\
         OBJECTIVE: Serve the new upstream.\n\
         RISK_CLASS: FILESYSTEM_WRITE\n\
         BLAST_RADIUS: the site config\n\
         ROLLBACK_STRATEGY: snapshot\n\
         ALLOWED_PATHS: [{root}/conf]\n\
         ALLOWED_SERVICES: []\n\
         NOT_ALLOWED:\n  paths: [{root}/conf/secrets]\n\
         REQUESTED_BY: alice\n\
         STEPS:\n\
         \x20 - name: write\n\
         \x20   command: echo new > {root}/conf/site.conf\n\
         \x20   touches: [{touches}]\n\
         \x20   verify: [grep -q new {root}/conf/site.conf]\n\
         \x20   rollback: echo old > {root}/conf/site.conf\n"
    )
}

#[tokio::test]
async fn operations_are_declared_checked_and_numbered_per_day() {
    each_backend(|store| async move {
        let app = App::with_clock(store, Arc::new(FixedClock("2026-11-22T09:00:00Z".parse().unwrap())));
        let local = Caller::local("alice");
        app.create_workspace(&local, &ops()).await.unwrap();
        // Requests go through the decision point: a registered requester,
        // and the example's policy letting anyone registered request.
        // (The policy first: once a person is registered, writes are decided.)
        let policies = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../examples/ops-workspace/policies.json"),
        )
        .unwrap();
        let change = RecordKind::Policy
            .parse_json_array(&policies)
            .unwrap()
            .into_iter()
            .find(|p| p.id() == "POL-OPS-CHANGE");
        app.create_record(&local, &ops(), change.unwrap()).await.unwrap();
        let alice = RecordKind::Person
            .parse_json(r#"{"person_id":"alice","name":"Alice","roles":["owner"]}"#)
            .unwrap();
        app.create_record(&local, &ops(), alice).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("conf/secrets")).unwrap();
        std::fs::create_dir_all(root.join("outside")).unwrap();
        std::os::unix::fs::symlink(root.join("outside"), root.join("conf/escape")).unwrap();
        std::os::unix::fs::symlink(root.join("conf/secrets"), root.join("conf/innocent")).unwrap();

        let good = declaration(&root, &format!("{}/conf/site.conf", root.display()));
        let first = app.declare_operation(&local, &ops(), &good).await.unwrap();
        assert_eq!((first.id.as_str(), first.version), ("OPS-2026-11-22-001", 2));
        let Record::Operation(op) = &first.record else { panic!() };
        assert_eq!((op.status, op.tier), (OperationStatus::Planned, 3));
        assert_eq!(op.declaration_hash, charter_ops::declaration_hash(&op.declaration));
        let second = app.declare_operation(&local, &ops(), &good).await.unwrap();
        assert_eq!(second.id, "OPS-2026-11-22-002");
        // Someone the registry does not know may not request, and takes no
        // number (a regression: the refusal spent one).
        let error =
            app.declare_operation(&Caller::local("mallory"), &ops(), &good).await.unwrap_err().to_string();
        assert!(error.contains("principal User::\"mallory\" is not in the registry"), "{error}");
        // Nobody declares in another person's name (a regression: whoever
        // declared for someone else could then approve it).
        let for_bob = good.replace("REQUESTED_BY: alice", "REQUESTED_BY: bob");
        assert_ne!(for_bob, good);
        let error = app.declare_operation(&local, &ops(), &for_bob).await.unwrap_err().to_string();
        assert!(error.contains("REQUESTED_BY: \"bob\" is not you (\"alice\")"), "{error}");
        let third = app.declare_operation(&local, &ops(), &good).await.unwrap();
        assert_eq!(third.id, "OPS-2026-11-22-003");

        // Requested, then Planned: two ledger entries.
        let row = app.store().workspace(&ops()).await.unwrap().unwrap();
        let last = app.store().event_count(row.id).await.unwrap();
        let events = app.store().events(row.id, 1, last).await.unwrap();
        let first_events: Vec<(&str, &str)> = events
            .iter()
            .filter(|e| e.subject == "OPS-2026-11-22-001")
            .map(|e| (e.kind.as_str(), e.action.as_str()))
            .collect();
        assert_eq!(first_events, [("operation", "create"), ("operation", "update")]);

        // Every problem at once; nothing written.
        let error = app.declare_operation(&local, &ops(), "OPERATION_NAME: x\n").await.unwrap_err();
        let AppError::Invalid { problems, .. } = &error else { panic!("{error:?}") };
        assert_eq!(problems.len(), 8, "{problems:?}");

        // A symlink inside ALLOWED_PATHS that leads outside, or into a denied path.
        for (link, expected) in
            [("escape/x", "outside ALLOWED_PATHS"), ("innocent/key", "under NOT_ALLOWED path")]
        {
            let text = declaration(&root, &format!("{}/conf/{link}", root.display()));
            let error = app.declare_operation(&local, &ops(), &text).await.unwrap_err().to_string();
            assert!(error.contains(expected) && error.contains("resolves to"), "{error}");
        }
        let traversal = declaration(&root, &format!("{}/conf/../../etc/passwd", root.display()));
        let error = app.declare_operation(&local, &ops(), &traversal).await.unwrap_err().to_string();
        assert!(error.contains("climbs out with \"..\""), "{error}");
        assert_eq!(
            app.store().event_count(row.id).await.unwrap(),
            last,
            "refused declarations write nothing"
        );

        // An operation's state is not written as a record.
        let mut forged = op.as_ref().clone();
        forged.operation_id = charter_model::OperationId::new("OPS-2026-11-22-100").unwrap();
        forged.status = OperationStatus::Approved;
        let error = app.create_record(&local, &ops(), Record::Operation(Box::new(forged))).await.unwrap_err();
        assert!(error.to_string().contains("operations are declared with"), "{error}");
        let listed = app.list_records(&local, &ops(), RecordKind::Operation, None, 10).await.unwrap();
        assert_eq!(listed.items.len(), 3);
    })
    .await;
}
