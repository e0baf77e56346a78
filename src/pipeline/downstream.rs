//! What happens to a command once it is cut from the audio or typed: speech to text
//! (voice only), then brain → executor → store (→ speech), every step through the
//! stage actors. The audio pump, `luna replay` and the HTTP API all come through here,
//! so a command is understood and done the same way whichever door it came in by.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use actix::Addr;
use luna_actors::{Envelope, StageAddr, StageError};
use serde::Serialize;
use tokio::sync::{oneshot, Semaphore};
use tracing::{error, info, warn};

use super::{
    BrainRequest, BrainStage, CancelRunning, ExecutorActor, RunPlan, StoreRequest, StoreStage,
    SttRequest, SttStage, SttUtterance, TtsStage, UtteranceCut,
};
use crate::command::{finished_record, CommandOutcome};
use crate::exec::confirm::{Confirmations, Turn};
use crate::store::{CommandSource, Latencies};
use crate::stt::Transcript;
use crate::wake::gate::{Admission, WakeGate};
use crate::wake::Detection;

/// The stages after hearing, shared by every door a command comes in by.
#[derive(Clone)]
pub struct Downstream {
    pub(super) stt: StageAddr<SttStage>,
    pub(super) brain: StageAddr<BrainStage>,
    pub(super) store: StageAddr<StoreStage>,
    pub(super) executor: Addr<ExecutorActor>,
    pub(super) tts: Option<StageAddr<TtsStage>>,
    /// Whether LUNA speaks, and how to interrupt it (barge-in, "stop").
    pub(super) speech: Arc<crate::tts::SpeechControl>,
    /// Plans executing at once (`[system] max_concurrent_tasks`); others wait for a slot.
    pub(super) plan_slots: Arc<Semaphore>,
    /// The open "Are you sure?" question, if any.
    pub(super) confirmations: Arc<std::sync::Mutex<Confirmations>>,
    pub(super) metrics: Arc<crate::metrics::Metrics>,
}

/// Why a command produced no outcome.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("could not transcribe the audio: {0}")]
    Transcribe(String),
    #[error("no words were heard")]
    NoWords,
    #[error("could not understand the command: {0}")]
    Understand(String),
    #[error("not addressed to LUNA: the wake phrase was not heard at its start")]
    NotAddressed,
}

/// One spoken command, as `luna replay` and `POST /v1/audio` report it.
#[derive(Clone, Debug, Serialize)]
pub struct VoiceReport {
    #[serde(flatten)]
    pub outcome: CommandOutcome,
    /// The wake phrase that addressed the command (absent with `--no-wake`).
    pub wake: Option<Detection>,
    /// What speech to text wrote, before the wake phrase was stripped.
    pub transcript: String,
    /// The transcript was made while the end of speech was still being confirmed
    /// (`[vad] speculate_ms`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub speculative: bool,
    /// Where the command lies in the audio (seconds from its start).
    pub start_s: f64,
    pub end_s: f64,
    pub latency_ms: Latencies,
}

/// How to get a spoken command's other readings (`[stt] alternatives`).
pub struct Rehearing {
    /// `Transcript::decoding`.
    pub decoding: u64,
    /// An enrolled wake phrase to cut from each, as from the transcript.
    pub strip_phrase: Option<String>,
}

/// A command for the brain and the executor, with what is known of it so far.
pub struct CommandRequest {
    pub envelope: Envelope<()>,
    pub text: String,
    /// For a spoken command: where speech to text's other readings can be asked for,
    /// when the brain does not understand `text`.
    pub rehearing: Option<Rehearing>,
    pub source: CommandSource,
    pub received_at_ms: i64,
    /// Execute nothing outside LUNA for this command (on top of `[exec] dry_run`).
    pub dry_run: bool,
    pub latency_ms: Latencies,
}

/// The root span of one command's trace; stages open theirs inside it (the envelope
/// carries it), and what came of the command is recorded on it at the end.
fn command_span(id: luna_actors::CorrelationId, source: CommandSource) -> tracing::Span {
    tracing::debug_span!(
        "command",
        correlation_id = %id,
        source = source.as_str(),
        audio_s = tracing::field::Empty,
        intent = tracing::field::Empty,
        confidence = tracing::field::Empty,
        outcome = tracing::field::Empty,
    )
}

