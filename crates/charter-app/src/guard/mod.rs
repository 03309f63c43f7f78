//! Safety filters as a use case: content an agent sends out (egress) or
//! takes in (ingress) is scanned for personal data and secrets, classified,
//! and judged by the workspace's DLP rules and the decision point (content
//! for a destination the agent may not reach is blocked with the decision
//! point's reasons); then passed, redacted or blocked.
//!
//! Every filtering is a decision in the ledger (kind `filter`, through the
//! group commit like every decision): the agent, direction, destination,
//! the content's length and its keyed hash, the findings' types, offsets
//! and confidences, their counts, the class, the action and why, the rules
//! and their versions. Never a value: what was found is named by where it
//! was. Fail closed: an unknown agent, or rules that cannot be read, block.

use std::collections::BTreeMap;
use std::sync::Arc;

use charter_guard::{Finding, Scanner, Target};
use charter_model::{
    DataClass, Direction, DlpRule, FindingType, GuardAction, GuardSettings, RecordKind, WorkspaceName,
};
use charter_policy::{Decision, DecisionRequest, Effect, EntityRef};
use charter_store::WorkspaceRow;
use serde::{Deserialize, Serialize};

use crate::core::audit::{AuditChange, POLICY_INPUTS};
use crate::{App, AppError, Caller, Result};

/// The audit kind and action of a filtering.
pub const FILTER: &str = "filter";
/// Content filtered on the async worker itself; longer content is scanned
/// on the blocking pool.
const INLINE_BYTES: usize = 64 * 1024;
/// The most content one request may carry (the streaming variant takes
/// more).
pub const MAX_FILTER_BYTES: usize = 8 * 1024 * 1024;

/// Content to filter.
#[derive(Debug, Clone)]
pub struct FilterRequest {
    /// The agent it belongs to (id or name). Without one, every finding
    /// is redacted (the settings' mode), no rule asked: a person cleaning
    /// a file with `charter guard redact`.
    pub agent: Option<String>,
    /// Which way it moves.
    pub direction: Direction,
    /// The system or dataset it goes to or comes from.
    pub destination: Option<String>,
    /// The content, as bytes (invalid UTF-8 is scanned as bytes).
    pub content: Vec<u8>,
}

/// What the filter decided.
#[derive(Debug, Clone, Serialize)]
pub struct Filtered {
    /// Allow, redact or block.
    pub action: GuardAction,
    /// The content to pass on: unchanged when allowed, redacted when
    /// redacted, absent when blocked.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "lossy")]
    pub content: Option<Vec<u8>>,
    /// What was found, with byte offsets into the content as sent (of a
    /// stream, the first [`MAX_LOGGED_FINDINGS`]).
    pub findings: Vec<Finding>,
    /// Findings per type, all of them.
    pub counts: BTreeMap<FindingType, u64>,
    /// The content's class.
    pub class: DataClass,
    /// Why: `dlp:…` rules, the decision point's reasons, `guard:…`.
    pub reasons: Vec<String>,
    /// The filtering's id in the ledger (`DEC-<sequence number>`).
    pub decision_id: Option<String>,
}

fn lossy<S: serde::Serializer>(
    content: &Option<Vec<u8>>,
    serializer: S,
) -> std::result::Result<S::Ok, S::Error> {
    match content {
        Some(bytes) => serializer.serialize_str(&String::from_utf8_lossy(bytes)),
        None => serializer.serialize_none(),
    }
}

/// Who filters, which way, where (the content comes after).
#[derive(Debug, Clone)]
pub struct FilterHead {
    /// The agent (id or name); without one, every finding is redacted.
    pub agent: Option<String>,
    /// Which way the content moves.
    pub direction: Direction,
    /// The system or dataset it goes to or comes from.
    pub destination: Option<String>,
}

/// The most findings a filtering's ledger entry lists (their counts are
/// always whole).
pub const MAX_LOGGED_FINDINGS: usize = 10_000;

