//! The HTTP and WebSocket API of `luna run` (actix-web): scripts send text commands and
//! recordings, remote microphones (satellites) stream audio, dashboards read history.
//! Every command goes through the same `Downstream` as spoken ones.
//!
//! Bound to loopback by default; `[api] token` is then optional, and required by the
//! config check for any other address. Every error is JSON:
//! `{"error": {"code": "...", "message": "..."}}`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::dev::ServerHandle;
use actix_web::http::StatusCode;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer, ResponseError};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tracing::{info, warn};

use super::stream_hearing::{Heard, StreamHearing};
use super::{CommandRequest, Downstream, UtteranceCut, VoiceReport};
use crate::audio::PIPELINE_RATE;
use crate::config::Config;
use crate::store::{CommandSource, Store};
use crate::vad::{Utterance, VadSettings};
use crate::wake::features::FrontEndModels;
use crate::wake::WakeSettings;

/// Largest JSON body (a text command and its options).
const MAX_JSON_BYTES: usize = 64 * 1024;
/// Largest WebSocket frame from a satellite (a second of audio is 32 kB).
const MAX_FRAME_BYTES: usize = 256 * 1024;
/// A client must send its request headers within this (slow-loris clients are cut).
const HEADER_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("cannot listen on {addr}: {error}")]
    Bind { addr: String, error: std::io::Error },
}

/// Everything the handlers share.
#[derive(Clone)]
struct ApiState {
    downstream: Downstream,
    store: Store,
    token: Option<Arc<str>>,
    max_text_chars: usize,
    max_audio_s: u32,
    request_timeout: Duration,
    vad: VadSettings,
    /// The wake-word front end, when installed (streams need it unless `no_wake`).
    wake: Option<(Arc<FrontEndModels>, WakeSettings)>,
    speech_model: PathBuf,
    /// The voice of replies sent to streams as audio (`?speak=true`).
    voice: crate::tts::Voice,
}

/// A running API server.
pub struct Api {
    handle: ServerHandle,
    pub addr: SocketAddr,
}

impl Api {
    /// Stops accepting, lets requests in flight finish (up to the shutdown timeout).
    pub async fn stop(self) {
        self.handle.stop(true).await;
    }
}

/// Starts the API on `[api] bind` (must be called inside the actix System).
pub fn start_api(
    config: &Config,
    downstream: Downstream,
    store: Store,
    wake: Option<(Arc<FrontEndModels>, WakeSettings)>,
) -> Result<Api, ApiError> {
    let state = ApiState {
        downstream,
        store,
        token: (!config.api.token.is_empty()).then(|| Arc::from(config.api.token.as_str())),
        max_text_chars: config.api.max_text_chars as usize,
        max_audio_s: config.api.max_audio_s,
        request_timeout: Duration::from_millis(config.api.request_timeout_ms.into()),
        vad: VadSettings::from_config(&config.vad),
        wake,
        speech_model: crate::stt::SttSettings::from_config(&config.stt).model_path,
        voice: crate::tts::Voice::from_config(&config.tts),
    };
    let bind_error = |error| ApiError::Bind {
        addr: config.api.bind.clone(),
        error,
    };
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(state.clone()))
            .route("/healthz", web::get().to(healthz))
            .route("/readyz", web::get().to(readyz))
            .route("/v1/commands", web::post().to(commands))
            .route("/v1/audio", web::post().to(audio))
            .route("/v1/history", web::get().to(history))
            .route("/v1/stream", web::get().to(stream))
            .route("/v1/stats", web::get().to(stats))
            .configure(super::console::routes)
            .default_service(web::to(|| async {
                Failure::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
            }))
    })
    .workers(2)
    .disable_signals()
    .client_request_timeout(HEADER_TIMEOUT)
    .client_disconnect_timeout(Duration::from_secs(1))
    .shutdown_timeout(5)
    .bind(&config.api.bind)
    .map_err(bind_error)?;
    let addr = server.addrs()[0];
    let server = server.run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    info!(%addr, "API listening");
    Ok(Api { handle, addr })
}

