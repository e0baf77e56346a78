//! The store on a real file: migrations, concurrent readers, and crashes mid-write.

mod support;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use luna::store::{CommandRecord, CommandSource, Outcome, Store, StoreOptions, MIGRATIONS};

const WRITER_ENV: &str = "LUNA_TEST_WRITER_DB";

fn record(id: &str) -> CommandRecord {
    let mut r = CommandRecord::received(id, CommandSource::Voice, Some(format!("command {id}")));
    r.outcome = Outcome::Ok;
    r.parse = Some(serde_json::json!({"intents": [{"intent": "time.now", "confidence": 0.9}]}));
    r.latency_ms.stt = Some(123.5);
    r
}

fn count(store: &Store) -> i64 {
    store
        .connection()
        .unwrap()
        .query_row("SELECT count(*) FROM commands", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn migrates_from_empty_to_latest_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dir/luna.db");
    let store = Store::open(&path, &StoreOptions::default()).unwrap();
    assert_eq!(store.schema_version().unwrap() as usize, MIGRATIONS.len());
    store.record_command(&record("a")).unwrap();
    drop(store);
    let again = Store::open(&path, &StoreOptions::default()).unwrap();
    assert_eq!(again.schema_version().unwrap() as usize, MIGRATIONS.len());
    assert_eq!(count(&again), 1);
}

#[test]
fn migrates_from_the_previous_version_keeping_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("luna.db");
    let previous = MIGRATIONS.len() - 1;
    let old = Store::open_at_version(&path, &StoreOptions::default(), previous).unwrap();
    assert_eq!(old.schema_version().unwrap() as usize, previous);
    old.record_command(&record("kept")).unwrap();
    // The newest migration gives a timer somewhere to keep its time while paused.
    let has_newest_table = |s: &Store| -> bool {
        s.connection()
            .unwrap()
            .query_row(
                "SELECT count(*) FROM pragma_table_info('schedules') WHERE name = 'paused_left_ms'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .unwrap()
            == 1
    };
    assert!(!has_newest_table(&old));
    drop(old);

    let new = Store::open(&path, &StoreOptions::default()).unwrap();
    assert_eq!(new.schema_version().unwrap() as usize, MIGRATIONS.len());
    assert!(has_newest_table(&new));
    assert!(new.command("kept").unwrap().is_some());
}

#[test]
fn refuses_a_database_from_a_newer_luna() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("luna.db");
    let store = Store::open(&path, &StoreOptions::default()).unwrap();
    store
        .connection()
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    drop(store);
    let err = Store::open(&path, &StoreOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("schema version 99"), "{err}");
}

#[test]
fn readers_are_never_blocked_by_a_writer() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("luna.db"), &StoreOptions::default()).unwrap();
    let writing = Arc::new(AtomicBool::new(true));
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let store = store.clone();
            let writing = writing.clone();
            std::thread::spawn(move || {
                let mut last = 0;
                let mut reads = 0;
                while writing.load(Ordering::Relaxed) {
                    let n = count(&store);
                    assert!(n >= last, "a reader saw the history shrink: {n} < {last}");
                    last = n;
                    let recent = store.history(5).unwrap();
                    assert!(recent.len() <= 5);
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    for i in 0..300 {
        store.record_command(&record(&format!("w{i}"))).unwrap();
    }
    writing.store(false, Ordering::Relaxed);
    for r in readers {
        assert!(r.join().unwrap() > 0);
    }
    assert_eq!(count(&store), 300);
    assert_eq!(store.integrity_check().unwrap(), "ok");
}

/// Child half of the crash test: writes until killed, printing each committed id.
#[test]
fn crash_writer_child() {
    let Ok(db) = std::env::var(WRITER_ENV) else {
        return; // only meaningful when spawned by the crash test
    };
    let store = Store::open(Path::new(&db), &StoreOptions::default()).unwrap();
    let pid = std::process::id();
    for i in 0.. {
        let id = format!("{pid}-{i}");
        store.record_command(&record(&id)).unwrap();
        println!("ACK {id}");
    }
}

#[test]
fn every_acknowledged_write_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("luna.db");
    let mut acknowledged = BTreeSet::new();
    for round in 0..3 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "crash_writer_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(WRITER_ENV, &db)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let started = Instant::now();
        let mut this_round = 0;
        // Kill at a different point each round, mid-stream of writes.
        while this_round < 200 + round * 150 && started.elapsed() < Duration::from_secs(30) {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(id) = line.strip_prefix("ACK ") {
                        acknowledged.insert(id.to_owned());
                        this_round += 1;
                    }
                }
                _ => break,
            }
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        assert!(
            this_round > 0,
            "round {round}: the writer acknowledged nothing"
        );
    }

    let stored: BTreeSet<String> = support::stored_ids(&db).into_iter().collect();
    let store = Store::open(&db, &StoreOptions::default()).unwrap();
    let lost: Vec<_> = acknowledged.difference(&stored).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged writes lost: {lost:?}",
        lost.len()
    );
    let sample = acknowledged.iter().next().unwrap();
    assert_eq!(
        store.command(sample).unwrap().unwrap().latency_ms.stt,
        Some(123.5)
    );
}
