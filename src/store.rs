//! SQLite persistence: command history, timers/alarms/reminders, notes, lists, and the
//! file and app indexes. rusqlite behind an r2d2 pool, WAL with the performance
//! guide's pragmas, versioned migrations in `PRAGMA user_version`.
//!
//! Blocking: every call here does database I/O on the calling thread. Call it from the
//! StoreActor's own thread or a blocking context, never from an async arbiter.

use std::path::{Path, PathBuf};
use std::time::Duration;

use r2d2::{Pool, PooledConnection};
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

/// Schema migrations; index + 1 is the `user_version` after applying it.
/// Append only: never edit a migration that has shipped.
pub const MIGRATIONS: &[&str] = &[
    // 1: what LUNA remembers of what it was asked and did.
    r#"
    CREATE TABLE commands (
        id                      INTEGER PRIMARY KEY,
        correlation_id          TEXT NOT NULL UNIQUE,
        source                  TEXT NOT NULL CHECK (source IN ('voice','text','api','replay')),
        received_at_ms          INTEGER NOT NULL,
        finished_at_ms          INTEGER,
        transcript              TEXT,
        parse_json              TEXT,
        plan_json               TEXT,
        outcome                 TEXT NOT NULL
            CHECK (outcome IN ('pending','ok','partial','failed','unknown','cancelled','rejected')),
        response                TEXT,
        wake_ms                 REAL,
        endpoint_ms             REAL,
        stt_ms                  REAL,
        brain_ms                REAL,
        dispatch_ms             REAL,
        speech_end_to_action_ms REAL,
        reply_first_audio_ms    REAL
    );
    CREATE INDEX commands_by_time ON commands (received_at_ms);

    CREATE TABLE schedules (
        id              INTEGER PRIMARY KEY,
        kind            TEXT NOT NULL CHECK (kind IN ('timer','alarm','reminder')),
        name            TEXT,
        text            TEXT,
        due_at_ms       INTEGER NOT NULL,
        repeat_rule     TEXT,
        created_at_ms   INTEGER NOT NULL,
        state           TEXT NOT NULL DEFAULT 'pending'
            CHECK (state IN ('pending','fired','cancelled','missed')),
        correlation_id  TEXT
    );
    CREATE INDEX schedules_pending ON schedules (state, due_at_ms);

    CREATE TABLE notes (
        id             INTEGER PRIMARY KEY,
        text           TEXT NOT NULL,
        created_at_ms  INTEGER NOT NULL,
        correlation_id TEXT
    );

    CREATE TABLE lists (
        id            INTEGER PRIMARY KEY,
        name          TEXT NOT NULL UNIQUE,
        created_at_ms INTEGER NOT NULL
    );
    CREATE TABLE list_items (
        id          INTEGER PRIMARY KEY,
        list_id     INTEGER NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
        item        TEXT NOT NULL,
        added_at_ms INTEGER NOT NULL,
        UNIQUE (list_id, item)
    );
    "#,
    // 2: the indexes behind file.search and app.open.
    r#"
    CREATE TABLE files (
        id            INTEGER PRIMARY KEY,
        path          TEXT NOT NULL UNIQUE,
        name          TEXT NOT NULL,
        dir           TEXT NOT NULL,
        size          INTEGER NOT NULL,
        mtime_ms      INTEGER NOT NULL,
        indexed_at_ms INTEGER NOT NULL
    );
    CREATE VIRTUAL TABLE files_fts USING fts5 (
        name, dir, content = 'files', content_rowid = 'id',
        tokenize = "unicode61 remove_diacritics 2 tokenchars '_-'"
    );
    CREATE TRIGGER files_ai AFTER INSERT ON files BEGIN
        INSERT INTO files_fts (rowid, name, dir) VALUES (new.id, new.name, new.dir);
    END;
    CREATE TRIGGER files_ad AFTER DELETE ON files BEGIN
        INSERT INTO files_fts (files_fts, rowid, name, dir) VALUES ('delete', old.id, old.name, old.dir);
    END;
    CREATE TRIGGER files_au AFTER UPDATE ON files BEGIN
        INSERT INTO files_fts (files_fts, rowid, name, dir) VALUES ('delete', old.id, old.name, old.dir);
        INSERT INTO files_fts (rowid, name, dir) VALUES (new.id, new.name, new.dir);
    END;

    CREATE TABLE apps (
        id            INTEGER PRIMARY KEY,
        desktop_id    TEXT NOT NULL UNIQUE,
        name          TEXT NOT NULL,
        generic_name  TEXT,
        keywords      TEXT,
        aliases       TEXT,
        exec          TEXT NOT NULL,
        desktop_path  TEXT NOT NULL,
        updated_at_ms INTEGER NOT NULL
    );
    "#,
    // 3: plan steps said with a delay ("mute in ten minutes"), run when due.
    r#"
    CREATE TABLE delayed_steps (
        id             INTEGER PRIMARY KEY,
        intent         TEXT NOT NULL,
        slots_json     TEXT NOT NULL,
        due_at_ms      INTEGER NOT NULL,
        created_at_ms  INTEGER NOT NULL,
        state          TEXT NOT NULL DEFAULT 'pending'
            CHECK (state IN ('pending','fired','cancelled','missed')),
        correlation_id TEXT
    );
    CREATE INDEX delayed_steps_pending ON delayed_steps (state, due_at_ms);
    "#,
    // 4: the "Are you sure?" a `luna say` asked, for the next `luna say` to answer.
    r#"
    CREATE TABLE open_question (
        id          INTEGER PRIMARY KEY CHECK (id = 1),
        plan_json   TEXT NOT NULL,
        dry_run     INTEGER NOT NULL,
        asked_at_ms INTEGER NOT NULL
    );
    "#,
    // 5: the calendar: events with a day, maybe a time, a place and people.
    r#"
    CREATE TABLE events (
        id            INTEGER PRIMARY KEY,
        title         TEXT NOT NULL,
        day           TEXT NOT NULL,
        time          TEXT,
        place         TEXT,
        with_whom     TEXT,
        created_at_ms INTEGER NOT NULL,
        state         TEXT NOT NULL DEFAULT 'planned'
            CHECK (state IN ('planned','cancelled'))
    );
    CREATE INDEX events_day ON events (state, day, time);
    "#,
    // 6: a paused timer keeps what was left; it is not due while paused.
    r#"
    ALTER TABLE schedules ADD COLUMN paused_left_ms INTEGER;
    "#,
];

