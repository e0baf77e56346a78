//! Speech to text with whisper.cpp (whisper-rs), tuned for short spoken commands.
//!
//! The model loads at start (`[stt] preload`, the default) or on the first utterance,
//! and stays; the context is shared, a decoding state is kept per `SpeechToText`.
//! Decoding: greedy, no timestamps, one segment, an encoder window (`audio_ctx`) sized
//! to the utterance (never under `[stt] audio_ctx` frames, 256 by default: below ~224
//! words start to go), no temperature fallback (it turned rare loops into multi-second
//! spikes), a token cap, and a cut of repeated phrases. Silence, noise and music give
//! an empty transcript, not Whisper's stock hallucinations.

pub mod alternatives;
pub mod convert;
pub mod install;
pub mod remote;
pub mod threads;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Once};
use std::time::Instant;

use serde::Serialize;
use whisper_rs::{
    FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters, WhisperState,
};

use crate::audio::PIPELINE_RATE;
pub use alternatives::Alternative;

#[derive(Debug, thiserror::Error)]
pub enum SttError {
    #[error("no speech model at {path}; install one with `luna model install tiny.en` (or `make model`)")]
    MissingModel { path: PathBuf },
    #[error("the speech model {path} could not be loaded: {reason}")]
    Load { path: PathBuf, reason: String },
    #[error("transcription failed: {0}")]
    Decode(String),
}

/// Decoding settings (from `[stt]`).
#[derive(Clone, Debug)]
pub struct SttSettings {
    pub model_path: PathBuf,
    /// Decoder threads; 0 chooses from the machine.
    pub threads: usize,
    /// Smallest encoder window (frames of 20 ms); grown to fit longer utterances.
    pub min_audio_ctx: u32,
    pub max_tokens: u32,
    /// 1: greedy decoding; more: beam search with this many beams.
    pub beam_size: u32,
    /// Alternatives to the greedy transcript to offer the brain (0: none).
    pub alternatives: u32,
    /// With the alternatives, the audio read again with a beam search of this many
    /// beams, its reading offered last (0 or 1: not).
    pub reread_beam_size: u32,
    /// Above this no-speech probability (with low token confidence) the text is dropped.
    pub no_speech_threshold: f32,
    /// Below this mean token log-probability (with some no-speech probability) likewise.
    pub logprob_threshold: f32,
    pub initial_prompt: String,
}

impl SttSettings {
    pub fn from_config(stt: &crate::config::SttConfig) -> Self {
        Self {
            model_path: model_path(stt),
            threads: stt.threads as usize,
            min_audio_ctx: stt.audio_ctx,
            max_tokens: stt.max_tokens,
            beam_size: stt.beam_size,
            alternatives: stt.alternatives,
            reread_beam_size: stt.reread_beam_size,
            no_speech_threshold: stt.no_speech_threshold as f32,
            logprob_threshold: stt.logprob_threshold as f32,
            initial_prompt: stt.initial_prompt.clone(),
        }
    }
}

/// Where the model is: `[stt] model_path`, or the named model in the data directory.
pub fn model_path(stt: &crate::config::SttConfig) -> PathBuf {
    if stt.model_path.is_empty() {
        install::default_path(&stt.model)
    } else {
        crate::config::expand_home(&stt.model_path)
    }
}

/// One transcription and what it cost.
#[derive(Clone, Debug, Serialize)]
pub struct Transcript {
    pub text: String,
    pub audio_s: f64,
    /// Time spent loading the model for this call (0 once loaded).
    pub load_ms: f64,
    pub transcribe_ms: f64,
    pub no_speech_prob: f32,
    pub avg_logprob: f32,
    /// Decoder threads used (0: the model did not run).
    pub threads: i32,
    /// Why a decoded text was dropped (silence, a stock hallucination, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dropped: Option<String>,
    /// Other readings of the audio, likeliest first (`[stt] alternatives`), for the
    /// brain to fall back on when it does not understand `text`: found on request
    /// (`SpeechToText::alternatives`), empty until then.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alternatives: Vec<Alternative>,
    /// The time finding them took (`SpeechToText::alternatives`).
    pub alternatives_ms: f64,
    /// Which decoding to ask for alternatives, while it is the last one (None: it
    /// cannot have any).
    #[serde(skip)]
    pub decoding: Option<u64>,
}

