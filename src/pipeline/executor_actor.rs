//! ExecutorActor: runs a plan group by group; each step of a group runs in its own
//! child actor (on its own thread, so a slow action never holds up the others), joined
//! with a per-step timeout. A group waits for the groups it depends on; a failed or
//! timed-out step fails its dependents with a reason. Steps are never retried here:
//! actions are not idempotent (a second "open firefox" opens a second window).
//! `CancelRunning` ("stop", "cancel") cancels every plan in flight: steps still
//! running are abandoned and groups not started are not started.
//!
//! Supervision is one-for-one with a fresh child per step: a child that panics fails
//! its own step ("Something went wrong doing that.") and nothing else; the next step
//! gets a new child. Its counts are the "exec" stage's in the metrics, and
//! `[debug] fault_injection = ["exec:N"]` makes every Nth step's child panic.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::prelude::*;
use luna_actors::{ChildError, FanOut, StageStats, StatsSnapshot};
use tokio::sync::watch;

use crate::brain::{Plan, Step};
use crate::exec::{Effects, ExecSettings, Executor, PlanRun, StepResult};

/// Run this plan.
#[derive(Message)]
#[rtype(result = "Vec<StepResult>")]
pub struct RunPlan {
    pub plan: std::sync::Arc<Plan>,
    /// Execute nothing outside LUNA for this plan, whatever the actor's setting.
    pub dry_run: bool,
    /// The user already said yes to its steps (the confirmation turn).
    pub confirmed: bool,
    /// The command's span: each step's span is its child.
    pub span: tracing::Span,
}

/// Cancel every plan in flight; answers how many there were.
#[derive(Message)]
#[rtype(result = "usize")]
pub struct CancelRunning;

/// One step, for a child (`true`: confirmed), inside the command's span.
#[derive(Message)]
#[rtype(result = "StepResult")]
struct RunStep(Step, bool, tracing::Span);

/// A child actor: runs exactly one step and is stopped with its thread afterwards.
struct StepChild {
    executor: Executor,
}

impl Actor for StepChild {
    type Context = Context<Self>;
}

impl Handler<RunStep> for StepChild {
    type Result = MessageResult<RunStep>;

    fn handle(&mut self, msg: RunStep, _: &mut Context<Self>) -> Self::Result {
        let _span = tracing::debug_span!(parent: &msg.2, "exec.step", intent = %msg.0.intent, step = msg.0.id).entered();
        if luna_actors::faults::due_next("exec") {
            panic!("fault injected into stage exec ([debug] fault_injection)");
        }
        MessageResult(self.executor.run_step(&msg.0, msg.1))
    }
}

pub struct ExecutorActor {
    settings: ExecSettings,
    effects: Effects,
    step_timeout: Duration,
    /// The cancel signal of each plan in flight, by a plan number.
    running: Arc<Mutex<HashMap<u64, watch::Sender<bool>>>>,
    next_plan: u64,
    stats: Arc<StageStats>,
}

impl ExecutorActor {
    pub fn new(settings: ExecSettings, effects: Effects, step_timeout: Duration) -> Self {
        Self {
            settings,
            effects,
            step_timeout,
            running: Arc::default(),
            next_plan: 0,
            stats: Arc::default(),
        }
    }

    /// Steps done, failed and crashed, for the metrics (stage "exec").
    pub fn stats_probe(&self) -> impl Fn() -> StatsSnapshot + Send + Sync + 'static {
        let stats = Arc::clone(&self.stats);
        move || stats.snapshot()
    }
}

impl Handler<CancelRunning> for ExecutorActor {
    type Result = usize;

    fn handle(&mut self, _: CancelRunning, _: &mut Context<Self>) -> usize {
        let running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        for signal in running.values() {
            let _ = signal.send(true);
        }
        running.len()
    }
}

/// Takes a plan off the running list when its run ends, however it ends.
struct Running {
    plan: u64,
    running: Arc<Mutex<HashMap<u64, watch::Sender<bool>>>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        running.remove(&self.plan);
    }
}

impl Actor for ExecutorActor {
    type Context = Context<Self>;
}

impl Handler<RunPlan> for ExecutorActor {
    type Result = ResponseFuture<Vec<StepResult>>;

    fn handle(&mut self, msg: RunPlan, _: &mut Context<Self>) -> Self::Result {
        let settings = self.settings.clone();
        let effects = self.effects.share();
        let (cancel, cancelled) = watch::channel(false);
        self.next_plan += 1;
        let guard = Running {
            plan: self.next_plan,
            running: Arc::clone(&self.running),
        };
        guard
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(guard.plan, cancel);
        let fan_out = FanOut::new(self.step_timeout).cancel_on(cancelled.clone());
        let confirmed = msg.confirmed;
        let command = msg.span.clone();
        let stats = Arc::clone(&self.stats);
        Box::pin(async move {
            let _guard = guard;
            let plan = msg.plan;
            let mut run = PlanRun::new(&plan);
            let mut effects = effects;
            effects.dry_run |= msg.dry_run;
            for group in &plan.groups {
                if *cancelled.borrow() {
                    for &s in &group.steps {
                        run.record(
                            group,
                            s,
                            StepResult::failed(&plan.steps[s].intent, "Cancelled."),
                        );
                    }
                    continue;
                }
                if run.settle(group, &mut effects) {
                    continue;
                }
                let jobs: Vec<(String, RunStep)> = group
                    .steps
                    .iter()
                    .map(|&s| {
                        (
                            format!("step {s} ({})", plan.steps[s].intent),
                            RunStep(plan.steps[s].clone(), confirmed, command.clone()),
                        )
                    })
                    .collect();
                let outcomes = fan_out
                    .run(jobs, |_| StepChild {
                        executor: Executor::new(settings.clone(), effects.share()),
                    })
                    .await;
                for (&s, outcome) in group.steps.iter().zip(outcomes) {
                    match &outcome.result {
                        Ok(result) if result.ok => stats.count_handled(),
                        Err(ChildError::Crashed { child }) => {
                            tracing::error!(step = %child, "a step's child crashed");
                            stats.count_crash_and_restart();
                        }
                        Ok(_) | Err(_) => stats.count_failed(),
                    }
                    let result = outcome.result.unwrap_or_else(|e| {
                        let why = match e {
                            ChildError::Timeout { after, .. } => {
                                format!("That took too long (over {} s).", after.as_secs())
                            }
                            ChildError::Crashed { .. } => {
                                "Something went wrong doing that.".to_owned()
                            }
                            ChildError::Cancelled { .. } => "Cancelled.".to_owned(),
                        };
                        StepResult::failed(&plan.steps[s].intent, why)
                    });
                    run.record(group, s, result);
                }
            }
            run.finish()
        })
    }
}
