//! Voice activity detection and endpointing: 16 kHz audio in, utterances out.
//!
//! webrtc-vad classifies 30 ms frames; on top of it an endpointer with:
//! * a warm-up: the detector's first ~150 ms after creation are ignored (it reports
//!   speech while it adapts);
//! * onset: speech starts when `onset_frames` of the last `onset_window` frames are
//!   voiced, and the utterance begins `pre_roll` earlier so the first phoneme is kept;
//! * an adaptive hangover: webrtc-vad keeps reporting voice ~100 ms past the end of
//!   speech, and in noise it flickers off inside words. So the end is found by energy:
//!   speech has ended once frames have stayed near the noise floor for the hangover.
//!   The hangover adapts to the signal-to-noise ratio: in quiet rooms silence is
//!   unmistakable and `min_hangover` suffices; in noise, quiet consonants and short
//!   pauses sink into the noise, so it stretches towards `max_hangover` (at 25 dB SNR
//!   and above: min; at 10 dB and below: max; linear between). If the energy never
//!   settles (a wrong floor), the VAD alone ends the utterance after twice
//!   `max_hangover` of unvoiced frames. The end reported is the last frame above the
//!   floor;
//! * bounds: utterances shorter than `min_speech` are dropped, longer than
//!   `max_utterance` are cut (with a warning) and a new one starts.
//!
//! `webrtc_vad::Vad` is not `Send`: build the endpointer on the thread that uses it.

use std::collections::VecDeque;

use serde::Serialize;

use dasp_sample::Sample;
use webrtc_vad::{SampleRate, Vad, VadMode};

use crate::audio::PIPELINE_RATE;

/// webrtc-vad takes 10, 20 or 30 ms frames; 30 ms is the most reliable.
pub const FRAME: usize = 480;
const FRAME_MS: u32 = 30;

#[derive(Clone, Debug, PartialEq)]
pub struct VadSettings {
    /// webrtc-vad aggressiveness, 0 (least) to 3 (most).
    pub mode: u8,
    pub pre_roll_ms: u32,
    pub min_hangover_ms: u32,
    pub max_hangover_ms: u32,
    pub min_speech_ms: u32,
    pub max_utterance_ms: u32,
    pub warmup_ms: u32,
    pub onset_frames: usize,
    pub onset_window: usize,
    /// How far above the noise floor (dB) a frame must be to count as still speaking.
    pub floor_margin_db: f32,
    /// After this much quiet (ms) the utterance so far is offered for speculative
    /// transcription (`take_tentative`), and the audio kept past the end of speech is this
    /// long, so a tentative utterance is exactly the final one when speech does not
    /// resume. 0: no speculation, and `min_hangover_ms` of audio kept past the end.
    pub speculate_ms: u32,
}

impl Default for VadSettings {
    fn default() -> Self {
        Self {
            mode: 3,
            pre_roll_ms: 300,
            min_hangover_ms: 150,
            max_hangover_ms: 300,
            min_speech_ms: 200,
            max_utterance_ms: 15_000,
            warmup_ms: 150,
            onset_frames: 3,
            onset_window: 5,
            floor_margin_db: 9.0,
            speculate_ms: 60,
        }
    }
}

impl VadSettings {
    /// Audio kept past the end of speech: `speculate_ms`, so that a tentative utterance is
    /// the final one, or `min_hangover_ms` without speculation.
    fn tail_ms(&self) -> u32 {
        match self.speculate_ms {
            0 => self.min_hangover_ms,
            ms => ms.min(self.min_hangover_ms),
        }
    }

    pub fn from_config(c: &crate::config::VadConfig) -> Self {
        Self {
            mode: c.mode as u8,
            pre_roll_ms: c.pre_roll_ms,
            min_hangover_ms: c.min_hangover_ms,
            max_hangover_ms: c.max_hangover_ms,
            min_speech_ms: c.min_speech_ms,
            max_utterance_ms: c.max_utterance_ms,
            speculate_ms: c.speculate_ms,
            ..Self::default()
        }
    }
}

/// One stretch of speech.
#[derive(Clone, Debug, Serialize)]
pub struct Utterance {
    /// 16 kHz mono, from `pre_roll` before the onset to a little past the end.
    #[serde(skip)]
    pub samples: Vec<f32>,
    /// Stream positions in samples: where speech starts and ends.
    pub start_sample: u64,
    pub end_sample: u64,
    /// Where the stream was when the utterance was cut (end + hangover).
    pub cut_sample: u64,
    /// Cut at `max_utterance` rather than at a pause.
    pub truncated: bool,
}

