//! Brain latency: the fast path, the fallback, the sentence encoder and a parse-cache hit.
//! `make bench` (or `cargo bench --bench brain`); report medians with the machine.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use luna::brain::{Brain, BrainModel, BrainSettings, Source};

fn brain_benches(c: &mut Criterion) {
    let model = Arc::new(BrainModel::builtin().expect("built-in brain"));
    let mut brain = Brain::new(Arc::clone(&model), BrainSettings::default());

    let fast = "Hey Luna, set a timer for five minutes.";
    assert_eq!(
        brain.parse_uncached(fast).clauses[0].source,
        Source::FastPath
    );
    c.bench_function("brain/fast_path_parse", |b| {
        b.iter(|| brain.parse_uncached(black_box(fast)))
    });

    let paraphrase = "the sound could go up a little";
    assert_eq!(
        brain.parse_uncached(paraphrase).clauses[0].source,
        Source::Fallback
    );
    c.bench_function("brain/fallback_parse", |b| {
        b.iter(|| brain.parse_uncached(black_box(paraphrase)))
    });

    let multi = "open firefox and play some music then set a timer for 10 minutes";
    c.bench_function("brain/multi_intent_parse", |b| {
        b.iter(|| brain.parse_uncached(black_box(multi)))
    });

    brain.parse(fast);
    c.bench_function("brain/parse_cache_hit", |b| {
        b.iter(|| brain.parse(black_box(fast)))
    });

    c.bench_function("brain/understand_cached", |b| {
        b.iter(|| brain.understand(black_box(fast)))
    });

    c.bench_function("brain/train_model", |b| {
        b.iter(|| BrainModel::builtin().unwrap())
    });

    // What every start after the first pays: the trained classifier read from the cache.
    let cache = tempfile::tempdir().expect("cache dir");
    let cached = || {
        BrainModel::build_cached(
            luna::brain::Grammar::builtin().unwrap(),
            luna::brain::classifier::DEFAULT_EXAMPLES,
            "config/brain_examples.toml",
            luna::brain::AppCatalog::builtin(),
            cache.path(),
        )
        .unwrap()
    };
    cached();
    c.bench_function("brain/model_from_cache", |b| b.iter(cached));

    // Typed slips corrected, the grammar asked again (`spelling`).
    let slipped = "set timr for 25 minits";
    c.bench_function("brain/typed_slip_parse", |b| {
        b.iter(|| brain.parse_uncached(black_box(slipped)))
    });

    // An utterance understood only by finding the command inside it.
    let rescued = "i'm cooking so could you put on some motown";
    c.bench_function("brain/rescue_parse", |b| {
        b.iter(|| brain.parse_uncached(black_box(rescued)))
    });

    // A sentence nothing else understood, answered by the sentence encoder (when
    // `luna model install` has installed it).
    let dir = luna::brain::encoder::default_dir();
    if !luna::brain::install::installed(&dir) {
        eprintln!(
            "brain/encoder_*: skipped, no sentence encoder in {}",
            dir.display()
        );
        return;
    }
    let mut with_encoder = BrainModel::builtin().expect("built-in brain");
    with_encoder.load_encoder(&dir).expect("sentence encoder");
    let brain = Brain::new(Arc::new(with_encoder), BrainSettings::default());
    let only_the_encoder = "it would be lovely to hear things a touch more loudly";
    assert_eq!(
        brain.parse_uncached(only_the_encoder).clauses[0].source,
        Source::Encoder
    );
    // Twelve tokens, as in every earlier run of this bench.
    let unusual = "i fancy hearing something by the beatles";
    let encoder = &brain.model().encoder.as_ref().unwrap().encoder;
    for (name, text) in [
        ("brain/embed_3_tokens", "hi"),
        ("brain/embed_12_tokens", unusual),
    ] {
        c.bench_function(name, |b| b.iter(|| encoder.embed(black_box(text)).unwrap()));
    }
    c.bench_function("brain/encoder_parse", |b| {
        b.iter(|| brain.parse_uncached(black_box(only_the_encoder)))
    });
    // Said in three sentences, none a command: the whole, then each piece between stops
    // (`normalize::pieces`) is looked at; the encoder only for the whole.
    let talk = "Well, I was at the market today. The tomatoes looked great, honestly. Anyway.";
    assert!(brain.parse_uncached(talk).clauses[0].intent.is_unknown());
    c.bench_function("brain/unknown_in_sentences_parse", |b| {
        b.iter(|| brain.parse_uncached(black_box(talk)))
    });
    let long = "so i was wondering whether you could possibly find me something by the beatles, \
                maybe one of the older albums, the ones my dad used to play on sunday mornings";
    c.bench_function("brain/encoder_parse_long", |b| {
        b.iter(|| brain.parse_uncached(black_box(long)))
    });
    // A request inside a story of 30 words: every span searched (grammar, then the
    // encoder on the whole, then the classifier on the short spans).
    let story = "the vicar popped in earlier and we had a lovely long chat about the church \
                 roof and the bake sale, so i'd quite like to pause the music for a bit if \
                 that's alright with you";
    c.bench_function("brain/request_in_story_parse", |b| {
        b.iter(|| brain.parse_uncached(black_box(story)))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50);
    targets = brain_benches
}
criterion_main!(benches);
