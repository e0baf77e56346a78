//! The brain: a transcript (often imperfect Whisper output) in, a plan out.
//!
//! 1. [`normalize`]: case, punctuation, wake phrase, politeness, number words.
//! 2. Split multi-intent utterances at "and", "then", "after that", … when every part
//!    is understood on its own ("open firefox and play some music").
//! 3. Each part: the fast path ([`grammar`], one `RegexSet` compiled at start) and,
//!    when no pattern fits, the fallback ([`classifier`]) with a confidence threshold
//!    that answers `unknown` rather than guess. A sentence understood neither whole nor
//!    in parts gets a last look from the sentence [`encoder`] when it is installed.
//! 4. [`context`]: "close it", "do that again", "cancel that", "and spotify too".
//! 5. [`plan`]: parallel groups, ordered steps, delayed steps.
//!
//! Three caches (parse, context resolution, plan) on quick_cache, counted for metrics.
//! No actix here: `pipeline::brain_actor` wraps this.

pub mod apps;
pub mod catalogue;
pub mod classifier;
pub mod context;
pub mod dates;
pub mod encoder;
pub mod grammar;
pub mod install;
pub mod normalize;
pub mod numbers;
pub mod places;
pub mod plan;
pub mod slots;
pub mod spelling;

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

use regex::Regex;

use serde::Serialize;
use serde_json::Value;

pub use apps::AppCatalog;
pub use catalogue::UNKNOWN;
pub use classifier::{Classifier, TrainOptions};
pub use context::Context;
pub use grammar::{Grammar, GrammarError};
pub use normalize::normalize;
pub use plan::{Group, Plan, Step};

use catalogue::required_slots;
use classifier::ExamplesError;

pub type Slots = BTreeMap<String, Value>;

/// One understood intent.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Intent {
    pub intent: String,
    pub confidence: f32,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub slots: Slots,
}

impl Intent {
    pub fn unknown(confidence: f32) -> Self {
        Self {
            intent: UNKNOWN.to_owned(),
            confidence,
            slots: Slots::new(),
        }
    }

    pub fn is_unknown(&self) -> bool {
        self.intent == UNKNOWN
    }

    pub fn slot_str(&self, key: &str) -> Option<&str> {
        self.slots.get(key).and_then(Value::as_str)
    }
}

/// Which parser produced a part.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    FastPath,
    Fallback,
    /// The sentence encoder's head ([`encoder`]).
    Encoder,
    Cache,
}

/// How a part relates to the one before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Link {
    First,
    /// "and", "also": may run at the same time.
    Parallel,
    /// "then", "after that": waits for the previous part.
    After,
}

/// One part of an utterance, parsed without context.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Clause {
    pub text: String,
    pub intent: Intent,
    pub source: Source,
    pub link: Link,
    /// "mute in ten minutes": run the step this many seconds from now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delay_s: Option<u64>,
}

/// An utterance parsed without context (what the parse cache holds).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Parse {
    pub normalized: String,
    pub clauses: Vec<Clause>,
}

impl Parse {
    /// Nothing in it understood.
    pub fn is_unknown(&self) -> bool {
        self.clauses.iter().all(|c| c.intent.is_unknown())
    }
}

/// The brain's answer for one command.
#[derive(Clone, Debug, Serialize)]
pub struct Understanding {
    pub text: String,
    pub normalized: String,
    pub intents: Vec<Intent>,
    pub source: Source,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub used_context: bool,
    pub plan: Arc<Plan>,
}

impl Understanding {
    pub fn is_unknown(&self) -> bool {
        self.intents.iter().all(Intent::is_unknown)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BrainError {
    #[error(transparent)]
    Grammar(#[from] GrammarError),
    #[error(transparent)]
    Examples(#[from] ExamplesError),
    #[error("cannot read {path}: {error}")]
    Read {
        path: std::path::PathBuf,
        error: std::io::Error,
    },
    #[error(transparent)]
    Encoder(#[from] encoder::EncoderError),
}

/// What the brain knows, built once at start and shared (read-only).
pub struct BrainModel {
    pub grammar: Grammar,
    pub classifier: Classifier,
    pub apps: AppCatalog,
    /// The sentence encoder and its head, when installed (`luna model install`).
    pub encoder: Option<encoder::IntentEncoder>,
    /// Typed slips in command words, corrected when nothing else understood.
    pub speller: spelling::Speller,
}

impl BrainModel {
    /// The shipped grammar and examples, and the built-in app catalogue.
    pub fn builtin() -> Result<Self, BrainError> {
        Self::build(
            Grammar::builtin()?,
            classifier::DEFAULT_EXAMPLES,
            "config/brain_examples.toml",
            AppCatalog::builtin(),
        )
    }

    /// The grammar and examples `[brain]` names (built-in ones when empty).
    pub fn from_config(
        config: &crate::config::BrainConfig,
        apps: AppCatalog,
    ) -> Result<Self, BrainError> {
        let read = |path: &str| -> Result<Option<(String, String)>, BrainError> {
            if path.is_empty() {
                return Ok(None);
            }
            let path = crate::config::expand_home(path);
            std::fs::read_to_string(&path)
                .map(|text| Some((text, path.display().to_string())))
                .map_err(|error| BrainError::Read { path, error })
        };
        let grammar = match read(&config.grammar_path)? {
            Some((text, origin)) => Grammar::parse(&text, &origin)?,
            None => Grammar::builtin()?,
        };
        let cache = crate::config::cache_dir();
        let mut model = match read(&config.examples_path)? {
            Some((text, origin)) => Self::build_cached(grammar, &text, &origin, apps, &cache)?,
            None => Self::build_cached(
                grammar,
                classifier::DEFAULT_EXAMPLES,
                "config/brain_examples.toml",
                apps,
                &cache,
            )?,
        };
        if config.encoder {
            match model.load_encoder(&encoder::configured_dir(config)) {
                Ok(()) => {}
                Err(BrainError::Encoder(e @ encoder::EncoderError::Missing(_))) => {
                    tracing::warn!(error = %e, "understanding without the sentence encoder: fewer ways of saying things are understood");
                }
                Err(e) => return Err(e),
            }
        }
        Ok(model)
    }

    /// Loads the sentence encoder from `dir` (`model.onnx`, `tokenizer.json`).
    pub fn load_encoder(&mut self, dir: &std::path::Path) -> Result<(), BrainError> {
        let started = std::time::Instant::now();
        let loaded = encoder::IntentEncoder::load(dir)?;
        // Its vocabulary's English words are no slips ("outlet" is not "output").
        self.speller
            .add_known(loaded.encoder.tokenizer().whole_words());
        self.encoder = Some(loaded);
        tracing::info!(dir = %dir.display(), ms = started.elapsed().as_millis() as u64, "sentence encoder loaded");
        Ok(())
    }

    /// As [`BrainModel::build`], keeping the trained classifier in `cache_dir` under a
    /// hash of everything it was trained from: the next start reads it (tens of ms)
    /// instead of training again (~0.75 s). A cache that cannot be read or written is
    /// only a slower start.
    pub fn build_cached(
        grammar: Grammar,
        examples_toml: &str,
        examples_origin: &str,
        apps: AppCatalog,
        cache_dir: &std::path::Path,
    ) -> Result<Self, BrainError> {
        let examples = Self::examples(examples_toml, examples_origin)?;
        let options = TrainOptions::default();
        let key = {
            use sha2::{Digest, Sha256};
            let mut h = Sha256::new();
            h.update(format!("{options:?}\n"));
            for (class, text) in &examples.all {
                h.update(class.as_bytes());
                h.update(b"\t");
                h.update(text.as_bytes());
                h.update(b"\n");
            }
            h.finalize()
                .iter()
                .take(12)
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        };
        let path = cache_dir.join(format!("brain-{key}.bin"));
        let classifier = match std::fs::read(&path)
            .ok()
            .and_then(|b| Classifier::from_bytes(&b))
        {
            Some(c) => c,
            None => {
                let c = Classifier::train(&examples.all, &options);
                let written = std::fs::create_dir_all(cache_dir)
                    .and_then(|_| crate::atomic_file::write(&path, &c.to_bytes()));
                match written {
                    Err(e) => {
                        tracing::debug!(path = %path.display(), error = %e, "trained classifier not cached");
                    }
                    // Classifiers trained from other sentences are not read again.
                    Ok(()) => remove_stale_caches(cache_dir, &path),
                }
                c
            }
        };
        Ok(Self::assemble(grammar, classifier, apps, &examples))
    }

    /// The model from its trained parts; the speller learns the grammar's words and
    /// the training sentences' but the development sets' (written with typed slips on
    /// purpose: "set timr for 25 minits" must still be corrected).
    fn assemble(
        grammar: Grammar,
        classifier: Classifier,
        apps: AppCatalog,
        examples: &TrainingSentences,
    ) -> Self {
        let speller = spelling::Speller::new(
            grammar.words(),
            examples.all[..examples.spelled_right]
                .iter()
                .map(|(_, text)| text.as_str()),
        );
        Self {
            grammar,
            classifier,
            apps,
            encoder: None,
            speller,
        }
    }

    /// Every training sentence, normalized: the examples file, CLINC150's, the
    /// generated ones, the near misses, the development sets' even lines and the
    /// helpers' training sentences.
    fn examples(
        examples_toml: &str,
        examples_origin: &str,
    ) -> Result<TrainingSentences, BrainError> {
        let mut examples = classifier::parse_examples(examples_toml, examples_origin)?;
        examples.extend(classifier::parse_examples(
            classifier::CLINC_EXAMPLES,
            "config/brain_examples_clinc.toml",
        )?);
        examples.extend(classifier::parse_examples(
            classifier::GENERATED_EXAMPLES,
            "config/brain_examples_generated.toml",
        )?);
        examples.extend(classifier::parse_examples(
            classifier::NEAR_MISS_EXAMPLES,
            "config/brain_examples_near_misses.toml",
        )?);
        let spelled_right = examples.len();
        examples.extend(classifier::parse_examples(
            classifier::OTHERS_EXAMPLES,
            "config/brain_examples_others.toml",
        )?);
        examples.extend(classifier::parse_examples(
            classifier::HELPERS_EXAMPLES,
            "config/brain_examples_helpers.toml",
        )?);
        Ok(TrainingSentences {
            all: examples
                .into_iter()
                .map(|(class, text)| (class, normalize(&text)))
                .collect(),
            spelled_right,
        })
    }

    pub fn build(
        grammar: Grammar,
        examples_toml: &str,
        examples_origin: &str,
        apps: AppCatalog,
    ) -> Result<Self, BrainError> {
        let examples = Self::examples(examples_toml, examples_origin)?;
        let classifier = Classifier::train(&examples.all, &TrainOptions::default());
        Ok(Self::assemble(grammar, classifier, apps, &examples))
    }
}

/// Brain settings (from `[brain]`).
#[derive(Clone, Debug)]
pub struct BrainSettings {
    pub confidence_threshold: f32,
    /// Least averaged probability at which the sentence encoder's answer is acted on.
    pub encoder_threshold: f32,
    pub cache_size: usize,
    pub max_context_history: usize,
}

impl Default for BrainSettings {
    fn default() -> Self {
        Self {
            confidence_threshold: 0.8,
            encoder_threshold: 0.5,
            cache_size: 1000,
            max_context_history: 100,
        }
    }
}

impl From<&crate::config::BrainConfig> for BrainSettings {
    fn from(c: &crate::config::BrainConfig) -> Self {
        Self {
            confidence_threshold: c.confidence_threshold as f32,
            encoder_threshold: c.encoder_threshold as f32,
            cache_size: c.cache_size as usize,
            max_context_history: c.max_context_history as usize,
        }
    }
}

/// Hit and miss counts of one cache.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CacheCounter {
    pub hits: u64,
    pub misses: u64,
}

impl CacheCounter {
    pub fn hit_rate(&self) -> f64 {
        let total = self.hits + self.misses;
        if total == 0 {
            0.0
        } else {
            self.hits as f64 / total as f64
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CacheStats {
    pub parse: CacheCounter,
    pub context: CacheCounter,
    pub plan: CacheCounter,
}

type Cache<K, V> = quick_cache::unsync::Cache<K, V>;

/// The brain of one pipeline: the shared model plus caches and conversation context.
pub struct Brain {
    model: Arc<BrainModel>,
    settings: BrainSettings,
    parse_cache: Cache<String, Arc<Parse>>,
    context_cache: Cache<(Arc<str>, u64), Arc<Vec<Clause>>>,
    plan_cache: Cache<String, Arc<Plan>>,
    stats: CacheStats,
    context: Context,
}

/// Words that join the parts of a multi-intent utterance, longest first.
const CONNECTORS: &[(&str, Link)] = &[
    ("and after that", Link::After),
    ("and then", Link::After),
    ("after that", Link::After),
    ("and afterwards", Link::After),
    ("afterwards", Link::After),
    ("then", Link::After),
    ("and also", Link::Parallel),
    ("also", Link::Parallel),
    ("and", Link::Parallel),
    ("plus", Link::Parallel),
];

/// Intents too consequential to take from the fallback's guess: only a grammar
/// pattern (the exact path) may produce them.
const EXACT_ONLY: &[&str] = &[
    "system.shutdown",
    "system.restart",
    "system.sleep",
    // A yes or no means something only as the answer to a question, which the grammar
    // knows.
    "assistant.confirm",
    "assistant.deny",
];

/// A greeting or thanks the grammar did not know ("thank you ever so much for that",
/// "hello, how are things") may be guessed only when it says a word of greeting or
/// thanks and is none of the things Whisper writes in silence ("Thank you for
/// watching.").
static GREETING_OR_THANKS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\b(?:thank|thanks|thx|appreciate|appreciated|grateful|gracias|hello|hi|hey|howdy|greetings|good (?:morning|afternoon|evening)|how are you|how are things|how you doing|how you are doing|how's it going|how is it going|how have you been|what's up|what's new)\b",
    )
    .expect("greeting regex")
});
static SAID_IN_SILENCE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:for watching|for listening|subscribe|no thanks|no thank you)\b")
        .expect("silence regex")
});

/// Every training sentence (class, normalized text); the first `spelled_right` are
/// spelled as they should be (the speller learns their words).
struct TrainingSentences {
    all: Vec<(String, String)>,
    spelled_right: usize,
}

/// Whether `intent` has every slot its intent requires (a timer's duration).
fn complete(intent: &Intent) -> bool {
    catalogue::required_slots(&intent.intent)
        .iter()
        .all(|slot| intent.slots.contains_key(*slot))
}

/// Removes the classifiers cached from earlier training sentences (`brain-*.bin` in
/// `cache_dir` but `keep`): each is ~10 MB and is never read again.
fn remove_stale_caches(cache_dir: &std::path::Path, keep: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(cache_dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if path != keep && name.starts_with("brain-") && name.ends_with(".bin") {
            if let Err(e) = std::fs::remove_file(&path) {
                tracing::debug!(path = %path.display(), error = %e, "stale classifier cache not removed");
            }
        }
    }
}

/// A command said twice in one breath, once as a guess ("i can't hear you and need
/// you to turn up the volume": the reason reads as a volume.up too), is done once: the
/// part the grammar understood stays. Two parts the grammar understood alike stay two,
/// as said.
fn said_once(parts: Vec<Clause>) -> Vec<Clause> {
    let mut out: Vec<Clause> = Vec::with_capacity(parts.len());
    for part in parts {
        if let Some(last) = out.last_mut() {
            let alike = last.intent.intent == part.intent.intent
                && last.intent.slots == part.intent.slots
                && last.delay_s == part.delay_s;
            let a_guess = last.source != Source::FastPath || part.source != Source::FastPath;
            // "silence the sound for me, mute it": said twice for emphasis. Two timers
            // (steps, items …) alike may be meant.
            let wanted_twice = MAY_BE_WANTED_TWICE.contains(&part.intent.intent.as_str());
            if alike && (a_guess || !wanted_twice) {
                if last.source != Source::FastPath {
                    let link = last.link;
                    *last = Clause { link, ..part };
                }
                continue;
            }
        }
        out.push(part);
    }
    out
}

/// "read me the shopping list and then take toothpaste off it": a list called "it" or
/// "that" is the list an earlier part named; with none named before, the part is not
/// understood (there is no list called "it").
fn list_referred_to(parts: &mut [Clause]) {
    let mut named: Option<Value> = None;
    for part in parts.iter_mut() {
        if !part.intent.intent.starts_with("list.") {
            continue;
        }
        match part.intent.slots.get("list").and_then(|l| l.as_str()) {
            Some("it" | "that" | "this" | "that one") => match &named {
                Some(list) => {
                    part.intent.slots.insert("list".into(), list.clone());
                }
                None => part.intent = Intent::unknown(1.0),
            },
            Some(_) => named = part.intent.slots.get("list").cloned(),
            None => {}
        }
    }
}

/// Whether the grammar understood every part of a piece or a corrected reading, and it
/// is a command: only talking to LUNA is none ("stop it, both of you" and "shut up, no
/// way" are said to anyone; "what am i allowed to ask" asks for something).
fn grammar_understood(parts: &[Clause]) -> bool {
    let understood = parts
        .iter()
        .all(|c| c.source == Source::FastPath && !c.intent.is_unknown());
    let to_luna_only = parts
        .iter()
        .all(|c| c.intent.intent.starts_with("assistant.") && c.intent.intent != "assistant.help");
    understood && !to_luna_only
}

/// Whether a piece is a thanks the grammar understood, and nothing else.
fn grammar_thanks(parts: &[Clause]) -> bool {
    matches!(parts, [only]
        if only.source == Source::FastPath && only.intent.intent == "assistant.thanks")
}

/// Whether a guess of `intent` may stand for `text` (see [`EXACT_ONLY`]).
fn may_guess(intent: &str, text: &str) -> bool {
    // ("a dad joke" is a kind of joke, not words to Dad.)
    if EXACT_ONLY.contains(&intent)
        || (SAID_TO_SOMEONE_ELSE.is_match(text) && !text.starts_with("dad joke"))
    {
        return false;
    }
    // "remind me how to tie a bow tie" asks to be told, now.
    if intent == "reminder.create" && RECALL_QUESTION.is_match(text) {
        return false;
    }
    // "remind him, not me": someone else's reminder, which LUNA cannot give.
    if intent == "reminder.create" && REMIND_SOMEONE_ELSE.is_match(text) {
        return false;
    }
    // A burglar alarm or a smoke alarm is not LUNA's; "who keeps turning the volume up"
    // asks who, not for it.
    if (intent.starts_with("alarm.") && SECURITY_ALARM.is_match(text)) || text.starts_with("who ") {
        return false;
    }
    // "what battery percentage is my phone at": another device's, which LUNA cannot read.
    if intent == "system.stats" && ANOTHER_DEVICE.is_match(text) {
        return false;
    }
    if intent == "time.now"
        && (TIME_ZONE_QUESTION.is_match(text) || TIME_OF_SOMETHING.is_match(text))
    {
        return false;
    }
    // "move my hotel booking to next weekend": a booking is the hotel's to move.
    if intent.starts_with("calendar.") && BOOKING.is_match(text) {
        return false;
    }
    // "next year maybe", "see you next week": a time, not the next track.
    if intent == "media.next" && NEXT_TIME.is_match(text) {
        return false;
    }
    // "what's the temperature in the nursery" asks a thermostat, not the weather.
    if intent == "weather.get" && slots::names_a_room(text) {
        return false;
    }
    // "I'll be down in two minutes" has a duration but asks for no timer.
    if intent == "timer.start" && !TIMER_WORD.is_match(text) {
        return false;
    }
    if matches!(intent, "assistant.greet" | "assistant.thanks") {
        return GREETING_OR_THANKS.is_match(text) && !SAID_IN_SILENCE.is_match(text);
    }
    true
}

/// Talk to somebody in the room ("mum what time is dinner", "mom the timer went off",
/// "did you add eggs to the list") or about oneself ("i forgot to add milk to the list
/// yesterday", "i'll be down in two minutes"): a guess is never taken from it (the
/// grammar may still answer).
static SAID_TO_SOMEONE_ELSE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&(format!(r"^(?:{VOCATIVE} |") + r"(?:did|have|has) (?:you|he|she|they) |i (?:forgot|already|just|never) |i've (?:already|just) |(?:i'll|i will|we'll|we will) be (?:down|back|there|home|ready|done|up|out|in|late|right|with you|off|over) |(?:i'll|i will|we'll|we will|i'm going to|i'm gonna) (?:add|put|do|write|make|get|set|turn|call|check|sort|deal with) (?:it|that|this|them|those) |(?:i|he|she|they|we|my [a-z]+|someone|somebody) (?:turned|set|put|played|paused|muted|opened|closed|added|asked|told|said|was|were|had|did|got|made|started|stopped|cancelled|canceled|called) )"))
        .expect("said-to regex")
});

