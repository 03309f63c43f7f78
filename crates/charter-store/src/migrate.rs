//! Schema migrations: numbered SQL scripts per backend, embedded in the
//! binary, applied in order inside one transaction, each recorded with the
//! SHA-256 of its text.
//!
//! The same rules hold on both backends: a database whose recorded
//! migrations are unknown to this binary (written by a newer Charter) or
//! differ from the scripts this binary carries is refused rather than
//! touched. On PostgreSQL an advisory lock makes processes that start at the
//! same time migrate one after the other.

use sha2::{Digest, Sha256};

use crate::rows::{get, get_u64};
use crate::{Backend, Result, Store, StoreError};

/// One migration script.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Number, from 1, without gaps.
    pub version: u64,
    /// Short name.
    pub name: &'static str,
    /// The SQL.
    pub sql: &'static str,
}

/// The SQLite migrations.
pub const MIGRATIONS_SQLITE: &[Migration] = &[
    Migration { version: 1, name: "registry", sql: include_str!("../migrations/sqlite/0001_registry.sql") },
    Migration { version: 2, name: "ledger", sql: include_str!("../migrations/sqlite/0002_ledger.sql") },
    Migration {
        version: 3,
        name: "subject index",
        sql: include_str!("../migrations/sqlite/0003_subject_index.sql"),
    },
    Migration {
        version: 4,
        name: "token lifecycle",
        sql: include_str!("../migrations/sqlite/0004_token_lifecycle.sql"),
    },
    Migration {
        version: 5,
        name: "input changes",
        sql: include_str!("../migrations/sqlite/0005_input_changes.sql"),
    },
    Migration { version: 6, name: "telemetry", sql: include_str!("../migrations/sqlite/0006_telemetry.sql") },
    Migration { version: 7, name: "outbox", sql: include_str!("../migrations/sqlite/0007_outbox.sql") },
    Migration { version: 8, name: "spend", sql: include_str!("../migrations/sqlite/0008_spend.sql") },
    Migration {
        version: 9,
        name: "guard keys",
        sql: include_str!("../migrations/sqlite/0009_guard_keys.sql"),
    },
    Migration {
        version: 10,
        name: "ledger seals",
        sql: include_str!("../migrations/sqlite/0010_ledger_seals.sql"),
    },
    Migration {
        version: 11,
        name: "console sessions",
        sql: include_str!("../migrations/sqlite/0011_console_sessions.sql"),
    },
];

const MIGRATIONS_POSTGRES: &[Migration] = &[
    Migration { version: 1, name: "registry", sql: include_str!("../migrations/postgres/0001_registry.sql") },
    Migration { version: 2, name: "ledger", sql: include_str!("../migrations/postgres/0002_ledger.sql") },
    Migration {
        version: 3,
        name: "subject index",
        sql: include_str!("../migrations/postgres/0003_subject_index.sql"),
    },
    Migration {
        version: 4,
        name: "token lifecycle",
        sql: include_str!("../migrations/postgres/0004_token_lifecycle.sql"),
    },
    Migration {
        version: 5,
        name: "input changes",
        sql: include_str!("../migrations/postgres/0005_input_changes.sql"),
    },
    Migration {
        version: 6,
        name: "telemetry",
        sql: include_str!("../migrations/postgres/0006_telemetry.sql"),
    },
    Migration { version: 7, name: "outbox", sql: include_str!("../migrations/postgres/0007_outbox.sql") },
    Migration { version: 8, name: "spend", sql: include_str!("../migrations/postgres/0008_spend.sql") },
    Migration {
        version: 9,
        name: "guard keys",
        sql: include_str!("../migrations/postgres/0009_guard_keys.sql"),
    },
    Migration {
        version: 10,
        name: "ledger seals",
        sql: include_str!("../migrations/postgres/0010_ledger_seals.sql"),
    },
    Migration {
        version: 11,
        name: "console sessions",
        sql: include_str!("../migrations/postgres/0011_console_sessions.sql"),
    },
];

/// Key of the PostgreSQL advisory lock held while migrating ("charter\0").
const MIGRATION_LOCK: i64 = 0x6368_6172_7465_7200;

fn checksum(sql: &str) -> String {
    Sha256::digest(sql.as_bytes()).iter().map(|byte| format!("{byte:02x}")).collect()
}

pub(crate) async fn run(store: &Store) -> Result<()> {
    let migrations = match store.backend() {
        Backend::Sqlite => MIGRATIONS_SQLITE,
        Backend::Postgres => MIGRATIONS_POSTGRES,
    };
    let mut tx = store.begin().await?;
    if store.backend() == Backend::Postgres {
        sqlx::query("SELECT 1 AS locked FROM pg_advisory_xact_lock($1)")
            .bind(MIGRATION_LOCK)
            .fetch_one(tx.connection())
            .await?;
    }
    tx.execute_script(
        "CREATE TABLE IF NOT EXISTS charter_migrations (\
            version BIGINT PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL)",
    )
    .await?;
    let applied = sqlx::query("SELECT version, name, checksum FROM charter_migrations ORDER BY version")
        .fetch_all(tx.connection())
        .await?;
    let known_latest = migrations.last().map_or(0, |m| m.version);
    let mut applied_versions = Vec::with_capacity(applied.len());
    for row in &applied {
        let version = get_u64(row, "version")?;
        let recorded: String = get(row, "checksum")?;
        let Some(migration) = migrations.iter().find(|m| m.version == version) else {
            return Err(StoreError::Schema(format!(
                "the database has migration {version} but this charter binary knows only 1 to {known_latest}: \
                 upgrade charter"
            )));
        };
        if checksum(migration.sql) != recorded {
            return Err(StoreError::Schema(format!(
                "migration {version} ({}) applied to the database differs from the one this binary carries",
                migration.name
            )));
        }
        applied_versions.push(version);
    }
    for migration in migrations.iter().filter(|m| !applied_versions.contains(&m.version)) {
        tracing::info!(version = migration.version, name = migration.name, "applying migration");
        tx.execute_script(migration.sql).await?;
        sqlx::query("INSERT INTO charter_migrations (version, name, checksum) VALUES ($1, $2, $3)")
            .bind(crate::rows::to_i64(migration.version)?)
            .bind(migration.name)
            .bind(checksum(migration.sql))
            .execute(tx.connection())
            .await?;
    }
    tx.commit().await
}
