//! References to records nobody described. They are not errors — the seed
//! data itself has an agent depending on `zendesk`, which no system record
//! describes — but nothing may be silently dropped either: each missing
//! target gets one open RAIDA dependency item, raised once rather than
//! duplicated, and closed when the target is finally described.

use std::collections::{BTreeMap, HashMap, HashSet};

use charter_model::raida::{RaidaItem, raida_id};
use charter_model::{Key, RaidaKind, RaidaStatus, Record, RecordKind, Severity, Timestamp, audit};
use charter_store::{NewRecord, StoredRecord, WorkspaceRow, WriteTx};

use crate::audit::Change;
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

/// Raises or updates one RAIDA item per missing target and closes items
/// whose target `exists` now. Appends the changes' audit entries to `changes`.
pub(crate) async fn reconcile(
    tx: &mut WriteTx,
    workspace: &WorkspaceRow,
    missing: &Missing,
    exists: impl Fn(RecordKind, &str) -> bool,
    at: Timestamp,
    changes: &mut Vec<Change>,
) -> Result<RaidaChanges> {
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
    let mut new_items = Vec::new();
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
                    update(tx, workspace, &record, &item, at, changes).await?;
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
                new_items.push(Record::Raida(item));
            }
        }
    }
    let bodies: Vec<(String, String)> =
        new_items.iter().map(|record| (record.id(), record.to_canonical_json())).collect();
    let rows: Vec<NewRecord> =
        bodies.iter().map(|(id, body)| NewRecord { kind: RecordKind::Raida, id, body }).collect();
    tx.insert_records(workspace.id, &rows, at).await?;
    for (id, body) in bodies {
        changes.push(Change {
            action: audit::action::CREATE,
            kind: RecordKind::Raida.name().to_owned(),
            subject: id,
            version: Some(1),
            prev_version: None,
            value: Some(body),
        });
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
            update(tx, workspace, &record, &item, at, changes).await?;
            result.closed.push(record.id);
        }
    }
    Ok(result)
}

fn decode_raida(record: &StoredRecord) -> Result<RaidaItem> {
    match RecordKind::Raida.parse_json(&record.body) {
        Ok(Record::Raida(item)) => Ok(item),
        Ok(_) | Err(_) => Err(AppError::Store(charter_store::StoreError::Corrupt(format!(
            "raida \"{}\" does not hold a RAIDA item",
            record.id
        )))),
    }
}

async fn allocate_id(tx: &mut WriteTx, workspace: &WorkspaceRow, taken: &mut HashSet<String>) -> Result<Key> {
    loop {
        let number = tx.advance_counter(workspace.id, RAIDA_COUNTER, 1).await?;
        let id = raida_id(number);
        if taken.insert(id.to_string()) {
            return Ok(id);
        }
    }
}

async fn update(
    tx: &mut WriteTx,
    workspace: &WorkspaceRow,
    record: &StoredRecord,
    item: &RaidaItem,
    at: Timestamp,
    changes: &mut Vec<Change>,
) -> Result<()> {
    let body = Record::Raida(item.clone()).to_canonical_json();
    let version =
        tx.update_record(workspace.id, RecordKind::Raida, &record.id, record.version, &body, at).await?;
    changes.push(Change {
        action: audit::action::UPDATE,
        kind: RecordKind::Raida.name().to_owned(),
        subject: record.id.clone(),
        version: Some(version),
        prev_version: Some(record.version),
        value: Some(body),
    });
    Ok(())
}
