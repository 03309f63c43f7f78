//! Verifying a ledger bundle offline: a log's entries, its signed
//! checkpoints and (optionally) its level-0 tiles, checked with nothing but
//! the verifier key.
//!
//! Layout of a bundle directory (the app writes it; [`README`] is the text
//! of its `README.txt`):
//!
//! ```text
//! events.jsonl             one entry per line, in log order: line N holds the
//!                          bytes of leaf N-1 (the leaf data)
//! checkpoints/<size>.note  every signed checkpoint, named by its tree size
//! checkpoint.note          the latest signed checkpoint
//! tile/<L>/<N>[.p/<W>]     the tree's hashes, in the C2SP tlog-tiles layout
//! verifier.key             the verifier key of the exporting installation
//! ```
//!
//! Verification opens every checkpoint with the given key, checks that the
//! leaf hashes of the tiles rebuild every signed root, then recomputes every
//! leaf hash from the entries and compares it with the signed tree — so a
//! changed, missing, reordered, added or cut-off entry is found and named.
//!
//! [`Verification`] is the whole check, fed by its caller, with no I/O;
//! [`verify_dir`] feeds it from a directory. What an entry must hold beyond
//! its hash (the app checks each is an audit event of the log's workspace
//! with the right sequence number) is the caller's `check`.

use std::fs::{self, File};
use std::io::{BufRead, BufReader};
use std::path::Path;

use crate::{Checkpoint, Hash, NoteVerifier, Tile, TileAppender, leaf_hash};

/// The text of a bundle's `README.txt`.
pub const README: &str = "Charter ledger bundle\n\
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

/// What verifying a bundle found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BundleReport {
    /// Entries checked.
    pub entries: u64,
    /// Checkpoints checked.
    pub checkpoints: u64,
    /// The log's origin, from its checkpoints.
    pub origin: Option<String>,
    /// The first problem; `None` when the bundle verifies.
    pub failure: Option<String>,
}

/// A bundle that could not be read at all (as opposed to one that was read
/// and does not verify, which is a [`BundleReport`] with a failure).
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct ReadError {
    /// The file or directory.
    pub path: String,
    /// Why.
    #[source]
    pub source: std::io::Error,
}

fn read_error(path: &Path) -> impl FnOnce(std::io::Error) -> ReadError + '_ {
    move |source| ReadError { path: path.display().to_string(), source }
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

/// One entry of a bundle, as the caller's check sees it.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    /// Its index in the log (0 for the first).
    pub index: u64,
    /// Its bytes: the leaf data.
    pub bytes: &'a [u8],
    /// The log's origin, from the verified checkpoints.
    pub origin: Option<&'a str>,
}

/// The verification of one bundle, fed in order: [`Verification::new`] with
/// the checkpoints, then [`Verification::tiles`] with the leaf hashes the
/// tiles hold (if the bundle has tiles), then every entry with
/// [`Verification::entry`], then [`Verification::finish`]. The first
/// problem ends it; every later call answers `false` and changes nothing.
#[derive(Debug)]
pub struct Verification {
    report: BundleReport,
    checkpoints: Vec<Checkpoint>,
    next_checkpoint: usize,
    recorded: Option<Vec<Hash>>,
    /// The checkpoint seen before, opened, until the entries are checked.
    seen: Option<Result<Checkpoint, String>>,
    appender: TileAppender,
}

