//! Cedar entities from the registry, and the facts the guardrails read.
//!
//! In the example workspace a tool is a system: every system is also a
//! `Tool` (a member of its `System`), and an agent's tools are its
//! `tool_permissions` together with the systems it depends on. A tool
//! permission that names no system (`registry.read`) is a tool of tier 1.

use std::collections::{BTreeSet, HashMap, HashSet};

use cedar_policy::{Entities, Entity, EntityId, EntityTypeName, EntityUid, RestrictedExpression};
use charter_model::registry::{Agent, Dataset, Person, Policy, System, Team, Workflow};
use charter_model::{AgentStatus, Grant};

use crate::schema::{EntityType, schema};

/// Everything a decision depends on: the registry records that become
/// entities, the policies and the grants.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    /// Agents.
    pub agents: Vec<Agent>,
    /// Systems (each also a tool).
    pub systems: Vec<System>,
    /// Datasets.
    pub datasets: Vec<Dataset>,
    /// Workflows.
    pub workflows: Vec<Workflow>,
    /// People (Cedar `User`s).
    pub people: Vec<Person>,
    /// Teams.
    pub teams: Vec<Team>,
    /// Governance policies; the Cedar text of `Active` ones is enforced.
    pub policies: Vec<Policy>,
    /// Time-bound grants.
    pub grants: Vec<Grant>,
    /// Spend budgets (those exhausted stop their agents for the month).
    pub budgets: Vec<charter_model::Budget>,
    /// The workspace's name: the `Workspace` entity that writes of its
    /// records are decided on.
    pub workspace: Option<String>,
}

impl Registry {
    /// Puts `proposed` policies in place of those with the same id (or adds
    /// them): the registry a proposed policy change would give.
    pub fn propose(&mut self, proposed: &[Policy]) {
        for policy in proposed {
            self.policies.retain(|p| p.policy_id != policy.policy_id);
            self.policies.push(policy.clone());
        }
    }
}

/// What the guardrails need to know about an agent.
#[derive(Debug, Clone)]
pub(crate) struct AgentFacts {
    pub(crate) status: AgentStatus,
    /// The month (`YYYY-MM`) a hard budget of the agent (or its team) was
    /// exhausted in, and the budget.
    pub(crate) budget_exhausted: Option<(String, String)>,
    pub(crate) tools: HashSet<String>,
    pub(crate) allowed_regions: HashSet<String>,
}

/// What the guardrails need to know about a dataset.
#[derive(Debug, Clone)]
pub(crate) struct DatasetFacts {
    pub(crate) tier: u8,
    pub(crate) region: Option<String>,
}

/// The guardrails' view of the registry.
#[derive(Debug, Default)]
pub(crate) struct Facts {
    pub(crate) agents: HashMap<String, AgentFacts>,
    pub(crate) tool_tiers: HashMap<String, u8>,
    pub(crate) datasets: HashMap<String, DatasetFacts>,
    /// For each entity, the entities that refer to it: it is their parent,
    /// or their attributes name it (whether it exists or not).
    pub(crate) referrers: HashMap<Node, Vec<Node>>,
}

/// An entity as the dependency index keys it.
pub(crate) type Node = (EntityType, String);

/// The node of a Cedar uid (none for a type outside the schema).
pub(crate) fn node(uid: &EntityUid) -> Option<Node> {
    let entity_type = EntityType::parse(&uid.type_name().to_string())?;
    Some((entity_type, uid.id().unescaped().to_owned()))
}

/// The uid `Type::"id"`.
pub(crate) fn uid(entity_type: EntityType, id: &str) -> EntityUid {
    EntityUid::from_type_name_and_id(type_name(entity_type), EntityId::new(id))
}

/// The schema name of `entity_type`, parsed once.
fn type_name(entity_type: EntityType) -> EntityTypeName {
    use std::sync::LazyLock;
    // INVARIANT: the names are the schema's own (checked by the schema tests).
    static NAMES: LazyLock<Vec<EntityTypeName>> = LazyLock::new(|| {
        EntityType::ALL.iter().map(|t| t.name().parse().expect("schema type names parse")).collect()
    });
    NAMES[EntityType::ALL.iter().position(|t| *t == entity_type).unwrap_or_default()].clone()
}

fn string(value: &str) -> RestrictedExpression {
    RestrictedExpression::new_string(value.to_owned())
}

fn long(value: impl Into<i64>) -> RestrictedExpression {
    RestrictedExpression::new_long(value.into())
}

