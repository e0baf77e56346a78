//! Which utterances are commands: the ones addressed to LUNA by a wake phrase.
//!
//! The VAD cuts utterances and the wake detector reports phrases, both on the same
//! stream clock (samples since the stream began). An utterance is a command when
//! - a wake phrase ends inside it with at least `MIN_COMMAND` of speech after it
//!   ("hey luna open firefox" in one breath): the whole utterance, wake phrase
//!   included, goes on, and the wake phrase is stripped from the transcript (the
//!   brain knows "hey luna" and Whisper's mis-hearings of it; `strip_phrase` removes
//!   an enrolled phrase). Cutting the audio at the detection instead cost the
//!   command's first word or left a remnant of "luna" that Whisper turned into a
//!   word, because a detection lands anywhere from just before to a few hops after
//!   the phrase ends; or
//! - it starts within `follow_up` of a wake phrase said on its own ("hey luna" …
//!   "what time is it"): the whole utterance is the command.
//!
//! Anything else was not said to LUNA and is dropped: but only once the detector has
//! heard `LATE` past the utterance's end, since the head's score can peak on the
//! silence after "luna", after the VAD has already cut the utterance. Only that
//! verdict waits: a command is passed on as soon as its detection is known.

use std::collections::VecDeque;

use super::features::HOP;
use super::Detection;
use crate::audio::PIPELINE_RATE;

/// Shortest speech after a wake phrase that counts as a command in the same breath.
const MIN_COMMAND: u64 = PIPELINE_RATE as u64 * 3 / 10;

/// How long after the VAD's end of speech a detection may still land and belong to the
/// utterance: four hops (measured: "hey luna" said alone detected 200 ms after the VAD's
/// end, 50 ms after the VAD had cut it).
pub const LATE: u64 = 4 * HOP as u64;

#[derive(Clone, Debug, PartialEq)]
pub enum Admission {
    /// A command: hand on the utterance from this stream sample.
    Command {
        from_sample: u64,
        wake: Option<Detection>,
    },
    /// The wake phrase alone: the next utterance is awaited.
    WakeOnly(Detection),
    /// Not addressed to LUNA.
    Ignore,
}

pub struct WakeGate {
    follow_up: u64,
    pending: VecDeque<Detection>,
    /// A wake phrase said alone arms the gate until this sample.
    armed_until: Option<(u64, Detection)>,
    /// Detections ending here or earlier fall in utterances already decided.
    decided_until: u64,
}

impl WakeGate {
    pub fn new(follow_up_ms: u32) -> Self {
        Self {
            follow_up: u64::from(follow_up_ms) * u64::from(PIPELINE_RATE) / 1000,
            pending: VecDeque::new(),
            armed_until: None,
            decided_until: 0,
        }
    }

    /// A wake phrase said alone that LUNA did not hear itself (a satellite's own wake
    /// word): the next utterance starting within the follow-up is a command.
    pub fn arm(&mut self, d: Detection) {
        self.armed_until = Some((d.end_sample + self.follow_up, d));
    }

    pub fn detected(&mut self, d: Detection) {
        if d.end_sample <= self.decided_until {
            return;
        }
        self.pending.push_back(d);
        // Bounded: detections older than any utterance still to come are of no use.
        while self.pending.len() > 16 {
            self.pending.pop_front();
        }
    }

    /// Whether the utterance spanning `start..end` would be a command now (a wake phrase
    /// inside it with a command after it, or the gate armed by a phrase said alone),
    /// deciding nothing: for a transcription started before the utterance is cut.
    /// A candidate (`Detection::is_candidate`) answers no: its transcript is made with
    /// the wake phrase as the prompt, after the cut.
    pub fn would_admit(&self, start: u64, end: u64) -> bool {
        match self.inside(start, end + LATE) {
            Some(d) if !d.is_candidate() => end.saturating_sub(d.end_sample) >= MIN_COMMAND,
            _ => self.armed_for(start).is_some_and(|d| !d.is_candidate()),
        }
    }

