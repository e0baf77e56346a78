//! Wake-word detection: "hey luna" and phrases users enroll, on a streaming
//! speech-embedding front end.
//!
//! `features` turns 16 kHz audio into one 96-dim speech embedding per 80 ms hop
//! (openWakeWord's front end, run with tract). Each active phrase scores every hop:
//! the built-in "hey luna" with a small trained head (`head`, trained by
//! `models/wake/train.py`), an enrolled phrase by similarity to the user's own
//! recordings (`templates`). A score at or over the phrase's threshold is a detection,
//! then that phrase rests for the refractory period. Any chunk size goes in; memory is
//! constant however long the stream.

pub mod confirm;
pub mod features;
pub mod gate;
pub mod head;
pub mod install;
pub mod record;
pub mod templates;

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use confirm::EnrolledCheck;
use features::{FrontEnd, FrontEndModels, HOP};
use head::MlpHead;
use templates::TemplateSet;

use crate::audio::PIPELINE_RATE;

/// The built-in phrase.
pub const HEY_LUNA: &str = "hey luna";

/// The user's own "hey luna" (enrolled templates) fires only when the built-in head
/// agrees this far: its score at least `HEAD_VOTE` within the `VOTE_BEFORE` hops up to
/// the match or the `VOTE_AFTER` after it (the head peaks a hop or three after the
/// templates). Measured on the development voices with takes of one voice: every match
/// on the phrase had the head at 0.53 or more, matches on the speaker's other speech
/// mostly under 0.3; the templates alone fired on both.
pub const HEAD_VOTE: f32 = 0.5;
const VOTE_BEFORE: usize = 10;
const VOTE_AFTER: u8 = 3;

#[derive(Debug, thiserror::Error)]
pub enum WakeError {
    #[error("wake-word model {0} is missing: run `luna model install`")]
    Missing(PathBuf),
    #[error("wake-word model {path}: {reason}")]
    Model { path: PathBuf, reason: String },
    #[error("wake-word inference failed: {0}")]
    Inference(String),
    #[error("the built-in wake head is unreadable: {0}")]
    Head(String),
    #[error("no wake phrase `{name}`: enroll it with `luna wake enroll --name '{name}' A.wav B.wav C.wav` (looked in {dir})")]
    UnknownPhrase { name: String, dir: PathBuf },
    #[error("wake phrase {path}: {reason}")]
    BadPhrase { path: PathBuf, reason: String },
    #[error("{0}")]
    Enroll(String),
    #[error("`[wake] phrases` entry `{0}`: expected NAME or NAME=SENSITIVITY with a sensitivity from 0 to 1")]
    BadChoice(String),
    #[error("{path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
}

/// One phrase to listen for, with its own sensitivity if it has one.
#[derive(Clone, Debug, PartialEq)]
pub struct PhraseChoice {
    pub name: String,
    pub sensitivity: Option<f32>,
}

impl PhraseChoice {
    /// `NAME` or `NAME=0.7`.
    pub fn parse(entry: &str) -> Result<Self, WakeError> {
        let bad = || WakeError::BadChoice(entry.to_owned());
        let (name, sensitivity) = match entry.rsplit_once('=') {
            Some((name, s)) => {
                let s: f32 = s.trim().parse().map_err(|_| bad())?;
                if !(0.0..=1.0).contains(&s) {
                    return Err(bad());
                }
                (name, Some(s))
            }
            None => (entry, None),
        };
        let name = name.trim().to_lowercase();
        if name.is_empty() {
            return Err(bad());
        }
        Ok(Self { name, sensitivity })
    }
}

/// The `[wake]` section, checked.
#[derive(Clone, Debug)]
pub struct WakeSettings {
    pub phrases: Vec<PhraseChoice>,
    pub sensitivity: f32,
    /// Built-in phrase scores from this up to its threshold are candidates that speech
    /// to text confirms (`confirm`); at or over the threshold, no candidates.
    pub transcript_check_from: f32,
    /// An enrolled phrase's matches need a second signal (`HEAD_VOTE` for the user's
    /// own "hey luna", `confirm::EnrolledCheck` for another phrase).
    pub check_enrolled: bool,
    pub refractory_ms: u32,
    pub follow_up_ms: u32,
    pub models_dir: PathBuf,
}

