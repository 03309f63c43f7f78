//! Drills: evidence that recovery works, made through the real flows. A
//! rollback drill declares a governed operation over a scratch directory,
//! runs it through the runner with a verification that fails on purpose,
//! and measures how long the rollback and restore took against an
//! objective; an incident drill opens an incident through the incident
//! flow, which people then handle and close by a postmortem. Each drill is
//! a `drill` record (`DRL-YYYY-MM-DD-NNN`), a ledger entry.

use std::path::PathBuf;

use charter_model::operation::RunOutcome;
use charter_model::{Drill, DrillKind, IncidentSeverity, Key, Record, RecordKind, WorkspaceName};

use crate::core::audit::RecordWrite;
use crate::oversight::incidents::NewIncident;
use crate::{App, AppError, Caller, Result, RunOptions};

/// How to run a rollback drill.
#[derive(Debug, Clone)]
pub struct RollbackDrill {
    /// A directory the drill may create and remove (it must not exist).
    pub scratch: PathBuf,
    /// Where the runner keeps its snapshot.
    pub snapshot_dir: PathBuf,
    /// The recovery objective, in seconds.
    pub objective_seconds: f64,
    /// The Landlock launcher, as for any run.
    pub sandbox: Option<PathBuf>,
}

/// What a rollback drill's run showed.
struct Ran {
    started_at: charter_model::Timestamp,
    ended_at: Option<charter_model::Timestamp>,
    /// Seconds from the failing step's end to the restore's end.
    recovery: Option<f64>,
    passed: bool,
    operation_id: String,
    evidence: Vec<String>,
}

/// What the drill's file holds before the operation changes it.
const BEFORE: &str = "setting = before the drill\n";

impl App {
    /// Runs a rollback drill (`charter drill rollback`) as `caller`, who
    /// declares and runs it: the decision point decides both, as for any
    /// operation.
    pub async fn drill_rollback(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        drill: RollbackDrill,
    ) -> Result<Drill> {
        let row = self.visible_workspace(caller, workspace).await?;
        caller.require_writer(RecordKind::Drill)?;
        self.decide_write(caller, &row, RecordKind::Drill).await?;
        if !(drill.objective_seconds.is_finite() && drill.objective_seconds > 0.0) {
            return Err(AppError::invalid(
                "rollback drill",
                vec![format!("objective: {} is not a positive number of seconds", drill.objective_seconds)],
            ));
        }
        if drill.scratch.exists() {
            return Err(AppError::invalid(
                "rollback drill",
                vec![format!(
                    "{}: exists; the drill makes and removes a directory of its own",
                    drill.scratch.display()
                )],
            ));
        }
        let io = |what: &str, error: std::io::Error| AppError::internal(format!("{what}: {error}"));
        std::fs::create_dir_all(drill.scratch.join("conf"))
            .map_err(|e| io("creating the scratch directory", e))?;
        let result = self.rollback_drill_in(caller, workspace, &drill).await;
        let _ = std::fs::remove_dir_all(&drill.scratch);
        let Ran { started_at, ended_at, recovery, passed, operation_id, evidence } = result?;
        let record = Drill {
            drill_id: Key::new("DRL-0").map_err(|e| AppError::internal(e.to_string()))?,
            kind: DrillKind::Rollback,
            by: caller.actor().to_owned(),
            started_at,
            ended_at,
            objective_seconds: Some(drill.objective_seconds),
            recovery_seconds: recovery,
            passed,
            operation_id: Some(operation_id),
            incident_id: None,
            evidence,
        };
        self.save_drill(&row, caller, record).await
    }

