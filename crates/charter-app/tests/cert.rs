//! Certification on SQLite and PostgreSQL: the example workspace as
//! imported is RED with the blockers that honestly follow; the verdict is
//! the same bytes computed twice and on both backends; the signed envelope
//! verifies offline and its digest is in the ledger.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use charter_app::ledger::LedgerSettings;
use charter_app::{App, Caller, CertifyRequest, Clock as _, ImportSource};
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
            // Recorded: its digest is the next ledger entry, and the latest
            // recorded certification.
            assert!(app.latest_certification(&caller, &ops()).await.unwrap().is_none());
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
            let latest = app.latest_certification(&caller, &ops()).await.unwrap().unwrap();
            assert_eq!((latest.seq, latest.value["outcome"].as_str()), (seq, Some("RED")));
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
            // The workspace's own matrix: checked when written, then used.
            let admin = Caller::local("ops_governance_lead");
            let settings = |matrix: &str| {
                charter_model::RecordKind::CertSettings
                    .parse_json(&serde_json::json!({"settings_id": "default", "matrix": matrix}).to_string())
                    .unwrap()
            };
            let refused = app
                .create_record(&admin, &ops(), settings("period_days = 0\nclaims = []"))
                .await
                .unwrap_err();
            assert!(refused.to_string().contains("period_days: 0 is not between 1 and 3660"), "{refused}");
            let monthly = charter_cert::DEFAULT_MATRIX.replace("period_days = 90", "period_days = 30");
            app.create_record(&admin, &ops(), settings(&monthly)).await.unwrap();
            let own = app
                .certify(&caller, &ops(), CertifyRequest { as_of: Some(as_of), matrix: None, record: false })
                .await
                .unwrap();
            assert_eq!(own.verdict.period_from, "2026-12-16T12:00:00Z".parse::<Timestamp>().unwrap());
            assert_ne!(own.verdict.matrix_sha256, verdict.matrix_sha256);
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

/// A clock the test moves.
#[derive(Debug)]
struct Manual(Mutex<Timestamp>);

impl charter_app::Clock for Manual {
    fn now(&self) -> Timestamp {
        *self.0.lock().unwrap()
    }
}

impl Manual {
    fn set(&self, at: &str) {
        *self.0.lock().unwrap() = at.parse().unwrap();
    }
}

fn active_ids(verdict: &charter_cert::Verdict) -> std::collections::BTreeSet<BlockerId> {
    verdict.blockers.iter().filter(|b| b.state == BlockerState::Active).map(|b| b.id).collect()
}

