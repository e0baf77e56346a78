//! Days as people say them ("next tuesday", "march the 3rd", "the 19th", "this weekend")
//! and holidays ("easter", "thanksgiving"), in two steps:
//!
//! - [`parse_date`] / [`find_date`] / [`holiday`]: words → a context-free canonical slot
//!   value (the brain caches parses, so "tomorrow" stays "tomorrow", never a date);
//! - [`resolve`] / [`holiday_date`]: a slot value and today → the days it means, when
//!   the step runs.
//!
//! Canonical values: "today", "tomorrow", "-1" (yesterday), "+N" (in N days), "monday".."sunday",
//! "next monday".., "weekend", "next weekend", "this week", "next week", "MM-DD",
//! "YYYY-MM-DD", "---DD" (a day of this or next month), "this-month-DD" and
//! "next-month-DD" ("the 1st of this month"), "next" (whatever comes next), and any of
//! them "+N" days later ("a week from tuesday" is "tuesday+7").

use chrono::{Datelike, Duration, NaiveDate, Weekday};

use super::numbers::WEEKDAYS;

const MONTHS: &[(&str, u32)] = &[
    ("january", 1),
    ("jan", 1),
    ("february", 2),
    ("feb", 2),
    ("march", 3),
    ("mar", 3),
    ("april", 4),
    ("apr", 4),
    ("may", 5),
    ("june", 6),
    ("jun", 6),
    ("july", 7),
    ("jul", 7),
    ("august", 8),
    ("aug", 8),
    ("september", 9),
    ("sep", 9),
    ("sept", 9),
    ("october", 10),
    ("oct", 10),
    ("november", 11),
    ("nov", 11),
    ("december", 12),
    ("dec", 12),
];

pub(crate) fn month(w: &str) -> Option<u32> {
    MONTHS.iter().find(|(n, _)| *n == w).map(|(_, m)| *m)
}

fn ordinal_word(w: &str) -> Option<u32> {
    Some(match w {
        "first" => 1,
        "second" => 2,
        "third" => 3,
        "fourth" => 4,
        "fifth" => 5,
        "sixth" => 6,
        "seventh" => 7,
        "eighth" => 8,
        "ninth" => 9,
        "tenth" => 10,
        "eleventh" => 11,
        "twelfth" => 12,
        "thirteenth" => 13,
        "fourteenth" => 14,
        "fifteenth" => 15,
        "sixteenth" => 16,
        "seventeenth" => 17,
        "eighteenth" => 18,
        "nineteenth" => 19,
        "twentieth" => 20,
        "thirtieth" => 30,
        _ => return None,
    })
}

/// A day of the month at `words[i..]`: "3", "3rd", "third", "20 first" (the number words
/// were already digits), "twenty first". Returns the day and how many words it took.
fn day_of_month(words: &[&str], i: usize) -> Option<(u32, usize)> {
    let w = *words.get(i)?;
    let digits = w
        .trim_end_matches("st")
        .trim_end_matches("nd")
        .trim_end_matches("rd")
        .trim_end_matches("th");
    if let Ok(tens @ (20 | 30)) = digits.parse::<u32>() {
        if let Some(unit) = words
            .get(i + 1)
            .and_then(|n| ordinal_word(n).or_else(|| small_ordinal(n)))
            .filter(|u| *u < 10)
        {
            return Some((tens + unit, 2));
        }
    }
    let day = digits.parse::<u32>().ok().or_else(|| ordinal_word(w))?;
    (1..=31).contains(&day).then_some((day, 1))
}

fn small_ordinal(w: &str) -> Option<u32> {
    let d = w
        .trim_end_matches("st")
        .trim_end_matches("nd")
        .trim_end_matches("rd")
        .trim_end_matches("th");
    (d != w).then(|| d.parse().ok()).flatten()
}

pub(crate) fn year(w: &str) -> Option<i32> {
    w.parse::<i32>().ok().filter(|y| (1900..=2200).contains(y))
}

/// Words that carry no date meaning around a date: "on the 3rd", "for tomorrow".
fn is_filler(w: &str) -> bool {
    matches!(
        w,
        "on" | "for" | "the" | "of" | "this" | "coming" | "upcoming" | "by" | "at"
    )
}

/// A whole phrase as a canonical date, or `None` when some word is not part of one.
pub fn parse_date(raw: &str) -> Option<String> {
    let words: Vec<&str> = raw.split_whitespace().collect();
    let (value, used) = date_at(&words, 0)?;
    (used == words.len()).then_some(value)
}

/// The first date phrase inside `text`: (canonical value, first word, word after it).
pub fn find_date(text: &str) -> Option<(String, usize, usize)> {
    let words: Vec<&str> = text.split_whitespace().collect();
    (0..words.len()).find_map(|i| {
        // A filler alone is not a date; a date starting at a filler is found one later.
        if is_filler(words[i]) && words[i] != "this" {
            return None;
        }
        date_at(&words, i).map(|(v, used)| (v, i, used))
    })
}

