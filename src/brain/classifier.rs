//! The fallback: a multinomial logistic regression over word, word-pair and character
//! n-gram features, trained at start from `config/brain_examples.toml` — examples of
//! every intent and of what LUNA must not act on (class `unknown`). Character n-grams
//! carry it over Whisper's slips ("paws the music"); the `unknown` class and the
//! confidence threshold keep it from acting on what it does not understand.

use std::collections::HashMap;

use serde::Deserialize;

use super::catalogue::{is_known_intent, UNKNOWN};

pub const DEFAULT_EXAMPLES: &str = include_str!("../../config/brain_examples.toml");

/// CLINC150's crowd-written sentences mapped onto our intents (`models/brain/clinc.py`;
/// Larson et al., EMNLP 2019, CC BY 3.0): always trained on, beside the examples file.
pub const CLINC_EXAMPLES: &str = include_str!("../../config/brain_examples_clinc.toml");

/// Sentences generated from templates x slot values x styles (`models/brain/generate.py`):
/// the breadth of phrasing and entities, always trained on beside the examples file.
pub const GENERATED_EXAMPLES: &str = include_str!("../../config/brain_examples_generated.toml");

/// Near misses LUNA must not act on (requests it cannot do near its topics, talk about
/// them not addressed to it), written by helpers who saw only the intent list.
pub const NEAR_MISS_EXAMPLES: &str = include_str!("../../config/brain_examples_near_misses.toml");

/// The even lines of the development sets other people wrote (helpers who saw only the
/// intent list), one intent each (`models/brain/others_examples.py`); their odd lines,
/// the sealed sets and CLINC150's test split are never trained on.
pub const OTHERS_EXAMPLES: &str = include_str!("../../config/brain_examples_others.toml");

/// Training sentences written for LUNA by helpers who saw only the intent list, in eight
/// angles (kinds of speaker, Whisper's transcripts, the extremes of length, the border
/// of its scope, indirect asks, English as the world speaks it, specifics, talk at home
/// not for LUNA); never a line of an evaluation set.
pub const HELPERS_EXAMPLES: &str = include_str!("../../config/brain_examples_helpers.toml");

