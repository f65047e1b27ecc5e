//! Runs the built `fleet` binary with a config file of its own and no fleet setting from
//! the test's environment.

use std::path::PathBuf;
use std::process::Command;

use fleetd::settings::ClockMode;

use crate::fleetd::Fleetd;

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

    /// `fleet args...` with `env` set. Runs off the async workers, since the fleetd it
    /// calls runs on them.
    pub async fn fleet(&self, env: &[(&str, &str)], args: &[&str]) -> Ran {
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
