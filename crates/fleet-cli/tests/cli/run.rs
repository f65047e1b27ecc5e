//! Runs the built `fleet` binary with a clean environment of fleet settings.

use std::path::Path;
use std::process::Command;

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

/// `fleet args...` with `env` set, a config file at `config`, and no other fleet setting
/// from the test's own environment. Runs off the async workers, since the fleetd it calls
/// runs on them.
pub async fn fleet(config: &Path, env: &[(&str, &str)], args: &[&str]) -> Ran {
    let mut command = Command::new(env!("CARGO_BIN_EXE_fleet"));
    command
        .args(args)
        .env_remove("FLEET_URL")
        .env_remove("FLEET_API_KEY")
        .env_remove("FLEET_PROFILE")
        .env("FLEET_CLI_CONFIG", config)
        .env("NO_COLOR", "1");
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
