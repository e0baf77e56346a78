//! A cpal stream kept on a thread of its own until its owner lets go of it or its
//! device fails for good.
//!
//! Why: when a device dies under an open stream (the sound server restarts, a USB
//! microphone is pulled), cpal's ALSA worker keeps polling it and reports the same
//! error in a tight loop — a whole core burned until the stream is dropped. The owner
//! (the audio pump, the speech thread) may be idle or blocked, so the keeper thread
//! drops the stream as soon as the error callback says the device is gone, and the
//! owner sees `failed()` and reopens when it next needs the device.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cpal::traits::StreamTrait;
use cpal::ErrorKind;

use super::capture::quiet_stderr;

/// What the keeper waits for.
enum Event {
    /// The device failed for good: drop the stream.
    Failed,
    /// The owner let go.
    Close,
}

#[derive(Debug, Default)]
struct Health {
    failed: AtomicBool,
    reason: Mutex<Option<String>>,
}

/// Tells a dead device from a passing error. ALSA's PulseAudio plugin can err in a
/// burst on a stream that then works (seen at stream start), while a dead device errs
/// on every poll, forever. So: errors in a burst are slowed down (the callback sleeps,
/// which is what stops the spin), and the device is taken for gone when it says so, or
/// when errors have kept coming for `SUSTAINED` with no pause of `PAUSE`.
#[derive(Debug, Default)]
struct Burst {
    /// When the current run of errors began, and the last error of it.
    run: Option<(Instant, Instant)>,
}

const PAUSE: Duration = Duration::from_millis(500);
const SUSTAINED: Duration = Duration::from_secs(3);
/// The callback's sleep per error inside a run: at most ~100 errors a second.
const SLOW_DOWN: Duration = Duration::from_millis(10);

impl Burst {
    /// Notes an error at `now`: whether the device is gone, and whether to slow down.
    fn note(&mut self, kind: ErrorKind, now: Instant) -> (bool, bool) {
        if survivable(kind) {
            return (false, false);
        }
        if matches!(
            kind,
            ErrorKind::DeviceNotAvailable | ErrorKind::HostUnavailable
        ) {
            return (true, false);
        }
        let (began, in_run) = match self.run {
            Some((began, last)) if now.duration_since(last) <= PAUSE => (began, true),
            _ => (now, false),
        };
        self.run = Some((began, now));
        (now.duration_since(began) >= SUSTAINED, in_run)
    }
}

/// The owner's handle: the stream lives while this does and the device works.
#[derive(Debug)]
pub struct KeptStream {
    health: Arc<Health>,
    keeper: mpsc::Sender<Event>,
}

/// Errors after which a stream still works: a glitch, a reroute to the new default
/// device, no real-time priority. Any other error may mean the device is gone (see
/// `Burst`).
fn survivable(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::Xrun | ErrorKind::DeviceChanged | ErrorKind::RealtimeDenied
    )
}

impl KeptStream {
    /// Builds a stream with `build` (given the error callback to install) on the
    /// keeper thread and starts it. `direction` ("input"/"output") and `device` name
    /// it in the log.
    pub fn start<B>(direction: &'static str, device: String, build: B) -> Result<Self, String>
    where
        B: FnOnce(Box<dyn FnMut(cpal::Error) + Send>) -> Result<cpal::Stream, cpal::Error>
            + Send
            + 'static,
    {
        let health = Arc::new(Health::default());
        let (keeper, events) = mpsc::channel();
        let (started_tx, started) = mpsc::sync_channel(1);
        let on_error = {
            let health = Arc::clone(&health);
            let keeper = keeper.clone();
            let device = device.clone();
            let mut errors = 0u64;
            let mut burst = Burst::default();
            Box::new(move |e: cpal::Error| {
                // Reported once, then every 1000th time: a dying device errs on every poll.
                if errors % 1000 == 0 {
                    tracing::error!(%device, direction, error = %e, repeated = errors, "audio device error");
                }
                errors += 1;
                let (gone, slow_down) = burst.note(e.kind(), Instant::now());
                if slow_down {
                    // Not the data callback: sleeping here only slows a failing poll loop.
                    std::thread::sleep(SLOW_DOWN);
                }
                if gone && !health.failed.swap(true, Ordering::AcqRel) {
                    *health.reason.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.to_string());
                    let _ = keeper.send(Event::Failed);
                }
            }) as Box<dyn FnMut(cpal::Error) + Send>
        };
        let name = device.clone();
        std::thread::Builder::new()
            .name(format!("luna-{direction}"))
            .spawn(move || {
                let stream = quiet_stderr(|| {
                    let stream = build(on_error)?;
                    stream.play()?;
                    Ok::<_, cpal::Error>(stream)
                });
                let stream = match stream {
                    Ok(stream) => {
                        let _ = started_tx.send(Ok(()));
                        stream
                    }
                    Err(e) => {
                        let _ = started_tx.send(Err(e.to_string()));
                        return;
                    }
                };
                if let Ok(Event::Failed) = events.recv() {
                    tracing::error!(device = %name, direction, "audio device lost: stream closed; it is reopened when next needed");
                }
                drop(stream);
            })
            .map_err(|e| e.to_string())?;
        started
            .recv()
            .unwrap_or_else(|_| Err("the audio stream thread ended before starting".into()))?;
        Ok(Self { health, keeper })
    }

    /// Why the device failed, once it has.
    pub fn failed(&self) -> Option<String> {
        self.health.failed.load(Ordering::Acquire).then(|| {
            self.health
                .reason
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone()
                .unwrap_or_default()
        })
    }
}

impl Drop for KeptStream {
    fn drop(&mut self) {
        let _ = self.keeper.send(Event::Close);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glitches_are_survivable_and_a_lost_device_is_not() {
        assert!(survivable(ErrorKind::Xrun));
        assert!(survivable(ErrorKind::DeviceChanged));
        assert!(!survivable(ErrorKind::DeviceNotAvailable));
        assert!(!survivable(ErrorKind::BackendError));
        assert!(!survivable(ErrorKind::StreamInvalidated));
    }

    #[test]
    fn passing_errors_are_not_fatal_sustained_ones_are_and_so_is_a_vanished_device() {
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let mut burst = Burst::default();
        // One I/O error a second for a minute: a live stream, never slowed.
        for s in 0..60 {
            assert_eq!(
                burst.note(ErrorKind::BackendError, ms(s * 1000)),
                (false, false)
            );
        }
        // A burst of two seconds, then quiet: slowed, not fatal.
        let mut burst = Burst::default();
        for n in 0..200 {
            let (gone, _) = burst.note(ErrorKind::BackendError, ms(n * 10));
            assert!(!gone);
        }
        assert_eq!(burst.note(ErrorKind::BackendError, ms(1990)), (false, true));
        // A second's pause, then errors every 10 ms for three seconds: gone.
        let gone_at = (0..400)
            .find(|n| burst.note(ErrorKind::BackendError, ms(3000 + n * 10)).0)
            .unwrap();
        assert!((290..=310).contains(&gone_at), "{gone_at}");
        assert_eq!(
            Burst::default().note(ErrorKind::DeviceNotAvailable, t0),
            (true, false)
        );
        assert_eq!(Burst::default().note(ErrorKind::Xrun, t0), (false, false));
    }

    #[test]
    fn a_stream_that_cannot_be_built_is_an_error_not_a_thread_left_behind() {
        let err = KeptStream::start("output", "test".into(), |_| {
            Err(cpal::Error::with_message(
                ErrorKind::UnsupportedConfig,
                "no such format",
            ))
        })
        .unwrap_err();
        assert!(err.contains("no such format"), "{err}");
    }
}
