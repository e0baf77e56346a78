//! One command through brain → executor → store, without actors: what `luna say`
//! runs, and what the pipeline's actors do stage by stage.

use std::sync::Arc;
use std::time::Instant;

use luna_actors::CorrelationId;
use serde::Serialize;

use crate::brain::{Brain, Intent, Plan};
use crate::exec::confirm::{Confirmations, Turn};
use crate::exec::{self, Executor, StepResult};
use crate::store::{CommandRecord, CommandSource, Outcome};

#[derive(Clone, Debug, Serialize)]
pub struct CommandOutcome {
    pub correlation_id: String,
    pub text: String,
    pub intents: Vec<Intent>,
    pub plan: Arc<Plan>,
    pub results: Vec<StepResult>,
    pub response: String,
    #[serde(skip)]
    pub outcome: Outcome,
}

/// How a command ended, from its steps.
pub fn outcome_of(intents: &[Intent], results: &[StepResult]) -> Outcome {
    if results.is_empty() {
        return if intents.iter().all(Intent::is_unknown) {
            Outcome::Unknown
        } else {
            Outcome::Ok
        };
    }
    if results.iter().any(|r| r.needs_confirmation) {
        return Outcome::Pending;
    }
    match results.iter().filter(|r| r.ok).count() {
        n if n == results.len() => Outcome::Ok,
        0 => Outcome::Failed,
        _ => Outcome::Partial,
    }
}

/// The history row of a finished command: its parse, plan, outcome and response
/// (latencies are the caller's to add).
pub fn finished_record(
    id: CorrelationId,
    source: CommandSource,
    text: &str,
    received_at_ms: i64,
    intents: &[Intent],
    plan: &Plan,
    results: &[StepResult],
) -> CommandRecord {
    let mut record = CommandRecord::received(id, source, Some(text.to_owned()));
    record.received_at_ms = received_at_ms;
    record.parse = serde_json::to_value(intents).ok();
    record.plan = serde_json::to_value(plan).ok();
    record.outcome = outcome_of(intents, results);
    record.response = Some(exec::response(results, intents));
    record.finished_at_ms = Some(crate::store::now_ms());
    record
}

/// Understands and executes `text` (or takes it as the answer to the open question in
/// `confirmations`), and records it in history.
pub fn run_text(
    brain: &mut Brain,
    executor: &mut Executor,
    confirmations: &mut Confirmations,
    text: &str,
    source: CommandSource,
) -> CommandOutcome {
    let id = CorrelationId::mint();
    let received_at_ms = crate::store::now_ms();
    let t0 = Instant::now();
    let understanding = brain.understand(text);
    let brain_ms = t0.elapsed().as_secs_f64() * 1000.0;
    let t1 = Instant::now();
    let turn = confirmations.turn(&understanding.intents, Arc::clone(&understanding.plan), t1);
    let (plan, results) = match turn {
        Turn::Answer(answer) => (Arc::clone(&understanding.plan), vec![answer]),
        Turn::Run { plan, confirmed } => {
            let results = executor.run_plan(&plan, confirmed);
            (plan, results)
        }
    };
    confirmations.ask(&plan, &results, Instant::now());
    let mut record = finished_record(
        id,
        source,
        text,
        received_at_ms,
        &understanding.intents,
        &plan,
        &results,
    );
    let (response, outcome) = (record.response.clone().unwrap_or_default(), record.outcome);
    record.latency_ms.brain = Some(brain_ms);
    record.latency_ms.dispatch = Some(t1.elapsed().as_secs_f64() * 1000.0);
    if let Err(e) = executor.effects.store.record_command(&record) {
        tracing::error!(correlation_id = %id, error = %e, "could not record the command in history");
    }
    CommandOutcome {
        correlation_id: id.to_string(),
        text: text.to_owned(),
        intents: understanding.intents,
        plan,
        results,
        response,
        outcome,
    }
}
