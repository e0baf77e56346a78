//! WAV files in any common format (8/16/24/32-bit integer or 32-bit float PCM, any
//! rate, any channel count) → 16 kHz mono f32.

use std::path::Path;

use dasp_sample::{Sample, I24};

use super::resample::{downmix, resample, ResampleError};
use super::PIPELINE_RATE;

#[derive(Debug, thiserror::Error)]
pub enum WavError {
    #[error("cannot read {path}: {error}")]
    Open { path: String, error: String },
    #[error("{path} is not a WAV file LUNA can read: {error}")]
    Format { path: String, error: String },
    #[error("{path} has no audio")]
    Empty { path: String },
    #[error(transparent)]
    Resample(#[from] ResampleError),
    #[error("{path} is {seconds:.0} s long; at most {max:.0} s is read")]
    TooLong {
        path: String,
        seconds: f64,
        max: f64,
    },
}

/// What was read, before and after conversion.
#[derive(Clone, Debug)]
pub struct Audio {
    /// 16 kHz mono, [-1, 1].
    pub samples: Vec<f32>,
    pub source_rate: u32,
    pub source_channels: u16,
}

impl Audio {
    pub fn seconds(&self) -> f64 {
        self.samples.len() as f64 / PIPELINE_RATE as f64
    }
}

/// Longest file read whole (an hour); longer recordings should be streamed.
pub const MAX_SECONDS: f64 = 3600.0;

pub fn read(path: &Path) -> Result<Audio, WavError> {
    let shown = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| WavError::Open {
        path: shown.clone(),
        error: e.to_string(),
    })?;
    read_from(std::io::BufReader::new(file), &shown)
}

/// Reads WAV bytes from any reader; `name` is used in errors.
pub fn read_from(reader: impl std::io::Read, name: &str) -> Result<Audio, WavError> {
    let format_error = |e: hound::Error| WavError::Format {
        path: name.to_owned(),
        error: e.to_string(),
    };
    // Integer samples to f32 in [-1, 1) with dasp's conversions (exact powers of two).
    let to_f32 = |samples: &mut dyn Iterator<Item = hound::Result<f32>>| {
        samples
            .collect::<Result<Vec<f32>, _>>()
            .map_err(format_error)
    };
    let mut wav = hound::WavReader::new(reader).map_err(format_error)?;
    let spec = wav.spec();
    if spec.channels == 0 || spec.sample_rate == 0 {
        return Err(WavError::Format {
            path: name.to_owned(),
            error: "zero channels or zero sample rate".into(),
        });
    }
    let frames = wav.duration() as f64;
    let seconds = frames / spec.sample_rate as f64;
    if seconds > MAX_SECONDS {
        return Err(WavError::TooLong {
            path: name.to_owned(),
            seconds,
            max: MAX_SECONDS,
        });
    }
    let interleaved: Vec<f32> = match (spec.sample_format, spec.bits_per_sample) {
        (hound::SampleFormat::Float, 32) => wav
            .samples::<f32>()
            .map(|s| {
                s.map(|x| {
                    if x.is_finite() {
                        x.clamp(-1.0, 1.0)
                    } else {
                        0.0
                    }
                })
            })
            .collect::<Result<_, _>>()
            .map_err(format_error)?,
        (hound::SampleFormat::Int, 8) => {
            to_f32(&mut wav.samples::<i8>().map(|s| s.map(|x| x.to_sample())))?
        }
        (hound::SampleFormat::Int, 16) => {
            to_f32(&mut wav.samples::<i16>().map(|s| s.map(|x| x.to_sample())))?
        }
        (hound::SampleFormat::Int, 24) => to_f32(
            &mut wav
                .samples::<i32>()
                .map(|s| s.map(|x| I24::new(x).map_or(0.0, |x| x.to_sample()))),
        )?,
        // 32 bits, and the odd depths an extensible header may declare (12, 20):
        // hound gives them right-aligned; left-aligned in an i32 they scale as one.
        (hound::SampleFormat::Int, bits @ 1..=32) => to_f32(
            &mut wav
                .samples::<i32>()
                .map(|s| s.map(|x| (x << (32 - u32::from(bits))).to_sample())),
        )?,
        (format, bits) => {
            return Err(WavError::Format {
                path: name.to_owned(),
                error: format!("unsupported sample format {format:?} with {bits} bits"),
            })
        }
    };
    if interleaved.is_empty() {
        return Err(WavError::Empty {
            path: name.to_owned(),
        });
    }
    let mono = downmix(&interleaved, spec.channels as usize);
    let samples = resample(&mono, spec.sample_rate, PIPELINE_RATE)?;
    // Less than one frame, or too few samples to leave one at 16 kHz (the fuzzer's
    // single 44.1 kHz sample): no audio at all.
    if samples.is_empty() {
        return Err(WavError::Empty {
            path: name.to_owned(),
        });
    }
    Ok(Audio {
        samples,
        source_rate: spec.sample_rate,
        source_channels: spec.channels,
    })
}

