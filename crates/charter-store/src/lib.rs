//! Charter's storage: one interface over two backends.
//!
//! * **SQLite** in a data directory is the embedded default: WAL journal,
//!   `synchronous=FULL`, foreign keys on. Writes go through a single
//!   connection with `BEGIN IMMEDIATE`; reads use a small pool of read-only
//!   connections.
//! * **PostgreSQL** serves several Charter processes sharing one database.
//!
//! Both run the same SQL through sqlx's runtime-selected `Any` driver
//! (statements use `$N` placeholders, which both backends accept, except
//! long multi-row statements, which use `?` on SQLite); what
//! differs — connection set-up, DDL, locking — lives in [`Backend`] and in
//! each backend's own `migrations/` folder, applied with the same semantics
//! by [`migrate`].
//!
//! The store knows rows, not rules: it never reads the clock (times come in
//! as arguments) and never decides what to write. `charter-app` opens every
//! write transaction ([`Store::begin`]) and appends the audit event of each
//! mutation; [`WriteTx::commit`] refuses a transaction that changed more
//! subjects than it recorded events for.

#![deny(missing_docs)]

mod ledger;
mod migrate;
mod outbox;
mod rows;
mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;
mod tx;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use charter_model::{RecordKind, Timestamp, WorkspaceName};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions as _, Executor};

pub use ledger::CheckpointRow;
pub use migrate::MIGRATIONS_SQLITE;
pub use outbox::{NewPage, PageRow, SpendRow};
use rows::select_records;
pub use rows::{EventRow, NewRecord, NewTokenRow, StoredRecord, TokenRow, WorkspaceRow};
pub use telemetry::SpanRow;
pub use tx::WriteTx;

/// Name of the SQLite database file inside a data directory.
pub const SQLITE_FILE: &str = "charter.db";

/// Errors from the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL names no supported backend.
    #[error("unsupported database URL \"{0}\": expected postgres://… or sqlite://…")]
    UnsupportedUrl(String),
    /// The database could not be opened.
    #[error("cannot open database {location}: {source}")]
    Connect {
        /// The database, with any password removed.
        location: String,
        /// Why.
        source: sqlx::Error,
    },
    /// The database holds a newer schema than this binary knows, or a
    /// migration that was applied differs from the one this binary carries.
    #[error("database schema: {0}")]
    Schema(String),
    /// An update named a version that is no longer current.
    #[error(
        "{kind} \"{id}\" was changed concurrently: expected version {expected}, current version is {current}"
    )]
    Conflict {
        /// Kind of the record.
        kind: RecordKind,
        /// Id of the record.
        id: String,
        /// The version the caller based its change on.
        expected: u64,
        /// The current version.
        current: u64,
    },
    /// The record does not exist.
    #[error("{kind} \"{id}\" not found")]
    NotFound {
        /// Kind of the record.
        kind: RecordKind,
        /// Id of the record.
        id: String,
    },
    /// A record or workspace with this id already exists.
    #[error("{what} \"{id}\" already exists")]
    AlreadyExists {
        /// What exists (`workspace`, `agent`, …).
        what: String,
        /// Its id.
        id: String,
    },
    /// A row holds a value Charter cannot have written.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// A transaction tried to commit changes without their audit events.
    #[error("internal error: {0}")]
    Invariant(String),
    /// Any other database error.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A database error on a direct read of the SQLite file.
    #[error("database error: {0}")]
    Direct(#[from] rusqlite::Error),
}

impl StoreError {
    /// Whether the error means the database cannot be reached right now
    /// (as opposed to a problem with the request or the data).
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            StoreError::Connect { .. }
                | StoreError::Database(
                    sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_)
                )
        )
    }
}

/// Which audit events to list; every condition given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Kind of the subject.
    pub kind: Option<String>,
    /// Id of the subject.
    pub subject: Option<String>,
    /// The actor.
    pub actor: Option<String>,
    /// At or after this time.
    pub since: Option<Timestamp>,
    /// Before this time.
    pub until: Option<Timestamp>,
}

/// Result type of the store.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Which database engine a [`Store`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite, embedded.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

impl Backend {
    /// The backend a database URL selects.
    pub fn of_url(url: &str) -> Result<Backend> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else {
            Err(StoreError::UnsupportedUrl(redact(url)))
        }
    }
}

