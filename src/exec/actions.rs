//! One function per intent family. Each returns a `StepResult` with a short response;
//! a missing capability is a clear answer, never an error trace.

use chrono::{Datelike, Duration as ChronoDuration, Local, NaiveTime, TimeZone};
use rusqlite::types::Value as SqlValue;
use serde_json::Value;

use super::apps::AppIndex;
use super::effects::{EffectError, Effects};
use super::{ExecSettings, StepResult};
use crate::brain::Step;
use crate::store::{now_ms, CalendarEvent};

const JOKES: &[&str] = &[
    "I told my computer I needed a break, and it said: no problem, I'll go to sleep.",
    "Why do programmers prefer dark mode? Because light attracts bugs.",
    "I would tell you a UDP joke, but you might not get it.",
    "There are 10 kinds of people: those who understand binary and those who don't.",
    "Why did the timer break up with the alarm? It needed more time.",
    "I'm reading a book about anti-gravity. It's impossible to put down.",
    "Why don't skeletons fight each other? They don't have the guts.",
    "What do you call a fake noodle? An impasta.",
];

pub(super) fn slot<'a>(step: &'a Step, key: &str) -> Option<&'a str> {
    step.slots.get(key).and_then(Value::as_str)
}

pub(super) fn slot_u64(step: &Step, key: &str) -> Option<u64> {
    step.slots.get(key).and_then(Value::as_u64)
}

/// "5 minutes", "1 hour and 30 minutes", "45 seconds".
pub fn say_duration(seconds: u64) -> String {
    let (h, m, s) = (seconds / 3600, seconds % 3600 / 60, seconds % 60);
    let part = |n: u64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    let mut parts = Vec::new();
    if h > 0 {
        parts.push(part(h, "hour"));
    }
    if m > 0 {
        parts.push(part(m, "minute"));
    }
    if s > 0 || parts.is_empty() {
        parts.push(part(s, "second"));
    }
    match parts.len() {
        1 => parts.remove(0),
        _ => {
            let last = parts.pop().unwrap_or_default();
            format!("{} and {last}", parts.join(", "))
        }
    }
}

fn say_clock(t: chrono::DateTime<Local>) -> String {
    t.format("%-I:%M %p").to_string()
}

pub(super) fn failure(intent: &str, e: EffectError) -> StepResult {
    match e {
        EffectError::Missing { program } => StepResult::failed(
            intent,
            format!("I can't do that here: {program} is not installed."),
        ),
        other => StepResult {
            transient: other.is_transient(),
            ..StepResult::failed(intent, format!("That didn't work: {other}."))
        },
    }
}

/// The first of `programs` that is installed.
fn first_available<'a>(programs: &[&'a str]) -> Option<&'a str> {
    programs.iter().copied().find(|p| Effects::available(p))
}

pub fn run(intent: &str, step: &Step, fx: &mut Effects, settings: &ExecSettings) -> StepResult {
    let family = crate::brain::catalogue::family(intent);
    let mut result = run_family(family, intent, step, fx, settings);
    // "turn it up in the kitchen": LUNA's sound and players are this computer's.
    if let (Some(room), "volume" | "media") = (slot(step, "room"), family) {
        if result.ok {
            result.response = format!(
                "{} (I can only reach this computer's sound, not the {room}.)",
                result.response
            )
            .trim_start()
            .to_owned();
        }
    }
    result
}

fn run_family(
    family: &str,
    intent: &str,
    step: &Step,
    fx: &mut Effects,
    settings: &ExecSettings,
) -> StepResult {
    match family {
        "time" | "date" => time_and_date(intent, step),
        "calendar" => calendar(intent, step, fx),
        "timer" => super::timers::timers(intent, step, fx),
        "alarm" | "reminder" => schedules(intent, step, fx),
        "note" | "list" => memory(intent, step, fx),
        "calc" => calc(step),
        "joke" => StepResult::ok(intent, JOKES[(now_ms() / 1000) as usize % JOKES.len()]),
        "weather" => {
            let place = slot(step, "location").map(|p| format!(" in {p}")).unwrap_or_default();
            let when = slot(step, "date")
                .map(|d| format!(" for {}", say_date_slot(d)))
                .unwrap_or_default();
            StepResult::failed(
                intent,
                format!("I can't check the weather{place}{when}: LUNA works offline and no weather source is configured."),
            )
        }
        "web" => web_search(step, fx, settings),
        "app" => apps(intent, step, fx),
        "folder" | "file" => files(intent, step, fx, settings),
        "volume" => volume(intent, step, fx),
        "brightness" => brightness(intent, step, fx),
        "media" => media(intent, step, fx),
        "system" => system(intent, step, fx),
        "assistant" => StepResult::ok(
            intent,
            match intent {
                "assistant.greet" => "Hello! What can I do for you?",
                "assistant.thanks" => "You're welcome.",
                "assistant.help" => "I can open apps, set timers, alarms and reminders, take notes, keep lists, change the volume and brightness, control music, do math and tell you the time.",
                "assistant.cancel" => "OK, never mind.",
                "assistant.confirm" => "There's nothing to confirm.",
                "assistant.deny" => "OK.",
                "assistant.stop" => "",
                "assistant.repeat" => "There's nothing to repeat yet.",
                _ => "",
            },
        ),
        _ => StepResult::failed(intent, "I don't know how to do that yet."),
    }
}

fn time_and_date(intent: &str, step: &Step) -> StepResult {
    let now = Local::now();
    match intent {
        "time.now" => match slot(step, "location") {
            None => StepResult::ok(intent, format!("It's {}.", say_clock(now))),
            Some(said) => world_clock(intent, said, now),
        },
        "date.query" => date_query(intent, step, now.date_naive()),
        _ => StepResult::ok(
            intent,
            format!("Today is {}.", now.format("%A, %B %-d, %Y")),
        ),
    }
}

/// "It's 3:42 AM on Sunday in Tokyo."
fn world_clock(intent: &str, said: &str, now: chrono::DateTime<Local>) -> StepResult {
    let Some(place) = crate::brain::places::find(said) else {
        return StepResult::failed(intent, format!("I don't know the time zone of {said}."));
    };
    let Ok(zone) = place.zone.parse::<chrono_tz::Tz>() else {
        return StepResult::failed(intent, format!("I don't know the time zone of {said}."));
    };
    let there = now.with_timezone(&zone);
    let day = if there.date_naive() == now.date_naive() {
        String::new()
    } else {
        format!(" on {}", there.format("%A"))
    };
    let name = capitalize_words(&place.name);
    let approximate = if place.approximate {
        format!(" (in the {} time zone; {name} has several)", place.zone)
    } else {
        String::new()
    };
    StepResult::ok(
        intent,
        format!(
            "In {name} it's {}{day}{approximate}.",
            there.format("%-I:%M %p")
        ),
    )
}