/// Another assistant's wake word at the start ("hey google, …", "alexa, …"); "google
/// the opening hours" alone is a search.
static TO_ANOTHER_ASSISTANT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\W*(?:(?:hey|ok|okay|hi)\W+(?:google|alexa|siri|cortana|bixby)|(?:alexa|siri|cortana|bixby))\b")
        .expect("another assistant regex")
});

/// A device other than this computer whose battery, memory or storage people ask about.
static ANOTHER_DEVICE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:phone|phones|iphone|android|mobile|cell|cellphone|tablet|ipad|kindle|watch|smartwatch|fitbit|car|tesla|earbuds|airpods|headphones|headset|controller|mouse|keyboard)(?:'s)?\b")
        .expect("another device regex")
});

/// "what time is the news on tonight", "what time does the pharmacy close": when
/// something happens, not the time now; "… what time it was back home": a time past.
static TIME_OF_SOMETHING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\bwhat time (?:it was|(?:is|does|do|did|will|was) (?:the|a|an|my|our|your|his|her|their|that|this) (?:[a-z'-]+ ){0,4}?(?:on|start|starts|open|opens|close|closes|begin|begins|end|ends|finish|finishes|leave|leaves|arrive|arrives|kick off|kicks off|come on|comes on|air|airs|land|lands|get in|gets in)\b)")
        .expect("time of something regex")
});

/// A booking or reservation made with someone else (a hotel, a restaurant, an airline).
static BOOKING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:booking|bookings|reservation|reservations)\b").expect("booking regex")
});

/// "what time zone is arizona in" asks which zone, not the time.
static TIME_ZONE_QUESTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:what|which) (?:time ?zone|timezone)\b").expect("time zone regex")
});

/// Whom people in a home call each other (never LUNA).
const VOCATIVE: &str = concat!(
    "(?:mum|mom|mummy|mommy|mam|ma|dad|daddy|papa|grandma|grandpa|granny|nana|honey|hun|babe|sweetie|darling|love|kids|guys|boys|girls|",
    // People's first names said first ("kevin, turn that down, i'm on the phone"); none
    // is a word of a command or near "luna".
    "james|john|robert|michael|david|richard|joseph|thomas|tom|tommy|charles|chris|christopher|daniel|dan|danny|matthew|matt|anthony|tony|steven|steve|paul|andrew|andy|joshua|josh|kevin|brian|ryan|jacob|jake|gary|eric|jason|justin|jonathan|jon|stephen|nicholas|nick|tyler|aaron|adam|nathan|ethan|noah|liam|oliver|ollie|harry|george|jamie|sam|sammy|ben|benjamin|alex|alexander|leo|charlie|alfie|freddie|archie|theo|oscar|henry|owen|dylan|jordan|connor|callum|kyle|mary|patricia|jennifer|jen|jenny|linda|elizabeth|liz|lizzie|barbara|susan|sue|jessica|jess|sarah|karen|lisa|nancy|betty|sandra|ashley|emily|emma|olivia|sophie|sophia|chloe|ellie|amelia|isla|ava|mia|lily|ruby|poppy|charlotte|megan|amy|rachel|rebecca|becky|katie|kate|kathy|michelle|nicole|stephanie|heather|melissa|amanda|natalie|abigail|abby|grace|molly|holly|evie|zoe|maisie|freya|erin|jade|helen|julia|claire|",
    "priya|raj|ravi|arjun|rohan|vikram|deepak|amit|anil|neha|pooja|ananya|anika|sunita|aisha|fatima|omar|ali|ahmed|mohammed|hassan|yusuf|zara|layla|leila|noor|sana|maria|jose|carlos|juan|luis|sofia|lucia|diego|miguel|wei|mei|hiro|yuki|kenji|kwame|kofi|chidi|ngozi|tunde",
    ")"
);

/// "mom can you pause the tv, i'm coming": a request to somebody in the room.
static TO_SOMEONE_IN_THE_ROOM: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!(r"^{VOCATIVE} ")).expect("vocative regex"));

/// An alarm that guards a house or warns of fire: "arm the burglar alarm", "disarm the
/// alarm system", "the smoke alarm keeps beeping".
static SECURITY_ALARM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:arm|disarm|burglar|security|intruder|house alarm|car alarm|smoke|fire alarm|carbon monoxide|alarm system|alarm panel|alarm code)\b")
        .expect("security alarm regex")
});

/// "remind me how to …", "remind me what the wifi password is": a question.
static RECALL_QUESTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\bremind me (?:how|what|why|who|where|which|whether|if)\b").expect("recall regex")
});

/// "next" of a time: "next year", "next tuesday".
static NEXT_TIME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\bnext (?:year|week|month|time|day|weekend|morning|night|[a-z]+day)\b")
        .expect("next time regex")
});

/// "remind him to …", "remind your dad": not the speaker.
static REMIND_SOMEONE_ELSE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\bremind (?:him|her|them|your|his|their|dad|mum|mom)\b").expect("remind regex")
});

/// A word that asks for a timer (or for being told when time is up).
static TIMER_WORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:timers?|time|countdown|count|clock|remind|let me know|tell me|alert|ping|beep|ring|buzz|notify|wake|set|start)\b")
        .expect("timer word regex")
});

/// Intents whose step asks for what is missing ("For how long?", "For what time?",
/// "What should I remind you about?"), so "set a timer" is understood without one.
const ASKS_WHEN_MISSING: &[&str] = &["timer.start", "alarm.set", "reminder.create"];

/// The longest utterance searched for a command inside it, and how many of its spans
/// are tried (longest first): wordy people say 15–45 words around a request.
const RESCUE_MAX_WORDS: usize = 60;
const RESCUE_MAX_TRIES: usize = 64;
/// A span of a wordy utterance the classifier may answer for: short, and a sure guess.
const RESCUE_GUESS_MAX_WORDS: usize = 14;
const RESCUE_GUESS_THRESHOLD: f32 = 0.85;
/// Shorter utterances were judged whole by the classifier already.
const RESCUE_GUESS_MIN_WORDS: usize = 14;

/// Intents that make something or take a step: two alike in one breath may both be
/// meant ("turn it up and turn it up"). The others are said twice for emphasis.
const MAY_BE_WANTED_TWICE: &[&str] = &[
    "volume.up",
    "volume.down",
    "brightness.up",
    "brightness.down",
    "media.next",
    "media.previous",
    "timer.start",
    "alarm.set",
    "reminder.create",
    "note.create",
    "list.add",
    "calendar.create",
];

