//! The policy decision point as a use case: decisions made on a cached
//! engine and logged durably before they are answered.
//!
//! Each workspace's [`Engine`] is built from its registry once and cached
//! with the version of its inputs (the `policy_inputs` counter, which every
//! write of an agent, system, dataset, workflow, person, team, policy or
//! grant advances in the writing transaction). A decision is computed on the
//! cached engine and appended to the ledger with the version it was made on;
//! the append checks, under the workspace's audit lock, that the version is
//! still current or that the registry writes since then changed none of the
//! entities the decision read (each write records the entities it changed,
//! see [`charter_policy::record_inputs`]). Otherwise the append fails, the
//! engine is rebuilt and the decision made again. Hence:
//!
//! * no decision is ever logged (or answered) after a registry change that
//!   would have changed it: `charter agents pause` takes effect on the very
//!   next decision, in this process and in every other one sharing the
//!   database;
//! * the ledger order is the order of the state: replaying the ledger
//!   makes each decision again on the registry that held at its place in the
//!   log, which gives the logged answer;
//! * writes that a decision did not read do not fail it, however many there
//!   are: a busy registry does not starve the decision point. An engine
//!   found behind the registry is rebuilt in the background.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use charter_model::{Record, RecordKind, canonical};
use charter_policy::{
    Affected, DECIDE, DECISION, Decision, DecisionAnswer, DecisionRequest, Engine, EntityRef, LoggedDecision,
    Registry,
};
use charter_store::WorkspaceRow;

use crate::core::audit::{AuditChange, POLICY_INPUTS};
use crate::core::commit::{Append, MadeOn};
use crate::{App, AppError, Caller, Result};

/// Most requests in one batch.
pub const MAX_DECISION_BATCH: usize = 1_000;

/// How often a decision is made again because the registry changed while it
/// was being made, before giving up.
const ATTEMPTS: usize = 8;

/// A decision point for one version of a workspace's registry.
#[derive(Debug)]
pub struct LoadedEngine {
    /// The version of the inputs (the `policy_inputs` counter).
    pub version: u64,
    /// The engine.
    pub engine: Engine,
    /// The entities whose decisions the writes after `version` may have
    /// changed, through the version it holds.
    affected: Mutex<(u64, Affected)>,
}

impl LoadedEngine {
    fn new(version: u64, engine: Engine) -> Self {
        Self { version, engine, affected: Mutex::new((version, Affected::default())) }
    }

    fn affected(&self) -> std::sync::MutexGuard<'_, (u64, Affected)> {
        self.affected.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The version through which the writes since this engine's are known.
    pub(crate) fn affected_through(&self) -> u64 {
        self.affected().0
    }

    /// Learns that the writes after the known ones, through `version`,
    /// changed `changed`.
    pub(crate) fn learn(&self, changed: &[charter_policy::Input], version: u64) {
        let mut affected = self.affected();
        if affected.0 < version {
            self.engine.extend_affected(&mut affected.1, changed);
            affected.0 = version;
        }
    }

    /// Whether decisions made on this engine that read `read` are made
    /// alike on the registry at `version`, as far as the writes learnt go
    /// (false when they do not reach `version`).
    pub(crate) fn unaffected_through(&self, version: u64, read: &[EntityRef]) -> bool {
        let affected = self.affected();
        affected.0 >= version && !affected.1.touches(read)
    }
}

#[derive(Debug, Default)]
struct Slot {
    current: RwLock<Option<Arc<LoadedEngine>>>,
    /// Held while rebuilding, so concurrent requests that find the engine
    /// stale wait for one rebuild instead of each doing their own.
    rebuild: tokio::sync::Mutex<()>,
    /// The newest version of the inputs an append has seen.
    seen: AtomicU64,
    /// Whether a background rebuild is under way.
    refreshing: AtomicBool,
    /// When the last rebuild ended, and how long it took.
    built: Mutex<Option<(std::time::Instant, std::time::Duration)>>,
}