impl Utterance {
    pub fn start_s(&self) -> f64 {
        self.start_sample as f64 / PIPELINE_RATE as f64
    }

    pub fn end_s(&self) -> f64 {
        self.end_sample as f64 / PIPELINE_RATE as f64
    }
}

#[derive(Debug)]
enum State {
    Silence,
    Speech {
        /// Stream position of `buffer[0]`.
        buffer_start: u64,
        buffer: Vec<f32>,
        onset: u64,
        last_speech_end: u64,
        unvoiced_frames: u32,
        quiet_frames: u32,
        /// A tentative utterance was offered during this stretch of quiet.
        offered: bool,
    },
}

/// SNR (dB) at and above which the shortest hangover is used, and at and below which
/// the longest is.
const CLEAN_SNR_DB: f32 = 25.0;
const NOISY_SNR_DB: f32 = 10.0;

/// Frames this far below the recent speech level are not speech (decay, reverb).
const SPEECH_RANGE_DB: f32 = 30.0;

pub struct Endpointer {
    vad: Vad,
    settings: VadSettings,
    /// Samples not yet a whole frame.
    partial: Vec<f32>,
    /// Recent frames (for pre-roll), oldest first, with their stream positions.
    recent: VecDeque<(u64, [f32; FRAME])>,
    /// Voiced flags of the last `onset_window` frames.
    onset_history: VecDeque<bool>,
    position: u64,
    warmup_frames: u32,
    /// Noise floor estimate (frame RMS, linear).
    noise_floor: f32,
    /// Level of recent speech (RMS of loud voiced frames, linear).
    speech_level: f32,
    state: State,
    frame_i16: [i16; FRAME],
    /// The utterance so far, offered after `speculate_ms` of quiet.
    tentative: Option<Utterance>,
    /// Speech went on after a tentative utterance was offered.
    resumed: bool,
}

impl Endpointer {
    pub fn new(settings: VadSettings) -> Self {
        let mode = match settings.mode {
            0 => VadMode::Quality,
            1 => VadMode::LowBitrate,
            2 => VadMode::Aggressive,
            _ => VadMode::VeryAggressive,
        };
        Self {
            vad: Vad::new_with_rate_and_mode(SampleRate::Rate16kHz, mode),
            warmup_frames: settings.warmup_ms.div_ceil(FRAME_MS),
            settings,
            partial: Vec::with_capacity(FRAME),
            recent: VecDeque::new(),
            onset_history: VecDeque::new(),
            position: 0,
            noise_floor: 1e-3,
            speech_level: 0.05,
            state: State::Silence,
            frame_i16: [0; FRAME],
            tentative: None,
            resumed: false,
        }
    }

    /// The utterance so far, when speech has paused for `speculate_ms` and might have
    /// ended: transcribing it now saves the rest of the hangover. If speech does not
    /// resume, the utterance cut later has the same start, end and samples.
    pub fn take_tentative(&mut self) -> Option<Utterance> {
        self.tentative.take()
    }

    /// Whether speech went on after the last tentative utterance (since last asked):
    /// its transcription is of no use.
    pub fn take_resumed(&mut self) -> bool {
        std::mem::take(&mut self.resumed)
    }

    /// Places a new endpointer (one that has consumed nothing) at stream position
    /// `origin`, so that a rebuilt one keeps the stream's clock.
    pub fn set_origin(&mut self, origin: u64) {
        if self.position == 0 && self.partial.is_empty() {
            self.position = origin;
        }
    }

    /// Where the utterance still open began (its speech onset, a stream position), if
    /// one is open.
    pub fn open_onset(&self) -> Option<u64> {
        match &self.state {
            State::Speech { onset, .. } => Some(*onset),
            State::Silence => None,
        }
    }

    /// Samples consumed so far (the stream position).
    pub fn position(&self) -> u64 {
        self.position
    }

    /// Feeds audio; returns the utterances it completed.
    pub fn push(&mut self, samples: &[f32]) -> Vec<Utterance> {
        let mut done = Vec::new();
        let mut rest = samples;
        while !rest.is_empty() {
            let take = (FRAME - self.partial.len()).min(rest.len());
            self.partial.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.partial.len() == FRAME {
                let mut frame = [0f32; FRAME];
                frame.copy_from_slice(&self.partial);
                self.partial.clear();
                if let Some(u) = self.frame(frame) {
                    done.push(u);
                }
            }
        }
        done
    }

