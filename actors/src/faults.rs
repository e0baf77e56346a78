//! Fault injection for ordeal tests: a stage named here panics inside its supervised
//! handler on every Nth message it is given, so supervision is exercised for real
//! (catch, rebuild, retry or report). Off unless the daemon configures it
//! (`[debug] fault_injection`); set once per process, before stages start.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// Stage → (panic on every Nth message, messages counted by `due_next`).
static PANIC_EVERY: OnceLock<HashMap<String, (u64, AtomicU64)>> = OnceLock::new();

/// Makes `stage` panic on every `n`th message (n ≥ 2, so a retried message can pass).
/// Only the first call per process takes effect; returns whether this one did.
pub fn configure(panic_every: HashMap<String, u64>) -> bool {
    PANIC_EVERY
        .set(
            panic_every
                .into_iter()
                .filter(|(_, n)| *n >= 2)
                .map(|(stage, n)| (stage, (n, AtomicU64::new(0))))
                .collect(),
        )
        .is_ok()
}

/// Whether the `seen`th message (counting from 1) of `stage` must panic.
pub(crate) fn due(stage: &str, seen: u64) -> bool {
    PANIC_EVERY
        .get()
        .and_then(|m| m.get(stage))
        .is_some_and(|(every, _)| seen % every == 0)
}

/// For work that runs in short-lived children rather than one supervised actor (the
/// executor's steps): counts one more message of `stage` across the process and says
/// whether it must panic.
pub fn due_next(stage: &str) -> bool {
    PANIC_EVERY
        .get()
        .and_then(|m| m.get(stage))
        .is_some_and(|(every, seen)| (seen.fetch_add(1, Ordering::Relaxed) + 1) % every == 0)
}
