//! Keys mode: GET by id with a `member` key on a fleetd in keys mode, compared with the same
//! reads without a key on the run's open-mode fleetd, in alternating rounds.
//!
//! The keyed fleetd runs beside the open one on the same store, started as a deploy starts
//! it: `--auth keys`, its first admin key from `FLEET_BOOTSTRAP_ADMIN_KEY`. That admin makes
//! a project and a `member` key through the admin API, and the member provisions the servers
//! both sides then read (open mode acts as an admin, which sees every project). So the two
//! sides read the same rows in the same order through the same binary, and differ only in
//! the mode and the key: the ratio is what checking a key costs a read.

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use fleet_domain::Catalog;
use hyper::StatusCode;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::fleetd::Fleetd;
use crate::http::Conn;
use crate::load;
use crate::phases::{self, HttpWorker};
use crate::suite::{Bench, Measured, ROUNDS, Sizes, share};

/// The keyed phase's name.
pub const KEYED: &str = "GET /servers/{id} with a member key (keys mode)";
/// The name of its comparison.
pub const OPEN: &str = "GET /servers/{id}, the same servers without a key (open mode)";

/// The pair, each merged over its rounds; the keyed side carries the rounds' ratios.
pub struct KeysMode {
    /// GET by id with the member key, on the keyed fleetd (its CPU time is that fleetd's).
    pub keyed: Measured,
    /// The same reads without a key, on the run's open-mode fleetd.
    pub open: Measured,
    /// The member's servers, which both sides read.
    pub servers: usize,
}

impl KeysMode {
    /// The keyed rate ÷ the open rate over the whole phase.
    pub fn ratio(&self) -> f64 {
        self.keyed.result.rps() / self.open.result.rps()
    }
}

#[derive(Deserialize)]
struct Created {
    id: Uuid,
}

#[derive(Deserialize)]
struct CreatedKey {
    key: String,
}

/// Starts fleetd at `binary` in keys mode on `database_url` (the run's store), gives a
/// `member` key `sizes.keyed_servers` servers, and reads them `sizes.get` times on each side.
pub async fn run(
    bench: &Bench,
    binary: &Path,
    database_url: &str,
    sizes: &Sizes,
    log: PathBuf,
) -> Result<KeysMode> {
    let (keyed, admin_key) = Fleetd::start_keyed(binary, database_url, log).await?;
    let member = member_key(&keyed, &admin_key, "bench").await?;
    let ids = provision(&keyed, &member, bench.concurrency(), sizes.keyed_servers).await?;

    let mut sides: Option<(Measured, Measured)> = None;
    for round in 0..ROUNDS {
        let (base, count) = share(sizes.get, round, ROUNDS);
        let get = async |w: &mut HttpWorker, n| phases::get(w, &ids, base + n).await;
        let mut with_key = bench
            .phase_on(&keyed, Some(&member), KEYED, count, None, &get)
            .await?;
        let open = bench.phase(OPEN, count, None, &get).await?;
        with_key
            .round_ratios
            .push(with_key.result.rps() / open.result.rps());
        sides = Some(match sides {
            Some((done_keyed, done_open)) => (done_keyed.then(with_key), done_open.then(open)),
            None => (with_key, open),
        });
    }
    keyed.stop()?;
    let (keyed, open) = sides.context("no rounds ran")?;
    Ok(KeysMode {
        keyed,
        open,
        servers: ids.len(),
    })
}

/// The text of a new `member` key of a new project named `name`, made by the admin through
/// the API.
pub async fn member_key(keyed: &Fleetd, admin_key: &str, name: &str) -> Result<String> {
    let mut admin = Conn::connect(keyed.addr()).await?.with_key(admin_key)?;
    let project: Created =
        post(&mut admin, "/projects", serde_json::json!({ "name": name })).await?;
    let path = format!("/projects/{}/keys", project.id);
    let body = serde_json::json!({ "role": "member", "description": "fleet-bench" });
    let created: CreatedKey = post(&mut admin, &path, body).await?;
    Ok(created.key)
}

/// `count` servers provisioned by the member, their ids in order; any failure stops the run.
async fn provision(
    keyed: &Fleetd,
    member: &str,
    concurrency: usize,
    count: u64,
) -> Result<Vec<Uuid>> {
    let catalog = Catalog::default();
    let made = RefCell::new(Vec::new());
    let mut workers = HttpWorker::open(keyed.addr(), concurrency, Some(member)).await?;
    let name = "POST /servers with a member key (keys mode)";
    let result = load::run(name, &mut workers, count, async |w, n| {
        phases::provision(w, &catalog, &made, n).await
    })
    .await;
    if let Some(error) = result.first_error {
        bail!(
            "{name}: {} of {count} failed, the first: {error}",
            result.errors
        );
    }
    Ok(made.into_inner())
}

/// `POST path` with `body`, which must answer 201 with a `T`.
async fn post<T: DeserializeOwned>(
    conn: &mut Conn,
    path: &str,
    body: serde_json::Value,
) -> Result<T> {
    let response = conn
        .post(path, body.to_string())
        .await
        .map_err(anyhow::Error::msg)?
        .expect(StatusCode::CREATED, &format!("POST {path}"))
        .map_err(anyhow::Error::msg)?;
    serde_json::from_slice(&response.body).with_context(|| format!("the answer to POST {path}"))
}

/// How long the keyed fleetd trusts a verified key without asking the store: the revocation
/// delay, for the report. fleetd takes it from the environment the bench passes on.
pub fn cache_ttl() -> String {
    match std::env::var("FLEET_AUTH_CACHE_TTL_MS") {
        Ok(ms) => format!("{ms} ms, `FLEET_AUTH_CACHE_TTL_MS` from the bench's environment"),
        Err(_) => "5 s, fleetd's default `FLEET_AUTH_CACHE_TTL_MS`".to_owned(),
    }
}
