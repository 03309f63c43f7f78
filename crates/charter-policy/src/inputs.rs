//! Which decisions a registry write can change.
//!
//! A decision reads a few entities: its principal and resource, the
//! entities they link to (parents, entities their attributes name, and so
//! on transitively), and the entities the enforced policies name literally;
//! plus every policy and grant. A registry write changes the entities its
//! record becomes, before and after the write ([`record_inputs`]). A
//! decision made before a write that changed none of the entities it read
//! is the decision that would be made after it ([`Engine::extend_affected`]), so
//! it may still be logged after the write.
//!
//! That rests on one assumption: records are validated when written, so a
//! write never makes the registry unreadable as a whole.

use std::collections::{HashMap, HashSet};

use charter_model::Record;

use crate::engine::{Engine, EntityRef};
use crate::entities::Node;
use crate::schema::EntityType;

/// Something a registry write may change that decisions read.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Input {
    /// One entity, by type and id; it may exist before the write, after it,
    /// or neither.
    Entity(EntityType, String),
    /// Every decision's inputs: a policy or a grant changed.
    Everything,
}

/// How [`Input::Everything`] is stored as a (type, id) pair.
const EVERYTHING: &str = "*";

impl Input {
    /// The input as a (type, id) pair, for storage.
    pub fn to_pair(&self) -> (String, String) {
        match self {
            Input::Entity(entity_type, id) => (entity_type.name().to_owned(), id.clone()),
            Input::Everything => (EVERYTHING.to_owned(), String::new()),
        }
    }

    /// The input a stored (type, id) pair names; an unknown type reads as
    /// everything, which is always safe.
    pub fn from_pair(entity_type: &str, id: &str) -> Input {
        match EntityType::parse(entity_type) {
            Some(entity_type) => Input::Entity(entity_type, id.to_owned()),
            None => Input::Everything,
        }
    }
}

/// The inputs that a write setting `record` changes: the entities the
/// record becomes (an agent also makes the teams and tools it names exist;
/// a system is a tool too; a team is found by id and by name). A write
/// changes the inputs of the record before it and those after it.
pub fn record_inputs(record: &Record) -> Vec<Input> {
    let entity = |entity_type, id: &str| Input::Entity(entity_type, id.to_owned());
    match record {
        Record::Agent(agent) => std::iter::once(entity(EntityType::Agent, agent.agent_id.as_str()))
            .chain(agent.owner_team.as_deref().map(|team| entity(EntityType::Team, team)))
            .chain(
                agent
                    .tool_permissions
                    .iter()
                    .chain(&agent.dependencies)
                    .map(|tool| entity(EntityType::Tool, tool.as_str())),
            )
            .collect(),
        Record::Person(person) => std::iter::once(entity(EntityType::User, person.person_id.as_str()))
            .chain(person.team.as_ref().map(|team| entity(EntityType::Team, team.as_str())))
            .collect(),
        Record::System(system) => vec![
            entity(EntityType::System, system.system_id.as_str()),
            entity(EntityType::Tool, system.system_id.as_str()),
        ],
        Record::Team(team) => {
            vec![entity(EntityType::Team, team.team_id.as_str()), entity(EntityType::Team, &team.name)]
        }
        Record::Dataset(dataset) => vec![entity(EntityType::Dataset, dataset.dataset_id.as_str())],
        Record::Workflow(workflow) => vec![entity(EntityType::Workflow, workflow.workflow_id.as_str())],
        Record::Budget(budget) => match &budget.agent_id {
            Some(agent) => vec![entity(EntityType::Agent, agent.as_str())],
            None => vec![Input::Everything],
        },
        Record::Policy(_) | Record::Grant(_) => vec![Input::Everything],
        _ => Vec::new(),
    }
}

/// The entities whose decisions some registry writes may have changed, on
/// one engine: those the writes changed and every entity that refers to
/// them, transitively; or every entity, when a policy or grant changed or a
/// policy names a changed entity. Grown write by write with
/// [`Engine::extend_affected`].
#[derive(Debug, Clone, Default)]
pub struct Affected {
    everything: bool,
    entities: HashMap<EntityType, HashSet<String>>,
}

impl Affected {
    /// Whether a decision that read `read` (its principal and resource, and
    /// any entity whose existence chose them) may have changed.
    pub fn touches<'a>(&self, read: impl IntoIterator<Item = &'a EntityRef>) -> bool {
        self.everything
            || read.into_iter().any(|entity| {
                EntityType::parse(&entity.entity_type)
                    .and_then(|entity_type| self.entities.get(&entity_type))
                    .is_some_and(|ids| ids.contains(&entity.id))
            })
    }
}

impl Engine {
    /// Adds to `affected` the entities whose decisions writes that changed
    /// `changed` may change on this engine.
    ///
    /// A decision reads its principal, its resource, the entities the
    /// enforced policies name, and every entity those refer to,
    /// transitively. So it may change exactly when a changed entity is
    /// among those: when its principal or resource refers (transitively) to
    /// one, which is what `affected` collects, or when a policy does.
    pub fn extend_affected(&self, affected: &mut Affected, changed: &[Input]) {
        if affected.everything {
            return;
        }
        if self.is_unreadable() {
            affected.everything = true;
            return;
        }
        let mut stack: Vec<Node> = Vec::new();
        for input in changed {
            match input {
                Input::Everything => {
                    affected.everything = true;
                    return;
                }
                Input::Entity(entity_type, id) => stack.push((*entity_type, id.clone())),
            }
        }
        while let Some(entity) = stack.pop() {
            if self.names(&entity) {
                affected.everything = true;
                return;
            }
            let ids = affected.entities.entry(entity.0).or_default();
            if ids.contains(&entity.1) {
                continue;
            }
            stack.extend(self.referrers(&entity).iter().cloned());
            ids.insert(entity.1);
        }
    }