/// A date slot as LUNA says it: "tomorrow", "Friday", "March 3".
pub fn say_date_slot(value: &str) -> String {
    let today = Local::now().date_naive();
    match value {
        "weekend" => "the weekend".to_owned(),
        "today" | "tomorrow" | "next weekend" | "this week" | "next week" => value.to_owned(),
        v => match crate::brain::dates::resolve(v, today) {
            Some((day, _)) => day.format("%A, %B %-d").to_string(),
            None => v.to_owned(),
        },
    }
}

fn date_query(intent: &str, step: &Step, today: chrono::NaiveDate) -> StepResult {
    use crate::brain::dates;
    let (name, day) = match (slot(step, "holiday"), slot(step, "date")) {
        (Some("next"), _) => match dates::next_holiday(today) {
            Some((h, d)) => (format!("The next holiday, {}", capitalize_words(h)), d),
            None => return StepResult::failed(intent, "I don't know the next holiday."),
        },
        (Some(h), _) => {
            let year = slot_u64(step, "year").and_then(|y| i32::try_from(y).ok());
            let day = match year {
                Some(y) => dates::holiday_in(h, y),
                None => dates::holiday_date(h, today),
            };
            match (day, year) {
                // Another year's: said as a date, past or coming.
                (Some(d), Some(_)) => {
                    let verb = if d < today { "was" } else { "is" };
                    let response = format!(
                        "{} {verb} on {}.",
                        capitalize_words(h),
                        d.format("%A, %B %-d, %Y")
                    );
                    return StepResult::ok(intent, response);
                }
                (Some(d), None) => (capitalize_words(h), d),
                (None, Some(y)) => {
                    return StepResult::failed(intent, format!("I don't know when {h} is in {y}."));
                }
                (None, None) => {
                    return StepResult::failed(intent, format!("I don't know when {h} is."));
                }
            }
        }
        (None, Some(d)) => match dates::resolve(d, today) {
            Some((first, _)) => (first.format("%B %-d").to_string(), first),
            None => return StepResult::failed(intent, "I couldn't work out which day that is."),
        },
        (None, None) => return StepResult::failed(intent, "Which day do you mean?"),
    };
    let until = (day - today).num_days();
    let date = day.format("%A, %B %-d, %Y");
    let response = match slot(step, "ask") {
        // A holiday of several days that began already.
        _ if until < 0 => {
            let last = day
                + chrono::Duration::days(
                    dates::holiday_days(slot(step, "holiday").unwrap_or("")) - 1,
                );
            format!(
                "{name} is on now: it began {date} and lasts until {}.",
                last.format("%A, %B %-d")
            )
        }
        Some("until") => match until {
            0 => format!("{name} is today."),
            1 => format!("{name} is tomorrow, {date}."),
            n => format!("{n} days until {name}, {date}."),
        },
        _ if until == 0 => format!("{name} is today, {date}."),
        _ => format!(
            "{name} is {date}, in {until} day{}.",
            if until == 1 { "" } else { "s" }
        ),
    };
    StepResult::ok(intent, response)
}

/// "18:30" → "6:30 PM".
fn say_hhmm(hhmm: &str) -> String {
    NaiveTime::parse_from_str(hhmm, "%H:%M")
        .map(|t| t.format("%-I:%M %p").to_string())
        .unwrap_or_else(|_| hhmm.to_owned())
}

fn capitalize_words(s: &str) -> String {
    s.split(' ').map(capitalize).collect::<Vec<_>>().join(" ")
}

/// The calendar: events in SQLite, each with a day and maybe a time, place and people.
fn calendar(intent: &str, step: &Step, fx: &mut Effects) -> StepResult {
    use crate::brain::dates;
    let today = Local::now().date_naive();
    let title = slot(step, "title");
    let range = slot(step, "date").and_then(|d| dates::resolve(d, today));
    // A read that fails finds nothing, as a read of an empty calendar would.
    let events = |fx: &Effects, from: &str, to: &str| -> Vec<CalendarEvent> {
        fx.store.events_between(from, to).unwrap_or_default()
    };
    let describe = |e: &CalendarEvent| {
        let day = chrono::NaiveDate::parse_from_str(&e.day, "%Y-%m-%d")
            .map(|d| d.format("%A %B %-d").to_string())
            .unwrap_or_else(|_| e.day.clone());
        match &e.time {
            Some(t) => format!("{} on {day} at {}", e.title, say_hhmm(t)),
            None => format!("{} on {day}", e.title),
        }
    };
    let far = "9999-12-31";
    let today_s = today.format("%Y-%m-%d").to_string();
    let result: Result<String, EffectError> = match intent {
        "calendar.create" => {
            let Some(title) = title else {
                return StepResult::failed(intent, "What should I call the event?");
            };
            let Some((day, _)) = range else {
                return StepResult::failed(intent, format!("Which day is {title}?"));
            };
            let time = slot(step, "time");
            let day_s = day.format("%Y-%m-%d").to_string();
            let opt = |k: &str| slot(step, k).map_or(SqlValue::Null, |v| SqlValue::Text(v.into()));
            fx.write(
                "INSERT INTO events (title, day, time, place, with_whom, created_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                vec![
                    SqlValue::Text(title.into()),
                    SqlValue::Text(day_s.clone()),
                    opt("time"),
                    opt("place"),
                    opt("with"),
                    SqlValue::Integer(now_ms()),
                ],
            )
            .and_then(|_| add_event_reminder(fx, title, &day_s, time))
            .map(|_| {
                let mut said = format!("Added {title} on {}", day.format("%A, %B %-d"));
                if let Some(t) = time {
                    said.push_str(&format!(" at {}", say_hhmm(t)));
                }
                if let Some(w) = slot(step, "with") {
                    said.push_str(&format!(" with {w}"));
                }
                if let Some(p) = slot(step, "place") {
                    said.push_str(&format!(" at {p}"));
                }
                said.push('.');
                said
            })
        }
        "calendar.list" => {
            let found = match (slot(step, "date"), range) {
                (Some("next") | None, _) => events(fx, &today_s, far).into_iter().take(3).collect(),
                (_, Some((a, b))) => events(
                    fx,
                    &a.format("%Y-%m-%d").to_string(),
                    &b.format("%Y-%m-%d").to_string(),
                ),
                (Some(_), None) => {
                    return StepResult::failed(intent, "I couldn't work out which day that is.")
                }
            };
            Ok(if found.is_empty() {
                match slot(step, "date") {
                    Some(d) if d != "next" => {
                        format!("Nothing on your calendar for {}.", say_date_slot(d))
                    }
                    _ => "Nothing coming up on your calendar.".to_owned(),
                }
            } else {
                format!(
                    "On your calendar: {}.",
                    found.iter().map(describe).collect::<Vec<_>>().join("; ")
                )
            })
        }
        "calendar.cancel" | "calendar.move" => {
            let (from, to) = match (range, intent) {
                (Some((a, b)), "calendar.cancel") => (
                    a.format("%Y-%m-%d").to_string(),
                    b.format("%Y-%m-%d").to_string(),
                ),
                _ => (today_s.clone(), far.to_owned()),
            };
            let candidates = events(fx, &from, &to);
            let matching: Vec<_> = candidates
                .iter()
                .filter(|e| {
                    title.is_none_or(|t| e.title.contains(t) || t.contains(e.title.as_str()))
                })
                .collect();
            match (intent, matching.as_slice()) {
                (_, []) => Ok("I couldn't find that on your calendar.".to_owned()),
                ("calendar.cancel", found) if title.is_none() || found.len() == 1 => found
                    .iter()
                    .try_fold(0, |n, e| {
                        let k = fx.write(
                            "UPDATE events SET state = 'cancelled' WHERE id = ?1",
                            vec![SqlValue::Integer(e.id)],
                        )?;
                        cancel_event_reminder(fx, e)?;
                        Ok(n + k)
                    })
                    .map(|n| {
                        if n == 1 {
                            format!("Cancelled {}.", describe(found[0]))
                        } else {
                            format!("Cancelled {n} events.")
                        }
                    }),
                ("calendar.cancel", found) => Ok(format!(
                    "Which one? {}.",
                    found
                        .iter()
                        .map(|e| describe(e))
                        .collect::<Vec<_>>()
                        .join("; ")
                )),
                (_, [event, ..]) => {
                    let mut new_day = slot(step, "date")
                        .and_then(|d| dates::resolve(d, today))
                        .map(|(d, _)| d.format("%Y-%m-%d").to_string())
                        .unwrap_or_else(|| event.day.clone());
                    let mut new_time = slot(step, "time")
                        .map(str::to_owned)
                        .or_else(|| event.time.clone());
                    if let Some(delta) = step.slots.get("delta_s").and_then(Value::as_i64) {
                        // "an hour later": from when it is now.
                        let Some(moved) = shifted(&event.day, event.time.as_deref(), delta) else {
                            return StepResult::failed(
                                intent,
                                format!("{} has no time to move from. To when?", event.title),
                            );
                        };
                        (new_day, new_time) = moved;
                    } else if slot(step, "date").is_none() && slot(step, "time").is_none() {
                        return StepResult::failed(
                            intent,
                            format!("To when should I move {}?", event.title),
                        );
                    }
                    fx.write(
                        "UPDATE events SET day = ?2, time = ?3 WHERE id = ?1",
                        vec![
                            SqlValue::Integer(event.id),
                            SqlValue::Text(new_day.clone()),
                            new_time.clone().map_or(SqlValue::Null, SqlValue::Text),
                        ],
                    )
                    // Its reminder moves with it.
                    .and_then(|_| cancel_event_reminder(fx, event))
                    .and_then(|_| {
                        add_event_reminder(fx, &event.title, &new_day, new_time.as_deref())
                    })
                    .map(|_| {
                        format!(
                            "Moved {}.",
                            describe(&CalendarEvent {
                                day: new_day,
                                time: new_time,
                                ..(*event).clone()
                            })
                        )
                    })
                }
            }
        }
        _ => return StepResult::failed(intent, "I don't know how to do that yet."),
    };
    match result {
        Ok(response) => StepResult::ok(intent, response),
        Err(e) => failure(intent, e),
    }
}

