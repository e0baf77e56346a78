//! The Wyoming protocol (Home Assistant's voice satellites and services): events over a
//! byte stream, each a JSON header line `{"type": …, "data": {…}, "data_length": N,
//! "payload_length": M}` followed by N bytes of more JSON data (merged into `data`) and
//! M bytes of binary payload (audio). Reading is bounded: a header, data or payload over
//! its limit is an error naming it, never an allocation of what a peer claims.

use serde_json::{Map, Value};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The protocol version LUNA writes (that of the reference library it is tested with).
pub const VERSION: &str = "1.10.2";

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Event {
    pub kind: String,
    pub data: Map<String, Value>,
    pub payload: Option<Vec<u8>>,
}

impl Event {
    pub fn new(kind: &str, data: Value) -> Self {
        Self {
            kind: kind.to_owned(),
            data: match data {
                Value::Object(map) => map,
                _ => Map::new(),
            },
            payload: None,
        }
    }

    pub fn with_payload(mut self, payload: Vec<u8>) -> Self {
        self.payload = Some(payload);
        self
    }

    /// A string field of `data`.
    pub fn str(&self, key: &str) -> Option<&str> {
        self.data.get(key).and_then(Value::as_str)
    }

    /// A whole-number field of `data`.
    pub fn u64(&self, key: &str) -> Option<u64> {
        self.data.get(key).and_then(Value::as_u64)
    }
}

/// The largest parts of an event LUNA reads.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub header: usize,
    pub data: usize,
    pub payload: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header: 64 * 1024,
            data: 1024 * 1024,
            // A second of 16-bit stereo at 48 kHz is 192 kB; satellites send ~20-100 ms.
            payload: 4 * 1024 * 1024,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WyomingError {
    #[error("connection: {0}")]
    Io(#[from] std::io::Error),
    #[error("an event header is over {limit} bytes without a newline")]
    HeaderTooLong { limit: usize },
    #[error("an event header is not a JSON object with a \"type\": {0}")]
    BadHeader(String),
    #[error("an event's {part} is {length} bytes, over the {limit}-byte limit")]
    TooLarge {
        part: &'static str,
        length: u64,
        limit: usize,
    },
    #[error("an event's extra data is not a JSON object: {0}")]
    BadData(String),
    #[error("the connection closed in the middle of an event")]
    Truncated,
}

/// A header line's parts: the event's type, its inline data, and the lengths of the
/// data and payload that follow (checked against the limits).
struct Header {
    kind: String,
    data: Map<String, Value>,
    data_length: usize,
    payload_length: usize,
}

fn parse_header(line: &[u8], limits: &Limits) -> Result<Header, WyomingError> {
    if line.last() != Some(&b'\n') {
        return Err(if line.len() > limits.header {
            WyomingError::HeaderTooLong {
                limit: limits.header,
            }
        } else {
            WyomingError::Truncated
        });
    }
    let header: Map<String, Value> =
        serde_json::from_slice(line).map_err(|e| WyomingError::BadHeader(e.to_string()))?;
    let kind = header
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| WyomingError::BadHeader("no \"type\"".into()))?
        .to_owned();
    let data = match header.get("data") {
        Some(Value::Object(map)) => map.clone(),
        None | Some(Value::Null) => Map::new(),
        Some(other) => return Err(WyomingError::BadHeader(format!("\"data\" is {other}"))),
    };
    let length = |key: &str, part: &'static str, limit: usize| -> Result<usize, WyomingError> {
        let length = match header.get(key) {
            None | Some(Value::Null) => 0,
            Some(v) => v
                .as_u64()
                .ok_or_else(|| WyomingError::BadHeader(format!("\"{key}\" is {v}")))?,
        };
        if length > limit as u64 {
            return Err(WyomingError::TooLarge {
                part,
                length,
                limit,
            });
        }
        Ok(length as usize)
    };
    Ok(Header {
        kind,
        data_length: length("data_length", "data", limits.data)?,
        payload_length: length("payload_length", "payload", limits.payload)?,
        data,
    })
}