/// Serves `GET /metrics` (Prometheus text format) on `addr`.
pub fn start_metrics(addr: &str, metrics: Arc<crate::metrics::Metrics>) -> Result<Api, ApiError> {
    let server = HttpServer::new(move || {
        let metrics = Arc::clone(&metrics);
        App::new().route(
            "/metrics",
            web::get().to(move || {
                let text = metrics.render();
                async move {
                    HttpResponse::Ok()
                        .content_type("text/plain; version=0.0.4; charset=utf-8")
                        .body(text)
                }
            }),
        )
    })
    .workers(1)
    .disable_signals()
    .client_request_timeout(HEADER_TIMEOUT)
    .shutdown_timeout(1)
    .bind(addr)
    .map_err(|error| ApiError::Bind {
        addr: addr.to_owned(),
        error,
    })?;
    let bound = server.addrs()[0];
    let server = server.run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    info!(addr = %bound, "metrics listening");
    Ok(Api {
        handle,
        addr: bound,
    })
}

/// An error answer: a status, a stable code for programs and a message for people.
#[derive(Debug)]
struct Failure {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl Failure {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl ResponseError for Failure {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status)
            .json(json!({ "error": { "code": self.code, "message": self.message } }))
    }
}

impl actix_web::Responder for Failure {
    type Body = actix_web::body::BoxBody;

    fn respond_to(self, _: &HttpRequest) -> HttpResponse {
        self.error_response()
    }
}

/// With a token configured, the request must carry it as a bearer token.
fn authorize(req: &HttpRequest, state: &ApiState) -> Result<(), Failure> {
    let given = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if token_matches(state, given) {
        Ok(())
    } else {
        Err(unauthorized())
    }
}

fn unauthorized() -> Failure {
    Failure::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "this API needs `Authorization: Bearer <token>` ([api] token)",
    )
}

/// Whether `given` is the configured token (any string when none is configured),
/// compared in time independent of where they differ.
fn token_matches(state: &ApiState, given: &str) -> bool {
    let Some(token) = &state.token else {
        return true;
    };
    given.len() == token.len()
        && given
            .bytes()
            .zip(token.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// Reads a body of at most `limit` bytes.
async fn read_body(mut payload: web::Payload, limit: usize) -> Result<web::BytesMut, Failure> {
    let too_large = || {
        Failure::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the request body is over {limit} bytes"),
        )
    };
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| Failure::new(StatusCode::BAD_REQUEST, "bad_body", e.to_string()))?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// `?name=true` (or `1`) in the query string.
fn flag(req: &HttpRequest, name: &str) -> bool {
    req.query_string().split('&').any(|pair| {
        pair.split_once('=')
            .is_some_and(|(k, v)| k == name && matches!(v, "true" | "1"))
    })
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

async fn readyz(state: web::Data<ApiState>) -> HttpResponse {
    let store = state.store.history(1).is_ok();
    let speech_model = state.speech_model.is_file();
    let wake_word = state.wake.is_some();
    let ready = store && speech_model;
    let body = json!({
        "ready": ready,
        "checks": { "store": store, "speech_model": speech_model, "wake_word": wake_word },
    });
    if ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TextCommand {
    text: String,
    #[serde(default)]
    dry_run: bool,
}

/// Runs `work` within the request timeout.
async fn in_time<T>(
    state: &ApiState,
    work: impl std::future::Future<Output = Result<T, super::CommandError>>,
) -> Result<T, Failure> {
    match tokio::time::timeout(state.request_timeout, work).await {
        Err(_) => Err(Failure::new(
            StatusCode::GATEWAY_TIMEOUT,
            "timeout",
            format!(
                "no answer within {} ms ([api] request_timeout_ms)",
                state.request_timeout.as_millis()
            ),
        )),
        Ok(Err(super::CommandError::NoWords)) => Err(Failure::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "no_speech",
            "no words were heard in the recording",
        )),
        Ok(Err(e)) => Err(Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "failed",
            e.to_string(),
        )),
        Ok(Ok(v)) => Ok(v),
    }
}

/// `POST /v1/commands {"text": "...", "dry_run": false}` → the same JSON as `luna say`.
async fn commands(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<ApiState>,
) -> Result<HttpResponse, Failure> {
    authorize(&req, &state)?;
    let body = read_body(body, MAX_JSON_BYTES).await?;
    let command: TextCommand = serde_json::from_slice(&body).map_err(|e| {
        Failure::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("expected {{\"text\": \"...\", \"dry_run\": false}}: {e}"),
        )
    })?;
    let text = command.text.trim();
    if text.is_empty() {
        return Err(Failure::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "empty_text",
            "the command text is empty",
        ));
    }
    let chars = text.chars().count();
    if chars > state.max_text_chars {
        return Err(Failure::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "text_too_long",
            format!(
                "the command has {chars} characters; at most {} are accepted ([api] max_text_chars)",
                state.max_text_chars
            ),
        ));
    }
    let request = CommandRequest::text(text.to_owned(), CommandSource::Api, command.dry_run);
    let (outcome, _) = in_time(&state, state.downstream.act(request)).await?;
    Ok(HttpResponse::Ok().json(outcome))
}