/// A date starting at `words[start]` (after optional fillers): the canonical value and
/// the index after the last word used.
fn date_at(words: &[&str], start: usize) -> Option<(String, usize)> {
    let mut i = start;
    let mut this = false;
    while i < words.len() && is_filler(words[i]) {
        this |= words[i] == "this" || words[i] == "coming" || words[i] == "upcoming";
        i += 1;
    }
    let w = *words.get(i)?;
    let next = words.get(i + 1).copied();
    // "a week from tuesday", "2 weeks from today", "3 days from now", "a week on friday"
    if let Some((days, j)) = days_span(words, i) {
        if matches!(words.get(j), Some(&"from") | Some(&"on")) {
            if matches!(words.get(j + 1), Some(&"now") | Some(&"today")) {
                return Some((format!("+{days}"), j + 2));
            }
            let (base, used) = date_at(words, j + 1)?;
            let value = if base == "today" {
                format!("+{days}")
            } else {
                format!("{base}+{days}")
            };
            return Some((value, used));
        }
    }
    // "12/25", "14/11", "12/05/2027" (the normalizer spaces the slashes): the day is
    // the number over 12; when both could be months the month comes first, as most
    // English speakers who write dates with slashes (and Whisper) write them.
    if let (Some(a), Some(&"/"), Some(b)) = (
        w.parse::<u32>().ok(),
        words.get(i + 1),
        words.get(i + 2).and_then(|b| b.parse::<u32>().ok()),
    ) {
        let (m, d) = if a > 12 { (b, a) } else { (a, b) };
        if (1..=12).contains(&m) && (1..=31).contains(&d) {
            let year = match (words.get(i + 3), words.get(i + 4)) {
                (Some(&"/"), Some(y)) if y.len() == 4 => year(y),
                (Some(&"/"), Some(y)) if y.len() == 2 => y.parse::<i32>().ok().map(|y| 2000 + y),
                _ => None,
            };
            return Some(match year {
                Some(y) => (format!("{y:04}-{m:02}-{d:02}"), i + 5),
                None => (format!("{m:02}-{d:02}"), i + 3),
            });
        }
        return None;
    }
    let day_part = |n: Option<&str>| {
        matches!(
            n,
            Some("morning" | "afternoon" | "evening" | "night" | "noon" | "lunchtime")
        )
    };
    let plain = |v: &str, used: usize| {
        let end = if day_part(words.get(used).copied()) {
            used + 1
        } else {
            used
        };
        Some((v.to_owned(), end))
    };
    match w {
        "today" | "tonight" => return plain("today", i + 1),
        "morning" | "afternoon" | "evening" if this => return Some(("today".into(), i + 1)),
        "tomorrow" | "tmrw" | "tomorrows" => return plain("tomorrow", i + 1),
        "yesterday" | "yesterdays" => return plain("-1", i + 1),
        "day" if next == Some("after") && words.get(i + 2) == Some(&"tomorrow") => {
            return plain("+2", i + 3)
        }
        "weekend" => return Some(("weekend".into(), i + 1)),
        "week" if this => return Some(("this week".into(), i + 1)),
        "next" => {
            return match next {
                Some("week") => Some(("next week".into(), i + 2)),
                Some("weekend") => Some(("next weekend".into(), i + 2)),
                Some(d) if WEEKDAYS.contains(&d) => plain(&format!("next {d}"), i + 2),
                _ => None,
            }
        }
        "in" => {
            let (n, used) = match (next, words.get(i + 2).copied()) {
                (Some("a" | "1"), Some("week")) => (7, 3),
                (Some(n), Some("days" | "day")) => (i64::from(n.parse::<u16>().ok()?), 3),
                (Some(n), Some("weeks" | "week")) => (i64::from(n.parse::<u16>().ok()?) * 7, 3),
                _ => return None,
            };
            return (1..=366).contains(&n).then(|| (format!("+{n}"), i + used));
        }
        d if WEEKDAYS.contains(&d) => return plain(d, i + 1),
        _ => {}
    }
    // "march 3rd", "march the 3rd", "3rd of march", "the 3rd of march", "march 3 2027".
    if let Some(m) = month(w) {
        let mut j = i + 1;
        if words.get(j) == Some(&"the") {
            j += 1;
        }
        let (d, used) = day_of_month(words, j)?;
        return Some(with_year(words, m, d, j + used));
    }
    if let Some((d, used)) = day_of_month(words, i) {
        let mut j = i + used;
        if words.get(j) == Some(&"of") {
            j += 1;
        }
        if let Some(m) = words.get(j).and_then(|w| month(w)) {
            return Some(with_year(words, m, d, j + 1));
        }
        // "the 1st of this month", "the 3rd of next month"
        if j > i + used && words.get(j + 1) == Some(&"month") {
            match words.get(j) {
                Some(&"this") => return Some((format!("this-month-{d:02}"), j + 2)),
                Some(&"next") => return Some((format!("next-month-{d:02}"), j + 2)),
                _ => {}
            }
        }
        // "the 19th" alone: an ordinal is needed ("the 3" is not a date).
        let ordinal = small_ordinal(words[i]).is_some() || ordinal_word(words[i]).is_some();
        if ordinal && i > 0 && words[i - 1] == "the" {
            return Some((format!("---{d:02}"), i + used));
        }
    }
    None
}