fn into_event(header: Header, extra: &[u8], payload: Vec<u8>) -> Result<Event, WyomingError> {
    let Header { kind, mut data, .. } = header;
    if !extra.is_empty() {
        match serde_json::from_slice(extra) {
            Ok(Value::Object(map)) => data.extend(map),
            Ok(other) => return Err(WyomingError::BadData(other.to_string())),
            Err(e) => return Err(WyomingError::BadData(e.to_string())),
        }
    }
    Ok(Event {
        kind,
        data,
        payload: (!payload.is_empty()).then_some(payload),
    })
}

/// The connection ended inside an event's data or payload: truncated, not an I/O error.
fn cut_short(e: std::io::Error) -> WyomingError {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        WyomingError::Truncated
    } else {
        e.into()
    }
}

/// Reads one event; `Ok(None)` when the peer closed the connection between events.
pub async fn read_event<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    limits: &Limits,
) -> Result<Option<Event>, WyomingError> {
    let mut line = Vec::new();
    let read = (&mut *reader)
        .take(limits.header as u64 + 1)
        .read_until(b'\n', &mut line)
        .await?;
    if read == 0 {
        return Ok(None);
    }
    let header = parse_header(&line, limits)?;
    let (mut extra, mut payload) = (vec![0; header.data_length], vec![0; header.payload_length]);
    reader.read_exact(&mut extra).await.map_err(cut_short)?;
    reader.read_exact(&mut payload).await.map_err(cut_short)?;
    into_event(header, &extra, payload).map(Some)
}

/// As `read_event`, on a blocking reader (a client on a stage's own thread).
pub fn read_event_blocking<R: std::io::BufRead>(
    reader: &mut R,
    limits: &Limits,
) -> Result<Option<Event>, WyomingError> {
    use std::io::Read;
    let mut line = Vec::new();
    let read = std::io::BufRead::read_until(
        &mut reader.by_ref().take(limits.header as u64 + 1),
        b'\n',
        &mut line,
    )?;
    if read == 0 {
        return Ok(None);
    }
    let header = parse_header(&line, limits)?;
    let (mut extra, mut payload) = (vec![0; header.data_length], vec![0; header.payload_length]);
    reader.read_exact(&mut extra).map_err(cut_short)?;
    reader.read_exact(&mut payload).map_err(cut_short)?;
    into_event(header, &extra, payload).map(Some)
}

/// The bytes of one event as the reference library writes them: the header line with
/// the version, then the data (when not empty) and the payload.
pub fn encode(event: &Event) -> Vec<u8> {
    let mut header = Map::new();
    header.insert("type".into(), Value::from(event.kind.as_str()));
    header.insert("version".into(), Value::from(VERSION));
    let data = (!event.data.is_empty())
        .then(|| serde_json::to_vec(&event.data).expect("a JSON map serializes"));
    if let Some(data) = &data {
        header.insert("data_length".into(), Value::from(data.len()));
    }
    if let Some(payload) = event.payload.as_ref().filter(|p| !p.is_empty()) {
        header.insert("payload_length".into(), Value::from(payload.len()));
    }
    let mut out = serde_json::to_vec(&header).expect("a JSON map serializes");
    out.push(b'\n');
    out.extend(data.unwrap_or_default());
    if let Some(payload) = &event.payload {
        out.extend_from_slice(payload);
    }
    out
}

pub async fn write_event<W: AsyncWrite + Unpin>(
    writer: &mut W,
    event: &Event,
) -> std::io::Result<()> {
    writer.write_all(&encode(event)).await?;
    writer.flush().await
}

