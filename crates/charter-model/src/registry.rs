//! The configuration layer: what exists. Agents, the systems they call, the
//! workflows they run, datasets, policies, procedures, people and teams.
//!
//! Field names are the seeds' own, so the seed files import unchanged.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::enums::{
    AgentStatus, AuthStatus, Criticality, DatasetScope, FieldType, PolicyStatus, ProcedureStatus, Role,
};
use crate::id::{AgentId, Key, PolicyId, ProcedureId};
use crate::time::Date;
use crate::validate::{Check, Ref};

/// An AI agent: the union of the registry fields of
/// `integration-risk-orchestrator-data.md` and the identity fields of
/// `ops-data-governance-plan.md` (AI_Agent_Identity_Ops).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Agent {
    /// `AGENT-[FUNCTION]-[WORKSPACE]` or `agent_[function]_[NN]`.
    pub agent_id: AgentId,
    /// Display name (`agent_name` is accepted too).
    #[serde(alias = "agent_name")]
    pub name: String,
    /// Team accountable for the agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_team: Option<String>,
    /// Lifecycle status; paused and retired agents are denied everything.
    pub status: AgentStatus,
    /// How much the business depends on the agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub criticality: Option<Criticality>,
    /// Invocations per day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily_invocations: Option<u64>,
    /// Ids of the systems the agent calls.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<Key>,
    /// What the agent specialises in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub specialization: Option<String>,
    /// The one dataset the agent owns (POL-AGENT-COORDINATION rule 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_dataset: Option<Key>,
    /// Tools the agent may use.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_permissions: Vec<Key>,
    /// How the agent coordinates with others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coordination_role: Option<String>,
    /// Regions whose data the agent may touch (data residency); none means
    /// none, so a dataset with a region needs an exception grant.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_regions: Vec<String>,
}

impl Check for Agent {
    fn check(&self, check: &mut crate::validate::Checker) {
        check.text("name", &self.name);
        check.optional_text("owner_team", self.owner_team.as_deref());
        check.unique("dependencies", &self.dependencies);
        check.unique("tool_permissions", &self.tool_permissions);
        check.unique("allowed_regions", &self.allowed_regions);
    }

    fn references(&self, refs: &mut Vec<Ref>) {
        for (index, system) in self.dependencies.iter().enumerate() {
            refs.push(Ref::system(format!("dependencies[{index}]"), system));
        }
        if let Some(dataset) = &self.primary_dataset {
            refs.push(Ref::dataset("primary_dataset".into(), dataset));
        }
    }
}

/// A system or integration an agent depends on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct System {
    /// Identifier, e.g. `crm_salesforce`.
    pub system_id: Key,
    /// Kind of system, e.g. `external_api`, `internal_system`.
    #[serde(rename = "type")]
    pub system_type: String,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Version of the schema the system currently exposes, e.g. `v3`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_version: Option<String>,
    /// Uptime over the last 30 days, in percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uptime_30d: Option<f64>,
    /// 95th percentile latency in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms_p95: Option<f64>,
    /// State of the credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_status: Option<AuthStatus>,
    /// Team that runs the system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_team: Option<String>,
    /// Permission tier of actions on the system, 1 to 4 (default 1); Tier 3
    /// and up need an approval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 4)]
    pub tier: Option<u8>,
}

impl Check for System {
    fn check(&self, check: &mut crate::validate::Checker) {
        check_tier(check, self.tier);
        check.text("type", &self.system_type);
        if let Some(uptime) = self.uptime_30d {
            check.range("uptime_30d", uptime, 0.0, 100.0);
        }
        if let Some(latency) = self.latency_ms_p95 {
            check.non_negative("latency_ms_p95", latency);
        }
    }
}

/// How an agent's work executes: its steps and how reliable they are.
///
/// Fields are declared in the byte order of their names, so serde's own
/// serialization is already the canonical encoding (checked by a test).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Workflow {
    /// The agent that runs the workflow.
    pub agent_id: AgentId,
    /// Share of runs that failed in the last 7 days, in percent.
    pub failure_rate_7d: f64,
    /// Whether a person takes part in every run.
    pub human_in_the_loop: bool,
    /// Minutes of manual work per run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manual_minutes_per_run: Option<f64>,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Step names in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<String>,
    /// Identifier, e.g. `wf_sales_outreach`.
    pub workflow_id: Key,
}

impl Check for Workflow {
    fn check(&self, check: &mut crate::validate::Checker) {
        for (index, step) in self.steps.iter().enumerate() {
            check.text(&format!("steps[{index}]"), step);
        }
        check.range("failure_rate_7d", self.failure_rate_7d, 0.0, 100.0);
        if let Some(minutes) = self.manual_minutes_per_run {
            check.non_negative("manual_minutes_per_run", minutes);
        }
    }

