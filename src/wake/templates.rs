//! Custom wake phrases from a few of the user's own recordings, with no training run:
//! few-shot templates in the speech-embedding space.
//!
//! Each recording's speech is found, streamed through the front end after a short
//! quiet lead-in, and the embeddings of the hops covering the phrase, up to the first
//! hop ending after it, become one template. Embeddings are standardized per dimension
//! (with the statistics of the built-in head's training data) before comparison. A
//! hop's score is the best cosine similarity of the newest embeddings to any template.
//! The threshold is 80 % of how alike the recordings are to each other (leave one
//! out), and always above how alike they are to the parts of the same recordings that
//! are not the whole phrase (lead-in, the phrase half-said).

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::confirm::{prompt_for, EnrolledCheck};
use super::features::{FrontEnd, FrontEndModels, EMBEDDING, HOP, KEPT};
use super::head::MlpHead;
use super::{cosine, decode_f32, encode_f32, io_error, speech_span, WakeError};
use crate::audio::PIPELINE_RATE;

const FORMAT: &str = "luna-wake-templates-v1";
/// Shortest and longest phrase accepted, in seconds.
pub(crate) const MIN_PHRASE_S: f64 = 0.25;
pub(crate) const MAX_PHRASE_S: f64 = 2.5;
pub const MIN_RECORDINGS: usize = 3;
pub const MAX_RECORDINGS: usize = 8;

#[derive(Serialize, Deserialize)]
struct TemplateFile {
    format: String,
    name: String,
    frames: usize,
    threshold: f32,
    /// Leave-one-out similarity of each recording to the others.
    agreement: Vec<f32>,
    /// Best similarity of any template to a part of a recording that is not the phrase.
    impostor_max: f32,
    /// How speech to text wrote each take (with `confirm::prompt_for` the name), for the
    /// transcript check of a detection; empty when enrolled without it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    heard: Vec<String>,
    /// Your own "hey luna": the built-in head's best score on each take.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    head_scores: Vec<f32>,
    /// Each: `frames` raw embeddings, little-endian f32, base64.
    templates: Vec<String>,
}

/// An enrolled phrase, ready to score.
pub struct TemplateSet {
    pub name: String,
    pub frames: usize,
    pub threshold: f32,
    /// The transcript check its detections pass (none: enrolled without speech to text).
    pub check: Option<EnrolledCheck>,
    /// Your own "hey luna": the built-in head agreed on most takes, so it votes.
    pub head_votes: bool,
    templates: Vec<Vec<f32>>,
    norm: Normalizer,
}

/// Per-dimension standardization.
struct Normalizer {
    mean: Vec<f32>,
    inv_std: Vec<f32>,
}

impl Normalizer {
    fn of(head: &MlpHead) -> Self {
        let (mean, std) = head.embedding_stats();
        Self {
            mean: mean.to_vec(),
            inv_std: std.iter().map(|s| 1.0 / s.max(1e-3)).collect(),
        }
    }

    fn flatten<'a>(&self, frames: impl Iterator<Item = &'a [f32; EMBEDDING]>) -> Vec<f32> {
        frames
            .flat_map(|f| {
                f.iter()
                    .enumerate()
                    .map(|(d, v)| (v - self.mean[d]) * self.inv_std[d])
            })
            .collect()
    }
}

/// Where an enrolled phrase is stored.
pub fn phrase_path(dir: &Path, name: &str) -> PathBuf {
    let slug: String = name
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    dir.join("phrases").join(format!("{slug}.json"))
}

