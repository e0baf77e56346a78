//! The second signal for a borderline "hey luna": does speech to text hear the phrase at
//! the start of the utterance?
//!
//! The acoustic head was trained on synthetic voices; Whisper on hundreds of thousands of
//! hours of real people. When the head's score falls just short of its threshold
//! (`[wake] transcript_check_from` up to it), the utterance is transcribed with the
//! phrase as Whisper's prompt (`PROMPT`), and it is addressed to LUNA only if the
//! transcript begins with a hey-like word and a luna-like word ("Hey, Luna.", "hey
//! lunar", "Hay Loona", "Haluna"). Text alone never decides: below the band nothing is
//! transcribed at all, and a transcript is never searched past its first words.

/// Whisper's prompt for a candidate's utterance: makes the phrase the likely spelling
/// of what was said, without making it appear where it was not (measured: 0 of 120
/// commands said without it were written with it).
pub const PROMPT: &str = "Hey Luna, what time is it?";

/// How the transcript of an enrolled phrase's detection must begin: like the phrase's
/// own takes did, transcribed at enrollment with the same prompt (`prompt_for`). Same
/// voice, same phrase, same prompt: Whisper writes it alike, where the speaker's other
/// speech, however close in sound to the takes (the templates' weakness), is written as
/// other words.
#[derive(Clone, Debug, PartialEq)]
pub struct EnrolledCheck {
    pub prompt: String,
    /// How Whisper wrote each take, and the phrase's name.
    heard: Vec<String>,
}

impl EnrolledCheck {
    /// The check of phrase `name` (its words, as said) whose takes were written
    /// `heard`; none when neither has a word to check against.
    pub fn new(name: &str, heard: &[String]) -> Option<Self> {
        // A take's spelling counts when another take was written alike or it is the
        // name's: Whisper guessing at one unclear take ("I don't know", the prompt's
        // own "What time is it?") must not become a way in.
        let named = Self {
            prompt: prompt_for(name),
            heard: vec![name.to_owned()],
        };
        let alike = |a: &str, b: &str| {
            let (a, b) = (letters(a), letters(b));
            strsim::levenshtein(&a, &b) <= (a.len().max(b.len()) / 6).max(1)
        };
        let mut kept: Vec<String> = heard
            .iter()
            .enumerate()
            .filter(|(i, h)| {
                !letters(h).is_empty()
                    && (named.phrase_end(h).is_some()
                        || heard
                            .iter()
                            .enumerate()
                            .any(|(j, other)| j != *i && alike(h, other)))
            })
            .map(|(_, h)| h.clone())
            .collect();
        if !letters(name).is_empty() {
            kept.push(name.to_owned());
        }
        (!kept.is_empty()).then_some(Self {
            prompt: named.prompt,
            heard: kept,
        })
    }

    /// Where the phrase ends in `transcript` (as `wake_phrase_end`) if it begins with it.
    pub fn phrase_end(&self, transcript: &str) -> Option<usize> {
        let heard: Vec<(String, usize)> = words(transcript).collect();
        let filler = heard
            .first()
            .is_some_and(|(w, _)| FILLERS.contains(&w.as_str()));
        // Takes written as "hey luna" (or its spellings): every spelling of it counts,
        // and, the voice being the enrolled one's already, any short word before a
        // luna-like one ("Hello, Luna", "Tae Luna"), but not an article ("the lunar
        // module").
        if self.heard.iter().any(|h| is_hey_luna(h)) {
            if let Some(end) = wake_phrase_end(transcript) {
                return Some(end);
            }
            if let [(first, _), (second, end), ..] = &heard[usize::from(filler)..] {
                let article = ["the", "a", "an", "my", "your", "this", "that", "our"];
                if first.len() <= 5 && !article.contains(&first.as_str()) && luna_like(second) {
                    return Some(*end);
                }
            }
        }
        // From the first word, or past a filler ("um, okay computer"; "okay" may be the
        // phrase's own first word).
        let starts = if filler { &[0, 1][..] } else { &[0][..] };
        starts.iter().find_map(|&skip| {
            let heard = &heard[skip..];
            self.heard.iter().find_map(|take| {
                let wanted = letters(take);
                let n = words(take).count();
                // The same sounds split into one word more or fewer ("hey luna" / "haluna").
                (n.saturating_sub(1).max(1)..=n + 1)
                    .filter(|k| *k <= heard.len())
                    .find(|k| {
                        let said: String = heard[..*k].iter().map(|(w, _)| w.as_str()).collect();
                        strsim::levenshtein(&said, &wanted) <= (wanted.len() / 6).max(1)
                    })
                    .map(|k| heard[k - 1].1)
            })
        })
    }
}

