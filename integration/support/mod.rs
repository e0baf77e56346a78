//! Shared by the integration tests: real synthesized speech (espeak-ng, sox).

#![allow(dead_code)]

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The `luna` binary with a private home: its own config, data and (empty) system
/// app directories, so tests never see or touch the machine's.
pub fn luna(home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_luna"));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_DIRS", home.join("system-apps"))
        .env("RUST_LOG", "info")
        // Tests run daemons side by side: each API on a port of its own.
        .env("LUNA_API__BIND", "127.0.0.1:0")
        .env("LUNA_TELEMETRY__METRICS_ADDR", "127.0.0.1:0")
        // Replies would only slow the machine; the tests that hear them turn this on.
        .env("LUNA_TTS__ENABLED", "false");
    cmd
}

/// Runs a tool the tests need; a missing tool is a failure that says how to install it.
pub fn run(program: &str, args: &[&str]) {
    // sox's noise is random per run unless asked to repeat (-R): tests stay repeatable.
    let repeatable: &[&str] = if program == "sox" { &["-R"] } else { &[] };
    let status = Command::new(program)
        .args(repeatable)
        .args(args)
        .status()
        .unwrap_or_else(|e| panic!("cannot run {program} ({e}); `make test` installs it (apt-get install espeak-ng sox)"));
    assert!(status.success(), "{program} {args:?} failed: {status}");
}

/// Speaks `text` with an espeak-ng voice at `words_per_minute` into `out` (22.05 kHz).
pub fn speak(text: &str, voice: &str, words_per_minute: u32, out: &Path) {
    run(
        "espeak-ng",
        &[
            "-v",
            voice,
            "-s",
            &words_per_minute.to_string(),
            "-w",
            out.to_str().unwrap(),
            text,
        ],
    );
}

/// Mixes pink noise into `input` at roughly `snr_db`.
pub fn add_noise(input: &Path, snr_db: f32, out: &Path) {
    let noise = out.with_extension("noise.wav");
    let secs = format!("{:.2}", duration_s(input));
    let rate = rate_of(input);
    // espeak-ng speech peaks near 0.5 (RMS ~0.08); noise at that RMS minus the SNR.
    let level = 0.08 * 10f32.powf(-snr_db / 20.0) * 3.0;
    run(
        "sox",
        &[
            "-n",
            "-r",
            &rate,
            "-c",
            "1",
            "-b",
            "16",
            noise.to_str().unwrap(),
            "synth",
            &secs,
            "pinknoise",
            "vol",
            &format!("{level:.4}"),
        ],
    );
    run(
        "sox",
        &[
            "-m",
            input.to_str().unwrap(),
            noise.to_str().unwrap(),
            out.to_str().unwrap(),
        ],
    );
}

pub fn duration_s(path: &Path) -> f64 {
    let out = Command::new("soxi")
        .args(["-D", path.to_str().unwrap()])
        .output()
        .expect("soxi");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("soxi duration")
}