/// `POST /v1/audio` with a WAV body (any rate, channels, sample format): the speech in
/// it is one command, as if said after the wake phrase. `?dry_run=true` executes
/// nothing. Answers the same JSON as one `luna replay` command.
async fn audio(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<ApiState>,
) -> Result<HttpResponse, Failure> {
    authorize(&req, &state)?;
    // Generous for the format: 48 kHz stereo float is 384 kB per second.
    let limit = state.max_audio_s as usize * 48_000 * 2 * 4 + 4096;
    let body = read_body(body, limit).await?;
    let (vad, max_s) = (state.vad.clone(), state.max_audio_s);
    let decoded = web::block(move || decode_command(&body, &vad, max_s))
        .await
        .map_err(|e| Failure::new(StatusCode::INTERNAL_SERVER_ERROR, "failed", e.to_string()))??;
    let cut = UtteranceCut {
        utterance: decoded,
        t_speech_end: Instant::now(),
    };
    let report = in_time(
        &state,
        state
            .downstream
            .hear(cut, None, CommandSource::Api, flag(&req, "dry_run")),
    )
    .await?;
    Ok(HttpResponse::Ok().json(report))
}

/// The speech of an uploaded recording, from its first utterance to its last.
fn decode_command(wav: &[u8], vad: &VadSettings, max_s: u32) -> Result<Utterance, Failure> {
    let audio = crate::audio::wav::read_from(wav, "the uploaded WAV")
        .map_err(|e| Failure::new(StatusCode::BAD_REQUEST, "bad_audio", e.to_string()))?;
    if audio.seconds() > f64::from(max_s) {
        return Err(Failure::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "audio_too_long",
            format!(
                "the recording lasts {:.1} s; at most {max_s} s are accepted ([api] max_audio_s)",
                audio.seconds()
            ),
        ));
    }
    let segments = crate::vad::segments(&audio.samples, vad);
    let (Some(first), Some(last)) = (segments.first(), segments.last()) else {
        return Err(Failure::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "no_speech",
            "no speech was found in the recording",
        ));
    };
    let pre_roll = u64::from(vad.pre_roll_ms) * u64::from(PIPELINE_RATE) / 1000;
    let from = first.start_sample.saturating_sub(pre_roll) as usize;
    let to = (last.cut_sample as usize).min(audio.samples.len());
    Ok(Utterance {
        samples: audio.samples[from..to].to_vec(),
        start_sample: first.start_sample,
        end_sample: last.end_sample,
        cut_sample: last.cut_sample,
        truncated: false,
    })
}

async fn history(req: HttpRequest, state: web::Data<ApiState>) -> Result<HttpResponse, Failure> {
    authorize(&req, &state)?;
    let limit = req
        .query_string()
        .split('&')
        .find_map(|p| p.strip_prefix("limit="))
        .map(|v| {
            v.parse::<u32>().map_err(|_| {
                Failure::new(
                    StatusCode::BAD_REQUEST,
                    "bad_query",
                    format!("limit must be a whole number, not {v:?}"),
                )
            })
        })
        .transpose()?
        .unwrap_or(20)
        .min(1000);
    let store = state.store.clone();
    let records = web::block(move || store.history(limit))
        .await
        .map_err(|e| Failure::new(StatusCode::INTERNAL_SERVER_ERROR, "failed", e.to_string()))?
        .map_err(|e| Failure::new(StatusCode::INTERNAL_SERVER_ERROR, "store", e.to_string()))?;
    Ok(HttpResponse::Ok().json(json!({ "commands": records })))
}

/// `GET /v1/stats`: what `luna stats` prints (commands, per-stage latency, wake word,
/// caches, stage restarts), read from this process's metrics.
async fn stats(req: HttpRequest, state: web::Data<ApiState>) -> Result<HttpResponse, Failure> {
    authorize(&req, &state)?;
    let samples = crate::metrics::parse_exposition(&state.downstream.metrics.render());
    Ok(HttpResponse::Ok().json(json!({ "summary": crate::metrics::summary(&samples) })))
}