impl CommandRequest {
    /// A typed command (CLI, API), entering now.
    pub fn text(text: String, source: CommandSource, dry_run: bool) -> Self {
        let envelope = Envelope::entering(());
        let span = command_span(envelope.correlation_id, source);
        Self {
            envelope: envelope.in_span(span),
            text,
            rehearing: None,
            source,
            received_at_ms: crate::store::now_ms(),
            dry_run,
            latency_ms: Latencies::default(),
        }
    }
}

impl Downstream {
    /// Speech to text alone, no command (a Wyoming ASR request).
    pub async fn transcribe(&self, samples: Vec<f32>) -> Result<String, CommandError> {
        let request = Envelope::entering(SttRequest::Transcribe(SttUtterance {
            samples,
            abandon: None,
            prompt: None,
        }));
        self.stt
            .call(request)
            .await
            .map(|t| t.payload.text)
            .map_err(|e| CommandError::Transcribe(e.to_string()))
    }

    /// Speech to text's other readings of a command, the wake phrase cut as from its
    /// transcript; none when they cannot be had (the model has moved on, it failed).
    async fn alternatives(&self, envelope: &Envelope<()>, rehearing: Rehearing) -> Vec<String> {
        let request = envelope.carry(SttRequest::Alternatives {
            decoding: rehearing.decoding,
        });
        let found = match self.stt.call(request).await {
            Ok(t) => t.payload.alternatives,
            Err(e) => {
                warn!(correlation_id = %envelope.correlation_id, error = %e, "could not find other readings of an utterance");
                return Vec::new();
            }
        };
        found
            .into_iter()
            .map(|a| match &rehearing.strip_phrase {
                Some(phrase) => crate::wake::gate::strip_phrase(&a.text, phrase).to_owned(),
                None => a.text,
            })
            .collect()
    }

    /// Understanding alone, nothing done (a Wyoming intent request).
    pub async fn understand(&self, text: &str) -> Result<Vec<crate::brain::Intent>, CommandError> {
        let request = Envelope::entering(BrainRequest {
            text: text.to_owned(),
            alternatives: Vec::new(),
        });
        self.brain
            .call(request)
            .await
            .map(|u| u.payload.intents.clone())
            .map_err(|e| CommandError::Understand(e.to_string()))
    }

