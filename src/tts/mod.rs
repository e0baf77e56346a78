//! Spoken replies: synthesized offline by libespeak-ng (`espeak`), played through cpal
//! (`audio::playback`), interruptible. The reply text is data handed to the library,
//! never a command line.

mod espeak;

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dasp_sample::Sample;

use crate::audio::playback::Output;

pub use espeak::version;

#[derive(Debug, thiserror::Error)]
pub enum TtsError {
    #[error("replies cannot be spoken: {0}")]
    Missing(String),
    #[error("speech synthesis failed: {0}")]
    Failed(String),
    #[error(transparent)]
    Output(#[from] crate::audio::playback::PlaybackError),
}

#[derive(Clone, Debug)]
pub struct Voice {
    /// An espeak-ng voice name ("en-us", "en-gb-x-rp", "en+f3", ...).
    pub voice: String,
    pub words_per_minute: u32,
}

impl Voice {
    /// The voice `[tts]` names.
    pub fn from_config(tts: &crate::config::TtsConfig) -> Self {
        Self {
            voice: tts.voice.clone(),
            words_per_minute: tts.rate_wpm,
        }
    }
}

impl Default for Voice {
    fn default() -> Self {
        Self {
            voice: "en-us".into(),
            words_per_minute: 175,
        }
    }
}

/// Speaks `text` into mono samples in [-1, 1] and their rate (espeak-ng: 22.05 kHz).
pub fn synthesize(text: &str, voice: &Voice) -> Result<(Vec<f32>, u32), TtsError> {
    synthesize_until(text, voice, &|| false)
}

fn synthesize_until(
    text: &str,
    voice: &Voice,
    stop: &dyn Fn() -> bool,
) -> Result<(Vec<f32>, u32), TtsError> {
    let (samples, rate) = espeak::synthesize(text, voice, stop)?;
    Ok((
        samples.into_iter().map(|s| s.to_sample::<f32>()).collect(),
        rate,
    ))
}

/// Writes the spoken `text` to a WAV file (mono 16-bit at the synthesizer's rate).
pub fn write_wav(text: &str, voice: &Voice, path: &Path) -> Result<(), TtsError> {
    std::fs::write(path, wav_bytes(text, voice)?)
        .map_err(|e| TtsError::Failed(format!("{}: {e}", path.display())))
}

/// The spoken `text` as a WAV file in memory (mono 16-bit at the synthesizer's rate).
pub fn wav_bytes(text: &str, voice: &Voice) -> Result<Vec<u8>, TtsError> {
    let (samples, rate) = espeak::synthesize(text, voice, &|| false)?;
    let failed = |e: hound::Error| TtsError::Failed(format!("the reply's WAV: {e}"));
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut out = std::io::Cursor::new(Vec::new());
    let mut wav = hound::WavWriter::new(&mut out, spec).map_err(failed)?;
    for s in samples {
        wav.write_sample(s).map_err(failed)?;
    }
    wav.finalize().map_err(failed)?;
    Ok(out.into_inner())
}

/// Who may interrupt LUNA's speech, and whether it is speaking. Shared by the speaker
/// (which checks it on every output buffer), the audio pump (a wake phrase heard while
/// LUNA speaks is a barge-in) and the command path ("stop").
#[derive(Debug, Default)]
pub struct SpeechControl {
    speaking: AtomicBool,
    /// Bumped by every interruption: a reply queued or playing under an older epoch
    /// is not (or no longer) spoken.
    epoch: AtomicU64,
}

impl SpeechControl {
    /// The epoch to queue a reply under.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    pub fn is_speaking(&self) -> bool {
        self.speaking.load(Ordering::SeqCst)
    }

    /// Stops what LUNA is saying and drops the replies queued before now. Returns
    /// whether it was speaking.
    pub fn interrupt(&self) -> bool {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.is_speaking()
    }

    fn set_speaking(&self, speaking: bool) {
        self.speaking.store(speaking, Ordering::SeqCst);
    }
}

