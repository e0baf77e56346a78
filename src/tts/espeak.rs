//! The espeak-ng synthesizer, through its C library (libespeak-ng, bindings from
//! `espeakng-sys`). The library keeps one voice and one set of parameters for the
//! whole process, so one `Mutex` owns it: a synthesis sets the voice and rate it
//! wants, then runs to the end (or until told to stop) while holding the lock.
//!
//! Synchronous mode: `espeak_Synth` returns when the text is spoken, after handing the
//! samples to our callback in pieces; the callback asks to stop when the caller's
//! `stop` says so (an interrupted reply is not synthesized to its end).

use std::ffi::{c_int, c_short, c_void, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Mutex, OnceLock};

use espeakng_sys as sys;

use super::{TtsError, Voice};

/// What the library gave us at start: its sample rate, or why it could not start.
static ENGINE: OnceLock<Result<Engine, String>> = OnceLock::new();

struct Engine {
    rate: u32,
    /// Held for a whole synthesis: the library's voice, parameters and callback are
    /// process-global.
    lock: Mutex<()>,
}

fn engine() -> Result<&'static Engine, TtsError> {
    ENGINE
        .get_or_init(|| {
            // SAFETY: called once (OnceLock); a null path means the system data
            // (espeak-ng-data); DONT_EXIT makes a missing data directory an error
            // return instead of exit(1).
            let rate = unsafe {
                sys::espeak_Initialize(
                    sys::espeak_AUDIO_OUTPUT_AUDIO_OUTPUT_SYNCHRONOUS,
                    0,
                    std::ptr::null(),
                    sys::espeakINITIALIZE_DONT_EXIT as c_int,
                )
            };
            if rate <= 0 {
                return Err("libespeak-ng could not start: is espeak-ng-data installed?".to_owned());
            }
            // SAFETY: a plain function pointer that lives as long as the program.
            unsafe { sys::espeak_SetSynthCallback(Some(on_samples)) };
            Ok(Engine {
                rate: rate as u32,
                lock: Mutex::new(()),
            })
        })
        .as_ref()
        .map_err(|e| TtsError::Missing(e.clone()))
}

/// Where one synthesis collects its samples; the callback finds it through the
/// `user_data` pointer of the events it is given.
struct Collector<'a> {
    samples: Vec<i16>,
    stop: &'a dyn Fn() -> bool,
}

unsafe extern "C" fn on_samples(
    wav: *mut c_short,
    count: c_int,
    events: *mut sys::espeak_EVENT,
) -> c_int {
    // Never unwind into C.
    catch_unwind(AssertUnwindSafe(|| {
        if events.is_null() {
            return 1;
        }
        // SAFETY: the library passes the user_data we gave espeak_Synth, which points
        // at a Collector that outlives the synthesis (see `synthesize`).
        let collector = unsafe { &mut *((*events).user_data as *mut Collector) };
        if !wav.is_null() && count > 0 {
            // SAFETY: the library hands us `count` samples at `wav`.
            let chunk = unsafe { std::slice::from_raw_parts(wav, count as usize) };
            collector.samples.extend_from_slice(chunk);
        }
        c_int::from((collector.stop)())
    }))
    .unwrap_or(1)
}

