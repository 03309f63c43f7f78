//! The impact of a schema change (PROC-ANALYZE-SCHEMA-CHANGE steps 2-3):
//! every dataset downstream with the path that reaches it and the fields
//! that reference a changed field, the agents that manage or use those
//! datasets, the workflows of those agents, the policies that name any of
//! them, and the owners to notify.
//!
//! [`Index`] is built once from the registry; each analysis then costs
//! what it reaches, not the size of the catalog.

use std::collections::{BTreeMap, HashMap, HashSet};

use charter_model::grant::Grant;
use charter_model::{Agent, ChangeType, Dataset, Policy, Team, Timestamp, Workflow};
use serde::Serialize;

use crate::diff::Diff;
use crate::graph::{Catalog, EdgeKinds, Walker};

/// The registry records an analysis reads.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImpactRecords<'a> {
    /// Every dataset of the catalog.
    pub datasets: &'a [Dataset],
    /// Every agent.
    pub agents: &'a [Agent],
    /// Every workflow.
    pub workflows: &'a [Workflow],
    /// Every policy.
    pub policies: &'a [Policy],
    /// Every grant (only those holding at the analysis time count).
    pub grants: &'a [Grant],
    /// Every team (to find the lead who owns a team's agents).
    pub teams: &'a [Team],
}

#[derive(Debug, Clone, Copy)]
enum Use<'a> {
    Manages,
    Primary,
    Grant(&'a Grant),
}

/// The registry, indexed for impact analysis.
#[derive(Debug)]
pub struct Index<'a> {
    registry: ImpactRecords<'a>,
    catalog: Catalog,
    /// Dataset of each node.
    datasets: Vec<&'a Dataset>,
    /// `(node, field)` to the `(node, field)`s that reference it.
    referenced_by: HashMap<(u32, &'a str), Vec<(u32, &'a str)>>,
    /// Dataset id to the agents that manage or use it.
    users: Vec<Vec<(usize, Use<'a>)>>,
    /// Dataset id of each node, contiguous.
    ids: Vec<&'a str>,
    workflows: HashMap<&'a str, Vec<&'a Workflow>>,
    /// Identifier-like words of each policy's text.
    policy_words: Vec<HashSet<&'a str>>,
    leads: HashMap<String, &'a str>,
}

