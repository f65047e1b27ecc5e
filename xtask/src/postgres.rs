//! Finding a Postgres for the tests, or starting a throwaway one.
//!
//! In order: `TEST_DATABASE_URL` if set; a server on 127.0.0.1:5432; a throwaway cluster in
//! `target/pgtmp` started with `initdb` and `pg_ctl` if those are installed; otherwise an
//! error that says what to install.
//!
//! The throwaway cluster is shared: several `cargo xtask` runs at once use one cluster, and
//! none stops it under another. Each run registers itself in `target/pgtmp/users/` (under a
//! lock, `target/pgtmp/lock`) and reuses a running cluster, reading its port from
//! `postmaster.pid`; [`Database::release`] unregisters the run and stops the cluster
//! (`pg_ctl stop -m fast`) when no live run is registered any more. A run that never
//! releases (a task that ends without calling it, or a killed one) stays registered only as
//! long as its process lives.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, bail};

const LOCAL_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// How long a run waits for another to finish starting the throwaway cluster.
const LOCK_WAIT: Duration = Duration::from_secs(180);

/// A Postgres the tests can use.
pub struct Database {
    url: String,
    lease: Option<Lease>,
}

impl Database {
    /// The connection URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The URL without any password or query string, for messages.
    pub fn display_url(&self) -> String {
        display_url(&self.url)
    }

    /// Done with it: a throwaway cluster no other live run uses any more is stopped
    /// (whichever run started it).
    pub fn release(self) -> Result<()> {
        match self.lease {
            Some(lease) => lease.release(),
            None => Ok(()),
        }
    }
}

/// `url` without its password and query string: `scheme://user@host:port/db`. Anything
/// before the last `@` of the part before the query, but the user, may be a password.
pub fn display_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://").filter(|(scheme, _)| {
        !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    }) else {
        return "(a database URL)".to_owned();
    };
    let before_query = rest.split_once('?').map_or(rest, |(before, _)| before);
    match before_query.rsplit_once('@') {
        Some((credentials, server)) => match credentials.split(':').next() {
            Some(user) if !user.is_empty() => format!("{scheme}://{user}@{server}"),
            _ => format!("{scheme}://{server}"),
        },
        // An `@` only after a `?` may be a password with a `?` in it: show nothing of it.
        None if rest.contains('@') => format!("{scheme}://***"),
        None => format!("{scheme}://{before_query}"),
    }
}

/// The Postgres the tests should use, starting one if none is running.
pub fn find_or_start() -> Result<Database> {
    if let Ok(url) = std::env::var("TEST_DATABASE_URL") {
        return Ok(Database { url, lease: None });
    }
    if answers("127.0.0.1:5432") {
        return Ok(Database {
            url: LOCAL_URL.to_owned(),
            lease: None,
        });
    }
    let Some(bin) = postgres_bin_dir() else {
        bail!(
            "no Postgres for the tests: TEST_DATABASE_URL is unset, nothing answers on \
             127.0.0.1:5432, and initdb/pg_ctl are not installed.\n\
             Install PostgreSQL 14 or newer (Debian/Ubuntu: `apt-get install postgresql`, \
             macOS: `brew install postgresql@16`), or point TEST_DATABASE_URL at a server \
             where the user may create databases."
        );
    };
    let cluster = Cluster {
        bin,
        root: crate::workspace_root().join("target/pgtmp"),
    };
    let lease = cluster.lease()?;
    Ok(Database {
        url: format!("postgres://postgres@127.0.0.1:{}/postgres", lease.port),
        lease: Some(lease),
    })
}

fn answers(addr: &str) -> bool {
    addr.parse::<SocketAddr>()
        .map(|addr| TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok())
        .unwrap_or(false)
}

/// A throwaway cluster: its data in `root/data`, its socket, log, lock and users beside.
struct Cluster {
    bin: PathBuf,
    root: PathBuf,
}

/// One run's registration as a user of the throwaway cluster.
struct Lease {
    cluster: Cluster,
    registration: PathBuf,
    port: u16,
}

impl Cluster {
    fn data(&self) -> PathBuf {
        self.root.join("data")
    }

    fn users(&self) -> PathBuf {
        self.root.join("users")
    }