#[tokio::test]
async fn a_workspace_with_every_tier0_evidence_is_green_and_each_gap_turns_it_red_until_waived() {
    each_backend(|store| async move {
        let clock = Arc::new(Manual(Mutex::new("2027-01-15T10:00:00Z".parse().unwrap())));
        let settings = LedgerSettings { signer: Some(Arc::new(signer())), ..LedgerSettings::default() };
        let app = App::with_clock(store, clock.clone()).with_ledger(settings);
        let examples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/ops-workspace");
        app.import(&Caller::local("tester"), &ops(), ImportSource::from_dir(&examples).unwrap(), true)
            .await
            .unwrap();
        let steward = Caller::local("ops_governance_lead");
        let operator = Caller::local("finance_systems_manager");
        let commander = Caller::local("ops_on_call");
        let dir = tempfile::tempdir().unwrap();

        // T0.1: a change through the corridor, and a rollback drill.
        let site = dir.path().canonicalize().unwrap().join("site");
        std::fs::create_dir_all(&site).unwrap();
        std::fs::write(site.join("app.conf"), "v1\n").unwrap();
        let text = format!(
            "OPERATION_NAME: raise a limit\nOBJECTIVE: o\nRISK_CLASS: LOW_RISK_CONFIG\nBLAST_RADIUS: one file\n\
             ROLLBACK_STRATEGY: snapshot\nALLOWED_PATHS: ['{site}']\nALLOWED_SERVICES: []\nREQUESTED_BY: finance_systems_manager\n\
             STEPS:\n  - name: write\n    command: \"printf 'v2\\\\n' > '{site}/app.conf'\"\n    touches: ['{site}/app.conf']\n    verify: [\"grep -q v2 '{site}/app.conf'\"]\n    rollback: 'true'\n",
            site = site.display()
        );
        let declared = app.declare_operation(&operator, &ops(), &text).await.unwrap();
        let options = charter_app::RunOptions {
            dry_run: false,
            snapshot_dir: dir.path().join("snapshots"),
            rules: None,
            sandbox: None,
        };
        let ran = app.run_operation(&operator, &ops(), &declared.id, options).await.unwrap();
        assert_eq!(ran.run.outcome, Some(charter_model::operation::RunOutcome::Success));
        clock.set("2027-01-15T10:10:00Z");
        let drill = app
            .drill_rollback(
                &operator,
                &ops(),
                charter_app::RollbackDrill {
                    scratch: dir.path().join("drill"),
                    snapshot_dir: dir.path().join("snapshots"),
                    objective_seconds: 300.0,
                    sandbox: None,
                },
            )
            .await
            .unwrap();
        assert!(drill.passed, "{:?}", drill.evidence);
        assert!(!dir.path().join("drill").exists(), "the scratch directory is removed");

        // T0.5 and T0.6: an agent's run with its model and content hash, priced.
        let spans: Vec<charter_observe::Span> = serde_json::from_value(serde_json::json!([{
            "trace_id": "000000000000000000000000000000aa", "span_id": "00000000000000a1",
            "name": "chat", "kind": "invoke_agent", "agent_id": "agent_sales_01",
            "start_us": 1_800_000_000_000_000_i64 - 1, "end_us": 1_800_000_000_000_000_i64, "status": "ok",
            "model": "gpt-4o-mini", "input_tokens": 1000, "output_tokens": 200,
            "prompt_sha256": "ab".repeat(32), "output_sha256": "cd".repeat(32)
        }]))
        .unwrap();
        clock.set("2027-01-15T10:30:00Z");
        let spans: Vec<charter_observe::Span> = spans
            .into_iter()
            .map(|mut span| {
                span.end_us = clock.now().unix_micros() - 1_000_000;
                span.start_us = span.end_us - 2_000_000;
                span
            })
            .collect();
        let ingested = app.ingest_spans(&operator, &ops(), spans).await.unwrap();
        assert_eq!(ingested.runs.len(), 1, "{ingested:?}");

        let certify = |at: &'static str| {
            let (app, steward) = (&app, steward.clone());
            async move {
                app.checkpoint_pending().await.unwrap();
                let request = CertifyRequest { as_of: Some(at.parse().unwrap()), matrix: None, record: false };
                app.certify(&steward, &ops(), request).await.unwrap().verdict
            }
        };
        // Budgets cover two of the seven agents, and no incident drill yet.
        let verdict = certify("2027-01-15T11:00:00Z").await;
        assert_eq!(active_ids(&verdict), [BlockerId::B4, BlockerId::B5].into(), "{:#?}", verdict.reasons);
        // As of before the rollback drill: its blocker too, and only for it.
        let before_drill = certify("2027-01-15T10:05:00Z").await;
        let t01: Vec<(BlockerId, &str)> = before_drill
            .blockers
            .iter()
            .filter(|b| b.claim == "T0.1")
            .map(|b| (b.id, b.subject.as_str()))
            .collect();
        assert_eq!(
            t01,
            [(BlockerId::B2, "drill:rollback"), (BlockerId::B2, "rollback_recovery_seconds")],
            "{:#?}",
            before_drill.reasons
        );
        // As of before the change: the corridor has no evidence either.
        let before_change = certify("2027-01-15T09:59:00Z").await;
        assert!(
            before_change.blockers.iter().any(|b| (b.id, b.subject.as_str()) == (BlockerId::B1, "evidence:operation_run")),
            "{:#?}",
            before_change.reasons
        );

        // T0.6: every active and pilot agent under a budget.
        let agents = app.list_records(&steward, &ops(), charter_model::RecordKind::Agent, None, 100).await.unwrap();
        for view in agents.items {
            let charter_model::Record::Agent(agent) = view.record else { continue };
            if matches!(agent.status, charter_model::AgentStatus::Active | charter_model::AgentStatus::Pilot) {
                let budget = charter_model::Budget {
                    budget_id: charter_model::Key::new(format!("BUD-{}", agent.agent_id)).unwrap(),
                    agent_id: Some(agent.agent_id.clone()),
                    team: None,
                    monthly_usd: 1_000.0,
                    soft_percent: None,
                    hard: false,
                    exhausted_in: None,
                };
                app.set_budget(&steward, &ops(), budget).await.unwrap();
            }
        }
        let verdict = certify("2027-01-15T11:00:00Z").await;
        assert_eq!(active_ids(&verdict), [BlockerId::B4].into(), "{:#?}", verdict.reasons);
        let t04 = verdict.claims.iter().find(|c| c.id == "T0.4").unwrap();
        assert_eq!(t04.status, charter_cert::ClaimStatus::Fail);

        // A waiver of OC-B4, approved by another steward, holds it: GREEN, listed.
        let waiver = app
            .request_waiver(
                &steward,
                &ops(),
                charter_app::NewWaiver {
                    scope: "OC-B4".into(),
                    reason: "the incident drill is scheduled for next week".into(),
                    owner: "ops_on_call".into(),
                    expires_at: "2027-01-25T00:00:00Z".parse().unwrap(),
                },
            )
            .await
            .unwrap();
        let own = app.approve_waiver(&steward, &ops(), waiver.waiver_id.as_str()).await.unwrap_err();
        assert!(own.to_string().contains("separation of duties"), "{own}");
        let unwaivable = app
            .request_waiver(
                &steward,
                &ops(),
                charter_app::NewWaiver {
                    scope: "OC-B7".into(),
                    reason: "r".into(),
                    owner: "ops_on_call".into(),
                    expires_at: "2027-01-25T00:00:00Z".parse().unwrap(),
                },
            )
            .await
            .unwrap_err();
        assert!(unwaivable.to_string().contains("is never waived"), "{unwaivable}");
        let requested = certify("2027-01-15T11:00:00Z").await;
        assert_eq!(requested.outcome, Outcome::Red, "a waiver not yet approved holds nothing");
        let approved =
            app.approve_waiver(&Caller::local("data_model_steward"), &ops(), waiver.waiver_id.as_str()).await.unwrap();
        assert!(approved.decision_id.as_deref().is_some_and(|id| id.starts_with("DEC-")));
        let verdict = certify("2027-01-15T11:00:00Z").await;
        assert_eq!(verdict.outcome, Outcome::Green, "{:#?}", verdict.reasons);
        assert_eq!(verdict.waivers[0].state, "expiring", "it ends within 14 days");
        assert!(verdict.reasons.iter().any(|r| r.starts_with("waived: OC-B4 on T0.4")), "{:?}", verdict.reasons);

        // Once it has expired, RED again.
        clock.set("2027-01-26T00:00:00Z");
        let verdict = certify("2027-01-26T00:00:00Z").await;
        assert_eq!(active_ids(&verdict), [BlockerId::B4].into(), "{:#?}", verdict.reasons);
        assert_eq!(verdict.waivers[0].state, "expired");

        // T0.4: an incident drill through the whole flow.
        let drill = app.drill_incident(&commander, &ops(), None).await.unwrap();
        let incident = drill.incident_id.clone().unwrap();
        for status in [
            charter_model::IncidentStatus::Acknowledged,
            charter_model::IncidentStatus::Mitigated,
            charter_model::IncidentStatus::Resolved,
        ] {
            app.move_incident(&commander, &ops(), incident.as_str(), status, None).await.unwrap();
        }
        let postmortem = charter_model::Postmortem {
            summary: "Drill".into(),
            impact: "none: a drill".into(),
            root_cause: "a drill".into(),
            timeline: vec!["00:00 opened".into()],
            actions: vec![charter_model::PostmortemAction {
                description: "keep drilling".into(),
                owner: Some("ops_on_call".into()),
                due: Some("2027-03-01".parse().unwrap()),
            }],
        };
        app.write_postmortem(&commander, &ops(), incident.as_str(), postmortem).await.unwrap();
        let verdict = certify("2027-01-26T01:00:00Z").await;
        assert_eq!(verdict.outcome, Outcome::Green, "{:#?}", verdict.reasons);
        assert!(verdict.blockers.is_empty(), "{:#?}", verdict.blockers);
        assert!(verdict.claims.iter().filter(|c| c.tier == 0).all(|c| c.level == Level::L4), "{:#?}", verdict.claims);
    })
    .await;
}

