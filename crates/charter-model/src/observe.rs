//! Runtime oversight records: an agent's runs as Charter recorded them from
//! its telemetry, and a workspace's oversight settings.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::id::{AgentId, Key};
use crate::time::Timestamp;
use crate::validate::{Check, Checker, Ref};

/// Prefix of run ids.
pub const RUN_ID_PREFIX: &str = "RUN-";

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    /// No span failed.
    Ok,
    /// A span failed.
    Error,
}

/// One agent invocation (the spans of one trace that belong to one agent),
/// closed when its root span arrived. Its spans are kept beside the
/// registry; `spans_sha256` binds them to this record, and so to the
/// ledger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunRecord {
    /// `RUN-<trace id>-<agent>` (see `charter_observe::run_id`).
    pub run_id: Key,
    /// The trace id, 32 hex digits.
    pub trace_id: String,
    /// The agent that ran.
    pub agent_id: AgentId,
    /// The workflow it ran for, when a span names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_id: Option<Key>,
    /// Earliest start of its spans.
    pub started_at: Timestamp,
    /// Latest end of its spans.
    pub ended_at: Timestamp,
    /// `ended_at - started_at` in milliseconds.
    pub duration_ms: f64,
    /// How it ended.
    pub status: RunOutcome,
    /// The `error.type`s seen, in order of first appearance.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    /// Tool calls in all.
    pub tool_calls: u64,
    /// Tool calls that failed.
    pub tool_failures: u64,
    /// The tools and systems it called.
    #[serde(default)]
    pub tools: Vec<String>,
    /// The datasets it touched.
    #[serde(default)]
    pub datasets: Vec<String>,
    /// The models it asked (provenance: model versions as the spans name them).
    #[serde(default)]
    pub models: Vec<String>,
    /// Input tokens in all.
    pub input_tokens: u64,
    /// Output tokens in all.
    pub output_tokens: u64,
    /// Cost in USD of the tokens whose model has a price.
    pub cost_usd: f64,
    /// Tokens of models without a price: spend Charter cannot explain.
    pub unpriced_tokens: u64,
    /// Redactions the safety filter made.
    pub redactions: u64,
    /// Mean output-quality score of the spans that carry one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<f64>,
    /// Decisions the decision point denied this agent while the run lasted
    /// (ids of the logged decisions, as `<ledger seq>`), with their reasons.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub guardrail_hits: Vec<GuardrailHit>,
    /// What went other than planned: failed spans, tools or datasets the
    /// agent is not declared to use, spans from the future.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deviations: Vec<String>,
    /// SHA-256 of prompt and output contents (provenance, never content).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub content_hashes: Vec<String>,
    /// Spans folded in.
    pub spans: u64,
    /// SHA-256 over the canonical JSON of its spans, in span-id order.
    pub spans_sha256: String,
    /// The safety check of its outputs its spans declare
    /// (`charter.validate.files`), and its result once they were filtered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation: Option<RunValidation>,
}

/// A run's post-run validation (the agent operations framework's Validate
/// step): output files filtered as the agent's egress content; a finding of
/// a blocked type, content the DLP rules block, or a declared file not
/// provided fails it, and a failure opens an incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunValidation {
    /// The output files declared.
    pub files: Vec<String>,
    /// Finding types or families that fail it (without any: `secret`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub block: Vec<String>,
    /// Its result, once the outputs were filtered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<ValidationResult>,
}

impl RunValidation {
    /// The check as a governed operation step declares it.
    pub fn check(&self) -> crate::operation::SafetyCheck {
        crate::operation::SafetyCheck { files: self.files.clone(), block: self.block.clone() }
    }
}

/// What a run's validation found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidationResult {
    /// Whether every declared file was provided and passed.
    pub passed: bool,
    /// When it was validated.
    pub at: Timestamp,
    /// Who provided the outputs.
    pub by: String,
    /// Each declared file, in declared order.
    pub files: Vec<ValidatedFile>,
    /// The incident a failure opened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident: Option<Key>,
}