    /// Whether decisions made on this engine that read `read` would be made
    /// alike after writes that changed `changed`.
    pub fn unaffected<'a>(&self, read: impl IntoIterator<Item = &'a EntityRef>, changed: &[Input]) -> bool {
        let mut affected = Affected::default();
        self.extend_affected(&mut affected, changed);
        !affected.touches(read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Registry;
    use charter_model::registry::{Agent, Policy, System, Team};

    fn parse<T: serde::de::DeserializeOwned>(json: serde_json::Value) -> T {
        serde_json::from_value(json).expect("test record")
    }

    fn registry() -> Registry {
        Registry {
            agents: vec![
                parse::<Agent>(serde_json::json!({
                    "agent_id": "agent_ops_01", "name": "one", "owner_team": "Ops",
                    "tool_permissions": ["crm"], "status": "active"
                })),
                parse::<Agent>(serde_json::json!({
                    "agent_id": "agent_fin_02", "name": "two", "owner_team": "Finance", "status": "active"
                })),
            ],
            systems: vec![parse::<System>(
                serde_json::json!({"system_id": "crm", "type": "CRM", "name": "CRM"}),
            )],
            teams: vec![parse::<Team>(serde_json::json!({"team_id": "TEAM-OPS", "name": "Ops"}))],
            ..Registry::default()
        }
    }

    fn agent(id: &str) -> EntityRef {
        EntityRef { entity_type: "Agent".into(), id: id.into() }
    }

    fn tool(id: &str) -> EntityRef {
        EntityRef { entity_type: "Tool".into(), id: id.into() }
    }

    fn entity(entity_type: EntityType, id: &str) -> Input {
        Input::Entity(entity_type, id.into())
    }

    #[test]
    fn a_write_affects_the_decisions_that_read_what_it_changed() {
        let engine = Engine::new(&registry());
        let read = [agent("agent_ops_01"), tool("crm")];
        // Unrelated: another agent, another team, a new tool.
        for unrelated in [
            entity(EntityType::Agent, "agent_fin_02"),
            entity(EntityType::Team, "Finance"),
            entity(EntityType::Team, "TEAM-NEW"),
            entity(EntityType::Tool, "mail"),
        ] {
            assert!(engine.unaffected(&read, std::slice::from_ref(&unrelated)), "{unrelated:?}");
        }
        // Read: the principal, the resource, the principal's team (by id),
        // the system behind the tool, a policy or grant.
        for related in [
            entity(EntityType::Agent, "agent_ops_01"),
            entity(EntityType::Tool, "crm"),
            entity(EntityType::Team, "TEAM-OPS"),
            entity(EntityType::System, "crm"),
            Input::Everything,
        ] {
            assert!(!engine.unaffected(&read, std::slice::from_ref(&related)), "{related:?}");
        }
        // A resource that does not exist yet is read too: creating it
        // changes the decision.
        assert!(
            !engine.unaffected(&[agent("agent_ops_01"), tool("mail")], &[entity(EntityType::Tool, "mail")])
        );
        assert!(engine.unaffected(&read, &[]));
    }

    #[test]
    fn entities_a_policy_names_are_read_by_every_decision() {
        let mut registry = registry();
        registry.policies.push(parse::<Policy>(serde_json::json!({
            "policy_id": "POL-ACCESS-TEAMS", "title": "teams", "purpose": "p", "rules": "r",
            "owner": "o", "status": "active",
            "cedar": "permit(principal, action, resource) when { Team::\"Finance\".name == \"Finance\" };"
        })));
        let engine = Engine::new(&registry);
        assert!(engine.unreadable_policies().is_empty(), "{:?}", engine.unreadable_policies());
        let read = [agent("agent_ops_01"), tool("crm")];
        assert!(!engine.unaffected(&read, &[entity(EntityType::Team, "Finance")]));
        assert!(engine.unaffected(&read, &[entity(EntityType::Team, "Legal")]));
    }

    #[test]
    fn a_record_changes_the_entities_it_becomes() {
        let agent = Record::Agent(Box::new(registry().agents[0].clone()));
        assert_eq!(
            record_inputs(&agent),
            vec![
                entity(EntityType::Agent, "agent_ops_01"),
                entity(EntityType::Team, "Ops"),
                entity(EntityType::Tool, "crm")
            ]
        );
        let team = Record::Team(Box::new(registry().teams[0].clone()));
        assert_eq!(
            record_inputs(&team),
            vec![entity(EntityType::Team, "TEAM-OPS"), entity(EntityType::Team, "Ops")]
        );
        for input in record_inputs(&agent).into_iter().chain([Input::Everything]) {
            let (entity_type, id) = input.to_pair();
            assert_eq!(Input::from_pair(&entity_type, &id), input);
        }
    }
}
