//! Alternatives to Whisper's greedy transcript (an N-best list) for the brain to choose
//! from.
//!
//! While greedy decoding runs, whisper.cpp's logits callback records each step's
//! distribution in brief (`StepLog`): the likeliest tokens and the likeliest that carry
//! a letter or digit. Afterwards, where a word-bearing runner-up came within `MARGIN`
//! nats of the token chosen, the decoder runs again from that step with the runner-up
//! forced and continues greedily. The encoder's output is reused: only the small decoder
//! runs, a few milliseconds per token. Most of a command's slips are one word heard as
//! a near-homophone, which is exactly where the runner-up is close.

use std::ffi::{c_int, c_void};

use serde::Serialize;
use whisper_rs::whisper_rs_sys::{whisper_context, whisper_state, whisper_token_data};
use whisper_rs::{WhisperContext, WhisperError, WhisperState};

/// A runner-up this many nats (natural-log units) below the chosen token or closer
/// makes a branch point: its probability is at least e^-MARGIN (~1/9) of the choice's.
pub const MARGIN: f32 = 2.2;

/// One hypothesis besides the greedy one.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Alternative {
    pub text: String,
    /// Sum of the tokens' log-probabilities, the end of text included.
    pub logprob: f32,
}

/// What the alternatives need to know about the model's tokens.
pub(super) struct Vocabulary {
    n_vocab: usize,
    eot: i32,
    /// The decoder's first tokens (start of transcript, language and task for a
    /// multilingual model, no timestamps), as `whisper_full` gives them.
    prompt: Vec<i32>,
    /// Per token: whether it carries a letter or a digit (a word or part of one).
    wordy: Vec<bool>,
    pieces: Vec<Vec<u8>>,
}

impl Vocabulary {
    pub(super) fn of(context: &WhisperContext) -> Result<Self, WhisperError> {
        let n_vocab = context.n_vocab() as usize;
        let eot = context.token_eot();
        let mut prompt = vec![context.token_sot()];
        if context.is_multilingual() {
            prompt.push(context.token_lang(whisper_rs::get_lang_id("en").unwrap_or(0)));
            prompt.push(context.token_transcribe());
        }
        prompt.push(context.token_not());
        let mut pieces = Vec::with_capacity(eot as usize);
        for id in 0..eot {
            pieces.push(context.token_to_bytes(id)?.to_vec());
        }
        let wordy = pieces
            .iter()
            .map(|p| p.iter().any(u8::is_ascii_alphanumeric))
            .collect();
        Ok(Self {
            n_vocab,
            eot,
            prompt,
            wordy,
            pieces,
        })
    }

    pub(super) fn eot(&self) -> i32 {
        self.eot
    }

    fn is_wordy(&self, id: i32) -> bool {
        self.wordy.get(id as usize).copied().unwrap_or(false)
    }

    /// The text of `tokens` (text tokens only).
    pub(super) fn text(&self, tokens: &[i32]) -> String {
        let bytes: Vec<u8> = tokens
            .iter()
            .filter_map(|&t| self.pieces.get(t as usize))
            .flatten()
            .copied()
            .collect();
        String::from_utf8_lossy(&bytes).trim().to_owned()
    }
}

/// How many candidates a step keeps, overall and among word-bearing tokens.
const KEEP: usize = 4;

/// One decoding step in brief: log-probabilities under whisper.cpp's filters at that
/// point (before the non-speech tokens' suppression, which never touches a word).
#[derive(Clone, Debug, Default)]
pub(super) struct Step {
    likeliest: Vec<(i32, f32)>,
    likeliest_words: Vec<(i32, f32)>,
}

impl Step {
    fn of(logits: &[f32], vocabulary: &Vocabulary) -> Self {
        let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        if !max.is_finite() {
            return Self::default();
        }
        let log_sum = max
            + logits
                .iter()
                .filter(|l| l.is_finite())
                .map(|l| (l - max).exp())
                .sum::<f32>()
                .ln();
        let mut step = Self::default();
        for (id, &logit) in logits.iter().enumerate() {
            if !logit.is_finite() {
                continue;
            }
            let entry = (id as i32, logit - log_sum);
            keep_best(&mut step.likeliest, entry);
            if vocabulary.is_wordy(id as i32) {
                keep_best(&mut step.likeliest_words, entry);
            }
        }
        step
    }

    fn logprob_of(&self, id: i32) -> Option<f32> {
        self.likeliest
            .iter()
            .chain(&self.likeliest_words)
            .find(|(t, _)| *t == id)
            .map(|&(_, lp)| lp)
    }

