//! Slot values: converting what a pattern captured, and finding slots anywhere in a
//! sentence when the fallback classifier (not a pattern) chose the intent.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use super::apps::{AppCatalog, PRONOUNS, PRONOUN_MARKER};
use super::numbers::{parse_clock_time, parse_duration, parse_percent, WEEKDAYS};
use super::Slots;

/// Converts one captured group into slots; `None` rejects the pattern.
pub fn convert(group: &str, raw: &str, apps: &AppCatalog, slots: &mut Slots) -> Option<()> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    match group {
        "app" => {
            let value = if PRONOUNS.contains(&raw) {
                PRONOUN_MARKER.to_owned()
            } else {
                apps.resolve(raw)?.name.clone()
            };
            slots.insert("app".into(), Value::from(value));
        }
        "duration" => {
            slots.insert("duration_s".into(), Value::from(parse_duration(raw)?));
        }
        "in" => {
            slots.insert("in_s".into(), Value::from(parse_duration(raw)?));
        }
        "when" => {
            let (time, day) = parse_when(raw)?;
            slots.insert("time".into(), Value::from(time));
            if let Some(day) = day {
                slots.insert("day".into(), Value::from(day));
            }
        }
        "at" => {
            let (time, _day) = parse_when(raw)?;
            slots.insert("at".into(), Value::from(time));
        }
        "level" => {
            slots.insert("level_pct".into(), Value::from(parse_percent(raw)?));
        }
        "step" => {
            let raw = raw.trim_end_matches(" points").trim_end_matches(" point");
            slots.insert("step_pct".into(), Value::from(parse_percent(raw)?));
        }
        "metric" => {
            slots.insert("metric".into(), Value::from(metric(raw)?));
        }
        "list" => {
            slots.insert("list".into(), Value::from(list_name(raw)?));
        }
        "item" => {
            slots.insert("item".into(), Value::from(noun_phrase(raw)?));
        }
        "expression" => {
            slots.insert("expression".into(), Value::from(arithmetic(raw)?));
        }
        "name" => {
            const NOT_NAMES: &[&str] = &[
                "new",
                "quick",
                "short",
                "long",
                "another",
                "simple",
                "second",
                "countdown",
                "count",
                "the",
                "a",
                "my",
                "this",
                "that",
                "all",
                "current",
                "running",
                "active",
                "it",
                "set",
                "one",
            ];
            if NOT_NAMES.contains(&raw) || raw.chars().any(|c| c.is_ascii_digit()) {
                return None;
            }
            slots.insert("name".into(), Value::from(raw));
        }
        "query" => {
            // "play with the dog", "search me": not a thing to play or look for.
            const NOT_OBJECTS: &[&str] = &[
                "with",
                "along",
                "around",
                "it",
                "outside",
                "in",
                "on",
                "at",
                "by",
                "for",
                "about",
                "to",
                "into",
                "out",
                "up",
                "down",
                "back",
                "together",
                "nice",
                "fair",
                "safe",
                "dead",
                "dumb",
                "cool",
                "hard",
                "me",
                "you",
                "us",
                "him",
                "her",
                "them",
                "that",
                "this",
                "those",
                "these",
                "yourself",
                "myself",
                "himself",
                "herself",
                "ourselves",
                "themselves",
                "itself",
            ];
            if raw
                .split_whitespace()
                .next()
                .is_some_and(|w| NOT_OBJECTS.contains(&w))
            {
                return None;
            }
            slots.insert("query".into(), Value::from(noun_phrase(raw)?));
        }
        "folder" => {
            let folder = noun_phrase(raw)?;
            let folder = match folder.as_str() {
                "home folder" | "home directory" => "home".to_owned(),
                "download" => "downloads".to_owned(),
                "docs" => "documents".to_owned(),
                _ => folder,
            };
            slots.insert("folder".into(), Value::from(folder));
        }
        "location" => {
            const NOT_PLACES: &[&str] = &[
                "today", "tomorrow", "outside", "now", "here", "there", "the area",
            ];
            if NOT_PLACES.contains(&raw) {
                return None;
            }
            slots.insert("location".into(), Value::from(raw));
        }
        // "text" and anything else: the words as said.
        other => {
            slots.insert(other.into(), Value::from(raw));
        }
    }
    Some(())
}

