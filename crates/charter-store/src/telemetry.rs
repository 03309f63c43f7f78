//! Agent telemetry: spans as received, beside the registry. A span is not a
//! registry record (it changes no state anyone decides on); the run it
//! closes into is, and that record's audit event carries the SHA-256 of its
//! spans. These statements therefore count as writes of the transaction but
//! not as mutations needing an audit event of their own.

use charter_model::Timestamp;
use sqlx::AssertSqlSafe;

use crate::rows::{self, get};
use crate::tx::{BATCH_ROWS, placeholders};
use crate::{EventRow, Result, Store, WriteTx};

/// A span as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpanRow {
    /// Trace id, 32 hex digits.
    pub trace_id: String,
    /// Span id, 16 hex digits.
    pub span_id: String,
    /// The agent; empty while no span of the trace has named it.
    pub agent_id: String,
    /// When Charter received it.
    pub received_at: Timestamp,
    /// The span as canonical JSON.
    pub body: String,
}

impl SpanRow {
    fn from_row(row: &sqlx::any::AnyRow) -> Result<Self> {
        Ok(Self {
            trace_id: get(row, "trace_id")?,
            span_id: get(row, "span_id")?,
            agent_id: get(row, "agent_id")?,
            received_at: crate::timestamp(get(row, "received_at")?)?,
            body: get(row, "body")?,
        })
    }
}

/// `$2,$3,…` for `count` values after the workspace (`$1`). Short lists
/// (a request's traces), so SQLite's lookup of numbered names is cheap.
fn push_after_workspace(sql: &mut String, count: usize) {
    for index in 0..count {
        if index > 0 {
            sql.push(',');
        }
        sql.push('$');
        sql.push_str(&(index + 2).to_string());
    }
}

const SPAN_COLUMNS: &str = "trace_id, span_id, agent_id, received_at, body";

impl WriteTx {
    /// Stores spans not stored yet (a span is its workspace, trace and span
    /// id: one sent again is left as it was); returns how many were new.
    pub async fn insert_spans(&mut self, workspace: i64, spans: &[SpanRow]) -> Result<u64> {
        if spans.is_empty() {
            return Ok(0);
        }
        self.writes += 1;
        let mut inserted = 0;
        for chunk in spans.chunks(BATCH_ROWS) {
            let sql = format!(
                "INSERT INTO spans (workspace_id, {SPAN_COLUMNS}) VALUES {} ON CONFLICT DO NOTHING",
                placeholders(self.backend, chunk.len(), 6)
            );
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for span in chunk {
                query = query
                    .bind(workspace)
                    .bind(span.trace_id.as_str())
                    .bind(span.span_id.as_str())
                    .bind(span.agent_id.as_str())
                    .bind(span.received_at.unix_micros())
                    .bind(span.body.as_str());
            }
            inserted += query.execute(&mut *self.tx).await?.rows_affected();
        }
        Ok(inserted)
    }

    /// Every stored span of the traces `traces`, by trace and span id.
    pub async fn trace_spans(&mut self, workspace: i64, traces: &[&str]) -> Result<Vec<SpanRow>> {
        let mut spans = Vec::new();
        for chunk in traces.chunks(BATCH_ROWS) {
            let mut sql =
                format!("SELECT {SPAN_COLUMNS} FROM spans WHERE workspace_id = $1 AND trace_id IN (");
            push_after_workspace(&mut sql, chunk.len());
            sql.push_str(") ORDER BY trace_id, span_id");
            let mut query = sqlx::query(AssertSqlSafe(sql)).bind(workspace);
            for trace in chunk {
                query = query.bind(*trace);
            }
            for row in query.fetch_all(&mut *self.tx).await? {
                spans.push(SpanRow::from_row(&row)?);
            }
        }
        Ok(spans)
    }

    /// Gives the spans of `trace` that wait for their agent to `agent`;
    /// returns how many.
    pub async fn adopt_spans(&mut self, workspace: i64, trace: &str, agent: &str) -> Result<u64> {
        self.writes += 1;
        let done = sqlx::query(
            "UPDATE spans SET agent_id = $3 WHERE workspace_id = $1 AND trace_id = $2 AND agent_id = ''",
        )
        .bind(workspace)
        .bind(trace)
        .bind(agent)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected())
    }
}

impl Store {
    /// The spans of one trace, by span id.
    pub async fn spans_of_trace(&self, workspace: i64, trace: &str) -> Result<Vec<SpanRow>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {SPAN_COLUMNS} FROM spans WHERE workspace_id = $1 AND trace_id = $2 ORDER BY span_id"
        )))
        .bind(workspace)
        .bind(trace)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(SpanRow::from_row).collect()
    }

    /// The agent each of `traces` (hex ids) has named, for those that named one.
    pub async fn trace_agents(
        &self,
        workspace: i64,
        traces: &[String],
    ) -> Result<std::collections::HashMap<String, String>> {
        let mut agents = std::collections::HashMap::new();
        for chunk in traces.chunks(BATCH_ROWS) {
            let mut sql = String::from(
                "SELECT trace_id, MIN(agent_id) AS agent_id FROM spans WHERE workspace_id = $1 AND agent_id <> '' AND trace_id IN (",
            );
            push_after_workspace(&mut sql, chunk.len());
            sql.push_str(") GROUP BY trace_id");
            let mut query = sqlx::query(AssertSqlSafe(sql)).bind(workspace);
            for trace in chunk {
                query = query.bind(trace.as_str());
            }
            for row in query.fetch_all(&self.read).await? {
                agents.insert(get(&row, "trace_id")?, get(&row, "agent_id")?);
            }
        }
        Ok(agents)
    }

    /// Spans received before `before` that still wait for a span of their
    /// trace to name their agent.
    pub async fn waiting_spans(&self, workspace: i64, before: Timestamp) -> Result<u64> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM spans WHERE workspace_id = $1 AND agent_id = '' AND received_at < $2",
        )
        .bind(workspace)
        .bind(before.unix_micros())
        .fetch_one(&self.read)
        .await?;
        rows::get_u64(&row, "n")
    }

    /// Spans stored in a workspace.
    pub async fn count_spans(&self, workspace: i64) -> Result<u64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM spans WHERE workspace_id = $1")
            .bind(workspace)
            .fetch_one(&self.read)
            .await?;
        rows::get_u64(&row, "n")
    }

    /// Audit events of `kind` with `since <= at < until` (and, when given,
    /// of one subject), in order of time.
    pub async fn events_between(
        &self,
        workspace: i64,
        kind: &str,
        subject: Option<&str>,
        since: Timestamp,
        until: Timestamp,
    ) -> Result<Vec<EventRow>> {
        let subject_clause = if subject.is_some() { " AND subject = $5" } else { "" };
        let sql = format!(
            "SELECT seq, at, actor, action, kind, subject, body FROM audit_events \
             WHERE workspace_id = $1 AND kind = $2 AND at >= $3 AND at < $4{subject_clause} ORDER BY at, seq"
        );
        let mut query = sqlx::query(AssertSqlSafe(sql))
            .bind(workspace)
            .bind(kind)
            .bind(since.unix_micros())
            .bind(until.unix_micros());
        if let Some(subject) = subject {
            query = query.bind(subject);
        }
        let rows = query.fetch_all(&self.read).await?;
        rows.iter().map(EventRow::from_row).collect()
    }
}
