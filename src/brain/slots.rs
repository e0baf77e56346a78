//! Slot values: converting what a pattern captured, and finding slots anywhere in a
//! sentence when the fallback classifier (not a pattern) chose the intent.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use super::apps::{AppCatalog, PRONOUNS, PRONOUN_MARKER};
use super::numbers::{parse_clock_time, parse_duration, parse_level, parse_percent, WEEKDAYS};
use super::Slots;

/// An occasion and the date it is on ("my birthday on march 14th", "the wedding which
/// is on june 3rd"): the date.
static OCCASION_ON: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:my|our|the|his|her|their|[a-z]+'s) (?:[a-z'-]+ ){0,3}?[a-z'-]+ (?:on|which is on|that's on|that is on|is on) (.+)$")
        .expect("occasion regex")
});

/// "durban tomorrow and what time is it there": a second request after a place.
static SECOND_REQUEST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:and|then|also) (?:what|what's|how|how's|is|are|will|when|where|do|does|set|play|turn|remind|add|tell|can|could|open|start)\b")
        .expect("second request regex")
});

/// Indoor rooms, whose temperature is a thermostat's, not the weather's.
const INDOOR_ROOMS: &str = "kitchen|living room|lounge|bedroom|master bedroom|bathroom|nursery|basement|attic|garage|hallway|dining room|kids room|playroom|guest room|laundry room|upstairs|downstairs|greenhouse|cellar|loft|conservatory|baby's room|[a-z]+'s room";

/// A weather place that is a room or a home sensor: the whole place slot, where a
/// bare "office", "hall" or "den" cannot be a town either.
static ROOM_NOT_PLACE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"^(?:the |my |our )?(?:{INDOOR_ROOMS}|office|hall|den|family room)(?: sensor| thermostat| thermometer)?$|\b(?:sensor|thermostat|thermometer)$"
    ))
    .expect("room regex")
});

/// Whether a sentence names a room or a home sensor ("in the nursery", "the basement
/// sensor"): a temperature there is a thermostat's.
pub fn names_a_room(text: &str) -> bool {
    static ROOM_NAMED: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(&format!(
            r"\b(?:in|of|on) (?:the |my |our )?(?:{INDOOR_ROOMS})\b|\b(?:sensor|thermostat|thermometer)\b"
        ))
        .expect("room regex")
    });
    ROOM_NAMED.is_match(text)
}

