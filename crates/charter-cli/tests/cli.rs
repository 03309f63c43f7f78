//! The real `charter` binary, end to end.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::charter;

fn run(data_dir: &Path, args: &[&str]) -> Output {
    charter().arg("--data-dir").arg(data_dir).args(args).output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn example_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/ops-workspace")
}

/// A data directory with workspace `ops` holding an operator, carol, and
/// the example's policy on who requests, approves and runs operations.
fn operations_workspace() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let registry = dir.path().join("registry");
    std::fs::create_dir_all(&registry).unwrap();
    std::fs::write(
        registry.join("people.json"),
        r#"[{"person_id":"carol","name":"Carol","roles":["operator"]}]"#,
    )
    .unwrap();
    let policies: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(example_dir().join("policies.json")).unwrap()).unwrap();
    let change: Vec<_> = policies.into_iter().filter(|p| p["policy_id"] == "POL-OPS-CHANGE").collect();
    std::fs::write(registry.join("policies.json"), serde_json::to_vec(&change).unwrap()).unwrap();
    let imported = run(&data, &["import", registry.to_str().unwrap(), "-w", "ops"]);
    assert!(imported.status.success(), "{}", stderr(&imported));
    (dir, data)
}

/// A minimal HTTP/1.1 GET, enough to probe the server without a client library.
fn get(address: &str, path: &str, token: Option<&str>) -> (u16, String) {
    let mut stream = TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {address}\r\n{auth}Connection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = response.split_once("\r\n\r\n").map(|(_, body)| body.to_owned()).unwrap_or_default();
    (status, body)
}

/// Starts a server command and waits for the line that gives its address.
fn start(mut command: Command) -> (Child, String, Vec<String>) {
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let Some(Ok(line)) = lines.next() else { break };
        seen.push(line.clone());
        if let Some(rest) = line.strip_prefix("Charter is serving http://") {
            let address = rest.split_whitespace().next().unwrap().to_owned();
            // Keep draining stdout so the server never blocks on a full pipe.
            std::thread::spawn(move || for _ in lines.by_ref() {});
            return (child, address, seen);
        }
    }
    child.kill().ok();
    child.wait().ok();
    panic!("the server did not start; it printed: {seen:#?}");
}

fn terminate(mut child: Child) -> std::process::ExitStatus {
    Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            child.kill().ok();
            panic!("the server did not stop on SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn up_example_serves_healthz_and_the_agents_list() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut command = charter();
    command.arg("up").arg("--example").arg("--listen").arg("127.0.0.1:0").arg("--data-dir").arg(&data);
    let (child, address, printed) = start(command);
    assert!(printed.iter().any(|l| l.contains("Imported the example workspace as \"ops\"")), "{printed:?}");

    let token_file = data.join("admin.token");
    let token = std::fs::read_to_string(&token_file).unwrap().trim().to_owned();
    assert!(printed.iter().any(|l| l.trim() == token), "the token is printed once: {printed:?}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&token_file).unwrap().permissions().mode() & 0o777, 0o600);
    }

    assert_eq!(get(&address, "/healthz", None), (200, "ok\n".to_owned()));
    assert_eq!(get(&address, "/v1/workspaces/ops/agents", None).0, 401);
    let (status, body) = get(&address, "/v1/workspaces/ops/agents", Some(&token));
    assert_eq!(status, 200, "{body}");
    let page: serde_json::Value = serde_json::from_str(&body).unwrap();
    let ids: Vec<&str> =
        page["items"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&"agent_sales_01") && ids.contains(&"AGENT-DATAMODEL-OPS"), "{ids:?}");
    assert!(terminate(child).success());

    // A second `up` reuses the data and the token instead of printing a new one.
    let mut command = charter();
    command.arg("up").arg("--example").arg("--listen").arg("127.0.0.1:0").arg("--data-dir").arg(&data);
    let (child, address, printed) = start(command);
    assert!(printed.iter().any(|l| l.contains("is up to date (0 records added, 0 changed)")), "{printed:?}");
    assert!(!printed.iter().any(|l| l.contains("charter_")), "{printed:?}");
    assert_eq!(get(&address, "/v1/workspaces/ops/agents/agent_sales_01", Some(&token)).0, 200);
    assert!(terminate(child).success());
}

#[test]
fn import_status_get_and_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");

    let missing = run(&data, &["status"]);
    assert!(!missing.status.success());
    assert!(stderr(&missing).contains("no Charter data in"), "{}", stderr(&missing));

    let imported =
        run(&data, &["import", example_dir().to_str().unwrap(), "--workspace", "ops", "--actor", "alice"]);
    assert!(imported.status.success(), "{}", stderr(&imported));
    assert!(stdout(&imported).contains("Created workspace ops"));
    assert!(stdout(&imported).contains("Raised 3 RAIDA dependency items"));

    // Global options are accepted after the subcommand too.
    let status = run(&data, &["status", "--output", "json"]);
    assert!(status.status.success(), "{}", stderr(&status));
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["records"]["agent"], 7);
    assert_eq!(status["recent_changes"][0]["actor"], "alice");
    // Pilots are in service, and shown as such.
    let table = stdout(&run(&data, &["status"]));
    assert!(
        table.contains("Agents in service (active or pilot)") && !table.contains("Active agents"),
        "{table}"
    );

    let shown = run(&data, &["-o", "json", "get", "risk_signal", "risk_001"]);
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(shown["record"]["signal"], "SendGrid API latency spike");

    let agent = run(&data, &["agents", "show", "agent_finance_01"]);
    assert!(
        stdout(&agent).contains("\"roi_estimate_usd\"")
            || stdout(&agent).contains("Invoice Processing Agent")
    );

    // A bad file: a clear message naming file, path and value, and nothing written.
    let bad = dir.path().join("bad");
    std::fs::create_dir(&bad).unwrap();
    std::fs::write(
        bad.join("agents.json"),
        r#"[{"agent_id":"agent_new_01","name":"New","status":"active"},{"agent_id":"agent_x_01","name":"X","status":"active","criticality":"urgent"}]"#,
    )
    .unwrap();
    let refused = run(&data, &["import", bad.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("agents.json: [1].criticality: unknown value \"urgent\", expected one of low, medium, high, critical"),
        "{}",
        stderr(&refused)
    );
    // Said once.
    assert_eq!(stderr(&refused).matches("[1].criticality").count(), 1, "{}", stderr(&refused));
    assert_eq!(stderr(&refused).matches("nothing was imported").count(), 1, "{}", stderr(&refused));
    let after = run(&data, &["-o", "json", "status"]);
    let after: serde_json::Value = serde_json::from_slice(&after.stdout).unwrap();
    assert_eq!(after["records"]["agent"], 7);
    assert_eq!(after["audit_events"], status["audit_events"]);

    let unknown_kind = run(&data, &["get", "gadget", "x"]);
    assert!(
        stderr(&unknown_kind).contains("record kind: unknown value \"gadget\""),
        "{}",
        stderr(&unknown_kind)
    );
    let bad_workspace = run(&data, &["--workspace", "Bad Name", "status"]);
    assert_eq!(bad_workspace.status.code(), Some(2), "a usage error");
}