/// What a satellite is told as its stream is heard.
#[derive(Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
enum StreamEvent<'a> {
    Wake {
        phrase: &'a str,
        end_s: f64,
        score: f32,
    },
    /// Speech that did not start with the wake phrase: nothing was done.
    Ignored {
        start_s: f64,
        end_s: f64,
    },
    Transcript {
        correlation_id: &'a str,
        text: &'a str,
        start_s: f64,
        end_s: f64,
    },
    Intent {
        correlation_id: &'a str,
        intents: &'a [crate::brain::Intent],
        /// The steps and the groups they run in (steps of a group at once).
        plan: &'a crate::brain::plan::Plan,
    },
    Result {
        correlation_id: &'a str,
        results: &'a [crate::exec::StepResult],
    },
    Reply {
        correlation_id: &'a str,
        text: &'a str,
        latency_ms: &'a crate::store::Latencies,
    },
    Error {
        code: &'a str,
        message: &'a str,
    },
    /// The voice detector heard speech begin (`?vad=true`).
    Speech {
        start_s: f64,
    },
}

async fn send(session: &mut actix_ws::Session, event: &StreamEvent<'_>) -> bool {
    match serde_json::to_string(event) {
        Ok(text) => session.text(text).await.is_ok(),
        Err(_) => false,
    }
}

async fn send_report(session: &mut actix_ws::Session, r: &VoiceReport) {
    let id = r.outcome.correlation_id.as_str();
    let events = [
        StreamEvent::Transcript {
            correlation_id: id,
            text: &r.transcript,
            start_s: r.start_s,
            end_s: r.end_s,
        },
        StreamEvent::Intent {
            correlation_id: id,
            intents: &r.outcome.intents,
            plan: &r.outcome.plan,
        },
        StreamEvent::Result {
            correlation_id: id,
            results: &r.outcome.results,
        },
        StreamEvent::Reply {
            correlation_id: id,
            text: &r.outcome.response,
            latency_ms: &r.latency_ms,
        },
    ];
    for event in &events {
        if !send(session, event).await {
            return;
        }
    }
}

/// `GET /v1/stream` (WebSocket): binary frames of 16 kHz mono s16le audio from a remote
/// microphone; JSON text events back. `?no_wake=true` acts on every utterance
/// (push-to-talk); `?dry_run=true` executes nothing. The text frame `end` (or closing)
/// ends the stream: the last utterance is finished and answered, then the server closes.
async fn stream(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<ApiState>,
) -> Result<HttpResponse, actix_web::Error> {
    // A browser cannot set headers on a WebSocket: without the header, the first frame
    // must be the text `auth <token>`.
    let mut needs_token = authorize(&req, &state).is_err();
    if needs_token && !is_upgrade(&req) {
        return Err(unauthorized().into());
    }
    let options = StreamOptions {
        dry_run: flag(&req, "dry_run"),
        speak: flag(&req, "speak"),
    };
    let no_wake = flag(&req, "no_wake");
    let vad_events = flag(&req, "vad");
    let (response, mut session, messages) = actix_ws::handle(&req, body)?;
    let mut messages = messages.max_frame_size(MAX_FRAME_BYTES);
    let state = state.into_inner();
    actix_web::rt::spawn(async move {
        if needs_token {
            let given = match messages.next().await {
                Some(Ok(actix_ws::Message::Text(t))) => t.strip_prefix("auth ").map(str::to_owned),
                _ => None,
            };
            needs_token = !given.is_some_and(|t| token_matches(&state, t.trim()));
        }
        if needs_token {
            let failure = unauthorized();
            let event = StreamEvent::Error {
                code: failure.code,
                message: &failure.message,
            };
            send(&mut session, &event).await;
            let _ = session.close(None).await;
            return;
        }
        let mut hearing = match StreamHearing::new(
            &state.downstream,
            &state.vad,
            state.wake.as_ref(),
            no_wake,
            vad_events,
        ) {
            Ok(h) => h,
            Err(message) => {
                let event = StreamEvent::Error {
                    code: "no_wake_word",
                    message: &message,
                };
                send(&mut session, &event).await;
                let _ = session.close(None).await;
                return;
            }
        };
        let mut in_flight = Vec::new();
        let mut odd_byte: Option<u8> = None;
        while let Some(message) = messages.next().await {
            let bytes = match message {
                Ok(actix_ws::Message::Binary(bytes)) => bytes,
                Ok(actix_ws::Message::Ping(p)) => {
                    let _ = session.pong(&p).await;
                    continue;
                }
                Ok(actix_ws::Message::Text(t)) if t.trim() == "end" => break,
                Ok(actix_ws::Message::Close(_)) => break,
                Ok(_) => continue,
                Err(e) => {
                    let message = e.to_string();
                    let event = StreamEvent::Error {
                        code: "bad_frame",
                        message: &message,
                    };
                    send(&mut session, &event).await;
                    break;
                }
            };
            let samples = s16le_to_f32(&mut odd_byte, &bytes);
            for event in hearing.push(&samples, false) {
                handle(&state, &mut session, &mut in_flight, event, options).await;
            }
        }
        for event in hearing.push(&[], true) {
            handle(&state, &mut session, &mut in_flight, event, options).await;
        }
        for task in in_flight {
            let _ = task.await;
        }
        let _ = session.close(None).await;
    });
    Ok(response)
}