    /// Ends the stream: an utterance still open is cut where it is.
    pub fn finish(&mut self) -> Option<Utterance> {
        self.tentative = None;
        match std::mem::replace(&mut self.state, State::Silence) {
            State::Speech {
                buffer_start,
                buffer,
                onset,
                last_speech_end,
                ..
            } => utterance(
                &self.settings,
                self.position,
                buffer_start,
                &buffer,
                onset,
                last_speech_end.max(onset),
                false,
            ),
            State::Silence => None,
        }
    }

    fn ms_frames(&self, ms: u32) -> u32 {
        ms.div_ceil(FRAME_MS)
    }

    fn frame(&mut self, frame: [f32; FRAME]) -> Option<Utterance> {
        let start = self.position;
        self.position += FRAME as u64;
        for (d, s) in self.frame_i16.iter_mut().zip(frame.iter()) {
            *d = s.clamp(-1.0, 1.0).to_sample::<i16>();
        }
        let voiced = self.vad.is_voice_segment(&self.frame_i16).unwrap_or(false);
        let rms = (frame.iter().map(|s| s * s).sum::<f32>() / FRAME as f32).sqrt();
        // Above the noise floor, and not a fading tail far below the speech level.
        let loud = rms > self.noise_floor * 10f32.powf(self.settings.floor_margin_db / 20.0)
            && rms > self.speech_level * 10f32.powf(-SPEECH_RANGE_DB / 20.0);

        // Keep pre-roll frames.
        let keep = self.ms_frames(self.settings.pre_roll_ms) as usize + self.settings.onset_window;
        self.recent.push_back((start, frame));
        while self.recent.len() > keep {
            self.recent.pop_front();
        }
        if self.warmup_frames > 0 {
            self.warmup_frames -= 1;
            self.track_floor(rms, false);
            return None;
        }

        match &mut self.state {
            State::Silence => {
                self.track_floor(rms, voiced);
                self.onset_history.push_back(voiced);
                while self.onset_history.len() > self.settings.onset_window {
                    self.onset_history.pop_front();
                }
                let voiced_count = self.onset_history.iter().filter(|v| **v).count();
                if voiced_count >= self.settings.onset_frames {
                    // Onset: the first voiced frame of the window.
                    let window = self.onset_history.len() as u64;
                    let first_voiced =
                        self.onset_history.iter().position(|v| *v).unwrap_or(0) as u64;
                    let onset = self.position - (window - first_voiced) * FRAME as u64;
                    let pre_roll = self.settings.pre_roll_ms as u64 * PIPELINE_RATE as u64 / 1000;
                    let from = onset.saturating_sub(pre_roll);
                    let mut buffer = Vec::new();
                    let mut buffer_start = None;
                    for (pos, f) in &self.recent {
                        if pos + FRAME as u64 > from {
                            buffer_start.get_or_insert(*pos);
                            buffer.extend_from_slice(f);
                        }
                    }
                    self.onset_history.clear();
                    self.state = State::Speech {
                        buffer_start: buffer_start.unwrap_or(start),
                        buffer,
                        onset,
                        last_speech_end: self.position,
                        unvoiced_frames: 0,
                        quiet_frames: 0,
                        offered: false,
                    };
                }
                None
            }
            State::Speech {
                buffer_start,
                buffer,
                onset,
                last_speech_end,
                unvoiced_frames,
                quiet_frames,
                offered,
            } => {
                buffer.extend_from_slice(&frame);
                if loud {
                    *last_speech_end = self.position;
                    *quiet_frames = 0;
                    if std::mem::take(offered) {
                        self.resumed = true;
                        self.tentative = None;
                    }
                    if voiced {
                        self.speech_level = 0.9 * self.speech_level + 0.1 * rms;
                    }
                } else {
                    *quiet_frames += 1;
                }
                if voiced {
                    *unvoiced_frames = 0;
                } else {
                    *unvoiced_frames += 1;
                }
                let snr_db = 20.0 * (self.speech_level / self.noise_floor.max(1e-6)).log10();
                let noisiness =
                    ((CLEAN_SNR_DB - snr_db) / (CLEAN_SNR_DB - NOISY_SNR_DB)).clamp(0.0, 1.0);
                let (min_ms, max_ms) = (
                    self.settings.min_hangover_ms as f32,
                    self.settings.max_hangover_ms as f32,
                );
                let hangover = ((min_ms + noisiness * (max_ms - min_ms)) as u32).div_ceil(FRAME_MS);
                let vad_limit = (2 * self.settings.max_hangover_ms).div_ceil(FRAME_MS);
                let ended = *quiet_frames >= hangover || *unvoiced_frames >= vad_limit;
                let too_long = self.position - *onset
                    >= self.settings.max_utterance_ms as u64 * PIPELINE_RATE as u64 / 1000;
                if ended || too_long {
                    let (bs, buf, on, end) = (
                        *buffer_start,
                        std::mem::take(buffer),
                        *onset,
                        *last_speech_end,
                    );
                    self.state = State::Silence;
                    // An utterance offered while it was open is of no use once it is cut.
                    self.tentative = None;
                    let (end, truncated) = if too_long && !ended {
                        tracing::warn!(
                            seconds = self.settings.max_utterance_ms as f64 / 1000.0,
                            "utterance reached the maximum length and was cut"
                        );
                        (self.position, true)
                    } else {
                        (end, false)
                    };
                    return utterance(&self.settings, self.position, bs, &buf, on, end, truncated);
                }
                let speculate = self.settings.speculate_ms;
                if speculate > 0 && !*offered && *quiet_frames >= speculate.div_ceil(FRAME_MS) {
                    *offered = true;
                    self.tentative = utterance(
                        &self.settings,
                        self.position,
                        *buffer_start,
                        buffer,
                        *onset,
                        *last_speech_end,
                        false,
                    );
                }
                None
            }
        }
    }

