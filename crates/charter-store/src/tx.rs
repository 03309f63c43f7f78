//! Write transactions.

use std::collections::HashMap;

use charter_ledger::TileAppender;
use charter_model::{RecordKind, Timestamp, WorkspaceName};
use sqlx::{Any, AssertSqlSafe, Transaction};

use crate::rows::{self, get, select_records, to_i64};
use crate::{
    Backend, EventRow, NewRecord, NewTokenRow, Result, StoreError, StoredRecord, TokenRow, WorkspaceRow,
};

/// Rows per multi-row statement: far below both backends' bind limits
/// (SQLite 32,766, PostgreSQL 65,535) at eight columns per row.
pub(crate) const BATCH_ROWS: usize = 500;

/// A write transaction. Dropping it without [`WriteTx::commit`] rolls it back.
///
/// INVARIANT: every method that changes a subject (workspace, record, token)
/// counts one mutation; [`WriteTx::append_events`] counts the events; commit
/// fails when there are fewer events than mutations, so no change can land
/// without its audit event.
#[derive(Debug)]
pub struct WriteTx {
    pub(crate) tx: Transaction<'static, Any>,
    pub(crate) backend: Backend,
    /// The trees this transaction extends, by workspace.
    pub(crate) ledgers: HashMap<i64, TileAppender>,
    mutations: usize,
    events: usize,
    /// Statements that changed anything, counters included.
    pub(crate) writes: usize,
    /// In a reading (see [`crate::Store::begin_reading`]): each counter's
    /// advance so far, kept here instead of written.
    reading: Option<HashMap<(i64, String), u64>>,
}

fn is_unique_violation(error: &sqlx::Error) -> bool {
    error.as_database_error().is_some_and(|e| e.is_unique_violation())
}

/// Writes the `n`th bind placeholder (from 1) of a long statement.
///
/// PostgreSQL needs `$N`. SQLite accepts `$N` too, but sqlx looks up the
/// name of every numbered parameter, which SQLite finds by a linear scan:
/// quadratic in the number of parameters. Plain `?` is positional and free.
pub(crate) fn push_placeholder(sql: &mut String, backend: Backend, n: usize) {
    match backend {
        Backend::Sqlite => sql.push('?'),
        Backend::Postgres => {
            sql.push('$');
            sql.push_str(&n.to_string());
        }
    }
}

/// `(…),(…)` for a multi-row insert, numbered from `$1`.
pub(crate) fn placeholders(backend: Backend, rows: usize, columns: usize) -> String {
    let mut sql = String::with_capacity(rows * columns * 6);
    for row in 0..rows {
        if row > 0 {
            sql.push(',');
        }
        sql.push('(');
        for column in 0..columns {
            if column > 0 {
                sql.push(',');
            }
            push_placeholder(&mut sql, backend, row * columns + column + 1);
        }
        sql.push(')');
    }
    sql
}

impl WriteTx {
    pub(crate) fn new(tx: Transaction<'static, Any>, backend: Backend) -> Self {
        Self { tx, backend, ledgers: HashMap::new(), mutations: 0, events: 0, writes: 0, reading: None }
    }

    pub(crate) fn reading(tx: Transaction<'static, Any>, backend: Backend) -> Self {
        Self { reading: Some(HashMap::new()), ..Self::new(tx, backend) }
    }

    /// The backend the transaction runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// How many statements of this transaction changed anything so far. A
    /// step that fails without moving this number left the transaction as it
    /// was, so other work in the same transaction may go on.
    pub fn writes(&self) -> usize {
        self.writes
    }

    /// Commits, after checking that every mutation has its audit event and
    /// writing the ledger tiles the events extended.
    pub async fn commit(mut self) -> Result<()> {
        if self.events < self.mutations {
            // Dropping the transaction rolls it back.
            return Err(StoreError::Invariant(format!(
                "transaction made {} changes but recorded {} audit events; rolled back",
                self.mutations, self.events
            )));
        }
        self.flush_ledgers().await?;
        self.tx.commit().await?;
        Ok(())
    }

