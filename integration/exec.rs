//! `luna say`: typed commands understood, executed (or dry-run) and recorded.

mod support;

use std::path::Path;
use std::process::Command;

use serde_json::json;
use support::luna;

fn say(home: &Path, args: &[&str]) -> serde_json::Value {
    let out = luna(home)
        .arg("say")
        .arg("--json")
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn timers_lists_notes_and_math_work_and_are_remembered() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let v = say(h, &["set a pasta timer for ten minutes"]);
    assert_eq!(v["results"][0]["intent"], "timer.start");
    assert_eq!(v["results"][0]["ok"], true);
    assert_eq!(v["response"], "Pasta timer set for 10 minutes.");
    let v = say(h, &["how much time is left on the pasta timer"]);
    let left = v["response"].as_str().unwrap();
    assert!(
        left.contains("9 minutes") || left.contains("10 minutes"),
        "{left}"
    );
    let v = say(h, &["cancel the pasta timer"]);
    assert_eq!(v["response"], "Pasta timer cancelled.");
    let v = say(h, &["is the pasta timer still running"]);
    assert_eq!(v["response"], "There's no pasta timer running.");

    say(h, &["add milk to my shopping list"]);
    say(h, &["put eggs on the shopping list"]);
    let v = say(h, &["what's on my shopping list"]);
    assert_eq!(v["response"], "On your shopping list: milk, eggs.");
    say(h, &["take milk off my shopping list"]);
    assert_eq!(
        say(h, &["show my shopping list"])["response"],
        "On your shopping list: eggs."
    );
    // Names said another way, or misheard, are the list and the item that exist.
    say(h, &["add tomatoes to my shopping list"]);
    assert_eq!(
        say(h, &["take tomato off my shoping list"])["response"],
        "Removed tomatoes from your shopping list."
    );

    say(h, &["take a note that the boiler man comes on tuesday"]);
    let v = say(h, &["read my notes"]);
    assert!(
        v["response"]
            .as_str()
            .unwrap()
            .contains("the boiler man comes on tuesday"),
        "{v}"
    );

    assert_eq!(say(h, &["what's 15 times 7"])["response"], "It's 105.");

    let history = luna(h)
        .args(["history", "--json", "--limit", "100"])
        .output()
        .unwrap();
    let history: serde_json::Value = serde_json::from_slice(&history.stdout).unwrap();
    let commands = history["commands"].as_array().unwrap();
    assert_eq!(commands.len(), 14);
    assert!(
        commands.iter().all(|c| c["outcome"] == "ok"),
        "{commands:?}"
    );
}

