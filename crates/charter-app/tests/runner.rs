//! The operation runner with real shell commands in temporary directories.

use std::path::Path;
use std::time::{Duration, Instant};

use charter_app::{App, Caller, RunOptions};
use charter_model::operation::RunOutcome;
use charter_model::{OperationStatus, WorkspaceName};
use charter_ops::TierRules;
use charter_store::testing::each_backend;

fn ops() -> WorkspaceName {
    WorkspaceName::new("ops").unwrap()
}

struct Fixture {
    app: App,
    dir: tempfile::TempDir,
    root: std::path::PathBuf,
}

/// A fixture on SQLite in a data directory of its own.
async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    let store = charter_store::Store::open_data_dir(&dir.path().join("data")).await.unwrap();
    fixture_on(store, dir).await
}

/// A fixture on `store`, with files in `dir`.
async fn fixture_on(store: charter_store::Store, dir: tempfile::TempDir) -> Fixture {
    let app = App::new(store);
    app.create_workspace(&Caller::local("alice"), &ops()).await.unwrap();
    // The example's policy on who approves, runs and writes records, then
    // the people who do (alice first: once a person is registered, every
    // write is decided, and she is the admin).
    let policies = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/ops-workspace/policies.json"),
    )
    .unwrap();
    for policy in charter_model::RecordKind::Policy.parse_json_array(&policies).unwrap() {
        if policy.id() == "POL-OPS-CHANGE" {
            app.create_record(&Caller::local("alice"), &ops(), policy).await.unwrap();
        }
    }
    for (id, roles) in [
        ("alice", r#"["owner","admin"]"#),
        ("bob", r#"["approver"]"#),
        ("dave", r#"["approver"]"#),
        ("carol", r#"["operator"]"#),
        ("erin", r#"["operator"]"#),
        ("agent_ops_01", r#"["approver"]"#),
    ] {
        let person = charter_model::RecordKind::Person
            .parse_json(&format!(r#"{{"person_id":"{id}","name":"{id}","roles":{roles}}}"#))
            .unwrap();
        app.create_record(&Caller::local("alice"), &ops(), person).await.unwrap();
    }
    // These tests run commands without the Landlock launcher (it is the
    // `charter` binary's; the CLI's tests run it), so Tier 3+ runs need the
    // admin's acceptance of detection-only runs.
    let settings = charter_model::RecordKind::OpsSettings
        .parse_json(r#"{"settings_id":"default","detection_only":true}"#)
        .unwrap();
    app.create_record(&Caller::local("alice"), &ops(), settings).await.unwrap();
    let root = dir.path().canonicalize().unwrap().join("site");
    std::fs::create_dir_all(root.join("conf")).unwrap();
    std::fs::write(root.join("conf/site.conf"), "old\n").unwrap();
    std::fs::write(root.join("conf/other.conf"), "untouched\n").unwrap();
    Fixture { app, dir, root }
}

/// A LOW_RISK_CONFIG (Tier 2) declaration whose steps are `(name, command,
/// touches, verify, rollback)`.
fn declaration(root: &Path, steps: &[(&str, &str, &str, &str, &str)], extra: &str) -> String {
    let mut text = format!(
        "OPERATION_NAME: site config\nOBJECTIVE: o\nRISK_CLASS: LOW_RISK_CONFIG\nBLAST_RADIUS: the site\n\
         ROLLBACK_STRATEGY: snapshot\nALLOWED_PATHS: [{root}/conf]\nALLOWED_SERVICES: []\nREQUESTED_BY: agent_ops_01\n{extra}STEPS:\n",
        root = root.display()
    );
    for (name, command, touches, verify, rollback) in steps {
        let command = command.replace("$ROOT", &root.display().to_string());
        let touches = touches.replace("$ROOT", &root.display().to_string());
        let verify = verify.replace("$ROOT", &root.display().to_string());
        let rollback = rollback.replace("$ROOT", &root.display().to_string());
        text.push_str(&format!(
            "  - name: {name}\n    command: '{command}'\n    touches: [{touches}]\n    verify: ['{verify}']\n    rollback: '{rollback}'\n"
        ));
    }
    text
}

impl Fixture {
    fn options(&self, dry_run: bool) -> RunOptions {
        RunOptions { dry_run, snapshot_dir: self.dir.path().join("snapshots"), rules: None, sandbox: None }
    }

    async fn declare(&self, text: &str) -> String {
        self.app.declare_operation(&Caller::local("agent_ops_01"), &ops(), text).await.unwrap().id
    }

    async fn run(&self, id: &str, dry_run: bool) -> charter_app::RunResult {
        self.app.run_operation(&Caller::local("carol"), &ops(), id, self.options(dry_run)).await.unwrap()
    }

    fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.root.join(path)).unwrap()
    }
}

#[tokio::test]
async fn a_passing_run_records_every_step_and_reports() {
    each_backend(|store| async move {
        let f = fixture_on(store, tempfile::tempdir().unwrap()).await;
        let text = declaration(
            &f.root,
            &[
                (
                    "write",
                    "echo new > $ROOT/conf/site.conf",
                    "$ROOT/conf/site.conf",
                    "grep -q new $ROOT/conf/site.conf",
                    "echo old > $ROOT/conf/site.conf",
                ),
                (
                    "add",
                    "echo extra > $ROOT/conf/extra.conf",
                    "$ROOT/conf/extra.conf",
                    "test -f $ROOT/conf/extra.conf",
                    "rm $ROOT/conf/extra.conf",
                ),
            ],
            "",
        );
        let id = f.declare(&text).await;
        let result = f.run(&id, false).await;
        assert_eq!(result.run.outcome, Some(RunOutcome::Success), "{:#?}", result.run);
        assert_eq!(result.operation.status, OperationStatus::Validated);
        assert_eq!(result.run.steps.len(), 2);
        assert_eq!(result.run.steps[0].changed, [f.root.join("conf/site.conf").display().to_string()]);
        assert_eq!(f.read("conf/site.conf"), "new\n");
        let markdown = result.report.markdown();
        for section in [
            "## EXEC SUMMARY",
            "## CHANGES MADE",
            "## VERIFICATION EVIDENCE",
            "## RISK ASSESSMENT",
            "## NEXT SAFE ACTIONS",
            "[STEP 1 | ",
            "Status: PASS",
        ] {
            assert!(markdown.contains(section), "{section}\n{markdown}");
        }
        assert_eq!(result.run.report_sha256.as_deref(), Some(result.report.json_and_hash().1.as_str()));
        let ledger = charter_ops::run::signoff_entries(&result.operation);
        assert!(
            ledger.contains(&format!("operation_id: {id}")) && ledger.contains("outcome: SUCCESS"),
            "{ledger}"
        );
        assert!(ledger.contains("approved_by: \"SELF\""), "Tier 2 needs no approval: {ledger}");
        // A Validated operation does not run again.
        let again =
            f.app.run_operation(&Caller::local("carol"), &ops(), &id, f.options(false)).await.unwrap_err();
        assert!(again.to_string().contains("only Planned or Approved operations run"), "{again}");
    })
    .await;
}

#[tokio::test]
async fn a_write_outside_the_steps_paths_is_caught_and_restored_byte_for_byte() {
    each_backend(|store| async move {
        let f = fixture_on(store, tempfile::tempdir().unwrap()).await;
        let text = declaration(
            &f.root,
            &[
                ("first", "echo new > $ROOT/conf/site.conf", "$ROOT/conf/site.conf", "true", "true"),
                (
                    "sneaky",
                    "echo sneaky > $ROOT/conf/other.conf; echo x > $ROOT/conf/dropped",
                    "$ROOT/conf/site.conf",
                    "true",
                    "true",
                ),
                ("never", "echo never > $ROOT/conf/never", "$ROOT/conf/never", "true", "true"),
            ],
            "",
        );
        let id = f.declare(&text).await;
        let result = f.run(&id, false).await;
        assert_eq!(result.run.outcome, Some(RunOutcome::Rollback), "{:#?}", result.run);
        assert_eq!(result.operation.status, OperationStatus::RolledBack);
        assert_eq!(result.run.steps.len(), 2, "the step after a failure never runs");
        let failure = result.run.steps[1].failure.clone().unwrap();
        assert!(
            failure.contains("changed outside the step's declared paths") && failure.contains("other.conf"),
            "{failure}"
        );
        assert_eq!(
            (f.read("conf/site.conf"), f.read("conf/other.conf")),
            ("old\n".to_owned(), "untouched\n".to_owned())
        );
        assert!(!f.root.join("conf/dropped").exists() && !f.root.join("conf/never").exists());
        assert_eq!(result.run.rollback.len(), 2, "both executed steps rolled back, newest first");
        let ledger = charter_ops::run::signoff_entries(&result.operation);
        assert!(ledger.contains("outcome: ROLLBACK") && ledger.contains("rollback_timestamp: "), "{ledger}");
        let kpis = charter_ops::run::kpis(std::slice::from_ref(&result.operation), "20");
        assert_eq!((kpis.runs, kpis.succeeded, kpis.halted), (1, 0, 1));
        assert_eq!(kpis.change_success_rate, Some(0.0));
        let mttr = kpis.mean_time_to_recover_secs.unwrap();
        assert!((0.0..10.0).contains(&mttr), "{mttr}");
    })
    .await;
}

#[tokio::test]
async fn a_failed_verification_rolls_back_and_timeouts_fail() {
    each_backend(|store| async move {
        let f = fixture_on(store, tempfile::tempdir().unwrap()).await;
        let text = declaration(
            &f.root,
            &[(
                "write",
                "echo new > $ROOT/conf/site.conf",
                "$ROOT/conf/site.conf",
                "grep -q nope $ROOT/conf/site.conf",
                "echo old > $ROOT/conf/site.conf",
            )],
            "",
        );
        let id = f.declare(&text).await;
        let result = f.run(&id, false).await;
        assert_eq!(result.run.outcome, Some(RunOutcome::Rollback));
        assert!(
            result.run.steps[0].failure.as_deref().unwrap().contains("verification"),
            "{:?}",
            result.run.steps[0]
        );
        assert!(result.run.rollback[0].passed());
        assert_eq!(f.read("conf/site.conf"), "old\n");

        let slow = declaration(&f.root, &[("slow", "sleep 5", "", "true", "true")], "")
            .replace("    verify", "    timeout_secs: 1\n    verify");
        let id = f.declare(&slow).await;
        let started = Instant::now();
        let result = f.run(&id, false).await;
        assert!(started.elapsed() < Duration::from_secs(4), "killed at its timeout");
        assert!(result.run.steps[0].command.as_ref().unwrap().timed_out);
        assert_eq!(result.operation.status, OperationStatus::RolledBack);
    })
    .await;
}

#[tokio::test]
async fn a_dry_run_runs_only_dry_run_commands_and_changes_nothing() {
    each_backend(|store| async move {
        let f = fixture_on(store, tempfile::tempdir().unwrap()).await;
        let text = declaration(
            &f.root,
            &[("write", "echo new > $ROOT/conf/site.conf", "$ROOT/conf/site.conf", "true", "true")],
            "",
        )
        .replace("    verify", "    dry_run: 'test -w $ROOT/conf/site.conf'\n    verify")
        .replace("$ROOT", &f.root.display().to_string());
        let id = f.declare(&text).await;
        let result = f.run(&id, true).await;
        assert_eq!(result.run.outcome, Some(RunOutcome::Success), "{:#?}", result.run);
        assert_eq!(result.operation.status, OperationStatus::Planned, "a dry run changes no status");
        assert_eq!(f.read("conf/site.conf"), "old\n");
        assert!(charter_ops::run::dry_run_passed(&result.operation));

        // A dry-run command that changes a file fails, and the file comes back.
        let sneaky = text.replace("test -w", "echo changed >>");
        let id = f.declare(&sneaky).await;
        let result = f.run(&id, true).await;
        assert_eq!(result.run.outcome, Some(RunOutcome::Rollback), "{:#?}", result.run);
        assert!(result.run.steps[0].failure.as_deref().unwrap().contains("a dry run changed"));
        assert_eq!(f.read("conf/site.conf"), "old\n", "restored");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_halt_stops_a_long_step_and_rolls_back() {
    let f = fixture().await;
    let text = declaration(
        &f.root,
        &[(
            "write then wait",
            "echo new > $ROOT/conf/site.conf; sleep 30",
            "$ROOT/conf/site.conf",
            "true",
            "echo old > $ROOT/conf/site.conf",
        )],
        "",
    );
    let id = f.declare(&text).await;
    let (app, options, run_id) = (f.app.clone(), f.options(false), id.clone());
    let started = Instant::now();
    let running =
        tokio::spawn(
            async move { app.run_operation(&Caller::local("carol"), &ops(), &run_id, options).await },
        );
    tokio::time::sleep(Duration::from_millis(700)).await;
    f.app.halt_operation(&Caller::local("dave"), &ops(), &id).await.unwrap();
    let result = running.await.unwrap().unwrap();
    assert!(started.elapsed() < Duration::from_secs(10), "the step was killed, not waited for");
    assert_eq!(result.run.halted_by.as_deref(), Some("dave"));
    assert_eq!(result.operation.status, OperationStatus::RolledBack);
    assert_eq!(f.read("conf/site.conf"), "old\n");
    assert!(result.run.steps[0].command.as_ref().unwrap().halted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runner_that_dies_leaves_the_operation_executing_and_it_is_not_continued() {
    let f = fixture().await;
    let text = declaration(
        &f.root,
        &[
            (
                "quick",
                "echo new > $ROOT/conf/site.conf",
                "$ROOT/conf/site.conf",
                "true",
                "echo old > $ROOT/conf/site.conf",
            ),
            ("long", "sleep 30", "", "true", "true"),
        ],
        "",
    );
    let id = f.declare(&text).await;
    let (app, options, run_id) = (f.app.clone(), f.options(false), id.clone());
    let running =
        tokio::spawn(
            async move { app.run_operation(&Caller::local("carol"), &ops(), &run_id, options).await },
        );
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    running.abort();
    let _ = running.await;
    let view = f
        .app
        .get_record(&Caller::local("x"), &ops(), charter_model::RecordKind::Operation, &id)
        .await
        .unwrap();
    let charter_model::Record::Operation(op) = view.record else { panic!() };
    assert_eq!(op.status, OperationStatus::Executing);
    assert_eq!(op.runs[0].steps.len(), 1, "the evidence so far is kept");
    assert!(op.runs[0].steps[0].passed);
    let refused =
        f.app.run_operation(&Caller::local("carol"), &ops(), &id, f.options(false)).await.unwrap_err();
    assert!(refused.to_string().contains("never finished"), "{refused}");
}

#[tokio::test]
async fn tier_three_needs_a_dry_run_an_independent_approver_and_an_unchanged_plan() {
    each_backend(|store| async move {
        let f = fixture_on(store, tempfile::tempdir().unwrap()).await;
        let steps = [(
            "write",
            "echo new > $ROOT/conf/site.conf",
            "$ROOT/conf/site.conf",
            "grep -q new $ROOT/conf/site.conf",
            "echo old > $ROOT/conf/site.conf",
        )];
        let text = declaration(&f.root, &steps, "").replace("LOW_RISK_CONFIG", "FILESYSTEM_WRITE");
        let id = f.declare(&text).await;
        let approve = |who: &str| {
            let (app, id) = (f.app.clone(), id.clone());
            let who = who.to_owned();
            async move { app.approve_operation(&Caller::local(who), &ops(), &id).await }
        };
        let early = approve("bob").await.unwrap_err().to_string();
        assert!(early.contains("no dry run of this plan has passed"), "{early}");
        // Unconfined, a Tier 3 operation runs only where an admin accepted
        // detection-only runs (the fixture's ops_settings), and says so.
        let strict = RunOptions { rules: Some(TierRules::default()), ..f.options(true) };
        let refused = f.app.run_operation(&Caller::local("carol"), &ops(), &id, strict).await.unwrap_err();
        assert!(refused.to_string().contains("run only confined by Landlock"), "{refused}");
        let unapproved = f
            .app
            .run_operation(&Caller::local("carol"), &ops(), &id, f.options(false))
            .await
            .unwrap_err()
            .to_string();
        assert!(unapproved.contains("Tier 3 needs 1 approval of this plan; it has 0"), "{unapproved}");
        let dry = f.run(&id, true).await;
        assert_eq!(dry.run.outcome, Some(RunOutcome::Success));
        assert_eq!(dry.run.confined, Some(false));
        assert!(dry.report.markdown().contains("UNCONFINED (detection only)"), "{}", dry.report.markdown());
        let own = approve("agent_ops_01").await.unwrap_err().to_string();
        assert!(
            own.contains("guardrail:separation-of-duties") && own.contains("requested this operation"),
            "{own}"
        );
        // Approving is the approvers' (POL-OPS-CHANGE); strangers are unknown.
        let operator = approve("carol").await.unwrap_err().to_string();
        assert!(operator.contains("default-deny"), "{operator}");
        let stranger = approve("mallory").await.unwrap_err().to_string();
        assert!(stranger.contains("guardrail:unknown-principal"), "{stranger}");
        // An account acting as the approver (--actor) is a break-glass: it
        // never approves at Tier 3.
        let glass = f.app.approve_operation(&Caller::local_as("root", Some("bob")), &ops(), &id).await;
        let glass = glass.unwrap_err().to_string();
        assert!(glass.contains("root acting as bob (--actor) is a break-glass"), "{glass}");
        let approved = approve("bob").await.unwrap();
        let charter_model::Record::Operation(op) = &approved.record else { panic!() };
        assert_eq!(op.status, OperationStatus::Approved);
        // The approval names the decision that allowed it, in the ledger.
        let decision = op.approvals[0].decision_id.clone().unwrap();
        let seq = charter_policy::decision_seq(&decision).unwrap();
        let row = f.app.store().workspace(&ops()).await.unwrap().unwrap();
        let event = f.app.store().events(row.id, seq, seq).await.unwrap().remove(0);
        let logged: charter_policy::LoggedDecision =
            serde_json::from_str(&charter_model::AuditEvent::decode(&event.body).unwrap().value.unwrap())
                .unwrap();
        assert_eq!(
            (logged.action.as_str(), logged.reasons.as_slice()),
            ("approve_operation", ["POL-OPS-CHANGE/approvers-approve".to_owned()].as_slice())
        );
        let by_approver = f
            .app
            .run_operation(&Caller::local("bob"), &ops(), &id, f.options(false))
            .await
            .unwrap_err()
            .to_string();
        assert!(by_approver.contains("bob approved this operation and may not also run it"), "{by_approver}");

        // Editing the plan voids the approval and the dry run.
        let edited = text.replace("echo new", "echo newer");
        let revised = f.app.revise_operation(&Caller::local("alice"), &ops(), &id, &edited).await.unwrap();
        let charter_model::Record::Operation(op) = &revised.record else { panic!() };
        assert_eq!(op.status, OperationStatus::Planned);
        let void = f
            .app
            .run_operation(&Caller::local("carol"), &ops(), &id, f.options(false))
            .await
            .unwrap_err()
            .to_string();
        assert!(void.contains("it has 0") && void.contains("no dry run of this plan has passed"), "{void}");
        assert!(approve("bob").await.unwrap_err().to_string().contains("no dry run"));

        f.run(&id, true).await;
        approve("bob").await.unwrap();
        let result = f.run(&id, false).await;
        assert_eq!(result.run.outcome, Some(RunOutcome::Success), "{:#?}", result.run);
        assert_eq!(f.read("conf/site.conf"), "newer\n");
        let ledger = charter_ops::run::signoff_entries(&result.operation);
        assert!(
            ledger.contains("approved_by: \"bob\"") && ledger.contains("risk_class: FILESYSTEM_WRITE"),
            "{ledger}"
        );

        // Every approval and execution decision is in the ledger, and replays.
        let auditor = Caller::local("auditor");
        let replay = f
            .app
            .replay_decisions(&auditor, &ops(), &[], None, charter_app::ReplayRegistry::AsLogged)
            .await
            .unwrap();
        assert!(replay.decisions >= 8, "{replay:?}");
        assert!(replay.unreproduced.is_empty() && replay.flips.is_empty(), "{replay:?}");
        let mut retired = charter_model::RecordKind::Policy
            .parse_json_array(
                &std::fs::read(
                    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/ops-workspace/policies.json"),
                )
                .unwrap(),
            )
            .unwrap()
            .into_iter()
            .find(|p| p.id() == "POL-OPS-CHANGE")
            .unwrap();
        let charter_model::Record::Policy(policy) = &mut retired else { panic!() };
        policy.status = charter_model::PolicyStatus::Retired;
        let without = [policy.as_ref().clone()];
        let replay = f
            .app
            .replay_decisions(&auditor, &ops(), &without, None, charter_app::ReplayRegistry::AsLogged)
            .await
            .unwrap();
        // The writes of records it permitted (the fixture's people) flip
        // too; of the corridor, these four.
        let (writes, flipped): (Vec<&str>, Vec<&str>) = replay
            .flips
            .iter()
            .map(|flip| flip.action.as_str())
            .partition(|action| *action == "write_record");
        assert!(!writes.is_empty(), "{replay:?}");
        assert_eq!(
            flipped,
            ["request_operation", "approve_operation", "approve_operation", "execute_operation"],
            "{replay:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn tier_four_runs_only_in_a_window_with_on_call_and_two_approvals() {
    each_backend(|store| async move {
        let f = fixture_on(store, tempfile::tempdir().unwrap()).await;
        let steps = [(
            "write",
            "echo new > $ROOT/conf/site.conf",
            "$ROOT/conf/site.conf",
            "true",
            "echo old > $ROOT/conf/site.conf",
        )];
        let text = declaration(&f.root, &steps, "TIER: 4\n").replace("LOW_RISK_CONFIG", "FILESYSTEM_WRITE");
        // Without an on-call person it could never run: said at once.
        let early = f.app.declare_operation(&Caller::local("agent_ops_01"), &ops(), &text).await.unwrap_err();
        assert!(
            early.to_string().contains("ON_CALL: a Tier 4 operation runs only with a named on-call person"),
            "{early}"
        );
        let text = text.replace("TIER: 4\n", "TIER: 4\nON_CALL: erin\n");
        let id = f.declare(&text).await;
        f.run(&id, true).await;
        for who in ["bob", "dave"] {
            f.app.approve_operation(&Caller::local(who), &ops(), &id).await.unwrap();
        }
        let refused = f
            .app
            .run_operation(&Caller::local("carol"), &ops(), &id, f.options(false))
            .await
            .unwrap_err()
            .to_string();
        assert!(refused.contains("defines none"), "{refused}");
        // Every day, all day: the window holds now.
        let mut always = f.options(false);
        let windows = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
            .iter()
            .flat_map(|day| [format!("{day} 00:00-12:00 UTC"), format!("{day} 12:00-00:00 UTC")])
            .map(|window| window.parse().unwrap())
            .collect();
        always.rules = Some(TierRules { windows, detection_only: true, ..TierRules::default() });
        let result = f.app.run_operation(&Caller::local("carol"), &ops(), &id, always).await.unwrap();
        assert_eq!(result.run.outcome, Some(RunOutcome::Success));
    })
    .await;
}

/// A regression: snapshot packs and the database were readable by everyone
/// (0644 files in 0755 directories), whatever the mode of what they copied.
#[tokio::test]
async fn snapshots_and_the_database_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let f = fixture().await;
    let secret = f.root.join("conf/secret.key");
    std::fs::write(&secret, "s3cret\n").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let text = declaration(
        &f.root,
        &[(
            "write",
            "echo new > $ROOT/conf/site.conf; echo leaked > $ROOT/conf/secret.key",
            "$ROOT/conf/site.conf",
            "true",
            "true",
        )],
        "",
    );
    let id = f.declare(&text).await;
    let result = f.run(&id, false).await;
    assert_eq!(result.run.outcome, Some(RunOutcome::Rollback), "{:#?}", result.run);
    let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), "s3cret\n");
    assert_eq!(mode(&secret), 0o600, "the restored file keeps its mode");
    let mut checked = 0;
    let mut pending = vec![f.dir.path().join("snapshots")];
    while let Some(dir) = pending.pop() {
        assert_eq!(mode(&dir), 0o700, "{}", dir.display());
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                assert_eq!(mode(&path), 0o600, "{}", path.display());
                checked += 1;
            }
        }
    }
    assert!(checked >= 3, "the pack, its index and the manifest");
    let data = f.dir.path().join("data");
    assert_eq!(mode(&data), 0o700);
    for entry in std::fs::read_dir(&data).unwrap() {
        let path = entry.unwrap().path();
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
}

#[tokio::test]
async fn a_safety_check_that_finds_a_secret_fails_the_step_and_rolls_it_back() {
    each_backend(|store| async move {
        let f = fixture_on(store, tempfile::tempdir().unwrap()).await;
        let step = |content: &str| {
            declaration(
                &f.root,
                &[(
                    "write",
                    &format!("echo \"{content}\" > $ROOT/conf/site.conf"),
                    "$ROOT/conf/site.conf",
                    "test -s $ROOT/conf/site.conf",
                    "echo old > $ROOT/conf/site.conf",
                )],
                "",
            )
            .replace(
                "    rollback:",
                &format!("    validate:\n      files: [{}/conf/site.conf]\n    rollback:", f.root.display()),
            )
        };
        let leaky = step("token=ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789");
        let id = f.declare(&leaky).await;
        let result = f.run(&id, false).await;
        assert_eq!(result.run.outcome, Some(RunOutcome::Rollback));
        let failure = result.run.steps[0].failure.as_deref().unwrap();
        assert!(
            failure.starts_with("safety check:") && failure.contains("holds 1 github_token"),
            "{failure}"
        );
        assert!(!failure.contains("ghp_"), "the value is never reported: {failure}");
        assert_eq!(f.read("conf/site.conf"), "old\n", "rolled back");

        let clean = step("upstream=10.0.0.7");
        let id = f.declare(&clean).await;
        let result = f.run(&id, false).await;
        assert_eq!(result.run.outcome, Some(RunOutcome::Success), "{:?}", result.run.steps[0]);
        let validated = result.run.steps[0].verify.last().unwrap();
        assert!(
            validated.command.starts_with("validate ") && validated.stdout_tail.contains("1 ipv4"),
            "{validated:?}"
        );

        // A block list naming no type is refused when declared.
        let wrong = step("x").replace("      files:", "      block: [passwords]\n      files:");
        let error = f
            .app
            .declare_operation(&Caller::local("agent_ops_01"), &ops(), &wrong)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("STEPS[0].validate.block: \"passwords\" is no finding type or family"),
            "{error}"
        );
    })
    .await;
}
