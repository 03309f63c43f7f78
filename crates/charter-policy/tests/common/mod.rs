//! The example workspace as a policy registry, with the test fixture's
//! extra agents and grants.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use charter_model::Timestamp;
use charter_policy::Registry;
use serde::de::DeserializeOwned;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn load<T: DeserializeOwned>(path: PathBuf) -> Vec<T> {
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The example workspace's registry.
pub(crate) fn example() -> Registry {
    let dir = root().join("examples/ops-workspace");
    let mut agents = load(dir.join("agents.json"));
    agents.extend(load(dir.join("agent_identities.json")));
    Registry {
        agents,
        systems: load(dir.join("system_integrations.json")),
        datasets: load(dir.join("datasets.json")),
        workflows: load(dir.join("workflows.json")),
        people: load(dir.join("people.json")),
        teams: load(dir.join("teams.json")),
        policies: load(dir.join("policies.json")),
        grants: Vec::new(),
        budgets: Vec::new(),
        workspace: Some("ops".into()),
    }
}

/// The example with the fixture's paused and retired agents and its grants.
pub(crate) fn fixture() -> Registry {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixture");
    let mut registry = example();
    registry.agents.extend(load(dir.join("agents.json")));
    registry.grants = load(dir.join("grants.json"));
    registry
}

/// The time the cases are decided at unless they say otherwise.
pub(crate) fn now() -> Timestamp {
    "2026-11-22T10:00:00Z".parse().expect("a timestamp")
}

/// Loads policy cases.
pub(crate) fn cases(name: &str) -> Vec<charter_policy::PolicyCase> {
    load(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases").join(name))
}
