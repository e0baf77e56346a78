//! The trained "hey luna" head: a few small MLPs over the last 16 embeddings (1.28 s)
//! whose probabilities are averaged, trained by `models/wake/train.py` and embedded in
//! the binary.

use serde::Deserialize;

use super::features::EMBEDDING;
use super::WakeError;

/// The committed head, and its sha256 as printed by the training script.
pub const HEY_LUNA: &[u8] = include_bytes!("../../models/wake/hey_luna.json");
pub const HEY_LUNA_SHA256: &str = include_str!("../../models/wake/hey_luna.sha256");

#[derive(Deserialize)]
struct HeadFile {
    format: String,
    phrase: String,
    threshold: f32,
    mean: String,
    std: String,
    members: Vec<MemberFile>,
    front_end: FrontEndSpec,
}

#[derive(Deserialize)]
struct MemberFile {
    hidden: usize,
    w1: String,
    b1: String,
    w2: String,
    b2: f32,
}

#[derive(Deserialize)]
struct FrontEndSpec {
    frames: usize,
}

/// Logistic outputs over one ReLU layer each, on standardized, flattened embeddings;
/// the score is their mean probability.
pub struct MlpHead {
    pub phrase: String,
    /// The score at which the training script's held-out voices stopped producing
    /// false accepts (sensitivity 0.5).
    pub threshold: f32,
    pub frames: usize,
    mean: Vec<f32>,
    inv_std: Vec<f32>,
    members: Vec<Member>,
}

/// One MLP of the ensemble.
struct Member {
    hidden: usize,
    w1: Vec<f32>,
    b1: Vec<f32>,
    w2: Vec<f32>,
    b2: f32,
}

impl Member {
    fn probability(&self, x: &[f32]) -> f32 {
        let mut h = self.b1.clone();
        for (i, x) in x.iter().enumerate() {
            let row = &self.w1[i * self.hidden..(i + 1) * self.hidden];
            for (acc, w) in h.iter_mut().zip(row) {
                *acc += x * w;
            }
        }
        let z: f32 = h
            .iter()
            .zip(&self.w2)
            .map(|(h, w)| h.max(0.0) * w)
            .sum::<f32>()
            + self.b2;
        1.0 / (1.0 + (-z).exp())
    }
}

fn floats(name: &str, b64: &str, len: usize) -> Result<Vec<f32>, WakeError> {
    super::decode_f32(b64, len).map_err(|e| WakeError::Head(format!("{name}: {e}")))
}

impl MlpHead {
    pub fn parse(json: &[u8]) -> Result<Self, WakeError> {
        let f: HeadFile =
            serde_json::from_slice(json).map_err(|e| WakeError::Head(e.to_string()))?;
        if f.format != "luna-wake-head-v2" {
            return Err(WakeError::Head(format!("unknown format {}", f.format)));
        }
        if f.members.is_empty() {
            return Err(WakeError::Head("no members".into()));
        }
        let inputs = f.front_end.frames * EMBEDDING;
        let members = f
            .members
            .iter()
            .map(|m| {
                Ok(Member {
                    hidden: m.hidden,
                    w1: floats("w1", &m.w1, inputs * m.hidden)?,
                    b1: floats("b1", &m.b1, m.hidden)?,
                    w2: floats("w2", &m.w2, m.hidden)?,
                    b2: m.b2,
                })
            })
            .collect::<Result<_, WakeError>>()?;
        Ok(Self {
            phrase: f.phrase,
            threshold: f.threshold,
            frames: f.front_end.frames,
            mean: floats("mean", &f.mean, inputs)?,
            inv_std: floats("std", &f.std, inputs)?
                .into_iter()
                .map(|s| 1.0 / s)
                .collect(),
            members,
        })
    }

    /// Per-dimension mean and standard deviation of the training embeddings,
    /// averaged over the window's frames.
    pub fn embedding_stats(&self) -> ([f32; EMBEDDING], [f32; EMBEDDING]) {
        let (mut mean, mut std) = ([0.0; EMBEDDING], [0.0; EMBEDDING]);
        for f in 0..self.frames {
            for d in 0..EMBEDDING {
                mean[d] += self.mean[f * EMBEDDING + d] / self.frames as f32;
                std[d] += 1.0 / self.inv_std[f * EMBEDDING + d] / self.frames as f32;
            }
        }
        (mean, std)
    }

    /// The built-in "hey luna".
    pub fn hey_luna() -> Result<Self, WakeError> {
        Self::parse(HEY_LUNA)
    }

    /// The probability that `frames` (oldest first, `self.frames` of them) end with the
    /// phrase.
    pub fn score<'a>(&self, frames: impl Iterator<Item = &'a [f32; EMBEDDING]>) -> f32 {
        // Standardized once for all members (one 6 KB buffer per 80 ms hop).
        let x: Vec<f32> = frames
            .flatten()
            .zip(self.mean.iter().zip(&self.inv_std))
            .map(|(x, (mean, inv_std))| (x - mean) * inv_std)
            .collect();
        let sum: f32 = self.members.iter().map(|m| m.probability(&x)).sum();
        sum / self.members.len() as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_head_matches_its_pinned_hash() {
        let found = crate::model_install::sha256_hex(HEY_LUNA);
        assert_eq!(found, HEY_LUNA_SHA256.trim());
    }

    #[test]
    fn the_committed_head_parses_with_a_sane_threshold() {
        let head = MlpHead::hey_luna().unwrap();
        assert_eq!(head.phrase, "hey luna");
        assert_eq!(head.frames, 16);
        assert!(head.threshold > 0.05 && head.threshold < 1.0);
    }

    #[test]
    fn a_truncated_or_foreign_head_is_a_clear_error() {
        let err = MlpHead::parse(&HEY_LUNA[..HEY_LUNA.len() / 2])
            .err()
            .unwrap();
        assert!(matches!(err, WakeError::Head(_)));
        let foreign = String::from_utf8_lossy(HEY_LUNA).replace("luna-wake-head-v2", "v9");
        let err = MlpHead::parse(foreign.as_bytes()).err().unwrap();
        assert!(err.to_string().contains("unknown format"), "{err}");
    }
}