/// How one reply went.
#[derive(Clone, Copy, Debug, Default)]
pub struct Spoken {
    /// When its first sample reached the output device.
    pub first_audio: Option<Instant>,
    /// Cut off by an interruption (barge-in, "stop").
    pub interrupted: bool,
    /// Interrupted before it began: never spoken.
    pub skipped: bool,
}

/// Speaks replies on an output device, one at a time, interruptibly. The device is
/// opened once and kept open (see `audio::playback::Output`); after a failure it is
/// reopened for the next reply.
pub struct Speaker {
    voice: Voice,
    /// "default" or a device name from `luna audio devices`.
    device: String,
    control: Arc<SpeechControl>,
    output: Option<Output>,
}

impl Speaker {
    pub fn new(voice: Voice, device: String, control: Arc<SpeechControl>) -> Self {
        Self {
            voice,
            device,
            control,
            output: None,
        }
    }

    /// Opens the output device now rather than at the first reply, so that the first
    /// reply sounds at once (a PulseAudio stream can take a second or two to start).
    pub fn open(&mut self) -> Result<&mut Output, TtsError> {
        if let Some(reason) = self.output.as_ref().and_then(Output::failed) {
            tracing::info!(%reason, "reopening the audio output for this reply");
            self.output = None;
        }
        if self.output.is_none() {
            self.output = Some(Output::open(&self.device)?);
        }
        Ok(self.output.as_mut().expect("opened above"))
    }

    /// Speaks `text`, queued under `epoch`; blocks while it plays. While it plays (and
    /// for the room's echo after it) the control says LUNA is speaking.
    pub fn say(&mut self, text: &str, epoch: u64) -> Result<Spoken, TtsError> {
        if self.control.epoch() != epoch {
            return Ok(Spoken {
                skipped: true,
                ..Spoken::default()
            });
        }
        let control = Arc::clone(&self.control);
        let stop = move || control.epoch() != epoch;
        let (samples, rate) = synthesize_until(text, &self.voice, &stop)?;
        self.control.set_speaking(true);
        let played = self
            .open()
            .and_then(|out| Ok(out.play(&samples, rate, &stop)?));
        if matches!(played, Ok(p) if !p.interrupted) {
            // The device's buffer and the room's echo of the last words.
            std::thread::sleep(Duration::from_millis(250));
        }
        self.control.set_speaking(false);
        let played = played.inspect_err(|_| self.output = None)?;
        Ok(Spoken {
            first_audio: played.first_audio,
            interrupted: played.interrupted,
            skipped: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_odd_text_as_speech_to_a_wav() {
        // Text that a shell would act on is just words to the synthesizer.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("reply.wav");
        write_wav(
            "Timer set; rm -rf ~ $(reboot) -v <speak>\0",
            &Voice::default(),
            &path,
        )
        .unwrap();
        let audio = crate::audio::wav::read(&path).unwrap();
        assert!(audio.seconds() > 1.0, "{} s", audio.seconds());
        let peak = audio.samples.iter().fold(0f32, |m, s| m.max(s.abs()));
        assert!(peak > 0.1, "silent reply");
    }

    #[test]
    fn a_reply_queued_before_an_interruption_is_not_spoken() {
        let control = Arc::new(SpeechControl::default());
        let epoch = control.epoch();
        assert!(!control.interrupt(), "nothing was being said");
        // Never opened: the reply is dropped before synthesis.
        let mut speaker = Speaker::new(
            Voice::default(),
            "no such device".into(),
            Arc::clone(&control),
        );
        let spoken = speaker.say("Timer set for five minutes.", epoch).unwrap();
        assert!(spoken.skipped && spoken.first_audio.is_none());
        // Under the current epoch it is spoken, and so fails on the missing device.
        let err = speaker.say("Timer set.", control.epoch()).unwrap_err();
        assert!(err.to_string().contains("no such device"), "{err}");
        assert!(!control.is_speaking());
    }
}