    /// Understands, executes (within a plan slot), speaks and records one command.
    /// A recognized command is always recorded, past the store's mailbox bound.
    pub async fn act(
        &self,
        command: CommandRequest,
    ) -> Result<(CommandOutcome, Latencies), CommandError> {
        let CommandRequest {
            envelope,
            text,
            rehearing,
            source,
            received_at_ms,
            dry_run,
            mut latency_ms,
        } = command;
        let id = envelope.correlation_id;
        let t_brain = Instant::now();
        let mut understood = self
            .brain
            .call(envelope.carry(BrainRequest {
                text: text.clone(),
                alternatives: Vec::new(),
            }))
            .await
            .map_err(|e| CommandError::Understand(e.to_string()))?;
        // Not understood at all: what else might have been said?
        if let (true, Some(rehearing)) = (understood.payload.is_unknown(), rehearing) {
            let alternatives = self.alternatives(&envelope, rehearing).await;
            if !alternatives.is_empty() {
                let again = self
                    .brain
                    .call(envelope.carry(BrainRequest {
                        text: text.clone(),
                        alternatives,
                    }))
                    .await
                    .map_err(|e| CommandError::Understand(e.to_string()))?;
                if !again.payload.is_unknown() {
                    understood = again;
                }
            }
        }
        latency_ms.brain = Some(ms_since(t_brain));
        let intents = &understood.payload.intents;
        let turn = self
            .confirmations
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .turn(
                intents,
                Arc::clone(&understood.payload.plan),
                Instant::now(),
            );
        let (plan, confirmed) = match turn {
            Turn::Answer(answer) => (Arc::clone(&understood.payload.plan), Err(answer)),
            Turn::Run { plan, confirmed } => (plan, Ok(confirmed)),
        };
        // "stop" and "cancel" stop whatever is still running, and LUNA's speech.
        if let [one] = intents.as_slice() {
            if matches!(one.intent.as_str(), "assistant.stop" | "assistant.cancel") {
                if self.speech.interrupt() {
                    self.metrics.speech_interrupted();
                    info!(correlation_id = %id, "reply interrupted");
                }
                let cancelled = self.executor.send(CancelRunning).await.unwrap_or(0);
                if cancelled > 0 {
                    info!(correlation_id = %id, plans = cancelled, "cancelled what was running");
                }
            }
        }
        let results = match confirmed {
            Err(answer) => vec![answer],
            Ok(confirmed) => {
                // Closed only at shutdown; then the plan runs without a slot.
                let _slot = self.plan_slots.acquire().await.ok();
                // From the end of speech in the audio to the plan's dispatch.
                latency_ms.speech_end_to_action = understood.t_speech_end.map(ms_since);
                let t_dispatch = Instant::now();
                let results = self
                    .executor
                    .send(RunPlan {
                        plan: Arc::clone(&plan),
                        dry_run,
                        confirmed,
                        span: understood.span.clone(),
                    })
                    .await
                    .unwrap_or_default();
                latency_ms.dispatch = Some(ms_since(t_dispatch));
                results
            }
        };
        self.confirmations
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .ask(&plan, &results, Instant::now());
        // The text acted on: what was heard, or the alternative reading understood.
        let mut record = finished_record(
            id,
            source,
            &understood.payload.text,
            received_at_ms,
            &understood.payload.intents,
            &plan,
            &results,
        );
        let response = record.response.clone().unwrap_or_default();
        // Spoken on its own task: the reply's first sound is noted in the record once
        // the record is stored (`recorded`).
        let (recorded, stored) = tokio::sync::oneshot::channel::<()>();
        if let (Some(tts), false) = (&self.tts, response.is_empty()) {
            let reply = understood.carry(super::Reply {
                text: response.clone(),
                epoch: self.speech.epoch(),
            });
            let t_origin = understood.t_speech_end.unwrap_or(t_brain);
            let (tts, store, metrics) =
                (tts.clone(), self.store.clone(), Arc::clone(&self.metrics));
            actix::spawn(async move {
                let spoken = match tts.call(reply).await {
                    Ok(spoken) => spoken,
                    Err(e) => {
                        warn!(correlation_id = %id, error = %e, "could not speak the reply");
                        return;
                    }
                };
                let Some(first_audio) = spoken.payload.first_audio else {
                    return;
                };
                let ms = first_audio
                    .saturating_duration_since(t_origin)
                    .as_secs_f64()
                    * 1000.0;
                metrics.reply_first_audio(ms);
                if stored.await.is_ok() {
                    let note = spoken.carry(StoreRequest::ReplyAudio {
                        correlation_id: id.to_string(),
                        first_audio_ms: ms,
                    });
                    if let Err(e) = store.call(note).await {
                        warn!(correlation_id = %id, error = %e, "could not note the reply's timing");
                    }
                }
            });
        }
        record.latency_ms = latency_ms.clone();
        let outcome = record.outcome;
        let first_intent = understood
            .payload
            .intents
            .first()
            .map_or("unknown", |i| i.intent.as_str());
        let root = &understood.span;
        root.record("intent", first_intent);
        if let Some(first) = understood.payload.intents.first() {
            root.record("confidence", f64::from(first.confidence));
        }
        root.record("outcome", outcome.as_str());
        let intents: Vec<&str> = understood
            .payload
            .intents
            .iter()
            .map(|i| i.intent.as_str())
            .collect();
        self.metrics
            .command(&intents, outcome.as_str(), source.as_str(), &latency_ms);
        if let Err(e) = self
            .store
            .call(understood.carry(StoreRequest::Record(Box::new(record))))
            .await
        {
            error!(correlation_id = %id, error = %e, "could not record a command");
        } else {
            let _ = recorded.send(());
        }
        Ok((
            CommandOutcome {
                correlation_id: id.to_string(),
                text,
                intents: understood.payload.intents.clone(),
                plan,
                results,
                response,
                outcome,
            },
            latency_ms,
        ))
    }