/// One output file's validation: types and counts, never a value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidatedFile {
    /// The file as declared.
    pub file: String,
    /// Whether it passed.
    pub passed: bool,
    /// Its length in bytes (0 when not provided).
    pub bytes: u64,
    /// Findings per type.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub findings: BTreeMap<String, u64>,
    /// One line: what failed it, or what was found.
    pub summary: String,
    /// The filtering's ledger entry (`DEC-<seq>`), when it was filtered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_id: Option<String>,
}

/// A denied decision within a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GuardrailHit {
    /// Sequence number of the decision's ledger entry.
    pub seq: u64,
    /// When it was decided.
    pub at: Timestamp,
    /// The action denied.
    pub action: String,
    /// The resource, as `Type::"id"`.
    pub resource: String,
    /// The decision's reasons.
    pub reasons: Vec<String>,
}

impl Check for RunRecord {
    fn check(&self, check: &mut Checker) {
        if !self.run_id.as_str().starts_with(RUN_ID_PREFIX) {
            check.fail("run_id", &format!("must start with {RUN_ID_PREFIX}, got \"{}\"", self.run_id));
        }
        if self.ended_at < self.started_at {
            check.fail("ended_at", "must not be before started_at");
        }
        check.non_negative("cost_usd", self.cost_usd);
        if let Some(validation) = &self.validation
            && let Err(unknown) = validation.check().blocked_types()
        {
            check.fail("validation.block", &format!("{} is no finding type or family", unknown.join(", ")));
        }
    }

    fn references(&self, refs: &mut Vec<Ref>) {
        refs.push(Ref::agent("agent_id".into(), &self.agent_id));
    }
}

/// Price of a model, in USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelPrice {
    /// USD per million input tokens.
    pub input_per_mtok: f64,
    /// USD per million output tokens.
    pub output_per_mtok: f64,
}

/// Default width of a health window, in minutes.
pub const DEFAULT_WINDOW_MINUTES: u32 = 5;
/// Default clock skew tolerated for spans from the future, in seconds.
pub const DEFAULT_SKEW_SECONDS: u32 = 300;

/// A workspace's runtime-oversight settings (`observe_settings.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObserveSettings {
    /// Always `default`: a workspace has one set.
    pub settings_id: Key,
    /// Width of a health window in minutes (default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_minutes: Option<u32>,
    /// Seconds a span may end in the future before it is flagged (default 300).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skew_seconds: Option<u32>,
    /// The span attribute holding an output-quality score, if spans carry one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality_attribute: Option<String>,
    /// Prices per model name (as `gen_ai.request.model` / `gen_ai.response.model` give it).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub prices: BTreeMap<String, ModelPrice>,
    /// Where alerts page, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub receivers: BTreeMap<String, Receiver>,
    /// The receivers incidents page (when opened, escalated, acknowledged,
    /// resolved).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub incident_receivers: Vec<String>,
    /// Minutes an incident of each severity may go unacknowledged before it
    /// escalates (default SEV1 5, SEV2 15, SEV3 60, SEV4 240).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ack_minutes: BTreeMap<String, u32>,
    /// Whether a kill-switch pause opens an incident (default yes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident_on_pause: Option<bool>,
    /// Whether an agent's Tier 3+ action denied for want of an approval
    /// opens an incident (default yes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident_on_tier_denial: Option<bool>,
}

impl ObserveSettings {
    /// The settings a workspace without a record has.
    pub fn defaults() -> Self {
        Self {
            settings_id: Key::new("default").unwrap_or_else(|_| unreachable!("\"default\" is a valid key")),
            window_minutes: None,
            skew_seconds: None,
            quality_attribute: None,
            prices: BTreeMap::new(),
            receivers: BTreeMap::new(),
            incident_receivers: Vec::new(),
            ack_minutes: BTreeMap::new(),
            incident_on_pause: None,
            incident_on_tier_denial: None,
        }
    }

