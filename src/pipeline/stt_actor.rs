//! SttActor: Whisper on its own thread. The model loads on the first utterance (or at
//! start with `[stt] preload`); a restart drops the context and the next utterance
//! loads it again.

use actix::Recipient;
use luna_actors::{Envelope, Escalation, RestartPolicy, Stage, StageActor, StageAddr};

use crate::stt::{SpeechToText, SttError, SttSettings, Transcript};

/// 16 kHz mono samples of one utterance.
pub struct SttRequest {
    pub samples: Vec<f32>,
    /// Set while it is queued or decoding, the transcription is dropped (a speculative
    /// one whose speech went on).
    pub abandon: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    /// Whisper's prompt for this audio instead of `[stt] initial_prompt`.
    pub prompt: Option<String>,
}

pub struct SttStage {
    stt: SpeechToText,
}

impl Stage for SttStage {
    type Input = SttRequest;
    type Output = Transcript;
    type Error = SttError;

    fn handle(&mut self, input: &Envelope<SttRequest>) -> Result<Transcript, SttError> {
        let _span = tracing::debug_span!(
            "stt.transcribe",
            correlation_id = %input.correlation_id,
            audio_s = input.payload.samples.len() as f64 / crate::audio::PIPELINE_RATE as f64
        )
        .entered();
        self.stt.transcribe_unless(
            &input.payload.samples,
            input.payload.abandon.as_ref(),
            input.payload.prompt.as_deref(),
        )
    }

    /// A model that failed mid-decode may have left its state inconsistent: rebuild.
    fn is_fatal(error: &SttError) -> bool {
        matches!(error, SttError::Decode(_))
    }
}

/// Starts the SttActor. Transcribing again is harmless, so a crash retries the utterance.
pub fn start_stt(
    settings: SttSettings,
    preload: bool,
    policy: RestartPolicy,
    escalate_to: Recipient<Escalation>,
) -> StageAddr<SttStage> {
    StageActor::build("stt", move || {
        let mut stt = SpeechToText::new(settings.clone());
        if preload {
            stt.load()?;
        }
        Ok(SttStage { stt })
    })
    .policy(RestartPolicy {
        retry_failed_message: true,
        ..policy
    })
    .escalate_to(escalate_to)
    .start()
}