/// An "Are you sure?" left open by one `luna say` for the next to answer.
#[derive(Clone, Debug, PartialEq)]
pub struct OpenQuestion {
    /// The steps waiting for a yes.
    pub plan_json: String,
    /// Asked in a dry run: only a dry run answers it.
    pub dry_run: bool,
    pub asked_at_ms: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the data directory {path}: {error}")]
    CreateDir {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("cannot open the database {path}: {error}")]
    Open { path: PathBuf, error: r2d2::Error },
    #[error("database {path} has schema version {found}, newer than this LUNA knows ({known}); use a newer LUNA or another [store] path")]
    TooNew {
        path: PathBuf,
        found: u32,
        known: u32,
    },
    #[error("database pool: {0}")]
    Pool(#[from] r2d2::Error),
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("stored value is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// One planned calendar event (`calendar.create`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CalendarEvent {
    pub id: i64,
    pub title: String,
    /// "YYYY-MM-DD".
    pub day: String,
    /// "HH:MM", local time; none for an all-day event.
    pub time: Option<String>,
    pub place: Option<String>,
    pub with_whom: Option<String>,
}

/// How to open the database.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    pub pool_size: u32,
    pub busy_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            pool_size: 4,
            busy_timeout: Duration::from_secs(5),
        }
    }
}

/// Where a command came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CommandSource {
    Voice,
    Text,
    Api,
    Replay,
}

impl CommandSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Voice => "voice",
            Self::Text => "text",
            Self::Api => "api",
            Self::Replay => "replay",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "voice" => Self::Voice,
            "text" => Self::Text,
            "api" => Self::Api,
            "replay" => Self::Replay,
            _ => return None,
        })
    }
}

/// How a command ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Received, not finished yet.
    Pending,
    Ok,
    /// Some steps succeeded, some failed.
    Partial,
    Failed,
    /// Nothing was understood.
    Unknown,
    Cancelled,
    /// Refused: not confirmed, or not allowed.
    Rejected,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Ok => "ok",
            Self::Partial => "partial",
            Self::Failed => "failed",
            Self::Unknown => "unknown",
            Self::Cancelled => "cancelled",
            Self::Rejected => "rejected",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => Self::Pending,
            "ok" => Self::Ok,
            "partial" => Self::Partial,
            "failed" => Self::Failed,
            "unknown" => Self::Unknown,
            "cancelled" => Self::Cancelled,
            "rejected" => Self::Rejected,
            _ => return None,
        })
    }
}