/// When a stored event starts ("YYYY-MM-DD", "HH:MM"); `None` for an all-day one.
fn event_start(day: &str, time: Option<&str>) -> Option<chrono::NaiveDateTime> {
    chrono::NaiveDateTime::parse_from_str(&format!("{day} {}", time?), "%Y-%m-%d %H:%M").ok()
}

/// The reminder LUNA keeps 10 minutes before a timed event: (text, due).
fn event_reminder(
    title: &str,
    day: &str,
    time: Option<&str>,
) -> Option<(String, chrono::DateTime<Local>)> {
    let start = Local
        .from_local_datetime(&event_start(day, time)?)
        .earliest()?;
    Some((
        format!("{title} in 10 minutes"),
        start - ChronoDuration::minutes(10),
    ))
}

/// Schedules an event's reminder, unless its time has passed or the event has none.
fn add_event_reminder(
    fx: &mut Effects,
    title: &str,
    day: &str,
    time: Option<&str>,
) -> Result<(), EffectError> {
    match event_reminder(title, day, time) {
        Some((text, due)) if due > Local::now() => fx
            .write(
                "INSERT INTO schedules (kind, name, text, due_at_ms, created_at_ms, state) VALUES ('reminder', NULL, ?1, ?2, ?3, 'pending')",
                vec![
                    SqlValue::Text(text),
                    SqlValue::Integer(due.timestamp_millis()),
                    SqlValue::Integer(now_ms()),
                ],
            )
            .map(|_| ()),
        _ => Ok(()),
    }
}

/// Cancels the pending reminder of an event that is cancelled or moved.
fn cancel_event_reminder(fx: &mut Effects, event: &CalendarEvent) -> Result<(), EffectError> {
    match event_reminder(&event.title, &event.day, event.time.as_deref()) {
        Some((text, due)) => fx
            .write(
                "UPDATE schedules SET state = 'cancelled' WHERE kind = 'reminder' AND state = 'pending' AND text = ?1 AND due_at_ms = ?2",
                vec![SqlValue::Text(text), SqlValue::Integer(due.timestamp_millis())],
            )
            .map(|_| ()),
        None => Ok(()),
    }
}

/// An event's day and time moved by `delta_s` seconds: ("YYYY-MM-DD", Some("HH:MM")).
/// `None` for an all-day event (nothing to move from) or a malformed stored value.
fn shifted(day: &str, time: Option<&str>, delta_s: i64) -> Option<(String, Option<String>)> {
    let at = event_start(day, time)? + ChronoDuration::seconds(delta_s);
    Some((
        at.format("%Y-%m-%d").to_string(),
        Some(at.format("%H:%M").to_string()),
    ))
}

/// The day of `due` as said from `now`: "today", "tomorrow", "on Friday" within a
/// week, "on March 3" beyond.
fn say_day(due: chrono::DateTime<Local>, now: chrono::DateTime<Local>) -> String {
    let ahead = (due.date_naive() - now.date_naive()).num_days();
    match ahead {
        0 => "today".to_owned(),
        1 => "tomorrow".to_owned(),
        2..=6 => due.format("on %A").to_string(),
        _ => due.format("on %B %-d").to_string(),
    }
}

/// When a reminder is due: after `in_s`, or on its `date` at its `at` (9:00 when only
/// the day was said), or when `at` next comes. `Err` is the question to ask instead.
fn reminder_due(
    step: &Step,
    now: chrono::DateTime<Local>,
) -> Result<chrono::DateTime<Local>, &'static str> {
    if let Some(s) = slot_u64(step, "in_s") {
        return Ok(now + ChronoDuration::seconds(s as i64));
    }
    let at = slot(step, "at");
    let Some(date) = slot(step, "date") else {
        return at
            .and_then(|at| next_occurrence(at, None, now))
            .ok_or("When should I remind you?");
    };
    let (day, _) = crate::brain::dates::resolve(date, now.date_naive())
        .ok_or("Which day should I remind you?")?;
    let time = NaiveTime::parse_from_str(at.unwrap_or("09:00"), "%H:%M")
        .map_err(|_| "At what time should I remind you?")?;
    let due = Local
        .from_local_datetime(&day.and_time(time))
        .earliest()
        .ok_or("At what time should I remind you?")?;
    match (due > now, at) {
        (true, _) => Ok(due),
        (false, None) => Err("At what time should I remind you?"),
        (false, Some(_)) => Err("That time has already passed. When should I remind you?"),
    }
}

