//! Timers: start, cancel, ask how long is left, pause, resume, add or take off time.
//!
//! A timer is a `schedules` row of kind `timer`. Running, it is due at `due_at_ms`;
//! paused, `paused_left_ms` holds what was left and the scheduler skips it; resumed,
//! it is due that long after the moment it resumed.

use rusqlite::types::Value as SqlValue;
use serde_json::Value;

use super::actions::{capitalize, failure, say_duration, slot, slot_u64};
use super::effects::{EffectError, Effects};
use super::StepResult;
use crate::brain::Step;
use crate::store::now_ms;

/// A pending timer as stored.
#[derive(Clone, Debug)]
struct Timer {
    id: i64,
    name: Option<String>,
    due_at_ms: i64,
    paused_left_ms: Option<i64>,
}

impl Timer {
    fn left_ms(&self, now: i64) -> i64 {
        self.paused_left_ms.unwrap_or(self.due_at_ms - now).max(0)
    }

    fn left(&self, now: i64) -> String {
        say_duration(((self.left_ms(now) + 500) / 1000) as u64)
    }

    /// "the pasta timer", "the timer".
    fn label(&self) -> String {
        match &self.name {
            Some(n) => format!("the {n} timer"),
            None => "the timer".into(),
        }
    }
}

/// Pending timers, newest first.
fn pending(fx: &Effects) -> Vec<Timer> {
    let Ok(conn) = fx.store.connection() else {
        return Vec::new();
    };
    let Ok(mut stmt) = conn.prepare(
        "SELECT id, name, due_at_ms, paused_left_ms FROM schedules WHERE kind = 'timer' AND state = 'pending' ORDER BY created_at_ms DESC, id DESC",
    ) else {
        return Vec::new();
    };
    stmt.query_map([], |r| {
        Ok(Timer {
            id: r.get(0)?,
            name: r.get(1)?,
            due_at_ms: r.get(2)?,
            paused_left_ms: r.get(3)?,
        })
    })
    .map(|rows| rows.filter_map(Result::ok).collect())
    .unwrap_or_default()
}

fn none_running(name: Option<&str>) -> String {
    match name {
        Some(n) => format!("There's no {n} timer running."),
        None => "There's no timer running.".into(),
    }
}

pub(super) fn timers(intent: &str, step: &Step, fx: &mut Effects) -> StepResult {
    let now = now_ms();
    let name = slot(step, "name");
    let all = step.slots.get("all") == Some(&Value::Bool(true));
    let timers = pending(fx);
    // The named timer, else the newest one (for pause, a running one; for resume, a
    // paused one, when there is such a timer).
    let pick = |wants: &dyn Fn(&Timer) -> bool| -> Option<Timer> {
        match name {
            Some(n) => timers
                .iter()
                .find(|t| t.name.as_deref() == Some(n))
                .cloned(),
            None => timers.iter().find(|t| wants(t)).or(timers.first()).cloned(),
        }
    };
    let result: Result<String, EffectError> = match intent {
        "timer.start" => {
            let Some(seconds) = slot_u64(step, "duration_s") else {
                return StepResult::failed(intent, "For how long?");
            };
            fx.write(
                "INSERT INTO schedules (kind, name, text, due_at_ms, created_at_ms, state) VALUES ('timer', ?1, NULL, ?2, ?3, 'pending')",
                vec![
                    name.map_or(SqlValue::Null, |n| SqlValue::Text(n.into())),
                    SqlValue::Integer(now + seconds as i64 * 1000),
                    SqlValue::Integer(now),
                ],
            )
            .map(|_| {
                let label = name.map_or("Timer".into(), |n| capitalize(&format!("{n} timer")));
                format!("{label} set for {}.", say_duration(seconds))
            })
        }
        _ if timers.is_empty() || (name.is_some() && pick(&|_| true).is_none()) => {
            Ok(none_running(name))
        }
        "timer.cancel" if all => timers
            .iter()
            .try_fold(0, |n, t| cancel(fx, t).map(|_| n + 1))
            .map(|n| format!("Cancelled {n} timer{}.", if n == 1 { "" } else { "s" })),
        "timer.cancel" => {
            let t = pick(&|_| true).expect("checked above");
            let what = t
                .name
                .as_ref()
                .map_or("Timer".into(), |n| capitalize(&format!("{n} timer")));
            cancel(fx, &t).map(|_| format!("{what} cancelled."))
        }
        "timer.status" if all || timers.len() > 1 && name.is_none() => {
            let said: Vec<String> = timers
                .iter()
                .map(|t| {
                    let paused = if t.paused_left_ms.is_some() {
                        ", paused"
                    } else {
                        ""
                    };
                    format!("{} left on {}{paused}", t.left(now), t.label())
                })
                .collect();
            Ok(format!("{}.", capitalize(&said.join("; "))))
        }
        "timer.status" => {
            let t = pick(&|_| true).expect("checked above");
            Ok(match t.paused_left_ms {
                Some(_) => format!(
                    "{} left; {} is paused.",
                    capitalize(&t.left(now)),
                    t.label()
                ),
                None => format!("{} left.", capitalize(&t.left(now))),
            })
        }
        "timer.pause" | "timer.resume" => {
            let pausing = intent == "timer.pause";
            // Which timers this acts on: running ones to pause, paused ones to resume.
            let acts_on = |t: &Timer| t.paused_left_ms.is_none() == pausing;
            let (done, verb) = if pausing {
                ("paused", "Paused")
            } else {
                ("running", "Resumed")
            };
            let act = |fx: &mut Effects, t: &Timer| {
                if pausing {
                    pause(fx, t, now)
                } else {
                    resume(fx, t, now)
                }
            };
            if all {
                timers
                    .iter()
                    .filter(|t| acts_on(t))
                    .try_fold(0, |n, t| act(fx, t).map(|_| n + 1))
                    .map(|n| match n {
                        0 => format!("Every timer is already {done}."),
                        1 => format!("{verb} 1 timer."),
                        n => format!("{verb} {n} timers."),
                    })
            } else {
                let t = pick(&acts_on).expect("checked above");
                if acts_on(&t) {
                    let left = t.left(now);
                    act(fx, &t).map(|_| format!("{verb} {} with {left} left.", t.label()))
                } else {
                    Ok(format!(
                        "{} is already {done}, with {} left.",
                        capitalize(&t.label()),
                        t.left(now)
                    ))
                }
            }
        }
        "timer.adjust" => {
            let Some(delta_s) = step.slots.get("delta_s").and_then(Value::as_i64) else {
                return StepResult::failed(intent, "How much time?");
            };
            let t = pick(&|_| true).expect("checked above");
            let left = t.left_ms(now) + delta_s * 1000;
            if left < 1000 {
                return StepResult::failed(
                    intent,
                    format!("There's only {} left on {}.", t.left(now), t.label()),
                );
            }
            let write = match t.paused_left_ms {
                Some(_) => fx.write(
                    "UPDATE schedules SET paused_left_ms = ?2 WHERE id = ?1",
                    vec![SqlValue::Integer(t.id), SqlValue::Integer(left)],
                ),
                None => fx.write(
                    "UPDATE schedules SET due_at_ms = ?2 WHERE id = ?1",
                    vec![SqlValue::Integer(t.id), SqlValue::Integer(now + left)],
                ),
            };
            let change = say_duration(delta_s.unsigned_abs());
            write.map(|_| {
                let left = say_duration(((left + 500) / 1000) as u64);
                if delta_s >= 0 {
                    format!("Added {change}: {left} left on {}.", t.label())
                } else {
                    format!("Took {change} off: {left} left on {}.", t.label())
                }
            })
        }
        _ => return StepResult::failed(intent, "I don't know how to do that yet."),
    };
    match result {
        Ok(response) => StepResult::ok(intent, response),
        Err(e) => failure(intent, e),
    }
}

