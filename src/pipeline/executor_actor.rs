//! ExecutorActor: runs a plan group by group; each step of a group runs in its own
//! child actor (on its own thread, so a slow action never holds up the others), joined
//! with a per-step timeout. A group waits for the groups it depends on; a failed or
//! timed-out step fails its dependents with a reason. Steps are never retried here:
//! actions are not idempotent (a second "open firefox" opens a second window).

use std::time::Duration;

use actix::prelude::*;
use luna_actors::{ChildError, FanOut};

use crate::brain::{Plan, Step};
use crate::exec::{Effects, ExecSettings, Executor, PlanRun, StepResult};

/// Run this plan.
#[derive(Message)]
#[rtype(result = "Vec<StepResult>")]
pub struct RunPlan {
    pub plan: std::sync::Arc<Plan>,
    /// Execute nothing outside LUNA for this plan, whatever the actor's setting.
    pub dry_run: bool,
}

/// One step, for a child.
#[derive(Message)]
#[rtype(result = "StepResult")]
struct RunStep(Step);

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
        let _span = tracing::debug_span!("exec.step", intent = %msg.0.intent).entered();
        MessageResult(self.executor.run_step(&msg.0, false))
    }
}

pub struct ExecutorActor {
    settings: ExecSettings,
    effects: Effects,
    step_timeout: Duration,
}

impl ExecutorActor {
    pub fn new(settings: ExecSettings, effects: Effects, step_timeout: Duration) -> Self {
        Self {
            settings,
            effects,
            step_timeout,
        }
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
        let fan_out = FanOut::new(self.step_timeout);
        Box::pin(async move {
            let plan = msg.plan;
            let mut run = PlanRun::new(&plan);
            let mut effects = effects;
            effects.dry_run |= msg.dry_run;
            for group in &plan.groups {
                if run.settle(group, &mut effects) {
                    continue;
                }
                let jobs: Vec<(String, RunStep)> = group
                    .steps
                    .iter()
                    .map(|&s| {
                        (
                            format!("step {s} ({})", plan.steps[s].intent),
                            RunStep(plan.steps[s].clone()),
                        )
                    })
                    .collect();
                let outcomes = fan_out
                    .run(jobs, |_| StepChild {
                        executor: Executor::new(settings.clone(), effects.share()),
                    })
                    .await;
                for (&s, outcome) in group.steps.iter().zip(outcomes) {
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
