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
