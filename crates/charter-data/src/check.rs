//! The daily governance check (PROC-DAILY-GOVERNANCE): agent statuses,
//! pending changes, data-quality scores, policies due for review, datasets
//! without a specialist agent, and primary-dataset ownership
//! (POL-AGENT-COORDINATION rule 2) and field references that lead nowhere,
//! each finding GREEN, AMBER or RED with
//! the record it is about and whom it falls to.

use std::collections::BTreeMap;

use charter_model::{
    Agent, AgentStatus, Change, ChangeStatus, Dataset, DatasetScope, Date, Policy, PolicyStatus, QualityRun,
    Team,
};
use serde::Serialize;

/// Months between two reviews of a policy (POL-GOVERNANCE-MASTER rule 4).
pub const REVIEW_MONTHS: u32 = 3;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    /// Nothing to do.
    Green,
    /// Needs attention.
    Amber,
    /// Breaks a policy now.
    Red,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Green => "GREEN",
            Status::Amber => "AMBER",
            Status::Red => "RED",
        })
    }
}

/// One thing the check found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// What kind of finding, e.g. `dataset-without-agent`.
    pub code: &'static str,
    /// AMBER or RED.
    pub status: Status,
    /// The record it is about, as `kind/id`.
    pub subject: String,
    /// What is wrong and what to do.
    pub message: String,
    /// Whom it falls to.
    pub owner: Option<String>,
}

impl Finding {
    /// The stable key of the RAIDA item about this finding.
    pub fn origin_key(&self) -> String {
        format!("check/{}/{}", self.code, self.subject)
    }
}

/// One part of the dashboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Section {
    /// Its name, e.g. `data-quality`.
    pub section: &'static str,
    /// The worst status of its findings (GREEN without findings).
    pub status: Status,
    /// One line.
    pub summary: String,
    /// Its findings.
    pub findings: Vec<Finding>,
}

/// The governance dashboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dashboard {
    /// The day checked.
    pub date: Date,
    /// The worst status of any section.
    pub status: Status,
    /// The sections, in the procedure's order.
    pub sections: Vec<Section>,
}

/// What the check reads.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// Every agent.
    pub agents: &'a [Agent],
    /// Every dataset.
    pub datasets: &'a [Dataset],
    /// Every change.
    pub changes: &'a [Change],
    /// Every data-quality run.
    pub runs: &'a [QualityRun],
    /// Every policy.
    pub policies: &'a [Policy],
    /// Every team.
    pub teams: &'a [Team],
    /// Every alert class.
    pub alert_classes: &'a [charter_model::AlertClass],
    /// Ids of the registered procedures (runbooks).
    pub procedures: &'a [String],
    /// Ids of the registered people (owners).
    pub people: &'a [String],
    /// Names of the configured page receivers.
    pub receivers: &'a [String],
    /// This month's spend nobody can explain, when there is any: (month,
    /// tokens without a price, spans of no registered agent).
    pub unexplained_spend: Option<(&'a str, u64, u64)>,
    /// The quality threshold, in percent.
    pub threshold: f64,
    /// The day checked.
    pub today: Date,
}

/// When `policy` falls due for review: `Some(None)` when it was never
/// reviewed, `Some(Some(day))` when it is due since `day` (on or before
/// `today`), `None` when it is not due or is retired.
pub fn review_due(policy: &Policy, today: Date) -> Option<Option<Date>> {
    if policy.status == PolicyStatus::Retired {
        return None;
    }
    match policy.last_review {
        None => Some(None),
        Some(last) => {
            let due = last.plus_months(REVIEW_MONTHS)?;
            (due <= today).then_some(Some(due))
        }
    }
}

/// Who answers for `agent`: the lead of its owner team, or the team.
pub fn agent_owner(agent: &Agent, teams: &[Team]) -> Option<String> {
    let team_name = agent.owner_team.as_deref()?;
    let team = teams.iter().find(|t| {
        t.team_id.as_str().eq_ignore_ascii_case(team_name) || t.name.eq_ignore_ascii_case(team_name)
    });
    Some(team.and_then(|t| t.lead.as_ref()).map_or_else(|| team_name.to_owned(), |lead| lead.to_string()))
}