    /// Starts transcribing a tentative utterance (`Endpointer::take_tentative`) now.
    fn speculate(&self, cut: &UtteranceCut, prompt: Option<String>) -> Speculation {
        let u = &cut.utterance;
        tracing::debug!(
            start_s = u.start_s(),
            end_s = u.end_s(),
            since_speech_end_ms = ms_since(cut.t_speech_end),
            near_phrase = prompt.is_some(),
            "speculative transcription started"
        );
        let abandon = Arc::new(AtomicBool::new(false));
        let request = Envelope::entering(SttRequest::Transcribe(SttUtterance {
            samples: u.samples.clone(),
            abandon: Some(Arc::clone(&abandon)),
            prompt: prompt.clone(),
        }));
        let (sender, result) = oneshot::channel();
        let stt = self.stt.clone();
        actix::spawn(async move {
            let _ = sender.send(stt.call(request).await);
        });
        Speculation {
            start_sample: u.start_sample,
            end_sample: u.end_sample,
            samples: u.samples.clone(),
            prompt,
            abandon,
            result,
        }
    }

    /// One utterance addressed to LUNA: transcribe it, then act on it. `source`: voice
    /// (microphone, stdin), replay, or the API.
    pub async fn hear(
        &self,
        cut: UtteranceCut,
        wake: Option<Detection>,
        source: CommandSource,
        dry_run: bool,
    ) -> Result<VoiceReport, CommandError> {
        self.hear_speculated(cut, wake, source, dry_run, None).await
    }

