//! Fan-out: one child actor per job, each on its own arbiter thread so blocking work
//! runs in parallel, joined with a per-child timeout and an optional cancel signal.
//!
//! A child that times out or is cancelled is abandoned: its arbiter is stopped, which
//! drops an async handler at its next await point; a blocking handler runs to its end
//! on its own thread and its answer is discarded.

use std::time::{Duration, Instant};

use actix::prelude::*;
use tokio::sync::watch;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChildError {
    #[error("child {child} timed out after {after:?}")]
    Timeout { child: String, after: Duration },
    #[error("child {child} crashed before answering")]
    Crashed { child: String },
    #[error("child {child} was cancelled")]
    Cancelled { child: String },
}

#[derive(Debug)]
pub struct ChildOutcome<R> {
    pub name: String,
    pub result: Result<R, ChildError>,
    pub elapsed: Duration,
}

/// A fan-out with its timeout and cancel signal.
#[derive(Clone, Debug)]
pub struct FanOut {
    per_child_timeout: Duration,
    cancel: Option<watch::Receiver<bool>>,
}

impl FanOut {
    pub fn new(per_child_timeout: Duration) -> Self {
        Self {
            per_child_timeout,
            cancel: None,
        }
    }

    /// Children still running when the signal turns `true` are cancelled.
    pub fn cancel_on(mut self, signal: watch::Receiver<bool>) -> Self {
        self.cancel = Some(signal);
        self
    }

    /// Starts `make_child(name)` for each job, sends it the job's message and joins all
    /// answers, in the order of `jobs`.
    pub async fn run<A, M>(
        &self,
        jobs: Vec<(String, M)>,
        make_child: impl Fn(&str) -> A,
    ) -> Vec<ChildOutcome<M::Result>>
    where
        A: Actor<Context = Context<A>> + Handler<M> + Send,
        M: Message + Send + 'static,
        M::Result: Send,
    {
        let children = jobs.into_iter().map(|(name, msg)| {
            let arbiter = Arbiter::new();
            let child = make_child(&name);
            let addr = A::start_in_arbiter(&arbiter.handle(), move |_| child);
            let timeout = self.per_child_timeout;
            let cancel = self.cancel.clone();
            async move {
                let started = Instant::now();
                let result = tokio::select! {
                    answer = tokio::time::timeout(timeout, addr.send(msg)) => match answer {
                        Ok(Ok(value)) => Ok(value),
                        Ok(Err(_closed)) => Err(ChildError::Crashed { child: name.clone() }),
                        Err(_elapsed) => Err(ChildError::Timeout { child: name.clone(), after: timeout }),
                    },
                    () = cancelled(cancel) => Err(ChildError::Cancelled { child: name.clone() }),
                };
                arbiter.stop();
                ChildOutcome {
                    name,
                    result,
                    elapsed: started.elapsed(),
                }
            }
        });
        futures::future::join_all(children).await
    }
}

async fn cancelled(signal: Option<watch::Receiver<bool>>) {
    let Some(mut rx) = signal else {
        return std::future::pending().await;
    };
    loop {
        if *rx.borrow_and_update() {
            return;
        }
        if rx.changed().await.is_err() {
            // The sender is gone: nobody can cancel any more.
            return std::future::pending().await;
        }
    }
}

/// [`FanOut::run`] without a cancel signal.
pub async fn fan_out<A, M>(
    jobs: Vec<(String, M)>,
    make_child: impl Fn(&str) -> A,
    per_child_timeout: Duration,
) -> Vec<ChildOutcome<M::Result>>
where
    A: Actor<Context = Context<A>> + Handler<M> + Send,
    M: Message + Send + 'static,
    M::Result: Send,
{
    FanOut::new(per_child_timeout).run(jobs, make_child).await
}