fn strings<'a>(values: impl IntoIterator<Item = &'a str>) -> RestrictedExpression {
    let unique: BTreeSet<&str> = values.into_iter().collect();
    RestrictedExpression::new_set(unique.into_iter().map(string))
}

/// Collects the attributes of one entity, leaving out absent optional ones.
#[derive(Default)]
struct Attrs(HashMap<String, RestrictedExpression>);

impl Attrs {
    fn set(mut self, name: &str, value: RestrictedExpression) -> Self {
        self.0.insert(name.to_owned(), value);
        self
    }

    fn maybe(self, name: &str, value: Option<RestrictedExpression>) -> Self {
        match value {
            Some(value) => self.set(name, value),
            None => self,
        }
    }
}

/// A registry that cannot be turned into entities (which validation of the
/// records should have prevented): every decision denies.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the registry cannot be turned into policy entities: {0}")]
pub struct RegistryError(pub String);

/// Builds the Cedar entities of `registry` and the guardrails' facts.
pub(crate) fn build(registry: &Registry) -> Result<(Entities, Facts), RegistryError> {
    let mut entities: Vec<Entity> = Vec::new();
    let mut facts = Facts::default();
    let add = |entities: &mut Vec<Entity>, uid: EntityUid, attrs: Attrs, parents: HashSet<EntityUid>| {
        Entity::new(uid.clone(), attrs.0, parents)
            .map(|entity| entities.push(entity))
            .map_err(|error| RegistryError(format!("{uid}: {error}")))
    };
    let link = |facts: &mut Facts, from: &EntityUid, to: &HashSet<EntityUid>, named: Vec<EntityUid>| {
        let Some(from) = node(from) else { return };
        for target in to.iter().chain(&named).filter_map(node) {
            facts.referrers.entry(target).or_default().push(from.clone());
        }
    };

    // Teams, by id and by name (agents name their team by name). A team
    // named only by an agent's owner_team is a team too, with the name as id.
    let mut team_of_name: HashMap<&str, &str> = HashMap::new();
    let mut teams: HashSet<String> = HashSet::new();
    for team in &registry.teams {
        team_of_name.insert(team.name.as_str(), team.team_id.as_str());
        teams.insert(team.team_id.to_string());
        let attrs = Attrs::default().set("name", string(&team.name));
        add(&mut entities, uid(EntityType::Team, team.team_id.as_str()), attrs, HashSet::new())?;
    }
    let mut team_uid = |entities: &mut Vec<Entity>, name: &str| -> Result<EntityUid, RegistryError> {
        let id = team_of_name.get(name).copied().unwrap_or(name);
        if teams.insert(id.to_owned()) {
            add(
                entities,
                uid(EntityType::Team, id),
                Attrs::default().set("name", string(name)),
                HashSet::new(),
            )?;
        }
        Ok(uid(EntityType::Team, id))
    };

    for person in &registry.people {
        let mut parents = HashSet::new();
        if let Some(team) = &person.team {
            parents.insert(team_uid(&mut entities, team.as_str())?);
        }
        let attrs = Attrs::default()
            .set("name", string(&person.name))
            .set("roles", strings(person.roles.iter().map(|role| role.as_str())));
        let user = uid(EntityType::User, person.person_id.as_str());
        link(&mut facts, &user, &parents, Vec::new());
        add(&mut entities, user, attrs, parents)?;
    }

    let mut tools: HashSet<String> = HashSet::new();
    for system in &registry.systems {
        let id = system.system_id.as_str();
        let tier = system.tier.unwrap_or(1);
        let attrs = Attrs::default()
            .set("type", string(&system.system_type))
            .set("tier", long(tier))
            .maybe("auth_status", system.auth_status.map(|status| string(status.as_str())))
            .maybe("owner_team", system.owner_team.as_deref().map(string));
        add(&mut entities, uid(EntityType::System, id), attrs, HashSet::new())?;
        let parents = HashSet::from([uid(EntityType::System, id)]);
        link(&mut facts, &uid(EntityType::Tool, id), &parents, Vec::new());
        add(&mut entities, uid(EntityType::Tool, id), Attrs::default().set("tier", long(tier)), parents)?;
        tools.insert(id.to_owned());
        facts.tool_tiers.insert(id.to_owned(), tier);
    }

    for dataset in &registry.datasets {
        let id = dataset.dataset_id.as_str();
        let tier = dataset.tier.unwrap_or(1);
        let attrs = Attrs::default()
            .set("name", string(&dataset.dataset_name))
            .set("tier", long(tier))
            .set("scope", string(dataset.scope.as_str()))
            .maybe("classification", dataset.classification.as_deref().map(string))
            .maybe("region", dataset.region.as_deref().map(string))
            .maybe(
                "owner_agent",
                dataset.managed_by_agent.as_ref().map(|agent| {
                    RestrictedExpression::new_entity_uid(uid(EntityType::Agent, agent.as_str()))
                }),
            )
            .maybe("owner", dataset.owner.as_deref().map(string));
        let owner = dataset.managed_by_agent.iter().map(|agent| uid(EntityType::Agent, agent.as_str()));
        link(&mut facts, &uid(EntityType::Dataset, id), &HashSet::new(), owner.collect());
        add(&mut entities, uid(EntityType::Dataset, id), attrs, HashSet::new())?;
        facts.datasets.insert(id.to_owned(), DatasetFacts { tier, region: dataset.region.clone() });
    }

    for agent in &registry.agents {
        let id = agent.agent_id.as_str();
        let agent_tools: BTreeSet<&str> =
            agent.tool_permissions.iter().chain(&agent.dependencies).map(|key| key.as_str()).collect();
        for tool in &agent_tools {
            if tools.insert((*tool).to_owned()) {
                add(
                    &mut entities,
                    uid(EntityType::Tool, tool),
                    Attrs::default().set("tier", long(1)),
                    HashSet::new(),
                )?;
                facts.tool_tiers.insert((*tool).to_owned(), 1);
            }
        }
        let mut parents = HashSet::new();
        if let Some(team) = &agent.owner_team {
            parents.insert(team_uid(&mut entities, team)?);
        }
        let attrs = Attrs::default()
            .set("name", string(&agent.name))
            .set("status", string(agent.status.as_str()))
            .maybe("criticality", agent.criticality.map(|c| string(c.as_str())))
            .maybe("owner_team", agent.owner_team.as_deref().map(string))
            .maybe(
                "daily_invocations",
                agent.daily_invocations.map(|n| long(i64::try_from(n).unwrap_or(i64::MAX))),
            )
            .set(
                "tools",
                RestrictedExpression::new_set(
                    agent_tools
                        .iter()
                        .map(|tool| RestrictedExpression::new_entity_uid(uid(EntityType::Tool, tool))),
                ),
            )
            .maybe(
                "primary_dataset",
                agent
                    .primary_dataset
                    .as_ref()
                    .map(|d| RestrictedExpression::new_entity_uid(uid(EntityType::Dataset, d.as_str()))),
            )
            .set("allowed_regions", strings(agent.allowed_regions.iter().map(String::as_str)));
        let named = agent_tools
            .iter()
            .map(|tool| uid(EntityType::Tool, tool))
            .chain(agent.primary_dataset.iter().map(|d| uid(EntityType::Dataset, d.as_str())))
            .collect();
        link(&mut facts, &uid(EntityType::Agent, id), &parents, named);
        add(&mut entities, uid(EntityType::Agent, id), attrs, parents)?;
        facts.agents.insert(
            id.to_owned(),
            AgentFacts {
                status: agent.status,
                budget_exhausted: registry
                    .budgets
                    .iter()
                    .filter(|budget| budget.hard)
                    .filter(|budget| {
                        budget.agent_id.as_ref().is_some_and(|a| a.as_str() == id)
                            || budget
                                .team
                                .as_deref()
                                .is_some_and(|team| agent.owner_team.as_deref() == Some(team))
                    })
                    .find_map(|budget| {
                        budget.exhausted_in.clone().map(|month| (month, budget.budget_id.to_string()))
                    }),
                tools: agent_tools.iter().map(|tool| (*tool).to_owned()).collect(),
                allowed_regions: agent.allowed_regions.iter().cloned().collect(),
            },
        );
    }

    for workflow in &registry.workflows {
        let attrs = Attrs::default()
            .set(
                "agent",
                RestrictedExpression::new_entity_uid(uid(EntityType::Agent, workflow.agent_id.as_str())),
            )
            .set("human_in_the_loop", RestrictedExpression::new_bool(workflow.human_in_the_loop));
        let workflow_uid = uid(EntityType::Workflow, workflow.workflow_id.as_str());
        let agent = vec![uid(EntityType::Agent, workflow.agent_id.as_str())];
        link(&mut facts, &workflow_uid, &HashSet::new(), agent);
        add(&mut entities, workflow_uid, attrs, HashSet::new())?;
    }

    if let Some(workspace) = &registry.workspace {
        add(&mut entities, uid(EntityType::Workspace, workspace), Attrs::default(), HashSet::new())?;
    }

    let entities = Entities::from_entities(entities, Some(schema()))
        .map_err(|error| RegistryError(error.to_string()))?;
    Ok((entities, facts))
}