/// A connected store.
#[derive(Debug, Clone)]
pub struct Store {
    backend: Backend,
    location: String,
    /// The SQLite database file, read directly by the blocking readers.
    sqlite_file: Option<std::path::PathBuf>,
    read: AnyPool,
    write: AnyPool,
}

/// Removes the password from a database URL, for messages and logs.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((credentials, host)) => {
            let user = credentials.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}{tail}")
        }
        None => url.to_owned(),
    }
}

/// The `sqlite://` URL of a database file, percent-encoding the path.
pub fn sqlite_url(path: &Path) -> String {
    let mut url = String::from("sqlite://");
    for byte in path.as_os_str().as_encoded_bytes() {
        if byte.is_ascii_alphanumeric() || b"/-_.~".contains(byte) {
            url.push(char::from(*byte));
        } else {
            url.push_str(&format!("%{byte:02X}"));
        }
    }
    url.push_str("?mode=rwc");
    url
}

/// The id and audit event of every record of a kind, in id order.
const SELECT_VALUES: &str = "SELECT r.id, e.body AS event FROM records r \
     JOIN audit_events e ON e.workspace_id = r.workspace_id AND e.seq = r.event_seq \
     WHERE r.workspace_id = $1 AND r.kind = $2 ORDER BY r.id";

/// The value of record `id` of `kind` in its audit event `event`.
fn value_in<'e>(kind: RecordKind, id: &str, event: &'e str) -> Result<&'e str> {
    charter_model::audit::value_in(event).ok_or_else(|| {
        StoreError::Corrupt(format!("{} \"{id}\": its audit event holds no value", kind.name()))
    })
}

/// Streams the id and canonical value of every record of `kind`, in id
/// order, to `visit`, while the database reads on.
async fn stream_values<'c, E: From<StoreError>>(
    executor: impl sqlx::Executor<'c, Database = sqlx::Any>,
    workspace: i64,
    kind: RecordKind,
    visit: &mut impl FnMut(&str, &str) -> std::result::Result<(), E>,
) -> std::result::Result<(), E> {
    use futures_util::TryStreamExt as _;
    let mut stream = sqlx::query(SELECT_VALUES).bind(workspace).bind(kind.name()).fetch(executor);
    while let Some(row) = stream.try_next().await.map_err(StoreError::from)? {
        let id: String = rows::get(&row, "id")?;
        let event: String = rows::get(&row, "event")?;
        visit(&id, value_in(kind, &id, &event)?)?;
    }
    Ok(())
}

/// Settings of the SQLite writer connection. The 32 MiB page cache (grown
/// only as used) keeps large imports from spilling pages mid-transaction.
const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; PRAGMA cache_size = -32768;";

/// Settings of the SQLite read connections.
const SQLITE_READ_PRAGMAS: &str = "PRAGMA busy_timeout = 10000; PRAGMA query_only = ON;";

/// A read slower than this is logged as a warning.
const READ_SLOW: Duration = Duration::from_secs(30);

impl Store {
    /// Opens the SQLite database of a data directory, creating the file if needed.
    ///
    /// The directory is made (or tightened to) mode 0700 and the database
    /// file is created 0600 before SQLite opens it; SQLite gives its WAL and
    /// shared-memory files the database file's mode.
    pub async fn open_data_dir(dir: &Path) -> Result<Store> {
        let file = dir.join(SQLITE_FILE);
        let io_error = |source: std::io::Error| StoreError::Connect {
            location: file.display().to_string(),
            source: sqlx::Error::Io(source),
        };
        create_private_dir(dir).map_err(io_error)?;
        create_private_file(&file).map_err(io_error)?;
        Store::connect(&sqlite_url(&file)).await
    }