/// Whisper's prompt for hearing an enrolled phrase `name` (as `PROMPT` for "hey luna").
pub fn prompt_for(name: &str) -> String {
    if name.trim() == super::HEY_LUNA {
        return PROMPT.to_owned();
    }
    let mut chars = name.trim().chars();
    let first: String = chars
        .next()
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_default();
    format!("{first}{}, what time is it?", chars.as_str())
}

/// A transcript that is "hey luna" (as Whisper may write it) and nothing else.
fn is_hey_luna(text: &str) -> bool {
    wake_phrase_end(text).is_some_and(|end| letters(&text[end..]).is_empty())
}

/// The letters and digits of `text`'s words, lowercased, run together.
fn letters(text: &str) -> String {
    words(text).map(|(w, _)| w).collect()
}

/// Words that may stand before the phrase ("oh, hey luna").
const FILLERS: &[&str] = &["oh", "uh", "um", "ok", "okay", "so", "and"];

/// How Whisper writes "hey" said to a microphone.
const HEY_LIKE: &[&str] = &[
    "hey", "hay", "hei", "heh", "he", "hi", "hai", "hy", "ey", "eh", "hej", "hail", "ay", "aye",
];

/// Where the wake phrase ends in `transcript` (a byte offset, past the punctuation after
/// it) if the transcript begins with one; `None` otherwise.
pub fn wake_phrase_end(transcript: &str) -> Option<usize> {
    let mut words = words(transcript).peekable();
    if words
        .peek()
        .is_some_and(|(w, _)| FILLERS.contains(&w.as_str()))
    {
        words.next();
    }
    let (first, end) = words.next()?;
    // One word for the whole phrase: "Haluna", "Hiluna", "Hilouna".
    let fused = HEY_LIKE.iter().chain(&["ha", "hel", "al"]).any(|hey| {
        first
            .strip_prefix(hey)
            .is_some_and(|rest| rest.len() >= 4 && luna_like(rest))
    });
    if fused {
        return Some(end);
    }
    if !HEY_LIKE.contains(&first.as_str()) {
        return None;
    }
    let (second, end) = words.next()?;
    luna_like(&second).then_some(end)
}

/// "luna", and how Whisper writes it: "lunar", "loona", "louna", "lunah", "luna's", one
/// letter off "luna" or "lunar" as long as it starts "lu", "loo" or "lou", keeps its
/// "n" and ends as they do ("lena", "lana", "lou", "lucas", "loony" and "looney" do not).
fn luna_like(word: &str) -> bool {
    let word = word.strip_suffix('s').unwrap_or(word);
    let head = ["lu", "loo", "lou"]
        .into_iter()
        .find(|head| word.starts_with(head));
    if head.is_none_or(|head| !word[head.len()..].contains('n')) || !word.ends_with(['a', 'r', 'h'])
    {
        return false;
    }
    ["luna", "lunar", "loona", "lunah"]
        .iter()
        .any(|target| strsim::levenshtein(word, target) <= 1)
}

