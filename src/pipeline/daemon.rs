//! `luna run`: starts the stages under supervision, serves until told to stop (or until
//! a file or stdin input ends), then shuts down in order: upstream first, the store
//! last, flushed.
//!
//! With an audio input: AudioActor → VadActor + WakeActor → SttActor → BrainActor →
//! ExecutorActor → StoreActor. The pump hands each chunk of audio to the wake detector
//! and the VAD; `wake::gate::WakeGate` passes on only the utterances addressed to LUNA
//! (every utterance with `--no-wake`, for push-to-talk setups and recordings).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use luna_actors::{Envelope, Escalation, StageAddr};
use tokio::sync::{mpsc, oneshot};
use tracing::{error, info, warn};

use super::{
    restart_policy, start_audio, start_brain, start_scheduler, start_store, start_stt, start_tts,
    start_vad, start_wake, AudioStage, BrainRequest, BrainStage, ExecutorActor, RunPlan,
    SchedulerStage, StoreReply, StoreRequest, StoreStage, SttRequest, SttStage, Tick, TtsStage,
    UtteranceCut, VadStage, WakeAudio, WakeStage,
};
use crate::audio::source::{self, InputSpec, SourceError};
use crate::brain::{AppCatalog, BrainError, BrainModel, BrainSettings};
use crate::config::Config;
use crate::exec::{Effects, ExecSettings};
use crate::store::CommandSource;
use crate::store::{Store, StoreError, StoreOptions};
use crate::stt::SttSettings;
use crate::vad::VadSettings;
use crate::wake::gate::{Admission, WakeGate};
use crate::wake::{Detection, WakeError, WakeSettings};

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Brain(#[from] BrainError),
    #[error(transparent)]
    Input(#[from] SourceError),
    #[error("{0} (or run with --no-wake to act on every utterance)")]
    Wake(#[from] WakeError),
    #[error("stage {stage} failed {restarts} times within {window_s} s and was not restarted again; last failure: {last_failure}")]
    Escalated {
        stage: &'static str,
        restarts: u32,
        window_s: u64,
        last_failure: String,
    },
    #[error("could not flush the database at shutdown: {0}")]
    Flush(String),
}

/// Receives escalations from every stage and hands them to the serving loop.
struct PipelineSupervisor {
    escalations: mpsc::UnboundedSender<Escalation>,
}

impl Actor for PipelineSupervisor {
    type Context = Context<Self>;
}

impl Handler<Escalation> for PipelineSupervisor {
    type Result = ();

    fn handle(&mut self, msg: Escalation, _: &mut Context<Self>) {
        error!(stage = msg.stage, last_failure = %msg.last_failure, "stage escalated its failure");
        let _ = self.escalations.send(msg);
    }
}

/// The front of the pipeline, when there is an audio input.
/// What the pump hands each utterance to.
#[derive(Clone)]
struct Downstream {
    stt: StageAddr<SttStage>,
    brain: StageAddr<BrainStage>,
    store: StageAddr<StoreStage>,
    executor: Addr<ExecutorActor>,
    tts: Option<StageAddr<TtsStage>>,
    /// Set while LUNA speaks: what the microphone hears then is not a command.
    speaking: Arc<std::sync::atomic::AtomicBool>,
    /// Only a microphone can hear LUNA speak (a file or stdin cannot).
    is_microphone: bool,
}

/// The wake detector and the gate it feeds (absent with `--no-wake`).
struct Wake {
    stage: StageAddr<WakeStage>,
    gate: WakeGate,
}

struct Hearing {
    audio: StageAddr<AudioStage>,
    vad: StageAddr<VadStage>,
    wake: Option<StageAddr<WakeStage>>,
    pump: tokio::task::JoinHandle<()>,
    ended: oneshot::Receiver<()>,
}

/// The running pipeline.
pub struct Daemon {
    hearing: Option<Hearing>,
    scheduler: StageAddr<SchedulerStage>,
    scheduler_pump: tokio::task::JoinHandle<()>,
    tts: Option<StageAddr<TtsStage>>,
    pub stt: StageAddr<SttStage>,
    pub brain: StageAddr<BrainStage>,
    pub store: StageAddr<StoreStage>,
    escalations: mpsc::UnboundedReceiver<Escalation>,
}

/// How often the audio source is drained.
const PUMP_INTERVAL: Duration = Duration::from_millis(20);

impl Daemon {
    /// Starts every stage. Must be called inside a running actix `System`.
    /// `input`: where audio comes from, if anywhere. `no_wake`: act on every utterance,
    /// not only on those addressed to LUNA by a wake phrase.
    pub fn start(
        config: &Config,
        input: Option<InputSpec>,
        no_wake: bool,
    ) -> Result<Self, DaemonError> {
        let (tx, escalations) = mpsc::unbounded_channel();
        let supervisor = PipelineSupervisor { escalations: tx }.start();
        let policy = |retry| restart_policy(&config.system, retry);
        let options = StoreOptions {
            pool_size: config.store.pool_size,
            busy_timeout: Duration::from_millis(config.store.busy_timeout_ms.into()),
        };
        let path = config.store_path();
        let store = Store::open(&path, &options)?;
        info!(path = %path.display(), version = store.schema_version()?, "database open");
        let executor = {
            let settings = ExecSettings::from_config(&config.exec);
            let dry_run = settings.dry_run;
            ExecutorActor::new(
                settings,
                Effects::new(store.clone(), dry_run),
                Duration::from_secs(10),
            )
            .start()
        };
        let scheduler =
            start_scheduler(store.clone(), policy(false), supervisor.clone().recipient());
        let speaking = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let tts = config.tts.enabled.then(|| {
            let voice = crate::tts::Voice {
                voice: config.tts.voice.clone(),
                words_per_minute: config.tts.rate_wpm,
            };
            start_tts(
                voice,
                Arc::clone(&speaking),
                policy(false),
                supervisor.clone().recipient(),
            )
        });
        let scheduler_pump = actix::spawn(fire_schedules(
            scheduler.clone(),
            executor.clone(),
            tts.clone(),
        ));
        let store = start_store(store, options, policy(true), supervisor.clone().recipient());

        let started = std::time::Instant::now();
        let model = Arc::new(BrainModel::from_config(
            &config.brain,
            AppCatalog::builtin(),
        )?);
        info!(
            ms = started.elapsed().as_millis() as u64,
            patterns = model.grammar.len(),
            "brain ready"
        );
        let brain = start_brain(
            model,
            BrainSettings::from(&config.brain),
            policy(true),
            supervisor.clone().recipient(),
        );

        let stt_settings = SttSettings::from_config(&config.stt);
        if !stt_settings.model_path.is_file() {
            warn!(
                path = %stt_settings.model_path.display(),
                "no speech model: spoken commands cannot be transcribed until `luna model install` is run"
            );
        }
        let stt = start_stt(
            stt_settings,
            config.stt.preload,
            policy(true),
            supervisor.clone().recipient(),
        );

        let hearing = match input {
            None => None,
            Some(spec) => {
                // Check the input here, once, with a clear error: inside the actor a
                // missing device would only show as restarts.
                source::probe(&spec)?;
                let paced = !matches!(spec, InputSpec::Stdin);
                let is_microphone = matches!(spec, InputSpec::Mic(_));
                let audio = start_audio(spec, paced, policy(false), supervisor.clone().recipient());
                let wake = if no_wake {
                    None
                } else {
                    let settings = WakeSettings::from_config(&config.wake)?;
                    let models = crate::wake::load_models(&settings)?;
                    // Build one detector here so a bad phrase is an error at start.
                    let detector = crate::wake::WakeDetector::new(Arc::clone(&models), &settings)?;
                    for (phrase, threshold) in detector.phrases() {
                        info!(phrase, threshold, "listening for wake phrase");
                    }
                    Some(Wake {
                        gate: WakeGate::new(settings.follow_up_ms),
                        stage: start_wake(
                            models,
                            settings,
                            policy(false),
                            supervisor.clone().recipient(),
                        ),
                    })
                };
                let vad = start_vad(
                    VadSettings::from_config(&config.vad),
                    policy(false),
                    supervisor.recipient(),
                );
                let (ended_tx, ended) = oneshot::channel();
                let downstream = Downstream {
                    stt: stt.clone(),
                    brain: brain.clone(),
                    store: store.clone(),
                    executor,
                    tts: tts.clone(),
                    speaking: Arc::clone(&speaking),
                    is_microphone,
                };
                let wake_stage = wake.as_ref().map(|w| w.stage.clone());
                let pump =
                    actix::spawn(pump(audio.clone(), vad.clone(), wake, downstream, ended_tx));
                Some(Hearing {
                    audio,
                    vad,
                    wake: wake_stage,
                    pump,
                    ended,
                })
            }
        };
        Ok(Self {
            hearing,
            scheduler,
            scheduler_pump,
            tts,
            stt,
            brain,
            store,
            escalations,
        })
    }

    /// Serves until `shutdown` resolves (a signal), a file or stdin input ends, or a
    /// stage escalates; then stops every stage in order and flushes the database.
    pub async fn serve_until(
        mut self,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), DaemonError> {
        info!("LUNA is running; stop with Ctrl-C or SIGTERM");
        let input_ended = async {
            match self.hearing.as_mut() {
                Some(h) => {
                    let _ = (&mut h.ended).await;
                }
                None => std::future::pending().await,
            }
        };
        let escalated = tokio::select! {
            () = shutdown => None,
            () = input_ended => {
                info!("the input ended");
                None
            }
            e = self.escalations.recv() => e,
        };
        info!("shutting down");
        // Upstream first: each stage finishes what it has, then the store flushes.
        if let Some(h) = self.hearing.take() {
            h.audio.shutdown().await;
            h.vad.shutdown().await;
            if let Some(wake) = &h.wake {
                wake.shutdown().await;
            }
            // The pump ends with its source; after a signal it is cut short.
            if tokio::time::timeout(Duration::from_millis(200), h.pump)
                .await
                .is_err()
            {
                warn!("audio pump did not stop in time");
            }
        }
        self.scheduler_pump.abort();
        self.scheduler.shutdown().await;
        if let Some(tts) = &self.tts {
            tts.shutdown().await;
        }
        self.stt.shutdown().await;
        self.brain.shutdown().await;
        let flushed = self
            .store
            .call(Envelope::entering(StoreRequest::Checkpoint))
            .await;
        self.store.shutdown().await;
        if let Some(e) = escalated {
            return Err(DaemonError::Escalated {
                stage: e.stage,
                restarts: e.restarts_in_window,
                window_s: e.window.as_secs(),
                last_failure: e.last_failure,
            });
        }
        match flushed {
            Ok(env) if env.payload == StoreReply::Checkpointed => {
                info!("database flushed; bye");
                Ok(())
            }
            Ok(_) => Err(DaemonError::Flush("unexpected store reply".into())),
            Err(e) => Err(DaemonError::Flush(e.to_string())),
        }
    }
}

/// How often due timers, alarms and reminders are looked for.
const SCHEDULE_INTERVAL: Duration = Duration::from_millis(250);

/// Fires what comes due: logged, a desktop notification, and spoken.
async fn fire_schedules(
    scheduler: StageAddr<SchedulerStage>,
    executor: Addr<ExecutorActor>,
    tts: Option<StageAddr<TtsStage>>,
) {
    let mut tick = tokio::time::interval(SCHEDULE_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let announce = |envelope: &Envelope<_>, message: String| {
        if crate::doctor::which("notify-send").is_some() {
            if let Ok(mut child) = std::process::Command::new("notify-send")
                .args(["LUNA", &message])
                .spawn()
            {
                std::thread::spawn(move || child.wait());
            }
        }
        if let Some(tts) = &tts {
            tts.push_always(envelope.carry(message));
        }
    };
    loop {
        tick.tick().await;
        let due = match scheduler.call(Envelope::entering(Tick)).await {
            Ok(due) => due,
            Err(e) => {
                warn!(error = %e, "could not check timers");
                continue;
            }
        };
        for f in &due.payload.fired {
            info!(kind = %f.kind, late_ms = f.late_ms, missed = f.missed, message = %f.message, "schedule fired");
            announce(&due, f.message.clone());
        }
        for step in &due.payload.steps {
            match step {
                Ok(step) => {
                    let plan = crate::brain::Plan {
                        steps: vec![step.clone()],
                        groups: vec![crate::brain::Group {
                            id: 0,
                            steps: vec![0],
                            after: Vec::new(),
                            delay_s: None,
                        }],
                    };
                    let results = executor
                        .send(RunPlan {
                            plan: Arc::new(plan),
                        })
                        .await
                        .unwrap_or_default();
                    let response = crate::exec::response(&results, &[]);
                    info!(intent = %step.intent, response = %response, "delayed step ran");
                    if !response.is_empty() {
                        announce(&due, response);
                    }
                }
                Err(missed) => {
                    info!(message = %missed, "delayed step missed");
                    announce(&due, missed.clone());
                }
            }
        }
    }
}

/// Drains the source every `PUMP_INTERVAL` into the wake detector and the VAD; each
/// utterance addressed to LUNA goes on to speech to text and the brain on its own task,
/// so listening never waits for them.
async fn pump(
    audio: StageAddr<AudioStage>,
    vad: StageAddr<VadStage>,
    mut wake: Option<Wake>,
    downstream: Downstream,
    ended: oneshot::Sender<()>,
) {
    let mut tick = tokio::time::interval(PUMP_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut in_flight = Vec::new();
    // Stream samples handed to the VAD and the detector so far: their common clock.
    let mut position: u64 = 0;
    loop {
        tick.tick().await;
        let frames = match audio.call(Envelope::entering(Tick)).await {
            Ok(frames) => frames,
            Err(e) => {
                warn!(error = %e, "no audio this tick");
                if audio.stats().escalated {
                    break;
                }
                continue;
            }
        };
        let source_ended = frames.payload.ended;
        if downstream.is_microphone
            && downstream
                .speaking
                .load(std::sync::atomic::Ordering::SeqCst)
        {
            // LUNA is talking: drop what the microphone hears (its own voice).
            continue;
        }
        if !frames.payload.samples.is_empty() || source_ended {
            let first_sample = position;
            position += frames.payload.samples.len() as u64;
            if let Some(w) = wake.as_mut() {
                let t_read = frames.payload.t_read;
                let chunk = frames.carry(WakeAudio {
                    samples: frames.payload.samples.clone(),
                    first_sample,
                });
                match w.stage.call(chunk).await {
                    Ok(found) => {
                        for mut d in found.payload {
                            // The hop's last sample was captured `behind` before t_read.
                            let behind = position.saturating_sub(d.end_sample) as f64
                                / f64::from(crate::audio::PIPELINE_RATE);
                            d.latency_ms =
                                Some(t_read.elapsed().as_secs_f64() * 1000.0 + behind * 1000.0);
                            w.gate.detected(d);
                        }
                    }
                    Err(e) => warn!(error = %e, "wake-word detection failed on a chunk"),
                }
            }
            match vad.call(frames).await {
                Ok(cuts) => {
                    for mut cut in cuts.payload {
                        let wake_detection = match wake.as_mut() {
                            None => None,
                            Some(w) => {
                                let u = &cut.utterance;
                                match w.gate.admit(u.start_sample, u.end_sample) {
                                    Admission::Command { from_sample, wake } => {
                                        let skip =
                                            from_sample.saturating_sub(u.start_sample) as usize;
                                        cut.utterance
                                            .samples
                                            .drain(..skip.min(cut.utterance.samples.len()));
                                        cut.utterance.start_sample += skip as u64;
                                        wake
                                    }
                                    Admission::WakeOnly(d) => {
                                        info!(phrase = %d.phrase, end_s = d.end_s, "wake phrase alone; listening for the command");
                                        continue;
                                    }
                                    Admission::Ignore => {
                                        info!(
                                            start_s = u.start_s(),
                                            end_s = u.end_s(),
                                            "speech not addressed to LUNA"
                                        );
                                        continue;
                                    }
                                }
                            }
                        };
                        in_flight.push(actix::spawn(hear(cut, wake_detection, downstream.clone())));
                    }
                }
                Err(e) => warn!(error = %e, "voice detection failed on a chunk"),
            }
        }
        in_flight.retain(|task: &tokio::task::JoinHandle<()>| !task.is_finished());
        if source_ended {
            break;
        }
    }
    for task in in_flight {
        let _ = task.await;
    }
    let _ = ended.send(());
}

/// One command utterance: transcribe, understand, execute and record.
async fn hear(cut: UtteranceCut, wake: Option<Detection>, d: Downstream) {
    // The command was received when its utterance was cut, not when it was recorded.
    let received_at_ms = crate::store::now_ms();
    let u = &cut.utterance;
    let (start_s, end_s) = (u.start_s(), u.end_s());
    let request = Envelope::entering(SttRequest {
        samples: cut.utterance.samples,
    })
    .with_speech_end(cut.t_speech_end);
    let id = request.correlation_id;
    let transcript = match d.stt.call(request).await {
        Ok(t) => t,
        Err(e) => {
            warn!(correlation_id = %id, error = %e, "could not transcribe an utterance");
            return;
        }
    };
    if transcript.payload.text.is_empty() {
        info!(correlation_id = %id, start_s, end_s, "heard no words");
        return;
    }
    // "hey luna" and its mis-hearings the brain strips; an enrolled phrase is cut here.
    let text = match &wake {
        Some(w) if w.phrase != crate::wake::HEY_LUNA => {
            crate::wake::gate::strip_phrase(&transcript.payload.text, &w.phrase).to_owned()
        }
        _ => transcript.payload.text.clone(),
    };
    let stt_ms = transcript.payload.transcribe_ms;
    let t_brain = std::time::Instant::now();
    let understood = match d
        .brain
        .call(transcript.carry(BrainRequest { text: text.clone() }))
        .await
    {
        Ok(u) => u,
        Err(e) => {
            warn!(correlation_id = %id, error = %e, "could not understand an utterance");
            return;
        }
    };
    let brain_ms = t_brain.elapsed().as_secs_f64() * 1000.0;
    let summary: Vec<String> = understood
        .payload
        .intents
        .iter()
        .map(|i| {
            let slots: Vec<String> = i.slots.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("{} {}", i.intent, slots.join(" "))
        })
        .collect();
    let executor = d.executor;
    // speech_end_to_action: from the end of speech in the audio to the plan's dispatch.
    let speech_end_to_action = understood
        .t_speech_end
        .map(|t| t.elapsed().as_secs_f64() * 1000.0);
    let t_dispatch = std::time::Instant::now();
    let plan = std::sync::Arc::clone(&understood.payload.plan);
    let results = executor
        .send(RunPlan { plan: plan.clone() })
        .await
        .unwrap_or_default();
    let dispatch_ms = t_dispatch.elapsed().as_secs_f64() * 1000.0;
    let mut record = crate::command::finished_record(
        id,
        CommandSource::Voice,
        &text,
        received_at_ms,
        &understood.payload.intents,
        &plan,
        &results,
    );
    let response = record.response.clone().unwrap_or_default();
    info!(
        correlation_id = %id, start_s, end_s, stt_ms, heard = %text, understood = %summary.join("; "),
        wake = wake.as_ref().map(|w| w.phrase.as_str()).unwrap_or("-"),
        response = %response, "utterance"
    );
    if let (Some(tts), false) = (&d.tts, response.is_empty()) {
        tts.push_always(understood.carry(response.clone()));
    }
    record.latency_ms.wake = wake.and_then(|w| w.latency_ms);
    record.latency_ms.stt = Some(stt_ms);
    record.latency_ms.brain = Some(brain_ms);
    record.latency_ms.dispatch = Some(dispatch_ms);
    record.latency_ms.speech_end_to_action = speech_end_to_action;
    // A recognized command is never dropped: the store takes it past its mailbox bound.
    if let Err(e) = d
        .store
        .call(understood.carry(StoreRequest::Record(Box::new(record))))
        .await
    {
        error!(correlation_id = %id, error = %e, "could not record a command");
    }
}
