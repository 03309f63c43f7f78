//! The web console through the real router (no socket), on SQLite and
//! PostgreSQL: signing in exchanges a token for a session cookie; pages
//! carry strict security headers; forms without the session's CSRF token,
//! or from a role that may not act, are refused by the server; the kill
//! switch flips the agent's decisions; sessions expire and sign out.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use charter_app::{App, Caller, ImportSource};
use charter_model::{Role, Timestamp, WorkspaceName};
use charter_server::{Limits, router};
use charter_store::testing::each_backend;
use http_body_util::BodyExt;
use tower::ServiceExt;

/// A clock the test moves.
#[derive(Debug)]
struct Manual(Mutex<Timestamp>);

impl charter_app::Clock for Manual {
    fn now(&self) -> Timestamp {
        *self.0.lock().unwrap()
    }
}

struct Console {
    router: Router,
    app: App,
    clock: Arc<Manual>,
}

struct Page {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

impl Page {
    fn location(&self) -> &str {
        self.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }

    /// The CSRF token the page's forms carry.
    fn csrf(&self) -> String {
        let at = self.body.find("name=\"csrf\" value=\"").expect("a form with a CSRF token") + 19;
        self.body[at..].split('"').next().unwrap().to_owned()
    }
}

async fn setup(store: charter_store::Store) -> Console {
    setup_signing_every(store, std::time::Duration::ZERO).await
}

/// A console whose commits sign a checkpoint at most every `interval`
/// (later ones wait for `checkpoint_pending`).
async fn setup_signing_every(store: charter_store::Store, interval: std::time::Duration) -> Console {
    let clock = Arc::new(Manual(Mutex::new("2026-12-07T09:00:00Z".parse().unwrap())));
    let signer = charter_ledger::NoteSigner::from_seed("charter-test", [5; 32]).unwrap();
    let settings = charter_app::ledger::LedgerSettings {
        signer: Some(Arc::new(signer)),
        min_interval: interval,
        ..Default::default()
    };
    let app = App::with_clock(store, clock.clone()).with_ledger(settings);
    let local = Caller::local("setup");
    let ops = WorkspaceName::new("ops").unwrap();
    let examples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/ops-workspace");
    app.import(&local, &ops, ImportSource::from_dir(&examples).unwrap(), true).await.unwrap();
    Console { router: router(app.clone(), Limits::default()), app, clock }
}

impl Console {
    async fn token(&self, role: Role, holder: &str) -> String {
        let ops = WorkspaceName::new("ops").unwrap();
        self.app.create_token(&Caller::local("setup"), &ops, role, holder).await.unwrap().secret
    }

    async fn send(&self, method: Method, uri: &str, cookie: Option<&str>, form: Option<&str>) -> Page {
        let mut request = Request::builder().method(method).uri(uri).header(header::HOST, "console.test");
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        if form.is_some() {
            request = request
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::ORIGIN, "http://console.test");
        }
        let request = request.body(form.map_or_else(Body::empty, |f| Body::from(f.to_owned()))).unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let (status, headers) = (response.status(), response.headers().clone());
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        Page { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() }
    }

    /// Signs in with `token`; the cookie to send.
    async fn sign_in(&self, token: &str) -> String {
        let page = self.send(Method::POST, "/console/sign-in", None, Some(&format!("token={token}"))).await;
        assert_eq!((page.status, page.location()), (StatusCode::SEE_OTHER, "/console"), "{}", page.body);
        let set = page.headers.get(header::SET_COOKIE).unwrap().to_str().unwrap().to_owned();
        for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=28800"] {
            assert!(set.contains(attribute), "{set}");
        }
        assert!(!set.contains(token), "the token itself is never the cookie");
        set.split(';').next().unwrap().to_owned()
    }
}

