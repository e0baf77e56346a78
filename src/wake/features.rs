//! The wake-word front end: openWakeWord's melspectrogram model and Google's
//! speech-embedding model, run with tract in the streaming form.
//!
//! Every 1280 samples (80 ms) one hop: the mel spectrogram of that hop plus the 480
//! samples before it (8 frames of 32 bins; 5 for the very first hop, which has no
//! context), scaled by `x/10 + 2`; then one 96-dim embedding of the newest 76 mel
//! frames (~775 ms). The state starts as openWakeWord's `AudioFeatures` does (mel
//! frames of ones, embeddings of digital silence), so the features equal the reference
//! implementation's fed 1280-sample chunks — checked by a test against its output.
//! Whole-clip mels would differ: the mel model clips each call's input at that call's
//! maximum − 80 dB.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::Arc;

use tract_onnx::prelude::*;

use super::WakeError;

pub const HOP: usize = 1280;
const CONTEXT: usize = 480;
const MEL_BINS: usize = 32;
const MEL_WINDOW: usize = 76;
pub const EMBEDDING: usize = 96;
/// Embeddings kept: enough for the head (16) and any enrolled phrase.
pub const KEPT: usize = 24;

type Plan = Arc<TypedRunnableModel>;

/// The two models, optimized for their fixed input shapes. Shared by detectors.
pub struct FrontEndModels {
    mel_first: Plan,
    mel: Plan,
    embedding: Plan,
    blank: [f32; EMBEDDING],
}

fn plan(path: &Path, shape: &[usize]) -> Result<Plan, WakeError> {
    let bad = |e: TractError| WakeError::Model {
        path: path.to_owned(),
        reason: format!("{e:#}"),
    };
    tract_onnx::onnx()
        .model_for_path(path)
        .and_then(|m| m.with_input_fact(0, f32::fact(shape).into()))
        .and_then(|m| m.into_optimized())
        .and_then(|m| m.into_runnable())
        .map_err(bad)
}

impl FrontEndModels {
    /// Loads `melspectrogram.onnx` and `embedding_model.onnx` from `dir`.
    pub fn load(dir: &Path) -> Result<Arc<Self>, WakeError> {
        let mel_path = dir.join(super::install::MEL_MODEL);
        let emb_path = dir.join(super::install::EMBEDDING_MODEL);
        for p in [&mel_path, &emb_path] {
            if !p.is_file() {
                return Err(WakeError::Missing(p.clone()));
            }
        }
        let mut models = Self {
            mel_first: plan(&mel_path, &[1, HOP])?,
            mel: plan(&mel_path, &[1, HOP + CONTEXT])?,
            embedding: plan(&emb_path, &[1, MEL_WINDOW, MEL_BINS, 1])?,
            blank: [0.0; EMBEDDING],
        };
        // openWakeWord's start state: embeddings of digital silence, whose mel is -8.
        models.blank = models.embed(std::iter::repeat_n(&[-8.0; MEL_BINS], MEL_WINDOW))?;
        Ok(Arc::new(models))
    }

    fn mel_frames(&self, samples: &[f32]) -> Result<Vec<[f32; MEL_BINS]>, WakeError> {
        let plan = if samples.len() == HOP {
            &self.mel_first
        } else {
            &self.mel
        };
        let input = Tensor::from_shape(&[1, samples.len()], samples).map_err(run_error)?;
        let out = plan.run(tvec!(input.into())).map_err(run_error)?;
        let view = out[0].to_plain_array_view::<f32>().map_err(run_error)?;
        let flat: Vec<f32> = view.iter().copied().collect();
        Ok(flat
            .chunks_exact(MEL_BINS)
            .map(|c| {
                let mut row = [0.0; MEL_BINS];
                for (r, v) in row.iter_mut().zip(c) {
                    *r = v / 10.0 + 2.0;
                }
                row
            })
            .collect())
    }

    /// The embedding of `MEL_WINDOW` mel frames, oldest first.
    fn embed<'a>(
        &self,
        mel: impl Iterator<Item = &'a [f32; MEL_BINS]>,
    ) -> Result<[f32; EMBEDDING], WakeError> {
        let flat: Vec<f32> = mel.flatten().copied().collect();
        let input = Tensor::from_shape(&[1, MEL_WINDOW, MEL_BINS, 1], &flat).map_err(run_error)?;
        let out = self.embedding.run(tvec!(input.into())).map_err(run_error)?;
        let view = out[0].to_plain_array_view::<f32>().map_err(run_error)?;
        let mut e = [0.0; EMBEDDING];
        for (d, s) in e.iter_mut().zip(view.iter()) {
            *d = *s;
        }
        Ok(e)
    }
}

fn run_error(e: TractError) -> WakeError {
    WakeError::Inference(format!("{e:#}"))
}

/// One stream's front-end state.
pub struct FrontEnd {
    models: Arc<FrontEndModels>,
    /// Samples of the hop being filled, after the context of the previous hop.
    raw: Vec<f32>,
    /// Whether a full hop has been processed (the first has no context).
    started: bool,
    mel: VecDeque<[f32; MEL_BINS]>,
    embeddings: VecDeque<[f32; EMBEDDING]>,
}

impl FrontEnd {
    pub fn new(models: Arc<FrontEndModels>) -> Self {
        let blank = models.blank;
        Self {
            models,
            raw: Vec::with_capacity(HOP + CONTEXT),
            started: false,
            mel: std::iter::repeat_n([1.0; MEL_BINS], MEL_WINDOW).collect(),
            embeddings: std::iter::repeat_n(blank, KEPT).collect(),
        }
    }

    /// Takes samples in int16 scale (as the reference does); calls `on_hop` after each
    /// completed hop, with the embeddings so far (oldest first).
    pub fn push(
        &mut self,
        mut samples: &[f32],
        mut on_hop: impl FnMut(&VecDeque<[f32; EMBEDDING]>) -> Result<(), WakeError>,
    ) -> Result<(), WakeError> {
        let mut full = if self.started { HOP + CONTEXT } else { HOP };
        while !samples.is_empty() {
            let take = (full - self.raw.len()).min(samples.len());
            self.raw.extend_from_slice(&samples[..take]);
            samples = &samples[take..];
            if self.raw.len() < full {
                break;
            }
            for row in self.models.mel_frames(&self.raw)? {
                self.mel.push_back(row);
            }
            while self.mel.len() > MEL_WINDOW {
                self.mel.pop_front();
            }
            self.embeddings
                .push_back(self.models.embed(self.mel.iter())?);
            if self.embeddings.len() > KEPT {
                self.embeddings.pop_front();
            }
            // Keep the last 480 samples as the next hop's context.
            self.raw.drain(..self.raw.len() - CONTEXT);
            self.started = true;
            full = HOP + CONTEXT;
            on_hop(&self.embeddings)?;
        }
        Ok(())
    }
}