/// Asks the Wyoming peer at `host_port` to describe itself (`describe` → `info`), on a
/// blocking connection within `timeout`: what `luna doctor` checks a configured peer
/// with.
pub fn describe_blocking(host_port: &str, timeout: std::time::Duration) -> Result<Event, String> {
    use std::io::Write;
    let mut stream = connect_blocking(host_port, timeout).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|_| stream.set_write_timeout(Some(timeout)))
        .and_then(|_| stream.write_all(&encode(&Event::new("describe", Value::Null))))
        .map_err(|e| e.to_string())?;
    let mut reader = std::io::BufReader::new(stream);
    loop {
        match read_event_blocking(&mut reader, &Limits::default()) {
            Ok(Some(event)) if event.kind == "info" => return Ok(event),
            Ok(Some(_)) => continue,
            Ok(None) => return Err("closed the connection without describing itself".into()),
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// Every event in `bytes` (a whole conversation's worth, already received).
pub fn decode(bytes: &[u8], limits: &Limits) -> Result<Vec<Event>, WyomingError> {
    futures::executor::block_on(async {
        let mut reader = tokio::io::BufReader::new(bytes);
        let mut events = Vec::new();
        while let Some(e) = read_event(&mut reader, limits).await? {
            events.push(e);
        }
        Ok(events)
    })
}

/// The `host:port` of a Wyoming address `tcp://host:port`, if it is one.
pub fn host_port(uri: &str) -> Option<&str> {
    uri.strip_prefix("tcp://").filter(|rest| {
        rest.rsplit_once(':')
            .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok())
    })
}

/// Mono `samples` at `rate` as the events that carry audio: `audio-start`, 100 ms
/// `audio-chunk`s of 16-bit PCM, `audio-stop`.
pub fn audio_events(samples: &[f32], rate: u32) -> Vec<Event> {
    let format = serde_json::json!({ "rate": rate, "width": 2, "channels": 1 });
    let mut events = vec![Event::new("audio-start", format.clone())];
    for chunk in samples.chunks((rate / 10).max(1) as usize) {
        let pcm = crate::audio::to_pcm16(chunk);
        events.push(Event::new("audio-chunk", format.clone()).with_payload(pcm));
    }
    events.push(Event::new("audio-stop", Value::Null));
    events
}

/// A blocking connection to `host_port` within `timeout` (a peer asked from a stage's
/// own thread or a command-line check).
pub fn connect_blocking(
    host_port: &str,
    timeout: std::time::Duration,
) -> std::io::Result<std::net::TcpStream> {
    use std::net::ToSocketAddrs;
    let addr = host_port.to_socket_addrs()?.next().ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::NotFound, "no address for the host")
    })?;
    std::net::TcpStream::connect_timeout(&addr, timeout)
}

