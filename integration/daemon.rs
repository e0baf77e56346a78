//! The `luna` binary as a user runs it: start, stop on a signal, config errors, doctor,
//! and listening to a recording.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{luna, start_daemon, stop, wait_for};

#[test]
fn run_serves_until_sigterm_then_flushes_and_exits_cleanly() {
    let home = tempfile::tempdir().unwrap();
    let (mut child, rx) = start_daemon(home.path());
    let mut log = wait_for(&rx, "LUNA is running", 30);
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let exit = child.wait().unwrap();
    log.extend(rx.iter());
    assert!(exit.success(), "exit {exit:?}; log: {log:?}");
    assert!(
        log.iter().any(|l| l.contains("database flushed")),
        "{log:?}"
    );
    assert!(home.path().join("data/luna/luna.db").is_file());
    let wal = home.path().join("data/luna/luna.db-wal");
    let wal_len = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    assert_eq!(
        wal_len, 0,
        "the WAL was checkpointed into the database at shutdown"
    );
}

#[test]
fn a_bad_config_key_is_a_one_line_error_naming_it() {
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("luna.toml");
    std::fs::write(&file, "[brain]\nconfidence_treshold = 0.5\n").unwrap();
    let out = luna(home.path())
        .args(["--config", file.to_str().unwrap(), "run"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("luna.toml"), "{err}");
    assert!(err.contains("brain.confidence_treshold"), "{err}");
}

#[test]
fn user_config_and_environment_layers_reach_config_show() {
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(home.path().join("config/luna")).unwrap();
    std::fs::write(
        home.path().join("config/luna/config.toml"),
        "[brain]\ncache_size = 77\nmax_context_history = 5\n",
    )
    .unwrap();
    let out = luna(home.path())
        .env("LUNA_BRAIN__MAX_CONTEXT_HISTORY", "9")
        .args(["config", "show"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let shown = String::from_utf8(out.stdout).unwrap();
    let parsed: toml::Table = shown.parse().expect("config show prints valid TOML");
    assert_eq!(parsed["brain"]["cache_size"].as_integer(), Some(77));
    assert_eq!(parsed["brain"]["max_context_history"].as_integer(), Some(9));
    assert!(shown.contains("LUNA_BRAIN__MAX_CONTEXT_HISTORY"), "{shown}");
}

#[test]
fn doctor_reports_every_check_as_json() {
    let home = tempfile::tempdir().unwrap();
    let out = luna(home.path())
        .args(["doctor", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let checks = report["checks"].as_array().unwrap();
    let names: Vec<_> = checks.iter().map(|c| c["name"].as_str().unwrap()).collect();
    for expected in [
        "config",
        "data directory",
        "database",
        "microphone",
        "speech model",
        "speech",
        "sentence encoder",
    ] {
        assert!(names.contains(&expected), "{names:?}");
    }
    let db = checks.iter().find(|c| c["name"] == "database").unwrap();
    assert_eq!(db["status"], "ok", "{db}");
    for c in checks.iter().filter(|c| c["status"] != "ok") {
        assert!(
            c["fix"].is_string(),
            "every problem says how to fix it: {c}"
        );
    }
}

#[test]
fn doctor_fails_on_a_bad_config() {
    let home = tempfile::tempdir().unwrap();
    let out = luna(home.path())
        .env("LUNA_STORE__POOL_SIZE", "0")
        .arg("doctor")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("FAIL") && text.contains("store.pool_size"),
        "{text}"
    );
}

#[test]
fn history_lists_stored_commands_newest_first() {
    use luna::store::{CommandRecord, CommandSource, Outcome, Store, StoreOptions};
    let home = tempfile::tempdir().unwrap();
    let history = |limit: &str| {
        let out = luna(home.path())
            .args(["history", "--json", "--limit", limit])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    assert_eq!(history("5")["commands"], serde_json::json!([]));

    let store = Store::open(
        &home.path().join("data/luna/luna.db"),
        &StoreOptions::default(),
    )
    .unwrap();
    for (i, text) in ["what time is it", "open firefox"].iter().enumerate() {
        let mut r = CommandRecord::received(
            format!("id-{i}"),
            CommandSource::Text,
            Some(text.to_string()),
        );
        r.received_at_ms += i as i64;
        r.outcome = Outcome::Ok;
        store.record_command(&r).unwrap();
    }
    let v = history("1");
    let commands = v["commands"].as_array().unwrap();
    assert_eq!(commands.len(), 1);
    assert_eq!(commands[0]["transcript"], "open firefox");
    assert_eq!(commands[0]["outcome"], "ok");
    assert_eq!(history("5")["commands"].as_array().unwrap().len(), 2);
}

fn with_model(cmd: &mut Command) -> &mut Command {
    cmd.env("LUNA_STT__MODEL_PATH", support::model_path())
        .env("LUNA_WAKE__MODELS_DIR", support::wake_models_dir())
}

/// Speaks `phrases` into a recording and runs `luna run --input` on it with `args`;
/// returns the exit status and the log.
fn run_on_recording(
    home: &Path,
    phrases: &[(&str, &str)],
    args: &[&str],
) -> (std::process::ExitStatus, String) {
    let (audio, _) = support::session(home, phrases, 0.5, 0.8);
    let wav = home.join("session.wav");
    support::write16(&wav, &audio);
    let out = with_model(&mut luna(home))
        .arg("run")
        .args(args)
        .arg("--input")
        .arg(&wav)
        .output()
        .unwrap();
    (
        out.status,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Speaks `phrases` into a recording and runs `luna [--config CONFIG] replay --json
/// --dry-run --fast` on it: the JSON report, the log, and where each phrase lies.
fn replay_recording(
    home: &Path,
    phrases: &[(&str, &str)],
    config: Option<&Path>,
) -> (serde_json::Value, String, Vec<(f64, f64)>) {
    let (audio, truth) = support::session(home, phrases, 0.5, 0.8);
    let wav = home.join("session.wav");
    support::write16(&wav, &audio);
    let mut cmd = luna(home);
    with_model(&mut cmd);
    if let Some(config) = config {
        cmd.arg("--config").arg(config);
    }
    let (v, log) = support::replay_json(&mut cmd, &wav);
    (v, log, truth)
}

#[test]
fn run_acts_only_on_speech_addressed_to_it_by_the_wake_phrase() {
    let home = tempfile::tempdir().unwrap();
    let phrases = [
        // In one breath: the command is handed on from the wake phrase's end.
        ("hey luna set a timer for five minutes", "en-us"),
        // Not addressed to LUNA: heard, and nothing done.
        ("open firefox", "en-us"),
        // The wake phrase alone, then the command as the next utterance.
        ("hey luna", "en-us+f3"),
        ("what time is it", "en-us+f3"),
    ];
    let (status, log) = run_on_recording(home.path(), &phrases, &["--dry-run"]);
    assert!(status.success(), "{log}");
    let utterances: Vec<&str> = log.lines().filter(|l| l.contains(" utterance ")).collect();
    assert_eq!(utterances.len(), 2, "{log}");
    assert!(
        utterances[0].contains("timer.start duration_s=300")
            && utterances[0].contains("wake=\"hey luna\""),
        "{}",
        utterances[0]
    );
    assert!(utterances[1].contains("time.now"), "{}", utterances[1]);
    assert!(!log.contains("app.open"), "{log}");
    // "open firefox": ignored, or, if the head scored it near the phrase, turned away by
    // its transcript ([wake] transcript_check_from).
    let ignored = log.matches("speech not addressed to LUNA").count();
    let turned_away = log
        .matches("a near wake phrase the transcript does not begin with")
        .count();
    assert_eq!(ignored + turned_away, 1, "{log}");
    assert_eq!(log.matches("wake phrase alone").count(), 1, "{log}");
    assert!(
        log.contains("the input ended") && log.contains("database flushed"),
        "{log}"
    );
}

#[test]
fn run_reads_raw_audio_on_stdin() {
    let home = tempfile::tempdir().unwrap();
    let (audio, _) = support::session(home.path(), &[("hey luna open firefox", "en-us")], 0.5, 0.8);
    let raw: Vec<u8> = audio
        .iter()
        .flat_map(|s| ((s * 32767.0) as i16).to_le_bytes())
        .collect();
    let mut child = with_model(&mut luna(home.path()))
        .args(["run", "--input", "-"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(&raw).unwrap();
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("app.open app=\"firefox\""), "{log}");
}

#[test]
fn run_without_a_microphone_says_so_clearly() {
    let home = tempfile::tempdir().unwrap();
    let out = luna(home.path())
        .env("LUNA_AUDIO__INPUT", "no-such-device")
        .args(["run", "--input", "mic"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no-such-device"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one clear line: {err}");
}

#[test]
fn no_wake_mode_executes_spoken_commands_and_records_them() {
    let home = tempfile::tempdir().unwrap();
    let phrases = [
        ("set a timer for five minutes", "en-us"),
        ("what time is it", "en-us"),
    ];
    let (status, log) = run_on_recording(home.path(), &phrases, &["--no-wake"]);
    assert!(status.success(), "{log}");
    assert!(log.contains("Timer set for 5 minutes."), "{log}");

    let out = luna(home.path())
        .args(["history", "--json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let commands = v["commands"].as_array().unwrap();
    assert_eq!(commands.len(), 2, "{v}");
    let timer = commands
        .iter()
        .find(|c| {
            c["transcript"]
                .as_str()
                .unwrap()
                .to_lowercase()
                .contains("timer")
        })
        .unwrap();
    assert_eq!(timer["source"], "voice");
    assert_eq!(timer["outcome"], "ok");
    let latency = &timer["latency_ms"];
    for key in ["stt", "brain", "dispatch", "speech_end_to_action"] {
        assert!(
            latency[key].as_f64().is_some_and(|ms| ms >= 0.0),
            "{key} missing: {latency}"
        );
    }
    // From the end of speech to the action: it includes endpointing and transcription.
    let end_to_action = latency["speech_end_to_action"].as_f64().unwrap();
    assert!(
        end_to_action >= latency["stt"].as_f64().unwrap(),
        "{latency}"
    );
}

/// Commands Whisper tiny.en mishears into nothing in voices nobody tuned it on (found by
/// `models/stt/evaluate.py`): with `[stt] alternatives` LUNA understands some of them
/// from another reading of the same audio and records that reading; without, none.
#[test]
fn a_misheard_command_is_understood_from_another_reading() {
    let home = tempfile::tempdir().unwrap();
    let mut audio = Vec::new();
    for (i, (text, voice)) in [
        ("Brightness 50 percent.", "flite:awb"),
        ("is today the 12th or the 13th?", "flite:rms"),
        ("Power off the office computer.", "flite:slt"),
        (
            "what's the high tomorrow in phoenix arizona",
            "festival:kal_diphone",
        ),
        // Heard as real words ("plus the music", "Blot the screen."), which no spelling
        // correction reads back ("Brightless 50%" now is, without another reading).
        ("Pause the music.", "flite:rms"),
        ("Lock the screen.", "flite:slt"),
    ]
    .into_iter()
    .enumerate()
    {
        let wav = home.path().join(format!("said{i}.wav"));
        support::speak_other(text, voice, &wav);
        audio.extend(std::iter::repeat_n(0.0, 8_000));
        audio.extend(support::read16(&wav));
        audio.extend(std::iter::repeat_n(0.0, 14_400));
    }
    let wav = home.path().join("session.wav");
    support::write16(&wav, &audio);
    let run = |home: &Path, alternatives: &str| {
        let out = with_model(&mut luna(home))
            .env("LUNA_STT__ALTERNATIVES", alternatives)
            .env("LUNA_EXEC__DRY_RUN", "true")
            .args(["run", "--no-wake", "--input"])
            .arg(&wav)
            .output()
            .unwrap();
        let log = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{log}");
        let understood = log
            .lines()
            .filter(|l| l.contains(" utterance ") && !l.contains("understood=unknown"))
            .count();
        let chosen: Vec<String> = log
            .lines()
            .filter(|l| l.contains("understood one of speech to text's alternatives"))
            .map(|l| {
                l.split("chosen=")
                    .nth(1)
                    .unwrap_or_default()
                    .trim()
                    .to_owned()
            })
            .collect();
        (understood, chosen, log)
    };
    let (understood, chosen, log) = run(home.path(), "3");
    assert!(!chosen.is_empty(), "no other reading was understood: {log}");
    // The history keeps the reading acted on.
    let out = luna(home.path())
        .args(["history", "--json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let recorded: Vec<&str> = v["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["transcript"].as_str().unwrap())
        .collect();
    for reading in &chosen {
        assert!(
            recorded.contains(&reading.as_str()),
            "{reading:?} not in {recorded:?}"
        );
    }
    let other_home = tempfile::tempdir().unwrap();
    let (understood_without, chosen_without, log_without) = run(other_home.path(), "0");
    assert!(chosen_without.is_empty(), "{log_without}");
    assert_eq!(
        understood_without,
        understood - chosen.len(),
        "{log}\n---\n{log_without}"
    );
}

#[test]
fn a_timer_set_while_luna_runs_fires() {
    let home = tempfile::tempdir().unwrap();
    let (child, rx) = start_daemon(home.path());
    wait_for(&rx, "LUNA is running", 30);
    let out = luna(home.path())
        .args(["say", "set a timer for 2 seconds"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let started = Instant::now();
    wait_for(&rx, "Your timer is done.", 10);
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "fired early"
    );
    stop(child);
}

#[test]
fn a_reminder_due_while_luna_was_off_fires_on_start() {
    let home = tempfile::tempdir().unwrap();
    let out = luna(home.path())
        .args(["say", "remind me to stretch in 1 second"])
        .output()
        .unwrap();
    assert!(out.status.success());
    std::thread::sleep(Duration::from_millis(1500));
    let (child, rx) = start_daemon(home.path());
    wait_for(&rx, "Reminder: stretch.", 15);
    stop(child);
    // It fired once: a second start does not repeat it.
    let (child, rx) = start_daemon(home.path());
    let seen = wait_for(&rx, "LUNA is running", 30);
    std::thread::sleep(Duration::from_millis(800));
    let later: Vec<String> = rx.try_iter().collect();
    assert!(
        !seen
            .iter()
            .chain(&later)
            .any(|l| l.contains("Reminder: stretch.")),
        "fired twice"
    );
    stop(child);
}

/// `luna run` is killed with SIGKILL three times while API clients send commands:
/// every command the API answered is in history afterwards, exactly once, the
/// database passes its integrity check, and a timer set before the first kill fires
/// after a restart.
#[test]
fn the_daemon_killed_mid_stream_loses_no_acknowledged_command_nor_its_timer() {
    let home = tempfile::tempdir().unwrap();
    // Real execution (no dry run) for the timer; every command below is harmless.
    let env = [
        ("LUNA_EXEC__DRY_RUN", "false"),
        ("LUNA_AUDIO__INPUT", "none"),
    ];
    let texts = [
        "what time is it",
        "add milk to the shopping list",
        "tell me a joke",
        "note that the plumber comes on monday",
        "calculate 6 times 7",
    ];
    let mut acknowledged = std::collections::BTreeSet::new();
    let mut timer_fired = false;
    for round in 0..3 {
        let (mut child, rx) = support::start_daemon_with(home.path(), &env);
        let seen = wait_for(&rx, "API listening", 60);
        let addr = support::logged_addr(&seen, "API listening");
        let (lines_tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in rx.iter() {
                let _ = lines_tx.send(line);
            }
        });
        let mut api = luna::http_client::Connection::open(addr).unwrap();
        let mut say = |text: &str| -> Option<String> {
            let body = format!(r#"{{"text": "{text}"}}"#);
            let (status, answer) = api
                .post_body("/v1/commands", "application/json", None, body.as_bytes())
                .ok()?;
            assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
            let v: serde_json::Value = serde_json::from_slice(&answer).unwrap();
            Some(v["correlation_id"].as_str().unwrap().to_owned())
        };
        if round == 0 {
            acknowledged.insert(say("set a timer for 6 seconds").unwrap());
        }
        // A second client keeps writing while this one is cut off mid-stream.
        let stop_writing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writer = {
            let stop_writing = std::sync::Arc::clone(&stop_writing);
            std::thread::spawn(move || {
                let mut acked = Vec::new();
                let Ok(mut api) = luna::http_client::Connection::open(addr) else {
                    return acked;
                };
                let mut i = 0;
                while !stop_writing.load(std::sync::atomic::Ordering::Relaxed) {
                    let body = format!(r#"{{"text": "add item {i} to the todo list"}}"#);
                    match api.post_body("/v1/commands", "application/json", None, body.as_bytes()) {
                        Ok((200, answer)) => {
                            let v: serde_json::Value = serde_json::from_slice(&answer).unwrap();
                            acked.push(v["correlation_id"].as_str().unwrap().to_owned());
                        }
                        _ => break,
                    }
                    i += 1;
                }
                acked
            })
        };
        for i in 0..(40 + round * 25) {
            acknowledged.extend(say(texts[i % texts.len()]));
        }
        child.kill().unwrap(); // SIGKILL, mid-stream
        child.wait().unwrap();
        stop_writing.store(true, std::sync::atomic::Ordering::Relaxed);
        let written = writer.join().unwrap();
        assert!(
            !written.is_empty(),
            "round {round}: the second client wrote nothing"
        );
        acknowledged.extend(written);
        let fired_now = lines.try_iter().any(|l| l.contains("Your timer is done."));
        assert!(
            !(fired_now && round == 0),
            "the timer fired before the first kill: the test proves nothing (slow machine?)"
        );
        timer_fired |= fired_now;
    }
    // A last start: what was due while LUNA was down fires now.
    let (child, rx) = support::start_daemon_with(home.path(), &env);
    if !timer_fired {
        let seen = wait_for(&rx, "Your timer is done.", 20);
        eprintln!("after the kills: {}", seen.last().unwrap());
    }
    stop(child);
    let stored = support::stored_ids(&home.path().join("data/luna/luna.db"));
    let unique: std::collections::BTreeSet<String> = stored.iter().cloned().collect();
    assert_eq!(unique.len(), stored.len(), "a command was stored twice");
    let lost: Vec<_> = acknowledged.difference(&unique).collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged commands lost: {lost:?}",
        lost.len(),
        acknowledged.len()
    );
    assert!(acknowledged.len() > 150, "{}", acknowledged.len());
    eprintln!(
        "{} acknowledged commands over 3 kills, all in history once; timer fired {}",
        acknowledged.len(),
        if timer_fired {
            "between kills"
        } else {
            "after the last restart"
        }
    );
}

#[test]
fn a_delayed_step_runs_when_due() {
    let home = tempfile::tempdir().unwrap();
    let (child, rx) = start_daemon(home.path());
    wait_for(&rx, "LUNA is running", 30);
    let out = luna(home.path())
        .args(["say", "--json", "tell me a joke in 2 seconds"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["response"], "OK, in 2 seconds.", "{v}");
    assert_eq!(v["plan"]["groups"][0]["delay_s"], 2);
    let seen = wait_for(&rx, "delayed step ran", 10);
    assert!(seen.last().unwrap().contains("joke.tell"), "{seen:?}");
    stop(child);
}

/// The hearing stages panic while a recording plays: each is rebuilt, the recording
/// goes on from where it was (nothing heard twice), and later commands are done.
#[test]
fn hearing_stages_that_panic_are_rebuilt_and_the_recording_goes_on() {
    let home = tempfile::tempdir().unwrap();
    let lines = [
        ("hey luna set a timer for five minutes", "en-us"),
        ("hey luna what time is it", "en-us"),
        ("hey luna tell me a joke", "en-us"),
        ("hey luna what time is it", "en-us"),
        ("hey luna tell me a joke", "en-us"),
        ("hey luna set a timer for five minutes", "en-us"),
        ("hey luna what time is it", "en-us"),
        ("hey luna tell me a joke", "en-us"),
    ];
    let (audio, truth) = support::session(home.path(), &lines, 0.5, 1.0);
    let wav = home.path().join("session.wav");
    support::write16(&wav, &audio);
    let out = with_model(&mut luna(home.path()))
        .env(
            "LUNA_DEBUG__FAULT_INJECTION",
            // Ticks of 100 ms of audio (--fast): about 250 of them.
            r#"["audio:50", "vad:110", "wake:90", "scheduler:12"]"#,
        )
        .args(["replay", "--json", "--dry-run", "--fast"])
        .arg(&wav)
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    for stage in ["audio", "vad", "wake", "scheduler"] {
        let crashes = log
            .lines()
            .filter(|l| l.contains("stage crashed") && l.contains(&format!("stage=\"{stage}\"")))
            .count();
        assert!(crashes >= 1, "{stage} never crashed:\n{log}");
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let commands = v["commands"].as_array().unwrap();
    // Each command found belongs to a different line of the session: none was heard
    // twice (a restarted source replaying the file would repeat them).
    let mut lines_found: Vec<usize> = commands
        .iter()
        .map(|c| {
            let end = c["end_s"].as_f64().unwrap();
            truth
                .iter()
                .position(|(_, e)| (end - e).abs() < 0.3)
                .unwrap_or_else(|| panic!("a command that was not said: {c}"))
        })
        .collect();
    let found = lines_found.len();
    lines_found.dedup();
    assert_eq!(lines_found.len(), found, "a line was heard twice: {v:#}");
    // A panic in the VAD or the detector can cost the utterance it hits (four, at
    // most), not the ones after it; one in the source costs nothing.
    assert!(
        found >= lines.len() - 4,
        "{found} of {} commands: {v:#}\n{log}",
        lines.len()
    );
    // Commands after the crashes were done: the last crash comes 22 s in.
    assert!(
        lines_found.iter().any(|&i| i >= lines.len() - 3),
        "{lines_found:?}"
    );
}

/// The transcript check with its band stretched to nearly every score (a threshold of
/// 0.97, candidates from 0.001): what is acted on is still only what was addressed to
/// LUNA, however the head scores these voices. Addressed commands come through either
/// way (over the threshold, or confirmed by their transcript); the rest stays ignored.
#[test]
fn near_wake_phrases_are_acted_on_only_when_the_transcript_begins_with_the_phrase() {
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("band.toml");
    std::fs::write(
        &config,
        "[wake]\nsensitivity = 0.0\ntranscript_check_from = 0.001\n",
    )
    .unwrap();
    let phrases = [
        ("hey luna set a timer for five minutes", "en-us"),
        ("open firefox", "en-us"),
        ("hey luna", "en-us+f3"),
        ("what time is it", "en-us+f3"),
    ];
    let (v, log, _) = replay_recording(home.path(), &phrases, Some(&config));
    let intents: Vec<&str> = v["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["intents"][0]["intent"].as_str().unwrap())
        .collect();
    assert_eq!(intents, ["timer.start", "time.now"], "{v:#}\n{log}");
    for c in v["commands"].as_array().unwrap() {
        let check = c["wake"]["check"].as_str().unwrap();
        assert!(check == "acoustic" || check == "transcript", "{c}");
    }
    // Whatever scored in the band and was not addressed was turned away by its transcript.
    let turned_away = log
        .matches("a near wake phrase the transcript does not begin with")
        .count();
    let ignored = log.matches("speech not addressed to LUNA").count();
    assert_eq!(turned_away + ignored, 1, "{log}");
}

#[test]
fn replay_reports_every_command_with_its_wake_phrase_and_latencies() {
    let home = tempfile::tempdir().unwrap();
    let phrases = [
        ("hey luna set a timer for five minutes", "en-us"),
        ("open firefox", "en-us"),
        ("hey luna what time is it", "en-us"),
    ];
    let (v, _, truth) = replay_recording(home.path(), &phrases, None);
    let commands = v["commands"].as_array().unwrap();
    // "open firefox" had no wake phrase: heard, not a command.
    assert_eq!(commands.len(), 2, "{v:#}");
    let intents: Vec<&str> = commands
        .iter()
        .map(|c| c["intents"][0]["intent"].as_str().unwrap())
        .collect();
    assert_eq!(intents, ["timer.start", "time.now"], "{v:#}");
    // Both were transcribed in the pause before the end of speech was confirmed, on the
    // very audio then cut ([vad] speculate_ms): heard outright, or a near phrase inside
    // the utterance with its transcript check's prompt.
    assert!(commands.iter().all(|c| c["speculative"] == true), "{v:#}");
    for (c, (start, end)) in commands.iter().zip([truth[0], truth[2]]) {
        assert_eq!(c["wake"]["phrase"], "hey luna", "{c}");
        let wake_end = c["wake"]["end_s"].as_f64().unwrap();
        // The phrase ends within the command, before its last word.
        assert!(
            wake_end > start && wake_end < end,
            "{wake_end} vs {start}..{end}"
        );
        assert!((c["end_s"].as_f64().unwrap() - end).abs() < 0.3, "{c}");
        let latency = &c["latency_ms"];
        for key in ["wake", "endpoint", "stt", "brain", "dispatch"] {
            assert!(
                latency[key].as_f64().is_some_and(|ms| ms >= 0.0),
                "{key}: {c}"
            );
        }
        let to_action = latency["speech_end_to_action"].as_f64().unwrap();
        assert!(to_action >= latency["stt"].as_f64().unwrap(), "{latency}");
        assert_eq!(c["results"][0]["ok"], true, "{c}");
    }
    // Dry run: the timer's SQL is reported, not run.
    assert!(commands[0]["results"][0]["dry_run"].is_array(), "{v:#}");
    // Replayed commands are recorded as such.
    let out = luna(home.path())
        .args(["history", "--json"])
        .output()
        .unwrap();
    let history: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let sources: Vec<&str> = history["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["source"].as_str().unwrap())
        .collect();
    assert_eq!(sources, ["replay", "replay"]);
}

#[test]
fn bench_replays_spoken_commands_and_loads_the_api() {
    let home = tempfile::tempdir().unwrap();
    let out = with_model(&mut luna(home.path()))
        .args(["bench", "--json", "--requests", "200", "--clients", "2"])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let spoken = &v["spoken"];
    assert_eq!(spoken["commands_said"], 8, "{v:#}");
    // The wake word misses some espeak renderings (models/wake/README.md); most are found.
    assert!(spoken["commands_found"].as_u64().unwrap() >= 5, "{v:#}");
    assert!(spoken["understood"].as_u64().unwrap() >= 3, "{v:#}");
    for stage in ["wake", "endpoint", "stt", "speech_end_to_action"] {
        let p = &spoken["latency_ms"][stage];
        let (p50, p95) = (p["p50"].as_f64().unwrap(), p["p95"].as_f64().unwrap());
        assert!(p50 > 0.0 && p95 >= p50, "{stage}: {p}");
    }
    let text = &v["text"];
    assert_eq!(
        (text["requests"].as_u64(), text["errors"].as_u64()),
        (Some(200), Some(0)),
        "{v:#}"
    );
    assert!(text["per_second"].as_f64().unwrap() > 0.0);
    assert!(v["peak_rss_mb"].as_f64().unwrap() > 10.0, "{v:#}");
    // The bench keeps its commands out of the user's history.
    let out = luna(home.path())
        .args(["history", "--json"])
        .output()
        .unwrap();
    let history: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        history["commands"].as_array().unwrap().len(),
        0,
        "{history}"
    );
}

#[test]
fn replay_in_noise_follows_context_and_runs_multi_intent_commands() {
    let home = tempfile::tempdir().unwrap();
    let (audio, _) = support::session(
        home.path(),
        &[
            ("hey luna open firefox", "en-us"),
            ("turn off the lights in the kitchen", "en-us+m3"),
            ("hey luna close it", "en-us"),
            (
                "hey luna set a timer for ten minutes and play some music",
                "en-us+m3",
            ),
        ],
        0.4,
        1.0,
    );
    let clean = home.path().join("clean.wav");
    support::write16(&clean, &audio);
    let noisy = home.path().join("noisy.wav");
    support::add_noise(&clean, 20.0, &noisy);
    let (v, _) = support::replay_json(with_model(&mut luna(home.path())), &noisy);
    let commands = v["commands"].as_array().unwrap();
    let intents: Vec<Vec<&str>> = commands
        .iter()
        .map(|c| {
            c["intents"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["intent"].as_str().unwrap())
                .collect()
        })
        .collect();
    // The line about the lights was not addressed to LUNA.
    assert_eq!(
        intents,
        [
            vec!["app.open"],
            vec!["app.close"],
            vec!["timer.start", "media.play"]
        ],
        "{v:#}"
    );
    // "close it" is resolved from the command before.
    assert_eq!(
        commands[1]["intents"][0]["slots"]["app"], "firefox",
        "{v:#}"
    );
    assert_eq!(commands[2]["intents"][0]["slots"]["duration_s"], 600);
    // Both steps of the last command ran, as one parallel group.
    assert_eq!(commands[2]["results"].as_array().unwrap().len(), 2);
    assert_eq!(commands[2]["plan"]["groups"].as_array().unwrap().len(), 1);
}