impl Transcript {
    /// Nothing heard, `dropped` saying why.
    fn dropped(audio_s: f64, load_ms: f64, started: Instant, threads: i32, why: &str) -> Self {
        Self {
            text: String::new(),
            audio_s,
            load_ms,
            transcribe_ms: started.elapsed().as_secs_f64() * 1000.0,
            no_speech_prob: 0.0,
            avg_logprob: 0.0,
            threads,
            dropped: Some(why.into()),
            alternatives: Vec::new(),
            alternatives_ms: 0.0,
            decoding: None,
        }
    }

    /// A transcript made elsewhere (a Wyoming service): its text alone.
    pub fn of_text(text: String, audio_s: f64, transcribe_ms: f64) -> Self {
        Self {
            text,
            audio_s,
            load_ms: 0.0,
            transcribe_ms,
            no_speech_prob: 0.0,
            avg_logprob: 0.0,
            threads: 0,
            dropped: None,
            alternatives: Vec::new(),
            alternatives_ms: 0.0,
            decoding: None,
        }
    }
}

/// The last greedy decoding, kept for its alternatives until the state decodes again.
struct LastDecoding {
    id: u64,
    steps: Vec<alternatives::Step>,
    greedy: Vec<i32>,
    threads: usize,
    /// The audio as decoded (padded) and its encoder window, for a beam search reread.
    samples: Vec<f32>,
    audio_ctx: i32,
    text: String,
    /// The alternatives once found (the reread has decoded the audio anew since, so
    /// the greedy steps no longer match the state): asked again, the same.
    found: Option<Vec<Alternative>>,
}

struct Loaded {
    _context: WhisperContext,
    state: WhisperState,
    vocabulary: alternatives::Vocabulary,
}

pub struct SpeechToText {
    settings: SttSettings,
    loaded: Option<Loaded>,
    /// Watches other processes' CPU use, where the thread count depends on it.
    cpu: Option<threads::CpuWatch>,
    cores: usize,
    last: Option<LastDecoding>,
    decodings: u64,
}

/// `Transcript::dropped` for a transcription abandoned because its speech went on.
pub const ABANDONED: &str = "abandoned: the speech went on";

/// whisper.cpp's abort callback: stop when the flag is set.
unsafe extern "C" fn abort_when_set(flag: *mut std::ffi::c_void) -> bool {
    // SAFETY: `flag` is the AtomicBool `transcribe_unless` passed, alive during `full`.
    unsafe { (*(flag as *const AtomicBool)).load(Ordering::Acquire) }
}

/// Decoding settings for a short command: English, one segment, no timestamps, no
/// temperature fallback, at most `max_tokens`, the encoder window `audio_ctx`.
fn command_params<'a, 'b>(
    strategy: SamplingStrategy,
    n_threads: i32,
    audio_ctx: i32,
    max_tokens: u32,
) -> FullParams<'a, 'b> {
    let mut params = FullParams::new(strategy);
    params.set_n_threads(n_threads);
    params.set_language(Some("en"));
    params.set_translate(false);
    params.set_no_context(true);
    params.set_no_timestamps(true);
    params.set_single_segment(true);
    params.set_print_special(false);
    params.set_print_progress(false);
    params.set_print_realtime(false);
    params.set_print_timestamps(false);
    params.set_suppress_blank(true);
    params.set_suppress_nst(true);
    params.set_temperature(0.0);
    params.set_temperature_inc(0.0);
    params.set_max_tokens(max_tokens as i32);
    params.set_audio_ctx(audio_ctx);
    params
}

