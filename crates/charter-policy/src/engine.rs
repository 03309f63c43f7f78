//! The decision point: guardrails first, then Cedar over the sliced
//! policies, then time-bound access grants.
//!
//! Every path that is not a clear allow is a deny with a reason id, so a
//! denial explains itself:
//!
//! | reason | when |
//! |---|---|
//! | `guardrail:unknown-action` | the action is not in the schema |
//! | `guardrail:unknown-principal` | the principal is not in the registry |
//! | `guardrail:unknown-resource` | the resource is not in the registry |
//! | `guardrail:invalid-request` | the action does not apply to these types, or the context does not fit the schema |
//! | `guardrail:unreadable-registry` | the registry could not be made into entities |
//! | `guardrail:unreadable-policy` | an `Active` policy's Cedar does not compile |
//! | `guardrail:kill-switch` | the agent is paused or retired |
//! | `guardrail:budget-exhausted` | a hard spend budget of the agent (or its team) is exhausted this month |
//! | `guardrail:least-privilege` | `invoke_tool` on a tool outside the agent's tools, without an access grant |
//! | `guardrail:tier-approval` | a Tier 3+ resource without a valid approval grant in `context.approval` |
//! | `guardrail:data-residency` | a dataset outside the agent's regions, without an exception grant |
//! | `guardrail:evaluation-error` | a policy failed to evaluate |
//! | `default-deny` | no policy and no grant permits |
//!
//! An allow names the Cedar policies that permitted (`POL-…/N`) or the
//! access grant (`grant:GRANT-…`).

use std::collections::{HashMap, HashSet};

use cedar_policy::{Context, Entities, EntityUid, Policy, PolicySet, Request, RestrictedExpression};
use charter_model::{AgentStatus, Grant, GrantKind, PolicyStatus, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::compile::{PolicyError, compile};
use crate::entities::{Facts, Node, Registry, RegistryError, build, node, uid};
use crate::schema::{ACTIONS, Action, EntityType, schema};
use crate::slice::{Outcome, Slices};

/// Reason ids.
pub mod reason {
    /// The action is not in the schema.
    pub const UNKNOWN_ACTION: &str = "guardrail:unknown-action";
    /// The principal is not in the registry.
    pub const UNKNOWN_PRINCIPAL: &str = "guardrail:unknown-principal";
    /// The resource is not in the registry.
    pub const UNKNOWN_RESOURCE: &str = "guardrail:unknown-resource";
    /// The request does not fit the schema.
    pub const INVALID_REQUEST: &str = "guardrail:invalid-request";
    /// The registry could not be made into entities.
    pub const UNREADABLE_REGISTRY: &str = "guardrail:unreadable-registry";
    /// An active policy does not compile.
    pub const UNREADABLE_POLICY: &str = "guardrail:unreadable-policy";
    /// The agent is paused or retired.
    pub const KILL_SWITCH: &str = "guardrail:kill-switch";
    /// A hard budget of the agent or its team is spent for the month.
    pub const BUDGET_EXHAUSTED: &str = "guardrail:budget-exhausted";
    /// The tool is not one of the agent's.
    pub const LEAST_PRIVILEGE: &str = "guardrail:least-privilege";
    /// A Tier 3+ resource without a valid approval.
    pub const TIER_APPROVAL: &str = "guardrail:tier-approval";
    /// A dataset outside the agent's regions.
    pub const DATA_RESIDENCY: &str = "guardrail:data-residency";
    /// A policy failed to evaluate.
    pub const EVALUATION_ERROR: &str = "guardrail:evaluation-error";
    /// Nothing permits.
    pub const DEFAULT_DENY: &str = "default-deny";
    /// Prefix of an allow by an access grant.
    pub const GRANT: &str = "grant:";
}

/// Lowest tier whose actions need an approval.
pub const APPROVAL_TIER: u8 = 3;

/// An entity named in a request: `{"type": "Agent", "id": "agent_sales_01"}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntityRef {
    /// Entity type: Agent, User, Tool, Dataset, Operation, …
    #[serde(rename = "type")]
    pub entity_type: String,
    /// Entity id.
    pub id: String,
}