/// The longest utterance read as two clipped commands without a connector.
const CLIPPED_PAIR_MAX_WORDS: usize = 8;

/// Connectors beyond which an utterance is not split.
const MAX_CONNECTORS: usize = 6;

/// "another one for 25 minutes", "one more at 7:30", "set a new one for 7:30": the
/// previous part's kind again (after a cancel, the kind cancelled).
static ANOTHER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:(?:set|make|start|create|put on|give me|add) )?(?:another|one more|a second|a new)(?: (?:one|1|timer|alarm|reminder))? (.+)$")
        .expect("another regex")
});

/// "set 2 timers, 1 for 8 minutes and 1 for 15 minutes": the second of them.
static ONE_FOR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:1|the other|the other 1|the second|the second 1|then 1) ((?:for|at) .+)$")
        .expect("one-for regex")
});

/// "… and another for 12 for the fish": a bare number after a timer of minutes.
static BARE_NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^for (\d+(?:\.\d+)?)(?: (?:for|on) .+)?$").expect("bare number regex")
});
static DURATION_UNIT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:seconds?|secs?|minutes?|mins?|hours?|hrs?)\b").expect("unit regex")
});

/// A lead-in that reports a command or asks about one ("my mum always tells me to turn
/// the music down", "did you remember to add eggs to the list", "did you add eggs to
/// the list"), or tells of one's own plans ("i've been meaning to make a packing list
/// for weeks", "i'll add it to the list later").
static REPORTED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:\b(?:tells?|told|telling|asks?|asked|asking|wants?|wanted|reminds?|reminded) (?:me|us|him|her|them|you) to|\bdid (?:you|he|she|they|we|i) (?:remember|forget) to|\b(?:did|have|has|had) (?:you|he|she|they|we|i|dad|mum|mom)|\b(?:i'll|i will|we'll|we will|i'm going to|i am going to|i'm gonna|we're going to|i should|we should)|\b(?:been meaning|meant|planning|forgot|keep forgetting|kept forgetting|tried|trying|was supposed|were supposed|used|would always) to)$")
        .expect("reported regex")
});

/// A lead-in asking how a thing is done ("how do you | play texas hold'em", "do you know
/// how to | set the clock on the oven"): a question, not the command.
static HOW_TO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|\b)how (?:do|does|did|can|could|would|should|will) (?:you|i|we|they|he|she|one|people)$|\bhow (?:to|you)$")
        .expect("how-to regex")
});

/// Intents that schedule by themselves: "in 10 minutes" is their slot, not a delay.
const SCHEDULING: &[&str] = &["timer.start", "reminder.create", "alarm.set"];

impl Brain {
    pub fn new(model: Arc<BrainModel>, settings: BrainSettings) -> Self {
        let size = settings.cache_size.max(1);
        Self {
            model,
            parse_cache: Cache::new(size),
            context_cache: Cache::new(size),
            plan_cache: Cache::new(size),
            stats: CacheStats::default(),
            context: Context::new(settings.max_context_history),
            settings,
        }
    }

    pub fn model(&self) -> &Arc<BrainModel> {
        &self.model
    }

    pub fn cache_stats(&self) -> CacheStats {
        self.stats
    }

    pub fn context(&self) -> &Context {
        &self.context
    }

    /// Forgets the conversation (caches stay: they never depend on forgotten context).
    pub fn clear_context(&mut self) {
        self.context = Context::new(self.settings.max_context_history);
    }

    /// Understands one command in the current context, and remembers it as context.
    pub fn understand(&mut self, text: &str) -> Understanding {
        let (parse, cached) = self.parse(text);
        let (clauses, used_context) = self.resolve(&parse);
        let plan = self.plan(&clauses);
        let intents: Vec<Intent> = clauses.iter().map(|c| c.intent.clone()).collect();
        self.context.remember(&intents);
        let source = if cached {
            Source::Cache
        } else if clauses.iter().all(|c| c.source == Source::FastPath) {
            Source::FastPath
        } else if clauses.iter().any(|c| c.source == Source::Encoder) {
            Source::Encoder
        } else {
            Source::Fallback
        };
        Understanding {
            text: text.to_owned(),
            normalized: parse.normalized.clone(),
            intents,
            source,
            used_context,
            plan,
        }
    }

    /// The best of what speech to text heard: `heard` when any of it is understood, else
    /// the first of `alternatives` (Whisper's other readings, likeliest first) that is
    /// understood whole, else `heard`'s unknown. Only the chosen reading touches the
    /// conversation's context.
    pub fn understand_heard(&mut self, heard: &str, alternatives: &[String]) -> Understanding {
        let understood_whole = |p: &Parse| !p.clauses.iter().any(|c| c.intent.is_unknown());
        if !alternatives.is_empty() && self.parse(heard).0.is_unknown() {
            let chosen = alternatives
                .iter()
                .find(|a| understood_whole(&self.parse(a).0));
            if let Some(alternative) = chosen {
                return self.understand(alternative);
            }
        }
        self.understand(heard)
    }

    /// Context-free parse, cached by the raw text. Returns whether it came from the cache.
    pub fn parse(&mut self, text: &str) -> (Arc<Parse>, bool) {
        if let Some(hit) = self.parse_cache.get(text) {
            self.stats.parse.hits += 1;
            return (Arc::clone(hit), true);
        }
        self.stats.parse.misses += 1;
        let parse = Arc::new(self.parse_uncached(text));
        self.parse_cache.insert(text.to_owned(), Arc::clone(&parse));
        (parse, false)
    }

    /// Normalizes and parses without the cache or context (for benchmarks and tools).
    pub fn parse_uncached(&self, text: &str) -> Parse {
        let mut normalized = normalize(text);
        // "Hey Google, what's the traffic like": said to another assistant.
        if TO_ANOTHER_ASSISTANT.is_match(text) {
            return Parse {
                clauses: vec![Clause {
                    text: normalized.clone(),
                    intent: Intent::unknown(1.0),
                    source: Source::FastPath,
                    link: Link::First,
                    delay_s: None,
                }],
                normalized,
            };
        }
        let mut clauses = self.segment(&normalized, true);
        match clauses.as_slice() {
            [only] if only.intent.is_unknown() => {
                if let Some(found) = self.said_between_stops(text, &normalized) {
                    clauses = found;
                }
            }
            // Guessed whole, understood phrase by phrase as the guess and more ("Luna,
            // mute it and lock the computer, I'm off for lunch.": the guess was the mute
            // alone).
            [only] if only.source != Source::FastPath => {
                if let Some(found) = self.said_between_stops(text, &normalized) {
                    let more = found.iter().any(|c| c.intent.intent != only.intent.intent);
                    let guessed = found.iter().any(|c| c.intent.intent == only.intent.intent);
                    if more && guessed {
                        clauses = found;
                    }
                }
            }
            _ => {}
        }
        // "Thanks Luna, now skip to the next song.": the command found inside, and the
        // thanks before it answered too.
        let thanked = ["thank", "cheers", "ta ", "many thanks", "much appreciated"]
            .iter()
            .any(|t| normalized.starts_with(t));
        if thanked
            && !clauses
                .iter()
                .any(|c| c.intent.is_unknown() || c.intent.intent == "assistant.thanks")
        {
            if let Some(thanks) = self.thanks_first(text) {
                if let Some(first) = clauses.first_mut() {
                    first.link = Link::Parallel;
                }
                clauses.insert(0, thanks);
            }
        }
        // Not understood, or only guessed by a classifier: slips corrected, the grammar
        // may understand it (and find its slots: "set timr for 25 minits").
        if matches!(clauses.as_slice(), [only] if only.intent.is_unknown() || only.source != Source::FastPath)
        {
            let guess = clauses[0].intent.clone();
            if let Some((corrected, found)) = self.spelled_right(&normalized, &guess) {
                normalized = corrected;
                clauses = found;
            }
        }
        list_referred_to(&mut clauses);
        Parse {
            clauses,
            normalized,
        }
    }

    /// A sentence understood only once its typed slips are corrected ("set timr for 25
    /// minits"): the corrected text and what the grammar makes of it. Only the grammar
    /// answers, as for pieces: a classifier would take a wrong correction too, unless
    /// its guess at the reading has every slot its intent needs, and `guess` (what was
    /// made of `normalized`) was nothing or that intent without them ("set timr for 25
    /// minits …": no duration before).
    fn spelled_right(&self, normalized: &str, guess: &Intent) -> Option<(String, Vec<Clause>)> {
        let completes = |reading: &Intent| {
            !catalogue::required_slots(&reading.intent).is_empty()
                && complete(reading)
                && (guess.is_unknown() || (guess.intent == reading.intent && !complete(guess)))
        };
        spelling::misheard_reading(normalized)
            .into_iter()
            .chain(self.model.speller.readings(normalized))
            .find_map(|corrected| {
                let parts = self.segment(&corrected, false);
                let completed = matches!(parts.as_slice(), [only] if completes(&only.intent));
                (grammar_understood(&parts) || completed).then_some((corrected, parts))
            })
    }

    /// The thanks said as the first of several pieces ("Thanks Luna, …"), as the grammar
    /// understands it.
    fn thanks_first(&self, text: &str) -> Option<Clause> {
        // What is said before the first stop ("thanks, now turn the volume down": a
        // piece of one word is no command, but it may be the thanks).
        let (first, rest) = text.split_once([',', '.', '!', ';'])?;
        if rest.trim().is_empty() {
            return None;
        }
        let first = normalize(first);
        let mut parts = self.segment(&first, false);
        if grammar_thanks(&parts) {
            parts.pop()
        } else {
            None
        }
    }

    /// An utterance understood neither whole nor in parts, said in several sentences or
    /// phrases (as Whisper punctuates speech): the pieces understood by the grammar, in
    /// order ("Hang on, guys. Luna, pause this."; "Can you restart my PC? The Wi-Fi's
    /// acting weird."). Only the grammar answers for a piece, as in `rescue`; a piece of
    /// one word, or one that only greets, thanks or talks to LUNA, is no command by itself
    /// (asking what LUNA can do is). `normalized` is the whole of `text`, normalized.
    fn said_between_stops(&self, text: &str, normalized: &str) -> Option<Vec<Clause>> {
        // "Kevin, turn that down, I'm on the phone!": every piece said to Kevin, unless
        // LUNA is called later ("Kids, five more minutes. Luna, set a timer …").
        if TO_SOMEONE_IN_THE_ROOM.is_match(normalized)
            && !normalized.split_whitespace().any(|w| w == "luna")
        {
            return None;
        }
        let pieces = normalize::pieces(text);
        if pieces.len() > MAX_CONNECTORS {
            return None;
        }
        let mut found: Vec<Clause> = Vec::new();
        let mut commands = 0;
        let mut thanked_first = false;
        // "you have given me so much information, thank you": thanks for what was said
        // or done, with a remark about it or praise ("you", "that", "great help"). Not
        // "… it worked perfectly well, thank you very much", said of one's own things.
        let mut thanked = false;
        let mut about_what_was_done = false;
        for (n, piece) in pieces.into_iter().enumerate() {
            // The encoder's answer would not be taken for a piece: not asked.
            let parts = self.segment(&piece, false);
            // Thanks said before a command ("Thanks Luna, you can stop the music now.") is
            // answered too; after one it is politeness ("… for 30 minutes? Thank you,
            // dear."), and alone between stops no command.
            let thanks = commands == 0 && grammar_thanks(&parts);
            thanked_first |= thanks && n == 0;
            thanked |= thanks;
            about_what_was_done |= !thanks
                && piece.split_whitespace().any(|w| {
                    matches!(
                        w,
                        "you"
                            | "you've"
                            | "you're"
                            | "your"
                            | "that"
                            | "that's"
                            | "this"
                            | "help"
                            | "helped"
                            | "helpful"
                            | "great"
                            | "awesome"
                            | "brilliant"
                            | "perfect"
                            | "amazing"
                            | "lovely"
                            | "appreciate"
                            | "appreciated"
                    )
                });
            if grammar_understood(&parts) || thanks {
                commands += usize::from(!thanks);
                for mut part in parts {
                    if !found.is_empty() && part.link == Link::First {
                        part.link = Link::Parallel;
                    }
                    found.push(part);
                }
            }
        }
        // Thanks and a remark ("thanks a bunch, that saved my pasta"): the thanks. Not a
        // remark and then thanks ("who won the game last night? thank you."): a question
        // LUNA cannot answer, thanked for in advance.
        let thanked_for_something = thanked && about_what_was_done && !text.contains('?');
        let thanked_only = (thanked_first || thanked_for_something)
            && matches!(found.as_slice(), [only] if only.intent.intent == "assistant.thanks");
        (commands > 0 || thanked_only).then(|| said_once(found))
    }

    fn resolve(&mut self, parse: &Parse) -> (Vec<Clause>, bool) {
        let Some(fingerprint) = self.context.fingerprint_for(&parse.clauses) else {
            return (parse.clauses.clone(), false);
        };
        let key = (Arc::<str>::from(parse.normalized.as_str()), fingerprint);
        if let Some(hit) = self.context_cache.get(&key) {
            self.stats.context.hits += 1;
            return ((**hit).clone(), true);
        }
        self.stats.context.misses += 1;
        let resolved = self
            .context
            .resolve(&parse.clauses, &parse.normalized, &self.model.apps);
        self.context_cache.insert(key, Arc::new(resolved.clone()));
        (resolved, true)
    }