impl TemplateSet {
    /// Loads phrase `name` from `dir`; `built_in`'s embedding statistics normalize its
    /// templates, as they did at enrollment.
    pub fn load(dir: &Path, name: &str, built_in: &MlpHead) -> Result<Self, WakeError> {
        let path = phrase_path(dir, name);
        if !path.is_file() {
            return Err(WakeError::UnknownPhrase {
                name: name.into(),
                dir: dir.join("phrases"),
            });
        }
        let bad = |reason: String| WakeError::BadPhrase {
            path: path.clone(),
            reason,
        };
        let text = std::fs::read(&path).map_err(io_error(&path))?;
        let file: TemplateFile = serde_json::from_slice(&text).map_err(|e| bad(e.to_string()))?;
        if file.format != FORMAT {
            return Err(bad(format!("unknown format {}", file.format)));
        }
        if file.frames == 0 || file.frames > KEPT || file.templates.is_empty() {
            return Err(bad("no usable templates".into()));
        }
        let norm = Normalizer::of(built_in);
        let templates = file
            .templates
            .iter()
            .map(|t| {
                decode_f32(t, file.frames * EMBEDDING)
                    .map(|flat| {
                        norm.flatten(
                            flat.chunks_exact(EMBEDDING)
                                .map(|f| f.try_into().expect("chunks of EMBEDDING")),
                        )
                    })
                    .map_err(|e| bad(format!("a template: {e}")))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            check: EnrolledCheck::new(&file.name, &file.heard),
            head_votes: head_agrees(&file.head_scores),
            name: file.name,
            frames: file.frames,
            threshold: file.threshold,
            templates,
            norm,
        })
    }

    /// The threshold at `sensitivity` (0.5: as enrolled).
    pub fn threshold_at(&self, sensitivity: f32) -> f32 {
        (self.threshold + (0.5 - sensitivity) * 0.2).clamp(0.05, 0.99)
    }

    /// How much the newest embeddings look like the phrase (best cosine similarity).
    pub fn score(&self, embeddings: &VecDeque<[f32; EMBEDDING]>) -> f32 {
        let v = self
            .norm
            .flatten(embeddings.range(embeddings.len() - self.frames..));
        self.templates
            .iter()
            .map(|t| cosine(&v, t))
            .fold(f32::MIN, f32::max)
    }
}

/// What enrolling found.
#[derive(Debug, Serialize)]
pub struct EnrollReport {
    pub name: String,
    pub path: PathBuf,
    pub recordings: usize,
    pub frames: usize,
    pub threshold: f32,
    pub agreement: Vec<f32>,
    pub impostor_max: f32,
    /// How speech to text wrote each take.
    pub heard: Vec<String>,
    /// Your own "hey luna": the built-in head's best score on each take.
    pub head_scores: Vec<f32>,
    /// Matches need the head's vote (`super::HEAD_VOTE`): it agreed on most takes.
    pub head_votes: bool,
}

/// One recording streamed after a quiet lead-in: its embeddings per hop, and the hops
/// (indices) where the phrase ends and where it is half said.
struct Streamed {
    hops: Vec<[f32; EMBEDDING]>,
    end_hop: usize,
    half_hop: usize,
}

fn stream_phrase(models: &Arc<FrontEndModels>, phrase: &[f32]) -> Result<Streamed, WakeError> {
    // A quiet lead-in and tail like a room's: deterministic noise at about -60 dBFS.
    let mut seed = 0x2545_f491_u32;
    let mut noise = |n: usize| -> Vec<f32> {
        (0..n)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                (seed as f32 / u32::MAX as f32 - 0.5) * 0.002
            })
            .collect()
    };
    let lead = (PIPELINE_RATE as usize) * 6 / 10;
    let mut audio = noise(lead);
    audio.extend_from_slice(phrase);
    audio.extend(noise(PIPELINE_RATE as usize * 4 / 10));
    let mut front = FrontEnd::new(Arc::clone(models));
    let mut hops = Vec::new();
    let scaled: Vec<f32> = audio.iter().map(|s| s * 32768.0).collect();
    front.push(&scaled, |e| {
        hops.push(*e.back().expect("embeddings are never empty"));
        Ok(())
    })?;
    let end = lead + phrase.len();
    let end_hop = end.div_ceil(HOP) - 1;
    let half_hop = (lead + phrase.len() / 2) / HOP;
    if end_hop + 1 >= hops.len() {
        return Err(WakeError::Enroll("a recording is too short".into()));
    }
    Ok(Streamed {
        hops,
        end_hop,
        half_hop,
    })
}

