//! The outbox of pages, and the count of spans refused at ingest. Neither
//! is registry state: a page is a delivery task of an alert or incident
//! (which are records, with their audit events, written in the same
//! transaction), a rejection count is telemetry about telemetry.

use charter_model::Timestamp;
use sqlx::AssertSqlSafe;

use crate::rows::{self, get, to_i64};
use crate::tx::{BATCH_ROWS, placeholders};
use crate::{Result, Store, WriteTx};

/// Name of the per-workspace counter that numbers pages.
const OUTBOX_COUNTER: &str = "outbox";

/// A page to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPage {
    /// The receiver's name in the settings.
    pub receiver: String,
    /// Where to POST.
    pub url: String,
    /// The same for every page about one alert or incident.
    pub dedup_key: String,
    /// `trigger`, `acknowledge` or `resolve`.
    pub action: String,
    /// The JSON to POST.
    pub body: String,
}

/// A page as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRow {
    /// Its workspace.
    pub workspace_id: i64,
    /// Its number in the workspace, in order of writing.
    pub id: u64,
    /// The page.
    pub page: NewPage,
    /// When it was written.
    pub created_at: Timestamp,
    /// Attempts so far.
    pub attempts: u64,
    /// Not before this time.
    pub next_at: Timestamp,
    /// When it was delivered.
    pub delivered_at: Option<Timestamp>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
}

const PAGE_COLUMNS: &str = "workspace_id, id, receiver, url, dedup_key, action, body, created_at, attempts, next_at, delivered_at, last_error";

impl PageRow {
    fn from_row(row: &sqlx::any::AnyRow) -> Result<Self> {
        let delivered: Option<i64> = get(row, "delivered_at")?;
        Ok(Self {
            workspace_id: get(row, "workspace_id")?,
            id: rows::get_u64(row, "id")?,
            page: NewPage {
                receiver: get(row, "receiver")?,
                url: get(row, "url")?,
                dedup_key: get(row, "dedup_key")?,
                action: get(row, "action")?,
                body: get(row, "body")?,
            },
            created_at: crate::timestamp(get(row, "created_at")?)?,
            attempts: rows::get_u64(row, "attempts")?,
            next_at: crate::timestamp(get(row, "next_at")?)?,
            delivered_at: delivered.map(crate::timestamp).transpose()?,
            last_error: get(row, "last_error")?,
        })
    }
}

impl WriteTx {
    /// Writes pages to the outbox, due at once.
    pub async fn enqueue_pages(&mut self, workspace: i64, pages: &[NewPage], at: Timestamp) -> Result<()> {
        if pages.is_empty() {
            return Ok(());
        }
        let last = self.advance_counter(workspace, OUTBOX_COUNTER, pages.len() as u64).await?;
        let first = last + 1 - pages.len() as u64;
        self.writes += 1;
        let sql = format!(
            "INSERT INTO outbox (workspace_id, id, receiver, url, dedup_key, action, body, created_at, attempts, next_at) VALUES {}",
            placeholders(self.backend, pages.len(), 10)
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for (offset, page) in pages.iter().enumerate() {
            query = query
                .bind(workspace)
                .bind(to_i64(first + offset as u64)?)
                .bind(page.receiver.as_str())
                .bind(page.url.as_str())
                .bind(page.dedup_key.as_str())
                .bind(page.action.as_str())
                .bind(page.body.as_str())
                .bind(at.unix_micros())
                .bind(0_i64)
                .bind(at.unix_micros());
        }
        query.execute(&mut *self.tx).await?;
        Ok(())
    }

    /// Records an attempt to deliver page `id`: delivered, or failed with
    /// `error` and to be tried again at `retry_at`.
    pub async fn record_attempt(
        &mut self,
        workspace: i64,
        id: u64,
        at: Timestamp,
        outcome: std::result::Result<(), (&str, Timestamp)>,
    ) -> Result<()> {
        self.writes += 1;
        let id = to_i64(id)?;
        let row = sqlx::query("UPDATE outbox SET attempts = attempts + 1 WHERE workspace_id = $1 AND id = $2 RETURNING attempts")
            .bind(workspace)
            .bind(id)
            .fetch_one(&mut *self.tx)
            .await?;
        let attempt: i64 = get(&row, "attempts")?;
        let text = match outcome {
            Ok(()) => "delivered".to_owned(),
            Err((error, _)) => format!("failed: {error}"),
        };
        sqlx::query("INSERT INTO outbox_attempts (workspace_id, outbox_id, attempt, at, outcome) VALUES ($1, $2, $3, $4, $5)")
            .bind(workspace)
            .bind(id)
            .bind(attempt)
            .bind(at.unix_micros())
            .bind(text.as_str())
            .execute(&mut *self.tx)
            .await?;
        match outcome {
            Ok(()) => {
                sqlx::query("UPDATE outbox SET delivered_at = $3, last_error = NULL WHERE workspace_id = $1 AND id = $2")
                    .bind(workspace)
                    .bind(id)
                    .bind(at.unix_micros())
                    .execute(&mut *self.tx)
                    .await?;
            }
            Err((error, retry_at)) => {
                sqlx::query(
                    "UPDATE outbox SET next_at = $3, last_error = $4 WHERE workspace_id = $1 AND id = $2",
                )
                .bind(workspace)
                .bind(id)
                .bind(retry_at.unix_micros())
                .bind(error)
                .execute(&mut *self.tx)
                .await?;
            }
        }
        Ok(())
    }

    /// Adds `spans` refused for `reason` on `day` (YYYY-MM-DD) to the count.
    pub async fn count_rejections(
        &mut self,
        workspace: i64,
        day: &str,
        counts: &[(String, u64)],
    ) -> Result<()> {
        if counts.is_empty() {
            return Ok(());
        }
        self.writes += 1;
        for (reason, spans) in counts {
            sqlx::query(
                "INSERT INTO span_rejections (workspace_id, day, reason, spans) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (workspace_id, day, reason) DO UPDATE SET spans = span_rejections.spans + excluded.spans",
            )
            .bind(workspace)
            .bind(day)
            .bind(reason.as_str())
            .bind(to_i64(*spans)?)
            .execute(&mut *self.tx)
            .await?;
        }
        Ok(())
    }
}

/// One agent's spend in one month.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SpendRow {
    /// The agent.
    pub agent_id: String,
    /// `YYYY-MM`.
    pub month: String,
    /// Priced cost, USD.
    pub usd: f64,
    /// Tokens in all.
    pub tokens: u64,
    /// Tokens without a price.
    pub unpriced_tokens: u64,
    /// Runs.
    pub runs: u64,
}

