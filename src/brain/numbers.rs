//! Numbers, durations, clock times and percentages as people say them (and as Whisper
//! writes them): "an hour and a half" → 5400 s, "quarter past six pm" → 18:15.
//! All functions take normalized text (lowercase, number words already digits).

/// Replaces number words with digits: "twenty five" → "25", "a hundred and ten" → "110",
/// "one point five" → "1.5". "one" after a determiner ("the next one") is left alone.
pub fn digits_for_number_words(words: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(words.len());
    let mut i = 0;
    while i < words.len() {
        match parse_number_at(words, i, out.last().map(String::as_str)) {
            Some((value, next)) => {
                out.push(format_number(value));
                i = next;
            }
            None => {
                out.push(words[i].to_owned());
                i += 1;
            }
        }
    }
    out
}

fn format_number(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{}", v as i64)
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

fn unit_value(word: &str) -> Option<u64> {
    Some(match word {
        "zero" => 0,
        "one" => 1,
        "two" => 2,
        "three" => 3,
        "four" => 4,
        "five" => 5,
        "six" => 6,
        "seven" => 7,
        "eight" => 8,
        "nine" => 9,
        "ten" => 10,
        "eleven" => 11,
        "twelve" => 12,
        "thirteen" => 13,
        "fourteen" => 14,
        "fifteen" => 15,
        "sixteen" => 16,
        "seventeen" => 17,
        "eighteen" => 18,
        "nineteen" => 19,
        _ => return None,
    })
}

fn tens_value(word: &str) -> Option<u64> {
    Some(match word {
        "twenty" => 20,
        "thirty" => 30,
        "forty" | "fourty" => 40,
        "fifty" => 50,
        "sixty" => 60,
        "seventy" => 70,
        "eighty" => 80,
        "ninety" => 90,
        _ => return None,
    })
}

fn scale_value(word: &str) -> Option<u64> {
    Some(match word {
        "hundred" => 100,
        "thousand" => 1_000,
        "million" => 1_000_000,
        _ => return None,
    })
}

const DETERMINERS: &[&str] = &[
    "the", "this", "that", "next", "last", "previous", "another", "which", "any", "no", "each",
    "every", "other", "some", "new", "same", "little", "big", "first", "only",
];

/// The value of one number word under a hundred ("seven" → 7, "forty" → 40).
pub fn word_value(w: &str) -> Option<u64> {
    unit_value(w).or_else(|| tens_value(w))
}

pub fn is_number_word(w: &str) -> bool {
    unit_value(w).is_some() || tens_value(w).is_some() || scale_value(w).is_some()
}

/// Parses a spelled-out number starting at `start`; returns its value and the index after it.
fn parse_number_at(words: &[&str], start: usize, previous: Option<&str>) -> Option<(f64, usize)> {
    let first = words[start];
    // "a hundred", "a thousand"
    let mut i = start;
    if (first == "a" || first == "an")
        && words
            .get(start + 1)
            .is_some_and(|w| scale_value(w).is_some())
    {
        i += 1;
    } else if !is_number_word(first) {
        return None;
    }
    if first == "one" && previous.is_some_and(|p| DETERMINERS.contains(&p)) {
        return None;
    }
    let mut total: u64 = 0;
    let mut current: u64 = 0;
    let mut last_kind = ' '; // 'u' unit, 't' tens, 's' scale
    let mut consumed_any = false;
    while i < words.len() {
        let w = words[i];
        if let Some(u) = unit_value(w) {
            // "twenty five" continues; "five five" does not; "ten eleven" does not.
            if last_kind == 'u' || (last_kind == 't' && u >= 10) {
                break;
            }
            current += u;
            last_kind = 'u';
        } else if let Some(t) = tens_value(w) {
            if last_kind == 'u' || last_kind == 't' {
                break;
            }
            current += t;
            last_kind = 't';
        } else if let Some(s) = scale_value(w) {
            if last_kind == 's' && current == 0 {
                break;
            }
            let base = if current == 0 { 1 } else { current };
            if s >= 1000 {
                total += base * s;
                current = 0;
            } else {
                current = base * s;
            }
            last_kind = 's';
        } else if w == "and"
            && last_kind == 's'
            && words
                .get(i + 1)
                .is_some_and(|n| unit_value(n).is_some() || tens_value(n).is_some())
        {
            // "a hundred and ten"
        } else {
            break;
        }
        consumed_any = true;
        i += 1;
    }
    if !consumed_any {
        return None;
    }
    let mut value = (total + current) as f64;
    // "one point five"
    if words.get(i) == Some(&"point") {
        let mut j = i + 1;
        let mut frac = String::new();
        while let Some(d) = words.get(j).and_then(|w| unit_value(w)).filter(|d| *d < 10) {
            frac.push(char::from(b'0' + d as u8));
            j += 1;
        }
        if !frac.is_empty() {
            value += format!("0.{frac}").parse::<f64>().unwrap_or(0.0);
            i = j;
        }
    }
    Some((value, i))
}

/// Whether `word` is a unit a duration is said in ("minutes", "hrs", "s").
pub fn is_duration_unit(word: &str) -> bool {
    unit_seconds(word).is_some()
}

fn unit_seconds(word: &str) -> Option<f64> {
    Some(match word {
        "second" | "seconds" | "sec" | "secs" | "s" => 1.0,
        "minute" | "minutes" | "min" | "mins" | "m" => 60.0,
        "hour" | "hours" | "hr" | "hrs" | "h" => 3600.0,
        "day" | "days" => 86_400.0,
        _ => return None,
    })
}

fn amount(word: &str) -> Option<f64> {
    match word {
        "a" | "an" | "one" => Some(1.0),
        "couple" => Some(2.0),
        "few" => Some(3.0),
        _ => word
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v >= 0.0),
    }
}