/// The least time between two background rebuilds of an engine, and the
/// least as a multiple of the time one takes: an engine behind the registry
/// still decides correctly (each append checks what changed since), so a
/// registry written many times a second costs the decision point a bounded
/// share of one core, not a rebuild per write.
const REFRESH_GAP: std::time::Duration = std::time::Duration::from_millis(250);
const REFRESH_COST_SHARE: u32 = 4;

impl Slot {
    fn at_least(&self, version: u64) -> Option<Arc<LoadedEngine>> {
        let current = self.current.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        current.as_ref().filter(|loaded| loaded.version >= version).cloned()
    }
}

/// The engines of the workspaces, by workspace id.
#[derive(Debug, Default)]
pub(crate) struct Engines {
    slots: Mutex<HashMap<i64, Arc<Slot>>>,
}

impl Engines {
    fn slot(&self, workspace: i64) -> Arc<Slot> {
        let mut slots = self.slots.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        slots.entry(workspace).or_default().clone()
    }

    /// Notes that the workspace's policy inputs are at `version` (or later).
    pub(crate) fn saw(&self, workspace: i64, version: u64) {
        self.slot(workspace).seen.fetch_max(version, Ordering::Relaxed);
    }
}

/// Adds `record` to `registry` when it is one of its inputs.
pub(crate) fn add_to_registry(registry: &mut Registry, record: Record) {
    match record {
        Record::Agent(agent) => registry.agents.push(*agent),
        Record::System(system) => registry.systems.push(*system),
        Record::Dataset(dataset) => registry.datasets.push(*dataset),
        Record::Workflow(workflow) => registry.workflows.push(*workflow),
        Record::Person(person) => registry.people.push(*person),
        Record::Team(team) => registry.teams.push(*team),
        Record::Policy(policy) => registry.policies.push(*policy),
        Record::Grant(grant) => registry.grants.push(*grant),
        Record::Budget(budget) => registry.budgets.push(*budget),
        _ => {}
    }
}

/// The kinds of records a registry holds.
pub(crate) const REGISTRY_KINDS: [RecordKind; 9] = [
    RecordKind::Agent,
    RecordKind::System,
    RecordKind::Dataset,
    RecordKind::Workflow,
    RecordKind::Person,
    RecordKind::Team,
    RecordKind::Policy,
    RecordKind::Grant,
    RecordKind::Budget,
];

fn corrupt(kind: RecordKind, id: &str, error: impl std::fmt::Display) -> AppError {
    AppError::corrupt(format!("{kind} \"{id}\": {error}"))
}

/// Decisions made, with the audit changes that log them and the entities
/// whose state chose them.
pub(crate) type Made<'a> = std::pin::Pin<
    Box<
        dyn std::future::Future<Output = Result<(Vec<Decision>, Vec<AuditChange>, Vec<EntityRef>)>>
            + Send
            + 'a,
    >,
>;

/// The audit change that logs `decision`.
fn logged(request: &DecisionRequest, decision: &Decision, version: u64) -> AuditChange {
    logged_about(request, decision, version, None)
}

/// The audit change that logs `decision`, made about `operation`.
fn logged_about(
    request: &DecisionRequest,
    decision: &Decision,
    version: u64,
    operation: Option<&charter_model::Operation>,
) -> AuditChange {
    let mut log = LoggedDecision::new(request, decision, version);
    log.operation = operation.map(|operation| Box::new(operation.clone()));
    let value = serde_json::to_value(&log).map(|value| canonical::to_string(&value));
    AuditChange {
        action: DECIDE.into(),
        kind: DECISION.to_owned(),
        subject: request.principal.id.clone(),
        version: None,
        prev_version: None,
        // Serialising plain data cannot fail; should it, the event still
        // says what was decided.
        value: Some(value.unwrap_or_else(|_| "null".to_owned())),
    }
}

/// Requests decided on the async worker itself; a larger batch goes to the
/// blocking pool, so it does not hold up other requests for milliseconds.
const INLINE_BATCH: usize = 32;

