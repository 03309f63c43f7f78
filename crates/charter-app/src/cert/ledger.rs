//! Certification's reading of the ledger: the log verified against the tree
//! and its signed checkpoints, and what the period's decisions show.
//!
//! The log is read in segments of 65,536 entries (one node of tree level
//! 16). Reading a segment in full recomputes every leaf from its stored
//! event, checks the event's columns against its signed bytes, rebuilds the
//! segment's tiles and subtree hash against the stored ones, and digests its
//! decisions per day. What a full reading of a complete segment established
//! is kept as its *seal*, signed with the ledger key: the segment's subtree
//! hash, when, and its per-day digest. A later certification takes a sealed
//! segment from its seal when the seal verifies, names the subtree hash the
//! stored tree still holds and is younger than [`RESEAL_DAYS`]; otherwise it
//! reads the segment again. The entries after the last complete segment are
//! read in full every time. So every entry is checked against the tree at
//! most [`RESEAL_DAYS`] before the verdict, and the tree itself (every
//! signature, the roots of the latest and the as-of checkpoints, every
//! segment's node) every time. `charter audit verify` remains the check of
//! everything at once, the registry's records included.

use std::collections::{BTreeMap, BTreeSet};

use charter_ledger::tiles::tile_len;
use charter_ledger::{Checkpoint, Hash, NodeRecorder, NodeSource, Tile, TileAppender, TileSet, edge_tiles};
use charter_model::Timestamp;
use charter_store::{CheckpointRow, EventRow, WorkspaceRow};
use serde::{Deserialize, Serialize};

use crate::{App, AppError, Result};

/// A seal older than this many days is read again.
pub(crate) const RESEAL_DAYS: u64 = 7;
/// Events read per query.
const PAGE: u64 = 10_000;
const DAY_MICROS: i64 = 86_400_000_000;
/// How many decisions of each kind a digest cites.
const CITE: usize = charter_cert::MAX_CITED;

/// What a stretch of the log's decisions shows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct DecisionScan {
    /// Decisions with complete provenance.
    pub(crate) good: u64,
    /// Decisions.
    pub(crate) total: u64,
    /// Sequence numbers of the first decisions without complete provenance.
    pub(crate) bad: Vec<u64>,
    /// Sequence numbers of the first decisions with it.
    pub(crate) seen: Vec<u64>,
    /// Operations a decision was about, with the latest such decision.
    pub(crate) operations: BTreeMap<String, u64>,
    /// Datasets an allowed promote_dataset decision was about.
    pub(crate) promoted: BTreeSet<String>,
}

/// The fields of a logged decision provenance needs; the request's context,
/// however large, is skipped without being built.
#[derive(Debug, Deserialize)]
struct DecisionFields {
    principal: EntityFields,
    action: String,
    resource: EntityFields,
    decision: charter_policy::Effect,
    reasons: Vec<serde::de::IgnoredAny>,
    registry_version: u64,
}

#[derive(Debug, Deserialize)]
struct EntityFields {
    #[serde(rename = "type")]
    entity_type: String,
    id: String,
}

#[derive(Debug, Deserialize)]
struct DecisionEvent {
    value: Option<DecisionFields>,
}

impl DecisionScan {
    fn add(&mut self, seq: u64, body: &str) {
        // An event that does not read as a logged decision is not complete
        // provenance: counted and cited (the leaf check judges the bytes).
        let logged = serde_json::from_str::<DecisionEvent>(body).ok().and_then(|event| event.value);
        let complete = logged.as_ref().is_some_and(|logged| {
            !logged.principal.id.is_empty() && logged.registry_version > 0 && !logged.reasons.is_empty()
        });
        self.total += 1;
        if complete {
            self.good += 1;
            if self.seen.len() < CITE {
                self.seen.push(seq);
            }
        } else if self.bad.len() < CITE {
            self.bad.push(seq);
        }
        let Some(logged) = logged else { return };
        if logged.resource.entity_type == "Operation" {
            let latest = self.operations.entry(logged.resource.id.clone()).or_default();
            *latest = (*latest).max(seq);
        }
        if logged.action == "promote_dataset" && logged.decision == charter_policy::Effect::Allow {
            self.promoted.insert(logged.resource.id);
        }
    }

