//! Text normalization before parsing: what Whisper or a keyboard adds that carries no
//! meaning (case, punctuation, a leading wake phrase and its mis-hearings, politeness,
//! fillers) goes; number words become digits.

use std::sync::LazyLock;

use regex::Regex;
use unicode_normalization::UnicodeNormalization;

use super::numbers::{digits_for_number_words, is_duration_unit, is_number_word, parse_duration};

/// Longest input the brain reads; longer text is cut at a word boundary (commands are short).
pub const MAX_INPUT_CHARS: usize = 500;

static WAKE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        // Whisper tiny.en hears "hey luna" as these too ("Hey, you know, set a timer").
        r"^(?:(?:hey|hi|hello|ok|okay|yo|oh|a) )?(?:luna|lunar|luner|loona|lunah|luna's|lunas|looney|lune|lorna|moon|lina|leena|luda|lunna) |^(?:hey|hi) you(?: know)? |^(?:alluna|aluna|helluna|hayluna|heyluna) |^(?:hey|hi) (?:look|lou now|lou|lu|loo|luke)(?: now)? ",
    )
    .expect("wake regex")
});

static LEADING_FILLER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:(?:um+|uh+|uhm|er+|erm|ah+|hmm+|so|well|okay|ok|alright|all right|right|hey|yo|oh|and|now|yeah|yes|please|just|quickly|kindly|go ahead and|go on and|would you mind|could you please|can you please|would you please|would you be so kind as to|could you be so kind as to|would you kindly|i wonder if you could|i was wondering if you could|is there a way to|is there any way to|is there any way you could|is it possible to|would it be possible to|any chance you could|any chance you can|might you|could you|can you|can u|would you|will you|i want you to|i need you to|i'd like you to|i would like you to|do you mind|would you be able to|could you possibly|be a dear and|oh dear|you can|you may|you could|luna|lunar) )+",
    )
    .expect("filler regex")
});

static TRAILING_FILLER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?: (?:please love|thanks love|please mate|please|pls|plz|for me|thanks|thank you|thank you very much|luna|lunar|loona|right now|now please|if you can|if you could|if you would|if you don't mind|if you wouldn't mind|would you|will you|could you|real quick|quickly|okay|ok|for now|dear|my dear|dearie|darling|would ya|will ya|could ya|cheers|ta|mate|pal|buddy|lah|innit|eh|yeah))+$")
        .expect("trailing filler regex")
});

static ANNOTATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\[[^\]]*\]|\([^)]*\)|\*[^*]*\*|♪[^♪]*♪?").expect("annotation regex")
});

/// "7am", "6:30pm" → "7 am", "6:30 pm" (Whisper writes both ways).
static GLUED_MERIDIEM: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(\d{1,2}(?::\d{2})?)(am|pm)\b").expect("meridiem regex"));

/// "1h 20m", "90min" → "1 hour 20 minutes", "90 minutes" (typed durations). Seconds
/// stay glued: "90s" is a decade as often as a duration.
static GLUED_UNIT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(\d+(?:\.\d+)?)(h|hr|hrs|m|min|mins)\b").expect("glued unit regex")
});

static REMEMBER_ME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\bremember me (to|about|that|at|in|on|tomorrow)\b").expect("remember regex")
});

/// "would you mind quitting chrome", "… so if you don't mind turning it down": the
/// request after "mind" said as the command.
static MIND_GERUND: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(mind) ([a-z]+ing)\b").expect("mind gerund regex"));

