//! The example workspace of `examples/ops-workspace`, built into the binary
//! so `charter up --example` works from any directory.

use charter_app::ImportSource;
use charter_app::import::SourceFile;

macro_rules! example_files {
    ($($name:literal),+ $(,)?) => {
        [$(($name, include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/ops-workspace/", $name)).as_slice())),+]
    };
}

/// The example workspace's files.
pub(crate) fn source() -> ImportSource {
    let files = example_files!(
        "teams.json",
        "people.json",
        "system_integrations.json",
        "agents.json",
        "agent_identities.json",
        "datasets.json",
        "workflows.json",
        "policies.json",
        "procedures.json",
        "kpis_cost.json",
        "risk_signals.json",
        "risk_signal_history.json",
        "historical_snapshots.json",
        "expected_vs_actual_value.json",
        "ownership_review_history.json",
        "observe_settings.json",
        "alert_classes.json",
        "budgets.json",
        "dlp_rules.json",
        "guard_settings.json",
    );
    ImportSource {
        origin: "the built-in example workspace".into(),
        files: files
            .iter()
            .map(|(name, bytes)| SourceFile { name: (*name).to_owned(), bytes: bytes.to_vec() })
            .collect(),
        ignored: Vec::new(),
    }
}