/// A span of days at `words[i..]`: "a week", "2 weeks", "3 days", "a fortnight" (number
/// words are digits by now). Returns the days and the index after the unit.
fn days_span(words: &[&str], i: usize) -> Option<(i64, usize)> {
    let n: i64 = match *words.get(i)? {
        "a" | "one" => 1,
        w => w.parse().ok().filter(|n| (1..=52).contains(n))?,
    };
    let per = match *words.get(i + 1)? {
        "day" | "days" => 1,
        "week" | "weeks" => 7,
        "fortnight" | "fortnights" => 14,
        _ => return None,
    };
    Some((n * per, i + 2))
}

fn with_year(words: &[&str], m: u32, d: u32, at: usize) -> (String, usize) {
    let mut at = at;
    if words.get(at) == Some(&"of") || words.get(at) == Some(&"in") {
        if let Some(y) = words.get(at + 1).and_then(|w| year(w)) {
            return (format!("{y:04}-{m:02}-{d:02}"), at + 2);
        }
    }
    if let Some(y) = words.get(at).and_then(|w| year(w)) {
        at += 1;
        return (format!("{y:04}-{m:02}-{d:02}"), at);
    }
    (format!("{m:02}-{d:02}"), at)
}

/// The first and last day a canonical date means, seen from `today`.
pub fn resolve(value: &str, today: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
    let one = |d: NaiveDate| Some((d, d));
    let weekday_from = |name: &str, skip_this_week: bool| -> Option<NaiveDate> {
        let target = WEEKDAYS.iter().position(|d| *d == name)? as i64;
        let current = today.weekday().num_days_from_monday() as i64;
        let mut ahead = (target - current).rem_euclid(7);
        if skip_this_week && ahead == 0 {
            ahead = 7;
        }
        Some(today + Duration::days(ahead))
    };
    let monday = today - Duration::days(today.weekday().num_days_from_monday() as i64);
    match value {
        "today" | "next" => one(today),
        "tomorrow" => one(today + Duration::days(1)),
        "weekend" => {
            let saturday = weekday_from("saturday", false)?;
            let saturday = if today.weekday() == Weekday::Sun {
                today - Duration::days(1)
            } else {
                saturday
            };
            Some((saturday.max(today), saturday + Duration::days(1)))
        }
        "next weekend" => {
            let saturday = monday + Duration::days(12);
            Some((saturday, saturday + Duration::days(1)))
        }
        "this week" => Some((today, monday + Duration::days(6))),
        "next week" => Some((monday + Duration::days(7), monday + Duration::days(13))),
        // "tuesday+7": some days after another date
        v if v.len() > 1 && v[1..].contains('+') => {
            let (base, days) = v.rsplit_once('+')?;
            let days = Duration::days(i64::from(days.parse::<u16>().ok()?));
            let (first, last) = resolve(base, today)?;
            Some((first + days, last + days))
        }
        v if v.starts_with("this-month-") || v.starts_with("next-month-") => {
            let d: u32 = v[11..].parse().ok()?;
            let (y, m) = match (v.starts_with("next"), today.month()) {
                (false, m) => (today.year(), m),
                (true, 12) => (today.year() + 1, 1),
                (true, m) => (today.year(), m + 1),
            };
            one(NaiveDate::from_ymd_opt(y, m, d)?)
        }
        v if v.starts_with('+') => {
            one(today + Duration::days(i64::from(v[1..].parse::<u16>().ok()?)))
        }
        "-1" => one(today - Duration::days(1)),
        v if v.starts_with("next ") => {
            // "next friday" said on a Wednesday is usually the one 9 days away by some
            // and 2 days away by others; we take the nearest one after this one's week
            // only when it is the same weekday as today.
            one(weekday_from(&v[5..], true)?)
        }
        v if WEEKDAYS.contains(&v) => one(weekday_from(v, false)?),
        v if v.starts_with("---") => {
            let d: u32 = v[3..].parse().ok()?;
            let this_month = NaiveDate::from_ymd_opt(today.year(), today.month(), d);
            match this_month {
                Some(date) if date >= today => one(date),
                _ => {
                    let (y, m) = if today.month() == 12 {
                        (today.year() + 1, 1)
                    } else {
                        (today.year(), today.month() + 1)
                    };
                    one(NaiveDate::from_ymd_opt(y, m, d)?)
                }
            }
        }
        v if v.len() == 10 => one(NaiveDate::parse_from_str(v, "%Y-%m-%d").ok()?),
        v if v.len() == 5 => {
            let (m, d) = v.split_once('-')?;
            let (m, d) = (m.parse().ok()?, d.parse().ok()?);
            let this_year = NaiveDate::from_ymd_opt(today.year(), m, d);
            match this_year {
                Some(date) if date >= today => one(date),
                _ => one(NaiveDate::from_ymd_opt(today.year() + 1, m, d)?),
            }
        }
        _ => None,
    }
}