#[tokio::test]
async fn signing_in_gives_a_session_cookie_and_pages_with_strict_headers() {
    each_backend(|store| async move {
        let console = setup(store).await;
        // Without a session every page sends the browser to sign in.
        let page = console.send(Method::GET, "/console", None, None).await;
        assert_eq!((page.status, page.location()), (StatusCode::SEE_OTHER, "/console/sign-in"));
        let root = console.send(Method::GET, "/", None, None).await;
        assert_eq!(root.location(), "/console");
        let sign_in = console.send(Method::GET, "/console/sign-in", None, None).await;
        assert_eq!(sign_in.status, StatusCode::OK);
        assert!(sign_in.body.contains("<label for=\"token\">API token</label>"));
        let csp = sign_in.headers.get(header::CONTENT_SECURITY_POLICY).unwrap().to_str().unwrap();
        assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(!csp.contains("script-src"), "no script at all: {csp}");
        assert_eq!(sign_in.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(sign_in.headers[header::REFERRER_POLICY], "same-origin");

        // A wrong token is refused; a sign-in posted from another site too.
        let wrong = console.send(Method::POST, "/console/sign-in", None, Some("token=charter_nope")).await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
        assert!(wrong.body.contains("not a live Charter token"));
        let token = console.token(Role::Steward, "ops_governance_lead").await;
        let request = Request::builder()
            .method(Method::POST)
            .uri("/console/sign-in")
            .header(header::HOST, "console.test")
            .header(header::ORIGIN, "https://evil.example")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("token={token}")))
            .unwrap();
        let cross = console.router.clone().oneshot(request).await.unwrap();
        assert_eq!(cross.status(), StatusCode::FORBIDDEN);
        assert!(cross.headers().get(header::SET_COOKIE).is_none());
        // A browser says where a post comes from, whatever its Origin says.
        let request = Request::builder()
            .method(Method::POST)
            .uri("/console/sign-in")
            .header(header::HOST, "console.test")
            .header("sec-fetch-site", "cross-site")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("token={token}")))
            .unwrap();
        let cross = console.router.clone().oneshot(request).await.unwrap();
        assert_eq!(cross.status(), StatusCode::FORBIDDEN);

        // Signed in: the overview, with the governance check and the ledger.
        let cookie = console.sign_in(&token).await;
        let overview = console.send(Method::GET, "/console", Some(&cookie), None).await;
        assert_eq!(overview.status, StatusCode::OK, "{}", overview.body);
        assert!(overview.body.contains("Governance check"), "{}", overview.body);
        assert!(overview.body.contains("ops_governance_lead · steward · workspace <strong>ops</strong>"));
        assert!(overview.body.contains("Open RAIDA items"));
        let agents = console.send(Method::GET, "/console/agents?status=active", Some(&cookie), None).await;
        assert!(agents.body.contains("agent_sales_01"), "{}", agents.body);
        let bad = console.send(Method::GET, "/console/agents?status=sleeping", Some(&cookie), None).await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert!(bad.body.contains("&quot;sleeping&quot; is not an agent status"), "{}", bad.body);
    })
    .await;
}

