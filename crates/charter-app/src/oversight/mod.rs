//! Runtime oversight of agents: their telemetry in (`ingest.rs`: OTLP/HTTP
//! and Charter's own JSON), the runs it closes into, run reports
//! (`report.rs`), post-run validation of their outputs (`validation.rs`)
//! and health signals with their baselines and anomalies (`health.rs`). The computations are `charter-observe`'s.

pub(crate) mod alerts;
pub(crate) mod budgets;
pub(crate) mod health;
pub(crate) mod incidents;
pub(crate) mod ingest;
pub(crate) mod kpis;
pub(crate) mod report;
pub(crate) mod validation;
pub(crate) mod watch;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use charter_model::{Agent, Dataset, ObserveSettings, Record, RecordKind, System};
use charter_store::WorkspaceRow;

use crate::core::audit::POLICY_INPUTS;
use crate::{App, AppError, Result};

/// What the ingest looks up for every span: registered agents by id and
/// by name, tools and systems by id and by name, and what each agent is
/// declared to use. Built once per version of the decision point's inputs
/// (every write of an agent or a system advances it).
#[derive(Debug, Default)]
pub(crate) struct Directory {
    version: u64,
    agents: HashMap<String, String>,
    tools: HashMap<String, String>,
    datasets: HashMap<String, String>,
    /// Each agent's owner team.
    teams: HashMap<String, String>,
    declared: HashMap<String, Declared>,
}

/// What an agent's record says it uses.
#[derive(Debug, Default)]
pub(crate) struct Declared {
    /// Its tool permissions and dependencies.
    pub tools: BTreeSet<String>,
    /// Its primary dataset and the datasets it manages.
    pub datasets: BTreeSet<String>,
}

impl Directory {
    /// The registered agent with id or name `name`.
    pub(crate) fn agent(&self, name: &str) -> Option<String> {
        self.agents.get(name).cloned()
    }

    /// The registered tool or system with id or name `name`.
    pub(crate) fn tool(&self, name: &str) -> Option<String> {
        self.tools.get(name).cloned()
    }

    /// The registered dataset with id or name `name`.
    pub(crate) fn dataset(&self, name: &str) -> Option<String> {
        self.datasets.get(name).cloned()
    }

    /// The owner team of `agent`.
    pub(crate) fn team(&self, agent: &str) -> Option<&str> {
        self.teams.get(agent).map(String::as_str)
    }

    /// What `agent` is declared to use.
    pub(crate) fn declared(&self, agent: &str) -> Option<&Declared> {
        self.declared.get(agent)
    }
}

impl App {
    /// The directory of `row` as of the latest committed registry.
    pub(crate) async fn directory(&self, row: &WorkspaceRow) -> Result<Arc<Directory>> {
        let version = self.store.counter(row.id, POLICY_INPUTS).await?;
        let cached = self.cache.directories.read().unwrap_or_else(|p| p.into_inner()).get(&row.id).cloned();
        if let Some(directory) = cached.filter(|d| d.version == version) {
            return Ok(directory);
        }
        let mut directory = Directory { version, ..Directory::default() };
        let agents: Vec<Agent> = self.read_values(row).await?;
        let systems: Vec<System> = self.read_values(row).await?;
        let datasets: Vec<Dataset> = self.read_values(row).await?;
        for dataset in &datasets {
            let id = dataset.dataset_id.to_string();
            directory.datasets.entry(dataset.dataset_name.clone()).or_insert_with(|| id.clone());
            directory.datasets.insert(id.clone(), id);
        }
        for system in &systems {
            let id = system.system_id.to_string();
            if let Some(name) = &system.name {
                directory.tools.entry(name.clone()).or_insert_with(|| id.clone());
            }
            directory.tools.insert(id.clone(), id);
        }
        for agent in &agents {
            let id = agent.agent_id.to_string();
            directory.agents.entry(agent.name.clone()).or_insert_with(|| id.clone());
            directory.agents.insert(id.clone(), id.clone());
            let declared = Declared {
                tools: agent
                    .tool_permissions
                    .iter()
                    .chain(&agent.dependencies)
                    .map(ToString::to_string)
                    .collect(),
                datasets: agent.primary_dataset.iter().map(ToString::to_string).collect(),
            };
            if let Some(team) = &agent.owner_team {
                directory.teams.insert(id.clone(), team.clone());
            }
            directory.declared.insert(id, declared);
        }
        for dataset in &datasets {
            if let Some(agent) = &dataset.managed_by_agent
                && let Some(declared) = directory.declared.get_mut(agent.as_str())
            {
                declared.datasets.insert(dataset.dataset_id.to_string());
            }
        }
        let directory = Arc::new(directory);
        self.cache.directories.write().unwrap_or_else(|p| p.into_inner()).insert(row.id, directory.clone());
        Ok(directory)
    }

    /// The workspace's oversight settings (defaults without a record).
    pub(crate) async fn observe_settings(&self, row: &WorkspaceRow) -> Result<ObserveSettings> {
        let Some(stored) = self.store.record(row.id, RecordKind::ObserveSettings, "default").await? else {
            return Ok(ObserveSettings::defaults());
        };
        match RecordKind::ObserveSettings.parse_json(&stored.body) {
            Ok(Record::ObserveSettings(settings)) => Ok(*settings),
            _ => Err(AppError::corrupt("observe_settings \"default\" does not parse")),
        }
    }
}

/// The agent a logged decision denied, with the decision as a guardrail
/// hit; `None` for any other event.
pub(crate) fn denied_to_agent(
    event: &charter_store::EventRow,
) -> Result<Option<(String, charter_model::GuardrailHit)>> {
    if event.kind != charter_policy::DECISION {
        return Ok(None);
    }
    let decoded = charter_model::AuditEvent::decode(&event.body)
        .map_err(|error| AppError::corrupt(format!("event {}: {error}", event.seq)))?;
    let Some((at, logged)) = crate::decisions::replay::decision_in(&decoded)? else {
        return Ok(None);
    };
    // Only agents an id can name: a request for `Agent::""` is denied and
    // logged, but no agent's health can hold it.
    if logged.decision != charter_policy::Effect::Deny
        || logged.principal.entity_type != "Agent"
        || charter_model::AgentId::new(logged.principal.id.clone()).is_err()
    {
        return Ok(None);
    }
    let hit = charter_model::GuardrailHit {
        seq: event.seq,
        at,
        action: logged.action,
        resource: logged.resource.to_string(),
        reasons: logged.reasons,
    };
    Ok(Some((logged.principal.id, hit)))
}

/// The price table of `settings`, as `charter-observe` reads it.
pub(crate) fn prices(settings: &ObserveSettings) -> charter_observe::PriceTable {
    charter_observe::PriceTable {
        models: settings
            .prices
            .iter()
            .map(|(model, price)| (model.clone(), (price.input_per_mtok, price.output_per_mtok)))
            .collect(),
    }
}
