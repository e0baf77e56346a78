//! `luna run`: starts the stages under supervision, serves until told to stop (or until
//! a file or stdin input ends), then shuts down in order: upstream first, the store
//! last, flushed.
//!
//! With an audio input: AudioActor → VadActor + WakeActor → SttActor → BrainActor →
//! ExecutorActor → StoreActor. The pump hands each chunk of audio to the wake detector
//! and the VAD; `wake::gate::WakeGate` (through `downstream::GatedCuts`) passes on only
//! the utterances addressed to LUNA (every utterance with `--no-wake`, for push-to-talk
//! setups and recordings).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use luna_actors::{Envelope, Escalation, StageAddr, StageError};
use tokio::sync::{mpsc, oneshot};
use tracing::{error, info, warn};

use super::downstream::{GatedCuts, Speculator};
use super::{
    restart_policy, start_audio, start_brain, start_scheduler, start_store, start_stt, start_tts,
    start_vad, start_wake, AudioStage, Downstream, ExecutorActor, Reply, RunPlan, SchedulerStage,
    StoreReply, StoreRequest, Tick, TtsStage, VadCuts, VadStage, VoiceReport, WakeAudio, WakeStage,
};
use crate::audio::source::{self, InputSpec, SourceError};
use crate::brain::{BrainError, BrainModel, BrainSettings};
use crate::config::Config;
use crate::exec::{Effects, ExecSettings};
use crate::store::CommandSource;
use crate::store::{Store, StoreError, StoreOptions};
use crate::stt::SttSettings;
use crate::vad::VadSettings;
use crate::wake::gate::{Admission, RecentAudio, BARGE_IN_WINDOW, MIN_BARGE_IN_DBFS};
use crate::wake::{WakeError, WakeSettings};

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Brain(#[from] BrainError),
    #[error(transparent)]
    Input(#[from] SourceError),
    #[error(transparent)]
    Api(#[from] super::api::ApiError),
    #[error(transparent)]
    Wyoming(#[from] super::wyoming_service::WyomingServiceError),
    #[error(transparent)]
    RemoteStt(#[from] crate::stt::remote::RemoteSttError),
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

/// The wake detector and the gate it feeds (absent with `--no-wake`).
struct Wake {
    stage: StageAddr<WakeStage>,
    gate: GatedCuts,
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
    api: Option<super::api::Api>,
    /// LUNA as a Wyoming service (`[api] wyoming_bind`); stops when dropped.
    _wyoming: Option<super::wyoming_service::WyomingServer>,
    /// The Wyoming satellites LUNA drives (`[satellites] wyoming`); stop when dropped.
    _satellites: Option<super::satellites::Satellites>,
    metrics_server: Option<super::api::Api>,
    hearing: Option<Hearing>,
    scheduler: StageAddr<SchedulerStage>,
    scheduler_pump: tokio::task::JoinHandle<()>,
    tts: Option<StageAddr<TtsStage>>,
    downstream: Downstream,
    escalations: mpsc::UnboundedReceiver<Escalation>,
}

/// How often the audio source is drained.
const PUMP_INTERVAL: Duration = Duration::from_millis(20);

/// How the daemon is started.
#[derive(Default)]
pub struct DaemonOptions {
    /// Where audio comes from, if anywhere.
    pub input: Option<InputSpec>,
    /// Act on every utterance, not only on those addressed to LUNA by a wake phrase.
    pub no_wake: bool,
    /// Read a file input as fast as it can be processed, not at real-time pace.
    pub fast: bool,
    /// Where each spoken command's report goes when it is done (`luna replay`).
    pub reports: Option<mpsc::UnboundedSender<VoiceReport>>,
    /// Serve the HTTP/WebSocket API on `[api] bind` (when not empty).
    pub api: bool,
}

impl Daemon {
    /// Starts every stage. Must be called inside a running actix `System`.
    pub fn start(config: &Config, options: DaemonOptions) -> Result<Self, DaemonError> {
        let DaemonOptions {
            input,
            no_wake,
            fast,
            reports,
            api,
        } = options;
        let faults = config.debug.panic_every().unwrap_or_default();
        if !faults.is_empty() {
            warn!(
                ?faults,
                "fault injection is on: these stages will panic on purpose"
            );
            luna_actors::faults::configure(faults.into_iter().collect());
        }
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
        let (executor, executor_stats) = {
            let settings = ExecSettings::from_config(config);
            let dry_run = settings.dry_run;
            let actor = ExecutorActor::new(
                settings,
                Effects::new(store.clone(), dry_run),
                Duration::from_secs(10),
            );
            let stats = actor.stats_probe();
            (actor.start(), stats)
        };
        let scheduler =
            start_scheduler(store.clone(), policy(false), supervisor.clone().recipient());
        let speech = Arc::new(crate::tts::SpeechControl::default());
        let tts = config.tts.enabled.then(|| {
            let voice = crate::tts::Voice::from_config(&config.tts);
            start_tts(
                voice,
                config.tts.output.clone(),
                Arc::clone(&speech),
                policy(false),
                supervisor.clone().recipient(),
            )
        });
        let scheduler_pump = actix::spawn(fire_schedules(
            scheduler.clone(),
            executor.clone(),
            tts.clone(),
            Arc::clone(&speech),
        ));
        let store_reader = store.clone();
        let store = start_store(store, options, policy(true), supervisor.clone().recipient());

        let started = std::time::Instant::now();
        let model = Arc::new(BrainModel::from_config(
            &config.brain,
            crate::exec::apps::app_catalogue(),
        )?);
        info!(
            ms = started.elapsed().as_millis() as u64,
            patterns = model.grammar.len(),
            "brain ready"
        );
        let metrics = Arc::new(crate::metrics::Metrics::new());
        let brain = start_brain(
            model,
            BrainSettings::from(&config.brain),
            Arc::clone(&metrics),
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
        let remote_stt = (config.stt.backend == "wyoming")
            .then(|| {
                crate::stt::remote::RemoteStt::new(
                    &config.stt.wyoming_uri,
                    std::time::Duration::from_millis(config.stt.wyoming_timeout_ms.into()),
                )
            })
            .transpose()?;
        if let Some(remote) = &remote_stt {
            info!(
                uri = remote.uri(),
                "speech to text on a Wyoming service, the local model as fallback"
            );
        }
        let stt = start_stt(
            stt_settings,
            remote_stt.map(|r| (r, Arc::clone(&metrics))),
            config.stt.preload,
            policy(true),
            supervisor.clone().recipient(),
        );

        let downstream = Downstream {
            stt,
            brain,
            store,
            executor,
            tts: tts.clone(),
            speech: Arc::clone(&speech),
            plan_slots: Arc::new(tokio::sync::Semaphore::new(
                config.system.max_concurrent_tasks as usize,
            )),
            metrics: Arc::clone(&metrics),
            confirmations: Arc::new(std::sync::Mutex::new(
                crate::exec::confirm::Confirmations::new(Duration::from_secs(
                    config.exec.confirm_timeout_s.into(),
                )),
            )),
        };
        // The wake-word front end, once loaded, serves the microphone and API streams.
        let mut wake_models = None;
        let hearing = match input {
            None => None,
            Some(spec) => {
                // Check the input here, once, with a clear error: inside the actor a
                // missing device would only show as restarts.
                source::probe(&spec)?;
                let paced = !fast && !matches!(spec, InputSpec::Stdin);
                // A microphone hears LUNA speak unless its echo is cancelled (a file,
                // stdin or a satellite never does).
                let hears_luna = matches!(spec, InputSpec::Mic(_)) && !config.audio.echo_cancelled;
                let audio = start_audio(spec, paced, policy(false), supervisor.clone().recipient());
                let wake = if no_wake {
                    None
                } else {
                    let settings = WakeSettings::from_config(&config.wake)?;
                    let models = crate::wake::load_models(&settings)?;
                    wake_models = Some((Arc::clone(&models), settings.clone()));
                    // Build one detector here so a bad phrase is an error at start.
                    let detector = crate::wake::WakeDetector::new(Arc::clone(&models), &settings)?;
                    for phrase in detector.describe() {
                        info!(%phrase, "listening for wake phrase");
                    }
                    Some(Wake {
                        gate: GatedCuts::new(settings.follow_up_ms),
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
                let wake_stage = wake.as_ref().map(|w| w.stage.clone());
                let pump = actix::spawn(pump(
                    audio.clone(),
                    vad.clone(),
                    wake,
                    Pumped {
                        downstream: downstream.clone(),
                        hears_luna,
                        source: if reports.is_some() {
                            CommandSource::Replay
                        } else {
                            CommandSource::Voice
                        },
                        reports,
                    },
                    ended_tx,
                ));
                Some(Hearing {
                    audio,
                    vad,
                    wake: wake_stage,
                    pump,
                    ended,
                })
            }
        };
        // Every stage's supervision counters, in every scrape.
        let watch = |name: &'static str, probe: crate::metrics::StageProbe| {
            metrics.watch_stage(name, probe);
        };
        watch("scheduler", Box::new(scheduler.stats_probe()));
        if let Some(tts) = &tts {
            watch("tts", Box::new(tts.stats_probe()));
        }
        watch("store", Box::new(downstream.store.stats_probe()));
        watch("brain", Box::new(downstream.brain.stats_probe()));
        watch("exec", Box::new(executor_stats));
        watch("stt", Box::new(downstream.stt.stats_probe()));
        if let Some(h) = &hearing {
            watch("audio", Box::new(h.audio.stats_probe()));
            watch("vad", Box::new(h.vad.stats_probe()));
            if let Some(w) = &h.wake {
                watch("wake", Box::new(w.stats_probe()));
            }
        }
        let metrics_server = if api && !config.telemetry.metrics_addr.is_empty() {
            Some(super::api::start_metrics(
                &config.telemetry.metrics_addr,
                Arc::clone(&metrics),
            )?)
        } else {
            None
        };
        let serve_wyoming = api && !config.api.wyoming_bind.is_empty();
        let drive_satellites = api && !config.satellites.wyoming.is_empty();
        // Satellites and API streams hear with the wake word's models: load them unless
        // the microphone's hearing already did.
        if (drive_satellites || (api && !config.api.bind.is_empty())) && wake_models.is_none() {
            wake_models = WakeSettings::from_config(&config.wake)
                .ok()
                .and_then(|s| crate::wake::load_models(&s).ok().map(|m| (m, s)));
        }
        let satellites = drive_satellites.then(|| {
            super::satellites::start_satellites(
                &config.satellites.wyoming,
                super::satellites::SatelliteContext {
                    downstream: downstream.clone(),
                    vad: crate::vad::VadSettings::from_config(&config.vad),
                    wake: wake_models.clone(),
                    voice: crate::tts::Voice::from_config(&config.tts),
                },
            )
        });
        let api = if api && !config.api.bind.is_empty() {
            if wake_models.is_none() {
                warn!("no wake-word models: API streams need ?no_wake=true until `luna model install` is run");
            }
            Some(super::api::start_api(
                config,
                downstream.clone(),
                store_reader,
                wake_models,
            )?)
        } else {
            None
        };
        let wyoming = if serve_wyoming {
            Some(super::wyoming_service::start_wyoming(
                &config.api.wyoming_bind,
                downstream.clone(),
                config.api.max_audio_s,
            )?)
        } else {
            None
        };
        Ok(Self {
            api,
            _wyoming: wyoming,
            _satellites: satellites,
            metrics_server,
            hearing,
            scheduler,
            scheduler_pump,
            tts,
            downstream,
            escalations,
        })
    }

    /// Where the API listens, when it is served.
    pub fn api_addr(&self) -> Option<std::net::SocketAddr> {
        self.api.as_ref().map(|a| a.addr)
    }

    /// Where the Prometheus metrics are served, when they are.
    pub fn metrics_addr(&self) -> Option<std::net::SocketAddr> {
        self.metrics_server.as_ref().map(|a| a.addr)
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
        if let Some(api) = self.api.take() {
            api.stop().await;
        }
        if let Some(server) = self.metrics_server.take() {
            server.stop().await;
        }
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
        let d = &self.downstream;
        d.plan_slots.close();
        d.stt.shutdown().await;
        d.brain.shutdown().await;
        let flushed = d
            .store
            .call(Envelope::entering(StoreRequest::Checkpoint))
            .await;
        d.store.shutdown().await;
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
    speech: Arc<crate::tts::SpeechControl>,
) {
    let mut tick = tokio::time::interval(SCHEDULE_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let announce = |envelope: &Envelope<_>, message: String| {
        if which::which("notify-send").is_ok() {
            if let Ok(mut child) = std::process::Command::new("notify-send")
                .args(["LUNA", &message])
                .spawn()
            {
                std::thread::spawn(move || child.wait());
            }
        }
        if let Some(tts) = &tts {
            tts.push_always(envelope.carry(Reply {
                text: message,
                epoch: speech.epoch(),
            }));
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
                            dry_run: false,
                            confirmed: false,
                            span: tracing::Span::none(),
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
/// Where the pump's utterances go.
struct Pumped {
    downstream: Downstream,
    /// The source hears LUNA's own voice: what it hears while LUNA speaks is dropped.
    hears_luna: bool,
    reports: Option<mpsc::UnboundedSender<VoiceReport>>,
    source: CommandSource,
}

async fn pump(
    audio: StageAddr<AudioStage>,
    vad: StageAddr<VadStage>,
    mut wake: Option<Wake>,
    to: Pumped,
    ended: oneshot::Sender<()>,
) {
    let mut tick = tokio::time::interval(PUMP_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut in_flight = Vec::new();
    // Stream samples handed to the VAD and the detector so far: their common clock.
    let mut position: u64 = 0;
    let mut recent = RecentAudio::new(2.0);
    let mut dropped_seen: u64 = 0;
    // A transcription started in a pause of speech, before the utterance is cut.
    let mut speculator = Speculator::default();
    loop {
        tick.tick().await;
        let mut frames = match audio.call(Envelope::entering(Tick)).await {
            Ok(frames) => frames,
            // The audio stage has stopped (shutdown): so does the pump.
            Err(StageError::Unreachable { .. }) => {
                info!("the audio stage has stopped: the pump stops");
                break;
            }
            Err(e) => {
                warn!(error = %e, "no audio this tick");
                if audio.stats().escalated {
                    break;
                }
                continue;
            }
        };
        let source_ended = frames.payload.ended;
        // A reopened source counts from zero again.
        let dropped = frames.payload.dropped;
        if dropped != dropped_seen {
            to.downstream
                .metrics
                .audio_dropped(dropped.saturating_sub(dropped_seen));
            dropped_seen = dropped;
        }
        if to.hears_luna && to.downstream.speech.is_speaking() {
            // LUNA is talking: drop what the microphone hears (its own voice, which the
            // wake detector can take for "hey luna"). On an echo-cancelled input it
            // listens on, and a wake phrase interrupts the reply (barge-in).
            continue;
        }
        if !frames.payload.samples.is_empty() || source_ended {
            let first_sample = position;
            frames.payload.first_sample = first_sample;
            position += frames.payload.samples.len() as u64;
            recent.push(&frames.payload.samples);
            if let Some(w) = wake.as_mut() {
                let t_read = frames.payload.t_read;
                let chunk = frames.carry(WakeAudio {
                    samples: frames.payload.samples.clone(),
                    first_sample,
                });
                match w.stage.call(chunk).await {
                    Ok(found) => {
                        for mut d in found.payload {
                            if to.downstream.speech.is_speaking() {
                                let from = d.end_sample.saturating_sub(BARGE_IN_WINDOW);
                                let level = recent.level_dbfs(from, d.end_sample);
                                if level.is_some_and(|l| l < MIN_BARGE_IN_DBFS) {
                                    to.downstream.metrics.wake_rejected();
                                    info!(phrase = %d.phrase, level_dbfs = level, "a wake phrase this quiet while LUNA speaks is its own echo: ignored");
                                    continue;
                                }
                            }
                            // The hop's last sample was captured `behind` before t_read.
                            let behind = position.saturating_sub(d.end_sample) as f64
                                / f64::from(crate::audio::PIPELINE_RATE);
                            d.latency_ms =
                                Some(t_read.elapsed().as_secs_f64() * 1000.0 + behind * 1000.0);
                            // A candidate is not a wake phrase until its transcript says so.
                            if !d.is_candidate() {
                                if to.downstream.speech.interrupt() {
                                    to.downstream.metrics.speech_interrupted();
                                    info!(phrase = %d.phrase, "wake phrase while speaking: reply interrupted");
                                }
                                to.downstream.metrics.wake_detected(&d.phrase);
                            }
                            w.gate.detected(d);
                        }
                    }
                    Err(e) => warn!(error = %e, "wake-word detection failed on a chunk"),
                }
            }
            match vad.call(frames).await {
                Ok(heard) => {
                    let VadCuts {
                        cuts,
                        tentative,
                        resumed,
                    } = heard.payload;
                    let metrics = &to.downstream.metrics;
                    if resumed {
                        speculator.resumed(metrics);
                    }
                    let cut_any = !cuts.is_empty();
                    // The detector has heard up to `position` (all of it once the source ended).
                    let heard_until = if source_ended { u64::MAX } else { position };
                    let commands: Vec<_> = match wake.as_mut() {
                        None => cuts.into_iter().map(|cut| (cut, None)).collect(),
                        Some(w) => w
                            .gate
                            .decide(cuts, heard_until)
                            .into_iter()
                            .filter_map(|(cut, admission)| match admission {
                                Admission::Command { wake, .. } => Some((cut, wake)),
                                Admission::WakeOnly(d) if d.is_candidate() => {
                                    info!(phrase = %d.phrase, end_s = d.end_s, score = f64::from(d.score), "near wake phrase alone; the next utterance's transcript decides");
                                    None
                                }
                                Admission::WakeOnly(d) => {
                                    to.downstream.metrics.wake_alone();
                                    info!(phrase = %d.phrase, end_s = d.end_s, "wake phrase alone; listening for the command");
                                    None
                                }
                                Admission::Ignore => {
                                    to.downstream.metrics.utterance_ignored();
                                    let u = &cut.utterance;
                                    info!(
                                        start_s = u.start_s(),
                                        end_s = u.end_s(),
                                        "speech not addressed to LUNA"
                                    );
                                    None
                                }
                            })
                            .collect(),
                    };
                    for (cut, wake_detection) in commands {
                        let speculated = speculator.take_for(&cut.utterance, metrics);
                        let (downstream, reports) = (to.downstream.clone(), to.reports.clone());
                        in_flight.push(actix::spawn(async move {
                            let heard = downstream
                                .hear_speculated(cut, wake_detection, to.source, false, speculated)
                                .await;
                            if let (Ok(report), Some(reports)) = (heard, reports) {
                                let _ = reports.send(report);
                            }
                        }));
                    }
                    let gate = wake.as_ref().map(|w| &w.gate);
                    speculator.after_chunk(cut_any, tentative, gate, &to.downstream);
                }
                Err(e) => warn!(error = %e, "voice detection failed on a chunk"),
            }
        }
        in_flight.retain(|task: &tokio::task::JoinHandle<()>| !task.is_finished());
        if source_ended {
            break;
        }
    }
    speculator.stop();
    for task in in_flight {
        let _ = task.await;
    }
    let _ = ended.send(());
}