impl WakeSettings {
    pub fn from_config(c: &crate::config::WakeConfig) -> Result<Self, WakeError> {
        Ok(Self {
            phrases: c
                .phrases
                .iter()
                .map(|p| PhraseChoice::parse(p))
                .collect::<Result<_, _>>()?,
            sensitivity: c.sensitivity as f32,
            transcript_check_from: c.transcript_check_from as f32,
            check_enrolled: c.check_enrolled,
            refractory_ms: c.refractory_ms,
            follow_up_ms: c.follow_up_ms,
            models_dir: if c.models_dir.is_empty() {
                install::default_dir()
            } else {
                crate::config::expand_home(&c.models_dir)
            },
        })
    }
}

/// A wake phrase heard in the stream.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Detection {
    pub phrase: String,
    /// Stream time of the end of the hop that fired (seconds since the stream began).
    pub end_s: f64,
    #[serde(skip)]
    pub end_sample: u64,
    pub score: f32,
    /// What the detection rests on.
    pub check: WakeCheck,
    /// From the capture of the hop's last sample to the detection (set by the daemon).
    #[serde(skip)]
    pub latency_ms: Option<f64>,
    /// A candidate said on its own: that utterance's audio, which its transcript check
    /// hears before the command (set by the gate's keeper, `GatedCuts`).
    #[serde(skip)]
    pub said_alone: Option<Arc<[f32]>>,
    /// The transcript check of an enrolled phrase's detection (`None`: "hey luna"'s,
    /// `confirm::wake_phrase_end` with `confirm::PROMPT`).
    #[serde(skip)]
    pub enrolled_check: Option<Arc<EnrolledCheck>>,
}

impl Detection {
    /// `phrase` scoring `score` on the hop ending at stream sample `end_sample`.
    fn at(phrase: &str, (end_sample, score): (u64, f32), check: WakeCheck) -> Self {
        Self {
            phrase: phrase.to_owned(),
            end_s: end_sample as f64 / f64::from(PIPELINE_RATE),
            end_sample,
            score,
            check,
            latency_ms: None,
            said_alone: None,
            enrolled_check: None,
        }
    }

    /// A wake phrase heard by someone else (a satellite's own wake word), ending at
    /// stream sample `end_sample`: the speech that follows it is addressed to LUNA.
    pub fn heard_elsewhere(phrase: &str, end_sample: u64) -> Self {
        Self::at(phrase, (end_sample, 1.0), WakeCheck::Acoustic)
    }

    pub fn is_candidate(&self) -> bool {
        self.check == WakeCheck::Transcript
    }

    /// Whisper's prompt for a candidate's transcript.
    pub fn transcript_prompt(&self) -> &str {
        self.enrolled_check
            .as_ref()
            .map_or(confirm::PROMPT, |c| c.prompt.as_str())
    }

    /// Where the phrase ends in a candidate's transcript, if it begins with it.
    pub fn phrase_end_in(&self, transcript: &str) -> Option<usize> {
        match &self.enrolled_check {
            Some(check) => check.phrase_end(transcript),
            None => confirm::wake_phrase_end(transcript),
        }
    }
}

/// What a detection rests on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WakeCheck {
    /// The acoustic score reached the phrase's threshold.
    Acoustic,
    /// The score fell short of the threshold but not of `[wake] transcript_check_from`,
    /// or an enrolled phrase matched: a candidate, addressed to LUNA only if speech to
    /// text hears the phrase at the start of the utterance (`confirm`).
    Transcript,
}

enum Scorer {
    Head(Arc<MlpHead>),
    Templates(TemplateSet),
}

struct Phrase {
    name: String,
    scorer: Scorer,
    threshold: f32,
    /// Scores from here to the threshold are candidates (the built-in head only).
    candidate_floor: Option<f32>,
    /// An enrolled phrase's detections are candidates with this check.
    enrolled_check: Option<Arc<EnrolledCheck>>,
    /// The user's own "hey luna": fires only with the head's vote (`HEAD_VOTE`).
    head_vote: bool,
    /// A match waiting for the head's vote, and for how many hops it has waited.
    awaiting_vote: Option<((u64, f32), u8)>,
    /// End sample of this phrase's last detection.
    last: Option<u64>,
    /// The best hop so far of a template match still rising (hop end, score).
    peak: Option<(u64, f32)>,
    /// The best hop so far of a candidate still rising (hop end, score).
    candidate_peak: Option<(u64, f32)>,
}

