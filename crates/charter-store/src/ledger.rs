//! Ledger storage: the tiles of each workspace's Merkle tree and its signed
//! checkpoints. Appending audit events extends the tree in the same
//! transaction (see [`WriteTx::append_events`]), so an event without its leaf,
//! or a leaf without its event, cannot be committed.

use charter_ledger::{Hash, Tile, TileAppender, TileId, TileSet, edge_tiles, leaf_hash};
use charter_model::Timestamp;
use sqlx::AssertSqlSafe;
use sqlx::any::AnyRow;

use crate::rows::{get, get_u64, to_i64};
use crate::tx::push_placeholder;
use crate::{Backend, EventRow, Result, Store, StoreError, WriteTx, timestamp};

/// A signed checkpoint as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointRow {
    /// Tree size the checkpoint commits to.
    pub size: u64,
    /// Root of the tree of that size.
    pub root: Hash,
    /// The signed note.
    pub note: String,
    /// When it was signed.
    pub created_at: Timestamp,
}

impl CheckpointRow {
    fn from_row(row: &AnyRow) -> Result<Self> {
        let root: Vec<u8> = get(row, "root")?;
        Ok(Self {
            size: get_u64(row, "size")?,
            root: Hash::from_slice(&root)
                .ok_or_else(|| StoreError::Corrupt("a checkpoint root is not 32 bytes".into()))?,
            note: get(row, "note")?,
            created_at: timestamp(get(row, "created_at")?)?,
        })
    }
}

fn tiles_from_rows(rows: &[AnyRow]) -> Result<Vec<Tile>> {
    rows.iter()
        .map(|row| {
            let level = u32::try_from(get_u64(row, "level")?)
                .map_err(|_| StoreError::Corrupt("tile level out of range".into()))?;
            let index = get_u64(row, "idx")?;
            let bytes: Vec<u8> = get(row, "hashes")?;
            Tile::from_bytes(level, index, &bytes).map_err(|error| StoreError::Corrupt(error.to_string()))
        })
        .collect()
}

/// Point lookups of `ids`, one `UNION ALL` branch each, so every branch is a
/// primary-key probe (an `OR` of pairs lets SQLite fall back to scanning the
/// workspace's tiles).
fn tiles_query(backend: Backend, ids: &[TileId]) -> String {
    let mut sql = String::new();
    for (index, _) in ids.iter().enumerate() {
        if index > 0 {
            sql.push_str(" UNION ALL ");
        }
        sql.push_str("SELECT level, idx, hashes FROM ledger_tiles WHERE workspace_id = ");
        push_placeholder(&mut sql, backend, 1 + index * 3);
        sql.push_str(" AND level = ");
        push_placeholder(&mut sql, backend, 2 + index * 3);
        sql.push_str(" AND idx = ");
        push_placeholder(&mut sql, backend, 3 + index * 3);
    }
    sql
}

/// Reads tiles with an executor (a pool or a transaction).
async fn read_tiles<'e, E>(executor: E, backend: Backend, workspace: i64, ids: &[TileId]) -> Result<Vec<Tile>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = tiles_query(backend, ids);
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for (level, index) in ids {
        query = query.bind(workspace).bind(i64::from(*level)).bind(to_i64(*index)?);
    }
    let rows = executor.fetch_all(query).await?;
    tiles_from_rows(&rows)
}

impl WriteTx {
    /// Extends the workspace's tree with one leaf per event, in order. The
    /// first event must follow the tree's last leaf.
    pub(crate) async fn extend_ledger(&mut self, workspace: i64, events: &[EventRow]) -> Result<()> {
        let Some(first) = events.first() else { return Ok(()) };
        if !self.ledgers.contains_key(&workspace) {
            let size = first.seq - 1;
            let ids = edge_tiles(size);
            let tiles = read_tiles(&mut *self.tx, self.backend, workspace, &ids).await?;
            let appender = TileAppender::new(size, &TileSet::new(tiles)).map_err(|error| {
                StoreError::Corrupt(format!(
                    "the ledger does not match the audit trail at event {}: {error}",
                    first.seq
                ))
            })?;
            self.ledgers.insert(workspace, appender);
        }
        let Some(appender) = self.ledgers.get_mut(&workspace) else { return Ok(()) };
        for event in events {
            if event.seq != appender.size() + 1 {
                return Err(StoreError::Invariant(format!(
                    "audit event {} appended after leaf {}: the log would have a gap or a fork",
                    event.seq,
                    appender.size()
                )));
            }
            appender.append(leaf_hash(event.body.as_bytes()));
        }
        let full = appender.take_full();
        self.put_tiles(workspace, &full).await
    }

    /// Tiles of a workspace's tree, as this transaction sees them.
    pub async fn tiles(&mut self, workspace: i64, ids: &[TileId]) -> Result<Vec<Tile>> {
        read_tiles(&mut *self.tx, self.backend, workspace, ids).await
    }

    /// Writes tiles, replacing stored ones.
    async fn put_tiles(&mut self, workspace: i64, tiles: &[Tile]) -> Result<()> {
        self.writes += 1;
        for chunk in tiles.chunks(200) {
            let mut sql = String::from("INSERT INTO ledger_tiles (workspace_id, level, idx, hashes) VALUES ");
            for (row, _) in chunk.iter().enumerate() {
                if row > 0 {
                    sql.push(',');
                }
                sql.push('(');
                for column in 0..4 {
                    if column > 0 {
                        sql.push(',');
                    }
                    push_placeholder(&mut sql, self.backend, row * 4 + column + 1);
                }
                sql.push(')');
            }
            sql.push_str(" ON CONFLICT (workspace_id, level, idx) DO UPDATE SET hashes = excluded.hashes");
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for tile in chunk {
                query = query
                    .bind(workspace)
                    .bind(i64::from(tile.level))
                    .bind(to_i64(tile.index)?)
                    .bind(tile.to_bytes());
            }
            query.execute(&mut *self.tx).await?;
        }
        Ok(())
    }

