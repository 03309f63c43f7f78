//! The ledger's use cases: signing checkpoints when writes commit, reading
//! entries and checkpoints, producing proofs, and verifying the whole log
//! against its stored tree and checkpoints.

pub mod bundle;

use std::sync::Arc;
use std::time::Duration;

use charter_ledger::tiles::tile_span;
use charter_ledger::{
    Checkpoint, Hash, NodeRecorder, NodeSource, NodeTiles, NoteSigner, NoteVerifier, TileAppender, TileId,
    TileNodes, TileSet, consistency_proof, inclusion_proof, leaf_hash, root,
};
use charter_model::{RecordKind, WorkspaceName};
use charter_store::{EventRow, WorkspaceRow, WriteTx};
use serde::Serialize;

use crate::{App, AppError, Caller, Result};

/// How checkpoints are made.
#[derive(Debug, Clone)]
pub struct LedgerSettings {
    /// The key that signs checkpoints; without one, none are made.
    pub signer: Option<NodeSignerHandle>,
    /// The checkpoint origin, with `{workspace}` replaced by the workspace name.
    pub origin: String,
    /// The shortest time between two checkpoints of a workspace made while
    /// committing; a commit sooner than this after the last checkpoint leaves
    /// the next one to [`App::checkpoint_pending`].
    pub min_interval: Duration,
    /// Certification reads the log in segments of `2^segment_level` entries
    /// and keeps a signed seal of each complete one (8 to 24; default 16).
    pub segment_level: u32,
}

/// A signer, shared.
pub type NodeSignerHandle = std::sync::Arc<NoteSigner>;

/// Tiles read for proofs, with their inner nodes, kept between proofs; and
/// how many entries each log is known to hold.
///
/// A node of the tree never changes once it exists, so a tile read with `k`
/// hashes answers for its first `k` nodes for good: a proof needing a node
/// past a kept tile's end reads the tile again. The tiles above the leaves
/// (one in 256) are what nearly every proof shares; when the cache is over
/// its budget, the leaf tiles go first.
#[derive(Debug, Default)]
pub(crate) struct TileCache {
    tiles: std::collections::HashMap<(i64, TileId), Arc<TileNodes>>,
    bytes: usize,
    logged: std::collections::HashMap<i64, u64>,
}

/// What the kept tiles may take (a full tile with its inner nodes is 16 KiB).
const TILE_CACHE_BYTES: usize = 32 << 20;

fn tile_bytes(tile: &TileNodes) -> usize {
    2 * tile.len() * std::mem::size_of::<Hash>()
}

impl TileCache {
    /// The kept tiles that cover `needed` (tile, hashes wanted), and the
    /// tiles still to read.
    fn lookup(&self, workspace: i64, needed: &[(TileId, usize)]) -> (NodeTiles, Vec<TileId>) {
        let mut set = NodeTiles::default();
        let mut missing = Vec::new();
        for &(id, len) in needed {
            match self.tiles.get(&(workspace, id)) {
                Some(tile) if tile.len() >= len => set.insert(Arc::clone(tile)),
                _ => missing.push(id),
            }
        }
        (set, missing)
    }

    fn keep(&mut self, workspace: i64, tile: &Arc<TileNodes>) {
        let size = tile_bytes(tile);
        if self.bytes + size > TILE_CACHE_BYTES {
            self.tiles.retain(|(_, (level, _)), _| *level > 0);
            self.bytes = self.tiles.values().map(|t| tile_bytes(t)).sum();
            if self.bytes + size > TILE_CACHE_BYTES {
                self.tiles.clear();
                self.bytes = 0;
            }
        }
        if let Some(old) = self.tiles.insert((workspace, tile.id()), Arc::clone(tile)) {
            self.bytes -= tile_bytes(&old);
        }
        self.bytes += size;
    }
}

/// Default checkpoint origin.
pub const DEFAULT_ORIGIN: &str = "charter/{workspace}";

impl Default for LedgerSettings {
    fn default() -> Self {
        Self {
            signer: None,
            origin: DEFAULT_ORIGIN.to_owned(),
            min_interval: Duration::ZERO,
            segment_level: 16,
        }
    }
}

/// A new signing key under `name`, from the operating system's randomness.
pub fn generate_signer(name: &str) -> Result<NoteSigner> {
    let mut seed = [0_u8; 32];
    getrandom::fill(&mut seed)
        .map_err(|error| AppError::Forbidden(format!("no secure random numbers available: {error}")))?;
    NoteSigner::from_seed(name, seed).map_err(ledger_error)
}

impl LedgerSettings {
    /// The origin of a workspace's log.
    pub fn origin(&self, workspace: &WorkspaceName) -> String {
        self.origin.replace("{workspace}", workspace.as_str())
    }
}