/// What a decoding left in the state: its text, and what the rules for dropping a
/// transcript look at.
struct Decoded {
    text: String,
    /// The highest of its segments'.
    no_speech_prob: f32,
    /// Of the text tokens (special ones left out).
    logprob_sum: f32,
    text_tokens: usize,
    /// Every token before the end of text, special ones included.
    token_ids: Vec<i32>,
}

impl Decoded {
    fn read(state: &WhisperState, eot: i32) -> Result<Self, SttError> {
        let mut read = Self {
            text: String::new(),
            no_speech_prob: 0.0,
            logprob_sum: 0.0,
            text_tokens: 0,
            token_ids: Vec::new(),
        };
        for segment in state.as_iter() {
            read.text.push_str(
                &segment
                    .to_str_lossy()
                    .map_err(|e| SttError::Decode(e.to_string()))?,
            );
            read.no_speech_prob = read.no_speech_prob.max(segment.no_speech_probability());
            for t in 0..segment.n_tokens() {
                if let Some(token) = segment.get_token(t) {
                    if token.token_id() < eot {
                        read.token_ids.push(token.token_id());
                    }
                    let piece = token.to_str_lossy().unwrap_or_default();
                    if piece.starts_with("[_") || piece.starts_with("<|") {
                        continue;
                    }
                    read.logprob_sum += token.token_probability().max(1e-6).ln();
                    read.text_tokens += 1;
                }
            }
        }
        Ok(read)
    }

    fn avg_logprob(&self) -> f32 {
        if self.text_tokens == 0 {
            0.0
        } else {
            self.logprob_sum / self.text_tokens as f32
        }
    }
}

/// RMS under which audio is treated as silence without running the model.
const SILENCE_RMS: f32 = 0.0015;

/// Mean token log-probability under which a transcript is noise, whatever the
/// no-speech probability says (whisper.cpp reports 0 for it without timestamps).
const HOPELESS_LOGPROB: f32 = -1.6;

/// What Whisper writes when it hears no speech.
const STOCK_HALLUCINATIONS: &[&str] = &[
    "thank you",
    "thanks",
    "thank you very much",
    "thanks for watching",
    "thank you for watching",
    "you",
    "bye",
    "bye bye",
    "okay",
    "oh",
    "so",
    "the end",
    "music",
    "applause",
    "silence",
    "subtitles by the amara org community",
    "please subscribe",
    "i'm going to go",
    "",
];

static LOG_HOOKS: Once = Once::new();

