//! Supervision for stage actors.
//!
//! actix's own `Supervisor` restarts an actor only when it *stops*; a panic inside a
//! handler drops the actor and every later send fails with `MailboxError::Closed`.
//! [`StageActor`] closes that gap: each message is handled inside `catch_unwind`; a
//! panic, or an error the stage marks fatal, drops the stage's state and rebuilds it
//! through its factory at the same address, after an exponential backoff. More than
//! `max_restarts` restarts within `window` escalate: the stage is marked down, an
//! [`Escalation`] goes to the pipeline, and every later message is answered with
//! [`StageError::Escalated`] carrying its correlation id.
//!
//! The message in hand when the stage failed is retried once on the fresh state when
//! the policy allows it (idempotent stages), otherwise it is answered with
//! [`StageError::Crashed`]. It is never silently dropped.
//!
//! Each stage runs on its own arbiter thread, so blocking stage logic (a model, a
//! database) never stalls another stage.

use std::collections::VecDeque;
use std::marker::PhantomData;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::dev::SendError;
use actix::prelude::*;
use tracing::{error, warn};

use crate::envelope::{CorrelationId, Envelope};

/// The logic of one pipeline stage: plain Rust, no actix.
pub trait Stage: Sized + 'static {
    type Input: Send + 'static;
    type Output: Send + 'static;
    type Error: std::error::Error + Send + Sync + 'static;

    fn handle(&mut self, input: &Envelope<Self::Input>) -> Result<Self::Output, Self::Error>;

    /// Errors after which the stage's state cannot be trusted: handled like a panic
    /// (state rebuilt). Other errors are answered to the sender and the state is kept.
    fn is_fatal(_error: &Self::Error) -> bool {
        false
    }
}

/// How a stage is restarted.
#[derive(Clone, Debug, PartialEq)]
pub struct RestartPolicy {
    /// Restarts allowed within `window` before the failure escalates.
    pub max_restarts: u32,
    pub window: Duration,
    /// Backoff before the first restart; doubled for each consecutive failure.
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
    /// Retry the message that was in hand once on the rebuilt state. Leave off for
    /// stages with side effects that must not run twice.
    pub retry_failed_message: bool,
    pub mailbox_capacity: usize,
}

impl Default for RestartPolicy {
    fn default() -> Self {
        Self {
            max_restarts: 5,
            window: Duration::from_secs(10),
            backoff_initial: Duration::from_millis(20),
            backoff_max: Duration::from_secs(2),
            retry_failed_message: true,
            mailbox_capacity: 1000,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StageError<E: std::error::Error + 'static> {
    #[error("stage {stage} failed on command {correlation_id}: {source}")]
    Failed {
        stage: &'static str,
        correlation_id: CorrelationId,
        #[source]
        source: E,
    },
    #[error("stage {stage} crashed on command {correlation_id} ({reason}) and was restarted")]
    Crashed {
        stage: &'static str,
        correlation_id: CorrelationId,
        reason: String,
    },
    #[error("stage {stage} is down after too many restarts ({last_failure}); command {correlation_id} was not handled")]
    Escalated {
        stage: &'static str,
        correlation_id: CorrelationId,
        last_failure: String,
    },
    #[error("stage {stage} could not take command {correlation_id}: {reason}")]
    Unreachable {
        stage: &'static str,
        correlation_id: CorrelationId,
        reason: String,
    },
}

impl<E: std::error::Error + 'static> StageError<E> {
    pub fn correlation_id(&self) -> CorrelationId {
        match self {
            Self::Failed { correlation_id, .. }
            | Self::Crashed { correlation_id, .. }
            | Self::Escalated { correlation_id, .. }
            | Self::Unreachable { correlation_id, .. } => *correlation_id,
        }
    }
}

/// Sent to the pipeline when a stage exceeds its restart intensity.
#[derive(Message, Clone, Debug)]
#[rtype(result = "()")]
pub struct Escalation {
    pub stage: &'static str,
    pub restarts_in_window: u32,
    pub window: Duration,
    pub last_failure: String,
    pub correlation_id: Option<CorrelationId>,
}

/// Counters per stage, shared with metrics and `luna stats`.
#[derive(Debug, Default)]
pub struct StageStats {
    handled: AtomicU64,
    failed: AtomicU64,
    crashed: AtomicU64,
    restarts: AtomicU64,
    queued: AtomicU64,
    escalated: AtomicBool,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// Messages answered with an output.
    pub handled: u64,
    /// Messages answered with a non-fatal stage error.
    pub failed: u64,
    /// Panics and fatal errors.
    pub crashed: u64,
    /// State rebuilds through the factory after a crash.
    pub restarts: u64,
    /// Messages sent and not yet taken from the mailbox.
    pub queued: u64,
    pub escalated: bool,
}

impl StageStats {
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            handled: self.handled.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            crashed: self.crashed.load(Ordering::Relaxed),
            restarts: self.restarts.load(Ordering::Relaxed),
            queued: self.queued.load(Ordering::Relaxed),
            escalated: self.escalated.load(Ordering::Relaxed),
        }
    }

    /// For supervisors outside `StageActor` (the executor's fan-out): one message
    /// answered with an output.
    pub fn count_handled(&self) {
        self.handled.fetch_add(1, Ordering::Relaxed);
    }

    /// One message answered with an error.
    pub fn count_failed(&self) {
        self.failed.fetch_add(1, Ordering::Relaxed);
    }

    /// One crash, after which a fresh worker takes the next message.
    pub fn count_crash_and_restart(&self) {
        self.crashed.fetch_add(1, Ordering::Relaxed);
        self.restarts.fetch_add(1, Ordering::Relaxed);
    }

    fn enqueued(&self) {
        self.queued.fetch_add(1, Ordering::Relaxed);
    }

    fn dequeued(&self) {
        // Saturating: a message sent by a raw `Addr` was never counted in.
        let _ = self
            .queued
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |q| q.checked_sub(1));
    }
}

