//! `charter import`: load a directory of data-layer and registry files into
//! a workspace, in one transaction.
//!
//! Every file is read and checked before anything is written, and every
//! problem found is reported at once (up to [`MAX_PROBLEMS`]), each naming
//! the file, the JSON path and the offending value. Records equal to what the
//! workspace already holds are left alone, so importing the same files again
//! changes nothing. References to records nobody describes become RAIDA
//! dependency items (see [`crate::registry::references`]).

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::Path;

use charter_model::record::AGENT_IDENTITIES_FILE;
use charter_model::{Record, RecordKind, WorkspaceName};
use charter_store::{WorkspaceRow, WriteTx};

use crate::core::audit::RecordWrite;
use crate::registry::references::{self, Missing, RaidaChanges, Referrer};
use crate::{App, Caller, Result};

/// Problems listed before the rest are only counted.
pub const MAX_PROBLEMS: usize = 100;

/// Records written per batch.
const CHUNK: usize = 5_000;

/// The files an import reads, by name.
#[derive(Debug, Clone, Default)]
pub struct ImportSource {
    /// Where the files came from (a directory), for messages.
    pub origin: String,
    /// The files, in any order.
    pub files: Vec<SourceFile>,
    /// Other `.json` files found beside them and not read.
    pub ignored: Vec<String>,
}

/// One file's name and bytes.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// File name, e.g. `agents.json`, or its path inside the directory
    /// imported, e.g. `current_state/kpis_cost.json`.
    pub name: String,
    /// Contents.
    pub bytes: Vec<u8>,
}

