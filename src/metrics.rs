//! Prometheus metrics (prometheus-client): what every command cost per stage, what
//! came of it, what the wake word did, how the brain's caches and the supervised
//! stages are doing. Served as text on `[telemetry] metrics_addr` by the daemon;
//! `luna stats` reads them back. Stage logic never sees this: the command path and
//! the stage shells record into it.

use std::sync::{Arc, Mutex, RwLock};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::brain::CacheStats;
use crate::store::Latencies;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StageLabel {
    pub stage: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CommandLabels {
    pub intent: String,
    pub outcome: String,
    pub source: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct IntentLabel {
    pub intent: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SatelliteLabel {
    pub satellite: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PhraseLabel {
    pub phrase: String,
}

/// A running stage's supervision counters, read at each scrape.
pub type StageProbe = Box<dyn Fn() -> luna_actors::StatsSnapshot + Send + Sync>;

/// Numbers read when scraped rather than recorded as they happen.
#[derive(Default)]
struct Probes {
    stages: RwLock<Vec<(&'static str, StageProbe)>>,
    caches: Mutex<CacheStats>,
}

impl std::fmt::Debug for Probes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Probes")
    }
}

fn histogram() -> Histogram {
    // 0.5 ms .. ~4 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 14))
}

pub struct Metrics {
    registry: Registry,
    latency: Family<StageLabel, Histogram, fn() -> Histogram>,
    commands: Family<CommandLabels, Counter>,
    intents: Family<IntentLabel, Counter>,
    speculations: Family<OutcomeLabel, Counter>,
    wake_detections: Family<PhraseLabel, Counter>,
    utterances_ignored: Counter,
    wake_alone: Counter,
    audio_dropped: Counter,
    speech_interrupted: Counter,
    wake_rejected: Counter,
    wake_transcript_checks: Family<OutcomeLabel, Counter>,
    satellites_connected: Family<SatelliteLabel, prometheus_client::metrics::gauge::Gauge>,
    stt_remote: Family<OutcomeLabel, Counter>,
    stt_alternatives_chosen: Counter,
    satellite_connections: Family<SatelliteLabel, Counter>,
    probes: Arc<Probes>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("luna");
        let latency = Family::<StageLabel, Histogram, fn() -> Histogram>::new_with_constructor(
            histogram as fn() -> Histogram,
        );
        registry.register(
            "stage_latency_seconds",
            "Time each stage took per command (wake: after its audio was captured; endpoint: end of speech to cut; speech_end_to_action: end of speech to the plan's dispatch; reply_first_audio: end of speech, or a text command's arrival, to the reply's first sound)",
            latency.clone(),
        );
        let commands = Family::<CommandLabels, Counter>::default();
        registry.register(
            "commands",
            "Commands done, by first intent, outcome and where they came from",
            commands.clone(),
        );
        let intents = Family::<IntentLabel, Counter>::default();
        registry.register(
            "intents",
            "Intents understood, every intent of a multi-intent command counted (unknown once per command understood as nothing)",
            intents.clone(),
        );
        let speculations = Family::<OutcomeLabel, Counter>::default();
        registry.register(
            "stt_speculations",
            "Speculative transcriptions started in a pause of speech: used (the pause was the end), abandoned (speech went on), unused (the utterance was cut otherwise or not addressed to LUNA)",
            speculations.clone(),
        );
        let wake_detections = Family::<PhraseLabel, Counter>::default();
        registry.register(
            "wake_detections",
            "Wake phrases detected",
            wake_detections.clone(),
        );
        let satellites_connected =
            Family::<SatelliteLabel, prometheus_client::metrics::gauge::Gauge>::default();
        registry.register(
            "satellite_connected",
            "Wyoming satellites ([satellites] wyoming): 1 while connected, 0 while LUNA retries",
            satellites_connected.clone(),
        );
        let stt_remote = Family::<OutcomeLabel, Counter>::default();
        registry.register(
            "stt_remote",
            "Utterances sent to the Wyoming speech-to-text service ([stt] backend = \"wyoming\"): used, or fell_back to the local model",
            stt_remote.clone(),
        );
        let stt_alternatives_chosen = Counter::default();
        registry.register(
            "stt_alternatives_chosen",
            "Commands understood from one of speech to text's alternatives ([stt] alternatives) when its best reading was not understood",
            stt_alternatives_chosen.clone(),
        );
        let satellite_connections = Family::<SatelliteLabel, Counter>::default();
        registry.register(
            "satellite_connections",
            "Connections made to each Wyoming satellite (more than one: it dropped and LUNA reconnected)",
            satellite_connections.clone(),
        );
        let utterances_ignored = Counter::default();
        registry.register(
            "utterances_ignored",
            "Utterances not addressed to LUNA (no wake phrase): heard, nothing done",
            utterances_ignored.clone(),
        );
        let wake_alone = Counter::default();
        registry.register(
            "wake_alone",
            "Wake phrases said alone (the next utterance is awaited)",
            wake_alone.clone(),
        );
        let audio_dropped = Counter::default();
        registry.register(
            "audio_dropped_samples",
            "Captured samples dropped because the pipeline fell behind",
            audio_dropped.clone(),
        );
        let speech_interrupted = Counter::default();
        registry.register(
            "speech_interrupted",
            "Spoken replies cut off by the user (a wake phrase while LUNA spoke, or \"stop\")",
            speech_interrupted.clone(),
        );
        let wake_rejected = Counter::default();
        registry.register(
            "wake_rejected",
            "Wake detections rejected as false: too quiet while LUNA spoke (its own echo)",
            wake_rejected.clone(),
        );
        let wake_transcript_checks = Family::<OutcomeLabel, Counter>::default();
        registry.register(
            "wake_transcript_checks",
            "Near \"hey luna\"s (score under the threshold, over [wake] transcript_check_from) checked by speech to text: confirmed (the transcript begins with the phrase: a command) or rejected (ignored)",
            wake_transcript_checks.clone(),
        );
        let probes = Arc::new(Probes::default());
        registry.register_collector(Box::new(Arc::clone(&probes)));
        Self {
            registry,
            latency,
            commands,
            intents,
            speculations,
            wake_detections,
            utterances_ignored,
            wake_alone,
            audio_dropped,
            speech_interrupted,
            wake_rejected,
            wake_transcript_checks,
            satellites_connected,
            satellite_connections,
            stt_remote,
            stt_alternatives_chosen,
            probes,
        }
    }

    /// Records a finished command and each of its intents, in the order said (none:
    /// understood as nothing, counted as `unknown`).
    pub fn command(&self, intents: &[&str], outcome: &str, source: &str, latency: &Latencies) {
        let first = intents.first().copied().unwrap_or("unknown");
        self.commands
            .get_or_create(&CommandLabels {
                intent: first.to_owned(),
                outcome: outcome.to_owned(),
                source: source.to_owned(),
            })
            .inc();
        for intent in if intents.is_empty() {
            &["unknown"][..]
        } else {
            intents
        } {
            self.intents
                .get_or_create(&IntentLabel {
                    intent: (*intent).to_owned(),
                })
                .inc();
        }
        for (stage, ms) in latency.stages() {
            if let Some(ms) = ms {
                self.latency
                    .get_or_create(&StageLabel { stage })
                    .observe(ms / 1000.0);
            }
        }
    }

    /// What came of a speculative transcription: "used", "abandoned" or "unused".
    pub fn speculation(&self, outcome: &'static str) {
        self.speculations
            .get_or_create(&OutcomeLabel { outcome })
            .inc();
    }

    /// From the end of a command's speech (or its arrival) to its reply's first sound.
    pub fn reply_first_audio(&self, ms: f64) {
        self.latency
            .get_or_create(&StageLabel {
                stage: "reply_first_audio",
            })
            .observe(ms / 1000.0);
    }

    /// A reply cut off by the user (barge-in, "stop").
    pub fn speech_interrupted(&self) {
        self.speech_interrupted.inc();
    }

    /// A near "hey luna" checked by its transcript: "confirmed" or "rejected".
    pub fn wake_transcript_check(&self, outcome: &'static str) {
        self.wake_transcript_checks
            .get_or_create(&OutcomeLabel { outcome })
            .inc();
    }

    /// A wake detection taken for LUNA's own echo.
    pub fn wake_rejected(&self) {
        self.wake_rejected.inc();
    }

    pub fn wake_detected(&self, phrase: &str) {
        self.wake_detections
            .get_or_create(&PhraseLabel {
                phrase: phrase.to_owned(),
            })
            .inc();
    }

    pub fn utterance_ignored(&self) {
        self.utterances_ignored.inc();
    }

    /// An utterance sent to the remote speech-to-text service: "used" or "fell_back".
    pub fn stt_remote(&self, outcome: &'static str) {
        self.stt_remote
            .get_or_create(&OutcomeLabel { outcome })
            .inc();
    }

    /// A command understood from one of speech to text's alternatives.
    pub fn stt_alternative_chosen(&self) {
        self.stt_alternatives_chosen.inc();
    }

    /// A Wyoming satellite connected (`true`) or was lost (`false`).
    pub fn satellite_connected(&self, satellite: &str, connected: bool) {
        let label = SatelliteLabel {
            satellite: satellite.to_owned(),
        };
        self.satellites_connected
            .get_or_create(&label)
            .set(i64::from(connected));
        if connected {
            self.satellite_connections.get_or_create(&label).inc();
        }
    }

    pub fn wake_alone(&self) {
        self.wake_alone.inc();
    }

    pub fn audio_dropped(&self, samples: u64) {
        self.audio_dropped.inc_by(samples);
    }

    /// Makes a stage's supervision counters part of every scrape.
    pub fn watch_stage(&self, stage: &'static str, probe: StageProbe) {
        let mut stages = self
            .probes
            .stages
            .write()
            .unwrap_or_else(|e| e.into_inner());
        stages.push((stage, probe));
    }

    /// The brain's cache counters, as of its last command.
    pub fn brain_caches(&self, stats: CacheStats) {
        *self.probes.caches.lock().unwrap_or_else(|e| e.into_inner()) = stats;
    }

    /// The Prometheus text exposition of everything.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

impl Collector for Probes {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let stages = self.stages.read().unwrap_or_else(|e| e.into_inner());
        let snapshots: Vec<_> = stages
            .iter()
            .map(|(name, probe)| (*name, probe()))
            .collect();
        type Field = fn(&luna_actors::StatsSnapshot) -> u64;
        let counters: [(&str, &str, Field); 4] = [
            (
                "stage_messages_handled",
                "Messages a stage answered with an output",
                |s| s.handled,
            ),
            (
                "stage_messages_failed",
                "Messages a stage answered with an error",
                |s| s.failed,
            ),
            ("stage_crashes", "Panics and fatal errors in a stage", |s| {
                s.crashed
            }),
            (
                "stage_restarts",
                "Times a stage was rebuilt by its supervisor",
                |s| s.restarts,
            ),
        ];
        for (name, help, field) in counters {
            let mut family = encoder.encode_descriptor(
                name,
                help,
                None,
                prometheus_client::metrics::MetricType::Counter,
            )?;
            for (stage, snapshot) in &snapshots {
                ConstCounter::new(field(snapshot))
                    .encode(family.encode_family(&[("stage", *stage)])?)?;
            }
        }
        let mut depth = encoder.encode_descriptor(
            "stage_mailbox_depth",
            "Messages waiting in a stage's mailbox",
            None,
            prometheus_client::metrics::MetricType::Gauge,
        )?;
        for (stage, snapshot) in &snapshots {
            ConstGauge::new(snapshot.queued as i64)
                .encode(depth.encode_family(&[("stage", *stage)])?)?;
        }
        // This process, as Prometheus' own process collectors name it.
        let usage = usage();
        let cpu = prometheus_client::metrics::counter::ConstCounter::new(usage.cpu_s);
        cpu.encode(encoder.encode_descriptor(
            "process_cpu_seconds",
            "CPU time of the LUNA process (user + system)",
            None,
            cpu.metric_type(),
        )?)?;
        let dropped = ConstCounter::new(crate::telemetry::spans_dropped());
        dropped.encode(encoder.encode_descriptor(
            "trace_spans_dropped",
            "Spans never delivered to the OTLP collector: failed batches and a full queue (collector down or slow)",
            None,
            dropped.metric_type(),
        )?)?;
        if let Some(rss) = resident_bytes() {
            let rss = ConstGauge::new(rss as i64);
            rss.encode(encoder.encode_descriptor(
                "process_resident_memory_bytes",
                "Resident memory of the LUNA process",
                None,
                rss.metric_type(),
            )?)?;
        }
        let caches = *self.caches.lock().unwrap_or_else(|e| e.into_inner());
        for (name, help, get) in [
            (
                "brain_cache_hits",
                "Brain cache hits, per cache level",
                (|c| c.hits) as fn(&crate::brain::CacheCounter) -> u64,
            ),
            (
                "brain_cache_misses",
                "Brain cache misses, per cache level",
                |c| c.misses,
            ),
        ] {
            let mut family = encoder.encode_descriptor(
                name,
                help,
                None,
                prometheus_client::metrics::MetricType::Counter,
            )?;
            for (cache, counter) in [
                ("parse", &caches.parse),
                ("context", &caches.context),
                ("plan", &caches.plan),
            ] {
                ConstCounter::new(get(counter))
                    .encode(family.encode_family(&[("cache", cache)])?)?;
            }
        }
        Ok(())
    }
}

/// This process's CPU time (user + system) and peak resident set size.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct Usage {
    pub cpu_s: f64,
    pub peak_rss_mb: f64,
}

pub fn usage() -> Usage {
    // SAFETY: getrusage only writes the struct it is given.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Usage {
        cpu_s: secs(ru.ru_utime) + secs(ru.ru_stime),
        // Linux reports kilobytes.
        peak_rss_mb: ru.ru_maxrss as f64 / 1024.0,
    }
}

