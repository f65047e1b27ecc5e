//! The database limit: the work of provisioning, of reading a server and of an action,
//! issued straight to Postgres with tokio-postgres — no HTTP, no service, no diesel — over
//! as many connections as the fleet phases use.
//!
//! The statements are those `fleet-postgres` sends: its provisioning statement itself
//! ([`PROVISION_STATEMENT`]: free list or pool counter, server row, event and action record,
//! committed on its own), the primary-key select of a whole server row (see its
//! `reads.rs`), and an action's transaction (see [`action`]).

mod action;

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use fleet_domain::{ActionId, Catalog, IpPool, ProjectId, ServerId};
use fleet_postgres::{PROVISION_STATEMENT, SERVER_COLUMNS};
use tokio_postgres::{Client, Statement};
use uuid::Uuid;

pub use self::action::Act;
use self::action::ActionStatements;
use crate::database;

/// One connection with its statements prepared.
pub struct DbWorker {
    client: Client,
    pool: Statement,
    provision: Statement,
    select_server: Statement,
    actions: ActionStatements,
    first_addresses: HashMap<String, Ipv4Addr>,
}

impl DbWorker {
    /// Opens `count` connections to `url` and prepares the statements on each.
    pub async fn open(url: &str, count: usize) -> Result<Vec<DbWorker>> {
        let mut workers = Vec::with_capacity(count);
        for _ in 0..count {
            workers.push(DbWorker::prepare(database::connect(url).await?).await?);
        }
        Ok(workers)
    }

    async fn prepare(client: Client) -> Result<DbWorker> {
        let select_server = format!("SELECT {SERVER_COLUMNS} FROM servers WHERE id = $1 LIMIT 1");
        Ok(DbWorker {
            pool: client
                .prepare("SELECT cidr::text FROM ip_pools WHERE region = $1")
                .await?,
            provision: client.prepare(PROVISION_STATEMENT).await?,
            select_server: client.prepare(&select_server).await?,
            actions: ActionStatements::prepare(&client).await?,
            first_addresses: HashMap::new(),
            client,
        })
    }

    /// Provisions server number `n` at `now` as the fleet phase would (same region and type)
    /// and returns its id.
    pub async fn provision(
        &mut self,
        catalog: &Catalog,
        now: DateTime<Utc>,
        n: u64,
    ) -> Result<Uuid> {
        let (region, server_type) = crate::phases::placement(catalog, n);
        // The same random (v4) ids fleet makes, so the primary key index sees the same inserts.
        let id = ServerId::random().as_uuid();
        let due = now + chrono::TimeDelta::seconds(5);
        let name = format!("{}-{}", server_type.name, &id.to_string()[..8]);
        let message = format!("provisioned as {} in {}", server_type.name, region.name);
        let request_id = Uuid::new_v4().to_string();
        let (trace_id, span_id) = (
            format!("{:032x}", Uuid::new_v4().as_u128()),
            format!("{:016x}", Uuid::new_v4().as_u64_pair().0),
        );
        let none: Option<DateTime<Utc>> = None;
        let first = IpAddr::V4(self.first_address(&region.name).await?);
        let policy = catalog.policy(server_type).encode();
        let row = self
            .client
            .query_opt(
                &self.provision,
                &[
                    &region.name,
                    &id,
                    &ProjectId::DEFAULT.as_uuid(),
                    &name,
                    &server_type.name,
                    &"provisioning",
                    &first,
                    &server_type.hourly_price_micros,
                    &0i64,
                    &now,
                    &now,
                    &none,
                    &none,
                    &none,
                    &Some(due),
                    &none,
                    &0i64,
                    &0i64,
                    &now,
                    &"created",
                    &None::<&str>,
                    &Some("provisioning"),
                    &"api",
                    &Some(request_id.as_str()),
                    &None::<Uuid>,
                    &message,
                    // Not yet checked against quotas: the project has none, so the
                    // statement's own gate lets it through, as fleet's fast path does.
                    &false,
                    &i32::try_from(server_type.vcpus).unwrap_or(i32::MAX),
                    &"server.provisioned",
                    // The provisioning's action record.
                    &ActionId::random().as_uuid(),
                    &"provision",
                    &"running",
                    &now,
                    &none,
                    &None::<&str>,
                    &Some(request_id.as_str()),
                    // No labels, as the fleet phase provisions.
                    &serde_json::json!({}),
                    // No state reason for a new server, nor for its event.
                    &None::<&str>,
                    &None::<&str>,
                    // The type's billing policy, which the server keeps.
                    &policy,
                    // The trace context of the request, which its event keeps.
                    &Some(trace_id.as_str()),
                    &Some(span_id.as_str()),
                ],
            )
            .await?
            .with_context(|| format!("the pool of {} is exhausted", region.name))?;
        let stored: Uuid = row.get("id");
        anyhow::ensure!(stored == id, "provisioned {id}, stored {stored}");
        Ok(id)
    }

    /// The first address of `region`'s pool. fleet reads it once per process; so is it read
    /// here once per connection, on the first call.
    async fn first_address(&mut self, region: &str) -> Result<Ipv4Addr> {
        if let Some(first) = self.first_addresses.get(region) {
            return Ok(*first);
        }
        let cidr: String = self.client.query_one(&self.pool, &[&region]).await?.get(0);
        let pool: IpPool = cidr.parse().context("the stored pool")?;
        let first = pool.address(0).context("an empty pool")?;
        self.first_addresses.insert(region.to_owned(), first);
        Ok(first)
    }

    /// Reads the whole row of server `id`, which must exist.
    pub async fn select(&mut self, id: Uuid) -> Result<()> {
        let row = self
            .client
            .query_opt(&self.select_server, &[&id])
            .await?
            .with_context(|| format!("server {id} is missing"))?;
        let read: Uuid = row.get(0);
        anyhow::ensure!(read == id, "asked for {id}, read {read}");
        Ok(())
    }

    /// Takes `act` on server `id` at `now` in the transaction the store commits for it.
    pub async fn act(&mut self, id: Uuid, act: Act, now: DateTime<Utc>) -> Result<()> {
        action::act(&mut self.client, &self.actions, id, act, now).await
    }
}

/// Runs [`DbWorker::provision`] as a load operation dated `now`, keeping the ids made.
pub async fn provision_op(
    worker: &mut DbWorker,
    catalog: &Catalog,
    now: DateTime<Utc>,
    made: &RefCell<Vec<Uuid>>,
    n: u64,
) -> Result<(), String> {
    let id = worker
        .provision(catalog, now, n)
        .await
        .map_err(|e| format!("direct provisioning: {e:#}"))?;
    made.borrow_mut().push(id);
    Ok(())
}

/// Runs [`DbWorker::act`] as load operation `n`: `act` on server `n` of `ids` at `now`.
pub async fn act_op(
    worker: &mut DbWorker,
    ids: &[Uuid],
    n: u64,
    act: Act,
    now: DateTime<Utc>,
) -> Result<(), String> {
    let id = *ids
        .get(n as usize)
        .ok_or_else(|| format!("no direct server {n} to act on"))?;
    worker
        .act(id, act, now)
        .await
        .map_err(|e| format!("direct action: {e:#}"))
}
