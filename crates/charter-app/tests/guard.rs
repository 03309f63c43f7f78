//! The safety filter over the example workspace, on SQLite and PostgreSQL:
//! DLP rules by team, direction and destination; the decision point's
//! refusal; fail closed for unknown agents; and nothing it found left in
//! the database or the exported ledger.

use std::path::PathBuf;
use std::sync::Arc;

use charter_app::ledger::LedgerSettings;
use charter_app::{App, Caller, FilterRequest, ImportSource};
use charter_model::{DataClass, Direction, FindingType, GuardAction, RecordKind, WorkspaceName};
use charter_store::Store;
use charter_store::testing::each_backend_with_url;

fn ops() -> WorkspaceName {
    WorkspaceName::new("ops").unwrap()
}

fn signer() -> charter_ledger::NoteSigner {
    charter_ledger::NoteSigner::from_seed("charter.test", [7; 32]).unwrap()
}

async fn imported(store: Store) -> App {
    let settings = LedgerSettings { signer: Some(Arc::new(signer())), ..LedgerSettings::default() };
    let app = App::new(store).with_ledger(settings);
    let examples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/ops-workspace");
    app.import(&Caller::local("tester"), &ops(), ImportSource::from_dir(&examples).unwrap(), true)
        .await
        .unwrap();
    app
}

/// The gateway in front of the agents (a registered operator).
fn gateway() -> Caller {
    Caller::local("finance_systems_manager")
}

fn request(agent: &str, direction: Direction, destination: &str, content: &str) -> FilterRequest {
    FilterRequest {
        agent: Some(agent.into()),
        direction,
        destination: Some(destination.into()),
        content: content.as_bytes().to_vec(),
    }
}

const EMAIL: &str = "dana.whitfield@globex.co.uk";
const CARD: &str = "4111 1111 1111 1111";
const PHONE: &str = "+44 7911 123456";
const TOKEN: &str = "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789";

