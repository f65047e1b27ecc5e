//! Runs the built `fleet` binary with a config file of its own and no fleet setting from
//! the test's environment.

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::Duration;

use fleet_client::Client;
use fleetd::settings::ClockMode;
use tokio::sync::mpsc;

use crate::fleetd::Fleetd;

/// `fleet servers create` of a t2.micro in us-east-1, then `more`.
pub fn create(more: &[&'static str]) -> Vec<&'static str> {
    let create = [
        "servers",
        "create",
        "--region",
        "us-east-1",
        "--type",
        "t2.micro",
    ];
    [&create[..], more].concat()
}

/// What a run of `fleet` printed and how it exited.
#[derive(Debug)]
pub struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    /// The JSON it printed.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", self.stdout, self.stderr))
    }

    /// Asserts it succeeded.
    pub fn ok(self) -> Ran {
        assert_eq!(self.code, 0, "{self:?}");
        self
    }
}

/// A user's shell: a config file path (in a directory of its own, not yet written) and,
/// unless offline, a fleetd to call.
pub struct Shell {
    pub service: Option<Fleetd>,
    pub config: PathBuf,
    _dir: tempfile::TempDir,
}

impl Shell {
    /// With a fleetd running on the virtual clock.
    pub async fn with_fleetd() -> Shell {
        Shell::with_fleetd_on(ClockMode::Virtual).await
    }

    /// With a fleetd running on the virtual clock with `--seed seed`.
    pub async fn with_seeded_fleetd(seed: u64) -> Shell {
        Shell {
            service: Some(Fleetd::start_seeded(seed).await),
            ..Shell::offline()
        }
    }

    /// With a fleetd running on `clock`.
    pub async fn with_fleetd_on(clock: ClockMode) -> Shell {
        Shell {
            service: Some(Fleetd::start(clock).await),
            ..Shell::offline()
        }
    }

    /// Without a service.
    pub fn offline() -> Shell {
        let dir = tempfile::tempdir().expect("dir");
        Shell {
            service: None,
            config: dir.path().join("fleet").join("config.toml"),
            _dir: dir,
        }
    }

    /// The running fleetd's URL.
    pub fn url(&self) -> &str {
        &self.service.as_ref().expect("a fleetd").url
    }

    /// A client of the running fleetd, to act beside the CLI.
    pub fn client(&self) -> Client {
        Client::connect(self.url(), None).expect("a client")
    }

    /// `fleet args...` with `env` set, not yet run.
    fn command(&self, env: &[(&str, &str)], args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_fleet"));
        command
            .args(args)
            .env_remove("FLEET_URL")
            .env_remove("FLEET_API_KEY")
            .env_remove("FLEET_PROFILE")
            .env("FLEET_CLI_CONFIG", &self.config);
        for (name, value) in env {
            command.env(name, value);
        }
        command
    }

    /// `fleet args...` with `env` set. Runs off the async workers, since the fleetd it
    /// calls runs on them.
    pub async fn fleet(&self, env: &[(&str, &str)], args: &[&str]) -> Ran {
        let mut command = self.command(env, args);
        let output = tokio::task::spawn_blocking(move || command.output())
            .await
            .expect("the run")
            .expect("run fleet");
        Ran {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// `fleet args...` against the running fleetd, named by `FLEET_URL`.
    pub async fn at_fleetd(&self, args: &[&str]) -> Ran {
        self.fleet(&[("FLEET_URL", self.url())], args).await
    }

    /// Starts `fleet args...` against the running fleetd and returns while it runs, its
    /// output piped (so not a terminal).
    pub fn spawn(&self, args: &[&str]) -> Running {
        let mut child = self
            .command(&[("FLEET_URL", self.url())], args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start fleet");
        let stdout = child.stdout.take().expect("stdout");
        let (sender, lines) = mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let mut stderr = child.stderr.take().expect("stderr");
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        Running {
            child: Some(child),
            lines,
            stderr: Some(stderr),
        }
    }

    /// Creates a server through `fleet servers create` and returns its id.
    pub async fn create_server(&self, region: &str, server_type: &str) -> String {
        let args = [
            "servers",
            "create",
            "--region",
            region,
            "--type",
            server_type,
        ];
        let created = self.at_fleetd(&[&args[..], &["-o", "json"]].concat()).await;
        let created = created.ok().json();
        assert_eq!(created["state"], "provisioning", "{created}");
        created["id"].as_str().expect("an id").to_owned()
    }
}

/// A `fleet` still running; its stdout is read line by line as it prints. Killed when
/// dropped unfinished (a failed test leaves no follower behind).
pub struct Running {
    child: Option<Child>,
    lines: mpsc::UnboundedReceiver<String>,
    stderr: Option<JoinHandle<String>>,
}

impl Running {
    /// The lines it prints from now on up to the first that `last` accepts (that one
    /// included); panics when none comes within 30 s.
    pub async fn lines_until(&mut self, last: impl Fn(&str) -> bool) -> Vec<String> {
        let mut read = Vec::new();
        loop {
            match tokio::time::timeout(Duration::from_secs(30), self.lines.recv()).await {
                Ok(Some(line)) => {
                    let done = last(&line);
                    read.push(line);
                    if done {
                        return read;
                    }
                }
                Ok(None) => panic!("fleet ended; it printed {read:?}"),
                Err(_) => panic!("no such line within 30 s; it printed {read:?}"),
            }
        }
    }

    /// Sends it SIGINT, as Ctrl-C does.
    pub fn interrupt(&self) {
        let pid = self.child.as_ref().expect("running").id();
        let status = Command::new("kill")
            .args(["-INT", &pid.to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -INT: {status}");
    }

    /// Waits until it exits: how, and what it printed that was not read yet.
    pub async fn finish(mut self) -> Ran {
        let (mut child, stderr) = (self.child.take(), self.stderr.take());
        let (status, stderr) = tokio::task::spawn_blocking(move || {
            let status = child.as_mut().expect("running").wait().expect("wait");
            let stderr = stderr.expect("stderr").join().expect("stderr");
            (status, stderr)
        })
        .await
        .expect("the wait");
        let mut stdout = String::new();
        while let Some(line) = self.lines.recv().await {
            stdout.push_str(&line);
            stdout.push('\n');
        }
        Ran {
            code: status.code().unwrap_or(-1),
            stdout,
            stderr,
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