/// A place as said before the when that followed it: "boston this weekend" → "boston",
/// "lago vista tennessee on october fourteenth" → "lago vista tennessee".
fn place_without_when(said: &str) -> &str {
    const WHEN: &[&str] = &[
        "on",
        "at",
        "this",
        "next",
        "tomorrow",
        "today",
        "tonight",
        "later",
        "now",
        "right",
        "during",
        "over",
        "until",
        "till",
        "by",
        "from",
        "around",
        "in",
        "for",
        "the",
        "morning",
        "afternoon",
        "evening",
        "weekend",
    ];
    let is_when = |word: &str| {
        WHEN.contains(&word)
            || WEEKDAYS.contains(&word)
            || super::dates::month(word).is_some()
            || word.starts_with(|c: char| c.is_ascii_digit())
    };
    if super::places::find(said).is_some() {
        return said;
    }
    let mut at = 0;
    for (i, word) in said.split(' ').enumerate() {
        if i > 0 && is_when(word) {
            return &said[..at - 1];
        }
        at += word.len() + 1;
    }
    said
}

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
        // An app named with the word "app" after it ("open the netflix app"): a name
        // the catalogue does not know is taken as said (the executor looks for it
        // among the installed apps and says when there is none).
        "named_app" => {
            const NOT_APPS: &[&str] = &[
                "it", "that", "this", "new", "an", "the", "another", "same", "other", "your", "my",
                "any", "some", "which", "what", "every", "each", "all", "weather", "timer",
                "alarm", "reminder", "calendar", "music", "camera",
            ];
            let value = match apps.resolve(raw) {
                Some(app) => app.name.clone(),
                None => {
                    let words: Vec<&str> = raw.split_whitespace().collect();
                    if words.len() > 3 || words.iter().any(|w| NOT_APPS.contains(w)) {
                        return None;
                    }
                    raw.to_owned()
                }
            };
            slots.insert("app".into(), Value::from(value));
        }
        "duration" => {
            slots.insert("duration_s".into(), Value::from(parse_duration(raw)?));
        }
        "in" => {
            slots.insert("in_s".into(), Value::from(parse_duration(raw)?));
        }
        // Time added to a timer, or taken off it.
        "more" => {
            slots.insert("delta_s".into(), Value::from(time_added(raw)?));
        }
        "less" => {
            slots.insert("delta_s".into(), Value::from(-time_added(raw)?));
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
            slots.insert("level_pct".into(), Value::from(parse_level(raw)?));
        }
        "step" => {
            // A notch, step or click is a tenth of the range.
            let units = [
                " notches", " notch", " steps", " step", " clicks", " click", " levels", " level",
                " bars", " bar",
            ];
            if let Some(n) = units.iter().find_map(|u| raw.strip_suffix(u)) {
                let n: u8 = n.trim().parse().ok().filter(|n| *n > 0 && *n <= 10)?;
                slots.insert("step_pct".into(), Value::from(n * 10));
                return Some(());
            }
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
            // "i need to know what's on my list": a question, not an item.
            let item = noun_phrase(raw)?;
            if item.starts_with("to ")
                || item
                    .split_whitespace()
                    .any(|w| matches!(w, "what's" | "what" | "whats"))
            {
                return None;
            }
            slots.insert("item".into(), Value::from(item));
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
                // "play the previous track again, the taylor swift one": not a title.
                "previous",
                "next",
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
            // "play the piano", "play tennis", "play catch": not something to put on.
            const NOT_MEDIA: &[&str] = &[
                "piano",
                "guitar",
                "violin",
                "drums",
                "cello",
                "flute",
                "trumpet",
                "tennis",
                "catch",
                "chess",
                "cards",
                "game",
                "games",
                "golf",
                "soccer",
                "football",
                "basketball",
                "baseball",
                "hockey",
                "poker",
                "fetch",
                "ball",
                "pretend",
                "hide",
                "tag",
                "match",
                "video",
                "videogames",
                "instrument",
                "ukulele",
                "saxophone",
                "harmonica",
                "hooky",
                "fair",
                "nice",
                "rough",
                "dumb",
                "dead",
                // A phone's messages are not LUNA's to play.
                "voicemail",
                "voicemails",
                "voicenote",
                // Games said to LUNA ("play tic tac toe with me").
                "tic",
                "hangman",
                "charades",
                "sudoku",
                "wordle",
                "trivia",
            ];
            // "put shoes on", "put the kettle on": what people put on that is not played.
            const PUT_ON_NOT_MEDIA: &[&str] = &[
                "shoes",
                "coat",
                "jacket",
                "socks",
                "clothes",
                "pajamas",
                "pyjamas",
                "jumper",
                "sweater",
                "boots",
                "gloves",
                "hat",
                "makeup",
                "sunscreen",
                "kettle",
                "dinner",
                "tea",
                "coffee",
                "water",
                "pasta",
                "rice",
                "potatoes",
                "washing",
                "laundry",
            ];
            // "crank the heat to 72", "put the lights on": a device LUNA does not control;
            // "play the last song again, i was on a call": the previous track.
            if APPLIANCE_ONLY.is_match(raw)
                || LAST_TRACK.is_match(raw)
                || PUT_ON_NOT_MEDIA.contains(&raw)
            {
                return None;
            }
            if raw
                .split_whitespace()
                .next()
                .is_some_and(|w| NOT_OBJECTS.contains(&w))
                || (raw.split_whitespace().any(|w| NOT_MEDIA.contains(&w))
                    // "piano music", "video game soundtracks" are things to put on.
                    && !raw.split_whitespace().last().is_some_and(|w| {
                        matches!(
                            w,
                            "music" | "songs" | "tunes" | "playlist" | "album" | "radio"
                                | "station" | "soundtrack" | "soundtracks" | "covers"
                                | "concerto" | "sonatas" | "sonata" | "mix"
                        )
                    }))
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
        // A place whose time zone LUNA knows (the world clock): "tokyo", "paris france".
        "zone" => {
            super::places::find(raw)?;
            slots.insert("location".into(), Value::from(raw));
        }
        "date" => {
            slots.insert("date".into(), Value::from(super::dates::parse_date(raw)?));
        }
        // "what's planned next" / "today" / "this week".
        "range" => {
            let raw = raw
                .trim_start_matches("for ")
                .trim_start_matches("on ")
                .trim_start_matches("in ");
            let value = match raw {
                "next" | "coming up" | "up next" | "upcoming" | "soon" => "next".to_owned(),
                _ => super::dates::parse_date(raw)?,
            };
            slots.insert("date".into(), Value::from(value));
        }
        "holiday" => {
            // "diwali in 2027", "easter 2028": that year's.
            let (name, year) = match raw.rsplit_once(' ') {
                Some((name, y)) if y.len() == 4 && y.parse::<i32>().is_ok() => (
                    name.strip_suffix(" in").unwrap_or(name),
                    super::dates::year(y),
                ),
                _ => (raw, None),
            };
            slots.insert("holiday".into(), Value::from(super::dates::holiday(name)?));
            if let Some(year) = year {
                slots.insert("year".into(), Value::from(year));
            }
        }
        // A day or a holiday: "until christmas", "until march 3rd".
        "day" => {
            let raw = raw.strip_prefix("the day ").unwrap_or(raw);
            // "my birthday on march 14th": the date the occasion is on.
            let raw = OCCASION_ON
                .captures(raw)
                .and_then(|c| c.get(1))
                .map_or(raw, |on| on.as_str());
            if let Some(h) = super::dates::holiday(raw) {
                slots.insert("holiday".into(), Value::from(h));
            } else {
                let date = super::dates::parse_date(raw)?;
                // "what day is today" is date.today's.
                if date == "today" {
                    return None;
                }
                slots.insert("date".into(), Value::from(date));
            }
        }
        "event" => event(raw, slots)?,
        // An event the sentence put on the calendar before naming it ("add to my
        // calendar: flight to denver"): a booking word is its title, not someone else's
        // business.
        "calevent" => event_on(raw, true, slots)?,
        // An event to cancel or move: the title may be missing ("cancel everything on
        // friday"), a date alone is enough.
        "evt" => {
            let mut found = Slots::new();
            if event(raw, &mut found).is_none() && !found.contains_key("date") {
                return None;
            }
            for (k, v) in found {
                slots.entry(k).or_insert(v);
            }
        }
        // Where an event moves to: a day, a time or both.
        "target" => {
            // "to 7 instead of 6": the new time, not the old one.
            let raw = raw
                .split_once(" instead of ")
                .or_else(|| raw.split_once(" rather than "))
                .map_or(raw, |(new, _)| new);
            let mut found = Slots::new();
            let _ = event(&format!("x {raw}"), &mut found);
            if !(found.contains_key("date") || found.contains_key("time")) {
                // "from 5 to 6": a bare hour is a time here.
                found.clear();
                let _ = event(&format!("x at {raw}"), &mut found);
            }
            let title_left = found.get("title").and_then(Value::as_str) != Some("x");
            if title_left || !(found.contains_key("date") || found.contains_key("time")) {
                return None;
            }
            for key in ["date", "time"] {
                if let Some(v) = found.remove(key) {
                    slots.insert(key.into(), v);
                }
            }
        }
        "all" => {
            slots.insert("all".into(), Value::from(true));
        }
        "location" => {
            const NOT_PLACES: &[&str] = &[
                "today", "tomorrow", "outside", "now", "here", "there", "the area",
            ];
            // "durban tomorrow and what time is it there": a second request, not a place.
            if SECOND_REQUEST.is_match(raw) {
                return None;
            }
            let raw = place_without_when(raw);
            // "in one minute": a when, not a where; "in the nursery", "in the basement
            // sensor": a room, whose temperature is a thermostat's, not the weather's.
            // "rain in my eyes", "snow in the forecast": not places.
            let first = raw.split(' ').next().unwrap_or("");
            if raw.is_empty()
                || NOT_PLACES.contains(&raw)
                || matches!(
                    first,
                    "my" | "your" | "our" | "their" | "his" | "her" | "its"
                )
                || matches!(raw, "the forecast" | "the air" | "the sky" | "the news")
                || ROOM_NOT_PLACE.is_match(raw)
                || raw.starts_with(|c: char| c.is_ascii_digit())
            {
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

/// The first place LUNA knows after "in", "for", "to", "into" or "at", as long a run of
/// words as names one ("we're flying into anchorage alaska" → "anchorage alaska").
pub fn known_place_named(words: &[&str]) -> Option<String> {
    (0..words.len())
        .filter(|&i| matches!(words[i], "in" | "for" | "to" | "into" | "at"))
        .find_map(|p| known_place_at(&words[p + 1..], 4))
}

/// The longest run of up to `max` words at the start of `words` that names a place LUNA
/// knows ("anchorage alaska tomorrow" → "anchorage alaska").
fn known_place_at(words: &[&str], max: usize) -> Option<String> {
    (1..=words.len().min(max))
        .rev()
        .map(|n| words[..n].join(" "))
        .find(|place| super::places::find(place).is_some())
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
    // "tonight at 8", "this evening at 7": the part of the day after the clock time.
    let day_part = |w: &str| {
        matches!(
            w,
            "tonight" | "this" | "morning" | "afternoon" | "evening" | "night"
        )
    };
    let lead = kept.iter().take_while(|w| day_part(w)).count();
    if lead > 0 && lead < kept.len() {
        kept.rotate_left(lead);
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
    if matches!(
        name.as_str(),
        "the" | "my" | "our" | "a" | "this" | "that" | "your" | "reminder" | "reminders"
    ) {
        return None;
    }
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

/// "96 dollars between 4", "112 pounds divided between 3": a sum shared out.
static MONEY_SHARED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(\d+(?:\.\d+)?)(?: (?:dollars?|pounds?|euros?|bucks|quid|rupees|rand|naira|shillings|cedis|ringgit|pesos|francs|yen))?(?: (?:divided|split|shared))?(?: evenly| equally)? (?:(?:between|among|amongst|by|into|across) (\d+)|(\d+) ways)$")
        .expect("money regex")
});

/// "last song again …": the track before, not a title (unlike "last christmas").
static LAST_TRACK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:the )?(?:last|previous|prior) (?:song|track|tune|one)\b")
        .expect("last track regex")
});