    /// Registers this run and returns the port of the cluster, started if it was not running.
    fn lease(self) -> Result<Lease> {
        std::fs::create_dir_all(self.users())
            .with_context(|| format!("creating {}", self.users().display()))?;
        let lock = DirLock::acquire(&self.root.join("lock"))?;
        let port = match self.running_port()? {
            Some(port) => {
                eprintln!(
                    "xtask: reusing the throwaway Postgres cluster in {} (port {port})",
                    self.root.display()
                );
                port
            }
            None => self.start()?,
        };
        let registration = self.users().join(format!(
            "{}-{}",
            std::process::id(),
            NEXT_LEASE.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::write(&registration, port.to_string())
            .with_context(|| format!("registering in {}", registration.display()))?;
        drop(lock);
        Ok(Lease {
            cluster: self,
            registration,
            port,
        })
    }

    /// The port of the cluster if it runs and answers.
    fn running_port(&self) -> Result<Option<u16>> {
        if !self.data().join("PG_VERSION").exists() {
            return Ok(None);
        }
        let status = self.pg("pg_ctl", &["-D", path_str(&self.data())?, "status"])?;
        if !status.status.success() {
            return Ok(None);
        }
        // The fourth line of postmaster.pid is the port (see the Postgres docs on
        // "postmaster.pid"); it is written before the server accepts connections.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let port = std::fs::read_to_string(self.data().join("postmaster.pid"))
                .ok()
                .and_then(|pid| {
                    pid.lines()
                        .nth(3)
                        .and_then(|p| p.trim().parse::<u16>().ok())
                });
            if let Some(port) = port
                && answers(&format!("127.0.0.1:{port}"))
            {
                return Ok(Some(port));
            }
            if Instant::now() > deadline {
                bail!(
                    "the throwaway Postgres cluster in {} runs but does not answer on the port \
                     of its postmaster.pid; stop it (`pg_ctl -D {} stop`) and try again",
                    self.root.display(),
                    self.data().display()
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn start(&self) -> Result<u16> {
        let data = self.data();
        if !data.join("PG_VERSION").exists() {
            self.pg_ok(
                "initdb",
                &[
                    "-D",
                    path_str(&data)?,
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--no-sync",
                ],
            )?;
        }
        let port = free_port()?;
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -F",
            path_str(&self.root)?
        );
        self.pg_ok(
            "pg_ctl",
            &[
                "-D",
                path_str(&data)?,
                "-l",
                path_str(&self.root.join("log"))?,
                "-o",
                &options,
                "-w",
                "start",
            ],
        )?;
        eprintln!(
            "xtask: started a throwaway Postgres cluster in {} (port {port})",
            self.root.display()
        );
        Ok(port)
    }

    fn stop(&self) -> Result<()> {
        let status = self.pg("pg_ctl", &["-D", path_str(&self.data())?, "status"])?;
        if !status.status.success() {
            return Ok(());
        }
        self.pg_ok(
            "pg_ctl",
            &["-D", path_str(&self.data())?, "-m", "fast", "-w", "stop"],
        )?;
        eprintln!(
            "xtask: stopped the throwaway Postgres cluster in {}",
            self.root.display()
        );
        Ok(())
    }

    /// The registrations of runs whose process still lives; the others are removed.
    fn live_users(&self) -> Result<Vec<PathBuf>> {
        let mut live = Vec::new();
        for entry in std::fs::read_dir(self.users())? {
            let path = entry?.path();
            let pid = path
                .file_name()
                .and_then(|name| name.to_str())
                .and_then(|name| name.split('-').next())
                .and_then(|pid| pid.parse::<u32>().ok());
            match pid {
                Some(pid) if is_alive(pid) => live.push(path),
                _ => {
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        Ok(live)
    }

    /// Runs a Postgres tool, as the postgres user when we are root (initdb and pg_ctl
    /// refuse to run as root).
    fn pg(&self, tool: &str, args: &[&str]) -> Result<Output> {
        let mut command = Command::new(self.bin.join(tool));
        command.args(args);
        if is_root() {
            let mut su = Command::new("runuser");
            su.args(["-u", "postgres", "--"])
                .arg(self.bin.join(tool))
                .args(args);
            command = su;
            self.chown_to_postgres()?;
        }
        command
            .output()
            .with_context(|| format!("could not run {tool}"))
    }

    fn pg_ok(&self, tool: &str, args: &[&str]) -> Result<()> {
        let output = self.pg(tool, args)?;
        if !output.status.success() {
            bail!(
                "{tool} failed: {}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(())
    }

    fn chown_to_postgres(&self) -> Result<()> {
        let status = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(&self.root)
            .status()?;
        if !status.success() {
            bail!(
                "could not give {} to the postgres user",
                self.root.display()
            );
        }
        Ok(())
    }
}

/// Tells leases of one process apart.
static NEXT_LEASE: AtomicU32 = AtomicU32::new(0);

impl Lease {
    /// Unregisters this run; stops the cluster when no live run is left registered.
    fn release(self) -> Result<()> {
        let lock = DirLock::acquire(&self.cluster.root.join("lock"))?;
        let _ = std::fs::remove_file(&self.registration);
        if self.cluster.live_users()?.is_empty() {
            self.cluster.stop()?;
        } else {
            eprintln!(
                "xtask: leaving the throwaway Postgres cluster in {} running for the other \
                 runs using it",
                self.cluster.root.display()
            );
        }
        drop(lock);
        Ok(())
    }
}

/// A lock between processes: a directory only one can create, holding the holder's pid. A
/// lock whose holder died is taken over.
struct DirLock {
    path: PathBuf,
}

impl DirLock {
    fn acquire(path: &Path) -> Result<DirLock> {
        let deadline = Instant::now() + LOCK_WAIT;
        loop {
            match std::fs::create_dir(path) {
                Ok(()) => {
                    std::fs::write(path.join("pid"), std::process::id().to_string())?;
                    return Ok(DirLock {
                        path: path.to_owned(),
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    if Self::is_stale(path) {
                        let _ = std::fs::remove_dir_all(path);
                        continue;
                    }
                }
                Err(e) => return Err(e).with_context(|| format!("creating {}", path.display())),
            }
            if Instant::now() > deadline {
                bail!(
                    "another cargo xtask has held {} for over {} s; if none runs, remove it",
                    path.display(),
                    LOCK_WAIT.as_secs()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Held by a process that is gone, or left without a pid for a while.
    fn is_stale(path: &Path) -> bool {
        match std::fs::read_to_string(path.join("pid")) {
            Ok(pid) => pid.trim().parse().is_ok_and(|pid| !is_alive(pid)),
            Err(_) => std::fs::metadata(path)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|modified| SystemTime::now().duration_since(modified).ok())
                .is_some_and(|age| age > Duration::from_secs(10)),
        }
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

fn is_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    if Path::new("/proc/self").exists() {
        return Path::new("/proc").join(pid.to_string()).exists();
    }
    Command::new("kill")
        .args(["-0", &pid.to_string()])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(true)
}

fn postgres_bin_dir() -> Option<PathBuf> {
    let on_path = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let candidates = on_path.into_iter().chain(
        std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| entry.path().join("bin")),
    );
    let mut found: Vec<PathBuf> = candidates
        .filter(|dir| dir.join("initdb").exists() && dir.join("pg_ctl").exists())
        .collect();
    found.sort();
    found
        .pop()
        .or_else(|| which("initdb").and_then(|p| p.parent().map(Path::to_path_buf)))
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.exists())
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn path_str(path: &Path) -> Result<&str> {
    path.to_str()
        .with_context(|| format!("{} is not valid UTF-8", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_urls_show_no_password_and_never_panic() {
        for (url, shown) in [
            (
                "postgres://u:secret@db:5432/fleet?sslmode=disable",
                "postgres://u@db:5432/fleet",
            ),
            ("postgres://u:pa/ss@db/fleet", "postgres://u@db/fleet"),
            ("postgres://u:p@ss@db/fleet", "postgres://u@db/fleet"),
            ("postgres://:secret@db/fleet", "postgres://db/fleet"),
            (
                "postgres://fleet@db/fleet?password=secret",
                "postgres://fleet@db/fleet",
            ),
            ("postgres://db/fleet?password=se@cret", "postgres://***"),
            ("postgres://u:se?cret@db/fleet", "postgres://***"),
            (
                "postgres://127.0.0.1:5432/postgres",
                "postgres://127.0.0.1:5432/postgres",
            ),
            // `@` before `://` used to slice out of bounds.
            ("u:secret@host://x", "(a database URL)"),
            ("secret@nowhere", "(a database URL)"),
        ] {
            assert_eq!(display_url(url), shown, "{url}");
            assert!(!display_url(url).contains("secret"), "{url}");
        }
    }

    /// Two runs on one cluster: the first to finish leaves it running for the other, the
    /// last stops it. Needs initdb and pg_ctl; says so and passes without them.
    #[test]
    fn runs_share_the_throwaway_cluster_and_the_last_one_stops_it() {
        let Some(bin) = postgres_bin_dir() else {
            eprintln!("initdb/pg_ctl are not installed: the shared cluster is not tested");
            return;
        };
        let root = std::env::temp_dir().join(format!("xtask-pgtmp-{}", std::process::id()));
        let cluster = |root: &Path| Cluster {
            bin: bin.clone(),
            root: root.to_owned(),
        };
        let first = cluster(&root).lease().expect("start a cluster");
        let address = format!("127.0.0.1:{}", first.port);
        assert!(answers(&address), "the cluster answers");
        let second = cluster(&root).lease().expect("reuse the cluster");
        assert_eq!(second.port, first.port, "the running cluster is reused");

        first.release().expect("release the first run");
        assert!(answers(&address), "still running for the second run");

        // A registration left by a process that is gone does not keep the cluster alive.
        std::fs::write(cluster(&root).users().join("999999999-0"), "0").expect("stale entry");
        second.release().expect("release the second run");
        assert!(!answers(&address), "stopped after the last run");
        let status = cluster(&root)
            .pg(
                "pg_ctl",
                &["-D", path_str(&root.join("data")).expect("utf-8"), "status"],
            )
            .expect("pg_ctl status");
        assert!(!status.status.success(), "pg_ctl says it is stopped");
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn a_lock_held_by_a_dead_process_is_taken_over() {
        let path = std::env::temp_dir().join(format!("xtask-lock-{}", std::process::id()));
        std::fs::create_dir_all(&path).expect("lock dir");
        std::fs::write(path.join("pid"), "999999999").expect("dead holder");
        let lock = DirLock::acquire(&path).expect("taken over");
        assert_eq!(
            std::fs::read_to_string(path.join("pid")).expect("pid"),
            std::process::id().to_string()
        );
        drop(lock);
        assert!(!path.exists(), "released on drop");
    }
}