/// A filtering in progress: the rules, and what was found and decided so
/// far. Memory stays bounded whatever the content's length.
#[derive(Debug)]
pub struct FilterSession {
    app: App,
    row: WorkspaceRow,
    caller: Caller,
    guard: Arc<Guard>,
    named: Option<String>,
    agent: Option<String>,
    team: Option<String>,
    direction: Direction,
    destination: Option<String>,
    policy_request: Option<DecisionRequest>,
    reasons: std::collections::BTreeSet<String>,
    action: GuardAction,
    findings: Vec<Finding>,
    counts: BTreeMap<FindingType, u64>,
    redacted: u64,
    class: DataClass,
    bytes: u64,
    hasher: charter_guard::ContentHasher,
    redactor: charter_guard::Redactor,
    segmenter: charter_guard::Segmenter,
}

impl FilterSession {
    /// Whether the content is blocked (nothing more passes).
    pub fn blocked(&self) -> bool {
        self.action == GuardAction::Block
    }

    /// Takes the next piece of the stream; returns what may pass so far
    /// (empty once blocked).
    pub fn push(&mut self, chunk: &[u8]) -> Vec<u8> {
        match self.segmenter.push(chunk) {
            Some((offset, segment)) => self.segment(offset, &segment),
            None => Vec::new(),
        }
    }

    /// The end of the stream: what may pass of its rest.
    pub fn flush(&mut self) -> Vec<u8> {
        match self.segmenter.finish() {
            Some((offset, segment)) => self.segment(offset, &segment),
            None => Vec::new(),
        }
    }

    fn segment(&mut self, offset: u64, segment: &[u8]) -> Vec<u8> {
        let findings = charter_guard::scan_at(&self.guard.scanner, offset, segment);
        self.judge(offset, segment, findings).unwrap_or_default()
    }

    /// Judges `text` (at `offset` of the content) with its `findings`:
    /// what may pass of it, `None` once the content is blocked.
    fn judge(&mut self, offset: u64, text: &[u8], findings: Vec<Finding>) -> Option<Vec<u8>> {
        self.hasher.update(text);
        self.bytes += text.len() as u64;
        for finding in &findings {
            *self.counts.entry(finding.kind).or_default() += 1;
        }
        self.class = self.class.max(charter_guard::classify(&findings, &self.guard.class_rules));
        let default_mode = self.guard.settings.redaction.unwrap_or(charter_model::RedactionMode::Placeholder);
        let modes: Vec<Option<charter_model::RedactionMode>> =
            match (&self.named, &self.agent, &self.guard.rules) {
                (None, _, _) => vec![Some(default_mode); findings.len()],
                (_, Some(agent), Ok(rules)) if self.action != GuardAction::Block => {
                    let target = Target {
                        agent,
                        team: self.team.as_deref(),
                        direction: self.direction,
                        destination: self.destination.as_deref(),
                    };
                    let verdict = charter_guard::judge(
                        &target,
                        &findings,
                        self.class,
                        rules,
                        self.guard.settings.default_action.unwrap_or(GuardAction::Allow),
                        default_mode,
                    );
                    self.reasons.extend(verdict.reasons);
                    self.action = self.action.max(verdict.action);
                    verdict.actions.into_iter().map(|(_, mode)| mode).collect()
                }
                _ => vec![None; findings.len()],
            };
        if self.named.is_none() && !findings.is_empty() {
            self.action = self.action.max(GuardAction::Redact);
        }
        let room = MAX_LOGGED_FINDINGS.saturating_sub(self.findings.len());
        self.findings.extend(findings.iter().take(room).copied());
        if self.action == GuardAction::Block {
            return None;
        }
        self.redacted += modes.iter().filter(|mode| mode.is_some()).count() as u64;
        let mut out = Vec::with_capacity(text.len());
        self.redactor.redact_into(text, offset as usize, &findings, &modes, &mut out);
        Some(out)
    }