    /// Adds what another stretch shows; the citations stay the first by
    /// sequence number whatever the order of merging.
    pub(crate) fn merge(&mut self, other: &DecisionScan) {
        self.good += other.good;
        self.total += other.total;
        for (mine, theirs) in [(&mut self.bad, &other.bad), (&mut self.seen, &other.seen)] {
            mine.extend(theirs);
            mine.sort_unstable();
            mine.dedup();
            mine.truncate(CITE);
        }
        for (operation, seq) in &other.operations {
            let latest = self.operations.entry(operation.clone()).or_default();
            *latest = (*latest).max(*seq);
        }
        self.promoted.extend(other.promoted.iter().cloned());
    }
}

/// The decisions of one day of a segment, with the times they span.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Day {
    first_at: Timestamp,
    last_at: Timestamp,
    decisions: DecisionScan,
}

/// Days (since the Unix epoch, UTC) to what their decisions show.
type Days = BTreeMap<i64, Day>;

fn merge_days(into: &mut Days, from: Days) {
    for (day, part) in from {
        match into.get_mut(&day) {
            Some(held) => {
                held.first_at = held.first_at.min(part.first_at);
                held.last_at = held.last_at.max(part.last_at);
                held.decisions.merge(&part.decisions);
            }
            None => {
                into.insert(day, part);
            }
        }
    }
}

/// What a full reading of a complete segment established.
#[derive(Debug, Serialize, Deserialize)]
struct Seal {
    origin: String,
    segment: u64,
    /// Its entries (a power of two).
    entries: u64,
    /// The segment's subtree hash (base64).
    node: String,
    sealed_at: Timestamp,
    days: Days,
}

impl Seal {
    /// `signature (hex)` newline `JSON`.
    fn sign(&self, signer: &charter_ledger::NoteSigner) -> Result<String> {
        let json = serde_json::to_string(self).map_err(|error| AppError::internal(error.to_string()))?;
        let signature = crate::registry::tokens::hex(&signer.sign_bytes(json.as_bytes()));
        Ok(format!("{signature}\n{json}"))
    }

    /// The seal a stored body holds, if its signature verifies.
    fn open(body: &str, verifier: &charter_ledger::NoteVerifier) -> Option<Seal> {
        let (signature, json) = body.split_once('\n')?;
        let signature: Vec<u8> = (0..signature.len())
            .step_by(2)
            .map(|at| signature.get(at..at + 2).and_then(|hex| u8::from_str_radix(hex, 16).ok()))
            .collect::<Option<_>>()?;
        if !verifier.verify_bytes(json.as_bytes(), &signature) {
            return None;
        }
        serde_json::from_str(json).ok()
    }
}

/// What certification read from the ledger.
#[derive(Debug, Clone, Default)]
pub(crate) struct LedgerReading {
    /// The period's decisions.
    pub(crate) decisions: DecisionScan,
    /// Entries in the log.
    pub(crate) entries: u64,
    /// Why the log does not verify, if it does not (or has no key to verify with).
    pub(crate) failure: Option<String>,
    /// Segments read in full now, and taken from their seals.
    pub(crate) segments_read: u64,
    pub(crate) segments_sealed: u64,
}

/// One stretch of the log read in full.
struct Stretch {
    days: Days,
    failure: Option<String>,
}