impl WriteTx {
    /// Adds `deltas` (one per agent and month) to the spend of their agent
    /// and month, or takes them off when `sign` is -1 (an amended run
    /// replaces its earlier figures).
    pub async fn add_spend(&mut self, workspace: i64, deltas: &[SpendRow], sign: i64) -> Result<()> {
        if deltas.is_empty() {
            return Ok(());
        }
        self.writes += 1;
        let count = |n: u64| to_i64(n).map(|n| n * sign);
        for chunk in deltas.chunks(BATCH_ROWS) {
            let sql = format!(
                "INSERT INTO spend (workspace_id, month, agent_id, usd, tokens, unpriced_tokens, runs) VALUES {} \
                 ON CONFLICT (workspace_id, month, agent_id) DO UPDATE SET usd = spend.usd + excluded.usd, \
                 tokens = spend.tokens + excluded.tokens, unpriced_tokens = spend.unpriced_tokens + excluded.unpriced_tokens, \
                 runs = spend.runs + excluded.runs",
                placeholders(self.backend, chunk.len(), 7)
            );
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for delta in chunk {
                query = query
                    .bind(workspace)
                    .bind(delta.month.as_str())
                    .bind(delta.agent_id.as_str())
                    .bind(delta.usd * sign as f64)
                    .bind(count(delta.tokens)?)
                    .bind(count(delta.unpriced_tokens)?)
                    .bind(count(delta.runs)?);
            }
            query.execute(&mut *self.tx).await?;
        }
        Ok(())
    }

    /// Spans refused in `month` (`YYYY-MM`) because no registered agent is
    /// theirs, as this transaction sees it.
    pub async fn unattributed_spans(&mut self, workspace: i64, month: &str) -> Result<u64> {
        let row = sqlx::query(UNATTRIBUTED_SQL)
            .bind(workspace)
            .bind(format!("{month}-01"))
            .bind(format!("{month}-99"))
            .fetch_one(&mut *self.tx)
            .await?;
        rows::get_u64(&row, "n")
    }

    /// Every agent's spend in `month`, as this transaction sees it.
    pub async fn spend(&mut self, workspace: i64, month: &str) -> Result<Vec<SpendRow>> {
        let rows = sqlx::query(SPEND_SQL).bind(workspace).bind(month).fetch_all(&mut *self.tx).await?;
        rows.iter().map(spend_row).collect()
    }

    /// The workspace's guard key (hexadecimal), `fresh` when it has none
    /// yet (then stored).
    pub async fn guard_key(&mut self, workspace: i64, fresh: &str) -> Result<String> {
        self.writes += 1;
        sqlx::query("INSERT INTO guard_keys (workspace_id, key_hex) VALUES ($1, $2) ON CONFLICT (workspace_id) DO NOTHING")
            .bind(workspace)
            .bind(fresh)
            .execute(&mut *self.tx)
            .await?;
        let row = sqlx::query("SELECT key_hex FROM guard_keys WHERE workspace_id = $1")
            .bind(workspace)
            .fetch_one(&mut *self.tx)
            .await?;
        get(&row, "key_hex")
    }
}

/// Spans of a month (`$2` its first day, `$3` past its last) refused for
/// want of an agent.
const UNATTRIBUTED_SQL: &str = "SELECT CAST(COALESCE(SUM(spans), 0) AS BIGINT) AS n FROM span_rejections \
     WHERE workspace_id = $1 AND day >= $2 AND day < $3 AND reason LIKE '%agent%'";

