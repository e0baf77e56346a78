//! Recording the takes of a phrase to enroll (`luna wake enroll --record`): from the
//! microphone (or any source), each take cut by the VAD, checked, and asked for again
//! when it will not do. Nothing is written: the takes only become templates.

use std::time::{Duration, Instant};

use super::templates::{phrase_span, NotAPhrase, MIN_PHRASE_S};
use super::WakeError;
use crate::audio::source::{Flow, Source};
use crate::audio::PIPELINE_RATE;
use crate::vad::{Endpointer, VadSettings};

/// What the person saying the phrase is told.
#[derive(Clone, Debug, PartialEq)]
pub enum Prompt {
    /// Say it now: take `take` of `of`.
    Say { take: usize, of: usize },
    /// Take `take` was heard, its phrase this long.
    Heard { take: usize, seconds: f64 },
    /// Take `take` will not do; say it again.
    Again { take: usize, reason: String },
}

/// A take with more than this share of samples at full scale is clipped.
const CLIPPED_SHARE: f64 = 0.001;

/// Records `takes` good takes from `source`, telling `prompt` what to say. Fails when
/// the source ends first or stays silent for `patience`.
pub fn record_takes(
    source: &mut Source,
    vad: VadSettings,
    takes: usize,
    patience: Duration,
    mut prompt: impl FnMut(Prompt),
) -> Result<Vec<Vec<f32>>, WakeError> {
    let mut endpointer = Endpointer::new(VadSettings {
        speculate_ms: 0,
        ..vad
    });
    let mut good: Vec<Vec<f32>> = Vec::new();
    let mut chunk = Vec::new();
    let mut last_heard = Instant::now();
    prompt(Prompt::Say { take: 1, of: takes });
    loop {
        chunk.clear();
        let flow = source.read(&mut chunk);
        let mut cut = endpointer.push(&chunk);
        if flow == Flow::Ended {
            cut.extend(endpointer.finish());
        }
        for utterance in cut {
            if good.len() == takes {
                break;
            }
            last_heard = Instant::now();
            let take = good.len() + 1;
            match check_take(&utterance.samples) {
                Ok(seconds) => {
                    good.push(utterance.samples);
                    prompt(Prompt::Heard { take, seconds });
                    if good.len() < takes {
                        prompt(Prompt::Say {
                            take: take + 1,
                            of: takes,
                        });
                    }
                }
                Err(reason) => prompt(Prompt::Again { take, reason }),
            }
        }
        if good.len() == takes {
            return Ok(good);
        }
        if flow == Flow::Ended {
            return Err(WakeError::Enroll(format!(
                "the recording ended after {} good take{} of the {takes} needed",
                good.len(),
                if good.len() == 1 { "" } else { "s" }
            )));
        }
        if last_heard.elapsed() > patience {
            return Err(WakeError::Enroll(format!(
                "heard no speech for {} s: is the microphone on, and the one LUNA listens to? (`luna audio devices`, `[audio] input`)",
                patience.as_secs()
            )));
        }
        if chunk.is_empty() {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// The phrase's length in a take, or why the take will not do.
pub fn check_take(samples: &[f32]) -> Result<f64, String> {
    let (a, b) = phrase_span(samples).map_err(|problem| match problem {
        NotAPhrase::NoSpeech => "no speech in it".to_owned(),
        NotAPhrase::Lasts(seconds) if seconds < MIN_PHRASE_S => {
            format!("too short ({seconds:.2} s)")
        }
        NotAPhrase::Lasts(seconds) => {
            format!("too long ({seconds:.2} s): say the phrase alone, then pause")
        }
    })?;
    let seconds = (b - a) as f64 / f64::from(PIPELINE_RATE);
    let clipped = samples.iter().filter(|s| s.abs() >= 0.99).count();
    if clipped as f64 > CLIPPED_SHARE * samples.len() as f64 {
        return Err("clipped: too loud, or too close to the microphone".into());
    }
    Ok(seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::vad::buzz as voiced;

    #[test]
    fn takes_are_checked() {
        let pad = |x: Vec<f32>| [vec![0.0; 4000], x, vec![0.0; 4000]].concat();
        assert!(check_take(&pad(voiced(700, 0.15))).is_ok());
        assert!(check_take(&pad(voiced(100, 0.15)))
            .unwrap_err()
            .contains("too short"));
        assert!(check_take(&pad(voiced(3500, 0.15)))
            .unwrap_err()
            .contains("too long"));
        let loud: Vec<f32> = voiced(700, 0.6)
            .into_iter()
            .map(|s| s.clamp(-0.999, 0.999))
            .collect();
        assert!(check_take(&pad(loud)).unwrap_err().contains("clipped"));
        assert!(check_take(&[0.0; 16_000]).is_err());
    }
}