/// Parses a whole phrase as a duration in seconds: "5 minutes", "an hour and a half",
/// "1 hour 15 minutes", "half an hour", "quarter of an hour", "90 seconds", "2.5 hours",
/// "10 min". Every word must belong to the duration (else `None`).
pub fn parse_duration(phrase: &str) -> Option<u64> {
    let words: Vec<&str> = phrase.split_whitespace().collect();
    let mut i = 0;
    let mut total = 0.0;
    let mut last_unit: Option<f64> = None;
    let mut parts = 0;
    while i < words.len() {
        let w = words[i];
        if matches!(w, "and" | "plus" | "," | "of" | "for") && parts > 0 {
            i += 1;
            continue;
        }
        // "an hour and thirty", "a minute fifteen", "1 minute 30": a bare number last,
        // after a unit, counts in the next smaller unit.
        if parts > 0 && i + 1 == words.len() && w.bytes().all(|b| b.is_ascii_digit()) {
            let smaller = if last_unit == Some(3600.0) {
                60.0
            } else if last_unit == Some(60.0) {
                1.0
            } else {
                return None;
            };
            let n: f64 = w.parse().ok()?;
            if n >= 60.0 {
                return None;
            }
            total += n * smaller;
            break;
        }
        // "and 3 quarters" after a unit: three quarters of that unit.
        if parts > 0 && words.get(i + 1).is_some_and(|f| fraction(f).is_some()) {
            if let (Some(n), Some(unit)) = (amount(w).filter(|n| *n > 1.0), last_unit) {
                if words.get(i + 2).and_then(|u| unit_seconds(u)).is_none() {
                    total += n * fraction(words[i + 1]).unwrap_or(0.0) * unit;
                    i += 2;
                    continue;
                }
            }
        }
        // "and a half" after a unit: half of that unit. "and a quarter" likewise.
        if (w == "a" || w == "an") && parts > 0 {
            if let (Some(frac), Some(unit)) =
                (words.get(i + 1).and_then(|f| fraction(f)), last_unit)
            {
                if words.get(i + 2).and_then(|u| unit_seconds(u)).is_none() {
                    total += frac * unit;
                    i += 2;
                    continue;
                }
            }
        }
        // "1 hour and half" (the "a" left out, as learners say it), at the end.
        if w == "half" && parts > 0 && i + 1 == words.len() && words[i - 1] == "and" {
            if let Some(unit) = last_unit {
                total += 0.5 * unit;
                break;
            }
        }
        // "half an hour", "quarter of an hour", "a quarter hour", "half a minute",
        // "3 quarters of an hour"
        let (lead, skip, times) = if w == "a" || w == "an" {
            (words.get(i + 1).copied(), 1, 1.0)
        } else if let Some(n) = amount(w).filter(|_| {
            words
                .get(i + 1)
                .is_some_and(|f| f.ends_with('s') && fraction(f).is_some())
        }) {
            (words.get(i + 1).copied(), 1, n)
        } else {
            (Some(w), 0, 1.0)
        };
        if let Some(frac) = lead.and_then(fraction).map(|f| f * times) {
            let mut j = i + skip + 1;
            if words.get(j) == Some(&"of") {
                j += 1;
            }
            if matches!(words.get(j), Some(&"a") | Some(&"an")) {
                j += 1;
            }
            if let Some(unit) = words.get(j).and_then(|u| unit_seconds(u)) {
                total += frac * unit;
                last_unit = Some(unit);
                parts += 1;
                i = j + 1;
                continue;
            }
            return None;
        }
        // "<n> [and a half] <unit>", "a couple of minutes", "a few seconds"
        let mut j = i;
        let mut n = None;
        // "hour and a half timer": the "an" left out, as clipped speech says it.
        if i == 0 && matches!(w, "hour" | "minute") {
            n = Some(1.0);
        } else if (w == "a" || w == "an")
            && matches!(words.get(i + 1), Some(&"couple") | Some(&"few"))
        {
            n = amount(words[i + 1]);
            j = i + 2;
            if words.get(j) == Some(&"of") {
                j += 1;
            }
        } else if let Some(v) = amount(w) {
            n = Some(v);
            j = i + 1;
        }
        let mut n = n?;
        // "1 and a half hours"
        if words.get(j) == Some(&"and") && matches!(words.get(j + 1), Some(&"a") | Some(&"an")) {
            if let Some(frac) = words.get(j + 2).and_then(|f| fraction(f)) {
                n += frac;
                j += 3;
            }
        }
        let unit = words.get(j).and_then(|u| unit_seconds(u))?;
        total += n * unit;
        last_unit = Some(unit);
        parts += 1;
        i = j + 1;
    }
    if parts == 0 || total <= 0.0 || total > 366.0 * 86_400.0 {
        return None;
    }
    Some(total.round() as u64)
}

