//! Wake-word costs: the front end and "hey luna" head per 80 ms hop, and per second of
//! audio (the share of one core the detector takes while listening).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use luna::wake::features::HOP;
use luna::wake::{WakeDetector, WakeSettings};

fn wake(c: &mut Criterion) {
    let mut config = luna::config::Config::defaults().wake;
    config.phrases = vec!["hey luna".into()];
    let settings = WakeSettings::from_config(&config).unwrap();
    let models = luna::wake::load_models(&settings)
        .expect("the wake-word front end is installed (`luna model install`)");
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/integration/fixtures/wake_reference.wav"
    );
    let speech = luna::audio::wav::read(std::path::Path::new(fixture))
        .unwrap()
        .samples;
    let mut detector = WakeDetector::new(models.clone(), &settings).unwrap();
    let mut at = 0;
    c.bench_function("wake/hop_80ms", |b| {
        b.iter(|| {
            if at + HOP > speech.len() {
                at = 0;
            }
            let found = detector.push(black_box(&speech[at..at + HOP])).unwrap();
            at += HOP;
            found
        })
    });
    let second: Vec<f32> = speech.iter().cycle().take(16_000).copied().collect();
    let mut detector = WakeDetector::new(models, &settings).unwrap();
    c.bench_function("wake/one_second_in_20ms_chunks", |b| {
        b.iter(|| {
            let mut n = 0;
            for chunk in second.chunks(320) {
                n += detector.push(black_box(chunk)).unwrap().len();
            }
            n
        })
    });
}

criterion_group!(benches, wake);
criterion_main!(benches);