/// What a query or an event's title cannot be alone: a device of the house, maybe with
/// its setting ("heat to 72", "the living room lights", "the dishwasher by 3 hours").
/// Not a title that starts with one ("heat waves", "lights by ellie goulding").
static APPLIANCE_ONLY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:(?:the|my|our|all the) )?(?:(?:living|dining|family|guest|laundry|master|main|front|back|kitchen|bedroom|bathroom|hall|hallway|office|garden|garage|upstairs|downstairs|porch|patio|ceiling|floor|desk|bedside|outside|outdoor|basement|kids|room|[a-z]+'s) ){0,2}(?:heat|heating|thermostat|furnace|heater|boiler|ac|a c|air conditioning|air conditioner|aircon|air con|fan|fans|lights?|lamps?|oven|stove|microwave|kettle|vacuum|vacuum cleaner|roomba|robot vacuum|hoover|dishwasher|washer|washing machine|dryer|tumble dryer|sprinklers?|blinds|curtains|garage door|coffee machine|coffee maker)(?: (?:(?:to|at|by) (?:about |around )?\d|to (?:start|run|begin|come on|go off)\b|for |up\b|down\b|on\b|off\b).*)?$")
        .expect("appliance regex")
});

/// "15 percent off 60", "60 minus 15%", "80 plus 20 percent": a share of the sum taken
/// off or added (not 15 / 100 taken from 60).
static PERCENT_CHANGE: LazyLock<Regex> = LazyLock::new(|| {
    const MONEY: &str = r"(?: (?:dollars?|pounds?|euros?|bucks|quid|rupees|rand|pesos))?";
    Regex::new(&format!(
        r"^(?:(?P<p1>\d+(?:\.\d+)?)(?:%| percent| per cent) (?P<how1>off|discount on|off of|reduction on|on top of|more than|extra on)(?: a| the)?(?: price of| bill of)? (?P<sum1>\d+(?:\.\d+)?){MONEY}|(?P<sum2>\d+(?:\.\d+)?){MONEY} (?P<how2>minus|less|plus|with|after|and) (?:a )?(?P<p2>\d+(?:\.\d+)?)(?:%| percent| per cent)(?: off| discount| more| extra| added| on top| increase| tax| tip)?)$"
    ))
    .expect("percent change regex")
});

