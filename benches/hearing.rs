//! Hearing costs: the capture callback's work per buffer (downmix + lock-free push),
//! resampling, and voice detection per second of audio.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use luna::audio::capture::downmix_into_ring;
use luna::audio::resample::{resample, StreamResampler};
use luna::vad::{Endpointer, VadSettings};

/// A second of speech-like audio: a buzzy vowel that comes and goes, over noise.
fn speechlike(rate: u32, seconds: f32) -> Vec<f32> {
    let mut seed = 1u32;
    (0..(rate as f32 * seconds) as usize)
        .map(|i| {
            let t = i as f32 / rate as f32;
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let noise = (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
            let on = if (t * 2.0).fract() < 0.6 { 1.0 } else { 0.0 };
            let voice: f32 = (1..8)
                .map(|h| (2.0 * std::f32::consts::PI * 140.0 * h as f32 * t).sin() / h as f32)
                .sum();
            on * 0.15 * voice + 0.01 * noise
        })
        .collect()
}

fn hearing(c: &mut Criterion) {
    // A 10 ms stereo i16 buffer at 48 kHz, as ALSA hands it to the callback.
    let buffer: Vec<i16> = (0..960).map(|i| ((i * 37) % 2000) as i16 - 1000).collect();
    let (mut producer, mut consumer) = rtrb::RingBuffer::<f32>::new(48_000);
    c.bench_function("capture/callback_10ms_stereo_48k", |b| {
        b.iter(|| {
            let pushed = downmix_into_ring(black_box(&buffer), 2, &mut producer);
            // Keep the ring from filling (the reader's job, not timed work of the callback).
            if let Ok(chunk) = consumer.read_chunk(pushed) {
                chunk.commit_all();
            }
            pushed
        })
    });

    let second_48k = speechlike(48_000, 1.0);
    c.bench_function("resample/1s_48k_to_16k", |b| {
        b.iter(|| resample(black_box(&second_48k), 48_000, 16_000).unwrap())
    });
    c.bench_function("resample/1s_44k1_to_16k_streaming_10ms_chunks", |b| {
        let input = speechlike(44_100, 1.0);
        b.iter(|| {
            let mut r = StreamResampler::new(44_100, 16_000).unwrap();
            let mut out = Vec::with_capacity(16_000);
            for chunk in input.chunks(441) {
                r.push(chunk, &mut out);
            }
            out
        })
    });

    let ten_seconds = speechlike(16_000, 10.0);
    c.bench_function("vad/endpointer_10s", |b| {
        b.iter(|| {
            let mut e = Endpointer::new(VadSettings::default());
            let mut n = 0;
            for chunk in ten_seconds.chunks(320) {
                n += e.push(chunk).len();
            }
            n
        })
    });
}

criterion_group!(benches, hearing);
criterion_main!(benches);