#[test]
fn the_same_commands_work_on_postgresql() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let Some((url, base_url, schema)) = runtime.block_on(charter_store::testing::postgres_schema()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let with_url = |args: &[&str]| {
        charter()
            .arg("--database-url")
            .arg(&url)
            .arg("--data-dir")
            .arg(dir.path())
            .args(args)
            .output()
            .unwrap()
    };
    let imported = with_url(&["import", example_dir().to_str().unwrap(), "--workspace", "ops"]);
    assert!(imported.status.success(), "{}", stderr(&imported));
    let again = with_url(&["import", example_dir().to_str().unwrap()]);
    assert!(stdout(&again).contains("0 created, 0 updated, 88 unchanged"), "{}", stdout(&again));
    let token = with_url(&["token", "create", "--role", "auditor", "--name", "internal_audit", "-o", "json"]);
    let token: serde_json::Value = serde_json::from_slice(&token.stdout).unwrap();
    assert_eq!(token["role"], "auditor");

    let mut command = charter();
    command
        .arg("serve")
        .arg("--listen")
        .arg("127.0.0.1:0")
        .arg("--database-url")
        .arg(&url)
        .arg("--data-dir")
        .arg(dir.path());
    let (child, address, _) = start(command);
    assert_eq!(get(&address, "/readyz", None).0, 200);
    let (status, _) = get(&address, "/v1/workspaces/ops/systems/crm_salesforce", token["token"].as_str());
    assert_eq!(status, 200);
    assert!(terminate(child).success());
    runtime.block_on(charter_store::testing::drop_schema(&base_url, &schema));
}