/// Holidays LUNA can place on the calendar: (canonical name, what people call it).
const HOLIDAYS: &[(&str, &[&str])] = &[
    (
        "new year's day",
        &[
            "new year's day",
            "new years day",
            "new year",
            "new years",
            "new year's",
        ],
    ),
    ("new year's eve", &["new year's eve", "new years eve"]),
    (
        "martin luther king day",
        &[
            "martin luther king day",
            "martin luther king jr day",
            "mlk day",
        ],
    ),
    (
        "valentine's day",
        &[
            "valentine's day",
            "valentines day",
            "valentine's",
            "valentines",
        ],
    ),
    (
        "presidents' day",
        &["presidents day", "president's day", "presidents' day"],
    ),
    (
        "st patrick's day",
        &[
            "st patrick's day",
            "saint patrick's day",
            "st patricks day",
            "saint patricks day",
            "st paddy's day",
            "paddy's day",
        ],
    ),
    (
        "mardi gras",
        &["mardi gras", "fat tuesday", "shrove tuesday", "pancake day"],
    ),
    ("ash wednesday", &["ash wednesday"]),
    ("palm sunday", &["palm sunday"]),
    ("good friday", &["good friday"]),
    ("easter", &["easter", "easter sunday", "easter day"]),
    ("easter monday", &["easter monday"]),
    ("earth day", &["earth day"]),
    (
        "mother's day",
        &["mother's day", "mothers day", "mom's day", "moms day"],
    ),
    ("memorial day", &["memorial day"]),
    ("pentecost", &["pentecost", "whitsun", "whit sunday"]),
    (
        "father's day",
        &["father's day", "fathers day", "dad's day"],
    ),
    ("juneteenth", &["juneteenth"]),
    (
        "independence day",
        &[
            "independence day",
            "4th of july",
            "fourth of july",
            "july 4th",
            "july fourth",
            "the 4th of july",
            "the fourth of july",
        ],
    ),
    ("labor day", &["labor day", "labour day"]),
    (
        "columbus day",
        &[
            "columbus day",
            "indigenous peoples day",
            "indigenous peoples' day",
        ],
    ),
    ("halloween", &["halloween"]),
    (
        "veterans day",
        &[
            "veterans day",
            "veteran's day",
            "veterans' day",
            "remembrance day",
            "armistice day",
        ],
    ),
    ("thanksgiving", &["thanksgiving", "thanksgiving day"]),
    ("black friday", &["black friday"]),
    ("christmas eve", &["christmas eve"]),
    ("christmas", &["christmas", "christmas day", "xmas"]),
    ("boxing day", &["boxing day"]),
    ("groundhog day", &["groundhog day"]),
    ("cinco de mayo", &["cinco de mayo"]),
    (
        "orthodox easter",
        &[
            "orthodox easter",
            "greek easter",
            "russian easter",
            "orthodox easter sunday",
        ],
    ),
    (
        "mothering sunday",
        &[
            "mothering sunday",
            "mother's day in the uk",
            "uk mother's day",
        ],
    ),
    ("remembrance sunday", &["remembrance sunday"]),
    ("canada day", &["canada day"]),
    ("victoria day", &["victoria day"]),
    ("australia day", &["australia day"]),
    ("anzac day", &["anzac day"]),
    (
        "bonfire night",
        &[
            "bonfire night",
            "guy fawkes night",
            "guy fawkes day",
            "guy fawkes",
        ],
    ),
    ("bastille day", &["bastille day"]),
    ("kwanzaa", &["kwanzaa"]),
    (
        "epiphany",
        &["epiphany", "three kings day", "three kings' day"],
    ),
    ("ascension day", &["ascension day", "ascension"]),
    ("whit monday", &["whit monday", "pentecost monday"]),
    ("maundy thursday", &["maundy thursday", "holy thursday"]),
    (
        "april fools' day",
        &[
            "april fools' day",
            "april fools day",
            "april fool's day",
            "april fools",
        ],
    ),
    (
        "st george's day",
        &["st george's day", "saint george's day", "st georges day"],
    ),
    (
        "st andrew's day",
        &["st andrew's day", "saint andrew's day", "st andrews day"],
    ),
    (
        "st david's day",
        &["st david's day", "saint david's day", "st davids day"],
    ),
    ("burns night", &["burns night", "burns supper"]),
    (
        "grandparents day",
        &["grandparents day", "grandparents' day"],
    ),
    // Regional days people asked for (fixed dates; "emancipation day" is the
    // Caribbean's and Canada's August 1, "republic day" India's, "freedom", "heritage"
    // and "reconciliation" day South Africa's).
    ("waitangi day", &["waitangi day"]),
    ("emancipation day", &["emancipation day"]),
    (
        "republic day",
        &[
            "republic day",
            "indian republic day",
            "india's republic day",
        ],
    ),
    (
        "indian independence day",
        &[
            "indian independence day",
            "india's independence day",
            "independence day in india",
        ],
    ),
    ("pakistan day", &["pakistan day", "pakistan resolution day"]),
    (
        "pakistan independence day",
        &[
            "pakistan independence day",
            "pakistan's independence day",
            "independence day in pakistan",
        ],
    ),
    (
        "nigerian independence day",
        &[
            "nigerian independence day",
            "nigeria's independence day",
            "independence day in nigeria",
        ],
    ),
    (
        "ghana independence day",
        &[
            "ghana independence day",
            "ghana's independence day",
            "ghanaian independence day",
        ],
    ),
    (
        "jamaican independence day",
        &[
            "jamaican independence day",
            "jamaica independence day",
            "jamaica's independence day",
        ],
    ),
    (
        "canadian thanksgiving",
        &[
            "canadian thanksgiving",
            "thanksgiving in canada",
            "canada thanksgiving",
        ],
    ),
    (
        "st stephen's day",
        &["st stephen's day", "saint stephen's day", "st stephens day"],
    ),
    ("hogmanay", &["hogmanay"]),
    ("freedom day", &["freedom day"]),
    (
        "heritage day",
        &["heritage day", "braai day", "national braai day"],
    ),
    (
        "day of reconciliation",
        &["day of reconciliation", "reconciliation day"],
    ),
    ("jamhuri day", &["jamhuri day"]),
    ("madaraka day", &["madaraka day"]),
    ("mashujaa day", &["mashujaa day"]),
    (
        "singapore national day",
        &[
            "singapore national day",
            "singapore's national day",
            "national day in singapore",
        ],
    ),
    (
        "merdeka day",
        &["merdeka day", "hari merdeka", "malaysian independence day"],
    ),
    ("rizal day", &["rizal day"]),
    (
        "day of the dead",
        &["day of the dead", "dia de los muertos", "dia de muertos"],
    ),
    (
        "all saints' day",
        &["all saints' day", "all saints day", "all hallows"],
    ),
    // From config/holidays.tsv (lunar and lunisolar calendars).
    (
        "chinese new year",
        &[
            "chinese new year",
            "lunar new year",
            "spring festival",
            "tet",
            "seollal",
            "chinese new years",
        ],
    ),
    (
        "mid-autumn festival",
        &[
            "mid autumn festival",
            "moon festival",
            "mooncake festival",
            "chuseok",
        ],
    ),
    ("diwali", &["diwali", "deepavali", "divali", "dipawali"]),
    ("holi", &["holi", "holi festival"]),
    (
        "ramadan",
        &[
            "ramadan",
            "ramzan",
            "ramadhan",
            "the start of ramadan",
            "ramadan starts",
        ],
    ),
    (
        "eid al-fitr",
        &[
            "eid al fitr",
            "eid ul fitr",
            "eid al-fitr",
            "eid ul-fitr",
            "eid",
            "eid mubarak",
            "the end of ramadan",
        ],
    ),
    (
        "eid al-adha",
        &[
            "eid al adha",
            "eid ul adha",
            "eid al-adha",
            "eid ul-adha",
            "bakrid",
            "bakri eid",
            "big eid",
        ],
    ),
    (
        "rosh hashanah",
        &[
            "rosh hashanah",
            "rosh hashana",
            "rosh hoshana",
            "jewish new year",
        ],
    ),
    ("yom kippur", &["yom kippur"]),
    ("passover", &["passover", "pesach", "pesah"]),
    (
        "hanukkah",
        &["hanukkah", "chanukah", "hanukah", "chanukkah", "hannukah"],
    ),
    ("purim", &["purim"]),
];

