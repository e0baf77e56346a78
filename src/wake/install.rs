//! The wake-word front-end models, fetched from PyPI (the openWakeWord wheel, whose
//! code and these two models are Apache-2.0; its bundled wake heads are not used) and
//! pinned by sha256.

use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::stt::install::{hex, io, pip_download, tempdir, InstallError};

pub const MEL_MODEL: &str = "melspectrogram.onnx";
pub const EMBEDDING_MODEL: &str = "embedding_model.onnx";
const PACKAGE: &str = "openwakeword";
const VERSION: &str = "0.4.0";
const FILES: [(&str, &str); 2] = [
    (
        MEL_MODEL,
        "ba2b0e0f8b7b875369a2c89cb13360ff53bac436f2895cced9f479fa65eb176f",
    ),
    (
        EMBEDDING_MODEL,
        "ba754db3cd768a524c655ea90655ee5e6055a43b8dfd29366a11e93716ae9e51",
    ),
];

/// Where the front end and enrolled phrases live by default.
pub fn default_dir() -> PathBuf {
    crate::config::data_dir().join("models").join("wake")
}

/// Whether both models are present in `dir`.
pub fn installed(dir: &Path) -> bool {
    FILES.iter().all(|(name, _)| dir.join(name).is_file())
}

/// Installs both models into `dir`, from `wheel` or from PyPI with pip.
pub fn install(
    dir: &Path,
    wheel: Option<&Path>,
    mut progress: impl FnMut(&str),
) -> Result<(), InstallError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let scratch = tempdir(dir)?;
    let result = (|| {
        let wheel = match wheel {
            Some(w) => w.to_owned(),
            None => pip_download(PACKAGE, VERSION, &scratch, &mut progress)?,
        };
        let bad = |reason: String| InstallError::Wheel {
            path: wheel.clone(),
            reason,
        };
        let file = std::fs::File::open(&wheel).map_err(io(&wheel))?;
        let mut zip = zip::ZipArchive::new(file).map_err(|e| bad(e.to_string()))?;
        for (name, expected) in FILES {
            let inner = format!("openwakeword/resources/models/{name}");
            let mut bytes = Vec::new();
            zip.by_name(&inner)
                .map_err(|e| bad(format!("{inner}: {e}")))?
                .read_to_end(&mut bytes)
                .map_err(|e| bad(format!("{inner}: {e}")))?;
            let found = hex(&Sha256::digest(&bytes));
            if found != expected {
                return Err(InstallError::Checksum {
                    found,
                    expected: expected.into(),
                });
            }
            let dest = dir.join(name);
            let partial = dest.with_extension("onnx.partial");
            std::fs::write(&partial, &bytes).map_err(io(&partial))?;
            std::fs::rename(&partial, &dest).map_err(io(&dest))?;
            progress(&format!("installed {} (sha256 {found})", dest.display()));
        }
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&scratch);
    result
}
