//! `luna service install|uninstall|status`: LUNA as a systemd user service, started
//! with the user's session, restarted when it fails, logging to the journal.
//!
//! A user unit rather than a system one: LUNA needs the user's sound server, session
//! bus (media players, notifications) and desktop, all of which belong to the session.
//! Everything goes through `systemctl --user`; without a reachable user manager (a
//! container, a machine on another init system) nothing is written and the error says
//! so.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Serialize;

pub const UNIT_NAME: &str = "luna.service";

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("systemd's user manager is not reachable ({0}); this session has no systemd user instance, so LUNA cannot be installed as a service here. Run `luna run` directly, or under your init system")]
    NoUserManager(String),
    #[error("`systemctl --user {args}` failed: {output}")]
    Systemctl { args: String, output: String },
    #[error("cannot find the luna executable to run: {0}")]
    Executable(std::io::Error),
    #[error("no configuration directory ($XDG_CONFIG_HOME or $HOME) to put the unit in")]
    NoConfigDir,
    #[error("{path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
}

/// What `systemctl --user` is asked to do; `program` is `systemctl` but for tests.
pub struct Systemctl {
    program: PathBuf,
}

impl Default for Systemctl {
    fn default() -> Self {
        Self {
            program: PathBuf::from("systemctl"),
        }
    }
}

impl Systemctl {
    fn run(&self, args: &[&str]) -> Result<String, ServiceError> {
        let shown = args.join(" ");
        let output = Command::new(&self.program)
            .arg("--user")
            .args(args)
            .output()
            .map_err(|e| ServiceError::Systemctl {
                args: shown.clone(),
                output: e.to_string(),
            })?;
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        if output.status.success() {
            Ok(stdout)
        } else {
            let stderr = String::from_utf8_lossy(&output.stderr);
            Err(ServiceError::Systemctl {
                args: shown,
                output: first_line(&stderr, &stdout),
            })
        }
    }

    /// `Ok` when a user manager answers.
    pub fn reachable(&self) -> Result<(), ServiceError> {
        if which::which(&self.program).is_err() {
            return Err(ServiceError::NoUserManager(format!(
                "{} is not installed",
                self.program.display()
            )));
        }
        match self.run(&["show", "--property=Version"]) {
            Ok(_) => Ok(()),
            Err(ServiceError::Systemctl { output, .. }) => Err(ServiceError::NoUserManager(
                format!("systemctl --user: {output}"),
            )),
            Err(e) => Err(e),
        }
    }
}

fn first_line(stderr: &str, stdout: &str) -> String {
    stderr
        .lines()
        .chain(stdout.lines())
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("no output")
        .to_owned()
}

/// Where the unit file goes: `$XDG_CONFIG_HOME/systemd/user/luna.service`.
pub fn unit_path() -> Result<PathBuf, ServiceError> {
    dirs::config_dir()
        .map(|d| d.join("systemd").join("user").join(UNIT_NAME))
        .ok_or(ServiceError::NoConfigDir)
}

/// The unit that runs `exe run` (with `--config config` when given).
pub fn render_unit(exe: &Path, config: Option<&Path>) -> String {
    let mut exec = vec![quote(&exe.to_string_lossy())];
    if let Some(config) = config {
        exec.push("--config".into());
        exec.push(quote(&config.to_string_lossy()));
    }
    exec.push("run".into());
    format!(
        "# Written by `luna service install`; `luna service uninstall` removes it.\n\
         [Unit]\n\
         Description=LUNA, the offline voice assistant\n\
         # The sound server first, when the session has one.\n\
         After=pipewire-pulse.service pulseaudio.service\n\
         # A crash loop stops after 5 failures in 2 minutes (then: journalctl --user -u luna).\n\
         StartLimitIntervalSec=120\n\
         StartLimitBurst=5\n\
         \n\
         [Service]\n\
         Type=exec\n\
         ExecStart={}\n\
         Restart=on-failure\n\
         RestartSec=3\n\
         # SIGTERM: LUNA finishes in-flight commands and closes its store.\n\
         TimeoutStopSec=30\n\
         \n\
         [Install]\n\
         WantedBy=default.target\n",
        exec.join(" ")
    )
}

