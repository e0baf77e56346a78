//! Installed apps, from freedesktop desktop entries (parsed with
//! freedesktop-desktop-entry): names, generic names, keywords, and the Exec line as
//! arguments with field codes removed, so `flatpak run org.x.App %U` starts as
//! `flatpak` with `run org.x.App`. Nothing goes through a shell.

use std::path::PathBuf;

use freedesktop_desktop_entry::{DesktopEntry, Iter};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstalledApp {
    pub desktop_id: String,
    pub name: String,
    pub generic_name: Option<String>,
    pub keywords: Vec<String>,
    /// Program and arguments.
    pub command: Vec<String>,
    pub path: PathBuf,
}

#[derive(Clone, Debug, Default)]
pub struct AppIndex {
    pub apps: Vec<InstalledApp>,
}

const NO_LOCALES: &[&str] = &[];

/// The brain's app catalogue: the built-in names plus the apps installed here.
pub fn app_catalogue() -> crate::brain::AppCatalog {
    let mut catalogue = crate::brain::AppCatalog::builtin();
    for (name, aliases) in AppIndex::scan().catalogue_entries() {
        catalogue.add(&name, aliases);
    }
    catalogue
}

/// When the application folders last changed: installing or removing an app changes
/// its folder's modification time.
fn folders_fingerprint() -> Vec<(PathBuf, Option<std::time::SystemTime>)> {
    freedesktop_desktop_entry::default_paths()
        .map(|dir| {
            let changed = std::fs::metadata(&dir).and_then(|m| m.modified()).ok();
            (dir, changed)
        })
        .collect()
}

type Snapshot = (
    Vec<(PathBuf, Option<std::time::SystemTime>)>,
    std::sync::Arc<AppIndex>,
);

static CURRENT: std::sync::Mutex<Option<Snapshot>> = std::sync::Mutex::new(None);

impl AppIndex {
    /// The standard places: `$XDG_DATA_HOME/applications`, then `$XDG_DATA_DIRS`.
    pub fn scan() -> Self {
        Self::scan_dirs(freedesktop_desktop_entry::default_paths())
    }

    /// The installed apps, rescanned only when an application folder has changed since
    /// the last call (a `stat` per folder instead of parsing every desktop entry on
    /// every command).
    pub fn current() -> std::sync::Arc<Self> {
        let fingerprint = folders_fingerprint();
        let mut current = CURRENT.lock().unwrap_or_else(|e| e.into_inner());
        match current.as_ref() {
            Some((seen, index)) if *seen == fingerprint => std::sync::Arc::clone(index),
            _ => {
                let index = std::sync::Arc::new(Self::scan());
                *current = Some((fingerprint, std::sync::Arc::clone(&index)));
                index
            }
        }
    }

    pub fn scan_dirs(dirs: impl Iterator<Item = PathBuf>) -> Self {
        let mut apps: Vec<InstalledApp> = Vec::new();
        for path in Iter::new(dirs) {
            let Ok(entry) = DesktopEntry::from_path(path.clone(), Some(NO_LOCALES)) else {
                continue;
            };
            if entry.no_display() || entry.hidden() || entry.terminal() {
                continue;
            }
            let Some(app) = Self::app(&entry, path) else {
                continue;
            };
            // The first entry found for an id wins (user dir before system dirs).
            if !apps.iter().any(|a| a.desktop_id == app.desktop_id) {
                apps.push(app);
            }
        }
        Self { apps }
    }

    fn app(entry: &DesktopEntry, path: PathBuf) -> Option<InstalledApp> {
        let name = entry.name(NO_LOCALES)?.into_owned();
        let command = entry.parse_exec().ok().filter(|c| !c.is_empty())?;
        Some(InstalledApp {
            desktop_id: entry.id().to_owned(),
            generic_name: entry.generic_name(NO_LOCALES).map(|g| g.into_owned()),
            keywords: entry
                .keywords(NO_LOCALES)
                .unwrap_or_default()
                .into_iter()
                .map(|k| k.to_lowercase())
                .collect(),
            name,
            command,
            path,
        })
    }

    /// The installed app for a spoken, canonical name ("firefox", "google chrome").
    pub fn find(&self, wanted: &str) -> Option<&InstalledApp> {
        let wanted = wanted.to_lowercase();
        let squash = |s: &str| {
            s.to_lowercase()
                .chars()
                .filter(|c| c.is_alphanumeric())
                .collect::<String>()
        };
        let w = squash(&wanted);
        let id_stem = |a: &InstalledApp| {
            let id = a.desktop_id.to_lowercase();
            let last = id.rsplit('.').next().unwrap_or(&id).to_owned();
            (squash(&id), squash(&last))
        };
        self.apps
            .iter()
            .find(|a| squash(&a.name) == w)
            .or_else(|| {
                self.apps
                    .iter()
                    .find(|a| id_stem(a).0 == w || id_stem(a).1 == w)
            })
            .or_else(|| {
                self.apps
                    .iter()
                    .find(|a| a.generic_name.as_deref().is_some_and(|g| squash(g) == w))
            })
            .or_else(|| {
                self.apps
                    .iter()
                    .find(|a| squash(&a.name).starts_with(&w) && w.len() >= 4)
            })
            .or_else(|| {
                self.apps
                    .iter()
                    .find(|a| a.keywords.iter().any(|k| squash(k) == w))
            })
    }

    /// Names and aliases to teach the brain's app catalogue.
    pub fn catalogue_entries(&self) -> Vec<(String, Vec<String>)> {
        self.apps
            .iter()
            .map(|a| {
                let mut aliases: Vec<String> = a.keywords.clone();
                if let Some(g) = &a.generic_name {
                    aliases.push(g.to_lowercase());
                }
                let stem = a
                    .desktop_id
                    .rsplit('.')
                    .next()
                    .unwrap_or(&a.desktop_id)
                    .to_lowercase();
                aliases.push(stem);
                (a.name.to_lowercase(), aliases)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &std::path::Path, id: &str, body: &str) {
        std::fs::write(dir.join(format!("{id}.desktop")), body).unwrap();
    }

    #[test]
    fn reads_entries_keeps_arguments_and_drops_field_codes() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "org.example.Notes",
            "[Desktop Entry]\nType=Application\nName=Example Notes\nGenericName=Note Taker\nKeywords=jot;memo;\nExec=flatpak run --branch=stable org.example.Notes %U\n",
        );
        write(
            dir.path(),
            "hidden",
            "[Desktop Entry]\nType=Application\nName=Hidden\nExec=hidden\nNoDisplay=true\n",
        );
        write(
            dir.path(),
            "firefox",
            "[Desktop Entry]\nType=Application\nName=Firefox Web Browser\nExec=firefox %u\n",
        );
        let index = AppIndex::scan_dirs(std::iter::once(dir.path().to_path_buf()));
        assert_eq!(index.apps.len(), 2);
        let notes = index.find("example notes").unwrap();
        assert_eq!(
            notes.command,
            ["flatpak", "run", "--branch=stable", "org.example.Notes"]
        );
        assert_eq!(
            index.find("note taker").unwrap().desktop_id,
            "org.example.Notes"
        );
        assert_eq!(index.find("jot").unwrap().desktop_id, "org.example.Notes");
        assert_eq!(index.find("firefox").unwrap().command, ["firefox"]);
        assert!(index.find("hidden").is_none());
        assert!(index.find("gimp").is_none());
    }
}