fn fraction(word: &str) -> Option<f64> {
    match word {
        "half" => Some(0.5),
        "quarter" | "quarters" => Some(0.25),
        "third" | "thirds" => Some(1.0 / 3.0),
        _ => None,
    }
}

/// Meridiem hints: Some(true) for pm, Some(false) for am.
fn meridiem(words: &[&str]) -> (Option<bool>, usize) {
    match words {
        ["am", ..] | ["a", "m", ..] => (Some(false), if words[0] == "am" { 1 } else { 2 }),
        ["pm", ..] | ["p", "m", ..] => (Some(true), if words[0] == "pm" { 1 } else { 2 }),
        ["in", "the", "morning", ..] => (Some(false), 3),
        ["in", "the", "afternoon", ..] | ["in", "the", "evening", ..] => (Some(true), 3),
        ["at", "night", ..] => (Some(true), 2),
        ["tonight", ..] | ["this", "evening", ..] => {
            (Some(true), if words[0] == "tonight" { 1 } else { 2 })
        }
        ["this", "afternoon", ..] => (Some(true), 2),
        ["this", "morning", ..] | ["tomorrow", "morning", ..] | ["morning", ..] => (
            Some(false),
            words.iter().position(|w| *w == "morning").unwrap() + 1,
        ),
        ["evening", ..] | ["afternoon", ..] | ["night", ..] => (Some(true), 1),
        _ => (None, 0),
    }
}

/// Parses a clock time: "7", "7 am", "7:30 pm", "19:30", "6 45 pm", "noon", "midnight",
/// "quarter past 6 pm", "half past 7 in the evening", "10 to 7", "7 o'clock", "11 tonight".
/// Returns "HH:MM" in 24 h; a time with no am/pm is taken as said.
pub fn parse_clock_time(phrase: &str) -> Option<String> {
    let words: Vec<&str> = phrase
        .split_whitespace()
        .filter(|w| !matches!(*w, "o'clock" | "oclock" | "sharp" | "exactly"))
        .collect();
    let (hour, minute, rest): (u32, u32, &[&str]) = match words.as_slice() {
        ["noon", rest @ ..] | ["midday", rest @ ..] => (12, 0, rest),
        ["midnight", rest @ ..] => (0, 0, rest),
        [rel, "past", h, rest @ ..] | [rel, "after", h, rest @ ..] => {
            (hour_word(h)?, relative_minutes(rel)?, rest)
        }
        ["a", rel, "past", h, rest @ ..] => (hour_word(h)?, relative_minutes(rel)?, rest),
        [rel, "to", h, rest @ ..]
        | [rel, "till", h, rest @ ..]
        | [rel, "before", h, rest @ ..]
        | ["a", rel, "to", h, rest @ ..] => (
            hour_before(hour_word(h)?),
            60 - relative_minutes(rel)?,
            rest,
        ),
        // British "half six" is half past six.
        ["half", h, rest @ ..] => (hour_word(h)?, 30, rest),
        [hm, rest @ ..] if hm.contains(':') || hm.contains('.') => {
            let (h, m) = hm.split_once(':').or_else(|| hm.split_once('.'))?;
            (h.parse().ok()?, minute_word(m)?, rest)
        }
        // Whisper writes "six thirty" as "630" and "ten fifteen" as "1015".
        [hm, rest @ ..]
            if (hm.len() == 3 || hm.len() == 4) && hm.bytes().all(|b| b.is_ascii_digit()) =>
        {
            let (h, m) = hm.split_at(hm.len() - 2);
            (h.parse().ok()?, minute_word(m)?, rest)
        }
        [h, m, rest @ ..]
            if minute_word(m).is_some() && m.len() == 2 && h.parse::<u32>().is_ok() =>
        {
            (h.parse().ok()?, minute_word(m)?, rest)
        }
        [h, rest @ ..] => (hour_word(h)?, 0, rest),
        [] => return None,
    };
    let (pm, used) = meridiem(rest);
    if used != rest.len() {
        return None;
    }
    if hour > 23 || minute > 59 {
        return None;
    }
    let hour = match pm {
        Some(true) if hour < 12 => hour + 12,
        Some(false) if hour == 12 => 0,
        Some(_) if hour > 12 => return None,
        _ => hour,
    };
    Some(format!("{hour:02}:{minute:02}"))
}