    /// Width of a health window in minutes.
    pub fn window_minutes(&self) -> u32 {
        self.window_minutes.unwrap_or(DEFAULT_WINDOW_MINUTES)
    }

    /// Minutes an incident of `severity` may go unacknowledged.
    pub fn ack_minutes(&self, severity: crate::enums::IncidentSeverity) -> u32 {
        use crate::enums::IncidentSeverity::*;
        self.ack_minutes.get(severity.as_str()).copied().unwrap_or(match severity {
            Sev1 => 5,
            Sev2 => 15,
            Sev3 => 60,
            Sev4 => 240,
        })
    }

    /// Clock skew tolerated, in seconds.
    pub fn skew_seconds(&self) -> u32 {
        self.skew_seconds.unwrap_or(DEFAULT_SKEW_SECONDS)
    }
}

impl Check for ObserveSettings {
    fn check(&self, check: &mut Checker) {
        if self.settings_id.as_str() != "default" {
            check.fail("settings_id", &format!("must be \"default\", got \"{}\"", self.settings_id));
        }
        if let Some(minutes) = self.window_minutes
            && !(1..=1_440).contains(&minutes)
        {
            check.fail("window_minutes", &format!("must be between 1 and 1440, got {minutes}"));
        }
        if let Some(attribute) = &self.quality_attribute {
            check.text("quality_attribute", attribute);
        }
        for (name, receiver) in &self.receivers {
            if !receiver.url.starts_with("http://") {
                check.fail(
                    &format!("receivers.{name}.url"),
                    &format!("must start with http://, got \"{}\"", receiver.url),
                );
            }
            if receiver.kind == ReceiverKind::Pagerduty
                && receiver.routing_key.as_deref().is_none_or(str::is_empty)
            {
                check.fail(
                    &format!("receivers.{name}.routing_key"),
                    "a pagerduty receiver needs its routing_key",
                );
            }
        }
        for (index, name) in self.incident_receivers.iter().enumerate() {
            if !self.receivers.contains_key(name) {
                check.fail(
                    &format!("incident_receivers[{index}]"),
                    &format!("no receiver \"{name}\" in receivers"),
                );
            }
        }
        for (severity, minutes) in &self.ack_minutes {
            if severity.parse::<crate::enums::IncidentSeverity>().is_err() {
                check.fail(&format!("ack_minutes.{severity}"), "expected SEV1, SEV2, SEV3 or SEV4");
            }
            if *minutes == 0 {
                check.fail(&format!("ack_minutes.{severity}"), "must be at least 1");
            }
        }
        for (model, price) in &self.prices {
            check.non_negative(&format!("prices.{model}.input_per_mtok"), price.input_per_mtok);
            check.non_negative(&format!("prices.{model}.output_per_mtok"), price.output_per_mtok);
        }
    }
}

/// Where pages go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Receiver {
    /// `pagerduty` (Events API v2) or `webhook` (Alertmanager-style JSON).
    pub kind: ReceiverKind,
    /// Where to POST (http://; an https:// service sits behind a
    /// TLS-terminating relay).
    pub url: String,
    /// PagerDuty's integration key (`routing_key`), for `pagerduty`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_key: Option<String>,
}

/// A receiver's protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReceiverKind {
    /// PagerDuty Events API v2.
    Pagerduty,
    /// Alertmanager-style webhook JSON.
    Webhook,
}

/// A kind of alert: which anomalies it covers, how severe, who owns it and
/// the procedure (runbook) to follow. A class without an owner or with a
/// runbook that is no registered procedure is a finding of the daily check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertClass {
    /// The class's id (`agent-drift`, …).
    pub class_id: Key,
    /// What it is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The anomaly reasons it covers (`anomaly:denied-burst`, …); empty:
    /// every reason no other class covers.
    #[serde(default)]
    pub reasons: Vec<String>,
    /// How severe its alerts are.
    pub severity: crate::enums::Severity,
    /// The person who owns it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Key>,
    /// The runbook: a `PROC-…` procedure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runbook: Option<String>,
    /// The receivers (names in the oversight settings) its alerts page.
    #[serde(default)]
    pub receivers: Vec<String>,
    /// Whether an alert of this class opens an incident.
    #[serde(default)]
    pub opens_incident: bool,
}

