//! A minimal keep-alive HTTP/1.1 client for LUNA's own loopback endpoints: the load
//! generator of `luna bench` and `luna stats` reading the daemon's metrics. Answers
//! must carry a Content-Length (actix-web's do).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// A keep-alive HTTP/1.1 connection.
pub struct Connection {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    host: String,
}

impl Connection {
    pub fn open(addr: SocketAddr) -> Result<Self, String> {
        let stream = TcpStream::connect(addr).map_err(|e| format!("connect {addr}: {e}"))?;
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .map_err(|e| e.to_string())?;
        let _ = stream.set_nodelay(true);
        Ok(Self {
            writer: stream.try_clone().map_err(|e| e.to_string())?,
            reader: BufReader::new(stream),
            host: addr.to_string(),
        })
    }

    /// Sends a JSON body; returns the status once the whole answer is read.
    pub fn post(&mut self, path: &str, body: &str) -> Result<u16, String> {
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.host,
            body.len()
        );
        self.exchange(&request).map(|(status, _)| status)
    }

    /// Sends `body` as `content_type` (with a bearer `token` if given); returns the
    /// status and the answer's body.
    pub fn post_body(
        &mut self,
        path: &str,
        content_type: &str,
        token: Option<&str>,
        body: &[u8],
    ) -> Result<(u16, Vec<u8>), String> {
        let auth = token
            .map(|t| format!("Authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\n{auth}Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
            self.host,
            body.len()
        );
        let mut request = head.into_bytes();
        request.extend_from_slice(body);
        self.exchange_bytes(&request)
    }

    /// GETs `path`; returns the status and the body.
    pub fn get(&mut self, path: &str) -> Result<(u16, String), String> {
        let request = format!("GET {path} HTTP/1.1\r\nHost: {}\r\n\r\n", self.host);
        self.exchange(&request)
            .map(|(status, body)| (status, String::from_utf8_lossy(&body).into_owned()))
    }

    fn exchange(&mut self, request: &str) -> Result<(u16, Vec<u8>), String> {
        self.exchange_bytes(request.as_bytes())
    }

    fn exchange_bytes(&mut self, request: &[u8]) -> Result<(u16, Vec<u8>), String> {
        self.writer.write_all(request).map_err(|e| e.to_string())?;
        let mut line = String::new();
        self.reader
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        let status = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("bad status line {line:?}"))?;
        let mut length = 0usize;
        loop {
            line.clear();
            self.reader
                .read_line(&mut line)
                .map_err(|e| e.to_string())?;
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().map_err(|_| "bad content-length")?;
                }
            }
        }
        let mut body = vec![0u8; length];
        self.reader
            .read_exact(&mut body)
            .map_err(|e| e.to_string())?;
        Ok((status, body))
    }
}