/// Request-reply message: the stage's output (or error) goes back to the sender.
pub struct Run<S: Stage>(pub Envelope<S::Input>, PhantomData<fn() -> S>);

impl<S: Stage> Run<S> {
    pub fn new(envelope: Envelope<S::Input>) -> Self {
        Self(envelope, PhantomData)
    }
}

impl<S: Stage> Message for Run<S> {
    type Result = Result<Envelope<S::Output>, StageError<S::Error>>;
}

/// Streaming message: the output goes to the stage's downstream, errors to its error sink.
pub struct Push<S: Stage>(pub Envelope<S::Input>, PhantomData<fn() -> S>);

impl<S: Stage> Push<S> {
    pub fn new(envelope: Envelope<S::Input>) -> Self {
        Self(envelope, PhantomData)
    }
}

impl<S: Stage> Message for Push<S> {
    type Result = ();
}

struct Shutdown;

impl Message for Shutdown {
    type Result = ();
}

type Factory<S> = Box<dyn FnMut() -> Result<S, <S as Stage>::Error> + Send>;
type Downstream<S> = Box<dyn Fn(Envelope<<S as Stage>::Output>) + Send>;
type ErrorSink<S> = Box<dyn Fn(StageError<<S as Stage>::Error>) + Send>;

/// The supervised actor shell around a [`Stage`].
pub struct StageActor<S: Stage> {
    name: &'static str,
    factory: Factory<S>,
    // Boxed so the actor is `Unpin` whatever the stage holds.
    state: Option<Box<S>>,
    built_once: bool,
    policy: RestartPolicy,
    recent_restarts: VecDeque<Instant>,
    consecutive_failures: u32,
    last_failure: String,
    stats: Arc<StageStats>,
    escalate_to: Option<Recipient<Escalation>>,
    downstream: Option<Downstream<S>>,
    error_sink: Option<ErrorSink<S>>,
    /// Messages handed to the stage's handler so far (for fault injection).
    seen: u64,
}

/// Configures and starts a [`StageActor`] on its own arbiter thread.
pub struct StageBuilder<S: Stage> {
    name: &'static str,
    factory: Factory<S>,
    policy: RestartPolicy,
    escalate_to: Option<Recipient<Escalation>>,
    downstream: Option<Downstream<S>>,
    error_sink: Option<ErrorSink<S>>,
}

impl<S: Stage> StageActor<S> {
    /// `factory` builds the stage's state on the stage's thread, at start and at
    /// every restart; the state itself need not be `Send`.
    pub fn build(
        name: &'static str,
        factory: impl FnMut() -> Result<S, S::Error> + Send + 'static,
    ) -> StageBuilder<S> {
        StageBuilder {
            name,
            factory: Box::new(factory),
            policy: RestartPolicy::default(),
            escalate_to: None,
            downstream: None,
            error_sink: None,
        }
    }