impl Check for AlertClass {
    fn check(&self, check: &mut Checker) {
        for (index, reason) in self.reasons.iter().enumerate() {
            if !reason.starts_with("anomaly:") {
                check.fail(
                    &format!("reasons[{index}]"),
                    &format!("\"{reason}\" is no anomaly reason (anomaly:…)"),
                );
            }
        }
        check.unique("reasons", &self.reasons);
        check.unique("receivers", &self.receivers);
    }
}

/// An alert: an anomaly of one agent, raised under its class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Alert {
    /// `ALR-YYYY-MM-DD-NNN`.
    pub alert_id: Key,
    /// Its class.
    pub class_id: Key,
    /// The agent.
    pub agent_id: AgentId,
    /// The anomaly's reason id.
    pub reason: String,
    /// The signal behind it, if one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<String>,
    /// One sentence.
    pub summary: String,
    /// What it rests on: observed values, baseline, threshold, windows, runs.
    #[schema(value_type = Object)]
    pub evidence: serde_json::Value,
    /// Its class's severity when raised.
    pub severity: crate::enums::Severity,
    /// Where it is.
    pub status: crate::enums::AlertStatus,
    /// The class's owner when raised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Key>,
    /// The class's runbook when raised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runbook: Option<String>,
    /// The same for every page about this alert (PagerDuty's `dedup_key`).
    pub dedup_key: String,
    /// When it was raised.
    pub opened_at: Timestamp,
    /// When someone acknowledged it, and who.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged_at: Option<Timestamp>,
    /// Who acknowledged it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged_by: Option<String>,
    /// When it was resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<Timestamp>,
    /// Who resolved it (`charter` when its anomaly went away).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_by: Option<String>,
    /// The incident it opened, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident_id: Option<Key>,
}

impl Check for Alert {
    fn check(&self, _check: &mut Checker) {}

    fn references(&self, refs: &mut Vec<Ref>) {
        refs.push(Ref::agent("agent_id".into(), &self.agent_id));
    }
}

/// A step of an incident's escalation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Escalation {
    /// When.
    pub at: Timestamp,
    /// Who it went to.
    pub to: String,
    /// Why.
    pub reason: String,
}

/// One line of an incident's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentEvent {
    /// When.
    pub at: Timestamp,
    /// Who.
    pub actor: String,
    /// What happened.
    pub event: String,
}

/// A follow-up action of a postmortem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostmortemAction {
    /// What is to be done.
    #[serde(default)]
    pub description: String,
    /// Who does it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// By when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<crate::time::Date>,
}

/// An incident's postmortem. Every part is required; the check names the
/// missing ones.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Postmortem {
    /// What happened, in short.
    #[serde(default)]
    pub summary: String,
    /// Who and what was harmed, how much.
    #[serde(default)]
    pub impact: String,
    /// Why it happened.
    #[serde(default)]
    pub root_cause: String,
    /// What happened when.
    #[serde(default)]
    pub timeline: Vec<String>,
    /// What will be done, each with an owner and a due date.
    #[serde(default)]
    pub actions: Vec<PostmortemAction>,
}

impl Postmortem {
    /// The parts missing or incomplete, each named.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for (field, text) in
            [("summary", &self.summary), ("impact", &self.impact), ("root_cause", &self.root_cause)]
        {
            if text.trim().is_empty() {
                problems.push(format!("{field}: missing"));
            }
        }
        if self.timeline.iter().all(|line| line.trim().is_empty()) {
            problems.push("timeline: missing".into());
        }
        if self.actions.is_empty() {
            problems.push("actions: none; a postmortem names what will be done".into());
        }
        for (index, action) in self.actions.iter().enumerate() {
            if action.description.trim().is_empty() {
                problems.push(format!("actions[{index}].description: missing"));
            }
            if action.owner.as_deref().is_none_or(|owner| owner.trim().is_empty()) {
                problems.push(format!("actions[{index}].owner: missing"));
            }
            if action.due.is_none() {
                problems.push(format!("actions[{index}].due: missing"));
            }
        }
        problems
    }
}

