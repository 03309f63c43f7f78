//! The decision point as a use case, on SQLite and PostgreSQL: decisions
//! logged before they are answered, policies validated on save, the kill
//! switch under concurrent load, grants that expire and are revoked, and
//! replay.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use charter_app::{App, AppError, Caller, Clock, ImportSource, NewGrant, ReplayRegistry};
use charter_model::registry::Policy;
use charter_model::{AgentId, AgentStatus, GrantKind, Record, RecordKind, Span, Timestamp, WorkspaceName};
use charter_policy::{DecisionAnswer, DecisionRequest, Effect, EntityRef, LoggedDecision, decision_seq};
use charter_store::Store;
use charter_store::testing::each_backend;

#[derive(Debug)]
struct TestClock(Mutex<Timestamp>);

impl TestClock {
    fn new() -> Arc<Self> {
        Arc::new(Self(Mutex::new("2026-11-22T10:00:00Z".parse().unwrap())))
    }

    fn set(&self, at: &str) {
        *self.0.lock().unwrap() = at.parse().unwrap();
    }
}

impl Clock for TestClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().unwrap()
    }
}

fn ops() -> WorkspaceName {
    WorkspaceName::new("ops").unwrap()
}

fn admin() -> Caller {
    Caller::local("ops_governance_lead")
}

async fn imported(store: Store, clock: Arc<TestClock>) -> App {
    let app = App::with_clock(store, clock);
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/ops-workspace");
    app.import(&admin(), &ops(), ImportSource::from_dir(&dir).unwrap(), true).await.unwrap();
    app
}

fn request(principal: &str, action: &str, resource: &str) -> DecisionRequest {
    let entity = |text: &str| {
        let (entity_type, id) = text.split_once("::").unwrap();
        EntityRef { entity_type: entity_type.into(), id: id.into() }
    };
    DecisionRequest {
        principal: entity(principal),
        action: action.into(),
        resource: entity(resource),
        context: serde_json::Map::new(),
    }
}

fn with_context(mut request: DecisionRequest, context: serde_json::Value) -> DecisionRequest {
    request.context = context.as_object().unwrap().clone();
    request
}

async fn decide(app: &App, request: DecisionRequest) -> DecisionAnswer {
    app.decide(&admin(), &ops(), &[request]).await.unwrap().remove(0)
}

fn summary(answer: &DecisionAnswer) -> (Effect, Vec<&str>) {
    (answer.decision, answer.reasons.iter().map(String::as_str).collect())
}

/// The decision an answer's id names, as the ledger holds it.
async fn logged(app: &App, answer: &DecisionAnswer) -> LoggedDecision {
    let seq = decision_seq(answer.decision_id.as_deref().unwrap()).unwrap();
    let row = app.store().workspace(&ops()).await.unwrap().unwrap();
    let event = app.store().events(row.id, seq, seq).await.unwrap().remove(0);
    assert_eq!((event.action.as_str(), event.kind.as_str()), ("decide", "decision"));
    let event = charter_model::audit::AuditEvent::decode(&event.body).unwrap();
    serde_json::from_str(event.value.as_deref().unwrap()).unwrap()
}

