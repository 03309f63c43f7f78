//! Group commit. A durable commit costs a disk flush (milliseconds), so a
//! server that committed every request on its own would do a few hundred
//! writes a second. With group commit, requests that arrive together run one
//! after another in a single transaction, which is flushed once; each is
//! answered only after that flush, so nothing acknowledged is lost on a
//! crash.
//!
//! Two kinds of work share the batches:
//!
//! * a *write* is a function of the transaction that may be run twice: if
//!   one write of a batch fails after changing the transaction, the whole
//!   batch is rolled back and every request runs again in a transaction of
//!   its own, so a failure only ever reaches the request that caused it;
//! * an *append* is a list of audit events and nothing else: consecutive
//!   appends of a batch get their sequence numbers in one step and are
//!   written with one multi-row statement, which is what makes thousands of
//!   durable appends a second possible.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use charter_model::Timestamp;
use charter_store::{WorkspaceRow, WriteTx};
use tokio::sync::{mpsc, oneshot};

use crate::core::audit::AuditChange;
use crate::{App, AppError, Result};

/// The future of one write.
pub(crate) type WriteFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

type Erased = Box<dyn Any + Send>;
type Write = Arc<dyn for<'a> Fn(&'a App, &'a mut WriteTx) -> WriteFuture<'a, Erased> + Send + Sync>;

/// Audit events to append, by one actor at one time.
#[derive(Debug, Clone)]
pub(crate) struct Append {
    pub(crate) actor: String,
    pub(crate) at: Timestamp,
    pub(crate) changes: Vec<AuditChange>,
    /// What the events were computed from (decisions): the append fails
    /// with [`AppError::Stale`] when the registry has changed since in a
    /// way that could change them, so no decision is logged after a change
    /// that would have changed it.
    pub(crate) made_on: Option<MadeOn>,
}

/// The decision point some decisions were made on, and the entities whose
/// state chose them (see [`charter_policy::Affected`]).
#[derive(Debug, Clone)]
pub(crate) struct MadeOn {
    pub(crate) engine: Arc<crate::decisions::decide::LoadedEngine>,
    pub(crate) read: Vec<charter_policy::EntityRef>,
}

enum Work {
    Write(Write),
    Append(Append),
}

/// Most requests in one transaction.
const MAX_BATCH: usize = 1024;

struct Pending {
    workspace: WorkspaceRow,
    work: Work,
    reply: oneshot::Sender<Result<Erased>>,
}

/// The handle through which writes reach the committing task.
#[derive(Debug, Clone)]
pub(crate) struct Committer {
    sender: mpsc::Sender<Pending>,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending").field("workspace", &self.workspace.name).finish()
    }
}

impl Committer {
    /// Starts the committing task for `app` (which must not itself group
    /// commit).
    pub(crate) fn start(app: App) -> Self {
        let (sender, receiver) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(run(app, receiver));
        Self { sender }
    }
}

async fn run(app: App, mut receiver: mpsc::Receiver<Pending>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while receiver.recv_many(&mut batch, MAX_BATCH).await > 0 {
        commit_batch(&app, std::mem::take(&mut batch)).await;
    }
}

/// Appends the accumulated appends of `waiting` (indexes into `batch`),
/// each workspace's in one statement; records each one's first sequence
/// number in `results`.
async fn flush_appends(
    app: &App,
    tx: &mut WriteTx,
    batch: &[Pending],
    waiting: &mut Vec<usize>,
    results: &mut [Option<Result<Erased>>],
) -> Result<()> {
    while let Some(&first) = waiting.first() {
        let workspace = &batch[first].workspace;
        let mut mine: Vec<usize> =
            waiting.iter().copied().filter(|&i| batch[i].workspace.id == workspace.id).collect();
        waiting.retain(|i| batch[*i].workspace.id != workspace.id);
        let made_on: Vec<Option<&MadeOn>> = mine
            .iter()
            .map(|&i| match &batch[i].work {
                Work::Append(append) => append.made_on.as_ref(),
                Work::Write(_) => None,
            })
            .collect();
        if made_on.iter().any(Option::is_some) {
            let (current, holds) = crate::core::audit::still_hold(tx, workspace, &made_on).await?;
            app.engines.saw(workspace.id, current);
            let mut holds = holds.into_iter();
            mine.retain(|&i| {
                let holds = holds.next().unwrap_or(false);
                if !holds {
                    results[i] = Some(Err(AppError::Stale { current }));
                }
                holds
            });
        }
        let total: u64 = mine
            .iter()
            .map(|&i| match &batch[i].work {
                Work::Append(append) => append.changes.len() as u64,
                Work::Write(_) => 0,
            })
            .sum();
        let mut seq = crate::core::audit::reserve(tx, workspace, total).await?;
        let mut rows = Vec::with_capacity(total as usize);
        for &i in &mine {
            if let Work::Append(append) = &batch[i].work {
                results[i] = Some(Ok(Box::new(seq)));
                rows.extend(crate::core::audit::encode(
                    workspace,
                    seq,
                    &append.actor,
                    append.at,
                    append.changes.clone(),
                ));
                seq += append.changes.len() as u64;
            }
        }
        tx.append_events(workspace.id, &rows).await?;
        app.metrics.appended(rows.len());
    }
    Ok(())
}