/// What a stream asked for besides its audio.
#[derive(Clone, Copy)]
struct StreamOptions {
    /// Execute nothing (`?dry_run=true`).
    dry_run: bool,
    /// Send each reply's speech as a WAV in a binary frame after its `reply` event
    /// (`?speak=true`): a browser sounds like LUNA.
    speak: bool,
}

fn is_upgrade(req: &HttpRequest) -> bool {
    req.headers()
        .get(actix_web::http::header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

async fn handle(
    state: &ApiState,
    session: &mut actix_ws::Session,
    in_flight: &mut Vec<tokio::task::JoinHandle<()>>,
    event: Heard,
    options: StreamOptions,
) {
    let StreamOptions { dry_run, speak } = options;
    match event {
        Heard::Speech { start_s } => {
            send(session, &StreamEvent::Speech { start_s }).await;
        }
        Heard::Wake(d) => {
            state.downstream.metrics.wake_detected(&d.phrase);
            let event = StreamEvent::Wake {
                phrase: &d.phrase,
                end_s: d.end_s,
                score: d.score,
            };
            send(session, &event).await;
        }
        Heard::Ignored { start_s, end_s } => {
            state.downstream.metrics.utterance_ignored();
            send(session, &StreamEvent::Ignored { start_s, end_s }).await;
        }
        Heard::Command(cut, wake, speculated) => {
            let (start_s, end_s) = (cut.utterance.start_s(), cut.utterance.end_s());
            let downstream = state.downstream.clone();
            let voice = speak.then(|| state.voice.clone());
            let mut session = session.clone();
            in_flight.push(actix_web::rt::spawn(async move {
                match downstream
                    .hear_speculated(cut, wake, CommandSource::Api, dry_run, speculated)
                    .await
                {
                    Ok(report) => {
                        send_report(&mut session, &report).await;
                        let text = report.outcome.response.clone();
                        if let Some(voice) = voice.filter(|_| !text.is_empty()) {
                            match web::block(move || crate::tts::wav_bytes(&text, &voice)).await {
                                Ok(Ok(wav)) => {
                                    let _ = session.binary(wav).await;
                                }
                                Ok(Err(e)) => {
                                    warn!(error = %e, "the reply could not be spoken for a stream")
                                }
                                Err(_) => {}
                            }
                        }
                    }
                    Err(super::CommandError::NoWords) => {}
                    Err(super::CommandError::NotAddressed) => {
                        let event = StreamEvent::Ignored { start_s, end_s };
                        send(&mut session, &event).await;
                    }
                    Err(e) => {
                        let message = e.to_string();
                        let event = StreamEvent::Error {
                            code: "failed",
                            message: &message,
                        };
                        send(&mut session, &event).await;
                    }
                }
            }));
            in_flight.retain(|t| !t.is_finished());
        }
    }
}

/// Little-endian 16-bit samples; a byte left over from a frame waits for the next.
fn s16le_to_f32(odd_byte: &mut Option<u8>, bytes: &[u8]) -> Vec<f32> {
    let mut joined;
    let bytes = match odd_byte.take() {
        Some(b) => {
            joined = Vec::with_capacity(bytes.len() + 1);
            joined.push(b);
            joined.extend_from_slice(bytes);
            &joined[..]
        }
        None => bytes,
    };
    let (whole, rest) = bytes.split_at(bytes.len() & !1);
    *odd_byte = rest.first().copied();
    crate::audio::pcm16_to_mono(whole, 1)
}

#[cfg(test)]
mod tests {
    use super::s16le_to_f32;

    #[test]
    fn samples_split_across_frames_are_joined() {
        let samples: Vec<i16> = vec![0, 16384, -32768, 32767];
        let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
        let mut odd = None;
        let mut out = s16le_to_f32(&mut odd, &bytes[..3]);
        assert_eq!(odd, Some(bytes[2]));
        out.extend(s16le_to_f32(&mut odd, &bytes[3..]));
        assert_eq!(odd, None);
        assert_eq!(out, vec![0.0, 0.5, -1.0, 32767.0 / 32768.0]);
    }
}