    /// Logs the filtering (the decision point asked again, in the same
    /// entry) and answers it; the content is what the pieces returned.
    pub async fn finish(self) -> Result<Filtered> {
        let content_hmac = charter_guard::hex(&self.hasher.clone().finish());
        let log_base = FilterLog {
            agent: self.agent.clone(),
            unknown_agent: if self.agent.is_none() { self.named.clone() } else { None },
            direction: self.direction,
            destination: self.destination.clone(),
            bytes: self.bytes,
            content_hmac,
            findings: self.findings.clone(),
            counts: self.counts.clone(),
            redacted: 0,
            class: self.class,
            action: self.action,
            reasons: Vec::new(),
            rules: match &self.guard.rules {
                Ok(rules) => {
                    rules.iter().map(|(rule, version)| format!("{}/{version}", rule.rule_id)).collect()
                }
                Err(_) => Vec::new(),
            },
            decision: None,
            registry_version: 0,
        };
        let (pre_action, pre_reasons, redacted) =
            (self.action, self.reasons.iter().cloned().collect::<Vec<_>>(), self.redacted);
        let policy_request = self.policy_request.clone();
        let answers = self
            .app
            .logged_decisions(&self.row, self.caller.actor(), move |loaded, at| {
                let (policy_request, mut log, mut reasons) =
                    (policy_request.clone(), log_base.clone(), pre_reasons.clone());
                Box::pin(async move {
                    let mut action = pre_action;
                    let mut read = Vec::new();
                    if let Some(request) = &policy_request {
                        let decision = loaded.engine.decide(request, at);
                        if decision.decision == Effect::Deny {
                            action = GuardAction::Block;
                            for reason in decision.reasons.iter() {
                                if !reasons.contains(reason) {
                                    reasons.push(reason.clone());
                                }
                            }
                        }
                        log.decision = Some(decision.decision);
                        read.extend([request.principal.clone(), request.resource.clone()]);
                    }
                    log.redacted = if action == GuardAction::Block { 0 } else { redacted };
                    log.action = action;
                    log.reasons = reasons.clone();
                    log.registry_version = loaded.version;
                    let value = serde_json::to_value(&log)
                        .map(|value| charter_model::canonical::to_string(&value))
                        .map_err(|error| AppError::internal(format!("logging a filtering: {error}")))?;
                    let change = AuditChange {
                        action: FILTER.into(),
                        kind: FILTER.into(),
                        subject: log
                            .agent
                            .clone()
                            .or_else(|| log.unknown_agent.clone())
                            .unwrap_or_else(|| FILTER.to_owned()),
                        version: None,
                        prev_version: None,
                        value: Some(value),
                    };
                    let effect = if action == GuardAction::Block { Effect::Deny } else { Effect::Allow };
                    let decision = Decision { decision: effect, reasons, errors: Vec::new() };
                    Ok((vec![decision], vec![change], read))
                })
            })
            .await?;
        let answer =
            answers.into_iter().next().ok_or_else(|| AppError::internal("a filtering went unlogged"))?;
        let action = if answer.decision == Effect::Deny { GuardAction::Block } else { self.action };
        if action != GuardAction::Allow && self.agent.is_some() && self.app.filter_mark_due(self.row.id) {
            // Redactions and blocks are health signals: the evaluator judges
            // the agents (elevated redactions, a burst of denials), at most
            // once a second for the filterings of a workspace.
            self.app.runs_closed(&self.row, &self.caller);
        }
        Ok(Filtered {
            action,
            content: None,
            counts: self.counts,
            findings: self.findings,
            class: self.class,
            reasons: answer.reasons,
            decision_id: answer.decision_id,
        })
    }
}

/// One file's safety check.
#[derive(Debug, Clone)]
pub(crate) struct CheckedContent {
    /// Not blocked, and no finding of a blocked type.
    pub(crate) passed: bool,
    /// Its length.
    pub(crate) bytes: u64,
    /// Findings per type.
    pub(crate) findings: BTreeMap<FindingType, u64>,
    /// One line: `<name>: holds 1 jwt (reasons; DEC-…)` or what was found.
    pub(crate) summary: String,
    /// The filtering's ledger entry.
    pub(crate) decision_id: Option<String>,
}

