//! Ledger bundles: a workspace's whole log in a directory that anyone can
//! verify offline with nothing but the verifier key.
//!
//! Layout (also written to the bundle's `README.txt`):
//!
//! ```text
//! events.jsonl             one audit event per line, in log order: line N holds
//!                          the canonical bytes of leaf N-1 (the leaf data)
//! checkpoints/<size>.note  every signed checkpoint, named by its tree size
//! checkpoint.note          the latest signed checkpoint
//! tile/<L>/<N>[.p/<W>]     the tree's hashes, in the C2SP tlog-tiles layout
//! verifier.key             the verifier key of the exporting installation
//! ```
//!
//! Verification opens every checkpoint with the given key, checks that the
//! leaf hashes of the tiles rebuild every signed root, then recomputes every
//! leaf hash from `events.jsonl` and compares it with the signed tree — so a
//! changed, missing, reordered, added or cut-off event is found and named.

use std::fs::{self, File};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;

use charter_ledger::{Checkpoint, NoteVerifier, TileAppender, TileSet, leaf_hash};
use charter_model::WorkspaceName;
use charter_model::audit::AuditEvent;
use serde::Serialize;

use crate::{App, AppError, Caller, Result};

const README: &str = "Charter ledger bundle\n\
\n\
events.jsonl             one audit event per line, in log order: line N holds the canonical\n\
                         bytes of leaf N-1; its leaf hash is SHA-256(0x00 || line bytes)\n\
checkpoints/<size>.note  every signed checkpoint (C2SP tlog-checkpoint in a C2SP signed-note)\n\
checkpoint.note          the latest signed checkpoint\n\
tile/<L>/<N>[.p/<W>]     the tree's hashes in the C2SP tlog-tiles layout (256 hashes a tile)\n\
verifier.key             the verifier key of the exporting installation (verify with a key\n\
                         you obtained independently)\n\
\n\
The tree is RFC 6962 (leaf = SHA-256(0x00 || data), node = SHA-256(0x01 || left || right)).\n\
Verify with: charter audit verify-bundle DIR --key <name>+<hash>+<key>\n";

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportReport {
    /// Events written.
    pub entries: u64,
    /// Checkpoints written.
    pub checkpoints: u64,
}

/// What verifying a bundle found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BundleReport {
    /// Events checked.
    pub entries: u64,
    /// Checkpoints checked.
    pub checkpoints: u64,
    /// The log's origin, from its checkpoints.
    pub origin: Option<String>,
    /// The first problem; `None` when the bundle verifies.
    pub failure: Option<String>,
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

/// The C2SP tlog-tiles path of a tile: `tile/<L>/<N>` with `N` in groups of
/// three digits (`x001/x234/067`), and `.p/<W>` for a partial tile of width `W`.
pub fn tile_path(level: u32, index: u64, width: usize) -> String {
    let digits = format!("{index}");
    let padded = format!("{}{digits}", "0".repeat((3 - digits.len() % 3) % 3));
    let groups: Vec<&str> = padded.as_bytes().chunks(3).filter_map(|g| std::str::from_utf8(g).ok()).collect();
    let mut path = format!("tile/{level}/");
    for (position, group) in groups.iter().enumerate() {
        if position + 1 < groups.len() {
            path.push('x');
            path.push_str(group);
            path.push('/');
        } else {
            path.push_str(group);
        }
    }
    if width < 256 {
        path.push_str(&format!(".p/{width}"));
    }
    path
}

/// The leaf hashes the bundle's level-0 tiles hold, in order, if it has tiles.
fn leaf_hashes(dir: &Path, checkpoints: &[Checkpoint]) -> Result<Option<Vec<charter_ledger::Hash>>> {
    if !dir.join("tile").exists() {
        return Ok(None);
    }
    let size = checkpoints.last().map_or(0, |c| c.size);
    let mut hashes = Vec::new();
    let mut index = 0;
    while (hashes.len() as u64) < size {
        let remaining = size - hashes.len() as u64;
        let width = remaining.min(256) as usize;
        let mut path = dir.join(tile_path(0, index, 256));
        if width < 256 || !path.exists() {
            path = dir.join(tile_path(0, index, width));
        }
        let bytes = fs::read(&path).map_err(|e| io_error(&path, e))?;
        let tile = charter_ledger::Tile::from_bytes(0, index, &bytes).map_err(|error| AppError::Invalid {
            what: "bundle".into(),
            problems: vec![error.to_string()],
        })?;
        hashes.extend(tile.hashes.into_iter().take(width));
        index += 1;
    }
    Ok(Some(hashes))
}

/// Verifies a bundle offline with `verifier`.
pub fn verify_bundle(dir: &Path, verifier: &NoteVerifier) -> Result<BundleReport> {
    verify_bundle_since(dir, verifier, None)
}