    fn plan(&mut self, clauses: &[Clause]) -> Arc<Plan> {
        let key = plan::cache_key(clauses);
        if let Some(hit) = self.plan_cache.get(&key) {
            self.stats.plan.hits += 1;
            return Arc::clone(hit);
        }
        self.stats.plan.misses += 1;
        let plan = Arc::new(Plan::build(clauses));
        self.plan_cache.insert(key, Arc::clone(&plan));
        plan
    }

    /// Splits at connectors when every part is understood on its own; an utterance
    /// understood neither whole nor in parts gets one more look for a command inside it,
    /// then (when only the classifier had a say, and `second_opinion`) the sentence
    /// encoder's.
    fn segment(&self, normalized: &str, second_opinion: bool) -> Vec<Clause> {
        let parts = self.split_parts(normalized);
        if let [only] = parts.as_slice() {
            // The classifier's guess at the whole found no slots, and the grammar on a
            // command inside it agrees: the grammar's reading has them ("can you move my
            // haircut from 5 to 6? the kids have swim").
            if only.source == Source::Fallback
                && !only.intent.is_unknown()
                && only.intent.slots.is_empty()
            {
                let same = |r: &Intent| r.intent == only.intent.intent;
                let found = self
                    .rescue(normalized)
                    .filter(same)
                    .or_else(|| self.grammar_at_either_end(normalized, &only.intent.intent));
                if let Some(mut intent) = found {
                    slots::enrich(&intent.intent, normalized, &mut intent.slots);
                    return vec![Clause {
                        intent,
                        source: Source::FastPath,
                        ..only.clone()
                    }];
                }
            }
            if only.intent.is_unknown() {
                let asked = second_opinion && only.source == Source::Fallback;
                let found = self
                    .rescue(normalized)
                    .map(|intent| (intent, Source::FastPath))
                    .or_else(|| {
                        asked
                            .then(|| self.second_opinion(normalized))
                            .flatten()
                            .map(|intent| (intent, Source::Encoder))
                    })
                    .or_else(|| {
                        asked
                            .then(|| self.guessed_inside(normalized))
                            .flatten()
                            .map(|intent| (intent, Source::Fallback))
                    });
                if let Some((mut intent, source)) = found {
                    slots::enrich(&intent.intent, normalized, &mut intent.slots);
                    return vec![Clause {
                        text: normalized.to_owned(),
                        intent,
                        source,
                        link: Link::First,
                        delay_s: None,
                    }];
                }
            }
        }
        parts
    }

    fn split_parts(&self, normalized: &str) -> Vec<Clause> {
        let whole = self.parse_clause(normalized, Link::First);
        let words: Vec<&str> = normalized.split_whitespace().collect();
        let connectors = words
            .iter()
            .filter(|w| {
                CONNECTORS
                    .iter()
                    .any(|(c, _)| c.split(' ').next() == Some(**w))
            })
            .count();
        // More parts than anyone says in one breath is not a command list: parse it whole
        // (this also bounds the work hostile input can cause).
        if connectors == 0 && whole.intent.is_unknown() {
            if let Some(parts) = self.said_without_connector(&words) {
                return parts;
            }
        }
        if connectors == 0 || connectors > MAX_CONNECTORS || words.len() < 3 {
            return vec![whole];
        }
        // A whole fast-path parse wins unless a slot swallowed a connector.
        let swallowed = whole.intent.slots.values().any(|v| {
            v.as_str().is_some_and(|s| {
                let padded = format!(" {s} ");
                CONNECTORS
                    .iter()
                    .any(|(c, _)| padded.contains(&format!(" {c} ")))
            })
        });
        if whole.source == Source::FastPath && !whole.intent.is_unknown() && !swallowed {
            return vec![whole];
        }
        match self.best_split(&words, 0, Link::First, 0) {
            Some(parts) if parts.len() > 1 => said_once(parts),
            _ => vec![whole],
        }
    }

    /// Two clipped commands said with nothing between them ("brightness down volume
    /// up"): a short utterance the grammar understands as two halves of two families
    /// (not greetings or thanks), each of two words or more.
    fn said_without_connector(&self, words: &[&str]) -> Option<Vec<Clause>> {
        if !(4..=CLIPPED_PAIR_MAX_WORDS).contains(&words.len()) {
            return None;
        }
        (2..=words.len() - 2).find_map(|i| {
            let (left, right) = (words[..i].join(" "), words[i..].join(" "));
            // The grammar first: a classifier's guess at a half is never taken.
            self.grammar_match(&left)?;
            self.grammar_match(&right)?;
            let left = self.parse_clause(&left, Link::First);
            let right = self.parse_clause(&right, Link::Parallel);
            let understood = |c: &Clause| {
                !c.intent.is_unknown()
                    && c.source == Source::FastPath
                    && !c.intent.intent.starts_with("assistant.")
            };
            let two_things =
                catalogue::family(&left.intent.intent) != catalogue::family(&right.intent.intent);
            (understood(&left) && understood(&right) && two_things).then(|| vec![left, right])
        })
    }

    /// The split of `words[start..]` into understood parts with the most fast-path
    /// parts (then the fewest parts), or `None` when some part is not understood.
    fn best_split(
        &self,
        words: &[&str],
        start: usize,
        link: Link,
        depth: usize,
    ) -> Option<Vec<Clause>> {
        if depth > 4 {
            return None;
        }
        // "… and | can you turn the brightness down": the politeness after a connector.
        let start = if start > 0 {
            start + normalize::lead_in_words(&words[start..])
        } else {
            start
        };
        let rest = words[start..].join(" ");
        let mut best: Option<Vec<Clause>> = None;
        let mut consider = |candidate: Vec<Clause>| {
            let score = |parts: &[Clause]| {
                let fast = parts
                    .iter()
                    .filter(|c| c.source == Source::FastPath)
                    .count() as i64;
                (
                    fast * 10 - parts.len() as i64,
                    (parts
                        .iter()
                        .map(|c| c.intent.confidence)
                        .fold(1.0f32, f32::min)
                        * 1000.0) as i64,
                )
            };
            if best.as_ref().is_none_or(|b| score(&candidate) > score(b)) {
                best = Some(candidate);
            }
        };
        let single = self.parse_clause(&rest, link);
        if !single.intent.is_unknown() {
            consider(vec![single]);
        }
        for i in start + 1..words.len() {
            for (connector, next_link) in CONNECTORS {
                let c: Vec<&str> = connector.split(' ').collect();
                if words.len() < i + c.len() + 1 || words[i..i + c.len()] != c[..] {
                    continue;
                }
                // "2 minutes and 30 seconds" is one duration, not two timers.
                if numbers::is_duration_unit(words[i - 1])
                    && words
                        .get(i + c.len() + 1)
                        .is_some_and(|u| numbers::is_duration_unit(u))
                {
                    continue;
                }
                let left_text = words[start..i].join(" ");
                let left = self.parse_clause(&left_text, link);
                if left.intent.is_unknown() {
                    continue;
                }
                let Some(mut right) = self.best_split(words, i + c.len(), *next_link, depth + 1)
                else {
                    // "open firefox and spotify": the verb carries over to a bare app.
                    if let Some(elided) =
                        self.elided(&left, &words[i + c.len()..].join(" "), *next_link)
                    {
                        let mut parts = vec![left.clone()];
                        parts.push(elided);
                        consider(parts);
                    }
                    continue;
                };
                let mut parts = vec![left];
                parts.append(&mut right);
                consider(parts);
            }
        }
        best
    }

    fn elided(&self, previous: &Clause, text: &str, link: Link) -> Option<Clause> {
        // "… and another one for 25 minutes for the cake": the same kind of thing again.
        if let Some(rest) = ANOTHER
            .captures(text)
            .or_else(|| ONE_FOR.captures(text))
            .and_then(|c| c.get(1))
        {
            // ("cancel my 7 am alarm and set a new one for 7:30": the kind cancelled.)
            let (lead, kind) = match previous.intent.intent.as_str() {
                "timer.start" | "timer.cancel" => ("set a timer", "timer.start"),
                "alarm.set" | "alarm.cancel" => ("set an alarm", "alarm.set"),
                "reminder.create" | "reminder.cancel" => ("remind me", "reminder.create"),
                _ => return None,
            };
            let mut rest = rest.as_str().to_owned();
            // "8 minutes for the chips and another for 12 for the fish": 12 minutes.
            if kind == "timer.start" {
                if let (Some(number), Some(unit)) = (
                    BARE_NUMBER.captures(&rest).and_then(|c| c.get(1)),
                    DURATION_UNIT.find(&previous.text),
                ) {
                    rest.insert_str(number.end(), &format!(" {}", unit.as_str()));
                }
            }
            let again = self.parse_clause(&format!("{lead} {rest}"), link);
            return (again.intent.intent == kind).then_some(Clause {
                text: text.to_owned(),
                ..again
            });
        }
        previous.intent.slots.get("app")?;
        let app = self.model.apps.resolve(text)?;
        let mut intent = previous.intent.clone();
        intent
            .slots
            .insert("app".into(), Value::from(app.name.clone()));
        Some(Clause {
            text: text.to_owned(),
            intent,
            source: previous.source,
            link,
            delay_s: None,
        })
    }

    /// One part: a trailing or leading "in 10 minutes" is a delay for intents that do
    /// not schedule themselves; then the fast path, then the fallback.
    fn parse_clause(&self, text: &str, link: Link) -> Clause {
        if let Some((rest, delay)) = split_delay(text) {
            let inner = self.parse_simple(rest);
            if !inner.0.is_unknown() && !SCHEDULING.contains(&inner.0.intent.as_str()) {
                return Clause {
                    text: text.to_owned(),
                    intent: inner.0,
                    source: inner.1,
                    link,
                    delay_s: Some(delay),
                };
            }
        }
        let (intent, source) = self.parse_simple(text);
        Clause {
            text: text.to_owned(),
            intent,
            source,
            link,
            delay_s: None,
        }
    }

    /// One part, with a room or device named at its end or start ("pause the music in
    /// the kitchen", "on the bedroom tv turn it down") taken out as the `room` slot of
    /// the intents that take one.
    fn parse_simple(&self, text: &str) -> (Intent, Source) {
        if let Some(c) = HERE_TAIL.captures(text) {
            let (intent, source) = self.parse_simple(&c["rest"]);
            if catalogue::takes_slot(&intent.intent, "room") {
                return (intent, source);
            }
        }
        if let Some((rest, room)) = split_room(text) {
            let (mut intent, source) = self.parse_part(rest);
            if catalogue::takes_slot(&intent.intent, "room") {
                intent.slots.insert("room".into(), Value::from(room));
                return (intent, source);
            }
        }
        let (intent, source) = self.parse_part(text);
        // The grammar with the place taken out is surer than a guess at the whole.
        if intent.is_unknown() || source != Source::FastPath {
            if let Some(found) = self.room_inside(text) {
                return (found, Source::FastPath);
            }
        }
        (intent, source)
    }

    /// A room or device named inside the command: "set an alarm in the bedroom for 5",
    /// "brightness 20 on the living room screen" (the place said with its preposition
    /// goes), "unpause the kitchen", "turn the bedroom speaker down" (the place as the
    /// object is "it"). Only the grammar may answer for what is left.
    fn room_inside(&self, text: &str) -> Option<Intent> {
        // Each place in turn, overlapping ("the tv in the living room": the space
        // between them belongs to both matches).
        let mut from = 0;
        while let Some(m) = ROOM_INSIDE.captures_at(text, from) {
            let whole = m.get(0)?;
            from = whole.start() + 1;
            let with_preposition = m.name("prep").is_some();
            let replacement = if with_preposition { " " } else { " it " };
            let rest = format!(
                "{}{replacement}{}",
                &text[..whole.start()],
                &text[whole.end()..]
            );
            let rest = rest.split_whitespace().collect::<Vec<_>>().join(" ");
            // "turn down the tv in the living room by 10%": the device is the object.
            let Some(mut intent) = self.grammar_or_device(&rest) else {
                continue;
            };
            let takes_room = catalogue::takes_slot(&intent.intent, "room");
            if !takes_room && !matches!(catalogue::family(&intent.intent), "alarm" | "brightness") {
                continue;
            }
            slots::enrich(&intent.intent, &rest, &mut intent.slots);
            if takes_room {
                intent
                    .slots
                    .insert("room".into(), Value::from(device_name(&m["room"])));
            }
            return Some(intent);
        }
        None
    }

    fn parse_part(&self, text: &str) -> (Intent, Source) {
        let (mut intent, source) = self.parse_pattern_or_fallback(text);
        if !intent.is_unknown() {
            slots::enrich(&intent.intent, text, &mut intent.slots);
            // "mute the living room tv": the device named is the room slot.
            let family = catalogue::family(&intent.intent);
            if matches!(family, "volume" | "media") && !intent.slots.contains_key("room") {
                if let Some(m) = DEVICE_OBJECT.find(text) {
                    intent
                        .slots
                        .insert("room".into(), Value::from(device_name(m.as_str())));
                }
            }
        }
        (intent, source)
    }

    fn parse_pattern_or_fallback(&self, text: &str) -> (Intent, Source) {
        if text.is_empty() {
            return (Intent::unknown(1.0), Source::FastPath);
        }
        if let Some(intent) = self.grammar_match(text) {
            return (intent, Source::FastPath);
        }
        (self.fallback(text), Source::Fallback)
    }