/// A filtering as the ledger holds it: no content, no value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FilterLog {
    /// The registered agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// The name given, when it is no registered agent (the filtering was
    /// blocked for it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unknown_agent: Option<String>,
    /// Which way.
    pub direction: Direction,
    /// Where to or from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
    /// The content's length in bytes.
    pub bytes: u64,
    /// HMAC-SHA256 of the content under the workspace's guard key.
    pub content_hmac: String,
    /// Each finding: type, offsets, confidence.
    pub findings: Vec<Finding>,
    /// Findings per type.
    pub counts: BTreeMap<FindingType, u64>,
    /// Findings redacted.
    pub redacted: u64,
    /// The class.
    pub class: DataClass,
    /// The action.
    pub action: GuardAction,
    /// Why.
    pub reasons: Vec<String>,
    /// The DLP rules in force, `DLP-…/version`.
    pub rules: Vec<String>,
    /// The decision point's answer about the destination, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Effect>,
    /// The version of the registry it was decided on.
    pub registry_version: u64,
}

/// What a filtering in the ledger says of its agent: the agent, when (µs),
/// how many values were redacted, whether it was blocked. `None` for other
/// events and filterings without an agent.
pub(crate) fn filtered_of(event: &charter_store::EventRow) -> Result<Option<(String, i64, u64, bool)>> {
    if event.kind != FILTER {
        return Ok(None);
    }
    let decoded = charter_model::AuditEvent::decode(&event.body)
        .map_err(|error| AppError::corrupt(format!("event {}: {error}", event.seq)))?;
    let Some(value) = decoded.value.as_deref() else { return Ok(None) };
    let log: FilterLog = serde_json::from_str(value).map_err(|error| {
        AppError::corrupt(format!("event {}: a filtering that does not parse: {error}", event.seq))
    })?;
    Ok(log
        .agent
        .map(|agent| (agent, decoded.at.unix_micros(), log.redacted, log.action == GuardAction::Block)))
}

/// A workspace's filter, built once per version of its inputs.
#[derive(Debug)]
pub(crate) struct Guard {
    version: u64,
    scanner: Scanner,
    /// The rules and their versions, or why they cannot be read.
    rules: std::result::Result<Vec<(DlpRule, u64)>, String>,
    settings: GuardSettings,
    class_rules: Vec<charter_model::ClassRule>,
    key: Vec<u8>,
}

fn default_settings() -> GuardSettings {
    GuardSettings {
        settings_id: "default".parse().expect("a key"),
        min_confidence: None,
        classes: None,
        context: Vec::new(),
        redaction: None,
        default_action: None,
    }
}