fn cancel(fx: &mut Effects, t: &Timer) -> Result<usize, EffectError> {
    fx.write(
        "UPDATE schedules SET state = 'cancelled' WHERE id = ?1",
        vec![SqlValue::Integer(t.id)],
    )
}

fn pause(fx: &mut Effects, t: &Timer, now: i64) -> Result<usize, EffectError> {
    fx.write(
        "UPDATE schedules SET paused_left_ms = ?2 WHERE id = ?1 AND paused_left_ms IS NULL",
        vec![SqlValue::Integer(t.id), SqlValue::Integer(t.left_ms(now))],
    )
}

fn resume(fx: &mut Effects, t: &Timer, now: i64) -> Result<usize, EffectError> {
    fx.write(
        "UPDATE schedules SET due_at_ms = ?2, paused_left_ms = NULL WHERE id = ?1",
        vec![
            SqlValue::Integer(t.id),
            SqlValue::Integer(now + t.left_ms(now)),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Store, StoreOptions};

    fn step(intent: &str, slots: serde_json::Value) -> Step {
        Step {
            id: 0,
            intent: intent.into(),
            slots: serde_json::from_value(slots).unwrap(),
        }
    }

    #[test]
    fn a_paused_timer_keeps_its_time_and_does_not_fire_until_resumed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("l.db"), &StoreOptions::default()).unwrap();
        let mut fx = Effects::new(store.clone(), false);
        let mut say = |intent: &str, slots: serde_json::Value| {
            let r = timers(intent, &step(intent, slots), &mut fx);
            (r.ok, r.response)
        };
        assert!(
            say(
                "timer.start",
                serde_json::json!({"duration_s": 60, "name": "egg"})
            )
            .0
        );
        let (ok, said) = say("timer.pause", serde_json::json!({}));
        assert!(
            ok && said.starts_with("Paused the egg timer with"),
            "{said}"
        );
        let (_, again) = say("timer.pause", serde_json::json!({}));
        assert!(again.contains("already paused"), "{again}");
        // Long past its old due time, a paused timer is not due.
        let later = now_ms() + 10 * 60_000;
        assert!(super::super::schedule::take_due(&store, later)
            .unwrap()
            .is_empty());
        let (ok, said) = say("timer.adjust", serde_json::json!({"delta_s": 120}));
        assert!(
            ok && said == "Added 2 minutes: 3 minutes left on the egg timer.",
            "{said}"
        );
        let (ok, said) = say("timer.adjust", serde_json::json!({"delta_s": -600}));
        assert!(
            !ok && said.starts_with("There's only 3 minutes left"),
            "{said}"
        );
        let (ok, said) = say("timer.resume", serde_json::json!({}));
        assert!(
            ok && said == "Resumed the egg timer with 3 minutes left.",
            "{said}"
        );
        let (_, status) = say("timer.status", serde_json::json!({}));
        assert!(status.ends_with("left."), "{status}");
        // Resumed, it is due three minutes from now, not at its old time.
        assert!(super::super::schedule::take_due(&store, now_ms() + 170_000)
            .unwrap()
            .is_empty());
        assert_eq!(
            super::super::schedule::take_due(&store, now_ms() + 181_000)
                .unwrap()
                .len(),
            1
        );
        let (_, none) = say("timer.resume", serde_json::json!({"name": "pizza"}));
        assert_eq!(none, "There's no pizza timer running.");
    }
}
