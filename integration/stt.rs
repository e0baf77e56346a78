//! Speech to text on real synthesized speech through the real model.

mod support;

use luna::brain::normalize;
use luna::stt::{SpeechToText, SttSettings};
use support::{add_noise, model_path, speak, word_errors};

/// Held by the tests that decode a lot or time a decoding: a second decode in the
/// process takes the thread policy down to one thread (`stt::threads`), which would make
/// one test's timings depend on another's.
static DECODING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The default settings, with `LUNA_STT__*` variables applied (for experiments).
fn stt() -> SpeechToText {
    SpeechToText::new(settings())
}

fn settings() -> SttSettings {
    let options = luna::config::LoadOptions {
        env: std::env::vars()
            .filter(|(k, _)| k.starts_with("LUNA_STT__"))
            .collect(),
        ..Default::default()
    };
    let config = luna::config::load(&options).unwrap().config;
    let mut settings = SttSettings::from_config(&config.stt);
    settings.model_path = model_path();
    settings
}

const COMMANDS: &[&str] = &[
    "set a timer for five minutes",
    "what time is it",
    "open firefox",
    "turn the volume down",
    "play some music",
    "what's the weather like today",
    "remind me to call mom at six",
    "add milk to my shopping list",
    "set an alarm for seven thirty",
    "turn off the lights in ten minutes and play some jazz",
];