impl<'a> Index<'a> {
    /// Indexes `registry`.
    pub fn new(registry: ImpactRecords<'a>) -> Index<'a> {
        let catalog = Catalog::from_datasets(registry.datasets);
        let datasets: Vec<&Dataset> = registry.datasets.iter().collect();
        let mut referenced_by: HashMap<(u32, &str), Vec<(u32, &str)>> = HashMap::new();
        for (node, dataset) in datasets.iter().enumerate() {
            for field in &dataset.fields {
                if let Some(reference) = &field.references
                    && let Some(target) = catalog.node(reference.dataset.as_str())
                {
                    referenced_by
                        .entry((target, reference.field.as_str()))
                        .or_default()
                        .push((node as u32, field.name.as_str()));
                }
            }
        }
        let mut users: Vec<Vec<(usize, Use)>> = vec![Vec::new(); datasets.len()];
        let ids: Vec<&str> = datasets.iter().map(|d| d.dataset_id.as_str()).collect();
        let mut use_of = |dataset: &str, usage: (usize, Use<'a>)| {
            if let Some(node) = catalog.node(dataset) {
                users[node as usize].push(usage);
            }
        };
        let agent_index: HashMap<&str, usize> =
            registry.agents.iter().enumerate().map(|(i, a)| (a.agent_id.as_str(), i)).collect();
        for dataset in registry.datasets {
            if let Some(agent) = dataset.managed_by_agent.as_ref().and_then(|a| agent_index.get(a.as_str())) {
                use_of(dataset.dataset_id.as_str(), (*agent, Use::Manages));
            }
        }
        for (i, agent) in registry.agents.iter().enumerate() {
            if let Some(primary) = &agent.primary_dataset {
                use_of(primary.as_str(), (i, Use::Primary));
            }
        }
        for grant in registry.grants.iter().filter(|g| g.resource_type == "Dataset") {
            if let Some(&agent) = agent_index.get(grant.agent_id.as_str()) {
                use_of(grant.resource_id.as_str(), (agent, Use::Grant(grant)));
            }
        }
        let mut workflows: HashMap<&str, Vec<&Workflow>> = HashMap::new();
        for workflow in registry.workflows {
            workflows.entry(workflow.agent_id.as_str()).or_default().push(workflow);
        }
        let policy_words = registry.policies.iter().map(words_of_policy).collect();
        let mut leads = HashMap::new();
        for team in registry.teams {
            if let Some(lead) = &team.lead {
                leads.insert(team.team_id.as_str().to_lowercase(), lead.as_str());
                leads.insert(team.name.to_lowercase(), lead.as_str());
            }
        }
        Index { registry, catalog, datasets, referenced_by, users, ids, workflows, policy_words, leads }
    }

    /// The lineage graph.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Who is notified about agent `agent`: the lead of its owner team, or
    /// the team itself when it has no lead.
    pub fn owner_of(&self, agent: &Agent) -> Option<String> {
        let team = agent.owner_team.as_deref()?;
        Some(self.leads.get(&team.to_lowercase()).map_or_else(|| team.to_owned(), |lead| (*lead).to_owned()))
    }

    /// The impact of changing `dataset` as `diff` describes, at `now`
    /// (grants that do not hold at `now` do not count). `walker` is
    /// scratch space, reused between analyses.
    pub fn analyze(
        &self,
        walker: &mut Walker,
        dataset: &str,
        diff: &'a Diff,
        now: Timestamp,
    ) -> Option<Impact<'a>> {
        let start = self.catalog.node(dataset)?;
        walker.walk(&self.catalog, start);
        let reached = walker.reached();

        // Fields that reference a changed field, transitively through
        // fields that reference those.
        let mut affected_fields: BTreeMap<u32, Vec<FieldImpact<'a>>> = BTreeMap::new();
        let mut queue: Vec<(u32, &str)> = diff.changed_fields().into_iter().map(|f| (start, f)).collect();
        let mut seen: HashSet<(u32, &str)> = queue.iter().copied().collect();
        while let Some((node, field)) = queue.pop() {
            for &(referrer, referring) in
                self.referenced_by.get(&(node, field)).map(Vec::as_slice).unwrap_or(&[])
            {
                if seen.insert((referrer, referring)) {
                    if referrer != start {
                        let target = self.datasets[node as usize].dataset_id.as_str();
                        let references = self.datasets[node as usize]
                            .fields
                            .iter()
                            .find(|f| f.name == field)
                            .map(|f| (target, f.name.as_str()))
                            .unwrap_or((target, ""));
                        affected_fields
                            .entry(referrer)
                            .or_default()
                            .push(FieldImpact { field: referring, references });
                    }
                    queue.push((referrer, referring));
                }
            }
        }

        let mut downstream = Vec::with_capacity(reached.len());
        for &node in reached {
            let fields = match affected_fields.remove(&node) {
                Some(mut fields) => {
                    fields.sort();
                    fields
                }
                None => Vec::new(),
            };
            downstream.push(Downstream {
                dataset: self.ids[node as usize],
                depth: walker.depth(node),
                from: self.ids[walker.parent(node) as usize],
                via: walker.via(node),
                fields,
            });
        }

        // Agents that manage or use the changed dataset or one downstream.
        let mut reasons: Vec<Vec<Reason<'a>>> = vec![Vec::new(); self.registry.agents.len()];
        let touched = std::iter::once(start).chain(reached.iter().copied());
        for node in touched {
            let id = self.ids[node as usize];
            for &(agent, usage) in &self.users[node as usize] {
                reasons[agent].push(match usage {
                    Use::Manages => Reason::Manages(id),
                    Use::Primary => Reason::Primary(id),
                    Use::Grant(grant) if holds(grant, now) => Reason::Grant {
                        grant: grant.grant_id.as_str(),
                        action: grant.action.as_str(),
                        dataset: id,
                    },
                    Use::Grant(_) => continue,
                });
            }
        }
        let agents: Vec<AffectedAgent<'a>> = reasons
            .into_iter()
            .enumerate()
            .filter(|(_, reasons)| !reasons.is_empty())
            .map(|(i, reasons)| {
                let agent = &self.registry.agents[i];
                AffectedAgent { agent_id: agent.agent_id.as_str(), owner: self.owner_of(agent), reasons }
            })
            .collect();
        let workflows: Vec<AffectedWorkflow<'a>> = agents
            .iter()
            .flat_map(|a| self.workflows.get(a.agent_id).map(Vec::as_slice).unwrap_or(&[]))
            .map(|w| AffectedWorkflow { workflow_id: w.workflow_id.as_str(), agent_id: w.agent_id.as_str() })
            .collect();

        // Policies that name any dataset, agent or workflow in the impact:
        // each word of a policy is looked up, rather than each name.
        let mut names: HashSet<&str> = agents.iter().map(|a| a.agent_id).collect();
        names.extend(workflows.iter().map(|w| w.workflow_id));
        let affected = |word: &str| {
            names.contains(word)
                || self.catalog.node(word).is_some_and(|n| n == start || walker.is_reached(n))
        };
        let policies: Vec<AffectedPolicy<'a>> = self
            .registry
            .policies
            .iter()
            .zip(&self.policy_words)
            .filter_map(|(policy, words)| {
                let mut named: Vec<&'a str> = words.iter().copied().filter(|w| affected(w)).collect();
                named.sort_unstable();
                (!named.is_empty()).then(|| AffectedPolicy {
                    policy_id: policy.policy_id.as_str(),
                    owner: policy.owner.as_str(),
                    names: named,
                })
            })
            .collect();

        let mut owners: BTreeMap<String, Vec<&'a str>> = BTreeMap::new();
        let mut unowned = Vec::new();
        for agent in &agents {
            match &agent.owner {
                Some(owner) => owners.entry(owner.clone()).or_default().push(agent.agent_id),
                None => unowned.push(agent.agent_id),
            }
        }
        let dataset = &self.datasets[start as usize];
        Some(Impact {
            dataset: dataset.dataset_id.as_str(),
            from_version: dataset.schema_version,
            change_type: diff.change_type(),
            breaking: diff.breaking(),
            summary: format!(
                "{}; {} downstream dataset(s), {} agent(s), {} workflow(s), {} policy(ies)",
                diff.summary(),
                downstream.len(),
                agents.len(),
                workflows.len(),
                policies.len()
            ),
            diff,
            downstream,
            agents,
            workflows,
            policies,
            owners: owners.into_iter().map(|(recipient, agents)| Owner { recipient, agents }).collect(),
            unowned_agents: unowned,
        })
    }
}