    /// As `hear`, taking the transcript from `speculation` (started on this very
    /// utterance: `Speculator::take_for` hands out no other) when it succeeded, else
    /// transcribing as usual.
    pub(super) async fn hear_speculated(
        &self,
        cut: UtteranceCut,
        wake: Option<Detection>,
        source: CommandSource,
        dry_run: bool,
        speculation: Option<Speculation>,
    ) -> Result<VoiceReport, CommandError> {
        // The command was received when its utterance was cut, not when it was recorded.
        let received_at_ms = crate::store::now_ms();
        let endpoint_ms = ms_since(cut.t_speech_end);
        let u = &cut.utterance;
        let (start_s, end_s) = (u.start_s(), u.end_s());
        // A near wake phrase: heard with the phrase as Whisper's prompt, and, if it was
        // said on its own, before the command, a breath apart.
        let check_prompt = wake
            .as_ref()
            .filter(|w| w.is_candidate())
            .map(|w| w.transcript_prompt().to_owned());
        let said_alone = wake
            .as_ref()
            .and_then(|w| w.said_alone.as_deref())
            .filter(|_| check_prompt.is_some());
        let samples = match said_alone {
            Some(alone) => {
                let breath = vec![0.0; crate::audio::PIPELINE_RATE as usize * 3 / 10];
                [alone, &breath, &cut.utterance.samples].concat()
            }
            None => cut.utterance.samples,
        };
        // An enrolled phrase outright (the built-in one the brain strips itself): cut from
        // the transcript and from each other reading.
        let enrolled_phrase = wake
            .as_ref()
            .filter(|w| !w.is_candidate() && w.phrase != crate::wake::HEY_LUNA)
            .map(|w| w.phrase.as_str());
        let request = Envelope::entering(SttRequest::Transcribe(SttUtterance {
            samples,
            abandon: None,
            prompt: check_prompt.clone(),
        }))
        .with_speech_end(cut.t_speech_end);
        let id = request.correlation_id;
        let root = command_span(id, source);
        root.record("audio_s", end_s - start_s);
        // What happened before the command existed, as marks with their latencies.
        if let Some(w) = &wake {
            tracing::debug_span!(parent: &root, "wake.detect", phrase = %w.phrase, score = f64::from(w.score), end_s = w.end_s, latency_ms = w.latency_ms.unwrap_or_default()).in_scope(|| {});
        }
        tracing::debug_span!(parent: &root, "vad.endpoint", start_s, end_s, latency_ms = endpoint_ms).in_scope(|| {});
        let request = request.in_span(root);
        let speculated = match speculation {
            // Made with another prompt than this audio needs, or on the command alone
            // where the check hears the phrase said alone before it.
            Some(s) if s.prompt != check_prompt || said_alone.is_some() => {
                s.abandon();
                None
            }
            Some(s) => {
                let waited = Instant::now();
                let t = s.transcript().await;
                tracing::debug!(
                    used = t.is_some(),
                    waited_ms = ms_since(waited),
                    endpoint_ms,
                    "speculative transcription"
                );
                t
            }
            None => None,
        };
        let speculative = speculated.is_some();
        let transcript = match speculated {
            Some(t) => request.carry(t),
            None => self.stt.call(request).await.map_err(|e| {
                warn!(correlation_id = %id, error = %e, "could not transcribe an utterance");
                CommandError::Transcribe(e.to_string())
            })?,
        };
        if transcript.payload.text.is_empty() {
            info!(correlation_id = %id, start_s, end_s, "heard no words");
            return Err(CommandError::NoWords);
        }
        // "hey luna" and its mis-hearings the brain strips; an enrolled phrase is cut here,
        // and so is the phrase that confirms a candidate.
        let text = match (&wake, enrolled_phrase) {
            (Some(w), _) if w.is_candidate() => {
                let heard = &transcript.payload.text;
                let Some(end) = w.phrase_end_in(heard) else {
                    self.metrics.wake_transcript_check("rejected");
                    info!(correlation_id = %id, start_s, end_s, score = f64::from(w.score), said_alone = w.said_alone.is_some(), heard = %heard, "a near wake phrase the transcript does not begin with: not addressed to LUNA");
                    return Err(CommandError::NotAddressed);
                };
                self.metrics.wake_transcript_check("confirmed");
                // Confirmed, a near phrase is a wake phrase: it stops LUNA's reply as a
                // detection would have (later: after its transcription).
                if self.speech.interrupt() {
                    self.metrics.speech_interrupted();
                    info!(correlation_id = %id, phrase = %w.phrase, "wake phrase while speaking: reply interrupted (confirmed by its transcript)");
                }
                heard[end..].to_owned()
            }
            (_, Some(phrase)) => {
                crate::wake::gate::strip_phrase(&transcript.payload.text, phrase).to_owned()
            }
            _ => transcript.payload.text.clone(),
        };
        // Whisper's other readings, cut the same way, if the brain needs them (a
        // candidate's prompted transcription has none).
        let rehearing = transcript.payload.decoding.map(|decoding| Rehearing {
            decoding,
            strip_phrase: enrolled_phrase.map(str::to_owned),
        });
        let latency_ms = Latencies {
            wake: wake.as_ref().and_then(|w| w.latency_ms),
            endpoint: Some(endpoint_ms),
            stt: Some(transcript.payload.transcribe_ms),
            ..Latencies::default()
        };
        let (outcome, latency_ms) = self
            .act(CommandRequest {
                envelope: transcript.carry(()),
                text,
                rehearing,
                source,
                received_at_ms,
                dry_run,
                latency_ms,
            })
            .await
            .inspect_err(|e| warn!(correlation_id = %id, error = %e, "utterance not acted on"))?;
        let understood: Vec<String> = outcome
            .intents
            .iter()
            .map(|i| {
                let slots: Vec<String> = i.slots.iter().map(|(k, v)| format!("{k}={v}")).collect();
                format!("{} {}", i.intent, slots.join(" "))
            })
            .collect();
        info!(
            correlation_id = %id, start_s, end_s, stt_ms = latency_ms.stt, heard = %outcome.text,
            understood = %understood.join("; "),
            wake = wake.as_ref().map(|w| w.phrase.as_str()).unwrap_or("-"),
            response = %outcome.response, "utterance"
        );
        Ok(VoiceReport {
            outcome,
            wake,
            transcript: transcript.payload.text.clone(),
            speculative,
            start_s,
            end_s,
            latency_ms,
        })
    }
}

/// A transcription started on an utterance before it was cut, while the VAD's hangover
/// ran (`[vad] speculate_ms`). Used only for the very audio it was started on.
pub struct Speculation {
    start_sample: u64,
    end_sample: u64,
    samples: Vec<f32>,
    /// Whisper's prompt it was made with (a near phrase's transcript check).
    prompt: Option<String>,
    abandon: Arc<AtomicBool>,
    result: oneshot::Receiver<Result<Envelope<Transcript>, StageError<crate::stt::SttError>>>,
}

impl Speculation {
    /// Whether `u` is the utterance this transcription was started on: same span, same
    /// samples (so its transcript is exactly the one `u` would get).
    fn is_for(&self, u: &crate::vad::Utterance) -> bool {
        self.start_sample == u.start_sample
            && self.end_sample == u.end_sample
            && self.samples == u.samples
    }