/// An incident (`INC-YYYY-MM-DD-NNN`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Incident {
    /// `INC-YYYY-MM-DD-NNN`.
    pub incident_id: Key,
    /// What it is about.
    pub title: String,
    /// How severe.
    pub severity: crate::enums::IncidentSeverity,
    /// Where it is.
    pub status: crate::enums::IncidentStatus,
    /// The incident commander (a person with the incident_commander role).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commander: Option<Key>,
    /// The agent concerned, if one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<AgentId>,
    /// What opened it: `manual`, `alert:ALR-…`, `kill-switch`, `decision:<seq>`.
    pub source: String,
    /// When it was opened.
    pub opened_at: Timestamp,
    /// When it was acknowledged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged_at: Option<Timestamp>,
    /// When it was mitigated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mitigated_at: Option<Timestamp>,
    /// When it was resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<Timestamp>,
    /// When its postmortem was accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postmortem_at: Option<Timestamp>,
    /// Escalations for want of acknowledgement, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub escalations: Vec<Escalation>,
    /// Every transition, with its actor and time.
    #[serde(default)]
    pub timeline: Vec<IncidentEvent>,
    /// The postmortem, once written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postmortem: Option<Postmortem>,
}

impl Check for Incident {
    fn check(&self, check: &mut Checker) {
        check.text("title", &self.title);
    }

    fn references(&self, refs: &mut Vec<Ref>) {
        if let Some(agent) = &self.agent_id {
            refs.push(Ref::agent("agent_id".into(), agent));
        }
        if let Some(commander) = &self.commander {
            refs.push(Ref::person("commander".into(), commander));
        }
    }
}

/// Default share of a budget at which it warns, in percent.
pub const DEFAULT_SOFT_PERCENT: f64 = 80.0;

/// A monthly spend envelope of one agent or one team.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    /// The budget's id.
    pub budget_id: Key,
    /// The agent it holds for (exactly one of agent and team).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<AgentId>,
    /// The team it holds for (an agent's `owner_team`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// USD per calendar month (UTC).
    pub monthly_usd: f64,
    /// Percent of the month's budget at which an alert is raised (default 80).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soft_percent: Option<f64>,
    /// Whether spending the whole budget stops the agent (the decision
    /// point denies with `guardrail:budget-exhausted` until the budget is
    /// raised or the month turns).
    #[serde(default)]
    pub hard: bool,
    /// The month (`YYYY-MM`) in which spend reached a hard budget: the
    /// decision point denies its agents for the rest of that month. Set by
    /// Charter as runs close, cleared by `charter budget set`; a generic
    /// write never moves it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exhausted_in: Option<String>,
}

impl Budget {
    /// The soft threshold in percent.
    pub fn soft_percent(&self) -> f64 {
        self.soft_percent.unwrap_or(DEFAULT_SOFT_PERCENT)
    }
}

impl Check for Budget {
    fn check(&self, check: &mut Checker) {
        if self.agent_id.is_some() == self.team.is_some() {
            check.fail("agent_id", "a budget holds for exactly one agent (agent_id) or one team (team)");
        }
        if !(self.monthly_usd.is_finite() && self.monthly_usd >= 0.0) {
            check.fail(
                "monthly_usd",
                &format!("must be a number of USD, zero or more, got {}", self.monthly_usd),
            );
        }
        if let Some(soft) = self.soft_percent {
            check.range("soft_percent", soft, 0.0, 100.0);
        }
    }

    fn references(&self, refs: &mut Vec<Ref>) {
        if let Some(agent) = &self.agent_id {
            refs.push(Ref::agent("agent_id".into(), agent));
        }
    }
}