/// This process's resident set size now (Linux: /proc/self/statm).
pub fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages * u64::try_from(page).ok()?)
}

/// One sample of a Prometheus text exposition.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Sample {
    pub name: String,
    pub labels: std::collections::BTreeMap<String, String>,
    pub value: f64,
}

/// Reads the samples of a text exposition (comments skipped; label values unescaped
/// for `\"` and `\\`).
pub fn parse_exposition(text: &str) -> Vec<Sample> {
    let mut samples = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (series, value) = match line.rsplit_once(' ') {
            Some(split) => split,
            None => continue,
        };
        let Ok(value) = value.parse::<f64>() else {
            continue;
        };
        let (name, labels) = match series.split_once('{') {
            None => (series, std::collections::BTreeMap::new()),
            Some((name, rest)) => (name, parse_labels(rest.trim_end_matches('}'))),
        };
        samples.push(Sample {
            name: name.to_owned(),
            labels,
            value,
        });
    }
    samples
}

fn parse_labels(text: &str) -> std::collections::BTreeMap<String, String> {
    let mut labels = std::collections::BTreeMap::new();
    let mut rest = text;
    while let Some((key, after)) = rest.split_once("=\"") {
        let mut value = String::new();
        let mut chars = after.char_indices();
        let mut end = after.len();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, next)) = chars.next() {
                        value.push(if next == 'n' { '\n' } else { next });
                    }
                }
                '"' => {
                    end = i + 1;
                    break;
                }
                c => value.push(c),
            }
        }
        labels.insert(key.trim_start_matches(',').trim().to_owned(), value);
        rest = &after[end..];
    }
    labels
}