/// The hour before `h`, as said: "quarter to 1" is 12:45, "to 8" is 7.
fn hour_before(h: u32) -> u32 {
    match h {
        0 => 23,
        1 => 12,
        h => h - 1,
    }
}

fn hour_word(w: &str) -> Option<u32> {
    w.parse::<u32>().ok().filter(|h| *h <= 24).map(|h| h % 24)
}

fn minute_word(w: &str) -> Option<u32> {
    w.parse::<u32>().ok().filter(|m| *m < 60)
}

fn relative_minutes(w: &str) -> Option<u32> {
    match w {
        "quarter" => Some(15),
        "half" => Some(30),
        _ => w.parse::<u32>().ok().filter(|m| *m > 0 && *m < 60),
    }
}

/// Parses a level: "50", "50%", "50 percent", "max", "half", "zero".
pub fn parse_percent(phrase: &str) -> Option<u8> {
    let p = phrase.trim();
    // "about half", "around 40 percent": near enough is the value.
    let p = [
        "about ",
        "around ",
        "roughly ",
        "approximately ",
        "something like ",
    ]
    .iter()
    .find_map(|a| p.strip_prefix(a))
    .unwrap_or(p);
    let p = p
        .strip_suffix("percent")
        .or_else(|| p.strip_suffix("per cent"))
        .unwrap_or(p);
    let p = p.trim().trim_end_matches('%').trim();
    let value: f64 = match p {
        "max" | "maximum" | "full" | "full blast" | "the max" | "the maximum" | "100"
        | "all the way" | "all the way up" => 100.0,
        "half" | "half way" | "halfway" | "half volume" | "half brightness" => 50.0,
        "3 quarters" | "three quarters" | "3 quarters of the way" => 75.0,
        "a quarter" | "quarter" | "a quarter of the way" => 25.0,
        "min" | "minimum" | "the minimum" | "the lowest" | "lowest" => 0.0,
        other => other.parse().ok()?,
    };
    (0.0..=100.0)
        .contains(&value)
        .then_some(value.round() as u8)
}

/// A volume or brightness level as people say it: a percent ("40", "40%", "half"),
/// or a step of ten ("volume 7", "4 out of 10": a bare number up to 10 is on the
/// 0–10 scale of speakers and TVs; 7 % would be nearly silent).
pub fn parse_level(phrase: &str) -> Option<u8> {
    let bare = phrase
        .trim()
        .trim_start_matches("about ")
        .trim_start_matches("around ")
        .trim_start_matches("level ")
        .trim_start_matches("number ");
    // ("level 3 out of 10")
    if let Some(n) = bare.strip_suffix(" out of 10") {
        let n: f64 = n.trim().parse().ok()?;
        return (0.0..=10.0).contains(&n).then(|| (n * 10.0).round() as u8);
    }
    match bare.parse::<u8>() {
        Ok(n) if n <= 10 => Some(n * 10),
        _ => parse_percent(bare),
    }
}

