//! The HTTP and WebSocket API of a running `luna run`, as a script or a remote
//! microphone uses it: text, WAV uploads, streamed audio, history, health, the token,
//! and requests it must refuse without falling over.

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use serde_json::{json, Value};
use support::{model_path, session, start_daemon_with, stop, wait_for, wake_models_dir, write16};

/// A running daemon with its API address.
struct Running {
    child: support::RunningDaemon,
    addr: SocketAddr,
    metrics: SocketAddr,
    _home: tempfile::TempDir,
}

fn start(extra_env: &[(&str, &str)]) -> Running {
    let home = tempfile::tempdir().unwrap();
    let model = model_path();
    let wake = wake_models_dir();
    let mut env = vec![
        // No microphone in tests: the daemon runs without audio input, API only.
        ("LUNA_AUDIO__INPUT", "no-such-device"),
        ("LUNA_STT__MODEL_PATH", model.to_str().unwrap()),
        ("LUNA_WAKE__MODELS_DIR", wake.to_str().unwrap()),
        ("LUNA_EXEC__DRY_RUN", "true"),
    ];
    env.extend_from_slice(extra_env);
    let (child, rx) = start_daemon_with(home.path(), &env);
    let seen = wait_for(&rx, "API listening", 60);
    let addr = support::logged_addr(&seen, "API listening");
    let metrics = support::logged_addr(&seen, "metrics listening");
    // Keep draining the log so the daemon never blocks on a full pipe.
    std::thread::spawn(move || while rx.recv().is_ok() {});
    Running {
        child,
        addr,
        metrics,
        _home: home,
    }
}

/// One HTTP/1.1 request on its own connection; returns the status and the JSON body.
fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, Value) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    // A server may answer (413) and close before taking the whole body.
    let _ = stream.write_all(body);
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP response: {text:?}"));
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = serde_json::from_str(body).unwrap_or_else(|_| json!({ "raw": body }));
    (status, body)
}

fn post_json(addr: SocketAddr, path: &str, body: &Value) -> (u16, Value) {
    http(
        addr,
        "POST",
        path,
        &[("Content-Type", "application/json")],
        body.to_string().as_bytes(),
    )
}