/// What one event is, read off its row: its leaf, and what is wrong with it.
fn read_event(event: &EventRow, days: &mut Days) -> (Hash, Option<String>) {
    let leaf = charter_ledger::leaf_hash(event.body.as_bytes());
    let problem = match charter_model::audit::EventHead::read(&event.body) {
        Ok(head) => crate::ledger::column_problem(event, &head),
        Err(_) => Some(format!("entry {}: the signed event cannot be read", event.seq - 1)),
    };
    if event.kind == charter_policy::DECISION {
        let day = days.entry(event.at.unix_micros().div_euclid(DAY_MICROS)).or_insert_with(|| Day {
            first_at: event.at,
            last_at: event.at,
            decisions: DecisionScan::default(),
        });
        day.first_at = day.first_at.min(event.at);
        day.last_at = day.last_at.max(event.at);
        day.decisions.add(event.seq, &event.body);
    }
    (leaf, problem)
}

/// Reads a page of events on two threads.
fn read_page(events: &[EventRow]) -> (Vec<Hash>, Option<String>, Days) {
    let read = |events: &[EventRow]| {
        let mut days = Days::new();
        let mut problem = None;
        let leaves = events
            .iter()
            .map(|event| {
                let (leaf, wrong) = read_event(event, &mut days);
                if problem.is_none() {
                    problem = wrong;
                }
                leaf
            })
            .collect::<Vec<_>>();
        (leaves, problem, days)
    };
    let (first, second) = events.split_at(events.len() / 2);
    std::thread::scope(|threads| {
        let other = threads.spawn(|| read(second));
        let (mut leaves, mut problem, mut days) = read(first);
        match other.join() {
            Ok((more, wrong, more_days)) => {
                leaves.extend(more);
                problem = problem.or(wrong);
                merge_days(&mut days, more_days);
            }
            Err(_) => problem = problem.or_else(|| Some("reading the log failed".to_owned())),
        }
        (leaves, problem, days)
    })
}

/// The tiles of the tree's right edge at `size`, cut from the stored ones.
fn frontier(stored: &TileSet, size: u64) -> std::result::Result<TileSet, String> {
    let mut edge = Vec::new();
    for id in edge_tiles(size) {
        let want = tile_len(id, size) as usize;
        if want == 0 {
            continue;
        }
        match stored.get(id) {
            Some(tile) if tile.hashes.len() >= want => {
                edge.push(Tile { level: id.0, index: id.1, hashes: tile.hashes[..want].to_vec() });
            }
            _ => return Err(format!("tile {}/{} of the tree is missing or short", id.0, id.1)),
        }
    }
    Ok(TileSet::new(edge))
}

/// Keeps the first reason the log does not verify.
fn fail(failure: &mut Option<String>, reason: String) {
    if failure.is_none() {
        *failure = Some(reason);
    }
}

/// A rebuilt tile must be where the stored one begins (a stored edge tile
/// may have grown since; the root check covers the rest): the stretch's
/// own tiles of levels 0 and 1 in `mine`, upper ones in `stored`.
fn compare(mine: &TileSet, stored: &TileSet, tile: &Tile, failure: &mut Option<String>) {
    if failure.is_some() {
        return;
    }
    let held = mine.get((tile.level, tile.index)).or_else(|| stored.get((tile.level, tile.index)));
    let Some(held) = held else {
        if tile.level <= 1 {
            *failure = Some(format!("tile {}/{} of the tree is missing", tile.level, tile.index));
        }
        return;
    };
    if !held.hashes.starts_with(&tile.hashes) {
        let at = crate::ledger::first_difference(&held.hashes, &tile.hashes);
        *failure = Some(crate::ledger::tile_mismatch(tile.level, tile.index, at));
    }
}

fn within(at: Timestamp, from: Timestamp, to: Timestamp) -> bool {
    at > from && at <= to
}