#[derive(Debug, thiserror::Error)]
pub enum ExamplesError {
    #[error("training examples {origin}: invalid TOML: {message}")]
    Toml { origin: String, message: String },
    #[error("training examples {origin}: unknown intent `{intent}`")]
    UnknownIntent { origin: String, intent: String },
    #[error("training examples {origin}: intent `{intent}` has {count} examples; at least {min} are needed")]
    TooFew {
        origin: String,
        intent: String,
        count: usize,
        min: usize,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExampleSet {
    examples: Vec<String>,
}

/// Reads the examples file: (class name, example) pairs.
pub fn parse_examples(text: &str, origin: &str) -> Result<Vec<(String, String)>, ExamplesError> {
    let table: std::collections::BTreeMap<String, ExampleSet> =
        toml::from_str(text).map_err(|e| ExamplesError::Toml {
            origin: origin.to_owned(),
            message: e.message().to_owned(),
        })?;
    let mut out = Vec::new();
    for (intent, set) in table {
        if intent != UNKNOWN && !is_known_intent(&intent) {
            return Err(ExamplesError::UnknownIntent {
                origin: origin.to_owned(),
                intent,
            });
        }
        const MIN: usize = 5;
        if set.examples.len() < MIN {
            return Err(ExamplesError::TooFew {
                origin: origin.to_owned(),
                intent,
                count: set.examples.len(),
                min: MIN,
            });
        }
        out.extend(set.examples.into_iter().map(|e| (intent.clone(), e)));
    }
    Ok(out)
}

/// Calls `emit` with every feature of a normalized text, reusing `buf`.
fn features(text: &str, buf: &mut String, mut emit: impl FnMut(&str)) {
    let words: Vec<&str> = text.split_whitespace().collect();
    let shape = |w: &str| -> String {
        if w.chars().any(|c| c.is_ascii_digit()) {
            "#".to_owned()
        } else {
            w.to_owned()
        }
    };
    let shaped: Vec<String> = words.iter().map(|w| shape(w)).collect();
    for (i, w) in shaped.iter().enumerate() {
        buf.clear();
        buf.push_str("w:");
        buf.push_str(w);
        emit(buf);
        buf.clear();
        buf.push_str("b:");
        buf.push_str(if i == 0 { "<s>" } else { &shaped[i - 1] });
        buf.push(' ');
        buf.push_str(w);
        emit(buf);
        // Character 3- and 4-grams with word boundaries.
        let padded: Vec<char> = std::iter::once('<')
            .chain(w.chars())
            .chain(std::iter::once('>'))
            .collect();
        for n in [3usize, 4] {
            for gram in padded.windows(n) {
                buf.clear();
                buf.push_str("c:");
                buf.extend(gram.iter());
                emit(buf);
            }
        }
    }
    if let Some(last) = shaped.last() {
        buf.clear();
        buf.push_str("b:");
        buf.push_str(last);
        buf.push_str(" </s>");
        emit(buf);
    }
    buf.clear();
    buf.push_str(match words.len() {
        0 => "len:0",
        1 => "len:1",
        2 => "len:2",
        3..=5 => "len:3-5",
        6..=9 => "len:6-9",
        _ => "len:10+",
    });
    emit(buf);
}

pub struct Classifier {
    classes: Vec<String>,
    feature_ids: HashMap<String, u32>,
    /// feature-major: weights[f * n_classes + c]
    weights: Vec<f32>,
    bias: Vec<f32>,
    unknown: usize,
}

#[derive(Clone, Copy, Debug)]
pub struct Prediction<'a> {
    pub intent: &'a str,
    pub probability: f32,
    /// Probability of the most likely intent that is not `unknown`.
    pub best_known: (&'a str, f32),
}

/// Training settings; the defaults are what LUNA ships with.
#[derive(Clone, Debug)]
pub struct TrainOptions {
    pub epochs: usize,
    pub learning_rate: f32,
    pub l2: f32,
    pub seed: u64,
    /// Times a feature must occur in the training sentences to get weights.
    pub min_feature_count: u32,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            // 12 passes over ~16,000 sentences: 1.1 s at start in a dev build; 25
            // gained 0.7 points on others' sentences for twice the start-up time.
            epochs: 12,
            learning_rate: 0.8,
            l2: 1e-6,
            seed: 0x5eed_1a11,
            min_feature_count: 2,
        }
    }
}

impl Classifier {
    /// Trains on (class, normalized text) pairs. Deterministic for a given input.
    pub fn train(examples: &[(String, String)], options: &TrainOptions) -> Self {
        let mut classes: Vec<String> = examples.iter().map(|(c, _)| c.clone()).collect();
        classes.sort();
        classes.dedup();
        if !classes.iter().any(|c| c == UNKNOWN) {
            classes.push(UNKNOWN.to_owned());
        }
        let class_index: HashMap<&str, usize> = classes
            .iter()
            .enumerate()
            .map(|(i, c)| (c.as_str(), i))
            .collect();
        // A feature seen once says little and costs a weight per class.
        let mut counts: HashMap<String, u32> = HashMap::new();
        let mut buf = String::new();
        for (_, text) in examples {
            features(text, &mut buf, |f| {
                *counts.entry(f.to_owned()).or_insert(0) += 1;
            });
        }
        let mut feature_ids: HashMap<String, u32> = HashMap::new();
        let data: Vec<(usize, Vec<u32>)> = examples
            .iter()
            .map(|(class, text)| {
                let mut ids = Vec::new();
                features(text, &mut buf, |f| {
                    if counts
                        .get(f)
                        .is_some_and(|n| *n >= options.min_feature_count)
                    {
                        let next = feature_ids.len() as u32;
                        ids.push(*feature_ids.entry(f.to_owned()).or_insert(next));
                    }
                });
                ids.sort_unstable();
                ids.dedup();
                (class_index[class.as_str()], ids)
            })
            .collect();
        let n_classes = classes.len();
        let mut weights = vec![0f32; feature_ids.len() * n_classes];
        let mut bias = vec![0f32; n_classes];
        let mut order: Vec<usize> = (0..data.len()).collect();
        let mut rng = options.seed;
        let mut probs = vec![0f32; n_classes];
        for epoch in 0..options.epochs {
            // Fisher-Yates with a small LCG: the same order on every machine.
            for i in (1..order.len()).rev() {
                rng = rng
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                order.swap(i, (rng >> 33) as usize % (i + 1));
            }
            let lr = options.learning_rate / (1.0 + epoch as f32 * 0.15);
            for &k in &order {
                let (target, ids) = &data[k];
                let scale = 1.0 / (ids.len() as f32).sqrt();
                scores(
                    &weights,
                    &bias,
                    n_classes,
                    ids.iter().copied(),
                    scale,
                    &mut probs,
                );
                softmax(&mut probs);
                for c in 0..n_classes {
                    let grad = probs[c] - if c == *target { 1.0 } else { 0.0 };
                    bias[c] -= lr * grad * 0.1;
                    for &f in ids {
                        let w = &mut weights[f as usize * n_classes + c];
                        *w -= lr * (grad * scale + options.l2 * *w);
                    }
                }
            }
        }
        let unknown = classes
            .iter()
            .position(|c| c == UNKNOWN)
            .expect("unknown class");
        Self {
            classes,
            feature_ids,
            weights,
            bias,
            unknown,
        }
    }