#[tokio::test]
async fn the_kill_switch_needs_the_csrf_token_and_a_role_that_may_use_it() {
    each_backend(|store| async move {
        let console = setup(store).await;
        let ops = WorkspaceName::new("ops").unwrap();
        let operator = console.sign_in(&console.token(Role::Operator, "ops_on_call").await).await;
        let agent = console.send(Method::GET, "/console/agents/agent_sales_01", Some(&operator), None).await;
        assert!(agent.body.contains("Pause this agent"), "{}", agent.body);
        let confirm =
            console.send(Method::GET, "/console/agents/agent_sales_01/pause", Some(&operator), None).await;
        let csrf = confirm.csrf();

        // Without the CSRF token, or with another, nothing changes.
        for form in ["", "csrf=0123456789abcdef0123456789abcdef"] {
            let forged = console
                .send(Method::POST, "/console/agents/agent_sales_01/pause", Some(&operator), Some(form))
                .await;
            assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);
            assert!(forged.body.contains("CSRF token"));
        }
        let local = Caller::local("t");
        let status = || async {
            let view =
                console.app.get_record(&local, &ops, charter_model::RecordKind::Agent, "agent_sales_01");
            view.await.unwrap().record.to_json_value()["status"].clone()
        };
        assert_eq!(status().await, "active");

        // With it, the agent is paused and its decisions flip to deny.
        let paused = console
            .send(
                Method::POST,
                "/console/agents/agent_sales_01/pause",
                Some(&operator),
                Some(&format!("csrf={csrf}")),
            )
            .await;
        assert_eq!(
            (paused.status, paused.location()),
            (StatusCode::SEE_OTHER, "/console/agents/agent_sales_01")
        );
        assert_eq!(status().await, "paused");
        // A kill-switch pause opens an incident: the incidents page lists it.
        let incidents = console.send(Method::GET, "/console/incidents", Some(&operator), None).await;
        assert_eq!(incidents.status, StatusCode::OK, "{}", incidents.body);
        assert!(incidents.body.contains("agent agent_sales_01 paused (kill switch)"), "{}", incidents.body);
        for page in ["/console/alerts", "/console/runs"] {
            let list = console.send(Method::GET, page, Some(&operator), None).await;
            assert_eq!(list.status, StatusCode::OK, "{page}: {}", list.body);
        }

        // An auditor is offered no switch, and a forged post with a valid
        // CSRF token of its own session is refused by the use case.
        let auditor = console.sign_in(&console.token(Role::Auditor, "internal_audit").await).await;
        let seen = console.send(Method::GET, "/console/agents/agent_sales_01", Some(&auditor), None).await;
        assert_eq!(seen.status, StatusCode::OK);
        assert!(!seen.body.contains("Resume this agent") && !seen.body.contains("Pause this agent"));
        let own = console.send(Method::GET, "/console", Some(&auditor), None).await.csrf();
        let forged = console
            .send(
                Method::POST,
                "/console/agents/agent_sales_01/resume",
                Some(&auditor),
                Some(&format!("csrf={own}")),
            )
            .await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);
        assert!(forged.body.contains("Refused"));
        assert_eq!(status().await, "paused");
    })
    .await;
}

#[tokio::test]
async fn sessions_expire_and_sign_out_and_both_are_in_the_ledger() {
    each_backend(|store| async move {
        let console = setup(store).await;
        let ops = WorkspaceName::new("ops").unwrap();
        let cookie = console.sign_in(&console.token(Role::Auditor, "internal_audit").await).await;
        assert_eq!(console.send(Method::GET, "/console", Some(&cookie), None).await.status, StatusCode::OK);

        // Eight hours later the session has expired: a clear page, the cookie cleared.
        *console.clock.0.lock().unwrap() = "2026-12-07T17:00:01Z".parse().unwrap();
        let expired = console.send(Method::GET, "/console", Some(&cookie), None).await;
        assert_eq!(expired.status, StatusCode::UNAUTHORIZED);
        assert!(expired.body.contains("Your session has expired"), "{}", expired.body);
        assert!(expired.headers[header::SET_COOKIE].to_str().unwrap().contains("Max-Age=0"));

        // A new session signs out: the cookie no longer opens anything, and
        // a sign-out without the CSRF token is refused.
        let cookie = console.sign_in(&console.token(Role::Auditor, "internal_audit").await).await;
        let overview = console.send(Method::GET, "/console", Some(&cookie), None).await;
        let refused = console.send(Method::POST, "/console/sign-out", Some(&cookie), Some("csrf=")).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        let out = console
            .send(
                Method::POST,
                "/console/sign-out",
                Some(&cookie),
                Some(&format!("csrf={}", overview.csrf())),
            )
            .await;
        assert_eq!(out.status, StatusCode::OK);
        assert!(out.body.contains("Signed out"));
        let after = console.send(Method::GET, "/console", Some(&cookie), None).await;
        assert_eq!(after.location(), "/console/sign-in");

        // Revoking the token ends its sessions.
        let token = console.token(Role::Auditor, "internal_audit").await;
        let cookie = console.sign_in(&token).await;
        let id = console.app.authenticate(&token).await.unwrap().map(|caller| match caller {
            Caller::Token { token_id, .. } => token_id,
            Caller::Local { .. } => unreachable!(),
        });
        console.app.revoke_token(&Caller::local("setup"), &ops, &id.unwrap()).await.unwrap();
        let after = console.send(Method::GET, "/console", Some(&cookie), None).await;
        assert_eq!(after.location(), "/console/sign-in");

        // Sign-ins and the sign-out are ledger entries, without any secret.
        let filter = charter_store::EventFilter { kind: Some("session".into()), ..Default::default() };
        let events = console.app.audit_log(&Caller::local("t"), &ops, &filter, 0, 100).await.unwrap();
        let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["sign_in", "sign_in", "sign_out", "sign_in"]);
        assert!(events.iter().all(|e| !e.body.contains("charter_session_")));
    })
    .await;
}

