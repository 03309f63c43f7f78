//! Promotion gates (POL-DATASET-MANAGEMENT rules 1, 2 and 4): a dataset
//! moves DRAFT → STAGE → PUBLISHED one step at a time, and only when every
//! gate is met. Every gate is evaluated, so a refusal lists all that is
//! missing at once.

use charter_model::{
    Agent, AgentStatus, Change, ChangeStatus, Dataset, DatasetScope, Procedure, ProcedureStatus, QualityRun,
};
use serde::Serialize;

/// Prefix of the procedures that validate data quality.
pub const VALIDATION_PROCEDURE_PREFIX: &str = "PROC-VALIDATE-";

/// One gate and whether it is met.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gate {
    /// Stable name, e.g. `quality-score`.
    pub gate: &'static str,
    /// Whether it is met.
    pub met: bool,
    /// What was found.
    pub detail: String,
}

/// What the gates look at.
#[derive(Debug, Clone)]
pub struct Promotion<'a> {
    /// The dataset.
    pub dataset: &'a Dataset,
    /// The scope asked for.
    pub target: DatasetScope,
    /// The record of its `managed_by_agent`, when there is one.
    pub agent: Option<&'a Agent>,
    /// Its latest data-quality run.
    pub latest_run: Option<&'a QualityRun>,
    /// The workspace's quality threshold, in percent.
    pub threshold: f64,
    /// Every procedure of the workspace.
    pub procedures: &'a [Procedure],
    /// Every change logged on the dataset.
    pub changes: &'a [&'a Change],
}

fn gate(gate: &'static str, met: bool, detail: String) -> Gate {
    Gate { gate, met, detail }
}

/// Every gate, met or not.
pub fn promotion_gates(p: &Promotion<'_>) -> Vec<Gate> {
    let dataset = p.dataset;
    let mut gates = Vec::new();

    let next = match dataset.scope {
        DatasetScope::Draft => Some(DatasetScope::Stage),
        DatasetScope::Stage => Some(DatasetScope::Published),
        DatasetScope::Published => None,
    };
    gates.push(gate(
        "scope-order",
        next == Some(p.target),
        match next {
            Some(next) if next == p.target => format!("{} -> {}", dataset.scope, p.target),
            Some(next) => format!("a {} dataset is promoted to {next} next, not {}", dataset.scope, p.target),
            None => format!("the dataset is already {}", dataset.scope),
        },
    ));

    gates.push(match (&dataset.managed_by_agent, p.agent) {
        (None, _) => {
            gate("specialist-agent", false, "no managed_by_agent (POL-DATASET-MANAGEMENT rule 1)".into())
        }
        (Some(id), None) => {
            gate("specialist-agent", false, format!("managed_by_agent {id} is not a registered agent"))
        }
        (Some(id), Some(agent)) if matches!(agent.status, AgentStatus::Paused | AgentStatus::Retired) => {
            gate("specialist-agent", false, format!("{id} is {}", agent.status))
        }
        (Some(id), Some(agent)) => gate("specialist-agent", true, format!("{id} ({})", agent.status)),
    });

    gates.push(match p.latest_run {
        None => gate("quality-score", false, "never validated: run `charter dq validate`".into()),
        Some(run) if run.schema_version != dataset.schema_version => gate(
            "quality-score",
            false,
            format!(
                "{} checked schema version {}, the dataset is at {}: validate again",
                run.run_id, run.schema_version, dataset.schema_version
            ),
        ),
        Some(run) if run.rows == 0 => gate("quality-score", false, format!("{} read no rows", run.run_id)),
        Some(run) => gate(
            "quality-score",
            run.score >= p.threshold,
            format!(
                "{}: {}% of {} rows pass every check (threshold {}%)",
                run.run_id, run.score, run.rows, p.threshold
            ),
        ),
    });

    let procedures: Vec<&str> = p
        .procedures
        .iter()
        .filter(|proc| proc.status == ProcedureStatus::Active)
        .filter(|proc| proc.procedure_id.as_str().starts_with(VALIDATION_PROCEDURE_PREFIX))
        .map(|proc| proc.procedure_id.as_str())
        .collect();
    gates.push(gate(
        "validation-procedures",
        !procedures.is_empty(),
        if procedures.is_empty() {
            format!("no Active {VALIDATION_PROCEDURE_PREFIX}* procedure")
        } else {
            procedures.join(", ")
        },
    ));

    let keys: Vec<&str> = dataset.key_fields().map(|f| f.name.as_str()).collect();
    gates.push(gate(
        "registered",
        !dataset.fields.is_empty() && !keys.is_empty(),
        if dataset.fields.is_empty() {
            "the registry entry has no schema (fields)".into()
        } else if keys.is_empty() {
            "the schema has no key field".into()
        } else {
            format!(
                "schema version {}, {} field(s), key {}",
                dataset.schema_version,
                dataset.fields.len(),
                keys.join("+")
            )
        },
    ));

    let open: Vec<String> = p
        .changes
        .iter()
        .filter(|c| matches!(c.status, ChangeStatus::Planned | ChangeStatus::Executing))
        .map(|c| format!("{} ({})", c.change_id, c.status))
        .collect();
    gates.push(gate(
        "no-open-change",
        open.is_empty(),
        if open.is_empty() {
            "no Planned or Executing change".into()
        } else {
            format!("open: {}", open.join(", "))
        },
    ));
    gates
}
