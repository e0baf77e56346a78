//! Conversation context: what recent commands did, so "close it", "turn it up",
//! "do that again", "cancel that" and "and spotify too" mean something.

use std::collections::hash_map::DefaultHasher;
use std::collections::VecDeque;
use std::hash::{Hash, Hasher};

use serde_json::Value;

use super::apps::{AppCatalog, PRONOUN_MARKER};
use super::catalogue::CONTEXT_ALSO;
use super::{Clause, Intent, Slots};

/// Recent commands, newest last, bounded by `[brain] max_context_history`.
#[derive(Clone, Debug, Default)]
pub struct Context {
    commands: VecDeque<Vec<Intent>>,
    max: usize,
}

/// What a part needs from context.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Need {
    App,
    Repeat,
    Also,
    CancelLast,
    Adjustable,
    /// "what time is it there": the place named before.
    Place,
}

/// "cancel that" and friends: cancel what was just scheduled, if anything was.
const CANCEL_LAST: &[&str] = &[
    "cancel that",
    "cancel it",
    "cancel",
    "undo that",
    "cancel the last command",
];

fn need(clause: &Clause) -> Option<Need> {
    let i = &clause.intent;
    match i.intent.as_str() {
        CONTEXT_ALSO => Some(Need::Also),
        "assistant.repeat" => Some(Need::Repeat),
        "assistant.cancel" if CANCEL_LAST.contains(&clause.text.as_str()) => Some(Need::CancelLast),
        "volume.up" | "volume.down" if refers_to_it(&clause.text) => Some(Need::Adjustable),
        "time.now" | "weather.get"
            if !i.slots.contains_key("location") && ends_with_there(&clause.text) =>
        {
            Some(Need::Place)
        }
        _ if i.slot_str("app") == Some(PRONOUN_MARKER) => Some(Need::App),
        _ => None,
    }
}

/// "… there", "… over there right now" as the place asked about (not "is there", "will
/// there be", nor "out there": outdoors).
fn ends_with_there(text: &str) -> bool {
    const WHEN: &[&str] = &["now", "right", "today", "tonight", "tomorrow", "currently"];
    let words: Vec<&str> = text.split_whitespace().collect();
    let Some(at) = words.iter().rposition(|w| *w == "there") else {
        return false;
    };
    let before = at.checked_sub(1).map(|b| words[b]);
    words[at + 1..].iter().all(|w| WHEN.contains(w))
        && !matches!(
            before,
            Some("is" | "are" | "was" | "will" | "be" | "get" | "out")
        )
}

fn refers_to_it(text: &str) -> bool {
    let words: Vec<&str> = text.split_whitespace().collect();
    words.contains(&"it")
        && !words.iter().any(|w| {
            matches!(
                *w,
                "volume" | "sound" | "audio" | "music" | "speaker" | "speakers"
            )
        })
}

impl Context {
    pub fn new(max: usize) -> Self {
        Self {
            commands: VecDeque::new(),
            max: max.max(1),
        }
    }

    pub fn len(&self) -> usize {
        self.commands.len()
    }

    pub fn is_empty(&self) -> bool {
        self.commands.is_empty()
    }

    /// Remembers a command's intents; unknown and conversational ones are not context.
    pub fn remember(&mut self, intents: &[Intent]) {
        let kept: Vec<Intent> = intents
            .iter()
            .filter(|i| !i.is_unknown() && !i.intent.starts_with("assistant."))
            .cloned()
            .collect();
        if kept.is_empty() {
            return;
        }
        if self.commands.len() == self.max {
            self.commands.pop_front();
        }
        self.commands.push_back(kept);
    }

    fn recent_intents(&self) -> impl Iterator<Item = &Intent> {
        self.commands.iter().rev().flat_map(|c| c.iter().rev())
    }

    fn last_app(&self) -> Option<&str> {
        self.recent_intents()
            .filter_map(|i| i.slot_str("app"))
            .find(|a| *a != PRONOUN_MARKER)
    }

    fn last_app_intent(&self) -> Option<&Intent> {
        self.recent_intents()
            .find(|i| i.intent.starts_with("app.") || i.intent == "media.play")
    }

    fn last_place(&self) -> Option<&str> {
        self.recent_intents().find_map(|i| i.slot_str("location"))
    }

    fn last_scheduled(&self) -> Option<&Intent> {
        self.commands.back().and_then(|c| {
            c.iter().rev().find(|i| {
                matches!(
                    i.intent.as_str(),
                    "timer.start" | "alarm.set" | "reminder.create"
                )
            })
        })
    }