impl std::fmt::Display for EntityRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}::{:?}", self.entity_type, self.id)
    }
}

/// A request for a decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    /// Who acts.
    pub principal: EntityRef,
    /// The action, e.g. `invoke_tool`.
    pub action: String,
    /// What is acted on.
    pub resource: EntityRef,
    /// Context: `approval` (a grant id for Tier 3+ resources), `purpose`,
    /// `ticket`. `now` is set by Charter.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    #[schema(value_type = Object)]
    pub context: Map<String, Value>,
}

/// Allow or deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Effect {
    /// The action may proceed.
    Allow,
    /// The action may not proceed.
    Deny,
}

/// A decision and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Decision {
    /// Allow or deny.
    pub decision: Effect,
    /// Policy ids (`POL-…/N`), guardrail ids (`guardrail:…`), a grant
    /// (`grant:GRANT-…`) or `default-deny`.
    pub reasons: Vec<String>,
    /// What went wrong, when something did.
    #[serde(default)]
    pub errors: Vec<String>,
}

impl Decision {
    /// Whether the decision allows.
    pub fn allowed(&self) -> bool {
        self.decision == Effect::Allow
    }

    fn deny(reason: &str, error: impl Into<String>) -> Self {
        Self { decision: Effect::Deny, reasons: vec![reason.to_owned()], errors: vec![error.into()] }
    }
}

/// Grants indexed for the decision point.
#[derive(Debug, Default)]
struct Grants {
    by_id: HashMap<String, Grant>,
    by_subject: HashMap<(String, String, String, String), Vec<Grant>>,
}

impl Grants {
    fn new(grants: &[Grant]) -> Self {
        let mut index = Grants::default();
        for grant in grants {
            index.by_id.insert(grant.grant_id.to_string(), grant.clone());
            let key = (
                grant.agent_id.to_string(),
                grant.action.clone(),
                grant.resource_type.clone(),
                grant.resource_id.clone(),
            );
            index.by_subject.entry(key).or_default().push(grant.clone());
        }
        index
    }

    /// A grant of `kind` for this request that holds at `now`.
    fn holding(&self, kind: GrantKind, subject: &Subject<'_>, now: Timestamp) -> Option<&Grant> {
        let key = (
            subject.principal.id.clone(),
            subject.action.name.to_owned(),
            subject.resource.entity_type.clone(),
            subject.resource.id.clone(),
        );
        let mut holding: Vec<&Grant> = self
            .by_subject
            .get(&key)?
            .iter()
            .filter(|grant| grant.kind == kind && grant.holds_at(now))
            .collect();
        holding.sort_by(|a, b| a.grant_id.cmp(&b.grant_id));
        holding.into_iter().next()
    }
}

/// The request being decided.
struct Subject<'a> {
    principal: &'a EntityRef,
    action: &'static Action,
    resource: &'a EntityRef,
}

/// The decision point for one state of the registry and the policies.
#[derive(Debug)]
pub struct Engine {
    entities: Entities,
    facts: Facts,
    policies: Vec<Policy>,
    slices: Slices,
    grants: Grants,
    /// The entities the enforced policies name.
    literals: HashSet<Node>,
    unreadable_policies: Vec<PolicyError>,
    unreadable_registry: Option<RegistryError>,
}

