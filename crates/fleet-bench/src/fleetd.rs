//! The fleetd process under test: started on a free port in open or keys mode, waited for
//! until ready, watched through `/proc`, stopped with SIGTERM.

use std::fs::File;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::http::Conn;
use crate::usage;

/// How long fleetd may take to migrate its database and answer `/readyz`.
const START_TIMEOUT: Duration = Duration::from_secs(120);
/// How long it may take to stop after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// How the fleetd under test authenticates. The mode is always given, so a `FLEET_AUTH` in
/// the bench's environment cannot change what a phase measures.
#[derive(Clone, Copy)]
pub enum Auth<'a> {
    /// Open mode: a request without a key acts as the admin of `default`.
    Open,
    /// Keys mode, with `admin_key` installed at start-up as `FLEET_BOOTSTRAP_ADMIN_KEY`
    /// (the way Compose and Kubernetes get their first key).
    Keys {
        /// A key text from `fleetd keys generate`.
        admin_key: &'a str,
    },
}

/// A running fleetd.
pub struct Fleetd {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
}

impl Fleetd {
    /// Starts `binary` against `database_url` under the virtual clock (so no worker runs
    /// between phases unless the bench moves the clock) with `auth`, logging to `log`, and
    /// waits until `/readyz` answers 200.
    pub async fn start(
        binary: &Path,
        database_url: &str,
        auth: Auth<'_>,
        log: PathBuf,
    ) -> Result<Fleetd> {
        Fleetd::launch(binary, database_url, auth, log, None).await
    }

    /// [`Fleetd::start`] in open mode with the catalog file `catalog` rather than the
    /// built-in one.
    pub async fn start_with_catalog(
        binary: &Path,
        database_url: &str,
        log: PathBuf,
        catalog: &Path,
    ) -> Result<Fleetd> {
        Fleetd::launch(binary, database_url, Auth::Open, log, Some(catalog)).await
    }

    async fn launch(
        binary: &Path,
        database_url: &str,
        auth: Auth<'_>,
        log: PathBuf,
        catalog: Option<&Path>,
    ) -> Result<Fleetd> {
        let addr = free_local_addr()?;
        let output = File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let mut command = Command::new(binary);
        command
            .arg("--bind")
            .arg(addr.to_string())
            .arg("--database-url")
            .arg(database_url)
            .args(["--clock", "virtual"]);
        if let Some(catalog) = catalog {
            command.arg("--catalog").arg(catalog);
        }
        match auth {
            Auth::Open => command.args(["--auth", "open"]),
            Auth::Keys { admin_key } => command
                .args(["--auth", "keys"])
                .env("FLEET_BOOTSTRAP_ADMIN_KEY", admin_key),
        };
        let child = command
            .stdin(Stdio::null())
            .stdout(output.try_clone()?)
            .stderr(output)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let mut fleetd = Fleetd { child, addr, log };
        fleetd.wait_ready().await?;
        Ok(fleetd)
    }

    /// [`Fleetd::start`] in keys mode with a new admin key from `binary keys generate`: the
    /// fleetd and the admin key's text.
    pub async fn start_keyed(
        binary: &Path,
        database_url: &str,
        log: PathBuf,
    ) -> Result<(Fleetd, String)> {
        let admin_key = generate_key(binary)?;
        let auth = Auth::Keys {
            admin_key: &admin_key,
        };
        let fleetd = Fleetd::start(binary, database_url, auth, log).await?;
        Ok((fleetd, admin_key))
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its peak resident set size so far (`VmHWM`), in KiB.
    pub fn peak_rss_kib(&self) -> Result<u64> {
        usage::status_kib(self.pid(), "VmHWM")
    }

    /// The CPU time it has used so far (user + system), if `/proc` tells.
    pub fn cpu_time(&self, ticks_per_second: u64) -> Option<Duration> {
        usage::cpu_time(&self.pid().to_string(), ticks_per_second)
    }

    /// Sends SIGTERM and waits for it to exit (killing it after a while).
    pub fn stop(mut self) -> Result<()> {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                if !status.success() {
                    bail!("fleetd exited with {status}:\n{}", self.log_tail());
                }
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        bail!("fleetd did not stop within {STOP_TIMEOUT:?} of SIGTERM")
    }

    async fn wait_ready(&mut self) -> Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("fleetd exited with {status}:\n{}", self.log_tail());
            }
            if let Ok(mut conn) = Conn::connect(self.addr).await
                && let Ok(response) = conn.get("/readyz").await
                && response.status.is_success()
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "fleetd was not ready within {START_TIMEOUT:?}:\n{}",
                    self.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for Fleetd {
    fn drop(&mut self) {
        // Never leave a fleetd behind: a no-op when it has already exited.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A new key text from `binary keys generate`, stored nowhere until a fleetd installs it.
fn generate_key(binary: &Path) -> Result<String> {
    let output = Command::new(binary)
        .args(["keys", "generate"])
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {} keys generate", binary.display()))?;
    if !output.status.success() {
        bail!(
            "{} keys generate exited with {}: {}",
            binary.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8(output.stdout)
        .context("fleetd keys generate printed a key that is not text")?
        .trim()
        .to_owned())
}

/// The kernel's clock ticks per second, for [`Fleetd::cpu_time`].
pub fn clock_ticks_per_second() -> Option<u64> {
    let output = Command::new("getconf").arg("CLK_TCK").output().ok()?;
    String::from_utf8_lossy(&output.stdout).trim().parse().ok()
}

fn free_local_addr() -> Result<SocketAddr> {
    // The port is free now; fleetd binds it a moment later.
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}