async fn decide_all(
    loaded: &Arc<LoadedEngine>,
    requests: &[DecisionRequest],
    at: charter_model::Timestamp,
) -> Result<Vec<Decision>> {
    if requests.len() <= INLINE_BATCH {
        return Ok(requests.iter().map(|request| loaded.engine.decide(request, at)).collect());
    }
    let (loaded, requests) = (loaded.clone(), requests.to_vec());
    tokio::task::spawn_blocking(move || {
        requests.iter().map(|request| loaded.engine.decide(request, at)).collect()
    })
    .await
    .map_err(|error| AppError::internal(format!("deciding a batch: {error}")))
}

impl App {
    /// Decides `requests` and logs every decision in the workspace ledger
    /// before returning; answers come in request order, each with its id.
    /// When the decisions cannot be logged this fails, and the caller must
    /// treat every request as denied.
    pub async fn decide(
        &self,
        caller: &Caller,
        workspace: &charter_model::WorkspaceName,
        requests: &[DecisionRequest],
    ) -> Result<Vec<DecisionAnswer>> {
        let row = self.visible_workspace(caller, workspace).await?;
        caller.require_decider()?;
        if requests.len() > MAX_DECISION_BATCH {
            return Err(AppError::Invalid {
                what: "decision batch".into(),
                problems: vec![format!(
                    "requests: {} requests, at most {MAX_DECISION_BATCH} per batch",
                    requests.len()
                )],
            });
        }
        if requests.is_empty() {
            return Ok(Vec::new());
        }
        let answers = self
            .logged_decisions(&row, caller.actor(), |loaded, at| {
                Box::pin(async move {
                    let decisions = decide_all(&loaded, requests, at).await?;
                    let changes = requests
                        .iter()
                        .zip(&decisions)
                        .map(|(request, decision)| logged(request, decision, loaded.version))
                        .collect();
                    let read = requests
                        .iter()
                        .flat_map(|request| [request.principal.clone(), request.resource.clone()])
                        .collect();
                    Ok((decisions, changes, read))
                })
            })
            .await?;
        self.incidents_for_denied_approvals(&row, caller, requests, &answers).await?;
        Ok(answers)
    }

    /// A Tier 3+ action an agent tried without its approval is a policy
    /// breach: it opens an incident (unless the settings say otherwise or
    /// one is open for the agent already).
    async fn incidents_for_denied_approvals(
        &self,
        row: &WorkspaceRow,
        caller: &Caller,
        requests: &[DecisionRequest],
        answers: &[DecisionAnswer],
    ) -> Result<()> {
        for (request, answer) in requests.iter().zip(answers) {
            let breach = answer.decision == charter_policy::Effect::Deny
                && request.principal.entity_type == "Agent"
                && answer.reasons.iter().any(|reason| reason == charter_policy::reason::TIER_APPROVAL);
            if !breach
                || self.observe_settings(row).await?.incident_on_tier_denial == Some(false)
                || self.has_open_incident(row, &request.principal.id).await?
            {
                continue;
            }
            let new = crate::NewIncident {
                title: format!(
                    "agent {} tried {} on {} without a Tier 3+ approval",
                    request.principal.id, request.action, request.resource
                ),
                severity: charter_model::IncidentSeverity::Sev2,
                agent_id: Some(request.principal.id.clone()),
                commander: None,
                source: format!("decision:{}", answer.decision_id.as_deref().unwrap_or("?")),
            };
            self.open_incident_as(row, caller.actor(), new).await?;
        }
        Ok(())
    }

    /// Asks the decision point whether `caller` may take `action` on an
    /// operation, with the operation's rules as guardrails, and logs the
    /// decision with the operation it was made on.
    pub(crate) async fn decide_operation(
        &self,
        caller: &Caller,
        row: &WorkspaceRow,
        action: &str,
        operation: &charter_model::Operation,
        rules: &charter_ops::TierRules,
    ) -> Result<DecisionAnswer> {
        let resource = charter_policy::EntityRef {
            entity_type: "Operation".into(),
            id: operation.operation_id.to_string(),
        };
        self.decide_as(caller, row, action, resource, serde_json::Map::new(), Some((operation, rules))).await
    }