/// Moves a threshold chosen at sensitivity 0.5 by up to two logits either way.
fn head_threshold(threshold: f32, sensitivity: f32) -> f32 {
    let t = threshold.clamp(1e-4, 1.0 - 1e-4);
    let logit = (t / (1.0 - t)).ln() + 4.0 * (0.5 - sensitivity);
    1.0 / (1.0 + (-logit).exp())
}

/// The streaming detector of one audio stream.
pub struct WakeDetector {
    front: FrontEnd,
    phrases: Vec<Phrase>,
    hops: u64,
    /// Stream sample where this detector's first sample was (after a restart, not 0).
    origin: u64,
    refractory: u64,
    scratch: Vec<f32>,
    /// The built-in head's scores of the last `VOTE_BEFORE` hops.
    head_recent: VecDeque<f32>,
    /// The newest score of each phrase, for diagnostics.
    pub last_scores: Vec<f32>,
}

impl WakeDetector {
    pub fn new(models: Arc<FrontEndModels>, settings: &WakeSettings) -> Result<Self, WakeError> {
        let mut phrases = Vec::new();
        let phrase = |name: &str, scorer, threshold, candidate_floor, enrolled_check| Phrase {
            name: name.to_owned(),
            scorer,
            threshold,
            candidate_floor,
            enrolled_check,
            head_vote: false,
            awaiting_vote: None,
            last: None,
            peak: None,
            candidate_peak: None,
        };
        // Parsed once: it scores "hey luna", and its embedding statistics normalize every
        // enrolled phrase's templates.
        let built_in = Arc::new(MlpHead::hey_luna()?);
        for choice in &settings.phrases {
            let sensitivity = choice.sensitivity.unwrap_or(settings.sensitivity);
            if choice.name == HEY_LUNA {
                let t = head_threshold(built_in.threshold, sensitivity);
                let floor =
                    (settings.transcript_check_from < t).then_some(settings.transcript_check_from);
                let head = Scorer::Head(Arc::clone(&built_in));
                phrases.push(phrase(HEY_LUNA, head, t, floor, None));
                // The user's own takes of it, if enrolled, listened for beside the head.
                if !templates::phrase_path(&settings.models_dir, HEY_LUNA).is_file() {
                    continue;
                }
            }
            let set = TemplateSet::load(&settings.models_dir, &choice.name, &built_in)?;
            let t = set.threshold_at(sensitivity);
            // Your own "hey luna" has the head's vote as its second signal, if the head
            // agreed on your takes; else, as a phrase of your own, its transcript.
            let head_vote = settings.check_enrolled && choice.name == HEY_LUNA && set.head_votes;
            let check = set
                .check
                .clone()
                .filter(|_| settings.check_enrolled && !head_vote)
                .map(Arc::new);
            let mut templates = phrase(&choice.name, Scorer::Templates(set), t, None, check);
            templates.head_vote = head_vote;
            phrases.push(templates);
        }
        let n = phrases.len();
        Ok(Self {
            front: FrontEnd::new(models),
            phrases,
            hops: 0,
            origin: 0,
            refractory: u64::from(settings.refractory_ms) * u64::from(PIPELINE_RATE) / 1000,
            scratch: Vec::with_capacity(HOP),
            head_recent: VecDeque::with_capacity(VOTE_BEFORE + 1),
            last_scores: vec![0.0; n],
        })
    }

    /// The active phrases as a person reads them: name, what scores it, threshold.
    pub fn describe(&self) -> Vec<String> {
        self.phrases
            .iter()
            .map(|p| {
                let by = match p.scorer {
                    Scorer::Head(_) => "built in",
                    Scorer::Templates(_) => "your takes",
                };
                format!("\"{}\" ({by}, threshold {:.2})", p.name, p.threshold)
            })
            .collect()
    }