#[tokio::test]
async fn an_approver_approves_in_the_console_and_the_requester_is_refused_with_the_reason() {
    each_backend(|store| async move {
        let console = setup(store).await;
        let ops = WorkspaceName::new("ops").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let site = dir.path().canonicalize().unwrap().join("site");
        std::fs::create_dir_all(&site).unwrap();
        let text = format!(
            "OPERATION_NAME: raise a limit\nOBJECTIVE: o\nRISK_CLASS: LOW_RISK_CONFIG\nBLAST_RADIUS: one file\n\
             ROLLBACK_STRATEGY: snapshot\nALLOWED_PATHS: ['{site}']\nALLOWED_SERVICES: []\nREQUESTED_BY: vp_finance\n\
             STEPS:\n  - name: write\n    command: 'true'\n    touches: ['{site}/app.conf']\n    verify: ['true']\n    rollback: 'true'\n",
            site = site.display()
        );
        // Tier 3 (FILESYSTEM_WRITE) needs an approval after a passing dry
        // run; commands run here without the Landlock launcher, which the
        // admin accepts for this workspace.
        let admin = Caller::local("ops_governance_lead");
        let settings = charter_model::RecordKind::OpsSettings
            .parse_json(r#"{"settings_id":"default","detection_only":true}"#)
            .unwrap();
        console.app.create_record(&admin, &ops, settings).await.unwrap();
        let text = text.replace("LOW_RISK_CONFIG", "FILESYSTEM_WRITE");
        let declared = console.app.declare_operation(&Caller::local("vp_finance"), &ops, &text).await.unwrap();
        let page_of = format!("/console/operations/{}", declared.id);
        let options = charter_app::RunOptions {
            dry_run: true,
            snapshot_dir: dir.path().join("snapshots"),
            rules: None,
            sandbox: None,
        };
        let dry = console.app.run_operation(&Caller::local("ops_on_call"), &ops, &declared.id, options).await.unwrap();
        assert_eq!(dry.run.outcome, Some(charter_model::operation::RunOutcome::Success));

        // The requester, an approver, sees it and may not approve it.
        let requester = console.sign_in(&console.token(Role::Approver, "vp_finance").await).await;
        let list = console.send(Method::GET, "/console/operations", Some(&requester), None).await;
        assert!(list.body.contains(&declared.id), "{}", list.body);
        let page = console.send(Method::GET, &page_of, Some(&requester), None).await;
        assert!(page.body.contains("raise a limit") && page.body.contains("Approve this plan"), "{}", page.body);
        let own = console
            .send(Method::POST, &format!("{page_of}/approve"), Some(&requester), Some(&format!("csrf={}", page.csrf())))
            .await;
        assert_eq!(own.status, StatusCode::FORBIDDEN, "{}", own.body);
        assert!(own.body.contains("guardrail:separation-of-duties"), "{}", own.body);

        // Another approver approves the plan.
        let lead = console.sign_in(&console.token(Role::Approver, "ops_governance_lead").await).await;
        let page = console.send(Method::GET, &page_of, Some(&lead), None).await;
        let approved = console
            .send(Method::POST, &format!("{page_of}/approve"), Some(&lead), Some(&format!("csrf={}", page.csrf())))
            .await;
        assert_eq!((approved.status, approved.location()), (StatusCode::SEE_OTHER, page_of.as_str()), "{}", approved.body);
        let after = console.send(Method::GET, &page_of, Some(&lead), None).await;
        assert!(after.body.contains("Approved") && after.body.contains("ops_governance_lead at"), "{}", after.body);
        // An operator is not offered the approval and cannot reject.
        let operator = console.sign_in(&console.token(Role::Operator, "ops_on_call").await).await;
        let page = console.send(Method::GET, &page_of, Some(&operator), None).await;
        assert!(!page.body.contains("Approve this plan"));
        let csrf = console.send(Method::GET, "/console", Some(&operator), None).await.csrf();
        let reject = console
            .send(Method::POST, &format!("{page_of}/reject"), Some(&operator), Some(&format!("csrf={csrf}&reason=no")))
            .await;
        assert_eq!(reject.status, StatusCode::FORBIDDEN, "{}", reject.body);
    })
    .await;
}

#[tokio::test]
async fn the_decision_log_is_searched_and_a_decision_shows_its_verified_inclusion_proof() {
    each_backend(|store| async move {
        let console = setup_signing_every(store, std::time::Duration::from_secs(3_600)).await;
        let ops = WorkspaceName::new("ops").unwrap();
        let request = |tool: &str| charter_policy::DecisionRequest {
            principal: charter_policy::EntityRef { entity_type: "Agent".into(), id: "agent_sales_01".into() },
            action: "invoke_tool".into(),
            resource: charter_policy::EntityRef { entity_type: "Tool".into(), id: tool.into() },
            context: serde_json::Map::new(),
        };
        // The sales agent may use its CRM and not the ERP.
        let answers = console
            .app
            .decide(&Caller::local("setup"), &ops, &[request("crm_salesforce"), request("erp_netsuite")])
            .await
            .unwrap();
        *console.clock.0.lock().unwrap() = "2026-12-07T11:00:00Z".parse().unwrap();
        console.app.checkpoint_pending().await.unwrap();
        let denied = answers.iter().find(|a| a.decision == charter_policy::Effect::Deny).unwrap();
        let denied_id = denied.decision_id.clone().unwrap();

        let auditor = console.sign_in(&console.token(Role::Auditor, "internal_audit").await).await;
        let all = console.send(Method::GET, "/console/decisions", Some(&auditor), None).await;
        assert_eq!(all.status, StatusCode::OK, "{}", all.body);
        let deny = console
            .send(
                Method::GET,
                "/console/decisions?principal=agent_sales_01&outcome=deny",
                Some(&auditor),
                None,
            )
            .await;
        assert!(deny.body.contains(&denied_id) && !deny.body.contains("status green"), "{}", deny.body);
        let none =
            console.send(Method::GET, "/console/decisions?resource=nothing_here", Some(&auditor), None).await;
        assert!(none.body.contains("No decision matches."));
        let bad = console.send(Method::GET, "/console/decisions?since=yesterday", Some(&auditor), None).await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert!(bad.body.contains("since: &quot;yesterday&quot; is neither a date"), "{}", bad.body);

        let page =
            console.send(Method::GET, &format!("/console/decisions/{denied_id}"), Some(&auditor), None).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(page.body.contains("VERIFIED") && !page.body.contains("NOT VERIFIED"), "{}", page.body);
        assert!(page.body.contains("erp_netsuite"));
        // A decision no signed checkpoint covers yet says so.
        let later =
            console.app.decide(&Caller::local("setup"), &ops, &[request("crm_salesforce")]).await.unwrap();
        let later = later[0].decision_id.clone().unwrap();
        let page =
            console.send(Method::GET, &format!("/console/decisions/{later}"), Some(&auditor), None).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(
            page.body.contains("NOT VERIFIED") && page.body.contains("no signed checkpoint covers it yet")
        );
        let missing = console.send(Method::GET, "/console/decisions/DEC-999999", Some(&auditor), None).await;
        assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", missing.body);

        // The ledger: the checkpoint's signature checked, the key, the entries.
        let ledger = console.send(Method::GET, "/console/ledger", Some(&auditor), None).await;
        assert_eq!(ledger.status, StatusCode::OK, "{}", ledger.body);
        assert!(
            ledger.body.contains("SIGNATURE VERIFIED") && ledger.body.contains("charter-test+"),
            "{}",
            ledger.body
        );
        assert!(ledger.body.contains("Older entries"));
        // The certification, computed now: the example is RED, its blockers named.
        let certification = console.send(Method::GET, "/console/certification", Some(&auditor), None).await;
        assert_eq!(certification.status, StatusCode::OK, "{}", certification.body);
        assert!(
            certification.body.contains("RED") && certification.body.contains("OC-B1"),
            "{}",
            certification.body
        );
    })
    .await;
}

#[tokio::test]
async fn the_data_pages_show_a_schema_change_with_its_impact() {
    each_backend(|store| async move {
        let console = setup(store).await;
        let ops = WorkspaceName::new("ops").unwrap();
        let steward = Caller::local("data_model_steward");
        let view = console
            .app
            .get_record(&steward, &ops, charter_model::RecordKind::Dataset, "AI_Data_Model_Registry")
            .await
            .unwrap();
        let charter_model::Record::Dataset(dataset) = view.record else { panic!("a dataset") };
        let mut fields = dataset.fields.clone();
        for field in &mut fields {
            if field.name == "dataset_id" {
                field.name = "registry_id".into();
            }
        }
        let proposal = charter_data::Proposal {
            fields,
            rules: None,
            dependencies: None,
            relationships: None,
            renamed: [("dataset_id".to_owned(), "registry_id".to_owned())].into(),
            description: Some("rename the key".into()),
        };
        let proposed = console
            .app
            .propose_schema_change(&steward, &ops, "AI_Data_Model_Registry", proposal)
            .await
            .unwrap();
        let id = proposed.change.change_id.to_string();

        let auditor = console.sign_in(&console.token(Role::Auditor, "internal_audit").await).await;
        let data = console.send(Method::GET, "/console/data", Some(&auditor), None).await;
        assert_eq!(data.status, StatusCode::OK, "{}", data.body);
        assert!(data.body.contains(&id) && data.body.contains("AI_Data_Model_Registry"), "{}", data.body);
        let page =
            console.send(Method::GET, "/console/data/AI_Data_Model_Registry", Some(&auditor), None).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(page.body.contains(&id) && page.body.contains("(breaking)"), "{}", page.body);
        assert!(page.body.contains("Downstream datasets:") || page.body.contains("Agents:"), "{}", page.body);
        let missing = console.send(Method::GET, "/console/data/nothing", Some(&auditor), None).await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
    })
    .await;
}

#[tokio::test]
async fn the_portfolio_table_scores_every_agent_and_an_agent_page_shows_its_charts_and_dependencies() {
    each_backend(|store| async move {
        let console = setup(store).await;
        let auditor = console.sign_in(&console.token(Role::Auditor, "internal_audit").await).await;
        let table = console.send(Method::GET, "/console/agents", Some(&auditor), None).await;
        assert_eq!(table.status, StatusCode::OK, "{}", table.body);
        assert!(
            table.body.contains("riskiest first") && table.body.contains("Value leakage"),
            "{}",
            table.body
        );
        // Riskiest first: the finance agent's row comes before the sales agent's.
        let (finance, sales) =
            (table.body.find(">agent_finance_01<").unwrap(), table.body.find(">agent_sales_01<").unwrap());
        assert!(finance < sales, "riskiest first");
        // Every band is written in words, not only in colour.
        assert!(table.body.contains("<span class=\"status red\">red</span>"), "{}", table.body);
        let red = console.send(Method::GET, "/console/agents?band=red&sort=id", Some(&auditor), None).await;
        assert!(
            red.body.contains("agent_finance_01") && !red.body.contains("<span class=\"status green\">"),
            "{}",
            red.body
        );
        let bad = console.send(Method::GET, "/console/agents?band=purple", Some(&auditor), None).await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert!(bad.body.contains("band: &quot;purple&quot; is not a risk band"), "{}", bad.body);

        // The agent page: score components, trends, charts, blast radius,
        // escalations; the auditor is offered no kill switch.
        let page = console.send(Method::GET, "/console/agents/agent_finance_01", Some(&auditor), None).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        for part in [
            "Escalations",
            "Trends over the agent",
            "Blast radius",
            "Recent decisions",
            "Grants",
            "charts/risk-over-time.svg",
        ] {
            assert!(page.body.contains(part), "{part}: {}", page.body);
        }
        assert!(!page.body.contains("Pause this agent"));
        let chart = console
            .send(
                Method::GET,
                "/console/agents/agent_finance_01/charts/risk-over-time.svg",
                Some(&auditor),
                None,
            )
            .await;
        assert_eq!(chart.status, StatusCode::OK);
        assert_eq!(chart.headers[header::CONTENT_TYPE], "image/svg+xml");
        assert!(
            chart.body.starts_with("<svg") && chart.body.contains("agent_finance_01"),
            "{}",
            &chart.body[..200.min(chart.body.len())]
        );
        let none = console
            .send(Method::GET, "/console/agents/agent_finance_01/charts/x.svg", Some(&auditor), None)
            .await;
        assert_eq!(none.status, StatusCode::NOT_FOUND);

        // Scores follow the records: a retired agent shows as retired at once.
        let admin = Caller::local("ops_governance_lead");
        let ops = WorkspaceName::new("ops").unwrap();
        console
            .app
            .set_agent_status(&admin, &ops, "agent_sales_01", charter_model::AgentStatus::Retired)
            .await
            .unwrap();
        let retired = console.send(Method::GET, "/console/agents?status=retired", Some(&auditor), None).await;
        assert!(retired.body.contains("agent_sales_01") && retired.body.contains("1 of"), "{}", retired.body);
    })
    .await;
}

#[tokio::test]
async fn a_steward_proposes_a_schema_change_and_sees_its_impact_and_a_refused_promotion_lists_its_gates() {
    each_backend(|store| async move {
        let console = setup(store).await;
        let steward = console.sign_in(&console.token(Role::Steward, "data_model_steward").await).await;
        let page =
            console.send(Method::GET, "/console/data/AI_Data_Model_Registry", Some(&steward), None).await;
        assert!(
            page.body.contains("Propose a schema change") && page.body.contains("Promote to STAGE"),
            "{}",
            page.body
        );
        let csrf = page.csrf();
        let dataset = console
            .app
            .dataset(&Caller::local("setup"), &WorkspaceName::new("ops").unwrap(), "AI_Data_Model_Registry")
            .await
            .unwrap();
        let fields: Vec<_> = dataset.fields.iter().filter(|f| f.name != "last_modified").collect();
        let proposal =
            serde_json::json!({ "fields": fields, "description": "drop last_modified" }).to_string();
        let form = format!("csrf={csrf}&proposal={}", urlencode(&proposal));
        let proposed = console
            .send(Method::POST, "/console/data/AI_Data_Model_Registry/changes", Some(&steward), Some(&form))
            .await;
        assert_eq!(proposed.status, StatusCode::SEE_OTHER, "{}", proposed.body);
        assert!(
            proposed.location().starts_with("/console/changes/CHG-2026-12-07-"),
            "{}",
            proposed.location()
        );
        let change = console.send(Method::GET, proposed.location(), Some(&steward), None).await;
        for part in
            ["(breaking)", "last_modified", "AI_Model_Change_Log", "AI_Agent_Identity_Ops", "Owners notified"]
        {
            assert!(change.body.contains(part), "{part}: {}", change.body);
        }
        // A proposal that is not JSON names what is wrong, and logs nothing.
        let bad = console
            .send(
                Method::POST,
                "/console/data/AI_Data_Model_Registry/changes",
                Some(&steward),
                Some(&format!("csrf={csrf}&proposal=%7B%22fields%22%3A1%7D")),
            )
            .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.body.contains("proposal: invalid type: integer `1`"), "{}", bad.body);
        // Without the CSRF token nothing is proposed.
        let forged = console
            .send(
                Method::POST,
                "/console/data/AI_Data_Model_Registry/changes",
                Some(&steward),
                Some(&format!("proposal={}", urlencode(&proposal))),
            )
            .await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN);
        let changes = console
            .app
            .list_changes(
                &Caller::local("setup"),
                &WorkspaceName::new("ops").unwrap(),
                Some("AI_Data_Model_Registry"),
            )
            .await
            .unwrap();
        assert_eq!(changes.iter().filter(|c| c.change_id.as_str().starts_with("CHG-2026-12-07-")).count(), 1);

        // Promotion is refused while gates are unmet, each one listed.
        let refused = console
            .send(
                Method::POST,
                "/console/data/AI_Data_Model_Registry/promote",
                Some(&steward),
                Some(&format!("csrf={csrf}&to=STAGE")),
            )
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
        assert!(
            refused.body.contains("promotion of AI_Data_Model_Registry to STAGE")
                && refused.body.matches("<li>").count() >= 1,
            "{}",
            refused.body
        );
        // An operator is offered neither form, and the server refuses it regardless.
        let operator = console.sign_in(&console.token(Role::Operator, "ops_on_call").await).await;
        let page =
            console.send(Method::GET, "/console/data/AI_Data_Model_Registry", Some(&operator), None).await;
        assert!(
            !page.body.contains("Propose a schema change") && !page.body.contains("Promote to"),
            "{}",
            page.body
        );
        let csrf = console.send(Method::GET, "/console", Some(&operator), None).await.csrf();
        let forged = console
            .send(
                Method::POST,
                "/console/data/AI_Data_Model_Registry/changes",
                Some(&operator),
                Some(&format!("csrf={csrf}&proposal={}", urlencode(&proposal))),
            )
            .await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);
    })
    .await;
}

