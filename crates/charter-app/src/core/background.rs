//! Work that must not slow down requests: a thread of its own, at a lower
//! scheduling priority (nice 10 on Linux), for the CPU-heavy parts of
//! background tasks such as judging every agent's health. On a busy machine
//! the threads serving requests get the cores first; the background work
//! takes what is left, however long it runs.

use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};

use crate::{AppError, Result};

/// The nice value of the background thread.
const NICE: i32 = 10;

type Job = Box<dyn FnOnce() + Send>;

/// The queue of the background thread, started on first use.
fn queue() -> &'static Mutex<mpsc::Sender<Job>> {
    static QUEUE: OnceLock<Mutex<mpsc::Sender<Job>>> = OnceLock::new();
    QUEUE.get_or_init(|| {
        let (sender, receiver) = mpsc::channel::<Job>();
        let spawned = std::thread::Builder::new().name("charter-background".into()).spawn(move || {
            lower_priority();
            for job in receiver {
                job();
            }
        });
        if let Err(error) = spawned {
            tracing::error!(%error, "cannot start the background thread");
        }
        Mutex::new(sender)
    })
}

/// Lowers the calling thread's priority (on Linux the nice value is a
/// thread's own); elsewhere, or when refused, it runs at normal priority.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        let thread = rustix::thread::gettid();
        if let Err(error) = rustix::process::setpriority_process(Some(thread), NICE) {
            tracing::debug!(%error, "the background thread keeps its priority");
        }
    }
}

/// Runs `job` on the background thread and waits for its answer without
/// blocking the async worker.
pub(crate) async fn run<R: Send + 'static>(job: impl FnOnce() -> R + Send + 'static) -> Result<R> {
    let (answer, receiver) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        let _ = answer.send(job());
    });
    queue()
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .send(job)
        .map_err(|_| AppError::internal("the background thread has stopped"))?;
    receiver.await.map_err(|_| AppError::internal("a background job stopped before it answered"))
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn jobs_run_in_order_on_a_thread_of_lower_priority() {
        let first = super::run(|| std::thread::current().name().map(str::to_owned)).await.unwrap();
        assert_eq!(first.as_deref(), Some("charter-background"));
        #[cfg(target_os = "linux")]
        {
            let nice = super::run(|| rustix::process::getpriority_process(Some(rustix::thread::gettid())))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(nice, super::NICE);
        }
        let sums: Vec<u64> = futures_sum().await;
        assert_eq!(sums, vec![0, 1, 3, 6]);
    }

    async fn futures_sum() -> Vec<u64> {
        let mut out = Vec::new();
        for n in 0..4_u64 {
            out.push(super::run(move || (0..=n).sum()).await.unwrap());
        }
        out
    }
}