/// When "HH:MM" (on `day`) next comes.
pub fn next_occurrence(
    hhmm: &str,
    day: Option<&str>,
    now: chrono::DateTime<Local>,
) -> Option<chrono::DateTime<Local>> {
    let time = NaiveTime::parse_from_str(hhmm, "%H:%M").ok()?;
    let at = |date: chrono::NaiveDate| Local.from_local_datetime(&date.and_time(time)).earliest();
    let today = now.date_naive();
    match day {
        Some("tomorrow") => at(today + ChronoDuration::days(1)),
        Some(name) if name != "today" && name != "tonight" => {
            let target = crate::brain::numbers::WEEKDAYS
                .iter()
                .position(|d| *d == name)? as i64;
            let current = now.weekday().num_days_from_monday() as i64;
            let mut ahead = (target - current).rem_euclid(7);
            if ahead == 0 && at(today).is_some_and(|t| t <= now) {
                ahead = 7;
            }
            at(today + ChronoDuration::days(ahead))
        }
        _ => at(today)
            .filter(|t| *t > now)
            .or_else(|| at(today + ChronoDuration::days(1))),
    }
}

fn schedules(intent: &str, step: &Step, fx: &mut Effects) -> StepResult {
    let now = Local::now();
    let insert = |fx: &mut Effects,
                  kind: &str,
                  name: Option<&str>,
                  text: Option<&str>,
                  due: i64| {
        fx.write(
            "INSERT INTO schedules (kind, name, text, due_at_ms, created_at_ms, state) VALUES (?1, ?2, ?3, ?4, ?5, 'pending')",
            vec![
                SqlValue::Text(kind.into()),
                name.map_or(SqlValue::Null, |n| SqlValue::Text(n.into())),
                text.map_or(SqlValue::Null, |t| SqlValue::Text(t.into())),
                SqlValue::Integer(due),
                SqlValue::Integer(now_ms()),
            ],
        )
    };
    let pending = |fx: &Effects, kind: &str| -> Vec<(i64, Option<String>, Option<String>, i64)> {
        let Ok(conn) = fx.store.connection() else {
            return Vec::new();
        };
        let Ok(mut stmt) = conn.prepare(
            "SELECT id, name, text, due_at_ms FROM schedules WHERE kind = ?1 AND state = 'pending' ORDER BY created_at_ms DESC",
        ) else {
            return Vec::new();
        };
        stmt.query_map([kind], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .map(|rows| rows.filter_map(Result::ok).collect())
            .unwrap_or_default()
    };
    let cancel = |fx: &mut Effects, id: i64| {
        fx.write(
            "UPDATE schedules SET state = 'cancelled' WHERE id = ?1",
            vec![SqlValue::Integer(id)],
        )
    };
    let result = match intent {
        "alarm.set" => {
            let Some(due) =
                slot(step, "time").and_then(|t| next_occurrence(t, slot(step, "day"), now))
            else {
                return StepResult::failed(intent, "For what time?");
            };
            insert(
                fx,
                "alarm",
                slot(step, "time"),
                None,
                due.timestamp_millis(),
            )
            .map(|_| format!("Alarm set for {} {}.", say_clock(due), say_day(due, now)))
        }
        "alarm.list" | "reminder.list" => {
            let kind = intent.split('.').next().unwrap_or("alarm");
            let items = pending(fx, kind);
            Ok(if items.is_empty() {
                format!("You have no {kind}s.")
            } else {
                let described: Vec<String> = items
                    .iter()
                    .map(|(_, _, text, due)| {
                        let t = Local
                            .timestamp_millis_opt(*due)
                            .single()
                            .map(|due| format!("{} at {}", say_day(due, now), say_clock(due)))
                            .unwrap_or_default();
                        match text {
                            Some(text) => format!("{text} {t}"),
                            None => t,
                        }
                    })
                    .collect();
                format!(
                    "You have {} {kind}{}: {}.",
                    items.len(),
                    if items.len() == 1 { "" } else { "s" },
                    described.join(", ")
                )
            })
        }
        "alarm.cancel" | "reminder.cancel" => {
            let kind = intent.split('.').next().unwrap_or("alarm");
            let items = pending(fx, kind);
            let wanted_time = slot(step, "time");
            let wanted_text = slot(step, "text");
            let found = items.iter().find(|(_, name, text, _)| {
                wanted_time.is_none_or(|t| name.as_deref() == Some(t))
                    && wanted_text.is_none_or(|w| text.as_deref().is_some_and(|t| t.contains(w)))
            });
            match found {
                Some(item) => {
                    cancel(fx, item.0).map(|_| format!("{} cancelled.", capitalize(kind)))
                }
                None => Ok(format!("I couldn't find that {kind}.")),
            }
        }
        "reminder.create" => {
            let Some(text) = slot(step, "text") else {
                return StepResult::failed(intent, "What should I remind you about?");
            };
            let due = match reminder_due(step, now) {
                Ok(due) => due,
                Err(question) => return StepResult::failed(intent, question),
            };
            insert(fx, "reminder", None, Some(text), due.timestamp_millis()).map(|_| {
                format!(
                    "I'll remind you to {text} {} at {}.",
                    say_day(due, now),
                    say_clock(due)
                )
            })
        }
        _ => return StepResult::failed(intent, "I don't know how to do that yet."),
    };
    match result {
        Ok(response) => StepResult::ok(intent, response),
        Err(e) => failure(intent, e),
    }
}

pub(super) fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn memory(intent: &str, step: &Step, fx: &mut Effects) -> StepResult {
    let result: Result<String, EffectError> = match intent {
        "note.create" => match slot(step, "text") {
            Some(text) => fx
                .write(
                    "INSERT INTO notes (text, created_at_ms) VALUES (?1, ?2)",
                    vec![SqlValue::Text(text.into()), SqlValue::Integer(now_ms())],
                )
                .map(|_| "Noted.".into()),
            None => return StepResult::failed(intent, "What should the note say?"),
        },
        "note.list" => (|| {
            let conn = fx.store.connection()?;
            let mut stmt =
                conn.prepare("SELECT text FROM notes ORDER BY created_at_ms DESC LIMIT 5")?;
            let notes: Vec<String> = stmt
                .query_map([], |r| r.get(0))?
                .filter_map(Result::ok)
                .collect();
            Ok(if notes.is_empty() {
                "You have no notes.".into()
            } else {
                format!("Your latest notes: {}.", notes.join("; "))
            })
        })(),
        "list.add" | "list.remove" | "list.show" | "list.create" => {
            let said = slot(step, "list").unwrap_or("shopping");
            // A list that exists under a name said another way ("grocery" for
            // "groceries", Whisper's "shoping"); a new list is made only by list.create
            // or under a name like no other.
            let list = match intent {
                "list.create" => said.to_owned(),
                _ => stored_name(fx, said, "SELECT name FROM lists", &[]),
            };
            let list = list.as_str();
            let item = slot(step, "item").map(|said| match intent {
                // The item as it stands on the list ("apples" for "apple").
                "list.remove" => stored_name(
                    fx,
                    said,
                    "SELECT i.item FROM list_items i JOIN lists l ON l.id = i.list_id WHERE l.name = ?1",
                    &[list],
                ),
                _ => said.to_owned(),
            });
            let item = item.as_deref();
            match (intent, item) {
                ("list.create", _) => fx
                    .write("INSERT INTO lists (name, created_at_ms) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING", vec![SqlValue::Text(list.into()), SqlValue::Integer(now_ms())])
                    .map(|n| if n > 0 { format!("Made a new {list} list.") } else { format!("You already have a {list} list.") }),
                // Confirmed by the executor's "Are you sure?" first.
                ("list.remove", None) => fx
                    .write(
                        "DELETE FROM list_items WHERE list_id = (SELECT id FROM lists WHERE name = ?1)",
                        vec![SqlValue::Text(list.into())],
                    )
                    .map(|n| format!("Emptied your {list} list ({n} item{}).", if n == 1 { "" } else { "s" })),
                ("list.add", Some(item)) => fx
                    .write("INSERT INTO lists (name, created_at_ms) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING", vec![SqlValue::Text(list.into()), SqlValue::Integer(now_ms())])
                    .and_then(|_| {
                        fx.write(
                            "INSERT INTO list_items (list_id, item, added_at_ms) SELECT id, ?2, ?3 FROM lists WHERE name = ?1 ON CONFLICT (list_id, item) DO NOTHING",
                            vec![SqlValue::Text(list.into()), SqlValue::Text(item.into()), SqlValue::Integer(now_ms())],
                        )
                    })
                    .map(|_| format!("Added {item} to your {list} list.")),
                ("list.remove", Some(item)) => fx
                    .write(
                        "DELETE FROM list_items WHERE item = ?2 AND list_id = (SELECT id FROM lists WHERE name = ?1)",
                        vec![SqlValue::Text(list.into()), SqlValue::Text(item.into())],
                    )
                    .map(|n| if n > 0 { format!("Removed {item} from your {list} list.") } else { format!("{item} isn't on your {list} list.") }),
                ("list.show", _) => (|| {
                    let conn = fx.store.connection()?;
                    let mut stmt = conn.prepare(
                        "SELECT i.item FROM list_items i JOIN lists l ON l.id = i.list_id WHERE l.name = ?1 ORDER BY i.added_at_ms",
                    )?;
                    let items: Vec<String> = stmt.query_map([list], |r| r.get(0))?.filter_map(Result::ok).collect();
                    Ok(if items.is_empty() { format!("Your {list} list is empty.") } else { format!("On your {list} list: {}.", items.join(", ")) })
                })(),
                _ => return StepResult::failed(intent, "Which item?"),
            }
        }
        _ => return StepResult::failed(intent, "I don't know how to do that yet."),
    };
    match result {
        Ok(response) => StepResult::ok(intent, response),
        Err(e) => failure(intent, e),
    }
}

/// The name stored that `said` means (`closest_name` among the first column of the
/// query's rows: names of lists, items of a list), else `said` as it was said; also
/// when the store cannot be read, where the action's own query reports the error.
fn stored_name(fx: &Effects, said: &str, sql: &str, params: &[&str]) -> String {
    let names = || -> Result<Vec<String>, EffectError> {
        let conn = fx.store.connection()?;
        let mut stmt = conn.prepare(sql)?;
        let names = stmt
            .query_map(rusqlite::params_from_iter(params), |r| r.get(0))?
            .filter_map(Result::ok)
            .collect();
        Ok(names)
    };
    names()
        .ok()
        .and_then(|known| closest_name(said, &known).map(str::to_owned))
        .unwrap_or_else(|| said.to_owned())
}

/// Which of `known` a name said means: the same name; else the same word in the
/// singular ("groceries" / "grocery", "tomatoes" / "tomato"); else the one name of five
/// letters or more that a slip of hearing or typing away ("shoping", "bannanas").
/// None when nothing is that close, or two are equally close.
pub fn closest_name<'a>(said: &str, known: &'a [String]) -> Option<&'a str> {
    if let Some(same) = known.iter().find(|k| k.as_str() == said) {
        return Some(same);
    }
    let singular = |w: &str| -> Vec<String> {
        let mut forms = vec![w.to_owned()];
        if let Some(stem) = w.strip_suffix("ies") {
            forms.push(format!("{stem}y"));
        }
        if let Some(stem) = w.strip_suffix("es") {
            forms.push(stem.to_owned());
        }
        if let Some(stem) = w.strip_suffix('s') {
            forms.push(stem.to_owned());
        }
        forms
    };
    let said_forms = singular(said);
    let same_word: Vec<&String> = known
        .iter()
        .filter(|k| singular(k).iter().any(|f| said_forms.contains(f)))
        .collect();
    if let [one] = same_word.as_slice() {
        return Some(one.as_str());
    }
    if said.chars().count() < 5 {
        return None;
    }
    let mut scored: Vec<(f64, &String)> = known
        .iter()
        .filter(|k| k.chars().count() >= 5)
        .map(|k| (strsim::normalized_damerau_levenshtein(said, k), k))
        .filter(|(score, _)| *score >= 0.8)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    match scored.as_slice() {
        [(best, name), rest @ ..] if rest.first().is_none_or(|(next, _)| next < best) => {
            Some(name.as_str())
        }
        _ => None,
    }
}