#[tokio::test]
async fn an_incident_commander_moves_an_incident_on_and_an_auditor_cannot() {
    each_backend(|store| async move {
        let console = setup(store).await;
        let ops = WorkspaceName::new("ops").unwrap();
        let admin = Caller::local("ops_governance_lead");
        console
            .app
            .set_agent_status(&admin, &ops, "agent_sales_01", charter_model::AgentStatus::Paused)
            .await
            .unwrap();
        let incident = console.app.incidents(&admin, &ops, true).await.unwrap().remove(0);
        let page_of = format!("/console/incidents/{}", incident.incident_id);

        let auditor = console.sign_in(&console.token(Role::Auditor, "internal_audit").await).await;
        let page = console.send(Method::GET, &page_of, Some(&auditor), None).await;
        assert!(page.body.contains("Open") && !page.body.contains("Acknowledge</button>"), "{}", page.body);
        let csrf = console.send(Method::GET, "/console", Some(&auditor), None).await.csrf();
        let forged = console
            .send(
                Method::POST,
                &format!("{page_of}/acknowledge"),
                Some(&auditor),
                Some(&format!("csrf={csrf}")),
            )
            .await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);

        let commander = console.sign_in(&console.token(Role::IncidentCommander, "ops_on_call").await).await;
        let page = console.send(Method::GET, &page_of, Some(&commander), None).await;
        assert!(page.body.contains("Acknowledge</button>"), "{}", page.body);
        let without = console
            .send(Method::POST, &format!("{page_of}/acknowledge"), Some(&commander), Some("note=x"))
            .await;
        assert_eq!(without.status, StatusCode::FORBIDDEN);
        let moved = console
            .send(
                Method::POST,
                &format!("{page_of}/acknowledge"),
                Some(&commander),
                Some(&format!("csrf={}&note=on+it", page.csrf())),
            )
            .await;
        assert_eq!(
            (moved.status, moved.location()),
            (StatusCode::SEE_OTHER, page_of.as_str()),
            "{}",
            moved.body
        );
        let after = console.send(Method::GET, &page_of, Some(&commander), None).await;
        assert!(
            after.body.contains("Acknowledged: on it") && after.body.contains("Mark mitigated</button>"),
            "{}",
            after.body
        );
        // A step out of order is refused with the reason.
        let skipped = console
            .send(
                Method::POST,
                &format!("{page_of}/resolve"),
                Some(&commander),
                Some(&format!("csrf={}", page.csrf())),
            )
            .await;
        assert_eq!(skipped.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(skipped.body.contains("it moves to Resolved from Mitigated"), "{}", skipped.body);
    })
    .await;
}

/// `text` percent-encoded for a form body.
fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