/// An event to record with [`App::log_events`].
#[derive(Debug, Clone, PartialEq)]
pub struct LogEvent {
    /// What happened: lower-case letters, `_` and `.` (e.g. `decide`).
    pub action: String,
    /// Kind of subject: lower-case letters, `_` and `.` (e.g. `decision`).
    pub kind: String,
    /// The subject's id.
    pub subject: String,
    /// Any JSON.
    pub value: serde_json::Value,
}

impl LogEvent {
    fn check(&self) -> Result<()> {
        let word = |field: &str, text: &str| {
            let ok = (1..=64).contains(&text.len())
                && text.bytes().all(|b| b.is_ascii_lowercase() || b == b'_' || b == b'.');
            if ok {
                Ok(())
            } else {
                Err(bad_field(field, format!("\"{text}\" must be 1 to 64 lower-case letters, '_' or '.'")))
            }
        };
        word("action", &self.action)?;
        word("kind", &self.kind)?;
        // Charter's own kinds mean something: a record event sets a record,
        // a decision event is a decision replay re-evaluates. Nobody may
        // write one by hand.
        let reserved = charter_model::RecordKind::from_name(&self.kind).is_some()
            || ["decision", "workspace", "token", "checkpoint"].contains(&self.kind.as_str());
        if reserved {
            return Err(bad_field("kind", format!("\"{}\" is a kind only Charter itself writes", self.kind)));
        }
        if self.subject.is_empty() || self.subject.len() > 256 || self.subject.chars().any(char::is_control) {
            return Err(bad_field(
                "subject",
                format!("\"{}\" must be 1 to 256 printable characters", self.subject),
            ));
        }
        Ok(())
    }
}

/// One entry of a log: a leaf index and its event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LedgerEntry {
    /// Leaf index, from 0 (the event's `seq` minus one).
    pub index: u64,
    /// The event's canonical encoding: the leaf data.
    pub event: String,
    /// `SHA-256(0x00 ‖ event)`, hexadecimal.
    pub leaf_hash: String,
}

/// An inclusion proof of one entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InclusionProof {
    /// Leaf index.
    pub index: u64,
    /// Tree size the proof is for.
    pub size: u64,
    /// The leaf hash.
    pub leaf_hash: Hash,
    /// Sibling hashes, from the leaf up.
    pub hashes: Vec<Hash>,
    /// Root of the tree of `size` leaves.
    pub root: Hash,
}

/// A consistency proof between two sizes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConsistencyProof {
    /// The older size.
    pub from: u64,
    /// The newer size.
    pub to: u64,
    /// The proof hashes.
    pub hashes: Vec<Hash>,
    /// Root at `from`.
    pub from_root: Hash,
    /// Root at `to`.
    pub to_root: Hash,
}

/// What `verify` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Entries checked.
    pub entries: u64,
    /// Checkpoints checked.
    pub checkpoints: u64,
    /// Records checked against the events that set them.
    pub records: u64,
    /// Root of the whole log.
    pub root: Hash,
    /// The first problem, if any: the log does not verify.
    pub failure: Option<String>,
}

impl App {
    /// Commits `tx`, first signing a checkpoint of `workspace`'s log if the
    /// transaction extended it (and the last checkpoint is not too recent).
    pub(crate) async fn commit(&self, tx: WriteTx, workspace: &WorkspaceRow) -> Result<()> {
        self.commit_all(tx, std::slice::from_ref(workspace)).await
    }

