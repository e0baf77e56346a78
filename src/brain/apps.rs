//! The app catalogue the brain resolves app names against: canonical names with
//! aliases (and the mis-hearings Whisper makes), exact, squashed ("fire fox") and fuzzy
//! ("crome") matching. The executor adds the apps installed on the machine.

use std::collections::HashMap;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct App {
    /// Canonical lowercase name, the `app` slot's value.
    pub name: String,
    pub aliases: Vec<String>,
}

#[derive(Clone, Debug, Default)]
pub struct AppCatalog {
    apps: Vec<App>,
    /// Alias (and name) → app index.
    exact: HashMap<String, usize>,
    /// The same without spaces, dots and hyphens: "fire fox" → "firefox".
    squashed: HashMap<String, usize>,
    longest_alias_words: usize,
}

/// Common desktop apps and how people (and Whisper) say them.
const BUILTIN: &[(&str, &[&str])] = &[
    (
        "firefox",
        &[
            "fire fox",
            "mozilla firefox",
            "firefox browser",
            "mozilla",
            "firefox web browser",
            "fire fox browser",
        ],
    ),
    (
        "google chrome",
        &[
            "chrome",
            "crome",
            "chrome browser",
            "google chrome browser",
            "google",
        ],
    ),
    ("chromium", &["chromium browser"]),
    // "open the browser": whichever is installed (its desktop entry's generic name is
    // "Web Browser").
    (
        "web browser",
        // Not "internet" or "web" alone: "how fast is my internet" is no app.
        &["browser", "internet browser", "a browser", "the browser"],
    ),
    (
        "visual studio code",
        &[
            "vs code",
            "vscode",
            "code",
            "visual studio",
            "visual code",
            "vs",
            "code editor",
            "v s code",
        ],
    ),
    ("spotify", &["spotify music", "spot if i", "spotty"]),
    (
        "terminal",
        &[
            "console",
            "command line",
            "command prompt",
            "shell",
            "gnome terminal",
            "konsole",
            "terminal window",
            "the terminal",
            "xterm",
            "terminal emulator",
        ],
    ),
    (
        "files",
        &[
            "file manager",
            "nautilus",
            "file explorer",
            "files app",
            "explorer",
            "finder",
            "dolphin",
            "thunar",
            "file browser",
        ],
    ),
    (
        "calculator",
        &[
            "calc",
            "gnome calculator",
            "calculator app",
            "the calculator",
            "kcalc",
        ],
    ),
    (
        "thunderbird",
        &[
            "thunder bird",
            "email",
            "mail",
            "email client",
            "mail app",
            "my email",
            "e mail",
            "my mail",
            "inbox",
        ],
    ),
    (
        "libreoffice writer",
        &[
            "writer",
            "libre office writer",
            "word",
            "word processor",
            "libreoffice",
            "libre office",
            "microsoft word",
            "office writer",
        ],
    ),
    (
        "libreoffice calc",
        &[
            "libre office calc",
            "spreadsheet",
            "excel",
            "spreadsheets",
            "microsoft excel",
        ],
    ),
    (
        "libreoffice impress",
        &[
            "libre office impress",
            "impress",
            "powerpoint",
            "presentation app",
            "slides",
        ],
    ),
    (
        "vlc",
        &[
            "vlc media player",
            "vlc player",
            "video player",
            "media player",
            "v l c",
        ],
    ),
    (
        "gimp",
        &[
            "the gimp",
            "image editor",
            "gimp image editor",
            "photo editor",
        ],
    ),
    ("slack", &["slack app"]),
    // Named by people used to them elsewhere; on this machine, if installed at all,
    // under these names (else the executor says it found no such app).
    (
        "outlook",
        &[
            "microsoft outlook",
            "ms outlook",
            "outlook email",
            "out look",
        ],
    ),
    ("photoshop", &["adobe photoshop", "photo shop"]),
    ("netflix", &["net flix"]),
    ("google maps", &["maps", "gnome maps"]),
    ("discord", &["discord app", "this cord", "discord chat"]),
    ("steam", &["steam app", "steam client"]),
    (
        "text editor",
        &[
            "gedit",
            "editor",
            "notepad",
            "text edit",
            "kate",
            "mousepad",
            "gnome text editor",
            "a text editor",
            "plain text editor",
            "notes app",
        ],
    ),
    (
        "settings",
        &[
            "system settings",
            "preferences",
            "control panel",
            "gnome settings",
            "system preferences",
            "the settings",
            "settings app",
        ],
    ),
    ("zoom", &["zoom meeting", "zoom app"]),
    ("telegram", &["telegram desktop"]),
    ("signal", &["signal desktop", "signal messenger"]),
    ("obs studio", &["obs", "o b s"]),
    ("blender", &[]),
    ("inkscape", &["ink scape"]),
    ("krita", &[]),
    ("audacity", &[]),
    ("kdenlive", &["video editor"]),
    ("rhythmbox", &["rhythm box", "music player"]),
    (
        "document viewer",
        &["evince", "pdf viewer", "pdf reader", "okular"],
    ),
    (
        "image viewer",
        &[
            "eog",
            "photo viewer",
            "picture viewer",
            "photos",
            "photos app",
        ],
    ),
    (
        "software",
        &[
            "app store",
            "software center",
            "gnome software",
            "software store",
        ],
    ),
    (
        "system monitor",
        &[
            "task manager",
            "activity monitor",
            "resource monitor",
            "htop",
            "top",
        ],
    ),
    (
        "calendar",
        &["calendar app", "gnome calendar", "my calendar"],
    ),
    ("clocks", &["clock", "clock app"]),
    ("camera", &["cheese", "webcam", "camera app"]),
    ("brave", &["brave browser"]),
    ("opera", &["opera browser"]),
    ("vivaldi", &[]),
    ("microsoft edge", &["edge", "edge browser"]),
    ("emacs", &[]),
    ("vim", &["vi", "neovim"]),
    ("intellij idea", &["intellij", "idea"]),
    ("pycharm", &["py charm"]),
    ("android studio", &[]),
    ("sublime text", &["sublime"]),
    ("postman", &[]),
    ("virtualbox", &["virtual box"]),
    ("transmission", &["torrent client"]),
    ("minecraft", &["mine craft"]),
    ("microsoft teams", &["teams", "ms teams"]),
    ("skype", &[]),
    ("whatsapp", &["whats app", "what's app"]),
    ("notion", &[]),
    ("obsidian", &[]),
    ("keepassxc", &["keepass", "password manager"]),
    ("filezilla", &["file zilla"]),
];