impl Engine {
    /// Builds the decision point for `registry`. Never fails: what cannot be
    /// read makes every decision deny, naming it.
    pub fn new(registry: &Registry) -> Self {
        let mut policies = Vec::new();
        let mut unreadable_policies = Vec::new();
        let mut active: Vec<_> =
            registry.policies.iter().filter(|p| p.status == PolicyStatus::Active).collect();
        active.sort_by(|a, b| a.policy_id.cmp(&b.policy_id));
        for policy in active {
            if let Some(text) = &policy.cedar {
                match compile(policy.policy_id.as_str(), text) {
                    Ok(compiled) => policies.extend(compiled),
                    Err(error) => unreadable_policies.push(error),
                }
            }
        }
        let (entities, facts, unreadable_registry) = match build(registry) {
            Ok((entities, facts)) => (entities, facts, None),
            Err(error) => (Entities::empty(), Facts::default(), Some(error)),
        };
        let literals =
            policies.iter().flat_map(Policy::entity_literals).filter_map(|uid| node(&uid)).collect();
        Self {
            entities,
            facts,
            slices: Slices::new(&policies),
            literals,
            policies,
            grants: Grants::new(&registry.grants),
            unreadable_policies,
            unreadable_registry,
        }
    }

    /// The Cedar entities.
    pub fn entities(&self) -> &Entities {
        &self.entities
    }

    /// Whether the registry holds the entity `reference` names.
    pub fn knows(&self, reference: &EntityRef) -> bool {
        EntityType::parse(&reference.entity_type)
            .is_some_and(|entity_type| self.entities.get(&uid(entity_type, &reference.id)).is_some())
    }

    /// Whether the registry or a policy cannot be read, so that every
    /// decision denies.
    pub(crate) fn is_unreadable(&self) -> bool {
        self.unreadable_registry.is_some() || !self.unreadable_policies.is_empty()
    }

    /// The entities that refer to `entity`.
    pub(crate) fn referrers(&self, entity: &Node) -> &[Node] {
        self.facts.referrers.get(entity).map_or(&[], Vec::as_slice)
    }

    /// Whether an enforced policy names `entity`.
    pub(crate) fn names(&self, entity: &Node) -> bool {
        self.literals.contains(entity)
    }

    /// The enforced Cedar policies, as one set.
    pub fn policy_set(&self) -> PolicySet {
        PolicySet::from_policies(self.policies.iter().cloned()).unwrap_or_default()
    }

    /// Number of enforced Cedar policies.
    pub fn policy_count(&self) -> usize {
        self.policies.len()
    }

    /// Active policies whose Cedar does not compile.
    pub fn unreadable_policies(&self) -> &[PolicyError] {
        &self.unreadable_policies
    }

    /// The most policies one request of this shape evaluates.
    pub fn widest_slice(&self, action: &str, principal: EntityType, resource: EntityType) -> usize {
        Action::find(action).map_or(0, |(index, _)| self.slices.widest(index, principal, resource))
    }

    /// Decides `request` at time `now`.
    pub fn decide(&self, request: &DecisionRequest, now: Timestamp) -> Decision {
        match self.prepare(request, now) {
            Ok(prepared) => self.judge(request, &prepared, &self.entities, now, |_, _| {}),
            Err(denial) => denial,
        }
    }

