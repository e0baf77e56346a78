//! Places LUNA knows the time zone of: cities of 100,000 people or more, US states and
//! countries (`config/places.tsv`, made by `models/brain/places.py` from GeoNames,
//! CC BY 4.0), and the zones people name ("pacific time", "gmt", "cet").
//!
//! The brain uses [`find`] to tell a place from other words ("what time is it in
//! tokyo" vs "dinner time"); the executor uses the zone it returns.

use std::collections::HashMap;
use std::sync::LazyLock;

const TABLE: &str = include_str!("../../config/places.tsv");

/// One place and its IANA zone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place {
    /// The place as LUNA says it back ("portland, oregon", "tokyo", "pacific time").
    pub name: String,
    pub zone: &'static str,
    /// The zone covers only part of it (a country or state with several zones).
    pub approximate: bool,
}

struct Row {
    kind: &'static str,
    country: &'static str,
    state: &'static str,
    zone: &'static str,
    population: u64,
}

/// Zones and zone names people say, with the IANA zone they mean.
const ZONES: &[(&str, &str)] = &[
    ("pacific", "America/Los_Angeles"),
    ("pacific time", "America/Los_Angeles"),
    ("pacific standard time", "America/Los_Angeles"),
    ("pst", "America/Los_Angeles"),
    ("pdt", "America/Los_Angeles"),
    ("west coast", "America/Los_Angeles"),
    ("mountain time", "America/Denver"),
    ("mountain standard time", "America/Denver"),
    ("mst", "America/Denver"),
    ("central time", "America/Chicago"),
    ("central standard time", "America/Chicago"),
    ("cst", "America/Chicago"),
    ("eastern", "America/New_York"),
    ("eastern time", "America/New_York"),
    ("eastern standard time", "America/New_York"),
    ("est", "America/New_York"),
    ("edt", "America/New_York"),
    ("east coast", "America/New_York"),
    ("alaska time", "America/Anchorage"),
    ("hawaii time", "Pacific/Honolulu"),
    ("atlantic time", "America/Halifax"),
    ("gmt", "Etc/GMT"),
    ("greenwich mean time", "Etc/GMT"),
    ("utc", "Etc/UTC"),
    ("universal time", "Etc/UTC"),
    ("zulu time", "Etc/UTC"),
    ("bst", "Europe/London"),
    ("british time", "Europe/London"),
    ("uk time", "Europe/London"),
    ("cet", "Europe/Paris"),
    ("central european time", "Europe/Paris"),
    ("eet", "Europe/Athens"),
    ("eastern european time", "Europe/Athens"),
    ("ist", "Asia/Kolkata"),
    ("indian standard time", "Asia/Kolkata"),
    ("jst", "Asia/Tokyo"),
    ("japan time", "Asia/Tokyo"),
    ("aest", "Australia/Sydney"),
];

/// Other names of places in the table (what people and Whisper say → table name).
const ALIASES: &[(&str, &str)] = &[
    ("nyc", "new york city"),
    ("new york", "new york city"),
    ("manhattan", "new york city"),
    ("brooklyn", "new york city"),
    ("la", "los angeles"),
    ("l a", "los angeles"),
    ("sf", "san francisco"),
    ("dc", "washington"),
    ("d c", "washington"),
    ("washington dc", "washington"),
    ("washington d c", "washington"),
    ("vegas", "las vegas"),
    ("philly", "philadelphia"),
    ("uk", "united kingdom"),
    ("u k", "united kingdom"),
    ("britain", "united kingdom"),
    ("great britain", "united kingdom"),
    ("england", "united kingdom"),
    ("scotland", "united kingdom"),
    ("wales", "united kingdom"),
    ("usa", "united states"),
    ("us", "united states"),
    ("u s", "united states"),
    ("america", "united states"),
    ("the states", "united states"),
    ("the us", "united states"),
    ("the uk", "united kingdom"),
    ("holland", "netherlands"),
    ("the netherlands", "netherlands"),
    ("bombay", "mumbai"),
    ("calcutta", "kolkata"),
    ("peking", "beijing"),
    ("saigon", "ho chi minh city"),
    ("kiev", "kyiv"),
    ("south korea", "south korea"),
    ("korea", "south korea"),
    ("russia", "russia"),
    ("czech republic", "czechia"),
    ("the philippines", "philippines"),
    ("hawaii", "hawaii"),
];

