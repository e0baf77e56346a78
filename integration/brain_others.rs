//! The brain on sentences nobody on the team wrote: the development sets in
//! `src/brain/corpus/others/` (written by helpers briefed only with the intent list, as
//! many different people would talk) and CLINC150's test split mapped onto our intents
//! (`src/brain/corpus/clinc_test.jsonl`, by `models/brain/clinc.py`; crowd-written).
//! Neither is trained on. `cargo test --test brain_others -- --nocapture` prints
//! per-set and per-intent accuracy and out-of-domain false accepts;
//! `LUNA_SHOW_FAILURES=1` prints the misses of the even lines (the half we look at when
//! improving the brain; odd lines are held out: only their totals are looked at).
//! `LUNA_THRESHOLD=0.8` measures at another `[brain] confidence_threshold`.

use std::collections::BTreeMap;
use std::sync::Arc;

use luna::brain::{Brain, BrainModel, BrainSettings};

mod support;

#[path = "shared/labelled.rs"]
mod labelled;
use labelled::Labelled;

const SETS: &[(&str, &str)] = &[
    (
        "crowd",
        include_str!("../src/brain/corpus/others/crowd.jsonl"),
    ),
    (
        "household",
        include_str!("../src/brain/corpus/others/household.jsonl"),
    ),
    (
        "entities",
        include_str!("../src/brain/corpus/others/entities.jsonl"),
    ),
    (
        "transcripts",
        include_str!("../src/brain/corpus/others/transcripts.jsonl"),
    ),
    (
        "unknown",
        include_str!("../src/brain/corpus/others/unknown.jsonl"),
    ),
    (
        "clinc_test",
        include_str!("../src/brain/corpus/clinc_test.jsonl"),
    ),
];

#[derive(Default)]
struct Tally {
    in_domain: usize,
    right: usize,
    durations: usize,
    durations_right: usize,
    out_of_domain: usize,
    false_accepts: usize,
}

fn pct(a: usize, b: usize) -> f64 {
    100.0 * a as f64 / b.max(1) as f64
}

