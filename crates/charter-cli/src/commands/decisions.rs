//! `charter decide`, `charter grant …`, `charter agents pause|resume` and
//! `charter policy lint|review-due|test|replay`: the decision point.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use charter_app::{NewGrant, RecordView, ReplayRegistry};
use charter_model::registry::Policy;
use charter_model::{Record, RecordKind, Span, Timestamp};
use charter_policy::{DecisionAnswer, DecisionRequest, Effect, EntityRef, PolicyCase};
use clap::{Args, Subcommand, ValueEnum};

use crate::output::{Output, Table, print_json, print_record};
use crate::settings::{Global, caller, open, resolve_workspace};

/// The options of `charter decide`.
#[derive(Debug, Args)]
pub struct DecideArgs {
    /// Who acts: TYPE::ID, or an agent id (Agent:: is assumed)
    #[arg(long, required_unless_present = "file", value_name = "ENTITY")]
    pub principal: Option<String>,
    /// The action: invoke_tool, read_dataset, write_dataset, change_schema, promote_dataset,
    /// request_operation, approve_operation, execute_operation, grant, pause_agent, resume_agent
    #[arg(long, required_unless_present = "file")]
    pub action: Option<String>,
    /// What is acted on: TYPE::ID, e.g. Tool::crm_salesforce
    #[arg(long, required_unless_present = "file", value_name = "ENTITY")]
    pub resource: Option<String>,
    /// Context as a JSON object, e.g. '{"approval":"GRANT-0001","ticket":"CHG-12"}'
    #[arg(long, value_name = "JSON")]
    pub context: Option<String>,
    /// Decide a batch instead: a JSON array of {principal, action, resource, context}
    #[arg(long, value_name = "FILE", conflicts_with_all = ["principal", "action", "resource", "context"])]
    pub file: Option<PathBuf>,
}

/// The subcommands of `charter grant`.
#[derive(Debug, Subcommand)]
pub enum GrantCommand {
    /// Grant an agent one action on one resource for a while; you approve it
    Create {
        /// The agent
        #[arg(long)]
        agent: charter_model::AgentId,
        /// The action, e.g. invoke_tool
        #[arg(long)]
        action: String,
        /// The resource: TYPE::ID, e.g. Tool::erp_netsuite
        #[arg(long, value_name = "ENTITY")]
        resource: String,
        /// How long it holds: 90s, 30m, 2h, 7d, 1h30m (at most 90 days)
        #[arg(long)]
        ttl: charter_model::Span,
        /// Why it is given
        #[arg(long)]
        reason: String,
        /// access (lifts least privilege), approval (for Tier 3+ resources, named in the
        /// request context) or residency_exception
        #[arg(long, default_value = "access")]
        kind: charter_model::GrantKind,
        /// Who asked for it (default: the agent); may not be you, the approver
        #[arg(long, value_name = "NAME")]
        requested_by: Option<String>,
    },
    /// List grants (by default only those that hold now)
    List {
        /// Also list expired and revoked grants
        #[arg(long)]
        all: bool,
    },
    /// Revoke a grant now
    Revoke {
        /// Grant id (GRANT-NNNN)
        id: String,
    },
}

/// The subcommands of `charter policy`.
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Check policies against POL-GOVERNANCE-MASTER: id format, under 500 words, one owner,
    /// a one- or two-sentence purpose, numbered rules, a valid status, valid Cedar
    Lint {
        /// Lint these policy files (a JSON file or a directory of them) instead of the
        /// workspace's policies
        #[arg(long, value_name = "FILE_OR_DIR")]
        file: Option<PathBuf>,
    },
    /// List policies whose last review is a quarter old and raise a RAIDA action for each (once)
    ReviewDue {
        /// The day to judge from (default: today)
        #[arg(long, value_name = "YYYY-MM-DD")]
        as_of: Option<charter_model::Date>,
    },
    /// Run policy test cases (JSON files of requests and expected decisions) and print a
    /// pass/fail table; nothing is logged
    Test {
        /// Directory of case files (or one file)
        path: PathBuf,
        /// Test a proposed policy set instead of the enforced one: policy files replacing the
        /// policies of the same id
        #[arg(long, value_name = "FILE_OR_DIR")]
        proposed: Option<PathBuf>,
        /// Time of the decisions of cases that do not give one (default: now)
        #[arg(long, value_name = "TIME")]
        at: Option<charter_model::Timestamp>,
    },
    /// Re-evaluate logged decisions under proposed policies and report every one that would flip
    Replay {
        /// Proposed policy files (a JSON file or a directory of them), replacing the policies of
        /// the same id
        #[arg(long, value_name = "FILE_OR_DIR")]
        proposed: PathBuf,
        /// Only decisions since then: a duration back from now (7d, 24h) or an RFC 3339 time
        #[arg(long, value_name = "WHEN")]
        since: Option<String>,
        /// Replay each decision on the registry as it was then, or as it is now
        #[arg(long, value_enum, default_value_t = RegistryChoice::AsLogged)]
        registry: RegistryChoice,
    },
}