    /// The likeliest word-bearing token other than `chosen`.
    fn runner_up(&self, chosen: i32) -> Option<(i32, f32)> {
        self.likeliest_words
            .iter()
            .copied()
            .find(|&(t, _)| t != chosen)
    }
}

/// Inserts `entry` into `best` (sorted, likeliest first) if it is among the `KEEP` best.
fn keep_best(best: &mut Vec<(i32, f32)>, entry: (i32, f32)) {
    if best.len() == KEEP && best[KEEP - 1].1 >= entry.1 {
        return;
    }
    let at = best.partition_point(|&(_, lp)| lp >= entry.1);
    best.insert(at, entry);
    best.truncate(KEEP);
}

/// The steps of one greedy decoding, filled by `record_step` through
/// `FullParams::set_filter_logits_callback`.
pub(super) struct StepLog<'v> {
    vocabulary: &'v Vocabulary,
    steps: Vec<Step>,
}

impl<'v> StepLog<'v> {
    pub(super) fn new(vocabulary: &'v Vocabulary) -> Self {
        Self {
            vocabulary,
            steps: Vec::new(),
        }
    }

    pub(super) fn into_steps(self) -> Vec<Step> {
        self.steps
    }
}

/// whisper.cpp's logits filter callback: records the step, changes nothing.
///
/// # Safety
/// `user_data` must be the `StepLog` handed to `set_filter_logits_callback_user_data`,
/// alive and not otherwise borrowed while `whisper_full` runs; `logits` has n_vocab
/// entries (whisper.cpp's contract).
pub(super) unsafe extern "C" fn record_step(
    _context: *mut whisper_context,
    _state: *mut whisper_state,
    _tokens: *const whisper_token_data,
    n_tokens: c_int,
    logits: *mut f32,
    user_data: *mut c_void,
) {
    if logits.is_null() || user_data.is_null() {
        return;
    }
    // SAFETY: per this function's contract.
    let log = unsafe { &mut *(user_data as *mut StepLog) };
    let logits = unsafe { std::slice::from_raw_parts(logits, log.vocabulary.n_vocab) };
    let index = n_tokens.max(0) as usize;
    if index > log.steps.len() {
        // A step skipped: not a sequence this log can follow.
        return;
    }
    log.steps.truncate(index);
    log.steps.push(Step::of(logits, log.vocabulary));
}

/// A place where the greedy transcript could have gone another way.
#[derive(Clone, Copy, Debug, PartialEq)]
struct BranchPoint {
    at: usize,
    token: i32,
    /// The greedy sequence's log-probability up to this step, plus the runner-up's.
    logprob: f32,
    /// How far below the chosen token the runner-up was (nats).
    gap: f32,
}

/// Whether two tokens are one number written two ways ("five", " 5"): a branch between
/// them would read the same. Number words are the brain's (`brain::numbers`).
fn same_number(a: &[u8], b: &[u8]) -> bool {
    let (a, b) = (String::from_utf8_lossy(a), String::from_utf8_lossy(b));
    let (a, b) = (a.trim().to_lowercase(), b.trim().to_lowercase());
    let written_as = |word: &str, digits: &str| {
        crate::brain::numbers::word_value(word).is_some_and(|v| v.to_string() == digits)
    };
    written_as(&a, &b) || written_as(&b, &a)
}

/// The greedy tokens' total log-probability and the branch points, closest first.
/// None if the log does not follow `greedy` (the callback saw another sequence).
fn branch_points(
    steps: &[Step],
    greedy: &[i32],
    vocabulary: &Vocabulary,
) -> Option<(f32, Vec<BranchPoint>)> {
    let eot = vocabulary.eot;
    let mut total = 0.0;
    let mut points = Vec::new();
    for (at, step) in steps.iter().enumerate() {
        let chosen = greedy.get(at).copied().unwrap_or(eot);
        let chosen_lp = step.logprob_of(chosen)?;
        if let Some((token, lp)) = step.runner_up(chosen) {
            let gap = chosen_lp - lp;
            let piece = |t: i32| {
                vocabulary
                    .pieces
                    .get(t as usize)
                    .map_or(&[][..], |p| &p[..])
            };
            if gap <= MARGIN && !same_number(piece(chosen), piece(token)) {
                points.push(BranchPoint {
                    at,
                    token,
                    logprob: total + lp,
                    gap,
                });
            }
        }
        total += chosen_lp;
        if chosen == eot {
            break;
        }
    }
    if steps.len() < greedy.len() {
        return None;
    }
    points.sort_by(|a, b| a.gap.total_cmp(&b.gap));
    Some((total, points))
}