#[tokio::test]
async fn certification_takes_a_sealed_segment_from_its_seal_and_reads_it_again_once_the_seal_is_old() {
    charter_store::testing::each_backend_with_url(|store, url| async move {
        let clock = Arc::new(Manual(Mutex::new("2027-01-15T10:00:00Z".parse().unwrap())));
        // Segments of 256 entries, so that a few hundred decisions fill several.
        let settings = LedgerSettings {
            signer: Some(Arc::new(signer())),
            segment_level: 8,
            ..LedgerSettings::default()
        };
        let app = App::with_clock(store, clock.clone()).with_ledger(settings);
        let examples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/ops-workspace");
        let tester = Caller::local("tester");
        app.import(&tester, &ops(), ImportSource::from_dir(&examples).unwrap(), true).await.unwrap();
        let request = |n: usize| charter_policy::DecisionRequest {
            principal: charter_policy::EntityRef { entity_type: "Agent".into(), id: "agent_sales_01".into() },
            action: "invoke_tool".into(),
            resource: charter_policy::EntityRef {
                entity_type: "Tool".into(),
                id: ["crm_salesforce", "email_sendgrid", "erp_netsuite"][n % 3].into(),
            },
            context: serde_json::Map::new(),
        };
        // 400 decisions at 10:00 and 300 at 11:30 of the same day.
        let requests: Vec<_> = (0..700).map(request).collect();
        for (n, batch) in requests.chunks(100).enumerate() {
            if n == 4 {
                clock.set("2027-01-15T11:30:00Z");
            }
            app.decide(&tester, &ops(), batch).await.unwrap();
        }
        app.checkpoint_pending().await.unwrap();
        clock.set("2027-01-15T12:00:00Z");
        let size = app.ledger_size(&tester, &ops()).await.unwrap();
        let complete = (size / 256) as f64;
        assert!(complete >= 3.0, "{size} entries");
        let tail = if size % 256 == 0 { 0.0 } else { 1.0 };

        let viewer = Caller::local("ops_governance_lead");
        let certify = |as_of: &str| {
            let request = CertifyRequest { as_of: Some(as_of.parse().unwrap()), matrix: None, record: false };
            let app = &app;
            let viewer = &viewer;
            async move { app.certify(viewer, &ops(), request).await.unwrap() }
        };
        let segments = |c: &charter_app::Certification| {
            (c.measurements["ledger.segments_read"], c.measurements["ledger.segments_sealed"])
        };
        let metric = |c: &charter_app::Certification, id: &str| {
            let claim = c.verdict.claims.iter().find(|claim| claim.id == "T0.5").unwrap();
            claim.metrics.iter().find(|m| m.id == id).unwrap().clone()
        };

        // The first reading reads every segment and seals the complete ones;
        // the second takes them from their seals, to the same bytes. The
        // as-of time cuts through the day: its decisions are read one by one.
        let first = certify("2027-01-15T11:00:00Z").await;
        assert_eq!(segments(&first), (complete + tail, 0.0));
        assert_eq!(
            metric(&first, "ledger_verified").value,
            Some(1.0),
            "{:?}",
            metric(&first, "ledger_verified")
        );
        assert_eq!(metric(&first, "provenance_completeness").records_total, 400);
        let second = certify("2027-01-15T11:00:00Z").await;
        assert_eq!(segments(&second), (tail, complete));
        assert_eq!(first.json, second.json);
        let whole_day = certify("2027-01-15T12:00:00Z").await;
        assert_eq!(metric(&whole_day, "provenance_completeness").records_total, 700);

        // A seal changed in the database does not verify: its segment is
        // read again, to the same verdict.
        let forged = charter_store::testing::execute_sql(
            &url,
            "UPDATE ledger_seals SET body = REPLACE(body, '\"good\":', '\"good\":1') WHERE segment = 1",
        )
        .await;
        assert_eq!(forged, 1);
        let third = certify("2027-01-15T11:00:00Z").await;
        assert_eq!(segments(&third), (tail + 1.0, complete - 1.0));
        assert_eq!(first.json, third.json);

        // An event changed after its segment was sealed is caught once the
        // seal is older than the re-reading bound, naming the entry.
        let changed = charter_store::testing::execute_sql(
            &url,
            "UPDATE audit_events SET body = REPLACE(body, 'invoke_tool', 'invoke_tooX') WHERE seq = 300",
        )
        .await;
        assert_eq!(changed, 1);
        clock.set("2027-01-21T12:00:00Z");
        let within_bound = certify("2027-01-15T11:00:00Z").await;
        assert_eq!(segments(&within_bound), (tail, complete));
        clock.set("2027-01-22T12:00:01Z");
        let after = certify("2027-01-15T11:00:00Z").await;
        assert_eq!(segments(&after), (complete + tail, 0.0));
        let verified = metric(&after, "ledger_verified");
        assert_eq!(verified.value, Some(0.0));
        assert!(verified.detail.contains("entry 299"), "{}", verified.detail);
        assert_eq!(after.verdict.outcome, Outcome::Red);
    })
    .await;
}