    /// Slow-rising, fast-falling minimum of frame energy outside speech.
    fn track_floor(&mut self, rms: f32, voiced: bool) {
        let rms = rms.max(1e-5);
        if rms < self.noise_floor {
            self.noise_floor = 0.7 * self.noise_floor + 0.3 * rms;
        } else if !voiced {
            self.noise_floor *= 1.02f32.min(rms / self.noise_floor);
        }
    }
}

/// The utterance in `buffer` (whose first sample is at stream position `buffer_start`)
/// with speech from `onset` to `end` and the tail kept past it, the stream being at
/// `position`; none when the speech is shorter than `min_speech_ms`.
fn utterance(
    settings: &VadSettings,
    position: u64,
    buffer_start: u64,
    buffer: &[f32],
    onset: u64,
    end: u64,
    truncated: bool,
) -> Option<Utterance> {
    let speech_ms = (end.saturating_sub(onset)) * 1000 / PIPELINE_RATE as u64;
    if speech_ms < settings.min_speech_ms as u64 {
        return None;
    }
    // Keep a little audio past the end: Whisper does better with a short tail.
    let tail = (settings.tail_ms() as u64 * PIPELINE_RATE as u64 / 1000).min(buffer.len() as u64);
    let cut_at = (end + tail)
        .saturating_sub(buffer_start)
        .min(buffer.len() as u64) as usize;
    Some(Utterance {
        samples: buffer[..cut_at].to_vec(),
        start_sample: onset,
        end_sample: end,
        cut_sample: position,
        truncated,
    })
}

/// Runs a whole recording through the endpointer (for `luna audio segments`).
pub fn segments(samples: &[f32], settings: &VadSettings) -> Vec<Utterance> {
    let mut e = Endpointer::new(settings.clone());
    let mut out = Vec::new();
    for chunk in samples.chunks(1600) {
        out.extend(e.push(chunk));
    }
    out.extend(e.finish());
    out
}