    pub fn predict(&self, normalized: &str) -> Prediction<'_> {
        let probs = self.probabilities(normalized);
        let (best, p) = argmax(&probs, None);
        let (known, pk) = argmax(&probs, Some(self.unknown));
        Prediction {
            intent: &self.classes[best],
            probability: p,
            best_known: (&self.classes[known], pk),
        }
    }

    /// Every class's probability, in the order of [`Classifier::classes`].
    pub fn probabilities(&self, normalized: &str) -> Vec<f32> {
        let n_classes = self.classes.len();
        let mut ids: Vec<u32> = Vec::with_capacity(64);
        let mut buf = String::with_capacity(32);
        features(normalized, &mut buf, |f| {
            if let Some(&id) = self.feature_ids.get(f) {
                ids.push(id);
            }
        });
        ids.sort_unstable();
        ids.dedup();
        let mut probs = vec![0f32; n_classes];
        let scale = if ids.is_empty() {
            0.0
        } else {
            1.0 / (ids.len() as f32).sqrt()
        };
        scores(
            &self.weights,
            &self.bias,
            n_classes,
            ids.iter().copied(),
            scale,
            &mut probs,
        );
        softmax(&mut probs);
        probs
    }

    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    /// The trained model as bytes (for the cache of trained models): little-endian
    /// counts, length-prefixed UTF-8 names, then the weights and biases as f32.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.weights.len() * 4 + self.feature_ids.len() * 12);
        out.extend_from_slice(MAGIC);
        let put_str = |out: &mut Vec<u8>, s: &str| {
            out.extend_from_slice(&(s.len() as u32).to_le_bytes());
            out.extend_from_slice(s.as_bytes());
        };
        out.extend_from_slice(&(self.classes.len() as u32).to_le_bytes());
        for c in &self.classes {
            put_str(&mut out, c);
        }
        let mut features: Vec<(&String, &u32)> = self.feature_ids.iter().collect();
        features.sort_by_key(|(_, id)| **id);
        out.extend_from_slice(&(features.len() as u32).to_le_bytes());
        for (f, _) in features {
            put_str(&mut out, f);
        }
        for w in self.weights.iter().chain(&self.bias) {
            out.extend_from_slice(&w.to_le_bytes());
        }
        out
    }

    /// A model written by [`Classifier::to_bytes`]; `None` for anything else.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let mut rest = bytes.strip_prefix(MAGIC)?;
        let mut u32_ = || -> Option<u32> {
            let (head, tail) = rest.split_first_chunk::<4>()?;
            rest = tail;
            Some(u32::from_le_bytes(*head))
        };
        let n_classes = u32_()? as usize;
        let strings = |n: usize, rest: &mut &[u8]| -> Option<Vec<String>> {
            let mut out = Vec::with_capacity(n.min(1 << 20));
            for _ in 0..n {
                let (len, tail) = rest.split_first_chunk::<4>()?;
                let len = u32::from_le_bytes(*len) as usize;
                let s = tail.get(..len)?;
                out.push(String::from_utf8(s.to_vec()).ok()?);
                *rest = &tail[len..];
            }
            Some(out)
        };
        let classes = strings(n_classes, &mut rest)?;
        let (n_features, tail) = rest.split_first_chunk::<4>()?;
        rest = tail;
        let features = strings(u32::from_le_bytes(*n_features) as usize, &mut rest)?;
        let floats: Vec<f32> = rest
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        if rest.len() % 4 != 0 || floats.len() != (features.len() + 1) * classes.len() {
            return None;
        }
        let unknown = classes.iter().position(|c| c == UNKNOWN)?;
        let split = features.len() * classes.len();
        Some(Self {
            feature_ids: features
                .into_iter()
                .enumerate()
                .map(|(i, f)| (f, i as u32))
                .collect(),
            weights: floats[..split].to_vec(),
            bias: floats[split..].to_vec(),
            classes,
            unknown,
        })
    }
}