    /// Runs the guardrails (and `more` of them) on a prepared request, then
    /// Cedar over `entities`.
    fn judge(
        &self,
        request: &DecisionRequest,
        prepared: &Prepared,
        entities: &Entities,
        now: Timestamp,
        more: impl FnOnce(&Subject<'_>, &mut Decision),
    ) -> Decision {
        let subject =
            Subject { principal: &request.principal, action: prepared.action, resource: &request.resource };
        let mut denial = Decision { decision: Effect::Deny, reasons: Vec::new(), errors: Vec::new() };
        if !self.unreadable_policies.is_empty() {
            denial.reasons.push(reason::UNREADABLE_POLICY.to_owned());
            denial.errors.extend(self.unreadable_policies.iter().map(ToString::to_string));
        }
        self.guardrails(&subject, prepared.shape, &request.context, now, &mut denial);
        more(&subject, &mut denial);
        if !denial.reasons.is_empty() {
            return denial;
        }
        let outcome = self.slices.authorize(
            &prepared.request,
            prepared.shape,
            &prepared.principal,
            &prepared.resource,
            entities,
        );
        self.conclude(outcome, &subject, now)
    }

    /// Decides a request about an operation (request, approve or execute
    /// it): the operation, which is not part of the registry, becomes a
    /// Cedar entity for this decision (`tier`, `status`, `requested_by`),
    /// and the operation rules (separation of duties, dry-run proof,
    /// approvals, Tier 4 window and on-call) run as guardrails before Cedar.
    pub fn decide_operation(
        &self,
        request: &DecisionRequest,
        operation: &charter_model::Operation,
        rules: &charter_ops::TierRules,
        now: Timestamp,
    ) -> Decision {
        if request.resource.entity_type != EntityType::Operation.name()
            || request.resource.id != operation.operation_id.as_str()
        {
            return Decision::deny(
                reason::INVALID_REQUEST,
                format!(
                    "the request is about {}, not operation {}",
                    request.resource, operation.operation_id
                ),
            );
        }
        let attrs = [
            ("tier".to_owned(), RestrictedExpression::new_long(i64::from(operation.tier))),
            ("status".to_owned(), RestrictedExpression::new_string(operation.status.as_str().to_owned())),
            (
                "requested_by".to_owned(),
                RestrictedExpression::new_string(operation.declaration.requested_by.clone()),
            ),
        ];
        let entity = cedar_policy::Entity::new(
            uid(EntityType::Operation, operation.operation_id.as_str()),
            attrs.into_iter().collect(),
            std::collections::HashSet::new(),
        );
        let entities = match entity.map_err(|e| e.to_string()).and_then(|entity| {
            self.entities.clone().add_entities([entity], Some(schema())).map_err(|e| e.to_string())
        }) {
            Ok(entities) => entities,
            Err(error) => return Decision::deny(reason::UNREADABLE_REGISTRY, error),
        };
        let prepared = match self.prepare_in(&entities, request, now) {
            Ok(prepared) => prepared,
            Err(denial) => return denial,
        };
        self.judge(request, &prepared, &entities, now, |subject, denial| {
            let proof = charter_ops::run::dry_run_passed(operation);
            let who = &subject.principal.id;
            let checks = match subject.action.name {
                "approve_operation" => charter_ops::tiers::approval_checks(operation, who, proof),
                "execute_operation" => charter_ops::tiers::run_checks(operation, rules, who, now, proof),
                _ => Vec::new(),
            };
            for (id, message) in checks {
                if !denial.reasons.iter().any(|r| r == id) {
                    denial.reasons.push(id.to_owned());
                }
                denial.errors.push(message);
            }
        })
    }

    /// Cedar's own answer to a prepared request over the sliced policies
    /// (no guardrails, no grants): what the differential tests compare with
    /// the raw authoriser.
    pub fn authorize(
        &self,
        request: &DecisionRequest,
        now: Timestamp,
    ) -> Result<(Request, Outcome), Decision> {
        let prepared = self.prepare(request, now)?;
        let outcome = self.slices.authorize(
            &prepared.request,
            prepared.shape,
            &prepared.principal,
            &prepared.resource,
            &self.entities,
        );
        Ok((prepared.request, outcome))
    }

    /// Checks the request against the schema and the registry and makes it
    /// a Cedar request.
    fn prepare(&self, request: &DecisionRequest, now: Timestamp) -> Result<Prepared, Decision> {
        self.prepare_in(&self.entities, request, now)
    }

    fn prepare_in(
        &self,
        entities: &Entities,
        request: &DecisionRequest,
        now: Timestamp,
    ) -> Result<Prepared, Decision> {
        if let Some(error) = &self.unreadable_registry {
            return Err(Decision::deny(reason::UNREADABLE_REGISTRY, error.to_string()));
        }
        let Some((action_index, action)) = Action::find(&request.action) else {
            let known: Vec<&str> = ACTIONS.iter().map(|a| a.name).collect();
            return Err(Decision::deny(
                reason::UNKNOWN_ACTION,
                format!("unknown action {:?}; the actions are {}", request.action, known.join(", ")),
            ));
        };
        let principal_type = entity_type(&request.principal, action.principals, "principal", action)
            .map_err(|(reason, error)| Decision::deny(reason, error))?;
        let resource_type = entity_type(&request.resource, action.resources, "resource", action)
            .map_err(|(reason, error)| Decision::deny(reason, error))?;
        let principal = uid(principal_type, &request.principal.id);
        if entities.get(&principal).is_none() {
            return Err(Decision::deny(
                reason::UNKNOWN_PRINCIPAL,
                format!("principal {} is not in the registry", request.principal),
            ));
        }
        let resource = uid(resource_type, &request.resource.id);
        if entities.get(&resource).is_none() {
            return Err(Decision::deny(
                reason::UNKNOWN_RESOURCE,
                format!("resource {} is not in the registry", request.resource),
            ));
        }
        let action_uid = action_uid(action_index);
        let context = context(&request.context, now)?;
        let request =
            Request::new(principal.clone(), action_uid.clone(), resource.clone(), context, Some(schema()))
                .map_err(|error| Decision::deny(reason::INVALID_REQUEST, error.to_string()))?;
        Ok(Prepared {
            request,
            action,
            shape: (action_index, principal_type, resource_type),
            principal,
            resource,
        })
    }

    /// Adds the reasons of every guardrail the request fails to `denial`.
    fn guardrails(
        &self,
        subject: &Subject<'_>,
        shape: (usize, EntityType, EntityType),
        context: &Map<String, Value>,
        now: Timestamp,
        denial: &mut Decision,
    ) {
        let (_, principal_type, resource_type) = shape;
        if principal_type != EntityType::Agent {
            return;
        }
        let Some(agent) = self.facts.agents.get(&subject.principal.id) else {
            return;
        };
        let mut fail = |reason: &str, error: String| {
            denial.reasons.push(reason.to_owned());
            denial.errors.push(error);
        };
        if matches!(agent.status, AgentStatus::Paused | AgentStatus::Retired) {
            fail(reason::KILL_SWITCH, format!("agent {} is {}", subject.principal.id, agent.status));
        }
        if let Some((month, budget)) = &agent.budget_exhausted
            && now.to_string().starts_with(month.as_str())
        {
            fail(
                reason::BUDGET_EXHAUSTED,
                format!("budget {budget} of agent {} is spent for {month}", subject.principal.id),
            );
        }
        if subject.action.name == "invoke_tool"
            && !agent.tools.contains(&subject.resource.id)
            && self.grants.holding(GrantKind::Access, subject, now).is_none()
        {
            fail(
                reason::LEAST_PRIVILEGE,
                format!(
                    "tool {} is not one of agent {}'s tools and no access grant holds",
                    subject.resource.id, subject.principal.id
                ),
            );
        }
        let (tier, region) = match resource_type {
            EntityType::Tool => (self.facts.tool_tiers.get(&subject.resource.id).copied().unwrap_or(1), None),
            EntityType::Dataset => self
                .facts
                .datasets
                .get(&subject.resource.id)
                .map_or((1, None), |dataset| (dataset.tier, dataset.region.as_deref())),
            _ => (1, None),
        };
        if tier >= APPROVAL_TIER
            && let Err(error) = self.check_approval(subject, tier, context, now)
        {
            fail(reason::TIER_APPROVAL, error);
        }
        if let Some(region) = region
            && !agent.allowed_regions.contains(region)
            && self.grants.holding(GrantKind::ResidencyException, subject, now).is_none()
        {
            fail(
                reason::DATA_RESIDENCY,
                format!(
                    "dataset {} resides in {region:?}, outside agent {}'s allowed regions, \
                     and no residency exception grant holds",
                    subject.resource.id, subject.principal.id
                ),
            );
        }
    }

    /// Checks the approval a Tier 3+ action names in `context.approval`.
    fn check_approval(
        &self,
        subject: &Subject<'_>,
        tier: u8,
        context: &Map<String, Value>,
        now: Timestamp,
    ) -> Result<(), String> {
        let what = format!("{} is Tier {tier}", subject.resource);
        let Some(approval) = context.get("approval") else {
            return Err(format!("{what}: context.approval must name an approval grant"));
        };
        let Some(id) = approval.as_str() else {
            return Err(format!("{what}: context.approval must be a grant id, got {approval}"));
        };
        let Some(grant) = self.grants.by_id.get(id) else {
            return Err(format!("{what}: approval {id} is not a grant of this workspace"));
        };
        if grant.kind != GrantKind::Approval {
            return Err(format!("{what}: grant {id} is an {} grant, not an approval", grant.kind));
        }
        if !grant.covers(
            &subject.principal.id,
            subject.action.name,
            &subject.resource.entity_type,
            &subject.resource.id,
        ) {
            return Err(format!(
                "{what}: approval {id} is for {} to {} {}::{:?}",
                grant.agent_id, grant.action, grant.resource_type, grant.resource_id
            ));
        }
        if let Some(revoked) = grant.revoked_at
            && revoked <= now
        {
            return Err(format!("{what}: approval {id} was revoked at {revoked}"));
        }
        if now < grant.granted_at {
            return Err(format!("{what}: approval {id} holds only from {}", grant.granted_at));
        }
        if grant.expires_at <= now {
            return Err(format!("{what}: approval {id} expired at {}", grant.expires_at));
        }
        Ok(())
    }

    /// The decision from Cedar's outcome and the access grants.
    fn conclude(&self, outcome: Outcome, subject: &Subject<'_>, now: Timestamp) -> Decision {
        if !outcome.errors.is_empty() {
            // Policies that permitted did not decide; forbids that held did.
            let forbids = if outcome.allow { Default::default() } else { outcome.reasons };
            return Decision {
                decision: Effect::Deny,
                reasons: std::iter::once(reason::EVALUATION_ERROR.to_owned()).chain(forbids).collect(),
                errors: outcome.errors.into_iter().collect(),
            };
        }
        if outcome.allow {
            return Decision {
                decision: Effect::Allow,
                reasons: outcome.reasons.into_iter().collect(),
                errors: vec![],
            };
        }
        if !outcome.reasons.is_empty() {
            return Decision {
                decision: Effect::Deny,
                reasons: outcome.reasons.into_iter().collect(),
                errors: vec![],
            };
        }
        if subject.principal.entity_type == "Agent"
            && let Some(grant) = self.grants.holding(GrantKind::Access, subject, now)
        {
            return Decision {
                decision: Effect::Allow,
                reasons: vec![format!("{}{}", reason::GRANT, grant.grant_id)],
                errors: vec![],
            };
        }
        Decision { decision: Effect::Deny, reasons: vec![reason::DEFAULT_DENY.to_owned()], errors: vec![] }
    }
}

struct Prepared {
    request: Request,
    principal: EntityUid,
    resource: EntityUid,
    action: &'static Action,
    shape: (usize, EntityType, EntityType),
}

/// The type of `entity`, which must be one `action` applies to.
fn entity_type(
    entity: &EntityRef,
    allowed: &[EntityType],
    role: &str,
    action: &Action,
) -> Result<EntityType, (&'static str, String)> {
    let unknown = if role == "principal" { reason::UNKNOWN_PRINCIPAL } else { reason::UNKNOWN_RESOURCE };
    let Some(entity_type) = EntityType::parse(&entity.entity_type) else {
        let known: Vec<&str> = EntityType::ALL.iter().map(|t| t.name()).collect();
        return Err((
            unknown,
            format!(
                "{role} type {:?} is not an entity type; the types are {}",
                entity.entity_type,
                known.join(", ")
            ),
        ));
    };
    if !allowed.contains(&entity_type) {
        let allowed: Vec<&str> = allowed.iter().map(|t| t.name()).collect();
        return Err((
            reason::INVALID_REQUEST,
            format!("{} applies to {role}s of type {}, not {entity_type}", action.name, allowed.join(" or ")),
        ));
    }
    Ok(entity_type)
}

/// `Action::"name"` of the action at `index`, built once.
fn action_uid(index: usize) -> &'static EntityUid {
    use std::sync::LazyLock;
    static UIDS: LazyLock<Vec<EntityUid>> = LazyLock::new(|| ACTIONS.iter().map(Action::uid).collect());
    &UIDS[index]
}

