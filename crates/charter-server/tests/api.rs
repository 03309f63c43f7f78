//! The HTTP API through the real router (no socket), on SQLite and
//! PostgreSQL: probes, the OpenAPI document, the authentication and role
//! matrix, and bad requests.

use std::path::PathBuf;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use charter_app::{App, Caller, ImportSource};
use charter_model::{Role, WorkspaceName};
use charter_server::{Limits, router};
use charter_store::Store;
use charter_store::testing::each_backend;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

struct Api {
    router: Router,
    tokens: Tokens,
}

struct Tokens {
    admin: String,
    owner: String,
    auditor: String,
    approver: String,
    other_workspace: String,
}

fn signer() -> charter_ledger::NoteSigner {
    charter_ledger::NoteSigner::from_seed("charter-test", [3; 32]).unwrap()
}

async fn setup(store: Store) -> Api {
    let settings = charter_app::ledger::LedgerSettings {
        signer: Some(std::sync::Arc::new(signer())),
        ..charter_app::ledger::LedgerSettings::default()
    };
    let app = App::new(store).with_ledger(settings);
    let local = Caller::local("setup");
    let ops = WorkspaceName::new("ops").unwrap();
    let examples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/ops-workspace");
    app.import(&local, &ops, ImportSource::from_dir(&examples).unwrap(), true).await.unwrap();
    let other = WorkspaceName::new("other").unwrap();
    app.create_workspace(&local, &other).await.unwrap();
    // Each token is held by a person the example registers.
    let token = |workspace: WorkspaceName, role: Role, holder: &'static str| {
        let app = app.clone();
        let local = local.clone();
        async move { app.create_token(&local, &workspace, role, holder).await.unwrap().secret }
    };
    let tokens = Tokens {
        admin: token(ops.clone(), Role::Admin, "ops_governance_lead").await,
        owner: token(ops.clone(), Role::Owner, "revenue_ops_lead").await,
        auditor: token(ops.clone(), Role::Auditor, "internal_audit").await,
        approver: token(ops.clone(), Role::Approver, "vp_finance").await,
        other_workspace: token(other, Role::Admin, "setup").await,
    };
    Api { router: router(app, Limits { body_bytes: 64 * 1024, ..Limits::default() }), tokens }
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Value,
}

impl Api {
    async fn call(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: Option<&str>,
        extra: &[(&str, &str)],
    ) -> Answer {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        for (name, value) in extra {
            request = request.header(*name, *value);
        }
        let request = request
            .header(header::CONTENT_TYPE, "application/json")
            .body(body.map_or_else(Body::empty, |b| Body::from(b.to_owned())))
            .unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        Answer { status, headers, body }
    }
}