    fn last_adjustable(&self) -> Option<&'static str> {
        self.recent_intents().find_map(|i| {
            if i.intent.starts_with("brightness.") {
                Some("brightness")
            } else if i.intent.starts_with("volume.") || i.intent.starts_with("media.") {
                Some("volume")
            } else {
                None
            }
        })
    }

    /// A fingerprint of exactly the context these parts depend on, or `None` when they
    /// depend on none (so cached resolutions are never reused in a different context).
    pub fn fingerprint_for(&self, clauses: &[Clause]) -> Option<u64> {
        let needs: Vec<Need> = clauses.iter().filter_map(need).collect();
        if needs.is_empty() {
            return None;
        }
        let mut h = DefaultHasher::new();
        for n in needs {
            match n {
                Need::App => self.last_app().hash(&mut h),
                Need::Repeat => format!("{:?}", self.commands.back()).hash(&mut h),
                Need::Also => format!("{:?}", self.last_app_intent()).hash(&mut h),
                Need::CancelLast => format!("{:?}", self.last_scheduled()).hash(&mut h),
                Need::Adjustable => self.last_adjustable().hash(&mut h),
                Need::Place => self.last_place().hash(&mut h),
            }
        }
        Some(h.finish())
    }

    /// Replaces references to context with what they refer to; what cannot be
    /// resolved becomes `unknown`.
    /// `utterance` is the whole of what was said, normalized: a place named in words
    /// that asked nothing is there, not in any part.
    pub fn resolve(&self, clauses: &[Clause], utterance: &str, apps: &AppCatalog) -> Vec<Clause> {
        let mut out = Vec::with_capacity(clauses.len());
        // Parts earlier in the same utterance count as context for later ones.
        let mut scratch = self.clone();
        for clause in clauses {
            let mut resolved = vec![clause.clone()];
            match need(clause) {
                None => {}
                Some(Need::App) => match scratch.last_app() {
                    Some(app) => {
                        resolved[0]
                            .intent
                            .slots
                            .insert("app".into(), Value::from(app));
                    }
                    None => resolved[0].intent = Intent::unknown(0.5),
                },
                Some(Need::Adjustable) if scratch.last_adjustable() == Some("brightness") => {
                    let i = &mut resolved[0].intent;
                    i.intent = i.intent.replace("volume.", "brightness.");
                }
                Some(Need::Adjustable) => {}
                // Never the local time or weather for a place not known. The place may
                // be in words that asked nothing, in this part or an earlier one ("my
                // mom's flying into anchorage, alaska. how cold is it there?").
                Some(Need::Place) => match scratch.last_place().map(str::to_owned).or_else(|| {
                    // The words before this part's "there".
                    let before = utterance
                        .rfind(clause.text.as_str())
                        .map_or(utterance, |end| &utterance[..end + clause.text.len()]);
                    let words: Vec<&str> = before.split_whitespace().collect();
                    super::slots::known_place_named(&words)
                }) {
                    Some(place) => {
                        resolved[0]
                            .intent
                            .slots
                            .insert("location".into(), Value::from(place));
                    }
                    None => resolved[0].intent = Intent::unknown(0.5),
                },
                Some(Need::Also) => {
                    let app = clause
                        .intent
                        .slot_str("app")
                        .and_then(|a| apps.resolve(a))
                        .map(|a| a.name.clone());
                    match (scratch.last_app_intent(), app) {
                        (Some(previous), Some(app)) => {
                            let mut intent = previous.clone();
                            let key = if previous.intent == "media.play" {
                                "query"
                            } else {
                                "app"
                            };
                            intent.slots = Slots::new();
                            intent.slots.insert(key.into(), Value::from(app));
                            intent.confidence = clause.intent.confidence.min(previous.confidence);
                            resolved[0].intent = intent;
                        }
                        _ => resolved[0].intent = Intent::unknown(0.5),
                    }
                }
                Some(Need::Repeat) => {
                    if let Some(previous) = scratch.commands.back() {
                        resolved = previous
                            .iter()
                            .enumerate()
                            .map(|(n, intent)| Clause {
                                text: clause.text.clone(),
                                intent: intent.clone(),
                                source: clause.source,
                                link: if n == 0 {
                                    clause.link
                                } else {
                                    super::Link::Parallel
                                },
                                delay_s: clause.delay_s,
                            })
                            .collect();
                    }
                }
                Some(Need::CancelLast) => {
                    if let Some(last) = scratch.last_scheduled() {
                        let (intent, key, value) = match last.intent.as_str() {
                            "timer.start" => ("timer.cancel", "name", last.slots.get("name")),
                            "alarm.set" => ("alarm.cancel", "time", last.slots.get("time")),
                            _ => ("reminder.cancel", "text", last.slots.get("text")),
                        };
                        let mut slots = Slots::new();
                        if let Some(v) = value {
                            slots.insert(key.into(), v.clone());
                        }
                        resolved[0].intent = Intent {
                            intent: intent.into(),
                            confidence: clause.intent.confidence,
                            slots,
                        };
                    }
                }
            }
            let intents: Vec<Intent> = resolved.iter().map(|c| c.intent.clone()).collect();
            scratch.remember(&intents);
            out.extend(resolved);
        }
        out
    }
}