fn rate_of(path: &Path) -> String {
    let out = Command::new("soxi")
        .args(["-r", path.to_str().unwrap()])
        .output()
        .expect("soxi");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The Whisper model the tests use: `LUNA_TEST_MODEL`, else the installed default.
/// Missing is a failure: `make test` installs it first.
pub fn model_path() -> PathBuf {
    let path = std::env::var_os("LUNA_TEST_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| luna::stt::install::default_path("tiny.en"));
    assert!(
        path.is_file(),
        "no Whisper model at {}: run `make model` (or `luna model install tiny.en`) first",
        path.display()
    );
    path
}

/// Word error rate of `hypothesis` against `reference` (word-level edit distance).
pub fn word_errors(reference: &str, hypothesis: &str) -> (usize, usize) {
    let r: Vec<&str> = reference.split_whitespace().collect();
    let h: Vec<&str> = hypothesis.split_whitespace().collect();
    let mut prev: Vec<usize> = (0..=h.len()).collect();
    for i in 1..=r.len() {
        let mut cur = vec![i; h.len() + 1];
        for j in 1..=h.len() {
            let sub = prev[j - 1] + usize::from(r[i - 1] != h[j - 1]);
            cur[j] = sub.min(prev[j] + 1).min(cur[j - 1] + 1);
        }
        prev = cur;
    }
    (prev[h.len()], r.len())
}

/// Reads a WAV with LUNA's reader (16 kHz mono f32).
pub fn read16(path: &Path) -> Vec<f32> {
    luna::audio::wav::read(path).unwrap().samples
}

/// Where speech is in a clean recording: first and last sample above `threshold`.
pub fn active_span(samples: &[f32], threshold: f32) -> (usize, usize) {
    let first = samples
        .iter()
        .position(|s| s.abs() > threshold)
        .expect("some speech");
    let last = samples
        .iter()
        .rposition(|s| s.abs() > threshold)
        .expect("some speech");
    (first, last)
}

/// A session: silence, then each phrase followed by a pause, as 16 kHz mono. Returns
/// the audio and the true (start, end) of each phrase in seconds.
pub fn session(
    dir: &Path,
    phrases: &[(&str, &str)],
    lead_s: f64,
    gap_s: f64,
) -> (Vec<f32>, Vec<(f64, f64)>) {
    let mut audio = vec![0.0f32; (lead_s * 16_000.0) as usize];
    let mut truth = Vec::new();
    for (i, (text, voice)) in phrases.iter().enumerate() {
        let wav = dir.join(format!("phrase{i}.wav"));
        speak(text, voice, 160, &wav);
        let speech = read16(&wav);
        let (a, b) = active_span(&speech, 0.02);
        truth.push((
            (audio.len() + a) as f64 / 16_000.0,
            (audio.len() + b) as f64 / 16_000.0,
        ));
        audio.extend_from_slice(&speech);
        audio.extend(std::iter::repeat_n(0.0, (gap_s * 16_000.0) as usize));
    }
    (audio, truth)
}

/// Writes 16 kHz mono 16-bit audio.
pub fn write16(path: &Path, samples: &[f32]) {
    luna::audio::wav::write_pipeline_wav(path, samples).unwrap();
}

/// An installed model directory: `$env` if set, else `default()`. Missing is a
/// failure: `make test` installs the models first (`make model`).
fn installed_dir(
    env: &str,
    default: fn() -> PathBuf,
    installed: fn(&Path) -> bool,
    what: &str,
) -> PathBuf {
    let dir = std::env::var_os(env)
        .map(PathBuf::from)
        .unwrap_or_else(default);
    assert!(
        installed(&dir),
        "no {what} in {}: run `make model` (or `luna model install`) first",
        dir.display()
    );
    dir
}

/// The installed wake-word front end (or `LUNA_TEST_WAKE_DIR`).
pub fn wake_models_dir() -> PathBuf {
    installed_dir(
        "LUNA_TEST_WAKE_DIR",
        luna::wake::install::default_dir,
        luna::wake::install::installed,
        "wake-word front end",
    )
}

/// The installed sentence encoder (or `LUNA_TEST_ENCODER_DIR`).
pub fn encoder_dir() -> PathBuf {
    installed_dir(
        "LUNA_TEST_ENCODER_DIR",
        luna::brain::encoder::default_dir,
        luna::brain::install::installed,
        "sentence encoder",
    )
}

/// Speaks `text` with a voice of another synthesizer family, never used to train or
/// tune the wake word: `flite:VOICE` (flite) or `festival:VOICE` (e.g. kal_diphone).
pub fn speak_other(text: &str, voice: &str, out: &Path) {
    let raw = out.with_extension("raw.wav");
    match voice.split_once(':') {
        Some(("flite", v)) => run(
            "flite",
            &["-voice", v, "-t", text, "-o", raw.to_str().unwrap()],
        ),
        Some(("festival", v)) => {
            let status = Command::new("text2wave")
                .args([
                    "-o",
                    raw.to_str().unwrap(),
                    "-eval",
                    &format!("(voice_{v})"),
                ])
                .stdin(std::process::Stdio::piped())
                .spawn()
                .and_then(|mut child| {
                    use std::io::Write;
                    child.stdin.take().unwrap().write_all(text.as_bytes())?;
                    child.wait()
                })
                .unwrap_or_else(|e| {
                    panic!("cannot run text2wave ({e}); `make test` installs festival")
                });
            assert!(status.success(), "text2wave {voice} failed");
        }
        _ => panic!("unknown voice {voice}"),
    }
    to_16k_mono(&raw, out);
}

/// Converts any WAV to 16 kHz mono 16-bit with sox.
pub fn to_16k_mono(input: &Path, out: &Path) {
    run(
        "sox",
        &[
            input.to_str().unwrap(),
            "-r",
            "16000",
            "-c",
            "1",
            "-b",
            "16",
            out.to_str().unwrap(),
        ],
    );
}

/// Starts `luna run` and returns it with a receiver of its log lines.
pub fn start_daemon(home: &Path) -> (RunningDaemon, std::sync::mpsc::Receiver<String>) {
    start_daemon_with(home, &[])
}

/// `start_daemon` with extra environment (config overrides).
/// `luna run` as on a machine without a microphone, serving its API: the installed
/// models, nothing executed outside LUNA (dry run), plus `extra`; returns once the API
/// listens, with its address and the log's next lines.
pub fn start_headless(
    home: &Path,
    extra: &[(&str, &str)],
) -> (
    RunningDaemon,
    std::net::SocketAddr,
    std::sync::mpsc::Receiver<String>,
) {
    let (model, wake) = (model_path(), wake_models_dir());
    let mut env = vec![
        ("LUNA_AUDIO__INPUT", "no-such-device"),
        ("LUNA_STT__MODEL_PATH", model.to_str().unwrap()),
        ("LUNA_WAKE__MODELS_DIR", wake.to_str().unwrap()),
        ("LUNA_EXEC__DRY_RUN", "true"),
    ];
    env.extend_from_slice(extra);
    let (daemon, rx) = start_daemon_with(home, &env);
    let seen = wait_for(&rx, "API listening", 60);
    (daemon, logged_addr(&seen, "API listening"), rx)
}

/// The commands `luna history --json` lists for `home`, newest first.
pub fn history(home: &Path) -> Vec<serde_json::Value> {
    let out = luna(home).args(["history", "--json"]).output().unwrap();
    let mut history: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    history["commands"]
        .as_array_mut()
        .map(std::mem::take)
        .unwrap_or_default()
}

pub fn start_daemon_with(
    home: &Path,
    env: &[(&str, &str)],
) -> (RunningDaemon, std::sync::mpsc::Receiver<String>) {
    let mut child = luna(home)
        .env("LUNA_TTS__ENABLED", "false")
        .envs(env.iter().copied())
        .arg("run")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    (RunningDaemon { child: Some(child) }, rx)
}

pub fn wait_for(rx: &std::sync::mpsc::Receiver<String>, needle: &str, seconds: u64) -> Vec<String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    let mut seen = Vec::new();
    loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()))
            .unwrap_or_else(|_| panic!("never saw {needle:?}: {seen:#?}"));
        let found = line.contains(needle);
        seen.push(line);
        if found {
            return seen;
        }
    }
}

