//! Wyoming satellites LUNA drives (`[satellites] wyoming`), as Home Assistant does: LUNA
//! connects to each, asks it to run (`run-satellite`), and hears its microphone stream
//! with a hearing of its own (VAD, wake word, speculation on the satellite's own clock).
//! Each command found goes down the one command path; the satellite is told what was
//! heard (`detection`, `transcript`) and gets the spoken reply as `audio-start`,
//! `audio-chunk`s and `audio-stop`. A satellite that drops is reconnected with backoff
//! (1 s doubling to 30 s); each runs on its own task, so one room's failure touches no
//! other.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::BufReader;
use tokio::sync::mpsc;
use tracing::{info, warn};

use super::stream_hearing::{Heard, StreamHearing};
use super::Downstream;
use crate::audio::pcm16_to_mono;
use crate::audio::resample::StreamResampler;
use crate::audio::PIPELINE_RATE;
use crate::store::CommandSource;
use crate::vad::VadSettings;
use crate::wake::features::FrontEndModels;
use crate::wake::WakeSettings;
use crate::wyoming::{audio_events, read_event, write_event, Event, Limits, WyomingError};

const BACKOFF_FIRST: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// What every satellite's hearing and replies need.
#[derive(Clone)]
pub struct SatelliteContext {
    pub downstream: Downstream,
    pub vad: VadSettings,
    pub wake: Option<(Arc<FrontEndModels>, WakeSettings)>,
    pub voice: crate::tts::Voice,
}

/// The satellites' tasks; they stop when this is dropped.
pub struct Satellites {
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Satellites {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Starts one task per satellite URI ("tcp://host:port"; checked by the config).
pub fn start_satellites(uris: &[String], context: SatelliteContext) -> Satellites {
    let tasks = uris
        .iter()
        .map(|uri| {
            let name = crate::wyoming::host_port(uri).unwrap_or(uri).to_owned();
            let context = context.clone();
            actix_web::rt::spawn(async move { keep_connected(name, context).await })
        })
        .collect();
    Satellites { tasks }
}

async fn keep_connected(name: String, context: SatelliteContext) {
    let metrics = Arc::clone(&context.downstream.metrics);
    metrics.satellite_connected(&name, false);
    let mut backoff = BACKOFF_FIRST;
    loop {
        let started = Instant::now();
        match session(&name, &context).await {
            Ok(()) => info!(satellite = %name, "satellite closed the connection"),
            Err(e) => warn!(satellite = %name, error = %e, "satellite unreachable or dropped"),
        }
        metrics.satellite_connected(&name, false);
        if started.elapsed() > BACKOFF_MAX {
            backoff = BACKOFF_FIRST;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

/// The satellite's audio format, and the resampler to 16 kHz it needs.
struct Format {
    rate: u64,
    channels: usize,
    resampler: StreamResampler,
}

async fn session(name: &str, context: &SatelliteContext) -> Result<(), WyomingError> {
    let stream = tokio::net::TcpStream::connect(name).await?;
    let (read, mut write) = stream.into_split();
    let mut hearing = StreamHearing::new(
        &context.downstream,
        &context.vad,
        context.wake.as_ref(),
        false,
        false,
    )
    .map_err(|e| WyomingError::Io(std::io::Error::other(e)))?;
    write_event(&mut write, &Event::new("describe", json!({}))).await?;
    write_event(&mut write, &Event::new("run-satellite", json!({}))).await?;
    context.downstream.metrics.satellite_connected(name, true);
    info!(satellite = %name, "satellite connected");
    // Replies are written by one task, in the order the commands finish.
    let (replies, mut outbox) = mpsc::unbounded_channel::<Event>();
    let writer = actix_web::rt::spawn(async move {
        while let Some(event) = outbox.recv().await {
            if write_event(&mut write, &event).await.is_err() {
                break;
            }
        }
    });
    let mut reader = BufReader::new(read);
    let mut format: Option<Format> = None;
    let result = loop {
        let event = match read_event(&mut reader, &Limits::default()).await {
            Ok(Some(event)) => event,
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
        };
        let samples = match event.kind.as_str() {
            "audio-chunk" => {
                let (rate, channels) = (
                    event.u64("rate").unwrap_or(u64::from(PIPELINE_RATE)),
                    event.u64("channels").unwrap_or(1).clamp(1, 8) as usize,
                );
                if event.u64("width").unwrap_or(2) != 2 {
                    let _ = replies.send(Event::new(
                        "error",
                        json!({ "text": "LUNA takes 16-bit audio", "code": "unsupported-audio" }),
                    ));
                    continue;
                }
                if format
                    .as_ref()
                    .is_none_or(|f| f.rate != rate || f.channels != channels)
                {
                    let Ok(resampler) = StreamResampler::new(rate as u32, PIPELINE_RATE) else {
                        continue;
                    };
                    format = Some(Format {
                        rate,
                        channels,
                        resampler,
                    });
                }
                let format = format.as_mut().expect("set above");
                let mono = pcm16_to_mono(event.payload.as_deref().unwrap_or_default(), channels);
                let mut samples = Vec::with_capacity(mono.len());
                format.resampler.push(&mono, &mut samples);
                samples
            }
            // The satellite heard its own wake word and streams the command that
            // follows ("asr"); from "wake" it streams for LUNA's wake word.
            "run-pipeline" if event.str("start_stage") == Some("asr") => {
                let phrase = event
                    .str("wake_word_name")
                    .unwrap_or("the satellite's wake word")
                    .to_owned();
                hearing.woke_elsewhere(&phrase);
                continue;
            }
            "ping" => {
                let _ = replies.send(Event::new("pong", json!({})));
                continue;
            }
            _ => continue,
        };
        for heard in hearing.push(&samples, false) {
            act(name, context, heard, &replies);
        }
    };
    for heard in hearing.push(&[], true) {
        act(name, context, heard, &replies);
    }
    drop(replies);
    // Replies to commands heard before the end still go out while the socket lives.
    let _ = tokio::time::timeout(Duration::from_secs(30), writer).await;
    result
}

fn act(
    name: &str,
    context: &SatelliteContext,
    heard: Heard,
    replies: &mpsc::UnboundedSender<Event>,
) {
    let metrics = &context.downstream.metrics;
    match heard {
        Heard::Wake(d) => {
            metrics.wake_detected(&d.phrase);
            let _ = replies.send(Event::new("detection", json!({ "name": d.phrase })));
        }
        Heard::Ignored { .. } => metrics.utterance_ignored(),
        Heard::Speech { .. } => {}
        Heard::Command(cut, wake, speculated) => {
            let downstream = context.downstream.clone();
            let voice = context.voice.clone();
            let replies = replies.clone();
            let name = name.to_owned();
            actix_web::rt::spawn(async move {
                let report = match downstream
                    .hear_speculated(cut, wake, CommandSource::Api, false, speculated)
                    .await
                {
                    Ok(report) => report,
                    Err(e) => {
                        info!(satellite = %name, error = %e, "satellite utterance not acted on");
                        return;
                    }
                };
                let _ = replies.send(Event::new(
                    "transcript",
                    json!({ "text": report.outcome.text }),
                ));
                let text = report.outcome.response.clone();
                if text.is_empty() {
                    return;
                }
                let spoken =
                    actix_web::web::block(move || crate::tts::synthesize(&text, &voice)).await;
                let Ok(Ok((samples, rate))) = spoken else {
                    warn!(satellite = %name, "the reply could not be spoken");
                    return;
                };
                for event in audio_events(&samples, rate) {
                    if replies.send(event).is_err() {
                        return;
                    }
                }
            });
        }
    }
}
