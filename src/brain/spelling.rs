//! Typed slips in command words ("set timr for 25 minits", "whats the wether"): a word
//! that no training sentence and no grammar pattern holds, one or two edits from exactly
//! one word the grammar is written with, is read as that word. The brain asks for this
//! only when nothing understood the sentence as typed, and acts on the corrected text
//! only when the grammar understands it whole (the classifiers would take anything).

use std::collections::{BTreeMap, HashSet};

/// Words of the grammar and of every training sentence; the grammar's are the ones a
/// slip is corrected to.
pub struct Speller {
    known: HashSet<String>,
    /// Correction targets by length.
    targets: BTreeMap<usize, Vec<String>>,
}

/// Shorter words are too easily another word one edit away ("tim", "mute"/"muse").
const MIN_LEN: usize = 4;

impl Speller {
    /// `grammar_words`: the words the grammar's patterns are written with;
    /// `sentences`: every training sentence (normalized).
    pub fn new<'a>(
        grammar_words: impl IntoIterator<Item = &'a str>,
        sentences: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        let mut known = HashSet::new();
        let mut targets: BTreeMap<usize, Vec<String>> = BTreeMap::new();
        let units = [
            "minutes", "minute", "seconds", "second", "hours", "hour", "tomorrow", "tonight",
        ];
        for word in grammar_words.into_iter().chain(units) {
            if word.len() >= MIN_LEN && known.insert(word.to_owned()) {
                targets
                    .entry(word.chars().count())
                    .or_default()
                    .push(word.to_owned());
            }
        }
        for sentence in sentences {
            for word in sentence.split_whitespace() {
                if !known.contains(word) {
                    known.insert(word.to_owned());
                }
            }
        }
        for list in targets.values_mut() {
            list.sort();
        }
        Self { known, targets }
    }

    /// More words that are no slips (an English vocabulary: the sentence encoder's).
    pub fn add_known<'a>(&mut self, words: impl IntoIterator<Item = &'a str>) {
        self.known.extend(words.into_iter().map(str::to_owned));
    }

    /// The sentence with its slips corrected, one reading per way of correcting them
    /// (a slip as near to two words gives two), at most [`MAX_READINGS`]; empty when
    /// there is no slip.
    pub fn readings(&self, normalized: &str) -> Vec<String> {
        let mut readings: Vec<Vec<&str>> = vec![Vec::new()];
        let mut changed = false;
        for word in normalized.split_whitespace() {
            let fixes = self.corrections(word);
            changed |= !fixes.is_empty();
            let options = if fixes.is_empty() { vec![word] } else { fixes };
            readings = readings
                .into_iter()
                .flat_map(|r| {
                    options.iter().map(move |o| {
                        let mut r = r.clone();
                        r.push(*o);
                        r
                    })
                })
                .take(MAX_READINGS)
                .collect();
        }
        if !changed {
            return Vec::new();
        }
        readings.into_iter().map(|r| r.join(" ")).collect()
    }

    /// The grammar words `word` is a slip of: the nearest ones (a letter left out is
    /// nearer than one mistyped: "timr" is "timer" before "time").
    fn corrections(&self, word: &str) -> Vec<&str> {
        let len = word.chars().count();
        if len < MIN_LEN
            || !word.chars().all(|c| c.is_ascii_lowercase())
            || self.known.contains(word)
        {
            return Vec::new();
        }
        let most = if len <= 5 { 1 } else { 2 };
        let mut scored: Vec<(usize, bool, &str)> = (len.saturating_sub(most)..=len + most)
            .filter_map(|l| self.targets.get(&l))
            .flatten()
            .filter_map(|target| {
                let d = strsim::osa_distance(word, target);
                // Two slips only where the first letter is right.
                let ok = d <= most && (d < 2 || word.chars().next() == target.chars().next());
                ok.then(|| (d, !is_subsequence(word, target), target.as_str()))
            })
            .collect();
        scored.sort();
        let Some(&(d, left_out, _)) = scored.first() else {
            return Vec::new();
        };
        scored
            .into_iter()
            .take_while(|&(e, l, _)| e == d && l == left_out)
            .map(|(_, _, t)| t)
            .take(3)
            .collect()
    }
}

