//! The ledger on SQLite and PostgreSQL: checkpoints signed as writes commit,
//! proofs that verify against them, and verification that catches tampering
//! done through SQL behind Charter's back.

use std::path::PathBuf;
use std::sync::Arc;

use charter_app::ledger::LedgerSettings;
use charter_app::{App, Caller, ImportSource};
use charter_ledger::{Checkpoint, NoteSigner, verify_consistency, verify_inclusion};
use charter_model::WorkspaceName;
use charter_store::Store;
use charter_store::testing::{each_backend_with_url, execute_sql};

fn ops() -> WorkspaceName {
    WorkspaceName::new("ops").unwrap()
}

fn signer() -> NoteSigner {
    NoteSigner::from_seed("charter-test", [42; 32]).unwrap()
}

fn app(store: Store) -> App {
    let settings = LedgerSettings { signer: Some(Arc::new(signer())), ..LedgerSettings::default() };
    App::new(store).with_ledger(settings)
}

async fn imported(store: Store) -> App {
    let app = app(store);
    let examples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/ops-workspace");
    app.import(&Caller::local("tester"), &ops(), ImportSource::from_dir(&examples).unwrap(), true)
        .await
        .unwrap();
    app
}

async fn failure(app: &App) -> Option<String> {
    app.verify_ledger(&ops(), &signer().verifier(), &|_, _| {}).await.unwrap().failure
}