/// Holidays of lunar and lunisolar calendars: (name, first day), made by
/// `models/brain/holidays.py` (2025–2035; beyond, LUNA says it does not know).
static TABLE: std::sync::LazyLock<Vec<(&'static str, NaiveDate)>> =
    std::sync::LazyLock::new(|| {
        include_str!("../../config/holidays.tsv")
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .filter_map(|l| {
                let (name, day) = l.split_once('\t')?;
                Some((
                    name,
                    NaiveDate::parse_from_str(day.trim(), "%Y-%m-%d").ok()?,
                ))
            })
            .collect()
    });

/// The canonical name of the holiday `raw` names ("the 4th of july" → "independence day").
pub fn holiday(raw: &str) -> Option<&'static str> {
    let raw = raw.trim();
    let raw = raw.strip_prefix("the ").unwrap_or(raw);
    let days_off = ["holiday", "day off", "free day", "vacation day"];
    let next = ["next", "upcoming", "our next", "my next"];
    if days_off.iter().any(|d| raw.ends_with(d)) && next.iter().any(|n| raw.starts_with(n)) {
        return Some("next");
    }
    HOLIDAYS
        .iter()
        .find(|(_, names)| {
            names
                .iter()
                .any(|n| *n == raw || n.strip_prefix("the ") == Some(raw))
        })
        .map(|(name, _)| *name)
}