    /// Asks the decision point whether `caller` may take `action` on
    /// `resource`, and logs the decision.
    pub(crate) async fn decide_as_caller(
        &self,
        caller: &Caller,
        row: &WorkspaceRow,
        action: &str,
        resource: charter_policy::EntityRef,
    ) -> Result<DecisionAnswer> {
        self.decide_as(caller, row, action, resource, serde_json::Map::new(), None).await
    }

    /// Asks the decision point whether `caller` may write records of `kind`
    /// (`write_record` on the workspace, with the kind and the role that
    /// writes it in the context); the decision is logged, and a denial is
    /// an error naming it. An unregistered caller is refused first.
    ///
    /// The one exception is a workspace's set-up: until it registers its
    /// first person, the installation's administrator (a local caller
    /// acting as itself, or an admin token, which before anyone is
    /// registered can only be the installation's own) writes its records
    /// undecided, since no one could be permitted yet. Each write is in the
    /// ledger all the same.
    pub(crate) async fn decide_write(
        &self,
        caller: &Caller,
        row: &WorkspaceRow,
        kind: RecordKind,
    ) -> Result<()> {
        let installation = match caller {
            Caller::Local { break_glass, .. } => break_glass.is_none(),
            Caller::Token { role, .. } => *role == charter_model::Role::Admin,
        };
        if installation && !self.store.has_records(row.id, RecordKind::Person).await? {
            return Ok(());
        }
        self.require_registered(caller, &row.name).await?;
        let resource = EntityRef { entity_type: "Workspace".into(), id: row.name.to_string() };
        let mut context = serde_json::Map::new();
        context.insert("kind".into(), kind.name().into());
        context.insert("writer".into(), kind.writer().as_str().into());
        self.require_allowed(caller, row, "write_record", resource, context).await.map(drop)
    }

    /// Asks the decision point whether `caller` may take `action` on
    /// `resource` (with `context`); the decision is logged, and a denial is
    /// an error naming it. Returns the id of the logged decision.
    pub(crate) async fn require_allowed(
        &self,
        caller: &Caller,
        row: &WorkspaceRow,
        action: &str,
        resource: EntityRef,
        context: serde_json::Map<String, serde_json::Value>,
    ) -> Result<Option<String>> {
        let answer = self.decide_as(caller, row, action, resource, context, None).await?;
        if answer.decision == charter_policy::Effect::Allow {
            Ok(answer.decision_id)
        } else {
            Err(AppError::Forbidden(crate::operations::declare::denied(&answer)))
        }
    }

    /// One logged decision for `caller`: as the registered agent of that
    /// name when there is one, else as a user; about an operation when one
    /// is given.
    async fn decide_as(
        &self,
        caller: &Caller,
        row: &WorkspaceRow,
        action: &str,
        resource: charter_policy::EntityRef,
        context: serde_json::Map<String, serde_json::Value>,
        operation: Option<(&charter_model::Operation, &charter_ops::TierRules)>,
    ) -> Result<DecisionAnswer> {
        let actor = caller.actor();
        let mut answers = self
            .logged_decisions(row, actor, |loaded, at| {
                let agent = EntityRef { entity_type: "Agent".into(), id: actor.to_owned() };
                let user = EntityRef { entity_type: "User".into(), id: actor.to_owned() };
                // Whether the agent exists chose the principal: both are read.
                let read = vec![agent.clone(), user.clone(), resource.clone()];
                let principal = if loaded.engine.knows(&agent) { agent } else { user };
                let request = DecisionRequest {
                    principal,
                    action: action.to_owned(),
                    resource: resource.clone(),
                    context: context.clone(),
                };
                let decision = match operation {
                    Some((operation, rules)) => {
                        loaded.engine.decide_operation(&request, operation, rules, at)
                    }
                    None => loaded.engine.decide(&request, at),
                };
                let change = logged_about(&request, &decision, loaded.version, operation.map(|(o, _)| o));
                Box::pin(std::future::ready(Ok((vec![decision], vec![change], read))))
            })
            .await?;
        answers.pop().ok_or(AppError::Stale { current: 0 })
    }

