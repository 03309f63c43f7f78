//! The web console in a real headless Chromium, driven over WebDriver
//! (Debian's `chromium` and `chromium-driver`), against a real `charter
//! serve`: signing in, the overview, the agents, the kill switch flipping an
//! agent's decisions to deny and back, a refusal with its reason, a
//! read-only session without action buttons, signing out. Every page is
//! checked with axe-core (no serious or critical violation) and saved as a
//! screenshot under `CHARTER_SCREENSHOTS_DIR` (default: the target
//! directory's `tmp/console-screenshots`). `.ci/run` installs Chromium,
//! chromedriver and axe-core when missing; without them, outside CI, the
//! test says so and checks nothing.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use thirtyfour::prelude::*;

mod common;
use common::charter;

fn run(data: &Path, args: &[&str]) -> Output {
    let output = charter().arg("--data-dir").arg(data).args(args).output().unwrap();
    assert!(output.status.success(), "charter {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    output
}

/// A token of the workspace `ops` for `holder` with `role`.
fn token(data: &Path, role: &str, holder: &str) -> String {
    let output = run(data, &["-o", "json", "token", "create", "--role", role, "--name", holder]);
    let created: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    created["token"].as_str().unwrap().to_owned()
}

/// Kills a child process when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        self.0.kill().ok();
        self.0.wait().ok();
    }
}

fn serve(data: &Path) -> (Killed, String) {
    let mut command = charter();
    command.arg("--data-dir").arg(data).args(["serve", "--listen", "127.0.0.1:0"]);
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let child = Killed(child);
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("Charter is serving http://") {
            let address = rest.split_whitespace().next().unwrap().to_owned();
            std::thread::spawn(move || for _ in lines.by_ref() {});
            return (child, address);
        }
    }
    panic!("the server did not start");
}

