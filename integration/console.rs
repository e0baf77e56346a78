//! The web console in a real browser: Debian's chromium driven through chromedriver
//! (WebDriver, the `fantoccini` crate), its microphone a synthesized command played by
//! Chromium's fake capture device. The page streams it to `luna run`, which hears,
//! understands and acts on it; the test reads what the page shows and what the history
//! recorded. `make test` installs chromium and chromium-driver.

mod support;

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use support::{session, write16};

const TOKEN: &str = "console-test-token";

/// chromedriver on a free loopback port; killed on drop.
struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The browser's binaries, or `None` (with the reason) where they are not installed.
fn browser_binaries() -> Option<(std::path::PathBuf, std::path::PathBuf)> {
    let chromium = which::which("chromium").ok()?;
    let driver = which::which("chromedriver").ok()?;
    Some((chromium, driver))
}

fn start_driver(driver: &Path) -> Driver {
    let port = free_port();
    let child = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not listen");
        std::thread::sleep(Duration::from_millis(100));
    }
    Driver { child, port }
}

/// A headless Chromium whose microphone plays `mic_wav` once, from when the page opens
/// it. No background networking: the machine has no network, and the test checks that
/// the page asks for nothing beyond LUNA's address.
async fn open_browser(driver: &Driver, chromium: &Path, mic_wav: &Path, profile: &Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-quic",
                "--autoplay-policy=no-user-gesture-required",
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                format!("--use-file-for-fake-audio-capture={}%noloop", mic_wav.display()),
                format!("--user-data-dir={}", profile.display()),
                "--window-size=1000,1400",
            ],
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("chromium starts under chromedriver")
}

