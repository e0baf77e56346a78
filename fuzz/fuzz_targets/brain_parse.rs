//! Any text understood and planned: never a panic, and every plan hangs together (its
//! groups name steps that exist, and run only after groups that exist).
#![no_main]

use std::cell::RefCell;
use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use luna::brain::{Brain, BrainModel, BrainSettings};

thread_local! {
    static BRAIN: RefCell<Brain> = RefCell::new(Brain::new(
        Arc::new(BrainModel::builtin().expect("the built-in brain loads")),
        BrainSettings::default(),
    ));
}

fuzz_target!(|text: &str| {
    BRAIN.with(|brain| {
        let understood = brain.borrow_mut().understand(text);
        let plan = &understood.plan;
        for group in &plan.groups {
            assert!(
                group.steps.iter().all(|&s| s < plan.steps.len()),
                "{plan:?}"
            );
            assert!(
                group.after.iter().all(|&g| g < plan.groups.len()),
                "{plan:?}"
            );
        }
        for intent in &understood.intents {
            assert!((0.0..=1.0).contains(&intent.confidence), "{intent:?}");
        }
    });
});