/// chromedriver on a free port, once it answers.
fn chromedriver() -> (Killed, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let child = Killed(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return (child, port);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("chromedriver did not start on port {port}");
}

/// One decision asked over the API with an agent's token: `allow` or `deny`.
fn decide(address: &str, token: &str) -> String {
    let body = r#"{"principal":{"type":"Agent","id":"agent_sales_01"},"action":"invoke_tool","resource":{"type":"Tool","id":"crm_salesforce"}}"#;
    let mut stream = TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        stream,
        "POST /v1/workspaces/ops/decide HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let json = response.split_once("\r\n\r\n").map(|(_, body)| body).unwrap_or_default();
    let answer: serde_json::Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {response}"));
    answer["decision"].as_str().unwrap_or_default().to_owned()
}

/// Declares a Tier 3 operation as `vp_finance` and dry-runs it as the
/// on-call operator, so it waits for an approval; answers its id.
fn declare_dry_run_operation(dir: &Path, data: &Path) -> String {
    let site = dir.canonicalize().unwrap().join("site");
    std::fs::create_dir_all(&site).unwrap();
    // Commands run here without the Landlock launcher, which the workspace accepts.
    let settings = dir.join("settings");
    std::fs::create_dir_all(&settings).unwrap();
    std::fs::write(
        settings.join("ops_settings.json"),
        r#"[{"settings_id":"default","detection_only":true}]"#,
    )
    .unwrap();
    run(data, &["import", settings.to_str().unwrap(), "-w", "ops"]);
    let declaration = dir.join("operation.yaml");
    std::fs::write(
        &declaration,
        format!(
            "OPERATION_NAME: raise a limit\nOBJECTIVE: o\nRISK_CLASS: FILESYSTEM_WRITE\nBLAST_RADIUS: one file\n\
             ROLLBACK_STRATEGY: snapshot\nALLOWED_PATHS: ['{site}']\nALLOWED_SERVICES: []\nREQUESTED_BY: vp_finance\n\
             STEPS:\n  - name: write\n    command: 'true'\n    touches: ['{site}/app.conf']\n    verify: ['true']\n    rollback: 'true'\n",
            site = site.display()
        ),
    )
    .unwrap();
    let declared =
        run(data, &["--actor", "vp_finance", "-w", "ops", "op", "declare", declaration.to_str().unwrap()]);
    let id = String::from_utf8(declared.stdout).unwrap().trim().to_owned();
    assert!(id.starts_with("OPS-"), "{id}");
    run(data, &["--actor", "ops_on_call", "-w", "ops", "op", "run", &id, "--dry-run"]);
    id
}

/// Sets the session whose cookie holds `secret` to have expired an hour ago,
/// as eight hours of a real clock would.
async fn expire_session(data: &Path, secret: &str) {
    use sha2::Digest as _;
    let hash: String = sha2::Sha256::digest(secret.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    let past = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_micros() as i64
        - 3_600_000_000;
    let url = charter_store::sqlite_url(&data.join(charter_store::SQLITE_FILE));
    let sql = format!("UPDATE console_sessions SET expires_at = {past} WHERE secret_hash = '{hash}'");
    assert_eq!(charter_store::testing::execute_sql(&url, &sql).await, 1, "the session's row");
}

/// Waits until the browser shows `path`.
async fn wait_for_path(browser: &Browser, path: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while browser.path().await != path {
        assert!(Instant::now() < deadline, "the browser did not reach {path}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    while browser.driver.execute("return document.readyState", Vec::new()).await.unwrap().json() != "complete"
    {
        assert!(Instant::now() < deadline, "{path} did not finish loading");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What the test needs from the machine, or why it cannot run here.
fn tools() -> Result<PathBuf, String> {
    for tool in ["chromium", "chromedriver"] {
        let found = Command::new("sh").arg("-c").arg(format!("command -v {tool}")).output();
        if !found.is_ok_and(|output| output.status.success()) {
            return Err(format!(
                "{tool} is not installed (Debian: apt-get install chromium chromium-driver)"
            ));
        }
    }
    let axe = std::env::var_os("CHARTER_AXE_JS").map(PathBuf::from).unwrap_or_else(|| {
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("../axe/node_modules/axe-core/axe.min.js")
    });
    if !axe.is_file() {
        return Err(format!(
            "axe-core is not at {} (npm install axe-core; or set CHARTER_AXE_JS)",
            axe.display()
        ));
    }
    Ok(axe)
}

struct Browser {
    driver: WebDriver,
    base: String,
    axe: String,
    shots: PathBuf,
}

impl Browser {
    async fn open(&self, path: &str) {
        self.driver.goto(format!("{}{path}", self.base)).await.unwrap();
    }

    async fn path(&self) -> String {
        self.driver.current_url().await.unwrap().path().to_owned()
    }

    async fn text(&self) -> String {
        self.driver.find(By::Tag("body")).await.unwrap().text().await.unwrap()
    }

    /// Saves a screenshot and fails on any serious or critical axe-core violation.
    async fn check(&self, name: &str) {
        self.driver.screenshot(&self.shots.join(format!("{name}.png"))).await.unwrap();
        self.driver.execute(self.axe.as_str(), Vec::new()).await.unwrap();
        let script = "const done = arguments[arguments.length - 1];\
                      axe.run(document, { resultTypes: ['violations'] })\
                        .then(r => done(JSON.stringify(r.violations.map(v => ({ id: v.id, impact: v.impact, nodes: v.nodes.length })))))\
                        .catch(e => done('error: ' + e));";
        let ran = self.driver.execute_async(script, Vec::new()).await.unwrap();
        let text = ran.json().as_str().unwrap_or_default().to_owned();
        let violations: Vec<serde_json::Value> =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("axe-core on {name}: {e}: {text}"));
        let grave: Vec<&serde_json::Value> = violations
            .iter()
            .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
            .collect();
        assert!(grave.is_empty(), "axe-core on {name}: {grave:?}");
    }

    /// Clicks what `by` finds and waits until the next page has loaded.
    async fn click(&self, by: By) {
        let before = self.driver.find(By::Tag("html")).await.unwrap();
        self.driver.find(by).await.unwrap().click().await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(15);
        // The old document goes stale once the browser has navigated.
        while before.tag_name().await.is_ok() {
            assert!(Instant::now() < deadline, "the click did not lead to another page");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        while self.driver.execute("return document.readyState", Vec::new()).await.unwrap().json()
            != "complete"
        {
            assert!(Instant::now() < deadline, "the page did not finish loading");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn sign_in(&self, token: &str) {
        self.open("/console").await;
        assert_eq!(self.path().await, "/console/sign-in");
        self.driver.find(By::Id("token")).await.unwrap().send_keys(token).await.unwrap();
        self.click(By::Css("form.sign-in button")).await;
        assert_eq!(self.path().await, "/console", "{}", self.text().await);
    }

    async fn sign_out(&self) {
        self.click(By::Css("form.who button")).await;
        assert!(self.text().await.contains("Signed out"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_in_a_real_browser() {
    let axe = match tools() {
        Ok(axe) => axe,
        Err(missing) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("{missing}; .ci/run installs it")
        }
        Err(missing) => {
            eprintln!("the browser test cannot run here: {missing}");
            return;
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let example = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/ops-workspace");
    run(&data, &["import", example.to_str().unwrap(), "-w", "ops"]);
    let operator = token(&data, "operator", "ops_on_call");
    let owner = token(&data, "owner", "revenue_ops_lead");
    let auditor = token(&data, "auditor", "internal_audit");
    let agent = token(&data, "operator", "agent_sales_01");
    let steward = token(&data, "steward", "data_model_steward");
    let requester = token(&data, "approver", "vp_finance");
    let approver = token(&data, "approver", "ops_governance_lead");
    let operation = declare_dry_run_operation(dir.path(), &data);
    let (_server, address) = serve(&data);
    let (_driver, port) = chromedriver();

    let profile = tempfile::tempdir().unwrap();
    let mut caps = DesiredCapabilities::chrome();
    caps.set_binary("/usr/bin/chromium").unwrap();
    for arg in [
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,900",
    ] {
        caps.add_arg(arg).unwrap();
    }
    caps.add_arg(&format!("--user-data-dir={}", profile.path().display())).unwrap();
    let driver = WebDriver::new(format!("http://127.0.0.1:{port}"), caps).await.unwrap();
    let shots = std::env::var_os("CHARTER_SCREENSHOTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots"));
    std::fs::create_dir_all(&shots).unwrap();
    let browser = Browser {
        driver,
        base: format!("http://{address}"),
        axe: std::fs::read_to_string(&axe).unwrap(),
        shots,
    };

    // Sign in as the on-call operator: the overview.
    browser.open("/console").await;
    browser.check("sign-in").await;
    browser.sign_in(&operator).await;
    let overview = browser.text().await;
    assert!(
        overview.contains("Governance check") && overview.contains("ops_on_call · operator"),
        "{overview}"
    );
    browser.check("overview").await;

    // The portfolio, riskiest first: the finance agent is escalated.
    browser.open("/console/agents").await;
    let table = browser.text().await;
    assert!(table.contains("agent_finance_01") && table.contains("riskiest first"), "{table}");
    browser.check("agents").await;
    browser.click(By::LinkText("agent_finance_01")).await;
    let finance = browser.text().await;
    assert!(finance.contains("Escalations") && finance.contains("Blast radius"), "{finance}");
    browser.check("agent-finance").await;
    // The sales agent, with its charts drawn.
    browser.open("/console/agents?sort=id").await;
    browser.click(By::LinkText("agent_sales_01")).await;
    assert_eq!(browser.path().await, "/console/agents/agent_sales_01");
    let drawn = browser
        .driver
        .execute(
            "const imgs = Array.from(document.querySelectorAll('main img'));\
             return imgs.length + ':' + imgs.filter(i => i.complete && i.naturalWidth > 0).length;",
            Vec::new(),
        )
        .await
        .unwrap();
    assert_eq!(drawn.json().as_str(), Some("3:3"), "the agent's three charts");
    browser.check("agent").await;

    // The kill switch, behind a confirmation: the agent's decisions flip to deny.
    assert_eq!(decide(&address, &agent), "allow");
    browser.click(By::PartialLinkText("Pause this agent")).await;
    browser.check("confirm-pause").await;
    browser.click(By::Css("main form button")).await;
    assert_eq!(browser.path().await, "/console/agents/agent_sales_01");
    assert!(browser.text().await.contains("paused"));
    assert_eq!(decide(&address, &agent), "deny");
    // The pause opened an incident.
    browser.open("/console/incidents").await;
    assert!(browser.text().await.contains("paused (kill switch)"));
    browser.check("incidents").await;

    // The decision log shows the denial; its page proves it is in the ledger.
    browser.open("/console/decisions?principal=agent_sales_01&outcome=deny").await;
    let log = browser.text().await;
    assert!(log.contains("guardrail:kill-switch"), "{log}");
    browser.check("decisions").await;
    browser.click(By::Css("tbody th a")).await;
    // The server signs a checkpoint covering it within a second.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut proof = browser.text().await;
    while proof.contains("NOT VERIFIED") && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(300)).await;
        browser.driver.refresh().await.unwrap();
        proof = browser.text().await;
    }
    assert!(proof.contains("VERIFIED") && !proof.contains("NOT VERIFIED"), "{proof}");
    browser.check("decision").await;
    browser.open("/console/operations").await;
    browser.check("operations").await;
    browser.open("/console/data").await;
    let datasets = browser.text().await;
    assert!(datasets.contains("AI_Data_Model_Registry"), "{datasets}");
    browser.check("data").await;
    browser.click(By::PartialLinkText("AI_Data_Model_Registry")).await;
    assert!(browser.text().await.contains("Schema changes"));
    browser.check("dataset").await;
    browser.open("/console/ledger").await;
    assert!(browser.text().await.contains("SIGNATURE VERIFIED"));
    browser.check("ledger").await;
    browser.open("/console/certification").await;
    assert!(browser.text().await.contains("Blockers"));
    browser.check("certification").await;

    // The operator may not resume (the policy lets owners and admins): refused with the reason.
    browser.open("/console/agents/agent_sales_01/resume").await;
    browser.click(By::Css("main form button")).await;
    let refused = browser.text().await;
    assert!(refused.contains("Refused") && refused.contains("default-deny"), "{refused}");
    browser.check("refused").await;
    browser.sign_out().await;

    // The owner resumes it: allowed again.
    browser.sign_in(&owner).await;
    browser.open("/console/agents/agent_sales_01/resume").await;
    browser.click(By::Css("main form button")).await;
    assert!(browser.text().await.contains("active"));
    assert_eq!(decide(&address, &agent), "allow");
    browser.sign_out().await;
    browser.check("signed-out").await;

    // A steward proposes a breaking schema change and sees its impact.
    browser.sign_in(&steward).await;
    browser.open("/console/data/AI_Data_Model_Registry").await;
    browser.check("dataset-steward").await;
    browser
        .driver
        .execute(
            "const t = document.getElementById('proposal'); const p = JSON.parse(t.value);\
             p.fields = p.fields.filter(f => f.name !== 'last_modified'); p.description = 'drop last_modified';\
             t.value = JSON.stringify(p, null, 2);",
            Vec::new(),
        )
        .await
        .unwrap();
    browser.click(By::Css("form[action$='/changes'] button")).await;
    assert!(browser.path().await.starts_with("/console/changes/CHG-"), "{}", browser.text().await);
    let impact = browser.text().await;
    assert!(
        impact.contains("(breaking)")
            && impact.contains("AI_Model_Change_Log")
            && impact.contains("AI_Agent_Identity_Ops"),
        "{impact}"
    );
    browser.check("change-impact").await;
    // Promotion is refused with every unmet gate listed.
    browser.open("/console/data/AI_Data_Model_Registry").await;
    browser.click(By::Css("form[action$='/promote'] button")).await;
    let refused = browser.text().await;
    assert!(refused.contains("promotion of AI_Data_Model_Registry to STAGE"), "{refused}");
    browser.check("promotion-refused").await;
    browser.sign_out().await;

    // The operation's requester may not approve it (separation of duties);
    // another approver does.
    let page_of = format!("/console/operations/{operation}");
    browser.sign_in(&requester).await;
    browser.open(&page_of).await;
    browser.check("operation").await;
    browser.click(By::Css("form[action$='/approve'] button")).await;
    let own = browser.text().await;
    assert!(own.contains("Refused") && own.contains("guardrail:separation-of-duties"), "{own}");
    browser.sign_out().await;
    browser.sign_in(&approver).await;
    browser.open(&page_of).await;
    browser.click(By::Css("form[action$='/approve'] button")).await;
    assert_eq!(browser.path().await, page_of);
    assert!(browser.text().await.contains("ops_governance_lead at"), "{}", browser.text().await);
    browser.check("operation-approved").await;

    // A post without the session's CSRF token is refused, and changes nothing.
    browser
        .driver
        .execute(
            "const f = document.createElement('form'); f.method = 'post';\
             f.action = '/console/agents/agent_sales_01/pause'; document.body.appendChild(f); f.submit();",
            Vec::new(),
        )
        .await
        .unwrap();
    wait_for_path(&browser, "/console/agents/agent_sales_01/pause").await;
    let refused = browser.text().await;
    assert!(refused.contains("CSRF") || refused.contains("form"), "{refused}");
    assert_eq!(decide(&address, &agent), "allow", "a CSRF-less post paused the agent");
    browser.sign_out().await;

    // An auditor sees the agent and no action.
    browser.sign_in(&auditor).await;
    browser.open("/console/agents/agent_sales_01").await;
    let page = browser.text().await;
    assert!(page.contains("agent_sales_01") && !page.contains("Pause this agent"), "{page}");
    browser.check("auditor-agent").await;
    // A forged pause, with the session's own CSRF token: the server refuses the role.
    browser
        .driver
        .execute(
            "const f = document.createElement('form'); f.method = 'post';\
             f.action = '/console/agents/agent_sales_01/pause';\
             const c = document.createElement('input'); c.type = 'hidden'; c.name = 'csrf';\
             c.value = document.querySelector('form.who input[name=csrf]').value;\
             f.appendChild(c); document.body.appendChild(f); f.submit();",
            Vec::new(),
        )
        .await
        .unwrap();
    wait_for_path(&browser, "/console/agents/agent_sales_01/pause").await;
    let refused = browser.text().await;
    assert!(refused.contains("Refused") && refused.contains("auditor"), "{refused}");
    assert_eq!(decide(&address, &agent), "allow", "an auditor's forged post paused the agent");
    browser.check("auditor-forged").await;
    browser.sign_out().await;
    // Signed out, the console sends the browser to sign in.
    browser.open("/console/agents").await;
    assert_eq!(browser.path().await, "/console/sign-in");

    // A session past its lifetime: the page says so and asks to sign in again.
    browser.sign_in(&operator).await;
    let cookie = browser.driver.get_named_cookie("charter_session").await.unwrap();
    let secret = cookie.value.clone();
    expire_session(&data, &secret).await;
    browser.open("/console/agents").await;
    let expired = browser.text().await;
    assert!(expired.contains("expired"), "{expired}");
    browser.check("expired").await;
    browser.driver.quit().await.unwrap();
}