#[test]
fn calendar_world_clock_dates_lists_and_timers_people_ask_for() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let response = |text: &str| say(h, &[text])["response"].as_str().unwrap().to_owned();

    // The calendar: stored, listed, moved, cancelled.
    let v = say(
        h,
        &["put lunch with sarah on my calendar for the day after tomorrow at noon"],
    );
    assert_eq!(v["intents"][0]["intent"], "calendar.create");
    assert_eq!(v["intents"][0]["slots"]["with"], "sarah");
    assert_eq!(v["intents"][0]["slots"]["time"], "12:00");
    let added = v["response"].as_str().unwrap();
    assert!(
        added.starts_with("Added lunch on ") && added.contains("12:00 PM"),
        "{added}"
    );
    let listed = response("what do i have coming up");
    assert!(
        listed.contains("lunch on") && listed.contains("12:00 PM"),
        "{listed}"
    );
    let ics = luna(h).args(["calendar", "export"]).output().unwrap();
    assert!(ics.status.success(), "{ics:?}");
    let ics = String::from_utf8(ics.stdout).unwrap();
    assert!(ics.starts_with("BEGIN:VCALENDAR"), "{ics}");
    assert!(
        ics.contains("SUMMARY:lunch\r\n") && ics.contains("DESCRIPTION:With sarah"),
        "{ics}"
    );
    // Its reminder 10 minutes before moves with it, and goes when it is cancelled.
    let reminders = response("what are my reminders");
    assert!(
        reminders.contains("lunch in 10 minutes") && reminders.contains("11:50 AM"),
        "{reminders}"
    );
    let moved = response("move lunch to 1:30 pm");
    assert!(
        moved.starts_with("Moved lunch") && moved.contains("1:30 PM"),
        "{moved}"
    );
    let pushed = response("push lunch back half an hour");
    assert!(
        pushed.starts_with("Moved lunch") && pushed.contains("2:00 PM"),
        "{pushed}"
    );
    let reminders = response("what are my reminders");
    assert!(
        reminders.starts_with("You have 1 reminder") && reminders.contains("1:50 PM"),
        "{reminders}"
    );
    assert!(response("cancel lunch").starts_with("Cancelled lunch"));
    assert_eq!(response("what are my reminders"), "You have no reminders.");
    assert_eq!(
        response("what's on my calendar"),
        "Nothing coming up on your calendar."
    );

    // Clearing a whole day asks first.
    let v = say(h, &["clear my calendar for tomorrow"]);
    assert_eq!(v["results"][0]["needs_confirmation"], true, "{v}");

    // The time elsewhere is that place's, never the local time.
    let v = say(h, &["what time is it in tokyo"]);
    assert_eq!(v["intents"][0]["slots"]["location"], "tokyo");
    let tokyo = v["response"].as_str().unwrap();
    let now_in_tokyo = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Tokyo)
        .format("%-I:%M %p")
        .to_string();
    assert!(tokyo.starts_with("In Tokyo it's"), "{tokyo}");
    let said_time = tokyo
        .trim_start_matches("In Tokyo it's ")
        .split(' ')
        .take(2)
        .collect::<Vec<_>>()
        .join(" ");
    // "… 9:26 AM." when Tokyo's day is ours, "… 9:26 AM on Sunday." otherwise.
    let said_time = said_time.trim_end_matches('.');
    let a_minute_ago = (chrono::Utc::now() - chrono::Duration::minutes(1))
        .with_timezone(&chrono_tz::Asia::Tokyo)
        .format("%-I:%M %p")
        .to_string();
    assert!(
        said_time == now_in_tokyo || said_time == a_minute_ago,
        "{tokyo} vs {now_in_tokyo}"
    );
    let v = say(h, &["what time is it in narnia"]);
    assert!(
        v["intents"][0]["intent"] == "unknown" || v["results"][0]["ok"] == false,
        "{v}"
    );

    // Days and holidays.
    let christmas = response("how many days until christmas");
    assert!(
        christmas.contains("Christmas") && christmas.contains("December 25"),
        "{christmas}"
    );
    let weekday = response("what day of the week is july 4th 2030");
    assert!(weekday.contains("Thursday, July 4, 2030"), "{weekday}");
    // A holiday in a year named, past or to come; a date a week after a weekday; a
    // date written with slashes.
    let easter = response("when was easter in 2025");
    assert_eq!(easter, "Easter was on Sunday, April 20, 2025.");
    let easter = response("when is easter 2031");
    assert_eq!(easter, "Easter is on Sunday, April 13, 2031.");
    let christmas = response("what day of the week is 12/25/2030");
    assert!(
        christmas.contains("Wednesday, December 25, 2030"),
        "{christmas}"
    );
    let week_on = response("what date is a week from tuesday");
    let tuesday = {
        use chrono::Datelike;
        let today = chrono::Local::now().date_naive();
        let ahead = (7 + 1 - i64::from(today.weekday().num_days_from_monday())) % 7;
        today + chrono::Duration::days(ahead + 7)
    };
    assert!(
        week_on.contains(&tuesday.format("%B %-d").to_string()),
        "{week_on} (want {tuesday})"
    );

    // Lists made, emptied after a yes, items ticked off.
    assert_eq!(
        response("make a new list called camping"),
        "Made a new camping list."
    );
    say(h, &["add tent to my camping list"]);
    say(h, &["add stove to my camping list"]);
    assert_eq!(
        response("check off tent on my camping list"),
        "Removed tent from your camping list."
    );
    let v = say(h, &["empty my camping list"]);
    assert_eq!(v["results"][0]["needs_confirmation"], true, "{v}");
    let v = say(h, &["yes"]);
    assert_eq!(v["response"], "Emptied your camping list (1 item).", "{v}");

    // Every timer at once.
    say(h, &["set a pasta timer for 10 minutes"]);
    say(h, &["set an egg timer for 5 minutes"]);
    let left = response("how much time is left on all my timers");
    assert!(
        left.contains("pasta timer") && left.contains("egg timer"),
        "{left}"
    );
    assert_eq!(response("cancel all timers"), "Cancelled 2 timers.");

    // Weather is understood with its place and day, and answered honestly offline.
    let v = say(h, &["is it going to rain in boston tomorrow"]);
    assert_eq!(v["intents"][0]["slots"]["location"], "boston");
    assert_eq!(v["intents"][0]["slots"]["date"], "tomorrow");
    assert_eq!(v["intents"][0]["slots"]["condition"], "rain");
    assert!(v["response"].as_str().unwrap().contains("offline"), "{v}");
}