/// Alternatives are other readings of the same audio: different from the best one
/// and from each other, close to it in words, the same when asked twice, and gone
/// once the model has decoded other audio.
#[test]
fn alternatives_are_other_readings_of_the_same_audio() {
    let _one = DECODING.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let mut stt = stt();
    let mut with_some = 0;
    let mut last = None;
    for (i, text) in COMMANDS.iter().enumerate() {
        let wav = dir.path().join(format!("a{i}.wav"));
        speak(text, "en-us+m3", 140, &wav);
        let audio = luna::audio::wav::read(&wav).unwrap();
        let t = stt.transcribe(&audio.samples).unwrap();
        let decoding = t
            .decoding
            .expect("a greedy transcript can be asked for alternatives");
        if let Some(previous) = last.replace(decoding) {
            assert!(
                stt.alternatives(previous).unwrap().0.is_empty(),
                "alternatives of audio decoded before"
            );
        }
        let alternatives = stt.alternatives(decoding).unwrap().0;
        assert_eq!(
            stt.alternatives(decoding).unwrap().0,
            alternatives,
            "asked twice"
        );
        assert!(
            alternatives.len() <= 4,
            "[stt] alternatives = 3, and the beam search's reading: {alternatives:?}"
        );
        // In words, case and punctuation aside.
        let words = |text: &str| {
            text.to_lowercase()
                .split(|c: char| !c.is_alphanumeric() && c != '\'')
                .filter(|w| !w.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        };
        let heard = words(&t.text);
        let mut seen = vec![heard.clone()];
        for a in &alternatives {
            let reading = words(&a.text);
            assert!(
                !seen.contains(&reading),
                "{:?} repeats one of {seen:?}",
                a.text
            );
            // Close in words either way: a reading may be longer than the best one
            // ("7th and 114730" or "7th and 11th for 7th 30").
            let (errors, words) = word_errors(&heard, &reading);
            let words = words.max(reading.split(' ').count());
            assert!(
                errors <= words.max(2),
                "{:?} is not a reading of {:?}",
                a.text,
                t.text
            );
            assert!(a.logprob.is_finite() && a.logprob < 0.0, "{a:?}");
            seen.push(reading);
        }
        eprintln!(
            "{text:?}: heard {:?}, or {:?}",
            t.text,
            alternatives.iter().map(|a| &a.text).collect::<Vec<_>>()
        );
        with_some += !alternatives.is_empty() as usize;
    }
    assert!(
        with_some >= 3,
        "only {with_some} of {} commands had alternatives",
        COMMANDS.len()
    );
    // Turned off: none to ask for.
    let mut settings = settings();
    settings.alternatives = 0;
    let wav = dir.path().join("a0.wav");
    let audio = luna::audio::wav::read(&wav).unwrap();
    assert_eq!(
        SpeechToText::new(settings)
            .transcribe(&audio.samples)
            .unwrap()
            .decoding,
        None
    );
}

/// The beam search's reading (`[stt] reread_beam_size`) comes after the greedy
/// branches, which it leaves as they were, and is not one of them or the best reading.
#[test]
fn the_reread_is_offered_after_the_greedy_readings() {
    let _one = DECODING.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let mut with_reread = {
        let mut settings = settings();
        settings.reread_beam_size = 3;
        SpeechToText::new(settings)
    };
    let mut without = {
        let mut settings = settings();
        settings.reread_beam_size = 0;
        SpeechToText::new(settings)
    };
    let mut reread_offered = 0;
    for (i, text) in COMMANDS.iter().take(6).enumerate() {
        let wav = dir.path().join(format!("r{i}.wav"));
        // A fast voice, where greedy decoding slips more often.
        speak(text, "en-us+f3", 190, &wav);
        let audio = luna::audio::wav::read(&wav).unwrap();
        let read = |stt: &mut SpeechToText| {
            let t = stt.transcribe(&audio.samples).unwrap();
            let found = t
                .decoding
                .map(|d| stt.alternatives(d).unwrap().0)
                .unwrap_or_default();
            (t.text, found)
        };
        let (heard, plain) = read(&mut without);
        let (heard_again, found) = read(&mut with_reread);
        assert_eq!(heard, heard_again, "the same greedy transcript");
        assert_eq!(
            found[..plain.len()],
            plain[..],
            "the branches first, unchanged"
        );
        assert!(found.len() <= plain.len() + 1, "{found:?}");
        if let Some(extra) = found.get(plain.len()) {
            reread_offered += 1;
            let norm = luna::brain::normalize;
            assert_ne!(norm(&extra.text), norm(&heard));
            assert!(plain.iter().all(|a| norm(&a.text) != norm(&extra.text)));
        }
    }
    eprintln!("the beam search read {reread_offered} of 6 commands otherwise");
}

/// Commands in several voices and speeds, some with noise: the word error rate after
/// normalization (number words, punctuation, case) stays under a floor.
#[test]
fn transcribes_spoken_commands_across_voices_speeds_and_noise() {
    let _one = DECODING.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let mut stt = stt();
    let mut errors = 0;
    let mut words = 0;
    let mut report = Vec::new();
    let cases = [
        ("en-us", 160, None),
        ("en-us+m3", 140, None),
        ("en+f3", 175, None),
        ("en-gb+m2", 150, Some(15.0)),
    ];
    for (i, text) in COMMANDS.iter().enumerate() {
        for (voice, wpm, snr) in cases {
            let wav = dir.path().join(format!("c{i}-{voice}.wav"));
            speak(text, voice, wpm, &wav);
            let wav = match snr {
                Some(snr) => {
                    let noisy = dir.path().join(format!("c{i}-{voice}-noisy.wav"));
                    add_noise(&wav, snr, &noisy);
                    noisy
                }
                None => wav,
            };
            let audio = luna::audio::wav::read(&wav).unwrap();
            let t = stt.transcribe(&audio.samples).unwrap();
            let (e, n) = word_errors(&normalize(text), &normalize(&t.text));
            errors += e;
            words += n;
            report.push(format!(
                "{voice:>9} {wpm} {snr:?}: {text:?} → {:?} ({e} errors, logprob {:.2}, {:.0} ms)",
                t.text, t.avg_logprob, t.transcribe_ms
            ));
        }
    }
    let wer = 100.0 * errors as f64 / words as f64;
    println!("{}", report.join("\n"));
    println!("word error rate: {wer:.1}% ({errors}/{words})");
    // tiny.en on espeak-ng voices: 19.9-23.1 % measured on this set over several runs
    // (whisper.cpp's threaded float sums vary a word or two between runs; espeak is hard
    // for Whisper: 12-20 % is what the team measured before). The floor catches
    // regressions (resampling, decoding settings, conversion) without flaking.
    assert!(
        wer <= 28.0,
        "word error rate {wer:.1}% over 28%:\n{}",
        report.join("\n")
    );
}

#[test]
fn silence_noise_and_tones_give_an_empty_transcript() {
    let dir = tempfile::tempdir().unwrap();
    let mut stt = stt();
    let cases: [(&str, &[&str]); 4] = [
        ("silence", &["synth", "3", "sine", "0", "vol", "0"]),
        ("pink-noise", &["synth", "3", "pinknoise", "vol", "0.3"]),
        ("brown-noise", &["synth", "4", "brownnoise", "vol", "0.5"]),
        (
            "chord",
            &[
                "synth", "3", "pluck", "C4", "pluck", "E4", "pluck", "G4", "vol", "0.5",
            ],
        ),
    ];
    for (name, effect) in cases {
        let wav = dir.path().join(format!("{name}.wav"));
        let mut args = vec!["-n", "-r", "16000", "-c", "1", wav.to_str().unwrap()];
        args.extend_from_slice(effect);
        support::run("sox", &args);
        let audio = luna::audio::wav::read(&wav).unwrap();
        let t = stt.transcribe(&audio.samples).unwrap();
        assert_eq!(
            t.text, "",
            "{name} gave {:?} (no-speech {:.2}, logprob {:.2})",
            t.text, t.no_speech_prob, t.avg_logprob
        );
    }
}

#[test]
fn the_model_loads_once_lazily() {
    let mut stt = stt();
    assert!(!stt.is_loaded());
    let silence = vec![0.0; 16_000];
    let first = stt.transcribe(&silence).unwrap();
    assert!(stt.is_loaded());
    assert!(first.load_ms > 0.0);
    let second = stt.transcribe(&silence).unwrap();
    assert_eq!(second.load_ms, 0.0);
}

#[test]
fn a_missing_or_broken_model_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = SttSettings::from_config(&luna::config::Config::defaults().stt);
    settings.model_path = dir.path().join("absent.bin");
    let err = SpeechToText::new(settings.clone())
        .transcribe(&[0.1; 16_000])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("absent.bin") && err.contains("luna model install"),
        "{err}"
    );
    // The right magic, nonsense after it (whisper.cpp itself would abort the process).
    let broken = dir.path().join("broken.bin");
    std::fs::write(
        &broken,
        b"lmgg not really a model, just some bytes to read past",
    )
    .unwrap();
    settings.model_path = broken;
    let err = SpeechToText::new(settings.clone())
        .transcribe(&[0.1; 16_000])
        .unwrap_err()
        .to_string();
    assert!(err.contains("broken.bin"), "{err}");
    // A real model cut in half.
    let real = std::fs::read(model_path()).unwrap();
    let truncated = dir.path().join("truncated.bin");
    std::fs::write(&truncated, &real[..real.len() / 2]).unwrap();
    settings.model_path = truncated;
    let err = SpeechToText::new(settings)
        .transcribe(&[0.1; 16_000])
        .unwrap_err()
        .to_string();
    assert!(err.contains("truncated.bin"), "{err}");
}