impl App {
    /// The workspace's guard key, made on first use.
    async fn guard_key(&self, row: &WorkspaceRow) -> Result<Vec<u8>> {
        let hex = match self.store.guard_key(row.id).await? {
            Some(hex) => hex,
            None => {
                let mut fresh = [0_u8; 32];
                getrandom::fill(&mut fresh).map_err(|error| {
                    AppError::internal(format!("no secure random numbers available: {error}"))
                })?;
                let (fresh, id) = (charter_guard::hex(&fresh), row.id);
                self.write(row, move |_app, tx| {
                    let fresh = fresh.clone();
                    Box::pin(async move { Ok(tx.guard_key(id, &fresh).await?) })
                })
                .await?
            }
        };
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(hex.get(i..i + 2).unwrap_or(""), 16))
            .collect::<std::result::Result<Vec<u8>, _>>()
            .map_err(|_| AppError::corrupt("the guard key is not hexadecimal"))
    }

    /// The workspace's filter as of its current inputs (DLP rules and guard
    /// settings are decision-point inputs: writing one advances them).
    pub(crate) async fn guard(&self, row: &WorkspaceRow) -> Result<Arc<Guard>> {
        let version = self.store.counter(row.id, POLICY_INPUTS).await?;
        let cached = self.cache.guards.read().unwrap_or_else(|p| p.into_inner()).get(&row.id).cloned();
        if let Some(guard) = cached.filter(|g| g.version == version) {
            return Ok(guard);
        }
        let key = self.guard_key(row).await?;
        let settings: std::result::Result<Vec<GuardSettings>, AppError> = self.read_values(row).await;
        let rules = self.dlp_rules(row).await;
        let (settings, rules) = match (settings, rules) {
            (Ok(settings), Ok(rules)) => {
                (settings.into_iter().next().unwrap_or_else(default_settings), Ok(rules))
            }
            (Err(error), _) | (_, Err(error)) => (default_settings(), Err(error.to_string())),
        };
        let context = charter_guard::ContextRules::with_extra(&settings.context);
        let guard = Arc::new(Guard {
            version,
            scanner: self
                .cache
                .scanner
                .get_or_init(Scanner::new)
                .with(context, settings.min_confidence.unwrap_or(0.5)),
            rules,
            class_rules: settings.class_rules(),
            settings,
            key,
        });
        self.cache.guards.write().unwrap_or_else(|p| p.into_inner()).insert(row.id, guard.clone());
        Ok(guard)
    }

    /// The DLP rules with their versions.
    async fn dlp_rules(&self, row: &WorkspaceRow) -> Result<Vec<(DlpRule, u64)>> {
        self.stored_records(row, RecordKind::DlpRule)
            .await?
            .into_iter()
            .map(|stored| {
                serde_json::from_str::<DlpRule>(&stored.body)
                    .map(|rule| (rule, stored.version))
                    .map_err(|_| AppError::corrupt(format!("dlp_rule \"{}\" does not parse", stored.id)))
            })
            .collect()
    }

    /// Filters `request`'s content (`POST …/filter`, `charter guard
    /// redact`): scans it, classifies it, judges it by the DLP rules and the
    /// decision point, logs the filtering, and answers what to pass on.
    pub async fn filter(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        request: FilterRequest,
    ) -> Result<Filtered> {
        if request.content.len() > MAX_FILTER_BYTES {
            self.visible_workspace(caller, workspace).await?;
            caller.require_decider()?;
            return Err(AppError::invalid(
                "filter request",
                vec![format!(
                    "content: {} bytes, at most {MAX_FILTER_BYTES} per request (the streaming filter takes more)",
                    request.content.len()
                )],
            ));
        }
        let head = FilterHead {
            agent: request.agent,
            direction: request.direction,
            destination: request.destination,
        };
        // Nothing passes before the filtering is logged, with the decision
        // point asked in the same entry: no need to ask it first.
        let mut session = self.open_session(caller, workspace, head, false).await?;
        let content = request.content;
        let scanned = if content.len() <= INLINE_BYTES {
            session.guard.scanner.scan(&content)
        } else {
            let (guard, bytes) = (session.guard.clone(), content.clone());
            tokio::task::spawn_blocking(move || guard.scanner.scan(&bytes))
                .await
                .map_err(|error| AppError::internal(format!("scanning: {error}")))?
        };
        let passed = session.judge(0, &content, scanned.clone());
        let summary = session.finish().await?;
        let content = match summary.action {
            GuardAction::Block => None,
            _ => passed,
        };
        Ok(Filtered { content, findings: scanned, ..summary })
    }

    /// Starts filtering content that comes as a stream (`POST
    /// …/filter/stream`, `charter guard redact` of a large file): who, which
    /// way, where. Feed it with [`FilterSession::push`], end it with
    /// [`FilterSession::flush`] and [`FilterSession::finish`], which logs it.
    pub async fn filter_session(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        head: FilterHead,
    ) -> Result<FilterSession> {
        self.open_session(caller, workspace, head, true).await
    }

    /// A filtering session; `ask_first`: the decision point is asked before
    /// anything passes (for streams, whose pieces pass before the end).
    async fn open_session(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        head: FilterHead,
        ask_first: bool,
    ) -> Result<FilterSession> {
        let row = self.visible_workspace(caller, workspace).await?;
        caller.require_decider()?;
        let guard = self.guard(&row).await?;
        let directory = self.directory(&row).await?;
        let agent = head.agent.as_deref().and_then(|name| directory.agent(name));
        let destination = head.destination.as_deref().map(|name| {
            directory
                .tool(name)
                .map(|id| ("Tool", "invoke_tool", id))
                .or_else(|| {
                    directory.dataset(name).map(|id| {
                        let action = match head.direction {
                            Direction::Egress => "write_dataset",
                            Direction::Ingress => "read_dataset",
                        };
                        ("Dataset", action, id)
                    })
                })
                .unwrap_or(("Tool", "invoke_tool", name.to_owned()))
        });
        let team = agent.as_deref().and_then(|agent| directory.team(agent)).map(str::to_owned);
        let policy_request = match (&agent, &destination) {
            (Some(agent), Some((entity_type, action, id))) => Some(DecisionRequest {
                principal: EntityRef { entity_type: "Agent".into(), id: agent.clone() },
                action: (*action).into(),
                resource: EntityRef { entity_type: (*entity_type).into(), id: id.clone() },
                context: serde_json::Map::new(),
            }),
            _ => None,
        };
        let mut reasons = std::collections::BTreeSet::new();
        let mut action = GuardAction::Allow;
        match (&head.agent, &agent, &guard.rules) {
            (None, _, _) => {
                reasons.insert("guard:redact-all: no agent named, every finding redacted".to_owned());
            }
            (Some(name), None, _) => {
                reasons.insert(format!("guard:unknown-agent: \"{name}\" is no registered agent"));
                action = GuardAction::Block;
            }
            (_, _, Err(problem)) => {
                reasons.insert(format!("guard:rules-unreadable: {problem}"));
                action = GuardAction::Block;
            }
            _ => {}
        }
        // The decision point first: content for what the agent may not
        // reach is blocked before any of it passes (the logged decision is
        // made again when the filtering is logged).
        if let Some(request) = &policy_request
            && ask_first
            && action != GuardAction::Block
        {
            let loaded = self.policy_engine(caller, workspace).await?;
            let decision = loaded.engine.decide(request, self.clock.now());
            if decision.decision == Effect::Deny {
                action = GuardAction::Block;
                reasons.extend(decision.reasons);
            }
        }
        let segmenter = charter_guard::Segmenter::new(&guard.scanner);
        Ok(FilterSession {
            app: self.clone(),
            row,
            caller: caller.clone(),
            hasher: charter_guard::ContentHasher::new(&guard.key),
            redactor: charter_guard::Redactor::new(&guard.key),
            guard,
            named: head.agent,
            agent,
            team,
            direction: head.direction,
            destination: destination.map(|(_, _, id)| id),
            policy_request,
            reasons,
            action,
            findings: Vec::new(),
            counts: BTreeMap::new(),
            redacted: 0,
            class: DataClass::Public,
            bytes: 0,
            segmenter,
        })
    }

    /// A safety check of one file (a governed step's `validate`, a run's
    /// outputs): `input` filtered as `head`'s content through a logged
    /// session; it fails when the filter blocks it or it holds a finding of
    /// a `blocked` type. The summary names types and counts, never a value.
    pub(crate) async fn check_content(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        head: FilterHead,
        name: &str,
        input: &mut (dyn std::io::Read + Send),
        blocked: &[FindingType],
    ) -> Result<CheckedContent> {
        let mut session = self.filter_session(caller, workspace, head).await?;
        let mut buffer = vec![0_u8; 1 << 20];
        loop {
            let n = input
                .read(&mut buffer)
                .map_err(|error| AppError::internal(format!("reading {name}: {error}")))?;
            if n == 0 {
                session.flush();
                break;
            }
            session.push(&buffer[..n]);
        }
        let bytes = session.bytes;
        let filtered = session.finish().await?;
        let findings = filtered.counts;
        let bad: Vec<String> = findings
            .iter()
            .filter(|(kind, _)| blocked.contains(kind))
            .map(|(kind, n)| format!("{n} {kind}"))
            .collect();
        let decision = filtered.decision_id.as_deref().unwrap_or("not logged");
        let passed = filtered.action != GuardAction::Block && bad.is_empty();
        let summary = if passed {
            let found: Vec<String> = findings.iter().map(|(kind, n)| format!("{n} {kind}")).collect();
            format!(
                "{name}: {} ({decision})",
                if found.is_empty() { "nothing found".to_owned() } else { found.join(", ") }
            )
        } else {
            format!(
                "{name}: {} ({}; {decision})",
                if bad.is_empty() {
                    "blocked by the DLP rules".to_owned()
                } else {
                    format!("holds {}", bad.join(", "))
                },
                filtered.reasons.join(", ")
            )
        };
        Ok(CheckedContent { passed, bytes, findings, summary, decision_id: filtered.decision_id })
    }

    /// The workspace's detectors and classification rules, to scan content
    /// without deciding or logging anything (`charter guard scan`).
    pub async fn guard_scanner(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
    ) -> Result<(Scanner, Vec<charter_model::ClassRule>)> {
        let row = self.visible_workspace(caller, workspace).await?;
        let guard = self.guard(&row).await?;
        Ok((guard.scanner.clone(), guard.class_rules.clone()))
    }

    /// What is wrong or surprising in the workspace's DLP rules and guard
    /// settings (`charter guard lint`): names that are not registered,
    /// rules that never decide, doors left open.
    pub async fn guard_lint(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
    ) -> Result<Vec<charter_guard::Lint>> {
        let row = self.visible_workspace(caller, workspace).await?;
        let rules: Vec<DlpRule> = self.read_values(&row).await?;
        let settings: Vec<GuardSettings> = self.read_values(&row).await?;
        let settings = settings.into_iter().next().unwrap_or_else(default_settings);
        let directory = self.directory(&row).await?;
        let teams: Vec<charter_model::Team> = self.read_values(&row).await?;
        let destination = |name: &str| directory.tool(name).is_some() || directory.dataset(name).is_some();
        let team = |name: &str| teams.iter().any(|team| team.team_id.as_str() == name || team.name == name);
        Ok(charter_guard::lint(
            &rules,
            &settings,
            charter_guard::Known { destination: &destination, team: &team },
        ))
    }
}

