//! Layered, strictly checked configuration.
//!
//! `config/default.toml` is embedded and is also the schema: a layer may only name keys
//! the default has, with values of the default's type. Layers merge key by key:
//! default < `/etc/luna/config.toml` < `$XDG_CONFIG_HOME/luna/config.toml` <
//! `--config FILE` < `LUNA_<SECTION>__<KEY>` environment variables. Every error names
//! where the bad value came from, the key, and what was expected.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use toml::{Table, Value};

/// The documented defaults, embedded in the binary.
pub const DEFAULT_TOML: &str = include_str!("../config/default.toml");

const ENV_PREFIX: &str = "LUNA_";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub audio: AudioConfig,
    pub vad: VadConfig,
    pub brain: BrainConfig,
    pub stt: SttConfig,
    pub exec: ExecConfig,
    pub files: FilesConfig,
    pub wake: WakeConfig,
    pub tts: TtsConfig,
    pub system: SystemConfig,
    pub store: StoreConfig,
    pub api: ApiConfig,
    pub satellites: SatellitesConfig,
    pub telemetry: TelemetryConfig,
    pub debug: DebugConfig,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AudioConfig {
    pub input: String,
    /// The input has LUNA's own output removed (an echo-cancelling source): LUNA may
    /// listen while it speaks.
    pub echo_cancelled: bool,
    pub buffer_size: u32,
    pub sample_rate: u32,
    pub silence_threshold: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VadConfig {
    pub mode: u32,
    pub pre_roll_ms: u32,
    pub min_hangover_ms: u32,
    pub max_hangover_ms: u32,
    pub min_speech_ms: u32,
    pub max_utterance_ms: u32,
    pub speculate_ms: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrainConfig {
    pub cache_size: u32,
    pub confidence_threshold: f64,
    pub max_context_history: u32,
    pub grammar_path: String,
    pub examples_path: String,
    pub encoder: bool,
    pub encoder_dir: String,
    pub encoder_threshold: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SttConfig {
    pub model: String,
    pub model_path: String,
    pub preload: bool,
    pub threads: u32,
    pub audio_ctx: u32,
    pub max_tokens: u32,
    pub beam_size: u32,
    pub alternatives: u32,
    pub reread_beam_size: u32,
    pub no_speech_threshold: f64,
    pub logprob_threshold: f64,
    pub initial_prompt: String,
    pub backend: String,
    pub wyoming_uri: String,
    pub wyoming_timeout_ms: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecConfig {
    pub dry_run: bool,
    pub allow: Vec<String>,
    pub deny: Vec<String>,
    pub search_url: String,
    pub confirm_timeout_s: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilesConfig {
    pub roots: Vec<String>,
    pub excludes: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WakeConfig {
    pub phrases: Vec<String>,
    pub sensitivity: f64,
    /// Built-in phrase scores from this up to its threshold are accepted when speech to
    /// text hears the phrase at the start of the utterance; 1 turns the check off.
    pub transcript_check_from: f64,
    /// An enrolled phrase's matches need a second signal: the built-in head's vote for
    /// the user's own "hey luna", the transcript for another phrase.
    pub check_enrolled: bool,
    pub refractory_ms: u32,
    pub follow_up_ms: u32,
    pub models_dir: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TtsConfig {
    pub enabled: bool,
    /// The output device replies play on: "default" or a name from `luna audio devices`.
    pub output: String,
    pub voice: String,
    pub rate_wpm: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SystemConfig {
    pub max_concurrent_tasks: u32,
    pub event_queue_size: u32,
    pub max_restarts: u32,
    pub restart_window_s: u32,
    pub restart_backoff_ms: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    pub path: String,
    pub pool_size: u32,
    pub busy_timeout_ms: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    pub bind: String,
    pub token: String,
    pub max_text_chars: u32,
    pub max_audio_s: u32,
    pub request_timeout_ms: u32,
    pub wyoming_bind: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SatellitesConfig {
    /// Wyoming satellites LUNA connects to, as "tcp://host:port".
    pub wyoming: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DebugConfig {
    pub fault_injection: Vec<String>,
}

/// The supervised stages, by the names logs and metrics use.
pub const STAGES: &[&str] = &[
    "audio",
    "vad",
    "wake",
    "stt",
    "brain",
    "exec",
    "store",
    "scheduler",
    "tts",
];

impl DebugConfig {
    /// `[debug] fault_injection` as stage → every Nth message panics.
    pub fn panic_every(&self) -> Result<BTreeMap<String, u64>, String> {
        self.fault_injection
            .iter()
            .map(|entry| {
                let (stage, n) = entry
                    .split_once(':')
                    .ok_or_else(|| format!("{entry:?} is not \"STAGE:N\""))?;
                if !STAGES.contains(&stage) {
                    return Err(format!(
                        "{stage:?} is not a stage (stages: {})",
                        STAGES.join(", ")
                    ));
                }
                match n.parse::<u64>() {
                    Ok(n) if n >= 2 => Ok((stage.to_owned(), n)),
                    _ => Err(format!(
                        "{entry:?}: N must be a whole number of at least 2 (every Nth message panics)"
                    )),
                }
            })
            .collect()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetryConfig {
    pub log_level: String,
    pub log_format: String,
    pub metrics_addr: String,
    pub otlp_endpoint: String,
}

impl Config {
    /// The embedded defaults alone.
    pub fn defaults() -> Self {
        load(&LoadOptions::default())
            .expect("the embedded default config is valid")
            .config
    }

    /// Where the database lives: `[store] path`, or the XDG data dir.
    pub fn store_path(&self) -> PathBuf {
        if self.store.path.is_empty() {
            data_dir().join("luna.db")
        } else {
            expand_home(&self.store.path)
        }
    }
}

/// LUNA's data directory: `$XDG_DATA_HOME/luna` (usually `~/.local/share/luna`).
pub fn data_dir() -> PathBuf {
    dirs::data_dir()
        .unwrap_or_else(|| PathBuf::from(".local/share"))
        .join("luna")
}

/// LUNA's cache directory: `$XDG_CACHE_HOME/luna` (usually `~/.cache/luna`): what can
/// be rebuilt at any time (the trained fallback classifier).
pub fn cache_dir() -> PathBuf {
    dirs::cache_dir()
        .unwrap_or_else(|| PathBuf::from(".cache"))
        .join("luna")
}

pub fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), dirs::home_dir()) {
        (Some(rest), Some(home)) => home.join(rest),
        _ => PathBuf::from(path),
    }
}

/// Where a configuration value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    Default,
    File(PathBuf),
    Env(String),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => f.write_str("built-in default config"),
            Origin::File(path) => write!(f, "{}", path.display()),
            Origin::Env(var) => write!(f, "environment variable {var}"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config error: cannot read {path}: {error}")]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("config error in {origin}: invalid TOML: {message}")]
    Syntax { origin: Origin, message: String },
    #[error("config error in {origin}: unknown key `{key}` (known keys here: {known})")]
    UnknownKey {
        origin: Origin,
        key: String,
        known: String,
    },
    #[error("config error in {origin}: key `{key}` expects {expected}, found {found}")]
    Invalid {
        origin: Origin,
        key: String,
        expected: String,
        found: String,
    },
    #[error("config error in {origin}: key `{key}`: {message}")]
    Rejected {
        origin: Origin,
        key: String,
        message: String,
    },
}

/// Which layers to read. `Default` reads none: the embedded defaults only.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// Read when present (`/etc/luna/config.toml`).
    pub system_file: Option<PathBuf>,
    /// Read when present (`$XDG_CONFIG_HOME/luna/config.toml`).
    pub user_file: Option<PathBuf>,
    /// Must exist (`--config FILE`).
    pub explicit_file: Option<PathBuf>,
    /// Environment variables; those named `LUNA_<SECTION>__<KEY>` are a layer.
    pub env: Vec<(String, String)>,
}

impl LoadOptions {
    /// The standard layers of a running LUNA.
    pub fn standard(explicit_file: Option<PathBuf>) -> Self {
        Self {
            system_file: Some(PathBuf::from("/etc/luna/config.toml")),
            user_file: dirs::config_dir().map(|d| d.join("luna").join("config.toml")),
            explicit_file,
            env: std::env::vars().collect(),
        }
    }
}

/// The effective configuration and where each key's value came from.
#[derive(Clone, Debug)]
pub struct Loaded {
    pub config: Config,
    /// `section.key` → origin, for every key.
    pub origins: BTreeMap<String, Origin>,
    /// Files that were read, in order.
    pub files: Vec<PathBuf>,
}

pub fn load(options: &LoadOptions) -> Result<Loaded, ConfigError> {
    let schema = parse_toml(DEFAULT_TOML, &Origin::Default)?;
    let mut merged = schema.clone();
    let mut origins = BTreeMap::new();
    record_origins(&schema, "", &Origin::Default, &mut origins);
    let mut files = Vec::new();

    let optional = [&options.system_file, &options.user_file];
    for path in optional.into_iter().flatten() {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let origin = Origin::File(path.clone());
                let layer = parse_toml(&text, &origin)?;
                apply_layer(&mut merged, &schema, &layer, &origin, "", &mut origins)?;
                files.push(path.clone());
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => {
                return Err(ConfigError::Read {
                    path: path.clone(),
                    error,
                })
            }
        }
    }
    if let Some(path) = &options.explicit_file {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
            path: path.clone(),
            error,
        })?;
        let origin = Origin::File(path.clone());
        let layer = parse_toml(&text, &origin)?;
        apply_layer(&mut merged, &schema, &layer, &origin, "", &mut origins)?;
        files.push(path.clone());
    }
    for (var, raw) in &options.env {
        apply_env(&mut merged, &schema, var, raw, &mut origins)?;
    }

    let config: Config = serde_path_to_error::deserialize(Value::Table(merged)).map_err(|e| {
        let key = e.path().to_string();
        ConfigError::Rejected {
            origin: origins.get(&key).cloned().unwrap_or(Origin::Default),
            key,
            message: e.inner().message().to_owned(),
        }
    })?;
    validate(&config, &origins)?;
    Ok(Loaded {
        config,
        origins,
        files,
    })
}

fn parse_toml(text: &str, origin: &Origin) -> Result<Table, ConfigError> {
    text.parse::<Table>().map_err(|e| ConfigError::Syntax {
        origin: origin.clone(),
        message: e.message().to_owned(),
    })
}

fn join_key(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

fn record_origins(
    table: &Table,
    prefix: &str,
    origin: &Origin,
    out: &mut BTreeMap<String, Origin>,
) {
    for (key, value) in table {
        let path = join_key(prefix, key);
        match value {
            Value::Table(inner) => record_origins(inner, &path, origin, out),
            _ => {
                out.insert(path, origin.clone());
            }
        }
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a number",
        Value::Boolean(_) => "true or false",
        Value::Datetime(_) => "a date-time",
        Value::Array(_) => "an array",
        Value::Table(_) => "a table",
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::Table(_) => "a table".into(),
        other => format!("{} ({other})", kind(other)),
    }
}

/// Checks `value` against the default's type; integers are accepted where numbers are.
fn conform(default: &Value, value: &Value) -> Option<Value> {
    match (default, value) {
        (Value::Float(_), Value::Integer(i)) => Some(Value::Float(*i as f64)),
        (Value::Array(d), Value::Array(items)) => {
            let ok = match d.first() {
                Some(sample) => items.iter().all(|v| conform(sample, v).is_some()),
                None => true,
            };
            ok.then(|| value.clone())
        }
        (d, v) if std::mem::discriminant(d) == std::mem::discriminant(v) => Some(v.clone()),
        _ => None,
    }
}

fn apply_layer(
    merged: &mut Table,
    schema: &Table,
    layer: &Table,
    origin: &Origin,
    prefix: &str,
    origins: &mut BTreeMap<String, Origin>,
) -> Result<(), ConfigError> {
    for (key, value) in layer {
        let path = join_key(prefix, key);
        let Some(default) = schema.get(key) else {
            return Err(ConfigError::UnknownKey {
                origin: origin.clone(),
                key: path,
                known: schema.keys().cloned().collect::<Vec<_>>().join(", "),
            });
        };
        match (default, value) {
            (Value::Table(default_table), Value::Table(layer_table)) => {
                let Some(Value::Table(merged_table)) = merged.get_mut(key) else {
                    unreachable!("merged starts as a copy of the schema");
                };
                apply_layer(
                    merged_table,
                    default_table,
                    layer_table,
                    origin,
                    &path,
                    origins,
                )?;
            }
            _ => {
                let accepted = conform(default, value).ok_or_else(|| ConfigError::Invalid {
                    origin: origin.clone(),
                    key: path.clone(),
                    expected: kind(default).into(),
                    found: describe(value),
                })?;
                merged.insert(key.clone(), accepted);
                origins.insert(path, origin.clone());
            }
        }
    }
    Ok(())
}

fn apply_env(
    merged: &mut Table,
    schema: &Table,
    var: &str,
    raw: &str,
    origins: &mut BTreeMap<String, Origin>,
) -> Result<(), ConfigError> {
    let Some(name) = var.strip_prefix(ENV_PREFIX) else {
        return Ok(());
    };
    let Some((section, key)) = name.split_once("__") else {
        return Ok(());
    };
    let origin = Origin::Env(var.to_owned());
    let (section, key) = (section.to_ascii_lowercase(), key.to_ascii_lowercase());
    let default = schema
        .get(&section)
        .and_then(Value::as_table)
        .and_then(|t| t.get(&key));
    let Some(default) = default else {
        return Err(ConfigError::UnknownKey {
            origin,
            key: format!("{section}.{key}"),
            known: "see `luna config show`".into(),
        });
    };
    let invalid = || ConfigError::Invalid {
        origin: origin.clone(),
        key: format!("{section}.{key}"),
        expected: kind(default).into(),
        found: format!("{raw:?}"),
    };
    let value = match default {
        Value::String(_) => Value::String(raw.to_owned()),
        Value::Integer(_) => Value::Integer(raw.trim().parse().map_err(|_| invalid())?),
        Value::Float(_) => Value::Float(raw.trim().parse().map_err(|_| invalid())?),
        Value::Boolean(_) => match raw.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Value::Boolean(true),
            "false" | "0" | "no" | "off" => Value::Boolean(false),
            _ => return Err(invalid()),
        },
        _ => format!("v = {raw}")
            .parse::<Table>()
            .ok()
            .and_then(|mut t| t.remove("v"))
            .ok_or_else(invalid)?,
    };
    let mut layer = Table::new();
    let mut inner = Table::new();
    inner.insert(key, value);
    layer.insert(section, Value::Table(inner));
    apply_layer(merged, schema, &layer, &origin, "", origins)
}

fn check<T: PartialOrd + fmt::Display>(
    origins: &BTreeMap<String, Origin>,
    key: &str,
    value: T,
    min: T,
    max: T,
) -> Result<(), ConfigError> {
    if value >= min && value <= max {
        return Ok(());
    }
    Err(ConfigError::Invalid {
        origin: origins.get(key).cloned().unwrap_or(Origin::Default),
        key: key.to_owned(),
        expected: format!("a value from {min} to {max}"),
        found: value.to_string(),
    })
}

fn check_one_of(
    origins: &BTreeMap<String, Origin>,
    key: &str,
    value: &str,
    allowed: &[&str],
) -> Result<(), ConfigError> {
    if allowed.contains(&value) {
        return Ok(());
    }
    Err(ConfigError::Invalid {
        origin: origins.get(key).cloned().unwrap_or(Origin::Default),
        key: key.to_owned(),
        expected: format!("one of {}", allowed.join(", ")),
        found: format!("{value:?}"),
    })
}

fn validate(c: &Config, o: &BTreeMap<String, Origin>) -> Result<(), ConfigError> {
    check(o, "audio.buffer_size", c.audio.buffer_size, 64, 65_536)?;
    // The VAD, the wake-word front end and Whisper are all 16 kHz models.
    check(o, "audio.sample_rate", c.audio.sample_rate, 16_000, 16_000)?;
    check(
        o,
        "audio.silence_threshold",
        c.audio.silence_threshold,
        0.0,
        1.0,
    )?;
    check(o, "vad.mode", c.vad.mode, 0, 3)?;
    check(o, "vad.pre_roll_ms", c.vad.pre_roll_ms, 0, 2_000)?;
    check(o, "vad.min_hangover_ms", c.vad.min_hangover_ms, 30, 3_000)?;
    check(
        o,
        "vad.max_hangover_ms",
        c.vad.max_hangover_ms,
        c.vad.min_hangover_ms,
        5_000,
    )?;
    check(o, "vad.min_speech_ms", c.vad.min_speech_ms, 0, 5_000)?;
    check(
        o,
        "vad.speculate_ms",
        c.vad.speculate_ms,
        0,
        c.vad.min_hangover_ms,
    )?;
    check(
        o,
        "vad.max_utterance_ms",
        c.vad.max_utterance_ms,
        1_000,
        120_000,
    )?;
    check(o, "brain.cache_size", c.brain.cache_size, 1, 1_000_000)?;
    check(o, "stt.threads", c.stt.threads, 0, 64)?;
    check(o, "tts.rate_wpm", c.tts.rate_wpm, 80, 450)?;
    check(o, "wake.sensitivity", c.wake.sensitivity, 0.0, 1.0)?;
    check(
        o,
        "wake.transcript_check_from",
        c.wake.transcript_check_from,
        0.0,
        1.0,
    )?;
    check(o, "wake.refractory_ms", c.wake.refractory_ms, 0, 60_000)?;
    check(o, "wake.follow_up_ms", c.wake.follow_up_ms, 0, 60_000)?;
    check(o, "stt.audio_ctx", c.stt.audio_ctx, 64, 1500)?;
    check(o, "stt.max_tokens", c.stt.max_tokens, 1, 224)?;
    check(o, "stt.beam_size", c.stt.beam_size, 1, 8)?;
    check(o, "stt.alternatives", c.stt.alternatives, 0, 8)?;
    check(o, "stt.reread_beam_size", c.stt.reread_beam_size, 0, 8)?;
    check(
        o,
        "stt.wyoming_timeout_ms",
        c.stt.wyoming_timeout_ms,
        100,
        120_000,
    )?;
    let stt_rejected = |key: &str, message: String| ConfigError::Rejected {
        origin: o.get(key).cloned().unwrap_or(Origin::Default),
        key: key.into(),
        message,
    };
    match c.stt.backend.as_str() {
        "local" => {}
        "wyoming" => {
            crate::stt::remote::RemoteStt::new(&c.stt.wyoming_uri, Default::default())
                .map_err(|e| stt_rejected("stt.wyoming_uri", e.to_string()))?;
        }
        other => {
            return Err(stt_rejected(
                "stt.backend",
                format!("{other:?} is not \"local\" or \"wyoming\""),
            ))
        }
    }
    check(
        o,
        "stt.no_speech_threshold",
        c.stt.no_speech_threshold,
        0.0,
        1.0,
    )?;
    check(
        o,
        "stt.logprob_threshold",
        c.stt.logprob_threshold,
        -20.0,
        0.0,
    )?;
    check(
        o,
        "brain.confidence_threshold",
        c.brain.confidence_threshold,
        0.0,
        1.0,
    )?;
    check(
        o,
        "brain.max_context_history",
        c.brain.max_context_history,
        1,
        10_000,
    )?;
    check(
        o,
        "system.max_concurrent_tasks",
        c.system.max_concurrent_tasks,
        1,
        64,
    )?;
    check(
        o,
        "system.event_queue_size",
        c.system.event_queue_size,
        16,
        1_000_000,
    )?;
    check(o, "system.max_restarts", c.system.max_restarts, 0, 1_000)?;
    check(
        o,
        "system.restart_window_s",
        c.system.restart_window_s,
        1,
        3_600,
    )?;
    check(
        o,
        "system.restart_backoff_ms",
        c.system.restart_backoff_ms,
        0,
        60_000,
    )?;
    check(o, "store.pool_size", c.store.pool_size, 1, 64)?;
    check(
        o,
        "exec.confirm_timeout_s",
        c.exec.confirm_timeout_s,
        1,
        300,
    )?;
    check(o, "api.max_text_chars", c.api.max_text_chars, 1, 100_000)?;
    check(o, "api.max_audio_s", c.api.max_audio_s, 1, 600)?;
    check(
        o,
        "api.request_timeout_ms",
        c.api.request_timeout_ms,
        100,
        600_000,
    )?;
    if !c.api.bind.is_empty() {
        let reject = |message: String| ConfigError::Rejected {
            origin: o.get("api.bind").cloned().unwrap_or(Origin::Default),
            key: "api.bind".into(),
            message,
        };
        let addr: std::net::SocketAddr = c.api.bind.parse().map_err(|_| {
            reject(format!(
                "{:?} is not an address like \"127.0.0.1:8765\"",
                c.api.bind
            ))
        })?;
        if !addr.ip().is_loopback() && c.api.token.is_empty() {
            return Err(reject(format!(
                "binding to {addr} (reachable from other machines) needs `[api] token`"
            )));
        }
    }
    if !c.api.wyoming_bind.is_empty() && c.api.wyoming_bind.parse::<std::net::SocketAddr>().is_err()
    {
        return Err(ConfigError::Rejected {
            origin: o
                .get("api.wyoming_bind")
                .cloned()
                .unwrap_or(Origin::Default),
            key: "api.wyoming_bind".into(),
            message: format!(
                "{:?} is not an address like \"127.0.0.1:10300\"",
                c.api.wyoming_bind
            ),
        });
    }
    for uri in &c.satellites.wyoming {
        if crate::wyoming::host_port(uri).is_none() {
            return Err(ConfigError::Rejected {
                origin: o
                    .get("satellites.wyoming")
                    .cloned()
                    .unwrap_or(Origin::Default),
                key: "satellites.wyoming".into(),
                message: format!(
                    "{uri:?} is not a satellite address like \"tcp://kitchen.local:10700\""
                ),
            });
        }
    }
    check(
        o,
        "store.busy_timeout_ms",
        c.store.busy_timeout_ms,
        0,
        600_000,
    )?;
    for (key, list) in [("exec.allow", &c.exec.allow), ("exec.deny", &c.exec.deny)] {
        if let Some(bad) = list.iter().find(|i| {
            let family = i.strip_suffix(".*");
            !crate::brain::catalogue::is_known_intent(i)
                && !family.is_some_and(|f| {
                    crate::brain::catalogue::INTENTS
                        .iter()
                        .any(|(n, _, _)| n.starts_with(&format!("{f}.")))
                })
        }) {
            return Err(ConfigError::Invalid {
                origin: o.get(key).cloned().unwrap_or(Origin::Default),
                key: key.into(),
                expected: "intent names from the catalogue, or families like \"media.*\"".into(),
                found: format!("{bad:?}"),
            });
        }
    }
    if !c.exec.search_url.contains("{query}") {
        return Err(ConfigError::Invalid {
            origin: o.get("exec.search_url").cloned().unwrap_or(Origin::Default),
            key: "exec.search_url".into(),
            expected: "a URL containing {query}".into(),
            found: format!("{:?}", c.exec.search_url),
        });
    }
    check_one_of(
        o,
        "telemetry.log_format",
        &c.telemetry.log_format,
        &["text", "json"],
    )?;
    if let Err(message) = c.debug.panic_every() {
        return Err(ConfigError::Rejected {
            origin: o
                .get("debug.fault_injection")
                .cloned()
                .unwrap_or(Origin::Default),
            key: "debug.fault_injection".into(),
            message,
        });
    }
    let endpoint = &c.telemetry.otlp_endpoint;
    if !endpoint.is_empty() && !endpoint.starts_with("http://") && !endpoint.starts_with("https://")
    {
        return Err(ConfigError::Invalid {
            origin: o
                .get("telemetry.otlp_endpoint")
                .cloned()
                .unwrap_or(Origin::Default),
            key: "telemetry.otlp_endpoint".into(),
            expected:
                "an OTLP/HTTP traces URL like \"http://127.0.0.1:4318/v1/traces\", or \"\" for none"
                    .into(),
            found: format!("{endpoint:?}"),
        });
    }
    if !c.telemetry.metrics_addr.is_empty()
        && c.telemetry
            .metrics_addr
            .parse::<std::net::SocketAddr>()
            .is_err()
    {
        return Err(ConfigError::Invalid {
            origin: o
                .get("telemetry.metrics_addr")
                .cloned()
                .unwrap_or(Origin::Default),
            key: "telemetry.metrics_addr".into(),
            expected: "an address like \"127.0.0.1:9464\", or \"\" for none".into(),
            found: format!("{:?}", c.telemetry.metrics_addr),
        });
    }
    if let Err(e) = tracing_subscriber::EnvFilter::try_new(&c.telemetry.log_level) {
        return Err(ConfigError::Invalid {
            origin: o
                .get("telemetry.log_level")
                .cloned()
                .unwrap_or(Origin::Default),
            key: "telemetry.log_level".into(),
            expected: "a log filter such as \"info\" or \"luna=debug\"".into(),
            found: format!("{:?} ({e})", c.telemetry.log_level),
        });
    }
    Ok(())
}

/// The effective configuration as TOML, each value set by a layer other than the
/// defaults annotated with where it came from.
pub fn render(loaded: &Loaded) -> String {
    let value = Value::try_from(&loaded.config).expect("config serializes");
    let mut out = String::new();
    let Value::Table(sections) = value else {
        unreachable!("config is a table")
    };
    for (section, body) in &sections {
        out.push_str(&format!("[{section}]\n"));
        if let Value::Table(keys) = body {
            for (key, v) in keys {
                let path = format!("{section}.{key}");
                match loaded.origins.get(&path) {
                    Some(Origin::Default) | None => out.push_str(&format!("{key} = {v}\n")),
                    Some(origin) => out.push_str(&format!("{key} = {v}  # from {origin}\n")),
                }
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn defaults_hold_the_seed_settings() {
        let c = Config::defaults();
        assert_eq!(c.brain.cache_size, 1000);
        assert_eq!(c.brain.confidence_threshold, 0.8);
        assert_eq!(c.brain.max_context_history, 100);
        assert_eq!(c.audio.buffer_size, 4096);
        assert_eq!(c.audio.sample_rate, 16000);
        assert_eq!(c.audio.silence_threshold, 0.02);
        assert_eq!(c.system.max_concurrent_tasks, 4);
        assert_eq!(c.system.event_queue_size, 1000);
    }

    #[test]
    fn layers_merge_key_by_key_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let system = write(
            dir.path(),
            "system.toml",
            "[brain]\ncache_size = 10\nconfidence_threshold = 0.5\n",
        );
        let user = write(dir.path(), "user.toml", "[brain]\ncache_size = 20\n");
        let explicit = write(
            dir.path(),
            "explicit.toml",
            "[system]\nmax_concurrent_tasks = 2\n",
        );
        let loaded = load(&LoadOptions {
            system_file: Some(system.clone()),
            user_file: Some(user.clone()),
            explicit_file: Some(explicit.clone()),
            env: vec![
                ("LUNA_SYSTEM__MAX_CONCURRENT_TASKS".into(), "3".into()),
                ("UNRELATED".into(), "x".into()),
                ("LUNA_LOG".into(), "not a config var".into()),
            ],
        })
        .unwrap();
        let c = &loaded.config;
        assert_eq!(c.brain.cache_size, 20);
        assert_eq!(c.brain.confidence_threshold, 0.5);
        assert_eq!(c.brain.max_context_history, 100);
        assert_eq!(c.system.max_concurrent_tasks, 3);
        assert_eq!(loaded.origins["brain.cache_size"], Origin::File(user));
        assert_eq!(
            loaded.origins["brain.confidence_threshold"],
            Origin::File(system)
        );
        assert_eq!(
            loaded.origins["system.max_concurrent_tasks"],
            Origin::Env("LUNA_SYSTEM__MAX_CONCURRENT_TASKS".into())
        );
        assert_eq!(loaded.origins["audio.buffer_size"], Origin::Default);
        let shown = render(&loaded);
        assert!(shown.contains("cache_size = 20  # from"), "{shown}");
        assert!(shown.contains("buffer_size = 4096\n"), "{shown}");
    }

    #[test]
    fn missing_optional_files_are_skipped_but_explicit_must_exist() {
        let dir = tempfile::tempdir().unwrap();
        let opts = LoadOptions {
            user_file: Some(dir.path().join("absent.toml")),
            ..Default::default()
        };
        assert!(load(&opts).is_ok());
        let opts = LoadOptions {
            explicit_file: Some(dir.path().join("absent.toml")),
            ..Default::default()
        };
        let err = load(&opts).unwrap_err().to_string();
        assert!(err.contains("absent.toml"), "{err}");
    }

    fn error_for(text: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "bad.toml", text);
        let err = load(&LoadOptions {
            explicit_file: Some(path),
            ..Default::default()
        })
        .unwrap_err()
        .to_string();
        assert!(!err.contains('\n'), "one line: {err}");
        assert!(err.contains("bad.toml"), "names the file: {err}");
        err
    }

    #[test]
    fn unknown_keys_are_errors_naming_file_and_key() {
        let err = error_for("[brain]\ncache_sise = 3\n");
        assert!(err.contains("brain.cache_sise"), "{err}");
        assert!(err.contains("cache_size"), "lists the known keys: {err}");
        let err = error_for("[brian]\ncache_size = 3\n");
        assert!(err.contains("`brian`"), "{err}");
    }

    #[test]
    fn wrong_types_are_errors_naming_the_expected_type() {
        let err = error_for("[brain]\ncache_size = \"big\"\n");
        assert!(
            err.contains("brain.cache_size") && err.contains("an integer"),
            "{err}"
        );
        let err = error_for("[store]\npath = 3\n");
        assert!(
            err.contains("store.path") && err.contains("a string"),
            "{err}"
        );
        let err = error_for("brain = 3\n");
        assert!(err.contains("`brain`") && err.contains("a table"), "{err}");
    }

    #[test]
    fn out_of_range_values_are_errors() {
        let err = error_for("[brain]\nconfidence_threshold = 1.5\n");
        assert!(
            err.contains("brain.confidence_threshold") && err.contains("0 to 1"),
            "{err}"
        );
        let err = error_for("[brain]\ncache_size = -5\n");
        assert!(err.contains("brain.cache_size"), "{err}");
        let err = error_for("[stt]\naudio_ctx = 10\n");
        assert!(
            err.contains("stt.audio_ctx") && err.contains("64 to 1500"),
            "{err}"
        );
        let err = error_for("[telemetry]\nlog_format = \"xml\"\n");
        assert!(
            err.contains("telemetry.log_format") && err.contains("json"),
            "{err}"
        );
        let err = error_for("[telemetry]\nlog_level = \"luna=[[\"\n");
        assert!(err.contains("telemetry.log_level"), "{err}");
    }

    #[test]
    fn syntax_errors_name_the_file() {
        let err = error_for("[brain\ncache_size = 3\n");
        assert!(err.contains("invalid TOML"), "{err}");
    }

    #[test]
    fn integers_are_accepted_for_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "c.toml", "[brain]\nconfidence_threshold = 1\n");
        let loaded = load(&LoadOptions {
            explicit_file: Some(path),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(loaded.config.brain.confidence_threshold, 1.0);
    }

    #[test]
    fn environment_errors_name_the_variable() {
        let err = load(&LoadOptions {
            env: vec![("LUNA_BRAIN__CACHE_SIZE".into(), "lots".into())],
            ..Default::default()
        })
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("LUNA_BRAIN__CACHE_SIZE") && err.contains("an integer"),
            "{err}"
        );
        let err = load(&LoadOptions {
            env: vec![("LUNA_BRAIN__NOPE".into(), "1".into())],
            ..Default::default()
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains("brain.nope"), "{err}");
    }
}
