//! The storage story, run on SQLite and on PostgreSQL.

use charter_model::audit::AuditEvent;
use charter_model::{RecordKind, Timestamp, WorkspaceName};
use charter_store::testing::each_backend;
use charter_store::{EventRow, NewRecord, Store, StoreError};

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_unix_micros(1_700_000_000_000_000 + seconds * 1_000_000).unwrap()
}

fn ws(name: &str) -> WorkspaceName {
    WorkspaceName::new(name).unwrap()
}

/// An event setting `subject` to `value` (as the app writes them).
fn event_with(seq: u64, subject: &str, value: &str) -> EventRow {
    let event = AuditEvent {
        workspace: ws("ops"),
        seq,
        at: at(0),
        actor: "tester".into(),
        action: "create".into(),
        kind: "agent".into(),
        subject: subject.into(),
        version: Some(1),
        prev_version: None,
        value: Some(value.into()),
    };
    EventRow {
        seq,
        at: at(0),
        actor: "tester".into(),
        action: "create".into(),
        kind: "agent".into(),
        subject: subject.into(),
        body: event.encode(),
    }
}

fn event(seq: u64, subject: &str) -> EventRow {
    event_with(seq, subject, "{\"x\":1}")
}

fn record(kind: RecordKind, id: &str, event_seq: u64) -> NewRecord<'_> {
    NewRecord { kind, id, event_seq }
}

async fn workspace(store: &Store, name: &str) -> i64 {
    let mut tx = store.begin().await.unwrap();
    let row = tx.create_workspace(&ws(name), at(0)).await.unwrap();
    tx.append_events(row.id, &[event(1, name)]).await.unwrap();
    tx.commit().await.unwrap();
    row.id
}