#[test]
fn dry_run_reports_what_would_run_and_changes_nothing() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let v = say(
        h,
        &[
            "--dry-run",
            "set an alarm for 7 am and turn the volume up by 20",
        ],
    );
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    let sql = &results[0]["dry_run"][0];
    assert_eq!(sql["kind"], "sql");
    assert!(sql["statement"]
        .as_str()
        .unwrap()
        .starts_with("INSERT INTO schedules"));
    assert_eq!(sql["params"][0], "alarm");
    // Whatever volume tool this machine has, the dry run names it and its arguments.
    if results[1]["ok"] == true {
        let program = &results[1]["dry_run"][0];
        assert_eq!(program["kind"], "program");
        assert!(
            program["args"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a.as_str().unwrap().contains("20")),
            "{program}"
        );
    }
    // Nothing was scheduled.
    assert_eq!(
        say(h, &["what alarms do i have"])["response"],
        "You have no alarms."
    );
}

#[test]
fn destructive_actions_wait_for_confirmation() {
    let home = tempfile::tempdir().unwrap();
    let v = say(home.path(), &["--dry-run", "shut down the computer"]);
    let r = &v["results"][0];
    assert_eq!(r["intent"], "system.shutdown");
    assert_eq!(r["needs_confirmation"], true);
    assert!(
        r.get("dry_run").is_none(),
        "nothing would run before a yes: {r}"
    );
    assert_eq!(
        v["response"],
        "Are you sure you want to shut down the computer?"
    );

    // The next `luna say` answers: yes runs it (here, would run it) once.
    let yes = say(home.path(), &["--dry-run", "yes"]);
    let r = &yes["results"][0];
    assert_eq!(
        (&r["intent"], &r["ok"]),
        (&json!("system.shutdown"), &json!(true)),
        "{yes}"
    );
    assert_ne!(r["needs_confirmation"], json!(true), "{yes}");
    let would_run = r["dry_run"].to_string();
    assert!(would_run.contains("poweroff"), "{yes}");
    let again = say(home.path(), &["--dry-run", "yes"]);
    assert_eq!(again["response"], "There's nothing to confirm.", "{again}");

    // No, anything else, a question asked in a dry run answered for real, or a yes
    // after the timeout: nothing runs.
    for (answer, env_timeout, then) in [
        ("no", None, "OK, I won't."),
        ("what time is it", None, ""),
        ("yes", Some("1"), "There's nothing to confirm."),
    ] {
        let ask = |args: &[&str]| {
            let mut cmd = luna(home.path());
            if let Some(t) = env_timeout {
                cmd.env("LUNA_EXEC__CONFIRM_TIMEOUT_S", t);
            }
            let out = cmd.args(["say", "--json"]).args(args).output().unwrap();
            assert!(out.status.success(), "{out:?}");
            serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
        };
        ask(&["--dry-run", "restart the computer"]);
        if env_timeout.is_some() {
            std::thread::sleep(std::time::Duration::from_millis(1500));
        }
        let v = ask(&["--dry-run", answer]);
        assert!(
            v["results"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["intent"] != "system.restart"),
            "{answer}: {v}"
        );
        if !then.is_empty() {
            assert_eq!(v["response"], then, "{answer}: {v}");
        }
    }
    say(home.path(), &["--dry-run", "put the computer to sleep"]);
    // Not a dry run: the dry run's question is not its to answer. (Denied as well, so
    // that a failure here cannot suspend the machine running the test.)
    let out = luna(home.path())
        .env("LUNA_EXEC__DENY", "[\"system.*\"]")
        .args(["say", "--json", "yes"])
        .output()
        .unwrap();
    let real: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(real["response"], "There's nothing to confirm.", "{real}");
}