/// Which registry replayed decisions are judged on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RegistryChoice {
    /// The registry as it was when each decision was made
    AsLogged,
    /// The registry as it is now
    Current,
}

/// Exit status of `charter decide` when something is denied.
const DENIED: u8 = 2;

/// `TYPE::ID` (quotes around the id allowed, as Cedar writes it), or a bare
/// id of `default_type`.
fn entity(text: &str, default_type: &str, what: &str) -> Result<EntityRef> {
    let (entity_type, id) = match text.split_once("::") {
        Some((entity_type, id)) => (entity_type.trim(), id.trim().trim_matches('"')),
        None if !default_type.is_empty() => (default_type, text.trim()),
        None => bail!("{what}: \"{text}\" is not TYPE::ID (e.g. Tool::crm_salesforce)"),
    };
    if entity_type.is_empty() || id.is_empty() {
        bail!("{what}: \"{text}\" is not TYPE::ID (e.g. Tool::crm_salesforce)");
    }
    Ok(EntityRef { entity_type: entity_type.to_owned(), id: id.to_owned() })
}

use crate::input::read_json;

/// The `.json` files of `path` (itself, when it is a file), in name order.
fn json_files(path: &Path) -> Result<Vec<PathBuf>> {
    if path.is_file() {
        return Ok(vec![path.to_owned()]);
    }
    let entries = std::fs::read_dir(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut files = Vec::new();
    for entry in entries {
        let file = entry.with_context(|| format!("cannot read {}", path.display()))?.path();
        if file.extension().is_some_and(|ext| ext == "json") && file.is_file() {
            files.push(file);
        }
    }
    files.sort();
    if files.is_empty() {
        bail!("{} holds no .json files", path.display());
    }
    Ok(files)
}

/// Policies from a JSON file (one policy, or an array like policies.json)
/// or a directory of such files. Every problem is reported, naming the
/// file, the element and the field; Cedar must validate.
pub(crate) fn load_policies(path: &Path) -> Result<Vec<Policy>> {
    let (policies, problems) = read_policies(path)?;
    if !problems.is_empty() {
        bail!("invalid policies:\n  {}", problems.join("\n  "));
    }
    Ok(policies)
}

/// The policies a file or directory holds, and a problem (naming the file,
/// the element and the field) for each element that is not a valid policy.
fn read_policies(path: &Path) -> Result<(Vec<Policy>, Vec<String>)> {
    let mut policies = Vec::new();
    let mut problems = Vec::new();
    for file in json_files(path)? {
        let name = file.display().to_string();
        let value: serde_json::Value = read_json(&file)?;
        let elements = match value {
            serde_json::Value::Array(elements) => {
                elements.into_iter().map(Some).enumerate().collect::<Vec<_>>()
            }
            other => vec![(usize::MAX, Some(other))],
        };
        for (index, element) in elements {
            let place = if index == usize::MAX { String::new() } else { format!("[{index}]") };
            match element.map(|value| RecordKind::Policy.from_value(value)) {
                Some(Ok(record @ Record::Policy(_))) => {
                    // The rules every saved policy meets, Cedar included.
                    for error in charter_app::record_problems(&record) {
                        problems.push(format!("{name}: {place}.{error}"));
                    }
                    if let Record::Policy(policy) = record {
                        policies.push(*policy);
                    }
                }
                Some(Err(error)) if error.path.is_empty() => {
                    problems.push(format!("{name}: {place}: {}", error.message))
                }
                Some(Err(error)) => {
                    problems.push(format!("{name}: {place}.{}: {}", error.path, error.message))
                }
                _ => problems.push(format!("{name}: {place}: not a policy")),
            }
        }
    }
    Ok((policies, problems))
}

fn reasons(answer_reasons: &[String]) -> String {
    answer_reasons.join(", ")
}

pub(crate) async fn decide(global: &Global, args: DecideArgs) -> Result<ExitCode> {
    let requests: Vec<DecisionRequest> = match &args.file {
        Some(file) => read_json(file)?,
        None => {
            let context = match &args.context {
                None => serde_json::Map::new(),
                Some(text) => match serde_json::from_str(text) {
                    Ok(serde_json::Value::Object(map)) => map,
                    Ok(_) => bail!("--context: expected a JSON object, got {text}"),
                    Err(error) => bail!("--context: column {}: {error}", error.column()),
                },
            };
            vec![DecisionRequest {
                principal: entity(args.principal.as_deref().unwrap_or_default(), "Agent", "--principal")?,
                action: args.action.clone().unwrap_or_default(),
                resource: entity(args.resource.as_deref().unwrap_or_default(), "", "--resource")?,
                context,
            }]
        }
    };
    let (backend, workspace) = crate::backend::Backend::connect(global).await?;
    let answers = backend.decide(&workspace, &requests).await?;
    match global.output {
        Output::Json if args.file.is_none() => print_json(&answers[0])?,
        Output::Json => print_json(&answers)?,
        Output::Table => {
            let mut table =
                Table::new(["DECISION", "ID", "PRINCIPAL", "ACTION", "RESOURCE", "REASONS", "ERRORS"]);
            for (request, answer) in requests.iter().zip(&answers) {
                table.row([
                    effect(answer.decision).to_owned(),
                    answer.decision_id.clone().unwrap_or_default(),
                    request.principal.to_string(),
                    request.action.clone(),
                    request.resource.to_string(),
                    reasons(&answer.reasons),
                    answer.errors.join("; "),
                ]);
            }
            print!("{}", table.render());
        }
    }
    Ok(if answers.iter().all(|answer: &DecisionAnswer| answer.decision == Effect::Allow) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(DENIED)
    })
}