/// Per-stage latencies of one command, in milliseconds (see the design's timings).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Latencies {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wake: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stt: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub brain: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dispatch: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub speech_end_to_action: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_first_audio: Option<f64>,
}

impl Latencies {
    /// The stages measured on the way to an action, in pipeline order, by the names
    /// metrics, `luna bench` and `luna stats` use.
    pub const STAGES: [&'static str; 6] = [
        "wake",
        "endpoint",
        "stt",
        "brain",
        "dispatch",
        "speech_end_to_action",
    ];

    /// Each of [`Self::STAGES`] with its latency, if measured.
    pub fn stages(&self) -> [(&'static str, Option<f64>); 6] {
        let [wake, endpoint, stt, brain, dispatch, to_action] = Self::STAGES;
        [
            (wake, self.wake),
            (endpoint, self.endpoint),
            (stt, self.stt),
            (brain, self.brain),
            (dispatch, self.dispatch),
            (to_action, self.speech_end_to_action),
        ]
    }
}

/// One row of command history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CommandRecord {
    pub correlation_id: String,
    pub source: CommandSource,
    /// Unix time in milliseconds.
    pub received_at_ms: i64,
    pub finished_at_ms: Option<i64>,
    /// What was heard (voice) or typed (text).
    pub transcript: Option<String>,
    pub parse: Option<serde_json::Value>,
    pub plan: Option<serde_json::Value>,
    pub outcome: Outcome,
    pub response: Option<String>,
    pub latency_ms: Latencies,
}

impl CommandRecord {
    /// A command just received.
    pub fn received(
        correlation_id: impl ToString,
        source: CommandSource,
        transcript: Option<String>,
    ) -> Self {
        Self {
            correlation_id: correlation_id.to_string(),
            source,
            received_at_ms: now_ms(),
            finished_at_ms: None,
            transcript,
            parse: None,
            plan: None,
            outcome: Outcome::Pending,
            response: None,
            latency_ms: Latencies::default(),
        }
    }
}

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The database: a pool of connections to one SQLite file.
#[derive(Clone)]
pub struct Store {
    pool: Pool<SqliteConnectionManager>,
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

fn configure(conn: &Connection, busy_timeout: Duration) -> rusqlite::Result<()> {
    conn.busy_timeout(busy_timeout)?;
    // journal_mode answers with the mode in force: read it rather than `execute`.
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(rusqlite::Error::InvalidParameterName(format!(
            "journal_mode stayed {mode}; WAL is required"
        )));
    }
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "cache_size", -64000)?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

impl Store {
    /// Opens (creating if needed) the database at `path` and migrates it to the latest schema.
    pub fn open(path: &Path, options: &StoreOptions) -> Result<Self, StoreError> {
        Self::open_at_version(path, options, MIGRATIONS.len())
    }