impl App {
    /// Verifies the log as far as certification does (see the module) and
    /// digests the decisions of the period `from .. as_of`.
    pub(crate) async fn read_ledger(
        &self,
        row: &WorkspaceRow,
        from: Timestamp,
        as_of: Timestamp,
    ) -> Result<LedgerReading> {
        let signer = self.ledger.signer.clone();
        let verifier = signer.as_ref().map(|signer| signer.verifier());
        let origin = self.ledger.origin(&row.name);
        let level = self.ledger.segment_level.clamp(8, 24);
        let segment_size = 1_u64 << level;
        let total = self.store.event_count(row.id).await?;
        let checkpoints = self.store.checkpoints(row.id).await?;
        let mut reading = LedgerReading { entries: total, ..LedgerReading::default() };
        let mut failure = None;
        if verifier.is_none() {
            fail(&mut failure, "no signing key: checkpoints are not signed".into());
        }

        // Every checkpoint is signed by the key, names this log and no more
        // entries than it holds.
        if let Some(verifier) = &verifier {
            for checkpoint in &checkpoints {
                match Checkpoint::open(&checkpoint.note, verifier) {
                    Err(error) => fail(
                        &mut failure,
                        format!("checkpoint at size {}: {error} (key {verifier})", checkpoint.size),
                    ),
                    Ok(body)
                        if body.origin != origin
                            || body.size != checkpoint.size
                            || body.root != checkpoint.root =>
                    {
                        fail(
                            &mut failure,
                            format!(
                                "checkpoint at size {}: the signed body does not match its row",
                                checkpoint.size
                            ),
                        );
                    }
                    Ok(_) => {}
                }
            }
        }
        if let Some(latest) = checkpoints.last()
            && latest.size > total
        {
            fail(
                &mut failure,
                format!("the latest checkpoint commits to {} entries but the log holds {total}", latest.size),
            );
        }

        // The tree's upper part: each segment's node, the roots of the log,
        // of the latest checkpoint and of the as-of one, and the right edge
        // where each segment begins.
        let sealed = total / segment_size;
        let at_as_of = checkpoints.iter().filter(|c| c.created_at <= as_of).max_by_key(|c| c.size);
        let named: Vec<&CheckpointRow> = checkpoints.last().into_iter().chain(at_as_of).collect();
        let recorder = NodeRecorder::default();
        for segment in 0..sealed {
            let _ = recorder.node(level, segment);
            let _ = charter_ledger::root(&recorder, (segment + 1) * segment_size);
        }
        let _ = charter_ledger::root(&recorder, total);
        for checkpoint in named.iter().filter(|c| c.size <= total) {
            let _ = charter_ledger::root(&recorder, checkpoint.size);
        }
        let mut wanted: Vec<_> = recorder
            .wanted()
            .into_iter()
            .map(|(level, index)| charter_ledger::tiles::tile_of(level, index))
            .collect();
        for segment in 0..=sealed {
            wanted.extend(edge_tiles(segment * segment_size));
        }
        wanted.sort_unstable();
        wanted.dedup();
        let stored = TileSet::new(self.store.tiles(row.id, &wanted).await?);
        for checkpoint in named.iter().filter(|c| c.size <= total) {
            match charter_ledger::root(&stored, checkpoint.size) {
                Ok(root) if root == checkpoint.root => {}
                Ok(_) => fail(
                    &mut failure,
                    format!(
                        "checkpoint at size {}: the signed root differs from the root of the stored tree",
                        checkpoint.size
                    ),
                ),
                Err(error) => fail(&mut failure, format!("checkpoint at size {}: {error}", checkpoint.size)),
            }
        }

        // Segments from their seals, or read in full; then the rest.
        let now = self.clock.now();
        let reseal = charter_model::Span::from_secs(RESEAL_DAYS * 86_400);
        let mut seals: BTreeMap<u64, String> = match &verifier {
            Some(_) => self.store.seals(row.id).await?.into_iter().collect(),
            None => BTreeMap::new(),
        };
        let mut ranges: Vec<(u64, u64, Days)> = Vec::new();
        let mut to_seal: Vec<Seal> = Vec::new();
        for segment in 0..=sealed {
            let (start, end) = (segment * segment_size, ((segment + 1) * segment_size).min(total));
            if start >= end {
                break;
            }
            let node = stored.node(level, segment).ok().filter(|_| end - start == segment_size);
            let kept = match (&verifier, node, seals.remove(&segment)) {
                (Some(verifier), Some(node), Some(body)) => Seal::open(&body, verifier).filter(|seal| {
                    seal.origin == origin
                        && seal.segment == segment
                        && seal.entries == segment_size
                        && seal.node == node.to_base64()
                        && seal.sealed_at <= now
                        && now.minus(reseal).is_none_or(|oldest| seal.sealed_at >= oldest)
                }),
                _ => None,
            };
            if let Some(seal) = kept {
                reading.segments_sealed += 1;
                ranges.push((start, end, seal.days));
                continue;
            }
            let stretch = self.read_stretch(row, start, end, &stored, &checkpoints).await?;
            reading.segments_read += 1;
            if let Some(problem) = stretch.failure {
                fail(&mut failure, problem);
            }
            if let Some(node) = node {
                to_seal.push(Seal {
                    origin: origin.clone(),
                    segment,
                    entries: segment_size,
                    node: node.to_base64(),
                    sealed_at: now,
                    days: stretch.days.clone(),
                });
            }
            ranges.push((start, end, stretch.days));
        }
        if let (Some(signer), None) = (&signer, &failure) {
            for seal in &to_seal {
                self.store.put_seal(row.id, seal.segment, &seal.sign(signer)?).await?;
            }
        }

        // The period's decisions: whole days of a stretch from its digest,
        // a day the period's bounds cut through from the events themselves.
        for (start, end, days) in ranges {
            for (day, digest) in days {
                if digest.last_at <= from || digest.first_at > as_of {
                    continue;
                }
                if within(digest.first_at, from, as_of) && within(digest.last_at, from, as_of) {
                    reading.decisions.merge(&digest.decisions);
                } else {
                    let cut = self.scan_day(row, start, end, day, from, as_of).await?;
                    reading.decisions.merge(&cut);
                }
            }
        }
        reading.failure = failure;
        Ok(reading)
    }