/// Arithmetic with evalexpr: numbers and operators only, no variables, no code.
pub fn evaluate(expression: &str) -> Option<f64> {
    let prepared = expression
        .replace("sqrt(", "math::sqrt(")
        .replace("cbrt(", "math::cbrt(");
    // Whole numbers as floats, so 7 / 2 is 3.5.
    let mut floats = String::with_capacity(prepared.len() + 8);
    let chars: Vec<char> = prepared.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        floats.push(*c);
        let ends_number = c.is_ascii_digit()
            && chars
                .get(i + 1)
                .is_none_or(|n| !n.is_ascii_digit() && *n != '.');
        let in_decimal = chars[..=i]
            .iter()
            .rev()
            .take_while(|ch| ch.is_ascii_digit() || **ch == '.')
            .any(|ch| *ch == '.');
        if ends_number && !in_decimal {
            floats.push_str(".0");
        }
    }
    let value = evalexpr::eval_number(&floats).ok()?;
    value.is_finite().then_some(value)
}

fn calc(step: &Step) -> StepResult {
    let intent = "calc.evaluate";
    let Some(expression) = slot(step, "expression") else {
        return StepResult::failed(intent, "What should I calculate?");
    };
    match evaluate(expression) {
        Some(v) => {
            let shown = if v.fract() == 0.0 && v.abs() < 1e15 {
                format!("{}", v as i64)
            } else {
                format!("{:.4}", v)
                    .trim_end_matches('0')
                    .trim_end_matches('.')
                    .to_owned()
            };
            StepResult::ok(intent, format!("It's {shown}."))
        }
        None => StepResult::failed(intent, "I couldn't work that out."),
    }
}