/// "monday at 8 am" → ("08:00", Some("monday")); "6 tomorrow morning" → ("06:00", Some("tomorrow")).
pub fn parse_when(raw: &str) -> Option<(String, Option<String>)> {
    let words: Vec<&str> = raw.split_whitespace().collect();
    let mut day = None;
    let mut kept: Vec<&str> = Vec::with_capacity(words.len());
    let mut i = 0;
    while i < words.len() {
        let w = words[i];
        let next_is_day = words.get(i + 1).is_some_and(|n| WEEKDAYS.contains(n));
        if (w == "on" || w == "this" || w == "next") && next_is_day {
            i += 1;
            continue;
        }
        if WEEKDAYS.contains(&w) || w == "tomorrow" {
            day = Some(w.to_owned());
        } else if w != "today" {
            kept.push(w);
        }
        i += 1;
    }
    while let Some(first) = kept.first() {
        if matches!(
            *first,
            "at" | "for" | "by" | "around" | "about" | "on" | "to"
        ) {
            kept.remove(0);
        } else {
            break;
        }
    }
    while let Some(last) = kept.last() {
        if matches!(*last, "at" | "on" | "for") {
            kept.pop();
        } else {
            break;
        }
    }
    Some((parse_clock_time(&kept.join(" "))?, day))
}

fn metric(raw: &str) -> Option<&'static str> {
    let words = raw.split_whitespace().collect::<Vec<_>>();
    let has = |w: &str| words.contains(&w);
    Some(if has("cpu") || has("processor") || has("load") {
        "cpu"
    } else if has("memory") || has("ram") {
        "memory"
    } else if has("battery") || has("charge") || has("power") {
        "battery"
    } else if has("disk") || has("storage") || has("space") || has("drive") {
        "disk"
    } else if has("stats")
        || has("status")
        || has("resources")
        || has("resource")
        || has("usage")
        || has("info")
        || has("information")
        || has("performance")
        || has("computer")
        || has("system")
        || has("machine")
        || has("laptop")
    {
        "all"
    } else {
        return None;
    })
}

fn list_name(raw: &str) -> Option<String> {
    let name = noun_phrase(raw)?;
    let name = name.strip_suffix(" list").unwrap_or(&name).to_owned();
    Some(match name.as_str() {
        "grocery" | "groceries" | "grocery shopping" => "groceries".into(),
        "to do" | "to-do" | "todo" | "to dos" | "todos" | "things to do" | "task" | "tasks" => {
            "todo".into()
        }
        "shop" | "shopping" | "shoping" => "shopping".into(),
        _ if name.split_whitespace().count() > 3 => return None,
        _ => name,
    })
}

