//! The one door to the world outside LUNA. Real mode runs programs (never through a
//! shell) and writes SQL; dry-run mode records what it would have done and returns as
//! if it had. Reads (queries, `which`) happen in both modes: they change nothing.

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::types::Value as SqlValue;
use serde::Serialize;

use crate::store::{Store, StoreError};

/// What a dry run would have done.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DryRunRecord {
    /// A program started with these arguments (no shell).
    Program { program: String, args: Vec<String> },
    /// An SQL statement with its parameters.
    Sql {
        statement: String,
        params: Vec<serde_json::Value>,
    },
    /// A signal sent to a process.
    Signal { pid: u32, signal: String },
    /// A D-Bus method call (no arguments).
    Dbus {
        destination: String,
        path: String,
        interface: String,
        method: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum EffectError {
    #[error("{program} is not installed")]
    Missing { program: String },
    #[error("{program} failed: {reason}")]
    Failed { program: String, reason: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("database: {0}")]
    Sql(#[from] rusqlite::Error),
}

impl EffectError {
    /// Worth trying again shortly: the program or the database was busy or not
    /// answering (a sound server restarting, a lock held), not missing or refusing.
    pub fn is_transient(&self) -> bool {
        const PASSING: &[&str] = &[
            "timed out",
            "connection failure",
            "connection refused",
            "failed to connect",
            "temporarily unavailable",
            "resource busy",
            "device or resource busy",
            "try again",
        ];
        match self {
            Self::Failed { reason, .. } => {
                let reason = reason.to_lowercase();
                PASSING.iter().any(|p| reason.contains(p))
            }
            Self::Sql(rusqlite::Error::SqliteFailure(e, _)) => matches!(
                e.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            ),
            _ => false,
        }
    }
}

pub struct Effects {
    pub store: Store,
    pub dry_run: bool,
    records: Vec<DryRunRecord>,
    /// Apps LUNA launched, by canonical name → pid (closed by pid first); shared by the
    /// executor's child actors.
    pub launched: Arc<Mutex<HashMap<String, u32>>>,
}

/// How long a helper program (wpctl, brightnessctl, …) may take.
const PROGRAM_TIMEOUT: Duration = Duration::from_secs(5);

fn to_json(v: &SqlValue) -> serde_json::Value {
    match v {
        SqlValue::Null => serde_json::Value::Null,
        SqlValue::Integer(i) => (*i).into(),
        SqlValue::Real(f) => (*f).into(),
        SqlValue::Text(s) => s.clone().into(),
        SqlValue::Blob(b) => format!("<{} bytes>", b.len()).into(),
    }
}

impl Effects {
    pub fn new(store: Store, dry_run: bool) -> Self {
        Self {
            store,
            dry_run,
            records: Vec::new(),
            launched: Arc::default(),
        }
    }

    /// Another handle on the same store and launched-apps record (for a child actor).
    pub fn share(&self) -> Self {
        Self {
            store: self.store.clone(),
            dry_run: self.dry_run,
            records: Vec::new(),
            launched: Arc::clone(&self.launched),
        }
    }

    pub fn begin_step(&mut self) {
        self.records.clear();
    }

    pub fn take_records(&mut self) -> Vec<DryRunRecord> {
        std::mem::take(&mut self.records)
    }

    pub fn available(program: &str) -> bool {
        which::which(program).is_ok()
    }

    /// In dry run: records the program and says so (true). Otherwise false.
    fn record_program<S: AsRef<str>>(&mut self, program: &str, args: &[S]) -> bool {
        if self.dry_run {
            self.records.push(DryRunRecord::Program {
                program: program.into(),
                args: args.iter().map(|a| a.as_ref().to_owned()).collect(),
            });
        }
        self.dry_run
    }

    /// Starts `program` with `args` (no shell); output piped or discarded.
    fn start<S: AsRef<std::ffi::OsStr>>(
        program: &str,
        args: &[S],
        piped: bool,
    ) -> Result<std::process::Child, EffectError> {
        let output = || if piped { Stdio::piped() } else { Stdio::null() };
        Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(output())
            .stderr(output())
            .spawn()
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => EffectError::Missing {
                    program: program.into(),
                },
                _ => EffectError::Failed {
                    program: program.into(),
                    reason: e.to_string(),
                },
            })
    }

    /// Starts a program and lets it run (apps, openers). Returns its pid (None in dry run).
    pub fn spawn(&mut self, program: &str, args: &[String]) -> Result<Option<u32>, EffectError> {
        if self.record_program(program, args) {
            return Ok(None);
        }
        let child = Self::start(program, args, false)?;
        let pid = child.id();
        // Reap it when it exits so it never lingers as a zombie.
        std::thread::spawn(move || {
            let mut child = child;
            let _ = child.wait();
        });
        Ok(Some(pid))
    }

    /// Runs a helper program to completion (bounded by a timeout) and returns its stdout.
    pub fn run(&mut self, program: &str, args: &[&str]) -> Result<String, EffectError> {
        if self.record_program(program, args) {
            return Ok(String::new());
        }
        let mut child = Self::start(program, args, true)?;
        let deadline = std::time::Instant::now() + PROGRAM_TIMEOUT;
        loop {
            match child.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(EffectError::Failed {
                        program: program.into(),
                        reason: "timed out".into(),
                    });
                }
            }
        }
        let out = child.wait_with_output().map_err(|e| EffectError::Failed {
            program: program.into(),
            reason: e.to_string(),
        })?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            return Err(EffectError::Failed {
                program: program.into(),
                reason: err.lines().last().unwrap_or("failed").to_owned(),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Calls a media player's `method` over MPRIS (recorded, not sent, in dry run).
    pub fn mpris_call(
        &mut self,
        bus: &super::mpris::Mpris,
        player: &str,
        method: &str,
    ) -> Result<(), EffectError> {
        use super::mpris::{OBJECT_PATH, PLAYER_INTERFACE};
        if self.dry_run {
            self.records.push(DryRunRecord::Dbus {
                destination: player.into(),
                path: OBJECT_PATH.into(),
                interface: PLAYER_INTERFACE.into(),
                method: method.into(),
            });
            return Ok(());
        }
        bus.call(player, method).map_err(|e| EffectError::Failed {
            program: format!("{player} (D-Bus)"),
            reason: e.to_string(),
        })
    }

    /// Writes to the database (recorded, not run, in dry run). Returns rows changed.
    pub fn write(&mut self, statement: &str, params: Vec<SqlValue>) -> Result<usize, EffectError> {
        if self.dry_run {
            self.records.push(DryRunRecord::Sql {
                statement: statement.split_whitespace().collect::<Vec<_>>().join(" "),
                params: params.iter().map(to_json).collect(),
            });
            return Ok(1);
        }
        let conn = self.store.connection()?;
        Ok(conn.execute(statement, rusqlite::params_from_iter(params))?)
    }

    /// Sends SIGTERM (a polite close: apps may ask to save).
    pub fn terminate(&mut self, pid: u32) -> Result<(), EffectError> {
        if self.dry_run {
            self.records.push(DryRunRecord::Signal {
                pid,
                signal: "SIGTERM".into(),
            });
            return Ok(());
        }
        // SAFETY: kill(2) with a pid and a signal number has no memory effects.
        let rc = unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
        if rc != 0 {
            return Err(EffectError::Failed {
                program: format!("pid {pid}"),
                reason: std::io::Error::last_os_error().to_string(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod transient_tests {
    use super::EffectError;

    #[test]
    fn busy_or_silent_programs_are_transient_missing_or_refusing_ones_are_not() {
        let failed = |reason: &str| EffectError::Failed {
            program: "wpctl".into(),
            reason: reason.into(),
        };
        assert!(failed("timed out").is_transient());
        assert!(failed("Could not connect to PipeWire: Connection refused").is_transient());
        assert!(!failed("Invalid argument").is_transient());
        assert!(!EffectError::Missing {
            program: "wpctl".into()
        }
        .is_transient());
    }
}
