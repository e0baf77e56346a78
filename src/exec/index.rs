//! The file index behind `file.search`: names and folders of the files under the
//! configured roots in SQLite FTS5. `luna index` builds it and keeps it fresh
//! incrementally: unchanged files (same size and mtime) are skipped, vanished ones
//! removed.

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use rusqlite::params;
use serde::Serialize;

use crate::store::{now_ms, Store, StoreError};

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct IndexReport {
    pub scanned: u64,
    pub added: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub removed: u64,
}

/// Indexes every file under `roots` except paths containing an `excludes` component
/// (e.g. ".git", "node_modules") and hidden ones. `progress(files_seen)` is called as
/// it goes.
pub fn index(
    store: &Store,
    roots: &[PathBuf],
    excludes: &[String],
    mut progress: impl FnMut(u64),
) -> Result<IndexReport, StoreError> {
    let mut report = IndexReport::default();
    let mut conn = store.connection()?;
    let tx = conn.transaction()?;
    // This run's mark; strictly after the last run's, even within one millisecond.
    let last: Option<i64> =
        tx.query_row("SELECT max(indexed_at_ms) FROM files", [], |r| r.get(0))?;
    let started = now_ms().max(last.map_or(0, |l| l + 1));
    for root in roots {
        let walker = walkdir::WalkDir::new(root)
            .follow_links(false)
            .into_iter()
            .filter_entry(|e| {
                let name = e.file_name().to_string_lossy();
                e.depth() == 0
                    || (!name.starts_with('.') && !excludes.iter().any(|x| x == name.as_ref()))
            });
        for entry in walker
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_file())
        {
            let Ok(meta) = entry.metadata() else { continue };
            let path = entry.path();
            let mtime_ms = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_millis() as i64);
            let size = meta.len() as i64;
            let shown = path.to_string_lossy();
            let known: Option<(i64, i64)> = tx
                .query_row(
                    "SELECT size, mtime_ms FROM files WHERE path = ?1",
                    [shown.as_ref()],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .ok();
            match known {
                Some((s, m)) if s == size && m == mtime_ms => {
                    tx.execute(
                        "UPDATE files SET indexed_at_ms = ?2 WHERE path = ?1",
                        params![shown.as_ref(), started],
                    )?;
                    report.unchanged += 1;
                }
                other => {
                    let name = path
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    let dir = path
                        .parent()
                        .map(|d| d.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    tx.execute(
                        "INSERT INTO files (path, name, dir, size, mtime_ms, indexed_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                         ON CONFLICT (path) DO UPDATE SET size = excluded.size, mtime_ms = excluded.mtime_ms,
                             indexed_at_ms = excluded.indexed_at_ms",
                        params![shown.as_ref(), search_text(&name), dir, size, mtime_ms, started],
                    )?;
                    if other.is_some() {
                        report.updated += 1;
                    } else {
                        report.added += 1;
                    }
                }
            }
            report.scanned += 1;
            if report.scanned % 500 == 0 {
                progress(report.scanned);
            }
        }
    }
    // What was not seen under the roots is gone.
    for root in roots {
        let prefix = format!("{}%", root.to_string_lossy());
        report.removed += tx.execute(
            "DELETE FROM files WHERE path LIKE ?1 AND indexed_at_ms < ?2",
            params![prefix, started],
        )? as u64;
    }
    tx.commit()?;
    progress(report.scanned);
    Ok(report)
}

/// File names as words: "tax-report_2025.pdf" → "tax report 2025 pdf".
fn search_text(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect::<String>()
}

/// The roots to index: `[files] roots` (with ~), or the home directory.
pub fn roots(configured: &[String]) -> Vec<PathBuf> {
    if configured.is_empty() {
        return dirs::home_dir().into_iter().collect();
    }
    configured
        .iter()
        .map(|r| crate::config::expand_home(r))
        .filter(|p| Path::new(p).is_dir())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreOptions;

    #[test]
    fn indexes_searches_and_stays_fresh() {
        let dir = tempfile::tempdir().unwrap();
        let tree = dir.path().join("home");
        std::fs::create_dir_all(tree.join("docs/taxes")).unwrap();
        std::fs::create_dir_all(tree.join("project/node_modules/x")).unwrap();
        std::fs::write(tree.join("docs/taxes/tax-report_2025.pdf"), "pdf").unwrap();
        std::fs::write(tree.join("docs/holiday photos.zip"), "zip").unwrap();
        std::fs::write(tree.join("project/node_modules/x/tax.js"), "js").unwrap();
        std::fs::write(tree.join(".secret-tax"), "hidden").unwrap();
        let store = Store::open(&dir.path().join("l.db"), &StoreOptions::default()).unwrap();
        let excludes = vec!["node_modules".to_owned()];
        let roots = vec![tree.clone()];
        let first = index(&store, &roots, &excludes, |_| {}).unwrap();
        assert_eq!((first.scanned, first.added), (2, 2));
        let search = |q: &str| -> Vec<String> {
            let conn = store.connection().unwrap();
            let mut stmt = conn
                .prepare("SELECT f.path FROM files_fts JOIN files f ON f.id = files_fts.rowid WHERE files_fts MATCH ?1")
                .unwrap();
            stmt.query_map([q], |r| r.get(0))
                .unwrap()
                .filter_map(Result::ok)
                .collect()
        };
        assert_eq!(search("\"tax\"* \"report\"*").len(), 1);
        assert_eq!(search("\"holiday\"*").len(), 1);
        // Incremental: nothing changed, then one file removed.
        let second = index(&store, &roots, &excludes, |_| {}).unwrap();
        assert_eq!((second.unchanged, second.added, second.removed), (2, 0, 0));
        std::fs::remove_file(tree.join("docs/holiday photos.zip")).unwrap();
        let third = index(&store, &roots, &excludes, |_| {}).unwrap();
        assert_eq!(third.removed, 1);
        assert!(search("\"holiday\"*").is_empty());
    }
}