/// How often filterings of one workspace wake the alert evaluator.
const FILTER_MARK_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

impl App {
    /// Whether a filtering of workspace `id` should wake the evaluator now
    /// (the last one did over [`FILTER_MARK_INTERVAL`] ago), noting it.
    fn filter_mark_due(&self, id: i64) -> bool {
        let now = std::time::Instant::now();
        let mut marks = self.cache.filter_marks.lock().unwrap_or_else(|p| p.into_inner());
        match marks.get(&id) {
            Some(last) if now.duration_since(*last) < FILTER_MARK_INTERVAL => false,
            _ => {
                marks.insert(id, now);
                true
            }
        }
    }
}

/// One agent's filterings over a period.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AgentFilterings {
    /// The agent (`-` for filterings without a registered agent).
    pub agent: String,
    /// Filterings.
    pub filterings: u64,
    /// Of which blocked.
    pub blocked: u64,
    /// Of which redacted.
    pub redacted_filterings: u64,
    /// Values redacted.
    pub redacted: u64,
    /// Findings per type.
    pub findings: BTreeMap<FindingType, u64>,
}

impl App {
    /// The filterings of the last `days` days per agent and finding type
    /// (`charter guard stats`), read from the ledger.
    pub async fn guard_stats(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        days: u32,
    ) -> Result<Vec<AgentFilterings>> {
        let row = self.visible_workspace(caller, workspace).await?;
        if !(1..=366).contains(&days) {
            return Err(AppError::invalid("guard stats", vec![format!("days: {days}; from 1 to 366")]));
        }
        let now = self.clock.now();
        let since = now.minus(charter_model::Span::from_secs(u64::from(days) * 86_400)).unwrap_or(now);
        let until = now.plus(charter_model::Span::from_secs(86_400)).unwrap_or(now);
        let mut per_agent: BTreeMap<String, AgentFilterings> = BTreeMap::new();
        for event in self.store.events_between(row.id, FILTER, None, since, until).await? {
            let decoded = charter_model::AuditEvent::decode(&event.body)
                .map_err(|error| AppError::corrupt(format!("event {}: {error}", event.seq)))?;
            let Some(value) = decoded.value.as_deref() else { continue };
            let log: FilterLog = serde_json::from_str(value).map_err(|error| {
                AppError::corrupt(format!("event {}: a filtering that does not parse: {error}", event.seq))
            })?;
            let agent = log.agent.clone().unwrap_or_else(|| "-".to_owned());
            let entry = per_agent
                .entry(agent.clone())
                .or_insert_with(|| AgentFilterings { agent, ..AgentFilterings::default() });
            entry.filterings += 1;
            entry.blocked += u64::from(log.action == GuardAction::Block);
            entry.redacted_filterings += u64::from(log.action == GuardAction::Redact);
            entry.redacted += log.redacted;
            for (kind, count) in log.counts {
                *entry.findings.entry(kind).or_default() += count;
            }
        }
        Ok(per_agent.into_values().collect())
    }
}
