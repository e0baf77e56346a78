//! Speech to text on another machine: a Wyoming ASR service (`[stt] backend =
//! "wyoming"`, `[stt] wyoming_uri`), such as wyoming-faster-whisper on a bigger box or
//! another LUNA's `[api] wyoming_bind`. One connection per utterance: `transcribe`,
//! `audio-start`, the audio in 100 ms `audio-chunk`s, `audio-stop`, then its
//! `transcript`, all within `[stt] wyoming_timeout_ms`.

use std::io::{BufReader, Write};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::audio::PIPELINE_RATE;
use crate::wyoming::{
    audio_events, connect_blocking, encode, read_event_blocking, Event, Limits, WyomingError,
};

#[derive(Debug, thiserror::Error)]
pub enum RemoteSttError {
    #[error("{0:?} is not a Wyoming address like \"tcp://host:10300\"")]
    BadUri(String),
    #[error("cannot reach the Wyoming speech service at {uri}: {reason}")]
    Unreachable { uri: String, reason: String },
    #[error("the Wyoming speech service at {uri} did not answer within {ms} ms")]
    Timeout { uri: String, ms: u128 },
    #[error("the Wyoming speech service at {uri}: {reason}")]
    Failed { uri: String, reason: String },
}

/// A Wyoming ASR service.
#[derive(Clone, Debug)]
pub struct RemoteStt {
    uri: String,
    host_port: String,
    timeout: Duration,
}

impl RemoteStt {
    pub fn new(uri: &str, timeout: Duration) -> Result<Self, RemoteSttError> {
        let host_port =
            crate::wyoming::host_port(uri).ok_or_else(|| RemoteSttError::BadUri(uri.to_owned()))?;
        Ok(Self {
            uri: uri.to_owned(),
            host_port: host_port.to_owned(),
            timeout,
        })
    }

    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// The transcript of 16 kHz mono `samples`.
    pub fn transcribe(&self, samples: &[f32]) -> Result<String, RemoteSttError> {
        let deadline = Instant::now() + self.timeout;
        let unreachable = |reason: String| RemoteSttError::Unreachable {
            uri: self.uri.clone(),
            reason,
        };
        let mut stream = connect_blocking(&self.host_port, self.timeout)
            .map_err(|e| unreachable(e.to_string()))?;
        let io = |e: std::io::Error| self.io_error(e);
        let mut out = encode(&Event::new("transcribe", json!({ "language": "en" })));
        for event in audio_events(samples, PIPELINE_RATE) {
            out.extend(encode(&event));
        }
        stream.set_write_timeout(Some(self.timeout)).map_err(io)?;
        stream.write_all(&out).map_err(io)?;
        stream.flush().map_err(io)?;
        let mut reader = BufReader::new(stream);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(self.timed_out());
            }
            reader.get_ref().set_read_timeout(Some(left)).map_err(io)?;
            match read_event_blocking(&mut reader, &Limits::default()) {
                Ok(Some(e)) if e.kind == "transcript" => {
                    return Ok(e.str("text").unwrap_or_default().trim().to_owned())
                }
                Ok(Some(e)) if e.kind == "error" => {
                    return Err(self.failed(e.str("text").unwrap_or("an error event")))
                }
                Ok(Some(_)) => continue,
                Ok(None) => return Err(self.failed("closed the connection without a transcript")),
                Err(WyomingError::Io(e)) => return Err(self.io_error(e)),
                Err(e) => return Err(self.failed(&e.to_string())),
            }
        }
    }

    fn timed_out(&self) -> RemoteSttError {
        RemoteSttError::Timeout {
            uri: self.uri.clone(),
            ms: self.timeout.as_millis(),
        }
    }

    fn failed(&self, reason: &str) -> RemoteSttError {
        RemoteSttError::Failed {
            uri: self.uri.clone(),
            reason: reason.to_owned(),
        }
    }

    fn io_error(&self, e: std::io::Error) -> RemoteSttError {
        match e.kind() {
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => self.timed_out(),
            _ => self.failed(&e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn addresses_are_checked() {
        for bad in crate::wyoming::BAD_ADDRESSES {
            assert!(
                RemoteStt::new(bad, Duration::from_secs(1)).is_err(),
                "{bad}"
            );
        }
        assert!(RemoteStt::new("tcp://127.0.0.1:10300", Duration::from_secs(1)).is_ok());
    }

    /// A one-shot service on loopback that reads the request and answers `answer`.
    fn serve(answer: Option<Vec<u8>>) -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            conn.set_read_timeout(Some(Duration::from_millis(300)))
                .unwrap();
            let mut got = Vec::new();
            let _ = conn.read_to_end(&mut got);
            let events = crate::wyoming::decode(&got, &Limits::default()).unwrap();
            let kinds: Vec<_> = events.iter().map(|e| e.kind.as_str()).collect();
            assert_eq!(kinds.first(), Some(&"transcribe"));
            assert_eq!(kinds.last(), Some(&"audio-stop"));
            match answer {
                Some(bytes) => conn.write_all(&bytes).unwrap(),
                None => std::thread::sleep(Duration::from_secs(2)),
            }
        });
        format!("tcp://{addr}")
    }

    #[test]
    fn a_transcript_comes_back_and_failures_are_clear() {
        let samples = vec![0.1f32; 16_000];
        let timeout = Duration::from_secs(1);
        let ok = encode(&Event::new(
            "transcript",
            json!({ "text": " open firefox " }),
        ));
        let remote = RemoteStt::new(&serve(Some(ok)), timeout).unwrap();
        assert_eq!(remote.transcribe(&samples).unwrap(), "open firefox");

        let error = encode(&Event::new("error", json!({ "text": "no model" })));
        let remote = RemoteStt::new(&serve(Some(error)), timeout).unwrap();
        let err = remote.transcribe(&samples).unwrap_err().to_string();
        assert!(err.contains("no model"), "{err}");

        let remote = RemoteStt::new(&serve(None), timeout).unwrap();
        let err = remote.transcribe(&samples).unwrap_err();
        assert!(matches!(err, RemoteSttError::Timeout { .. }), "{err}");

        // Nothing listens on a port just freed.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let remote = RemoteStt::new(&format!("tcp://127.0.0.1:{port}"), timeout).unwrap();
        let err = remote.transcribe(&samples).unwrap_err();
        assert!(matches!(err, RemoteSttError::Unreachable { .. }), "{err}");
    }
}