/// A buzzy vowel-like sound (harmonics of 150 Hz) at `level`, which webrtc-vad takes for
/// voice: for tests of what listens.
#[cfg(test)]
pub(crate) fn buzz(ms: usize, level: f32) -> Vec<f32> {
    (0..ms * 16)
        .map(|i| {
            let t = i as f32 / 16_000.0;
            (1..12)
                .map(|h| (2.0 * std::f32::consts::PI * 150.0 * h as f32 * t).sin() / h as f32)
                .sum::<f32>()
                * level
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rebuilt_endpointer_takes_up_the_stream_clock() {
        let mut e = Endpointer::new(VadSettings::default());
        e.set_origin(48_000);
        // Whole 30 ms frames count: seven of them.
        e.push(&[0.0; 3_400]);
        assert_eq!(e.position(), 48_000 + 7 * 480);
        // Only a new one: later origins are ignored.
        e.set_origin(0);
        assert_eq!(e.position(), 48_000 + 7 * 480);
    }

    fn voiced(ms: u32) -> Vec<f32> {
        buzz(ms as usize, 0.15)
    }

    #[test]
    fn a_pause_offers_the_utterance_so_far_and_the_final_cut_is_that_same_audio() {
        #[derive(Default)]
        struct Seen {
            tentatives: Vec<Utterance>,
            resumed: usize,
            cuts: Vec<Utterance>,
        }
        fn feed(e: &mut Endpointer, audio: &[f32], seen: &mut Seen) {
            for chunk in audio.chunks(320) {
                seen.cuts.extend(e.push(chunk));
                seen.tentatives.extend(e.take_tentative());
                seen.resumed += usize::from(e.take_resumed());
            }
        }
        let mut e = Endpointer::new(VadSettings::default());
        let mut seen = Seen::default();
        feed(&mut e, &vec![0.0; 16_000], &mut seen);
        feed(&mut e, &voiced(600), &mut seen);
        // A pause shorter than the hangover, longer than speculate_ms: offered, not cut.
        feed(&mut e, &vec![0.0; 16 * 120], &mut seen);
        assert_eq!(seen.tentatives.len(), 1);
        assert!(seen.cuts.is_empty());
        feed(&mut e, &voiced(500), &mut seen);
        assert_eq!(seen.resumed, 1, "speech went on after the offer");
        feed(&mut e, &vec![0.0; 16_000], &mut seen);
        let Seen {
            tentatives, cuts, ..
        } = seen;
        assert_eq!(cuts.len(), 1, "{cuts:?}");
        assert_eq!(tentatives.len(), 2);
        let (last, cut) = (&tentatives[1], &cuts[0]);
        assert_eq!(
            (last.start_sample, last.end_sample),
            (cut.start_sample, cut.end_sample)
        );
        assert!(
            last.samples == cut.samples,
            "the same audio, so the same transcript"
        );
        assert!(
            tentatives[0].end_sample < cut.end_sample,
            "the first offer was of speech that went on"
        );
        // The cut keeps speculate_ms of audio past the end of speech.
        let kept_after_end = cut.samples.len() as u64 - (cut.end_sample - cut.start_sample);
        assert!(kept_after_end >= 90 * 16, "{kept_after_end}");
    }

    #[test]
    fn without_speculation_nothing_is_offered() {
        let mut e = Endpointer::new(VadSettings {
            speculate_ms: 0,
            ..VadSettings::default()
        });
        let mut audio = vec![0.0; 16_000];
        audio.extend(voiced(600));
        audio.extend(vec![0.0; 16_000]);
        assert_eq!(e.push(&audio).len(), 1);
        assert!(e.take_tentative().is_none());
    }

    #[test]
    fn silence_gives_nothing() {
        assert!(segments(&vec![0.0; 16_000 * 3], &VadSettings::default()).is_empty());
    }

    #[test]
    fn a_burst_becomes_one_utterance_with_pre_roll() {
        let mut audio = vec![0.0; 16_000];
        audio.extend(voiced(800));
        audio.extend(vec![0.0; 16_000]);
        let found = segments(&audio, &VadSettings::default());
        assert_eq!(found.len(), 1, "{found:?}");
        let u = &found[0];
        assert!((u.start_s() - 1.0).abs() < 0.1, "start {}", u.start_s());
        assert!((u.end_s() - 1.8).abs() < 0.12, "end {}", u.end_s());
        assert!(
            u.samples.len() as f64 / 16_000.0 > 0.8 + 0.25,
            "pre-roll kept"
        );
        let hang = (u.cut_sample - u.end_sample) as f64 / 16.0;
        assert!(hang <= 320.0, "hangover {hang} ms");
    }

    #[test]
    fn long_speech_is_cut_at_the_maximum() {
        let settings = VadSettings {
            max_utterance_ms: 2_000,
            ..VadSettings::default()
        };
        let mut audio = vec![0.0; 8_000];
        audio.extend(voiced(5_000));
        let found = segments(&audio, &settings);
        assert!(found.len() >= 2, "{found:?}");
        assert!(found[0].truncated);
    }
}