/// Up to `n` alternatives to `greedy` (its text tokens), from the `steps` recorded
/// while `state` decoded it; `state` must still hold that decoding's encoder output.
/// Each continues greedily for at most `max_tokens` tokens. Returns them likeliest
/// first, none repeating the greedy text or another.
pub(super) fn alternatives(
    state: &mut WhisperState,
    vocabulary: &Vocabulary,
    steps: &[Step],
    greedy: &[i32],
    n: usize,
    max_tokens: usize,
    threads: usize,
) -> Result<Vec<Alternative>, WhisperError> {
    let Some((_, points)) = branch_points(steps, greedy, vocabulary) else {
        return Ok(Vec::new());
    };
    // As the transcript reads it: a loop cut ("Open fire fox. Open fire fox." is
    // "Open fire fox."), so a reading that only drops the repeat is no alternative.
    let greedy_text = comparable(&super::cut_repetition(&vocabulary.text(greedy)));
    let mut out: Vec<Alternative> = Vec::new();
    for point in points.into_iter().take(n) {
        let mut tokens = greedy[..point.at].to_vec();
        tokens.push(point.token);
        let Some((tokens, logprob)) = continue_greedily(
            state,
            vocabulary,
            tokens,
            point.logprob,
            max_tokens,
            threads,
        )?
        else {
            continue;
        };
        // A loop cut short can come back to the greedy text itself.
        let text = super::cut_repetition(&vocabulary.text(&tokens));
        let key = comparable(&text);
        if key.is_empty() || key == greedy_text || out.iter().any(|a| comparable(&a.text) == key) {
            continue;
        }
        out.push(Alternative { text, logprob });
    }
    out.sort_by(|a, b| b.logprob.total_cmp(&a.logprob));
    Ok(out)
}

