//! SchedulerActor: every tick, what came due in the `schedules` table fires — logged,
//! shown as a desktop notification, and spoken. Database work on its own thread.

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

/// A reply to speak, queued under the speech epoch of its time (see
/// [`crate::tts::SpeechControl`]): an interruption drops it if it has not been spoken.
#[derive(Clone, Debug)]
pub struct Reply {
    pub text: String,
    pub epoch: u64,
}

/// Spoken replies on their own thread, one at a time in the order queued (speaking
/// blocks for as long as the reply lasts). The speech control says when LUNA speaks:
/// the audio pump then takes only a wake phrase (a barge-in, which interrupts the
/// reply) and never LUNA's own words for a command.
pub struct TtsStage {
    speaker: crate::tts::Speaker,
}

impl Stage for TtsStage {
    type Input = Reply;
    type Output = crate::tts::Spoken;
    type Error = crate::tts::TtsError;

    fn handle(&mut self, input: &Envelope<Reply>) -> Result<Self::Output, Self::Error> {
        let _span =
            tracing::debug_span!("tts.speak", correlation_id = %input.correlation_id).entered();
        let spoken = self.speaker.say(&input.payload.text, input.payload.epoch)?;
        if spoken.interrupted {
            tracing::info!(correlation_id = %input.correlation_id, "reply interrupted");
        }
        Ok(spoken)
    }
}

pub fn start_tts(
    voice: crate::tts::Voice,
    output: String,
    control: Arc<crate::tts::SpeechControl>,
    policy: RestartPolicy,
    escalate_to: Recipient<Escalation>,
) -> StageAddr<TtsStage> {
    StageActor::build("tts", move || {
        let mut speaker =
            crate::tts::Speaker::new(voice.clone(), output.clone(), Arc::clone(&control));
        if let Err(e) = speaker.open() {
            tracing::warn!(error = %e, "replies will be silent until the output device works");
        }
        Ok(TtsStage { speaker })
    })
    .policy(RestartPolicy {
        retry_failed_message: false,
        ..policy
    })
    .escalate_to(escalate_to)
    .start()
}