    /// Stream samples consumed into complete hops.
    pub fn position(&self) -> u64 {
        self.origin + self.hops * HOP as u64
    }

    /// Places a fresh detector at stream sample `origin`, so its detections keep the
    /// stream's clock (a restarted detector starts mid-stream).
    pub fn set_origin(&mut self, origin: u64) {
        if self.hops == 0 {
            self.origin = origin;
        }
    }

    /// Feeds 16 kHz mono samples in [-1, 1], any number; returns what was detected.
    pub fn push(&mut self, samples: &[f32]) -> Result<Vec<Detection>, WakeError> {
        let Self {
            front,
            phrases,
            hops,
            origin,
            refractory,
            scratch,
            head_recent,
            last_scores,
        } = self;
        let mut found = Vec::new();
        for chunk in samples.chunks(HOP) {
            scratch.clear();
            // The front end works in int16 scale, as the reference implementation does.
            scratch.extend(chunk.iter().map(|s| {
                let s = if s.is_finite() { *s } else { 0.0 };
                (s * 32768.0).clamp(-32768.0, 32767.0)
            }));
            front.push(scratch, |embeddings| {
                *hops += 1;
                let end_sample = *origin + *hops * HOP as u64;
                for (phrase, last_score) in phrases.iter_mut().zip(last_scores.iter_mut()) {
                    let score = match &phrase.scorer {
                        Scorer::Head(h) => h.score(embeddings.range(embeddings.len() - h.frames..)),
                        Scorer::Templates(t) => t.score(embeddings),
                    };
                    *last_score = score;
                    if let Scorer::Head(_) = phrase.scorer {
                        if head_recent.len() == VOTE_BEFORE {
                            head_recent.pop_front();
                        }
                        head_recent.push_back(score);
                    }
                    let resting = phrase
                        .last
                        .is_some_and(|last| end_sample < last + *refractory);
                    let over = score >= phrase.threshold && !resting;
                    // Every peak in the band is a candidate (the gate keeps the best one
                    // of an utterance), except while resting after a detection.
                    if let Some(floor) = phrase.candidate_floor {
                        if let Some(c) = candidate(
                            &mut phrase.candidate_peak,
                            (end_sample, score),
                            score >= floor && !over && !resting,
                            over,
                        ) {
                            found.push(Detection::at(&phrase.name, c, WakeCheck::Transcript));
                        }
                    }
                    let fired = match (&phrase.scorer, phrase.peak) {
                        // The head was trained to fire at the phrase's end: at once.
                        (Scorer::Head(_), _) => over.then_some((end_sample, score)),
                        // Templates match the phrase half-said too: wait for the peak.
                        (Scorer::Templates(_), Some((at, best))) if score <= best => {
                            phrase.peak = None;
                            Some((at, best))
                        }
                        (Scorer::Templates(_), _) => {
                            if over {
                                phrase.peak = Some((end_sample, score));
                            }
                            None
                        }
                    };
                    let fired = match phrase.head_vote {
                        false => fired,
                        true => head_vote(&mut phrase.awaiting_vote, fired, head_recent),
                    };
                    if let Some((at, score)) = fired {
                        phrase.last = Some(at);
                        let check = match phrase.enrolled_check {
                            Some(_) => WakeCheck::Transcript,
                            None => WakeCheck::Acoustic,
                        };
                        let mut d = Detection::at(&phrase.name, (at, score), check);
                        d.enrolled_check = phrase.enrolled_check.clone();
                        found.push(d);
                    }
                }
                Ok(())
            })?;
        }
        Ok(found)
    }
}

/// A template match (`fired`, this hop) that waits for the head's vote: given out on
/// the hop where the head's score has reached `HEAD_VOTE` within `recent` (the last
/// `VOTE_BEFORE` hops, this one included), dropped after `VOTE_AFTER` hops without.
fn head_vote(
    awaiting: &mut Option<((u64, f32), u8)>,
    fired: Option<(u64, f32)>,
    recent: &VecDeque<f32>,
) -> Option<(u64, f32)> {
    if awaiting.is_none() {
        *awaiting = fired.map(|f| (f, 0));
    }
    let (f, waited) = (*awaiting)?;
    if recent.iter().any(|s| *s >= HEAD_VOTE) {
        *awaiting = None;
        return Some(f);
    }
    *awaiting = (waited < VOTE_AFTER).then_some((f, waited + 1));
    None
}

