//! Policy replay: the decisions of the ledger, made again under a proposed
//! policy set, before anyone activates it.
//!
//! With the registry *as logged*, the ledger is folded from its first event:
//! record events rebuild the registry, and each decision is re-evaluated on
//! the registry that held at its place in the log. That is exact because a
//! decision is only logged while every registry change since the version it
//! was made on is one it did not read (see [`crate::decisions::decide`]): the registry
//! at its place in the log gives it the same answer. With the registry *as
//! it is now*, every decision is re-evaluated on today's registry.
//!
//! Each decision is first re-evaluated under the policies it was made with:
//! when that does not reproduce the logged answer, the replay says so
//! instead of reporting a flip it cannot vouch for.

use std::collections::{BTreeMap, BTreeSet};

use charter_model::audit::AuditEvent;
use charter_model::registry::Policy;
use charter_model::{Record, RecordKind, Timestamp, WorkspaceName};
use charter_policy::{
    DECIDE, DECISION, Decision, Effect, Engine, EntityRef, LoggedDecision, Registry, decision_id,
};
use charter_store::{EventFilter, WorkspaceRow};
use serde::Serialize;

use crate::decisions::decide::{REGISTRY_KINDS, add_to_registry};
use crate::{App, AppError, Caller, Result};

/// Events read per query.
const PAGE: u64 = 10_000;

/// Which registry decisions are replayed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplayRegistry {
    /// The registry as it was when each decision was made.
    AsLogged,
    /// The registry as it is now.
    Current,
}

impl std::fmt::Display for ReplayRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ReplayRegistry::AsLogged => "as logged",
            ReplayRegistry::Current => "as it is now",
        })
    }
}

/// A decision that the proposed policies would change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Flip {
    /// The logged decision's id.
    pub decision_id: String,
    /// When it was made.
    pub at: Timestamp,
    /// Who acted.
    pub principal: EntityRef,
    /// The action.
    pub action: String,
    /// What was acted on.
    pub resource: EntityRef,
    /// What was decided.
    pub logged: Effect,
    /// Why it was.
    pub logged_reasons: Vec<String>,
    /// What the proposed policies decide.
    pub proposed: Decision,
}

/// Flips of one principal and action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlipCount {
    /// The principal (`Agent::"id"`).
    pub principal: String,
    /// The action.
    pub action: String,
    /// Denials that would allow.
    pub to_allow: u64,
    /// Allows that would deny.
    pub to_deny: u64,
}

/// What a replay found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplayReport {
    /// The registry the decisions were replayed on.
    pub registry: ReplayRegistry,
    /// The ids of the proposed policies.
    pub proposed: Vec<String>,
    /// Decisions replayed.
    pub decisions: u64,
    /// Decisions the proposed policies would change, in ledger order.
    pub flips: Vec<Flip>,
    /// Flips by principal and action.
    pub counts: Vec<FlipCount>,
    /// Decisions that the policies they were made with no longer reproduce
    /// (on the registry replayed): no flip is reported for them.
    pub unreproduced: Vec<String>,
}

/// The two engines a replay compares: the registry with its own policies,
/// and with the proposed ones.
struct Pair {
    logged: Engine,
    proposed: Engine,
}

impl Pair {
    fn new(registry: Registry, proposed: &[Policy]) -> Self {
        let logged = Engine::new(&registry);
        let mut overlaid = registry;
        overlaid.propose(proposed);
        Self { logged, proposed: Engine::new(&overlaid) }
    }
}

fn same(a: &Decision, effect: Effect, reasons: &[String]) -> bool {
    a.decision == effect
        && a.reasons.iter().collect::<BTreeSet<_>>() == reasons.iter().collect::<BTreeSet<_>>()
}

fn corrupt(seq: u64, error: impl std::fmt::Display) -> AppError {
    AppError::corrupt(format!("audit event {seq}: {error}"))
}

/// The operations and the workspace's rules for them, which decisions about
/// operations are made on (they are not part of the registry).
#[derive(Default)]
struct OpsState {
    operations: std::collections::HashMap<String, charter_model::Operation>,
    rules: charter_ops::TierRules,
    /// Judge decisions on the operation as logged with them.
    as_logged: bool,
}

impl OpsState {
    /// Takes `record` in when it is an operation or the rules.
    fn fold(&mut self, record: &Record) {
        match record {
            Record::Operation(operation) => {
                self.operations.insert(operation.operation_id.to_string(), operation.as_ref().clone());
            }
            Record::OpsSettings(settings) => {
                if let Ok(rules) = charter_ops::TierRules::from_settings(settings) {
                    self.rules = rules;
                }
            }
            _ => {}
        }
    }
}

#[derive(Default)]
struct Tally {
    decisions: u64,
    flips: Vec<Flip>,
    counts: BTreeMap<(String, String), (u64, u64)>,
    unreproduced: Vec<String>,
}

impl Tally {
    fn replay(&mut self, pair: &Pair, ops: &OpsState, seq: u64, at: Timestamp, logged: LoggedDecision) {
        self.decisions += 1;
        let request = logged.request();
        let id = decision_id(seq);
        // A decision about an operation is judged on the operation as it
        // was decided on (logged with it), or, on today's registry, as it is.
        let current = ops.operations.get(&request.resource.id).filter(|_| !ops.as_logged);
        let operation =
            current.or(logged.operation.as_deref()).filter(|_| request.resource.entity_type == "Operation");
        let decide = |engine: &Engine| match operation {
            Some(operation) => engine.decide_operation(&request, operation, &ops.rules, at),
            None => engine.decide(&request, at),
        };
        if !same(&decide(&pair.logged), logged.decision, &logged.reasons) {
            self.unreproduced.push(id);
            return;
        }
        let proposed = decide(&pair.proposed);
        if proposed.decision == logged.decision {
            return;
        }
        let count = self.counts.entry((logged.principal.to_string(), logged.action.clone())).or_default();
        match proposed.decision {
            Effect::Allow => count.0 += 1,
            Effect::Deny => count.1 += 1,
        }
        self.flips.push(Flip {
            decision_id: id,
            at,
            principal: logged.principal,
            action: logged.action,
            resource: logged.resource,
            logged: logged.decision,
            logged_reasons: logged.reasons,
            proposed,
        });
    }