impl SpeechToText {
    pub fn new(settings: SttSettings) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self {
            cpu: threads::depends_on_others(settings.threads, cores).then(threads::CpuWatch::start),
            settings,
            loaded: None,
            cores,
            last: None,
            decodings: 0,
        }
    }

    pub fn is_loaded(&self) -> bool {
        self.loaded.is_some()
    }

    pub fn model_path(&self) -> &Path {
        &self.settings.model_path
    }

    /// Loads the model if it is not loaded; returns the milliseconds it took (0 if it was).
    pub fn load(&mut self) -> Result<f64, SttError> {
        if self.loaded.is_some() {
            return Ok(0.0);
        }
        let path = self.settings.model_path.clone();
        if !path.is_file() {
            return Err(SttError::MissingModel { path });
        }
        // whisper.cpp aborts the process (an uncatchable C++ exception) on some
        // malformed headers: check the header ourselves first.
        check_ggml_header(&path).map_err(|reason| SttError::Load {
            path: path.clone(),
            reason,
        })?;
        LOG_HOOKS.call_once(whisper_rs::install_logging_hooks);
        let started = Instant::now();
        let context = WhisperContext::new_with_params(&path, WhisperContextParameters::default())
            .map_err(|e| SttError::Load {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let state = context.create_state().map_err(|e| SttError::Load {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let vocabulary = alternatives::Vocabulary::of(&context).map_err(|e| SttError::Load {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        self.loaded = Some(Loaded {
            _context: context,
            state,
            vocabulary,
        });
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        tracing::info!(path = %path.display(), ms, "speech model loaded");
        Ok(ms)
    }

    /// Transcribes 16 kHz mono audio.
    pub fn transcribe(&mut self, samples: &[f32]) -> Result<Transcript, SttError> {
        self.transcribe_unless(samples, None, None)
    }

    /// Transcribes 16 kHz mono audio unless `abandon` is set before or while decoding
    /// (a speculative transcription whose speech went on): then whisper.cpp stops at its
    /// next encoder or decoder step and the transcript is empty, `dropped` "abandoned".
    /// The decoding state stays usable. `prompt` replaces `[stt] initial_prompt` for this
    /// audio (a wake-phrase candidate's check, `wake::confirm::PROMPT`).
    pub fn transcribe_unless(
        &mut self,
        samples: &[f32],
        abandon: Option<&Arc<AtomicBool>>,
        prompt: Option<&str>,
    ) -> Result<Transcript, SttError> {
        let audio_s = samples.len() as f64 / PIPELINE_RATE as f64;
        let load_ms = self.load()?;
        let started = Instant::now();
        let abandoned =
            |threads: i32| Transcript::dropped(audio_s, load_ms, started, threads, ABANDONED);
        // The state is about to decode other audio.
        self.last = None;
        if abandon.is_some_and(|a| a.load(Ordering::Acquire)) {
            return Ok(abandoned(0));
        }
        let rms = (samples.iter().map(|s| s * s).sum::<f32>() / samples.len().max(1) as f32).sqrt();
        if rms < SILENCE_RMS {
            let mut silence = Transcript::dropped(audio_s, load_ms, started, 0, "silence");
            silence.no_speech_prob = 1.0;
            return Ok(silence);
        }
        // whisper.cpp skips inputs under a second: pad short ones with silence.
        let min_len = PIPELINE_RATE as usize * 11 / 10;
        let padded;
        let input = if samples.len() < min_len {
            padded = [samples, &vec![0.0; min_len - samples.len()]].concat();
            &padded[..]
        } else {
            samples
        };
        let seconds = input.len() as f64 / PIPELINE_RATE as f64;
        // 50 encoder frames per second of audio, plus a margin.
        let audio_ctx = ((seconds + 0.6) * 50.0).ceil() as u32;
        let audio_ctx = audio_ctx.clamp(self.settings.min_audio_ctx, 1500) as i32;

        let strategy = if self.settings.beam_size > 1 {
            SamplingStrategy::BeamSearch {
                beam_size: self.settings.beam_size as i32,
                patience: -1.0,
            }
        } else {
            SamplingStrategy::Greedy { best_of: 1 }
        };
        let decoding = threads::Decoding::start();
        let n_threads = threads::choose(
            self.settings.threads,
            self.cores,
            self.cpu.as_ref().and_then(threads::CpuWatch::others),
            decoding.others(),
        );
        let mut params = command_params(strategy, n_threads, audio_ctx, self.settings.max_tokens);
        let prompt = prompt.unwrap_or(&self.settings.initial_prompt);
        if !prompt.is_empty() {
            params.set_initial_prompt(prompt);
        }
        if let Some(flag) = abandon {
            // SAFETY: the callback only reads the AtomicBool, which `flag` (borrowed for
            // this whole call) keeps alive until `full` has returned.
            unsafe {
                params.set_abort_callback(Some(abort_when_set));
                params.set_abort_callback_user_data(Arc::as_ptr(flag) as *mut std::ffi::c_void);
            }
        }

        let loaded = self.loaded.as_mut().expect("loaded above");
        // Alternatives follow greedy decoding without a prompt (the decoder is rerun
        // from the task tokens alone).
        let find_alternatives =
            self.settings.alternatives > 0 && self.settings.beam_size <= 1 && prompt.is_empty();
        let mut step_log = alternatives::StepLog::new(&loaded.vocabulary);
        if find_alternatives {
            // SAFETY: the callback only writes into `step_log`, which outlives `full` and
            // is not touched elsewhere until `full` has returned.
            unsafe {
                params.set_filter_logits_callback(Some(alternatives::record_step));
                params.set_filter_logits_callback_user_data(
                    &mut step_log as *mut alternatives::StepLog as *mut std::ffi::c_void,
                );
            }
        }
        let decoded = loaded.state.full(params, input);
        if abandon.is_some_and(|a| a.load(Ordering::Acquire)) {
            return Ok(abandoned(n_threads));
        }
        decoded.map_err(|e| SttError::Decode(e.to_string()))?;
        let read = Decoded::read(&loaded.state, loaded.vocabulary.eot())?;
        let steps = step_log.into_steps();
        let mut transcript = Transcript {
            text: cut_repetition(read.text.trim()),
            audio_s,
            load_ms,
            transcribe_ms: started.elapsed().as_secs_f64() * 1000.0,
            no_speech_prob: read.no_speech_prob,
            avg_logprob: read.avg_logprob(),
            threads: n_threads,
            dropped: None,
            alternatives: Vec::new(),
            alternatives_ms: 0.0,
            decoding: None,
        };
        if let Some(reason) = self.reject_reason(&transcript) {
            tracing::debug!(text = %transcript.text, reason, "dropped a transcript");
            transcript.dropped = Some(format!("{reason}: {:?}", transcript.text));
            transcript.text.clear();
        } else if find_alternatives {
            self.decodings += 1;
            transcript.decoding = Some(self.decodings);
            self.last = Some(LastDecoding {
                id: self.decodings,
                steps,
                greedy: read.token_ids,
                threads: n_threads as usize,
                // (Kept only for a reread.)
                samples: if self.settings.reread_beam_size > 1 {
                    input.to_vec()
                } else {
                    Vec::new()
                },
                audio_ctx,
                text: transcript.text.clone(),
                found: None,
            });
        }
        Ok(transcript)
    }

    /// Other readings of the audio of `decoding` (`Transcript::decoding`), likeliest
    /// first, at most `[stt] alternatives`: the decoder rerun from each word where
    /// another came close; and the milliseconds finding them took. Empty when the state
    /// has decoded other audio since.
    pub fn alternatives(&mut self, decoding: u64) -> Result<(Vec<Alternative>, f64), SttError> {
        let started = Instant::now();
        let (Some(last), Some(loaded)) = (&self.last, self.loaded.as_mut()) else {
            return Ok((Vec::new(), 0.0));
        };
        if last.id != decoding {
            return Ok((Vec::new(), 0.0));
        }
        if let Some(found) = &last.found {
            return Ok((found.clone(), started.elapsed().as_secs_f64() * 1000.0));
        }
        let mut found = alternatives::alternatives(
            &mut loaded.state,
            &loaded.vocabulary,
            &last.steps,
            &last.greedy,
            self.settings.alternatives as usize,
            // A reading much longer than the best one is a loop, not a reading.
            (self.settings.max_tokens as usize).min(last.greedy.len() + 8),
            last.threads,
        )
        .map_err(|e| SttError::Decode(e.to_string()))?;
        if self.settings.reread_beam_size > 1 {
            // The state decodes the audio anew: the greedy steps no longer apply.
            let mut last = self.last.take().expect("checked above");
            if let Some(reading) = self.reread(&last)? {
                let plain = |t: &str| crate::brain::normalize(t);
                let new = plain(&reading.text);
                if new != plain(&last.text) && found.iter().all(|a| plain(&a.text) != new) {
                    found.push(reading);
                }
            }
            last.found = Some(found.clone());
            self.last = Some(last);
        }
        Ok((found, started.elapsed().as_secs_f64() * 1000.0))
    }

    /// The audio of `last` read again with a beam search (`[stt] reread_beam_size`):
    /// a reading greedy decoding and its branches may have missed ("… of 104 T4" →
    /// "… of 144"); none when it is noise by the transcript's own rules.
    fn reread(&mut self, last: &LastDecoding) -> Result<Option<Alternative>, SttError> {
        let Some(loaded) = self.loaded.as_mut() else {
            return Ok(None);
        };
        let strategy = SamplingStrategy::BeamSearch {
            beam_size: self.settings.reread_beam_size as i32,
            patience: -1.0,
        };
        let params = command_params(
            strategy,
            last.threads as i32,
            last.audio_ctx,
            self.settings.max_tokens,
        );
        loaded
            .state
            .full(params, &last.samples)
            .map_err(|e| SttError::Decode(e.to_string()))?;
        let read = Decoded::read(&loaded.state, loaded.vocabulary.eot())?;
        let mut check = Transcript::of_text(cut_repetition(read.text.trim()), 0.0, 0.0);
        check.avg_logprob = read.avg_logprob();
        if self.reject_reason(&check).is_some() {
            return Ok(None);
        }
        Ok(Some(Alternative {
            text: check.text,
            logprob: read.logprob_sum,
        }))
    }

    fn reject_reason(&self, t: &Transcript) -> Option<&'static str> {
        let s = &self.settings;
        if t.no_speech_prob > s.no_speech_threshold && t.avg_logprob < s.logprob_threshold {
            return Some("no speech");
        }
        // Whisper guessing words into noise: every token unlikely.
        if t.avg_logprob < HOPELESS_LOGPROB {
            return Some("too uncertain");
        }
        let plain: String = t
            .text
            .to_lowercase()
            .chars()
            .map(|c| {
                if c.is_alphanumeric() || c == '\'' || c == ' ' {
                    c
                } else {
                    ' '
                }
            })
            .collect();
        let plain = plain.split_whitespace().collect::<Vec<_>>().join(" ");
        if STOCK_HALLUCINATIONS.contains(&plain.as_str())
            && (t.no_speech_prob > 0.2 || t.avg_logprob < -0.7)
        {
            return Some("a stock hallucination");
        }
        if plain.is_empty() {
            return Some("no words");
        }
        None
    }
}

/// Reads a ggml Whisper header and checks that every field is plausible; returns how
/// its weights are stored ("f16", "q8_0", …).
pub fn check_ggml_header(path: &Path) -> Result<&'static str, String> {
    use std::io::Read;
    let mut file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let size = file.metadata().map_err(|e| e.to_string())?.len();
    let mut header = [0u8; 48];
    file.read_exact(&mut header)
        .map_err(|_| "too short to be a Whisper model".to_owned())?;
    let field =
        |i: usize| i32::from_le_bytes(header[i * 4..i * 4 + 4].try_into().expect("4 bytes"));
    if field(0) as u32 != 0x6767_6d6c {
        return Err("not a ggml file (bad magic)".into());
    }
    let [n_vocab, audio_ctx, audio_state, audio_head, audio_layer, text_ctx, text_state, text_head, text_layer, n_mels, ftype] =
        std::array::from_fn(|i| field(i + 1));
    let plausible = (51_000..=52_000).contains(&n_vocab)
        && audio_ctx == 1500
        && text_ctx == 448
        && [384, 512, 768, 1024, 1280].contains(&audio_state)
        && audio_state == text_state
        && (1..=64).contains(&audio_head)
        && (1..=64).contains(&text_head)
        && (1..=64).contains(&audio_layer)
        && (1..=64).contains(&text_layer)
        && [80, 128].contains(&n_mels)
        && (0..=2000).contains(&(ftype % 1000));
    if !plausible {
        return Err("the header's dimensions are not those of any Whisper model".into());
    }
    // The token embedding alone: n_vocab × n_state × 2 bytes at least (f16).
    let minimum = n_vocab as u64 * text_state as u64 / 2;
    if size < minimum {
        return Err(format!(
            "{size} bytes is too small for this model (truncated?)"
        ));
    }
    // ggml's file types (ftype % 1000; the thousands are its quantization version).
    Ok(match ftype % 1000 {
        0 => "f32",
        1 => "f16",
        2 => "q4_0",
        3 => "q4_1",
        7 => "q8_0",
        8 => "q5_0",
        9 => "q5_1",
        _ => "other",
    })
}

/// Cuts a phrase Whisper keeps repeating: "what time is it what time is it what" →
/// "what time is it". The last repeat may differ a little or be cut short ("set a timer
/// for five minutes set a timer for five minutes set a timer for 5 minutes"): greedy
/// decoding in noise loops like that, and only the token cap stopped it.
pub fn cut_repetition(text: &str) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    let keys: Vec<String> = words
        .iter()
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
        })
        .collect();
    let n = words.len();
    for period in 1..=n / 2 {
        for start in 0..n.saturating_sub(2 * period) + 1 {
            let repeats = (start + period..n)
                .take_while(|&i| keys[i] == keys[i - period])
                .count();
            if repeats < period {
                continue; // not one whole repeat
            }
            let end = start + period + repeats;
            let cut = || words[..start + period].join(" ");
            // The block repeats to the end of the text.
            if end == n {
                if period > 1 || repeats >= 2 {
                    return cut();
                }
                continue;
            }
            // A last repeat near the block: a word or so different, or cut short. Blocks
            // under three words are left alone ("we will we will rock you").
            if period < 3 {
                continue;
            }
            // Said three times over, whatever follows is the loop drifting ("cancelled
            // the 330 reminder" six times, then "cancelled the 330 can't cancel the…").
            if repeats >= 2 * period {
                return cut();
            }
            let last = start + period * ((end - start) / period);
            let tail = &keys[last..];
            if tail.len() > period + 1 {
                continue;
            }
            let block = &keys[start..start + tail.len().min(period)];
            if strsim::generic_levenshtein(&tail.to_vec(), &block.to_vec()) <= (period / 4).max(1) {
                return cut();
            }
        }
    }
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repetition_loops_are_cut() {
        assert_eq!(
            cut_repetition("What time is it? What time is it? What time is it?"),
            "What time is it?"
        );
        assert_eq!(
            cut_repetition("open firefox open firefox open"),
            "open firefox"
        );
        assert_eq!(cut_repetition("no no no no no"), "no");
        // A loop that drifts after three whole repeats (tiny.en, noise, held-out voice).
        assert_eq!(
            cut_repetition("cancelled the 330 reminder cancelled the 330 reminder cancelled the 330 reminder cancelled the 330 reminder cancelled the 330 can't cancel the 330 can cancel the 330 reminder cancelled the 330 can"),
            "cancelled the 330 reminder"
        );
        // Twice and then something else is not a loop.
        assert_eq!(
            cut_repetition("play the song play the song and turn it up"),
            "play the song play the song and turn it up"
        );
        assert_eq!(
            cut_repetition("set a timer for five minutes"),
            "set a timer for five minutes"
        );
        assert_eq!(cut_repetition("bye bye"), "bye bye");
        // The last repeat a little different, or cut short and different.
        assert_eq!(
            cut_repetition("Set a timer for five minutes. Set a timer for five minutes. Set a timer for five minutes. Set a timer for 5 minutes."),
            "Set a timer for five minutes."
        );
        assert_eq!(
            cut_repetition("turn off the music turn off the music turn of the"),
            "turn off the music"
        );
        // Not loops: repeats inside what people say, and one differing restatement.
        assert_eq!(
            cut_repetition("play we will we will rock you"),
            "play we will we will rock you"
        );
        assert_eq!(
            cut_repetition("set a timer for five minutes set a timer for 5 minutes"),
            "set a timer for five minutes set a timer for 5 minutes"
        );
        assert_eq!(
            cut_repetition("add milk add milk and add eggs to the list"),
            "add milk add milk and add eggs to the list"
        );
        assert_eq!(cut_repetition(""), "");
    }
}