static PLACES: LazyLock<HashMap<&'static str, Vec<Row>>> = LazyLock::new(|| {
    let mut map: HashMap<&'static str, Vec<Row>> = HashMap::new();
    for line in TABLE.lines().filter(|l| !l.starts_with('#')) {
        let f: Vec<&'static str> = line.split('\t').collect();
        let [kind, name, country, state, zone, population] = f[..] else {
            continue;
        };
        map.entry(name).or_default().push(Row {
            kind,
            country,
            state,
            zone,
            population: population.parse().unwrap_or(0),
        });
    }
    // Countries first, then the most populous.
    for rows in map.values_mut() {
        rows.sort_by_key(|r| (r.kind != "country", std::cmp::Reverse(r.population)));
    }
    map
});

/// A US state or country by name, as (kind, country, state code).
fn region(words: &str) -> Option<(&'static str, &'static str)> {
    let words = ALIASES
        .iter()
        .find(|(a, _)| *a == words)
        .map_or(words, |(_, n)| n);
    PLACES
        .get(words)
        .and_then(|rows| {
            rows.iter()
                .find(|r| r.kind == "country" || r.kind == "state")
                .map(|r| (r.country, r.state))
        })
        .or_else(|| {
            // Two-letter state codes: "portland or", "austin tx".
            (words.len() == 2).then(|| {
                let code = words.to_ascii_uppercase();
                PLACES
                    .values()
                    .flatten()
                    .find(|r| r.kind == "state" && r.state == code)
                    .map(|r| (r.country, r.state))
            })?
        })
}

/// The place a phrase names, or `None` when it is not one LUNA knows.
/// "tokyo", "paris france", "portland oregon", "springfield, il", "pacific time".
pub fn find(phrase: &str) -> Option<Place> {
    let phrase = phrase.trim();
    let phrase = phrase
        .strip_prefix("the ")
        .filter(|p| !p.is_empty())
        .unwrap_or(phrase);
    let phrase = phrase
        .trim_end_matches(" time zone")
        .trim_end_matches(" timezone");
    if let Some((name, zone)) = ZONES.iter().find(|(n, _)| *n == phrase) {
        return Some(Place {
            name: (*name).to_owned(),
            zone,
            approximate: false,
        });
    }
    fn named(name: &str) -> Option<(String, &'static Vec<Row>)> {
        let name = ALIASES
            .iter()
            .find(|(a, _)| *a == name)
            .map_or(name, |(_, n)| n);
        PLACES.get(name).map(|rows| (name.to_owned(), rows))
    }
    if let Some((name, rows)) = named(phrase) {
        let row = &rows[0];
        return Some(Place {
            name: phrase.to_owned(),
            zone: row.zone,
            approximate: row.kind != "city" && several_zones(&name, row),
        });
    }
    // "<city> <state or country>": the city inside that region.
    let words: Vec<&str> = phrase.split_whitespace().collect();
    for cut in (1..words.len()).rev() {
        let (city, rest) = (words[..cut].join(" "), words[cut..].join(" "));
        let Some((country, state)) = region(&rest) else {
            continue;
        };
        let Some((_, rows)) = named(&city) else {
            continue;
        };
        if let Some(row) = rows.iter().find(|r| {
            r.kind == "city" && r.country == country && (state.is_empty() || r.state == state)
        }) {
            return Some(Place {
                name: format!("{city}, {rest}"),
                zone: row.zone,
                approximate: false,
            });
        }
        // A town too small for the table in a region that has one zone.
        if let Some((_, region_rows)) = named(&rest) {
            let row = &region_rows[0];
            return Some(Place {
                name: format!("{city}, {rest}"),
                zone: row.zone,
                approximate: several_zones(&rest, row),
            });
        }
    }
    None
}

/// What a place said after a preposition becomes for the classifiers (see [`mask`]):
/// a city their training sentences name often.
pub const MASK: &str = "london";