    /// The command inside an utterance that says more than the command: a reason
    /// before or after it ("i'm cooking so put on some motown", "quit minecraft it's
    /// dinnertime", "i need to schedule …"), or a device as its object ("mute the
    /// living room tv"). Only the grammar may answer for the part, never a guess.
    fn rescue(&self, text: &str) -> Option<Intent> {
        // "mom can you pause the tv, i'm coming": said to somebody else.
        if TO_SOMEONE_IN_THE_ROOM.is_match(text) {
            return None;
        }
        let words: Vec<&str> = text.split_whitespace().collect();
        for (a, b) in command_spans(&words) {
            // "… could you make the lounge speaker quieter": a device as the object.
            let found = self
                .app_referred_to(&words, a, b)
                .or_else(|| self.grammar_or_device(&words[a..b].join(" ")));
            if let Some(intent) = found {
                // Shutdown, restart and sleep may come from here: they wait for a yes.
                if !intent.is_unknown() && !intent.intent.starts_with("assistant.") {
                    return Some(intent);
                }
            }
        }
        self.device_as_object(text)
    }

    /// `intent` as the grammar reads it from the words at the start or the end of
    /// `text`, the longest first ("move my haircut from 5 to 6 | the kids have swim",
    /// "i'm doing the dishes so | could you stick some motown on in here").
    fn grammar_at_either_end(&self, text: &str, intent: &str) -> Option<Intent> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let n = words.len();
        if !(3..=RESCUE_GUESS_MAX_WORDS * 2).contains(&n) {
            return None;
        }
        (2..n).rev().find_map(|len| {
            [&words[..len], &words[n - len..]]
                .into_iter()
                .find_map(|span| {
                    let (found, source) = self.parse_simple(&span.join(" "));
                    (source == Source::FastPath && found.intent == intent && complete(&found))
                        .then_some(found)
                })
        })
    }

    /// "I don't want that Outlook thing pinging at me all evening, so please close it
    /// down": "it" in `words[a..b]` is the app named before it, when the grammar
    /// understands the request with the app in its place as opening or closing it.
    fn app_referred_to(&self, words: &[&str], a: usize, b: usize) -> Option<Intent> {
        if a == 0 || !words[a..b].contains(&"it") {
            return None;
        }
        let app = self.model.apps.find_in(&words[..a].join(" "))?;
        let named: Vec<&str> = words[a..b]
            .iter()
            .map(|w| if *w == "it" { app.name.as_str() } else { *w })
            .collect();
        self.grammar_match(&named.join(" "))
            .filter(|intent| matches!(intent.intent.as_str(), "app.open" | "app.close"))
    }

    /// The command among a wordy utterance's spans (as `rescue` finds them) that the
    /// classifier is surest of ("delete all of my alarms, i've retired now and i've no
    /// intention of ever being woken up by a beeping machine again"), at
    /// `RESCUE_GUESS_THRESHOLD`, when its guess may be made and its slots are there.
    /// Asked after the sentence encoder, which reads the whole.
    fn guessed_inside(&self, text: &str) -> Option<Intent> {
        let words: Vec<&str> = text.split_whitespace().collect();
        if words.len() < RESCUE_GUESS_MIN_WORDS {
            return None;
        }
        let mut best: Option<Intent> = None;
        for (a, b) in command_spans(&words) {
            if b - a > RESCUE_GUESS_MAX_WORDS {
                continue;
            }
            let intent = self.classifier_guess(&words[a..b].join(" "), RESCUE_GUESS_THRESHOLD);
            let surer = best
                .as_ref()
                .is_none_or(|b| intent.confidence > b.confidence);
            // The whole utterance must allow the guess too ("… what time it was back
            // home": the span "time it was back home" alone does not say it is past).
            if !intent.is_unknown()
                && !intent.intent.starts_with("assistant.")
                && surer
                && (intent.intent != "time.now" || !TIME_OF_SOMETHING.is_match(text))
            {
                best = Some(intent);
            }
        }
        best
    }

    /// The grammar's answer for `text`, else for it with a device named as its object
    /// (`device_as_object`).
    fn grammar_or_device(&self, text: &str) -> Option<Intent> {
        self.grammar_match(text)
            .or_else(|| self.device_as_object(text))
    }

    /// "mute the living room tv" → volume.mute with room "living room tv".
    fn device_as_object(&self, text: &str) -> Option<Intent> {
        // "turn off the tv" powers a device LUNA does not control; it is not a mute.
        const POWER: &[&str] = &["turn off", "turn on", "switch off", "switch on", "power"];
        if POWER.iter().any(|p| text.starts_with(p)) {
            return None;
        }
        let m = DEVICE_OBJECT.find(text)?;
        let room = device_name(m.as_str()).to_owned();
        for (stand_in, word) in [("the volume", "volume"), ("the music", "music")] {
            let said = format!("{}{stand_in}{}", &text[..m.start()], &text[m.end()..]);
            if let Some(mut intent) = self.grammar_match(&said) {
                let family = catalogue::family(&intent.intent);
                // "play the tennis match on the tv": the stand-in is not what to play.
                let stand_in_played = intent.slot_str("query").is_some_and(|q| q.contains(word));
                if matches!(family, "volume" | "media") && !stand_in_played {
                    intent.slots.insert("room".into(), Value::from(room));
                    return Some(intent);
                }
            }
        }
        None
    }

    /// The first grammar pattern that matches and whose slots convert.
    fn grammar_match(&self, text: &str) -> Option<Intent> {
        for rule in self.model.grammar.matching(text) {
            let Some(captures) = rule.regex.captures(text) else {
                continue;
            };
            let mut slots = Slots::new();
            let converted =
                rule.regex
                    .capture_names()
                    .flatten()
                    .all(|group| match captures.name(group) {
                        Some(m) => slots::convert(
                            grammar::slot_group(group),
                            m.as_str(),
                            &self.model.apps,
                            &mut slots,
                        )
                        .is_some(),
                        None => true,
                    });
            if converted {
                return Some(Intent {
                    intent: rule.intent.clone(),
                    confidence: rule.confidence,
                    slots,
                });
            }
        }
        None
    }

    fn fallback(&self, text: &str) -> Intent {
        self.classifier_guess(text, self.settings.confidence_threshold)
    }

    /// The n-gram classifier's guess at `text` (places masked) when it is sure to
    /// `threshold` and the guess may be made, with its slots; else `unknown`.
    fn classifier_guess(&self, text: &str, threshold: f32) -> Intent {
        let masked = places::mask(text);
        let prediction = self
            .model
            .classifier
            .predict(masked.as_deref().unwrap_or(text));
        let (known, p) = prediction.best_known;
        if prediction.intent == UNKNOWN || p < threshold || !may_guess(known, text) {
            return Intent::unknown(1.0 - p);
        }
        self.guessed(known, p, text)
    }

    /// The sentence encoder's answer for a sentence nothing else understood, when it is
    /// installed: the intent most probable by the encoder head's and the n-gram
    /// classifier's probabilities averaged (each catches the other's confident mistakes:
    /// on others' sentences the average halves the encoder alone's false accepts at the
    /// same recall), acted on at `encoder_threshold` when it is an intent a guess may
    /// produce and its slots are there.
    fn second_opinion(&self, text: &str) -> Option<Intent> {
        let encoder = self.model.encoder.as_ref()?;
        let masked = places::mask(text);
        let read = masked.as_deref().unwrap_or(text);
        let embedding = match encoder.encoder.embed(read) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(error = %e, "sentence encoder failed; answering unknown");
                return None;
            }
        };
        let head = encoder.head.probabilities(&embedding);
        let ngram = self.model.classifier.probabilities(read);
        let ngram_classes = self.model.classifier.classes();
        let (class, p) = encoder
            .head
            .classes()
            .iter()
            .zip(&head)
            .map(|(class, p_head)| {
                let p_ngram = ngram_classes
                    .iter()
                    .position(|c| c == class)
                    .map_or(0.0, |i| ngram[i]);
                (class.as_str(), (p_head + p_ngram) / 2.0)
            })
            .max_by(|a, b| a.1.total_cmp(&b.1))?;
        if class == UNKNOWN || p < self.settings.encoder_threshold || !may_guess(class, text) {
            return None;
        }
        let intent = self.guessed(class, p, text);
        (!intent.is_unknown()).then_some(intent)
    }

    /// A guessed intent with its slots, or `unknown` when the slots it needs are not there.
    fn guessed(&self, known: &str, p: f32, text: &str) -> Intent {
        match slots::lenient(known, text, &self.model.apps) {
            Some(slots)
                if ASKS_WHEN_MISSING.contains(&known)
                    || required_slots(known).iter().all(|s| slots.contains_key(*s)) =>
            {
                Intent {
                    intent: known.to_owned(),
                    confidence: p,
                    slots,
                }
            }
            // The intent is clear but what it needs is not: better to say so than guess.
            _ => Intent::unknown(1.0 - p * 0.5),
        }
    }
}

/// Where a command may sit in an utterance that says more than the command, longest
/// first: from the start to a reason ("quit minecraft | it's dinnertime"), or from
/// after a lead-in ("i'm cooking so | put on some motown") to the end or to a reason.
/// A bare verb is too little, and a command reported ("my mum tells me to …") is not
/// asked; at most `RESCUE_MAX_TRIES` spans of an utterance of at most `RESCUE_MAX_WORDS`.
fn command_spans(words: &[&str]) -> Vec<(usize, usize)> {
    if words.len() < 3 || words.len() > RESCUE_MAX_WORDS {
        return Vec::new();
    }
    let mut candidates: Vec<(usize, usize)> = Vec::new();
    // A reason after the command starts with one of these.
    const REASON_START: &[&str] = &[
        "it's",
        "its",
        "i'm",
        "im",
        "we're",
        "i've",
        "i'll",
        "someone's",
        "they're",
        "because",
        "since",
        "cause",
        "cuz",
        "he's",
        "she's",
        "i",
        "we",
        "so",
        "while",
        "please",
        "which",
        "we'll",
        "she'll",
        "he'll",
        "they'll",
        "rather",
        "if",
        "then",
        "as",
        "would",
        "or",
        "maybe",
        "i'd",
        "that'd",
        "that'll",
    ];
    // … and after a command said first ("20 minute nap timer | before i drive to
    // phoenix"); not after a lead-in, where they end too much ("when's thanksgiving, i
    // need to | know the date | before i book"). Not "my": "the volume on | my hearing
    // aid is too low", "where can i list | my vehicle" (measured 2026-12-07).
    const REASON_AFTER_FIRST: &[&str] = &["gotta", "before"];
    // The command after a lead-in ends after one of these.
    const LEAD_END: &[&str] = &[
        "so",
        "now",
        "please",
        "but",
        "ok",
        "okay",
        "what",
        "just",
        "to",
        "you",
        "can",
        "could",
        "would",
        "know",
        "wondering",
        "dear",
        "mind",
        "then",
        "luna",
        "right",
        "alright",
        "well",
    ];
    // Where a reason starts; "… bump the volume up by about 20 percent | that would help".
    let reason_at: Vec<bool> = (0..words.len())
        .map(|i| {
            REASON_START.contains(&words[i])
                || (words[i] == "that"
                    && words.get(i + 1).is_some_and(|n| {
                        matches!(*n, "would" | "will" | "should" | "might" | "way")
                    }))
        })
        .collect();
    for (i, w) in words.iter().enumerate().skip(1) {
        if reason_at[i] || REASON_AFTER_FIRST.contains(w) {
            candidates.push((0, i));
        }
    }
    for (i, w) in words.iter().enumerate() {
        // "… flour to | the shopping list": "to" before an article is a preposition.
        let preposition = *w == "to"
            && words.get(i + 1).is_some_and(|n| {
                matches!(
                    *n,
                    "the" | "my" | "a" | "an" | "our" | "your" | "this" | "that"
                )
            });
        // A question's first word leads into nothing ("what | note is on the fifth
        // fret").
        let question = i == 0 && *w == "what";
        if LEAD_END.contains(w) && i + 1 < words.len() && !preposition && !question {
            candidates.push((i + 1, words.len()));
            for (j, &reason) in reason_at.iter().enumerate().skip(i + 2) {
                if reason {
                    candidates.push((i + 1, j));
                }
            }
        }
    }
    // Longest parts first: the least said away.
    candidates.sort_by_key(|(a, b)| std::cmp::Reverse(b - a));
    candidates.dedup();
    candidates
        .into_iter()
        .take(RESCUE_MAX_TRIES)
        .filter(|&(a, b)| {
            b - a >= 2
                && !(a > 0 && {
                    let before = words[..a].join(" ");
                    REPORTED.is_match(&before) || HOW_TO.is_match(&before)
                })
        })
        .collect()
}

/// Rooms and devices people name with a media, volume or timer command.
const ROOMS: &str = r"(?:kitchen|living room|livingroom|lounge|bedroom|master bedroom|main bedroom|bathroom|office|home office|study|den|dining room|garage|basement|attic|hallway|hall|nursery|kids room|kids' room|playroom|guest room|family room|upstairs|downstairs|patio|porch|backyard|back yard|garden|laundry room|game room|[a-z]+'s room|[a-z]+s room)";
const DEVICES: &str = r"(?:speaker|speakers|tv|television|telly|display|stereo|soundbar|sound bar|radio|echo|smart speaker|device|screen|hifi|hi fi)";

static ROOM_TAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"^(?P<rest>.+?) (?:(?:on|in|through|from|at|for|to|in the|over) (?:the |my |our )?(?P<room>{ROOMS}(?: {DEVICES})?|{DEVICES})|(?P<area>downstairs|upstairs|everywhere|(?:through|throughout|around|all over|in) (?:the )?(?:whole )?house|in every room|all through the house))$"
    ))
    .expect("room regex")
});

/// A room or device anywhere in a command, maybe with its preposition.
static ROOM_INSIDE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?:^| )(?P<prep>(?:on|in|for|from|through|at|over) )?(?P<room>(?:the |my |our )?(?:{ROOMS}(?: {DEVICES})?|(?:{ROOMS} )?{DEVICES}))(?: |$)"
    ))
    .expect("room inside regex")
});