/// Lowercase words only: two texts that differ in punctuation or case are one.
fn comparable(text: &str) -> String {
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Decodes `tokens` after the prompt and goes on choosing the likeliest text token until
/// the end of text; None if that takes more than `max_tokens`.
fn continue_greedily(
    state: &mut WhisperState,
    vocabulary: &Vocabulary,
    mut tokens: Vec<i32>,
    mut logprob: f32,
    max_tokens: usize,
    threads: usize,
) -> Result<Option<(Vec<i32>, f32)>, WhisperError> {
    let prompt_len = vocabulary.prompt.len();
    let first: Vec<i32> = vocabulary.prompt.iter().chain(&tokens).copied().collect();
    // whisper-rs hands out the first row of logits only: decode all but the last token
    // together, then the last alone, whose row is then the first.
    let (last, before) = first.split_last().expect("the prompt is never empty");
    state.decode(before, 0, threads)?;
    state.decode(&[*last], before.len(), threads)?;
    loop {
        let (token, lp) = next_text_token(state.get_logits()?, vocabulary.eot);
        logprob += lp;
        if token == vocabulary.eot {
            return Ok(Some((tokens, logprob)));
        }
        if tokens.len() >= max_tokens {
            return Ok(None);
        }
        tokens.push(token);
        state.decode(&[token], prompt_len + tokens.len() - 1, threads)?;
    }
}

/// The likeliest of the text tokens and the end of text, with its log-probability
/// among them.
fn next_text_token(logits: &[f32], eot: i32) -> (i32, f32) {
    let allowed = &logits[..=eot as usize];
    let (mut best, mut max) = (eot, f32::NEG_INFINITY);
    for (id, &l) in allowed.iter().enumerate() {
        if l > max {
            (best, max) = (id as i32, l);
        }
    }
    let log_sum = max + allowed.iter().map(|l| (l - max).exp()).sum::<f32>().ln();
    (best, max - log_sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vocabulary() -> Vocabulary {
        // 0 "a", 1 " b", 2 ".", 3 " c", 4 eot
        let pieces: Vec<Vec<u8>> = ["a", " b", ".", " c"]
            .iter()
            .map(|p| p.as_bytes().to_vec())
            .collect();
        Vocabulary {
            n_vocab: 6,
            eot: 4,
            prompt: vec![5],
            wordy: pieces
                .iter()
                .map(|p| p.iter().any(u8::is_ascii_alphanumeric))
                .collect(),
            pieces,
        }
    }

    fn step(v: &Vocabulary, logits: [f32; 6]) -> Step {
        Step::of(&logits, v)
    }

    #[test]
    fn a_step_keeps_log_probabilities_and_the_word_runner_up() {
        let v = vocabulary();
        let s = step(
            &v,
            [2.0, 1.0, 3.0, f32::NEG_INFINITY, 0.0, f32::NEG_INFINITY],
        );
        let total: f32 = [2.0f32, 1.0, 3.0, 0.0].iter().map(|l| l.exp()).sum();
        assert!((s.logprob_of(2).unwrap() - (3.0 - total.ln())).abs() < 1e-5);
        // "." is likeliest but carries no word: the runner-up to it is "a".
        assert_eq!(s.runner_up(2).map(|r| r.0), Some(0));
        assert_eq!(s.runner_up(0).map(|r| r.0), Some(1));
        assert_eq!(
            s.logprob_of(3),
            None,
            "suppressed tokens are not candidates"
        );
    }

    #[test]
    fn branch_points_are_close_runner_ups_closest_first() {
        let v = vocabulary();
        let steps = vec![
            // "a" chosen, " b" 0.5 nats behind: a branch point.
            step(&v, [2.0, 1.5, -9.0, -9.0, -9.0, f32::NEG_INFINITY]),
            // " c" chosen far ahead: none.
            step(&v, [-9.0, -9.0, -9.0, 5.0, -9.0, f32::NEG_INFINITY]),
            // end of text, " b" 0.1 behind.
            step(&v, [-9.0, 1.9, -9.0, -9.0, 2.0, f32::NEG_INFINITY]),
        ];
        let (total, points) = branch_points(&steps, &[0, 3], &v).unwrap();
        assert!(total < 0.0);
        assert_eq!(
            points.iter().map(|p| (p.at, p.token)).collect::<Vec<_>>(),
            [(2, 1), (0, 1)]
        );
        assert!(points[0].gap < points[1].gap);
        // The branch's log-probability is the prefix's plus the runner-up's.
        let prefix = steps[0].logprob_of(0).unwrap() + steps[1].logprob_of(3).unwrap();
        assert!((points[0].logprob - (prefix + steps[2].logprob_of(1).unwrap())).abs() < 1e-5);
        // A log that does not follow the sequence gives nothing.
        assert!(branch_points(&steps[..1], &[0, 3], &v).is_none());
    }

    #[test]
    fn a_number_written_the_other_way_is_no_branch() {
        assert!(same_number(b" five", b" 5"));
        assert!(same_number(b"20", b"Twenty"));
        assert!(!same_number(b" five", b" 50"));
        assert!(!same_number(b" fine", b" 5"));
        let pieces: Vec<Vec<u8>> = [" set", " five", " 5"]
            .iter()
            .map(|p| p.as_bytes().to_vec())
            .collect();
        let v = Vocabulary {
            n_vocab: 4,
            eot: 3,
            prompt: vec![],
            wordy: vec![true; 3],
            pieces,
        };
        // " 5" chosen, " five" a hair behind: not a branch; " set" close behind is.
        let steps = vec![Step::of(&[1.9, 2.0, 2.1, -9.0], &v)];
        let (_, points) = branch_points(&steps, &[2], &v).unwrap();
        assert!(points.is_empty(), "{points:?}");
        let steps = vec![Step::of(&[2.0, -9.0, 2.1, -9.0], &v)];
        let (_, points) = branch_points(&steps, &[2], &v).unwrap();
        assert_eq!(points.iter().map(|p| p.token).collect::<Vec<_>>(), [0]);
    }

    #[test]
    fn texts_compare_by_their_words() {
        assert_eq!(
            comparable("Set a timer, for 5 minutes."),
            "set a timer for 5 minutes"
        );
        assert_eq!(comparable("What's on?"), "what's on");
        let v = vocabulary();
        assert_eq!(v.text(&[0, 1, 3, 2]), "a b c.");
    }

    #[test]
    fn the_next_token_is_a_text_token_or_the_end() {
        // Index 5 (a special token) is likelier but not allowed.
        let (token, lp) = next_text_token(&[0.0, 1.0, 0.5, 0.0, 0.2, 9.0], 4);
        assert_eq!(token, 1);
        let total: f32 = [0.0f32, 1.0, 0.5, 0.0, 0.2].iter().map(|l| l.exp()).sum();
        assert!((lp - (1.0 - total.ln())).abs() < 1e-5);
    }
}