/// The first holiday named inside `text` (longest name first).
pub fn find_holiday(text: &str) -> Option<&'static str> {
    let padded = format!(" {text} ");
    if padded.contains(" holiday ") || padded.contains(" holidays ") {
        if let Some(h) = text
            .split(" holiday")
            .next()
            .and_then(|head| head.rsplit(' ').next())
            .filter(|w| matches!(*w, "next" | "upcoming"))
        {
            let _ = h;
            return Some("next");
        }
    }
    let mut best: Option<(&'static str, usize)> = None;
    for (name, names) in HOLIDAYS {
        for n in *names {
            if padded.contains(&format!(" {n} ")) && best.is_none_or(|(_, len)| n.len() > len) {
                best = Some((name, n.len()));
            }
        }
    }
    best.map(|(name, _)| name)
}

/// The first holiday from today on: (name, date).
pub fn next_holiday(today: NaiveDate) -> Option<(&'static str, NaiveDate)> {
    HOLIDAYS
        .iter()
        .filter_map(|(name, _)| holiday_date(name, today).map(|d| (*name, d)))
        .min_by_key(|(_, d)| *d)
}

/// Easter Sunday (the Gregorian computus, Anonymous algorithm).
pub fn easter(year: i32) -> Option<NaiveDate> {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32)
}

/// The `n`th `weekday` of a month (n = -1: the last).
fn nth_weekday(year: i32, month: u32, weekday: Weekday, n: i32) -> Option<NaiveDate> {
    if n > 0 {
        NaiveDate::from_weekday_of_month_opt(year, month, weekday, n as u8)
    } else {
        let (ny, nm) = if month == 12 {
            (year + 1, 1)
        } else {
            (year, month + 1)
        };
        let mut d = NaiveDate::from_ymd_opt(ny, nm, 1)? - Duration::days(1);
        while d.weekday() != weekday {
            d -= Duration::days(1);
        }
        Some(d)
    }
}

/// The date of a canonical holiday in `year` (US dates where countries differ).
pub fn holiday_in(name: &str, year: i32) -> Option<NaiveDate> {
    let ymd = |m, d| NaiveDate::from_ymd_opt(year, m, d);
    let easter_plus = |days: i64| easter(year).map(|e| e + Duration::days(days));
    match name {
        "new year's day" => ymd(1, 1),
        "new year's eve" => ymd(12, 31),
        "martin luther king day" => nth_weekday(year, 1, Weekday::Mon, 3),
        "valentine's day" => ymd(2, 14),
        "groundhog day" => ymd(2, 2),
        "presidents' day" => nth_weekday(year, 2, Weekday::Mon, 3),
        "st patrick's day" => ymd(3, 17),
        "mardi gras" => easter_plus(-47),
        "ash wednesday" => easter_plus(-46),
        "palm sunday" => easter_plus(-7),
        "good friday" => easter_plus(-2),
        "easter" => easter(year),
        "easter monday" => easter_plus(1),
        "pentecost" => easter_plus(49),
        "earth day" => ymd(4, 22),
        "cinco de mayo" => ymd(5, 5),
        "mother's day" => nth_weekday(year, 5, Weekday::Sun, 2),
        "memorial day" => nth_weekday(year, 5, Weekday::Mon, -1),
        "father's day" => nth_weekday(year, 6, Weekday::Sun, 3),
        "juneteenth" => ymd(6, 19),
        "independence day" => ymd(7, 4),
        "labor day" => nth_weekday(year, 9, Weekday::Mon, 1),
        "columbus day" => nth_weekday(year, 10, Weekday::Mon, 2),
        "halloween" => ymd(10, 31),
        "veterans day" => ymd(11, 11),
        "thanksgiving" => nth_weekday(year, 11, Weekday::Thu, 4),
        "black friday" => nth_weekday(year, 11, Weekday::Thu, 4).map(|d| d + Duration::days(1)),
        "christmas eve" => ymd(12, 24),
        "christmas" => ymd(12, 25),
        "boxing day" => ymd(12, 26),
        "orthodox easter" => orthodox_easter(year),
        "mothering sunday" => easter_plus(-21),
        "remembrance sunday" => nth_weekday(year, 11, Weekday::Sun, 2),
        "canada day" => ymd(7, 1),
        // The Monday before May 25.
        "victoria day" => {
            ymd(5, 24).map(|d| d - Duration::days(i64::from(d.weekday().num_days_from_monday())))
        }
        "australia day" => ymd(1, 26),
        "anzac day" => ymd(4, 25),
        "bonfire night" => ymd(11, 5),
        "bastille day" => ymd(7, 14),
        "kwanzaa" => ymd(12, 26),
        "epiphany" => ymd(1, 6),
        "ascension day" => easter_plus(39),
        "whit monday" => easter_plus(50),
        "maundy thursday" => easter_plus(-3),
        "april fools' day" => ymd(4, 1),
        "st george's day" => ymd(4, 23),
        "st andrew's day" => ymd(11, 30),
        "st david's day" => ymd(3, 1),
        "burns night" => ymd(1, 25),
        "waitangi day" => ymd(2, 6),
        "emancipation day" => ymd(8, 1),
        "republic day" => ymd(1, 26),
        "indian independence day" => ymd(8, 15),
        "pakistan day" => ymd(3, 23),
        "pakistan independence day" => ymd(8, 14),
        "nigerian independence day" => ymd(10, 1),
        "ghana independence day" => ymd(3, 6),
        "jamaican independence day" => ymd(8, 6),
        "canadian thanksgiving" => nth_weekday(year, 10, Weekday::Mon, 2),
        "st stephen's day" => ymd(12, 26),
        "hogmanay" => ymd(12, 31),
        "freedom day" => ymd(4, 27),
        "heritage day" => ymd(9, 24),
        "day of reconciliation" => ymd(12, 16),
        "jamhuri day" => ymd(12, 12),
        "madaraka day" => ymd(6, 1),
        "mashujaa day" => ymd(10, 20),
        "singapore national day" => ymd(8, 9),
        "merdeka day" => ymd(8, 31),
        "rizal day" => ymd(12, 30),
        "day of the dead" => ymd(11, 2),
        "all saints' day" => ymd(11, 1),
        // The Sunday after Labor Day.
        "grandparents day" => nth_weekday(year, 9, Weekday::Mon, 1).map(|d| d + Duration::days(6)),
        name => TABLE
            .iter()
            .find(|(n, d)| *n == name && d.year() == year)
            .map(|(_, d)| *d),
    }
}