    fn process(
        &mut self,
        envelope: &Envelope<S::Input>,
    ) -> Result<S::Output, StageError<S::Error>> {
        let correlation_id = envelope.correlation_id;
        let mut retried = false;
        loop {
            self.ensure_state(Some(correlation_id))?;
            let state = self.state.as_mut().expect("ensure_state built the state");
            self.seen += 1;
            let inject = crate::faults::due(self.name, self.seen);
            let name = self.name;
            let reason = match catch_unwind(AssertUnwindSafe(|| {
                let _command = envelope.span.enter();
                if inject {
                    panic!("fault injected into stage {name} ([debug] fault_injection)");
                }
                state.handle(envelope)
            })) {
                Ok(Ok(output)) => {
                    self.consecutive_failures = 0;
                    self.stats.handled.fetch_add(1, Ordering::Relaxed);
                    return Ok(output);
                }
                Ok(Err(source)) if !S::is_fatal(&source) => {
                    self.stats.failed.fetch_add(1, Ordering::Relaxed);
                    return Err(StageError::Failed {
                        stage: self.name,
                        correlation_id,
                        source,
                    });
                }
                Ok(Err(fatal)) => format!("fatal error: {fatal}"),
                Err(payload) => format!("panic: {}", panic_message(payload.as_ref())),
            };
            self.stats.crashed.fetch_add(1, Ordering::Relaxed);
            self.state = None;
            self.last_failure.clone_from(&reason);
            warn!(stage = self.name, %correlation_id, %reason, "stage crashed; rebuilding its state");
            if self.policy.retry_failed_message && !retried {
                retried = true;
                continue;
            }
            // Rebuild now, so the restart happens (and is counted) before the next message.
            self.ensure_state(Some(correlation_id))?;
            return Err(StageError::Crashed {
                stage: self.name,
                correlation_id,
                reason,
            });
        }
    }

    /// Builds the state if it is missing: the first build, or a restart with backoff
    /// and intensity accounting.
    fn ensure_state(
        &mut self,
        correlation_id: Option<CorrelationId>,
    ) -> Result<(), StageError<S::Error>> {
        while self.state.is_none() {
            if self.stats.escalated.load(Ordering::Relaxed) {
                return Err(self.escalated_error(correlation_id));
            }
            if self.built_once {
                let now = Instant::now();
                let window = self.policy.window;
                self.recent_restarts
                    .retain(|t| now.duration_since(*t) < window);
                if self.recent_restarts.len() as u32 >= self.policy.max_restarts {
                    self.escalate(correlation_id);
                    return Err(self.escalated_error(correlation_id));
                }
                self.recent_restarts.push_back(now);
                std::thread::sleep(self.backoff());
                self.consecutive_failures = self.consecutive_failures.saturating_add(1);
                self.stats.restarts.fetch_add(1, Ordering::Relaxed);
            }
            self.built_once = true;
            match catch_unwind(AssertUnwindSafe(&mut self.factory)) {
                Ok(Ok(state)) => self.state = Some(Box::new(state)),
                Ok(Err(e)) => {
                    self.last_failure = format!("factory failed: {e}");
                    warn!(stage = self.name, error = %e, "could not build stage state");
                }
                Err(payload) => {
                    self.last_failure =
                        format!("factory panicked: {}", panic_message(payload.as_ref()));
                    warn!(stage = self.name, reason = %self.last_failure, "could not build stage state");
                }
            }
        }
        Ok(())
    }

    fn backoff(&self) -> Duration {
        let factor = 1u32 << self.consecutive_failures.min(16);
        self.policy
            .backoff_initial
            .saturating_mul(factor)
            .min(self.policy.backoff_max)
    }

    fn escalate(&mut self, correlation_id: Option<CorrelationId>) {
        self.stats.escalated.store(true, Ordering::Relaxed);
        error!(
            stage = self.name,
            restarts = self.recent_restarts.len(),
            window_s = self.policy.window.as_secs_f64(),
            last_failure = %self.last_failure,
            "stage exceeded its restart intensity; escalating"
        );
        if let Some(to) = &self.escalate_to {
            to.do_send(Escalation {
                stage: self.name,
                restarts_in_window: self.recent_restarts.len() as u32,
                window: self.policy.window,
                last_failure: self.last_failure.clone(),
                correlation_id,
            });
        }
    }

    fn escalated_error(&self, correlation_id: Option<CorrelationId>) -> StageError<S::Error> {
        StageError::Escalated {
            stage: self.name,
            correlation_id: correlation_id.unwrap_or_else(CorrelationId::mint),
            last_failure: self.last_failure.clone(),
        }
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}

impl<S: Stage> Actor for StageActor<S> {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(self.policy.mailbox_capacity);
        // Build eagerly so a broken factory shows at start; a failure here is retried
        // (as a restart) when the first message arrives.
        let _ = self.ensure_state(None);
    }
}

impl<S: Stage> Handler<Run<S>> for StageActor<S> {
    type Result = Result<Envelope<S::Output>, StageError<S::Error>>;

    fn handle(&mut self, msg: Run<S>, _ctx: &mut Self::Context) -> Self::Result {
        self.stats.dequeued();
        let envelope = msg.0;
        self.process(&envelope).map(|output| envelope.carry(output))
    }
}

impl<S: Stage> Handler<Push<S>> for StageActor<S> {
    type Result = ();

