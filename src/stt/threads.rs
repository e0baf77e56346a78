//! How many threads whisper.cpp decodes with.
//!
//! ggml's threads spin-wait on each other: on 2 cores, with another process keeping a
//! core busy, 2 threads took 5–14 s for what takes 0.15 s idle (measured here), so a
//! busy machine gets one thread. What counts as busy is *other* processes' CPU time:
//! the load average the first policy read includes LUNA's own work (the wake word, the
//! API, the decoding just done), so during a session of commands it halved LUNA's speed
//! on a machine nobody else was using (issue #25: 304 ms instead of 170 ms).
//!
//! A watcher thread samples `/proc/stat` (all CPUs' busy time) and `/proc/self/stat`
//! (this process's) every 250 ms and keeps the other processes' share over the last
//! second. Decodes running at once in this process (tests, satellites) count too.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Other processes using at least this many cores make the machine busy.
pub const BUSY_CORES: f64 = 0.5;

const TICK: Duration = Duration::from_millis(250);
const WINDOW_TICKS: usize = 4;

/// Decodes running now in this process.
static DECODING: AtomicUsize = AtomicUsize::new(0);

/// Marks a decode as running until dropped.
pub struct Decoding(());

impl Decoding {
    pub fn start() -> Self {
        DECODING.fetch_add(1, Ordering::SeqCst);
        Self(())
    }

    /// Decodes running in this process besides this one.
    pub fn others(&self) -> usize {
        DECODING.load(Ordering::SeqCst).saturating_sub(1)
    }
}

impl Drop for Decoding {
    fn drop(&mut self) {
        DECODING.fetch_sub(1, Ordering::SeqCst);
    }
}

/// CPU time in clock ticks: all CPUs' busy time, and this process's.
#[derive(Clone, Copy, Debug)]
struct Snapshot {
    at: Instant,
    busy: u64,
    own: u64,
}

fn snapshot() -> Option<Snapshot> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let cpu = stat.lines().next()?.strip_prefix("cpu ")?;
    let fields: Vec<u64> = cpu
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    // user nice system idle iowait irq softirq steal (guest is inside user)
    let busy = [0, 1, 2, 5, 6, 7]
        .iter()
        .filter_map(|&i| fields.get(i))
        .sum();
    let own_stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // After the command name (which may hold spaces) in parentheses: state is field 3,
    // utime 14, stime 15.
    let after = own_stat.rsplit_once(')')?.1;
    let own_fields: Vec<&str> = after.split_whitespace().collect();
    let own = own_fields.get(11)?.parse::<u64>().ok()? + own_fields.get(12)?.parse::<u64>().ok()?;
    Some(Snapshot {
        at: Instant::now(),
        busy,
        own,
    })
}

fn ticks_per_second() -> f64 {
    // SAFETY: sysconf reads a constant; no memory is passed.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if hz > 0 {
        hz as f64
    } else {
        100.0
    }
}

/// Cores other processes used between two snapshots.
fn others_between(a: &Snapshot, b: &Snapshot, hz: f64) -> Option<f64> {
    let seconds = b.at.duration_since(a.at).as_secs_f64();
    if seconds < 0.05 {
        return None;
    }
    let others = b.busy.saturating_sub(a.busy) as f64 - b.own.saturating_sub(a.own) as f64;
    Some((others / hz / seconds).max(0.0))
}

/// Watches how busy the rest of the machine is, on a thread of its own.
pub struct CpuWatch {
    /// Other processes' cores × 1000 over the last second; `u64::MAX` until known.
    others_milli: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    started: Option<Snapshot>,
}

