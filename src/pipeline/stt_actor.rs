//! SttActor: Whisper on its own thread. The model loads on the first utterance (or at
//! start with `[stt] preload`); a restart drops the context and the next utterance
//! loads it again.

use actix::Recipient;
use luna_actors::{Envelope, Escalation, RestartPolicy, Stage, StageActor, StageAddr};

use crate::stt::remote::RemoteStt;
use crate::stt::{SpeechToText, SttError, SttSettings, Transcript};

/// What the SttActor is asked.
pub enum SttRequest {
    Transcribe(SttUtterance),
    /// Other readings of a decoding (`Transcript::decoding`): a transcript with only
    /// `alternatives` (and their time) filled in, none if the model has decoded other
    /// audio since.
    Alternatives {
        decoding: u64,
    },
}

/// 16 kHz mono samples of one utterance.
pub struct SttUtterance {
    pub samples: Vec<f32>,
    /// Set while it is queued or decoding, the transcription is dropped (a speculative
    /// one whose speech went on).
    pub abandon: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    /// Whisper's prompt for this audio instead of `[stt] initial_prompt`.
    pub prompt: Option<String>,
}

pub struct SttStage {
    stt: SpeechToText,
    /// `[stt] backend = "wyoming"`: the service tried first, and where its outcomes
    /// are counted.
    remote: Option<(RemoteStt, std::sync::Arc<crate::metrics::Metrics>)>,
}

impl Stage for SttStage {
    type Input = SttRequest;
    type Output = Transcript;
    type Error = SttError;

    fn handle(&mut self, input: &Envelope<SttRequest>) -> Result<Transcript, SttError> {
        let request = match &input.payload {
            SttRequest::Transcribe(utterance) => utterance,
            SttRequest::Alternatives { decoding } => {
                let _span = tracing::debug_span!("stt.alternatives", correlation_id = %input.correlation_id).entered();
                let mut transcript = Transcript::of_text(String::new(), 0.0, 0.0);
                (transcript.alternatives, transcript.alternatives_ms) =
                    self.stt.alternatives(*decoding)?;
                return Ok(transcript);
            }
        };
        let _span = tracing::debug_span!(
            "stt.transcribe",
            correlation_id = %input.correlation_id,
            audio_s = request.samples.len() as f64 / crate::audio::PIPELINE_RATE as f64
        )
        .entered();
        let abandoned = request
            .abandon
            .as_ref()
            .is_some_and(|a| a.load(std::sync::atomic::Ordering::Relaxed));
        // A prompted transcription (a near wake phrase's check) needs Whisper's prompt,
        // which the protocol does not carry: it stays local.
        if let (Some((remote, metrics)), None, false) = (&self.remote, &request.prompt, abandoned) {
            let started = std::time::Instant::now();
            match remote.transcribe(&request.samples) {
                Ok(text) => {
                    metrics.stt_remote("used");
                    return Ok(Transcript::of_text(
                        text,
                        request.samples.len() as f64 / crate::audio::PIPELINE_RATE as f64,
                        started.elapsed().as_secs_f64() * 1000.0,
                    ));
                }
                Err(e) => {
                    metrics.stt_remote("fell_back");
                    tracing::warn!(correlation_id = %input.correlation_id, error = %e, "remote speech to text failed: transcribing here")
                }
            }
        }
        self.stt.transcribe_unless(
            &request.samples,
            request.abandon.as_ref(),
            request.prompt.as_deref(),
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
    remote: Option<(RemoteStt, std::sync::Arc<crate::metrics::Metrics>)>,
    preload: bool,
    policy: RestartPolicy,
    escalate_to: Recipient<Escalation>,
) -> StageAddr<SttStage> {
    StageActor::build("stt", move || {
        let mut stt = SpeechToText::new(settings.clone());
        // Best effort: a model missing (the daemon has said so) or unreadable now is tried
        // again by the first utterance, which reports it; typed commands go on working.
        if preload {
            match stt.load() {
                Ok(_) | Err(crate::stt::SttError::MissingModel { .. }) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "speech model not loaded at start; the first utterance will try again")
                }
            }
        }
        Ok(SttStage {
            stt,
            remote: remote.clone(),
        })
    })
    .policy(RestartPolicy {
        retry_failed_message: true,
        ..policy
    })
    .escalate_to(escalate_to)
    .start()
}
