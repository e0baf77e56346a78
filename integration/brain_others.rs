//! The brain on sentences nobody on the team wrote: the development sets in
//! `src/brain/corpus/others/` (written by helpers briefed only with the intent list, as
//! many different people would talk) and CLINC150's test split mapped onto our intents
//! (`src/brain/corpus/clinc_test.jsonl`, by `models/brain/clinc.py`; crowd-written).
//! Since 2026-12-08 the development sets' even lines are training sentences
//! (`config/brain_examples_others.toml`); odd lines, the sealed sets and CLINC150's test
//! split never are (checked below). `cargo test --test brain_others -- --nocapture` prints
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

/// (group, set, lines). `others` and `clinc` are the development sets the brain was
/// improved against (even lines looked at); `unseen` was written on 2026-12-06 by three
/// more helpers briefed only with the intent list, in three more ways of asking (a
/// spoken study, a home hub's users, crowd workers typing), frozen before any change
/// it measures; `fresh` likewise on 2026-12-07, in three other ways (Whisper's
/// transcripts of people at home, people who do not talk like developers, requests
/// full of specifics). `sealed` was written at the end of 2026-12-07, after that day's
/// changes, and only its totals are ever looked at: its misses are not printed.
/// `blind` was written at the start of 2026-12-07's second session, frozen before it
/// changed anything (timers and their durations, a one-task survey, rooms and devices).
/// `styles` (busy people; clipped keyword style and wordy older speakers) was written
/// to be sealed the same session, measured once, and opened when it showed a style
/// nothing covered; `sealed3` was written then in the same styles and, like `sealed`,
/// is never printed. `scenes` (crowd-study scenarios; learners, kids and older
/// speakers) and `sealed4` (the same two angles, by two other helpers, written first
/// and never printed) are 2026-12-07's third session's; `world` (regional Englishes;
/// requests full of specifics) and `sealed5` (the same angles, written first, never
/// printed) its fourth's; `talk` (wordy speakers, clipped keyword speech, Whisper's
/// transcripts with their slips) and `sealed6` (the same angles, written first, never
/// printed) its fifth's; `edge` (the border of what LUNA does: commands touching
/// domains it does not handle, a smart home's devices) and `sealed7` (the same angles,
/// written first, never printed) its sixth's; `ask` (people who ask rather than command;
/// every intent equally) and `sealed8` (the same angles, written first, never printed)
/// 2026-12-07's seventh; `slots` (times and dates in every form; requests full of real
/// names) and `sealed9` (the same angles, written first, never printed) its eighth.
const SETS: &[(&str, &str, &str)] = &[
    (
        "others",
        "crowd",
        include_str!("../src/brain/corpus/others/crowd.jsonl"),
    ),
    (
        "others",
        "household",
        include_str!("../src/brain/corpus/others/household.jsonl"),
    ),
    (
        "others",
        "entities",
        include_str!("../src/brain/corpus/others/entities.jsonl"),
    ),
    (
        "others",
        "transcripts",
        include_str!("../src/brain/corpus/others/transcripts.jsonl"),
    ),
    (
        "others",
        "unknown",
        include_str!("../src/brain/corpus/others/unknown.jsonl"),
    ),
    (
        "clinc",
        "clinc_test",
        include_str!("../src/brain/corpus/clinc_test.jsonl"),
    ),
    (
        "unseen",
        "study",
        include_str!("../src/brain/corpus/unseen/study.jsonl"),
    ),
    (
        "unseen",
        "study_unknown",
        include_str!("../src/brain/corpus/unseen/study_unknown.jsonl"),
    ),
    (
        "unseen",
        "hub",
        include_str!("../src/brain/corpus/unseen/hub.jsonl"),
    ),
    (
        "unseen",
        "hub_unknown",
        include_str!("../src/brain/corpus/unseen/hub_unknown.jsonl"),
    ),
    (
        "unseen",
        "crowd2",
        include_str!("../src/brain/corpus/unseen/crowd2.jsonl"),
    ),
    (
        "unseen",
        "crowd2_unknown",
        include_str!("../src/brain/corpus/unseen/crowd2_unknown.jsonl"),
    ),
    (
        "fresh",
        "spoken",
        include_str!("../src/brain/corpus/fresh/spoken.jsonl"),
    ),
    (
        "fresh",
        "spoken_unknown",
        include_str!("../src/brain/corpus/fresh/spoken_unknown.jsonl"),
    ),
    (
        "fresh",
        "people",
        include_str!("../src/brain/corpus/fresh/people.jsonl"),
    ),
    (
        "fresh",
        "people_unknown",
        include_str!("../src/brain/corpus/fresh/people_unknown.jsonl"),
    ),
    (
        "fresh",
        "specific",
        include_str!("../src/brain/corpus/fresh/specific.jsonl"),
    ),
    (
        "fresh",
        "specific_unknown",
        include_str!("../src/brain/corpus/fresh/specific_unknown.jsonl"),
    ),
    (
        "sealed",
        "home",
        include_str!("../src/brain/corpus/sealed/home.jsonl"),
    ),
    (
        "sealed",
        "home_unknown",
        include_str!("../src/brain/corpus/sealed/home_unknown.jsonl"),
    ),
    (
        "sealed",
        "typed",
        include_str!("../src/brain/corpus/sealed/typed.jsonl"),
    ),
    (
        "sealed",
        "typed_unknown",
        include_str!("../src/brain/corpus/sealed/typed_unknown.jsonl"),
    ),
    (
        "blind",
        "timers",
        include_str!("../src/brain/corpus/blind/timers.jsonl"),
    ),
    (
        "blind",
        "timers_unknown",
        include_str!("../src/brain/corpus/blind/timers_unknown.jsonl"),
    ),
    (
        "blind",
        "survey",
        include_str!("../src/brain/corpus/blind/survey.jsonl"),
    ),
    (
        "blind",
        "survey_unknown",
        include_str!("../src/brain/corpus/blind/survey_unknown.jsonl"),
    ),
    (
        "blind",
        "rooms",
        include_str!("../src/brain/corpus/blind/rooms.jsonl"),
    ),
    (
        "blind",
        "rooms_unknown",
        include_str!("../src/brain/corpus/blind/rooms_unknown.jsonl"),
    ),
    (
        "styles",
        "busy",
        include_str!("../src/brain/corpus/styles/busy.jsonl"),
    ),
    (
        "styles",
        "busy_unknown",
        include_str!("../src/brain/corpus/styles/busy_unknown.jsonl"),
    ),
    (
        "styles",
        "terse",
        include_str!("../src/brain/corpus/styles/terse.jsonl"),
    ),
    (
        "styles",
        "terse_unknown",
        include_str!("../src/brain/corpus/styles/terse_unknown.jsonl"),
    ),
    (
        "sealed3",
        "clipped",
        include_str!("../src/brain/corpus/sealed3/clipped.jsonl"),
    ),
    (
        "sealed3",
        "clipped_unknown",
        include_str!("../src/brain/corpus/sealed3/clipped_unknown.jsonl"),
    ),
    (
        "sealed3",
        "homes",
        include_str!("../src/brain/corpus/sealed3/homes.jsonl"),
    ),
    (
        "sealed3",
        "homes_unknown",
        include_str!("../src/brain/corpus/sealed3/homes_unknown.jsonl"),
    ),
    (
        "scenes",
        "crowd3",
        include_str!("../src/brain/corpus/scenes/crowd.jsonl"),
    ),
    (
        "scenes",
        "crowd3_unknown",
        include_str!("../src/brain/corpus/scenes/crowd_unknown.jsonl"),
    ),
    (
        "scenes",
        "learners",
        include_str!("../src/brain/corpus/scenes/learners.jsonl"),
    ),
    (
        "scenes",
        "learners_unknown",
        include_str!("../src/brain/corpus/scenes/learners_unknown.jsonl"),
    ),
    (
        "sealed4",
        "scenario",
        include_str!("../src/brain/corpus/sealed4/scenario.jsonl"),
    ),
    (
        "sealed4",
        "scenario_unknown",
        include_str!("../src/brain/corpus/sealed4/scenario_unknown.jsonl"),
    ),
    (
        "sealed4",
        "learners4",
        include_str!("../src/brain/corpus/sealed4/learners.jsonl"),
    ),
    (
        "sealed4",
        "learners4_unknown",
        include_str!("../src/brain/corpus/sealed4/learners_unknown.jsonl"),
    ),
    (
        "world",
        "regional",
        include_str!("../src/brain/corpus/world/regional.jsonl"),
    ),
    (
        "world",
        "regional_unknown",
        include_str!("../src/brain/corpus/world/regional_unknown.jsonl"),
    ),
    (
        "world",
        "detailed",
        include_str!("../src/brain/corpus/world/detailed.jsonl"),
    ),
    (
        "world",
        "detailed_unknown",
        include_str!("../src/brain/corpus/world/detailed_unknown.jsonl"),
    ),
    (
        "sealed5",
        "regional5",
        include_str!("../src/brain/corpus/sealed5/regional.jsonl"),
    ),
    (
        "sealed5",
        "regional5_unknown",
        include_str!("../src/brain/corpus/sealed5/regional_unknown.jsonl"),
    ),
    (
        "sealed5",
        "detailed5",
        include_str!("../src/brain/corpus/sealed5/detailed.jsonl"),
    ),
    (
        "sealed5",
        "detailed5_unknown",
        include_str!("../src/brain/corpus/sealed5/detailed_unknown.jsonl"),
    ),
    (
        "talk",
        "talk_wordy",
        include_str!("../src/brain/corpus/talk/wordy.jsonl"),
    ),
    (
        "talk",
        "talk_wordy_unknown",
        include_str!("../src/brain/corpus/talk/wordy_unknown.jsonl"),
    ),
    (
        "talk",
        "talk_clipped",
        include_str!("../src/brain/corpus/talk/clipped.jsonl"),
    ),
    (
        "talk",
        "talk_clipped_unknown",
        include_str!("../src/brain/corpus/talk/clipped_unknown.jsonl"),
    ),
    (
        "talk",
        "talk_slips",
        include_str!("../src/brain/corpus/talk/slips.jsonl"),
    ),
    (
        "talk",
        "talk_slips_unknown",
        include_str!("../src/brain/corpus/talk/slips_unknown.jsonl"),
    ),
    (
        "sealed6",
        "wordy6",
        include_str!("../src/brain/corpus/sealed6/wordy.jsonl"),
    ),
    (
        "sealed6",
        "wordy6_unknown",
        include_str!("../src/brain/corpus/sealed6/wordy_unknown.jsonl"),
    ),
    (
        "sealed6",
        "clipped6",
        include_str!("../src/brain/corpus/sealed6/clipped.jsonl"),
    ),
    (
        "sealed6",
        "clipped6_unknown",
        include_str!("../src/brain/corpus/sealed6/clipped_unknown.jsonl"),
    ),
    (
        "sealed6",
        "slips6",
        include_str!("../src/brain/corpus/sealed6/slips.jsonl"),
    ),
    (
        "sealed6",
        "slips6_unknown",
        include_str!("../src/brain/corpus/sealed6/slips_unknown.jsonl"),
    ),
    (
        "edge",
        "edge_border",
        include_str!("../src/brain/corpus/edge/border.jsonl"),
    ),
    (
        "edge",
        "edge_border_unknown",
        include_str!("../src/brain/corpus/edge/border_unknown.jsonl"),
    ),
    (
        "edge",
        "edge_devices",
        include_str!("../src/brain/corpus/edge/devices.jsonl"),
    ),
    (
        "edge",
        "edge_devices_unknown",
        include_str!("../src/brain/corpus/edge/devices_unknown.jsonl"),
    ),
    (
        "sealed7",
        "border7",
        include_str!("../src/brain/corpus/sealed7/border.jsonl"),
    ),
    (
        "sealed7",
        "border7_unknown",
        include_str!("../src/brain/corpus/sealed7/border_unknown.jsonl"),
    ),
    (
        "sealed7",
        "devices7",
        include_str!("../src/brain/corpus/sealed7/devices.jsonl"),
    ),
    (
        "sealed7",
        "devices7_unknown",
        include_str!("../src/brain/corpus/sealed7/devices_unknown.jsonl"),
    ),
    (
        "ask",
        "ask_asked",
        include_str!("../src/brain/corpus/ask/asked.jsonl"),
    ),
    (
        "ask",
        "ask_asked_unknown",
        include_str!("../src/brain/corpus/ask/asked_unknown.jsonl"),
    ),
    (
        "ask",
        "ask_even",
        include_str!("../src/brain/corpus/ask/even.jsonl"),
    ),
    (
        "ask",
        "ask_even_unknown",
        include_str!("../src/brain/corpus/ask/even_unknown.jsonl"),
    ),
    (
        "sealed8",
        "asked8",
        include_str!("../src/brain/corpus/sealed8/asked.jsonl"),
    ),
    (
        "sealed8",
        "asked8_unknown",
        include_str!("../src/brain/corpus/sealed8/asked_unknown.jsonl"),
    ),
    (
        "sealed8",
        "even8",
        include_str!("../src/brain/corpus/sealed8/even.jsonl"),
    ),
    (
        "sealed8",
        "even8_unknown",
        include_str!("../src/brain/corpus/sealed8/even_unknown.jsonl"),
    ),
    (
        "slots",
        "slots_times",
        include_str!("../src/brain/corpus/slots/times.jsonl"),
    ),
    (
        "slots",
        "slots_times_unknown",
        include_str!("../src/brain/corpus/slots/times_unknown.jsonl"),
    ),
    (
        "slots",
        "slots_names",
        include_str!("../src/brain/corpus/slots/names.jsonl"),
    ),
    (
        "slots",
        "slots_names_unknown",
        include_str!("../src/brain/corpus/slots/names_unknown.jsonl"),
    ),
    (
        "sealed9",
        "times9",
        include_str!("../src/brain/corpus/sealed9/times.jsonl"),
    ),
    (
        "sealed9",
        "times9_unknown",
        include_str!("../src/brain/corpus/sealed9/times_unknown.jsonl"),
    ),
    (
        "sealed9",
        "names9",
        include_str!("../src/brain/corpus/sealed9/names.jsonl"),
    ),
    (
        "sealed9",
        "names9_unknown",
        include_str!("../src/brain/corpus/sealed9/names_unknown.jsonl"),
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

impl Tally {
    fn add(&mut self, t: &Tally) {
        self.in_domain += t.in_domain;
        self.right += t.right;
        self.out_of_domain += t.out_of_domain;
        self.false_accepts += t.false_accepts;
        self.durations += t.durations;
        self.durations_right += t.durations_right;
    }

    fn summary(&self) -> String {
        format!(
            "in-domain {:.1}% ({}/{}), false accepts {:.1}% ({}/{}), durations exact {:.1}% ({}/{})",
            pct(self.right, self.in_domain),
            self.right,
            self.in_domain,
            pct(self.false_accepts, self.out_of_domain),
            self.false_accepts,
            self.out_of_domain,
            pct(self.durations_right, self.durations),
            self.durations_right,
            self.durations
        )
    }
}

/// The development sets' even lines are training sentences
/// (`config/brain_examples_others.toml`, by `models/brain/others_examples.py`); their odd
/// lines, the sealed sets and CLINC150's test split must never be, or the figures above
/// measure memory.
#[test]
fn held_out_lines_are_never_trained_on() {
    let training: toml::Table =
        toml::from_str(include_str!("../config/brain_examples_others.toml")).unwrap();
    let trained: std::collections::HashSet<String> = training
        .values()
        .flat_map(|v| v["examples"].as_array().unwrap().iter())
        .map(|e| e.as_str().unwrap().to_lowercase())
        .collect();
    assert!(trained.len() > 5000, "{} training sentences", trained.len());
    // (group, set, line number, text, intents), numbered as the scoring numbers them.
    let lines: Vec<(&str, &str, usize, String, usize)> = SETS
        .iter()
        .flat_map(|(group, set, lines)| {
            lines
                .lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty())
                .map(move |(n, line)| {
                    let l: Labelled = serde_json::from_str(line).unwrap();
                    let words: Vec<&str> = l.text.split_whitespace().collect();
                    let text = words.join(" ").to_lowercase();
                    (*group, *set, n, text, l.intents.len())
                })
        })
        .collect();
    let development = |group: &str| !group.starts_with("sealed") && group != "clinc";
    let even: std::collections::HashSet<&str> = lines
        .iter()
        .filter(|(group, _, n, _, _)| development(group) && n % 2 == 0)
        .map(|(_, _, _, text, _)| text.as_str())
        .collect();
    let mut held_out = 0;
    // (A sentence written twice, once on an even line, is trained on.)
    for (_, set, n, text, _) in lines
        .iter()
        .filter(|(_, _, _, t, _)| !even.contains(t.as_str()))
    {
        held_out += 1;
        assert!(
            !trained.contains(text),
            "{set} line {n} is held out but in the training sentences"
        );
    }
    assert!(held_out > 9000, "{held_out} held-out lines");
    let stray = trained
        .iter()
        .filter(|t| !even.contains(t.as_str()))
        .count();
    // And every even line of one intent is there: a set added or changed since the file
    // was made means `python3 models/brain/others_examples.py` (and the encoder head).
    let single: std::collections::HashSet<&str> = lines
        .iter()
        .filter(|(group, _, n, _, intents)| development(group) && n % 2 == 0 && *intents == 1)
        .map(|(_, _, _, text, _)| text.as_str())
        .collect();
    assert_eq!(
        single.len(),
        trained.len(),
        "config/brain_examples_others.toml is not made from today's development sets"
    );
    assert_eq!(
        stray, 0,
        "training sentences that are no development set's even line"
    );
    // The sentences helpers wrote for training are no evaluation line at all.
    let helpers: toml::Table =
        toml::from_str(include_str!("../config/brain_examples_helpers.toml")).unwrap();
    let evaluation: std::collections::HashSet<&str> = lines
        .iter()
        .map(|(_, _, _, text, _)| text.as_str())
        .collect();
    let written: Vec<String> = helpers
        .values()
        .flat_map(|v| v["examples"].as_array().unwrap().iter())
        .map(|e| {
            e.as_str()
                .unwrap()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .to_lowercase()
        })
        .collect();
    assert!(written.len() > 7000, "{} helpers' sentences", written.len());
    for text in &written {
        assert!(
            !evaluation.contains(text.as_str()),
            "an evaluation line is in config/brain_examples_helpers.toml: {text:?}"
        );
    }
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
    let show_failures = std::env::var_os("LUNA_SHOW_FAILURES").is_some();
    let mut per_set: BTreeMap<&str, Tally> = BTreeMap::new();
    let mut per_group: BTreeMap<&str, Tally> = BTreeMap::new();
    let mut per_intent: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut held_out_per_group: BTreeMap<&str, Tally> = BTreeMap::new();
    for (group, set, text) in SETS {
        // The sealed sets' misses are never printed: read, they would stop measuring.
        let show = show_failures && !group.starts_with("sealed");
        let tally = per_set.entry(set).or_default();
        let held_out = held_out_per_group.entry(group).or_default();
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
                    if odd {
                        held_out.durations += 1;
                        held_out.durations_right += exact as usize;
                    }
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
    for (group, set, _) in SETS {
        per_group.entry(group).or_default().add(&per_set[set]);
    }
    for (set, t) in &per_set {
        println!("{set:<14} {}", t.summary());
    }
    for (group, t) in &per_group {
        println!("{group} sets together: {}", t.summary());
    }
    // The odd lines are held out: only their totals are looked at. Others' and CLINC's
    // together is the figure the brain's notes have tracked since 2026-12-05.
    let mut older = Tally::default();
    for group in ["others", "clinc"] {
        older.add(&held_out_per_group[group]);
    }
    for (name, t) in [
        ("others' and CLINC150's sets", &older),
        ("unseen sets", &held_out_per_group["unseen"]),
        ("fresh sets", &held_out_per_group["fresh"]),
        ("blind sets", &held_out_per_group["blind"]),
        ("style sets", &held_out_per_group["styles"]),
        ("scene sets", &held_out_per_group["scenes"]),
        ("world sets", &held_out_per_group["world"]),
        ("talk sets", &held_out_per_group["talk"]),
        ("edge sets", &held_out_per_group["edge"]),
        ("ask sets", &held_out_per_group["ask"]),
    ] {
        println!("held-out half (odd lines) of {name}: {}", t.summary());
    }
    for (intent, (n, ok)) in &per_intent {
        println!("  {intent:<18} {:>5.1}% ({ok}/{n})", pct(*ok, *n));
    }

    // Floors a little under what the brain measures (2026-12-05), so a change that
    // loses ground on other people's sentences fails.
    let all = &per_group["others"];
    let clinc = &per_group["clinc"];
    let unseen = &per_group["unseen"];
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
    assert!(
        pct(unseen.right, unseen.in_domain) >= FLOOR_UNSEEN,
        "unseen sets: in-domain below {FLOOR_UNSEEN}%"
    );
    assert!(
        pct(unseen.false_accepts, unseen.out_of_domain) <= CEILING_UNSEEN_FALSE_ACCEPTS,
        "unseen sets: false accepts above {CEILING_UNSEEN_FALSE_ACCEPTS}%"
    );
    let sealed = &per_group["sealed"];
    assert!(
        pct(sealed.right, sealed.in_domain) >= FLOOR_SEALED,
        "sealed sets: in-domain below {FLOOR_SEALED}%"
    );
    assert!(
        pct(sealed.false_accepts, sealed.out_of_domain) <= CEILING_FALSE_ACCEPTS,
        "sealed sets: false accepts above {CEILING_FALSE_ACCEPTS}%"
    );
    let fresh = &per_group["fresh"];
    assert!(
        pct(fresh.right, fresh.in_domain) >= FLOOR_FRESH,
        "fresh sets: in-domain below {FLOOR_FRESH}%"
    );
    assert!(
        pct(fresh.false_accepts, fresh.out_of_domain) <= CEILING_FALSE_ACCEPTS,
        "fresh sets: false accepts above {CEILING_FALSE_ACCEPTS}%"
    );
    assert!(
        pct(unseen.durations_right, unseen.durations) >= FLOOR_DURATIONS,
        "unseen sets: timer durations exact below {FLOOR_DURATIONS}%"
    );
    let blind = &per_group["blind"];
    assert!(
        pct(blind.right, blind.in_domain) >= FLOOR_BLIND,
        "blind sets: in-domain below {FLOOR_BLIND}%"
    );
    assert!(
        pct(blind.false_accepts, blind.out_of_domain) <= CEILING_FALSE_ACCEPTS,
        "blind sets: false accepts above {CEILING_FALSE_ACCEPTS}%"
    );
    assert!(
        pct(blind.durations_right, blind.durations) >= FLOOR_DURATIONS,
        "blind sets: timer durations exact below {FLOOR_DURATIONS}%"
    );
    for (group, floor) in [
        ("styles", FLOOR_STYLES),
        ("sealed3", FLOOR_SEALED3),
        ("scenes", FLOOR_SCENES),
        ("sealed4", FLOOR_SEALED4),
        ("world", FLOOR_WORLD),
        ("sealed5", FLOOR_SEALED5),
        ("talk", FLOOR_TALK),
        ("sealed6", FLOOR_SEALED6),
        ("edge", FLOOR_EDGE),
        ("sealed7", FLOOR_SEALED7),
        ("ask", FLOOR_ASK),
        ("sealed8", FLOOR_SEALED8),
        ("slots", FLOOR_SLOTS),
        ("sealed9", FLOOR_SEALED9),
    ] {
        let t = &per_group[group];
        assert!(
            pct(t.right, t.in_domain) >= floor,
            "{group} sets: in-domain below {floor}%"
        );
        let ceiling = if matches!(group, "talk" | "sealed6") {
            CEILING_TALK_FALSE_ACCEPTS
        } else {
            CEILING_FALSE_ACCEPTS
        };
        assert!(
            pct(t.false_accepts, t.out_of_domain) <= ceiling,
            "{group} sets: false accepts above {ceiling}%"
        );
    }
}

// Measured 2026-12-06 with the sentence encoder (threshold 0.5) and the near misses
// in training: others' sets 93.0 % at 2.4 % false accepts (held-out half of all sets
// 84.6 % at 2.0 %), CLINC150 test 78.4 % at 1.4 %, durations 100 %. Without the encoder
// (LUNA_NO_ENCODER=1): 90.9 % at 1.1 % (80.5 % at 1.4 %), 73.0 % at 1.0 %. On
// 2026-12-05, before either: 91.6 % at 2.2 % (81.0 % at 2.0 %), 73.8 % at 1.2 %; before
// that day's work 70.9 % at 3.8 %, and 43.4 % at 4.0 %.
//
// 2026-12-06 (later): places masked for the classifiers, greetings and thanks guessed
// when they say one, whether something is on a list or the calendar, more weather
// words: others' sets 93.0 → 93.4 % at 2.2 → 2.4 % (held-out half 84.6 → 87.2 % at 2.1
// → 2.2 %), CLINC150 test 78.4 → 84.6 % at 1.5 → 1.6 %. The unseen sets, frozen before
// that: 95.3 → 95.6 % at 2.9 → 2.9 % false accepts (their held-out half 95.0 → 95.3 %).
const FLOOR_OTHERS: f64 = 92.0;
const FLOOR_CLINC: f64 = 82.0;
const FLOOR_UNSEEN: f64 = 94.0;
// 2026-12-07: the fresh sets (`src/brain/corpus/fresh/`, written that morning and frozen
// first) measured 83.6 % at 2.0 % false accepts (held-out half 83.1 % at 2.0 %) before
// that day's changes, 89.3 % at 1.7 % (85.8 % at 2.0 %) after.
const FLOOR_FRESH: f64 = 87.0;
// The sealed sets, written after that day's changes and never read: 88.7 % at 1.0 %
// with the brain of the day before (`luna parse --jsonl`, the same scoring), 91.7 % at
// 1.0 % with that day's.
const FLOOR_SEALED: f64 = 90.0;
// The blind sets (`src/brain/corpus/blind/`, written at the start of 2026-12-07's
// second session, frozen first): 92.9 % at 3.3 % false accepts, timer durations exact
// 87.6 % before that session's changes; 94.8 % at 1.3 %, durations 98.2 % after
// (held-out half 92.0 → 92.7 %, 2.7 → 2.7 %, durations 84.8 → 96.4 %).
const FLOOR_BLIND: f64 = 93.0;
// The style sets: 77.0 % at 2.0 % when written (sealed then), 83.0 % at 2.0 % after the
// session's changes (held-out half 78.0 → 80.0 %). The third sealed sets, in the same
// styles and never read: 74.7 % at 2.0 % with the session's first brain, 76.0 % at 2.0 %
// with its last (clipped or wordy speakers 65.3 → 68.0 %, six homes 84.0 → 84.0 %).
const FLOOR_STYLES: f64 = 83.0;
const FLOOR_SEALED3: f64 = 75.0;
// 2026-12-07 (third session): the scene sets, frozen first, 92.0 % at 0.5 % before the
// session's changes, 96.0 % at 0.5 % after (held-out half 91.0 → 92.7 %); the fourth
// sealed sets, written before them and never read, 89.8 % at 2.1 % → 90.8 % at 1.4 %.
const FLOOR_SCENES: f64 = 94.0;
const FLOOR_SEALED4: f64 = 89.0;
// 2026-12-07 (fourth session): the world sets, frozen first, 90.5 % at 2.5 % before the
// session's changes, 95.8 % at 1.5 % after (held-out half 91.7 → 92.7 %); the fifth
// sealed sets, written before them and never read, 91.2 % at 3.6 % → 93.0 % at 2.9 %.
const FLOOR_WORLD: f64 = 93.0;
const FLOOR_SEALED5: f64 = 91.0;
// 2026-12-07 (fifth session): the talk sets, frozen first, 80.9 % at 4.7 % before the
// session's changes, 88.8 % at 3.0 % after (held-out half 80.4 → 84.7 %); the sixth
// sealed sets, written before them and never read, 77.7 % at 3.8 % → 84.7 % at 3.3 %
// (wordy speakers are the weakest way of talking today). Their false accepts were over
// the 3 % (9 of 300, 7 of 210): a ceiling of their own. Seventh session: 8 of
// 300 and 6 of 210, under 3 % for the first time; the ceiling stays until a margin
// does.
const FLOOR_TALK: f64 = 87.0;
const FLOOR_SEALED6: f64 = 82.0;
const CEILING_TALK_FALSE_ACCEPTS: f64 = 4.0;
// 2026-12-07 (sixth session): the edge sets, frozen first, 92.5 % at 2.2 % before the
// session's changes, 96.2 % at 1.3 % after (held-out half 93.3 → 94.7 %, 2.7 → 2.7 %);
// the seventh sealed sets, written before them and never read, 89.2 % at 2.2 % → 91.0 %
// at 2.2 % (twice the usual share of out-of-scope lines: requests for lights, heating,
// locks, ordering, messages, in LUNA's own command words).
const FLOOR_EDGE: f64 = 95.0;
const FLOOR_SEALED7: f64 = 90.0;
// 2026-12-07 (seventh session): the ask sets (people who ask rather than command; every
// intent equally), frozen first, 92.5 % at 1.8 % before the session's changes, 95.3 %
// at 0.8 % after (held-out half 91.7 → 91.7 %, 1.0 → 0.7 %); the eighth sealed sets,
// written before them and never read, 91.5 % at 2.2 % → 91.5 % at 1.2 %.
const FLOOR_ASK: f64 = 94.0;
const FLOOR_SEALED8: f64 = 90.0;
// 2026-12-08 (eighth session): the slots sets (times and dates in every form; requests
// full of names), frozen first, 93.2 % at 2.0 % before the session's changes; the ninth
// sealed sets, written before them and never read, 90.8 % at 2.0 %. After the grammar
// work and training on the development sets' even lines and the helpers' sentences
// (the slots sets' even lines among them, so their whole figure is partly memory; the
// held-out half 95.0 → 97.0 %): see src/brain/corpus/README.md.
const FLOOR_SLOTS: f64 = 95.0;
const FLOOR_SEALED9: f64 = 90.0;
// 12 of 420 today: one more would pass the 3 %; the margin is for the next
// change to show in the printout before it fails here.
const CEILING_UNSEEN_FALSE_ACCEPTS: f64 = 3.6;
const FLOOR_DURATIONS: f64 = 95.0;
const CEILING_FALSE_ACCEPTS: f64 = 3.0;

/// The places the classifiers see masked, over every development sentence
/// (`cargo test --test brain_others -- --ignored --nocapture places_masked`).
#[test]
#[ignore]
fn places_masked() {
    let mut masked: BTreeMap<String, usize> = BTreeMap::new();
    for (_, _, text) in SETS {
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let l: Labelled = serde_json::from_str(line).unwrap();
            let normalized = luna::brain::normalize::normalize(&l.text);
            if let Some(m) = luna::brain::places::mask(&normalized) {
                println!("{normalized:?} → {m:?}");
                *masked.entry(l.intents[0].intent.clone()).or_default() += 1;
            }
        }
    }
    println!("{masked:?}");
}