    /// Commits `tx`, signing checkpoints of the logs of `workspaces` it
    /// extended.
    pub(crate) async fn commit_all(&self, mut tx: WriteTx, workspaces: &[WorkspaceRow]) -> Result<()> {
        for workspace in workspaces {
            self.sign_in(&mut tx, workspace).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Signs a checkpoint of `workspace`'s log inside `tx`, if `tx` extended
    /// the log and the last checkpoint is not too recent.
    async fn sign_in(&self, tx: &mut WriteTx, workspace: &WorkspaceRow) -> Result<()> {
        let (Some(signer), Some((size, tree_root))) = (&self.ledger.signer, tx.ledger_head(workspace.id)?)
        else {
            return Ok(());
        };
        let at = self.clock.now();
        let recent = |last: charter_model::Timestamp| {
            let elapsed = at.unix_micros() - last.unix_micros();
            elapsed >= 0 && (elapsed as u128) < self.ledger.min_interval.as_micros()
        };
        // A checkpoint this process signed moments ago is enough to know the
        // next is not due, without asking the database.
        let signed = self
            .cache
            .signed
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(&workspace.id)
            .copied();
        if signed.is_some_and(recent) {
            return Ok(());
        }
        let due = match tx.latest_checkpoint(workspace.id).await? {
            None => true,
            Some(last) => {
                let elapsed = at.unix_micros() - last.created_at.unix_micros();
                elapsed < 0 || elapsed as u128 >= self.ledger.min_interval.as_micros()
            }
        };
        if due {
            let checkpoint =
                Checkpoint { origin: self.ledger.origin(&workspace.name), size, root: tree_root };
            let note = checkpoint.sign(signer).map_err(ledger_error)?;
            tx.insert_checkpoint(workspace.id, size, &tree_root, &note, at).await?;
            self.cache
                .signed
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .insert(workspace.id, at);
        }
        Ok(())
    }

    /// Signs a checkpoint for every workspace whose log grew past its latest
    /// checkpoint. Returns how many were signed. The server runs this a few
    /// times a second, so rate-limited commits are covered within moments.
    pub async fn checkpoint_pending(&self) -> Result<usize> {
        let Some(signer) = &self.ledger.signer else { return Ok(0) };
        let mut signed = 0;
        for workspace in self.store.workspaces().await? {
            // Under load, commits sign every interval themselves; a write
            // transaction of this task would only hold them up.
            let last = self
                .cache
                .signed
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .get(&workspace.id)
                .copied();
            let now = self.clock.now();
            if last.is_some_and(|last| {
                let elapsed = now.unix_micros() - last.unix_micros();
                elapsed >= 0 && (elapsed as u128) < self.ledger.min_interval.as_micros()
            }) {
                continue;
            }
            let size = self.store.event_count(workspace.id).await?;
            let latest = self.store.latest_checkpoint(workspace.id).await?.map_or(0, |c| c.size);
            if size <= latest {
                continue;
            }
            let mut tx = self.store.begin().await?;
            // Advancing the counter by nothing takes its lock (on PostgreSQL,
            // the row lock every appender takes), so the log cannot grow
            // between reading its size and reading its tiles.
            let size = tx.advance_counter(workspace.id, crate::core::audit::AUDIT_COUNTER, 0).await?;
            if tx.latest_checkpoint(workspace.id).await?.is_some_and(|c| c.size >= size) {
                continue;
            }
            let tiles = TileSet::new(tx.tiles(workspace.id, &charter_ledger::edge_tiles(size)).await?);
            let tree_root = root(&tiles, size).map_err(ledger_error)?;
            let checkpoint =
                Checkpoint { origin: self.ledger.origin(&workspace.name), size, root: tree_root };
            let note = checkpoint.sign(signer).map_err(ledger_error)?;
            tx.insert_checkpoint(workspace.id, size, &tree_root, &note, now).await?;
            tx.commit().await?;
            self.cache
                .signed
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .insert(workspace.id, now);
            signed += 1;
        }
        Ok(signed)
    }

    /// The latest checkpoint of a workspace, its signature checked with
    /// this application's key and its root against the stored tree:
    /// `(note, Ok(()) or why not)`; `None` without a checkpoint.
    pub async fn checked_checkpoint(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
    ) -> Result<Option<(String, std::result::Result<(), String>)>> {
        let row = self.visible_workspace(caller, workspace).await?;
        let Some(checkpoint) = self.store.latest_checkpoint(row.id).await? else { return Ok(None) };
        let Some(verifier) = self.verifier() else {
            return Ok(Some((checkpoint.note, Err("the server has no key to check it with".into()))));
        };
        let checked = match Checkpoint::open(&checkpoint.note, &verifier) {
            Err(error) => Err(format!("its signature does not verify: {error}")),
            Ok(body) if body.origin != self.ledger.origin(workspace) => {
                Err(format!("it names log \"{}\", not this workspace's", body.origin))
            }
            Ok(body) => {
                let proof = self.inclusion_proof(caller, workspace, 0, Some(body.size)).await?;
                if proof.root == body.root {
                    Ok(())
                } else {
                    Err("the stored tree's root differs from the signed one".into())
                }
            }
        };
        Ok(Some((checkpoint.note, checked)))
    }

    /// The verifier key of the checkpoints this application signs.
    pub fn verifier(&self) -> Option<NoteVerifier> {
        self.ledger.signer.as_ref().map(|signer| signer.verifier())
    }

    /// The checkpoint origin of a workspace.
    pub fn ledger_origin(&self, workspace: &WorkspaceName) -> String {
        self.ledger.origin(workspace)
    }

    /// The latest signed checkpoint of a workspace, as a signed note.
    pub async fn latest_checkpoint(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
    ) -> Result<Option<String>> {
        let row = self.visible_workspace(caller, workspace).await?;
        Ok(self.store.latest_checkpoint(row.id).await?.map(|checkpoint| checkpoint.note))
    }

    /// Records an event about something outside the registry (a decision,
    /// an observation) as the next entry of the workspace's log, and returns
    /// its sequence number once it is durable. `action` and `kind` are lower
    /// case words (`decide`, `decision`); `value` is any JSON.
    pub async fn log_event(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        action: &str,
        kind: &str,
        subject: &str,
        value: &serde_json::Value,
    ) -> Result<u64> {
        let event = LogEvent {
            action: action.to_owned(),
            kind: kind.to_owned(),
            subject: subject.to_owned(),
            value: value.clone(),
        };
        self.log_events(caller, workspace, vec![event]).await
    }

    /// Records several events, in order, in one transaction; returns the
    /// sequence number of the first.
    pub async fn log_events(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        events: Vec<LogEvent>,
    ) -> Result<u64> {
        let row = self.visible_workspace(caller, workspace).await?;
        caller.require_role(charter_model::Role::Operator)?;
        let mut changes = Vec::with_capacity(events.len());
        for event in events {
            event.check()?;
            changes.push((
                event.action,
                event.kind,
                event.subject,
                charter_model::canonical::to_string(&event.value),
            ));
        }
        let changes = changes
            .into_iter()
            .map(|(action, kind, subject, value)| crate::core::audit::AuditChange {
                action: action.into(),
                kind,
                subject,
                version: None,
                prev_version: None,
                value: Some(value),
            })
            .collect();
        let append = crate::core::commit::Append {
            actor: caller.actor().to_owned(),
            at: self.clock.now(),
            changes,
            made_on: None,
        };
        self.append(&row, append).await
    }

    /// Records, before a command runs, that the local `caller` is a
    /// break-glass: an operating-system account acting as someone else.
    /// The event's actor is the account, its subject the person acted as,
    /// its value the command. Returns its sequence number (none when the
    /// caller acts as itself).
    pub async fn record_break_glass(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        command: &str,
    ) -> Result<Option<u64>> {
        let Some(account) = caller.break_glass() else { return Ok(None) };
        let row = self.visible_workspace(caller, workspace).await?;
        let value =
            serde_json::json!({ "account": account, "acting_as": caller.actor(), "command": command });
        let change = crate::core::audit::AuditChange {
            action: charter_model::audit::action::BREAK_GLASS.into(),
            kind: "caller".to_owned(),
            subject: caller.actor().to_owned(),
            version: None,
            prev_version: None,
            value: Some(charter_model::canonical::to_string(&value)),
        };
        let append = crate::core::commit::Append {
            actor: account.to_owned(),
            at: self.clock.now(),
            changes: vec![change],
            made_on: None,
        };
        Ok(Some(self.append(&row, append).await?))
    }

    /// Audit events matching `filter`, after sequence number `after`, at most
    /// `limit` (up to 1,000).
    pub async fn audit_log(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        filter: &charter_store::EventFilter,
        after: u64,
        limit: u32,
    ) -> Result<Vec<EventRow>> {
        let row = self.visible_workspace(caller, workspace).await?;
        Ok(self.store.events_matching(row.id, filter, after, limit.clamp(1, 1_000)).await?)
    }

    /// The number of entries in a workspace's log.
    pub async fn ledger_size(&self, caller: &Caller, workspace: &WorkspaceName) -> Result<u64> {
        let row = self.visible_workspace(caller, workspace).await?;
        Ok(self.store.event_count(row.id).await?)
    }

    /// Entries `start .. end` (leaf indexes, end excluded, at most 1,000).
    pub async fn ledger_entries(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        start: u64,
        end: u64,
    ) -> Result<Vec<LedgerEntry>> {
        let row = self.visible_workspace(caller, workspace).await?;
        if end <= start {
            return Ok(Vec::new());
        }
        let end = end.min(start.saturating_add(1_000));
        let events = self.store.events(row.id, start + 1, end).await?;
        Ok(events.into_iter().map(entry).collect())
    }

    /// Tiles holding the nodes `wanted`: from the cache when it holds enough
    /// of them, the rest in one read.
    async fn tiles_for(&self, workspace: i64, wanted: &[(u32, u64)]) -> Result<NodeTiles> {
        let mut needed: Vec<(TileId, usize)> =
            wanted.iter().map(|&(level, index)| tile_span(level, index)).collect();
        needed.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        needed.dedup_by_key(|(id, _)| *id);
        let (mut set, missing) = self.tile_cache().lookup(workspace, &needed);
        if !missing.is_empty() {
            let read = self.store.tiles(workspace, &missing).await?;
            let mut cache = self.tile_cache();
            for tile in read {
                let tile = Arc::new(TileNodes::new(tile));
                cache.keep(workspace, &tile);
                set.insert(tile);
            }
        }
        Ok(set)
    }

    fn tile_cache(&self) -> std::sync::MutexGuard<'_, TileCache> {
        self.cache.tiles.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The number of entries in a workspace's log, or a number it is known
    /// to have reached when that is at least `at_least` (the log only grows).
    async fn logged(&self, workspace: i64, at_least: u64) -> Result<u64> {
        if let Some(known) = self.tile_cache().logged.get(&workspace).copied()
            && known >= at_least
        {
            return Ok(known);
        }
        let logged = self.store.event_count(workspace).await?;
        let mut cache = self.tile_cache();
        let known = cache.logged.entry(workspace).or_default();
        *known = (*known).max(logged);
        Ok(logged)
    }

    /// The inclusion proof of entry `index` in the tree of `size` entries
    /// (the latest checkpoint's size when `size` is `None`).
    pub async fn inclusion_proof(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        index: u64,
        size: Option<u64>,
    ) -> Result<InclusionProof> {
        let row = self.visible_workspace(caller, workspace).await?;
        let size = self.proof_size(row.id, size).await?;
        if index >= size {
            return Err(bad_field("index", format!("entry {index} is not in a tree of {size} entries")));
        }
        let recorder = NodeRecorder::default();
        inclusion_proof(&recorder, index, size).map_err(ledger_error)?;
        root(&recorder, size).map_err(ledger_error)?;
        recorder.node(0, index).map_err(ledger_error)?;
        let tiles = self.tiles_for(row.id, &recorder.wanted()).await?;
        Ok(InclusionProof {
            index,
            size,
            leaf_hash: tiles.node(0, index).map_err(ledger_error)?,
            hashes: inclusion_proof(&tiles, index, size).map_err(ledger_error)?,
            root: root(&tiles, size).map_err(ledger_error)?,
        })
    }

    /// The consistency proof between sizes `from` and `to`.
    pub async fn consistency_proof(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        from: u64,
        to: u64,
    ) -> Result<ConsistencyProof> {
        let row = self.visible_workspace(caller, workspace).await?;
        let size = self.logged(row.id, to).await?;
        if from > to || to > size {
            return Err(bad_field(
                "from",
                format!("need from <= to <= {size} (the log's size), got {from} and {to}"),
            ));
        }
        let recorder = NodeRecorder::default();
        consistency_proof(&recorder, from, to).map_err(ledger_error)?;
        root(&recorder, from).map_err(ledger_error)?;
        root(&recorder, to).map_err(ledger_error)?;
        let tiles = self.tiles_for(row.id, &recorder.wanted()).await?;
        Ok(ConsistencyProof {
            from,
            to,
            hashes: consistency_proof(&tiles, from, to).map_err(ledger_error)?,
            from_root: root(&tiles, from).map_err(ledger_error)?,
            to_root: root(&tiles, to).map_err(ledger_error)?,
        })
    }

    async fn proof_size(&self, workspace: i64, size: Option<u64>) -> Result<u64> {
        match size {
            Some(size) => {
                let logged = self.logged(workspace, size).await?;
                if size > logged {
                    return Err(bad_field(
                        "size",
                        format!("the log holds {logged} entries; no tree of {size} exists yet"),
                    ));
                }
                Ok(size)
            }
            None => match self.store.latest_checkpoint(workspace).await? {
                Some(checkpoint) => Ok(checkpoint.size),
                None => self.store.event_count(workspace).await.map_err(Into::into),
            },
        }
    }

    /// Verifies a workspace's whole log: recomputes every leaf from its
    /// stored event, rebuilds the tree, compares it with every stored tile
    /// and checkpoint, checks every checkpoint's signature with `verifier`,
    /// and checks that every record points at the event that set it.
    /// Stops at the first problem and names it. `progress` is told
    /// (entries done, entries in all) as the work goes.
    pub async fn verify_ledger(
        &self,
        workspace: &WorkspaceName,
        verifier: &NoteVerifier,
        progress: &(dyn Fn(u64, u64) + Send + Sync),
    ) -> Result<VerifyReport> {
        self.verify_ledger_since(workspace, verifier, None, progress).await
    }

    /// [`App::verify_ledger`], and also that the log is consistent with
    /// `seen`, a checkpoint (signed note) a client kept from an earlier
    /// look: the log still holds its entries, and the tree of its size has
    /// its root. A checkpoint deleted from the database, or a cut of the
    /// newest entries together with their checkpoints, is caught this way.
    pub async fn verify_ledger_since(
        &self,
        workspace: &WorkspaceName,
        verifier: &NoteVerifier,
        seen: Option<&str>,
        progress: &(dyn Fn(u64, u64) + Send + Sync),
    ) -> Result<VerifyReport> {
        let row = self
            .store
            .workspace(workspace)
            .await?
            .ok_or_else(|| AppError::WorkspaceNotFound(workspace.clone()))?;
        let total = self.store.event_count(row.id).await?;
        let checkpoints = self.store.checkpoints(row.id).await?;
        let mut report =
            VerifyReport { entries: 0, checkpoints: 0, records: 0, root: Hash::default(), failure: None };
        let origin = self.ledger.origin(workspace);
        let fail = |mut report: VerifyReport, reason: String| {
            report.failure = Some(reason);
            Ok(report)
        };

        // Checkpoints first: each must be signed by the key, name this log,
        // and not claim more entries than the log holds.
        for checkpoint in &checkpoints {
            let body = match Checkpoint::open(&checkpoint.note, verifier) {
                Ok(body) => body,
                Err(error) => {
                    return fail(
                        report,
                        format!("checkpoint at size {}: {error} (key {verifier})", checkpoint.size),
                    );
                }
            };
            if body.origin != origin || body.size != checkpoint.size || body.root != checkpoint.root {
                return fail(
                    report,
                    format!("checkpoint at size {}: the signed body does not match its row", checkpoint.size),
                );
            }
        }
        if let Some(latest) = checkpoints.last()
            && latest.size > total
        {
            return fail(
                report,
                format!(
                    "the latest checkpoint commits to {} entries but the log holds {total}: entries {} to {} are missing",
                    latest.size,
                    total,
                    latest.size - 1
                ),
            );
        }

        let seen = match seen.map(|note| Checkpoint::open(note, verifier)).transpose() {
            Ok(seen) => seen,
            Err(error) => {
                return fail(report, format!("the checkpoint seen before: {error} (key {verifier})"));
            }
        };
        if let Some(seen) = &seen {
            if seen.origin != origin {
                return fail(
                    report,
                    format!("the checkpoint seen before is of log \"{}\", not \"{origin}\"", seen.origin),
                );
            }
            if seen.size > total {
                return fail(
                    report,
                    format!(
                        "a checkpoint seen before commits to {} entries but the log holds {total}: entries {total} to {} were cut",
                        seen.size,
                        seen.size - 1
                    ),
                );
            }
            if checkpoints.last().is_none_or(|latest| latest.size < seen.size) {
                return fail(
                    report,
                    format!(
                        "a checkpoint seen before commits to {} entries, but the latest stored checkpoint {}: checkpoints were deleted",
                        seen.size,
                        checkpoints
                            .last()
                            .map_or("does not exist".to_owned(), |c| format!("is at size {}", c.size))
                    ),
                );
            }
        }

        let mut appender = TileAppender::new(0, &TileSet::default()).map_err(ledger_error)?;
        let mut next_checkpoint = checkpoints.iter().peekable();
        let mut stored_full = StoredTiles::default();
        const PAGE: u64 = 10_000;
        let mut seq = 1;
        // The next page is read while this one is checked.
        let mut fetched =
            if total > 0 { Some(self.store.event_bodies(row.id, 1, PAGE.min(total)).await?) } else { None };
        while seq <= total {
            let last = (seq + PAGE - 1).min(total);
            let (bodies, _) = fetched.take().unwrap_or_default();
            let next_last = (last + PAGE).min(total);
            let (store, workspace_id) = (self.store.clone(), row.id);
            let prefetch = tokio::spawn(async move {
                if last < total {
                    store.event_bodies(workspace_id, last + 1, next_last).await.map(Some)
                } else {
                    Ok(None)
                }
            });
            let page: Vec<&str> = bodies.split('\n').filter(|body| !body.is_empty()).collect();
            for (position, body) in page.iter().enumerate() {
                let index = appender.size();
                let leaf = leaf_hash(body.as_bytes());
                let recorded = stored_full
                    .get(self, row.id, 0, index / 256)
                    .await?
                    .and_then(|tile| tile.hashes.get((index % 256) as usize).copied());
                if recorded != Some(leaf) {
                    // Say what differs: the bytes are read only now, on failure.
                    // An event out of place is either missing (no later event
                    // of the page is the one expected here) or moved.
                    let expected_later = page[position..].iter().any(|later| {
                        charter_model::audit::EventHead::read(later).is_ok_and(|head| head.seq == index + 1)
                    });
                    let reason = match charter_model::audit::EventHead::read(body) {
                        Ok(head) if head.seq > index + 1 && !expected_later => {
                            format!("entry {index}: missing (the next stored event is seq {})", head.seq)
                        }
                        Ok(head) if head.seq != index + 1 => {
                            format!("entry {index} (seq {}): the event records seq {}", index + 1, head.seq)
                        }
                        Ok(head) if head.workspace != workspace.as_str() => {
                            format!("entry {index}: the event belongs to workspace \"{}\"", head.workspace)
                        }
                        Ok(_) | Err(_) if recorded.is_none() => {
                            format!(
                                "entry {index}: the tree records no leaf for it (tile 0/{} is missing or short)",
                                index / 256
                            )
                        }
                        _ => tile_mismatch(0, index / 256, (index % 256) as usize),
                    };
                    return fail(report, reason);
                }
                appender.append(leaf);
                for tile in appender.take_full() {
                    match stored_full.get(self, row.id, tile.level, tile.index).await? {
                        Some(stored) if *stored == tile => {}
                        Some(stored) => {
                            let at = first_difference(&stored.hashes, &tile.hashes);
                            return fail(report, tile_mismatch(tile.level, tile.index, at));
                        }
                        None => {
                            return fail(
                                report,
                                format!("tile {}/{} of the tree is missing", tile.level, tile.index),
                            );
                        }
                    }
                }
                report.entries += 1;
                if let Some(seen) = seen.as_ref().filter(|seen| seen.size == appender.size())
                    && appender.root().map_err(ledger_error)? != seen.root
                {
                    return fail(
                        report,
                        format!(
                            "the log is not consistent with the checkpoint seen before: its first {} entries have another root (the log was rewritten)",
                            seen.size
                        ),
                    );
                }
                while let Some(checkpoint) = next_checkpoint.next_if(|c| c.size == appender.size()) {
                    let rebuilt = appender.root().map_err(ledger_error)?;
                    if rebuilt != checkpoint.root {
                        return fail(
                            report,
                            format!(
                                "checkpoint at size {}: the signed root differs from the root of the stored entries",
                                checkpoint.size
                            ),
                        );
                    }
                    report.checkpoints += 1;
                }
            }
            if appender.size() != last {
                let index = appender.size();
                return fail(
                    report,
                    format!("entry {index}: missing (the log ends at {last} entries but holds fewer)"),
                );
            }
            progress(report.entries, total);
            fetched = prefetch
                .await
                .map_err(|error| AppError::internal(format!("reading the log failed: {error}")))??;
            seq = last + 1;
        }
        if let Some(checkpoint) = next_checkpoint.next() {
            return fail(
                report,
                format!("checkpoint at size {} is beyond the log's {total} entries", checkpoint.size),
            );
        }
        // The edge tiles must hold exactly what the rebuilt tree holds.
        for tile in appender.edge() {
            let stored = self.store.tiles(row.id, &[(tile.level, tile.index)]).await?;
            if stored.first() != Some(tile) {
                let at = stored.first().map_or(0, |s| first_difference(&s.hashes, &tile.hashes));
                return fail(report, tile_mismatch(tile.level, tile.index, at));
            }
        }
        report.root = appender.root().map_err(ledger_error)?;

        // Every stored column of an event row says what its signed bytes say
        // (the columns are what `audit log` filters on), and the events
        // determine the registry: each record's latest version and event.
        let mut expected: std::collections::HashMap<(String, String), (u64, u64)> =
            std::collections::HashMap::new();
        let mut first = 1;
        while first <= total {
            let last = (first + PAGE - 1).min(total);
            for event in self.store.events(row.id, first, last).await? {
                let index = event.seq - 1;
                let Ok(head) = charter_model::audit::EventHead::read(&event.body) else {
                    return fail(report, format!("entry {index}: the signed event cannot be read"));
                };
                if let Some(problem) = column_problem(&event, &head) {
                    return fail(report, problem);
                }
                if let (Some(kind), Some(version)) = (RecordKind::from_name(&head.kind), head.version) {
                    expected
                        .insert((kind.name().to_owned(), head.subject.into_owned()), (version, event.seq));
                }
            }
            first = last + 1;
        }

        // Every record must point at the event that set its current value.
        let mut seen_records: Vec<(String, String)> = Vec::new();
        let mut after: Option<(String, String)> = None;
        loop {
            let page = self
                .store
                .records_with_events(row.id, after.as_ref().map(|(k, i)| (k.as_str(), i.as_str())), 1_000)
                .await?;
            for (kind, id, version, event_seq, body) in &page {
                let Some(body) = body else {
                    return fail(
                        report,
                        format!("{kind} \"{id}\" points at event {event_seq}, which is missing"),
                    );
                };
                let matches = charter_model::audit::EventHead::read(body).is_ok_and(|head| {
                    head.kind == kind.as_str()
                        && head.subject == id.as_str()
                        && head.version == Some(*version)
                });
                if !matches {
                    return fail(
                        report,
                        format!("{kind} \"{id}\" (version {version}) is not what event {event_seq} records"),
                    );
                }
                seen_records.push((kind.clone(), id.clone()));
                match expected.remove(&(kind.clone(), id.clone())) {
                    Some((latest, seq)) if latest == *version && seq == *event_seq => {}
                    Some((latest, seq)) => {
                        return fail(
                            report,
                            format!(
                                "{kind} \"{id}\" is at version {version} (event {event_seq}) but the ledger's latest for it is version {latest} (event {seq})"
                            ),
                        );
                    }
                    None => {
                        return fail(
                            report,
                            format!("{kind} \"{id}\" is in the registry but no event created it"),
                        );
                    }
                }
                report.records += 1;
            }
            match page.last() {
                Some((kind, id, ..)) if page.len() == 1_000 => after = Some((kind.clone(), id.clone())),
                _ => break,
            }
        }
        if let Some(problem) = counter_problem(
            &self.store.counters(row.id).await?,
            total,
            expected.keys().chain(seen_records.iter()),
        ) {
            return fail(report, problem);
        }
        if let Some(((kind, id), (version, seq))) = expected.into_iter().min_by_key(|(_, (_, seq))| *seq) {
            return fail(
                report,
                format!(
                    "{kind} \"{id}\" (version {version}, event {seq}) is in the ledger but missing from the registry"
                ),
            );
        }
        Ok(report)
    }
}

/// What is wrong with the counters, given the log's size and the records
/// the ledger holds: the audit counter is the log's size; the numbers of
/// grants, data-quality runs and notifications, taken in the transaction
/// that creates their record, are exactly the highest in use; a per-day
/// counter of schema changes or operations is at least the day's highest
/// (a refused request may have spent one). A counter below what is in use
/// would hand out a number twice.
fn counter_problem<'r>(
    counters: &[(String, u64)],
    log_size: u64,
    records: impl Iterator<Item = &'r (String, String)>,
) -> Option<String> {
    let mut highest: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    for (kind, id) in records {
        let counter = match kind.as_str() {
            "grant" => id.strip_prefix(charter_model::GRANT_ID_PREFIX).map(|n| ("grant".to_owned(), n)),
            "dq_run" => {
                id.strip_prefix(charter_model::data::QUALITY_RUN_ID_PREFIX).map(|n| ("dq_runs".to_owned(), n))
            }
            "notification" => id
                .strip_prefix(charter_model::data::NOTIFICATION_ID_PREFIX)
                .map(|n| ("notifications".to_owned(), n)),
            "change" | "operation" => id.get(4..14).zip(id.get(15..)).map(|(date, n)| {
                (format!("{}/{date}", if kind == "change" { "changes" } else { "operations" }), n)
            }),
            _ => None,
        };
        if let Some((counter, number)) = counter
            && let Ok(number) = number.parse::<u64>()
        {
            let entry = highest.entry(counter).or_default();
            *entry = (*entry).max(number);
        }
    }
    for (name, value) in counters {
        let in_use = highest.remove(name).unwrap_or(0);
        let problem = match name.as_str() {
            crate::core::audit::AUDIT_COUNTER if *value != log_size => {
                Some(format!("the log holds {log_size} entries"))
            }
            "grant" | "dq_runs" | "notifications" if *value != in_use => {
                Some(format!("the highest number its records use is {in_use}"))
            }
            _ if (name.starts_with("changes/") || name.starts_with("operations/")) && *value < in_use => {
                Some(format!("the day's records already use {in_use}"))
            }
            _ => None,
        };
        if let Some(problem) = problem {
            return Some(format!("counter \"{name}\" is {value}, but {problem}"));
        }
    }
    highest.into_iter().filter(|(_, number)| *number > 0).min().map(|(name, number)| {
        format!("counter \"{name}\" is missing, but records use numbers up to {number}")
    })
}

/// Stored full tiles, read a page at a time as verification reaches them.
#[derive(Debug, Default)]
struct StoredTiles {
    cache: std::collections::HashMap<(u32, u64), charter_ledger::Tile>,
}

impl StoredTiles {
    async fn get(
        &mut self,
        app: &App,
        workspace: i64,
        level: u32,
        index: u64,
    ) -> Result<Option<&charter_ledger::Tile>> {
        if !self.cache.contains_key(&(level, index)) {
            // Tiles behind this one are done with.
            self.cache.retain(|(l, i), _| *l != level || *i > index);
            for tile in app.store.tiles_from(workspace, level, index, 64).await? {
                self.cache.insert((tile.level, tile.index), tile);
            }
        }
        Ok(self.cache.get(&(level, index)))
    }
}

/// What a stored column of an event row says that its signed bytes do not
/// (the columns are what `audit log` filters on), if anything.
pub(crate) fn column_problem(event: &EventRow, head: &charter_model::audit::EventHead<'_>) -> Option<String> {
    let index = event.seq - 1;
    let columns = [
        ("actor", event.actor.as_str(), head.actor.as_ref()),
        ("action", event.action.as_str(), head.action.as_ref()),
        ("kind", event.kind.as_str(), head.kind.as_ref()),
        ("subject", event.subject.as_str(), head.subject.as_ref()),
    ];
    for (column, stored, signed) in columns {
        if stored != signed {
            return Some(format!(
                "entry {index}: the stored {column} column says \"{stored}\" but the signed event says \"{signed}\""
            ));
        }
    }
    let signed_at = head.at.parse::<charter_model::Timestamp>().ok();
    (signed_at != Some(event.at)).then(|| {
        format!("entry {index}: the stored at column says {} but the signed event says {}", event.at, head.at)
    })
}

pub(crate) fn first_difference(stored: &[Hash], rebuilt: &[Hash]) -> usize {
    stored.iter().zip(rebuilt).position(|(a, b)| a != b).unwrap_or(stored.len().min(rebuilt.len()))
}

pub(crate) fn tile_mismatch(level: u32, index: u64, at: usize) -> String {
    let node = index * 256 + at as u64;
    if level == 0 {
        format!(
            "entry {node}: its stored event does not hash to the leaf the tree recorded (the event was changed)"
        )
    } else {
        format!("tree node {}/{node} differs from the one rebuilt from the entries", level * 8)
    }
}

/// Checks one stored event: canonical, of this workspace and at its place.
fn entry(event: EventRow) -> LedgerEntry {
    LedgerEntry {
        index: event.seq - 1,
        leaf_hash: leaf_hash(event.body.as_bytes()).to_hex(),
        event: event.body,
    }
}

fn ledger_error(error: charter_ledger::LedgerError) -> AppError {
    AppError::corrupt(error.to_string())
}

/// A ledger request's bad `field`.
fn bad_field(field: &str, message: String) -> AppError {
    AppError::invalid("ledger request", vec![format!("{field}: {message}")])
}