#[test]
fn denied_intents_do_not_run() {
    let home = tempfile::tempdir().unwrap();
    let out = luna(home.path())
        .env("LUNA_EXEC__DENY", "[\"joke.*\"]")
        .args(["say", "--json", "tell me a joke"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["results"][0]["ok"], false);
    assert!(
        v["response"].as_str().unwrap().contains("turned off"),
        "{v}"
    );
}

#[test]
fn an_app_from_a_desktop_entry_is_launched_without_a_shell_and_closed() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let apps = h.join("data/applications");
    std::fs::create_dir_all(&apps).unwrap();
    // A real program, with arguments and a field code that must be dropped.
    // A duration unique to this run, so no other sleep is mistaken for the app.
    let seconds = format!("47.{}", std::process::id());
    std::fs::write(
        apps.join("org.luna.Sleeper.desktop"),
        format!("[Desktop Entry]\nType=Application\nName=Moon Sleeper\nExec=sleep {seconds} %U\n"),
    )
    .unwrap();
    let v = say(h, &["open moon sleeper"]);
    assert_eq!(v["results"][0]["ok"], true, "{v}");
    let running = || {
        Command::new("pgrep")
            .args(["-f", &format!("^sleep {seconds}$")])
            .output()
            .unwrap()
            .status
            .success()
    };
    let started = std::time::Instant::now();
    while !running() {
        assert!(started.elapsed().as_secs() < 5, "the app never started");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let v = say(h, &["close moon sleeper"]);
    assert_eq!(v["results"][0]["ok"], true, "{v}");
    let started = std::time::Instant::now();
    while running() {
        assert!(started.elapsed().as_secs() < 5, "the app was not closed");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn shell_injection_runs_nothing() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let canary = h.join("canary");
    std::fs::write(&canary, "still here").unwrap();
    for text in [
        "open firefox; rm -rf ~",
        "open $(rm -rf ~)",
        "search for `rm -rf ~`",
        "open firefox && touch ~/pwned",
    ] {
        let v = say(h, &[text]);
        for r in v["results"].as_array().unwrap() {
            let shown = r.to_string();
            assert!(
                !shown.contains("rm -rf") || r["intent"] == "web.search",
                "{text}: {shown}"
            );
        }
        let dry = say(h, &["--dry-run", text]);
        for r in dry["results"].as_array().unwrap() {
            for record in r["dry_run"].as_array().into_iter().flatten() {
                assert_ne!(record["program"], "sh", "{text}: {record}");
                assert_ne!(record["program"], "bash", "{text}: {record}");
            }
        }
    }
    assert!(canary.exists());
    assert!(!h.join("pwned").exists());
    // A folder named with a path opens nothing outside the home folder (the roots).
    std::fs::create_dir_all(h.join("etc")).unwrap();
    for text in [
        "open the ../../etc folder",
        "open the /etc folder",
        "open my ../.. folder",
    ] {
        let dry = say(h, &["--dry-run", text]);
        for r in dry["results"].as_array().unwrap() {
            for record in r["dry_run"].as_array().into_iter().flatten() {
                let args = record["args"].to_string();
                assert!(
                    !args.contains("\"/etc") && !args.contains(".."),
                    "{text}: {record}"
                );
            }
        }
    }
}

#[test]
fn the_reply_can_be_written_as_speech() {
    let home = tempfile::tempdir().unwrap();
    let wav = home.path().join("reply.wav");
    let out = luna(home.path())
        .args(["say", "what's 2 plus 2", "--wav"])
        .arg(&wav)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "It's 4.");
    let audio = luna::audio::wav::read(&wav).unwrap();
    assert!(audio.seconds() > 0.4, "{} s", audio.seconds());
}

#[test]
fn indexed_files_are_found_by_voice_command() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let docs = h.join("Documents/taxes");
    std::fs::create_dir_all(&docs).unwrap();
    std::fs::write(docs.join("tax-report_2025.pdf"), "pdf").unwrap();
    std::fs::write(h.join("Documents/recipe.txt"), "soup").unwrap();
    let out = luna(h)
        .env(
            "LUNA_FILES__ROOTS",
            format!("[\"{}\"]", h.join("Documents").display()),
        )
        .args(["index", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["added"], 2);
    let v = say(h, &["find my tax report pdf"]);
    assert_eq!(v["results"][0]["intent"], "file.search");
    assert!(
        v["response"]
            .as_str()
            .unwrap()
            .contains("tax-report_2025.pdf"),
        "{v}"
    );
    let v = say(h, &["find the invoice documents"]);
    assert_eq!(v["results"][0]["ok"], false, "{v}");
}

#[test]
fn closing_an_app_leaves_other_processes_of_its_program_alone() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let apps = h.join("data/applications");
    std::fs::create_dir_all(&apps).unwrap();
    std::fs::write(
        apps.join("org.luna.Napper.desktop"),
        "[Desktop Entry]\nType=Application\nName=Moon Napper\nExec=sleep 61.25\n",
    )
    .unwrap();
    // Someone else's sleep, not started by LUNA and not the app.
    let mut other = Command::new("sleep").arg("63.5").spawn().unwrap();
    let v = say(h, &["close moon napper"]);
    assert_eq!(v["results"][0]["ok"], false, "nothing of the app runs: {v}");
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(
        other.try_wait().unwrap().is_none(),
        "another sleep was killed"
    );
    other.kill().unwrap();
    let _ = other.wait();
}