/// The `q` quantile of a histogram from its cumulative buckets (`le` → count), by
/// linear interpolation inside the bucket it falls in, as Prometheus does.
pub fn quantile(buckets: &[(f64, f64)], q: f64) -> Option<f64> {
    let total = buckets.last()?.1;
    if total <= 0.0 {
        return None;
    }
    let rank = q * total;
    let mut lower = (0.0, 0.0);
    for &(le, count) in buckets {
        if count >= rank {
            if le.is_infinite() {
                return Some(lower.0);
            }
            let width = count - lower.1;
            let into = if width > 0.0 {
                (rank - lower.1) / width
            } else {
                1.0
            };
            return Some(lower.0 + (le - lower.0) * into);
        }
        lower = (le, count);
    }
    None
}

/// A summary for people: commands, per-stage latency, wake word, caches, stages.
pub fn summary(samples: &[Sample]) -> String {
    use std::collections::BTreeMap;
    use std::fmt::Write as _;
    let mut out = String::new();
    fn named<'a>(samples: &'a [Sample], name: &'a str) -> impl Iterator<Item = &'a Sample> {
        samples.iter().filter(move |s| s.name == name)
    }
    let of = |name: &'static str| named(samples, name);
    let label = |s: &Sample, key: &str| s.labels.get(key).cloned().unwrap_or_default();

    let mut by_outcome: BTreeMap<String, f64> = BTreeMap::new();
    let mut by_intent: BTreeMap<String, f64> = BTreeMap::new();
    for s in of("luna_commands_total") {
        *by_outcome.entry(label(s, "outcome")).or_default() += s.value;
    }
    for s in of("luna_intents_total") {
        *by_intent.entry(label(s, "intent")).or_default() += s.value;
    }
    let total: f64 = by_outcome.values().sum();
    let list = |m: &BTreeMap<String, f64>| {
        m.iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(out, "commands: {total} ({})", list(&by_outcome));
    if !by_intent.is_empty() {
        let _ = writeln!(out, "  by intent: {}", list(&by_intent));
    }

    let _ = writeln!(out, "latency (ms)            p50      p95   count");
    for stage in Latencies::STAGES {
        let mut buckets: Vec<(f64, f64)> = of("luna_stage_latency_seconds_bucket")
            .filter(|s| label(s, "stage") == stage)
            .filter_map(|s| {
                let le = label(s, "le");
                let le = if le == "+Inf" {
                    f64::INFINITY
                } else {
                    le.parse().ok()?
                };
                Some((le, s.value))
            })
            .collect();
        buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (Some(p50), Some(p95)) = (quantile(&buckets, 0.5), quantile(&buckets, 0.95)) else {
            continue;
        };
        let count = buckets.last().map_or(0.0, |b| b.1);
        let _ = writeln!(
            out,
            "  {stage:<20} {:>7.1}  {:>7.1}  {count:>6}",
            p50 * 1000.0,
            p95 * 1000.0
        );
    }

    let sum = |name: &'static str| of(name).map(|s| s.value).fold(0.0, |a, b| a + b);
    let sum_where = |name: &'static str, key: &str, value: &str| {
        of(name)
            .filter(|s| label(s, key) == value)
            .map(|s| s.value)
            .fold(0.0, |a, b| a + b)
    };
    let _ = writeln!(
        out,
        "wake word: {} detections (and {} near ones heard in the transcript, {} not), {} said alone, {} utterances ignored (no wake phrase)",
        sum("luna_wake_detections_total"),
        sum_where("luna_wake_transcript_checks_total", "outcome", "confirmed"),
        sum_where("luna_wake_transcript_checks_total", "outcome", "rejected"),
        sum("luna_wake_alone_total"),
        sum("luna_utterances_ignored_total"),
    );
    let satellites: Vec<String> = of("luna_satellite_connected")
        .map(|s| {
            let name = label(s, "satellite");
            let connections = of("luna_satellite_connections_total")
                .filter(|c| label(c, "satellite") == name)
                .map(|c| c.value)
                .fold(0.0, |a, b| a + b);
            let state = if s.value > 0.0 {
                "connected"
            } else {
                "reconnecting"
            };
            format!("{name} {state} ({connections} connections)")
        })
        .collect();
    if !satellites.is_empty() {
        let _ = writeln!(out, "satellites: {}", satellites.join(", "));
    }
    if of("luna_stt_remote_total").next().is_some() {
        let _ = writeln!(
            out,
            "speech to text on the Wyoming service: {} utterances, {} fell back to the local model",
            sum_where("luna_stt_remote_total", "outcome", "used"),
            sum_where("luna_stt_remote_total", "outcome", "fell_back"),
        );
    }
    let alternatives = sum("luna_stt_alternatives_chosen_total");
    if alternatives > 0.0 {
        let _ = writeln!(
            out,
            "understood from another reading of the speech: {alternatives} commands"
        );
    }
    let caches: Vec<String> = ["parse", "context", "plan"]
        .iter()
        .map(|cache| {
            let get = |name: &'static str| {
                of(name)
                    .filter(|s| label(s, "cache") == *cache)
                    .map(|s| s.value)
                    .fold(0.0, |a, b| a + b)
            };
            let (hits, misses) = (
                get("luna_brain_cache_hits_total"),
                get("luna_brain_cache_misses_total"),
            );
            let rate = if hits + misses > 0.0 {
                100.0 * hits / (hits + misses)
            } else {
                0.0
            };
            format!("{cache} {rate:.0} % of {}", hits + misses)
        })
        .collect();
    let _ = writeln!(out, "brain caches (hit rate): {}", caches.join(", "));
    let _ = writeln!(
        out,
        "stages       handled   failed  crashes  restarts  mailbox"
    );
    let stages: std::collections::BTreeSet<String> = of("luna_stage_messages_handled_total")
        .map(|s| label(s, "stage"))
        .collect();
    for stage in stages {
        let get = |name: &'static str| {
            of(name)
                .filter(|s| label(s, "stage") == stage)
                .map(|s| s.value)
                .fold(0.0, |a, b| a + b)
        };
        let _ = writeln!(
            out,
            "  {stage:<10} {:>8} {:>8} {:>8} {:>9} {:>8}",
            get("luna_stage_messages_handled_total"),
            get("luna_stage_messages_failed_total"),
            get("luna_stage_crashes_total"),
            get("luna_stage_restarts_total"),
            get("luna_stage_mailbox_depth"),
        );
    }
    let _ = writeln!(
        out,
        "audio dropped: {} samples",
        sum("luna_audio_dropped_samples_total")
    );
    let _ = writeln!(
        out,
        "process: {:.0} MB resident, {:.1} s CPU",
        sum("luna_process_resident_memory_bytes") / 1e6,
        sum("luna_process_cpu_seconds_total"),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_latencies_and_probes_reach_the_exposition() {
        let m = Metrics::new();
        let latency = Latencies {
            stt: Some(120.0),
            speech_end_to_action: Some(300.0),
            ..Latencies::default()
        };
        m.command(&["timer.start"], "ok", "voice", &latency);
        m.command(&["timer.start", "media.play"], "ok", "voice", &latency);
        m.wake_detected("hey luna");
        m.wake_rejected();
        m.speech_interrupted();
        m.reply_first_audio(40.0);
        m.watch_stage(
            "stt",
            Box::new(|| luna_actors::StatsSnapshot {
                handled: 7,
                restarts: 1,
                queued: 2,
                ..Default::default()
            }),
        );
        m.brain_caches(CacheStats {
            parse: crate::brain::CacheCounter { hits: 3, misses: 1 },
            ..Default::default()
        });
        let text = m.render();
        for line in [
            r#"luna_commands_total{intent="timer.start",outcome="ok",source="voice"} 2"#,
            r#"luna_intents_total{intent="timer.start"} 2"#,
            r#"luna_intents_total{intent="media.play"} 1"#,
            r#"luna_stage_latency_seconds_count{stage="stt"} 2"#,
            r#"luna_stage_latency_seconds_sum{stage="speech_end_to_action"} 0.6"#,
            r#"luna_wake_detections_total{phrase="hey luna"} 1"#,
            "luna_wake_rejected_total 1",
            "luna_speech_interrupted_total 1",
            r#"luna_stage_latency_seconds_count{stage="reply_first_audio"} 1"#,
            "luna_trace_spans_dropped_total 0",
            r#"luna_stage_restarts_total{stage="stt"} 1"#,
            r#"luna_stage_mailbox_depth{stage="stt"} 2"#,
            r#"luna_brain_cache_hits_total{cache="parse"} 3"#,
            "luna_process_resident_memory_bytes ",
        ] {
            assert!(text.contains(line), "{line} missing from:\n{text}");
        }
        // What `luna stats` reads back.
        let samples = parse_exposition(&text);
        let restarts = samples
            .iter()
            .find(|s| s.name == "luna_stage_restarts_total")
            .unwrap();
        assert_eq!(
            (restarts.labels["stage"].as_str(), restarts.value),
            ("stt", 1.0)
        );
        let summary = summary(&samples);
        assert!(summary.contains("commands: 2 (ok 2)"), "{summary}");
        assert!(
            summary.contains("by intent: media.play 1, timer.start 2"),
            "every intent of a multi-intent command counts: {summary}"
        );
        assert!(summary.contains("parse 75 % of 4"), "{summary}");
        // Both observations of 300 ms fall in the 256-512 ms bucket.
        let line = summary
            .lines()
            .find(|l| l.contains("speech_end_to_action"))
            .unwrap();
        let p50: f64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        assert!((256.0..=512.0).contains(&p50), "{line}");
    }

    #[test]
    fn quantiles_interpolate_inside_the_bucket() {
        let buckets = [(0.1, 2.0), (0.2, 6.0), (f64::INFINITY, 10.0)];
        // The 4th of 10 lies halfway through the second bucket.
        assert!((quantile(&buckets, 0.4).unwrap() - 0.15).abs() < 1e-9);
        assert_eq!(quantile(&buckets, 0.9), Some(0.2));
        assert_eq!(quantile(&[(0.1, 0.0)], 0.5), None);
    }

    #[test]
    fn label_values_with_escapes_are_read() {
        let s = parse_exposition("x_total{a=\"q\\\"t\",b=\"2\"} 3\n# HELP y\n");
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].labels["a"], "q\"t");
        assert_eq!(s[0].labels["b"], "2");
        assert_eq!(s[0].value, 3.0);
    }
}