/// Addresses every Wyoming peer setting must refuse (tested here and where each is used).
#[cfg(test)]
pub(crate) const BAD_ADDRESSES: [&str; 6] = [
    "",
    "localhost:10300",
    "tcp://",
    "tcp://host",
    "tcp://:10300",
    "tcp://h:port",
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_round_trip_with_data_and_payload() {
        let events = [
            Event::new("describe", json!({})),
            Event::new(
                "transcript",
                json!({"text": "what time is it", "language": "en"}),
            ),
            Event::new(
                "audio-chunk",
                json!({"rate": 16000, "width": 2, "channels": 1}),
            )
            .with_payload(vec![1, 2, 3, 4]),
        ];
        let bytes: Vec<u8> = events.iter().flat_map(encode).collect();
        let read = decode(&bytes, &Limits::default()).unwrap();
        assert_eq!(read, events);
        // The header line names the version and the lengths, as the reference does.
        let first_chunk = String::from_utf8_lossy(&encode(&events[2])).into_owned();
        let header: Value = serde_json::from_str(first_chunk.lines().next().unwrap()).unwrap();
        assert_eq!(header["version"], VERSION);
        assert_eq!(header["payload_length"], 4);
        assert!(header["data_length"].as_u64().unwrap() > 10);
    }

    #[test]
    fn data_in_the_header_and_after_it_are_merged() {
        let extra = br#"{"text": "hello"}"#;
        let bytes = format!(
            "{{\"type\": \"transcript\", \"data\": {{\"language\": \"en\"}}, \"data_length\": {}}}\n",
            extra.len()
        );
        let bytes = [bytes.as_bytes(), extra].concat();
        let read = decode(&bytes, &Limits::default()).unwrap();
        assert_eq!(read[0].str("text"), Some("hello"));
        assert_eq!(read[0].str("language"), Some("en"));
    }

    #[test]
    fn malformed_or_oversized_events_are_clear_errors() {
        let limits = Limits {
            header: 100,
            data: 50,
            payload: 1000,
        };
        let cases: [(&[u8], &str); 7] = [
            (b"not json\n", "not a JSON object"),
            (b"{\"data\": {}}\n", "no \"type\""),
            (
                b"{\"type\": \"x\", \"payload_length\": -1}\n",
                "payload_length",
            ),
            (
                b"{\"type\": \"x\", \"payload_length\": 1000000000}\n",
                "payload is 1000000000 bytes",
            ),
            (
                b"{\"type\": \"x\", \"data_length\": 51}\n",
                "data is 51 bytes",
            ),
            (
                b"{\"type\": \"x\", \"payload_length\": 10}\n12345",
                "middle of an event",
            ),
            (&[b'{'; 200], "over 100 bytes"),
        ];
        for (bytes, expected) in cases {
            let err = decode(bytes, &limits).unwrap_err().to_string();
            assert!(err.contains(expected), "{bytes:?}: {err}");
        }
        let err = decode(b"{\"type\": \"x\", \"data_length\": 2}\n[]", &limits)
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a JSON object"), "{err}");
    }

    #[test]
    fn any_bytes_give_events_or_an_error_never_a_panic() {
        let valid =
            encode(&Event::new("audio-chunk", json!({"rate": 16000})).with_payload(vec![7; 33]));
        let limits = Limits::default();
        // Every truncation and every single-byte change of a valid event.
        for cut in 0..valid.len() {
            let _ = decode(&valid[..cut], &limits);
        }
        for i in 0..valid.len() {
            for b in [0u8, b'\n', b'"', b'}', b'9', 0xff] {
                let mut bytes = valid.clone();
                bytes[i] = b;
                let _ = decode(&bytes, &limits);
            }
        }
    }

    #[test]
    fn the_blocking_reader_reads_what_the_async_one_does() {
        let bytes: Vec<u8> = [
            Event::new("transcript", json!({"text": "hi"})),
            Event::new("audio-chunk", json!({"rate": 16000})).with_payload(vec![9; 10]),
        ]
        .iter()
        .flat_map(encode)
        .collect();
        let mut reader = std::io::BufReader::new(&bytes[..]);
        let mut events = Vec::new();
        while let Some(e) = read_event_blocking(&mut reader, &Limits::default()).unwrap() {
            events.push(e);
        }
        assert_eq!(events, decode(&bytes, &Limits::default()).unwrap());
        let mut cut = std::io::BufReader::new(&bytes[..bytes.len() - 3]);
        read_event_blocking(&mut cut, &Limits::default()).unwrap();
        let err = read_event_blocking(&mut cut, &Limits::default()).unwrap_err();
        assert!(matches!(err, WyomingError::Truncated), "{err}");
    }

    #[test]
    fn audio_is_framed_as_start_chunks_stop() {
        let events = audio_events(&vec![0.5; 2205 * 3 + 7], 22050);
        let kinds: Vec<_> = events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "audio-start",
                "audio-chunk",
                "audio-chunk",
                "audio-chunk",
                "audio-chunk",
                "audio-stop"
            ]
        );
        assert_eq!(events[1].payload.as_ref().unwrap().len(), 2205 * 2);
        assert_eq!(events[4].payload.as_ref().unwrap().len(), 7 * 2);
        assert_eq!(events[0].u64("rate"), Some(22050));
        assert_eq!(events[0].u64("width"), Some(2));
    }

    #[test]
    fn wyoming_addresses_are_checked() {
        assert_eq!(
            host_port("tcp://kitchen.local:10700"),
            Some("kitchen.local:10700")
        );
        for bad in BAD_ADDRESSES {
            assert_eq!(host_port(bad), None, "{bad}");
        }
    }
}
