//! Group commit: many concurrent writers, one transaction per batch, every
//! acknowledged write durable and in the log exactly once.

use std::sync::Arc;

use charter_app::ledger::LedgerSettings;
use charter_app::{App, AppError, Caller};
use charter_ledger::NoteSigner;
use charter_model::{RecordKind, WorkspaceName};
use charter_store::testing::each_backend;

fn signer() -> NoteSigner {
    NoteSigner::from_seed("charter-test", [5; 32]).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_share_transactions_and_the_log_stays_whole() {
    each_backend(|store| async move {
        let settings = LedgerSettings { signer: Some(Arc::new(signer())), ..LedgerSettings::default() };
        let app = App::new(store).with_ledger(settings).with_group_commit();
        let ops = WorkspaceName::new("ops").unwrap();
        app.create_workspace(&Caller::local("root"), &ops).await.unwrap();

        let mut writers = Vec::new();
        for writer in 0..64 {
            let (app, ops) = (app.clone(), ops.clone());
            writers.push(tokio::spawn(async move {
                let caller = Caller::local(format!("writer-{writer}"));
                let mut seqs = Vec::new();
                for n in 0..20 {
                    let value = serde_json::json!({ "writer": writer, "n": n });
                    seqs.push(
                        app.log_event(&caller, &ops, "observe", "note", &format!("d-{writer}-{n}"), &value)
                            .await
                            .unwrap(),
                    );
                }
                // Duplicate creates race: exactly one per id wins.
                let record = RecordKind::Team
                    .parse_json(&format!(r#"{{"team_id":"team_{}","name":"Team"}}"#, writer % 8))
                    .unwrap();
                let created = match app.create_record(&caller, &ops, record).await {
                    Ok(_) => 1,
                    Err(AppError::AlreadyExists { .. }) => 0,
                    Err(other) => panic!("{other:?}"),
                };
                (seqs, created)
            }));
        }
        let mut seqs = Vec::new();
        let mut created = 0;
        for writer in writers {
            let (mine, made) = writer.await.unwrap();
            seqs.extend(mine);
            created += made;
        }
        assert_eq!(created, 8, "one team per id");
        seqs.sort_unstable();
        seqs.dedup();
        assert_eq!(seqs.len(), 64 * 20, "every acknowledged append has its own number");
        let last = 1 + 64 * 20 + 8;
        assert!(seqs.first() >= Some(&2) && seqs.last() <= Some(&last), "numbers within the log");

        let caller = Caller::local("root");
        assert_eq!(app.ledger_size(&caller, &ops).await.unwrap(), 1 + 64 * 20 + 8);
        let checkpoints =
            app.store().checkpoints(app.store().workspace(&ops).await.unwrap().unwrap().id).await.unwrap();
        assert!(
            checkpoints.len() < 64 * 20,
            "batches were committed together ({} checkpoints)",
            checkpoints.len()
        );
        let report = app.verify_ledger(&ops, &signer().verifier(), &|_, _| {}).await.unwrap();
        assert_eq!(report.failure, None);
        assert_eq!(report.entries, 1 + 64 * 20 + 8);
    })
    .await;
}