    /// Makes decisions with `make` on the cached engine and logs them, in
    /// one append that succeeds only if the registry has not changed since
    /// the engine's version in a way that could change them; otherwise
    /// rebuilds the engine and makes them again.
    pub(crate) async fn logged_decisions<'a>(
        &self,
        row: &WorkspaceRow,
        actor: &str,
        make: impl Fn(Arc<LoadedEngine>, charter_model::Timestamp) -> Made<'a>,
    ) -> Result<Vec<DecisionAnswer>> {
        let started = std::time::Instant::now();
        let mut at_least = 0;
        for _ in 0..ATTEMPTS {
            let loaded = self.engine_at_least(row, at_least).await?;
            let at = self.clock.now();
            let (decisions, changes, read) = make(loaded.clone(), at).await?;
            let made_on = MadeOn { engine: loaded.clone(), read };
            let append = Append { actor: actor.to_owned(), at, changes, made_on: Some(made_on) };
            match self.append(row, append).await {
                Ok(first) => {
                    self.refresh_if_behind(row, loaded.version);
                    let took = started.elapsed();
                    for decision in &decisions {
                        let allowed = decision.decision == charter_policy::Effect::Allow;
                        self.metrics.decided(allowed, decision.reasons.first().map(String::as_str), took);
                    }
                    return Ok(decisions
                        .into_iter()
                        .zip(first..)
                        .map(|(decision, seq)| DecisionAnswer::logged(decision, seq))
                        .collect());
                }
                Err(AppError::Stale { current }) => at_least = current,
                Err(error) => return Err(error),
            }
        }
        Err(AppError::Stale { current: at_least })
    }

    /// Refuses a caller who is neither a registered person nor a registered
    /// agent of `workspace`, the way the decision point's
    /// `guardrail:unknown-principal` would, but before anything (a number,
    /// say) is spent on the request.
    pub(crate) async fn require_registered(
        &self,
        caller: &Caller,
        workspace: &charter_model::WorkspaceName,
    ) -> Result<()> {
        let loaded = self.policy_engine(caller, workspace).await?;
        let actor = caller.actor();
        let known = |entity_type: &str| {
            loaded
                .engine
                .knows(&charter_policy::EntityRef { entity_type: entity_type.into(), id: actor.to_owned() })
        };
        if known("User") || known("Agent") {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "principal User::\"{actor}\" is not in the registry: register the person (people.json) or act as a registered one"
            )))
        }
    }

    /// The workspace's decision point as of now.
    pub async fn policy_engine(
        &self,
        caller: &Caller,
        workspace: &charter_model::WorkspaceName,
    ) -> Result<Arc<LoadedEngine>> {
        let row = self.visible_workspace(caller, workspace).await?;
        let version = self.store.counter(row.id, POLICY_INPUTS).await?;
        self.engine_at_least(&row, version).await
    }

    /// Runs policy test `cases` at `at` (now by the app's clock when
    /// `None`) against the enforced policies, or with `proposed` in place of
    /// those with the same id: `charter policy test`.
    pub async fn test_policies(
        &self,
        caller: &Caller,
        workspace: &charter_model::WorkspaceName,
        cases: &[charter_policy::PolicyCase],
        proposed: Option<&[charter_model::registry::Policy]>,
        at: Option<charter_model::Timestamp>,
    ) -> Result<Vec<charter_policy::CaseResult>> {
        let now = at.unwrap_or_else(|| self.now());
        Ok(match proposed {
            Some(policies) => charter_policy::run_cases(
                &self.proposed_engine(caller, workspace, policies).await?,
                cases,
                now,
            ),
            None => {
                charter_policy::run_cases(&self.policy_engine(caller, workspace).await?.engine, cases, now)
            }
        })
    }

    /// A decision point over the workspace's registry as of now with the
    /// `proposed` policies in place of those with the same id (or added):
    /// what `charter policy test --proposed` runs its cases on.
    pub async fn proposed_engine(
        &self,
        caller: &Caller,
        workspace: &charter_model::WorkspaceName,
        proposed: &[charter_model::registry::Policy],
    ) -> Result<Engine> {
        let (_, mut registry) = self.policy_registry(caller, workspace).await?;
        registry.propose(proposed);
        tokio::task::spawn_blocking(move || Engine::new(&registry))
            .await
            .map_err(|error| AppError::internal(format!("building the engine: {error}")))
    }

    /// The workspace's registry as of now, with the version of its inputs.
    pub async fn policy_registry(
        &self,
        caller: &Caller,
        workspace: &charter_model::WorkspaceName,
    ) -> Result<(u64, Registry)> {
        let row = self.visible_workspace(caller, workspace).await?;
        self.load_registry(&row).await
    }

    /// Rebuilds the workspace's engine in the background when an append has
    /// seen the registry past `version`, unless a rebuild is under way.
    fn refresh_if_behind(&self, row: &WorkspaceRow, version: u64) {
        let slot = self.engines.slot(row.id);
        let seen = slot.seen.load(Ordering::Relaxed);
        if seen <= version || slot.refreshing.swap(true, Ordering::AcqRel) {
            return;
        }
        let (app, row) = (self.clone(), row.clone());
        let built = *slot.built.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        tokio::spawn(async move {
            if let Some((ended, took)) = built {
                let due = ended + REFRESH_GAP.max(took * REFRESH_COST_SHARE);
                tokio::time::sleep_until(due.into()).await;
            }
            let seen = slot.seen.load(Ordering::Relaxed);
            if let Err(error) = app.engine_at_least(&row, seen).await {
                tracing::warn!(workspace = %row.name, %error, "rebuilding the decision point");
            }
            slot.refreshing.store(false, Ordering::Release);
        });
    }

    /// The cached engine when its version is at least `version`, otherwise
    /// a new one.
    async fn engine_at_least(&self, row: &WorkspaceRow, version: u64) -> Result<Arc<LoadedEngine>> {
        let slot = self.engines.slot(row.id);
        if let Some(loaded) = slot.at_least(version) {
            return Ok(loaded);
        }
        let _rebuilding = slot.rebuild.lock().await;
        if let Some(loaded) = slot.at_least(version) {
            return Ok(loaded);
        }
        let started = std::time::Instant::now();
        let (version, registry) = self.load_registry(row).await?;
        let engine = tokio::task::spawn_blocking(move || Engine::new(&registry))
            .await
            .map_err(|error| AppError::internal(format!("building the engine: {error}")))?;
        *slot.built.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) =
            Some((std::time::Instant::now(), started.elapsed()));
        let loaded = Arc::new(LoadedEngine::new(version, engine));
        let mut current = slot.current.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        if current.as_ref().is_none_or(|old| old.version < loaded.version) {
            *current = Some(loaded.clone());
        }
        Ok(loaded)
    }

    /// Reads the registry and the version it is at, from one snapshot of
    /// the database: every change advances the version in the changing
    /// transaction, so the records read are exactly those of that version,
    /// however busy the registry is.
    pub(crate) async fn load_registry(&self, row: &WorkspaceRow) -> Result<(u64, Registry)> {
        let mut registry = Registry { workspace: Some(row.name.to_string()), ..Registry::default() };
        let version = self
            .store
            .snapshot_values(row.id, POLICY_INPUTS, &REGISTRY_KINDS, |kind, id, body| {
                let record = kind.parse_json(body).map_err(|error| corrupt(kind, id, error))?;
                add_to_registry(&mut registry, record);
                Ok::<_, AppError>(())
            })
            .await?;
        Ok((version, registry))
    }
}
