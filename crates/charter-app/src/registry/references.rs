//! References to records nobody described. They are not errors — the seed
//! data itself has an agent depending on `zendesk`, which no system record
//! describes — but nothing may be silently dropped either: each missing
//! target gets one open RAIDA dependency item, raised once rather than
//! duplicated, and closed when the target is finally described.

use std::collections::{BTreeMap, HashMap, HashSet};

use charter_model::raida::{RaidaItem, raida_id};
use charter_model::{Key, RaidaKind, RaidaStatus, Record, RecordKind, Severity};
use charter_store::{StoredRecord, WorkspaceRow, WriteTx};

use crate::core::audit::RecordWrite;
use crate::{AppError, Result};

/// Prefix of the origin key of items raised for a missing reference.
const ORIGIN_PREFIX: &str = "missing-reference/";

/// Counter that numbers RAIDA items Charter raises.
const RAIDA_COUNTER: &str = "raida";

/// The records that refer to a missing target, by target.
pub(crate) type Missing = BTreeMap<(RecordKind, String), Vec<Referrer>>;

/// A record field that refers to a missing target.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Referrer {
    pub(crate) kind: RecordKind,
    pub(crate) id: String,
    pub(crate) field: String,
}

/// What reconciling changed in the RAIDA log.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RaidaChanges {
    /// Items raised.
    pub opened: Vec<String>,
    /// Closed items opened again because their target is missing again.
    pub reopened: Vec<String>,
    /// Items closed because their target now exists.
    pub closed: Vec<String>,
}

/// Collects the references of `record` whose target `exists` denies.
pub(crate) fn collect_missing(
    record: &Record,
    exists: impl Fn(RecordKind, &str) -> bool,
    missing: &mut Missing,
) {
    for reference in record.references() {
        if !exists(reference.kind, &reference.id) {
            missing.entry((reference.kind, reference.id)).or_default().push(Referrer {
                kind: record.kind(),
                id: record.id(),
                field: reference.field,
            });
        }
    }
}

fn origin_key(kind: RecordKind, id: &str) -> String {
    format!("{ORIGIN_PREFIX}{}/{id}", kind.name())
}

fn describe(kind: RecordKind, id: &str, referrers: &[Referrer]) -> (String, String, String) {
    let mut referrers = referrers.to_vec();
    referrers.sort();
    referrers.dedup();
    let list: Vec<String> = referrers.iter().map(|r| format!("{} {} ({})", r.kind, r.id, r.field)).collect();
    let title = format!("no {kind} record describes \"{id}\"");
    let description =
        format!("referenced by {}; describe the {kind} or remove the reference", list.join(", "));
    let source = referrers.first().map(|r| format!("{}/{}", r.kind, r.id)).unwrap_or_default();
    (title, description, source)
}

/// The RAIDA writes that raise an item per missing target (or reopen a
/// closed one) and close items whose target `exists` now; the caller writes
/// them with [`crate::core::audit::write_records`] in its transaction.
pub(crate) async fn reconcile(
    tx: &mut WriteTx,
    workspace: &WorkspaceRow,
    missing: &Missing,
    exists: impl Fn(RecordKind, &str) -> bool,
) -> Result<(Vec<RecordWrite>, RaidaChanges)> {
    let stored = tx.all_records(workspace.id, RecordKind::Raida).await?;
    let mut taken: HashSet<String> = stored.iter().map(|r| r.id.clone()).collect();
    let mut by_origin: HashMap<String, (StoredRecord, RaidaItem)> = HashMap::new();
    for record in stored {
        let item = decode_raida(&record)?;
        if let Some(origin) = item.origin_key.clone().filter(|key| key.starts_with(ORIGIN_PREFIX)) {
            by_origin.insert(origin, (record, item));
        }
    }

    let mut result = RaidaChanges::default();
    let mut writes = Vec::new();
    for ((kind, id), referrers) in missing {
        let (title, description, source) = describe(*kind, id, referrers);
        match by_origin.remove(&origin_key(*kind, id)) {
            // An open item stays as first raised; a closed one reopens.
            Some((record, mut item)) => {
                if item.status == RaidaStatus::Closed {
                    item.title = title;
                    item.description = Some(description);
                    item.source = Some(source);
                    item.status = RaidaStatus::Open;
                    writes.push(update(&record, item));
                    result.reopened.push(record.id);
                }
            }
            None => {
                let item = RaidaItem {
                    raida_id: allocate_id(tx, workspace, &mut taken).await?,
                    item_type: RaidaKind::Dependency,
                    title,
                    description: Some(description),
                    owner: None,
                    severity: Severity::Medium,
                    status: RaidaStatus::Open,
                    source: Some(source),
                    origin_key: Some(origin_key(*kind, id)),
                    due_date: None,
                };
                result.opened.push(item.raida_id.to_string());
                let record = Record::from(item);
                writes.push(RecordWrite::create(RecordKind::Raida, record.id(), record.to_canonical_json()));
            }
        }
    }

    // Items left over describe targets nobody refers to in this change:
    // close those whose target now exists.
    let mut leftover: Vec<(StoredRecord, RaidaItem)> = by_origin.into_values().collect();
    leftover.sort_by(|a, b| a.0.id.cmp(&b.0.id));
    for (record, mut item) in leftover {
        let Some(target) = item.origin_key.as_deref().and_then(|key| key.strip_prefix(ORIGIN_PREFIX)) else {
            continue;
        };
        let Some((kind, id)) = target.split_once('/') else { continue };
        let Some(kind) = RecordKind::from_name(kind) else { continue };
        if item.status != RaidaStatus::Closed && exists(kind, id) {
            item.status = RaidaStatus::Closed;
            writes.push(update(&record, item));
            result.closed.push(record.id);
        }
    }
    Ok((writes, result))
}

fn decode_raida(record: &StoredRecord) -> Result<RaidaItem> {
    match RecordKind::Raida.parse_json(&record.body) {
        Ok(Record::Raida(item)) => Ok(*item),
        Ok(_) | Err(_) => {
            Err(AppError::corrupt(format!("raida \"{}\" does not hold a RAIDA item", record.id)))
        }
    }
}

pub(crate) async fn allocate_id(
    tx: &mut WriteTx,
    workspace: &WorkspaceRow,
    taken: &mut HashSet<String>,
) -> Result<Key> {
    loop {
        let number = tx.advance_counter(workspace.id, RAIDA_COUNTER, 1).await?;
        let id = raida_id(number);
        if taken.insert(id.to_string()) {
            return Ok(id);
        }
    }
}

fn update(record: &StoredRecord, item: RaidaItem) -> RecordWrite {
    let body = Record::from(item).to_canonical_json();
    RecordWrite::update(RecordKind::Raida, record.id.clone(), body, record.version)
}