#[tokio::test]
async fn checkpoints_and_proofs_verify() {
    each_backend_with_url(|store, _| async move {
        let app = imported(store).await;
        let caller = Caller::local("ops_governance_lead");
        let note = app.latest_checkpoint(&caller, &ops()).await.unwrap().unwrap();
        let checkpoint = Checkpoint::open(&note, &signer().verifier()).unwrap();
        assert_eq!(checkpoint.origin, "charter/ops");
        let size = app.ledger_size(&caller, &ops()).await.unwrap();
        assert_eq!(checkpoint.size, size);

        for index in [0, 1, size / 2, size - 1] {
            let proof = app.inclusion_proof(&caller, &ops(), index, None).await.unwrap();
            assert_eq!(proof.root, checkpoint.root);
            let entry = &app.ledger_entries(&caller, &ops(), index, index + 1).await.unwrap()[0];
            let leaf = charter_ledger::leaf_hash(entry.event.as_bytes());
            verify_inclusion(&leaf, index, size, &proof.hashes, &checkpoint.root).unwrap();
        }

        // A later write (decided, then made: two entries) makes a new
        // checkpoint consistent with the first.
        let agent = charter_model::RecordKind::Agent
            .parse_json(r#"{"agent_id":"agent_hr_01","name":"HR","status":"pilot"}"#)
            .unwrap();
        app.create_record(&caller, &ops(), agent).await.unwrap();
        let later = Checkpoint::open(
            &app.latest_checkpoint(&caller, &ops()).await.unwrap().unwrap(),
            &signer().verifier(),
        )
        .unwrap();
        assert_eq!(later.size, size + 2);
        let proof = app.consistency_proof(&caller, &ops(), size, size + 2).await.unwrap();
        verify_consistency(size, size + 2, &proof.hashes, &checkpoint.root, &later.root).unwrap();
        // The proofs above kept the tiles they read; the new entries are past
        // the end of the kept right-edge tile, which is read again.
        for index in [size - 1, size + 1] {
            let proof = app.inclusion_proof(&caller, &ops(), index, None).await.unwrap();
            assert_eq!((proof.size, proof.root), (size + 2, later.root));
            let entry = &app.ledger_entries(&caller, &ops(), index, index + 1).await.unwrap()[0];
            let leaf = charter_ledger::leaf_hash(entry.event.as_bytes());
            verify_inclusion(&leaf, index, size + 2, &proof.hashes, &later.root).unwrap();
        }

        let report = app.verify_ledger(&ops(), &signer().verifier(), &|_, _| {}).await.unwrap();
        assert_eq!(report.failure, None);
        assert_eq!((report.entries, report.checkpoints), (size + 2, 3));
        assert_eq!(report.root, later.root);
        assert!(report.records > 70);
    })
    .await;
}

#[tokio::test]
async fn tampering_behind_charters_back_is_found_and_named() {
    each_backend_with_url(|store, url| async move {
        let app = imported(store).await;
        assert_eq!(failure(&app).await, None);
        let size = app.ledger_size(&Caller::local("t"), &ops()).await.unwrap();

        // One byte of one event.
        let seq = app.store().events(1, 1, size).await.unwrap().into_iter().find(|e| e.subject == "agent_sales_01" && e.kind == "agent").unwrap().seq;
        let changed = execute_sql(&url, "UPDATE audit_events SET body = REPLACE(body, 'Sales Outreach Agent', 'Sales Outreach Agenx') WHERE subject = 'agent_sales_01' AND kind = 'agent'").await;
        assert_eq!(changed, 1);
        let found = failure(&app).await.unwrap();
        assert_eq!(found, format!("entry {}: its stored event does not hash to the leaf the tree recorded (the event was changed)", seq - 1));
        execute_sql(&url, "UPDATE audit_events SET body = REPLACE(body, 'Sales Outreach Agenx', 'Sales Outreach Agent') WHERE subject = 'agent_sales_01' AND kind = 'agent'").await;
        assert_eq!(failure(&app).await, None, "undoing the change restores the log");

        // Two events swapped.
        execute_sql(&url, "UPDATE audit_events SET seq = 1000000 WHERE seq = 30").await;
        execute_sql(&url, "UPDATE audit_events SET seq = 30 WHERE seq = 31").await;
        execute_sql(&url, "UPDATE audit_events SET seq = 31 WHERE seq = 1000000").await;
        let found = failure(&app).await.unwrap();
        assert!(found.starts_with("entry 29 (seq 30): the event records seq 31"), "{found}");
        execute_sql(&url, "UPDATE audit_events SET seq = 1000000 WHERE seq = 30").await;
        execute_sql(&url, "UPDATE audit_events SET seq = 30 WHERE seq = 31").await;
        execute_sql(&url, "UPDATE audit_events SET seq = 31 WHERE seq = 1000000").await;
        assert_eq!(failure(&app).await, None);

        // A deleted event.
        execute_sql(&url, "CREATE TABLE saved AS SELECT * FROM audit_events WHERE seq = 12").await;
        execute_sql(&url, "DELETE FROM audit_events WHERE seq = 12").await;
        let found = failure(&app).await.unwrap();
        assert_eq!(found, "entry 11: missing (the next stored event is seq 13)");
        execute_sql(&url, "INSERT INTO audit_events SELECT * FROM saved").await;
        execute_sql(&url, "DROP TABLE saved").await;
        assert_eq!(failure(&app).await, None);

        // The tail cut off: the latest checkpoint exposes it.
        execute_sql(&url, &format!("DELETE FROM audit_events WHERE seq > {}", size - 3)).await;
        let found = failure(&app).await.unwrap();
        assert_eq!(
            found,
            format!(
                "the latest checkpoint commits to {size} entries but the log holds {}: entries {} to {} are missing",
                size - 3,
                size - 3,
                size - 1
            )
        );
    })
    .await;
}

#[tokio::test]
async fn checkpoints_under_another_key_are_refused() {
    each_backend_with_url(|store, _| async move {
        let app = imported(store).await;
        let impostor = NoteSigner::from_seed("charter-test", [7; 32]).unwrap();
        let report = app.verify_ledger(&ops(), &impostor.verifier(), &|_, _| {}).await.unwrap();
        let found = report.failure.unwrap();
        assert!(found.contains("signature check failed"), "{found}");

        // Re-signing every checkpoint with the impostor's key is caught by
        // anyone holding the real verifier key.
        let forged = App::new(app.store().clone())
            .with_ledger(LedgerSettings { signer: Some(Arc::new(impostor)), ..LedgerSettings::default() });
        let caller = Caller::local("ops_governance_lead");
        let agent = charter_model::RecordKind::Agent
            .parse_json(r#"{"agent_id":"agent_x_01","name":"X","status":"pilot"}"#)
            .unwrap();
        forged.create_record(&caller, &ops(), agent).await.unwrap();
        let found = failure(&app).await.unwrap();
        assert!(found.contains("checkpoint at size") && found.contains("signature"), "{found}");
    })
    .await;
}

#[tokio::test]
async fn exported_bundles_verify_offline_and_name_tampering() {
    let store = charter_store::testing::TestStore::sqlite().await;
    let app = imported(store.store.clone()).await;
    let caller = Caller::local("ops_governance_lead");
    // A second checkpoint, so the bundle holds several.
    let agent = charter_model::RecordKind::Agent
        .parse_json(r#"{"agent_id":"agent_hr_01","name":"HR","status":"pilot"}"#)
        .unwrap();
    app.create_record(&caller, &ops(), agent).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("bundle");
    let exported = app.export_ledger(&caller, &ops(), &bundle).await.unwrap();
    assert_eq!((exported.entries, exported.checkpoints), (94, 3));
    let verifier = signer().verifier();
    let check = |path: &std::path::Path| charter_app::bundle::verify_bundle(path, &verifier).unwrap();
    let report = check(&bundle);
    assert_eq!(report.failure, None);
    assert_eq!((report.entries, report.checkpoints, report.origin.as_deref()), (94, 3, Some("charter/ops")));

    let events = std::fs::read_to_string(bundle.join("events.jsonl")).unwrap();
    let lines: Vec<&str> = events.lines().collect();
    let rewrite = |name: &str, lines: Vec<String>| {
        let copy = dir.path().join(name);
        copy_dir(&bundle, &copy);
        std::fs::write(copy.join("events.jsonl"), lines.join("\n") + "\n").unwrap();
        copy
    };
    let owned = |lines: &[&str]| lines.iter().map(|l| (*l).to_owned()).collect::<Vec<_>>();

    let mut changed = owned(&lines);
    changed[40] = changed[40].replacen("\"import\"", "\"update\"", 1);
    assert_eq!(
        check(&rewrite("changed", changed)).failure.unwrap(),
        "entry 40 (line 41): the event was changed: it does not hash to the leaf the signed tree holds"
    );

    let mut removed = owned(&lines);
    removed.remove(10);
    assert_eq!(
        check(&rewrite("removed", removed)).failure.unwrap(),
        "entry 10 (line 11): the event records seq 12"
    );

    let mut swapped = owned(&lines);
    swapped.swap(5, 6);
    assert_eq!(
        check(&rewrite("swapped", swapped)).failure.unwrap(),
        "entry 5 (line 6): the event records seq 7"
    );

    let cut = owned(&lines[..75]);
    assert_eq!(
        check(&rewrite("cut", cut)).failure.unwrap(),
        "the checkpoint at size 92 commits to more events than the bundle's 75: entries 75 to 91 are missing"
    );

    // A consistent cut: the newest entry and its checkpoint gone. The bundle
    // verifies on its own; a checkpoint a client kept catches it.
    let newest = app.latest_checkpoint(&caller, &ops()).await.unwrap().unwrap();
    let consistent = rewrite("consistent-cut", owned(&lines[..93]));
    // The partial tile of the level-0 hashes, cut to 93 as well.
    let tiles = consistent.join("tile/0/000.p");
    let hashes = std::fs::read(tiles.join("94")).unwrap();
    std::fs::write(tiles.join("93"), &hashes[..93 * 32]).unwrap();
    std::fs::remove_file(tiles.join("94")).unwrap();
    for entry in std::fs::read_dir(consistent.join("checkpoints")).unwrap() {
        let path = entry.unwrap().path();
        if std::fs::read_to_string(&path).unwrap() == newest {
            std::fs::remove_file(&path).unwrap();
        }
    }
    assert_eq!(check(&consistent).failure, None);
    let since = charter_app::bundle::verify_bundle_since(&consistent, &verifier, Some(&newest)).unwrap();
    assert_eq!(
        since.failure.unwrap(),
        "the checkpoint at size 94 commits to more events than the bundle's 93: entries 93 to 93 are missing"
    );
    let whole = charter_app::bundle::verify_bundle_since(&bundle, &verifier, Some(&newest)).unwrap();
    assert_eq!(whole.failure, None);

    let other = NoteSigner::from_seed("charter-test", [9; 32]).unwrap();
    let report = charter_app::bundle::verify_bundle(&bundle, &other.verifier()).unwrap();
    assert!(report.failure.unwrap().contains("signature check failed"));
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A regression: of 25 tamperings of the database, 9 passed verification:
/// a changed `actor`, `action`, `kind`, `subject` or `at` column (which
/// `audit log` filters on), a deleted row of `records`, and deleted
/// checkpoints (after which a cut tail went unnoticed). Each is found now,
/// the last two with a checkpoint a client kept.
#[tokio::test]
async fn tampering_with_columns_records_and_checkpoints_is_found() {
    each_backend_with_url(|store, url| async move {
        let app = imported(store).await;
        let caller = Caller::local("vp_finance");
        let seen = app.latest_checkpoint(&caller, &ops()).await.unwrap().unwrap();
        let size = app.ledger_size(&caller, &ops()).await.unwrap();
        let since = |app: App, seen: String| async move {
            app.verify_ledger_since(&ops(), &signer().verifier(), Some(&seen), &|_, _| {}).await.unwrap().failure
        };
        assert_eq!(since(app.clone(), seen.clone()).await, None);

        let event = app.store().events(1, 20, 20).await.unwrap().remove(0);
        for (column, set, undo, expected) in [
            ("actor", "actor = 'mallory'", format!("actor = '{}'", event.actor), format!("the stored actor column says \"mallory\" but the signed event says \"{}\"", event.actor)),
            ("action", "action = 'delete'", format!("action = '{}'", event.action), format!("the stored action column says \"delete\" but the signed event says \"{}\"", event.action)),
            ("kind", "kind = 'team'", format!("kind = '{}'", event.kind), format!("the stored kind column says \"team\" but the signed event says \"{}\"", event.kind)),
            ("subject", "subject = 'nobody'", format!("subject = '{}'", event.subject), format!("the stored subject column says \"nobody\" but the signed event says \"{}\"", event.subject)),
            ("at", "at = at + 1", "at = at - 1".to_owned(), "the stored at column says".to_owned()),
        ] {
            assert_eq!(execute_sql(&url, &format!("UPDATE audit_events SET {set} WHERE seq = 20")).await, 1);
            let found = failure(&app).await.unwrap_or_default();
            assert!(found.starts_with(&format!("entry 19: {expected}")), "{column}: {found}");
            execute_sql(&url, &format!("UPDATE audit_events SET {undo} WHERE seq = 20")).await;
            assert_eq!(failure(&app).await, None, "{column}");
        }

        // A record deleted from the registry.
        execute_sql(&url, "CREATE TABLE saved AS SELECT * FROM records WHERE kind = 'agent' AND id = 'agent_sales_01'").await;
        execute_sql(&url, "DELETE FROM records WHERE kind = 'agent' AND id = 'agent_sales_01'").await;
        let found = failure(&app).await.unwrap_or_default();
        assert!(found.starts_with("agent \"agent_sales_01\" (version 1, event "), "{found}");
        assert!(found.ends_with("is in the ledger but missing from the registry"), "{found}");
        execute_sql(&url, "INSERT INTO records SELECT * FROM saved").await;
        execute_sql(&url, "DROP TABLE saved").await;
        assert_eq!(failure(&app).await, None);

        // A counter set back: the next number would be handed out twice.
        execute_sql(&url, "UPDATE counters SET value = value - 1 WHERE name = 'audit'").await;
        let found = failure(&app).await.unwrap_or_default();
        assert_eq!(found, format!("counter \"audit\" is {}, but the log holds {size} entries", size - 1));
        execute_sql(&url, "UPDATE counters SET value = value + 1 WHERE name = 'audit'").await;
        assert_eq!(failure(&app).await, None);
        app.create_grant(
            &caller,
            &ops(),
            charter_app::NewGrant {
                kind: charter_model::GrantKind::Access,
                agent_id: "agent_sales_01".parse().unwrap(),
                action: "invoke_tool".into(),
                resource_type: "Tool".into(),
                resource_id: "erp_netsuite".into(),
                ttl: "1h".parse().unwrap(),
                reason: "month-end".into(),
                requested_by: None,
            },
        )
        .await
        .unwrap();
        assert_eq!(failure(&app).await, None);
        execute_sql(&url, "UPDATE counters SET value = 0 WHERE name = 'grant'").await;
        let found = failure(&app).await.unwrap_or_default();
        assert_eq!(found, "counter \"grant\" is 0, but the highest number its records use is 1");
        execute_sql(&url, "UPDATE counters SET value = 1 WHERE name = 'grant'").await;
        let seen = app.latest_checkpoint(&caller, &ops()).await.unwrap().unwrap();
        let size = app.ledger_size(&caller, &ops()).await.unwrap();

        // Every checkpoint deleted: only a checkpoint kept outside tells.
        execute_sql(&url, "CREATE TABLE saved AS SELECT * FROM ledger_checkpoints").await;
        execute_sql(&url, "DELETE FROM ledger_checkpoints").await;
        let found = since(app.clone(), seen.clone()).await.unwrap_or_default();
        assert_eq!(
            found,
            format!("a checkpoint seen before commits to {size} entries, but the latest stored checkpoint does not exist: checkpoints were deleted")
        );
        execute_sql(&url, "INSERT INTO ledger_checkpoints SELECT * FROM saved").await;
        execute_sql(&url, "DROP TABLE saved").await;

        // The newest entries cut together with their checkpoint.
        execute_sql(&url, &format!("DELETE FROM ledger_checkpoints WHERE size > {}", size - 3)).await;
        execute_sql(&url, &format!("DELETE FROM audit_events WHERE seq > {}", size - 3)).await;
        let found = since(app.clone(), seen.clone()).await.unwrap_or_default();
        assert_eq!(
            found,
            format!(
                "a checkpoint seen before commits to {size} entries but the log holds {}: entries {} to {} were cut",
                size - 3,
                size - 3,
                size - 1
            )
        );
    })
    .await;
}
