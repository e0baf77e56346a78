//! The wake-word front-end models, fetched from PyPI (the openWakeWord wheel, whose
//! code and these two models are Apache-2.0; its bundled wake heads are not used) and
//! pinned by sha256.

use std::path::{Path, PathBuf};

use crate::model_install::{io, pip_download, write_atomically, InstallError, Scratch, Wheel};

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
    crate::model_install::models_dir().join("wake")
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
    let scratch = Scratch::new(dir)?;
    let wheel = match wheel {
        Some(w) => w.to_owned(),
        None => pip_download(PACKAGE, VERSION, scratch.path(), &mut progress)?,
    };
    let mut wheel = Wheel::open(&wheel)?;
    for (name, expected) in FILES {
        let bytes =
            wheel.read_pinned(&format!("openwakeword/resources/models/{name}"), expected)?;
        let dest = dir.join(name);
        write_atomically(&dest, &bytes)?;
        progress(&format!("installed {} (sha256 {expected})", dest.display()));
    }
    Ok(())
}