/// The address a log line with `needle` gives as `addr=…` ("API listening",
/// "metrics listening").
pub fn logged_addr(seen: &[String], needle: &str) -> std::net::SocketAddr {
    let line = seen
        .iter()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no {needle:?} in {seen:#?}"));
    line.split("addr=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
}

/// Every command in the database at `db`, once per stored row (a duplicate shows
/// twice), after checking the database's integrity.
pub fn stored_ids(db: &Path) -> Vec<String> {
    let store = luna::store::Store::open(db, &luna::store::StoreOptions::default()).unwrap();
    assert_eq!(store.integrity_check().unwrap(), "ok");
    let ids = store
        .connection()
        .unwrap()
        .prepare("SELECT correlation_id FROM commands")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    ids
}

/// A `luna run` started by a test: killed if the test ends without stopping it (a
/// failed assertion must not leave daemons behind to load the machine).
pub struct RunningDaemon {
    child: Option<std::process::Child>,
}

impl std::ops::Deref for RunningDaemon {
    type Target = std::process::Child;

    fn deref(&self) -> &std::process::Child {
        self.child.as_ref().expect("running")
    }
}

impl std::ops::DerefMut for RunningDaemon {
    fn deref_mut(&mut self) -> &mut std::process::Child {
        self.child.as_mut().expect("running")
    }
}

impl Drop for RunningDaemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Stops the daemon with SIGTERM and checks it exits cleanly.
pub fn stop(mut daemon: RunningDaemon) {
    let mut child = daemon.child.take().expect("running");
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
}

/// Runs `cmd` (a `luna` command, configured) as `replay --json --dry-run --fast WAV`:
/// its JSON report and its log. A failed run fails the test, with the log.
pub fn replay_json(cmd: &mut Command, wav: &Path) -> (serde_json::Value, String) {
    let out = cmd
        .args(["replay", "--json", "--dry-run", "--fast"])
        .arg(wav)
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{log}");
    let report = serde_json::from_slice(&out.stdout).unwrap();
    (report, log)
}