/// The latest run of each dataset, by `run_at` then id.
pub fn latest_runs(runs: &[QualityRun]) -> BTreeMap<&str, &QualityRun> {
    let mut latest: BTreeMap<&str, &QualityRun> = BTreeMap::new();
    for run in runs {
        let entry = latest.entry(run.dataset_id.as_str()).or_insert(run);
        if (run.run_at, run.run_id.as_str()) > (entry.run_at, entry.run_id.as_str()) {
            *entry = run;
        }
    }
    latest
}

fn finding(
    code: &'static str,
    status: Status,
    subject: String,
    message: String,
    owner: Option<String>,
) -> Finding {
    Finding { code, status, subject, message, owner }
}

fn section(name: &'static str, summary: String, findings: Vec<Finding>) -> Section {
    let status = findings.iter().map(|f| f.status).max().unwrap_or(Status::Green);
    Section { section: name, status, summary, findings }
}

/// Runs the check.
pub fn daily_check(inputs: &Inputs<'_>) -> Dashboard {
    let agents: BTreeMap<&str, &Agent> = inputs.agents.iter().map(|a| (a.agent_id.as_str(), a)).collect();
    let owner = |agent: &Agent| agent_owner(agent, inputs.teams);
    let mut sections = Vec::new();

    // 1. Agent statuses.
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut findings = Vec::new();
    for agent in inputs.agents {
        *counts.entry(agent.status.as_str()).or_default() += 1;
        if agent.status == AgentStatus::Paused {
            findings.push(finding(
                "agent-paused",
                Status::Amber,
                format!("agent/{}", agent.agent_id),
                format!("{} is paused: resume it or retire it", agent.agent_id),
                owner(agent),
            ));
        }
    }
    let summary = counts.iter().map(|(status, n)| format!("{n} {status}")).collect::<Vec<_>>().join(", ");
    sections.push(section("agents", summary, findings));

    // 2. Pending changes.
    let datasets: BTreeMap<&str, &Dataset> =
        inputs.datasets.iter().map(|d| (d.dataset_id.as_str(), d)).collect();
    let dataset_owner = |id: &str| datasets.get(id).and_then(|d| d.owner.clone());
    let mut findings = Vec::new();
    for change in inputs.changes {
        let (status, code, message) = match change.status {
            ChangeStatus::Planned => (
                Status::Amber,
                "change-pending",
                format!(
                    "{} on {} is planned: apply or roll it back",
                    change.change_id, change.dataset_affected
                ),
            ),
            ChangeStatus::Executing => (
                Status::Red,
                "change-executing",
                format!(
                    "{} on {} is still Executing: finish it or roll it back",
                    change.change_id, change.dataset_affected
                ),
            ),
            ChangeStatus::Complete | ChangeStatus::RolledBack => continue,
        };
        findings.push(finding(
            code,
            status,
            format!("change/{}", change.change_id),
            message,
            dataset_owner(change.dataset_affected.as_str()),
        ));
    }
    sections.push(section("changes", format!("{} pending", findings.len()), findings));

    // 3. Data-quality scores.
    let latest = latest_runs(inputs.runs);
    let mut findings = Vec::new();
    let mut scored = 0;
    for dataset in inputs.datasets {
        let id = dataset.dataset_id.as_str();
        let subject = format!("dataset/{id}");
        match latest.get(id) {
            None => findings.push(finding(
                "quality-never-validated",
                if dataset.scope == DatasetScope::Published { Status::Red } else { Status::Amber },
                subject,
                format!("{id} ({}) has never been validated", dataset.scope),
                dataset.owner.clone(),
            )),
            Some(run) => {
                scored += 1;
                if run.score < inputs.threshold {
                    findings.push(finding(
                        "quality-below-threshold",
                        Status::Red,
                        subject,
                        format!(
                            "{id}: score {}% in {} is below the threshold of {}%",
                            run.score, run.run_id, inputs.threshold
                        ),
                        dataset.owner.clone(),
                    ));
                } else if run.schema_version != dataset.schema_version {
                    findings.push(finding(
                        "quality-stale",
                        Status::Amber,
                        subject,
                        format!(
                            "{id}: last validated ({}) at schema version {}, now {}",
                            run.run_id, run.schema_version, dataset.schema_version
                        ),
                        dataset.owner.clone(),
                    ));
                }
            }
        }
    }
    let summary = format!(
        "{scored} of {} dataset(s) validated, threshold {}%",
        inputs.datasets.len(),
        inputs.threshold
    );
    sections.push(section("data-quality", summary, findings));

    // 4. Policies due for review.
    let mut findings = Vec::new();
    for policy in inputs.policies {
        if let Some(due) = review_due(policy, inputs.today) {
            let message = match (policy.last_review, due) {
                (Some(last), Some(due)) => format!("{}: last reviewed {last}, due {due}", policy.policy_id),
                _ => format!("{}: never reviewed", policy.policy_id),
            };
            findings.push(finding(
                "policy-review-due",
                Status::Amber,
                format!("policy/{}", policy.policy_id),
                message,
                Some(policy.owner.clone()),
            ));
        }
    }
    sections.push(section("policy-reviews", format!("{} due", findings.len()), findings));

    // 5. Datasets without an active specialist agent.
    let mut findings = Vec::new();
    for dataset in inputs.datasets {
        let id = dataset.dataset_id.as_str();
        let problem = match &dataset.managed_by_agent {
            None => {
                Some(("dataset-without-agent", format!("{id} has no specialist agent (managed_by_agent)")))
            }
            Some(agent) => match agents.get(agent.as_str()) {
                None => Some((
                    "dataset-without-agent",
                    format!("{id}: managed_by_agent {agent} is not registered"),
                )),
                Some(a) if matches!(a.status, AgentStatus::Paused | AgentStatus::Retired) => {
                    Some(("dataset-agent-inactive", format!("{id}: its specialist {agent} is {}", a.status)))
                }
                Some(_) => None,
            },
        };
        if let Some((code, message)) = problem {
            findings.push(finding(
                code,
                Status::Red,
                format!("dataset/{id}"),
                message,
                dataset.owner.clone(),
            ));
        }
    }
    let summary =
        format!("{} of {} dataset(s) without an active specialist", findings.len(), inputs.datasets.len());
    sections.push(section("specialists", summary, findings));

    // 6. One primary dataset per specialist agent.
    let mut findings = Vec::new();
    let mut primary_of: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for agent in inputs.agents {
        if let Some(primary) = &agent.primary_dataset {
            primary_of.entry(primary.as_str()).or_default().push(agent.agent_id.as_str());
        }
    }
    for agent in inputs.agents {
        let id = agent.agent_id.as_str();
        let manages: Vec<&str> = inputs
            .datasets
            .iter()
            .filter(|d| d.managed_by_agent.as_ref().is_some_and(|a| a.as_str() == id))
            .map(|d| d.dataset_id.as_str())
            .collect();
        let message = match &agent.primary_dataset {
            None if manages.is_empty() => continue,
            None => format!("{id} manages {} but owns no primary dataset", manages.join(", ")),
            Some(primary) => match datasets.get(primary.as_str()) {
                None => format!("{id}: primary dataset {primary} is not registered"),
                Some(d) if d.managed_by_agent.as_ref().is_none_or(|a| a.as_str() != id) => format!(
                    "{id}: primary dataset {primary} is managed by {}",
                    d.managed_by_agent.as_ref().map_or("nobody", |a| a.as_str())
                ),
                Some(_) => continue,
            },
        };
        findings.push(finding(
            "agent-primary-dataset",
            Status::Amber,
            format!("agent/{id}"),
            message,
            owner(agent),
        ));
    }
    for (dataset, claimants) in &primary_of {
        if claimants.len() > 1 {
            findings.push(finding(
                "dataset-primary-of-several",
                Status::Amber,
                format!("dataset/{dataset}"),
                format!(
                    "{dataset} is the primary dataset of {} agents: {}",
                    claimants.len(),
                    claimants.join(", ")
                ),
                dataset_owner(dataset),
            ));
        }
    }
    sections.push(section("coordination", format!("{} finding(s)", findings.len()), findings));

    // 7. Field references that lead nowhere (e.g. after a key was renamed).
    let mut findings = Vec::new();
    for dataset in inputs.datasets {
        for field in &dataset.fields {
            let Some(reference) = &field.references else { continue };
            let target = datasets.get(reference.dataset.as_str());
            let problem = match target {
                None => format!("{} is not a registered dataset", reference.dataset),
                Some(target) => match target.fields.iter().find(|f| f.name == reference.field) {
                    None => format!("{} has no field {}", reference.dataset, reference.field),
                    Some(f) if !f.key => {
                        format!("{}.{} is not a key field", reference.dataset, reference.field)
                    }
                    Some(_) => continue,
                },
            };
            findings.push(finding(
                "dangling-reference",
                Status::Red,
                format!("dataset/{}", dataset.dataset_id),
                format!(
                    "{}.{} references {}.{}: {problem}",
                    dataset.dataset_id, field.name, reference.dataset, reference.field
                ),
                dataset.owner.clone(),
            ));
        }
    }
    sections.push(section("lineage", format!("{} dangling reference(s)", findings.len()), findings));

    // 9. Alerting: every alert class owned by a registered person, with a
    // registered procedure as its runbook, paging receivers that exist
    // (the certification reads a class without owner or runbook as OC-B4).
    let mut findings = Vec::new();
    for class in inputs.alert_classes {
        let subject = format!("alert_class/{}", class.class_id);
        let owner = class.owner.as_ref().map(ToString::to_string);
        match &owner {
            None => findings.push(finding(
                "alert-class-without-owner",
                Status::Red,
                subject.clone(),
                format!(
                    "alert class {} has no owner: name the person who answers its alerts",
                    class.class_id
                ),
                None,
            )),
            Some(person) if !inputs.people.contains(person) => findings.push(finding(
                "alert-class-owner-unknown",
                Status::Red,
                subject.clone(),
                format!("alert class {}'s owner {person} is no registered person", class.class_id),
                None,
            )),
            Some(_) => {}
        }
        match &class.runbook {
            None => findings.push(finding(
                "alert-class-without-runbook",
                Status::Red,
                subject.clone(),
                format!("alert class {} has no runbook: name the PROC-… procedure to follow", class.class_id),
                owner.clone(),
            )),
            Some(runbook) if !inputs.procedures.contains(runbook) => findings.push(finding(
                "alert-class-runbook-unknown",
                Status::Red,
                subject.clone(),
                format!("alert class {}'s runbook {runbook} is no registered procedure", class.class_id),
                owner.clone(),
            )),
            Some(_) => {}
        }
        for receiver in class.receivers.iter().filter(|r| !inputs.receivers.contains(r)) {
            findings.push(finding(
                "alert-class-receiver-unknown",
                Status::Amber,
                subject.clone(),
                format!("alert class {} pages receiver \"{receiver}\", which the oversight settings do not define", class.class_id),
                owner.clone(),
            ));
        }
    }
    let summary = format!("{} alert class(es), {} finding(s)", inputs.alert_classes.len(), findings.len());
    sections.push(section("alerting", summary, findings));

    // 10. Spend: every cost attributed to a registered agent at a known price.
    let mut findings = Vec::new();
    if let Some((month, unpriced, unattributed)) = inputs.unexplained_spend {
        findings.push(finding(
            "unexplained-spend",
            Status::Red,
            format!("spend/{month}"),
            format!(
                "unexplained spend in {month}: {unpriced} tokens of models without a price, {unattributed} spans of no registered agent; price the models (observe_settings.prices) and register the agents"
            ),
            None,
        ));
    }
    sections.push(section("spend", format!("{} finding(s)", findings.len()), findings));

    let status = sections.iter().map(|s| s.status).max().unwrap_or(Status::Green);
    Dashboard { date: inputs.today, status, sections }
}
