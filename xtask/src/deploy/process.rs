//! The fleetd under test as a child process: started with its output captured, its
//! listening address read from its start-up log line, killed when dropped.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// Calls `done` every 100 ms until it says yes, or fails after `limit` naming `what`.
pub fn wait_for(limit: Duration, what: &str, mut done: impl FnMut() -> Result<bool>) -> Result<()> {
    let deadline = Instant::now() + limit;
    loop {
        let last = done();
        if matches!(last, Ok(true)) {
            return Ok(());
        }
        if Instant::now() > deadline {
            let detail = last.err().map(|e| format!(": {e:#}")).unwrap_or_default();
            bail!("gave up waiting for {what} after {limit:?}{detail}");
        }
        sleep(Duration::from_millis(100));
    }
}

/// The fleetd under test; killed when dropped.
pub struct Running {
    child: Child,
    lines: Receiver<String>,
    stderr: Arc<Mutex<String>>,
}

impl Running {
    /// Starts `command` with its stdout and stderr captured.
    pub fn start(mut command: Command) -> Result<Running> {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("could not start fleetd")?;
        let (sender, lines) = channel();
        if let Some(stdout) = child.stdout.take() {
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    if sender.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        let stderr = Arc::new(Mutex::new(String::new()));
        if let Some(mut pipe) = child.stderr.take() {
            let stderr = stderr.clone();
            std::thread::spawn(move || {
                let mut text = String::new();
                let _ = pipe.read_to_string(&mut text);
                if let Ok(mut all) = stderr.lock() {
                    all.push_str(&text);
                }
            });
        }
        Ok(Running {
            child,
            lines,
            stderr,
        })
    }

    /// The address from fleetd's "fleetd listening" log line.
    pub fn address(&self, limit: Duration) -> Result<SocketAddr> {
        let deadline = Instant::now() + limit;
        let mut seen = Vec::new();
        loop {
            match self
                .lines
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(line) => {
                    let entry: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
                    if entry["msg"] == "fleetd listening" {
                        let url = entry["address"].as_str().unwrap_or_default();
                        return url.trim_start_matches("http://").parse().with_context(|| {
                            format!("fleetd logged a listening address that is not one: {url}")
                        });
                    }
                    seen.push(line);
                }
                Err(RecvTimeoutError::Timeout) => bail!(
                    "fleetd logged no 'fleetd listening' line within {limit:?}:\n{}",
                    seen.join("\n")
                ),
                Err(RecvTimeoutError::Disconnected) => {
                    sleep(Duration::from_millis(200));
                    let stderr = self.stderr.lock().map(|s| s.clone()).unwrap_or_default();
                    bail!(
                        "fleetd exited before listening:\n{}\n{stderr}",
                        seen.join("\n")
                    );
                }
            }
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