    fn handle(&mut self, msg: Push<S>, _ctx: &mut Self::Context) {
        self.stats.dequeued();
        let envelope = msg.0;
        match self.process(&envelope) {
            Ok(output) => {
                if let Some(downstream) = &self.downstream {
                    downstream(envelope.carry(output));
                }
            }
            Err(e) => match &self.error_sink {
                Some(sink) => sink(e),
                None => error!(stage = self.name, error = %e, "stage error with no error sink"),
            },
        }
    }
}

impl<S: Stage> Handler<Shutdown> for StageActor<S> {
    type Result = ();

    fn handle(&mut self, _: Shutdown, ctx: &mut Self::Context) {
        ctx.stop();
    }
}

impl<S: Stage> StageBuilder<S> {
    pub fn policy(mut self, policy: RestartPolicy) -> Self {
        self.policy = policy;
        self
    }

    pub fn escalate_to(mut self, to: Recipient<Escalation>) -> Self {
        self.escalate_to = Some(to);
        self
    }

    /// Where outputs of [`Push`] messages go (the next stage).
    pub fn downstream(mut self, f: impl Fn(Envelope<S::Output>) + Send + 'static) -> Self {
        self.downstream = Some(Box::new(f));
        self
    }

    /// Where errors of [`Push`] messages go; they carry the correlation id.
    pub fn error_sink(mut self, f: impl Fn(StageError<S::Error>) + Send + 'static) -> Self {
        self.error_sink = Some(Box::new(f));
        self
    }

    /// Starts the stage on a new arbiter thread. Needs a running actix `System`.
    pub fn start(self) -> StageAddr<S> {
        let arbiter = Arbiter::new();
        let stats = Arc::new(StageStats::default());
        let shared = Arc::clone(&stats);
        let name = self.name;
        let addr = StageActor::start_in_arbiter(&arbiter.handle(), move |_ctx| StageActor {
            name: self.name,
            factory: self.factory,
            state: None,
            built_once: false,
            policy: self.policy,
            recent_restarts: VecDeque::new(),
            consecutive_failures: 0,
            last_failure: String::new(),
            stats: shared,
            escalate_to: self.escalate_to,
            downstream: self.downstream,
            error_sink: self.error_sink,
            seen: 0,
        });
        StageAddr {
            name,
            addr,
            stats,
            arbiter: arbiter.handle(),
        }
    }
}

/// The address of a running stage: what the rest of the pipeline holds.
pub struct StageAddr<S: Stage> {
    name: &'static str,
    addr: Addr<StageActor<S>>,
    stats: Arc<StageStats>,
    arbiter: ArbiterHandle,
}

impl<S: Stage> Clone for StageAddr<S> {
    fn clone(&self) -> Self {
        Self {
            name: self.name,
            addr: self.addr.clone(),
            stats: Arc::clone(&self.stats),
            arbiter: self.arbiter.clone(),
        }
    }
}

impl<S: Stage> StageAddr<S> {
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Sends and awaits the stage's answer; waits while the mailbox is full.
    pub async fn call(
        &self,
        envelope: Envelope<S::Input>,
    ) -> Result<Envelope<S::Output>, StageError<S::Error>> {
        let correlation_id = envelope.correlation_id;
        self.stats.enqueued();
        match self.addr.send(Run::new(envelope)).await {
            Ok(answer) => answer,
            Err(e) => {
                self.stats.dequeued();
                Err(StageError::Unreachable {
                    stage: self.name,
                    correlation_id,
                    reason: e.to_string(),
                })
            }
        }
    }

    /// Streams a message to the stage without waiting; fails when the mailbox is full
    /// (the caller decides what to drop) or the stage is gone.
    pub fn push(&self, envelope: Envelope<S::Input>) -> Result<(), StageError<S::Error>> {
        let correlation_id = envelope.correlation_id;
        self.stats.enqueued();
        self.addr.try_send(Push::new(envelope)).map_err(|e| {
            self.stats.dequeued();
            let reason = match e {
                SendError::Full(_) => "mailbox full",
                SendError::Closed(_) => "stage stopped",
            };
            StageError::Unreachable {
                stage: self.name,
                correlation_id,
                reason: reason.to_owned(),
            }
        })
    }

    /// Streams a message that must not be dropped: bypasses the mailbox bound.
    pub fn push_always(&self, envelope: Envelope<S::Input>) {
        self.stats.enqueued();
        self.addr.do_send(Push::new(envelope));
    }

    pub fn stats(&self) -> StatsSnapshot {
        self.stats.snapshot()
    }

    /// Reads this stage's counters from anywhere (a metrics scrape), without the address.
    pub fn stats_probe(&self) -> impl Fn() -> StatsSnapshot + Send + Sync + 'static {
        let stats = Arc::clone(&self.stats);
        move || stats.snapshot()
    }

    /// Lets the stage finish every message already queued, then stops it and its thread.
    pub async fn shutdown(&self) {
        let _ = self.addr.send(Shutdown).await;
        self.arbiter.stop();
    }
}
