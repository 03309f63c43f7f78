//! `charter assess` as a use case, on SQLite and PostgreSQL: the example's
//! escalations, and one snapshot per agent with KPIs, saved once.

use std::path::PathBuf;
use std::sync::Arc;

use charter_app::{App, Caller, FixedClock, ImportSource};
use charter_model::{RecordKind, WorkspaceName};
use charter_store::testing::each_backend;

#[tokio::test]
async fn the_assessment_escalates_the_invoice_agent_and_saves_snapshots_once() {
    each_backend(|store| async move {
        let app = App::with_clock(store, Arc::new(FixedClock("2025-01-15T09:00:00Z".parse().unwrap())));
        let ops = WorkspaceName::new("ops").unwrap();
        let local = Caller::local("tester");
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/ops-workspace");
        app.import(&local, &ops, ImportSource::from_dir(&dir).unwrap(), true).await.unwrap();
        let as_of = "2025-01-15".parse().unwrap();

        let dry = app.assess(&local, &ops, as_of, false, &charter_risk::Config::default()).await.unwrap();
        assert!(dry.saved.is_empty());
        assert!(
            dry.assessment
                .escalations
                .iter()
                .any(|e| e.subject == "agent_finance_01" && e.rule == "negative_roi_high_criticality")
        );

        let first = app.assess(&local, &ops, as_of, true, &charter_risk::Config::default()).await.unwrap();
        assert_eq!(first.saved, ["agent_finance_01@2025-01-15", "agent_sales_01@2025-01-15"]);
        assert!(first.skipped.iter().any(|s| s.starts_with("agent_support_02: no KPI record")));
        let stored =
            app.get_record(&local, &ops, RecordKind::Snapshot, "agent_finance_01@2025-01-15").await.unwrap();
        assert_eq!(stored.version, 1);
        let again = app.assess(&local, &ops, as_of, true, &charter_risk::Config::default()).await.unwrap();
        assert!(again.saved.is_empty(), "the same figures are not written twice: {:?}", again.saved);
        let stored =
            app.get_record(&local, &ops, RecordKind::Snapshot, "agent_finance_01@2025-01-15").await.unwrap();
        assert_eq!(stored.version, 1);
    })
    .await;
}
