//! Writing a file so that a reader sees either what was there or the whole new contents,
//! never half of it: the bytes go to a temporary file beside it (same filesystem, named
//! for this process), which is then renamed over it.

use std::path::Path;

/// Writes `bytes` to `dest` atomically; the temporary file is removed if anything fails.
pub fn write(dest: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut name = dest.file_name().unwrap_or_default().to_owned();
    name.push(format!(".partial-{}", std::process::id()));
    let temporary = dest.with_file_name(name);
    let written = std::fs::write(&temporary, bytes).and_then(|_| std::fs::rename(&temporary, dest));
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_file_whole_and_leaves_nothing_beside_it() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("luna.service");
        std::fs::write(&dest, "old").unwrap();
        write(&dest, b"new contents").unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"new contents");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "{names:?}");
        // Into a directory that does not exist: an error, and nothing left behind.
        assert!(write(&dir.path().join("absent/x"), b"x").is_err());
    }
}