/// "stick some motown on in here": this room is where LUNA is.
static HERE_TAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?P<rest>.+?) (?:in|out|over|right) here$").expect("here regex")
});
/// Clipped speech names the room last without a preposition: "vol up living room".
static ROOM_BARE_TAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"^(?P<rest>.+?) (?:the |my )?(?P<room>(?:kitchen|living room|lounge|bedroom|bathroom|office|den|dining room|garage|basement|nursery|playroom|guest room|family room)(?: {DEVICES})?)$"
    ))
    .expect("bare room regex")
});
static ROOM_HEAD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"^(?:in|on|for) (?:the |my |our )?(?P<room>{ROOMS}(?: {DEVICES})?|{DEVICES}) (?P<rest>.+)$"
    ))
    .expect("room regex")
});

/// A speaker or screen named as what a volume or media command acts on.
static DEVICE_OBJECT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"\b(?:(?:the|my|our) )?(?:{ROOMS} )?(?:tv|television|telly|speaker|speakers|stereo|soundbar|sound bar|echo|smart speaker)\b"
    ))
    .expect("device regex")
});

/// "the living room tv" → "living room tv": the device as the `room` slot names it.
fn device_name(said: &str) -> &str {
    ["the ", "my ", "our "]
        .iter()
        .find_map(|a| said.strip_prefix(a))
        .unwrap_or(said)
}

/// "play jazz in the kitchen" → ("play jazz", "kitchen").
fn split_room(text: &str) -> Option<(&str, String)> {
    let c = ROOM_TAIL
        .captures(text)
        .or_else(|| ROOM_HEAD.captures(text))
        .or_else(|| ROOM_BARE_TAIL.captures(text))?;
    let rest = c.name("rest")?;
    let room = c.name("room").or_else(|| c.name("area"))?.as_str();
    // "through the whole house", "all over the house": everywhere.
    let room = if room.ends_with("house") || room == "in every room" {
        "whole house"
    } else {
        room
    };
    Some((&text[rest.start()..rest.end()], room.to_owned()))
}

