//! LUNA as a Wyoming service, against the protocol's reference library (PyPI `wyoming`,
//! installed by `make test`): a client written with it describes the service, has a
//! spoken command transcribed (a 44.1 kHz stereo recording, resampled by LUNA), an
//! intent recognized and a command handled; and raw bytes that are not Wyoming get a
//! clear error without touching other clients.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use support::{model_path, start_daemon_with, stop, wait_for, wake_models_dir};

fn start(home: &std::path::Path) -> (support::RunningDaemon, SocketAddr) {
    let model = model_path();
    let wake = wake_models_dir();
    let env = [
        ("LUNA_AUDIO__INPUT", "no-such-device"),
        ("LUNA_STT__MODEL_PATH", model.to_str().unwrap()),
        ("LUNA_WAKE__MODELS_DIR", wake.to_str().unwrap()),
        ("LUNA_EXEC__DRY_RUN", "true"),
        ("LUNA_API__WYOMING_BIND", "127.0.0.1:0"),
    ];
    let (daemon, rx) = start_daemon_with(home, &env);
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
    let history = support::luna(home.path())
        .args(["history", "--json"])
        .output()
        .unwrap();
    let history: Value = serde_json::from_slice(&history.stdout).unwrap();
    let texts: Vec<&str> = history["commands"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["transcript"].as_str())
        .collect();
    assert_eq!(texts, ["what time is it"], "{history}");
    stop(daemon);
}