    /// The near phrase (a candidate) that would send the utterance `start..end`, not cut
    /// yet, to its transcript check, when it lies inside the utterance itself: its
    /// transcription can start now, with the check's prompt.
    pub fn candidate_inside(&self, start: u64, end: u64) -> Option<&Detection> {
        if self.armed_for(start).is_some() {
            // The phrase said alone before it decides; its check hears that phrase too.
            return None;
        }
        self.inside(start, end + LATE)
            .filter(|d| d.is_candidate() && end.saturating_sub(d.end_sample) >= MIN_COMMAND)
    }

    /// The detection that belongs to the utterance `start..` (ending by `until`): the
    /// last one heard over the threshold, else the best candidate.
    fn inside(&self, start: u64, until: u64) -> Option<&Detection> {
        let inside = |d: &&Detection| d.end_sample > start && d.end_sample <= until;
        let found = self.pending.iter().filter(inside);
        found
            .clone()
            .rev()
            .find(|d| !d.is_candidate())
            .or_else(|| found.max_by(|a, b| a.score.total_cmp(&b.score)))
    }

    /// The phrase said alone that arms the gate for an utterance starting at `start`.
    fn armed_for(&self, start: u64) -> Option<&Detection> {
        self.armed_until
            .as_ref()
            .filter(|(armed, _)| start <= *armed)
            .map(|(_, d)| d)
    }

    /// Decides for the utterance spanning stream samples `start..end`, the detector
    /// having heard the stream up to `heard_until` (`u64::MAX` once it has ended); `None`
    /// while there is no wake phrase yet and the detector has not heard `LATE` past the
    /// end: ask again when it has heard more.
    pub fn admit(&mut self, start: u64, end: u64, heard_until: u64) -> Option<Admission> {
        // A detection lands on a hop boundary, from just before the phrase's end to a
        // few hops after it.
        let until = end + LATE;
        // What addresses the utterance, surest first: a phrase heard in it over the
        // threshold, one heard so said alone just before it; of a candidate in it and
        // one said alone just before it, the stronger (a candidate's score decays into
        // the command after it).
        let inside = self.inside(start, until).cloned();
        let armed = self.armed_for(start);
        let inside_wins = |d: &Detection| match armed {
            _ if !d.is_candidate() => true,
            None => true,
            Some(a) => a.is_candidate() && d.score > a.score,
        };
        if let Some(d) = inside.filter(inside_wins) {
            self.decided(until);
            if end.saturating_sub(d.end_sample) >= MIN_COMMAND {
                self.armed_until = None;
                return Some(Admission::Command {
                    from_sample: start,
                    wake: Some(d),
                });
            }
            self.armed_until = Some((d.end_sample + self.follow_up, d.clone()));
            return Some(Admission::WakeOnly(d));
        }
        if let Some((armed, d)) = self.armed_until.take() {
            if start <= armed {
                self.decided(until);
                return Some(Admission::Command {
                    from_sample: start,
                    wake: Some(d),
                });
            }
        }
        if heard_until < until {
            return None;
        }
        self.decided(until);
        Some(Admission::Ignore)
    }

    fn decided(&mut self, until: u64) {
        self.pending.retain(|d| d.end_sample > until);
        self.decided_until = self.decided_until.max(until);
    }
}

/// The transcript without a leading `phrase` (words compared without case or
/// punctuation); unchanged when it does not start with it.
pub fn strip_phrase<'a>(transcript: &'a str, phrase: &str) -> &'a str {
    let mut heard = super::confirm::words(transcript);
    let mut end = 0;
    for (wanted, _) in super::confirm::words(phrase) {
        match heard.next() {
            Some((word, after)) if word == wanted => end = after,
            _ => return transcript,
        }
    }
    &transcript[end..]
}