    async fn rollback_drill_in(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        drill: &RollbackDrill,
    ) -> Result<Ran> {
        let root = drill.scratch.canonicalize().map_err(|e| AppError::internal(format!("scratch: {e}")))?;
        let file = root.join("conf/drill.conf");
        std::fs::write(&file, BEFORE)
            .map_err(|e| AppError::internal(format!("writing {}: {e}", file.display())))?;
        let conf = root.join("conf");
        let text = format!(
            "OPERATION_NAME: rollback drill\n\
             OBJECTIVE: show that a failed change is rolled back and restored within {objective} s\n\
             RISK_CLASS: LOW_RISK_CONFIG\n\
             BLAST_RADIUS: a scratch directory of the drill\n\
             ROLLBACK_STRATEGY: snapshot\n\
             ALLOWED_PATHS: ['{conf}']\n\
             ALLOWED_SERVICES: []\n\
             REQUESTED_BY: {who}\n\
             STEPS:\n\
             \x20 - name: change the setting\n\
             \x20   command: \"printf 'setting = changed by the drill\\\\n' > '{file}'\"\n\
             \x20   touches: ['{file}']\n\
             \x20   verify: [\"grep -q changed '{file}'\"]\n\
             \x20   rollback: 'true'\n\
             \x20 - name: a verification that fails on purpose\n\
             \x20   command: 'true'\n\
             \x20   touches: ['{file}']\n\
             \x20   verify: ['false']\n\
             \x20   rollback: 'true'\n",
            objective = drill.objective_seconds,
            conf = conf.display(),
            file = file.display(),
            who = caller.actor(),
        );
        let declared = self.declare_operation(caller, workspace, &text).await?;
        let options = RunOptions {
            dry_run: false,
            snapshot_dir: drill.snapshot_dir.clone(),
            rules: None,
            sandbox: drill.sandbox.clone(),
        };
        let ran = self.run_operation(caller, workspace, &declared.id, options).await?;
        let run = &ran.run;
        let restored = std::fs::read_to_string(&file).is_ok_and(|content| content == BEFORE);
        // The recovery begins when the failing step's last command ended.
        let failed_at = run.steps.iter().find(|step| !step.passed).map(|step| {
            let spent: u64 = step.command.iter().chain(&step.verify).map(|command| command.duration_ms).sum();
            step.at.unix_micros() + i64::try_from(spent).unwrap_or(i64::MAX / 2) * 1_000
        });
        let recovery = match (failed_at, run.ended_at) {
            (Some(failed), Some(ended)) => Some(((ended.unix_micros() - failed).max(0)) as f64 / 1e6),
            _ => None,
        };
        let mut evidence = vec![
            format!("operation {} run by {}", declared.id, run.operator),
            format!(
                "outcome {}",
                match run.outcome {
                    Some(RunOutcome::Success) => "SUCCESS",
                    Some(RunOutcome::Rollback) => "ROLLBACK",
                    Some(RunOutcome::Partial) => "PARTIAL",
                    None => "none (the runner stopped)",
                }
            ),
            format!("restored byte for byte: {restored}"),
        ];
        evidence.extend(
            run.rollback
                .iter()
                .map(|command| format!("rollback: {} ({:?})", command.command, command.exit_code)),
        );
        if let Some(seconds) = recovery {
            evidence.push(format!("recovery {seconds:.3} s, objective {} s", drill.objective_seconds));
        }
        let passed = run.outcome == Some(RunOutcome::Rollback)
            && restored
            && recovery.is_some_and(|seconds| seconds <= drill.objective_seconds);
        Ok(Ran {
            started_at: run.started_at,
            ended_at: run.ended_at,
            recovery,
            passed,
            operation_id: declared.id,
            evidence,
        })
    }

    /// Runs an incident drill (`charter drill incident`): a SEV4 incident
    /// opened through the incident flow, its source naming the drill. It
    /// passes once people acknowledge, mitigate and resolve it and close it
    /// by a postmortem that passes its check.
    pub async fn drill_incident(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        commander: Option<String>,
    ) -> Result<Drill> {
        let row = self.visible_workspace(caller, workspace).await?;
        caller.require_writer(RecordKind::Drill)?;
        self.decide_write(caller, &row, RecordKind::Drill).await?;
        let incident = self
            .open_incident(
                caller,
                workspace,
                NewIncident {
                    title: "Incident drill: exercise acknowledgement, mitigation, resolution and postmortem"
                        .into(),
                    severity: IncidentSeverity::Sev4,
                    agent_id: None,
                    commander,
                    source: "drill".into(),
                },
            )
            .await?;
        let record = Drill {
            drill_id: Key::new("DRL-0").map_err(|e| AppError::internal(e.to_string()))?,
            kind: DrillKind::Incident,
            by: caller.actor().to_owned(),
            started_at: incident.opened_at,
            ended_at: None,
            objective_seconds: None,
            recovery_seconds: None,
            passed: false,
            operation_id: None,
            incident_id: Some(incident.incident_id.clone()),
            evidence: vec![format!("opened {} through the incident flow", incident.incident_id)],
        };
        self.save_drill(&row, caller, record).await
    }

    /// Gives the drill its id from the day's counter and writes it.
    async fn save_drill(
        &self,
        row: &charter_store::WorkspaceRow,
        caller: &Caller,
        drill: Drill,
    ) -> Result<Drill> {
        let (target, actor, at) = (row.clone(), caller.actor().to_owned(), self.clock.now());
        self.write(row, move |_app, tx| {
            let (row, actor, mut drill) = (target.clone(), actor.clone(), drill.clone());
            Box::pin(async move {
                let date = drill.started_at.date();
                let seq =
                    crate::operations::declare::advance_day_counter(tx, &row, "drill", date, "drill").await?;
                drill.drill_id = Key::new(format!("DRL-{date}-{seq:03}"))
                    .map_err(|e| AppError::internal(e.to_string()))?;
                let write = RecordWrite::create(
                    RecordKind::Drill,
                    drill.drill_id.to_string(),
                    Record::from(drill.clone()).to_canonical_json(),
                );
                crate::core::audit::write_records(tx, &row, &actor, at, &[write]).await?;
                Ok(drill)
            })
        })
        .await
    }
}
