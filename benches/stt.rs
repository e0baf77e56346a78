//! Speech-to-text latency on synthesized commands (~2.5 s and ~5 s), idle and under a
//! background load like the pipeline's own (capture + VAD + wake word, ~10 % of a
//! core), plus the lazy load's cost and peak RSS. Needs espeak-ng, sox and the model.

use std::hint::black_box;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use luna::config::Config;
use luna::stt::{SpeechToText, SttSettings};

fn speak(text: &str, seconds: f64, dir: &Path) -> Vec<f32> {
    let raw = dir.join("raw.wav");
    let padded = dir.join("padded.wav");
    let ok = Command::new("espeak-ng")
        .args([
            "-v",
            "en-us",
            "-s",
            "150",
            "-w",
            raw.to_str().unwrap(),
            text,
        ])
        .status()
        .expect("espeak-ng")
        .success();
    assert!(ok);
    // Pad with silence to exactly `seconds`, as an endpointed utterance would be.
    let ok = Command::new("sox")
        .args([
            raw.to_str().unwrap(),
            padded.to_str().unwrap(),
            "pad",
            "0.2",
            "3",
            "trim",
            "0",
            &seconds.to_string(),
        ])
        .status()
        .expect("sox")
        .success();
    assert!(ok);
    luna::audio::wav::read(&padded).unwrap().samples
}

/// ~10 % of one core: 5 ms busy, 45 ms asleep.
fn background_load(stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            let until = Instant::now() + Duration::from_millis(5);
            let mut x = 0u64;
            while Instant::now() < until {
                x = black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
            }
            std::thread::sleep(Duration::from_millis(45));
        }
    })
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.to_owned())
        })
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn stt_benches(c: &mut Criterion) {
    let settings = SttSettings::from_config(&Config::defaults().stt);
    assert!(settings.model_path.is_file(), "run `make model` first");
    let dir = tempfile::tempdir().unwrap();
    let short = speak("set a timer for five minutes", 2.5, dir.path());
    let long = speak(
        "remind me to take the laundry out of the machine in twenty minutes",
        5.0,
        dir.path(),
    );

    c.bench_function("stt/load_model", |b| {
        b.iter(|| {
            let mut stt = SpeechToText::new(settings.clone());
            stt.load().unwrap()
        })
    });

    let mut stt = SpeechToText::new(settings.clone());
    stt.load().unwrap();
    println!(
        "transcripts: {:?} / {:?}",
        stt.transcribe(&short).unwrap().text,
        stt.transcribe(&long).unwrap().text
    );
    let mut group = c.benchmark_group("stt");
    group.sample_size(20);
    group.bench_function("transcribe_2.5s_idle", |b| {
        b.iter(|| stt.transcribe(black_box(&short)).unwrap())
    });
    group.bench_function("transcribe_5s_idle", |b| {
        b.iter(|| stt.transcribe(black_box(&long)).unwrap())
    });
    let stop = Arc::new(AtomicBool::new(false));
    let load = background_load(stop.clone());
    group.bench_function("transcribe_2.5s_pipeline_load", |b| {
        b.iter(|| stt.transcribe(black_box(&short)).unwrap())
    });
    group.bench_function("transcribe_5s_pipeline_load", |b| {
        b.iter(|| stt.transcribe(black_box(&long)).unwrap())
    });
    stop.store(true, Ordering::Relaxed);
    load.join().unwrap();
    group.finish();
    println!("peak RSS with the model loaded: {:.0} MB", peak_rss_mb());
}

criterion_group!(benches, stt_benches);
criterion_main!(benches);