    /// Connects to the database a URL names (`postgres://…` or `sqlite://…`)
    /// and brings its schema up to date.
    pub async fn connect(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of_url(url)?;
        let location = redact(url);
        let connect_error = |source| StoreError::Connect { location: location.clone(), source };
        let options = AnyConnectOptions::from_str(url).map_err(connect_error)?;
        let (read, write) = match backend {
            Backend::Sqlite => {
                // One writer: SQLite admits one write transaction at a time,
                // and queueing in the pool is cheaper than busy-waiting.
                let write = AnyPoolOptions::new()
                    .max_connections(1)
                    .min_connections(1)
                    .after_connect(|connection, _| {
                        Box::pin(async move {
                            connection.execute(SQLITE_PRAGMAS).await?;
                            Ok(())
                        })
                    })
                    .connect_with(options.clone())
                    .await
                    .map_err(connect_error)?;
                let read = AnyPoolOptions::new()
                    .max_connections(4)
                    .min_connections(1)
                    .after_connect(|connection, _| {
                        Box::pin(async move {
                            connection.execute(SQLITE_READ_PRAGMAS).await?;
                            Ok(())
                        })
                    })
                    // Reads of a whole portfolio stream for seconds by design:
                    // only a read far slower than that is worth a warning.
                    .connect_with(options.log_slow_statements(log::LevelFilter::Warn, READ_SLOW))
                    .await
                    .map_err(connect_error)?;
                (read, write)
            }
            Backend::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options)
                    .await
                    .map_err(connect_error)?;
                (pool.clone(), pool)
            }
        };
        // A file on disk (not `:memory:`) can be opened a second time.
        let sqlite_file = match backend {
            Backend::Sqlite => sqlx::sqlite::SqliteConnectOptions::from_str(url)
                .ok()
                .map(|options| options.get_filename().to_owned())
                .filter(|file| file.is_file()),
            Backend::Postgres => None,
        };
        let store = Store { backend, location, sqlite_file, read, write };
        migrate::run(&store).await?;
        Ok(store)
    }

    /// The backend this store runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The database, with any password removed.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }

    /// Begins a write transaction. On SQLite it holds the database's write
    /// lock from the start; on PostgreSQL row locks taken by the statements
    /// serialise concurrent writers.
    pub async fn begin(&self) -> Result<WriteTx> {
        let tx = match self.backend {
            Backend::Sqlite => self.write.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.write.begin().await?,
        };
        Ok(WriteTx::new(tx, self.backend))
    }

    /// A reading: a transaction that sees one consistent state of the
    /// database, for a use case that computes what its write would do
    /// without doing it. It never takes SQLite's write lock (its connection
    /// is `query_only`) and is `READ ONLY` on PostgreSQL, so any write
    /// through it fails; counters advance in the transaction's memory
    /// only, so what it numbers is numbered as the write would. Dropping
    /// it ends it.
    pub async fn begin_reading(&self) -> Result<WriteTx> {
        let tx = match self.backend {
            Backend::Sqlite => self.read.begin().await?,
            Backend::Postgres => {
                self.read.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY").await?
            }
        };
        Ok(WriteTx::reading(tx, self.backend))
    }

    /// The workspace called `name`.
    pub async fn workspace(&self, name: &WorkspaceName) -> Result<Option<WorkspaceRow>> {
        let row = sqlx::query("SELECT id, name, created_at FROM workspaces WHERE name = $1")
            .bind(name.as_str())
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(WorkspaceRow::from_row).transpose()
    }

    /// Every workspace, by name.
    pub async fn workspaces(&self) -> Result<Vec<WorkspaceRow>> {
        let rows = sqlx::query("SELECT id, name, created_at FROM workspaces ORDER BY name")
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(WorkspaceRow::from_row).collect()
    }

    /// One record.
    pub async fn record(&self, workspace: i64, kind: RecordKind, id: &str) -> Result<Option<StoredRecord>> {
        let row = sqlx::query(select_records!("WHERE r.workspace_id = $1 AND r.kind = $2 AND r.id = $3"))
            .bind(workspace)
            .bind(kind.name())
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(StoredRecord::from_row).transpose()
    }

    /// Every record of a kind, ordered by id, handed to `visit` as (id,
    /// canonical value) while the database reads on: one query, no page
    /// of rows held, so a large portfolio streams through in one pass.
    pub async fn visit_values<E: From<StoreError>>(
        &self,
        workspace: i64,
        kind: RecordKind,
        mut visit: impl FnMut(&str, &str) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        stream_values(&self.read, workspace, kind, &mut visit).await
    }

    /// [`Store::visit_values`] on the calling thread, which must not be an
    /// async worker (a blocking thread, say): for reads long enough that a
    /// hand-off to the driver's thread for every row would cost most of
    /// their time. On a SQLite file it reads the file directly on this
    /// thread, in one read transaction; elsewhere it runs
    /// [`Store::visit_values`] on `runtime`.
    pub fn visit_values_blocking<E: From<StoreError>>(
        &self,
        runtime: &tokio::runtime::Handle,
        workspace: i64,
        kind: RecordKind,
        mut visit: impl FnMut(&str, &str) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let Some(file) = &self.sqlite_file else {
            return runtime.block_on(self.visit_values(workspace, kind, visit));
        };
        use rusqlite::OpenFlags;
        let connection = rusqlite::Connection::open_with_flags(
            file,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(StoreError::from)?;
        connection.busy_timeout(Duration::from_secs(10)).map_err(StoreError::from)?;
        let mut statement = connection.prepare(SELECT_VALUES).map_err(StoreError::from)?;
        let mut rows = statement.query((workspace, kind.name())).map_err(StoreError::from)?;
        while let Some(row) = rows.next().map_err(StoreError::from)? {
            let text = |column: usize| -> Result<&str> {
                match row.get_ref(column)? {
                    rusqlite::types::ValueRef::Text(bytes) => std::str::from_utf8(bytes).ok(),
                    _ => None,
                }
                .ok_or_else(|| {
                    StoreError::Corrupt(format!("a {} row holds no text in column {column}", kind.name()))
                })
            };
            let (id, event) = (text(0)?, text(1)?);
            visit(id, value_in(kind, id, event)?)?;
        }
        Ok(())
    }

    /// The workspace counter `counter` and every record of `kinds` as of one
    /// moment: read in one read-only transaction that sees a single
    /// snapshot (SQLite's WAL read snapshot; PostgreSQL's repeatable read),
    /// so writes committed meanwhile neither tear the reading nor make it
    /// start over. Each record goes to `visit` as (kind, id, canonical
    /// value) while the database reads on.
    pub async fn snapshot_values<E: From<StoreError>>(
        &self,
        workspace: i64,
        counter: &str,
        kinds: &[RecordKind],
        mut visit: impl FnMut(RecordKind, &str, &str) -> std::result::Result<(), E>,
    ) -> std::result::Result<u64, E> {
        let mut tx = match self.backend {
            Backend::Sqlite => self.read.begin().await,
            Backend::Postgres => {
                self.read.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").await
            }
        }
        .map_err(StoreError::from)?;
        let row = sqlx::query("SELECT value FROM counters WHERE workspace_id = $1 AND name = $2")
            .bind(workspace)
            .bind(counter)
            .fetch_optional(&mut *tx)
            .await
            .map_err(StoreError::from)?;
        let value = row.as_ref().map_or(Ok(0), |row| rows::get_u64(row, "value"))?;
        for &kind in kinds {
            stream_values(&mut *tx, workspace, kind, &mut |id, body| visit(kind, id, body)).await?;
        }
        tx.commit().await.map_err(StoreError::from)?;
        Ok(value)
    }

    /// Up to `limit` records of a kind, ordered by id, starting after `after`.
    pub async fn records(
        &self,
        workspace: i64,
        kind: RecordKind,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<StoredRecord>> {
        let rows = sqlx::query(select_records!(
            "WHERE r.workspace_id = $1 AND r.kind = $2 AND r.id > $3 ORDER BY r.id LIMIT $4"
        ))
        .bind(workspace)
        .bind(kind.name())
        .bind(after.unwrap_or(""))
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(StoredRecord::from_row).collect()
    }

    /// Whether the workspace holds any record of `kind`.
    pub async fn has_records(&self, workspace: i64, kind: RecordKind) -> Result<bool> {
        let row = sqlx::query("SELECT 1 AS found FROM records WHERE workspace_id = $1 AND kind = $2 LIMIT 1")
            .bind(workspace)
            .bind(kind.name())
            .fetch_optional(&self.read)
            .await?;
        Ok(row.is_some())
    }

    /// The ids of every record of a kind, in order.
    pub async fn record_ids(&self, workspace: i64, kind: RecordKind) -> Result<Vec<String>> {
        let rows = sqlx::query("SELECT id FROM records WHERE workspace_id = $1 AND kind = $2 ORDER BY id")
            .bind(workspace)
            .bind(kind.name())
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(|row| rows::get::<String>(row, "id")).collect()
    }

    /// How many records of each kind the workspace holds.
    pub async fn record_counts(&self, workspace: i64) -> Result<Vec<(String, u64)>> {
        let rows = sqlx::query(
            "SELECT kind, COUNT(*) AS n FROM records WHERE workspace_id = $1 GROUP BY kind ORDER BY kind",
        )
        .bind(workspace)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(|row| Ok((rows::get::<String>(row, "kind")?, rows::get_u64(row, "n")?))).collect()
    }

    /// The latest audit event of `kind` (by time, then sequence), found
    /// through the kind's index without reading the log.
    pub async fn latest_event_of_kind(&self, workspace: i64, kind: &str) -> Result<Option<EventRow>> {
        let row = sqlx::query(
            "SELECT seq, at, actor, action, kind, subject, body FROM audit_events \
             WHERE workspace_id = $1 AND kind = $2 ORDER BY at DESC, seq DESC LIMIT 1",
        )
        .bind(workspace)
        .bind(kind)
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(EventRow::from_row).transpose()
    }

    /// The latest `limit` audit events of a workspace, newest first.
    pub async fn recent_events(&self, workspace: i64, limit: u32) -> Result<Vec<EventRow>> {
        let rows = sqlx::query(
            "SELECT seq, at, actor, action, kind, subject, body FROM audit_events \
             WHERE workspace_id = $1 ORDER BY seq DESC LIMIT $2",
        )
        .bind(workspace)
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(EventRow::from_row).collect()
    }

    /// Audit events with `first <= seq <= last`, in order.
    pub async fn events(&self, workspace: i64, first: u64, last: u64) -> Result<Vec<EventRow>> {
        let rows = sqlx::query(
            "SELECT seq, at, actor, action, kind, subject, body FROM audit_events \
             WHERE workspace_id = $1 AND seq >= $2 AND seq <= $3 ORDER BY seq",
        )
        .bind(workspace)
        .bind(rows::to_i64(first)?)
        .bind(rows::to_i64(last)?)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(EventRow::from_row).collect()
    }

    /// The canonical bytes of the audit events with `first <= seq <= last`,
    /// in order, joined by newlines (canonical JSON holds no raw newline),
    /// and how many there are. One row for the whole range: reading a long
    /// log this way is many times faster than a row per event.
    pub async fn event_bodies(&self, workspace: i64, first: u64, last: u64) -> Result<(String, u64)> {
        let sql = match self.backend {
            Backend::Sqlite => {
                "SELECT group_concat(body, char(10) ORDER BY seq) AS bodies, COUNT(*) AS n FROM audit_events \
                 WHERE workspace_id = $1 AND seq >= $2 AND seq <= $3"
            }
            Backend::Postgres => {
                "SELECT string_agg(body, chr(10) ORDER BY seq) AS bodies, COUNT(*) AS n FROM audit_events \
                 WHERE workspace_id = $1 AND seq >= $2 AND seq <= $3"
            }
        };
        let row = sqlx::query(sql)
            .bind(workspace)
            .bind(rows::to_i64(first)?)
            .bind(rows::to_i64(last)?)
            .fetch_one(&self.read)
            .await?;
        let bodies: Option<String> = rows::get(&row, "bodies")?;
        Ok((bodies.unwrap_or_default(), rows::get_u64(&row, "n")?))
    }

    /// Each record of a workspace with the canonical bytes of the event it
    /// points at, ordered by kind and id, after `after`, at most `limit`.
    pub async fn records_with_events(
        &self,
        workspace: i64,
        after: Option<(&str, &str)>,
        limit: u32,
    ) -> Result<Vec<(String, String, u64, u64, Option<String>)>> {
        let (kind, id) = after.unwrap_or(("", ""));
        let rows = sqlx::query(
            "SELECT r.kind, r.id, r.version, r.event_seq, e.body FROM records r \
             LEFT JOIN audit_events e ON e.workspace_id = r.workspace_id AND e.seq = r.event_seq \
             WHERE r.workspace_id = $1 AND (r.kind > $2 OR (r.kind = $3 AND r.id > $4)) \
             ORDER BY r.kind, r.id LIMIT $5",
        )
        .bind(workspace)
        .bind(kind)
        .bind(kind)
        .bind(id)
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    rows::get::<String>(row, "kind")?,
                    rows::get::<String>(row, "id")?,
                    rows::get_u64(row, "version")?,
                    rows::get_u64(row, "event_seq")?,
                    rows::get::<Option<String>>(row, "body")?,
                ))
            })
            .collect()
    }

    /// Audit events matching `filter` with `seq > after`, in order, at most `limit`.
    pub async fn events_matching(
        &self,
        workspace: i64,
        filter: &EventFilter,
        after: u64,
        limit: u32,
    ) -> Result<Vec<EventRow>> {
        self.events_in_order(workspace, filter, after, limit, false).await
    }

    /// Audit events matching `filter` with `seq < before`, newest first, at most `limit`.
    pub async fn events_matching_before(
        &self,
        workspace: i64,
        filter: &EventFilter,
        before: u64,
        limit: u32,
    ) -> Result<Vec<EventRow>> {
        self.events_in_order(workspace, filter, before, limit, true).await
    }

    async fn events_in_order(
        &self,
        workspace: i64,
        filter: &EventFilter,
        bound: u64,
        limit: u32,
        newest_first: bool,
    ) -> Result<Vec<EventRow>> {
        let mut sql = String::from(if newest_first {
            "SELECT seq, at, actor, action, kind, subject, body FROM audit_events WHERE workspace_id = $1 AND seq < $2"
        } else {
            "SELECT seq, at, actor, action, kind, subject, body FROM audit_events WHERE workspace_id = $1 AND seq > $2"
        });
        let mut n = 2;
        let mut condition = |sql: &mut String, column: &str, op: &str| {
            n += 1;
            sql.push_str(&format!(" AND {column} {op} ${n}"));
        };
        if filter.kind.is_some() {
            condition(&mut sql, "kind", "=");
        }
        if filter.subject.is_some() {
            condition(&mut sql, "subject", "=");
        }
        if filter.actor.is_some() {
            condition(&mut sql, "actor", "=");
        }
        if filter.since.is_some() {
            condition(&mut sql, "at", ">=");
        }
        if filter.until.is_some() {
            condition(&mut sql, "at", "<");
        }
        n += 1;
        let order = if newest_first { "DESC" } else { "" };
        sql.push_str(&format!(" ORDER BY seq {order} LIMIT ${n}"));
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(workspace).bind(rows::to_i64(bound)?);
        for value in [&filter.kind, &filter.subject, &filter.actor].into_iter().flatten() {
            query = query.bind(value.as_str());
        }
        for time in [filter.since, filter.until].into_iter().flatten() {
            query = query.bind(time.unix_micros());
        }
        let rows = query.bind(i64::from(limit)).fetch_all(&self.read).await?;
        rows.iter().map(EventRow::from_row).collect()
    }

    /// The current value of a workspace counter (0 if never advanced), as
    /// last committed.
    pub async fn counter(&self, workspace: i64, name: &str) -> Result<u64> {
        let row = sqlx::query("SELECT value FROM counters WHERE workspace_id = $1 AND name = $2")
            .bind(workspace)
            .bind(name)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map_or(Ok(0), |row| rows::get_u64(row, "value"))
    }

    /// The sum of the workspace counters `names` (a counter never advanced
    /// counts 0), as last committed.
    pub async fn counters_sum(&self, workspace: i64, names: &[String]) -> Result<u64> {
        if names.is_empty() {
            return Ok(0);
        }
        let mut sql = String::from(
            "SELECT CAST(COALESCE(SUM(value), 0) AS BIGINT) AS n FROM counters WHERE workspace_id = ",
        );
        tx::push_placeholder(&mut sql, self.backend, 1);
        sql.push_str(" AND name IN (");
        for n in 0..names.len() {
            if n > 0 {
                sql.push(',');
            }
            tx::push_placeholder(&mut sql, self.backend, n + 2);
        }
        sql.push(')');
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(workspace);
        for name in names {
            query = query.bind(name.as_str());
        }
        let row = query.fetch_one(&self.read).await?;
        rows::get_u64(&row, "n")
    }

    /// Every counter of a workspace, by name: the audit sequence and the
    /// numbers of RAIDA items, grants, runs, notifications and per-day ids.
    pub async fn counters(&self, workspace: i64) -> Result<Vec<(String, u64)>> {
        let rows = sqlx::query("SELECT name, value FROM counters WHERE workspace_id = $1 ORDER BY name")
            .bind(workspace)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(|row| Ok((rows::get::<String>(row, "name")?, rows::get_u64(row, "value")?))).collect()
    }

    /// The last sequence number of a workspace's audit events: the size of
    /// its log (events are numbered from 1 without gaps).
    pub async fn event_count(&self, workspace: i64) -> Result<u64> {
        // A bare MAX over the (workspace_id, seq) index is one index probe;
        // wrapped in COALESCE, SQLite would scan the workspace's whole range.
        let row = sqlx::query("SELECT MAX(seq) AS n FROM audit_events WHERE workspace_id = $1")
            .bind(workspace)
            .fetch_one(&self.read)
            .await?;
        match rows::get::<Option<i64>>(&row, "n")? {
            None => Ok(0),
            Some(n) => {
                u64::try_from(n).map_err(|_| StoreError::Corrupt(format!("sequence number {n} is negative")))
            }
        }
    }

    /// A workspace's tokens (never their secrets), newest first.
    pub async fn tokens(&self, workspace: i64) -> Result<Vec<TokenRow>> {
        let rows = sqlx::query(
            "SELECT id, workspace_id, role, name, created_at, expires_at, last_used_at, revoked_at \
             FROM api_tokens WHERE workspace_id = $1 ORDER BY created_at DESC, id",
        )
        .bind(workspace)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(TokenRow::from_row).collect()
    }

    /// Notes that a token was used at `at`. Bookkeeping, not a change of
    /// governed state: no audit event is written for it.
    pub async fn touch_token(&self, id: &str, at: Timestamp) -> Result<()> {
        sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
            .bind(at.unix_micros())
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// The unrevoked token whose secret hashes to `secret_hash`, with its
    /// workspace.
    pub async fn token_by_hash(&self, secret_hash: &str) -> Result<Option<(TokenRow, WorkspaceName)>> {
        let row = sqlx::query(
            "SELECT t.id, t.workspace_id, t.role, t.name, t.created_at, t.expires_at, t.last_used_at, \
             t.revoked_at, w.name AS workspace \
             FROM api_tokens t JOIN workspaces w ON w.id = t.workspace_id \
             WHERE t.secret_hash = $1 AND t.revoked_at IS NULL",
        )
        .bind(secret_hash)
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(|row| Ok((TokenRow::from_row(row)?, workspace_of(row)?))).transpose()
    }
}

