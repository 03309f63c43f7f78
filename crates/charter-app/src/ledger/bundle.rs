//! Ledger bundles: a workspace's whole log in a directory that anyone can
//! verify offline with nothing but the verifier key. The layout and the
//! verification are [`charter_ledger::bundle`]'s; this module writes a
//! workspace's bundle and says what each entry must be (an audit event).

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::Path;

use charter_ledger::NoteVerifier;
use charter_ledger::bundle::{self, BundleReport, README, tile_path};
use charter_model::WorkspaceName;
use charter_model::audit::AuditEvent;
use serde::Serialize;

use crate::{App, AppError, Caller, Result};

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportReport {
    /// Events written.
    pub entries: u64,
    /// Checkpoints written.
    pub checkpoints: u64,
}

fn io_error(path: &Path, error: std::io::Error) -> AppError {
    AppError::Invalid { what: "bundle".into(), problems: vec![format!("{}: {error}", path.display())] }
}

impl App {
    /// Writes a workspace's log as a bundle in `dir` (which must not exist
    /// or be empty).
    pub async fn export_ledger(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        dir: &Path,
    ) -> Result<ExportReport> {
        let row = self.visible_workspace(caller, workspace).await?;
        if dir.exists() && fs::read_dir(dir).map_err(|e| io_error(dir, e))?.next().is_some() {
            return Err(AppError::Invalid {
                what: "bundle".into(),
                problems: vec![format!("{}: the directory is not empty", dir.display())],
            });
        }
        fs::create_dir_all(dir.join("checkpoints")).map_err(|e| io_error(dir, e))?;
        fs::write(dir.join("README.txt"), README).map_err(|e| io_error(dir, e))?;
        if let Some(verifier) = self.verifier() {
            fs::write(dir.join("verifier.key"), format!("{verifier}\n")).map_err(|e| io_error(dir, e))?;
        }
        // Checkpoints first, then events up to the latest checkpoint's size
        // at least, so the bundle is never cut shorter than what it proves.
        let checkpoints = self.store.checkpoints(row.id).await?;
        for checkpoint in &checkpoints {
            let path = dir.join("checkpoints").join(format!("{:012}.note", checkpoint.size));
            fs::write(&path, &checkpoint.note).map_err(|e| io_error(&path, e))?;
        }
        if let Some(latest) = checkpoints.last() {
            fs::write(dir.join("checkpoint.note"), &latest.note).map_err(|e| io_error(dir, e))?;
        }
        let total = self.store.event_count(row.id).await?;
        let mut level = 0;
        while level * 8 < 64 && total >> (level * 8) > 0 {
            let mut next = 0;
            loop {
                let tiles = self.store.tiles_from(row.id, level, next, 256).await?;
                for tile in &tiles {
                    let path = dir.join(tile_path(tile.level, tile.index, tile.hashes.len()));
                    if let Some(parent) = path.parent() {
                        fs::create_dir_all(parent).map_err(|e| io_error(parent, e))?;
                    }
                    fs::write(&path, tile.to_bytes()).map_err(|e| io_error(&path, e))?;
                }
                match tiles.last() {
                    Some(last) if tiles.len() == 256 => next = last.index + 1,
                    _ => break,
                }
            }
            level += 1;
        }
        let path = dir.join("events.jsonl");
        let mut out = BufWriter::new(File::create(&path).map_err(|e| io_error(&path, e))?);
        let mut seq = 1;
        while seq <= total {
            let last = (seq + 9_999).min(total);
            for event in self.store.events(row.id, seq, last).await? {
                out.write_all(event.body.as_bytes()).map_err(|e| io_error(&path, e))?;
                out.write_all(b"\n").map_err(|e| io_error(&path, e))?;
            }
            seq = last + 1;
        }
        out.flush().map_err(|e| io_error(&path, e))?;
        Ok(ExportReport { entries: total, checkpoints: checkpoints.len() as u64 })
    }
}

/// Verifies a bundle offline with `verifier`.
pub fn verify_bundle(dir: &Path, verifier: &NoteVerifier) -> Result<BundleReport> {
    verify_bundle_since(dir, verifier, None)
}

/// [`verify_bundle`], and also that the bundle is consistent with `seen`, a
/// checkpoint (signed note) a client kept from an earlier look at the log:
/// it must hold that many entries and rebuild that root, so a bundle cut
/// short together with its newest checkpoints is caught.
///
/// The tree, the tiles and the signatures are checked by
/// [`charter_ledger::bundle`]; each entry must also be an audit event of
/// the log's workspace with its own sequence number.
pub fn verify_bundle_since(dir: &Path, verifier: &NoteVerifier, seen: Option<&str>) -> Result<BundleReport> {
    // The workspace the checkpoints' origin names, read once.
    let mut expected: Option<Option<WorkspaceName>> = None;
    let check = |entry: bundle::Entry<'_>| -> std::result::Result<(), String> {
        let text = std::str::from_utf8(entry.bytes).map_err(|_| "not UTF-8".to_owned())?;
        let event = AuditEvent::decode(text).map_err(|error| error.to_string())?;
        if event.seq != entry.index + 1 {
            return Err(format!("the event records seq {}", event.seq));
        }
        let workspace = expected.get_or_insert_with(|| {
            let name = entry.origin.and_then(|origin| origin.rsplit('/').next())?;
            WorkspaceName::new(name).ok()
        });
        if workspace.as_ref().is_some_and(|w| *w != event.workspace) {
            return Err(format!("the event belongs to workspace \"{}\"", event.workspace));
        }
        Ok(())
    };
    bundle::verify_dir(dir, verifier, seen, check)
        .map_err(|error| AppError::Invalid { what: "bundle".into(), problems: vec![error.to_string()] })
}