/// Drops leading articles and fillers: "some milk" → "milk".
fn noun_phrase(raw: &str) -> Option<String> {
    let mut s = raw.trim();
    loop {
        let before = s;
        for lead in ["some ", "my ", "a ", "an ", "the ", "more ", "any ", "our "] {
            if let Some(rest) = s.strip_prefix(lead) {
                // Keep "the" inside names like "the beatles" only when nothing follows? Names win rarely.
                s = rest;
            }
        }
        if s == before {
            break;
        }
    }
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

static ARITH_ALLOWED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[0-9.+\-*/()^ ]+$|^.*sqrt\(.*$").expect("arith regex"));
static HAS_OPERATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\d\s*[+\-*/^]\s*[\d(]|sqrt\(\s*\d|cbrt\(\s*\d").expect("op regex")
});

/// Spoken arithmetic to an expression: "15 times 7" → "15 * 7", "12 squared" → "12 * 12",
/// "20 percent of 80" → "20 / 100 * 80", "square root of 81" → "sqrt(81)".
pub fn arithmetic(raw: &str) -> Option<String> {
    if let Some(expr) = imperative_arithmetic(raw) {
        return Some(expr);
    }
    let raw = raw
        .replace("open bracket", "(")
        .replace("close bracket", ")")
        .replace("open parenthesis", "(")
        .replace("close parenthesis", ")");
    let mut words: Vec<String> = Vec::new();
    let tokens: Vec<&str> = raw.split_whitespace().collect();
    let mut i = 0;
    let is_num = |w: &str| w.trim_end_matches('%').parse::<f64>().is_ok();
    while i < tokens.len() {
        let t = tokens[i];
        let next = tokens.get(i + 1).copied();
        let pair = next.map(|n| format!("{t} {n}"));
        let op = match (t, pair.as_deref()) {
            (_, Some("divided by")) | (_, Some("multiplied by")) => {
                i += 1;
                Some(if t == "divided" { "/" } else { "*" })
            }
            (_, Some("to the")) if tokens.get(i + 2) == Some(&"power") => {
                i += 3;
                if tokens.get(i + 1) == Some(&"of") {
                    i += 1;
                }
                Some("^")
            }
            (_, Some("take away")) => {
                i += 1;
                Some("-")
            }
            ("plus" | "add" | "+", _) => Some("+"),
            ("and", _) if words.last().is_some_and(|w| is_num(w)) && next.is_some_and(is_num) => {
                Some("+")
            }
            ("minus" | "less" | "-", _) => Some("-"),
            ("times" | "x" | "*", _) => Some("*"),
            ("over" | "/", _) => Some("/"),
            ("^", _) => Some("^"),
            _ => None,
        };
        if let Some(op) = op {
            words.push(op.to_owned());
            i += 1;
            continue;
        }
        match t {
            "squared" => {
                let last = words.last()?.clone();
                words.push("*".into());
                words.push(last);
            }
            "cubed" => {
                let last = words.last()?.clone();
                words.extend(["*".into(), last.clone(), "*".into(), last]);
            }
            "square" | "cube" if next == Some("root") => {
                let mut j = i + 2;
                if tokens.get(j) == Some(&"of") {
                    j += 1;
                }
                let arg = tokens.get(j).filter(|a| is_num(a))?;
                let f = if t == "square" { "sqrt" } else { "cbrt" };
                words.push(format!("{f}({arg})"));
                i = j + 1;
                continue;
            }
            "half" if next == Some("of") => {
                let arg = tokens.get(i + 2).filter(|a| is_num(a))?;
                words.push(format!("{arg} / 2"));
                i += 3;
                continue;
            }
            "percent" | "per" | "%" => {
                if t == "per" && next == Some("cent") {
                    i += 1;
                }
                words.push("/ 100".into());
                if matches!(tokens.get(i + 1), Some(&"of")) {
                    words.push("*".into());
                    i += 1;
                }
            }
            "of" if words.last().is_some_and(|w| w == "/ 100") => words.push("*".into()),
            "the" | "what" | "is" | "what's" | "whats" | "equal" | "equals" | "result"
            | "answer" | "of" | "to" | "value" | "sum" | "product" | "by" | "number" | "a"
            | "please" => {}
            w if w.ends_with('%') && is_num(w) => {
                words.push(w.trim_end_matches('%').to_owned());
                words.push("/ 100".into());
                if matches!(next, Some("of")) {
                    words.push("*".into());
                    i += 1;
                }
            }
            w if is_num(w) || w == "(" || w == ")" => words.push(w.to_owned()),
            _ => return None,
        }
        i += 1;
    }
    let expr = words.join(" ");
    (ARITH_ALLOWED.is_match(&expr) && HAS_OPERATION.is_match(&expr)).then_some(expr)
}

/// "divide 360 by 12", "multiply 6 by 7", "add 45 and 55", "subtract 5 from 20".
fn imperative_arithmetic(raw: &str) -> Option<String> {
    let words: Vec<&str> = raw.split_whitespace().collect();
    let num = |w: &str| w.parse::<f64>().ok().map(|_| w.to_owned());
    match words.as_slice() {
        ["divide", a, "by", b] => Some(format!("{} / {}", num(a)?, num(b)?)),
        ["multiply", a, "by" | "and" | "times", b] => Some(format!("{} * {}", num(a)?, num(b)?)),
        ["add", a, "and" | "to" | "plus", b] => Some(format!("{} + {}", num(a)?, num(b)?)),
        ["subtract" | "take" | "take away", a, "from", b] => {
            Some(format!("{} - {}", num(b)?, num(a)?))
        }
        ["take", "away", a, "from", b] => Some(format!("{} - {}", num(b)?, num(a)?)),
        _ => None,
    }
}

static LIST_PHRASE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:add|put|remove|delete|take|cross|get|buy|need|include)(?: off)? (?P<item>.+?) (?:to|on|onto|from|off|off of|in|into|for) (?:my |the |our )?(?P<list>[a-z ]+?)(?: list)?$")
        .expect("list regex")
});

