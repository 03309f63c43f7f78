//! Data-quality runs as a use case (PROC-VALIDATE-DATA-QUALITY steps 5-7):
//! a validation report recorded against the dataset's schema version, with
//! one RAIDA issue per failing check assigned to the dataset's owner.

use charter_data::QualityReport;
use charter_model::data::{QualityRun, quality_run_id};
use charter_model::{Dataset, RaidaKind, Record, RecordKind, Severity, WorkspaceName};
use serde::Serialize;

use crate::core::audit::RecordWrite;
use crate::data::datasets::{data_settings, load_one, pick};
use crate::data::raida::{Raise, Raised, raise};
use crate::{App, AppError, Caller, Result};

/// Counter that numbers data-quality runs.
const RUN_COUNTER: &str = "dq_runs";

/// Failing rows quoted in a RAIDA issue.
const QUOTED_SAMPLES: usize = 3;

/// Where a validated file came from.
#[derive(Debug, Clone)]
pub struct Source {
    /// The file's name.
    pub name: String,
    /// SHA-256 of its bytes, hex.
    pub sha256: String,
}

/// A recorded run.
#[derive(Debug, Clone, Serialize)]
pub struct RecordedRun {
    /// The run.
    pub run: QualityRun,
    /// The workspace's threshold, in percent.
    pub threshold: f64,
    /// What happened to the RAIDA issues about the dataset's checks.
    pub raida: Vec<Raised>,
    /// Columns of the file the schema does not know (ignored).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unknown_columns: Vec<String>,
}

/// A file to check against a dataset's schema.
pub struct QualityInput {
    /// The file's name, as the run records it.
    pub name: String,
    /// Its contents, read once.
    pub reader: Box<dyn std::io::Read + Send>,
    /// CSV or JSON Lines.
    pub format: charter_data::quality::Format,
    /// Keys of the datasets its references point to.
    pub keys: charter_data::quality::KeySets,
    /// How many failing rows each check quotes.
    pub options: charter_data::quality::Options,
    /// Told the number of bytes read so far.
    pub progress: Box<dyn FnMut(u64) + Send>,
}

impl std::fmt::Debug for QualityInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QualityInput").field("name", &self.name).field("format", &self.format).finish()
    }
}

/// A reader that hashes what passes through it.
struct Hashing<R> {
    inner: R,
    hasher: sha2::Sha256,
}

impl<R: std::io::Read> std::io::Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        sha2::Digest::update(&mut self.hasher, &buf[..n]);
        Ok(n)
    }
}

impl App {
    /// Checks a file against `dataset`'s schema and records the run
    /// (PROC-VALIDATE-DATA-QUALITY): the caller's authority is checked
    /// before anything of the dataset is read, the file is hashed as it is
    /// read, and the run is refused if the schema changed meanwhile.
    pub async fn validate_quality(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        dataset: &str,
        input: QualityInput,
    ) -> Result<RecordedRun> {
        self.visible_workspace(caller, workspace).await?;
        caller.require_writer(RecordKind::QualityRun)?;
        let schema = self.dataset(caller, workspace, dataset).await?;
        let QualityInput { name, reader, format, keys, options, mut progress } = input;
        let version = schema.schema_version;
        let what = format!("data-quality run of {dataset}");
        let (report, sha256) = tokio::task::spawn_blocking(move || {
            let mut reader = Hashing { inner: reader, hasher: sha2::Sha256::default() };
            let report = charter_data::validate(&schema, &mut reader, format, &keys, options, &mut *progress);
            // Hash whatever the validator left unread (e.g. after the last row).
            std::io::copy(&mut reader, &mut std::io::sink()).ok();
            let sha256: String =
                sha2::Digest::finalize(reader.hasher).iter().map(|b| format!("{b:02x}")).collect();
            report.map(|report| (report, sha256))
        })
        .await
        .map_err(|error| AppError::Invalid { what: what.clone(), problems: vec![error.to_string()] })?
        .map_err(|error| {
            let hint = if matches!(error, charter_data::DqError::MissingKeys(_)) {
                " (give them with --keys DATASET=FILE)"
            } else {
                ""
            };
            AppError::Invalid { what, problems: vec![format!("{name}: {error}{hint}")] }
        })?;
        self.record_quality_run(caller, workspace, dataset, version, Source { name, sha256 }, report).await
    }

