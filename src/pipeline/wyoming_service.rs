//! LUNA as a Wyoming service (`[api] wyoming_bind`): what Home Assistant and other
//! Wyoming clients ask of a voice service, answered by the same `Downstream` every door
//! shares. `describe` → `info` (speech to text, intent recognition and intent handling,
//! English); `transcribe` + `audio-start`/`audio-chunk`/`audio-stop` → `transcript`;
//! `recognize` → `intent` or `not-recognized`; `transcript` → the command is done, then
//! `handled` (what LUNA says) or `not-handled`; `ping` → `pong`. Other events are
//! ignored. A malformed event gets an `error` event and the connection is closed; each
//! connection is its own task, so one client's failure touches no other.

use std::net::SocketAddr;

use serde_json::{json, Value};
use tokio::io::BufReader;
use tracing::{info, warn};

use super::{CommandRequest, Downstream};
use crate::audio::pcm16_to_mono;
use crate::audio::PIPELINE_RATE;
use crate::store::CommandSource;
use crate::wyoming::{read_event, write_event, Event, Limits, WyomingError};

#[derive(Debug, thiserror::Error)]
pub enum WyomingServiceError {
    #[error("cannot listen for Wyoming clients on {addr}: {error}")]
    Bind { addr: String, error: std::io::Error },
}

/// The listening service; stops accepting when dropped.
pub struct WyomingServer {
    pub addr: SocketAddr,
    accept: tokio::task::JoinHandle<()>,
}

impl Drop for WyomingServer {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// Starts the service on `bind` (inside the actix System). `max_audio_s` bounds one
/// transcription's audio.
pub fn start_wyoming(
    bind: &str,
    downstream: Downstream,
    max_audio_s: u32,
) -> Result<WyomingServer, WyomingServiceError> {
    let failed = |error| WyomingServiceError::Bind {
        addr: bind.to_owned(),
        error,
    };
    let listener = std::net::TcpListener::bind(bind).map_err(failed)?;
    listener.set_nonblocking(true).map_err(failed)?;
    let addr = listener.local_addr().map_err(failed)?;
    let listener = tokio::net::TcpListener::from_std(listener).map_err(failed)?;
    if !addr.ip().is_loopback() {
        warn!(%addr, "the Wyoming service is reachable from other machines and has no authentication");
    }
    let accept = actix_web::rt::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, peer)) => {
                    let downstream = downstream.clone();
                    actix_web::rt::spawn(async move {
                        if let Err(e) = serve(stream, &downstream, max_audio_s).await {
                            info!(%peer, error = %e, "Wyoming client dropped");
                        }
                    });
                }
                Err(e) => {
                    warn!(error = %e, "Wyoming: could not accept a connection");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            }
        }
    });
    info!(%addr, "Wyoming service listening");
    Ok(WyomingServer { addr, accept })
}

/// The audio of one transcription as it arrives.
struct Incoming {
    rate: u32,
    channels: usize,
    samples: Vec<f32>,
}

fn attribution() -> Value {
    json!({ "name": "LUNA", "url": "" })
}

fn info_event() -> Event {
    let version = env!("CARGO_PKG_VERSION");
    let program = |description: &str, model: Value| {
        json!({
            "name": "luna",
            "attribution": attribution(),
            "installed": true,
            "description": description,
            "version": version,
            "models": [model],
        })
    };
    let model = |name: &str, description: &str| {
        json!({
            "name": name,
            "attribution": attribution(),
            "installed": true,
            "description": description,
            "version": version,
            "languages": ["en"],
        })
    };
    Event::new(
        "info",
        json!({
            "asr": [program("LUNA's speech to text", model("whisper", "Whisper (whisper.cpp) as LUNA runs it"))],
            "intent": [program("LUNA's understanding", model("luna-brain", "LUNA's intents and slots"))],
            "handle": [program("LUNA's commands, done", model("luna", "LUNA understands and does the command"))],
        }),
    )
}

fn error_event(text: &str, code: &str) -> Event {
    Event::new("error", json!({ "text": text, "code": code }))
}