/// Finds the slots of `intent` anywhere in `text` (the fallback chose the intent, so no
/// pattern says where they are). Returns what it found; the caller checks required ones.
pub fn lenient(intent: &str, text: &str, apps: &AppCatalog) -> Option<Slots> {
    let mut slots = Slots::new();
    let words: Vec<&str> = text.split_whitespace().collect();
    let after = |markers: &[&str]| -> Option<String> {
        markers.iter().find_map(|m| {
            let padded = format!(" {text} ");
            padded
                .find(&format!(" {m} "))
                .map(|p| padded[p + m.len() + 2..].trim().to_owned())
                .filter(|s| !s.is_empty())
        })
    };
    match intent {
        "app.open" | "app.close" => {
            if let Some(app) = apps.find_in(text) {
                slots.insert("app".into(), Value::from(app.name.clone()));
            } else if words.iter().any(|w| matches!(*w, "it" | "that" | "this")) {
                slots.insert("app".into(), Value::from(PRONOUN_MARKER));
            }
        }
        "timer.start" => {
            if let Some(d) = longest(&words, parse_duration) {
                slots.insert("duration_s".into(), Value::from(d));
            }
        }
        "reminder.create" => {
            if let Some(text) = after(&["to", "about", "that", "of"]) {
                let cut = [" in ", " at "]
                    .iter()
                    .filter_map(|m| text.find(m))
                    .min()
                    .unwrap_or(text.len());
                slots.insert("text".into(), Value::from(text[..cut].trim()));
            }
            if let Some(rest) = after(&["in"]) {
                if let Some(d) =
                    longest(&rest.split_whitespace().collect::<Vec<_>>(), parse_duration)
                {
                    slots.insert("in_s".into(), Value::from(d));
                }
            }
            if let Some(rest) = after(&["at"]) {
                if let Some((t, _)) = prefix_when(&rest) {
                    slots.insert("at".into(), Value::from(t));
                }
            }
        }
        "alarm.set" | "alarm.cancel" => {
            let when = after(&["at", "for", "to"])
                .and_then(|r| prefix_when(&r))
                .or_else(|| (0..words.len()).find_map(|i| prefix_when(&words[i..].join(" "))));
            if let Some((time, day)) = when {
                slots.insert("time".into(), Value::from(time));
                if let (Some(day), "alarm.set") = (day, intent) {
                    slots.insert("day".into(), Value::from(day));
                }
            }
        }
        "volume.set" | "brightness.set" => {
            if let Some(level) = words.iter().rev().find_map(|w| parse_percent(w)) {
                slots.insert("level_pct".into(), Value::from(level));
            }
        }
        "volume.up" | "volume.down" | "brightness.up" | "brightness.down" => {
            if let Some(step) =
                after(&["by"]).and_then(|r| r.split_whitespace().next().and_then(parse_percent))
            {
                slots.insert("step_pct".into(), Value::from(step));
            }
        }
        "media.play" => {
            if let Some(q) =
                after(&["play", "listen to", "hear", "put on"]).and_then(|q| noun_phrase(&q))
            {
                const GENERIC: &[&str] = &[
                    "music",
                    "something",
                    "anything",
                    "songs",
                    "a song",
                    "tunes",
                    "it",
                ];
                if !GENERIC.contains(&q.as_str()) {
                    slots.insert("query".into(), Value::from(q));
                }
            }
        }
        "weather.get" => {
            if let Some(place) = after(&["in", "for"]) {
                let _ = convert("location", &place, apps, &mut slots);
            }
        }
        "calc.evaluate" => {
            if let Some(expr) = (0..words.len()).find_map(|i| arithmetic(&words[i..].join(" "))) {
                slots.insert("expression".into(), Value::from(expr));
            }
        }
        "web.search" | "file.search" => {
            // Files are what file.search looks for: without a word for one, it is not that.
            const FILE_WORDS: &[&str] = &[
                "file",
                "files",
                "document",
                "documents",
                "pdf",
                "pdfs",
                "spreadsheet",
                "photo",
                "photos",
                "picture",
                "pictures",
                "image",
                "images",
                "video",
                "videos",
                "folder",
                "recording",
                "presentation",
                "doc",
                "docs",
                "download",
                "downloads",
                "screenshot",
            ];
            if intent == "file.search"
                && !words
                    .iter()
                    .any(|w| FILE_WORDS.contains(w) || w.contains('.'))
            {
                return None;
            }
            let q = after(&["for", "about", "up", "google", "search", "find", "locate"]);
            if let Some(q) = q {
                let _ = convert("query", &q, apps, &mut slots);
            }
        }
        "note.create" => {
            if let Some(t) = after(&["that", "note", "down", "saying"]) {
                slots.insert("text".into(), Value::from(t));
            }
        }
        "list.add" | "list.remove" => {
            if let Some(c) = LIST_PHRASE.captures(text) {
                let _ = convert("item", &c["item"], apps, &mut slots);
                let _ = convert("list", &c["list"], apps, &mut slots);
            }
        }
        "list.show" => {
            if let Some(p) = words.iter().position(|w| *w == "list").filter(|p| *p > 0) {
                let _ = convert("list", words[p - 1], apps, &mut slots);
            }
        }
        "folder.open" => {
            const OPENING: &[&str] = &[
                "open", "show", "browse", "go", "take", "navigate", "bring", "pull", "jump", "cd",
                "see", "view", "display",
            ];
            if !words.iter().any(|w| OPENING.contains(w)) {
                return None;
            }
            const KNOWN: &[&str] = &[
                "downloads",
                "documents",
                "pictures",
                "photos",
                "music",
                "videos",
                "desktop",
                "home",
            ];
            if let Some(f) = words.iter().find(|w| KNOWN.contains(w)) {
                slots.insert("folder".into(), Value::from(*f));
            } else if let Some(p) = words
                .iter()
                .position(|w| matches!(*w, "folder" | "directory"))
                .filter(|p| *p > 0)
            {
                slots.insert("folder".into(), Value::from(words[p - 1]));
            }
        }
        "system.stats" => {
            slots.insert("metric".into(), Value::from(metric(text).unwrap_or("all")));
        }
        "timer.cancel" | "timer.status" => {
            if let Some(p) = words.iter().position(|w| *w == "timer").filter(|p| *p > 0) {
                let _ = convert("name", words[p - 1], apps, &mut slots);
            }
        }
        "reminder.cancel" => {
            if let Some(t) = after(&["to", "about"]) {
                slots.insert("text".into(), Value::from(t));
            }
        }
        _ => {}
    }
    Some(slots)
}