/// A candidate's peak: while `in_band` the best hop is kept; the hop after the score
/// stops rising (or leaves the band below) gives it out; the score reaching the
/// threshold (`over`) drops it, the real detection taking its place.
fn candidate(
    peak: &mut Option<(u64, f32)>,
    hop: (u64, f32),
    in_band: bool,
    over: bool,
) -> Option<(u64, f32)> {
    if over {
        *peak = None;
        return None;
    }
    match *peak {
        Some(best) if in_band && hop.1 > best.1 => {
            *peak = Some(hop);
            None
        }
        Some(best) => {
            *peak = None;
            Some(best)
        }
        None => {
            if in_band {
                *peak = Some(hop);
            }
            None
        }
    }
}

/// Every detection in a recording (16 kHz mono), streamed in 20 ms chunks as the
/// daemon's pump delivers them.
pub fn detect_all(
    models: Arc<FrontEndModels>,
    settings: &WakeSettings,
    samples: &[f32],
) -> Result<Vec<Detection>, WakeError> {
    let mut detector = WakeDetector::new(models, settings)?;
    let mut found = Vec::new();
    for chunk in samples.chunks(320) {
        found.extend(detector.push(chunk)?);
    }
    // Pad so the last partial hop is heard.
    found.extend(detector.push(&vec![0.0; HOP])?);
    // A near phrase that then rose past the threshold (within the refractory period) is
    // that detection, which outranks it, as in the pipeline's gate.
    let refractory_s = f64::from(settings.refractory_ms) / 1000.0;
    let detected: Vec<(String, f64)> = found
        .iter()
        .filter(|d| !d.is_candidate())
        .map(|d| (d.phrase.clone(), d.end_s))
        .collect();
    found.retain(|d| {
        !d.is_candidate()
            || !detected.iter().any(|(phrase, end_s)| {
                *phrase == d.phrase && (end_s - d.end_s).abs() <= refractory_s
            })
    });
    Ok(found)
}

/// The front-end models for `settings`, with a clear error when not installed.
pub fn load_models(settings: &WakeSettings) -> Result<Arc<FrontEndModels>, WakeError> {
    FrontEndModels::load(&settings.models_dir)
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> WakeError + '_ {
    move |error| WakeError::Io {
        path: path.to_owned(),
        error,
    }
}

/// Trailing and leading quiet cut from a recording: frames 40 dB under its loudest
/// 10 ms frame. Returns the kept range in samples.
pub fn speech_span(samples: &[f32]) -> Option<(usize, usize)> {
    const FRAME: usize = 160;
    let rms: Vec<f32> = samples
        .chunks(FRAME)
        .map(|f| (f.iter().map(|s| s * s).sum::<f32>() / f.len() as f32).sqrt())
        .collect();
    let peak = rms.iter().copied().fold(0.0f32, f32::max);
    if peak < 1e-4 {
        return None;
    }
    let floor = peak * 0.01;
    let first = rms.iter().position(|r| *r > floor)?;
    let last = rms.iter().rposition(|r| *r > floor)?;
    Some((first * FRAME, ((last + 1) * FRAME).min(samples.len())))
}

