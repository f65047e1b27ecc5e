//! A real browser for the console's tests: Debian's Chromium, headless, driven over
//! WebDriver by chromedriver (`apt-get install chromium chromium-driver`). Nothing is
//! downloaded: the browser is the system's, found on the PATH or by `FLEET_CHROMEDRIVER`
//! and `FLEET_CHROMIUM`.
//!
//! Each [`Browser`] runs a chromedriver of its own on a free port, so tests run in
//! parallel; screenshots go to `target/console-screenshots/`, which CI keeps.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

/// How long a page gets to show what a test waits for.
const PATIENCE: Duration = Duration::from_secs(15);

/// What to install when the browser is missing.
const INSTALL: &str = "the console's browser tests need Chromium and ChromeDriver: \
     `apt-get install chromium chromium-driver` (or set FLEET_CHROMEDRIVER and FLEET_CHROMIUM)";

pub struct Browser {
    pub client: Client,
    driver: Child,
    driver_url: String,
    session: String,
}

impl Browser {
    /// A fresh headless Chromium at 1280×800.
    pub async fn open() -> Browser {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let program = std::env::var("FLEET_CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
        let driver = Command::new(&program)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{INSTALL} ({program}: {e})"));
        let driver_url = format!("http://127.0.0.1:{port}");
        wait_for_driver(&driver_url).await;
        let mut options = json!({
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,800", "--lang=en-US",
            ],
        });
        if let Some(binary) = chromium() {
            options["binary"] = json!(binary);
        }
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": options,
            "goog:loggingPrefs": { "browser": "ALL" },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!("an object")
        };
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&driver_url)
            .await
            .unwrap_or_else(|e| panic!("{INSTALL} (starting a session: {e})"));
        let session = client
            .session_id()
            .await
            .expect("a session id")
            .expect("a session");
        Browser {
            client,
            driver,
            driver_url,
            session,
        }
    }

    /// Opens `url` and waits until the console has drawn the page.
    pub async fn visit(&self, url: &str) {
        self.client.goto(url).await.expect("navigation");
        self.wait_ready().await;
    }

    /// Moves to the console's route `hash` (`#/servers`) without loading the page again.
    pub async fn route(&self, hash: &str) {
        // Not ready from here on, so the page being left cannot pass for the next one.
        self.run(&format!(
            "document.body.dataset.ready = 'false'; location.hash = {}",
            json!(hash)
        ))
        .await;
        self.until(
            &format!("the page {hash} to be ready"),
            &format!(
                "return document.body.dataset.ready === 'true' \
                 && document.body.dataset.route === {}",
                json!(hash)
            ),
        )
        .await;
    }

    /// Waits until the page says it has drawn its data (`<body data-ready="true">`).
    pub async fn wait_ready(&self) {
        self.until(
            "the page to be ready",
            "return document.body.dataset.ready === 'true'",
        )
        .await;
    }

    /// Runs `script` in the page and returns what it returns.
    pub async fn run(&self, script: &str) -> Value {
        self.client.execute(script, vec![]).await.expect(script)
    }

    /// Waits until `script` returns `true`, panicking with `what` after the patience runs
    /// out.
    pub async fn until(&self, what: &str, script: &str) {
        let started = Instant::now();
        loop {
            if self.run(script).await == json!(true) {
                return;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "waited {PATIENCE:?} for {what}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Whether a visible element (laid out, not hidden) matches `css`.
    pub async fn shows(&self, css: &str) -> bool {
        self.run(&format!(
            "return [...document.querySelectorAll({})].some(e => e.offsetParent !== null)",
            json!(css)
        ))
        .await
            == json!(true)
    }

    /// The element matching `css`, once it exists.
    async fn element(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"))
    }

    /// Clicks the element matching `css`, once it exists.
    pub async fn click(&self, css: &str) {
        self.element(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("clicking {css}: {e}"));
    }

    /// Presses Enter on the element matching `css`, as a person at the keyboard would.
    pub async fn press_enter(&self, css: &str) {
        self.type_into(css, "\u{E007}").await;
    }

    /// Types `text` into the element matching `css`.
    pub async fn type_into(&self, css: &str, text: &str) {
        self.element(css)
            .await
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("typing into {css}: {e}"));
    }

    /// Saves a screenshot of the window as `target/console-screenshots/<name>.png`.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("a screenshot");
        let dir = screenshots();
        std::fs::create_dir_all(&dir).expect("the screenshot folder");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("the screenshot");
    }

    /// The errors the page's console logged since this was last asked (Chromium's
    /// `SEVERE` entries: uncaught exceptions, failed loads, `console.error`).
    pub async fn console_errors(&self) -> Vec<String> {
        let log: Value = reqwest::Client::new()
            .post(format!(
                "{}/session/{}/se/log",
                self.driver_url, self.session
            ))
            .json(&json!({ "type": "browser" }))
            .send()
            .await
            .expect("the browser's log")
            .json()
            .await
            .expect("the log as JSON");
        let Some(entries) = log["value"].as_array() else {
            panic!("chromedriver gave no browser log: {log}");
        };
        entries
            .iter()
            .filter(|entry| entry["level"] == "SEVERE")
            .map(|entry| entry["message"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Panics when the page shows an error (its error banner) or the browser's console
    /// logged one.
    pub async fn assert_clean(&self, page: &str) {
        let banner = self
            .run(
                "const b = document.querySelector('#error-banner'); \
                 return b && !b.hidden ? b.textContent.trim() : null",
            )
            .await;
        assert_eq!(banner, Value::Null, "{page}: the console shows an error");
        let errors = self.console_errors().await;
        assert!(
            errors.is_empty(),
            "{page}: the browser's console logged {errors:#?}"
        );
    }

    /// Ends the session and stops the driver.
    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // A test that panicked before `close` leaves no driver behind (the driver takes
        // its browser with it).
        let _ = self.driver.kill();
    }
}

/// Where screenshots go: the workspace's `target/console-screenshots`.
pub fn screenshots() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"))
        .join("console-screenshots")
}

/// The Chromium binary to drive: `FLEET_CHROMIUM`, or Debian's, or the driver's own choice.
fn chromium() -> Option<String> {
    std::env::var("FLEET_CHROMIUM").ok().or_else(|| {
        ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
            .into_iter()
            .find(|path| std::path::Path::new(path).exists())
            .map(str::to_owned)
    })
}

async fn wait_for_driver(url: &str) {
    let started = Instant::now();
    let client = reqwest::Client::new();
    loop {
        if let Ok(response) = client.get(format!("{url}/status")).send().await
            && response.status().is_success()
        {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{INSTALL} (chromedriver did not answer at {url})"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