/// The error code of an error answer.
fn code(body: &Value) -> &str {
    body["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("not an error answer: {body}"))
}

#[test]
fn text_commands_run_like_luna_say_and_land_in_history() {
    let luna = start(&[]);
    let (status, body) = http(luna.addr, "GET", "/healthz", &[], b"");
    assert_eq!((status, &body["status"]), (200, &json!("ok")));
    let (status, body) = http(luna.addr, "GET", "/readyz", &[], b"");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["checks"]["speech_model"], true);

    let (status, body) = post_json(
        luna.addr,
        "/v1/commands",
        &json!({"text": "set a timer for five minutes and play some music"}),
    );
    assert_eq!(status, 200, "{body}");
    let intents: Vec<&str> = body["intents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["intent"].as_str().unwrap())
        .collect();
    assert_eq!(intents, ["timer.start", "media.play"], "{body}");
    assert_eq!(body["intents"][0]["slots"]["duration_s"], 300);
    // Independent steps run as one parallel group.
    assert_eq!(
        body["plan"]["groups"].as_array().unwrap().len(),
        1,
        "{body}"
    );
    assert_eq!(body["results"].as_array().unwrap().len(), 2);
    // Dry run: what would have run is reported, nothing ran.
    assert!(body["results"][0]["dry_run"].is_array(), "{body}");
    assert!(body["response"].as_str().unwrap().contains("5 minutes"));
    let id = body["correlation_id"].as_str().unwrap().to_owned();

    let (status, history) = http(luna.addr, "GET", "/v1/history?limit=5", &[], b"");
    assert_eq!(status, 200, "{history}");
    let first = &history["commands"][0];
    assert_eq!(first["correlation_id"], id.as_str());
    assert_eq!(first["source"], "api");
    assert_eq!(
        first["transcript"],
        "set a timer for five minutes and play some music"
    );
    // The timer is set; music needs a media player this machine may not have.
    assert_eq!(body["results"][0]["ok"], true, "{body}");
    assert!(
        ["ok", "partial"].contains(&first["outcome"].as_str().unwrap()),
        "{first}"
    );
    stop(luna.child);
}

#[test]
fn a_recording_posted_is_transcribed_and_done() {
    let luna = start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let (audio, _) = session(dir.path(), &[("open firefox", "en-us")], 0.4, 0.6);
    let wav = dir.path().join("command.wav");
    write16(&wav, &audio);
    let bytes = std::fs::read(&wav).unwrap();
    let (status, body) = http(
        luna.addr,
        "POST",
        "/v1/audio?dry_run=true",
        &[("Content-Type", "audio/wav")],
        &bytes,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["intents"][0]["intent"], "app.open", "{body}");
    assert_eq!(body["intents"][0]["slots"]["app"], "firefox", "{body}");
    assert!(body["transcript"]
        .as_str()
        .unwrap()
        .to_lowercase()
        .contains("firefox"));
    assert!(body["latency_ms"]["stt"].as_f64().unwrap() > 0.0, "{body}");

    // Silence, noise and garbage are refused with a reason; the daemon goes on serving.
    let silent = dir.path().join("silent.wav");
    write16(&silent, &vec![0.0; 16_000]);
    let (status, body) = http(
        luna.addr,
        "POST",
        "/v1/audio",
        &[],
        &std::fs::read(&silent).unwrap(),
    );
    assert_eq!((status, code(&body)), (422, "no_speech"), "{body}");
    let (status, body) = http(luna.addr, "POST", "/v1/audio", &[], b"RIFF\0\0\0\0WAVEjunk");
    assert_eq!((status, code(&body)), (400, "bad_audio"), "{body}");
    let truncated = &bytes[..bytes.len() / 2];
    let (status, _) = http(luna.addr, "POST", "/v1/audio?dry_run=true", &[], truncated);
    assert!(status == 200 || status == 422 || status == 400, "{status}");
    let (status, _) = http(luna.addr, "GET", "/healthz", &[], b"");
    assert_eq!(status, 200);
    stop(luna.child);
}

#[test]
fn bad_requests_get_a_json_error_and_the_daemon_keeps_serving() {
    let luna = start(&[("LUNA_API__MAX_AUDIO_S", "5")]);
    let a = luna.addr;
    let cases: Vec<(u16, &str, (u16, Value))> = vec![
        (
            400,
            "invalid_json",
            post_json(a, "/v1/commands", &json!({"text": "hi", "volume": 3})),
        ),
        (
            400,
            "invalid_json",
            http(a, "POST", "/v1/commands", &[], b"\xff\xfe{\"text\": 1}"),
        ),
        (
            400,
            "invalid_json",
            http(a, "POST", "/v1/commands", &[], b"{\"text\": \"open"),
        ),
        (
            422,
            "empty_text",
            post_json(a, "/v1/commands", &json!({"text": "   "})),
        ),
        (
            413,
            "text_too_long",
            post_json(
                a,
                "/v1/commands",
                &json!({"text": "open firefox ".repeat(500)}),
            ),
        ),
        (
            413,
            "too_large",
            http(a, "POST", "/v1/commands", &[], &vec![b'a'; 1 << 20]),
        ),
        (404, "not_found", http(a, "GET", "/v2/anything", &[], b"")),
        (
            400,
            "bad_query",
            http(a, "GET", "/v1/history?limit=lots", &[], b""),
        ),
    ];
    for (status, expected, (got_status, body)) in &cases {
        assert_eq!((*got_status, code(body)), (*status, *expected), "{body}");
    }
    // Ten minutes of audio is over the configured five seconds.
    let dir = tempfile::tempdir().unwrap();
    let long = dir.path().join("long.wav");
    write16(&long, &vec![0.0; 16_000 * 8]);
    let (status, body) = http(a, "POST", "/v1/audio", &[], &std::fs::read(&long).unwrap());
    assert_eq!((status, code(&body)), (413, "audio_too_long"), "{body}");

    // A client that sends half its headers and stalls is cut off; others are served.
    let mut slow = TcpStream::connect(a).unwrap();
    slow.write_all(b"POST /v1/commands HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let (status, body) = post_json(a, "/v1/commands", &json!({"text": "what time is it"}));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["intents"][0]["intent"], "time.now");
    slow.set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let mut rest = Vec::new();
    let _ = slow.read_to_end(&mut rest);
    let answer = String::from_utf8_lossy(&rest);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
    stop(luna.child);
}

/// One spoken command in every format a client may send, then audio and text built to
/// hurt: each gets an answer (the command, or a JSON error saying what is wrong) and
/// the daemon goes on serving.
#[test]
fn any_wav_format_is_understood_and_hostile_audio_and_text_are_refused_clearly() {
    let luna = start(&[]);
    let a = luna.addr;
    let dir = tempfile::tempdir().unwrap();
    let spoken = dir.path().join("spoken.wav");
    support::speak("tell me a joke", "en-us", 150, &spoken);
    let post_audio = |bytes: &[u8]| http(a, "POST", "/v1/audio?dry_run=true", &[], bytes);
    let mut formats = Vec::new();
    for (name, sox_args) in [
        ("8k-mono-s16", &["-r", "8000", "-c", "1", "-b", "16"][..]),
        ("22k-mono-s24", &["-r", "22050", "-c", "1", "-b", "24"][..]),
        (
            "44k-stereo-s16",
            &["-r", "44100", "-c", "2", "-b", "16"][..],
        ),
        (
            "48k-stereo-f32",
            &["-r", "48000", "-c", "2", "-e", "floating-point", "-b", "32"][..],
        ),
    ] {
        let out = dir.path().join(format!("{name}.wav"));
        let mut args = vec![spoken.to_str().unwrap()];
        args.extend_from_slice(sox_args);
        args.push(out.to_str().unwrap());
        support::run("sox", &args);
        let (status, body) = post_audio(&std::fs::read(&out).unwrap());
        formats.push((
            name,
            status,
            body["intents"][0]["intent"].clone(),
            body["transcript"].clone(),
        ));
    }
    // Float samples that are not numbers (NaN, ±inf) among the speech are taken as silence.
    let mut samples = support::read16(&spoken);
    for (i, s) in samples.iter_mut().enumerate().step_by(97) {
        *s = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY][i % 3];
    }
    let nan = dir.path().join("nan.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut writer = hound::WavWriter::create(&nan, spec).unwrap();
    for s in &samples {
        writer.write_sample(*s).unwrap();
    }
    writer.finalize().unwrap();
    let (status, body) = post_audio(&std::fs::read(&nan).unwrap());
    formats.push((
        "16k-f32-nan-inf",
        status,
        body["intents"][0]["intent"].clone(),
        body["transcript"].clone(),
    ));
    assert!(
        formats
            .iter()
            .all(|(_, status, intent, _)| *status == 200 && intent == "joke.tell"),
        "{formats:#?}"
    );

    // Broken files: a clear 400 each.
    let good = std::fs::read(&spoken).unwrap();
    let mut no_channels = good.clone();
    no_channels[22..24].copy_from_slice(&0u16.to_le_bytes());
    let mut not_wave = good.clone();
    not_wave[8..12].copy_from_slice(b"AVI ");
    let empty = dir.path().join("empty.wav");
    write16(&empty, &[]);
    for (name, bytes) in [
        ("no channels", no_channels),
        ("not WAVE", not_wave),
        ("no samples", std::fs::read(&empty).unwrap()),
        ("header only", good[..44].to_vec()),
        ("text", b"hey luna, this is not audio".to_vec()),
        ("nothing", Vec::new()),
    ] {
        let (status, body) = post_audio(&bytes);
        assert_eq!((status, code(&body)), (400, "bad_audio"), "{name}: {body}");
        assert!(
            !body["error"]["message"].as_str().unwrap_or("").is_empty(),
            "{name}: {body}"
        );
    }

    // Ten minutes of audio (19 MB) is over the default limit, refused before decoding.
    let long = dir.path().join("long.wav");
    write16(&long, &vec![0.0; 16_000 * 600]);
    let (status, body) = post_audio(&std::fs::read(&long).unwrap());
    assert_eq!(status, 413, "{body}");

    // Deeply repeated words are understood or not, but answered.
    for text in [
        "timer ".repeat(300),
        "what time is it ".repeat(100),
        "and ".repeat(400),
    ] {
        let (status, body) = post_json(a, "/v1/commands", &json!({ "text": text }));
        assert_eq!(status, 200, "{body}");
        assert!(body["response"].is_string(), "{body}");
    }
    let (status, body) = post_json(a, "/v1/commands", &json!({"text": "what time is it"}));
    assert_eq!(
        (status, body["intents"][0]["intent"].as_str()),
        (200, Some("time.now"))
    );
    stop(luna.child);
}

#[test]
fn a_token_is_required_when_configured() {
    let luna = start(&[("LUNA_API__TOKEN", "s3cret-token")]);
    let command = json!({"text": "what time is it"}).to_string();
    let (status, body) = http(luna.addr, "POST", "/v1/commands", &[], command.as_bytes());
    assert_eq!((status, code(&body)), (401, "unauthorized"));
    let wrong = [("Authorization", "Bearer s3cret-tokem")];
    let (status, _) = http(
        luna.addr,
        "POST",
        "/v1/commands",
        &wrong,
        command.as_bytes(),
    );
    assert_eq!(status, 401);
    let (status, _) = http(luna.addr, "GET", "/v1/history", &[], b"");
    assert_eq!(status, 401);
    let right = [("Authorization", "Bearer s3cret-token")];
    let (status, body) = http(
        luna.addr,
        "POST",
        "/v1/commands",
        &right,
        command.as_bytes(),
    );
    assert_eq!(status, 200, "{body}");
    // Liveness stays open to probes.
    let (status, _) = http(luna.addr, "GET", "/healthz", &[], b"");
    assert_eq!(status, 200);
    // A stream without the header (a browser cannot set one) must send `auth <token>`
    // first: audio, or a wrong token, is refused and the stream closed.
    let url = format!("ws://{}/v1/stream?no_wake=true", luna.addr);
    for first in [
        tungstenite::Message::Binary(vec![0u8; 640].into()),
        tungstenite::Message::Text("auth s3cret-tokem".into()),
    ] {
        let (mut ws, _) =
            tungstenite::client(url.as_str(), TcpStream::connect(luna.addr).unwrap()).unwrap();
        ws.send(first).unwrap();
        let reply = ws.read().unwrap();
        let event: Value = serde_json::from_str(reply.to_text().unwrap()).unwrap();
        assert_eq!(event["event"], "error", "{event}");
        assert_eq!(event["code"], "unauthorized", "{event}");
        assert!(matches!(
            ws.read(),
            Ok(tungstenite::Message::Close(_)) | Err(_)
        ));
    }
    // Plain HTTP to the stream without the token is still refused outright.
    let (status, _) = http(luna.addr, "GET", "/v1/stream", &[], b"");
    assert_eq!(status, 401);
    // With the right token the stream is heard.
    let (mut ws, _) =
        tungstenite::client(url.as_str(), TcpStream::connect(luna.addr).unwrap()).unwrap();
    ws.send(tungstenite::Message::Text("auth s3cret-token".into()))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (audio, _) = session(dir.path(), &[("what time is it", "en-us")], 0.3, 0.6);
    let bytes = s16le(&audio);
    ws.send(tungstenite::Message::Binary(bytes.into())).unwrap();
    ws.send(tungstenite::Message::Text("end".into())).unwrap();
    let mut kinds = Vec::new();
    while let Ok(tungstenite::Message::Text(t)) = ws.read() {
        let event: Value = serde_json::from_str(t.as_str()).unwrap();
        kinds.push(event["event"].as_str().unwrap().to_owned());
    }
    assert_eq!(kinds, ["transcript", "intent", "result", "reply"]);
    stop(luna.child);
}

#[test]
fn binding_beyond_loopback_without_a_token_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let out = support::luna(home.path())
        .env("LUNA_API__BIND", "0.0.0.0:8765")
        .args(["run"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("api.bind") && err.contains("token"), "{err}");
}

/// Streams `audio` to `/v1/stream` as s16le in frames of `frame_bytes` and returns the
/// events received.
/// 16 kHz samples as the stream's frames carry them: 16-bit little-endian.
fn s16le(audio: &[f32]) -> Vec<u8> {
    audio
        .iter()
        .flat_map(|s| ((s * 32767.0) as i16).to_le_bytes())
        .collect()
}

fn stream(addr: SocketAddr, query: &str, audio: &[f32], frame_bytes: usize) -> Vec<Value> {
    let url = format!("ws://{addr}/v1/stream{query}");
    let tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let (mut socket, _) = tungstenite::client(url, tcp).unwrap();
    let bytes = s16le(audio);
    for frame in bytes.chunks(frame_bytes) {
        socket
            .send(tungstenite::Message::Binary(frame.to_vec().into()))
            .unwrap();
    }
    socket.send(tungstenite::Message::text("end")).unwrap();
    let mut events = Vec::new();
    loop {
        match socket.read() {
            Ok(tungstenite::Message::Text(t)) => events.push(serde_json::from_str(&t).unwrap()),
            Ok(tungstenite::Message::Close(_)) | Err(_) => break,
            Ok(_) => {}
        }
    }
    events
}

fn kinds(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect()
}

#[test]
fn a_remote_microphone_streams_audio_and_hears_what_was_done() {
    let luna = start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let (audio, _) = session(
        dir.path(),
        &[
            ("open firefox", "en-us"),
            ("hey luna set a timer for five minutes", "en-us"),
        ],
        0.5,
        0.8,
    );
    let events = stream(luna.addr, "", &audio, 640);
    // The first utterance had no wake phrase: ignored. The second is a command.
    assert_eq!(
        kinds(&events),
        ["ignored", "wake", "transcript", "intent", "result", "reply"],
        "{events:#?}"
    );
    assert_eq!(events[1]["phrase"], "hey luna");
    assert_eq!(events[3]["intents"][0]["intent"], "timer.start");
    assert_eq!(events[5]["text"], "Timer set for 5 minutes.");
    let id = &events[2]["correlation_id"];
    assert!(events[2..].iter().all(|e| &e["correlation_id"] == id));

    // Push-to-talk satellites skip the wake phrase; odd-sized frames are fine.
    let (audio, _) = session(dir.path(), &[("open firefox", "en-us")], 0.3, 0.6);
    let events = stream(luna.addr, "?no_wake=true&dry_run=true", &audio, 333);
    assert_eq!(
        kinds(&events),
        ["transcript", "intent", "result", "reply"],
        "{events:#?}"
    );
    assert_eq!(events[1]["intents"][0]["intent"], "app.open");
    // Each command was transcribed in the pause before its end was confirmed, on the
    // satellite's own clock, and the transcript used (the ignored "open firefox" was
    // never addressed to LUNA, so never transcribed).
    assert_eq!(
        metric(
            luna.metrics,
            r#"luna_stt_speculations_total{outcome="used"}"#
        ),
        2.0
    );
    stop(luna.child);
}

fn say(addr: SocketAddr, text: &str) -> Value {
    let (status, body) = post_json(addr, "/v1/commands", &json!({ "text": text }));
    assert_eq!(status, 200, "{text}: {body}");
    body
}

#[test]
fn destructive_commands_wait_for_a_yes_and_anything_else_means_no() {
    let luna = start(&[("LUNA_EXEC__CONFIRM_TIMEOUT_S", "2")]);
    let a = luna.addr;
    let asked = say(a, "shut down the computer");
    assert_eq!(asked["results"][0]["needs_confirmation"], true, "{asked}");
    assert!(asked["response"]
        .as_str()
        .unwrap()
        .starts_with("Are you sure"));
    assert!(
        asked["results"][0].get("dry_run").is_none(),
        "nothing ran: {asked}"
    );
    let yes = say(a, "yes");
    assert_eq!(yes["results"][0]["intent"], "system.shutdown", "{yes}");
    assert_eq!(
        yes["results"][0]["dry_run"][0]["args"],
        json!(["poweroff"]),
        "{yes}"
    );

    say(a, "restart the computer");
    let no = say(a, "no");
    assert_eq!(no["response"], "OK, I won't.", "{no}");
    assert_eq!(say(a, "yes")["response"], "There's nothing to confirm.");

    // Another command is not a yes: the question is dropped and the command done.
    say(a, "restart the computer");
    let other = say(a, "what time is it");
    assert_eq!(other["results"][0]["intent"], "time.now");
    assert_eq!(say(a, "yes")["response"], "There's nothing to confirm.");

    // Silence past the timeout is a no.
    say(a, "put the computer to sleep");
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(say(a, "yes")["response"], "There's nothing to confirm.");
    stop(luna.child);
}

#[test]
fn stop_cancels_a_command_that_is_still_running() {
    // A volume tool that hangs: the command is still running when "stop" comes.
    let tools = tempfile::tempdir().unwrap();
    fake_tool(tools.path(), "wpctl", "#!/bin/sh\nsleep 30\n");
    let path = path_with(tools.path());
    let luna = start(&[("LUNA_EXEC__DRY_RUN", "false"), ("PATH", &path)]);
    let addr = luna.addr;
    let slow = std::thread::spawn(move || say(addr, "turn the volume up"));
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        !slow.is_finished(),
        "the volume command should still be running"
    );
    let stopped = say(luna.addr, "stop");
    assert_eq!(
        stopped["intents"][0]["intent"], "assistant.stop",
        "{stopped}"
    );
    let cancelled = slow.join().unwrap();
    assert_eq!(cancelled["results"][0]["ok"], false, "{cancelled}");
    assert_eq!(
        cancelled["results"][0]["response"], "Cancelled.",
        "{cancelled}"
    );
    // Later commands run as usual.
    assert_eq!(say(luna.addr, "what time is it")["results"][0]["ok"], true);
    stop(luna.child);
}

/// `PATH` with `dir` searched first: its fake tools stand in for the machine's.
fn path_with(dir: &std::path::Path) -> String {
    format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// Writes an executable script `name` into `dir`.
fn fake_tool(dir: &std::path::Path, name: &str, script: &str) {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn transient_failures_are_retried_but_never_for_destructive_steps() {
    let tools = tempfile::tempdir().unwrap();
    let calls = tools.path().join("calls");
    let calls_s = calls.display().to_string();
    // The sound server is restarting: two failures, then it answers.
    fake_tool(
        tools.path(),
        "wpctl",
        &format!(
            "#!/bin/sh\necho wpctl >> {calls_s}\nn=$(grep -c wpctl {calls_s})\n[ \"$n\" -ge 3 ] && exit 0\necho 'Could not connect to PipeWire: Connection refused' >&2\nexit 1\n"
        ),
    );
    // systemd is busy: a retry could shut the machine down twice.
    fake_tool(
        tools.path(),
        "systemctl",
        &format!("#!/bin/sh\necho systemctl >> {calls_s}\necho 'Failed to connect to bus: Connection refused' >&2\nexit 1\n"),
    );
    let path = path_with(tools.path());
    let luna = start(&[("LUNA_EXEC__DRY_RUN", "false"), ("PATH", &path)]);
    let up = say(luna.addr, "turn the volume up");
    assert_eq!(up["results"][0]["ok"], true, "{up}");
    assert_eq!(up["results"][0]["retries"], 2, "{up}");
    assert_eq!(up["response"], "Turning it up.");

    say(luna.addr, "shut down the computer");
    let yes = say(luna.addr, "yes");
    assert_eq!(yes["results"][0]["intent"], "system.shutdown", "{yes}");
    assert_eq!(yes["results"][0]["ok"], false, "{yes}");
    assert!(yes["results"][0].get("retries").is_none(), "{yes}");
    let log = std::fs::read_to_string(&calls).unwrap();
    assert_eq!(log.matches("systemctl").count(), 1, "{log}");
    assert_eq!(log.matches("wpctl").count(), 3, "{log}");
    stop(luna.child);
}

#[test]
fn metrics_count_commands_stages_and_caches_and_luna_stats_reads_them() {
    let luna = start(&[]);
    for text in [
        "what time is it",
        "what time is it",
        "open firefox and what time is it",
        "blorp the zorp",
    ] {
        say(luna.addr, text);
    }
    let (status, text) = {
        let mut c = luna::http_client::Connection::open(luna.metrics).unwrap();
        c.get("/metrics").unwrap()
    };
    assert_eq!(status, 200);
    for line in [
        r#"luna_commands_total{intent="time.now",outcome="ok",source="api"} 2"#,
        r#"luna_commands_total{intent="unknown",outcome="unknown",source="api"} 1"#,
        // Every intent of a multi-intent command, not only its first.
        r#"luna_intents_total{intent="time.now"} 3"#,
        r#"luna_intents_total{intent="app.open"} 1"#,
        r#"luna_intents_total{intent="unknown"} 1"#,
        r#"luna_stage_latency_seconds_count{stage="brain"} 4"#,
        r#"luna_stage_messages_handled_total{stage="brain"} 4"#,
        r#"luna_stage_restarts_total{stage="stt"} 0"#,
        // The second "what time is it" was a parse-cache hit.
        r#"luna_brain_cache_hits_total{cache="parse"} 1"#,
    ] {
        assert!(text.contains(line), "{line} missing from:\n{text}");
    }
    let home = tempfile::tempdir().unwrap();
    let out = support::luna(home.path())
        .env("LUNA_TELEMETRY__METRICS_ADDR", luna.metrics.to_string())
        .arg("stats")
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(shown.contains("commands: 4"), "{shown}");
    assert!(shown.contains("app.open 1"), "{shown}");
    assert!(shown.contains("time.now 3"), "{shown}");
    assert!(shown.contains("parse 25 % of 4"), "{shown}");
    stop(luna.child);
    // With the daemon gone, stats says so in one line.
    let out = support::luna(home.path())
        .env("LUNA_TELEMETRY__METRICS_ADDR", luna.metrics.to_string())
        .arg("stats")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("LUNA is not running"), "{err}");
}

/// The value of one sample in a metrics scrape.
fn metric(addr: SocketAddr, series: &str) -> f64 {
    let mut c = luna::http_client::Connection::open(addr).unwrap();
    let (_, text) = c.get("/metrics").unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {series} in:\n{text}"))
}

#[test]
fn stages_that_panic_are_rebuilt_and_no_command_is_lost_or_duplicated() {
    let luna = start(&[(
        "LUNA_DEBUG__FAULT_INJECTION",
        r#"["brain:3", "store:4", "stt:2"]"#,
    )]);
    let dir = tempfile::tempdir().unwrap();
    let (audio, _) = session(dir.path(), &[("what time is it", "en-us")], 0.3, 0.6);
    let wav = dir.path().join("command.wav");
    write16(&wav, &audio);
    let wav = std::fs::read(&wav).unwrap();
    let texts = [
        "what time is it",
        "set a timer for five minutes",
        "what's the date",
        "add milk to the shopping list",
        "tell me a joke",
        "calculate 6 times 7",
        "what time is it",
        "note that the plumber comes on monday",
    ];
    let mut ids = std::collections::BTreeSet::new();
    for (i, text) in texts.iter().enumerate() {
        let body = say(luna.addr, text);
        ids.insert(body["correlation_id"].as_str().unwrap().to_owned());
        if i % 3 == 0 {
            let (status, body) = http(luna.addr, "POST", "/v1/audio", &[], &wav);
            assert_eq!(status, 200, "{body}");
            assert_eq!(body["intents"][0]["intent"], "time.now", "{body}");
            ids.insert(body["correlation_id"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(ids.len(), texts.len() + 3);
    let (_, history) = http(luna.addr, "GET", "/v1/history?limit=100", &[], b"");
    let stored: Vec<&str> = history["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["correlation_id"].as_str().unwrap())
        .collect();
    let unique: std::collections::BTreeSet<&str> = stored.iter().copied().collect();
    assert_eq!(stored.len(), unique.len(), "a command was stored twice");
    assert_eq!(
        unique,
        ids.iter().map(String::as_str).collect(),
        "every acknowledged command is in history, and nothing else"
    );
    for (stage, at_least) in [("brain", 2.0), ("store", 2.0), ("stt", 1.0)] {
        let restarts = metric(
            luna.metrics,
            &format!("luna_stage_restarts_total{{stage=\"{stage}\"}}"),
        );
        assert!(restarts >= at_least, "{stage} restarted {restarts} times");
    }
    stop(luna.child);
}

#[test]
fn a_step_whose_child_panics_fails_alone_and_later_steps_run() {
    // Every 2nd step's child panics.
    let luna = start(&[("LUNA_DEBUG__FAULT_INJECTION", r#"["exec:2"]"#)]);
    let outcome = |body: &Value| -> Vec<(String, bool, String)> {
        body["results"]
            .as_array()
            .unwrap_or_else(|| panic!("no results in {body}"))
            .iter()
            .map(|r| {
                (
                    r["intent"].as_str().unwrap().to_owned(),
                    r["ok"].as_bool().unwrap(),
                    r["response"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let crashed = "Something went wrong doing that.";
    let first = outcome(&say(luna.addr, "what time is it"));
    assert!(first[0].1, "{first:?}");
    let second = outcome(&say(luna.addr, "what's the date"));
    assert_eq!(second, [("date.today".into(), false, crashed.into())]);
    // Two steps in one parallel group: one child panics, its sibling still runs.
    let both = outcome(&say(
        luna.addr,
        "set a timer for five minutes and add milk to the shopping list",
    ));
    assert_eq!(both.len(), 2, "{both:?}");
    assert_eq!(
        both.iter().filter(|(_, ok, _)| *ok).count(),
        1,
        "exactly one of the two steps crashed: {both:?}"
    );
    assert!(both.iter().any(|(_, _, said)| said == crashed), "{both:?}");
    let after = outcome(&say(luna.addr, "tell me a joke"));
    assert!(after[0].1, "a fresh child ran the next step: {after:?}");
    let (_, history) = http(luna.addr, "GET", "/v1/history?limit=10", &[], b"");
    assert_eq!(
        history["commands"].as_array().unwrap().len(),
        4,
        "{history}"
    );
    let exec = |series: &str| metric(luna.metrics, &format!("{series}{{stage=\"exec\"}}"));
    assert_eq!(exec("luna_stage_crashes_total"), 2.0);
    assert_eq!(exec("luna_stage_restarts_total"), 2.0);
    assert_eq!(exec("luna_stage_messages_handled_total"), 3.0);
    stop(luna.child);
}

#[test]
fn the_load_generator_holds_text_audio_and_streams_without_errors() {
    let luna = start(&[("LUNA_API__TOKEN", "load-token")]);
    let dir = tempfile::tempdir().unwrap();
    let (audio, _) = session(dir.path(), &[("what time is it", "en-us")], 0.3, 0.8);
    let wav = dir.path().join("command.wav");
    write16(&wav, &audio);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_luna-loadgen"))
        .args(["--api", &luna.addr.to_string()])
        .args(["--metrics", &luna.metrics.to_string()])
        .args([
            "--token",
            "load-token",
            "--clients",
            "2",
            "--seconds",
            "4",
            "--json",
        ])
        .arg("--wav")
        .arg(&wav)
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    assert!(out.status.success(), "{report:#}");
    for kind in ["text", "audio", "stream"] {
        assert_eq!(report[kind]["errors"], 0, "{kind}: {report:#}");
        assert!(
            report[kind]["done"].as_u64().unwrap() >= 1,
            "{kind}: {report:#}"
        );
    }
    assert!(report["text"]["done"].as_u64().unwrap() > 50, "{report:#}");
    let rss = &report["daemon_rss_mb"];
    assert!(rss["before"].as_f64().unwrap() > 1.0, "{report:#}");
    assert!(rss["after"].as_f64().unwrap() > 1.0, "{report:#}");
    // The daemon is still serving.
    let (status, _) = http(luna.addr, "GET", "/healthz", &[], b"");
    assert_eq!(status, 200);
    stop(luna.child);
}

#[test]
fn an_app_installed_while_luna_runs_can_be_opened() {
    let luna = start(&[]);
    let before = say(luna.addr, "open firefox");
    assert_eq!(
        before["response"], "I couldn't find an app called firefox.",
        "{before}"
    );
    let apps = luna._home.path().join("data/applications");
    std::fs::create_dir_all(&apps).unwrap();
    std::fs::write(
        apps.join("firefox.desktop"),
        "[Desktop Entry]\nType=Application\nName=Firefox\nExec=firefox-esr --new-window %u\n",
    )
    .unwrap();
    let after = say(luna.addr, "open firefox");
    assert_eq!(after["results"][0]["ok"], true, "{after}");
    assert_eq!(
        after["results"][0]["dry_run"][0]["program"], "firefox-esr",
        "{after}"
    );
    assert_eq!(
        after["results"][0]["dry_run"][0]["args"],
        json!(["--new-window"])
    );
    stop(luna.child);
}

/// A minimal OTLP/HTTP receiver on loopback: decodes every export request with the
/// protocol's own types and keeps the spans.
struct OtlpReceiver {
    addr: SocketAddr,
    spans: std::sync::Arc<std::sync::Mutex<Vec<opentelemetry_proto::tonic::trace::v1::Span>>>,
}

impl OtlpReceiver {
    fn start() -> Self {
        use prost::Message;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let spans = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = std::sync::Arc::clone(&spans);
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let kept = std::sync::Arc::clone(&kept);
                std::thread::spawn(move || {
                    let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
                    let mut writer = stream;
                    loop {
                        use std::io::BufRead;
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        let mut length = 0;
                        loop {
                            let mut header = String::new();
                            reader.read_line(&mut header).unwrap();
                            let header = header.trim_end();
                            if header.is_empty() {
                                break;
                            }
                            if let Some((k, v)) = header.split_once(':') {
                                if k.eq_ignore_ascii_case("content-length") {
                                    length = v.trim().parse().unwrap();
                                }
                            }
                        }
                        let mut body = vec![0; length];
                        reader.read_exact(&mut body).unwrap();
                        let request = opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest::decode(&body[..])
                            .expect("an OTLP trace export");
                        let mut kept = kept.lock().unwrap();
                        for resource in request.resource_spans {
                            for scope in resource.scope_spans {
                                kept.extend(scope.spans);
                            }
                        }
                        writer
                            .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\n\r\n")
                            .unwrap();
                    }
                });
            }
        });
        Self { addr, spans }
    }
}

/// A span attribute as text.
fn attribute(span: &opentelemetry_proto::tonic::trace::v1::Span, key: &str) -> Option<String> {
    use opentelemetry_proto::tonic::common::v1::any_value::Value;
    let value = span
        .attributes
        .iter()
        .find(|a| a.key == key)?
        .value
        .as_ref()?;
    Some(match value.value.as_ref()? {
        Value::StringValue(s) => s.clone(),
        Value::BoolValue(b) => b.to_string(),
        Value::IntValue(i) => i.to_string(),
        Value::DoubleValue(d) => d.to_string(),
        other => format!("{other:?}"),
    })
}

#[test]
fn each_command_is_one_trace_with_a_span_per_stage() {
    let receiver = OtlpReceiver::start();
    let endpoint = format!("http://{}/v1/traces", receiver.addr);
    let luna = start(&[("LUNA_TELEMETRY__OTLP_ENDPOINT", &endpoint)]);
    let typed = say(
        luna.addr,
        "set a timer for five minutes and play some music",
    );
    let dir = tempfile::tempdir().unwrap();
    let (audio, _) = session(dir.path(), &[("what time is it", "en-us")], 0.3, 0.6);
    let wav = dir.path().join("command.wav");
    write16(&wav, &audio);
    let (status, spoken) = http(
        luna.addr,
        "POST",
        "/v1/audio",
        &[],
        &std::fs::read(&wav).unwrap(),
    );
    assert_eq!(status, 200, "{spoken}");
    // Stopping flushes what is queued.
    stop(luna.child);
    let spans = receiver.spans.lock().unwrap().clone();

    let trace_of = |body: &Value| {
        let id = body["correlation_id"].as_str().unwrap();
        let root = spans
            .iter()
            .find(|s| s.name == "command" && attribute(s, "correlation_id").as_deref() == Some(id))
            .unwrap_or_else(|| {
                let names: Vec<_> = spans.iter().map(|s| s.name.as_str()).collect();
                panic!("no command span for {id} among {names:?}")
            });
        assert!(
            root.parent_span_id.is_empty(),
            "the command span is the root"
        );
        let children: Vec<&str> = spans
            .iter()
            .filter(|s| s.trace_id == root.trace_id && s.parent_span_id == root.span_id)
            .map(|s| s.name.as_str())
            .collect();
        let in_trace = spans.iter().filter(|s| s.trace_id == root.trace_id).count();
        (root.clone(), children, in_trace)
    };

    let (root, children, in_trace) = trace_of(&typed);
    assert_eq!(attribute(&root, "source").as_deref(), Some("api"));
    assert_eq!(attribute(&root, "intent").as_deref(), Some("timer.start"));
    assert!(attribute(&root, "outcome").is_some());
    for stage in ["brain.parse", "store.write"] {
        assert!(children.contains(&stage), "{stage} missing: {children:?}");
    }
    // The two steps ran in parallel: sibling spans under the command.
    assert_eq!(
        children.iter().filter(|n| **n == "exec.step").count(),
        2,
        "{children:?}"
    );
    assert_eq!(
        in_trace,
        1 + children.len(),
        "everything nests under the root"
    );

    let (root, children, _) = trace_of(&spoken);
    assert_eq!(attribute(&root, "intent").as_deref(), Some("time.now"));
    assert!(attribute(&root, "audio_s").is_some());
    for stage in [
        "vad.endpoint",
        "stt.transcribe",
        "brain.parse",
        "exec.step",
        "store.write",
    ] {
        assert!(children.contains(&stage), "{stage} missing: {children:?}");
    }
    // One trace per command.
    assert_ne!(trace_of(&typed).0.trace_id, root.trace_id);
}

/// With the collector down, commands go on as before and the spans that could not be
/// delivered are counted.
#[test]
fn spans_that_cannot_be_exported_are_dropped_and_counted() {
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let endpoint = format!("http://{closed}/v1/traces");
    let luna = start(&[
        ("LUNA_TELEMETRY__OTLP_ENDPOINT", &endpoint),
        // The batch processor's interval (the SDK's own setting), 5 s by default.
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
    ]);
    assert_eq!(metric(luna.metrics, "luna_trace_spans_dropped_total"), 0.0);
    for _ in 0..3 {
        let (status, body) = post_json(
            luna.addr,
            "/v1/commands",
            &json!({"text": "what time is it"}),
        );
        assert_eq!(status, 200, "{body}");
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut dropped = 0.0;
    while dropped < 3.0 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        dropped = metric(luna.metrics, "luna_trace_spans_dropped_total");
    }
    // Each command is a root span and its stages' spans.
    assert!(dropped >= 3.0, "{dropped} spans counted as dropped");
    let (status, _) = post_json(
        luna.addr,
        "/v1/commands",
        &json!({"text": "what time is it"}),
    );
    assert_eq!(status, 200);
    stop(luna.child);
}

#[test]
fn plans_beyond_max_concurrent_tasks_wait_for_a_slot() {
    // One slot; a volume tool that hangs until its 5 s timeout holds it.
    let tools = tempfile::tempdir().unwrap();
    fake_tool(tools.path(), "wpctl", "#!/bin/sh\nsleep 30\n");
    let path = path_with(tools.path());
    let luna = start(&[
        ("LUNA_EXEC__DRY_RUN", "false"),
        ("PATH", &path),
        ("LUNA_SYSTEM__MAX_CONCURRENT_TASKS", "1"),
    ]);
    let addr = luna.addr;
    let slow = std::thread::spawn(move || say(addr, "turn the volume up"));
    std::thread::sleep(Duration::from_millis(500));
    let sent = std::time::Instant::now();
    let quick = say(luna.addr, "what time is it");
    let waited = sent.elapsed();
    let slow_body = slow.join().unwrap();
    assert_eq!(quick["results"][0]["ok"], true, "{quick}");
    assert_eq!(slow_body["results"][0]["ok"], false, "{slow_body}");
    // The second plan waited for the first to give its slot back (the hanging tool
    // holds it for at least its 5 s timeout; alone, the answer takes milliseconds).
    assert!(
        waited >= Duration::from_secs(3),
        "the time answer came after {waited:?}: it did not wait for the slot"
    );
    stop(luna.child);
}

#[test]
fn a_stream_can_ask_for_speech_starts_and_the_reply_as_audio() {
    let luna = start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let (audio, truth) = session(dir.path(), &[("what time is it", "en-us")], 0.5, 0.8);
    let url = format!(
        "ws://{}/v1/stream?no_wake=true&dry_run=true&vad=true&speak=true",
        luna.addr
    );
    let tcp = TcpStream::connect(luna.addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let (mut ws, _) = tungstenite::client(url, tcp).unwrap();
    let bytes = s16le(&audio);
    ws.send(tungstenite::Message::Binary(bytes.into())).unwrap();
    ws.send(tungstenite::Message::text("end")).unwrap();
    let (mut events, mut wavs) = (Vec::<Value>::new(), Vec::new());
    loop {
        match ws.read() {
            Ok(tungstenite::Message::Text(t)) => events.push(serde_json::from_str(&t).unwrap()),
            Ok(tungstenite::Message::Binary(b)) => wavs.push(b.to_vec()),
            Ok(tungstenite::Message::Close(_)) | Err(_) => break,
            Ok(_) => {}
        }
    }
    assert_eq!(
        kinds(&events),
        ["speech", "transcript", "intent", "result", "reply"],
        "{events:#?}"
    );
    // Speech began where the words did (the VAD's onset, within its pre-roll).
    let start_s = events[0]["start_s"].as_f64().unwrap();
    assert!((start_s - truth[0].0).abs() < 0.3, "{start_s} vs {truth:?}");
    assert_eq!(events[2]["plan"]["steps"][0]["intent"], "time.now");
    // One WAV: the reply spoken, as long as its words take.
    assert_eq!(wavs.len(), 1);
    let path = dir.path().join("reply.wav");
    std::fs::write(&path, &wavs[0]).unwrap();
    let seconds = support::duration_s(&path);
    assert!((0.5..5.0).contains(&seconds), "reply {seconds} s");
    stop(luna.child);
}