/// Writes 16 kHz mono 16-bit PCM.
pub fn write_pipeline_wav(path: &Path, samples: &[f32]) -> Result<(), hound::Error> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: PIPELINE_RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec)?;
    for s in samples {
        w.write_sample(s.clamp(-1.0, 1.0).to_sample::<i16>())?;
    }
    w.finalize()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wav_bytes(spec: hound::WavSpec, frames: usize) -> Vec<u8> {
        let mut cursor = std::io::Cursor::new(Vec::new());
        {
            let mut w = hound::WavWriter::new(&mut cursor, spec).unwrap();
            for i in 0..frames {
                let v = (i as f32 / 20.0).sin() * 0.5;
                for _ in 0..spec.channels {
                    match spec.sample_format {
                        hound::SampleFormat::Float => w.write_sample(v).unwrap(),
                        hound::SampleFormat::Int => w
                            .write_sample(
                                (v * ((1i64 << (spec.bits_per_sample - 1)) - 1) as f32) as i32,
                            )
                            .unwrap(),
                    }
                }
            }
            w.finalize().unwrap();
        }
        cursor.into_inner()
    }

    #[test]
    fn every_common_format_becomes_16k_mono() {
        for (rate, channels, bits, format) in [
            (16_000, 1, 16, hound::SampleFormat::Int),
            (48_000, 2, 16, hound::SampleFormat::Int),
            (44_100, 1, 24, hound::SampleFormat::Int),
            (8_000, 1, 8, hound::SampleFormat::Int),
            (22_050, 2, 32, hound::SampleFormat::Float),
        ] {
            let spec = hound::WavSpec {
                channels,
                sample_rate: rate,
                bits_per_sample: bits,
                sample_format: format,
            };
            let audio = read_from(
                std::io::Cursor::new(wav_bytes(spec, rate as usize)),
                "t.wav",
            )
            .unwrap();
            assert!(
                (audio.samples.len() as i64 - 16_000).abs() <= 1,
                "{rate}/{channels}/{bits}"
            );
            let peak = audio.samples.iter().fold(0f32, |m, s| m.max(s.abs()));
            assert!(
                (0.4..=0.55).contains(&peak),
                "{rate}/{channels}/{bits}: peak {peak}"
            );
        }
    }

    #[test]
    fn bad_files_are_clear_errors() {
        let err = read_from(std::io::Cursor::new(b"RIFF\x00\x00".to_vec()), "bad.wav").unwrap_err();
        assert!(matches!(err, WavError::Format { .. }), "{err}");
        assert!(err.to_string().contains("bad.wav"));
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 16_000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let err = read_from(std::io::Cursor::new(wav_bytes(spec, 0)), "empty.wav").unwrap_err();
        assert!(matches!(err, WavError::Empty { .. }), "{err}");
        let mut truncated = wav_bytes(spec, 16_000);
        truncated.truncate(truncated.len() / 2 + 1);
        assert!(read_from(std::io::Cursor::new(truncated), "cut.wav").is_err());
        // The fuzzer's find: a single 24-bit sample at 44.1 kHz (WAVE_FORMAT_EXTENSIBLE).
        let crash = b"RIFF\x9e\x0a\x00\x00WAVEfmt \x28\x00\x00\x00\xfe\xff\x01\x00\x44\xac\x00\x00\xcc\x04\x02\x00\x03\x00\x18\x00\x16\x00\x18\x00\x04\x00\x00\x00\x01\x00\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71fact\x04\x00\x00\x00\x72\x03\x00\x00data\x03\x00\x00\x00\xd6\x2e\x90\x01\x00\x00data\x80\x0c\x00\x00\x60\x49\xbd\xd1\x3c\x13";
        let err = read_from(std::io::Cursor::new(crash.to_vec()), "wide.wav").unwrap_err();
        assert!(matches!(err, WavError::Empty { .. }), "{err}");
        let err = read(Path::new("/nonexistent/x.wav")).unwrap_err();
        assert!(matches!(err, WavError::Open { .. }), "{err}");
    }

    #[test]
    fn nan_and_inf_samples_become_silence() {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 16_000,
            bits_per_sample: 32,
            sample_format: hound::SampleFormat::Float,
        };
        let mut cursor = std::io::Cursor::new(Vec::new());
        {
            let mut w = hound::WavWriter::new(&mut cursor, spec).unwrap();
            for v in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 0.25] {
                w.write_sample(v).unwrap();
            }
            w.finalize().unwrap();
        }
        let audio = read_from(std::io::Cursor::new(cursor.into_inner()), "nan.wav").unwrap();
        assert_eq!(audio.samples, vec![0.0, 0.0, 0.0, 0.25]);
    }
}
