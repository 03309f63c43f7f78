//! Blast radius: how much of the portfolio depends on a system — the
//! agents that call it and the workflows those agents run.

use charter_model::RecordKind;
use std::collections::BTreeMap;

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

/// Who depends on what, indexed once for a whole portfolio: the agents of
/// every system and the workflows of every agent.
#[derive(Debug, Clone)]
pub struct Dependents<'a> {
    agents_of: BTreeMap<&'a str, Vec<&'a Agent>>,
    workflows_of: BTreeMap<&'a str, Vec<&'a Workflow>>,
}

impl<'a> Dependents<'a> {
    /// Indexes `agents` by the systems they depend on and `workflows` by agent.
    pub fn new(agents: &'a [Agent], workflows: &'a [Workflow]) -> Self {
        let mut agents_of: BTreeMap<&str, Vec<&Agent>> = BTreeMap::new();
        for agent in agents {
            let mut systems: Vec<&str> = agent.dependencies.iter().map(|d| d.as_str()).collect();
            systems.sort_unstable();
            systems.dedup();
            for system in systems {
                agents_of.entry(system).or_default().push(agent);
            }
        }
        let mut workflows_of: BTreeMap<&str, Vec<&Workflow>> = BTreeMap::new();
        for workflow in workflows {
            workflows_of.entry(workflow.agent_id.as_str()).or_default().push(workflow);
        }
        Dependents { agents_of, workflows_of }
    }

    /// The systems some agent depends on, in id order.
    pub fn systems(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.agents_of.keys().copied()
    }

    /// The blast radius of `system`: its agents in input order, then their
    /// workflows in id order.
    pub fn radius(&self, system: &str) -> BlastRadius {
        let dependent = self.agents_of.get(system).map_or(&[][..], Vec::as_slice);
        let mut evidence: Vec<Evidence> = dependent
            .iter()
            .map(|agent| Evidence::new(RecordKind::Agent, agent.agent_id.as_str(), "dependencies", system))
            .collect();
        let mut flows: Vec<&Workflow> = dependent
            .iter()
            .flat_map(|agent| self.workflows_of.get(agent.agent_id.as_str()).into_iter().flatten().copied())
            .collect();
        flows.sort_by(|a, b| a.workflow_id.cmp(&b.workflow_id));
        evidence.extend(flows.iter().map(|workflow| {
            Evidence::new(
                RecordKind::Workflow,
                workflow.workflow_id.as_str(),
                "agent_id",
                workflow.agent_id.as_str(),
            )
        }));
        let agents: Vec<String> = dependent.iter().map(|a| a.agent_id.to_string()).collect();
        let workflows: Vec<String> = flows.iter().map(|w| w.workflow_id.to_string()).collect();
        BlastRadius {
            system: system.to_owned(),
            size: agents.len() + workflows.len(),
            agents,
            workflows,
            evidence,
        }
    }
}

/// The blast radius of `system` (for one system; a whole portfolio indexes
/// once with [`Dependents`]).
pub fn system_blast_radius(system: &str, agents: &[Agent], workflows: &[Workflow]) -> BlastRadius {
    Dependents::new(agents, workflows).radius(system)
}