const SPEND_SQL: &str = "SELECT agent_id, month, usd, tokens, unpriced_tokens, runs FROM spend \
     WHERE workspace_id = $1 AND month = $2 ORDER BY agent_id";

fn spend_row(row: &sqlx::any::AnyRow) -> Result<SpendRow> {
    Ok(SpendRow {
        agent_id: get(row, "agent_id")?,
        month: get(row, "month")?,
        usd: get(row, "usd")?,
        tokens: rows::get_u64(row, "tokens")?,
        unpriced_tokens: rows::get_u64(row, "unpriced_tokens")?,
        runs: rows::get_u64(row, "runs")?,
    })
}

impl Store {
    /// The workspace's guard key (hexadecimal), if it has one.
    pub async fn guard_key(&self, workspace: i64) -> Result<Option<String>> {
        let row = sqlx::query("SELECT key_hex FROM guard_keys WHERE workspace_id = $1")
            .bind(workspace)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(|row| get(row, "key_hex")).transpose()
    }

    /// What spend in `month` (`YYYY-MM`) nobody can explain, as last
    /// committed: tokens no price covers, and spans refused for want of an
    /// agent.
    pub async fn unexplained_spend(&self, workspace: i64, month: &str) -> Result<(u64, u64)> {
        let row = sqlx::query(
            "SELECT CAST(COALESCE(SUM(unpriced_tokens), 0) AS BIGINT) AS n FROM spend \
             WHERE workspace_id = $1 AND month = $2",
        )
        .bind(workspace)
        .bind(month)
        .fetch_one(&self.read)
        .await?;
        let unpriced = rows::get_u64(&row, "n")?;
        let row = sqlx::query(UNATTRIBUTED_SQL)
            .bind(workspace)
            .bind(format!("{month}-01"))
            .bind(format!("{month}-99"))
            .fetch_one(&self.read)
            .await?;
        Ok((unpriced, rows::get_u64(&row, "n")?))
    }

    /// Every agent's spend in `month` (`YYYY-MM`).
    pub async fn spend(&self, workspace: i64, month: &str) -> Result<Vec<SpendRow>> {
        let rows = sqlx::query(SPEND_SQL).bind(workspace).bind(month).fetch_all(&self.read).await?;
        rows.iter().map(spend_row).collect()
    }

    /// The next page of every receiver that has one undelivered: pages go
    /// out in order, so a receiver's later pages wait for its first.
    pub async fn page_heads(&self) -> Result<Vec<PageRow>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {PAGE_COLUMNS} FROM outbox o WHERE delivered_at IS NULL AND id = \
             (SELECT MIN(p.id) FROM outbox p WHERE p.workspace_id = o.workspace_id AND p.receiver = o.receiver \
              AND p.delivered_at IS NULL) ORDER BY next_at, workspace_id, id"
        )))
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(PageRow::from_row).collect()
    }

    /// A workspace's pages, newest first, at most `limit`.
    pub async fn pages(&self, workspace: i64, limit: u32) -> Result<Vec<PageRow>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {PAGE_COLUMNS} FROM outbox WHERE workspace_id = $1 ORDER BY id DESC LIMIT $2"
        )))
        .bind(workspace)
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(PageRow::from_row).collect()
    }

    /// Pages not yet delivered, and failed attempts in all.
    pub async fn outbox_counts(&self, workspace: Option<i64>) -> Result<(u64, u64)> {
        let (filter, attempts_filter) =
            if workspace.is_some() { (" AND workspace_id = $1", " AND workspace_id = $1") } else { ("", "") };
        let pending = format!("SELECT COUNT(*) AS n FROM outbox WHERE delivered_at IS NULL{filter}");
        let failed = format!(
            "SELECT COUNT(*) AS n FROM outbox_attempts WHERE outcome <> 'delivered'{attempts_filter}"
        );
        let mut counts = [0; 2];
        for (slot, sql) in counts.iter_mut().zip([pending, failed]) {
            let mut query = sqlx::query(AssertSqlSafe(sql));
            if let Some(workspace) = workspace {
                query = query.bind(workspace);
            }
            *slot = rows::get_u64(&query.fetch_one(&self.read).await?, "n")?;
        }
        Ok((counts[0], counts[1]))
    }

    /// Spans refused since `day` (YYYY-MM-DD), by day and reason.
    pub async fn rejections(&self, workspace: i64, since_day: &str) -> Result<Vec<(String, String, u64)>> {
        let rows = sqlx::query(
            "SELECT day, reason, spans FROM span_rejections WHERE workspace_id = $1 AND day >= $2 ORDER BY day, reason",
        )
        .bind(workspace)
        .bind(since_day)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| Ok((get(row, "day")?, get(row, "reason")?, rows::get_u64(row, "spans")?)))
            .collect()
    }
}
