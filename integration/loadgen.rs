//! luna-loadgen: loads a running LUNA through its API for a bounded time and reports
//! what it held. Text clients send `POST /v1/commands` (dry run) over keep-alive
//! connections; with `--wav`, audio clients upload it to `POST /v1/audio` and stream
//! clients play it, in 20 ms frames at real-time pace, into `/v1/stream`. The daemon's
//! memory comes from its metrics before and after. Loopback (or the compose network)
//! only; every client stops at the deadline.

use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use luna::bench::{Percentiles, TYPED};
use luna::http_client::Connection;
use serde_json::json;

#[derive(Parser)]
#[command(name = "luna-loadgen", about = "Load a running LUNA through its API")]
struct Args {
    /// The API (`[api] bind` of the daemon).
    #[arg(long, default_value = "127.0.0.1:8765")]
    api: String,
    /// The daemon's metrics (`[telemetry] metrics_addr`), for its memory.
    #[arg(long, default_value = "127.0.0.1:9464")]
    metrics: String,
    /// `[api] token`, when the daemon has one.
    #[arg(long, env = "LUNA_API_TOKEN")]
    token: Option<String>,
    /// Concurrent text clients.
    #[arg(long, default_value_t = 4)]
    clients: usize,
    /// Concurrent clients uploading `--wav`.
    #[arg(long, default_value_t = 1)]
    audio_clients: usize,
    /// Concurrent WebSocket streams of `--wav`.
    #[arg(long, default_value_t = 1)]
    streams: usize,
    /// A spoken command (WAV) for the audio clients and the streams.
    #[arg(long)]
    wav: Option<PathBuf>,
    /// How long to load.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    #[arg(long)]
    json: bool,
}

/// What one kind of client achieved.
#[derive(Default)]
struct Tally {
    latencies_ms: Vec<f64>,
    errors: usize,
    first_error: Option<String>,
}

impl Tally {
    fn error(&mut self, e: String) {
        self.errors += 1;
        self.first_error.get_or_insert(e);
    }

    fn merge(&mut self, other: Tally) {
        self.latencies_ms.extend(other.latencies_ms);
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }

    fn report(&self, seconds: f64) -> serde_json::Value {
        json!({
            "done": self.latencies_ms.len(),
            "errors": self.errors,
            "first_error": self.first_error,
            "per_second": self.latencies_ms.len() as f64 / seconds,
            "latency_ms": Percentiles::of(self.latencies_ms.clone()),
        })
    }
}

fn resolve(addr: &str) -> Result<SocketAddr, String> {
    addr.to_socket_addrs()
        .map_err(|e| format!("{addr}: {e}"))?
        .next()
        .ok_or_else(|| format!("{addr}: no address"))
}

/// The daemon's resident memory, from its metrics.
fn daemon_rss_mb(metrics: SocketAddr) -> Option<f64> {
    let (status, text) = Connection::open(metrics).ok()?.get("/metrics").ok()?;
    (status == 200).then_some(())?;
    luna::metrics::parse_exposition(&text)
        .into_iter()
        .find(|s| s.name == "luna_process_resident_memory_bytes")
        .map(|s| s.value / 1e6)
}

fn text_client(api: SocketAddr, token: Option<String>, index: usize, until: Instant) -> Tally {
    let mut tally = Tally::default();
    let mut connection = None;
    let mut i = index;
    while Instant::now() < until {
        let conn = match connection.as_mut() {
            Some(c) => c,
            None => match Connection::open(api) {
                Ok(c) => connection.insert(c),
                Err(e) => {
                    tally.error(e);
                    std::thread::sleep(Duration::from_millis(100));
                    continue;
                }
            },
        };
        let body = json!({ "text": TYPED[i % TYPED.len()], "dry_run": true }).to_string();
        i += 1;
        let t = Instant::now();
        match conn.post_body(
            "/v1/commands",
            "application/json",
            token.as_deref(),
            body.as_bytes(),
        ) {
            Ok((200, _)) => tally.latencies_ms.push(t.elapsed().as_secs_f64() * 1000.0),
            Ok((status, answer)) => {
                tally.error(format!("{status}: {}", String::from_utf8_lossy(&answer)))
            }
            Err(e) => {
                tally.error(e);
                connection = None;
            }
        }
    }
    tally
}

fn audio_client(api: SocketAddr, token: Option<String>, wav: &[u8], until: Instant) -> Tally {
    let mut tally = Tally::default();
    while Instant::now() < until {
        let t = Instant::now();
        let answer = Connection::open(api).and_then(|mut c| {
            c.post_body("/v1/audio?dry_run=true", "audio/wav", token.as_deref(), wav)
        });
        match answer {
            Ok((200, _)) => tally.latencies_ms.push(t.elapsed().as_secs_f64() * 1000.0),
            Ok((status, answer)) => {
                tally.error(format!("{status}: {}", String::from_utf8_lossy(&answer)))
            }
            Err(e) => tally.error(e),
        }
    }
    tally
}

/// Streams `samples` (16 kHz mono s16le) at real-time pace, then `end`; the latency is
/// from the moment the end of its speech was sent to the `reply` event.
fn stream_client(api: SocketAddr, token: Option<String>, pcm: &[u8], until: Instant) -> Tally {
    let mut tally = Tally::default();
    while Instant::now() < until {
        match stream_once(api, token.as_deref(), pcm) {
            Ok(Some(ms)) => tally.latencies_ms.push(ms),
            Ok(None) => tally.error("the stream ended without a reply".into()),
            Err(e) => tally.error(e),
        }
    }
    tally
}