    /// Writes the edge tiles of every tree this transaction extended.
    pub(crate) async fn flush_ledgers(&mut self) -> Result<()> {
        let ledgers: Vec<(i64, Vec<Tile>)> = self
            .ledgers
            .iter()
            .map(|(workspace, appender)| (*workspace, appender.edge().cloned().collect()))
            .collect();
        for (workspace, tiles) in ledgers {
            self.put_tiles(workspace, &tiles).await?;
        }
        Ok(())
    }

    /// The size and root of the workspace's tree, if this transaction
    /// appended to it.
    pub fn ledger_head(&self, workspace: i64) -> Result<Option<(u64, Hash)>> {
        match self.ledgers.get(&workspace) {
            None => Ok(None),
            Some(appender) => {
                let root = appender.root().map_err(|error| StoreError::Corrupt(error.to_string()))?;
                Ok(Some((appender.size(), root)))
            }
        }
    }

    /// The workspaces whose trees this transaction extended.
    pub fn extended_ledgers(&self) -> Vec<i64> {
        let mut workspaces: Vec<i64> = self.ledgers.keys().copied().collect();
        workspaces.sort_unstable();
        workspaces
    }

    /// Stores a signed checkpoint.
    pub async fn insert_checkpoint(
        &mut self,
        workspace: i64,
        size: u64,
        root: &Hash,
        note: &str,
        at: Timestamp,
    ) -> Result<()> {
        self.writes += 1;
        sqlx::query(
            "INSERT INTO ledger_checkpoints (workspace_id, size, root, note, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (workspace_id, size) DO NOTHING",
        )
        .bind(workspace)
        .bind(to_i64(size)?)
        .bind(root.0.to_vec())
        .bind(note)
        .bind(at.unix_micros())
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// The latest checkpoint, as this transaction sees it.
    pub async fn latest_checkpoint(&mut self, workspace: i64) -> Result<Option<CheckpointRow>> {
        let row = sqlx::query(
            "SELECT size, root, note, created_at FROM ledger_checkpoints WHERE workspace_id = $1 \
             ORDER BY size DESC LIMIT 1",
        )
        .bind(workspace)
        .fetch_optional(&mut *self.tx)
        .await?;
        row.as_ref().map(CheckpointRow::from_row).transpose()
    }
}

impl Store {
    /// Tiles of a workspace's tree; missing ones are left out.
    pub async fn tiles(&self, workspace: i64, ids: &[TileId]) -> Result<Vec<Tile>> {
        let mut tiles = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(200) {
            tiles.extend(read_tiles(&self.read, self.backend, workspace, chunk).await?);
        }
        Ok(tiles)
    }

    /// Every tile of a tile-level from `first` on, in order, up to `limit`.
    pub async fn tiles_from(&self, workspace: i64, level: u32, first: u64, limit: u32) -> Result<Vec<Tile>> {
        let rows = sqlx::query(
            "SELECT level, idx, hashes FROM ledger_tiles WHERE workspace_id = $1 AND level = $2 AND idx >= $3 \
             ORDER BY idx LIMIT $4",
        )
        .bind(workspace)
        .bind(i64::from(level))
        .bind(to_i64(first)?)
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        tiles_from_rows(&rows)
    }

    /// The latest checkpoint of a workspace.
    pub async fn latest_checkpoint(&self, workspace: i64) -> Result<Option<CheckpointRow>> {
        let row = sqlx::query(
            "SELECT size, root, note, created_at FROM ledger_checkpoints WHERE workspace_id = $1 \
             ORDER BY size DESC LIMIT 1",
        )
        .bind(workspace)
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(CheckpointRow::from_row).transpose()
    }

    /// The seals of a workspace's ledger segments (segment, body), by segment.
    pub async fn seals(&self, workspace: i64) -> Result<Vec<(u64, String)>> {
        let rows =
            sqlx::query("SELECT segment, body FROM ledger_seals WHERE workspace_id = $1 ORDER BY segment")
                .bind(workspace)
                .fetch_all(&self.read)
                .await?;
        rows.iter().map(|row| Ok((get_u64(row, "segment")?, get(row, "body")?))).collect()
    }

    /// Stores the seal of a ledger segment, replacing an older one. A seal
    /// is a cache (see the migration): it is written on its own, outside
    /// any transaction of the registry.
    pub async fn put_seal(&self, workspace: i64, segment: u64, body: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO ledger_seals (workspace_id, segment, body) VALUES ($1, $2, $3) \
             ON CONFLICT (workspace_id, segment) DO UPDATE SET body = excluded.body",
        )
        .bind(workspace)
        .bind(to_i64(segment)?)
        .bind(body)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Every checkpoint of a workspace, by size.
    pub async fn checkpoints(&self, workspace: i64) -> Result<Vec<CheckpointRow>> {
        let rows = sqlx::query(
            "SELECT size, root, note, created_at FROM ledger_checkpoints WHERE workspace_id = $1 ORDER BY size",
        )
        .bind(workspace)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(CheckpointRow::from_row).collect()
    }
}