/// "mute in 10 minutes" → ("mute", 600); "in 5 minutes turn off the music" likewise.
fn split_delay(text: &str) -> Option<(&str, u64)> {
    for marker in [" in ", " after "] {
        if let Some(pos) = text.rfind(marker) {
            let tail = &text[pos + marker.len()..];
            if let Some(secs) = numbers::parse_duration(tail) {
                return Some((text[..pos].trim(), secs));
            }
        }
    }
    for marker in ["in ", "after "] {
        if let Some(rest) = text.strip_prefix(marker) {
            let words: Vec<&str> = rest.split_whitespace().collect();
            for cut in (1..words.len()).rev() {
                if let Some(secs) = numbers::parse_duration(&words[..cut].join(" ")) {
                    let start = rest.len() - words[cut..].join(" ").len();
                    return Some((rest[start..].trim(), secs));
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::sync::LazyLock;

    static MODEL: LazyLock<Arc<BrainModel>> =
        LazyLock::new(|| Arc::new(BrainModel::builtin().unwrap()));

    fn brain() -> Brain {
        Brain::new(Arc::clone(&MODEL), BrainSettings::default())
    }

    fn intents(u: &Understanding) -> Vec<(String, serde_json::Value)> {
        u.intents
            .iter()
            .map(|i| (i.intent.clone(), serde_json::to_value(&i.slots).unwrap()))
            .collect()
    }

    fn one(text: &str) -> (String, serde_json::Value) {
        let u = brain().understand(text);
        assert_eq!(u.intents.len(), 1, "{text}: {:?}", u.intents);
        intents(&u).remove(0)
    }

    #[test]
    fn a_reminder_keeps_its_day() {
        assert_eq!(
            one("remind me tomorrow at 9 to call mom"),
            (
                "reminder.create".into(),
                json!({"text": "call mom", "at": "09:00", "date": "tomorrow"})
            )
        );
        assert_eq!(
            one("Would you remind me on the 14th to send the rent to my landlord?").1,
            json!({"text": "send the rent to my landlord", "date": "---14"})
        );
        assert_eq!(
            one("remind me to pay the rent on friday").1,
            json!({"text": "pay the rent", "date": "friday"})
        );
        // A day inside what to be reminded of is not the reminder's day.
        // A reminder's hour without am or pm is in the afternoon up to 6.
        assert_eq!(
            one("remind me at 5 to call mom").1,
            json!({"text": "call mom", "at": "17:00"})
        );
        assert_eq!(
            one("remind me to book the friday club at 6 pm").1,
            json!({"text": "book the friday club", "at": "18:00"})
        );
    }

    #[test]
    fn a_command_among_other_sentences_is_found() {
        assert_eq!(one("Hang on, guys. Luna, pause this.").0, "media.pause");
        assert_eq!(
            one("Can you restart my PC? The Wi-Fi's acting weird.").0,
            "system.restart"
        );
        let u = brain()
            .understand("Little quieter, the neighbours are complaining. And what time is it?");
        let got: Vec<&str> = u.intents.iter().map(|i| i.intent.as_str()).collect();
        assert_eq!(got, ["volume.down", "time.now"]);
        // A bare word or a greeting between commas is no command by itself.
        for text in [
            "Next, on the agenda, is the budget review.",
            "Hello, my name is Sam, nice to meet you.",
        ] {
            assert!(brain().understand(text).is_unknown(), "{text}");
        }
    }

    #[test]
    fn clipped_commands_are_understood() {
        let u = brain().understand("brightness up volume down");
        let got: Vec<&str> = u.intents.iter().map(|i| i.intent.as_str()).collect();
        assert_eq!(got, ["brightness.up", "volume.down"]);
        for (text, intent, slot, value) in [
            ("vol down bedroom", "volume.down", "room", json!("bedroom")),
            ("videos folder", "folder.open", "folder", json!("videos")),
            (
                "songs by fleetwood mac",
                "media.play",
                "query",
                json!("fleetwood mac"),
            ),
            (
                "agenda tomorrow",
                "calendar.list",
                "date",
                json!("tomorrow"),
            ),
            (
                "15% tip on 80 dollars",
                "calc.evaluate",
                "expression",
                json!("15 / 100 * 80"),
            ),
            (
                "minute and a half timer",
                "timer.start",
                "duration_s",
                json!(90),
            ),
        ] {
            let (got, slots) = one(text);
            assert_eq!(got, intent, "{text}");
            assert_eq!(slots[slot], value, "{text}: {slots}");
        }
        // The same kind twice is one request said twice, not two.
        let u = brain().understand("what should i wear today is it chilly");
        assert_eq!(u.intents.len(), 1, "{u:?}");
    }

    #[test]
    fn a_request_inside_a_long_story_is_found() {
        // More than 30 words: the grammar finds the command inside.
        assert_eq!(
            one("My neighbour came round for coffee and we got chatting for ages and I completely lost track, so could you cancel all the timers I set this morning, please?").0,
            "timer.cancel"
        );
        // The classifier's surest span, when the grammar has none.
        assert_eq!(
            one("The vicar popped in earlier and we had a lovely chat about the church roof and the bake sale, so I'd quite like to pause the music for a bit if that's alright.").0,
            "media.pause"
        );
        // "would you mind" and a gerund: the command.
        assert_eq!(
            one("The laptop's crawling along, so would you mind quitting Firefox for now.").0,
            "app.close"
        );
        assert_eq!(
            one("The quiz night needs pushing back an hour, half the team are stuck in traffic.").0,
            "calendar.move"
        );
        // "it" is the app named in the story.
        let (intent, slots) = one("That Spotify thing keeps blaring adverts at me all afternoon, so please close it down.");
        assert_eq!(
            (intent.as_str(), &slots["app"]),
            ("app.close", &json!("spotify"))
        );
        // A story with no request in it stays a story.
        assert!(brain()
            .understand("My sister was telling me about her trip to the Lake District and how it rained every single day, so they mostly stayed in and played cards.")
            .is_unknown());
    }

    #[test]
    fn what_was_done_once_and_questions_thanked_for_are_not_commands() {
        for text in [
            "My grandad used to play Glenn Miller every Sunday while he polished his shoes.",
            "Who won the rugby last night? Thank you.",
            "Play the voicemail from Dad.",
            "next year maybe",
        ] {
            assert!(brain().understand(text).is_unknown(), "{text}");
        }
        // Said twice for emphasis: done once.
        assert_eq!(
            one("The racket from next door is unbearable, silence the sound for me, mute it.").0,
            "volume.mute"
        );
        let u = brain().understand("Thanks for that, and now could you lock the computer.");
        let got: Vec<&str> = u.intents.iter().map(|i| i.intent.as_str()).collect();
        assert_eq!(got, ["assistant.thanks", "system.lock"]);
    }

    #[test]
    fn somebody_elses_command_reported_is_not_done() {
        for text in [
            "my mum always tells me to turn the music down",
            "did you remember to add eggs to the list",
            "i've been meaning to make a packing list for, like, weeks",
            "Did you add eggs to the list, babe?",
            "I'll add it to the list later",
        ] {
            let u = brain().understand(text);
            assert!(
                !u.intents
                    .iter()
                    .any(|i| i.intent == "volume.down" || i.intent == "list.add"),
                "{text}: {:?}",
                u.intents
            );
            assert!(
                !u.intents.iter().any(|i| i.intent == "list.create"),
                "{text}"
            );
        }
        assert_eq!(one("i'm cooking so turn the music down").0, "volume.down");
        // Said to anyone, not a command to LUNA; a one-word command and its reason is one.
        assert!(brain()
            .understand("Stop it, both of you, give the tablet back!")
            .is_unknown());
        assert_eq!(
            one("Reboot, the mic stopped working again.").0,
            "system.restart"
        );
        let names = |text: &str| -> Vec<String> {
            let u = brain().understand(text);
            u.intents.into_iter().map(|i| i.intent).collect()
        };
        // Guessed whole, understood phrase by phrase as more than the guess.
        assert_eq!(
            names("Luna, mute it and lock the computer, I'm off for lunch."),
            ["volume.mute", "system.lock"]
        );
        // Thanks before a command is answered too; after one it is politeness.
        assert_eq!(
            names("Thanks Luna, you can stop the music now."),
            ["assistant.thanks", "media.stop"]
        );
        assert_eq!(
            names("Would you be so kind as to set a timer for thirty minutes? Thank you, dear."),
            ["timer.start"]
        );
        // A room's temperature is a thermostat's.
        assert!(brain()
            .understand("what's the temperature in the nursery")
            .is_unknown());
    }

    #[test]
    fn a_command_guessed_twice_in_one_breath_is_done_once() {
        let u = brain().understand("i can't hear you and need you to turn up the volume");
        let got: Vec<&str> = u.intents.iter().map(|i| i.intent.as_str()).collect();
        assert_eq!(got, ["volume.up"]);
        // Said twice on purpose, both understood by the grammar: done twice.
        let u = brain().understand("turn up the volume and turn up the volume");
        assert_eq!(u.intents.len(), 2, "{:?}", u.intents);
    }

    #[test]
    fn a_guessed_greeting_or_thanks_needs_a_word_of_one() {
        assert!(may_guess(
            "assistant.thanks",
            "thank you ever so much for that"
        ));
        assert!(may_guess("assistant.greet", "hello how are things"));
        assert!(may_guess("assistant.greet", "tell me how you are doing"));
        assert!(!may_guess("assistant.thanks", "thank you for watching"));
        assert!(!may_guess("assistant.thanks", "that was a great game"));
        assert!(!may_guess("assistant.greet", "the neighbours came over"));
        assert!(!may_guess("system.shutdown", "i'm done for the night"));
        assert!(may_guess("weather.get", "is it chilly out"));
        // Said to somebody else, or about oneself.
        assert!(!may_guess("time.now", "mum what time is dinner"));
        assert!(!may_guess("timer.cancel", "mom the timer went off"));
        assert!(!may_guess(
            "list.add",
            "i forgot to add milk to the list yesterday"
        ));
        assert!(!may_guess("timer.start", "i'll be down in 2 minutes"));
        assert!(!may_guess("timer.start", "the bus comes in 10 minutes"));
        assert!(may_guess("timer.start", "pasta timer 12 minutes"));
        assert!(may_guess("joke.tell", "dad joke"));
        assert!(!may_guess("volume.up", "he turned the volume up so loud"));
        assert!(!may_guess(
            "reminder.create",
            "i set a reminder on my phone already"
        ));
        assert!(!may_guess(
            "reminder.create",
            "remind me how to tie a bow tie"
        ));
        assert!(may_guess(
            "assistant.help",
            "i will be glad to know what you can do"
        ));
        // Through the brain: the grammar knows neither sentence whole.
        assert_eq!(
            one("thank you so much for your assistance").0,
            "assistant.thanks"
        );
        assert_eq!(one("thank you for watching").0, "unknown");
    }

    #[test]
    fn an_alternative_reading_is_taken_only_when_the_heard_one_means_nothing() {
        let mut b = brain();
        let alternatives = [
            "turn the volume down".to_owned(),
            "set a timer for five minutes".to_owned(),
        ];
        // Understood as heard: the alternatives are not looked at.
        let u = b.understand_heard("what time is it", &alternatives);
        assert_eq!(u.text, "what time is it");
        assert_eq!(u.intents[0].intent, "time.now");
        // Not understood: the first alternative understood whole.
        let u = b.understand_heard("turn in the volume bound", &alternatives);
        assert_eq!(u.text, "turn the volume down", "{:?}", u.intents);
        assert_eq!(u.intents[0].intent, "volume.down");
        // Alternatives not understood are passed over.
        let later = ["the wug".to_owned(), alternatives[1].clone()];
        let u = b.understand_heard("turn in the volume bound", &later);
        assert_eq!(u.intents[0].intent, "timer.start");
        // None understood: the heard text's unknown.
        let u = b.understand_heard("turn in the volume bound", &["the wug".to_owned()]);
        assert!(u.is_unknown());
        assert_eq!(u.text, "turn in the volume bound");
    }

    #[test]
    fn timers_as_people_say_them() {
        for (text, slots) in [
            (
                "Timer for two minutes and thirty seconds on the noodles.",
                json!({"duration_s": 150, "name": "noodles"}),
            ),
            (
                "Give me 15 minutes for the laundry.",
                json!({"duration_s": 900, "name": "laundry"}),
            ),
            (
                "Add a second timer for 5 minutes for the broccoli.",
                json!({"duration_s": 300, "name": "broccoli"}),
            ),
            (
                "Please make a timer, 40 minutes, for the bread.",
                json!({"duration_s": 2400, "name": "bread"}),
            ),
            (
                "Timer for an hour and three quarters.",
                json!({"duration_s": 6300}),
            ),
            ("Timer for a minute fifteen.", json!({"duration_s": 75})),
            (
                "Set a timer for an hour and a half. Actually, no, make it two hours.",
                json!({"duration_s": 7200}),
            ),
        ] {
            let u = brain().understand(text);
            assert_eq!(intents(&u), vec![("timer.start".into(), slots)], "{text}");
        }
        // Said to somebody else: no timer.
        assert!(brain()
            .understand("Give me five minutes, I'm on the phone.")
            .is_unknown());
        let u = brain().understand("When's the timer going off?");
        assert_eq!(u.intents[0].intent, "timer.status");
    }

    #[test]
    fn time_added_to_a_timer_is_not_a_new_timer() {
        for (text, intent, slots) in [
            (
                "add five minutes to the timer",
                "timer.adjust",
                json!({"delta_s": 300}),
            ),
            (
                "give me 5 more minutes on the timer",
                "timer.adjust",
                json!({"delta_s": 300}),
            ),
            (
                "add another minute to the egg timer",
                "timer.adjust",
                json!({"delta_s": 60, "name": "egg"}),
            ),
            (
                "take two minutes off the pasta timer",
                "timer.adjust",
                json!({"delta_s": -120, "name": "pasta"}),
            ),
            ("pause the timer", "timer.pause", json!({})),
            ("put the timer on hold", "timer.pause", json!({})),
            ("pause all timers", "timer.pause", json!({"all": true})),
            ("start the timer again", "timer.resume", json!({})),
            (
                "unpause the pizza timer",
                "timer.resume",
                json!({"name": "pizza"}),
            ),
            (
                "add a timer for 5 minutes",
                "timer.start",
                json!({"duration_s": 300}),
            ),
            ("stop the timer", "timer.cancel", json!({})),
        ] {
            assert_eq!(one(text), (intent.into(), slots), "{text}");
        }
    }

    #[test]
    fn understands_commands_with_slots() {
        assert_eq!(
            one("Hey Luna, set a timer for five minutes."),
            ("timer.start".into(), json!({"duration_s": 300}))
        );
        assert_eq!(
            one("set an alarm for quarter past six pm"),
            ("alarm.set".into(), json!({"time": "18:15"}))
        );
        assert_eq!(
            one("open fire fox"),
            ("app.open".into(), json!({"app": "firefox"}))
        );
        assert_eq!(
            one("turn the volume to 40 percent"),
            ("volume.set".into(), json!({"level_pct": 40}))
        );
        assert_eq!(
            one("remind me to call mom in 20 minutes"),
            (
                "reminder.create".into(),
                json!({"text": "call mom", "in_s": 1200})
            )
        );
        assert_eq!(
            one("add milk and eggs to my shopping list"),
            (
                "list.add".into(),
                json!({"item": "milk and eggs", "list": "shopping"})
            )
        );
        assert_eq!(
            one("what's 15 times 7"),
            ("calc.evaluate".into(), json!({"expression": "15 * 7"}))
        );
        assert_eq!(
            one("set a time for an hour and a half"),
            ("timer.start".into(), json!({"duration_s": 5400}))
        );
    }

    #[test]
    fn learners_and_crowd_workers_are_understood() {
        for (text, intent) in [
            ("luna un mute the computer", "volume.unmute"),
            ("Take off the mute.", "volume.unmute"),
            ("how many minutes on the rice timer", "timer.status"),
            ("add call plumber to todo", "list.add"),
            ("Start a new packing list for Dubai trip.", "list.create"),
            ("How many degrees is it in Moscow now?", "weather.get"),
            ("Block the screen, I go for lunch.", "system.lock"),
            ("Computer, go sleep mode.", "system.sleep"),
            ("Start again the PC please, it is slow.", "system.restart"),
            ("Namaste.", "assistant.greet"),
            ("How many days left to Chinese New Year?", "date.query"),
            ("kill the 10 minute timer", "timer.cancel"),
            ("let the laptop sleep", "system.sleep"),
            ("list the items on my shopping list", "list.show"),
            ("whats left on my todo", "list.show"),
            ("how much longer on the pasta", "timer.status"),
            ("do i need to carry umbrella today", "weather.get"),
        ] {
            assert_eq!(one(text).0, intent, "{text}");
        }
        // A bare level up to 10 is on a speaker's 0-10 scale; a percent is a percent.
        assert_eq!(one("set the sound at number 4").1, json!({"level_pct": 40}));
        assert_eq!(one("luna put volume at 7").1, json!({"level_pct": 70}));
        assert_eq!(one("volume to 5 percent").1, json!({"level_pct": 5}));
        assert_eq!(one("brightness 3 out of 10").1, json!({"level_pct": 30}));
        // An event moved by so much.
        assert_eq!(
            one("push the meeting with sarah back an hour").1,
            json!({"title": "meeting", "with": "sarah", "delta_s": 3600})
        );
        assert_eq!(
            one("bring my dentist appointment forward 30 minutes").1,
            json!({"title": "dentist appointment", "delta_s": -1800})
        );
        assert_eq!(
            one("Can you move my haircut from 5 to 6? The kids have swim."),
            (
                "calendar.move".into(),
                json!({"title": "haircut", "time": "18:00"})
            )
        );
        assert_eq!(
            one("i want to listen the harry potter audiobook").0,
            "media.play"
        );
        assert_eq!(
            one("should i wear a jumper or my big coat today").0,
            "weather.get"
        );
        assert_eq!(
            one("Add to my Christmas list a bicycle for Tomás.").1,
            json!({"item": "bicycle for tomas", "list": "christmas"})
        );
        // The event or item first, then the request.
        assert_eq!(
            one("I have dentist on 3rd of March at 2 PM, write in the calendar."),
            (
                "calendar.create".into(),
                json!({"title": "dentist", "date": "03-03", "time": "14:00"})
            )
        );
        assert_eq!(
            one("I have a doctors appt next tuesday at 11:30, add it").0,
            "calendar.create"
        );
        assert_eq!(
            one("i need to buy batteries, add that to the shopping list").1,
            json!({"item": "batteries", "list": "shopping"})
        );
        assert_eq!(
            one("Add to my calendar: birthday party of Priya, Saturday evening."),
            (
                "calendar.create".into(),
                json!({"title": "birthday party of priya", "date": "saturday"})
            )
        );
    }

    #[test]
    fn typed_slips_in_command_words_are_read_through() {
        assert_eq!(
            one("set timr for 25 minits i have to do my homework"),
            ("timer.start".into(), json!({"duration_s": 1500}))
        );
        assert_eq!(
            one("whats the wether in paris"),
            ("weather.get".into(), json!({"location": "paris"}))
        );
        assert_eq!(one("skip this sogn").0, "media.next");
    }

    #[test]
    fn an_events_hour_without_am_or_pm_is_in_working_hours() {
        let time = |text: &str| one(text).1["time"].clone();
        assert_eq!(time("schedule a meeting with bob at 3"), json!("15:00"));
        assert_eq!(
            time("add dentist on friday at 2:30 to my calendar"),
            json!("14:30")
        );
        assert_eq!(time("schedule a call at 11"), json!("11:00"));
        assert_eq!(time("schedule a meeting at 3 am tomorrow"), json!("03:00"));
        // Put on the calendar before it is named: a flight is an event there.
        assert_eq!(
            one("add to my calendar flight to Denver December 19th departs 1830"),
            (
                "calendar.create".into(),
                json!({"title": "flight to denver", "date": "12-19", "time": "18:30"})
            )
        );
        assert_eq!(
            one("can you change my 2pm call to half past three"),
            (
                "calendar.move".into(),
                json!({"title": "call", "time": "15:30"})
            )
        );
    }

    #[test]
    fn understands_what_people_ask_beyond_the_basics() {
        assert_eq!(
            one("what time is it in springfield illinois"),
            (
                "time.now".into(),
                json!({"location": "springfield illinois"})
            )
        );
        assert_eq!(
            one("how many days until thanksgiving"),
            (
                "date.query".into(),
                json!({"holiday": "thanksgiving", "ask": "until"})
            )
        );
        assert_eq!(
            one("what day of the week is march the 3rd"),
            (
                "date.query".into(),
                json!({"date": "03-03", "ask": "weekday"})
            )
        );
        assert_eq!(
            one("put lunch with sarah on my calendar for friday at noon"),
            (
                "calendar.create".into(),
                json!({"title": "lunch", "with": "sarah", "date": "friday", "time": "12:00"})
            )
        );
        assert_eq!(
            one("move my dentist appointment to the 16th"),
            (
                "calendar.move".into(),
                json!({"title": "dentist appointment", "date": "---16"})
            )
        );
        assert_eq!(
            one("pause the music in the kitchen"),
            ("media.pause".into(), json!({"room": "kitchen"}))
        );
        assert_eq!(
            one("mute the living room tv"),
            ("volume.mute".into(), json!({"room": "living room tv"}))
        );
        assert_eq!(
            one("kill the music downstairs"),
            ("media.stop".into(), json!({"room": "downstairs"}))
        );
        assert_eq!(
            one("Can we get some Christmas music going through the whole house?"),
            (
                "media.play".into(),
                json!({"query": "christmas music", "room": "whole house"})
            )
        );
        assert_eq!(
            one("I'm doing the dishes, so could you stick some Motown on in here?"),
            ("media.play".into(), json!({"query": "motown"}))
        );
        assert_eq!(
            one("would it be possible to have some quiet piano music"),
            ("media.play".into(), json!({"query": "quiet piano music"}))
        );
        assert_eq!(
            one("Okay, unpause the kitchen."),
            ("media.resume".into(), json!({"room": "kitchen"}))
        );
        assert_eq!(
            one("Set an alarm in the bedroom for 5 in the morning."),
            ("alarm.set".into(), json!({"time": "05:00"}))
        );
        assert_eq!(
            one("Brightness 20 on the living room screen."),
            ("brightness.set".into(), json!({"level_pct": 20}))
        );
        // Here is where LUNA is, and only for what it plays, sounds or times.
        assert_eq!(one("is it cold in here").0, "unknown");
        assert_eq!(
            one("i'm cooking so could you put on some motown"),
            ("media.play".into(), json!({"query": "motown"}))
        );
        assert_eq!(
            one("Hey lunar, wake me up at 630."),
            ("alarm.set".into(), json!({"time": "06:30"}))
        );
        assert_eq!(
            one("cancel all timers"),
            ("timer.cancel".into(), json!({"all": true}))
        );
        // The step asks "For how long?": the intent is understood without its slot.
        assert_eq!(
            one("could you set a timer"),
            ("timer.start".into(), json!({}))
        );
        assert_eq!(
            one("is it going to rain in boston tomorrow"),
            (
                "weather.get".into(),
                json!({"location": "boston", "date": "tomorrow", "condition": "rain"})
            )
        );
        assert_eq!(
            one("play bbc radio 4"),
            (
                "media.play".into(),
                json!({"query": "bbc radio 4", "kind": "radio"})
            )
        );
    }

    #[test]
    fn the_trained_classifier_is_cached_and_a_bad_cache_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        // One trained from other sentences, and a file that is not a cache: the first
        // is removed when a classifier is cached, the second stays.
        std::fs::write(
            dir.path().join("brain-0123456789abcdef01234567.bin"),
            b"old",
        )
        .unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"mine").unwrap();
        let build = || {
            BrainModel::build_cached(
                Grammar::builtin().unwrap(),
                classifier::DEFAULT_EXAMPLES,
                "config/brain_examples.toml",
                AppCatalog::builtin(),
                dir.path(),
            )
            .unwrap()
        };
        let first = build();
        let cached: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "bin"))
            .collect();
        assert_eq!(cached.len(), 1, "{cached:?}");
        assert!(dir.path().join("notes.txt").exists());
        let path = cached[0].clone();
        let second = build();
        let text = "i'd really love it if the sound got a bit louder";
        let (a, b) = (
            first.classifier.predict(text),
            second.classifier.predict(text),
        );
        assert_eq!((a.intent, a.probability), (b.intent, b.probability));
        std::fs::write(&path, b"garbage").unwrap();
        let third = build();
        assert_eq!(third.classifier.predict(text).intent, a.intent);
        assert!(Classifier::from_bytes(&std::fs::read(&path).unwrap()).is_some());
    }

    #[test]
    fn the_place_is_found_among_the_words_after_it() {
        let u = brain().understand("what time is it in london? grandma lives there");
        assert_eq!(
            intents(&u),
            [("time.now".into(), json!({"location": "london"}))]
        );
        let u = brain().understand("is it late in tokyo right now, what time is it there");
        assert_eq!(
            intents(&u),
            [("time.now".into(), json!({"location": "tokyo"}))]
        );
    }

    #[test]
    fn a_place_it_does_not_know_is_not_answered_with_the_local_time() {
        for text in [
            "what time is it in narnia",
            "what's the time complexity of quicksort",
            "turn off the tv",
            "play the piano",
            "book a flight to denver for friday",
        ] {
            let u = brain().understand(text);
            assert!(u.is_unknown(), "{text}: {:?}", u.intents);
        }
    }

    #[test]
    fn says_unknown_rather_than_guess() {
        for text in [
            "what's the capital of peru",
            "send an email to john",
            "order a pizza",
            "open a bank account",
            "restart the router",
            "",
            "?!",
            "[Music]",
        ] {
            let u = brain().understand(text);
            assert!(u.is_unknown(), "{text}: {:?}", u.intents);
            assert!(u.plan.steps.is_empty(), "nothing runs for {text}");
        }
    }

    #[test]
    fn parallel_ordered_and_delayed_plans() {
        let u = brain().understand("open firefox and play some music");
        assert_eq!(
            intents(&u),
            vec![
                ("app.open".into(), json!({"app": "firefox"})),
                ("media.play".into(), json!({}))
            ]
        );
        assert_eq!(u.plan.groups.len(), 1);
        assert_eq!(u.plan.groups[0].steps, vec![0, 1]);

        let u = brain().understand("open vs code and then set a timer for 10 minutes");
        assert_eq!(u.plan.groups.len(), 2);
        assert_eq!(u.plan.groups[1].after, vec![0]);
        assert_eq!(u.plan.steps[1].intent, "timer.start");

        let u = brain().understand("mute in ten minutes");
        assert_eq!(intents(&u), vec![("volume.mute".into(), json!({}))]);
        assert_eq!(u.plan.groups[0].delay_s, Some(600));

        let u = brain().understand("set a timer for 5 minutes and play some music");
        assert_eq!(u.intents.len(), 2);
        assert_eq!(u.intents[0].slots["duration_s"], json!(300));

        let u = brain().understand("open firefox and spotify");
        assert_eq!(
            intents(&u),
            vec![
                ("app.open".into(), json!({"app": "firefox"})),
                ("app.open".into(), json!({"app": "spotify"}))
            ]
        );
    }

    #[test]
    fn another_one_is_the_same_kind_again() {
        let u = brain().understand(
            "Set a timer for 12 minutes for the pizza and, uh, another one for 25 minutes for the cake.",
        );
        assert_eq!(
            intents(&u),
            vec![
                (
                    "timer.start".into(),
                    json!({"duration_s": 720, "name": "pizza"})
                ),
                (
                    "timer.start".into(),
                    json!({"duration_s": 1500, "name": "cake"})
                ),
            ]
        );
        let u = brain().understand("set an alarm for 7 and another one for 7:30");
        let times: Vec<_> = u
            .intents
            .iter()
            .map(|i| i.slots.get("time").cloned())
            .collect();
        assert_eq!(times, [Some(json!("07:00")), Some(json!("07:30"))]);
        // After a cancel, a new one of the kind cancelled.
        let u = brain().understand("cancel my 7am alarm and set a new one for 7:30");
        assert_eq!(
            intents(&u),
            vec![
                ("alarm.cancel".into(), json!({"time": "07:00"})),
                ("alarm.set".into(), json!({"time": "07:30"})),
            ]
        );
        // Nothing to repeat: not a command.
        assert!(brain()
            .understand("another one for 25 minutes")
            .is_unknown());
    }

    #[test]
    fn there_is_the_place_named_before() {
        let u = brain()
            .understand("What's the weather in Durban tomorrow, and what time is it there now?");
        assert_eq!(
            intents(&u),
            vec![
                (
                    "weather.get".into(),
                    json!({"location": "durban", "date": "tomorrow"})
                ),
                ("time.now".into(), json!({"location": "durban"})),
            ]
        );
        let u = brain().understand("What's the weather in Seattle and what time is it there?");
        assert_eq!(
            intents(&u),
            vec![
                ("weather.get".into(), json!({"location": "seattle"})),
                ("time.now".into(), json!({"location": "seattle"})),
            ]
        );
        let mut b = brain();
        b.understand("what time is it in tokyo");
        assert_eq!(
            intents(&b.understand("and what's the weather like there")),
            vec![("weather.get".into(), json!({"location": "tokyo"}))]
        );
        // Named in words that ask nothing.
        assert_eq!(
            intents(
                &brain()
                    .understand("My mom's flying into Anchorage, Alaska. How cold is it there?")
            ),
            vec![(
                "weather.get".into(),
                json!({"location": "anchorage alaska", "condition": "temperature"})
            )]
        );
        assert_eq!(
            intents(&brain().understand("I went to Paris once. What time is it there?")),
            vec![("time.now".into(), json!({"location": "paris"}))]
        );
        // No place named before: not the local time for "there".
        assert!(brain().understand("what time is it there").is_unknown());
        // "Is there" is no place.
        assert_eq!(one("will there be snow").0, "weather.get");
    }

    #[test]
    fn follow_ups_use_context() {
        let mut b = brain();
        b.understand("open firefox");
        let u = b.understand("close it");
        assert_eq!(
            intents(&u),
            vec![("app.close".into(), json!({"app": "firefox"}))]
        );
        assert!(u.used_context);

        b.understand("set a pasta timer for 12 minutes");
        let u = b.understand("cancel that");
        assert_eq!(
            intents(&u),
            vec![("timer.cancel".into(), json!({"name": "pasta"}))]
        );

        b.understand("turn the brightness down");
        let u = b.understand("turn it up");
        assert_eq!(u.intents[0].intent, "brightness.up");

        b.understand("open thunderbird");
        let u = b.understand("and spotify too");
        assert_eq!(
            intents(&u),
            vec![("app.open".into(), json!({"app": "spotify"}))]
        );

        b.understand("set the volume to 20 percent");
        let u = b.understand("do that again");
        assert_eq!(
            intents(&u),
            vec![("volume.set".into(), json!({"level_pct": 20}))]
        );
    }

    #[test]
    fn references_without_context_are_not_guessed() {
        let u = brain().understand("close it");
        assert!(u.is_unknown(), "{:?}", u.intents);
        let u = brain().understand("and spotify too");
        assert!(u.is_unknown(), "{:?}", u.intents);
        let u = brain().understand("cancel that");
        assert_eq!(u.intents[0].intent, "assistant.cancel");
    }

    #[test]
    fn caches_count_and_never_serve_a_stale_context() {
        let mut b = brain();
        b.understand("what time is it");
        b.understand("what time is it");
        let s = b.cache_stats();
        assert_eq!((s.parse.hits, s.parse.misses), (1, 1));
        assert_eq!(s.plan.hits, 1);
        assert_eq!(b.understand("what time is it").source, Source::Cache);

        b.understand("open firefox");
        assert_eq!(
            b.understand("close it").intents[0].slots["app"],
            json!("firefox")
        );
        b.understand("open spotify");
        // Same words, different context: the context cache must not answer "firefox".
        assert_eq!(
            b.understand("close it").intents[0].slots["app"],
            json!("spotify")
        );
        b.understand("open firefox");
        assert_eq!(
            b.understand("close it").intents[0].slots["app"],
            json!("firefox")
        );
        assert!(b.cache_stats().context.hits >= 1);
    }

    #[test]
    fn context_is_bounded() {
        let mut b = Brain::new(
            Arc::clone(&MODEL),
            BrainSettings {
                max_context_history: 3,
                ..Default::default()
            },
        );
        for _ in 0..10 {
            b.understand("open firefox");
        }
        assert_eq!(b.context().len(), 3);
    }

    #[test]
    fn huge_and_repetitive_input_is_handled() {
        let mut b = brain();
        let huge = "open firefox and ".repeat(100_000);
        let u = b.understand(&huge);
        assert!(u.normalized.len() <= normalize::MAX_INPUT_CHARS);
        let repeated = "play ".repeat(2_000);
        let _ = b.understand(&repeated);
    }

    #[test]
    fn the_border_of_what_luna_controls() {
        // An app named as an app, known or not; the executor says when it is missing.
        assert_eq!(
            one("open the netflix app"),
            ("app.open".into(), json!({"app": "netflix"}))
        );
        assert_eq!(
            one("close outlook"),
            ("app.close".into(), json!({"app": "outlook"}))
        );
        assert!(brain().understand("open the garage door").is_unknown());
        // Devices of the house are neither things to play nor events.
        for text in [
            "crank the heat to 72",
            "schedule the vacuum for every weekday at 10",
            "delay the dishwasher by three hours",
            "play tic tac toe with me",
            "mom can you pause the tv im coming",
        ] {
            assert!(brain().understand(text).is_unknown(), "{text}");
        }
        assert_eq!(one("play heat waves").0, "media.play");
        // The tv and the room both named; a device as the object inside a longer request.
        assert_eq!(
            one("turn down the tv in the living room by 10%"),
            (
                "volume.down".into(),
                json!({"room": "living room", "step_pct": 10})
            )
        );
        assert_eq!(
            one("my flatmate's on a call could you make the lounge speaker quieter"),
            ("volume.down".into(), json!({"room": "lounge speaker"}))
        );
    }

    #[test]
    fn two_timers_said_as_one_and_another() {
        let timers = |text: &str| -> Vec<serde_json::Value> {
            intents(&brain().understand(text))
                .into_iter()
                .map(|(intent, slots)| {
                    assert_eq!(intent, "timer.start", "{text}");
                    slots["duration_s"].clone()
                })
                .collect()
        };
        assert_eq!(
            timers("set two timers, one for 8 minutes and one for 15 minutes"),
            [json!(480), json!(900)]
        );
        assert_eq!(
            timers(
                "set a timer for eight minutes for the chips and another for twelve for the fish"
            ),
            [json!(480), json!(720)]
        );
    }

    #[test]
    fn people_who_ask_are_understood_and_questions_are_not_commands() {
        let names = |text: &str| -> Vec<String> {
            brain()
                .understand(text)
                .intents
                .iter()
                .map(|i| i.intent.clone())
                .collect()
        };
        // Said to another assistant.
        assert!(brain()
            .understand("Hey Google, what's the traffic like on the way to work")
            .is_unknown());
        assert!(brain()
            .understand("alexa, set a timer for 5 minutes")
            .is_unknown());
        assert_eq!(
            one("google the opening hours of the library").0,
            "web.search"
        );
        assert_eq!(
            one("put mow the lawn on jake's chores list").1["list"],
            "jake's chores"
        );
        assert_eq!(
            one("put something relaxing on the bathroom speaker").0,
            "media.play"
        );
        assert_eq!(
            one("my daughter wants to hear let it go from frozen").1["query"],
            "let it go from frozen"
        );
        assert_eq!(
            one("go back to the song before, the one with the saxophone solo, i want to hear that again").0,
            "media.previous"
        );
        // Thanks for one's own things is no thanks to LUNA; thanks for what LUNA did is.
        assert!(brain()
            .understand("I used to keep a list on the fridge, and it worked perfectly well, thank you very much.")
            .is_unknown());
        assert_eq!(
            names("you have given me so much information, thank you"),
            ["assistant.thanks"]
        );
        // A list called "it" is the one named before it, and no list without one.
        let u = brain().understand("read me the shopping list and then take toothpaste off it");
        assert_eq!(
            intents(&u)[1],
            (
                "list.remove".to_owned(),
                json!({"item": "toothpaste", "list": "shopping"})
            )
        );
        assert!(brain().understand("take toothpaste off it").is_unknown());
        // Another device's battery is not this computer's.
        assert!(brain()
            .understand("what battery percentage is my phone at")
            .is_unknown());
        // Said to somebody in the room by name, unless LUNA is called after.
        assert!(brain()
            .understand("Kevin, turn that down, I'm on the phone!")
            .is_unknown());
        assert_eq!(
            names("Lily, stop pulling your sister's hair. Luna, timer for 3 minutes."),
            ["timer.start"]
        );
        // Questions about how a thing is done, or which zone a place is in.
        assert!(brain()
            .understand("how do you play texas hold'em")
            .is_unknown());
        assert!(brain()
            .understand("what note is on the fifth fret of the a string")
            .is_unknown());
        assert!(brain()
            .understand("what should i wear to a job interview")
            .is_unknown());
        assert_eq!(
            one("what should i wear for my run tomorrow morning").0,
            "weather.get"
        );
        // "out there" is outdoors, not a place named before.
        assert_eq!(one("is it freezing out there").0, "weather.get");
        // A lead-in that asks whether it can be done.
        assert_eq!(
            one("is there a way to get a three minute timer going").1["duration_s"],
            180
        );
        // The date an occasion is on.
        assert_eq!(
            one("how many days until my birthday on march 14th").1["date"],
            "03-14"
        );
        // Politeness after a connector, and a thanks of one word before a command.
        assert_eq!(
            names("how much battery do i have, and can you turn the brightness down"),
            ["system.stats", "brightness.down"]
        );
        assert_eq!(
            names("thanks, now turn the volume down a bit"),
            ["assistant.thanks", "volume.down"]
        );
        assert_eq!(
            one("put the sound on level three out of ten").1["level_pct"],
            30
        );
        assert_eq!(
            one("who am i meeting with next and when").0,
            "calendar.list"
        );
        assert_eq!(
            one("where on earth is that spreadsheet i made for the wedding budget").1["query"],
            "spreadsheet i made for the wedding budget"
        );
    }
}
