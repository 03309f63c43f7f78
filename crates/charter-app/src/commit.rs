//! Group commit. A durable commit costs a disk flush (milliseconds), so a
//! server that committed every request on its own would do a few hundred
//! writes a second. With group commit, requests that arrive together run one
//! after another in a single transaction, which is flushed once; each is
//! answered only after that flush, so nothing acknowledged is lost on a
//! crash.
//!
//! A write is a function of the transaction that may be run twice: if one
//! write of a batch fails after changing the transaction, the whole batch is
//! rolled back and every write is run again in a transaction of its own, so a
//! failure only ever reaches the request that caused it.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use charter_store::{WorkspaceRow, WriteTx};
use tokio::sync::{mpsc, oneshot};

use crate::{App, AppError, Result};

/// The future of one write.
pub(crate) type WriteFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

type Erased = Box<dyn Any + Send>;
type Write = Arc<dyn for<'a> Fn(&'a App, &'a mut WriteTx) -> WriteFuture<'a, Erased> + Send + Sync>;

/// Most writes in one transaction.
const MAX_BATCH: usize = 512;

struct Pending {
    workspace: WorkspaceRow,
    write: Write,
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

/// Runs a batch in one transaction; on a failure that changed the
/// transaction, runs each write alone.
async fn commit_batch(app: &App, batch: Vec<Pending>) {
    let mut results = Vec::with_capacity(batch.len());
    let together = async {
        let mut tx = app.store.begin().await?;
        for pending in &batch {
            let before = tx.writes();
            let result = (pending.write)(app, &mut tx).await;
            if result.is_err() && tx.writes() != before {
                return Ok::<_, AppError>(None);
            }
            results.push(result);
        }
        let mut workspaces: Vec<WorkspaceRow> = batch.iter().map(|p| p.workspace.clone()).collect();
        workspaces.sort_by_key(|w| w.id);
        workspaces.dedup_by_key(|w| w.id);
        app.commit_all(tx, &workspaces).await?;
        Ok(Some(()))
    };
    match together.await {
        Ok(Some(())) => {
            for (pending, result) in batch.into_iter().zip(results) {
                pending.reply.send(result).ok();
            }
        }
        // A write failed halfway, or the batch could not commit: each write
        // runs alone, so only its own failure reaches each caller.
        Ok(None) | Err(_) => {
            for pending in batch {
                let result = alone(app, &pending).await;
                pending.reply.send(result).ok();
            }
        }
    }
}

async fn alone(app: &App, pending: &Pending) -> Result<Erased> {
    let mut tx = app.store.begin().await?;
    let value = (pending.write)(app, &mut tx).await?;
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
                let (reply, answer) = oneshot::channel();
                let pending = Pending { workspace: workspace.clone(), write: erased, reply };
                committer.sender.send(pending).await.map_err(|_| stopped())?;
                let value = answer.await.map_err(|_| stopped())??;
                value.downcast::<T>().map(|value| *value).map_err(|_| stopped())
            }
        }
    }

    /// This application, with writes going through a group-commit task
    /// (started on the current Tokio runtime).
    pub fn with_group_commit(mut self) -> Self {
        let plain = App { committer: None, ..self.clone() };
        self.committer = Some(Arc::new(Committer::start(plain)));
        self
    }
}

fn stopped() -> AppError {
    AppError::Store(charter_store::StoreError::Invariant("the committing task stopped".into()))
}