    fn references(&self, refs: &mut Vec<Ref>) {
        refs.push(Ref::agent("agent_id".into(), &self.agent_id));
    }
}

/// One field of a dataset schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DatasetField {
    /// Field name.
    pub name: String,
    /// Value type.
    #[serde(rename = "type")]
    pub field_type: FieldType,
    /// Whether the field is (part of) the dataset's key.
    #[serde(default, skip_serializing_if = "is_false")]
    pub key: bool,
    /// Whether every row must have a value.
    #[serde(default, skip_serializing_if = "is_false")]
    pub mandatory: bool,
    /// What the field means, and its format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The only values allowed, when the field is an enumeration.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_values: Vec<String>,
    /// The key field of another dataset this field refers to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub references: Option<FieldReference>,
}

/// A reference from a field to another dataset's key field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldReference {
    /// The referenced dataset.
    pub dataset: Key,
    /// The referenced key field.
    pub field: String,
}

/// A business rule of a dataset: an expression in the Common Expression
/// Language (CEL) over the row's fields, e.g. `cost_usd >= 0` or
/// `end_date >= start_date`, that every row must satisfy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DataRule {
    /// Name, unique within the dataset (the check is `rule:NAME`).
    pub name: String,
    /// The CEL expression; it must evaluate to true.
    pub expression: String,
    /// What the rule protects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// A dataset in the data-model registry (AI_Data_Model_Registry).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Dataset {
    /// Identifier, e.g. `Business_Policies_Ops`.
    pub dataset_id: Key,
    /// Display name.
    pub dataset_name: String,
    /// What the dataset is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    /// Number of the workspace in the source platform (the seed's
    /// `workspace_id`, e.g. Verodat workspace 238).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace_id: Option<u64>,
    /// Schema version, incremented by each completed schema change.
    #[serde(default = "first_version")]
    pub schema_version: u32,
    /// The schema.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<DatasetField>,
    /// Business rules every row must satisfy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<DataRule>,
    /// Related datasets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub relationships: Vec<Key>,
    /// Datasets this dataset depends on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<Key>,
    /// The specialist agent that manages the dataset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_by_agent: Option<AgentId>,
    /// Promotion scope.
    #[serde(default = "draft")]
    pub scope: DatasetScope,
    /// Person or team to whom data-quality issues are reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Data classification, e.g. `internal`, `confidential`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classification: Option<String>,
    /// Region where the data resides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Date of the last schema or registry change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<Date>,
    /// Permission tier of actions on the dataset, 1 to 4 (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 4)]
    pub tier: Option<u8>,
}

/// A permission tier must be 1 to 4.
fn check_tier(check: &mut crate::validate::Checker, tier: Option<u8>) {
    if let Some(tier) = tier
        && !(1..=4).contains(&tier)
    {
        check.fail("tier", &format!("must be 1 to 4, got {tier}"));
    }
}

fn first_version() -> u32 {
    1
}

fn draft() -> DatasetScope {
    DatasetScope::Draft
}

impl Dataset {
    /// The parts of the dataset a schema change can change.
    pub fn schema(&self) -> crate::data::DatasetSchema {
        crate::data::DatasetSchema {
            fields: self.fields.clone(),
            rules: self.rules.clone(),
            dependencies: self.dependencies.clone(),
            relationships: self.relationships.clone(),
        }
    }

    /// Puts `schema` in place.
    pub fn set_schema(&mut self, schema: crate::data::DatasetSchema) {
        self.fields = schema.fields;
        self.rules = schema.rules;
        self.dependencies = schema.dependencies;
        self.relationships = schema.relationships;
    }

    /// The key fields, in schema order.
    pub fn key_fields(&self) -> impl Iterator<Item = &DatasetField> {
        self.fields.iter().filter(|field| field.key)
    }
}