#[tokio::test]
async fn records_round_trip_and_list_in_id_order() {
    each_backend(|store| async move {
        let id = workspace(&store, "ops").await;
        let mut tx = store.begin().await.unwrap();
        let records: Vec<NewRecord> =
            ["c", "a", "b"].iter().zip(2..).map(|(id, seq)| record(RecordKind::System, id, seq)).collect();
        tx.insert_records(id, &records, at(5)).await.unwrap();
        tx.append_events(id, &[event(2, "c"), event(3, "a"), event(4, "b")]).await.unwrap();
        tx.commit().await.unwrap();

        let stored = store.record(id, RecordKind::System, "a").await.unwrap().unwrap();
        let record = stored;
        assert_eq!((record.version, record.body.as_str(), record.event_seq), (1, "{\"x\":1}", 3));
        assert_eq!((record.created_at, record.updated_at), (at(5), at(5)));

        let page = store.records(id, RecordKind::System, None, 2).await.unwrap();
        assert_eq!(page.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        let page = store.records(id, RecordKind::System, Some("b"), 2).await.unwrap();
        assert_eq!(page.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["c"]);
        assert_eq!(store.record_counts(id).await.unwrap(), [("system".to_owned(), 3)]);
        assert_eq!(store.event_count(id).await.unwrap(), 4);
        let events = store.events(id, 2, 3).await.unwrap();
        assert_eq!(events.iter().map(|e| e.subject.as_str()).collect::<Vec<_>>(), ["c", "a"]);
    })
    .await;
}

#[tokio::test]
async fn stale_version_is_a_conflict_not_an_overwrite() {
    each_backend(|store| async move {
        let id = workspace(&store, "ops").await;
        let mut tx = store.begin().await.unwrap();
        tx.insert_records(id, &[record(RecordKind::Agent, "agent_a_01", 2)], at(1)).await.unwrap();
        tx.append_events(id, &[event_with(2, "agent_a_01", "{\"v\":1}")]).await.unwrap();
        tx.commit().await.unwrap();

        let mut tx = store.begin().await.unwrap();
        let version = tx.update_record(id, RecordKind::Agent, "agent_a_01", 1, 3, at(2)).await.unwrap();
        assert_eq!(version, 2);
        tx.append_events(id, &[event_with(3, "agent_a_01", "{\"v\":2}")]).await.unwrap();
        tx.commit().await.unwrap();

        let mut tx = store.begin().await.unwrap();
        let error = tx.update_record(id, RecordKind::Agent, "agent_a_01", 1, 4, at(3)).await.unwrap_err();
        assert!(matches!(error, StoreError::Conflict { expected: 1, current: 2, .. }), "{error:?}");
        let error = tx.update_record(id, RecordKind::Agent, "agent_zz_01", 1, 4, at(3)).await.unwrap_err();
        assert!(matches!(error, StoreError::NotFound { .. }), "{error:?}");
        drop(tx);

        let record = store.record(id, RecordKind::Agent, "agent_a_01").await.unwrap().unwrap();
        assert_eq!((record.version, record.body.as_str(), record.updated_at), (2, "{\"v\":2}", at(2)));
    })
    .await;
}

#[tokio::test]
async fn a_change_without_its_audit_event_never_commits() {
    each_backend(|store| async move {
        let id = workspace(&store, "ops").await;
        let mut tx = store.begin().await.unwrap();
        tx.insert_records(id, &[record(RecordKind::Team, "t", 2)], at(1)).await.unwrap();
        let error = tx.commit().await.unwrap_err();
        assert!(matches!(error, StoreError::Invariant(_)), "{error:?}");
        assert!(store.record(id, RecordKind::Team, "t").await.unwrap().is_none());

        // A transaction dropped without commit leaves nothing either.
        let mut tx = store.begin().await.unwrap();
        tx.insert_records(id, &[record(RecordKind::Team, "t", 2)], at(1)).await.unwrap();
        tx.append_events(id, &[event(2, "t")]).await.unwrap();
        drop(tx);
        assert!(store.record(id, RecordKind::Team, "t").await.unwrap().is_none());
        assert_eq!(store.event_count(id).await.unwrap(), 1);
    })
    .await;
}

#[tokio::test]
async fn workspaces_are_unique_and_scope_records() {
    each_backend(|store| async move {
        let a = workspace(&store, "a").await;
        let b = workspace(&store, "b").await;
        let mut tx = store.begin().await.unwrap();
        let error = tx.create_workspace(&ws("a"), at(1)).await.unwrap_err();
        assert!(matches!(error, StoreError::AlreadyExists { .. }), "{error:?}");
        drop(tx);

        let mut tx = store.begin().await.unwrap();
        tx.insert_records(a, &[record(RecordKind::System, "s", 2)], at(1)).await.unwrap();
        tx.append_events(a, &[event(2, "s")]).await.unwrap();
        tx.commit().await.unwrap();
        assert!(store.record(b, RecordKind::System, "s").await.unwrap().is_none());
        assert!(store.records(b, RecordKind::System, None, 10).await.unwrap().is_empty());
        let names: Vec<String> =
            store.workspaces().await.unwrap().into_iter().map(|w| w.name.to_string()).collect();
        assert_eq!(names, ["a", "b"]);
    })
    .await;
}

#[tokio::test]
async fn counters_allocate_consecutive_numbers_per_workspace() {
    each_backend(|store| async move {
        let a = workspace(&store, "a").await;
        let b = workspace(&store, "b").await;
        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.advance_counter(a, "OPS-2026-11-22", 1).await.unwrap(), 1);
        assert_eq!(tx.advance_counter(a, "OPS-2026-11-22", 3).await.unwrap(), 4);
        assert_eq!(tx.advance_counter(b, "OPS-2026-11-22", 1).await.unwrap(), 1);
        assert_eq!(tx.counter(a, "OPS-2026-11-22").await.unwrap(), 4);
        assert_eq!(tx.counter(a, "never").await.unwrap(), 0);
        tx.commit().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn concurrent_counter_allocations_never_repeat() {
    each_backend(|store| async move {
        let id = workspace(&store, "ops").await;
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let mut tx = store.begin().await.unwrap();
                let value = tx.advance_counter(id, "raida", 1).await.unwrap();
                tx.commit().await.unwrap();
                value
            }));
        }
        let mut values = Vec::new();
        for task in tasks {
            values.push(task.await.unwrap());
        }
        values.sort_unstable();
        assert_eq!(values, (1..=16).collect::<Vec<u64>>());
    })
    .await;
}