/// The Cedar context: the request's, with `now`. Its types are checked
/// against the schema when the request is made.
fn context(given: &Map<String, Value>, now: Timestamp) -> Result<Context, Decision> {
    let invalid = |error: String| Decision::deny(reason::INVALID_REQUEST, error);
    if given.contains_key("now") {
        return Err(invalid(
            "context.now is the time of the decision and is set by Charter; leave it out".into(),
        ));
    }
    let mut pairs = Vec::with_capacity(given.len() + 1);
    pairs.push(("now".to_owned(), datetime(now)));
    for (name, value) in given {
        let value = expression(value).map_err(|error| invalid(format!("context.{name}: {error}")))?;
        pairs.push((name.clone(), value));
    }
    Context::from_pairs(pairs).map_err(|error| invalid(format!("context: {error}")))
}

/// A JSON value as a Cedar value: strings, booleans, integers, sets and
/// records.
fn expression(value: &Value) -> Result<RestrictedExpression, String> {
    Ok(match value {
        Value::String(text) => RestrictedExpression::new_string(text.clone()),
        Value::Bool(flag) => RestrictedExpression::new_bool(*flag),
        Value::Number(number) => RestrictedExpression::new_long(
            number
                .as_i64()
                .ok_or_else(|| format!("{number} is not a 64-bit integer, the only numbers Cedar has"))?,
        ),
        Value::Array(items) => {
            RestrictedExpression::new_set(items.iter().map(expression).collect::<Result<Vec<_>, _>>()?)
        }
        Value::Object(fields) => RestrictedExpression::new_record(
            fields
                .iter()
                .map(|(name, value)| Ok((name.clone(), expression(value)?)))
                .collect::<Result<Vec<_>, String>>()?,
        )
        .map_err(|error| error.to_string())?,
        Value::Null => return Err("null is not a Cedar value; leave the attribute out".into()),
    })
}

/// `now` as a Cedar datetime. Making one parses the extension's name with
/// Cedar's full parser (microseconds), so each thread keeps the last one:
/// decisions in the same millisecond share it.
fn datetime(now: Timestamp) -> RestrictedExpression {
    use std::cell::RefCell;
    thread_local! {
        static LAST: RefCell<Option<(i64, RestrictedExpression)>> = const { RefCell::new(None) };
    }
    let millis = now.unix_micros().div_euclid(1_000);
    LAST.with_borrow_mut(|last| match last {
        Some((at, expression)) if *at == millis => expression.clone(),
        _ => {
            let expression = RestrictedExpression::new_datetime(cedar_datetime(now));
            *last = Some((millis, expression.clone()));
            expression
        }
    })
}

/// `now` as Cedar writes a datetime: milliseconds, UTC.
pub fn cedar_datetime(now: Timestamp) -> String {
    let text = now.to_string();
    let seconds = text.get(..19).unwrap_or(&text);
    let millis = now.unix_micros().rem_euclid(1_000_000) / 1_000;
    format!("{seconds}.{millis:03}Z")
}