/// The first bytes of a cached model; a new format or feature set changes it.
const MAGIC: &[u8] = b"luna-classifier-1\n";

fn scores(
    weights: &[f32],
    bias: &[f32],
    n: usize,
    ids: impl Iterator<Item = u32>,
    scale: f32,
    out: &mut [f32],
) {
    out.copy_from_slice(bias);
    for f in ids {
        let row = &weights[f as usize * n..f as usize * n + n];
        for (o, w) in out.iter_mut().zip(row) {
            *o += w * scale;
        }
    }
}

fn softmax(v: &mut [f32]) {
    let max = v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for x in v.iter_mut() {
        *x = (*x - max).exp();
        sum += *x;
    }
    for x in v.iter_mut() {
        *x /= sum;
    }
}

fn argmax(v: &[f32], skip: Option<usize>) -> (usize, f32) {
    v.iter().enumerate().filter(|(i, _)| Some(*i) != skip).fold(
        (0, f32::NEG_INFINITY),
        |best, (i, &x)| if x > best.1 { (i, x) } else { best },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trained_model_survives_bytes_and_rejects_garbage() {
        let ex = |c: &str, t: &str| (c.to_owned(), t.to_owned());
        let data = vec![
            ex("time.now", "what time is it"),
            ex("time.now", "tell me the time"),
            ex("joke.tell", "tell me a joke"),
            ex("joke.tell", "make me laugh"),
            ex("unknown", "the cat sat on the mat"),
        ];
        let model = Classifier::train(&data, &TrainOptions::default());
        let bytes = model.to_bytes();
        let again = Classifier::from_bytes(&bytes).expect("round trip");
        for text in ["what time is it", "a joke please", "hello there"] {
            let (a, b) = (model.predict(text), again.predict(text));
            assert_eq!(
                (a.intent, a.probability),
                (b.intent, b.probability),
                "{text}"
            );
        }
        assert!(Classifier::from_bytes(&bytes[..bytes.len() - 3]).is_none());
        assert!(Classifier::from_bytes(b"not a model").is_none());
        assert!(Classifier::from_bytes(&[]).is_none());
    }

    #[test]
    fn learns_separable_classes_and_rejects_the_unfamiliar() {
        let ex = |c: &str, t: &str| (c.to_owned(), t.to_owned());
        let data = vec![
            ex("time.now", "what time is it"),
            ex("time.now", "tell me the time"),
            ex("time.now", "what's the time now"),
            ex("joke.tell", "tell me a joke"),
            ex("joke.tell", "make me laugh"),
            ex("joke.tell", "say something funny"),
            ex("unknown", "who wrote hamlet"),
            ex("unknown", "order a pizza"),
            ex("unknown", "call my mother"),
        ];
        let c = Classifier::train(&data, &TrainOptions::default());
        assert_eq!(c.predict("what is the time").intent, "time.now");
        assert_eq!(c.predict("tell me a funny joke").intent, "joke.tell");
        assert_eq!(c.predict("order a pizza").intent, "unknown");
    }

    #[test]
    fn the_shipped_examples_parse() {
        let examples = parse_examples(DEFAULT_EXAMPLES, "config/brain_examples.toml").unwrap();
        assert!(examples.len() > 1000);
        assert!(examples.iter().any(|(c, _)| c == UNKNOWN));
    }

    #[test]
    fn bad_example_files_are_clear_errors() {
        let err = parse_examples(
            "[\"make.tea\"]\nexamples = [\"a\",\"b\",\"c\",\"d\",\"e\"]\n",
            "x.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("make.tea"), "{err}");
        let err = parse_examples("[\"time.now\"]\nexamples = [\"a\"]\n", "x.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("at least"), "{err}");
    }
}