    /// Opens and migrates only up to `version` (for upgrade tests and tools).
    pub fn open_at_version(
        path: &Path,
        options: &StoreOptions,
        version: usize,
    ) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|error| StoreError::CreateDir {
                path: dir.to_owned(),
                error,
            })?;
        }
        let busy_timeout = options.busy_timeout;
        // WAL is a property of the file: set it once, alone, before the pool opens its
        // connections side by side. Switching the journal mode takes a lock without
        // waiting on the busy handler, so on a new file parallel first connections
        // failed with "database is locked" (r2d2 logged it as an error, and retried).
        configure(&Connection::open(path)?, busy_timeout)?;
        let manager =
            SqliteConnectionManager::file(path).with_init(move |c| configure(c, busy_timeout));
        let pool = Pool::builder()
            .max_size(options.pool_size.max(1))
            .connection_timeout(Duration::from_secs(10))
            .build(manager)
            .map_err(|error| StoreError::Open {
                path: path.to_owned(),
                error,
            })?;
        let store = Self {
            pool,
            path: path.to_owned(),
        };
        store.migrate(version.min(MIGRATIONS.len()))?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn connection(&self) -> Result<PooledConnection<SqliteConnectionManager>, StoreError> {
        Ok(self.pool.get()?)
    }

    pub fn schema_version(&self) -> Result<u32, StoreError> {
        let conn = self.connection()?;
        Ok(conn.pragma_query_value(None, "user_version", |row| row.get(0))?)
    }

    fn migrate(&self, target: usize) -> Result<(), StoreError> {
        let mut conn = self.connection()?;
        // IMMEDIATE: two processes opening at once migrate one after the other.
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let current: u32 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
        if current as usize > MIGRATIONS.len() {
            return Err(StoreError::TooNew {
                path: self.path.clone(),
                found: current,
                known: MIGRATIONS.len() as u32,
            });
        }
        for (index, sql) in MIGRATIONS
            .iter()
            .enumerate()
            .take(target)
            .skip(current as usize)
        {
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", index as u32 + 1)?;
            tracing::info!(version = index + 1, path = %self.path.display(), "database migrated");
        }
        tx.commit()?;
        Ok(())
    }

    /// Leaves a question for the next `luna say` (replacing any other: one at a time).
    pub fn put_question(&self, q: &OpenQuestion) -> Result<(), StoreError> {
        self.connection()?.execute(
            "INSERT OR REPLACE INTO open_question (id, plan_json, dry_run, asked_at_ms)
             VALUES (1, ?1, ?2, ?3)",
            params![q.plan_json, q.dry_run, q.asked_at_ms],
        )?;
        Ok(())
    }

    /// Takes the open question, if any: whatever the next command is, it answers it.
    pub fn take_question(&self) -> Result<Option<OpenQuestion>, StoreError> {
        let conn = self.connection()?;
        let q = conn
            .query_row(
                "DELETE FROM open_question RETURNING plan_json, dry_run, asked_at_ms",
                [],
                |r| {
                    Ok(OpenQuestion {
                        plan_json: r.get(0)?,
                        dry_run: r.get(1)?,
                        asked_at_ms: r.get(2)?,
                    })
                },
            )
            .optional()?;
        Ok(q)
    }

    /// Notes when the reply to a command began to sound (ms after the end of its speech,
    /// or its arrival for text). Returns whether the command is stored.
    pub fn record_reply_audio(
        &self,
        correlation_id: &str,
        first_audio_ms: f64,
    ) -> Result<bool, StoreError> {
        let updated = self.connection()?.execute(
            "UPDATE commands SET reply_first_audio_ms = ?2 WHERE correlation_id = ?1",
            params![correlation_id, first_audio_ms],
        )?;
        Ok(updated > 0)
    }

    /// Inserts a command, or updates it if its correlation id is already stored
    /// (a command is recorded when received and again when finished). Returns its row id.
    pub fn record_command(&self, r: &CommandRecord) -> Result<i64, StoreError> {
        let conn = self.connection()?;
        let json = |v: &Option<serde_json::Value>| v.as_ref().map(|v| v.to_string());
        let l = &r.latency_ms;
        let id = conn.query_row(
            "INSERT INTO commands (correlation_id, source, received_at_ms, finished_at_ms, transcript,
                 parse_json, plan_json, outcome, response, wake_ms, endpoint_ms, stt_ms, brain_ms,
                 dispatch_ms, speech_end_to_action_ms, reply_first_audio_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
             ON CONFLICT (correlation_id) DO UPDATE SET
                 finished_at_ms = excluded.finished_at_ms, transcript = excluded.transcript,
                 parse_json = excluded.parse_json, plan_json = excluded.plan_json,
                 outcome = excluded.outcome, response = excluded.response,
                 wake_ms = excluded.wake_ms, endpoint_ms = excluded.endpoint_ms,
                 stt_ms = excluded.stt_ms, brain_ms = excluded.brain_ms,
                 dispatch_ms = excluded.dispatch_ms,
                 speech_end_to_action_ms = excluded.speech_end_to_action_ms,
                 reply_first_audio_ms = excluded.reply_first_audio_ms
             RETURNING id",
            params![
                r.correlation_id,
                r.source.as_str(),
                r.received_at_ms,
                r.finished_at_ms,
                r.transcript,
                json(&r.parse),
                json(&r.plan),
                r.outcome.as_str(),
                r.response,
                l.wake,
                l.endpoint,
                l.stt,
                l.brain,
                l.dispatch,
                l.speech_end_to_action,
                l.reply_first_audio,
            ],
            |row| row.get(0),
        )?;
        Ok(id)
    }

    /// The most recent commands, newest first.
    pub fn history(&self, limit: u32) -> Result<Vec<CommandRecord>, StoreError> {
        self.commands_where(
            "1 = 1 ORDER BY received_at_ms DESC, id DESC LIMIT ?1",
            limit,
        )
    }

    /// The calendar's planned events from `from_day` to `to_day` ("YYYY-MM-DD", both
    /// included), by day and time.
    pub fn events_between(
        &self,
        from_day: &str,
        to_day: &str,
    ) -> Result<Vec<CalendarEvent>, StoreError> {
        let conn = self.connection()?;
        let mut stmt = conn.prepare_cached(
            "SELECT id, title, day, time, place, with_whom FROM events
             WHERE state = 'planned' AND day >= ?1 AND day <= ?2 ORDER BY day, time",
        )?;
        let rows = stmt.query_map([from_day, to_day], |r| {
            Ok(CalendarEvent {
                id: r.get(0)?,
                title: r.get(1)?,
                day: r.get(2)?,
                time: r.get(3)?,
                place: r.get(4)?,
                with_whom: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One command by its correlation id.
    pub fn command(&self, correlation_id: &str) -> Result<Option<CommandRecord>, StoreError> {
        Ok(self
            .commands_where("correlation_id = ?1", correlation_id)?
            .pop())
    }

    /// Reads command rows matching `condition` (which takes one parameter, `?1`).
    fn commands_where(
        &self,
        condition: &str,
        param: impl rusqlite::ToSql,
    ) -> Result<Vec<CommandRecord>, StoreError> {
        let conn = self.connection()?;
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT correlation_id, source, received_at_ms, finished_at_ms, transcript, parse_json,
                    plan_json, outcome, response, wake_ms, endpoint_ms, stt_ms, brain_ms,
                    dispatch_ms, speech_end_to_action_ms, reply_first_audio_ms
             FROM commands WHERE {condition}"
        ))?;
        let rows = stmt.query_map([param], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, i64>(2)?,
                row.get::<_, Option<i64>>(3)?,
                row.get::<_, Option<String>>(4)?,
                row.get::<_, Option<String>>(5)?,
                row.get::<_, Option<String>>(6)?,
                row.get::<_, String>(7)?,
                row.get::<_, Option<String>>(8)?,
                Latencies {
                    wake: row.get(9)?,
                    endpoint: row.get(10)?,
                    stt: row.get(11)?,
                    brain: row.get(12)?,
                    dispatch: row.get(13)?,
                    speech_end_to_action: row.get(14)?,
                    reply_first_audio: row.get(15)?,
                },
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (
                cid,
                source,
                received,
                finished,
                transcript,
                parse,
                plan,
                outcome,
                response,
                latency,
            ) = row?;
            let json = |s: Option<String>| s.map(|s| serde_json::from_str(&s)).transpose();
            out.push(CommandRecord {
                source: CommandSource::parse(&source).unwrap_or(CommandSource::Text),
                outcome: Outcome::parse(&outcome).unwrap_or(Outcome::Failed),
                correlation_id: cid,
                received_at_ms: received,
                finished_at_ms: finished,
                transcript,
                parse: json(parse)?,
                plan: json(plan)?,
                response,
                latency_ms: latency,
            });
        }
        Ok(out)
    }

    /// Moves the WAL's content into the database file and truncates the WAL: called at
    /// shutdown so the database file alone is complete.
    pub fn checkpoint(&self) -> Result<(), StoreError> {
        let conn = self.connection()?;
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    /// `PRAGMA integrity_check`: "ok" for a sound database.
    pub fn integrity_check(&self) -> Result<String, StoreError> {
        let conn = self.connection()?;
        let mut stmt = conn.prepare("PRAGMA integrity_check")?;
        let lines: Vec<String> = stmt
            .query_map([], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(lines.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("luna.db"), &StoreOptions::default()).unwrap();
        (dir, store)
    }

    #[test]
    fn opens_with_the_guides_pragmas() {
        let (_dir, store) = temp_store();
        let conn = store.connection().unwrap();
        let mode: String = conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let sync: i64 = conn
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .unwrap();
        assert_eq!(sync, 1, "NORMAL");
        let cache: i64 = conn
            .pragma_query_value(None, "cache_size", |r| r.get(0))
            .unwrap();
        assert_eq!(cache, -64000);
        let temp: i64 = conn
            .pragma_query_value(None, "temp_store", |r| r.get(0))
            .unwrap();
        assert_eq!(temp, 2, "MEMORY");
        let fk: i64 = conn
            .pragma_query_value(None, "foreign_keys", |r| r.get(0))
            .unwrap();
        assert_eq!(fk, 1);
        let busy: i64 = conn
            .pragma_query_value(None, "busy_timeout", |r| r.get(0))
            .unwrap();
        assert_eq!(busy, 5000);
    }

    #[test]
    fn records_and_updates_commands_by_correlation_id() {
        let (_dir, store) = temp_store();
        let mut rec =
            CommandRecord::received("c-1", CommandSource::Text, Some("what time is it".into()));
        let id = store.record_command(&rec).unwrap();
        rec.outcome = Outcome::Ok;
        rec.response = Some("It's 10:42.".into());
        rec.parse = Some(serde_json::json!({"intent": "time.now"}));
        rec.latency_ms.brain = Some(0.02);
        rec.finished_at_ms = Some(rec.received_at_ms + 3);
        assert_eq!(store.record_command(&rec).unwrap(), id, "same row");
        let history = store.history(10).unwrap();
        assert_eq!(history, vec![rec.clone()]);
        assert_eq!(store.command("c-1").unwrap(), Some(rec));
        assert_eq!(store.command("nope").unwrap(), None);
    }

    #[test]
    fn history_is_newest_first_and_limited() {
        let (_dir, store) = temp_store();
        for i in 0..5 {
            let mut rec = CommandRecord::received(format!("c-{i}"), CommandSource::Voice, None);
            rec.received_at_ms = 1_000 + i;
            store.record_command(&rec).unwrap();
        }
        let ids: Vec<_> = store
            .history(3)
            .unwrap()
            .into_iter()
            .map(|r| r.correlation_id)
            .collect();
        assert_eq!(ids, ["c-4", "c-3", "c-2"]);
    }

    #[test]
    fn file_index_is_searchable_with_fts5() {
        let (_dir, store) = temp_store();
        let conn = store.connection().unwrap();
        for (path, name, dir) in [
            (
                "/home/u/docs/tax-report-2025.pdf",
                "tax-report-2025.pdf",
                "/home/u/docs",
            ),
            ("/home/u/music/song.mp3", "song.mp3", "/home/u/music"),
        ] {
            conn.execute(
                "INSERT INTO files (path, name, dir, size, mtime_ms, indexed_at_ms) VALUES (?1, ?2, ?3, 1, 0, 0)",
                params![path, name, dir],
            )
            .unwrap();
        }
        let found: Vec<String> = conn
            .prepare("SELECT f.path FROM files_fts JOIN files f ON f.id = files_fts.rowid WHERE files_fts MATCH ?1")
            .unwrap()
            .query_map(["tax*"], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(found, ["/home/u/docs/tax-report-2025.pdf"]);
        conn.execute("DELETE FROM files WHERE name = 'tax-report-2025.pdf'", [])
            .unwrap();
        let left: i64 = conn
            .query_row(
                "SELECT count(*) FROM files_fts WHERE files_fts MATCH 'tax*'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(left, 0, "the delete trigger keeps the index in step");
    }

    #[test]
    fn list_items_go_with_their_list() {
        let (_dir, store) = temp_store();
        let conn = store.connection().unwrap();
        conn.execute(
            "INSERT INTO lists (name, created_at_ms) VALUES ('shopping', 0)",
            [],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO list_items (list_id, item, added_at_ms) VALUES (1, 'milk', 0)",
            [],
        )
        .unwrap();
        let orphan = conn.execute(
            "INSERT INTO list_items (list_id, item, added_at_ms) VALUES (99, 'x', 0)",
            [],
        );
        assert!(orphan.is_err(), "foreign keys are enforced");
        conn.execute("DELETE FROM lists WHERE name = 'shopping'", [])
            .unwrap();
        let n: i64 = conn
            .query_row("SELECT count(*) FROM list_items", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0);
    }
}