    /// Reads entries `start .. end` in full: leaves against the stored
    /// tiles, checkpoints within against the rebuilt roots, columns against
    /// the signed bytes; digests their decisions per day.
    async fn read_stretch(
        &self,
        row: &WorkspaceRow,
        start: u64,
        end: u64,
        stored: &TileSet,
        checkpoints: &[CheckpointRow],
    ) -> Result<Stretch> {
        let mut failure: Option<String> = None;
        let mut appender = match frontier(stored, start)
            .and_then(|edge| TileAppender::new(start, &edge).map_err(|error| error.to_string()))
        {
            Ok(appender) => Some(appender),
            Err(problem) => {
                failure = Some(problem);
                None
            }
        };
        // The stored tiles of levels 0 and 1 this stretch fills.
        let mut mine = TileSet::default();
        for (level, width) in [(0_u32, 256_u64), (1, 65_536)] {
            let (first, last) = (start / width, (end - 1) / width);
            let limit = u32::try_from(last - first + 1).unwrap_or(u32::MAX);
            for tile in self.store.tiles_from(row.id, level, first, limit).await? {
                mine.insert(tile);
            }
        }
        let within_stretch: Vec<(u64, Hash)> = checkpoints
            .iter()
            .filter(|c| c.size > start && c.size <= end)
            .map(|c| (c.size, c.root))
            .collect();
        let mut next_checkpoint = within_stretch.into_iter().peekable();
        let mut days = Days::new();
        let mut first = start + 1;
        let mut fetched = Some(self.store.events(row.id, first, (first + PAGE - 1).min(end)).await?);
        while first <= end {
            let last = (first + PAGE - 1).min(end);
            let page = fetched.take().unwrap_or_default();
            let next = (last < end).then(|| {
                let (store, id, to) = (self.store.clone(), row.id, (last + PAGE).min(end));
                tokio::spawn(async move { store.events(id, last + 1, to).await })
            });
            let in_place = page.len() as u64 == last - first + 1
                && page.iter().zip(first..).all(|(event, seq)| event.seq == seq);
            if !in_place {
                let missing = page
                    .iter()
                    .zip(first..)
                    .find(|(event, seq)| event.seq != *seq)
                    .map_or(first + page.len() as u64, |(_, seq)| seq);
                fail(&mut failure, format!("entry {}: missing", missing - 1));
                appender = None;
            }
            let (leaves, problem, part) = tokio::task::spawn_blocking(move || read_page(&page))
                .await
                .map_err(|error| AppError::internal(format!("reading the log failed: {error}")))?;
            merge_days(&mut days, part);
            if let Some(problem) = problem {
                fail(&mut failure, problem);
            }
            if let Some(appender) = appender.as_mut() {
                for leaf in leaves {
                    // Each leaf against the tree's record of it, so that a
                    // changed event is named before any root it changes.
                    let index = appender.size();
                    let recorded =
                        mine.get((0, index / 256)).and_then(|t| t.hashes.get((index % 256) as usize));
                    if recorded != Some(&leaf) {
                        fail(
                            &mut failure,
                            match recorded {
                                Some(_) => {
                                    crate::ledger::tile_mismatch(0, index / 256, (index % 256) as usize)
                                }
                                None => format!("entry {index}: the tree records no leaf for it"),
                            },
                        );
                    }
                    appender.append(leaf);
                    for tile in appender.take_full() {
                        compare(&mine, stored, &tile, &mut failure);
                    }
                    while let Some((size, root)) =
                        next_checkpoint.next_if(|(size, _)| *size == appender.size())
                    {
                        if appender.root().ok() != Some(root) {
                            fail(
                                &mut failure,
                                format!(
                                    "checkpoint at size {size}: the signed root differs from the root of the stored entries"
                                ),
                            );
                        }
                    }
                }
            }
            fetched = match next {
                Some(next) => Some(
                    next.await
                        .map_err(|error| AppError::internal(format!("reading the log failed: {error}")))??,
                ),
                None => None,
            };
            first = last + 1;
        }
        if let Some(appender) = &appender {
            for tile in appender.edge() {
                compare(&mine, stored, tile, &mut failure);
            }
            let rebuilt = appender.root().ok();
            if rebuilt.is_none() || rebuilt != charter_ledger::root(stored, end).ok() {
                fail(
                    &mut failure,
                    format!(
                        "entries {start} to {}: the stored tree over them differs from the one their events build",
                        end - 1
                    ),
                );
            }
        }
        Ok(Stretch { days, failure })
    }

    /// The decisions of entries `start .. end` on `day` within the period.
    async fn scan_day(
        &self,
        row: &WorkspaceRow,
        start: u64,
        end: u64,
        day: i64,
        from: Timestamp,
        as_of: Timestamp,
    ) -> Result<DecisionScan> {
        let bound = |micros: i64| Timestamp::from_unix_micros(micros);
        let filter = charter_store::EventFilter {
            kind: Some(charter_policy::DECISION.into()),
            since: bound(day * DAY_MICROS),
            until: bound((day + 1) * DAY_MICROS),
            ..charter_store::EventFilter::default()
        };
        let mut scan = DecisionScan::default();
        let mut after = start;
        loop {
            let page = self.store.events_matching(row.id, &filter, after, 10_000).await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            let full = page.len() == 10_000;
            for event in page.iter().filter(|e| e.seq <= end && within(e.at, from, as_of)) {
                scan.add(event.seq, &event.body);
            }
            if !full || after >= end {
                break;
            }
        }
        Ok(scan)
    }
}