/// The command verbs people put after "would you mind", as commands.
fn imperative(gerund: &str) -> Option<&'static str> {
    Some(match gerund {
        "adding" => "add",
        "cancelling" | "canceling" => "cancel",
        "checking" => "check",
        "closing" => "close",
        "creating" => "create",
        "deleting" => "delete",
        "dimming" => "dim",
        "finding" => "find",
        "getting" => "get",
        "giving" => "give",
        "jotting" => "jot",
        "letting" => "let",
        "locking" => "lock",
        "looking" => "look",
        "lowering" => "lower",
        "making" => "make",
        "moving" => "move",
        "muting" => "mute",
        "opening" => "open",
        "pausing" => "pause",
        "playing" => "play",
        "popping" => "pop",
        "pulling" => "pull",
        "putting" => "put",
        "quitting" => "quit",
        "raising" => "raise",
        "reading" => "read",
        "reminding" => "remind",
        "removing" => "remove",
        "restarting" => "restart",
        "rebooting" => "reboot",
        "scheduling" => "schedule",
        "searching" => "search",
        "setting" => "set",
        "showing" => "show",
        "shutting" => "shut",
        "skipping" => "skip",
        "starting" => "start",
        "stopping" => "stop",
        "switching" => "switch",
        "taking" => "take",
        "telling" => "tell",
        "timing" => "time",
        "turning" => "turn",
        "unmuting" => "unmute",
        "writing" => "write",
        _ => return None,
    })
}

static THINKING_ALOUD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r" (?:what was it|what's it called|what do you call it|what's the word)(?: oh| um| uh| again)? ")
        .expect("thinking regex")
});

static EXASPERATED_QUESTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(where|what|how|who|why|when|which) (?:on earth|the heck|in the world) ")
        .expect("exasperated question regex")
});

static INNER_FILLER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r" (?:um+|uh+|uhm|erm|er) ").expect("inner filler regex"));

/// Lowercases, strips punctuation (keeping what numbers, times and arithmetic need),
/// the wake phrase, politeness and fillers, and turns number words into digits.
pub fn normalize(text: &str) -> String {
    let text = truncate(text, MAX_INPUT_CHARS);
    // Whisper's sound annotations ("[Music]", "(applause)", "*laughs*") are not words.
    let text = ANNOTATION.replace_all(text, " ");
    let cleaned = clean_chars(&text.to_lowercase());
    let cleaned = GLUED_MERIDIEM.replace_all(&cleaned, "$1 $2");
    let cleaned = GLUED_UNIT.replace_all(&cleaned, |c: &regex::Captures| {
        let unit = if c[2].starts_with('h') {
            "hour"
        } else {
            "minute"
        };
        let plural = if &c[1] == "1" { "" } else { "s" };
        format!("{} {unit}{plural}", &c[1])
    });
    // "twenty-five" is two number words; "lo-fi" stays one word.
    let words: Vec<&str> = cleaned
        .split_whitespace()
        .flat_map(|w| match w.split_once('-') {
            Some((a, b)) if is_number_word(a) && is_number_word(b) => vec![a, b],
            // "five-minute", "quarter-hour", "half-hour": a duration said as one word.
            Some((a, b))
                if (is_number_word(a) || matches!(a, "half" | "quarter"))
                    && is_duration_unit(b) =>
            {
                vec![a, b]
            }
            _ => vec![w],
        })
        .collect();
    // "start a 6 minute one for the garlic bread": "one" is the timer, not a number.
    let words: Vec<&str> = (0..words.len())
        .map(|i| {
            let unit_before = i >= 2
                && matches!(words[i - 1], "minute" | "second" | "hour" | "min")
                && (is_number_word(words[i - 2]) || words[i - 2].parse::<f64>().is_ok());
            let number_after = words
                .get(i + 1)
                .is_some_and(|n| is_number_word(n) || is_duration_unit(n) || *n == "and");
            if words[i] == "one" && unit_before && !number_after {
                "timer"
            } else {
                words[i]
            }
        })
        .collect();
    let mut s = digits_for_number_words(&words).join(" ");
    // Learners of English: "remember me to take my medicine" is "remind me to …".
    if s.contains("remember me ") {
        s = REMEMBER_ME.replace_all(&s, "remind me $1").into_owned();
    }
    if s.contains("mind ") {
        s = MIND_GERUND
            .replace_all(&s, |c: &regex::Captures| {
                format!("{} {}", &c[1], imperative(&c[2]).unwrap_or(&c[2]))
            })
            .into_owned();
    }
    // "where on earth is that spreadsheet": the question without its exasperation.
    if s.contains(" on earth ") || s.contains(" the heck ") || s.contains(" in the world ") {
        s = EXASPERATED_QUESTION.replace_all(&s, "$1 ").into_owned();
    }
    // Repeat: "hey luna um could you please ..." has several layers.
    for _ in 0..3 {
        let before = s.len();
        s = INNER_FILLER
            .replace_all(&format!(" {s} "), " ")
            .trim()
            .to_owned();
        // "add, um, what was it, oh, baking soda to the list": thinking aloud mid-sentence.
        s = THINKING_ALOUD.replace_all(&s, " ").into_owned();
        if let Some(m) = WAKE.find(&format!("{s} ")) {
            let cut = m.end().min(s.len());
            if cut < s.len() {
                s = s[cut..].trim_start().to_owned();
            }
        }
        let padded = format!("{s} ");
        let stripped = LEADING_FILLER.replace(&padded, "");
        if !stripped.trim().is_empty() {
            s = stripped.trim().to_owned();
        }
        let stripped = TRAILING_FILLER.replace(&s, "");
        if !stripped.trim().is_empty() {
            s = stripped.trim().to_owned();
        }
        if s.len() == before {
            break;
        }
    }
    corrected(&s).unwrap_or(s)
}