/// Why an import was refused. Nothing was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportError {
    /// Where the files came from.
    pub origin: String,
    /// One line per problem, each starting with the file name.
    pub problems: Vec<String>,
    /// Problems found beyond those listed.
    pub more: usize,
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.problems.as_slice() {
            [only] if self.more == 0 => write!(f, "{only}\nnothing was imported from {}", self.origin),
            problems => {
                let total = problems.len() + self.more;
                writeln!(f, "{total} problems in {}; nothing was imported:", self.origin)?;
                for problem in problems {
                    writeln!(f, "  {problem}")?;
                }
                if self.more > 0 {
                    writeln!(f, "  … and {} more", self.more)?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ImportError {}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportReport {
    /// The workspace imported into.
    pub workspace: String,
    /// Whether the import created the workspace.
    pub workspace_created: bool,
    /// Per record kind that had records in the files.
    pub kinds: Vec<KindReport>,
    /// Changes to the RAIDA log for references to missing records.
    pub raida: RaidaChanges,
    /// `.json` files found and not read.
    pub ignored: Vec<String>,
}

/// Counts for one record kind.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KindReport {
    /// The kind.
    pub kind: RecordKind,
    /// Records added.
    pub created: u64,
    /// Records whose value changed.
    pub updated: u64,
    /// Records equal to the stored ones.
    pub unchanged: u64,
    /// Governed fields the files would have changed and the import kept as
    /// stored (`Business_Policies_Ops.scope`): only their use cases move them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub kept: Vec<String>,
}

impl ImportReport {
    /// Total records added, changed and left alone.
    pub fn totals(&self) -> (u64, u64, u64) {
        self.kinds.iter().fold((0, 0, 0), |(c, u, n), k| (c + k.created, u + k.updated, n + k.unchanged))
    }
}

/// The folders of the portfolio seed's layered layout, each read like the
/// directory itself: `config/` (agents, workflows, systems),
/// `current_state/` (KPIs, risk signals), `historical/` (snapshots, risk
/// history, owner reviews) and `business_intent/` (expected vs actual
/// value). Any file may sit in any of them; each file once.
pub const LAYER_FOLDERS: [&str; 4] = ["config", "current_state", "historical", "business_intent"];

/// The file name at the end of `path` (`current_state/kpis_cost.json` →
/// `kpis_cost.json`).
fn base_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The kind of records a file holds, if it is one `charter import` reads;
/// `name` may be a path inside the directory imported.
pub fn kind_of_file(name: &str) -> Option<RecordKind> {
    let name = base_name(name);
    if name == AGENT_IDENTITIES_FILE {
        return Some(RecordKind::Agent);
    }
    RecordKind::ALL.iter().copied().find(|kind| kind.file_name() == name)
}

/// Every file name `charter import` reads, in reading order.
pub fn file_names() -> Vec<&'static str> {
    let mut names = Vec::new();
    for kind in RecordKind::ALL {
        names.push(kind.file_name());
        if *kind == RecordKind::Agent {
            names.push(AGENT_IDENTITIES_FILE);
        }
    }
    names
}

impl ImportSource {
    /// Reads the files `charter import` knows from `dir` and from its
    /// [`LAYER_FOLDERS`]. A file found in two places is refused, naming
    /// both; each file is named by its path inside `dir` in every message.
    pub fn from_dir(dir: &Path) -> Result<ImportSource, ImportError> {
        let origin = dir.display().to_string();
        let fail = |problem: String| ImportError { origin: origin.clone(), problems: vec![problem], more: 0 };
        // File name → its path inside `dir`, for every file import reads.
        let mut found: HashMap<String, String> = HashMap::new();
        let mut ignored = Vec::new();
        let mut twice = Vec::new();
        let folders = std::iter::once("").chain(LAYER_FOLDERS);
        for folder in folders {
            let here = if folder.is_empty() { dir.to_owned() } else { dir.join(folder) };
            if !folder.is_empty() && !here.is_dir() {
                continue;
            }
            let shown =
                |name: &str| if folder.is_empty() { name.to_owned() } else { format!("{folder}/{name}") };
            let entries = std::fs::read_dir(&here)
                .map_err(|error| fail(format!("{}: cannot read directory: {error}", here.display())))?;
            for entry in entries {
                let entry = entry
                    .map_err(|error| fail(format!("{}: cannot read directory: {error}", here.display())))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if kind_of_file(&name).is_some() {
                    let path = shown(&name);
                    if let Some(first) = found.get(&name) {
                        twice.push(format!("{name}: found as {first} and as {path}; keep one of them"));
                    } else {
                        found.insert(name, path);
                    }
                } else if name.ends_with(".json") {
                    ignored.push(shown(&name));
                }
            }
        }
        if !twice.is_empty() {
            twice.sort();
            return Err(ImportError { origin: origin.clone(), problems: twice, more: 0 });
        }
        ignored.sort();
        let mut files = Vec::new();
        for name in file_names() {
            if let Some(path) = found.get(name) {
                let full = dir.join(path);
                // A FIFO or a device would hang the import or read forever.
                let metadata = std::fs::metadata(&full)
                    .map_err(|error| fail(format!("{path}: cannot read: {error}")))?;
                if !metadata.is_file() {
                    return Err(fail(format!("{path}: not a regular file")));
                }
                let bytes =
                    std::fs::read(&full).map_err(|error| fail(format!("{path}: cannot read: {error}")))?;
                files.push(SourceFile { name: path.clone(), bytes });
            }
        }
        if files.is_empty() {
            return Err(fail(format!(
                "{origin}: no Charter data files found, in it or in its folders {}; expected one or more of {}",
                LAYER_FOLDERS.join("/, ") + "/",
                file_names().join(", ")
            )));
        }
        Ok(ImportSource { origin, files, ignored })
    }
}

/// Collects problems, keeping the first [`MAX_PROBLEMS`].
#[derive(Debug, Default)]
struct Problems {
    listed: Vec<String>,
    more: usize,
}

impl Problems {
    fn push(&mut self, problem: String) {
        if self.listed.len() < MAX_PROBLEMS {
            self.listed.push(problem);
        } else {
            self.more += 1;
        }
    }

    fn is_empty(&self) -> bool {
        self.listed.is_empty()
    }
}

/// Where a line and column fall in `bytes`, both from 1.
fn line_and_column(bytes: &[u8], offset: usize) -> (usize, usize) {
    let before = &bytes[..offset.min(bytes.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let column = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
    (line, column)
}

/// The slow path, taken once a file is known to be bad: reads every element
/// on its own so that every bad element is reported, not just the first.
/// The rules of the first `checked` elements were already checked.
fn report_every_element(name: &str, kind: RecordKind, bytes: &[u8], checked: usize, problems: &mut Problems) {
    let elements = match charter_model::parse::strict_value(bytes) {
        Ok(serde_json::Value::Array(elements)) => elements,
        Ok(other) => {
            let found = match other {
                serde_json::Value::Object(_) => "an object",
                serde_json::Value::String(_) => "a string",
                serde_json::Value::Number(_) => "a number",
                serde_json::Value::Bool(_) => "a boolean",
                _ => "null",
            };
            problems.push(format!("{name}: expected a JSON array of {} records, found {found}", kind.name()));
            return;
        }
        Err(error) => {
            problems.push(format!("{name}: {error}"));
            return;
        }
    };
    for (index, element) in elements.into_iter().enumerate() {
        match kind.from_value(element) {
            Ok(record) if index >= checked => {
                for error in crate::registry::records::rule_problems(&record) {
                    problems.push(format!("{name}: [{index}].{error}"));
                }
            }
            Ok(_) => {}
            Err(error) if error.path.is_empty() => {
                problems.push(format!("{name}: [{index}]: {}", error.message))
            }
            Err(error) => problems.push(format!("{name}: [{index}].{}: {}", error.path, error.message)),
        }
    }
}

/// Kinds other records refer to.
const REFERENCED_KINDS: [RecordKind; 6] = [
    RecordKind::Agent,
    RecordKind::System,
    RecordKind::Dataset,
    RecordKind::Workflow,
    RecordKind::Team,
    RecordKind::Person,
];

/// Ids by kind.
type Known = HashMap<RecordKind, HashSet<String>>;

/// What the reading thread hands the writer.
enum Message {
    /// Records to write, in file order.
    Batch { kind: RecordKind, writes: Vec<RecordWrite> },
    /// Everything is read.
    Done(Box<ReadOutcome>),
}

/// The end of reading: the problems found, the references to records
/// nobody describes, and the ids of referable records after the import.
struct ReadOutcome {
    problems: Problems,
    missing: Missing,
    known: Known,
}

/// Reads and checks the files on a thread of its own and streams their
/// records, as canonical JSON, to the writer in batches. Once a problem is
/// found it stops sending records but goes on checking, so every problem is
/// reported; the writer then rolls back what it wrote.
struct Reader {
    problems: Problems,
    /// Ids already in the workspace, for the kinds records refer to.
    stored: Known,
    /// Ids read so far, by kind, with the file and element that first had them.
    seen: HashMap<RecordKind, HashMap<String, (usize, usize)>>,
    /// File names, indexed as in `seen`.
    files: Vec<String>,
    /// References to records not known when they were read.
    deferred: Vec<(RecordKind, String, Referrer)>,
    sender: tokio::sync::mpsc::Sender<Message>,
    /// Whether the writer has gone away (it failed); reading stops.
    closed: bool,
}

impl Reader {
    fn known(&self, kind: RecordKind, id: &str) -> bool {
        self.stored.get(&kind).is_some_and(|ids| ids.contains(id))
            || self.seen.get(&kind).is_some_and(|ids| ids.contains_key(id))
    }

    fn read(mut self, files: Vec<SourceFile>) -> ReadOutcome {
        for file in files {
            if self.closed {
                break;
            }
            self.read_file(file);
        }
        let mut missing = Missing::new();
        for (kind, id, referrer) in std::mem::take(&mut self.deferred) {
            if !self.known(kind, &id) {
                missing.entry((kind, id)).or_default().push(referrer);
            }
        }
        let mut known = std::mem::take(&mut self.stored);
        for kind in REFERENCED_KINDS {
            let imported = self.seen.remove(&kind).unwrap_or_default();
            known.entry(kind).or_default().extend(imported.into_keys());
        }
        ReadOutcome { problems: self.problems, missing, known }
    }

    fn read_file(&mut self, file: SourceFile) {
        let name = file.name.clone();
        let Some(kind) = kind_of_file(&name) else {
            self.problems.push(format!("{name}: not a file charter import reads"));
            return;
        };
        let bytes = file.bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&file.bytes);
        if let Err(error) = std::str::from_utf8(bytes) {
            let (line, column) = line_and_column(bytes, error.valid_up_to());
            self.problems.push(format!(
                "{name}: not valid UTF-8 at line {line}, column {column} (byte offset {}); save the file as UTF-8",
                error.valid_up_to()
            ));
            return;
        }
        if bytes.iter().all(u8::is_ascii_whitespace) {
            self.problems
                .push(format!("{name}: the file is empty; expected a JSON array of {} records", kind.name()));
            return;
        }
        if let Some(problem) = crate::registry::records::use_case_only(kind) {
            self.problems.push(format!("{name}: {problem}"));
            return;
        }
        // Records holding open maps (figures by name, settings) would keep
        // the last of a key named twice without a word: those files are read
        // strictly first. They are small; the large layers have no maps, and
        // their structs refuse a field named twice themselves.
        if matches!(kind, RecordKind::Kpi | RecordKind::ValueRecord | RecordKind::RiskSettings)
            && let Err(error) = charter_model::parse::strict_value(bytes)
        {
            self.problems.push(format!("{name}: {error}"));
            return;
        }
        let file_index = self.files.len();
        self.files.push(name.clone());
        let mut next_index = 0;
        let result = kind.stream_json_array(bytes, CHUNK, &mut |records| {
            let first = next_index;
            next_index += records.len();
            self.check_batch(kind, file_index, first, records);
        });
        match result {
            Ok(()) => {}
            Err(error) if error.position.is_some() => self.problems.push(format!("{name}: {error}")),
            Err(error) => {
                let before = self.problems.listed.len() + self.problems.more;
                report_every_element(&name, kind, bytes, next_index, &mut self.problems);
                // INVARIANT: a file that did not read is never imported
                // silently, even if reading it element by element succeeds.
                if self.problems.listed.len() + self.problems.more == before {
                    self.problems.push(format!("{name}: {error}"));
                }
            }
        }
    }

    /// Checks a batch of records, notes their ids and references, and sends
    /// them to the writer while no problem has been found.
    fn check_batch(&mut self, kind: RecordKind, file: usize, first: usize, records: Vec<Record>) {
        let name = self.files[file].clone();
        let mut writes = Vec::with_capacity(records.len());
        for (index, record) in (first..).zip(records) {
            for error in crate::registry::records::rule_problems(&record) {
                self.problems.push(format!("{name}: [{index}].{error}"));
            }
            let id = record.id();
            match self.seen.entry(kind).or_default().entry(id.clone()) {
                std::collections::hash_map::Entry::Occupied(entry) => {
                    let (first_file, first_index) = *entry.get();
                    let place = if first_file == file {
                        format!("[{first_index}]")
                    } else {
                        format!("{} [{first_index}]", self.files[first_file])
                    };
                    self.problems.push(format!(
                        "{name}: [{index}].{}: duplicate id \"{id}\" (first at {place})",
                        kind.id_field()
                    ));
                }
                std::collections::hash_map::Entry::Vacant(entry) => {
                    entry.insert((file, index));
                }
            }
            for reference in record.references() {
                if !self.known(reference.kind, &reference.id) {
                    let referrer = Referrer { kind, id: id.clone(), field: reference.field };
                    self.deferred.push((reference.kind, reference.id, referrer));
                }
            }
            if self.problems.is_empty() {
                writes.push(RecordWrite::create(kind, id, record.to_canonical_json()));
            }
        }
        if self.problems.is_empty() && !self.closed && !writes.is_empty() {
            self.closed = self.sender.blocking_send(Message::Batch { kind, writes }).is_err();
        }
    }
}

/// Sorts files into the order records are written: a kind after the kinds it
/// refers to, and `agents.json` before `agent_identities.json`.
fn in_write_order(mut files: Vec<SourceFile>) -> Vec<SourceFile> {
    let rank = |file: &SourceFile| match kind_of_file(&file.name) {
        Some(kind) => (0, Some(kind), base_name(&file.name) != kind.file_name()),
        None => (1, None, false),
    };
    files.sort_by_key(rank);
    files
}

impl App {
    /// Imports `source` into the workspace `workspace`, creating it first
    /// when `create` is set and it does not exist.
    ///
    /// The files are read on a thread of their own while this task writes
    /// what was read, all in one transaction; when any problem is found the
    /// transaction is rolled back and every problem is reported.
    pub async fn import(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        source: ImportSource,
        create: bool,
    ) -> Result<ImportReport> {
        let started = std::time::Instant::now();
        if !caller.may_see(workspace) {
            return Err(crate::AppError::WorkspaceNotFound(workspace.clone()));
        }
        for kind in source.files.iter().filter_map(|file| kind_of_file(&file.name)) {
            caller.require_writer(kind)?;
        }

        let at = self.clock.now();
        let mut tx = self.store.begin().await?;
        let mut changes = Vec::new();
        let (row, created) = match tx.workspace(workspace).await? {
            Some(row) => (row, false),
            None if create => {
                caller.require_local()?;
                (
                    crate::registry::records::create_workspace_in(&mut tx, workspace, at, &mut changes)
                        .await?,
                    true,
                )
            }
            None => return Err(crate::AppError::WorkspaceNotFound(workspace.clone())),
        };
        crate::core::audit::append(&mut tx, &row, caller.actor(), at, changes).await?;
        let mut stored = Known::new();
        if !created {
            for kind in REFERENCED_KINDS {
                stored.insert(kind, tx.record_ids(row.id, kind).await?.into_iter().collect());
            }
        }

        let (sender, mut receiver) = tokio::sync::mpsc::channel(2);
        let reader = Reader {
            problems: Problems::default(),
            stored,
            seen: HashMap::new(),
            files: Vec::new(),
            deferred: Vec::new(),
            sender: sender.clone(),
            closed: false,
        };
        let files = in_write_order(source.files);
        let reading = tokio::task::spawn_blocking(move || {
            let outcome = reader.read(files);
            // The receiver may be gone if writing failed; that error wins.
            sender.blocking_send(Message::Done(Box::new(outcome))).ok();
        });

        let mut report = ImportReport {
            workspace: workspace.to_string(),
            workspace_created: created,
            ignored: source.ignored,
            ..ImportReport::default()
        };
        let mut all_new: HashMap<RecordKind, bool> = HashMap::new();
        let mut outcome = None;
        while let Some(message) = receiver.recv().await {
            match message {
                Message::Batch { kind, writes } => {
                    let new = match all_new.get(&kind) {
                        Some(new) => *new,
                        None => {
                            let new = created || !tx.has_records(row.id, kind).await?;
                            all_new.insert(kind, new);
                            new
                        }
                    };
                    let counts = if new {
                        write_new_records(&mut tx, &row, caller.actor(), at, kind, writes).await?
                    } else {
                        write_records(&mut tx, &row, caller.actor(), at, kind, writes).await?
                    };
                    match report.kinds.iter_mut().find(|k| k.kind == kind) {
                        Some(existing) => {
                            existing.created += counts.created;
                            existing.updated += counts.updated;
                            existing.unchanged += counts.unchanged;
                            existing.kept.extend(counts.kept);
                        }
                        None => report.kinds.push(counts),
                    }
                }
                Message::Done(done) => {
                    outcome = Some(done);
                    break;
                }
            }
        }
        reading
            .await
            .map_err(|error| crate::AppError::internal(format!("reading the files failed: {error}")))?;
        let Some(outcome) = outcome else {
            return Err(crate::AppError::internal("reading the files stopped without an outcome"));
        };
        let ReadOutcome { problems, missing, known } = *outcome;
        if !problems.is_empty() {
            // Dropping the transaction rolls back everything written so far.
            return Err(ImportError {
                origin: source.origin,
                problems: problems.listed,
                more: problems.more,
            }
            .into());
        }
        tracing::debug!(elapsed_ms = started.elapsed().as_millis(), "import: files read and written");

        let exists = |kind: RecordKind, id: &str| known.get(&kind).is_some_and(|ids| ids.contains(id));
        let (writes, raida) = references::reconcile(&mut tx, &row, &missing, exists).await?;
        crate::core::audit::write_records(&mut tx, &row, caller.actor(), at, &writes).await?;
        report.raida = raida;
        tracing::debug!(elapsed_ms = started.elapsed().as_millis(), "import: committing");
        self.commit(tx, &row).await?;
        tracing::debug!(elapsed_ms = started.elapsed().as_millis(), "import: committed");
        Ok(report)
    }
}

/// Writes a batch of records of a kind the workspace already holds: new ones
/// created, changed ones updated, equal ones left alone.
async fn write_records(
    tx: &mut WriteTx,
    workspace: &WorkspaceRow,
    actor: &str,
    at: charter_model::Timestamp,
    kind: RecordKind,
    batch: Vec<RecordWrite>,
) -> Result<KindReport> {
    let mut report = KindReport { kind, created: 0, updated: 0, unchanged: 0, kept: Vec::new() };
    let ids: Vec<&str> = batch.iter().map(|write| write.id.as_str()).collect();
    let existing = tx.records_by_ids(workspace.id, kind, &ids).await?;
    let mut writes = Vec::with_capacity(batch.len());
    for write in batch {
        match existing.get(&write.id) {
            None => {
                report.created += 1;
                writes.push(write.imported());
            }
            Some(stored) if stored.body == write.body => report.unchanged += 1,
            Some(stored) => {
                // INVARIANT: an import never moves governed state; the stored
                // values of governed fields are kept and reported.
                let mut body = write.body;
                if !kind.governed_fields().is_empty() {
                    let parse = |text: &str| {
                        serde_json::from_str::<serde_json::Value>(text).map_err(|error| {
                            crate::AppError::internal(format!("{kind} {}: {error}", write.id))
                        })
                    };
                    let stored_value = parse(&stored.body)?;
                    let mut written = parse(&body)?;
                    let kept = charter_model::governed::keep_governed(kind, &stored_value, &mut written);
                    if !kept.is_empty() {
                        report.kept.extend(kept.iter().map(|field| format!("{}.{field}", write.id)));
                        body = charter_model::canonical::to_string(&written);
                    }
                }
                if stored.body == body {
                    report.unchanged += 1;
                } else {
                    report.updated += 1;
                    writes.push(RecordWrite::update(kind, write.id, body, stored.version));
                }
            }
        }
    }
    crate::core::audit::write_records(tx, workspace, actor, at, &writes).await?;
    Ok(report)
}

/// Writes a batch of records of a kind the workspace held none of before
/// this import: every one is a creation, so no lookups are needed.
async fn write_new_records(
    tx: &mut WriteTx,
    workspace: &WorkspaceRow,
    actor: &str,
    at: charter_model::Timestamp,
    kind: RecordKind,
    writes: Vec<RecordWrite>,
) -> Result<KindReport> {
    let created = writes.len() as u64;
    let writes: Vec<RecordWrite> = writes.into_iter().map(RecordWrite::imported).collect();
    crate::core::audit::write_records(tx, workspace, actor, at, &writes).await?;
    Ok(KindReport { kind, created, updated: 0, unchanged: 0, kept: Vec::new() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_from_one() {
        assert_eq!(line_and_column(b"ab\ncd", 4), (2, 2));
        assert_eq!(line_and_column(b"ab", 0), (1, 1));
    }

    #[test]
    fn every_import_file_maps_to_a_kind() {
        for name in file_names() {
            assert!(kind_of_file(name).is_some(), "{name}");
        }
        assert_eq!(kind_of_file("agent_identities.json"), Some(RecordKind::Agent));
        assert_eq!(kind_of_file("notes.json"), None);
    }

    /// A regression: a FIFO named like an import file hung the import.
    #[cfg(unix)]
    #[test]
    fn a_fifo_is_refused_without_reading_it() {
        let dir = tempfile::tempdir().unwrap();
        let status =
            std::process::Command::new("mkfifo").arg(dir.path().join("agents.json")).status().unwrap();
        assert!(status.success());
        let error = ImportSource::from_dir(dir.path()).unwrap_err();
        assert_eq!(error.problems, ["agents.json: not a regular file"]);
    }
}
