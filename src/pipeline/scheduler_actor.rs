//! SchedulerActor: every tick, what came due in the `schedules` table fires — logged,
//! shown as a desktop notification, and spoken. Database work on its own thread.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use actix::Recipient;
use luna_actors::{Envelope, Escalation, RestartPolicy, Stage, StageActor, StageAddr};

use crate::exec::schedule::{take_due, take_due_steps, Fired};

/// What came due at one tick.
#[derive(Default)]
pub struct Due {
    pub fired: Vec<Fired>,
    /// Delayed plan steps to run now (or, as `Err`, reports of ones missed).
    pub steps: Vec<Result<crate::brain::Step, String>>,
}
use crate::store::{Store, StoreError};

pub struct SchedulerStage {
    store: Store,
}

impl Stage for SchedulerStage {
    type Input = super::Tick;
    type Output = Due;
    type Error = StoreError;

    fn handle(&mut self, _: &Envelope<super::Tick>) -> Result<Due, StoreError> {
        let now = crate::store::now_ms();
        Ok(Due {
            fired: take_due(&self.store, now)?,
            steps: take_due_steps(&self.store, now)?,
        })
    }
}

pub fn start_scheduler(
    store: Store,
    policy: RestartPolicy,
    escalate_to: Recipient<Escalation>,
) -> StageAddr<SchedulerStage> {
    StageActor::build("scheduler", move || {
        Ok(SchedulerStage {
            store: store.clone(),
        })
    })
    .policy(RestartPolicy {
        retry_failed_message: false,
        ..policy
    })
    .escalate_to(escalate_to)
    .start()
}

/// Spoken replies on their own thread (speaking blocks for as long as the reply lasts).
/// While it speaks, `speaking` is set: the pump then does not listen, so LUNA never
/// takes its own voice for a command.
pub struct TtsStage {
    voice: crate::tts::Voice,
    speaking: Arc<AtomicBool>,
}

impl Stage for TtsStage {
    type Input = String;
    type Output = ();
    type Error = crate::tts::TtsError;

    fn handle(&mut self, input: &Envelope<String>) -> Result<(), crate::tts::TtsError> {
        let _span =
            tracing::debug_span!("tts.speak", correlation_id = %input.correlation_id).entered();
        self.speaking.store(true, Ordering::SeqCst);
        let spoken = crate::tts::speak(&input.payload, &self.voice);
        // The room's echo of the last words.
        std::thread::sleep(std::time::Duration::from_millis(250));
        self.speaking.store(false, Ordering::SeqCst);
        spoken
    }
}

pub fn start_tts(
    voice: crate::tts::Voice,
    speaking: Arc<AtomicBool>,
    policy: RestartPolicy,
    escalate_to: Recipient<Escalation>,
) -> StageAddr<TtsStage> {
    StageActor::build("tts", move || {
        Ok(TtsStage {
            voice: voice.clone(),
            speaking: Arc::clone(&speaking),
        })
    })
    .policy(RestartPolicy {
        retry_failed_message: false,
        ..policy
    })
    .escalate_to(escalate_to)
    .start()
}
