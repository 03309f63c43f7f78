//! Charter's use cases. This crate is where the engines, the store and the
//! audit trail meet: it is the only one that opens transactions, reads the
//! clock and writes audit events. The CLI and the server are thin shells
//! around the functions of [`App`].
//!
//! Every mutating use case runs in one transaction that also appends one
//! audit event per changed subject (see [`charter_model::audit`]); either
//! both land or neither does.

#![deny(missing_docs)]

mod assessment;
mod audit;
pub mod bundle;
mod caller;
mod changes;
mod commit;
mod data;
mod decide;
mod error;
pub mod generate;
mod governance;
mod grants;
pub mod import;
pub mod ledger;
mod operations;
mod quality;
mod raida;
mod records;
mod references;
mod replay;
mod review;
pub mod runner;
mod status;
mod tokens;
mod webhook;

use std::fmt;
use std::sync::Arc;

use charter_model::{Timestamp, WorkspaceName};
use charter_store::{Store, WorkspaceRow};

pub use assessment::{Assessed, PortfolioRecords, PortfolioReport, ReportFormat};
pub use caller::{Caller, Identity};
pub use changes::{Proposed, WEBHOOK_ATTEMPTS};
pub use data::Promoted;
pub use decide::{LoadedEngine, MAX_DECISION_BATCH};
pub use error::{AppError, Result};
pub use governance::GovernanceCheck;
pub use grants::{MAX_GRANT_TTL, NewGrant};
pub use import::{ImportReport, ImportSource};
pub use quality::{QualityInput, RecordedRun, Source};
pub use raida::{NewRaida, RaidaFilter, RaidaPatch, Raised, RaisedOutcome};
pub use records::{MAX_PAGE, Page, RecordView, rule_problems as record_problems};
pub use references::RaidaChanges;
pub use replay::{Flip, FlipCount, ReplayRegistry, ReplayReport};
pub use review::{REVIEW_MONTHS, ReviewDue};
pub use runner::{RunOptions, RunResult};
pub use status::WorkspaceStatus;
pub use tokens::{DEFAULT_TOKEN_TTL, MAX_TOKEN_TTL, NewToken, SECRET_PREFIX, TOKEN_CACHE_TTL, TokenInfo};

/// Where the current time comes from.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time.
    fn now(&self) -> Timestamp;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_offset_date_time(time::OffsetDateTime::now_utc())
    }
}

/// A clock that always says the same time (for tests and reproducible runs).
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub Timestamp);

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        self.0
    }
}

/// The application: a store and a clock.
#[derive(Debug, Clone)]
pub struct App {
    store: Store,
    clock: Arc<dyn Clock>,
    ledger: ledger::LedgerSettings,
    committer: Option<Arc<commit::Committer>>,
    engines: Arc<decide::Engines>,
    cache: Arc<Cache>,
}

/// Lookups every request makes, kept in memory.
#[derive(Debug, Default)]
struct Cache {
    /// Workspaces by name. A workspace is never renamed or deleted, so an
    /// entry never goes stale.
    workspaces: std::sync::RwLock<std::collections::HashMap<WorkspaceName, WorkspaceRow>>,
    /// Authenticated tokens by secret hash, with when they were read.
    tokens: std::sync::RwLock<std::collections::HashMap<String, (Caller, std::time::Instant)>>,
    /// When this process last signed a checkpoint of each workspace.
    signed: std::sync::Mutex<std::collections::HashMap<i64, Timestamp>>,
}

impl App {
    /// An application over `store` using the system clock.
    pub fn new(store: Store) -> Self {
        Self::with_clock(store, Arc::new(SystemClock))
    }

    /// An application over `store` using `clock`.
    pub fn with_clock(store: Store, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            clock,
            ledger: ledger::LedgerSettings::default(),
            committer: None,
            engines: Arc::default(),
            cache: Arc::default(),
        }
    }

    /// The ledger settings.
    pub fn ledger_settings(&self) -> &ledger::LedgerSettings {
        &self.ledger
    }

    /// The application with these ledger settings (signing key, origin).
    pub fn with_ledger(mut self, settings: ledger::LedgerSettings) -> Self {
        self.ledger = settings;
        self
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The time now, by this application's clock: the one clock the CLI
    /// and the server use for their defaults ("today"), so a test's fixed
    /// clock holds for them too.
    pub fn now(&self) -> charter_model::Timestamp {
        self.clock.now()
    }

    /// Checks that the database answers.
    pub async fn ready(&self) -> Result<()> {
        self.store.ping().await.map_err(AppError::from)
    }

    /// The workspace `name`, if `caller` may see it. A token of another
    /// workspace gets the same answer as for a workspace that does not
    /// exist, so existence does not leak.
    pub(crate) async fn visible_workspace(
        &self,
        caller: &Caller,
        name: &WorkspaceName,
    ) -> Result<WorkspaceRow> {
        if !caller.may_see(name) {
            return Err(AppError::WorkspaceNotFound(name.clone()));
        }
        let cached =
            self.cache.workspaces.read().unwrap_or_else(|poisoned| poisoned.into_inner()).get(name).cloned();
        if let Some(row) = cached {
            return Ok(row);
        }
        let row =
            self.store.workspace(name).await?.ok_or_else(|| AppError::WorkspaceNotFound(name.clone()))?;
        let mut workspaces = self.cache.workspaces.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        workspaces.insert(name.clone(), row.clone());
        Ok(row)
    }
}