fn web_search(step: &Step, fx: &mut Effects, settings: &ExecSettings) -> StepResult {
    let intent = "web.search";
    let Some(query) = slot(step, "query") else {
        return StepResult::failed(intent, "What should I search for?");
    };
    let encoded = percent_encoding::utf8_percent_encode(query, percent_encoding::NON_ALPHANUMERIC)
        .to_string();
    let url = settings.search_url.replace("{query}", &encoded);
    match fx.spawn("xdg-open", &[url]) {
        Ok(_) => StepResult::ok(intent, format!("Searching the web for {query}.")),
        Err(e) => failure(intent, e),
    }
}

fn apps(intent: &str, step: &Step, fx: &mut Effects) -> StepResult {
    let Some(app) = slot(step, "app") else {
        return StepResult::failed(intent, "Which app?");
    };
    if intent == "app.open" {
        let index = AppIndex::current();
        let Some(found) = index.find(app) else {
            return StepResult::failed(intent, format!("I couldn't find an app called {app}."));
        };
        return match fx.spawn(&found.command[0], &found.command[1..]) {
            Ok(pid) => {
                if let Some(pid) = pid {
                    fx.launched
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(app.to_owned(), pid);
                }
                StepResult::ok(intent, format!("Opening {}.", found.name))
            }
            Err(e) => failure(intent, e),
        };
    }
    // Close what we launched first, else a running process of that app.
    let launched = fx
        .launched
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(app);
    let pid = launched.or_else(|| running_pid(app));
    match pid {
        Some(pid) => match fx.terminate(pid) {
            Ok(()) => StepResult::ok(intent, format!("Closing {app}.")),
            Err(e) => failure(intent, e),
        },
        None => StepResult::failed(intent, format!("{} isn't running.", capitalize(app))),
    }
}

/// The newest running process that is `app`: its program is the app's Exec program
/// and its arguments begin with the Exec arguments. (Matching the name alone would
/// close any process of that program — a `sleep` in someone's shell, say.)
fn running_pid(app: &str) -> Option<u32> {
    let command = AppIndex::current().find(app).map(|a| a.command.clone())?;
    let base = |p: &str| p.rsplit('/').next().unwrap_or(p).to_owned();
    let program = base(&command[0]);
    let mut system = sysinfo::System::new().ok()?;
    // Command lines are not read unless asked for.
    let kind = sysinfo::ProcessRefreshKind::nothing().with_cmd(sysinfo::UpdateKind::Always);
    system.refresh_processes_specifics(sysinfo::ProcessesToUpdate::All, true, kind);
    system
        .processes()
        .values()
        .filter(|p| {
            let cmd: Vec<String> = p
                .cmd()
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect();
            cmd.first().is_some_and(|c0| base(c0) == program)
                && cmd.len() > command.len() - 1
                && cmd[1..].starts_with(&command[1..])
        })
        .max_by_key(|p| p.start_time())
        .map(|p| p.pid().as_u32())
}

/// The folder `name` directly under one of `roots`, matched without regard to case:
/// one plain name (no separator, no `..`), and no symlink leading out of its root.
fn folder_under(roots: &[std::path::PathBuf], name: &str) -> Option<std::path::PathBuf> {
    if name.is_empty() || name.contains(['/', '\\']) || name == "." || name == ".." {
        return None;
    }
    roots.iter().find_map(|root| {
        let root = root.canonicalize().ok()?;
        std::fs::read_dir(&root)
            .ok()?
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().eq_ignore_ascii_case(name))
            .find_map(|e| {
                let path = e.path().canonicalize().ok()?;
                (path.starts_with(&root) && path.is_dir()).then_some(path)
            })
    })
}

fn files(intent: &str, step: &Step, fx: &mut Effects, settings: &ExecSettings) -> StepResult {
    if intent == "folder.open" {
        let Some(folder) = slot(step, "folder") else {
            return StepResult::failed(intent, "Which folder?");
        };
        let path = match folder {
            "home" => dirs::home_dir(),
            "downloads" => dirs::download_dir(),
            "documents" => dirs::document_dir(),
            "pictures" | "photos" | "screenshots" => dirs::picture_dir(),
            "music" => dirs::audio_dir(),
            "videos" => dirs::video_dir(),
            "desktop" => dirs::desktop_dir(),
            other => folder_under(&settings.roots(), other),
        };
        let Some(path) = path.filter(|p| p.is_dir()) else {
            return StepResult::failed(intent, format!("I couldn't find your {folder} folder."));
        };
        return match fx.spawn("xdg-open", &[path.display().to_string()]) {
            Ok(_) => StepResult::ok(intent, format!("Opening {folder}.")),
            Err(e) => failure(intent, e),
        };
    }
    let Some(query) = slot(step, "query") else {
        return StepResult::failed(intent, "What should I look for?");
    };
    let found: Result<Vec<String>, EffectError> = (|| {
        let conn = fx.store.connection()?;
        let terms: Vec<String> = query
            .split_whitespace()
            .map(|w| format!("\"{}\"*", w.replace('"', "")))
            .collect();
        let mut stmt = conn.prepare(
            "SELECT f.path FROM files_fts JOIN files f ON f.id = files_fts.rowid WHERE files_fts MATCH ?1 ORDER BY rank LIMIT 5",
        )?;
        let paths: Vec<String> = stmt
            .query_map([terms.join(" ")], |r| r.get(0))?
            .filter_map(Result::ok)
            .collect();
        Ok(paths)
    })();
    match found {
        Ok(paths) if paths.is_empty() => {
            StepResult::failed(intent, format!("I found no files matching {query}."))
        }
        Ok(paths) => StepResult::ok(
            intent,
            format!("I found {}: {}.", paths.len(), paths.join(", ")),
        ),
        Err(e) => failure(intent, e),
    }
}

