//! Charter's use cases. This crate is where the engines, the store and the
//! audit trail meet: it is the only one that opens transactions, reads the
//! clock and writes audit events. The CLI and the server are thin shells
//! around the functions of [`App`].
//!
//! Every mutating use case runs in one transaction that also appends one
//! audit event per changed subject (see [`charter_model::audit`]); either
//! both land or neither does.

#![deny(missing_docs)]

mod cert;
mod core;
mod data;
mod decisions;
mod guard;
pub mod ledger;
mod operations;
mod oversight;
mod registry;
mod risk;

use std::sync::Arc;

use charter_model::{Timestamp, WorkspaceName};
use charter_store::{Store, WorkspaceRow};

pub use crate::core::caller::{Caller, Identity};
pub use crate::core::clock::{Clock, FixedClock, SystemClock};
pub use crate::core::error::{AppError, Result};
pub use crate::core::notify::{NoNotifier, Notifier};
pub use cert::{
    CERTIFICATION, Certification, CertifyRequest, NewWaiver, RecordedCertification, RollbackDrill,
};
pub use charter_ops::run::RunReport;
pub use data::changes::{Proposed, WEBHOOK_ATTEMPTS};
pub use data::datasets::Promoted;
pub use data::governance::GovernanceCheck;
pub use data::quality::{QualityInput, RecordedRun, Source};
pub use data::raida::{NewRaida, RaidaFilter, RaidaPatch, Raised, RaisedOutcome};
pub use decisions::decide::{LoadedEngine, MAX_DECISION_BATCH};
pub use decisions::grants::{MAX_GRANT_TTL, NewGrant};
pub use decisions::log::{DecisionLine, DecisionPage, DecisionSearch, ProvenDecision};
pub use decisions::replay::{Flip, FlipCount, ReplayRegistry, ReplayReport};
pub use decisions::review::{REVIEW_MONTHS, ReviewDue};
pub use guard::{
    AgentFilterings, FILTER, FilterHead, FilterLog, FilterRequest, FilterSession, Filtered, MAX_FILTER_BYTES,
    MAX_LOGGED_FINDINGS,
};
pub use ledger::bundle;
pub use operations::runner::{self, RunOptions, RunResult};
pub use oversight::alerts::{Delivered, EVALUATION_WINDOWS, Evaluated, PAGE_TIMEOUT, UNCLASSIFIED};
pub use oversight::budgets::{BUDGET_THRESHOLD, BudgetLine, BudgetReport, Receipt, Unexplained, ValueLine};
pub use oversight::health::{
    AgentHealth, DEFAULT_HEALTH_WINDOWS, HealthQuery, HealthReport, MAX_HEALTH_WINDOWS,
};
pub use oversight::incidents::{Escalated, NewIncident};
pub use oversight::ingest::{Ingested, MAX_INGEST_SPANS};
pub use oversight::kpis::{ClassKpis, Coverage, KpiReport};
pub use oversight::report::{AgentRunReport, Provenance, RunFilter};
pub use oversight::validation::RunOutput;
pub use oversight::watch::RUNS_PER_WINDOW;
pub use registry::import::{self, ImportReport, ImportSource};
pub use registry::records::{MAX_PAGE, Page, RecordView, rule_problems as record_problems};
pub use registry::references::RaidaChanges;
pub use registry::sessions::{NewSession, SESSION_TTL, SessionState, csrf_token};
pub use registry::status::{Activity, WorkspaceStatus};
pub use registry::tokens::{
    DEFAULT_TOKEN_TTL, MAX_TOKEN_TTL, NewToken, SECRET_PREFIX, TOKEN_CACHE_TTL, TokenInfo,
};
pub use risk::assessment::{Assessed, PortfolioRecords, PortfolioReport, ReportFormat, Scored};

/// The application: a store and a clock.
#[derive(Debug, Clone)]
pub struct App {
    store: Store,
    clock: Arc<dyn Clock>,
    ledger: ledger::LedgerSettings,
    committer: Option<Arc<crate::core::commit::Committer>>,
    engines: Arc<decisions::decide::Engines>,
    cache: Arc<Cache>,
    notifier: Arc<dyn Notifier>,
    oversight: Arc<oversight::alerts::Pending>,
    metrics: Arc<crate::core::metrics::Metrics>,
}

/// Lookups every request makes, kept in memory.
#[derive(Debug, Default)]
struct Cache {
    /// Workspaces by name. A workspace is never renamed or deleted, so an
    /// entry never goes stale.
    workspaces: std::sync::RwLock<std::collections::HashMap<WorkspaceName, WorkspaceRow>>,
    /// Authenticated tokens by secret hash, with when they were read.
    tokens: std::sync::RwLock<std::collections::HashMap<String, (Caller, std::time::Instant)>>,
    /// Each workspace's safety filter.
    guards: std::sync::RwLock<std::collections::HashMap<i64, Arc<guard::Guard>>>,
    /// When filterings of each workspace last woke the alert evaluator.
    filter_marks: std::sync::Mutex<std::collections::HashMap<i64, std::time::Instant>>,
    /// The detectors, compiled on first use.
    scanner: std::sync::OnceLock<charter_guard::Scanner>,
    /// What the telemetry ingest looks up, per workspace.
    directories: std::sync::RwLock<std::collections::HashMap<i64, Arc<oversight::Directory>>>,
    /// When this process last signed a checkpoint of each workspace.
    signed: std::sync::Mutex<std::collections::HashMap<i64, Timestamp>>,
    /// Each workspace's latest portfolio assessment, with the registry
    /// revision and date it was made for.
    assessments: std::sync::Mutex<std::collections::HashMap<i64, Arc<risk::assessment::Scored>>>,
    /// Each workspace's latest governance reading.
    readings: std::sync::Mutex<std::collections::HashMap<i64, data::governance::KeptReading>>,
    /// Tiles read for proofs, and how far each log is known to reach.
    tiles: std::sync::Mutex<ledger::TileCache>,
    /// Held while an assessment is made for the cache, so concurrent
    /// readers wait for one assessment instead of each making their own.
    assessing: tokio::sync::Mutex<()>,
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
            notifier: Arc::new(NoNotifier),
            oversight: Arc::default(),
            metrics: Arc::default(),
        }
    }

    /// The application sending its notifications through `notifier`.
    pub fn with_notifier(mut self, notifier: Arc<dyn Notifier>) -> Self {
        self.notifier = notifier;
        self
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
