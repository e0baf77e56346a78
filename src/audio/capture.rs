//! Microphone capture with cpal.
//!
//! The device callback runs on the audio driver's thread and must never block or
//! allocate: it downmixes each frame to mono and pushes it into a pre-allocated
//! lock-free SPSC ring (rtrb). The reader (the AudioActor's thread) drains the ring,
//! resamples to 16 kHz and hands the audio on. Overflow: when the reader falls
//! behind, it drops the oldest audio down to half the ring (counted as
//! `dropped_oldest`); if the ring is completely full, the callback drops what it cannot
//! push (counted as `dropped_in_callback`). Nothing ever waits on the driver thread.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cpal::traits::{DeviceTrait, HostTrait};
use cpal::SizedSample;
use dasp_sample::{FromSample, Sample};
use serde::Serialize;

use super::kept::KeptStream;
use super::resample::StreamResampler;
use super::PIPELINE_RATE;

#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("no microphone: this machine has no audio input device (use `luna run --input FILE.wav`, `--input -` for raw audio on stdin, or the API)")]
    NoDevice,
    #[error("no input device named {name:?}; available: {available}")]
    UnknownDevice { name: String, available: String },
    #[error("input device {device}: {reason}")]
    Device { device: String, reason: String },
    #[error("input device {device} offers {format}, which LUNA does not read")]
    Format { device: String, format: String },
}

/// A capture device as `luna audio devices` lists it.
#[derive(Clone, Debug, Serialize)]
pub struct DeviceInfo {
    /// What `[audio] input` takes (ALSA's PCM name, e.g. "pulse", "hw:CARD=PCH,DEV=0").
    pub name: String,
    /// The driver's description of it.
    pub description: String,
    pub is_default: bool,
    pub sample_rate: u32,
    pub channels: u16,
    pub sample_format: String,
}

/// Counters shared with the callback (atomics only).
#[derive(Debug, Default)]
pub struct CaptureStats {
    pub callbacks: AtomicU64,
    pub frames: AtomicU64,
    pub dropped_in_callback: AtomicU64,
    pub dropped_oldest: AtomicU64,
}

/// The name a user gives for `device` (the host's id for it).
pub(super) fn device_name(device: &cpal::Device) -> String {
    device
        .id()
        .map(|id| id.id().to_owned())
        .unwrap_or_else(|_| device.to_string())
}

/// `$build::<T>(args…)` with `T` the Rust sample type of the device's `$format`, or an
/// error saying LUNA does not take it (`$verb`: "read" or "written"). Capture and
/// playback build their streams through it.
macro_rules! with_sample_type {
    ($format:expr, $verb:literal, $build:ident($($arg:expr),* $(,)?)) => {
        match $format {
            cpal::SampleFormat::F32 => $build::<f32>($($arg),*),
            cpal::SampleFormat::I16 => $build::<i16>($($arg),*),
            cpal::SampleFormat::U16 => $build::<u16>($($arg),*),
            cpal::SampleFormat::I32 => $build::<i32>($($arg),*),
            cpal::SampleFormat::U8 => $build::<u8>($($arg),*),
            other => Err(cpal::Error::with_message(
                cpal::ErrorKind::UnsupportedConfig,
                format!("sample format {other:?} is not {} by LUNA", $verb),
            )),
        }
    };
}
pub(super) use with_sample_type;

/// Runs `f` with the process's stderr pointed at /dev/null: ALSA and its plugins
/// (JACK, OSS, PulseAudio) print a page of warnings to stderr while devices are
/// probed, whatever is asked of them.
pub(super) fn quiet_stderr<T>(f: impl FnOnce() -> T) -> T {
    // SAFETY: plain POSIX fd calls on fds we own; stderr is restored before returning.
    unsafe {
        let saved = libc::dup(2);
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_WRONLY);
        if saved < 0 || null < 0 {
            return f();
        }
        libc::dup2(null, 2);
        libc::close(null);
        let out = f();
        libc::dup2(saved, 2);
        libc::close(saved);
        out
    }
}

pub fn list_devices() -> Result<Vec<DeviceInfo>, CaptureError> {
    quiet_stderr(list_devices_noisy)
}