async fn serve(
    stream: tokio::net::TcpStream,
    downstream: &Downstream,
    max_audio_s: u32,
) -> Result<(), WyomingError> {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let limits = Limits::default();
    let max_samples = max_audio_s as usize * PIPELINE_RATE as usize;
    let mut incoming: Option<Incoming> = None;
    loop {
        let event = match read_event(&mut reader, &limits).await {
            Ok(Some(event)) => event,
            Ok(None) => return Ok(()),
            Err(WyomingError::Io(e)) => return Err(WyomingError::Io(e)),
            Err(e) => {
                write_event(&mut write, &error_event(&e.to_string(), "bad-event")).await?;
                return Err(e);
            }
        };
        let answer = match event.kind.as_str() {
            "describe" => Some(info_event()),
            "ping" => Some(Event::new("pong", json!({ "text": event.str("text") }))),
            "audio-start" => {
                let (rate, width) = (event.u64("rate").unwrap_or(0), event.u64("width"));
                let channels = event.u64("channels").unwrap_or(1).max(1) as usize;
                if width != Some(2) || !(8_000..=192_000).contains(&rate) || channels > 8 {
                    incoming = None;
                    Some(error_event(
                        "LUNA takes 16-bit PCM at 8-192 kHz, up to 8 channels",
                        "unsupported-audio",
                    ))
                } else {
                    incoming = Some(Incoming {
                        rate: rate as u32,
                        channels,
                        samples: Vec::new(),
                    });
                    None
                }
            }
            "audio-chunk" => match (&mut incoming, &event.payload) {
                (Some(audio), Some(payload)) => {
                    audio.samples.extend(pcm16_to_mono(payload, audio.channels));
                    let seconds = audio.samples.len() / audio.rate as usize;
                    (seconds > max_audio_s as usize).then(|| {
                        incoming = None;
                        error_event(
                            &format!("over {max_audio_s} s of audio ([api] max_audio_s)"),
                            "audio-too-long",
                        )
                    })
                }
                _ => None,
            },
            "audio-stop" => match incoming.take() {
                Some(audio) => Some(transcript(downstream, audio, max_samples).await),
                None => None,
            },
            "recognize" => {
                let text = event.str("text").unwrap_or_default().to_owned();
                Some(recognize(downstream, &text).await)
            }
            "transcript" => {
                let text = event.str("text").unwrap_or_default().to_owned();
                Some(handle(downstream, text).await)
            }
            // "transcribe" only names a language and model: LUNA has one of each.
            _ => None,
        };
        if let Some(answer) = answer {
            write_event(&mut write, &answer).await?;
        }
    }
}

async fn transcript(downstream: &Downstream, audio: Incoming, max_samples: usize) -> Event {
    let mut samples = if audio.rate == PIPELINE_RATE {
        audio.samples
    } else {
        match crate::audio::resample::resample(&audio.samples, audio.rate, PIPELINE_RATE) {
            Ok(s) => s,
            Err(e) => return error_event(&e.to_string(), "unsupported-audio"),
        }
    };
    samples.truncate(max_samples);
    match downstream.transcribe(samples).await {
        Ok(text) => Event::new("transcript", json!({ "text": text, "language": "en" })),
        Err(e) => error_event(&e.to_string(), "stt-failed"),
    }
}

async fn recognize(downstream: &Downstream, text: &str) -> Event {
    match downstream.understand(text).await {
        Ok(intents) => match intents.iter().find(|i| !i.is_unknown()) {
            Some(intent) => {
                let entities: Vec<Value> = intent
                    .slots
                    .iter()
                    .map(|(name, value)| json!({ "name": name, "value": value }))
                    .collect();
                Event::new(
                    "intent",
                    json!({ "name": intent.intent, "entities": entities, "text": text }),
                )
            }
            None => Event::new("not-recognized", json!({ "text": text })),
        },
        Err(e) => error_event(&e.to_string(), "brain-failed"),
    }
}

async fn handle(downstream: &Downstream, text: String) -> Event {
    if text.trim().is_empty() {
        return Event::new("not-handled", json!({ "text": "" }));
    }
    let command = CommandRequest::text(text, CommandSource::Api, false);
    match downstream.act(command).await {
        Ok((outcome, _)) if outcome.intents.iter().all(|i| i.is_unknown()) => {
            Event::new("not-handled", json!({ "text": outcome.response }))
        }
        Ok((outcome, _)) => Event::new("handled", json!({ "text": outcome.response })),
        Err(e) => Event::new("not-handled", json!({ "text": e.to_string() })),
    }
}
