//! Tokens with a lifecycle, on SQLite and PostgreSQL: they expire, are
//! listed with their last use, revoked and rotated, and a revocation holds
//! in every process sharing the database within the documented bound
//! (a regression: tokens never expired and could not be listed or revoked).

use std::sync::{Arc, Mutex};

use charter_app::{App, AppError, Caller, Clock, TOKEN_CACHE_TTL};
use charter_model::{Role, Timestamp, WorkspaceName};
use charter_store::testing::each_backend;

#[derive(Debug)]
struct TestClock(Mutex<Timestamp>);

impl TestClock {
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

fn invalid(error: AppError) -> String {
    match error {
        AppError::Invalid { problems, .. } => problems.join("; "),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn tokens_expire_are_listed_revoked_and_rotated() {
    each_backend(|store| async move {
        let clock = Arc::new(TestClock(Mutex::new("2026-11-22T10:00:00Z".parse().unwrap())));
        let app = App::with_clock(store.clone(), clock.clone());
        // A second process sharing the database.
        let other = App::with_clock(store, clock.clone());
        let local = Caller::local("installer");
        app.create_workspace(&local, &ops()).await.unwrap();
        // People are registered by an import, the workspace's set-up.
        let dir = tempfile::tempdir().unwrap();
        let people = r#"[{"person_id":"audit","name":"audit","roles":["auditor"]},
                         {"person_id":"gateway","name":"gateway","roles":["operator"]}]"#;
        std::fs::write(dir.path().join("people.json"), people).unwrap();
        let source = charter_app::ImportSource::from_dir(dir.path()).unwrap();
        app.import(&local, &ops(), source, true).await.unwrap();

        // The installation's own admin token, held by the account itself.
        let admin = app.create_token(&local, &ops(), Role::Admin, "installer").await.unwrap();
        assert_eq!(admin.expires_at.to_string(), "2027-02-20T10:00:00Z", "90 days by default");
        let short = app
            .create_token_for(&local, &ops(), Role::Auditor, "audit", Some("2h".parse().unwrap()))
            .await
            .unwrap();
        let too_long =
            app.create_token_for(&local, &ops(), Role::Auditor, "x", Some("400d".parse().unwrap())).await;
        assert_eq!(
            invalid(too_long.unwrap_err()),
            "ttl: 400d is longer than the longest a token lives, 366d"
        );
        let zero = app
            .create_token_for(&local, &ops(), Role::Auditor, "x", Some(charter_model::Span::from_secs(0)))
            .await;
        assert!(invalid(zero.unwrap_err()).starts_with("ttl: 0s is not a lifetime"));

        let admin_caller = app.authenticate(&admin.secret).await.unwrap().unwrap();
        assert!(other.authenticate(&short.secret).await.unwrap().is_some());
        // Listing is for admins, and never shows a secret.
        let auditor = other.authenticate(&short.secret).await.unwrap().unwrap();
        assert!(matches!(app.list_tokens(&auditor, &ops()).await, Err(AppError::Forbidden(_))));
        assert!(matches!(app.revoke_token(&auditor, &ops(), &admin.id).await, Err(AppError::Forbidden(_))));
        let listed = app.list_tokens(&admin_caller, &ops()).await.unwrap();
        assert_eq!(listed.len(), 2);
        assert!(listed.iter().all(|t| t.state == "active" && t.last_used_at.is_some()), "{listed:?}");
        let text = serde_json::to_string(&listed).unwrap();
        assert!(!text.contains(&admin.secret) && !text.contains("charter_"), "{text}");

        // Past its expiry a token no longer authenticates.
        clock.set("2026-11-22T12:00:01Z");
        std::thread::sleep(TOKEN_CACHE_TTL);
        assert_eq!(app.authenticate(&short.secret).await.unwrap(), None);
        let states: Vec<(String, &str)> = app
            .list_tokens(&admin_caller, &ops())
            .await
            .unwrap()
            .into_iter()
            .map(|t| (t.name, t.state))
            .collect();
        assert!(states.contains(&("audit".to_owned(), "expired")), "{states:?}");

        // Revoked: at once here, within the cache's bound in the other process.
        let ops_token = app.create_token(&local, &ops(), Role::Operator, "gateway").await.unwrap();
        assert!(other.authenticate(&ops_token.secret).await.unwrap().is_some());
        let revoked = app.revoke_token(&admin_caller, &ops(), &ops_token.id).await.unwrap();
        assert_eq!(revoked.state, "revoked");
        assert_eq!(app.authenticate(&ops_token.secret).await.unwrap(), None);
        std::thread::sleep(TOKEN_CACHE_TTL);
        assert_eq!(other.authenticate(&ops_token.secret).await.unwrap(), None);
        let again = app.revoke_token(&admin_caller, &ops(), &ops_token.id).await.unwrap_err();
        assert_eq!(invalid(again), format!("token \"{}\" was already revoked", ops_token.id));

        // Rotated: same name and role, a new secret; the old one is refused.
        let rotated = app.rotate_token(&admin_caller, &ops(), &admin.id, None).await.unwrap();
        assert_eq!((rotated.name.as_str(), rotated.role), ("installer", Role::Admin));
        assert_ne!(rotated.secret, admin.secret);
        assert_eq!(app.authenticate(&admin.secret).await.unwrap(), None);
        assert!(app.authenticate(&rotated.secret).await.unwrap().is_some());

        // The ledger records each step and never a secret.
        let row = app.store().workspace(&ops()).await.unwrap().unwrap();
        let count = app.store().event_count(row.id).await.unwrap();
        let events = app.store().events(row.id, 1, count).await.unwrap();
        let token_actions: Vec<&str> =
            events.iter().filter(|e| e.kind == "token").map(|e| e.action.as_str()).collect();
        assert_eq!(token_actions, ["create", "create", "create", "revoke", "revoke", "create"]);
        for secret in [&admin.secret, &short.secret, &ops_token.secret, &rotated.secret] {
            assert!(events.iter().all(|e| !e.body.contains(secret.as_str())));
        }
    })
    .await;
}