#[tokio::test]
async fn rules_by_team_direction_and_destination_redact_allow_and_block() {
    each_backend_with_url(|store, url| async move {
        let app = imported(store).await;
        let text =
            |filtered: &charter_app::Filtered| String::from_utf8(filtered.content.clone().unwrap()).unwrap();

        // Out to the email service: personal data becomes placeholders, the
        // card is masked; the same email twice is the same placeholder.
        let body = format!("Hi {EMAIL}, your card {CARD} is charged; call {PHONE} or write {EMAIL}.");
        let out = app
            .filter(&gateway(), &ops(), request("agent_sales_01", Direction::Egress, "email_sendgrid", &body))
            .await
            .unwrap();
        assert_eq!(out.action, GuardAction::Redact);
        assert_eq!(
            text(&out),
            "Hi <EMAIL_1>, your card ******************* is charged; call <PHONE_1> or write <EMAIL_1>."
        );
        assert_eq!(out.class, DataClass::Restricted);
        let kinds: Vec<FindingType> = out.findings.iter().map(|f| f.kind).collect();
        assert_eq!(
            kinds,
            [FindingType::Email, FindingType::CreditCard, FindingType::Phone, FindingType::Email]
        );
        assert_eq!(&body.as_bytes()[out.findings[1].start..out.findings[1].end], CARD.as_bytes());
        assert!(out.reasons.iter().any(|r| r == "dlp:redact:DLP-PERSONAL-DATA-OUT/1"), "{:?}", out.reasons);
        assert!(out.decision_id.as_deref().is_some_and(|id| id.starts_with("DEC-")));

        // The same agent writing its contacts into the CRM: the team's rule
        // for that destination lets them through.
        let crm = format!("new contact {EMAIL}, {PHONE}");
        let out = app
            .filter(&gateway(), &ops(), request("agent_sales_01", Direction::Egress, "crm_salesforce", &crm))
            .await
            .unwrap();
        assert_eq!((out.action, text(&out)), (GuardAction::Allow, crm.clone()));
        // Another team's agent gets no such exception.
        let out = app
            .filter(&gateway(), &ops(), request("agent_support_02", Direction::Egress, "zendesk", &crm))
            .await
            .unwrap();
        assert_eq!(out.action, GuardAction::Redact);

        // A secret never leaves; coming in, it is replaced by a keyed hash.
        let leak = format!("deploy with {TOKEN}");
        let out = app
            .filter(&gateway(), &ops(), request("agent_sales_01", Direction::Egress, "email_sendgrid", &leak))
            .await
            .unwrap();
        assert_eq!((out.action, out.content.is_none()), (GuardAction::Block, true));
        assert!(out.reasons.iter().any(|r| r == "dlp:block:DLP-SECRETS-NEVER-LEAVE/1"), "{:?}", out.reasons);
        let out = app
            .filter(
                &gateway(),
                &ops(),
                request("agent_sales_01", Direction::Ingress, "crm_salesforce", &leak),
            )
            .await
            .unwrap();
        assert!(
            text(&out).starts_with("deploy with <GITHUB_TOKEN:") && !text(&out).contains("ghp_"),
            "{}",
            text(&out)
        );

        // Content for a system the agent may not reach is blocked by the
        // decision point, whatever it holds.
        let out = app
            .filter(&gateway(), &ops(), request("agent_sales_01", Direction::Egress, "erp_netsuite", "hello"))
            .await
            .unwrap();
        assert_eq!(out.action, GuardAction::Block);
        assert!(
            out.reasons.iter().any(|r| r == "default-deny" || r.starts_with("guardrail:")),
            "{:?}",
            out.reasons
        );

        // Fail closed: an unknown agent is blocked.
        let out = app
            .filter(&gateway(), &ops(), request("agent_ghost", Direction::Egress, "email_sendgrid", "hello"))
            .await
            .unwrap();
        assert_eq!(out.action, GuardAction::Block);
        assert!(out.reasons[0].starts_with("guard:unknown-agent"), "{:?}", out.reasons);
        // Blocks for names no agent has, and decisions denied to ids no
        // agent can have, are no agent's health (a regression: the API fuzz
        // made the evaluator fail on an alert for `Agent::""`).
        for _ in 0..6 {
            app.filter(&gateway(), &ops(), request("", Direction::Egress, "email_sendgrid", "x"))
                .await
                .unwrap();
            let nobody = charter_policy::DecisionRequest {
                principal: charter_policy::EntityRef { entity_type: "Agent".into(), id: "".into() },
                action: "invoke_tool".into(),
                resource: charter_policy::EntityRef {
                    entity_type: "Tool".into(),
                    id: "crm_salesforce".into(),
                },
                context: serde_json::Map::new(),
            };
            app.decide(&gateway(), &ops(), &[nobody]).await.unwrap();
        }
        app.evaluate_pending().await.unwrap();
        app.evaluate_alerts(&gateway(), &ops()).await.unwrap();

        // Counts per agent and type, from the ledger.
        let stats = app.guard_stats(&gateway(), &ops(), 7).await.unwrap();
        let sales = stats.iter().find(|s| s.agent == "agent_sales_01").unwrap();
        // Out to email, to the CRM, the leak, the leak coming in, the ERP.
        assert_eq!((sales.filterings, sales.blocked, sales.redacted_filterings), (5, 2, 2), "{sales:?}");
        assert_eq!(sales.findings.get(&FindingType::Email), Some(&3));
        assert_eq!(sales.findings.get(&FindingType::GithubToken), Some(&2));
        assert_eq!(sales.redacted, 5, "4 in the email, 1 token coming in");
        let unknown = stats.iter().find(|s| s.agent == "-").unwrap();
        assert_eq!(unknown.blocked, 7, "agent_ghost once, the empty name six times");
        assert!(app.guard_stats(&gateway(), &ops(), 0).await.is_err());

        // An auditor may not filter: a filtering is written to the ledger.
        let auditor = Caller::Token {
            token_id: "t".into(),
            name: "internal_audit".into(),
            workspace: ops(),
            role: charter_model::Role::Auditor,
        };
        assert!(
            app.filter(&auditor, &ops(), request("agent_sales_01", Direction::Egress, "email_sendgrid", "x"))
                .await
                .is_err()
        );

        // Nothing planted is anywhere: not in the database files, not in
        // any record, not in the exported ledger.
        let dir = tempfile::tempdir().unwrap();
        let bundle = dir.path().join("bundle");
        app.export_ledger(&gateway(), &ops(), &bundle).await.unwrap();
        let mut haystacks: Vec<Vec<u8>> = Vec::new();
        let mut dirs = vec![bundle.clone()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else {
                    haystacks.push(std::fs::read(path).unwrap());
                }
            }
        }
        let events = String::from_utf8(std::fs::read(bundle.join("events.jsonl")).unwrap()).unwrap();
        assert!(
            events.contains("\"kind\":\"filter\"") && events.contains("content_hmac"),
            "filterings are in the ledger"
        );
        let row = app.store().workspace(&ops()).await.unwrap().unwrap();
        for kind in RecordKind::ALL {
            for record in app.store().records(row.id, *kind, None, 10_000).await.unwrap() {
                haystacks.push(record.body.into_bytes());
            }
        }
        if let Some(path) = url.strip_prefix("sqlite://") {
            let path = path.split('?').next().unwrap();
            let mut files = Vec::new();
            for file in [path.to_owned(), format!("{path}-wal")] {
                if let Ok(bytes) = std::fs::read(&file) {
                    files.extend(bytes);
                }
            }
            assert!(memchr_find(&files, b"content_hmac").is_some(), "the database files hold the filterings");
            haystacks.push(files);
        }
        for value in [EMAIL, CARD, PHONE, TOKEN, "4111111111111111"] {
            for haystack in &haystacks {
                assert!(
                    memchr_find(haystack, value.as_bytes()).is_none(),
                    "{value} was stored somewhere ({} bytes searched)",
                    haystack.len()
                );
            }
        }
    })
    .await;
}

fn memchr_find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

#[tokio::test]
async fn redactions_are_health_signals_and_raise_an_alert_when_elevated() {
    each_backend_with_url(|store, _| async move {
        let app = imported(store).await;
        let body =
            "write to a.one@example.com, b.two@example.com, c.three@example.com and d.four@example.com";
        let out = app
            .filter(&gateway(), &ops(), request("agent_support_02", Direction::Egress, "zendesk", body))
            .await
            .unwrap();
        assert_eq!((out.action, out.findings.len()), (GuardAction::Redact, 4));
        let evaluated = app.evaluate_pending().await.unwrap();
        let opened: Vec<_> = evaluated.iter().flat_map(|(_, e)| e.opened.iter()).collect();
        assert!(
            opened
                .iter()
                .any(|a| a.reason == "anomaly:redactions-elevated"
                    && a.agent_id.as_str() == "agent_support_02"),
            "{opened:?}"
        );
        // The health reading counts them in their window (read once that
        // window is complete).
        let later = app.now().plus(charter_model::Span::from_secs(300)).unwrap();
        let query = charter_app::HealthQuery {
            agent: Some("agent_support_02".into()),
            as_of: Some(later),
            ..charter_app::HealthQuery::default()
        };
        let health = app.health(&gateway(), &ops(), query).await.unwrap();
        let agent =
            health.agents.iter().find(|a| a.agent_id == "agent_support_02").expect("the agent has a reading");
        assert_eq!(agent.latest.get("redactions"), Some(&Some(4.0)), "{:?}", agent.latest);
    })
    .await;
}