/// How many words at the start of `words` are politeness or filler ("can you", "and
/// please"), as `normalize` strips them from an utterance's start; at least one word is
/// left. For a command after a connector ("how much battery do i have and | can you turn
/// the brightness down").
pub fn lead_in_words(words: &[&str]) -> usize {
    let padded = format!("{} ", words.join(" "));
    let Some(m) = LEADING_FILLER.find(&padded) else {
        return 0;
    };
    let n = padded[..m.end()].split_whitespace().count();
    n.min(words.len().saturating_sub(1))
}

/// "… for 20 no wait 25 minutes", "… for an hour and a half actually no make it 2
/// hours", "… at 7 no 7:30": a value said again after a correction word.
static CORRECTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?P<head>.+?) (?:(?:no|wait|sorry|oh|oops|actually|hang on|hold on|scratch that|i mean|i meant|or rather|rather|correction|make it|make that|let's say|let's make it) )+(?P<value>[^ ]+(?: [^ ]+){0,5})$",
    )
    .expect("correction regex")
});

/// Words that may follow a number as part of the value said.
const VALUE_SUFFIXES: &[&str] = &["am", "pm", "o'clock", "percent", "%"];

/// The utterance with a corrected value put where the first one was said ("timer for
/// 15 minutes wait no 20" → "timer for 20 minutes"); `None` when it holds no
/// correction of a value.
fn corrected(s: &str) -> Option<String> {
    let c = CORRECTION.captures(s)?;
    let head: Vec<&str> = c["head"].split_whitespace().collect();
    let value = &c["value"];
    let value_words: Vec<&str> = value.split_whitespace().collect();
    let is_number = |w: &str| w.starts_with(|c: char| c.is_ascii_digit());
    let bare = value_words.len() == 1 && is_number(value_words[0]);
    let clock =
        is_number(value_words[0]) && value_words[1..].iter().all(|w| VALUE_SUFFIXES.contains(w));
    let duration = parse_duration(value).is_some();
    if !(bare || clock || duration) {
        return None;
    }
    // A duration replaces the last duration said ("an hour and a half"); else the last
    // number said, with its unit or meridiem when the new value has one.
    let last_duration = (duration && !bare)
        .then(|| {
            (1..=head.len()).rev().find_map(|end| {
                (0..end)
                    .find(|&i| parse_duration(&head[i..end].join(" ")).is_some())
                    .map(|start| (start, end))
            })
        })
        .flatten();
    let (start, end) = match last_duration {
        Some(span) => span,
        None => {
            let at = head.iter().rposition(|w| is_number(w))?;
            let mut end = at + 1;
            if !bare {
                while end < head.len()
                    && (VALUE_SUFFIXES.contains(&head[end]) || is_duration_unit(head[end]))
                {
                    end += 1;
                }
            }
            (at, end)
        }
    };
    let mut out: Vec<&str> = head[..start].to_vec();
    out.extend(&value_words);
    out.extend(&head[end..]);
    Some(out.join(" "))
}