/// Speaks `text` with `voice` into 16-bit mono samples at the returned rate. Stops early
/// (returning what it has) when `stop` becomes true. The text is data: no SSML, no
/// phoneme input, no shell.
pub fn synthesize(
    text: &str,
    voice: &Voice,
    stop: &dyn Fn() -> bool,
) -> Result<(Vec<i16>, u32), TtsError> {
    let engine = engine()?;
    // A NUL would end the C string early; it is not speech anyway.
    let text = CString::new(text.replace('\0', " ")).expect("NULs replaced");
    let name = CString::new(voice.voice.replace('\0', ""))
        .map_err(|_| TtsError::Failed("bad voice name".into()))?;
    let _guard = engine
        .lock
        .lock()
        .unwrap_or_else(|poison| poison.into_inner());
    // SAFETY: the library is initialized and we hold its lock; the strings outlive the calls.
    let status = unsafe { sys::espeak_SetVoiceByName(name.as_ptr()) };
    if status != sys::espeak_ERROR_EE_OK {
        return Err(TtsError::Failed(format!(
            "espeak-ng has no voice {:?} (espeak-ng --voices lists them)",
            voice.voice
        )));
    }
    let wpm = voice.words_per_minute.clamp(80, 450) as c_int;
    // SAFETY: as above.
    unsafe { sys::espeak_SetParameter(sys::espeak_PARAMETER_espeakRATE, wpm, 0) };
    let mut collector = Collector {
        samples: Vec::new(),
        stop,
    };
    let bytes = text.as_bytes_with_nul();
    // SAFETY: the text is NUL-terminated and its size given; `collector` lives on this
    // frame until espeak_Synth returns (synchronous mode calls back only inside it).
    let status = unsafe {
        sys::espeak_Synth(
            bytes.as_ptr().cast::<c_void>(),
            bytes.len(),
            0,
            sys::espeak_POSITION_TYPE_POS_CHARACTER,
            0,
            sys::espeakCHARS_UTF8,
            std::ptr::null_mut(),
            (&mut collector as *mut Collector).cast::<c_void>(),
        )
    };
    if status != sys::espeak_ERROR_EE_OK {
        return Err(TtsError::Failed(format!(
            "espeak-ng could not synthesize (error {status})"
        )));
    }
    Ok((collector.samples, engine.rate))
}

/// The library's version, for `luna doctor`.
pub fn version() -> Result<String, TtsError> {
    engine()?;
    let mut path: *const std::ffi::c_char = std::ptr::null();
    // SAFETY: returns a static string; `path` receives a pointer to static data.
    let version = unsafe { std::ffi::CStr::from_ptr(sys::espeak_Info(&mut path)) };
    Ok(version.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn never() -> bool {
        false
    }

    #[test]
    fn speaks_text_into_samples() {
        let (samples, rate) =
            synthesize("Timer set for five minutes.", &Voice::default(), &never).unwrap();
        assert_eq!(rate, 22_050);
        let seconds = samples.len() as f32 / rate as f32;
        assert!((1.0..4.0).contains(&seconds), "{seconds} s");
        let peak = samples.iter().map(|s| s.unsigned_abs()).max().unwrap();
        assert!(peak > 3000, "peak {peak}");
    }

    #[test]
    fn a_faster_rate_speaks_faster_and_voices_are_checked() {
        let slow = Voice {
            words_per_minute: 120,
            ..Voice::default()
        };
        let fast = Voice {
            words_per_minute: 300,
            ..Voice::default()
        };
        let text = "The quick brown fox jumps over the lazy dog.";
        let (a, _) = synthesize(text, &slow, &never).unwrap();
        let (b, _) = synthesize(text, &fast, &never).unwrap();
        assert!(a.len() > b.len() * 2, "{} vs {}", a.len(), b.len());
        let bad = Voice {
            voice: "no-such-voice".into(),
            ..Voice::default()
        };
        let err = synthesize(text, &bad, &never).unwrap_err();
        assert!(err.to_string().contains("no-such-voice"), "{err}");
    }

    #[test]
    fn stops_when_told() {
        let text = "one two three four five six seven eight nine ten. ".repeat(20);
        let (whole, _) = synthesize(&text, &Voice::default(), &never).unwrap();
        let (cut, _) = synthesize(&text, &Voice::default(), &|| true).unwrap();
        assert!(
            cut.len() * 10 < whole.len(),
            "{} of {}",
            cut.len(),
            whole.len()
        );
    }

    #[test]
    fn synthesizes_from_many_threads_at_once() {
        let threads: Vec<_> = ["one", "two two", "three three three"]
            .into_iter()
            .map(|t| {
                std::thread::spawn(move || {
                    synthesize(t, &Voice::default(), &never).unwrap().0.len()
                })
            })
            .collect();
        let lens: Vec<usize> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        assert!(lens[0] < lens[1] && lens[1] < lens[2], "{lens:?}");
    }
}