fn list_devices_noisy() -> Result<Vec<DeviceInfo>, CaptureError> {
    let host = cpal::default_host();
    let default_name = host.default_input_device().map(|d| device_name(&d));
    let devices = host.input_devices().map_err(|e| CaptureError::Device {
        device: "(all)".into(),
        reason: e.to_string(),
    })?;
    let mut out = Vec::new();
    for device in devices {
        let name = device_name(&device);
        let Ok(config) = device.default_input_config() else {
            continue;
        };
        out.push(DeviceInfo {
            is_default: default_name.as_deref() == Some(name.as_str()),
            description: device.to_string(),
            name,
            sample_rate: config.sample_rate(),
            channels: config.channels(),
            sample_format: format!("{:?}", config.sample_format()),
        });
    }
    Ok(out)
}

/// The input device named `device` ("default" for the system's default).
pub fn find_device(device: &str) -> Result<cpal::Device, CaptureError> {
    quiet_stderr(|| find_device_noisy(device))
}

fn find_device_noisy(device: &str) -> Result<cpal::Device, CaptureError> {
    let host = cpal::default_host();
    if device == "default" {
        return host.default_input_device().ok_or(CaptureError::NoDevice);
    }
    let mut names = Vec::new();
    let devices = host.input_devices().map_err(|e| CaptureError::Device {
        device: device.into(),
        reason: e.to_string(),
    })?;
    for d in devices {
        let name = device_name(&d);
        if name == device {
            return Ok(d);
        }
        names.push(name);
    }
    Err(CaptureError::UnknownDevice {
        name: device.into(),
        available: if names.is_empty() {
            "none".into()
        } else {
            names.join(", ")
        },
    })
}

/// An open input stream and the reading end of its ring.
pub struct Capture {
    stream: Option<KeptStream>,
    consumer: rtrb::Consumer<f32>,
    resampler: StreamResampler,
    pub device: String,
    pub device_rate: u32,
    pub channels: u16,
    pub stats: Arc<CaptureStats>,
    scratch: Vec<f32>,
    /// What was asked for ("default" or a name), to reopen it after the device fails.
    requested: String,
    ring_seconds: f32,
    /// When to try reopening a failed device next.
    reopen_after: Option<Instant>,
    /// The driver's callback count when last seen moving, and when.
    progress: (u64, Instant),
}

/// A microphone whose driver stops calling back for this long is reopened (it can
/// hang without an error when its sound server goes away); the first callback may
/// take seconds, so a stream not yet started gets twice as long.
const SILENT_FOR: Duration = Duration::from_secs(5);

/// How often a failed microphone is tried again.
const REOPEN_EVERY: Duration = Duration::from_secs(2);

impl Capture {
    /// Opens `device` ("default" or a name from `luna audio devices`) with a ring
    /// holding `ring_seconds` of audio.
    pub fn open(device: &str, ring_seconds: f32) -> Result<Self, CaptureError> {
        Self::open_counting(device, ring_seconds, Arc::default())
    }

    /// `open`, counting into `stats` (kept across a reopen).
    fn open_counting(
        device: &str,
        ring_seconds: f32,
        stats: Arc<CaptureStats>,
    ) -> Result<Self, CaptureError> {
        let dev = find_device(device)?;
        let name = device_name(&dev);
        if name == "null" {
            return Err(CaptureError::Device {
                device: name,
                reason: "this is ALSA's null device: it captures only silence".into(),
            });
        }
        let config =
            quiet_stderr(|| dev.default_input_config()).map_err(|e| CaptureError::Device {
                device: name.clone(),
                reason: e.to_string(),
            })?;
        let (rate, channels, format) = (
            config.sample_rate(),
            config.channels(),
            config.sample_format(),
        );
        let capacity = (rate as f32 * ring_seconds.max(0.5)) as usize;
        let (producer, consumer) = rtrb::RingBuffer::new(capacity);
        let stream_config: cpal::StreamConfig = config.into();
        let s = Arc::clone(&stats);
        let stream = KeptStream::start("input", name.clone(), move |on_error| {
            with_sample_type!(
                format,
                "read",
                build(&dev, &stream_config, channels, producer, s, on_error)
            )
        })
        .map_err(|reason| CaptureError::Device {
            device: name.clone(),
            reason,
        })?;
        tracing::info!(device = %name, rate, channels, format = ?format, "capturing");
        Ok(Self {
            stream: Some(stream),
            requested: device.to_owned(),
            ring_seconds,
            reopen_after: None,
            progress: (stats.callbacks.load(Ordering::Relaxed), Instant::now()),
            consumer,
            resampler: StreamResampler::new(rate, PIPELINE_RATE).map_err(|e| {
                CaptureError::Device {
                    device: name.clone(),
                    reason: e.to_string(),
                }
            })?,
            device: name,
            device_rate: rate,
            channels,
            stats,
            scratch: Vec::new(),
        })
    }