impl<'a> Impact<'a> {
    /// The shortest path from the changed dataset to `dataset` (both
    /// included), following each downstream dataset's `from`; `None` when
    /// `dataset` is not downstream.
    pub fn path(&self, dataset: &str) -> Option<Vec<&'a str>> {
        let from: HashMap<&str, &'a str> = self.downstream.iter().map(|d| (d.dataset, d.from)).collect();
        let mut at = self.downstream.iter().find(|d| d.dataset == dataset)?.dataset;
        let mut path = vec![at];
        while at != self.dataset {
            at = from.get(at).copied()?;
            path.push(at);
        }
        path.reverse();
        Some(path)
    }
}

fn holds(grant: &Grant, now: Timestamp) -> bool {
    grant.revoked_at.is_none() && grant.granted_at <= now && now < grant.expires_at
}

/// The identifier-like words of a policy's text: runs of letters, digits,
/// `_` and `-`.
fn words_of_policy(policy: &Policy) -> HashSet<&str> {
    let texts = [
        Some(policy.title.as_str()),
        Some(policy.purpose.as_str()),
        policy.scope.as_deref(),
        Some(policy.rules.as_str()),
        policy.cedar.as_deref(),
    ];
    texts
        .into_iter()
        .flatten()
        .flat_map(|text| text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-')))
        .filter(|word| !word.is_empty())
        .collect()
}

/// The impact of one proposed change.
#[derive(Debug, Clone, Serialize)]
pub struct Impact<'a> {
    /// The dataset changed.
    pub dataset: &'a str,
    /// Its schema version before the change.
    pub from_version: u32,
    /// Schema, Relationship or Validation.
    pub change_type: ChangeType,
    /// Whether any change is breaking.
    pub breaking: bool,
    /// One line: the diff's summary and the counts of what is affected.
    pub summary: String,
    /// The diff.
    pub diff: &'a Diff,
    /// Every dataset downstream, by depth.
    pub downstream: Vec<Downstream<'a>>,
    /// Agents that manage or use the dataset or one downstream.
    pub agents: Vec<AffectedAgent<'a>>,
    /// Workflows of those agents.
    pub workflows: Vec<AffectedWorkflow<'a>>,
    /// Policies naming any of the above.
    pub policies: Vec<AffectedPolicy<'a>>,
    /// Who is notified, with their agents.
    pub owners: Vec<Owner<'a>>,
    /// Affected agents with no owner team to notify.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unowned_agents: Vec<&'a str>,
}

