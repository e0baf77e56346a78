//! Spoken replies out through cpal, on any output device's rate, format and channels.
//!
//! The output stream stays open (silence between replies). A reply is resampled to the
//! device's rate and fed into a short lock-free ring that the device callback empties
//! onto every channel; the player sees how far the device got, so it knows when the
//! first sample sounded and when the last did. An interruption (barge-in, "stop")
//! flushes the ring at the next callback. The callback never blocks or allocates.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cpal::traits::{DeviceTrait, HostTrait};
use cpal::{FromSample, Sample, SizedSample};

use super::capture::{device_name, quiet_stderr, with_sample_type};
use super::kept::KeptStream;

#[derive(Debug, thiserror::Error)]
pub enum PlaybackError {
    #[error("no audio output device: replies cannot be heard (`[tts] output`, or `luna say --wav FILE`)")]
    NoDevice,
    #[error("no output device named {name:?}; available: {available}")]
    UnknownDevice { name: String, available: String },
    #[error("output device {device}: {reason}")]
    Device { device: String, reason: String },
    #[error("output device {device} stopped taking audio")]
    Stalled { device: String },
}

/// How one playback ended.
#[derive(Clone, Copy, Debug)]
pub struct Played {
    /// When the device took the first sample.
    pub first_audio: Option<Instant>,
    /// Stopped by `stop` before the end.
    pub interrupted: bool,
}

/// What the callback and the playing thread share (atomics only).
#[derive(Debug, Default)]
struct Shared {
    /// Samples (frames) the device has taken from the ring, ever.
    consumed: AtomicU64,
    /// Set by the player to drop what is queued; cleared by the callback once done.
    flush: AtomicBool,
    callbacks: AtomicU64,
}

/// The ring holds this much audio ahead of the device: how late an interruption can
/// be heard at most (the callback flushes it at once).
const AHEAD_S: f64 = 0.2;
/// A device that takes nothing for this long (and has not started) is given up.
const STALL: Duration = Duration::from_secs(3);

/// An open output stream, playing silence between replies so that a reply starts
/// within one device buffer (opening a PulseAudio stream through ALSA takes up to
/// seconds). The callback pops from a lock-free ring (rtrb) the player thread fills.
pub struct Output {
    stream: KeptStream,
    producer: rtrb::Producer<f32>,
    shared: Arc<Shared>,
    pub device: String,
    pub device_rate: u32,
    /// Samples pushed into the ring, ever.
    pushed: u64,
}

impl Output {
    /// Opens `device` ("default" or a name from `luna audio devices`).
    pub fn open(device: &str) -> Result<Self, PlaybackError> {
        let dev = find_output_device(device)?;
        let name = device_name(&dev);
        let device_error = |reason: String| PlaybackError::Device {
            device: name.clone(),
            reason,
        };
        let config = quiet_stderr(|| dev.default_output_config())
            .map_err(|e| device_error(e.to_string()))?;
        let (rate, channels, format) = (
            config.sample_rate(),
            config.channels().max(1) as usize,
            config.sample_format(),
        );
        let (producer, consumer) = rtrb::RingBuffer::new((f64::from(rate) * AHEAD_S) as usize);
        let shared = Arc::new(Shared::default());
        let stream_config: cpal::StreamConfig = config.into();
        let s = Arc::clone(&shared);
        let stream = KeptStream::start("output", name.clone(), move |on_error| {
            with_sample_type!(
                format,
                "written",
                build(&dev, &stream_config, channels, consumer, s, on_error)
            )
        })
        .map_err(device_error)?;
        tracing::info!(device = %name, rate, channels, format = ?format, "audio output open");
        Ok(Self {
            stream,
            producer,
            shared,
            device: name,
            device_rate: rate,
            pushed: 0,
        })
    }