async fn policy(app: &App, id: &str) -> (u64, Policy) {
    let view = app.get_record(&admin(), &ops(), RecordKind::Policy, id).await.unwrap();
    match view.record {
        Record::Policy(policy) => (view.version, *policy),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn decisions_are_logged_with_their_ids_requests_and_reasons() {
    each_backend(|store| async move {
        let app = imported(store, TestClock::new()).await;
        let requests = [
            request("Agent::agent_sales_01", "invoke_tool", "Tool::crm_salesforce"),
            request("Agent::agent_sales_01", "invoke_tool", "Tool::erp_netsuite"),
            request("Agent::agent_sales_01", "read_dataset", "Dataset::Business_Policies_Ops"),
            request("Agent::AGENT-POLICIES-OPS", "read_dataset", "Dataset::Business_Policies_Ops"),
            request("Agent::agent_nobody", "invoke_tool", "Tool::crm_salesforce"),
        ];
        let answers = app.decide(&admin(), &ops(), &requests).await.unwrap();
        let got: Vec<_> = answers.iter().map(summary).collect();
        assert_eq!(
            got,
            [
                (Effect::Allow, vec!["POL-AGENT-ACCESS/own-tools"]),
                // Every guardrail that fails is named: the ERP is also Tier 3.
                (Effect::Deny, vec!["guardrail:least-privilege", "guardrail:tier-approval"]),
                (Effect::Deny, vec!["guardrail:data-residency"]),
                (Effect::Allow, vec!["POL-AGENT-ACCESS/read-datasets"]),
                (Effect::Deny, vec!["guardrail:unknown-principal"]),
            ]
        );
        let ids: Vec<u64> =
            answers.iter().map(|a| decision_seq(a.decision_id.as_deref().unwrap()).unwrap()).collect();
        assert!(ids.windows(2).all(|w| w[1] == w[0] + 1), "a batch is logged in order: {ids:?}");
        for (request, answer) in requests.iter().zip(&answers) {
            let logged = logged(&app, answer).await;
            assert_eq!(logged.request(), *request);
            assert_eq!((logged.decision, &logged.reasons), (answer.decision, &answer.reasons));
            assert!(logged.registry_version > 0);
        }
        // An auditor reads the ledger but may not add to it.
        let auditor = Caller::Token {
            token_id: "t".into(),
            name: "audit".into(),
            workspace: ops(),
            role: charter_model::Role::Auditor,
        };
        assert!(matches!(app.decide(&auditor, &ops(), &requests).await, Err(AppError::Forbidden(_))));
    })
    .await;
}

#[tokio::test]
async fn a_policy_that_fails_validation_is_refused_and_the_old_version_stays_enforced() {
    each_backend(|store| async move {
        let app = imported(store, TestClock::new()).await;
        let sales_crm = || request("Agent::agent_sales_01", "invoke_tool", "Tool::crm_salesforce");
        assert_eq!(decide(&app, sales_crm()).await.decision, Effect::Allow);

        let (version, mut policy) = policy(&app, "POL-AGENT-ACCESS").await;
        policy.cedar = Some(
            "permit(principal is Agent, action == Action::\"invoke_tool\", resource is Tool)\n\
             when { principal.toolz.contains(resource) };"
                .into(),
        );
        let error = app
            .update_record(
                &admin(),
                &ops(),
                "POL-AGENT-ACCESS",
                version,
                Record::Policy(Box::new(policy.clone())),
            )
            .await
            .unwrap_err();
        let AppError::Invalid { problems, .. } = &error else { panic!("{error:?}") };
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].starts_with("cedar: line 2, column 8: "), "{problems:?}");
        assert!(problems[0].contains("toolz"), "{problems:?}");

        policy.cedar = Some("permit(principal, action, resource) when { true ".into());
        let error = app
            .update_record(&admin(), &ops(), "POL-AGENT-ACCESS", version, Record::Policy(Box::new(policy)))
            .await
            .unwrap_err();
        assert!(error.to_string().contains("cedar: line 1, column "), "{error}");

        // Nothing changed: same version, same decision for the same reason.
        assert_eq!(policy_version(&app).await, version);
        let answer = decide(&app, sales_crm()).await;
        assert_eq!(summary(&answer), (Effect::Allow, vec!["POL-AGENT-ACCESS/own-tools"]));
    })
    .await;
}