/// Orthodox Easter Sunday as a Gregorian date (the Julian computus, Meeus; 1900–2099,
/// where the calendars are 13 days apart).
pub fn orthodox_easter(year: i32) -> Option<NaiveDate> {
    if !(1900..=2099).contains(&year) {
        return None;
    }
    let a = year % 4;
    let b = year % 7;
    let c = year % 19;
    let d = (19 * c + 15) % 30;
    let e = (2 * a + 4 * b - d + 34) % 7;
    let month = (d + e + 114) / 31;
    let day = (d + e + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32).map(|j| j + Duration::days(13))
}

/// The next time a holiday comes, today included; "next" is whichever comes first.
pub fn holiday_date(name: &str, today: NaiveDate) -> Option<NaiveDate> {
    if name == "next" {
        return next_holiday(today).map(|(_, d)| d);
    }
    // One that began last year may still be on (Hanukkah in early January).
    let last_year = holiday_in(name, today.year() - 1);
    let this_year = holiday_in(name, today.year())?;
    match last_year
        .into_iter()
        .chain([this_year])
        .find(|&d| d + Duration::days(holiday_days(name)) > today)
    {
        Some(d) => Some(d),
        None => holiday_in(name, today.year() + 1),
    }
}

/// How many days a holiday lasts (1 for most); while it lasts, [`holiday_date`] gives
/// the day it began.
pub fn holiday_days(name: &str) -> i64 {
    match name {
        "hanukkah" | "passover" | "chinese new year" => 8,
        "kwanzaa" => 7,
        "diwali" => 5,
        "ramadan" => 29,
        "eid al-fitr" => 3,
        "eid al-adha" => 4,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn dates_as_people_say_them() {
        for (said, canonical) in [
            ("tomorrow", "tomorrow"),
            ("on friday", "friday"),
            ("this friday", "friday"),
            ("next tuesday", "next tuesday"),
            ("tomorrow morning", "tomorrow"),
            ("march 3rd", "03-03"),
            ("march the 3rd", "03-03"),
            ("the 3rd of march", "03-03"),
            ("3 march 2027", "2027-03-03"),
            ("feb 4", "02-04"),
            ("february 4th", "02-04"),
            ("on the 19th", "---19"),
            ("this weekend", "weekend"),
            ("next week", "next week"),
            ("the day after tomorrow", "+2"),
            ("in 3 days", "+3"),
            ("december 20 first", "12-21"),
            ("12 / 25", "12-25"),
            ("on 14 / 11", "11-14"),
            ("12 / 05 / 2027", "2027-12-05"),
            ("3 / 4 / 27", "2027-03-04"),
            ("a week from tuesday", "tuesday+7"),
            ("2 weeks from today", "+14"),
            ("3 days from now", "+3"),
            ("a week on friday", "friday+7"),
            ("a fortnight from next monday", "next monday+14"),
            ("the 1st of this month", "this-month-01"),
            ("the 3rd of next month", "next-month-03"),
        ] {
            assert_eq!(parse_date(said).as_deref(), Some(canonical), "{said}");
        }
        for bad in [
            "",
            "the",
            "3",
            "the 3",
            "march",
            "banana",
            "friday lunch",
            "13 / 13",
            "6 / 32",
            "a week from",
            "a week from banana",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
        assert_eq!(
            find_date("lunch with sarah on friday at noon"),
            Some(("friday".into(), 4, 5))
        );
    }

    #[test]
    fn dates_resolve_from_today() {
        let wed = d(2026, 12, 2);
        assert_eq!(
            resolve("friday", wed),
            Some((d(2026, 12, 4), d(2026, 12, 4)))
        );
        assert_eq!(resolve("wednesday", wed), Some((wed, wed)));
        assert_eq!(
            resolve("next wednesday", wed),
            Some((d(2026, 12, 9), d(2026, 12, 9)))
        );
        assert_eq!(
            resolve("01-15", wed),
            Some((d(2027, 1, 15), d(2027, 1, 15)))
        );
        assert_eq!(resolve("---01", wed), Some((d(2027, 1, 1), d(2027, 1, 1))));
        assert_eq!(
            resolve("tuesday+7", wed),
            Some((d(2026, 12, 15), d(2026, 12, 15)))
        );
        assert_eq!(
            resolve("next monday+14", wed),
            Some((d(2026, 12, 21), d(2026, 12, 21)))
        );
        assert_eq!(
            resolve("this-month-01", wed),
            Some((d(2026, 12, 1), d(2026, 12, 1)))
        );
        assert_eq!(
            resolve("next-month-03", wed),
            Some((d(2027, 1, 3), d(2027, 1, 3)))
        );
        assert_eq!(
            resolve("weekend", wed),
            Some((d(2026, 12, 5), d(2026, 12, 6)))
        );
        assert_eq!(
            resolve("next week", wed),
            Some((d(2026, 12, 7), d(2026, 12, 13)))
        );
    }

    #[test]
    fn holidays_fixed_and_computed() {
        assert_eq!(holiday("the 4th of july"), Some("independence day"));
        assert_eq!(holiday("xmas"), Some("christmas"));
        assert_eq!(
            find_holiday("how many days until christmas eve"),
            Some("christmas eve")
        );
        assert_eq!(easter(2026), Some(d(2026, 4, 5)));
        assert_eq!(easter(2027), Some(d(2027, 3, 28)));
        assert_eq!(holiday_in("thanksgiving", 2026), Some(d(2026, 11, 26)));
        assert_eq!(holiday_in("memorial day", 2026), Some(d(2026, 5, 25)));
        assert_eq!(holiday_in("mother's day", 2027), Some(d(2027, 5, 9)));
        assert_eq!(
            holiday_date("halloween", d(2026, 12, 5)),
            Some(d(2027, 10, 31))
        );
    }

    #[test]
    fn holidays_of_other_calendars_and_countries() {
        assert_eq!(orthodox_easter(2025), Some(d(2025, 4, 20)));
        assert_eq!(orthodox_easter(2026), Some(d(2026, 4, 12)));
        assert_eq!(orthodox_easter(2027), Some(d(2027, 5, 2)));
        assert_eq!(holiday_in("victoria day", 2026), Some(d(2026, 5, 18)));
        assert_eq!(holiday_in("remembrance sunday", 2026), Some(d(2026, 11, 8)));
        assert_eq!(holiday_in("mothering sunday", 2026), Some(d(2026, 3, 15)));
        assert_eq!(holiday("waitangi day"), Some("waitangi day"));
        assert_eq!(holiday_in("waitangi day", 2027), Some(d(2027, 2, 6)));
        assert_eq!(
            holiday_in("canadian thanksgiving", 2026),
            Some(d(2026, 10, 12))
        );
        assert_eq!(holiday("dia de los muertos"), Some("day of the dead"));
        // Every name has a date.
        for (name, _) in HOLIDAYS {
            assert!(holiday_in(name, 2027).is_some(), "{name}");
        }
        // The lunar and lunisolar table.
        assert_eq!(holiday("lunar new year"), Some("chinese new year"));
        assert_eq!(holiday_in("chinese new year", 2026), Some(d(2026, 2, 17)));
        assert_eq!(holiday_in("diwali", 2026), Some(d(2026, 11, 8)));
        assert_eq!(holiday_in("eid al-fitr", 2026), Some(d(2026, 3, 20)));
        assert_eq!(holiday_in("passover", 2026), Some(d(2026, 4, 2)));
        assert_eq!(
            find_holiday("how many days left to eid ul adha"),
            Some("eid al-adha")
        );
        // While a holiday of several days lasts, it is the one asked about.
        assert_eq!(
            holiday_date("hanukkah", d(2026, 12, 7)),
            Some(d(2026, 12, 5))
        );
        assert_eq!(
            holiday_date("hanukkah", d(2026, 12, 13)),
            Some(d(2027, 12, 25))
        );
        // Beyond the table LUNA does not know, and says so.
        assert_eq!(holiday_in("diwali", 2040), None);
    }
}