fn effect(effect: Effect) -> &'static str {
    match effect {
        Effect::Allow => "allow",
        Effect::Deny => "deny",
    }
}

pub(crate) async fn pause(global: &Global, id: &str) -> Result<ExitCode> {
    let (backend, workspace) = crate::backend::Backend::connect(global).await?;
    let view = backend.pause_agent(&workspace, id).await?;
    match global.output {
        Output::Json => print_record(global, &view)?,
        Output::Table => {
            println!("Paused {id}: every decision about it denies from now on (version {}).", view.version)
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn resume(
    global: &Global,
    id: &str,
    status: Option<charter_model::AgentStatus>,
) -> Result<ExitCode> {
    let (backend, workspace) = crate::backend::Backend::connect(global).await?;
    let view = backend.resume_agent(&workspace, id, status).await?;
    match global.output {
        Output::Json => print_record(global, &view)?,
        Output::Table => {
            let status = match &view.record {
                Record::Agent(agent) => agent.status.to_string(),
                _ => String::new(),
            };
            println!("Resumed {id}: status {status} (version {}).", view.version);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn grant_state(view: &RecordView, now: Timestamp) -> &'static str {
    match &view.record {
        Record::Grant(grant) if grant.revoked_at.is_some() => "revoked",
        Record::Grant(grant) if grant.holds_at(now) => "holds",
        Record::Grant(grant) if now < grant.granted_at => "not yet",
        _ => "expired",
    }
}

fn grant_row(view: &RecordView, now: Timestamp) -> Vec<String> {
    let Record::Grant(grant) = &view.record else { return Vec::new() };
    vec![
        grant.grant_id.to_string(),
        grant.kind.to_string(),
        grant.agent_id.to_string(),
        grant.action.clone(),
        format!("{}::{}", grant.resource_type, grant.resource_id),
        grant.expires_at.to_string(),
        grant_state(view, now).to_owned(),
        grant.approved_by.clone(),
        grant.requested_by.clone(),
        grant.reason.clone(),
    ]
}

const GRANT_HEADER: [&str; 10] = [
    "GRANT",
    "KIND",
    "AGENT",
    "ACTION",
    "RESOURCE",
    "EXPIRES",
    "STATE",
    "APPROVED BY",
    "REQUESTED BY",
    "REASON",
];

pub(crate) async fn grant(global: &Global, command: GrantCommand) -> Result<ExitCode> {
    let (backend, workspace) = crate::backend::Backend::connect(global).await?;
    let now = || backend.now();
    match command {
        GrantCommand::Create { agent, action, resource, ttl, reason, kind, requested_by } => {
            let resource = entity(&resource, "", "--resource")?;
            let new = NewGrant {
                kind,
                agent_id: agent,
                action,
                resource_type: resource.entity_type,
                resource_id: resource.id,
                ttl,
                reason,
                requested_by,
            };
            let view = backend.create_grant(&workspace, new).await?;
            match global.output {
                Output::Json => print_record(global, &view)?,
                Output::Table => {
                    let mut table = Table::new(GRANT_HEADER);
                    table.row(grant_row(&view, now()));
                    print!("{}", table.render());
                }
            }
        }
        GrantCommand::List { all } => {
            let mut views = match &backend {
                crate::backend::Backend::Local { app, .. } => {
                    crate::commands::registry::all_records(app, global, &workspace, RecordKind::Grant).await?
                }
                remote => remote.list_records(&workspace, RecordKind::Grant).await?.items,
            };
            let now = now();
            views.retain(|view| all || grant_state(view, now) == "holds");
            match global.output {
                Output::Json => print_json(&views)?,
                Output::Table => {
                    let mut table = Table::new(GRANT_HEADER);
                    for view in &views {
                        table.row(grant_row(view, now));
                    }
                    print!("{}", table.render());
                    if table.is_empty() && !all {
                        println!("(no grant holds now; --all lists expired and revoked ones)");
                    }
                }
            }
        }
        GrantCommand::Revoke { id } => {
            let view = backend.revoke_grant(&workspace, &id).await?;
            match global.output {
                Output::Json => print_record(global, &view)?,
                Output::Table => println!("Revoked {id}: the next decision no longer sees it."),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn policy(global: &Global, command: PolicyCommand) -> Result<ExitCode> {
    match command {
        PolicyCommand::Lint { file } => lint(global, file.as_deref()).await,
        PolicyCommand::ReviewDue { as_of } => review_due(global, as_of).await,
        PolicyCommand::Test { path, proposed, at } => test(global, &path, proposed.as_deref(), at).await,
        PolicyCommand::Replay { proposed, since, registry } => {
            replay(global, &proposed, since.as_deref(), registry).await
        }
    }
}

async fn lint(global: &Global, file: Option<&Path>) -> Result<ExitCode> {
    // A policy that cannot be read is a finding too; the others are linted.
    let (policies, unreadable) = match file {
        Some(path) => read_policies(path)?,
        None => {
            let app = open(global, false).await?;
            let workspace = resolve_workspace(&app, global).await?;
            let page = app
                .list_records(&caller(global), &workspace, RecordKind::Policy, None, charter_app::MAX_PAGE)
                .await?;
            let policies = page
                .items
                .into_iter()
                .filter_map(|view| match view.record {
                    Record::Policy(policy) => Some(*policy),
                    _ => None,
                })
                .collect();
            (policies, Vec::new())
        }
    };
    let read = |problem: String| {
        let (policy, message) = problem.split_once(": ").unwrap_or(("", problem.as_str()));
        charter_policy::LintFinding {
            policy: policy.to_owned(),
            rule: "readable",
            message: message.to_owned(),
        }
    };
    let total = policies.len() + unreadable.len();
    let findings: Vec<_> =
        unreadable.into_iter().map(read).chain(policies.iter().flat_map(charter_policy::lint)).collect();
    match global.output {
        Output::Json => print_json(&serde_json::json!({ "policies": total, "findings": findings }))?,
        Output::Table => {
            if findings.is_empty() {
                println!("{total} policies, no findings.");
            } else {
                let mut table = Table::new(["POLICY", "RULE", "PROBLEM"]);
                for finding in &findings {
                    table.row([finding.policy.clone(), finding.rule.to_owned(), finding.message.clone()]);
                }
                print!("{}", table.render());
                println!("{total} policies, {} findings.", findings.len());
            }
        }
    }
    Ok(if findings.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

async fn review_due(global: &Global, as_of: Option<charter_model::Date>) -> Result<ExitCode> {
    let app = open(global, false).await?;
    let workspace = resolve_workspace(&app, global).await?;
    let today = as_of.unwrap_or_else(|| app.now().date());
    let due = app.policies_due_for_review(&caller(global), &workspace, today).await?;
    match global.output {
        Output::Json => print_json(&due)?,
        Output::Table => {
            if due.is_empty() {
                println!("No policy is due for review on {today}.");
            } else {
                let mut table = Table::new(["POLICY", "OWNER", "LAST REVIEW", "DUE SINCE", "RAIDA", ""]);
                for item in &due {
                    table.row([
                        item.policy.clone(),
                        item.owner.clone(),
                        item.last_review.map_or_else(|| "never".to_owned(), |d| d.to_string()),
                        item.due_since.map(|d| d.to_string()).unwrap_or_default(),
                        item.raida_id.clone(),
                        if item.opened { "raised now" } else { "raised before" }.to_owned(),
                    ]);
                }
                print!("{}", table.render());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Cases from a JSON file (an array of cases) or a directory of them.
fn load_cases(path: &Path) -> Result<Vec<PolicyCase>> {
    let mut cases = Vec::new();
    for file in json_files(path)? {
        let mut these: Vec<PolicyCase> = read_json(&file)?;
        cases.append(&mut these);
    }
    Ok(cases)
}

async fn test(
    global: &Global,
    path: &Path,
    proposed: Option<&Path>,
    at: Option<Timestamp>,
) -> Result<ExitCode> {
    let cases = load_cases(path)?;
    let proposed = proposed.map(load_policies).transpose()?;
    let app = open(global, false).await?;
    let workspace = resolve_workspace(&app, global).await?;
    let results = app.test_policies(&caller(global), &workspace, &cases, proposed.as_deref(), at).await?;
    let failed = results.iter().filter(|result| !result.passed).count();
    match global.output {
        Output::Json => print_json(
            &serde_json::json!({ "passed": results.len() - failed, "failed": failed, "results": results }),
        )?,
        Output::Table => {
            let mut table = Table::new(["RESULT", "CASE", "EXPECTED", "GOT", "REASONS"]);
            for result in &results {
                let expected = match &result.expected_reasons {
                    Some(expected) => format!("{} ({})", effect(result.expected), expected.join(", ")),
                    None => effect(result.expected).to_owned(),
                };
                table.row([
                    if result.passed { "pass" } else { "FAIL" }.to_owned(),
                    result.name.clone(),
                    expected,
                    effect(result.got.decision).to_owned(),
                    reasons(&result.got.reasons),
                ]);
            }
            print!("{}", table.render());
            let against = if proposed.is_some() { "the proposed policies" } else { "the enforced policies" };
            println!("{} passed, {failed} failed, against {against}.", results.len() - failed);
        }
    }
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// `--since`: a duration back from now, or a time.
fn since(text: &str, now: Timestamp) -> Result<Timestamp> {
    if let Ok(span) = text.parse::<Span>() {
        return now.minus(span).with_context(|| format!("--since {text}: too far back"));
    }
    text.parse::<Timestamp>().map_err(|_| {
        anyhow::anyhow!("--since: \"{text}\" is neither a duration (7d, 24h) nor an RFC 3339 time")
    })
}

async fn replay(
    global: &Global,
    proposed: &Path,
    since_text: Option<&str>,
    registry: RegistryChoice,
) -> Result<ExitCode> {
    let policies = load_policies(proposed)?;
    let app = open(global, false).await?;
    let workspace = resolve_workspace(&app, global).await?;
    let since = since_text.map(|text| since(text, app.now())).transpose()?;
    let registry = match registry {
        RegistryChoice::AsLogged => ReplayRegistry::AsLogged,
        RegistryChoice::Current => ReplayRegistry::Current,
    };
    let report = app.replay_decisions(&caller(global), &workspace, &policies, since, registry).await?;
    match global.output {
        Output::Json => print_json(&report)?,
        Output::Table => {
            let window = since.map_or_else(
                || "all logged decisions".to_owned(),
                |since| format!("decisions since {since}"),
            );
            println!(
                "Replayed {} {window} with {} proposed {} ({}), on the registry {}: {} would flip.",
                report.decisions,
                report.proposed.len(),
                if report.proposed.len() == 1 { "policy" } else { "policies" },
                report.proposed.join(", "),
                report.registry,
                report.flips.len()
            );
            if !report.flips.is_empty() {
                let mut table = Table::new([
                    "DECISION",
                    "AT",
                    "PRINCIPAL",
                    "ACTION",
                    "RESOURCE",
                    "LOGGED",
                    "PROPOSED",
                    "PROPOSED REASONS",
                ]);
                for flip in &report.flips {
                    table.row([
                        flip.decision_id.clone(),
                        flip.at.to_string(),
                        flip.principal.to_string(),
                        flip.action.clone(),
                        flip.resource.to_string(),
                        effect(flip.logged).to_owned(),
                        effect(flip.proposed.decision).to_owned(),
                        reasons(&flip.proposed.reasons),
                    ]);
                }
                print!("\n{}", table.render());
                let mut counts = Table::new(["PRINCIPAL", "ACTION", "DENY→ALLOW", "ALLOW→DENY"]);
                for count in &report.counts {
                    counts.row([
                        count.principal.clone(),
                        count.action.clone(),
                        count.to_allow.to_string(),
                        count.to_deny.to_string(),
                    ]);
                }
                print!("\n{}", counts.render());
            }
            if !report.unreproduced.is_empty() {
                println!(
                    "\n{} decisions are not reproduced by the policies they were made with on this registry, so no flip is reported for them: {}",
                    report.unreproduced.len(),
                    report.unreproduced.iter().take(20).cloned().collect::<Vec<_>>().join(", ")
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