#[test]
fn brain_understands_sentences_written_by_others() {
    let mut model = BrainModel::builtin().unwrap();
    // The sentence encoder is part of the brain as installed (`make model`);
    // LUNA_NO_ENCODER=1 measures without it, LUNA_ENCODER_THRESHOLD at another threshold.
    if std::env::var_os("LUNA_NO_ENCODER").is_none() {
        model.load_encoder(&support::encoder_dir()).unwrap();
    }
    let model = Arc::new(model);
    let threshold = std::env::var("LUNA_THRESHOLD")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(BrainSettings::default().confidence_threshold);
    let encoder_threshold = std::env::var("LUNA_ENCODER_THRESHOLD")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(BrainSettings::default().encoder_threshold);
    let mut brain = Brain::new(
        model,
        BrainSettings {
            confidence_threshold: threshold,
            encoder_threshold,
            ..Default::default()
        },
    );
    let show = std::env::var_os("LUNA_SHOW_FAILURES").is_some();
    let mut per_set: BTreeMap<&str, Tally> = BTreeMap::new();
    let mut per_intent: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut held_out = Tally::default();
    for (set, text) in SETS {
        let tally = per_set.entry(set).or_default();
        for (n, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let l: Labelled =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("{set} line {}: {e}", n + 1));
            brain.clear_context();
            let u = brain.understand(&l.text);
            let want: Vec<&str> = l.intents.iter().map(|i| i.intent.as_str()).collect();
            let got: Vec<&str> = u.intents.iter().map(|i| i.intent.as_str()).collect();
            let odd = n % 2 == 1;
            if want == ["unknown"] {
                tally.out_of_domain += 1;
                let accepted = !u.is_unknown();
                tally.false_accepts += accepted as usize;
                if odd {
                    held_out.out_of_domain += 1;
                    held_out.false_accepts += accepted as usize;
                } else if accepted && show {
                    println!("OOD {set}: {:?} → {got:?} [{}]", l.text, u.normalized);
                }
                continue;
            }
            let ok = got == want;
            tally.in_domain += 1;
            tally.right += ok as usize;
            if odd {
                held_out.in_domain += 1;
                held_out.right += ok as usize;
            }
            for (i, w) in l.intents.iter().enumerate() {
                if let Some(d) = w.slots.get("duration_s") {
                    tally.durations += 1;
                    let exact = ok && u.intents[i].slots.get("duration_s") == Some(d);
                    tally.durations_right += exact as usize;
                    if !exact && !odd && show {
                        println!("DURATION {set}: {:?} → {:?}", l.text, u.intents);
                    }
                }
            }
            if want.len() == 1 {
                let e = per_intent.entry(want[0].to_owned()).or_default();
                e.0 += 1;
                e.1 += ok as usize;
            }
            if !ok && !odd && show {
                println!(
                    "MISS {set}: {:?} want {want:?} got {} [{}]",
                    l.text,
                    serde_json::to_string(&u.intents).unwrap(),
                    u.normalized
                );
            }
        }
    }
    let mut all = Tally::default();
    for (set, t) in &per_set {
        println!(
            "{set:<12} in-domain {:>5.1}% ({}/{})  out-of-domain false accepts {:>4.1}% ({}/{})  durations exact {:>5.1}% ({}/{})",
            pct(t.right, t.in_domain),
            t.right,
            t.in_domain,
            pct(t.false_accepts, t.out_of_domain),
            t.false_accepts,
            t.out_of_domain,
            pct(t.durations_right, t.durations),
            t.durations_right,
            t.durations,
        );
        if *set != "clinc_test" {
            all.in_domain += t.in_domain;
            all.right += t.right;
            all.out_of_domain += t.out_of_domain;
            all.false_accepts += t.false_accepts;
            all.durations += t.durations;
            all.durations_right += t.durations_right;
        }
    }
    println!(
        "others' sets together: in-domain {:.1}% ({}/{}), false accepts {:.1}% ({}/{}), durations exact {:.1}% ({}/{})",
        pct(all.right, all.in_domain),
        all.right,
        all.in_domain,
        pct(all.false_accepts, all.out_of_domain),
        all.false_accepts,
        all.out_of_domain,
        pct(all.durations_right, all.durations),
        all.durations_right,
        all.durations
    );
    println!(
        "held-out half (odd lines, all sets): in-domain {:.1}% ({}/{}), false accepts {:.1}% ({}/{})",
        pct(held_out.right, held_out.in_domain),
        held_out.right,
        held_out.in_domain,
        pct(held_out.false_accepts, held_out.out_of_domain),
        held_out.false_accepts,
        held_out.out_of_domain
    );
    for (intent, (n, ok)) in &per_intent {
        println!("  {intent:<18} {:>5.1}% ({ok}/{n})", pct(*ok, *n));
    }

    // Floors a little under what the brain measures (2026-12-05), so a change that
    // loses ground on other people's sentences fails.
    let clinc = &per_set["clinc_test"];
    assert!(
        pct(all.right, all.in_domain) >= FLOOR_OTHERS,
        "others' sets: in-domain below {FLOOR_OTHERS}%"
    );
    assert!(
        pct(all.false_accepts, all.out_of_domain) <= CEILING_FALSE_ACCEPTS,
        "others' sets: false accepts above {CEILING_FALSE_ACCEPTS}%"
    );
    assert!(
        pct(clinc.right, clinc.in_domain) >= FLOOR_CLINC,
        "CLINC150 test: in-domain below {FLOOR_CLINC}%"
    );
    assert!(
        pct(clinc.false_accepts, clinc.out_of_domain) <= CEILING_FALSE_ACCEPTS,
        "CLINC150 test: false accepts above {CEILING_FALSE_ACCEPTS}%"
    );
    assert!(
        pct(all.durations_right, all.durations) >= FLOOR_DURATIONS,
        "timer durations exact below {FLOOR_DURATIONS}%"
    );
}

// Measured 2026-12-06 with the sentence encoder (threshold 0.5) and the near misses
// in training: others' sets 93.0 % at 2.4 % false accepts (held-out half of all sets
// 84.6 % at 2.0 %), CLINC150 test 78.4 % at 1.4 %, durations 100 %. Without the encoder
// (LUNA_NO_ENCODER=1): 90.9 % at 1.1 % (80.5 % at 1.4 %), 73.0 % at 1.0 %. On
// 2026-12-05, before either: 91.6 % at 2.2 % (81.0 % at 2.0 %), 73.8 % at 1.2 %; before
// that day's work 70.9 % at 3.8 %, and 43.4 % at 4.0 %.
const FLOOR_OTHERS: f64 = 91.0;
const FLOOR_CLINC: f64 = 76.0;
const FLOOR_DURATIONS: f64 = 95.0;
const CEILING_FALSE_ACCEPTS: f64 = 3.0;