/// The pieces of `text` between its stops and commas, as Whisper punctuates speech
/// ("Can you restart my PC? The Wi-Fi's acting weird." → two pieces), each
/// normalized; none when there is only one. A point or comma between digits ("1.5",
/// "1,000") is no stop. A piece of one word said ("Next, on the agenda, …", "Guys.")
/// is too little to act on and left out, unless it leads and is a command that is
/// always one ("Reboot, the mic stopped working."); "Softer please," is two.
pub fn pieces(text: &str) -> Vec<String> {
    let text = truncate(text, MAX_INPUT_CHARS);
    let chars: Vec<char> = text.chars().collect();
    let digit_at = |i: usize| chars.get(i).is_some_and(|c| c.is_ascii_digit());
    let mut pieces = Vec::new();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        let stop = match c {
            '?' | '!' | ';' => true,
            '.' | ',' => !(i > 0 && digit_at(i - 1) && digit_at(i + 1)),
            _ => false,
        };
        if stop {
            pieces.push(std::mem::take(&mut current));
        } else {
            current.push(c);
        }
    }
    pieces.push(current);
    if pieces.iter().filter(|p| !p.trim().is_empty()).count() < 2 {
        return Vec::new();
    }
    // A command said as one word and then its reason ("Reboot, the mic stopped
    // working."): the first piece, when it is one of these.
    const ONE_WORD_COMMANDS: &[&str] = &["reboot", "restart", "pause", "mute", "unmute"];
    pieces
        .iter()
        .enumerate()
        .filter_map(|(i, p)| {
            let normalized = normalize(p);
            let kept = p.split_whitespace().nth(1).is_some()
                || i == 0 && ONE_WORD_COMMANDS.contains(&normalized.as_str());
            (kept && !normalized.is_empty()).then_some(normalized)
        })
        .collect()
}

fn truncate(text: &str, max_chars: usize) -> &str {
    match text.char_indices().nth(max_chars) {
        None => text,
        Some((cut, _)) => {
            let head = &text[..cut];
            head.rfind(char::is_whitespace)
                .map_or(head, |space| &head[..space])
        }
    }
}