/// The longest run of words that `parse` accepts.
fn longest<T>(words: &[&str], parse: impl Fn(&str) -> Option<T>) -> Option<T> {
    for n in (1..=words.len().min(8)).rev() {
        for window in words.windows(n) {
            if let Some(v) = parse(&window.join(" ")) {
                return Some(v);
            }
        }
    }
    None
}

/// The longest leading run of words that reads as a time (and day).
fn prefix_when(text: &str) -> Option<(String, Option<String>)> {
    let words: Vec<&str> = text.split_whitespace().collect();
    (1..=words.len().min(8))
        .rev()
        .find_map(|n| parse_when(&words[..n].join(" ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spoken_arithmetic() {
        for (said, expr) in [
            ("15 times 7", "15 * 7"),
            ("15 * 7", "15 * 7"),
            ("12 squared", "12 * 12"),
            ("20 percent of 80", "20 / 100 * 80"),
            ("20% of 80", "20 / 100 * 80"),
            ("square root of 81", "sqrt(81)"),
            ("100 divided by 4", "100 / 4"),
            ("the sum of 3 and 4", "3 + 4"),
            ("2 to the power of 10", "2 ^ 10"),
            ("1.5 plus 2.25", "1.5 + 2.25"),
            ("divide 360 by 12", "360 / 12"),
            ("subtract 5 from 20", "20 - 5"),
            (
                "2 times open bracket 3 plus 4 close bracket",
                "2 * ( 3 + 4 )",
            ),
        ] {
            assert_eq!(arithmetic(said).as_deref(), Some(expr), "{said}");
        }
        for bad in [
            "the weather",
            "the capital of peru",
            "15",
            "time is it",
            "a lot of money",
        ] {
            assert_eq!(arithmetic(bad), None, "{bad}");
        }
    }

    #[test]
    fn when_phrases_split_day_and_time() {
        assert_eq!(
            parse_when("monday at 8 am"),
            Some(("08:00".into(), Some("monday".into())))
        );
        assert_eq!(
            parse_when("6 tomorrow morning"),
            Some(("06:00".into(), Some("tomorrow".into())))
        );
        assert_eq!(
            parse_when("2:15 pm on saturday"),
            Some(("14:15".into(), Some("saturday".into())))
        );
        assert_eq!(parse_when("11 tonight"), Some(("23:00".into(), None)));
        assert_eq!(parse_when("bed"), None);
    }
}
