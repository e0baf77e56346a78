//! Spoken replies with espeak-ng (offline). The reply text is one argument to the
//! program, never a command line.

use std::path::Path;
use std::process::{Command, Stdio};

#[derive(Debug, thiserror::Error)]
pub enum TtsError {
    #[error("espeak-ng is not installed: replies cannot be spoken (apt-get install espeak-ng)")]
    Missing,
    #[error("speech synthesis failed: {0}")]
    Failed(String),
    #[error("no audio player (paplay or aplay) to speak with")]
    NoPlayer,
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

/// Speaks `text` through the default output (blocking until done).
pub fn speak(text: &str, voice: &Voice) -> Result<(), TtsError> {
    let wav = synthesize(text, voice)?;
    let player = ["paplay", "aplay"]
        .into_iter()
        .find(|p| crate::doctor::which(p).is_some())
        .ok_or(TtsError::NoPlayer)?;
    let file = std::env::temp_dir().join(format!("luna-reply-{}.wav", std::process::id()));
    std::fs::write(&file, wav).map_err(|e| TtsError::Failed(e.to_string()))?;
    let status = Command::new(player)
        .arg(&file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| TtsError::Failed(e.to_string()));
    let _ = std::fs::remove_file(&file);
    match status? {
        s if s.success() => Ok(()),
        s => Err(TtsError::Failed(format!("{player} exited with {s}"))),
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
}
