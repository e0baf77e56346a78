//! Timers, alarms and reminders coming due. They live in SQLite (`schedules`), so they
//! survive restarts. The rule for what came due while LUNA was not running: fired on
//! start (saying how late) when less than `LATE_GRACE` late, else marked `missed` and
//! reported once — a morning alarm from yesterday should not ring today.

use rusqlite::params;
use serde::Serialize;

use crate::store::{Store, StoreError};

/// How late a schedule may still fire after LUNA was down.
pub const LATE_GRACE_MS: i64 = 10 * 60 * 1000;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Fired {
    pub id: i64,
    pub kind: String,
    pub name: Option<String>,
    pub text: Option<String>,
    pub due_at_ms: i64,
    /// How late it fired (ms).
    pub late_ms: i64,
    /// Too late: marked missed instead of fired.
    pub missed: bool,
    /// What LUNA says.
    pub message: String,
}

fn message(
    kind: &str,
    name: Option<&str>,
    text: Option<&str>,
    late_ms: i64,
    missed: bool,
) -> String {
    let what = match (kind, name, text) {
        ("timer", Some(n), _) => format!("Your {n} timer is done."),
        ("timer", None, _) => "Your timer is done.".to_owned(),
        ("reminder", _, Some(t)) => format!("Reminder: {t}."),
        ("alarm", Some(t), _) => format!("It's your {t} alarm."),
        _ => "Your alarm is ringing.".to_owned(),
    };
    if missed {
        format!("While I was off, you missed this: {what}")
    } else if late_ms > 60_000 {
        format!(
            "{what} (I was off; this is {} minutes late.)",
            late_ms / 60_000
        )
    } else {
        what
    }
}

/// id, kind, name, text, due_at_ms
type DueRow = (i64, String, Option<String>, Option<String>, i64);

/// Marks everything due by `now_ms` as fired (or missed, if too late) and returns it.
pub fn take_due(store: &Store, now_ms: i64) -> Result<Vec<Fired>, StoreError> {
    let mut conn = store.connection()?;
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let due: Vec<DueRow> = {
        let mut stmt = tx.prepare(
            "SELECT id, kind, name, text, due_at_ms FROM schedules WHERE state = 'pending' AND paused_left_ms IS NULL AND due_at_ms <= ?1 ORDER BY due_at_ms",
        )?;
        let rows = stmt.query_map([now_ms], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?;
        rows.collect::<Result<_, _>>()?
    };
    let mut fired = Vec::with_capacity(due.len());
    for (id, kind, name, text, due_at_ms) in due {
        let late_ms = now_ms - due_at_ms;
        let missed = late_ms > LATE_GRACE_MS;
        tx.execute(
            "UPDATE schedules SET state = ?2 WHERE id = ?1",
            params![id, if missed { "missed" } else { "fired" }],
        )?;
        fired.push(Fired {
            message: message(&kind, name.as_deref(), text.as_deref(), late_ms, missed),
            id,
            kind,
            name,
            text,
            due_at_ms,
            late_ms,
            missed,
        });
    }
    tx.commit()?;
    Ok(fired)
}

/// Plan steps said with a delay that are now due; marked fired (or missed, when more
/// than `LATE_GRACE_MS` late — those are returned as `Err` with what was missed).
pub fn take_due_steps(
    store: &Store,
    now_ms: i64,
) -> Result<Vec<Result<crate::brain::Step, String>>, StoreError> {
    let mut conn = store.connection()?;
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let due: Vec<(i64, String, String, i64)> = {
        let mut stmt = tx.prepare(
            "SELECT id, intent, slots_json, due_at_ms FROM delayed_steps WHERE state = 'pending' AND due_at_ms <= ?1 ORDER BY due_at_ms",
        )?;
        let rows = stmt.query_map([now_ms], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?;
        rows.collect::<Result<_, _>>()?
    };
    let mut out = Vec::with_capacity(due.len());
    for (id, intent, slots_json, due_at_ms) in due {
        let missed = now_ms - due_at_ms > LATE_GRACE_MS;
        tx.execute(
            "UPDATE delayed_steps SET state = ?2 WHERE id = ?1",
            params![id, if missed { "missed" } else { "fired" }],
        )?;
        let slots = serde_json::from_str(&slots_json).unwrap_or_default();
        out.push(if missed {
            Err(format!(
                "While I was off, a delayed {intent} was due; I did not run it late."
            ))
        } else {
            Ok(crate::brain::Step {
                id: 0,
                intent,
                slots,
            })
        });
    }
    tx.commit()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreOptions;

    #[test]
    fn due_items_fire_once_and_old_ones_are_missed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("l.db"), &StoreOptions::default()).unwrap();
        let conn = store.connection().unwrap();
        let add = |kind: &str, name: Option<&str>, text: Option<&str>, due: i64| {
            conn.execute(
                "INSERT INTO schedules (kind, name, text, due_at_ms, created_at_ms) VALUES (?1, ?2, ?3, ?4, 0)",
                params![kind, name, text, due],
            )
            .unwrap();
        };
        let now = 10_000_000;
        add("timer", Some("pasta"), None, now - 500);
        add("reminder", None, Some("call mom"), now - 5 * 60_000);
        add("alarm", Some("07:00"), None, now - 3 * 3_600_000);
        add("timer", None, None, now + 60_000);
        let fired = take_due(&store, now).unwrap();
        let messages: Vec<&str> = fired.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "While I was off, you missed this: It's your 07:00 alarm.",
                "Reminder: call mom. (I was off; this is 5 minutes late.)",
                "Your pasta timer is done.",
            ]
        );
        assert!(take_due(&store, now).unwrap().is_empty(), "each fires once");
        assert_eq!(take_due(&store, now + 60_000).unwrap().len(), 1);
    }
}