    /// Waits up to `timeout` for the driver's first callback (it can take seconds).
    pub fn wait_started(&self, timeout: Duration) -> bool {
        let until = Instant::now() + timeout;
        while Instant::now() < until {
            if self.stats.callbacks.load(Ordering::Relaxed) > 0 {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    /// After the device failed under the stream (the sound server restarted, the
    /// microphone was pulled): the stream is closed by its keeper, and the same device
    /// is tried again every two seconds until it opens.
    fn recover(&mut self) {
        let callbacks = self.stats.callbacks.load(Ordering::Relaxed);
        let (seen, since) = self.progress;
        if callbacks != seen {
            self.progress = (callbacks, Instant::now());
        }
        let allowed = if callbacks > 0 {
            SILENT_FOR
        } else {
            SILENT_FOR * 2
        };
        let lost = self.stream.as_ref().and_then(|stream| {
            stream.failed().or_else(|| {
                (callbacks == seen && since.elapsed() > allowed).then(|| {
                    format!(
                        "no audio from its driver for {} s",
                        since.elapsed().as_secs()
                    )
                })
            })
        });
        if let Some(reason) = lost {
            tracing::error!(device = %self.device, %reason, "microphone lost; trying to reopen it");
            self.stream = None;
            self.reopen_after = Some(Instant::now());
        }
        if self.stream.is_some() || self.reopen_after.is_some_and(|t| Instant::now() < t) {
            return;
        }
        match Self::open_counting(&self.requested, self.ring_seconds, Arc::clone(&self.stats)) {
            Ok(fresh) => {
                tracing::info!(device = %fresh.device, "microphone back");
                *self = fresh;
            }
            Err(_) => self.reopen_after = Some(Instant::now() + REOPEN_EVERY),
        }
    }

    /// Drains what the device captured, resampled to 16 kHz mono, into `out`.
    pub fn read(&mut self, out: &mut Vec<f32>) {
        self.recover();
        let capacity = self.consumer.buffer().capacity();
        let available = self.consumer.slots();
        if available > capacity * 4 / 5 {
            // Behind: drop the oldest audio down to half the ring.
            let drop = available - capacity / 2;
            if let Ok(chunk) = self.consumer.read_chunk(drop) {
                chunk.commit_all();
            }
            self.stats
                .dropped_oldest
                .fetch_add(drop as u64, Ordering::Relaxed);
            tracing::warn!(
                frames = drop,
                "audio reader fell behind; dropped the oldest audio"
            );
        }
        let n = self.consumer.slots();
        self.scratch.clear();
        if let Ok(chunk) = self.consumer.read_chunk(n) {
            let (a, b) = chunk.as_slices();
            self.scratch.extend_from_slice(a);
            self.scratch.extend_from_slice(b);
            chunk.commit_all();
        }
        self.resampler.push(&self.scratch, out);
    }
}

fn build<T>(
    device: &cpal::Device,
    config: &cpal::StreamConfig,
    channels: u16,
    mut producer: rtrb::Producer<f32>,
    stats: Arc<CaptureStats>,
    on_error: impl FnMut(cpal::Error) + Send + 'static,
) -> Result<cpal::Stream, cpal::Error>
where
    T: SizedSample + Send + 'static,
    f32: FromSample<T>,
{
    let channels = channels.max(1) as usize;
    device.build_input_stream::<T, _, _>(
        *config,
        move |data: &[T], _info: &cpal::InputCallbackInfo| {
            // Real-time path: no locks, no allocation.
            stats.callbacks.fetch_add(1, Ordering::Relaxed);
            let frames = data.len() / channels;
            stats.frames.fetch_add(frames as u64, Ordering::Relaxed);
            let pushed = downmix_into_ring(data, channels, &mut producer);
            if pushed < frames {
                stats
                    .dropped_in_callback
                    .fetch_add((frames - pushed) as u64, Ordering::Relaxed);
            }
        },
        on_error,
        None,
    )
}

/// The callback's work on one buffer: downmix each frame and push it; stops at a full
/// ring. Returns the frames pushed.
pub fn downmix_into_ring<T>(
    data: &[T],
    channels: usize,
    producer: &mut rtrb::Producer<f32>,
) -> usize
where
    T: Sample,
    f32: FromSample<T>,
{
    let mut pushed = 0;
    for frame in data.chunks_exact(channels) {
        let mono = frame.iter().map(|s| f32::from_sample(*s)).sum::<f32>() / channels as f32;
        if producer.push(mono).is_err() {
            break;
        }
        pushed += 1;
    }
    pushed
}