#[test]
fn audit_verify_prove_export_and_verify_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let init = run(&data, &["init"]);
    assert!(init.status.success(), "{}", stderr(&init));
    let key_line = stdout(&init)
        .lines()
        .find_map(|l| l.strip_prefix("Checkpoint verifier key: ").map(str::to_owned))
        .unwrap();
    assert!(key_line.starts_with("charter+"), "{key_line}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(data.join("signing.key")).unwrap().permissions().mode() & 0o777, 0o600);
    }
    assert_eq!(stdout(&run(&data, &["audit", "key"])).trim(), key_line, "the key is kept");

    assert!(run(&data, &["import", example_dir().to_str().unwrap(), "-w", "ops"]).status.success());
    let verified = run(&data, &["audit", "verify"]);
    assert!(verified.status.success(), "{}{}", stdout(&verified), stderr(&verified));
    assert!(
        stdout(&verified).contains("The log of ops verifies: 92 entries, 1 checkpoints"),
        "{}",
        stdout(&verified)
    );

    // A checkpoint kept outside the data directory, checked and refreshed.
    let kept = dir.path().join("seen.note");
    for _ in 0..2 {
        let verified = run(&data, &["audit", "verify", "--checkpoint", kept.to_str().unwrap()]);
        assert!(verified.status.success(), "{}{}", stdout(&verified), stderr(&verified));
        assert!(std::fs::read_to_string(&kept).unwrap().starts_with("charter/ops\n92\n"));
    }
    std::fs::write(&kept, "not a note").unwrap();
    let refused = run(&data, &["audit", "verify", "--checkpoint", kept.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(stdout(&refused).contains("the checkpoint seen before: "), "{}", stdout(&refused));

    let proved = run(&data, &["-o", "json", "audit", "prove", "17"]);
    let proved: serde_json::Value = serde_json::from_slice(&proved.stdout).unwrap();
    assert_eq!(proved["verified"], true);
    assert_eq!(proved["event"]["subject"], "agent_sales_01");

    let log = run(&data, &["audit", "log", "--kind", "agent", "--limit", "2"]);
    assert!(stdout(&log).contains("(more: --after"), "{}", stdout(&log));

    let bundle = dir.path().join("bundle");
    assert!(run(&data, &["audit", "export", "--out", bundle.to_str().unwrap()]).status.success());
    let offline = charter()
        .args(["audit", "verify-bundle", bundle.to_str().unwrap(), "--key", &key_line])
        .output()
        .unwrap();
    assert!(offline.status.success(), "{}", stdout(&offline));
    let events = bundle.join("events.jsonl");
    let text =
        std::fs::read_to_string(&events).unwrap().replacen("Sales Outreach Agent", "Sales Outreach Agenx", 1);
    std::fs::write(&events, text).unwrap();
    let tampered = charter()
        .args(["audit", "verify-bundle", bundle.to_str().unwrap(), "--key", &key_line])
        .output()
        .unwrap();
    assert_eq!(tampered.status.code(), Some(1));
    assert!(stdout(&tampered).contains("entry 16 (line 17): the event was changed"), "{}", stdout(&tampered));
}

/// A minimal HTTP/1.1 POST of a JSON body.
fn post(address: &str, path: &str, token: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = response.split_once("\r\n\r\n").map(|(_, body)| body.to_owned()).unwrap_or_default();
    (status, body)
}

/// The login name of the account running the tests.
fn login() -> String {
    let output = Command::new("id").arg("-un").output().unwrap();
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

#[test]
fn decide_grants_kill_switch_and_policy_commands() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // The account running the tests acts as the registered person of the
    // same name: an approver.
    let me = login();
    let as_me = |args: &[&str]| charter().arg("--data-dir").arg(&data).args(args).output().unwrap();
    assert!(as_me(&["import", example_dir().to_str().unwrap(), "-w", "ops"]).status.success());
    let people = dir.path().join("me");
    std::fs::create_dir_all(&people).unwrap();
    let person = serde_json::json!([{ "person_id": me, "name": "Tester", "roles": ["approver", "owner"] }]);
    std::fs::write(people.join("people.json"), person.to_string()).unwrap();
    assert!(as_me(&["import", people.to_str().unwrap(), "-w", "ops"]).status.success());

    // Acting as someone else is a break-glass: recorded, and it never grants.
    let glass = as_me(&["--actor", "vp_finance", "grant", "list"]);
    assert!(
        stderr(&glass).contains(&format!("break-glass: account {me} acts as vp_finance")),
        "{}",
        stderr(&glass)
    );
    let log = stdout(&as_me(&["-o", "json", "audit", "log", "--kind", "caller"]));
    assert!(log.contains("vp_finance") && log.contains("grant list"), "{log}");

    let crm = [
        "decide",
        "--principal",
        "agent_sales_01",
        "--action",
        "invoke_tool",
        "--resource",
        "Tool::crm_salesforce",
    ];
    let allowed = as_me(&crm);
    assert_eq!(allowed.status.code(), Some(0), "{}", stderr(&allowed));
    assert!(stdout(&allowed).contains("allow") && stdout(&allowed).contains("POL-AGENT-ACCESS/own-tools"));
    let erp = [
        "decide",
        "--principal",
        "agent_finance_01",
        "--action",
        "invoke_tool",
        "--resource",
        "Tool::erp_netsuite",
    ];
    let denied = as_me(&[&erp[..], &["--context", r#"{"ticket":"CHG-1"}"#]].concat());
    assert_eq!(denied.status.code(), Some(2));
    assert!(stdout(&denied).contains("guardrail:tier-approval"), "{}", stdout(&denied));
    let bad = as_me(&[&crm[..], &["--context", "[1]"]].concat());
    assert_eq!(bad.status.code(), Some(1));
    assert!(stderr(&bad).contains("--context: expected a JSON object"), "{}", stderr(&bad));

    // An approval grant, then the kill switch.
    let grant = as_me(&[
        "-o",
        "json",
        "grant",
        "create",
        "--kind",
        "approval",
        "--agent",
        "agent_finance_01",
        "--action",
        "invoke_tool",
        "--resource",
        "Tool::erp_netsuite",
        "--ttl",
        "2h",
        "--reason",
        "month-end close",
    ]);
    assert!(grant.status.success(), "{}", stderr(&grant));
    let grant: serde_json::Value = serde_json::from_slice(&grant.stdout).unwrap();
    assert_eq!(grant["record"]["approved_by"], me.as_str());
    let approved = [&erp[..], &["--context", r#"{"ticket":"CHG-1","approval":"GRANT-0001"}"#]].concat();
    assert_eq!(as_me(&approved).status.code(), Some(0));
    assert!(stdout(&as_me(&["grant", "list"])).contains("GRANT-0001"));
    assert!(as_me(&["agents", "pause", "agent_finance_01"]).status.success());
    let killed = as_me(&approved);
    assert_eq!(killed.status.code(), Some(2));
    assert!(stdout(&killed).contains("guardrail:kill-switch"));
    let resumed = as_me(&["agents", "resume", "agent_finance_01"]);
    assert!(stdout(&resumed).contains("status pilot"), "{}", stdout(&resumed));
    assert!(as_me(&["grant", "revoke", "GRANT-0001"]).status.success());
    assert_eq!(as_me(&approved).status.code(), Some(2));
    assert!(stdout(&as_me(&["grant", "list"])).contains("no grant holds now"));
    assert!(stdout(&as_me(&["grant", "list", "--all"])).contains("revoked"));
    let own = as_me(&[
        "grant",
        "create",
        "--agent",
        "agent_finance_01",
        "--action",
        "invoke_tool",
        "--resource",
        "Tool::erp_netsuite",
        "--ttl",
        "1h",
        "--reason",
        "x",
        "--requested-by",
        &me,
    ]);
    assert!(stderr(&own).contains("may not be the requester"), "{}", stderr(&own));

    // Policy tests: the enforced set passes; the proposed one breaks a case.
    let tests = examples().join("policy-tests");
    let proposed = examples().join("proposed");
    let passed = as_me(&["policy", "test", tests.to_str().unwrap()]);
    assert!(passed.status.success(), "{}", stdout(&passed));
    assert!(stdout(&passed).contains("13 passed, 0 failed, against the enforced policies"));
    let failed =
        as_me(&["policy", "test", tests.to_str().unwrap(), "--proposed", proposed.to_str().unwrap()]);
    assert_eq!(failed.status.code(), Some(1));
    assert!(
        stdout(&failed).contains("FAIL    the policies agent reads datasets in its region"),
        "{}",
        stdout(&failed)
    );

    // Replay: a read the proposed policy would deny.
    let read = [
        "decide",
        "--principal",
        "AGENT-POLICIES-OPS",
        "--action",
        "read_dataset",
        "--resource",
        "Dataset::AI_Agent_Procedures_Ops",
    ];
    assert!(as_me(&read).status.success());
    let replay =
        as_me(&["-o", "json", "policy", "replay", "--proposed", proposed.to_str().unwrap(), "--since", "1h"]);
    assert!(replay.status.success(), "{}", stderr(&replay));
    let report: serde_json::Value = serde_json::from_slice(&replay.stdout).unwrap();
    assert_eq!(report["flips"].as_array().unwrap().len(), 1, "{report}");
    assert_eq!(report["flips"][0]["principal"]["id"], "AGENT-POLICIES-OPS");
    assert_eq!(report["counts"][0]["to_deny"], 1);
    assert_eq!(report["unreproduced"], serde_json::json!([]));

    // Lint and the review cycle.
    assert!(stdout(&as_me(&["policy", "lint"])).contains("5 policies, no findings"));
    let sloppy = dir.path().join("sloppy.json");
    std::fs::write(&sloppy, r#"{"policy_id":"POL-OPS-SLOPPY","title":"t","purpose":"One. Two. Three.","rules":"do things","owner":"a, b","status":"Review"}"#).unwrap();
    let lint = as_me(&["policy", "lint", "--file", sloppy.to_str().unwrap()]);
    assert_eq!(lint.status.code(), Some(1));
    for finding in ["names several owners", "3 sentences", "is not numbered"] {
        assert!(stdout(&lint).contains(finding), "{}", stdout(&lint));
    }
    // A policy with a bad id is a finding too: the others are still linted.
    let two = dir.path().join("two.json");
    std::fs::write(
        &two,
        r#"[{"policy_id":"bad id","title":"t","purpose":"p","rules":"1. r","owner":"o","status":"Review"},
            {"policy_id":"POL-OPS-SLOPPY","title":"t","purpose":"One. Two. Three.","rules":"do things","owner":"a, b","status":"Review"}]"#,
    )
    .unwrap();
    let lint = as_me(&["policy", "lint", "--file", two.to_str().unwrap()]);
    assert_eq!(lint.status.code(), Some(1), "{}", stderr(&lint));
    for finding in ["readable", "invalid policy id \"bad id\"", "names several owners", "2 policies"] {
        assert!(stdout(&lint).contains(finding), "{finding}: {}", stdout(&lint));
    }
    let first = as_me(&["policy", "review-due", "--as-of", "2026-11-22"]);
    assert!(stdout(&first).contains("POL-AGENT-COORDINATION") && stdout(&first).contains("raised now"));
    let second = as_me(&["policy", "review-due", "--as-of", "2026-11-22"]);
    assert!(stdout(&second).contains("raised before"), "{}", stdout(&second));
}

#[test]
fn a_decision_is_in_the_ledger_when_its_answer_arrives() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    assert!(run(&data, &["import", example_dir().to_str().unwrap(), "-w", "ops"]).status.success());
    let token =
        run(&data, &["-o", "json", "token", "create", "--role", "operator", "--name", "agent_sales_01"]);
    let token: serde_json::Value = serde_json::from_slice(&token.stdout).unwrap();
    let token = token["token"].as_str().unwrap().to_owned();

    let mut command = charter();
    command.arg("serve").arg("--listen").arg("127.0.0.1:0").arg("--data-dir").arg(&data);
    let (mut child, address, _) = start(command);
    let request = r#"{"principal":{"type":"Agent","id":"agent_sales_01"},"action":"invoke_tool","resource":{"type":"Tool","id":"crm_salesforce"}}"#;
    let (status, body) = post(&address, "/v1/workspaces/ops/decide", &token, request);
    // Killed the moment the answer is read: no graceful shutdown, no flush.
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(status, 200, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    let seq: u64 = answer["decision_id"].as_str().unwrap().strip_prefix("DEC-").unwrap().parse().unwrap();

    let log = run(&data, &["-o", "json", "audit", "log", "--kind", "decision"]);
    let events: serde_json::Value = serde_json::from_slice(&log.stdout).unwrap();
    let events = events["events"].as_array().or_else(|| events.as_array()).unwrap().clone();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["seq"], seq);
    let verified = run(&data, &["audit", "verify"]);
    assert!(verified.status.success(), "{}{}", stdout(&verified), stderr(&verified));
}

#[test]
fn op_declare_list_and_show() {
    let (dir, data) = operations_workspace();
    let root = dir.path().canonicalize().unwrap();
    std::fs::create_dir_all(root.join("conf")).unwrap();
    let file = dir.path().join("op.yaml");
    std::fs::write(
        &file,
        format!(
            "OPERATION_NAME: reload\nOBJECTIVE: o\nRISK_CLASS: LOW_RISK_CONFIG\nBLAST_RADIUS: b\nROLLBACK_STRATEGY: snapshot\n\
             ALLOWED_PATHS: [{0}/conf]\nALLOWED_SERVICES: []\nREQUESTED_BY: carol\nSTEPS:\n\
             \x20 - name: write\n    command: touch {0}/conf/a\n    touches: [{0}/conf/a]\n    verify: [test -f {0}/conf/a]\n    rollback: rm {0}/conf/a\n",
            root.display()
        ),
    )
    .unwrap();
    let declared = run(&data, &["--actor", "carol", "op", "declare", file.to_str().unwrap()]);
    assert!(declared.status.success(), "{}", stderr(&declared));
    let id = stdout(&declared).trim().to_owned();
    assert!(id.starts_with("OPS-") && id.ends_with("-001"), "{id}");
    assert!(stderr(&declared).contains("(Tier 2), status Planned"), "{}", stderr(&declared));
    assert!(stdout(&run(&data, &["op", "list"])).contains(&id));
    let shown = stdout(&run(&data, &["op", "show", &id]));
    assert!(shown.contains("RISK_CLASS:        LOW_RISK_CONFIG (Tier 2)"), "{shown}");

    let stranger = run(&data, &["--actor", "mallory", "op", "run", &id]);
    assert!(stderr(&stranger).contains("guardrail:unknown-principal"), "{}", stderr(&stranger));
    let ran = run(
        &data,
        &["--actor", "carol", "op", "run", &id, "--report-dir", dir.path().join("report").to_str().unwrap()],
    );
    assert_eq!(ran.status.code(), Some(0), "{}{}", stdout(&ran), stderr(&ran));
    assert!(stdout(&ran).contains("[STEP 1 | ") && stdout(&ran).contains("Status: PASS"), "{}", stdout(&ran));
    assert!(root.join("conf/a").exists());
    let report = std::fs::read_to_string(dir.path().join("report/report.md")).unwrap();
    assert!(report.contains("## EXEC SUMMARY") && report.contains(": SUCCESS."), "{report}");
    assert_eq!(stdout(&run(&data, &["op", "report", &id])), report);
    let month = &id[4..11];
    let ledger = stdout(&run(&data, &["op", "ledger", "--month", month]));
    assert!(ledger.starts_with("---\noperation_id: ") && ledger.contains("outcome: SUCCESS"), "{ledger}");
    // As JSON, the same entries.
    let json = stdout(&run(&data, &["op", "ledger", "--month", month, "-o", "json"]));
    let entries: serde_json::Value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
    assert_eq!(
        (entries[0]["operation_id"].as_str(), entries[0]["outcome"].as_str()),
        (Some(id.as_str()), Some("SUCCESS"))
    );
    assert!(stderr(&run(&data, &["op", "ledger", "--month", "2026-13"])).contains("is not YYYY-MM"));
    let kpis = stdout(&run(&data, &["op", "kpis", "--period", month]));
    assert!(kpis.contains("1 runs, 1 succeeded") && kpis.contains("Change success rate: 100.0%"), "{kpis}");
    assert!(stdout(&run(&data, &["op", "publish", &id])).contains("is Published"));
    assert!(stdout(&run(&data, &["op", "retire", &id])).contains("is Retired"));
    let again = run(&data, &["op", "publish", &id]);
    assert!(stderr(&again).contains("cannot become Published (it is final)"), "{}", stderr(&again));

    std::fs::write(&file, "OPERATION_NAME: x\nRISK_CLASS: sideways\n").unwrap();
    let refused = run(&data, &["--actor", "carol", "op", "declare", file.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(1));
    for field in ["OBJECTIVE: missing", "STEPS: missing", "REQUESTED_BY: missing"] {
        assert!(stderr(&refused).contains(field), "{}", stderr(&refused));
    }
}

#[test]
fn data_governance_commands_and_their_exit_status() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let imported = run(&data, &["import", example_dir().to_str().unwrap(), "-w", "ops"]);
    assert!(imported.status.success(), "{}", stderr(&imported));
    let steward = |args: &[&str]| {
        let mut all = vec!["--actor", "data_model_steward"];
        all.extend_from_slice(args);
        run(&data, &all)
    };
    let samples = example_dir().join("data");

    // A file with a bad row scores below 95%: exit status 2, with the line.
    let csv = dir.path().join("policies.csv");
    std::fs::write(
        &csv,
        "policy_id,title,purpose,rules,owner,status\nPOL-A-B,t,p,r,o,Active\nbad,t,p,r,o,Active\n",
    )
    .unwrap();
    let low = steward(&["dq", "validate", "Business_Policies_Ops", csv.to_str().unwrap()]);
    assert_eq!(low.status.code(), Some(2), "{}", stderr(&low));
    let out = stdout(&low);
    assert!(out.contains("score 50%"), "{out}");
    assert!(out.contains("line 3: rule policy_id_format is false"), "{out}");
    assert!(out.contains("RAIDA RAIDA-0004 opened"), "{out}");

    // A header without a mandatory column is refused, naming the file.
    std::fs::write(&csv, "policy_id,title\nPOL-A-B,t\n").unwrap();
    let refused = steward(&["dq", "validate", "Business_Policies_Ops", csv.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(stderr(&refused).contains("policies.csv: header: no column \"purpose\""), "{}", stderr(&refused));

    // References into another dataset need its keys.
    let registry = samples.join("AI_Data_Model_Registry.csv");
    let missing = steward(&["dq", "validate", "AI_Data_Model_Registry", registry.to_str().unwrap()]);
    assert!(stderr(&missing).contains("--keys DATASET=FILE"), "{}", stderr(&missing));
    let keys = format!("AI_Agent_Identity_Ops={}", samples.join("AI_Agent_Identity_Ops.jsonl").display());
    // Keys of a dataset no field references are not needed: a warning.
    let extra = format!("Business_Policies_Ops={}", csv.display());
    let good = steward(&[
        "dq",
        "validate",
        "AI_Data_Model_Registry",
        registry.to_str().unwrap(),
        "--keys",
        &keys,
        "--keys",
        &extra,
    ]);
    assert!(good.status.success(), "{}", stderr(&good));
    assert!(
        stderr(&good)
            .contains("no field of AI_Data_Model_Registry references Business_Policies_Ops; not read")
    );

    // Propose, show, apply.
    let proposal = dir.path().join("proposal.json");
    std::fs::write(
        &proposal,
        r#"{"fields":[{"name":"change_id","type":"string","key":true,"mandatory":true}],"description":"only the key"}"#,
    )
    .unwrap();
    let proposed =
        steward(&["schema", "propose", "AI_Model_Change_Log", "--schema", proposal.to_str().unwrap()]);
    assert!(proposed.status.success(), "{}", stderr(&proposed));
    let out = stdout(&proposed);
    assert!(out.starts_with("CHG-"), "{out}");
    assert!(out.contains("BREAKING dataset_affected"), "{out}");
    let id = out.split_whitespace().next().unwrap().to_owned();
    let applied = steward(&["schema", "apply", &id]);
    assert!(stdout(&applied).contains("is Complete (schema version 2)"), "{}", stderr(&applied));
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"fields":[{"name":"x","type":"text"}]}"#).unwrap();
    let unreadable =
        steward(&["schema", "propose", "AI_Model_Change_Log", "--schema", bad.to_str().unwrap()]);
    assert!(stderr(&unreadable).contains("bad.json: line 1"), "{}", stderr(&unreadable));
    assert!(stderr(&unreadable).contains("fields[0].type"), "{}", stderr(&unreadable));

    // The check reads, and says what raising would do; --raise does it,
    // and twice raises nothing new.
    let items = || stdout(&steward(&["-o", "json", "raida", "list"]));
    let before = items();
    let reading = steward(&["check", "--as-of", "2026-11-22", "-o", "json"]);
    let reading: serde_json::Value = serde_json::from_slice(&reading.stdout).unwrap();
    assert_eq!(reading["applied"], false);
    let to_raise = reading["raida"].as_array().unwrap().iter().filter(|r| r["outcome"] == "opened").count();
    assert!(to_raise > 0, "{reading}");
    assert_eq!(items(), before, "a reading raises nothing");
    let first = steward(&["check", "--as-of", "2026-11-22", "--raise"]);
    assert_eq!(
        first.status.code(),
        Some(2),
        "the Business_Policies_Ops score is below threshold: {}",
        stdout(&first)
    );
    assert!(stdout(&first).contains(&format!("RAIDA: {to_raise} raised")), "{}", stdout(&first));
    let second = steward(&["check", "--as-of", "2026-11-22", "--raise"]);
    assert!(stdout(&second).contains("RAIDA: 0 raised"), "{}", stdout(&second));

    let listed = steward(&["raida", "list", "--type", "issue"]);
    assert!(
        stdout(&listed).contains("Business_Policies_Ops: rule:policy_id_format fails"),
        "{}",
        stdout(&listed)
    );
    let added =
        steward(&["raida", "add", "--type", "risk", "--title", "vendor lock-in", "--severity", "high"]);
    let raida = stdout(&added).trim().to_owned();
    assert!(raida.starts_with("RAIDA-"), "{raida}");
    assert!(steward(&["raida", "close", &raida]).status.success());
    let bad_type = steward(&["raida", "add", "--type", "worry", "--title", "x"]);
    assert!(stderr(&bad_type).contains("--type: unknown value \"worry\""), "{}", stderr(&bad_type));
    // A new item due in the past is refused, saying why.
    let past = steward(&["raida", "add", "--type", "risk", "--title", "late", "--due", "2020-01-01"]);
    assert!(stderr(&past).contains("due_date: 2020-01-01 is before today"), "{}", stderr(&past));

    // A quote never closed is named where it opened.
    std::fs::write(
        &csv,
        "policy_id,title,purpose,rules,owner,status\nPOL-A-B,\"t,p,r,o,Active\nPOL-A-C,t,p,r,o,Active\n",
    )
    .unwrap();
    let open_quote = steward(&["dq", "validate", "Business_Policies_Ops", csv.to_str().unwrap()]);
    assert!(
        stdout(&open_quote).contains("line 2: a quoted field opened here is never closed"),
        "{}",
        stdout(&open_quote)
    );
}

#[test]
fn assess_and_report_on_the_example() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    assert!(run(&data, &["import", example_dir().to_str().unwrap(), "-w", "ops"]).status.success());
    let assessed = run(&data, &["assess", "--as-of", "2025-01-15", "--no-save"]);
    assert!(assessed.status.success(), "{}", stderr(&assessed));
    let out = stdout(&assessed);
    assert!(out.contains("ESCALATE agent_finance_01 [negative_roi_high_criticality]"), "{out}");
    assert!(out.contains("degrading (32 -> 63)"), "{out}");
    let reports = dir.path().join("reports");
    for format in ["md", "json", "html"] {
        let written = run(
            &data,
            &["report", "--format", format, "--as-of", "2025-01-15", "--out", reports.to_str().unwrap()],
        );
        assert!(written.status.success(), "{}", stderr(&written));
    }
    for chart in ["risk-over-time.svg", "cost-vs-roi.svg", "failure-vs-manual.svg", "risk-heatmap.svg"] {
        assert!(reports.join(chart).exists(), "{chart}");
    }
    let html = std::fs::read_to_string(reports.join("report.html")).unwrap();
    assert!(html.contains("<figure id=\"risk-heatmap.svg\"><svg"), "the charts are inline");
    let md = std::fs::read_to_string(reports.join("report.md")).unwrap();
    assert!(md.contains("| agent_finance_01 | pilot | high |"), "{md}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(reports.join("assessment.json")).unwrap()).unwrap();
    assert_eq!(json["as_of"], "2025-01-15");
    let bad =
        run(&data, &["assess", "--no-save", "--config", example_dir().join("agents.json").to_str().unwrap()]);
    assert!(stderr(&bad).contains("agents.json: TOML parse error"), "{}", stderr(&bad));
}

/// The scope contract enforced by the kernel: a step's command may write
/// beneath ALLOWED_PATHS only, never beneath a NOT ALLOWED path, and cannot
/// escape through a symbolic link made at run time, a hard link or `..`
/// (a regression: a step writing elsewhere ended SUCCESS / Validated).
#[test]
fn a_step_cannot_write_outside_its_scope() {
    let (dir, data) = operations_workspace();
    let root = dir.path().canonicalize().unwrap();
    for sub in ["conf/sites", "conf/secrets", "outside"] {
        std::fs::create_dir_all(root.join(sub)).unwrap();
    }
    std::fs::write(root.join("conf/secrets/key"), "secret\n").unwrap();
    std::fs::write(root.join("outside/existing"), "outside\n").unwrap();
    let r = root.display();
    let command = format!(
        "echo new > {r}/conf/sites/a; echo leak > {r}/outside/f; echo leak > {r}/conf/secrets/key; \
         echo up > {r}/conf/sites/../../outside/up; ln -s {r}/outside {r}/conf/sites/esc; \
         echo via-link > {r}/conf/sites/esc/g; ln {r}/outside/existing {r}/conf/sites/hard; true"
    );
    let file = dir.path().join("op.yaml");
    std::fs::write(
        &file,
        format!(
            "OPERATION_NAME: confined\nOBJECTIVE: o\nRISK_CLASS: LOW_RISK_CONFIG\nBLAST_RADIUS: b\nROLLBACK_STRATEGY: snapshot\n\
             ALLOWED_PATHS: [{r}/conf]\nALLOWED_SERVICES: []\nNOT_ALLOWED: {{paths: [{r}/conf/secrets]}}\nREQUESTED_BY: carol\nSTEPS:\n\
             \x20 - name: write\n    command: '{command}'\n    touches: [{r}/conf/sites]\n    verify: [test -f {r}/conf/sites/a]\n    rollback: 'true'\n"
        ),
    )
    .unwrap();
    let declared = run(&data, &["--actor", "carol", "op", "declare", file.to_str().unwrap()]);
    assert!(declared.status.success(), "{}", stderr(&declared));
    let id = stdout(&declared).trim().to_owned();
    let ran = run(&data, &["--actor", "carol", "op", "run", &id]);
    assert!(!stderr(&ran).contains("Landlock is not available"), "{}", stderr(&ran));
    assert_eq!(std::fs::read_to_string(root.join("conf/sites/a")).unwrap(), "new\n", "{}", stdout(&ran));
    for escaped in ["outside/f", "outside/up", "outside/g", "conf/sites/hard"] {
        assert!(!root.join(escaped).exists(), "{escaped} was written: {}", stdout(&ran));
    }
    assert_eq!(std::fs::read_to_string(root.join("conf/secrets/key")).unwrap(), "secret\n");
    let report = stdout(&run(&data, &["op", "report", &id]));
    assert!(report.contains("Permission denied"), "the kernel refused the writes: {report}");
    assert!(report.contains("The commands ran confined by Landlock"), "{report}");
}

#[test]
fn a_step_connects_only_to_its_allowed_ports() {
    let (dir, data) = operations_workspace();
    let root = dir.path().canonicalize().unwrap();
    std::fs::create_dir_all(root.join("conf")).unwrap();
    let allowed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let other = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let (a, b) = (allowed.local_addr().unwrap().port(), other.local_addr().unwrap().port());
    std::fs::write(
        root.join("connect.py"),
        "import socket, sys\nsocket.create_connection(('127.0.0.1', int(sys.argv[1])), 5).close()\n",
    )
    .unwrap();
    let r = root.display();
    let file = dir.path().join("op.yaml");
    std::fs::write(
        &file,
        format!(
            "OPERATION_NAME: ports\nOBJECTIVE: o\nRISK_CLASS: LOW_RISK_CONFIG\nBLAST_RADIUS: b\nROLLBACK_STRATEGY: snapshot\n\
             ALLOWED_PATHS: [{r}/conf]\nALLOWED_SERVICES: []\nALLOWED_PORTS: [{a}]\nREQUESTED_BY: carol\nSTEPS:\n\
             \x20 - name: connect\n    command: python3 {r}/connect.py {a} && touch {r}/conf/a; python3 {r}/connect.py {b} && touch {r}/conf/b; true\n\
             \x20   touches: [{r}/conf]\n    verify: [test -f {r}/conf/a]\n    rollback: 'true'\n"
        ),
    )
    .unwrap();
    let declared = run(&data, &["--actor", "carol", "op", "declare", file.to_str().unwrap()]);
    assert!(declared.status.success(), "{}", stderr(&declared));
    let id = stdout(&declared).trim().to_owned();
    let ran = run(&data, &["--actor", "carol", "op", "run", &id]);
    assert_eq!(ran.status.code(), Some(0), "{}{}", stdout(&ran), stderr(&ran));
    assert!(root.join("conf/a").exists(), "port {a} is allowed: {}", stdout(&ran));
    assert!(!root.join("conf/b").exists(), "port {b} is not allowed: {}", stdout(&ran));
    let report = stdout(&run(&data, &["op", "report", &id]));
    assert!(report.contains(&format!("limited to ports {a} (ALLOWED_PORTS)")), "{report}");
    drop((allowed, other));
}

#[test]
fn remote_mode_acts_through_the_server_as_the_tokens_holder() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    assert!(run(&data, &["import", example_dir().to_str().unwrap(), "-w", "ops"]).status.success());
    let token = |role: &str, holder: &str| {
        let made = run(&data, &["-o", "json", "token", "create", "--role", role, "--name", holder]);
        assert!(made.status.success(), "{}", stderr(&made));
        let made: serde_json::Value = serde_json::from_slice(&made.stdout).unwrap();
        made["token"].as_str().unwrap().to_owned()
    };
    let approver = token("approver", "vp_finance");
    let operator = token("operator", "ops_on_call");
    let owner = token("owner", "finance_systems_manager");
    let mut command = charter();
    command.arg("serve").arg("--listen").arg("127.0.0.1:0").arg("--data-dir").arg(&data);
    let (child, address, _) = start(command);
    let server = format!("http://{address}");
    // No data directory here: everything goes through the server.
    let remote = |secret: &str, args: &[&str]| {
        charter().args(["--server", &server]).env("CHARTER_TOKEN", secret).args(args).output().unwrap()
    };

    // A grant made remotely is approved by the token's holder.
    let grant = remote(
        &approver,
        &[
            "-o",
            "json",
            "grant",
            "create",
            "--kind",
            "approval",
            "--agent",
            "agent_finance_01",
            "--action",
            "invoke_tool",
            "--resource",
            "Tool::erp_netsuite",
            "--ttl",
            "2h",
            "--reason",
            "month-end close",
        ],
    );
    assert!(grant.status.success(), "{}", stderr(&grant));
    let grant: serde_json::Value = serde_json::from_slice(&grant.stdout).unwrap();
    assert_eq!(grant["record"]["approved_by"], "vp_finance");
    assert!(stdout(&remote(&approver, &["grant", "list"])).contains("GRANT-0001"));
    let decide = [
        "decide",
        "--principal",
        "agent_finance_01",
        "--action",
        "invoke_tool",
        "--resource",
        "Tool::erp_netsuite",
        "--context",
        r#"{"ticket":"CHG-1","approval":"GRANT-0001"}"#,
    ];
    let allowed = remote(&operator, &decide);
    assert_eq!(allowed.status.code(), Some(0), "{}{}", stdout(&allowed), stderr(&allowed));
    assert!(stdout(&allowed).contains("allow") && stdout(&allowed).contains("DEC-"), "{}", stdout(&allowed));
    assert!(remote(&owner, &["agents", "pause", "agent_finance_01"]).status.success());
    assert_eq!(remote(&operator, &decide).status.code(), Some(2), "paused: denied");
    assert!(remote(&owner, &["agents", "resume", "agent_finance_01"]).status.success());
    let shown = remote(&operator, &["get", "agent", "agent_finance_01"]);
    assert!(stdout(&shown).contains("agent agent_finance_01 (version"), "{}", stdout(&shown));

    // An operation declared remotely is requested by the token's holder;
    // the server's refusals come back as they are.
    let file = dir.path().join("op.yaml");
    std::fs::write(
        &file,
        "OPERATION_NAME: reload\nOBJECTIVE: o\nRISK_CLASS: FILESYSTEM_WRITE\nBLAST_RADIUS: b\n\
         ROLLBACK_STRATEGY: snapshot\nALLOWED_PATHS: [/srv/site/conf]\nALLOWED_SERVICES: []\n\
         REQUESTED_BY: ops_on_call\nSTEPS:\n  - name: write\n    command: touch /srv/site/conf/a\n\
         \x20   touches: [/srv/site/conf/a]\n    verify: [test -f /srv/site/conf/a]\n    rollback: rm /srv/site/conf/a\n",
    )
    .unwrap();
    let declared = remote(&operator, &["op", "declare", file.to_str().unwrap()]);
    assert!(declared.status.success(), "{}", stderr(&declared));
    let id = stdout(&declared).trim().to_owned();
    assert!(stdout(&remote(&approver, &["op", "show", &id])).contains("REQUESTED_BY:      ops_on_call"));
    let early = remote(&approver, &["op", "approve", &id]);
    assert!(stderr(&early).contains("no dry run of this plan has passed"), "{}", stderr(&early));
    // The app writes a run's report; the server answers it (here: no run yet).
    let report = remote(&approver, &["op", "report", &id]);
    assert!(stderr(&report).contains(&format!("{id} has 0 runs; there is no run 0")), "{}", stderr(&report));
    let run_remote = remote(&operator, &["op", "run", &id, "--dry-run"]);
    assert!(stderr(&run_remote).contains("runs where the database is"), "{}", stderr(&run_remote));

    // What needs the database, a missing token and a wrong one are refused.
    let status = remote(&operator, &["status"]);
    assert!(stderr(&status).contains("does not work through a server"), "{}", stderr(&status));
    let bare = charter().args(["--server", &server, "get", "agent", "agent_finance_01"]).output().unwrap();
    assert!(stderr(&bare).contains("--server needs a token"), "{}", stderr(&bare));
    let wrong = remote("charter_0000", &["get", "agent", "agent_finance_01"]);
    assert!(stderr(&wrong).contains("401"), "{}", stderr(&wrong));
    assert!(terminate(child).success());
}

#[test]
fn a_reader_that_stops_reading_is_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    assert!(run(&data, &["import", example_dir().to_str().unwrap(), "-w", "ops"]).status.success());
    for args in [&["-o", "json", "agents", "list"][..], &["agents", "list"][..]] {
        let mut child = charter()
            .arg("--data-dir")
            .arg(&data)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The reader goes before anything is written (`| head -c0`).
        drop(child.stdout.take());
        let output = child.wait_with_output().unwrap();
        assert!(stderr(&output).is_empty(), "{args:?}: {}", stderr(&output));
        assert_eq!(output.status.code(), Some(141), "{args:?}");
    }
    // Or after the first line of a long output (`| head -1`).
    for _ in 0..3 {
        let mut child = charter()
            .arg("--data-dir")
            .arg(&data)
            .args(["assess", "--as-of", "2025-01-15", "--no-save"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(!stderr(&output).contains("panicked"), "{}", stderr(&output));
        assert!(matches!(output.status.code(), Some(0 | 141)), "{:?}", output.status);
    }
}

#[test]
fn help_and_logs_are_plain_text() {
    // The help names the variables without printing values (or empty ones).
    let help = stdout(&charter().arg("--help").output().unwrap());
    assert!(help.contains("[env: CHARTER_DATA_DIR]") && !help.contains("=]"), "{help}");
    // A server's log written to a file has no colour codes.
    let dir = tempfile::tempdir().unwrap();
    assert!(run(&dir.path().join("data"), &["init"]).status.success());
    let mut command = charter();
    command.arg("serve").arg("--listen").arg("127.0.0.1:0").arg("--data-dir").arg(dir.path().join("data"));
    command.stderr(Stdio::piped()).env("CHARTER_LOG", "debug");
    let mut child = command.stdout(Stdio::piped()).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert!(lines.next().unwrap().unwrap().starts_with("Charter is serving"));
    child.kill().unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(!stderr(&output).is_empty(), "the server logs at debug");
    assert!(!stderr(&output).contains('\u{1b}'), "{}", stderr(&output));
}

#[test]
fn a_runs_declared_outputs_are_validated_from_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let me = login();
    assert!(run(&data, &["import", example_dir().to_str().unwrap(), "-w", "ops"]).status.success());
    let people = dir.path().join("me");
    std::fs::create_dir_all(&people).unwrap();
    let person = serde_json::json!([{ "person_id": me, "name": "Tester", "roles": ["operator"] }]);
    std::fs::write(people.join("people.json"), person.to_string()).unwrap();
    assert!(run(&data, &["import", people.to_str().unwrap(), "-w", "ops"]).status.success());

    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_micros() as i64;
    let spans = serde_json::json!([{
        "trace_id": "0000000000000000000000000000abcd", "span_id": "00000000000000a1",
        "name": "close", "kind": "invoke_agent", "agent_id": "agent_finance_01",
        "start_us": now - 2_000_000, "end_us": now - 1_000_000, "status": "ok",
        "validate_files": ["out/summary.md", "out/missing.csv"]
    }]);
    let file = dir.path().join("spans.json");
    std::fs::write(&file, spans.to_string()).unwrap();
    let ingested = run(&data, &["runs", "ingest", file.to_str().unwrap()]);
    assert!(ingested.status.success(), "{}", stderr(&ingested));
    let id = "RUN-0000000000000000000000000000abcd-agent_finance_01";

    let outputs = dir.path().join("outputs");
    std::fs::create_dir_all(outputs.join("out")).unwrap();
    std::fs::write(outputs.join("out/summary.md"), "deploy key ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789\n")
        .unwrap();
    let validated = run(&data, &["runs", "validate", id, "--dir", outputs.to_str().unwrap()]);
    assert_eq!(validated.status.code(), Some(2), "{}", stderr(&validated));
    let out = stdout(&validated);
    assert!(out.contains(&format!("{id}: validation FAILED; opened INC-")), "{out}");
    assert!(out.contains("FAIL out/missing.csv: not provided"), "{out}");
    assert!(out.contains("FAIL out/summary.md: holds 1 github_token"), "{out}");
    assert!(!out.contains("ghp_"), "{out}");
    let report = stdout(&run(&data, &["runs", "report", id]));
    assert!(report.contains("Validation:\n  - failed at "), "{report}");
    let again = run(&data, &["runs", "validate", id, "--dir", outputs.to_str().unwrap()]);
    assert!(stderr(&again).contains("already exists"), "{}", stderr(&again));
}

#[test]
fn certify_writes_a_signed_verdict_that_verifies_offline_and_tampering_fails() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    assert!(run(&data, &["import", example_dir().to_str().unwrap(), "-w", "ops"]).status.success());
    let out = dir.path().join("cert");
    let certified = run(&data, &["certify", "--out", out.to_str().unwrap()]);
    // The example as imported has no operations, drills or incidents: RED.
    assert_eq!(certified.status.code(), Some(2), "{}", stderr(&certified));
    let text = stdout(&certified);
    assert!(text.contains("Certification of ops as of") && text.contains(": RED"), "{text}");
    assert!(text.contains("OC-B2") && text.contains("drill:rollback"), "{text}");
    for file in ["certification.json", "certification.md", "certification.dsse.json", "certification.toml"] {
        assert!(out.join(file).exists(), "{file}");
    }
    let key = stdout(&run(&data, &["audit", "key"])).trim().to_owned();
    let envelope = out.join("certification.dsse.json");
    let verified = run(&data, &["certify", "verify", envelope.to_str().unwrap(), "--key", &key]);
    assert!(verified.status.success(), "{}", stderr(&verified));
    assert!(stdout(&verified).contains("verified, signed by"), "{}", stdout(&verified));

    // With the ledger behind it: the bundle must hold the verdict's checkpoint.
    let bundle = dir.path().join("bundle");
    assert!(run(&data, &["audit", "export", "--out", bundle.to_str().unwrap()]).status.success());
    let with_bundle = [
        "certify",
        "verify",
        envelope.to_str().unwrap(),
        "--key",
        &key,
        "--bundle",
        bundle.to_str().unwrap(),
    ];
    let ok = run(&data, &with_bundle);
    assert!(ok.status.success(), "{}", stderr(&ok));
    let events = bundle.join("events.jsonl");
    let original = std::fs::read(&events).unwrap();
    let mut tampered = original.clone();
    let at = tampered.iter().position(|b| *b == b'a').unwrap();
    tampered[at] = b'b';
    std::fs::write(&events, &tampered).unwrap();
    let refused = run(&data, &with_bundle);
    assert_eq!(refused.status.code(), Some(2));
    assert!(stderr(&refused).contains("does not verify"), "{}", stderr(&refused));
    std::fs::write(&events, &original).unwrap();

    // One byte of the envelope changed.
    let mut json: serde_json::Value = serde_json::from_slice(&std::fs::read(&envelope).unwrap()).unwrap();
    let payload = json["payload"].as_str().unwrap().to_owned();
    let flipped =
        if payload.starts_with('e') { payload.replacen('e', "f", 1) } else { format!("e{}", &payload[1..]) };
    json["payload"] = flipped.into();
    std::fs::write(&envelope, serde_json::to_vec(&json).unwrap()).unwrap();
    let forged = run(&data, &["certify", "verify", envelope.to_str().unwrap(), "--key", &key]);
    assert_eq!(forged.status.code(), Some(2));
    assert!(stderr(&forged).contains("does not verify"), "{}", stderr(&forged));

    // A claim matrix with a bad field names it.
    let matrix = dir.path().join("bad.toml");
    std::fs::write(&matrix, "period_days = 9\nclaims = []\nsurprise = 1\n").unwrap();
    let bad = run(&data, &["certify", "--matrix", matrix.to_str().unwrap(), "--no-record"]);
    assert!(stderr(&bad).contains("bad.toml") && stderr(&bad).contains("surprise"), "{}", stderr(&bad));
}