    /// Waits up to `timeout` for the driver's first callback.
    pub fn wait_started(&self, timeout: Duration) -> bool {
        let until = Instant::now() + timeout;
        while self.shared.callbacks.load(Ordering::Relaxed) == 0 {
            if Instant::now() > until {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        true
    }

    /// Plays `mono` (at `rate` Hz), blocking until the device has taken all of it or
    /// `stop()` turns true (checked every few milliseconds; what is queued is dropped).
    pub fn play(
        &mut self,
        mono: &[f32],
        rate: u32,
        stop: &dyn Fn() -> bool,
    ) -> Result<Played, PlaybackError> {
        if let Some(reason) = self.failed() {
            return Err(PlaybackError::Device {
                device: self.device.clone(),
                reason,
            });
        }
        let samples = super::resample::resample(mono, rate, self.device_rate).map_err(|e| {
            PlaybackError::Device {
                device: self.device.clone(),
                reason: e.to_string(),
            }
        })?;
        let start = self.pushed;
        let end = start + samples.len() as u64;
        let mut next = 0;
        let mut first_audio = None;
        let (mut last_consumed, mut last_progress) = (self.consumed(), Instant::now());
        loop {
            if stop() {
                self.shared.flush.store(true, Ordering::Release);
                let until = Instant::now() + STALL;
                while self.shared.flush.load(Ordering::Acquire) && Instant::now() < until {
                    std::thread::sleep(Duration::from_millis(1));
                }
                // Whatever the callback dropped (or would have), the ring starts over.
                self.pushed = self.consumed().max(self.pushed);
                return Ok(Played {
                    first_audio,
                    interrupted: true,
                });
            }
            let room = self.producer.slots().min(samples.len() - next);
            if room > 0 {
                if let Ok(mut chunk) = self.producer.write_chunk_uninit(room) {
                    let (a, b) = chunk.as_mut_slices();
                    let split = a.len();
                    for (slot, s) in a.iter_mut().zip(&samples[next..next + split]) {
                        slot.write(*s);
                    }
                    for (slot, s) in b.iter_mut().zip(&samples[next + split..next + room]) {
                        slot.write(*s);
                    }
                    // SAFETY: every slot of the chunk was written just above.
                    unsafe { chunk.commit_all() };
                    next += room;
                    self.pushed += room as u64;
                }
            }
            let consumed = self.consumed();
            if first_audio.is_none() && consumed > start {
                first_audio = Some(Instant::now());
            }
            if consumed >= end {
                return Ok(Played {
                    first_audio,
                    interrupted: false,
                });
            }
            if consumed != last_consumed {
                (last_consumed, last_progress) = (consumed, Instant::now());
            } else if last_progress.elapsed() > STALL {
                return Err(PlaybackError::Stalled {
                    device: self.device.clone(),
                });
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Why the device failed under this stream (it is closed then; open a new one).
    pub fn failed(&self) -> Option<String> {
        self.stream.failed()
    }

    fn consumed(&self) -> u64 {
        self.shared.consumed.load(Ordering::Acquire)
    }
}

/// The output device named `device` ("default" for the system's default).
pub fn find_output_device(device: &str) -> Result<cpal::Device, PlaybackError> {
    quiet_stderr(|| {
        let host = cpal::default_host();
        if device == "default" {
            return host.default_output_device().ok_or(PlaybackError::NoDevice);
        }
        let mut names = Vec::new();
        let devices = host.output_devices().map_err(|e| PlaybackError::Device {
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
        Err(PlaybackError::UnknownDevice {
            name: device.into(),
            available: if names.is_empty() {
                "none".into()
            } else {
                names.join(", ")
            },
        })
    })
}

fn build<T>(
    device: &cpal::Device,
    config: &cpal::StreamConfig,
    channels: usize,
    mut consumer: rtrb::Consumer<f32>,
    shared: Arc<Shared>,
    on_error: impl FnMut(cpal::Error) + Send + 'static,
) -> Result<cpal::Stream, cpal::Error>
where
    T: SizedSample + FromSample<f32> + Send + 'static,
{
    device.build_output_stream::<T, _, _>(
        *config,
        move |out: &mut [T], _info: &cpal::OutputCallbackInfo| {
            fill(out, channels, &mut consumer, &shared);
        },
        on_error,
        None,
    )
}

/// The callback's work on one buffer: a flush drops what is queued; then each frame
/// takes the next queued sample on every channel, or silence.
fn fill<T: Sample + FromSample<f32>>(
    out: &mut [T],
    channels: usize,
    ring: &mut rtrb::Consumer<f32>,
    shared: &Shared,
) {
    shared.callbacks.fetch_add(1, Ordering::Relaxed);
    let mut taken = 0u64;
    if shared.flush.load(Ordering::Acquire) {
        let queued = ring.slots();
        if let Ok(chunk) = ring.read_chunk(queued) {
            chunk.commit_all();
        }
        taken += queued as u64;
        shared.consumed.fetch_add(taken, Ordering::AcqRel);
        shared.flush.store(false, Ordering::Release);
        out.fill(T::EQUILIBRIUM);
        return;
    }
    for frame in out.chunks_mut(channels) {
        match ring.pop() {
            Ok(s) => {
                frame.fill(T::from_sample(s));
                taken += 1;
            }
            Err(_) => frame.fill(T::EQUILIBRIUM),
        }
    }
    shared.consumed.fetch_add(taken, Ordering::AcqRel);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_every_channel_then_silence_and_counts_what_it_took() {
        let (mut producer, mut ring) = rtrb::RingBuffer::new(16);
        for s in [0.1f32, 0.2, 0.3] {
            producer.push(s).unwrap();
        }
        let shared = Shared::default();
        let mut out = [0.5f32; 8];
        fill(&mut out, 2, &mut ring, &shared);
        assert_eq!(out, [0.1, 0.1, 0.2, 0.2, 0.3, 0.3, 0.0, 0.0]);
        assert_eq!(shared.consumed.load(Ordering::Relaxed), 3);
        assert_eq!(shared.callbacks.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn a_flush_drops_what_is_queued_and_plays_silence() {
        let (mut producer, mut ring) = rtrb::RingBuffer::new(64);
        for _ in 0..40 {
            producer.push(0.25f32).unwrap();
        }
        let shared = Shared::default();
        let mut out = [0i16; 10];
        fill(&mut out, 1, &mut ring, &shared);
        assert!(out.iter().all(|s| *s > 0));
        shared.flush.store(true, Ordering::Relaxed);
        fill(&mut out, 1, &mut ring, &shared);
        assert!(out.iter().all(|s| *s == 0), "{out:?}");
        assert!(!shared.flush.load(Ordering::Relaxed), "flush acknowledged");
        assert_eq!(shared.consumed.load(Ordering::Relaxed), 40);
        assert_eq!(ring.slots(), 0);
    }

    #[test]
    fn unsigned_formats_are_silent_at_their_midpoint() {
        let (_producer, mut ring) = rtrb::RingBuffer::<f32>::new(4);
        let mut out = [0u16; 4];
        fill(&mut out, 2, &mut ring, &Shared::default());
        assert_eq!(out, [32768; 4]);
    }
}