fn stream_once(api: SocketAddr, token: Option<&str>, pcm: &[u8]) -> Result<Option<f64>, String> {
    use tungstenite::client::IntoClientRequest;
    let tcp = TcpStream::connect(api).map_err(|e| e.to_string())?;
    tcp.set_read_timeout(Some(Duration::from_secs(60)))
        .map_err(|e| e.to_string())?;
    let mut request = format!("ws://{api}/v1/stream?no_wake=true&dry_run=true")
        .into_client_request()
        .map_err(|e| e.to_string())?;
    if let Some(token) = token {
        let value = format!("Bearer {token}")
            .parse()
            .map_err(|e| format!("{e}"))?;
        request.headers_mut().insert("Authorization", value);
    }
    let (mut socket, _) = tungstenite::client(request, tcp).map_err(|e| e.to_string())?;
    // The last loud sample: where the speech ends.
    let speech_end = pcm
        .chunks_exact(2)
        .rposition(|p| i16::from_le_bytes([p[0], p[1]]).unsigned_abs() > 650)
        .unwrap_or(0);
    let speech_end = Duration::from_secs_f64(speech_end as f64 / 16_000.0);
    let frame = 640; // 20 ms
    let start = Instant::now();
    let mut replied = None;
    let is_reply = |m: &tungstenite::Message| matches!(m, tungstenite::Message::Text(t) if t.contains("\"event\":\"reply\""));
    let since_speech_end = || {
        Instant::now()
            .saturating_duration_since(start + speech_end)
            .as_secs_f64()
            * 1000.0
    };
    // Events are read between frames (without blocking) so a reply is timed when it
    // arrives, not when the stream is over.
    socket
        .get_ref()
        .set_read_timeout(Some(Duration::from_millis(1)))
        .map_err(|e| e.to_string())?;
    for (i, chunk) in pcm.chunks(frame).enumerate() {
        let due = start + Duration::from_millis(20 * i as u64);
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        socket
            .send(tungstenite::Message::Binary(chunk.to_vec().into()))
            .map_err(|e| e.to_string())?;
        while let Ok(message) = socket.read() {
            if is_reply(&message) {
                replied.get_or_insert_with(since_speech_end);
            }
        }
    }
    socket
        .send(tungstenite::Message::text("end"))
        .map_err(|e| e.to_string())?;
    socket
        .get_ref()
        .set_read_timeout(Some(Duration::from_secs(60)))
        .map_err(|e| e.to_string())?;
    loop {
        match socket.read() {
            Ok(message) if is_reply(&message) => {
                replied.get_or_insert_with(since_speech_end);
            }
            Ok(tungstenite::Message::Close(_)) | Err(_) => break,
            Ok(_) => {}
        }
    }
    Ok(replied)
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(report) => {
            if args.json {
                println!("{report}");
            } else {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report).unwrap_or_default()
                );
            }
            let errors = ["text", "audio", "stream"]
                .iter()
                .filter_map(|k| report[k]["errors"].as_u64())
                .sum::<u64>();
            if errors == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("luna-loadgen: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<serde_json::Value, String> {
    let api = resolve(&args.api)?;
    let metrics = resolve(&args.metrics)?;
    let (wav, pcm) = match &args.wav {
        None => (None, None),
        Some(path) => {
            let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let audio = luna::audio::wav::read_from(&bytes[..], &path.display().to_string())
                .map_err(|e| e.to_string())?;
            let pcm: Vec<u8> = audio
                .samples
                .iter()
                .flat_map(|s| ((s.clamp(-1.0, 1.0) * 32767.0) as i16).to_le_bytes())
                .collect();
            (Some(bytes), Some(pcm))
        }
    };
    let rss_before = daemon_rss_mb(metrics);
    let started = Instant::now();
    let until = started + Duration::from_secs_f64(args.seconds.max(0.1));
    let mut text = Vec::new();
    for i in 0..args.clients {
        let token = args.token.clone();
        text.push(std::thread::spawn(move || {
            text_client(api, token, i, until)
        }));
    }
    let mut audio = Vec::new();
    let mut streams = Vec::new();
    if let (Some(wav), Some(pcm)) = (wav, pcm) {
        let (wav, pcm) = (std::sync::Arc::new(wav), std::sync::Arc::new(pcm));
        for _ in 0..args.audio_clients {
            let (token, wav) = (args.token.clone(), std::sync::Arc::clone(&wav));
            audio.push(std::thread::spawn(move || {
                audio_client(api, token, &wav, until)
            }));
        }
        for _ in 0..args.streams {
            let (token, pcm) = (args.token.clone(), std::sync::Arc::clone(&pcm));
            streams.push(std::thread::spawn(move || {
                stream_client(api, token, &pcm, until)
            }));
        }
    }
    let join = |handles: Vec<std::thread::JoinHandle<Tally>>| {
        let mut all = Tally::default();
        for h in handles {
            match h.join() {
                Ok(t) => all.merge(t),
                Err(_) => all.error("a client thread panicked".into()),
            }
        }
        all
    };
    let (text, audio, streams) = (join(text), join(audio), join(streams));
    let seconds = started.elapsed().as_secs_f64();
    Ok(json!({
        "api": api.to_string(),
        "seconds": seconds,
        "clients": { "text": args.clients, "audio": audio_count(args), "stream": stream_count(args) },
        "text": text.report(seconds),
        "audio": audio.report(seconds),
        "stream": streams.report(seconds),
        "daemon_rss_mb": { "before": rss_before, "after": daemon_rss_mb(metrics) },
    }))
}

fn audio_count(args: &Args) -> usize {
    if args.wav.is_some() {
        args.audio_clients
    } else {
        0
    }
}

fn stream_count(args: &Args) -> usize {
    if args.wav.is_some() {
        args.streams
    } else {
        0
    }
}
