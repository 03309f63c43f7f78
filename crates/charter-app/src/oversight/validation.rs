//! Post-run validation (the agent operations framework's Validate step):
//! a run whose spans declare output files (`charter.validate.files`, with
//! `charter.validate.block`) has them filtered as its agent's egress
//! content once someone provides them. Each file's filtering is logged; the
//! result (types and counts per file, never a value) becomes part of the
//! run record, once; a failure is a policy breach and opens an incident in
//! the same transaction.

use charter_model::{
    IncidentSeverity, Record, RecordKind, RunRecord, ValidatedFile, ValidationResult, WorkspaceName,
};

use super::incidents::NewIncident;
use crate::core::audit::RecordWrite;
use crate::guard::FilterHead;
use crate::{App, AppError, Caller, Result};

/// One output file as provided.
#[derive(Debug, Clone)]
pub struct RunOutput {
    /// Its name, as the run declared it.
    pub name: String,
    /// Its content.
    pub content: Vec<u8>,
}

impl App {
    /// Validates the outputs of run `run_id`: every file it declared,
    /// filtered as its agent's egress content (`charter runs validate`,
    /// `POST …/runs/{id}/validate`). A file not declared is refused; a
    /// declared file not provided fails. The result is recorded once.
    pub async fn validate_run(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        run_id: &str,
        outputs: Vec<RunOutput>,
    ) -> Result<RunRecord> {
        // Who may report runs may validate them (an agent, its own only),
        // decided and logged before the run is looked at.
        let row = self.visible_workspace(caller, workspace).await?;
        caller.require_writer(RecordKind::Run)?;
        self.decide_write(caller, &row, RecordKind::Run).await?;
        let not_found = || AppError::NotFound { kind: RecordKind::Run, id: run_id.to_owned() };
        let stored = self.store.record(row.id, RecordKind::Run, run_id).await?.ok_or_else(not_found)?;
        let run = match RecordKind::Run.parse_json(&stored.body) {
            Ok(Record::Run(run)) => *run,
            _ => return Err(AppError::corrupt(format!("run \"{run_id}\" does not parse"))),
        };
        let actor = caller.actor();
        let directory = self.directory(&row).await?;
        if directory.agent(actor).as_deref() == Some(actor) && actor != run.agent_id.as_str() {
            return Err(AppError::Forbidden(format!(
                "agent {actor} validates its own runs only; {run_id} is {}'s",
                run.agent_id
            )));
        }
        let Some(validation) = &run.validation else {
            return Err(AppError::invalid(
                "run validation",
                vec![format!(
                    "{run_id} declares no output files to validate: its spans carry no charter.validate.files"
                )],
            ));
        };
        if let Some(result) = &validation.result {
            return Err(AppError::AlreadyExists {
                what: format!("validation ({}) of run", if result.passed { "passed" } else { "failed" }),
                id: run_id.to_owned(),
            });
        }
        let mut problems = Vec::new();
        for (n, output) in outputs.iter().enumerate() {
            if !validation.files.contains(&output.name) {
                problems.push(format!(
                    "outputs[{n}].name: \"{}\" is not a file {run_id} declared ({})",
                    output.name,
                    validation.files.join(", ")
                ));
            } else if outputs[..n].iter().any(|earlier| earlier.name == output.name) {
                problems.push(format!("outputs[{n}].name: \"{}\" is given twice", output.name));
            }
        }
        if !problems.is_empty() {
            return Err(AppError::invalid("run validation", problems));
        }
        let blocked = validation.check().blocked_types().map_err(|unknown| {
            AppError::corrupt(format!("run \"{run_id}\": validation.block names {}", unknown.join(", ")))
        })?;

        let mut files = Vec::with_capacity(validation.files.len());
        for file in &validation.files {
            let Some(output) = outputs.iter().find(|output| &output.name == file) else {
                files.push(ValidatedFile {
                    file: file.clone(),
                    passed: false,
                    bytes: 0,
                    findings: Default::default(),
                    summary: format!("{file}: not provided"),
                    decision_id: None,
                });
                continue;
            };
            let head = FilterHead {
                agent: Some(run.agent_id.to_string()),
                direction: charter_model::Direction::Egress,
                destination: None,
            };
            let checked = self
                .check_content(caller, workspace, head, file, &mut output.content.as_slice(), &blocked)
                .await?;
            files.push(ValidatedFile {
                file: file.clone(),
                passed: checked.passed,
                bytes: checked.bytes,
                findings: checked.findings.iter().map(|(kind, n)| (kind.to_string(), *n)).collect(),
                summary: checked.summary,
                decision_id: checked.decision_id,
            });
        }
        let passed = files.iter().all(|file| file.passed);
        let at = self.clock.now();
        let result = ValidationResult { passed, at, by: actor.to_owned(), files, incident: None };
        let failed: Vec<String> =
            result.files.iter().filter(|file| !file.passed).map(|file| file.summary.clone()).collect();
        let incident = (!passed).then(|| NewIncident {
            title: format!("Run {run_id} failed its output validation: {}", failed.join("; ")),
            severity: IncidentSeverity::Sev2,
            agent_id: Some(run.agent_id.to_string()),
            commander: None,
            source: format!("run validation {run_id}"),
        });
        let (target, actor, id, version) = (row.clone(), actor.to_owned(), run_id.to_owned(), stored.version);
        let record = self
            .write(&row, move |_app, tx| {
                let (row, actor, id, mut result, incident) =
                    (target.clone(), actor.clone(), id.clone(), result.clone(), incident.clone());
                Box::pin(async move {
                    // The run as it is now (late spans may have amended it).
                    let current = tx
                        .record(row.id, RecordKind::Run, &id)
                        .await?
                        .ok_or_else(|| AppError::NotFound { kind: RecordKind::Run, id: id.clone() })?;
                    let mut run = match RecordKind::Run.parse_json(&current.body) {
                        Ok(Record::Run(run)) => *run,
                        _ => return Err(AppError::corrupt(format!("run \"{id}\" does not parse"))),
                    };
                    if current.version != version
                        && run.validation.as_ref().is_none_or(|validation| validation.result.is_some())
                    {
                        return Err(AppError::Conflict {
                            kind: RecordKind::Run,
                            id,
                            expected: version,
                            current: current.version,
                        });
                    }
                    let mut writes = Vec::new();
                    if let Some(new) = &incident {
                        let (opened, write) = super::incidents::open_in(tx, &row, &actor, at, new).await?;
                        result.incident = Some(opened.incident_id.clone());
                        writes.push(write);
                    }
                    if let Some(validation) = &mut run.validation {
                        validation.result = Some(result);
                    }
                    writes.push(RecordWrite::update(
                        RecordKind::Run,
                        id,
                        Record::from(run.clone()).to_canonical_json(),
                        current.version,
                    ));
                    crate::core::audit::write_records(tx, &row, &actor, at, &writes).await?;
                    Ok(run)
                })
            })
            .await?;
        if !passed {
            self.oversight.pages.notify_one();
        }
        Ok(record)
    }

    /// The output files run `run_id` declares for validation (empty when it
    /// declares none), for a client that reads them from disk.
    pub async fn run_outputs_declared(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        run_id: &str,
    ) -> Result<Vec<String>> {
        let row = self.visible_workspace(caller, workspace).await?;
        let stored = self
            .store
            .record(row.id, RecordKind::Run, run_id)
            .await?
            .ok_or_else(|| AppError::NotFound { kind: RecordKind::Run, id: run_id.to_owned() })?;
        match RecordKind::Run.parse_json(&stored.body) {
            Ok(Record::Run(run)) => Ok(run.validation.map(|validation| validation.files).unwrap_or_default()),
            _ => Err(AppError::corrupt(format!("run \"{run_id}\" does not parse"))),
        }
    }
}