fn volume(intent: &str, step: &Step, fx: &mut Effects) -> StepResult {
    let step_pct = slot_u64(step, "step_pct").unwrap_or(10);
    let level = slot_u64(step, "level_pct");
    let Some(tool) = first_available(&["wpctl", "pactl", "amixer"]) else {
        return StepResult::failed(
            intent,
            "I can't change the volume here: none of wpctl, pactl or amixer is installed.",
        );
    };
    let args: Vec<String> = match (tool, intent) {
        ("wpctl", "volume.up") => vec![
            "set-volume".into(),
            "-l".into(),
            "1.0".into(),
            "@DEFAULT_AUDIO_SINK@".into(),
            format!("{step_pct}%+"),
        ],
        ("wpctl", "volume.down") => vec![
            "set-volume".into(),
            "@DEFAULT_AUDIO_SINK@".into(),
            format!("{step_pct}%-"),
        ],
        ("wpctl", "volume.set") => vec![
            "set-volume".into(),
            "@DEFAULT_AUDIO_SINK@".into(),
            format!("{}%", level.unwrap_or(50)),
        ],
        ("wpctl", "volume.mute") => {
            vec!["set-mute".into(), "@DEFAULT_AUDIO_SINK@".into(), "1".into()]
        }
        ("wpctl", _) => vec!["set-mute".into(), "@DEFAULT_AUDIO_SINK@".into(), "0".into()],
        ("pactl", "volume.up") => vec![
            "set-sink-volume".into(),
            "@DEFAULT_SINK@".into(),
            format!("+{step_pct}%"),
        ],
        ("pactl", "volume.down") => vec![
            "set-sink-volume".into(),
            "@DEFAULT_SINK@".into(),
            format!("-{step_pct}%"),
        ],
        ("pactl", "volume.set") => vec![
            "set-sink-volume".into(),
            "@DEFAULT_SINK@".into(),
            format!("{}%", level.unwrap_or(50)),
        ],
        ("pactl", "volume.mute") => {
            vec!["set-sink-mute".into(), "@DEFAULT_SINK@".into(), "1".into()]
        }
        ("pactl", _) => vec!["set-sink-mute".into(), "@DEFAULT_SINK@".into(), "0".into()],
        (_, "volume.up") => vec![
            "-q".into(),
            "sset".into(),
            "Master".into(),
            format!("{step_pct}%+"),
        ],
        (_, "volume.down") => vec![
            "-q".into(),
            "sset".into(),
            "Master".into(),
            format!("{step_pct}%-"),
        ],
        (_, "volume.set") => vec![
            "-q".into(),
            "sset".into(),
            "Master".into(),
            format!("{}%", level.unwrap_or(50)),
        ],
        (_, "volume.mute") => vec!["-q".into(), "sset".into(), "Master".into(), "mute".into()],
        (_, _) => vec!["-q".into(), "sset".into(), "Master".into(), "unmute".into()],
    };
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match fx.run(tool, &args) {
        Ok(_) => StepResult::ok(
            intent,
            match intent {
                "volume.up" => "Turning it up.".to_owned(),
                "volume.down" => "Turning it down.".to_owned(),
                "volume.set" => format!("Volume at {}%.", level.unwrap_or(50)),
                "volume.mute" => "Muted.".to_owned(),
                _ => "Sound is back on.".to_owned(),
            },
        ),
        Err(e) => failure(intent, e),
    }
}

fn brightness(intent: &str, step: &Step, fx: &mut Effects) -> StepResult {
    if !Effects::available("brightnessctl") {
        return StepResult::failed(
            intent,
            "I can't change the brightness here: brightnessctl is not installed.",
        );
    }
    let change = match intent {
        "brightness.up" => format!("{}%+", slot_u64(step, "step_pct").unwrap_or(10)),
        "brightness.down" => format!("{}%-", slot_u64(step, "step_pct").unwrap_or(10)),
        _ => format!("{}%", slot_u64(step, "level_pct").unwrap_or(50)),
    };
    match fx.run("brightnessctl", &["set", &change]) {
        Ok(_) => StepResult::ok(intent, "Done."),
        Err(e) => failure(intent, e),
    }
}

fn media(intent: &str, step: &Step, fx: &mut Effects) -> StepResult {
    use super::mpris::Mpris;
    // Finding the players is a read: it happens in a dry run too.
    let Ok(bus) = Mpris::session() else {
        return StepResult::failed(
            intent,
            "I can't control media here: there is no D-Bus session bus for MPRIS players.",
        );
    };
    let player = match bus.players() {
        Ok(players) => match players.into_iter().next() {
            Some(player) => player,
            None => return StepResult::failed(intent, "No media player is running."),
        },
        Err(e) => {
            return failure(
                intent,
                EffectError::Failed {
                    program: "D-Bus".into(),
                    reason: e.to_string(),
                },
            )
        }
    };
    let method = match intent {
        "media.play" | "media.resume" => "Play",
        "media.pause" => "Pause",
        "media.next" => "Next",
        "media.previous" => "Previous",
        _ => "Stop",
    };
    match fx.mpris_call(&bus, &player, method) {
        Ok(_) => StepResult::ok(
            intent,
            match (intent, slot(step, "query")) {
                ("media.play", Some(q)) => {
                    format!("Playing. (I can't pick {q} yet; resuming your player.)")
                }
                ("media.pause", _) => "Paused.".into(),
                ("media.next", _) => "Next.".into(),
                ("media.previous", _) => "Going back.".into(),
                ("media.stop", _) => "Stopped.".into(),
                _ => "Playing.".into(),
            },
        ),
        Err(e) => failure(intent, e),
    }
}

fn system(intent: &str, step: &Step, fx: &mut Effects) -> StepResult {
    if intent == "system.stats" {
        return StepResult::ok(intent, stats(slot(step, "metric").unwrap_or("all")));
    }
    let (program, args): (&str, &[&str]) = match intent {
        "system.lock" => ("loginctl", &["lock-session"]),
        "system.sleep" => ("systemctl", &["suspend"]),
        "system.shutdown" => ("systemctl", &["poweroff"]),
        _ => ("systemctl", &["reboot"]),
    };
    match fx.run(program, args) {
        Ok(_) => StepResult::ok(
            intent,
            match intent {
                "system.lock" => "Locking the screen.",
                "system.sleep" => "Going to sleep.",
                "system.shutdown" => "Shutting down.",
                _ => "Restarting.",
            },
        ),
        Err(e) => failure(intent, e),
    }
}

fn battery() -> Option<u64> {
    let dir = std::fs::read_dir("/sys/class/power_supply").ok()?;
    dir.filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("BAT"))
        .find_map(|e| {
            std::fs::read_to_string(e.path().join("capacity"))
                .ok()?
                .trim()
                .parse()
                .ok()
        })
}

