//! The intent catalogue: names and slot keys are a contract with the executor, the
//! store, the tests and our evaluations.

/// Internal: "and spotify too" — the previous command again with a new app.
pub const CONTEXT_ALSO: &str = "context.also";

pub const UNKNOWN: &str = "unknown";

/// (intent, required slots, optional slots)
pub const INTENTS: &[(&str, &[&str], &[&str])] = &[
    ("app.open", &["app"], &[]),
    ("app.close", &["app"], &[]),
    ("folder.open", &["folder"], &[]),
    ("file.search", &["query"], &[]),
    ("volume.up", &[], &["step_pct"]),
    ("volume.down", &[], &["step_pct"]),
    ("volume.set", &["level_pct"], &[]),
    ("volume.mute", &[], &[]),
    ("volume.unmute", &[], &[]),
    ("brightness.up", &[], &["step_pct"]),
    ("brightness.down", &[], &["step_pct"]),
    ("brightness.set", &["level_pct"], &[]),
    ("media.play", &[], &["query"]),
    ("media.pause", &[], &[]),
    ("media.resume", &[], &[]),
    ("media.next", &[], &[]),
    ("media.previous", &[], &[]),
    ("media.stop", &[], &[]),
    ("system.lock", &[], &[]),
    ("system.sleep", &[], &[]),
    ("system.shutdown", &[], &[]),
    ("system.restart", &[], &[]),
    ("system.stats", &["metric"], &[]),
    ("time.now", &[], &[]),
    ("date.today", &[], &[]),
    ("timer.start", &["duration_s"], &["name"]),
    ("timer.cancel", &[], &["name"]),
    ("timer.status", &[], &["name"]),
    ("alarm.set", &["time"], &["day"]),
    ("alarm.list", &[], &[]),
    ("alarm.cancel", &[], &["time"]),
    ("reminder.create", &["text"], &["at", "in_s"]),
    ("reminder.list", &[], &[]),
    ("reminder.cancel", &[], &["text"]),
    ("note.create", &["text"], &[]),
    ("note.list", &[], &[]),
    ("list.add", &["item", "list"], &[]),
    ("list.remove", &["item", "list"], &[]),
    ("list.show", &["list"], &[]),
    ("calc.evaluate", &["expression"], &[]),
    ("web.search", &["query"], &[]),
    ("weather.get", &[], &["location"]),
    ("joke.tell", &[], &[]),
    ("assistant.greet", &[], &[]),
    ("assistant.thanks", &[], &[]),
    ("assistant.help", &[], &[]),
    ("assistant.cancel", &[], &[]),
    ("assistant.confirm", &[], &[]),
    ("assistant.deny", &[], &[]),
    ("assistant.repeat", &[], &[]),
    ("assistant.stop", &[], &[]),
];

pub fn is_known_intent(name: &str) -> bool {
    INTENTS.iter().any(|(n, _, _)| *n == name)
}

pub fn required_slots(name: &str) -> &'static [&'static str] {
    INTENTS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map_or(&[], |(_, required, _)| required)
}

pub fn allowed_slots(name: &str) -> impl Iterator<Item = &'static str> + '_ {
    INTENTS
        .iter()
        .filter(move |(n, _, _)| *n == name)
        .flat_map(|(_, required, optional)| required.iter().chain(optional.iter()).copied())
}
