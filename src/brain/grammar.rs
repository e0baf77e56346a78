//! The fast path's grammar: `config/grammar.toml`, validated and compiled once into a
//! `RegexSet` (which patterns match, in one pass) plus one `Regex` per pattern (for
//! the slots of the few that matched).

use std::collections::BTreeMap;

use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};
use serde::Deserialize;

use super::catalogue::{is_known_intent, CONTEXT_ALSO};

/// The grammar shipped with LUNA.
pub const DEFAULT_GRAMMAR: &str = include_str!("../../config/grammar.toml");

/// Named groups a pattern may use (each converts to a slot, see `slots.rs`).
pub const SLOT_GROUPS: &[&str] = &[
    "app",
    "named_app",
    "duration",
    "in",
    "more",
    "less",
    "when",
    "at",
    "level",
    "step",
    "metric",
    "list",
    "item",
    "expression",
    "name",
    "text",
    "query",
    "folder",
    "location",
    "zone",
    "date",
    "range",
    "holiday",
    "day",
    "event",
    "calevent",
    "evt",
    "target",
    "all",
];

#[derive(Debug, thiserror::Error)]
pub enum GrammarError {
    #[error("grammar {origin}: invalid TOML: {message}")]
    Toml { origin: String, message: String },
    #[error("grammar {origin}: unknown intent `{intent}` (not in the intent catalogue)")]
    UnknownIntent { origin: String, intent: String },
    #[error("grammar {origin}: intent {intent}, pattern {index}: unknown macro {{{name}}}")]
    UnknownMacro {
        origin: String,
        intent: String,
        index: usize,
        name: String,
    },
    #[error("grammar {origin}: intent {intent}, pattern {index}: unknown slot group `{group}` (known: {known})")]
    UnknownGroup {
        origin: String,
        intent: String,
        index: usize,
        group: String,
        known: String,
    },
    #[error("grammar {origin}: intent {intent}, pattern {index} is not a valid regex: {error}")]
    BadPattern {
        origin: String,
        intent: String,
        index: usize,
        error: String,
    },
    #[error("grammar {origin}: intent {intent}: confidence {confidence} is not between 0 and 1")]
    BadConfidence {
        origin: String,
        intent: String,
        confidence: f32,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GrammarFile {
    #[serde(default)]
    macros: BTreeMap<String, String>,
    intent: Vec<IntentRules>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IntentRules {
    name: String,
    patterns: Vec<String>,
    confidence: Option<f32>,
}

pub struct Rule {
    pub intent: String,
    pub regex: Regex,
    pub confidence: f32,
}

pub struct Grammar {
    set: RegexSet,
    rules: Vec<Rule>,
    /// The words the patterns are written with (for the speller).
    words: std::collections::BTreeSet<String>,
}

const SIZE_LIMIT: usize = 64 << 20;

/// The plain words of a pattern: its letters outside group names and escapes.
fn literal_words(pattern: &str) -> Vec<String> {
    fn flush(word: &mut String, out: &mut Vec<String>) {
        if word.len() >= 3 {
            out.push(std::mem::take(word));
        }
        word.clear();
    }
    let mut out = Vec::new();
    let mut word = String::new();
    let mut chars = pattern.chars();
    let mut skip_name = false;
    while let Some(c) = chars.next() {
        match c {
            // `(?P<name>`: a group's name is not a word said.
            '<' if word.is_empty() => skip_name = true,
            '>' => skip_name = false,
            'a'..='z' if !skip_name => word.push(c),
            // `\d`, `\b`, `\x27`: an escape and what it takes.
            '\\' => {
                flush(&mut word, &mut out);
                if chars.next() == Some('x') {
                    chars.nth(1);
                }
            }
            _ => flush(&mut word, &mut out),
        }
    }
    flush(&mut word, &mut out);
    out
}

impl Grammar {
    /// The grammar shipped with LUNA.
    pub fn builtin() -> Result<Self, GrammarError> {
        Self::parse(DEFAULT_GRAMMAR, "config/grammar.toml")
    }

    /// Parses and validates a grammar; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, GrammarError> {
        let file: GrammarFile = toml::from_str(text).map_err(|e| GrammarError::Toml {
            origin: origin.to_owned(),
            message: e.message().to_owned(),
        })?;
        let mut rules = Vec::new();
        let mut sources = Vec::new();
        let mut words = std::collections::BTreeSet::new();
        for intent in &file.intent {
            if !is_known_intent(&intent.name) && intent.name != CONTEXT_ALSO {
                return Err(GrammarError::UnknownIntent {
                    origin: origin.to_owned(),
                    intent: intent.name.clone(),
                });
            }
            let confidence = intent.confidence.unwrap_or(0.95);
            if !(0.0..=1.0).contains(&confidence) {
                return Err(GrammarError::BadConfidence {
                    origin: origin.to_owned(),
                    intent: intent.name.clone(),
                    confidence,
                });
            }
            for (index, pattern) in intent.patterns.iter().enumerate() {
                let expanded = expand_macros(pattern, &file.macros).map_err(|name| {
                    GrammarError::UnknownMacro {
                        origin: origin.to_owned(),
                        intent: intent.name.clone(),
                        index,
                        name,
                    }
                })?;
                let anchored = format!("^(?:{})$", dedupe_groups(&expanded));
                let regex = RegexBuilder::new(&anchored)
                    .size_limit(SIZE_LIMIT)
                    .build()
                    .map_err(|e| GrammarError::BadPattern {
                        origin: origin.to_owned(),
                        intent: intent.name.clone(),
                        index,
                        error: e.to_string(),
                    })?;
                if let Some(group) = regex
                    .capture_names()
                    .flatten()
                    .map(slot_group)
                    .find(|g| !SLOT_GROUPS.contains(g))
                {
                    return Err(GrammarError::UnknownGroup {
                        origin: origin.to_owned(),
                        intent: intent.name.clone(),
                        index,
                        group: group.to_owned(),
                        known: SLOT_GROUPS.join(", "),
                    });
                }
                words.extend(literal_words(&expanded));
                sources.push(anchored);
                rules.push(Rule {
                    intent: intent.name.clone(),
                    regex,
                    confidence,
                });
            }
        }
        let set = RegexSetBuilder::new(&sources)
            .size_limit(SIZE_LIMIT)
            .dfa_size_limit(SIZE_LIMIT)
            .build()
            .map_err(|e| GrammarError::BadPattern {
                origin: origin.to_owned(),
                intent: "(all)".into(),
                index: 0,
                error: e.to_string(),
            })?;
        Ok(Self { set, rules, words })
    }

    /// The words the patterns are written with ("timer", "weather", "remind", …).
    pub fn words(&self) -> impl Iterator<Item = &str> {
        self.words.iter().map(String::as_str)
    }

    /// The rules whose pattern matches the whole of `text`, in grammar order.
    pub fn matching(&self, text: &str) -> impl Iterator<Item = &Rule> {
        self.set.matches(text).into_iter().map(|i| &self.rules[i])
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

/// The slot a capture group fills: `name__2` (a renamed duplicate) fills `name`.
pub fn slot_group(capture_name: &str) -> &str {
    capture_name
        .split_once("__")
        .map_or(capture_name, |(base, _)| base)
}

/// The regex crate forbids a group name twice in one pattern, even in different
/// alternatives; grammars may repeat one, so later uses become `name__1`, `name__2`, ….
fn dedupe_groups(pattern: &str) -> String {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut rest = pattern;
    while let Some(at) = rest.find("(?P<") {
        let name_start = at + 4;
        let Some(len) = rest[name_start..].find('>') else {
            break;
        };
        let name = &rest[name_start..name_start + len];
        out.push_str(&rest[..name_start]);
        let count = seen.entry(name).or_insert(0);
        if *count == 0 {
            out.push_str(name);
        } else {
            out.push_str(&format!("{name}__{count}"));
        }
        *count += 1;
        rest = &rest[name_start + len..];
    }
    out.push_str(rest);
    out
}

/// Replaces `{name}` with the macro's text; quantifiers such as `{0,5}` stay.
fn expand_macros(pattern: &str, macros: &BTreeMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(pattern.len() * 2);
    let mut rest = pattern;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after.find('}');
        match close {
            Some(close)
                if !after[..close].is_empty()
                    && after[..close]
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c == '_') =>
            {
                let name = &after[..close];
                let body = macros.get(name).ok_or_else(|| name.to_owned())?;
                out.push_str(body);
                rest = &after[close + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_grammar_compiles() {
        let g = Grammar::builtin().unwrap();
        assert!(g.len() > 100);
        let first: Vec<_> = g
            .matching("what time is it")
            .map(|r| r.intent.as_str())
            .collect();
        assert_eq!(first, ["time.now"]);
    }

    #[test]
    fn bad_grammars_are_clear_errors() {
        let err = Grammar::parse(
            "[[intent]]\nname = \"time.now\"\npatterns = ['(unclosed']\n",
            "g.toml",
        )
        .err()
        .unwrap()
        .to_string();
        assert!(
            err.contains("g.toml") && err.contains("time.now") && err.contains("pattern 0"),
            "{err}"
        );
        let err = Grammar::parse(
            "[[intent]]\nname = \"time.now\"\npatterns = ['{nope}']\n",
            "g.toml",
        )
        .err()
        .unwrap()
        .to_string();
        assert!(err.contains("unknown macro {nope}"), "{err}");
        let err = Grammar::parse(
            "[[intent]]\nname = \"make.coffee\"\npatterns = ['x']\n",
            "g.toml",
        )
        .err()
        .unwrap()
        .to_string();
        assert!(err.contains("make.coffee"), "{err}");
        let err = Grammar::parse(
            "[[intent]]\nname = \"time.now\"\npatterns = ['(?P<color>x)']\n",
            "g.toml",
        )
        .err()
        .unwrap()
        .to_string();
        assert!(err.contains("color"), "{err}");
    }

    #[test]
    fn repeated_group_names_are_renamed() {
        assert_eq!(
            dedupe_groups("(?P<name>a)|(?P<name>b)|(?P<app>c)"),
            "(?P<name>a)|(?P<name__1>b)|(?P<app>c)"
        );
        assert_eq!(slot_group("name__1"), "name");
    }

    #[test]
    fn macros_expand_and_quantifiers_stay() {
        let mut m = BTreeMap::new();
        m.insert("det".to_owned(), "(?:the )?".to_owned());
        assert_eq!(
            expand_macros("open {det}x{0,5}", &m).unwrap(),
            "open (?:the )?x{0,5}"
        );
    }
}
