//! Finding a Postgres for the tests, or starting a throwaway one.
//!
//! In order: `TEST_DATABASE_URL` if set; a server on 127.0.0.1:5432; a throwaway cluster in
//! `target/pgtmp` started with `initdb` and `pg_ctl` if those are installed; otherwise an
//! error that says what to install.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};

const LOCAL_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A Postgres the tests can use.
pub struct Database {
    url: String,
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
        return Ok(Database { url });
    }
    if answers("127.0.0.1:5432") {
        return Ok(Database {
            url: LOCAL_URL.to_owned(),
        });
    }
    start_throwaway()
}

fn answers(addr: &str) -> bool {
    addr.parse::<SocketAddr>()
        .map(|addr| TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok())
        .unwrap_or(false)
}

fn start_throwaway() -> Result<Database> {
    let Some(bin) = postgres_bin_dir() else {
        bail!(
            "no Postgres for the tests: TEST_DATABASE_URL is unset, nothing answers on \
             127.0.0.1:5432, and initdb/pg_ctl are not installed.\n\
             Install PostgreSQL 14 or newer (Debian/Ubuntu: `apt-get install postgresql`, \
             macOS: `brew install postgresql@16`), or point TEST_DATABASE_URL at a server \
             where the user may create databases."
        );
    };
    let root = workspace_root().join("target/pgtmp");
    let data = root.join("data");
    if !data.join("PG_VERSION").exists() {
        std::fs::create_dir_all(&root)?;
        run_pg(
            &bin,
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
        path_str(&root)?
    );
    // A cluster left running by an earlier run is stopped first; failure just means none was.
    let _ = Command::new(bin.join("pg_ctl"))
        .args(["-D", path_str(&data)?, "-m", "immediate", "stop"])
        .output();
    run_pg(
        &bin,
        "pg_ctl",
        &[
            "-D",
            path_str(&data)?,
            "-l",
            path_str(&root.join("log"))?,
            "-o",
            &options,
            "-w",
            "start",
        ],
    )?;
    eprintln!(
        "xtask: started a throwaway Postgres cluster in {}",
        root.display()
    );
    Ok(Database {
        url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
    })
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

fn run_pg(bin: &Path, tool: &str, args: &[&str]) -> Result<()> {
    let mut command = Command::new(bin.join(tool));
    command.args(args);
    // initdb refuses to run as root; run it as the postgres user when we are root.
    if is_root() {
        let mut su = Command::new("runuser");
        su.args(["-u", "postgres", "--"])
            .arg(bin.join(tool))
            .args(args);
        command = su;
        chown_to_postgres()?;
    }
    let output = command
        .output()
        .with_context(|| format!("could not run {tool}"))?;
    if !output.status.success() {
        bail!(
            "{tool} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn chown_to_postgres() -> Result<()> {
    let root = workspace_root().join("target/pgtmp");
    let status = Command::new("chown")
        .args(["-R", "postgres:postgres"])
        .arg(&root)
        .status()?;
    if !status.success() {
        bail!("could not give {} to the postgres user", root.display());
    }
    Ok(())
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
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
}