impl Verification {
    /// Opens every checkpoint (`(name, note)`, the name for messages) with
    /// `verifier`, and `seen`, a checkpoint a client kept from an earlier
    /// look at the log: the entries must reach its size and rebuild its
    /// root, so a bundle cut short together with its newest checkpoints is
    /// caught.
    pub fn new(verifier: &NoteVerifier, notes: &[(String, String)], seen: Option<&str>) -> Self {
        let mut verification = Self {
            report: BundleReport { entries: 0, checkpoints: 0, origin: None, failure: None },
            checkpoints: Vec::new(),
            next_checkpoint: 0,
            recorded: None,
            seen: None,
            appender: TileAppender::empty(),
        };
        for (name, note) in notes {
            match Checkpoint::open(note, verifier) {
                Ok(checkpoint) => verification.checkpoints.push(checkpoint),
                Err(error) => return verification.failed(format!("{name}: {error}")),
            }
        }
        verification.checkpoints.sort_by_key(|checkpoint| checkpoint.size);
        let Some(first) = verification.checkpoints.first() else {
            return verification.failed("the bundle holds no checkpoint: nothing proves its events".into());
        };
        if let Some(other) = verification.checkpoints.iter().find(|c| c.origin != first.origin) {
            let reason = format!("checkpoints name two logs: \"{}\" and \"{}\"", first.origin, other.origin);
            return verification.failed(reason);
        }
        verification.report.origin = Some(first.origin.clone());
        verification.seen = seen.map(|note| {
            Checkpoint::open(note, verifier).map_err(|error| format!("the checkpoint seen before: {error}"))
        });
        verification
    }

    /// The largest tree size a checkpoint commits to (0 without any).
    pub fn size(&self) -> u64 {
        self.checkpoints.last().map_or(0, |checkpoint| checkpoint.size)
    }

    /// The log's origin, once the checkpoints are open.
    pub fn origin(&self) -> Option<&str> {
        self.report.origin.as_deref()
    }

    /// The leaf hashes the bundle's level-0 tiles hold, in order: they must
    /// rebuild every signed root, and each entry must hash to its own.
    pub fn tiles(&mut self, recorded: Vec<Hash>) -> bool {
        if self.report.failure.is_some() {
            return false;
        }
        let mut tree = TileAppender::empty();
        let mut pending = self.checkpoints.iter().peekable();
        for leaf in &recorded {
            tree.append(*leaf);
            let _ = tree.take_full();
            while let Some(checkpoint) = pending.next_if(|c| c.size == tree.size()) {
                if tree.root().ok() != Some(checkpoint.root) {
                    let reason = format!(
                        "the tiles do not rebuild the root of the checkpoint at size {}",
                        checkpoint.size
                    );
                    self.report.failure = Some(reason);
                    return false;
                }
            }
        }
        self.recorded = Some(recorded);
        true
    }

    /// Adds the checkpoint seen before (see [`Verification::new`]) to those
    /// the entries must rebuild, once the tiles are checked.
    fn take_seen(&mut self) {
        match self.seen.take() {
            None => {}
            // Held to the same account as the bundle's own checkpoints.
            Some(Ok(checkpoint)) if Some(&checkpoint.origin) != self.report.origin.as_ref() => {
                self.report.failure =
                    Some(format!("the checkpoint seen before is of log \"{}\"", checkpoint.origin));
            }
            Some(Ok(checkpoint)) => {
                self.checkpoints.push(checkpoint);
                self.checkpoints.sort_by_key(|checkpoint| checkpoint.size);
                self.checkpoints.dedup_by(|a, b| a.size == b.size && a.root == b.root);
            }
            Some(Err(reason)) => self.report.failure = Some(reason),
        }
    }