/// Speech to text for enrollment: a take's samples and Whisper's prompt in, its text out.
pub type Hear<'a> = dyn FnMut(&[f32], &str) -> Result<String, String> + 'a;

/// Why a take is not a phrase to enroll.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum NotAPhrase {
    NoSpeech,
    /// Its speech lasts this many seconds, outside `MIN_PHRASE_S..=MAX_PHRASE_S`.
    Lasts(f64),
}

/// Where the phrase is in a take (sample range), if the take holds one of a plausible
/// length.
pub(crate) fn phrase_span(samples: &[f32]) -> Result<(usize, usize), NotAPhrase> {
    let (a, b) = speech_span(samples).ok_or(NotAPhrase::NoSpeech)?;
    let seconds = (b - a) as f64 / f64::from(PIPELINE_RATE);
    if (MIN_PHRASE_S..=MAX_PHRASE_S).contains(&seconds) {
        Ok((a, b))
    } else {
        Err(NotAPhrase::Lasts(seconds))
    }
}

/// Enrolls `name` from 3–8 recordings (16 kHz mono, each the phrase alone), writing
/// `phrases/NAME.json` under `dir`. `hear` transcribes a take with a prompt (speech to
/// text, `confirm::prompt_for` the name); its transcripts are what a detection's
/// transcript is checked against. Without it (`None`) detections rest on sound alone.
pub fn enroll(
    models: &Arc<FrontEndModels>,
    dir: &Path,
    name: &str,
    recordings: &[(String, Vec<f32>)],
    hear: Option<&mut Hear<'_>>,
) -> Result<EnrollReport, WakeError> {
    let name = name.trim().to_lowercase();
    if name.is_empty() {
        return Err(WakeError::Enroll("an enrolled phrase needs a name".into()));
    }
    if !(MIN_RECORDINGS..=MAX_RECORDINGS).contains(&recordings.len()) {
        return Err(WakeError::Enroll(format!(
            "enrolling needs {MIN_RECORDINGS} to {MAX_RECORDINGS} recordings of the phrase; got {}",
            recordings.len()
        )));
    }
    let mut phrases = Vec::new();
    for (file, samples) in recordings {
        let (a, b) = phrase_span(samples).map_err(|problem| {
            WakeError::Enroll(match problem {
                NotAPhrase::NoSpeech => format!("{file}: no speech in it"),
                NotAPhrase::Lasts(seconds) => format!(
                    "{file}: the phrase lasts {seconds:.2} s; say it alone, {MIN_PHRASE_S}–{MAX_PHRASE_S} s long"
                ),
            })
        })?;
        phrases.push(&samples[a..b]);
    }
    let mut durations: Vec<usize> = phrases.iter().map(|p| p.len()).collect();
    durations.sort_unstable();
    let median = durations[durations.len() / 2];
    let frames = median.div_ceil(HOP).clamp(4, 16);
    let built_in = MlpHead::hey_luna()?;
    let norm = Normalizer::of(&built_in);
    let mut raw = Vec::new();
    let mut templates = Vec::new();
    let mut impostors = Vec::new();
    // Your own "hey luna": how far the built-in head agrees on each take (its best score
    // from the phrase half said to the end of the quiet after it).
    let head = (name == super::HEY_LUNA).then_some(&built_in);
    let mut head_scores = Vec::new();
    for p in &phrases {
        let s = stream_phrase(models, p)?;
        if let Some(head) = head {
            let best = (s.half_hop..s.hops.len())
                .map(|end| {
                    let pad = head.frames.saturating_sub(end + 1);
                    let from = (end + 1).saturating_sub(head.frames);
                    head.score(std::iter::repeat_n(&s.hops[0], pad).chain(&s.hops[from..=end]))
                })
                .fold(0.0f32, f32::max);
            head_scores.push(best);
        }
        // With the start state's blank embeddings in front, every hop has a window.
        let window = |end: usize| -> Vec<[f32; EMBEDDING]> {
            let mut w = vec![s.hops[0]; frames.saturating_sub(end + 1)];
            w.extend_from_slice(&s.hops[(end + 1).saturating_sub(frames)..=end]);
            w
        };
        // One hop past the end: the phrase whole, with a little of the quiet after it,
        // so a new take's best match comes as it ends, not while its last syllable fades.
        let t = window(s.end_hop + 1);
        templates.push(norm.flatten(t.iter()));
        raw.push(t);
        for hop in (0..=s.half_hop).chain(s.end_hop + 5..s.hops.len()) {
            impostors.push(norm.flatten(window(hop).iter()));
        }
    }
    let agreement: Vec<f32> = (0..templates.len())
        .map(|i| {
            (0..templates.len())
                .filter(|j| *j != i)
                .map(|j| cosine(&templates[i], &templates[j]))
                .fold(f32::MIN, f32::max)
        })
        .collect();
    let impostor_max = impostors
        .iter()
        .flat_map(|v| templates.iter().map(move |t| cosine(v, t)))
        .fold(f32::MIN, f32::max);
    let least = agreement.iter().copied().fold(f32::MAX, f32::min);
    if least < impostor_max + 0.05 {
        let odd = agreement
            .iter()
            .position(|a| *a == least)
            .map_or("", |i| recordings[i].0.as_str());
        return Err(WakeError::Enroll(format!(
            "the recordings are too unlike each other ({odd} least: similarity {least:.2}, \
             background {impostor_max:.2}): record the same phrase, alone, in the same place"
        )));
    }
    // Other words sharing a syllable with the phrase ("computer settings" for "okay
    // computer") score well above silence: stay close to the takes' own agreement.
    let threshold = (0.8 * least).max(impostor_max + 0.05);
    let mut heard = Vec::new();
    if let Some(hear) = hear {
        let prompt = prompt_for(&name);
        for (file, samples) in recordings {
            let mut hear = |prompt: &str| {
                hear(samples, prompt)
                    .map(|text| text.trim().to_owned())
                    .map_err(|e| WakeError::Enroll(format!("{file}: could not transcribe it: {e}")))
            };
            // Said alone after the prompt, the phrase may be taken for the prompt's own
            // words and dropped: then as heard with no prompt.
            let mut text = hear(&prompt)?;
            if text.is_empty() {
                text = hear("")?;
            }
            heard.push(text);
        }
    }
    let path = phrase_path(dir, &name);
    let file = TemplateFile {
        format: FORMAT.into(),
        name: name.clone(),
        frames,
        threshold,
        agreement: agreement.clone(),
        impostor_max,
        heard: heard.clone(),
        head_scores: head_scores.clone(),
        templates: raw.iter().map(|t| encode_f32(t.iter().flatten())).collect(),
    };
    let parent = path.parent().expect("phrase paths have a parent");
    std::fs::create_dir_all(parent).map_err(io_error(parent))?;
    let json = serde_json::to_vec_pretty(&file).expect("templates serialize");
    std::fs::write(&path, json).map_err(io_error(&path))?;
    Ok(EnrollReport {
        name,
        path,
        recordings: recordings.len(),
        frames,
        threshold,
        agreement,
        impostor_max,
        heard,
        head_votes: head_agrees(&head_scores),
        head_scores,
    })
}

/// Whether the built-in head agreed (`super::HEAD_VOTE`) on at least half the takes, so
/// it can vote on matches of them. Never asked (old files, other phrases): it agrees.
fn head_agrees(head_scores: &[f32]) -> bool {
    2 * agreeing_takes(head_scores) >= head_scores.len()
}

/// How many takes the built-in head agreed on (scored `super::HEAD_VOTE` or more).
pub fn agreeing_takes(head_scores: &[f32]) -> usize {
    head_scores
        .iter()
        .filter(|s| **s >= super::HEAD_VOTE)
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_head_votes_only_when_it_agreed_on_half_the_takes_or_more() {
        assert!(head_agrees(&[0.9, 0.6, 0.2, 0.1]));
        assert!(!head_agrees(&[0.9, 0.4, 0.2, 0.1]));
        assert!(!head_agrees(&[0.49, 0.3, 0.2]));
        // Never asked (a file enrolled before the head was): it agrees.
        assert!(head_agrees(&[]));
    }
}
