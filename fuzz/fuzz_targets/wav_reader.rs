//! Any bytes offered as a WAV file: a clear error or 16 kHz samples in [-1, 1], never
//! a panic, a hang or an allocation the input does not pay for.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(audio) = luna::audio::wav::read_from(std::io::Cursor::new(data), "fuzz.wav") {
        assert!(!audio.samples.is_empty());
        assert!(audio
            .samples
            .iter()
            .all(|s| s.is_finite() && s.abs() <= 1.0 + 1e-3));
    }
});