/// A speculative transcription abandoned before or while it decodes stops with an empty
/// "abandoned" transcript, and the next one on the same state is exactly as before.
#[test]
fn an_abandoned_transcription_stops_and_leaves_the_model_unharmed() {
    let _one = DECODING.lock().unwrap_or_else(|e| e.into_inner());
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("timer.wav");
    speak(
        "set a timer for five minutes and play some music",
        "en-us",
        160,
        &wav,
    );
    let audio = support::read16(&wav);
    let mut stt = stt();
    let clean = stt.transcribe(&audio).unwrap();
    assert!(!clean.text.is_empty(), "{clean:?}");

    let already = Arc::new(AtomicBool::new(true));
    let skipped = stt.transcribe_unless(&audio, Some(&already), None).unwrap();
    assert_eq!(skipped.dropped.as_deref(), Some(luna::stt::ABANDONED));
    assert!(skipped.text.is_empty());

    let soon = Arc::new(AtomicBool::new(false));
    let setter = {
        let soon = Arc::clone(&soon);
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(15));
            soon.store(true, Ordering::Release);
        })
    };
    let stopped = stt.transcribe_unless(&audio, Some(&soon), None).unwrap();
    setter.join().unwrap();
    assert_eq!(stopped.dropped.as_deref(), Some(luna::stt::ABANDONED));
    assert!(
        stopped.transcribe_ms < clean.transcribe_ms,
        "stopped mid-way: {:.0} ms vs {:.0} ms for the whole",
        stopped.transcribe_ms,
        clean.transcribe_ms
    );

    let again = stt.transcribe(&audio).unwrap();
    assert_eq!(again.text, clean.text, "the state is unharmed");
}