    /// Drops it: a queued transcription is skipped, a running one stops at its next step.
    fn abandon(self) {
        self.abandon.store(true, Ordering::Release);
    }

    /// Its transcript, or `None` when it failed or was abandoned.
    async fn transcript(self) -> Option<Transcript> {
        match self.result.await {
            Ok(Ok(t)) if t.payload.dropped.as_deref() != Some(crate::stt::ABANDONED) => {
                Some(t.payload)
            }
            _ => None,
        }
    }
}

/// One stream's speculative transcription: at most one in flight, started on a tentative
/// utterance addressed to LUNA and used only for its identical cut.
#[derive(Default)]
pub(super) struct Speculator {
    current: Option<Speculation>,
}

impl Speculator {
    /// Speech went on after the tentative utterance: its transcription is of no use.
    pub(super) fn resumed(&mut self, metrics: &crate::metrics::Metrics) {
        if let Some(s) = self.current.take() {
            tracing::debug!("speech went on: speculative transcription abandoned");
            s.abandon();
            metrics.speculation("abandoned");
        }
    }

    /// The transcription started on exactly this utterance, if any.
    pub(super) fn take_for(
        &mut self,
        u: &crate::vad::Utterance,
        metrics: &crate::metrics::Metrics,
    ) -> Option<Speculation> {
        let s = self.current.take_if(|s| s.is_for(u))?;
        metrics.speculation("used");
        Some(s)
    }

    /// After a chunk of audio, its commands handed on: when the VAD cut anything,
    /// whatever is still in flight is stale; a `tentative` utterance (`gate`: already
    /// addressed to LUNA, or no wake word) is transcribed now unless one is in flight.
    pub(super) fn after_chunk(
        &mut self,
        cut_any: bool,
        tentative: Option<UtteranceCut>,
        gate: Option<&GatedCuts>,
        downstream: &Downstream,
    ) {
        if cut_any {
            if let Some(s) = self.current.take() {
                s.abandon();
                downstream.metrics.speculation("unused");
            }
        }
        let Some(t) = tentative else {
            return;
        };
        if self.current.is_some() {
            return;
        }
        if gate.is_none_or(|g| g.would_admit(&t.utterance)) {
            self.current = Some(downstream.speculate(&t, None));
        } else if let Some(prompt) = gate.and_then(|g| g.check_prompt(&t.utterance)) {
            // A near phrase: its transcript check's transcription, started early too.
            self.current = Some(downstream.speculate(&t, Some(prompt)));
        }
    }

    /// The stream ended.
    pub(super) fn stop(&mut self) {
        if let Some(s) = self.current.take() {
            s.abandon();
        }
    }
}

fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

/// The wake gate with the utterances it has not decided on yet (no wake phrase so far,
/// and the detector has not heard far enough past them to know there is none).
pub(super) struct GatedCuts {
    gate: WakeGate,
    waiting: VecDeque<UtteranceCut>,
    /// The audio of the last wake-phrase candidate said on its own (the detection's end
    /// sample, the utterance), for the transcript check of the command it armed.
    candidate_alone: Option<(u64, Arc<[f32]>)>,
}

impl GatedCuts {
    pub(super) fn new(follow_up_ms: u32) -> Self {
        Self {
            gate: WakeGate::new(follow_up_ms),
            waiting: VecDeque::new(),
            candidate_alone: None,
        }
    }

    pub(super) fn detected(&mut self, d: Detection) {
        self.gate.detected(d);
    }

    /// See `WakeGate::arm`.
    pub(super) fn arm(&mut self, d: Detection) {
        self.gate.arm(d);
    }

    /// Whether `u`, not cut yet, would be a command now (see `WakeGate::would_admit`).
    pub(super) fn would_admit(&self, u: &crate::vad::Utterance) -> bool {
        self.waiting.is_empty() && self.gate.would_admit(u.start_sample, u.end_sample)
    }

    /// The prompt of the transcript check `u`, not cut yet, would get now: a near phrase
    /// inside it (see `WakeGate::candidate_inside`).
    pub(super) fn check_prompt(&self, u: &crate::vad::Utterance) -> Option<String> {
        if !self.waiting.is_empty() {
            return None;
        }
        self.gate
            .candidate_inside(u.start_sample, u.end_sample)
            .map(|d| d.transcript_prompt().to_owned())
    }