/// `len` little-endian f32 values from base64: how the head and enrolled templates
/// store their arrays inside JSON, exactly.
fn decode_f32(b64: &str, len: usize) -> Result<Vec<f32>, String> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|e| e.to_string())?;
    if bytes.len() != len * 4 {
        return Err(format!("{} values, expected {len}", bytes.len() / 4));
    }
    Ok(bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

/// The inverse of `decode_f32`.
fn encode_f32<'a>(values: impl Iterator<Item = &'a f32>) -> String {
    use base64::Engine;
    let bytes: Vec<u8> = values.flat_map(|v| v.to_le_bytes()).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Cosine similarity of two equally long vectors.
fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let (mut ab, mut aa, mut bb) = (0.0f32, 0.0f32, 0.0f32);
    for (x, y) in a.iter().zip(b) {
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    ab / (aa.sqrt() * bb.sqrt()).max(1e-9)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_own_hey_luna_fires_only_when_the_head_agrees_soon_enough() {
        let mut recent: VecDeque<f32> = [0.1, 0.2].into();
        let mut awaiting = None;
        // The head is still low when the templates peak: the match waits...
        assert_eq!(head_vote(&mut awaiting, Some((800, 0.9)), &recent), None);
        recent.push_back(0.3);
        assert_eq!(head_vote(&mut awaiting, None, &recent), None);
        // ...and is given out, as it was, when the head reaches the vote.
        recent.push_back(0.6);
        assert_eq!(head_vote(&mut awaiting, None, &recent), Some((800, 0.9)));
        assert_eq!(head_vote(&mut awaiting, None, &recent), None);
        // A head that stays low: dropped after VOTE_AFTER hops, never given out.
        let low: VecDeque<f32> = [0.1; VOTE_BEFORE].into();
        assert_eq!(head_vote(&mut awaiting, Some((1600, 0.8)), &low), None);
        for _ in 0..VOTE_AFTER {
            assert_eq!(head_vote(&mut awaiting, None, &low), None);
        }
        assert_eq!(awaiting, None);
        // A head that agreed just before the match: at once.
        let before: VecDeque<f32> = [0.7, 0.2, 0.1].into();
        assert_eq!(
            head_vote(&mut awaiting, Some((2400, 0.8)), &before),
            Some((2400, 0.8))
        );
    }

    #[test]
    fn phrase_choices_parse_with_and_without_sensitivity() {
        assert_eq!(
            PhraseChoice::parse("Hey Luna").unwrap(),
            PhraseChoice {
                name: "hey luna".into(),
                sensitivity: None
            }
        );
        assert_eq!(
            PhraseChoice::parse("kitchen=0.7").unwrap().sensitivity,
            Some(0.7)
        );
        for bad in ["=0.5", "x=2", "x=high", ""] {
            assert!(PhraseChoice::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sensitivity_moves_the_threshold_the_right_way() {
        assert!((head_threshold(0.6, 0.5) - 0.6).abs() < 1e-6);
        assert!(head_threshold(0.6, 0.9) < 0.6);
        assert!(head_threshold(0.6, 0.1) > 0.6);
        assert!(head_threshold(0.6, 1.0) > 0.0 && head_threshold(0.6, 0.0) < 1.0);
    }

    #[test]
    fn a_candidate_is_given_at_its_peak_and_dropped_when_the_score_reaches_the_threshold() {
        // (score, over the threshold, resting after a detection)
        let run = |hops: &[(f32, bool, bool)]| -> Vec<(u64, f32)> {
            let mut peak = None;
            hops.iter()
                .enumerate()
                .filter_map(|(i, &(score, over, resting))| {
                    let in_band = score >= 0.3 && !over && !resting;
                    candidate(&mut peak, (i as u64, score), in_band, over)
                })
                .collect()
        };
        // Rises in the band, peaks at hop 2, falls: one candidate, at the peak.
        let hops = [
            (0.1, false, false),
            (0.4, false, false),
            (0.6, false, false),
            (0.5, false, false),
            (0.2, false, false),
        ];
        assert_eq!(run(&hops), vec![(2, 0.6)]);
        // Rises through the band to the threshold, then rests: no candidate.
        let hops = [
            (0.4, false, false),
            (0.7, false, false),
            (0.9, true, false),
            (0.5, false, true),
            (0.1, false, true),
        ];
        assert_eq!(run(&hops), vec![]);
        // Never leaves the band: given out when it drops below the floor.
        let hops = [
            (0.35, false, false),
            (0.5, false, false),
            (0.1, false, false),
        ];
        assert_eq!(run(&hops), vec![(1, 0.5)]);
    }

    #[test]
    fn the_speech_span_skips_quiet_edges() {
        let mut x = vec![0.0f32; 1600];
        x.extend((0..3200).map(|i| (i as f32 * 0.1).sin() * 0.5));
        x.extend(vec![0.0; 800]);
        let (a, b) = speech_span(&x).unwrap();
        assert_eq!((a, b), (1600, 4800));
        assert!(speech_span(&[0.0; 1000]).is_none());
    }
}
