//! `luna parse` as a user or an evaluation script runs it, and `luna service` where
//! systemd is and is not.

use std::io::Write;
use std::process::{Command, Stdio};

fn luna() -> Command {
    let home = std::env::temp_dir().join(format!("luna-parse-{}", std::process::id()));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_luna"));
    cmd.env("HOME", &home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"));
    cmd
}

#[test]
fn parse_json_follows_the_contract() {
    let out = luna()
        .args([
            "parse",
            "--json",
            "Hey Luna, set a timer for five minutes and play some music.",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["normalized"],
        "set a timer for 5 minutes and play some music"
    );
    assert_eq!(v["source"], "fast_path");
    assert_eq!(v["intents"][0]["intent"], "timer.start");
    assert_eq!(v["intents"][0]["slots"]["duration_s"], 300);
    assert_eq!(v["intents"][1]["intent"], "media.play");
    assert!(v["intents"][0]["confidence"].as_f64().unwrap() > 0.9);
    assert_eq!(v["plan"]["groups"][0]["steps"], serde_json::json!([0, 1]));
}

#[test]
fn parse_jsonl_streams_one_line_per_line_and_survives_bad_bytes() {
    let mut child = luna()
        .args(["parse", "--jsonl"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(
            b"what time is it\nwhat's the capital of peru\n\xff\xfe broken\nmute in ten minutes\n",
        )
        .unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0]["intents"][0]["intent"], "time.now");
    assert_eq!(lines[1]["intents"][0]["intent"], "unknown");
    assert!(lines[2]["error"].as_str().unwrap().contains("UTF-8"));
    assert_eq!(lines[3]["intents"][0]["intent"], "volume.mute");
    assert_eq!(lines[3]["plan"]["groups"][0]["delay_s"], 600);
}

#[test]
fn a_bad_grammar_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let grammar = dir.path().join("grammar.toml");
    std::fs::write(
        &grammar,
        "[[intent]]\nname = \"time.now\"\npatterns = ['what (time']\n",
    )
    .unwrap();
    let out = luna()
        .env("LUNA_BRAIN__GRAMMAR_PATH", &grammar)
        .args(["parse", "what time is it"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("grammar.toml") && err.contains("time.now") && err.contains("pattern 0"),
        "{err}"
    );
}

fn user_manager_reachable() -> bool {
    Command::new("systemctl")
        .args(["--user", "show", "--property=Version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn service_install_without_a_user_manager_says_so_and_writes_nothing() {
    if user_manager_reachable() {
        eprintln!("skipped: this session has a systemd user manager; the full install is `service_installs_runs_and_uninstalls` (--ignored: it installs into your own session)");
        return;
    }
    let home = std::env::temp_dir().join(format!("luna-service-{}", std::process::id()));
    let out = luna()
        .env("XDG_CONFIG_HOME", home.join("config"))
        .args(["service", "install"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{out:?}");
    assert!(err.contains("user manager is not reachable"), "{err}");
    assert!(
        !home.join("config/systemd/user/luna.service").exists(),
        "nothing is written when it cannot be enabled"
    );
    let out = luna()
        .env("XDG_CONFIG_HOME", home.join("config"))
        .args(["service", "status", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["installed"], false, "{v}");
    assert!(
        v["manager_error"]
            .as_str()
            .unwrap()
            .contains("not reachable"),
        "{v}"
    );
    let out = luna()
        .env("XDG_CONFIG_HOME", home.join("config"))
        .args(["service", "uninstall"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("not installed"),
        "{out:?}"
    );
    let _ = std::fs::remove_dir_all(&home);
}

/// Installs LUNA into the running user manager (your own session: ~/.config/systemd/user),
/// checks systemd runs it and restarts it after a crash, then uninstalls it.
#[test]
#[ignore = "installs a service into the caller's own systemd user session"]
fn service_installs_runs_and_uninstalls() {
    assert!(user_manager_reachable(), "needs a systemd user manager");
    let real = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_luna"))
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "luna {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let status = || -> serde_json::Value {
        serde_json::from_str(&real(&["service", "status", "--json"])).unwrap()
    };
    real(&["service", "install"]);
    let mut v = status();
    for _ in 0..50 {
        if v["active"] == "active (running)" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
        v = status();
    }
    assert_eq!(v["active"], "active (running)", "{v}");
    assert_eq!(v["enabled"], "enabled", "{v}");
    let pid = v["main_pid"].as_u64().unwrap();
    // A crash (SIGKILL) is a failure: systemd starts it again.
    Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    let mut restarted = false;
    for _ in 0..100 {
        std::thread::sleep(std::time::Duration::from_millis(200));
        let v = status();
        if v["active"] == "active (running)" && v["main_pid"].as_u64().is_some_and(|p| p != pid) {
            restarted = true;
            break;
        }
    }
    assert!(restarted, "not restarted after a crash: {}", status());
    real(&["service", "uninstall"]);
    let v = status();
    assert_eq!(v["installed"], false, "{v}");
}