/// While LUNA speaks on an echo-cancelled input, a wake phrase whose audio is quieter
/// than this (dBFS over its last `BARGE_IN_WINDOW` samples) is what the canceller left
/// of LUNA's own voice, not a person: the detector's features hardly depend on level,
/// and residue at -80 dBFS was seen to fire it. Speech at a microphone is -40 to
/// -15 dBFS.
pub const MIN_BARGE_IN_DBFS: f32 = -60.0;
pub const BARGE_IN_WINDOW: u64 = PIPELINE_RATE as u64 * 8 / 10;

/// The last seconds of the stream, on the stream clock, to tell how loud a detected
/// phrase was.
pub struct RecentAudio {
    samples: VecDeque<f32>,
    /// Stream sample just after the last one held.
    end: u64,
    capacity: usize,
}

impl RecentAudio {
    pub fn new(seconds: f32) -> Self {
        let capacity = (seconds * PIPELINE_RATE as f32) as usize;
        Self {
            samples: VecDeque::with_capacity(capacity),
            end: 0,
            capacity,
        }
    }

    pub fn push(&mut self, samples: &[f32]) {
        self.end += samples.len() as u64;
        self.samples.extend(samples);
        let over = self.samples.len().saturating_sub(self.capacity);
        self.samples.drain(..over);
    }

