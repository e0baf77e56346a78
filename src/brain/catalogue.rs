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
    ("volume.up", &[], &["step_pct", "room"]),
    ("volume.down", &[], &["step_pct", "room"]),
    ("volume.set", &["level_pct"], &["room"]),
    ("volume.mute", &[], &["room"]),
    ("volume.unmute", &[], &["room"]),
    ("brightness.up", &[], &["step_pct"]),
    ("brightness.down", &[], &["step_pct"]),
    ("brightness.set", &["level_pct"], &[]),
    // `query`: what was asked for, as said ("the beatles", "bbc radio 4"); `kind`: what
    // it is when the words say so: "artist", "song", "album", "genre", "playlist",
    // "radio", "podcast" or "audiobook".
    ("media.play", &[], &["query", "kind", "room"]),
    ("media.pause", &[], &["room"]),
    ("media.resume", &[], &["room"]),
    ("media.next", &[], &["room"]),
    ("media.previous", &[], &["room"]),
    ("media.stop", &[], &["room"]),
    ("system.lock", &[], &[]),
    ("system.sleep", &[], &[]),
    ("system.shutdown", &[], &[]),
    ("system.restart", &[], &[]),
    ("system.stats", &["metric"], &[]),
    // `location`: a city, state, country or zone ("tokyo", "pacific time"): the time there.
    ("time.now", &[], &["location"]),
    ("date.today", &[], &[]),
    // Another day: `date` (see below) or `holiday` ("easter", "christmas"); `ask` is
    // "weekday" (what day of the week), "until" (how many days until) or "when";
    // `year` the year a holiday is asked for ("when is diwali in 2027": 2027).
    ("date.query", &[], &["date", "holiday", "ask", "year"]),
    // `date` slots are context-free words resolved when the step runs: "today",
    // "tomorrow", "monday".."sunday", "next monday", "MM-DD", "YYYY-MM-DD", "weekend",
    // "this week", "next week", "next" (the next event).
    (
        "calendar.create",
        &["title"],
        &["date", "time", "place", "with"],
    ),
    ("calendar.list", &[], &["date"]),
    ("calendar.cancel", &[], &["title", "date"]),
    // `delta_s`: moved by so much ("an hour later": 3600, "half an hour earlier": -1800).
    ("calendar.move", &[], &["title", "date", "time", "delta_s"]),
    // `room`: a room or device named with a timer, volume or media command ("kitchen").
    ("timer.start", &["duration_s"], &["name", "room"]),
    // `all`: true for every timer at once.
    ("timer.cancel", &[], &["name", "all", "room"]),
    ("timer.status", &[], &["name", "all", "room"]),
    // `delta_s`: seconds added to a running or paused timer (negative: taken off).
    ("timer.adjust", &["delta_s"], &["name", "room"]),
    ("timer.pause", &[], &["name", "all", "room"]),
    ("timer.resume", &[], &["name", "all", "room"]),
    ("alarm.set", &["time"], &["day"]),
    ("alarm.list", &[], &[]),
    ("alarm.cancel", &[], &["time"]),
    // `date` as for the calendar: the day to be reminded on ("on friday at 9").
    ("reminder.create", &["text"], &["at", "in_s", "date"]),
    ("reminder.list", &[], &[]),
    ("reminder.cancel", &[], &["text"]),
    ("note.create", &["text"], &[]),
    ("note.list", &[], &[]),
    ("list.add", &["item", "list"], &[]),
    // Without `item`: empty the whole list (asks first).
    ("list.remove", &["list"], &["item"]),
    ("list.show", &["list"], &[]),
    ("list.create", &["list"], &[]),
    ("calc.evaluate", &["expression"], &[]),
    ("web.search", &["query"], &[]),
    // `date` as for the calendar; `condition`: "rain", "snow", "wind", "humidity",
    // "temperature", "sun", "clothing" when the question is about one.
    ("weather.get", &[], &["location", "date", "condition"]),
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

/// An intent's family, the part before the dot: "volume" for "volume.up".
pub fn family(intent: &str) -> &str {
    intent.split('.').next().unwrap_or("")
}

pub fn is_known_intent(name: &str) -> bool {
    INTENTS.iter().any(|(n, _, _)| *n == name)
}

pub fn required_slots(name: &str) -> &'static [&'static str] {
    INTENTS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map_or(&[], |(_, required, _)| required)
}

/// Whether `name` takes `slot` ("room" for the volume, media and timer intents).
pub fn takes_slot(name: &str, slot: &str) -> bool {
    allowed_slots(name).any(|s| s == slot)
}

pub fn allowed_slots(name: &str) -> impl Iterator<Item = &'static str> + '_ {
    INTENTS
        .iter()
        .filter(move |(n, _, _)| *n == name)
        .flat_map(|(_, required, optional)| required.iter().chain(optional.iter()).copied())
}
