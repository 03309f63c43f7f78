//! `charter import`: load a directory of data-layer and registry files into
//! a workspace, in one transaction.
//!
//! Every file is read and checked before anything is written, and every
//! problem found is reported at once (up to [`MAX_PROBLEMS`]), each naming
//! the file, the JSON path and the offending value. Records equal to what the
//! workspace already holds are left alone, so importing the same files again
//! changes nothing. References to records nobody describes become RAIDA
//! dependency items (see [`crate::references`]).

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::Path;

use charter_model::record::AGENT_IDENTITIES_FILE;
use charter_model::{Record, RecordKind, WorkspaceName};
use charter_store::{WorkspaceRow, WriteTx};

use crate::audit::RecordWrite;
use crate::references::{self, Missing, RaidaChanges};
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
    /// File name, e.g. `agents.json`.
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
}

impl ImportReport {
    /// Total records added, changed and left alone.
    pub fn totals(&self) -> (u64, u64, u64) {
        self.kinds.iter().fold((0, 0, 0), |(c, u, n), k| (c + k.created, u + k.updated, n + k.unchanged))
    }
}

/// The kind of records a file holds, if it is one `charter import` reads.
pub fn kind_of_file(name: &str) -> Option<RecordKind> {
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
    /// Reads the files `charter import` knows from `dir`.
    pub fn from_dir(dir: &Path) -> Result<ImportSource, ImportError> {
        let origin = dir.display().to_string();
        let fail = |problem: String| ImportError { origin: origin.clone(), problems: vec![problem], more: 0 };
        let entries = std::fs::read_dir(dir)
            .map_err(|error| fail(format!("{origin}: cannot read directory: {error}")))?;
        let mut present = HashSet::new();
        let mut ignored = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|error| fail(format!("{origin}: cannot read directory: {error}")))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if kind_of_file(&name).is_some() {
                present.insert(name);
            } else if name.ends_with(".json") {
                ignored.push(name);
            }
        }
        ignored.sort();
        let mut files = Vec::new();
        for name in file_names() {
            if present.contains(name) {
                let bytes = std::fs::read(dir.join(name))
                    .map_err(|error| fail(format!("{name}: cannot read: {error}")))?;
                files.push(SourceFile { name: name.to_owned(), bytes });
            }
        }
        if files.is_empty() {
            return Err(fail(format!(
                "{origin}: no Charter data files found; expected one or more of {}",
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

/// Records read from one file.
#[derive(Debug)]
struct ParsedFile {
    name: String,
    kind: RecordKind,
    records: Vec<Record>,
}

/// Where a line and column fall in `bytes`, both from 1.
fn line_and_column(bytes: &[u8], offset: usize) -> (usize, usize) {
    let before = &bytes[..offset.min(bytes.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let column = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
    (line, column)
}

fn parse_file(file: &SourceFile, kind: RecordKind, problems: &mut Problems) -> Option<ParsedFile> {
    let name = &file.name;
    let bytes = file.bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&file.bytes);
    if let Err(error) = std::str::from_utf8(bytes) {
        let (line, column) = line_and_column(bytes, error.valid_up_to());
        problems.push(format!(
            "{name}: not valid UTF-8 at line {line}, column {column} (byte offset {}); save the file as UTF-8",
            error.valid_up_to()
        ));
        return None;
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        problems.push(format!("{name}: the file is empty; expected a JSON array of {} records", kind.name()));
        return None;
    }
    let records = match kind.parse_json_array(bytes) {
        Ok(records) => records,
        Err(error) if error.position.is_some() => {
            problems.push(format!("{name}: {error}"));
            return None;
        }
        Err(_) => {
            report_every_element(name, kind, bytes, problems);
            return None;
        }
    };
    let before = problems.listed.len() + problems.more;
    for (index, record) in records.iter().enumerate() {
        for error in record.check() {
            problems.push(format!("{name}: [{index}].{error}"));
        }
    }
    (problems.listed.len() + problems.more == before).then(|| ParsedFile {
        name: name.clone(),
        kind,
        records,
    })
}

/// The slow path, taken once a file is known to be bad: reads every element
/// on its own so that every bad element is reported, not just the first.
fn report_every_element(name: &str, kind: RecordKind, bytes: &[u8], problems: &mut Problems) {
    let elements = match serde_json::from_slice::<serde_json::Value>(bytes) {
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
            problems.push(format!(
                "{name}: line {}, column {}: malformed JSON: {error}",
                error.line(),
                error.column()
            ));
            return;
        }
    };
    for (index, element) in elements.into_iter().enumerate() {
        match kind.from_value(element) {
            Ok(record) => {
                for error in record.check() {
                    problems.push(format!("{name}: [{index}].{error}"));
                }
            }
            Err(error) if error.path.is_empty() => {
                problems.push(format!("{name}: [{index}]: {}", error.message))
            }
            Err(error) => problems.push(format!("{name}: [{index}].{}: {}", error.path, error.message)),
        }
    }
}

/// Reports ids that appear twice among the records of one kind (which may
/// come from two files, for agents).
fn check_duplicates(files: &[ParsedFile], problems: &mut Problems) {
    let mut seen: HashMap<(RecordKind, String), (&str, usize)> = HashMap::new();
    for file in files {
        for (index, record) in file.records.iter().enumerate() {
            let id = record.id();
            match seen.get(&(file.kind, id.clone())) {
                Some((first_file, first_index)) => {
                    let place = if *first_file == file.name {
                        format!("[{first_index}]")
                    } else {
                        format!("{first_file} [{first_index}]")
                    };
                    problems.push(format!(
                        "{}: [{index}].{}: duplicate id \"{id}\" (first at {place})",
                        file.name,
                        file.kind.id_field()
                    ));
                }
                None => {
                    seen.insert((file.kind, id), (file.name.as_str(), index));
                }
            }
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

impl App {
    /// Imports `source` into the workspace `workspace`, creating it first
    /// when `create` is set and it does not exist.
    pub async fn import(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        source: ImportSource,
        create: bool,
    ) -> Result<ImportReport> {
        let started = std::time::Instant::now();
        let mut problems = Problems::default();
        let mut parsed = Vec::new();
        // Each file's bytes are dropped as soon as it is parsed, so a large
        // import never holds all the text and all the records at once.
        for file in source.files {
            let Some(kind) = kind_of_file(&file.name) else {
                problems.push(format!("{}: not a file charter import reads", file.name));
                continue;
            };
            if let Some(file) = parse_file(&file, kind, &mut problems) {
                parsed.push(file);
            }
        }
        check_duplicates(&parsed, &mut problems);
        if !problems.is_empty() {
            return Err(ImportError {
                origin: source.origin,
                problems: problems.listed,
                more: problems.more,
            }
            .into());
        }
        tracing::debug!(elapsed_ms = started.elapsed().as_millis(), "import: files read and checked");
        // Write kinds in dependency order; agents.json before agent_identities.json.
        parsed.sort_by_key(|file| (file.kind, file.name != file.kind.file_name()));

        if !caller.may_see(workspace) {
            return Err(crate::AppError::WorkspaceNotFound(workspace.clone()));
        }
        for file in &parsed {
            caller.require_writer(file.kind)?;
        }

        let at = self.clock.now();
        let mut tx = self.store.begin().await?;
        let mut changes = Vec::new();
        let (row, created) = match tx.workspace(workspace).await? {
            Some(row) => (row, false),
            None if create => {
                caller.require_local()?;
                (crate::records::create_workspace_in(&mut tx, workspace, at, &mut changes).await?, true)
            }
            None => return Err(crate::AppError::WorkspaceNotFound(workspace.clone())),
        };
        crate::audit::append(&mut tx, &row, caller.actor(), at, changes).await?;

        let mut known: HashMap<RecordKind, HashSet<String>> = HashMap::new();
        for kind in REFERENCED_KINDS {
            let mut ids: HashSet<String> = if created {
                HashSet::new()
            } else {
                tx.record_ids(row.id, kind).await?.into_iter().collect()
            };
            for file in parsed.iter().filter(|file| file.kind == kind) {
                ids.extend(file.records.iter().map(Record::id));
            }
            known.insert(kind, ids);
        }
        let exists = |kind: RecordKind, id: &str| known.get(&kind).is_some_and(|ids| ids.contains(id));
        let mut missing = Missing::new();

        let mut report = ImportReport {
            workspace: workspace.to_string(),
            workspace_created: created,
            ignored: source.ignored,
            ..ImportReport::default()
        };
        for file in parsed {
            for record in &file.records {
                references::collect_missing(record, exists, &mut missing);
            }
            let counts =
                write_records(&mut tx, &row, caller.actor(), at, file.kind, file.records, created).await?;
            match report.kinds.iter_mut().find(|k| k.kind == file.kind) {
                Some(existing) => {
                    existing.created += counts.created;
                    existing.updated += counts.updated;
                    existing.unchanged += counts.unchanged;
                }
                None => report.kinds.push(counts),
            }
        }
        let (writes, raida) = references::reconcile(&mut tx, &row, &missing, exists).await?;
        crate::audit::write_records(&mut tx, &row, caller.actor(), at, &writes).await?;
        report.raida = raida;
        tracing::debug!(elapsed_ms = started.elapsed().as_millis(), "import: committing");
        tx.commit().await?;
        tracing::debug!(elapsed_ms = started.elapsed().as_millis(), "import: committed");
        Ok(report)
    }
}

/// The next batch of records, as writes that create them.
fn encode_batch(kind: RecordKind, records: &mut std::vec::IntoIter<Record>) -> Vec<RecordWrite> {
    records
        .take(CHUNK)
        .map(|record| RecordWrite::create(kind, record.id(), record.to_canonical_json()))
        .collect()
}

/// Writes records of one kind in batches: new ones created, changed ones
/// updated, equal ones left alone; one audit event per write.
async fn write_records(
    tx: &mut WriteTx,
    workspace: &WorkspaceRow,
    actor: &str,
    at: charter_model::Timestamp,
    kind: RecordKind,
    records: Vec<Record>,
    workspace_is_new: bool,
) -> Result<KindReport> {
    if workspace_is_new || !tx.has_records(workspace.id, kind).await? {
        return write_new_records(tx, workspace, actor, at, kind, records).await;
    }
    let mut report = KindReport { kind, created: 0, updated: 0, unchanged: 0 };
    let mut records = records.into_iter();
    loop {
        let batch = encode_batch(kind, &mut records);
        if batch.is_empty() {
            return Ok(report);
        }
        let ids: Vec<&str> = batch.iter().map(|write| write.id.as_str()).collect();
        let existing = tx.records_by_ids(workspace.id, kind, &ids).await?;
        let mut writes = Vec::with_capacity(batch.len());
        for write in batch {
            match existing.get(&write.id) {
                None => {
                    report.created += 1;
                    writes.push(write);
                }
                Some(stored) if stored.body == write.body => report.unchanged += 1,
                Some(stored) => {
                    report.updated += 1;
                    writes.push(RecordWrite::update(kind, write.id, write.body, stored.version));
                }
            }
        }
        crate::audit::write_records(tx, workspace, actor, at, &writes).await?;
    }
}

/// Writes records of a kind the workspace holds none of, so every one is a
/// creation. The audit sequence numbers are reserved up front, so the next
/// batch can be encoded on a blocking thread while this task binds the
/// current one and the database writes it.
async fn write_new_records(
    tx: &mut WriteTx,
    workspace: &WorkspaceRow,
    actor: &str,
    at: charter_model::Timestamp,
    kind: RecordKind,
    records: Vec<Record>,
) -> Result<KindReport> {
    let total = records.len() as u64;
    let first = crate::audit::reserve(tx, workspace, total).await?;
    let encoder =
        Encoder { workspace: workspace.clone(), actor: actor.to_owned(), at, kind, next_seq: first };
    let (mut encoder, mut records, mut batch) = encoder.next(records.into_iter());
    while !batch.0.is_empty() {
        let next = tokio::task::spawn_blocking(move || encoder.next(records));
        crate::audit::store_records(tx, workspace, at, &batch.0, &batch.1).await?;
        (encoder, records, batch) = next.await.map_err(|error| {
            crate::AppError::Store(charter_store::StoreError::Invariant(format!("encoding failed: {error}")))
        })?;
    }
    Ok(KindReport { kind, created: total, updated: 0, unchanged: 0 })
}

/// Encodes batches of new records and their audit events, numbered from
/// `next_seq`.
struct Encoder {
    workspace: WorkspaceRow,
    actor: String,
    at: charter_model::Timestamp,
    kind: RecordKind,
    next_seq: u64,
}

type Batch = (Vec<RecordWrite>, Vec<charter_store::EventRow>);

impl Encoder {
    fn next(mut self, mut records: std::vec::IntoIter<Record>) -> (Self, std::vec::IntoIter<Record>, Batch) {
        let writes = encode_batch(self.kind, &mut records);
        let events =
            crate::audit::encode_writes(&self.workspace, self.next_seq, &self.actor, self.at, &writes);
        self.next_seq += writes.len() as u64;
        (self, records, (writes, events))
    }
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
}