impl CpuWatch {
    pub fn start() -> Self {
        let others_milli = Arc::new(AtomicU64::new(u64::MAX));
        let stop = Arc::new(AtomicBool::new(false));
        let started = snapshot();
        if started.is_some() {
            let (others_milli, stop) = (Arc::clone(&others_milli), Arc::clone(&stop));
            let spawned = std::thread::Builder::new()
                .name("luna-cpu-watch".into())
                .spawn(move || {
                    let hz = ticks_per_second();
                    let mut ring = std::collections::VecDeque::with_capacity(WINDOW_TICKS + 1);
                    while !stop.load(Ordering::Relaxed) {
                        if let Some(now) = snapshot() {
                            ring.push_back(now);
                            if ring.len() > WINDOW_TICKS + 1 {
                                ring.pop_front();
                            }
                            let oldest = ring.front().expect("just pushed");
                            if let Some(cores) = others_between(oldest, &now, hz) {
                                others_milli.store((cores * 1000.0) as u64, Ordering::Relaxed);
                            }
                        }
                        std::thread::sleep(TICK);
                    }
                });
            if let Err(e) = spawned {
                tracing::warn!(error = %e, "no CPU watcher; decoding with 2 threads");
            }
        }
        Self {
            others_milli,
            stop,
            started,
        }
    }

    /// Cores other processes used over the last second (or since the watch started,
    /// in its first quarter second); `None` where /proc cannot tell.
    pub fn others(&self) -> Option<f64> {
        match self.others_milli.load(Ordering::Relaxed) {
            u64::MAX => others_between(self.started.as_ref()?, &snapshot()?, ticks_per_second()),
            milli => Some(milli as f64 / 1000.0),
        }
    }
}

impl Drop for CpuWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Whether `choose` looks at other processes' CPU use (else no watcher is needed).
pub fn depends_on_others(configured: usize, cores: usize) -> bool {
    configured == 0 && cores <= 2
}

/// The decoder threads: `configured` when set; on more than 2 cores, all but one (at
/// most 4); on 2 cores, both unless other processes keep a core busy or another decode
/// runs in this process.
pub fn choose(
    configured: usize,
    cores: usize,
    others_cores: Option<f64>,
    other_decodes: usize,
) -> i32 {
    if configured > 0 {
        return configured as i32;
    }
    if !depends_on_others(configured, cores) {
        return (cores - 1).min(4) as i32;
    }
    let busy = other_decodes > 0 || others_cores.is_some_and(|c| c >= BUSY_CORES);
    if busy {
        1
    } else {
        cores.clamp(1, 2) as i32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_cores_use_both_unless_someone_else_is_busy() {
        assert_eq!(choose(0, 2, Some(0.1), 0), 2);
        assert_eq!(choose(0, 2, None, 0), 2);
        assert_eq!(choose(0, 2, Some(0.9), 0), 1);
        assert_eq!(
            choose(0, 2, Some(0.0), 1),
            1,
            "another decode in this process"
        );
        assert_eq!(choose(3, 2, Some(0.9), 1), 3, "configured wins");
        assert_eq!(choose(0, 8, Some(3.0), 0), 4);
        assert_eq!(choose(0, 1, None, 0), 1);
    }

    #[test]
    fn this_processs_own_time_is_not_someone_elses() {
        let t0 = Instant::now();
        let a = Snapshot {
            at: t0,
            busy: 1_000,
            own: 500,
        };
        // One second at 100 ticks/s: 150 ticks busy, 100 of them ours.
        let b = Snapshot {
            at: t0 + Duration::from_secs(1),
            busy: 1_150,
            own: 600,
        };
        let others = others_between(&a, &b, 100.0).unwrap();
        assert!((others - 0.5).abs() < 1e-9, "{others}");
        let too_soon = Snapshot {
            at: t0 + Duration::from_millis(10),
            ..b
        };
        assert_eq!(others_between(&a, &too_soon, 100.0), None);
        assert!(snapshot().is_some(), "/proc is readable on Linux");
    }

    #[test]
    fn another_process_spinning_is_seen() {
        let watch = CpuWatch::start();
        let mut hog = std::process::Command::new("sh")
            .args(["-c", "while :; do :; done"])
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(1500));
        let others = watch.others();
        let _ = hog.kill();
        let _ = hog.wait();
        let others = others.expect("/proc is readable on Linux");
        // A whole core when the machine is free; at least a share when tests run beside it.
        assert!(others >= 0.3, "a spinning shell: {others:.2} cores");
    }

    #[test]
    fn decodes_in_flight_are_counted() {
        let a = Decoding::start();
        let before = a.others();
        let b = Decoding::start();
        assert_eq!(a.others(), before + 1);
        drop(b);
        assert_eq!(a.others(), before);
    }
}