impl Store {
    /// The session whose secret hashes to `secret_hash` with its token and
    /// the token's workspace, unless the session or the token was revoked:
    /// `(session id, session expiry, token, workspace)`.
    pub async fn session_by_hash(
        &self,
        secret_hash: &str,
    ) -> Result<Option<(String, Timestamp, TokenRow, WorkspaceName)>> {
        let row = sqlx::query(
            "SELECT s.id AS session_id, s.expires_at AS session_expires_at, \
             t.id, t.workspace_id, t.role, t.name, t.created_at, t.expires_at, t.last_used_at, \
             t.revoked_at, w.name AS workspace \
             FROM console_sessions s JOIN api_tokens t ON t.id = s.token_id \
             JOIN workspaces w ON w.id = t.workspace_id \
             WHERE s.secret_hash = $1 AND s.revoked_at IS NULL AND t.revoked_at IS NULL",
        )
        .bind(secret_hash)
        .fetch_optional(&self.read)
        .await?;
        row.as_ref()
            .map(|row| {
                let expires = timestamp(rows::get::<i64>(row, "session_expires_at")?)?;
                Ok((rows::get(row, "session_id")?, expires, TokenRow::from_row(row)?, workspace_of(row)?))
            })
            .transpose()
    }
}

/// The workspace name of a row that joined `workspaces` as `workspace`.
fn workspace_of(row: &sqlx::any::AnyRow) -> Result<WorkspaceName> {
    let name = rows::get::<String>(row, "workspace")?;
    WorkspaceName::new(name).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Converts a timestamp read from a row.
pub(crate) fn timestamp(micros: i64) -> Result<Timestamp> {
    Timestamp::from_unix_micros(micros)
        .ok_or_else(|| StoreError::Corrupt(format!("timestamp {micros} out of range")))
}

/// Creates `dir` and its missing parents, and makes `dir` readable by its
/// owner only (mode 0700), tightening a directory that already exists.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir)
}

/// Creates `file` if it is missing, readable and writable by its owner only
/// (mode 0600), and tightens the mode of one that exists.
pub fn create_private_file(file: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        options.open(file)?.set_permissions(std::fs::Permissions::from_mode(0o600))
    }
    #[cfg(not(unix))]
    options.open(file).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(redact("postgres://u:secret@h:5432/db?x=1"), "postgres://u:***@h:5432/db?x=1");
        assert_eq!(redact("postgres://h/db"), "postgres://h/db");
        assert_eq!(redact("sqlite:///tmp/a.db"), "sqlite:///tmp/a.db");
    }

    #[test]
    fn sqlite_urls_encode_paths() {
        assert_eq!(sqlite_url(Path::new("/tmp/my dir/a?.db")), "sqlite:///tmp/my%20dir/a%3F.db?mode=rwc");
    }
}