async fn policy_version(app: &App) -> u64 {
    policy(app, "POL-AGENT-ACCESS").await.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pausing_an_agent_denies_its_very_next_decision_under_concurrent_load() {
    each_backend(|store| async move {
        let clock = TestClock::new();
        let deciding = imported(store.clone(), clock.clone()).await.with_group_commit();
        // The pause comes from another application with its own engine
        // cache, as from another server sharing the database.
        let other = App::with_clock(store, clock);
        let stop = Arc::new(AtomicBool::new(false));
        let mut clients = Vec::new();
        for _ in 0..16 {
            let (app, stop) = (deciding.clone(), stop.clone());
            clients.push(tokio::spawn(async move {
                let mut answers = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let request = request("Agent::agent_sales_01", "invoke_tool", "Tool::crm_salesforce");
                    answers.push(decide(&app, request).await);
                }
                answers
            }));
        }
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        other.set_agent_status(&admin(), &ops(), "agent_sales_01", AgentStatus::Paused).await.unwrap();
        let next =
            decide(&deciding, request("Agent::agent_sales_01", "invoke_tool", "Tool::crm_salesforce")).await;
        assert_eq!(summary(&next), (Effect::Deny, vec!["guardrail:kill-switch"]));
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        stop.store(true, Ordering::Relaxed);
        let mut answers = vec![next];
        for client in clients {
            answers.extend(client.await.unwrap());
        }

        // In the ledger, every decision before the pause allows and every
        // decision after it denies: none was made on a state it was not
        // logged in.
        let row = deciding.store().workspace(&ops()).await.unwrap().unwrap();
        let last = deciding.store().event_count(row.id).await.unwrap();
        let events = deciding.store().events(row.id, 1, last).await.unwrap();
        let pause = events
            .iter()
            .find(|e| e.kind == "agent" && e.subject == "agent_sales_01" && e.action == "update")
            .expect("the pause is in the ledger")
            .seq;
        let (mut before, mut after) = (0, 0);
        for event in events.iter().filter(|e| e.kind == "decision") {
            let value = charter_model::audit::AuditEvent::decode(&event.body).unwrap().value.unwrap();
            let logged: LoggedDecision = serde_json::from_str(&value).unwrap();
            if logged.action == "pause_agent" {
                // The pause itself was decided, and logged.
                assert_eq!(
                    (logged.decision, logged.principal.id.as_str()),
                    (Effect::Allow, "ops_governance_lead")
                );
                continue;
            }
            if event.seq < pause {
                assert_eq!(logged.decision, Effect::Allow, "decision {} before the pause", event.seq);
                before += 1;
            } else {
                assert_eq!(
                    logged.reasons,
                    ["guardrail:kill-switch"],
                    "decision {} after the pause",
                    event.seq
                );
                after += 1;
            }
        }
        assert!(before > 0 && after > 0, "{before} decisions before the pause, {after} after");
        assert_eq!(before + after, answers.len(), "every answer is in the ledger");
        for answer in &answers {
            let seq = decision_seq(answer.decision_id.as_deref().unwrap()).unwrap();
            assert_eq!(answer.decision == Effect::Allow, seq < pause, "{answer:?}");
        }

        // Resuming lets the agent act again, at once.
        other.set_agent_status(&admin(), &ops(), "agent_sales_01", AgentStatus::Active).await.unwrap();
        let resumed =
            decide(&deciding, request("Agent::agent_sales_01", "invoke_tool", "Tool::crm_salesforce")).await;
        assert_eq!(resumed.decision, Effect::Allow);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_writes_a_decision_did_not_read_neither_fail_nor_starve_it() {
    each_backend(|store| async move {
        let clock = TestClock::new();
        let deciding = imported(store.clone(), clock.clone()).await;
        // A registry large enough that rebuilding the decision point takes
        // longer than the time between two writes.
        let many: Vec<serde_json::Value> = (0..3_000)
            .map(|n| serde_json::json!({ "team_id": format!("team_bulk_{n}"), "name": format!("Bulk {n}") }))
            .collect();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("teams.json"), serde_json::to_vec(&many).unwrap()).unwrap();
        deciding.import(&admin(), &ops(), ImportSource::from_dir(dir.path()).unwrap(), true).await.unwrap();
        let deciding = deciding.with_group_commit();
        // Another application, as another server sharing the database,
        // creates a team every few milliseconds while 8 clients decide.
        let writer = App::with_clock(store, clock);
        let stop = Arc::new(AtomicBool::new(false));
        let mut clients = Vec::new();
        for _ in 0..8 {
            let (app, stop) = (deciding.clone(), stop.clone());
            clients.push(tokio::spawn(async move {
                let (mut during, mut allowed, mut failed) = (0, 0, Vec::new());
                while !stop.load(Ordering::Relaxed) {
                    let request = request("Agent::agent_sales_01", "invoke_tool", "Tool::crm_salesforce");
                    match app.decide(&admin(), &ops(), &[request]).await {
                        Ok(answers) if answers[0].decision == Effect::Allow => allowed += 1,
                        Ok(answers) => failed.push(format!("{:?}", answers[0].reasons)),
                        Err(error) => failed.push(error.to_string()),
                    }
                    if !stop.load(Ordering::Relaxed) {
                        during += 1;
                    }
                }
                (during, allowed, failed)
            }));
        }
        for n in 0..80 {
            let team = RecordKind::Team
                .parse_json(&format!(r#"{{"team_id":"team_churn_{n}","name":"Churn {n}"}}"#))
                .unwrap();
            writer.create_record(&admin(), &ops(), team).await.unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        stop.store(true, Ordering::Relaxed);
        let (mut allowed, mut failed) = (0, Vec::new());
        for client in clients {
            let (during, a, f) = client.await.unwrap();
            // No client starves while the registry changes.
            assert!(during >= 2, "a client made {during} decisions during the writes");
            allowed += a;
            failed.extend(f);
        }
        assert!(failed.is_empty(), "{allowed} allowed; failed: {failed:?}");

        // A write the decisions did read still takes effect at once.
        writer.set_agent_status(&admin(), &ops(), "agent_sales_01", AgentStatus::Paused).await.unwrap();
        let next =
            decide(&deciding, request("Agent::agent_sales_01", "invoke_tool", "Tool::crm_salesforce")).await;
        assert_eq!(summary(&next), (Effect::Deny, vec!["guardrail:kill-switch"]));

        // Each decision, made again on the registry at its place in the
        // ledger, gives the logged answer.
        let report =
            deciding.replay_decisions(&admin(), &ops(), &[], None, ReplayRegistry::AsLogged).await.unwrap();
        // Every decision made, the writer's 80 writes (decided too), the
        // pause and the decision after it.
        assert_eq!(report.decisions, allowed as u64 + 80 + 2);
        assert!(report.unreproduced.is_empty(), "{:?}", report.unreproduced);
        assert!(report.flips.is_empty(), "{:?}", report.flips);
    })
    .await;
}

fn grant(kind: GrantKind, agent: &str, action: &str, resource: &str, ttl: &str) -> NewGrant {
    let (resource_type, resource_id) = resource.split_once("::").unwrap();
    NewGrant {
        kind,
        agent_id: AgentId::new(agent).unwrap(),
        action: action.into(),
        resource_type: resource_type.into(),
        resource_id: resource_id.into(),
        ttl: ttl.parse::<Span>().unwrap(),
        reason: "quarter-end close".into(),
        requested_by: None,
    }
}

#[tokio::test]
async fn grants_expire_and_their_revocation_is_immediate() {
    each_backend(|store| async move {
        let clock = TestClock::new();
        let app = imported(store, clock.clone()).await;
        let approver = Caller::local("vp_finance");

        // An access grant lets sales use the ERP, for two hours.
        let sales_erp = || request("Agent::agent_sales_01", "invoke_tool", "Tool::erp_netsuite");
        assert_eq!(
            summary(&decide(&app, sales_erp()).await),
            (Effect::Deny, vec!["guardrail:least-privilege", "guardrail:tier-approval"])
        );
        let access = app
            .create_grant(
                &approver,
                &ops(),
                grant(GrantKind::Access, "agent_sales_01", "invoke_tool", "Tool::erp_netsuite", "2h"),
            )
            .await
            .unwrap();
        let Record::Grant(access) = access.record else { panic!() };
        assert_eq!(
            (access.requested_by.as_str(), access.approved_by.as_str()),
            ("agent_sales_01", "vp_finance")
        );
        assert_eq!(access.expires_at.to_string(), "2026-11-22T12:00:00Z");
        // The example's Tier 3 ERP also needs an approval; sales has none.
        assert_eq!(
            summary(&decide(&app, sales_erp()).await),
            (Effect::Deny, vec!["guardrail:tier-approval"])
        );

        // The finance pilot holds the ERP; it needs an approval and a ticket.
        let finance_erp = |approval: &str| {
            with_context(
                request("Agent::agent_finance_01", "invoke_tool", "Tool::erp_netsuite"),
                serde_json::json!({ "approval": approval, "ticket": "CHG-1" }),
            )
        };
        let approval = app
            .create_grant(
                &approver,
                &ops(),
                grant(GrantKind::Approval, "agent_finance_01", "invoke_tool", "Tool::erp_netsuite", "2h"),
            )
            .await
            .unwrap();
        let approval_id = approval.id.clone();
        assert_eq!(approval_id, "GRANT-0002");
        assert_eq!(
            summary(&decide(&app, finance_erp(&approval_id)).await),
            (Effect::Allow, vec!["POL-AGENT-ACCESS/own-tools"])
        );
        assert_eq!(
            summary(&decide(&app, finance_erp("GRANT-0001")).await),
            (Effect::Deny, vec!["guardrail:tier-approval"])
        );

        // Three hours later the approval has expired.
        clock.set("2026-11-22T13:00:00Z");
        assert_eq!(
            summary(&decide(&app, finance_erp(&approval_id)).await),
            (Effect::Deny, vec!["guardrail:tier-approval"])
        );

        // A fresh approval, revoked: the next decision denies.
        let again = app
            .create_grant(
                &approver,
                &ops(),
                grant(GrantKind::Approval, "agent_finance_01", "invoke_tool", "Tool::erp_netsuite", "1h"),
            )
            .await
            .unwrap();
        assert_eq!(decide(&app, finance_erp(&again.id)).await.decision, Effect::Allow);
        let revoked = app.revoke_grant(&approver, &ops(), &again.id).await.unwrap();
        assert_eq!(revoked.version, 2);
        assert_eq!(
            summary(&decide(&app, finance_erp(&again.id)).await),
            (Effect::Deny, vec!["guardrail:tier-approval"])
        );
        let twice = app.revoke_grant(&approver, &ops(), &again.id).await.unwrap_err();
        assert!(twice.to_string().contains("already revoked"), "{twice}");

        // Separation of duties: the approver may not be the requester.
        let mut own = grant(GrantKind::Access, "agent_sales_01", "invoke_tool", "Tool::erp_netsuite", "1h");
        own.requested_by = Some("vp_finance".into());
        let error = app.create_grant(&approver, &ops(), own).await.unwrap_err();
        assert!(error.to_string().contains("may not be the requester"), "{error}");
        // Only a registered person grants, in their own name: not an
        // unregistered one, nor an account acting as the approver.
        let access = || grant(GrantKind::Access, "agent_sales_01", "invoke_tool", "Tool::erp_netsuite", "1h");
        let error = app.create_grant(&Caller::local("mallory"), &ops(), access()).await.unwrap_err();
        assert!(matches!(error, AppError::Forbidden(_)) && error.to_string().contains("not in the registry"));
        let error = app.create_grant(&Caller::local_as("root", Some("vp_finance")), &ops(), access()).await;
        let error = error.unwrap_err().to_string();
        assert!(error.contains("root acting as vp_finance (--actor) is a break-glass"), "{error}");
        // Bad input is named.
        let mut bad = grant(GrantKind::Access, "agent_sales_01", "fly", "Tool::erp_netsuite", "1h");
        bad.ttl = "100d".parse().unwrap();
        let error = app.create_grant(&approver, &ops(), bad).await.unwrap_err().to_string();
        assert!(error.contains("unknown action \"fly\"") && error.contains("ttl: 100d is longer"), "{error}");
        let missing = grant(GrantKind::Access, "agent_ghost_01", "invoke_tool", "Tool::erp_netsuite", "1h");
        let missing = app.create_grant(&approver, &ops(), missing).await.unwrap_err().to_string();
        assert!(missing.contains("guardrail:unknown-resource"), "{missing}");
        // Granting is decided: an owner is no approver under POL-AGENT-ACCESS.
        let owner = Caller::local("revenue_ops_lead");
        let error = app.create_grant(&owner, &ops(), access()).await.unwrap_err().to_string();
        assert!(error.contains("denied by the decision point") && error.contains("default-deny"), "{error}");
    })
    .await;
}

#[tokio::test]
async fn replay_reports_exactly_the_decisions_that_would_flip() {
    each_backend(|store| async move {
        let app = imported(store, TestClock::new()).await;
        let requests = [
            request("Agent::agent_sales_01", "invoke_tool", "Tool::crm_salesforce"),
            request("Agent::agent_sales_01", "invoke_tool", "Tool::email_sendgrid"),
            request("Agent::AGENT-POLICIES-OPS", "read_dataset", "Dataset::Business_Policies_Ops"),
            request("Agent::agent_sales_01", "read_dataset", "Dataset::Business_Policies_Ops"),
            request("Agent::AGENT-DATAMODEL-OPS", "read_dataset", "Dataset::AI_Model_Change_Log"),
        ];
        let answers = app.decide(&admin(), &ops(), &requests).await.unwrap();
        let ids: Vec<String> = answers.iter().map(|a| a.decision_id.clone().unwrap()).collect();

        // Proposed: no more blanket dataset reads, and no email for sales.
        let (_, mut proposed) = policy(&app, "POL-AGENT-ACCESS").await;
        let text = proposed.cedar.clone().unwrap();
        let start = text.find("@id(\"read-datasets\")").unwrap();
        let end = start + text[start..].find(";\n").unwrap() + 2;
        proposed.cedar = Some(format!(
            "{}{}\n@id(\"no-email-for-sales\")\nforbid(principal == Agent::\"agent_sales_01\", action, resource == Tool::\"email_sendgrid\");\n",
            &text[..start],
            &text[end..]
        ));
        charter_policy::compile("POL-AGENT-ACCESS", proposed.cedar.as_deref().unwrap()).unwrap();
        let proposed = [proposed];

        let report = app.replay_decisions(&admin(), &ops(), &proposed, None, ReplayRegistry::AsLogged).await.unwrap();
        assert_eq!(report.decisions, 5);
        assert!(report.unreproduced.is_empty(), "{:?}", report.unreproduced);
        let flipped: Vec<(&str, Effect, Effect)> =
            report.flips.iter().map(|f| (f.decision_id.as_str(), f.logged, f.proposed.decision)).collect();
        assert_eq!(
            flipped,
            [
                (ids[1].as_str(), Effect::Allow, Effect::Deny),
                (ids[2].as_str(), Effect::Allow, Effect::Deny),
                (ids[4].as_str(), Effect::Allow, Effect::Deny),
            ]
        );
        assert_eq!(report.flips[0].proposed.reasons, ["POL-AGENT-ACCESS/no-email-for-sales"]);
        assert_eq!(report.flips[1].proposed.reasons, ["default-deny"]);
        let counts: Vec<(&str, &str, u64, u64)> = report
            .counts
            .iter()
            .map(|c| (c.principal.as_str(), c.action.as_str(), c.to_allow, c.to_deny))
            .collect();
        assert_eq!(
            counts,
            [
                ("Agent::\"AGENT-DATAMODEL-OPS\"", "read_dataset", 0, 1),
                ("Agent::\"AGENT-POLICIES-OPS\"", "read_dataset", 0, 1),
                ("Agent::\"agent_sales_01\"", "invoke_tool", 0, 1),
            ]
        );

        // The registry changes: sales is paused. As logged, replay still
        // judges each decision on the registry it was made on; on today's
        // registry the sales decisions are no longer reproducible (the
        // residency denial now denies for the kill switch instead).
        app.set_agent_status(&admin(), &ops(), "agent_sales_01", AgentStatus::Paused).await.unwrap();
        let later = decide(&app, request("Agent::agent_sales_01", "invoke_tool", "Tool::crm_salesforce")).await;
        let unchanged = app.replay_decisions(&admin(), &ops(), &[], None, ReplayRegistry::AsLogged).await.unwrap();
        // Six decisions and the pause, which was decided too.
        assert_eq!((unchanged.decisions, unchanged.flips.len(), unchanged.unreproduced.len()), (7, 0, 0));
        let today = app.replay_decisions(&admin(), &ops(), &[], None, ReplayRegistry::Current).await.unwrap();
        assert_eq!(today.unreproduced, [ids[0].clone(), ids[1].clone(), ids[3].clone()]);
        assert!(today.flips.is_empty());
        // Since a moment after the first decisions, only the last is replayed.
        let since: Timestamp = "2026-11-22T10:00:00.000001Z".parse().unwrap();
        let recent = app.replay_decisions(&admin(), &ops(), &proposed, Some(since), ReplayRegistry::AsLogged).await;
        assert_eq!(recent.unwrap().decisions, 0, "the clock stood still: every decision is at 10:00");
        assert_eq!(later.reasons, ["guardrail:kill-switch"]);
    })
    .await;
}

#[tokio::test]
async fn policies_due_for_review_get_one_raida_action_per_cycle() {
    each_backend(|store| async move {
        let app = imported(store, TestClock::new()).await;
        let today: charter_model::Date = "2026-11-22".parse().unwrap();
        let due = app.policies_due_for_review(&admin(), &ops(), today).await.unwrap();
        let found: Vec<(&str, Option<String>, bool)> =
            due.iter().map(|d| (d.policy.as_str(), d.due_since.map(|d| d.to_string()), d.opened)).collect();
        assert_eq!(found, [("POL-AGENT-COORDINATION", Some("2026-08-12".to_owned()), true)]);
        let raida = app.get_record(&admin(), &ops(), RecordKind::Raida, &due[0].raida_id).await.unwrap();
        let Record::Raida(item) = raida.record else { panic!() };
        assert_eq!(item.item_type, charter_model::RaidaKind::Action);
        assert_eq!(item.owner.as_deref(), Some("ops_governance_lead"));
        assert_eq!(item.source.as_deref(), Some("policy/POL-AGENT-COORDINATION"));

        // Again: the same action, nothing new written.
        let events = |app: App| async move {
            let row = app.store().workspace(&ops()).await.unwrap().unwrap();
            app.store().event_count(row.id).await.unwrap()
        };
        let before = events(app.clone()).await;
        let again = app.policies_due_for_review(&admin(), &ops(), today).await.unwrap();
        assert_eq!((again[0].raida_id.as_str(), again[0].opened), (due[0].raida_id.as_str(), false));
        assert_eq!(events(app.clone()).await, before);

        // Reviewed: no longer due. A quarter later, a new cycle, a new action.
        let (version, mut reviewed) = policy(&app, "POL-AGENT-COORDINATION").await;
        reviewed.last_review = Some("2026-11-20".parse().unwrap());
        app.update_record(
            &admin(),
            &ops(),
            "POL-AGENT-COORDINATION",
            version,
            Record::Policy(Box::new(reviewed)),
        )
        .await
        .unwrap();
        assert!(app.policies_due_for_review(&admin(), &ops(), today).await.unwrap().is_empty());
        let later =
            app.policies_due_for_review(&admin(), &ops(), "2027-02-20".parse().unwrap()).await.unwrap();
        let ids: Vec<&str> = later.iter().map(|d| d.policy.as_str()).collect();
        assert_eq!(
            ids,
            [
                "POL-AGENT-ACCESS",
                "POL-AGENT-COORDINATION",
                "POL-DATASET-MANAGEMENT",
                "POL-GOVERNANCE-MASTER",
                "POL-OPS-CHANGE"
            ]
        );
        assert!(later.iter().all(|d| d.opened && d.raida_id != due[0].raida_id));
    })
    .await;
}

#[tokio::test]
async fn a_large_batch_is_answered_in_order_and_logged_whole() {
    each_backend(|store| async move {
        let app = imported(store, TestClock::new()).await;
        let requests: Vec<DecisionRequest> = (0..300)
            .map(|n| match n % 3 {
                0 => request("Agent::agent_sales_01", "invoke_tool", "Tool::crm_salesforce"),
                1 => request("Agent::agent_sales_01", "invoke_tool", "Tool::erp_netsuite"),
                _ => request("Agent::agent_nobody_01", "read_dataset", "Dataset::Business_Policies_Ops"),
            })
            .collect();
        let answers = app.decide(&admin(), &ops(), &requests).await.unwrap();
        assert_eq!(answers.len(), 300);
        for (n, answer) in answers.iter().enumerate() {
            assert_eq!(answer.decision == Effect::Allow, n % 3 == 0, "answer {n}: {answer:?}");
        }
        let first = decision_seq(answers[0].decision_id.as_deref().unwrap()).unwrap();
        let last = decision_seq(answers[299].decision_id.as_deref().unwrap()).unwrap();
        assert_eq!(last - first, 299);
        assert_eq!(logged(&app, &answers[299]).await.request(), requests[299]);
        let too_many = vec![requests[0].clone(); charter_app::MAX_DECISION_BATCH + 1];
        assert!(matches!(app.decide(&admin(), &ops(), &too_many).await, Err(AppError::Invalid { .. })));
    })
    .await;
}
