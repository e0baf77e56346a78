//! Dispatch: from a plan to its action running. The action here (time.now) costs
//! microseconds, so the figures are the executor's own overhead: the logic alone, and
//! through the ExecutorActor with its child actor per step.

use std::sync::Arc;

use actix::Actor;
use criterion::{criterion_group, criterion_main, Criterion};
use luna::brain::{Brain, BrainModel, BrainSettings};
use luna::exec::{Effects, ExecSettings, Executor};
use luna::pipeline::{ExecutorActor, RunPlan};
use luna::store::{Store, StoreOptions};

fn exec(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("bench.db"), &StoreOptions::default()).unwrap();
    let mut brain = Brain::new(
        Arc::new(BrainModel::builtin().unwrap()),
        BrainSettings::default(),
    );
    let one = brain.understand("what time is it").plan;
    let two = brain.understand("what time is it and what's the date").plan;
    assert_eq!(two.groups[0].steps.len(), 2);

    let mut executor = Executor::new(ExecSettings::default(), Effects::new(store.clone(), false));
    c.bench_function("exec/run_step_logic", |b| {
        b.iter(|| executor.run_step(&one.steps[0], false))
    });

    let system = actix::System::new();
    let actor = system.block_on(async {
        ExecutorActor::new(
            ExecSettings::default(),
            Effects::new(store.clone(), false),
            std::time::Duration::from_secs(5),
        )
        .start()
    });
    c.bench_function("exec/actor_plan_1_step", |b| {
        b.iter(|| {
            system
                .block_on(actor.send(RunPlan {
                    plan: Arc::clone(&one),
                    dry_run: false,
                    confirmed: false,
                    span: tracing::Span::none(),
                }))
                .unwrap()
        })
    });
    c.bench_function("exec/actor_plan_2_parallel_steps", |b| {
        b.iter(|| {
            system
                .block_on(actor.send(RunPlan {
                    plan: Arc::clone(&two),
                    dry_run: false,
                    confirmed: false,
                    span: tracing::Span::none(),
                }))
                .unwrap()
        })
    });
}

criterion_group!(benches, exec);
criterion_main!(benches);