/// Runs a batch in one transaction; on a failure that changed the
/// transaction, runs each request alone.
async fn commit_batch(app: &App, batch: Vec<Pending>) {
    let mut results: Vec<Option<Result<Erased>>> = batch.iter().map(|_| None).collect();
    let together = async {
        let mut tx = app.store.begin().await?;
        let mut waiting = Vec::new();
        for (index, pending) in batch.iter().enumerate() {
            match &pending.work {
                Work::Append(_) => waiting.push(index),
                Work::Write(write) => {
                    // Appends that came first are written first.
                    flush_appends(app, &mut tx, &batch, &mut waiting, &mut results).await?;
                    let before = tx.writes();
                    let result = write(app, &mut tx).await;
                    if result.is_err() && tx.writes() != before {
                        return Ok::<_, AppError>(false);
                    }
                    results[index] = Some(result);
                }
            }
        }
        flush_appends(app, &mut tx, &batch, &mut waiting, &mut results).await?;
        let mut workspaces: Vec<WorkspaceRow> = batch.iter().map(|p| p.workspace.clone()).collect();
        workspaces.sort_by_key(|w| w.id);
        workspaces.dedup_by_key(|w| w.id);
        app.commit_all(tx, &workspaces).await?;
        Ok(true)
    };
    match together.await {
        Ok(true) => {
            for (pending, result) in batch.into_iter().zip(results) {
                pending.reply.send(result.unwrap_or_else(|| Err(stopped()))).ok();
            }
        }
        // A write failed halfway, or the batch could not commit: each request
        // runs alone, so only its own failure reaches each caller.
        Ok(false) | Err(_) => {
            for pending in batch {
                let result = alone(app, &pending).await;
                pending.reply.send(result).ok();
            }
        }
    }
}

async fn alone(app: &App, pending: &Pending) -> Result<Erased> {
    let mut tx = app.store.begin().await?;
    let value: Erased = match &pending.work {
        Work::Write(write) => write(app, &mut tx).await?,
        Work::Append(append) => {
            app.require_made_on(&mut tx, &pending.workspace, append.made_on.as_ref()).await?;
            Box::new(
                crate::core::audit::append(
                    &mut tx,
                    &pending.workspace,
                    &append.actor,
                    append.at,
                    append.changes.clone(),
                )
                .await?,
            )
        }
    };
    app.commit_all(tx, std::slice::from_ref(&pending.workspace)).await?;
    Ok(value)
}

impl App {
    /// Runs `write` in a transaction and commits it: through the group
    /// committer when this application has one, otherwise on its own.
    /// `write` may run more than once (see the module documentation) and
    /// must read what it checks from the transaction it is given.
    pub(crate) async fn write<T, F>(&self, workspace: &WorkspaceRow, write: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'a> Fn(&'a App, &'a mut WriteTx) -> WriteFuture<'a, T> + Send + Sync + 'static,
    {
        match &self.committer {
            None => {
                let mut tx = self.store.begin().await?;
                let value = write(self, &mut tx).await?;
                self.commit(tx, workspace).await?;
                Ok(value)
            }
            Some(committer) => {
                let erased: Write = Arc::new(move |app: &App, tx: &mut WriteTx| {
                    let future = write(app, tx);
                    Box::pin(async move { future.await.map(|value| Box::new(value) as Erased) })
                });
                let value = committer.submit(workspace, Work::Write(erased)).await?;
                value.downcast::<T>().map(|value| *value).map_err(|_| stopped())
            }
        }
    }

    /// Appends audit events and commits them; returns the first sequence
    /// number.
    pub(crate) async fn append(&self, workspace: &WorkspaceRow, append: Append) -> Result<u64> {
        match &self.committer {
            None => {
                let mut tx = self.store.begin().await?;
                self.require_made_on(&mut tx, workspace, append.made_on.as_ref()).await?;
                let first =
                    crate::core::audit::append(&mut tx, workspace, &append.actor, append.at, append.changes)
                        .await?;
                self.commit(tx, workspace).await?;
                Ok(first)
            }
            Some(committer) => {
                let value = committer.submit(workspace, Work::Append(append)).await?;
                value.downcast::<u64>().map(|value| *value).map_err(|_| stopped())
            }
        }
    }

    /// Fails with [`AppError::Stale`] unless decisions made on `made_on`
    /// (when given) may be logged in `tx` now; notes the version seen.
    async fn require_made_on(
        &self,
        tx: &mut WriteTx,
        workspace: &WorkspaceRow,
        made_on: Option<&MadeOn>,
    ) -> Result<()> {
        if made_on.is_some() {
            let current = crate::core::audit::require_still_holds(tx, workspace, made_on).await?;
            self.engines.saw(workspace.id, current);
        }
        Ok(())
    }

    /// This application, with writes going through a group-commit task
    /// (started on the current Tokio runtime).
    pub fn with_group_commit(mut self) -> Self {
        let plain = App { committer: None, ..self.clone() };
        self.committer = Some(Arc::new(Committer::start(plain)));
        self
    }
}

impl Committer {
    async fn submit(&self, workspace: &WorkspaceRow, work: Work) -> Result<Erased> {
        let (reply, answer) = oneshot::channel();
        let pending = Pending { workspace: workspace.clone(), work, reply };
        self.sender.send(pending).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

fn stopped() -> AppError {
    AppError::internal("the committing task stopped")
}
