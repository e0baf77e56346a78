//! The real capture and playback paths: a PulseAudio null sink whose monitor is the
//! default source, cpal capturing from ALSA's `default` while `paplay` (a user) or
//! LUNA's own speaker (cpal output to ALSA's `default`) plays into the sink.
//! (This machine has no sound card; this is how audio reaches a microphone here.)

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::{Duration, Instant};

use luna::audio::capture::Capture;
use luna::tts::{Speaker, SpeechControl, Spoken, Voice};
use support::{read16, speak};

/// One PulseAudio at a time: the tests here share the process environment.
static PULSE: std::sync::Mutex<()> = std::sync::Mutex::new(());

struct PulseAudio {
    runtime: PathBuf,
}

impl PulseAudio {
    fn start(runtime: &Path) -> Self {
        Self::start_with(runtime, false)
    }

    /// With `echo_cancel`, a speaker and a microphone in one room, with echo
    /// cancellation: what is played on the default sink (LUNA's replies) goes through
    /// PulseAudio's WebRTC echo canceller to a `speaker` sink whose sound reaches the
    /// room (`luna`, where the user plays) a little later; the default source is the
    /// room's monitor with that echo removed.
    fn start_with(runtime: &Path, echo_cancel: bool) -> Self {
        std::fs::create_dir_all(runtime).unwrap();
        // SAFETY: callers hold PULSE, so no other test thread reads the env meanwhile.
        unsafe { std::env::set_var("XDG_RUNTIME_DIR", runtime) };
        let status = Command::new("pulseaudio")
            .args([
                "-D",
                "-n",
                "--exit-idle-time=-1",
                "--system=false",
                "--disallow-exit",
                "--load=module-native-protocol-unix auth-anonymous=1",
                "--load=module-null-sink sink_name=luna rate=16000 channels=1",
            ])
            .status()
            .expect("pulseaudio (apt-get install pulseaudio; `make test` installs it)");
        assert!(status.success(), "pulseaudio did not start");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !pactl(&["info"]) {
            assert!(Instant::now() < deadline, "pulseaudio never answered");
            std::thread::sleep(Duration::from_millis(100));
        }
        if echo_cancel {
            // The speaker is a sink of its own, heard in the room (`luna`) 30 ms later.
            for module in [
                &[
                    "module-null-sink",
                    "sink_name=speaker",
                    "rate=16000",
                    "channels=1",
                ][..],
                &[
                    "module-loopback",
                    "source=speaker.monitor",
                    "sink=luna",
                    "latency_msec=30",
                ],
                // Gain control off: it would turn the room's level down.
                &[
                    "module-echo-cancel",
                    "aec_method=webrtc",
                    "aec_args=\"analog_gain_control=0 digital_gain_control=0\"",
                    "source_master=luna.monitor",
                    "sink_master=speaker",
                    "source_name=luna_ec",
                    "sink_name=luna_ec_sink",
                ],
            ] {
                let mut args = vec!["load-module"];
                args.extend_from_slice(module);
                assert!(pactl(&args), "could not load {module:?}");
            }
            // The speaker is farther from the microphone than the user (about -31 dB):
            // PulseAudio's canceller suppresses the user too while LUNA's echo is as
            // loud as they are, and then the wake phrase is missed (docs/hearing.md).
            assert!(pactl(&["set-sink-volume", "speaker", "30%"]));
            assert!(pactl(&["set-default-sink", "luna_ec_sink"]));
            assert!(pactl(&["set-default-source", "luna_ec"]));
        } else {
            assert!(pactl(&["set-default-sink", "luna"]));
            assert!(pactl(&["set-default-source", "luna.monitor"]));
        }
        Self {
            runtime: runtime.to_owned(),
        }
    }
}