    fn report(self, registry: ReplayRegistry, proposed: &[Policy]) -> ReplayReport {
        ReplayReport {
            registry,
            proposed: proposed.iter().map(|p| p.policy_id.to_string()).collect(),
            decisions: self.decisions,
            flips: self.flips,
            counts: self
                .counts
                .into_iter()
                .map(|((principal, action), (to_allow, to_deny))| FlipCount {
                    principal,
                    action,
                    to_allow,
                    to_deny,
                })
                .collect(),
            unreproduced: self.unreproduced,
        }
    }
}

impl App {
    /// Replays the decisions logged at or after `since` under the
    /// `proposed` policies (each replacing the policy of the same id, or
    /// added), on the registry `registry` says.
    pub async fn replay_decisions(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        proposed: &[Policy],
        since: Option<Timestamp>,
        registry: ReplayRegistry,
    ) -> Result<ReplayReport> {
        let row = self.visible_workspace(caller, workspace).await?;
        caller.require_role(charter_model::Role::Auditor)?;
        let mut tally = Tally::default();
        match registry {
            ReplayRegistry::Current => {
                let (_, current) = self.load_registry(&row).await?;
                let pair = Pair::new(current, proposed);
                let mut ops = OpsState { rules: self.ops_rules(&row).await?, ..OpsState::default() };
                let mut after_id: Option<String> = None;
                loop {
                    let page =
                        self.store.records(row.id, RecordKind::Operation, after_id.as_deref(), 1_000).await?;
                    let Some(last) = page.last() else { break };
                    after_id = Some(last.id.clone());
                    for stored in page {
                        let record = RecordKind::Operation
                            .parse_json(&stored.body)
                            .map_err(|error| corrupt(stored.event_seq, error))?;
                        ops.fold(&record);
                    }
                }
                let filter = EventFilter { kind: Some(DECISION.to_owned()), since, ..EventFilter::default() };
                let mut after = 0;
                loop {
                    let page = self.store.events_matching(row.id, &filter, after, PAGE as u32).await?;
                    let Some(last) = page.last() else { break };
                    after = last.seq;
                    for stored in page {
                        let event =
                            AuditEvent::decode(&stored.body).map_err(|error| corrupt(stored.seq, error))?;
                        if let Some((at, logged)) = decision_in(&event)? {
                            tally.replay(&pair, &ops, event.seq, at, logged);
                        }
                    }
                }
            }
            ReplayRegistry::AsLogged => {
                let mut records: BTreeMap<(RecordKind, String), Record> = BTreeMap::new();
                let mut pair: Option<Pair> = None;
                let mut ops = OpsState { as_logged: true, ..OpsState::default() };
                self.each_event(&row, |event| {
                    if let Some(kind) = RecordKind::from_name(&event.kind)
                        .filter(|k| matches!(k, RecordKind::Operation | RecordKind::OpsSettings))
                    {
                        if let Some(value) = &event.value {
                            ops.fold(&kind.parse_json(value).map_err(|error| corrupt(event.seq, error))?);
                        }
                        return Ok(());
                    }
                    if let Some(kind) =
                        RecordKind::from_name(&event.kind).filter(|k| REGISTRY_KINDS.contains(k))
                    {
                        if let Some(value) = &event.value {
                            let record = kind.parse_json(value).map_err(|error| corrupt(event.seq, error))?;
                            records.insert((kind, event.subject.clone()), record);
                            pair = None;
                        }
                        return Ok(());
                    }
                    let Some((at, logged)) = decision_in(&event)? else { return Ok(()) };
                    if since.is_some_and(|since| at < since) {
                        return Ok(());
                    }
                    let pair = pair.get_or_insert_with(|| {
                        let mut registry =
                            Registry { workspace: Some(row.name.to_string()), ..Registry::default() };
                        for record in records.values() {
                            add_to_registry(&mut registry, record.clone());
                        }
                        Pair::new(registry, proposed)
                    });
                    tally.replay(pair, &ops, event.seq, at, logged);
                    Ok(())
                })
                .await?;
            }
        }
        Ok(tally.report(registry, proposed))
    }

    /// Calls `visit` with every audit event of the workspace, in order.
    async fn each_event(
        &self,
        row: &WorkspaceRow,
        mut visit: impl FnMut(AuditEvent) -> Result<()>,
    ) -> Result<()> {
        let last = self.store.event_count(row.id).await?;
        let mut first = 1;
        while first <= last {
            let end = last.min(first + PAGE - 1);
            for stored in self.store.events(row.id, first, end).await? {
                let event = AuditEvent::decode(&stored.body).map_err(|error| corrupt(stored.seq, error))?;
                visit(event)?;
            }
            first = end + 1;
        }
        Ok(())
    }
}

/// The decision an event logged, if it logged one.
pub(crate) fn decision_in(event: &AuditEvent) -> Result<Option<(Timestamp, LoggedDecision)>> {
    if event.kind != DECISION || event.action != DECIDE {
        return Ok(None);
    }
    let value = event.value.as_deref().ok_or_else(|| corrupt(event.seq, "a decision without a value"))?;
    let logged: LoggedDecision = serde_json::from_str(value).map_err(|error| corrupt(event.seq, error))?;
    Ok(Some((event.at, logged)))
}