impl Check for Dataset {
    fn check(&self, check: &mut crate::validate::Checker) {
        check.text("dataset_name", &self.dataset_name);
        check_tier(check, self.tier);
        if self.schema_version == 0 {
            check.fail("schema_version", "must be at least 1, got 0");
        }
        let mut names = std::collections::BTreeSet::new();
        for (index, field) in self.fields.iter().enumerate() {
            check.text(&format!("fields[{index}].name"), &field.name);
            if !names.insert(field.name.as_str()) {
                check.fail(&format!("fields[{index}].name"), &format!("duplicate field \"{}\"", field.name));
            }
        }
        check.unique("relationships", &self.relationships);
        check.unique("dependencies", &self.dependencies);
        let mut rule_names = std::collections::BTreeSet::new();
        for (index, rule) in self.rules.iter().enumerate() {
            check.text(&format!("rules[{index}].name"), &rule.name);
            check.text(&format!("rules[{index}].expression"), &rule.expression);
            if !rule_names.insert(rule.name.as_str()) {
                check.fail(&format!("rules[{index}].name"), &format!("duplicate rule \"{}\"", rule.name));
            }
        }
        for (index, field) in self.fields.iter().enumerate() {
            if let Some(reference) = &field.references
                && reference.dataset == self.dataset_id
                && !self.fields.iter().any(|f| f.name == reference.field && f.key)
            {
                check.fail(
                    &format!("fields[{index}].references.field"),
                    &format!("\"{}\" is not a key field of this dataset", reference.field),
                );
            }
        }
    }

    fn references(&self, refs: &mut Vec<Ref>) {
        for (index, dataset) in self.relationships.iter().enumerate() {
            refs.push(Ref::dataset(format!("relationships[{index}]"), dataset));
        }
        for (index, dataset) in self.dependencies.iter().enumerate() {
            refs.push(Ref::dataset(format!("dependencies[{index}]"), dataset));
        }
        for (index, field) in self.fields.iter().enumerate() {
            if let Some(reference) = &field.references {
                refs.push(Ref::dataset(format!("fields[{index}].references.dataset"), &reference.dataset));
            }
        }
        if let Some(agent) = &self.managed_by_agent {
            refs.push(Ref::agent("managed_by_agent".into(), agent));
        }
    }
}

/// A governance policy (Business_Policies_Ops).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// `POL-[DOMAIN]-[NAME]`.
    pub policy_id: PolicyId,
    /// Title.
    pub title: String,
    /// A clear one- or two-sentence statement of purpose.
    pub purpose: String,
    /// What the policy applies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Numbered list of rules.
    pub rules: String,
    /// The one owner.
    pub owner: String,
    /// Active, Review or Retired.
    pub status: PolicyStatus,
    /// Date of the last review (reviews are quarterly).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_review: Option<Date>,
    /// Cedar policies that enforce the policy (only `Active` ones are).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cedar: Option<String>,
}

impl Check for Policy {
    fn check(&self, check: &mut crate::validate::Checker) {
        check.text("title", &self.title);
        check.text("purpose", &self.purpose);
        check.text("rules", &self.rules);
        check.text("owner", &self.owner);
    }
}

/// An operational procedure (AI_Agent_Procedures_Ops).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Procedure {
    /// `PROC-[ACTION]-[TARGET]`.
    pub procedure_id: ProcedureId,
    /// Title.
    pub title: String,
    /// Clear objective.
    pub purpose: String,
    /// Numbered action steps.
    pub steps: String,
    /// When to execute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub triggers: Option<String>,
    /// Owner.
    pub owner: String,
    /// Draft, Active, Review or Retired.
    pub status: ProcedureStatus,
    /// Date of the last execution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_executed: Option<Date>,
}

impl Check for Procedure {
    fn check(&self, check: &mut crate::validate::Checker) {
        check.text("title", &self.title);
        check.text("purpose", &self.purpose);
        check.text("steps", &self.steps);
        check.text("owner", &self.owner);
    }
}

/// A person who holds roles in the workspace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Person {
    /// Login name or e-mail address; the name the audit trail records.
    pub person_id: Key,
    /// Full name.
    pub name: String,
    /// E-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Team id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<Key>,
    /// Roles held.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<Role>,
}

impl Check for Person {
    fn check(&self, check: &mut crate::validate::Checker) {
        check.text("name", &self.name);
        check.unique("roles", &self.roles);
    }

    fn references(&self, refs: &mut Vec<Ref>) {
        if let Some(team) = &self.team {
            refs.push(Ref::team("team".into(), team));
        }
    }
}

/// A team: owner of agents and systems.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Team {
    /// Identifier, e.g. `revenue_ops`.
    pub team_id: Key,
    /// Name as agents' `owner_team` gives it, e.g. `Revenue Ops`.
    pub name: String,
    /// Person id of the team lead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lead: Option<Key>,
}

impl Check for Team {
    fn check(&self, check: &mut crate::validate::Checker) {
        check.text("name", &self.name);
    }

    fn references(&self, refs: &mut Vec<Ref>) {
        if let Some(lead) = &self.lead {
            refs.push(Ref::person("lead".into(), lead));
        }
    }
}