/// Spoken arithmetic to an expression: "15 times 7" → "15 * 7", "12 squared" → "12 * 12",
/// "20 percent of 80" → "20 / 100 * 80", "square root of 81" → "sqrt(81)".
pub fn arithmetic(raw: &str) -> Option<String> {
    if let Some(expr) = imperative_arithmetic(raw) {
        return Some(expr);
    }
    if let Some(c) = MONEY_SHARED.captures(raw) {
        let parts = c.get(2).or_else(|| c.get(3))?.as_str();
        return Some(format!("{} / {parts}", &c[1]));
    }
    if let Some(c) = PERCENT_CHANGE.captures(raw) {
        let (p, sum) = match c.name("p1") {
            Some(p) => (p.as_str(), &c["sum1"]),
            None => (&c["p2"], &c["sum2"]),
        };
        let how = c.name("how1").or_else(|| c.name("how2"))?.as_str();
        let sign = match how {
            "off" | "discount on" | "off of" | "reduction on" | "minus" | "less" => "-",
            // "60 with 15% off", "60 after 15 percent off": taken off when said so.
            "with" | "after" if raw.ends_with(" off") || raw.ends_with(" discount") => "-",
            "with" | "after" => return None,
            _ => "+",
        };
        return Some(format!("{sum} {sign} {p} / 100 * {sum}"));
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
            // "an 18% tip on 64 dollars": a share of the sum.
            "tip" if words.last().is_some_and(|w| w == "/ 100") => {
                words.push("*".into());
                if matches!(next, Some("on" | "for" | "of")) {
                    i += 1;
                }
            }
            // "three quarters of 250", "a third of 90".
            "quarter" | "quarters" | "third" | "thirds" | "fifth" | "fifths" | "tenth"
            | "tenths"
                if next == Some("of") =>
            {
                let parts = match t.trim_end_matches('s') {
                    "quarter" => 4,
                    "third" => 3,
                    "fifth" => 5,
                    _ => 10,
                };
                if !words.last().is_some_and(|w| is_num(w)) {
                    words.push("1".into());
                }
                words.push(format!("/ {parts} *"));
                i += 1;
            }
            "dollars" | "dollar" | "bucks" | "euros" | "euro" | "pounds" | "quid" => {}
            "the" | "what" | "is" | "what's" | "whats" | "equal" | "equals" | "result"
            | "answer" | "of" | "to" | "value" | "sum" | "product" | "by" | "number" | "a"
            | "an" | "please" => {}
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
    // "two plus two is four": two numbers side by side are a statement, not a sum.
    if words.windows(2).any(|w| is_num(&w[0]) && is_num(&w[1])) {
        return None;
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
    // Appliances and instruments have timers and play buttons LUNA does not control.
    const NOT_OURS: &[&str] = &[
        "heat",
        "heating",
        "furnace",
        "microwave",
        "oven",
        "stove",
        "dishwasher",
        "washer",
        "dryer",
        "washing",
        "lawn",
        "sprinkler",
        "sprinklers",
        "sprinkles",
        "vacuum",
        "roomba",
        "thermostat",
        "heater",
        "ac",
        "fan",
        "lights",
        "light",
        "lamp",
        "car",
        "piano",
        "guitar",
        "violin",
        "drums",
        "tennis",
        "catch",
        "chess",
        "cards",
        "golf",
        "game",
        "games",
        "coffee",
        "kettle",
    ];
    let family = super::catalogue::family(intent);
    if matches!(family, "timer" | "media" | "volume") && words.iter().any(|w| NOT_OURS.contains(w))
    {
        return None;
    }
    // "i'm feeling a bit down": louder or quieter needs something that sounds.
    const SOUNDS: &[&str] = &[
        "volume", "sound", "music", "it", "louder", "quieter", "softer", "tv", "speaker",
        "speakers", "audio", "loud", "quiet", "song", "radio", "podcast", "this", "that",
    ];
    if matches!(intent, "volume.up" | "volume.down") && !words.iter().any(|w| SOUNDS.contains(w)) {
        return None;
    }
    match intent {
        "app.open" | "app.close" => {
            if let Some(app) = apps.find_in(text) {
                slots.insert("app".into(), Value::from(app.name.clone()));
            } else if words.iter().any(|w| matches!(*w, "it" | "that" | "this")) {
                slots.insert("app".into(), Value::from(PRONOUN_MARKER));
            }
        }
        // "what time is it in tokyo": that place's time, or nothing (never the local
        // time for a place LUNA does not know).
        "time.now" => {
            // "the time complexity of quicksort", "the time of the game": another time.
            const OTHER_TIMES: &[&str] = &[
                "complexity",
                "of",
                "travel",
                "limit",
                "machine",
                "management",
                "signature",
                "frame",
                "line",
                "lapse",
                "off",
                "table",
                "slot",
                "capsule",
                "period",
                "span",
                "difference",
                "zones",
                "card",
                "sheet",
            ];
            if let Some(p) = words.iter().position(|w| *w == "time") {
                if words.get(p + 1).is_some_and(|w| OTHER_TIMES.contains(w)) {
                    return None;
                }
            }
            // The place after "in", "at" or "for" (the last such word first), as long a
            // run of words as names a known place: "what time is it in london, grandma
            // lives there". Words after a marker that name no place: no answer at all.
            let markers: Vec<usize> = (0..words.len())
                .rev()
                .filter(|&i| matches!(words[i], "in" | "at" | "for"))
                .collect();
            let mut unplaced = false;
            for p in markers {
                let after = &words[p + 1..];
                let after = match after {
                    [rest @ .., "right", "now"] | [rest @ .., "now"] => rest,
                    all => all,
                };
                let phrase = after.join(" ");
                if after.is_empty()
                    || matches!(
                        phrase.as_str(),
                        "the moment" | "the morning" | "the evening"
                    )
                {
                    continue;
                }
                match known_place_at(after, 5) {
                    Some(place) => {
                        slots.insert("location".into(), Value::from(place));
                        unplaced = false;
                        break;
                    }
                    None => unplaced = true,
                }
            }
            if unplaced {
                return None;
            }
        }
        // Another day needs a day: "the next full moon" is not one LUNA knows.
        "date.query" => {
            if let Some(h) = super::dates::find_holiday(text) {
                slots.insert("holiday".into(), Value::from(h));
            } else {
                let (date, _, _) = super::dates::find_date(text)?;
                if date == "today" {
                    return None;
                }
                slots.insert("date".into(), Value::from(date));
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
            let out_of_ten = text.find(" out of 10").and_then(|end| {
                let start = text[..end].rfind(' ').map_or(0, |i| i + 1);
                parse_level(&text[start..end + " out of 10".len()])
            });
            let level = out_of_ten.or_else(|| {
                (0..words.len()).rev().find_map(|i| match words.get(i + 1) {
                    Some(&"percent") | Some(&"per") => parse_percent(words[i]),
                    _ => parse_level(words[i]),
                })
            });
            if let Some(level) = level {
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
                // "play it cool", "play along with it": figures of speech.
                let mut probe = Slots::new();
                convert("query", &q, apps, &mut probe)?;
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
            // A place LUNA knows after "in", "for", "to" or "at" ("we're driving up to
            // edinburgh tomorrow …, what's the weather like up there"), else the words
            // after "in" or "for".
            if let Some(place) = known_place_named(&words) {
                slots.insert("location".into(), Value::from(place));
            } else if let Some(place) = after(&["in", "for"]) {
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
                "powerpoint",
                "ppt",
                "slides",
                "draft",
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
        "timer.adjust" => {
            let d = longest(&words, parse_duration)? as i64;
            const LESS: &[&str] = &[
                "off", "less", "subtract", "shorten", "reduce", "decrease", "minus", "fewer",
                "cut", "remove",
            ];
            let sign = if words.iter().any(|w| LESS.contains(w)) {
                -1
            } else {
                1
            };
            slots.insert("delta_s".into(), Value::from(sign * d));
            if let Some(p) = words.iter().position(|w| *w == "timer").filter(|p| *p > 0) {
                let _ = convert("name", words[p - 1], apps, &mut slots);
            }
        }
        "timer.cancel" | "timer.status" | "timer.pause" | "timer.resume" => {
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

/// Seconds in "5 more minutes", "another minute", "a couple more minutes".
fn time_added(raw: &str) -> Option<i64> {
    let words: Vec<&str> = raw
        .split_whitespace()
        .filter(|w| !matches!(*w, "more" | "another" | "extra" | "additional" | "further"))
        .collect();
    let phrase = words.join(" ");
    parse_duration(&phrase)
        .or_else(|| parse_duration(&format!("1 {phrase}")))
        .map(|s| s as i64)
}

/// Words that end a "with …" or "at …" part of an event.
fn is_event_marker(w: &str) -> bool {
    matches!(
        w,
        "at" | "on"
            | "in"
            | "for"
            | "from"
            | "with"
            | "about"
            | "to"
            | "this"
            | "next"
            | "tomorrow"
            | "today"
            | "tonight"
            | "the"
    ) || super::numbers::WEEKDAYS.contains(&w)
}

/// A time inside an event: "at 3", "at 3 pm", "3:30", "noon". Returns (HH:MM, first
/// word, word after), preferring the longest reading.
fn find_time(words: &[&str]) -> Option<(String, usize, usize)> {
    for i in 0..words.len() {
        // ("flight to denver departs 1830", "the match kicks off at 3": when it starts.)
        let marker = matches!(
            words[i],
            "at" | "from"
                | "around"
                | "by"
                | "departs"
                | "departing"
                | "leaves"
                | "leaving"
                | "starts"
                | "starting"
                | "begins"
                | "lands"
                | "arrives"
        );
        let start = if marker { i + 1 } else { i };
        for n in (1..=4.min(words.len().saturating_sub(start))).rev() {
            let phrase = words[start..start + n].join(" ");
            let Some(t) = parse_clock_time(&phrase) else {
                continue;
            };
            let explicit = marker
                || phrase.contains(':')
                || phrase.ends_with("am")
                || phrase.ends_with("pm")
                || phrase.starts_with("half past")
                || phrase.starts_with("quarter past")
                || phrase.starts_with("quarter to")
                || phrase.ends_with("o'clock")
                || matches!(words[start], "noon" | "midnight" | "midday");
            if explicit {
                return Some((afternoon_unless_said(&t, words), i, start + n));
            }
        }
    }
    None
}

/// An event's clock time said without am or pm is in working hours: "a meeting at 3"
/// is at 15:00, "dinner at 7" at 19:00, "breakfast at 8" at 8:00. Whatever says the
/// part of the day ("am", "pm", "morning", "tonight", "noon") is taken as said.
fn afternoon_unless_said(hhmm: &str, words: &[&str]) -> String {
    let said = words.iter().any(|w| {
        matches!(
            *w,
            "am" | "pm"
                | "a.m"
                | "p.m"
                | "morning"
                | "tonight"
                | "evening"
                | "afternoon"
                | "night"
                | "noon"
                | "midnight"
                | "midday"
        )
    });
    let Some((h, m)) = hhmm.split_once(':') else {
        return hhmm.to_owned();
    };
    let Ok(hour) = h.parse::<u32>() else {
        return hhmm.to_owned();
    };
    let evening_event = words.iter().any(|w| {
        matches!(
            *w,
            "dinner" | "drinks" | "party" | "concert" | "movie" | "movies" | "date" | "show"
        )
    });
    let afternoon = !said && (matches!(hour, 1..=6) || evening_event && matches!(hour, 7..=11));
    if afternoon {
        format!("{:02}:{m}", hour + 12)
    } else {
        hhmm.to_owned()
    }
}

/// "… to my calendar", "… off the family schedule": where an event goes, not its title.
static CALENDAR_PHRASE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:to|on|in|into|onto|from|off|off of|out of) (?:the |my |our |your )?(?:[a-z']+ )?(?:calendar|schedule|agenda|diary|planner)\b")
        .expect("calendar regex")
});

/// An event as said: "lunch with sarah at noon on friday at the cafe" → title "lunch",
/// with "sarah", time "12:00", date "friday", place "the cafe".
fn event(raw: &str, slots: &mut Slots) -> Option<()> {
    event_on(raw, false, slots)
}

/// [`event`], told whether the sentence named the calendar outside `raw`.
fn event_on(raw: &str, calendar_said_before: bool, slots: &mut Slots) -> Option<()> {
    let said_calendar = calendar_said_before || CALENDAR_PHRASE.is_match(raw);
    let stripped = CALENDAR_PHRASE.replace_all(raw, " ");
    let mut words: Vec<&str> = stripped.split_whitespace().collect();
    // Timers, alarms, reminders and lists have intents of their own; bookings and
    // orders are other people's business (unless put on the calendar).
    if !said_calendar
        && words.iter().any(|w| {
            matches!(
                *w,
                "reservation"
                    | "reservations"
                    | "booking"
                    | "flight"
                    | "flights"
                    | "subscription"
                    | "order"
                    | "hotel"
                    | "ticket"
                    | "tickets"
                    | "table"
            )
        })
    {
        return None;
    }
    // "cancel the dentist on tuesday and remind me monday to call them": two requests.
    if SECOND_REQUEST.is_match(raw) {
        return None;
    }
    // "schedule the vacuum for every weekday at 10", "delay the dishwasher by 3 hours".
    if !said_calendar && APPLIANCE_ONLY.is_match(&words.join(" ")) {
        return None;
    }
    if words.iter().any(|w| {
        matches!(
            *w,
            "timer"
                | "timers"
                | "alarm"
                | "alarms"
                | "reminder"
                | "reminders"
                | "list"
                | "todo"
                | "to-do"
                | "volume"
                | "brightness"
                | "music"
                | "song"
                | "playlist"
                | "file"
                | "folder"
                | "app"
        )
    }) {
        return None;
    }
    if let Some((date, a, b)) = super::dates::find_date(&words.join(" ")) {
        slots.insert("date".into(), Value::from(date));
        // "on friday", "for the day after tomorrow": the lead-in goes too.
        let mut a = a;
        while a > 0 && matches!(words[a - 1], "on" | "for" | "this" | "the" | "by" | "next") {
            a -= 1;
        }
        words.drain(a..b);
    }
    if let Some((time, a, b)) = find_time(&words) {
        slots.insert("time".into(), Value::from(time));
        words.drain(a..b);
    }
    let mut take_after = |marker: &str, key: &str, words: &mut Vec<&str>| {
        if let Some(p) = words.iter().position(|w| *w == marker) {
            let end = (p + 1..words.len())
                .find(|&j| j > p + 1 && is_event_marker(words[j]))
                .unwrap_or(words.len());
            if end > p + 1 {
                let value = words[p + 1..end].join(" ");
                slots.insert(key.into(), Value::from(value));
                words.drain(p..end);
            }
        }
    };
    take_after("with", "with", &mut words);
    take_after("at", "place", &mut words);
    take_after("in", "place", &mut words);
    // What is left is the title, without leading articles or trailing prepositions.
    while words
        .last()
        .is_some_and(|w| matches!(*w, "at" | "on" | "for" | "in" | "from" | "to"))
    {
        words.pop();
    }
    let title = noun_phrase(&words.join(" ")).unwrap_or_default();
    let title = title
        .strip_prefix("new ")
        .unwrap_or(&title)
        .trim()
        .to_owned();
    if title.is_empty() {
        return None;
    }
    slots.insert("title".into(), Value::from(title));
    Some(())
}

/// Genres people ask music by (a query made only of these is a genre).
const GENRES: &[&str] = &[
    "jazz",
    "rock",
    "pop",
    "classical",
    "hip hop",
    "hip-hop",
    "rap",
    "country",
    "blues",
    "reggae",
    "metal",
    "heavy metal",
    "punk",
    "folk",
    "soul",
    "funk",
    "disco",
    "techno",
    "house",
    "edm",
    "electronic",
    "dance",
    "lo-fi",
    "lofi",
    "lo fi",
    "ambient",
    "indie",
    "r&b",
    "r and b",
    "gospel",
    "latin",
    "salsa",
    "k-pop",
    "kpop",
    "opera",
    "swing",
    "bluegrass",
    "grunge",
    "alternative",
    "alternative rock",
    "classic rock",
    "soft rock",
    "christmas music",
    "christmas songs",
    "oldies",
    "80s",
    "90s",
    "70s",
    "60s",
    "2000s",
    "chill",
    "chillout",
    "relaxing music",
    "study music",
    "piano",
    "acoustic",
    "instrumental",
    "smooth jazz",
    "trap",
    "dubstep",
    "trance",
    "new age",
    "world music",
    "show tunes",
];

/// Slots the words say beyond what a pattern or the fallback found: the kind of media
/// asked for, the day and condition of a weather question, the day of a reminder.
pub fn enrich(intent: &str, text: &str, slots: &mut Slots) {
    let words: Vec<&str> = text.split_whitespace().collect();
    let has = |w: &str| words.contains(&w);
    match intent {
        "media.play" => {
            let kind = if has("radio") || has("station") || has("fm") || has("am") && has("radio") {
                Some("radio")
            } else if has("podcast") || has("podcasts") || has("episode") {
                Some("podcast")
            } else if has("audiobook") || has("audio") && has("book") || has("audiobooks") {
                Some("audiobook")
            } else if has("playlist") || has("mix") {
                Some("playlist")
            } else if has("album") || has("record") {
                Some("album")
            } else if text.contains(" by ") || has("artist") || has("band") {
                Some("artist")
            } else if has("song") || has("track") {
                Some("song")
            } else {
                None
            };
            let query = slots
                .get("query")
                .and_then(Value::as_str)
                .map(str::to_owned);
            let genre = query.as_deref().is_some_and(|q| {
                let q = q.trim_end_matches(" music").trim_end_matches(" songs");
                GENRES.contains(&q)
            });
            if let Some(kind) = kind.or(genre.then_some("genre")) {
                slots.insert("kind".into(), Value::from(kind));
            }
        }
        "weather.get" => {
            if !slots.contains_key("date") {
                if let Some((date, _, _)) = super::dates::find_date(text) {
                    slots.insert("date".into(), Value::from(date));
                }
            }
            let condition = if has("rain")
                || has("raining")
                || has("rainy")
                || has("umbrella")
                || has("brolly")
                || has("showers")
                || has("drizzle")
                || has("storm")
                || has("storms")
                || has("thunderstorms")
            {
                Some("rain")
            } else if has("snow") || has("snowing") || has("snowy") || has("blizzard") {
                Some("snow")
            } else if has("wind") || has("windy") || has("breezy") {
                Some("wind")
            } else if has("humid") || has("humidity") || has("muggy") {
                Some("humidity")
            } else if has("wear") || has("jacket") || has("coat") || has("sweater") || has("shorts")
            {
                Some("clothing")
            } else if has("sunny") || has("sun") || has("sunscreen") || has("uv") {
                Some("sun")
            } else if has("temperature")
                || has("hot")
                || has("cold")
                || has("warm")
                || has("degrees")
                || has("freezing")
                || has("chilly")
            {
                Some("temperature")
            } else {
                None
            };
            if let Some(c) = condition {
                slots.insert("condition".into(), Value::from(c));
            }
            if !slots.contains_key("location") {
                if let Some(place) = place_after_in(&words) {
                    slots.insert("location".into(), Value::from(place));
                }
            }
        }
        "date.query" => {
            let ask = if text.contains("how many")
                || text.contains("how long")
                || text.contains("until")
                || text.contains("till")
                || text.contains("how far")
            {
                "until"
            } else if text.contains("what day")
                || text.contains("which day")
                || text.contains("weekday")
                || text.contains("weekend")
            {
                "weekday"
            } else {
                "when"
            };
            slots.insert("ask".into(), Value::from(ask));
        }
        "reminder.create" => {
            // "remind me at 5 to call mom": 5 in the afternoon, as for an event.
            if let Some(at) = slots.get("at").and_then(Value::as_str) {
                let at = afternoon_unless_said(at, &words);
                slots.insert("at".into(), Value::from(at));
            }
            if !slots.contains_key("in_s") && !slots.contains_key("date") {
                if let Some(date) = reminder_day(&words, slots) {
                    slots.insert("date".into(), Value::from(date));
                }
            }
        }
        "list.add" | "list.remove" | "list.show" if !slots.contains_key("list") => {
            let todo = [
                "done",
                "complete",
                "completed",
                "finished",
                "task",
                "tasks",
                "chore",
                "chores",
                "did",
            ];
            let list = if words.iter().any(|w| todo.contains(w)) {
                "todo"
            } else {
                "shopping"
            };
            slots.insert("list".into(), Value::from(list));
        }
        _ => {}
    }
}

/// The day a reminder is for ("remind me on friday to …", "… to pay rent on the 14th"),
/// taken out of its `text` when said at the end of it. A day inside what to be reminded
/// of ("call the friday club") is not the reminder's day.
fn reminder_day(words: &[&str], slots: &mut Slots) -> Option<String> {
    let (date, first, end) = super::dates::find_date(&words.join(" "))?;
    let said = words[first..end].join(" ");
    let Some(text) = slots.get("text").and_then(Value::as_str).map(str::to_owned) else {
        return Some(date);
    };
    let padded = format!(" {text} ");
    if !padded.contains(&format!(" {said} ")) {
        return Some(date);
    }
    let head = text.strip_suffix(said.as_str())?;
    let mut head: Vec<&str> = head.split_whitespace().collect();
    while head
        .last()
        .is_some_and(|w| matches!(*w, "on" | "by" | "for" | "the" | "of" | "this" | "coming"))
    {
        head.pop();
    }
    if head.is_empty() {
        return None;
    }
    slots.insert("text".into(), Value::from(head.join(" ")));
    Some(date)
}

/// "… in springfield illinois tomorrow" → "springfield illinois": the words after the
/// last "in"/"for"/"at" that are not a day, a time or a filler.
fn place_after_in(words: &[&str]) -> Option<String> {
    let p = words
        .iter()
        .rposition(|w| matches!(*w, "in" | "near" | "around"))?;
    let mut rest: Vec<&str> = words[p + 1..].to_vec();
    if let Some((_, a, _)) = super::dates::find_date(&rest.join(" ")) {
        rest.truncate(a);
    }
    while rest.last().is_some_and(|w| {
        matches!(
            *w,
            "today"
                | "now"
                | "right"
                | "outside"
                | "later"
                | "tonight"
                | "like"
                | "be"
                | "going"
                | "gonna"
                | "this"
                | "morning"
                | "afternoon"
                | "evening"
                | "week"
                | "the"
                | "on"
                | "at"
                | "for"
        )
    }) {
        rest.pop();
    }
    const NOT_PLACES: &[&str] = &[
        "the area",
        "here",
        "my area",
        "the morning",
        "the afternoon",
        "the evening",
        "a bit",
        "an hour",
        "the next hour",
        "general",
    ];
    let place = rest.join(" ");
    (!place.is_empty()
        && !NOT_PLACES.contains(&place.as_str())
        && !place.chars().any(|c| c.is_ascii_digit()))
    .then_some(place)
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
    fn a_place_loses_the_when_said_after_it() {
        for (said, place) in [
            ("boston this weekend", "boston"),
            (
                "lago vista tennessee on october fourteenth",
                "lago vista tennessee",
            ),
            ("denver colorado next week", "denver colorado"),
            ("paris at 11 pm", "paris"),
            ("cuba next year", "cuba"),
            ("new york", "new york"),
            ("the hague", "the hague"),
            ("gibsland", "gibsland"),
            ("salt lake city tomorrow morning", "salt lake city"),
        ] {
            assert_eq!(place_without_when(said), place, "{said}");
        }
    }

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
            ("a 18% tip on 64 dollars", "18 / 100 * 64"),
            ("15 percent tip on 80", "15 / 100 * 80"),
            ("3 quarters of 250", "3 / 4 * 250"),
            ("96 dollars between 4", "96 / 4"),
            ("112 pounds divided between 3", "112 / 3"),
            ("250.50 split evenly among 6", "250.50 / 6"),
            ("142 dollars 4 ways", "142 / 4"),
            ("15 percent off of 60 bucks", "60 - 15 / 100 * 60"),
            ("15% off 60", "60 - 15 / 100 * 60"),
            ("60 minus 15 percent", "60 - 15 / 100 * 60"),
            ("80 plus 20%", "80 + 20 / 100 * 80"),
            ("80 with 20% off", "80 - 20 / 100 * 80"),
            ("a third of 90", "1 / 3 * 90"),
            ("2 + 2 4", ""),
            (
                "2 times open bracket 3 plus 4 close bracket",
                "2 * ( 3 + 4 )",
            ),
        ] {
            let want = Some(expr).filter(|e| !e.is_empty());
            assert_eq!(arithmetic(said).as_deref(), want, "{said}");
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
        assert_eq!(parse_when("tonight at 8"), Some(("20:00".into(), None)));
        assert_eq!(
            parse_when("this evening at 7"),
            Some(("19:00".into(), None))
        );
        assert_eq!(
            parse_when("tomorrow morning at 7"),
            Some(("07:00".into(), Some("tomorrow".into())))
        );
        assert_eq!(parse_when("bed"), None);
    }
}
