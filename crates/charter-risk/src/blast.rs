//! Blast radius: how much of the portfolio depends on a system — the
//! agents that call it and the workflows those agents run.

use charter_model::{Agent, Workflow};
use serde::Serialize;

use crate::evidence::Evidence;

/// What depends on one system.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BlastRadius {
    /// The system.
    pub system: String,
    /// Agents that depend on it.
    pub agents: Vec<String>,
    /// Workflows of those agents.
    pub workflows: Vec<String>,
    /// Agents plus workflows.
    pub size: usize,
    /// The records it was computed from.
    pub evidence: Vec<Evidence>,
}

/// The blast radius of `system`.
pub fn system_blast_radius(system: &str, agents: &[Agent], workflows: &[Workflow]) -> BlastRadius {
    let mut evidence = Vec::new();
    let dependent: Vec<&Agent> =
        agents.iter().filter(|a| a.dependencies.iter().any(|d| d.as_str() == system)).collect();
    for agent in &dependent {
        evidence.push(Evidence::new("agent", agent.agent_id.as_str(), "dependencies", system));
    }
    let mut flows = Vec::new();
    for workflow in workflows {
        if dependent.iter().any(|a| a.agent_id == workflow.agent_id) {
            evidence.push(Evidence::new(
                "workflow",
                workflow.workflow_id.as_str(),
                "agent_id",
                workflow.agent_id.as_str(),
            ));
            flows.push(workflow.workflow_id.to_string());
        }
    }
    let agents: Vec<String> = dependent.iter().map(|a| a.agent_id.to_string()).collect();
    BlastRadius {
        system: system.to_owned(),
        size: agents.len() + flows.len(),
        agents,
        workflows: flows,
        evidence,
    }
}