impl Api {
    /// A steward token of the workspace `ops`.
    async fn steward(&self) -> String {
        let answer = self
            .call(
                Method::POST,
                "/v1/workspaces/ops/tokens",
                Some(&self.tokens.admin),
                Some(r#"{"role":"steward","name":"data_model_steward"}"#),
                &[],
            )
            .await;
        answer.body["token"].as_str().unwrap().to_owned()
    }
}

fn message(answer: &Answer) -> &str {
    answer.body["error"]["message"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn probes_and_openapi() {
    each_backend(|store| async move {
        let api = setup(store).await;
        let health = api.call(Method::GET, "/healthz", None, None, &[]).await;
        assert_eq!(health.status, StatusCode::OK);
        let ready = api.call(Method::GET, "/readyz", None, None, &[]).await;
        assert_eq!((ready.status, ready.body["status"].as_str()), (StatusCode::OK, Some("ready")));

        let doc = api.call(Method::GET, "/openapi.json", None, None, &[]).await;
        assert_eq!(doc.status, StatusCode::OK);
        let document = doc.body;
        assert!(document["openapi"].as_str().unwrap().starts_with("3."));
        for path in ["/v1/workspaces/{workspace}/agents", "/v1/workspaces/{workspace}/risk-signals/{id}"] {
            assert!(document["paths"][path].is_object(), "{path}");
        }
        assert_eq!(
            document["components"]["schemas"]["Agent"]["properties"]["criticality"]["oneOf"][0]["$ref"]
                .as_str()
                .map(|r| r.rsplit('/').next()),
            Some(Some("Criticality"))
        );
        // Every reference resolves.
        let text = document.to_string();
        for reference in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
            let name = reference.split('"').next().unwrap();
            assert!(document["components"]["schemas"][name].is_object(), "dangling $ref {name}");
        }
    })
    .await;
}

#[tokio::test]
async fn authentication_and_roles() {
    each_backend(|store| async move {
        let api = setup(store).await;
        let t = &api.tokens;
        let agents = "/v1/workspaces/ops/agents";

        let none = api.call(Method::GET, agents, None, None, &[]).await;
        assert_eq!(none.status, StatusCode::UNAUTHORIZED);
        assert_eq!(none.headers[header::WWW_AUTHENTICATE], "Bearer");
        let wrong = api.call(Method::GET, agents, Some("charter_deadbeef"), None, &[]).await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);

        let list = api.call(Method::GET, agents, Some(&t.auditor), None, &[]).await;
        assert_eq!(list.status, StatusCode::OK);
        assert_eq!(list.body["items"].as_array().unwrap().len(), 7);

        // Another workspace's token sees nothing, and cannot tell whether it exists.
        let foreign = api.call(Method::GET, agents, Some(&t.other_workspace), None, &[]).await;
        let missing = api.call(Method::GET, "/v1/workspaces/nowhere/agents", Some(&t.other_workspace), None, &[]).await;
        assert_eq!(foreign.status, StatusCode::NOT_FOUND);
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        assert_eq!(message(&foreign), "workspace \"ops\" not found");
        let one = api.call(Method::GET, "/v1/workspaces/ops/agents/agent_sales_01", Some(&t.other_workspace), None, &[]).await;
        assert_eq!(one.status, StatusCode::NOT_FOUND);

        let agent = r#"{"agent_id":"agent_hr_01","name":"HR Agent","status":"pilot","criticality":"low"}"#;
        let denied = api.call(Method::POST, agents, Some(&t.auditor), Some(agent), &[]).await;
        assert_eq!(denied.status, StatusCode::FORBIDDEN);
        let created = api.call(Method::POST, agents, Some(&t.owner), Some(agent), &[]).await;
        assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
        assert_eq!(created.headers[header::ETAG], "\"1\"");
        assert_eq!(created.headers[header::LOCATION], "/v1/workspaces/ops/agents/agent_hr_01");
        assert_eq!(created.body["record"]["status"], "pilot");

        let policy = r#"{"policy_id":"POL-HR-LEAVE","title":"Leave","purpose":"p.","rules":"1. r","owner":"o","status":"Active"}"#;
        let denied = api.call(Method::POST, "/v1/workspaces/ops/policies", Some(&t.owner), Some(policy), &[]).await;
        assert_eq!(denied.status, StatusCode::FORBIDDEN);
        let allowed = api.call(Method::POST, "/v1/workspaces/ops/policies", Some(&t.admin), Some(policy), &[]).await;
        assert_eq!(allowed.status, StatusCode::CREATED);

        let token = api
            .call(Method::POST, "/v1/workspaces/ops/tokens", Some(&t.owner), Some(r#"{"role":"admin","name":"x"}"#), &[])
            .await;
        assert_eq!(token.status, StatusCode::FORBIDDEN);
        let token = api
            .call(Method::POST, "/v1/workspaces/ops/tokens", Some(&t.admin), Some(r#"{"role":"operator","name":"ops_on_call"}"#), &[])
            .await;
        assert_eq!(token.status, StatusCode::CREATED);
        let secret = token.body["token"].as_str().unwrap().to_owned();
        let overview = api.call(Method::GET, "/v1/workspaces/ops", Some(&secret), None, &[]).await;
        assert_eq!(overview.status, StatusCode::OK);
        assert_eq!(overview.body["records"]["agent"], 8);
    })
    .await;
}

#[tokio::test]
async fn updates_need_the_current_version() {
    each_backend(|store| async move {
        let api = setup(store).await;
        let owner = api.tokens.owner.clone();
        let uri = "/v1/workspaces/ops/systems/crm_salesforce";
        let current = api.call(Method::GET, uri, Some(&owner), None, &[]).await;
        assert_eq!(current.headers[header::ETAG], "\"1\"");
        let body =
            r#"{"system_id":"crm_salesforce","type":"external_api","schema_version":"v4","uptime_30d":99.5}"#;

        let missing = api.call(Method::PUT, uri, Some(&owner), Some(body), &[]).await;
        assert_eq!(missing.status, StatusCode::PRECONDITION_REQUIRED);
        let updated = api.call(Method::PUT, uri, Some(&owner), Some(body), &[("if-match", "\"1\"")]).await;
        assert_eq!(updated.status, StatusCode::OK, "{:?}", updated.body);
        assert_eq!(updated.headers[header::ETAG], "\"2\"");
        let stale = api.call(Method::PUT, uri, Some(&owner), Some(body), &[("if-match", "\"1\"")]).await;
        assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
        assert_eq!(
            message(&stale),
            "system \"crm_salesforce\" was changed by someone else: expected version 1, current version is 2"
        );

        let other_id = r#"{"system_id":"erp","type":"x"}"#;
        let mismatch = api.call(Method::PUT, uri, Some(&owner), Some(other_id), &[("if-match", "2")]).await;
        assert_eq!(mismatch.status, StatusCode::UNPROCESSABLE_ENTITY);
    })
    .await;
}

#[tokio::test]
async fn bad_requests_are_answered_clearly() {
    each_backend(|store| async move {
        let api = setup(store).await;
        let owner = api.tokens.owner.clone();
        let agents = "/v1/workspaces/ops/agents";

        let malformed =
            api.call(Method::POST, agents, Some(&owner), Some("{\"agent_id\": \"agent_x_01\",,}"), &[]).await;
        assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            message(&malformed),
            "request body: line 1, column 27: malformed JSON: key must be a string"
        );

        let unknown = api
            .call(
                Method::POST,
                agents,
                Some(&owner),
                Some(r#"{"agent_id":"agent_x_01","name":"X","status":"urgent"}"#),
                &[],
            )
            .await;
        assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            message(&unknown),
            "request body: status: unknown value \"urgent\", expected one of active, pilot, paused, retired"
        );

        let rule = api
            .call(
                Method::POST,
                "/v1/workspaces/ops/systems",
                Some(&owner),
                Some(r#"{"system_id":"s","type":"x","uptime_30d":101}"#),
                &[],
            )
            .await;
        assert_eq!(rule.status, StatusCode::UNPROCESSABLE_ENTITY);

        let huge =
            format!(r#"{{"agent_id":"agent_x_01","name":"{}","status":"active"}}"#, "x".repeat(100 * 1024));
        let too_large = api.call(Method::POST, agents, Some(&owner), Some(&huge), &[]).await;
        assert_eq!(too_large.status, StatusCode::PAYLOAD_TOO_LARGE);

        let duplicate = api
            .call(
                Method::POST,
                agents,
                Some(&owner),
                Some(r#"{"agent_id":"agent_sales_01","name":"X","status":"active"}"#),
                &[],
            )
            .await;
        assert_eq!(duplicate.status, StatusCode::CONFLICT);

        let kind = api.call(Method::GET, "/v1/workspaces/ops/gadgets", Some(&owner), None, &[]).await;
        assert_eq!(kind.status, StatusCode::NOT_FOUND);
        assert!(message(&kind).starts_with("no record kind \"gadgets\"; expected one of teams, people"));
        let nothing = api.call(Method::GET, "/nope", None, None, &[]).await;
        assert_eq!(nothing.status, StatusCode::NOT_FOUND);

        let page =
            api.call(Method::GET, "/v1/workspaces/ops/snapshots?limit=5", Some(&owner), None, &[]).await;
        assert_eq!(page.body["items"].as_array().unwrap().len(), 5);
        let next = page.body["next_after"].as_str().unwrap().to_owned();
        let rest = api
            .call(
                Method::GET,
                &format!("/v1/workspaces/ops/snapshots?limit=100&after={next}"),
                Some(&owner),
                None,
                &[],
            )
            .await;
        assert_eq!(rest.body["items"].as_array().unwrap().len(), 7);
        assert!(rest.body.get("next_after").is_none());
        let bad_limit =
            api.call(Method::GET, "/v1/workspaces/ops/snapshots?limit=many", Some(&owner), None, &[]).await;
        assert_eq!(bad_limit.status, StatusCode::BAD_REQUEST);
    })
    .await;
}

#[tokio::test]
async fn the_ledger_over_http() {
    each_backend(|store| async move {
        let api = setup(store).await;
        let auditor = api.tokens.auditor.clone();
        let answer =
            api.call(Method::GET, "/v1/workspaces/ops/ledger/checkpoint", Some(&auditor), None, &[]).await;
        assert_eq!(answer.status, StatusCode::OK);
        assert!(answer.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/plain"));
        let note = answer.body.as_str().unwrap().to_owned();
        let checkpoint = charter_ledger::Checkpoint::open(&note, &signer().verifier()).unwrap();
        assert_eq!(checkpoint.origin, "charter/ops");

        let entries = api
            .call(Method::GET, "/v1/workspaces/ops/ledger/entries?start=3&end=5", Some(&auditor), None, &[])
            .await;
        let entries = entries.body["entries"].as_array().unwrap().clone();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0]["index"], 3);
        let event = entries[0]["event"].as_str().unwrap();
        let leaf = charter_ledger::leaf_hash(event.as_bytes());
        assert_eq!(entries[0]["leaf_hash"], leaf.to_hex());

        let proof = api
            .call(Method::GET, "/v1/workspaces/ops/ledger/proof/inclusion?index=3", Some(&auditor), None, &[])
            .await;
        assert_eq!(proof.status, StatusCode::OK, "{:?}", proof.body);
        let hashes: Vec<charter_ledger::Hash> = proof.body["hashes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| charter_ledger::Hash::from_hex(h.as_str().unwrap()).unwrap())
            .collect();
        assert_eq!(proof.body["size"], checkpoint.size);
        charter_ledger::verify_inclusion(&leaf, 3, checkpoint.size, &hashes, &checkpoint.root).unwrap();

        let consistency = api
            .call(
                Method::GET,
                &format!("/v1/workspaces/ops/ledger/proof/consistency?from=10&to={}", checkpoint.size),
                Some(&auditor),
                None,
                &[],
            )
            .await;
        assert_eq!(consistency.status, StatusCode::OK);
        assert_eq!(consistency.body["to_root"], checkpoint.root.to_hex());

        let bad = api
            .call(
                Method::GET,
                "/v1/workspaces/ops/ledger/proof/inclusion?index=999999",
                Some(&auditor),
                None,
                &[],
            )
            .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        let missing = api
            .call(
                Method::GET,
                "/v1/workspaces/ops/ledger/proof/consistency?from=1",
                Some(&auditor),
                None,
                &[],
            )
            .await;
        assert_eq!(missing.status, StatusCode::BAD_REQUEST);
        let foreign = api
            .call(
                Method::GET,
                "/v1/workspaces/ops/ledger/checkpoint",
                Some(&api.tokens.other_workspace),
                None,
                &[],
            )
            .await;
        assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    })
    .await;
}

#[tokio::test]
async fn decisions_grants_and_the_kill_switch_over_http() {
    each_backend(|store| async move {
        let api = setup(store).await;
        let t = &api.tokens;
        let decide = "/v1/workspaces/ops/decide";
        let sales_crm = r#"{"principal":{"type":"Agent","id":"agent_sales_01"},"action":"invoke_tool","resource":{"type":"Tool","id":"crm_salesforce"}}"#;
        let answer = api.call(Method::POST, decide, Some(&t.owner), Some(sales_crm), &[]).await;
        assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
        assert_eq!(answer.body["decision"], "allow");
        assert_eq!(answer.body["reasons"], serde_json::json!(["POL-AGENT-ACCESS/own-tools"]));
        assert_eq!(answer.body["errors"], serde_json::json!([]));
        let id = answer.body["decision_id"].as_str().unwrap().to_owned();
        let seq: u64 = id.strip_prefix("DEC-").unwrap().parse().unwrap();
        // The decision is the ledger entry its id names.
        let entries = api
            .call(Method::GET, &format!("/v1/workspaces/ops/ledger/entries?start={}&end={seq}", seq - 1), Some(&t.auditor), None, &[])
            .await;
        let event: Value = serde_json::from_str(entries.body["entries"][0]["event"].as_str().unwrap()).unwrap();
        assert_eq!((event["kind"].as_str(), event["subject"].as_str()), (Some("decision"), Some("agent_sales_01")));
        assert_eq!(event["value"]["decision"], "allow");

        // An auditor reads but does not decide; nonsense is a 400 with its place.
        let auditor = api.call(Method::POST, decide, Some(&t.auditor), Some(sales_crm), &[]).await;
        assert_eq!(auditor.status, StatusCode::FORBIDDEN);
        let bad = api.call(Method::POST, decide, Some(&t.owner), Some("{\"principal\": 1}"), &[]).await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert!(message(&bad).contains("line 1, column"), "{}", message(&bad));
        let unknown = r#"{"principal":{"type":"Agent","id":"agent_sales_01"},"action":"fly","resource":{"type":"Tool","id":"crm_salesforce"}}"#;
        let unknown = api.call(Method::POST, decide, Some(&t.owner), Some(unknown), &[]).await;
        assert_eq!((unknown.status, unknown.body["decision"].as_str()), (StatusCode::OK, Some("deny")));
        assert_eq!(unknown.body["reasons"], serde_json::json!(["guardrail:unknown-action"]));

        // A batch answers in order, every answer logged.
        let finance_erp = r#"{"principal":{"type":"Agent","id":"agent_finance_01"},"action":"invoke_tool","resource":{"type":"Tool","id":"erp_netsuite"},"context":{"ticket":"CHG-7"}}"#;
        let batch = format!(r#"{{"requests":[{sales_crm},{finance_erp}]}}"#);
        let answers = api.call(Method::POST, "/v1/workspaces/ops/decide/batch", Some(&t.owner), Some(&batch), &[]).await;
        assert_eq!(answers.status, StatusCode::OK);
        let decisions = answers.body["decisions"].as_array().unwrap();
        assert_eq!(decisions[0]["decision"], "allow");
        assert_eq!(decisions[1]["reasons"], serde_json::json!(["guardrail:tier-approval"]));

        // An approval grant, made over the API by the approver.
        let grant = r#"{"kind":"approval","agent_id":"agent_finance_01","action":"invoke_tool","resource":{"type":"Tool","id":"erp_netsuite"},"ttl":"2h","reason":"month-end close"}"#;
        let refused = api.call(Method::POST, "/v1/workspaces/ops/grants", Some(&t.owner), Some(grant), &[]).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        let created = api.call(Method::POST, "/v1/workspaces/ops/grants", Some(&t.approver), Some(grant), &[]).await;
        assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
        assert_eq!(created.body["record"]["approved_by"], "vp_finance");
        assert_eq!(created.body["record"]["requested_by"], "agent_finance_01");
        let grant_id = created.body["id"].as_str().unwrap().to_owned();
        let approved = finance_erp.replace(r#""ticket":"CHG-7""#, &format!(r#""ticket":"CHG-7","approval":"{grant_id}""#));
        let allowed = api.call(Method::POST, decide, Some(&t.owner), Some(&approved), &[]).await;
        assert_eq!(allowed.body["decision"], "allow", "{:?}", allowed.body);
        let listed = api.call(Method::GET, "/v1/workspaces/ops/grants", Some(&t.auditor), None, &[]).await;
        assert_eq!(listed.body["items"][0]["id"], grant_id.as_str());
        let revoked = api
            .call(Method::POST, &format!("/v1/workspaces/ops/grants/{grant_id}/revoke"), Some(&t.approver), None, &[])
            .await;
        assert_eq!(revoked.status, StatusCode::OK);
        assert_eq!(revoked.body["record"]["revoked_by"], "vp_finance");
        let denied = api.call(Method::POST, decide, Some(&t.owner), Some(&approved), &[]).await;
        assert_eq!(denied.body["reasons"], serde_json::json!(["guardrail:tier-approval"]));
        // Grants are not written through the generic record API.
        let raw = created.body["record"].to_string().replace(&grant_id, "GRANT-0099");
        let generic = api.call(Method::POST, "/v1/workspaces/ops/grants", Some(&t.admin), Some(&raw), &[]).await;
        assert_eq!(generic.status, StatusCode::BAD_REQUEST, "the grants endpoint takes a grant request");
        let put = api
            .call(
                Method::PUT,
                &format!("/v1/workspaces/ops/grants/{grant_id}"),
                Some(&t.admin),
                Some(&revoked.body["record"].to_string()),
                &[("If-Match", "\"2\"")],
            )
            .await;
        // Grants are written only through their endpoints: a PUT is not a method of a grant.
        assert_eq!(put.status, StatusCode::METHOD_NOT_ALLOWED, "{:?}", put.body);
        let allow = put.headers[header::ALLOW].to_str().unwrap();
        assert!(allow.contains("GET") && !allow.contains("PUT"), "{allow}");

        // Agents request operations over the API; the requester is the token's holder,
        // here an agent of the registry.
        let declaration = serde_json::json!({
            "OPERATION_NAME": "inspect", "OBJECTIVE": "Look.", "RISK_CLASS": "READ_ONLY", "BLAST_RADIUS": "none",
            "ROLLBACK_STRATEGY": "nothing to undo", "ALLOWED_PATHS": [], "ALLOWED_SERVICES": [],
            "REQUESTED_BY": "AGENT-POLICIES-OPS",
            "STEPS": [{"name": "look", "command": "true", "verify": ["true"]}]
        });
        let declared = api
            .call(Method::POST, "/v1/workspaces/ops/operations", Some(&t.owner), Some(&declaration.to_string()), &[])
            .await;
        assert_eq!(declared.status, StatusCode::FORBIDDEN, "owners do not declare operations: {:?}", declared.body);
        let operator = api
            .call(Method::POST, "/v1/workspaces/ops/tokens", Some(&t.admin), Some(r#"{"role":"operator","name":"AGENT-POLICIES-OPS"}"#), &[])
            .await;
        let operator = operator.body["token"].as_str().unwrap().to_owned();
        let declared = api
            .call(Method::POST, "/v1/workspaces/ops/operations", Some(&operator), Some(&declaration.to_string()), &[])
            .await;
        assert_eq!(declared.status, StatusCode::CREATED, "{:?}", declared.body);
        assert_eq!(declared.body["record"]["status"], "Planned");
        assert_eq!(declared.body["record"]["tier"], 1);
        let listed = api.call(Method::GET, "/v1/workspaces/ops/operations", Some(&t.auditor), None, &[]).await;
        assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
        let other = declaration.to_string().replace("AGENT-POLICIES-OPS", "someone-else");
        let refused = api.call(Method::POST, "/v1/workspaces/ops/operations", Some(&operator), Some(&other), &[]).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);

        // The kill switch, and back.
        let pause = api.call(Method::POST, "/v1/workspaces/ops/agents/agent_finance_01/pause", Some(&t.owner), None, &[]).await;
        assert_eq!((pause.status, pause.body["record"]["status"].as_str()), (StatusCode::OK, Some("paused")));
        let killed = api.call(Method::POST, decide, Some(&t.owner), Some(finance_erp), &[]).await;
        assert_eq!(killed.body["reasons"][0], "guardrail:kill-switch");
        let resume = api.call(Method::POST, "/v1/workspaces/ops/agents/agent_finance_01/resume", Some(&t.owner), None, &[]).await;
        assert_eq!(resume.body["record"]["status"], "pilot", "back to the status before the pause");
        let again = api.call(Method::POST, "/v1/workspaces/ops/agents/agent_finance_01/resume", Some(&t.owner), None, &[]).await;
        assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    })
    .await;
}

#[tokio::test]
async fn a_decision_that_cannot_be_logged_denies_with_503() {
    let store = charter_store::testing::TestStore::sqlite().await;
    let api = setup(store.store.clone()).await;
    let request = r#"{"principal":{"type":"Agent","id":"agent_sales_01"},"action":"invoke_tool","resource":{"type":"Tool","id":"crm_salesforce"}}"#;
    let before = api
        .call(Method::POST, "/v1/workspaces/ops/decide", Some(&api.tokens.owner), Some(request), &[])
        .await;
    assert_eq!(before.body["decision"], "allow");
    charter_store::testing::execute_sql(
        &store.url,
        "CREATE TRIGGER full_disk BEFORE INSERT ON audit_events BEGIN SELECT RAISE(FAIL, 'disk full'); END",
    )
    .await;
    let answer = api
        .call(Method::POST, "/v1/workspaces/ops/decide", Some(&api.tokens.owner), Some(request), &[])
        .await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.body["decision"], "deny");
    assert_eq!(answer.body["reasons"], serde_json::json!([charter_server::NOT_LOGGED]));
    assert!(answer.body.get("decision_id").is_none());
    let batch = format!(r#"{{"requests":[{request},{request}]}}"#);
    let answers = api
        .call(Method::POST, "/v1/workspaces/ops/decide/batch", Some(&api.tokens.owner), Some(&batch), &[])
        .await;
    assert_eq!(answers.status, StatusCode::SERVICE_UNAVAILABLE);
    let decisions = answers.body["decisions"].as_array().unwrap();
    assert_eq!(decisions.len(), 2);
    assert!(decisions.iter().all(|d| d["decision"] == "deny"));
    store.finish().await;
}

#[tokio::test]
async fn data_governance_over_http() {
    each_backend(|store| async move {
        let api = setup(store).await;
        let t = &api.tokens;
        let steward = api.steward().await;

        let csv = "policy_id,title,purpose,rules,owner,status\nPOL-A-B,t,p,r,o,Active\n";
        let run = api
            .call(
                Method::POST,
                "/v1/workspaces/ops/datasets/Business_Policies_Ops/quality?source=policies.csv",
                Some(&steward),
                Some(csv),
                &[("Content-Type", "text/csv")],
            )
            .await;
        assert_eq!(run.status, StatusCode::CREATED, "{:?}", run.body);
        assert_eq!(
            (run.body["run"]["score"].as_f64(), run.body["run"]["source"].as_str()),
            (Some(100.0), Some("policies.csv"))
        );
        let bad = api
            .call(
                Method::POST,
                "/v1/workspaces/ops/datasets/Business_Policies_Ops/quality",
                Some(&steward),
                Some("title\nx\n"),
                &[("Content-Type", "text/csv")],
            )
            .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(message(&bad).contains("no column \"policy_id\""), "{:?}", bad.body);

        let promoted = api
            .call(
                Method::POST,
                "/v1/workspaces/ops/datasets/Business_Policies_Ops/promote",
                Some(&steward),
                Some(r#"{"to":"STAGE"}"#),
                &[],
            )
            .await;
        assert_eq!(promoted.status, StatusCode::OK, "{:?}", promoted.body);
        assert_eq!(promoted.body["dataset"]["record"]["scope"], "STAGE");

        let proposal = serde_json::json!({
            "fields": [{"name": "change_id", "type": "string", "key": true, "mandatory": true}],
            "description": "keep only the key"
        });
        let owner = api
            .call(
                Method::POST,
                "/v1/workspaces/ops/datasets/AI_Model_Change_Log/schema-changes",
                Some(&t.owner),
                Some(&proposal.to_string()),
                &[],
            )
            .await;
        assert_eq!(owner.status, StatusCode::FORBIDDEN, "owners do not change schemas: {:?}", owner.body);
        let proposed = api
            .call(
                Method::POST,
                "/v1/workspaces/ops/datasets/AI_Model_Change_Log/schema-changes",
                Some(&steward),
                Some(&proposal.to_string()),
                &[],
            )
            .await;
        assert_eq!(proposed.status, StatusCode::CREATED, "{:?}", proposed.body);
        let id = proposed.body["change"]["change_id"].as_str().unwrap().to_owned();
        assert_eq!(proposed.body["change"]["impact_analysis"]["breaking"], true);
        let applied = api
            .call(Method::POST, &format!("/v1/workspaces/ops/changes/{id}/apply"), Some(&steward), None, &[])
            .await;
        assert_eq!(
            (applied.status, applied.body["record"]["status"].as_str()),
            (StatusCode::OK, Some("Complete"))
        );
        let rolled = api
            .call(
                Method::POST,
                &format!("/v1/workspaces/ops/changes/{id}/rollback"),
                Some(&steward),
                None,
                &[],
            )
            .await;
        assert_eq!(rolled.body["record"]["status"], "Rolled Back");
        let listed = api.call(Method::GET, "/v1/workspaces/ops/changes", Some(&t.auditor), None, &[]).await;
        assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);

        let check = api
            .call(
                Method::POST,
                "/v1/workspaces/ops/governance-check?as_of=2026-11-22",
                Some(&steward),
                None,
                &[],
            )
            .await;
        assert_eq!(check.status, StatusCode::OK, "{:?}", check.body);
        assert_eq!(check.body["dashboard"]["status"], "AMBER");
    })
    .await;
}

/// A regression: an auditor posting to these endpoints got a 422 that told
/// the record's state instead of a 403.
#[tokio::test]
async fn authority_is_checked_before_anything_of_the_record_is_told() {
    each_backend(|store| async move {
        let api = setup(store).await;
        let auditor = api.tokens.auditor.clone();
        for (uri, body) in [
            ("/v1/workspaces/ops/agents/agent_sales_01/resume", None),
            ("/v1/workspaces/ops/agents/agent_nobody_01/resume", None),
            ("/v1/workspaces/ops/datasets/Business_Policies_Ops/quality", Some("a,b\n1,2\n")),
            ("/v1/workspaces/ops/datasets/No_Such_Dataset/quality", Some("a,b\n1,2\n")),
        ] {
            let answer =
                api.call(Method::POST, uri, Some(&auditor), body, &[("content-type", "text/csv")]).await;
            assert_eq!(answer.status, StatusCode::FORBIDDEN, "{uri}: {:?}", answer.body);
            assert!(message(&answer).starts_with("forbidden: role auditor"), "{uri}: {}", message(&answer));
        }
    })
    .await;
}

/// A regression: a steward's PUT moved a dataset to PUBLISHED and dropped a
/// field with no gate, no change log and no decision. Governed fields move
/// only through their use cases; the rest of a record stays writable.
#[tokio::test]
async fn generic_writes_cannot_move_governed_fields() {
    each_backend(|store| async move {
        let api = setup(store).await;
        let steward = api.steward().await;
        let uri = "/v1/workspaces/ops/datasets/Business_Policies_Ops";
        let current = api.call(Method::GET, uri, Some(&steward), None, &[]).await;
        assert_eq!(current.status, StatusCode::OK);
        let mut dataset = current.body["record"].clone();
        dataset["scope"] = "PUBLISHED".into();
        dataset["fields"].as_array_mut().unwrap().pop();
        let put = api
            .call(Method::PUT, uri, Some(&steward), Some(&dataset.to_string()), &[("If-Match", "\"1\"")])
            .await;
        assert_eq!(put.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", put.body);
        let text = message(&put);
        assert!(
            text.contains("scope: governed by its lifecycle; change it with `charter dataset promote`"),
            "{text}"
        );
        assert!(
            text.contains("fields: governed by its lifecycle; change it with `charter schema propose`"),
            "{text}"
        );
        let unchanged = api.call(Method::GET, uri, Some(&steward), None, &[]).await;
        assert_eq!(unchanged.body["record"]["scope"], "DRAFT");
        assert_eq!(unchanged.headers[header::ETAG], "\"1\"");

        let mut described = current.body["record"].clone();
        described["purpose"] = "Policies of the operations workspace.".into();
        let put = api
            .call(Method::PUT, uri, Some(&steward), Some(&described.to_string()), &[("If-Match", "\"1\"")])
            .await;
        assert_eq!(put.status, StatusCode::OK, "{:?}", put.body);

        let mut published = current.body["record"].clone();
        published["dataset_id"] = "New_Published".into();
        published["scope"] = "PUBLISHED".into();
        let created = api
            .call(
                Method::POST,
                "/v1/workspaces/ops/datasets",
                Some(&steward),
                Some(&published.to_string()),
                &[],
            )
            .await;
        assert_eq!(created.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", created.body);
        assert!(
            message(&created).contains("scope: a new record starts at its initial value"),
            "{:?}",
            created.body
        );

        // The kill switch is lifted only by resuming.
        let owner = api.tokens.owner.clone();
        let paused = api
            .call(Method::POST, "/v1/workspaces/ops/agents/agent_sales_01/pause", Some(&owner), None, &[])
            .await;
        assert_eq!(paused.status, StatusCode::OK, "{:?}", paused.body);
        let mut agent = paused.body["record"].clone();
        agent["status"] = "active".into();
        let version = paused.headers[header::ETAG].to_str().unwrap().to_owned();
        let put = api
            .call(
                Method::PUT,
                "/v1/workspaces/ops/agents/agent_sales_01",
                Some(&owner),
                Some(&agent.to_string()),
                &[("If-Match", &version)],
            )
            .await;
        assert_eq!(put.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", put.body);
        assert!(
            message(&put)
                .contains("status: governed by its lifecycle; change it with `charter agents pause|resume`")
        );
    })
    .await;
}

/// Tokens over HTTP: created with an expiry, listed (never their secrets),
/// rotated and revoked by admins only.
#[tokio::test]
async fn tokens_are_listed_rotated_and_revoked_by_admins() {
    each_backend(|store| async move {
        let api = setup(store).await;
        let t = &api.tokens;
        let uri = "/v1/workspaces/ops/tokens";
        let created = api
            .call(
                Method::POST,
                uri,
                Some(&t.admin),
                Some(r#"{"role":"operator","name":"ops_on_call","ttl":"7d"}"#),
                &[],
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
        assert!(created.body["expires_at"].as_str().is_some());
        let (id, secret) = (
            created.body["id"].as_str().unwrap().to_owned(),
            created.body["token"].as_str().unwrap().to_owned(),
        );
        let bad = api
            .call(
                Method::POST,
                uri,
                Some(&t.admin),
                Some(r#"{"role":"operator","name":"ops_on_call","ttl":"900d"}"#),
                &[],
            )
            .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            message(&bad).contains("ttl: 900d is longer than the longest a token lives"),
            "{}",
            message(&bad)
        );

        assert_eq!(
            api.call(Method::GET, uri, Some(&t.auditor), None, &[]).await.status,
            StatusCode::FORBIDDEN
        );
        let listed = api.call(Method::GET, uri, Some(&t.admin), None, &[]).await;
        assert_eq!(listed.status, StatusCode::OK);
        assert!(listed.body["items"].as_array().unwrap().iter().any(|token| token["id"] == id.as_str()));
        assert!(!listed.body.to_string().contains("charter_"), "no secret is listed");

        let rotated = api.call(Method::POST, &format!("{uri}/{id}/rotate"), Some(&t.admin), None, &[]).await;
        assert_eq!(rotated.status, StatusCode::CREATED, "{:?}", rotated.body);
        assert_eq!(rotated.body["name"], "ops_on_call");
        let new_secret = rotated.body["token"].as_str().unwrap().to_owned();
        let overview = "/v1/workspaces/ops";
        assert_eq!(
            api.call(Method::GET, overview, Some(&secret), None, &[]).await.status,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            api.call(Method::GET, overview, Some(&new_secret), None, &[]).await.status,
            StatusCode::OK
        );
        let new_id = rotated.body["id"].as_str().unwrap().to_owned();
        let revoked =
            api.call(Method::POST, &format!("{uri}/{new_id}/revoke"), Some(&t.admin), None, &[]).await;
        assert_eq!((revoked.status, revoked.body["state"].as_str()), (StatusCode::OK, Some("revoked")));
        assert_eq!(
            api.call(Method::GET, overview, Some(&new_secret), None, &[]).await.status,
            StatusCode::UNAUTHORIZED
        );
    })
    .await;
}

/// Every route the router serves is in `/openapi.json` with each of its
/// methods, and every documented operation is served: a documented method
/// never answers 405 or the fallback's "no such endpoint", an undocumented
/// one on a documented path always answers 405.
#[tokio::test]
async fn the_openapi_document_and_the_router_agree() {
    let test = charter_store::testing::TestStore::sqlite().await;
    let api = setup(test.store.clone()).await;
    let document = api.call(Method::GET, "/openapi.json", None, None, &[]).await.body;
    let paths = document["paths"].as_object().unwrap();
    let concrete = |template: &str| {
        template.replace("{workspace}", "ops").replace("{id}", "x").replace("{kind}", "agents")
    };
    for (path, item) in paths {
        for method in ["get", "post", "put", "delete", "patch"] {
            let documented = item.get(method).is_some();
            let answer = api
                .call(
                    Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(),
                    &concrete(path),
                    Some(&api.tokens.admin),
                    None,
                    &[],
                )
                .await;
            let routed = answer.status != StatusCode::METHOD_NOT_ALLOWED
                && !message(&answer).starts_with("no such endpoint");
            assert_eq!(routed, documented, "{method} {path}: {} {:?}", answer.status, answer.body);
        }
    }
    // The router's own table, read from its source (each capability's
    // `routes()` and the root routes of lib.rs): each route is documented.
    let source = include_str!("../src/lib.rs").split("#[cfg(test)]").next().unwrap();
    let (_, root_part) = source.split_once("Router::new()\n        .route(\"/healthz\"").unwrap();
    let capabilities = [
        include_str!("../src/api/registry.rs"),
        include_str!("../src/api/ledger.rs"),
        include_str!("../src/api/decisions.rs"),
        include_str!("../src/api/operations.rs"),
        include_str!("../src/api/data.rs"),
        include_str!("../src/api/risk.rs"),
        include_str!("../src/api/oversight.rs"),
        include_str!("../src/api/guard.rs"),
        include_str!("../src/api/cert.rs"),
    ];
    let routes = |text: &str, prefix: &str| -> Vec<(String, Vec<String>)> {
        text.split(".route(\"")
            .skip(1)
            .map(|rest| {
                let (path, handlers) = rest.split_once('"').unwrap();
                let handlers = handlers.split(".route(").next().unwrap();
                let methods = ["get", "post", "put", "delete", "patch"]
                    .into_iter()
                    .filter(|m| {
                        handlers.contains(&format!("{m}("))
                            || (*m == "get"
                                && (handlers.contains("list_of(") || handlers.contains("one_of(")))
                    })
                    .map(str::to_owned)
                    .collect();
                (format!("{prefix}{path}"), methods)
            })
            .collect()
    };
    let mut all = Vec::new();
    for capability in capabilities {
        let table =
            capability.split_once("fn routes() -> Router<App> {").unwrap().1.split("\n}\n").next().unwrap();
        // One route a line or wrapped over several: the same table.
        let table = table.split_whitespace().collect::<Vec<_>>().join(" ").replace(".route( ", ".route(");
        all.extend(routes(&table, "/v1"));
    }
    all.extend(routes(&format!(".route(\"/healthz\"{root_part}"), ""));
    assert!(all.len() >= 40, "{all:?}");
    for (path, methods) in all {
        let templates: Vec<String> = if path.contains("{kind}") {
            // Kinds only their use cases write have read-only routes of their own.
            charter_model::RecordKind::ALL
                .iter()
                .filter(|kind| kind.written_by_use_case().is_none())
                .map(|kind| path.replace("{kind}", kind.plural()))
                .collect()
        } else {
            vec![path.clone()]
        };
        let matching: Vec<&String> = paths.keys().filter(|p| templates.contains(p)).collect();
        assert!(!matching.is_empty(), "{path} is served but not documented");
        for documented in matching {
            for method in &methods {
                assert!(
                    paths[documented].get(method).is_some(),
                    "{method} {documented} is served but not documented"
                );
            }
        }
    }
    test.finish().await;
}

/// `If-Match: *` updates whatever version the record is at (a regression:
/// it was refused as a malformed version).
#[tokio::test]
async fn if_match_star_updates_the_current_version() {
    each_backend(|store| async move {
        let api = setup(store).await;
        let owner = api.tokens.owner.clone();
        let uri = "/v1/workspaces/ops/systems/crm_salesforce";
        let current = api.call(Method::GET, uri, Some(&owner), None, &[]).await;
        let mut record = current.body["record"].clone();
        record["uptime_30d"] = serde_json::json!(99.1);
        let put =
            api.call(Method::PUT, uri, Some(&owner), Some(&record.to_string()), &[("If-Match", "*")]).await;
        assert_eq!(put.status, StatusCode::OK, "{:?}", put.body);
        assert_eq!(put.headers[header::ETAG], "\"2\"");
        let missing = api
            .call(
                Method::PUT,
                "/v1/workspaces/ops/systems/nothing_here",
                Some(&owner),
                Some(&record.to_string()),
                &[("If-Match", "*")],
            )
            .await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
    })
    .await;
}

/// The document's integers are 64-bit signed and JSON does not tell `4.0`
/// from `4`: a larger number is refused as malformed, a whole float is read
/// as the number it is (regressions found by schemathesis).
#[tokio::test]
async fn numbers_are_read_as_the_document_states() {
    let test = charter_store::testing::TestStore::sqlite().await;
    let api = setup(test.store.clone()).await;
    let owner = api.tokens.owner.clone();
    let agents = "/v1/workspaces/ops/agents";
    let huge = r#"{"agent_id":"agent_big_01","name":"Big","status":"pilot","daily_invocations":9223372036854775808}"#;
    let refused = api.call(Method::POST, agents, Some(&owner), Some(huge), &[]).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{:?}", refused.body);
    assert!(message(&refused).contains("9223372036854775808 is larger than 9223372036854775807"));
    let whole = r#"{"agent_id":"agent_big_01","name":"Big","status":"pilot","daily_invocations":1200.0}"#;
    let created = api.call(Method::POST, agents, Some(&owner), Some(whole), &[]).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    assert_eq!(created.body["record"]["daily_invocations"], 1200);
    test.finish().await;
}

/// OTLP/HTTP as exporters send it: protobuf and JSON bodies captured from
/// the OpenTelemetry Python SDK, answered in their own encoding; a span of
/// an unknown agent is a partial success naming why; malformed bodies, other
/// media types and roles that may not write runs are refused.
#[tokio::test]
async fn otlp_traces_over_http() {
    each_backend(|store| async move {
        let api = setup(store).await;
        let operator = api
            .call(
                Method::POST,
                "/v1/workspaces/ops/tokens",
                Some(&api.tokens.admin),
                Some(r#"{"role":"operator","name":"finance_systems_manager"}"#),
                &[],
            )
            .await
            .body["token"]
            .as_str()
            .unwrap()
            .to_owned();
        let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../charter-observe/tests/fixtures/python-sdk");
        let export = |path: &'static str, token: String, content_type: &'static str, body: Vec<u8>| {
            let router = api.router.clone();
            async move {
                let request = Request::builder()
                    .method(Method::POST)
                    .uri(path)
                    .header(header::AUTHORIZATION, format!("Bearer {token}"))
                    .header(header::CONTENT_TYPE, content_type)
                    .body(Body::from(body))
                    .unwrap();
                let response = router.oneshot(request).await.unwrap();
                let status = response.status();
                let kind = response.headers().get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap().to_owned());
                let bytes = response.into_body().collect().await.unwrap().to_bytes();
                (status, kind, bytes)
            }
        };
        for file in ["python-sdk-0.pb", "python-sdk-1.pb", "python-sdk-2.pb"] {
            let body = std::fs::read(fixtures.join(file)).unwrap();
            let (status, kind, bytes) = export("/v1/traces", operator.clone(), "application/x-protobuf", body).await;
            assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&bytes));
            assert_eq!(kind.as_deref(), Some("application/x-protobuf"));
            // A full success is an empty ExportTraceServiceResponse.
            assert!(bytes.is_empty(), "{bytes:?}");
        }
        let runs = api.call(Method::GET, "/v1/workspaces/ops/runs", Some(&api.tokens.auditor), None, &[]).await;
        assert_eq!(runs.status, StatusCode::OK);
        let items = runs.body["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{:?}", runs.body);
        let run = &items[0]["record"];
        assert_eq!((run["agent_id"].as_str(), run["spans"].as_u64()), (Some("agent_finance_01"), Some(3)));
        let id = run["run_id"].as_str().unwrap();
        let report =
            api.call(Method::GET, &format!("/v1/workspaces/ops/runs/{id}/report"), Some(&api.tokens.auditor), None, &[]).await;
        assert_eq!(report.status, StatusCode::OK, "{:?}", report.body);
        assert_eq!(report.body["data_touched"], serde_json::json!(["erp_netsuite"]));

        let ghost = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c",
            "spanId":"b7ad6b7169203331","name":"invoke_agent","startTimeUnixNano":"1700000000000000000",
            "endTimeUnixNano":"1700000000100000000","attributes":[{"key":"gen_ai.agent.id","value":{"stringValue":"agent_ghost_99"}}]}]}]}]}"#;
        let (status, kind, bytes) =
            export("/v1/workspaces/ops/otlp/v1/traces", operator.clone(), "application/json", ghost.into()).await;
        assert_eq!((status, kind.as_deref()), (StatusCode::OK, Some("application/json")));
        let answer: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(answer["partialSuccess"]["rejectedSpans"], "1");
        assert!(answer["partialSuccess"]["errorMessage"].as_str().unwrap().contains("unknown agent \"agent_ghost_99\""));

        let (status, _, bytes) = export("/v1/traces", operator.clone(), "application/x-protobuf", vec![0xff; 7]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(String::from_utf8_lossy(&bytes).contains("not an OTLP protobuf request"));
        let (status, _, bytes) = export("/v1/traces", operator.clone(), "application/json", b"{\"resourceSpans\":7}".to_vec()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{}", String::from_utf8_lossy(&bytes));
        let (status, _, _) = export("/v1/traces", operator.clone(), "text/plain", b"hello".to_vec()).await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let (status, _, _) = export("/v1/traces", api.tokens.auditor.clone(), "application/json", b"{}".to_vec()).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _, _) = export("/v1/traces", operator.clone(), "application/json", vec![b' '; 65 * 1024]).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);

        let health =
            api.call(Method::GET, "/v1/workspaces/ops/health?windows=12&window=60", Some(&api.tokens.auditor), None, &[]).await;
        assert_eq!(health.status, StatusCode::OK, "{:?}", health.body);
        assert_eq!((health.body["windows"].as_u64(), health.body["window_minutes"].as_u64()), (Some(12), Some(60)));
    })
    .await;
}

#[tokio::test]
async fn filtering_over_http_redacts_blocks_and_refuses_bad_input() {
    each_backend(|store| async move {
        let api = setup(store).await;
        let operator = api
            .call(
                Method::POST,
                "/v1/workspaces/ops/tokens",
                Some(&api.tokens.admin),
                Some(r#"{"role":"operator","name":"finance_systems_manager"}"#),
                &[],
            )
            .await
            .body["token"]
            .as_str()
            .unwrap()
            .to_owned();
        let filter = |body: &str| {
            let (api, operator, body) = (&api, operator.clone(), body.to_owned());
            async move { api.call(Method::POST, "/v1/workspaces/ops/filter", Some(&operator), Some(&body), &[]).await }
        };
        let answer = filter(
            r#"{"agent":"agent_sales_01","direction":"egress","destination":"email_sendgrid","content":"Grüße an dana@globex.co.uk"}"#,
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        assert_eq!(answer.body["action"], "redact");
        assert_eq!(answer.body["content"], "Grüße an <EMAIL_1>");
        // Byte offsets: "Grüße an " is 11 bytes.
        assert_eq!(answer.body["findings"][0]["start"], 11);
        assert_eq!(answer.body["findings"][0]["type"], "email");
        assert_eq!(answer.body["class"], "confidential");
        assert!(answer.body["decision_id"].as_str().unwrap().starts_with("DEC-"));

        let blocked = filter(
            r#"{"agent":"agent_sales_01","direction":"egress","destination":"email_sendgrid","content":"key AKIAIOSFODNN7EXAMPLE"}"#,
        )
        .await;
        assert_eq!(blocked.body["action"], "block", "{}", blocked.body);
        assert!(blocked.body.get("content").is_none());

        let bad = filter(r#"{"agent":"agent_sales_01","direction":"sideways","content":"x"}"#).await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
        assert!(bad.body.to_string().contains("sideways"), "{}", bad.body);

        // The streaming filter: JSON lines of what passes, then a summary.
        let stream = |query: &str, body: Vec<u8>| {
            let (router, operator, uri) =
                (api.router.clone(), operator.clone(), format!("/v1/workspaces/ops/filter/stream?{query}"));
            async move {
                let request = Request::builder()
                    .method(Method::POST)
                    .uri(uri)
                    .header(header::AUTHORIZATION, format!("Bearer {operator}"))
                    .body(Body::from(body))
                    .unwrap();
                let response = router.oneshot(request).await.unwrap();
                let status = response.status();
                let bytes = response.into_body().collect().await.unwrap().to_bytes();
                (status, String::from_utf8(bytes.to_vec()).unwrap())
            }
        };
        let mut body = String::new();
        for i in 0..3_000 {
            body.push_str(&format!("line {i}: write to user{}@example.com\n", i % 7));
        }
        let (status, lines) =
            stream("agent=agent_sales_01&direction=egress&destination=email_sendgrid", body.into_bytes()).await;
        assert_eq!(status, StatusCode::OK, "{lines}");
        let lines: Vec<serde_json::Value> = lines.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let passed: String = lines[..lines.len() - 1].iter().map(|l| l["content"].as_str().unwrap()).collect();
        assert_eq!(passed.lines().count(), 3_000);
        assert!(passed.starts_with("line 0: write to <EMAIL_1>\nline 1: write to <EMAIL_2>\n"), "{}", &passed[..80]);
        assert!(passed.contains("line 2999: write to <EMAIL_4>") && !passed.contains('@'));
        let summary = lines.last().unwrap();
        assert_eq!(summary["action"], "redact", "{summary}");
        assert_eq!(summary["counts"]["email"], 3_000);
        assert!(summary["decision_id"].as_str().unwrap().starts_with("DEC-"));
        let (_, lines) = stream(
            "agent=agent_sales_01&direction=egress&destination=email_sendgrid",
            "fine\nthen a key ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789\nand more\n".into(),
        )
        .await;
        let summary: serde_json::Value = serde_json::from_str(lines.lines().last().unwrap()).unwrap();
        assert_eq!(summary["action"], "block", "{lines}");
        assert!(!lines.contains("ghp_"), "{lines}");
        let (status, _) = stream("direction=sideways", "x".into()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);

        let stats =
            api.call(Method::GET, "/v1/workspaces/ops/guard-stats?days=1", Some(&operator), None, &[]).await;
        assert_eq!(stats.status, StatusCode::OK, "{}", stats.body);
        let sales = stats.body.as_array().unwrap().iter().find(|s| s["agent"] == "agent_sales_01").unwrap().clone();
        assert_eq!(sales["filterings"], 4, "{sales}");
        assert_eq!(sales["findings"]["email"], 3_001, "{sales}");
        let lint = api.call(Method::GET, "/v1/workspaces/ops/guard-lint", Some(&operator), None, &[]).await;
        assert_eq!((lint.status, lint.body.clone()), (StatusCode::OK, serde_json::json!([])), "{}", lint.body);

        // Content that is not UTF-8 is filtered as bytes: a piece that is
        // not UTF-8 passes as its bytes, in base64.
        let (status, lines) = stream(
            "agent=agent_sales_01&direction=egress&destination=email_sendgrid",
            b"caf\xe9 to dana@globex.co.uk\nplain\n".to_vec(),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{lines}");
        let lines: Vec<serde_json::Value> = lines.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        use base64::Engine as _;
        let mut passed = Vec::new();
        for line in &lines[..lines.len() - 1] {
            match (line["content"].as_str(), line["content_base64"].as_str()) {
                (Some(text), None) => passed.extend_from_slice(text.as_bytes()),
                (None, Some(encoded)) => {
                    passed.extend(base64::engine::general_purpose::STANDARD.decode(encoded).unwrap())
                }
                _ => panic!("{line}"),
            }
        }
        assert_eq!(passed, b"caf\xe9 to <EMAIL_1>\nplain\n", "{lines:?}");
        assert_eq!(lines.last().unwrap()["action"], "redact");
    })
    .await;
}

#[tokio::test]
async fn certification_waivers_and_drills_over_http() {
    each_backend(|store| async move {
        let api = setup(store).await;
        let admin = Some(api.tokens.admin.as_str());
        let verdict = api.call(Method::GET, "/v1/workspaces/ops/certification?as_of=2030-01-01", admin, None, &[]).await;
        assert_eq!(verdict.status, StatusCode::OK, "{}", verdict.body);
        assert_eq!(verdict.body["verdict"]["outcome"], "RED");
        assert_eq!(verdict.body["verdict"]["as_of"], "2030-01-01T23:59:59Z");
        assert!(verdict.body["envelope"]["payloadType"].as_str().is_some(), "{}", verdict.body);
        let bad = api.call(Method::GET, "/v1/workspaces/ops/certification?as_of=soon", admin, None, &[]).await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
        assert!(bad.body.to_string().contains("soon"), "{}", bad.body);
        let page = api.call(Method::GET, "/workspaces/ops/certification", admin, None, &[]).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.as_str().unwrap().contains("<h1>Certification of ops: <span class=\"RED\">RED</span></h1>"));

        // A waiver: requested by the steward, who may not approve it.
        let expires = "2099-01-01T00:00:00Z";
        let far = api
            .call(
                Method::POST,
                "/v1/workspaces/ops/waivers",
                admin,
                Some(&format!(r#"{{"scope":"OC-B5","reason":"r","owner":"finance_systems_manager","expires_at":"{expires}"}}"#)),
                &[],
            )
            .await;
        assert_eq!(far.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", far.body);
        assert!(far.body.to_string().contains("more than 30 days away"), "{}", far.body);
        let soon = charter_model::Timestamp::from_unix_micros(
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_micros() as i64
                + 7 * 86_400_000_000,
        )
        .unwrap();
        let requested = api
            .call(
                Method::POST,
                "/v1/workspaces/ops/waivers",
                admin,
                Some(&format!(r#"{{"scope":"OC-B5","reason":"invoices late","owner":"finance_systems_manager","expires_at":"{soon}"}}"#)),
                &[],
            )
            .await;
        assert_eq!(requested.status, StatusCode::CREATED, "{}", requested.body);
        let id = requested.body["waiver_id"].as_str().unwrap().to_owned();
        let own = api.call(Method::POST, &format!("/v1/workspaces/ops/waivers/{id}/approve"), admin, None, &[]).await;
        assert_eq!(own.status, StatusCode::FORBIDDEN, "{}", own.body);
        assert!(own.body.to_string().contains("separation of duties"), "{}", own.body);
        let listed = api.call(Method::GET, "/v1/workspaces/ops/waivers", admin, None, &[]).await;
        assert_eq!(listed.body["items"].as_array().unwrap().len(), 1, "{}", listed.body);
        // Waivers and drills are written by their use cases only.
        let forged = api
            .call(
                Method::POST,
                "/v1/workspaces/ops/drills",
                admin,
                Some(r#"{"drill_id":"DRL-2030-01-01-001","kind":"rollback","by":"x","started_at":"2030-01-01T00:00:00Z","passed":true}"#),
                &[],
            )
            .await;
        assert_eq!(forged.status, StatusCode::METHOD_NOT_ALLOWED, "{}", forged.body);
    })
    .await;
}