/// [`verify_bundle`], and also that the bundle is consistent with `seen`, a
/// checkpoint (signed note) a client kept from an earlier look at the log:
/// it must hold that many entries and rebuild that root, so a bundle cut
/// short together with its newest checkpoints is caught.
pub fn verify_bundle_since(dir: &Path, verifier: &NoteVerifier, seen: Option<&str>) -> Result<BundleReport> {
    let mut report = BundleReport { entries: 0, checkpoints: 0, origin: None, failure: None };
    let fail = |mut report: BundleReport, reason: String| {
        report.failure = Some(reason);
        Ok(report)
    };

    let mut checkpoints = Vec::new();
    let checkpoint_dir = dir.join("checkpoints");
    let entries = fs::read_dir(&checkpoint_dir).map_err(|e| io_error(&checkpoint_dir, e))?;
    for entry in entries {
        let path = entry.map_err(|e| io_error(&checkpoint_dir, e))?.path();
        let note = fs::read_to_string(&path).map_err(|e| io_error(&path, e))?;
        match Checkpoint::open(&note, verifier) {
            Ok(checkpoint) => checkpoints.push(checkpoint),
            Err(error) => return fail(report, format!("{}: {error}", path.display())),
        }
    }
    checkpoints.sort_by_key(|checkpoint| checkpoint.size);
    if let Some(first) = checkpoints.first() {
        if let Some(other) = checkpoints.iter().find(|c| c.origin != first.origin) {
            return fail(
                report,
                format!("checkpoints name two logs: \"{}\" and \"{}\"", first.origin, other.origin),
            );
        }
        report.origin = Some(first.origin.clone());
    } else {
        return fail(report, "the bundle holds no checkpoint: nothing proves its events".into());
    }
    let workspace = report
        .origin
        .as_deref()
        .and_then(|origin| origin.rsplit('/').next())
        .and_then(|name| WorkspaceName::new(name).ok());

    // The leaf hashes the signed tree holds: they must rebuild every signed root.
    let recorded = leaf_hashes(dir, &checkpoints)?;
    if let Some(recorded) = &recorded {
        let mut tree = TileAppender::new(0, &TileSet::default()).map_err(|error| AppError::Invalid {
            what: "bundle".into(),
            problems: vec![error.to_string()],
        })?;
        let mut pending = checkpoints.iter().peekable();
        for leaf in recorded {
            tree.append(*leaf);
            let _ = tree.take_full();
            while let Some(checkpoint) = pending.next_if(|c| c.size == tree.size()) {
                if tree.root().ok() != Some(checkpoint.root) {
                    return fail(
                        report,
                        format!(
                            "the tiles do not rebuild the root of the checkpoint at size {}",
                            checkpoint.size
                        ),
                    );
                }
            }
        }
    }

    if let Some(note) = seen {
        match Checkpoint::open(note, verifier) {
            // Held to the same account as the bundle's own checkpoints: the
            // events must reach its size and rebuild its root.
            Ok(checkpoint) if Some(&checkpoint.origin) != report.origin.as_ref() => {
                return fail(
                    report,
                    format!("the checkpoint seen before is of log \"{}\"", checkpoint.origin),
                );
            }
            Ok(checkpoint) => checkpoints.push(checkpoint),
            Err(error) => return fail(report, format!("the checkpoint seen before: {error}")),
        }
        checkpoints.sort_by_key(|checkpoint| checkpoint.size);
        checkpoints.dedup_by(|a, b| a.size == b.size && a.root == b.root);
    }

    let path = dir.join("events.jsonl");
    let file = File::open(&path).map_err(|e| io_error(&path, e))?;
    let mut appender = TileAppender::new(0, &TileSet::default())
        .map_err(|error| AppError::Invalid { what: "bundle".into(), problems: vec![error.to_string()] })?;
    let mut pending = checkpoints.iter().peekable();
    for line in BufReader::new(file).split(b'\n') {
        let line = line.map_err(|e| io_error(&path, e))?;
        let index = appender.size();
        let text = match std::str::from_utf8(&line) {
            Ok(text) => text,
            Err(_) => return fail(report, format!("entry {index} (line {}): not UTF-8", index + 1)),
        };
        match AuditEvent::decode(text) {
            Ok(event) if event.seq != index + 1 => {
                return fail(
                    report,
                    format!("entry {index} (line {}): the event records seq {}", index + 1, event.seq),
                );
            }
            Ok(event) if workspace.as_ref().is_some_and(|w| *w != event.workspace) => {
                return fail(
                    report,
                    format!(
                        "entry {index} (line {}): the event belongs to workspace \"{}\"",
                        index + 1,
                        event.workspace
                    ),
                );
            }
            Ok(_) => {}
            Err(error) => return fail(report, format!("entry {index} (line {}): {error}", index + 1)),
        }
        let leaf = leaf_hash(&line);
        if let Some(recorded) = &recorded
            && let Some(signed) = recorded.get(index as usize)
            && *signed != leaf
        {
            return fail(
                report,
                format!(
                    "entry {index} (line {}): the event was changed: it does not hash to the leaf the signed tree holds",
                    index + 1
                ),
            );
        }
        appender.append(leaf);
        let _ = appender.take_full();
        report.entries += 1;
        while let Some(checkpoint) = pending.next_if(|c| c.size == appender.size()) {
            let root = appender.root().map_err(|error| AppError::Invalid {
                what: "bundle".into(),
                problems: vec![error.to_string()],
            })?;
            if root != checkpoint.root {
                return fail(
                    report,
                    format!(
                        "checkpoint at size {}: its signed root is not the root of the first {} events (an event up to line {} was changed, removed, reordered or added)",
                        checkpoint.size, checkpoint.size, checkpoint.size
                    ),
                );
            }
            report.checkpoints += 1;
        }
    }
    if let Some(checkpoint) = pending.next() {
        let entries = report.entries;
        return fail(
            report,
            format!(
                "the checkpoint at size {} commits to more events than the bundle's {entries}: entries {entries} to {} are missing",
                checkpoint.size,
                checkpoint.size - 1
            ),
        );
    }
    if let Some(latest) = checkpoints.last()
        && latest.size < report.entries
    {
        return fail(
            report,
            format!("events after entry {} are not covered by any checkpoint", latest.size.saturating_sub(1)),
        );
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::tile_path;

    #[test]
    fn tile_paths_follow_tlog_tiles() {
        assert_eq!(tile_path(0, 0, 256), "tile/0/000");
        assert_eq!(tile_path(0, 1234067, 256), "tile/0/x001/x234/067");
        assert_eq!(tile_path(1, 5, 12), "tile/1/005.p/12");
    }
}
