//! `luna bench`: the end-to-end benchmark. A fixed set of spoken commands, synthesized
//! with espeak-ng, is replayed at real-time pace through the same stages as `luna run`
//! (wake word on, dry run, a private database); then the API's text path is loaded by
//! concurrent clients. Reports per-stage latency percentiles, speech end → action, CPU
//! time, peak RSS and text commands per second.

use std::net::SocketAddr;
use std::time::Instant;

use serde::Serialize;

use crate::http_client::Connection;
use crate::pipeline::VoiceReport;
use crate::store::Latencies;

/// The spoken commands: wake phrase + command, two voices, one or two intents.
pub const SPOKEN: &[(&str, &str)] = &[
    ("hey luna set a timer for five minutes", "en-us"),
    ("hey luna what time is it", "en-us"),
    ("hey luna open firefox", "en-us"),
    ("hey luna turn the volume up", "en-us"),
    ("hey luna what's the date today", "en-us"),
    ("hey luna set a timer for ten minutes", "en-us+m3"),
    ("hey luna what time is it", "en-us+m3"),
    ("hey luna open the terminal", "en-us+m3"),
];

/// The typed commands the API is loaded with (dry run).
pub const TYPED: &[&str] = &[
    "what time is it",
    "set a timer for five minutes and play some music",
    "open firefox",
    "turn the volume down a little",
    "what's the date",
    "remind me to call mom in ten minutes",
    "calculate 12 times 7",
    "pause the music",
];

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("could not synthesize the spoken commands: {0}")]
    Synthesis(String),
    #[error("API load: {0}")]
    Load(String),
}

/// Median and 95th percentile, in milliseconds.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Percentiles {
    pub p50: f64,
    pub p95: f64,
    pub n: usize,
}

impl Percentiles {
    pub fn of(mut values: Vec<f64>) -> Option<Self> {
        if values.is_empty() {
            return None;
        }
        values.sort_by(f64::total_cmp);
        let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
        Some(Self {
            p50: at(0.5),
            p95: at(0.95),
            n: values.len(),
        })
    }
}

/// The spoken pass: what was found and how fast.
#[derive(Debug, Serialize)]
pub struct SpokenPass {
    pub commands_said: usize,
    pub commands_found: usize,
    /// Commands whose first intent matched the one the text alone gives.
    pub understood: usize,
    pub audio_s: f64,
    pub latency_ms: std::collections::BTreeMap<&'static str, Percentiles>,
}

impl SpokenPass {
    pub fn from_reports(said: usize, audio_s: f64, understood: usize, r: &[VoiceReport]) -> Self {
        let latency_ms = Latencies::STAGES
            .iter()
            .enumerate()
            .filter_map(|(i, name)| {
                Percentiles::of(
                    r.iter()
                        .filter_map(|c| c.latency_ms.stages()[i].1)
                        .collect(),
                )
                .map(|p| (*name, p))
            })
            .collect();
        Self {
            commands_said: said,
            commands_found: r.len(),
            understood,
            audio_s,
            latency_ms,
        }
    }
}

/// The API pass.
#[derive(Debug, Serialize)]
pub struct TextPass {
    pub clients: usize,
    pub requests: usize,
    pub errors: usize,
    pub seconds: f64,
    pub per_second: f64,
    pub latency_ms: Option<Percentiles>,
}

/// The machine the figures were measured on: CPU model, cores, memory, date.
pub fn machine() -> serde_json::Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_gb = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| (kb / 1024.0 / 1024.0).round());
    serde_json::json!({
        "cpu": cpu,
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "memory_gb": memory_gb,
        "date": chrono::Local::now().format("%Y-%m-%d").to_string(),
        "build": if cfg!(debug_assertions) { "debug" } else { "release" },
    })
}

/// Synthesizes `SPOKEN` (with the reply synthesizer, libespeak-ng) into one 16 kHz
/// session: 0.5 s of silence, then each command followed by 1.2 s of silence.
pub fn synthesize_session() -> Result<Vec<f32>, BenchError> {
    let rate = crate::audio::PIPELINE_RATE;
    let mut session = vec![0.0f32; rate as usize / 2];
    for (text, voice) in SPOKEN {
        let voice = crate::tts::Voice {
            voice: (*voice).to_owned(),
            words_per_minute: 165,
        };
        let (samples, from) = crate::tts::synthesize(text, &voice)
            .map_err(|e| BenchError::Synthesis(e.to_string()))?;
        let samples = crate::audio::resample::resample(&samples, from, rate)
            .map_err(|e| BenchError::Synthesis(e.to_string()))?;
        session.extend(samples);
        session.extend(std::iter::repeat_n(0.0, rate as usize * 6 / 5));
    }
    Ok(session)
}

/// `clients` threads send `POST /v1/commands` (dry run) over keep-alive connections
/// until `requests` have been sent in all.
pub fn load_api(addr: SocketAddr, clients: usize, requests: usize) -> Result<TextPass, BenchError> {
    let t0 = Instant::now();
    let per_client = requests.div_ceil(clients);
    let threads: Vec<_> = (0..clients)
        .map(|c| {
            std::thread::spawn(move || -> Result<(Vec<f64>, usize), String> {
                let mut conn = Connection::open(addr)?;
                let mut latencies = Vec::with_capacity(per_client);
                let mut errors = 0;
                for i in 0..per_client {
                    let text = TYPED[(c + i) % TYPED.len()];
                    let body = serde_json::json!({ "text": text, "dry_run": true }).to_string();
                    let t = Instant::now();
                    match conn.post("/v1/commands", &body)? {
                        200 => latencies.push(t.elapsed().as_secs_f64() * 1000.0),
                        _ => errors += 1,
                    }
                }
                Ok((latencies, errors))
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut errors = 0;
    for t in threads {
        let (l, e) = t
            .join()
            .map_err(|_| BenchError::Load("a client thread panicked".into()))?
            .map_err(BenchError::Load)?;
        latencies.extend(l);
        errors += e;
    }
    let seconds = t0.elapsed().as_secs_f64();
    let sent = per_client * clients;
    Ok(TextPass {
        clients,
        requests: sent,
        errors,
        seconds,
        per_second: (sent - errors) as f64 / seconds,
        latency_ms: Percentiles::of(latencies),
    })
}

#[cfg(test)]
mod tests {
    use super::Percentiles;

    #[test]
    fn percentiles_pick_the_nearest_rank() {
        let p = Percentiles::of((1..=100).map(f64::from).collect()).unwrap();
        assert_eq!((p.p50, p.p95, p.n), (51.0, 95.0, 100));
        let one = Percentiles::of(vec![7.0]).unwrap();
        assert_eq!((one.p50, one.p95), (7.0, 7.0));
        assert!(Percentiles::of(Vec::new()).is_none());
    }
}
