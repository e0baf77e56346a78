//! Where audio comes from: a microphone (cpal), a WAV file, or raw 16 kHz s16le on
//! stdin. Every source yields 16 kHz mono f32 through the same `read` call, so the
//! VAD and everything after it cannot tell them apart.

use std::io::Read;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use dasp_sample::Sample;

use super::capture::{Capture, CaptureError};
use super::wav::{self, WavError};
use super::PIPELINE_RATE;

/// `luna run --input mic|FILE.wav|-`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputSpec {
    /// A capture device ("default" or a name).
    Mic(String),
    File(PathBuf),
    /// Raw 16 kHz mono s16le on standard input.
    Stdin,
}

impl InputSpec {
    pub fn parse(arg: &str, configured_device: &str) -> Self {
        match arg {
            "mic" => Self::Mic(configured_device.to_owned()),
            "-" => Self::Stdin,
            path => Self::File(PathBuf::from(path)),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(transparent)]
    Capture(#[from] CaptureError),
    #[error(transparent)]
    Wav(#[from] WavError),
}

/// Checks that `spec` can be opened (device present, file readable as WAV) without
/// starting it; `luna run` calls this so a bad input is one clear error.
pub fn probe(spec: &InputSpec) -> Result<(), SourceError> {
    match spec {
        InputSpec::Mic(device) => {
            // Open it for real: ALSA lists a "default" even where nothing can capture.
            drop(Capture::open(device, 0.5)?);
        }
        InputSpec::File(path) => {
            hound::WavReader::open(path).map_err(|e| WavError::Format {
                path: path.display().to_string(),
                error: e.to_string(),
            })?;
        }
        InputSpec::Stdin => {}
    }
    Ok(())
}

/// Whether more audio may come.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    Open,
    Ended,
}

pub enum Source {
    Mic(Box<Capture>),
    File(Arc<FileSource>),
    Stdin(Arc<StdinSource>),
}

/// A WAV file being played into the pipeline. Shared with the AudioActor's factory,
/// so a restarted actor carries on where it was rather than playing it again.
pub struct FileSource {
    samples: Vec<f32>,
    position: AtomicUsize,
    /// Real-time pacing: the instant the file "started playing".
    paced_from: Option<Instant>,
}

/// Raw audio from stdin, read on its own thread into a ring. Shared like a file: the
/// one reader thread outlives actor restarts, so nothing read is lost.
pub struct StdinSource {
    ring: Mutex<rtrb::Consumer<f32>>,
    ended: Arc<AtomicBool>,
}

/// Samples handed out per read when a file is not paced (100 ms).
const FILE_CHUNK: usize = PIPELINE_RATE as usize / 10;

/// Opens the source for the AudioActor, and again after a restart: a microphone is
/// reopened (the device may have failed); a file or stdin goes on from where it was,
/// nothing played twice and nothing read lost.
pub struct SourceOpener {
    spec: InputSpec,
    paced: bool,
    opened: Option<Source>,
}

impl SourceOpener {
    pub fn new(spec: InputSpec, paced: bool) -> Self {
        Self {
            spec,
            paced,
            opened: None,
        }
    }

    pub fn open(&mut self) -> Result<Source, SourceError> {
        match &self.opened {
            Some(Source::File(f)) => Ok(Source::File(Arc::clone(f))),
            Some(Source::Stdin(s)) => Ok(Source::Stdin(Arc::clone(s))),
            _ => {
                let source = Source::open(&self.spec, self.paced)?;
                if let Source::File(_) | Source::Stdin(_) = &source {
                    self.opened = Some(source.share());
                }
                Ok(source)
            }
        }
    }
}

impl Source {
    /// Samples dropped so far because the reader fell behind (microphones only).
    pub fn dropped(&self) -> u64 {
        match self {
            Self::Mic(capture) => {
                let s = &capture.stats;
                s.dropped_in_callback
                    .load(std::sync::atomic::Ordering::Relaxed)
                    + s.dropped_oldest.load(std::sync::atomic::Ordering::Relaxed)
            }
            _ => 0,
        }
    }

    /// Opens a source; `paced` plays files at real-time speed (as `luna run` and
    /// `luna replay` do) instead of as fast as they can be read.
    pub fn open(spec: &InputSpec, paced: bool) -> Result<Self, SourceError> {
        Ok(match spec {
            InputSpec::Mic(device) => Self::Mic(Box::new(Capture::open(device, 2.0)?)),
            InputSpec::File(path) => Self::File(Arc::new(FileSource {
                samples: wav::read(path)?.samples,
                position: AtomicUsize::new(0),
                paced_from: paced.then(Instant::now),
            })),
            InputSpec::Stdin => Self::stdin(std::io::stdin()),
        })
    }

    /// Another handle on a file or stdin source (not on a microphone).
    fn share(&self) -> Self {
        match self {
            Self::File(f) => Self::File(Arc::clone(f)),
            Self::Stdin(s) => Self::Stdin(Arc::clone(s)),
            Self::Mic(_) => unreachable!("a microphone is reopened, not shared"),
        }
    }

    /// Raw s16le 16 kHz mono from any reader, read on its own thread.
    pub fn stdin(mut reader: impl Read + Send + 'static) -> Self {
        let (mut producer, consumer) = rtrb::RingBuffer::new(PIPELINE_RATE as usize * 10);
        let ended = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&ended);
        std::thread::spawn(move || {
            let mut buf = [0u8; 3200];
            let mut carry: Option<u8> = None;
            loop {
                let n = match reader.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                let mut bytes: Vec<u8> = carry
                    .take()
                    .into_iter()
                    .chain(buf[..n].iter().copied())
                    .collect();
                if bytes.len() % 2 == 1 {
                    carry = bytes.pop();
                }
                for pair in bytes.chunks_exact(2) {
                    let sample = i16::from_le_bytes([pair[0], pair[1]]).to_sample::<f32>();
                    // The reader is a plain thread: waiting for room is fine here.
                    while producer.push(sample).is_err() {
                        if producer.is_abandoned() {
                            return;
                        }
                        std::thread::sleep(std::time::Duration::from_millis(5));
                    }
                }
            }
            flag.store(true, Ordering::Release);
        });
        Self::Stdin(Arc::new(StdinSource {
            ring: Mutex::new(consumer),
            ended,
        }))
    }

    /// Appends what is available now (16 kHz mono) to `out`.
    pub fn read(&mut self, out: &mut Vec<f32>) -> Flow {
        match self {
            Self::Mic(capture) => {
                capture.read(out);
                Flow::Open
            }
            Self::File(file) => {
                let (samples, position) = (&file.samples, file.position.load(Ordering::Acquire));
                let due = match file.paced_from {
                    Some(t0) => ((t0.elapsed().as_secs_f64() * PIPELINE_RATE as f64) as usize)
                        .min(samples.len()),
                    None => (position + FILE_CHUNK).min(samples.len()),
                };
                if due > position {
                    out.extend_from_slice(&samples[position..due]);
                    file.position.store(due, Ordering::Release);
                }
                if due.max(position) >= samples.len() {
                    Flow::Ended
                } else {
                    Flow::Open
                }
            }
            Self::Stdin(stdin) => {
                // Check the flag before draining, so nothing pushed before it is missed.
                let finished = stdin.ended.load(Ordering::Acquire);
                let mut ring = stdin.ring.lock().unwrap_or_else(|e| e.into_inner());
                let n = ring.slots();
                if let Ok(chunk) = ring.read_chunk(n) {
                    let (a, b) = chunk.as_slices();
                    out.extend_from_slice(a);
                    out.extend_from_slice(b);
                    chunk.commit_all();
                }
                if finished && ring.is_empty() {
                    Flow::Ended
                } else {
                    Flow::Open
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stdin_reads_s16le_including_odd_splits() {
        let samples: Vec<i16> = vec![0, 16384, -16384, 32767, -32768];
        let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
        let mut source = Source::stdin(std::io::Cursor::new(bytes));
        let mut out = Vec::new();
        let start = Instant::now();
        while source.read(&mut out) == Flow::Open {
            assert!(start.elapsed().as_secs() < 5, "never ended");
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        assert_eq!(out, vec![0.0, 0.5, -0.5, 32767.0 / 32768.0, -1.0]);
    }

    #[test]
    fn a_reopened_file_goes_on_where_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.wav");
        let samples: Vec<f32> = (0..4000).map(|i| (i % 100) as f32 / 1000.0).collect();
        wav::write_pipeline_wav(&path, &samples).unwrap();
        let mut opener = SourceOpener::new(InputSpec::File(path), false);
        let mut out = Vec::new();
        let mut first = opener.open().unwrap();
        assert_eq!(first.read(&mut out), Flow::Open);
        assert_eq!(out.len(), FILE_CHUNK);
        drop(first); // the actor restarts
        let mut second = opener.open().unwrap();
        while second.read(&mut out) == Flow::Open {}
        assert_eq!(out.len(), samples.len(), "nothing twice, nothing skipped");
    }

    #[test]
    fn a_reopened_stdin_keeps_its_reader_and_loses_nothing() {
        let bytes: Vec<u8> = (0..8000i16).flat_map(|s| s.to_le_bytes()).collect();
        let first = Source::stdin(std::io::Cursor::new(bytes));
        let mut out = Vec::new();
        let mut again = first.share();
        drop(first); // the actor restarts
        let start = Instant::now();
        while again.read(&mut out) == Flow::Open {
            assert!(start.elapsed().as_secs() < 5, "never ended");
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        assert_eq!(out.len(), 8000);
        assert_eq!(out[7999], 7999.0 / 32768.0);
    }

    #[test]
    fn input_specs() {
        assert_eq!(
            InputSpec::parse("mic", "default"),
            InputSpec::Mic("default".into())
        );
        assert_eq!(InputSpec::parse("-", "default"), InputSpec::Stdin);
        assert_eq!(
            InputSpec::parse("a.wav", "default"),
            InputSpec::File("a.wav".into())
        );
    }
}