    /// RMS level in dBFS of stream samples `from..to`, of those still held (None if
    /// none are).
    pub fn level_dbfs(&self, from: u64, to: u64) -> Option<f32> {
        let start = self.end - self.samples.len() as u64;
        let (from, to) = (from.max(start), to.min(self.end));
        if from >= to {
            return None;
        }
        let held = self
            .samples
            .range((from - start) as usize..(to - start) as usize);
        let power = held.map(|s| s * s).sum::<f32>() / (to - from) as f32;
        Some(10.0 * power.max(1e-12).log10())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_audio_measures_the_level_of_what_it_still_holds() {
        let mut recent = RecentAudio::new(1.0);
        recent.push(&vec![0.5; 16_000]);
        recent.push(&vec![0.001; 8_000]);
        // 0.5 RMS is -6 dBFS; 0.001 is -60 dBFS.
        let loud = recent.level_dbfs(8_000, 16_000).unwrap();
        let quiet = recent.level_dbfs(16_000, 24_000).unwrap();
        assert!((loud + 6.02).abs() < 0.1, "{loud}");
        assert!((quiet + 60.0).abs() < 0.1, "{quiet}");
        // The first 8000 samples are gone; a window past the end is clipped.
        assert_eq!(recent.level_dbfs(0, 8_000), None);
        assert!((recent.level_dbfs(16_000, 99_000).unwrap() + 60.0).abs() < 0.1);
    }

    const S: u64 = PIPELINE_RATE as u64;

    fn detection(end_sample: u64) -> Detection {
        Detection {
            phrase: "hey luna".into(),
            end_s: end_sample as f64 / S as f64,
            end_sample,
            score: 0.9,
            check: crate::wake::WakeCheck::Acoustic,
            latency_ms: None,
            said_alone: None,
            enrolled_check: None,
        }
    }

    fn candidate(end_sample: u64) -> Detection {
        Detection {
            score: 0.5,
            check: crate::wake::WakeCheck::Transcript,
            ..detection(end_sample)
        }
    }

    #[test]
    fn a_detection_over_the_threshold_wins_over_a_candidate_and_candidates_are_speculated_on_only_for_their_check(
    ) {
        let mut gate = WakeGate::new(6000);
        gate.detected(detection(S));
        gate.detected(candidate(S + S / 10));
        assert!(gate.would_admit(S / 4, 3 * S));
        assert_eq!(gate.candidate_inside(S / 4, 3 * S), None);
        assert_eq!(
            gate.admit(S / 4, 3 * S, u64::MAX),
            Some(Admission::Command {
                from_sample: S / 4,
                wake: Some(detection(S))
            })
        );
        // A candidate alone addresses the utterance, for its transcript check to decide.
        gate.detected(candidate(5 * S));
        assert!(!gate.would_admit(4 * S, 7 * S));
        assert_eq!(gate.candidate_inside(4 * S, 7 * S), Some(&candidate(5 * S)));
        // Not with too little speech after it to be a command.
        assert_eq!(gate.candidate_inside(4 * S, 5 * S + S / 10), None);
        assert_eq!(
            gate.admit(4 * S, 7 * S, u64::MAX),
            Some(Admission::Command {
                from_sample: 4 * S,
                wake: Some(candidate(5 * S))
            })
        );
        // Said alone, a candidate arms the gate, but speculation waits for the cut; a
        // weaker candidate in the command (the score decaying) does not take its place.
        gate.detected(candidate(9 * S));
        assert_eq!(
            gate.admit(8 * S + S / 2, 9 * S, u64::MAX),
            Some(Admission::WakeOnly(candidate(9 * S)))
        );
        gate.detected(Detection {
            score: 0.4,
            ..candidate(10 * S + S / 2)
        });
        assert!(!gate.would_admit(10 * S, 11 * S));
        assert_eq!(gate.candidate_inside(10 * S, 11 * S), None);
        assert_eq!(
            gate.admit(10 * S, 11 * S, u64::MAX),
            Some(Admission::Command {
                from_sample: 10 * S,
                wake: Some(candidate(9 * S))
            })
        );
    }

    #[test]
    fn a_phrase_heard_alone_over_the_threshold_outranks_a_candidate_in_the_command() {
        let mut gate = WakeGate::new(6000);
        gate.detected(detection(S));
        assert_eq!(
            gate.admit(S / 2, S, u64::MAX),
            Some(Admission::WakeOnly(detection(S)))
        );
        // The command itself scores in the band: still addressed by the phrase before it.
        gate.detected(candidate(3 * S));
        gate.detected(Detection {
            score: 0.7,
            ..candidate(3 * S + S / 2)
        });
        assert!(gate.would_admit(2 * S, 4 * S));
        assert_eq!(
            gate.admit(2 * S, 4 * S, u64::MAX),
            Some(Admission::Command {
                from_sample: 2 * S,
                wake: Some(detection(S))
            })
        );
        // Of two candidates in one utterance, the stronger one speaks for it.
        gate.detected(Detection {
            score: 0.7,
            ..candidate(6 * S)
        });
        gate.detected(candidate(7 * S));
        let Some(Admission::Command { wake: Some(d), .. }) = gate.admit(5 * S, 8 * S, u64::MAX)
        else {
            panic!("not a command");
        };
        assert_eq!((d.end_sample, d.score), (6 * S, 0.7));
    }

    #[test]
    fn a_command_in_the_same_breath_is_the_whole_utterance() {
        let mut gate = WakeGate::new(6000);
        gate.detected(detection(S));
        let got = gate.admit(S / 4, 3 * S, u64::MAX);
        assert_eq!(
            got,
            Some(Admission::Command {
                from_sample: S / 4,
                wake: Some(detection(S))
            })
        );
        // Used up: the next utterance without a wake phrase is ignored.
        assert_eq!(gate.admit(4 * S, 5 * S, u64::MAX), Some(Admission::Ignore));
    }

    #[test]
    fn a_wake_word_heard_elsewhere_arms_the_next_utterance_only() {
        let mut gate = WakeGate::new(6000);
        let woke = Detection::heard_elsewhere("ok nabu", S);
        gate.arm(woke.clone());
        assert_eq!(
            gate.admit(2 * S, 3 * S, u64::MAX),
            Some(Admission::Command {
                from_sample: 2 * S,
                wake: Some(woke),
            })
        );
        assert_eq!(gate.admit(4 * S, 5 * S, u64::MAX), Some(Admission::Ignore));
        // Past the follow-up, nothing is addressed.
        gate.arm(Detection::heard_elsewhere("ok nabu", 6 * S));
        assert_eq!(
            gate.admit(13 * S, 14 * S, u64::MAX),
            Some(Admission::Ignore)
        );
    }

    #[test]
    fn the_wake_phrase_alone_arms_the_next_utterance_within_the_follow_up() {
        let mut gate = WakeGate::new(6000);
        gate.detected(detection(S));
        assert_eq!(
            gate.admit(S / 4, S + 1000, u64::MAX),
            Some(Admission::WakeOnly(detection(S)))
        );
        assert_eq!(
            gate.admit(3 * S, 4 * S, u64::MAX),
            Some(Admission::Command {
                from_sample: 3 * S,
                wake: Some(detection(S))
            })
        );
        assert_eq!(gate.admit(5 * S, 6 * S, u64::MAX), Some(Admission::Ignore));
    }

    #[test]
    fn an_enrolled_phrase_is_stripped_from_the_front_of_a_transcript_only() {
        assert_eq!(
            strip_phrase("Okay, computer! Open Firefox.", "okay computer"),
            "Open Firefox."
        );
        assert_eq!(
            strip_phrase("Open the computer settings", "okay computer"),
            "Open the computer settings"
        );
        assert_eq!(strip_phrase("Okay", "okay computer"), "Okay");
    }

    #[test]
    fn a_detection_after_the_speech_ends_is_waited_for() {
        // "hey luna" said alone: speech ends at 1 s, the VAD cuts at 1.15 s, and the
        // head's score peaks on the silence 200 ms after the end.
        let mut gate = WakeGate::new(6000);
        let heard_at_cut = S + 3 * S / 20;
        assert_eq!(gate.admit(S / 4, S, heard_at_cut), None);
        let late = detection(S + S / 5);
        gate.detected(late.clone());
        assert_eq!(
            gate.admit(S / 4, S, S + S / 5),
            Some(Admission::WakeOnly(late.clone()))
        );
        assert_eq!(
            gate.admit(2 * S, 3 * S, 3 * S),
            Some(Admission::Command {
                from_sample: 2 * S,
                wake: Some(late)
            })
        );
        // Once the detector has heard `LATE` past the end, no wake phrase means none.
        let mut gate = WakeGate::new(6000);
        assert_eq!(gate.admit(S / 4, S, S + LATE - 1), None);
        assert_eq!(gate.admit(S / 4, S, S + LATE), Some(Admission::Ignore));
        // A detection in an utterance already decided is not the next one's.
        gate.detected(detection(S + LATE));
        assert_eq!(
            gate.admit(S + LATE - 100, 3 * S, 3 * S + LATE),
            Some(Admission::Ignore)
        );
    }

    #[test]
    fn a_command_is_not_held_back_to_wait_for_late_detections() {
        let mut gate = WakeGate::new(6000);
        gate.detected(detection(S));
        // Heard only up to the end: the command in the same breath goes on at once.
        assert!(matches!(
            gate.admit(S / 4, 3 * S, 3 * S),
            Some(Admission::Command { .. })
        ));
        // So does the follow-up of a wake phrase said alone.
        gate.detected(detection(4 * S));
        assert_eq!(
            gate.admit(3 * S + S / 2, 4 * S, 4 * S),
            Some(Admission::WakeOnly(detection(4 * S)))
        );
        assert!(matches!(
            gate.admit(5 * S, 6 * S, 6 * S),
            Some(Admission::Command { .. })
        ));
    }

    #[test]
    fn the_follow_up_window_expires() {
        let mut gate = WakeGate::new(2000);
        gate.detected(detection(S));
        gate.admit(S / 4, S, u64::MAX);
        assert_eq!(gate.admit(4 * S, 5 * S, u64::MAX), Some(Admission::Ignore));
    }

    #[test]
    fn speech_without_a_wake_phrase_is_ignored_and_old_detections_do_not_leak() {
        let mut gate = WakeGate::new(6000);
        assert_eq!(gate.admit(0, 2 * S, u64::MAX), Some(Admission::Ignore));
        gate.detected(detection(S));
        // An utterance after the detection's one does not claim it.
        assert_eq!(
            gate.admit(10 * S, 12 * S, u64::MAX),
            Some(Admission::Ignore)
        );
    }
}
