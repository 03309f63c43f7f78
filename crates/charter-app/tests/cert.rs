//! Certification on SQLite and PostgreSQL: the example workspace as
//! imported is RED with the blockers that honestly follow; the verdict is
//! the same bytes computed twice and on both backends; the signed envelope
//! verifies offline and its digest is in the ledger.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use charter_app::ledger::LedgerSettings;
use charter_app::{App, Caller, CertifyRequest, ImportSource};
use charter_cert::{BlockerId, BlockerState, Level, Outcome};
use charter_model::{Timestamp, WorkspaceName};
use charter_store::testing::each_backend;

fn signer() -> charter_ledger::NoteSigner {
    charter_ledger::NoteSigner::from_seed("charter-test", [42; 32]).unwrap()
}

fn ops() -> WorkspaceName {
    WorkspaceName::new("ops").unwrap()
}

async fn imported(store: charter_store::Store) -> App {
    let clock = Arc::new(charter_app::FixedClock("2027-01-15T10:00:00Z".parse().unwrap()));
    let settings = LedgerSettings { signer: Some(Arc::new(signer())), ..LedgerSettings::default() };
    let app = App::with_clock(store, clock).with_ledger(settings);
    let examples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/ops-workspace");
    app.import(&Caller::local("tester"), &ops(), ImportSource::from_dir(&examples).unwrap(), true)
        .await
        .unwrap();
    app.checkpoint_pending().await.unwrap();
    app
}

#[tokio::test]
async fn the_example_as_imported_is_red_with_the_blockers_that_follow_and_the_same_bytes_everywhere() {
    let verdicts = Arc::new(Mutex::new(Vec::new()));
    let seen = verdicts.clone();
    each_backend(move |store| {
        let seen = seen.clone();
        async move {
            let app = imported(store).await;
            let caller = Caller::local("ops_governance_lead");
            let as_of: Timestamp = "2027-01-15T12:00:00Z".parse().unwrap();
            let request = CertifyRequest { as_of: Some(as_of), matrix: None, record: false };
            let first = app.certify(&caller, &ops(), request.clone()).await.unwrap();
            let verdict = &first.verdict;
            assert_eq!(verdict.outcome, Outcome::Red);
            // No operations, drills, decisions, runs or incidents yet; budgets
            // cover two agents of seven. Each gap is its own blocker.
            let active: Vec<(BlockerId, &str, &str)> = verdict
                .blockers
                .iter()
                .filter(|b| b.state == BlockerState::Active)
                .map(|b| (b.id, b.claim.as_str(), b.subject.as_str()))
                .collect();
            for expected in [
                (BlockerId::B1, "T0.1", "corridor_share"),
                (BlockerId::B1, "T0.1", "evidence:operation_run"),
                (BlockerId::B2, "T0.1", "drill:rollback"),
                (BlockerId::B2, "T0.1", "rollback_recovery_seconds"),
                (BlockerId::B3, "T0.5", "evidence:decision"),
                (BlockerId::B3, "T0.5", "provenance_completeness"),
                (BlockerId::B4, "T0.4", "drill:incident"),
                (BlockerId::B4, "T0.4", "postmortem_quality"),
                (BlockerId::B5, "T0.6", "budget_coverage"),
                (BlockerId::B5, "T0.6", "evidence:run"),
            ] {
                assert!(active.contains(&expected), "{expected:?} missing from {active:#?}");
            }
            // Nothing unresolved: every metric was measured.
            assert!(
                !active.iter().any(|(id, ..)| matches!(id, BlockerId::B6 | BlockerId::B7)),
                "{active:#?}"
            );
            // The ledger verifies and the alert classes of the example are owned.
            let t05 = verdict.claims.iter().find(|c| c.id == "T0.5").unwrap();
            let ledger = t05.metrics.iter().find(|m| m.id == "ledger_verified").unwrap();
            assert_eq!(ledger.value, Some(1.0), "{ledger:?}");
            let audit = t05.metrics.iter().find(|m| m.id == "audit_query_ms").unwrap();
            assert_eq!(audit.value, None, "a time is not in the verdict");
            assert!(first.measurements.contains_key("audit_query_ms.proof"));
            let t11 = verdict.claims.iter().find(|c| c.id == "T1.1").unwrap();
            assert_eq!(t11.level, Level::L0);

            // The same state certified again: the same bytes; signed, it verifies.
            let again = app.certify(&caller, &ops(), request).await.unwrap();
            assert_eq!(first.json, again.json);
            let envelope = serde_json::to_string(first.envelope.as_ref().unwrap()).unwrap();
            let verified = charter_cert::verify(&envelope, &signer().verifier()).unwrap();
            assert_eq!(verified.statement.predicate, first.verdict);
            // Recorded: its digest is the next ledger entry.
            let recorded = app
                .certify(&caller, &ops(), CertifyRequest { as_of: Some(as_of), matrix: None, record: true })
                .await
                .unwrap();
            let seq = recorded.recorded_seq.unwrap();
            let filter = charter_store::EventFilter {
                kind: Some(charter_app::CERTIFICATION.into()),
                ..charter_store::EventFilter::default()
            };
            let logged = app.audit_log(&caller, &ops(), &filter, 0, 10).await.unwrap();
            assert_eq!(logged.len(), 1);
            assert_eq!(logged[0].seq, seq);
            assert!(logged[0].body.contains(&verified.payload_sha256), "{}", logged[0].body);
            // A matrix with a bad field is refused, naming it.
            let bad = app
                .certify(
                    &caller,
                    &ops(),
                    CertifyRequest {
                        as_of: Some(as_of),
                        matrix: Some(("m.toml".into(), "period_days = 0\nclaims = []".into())),
                        record: false,
                    },
                )
                .await
                .unwrap_err();
            assert!(bad.to_string().contains("m.toml: period_days: 0"), "{bad}");
            seen.lock().unwrap().push(first.json.clone());
        }
    })
    .await;
    let verdicts = verdicts.lock().unwrap();
    let backends = if std::env::var_os("CHARTER_TEST_DATABASE_URL").is_some() { 2 } else { 1 };
    assert_eq!(verdicts.len(), backends);
    // On SQLite and PostgreSQL the verdict is the same document, checkpoint
    // included: the same events at the same times, signed with the same key.
    assert!(verdicts.windows(2).all(|pair| pair[0] == pair[1]), "the backends disagree");
}