/// Waits up to `seconds` for `script` (a JavaScript expression) to be truthy; returns it.
async fn wait_js(browser: &Client, script: &str, seconds: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        let value = browser
            .execute(&format!("return {script};"), vec![])
            .await
            .unwrap();
        let truthy = !matches!(&value, Value::Null | Value::Bool(false))
            && value != json!("")
            && value != json!(0);
        if truthy {
            return value;
        }
        if Instant::now() > deadline {
            let page = browser
                .execute("return document.body.innerText;", vec![])
                .await
                .unwrap();
            panic!("waited {seconds} s for `{script}`; the page says:\n{page}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// What the newest command card shows, by field.
async fn newest_card(browser: &Client) -> Value {
    browser
        .execute(
            r##"const c = document.querySelector("#log .command");
               const f = (n) => c.querySelector(`[data-field="${n}"]`);
               const steps = {};
               for (const li of c.querySelectorAll(".steps li")) steps[li.dataset.stage] = li.textContent;
               return { id: c.dataset.correlationId, source: f("source").textContent,
                        transcript: f("transcript").textContent, intents: f("intents").textContent,
                        results: f("results").textContent, reply: f("reply").textContent,
                        total: f("total").textContent, steps };"##,
            vec![],
        )
        .await
        .unwrap()
}

/// The recorded commands, newest first, from `/v1/history`.
fn history(addr: SocketAddr) -> Vec<Value> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET /v1/history?limit=50 HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {TOKEN}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let body = response.split_once("\r\n\r\n").unwrap().1;
    let mut body: Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("{response}"));
    body["commands"]
        .as_array_mut()
        .map(std::mem::take)
        .unwrap_or_default()
}

fn milliseconds(text: &str) -> f64 {
    text.split_whitespace()
        .rev()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no milliseconds in {text:?}"))
}

#[test]
fn a_command_spoken_typed_and_confirmed_in_the_page_is_shown_with_its_latencies() {
    let Some((chromium, driver_bin)) = browser_binaries() else {
        eprintln!(
            "SKIPPED: chromium and chromedriver are not installed (`make test` installs them: \
             apt-get install chromium chromium-driver)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // The microphone: a second of quiet, the command, then quiet while the key is held.
    let (audio, truth) = session(
        dir.path(),
        &[("set a timer for five minutes", "en-us")],
        1.0,
        2.5,
    );
    let mic = dir.path().join("mic.wav");
    write16(&mic, &audio);
    let speech_end_s = truth[0].1;

    let home = tempfile::tempdir().unwrap();
    let (daemon, addr, rx) = support::start_headless(home.path(), &[("LUNA_API__TOKEN", TOKEN)]);
    std::thread::spawn(move || while rx.recv().is_ok() {});

    let driver = start_driver(&driver_bin);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let profile = dir.path().join("profile");
        let browser = open_browser(&driver, &chromium, &mic, &profile).await;
        browser.goto(&format!("http://{addr}/")).await.unwrap();

        // With a token configured the page asks for it once, keyboard only.
        wait_js(&browser, r##"!document.querySelector("#token-form").hidden"##, 10).await;
        let field = browser.find(Locator::Id("token")).await.unwrap();
        field
            .send_keys(&format!("{TOKEN}{}", char::from(Key::Enter)))
            .await
            .unwrap();
        wait_js(&browser, r##"document.querySelector("#token-form").hidden"##, 10).await;

        // Push to talk with the space bar, held past the end of the speech.
        let hold = Duration::from_secs_f64(speech_end_s + 1.2);
        let keys = KeyActions::new("keyboard".into())
            .then(KeyAction::Down {
                value: char::from(Key::Space),
            })
            .pause(hold)
            .then(KeyAction::Up {
                value: char::from(Key::Space),
            });
        browser.perform_actions(keys).await.unwrap();
        wait_js(&browser, r##"document.querySelector("#log .command .steps li[data-stage='stt']")"##, 20).await;
        let card = newest_card(&browser).await;
        eprintln!("spoken: {card:#}");
        assert_eq!(card["source"], "Spoken", "{card}");
        assert!(
            card["transcript"].as_str().unwrap().to_lowercase().contains("timer"),
            "{card}"
        );
        assert!(card["intents"].as_str().unwrap().contains("timer.start"), "{card}");
        assert!(card["intents"].as_str().unwrap().contains("duration_s=300"), "{card}");
        assert!(card["reply"].as_str().unwrap().contains("Timer set for 5 minutes"), "{card}");
        for stage in ["endpoint", "stt", "brain", "dispatch"] {
            let ms = milliseconds(card["steps"][stage].as_str().unwrap_or_default());
            assert!((0.0..1000.0).contains(&ms), "{stage}: {card}");
        }
        // Understood and shown with its latencies within a second of the speech's end.
        let total = milliseconds(card["total"].as_str().unwrap());
        assert!(total < 1000.0, "speech end → action {total} ms: {card}");
        // In the page's own clock: from the microphone's first sound (the file's start)
        // to the card showing its latencies, less the speech's end in the file.
        let shown = browser
            .execute(
                r##"return document.querySelector("#log .command").dataset.latencyShownAt - document.body.dataset.micStartedAt;"##,
                vec![],
            )
            .await
            .unwrap();
        let after_speech_s = shown.as_f64().unwrap() / 1000.0 - speech_end_s;
        eprintln!("shown {after_speech_s:.3} s after the speech ended");
        assert!(after_speech_s < 1.0, "shown {after_speech_s:.3} s after the speech ended");
        // The spoken reply came back as audio and played.
        wait_js(&browser, r##"document.querySelector("#log .command .steps li[data-stage='reply']")"##, 10).await;

        // Recorded once.
        let id = card["id"].as_str().unwrap().to_owned();
        let recorded = history(addr);
        assert_eq!(
            recorded.iter().filter(|c| c["correlation_id"] == id.as_str()).count(),
            1,
            "{recorded:#?}"
        );
        assert_eq!(recorded.len(), 1, "one command so far: {recorded:#?}");

        // A typed command, keyboard only.
        let text = browser.find(Locator::Id("text")).await.unwrap();
        text.send_keys(&format!("what time is it{}", char::from(Key::Enter)))
            .await
            .unwrap();
        wait_js(&browser, &format!(r##"document.querySelector("#log .command").dataset.correlationId !== "{id}""##), 10).await;
        let card = newest_card(&browser).await;
        assert_eq!(card["source"], "Typed", "{card}");
        assert!(card["intents"].as_str().unwrap().contains("time.now"), "{card}");

        // A destructive command waits for a yes, answered with the focused button.
        text.send_keys(&format!("clear my shopping list{}", char::from(Key::Enter)))
            .await
            .unwrap();
        wait_js(&browser, r##"!document.querySelector("#confirm").hidden"##, 10).await;
        let question = wait_js(&browser, r##"document.querySelector("#confirm-question").textContent"##, 5).await;
        assert!(question.as_str().unwrap().contains('?'), "{question}");
        let focused = wait_js(&browser, "document.activeElement.id", 5).await;
        assert_eq!(focused, "yes");
        let yes = browser.find(Locator::Id("yes")).await.unwrap();
        yes.send_keys(&char::from(Key::Enter).to_string()).await.unwrap();
        wait_js(&browser, r##"document.querySelector("#confirm").hidden"##, 5).await;
        wait_js(&browser, r##"document.querySelectorAll("#log .command").length === 4"##, 10).await;
        let card = newest_card(&browser).await;
        assert!(card["results"].as_str().unwrap().contains("list."), "{card}");

        // History and stats on the second tab.
        browser.find(Locator::Id("tab-history")).await.unwrap().click().await.unwrap();
        wait_js(&browser, r##"document.querySelectorAll("#history-rows tr").length === 4"##, 10).await;
        let stats = wait_js(&browser, r##"document.querySelector("#stats").textContent"##, 10).await;
        assert!(stats.as_str().unwrap().contains("latency"), "{stats}");

        // Nothing was asked of any address but LUNA's own.
        let origins = browser
            .execute(
                r##"return [location.origin, ...performance.getEntriesByType("resource").map((e) => new URL(e.name).origin)];"##,
                vec![],
            )
            .await
            .unwrap();
        let origins = origins.as_array().unwrap();
        assert!(origins.len() > 3, "{origins:?}");
        assert!(origins.iter().all(|o| o == &origins[0]), "{origins:?}");

        if let Some(path) = std::env::var_os("LUNA_CONSOLE_SCREENSHOT") {
            browser.find(Locator::Id("tab-talk")).await.unwrap().click().await.unwrap();
            std::fs::write(path, browser.screenshot().await.unwrap()).unwrap();
        }
        browser.close().await.unwrap();
    });
    support::stop(daemon);
}