/// Keeps letters, digits, apostrophes inside words, and the symbols numbers need
/// ("6:45", "1.5", "20%", "3 + 4"); everything else becomes a space.
fn clean_chars(lower: &str) -> String {
    // "são paulo", "kraków", "zürich": accents go (places are looked up without them).
    let folded: String;
    let lower = if lower.is_ascii() {
        lower
    } else {
        folded = lower
            .nfd()
            .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
            .collect();
        &folded
    };
    let chars: Vec<char> = lower
        .chars()
        .map(|c| match c {
            '\u{2019}' | '\u{2018}' | '`' => '\'',
            '\u{2013}' | '\u{2014}' => '-',
            '\u{00d7}' => '*',
            '\u{00f7}' => '/',
            c => c,
        })
        .collect();
    let mut out = String::with_capacity(lower.len());
    let digit_at = |i: usize| chars.get(i).is_some_and(|c| c.is_ascii_digit());
    for (i, &c) in chars.iter().enumerate() {
        let prev_digit = i > 0 && digit_at(i - 1);
        let keep = match c {
            c if c.is_alphanumeric() => Some(c),
            '\'' => {
                let inner = i > 0
                    && chars[i - 1].is_alphabetic()
                    && chars.get(i + 1).is_some_and(|n| n.is_alphabetic());
                inner.then_some('\'')
            }
            ':' | '.' if prev_digit && digit_at(i + 1) => Some(c),
            // "$54,788": a thousands separator joins its digits.
            ',' if prev_digit && (1..=3).all(|k| digit_at(i + k)) && !digit_at(i + 4) => {
                continue;
            }
            '%' if prev_digit || (i > 1 && chars[i - 1] == ' ' && digit_at(i - 2)) => Some('%'),
            '+' | '*' | '/' | '^' | '=' => Some(c),
            '-' if digit_at(i + 1) && (i == 0 || chars[i - 1] == ' ') => Some('-'),
            // "lo-fi", "wi-fi": a hyphen inside a word stays (number words split later).
            '-' if i > 0
                && chars[i - 1].is_alphabetic()
                && chars.get(i + 1).is_some_and(|n| n.is_alphabetic()) =>
            {
                Some('-')
            }
            _ => None,
        };
        match keep {
            Some('%') => out.push_str(" %"),
            Some(c @ ('+' | '*' | '/' | '^' | '=')) => {
                out.push(' ');
                out.push(c);
                out.push(' ');
            }
            Some(c) => out.push(c),
            None => out.push(' '),
        }
    }
    // "a.m." / "p.m." became "a m" / "p m"; "v.s. code" became "v s code".
    let mut s = out.split_whitespace().collect::<Vec<_>>().join(" ");
    for (from, to) in [(" a m", " am"), (" p m", " pm")] {
        if s.ends_with(from) {
            s.replace_range(s.len() - from.len().., to);
        }
        s = s.replace(&format!("{from} "), &format!("{to} "));
    }
    s.replace(" %", "%")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_corrected_value_replaces_the_first() {
        for (said, meant) in [
            (
                "Timer for 15 minutes, wait, no, 20.",
                "timer for 20 minutes",
            ),
            (
                "Set a timer for 20, no wait, 25 minutes",
                "set a timer for 25 minutes",
            ),
            ("Timer for 3 minutes, no, make it 4.", "timer for 4 minutes"),
            (
                "Set a timer for five minutes, actually make that seven.",
                "set a timer for 7 minutes",
            ),
            (
                "Set a timer for an hour and a half. Actually, no, make it two hours.",
                "set a timer for 2 hours",
            ),
            (
                "Set a timer for two hours, I mean one hour.",
                "set a timer for 1 hour",
            ),
            ("Wake me up at 7, no, 7:30", "wake me up at 7:30"),
            ("alarm for 6 pm sorry 7 pm", "alarm for 7 pm"),
            ("Turn the volume to 40, no, 30.", "turn the volume to 30"),
        ] {
            assert_eq!(normalize(said), meant, "{said}");
        }
        // No value said again, or nothing to correct: as said.
        for said in [
            "make it louder",
            "set a timer no wait",
            "play the song no wait for it",
            "turn it up no make it 80",
        ] {
            assert_eq!(corrected(&normalize(said)), None, "{said}");
        }
    }

    #[test]
    fn a_duration_said_as_one_word_is_split() {
        assert_eq!(normalize("Five-minute timer"), "5 minute timer");
        assert_eq!(normalize("a quarter-hour timer"), "a quarter hour timer");
        assert_eq!(normalize("lo-fi beats"), "lo-fi beats");
    }

    #[test]
    fn thinking_aloud_mid_sentence_is_not_words() {
        assert_eq!(
            normalize("Add, um, what was it, oh, baking soda to the grocery list."),
            "add baking soda to the grocery list"
        );
        assert_eq!(
            normalize("what was it like yesterday"),
            "what was it like yesterday"
        );
    }

    #[test]
    fn learners_remember_me_is_remind_me() {
        assert_eq!(
            normalize("please remember me to take medicine at 9"),
            "remind me to take medicine at 9"
        );
        assert_eq!(normalize("do you remember me"), "do you remember me");
    }

    #[test]
    fn strips_wake_phrase_punctuation_and_politeness() {
        assert_eq!(
            normalize("Hey Luna, set a timer for five minutes."),
            "set a timer for 5 minutes"
        );
        assert_eq!(normalize("Hey Lunar, open Firefox!"), "open firefox");
        assert_eq!(
            normalize("hi luna um could you please turn it up"),
            "turn it up"
        );
        assert_eq!(normalize("Luna, what's the time?"), "what's the time");
        assert_eq!(
            normalize("Can you open VS Code for me, please?"),
            "open vs code"
        );
        assert_eq!(normalize("Uh, open up Discord."), "open up discord");
        // Whisper's hearings of "hey luna" said in one breath with the command.
        assert_eq!(
            normalize("Hey, you know, set timer for 5 minutes."),
            "set timer for 5 minutes"
        );
        assert_eq!(normalize("Hey you open Firefox"), "open firefox");
        assert_eq!(normalize("A luna set a timer"), "set a timer");
        assert_eq!(
            normalize("you know what time it is"),
            "you know what time it is"
        );
    }

    #[test]
    fn keeps_what_numbers_need() {
        assert_eq!(normalize("Alarm for 6:45 p.m."), "alarm for 6:45 pm");
        assert_eq!(normalize("Wake me at 7am."), "wake me at 7 am");
        assert_eq!(
            normalize("set an alarm for 6:30PM"),
            "set an alarm for 6:30 pm"
        );
        assert_eq!(normalize("Set it to 1.5 hours"), "set it to 1.5 hours");
        assert_eq!(normalize("Volume 20%."), "volume 20%");
        assert_eq!(normalize("What's 3+4?"), "what's 3 + 4");
        assert_eq!(
            normalize("Set an alarm for 7 a.m."),
            "set an alarm for 7 am"
        );
        assert_eq!(normalize("twenty-five minutes"), "25 minutes");
        assert_eq!(normalize("Play some lo-fi."), "play some lo-fi");
    }

    #[test]
    fn a_bare_wake_phrase_or_greeting_stays() {
        assert_eq!(normalize("Hey Luna."), "hey");
        assert_eq!(normalize("Hello!"), "hello");
        assert_eq!(normalize("Thank you."), "thank you");
    }

    #[test]
    fn whisper_sound_annotations_are_not_words() {
        assert_eq!(normalize("[Music]"), "");
        assert_eq!(normalize("(applause) open firefox"), "open firefox");
        assert_eq!(normalize("♪ la la ♪"), "");
    }

    #[test]
    fn accents_and_glued_units_are_read_as_typed_plainly() {
        assert_eq!(
            normalize("What time is it in São Paulo?"),
            "what time is it in sao paulo"
        );
        assert_eq!(normalize("weather in Zürich"), "weather in zurich");
        assert_eq!(
            normalize("start a 1h 20m timer"),
            "start a 1 hour 20 minutes timer"
        );
        assert_eq!(normalize("timer 90min"), "timer 90 minutes");
        assert_eq!(normalize("what is 25% of $54,788"), "what is 25% of 54788");
        // A decade is no duration.
        assert_eq!(normalize("play 90s hits"), "play 90s hits");
    }

    #[test]
    fn pieces_are_what_lies_between_stops_and_commas() {
        assert_eq!(
            pieces("Can you restart my PC? The Wi-Fi's acting weird."),
            ["restart my pc", "the wi-fi's acting weird"]
        );
        assert_eq!(
            pieces("Hang on, guys. Luna, pause this."),
            ["hang on", "pause this"]
        );
        assert_eq!(
            pieces("Softer please, Luna, Grandpa is reading."),
            ["softer", "grandpa is reading"]
        );
        assert_eq!(pieces("Next, on the agenda"), ["on the agenda"]);
        // A one-word command leading, then its reason.
        assert_eq!(
            pieces("Reboot, the mic stopped working again."),
            ["reboot", "the mic stopped working again"]
        );
        assert_eq!(pieces("Guys, mute."), Vec::<String>::new());
        // Numbers keep their points and commas; one piece is no pieces.
        assert!(pieces("set the volume to 1,000.5 please").is_empty());
        assert!(pieces("Set a timer for 5 minutes.").is_empty());
    }

    #[test]
    fn a_six_minute_one_is_a_timer() {
        assert_eq!(
            normalize("start a 6 minute one for the garlic bread"),
            "start a 6 minute timer for the garlic bread"
        );
        assert_eq!(normalize("set a five minute one"), "set a 5 minute timer");
        // A number it stays when more of the duration follows.
        assert_eq!(normalize("1 hour one minute"), "1 hour 1 minute");
    }

    #[test]
    fn huge_input_is_cut() {
        let long = "play music ".repeat(10_000);
        assert!(normalize(&long).len() <= MAX_INPUT_CHARS);
        assert_eq!(normalize(""), "");
        assert_eq!(normalize("?!.,"), "");
    }
}