/// Real words Whisper writes for command words it misheard ("what's the whether",
/// "show my knows", "paws the song"): the sentence with every one of them read as the
/// command word, or `None` when it holds none. Like a slip's correction, the reading is
/// taken only when the grammar understands it whole.
pub fn misheard_reading(normalized: &str) -> Option<String> {
    if !MISHEARD_WORDS.is_match(normalized) {
        return None;
    }
    let reading = MISHEARD_WORDS.replace_all(normalized, |c: &regex::Captures| {
        // "what's 12 time 17": times between numbers.
        if let (Some(a), Some(b)) = (c.get(1), c.get(2)) {
            return format!("{} times {}", a.as_str(), b.as_str());
        }
        let heard = &c[0];
        MISHEARD
            .iter()
            .find(|(h, _)| *h == heard)
            .map_or(heard, |(_, meant)| meant)
            .to_owned()
    });
    (reading != normalized).then(|| reading.into_owned())
}

/// Every heard phrase of `MISHEARD` as whole words, longest first, and "time" between
/// numbers: one pass finds and replaces them all.
static MISHEARD_WORDS: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    let mut heard: Vec<&str> = MISHEARD.iter().map(|(h, _)| *h).collect();
    heard.sort_by_key(|h| std::cmp::Reverse(h.len()));
    let alternatives: Vec<String> = heard.iter().map(|h| regex::escape(h)).collect();
    regex::Regex::new(&format!(
        r"\b(?:{})\b|(\d) time (\d)",
        alternatives.join("|")
    ))
    .expect("misheard words regex")
});

/// Heard → meant, for words that are no command word themselves in these places.
const MISHEARD: &[(&str, &str)] = &[
    ("whether", "weather"),
    ("knows", "notes"),
    ("ad", "add"),
    ("a lar", "alarm"),
    ("a larm", "alarm"),
    ("re-boot", "reboot"),
    ("choke", "joke"),
    ("cross of", "cross off"),
    ("tick of", "tick off"),
    ("turn of", "turn off"),
    ("off of mute", "off mute"),
    ("thanks giving", "thanksgiving"),
    ("paws", "pause"),
    ("rewind me", "remind me"),
    ("down loads", "downloads"),
    ("play list", "playlist"),
    ("next rack", "next track"),
    ("to have", "to half"),
    ("right down", "write down"),
    ("right this down", "write this down"),
    ("brightest", "brightness"),
    ("brightless", "brightness"),
    ("time her", "timer"),
    ("alarm's", "alarms"),
];

/// Readings of one sentence tried at most.
pub const MAX_READINGS: usize = 4;

/// Whether `short` is `long` with letters left out.
fn is_subsequence(short: &str, long: &str) -> bool {
    let mut rest = long.chars();
    short.chars().all(|c| rest.any(|l| l == c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misheard_command_words_are_read_as_meant() {
        assert_eq!(
            misheard_reading("what's the whether this weekend").as_deref(),
            Some("what's the weather this weekend")
        );
        assert_eq!(
            misheard_reading("what's 12 time 17").as_deref(),
            Some("what's 12 times 17")
        );
        assert_eq!(
            misheard_reading("ad milk to the list").as_deref(),
            Some("add milk to the list")
        );
        assert_eq!(misheard_reading("what's the weather"), None);
    }

    fn speller() -> Speller {
        Speller::new(
            [
                "timer", "time", "weather", "volume", "alarm", "remind", "music", "mute", "play",
                "pause", "mouse",
            ],
            [
                "play some music by muse",
                "set the alarm",
                "what is the time",
            ],
        )
    }

    #[test]
    fn slips_in_command_words_are_corrected() {
        let s = speller();
        assert_eq!(
            s.readings("set timr for 25 minits"),
            ["set timer for 25 minute", "set timer for 25 minutes"]
        );
        assert_eq!(s.readings("whats the wether"), ["whats the weather"]);
        assert_eq!(s.readings("turn the volumn up"), ["turn the volume up"]);
        // A letter left out is nearer than one mistyped: "timer", not "time".
        assert_eq!(s.readings("set the timr"), ["set the timer"]);
        // As near to two words: both readings.
        assert_eq!(s.readings("the pouse"), ["the mouse", "the pause"]);
    }

    #[test]
    fn known_words_short_words_and_ties_stay() {
        let s = speller();
        // Known from a training sentence, though one edit from "mute".
        assert!(s.readings("play muse").is_empty());
        // Too short to tell.
        assert!(s.readings("pla tim").is_empty());
        // Nothing near.
        assert!(s.readings("qwerty zebra").is_empty());
        // Digits and words with apostrophes are not slips.
        assert!(s.readings("it's 25").is_empty());
        // A word of an English vocabulary is no slip.
        let mut s = speller();
        assert_eq!(s.readings("the volumn"), ["the volume"]);
        s.add_known(["volumn"]);
        assert!(s.readings("the volumn").is_empty());
    }
}