/// One word of an `ExecStart=` line, quoted as systemd parses it: `"` and `\` escaped,
/// `%` (specifiers) and `$` (variables) doubled.
fn quote(word: &str) -> String {
    let mut out = String::with_capacity(word.len() + 2);
    out.push('"');
    for c in word.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '%' => out.push_str("%%"),
            '$' => out.push_str("$$"),
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

/// What `install` did.
#[derive(Debug, Serialize)]
pub struct Installed {
    pub unit: PathBuf,
    pub exec: PathBuf,
    pub started: bool,
    /// The unit file was there before, with other contents.
    pub replaced: bool,
}

/// Writes the unit for this executable, enables it and (unless `start` is false)
/// starts it now. Nothing is written when no user manager answers.
pub fn install(
    systemctl: &Systemctl,
    config: Option<&Path>,
    start: bool,
) -> Result<Installed, ServiceError> {
    systemctl.reachable()?;
    let exec = std::env::current_exe()
        .and_then(|p| p.canonicalize())
        .map_err(ServiceError::Executable)?;
    let config = match config {
        Some(c) => Some(c.canonicalize().map_err(|error| ServiceError::Io {
            path: c.to_owned(),
            error,
        })?),
        None => None,
    };
    let unit = unit_path()?;
    let text = render_unit(&exec, config.as_deref());
    let before = std::fs::read_to_string(&unit).ok();
    let io = |path: &Path| {
        let path = path.to_owned();
        move |error| ServiceError::Io { path, error }
    };
    let dir = unit.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    crate::atomic_file::write(&unit, text.as_bytes()).map_err(io(&unit))?;
    systemctl.run(&["daemon-reload"])?;
    systemctl.run(&["enable", UNIT_NAME])?;
    if start {
        // restart, not start: a reinstall (a new binary, another config) takes effect now.
        systemctl.run(&["restart", UNIT_NAME])?;
    }
    Ok(Installed {
        unit,
        exec,
        started: start,
        replaced: before.is_some_and(|b| b != text),
    })
}

/// Stops and disables the service and removes its unit. Not installed is not an error.
/// Returns the unit removed, if there was one.
pub fn uninstall(systemctl: &Systemctl) -> Result<Option<PathBuf>, ServiceError> {
    let unit = unit_path()?;
    let manager = systemctl.reachable();
    if manager.is_ok() {
        // Fails harmlessly when the unit was never loaded.
        let _ = systemctl.run(&["disable", "--now", UNIT_NAME]);
    }
    if !unit.exists() {
        return Ok(None);
    }
    std::fs::remove_file(&unit).map_err(|error| ServiceError::Io {
        path: unit.clone(),
        error,
    })?;
    if manager.is_ok() {
        systemctl.run(&["daemon-reload"])?;
    }
    Ok(Some(unit))
}

/// The service as systemd sees it.
#[derive(Debug, Serialize)]
pub struct Status {
    pub unit: PathBuf,
    pub installed: bool,
    /// Why the user manager could not be asked (then the states below are unknown).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manager_error: Option<String>,
    /// `enabled`, `disabled`, …
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<String>,
    /// `active (running)`, `failed (exit-code)`, `inactive (dead)`, …
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub main_pid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
}

impl Status {
    pub fn running(&self) -> bool {
        self.active.as_deref() == Some("active (running)")
    }
}

pub fn status(systemctl: &Systemctl) -> Result<Status, ServiceError> {
    let unit = unit_path()?;
    let mut status = Status {
        installed: unit.is_file(),
        unit,
        manager_error: None,
        enabled: None,
        active: None,
        main_pid: None,
        since: None,
    };
    if let Err(e) = systemctl.reachable() {
        status.manager_error = Some(e.to_string());
        return Ok(status);
    }
    let shown = systemctl.run(&[
        "show",
        UNIT_NAME,
        "--property=LoadState,UnitFileState,ActiveState,SubState,MainPID,ActiveEnterTimestamp",
    ])?;
    let props = parse_show(&shown);
    let get = |k: &str| {
        props
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    if get("LoadState") == Some("not-found") {
        return Ok(status);
    }
    status.enabled = get("UnitFileState")
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    status.active = match (get("ActiveState"), get("SubState")) {
        (Some(a), Some(s)) if !s.is_empty() => Some(format!("{a} ({s})")),
        (Some(a), _) => Some(a.to_owned()),
        _ => None,
    };
    status.main_pid = get("MainPID")
        .and_then(|p| p.parse().ok())
        .filter(|p| *p != 0);
    status.since = get("ActiveEnterTimestamp")
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    Ok(status)
}

/// `systemctl show`'s `Key=Value` lines.
fn parse_show(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unit_runs_luna_and_restarts_it_on_failure() {
        let unit = render_unit(
            Path::new("/opt/my apps/luna"),
            Some(Path::new("/home/a/100%\"$x.toml")),
        );
        assert!(
            unit.contains(
                "ExecStart=\"/opt/my apps/luna\" --config \"/home/a/100%%\\\"$$x.toml\" run\n"
            ),
            "{unit}"
        );
        for line in [
            "Restart=on-failure\n",
            "WantedBy=default.target\n",
            "Type=exec\n",
        ] {
            assert!(unit.contains(line), "{line} missing:\n{unit}");
        }
        let plain = render_unit(Path::new("/usr/bin/luna"), None);
        assert!(
            plain.contains("ExecStart=\"/usr/bin/luna\" run\n"),
            "{plain}"
        );
    }

    #[test]
    fn systemd_parses_the_unit_without_a_complaint() {
        if which::which("systemd-analyze").is_err() {
            eprintln!("skipped: systemd-analyze is not installed (Debian package systemd)");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let runtime = dir.path().join("runtime");
        std::fs::create_dir(&runtime).unwrap();
        let config = dir.path().join("my config.toml");
        std::fs::write(&config, "").unwrap();
        let unit = dir.path().join(UNIT_NAME);
        std::fs::write(
            &unit,
            render_unit(Path::new("/bin/true"), Some(config.as_path())),
        )
        .unwrap();
        let out = Command::new("systemd-analyze")
            .args(["--user", "verify"])
            .arg(&unit)
            .env("XDG_RUNTIME_DIR", &runtime)
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{said}");
        // verify warns about bad keys and values on stderr and still exits 0.
        assert!(
            !said.contains(UNIT_NAME),
            "systemd complained about the unit:\n{said}"
        );
    }

    #[test]
    fn show_output_is_read_as_key_values() {
        let props = parse_show("LoadState=loaded\nActiveState=active\nMainPID=42\nX=a=b\n");
        assert_eq!(props[2], ("MainPID".into(), "42".into()));
        assert_eq!(props[3], ("X".into(), "a=b".into()));
    }

    #[test]
    fn no_user_manager_is_a_clear_error() {
        let missing = Systemctl {
            program: PathBuf::from("surely-no-such-systemctl-luna"),
        };
        let err = missing.reachable().unwrap_err().to_string();
        assert!(err.contains("not reachable"), "{err}");
        assert!(err.contains("luna run"), "{err}");
    }
}