/// A media player on the session bus, standing in for a real one: it notes each call.
struct Player {
    calls: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

#[zbus::interface(name = "org.mpris.MediaPlayer2.Player")]
impl Player {
    fn play(&self) {
        self.calls.lock().unwrap().push("Play".into());
    }
    fn pause(&self) {
        self.calls.lock().unwrap().push("Pause".into());
    }
    fn next(&self) {
        self.calls.lock().unwrap().push("Next".into());
    }
    fn previous(&self) {
        self.calls.lock().unwrap().push("Previous".into());
    }
    fn stop(&self) {
        self.calls.lock().unwrap().push("Stop".into());
    }
    #[zbus(property)]
    fn playback_status(&self) -> String {
        "Playing".into()
    }
}

/// A private session bus (dbus-daemon) with a player served on it (zbus): LUNA finds
/// the player and sends it the call over MPRIS; a dry run reports the call instead.
#[test]
fn media_commands_reach_the_player_over_mpris() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let mut bus = Command::new("dbus-daemon")
        .args(["--session", "--nofork", "--print-address=1"])
        .arg(format!(
            "--address=unix:path={}",
            dir.path().join("bus").display()
        ))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("dbus-daemon (apt-get install dbus; `make test` installs it)");
    let mut address = String::new();
    std::io::BufReader::new(bus.stdout.take().unwrap())
        .read_line(&mut address)
        .unwrap();
    let address = address.trim().to_owned();
    let calls = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let player = zbus::blocking::connection::Builder::address(address.as_str())
        .unwrap()
        .name("org.mpris.MediaPlayer2.lunatest")
        .unwrap()
        .serve_at(
            "/org/mpris/MediaPlayer2",
            Player {
                calls: std::sync::Arc::clone(&calls),
            },
        )
        .unwrap()
        .build()
        .unwrap();
    let say = |args: &[&str]| -> serde_json::Value {
        let out = luna(&home)
            .env("DBUS_SESSION_BUS_ADDRESS", &address)
            .args(["say", "--json"])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let paused = say(&["pause the music"]);
    assert_eq!(paused["results"][0]["ok"], true, "{paused}");
    let next = say(&["play the next song"]);
    assert_eq!(next["results"][0]["ok"], true, "{next}");
    assert_eq!(*calls.lock().unwrap(), ["Pause", "Next"]);

    let dry = say(&["--dry-run", "play some music"]);
    assert_eq!(
        dry["results"][0]["dry_run"][0],
        json!({
            "kind": "dbus",
            "destination": "org.mpris.MediaPlayer2.lunatest",
            "path": "/org/mpris/MediaPlayer2",
            "interface": "org.mpris.MediaPlayer2.Player",
            "method": "Play"
        }),
        "{dry}"
    );
    assert_eq!(calls.lock().unwrap().len(), 2, "a dry run sent a call");

    // The player quits: there is nothing to control, and LUNA says so.
    drop(player);
    let none = say(&["pause the music"]);
    assert_eq!(none["response"], "No media player is running.", "{none}");
    let _ = bus.kill();
    let _ = bus.wait();
}