/// The sentence with each place LUNA knows that follows "in", "for", "at", "near",
/// "around", "to" or "from" replaced by [`MASK`], or `None` when there is none. The
/// classifiers have seen a few dozen cities; an unseen one ("is it going to be chilly in
/// mauritania") pulled their guess to `unknown`. Slots are still read from the sentence
/// as said.
pub fn mask(text: &str) -> Option<String> {
    const BEFORE: &[&str] = &["in", "for", "at", "near", "around", "to", "from"];
    // Places that are also everyday words ("for us": the United States' alias).
    const NOT_MASKED: &[&str] = &[
        "nice", "split", "reading", "bath", "mobile", "orange", "surprise", "sale", "us", "delta",
    ];
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut out: Vec<&str> = Vec::with_capacity(words.len());
    let mut changed = false;
    let mut i = 0;
    while i < words.len() {
        out.push(words[i]);
        i += 1;
        if !BEFORE.contains(&words[i - 1]) {
            continue;
        }
        let start = i + usize::from(words.get(i) == Some(&"the"));
        let longest = (1..=words.len().saturating_sub(start).min(4))
            .rev()
            .find(|&n| {
                let span = words[start..start + n].join(" ");
                !(n == 1 && NOT_MASKED.contains(&span.as_str())) && find(&span).is_some()
            });
        if let Some(n) = longest {
            changed |= words[start..start + n] != [MASK];
            out.push(MASK);
            i = start + n;
        }
    }
    changed.then(|| out.join(" "))
}

/// Whether a country or state spans more than one zone (its cities disagree).
fn several_zones(name: &str, row: &Row) -> bool {
    if row.kind == "city" {
        return false;
    }
    let _ = name;
    PLACES.values().flatten().any(|r| {
        r.kind == "city"
            && r.country == row.country
            && (row.state.is_empty() || r.state == row.state)
            && r.zone != row.zone
            && !same_offset(r.zone, row.zone)
    })
}

fn same_offset(a: &str, b: &str) -> bool {
    use chrono::{Offset, TimeZone, Utc};
    let (Ok(a), Ok(b)) = (a.parse::<chrono_tz::Tz>(), b.parse::<chrono_tz::Tz>()) else {
        return false;
    };
    let now = Utc::now().naive_utc();
    a.offset_from_utc_datetime(&now).fix() == b.offset_from_utc_datetime(&now).fix()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_after_a_preposition_are_masked_for_the_classifiers() {
        for (said, masked) in [
            (
                "is it going to be chilly in mauritania at 11 pm",
                Some("is it going to be chilly in london at 11 pm"),
            ),
            (
                "what time is it in the philippines",
                Some("what time is it in london"),
            ),
            (
                "weather for memphis tennessee tomorrow",
                Some("weather for london tomorrow"),
            ),
            ("what's the weather in london", None),
            ("set a timer for ten minutes", None),
            ("what's the weather like in nice weather", None),
            ("remind me to call mom", None),
            ("book a table for us", None),
        ] {
            assert_eq!(mask(said).as_deref(), masked, "{said}");
        }
    }

    #[test]
    fn places_and_zones_people_name() {
        for (said, zone) in [
            ("tokyo", "Asia/Tokyo"),
            ("paris france", "Europe/Paris"),
            ("portland oregon", "America/Los_Angeles"),
            ("springfield il", "America/Chicago"),
            ("springfield massachusetts", "America/New_York"),
            ("pacific time", "America/Los_Angeles"),
            ("gmt", "Etc/GMT"),
            ("london", "Europe/London"),
            ("england", "Europe/London"),
            ("new york", "America/New_York"),
            ("india", "Asia/Kolkata"),
            ("sydney australia", "Australia/Sydney"),
        ] {
            let place = find(said).unwrap_or_else(|| panic!("{said}"));
            assert_eq!(place.zone, zone, "{said}");
            assert!(place.zone.parse::<chrono_tz::Tz>().is_ok(), "{zone}");
        }
        for not_a_place in ["dinner", "the kitchen", "bed", "my meeting", "lunch", ""] {
            assert_eq!(find(not_a_place), None, "{not_a_place}");
        }
        assert!(find("united states").unwrap().approximate);
        assert!(!find("japan").unwrap().approximate);
    }

    #[test]
    fn every_zone_in_the_table_is_known_to_chrono_tz() {
        for line in TABLE.lines().filter(|l| !l.starts_with('#')) {
            let zone = line.split('\t').nth(4).unwrap();
            assert!(zone.parse::<chrono_tz::Tz>().is_ok(), "{line}");
        }
        for (_, zone) in ZONES {
            assert!(zone.parse::<chrono_tz::Tz>().is_ok(), "{zone}");
        }
    }
}
