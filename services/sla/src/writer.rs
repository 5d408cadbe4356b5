//! The writer thread: new timers (ScheduleTimer's group commits, BatchScheduleTimers'
//! batches) are written to Postgres by a thread of their own, with a single-threaded tokio
//! runtime and a connection pool of its own.
//!
//! Why a thread: a write is a chain of round trips (the COPY, its rows, the commit), and
//! every reply wakes the writing task. On the service's shared runtime that wake-up waits
//! in a worker's queue behind the tasks of hundreds of calls; here it wakes a thread that
//! was asleep, which the kernel runs at once. A group commit of ~110 timers took 2.8 ms on
//! the shared runtime and 1.3 ms here, and every call of a group waits for it: single
//! calls scheduled ~10% more timers per second on 2 cores (README, Benchmarks).
//!
//! The pool's connections are opened on this thread, so their sockets are polled by its
//! runtime too. The thread ends when the last [`Writer`] handle is dropped; a write in
//! flight then is cut off, which rolls its transaction back.

use std::{future::Future, sync::Arc};

use sqlx::PgPool;
use tokio::{runtime::Handle, sync::oneshot, task::JoinHandle};

/// A handle to the writer thread.
#[derive(Clone)]
pub struct Writer {
    handle: Handle,
    pool: PgPool,
    /// Dropped with the last handle, which ends the thread.
    _alive: Arc<oneshot::Sender<()>>,
}

impl Writer {
    /// Starts the thread, with a pool of `connections` connections configured as the
    /// service's own (opened on first use).
    pub fn start(cfg: &kit::config::Config, connections: u32) -> anyhow::Result<Self> {
        let mut cfg = cfg.clone();
        cfg.database_max_connections = connections.max(1);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (alive, ended) = oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("sla-writer".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => return drop(ready_tx.send(Err(anyhow::Error::from(e)))),
                };
                // In the runtime: the pool starts its maintenance tasks on it.
                let pool = rt.block_on(async { kit::db::pool(&cfg) });
                let ok = pool.is_ok();
                let _ = ready_tx.send(pool.map(|p| (rt.handle().clone(), p)));
                if ok {
                    // Until every handle is gone (the sender drops: an error, not a value).
                    let _ = rt.block_on(ended);
                }
            })?;
        let (handle, pool) = ready_rx.recv()??;
        Ok(Self {
            handle,
            pool,
            _alive: Arc::new(alive),
        })
    }

    /// Runs `write` on the thread with its pool. It runs to its end even if the returned
    /// handle is dropped (a caller whose deadline passed): a COPY cut off half way would
    /// leave its connection out of step.
    pub fn spawn<F>(&self, write: impl FnOnce(PgPool) -> F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(write(self.pool.clone()))
    }

    /// Runs `write` on the thread with its pool and waits for its result.
    pub async fn run<T, F>(&self, write: impl FnOnce(PgPool) -> F) -> Result<T, sqlx::Error>
    where
        F: Future<Output = Result<T, sqlx::Error>> + Send + 'static,
        T: Send + 'static,
    {
        self.spawn(write)
            .await
            .map_err(|e| sqlx::Error::Protocol(format!("the writer thread dropped a write: {e}")))?
    }
}
