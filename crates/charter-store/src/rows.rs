//! Rows as the store returns them, and conversions from database values.

use charter_model::{RecordKind, Role, Timestamp, WorkspaceName};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Result, StoreError, timestamp};

/// A workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceRow {
    /// Internal id, used to scope every other row.
    pub id: i64,
    /// Name.
    pub name: WorkspaceName,
    /// When it was created.
    pub created_at: Timestamp,
}

/// A record as stored: its metadata, and its canonical JSON body read from
/// the audit event that last set it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    /// Kind.
    pub kind: RecordKind,
    /// Id within its kind.
    pub id: String,
    /// Canonical JSON: the `value` of audit event `event_seq`.
    pub body: String,
    /// The audit event that set the current value.
    pub event_seq: u64,
    /// Version, from 1, incremented by every update.
    pub version: u64,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it was last changed.
    pub updated_at: Timestamp,
}

/// A record to insert. Its value is that of the audit event `event_seq`,
/// appended in the same transaction.
#[derive(Debug, Clone, Copy)]
pub struct NewRecord<'a> {
    /// Kind.
    pub kind: RecordKind,
    /// Id within its kind.
    pub id: &'a str,
    /// The audit event that creates it.
    pub event_seq: u64,
}

/// An audit event as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    /// Position in the workspace's log, from 1.
    pub seq: u64,
    /// When it was committed.
    pub at: Timestamp,
    /// Who.
    pub actor: String,
    /// What happened.
    pub action: String,
    /// Kind of the subject.
    pub kind: String,
    /// Id of the subject.
    pub subject: String,
    /// The event's canonical encoding.
    pub body: String,
}

/// A token to store: only the hash of its secret.
#[derive(Debug, Clone, Copy)]
pub struct NewTokenRow<'a> {
    /// Public id.
    pub id: &'a str,
    /// Workspace the token is scoped to.
    pub workspace: i64,
    /// Role the token carries.
    pub role: Role,
    /// Who or what holds the token.
    pub name: &'a str,
    /// SHA-256 of the secret, hex.
    pub secret_hash: &'a str,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it stops working.
    pub expires_at: Timestamp,
}

/// An API token (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRow {
    /// Public id, shown in listings and the audit trail.
    pub id: String,
    /// Workspace the token is scoped to.
    pub workspace_id: i64,
    /// Role the token carries.
    pub role: Role,
    /// Who or what holds the token; recorded as the actor of its requests.
    pub name: String,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it stops working (`None` for tokens made before tokens expired).
    pub expires_at: Option<Timestamp>,
    /// When it was last used, to the minute.
    pub last_used_at: Option<Timestamp>,
    /// When it was revoked.
    pub revoked_at: Option<Timestamp>,
}

pub(crate) fn get<T>(row: &AnyRow, column: &str) -> Result<T>
where
    T: for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    Ok(row.try_get::<T, _>(column)?)
}

pub(crate) fn get_u64(row: &AnyRow, column: &str) -> Result<u64> {
    let value: i64 = get(row, column)?;
    u64::try_from(value).map_err(|_| StoreError::Corrupt(format!("{column} is negative: {value}")))
}

pub(crate) fn to_i64(value: u64) -> Result<i64> {
    i64::try_from(value)
        .map_err(|_| StoreError::Corrupt(format!("value {value} exceeds the database's range")))
}

impl WorkspaceRow {
    pub(crate) fn from_row(row: &AnyRow) -> Result<Self> {
        let name: String = get(row, "name")?;
        Ok(Self {
            id: get(row, "id")?,
            name: WorkspaceName::new(name).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            created_at: timestamp(get(row, "created_at")?)?,
        })
    }
}

/// Selects records with the audit event that holds their value; append the
/// `WHERE` clause.
macro_rules! select_records {
    ($($tail:literal),*) => {
        concat!(
            "SELECT r.kind, r.id, r.version, r.created_at, r.updated_at, r.event_seq, e.body AS event \
             FROM records r JOIN audit_events e ON e.workspace_id = r.workspace_id AND e.seq = r.event_seq ",
            $($tail),*
        )
    };
}
pub(crate) use select_records;

impl StoredRecord {
    pub(crate) fn from_row(row: &AnyRow) -> Result<Self> {
        let kind: String = get(row, "kind")?;
        let id: String = get(row, "id")?;
        let event: String = get(row, "event")?;
        let body = charter_model::audit::value_in(&event)
            .ok_or_else(|| StoreError::Corrupt(format!("{kind} \"{id}\": its audit event holds no value")))?
            .to_owned();
        Ok(Self {
            kind: RecordKind::from_name(&kind)
                .ok_or_else(|| StoreError::Corrupt(format!("unknown record kind \"{kind}\"")))?,
            id,
            body,
            event_seq: get_u64(row, "event_seq")?,
            version: get_u64(row, "version")?,
            created_at: timestamp(get(row, "created_at")?)?,
            updated_at: timestamp(get(row, "updated_at")?)?,
        })
    }
}

impl EventRow {
    pub(crate) fn from_row(row: &AnyRow) -> Result<Self> {
        Ok(Self {
            seq: get_u64(row, "seq")?,
            at: timestamp(get(row, "at")?)?,
            actor: get(row, "actor")?,
            action: get(row, "action")?,
            kind: get(row, "kind")?,
            subject: get(row, "subject")?,
            body: get(row, "body")?,
        })
    }
}

impl TokenRow {
    pub(crate) fn from_row(row: &AnyRow) -> Result<Self> {
        let role: String = get(row, "role")?;
        Ok(Self {
            id: get(row, "id")?,
            workspace_id: get(row, "workspace_id")?,
            role: role
                .parse()
                .map_err(|e: charter_model::enums::UnknownValue| StoreError::Corrupt(e.to_string()))?,
            name: get(row, "name")?,
            created_at: timestamp(get(row, "created_at")?)?,
            expires_at: get::<Option<i64>>(row, "expires_at")?.map(timestamp).transpose()?,
            last_used_at: get::<Option<i64>>(row, "last_used_at")?.map(timestamp).transpose()?,
            revoked_at: get::<Option<i64>>(row, "revoked_at")?.map(timestamp).transpose()?,
        })
    }
}