    /// Creates a workspace.
    pub async fn create_workspace(&mut self, name: &WorkspaceName, at: Timestamp) -> Result<WorkspaceRow> {
        self.writes += 1;
        let result = sqlx::query("INSERT INTO workspaces (name, created_at) VALUES ($1, $2) RETURNING id")
            .bind(name.as_str())
            .bind(at.unix_micros())
            .fetch_one(&mut *self.tx)
            .await;
        let row = match result {
            Ok(row) => row,
            Err(error) if is_unique_violation(&error) => {
                return Err(StoreError::AlreadyExists { what: "workspace".into(), id: name.to_string() });
            }
            Err(error) => return Err(error.into()),
        };
        self.mutations += 1;
        Ok(WorkspaceRow { id: get(&row, "id")?, name: name.clone(), created_at: at })
    }

    /// The workspace called `name`, as this transaction sees it.
    pub async fn workspace(&mut self, name: &WorkspaceName) -> Result<Option<WorkspaceRow>> {
        let row = sqlx::query("SELECT id, name, created_at FROM workspaces WHERE name = $1")
            .bind(name.as_str())
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(WorkspaceRow::from_row).transpose()
    }

    /// One record, as this transaction sees it.
    pub async fn record(
        &mut self,
        workspace: i64,
        kind: RecordKind,
        id: &str,
    ) -> Result<Option<StoredRecord>> {
        let row = sqlx::query(select_records!("WHERE r.workspace_id = $1 AND r.kind = $2 AND r.id = $3"))
            .bind(workspace)
            .bind(kind.name())
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(StoredRecord::from_row).transpose()
    }

    /// The records of `kind` among `ids` that exist, by id.
    pub async fn records_by_ids(
        &mut self,
        workspace: i64,
        kind: RecordKind,
        ids: &[&str],
    ) -> Result<HashMap<String, StoredRecord>> {
        let mut found = HashMap::new();
        for chunk in ids.chunks(BATCH_ROWS) {
            let mut sql =
                String::from(select_records!("WHERE r.workspace_id = $1 AND r.kind = $2 AND r.id IN ("));
            if self.backend == Backend::Sqlite {
                // `?` after `$N` parameters would be numbered after the
                // largest of them, so name the first two alike.
                sql = sql.replace("$1", "?").replace("$2", "?");
            }
            for index in 0..chunk.len() {
                if index > 0 {
                    sql.push(',');
                }
                push_placeholder(&mut sql, self.backend, index + 3);
            }
            sql.push(')');
            let mut query = sqlx::query(AssertSqlSafe(sql)).bind(workspace).bind(kind.name());
            for id in chunk {
                query = query.bind(*id);
            }
            for row in query.fetch_all(&mut *self.tx).await? {
                let record = StoredRecord::from_row(&row)?;
                found.insert(record.id.clone(), record);
            }
        }
        Ok(found)
    }

    /// Every record of `kind` in the workspace, in id order.
    pub async fn all_records(&mut self, workspace: i64, kind: RecordKind) -> Result<Vec<StoredRecord>> {
        let rows = sqlx::query(select_records!("WHERE r.workspace_id = $1 AND r.kind = $2 ORDER BY r.id"))
            .bind(workspace)
            .bind(kind.name())
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(StoredRecord::from_row).collect()
    }

    /// The ids of every record of `kind`, in order.
    pub async fn record_ids(&mut self, workspace: i64, kind: RecordKind) -> Result<Vec<String>> {
        let rows = sqlx::query("SELECT id FROM records WHERE workspace_id = $1 AND kind = $2 ORDER BY id")
            .bind(workspace)
            .bind(kind.name())
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(|row| get::<String>(row, "id")).collect()
    }

    /// Whether the workspace holds any record of `kind`.
    pub async fn has_records(&mut self, workspace: i64, kind: RecordKind) -> Result<bool> {
        let row = sqlx::query("SELECT 1 AS found FROM records WHERE workspace_id = $1 AND kind = $2 LIMIT 1")
            .bind(workspace)
            .bind(kind.name())
            .fetch_optional(&mut *self.tx)
            .await?;
        Ok(row.is_some())
    }