/// A dataset downstream of the change.
#[derive(Debug, Clone, Serialize)]
pub struct Downstream<'a> {
    /// The dataset.
    pub dataset: &'a str,
    /// Edges from the changed dataset along the shortest path.
    pub depth: u32,
    /// The dataset before this one on a shortest path from the changed
    /// dataset: the changed dataset itself, or one listed earlier. Following
    /// `from` back gives the whole path ([`Impact::path`]).
    pub from: &'a str,
    /// How the path's last edge was declared.
    pub via: EdgeKinds,
    /// Its fields that reference a changed field (directly or through
    /// another referencing field).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldImpact<'a>>,
}

/// A field that references a changed field.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct FieldImpact<'a> {
    /// The referencing field.
    pub field: &'a str,
    /// The dataset and field it references.
    pub references: (&'a str, &'a str),
}

/// An agent the change affects.
#[derive(Debug, Clone, Serialize)]
pub struct AffectedAgent<'a> {
    /// The agent.
    pub agent_id: &'a str,
    /// Who is notified for it.
    pub owner: Option<String>,
    /// Why it is affected, e.g. `manages AI_Model_Change_Log`.
    pub reasons: Vec<Reason<'a>>,
}

/// Why an agent is affected; serialized as a sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason<'a> {
    /// It is the dataset's specialist agent.
    Manages(&'a str),
    /// The dataset is its primary dataset.
    Primary(&'a str),
    /// A grant that holds lets it act on the dataset.
    Grant {
        /// The grant.
        grant: &'a str,
        /// The action granted.
        action: &'a str,
        /// The dataset.
        dataset: &'a str,
    },
}

impl std::fmt::Display for Reason<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::Manages(dataset) => write!(f, "manages {dataset}"),
            Reason::Primary(dataset) => write!(f, "primary dataset {dataset}"),
            Reason::Grant { grant, action, dataset } => write!(f, "{grant} may {action} {dataset}"),
        }
    }
}

impl Serialize for Reason<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A workflow of an affected agent.
#[derive(Debug, Clone, Serialize)]
pub struct AffectedWorkflow<'a> {
    /// The workflow.
    pub workflow_id: &'a str,
    /// Its agent.
    pub agent_id: &'a str,
}

/// A policy that names something affected.
#[derive(Debug, Clone, Serialize)]
pub struct AffectedPolicy<'a> {
    /// The policy.
    pub policy_id: &'a str,
    /// Its owner.
    pub owner: &'a str,
    /// The affected datasets, agents and workflows it names.
    pub names: Vec<&'a str>,
}

/// An owner to notify and their affected agents.
#[derive(Debug, Clone, Serialize)]
pub struct Owner<'a> {
    /// Person (team lead) or team.
    pub recipient: String,
    /// Their affected agents.
    pub agents: Vec<&'a str>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_downstream_dataset_names_the_one_before_it_and_paths_follow_them() {
        let dataset = |id: &str, dependencies: &[&str]| -> Dataset {
            serde_json::from_value(serde_json::json!({
                "dataset_id": id, "dataset_name": id, "dependencies": dependencies,
                "fields": [{"name": "id", "type": "string", "key": true}, {"name": "value", "type": "string"}]
            }))
            .expect("a dataset")
        };
        // A -> B -> C, A -> D, C -> D: D is one edge from A, C two.
        let datasets =
            [dataset("A", &[]), dataset("B", &["A"]), dataset("C", &["B"]), dataset("D", &["A", "C"])];
        let index = Index::new(ImpactRecords { datasets: &datasets, ..ImpactRecords::default() });
        let before = datasets[0].schema();
        let mut after = before.clone();
        after.fields.retain(|f| f.name != "value");
        let diff = crate::diff(&before, &after, &Default::default()).expect("a change");
        let now: Timestamp = "2026-12-07T00:00:00Z".parse().expect("a time");
        let impact = index.analyze(&mut Walker::default(), "A", &diff, now).expect("A is in the catalog");
        let rows: Vec<(&str, u32, &str)> =
            impact.downstream.iter().map(|d| (d.dataset, d.depth, d.from)).collect();
        assert_eq!(rows, [("B", 1, "A"), ("D", 1, "A"), ("C", 2, "B")]);
        assert_eq!(impact.path("C"), Some(vec!["A", "B", "C"]));
        assert_eq!(impact.path("D"), Some(vec!["A", "D"]));
        assert_eq!(impact.path("A"), None, "the changed dataset is not downstream of itself");
        let json = serde_json::to_value(&impact).expect("JSON");
        assert_eq!(json["downstream"][2]["from"], "B");
        assert_eq!(json["downstream"][2]["via"], serde_json::json!(["dependency"]));
    }
}