fn stats(metric: &str) -> String {
    let Ok(mut system) = sysinfo::System::new() else {
        return "I can't read this machine's statistics.".into();
    };
    let mut parts = Vec::new();
    if matches!(metric, "cpu" | "all") {
        system.refresh_cpu_usage();
        std::thread::sleep(sysinfo::MINIMUM_CPU_UPDATE_INTERVAL);
        system.refresh_cpu_usage();
        parts.push(format!("CPU at {:.0}%", system.global_cpu_usage()));
    }
    if matches!(metric, "memory" | "all") {
        system.refresh_memory();
        let gb = |b: u64| b as f64 / 1024f64.powi(3);
        parts.push(format!(
            "memory {:.1} of {:.1} GB used",
            gb(system.used_memory()),
            gb(system.total_memory())
        ));
    }
    if matches!(metric, "disk" | "all") {
        let disks = sysinfo::Disks::new_with_refreshed_list().ok();
        if let Some(root) = disks
            .iter()
            .flat_map(|d| d.iter())
            .find(|d| d.mount_point() == std::path::Path::new("/"))
        {
            let gb = |b: u64| b as f64 / 1e9;
            parts.push(format!("{:.0} GB free on disk", gb(root.available_space())));
        }
    }
    if matches!(metric, "battery" | "all") {
        match battery() {
            Some(pct) => parts.push(format!("battery at {pct}%")),
            None if metric == "battery" => parts.push("no battery on this machine".into()),
            None => {}
        }
    }
    let mut s = capitalize(&parts.join(", "));
    s.push('.');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_is_opened_only_inside_the_roots() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("home");
        std::fs::create_dir_all(root.join("Projects/luna")).unwrap();
        std::fs::create_dir_all(dir.path().join("outside")).unwrap();
        std::fs::write(root.join("notes.txt"), "x").unwrap();
        std::os::unix::fs::symlink(dir.path().join("outside"), root.join("escape")).unwrap();
        std::os::unix::fs::symlink(root.join("Projects"), root.join("work")).unwrap();
        let roots = [root.clone()];
        let found = |name: &str| folder_under(&roots, name);
        let projects = root.join("Projects").canonicalize().unwrap();
        assert_eq!(found("projects"), Some(projects.clone()));
        assert_eq!(
            found("work"),
            Some(projects),
            "a link within the root is fine"
        );
        for outside in [
            "escape",
            "..",
            "../outside",
            "/etc",
            "Projects/luna",
            "notes.txt",
            "missing",
            "",
        ] {
            assert_eq!(found(outside), None, "{outside:?}");
        }
    }

    #[test]
    fn a_name_said_another_way_is_the_one_known() {
        let known: Vec<String> = [
            "groceries",
            "shopping",
            "camping",
            "apples",
            "tomato",
            "to do",
        ]
        .map(String::from)
        .to_vec();
        let meant = |said: &str| closest_name(said, &known);
        assert_eq!(meant("shopping"), Some("shopping"));
        assert_eq!(meant("grocery"), Some("groceries"));
        assert_eq!(meant("apple"), Some("apples"));
        assert_eq!(meant("tomatoes"), Some("tomato"));
        assert_eq!(meant("shoping"), Some("shopping"));
        assert_eq!(meant("campin"), Some("camping"));
        // Unlike names, and short ones a letter apart, are other names.
        for other in ["packing", "work", "bread", "milk", "ping"] {
            assert_eq!(meant(other), None, "{other}");
        }
        // Two names equally close: neither is guessed.
        let twins: Vec<String> = ["batch", "match"].map(String::from).to_vec();
        assert_eq!(closest_name("hatch", &twins), None);
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(say_duration(300), "5 minutes");
        assert_eq!(say_duration(5400), "1 hour and 30 minutes");
        assert_eq!(say_duration(3661), "1 hour, 1 minute and 1 second");
        assert_eq!(say_duration(0), "0 seconds");
    }

    #[test]
    fn arithmetic_is_evaluated_without_code() {
        assert_eq!(evaluate("15 * 7"), Some(105.0));
        assert_eq!(evaluate("7 / 2"), Some(3.5));
        assert_eq!(evaluate("sqrt(81)"), Some(9.0));
        assert_eq!(evaluate("2 ^ 10"), Some(1024.0));
        assert_eq!(evaluate("20 / 100 * 80"), Some(16.0));
        assert_eq!(evaluate("1.5 + 2.25"), Some(3.75));
        assert_eq!(evaluate("1 / 0"), None);
        assert_eq!(evaluate("x = 5"), None);
        assert_eq!(evaluate("\"a\" + \"b\""), None);
    }

    #[test]
    fn next_occurrences() {
        let now = Local.with_ymd_and_hms(2026, 11, 27, 10, 0, 0).unwrap(); // a Friday
        let at = |t, d| {
            next_occurrence(t, d, now)
                .unwrap()
                .format("%a %H:%M")
                .to_string()
        };
        assert_eq!(at("11:30", None), "Fri 11:30");
        assert_eq!(at("07:00", None), "Sat 07:00");
        assert_eq!(at("07:00", Some("tomorrow")), "Sat 07:00");
        assert_eq!(at("08:00", Some("monday")), "Mon 08:00");
        assert_eq!(at("09:00", Some("friday")), "Fri 09:00");
        assert_eq!(
            next_occurrence("09:00", Some("friday"), now).unwrap().day(),
            4
        );
        assert!(next_occurrence("25:00", None, now).is_none());
    }

    #[test]
    fn a_reminder_is_due_on_its_day() {
        let now = Local.with_ymd_and_hms(2026, 11, 27, 10, 0, 0).unwrap(); // a Friday
        let due = |slots: serde_json::Value| {
            let step = Step {
                id: 0,
                intent: "reminder.create".into(),
                slots: serde_json::from_value(slots).unwrap(),
            };
            reminder_due(&step, now).map(|d| d.format("%a %d %H:%M").to_string())
        };
        // A day and a time; a day alone is 9:00 that day; a time alone when it next comes.
        assert_eq!(
            due(serde_json::json!({"date": "monday", "at": "18:30"})).unwrap(),
            "Mon 30 18:30"
        );
        assert_eq!(
            due(serde_json::json!({"date": "12-14"})).unwrap(),
            "Mon 14 09:00"
        );
        assert_eq!(
            due(serde_json::json!({"at": "08:00"})).unwrap(),
            "Sat 28 08:00"
        );
        assert_eq!(
            due(serde_json::json!({"in_s": 600})).unwrap(),
            "Fri 27 10:10"
        );
        // Today at a time gone, or today with no time after 9:00: ask, never guess.
        assert!(due(serde_json::json!({"date": "today", "at": "08:00"})).is_err());
        assert!(due(serde_json::json!({"date": "today"})).is_err());
        assert_eq!(
            due(serde_json::json!({"date": "today", "at": "17:00"})).unwrap(),
            "Fri 27 17:00"
        );
        assert!(due(serde_json::json!({})).is_err());
    }

    #[test]
    fn an_event_moves_by_so_much() {
        assert_eq!(
            shifted("2026-12-07", Some("15:00"), 3600),
            Some(("2026-12-07".into(), Some("16:00".into())))
        );
        assert_eq!(
            shifted("2026-12-07", Some("23:30"), 3600),
            Some(("2026-12-08".into(), Some("00:30".into())))
        );
        assert_eq!(
            shifted("2026-12-07", Some("09:00"), -1800),
            Some(("2026-12-07".into(), Some("08:30".into())))
        );
        assert_eq!(shifted("2026-12-07", None, 3600), None);
    }

    #[test]
    fn days_are_said_from_today() {
        let now = Local.with_ymd_and_hms(2026, 11, 27, 10, 0, 0).unwrap(); // a Friday
        let day = |d: i64| say_day(now + ChronoDuration::days(d), now);
        assert_eq!(day(0), "today");
        assert_eq!(day(1), "tomorrow");
        assert_eq!(day(3), "on Monday");
        assert_eq!(day(17), "on December 14");
    }
}