/// The words of `text` (split at whitespace, from its first letter or digit), lowercased,
/// letters and digits only, each with the byte offset just past it and the punctuation
/// and spaces after it.
pub(super) fn words(text: &str) -> impl Iterator<Item = (String, usize)> + '_ {
    let mut rest = 0;
    std::iter::from_fn(move || {
        let start = rest + text[rest..].find(|c: char| c.is_alphanumeric())?;
        let len = text[start..]
            .find(|c: char| c.is_whitespace())
            .unwrap_or(text.len() - start);
        let mut end = start + len;
        end += text[end..]
            .find(|c: char| c.is_alphanumeric())
            .unwrap_or(text.len() - end);
        rest = end;
        let word = text[start..start + len]
            .chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect();
        Some((word, end))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rest(t: &str) -> Option<&str> {
        wake_phrase_end(t).map(|end| &t[end..])
    }

    #[test]
    fn the_phrase_and_how_whisper_writes_it_are_found_and_cut() {
        assert_eq!(rest("Hey Luna, what time is it?"), Some("what time is it?"));
        assert_eq!(rest("Hey, Luna. Open Firefox."), Some("Open Firefox."));
        assert_eq!(rest("hey lunar set a timer"), Some("set a timer"));
        assert_eq!(rest("Hay Loona, play music"), Some("play music"));
        assert_eq!(rest("Oh, hey Luna, stop."), Some("stop."));
        assert_eq!(
            rest("Haluna, what's the weather?"),
            Some("what's the weather?")
        );
        assert_eq!(rest("Hey Luna."), Some(""));
        assert_eq!(rest("Hey Lunas, lights"), Some("lights"));
        assert_eq!(rest("He Luna, pause the music."), Some("pause the music."));
        assert_eq!(rest("Hiluna S. H."), Some("S. H."));
        assert_eq!(rest("Hilouna, what's on?"), Some("what's on?"));
        assert_eq!(rest("Hyluna Open Steam."), Some("Open Steam."));
    }

    #[test]
    fn an_enrolled_phrase_is_found_as_its_takes_were_written() {
        let check = EnrolledCheck::new(
            "okay computer",
            &[
                "Okay, computer.".into(),
                "Okay computer.".into(),
                "OK computer".into(),
            ],
        )
        .expect("takes with words");
        assert_eq!(check.prompt, "Okay computer, what time is it?");
        let rest = |t: &'static str| check.phrase_end(t).map(|end| &t[end..]);
        assert_eq!(rest("Okay, computer, open Firefox."), Some("open Firefox."));
        assert_eq!(rest("OK computer."), Some(""));
        assert_eq!(rest("Um, okay computers, stop"), Some("stop"));
        for t in [
            "Okay, come here",
            "Computer, open Firefox.",
            "Okay, what is it",
            "",
            "Okay",
        ] {
            assert_eq!(check.phrase_end(t), None, "{t}");
        }
        // Takes written as "hey luna": its spellings count, its near misses do not.
        let luna = EnrolledCheck::new("luna mine", &["Hey Luna.".into(), "Hey, Luna!".into()])
            .expect("takes with words");
        assert_eq!(
            luna.phrase_end("Hay Loona, play music").map(|e| e > 0),
            Some(true)
        );
        assert_eq!(luna.phrase_end("Hey, look at that."), None);
        assert_eq!(luna.phrase_end("Tae Luna, stop."), Some(10));
        assert_eq!(luna.phrase_end("Hello, Luna."), Some(12));
        assert_eq!(luna.phrase_end("The lunar module landed."), None);
        assert_eq!(luna.phrase_end("Luna park is closed."), None);
        assert_eq!(luna.phrase_end("Set a timer for Luna."), None);
        // A take written alone and unlike the phrase is Whisper's guess: not a way in.
        let guessed = EnrolledCheck::new(
            "hey luna",
            &["Keluna".into(), "Keluna.".into(), "What time is it?".into()],
        )
        .unwrap();
        assert!(guessed.phrase_end("Keluna, stop.").is_some());
        assert_eq!(guessed.phrase_end("What time is it?"), None);
        // Takes heard as nothing: the name's words are the check; no words, no check.
        let named = EnrolledCheck::new("hey luna", &["".into(), "...".into()]).unwrap();
        assert_eq!(named.prompt, PROMPT);
        assert!(named.phrase_end("Hey, Luna, stop.").is_some());
        assert_eq!(EnrolledCheck::new("...", &["".into()]), None);
    }

    #[test]
    fn near_misses_and_ordinary_speech_are_not_the_phrase() {
        for t in [
            "Hey Lena, how are you?",
            "Hey Lana.",
            "Hey Lou, come here.",
            "Hey, look at that.",
            "Hey, loony tunes is on.",
            "Luna park is closed today.",
            "What time is it?",
            "Set a timer for Luna.",
            "I said hey luna yesterday",
            "",
            "...",
            "Hey",
            "Healthy lunch",
            "Hello there",
            "Helena, come",
            "A Luna moth.",
            "Hey Lucas.",
            "Hey, Looney Tunes is on.",
        ] {
            assert_eq!(wake_phrase_end(t), None, "{t}");
        }
    }
}