pub const WEEKDAYS: &[&str] = &[
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn digits(s: &str) -> String {
        let words: Vec<&str> = s.split_whitespace().collect();
        digits_for_number_words(&words).join(" ")
    }

    #[test]
    fn number_words_become_digits() {
        assert_eq!(
            digits("set a timer for five minutes"),
            "set a timer for 5 minutes"
        );
        assert_eq!(digits("twenty five past six"), "25 past 6");
        assert_eq!(digits("a hundred and ten"), "110");
        assert_eq!(digits("two thousand twenty six"), "2026");
        assert_eq!(digits("one point five hours"), "1.5 hours");
        assert_eq!(digits("play the next one"), "play the next one");
        assert_eq!(digits("six thirty"), "6 30");
        assert_eq!(digits("five five"), "5 5");
        assert_eq!(digits("nineteen ninety"), "19 90");
    }

    #[test]
    fn durations() {
        for (text, secs) in [
            ("5 minutes", 300),
            ("a minute", 60),
            ("an hour and a half", 5400),
            ("1 and a half hours", 5400),
            ("1 hour and half", 5400),
            ("hour and a half", 5400),
            ("minute and a half", 90),
            ("1.5 hours", 5400),
            ("half an hour", 1800),
            ("a half hour", 1800),
            ("quarter of an hour", 900),
            ("a quarter hour", 900),
            ("1 hour 15 minutes", 4500),
            ("1 hour and 15 minutes", 4500),
            ("2 hours 30 minutes and 10 seconds", 9010),
            ("90 seconds", 90),
            ("10 min", 600),
            ("a minute and a half", 90),
            ("half a minute", 30),
            ("a couple of minutes", 120),
            ("a few seconds", 3),
            ("45 secs", 45),
            ("an hour and 30", 5400),
            ("a minute 15", 75),
            ("1 minute 30", 90),
            ("2 hours 45", 9900),
            ("an hour and 3 quarters", 6300),
            ("3 quarters of an hour", 2700),
            ("2 thirds of a minute", 40),
        ] {
            assert_eq!(parse_duration(text), Some(secs), "{text}");
        }
        for bad in [
            "",
            "5",
            "minutes",
            "5 apples",
            "5 minutes and play music",
            "a",
            "0 minutes",
            "5 minutes 90",
            "30 seconds 5",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn clock_times() {
        for (text, hhmm) in [
            ("7 am", "07:00"),
            ("7 a m", "07:00"),
            ("7:30 pm", "19:30"),
            ("19:30", "19:30"),
            ("6 45 pm", "18:45"),
            ("6.45 pm", "18:45"),
            ("noon", "12:00"),
            ("midnight", "00:00"),
            ("quarter past 6 pm", "18:15"),
            ("half past 7 in the evening", "19:30"),
            ("quarter to 8", "07:45"),
            ("10 to 7", "06:50"),
            ("20 past 8", "08:20"),
            ("8 o'clock", "08:00"),
            ("11 tonight", "23:00"),
            ("12:30 am", "00:30"),
            ("12 pm", "12:00"),
            ("quarter to 9 at night", "20:45"),
            ("5:15 in the morning", "05:15"),
            ("6 30", "06:30"),
            ("a quarter to 1 pm", "12:45"),
            ("630", "06:30"),
            ("630 pm", "18:30"),
            ("1015", "10:15"),
            ("half 6", "06:30"),
        ] {
            assert_eq!(parse_clock_time(text).as_deref(), Some(hhmm), "{text}");
        }
        for bad in [
            "", "25", "7:75", "tomorrow", "13 pm", "7 apples", "675", "2500",
        ] {
            assert_eq!(parse_clock_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn percentages() {
        assert_eq!(parse_percent("50"), Some(50));
        assert_eq!(parse_percent("50%"), Some(50));
        assert_eq!(parse_percent("30 percent"), Some(30));
        assert_eq!(parse_percent("max"), Some(100));
        assert_eq!(parse_percent("half"), Some(50));
        assert_eq!(parse_percent("150"), None);
        assert_eq!(parse_percent("loud"), None);
        assert_eq!(parse_level("7"), Some(70));
        assert_eq!(parse_level("4 out of 10"), Some(40));
        assert_eq!(parse_level("level 3 out of 10"), Some(30));
        assert_eq!(parse_level("number 4"), Some(40));
        assert_eq!(parse_level("10"), Some(100));
        assert_eq!(parse_level("0"), Some(0));
        assert_eq!(parse_level("40"), Some(40));
        assert_eq!(parse_level("5%"), Some(5));
        assert_eq!(parse_level("5 percent"), Some(5));
        assert_eq!(parse_level("half"), Some(50));
    }
}
