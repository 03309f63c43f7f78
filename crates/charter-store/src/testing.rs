//! Test support: a fresh, empty store on each backend.
//!
//! SQLite stores live in a temporary directory. PostgreSQL stores live in a
//! schema of their own, created in the database `CHARTER_TEST_DATABASE_URL`
//! names and dropped afterwards, so tests run in parallel without seeing
//! each other. When that variable is unset, PostgreSQL tests are skipped
//! with a notice — except under CI (`CI` set), where they fail instead.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::{AnyConnection, AssertSqlSafe, Connection, Executor};

use crate::Store;

/// Environment variable naming the PostgreSQL database tests use.
pub const DATABASE_URL_VAR: &str = "CHARTER_TEST_DATABASE_URL";

/// A store for one test, and what must be cleaned up after it.
#[derive(Debug)]
pub struct TestStore {
    /// The store.
    pub store: Store,
    /// The URL the store was opened with.
    pub url: String,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    Directory(tempfile::TempDir),
    Schema { base_url: String, schema: String },
}

impl TestStore {
    /// A store on SQLite in a new temporary directory.
    pub async fn sqlite() -> TestStore {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = crate::sqlite_url(&dir.path().join(crate::SQLITE_FILE));
        let store = Store::connect(&url).await.expect("open SQLite store");
        TestStore { store, url, cleanup: Cleanup::Directory(dir) }
    }

    /// A store on PostgreSQL in a new schema, or `None` when no test
    /// database is configured outside CI.
    pub async fn postgres() -> Option<TestStore> {
        let (url, base_url, schema) = postgres_schema().await?;
        let store = Store::connect(&url).await.expect("open PostgreSQL store");
        Some(TestStore { store, url, cleanup: Cleanup::Schema { base_url, schema } })
    }

    /// Closes the store and removes its files or schema.
    pub async fn finish(self) {
        self.store.close().await;
        match self.cleanup {
            Cleanup::Directory(dir) => drop(dir),
            Cleanup::Schema { base_url, schema } => drop_schema(&base_url, &schema).await,
        }
    }
}

/// The test database URL, or `None` (with a notice) when it is not set
/// outside CI.
///
/// # Panics
/// Under CI when the variable is unset: PostgreSQL tests must never skip there.
pub fn postgres_url() -> Option<String> {
    match std::env::var(DATABASE_URL_VAR) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => {
            panic!("{DATABASE_URL_VAR} must name a PostgreSQL database when CI is set")
        }
        _ => {
            eprintln!("note: {DATABASE_URL_VAR} is not set; skipping the PostgreSQL half of this test");
            None
        }
    }
}

/// Creates a fresh schema in the test database. Returns a URL whose
/// connections use it, the base URL, and the schema's name.
pub async fn postgres_schema() -> Option<(String, String, String)> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let base_url = postgres_url()?;
    sqlx::any::install_default_drivers();
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let schema = format!(
        "charter_test_{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        nanos % 1_000_000_000
    );
    let mut connection = AnyConnection::connect(&base_url).await.expect("connect to the test database");
    connection.execute(AssertSqlSafe(format!("CREATE SCHEMA {schema}"))).await.expect("create test schema");
    connection.close().await.ok();
    let separator = if base_url.contains('?') { '&' } else { '?' };
    let url = format!("{base_url}{separator}options=-c%20search_path%3D{schema}");
    Some((url, base_url, schema))
}

/// Drops a schema made by [`postgres_schema`].
pub async fn drop_schema(base_url: &str, schema: &str) {
    if let Ok(mut connection) = AnyConnection::connect(base_url).await {
        connection.execute(AssertSqlSafe(format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))).await.ok();
        connection.close().await.ok();
    }
}

/// Runs `test` against a fresh SQLite store, then against a fresh
/// PostgreSQL store when one is configured.
pub async fn each_backend<F, Fut>(test: F)
where
    F: Fn(Store) -> Fut,
    Fut: Future<Output = ()>,
{
    let sqlite = TestStore::sqlite().await;
    eprintln!("running on SQLite");
    test(sqlite.store.clone()).await;
    sqlite.finish().await;
    if let Some(postgres) = TestStore::postgres().await {
        eprintln!("running on PostgreSQL");
        test(postgres.store.clone()).await;
        postgres.finish().await;
    }
}

/// Runs SQL on the database behind `url` directly, the way someone with
/// access to the database could behind Charter's back.
pub async fn execute_sql(url: &str, sql: &str) -> u64 {
    sqlx::any::install_default_drivers();
    let mut connection = AnyConnection::connect(url).await.expect("connect to the test database");
    let result = connection.execute(AssertSqlSafe(sql.to_owned())).await.expect("run SQL");
    connection.close().await.ok();
    result.rows_affected()
}

/// Runs `test` against a fresh store on each backend, also giving it the
/// store's URL (for tests that reach the database directly).
pub async fn each_backend_with_url<F, Fut>(test: F)
where
    F: Fn(Store, String) -> Fut,
    Fut: Future<Output = ()>,
{
    let sqlite = TestStore::sqlite().await;
    eprintln!("running on SQLite");
    test(sqlite.store.clone(), sqlite.url.clone()).await;
    sqlite.finish().await;
    if let Some(postgres) = TestStore::postgres().await {
        eprintln!("running on PostgreSQL");
        test(postgres.store.clone(), postgres.url.clone()).await;
        postgres.finish().await;
    }
}