#[tokio::test]
async fn reopening_a_migrated_database_is_a_no_op() {
    let reopen = |test: charter_store::testing::TestStore| async move {
        let id = workspace(&test.store, "kept").await;
        let applied =
            charter_store::testing::execute_sql(&test.url, "UPDATE charter_migrations SET name = name").await;
        assert!(applied >= 4, "every migration is recorded: {applied}");
        let again = Store::connect(&test.url).await.unwrap();
        again.ping().await.unwrap();
        let kept = again.workspace(&charter_model::WorkspaceName::new("kept").unwrap()).await.unwrap();
        assert_eq!(kept.map(|row| row.id), Some(id), "reopening keeps the data");
        assert_eq!(
            charter_store::testing::execute_sql(&test.url, "UPDATE charter_migrations SET name = name").await,
            applied,
            "and applies no migration twice"
        );
        again.close().await;
        test.finish().await;
    };
    reopen(charter_store::testing::TestStore::sqlite().await).await;
    if let Some(test) = charter_store::testing::TestStore::postgres().await {
        reopen(test).await;
    }
}

/// A kind's records are read back (`visit_values`) each once, in id
/// order, with its own value taken whole out of its audit event (here
/// one holding an escaped control character).
#[tokio::test]
async fn every_record_is_visited_once_in_id_order_with_its_own_value() {
    each_backend(|store| async move {
        let id = workspace(&store, "ops").await;
        let ids: Vec<String> = (0..1_100).rev().map(|n| format!("s{n:04}")).collect();
        let values: Vec<String> =
            (0..1_100).rev().map(|n| format!("{{\"n\":{n},\"t\":\"a\\u001eb\"}}")).collect();
        let mut tx = store.begin().await.unwrap();
        let records: Vec<NewRecord> =
            ids.iter().zip(2..).map(|(id, seq)| record(RecordKind::Snapshot, id, seq)).collect();
        tx.insert_records(id, &records, at(5)).await.unwrap();
        let events: Vec<EventRow> =
            ids.iter().zip(&values).zip(2..).map(|((id, value), seq)| event_with(seq, id, value)).collect();
        tx.append_events(id, &events).await.unwrap();
        tx.commit().await.unwrap();

        let mut seen = Vec::new();
        store
            .visit_values(id, RecordKind::Snapshot, |id, value| {
                seen.push((id.to_owned(), value.to_owned()));
                Ok::<_, StoreError>(())
            })
            .await
            .unwrap();
        assert_eq!(seen.len(), 1_100);
        for (n, (id, value)) in seen.iter().enumerate() {
            assert_eq!(id, &format!("s{n:04}"));
            assert_eq!(value, &format!("{{\"n\":{n},\"t\":\"a\\u001eb\"}}"));
        }
        // A kind with no records visits nothing.
        let mut none = 0;
        store
            .visit_values(id, RecordKind::Agent, |_, _| {
                none += 1;
                Ok::<_, StoreError>(())
            })
            .await
            .unwrap();
        assert_eq!(none, 0);

        // The same, read on a blocking thread (on SQLite, straight from
        // the file, with a visitor error stopping the read).
        let runtime = tokio::runtime::Handle::current();
        let (blocking, stopped) = tokio::task::spawn_blocking(move || {
            let mut seen = Vec::new();
            store
                .visit_values_blocking(&runtime, id, RecordKind::Snapshot, |id, value| {
                    seen.push((id.to_owned(), value.to_owned()));
                    Ok::<_, StoreError>(())
                })
                .unwrap();
            let mut visits = 0;
            let stopped = store.visit_values_blocking(&runtime, id, RecordKind::Snapshot, |id, _| {
                visits += 1;
                match id {
                    "s0010" => Err(StoreError::Corrupt("stop".into())),
                    _ => Ok(()),
                }
            });
            (seen, (visits, stopped))
        })
        .await
        .unwrap();
        assert_eq!(blocking, seen);
        assert_eq!(stopped.0, 11);
        assert!(matches!(stopped.1, Err(StoreError::Corrupt(ref m)) if m == "stop"), "{:?}", stopped.1);
    })
    .await;
}
