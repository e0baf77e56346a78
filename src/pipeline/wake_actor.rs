//! WakeActor: the wake-word detector on its own thread, fed the same audio as the VAD.
//! A restart builds a fresh detector placed at the stream position of the next chunk,
//! so detections keep the stream's clock.

use std::sync::Arc;

use actix::Recipient;
use luna_actors::{Envelope, Escalation, RestartPolicy, Stage, StageActor, StageAddr};

use crate::wake::features::FrontEndModels;
use crate::wake::{Detection, WakeDetector, WakeError, WakeSettings};

/// Audio for the detector: `samples` start at stream sample `first_sample`.
pub struct WakeAudio {
    pub samples: Vec<f32>,
    pub first_sample: u64,
}

pub struct WakeStage {
    detector: WakeDetector,
}

impl Stage for WakeStage {
    type Input = WakeAudio;
    type Output = Vec<Detection>;
    type Error = WakeError;

    fn handle(&mut self, input: &Envelope<WakeAudio>) -> Result<Vec<Detection>, WakeError> {
        self.detector.set_origin(input.payload.first_sample);
        let found = self.detector.push(&input.payload.samples)?;
        for d in &found {
            // Per detection, before any command exists: the command's trace gets its
            // own wake.detect span (downstream), so this one stays out of exports.
            let _span = tracing::trace_span!(
                "wake.detect",
                correlation_id = %input.correlation_id,
                phrase = %d.phrase,
                score = d.score,
                end_s = d.end_s
            )
            .entered();
            if d.is_candidate() {
                tracing::debug!(phrase = %d.phrase, score = d.score, end_s = d.end_s, "near wake phrase: its transcript will decide");
            } else {
                tracing::info!(phrase = %d.phrase, score = d.score, end_s = d.end_s, "wake phrase");
            }
        }
        Ok(found)
    }

    /// A failed inference may leave the front end's buffers half-updated: rebuild.
    fn is_fatal(_: &WakeError) -> bool {
        true
    }
}

pub fn start_wake(
    models: Arc<FrontEndModels>,
    settings: WakeSettings,
    policy: RestartPolicy,
    escalate_to: Recipient<Escalation>,
) -> StageAddr<WakeStage> {
    StageActor::build("wake", move || {
        Ok(WakeStage {
            detector: WakeDetector::new(Arc::clone(&models), &settings)?,
        })
    })
    .policy(RestartPolicy {
        retry_failed_message: false,
        ..policy
    })
    .escalate_to(escalate_to)
    .start()
}