    /// Checks the next entry (`line`, the leaf data); `check` says what else
    /// is wrong with it, if anything, given the entry's index, its bytes and
    /// the log's origin. Answers whether the verification goes on.
    pub fn entry(&mut self, line: &[u8], check: impl FnOnce(Entry<'_>) -> Result<(), String>) -> bool {
        self.take_seen();
        if self.report.failure.is_some() {
            return false;
        }
        let index = self.appender.size();
        if let Err(reason) = check(Entry { index, bytes: line, origin: self.report.origin.as_deref() }) {
            self.report.failure = Some(format!("entry {index} (line {}): {reason}", index + 1));
            return false;
        }
        let leaf = leaf_hash(line);
        if let Some(recorded) = &self.recorded
            && let Some(signed) = recorded.get(index as usize)
            && *signed != leaf
        {
            self.report.failure = Some(format!(
                "entry {index} (line {}): the event was changed: it does not hash to the leaf the signed tree holds",
                index + 1
            ));
            return false;
        }
        self.appender.append(leaf);
        let _ = self.appender.take_full();
        self.report.entries += 1;
        while let Some(checkpoint) =
            self.checkpoints.get(self.next_checkpoint).filter(|c| c.size == self.appender.size())
        {
            if self.appender.root().ok() != Some(checkpoint.root) {
                self.report.failure = Some(format!(
                    "checkpoint at size {}: its signed root is not the root of the first {} events (an event up to line {} was changed, removed, reordered or added)",
                    checkpoint.size, checkpoint.size, checkpoint.size
                ));
                return false;
            }
            self.report.checkpoints += 1;
            self.next_checkpoint += 1;
        }
        true
    }

    /// The verdict, once every entry is in: every checkpoint must have been
    /// reached, and every entry covered by one.
    pub fn finish(mut self) -> BundleReport {
        self.take_seen();
        if self.report.failure.is_some() {
            return self.report;
        }
        let entries = self.report.entries;
        if let Some(checkpoint) = self.checkpoints.get(self.next_checkpoint) {
            self.report.failure = Some(format!(
                "the checkpoint at size {} commits to more events than the bundle's {entries}: entries {entries} to {} are missing",
                checkpoint.size,
                checkpoint.size - 1
            ));
        } else if let Some(latest) = self.checkpoints.last()
            && latest.size < entries
        {
            self.report.failure = Some(format!(
                "events after entry {} are not covered by any checkpoint",
                latest.size.saturating_sub(1)
            ));
        }
        self.report
    }

    fn failed(mut self, reason: String) -> Self {
        self.report.failure = Some(reason);
        self
    }
}

/// Verifies the bundle in directory `dir` with `verifier` (see the module
/// documentation), with `seen` as in [`Verification::new`] and `check` for
/// each entry as in [`Verification::entry`].
pub fn verify_dir(
    dir: &Path,
    verifier: &NoteVerifier,
    seen: Option<&str>,
    mut check: impl FnMut(Entry<'_>) -> Result<(), String>,
) -> Result<BundleReport, ReadError> {
    let checkpoint_dir = dir.join("checkpoints");
    let mut notes = Vec::new();
    for entry in fs::read_dir(&checkpoint_dir).map_err(read_error(&checkpoint_dir))? {
        let path = entry.map_err(read_error(&checkpoint_dir))?.path();
        let note = fs::read_to_string(&path).map_err(read_error(&path))?;
        notes.push((path.display().to_string(), note));
    }
    let mut verification = Verification::new(verifier, &notes, seen);
    if verification.report.failure.is_some() {
        return Ok(verification.finish());
    }
    if dir.join("tile").exists() {
        match leaf_hashes(dir, verification.size())? {
            Ok(hashes) => {
                verification.tiles(hashes);
            }
            Err(reason) => verification.report.failure = Some(reason),
        }
    }
    let path = dir.join("events.jsonl");
    let file = File::open(&path).map_err(read_error(&path))?;
    for line in BufReader::new(file).split(b'\n') {
        let line = line.map_err(read_error(&path))?;
        if !verification.entry(&line, &mut check) {
            break;
        }
    }
    Ok(verification.finish())
}

/// The first `size` leaf hashes the level-0 tiles under `dir` hold, or why
/// a tile is not one.
fn leaf_hashes(dir: &Path, size: u64) -> Result<Result<Vec<Hash>, String>, ReadError> {
    let mut hashes = Vec::new();
    let mut index = 0;
    while (hashes.len() as u64) < size {
        let width = (size - hashes.len() as u64).min(256) as usize;
        let mut path = dir.join(tile_path(0, index, 256));
        if width < 256 || !path.exists() {
            path = dir.join(tile_path(0, index, width));
        }
        let bytes = fs::read(&path).map_err(read_error(&path))?;
        match Tile::from_bytes(0, index, &bytes) {
            Ok(tile) => hashes.extend(tile.hashes.into_iter().take(width)),
            Err(error) => return Ok(Err(format!("{}: {error}", path.display()))),
        }
        index += 1;
    }
    Ok(Ok(hashes))
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
