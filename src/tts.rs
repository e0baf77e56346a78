//! Spoken replies: synthesized with espeak-ng (offline), played through cpal
//! (`audio::playback`), interruptible. The reply text is one argument to the program,
//! never a command line.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::audio::playback::Output;

#[derive(Debug, thiserror::Error)]
pub enum TtsError {
    #[error("espeak-ng is not installed: replies cannot be spoken (apt-get install espeak-ng)")]
    Missing,
    #[error("speech synthesis failed: {0}")]
    Failed(String),
    #[error(transparent)]
    Output(#[from] crate::audio::playback::PlaybackError),
}

#[derive(Clone, Debug)]
pub struct Voice {
    pub voice: String,
    pub words_per_minute: u32,
}

impl Default for Voice {
    fn default() -> Self {
        Self {
            voice: "en-us".into(),
            words_per_minute: 175,
        }
    }
}

/// Synthesizes `text` into WAV bytes (22.05 kHz mono 16-bit).
pub fn synthesize(text: &str, voice: &Voice) -> Result<Vec<u8>, TtsError> {
    let out = Command::new("espeak-ng")
        .args([
            "--stdout",
            "-v",
            &voice.voice,
            "-s",
            &voice.words_per_minute.to_string(),
            "--",
        ])
        .arg(text)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => TtsError::Missing,
            _ => TtsError::Failed(e.to_string()),
        })?;
    if !out.status.success() || out.stdout.len() < 44 || &out.stdout[..4] != b"RIFF" {
        return Err(TtsError::Failed(
            String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        ));
    }
    // espeak-ng streams to stdout, so its header claims the largest possible length;
    // write the real sizes (RIFF size at 4, data size at 40 of its 44-byte header).
    let mut wav = out.stdout;
    let len = wav.len() as u32;
    wav[4..8].copy_from_slice(&(len - 8).to_le_bytes());
    if &wav[36..40] == b"data" {
        wav[40..44].copy_from_slice(&(len - 44).to_le_bytes());
    }
    Ok(wav)
}

/// Writes the spoken `text` to a WAV file.
pub fn write_wav(text: &str, voice: &Voice, path: &Path) -> Result<(), TtsError> {
    let wav = synthesize(text, voice)?;
    std::fs::write(path, wav).map_err(|e| TtsError::Failed(format!("{}: {e}", path.display())))
}

/// Decodes synthesized WAV bytes into mono samples and their rate.
fn decode(wav: &[u8]) -> Result<(Vec<f32>, u32), TtsError> {
    let audio = hound::WavReader::new(std::io::Cursor::new(wav))
        .map_err(|e| TtsError::Failed(format!("synthesized audio: {e}")))?;
    let spec = audio.spec();
    let scale = 1.0 / f32::from(i16::MAX);
    let interleaved: Vec<f32> = audio
        .into_samples::<i16>()
        .map(|s| s.map(|x| f32::from(x) * scale))
        .collect::<Result<_, _>>()
        .map_err(|e| TtsError::Failed(format!("synthesized audio: {e}")))?;
    Ok((
        crate::audio::resample::downmix(&interleaved, usize::from(spec.channels.max(1))),
        spec.sample_rate,
    ))
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
        let (samples, rate) = decode(&synthesize(text, &self.voice)?)?;
        let control = Arc::clone(&self.control);
        let stop = move || control.epoch() != epoch;
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
    fn synthesizes_speech_with_odd_text_safely() {
        // Text that a shell would act on is just words to espeak-ng.
        let wav = synthesize("Timer set; rm -rf ~ $(reboot) -v", &Voice::default()).unwrap();
        let audio = crate::audio::wav::read_from(std::io::Cursor::new(wav), "reply").unwrap();
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

    #[test]
    fn decodes_what_espeak_writes() {
        let wav = synthesize("Hello there", &Voice::default()).unwrap();
        let (samples, rate) = decode(&wav).unwrap();
        assert_eq!(rate, 22_050);
        assert!(samples.len() as f32 / rate as f32 > 0.5);
        assert!(samples.iter().any(|s| s.abs() > 0.1));
    }
}
