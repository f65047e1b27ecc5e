//! The fleetd under contract: keys mode with a bootstrap admin key (what a user deploying
//! it would do), the embedded store in a temporary folder, the virtual clock with a daily
//! billing period, listening on a free loopback port; its output goes to a log file. Killed
//! when dropped.

use std::fs::File;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::deploy::fleetd::{fleetd_command, generate_key};
use crate::deploy::http;
use crate::deploy::process::wait_for;

/// A day, the longest billing period fleetd takes. schemathesis moves the clock by up to a
/// year at a time, with dozens of servers running: at the default minute each would write
/// 525,600 usage records per move, and the run would time out on the ledger's size, which
/// is not what it checks.
const BILLING_PERIOD_S: &str = "86400";

/// A running fleetd and what the run needs to know about it.
pub struct Fleetd {
    child: Child,
    /// Where it listens.
    pub address: SocketAddr,
    /// The text of its bootstrap admin key.
    pub key: String,
    /// The id of that key's project.
    pub project: String,
    /// The names of its catalog's regions.
    pub regions: Vec<String>,
    /// The names of its catalog's server types.
    pub server_types: Vec<String>,
}

impl Fleetd {
    /// Starts `binary` with its database in `scratch` and its output in `log`, and waits
    /// until it is ready.
    pub fn start(binary: &Path, scratch: &Path, log: &Path) -> Result<Fleetd> {
        let key = generate_key(binary)?;
        let output = File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let child = fleetd_command(binary)
            .env("FLEET_AUTH", "keys")
            // A pepper, as keys mode in production has: key secrets are sealed (and EC2
            // requests can be signed) only under one.
            .env("FLEET_KEY_PEPPER", "contract-pepper-0123456789")
            .env("FLEET_BOOTSTRAP_ADMIN_KEY", &key)
            .env("FLEET_BIND", "127.0.0.1:0")
            .env("FLEET_CLOCK", "virtual")
            .env("FLEET_BILLING_PERIOD_S", BILLING_PERIOD_S)
            .env("FLEET_LOG_FORMAT", "json")
            .env(
                "DATABASE_URL",
                format!("sqlite://{}", scratch.join("fleet.db").display()),
            )
            .arg("serve")
            .stdin(Stdio::null())
            .stdout(output.try_clone()?)
            .stderr(output)
            .spawn()
            .context("could not start fleetd")?;
        let mut fleetd = Fleetd {
            child,
            address: SocketAddr::from(([127, 0, 0, 1], 0)),
            key,
            project: String::new(),
            regions: Vec::new(),
            server_types: Vec::new(),
        };
        fleetd.address = fleetd.listening_address(log)?;
        wait_for(Duration::from_secs(30), "fleetd to be ready", || {
            Ok(http::get(fleetd.address, "/readyz")?.status == 200)
        })?;
        fleetd.learn()?;
        Ok(fleetd)
    }

    /// Its base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The address of the "fleetd listening" line of its log.
    fn listening_address(&mut self, log: &Path) -> Result<SocketAddr> {
        let mut address = None;
        wait_for(Duration::from_secs(60), "fleetd to listen", || {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "fleetd exited ({status}) before listening; see {}",
                    log.display()
                );
            }
            address = std::fs::read_to_string(log)?
                .lines()
                .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
                .find(|entry| entry["msg"] == "fleetd listening")
                .and_then(|entry| entry["address"].as_str().map(str::to_owned));
            Ok(address.is_some())
        })?;
        let url = address.unwrap_or_default();
        url.trim_start_matches("http://")
            .parse()
            .with_context(|| format!("fleetd logged a listening address that is not one: {url}"))
    }

    /// Reads the key's project and the catalog, as the key.
    fn learn(&mut self) -> Result<()> {
        let get = |path: &str| -> Result<serde_json::Value> {
            let response = http::request(self.address, "GET", path, None, Some(&self.key))?;
            if response.status != 200 {
                bail!("GET {path} answered {}: {}", response.status, response.body);
            }
            Ok(response.json())
        };
        let projects = get("/projects")?;
        let catalog = get("/catalog")?;
        let names = |list: &serde_json::Value| -> Vec<String> {
            list.as_array()
                .into_iter()
                .flatten()
                .filter_map(|item| item["name"].as_str().map(str::to_owned))
                .collect()
        };
        self.project = projects["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|project| project["name"] == "default")
            .and_then(|project| project["id"].as_str())
            .context("GET /projects lists no project `default`, the bootstrap key's")?
            .to_owned();
        self.regions = names(&catalog["regions"]);
        self.server_types = names(&catalog["server_types"]);
        if self.regions.is_empty() || self.server_types.is_empty() {
            bail!("GET /catalog lists no region or no server type");
        }
        Ok(())
    }
}

impl Fleetd {
    /// Fails unless the run's key still works and its project has no rate limit and no
    /// quota: otherwise the requests after the change met 401s, 429s or 403s, which pass
    /// every check, and the run proved less than it says.
    pub fn check_untouched(&self) -> Result<()> {
        let path = format!("/projects/{}", self.project);
        let response = http::request(self.address, "GET", &path, None, Some(&self.key))?;
        if response.status != 200 {
            bail!(
                "the run's key no longer reads its project: {}",
                response.status
            );
        }
        let project = response.json();
        let quotas = &project["quotas"];
        if project.get("rate_limit_per_minute").is_some()
            || quotas.get("max_servers").is_some()
            || quotas.get("max_vcpus").is_some()
        {
            bail!("the run's project was given a rate limit or a quota: {project}");
        }
        Ok(())
    }
}

impl Drop for Fleetd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