impl Drop for PulseAudio {
    fn drop(&mut self) {
        let _ = Command::new("pulseaudio").arg("--kill").status();
        let pid = std::fs::read_to_string(self.runtime.join("pulse/pid")).unwrap_or_default();
        if let Ok(pid) = pid.trim().parse::<i32>() {
            let _ = Command::new("kill").arg(pid.to_string()).status();
        }
    }
}

fn pactl(args: &[&str]) -> bool {
    Command::new("pactl")
        .args(args)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn rms(x: &[f32]) -> f32 {
    (x.iter().map(|s| s * s).sum::<f32>() / x.len().max(1) as f32).sqrt()
}

#[test]
fn captures_speech_played_into_a_pulseaudio_null_sink() {
    let _one = PULSE.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let _pulse = PulseAudio::start(&dir.path().join("xdg"));
    let speech = dir.path().join("speech.wav");
    speak(
        "hey luna set a timer for five minutes",
        "en-us",
        160,
        &speech,
    );
    let played = read16(&speech);

    let mut capture =
        Capture::open("default", 4.0).expect("capture from ALSA default (PulseAudio)");
    // cpal's first callback comes 0.8-2 s after play(): wait for it before playing.
    assert!(
        capture.wait_started(Duration::from_secs(10)),
        "the device never delivered audio"
    );
    let mut captured = Vec::new();
    let drain = |capture: &mut Capture, seconds: f64, out: &mut Vec<f32>| {
        let until = Instant::now() + Duration::from_secs_f64(seconds);
        while Instant::now() < until {
            capture.read(out);
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    drain(&mut capture, 0.3, &mut captured);
    let mut player: Child = Command::new("paplay")
        .args(["-d", "luna"])
        .arg(&speech)
        .spawn()
        .expect("paplay");
    drain(
        &mut capture,
        played.len() as f64 / 16_000.0 + 1.2,
        &mut captured,
    );
    assert!(player.wait().unwrap().success());
    drain(&mut capture, 0.3, &mut captured);

    // The speech arrived: one utterance as long as what was played, at a similar level.
    let found = luna::vad::segments(&captured, &luna::vad::VadSettings::default());
    assert_eq!(
        found.len(),
        1,
        "utterances: {:?}",
        found
            .iter()
            .map(|u| (u.start_s(), u.end_s()))
            .collect::<Vec<_>>()
    );
    let (a, b) = support::active_span(&played, 0.02);
    let played_s = (b - a) as f64 / 16_000.0;
    let heard_s = found[0].end_s() - found[0].start_s();
    assert!(
        (heard_s - played_s).abs() < 0.25,
        "played {played_s:.2} s of speech, captured {heard_s:.2} s"
    );
    let level = rms(&found[0].samples) / rms(&played[a..b]);
    assert!(
        (0.4..=1.6).contains(&level),
        "captured level is {level:.2} of the played one"
    );
    let dropped = capture
        .stats
        .dropped_in_callback
        .load(std::sync::atomic::Ordering::Relaxed)
        + capture
            .stats
            .dropped_oldest
            .load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(dropped, 0, "audio was dropped");

    // And Whisper understands it.
    let settings = luna::stt::SttSettings {
        model_path: support::model_path(),
        ..luna::stt::SttSettings::from_config(&luna::config::Config::defaults().stt)
    };
    let text = luna::stt::SpeechToText::new(settings)
        .transcribe(&found[0].samples)
        .unwrap()
        .text;
    // (A word may slip on this voice, e.g. "timer" → "Tiber"; the STT tests measure
    // accuracy. Here: the words made it through the capture path.)
    assert!(
        luna::brain::normalize(&text).contains("5 minutes"),
        "heard {text:?}"
    );
}

/// `luna run` hearing the PulseAudio at `runtime` through ALSA's default (dry run, plus
/// `extra` settings), and a spoken command to play to it ("hey luna set a timer for
/// five minutes", written under `dir`). Returns when LUNA is running, with its log so far.
fn luna_on_pulse(
    dir: &Path,
    runtime: &Path,
    extra: &[(&str, &str)],
) -> (
    support::RunningDaemon,
    Receiver<String>,
    Vec<String>,
    PathBuf,
) {
    let speech = dir.join("speech.wav");
    speak(
        "hey luna set a timer for five minutes",
        "en-us",
        160,
        &speech,
    );
    let model = support::model_path();
    let wake = support::wake_models_dir();
    let mut env = vec![
        ("XDG_RUNTIME_DIR", runtime.to_str().unwrap()),
        ("LUNA_STT__MODEL_PATH", model.to_str().unwrap()),
        ("LUNA_WAKE__MODELS_DIR", wake.to_str().unwrap()),
        ("LUNA_EXEC__DRY_RUN", "true"),
    ];
    env.extend_from_slice(extra);
    let (child, rx) = support::start_daemon_with(&dir.join("home"), &env);
    let seen = support::wait_for(&rx, "LUNA is running", 60);
    (child, rx, seen, speech)
}

#[test]
fn luna_run_hears_a_command_through_the_microphone_and_does_it() {
    let _one = PULSE.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let runtime = dir.path().join("xdg");
    let _pulse = PulseAudio::start(&runtime);
    let (child, rx, _, speech) = luna_on_pulse(dir.path(), &runtime, &[]);
    // cpal's first callback comes 0.8-2 s after the stream starts.
    std::thread::sleep(Duration::from_secs(3));
    // Whisper sometimes hears this voice's "timer" as "Tiber" (the STT tests measure
    // accuracy), and the wake word misses some takes (speech "not addressed to LUNA");
    // like a user, say it again then. Four tries at most.
    let mut heard = Vec::new();
    for _ in 0..4 {
        let played = Command::new("paplay")
            .args(["-d", "luna"])
            .arg(&speech)
            .status()
            .expect("paplay");
        assert!(played.success());
        let seen = support::wait_for(&rx, "start_s=", 60);
        let line = seen.last().unwrap().clone();
        assert!(
            line.contains("wake=\"hey luna\"") || line.contains("not addressed"),
            "{seen:#?}"
        );
        let done = line.contains("timer.start duration_s=300");
        heard.push(line);
        if done {
            break;
        }
    }
    assert!(
        heard.last().unwrap().contains("timer.start duration_s=300"),
        "{heard:#?}"
    );
    support::stop(child);
}

/// CPU time (user + system) a process has used so far.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which may hold spaces): utime is the 12th, stime 13th.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // SAFETY: sysconf has no preconditions.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
    Duration::from_millis(ticks * 1000 / per_second)
}

/// The sound server goes away under a running LUNA and comes back: LUNA lets go of the
/// dead devices at once (cpal's ALSA worker would otherwise spin on their errors: both
/// cores, measured), then reopens the microphone, hears a command and speaks its reply.
#[test]
fn when_the_sound_server_restarts_luna_idles_then_hears_and_speaks_again() {
    let _one = PULSE.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let runtime = dir.path().join("xdg");
    let pulse = PulseAudio::start(&runtime);
    let (child, rx, seen, speech) =
        luna_on_pulse(dir.path(), &runtime, &[("LUNA_TTS__ENABLED", "true")]);
    let api = support::logged_addr(&seen, "API listening");
    // Speech through the microphone reaches the VAD: an utterance, or speech "not
    // addressed to LUNA" when the wake word misses the take (models/wake/README.md).
    let hears_speech = |rx: &Receiver<String>| {
        let played = Command::new("paplay")
            .args(["-d", "luna"])
            .arg(&speech)
            .status()
            .expect("paplay");
        assert!(played.success());
        support::wait_for(rx, "start_s=", 60);
    };
    // A text command's reply sounds: its history row says when.
    let reply_sounds = |text: &str| {
        // A connection per request: the API closes idle keep-alive connections.
        let mut client = luna::http_client::Connection::open(api).unwrap();
        let body = format!(r#"{{"text": "{text}"}}"#);
        let (status, answer) = client
            .post_body("/v1/commands", "application/json", None, body.as_bytes())
            .unwrap();
        assert_eq!(status, 200);
        let id = serde_json::from_slice::<serde_json::Value>(&answer).unwrap()["correlation_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let (_, body) = client.get("/v1/history?limit=5").unwrap();
            let history: serde_json::Value = serde_json::from_str(&body).unwrap();
            let row = history["commands"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["correlation_id"] == id.as_str())
                .cloned()
                .unwrap_or_default();
            if row["latency_ms"]["reply_first_audio"].is_number() {
                return;
            }
            assert!(Instant::now() < deadline, "the reply never sounded: {row}");
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    std::thread::sleep(Duration::from_secs(2));
    hears_speech(&rx);
    reply_sounds("what time is it");
    drop(pulse);
    support::wait_for(&rx, "microphone lost", 15);
    std::thread::sleep(Duration::from_millis(500));
    let before = cpu_time(child.id());
    std::thread::sleep(Duration::from_secs(2));
    let used = cpu_time(child.id()) - before;
    assert!(
        used < Duration::from_millis(400),
        "LUNA used {used:?} of CPU in 2 s with its sound server gone"
    );
    let _pulse = PulseAudio::start(&runtime);
    support::wait_for(&rx, "microphone back", 20);
    std::thread::sleep(Duration::from_secs(2));
    hears_speech(&rx);
    // The dead output is replaced for the next reply.
    reply_sounds("tell me a joke");
    support::stop(child);
}

/// Speaks `text` with LUNA's speaker (on its own thread, as in the TtsActor) while
/// capturing what the sink's monitor hears; interrupts it `interrupt_after` the start.
/// Returns how the reply went, how long `say` took, and the audio heard.
fn say_while_capturing(
    capture: &mut Capture,
    text: &str,
    interrupt_after: Option<Duration>,
) -> (Spoken, Duration, Vec<f32>) {
    let control = Arc::new(SpeechControl::default());
    let mut heard = Vec::new();
    let (spoken, took) = std::thread::scope(|scope| {
        let speaking = scope.spawn(|| {
            let mut speaker =
                Speaker::new(Voice::default(), "default".into(), Arc::clone(&control));
            let output = speaker
                .open()
                .expect("open ALSA default for output (PulseAudio)");
            assert!(
                output.wait_started(Duration::from_secs(10)),
                "the output device never asked for audio"
            );
            let epoch = control.epoch();
            if let Some(after) = interrupt_after {
                let control = Arc::clone(&control);
                std::thread::spawn(move || {
                    std::thread::sleep(after);
                    control.interrupt();
                });
            }
            let t = Instant::now();
            let spoken = speaker.say(text, epoch).expect("reply spoken");
            (spoken, t.elapsed())
        });
        while !speaking.is_finished() {
            capture.read(&mut heard);
            std::thread::sleep(Duration::from_millis(20));
        }
        speaking.join().unwrap()
    });
    let until = Instant::now() + Duration::from_millis(500);
    while Instant::now() < until {
        capture.read(&mut heard);
        std::thread::sleep(Duration::from_millis(20));
    }
    (spoken, took, heard)
}

/// First to last speech in `audio`, in seconds, by the VAD.
fn speech_span(audio: &[f32]) -> f64 {
    let found = luna::vad::segments(audio, &luna::vad::VadSettings::default());
    match (found.first(), found.last()) {
        (Some(a), Some(b)) => b.end_s() - a.start_s(),
        _ => 0.0,
    }
}

#[test]
fn replies_sound_through_cpal_and_an_interruption_cuts_them_off() {
    let _one = PULSE.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let _pulse = PulseAudio::start(&dir.path().join("xdg"));
    let mut capture = Capture::open("default", 20.0).expect("capture from ALSA default");
    assert!(capture.wait_started(Duration::from_secs(10)));

    // A whole reply is heard, as long as what was synthesized.
    let reply = "Why do programmers prefer dark mode? Because light attracts bugs.";
    let wav = dir.path().join("reply.wav");
    luna::tts::write_wav(reply, &Voice::default(), &wav).unwrap();
    let synthesized = speech_span(&read16(&wav));
    let (spoken, _, heard) = say_while_capturing(&mut capture, reply, None);
    assert!(!spoken.interrupted && !spoken.skipped, "{spoken:?}");
    assert!(spoken.first_audio.is_some(), "no first audio noted");
    let span = speech_span(&heard);
    assert!(
        synthesized > 2.0 && (span - synthesized).abs() < 0.4,
        "synthesized {synthesized:.2} s of speech, heard {span:.2} s"
    );
    assert!(
        luna::brain::normalize(
            &luna::stt::SpeechToText::new(luna::stt::SttSettings {
                model_path: support::model_path(),
                ..luna::stt::SttSettings::from_config(&luna::config::Config::defaults().stt)
            })
            .transcribe(&heard)
            .unwrap()
            .text
        )
        .contains("dark mode"),
        "the reply was not what was said"
    );

    // A long reply interrupted after a second stops at once.
    let long = "There are 10 kinds of people: those who understand binary and those who \
                don't. I'm reading a book about anti-gravity. It's impossible to put down.";
    let (spoken, took, heard) =
        say_while_capturing(&mut capture, long, Some(Duration::from_secs(1)));
    assert!(
        spoken.interrupted && spoken.first_audio.is_some(),
        "{spoken:?}"
    );
    let span = speech_span(&heard);
    assert!(
        took < Duration::from_secs(3) && (0.3..1.8).contains(&span),
        "interrupted after 1 s: say took {took:?}, {span:.2} s of it was heard"
    );
}

/// Barge-in on an input that never hears LUNA (raw audio on stdin, as from a
/// satellite): LUNA speaks a long reply on the sound server while the next "hey luna"
/// arrives; the reply is cut off and the new command done.
#[test]
fn a_wake_phrase_while_luna_speaks_interrupts_the_reply() {
    let _one = PULSE.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let runtime = dir.path().join("xdg");
    let _pulse = PulseAudio::start(&runtime);
    let (help, time) = (dir.path().join("help.wav"), dir.path().join("time.wav"));
    speak("hey luna what are you able to do", "en-us", 160, &help);
    speak("hey luna what time is it", "en-us", 160, &time);
    // The help reply lasts about 8 s; 2.5 s after the question the user speaks over
    // it, up to three times: the detector hears a phrase or not depending on where it
    // falls against its 80 ms hops (the wake word issue), so each try falls
    // differently.
    let mut audio = vec![0.0; 8_000];
    audio.extend(read16(&help));
    for gap in [40_000, 13_280, 14_560] {
        audio.extend(vec![0.0; gap]);
        audio.extend(read16(&time));
    }
    audio.extend(vec![0.0; 64_000]);
    let model = support::model_path();
    let wake = support::wake_models_dir();
    let home = dir.path().join("home");
    let mut child = support::luna(&home)
        .envs([
            ("XDG_RUNTIME_DIR", runtime.to_str().unwrap()),
            ("LUNA_STT__MODEL_PATH", model.to_str().unwrap()),
            ("LUNA_WAKE__MODELS_DIR", wake.to_str().unwrap()),
            ("LUNA_EXEC__DRY_RUN", "true"),
            ("LUNA_TTS__ENABLED", "true"),
        ])
        .args(["run", "--input", "-"])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Raw audio at real-time pace, as a satellite streams it; then the end of input.
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        use std::io::Write;
        std::thread::sleep(Duration::from_secs(3));
        let start = Instant::now();
        for (i, chunk) in audio.chunks(320).enumerate() {
            let bytes: Vec<u8> = chunk
                .iter()
                .flat_map(|s| ((s * 32767.0) as i16).to_le_bytes())
                .collect();
            if stdin.write_all(&bytes).is_err() {
                return;
            }
            let due = start + Duration::from_millis(20 * (i as u64 + 1));
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
        }
    });
    feeder.join().unwrap();
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    let lines: Vec<&str> = log.lines().collect();
    let at = |needle: &str| {
        lines
            .iter()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no {needle:?} in:\n{log}"))
    };
    let (asked, interrupted, answered) = (
        at("assistant.help"),
        at("wake phrase while speaking: reply interrupted"),
        at("time.now"),
    );
    assert!(asked < interrupted && interrupted < answered, "{log}");
}

#[test]
#[ignore = "PulseAudio's echo canceller makes a wake phrase over a reply hit or miss \
            (about half are heard; some runs hear none): run with --ignored to measure"]
fn on_an_echo_cancelled_input_luna_listens_while_it_speaks_and_a_wake_phrase_interrupts_it() {
    let _one = PULSE.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let runtime = dir.path().join("xdg");
    let _pulse = PulseAudio::start_with(&runtime, true);
    let (help, time) = (dir.path().join("help.wav"), dir.path().join("time.wav"));
    // ("what can you do" is often heard as "hey, look at what can you do"; with a
    // comma the VAD cuts the wake phrase off as an utterance of its own.)
    speak("hey luna what are you able to do", "en-us", 160, &help);
    speak("hey luna what time is it", "en-us", 160, &time);
    let home = dir.path().join("home");
    let model = support::model_path();
    let wake = support::wake_models_dir();
    let (child, rx) = support::start_daemon_with(
        &home,
        &[
            // LUNA hears and speaks through the PulseAudio started here: its replies
            // play into the sink its microphone (the sink's monitor) listens to.
            ("XDG_RUNTIME_DIR", runtime.to_str().unwrap()),
            ("LUNA_STT__MODEL_PATH", model.to_str().unwrap()),
            ("LUNA_WAKE__MODELS_DIR", wake.to_str().unwrap()),
            ("LUNA_EXEC__DRY_RUN", "true"),
            ("LUNA_TTS__ENABLED", "true"),
            ("LUNA_AUDIO__ECHO_CANCELLED", "true"),
        ],
    );
    support::wait_for(&rx, "LUNA is running", 60);
    std::thread::sleep(Duration::from_secs(3));
    let play = |wav: &Path| {
        let played = Command::new("paplay")
            .args(["-d", "luna"])
            .arg(wav)
            .status()
            .expect("paplay");
        assert!(played.success());
    };
    // The wake phrase may be missed or a word misheard (the wake and STT tests measure
    // how often); like a user, ask again (four tries). Each utterance ends in a line
    // with its start: a command, or speech not addressed to LUNA.
    let mut seen = Vec::new();
    let mut interrupted = false;
    for _ in 0..4 {
        // What the last try left behind is done with before the next one.
        std::thread::sleep(Duration::from_millis(1500));
        seen.extend(rx.try_iter());
        play(&help);
        let lines = support::wait_for(&rx, "start_s=", 60);
        let asked = lines.last().unwrap().contains("assistant.help");
        seen.extend(lines);
        if !asked {
            continue;
        }
        // LUNA lists what it can do (8 s); two seconds into it, the user speaks over
        // it. (PulseAudio's canceller suppresses everything for the first second or so
        // of a reply, the user too.) Until then, LUNA's own voice must not wake it.
        std::thread::sleep(Duration::from_millis(2000));
        let meanwhile: Vec<String> = rx.try_iter().collect();
        assert!(
            !meanwhile.iter().any(|l| l.contains("wake phrase")),
            "LUNA's own voice woke it: {meanwhile:#?}"
        );
        seen.extend(meanwhile);
        // Over the reply a wake phrase is heard about half the time (docs/hearing.md): say it
        // up to three times while the reply lasts.
        let mut understood = false;
        for _ in 0..3 {
            play(&time);
            let lines = support::wait_for(&rx, "start_s=", 60);
            interrupted = lines.iter().any(|l| l.contains("reply interrupted"));
            understood = lines.last().unwrap().contains("time.now");
            seen.extend(lines);
            if interrupted {
                break;
            }
        }
        if interrupted && understood {
            break;
        }
    }
    assert!(
        interrupted,
        "the wake phrase did not interrupt the reply: {seen:#?}"
    );
    // LUNA's own voice was never taken for a command: every command had a wake phrase
    // from the user, and only the user's commands were done.
    let commands: Vec<&String> = seen.iter().filter(|l| l.contains(" utterance ")).collect();
    assert!(
        commands.iter().all(|l| l.contains("wake=\"hey luna\"")
            && (l.contains("assistant.help") || l.contains("time.now") || l.contains("heard="))),
        "{commands:#?}"
    );
    std::thread::sleep(Duration::from_secs(2));
    support::stop(child);

    // The history notes when each reply began to sound.
    let out = support::luna(&home)
        .args(["history", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let history: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let first_audio: Vec<f64> = history["commands"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["latency_ms"]["reply_first_audio"].as_f64())
        .collect();
    assert!(
        !first_audio.is_empty() && first_audio.iter().all(|ms| *ms > 0.0 && *ms < 5000.0),
        "{history:#}"
    );
}

/// The speech stage panics on every second reply: it is rebuilt (its output stream
/// reopened) and the next reply sounds; every command is recorded once, and the
/// replies that sounded have their first-sound time in history.
#[test]
fn a_speech_stage_that_panics_is_rebuilt_and_the_next_reply_sounds() {
    let _one = PULSE.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let runtime = dir.path().join("xdg");
    let _pulse = PulseAudio::start(&runtime);
    let home = dir.path().join("home");
    let (child, rx) = support::start_daemon_with(
        &home,
        &[
            ("XDG_RUNTIME_DIR", runtime.to_str().unwrap()),
            ("LUNA_AUDIO__INPUT", "no-such-device"),
            ("LUNA_EXEC__DRY_RUN", "true"),
            ("LUNA_TTS__ENABLED", "true"),
            ("LUNA_DEBUG__FAULT_INJECTION", r#"["tts:2"]"#),
        ],
    );
    let seen = support::wait_for(&rx, "API listening", 60);
    let addr = support::logged_addr(&seen, "API listening");
    let mut api = luna::http_client::Connection::open(addr).unwrap();
    for text in [
        "what time is it",
        "tell me a joke",
        "what's the date today",
        "what time is it",
    ] {
        let status = api
            .post("/v1/commands", &format!(r#"{{"text": "{text}"}}"#))
            .unwrap();
        assert_eq!(status, 200, "{text}");
        // One reply at a time, each spoken before the next command.
        std::thread::sleep(Duration::from_secs(4));
    }
    let (_, history) = api.get("/v1/history?limit=10").unwrap();
    let history: serde_json::Value = serde_json::from_str(&history).unwrap();
    let commands = history["commands"].as_array().unwrap();
    assert_eq!(commands.len(), 4, "{history:#}");
    let sounded = commands
        .iter()
        .filter(|c| c["latency_ms"]["reply_first_audio"].as_f64().is_some())
        .count();
    // Replies 2 and 4 hit the fault; 1 and 3 sound, 3 on a rebuilt stage.
    assert_eq!(sounded, 2, "{history:#}");
    let log: Vec<String> = rx.try_iter().collect();
    assert!(
        log.iter()
            .any(|l| l.contains("stage crashed") && l.contains("stage=\"tts\"")),
        "{log:#?}"
    );
    support::stop(child);
}
