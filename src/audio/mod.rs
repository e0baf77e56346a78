//! Audio sources and conversion to the pipeline's format: 16 kHz mono f32 in [-1, 1].

pub mod capture;
mod kept;
pub mod playback;
pub mod resample;
pub mod source;
pub mod wav;

/// The rate every stage after the source works at (VAD, wake word, Whisper).
pub const PIPELINE_RATE: u32 = 16_000;