    /// A dataset, as stored.
    pub async fn dataset(&self, caller: &Caller, workspace: &WorkspaceName, id: &str) -> Result<Dataset> {
        let view = self.get_record(caller, workspace, RecordKind::Dataset, id).await?;
        match view.record {
            Record::Dataset(dataset) => Ok(*dataset),
            _ => Err(AppError::NotFound { kind: RecordKind::Dataset, id: id.to_owned() }),
        }
    }

    /// Records `report`, made against `dataset` at `schema_version`: refused
    /// when the schema changed meanwhile. Each failing check gets one RAIDA
    /// issue (updated on later runs, closed once the check passes).
    pub async fn record_quality_run(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        dataset: &str,
        schema_version: u32,
        source: Source,
        report: QualityReport,
    ) -> Result<RecordedRun> {
        let row = self.visible_workspace(caller, workspace).await?;
        caller.require_writer(RecordKind::QualityRun)?;
        let at = self.clock.now();
        let (actor, target, dataset) = (caller.actor().to_owned(), row.clone(), dataset.to_owned());
        self.write(&row, move |_app, tx| {
            let (row, actor, dataset, source, report) =
                (target.clone(), actor.clone(), dataset.clone(), source.clone(), report.clone());
            Box::pin(async move {
                let stored = load_one(tx, &row, RecordKind::Dataset, &dataset, pick::dataset).await?.value;
                if stored.schema_version != schema_version {
                    return Err(AppError::Invalid {
                        what: format!("data-quality run of {dataset}"),
                        problems: vec![format!(
                            "the file was checked against schema version {schema_version}, but {dataset} is now at {}: validate again",
                            stored.schema_version
                        )],
                    });
                }
                let threshold = data_settings(tx, &row).await?.threshold();
                let run_id = quality_run_id(tx.advance_counter(row.id, RUN_COUNTER, 1).await?);
                let owner = stored.owner.clone().or_else(|| stored.managed_by_agent.as_ref().map(ToString::to_string));
                let raises = report
                    .checks
                    .iter()
                    .filter(|check| check.failed > 0)
                    .map(|check| {
                        let samples: Vec<String> = check
                            .samples
                            .iter()
                            .take(QUOTED_SAMPLES)
                            .map(|s| format!("line {}: {}", s.line, s.message))
                            .collect();
                        Raise {
                            origin_key: format!("dq/{dataset}/{}", check.check),
                            item_type: RaidaKind::Issue,
                            title: format!("{dataset}: {} fails", check.check),
                            description: format!(
                                "PROC-VALIDATE-DATA-QUALITY: {} of {} rows fail {} in {} ({}); e.g. {}",
                                check.failed,
                                report.rows,
                                check.check,
                                source.name,
                                run_id,
                                samples.join("; ")
                            ),
                            owner: owner.clone(),
                            severity: if check.pass_rate < threshold { Severity::High } else { Severity::Medium },
                            source: format!("dq_run/{run_id}"),
                            due_date: None,
                        }
                    })
                    .collect();
                let (mut writes, raised) = raise(tx, &row, &format!("dq/{dataset}/"), raises).await?;
                let unknown_columns = report.unknown_columns;
                let run = QualityRun {
                    run_id,
                    dataset_id: stored.dataset_id.clone(),
                    schema_version,
                    source: source.name,
                    source_sha256: source.sha256,
                    rows: report.rows,
                    rows_passed: report.rows_passed,
                    score: report.score,
                    checks: report.checks,
                    run_at: at,
                    run_by: actor.clone(),
                    raida: raised
                        .iter()
                        .filter(|r| r.outcome != crate::RaisedOutcome::Closed)
                        .filter_map(|r| r.raida_id.parse().ok())
                        .collect(),
                };
                let record = Record::from(run.clone());
                writes.insert(0, RecordWrite::create(RecordKind::QualityRun, record.id(), record.to_canonical_json()));
                crate::core::audit::write_records(tx, &row, &actor, at, &writes).await?;
                Ok(RecordedRun { run, threshold, raida: raised, unknown_columns })
            })
        })
        .await
    }

    /// Data-quality runs, newest first, optionally of one dataset.
    pub async fn quality_runs(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        dataset: Option<&str>,
    ) -> Result<Vec<QualityRun>> {
        let row = self.visible_workspace(caller, workspace).await?;
        let mut runs: Vec<QualityRun> = self.read_values(&row).await?;
        runs.retain(|r| dataset.is_none_or(|d| r.dataset_id.as_str() == d));
        runs.sort_by(|a, b| (b.run_at, b.run_id.as_str()).cmp(&(a.run_at, a.run_id.as_str())));
        Ok(runs)
    }
}