    /// Inserts new records at version 1, each set by its audit event.
    pub async fn insert_records(
        &mut self,
        workspace: i64,
        records: &[NewRecord<'_>],
        at: Timestamp,
    ) -> Result<()> {
        const COLUMNS: usize = 7;
        let backend = self.backend;
        let statements = records.chunks(BATCH_ROWS).map(|chunk| {
            let sql = format!(
                "INSERT INTO records (workspace_id, kind, id, event_seq, version, created_at, updated_at) VALUES {}",
                placeholders(backend, chunk.len(), COLUMNS)
            );
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for record in chunk {
                query = query
                    .bind(workspace)
                    .bind(record.kind.name())
                    .bind(record.id)
                    .bind(to_i64(record.event_seq)?)
                    .bind(1_i64)
                    .bind(at.unix_micros())
                    .bind(at.unix_micros());
            }
            Ok((query, chunk.len()))
        });
        match self.execute_pipelined(statements).await {
            Ok(rows) => {
                self.mutations += rows;
                Ok(())
            }
            Err(StoreError::Database(error)) if is_unique_violation(&error) => {
                let (what, id) = match records {
                    [record] => (record.kind.name().to_owned(), record.id.to_owned()),
                    [first, ..] => (
                        first.kind.name().to_owned(),
                        format!("{}\" or a later record of the batch \"", first.id),
                    ),
                    [] => (String::new(), String::new()),
                };
                Err(StoreError::AlreadyExists { what, id })
            }
            Err(error) => Err(error),
        }
    }

    /// Runs multi-row statements one after the other, binding the next while
    /// the database executes the current one (the SQLite driver executes on a
    /// thread of its own, so binding and executing overlap). Returns the
    /// number of rows written.
    async fn execute_pipelined<'q, I>(&mut self, statements: I) -> Result<usize>
    where
        I: Iterator<Item = Result<(sqlx::query::Query<'q, Any, sqlx::any::AnyArguments>, usize)>>,
    {
        self.writes += 1;
        let mut statements = statements;
        let mut written = 0;
        let mut current = statements.next().transpose()?;
        while let Some((query, rows)) = current {
            let (executed, next) =
                tokio::join!(query.execute(&mut *self.tx), async { statements.next().transpose() });
            executed?;
            written += rows;
            current = next?;
        }
        Ok(written)
    }

    /// Sets a record to the value of audit event `event_seq` if its current
    /// version is `expected_version`; returns the new version.
    pub async fn update_record(
        &mut self,
        workspace: i64,
        kind: RecordKind,
        id: &str,
        expected_version: u64,
        event_seq: u64,
        at: Timestamp,
    ) -> Result<u64> {
        self.writes += 1;
        let result = sqlx::query(
            "UPDATE records SET event_seq = $1, version = version + 1, updated_at = $2 \
             WHERE workspace_id = $3 AND kind = $4 AND id = $5 AND version = $6",
        )
        .bind(to_i64(event_seq)?)
        .bind(at.unix_micros())
        .bind(workspace)
        .bind(kind.name())
        .bind(id)
        .bind(to_i64(expected_version)?)
        .execute(&mut *self.tx)
        .await?;
        if result.rows_affected() == 1 {
            self.mutations += 1;
            return Ok(expected_version + 1);
        }
        match self.record(workspace, kind, id).await? {
            None => Err(StoreError::NotFound { kind, id: id.to_owned() }),
            Some(current) => Err(StoreError::Conflict {
                kind,
                id: id.to_owned(),
                expected: expected_version,
                current: current.version,
            }),
        }
    }

    /// Advances the workspace counter `name` by `count` and returns its new
    /// value; the allocated numbers are `value - count + 1 ..= value`.
    ///
    /// On PostgreSQL the counter row stays locked until the transaction ends,
    /// so concurrent allocations from any number of processes serialise and
    /// never hand out a number twice.
    pub async fn advance_counter(&mut self, workspace: i64, name: &str, count: u64) -> Result<u64> {
        if self.reading.is_some() {
            // A reading numbers what it would write as the write would,
            // and writes nothing.
            let stored = self.counter(workspace, name).await?;
            let advanced =
                self.reading.get_or_insert_default().entry((workspace, name.to_owned())).or_default();
            *advanced += count;
            return Ok(stored + *advanced);
        }
        self.writes += 1;
        let row = sqlx::query(
            "INSERT INTO counters (workspace_id, name, value) VALUES ($1, $2, $3) \
             ON CONFLICT (workspace_id, name) DO UPDATE SET value = counters.value + excluded.value \
             RETURNING value",
        )
        .bind(workspace)
        .bind(name)
        .bind(to_i64(count)?)
        .fetch_one(&mut *self.tx)
        .await?;
        rows::get_u64(&row, "value")
    }

    /// Holds the workspace counter `name` until this transaction ends, so
    /// no other transaction advances it meanwhile. SQLite's write
    /// transactions hold the database's one write lock from their first
    /// statement already; on PostgreSQL this takes the counter row's lock.
    pub async fn hold_counter(&mut self, workspace: i64, name: &str) -> Result<()> {
        if self.backend == Backend::Postgres {
            self.advance_counter(workspace, name, 0).await?;
        }
        Ok(())
    }

    /// The current value of a workspace counter (0 if never advanced).
    pub async fn counter(&mut self, workspace: i64, name: &str) -> Result<u64> {
        let row = sqlx::query("SELECT value FROM counters WHERE workspace_id = $1 AND name = $2")
            .bind(workspace)
            .bind(name)
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map_or(Ok(0), |row| rows::get_u64(row, "value"))
    }

    /// Appends audit events, and their leaves to the workspace's tree.
    pub async fn append_events(&mut self, workspace: i64, events: &[EventRow]) -> Result<()> {
        self.writes += 1;
        self.extend_ledger(workspace, events).await?;
        const COLUMNS: usize = 8;
        let backend = self.backend;
        let statements = events.chunks(BATCH_ROWS).map(|chunk| {
            let sql = format!(
                "INSERT INTO audit_events (workspace_id, seq, at, actor, action, kind, subject, body) VALUES {}",
                placeholders(backend, chunk.len(), COLUMNS)
            );
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for event in chunk {
                query = query
                    .bind(workspace)
                    .bind(to_i64(event.seq)?)
                    .bind(event.at.unix_micros())
                    .bind(event.actor.as_str())
                    .bind(event.action.as_str())
                    .bind(event.kind.as_str())
                    .bind(event.subject.as_str())
                    .bind(event.body.as_str());
            }
            Ok((query, chunk.len()))
        });
        self.events += self.execute_pipelined(statements).await?;
        Ok(())
    }

    /// Records the decision-point entities (type, id) that the writes
    /// making `version` of the workspace's policy inputs may have changed.
    pub async fn insert_input_changes(
        &mut self,
        workspace: i64,
        version: u64,
        entities: &[(String, String)],
    ) -> Result<()> {
        if entities.is_empty() {
            return Ok(());
        }
        self.writes += 1;
        let version = to_i64(version)?;
        for chunk in entities.chunks(BATCH_ROWS) {
            let sql = format!(
                "INSERT INTO input_changes (workspace_id, version, entity_type, entity_id) VALUES {} \
                 ON CONFLICT DO NOTHING",
                placeholders(self.backend, chunk.len(), 4)
            );
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for (entity_type, id) in chunk {
                query = query.bind(workspace).bind(version).bind(entity_type.as_str()).bind(id.as_str());
            }
            query.execute(&mut *self.tx).await?;
        }
        Ok(())
    }

    /// The entities (version, type, id) that the versions of the policy
    /// inputs after `after` changed, as this transaction sees them.
    pub async fn input_changes(&mut self, workspace: i64, after: u64) -> Result<Vec<(u64, String, String)>> {
        let rows = sqlx::query(
            "SELECT version, entity_type, entity_id FROM input_changes \
             WHERE workspace_id = $1 AND version > $2 ORDER BY version",
        )
        .bind(workspace)
        .bind(to_i64(after)?)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter()
            .map(|row| Ok((rows::get_u64(row, "version")?, get(row, "entity_type")?, get(row, "entity_id")?)))
            .collect()
    }

    /// Stores a new API token (only the hash of its secret).
    pub async fn insert_token(&mut self, token: &NewTokenRow<'_>) -> Result<()> {
        self.writes += 1;
        sqlx::query(
            "INSERT INTO api_tokens (id, workspace_id, role, name, secret_hash, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(token.id)
        .bind(token.workspace)
        .bind(token.role.as_str())
        .bind(token.name)
        .bind(token.secret_hash)
        .bind(token.created_at.unix_micros())
        .bind(token.expires_at.unix_micros())
        .execute(&mut *self.tx)
        .await?;
        self.mutations += 1;
        Ok(())
    }

    /// A workspace's token by id.
    pub async fn token(&mut self, workspace: i64, id: &str) -> Result<Option<TokenRow>> {
        let row = sqlx::query(
            "SELECT id, workspace_id, role, name, created_at, expires_at, last_used_at, revoked_at \
             FROM api_tokens WHERE workspace_id = $1 AND id = $2",
        )
        .bind(workspace)
        .bind(id)
        .fetch_optional(&mut *self.tx)
        .await?;
        row.as_ref().map(TokenRow::from_row).transpose()
    }

    /// Revokes a workspace's token at `at`; whether it was live.
    pub async fn revoke_token(&mut self, workspace: i64, id: &str, at: Timestamp) -> Result<bool> {
        self.writes += 1;
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE workspace_id = $2 AND id = $3 AND revoked_at IS NULL",
        )
        .bind(at.unix_micros())
        .bind(workspace)
        .bind(id)
        .execute(&mut *self.tx)
        .await?;
        let revoked = done.rows_affected() == 1;
        if revoked {
            self.mutations += 1;
        }
        Ok(revoked)
    }

    /// Records a console session of a token.
    pub async fn insert_session(
        &mut self,
        id: &str,
        secret_hash: &str,
        token_id: &str,
        created_at: Timestamp,
        expires_at: Timestamp,
    ) -> Result<()> {
        self.writes += 1;
        sqlx::query(
            "INSERT INTO console_sessions (id, secret_hash, token_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(secret_hash)
        .bind(token_id)
        .bind(created_at.unix_micros())
        .bind(expires_at.unix_micros())
        .execute(&mut *self.tx)
        .await?;
        self.mutations += 1;
        Ok(())
    }

    /// Ends a live console session; whether it was live.
    pub async fn revoke_session(&mut self, id: &str, at: Timestamp) -> Result<bool> {
        self.writes += 1;
        let done =
            sqlx::query("UPDATE console_sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(at.unix_micros())
                .bind(id)
                .execute(&mut *self.tx)
                .await?;
        let revoked = done.rows_affected() == 1;
        if revoked {
            self.mutations += 1;
        }
        Ok(revoked)
    }

    /// Runs a statement that returns no rows (migrations).
    pub(crate) async fn execute_script(&mut self, sql: &'static str) -> Result<()> {
        sqlx::raw_sql(sql).execute(&mut *self.tx).await?;
        Ok(())
    }

    pub(crate) fn connection(&mut self) -> &mut sqlx::AnyConnection {
        &mut self.tx
    }
}

#[cfg(test)]
mod tests {
    use super::placeholders;
    use crate::Backend;

    #[test]
    fn placeholders_number_every_column() {
        assert_eq!(placeholders(Backend::Postgres, 2, 3), "($1,$2,$3),($4,$5,$6)");
        assert_eq!(placeholders(Backend::Sqlite, 2, 2), "(?,?),(?,?)");
    }
}
