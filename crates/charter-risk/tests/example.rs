//! Acceptance on the example workspace, for the parts built so far: the
//! SendGrid system is flagged for expiring credentials and high latency
//! with the sales workflow in its blast radius, and the support agent's
//! `zendesk` and `knowledge_base`, which no system record describes, are
//! flagged as undocumented. Every conclusion names its records.

use std::collections::BTreeMap;

use charter_model::{Agent, System, Workflow};
use charter_risk::{Config, integration_score, system_blast_radius};

fn load<T: serde::de::DeserializeOwned>(file: &str) -> Vec<T> {
    let path = format!("{}/../../examples/ops-workspace/{file}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn sendgrid_and_undocumented_dependencies_are_flagged_with_their_records() {
    let agents: Vec<Agent> = load("agents.json");
    let systems: Vec<System> = load("system_integrations.json");
    let workflows: Vec<Workflow> = load("workflows.json");
    let by_id: BTreeMap<&str, &System> = systems.iter().map(|s| (s.system_id.as_str(), s)).collect();
    let config = Config::default();
    assert!(config.problems().is_empty());

    let sales = agents.iter().find(|a| a.agent_id.as_str() == "agent_sales_01").unwrap();
    let (_, flags) = integration_score(sales, &by_id, &config);
    let sendgrid: Vec<&str> = flags.iter().filter(|f| f.system == "email_sendgrid").map(|f| f.kind).collect();
    assert!(sendgrid.contains(&"auth_expiring") && sendgrid.contains(&"latency"), "{sendgrid:?}");
    for flag in flags.iter().filter(|f| f.system == "email_sendgrid") {
        assert!(flag.evidence.iter().all(|e| e.kind == "system" && e.id == "email_sendgrid"), "{flag:?}");
    }
    let radius = system_blast_radius("email_sendgrid", &agents, &workflows);
    assert_eq!(radius.agents, ["agent_sales_01"]);
    assert_eq!(radius.workflows, ["wf_sales_outreach"]);
    assert!(radius.evidence.iter().any(|e| e.kind == "workflow" && e.id == "wf_sales_outreach"));

    let support = agents.iter().find(|a| a.agent_id.as_str() == "agent_support_02").unwrap();
    let (score, flags) = integration_score(support, &by_id, &config);
    let undocumented: Vec<&str> =
        flags.iter().filter(|f| f.kind == "undocumented").map(|f| f.system.as_str()).collect();
    assert_eq!(undocumented, ["zendesk", "knowledge_base"]);
    let component = score.components.iter().find(|c| c.name == "undocumented").unwrap();
    assert_eq!(component.penalty, 100.0);
    assert_eq!(component.evidence.len(), 2);
}