/// Catalogue entries that are a kind of app rather than one (see [`AppCatalog::find_in`]).
const KINDS_OF_APP: &[&str] = &["web browser"];

/// Words that refer to an app already in context.
pub const PRONOUNS: &[&str] = &[
    "it",
    "that",
    "this",
    "them",
    "that app",
    "this app",
    "the app",
    "that window",
    "this window",
    "the window",
    "that program",
    "this program",
    "it again",
    "that one",
    "this one",
];

pub const PRONOUN_MARKER: &str = "@it";

fn squash(s: &str) -> String {
    s.chars().filter(|c| c.is_alphanumeric()).collect()
}

impl AppCatalog {
    pub fn builtin() -> Self {
        let mut catalog = Self::default();
        for (name, aliases) in BUILTIN {
            catalog.add(name, aliases.iter().map(|a| a.to_string()).collect());
        }
        catalog
    }

    /// Adds an app (or more aliases for a known one).
    pub fn add(&mut self, name: &str, aliases: Vec<String>) {
        let name = name.trim().to_lowercase();
        let index = match self.apps.iter().position(|a| a.name == name) {
            Some(i) => i,
            None => {
                self.apps.push(App {
                    name: name.clone(),
                    aliases: Vec::new(),
                });
                self.apps.len() - 1
            }
        };
        for alias in
            std::iter::once(name.clone()).chain(aliases.into_iter().map(|a| a.to_lowercase()))
        {
            self.longest_alias_words = self
                .longest_alias_words
                .max(alias.split_whitespace().count());
            self.exact.entry(alias.clone()).or_insert(index);
            let squashed = squash(&alias);
            if squashed.len() >= 3 {
                self.squashed.entry(squashed).or_insert(index);
            }
            if alias != name && !self.apps[index].aliases.contains(&alias) {
                self.apps[index].aliases.push(alias);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.apps.len()
    }

    pub fn is_empty(&self) -> bool {
        self.apps.is_empty()
    }

    /// Resolves a spoken app name: exact alias, then without spaces, then fuzzy.
    pub fn resolve(&self, phrase: &str) -> Option<&App> {
        let phrase = phrase.trim();
        let phrase = ["the ", "my ", "a ", "an "]
            .iter()
            .find_map(|d| phrase.strip_prefix(d))
            .unwrap_or(phrase);
        let phrase = [" app", " application", " program", " browser", " window"]
            .iter()
            .find_map(|s| {
                phrase.strip_suffix(s).filter(|p| {
                    self.exact.contains_key(*p) || self.squashed.contains_key(&squash(p))
                })
            })
            .unwrap_or(phrase);
        if phrase.is_empty() {
            return None;
        }
        if let Some(&i) = self.exact.get(phrase) {
            return Some(&self.apps[i]);
        }
        let squashed = squash(phrase);
        if let Some(&i) = self.squashed.get(&squashed) {
            return Some(&self.apps[i]);
        }
        // Fuzzy: one slip in a name of five letters or more ("crome", "firefx", "spotfy").
        if squashed.len() < 5 {
            return None;
        }
        let mut best: Option<(f64, usize)> = None;
        for (alias, &i) in &self.squashed {
            if alias.len() < 5 || alias.len().abs_diff(squashed.len()) > 2 {
                continue;
            }
            let score = strsim::normalized_damerau_levenshtein(&squashed, alias);
            if score >= 0.8 && best.is_none_or(|(b, _)| score > b) {
                best = Some((score, i));
            }
        }
        best.map(|(_, i)| &self.apps[i])
    }

    /// The longest app mention anywhere in `text` (for the fallback's slot filling). A
    /// kind of app ("the browser") names one only as the object of open or close, said
    /// to the grammar: a sentence that mentions a browser asks for none.
    pub fn find_in(&self, text: &str) -> Option<&App> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let app =
            |i: usize| Some(&self.apps[i]).filter(|a| !KINDS_OF_APP.contains(&a.name.as_str()));
        for n in (1..=self.longest_alias_words.min(words.len())).rev() {
            for window in words.windows(n) {
                let phrase = window.join(" ");
                if let Some(found) = self.exact.get(&phrase).and_then(|&i| app(i)) {
                    return Some(found);
                }
                if n > 1 {
                    if let Some(found) = self.squashed.get(&squash(&phrase)).and_then(|&i| app(i)) {
                        return Some(found);
                    }
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_aliases_slips_and_fuzzy_names() {
        let c = AppCatalog::builtin();
        let name = |p: &str| c.resolve(p).map(|a| a.name.as_str());
        assert_eq!(name("firefox"), Some("firefox"));
        assert_eq!(name("fire fox"), Some("firefox"));
        assert_eq!(name("the firefox browser"), Some("firefox"));
        assert_eq!(name("the browser"), Some("web browser"));
        assert_eq!(name("chrome"), Some("google chrome"));
        assert_eq!(name("crome"), Some("google chrome"));
        assert_eq!(name("v s code"), Some("visual studio code"));
        assert_eq!(name("thunder bird"), Some("thunderbird"));
        assert_eq!(name("spotfy"), Some("spotify"));
        assert_eq!(name("a bank account"), None);
        assert_eq!(name("the door"), None);
        assert_eq!(name("window"), None);
    }

    #[test]
    fn finds_an_app_inside_a_sentence() {
        let c = AppCatalog::builtin();
        assert_eq!(
            c.find_in("i would love to use fire fox now").unwrap().name,
            "firefox"
        );
        assert_eq!(
            c.find_in("get me into visual studio code").unwrap().name,
            "visual studio code"
        );
        assert!(c.find_in("what a lovely day").is_none());
    }

    #[test]
    fn installed_apps_can_be_added() {
        let mut c = AppCatalog::builtin();
        c.add("Tor Browser", vec!["tor".into()]);
        assert_eq!(c.resolve("tor").unwrap().name, "tor browser");
    }
}