    /// The utterances decided now, in the order they were said, with the gate's verdict;
    /// the detector has heard the stream up to `heard_until` (`u64::MAX` once the
    /// stream has ended). A command's audio is trimmed to start where the gate says.
    pub(super) fn decide(
        &mut self,
        cuts: impl IntoIterator<Item = UtteranceCut>,
        heard_until: u64,
    ) -> Vec<(UtteranceCut, Admission)> {
        self.waiting.extend(cuts);
        let mut decided = Vec::new();
        while let Some(cut) = self.waiting.front_mut() {
            let u = &mut cut.utterance;
            let Some(mut admission) = self.gate.admit(u.start_sample, u.end_sample, heard_until)
            else {
                break;
            };
            match &mut admission {
                Admission::Command { from_sample, wake } => {
                    let skip = from_sample.saturating_sub(u.start_sample) as usize;
                    u.samples.drain(..skip.min(u.samples.len()));
                    u.start_sample += skip as u64;
                    // A candidate said on its own: its check hears that utterance too.
                    if let Some(d) = wake.as_mut().filter(|d| d.is_candidate()) {
                        if let Some((_, audio)) = self
                            .candidate_alone
                            .take()
                            .filter(|(end, _)| *end == d.end_sample)
                        {
                            d.said_alone = Some(audio);
                        }
                    }
                }
                Admission::WakeOnly(d) => {
                    self.candidate_alone = d
                        .is_candidate()
                        .then(|| (d.end_sample, Arc::from(u.samples.as_slice())));
                }
                Admission::Ignore => {}
            }
            if let Some(cut) = self.waiting.pop_front() {
                decided.push((cut, admission));
            }
        }
        decided
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vad::Utterance;
    use crate::wake::WakeCheck;

    const S: u64 = crate::audio::PIPELINE_RATE as u64;

    fn cut(start: u64, end: u64, value: f32) -> UtteranceCut {
        let utterance = Utterance {
            samples: vec![value; (end - start) as usize],
            start_sample: start,
            end_sample: end,
            cut_sample: end,
            truncated: false,
        };
        UtteranceCut::new(utterance, end, Instant::now())
    }

    fn candidate(end_sample: u64) -> Detection {
        Detection {
            phrase: crate::wake::HEY_LUNA.into(),
            end_s: end_sample as f64 / S as f64,
            end_sample,
            score: 0.5,
            check: WakeCheck::Transcript,
            latency_ms: None,
            said_alone: None,
            enrolled_check: None,
        }
    }

    #[test]
    fn a_candidate_said_alone_goes_with_its_command_for_the_transcript_check() {
        let mut gated = GatedCuts::new(6000);
        gated.detected(candidate(S + S / 2));
        let decided = gated.decide([cut(S, S + S / 2, 0.25)], u64::MAX);
        assert!(matches!(decided[0].1, Admission::WakeOnly(_)));
        let decided = gated.decide([cut(3 * S, 4 * S, 0.5)], u64::MAX);
        let Admission::Command { wake: Some(d), .. } = &decided[0].1 else {
            panic!("not a command: {:?}", decided[0].1);
        };
        let alone = d.said_alone.as_deref().expect("the phrase's audio");
        assert_eq!(alone.len(), (S / 2) as usize);
        assert!(alone.iter().all(|s| *s == 0.25));
        // The command's own audio is untouched: the check joins them.
        assert!(decided[0].0.utterance.samples.iter().all(|s| *s == 0.5));
        // A phrase heard over the threshold needs no audio kept.
        let mut gated = GatedCuts::new(6000);
        let heard = Detection {
            check: WakeCheck::Acoustic,
            ..candidate(S + S / 2)
        };
        gated.detected(heard);
        gated.decide([cut(S, S + S / 2, 0.25)], u64::MAX);
        let decided = gated.decide([cut(3 * S, 4 * S, 0.5)], u64::MAX);
        let Admission::Command { wake: Some(d), .. } = &decided[0].1 else {
            panic!("not a command: {:?}", decided[0].1);
        };
        assert!(d.said_alone.is_none());
    }
}
