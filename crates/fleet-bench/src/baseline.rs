//! The database limit: the work of provisioning and of reading a server, issued straight to
//! Postgres with tokio-postgres — no HTTP, no service, no diesel — over as many connections
//! as the fleet phases use.
//!
//! The statements are those `fleet-postgres` sends (see its `allocate.rs`, `writes.rs` and
//! `reads.rs`): the pool row, the free list, the pool counter, the server row and its event,
//! in one transaction; and the primary-key select of a whole server row.

use std::cell::RefCell;
use std::net::IpAddr;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use fleet_domain::{Catalog, IpPool, ServerId};
use tokio_postgres::{Client, Statement};
use uuid::Uuid;

use crate::database;

const SERVER_COLUMNS: &str = "id, name, region, server_type, state, ip, ip_offset, \
    hourly_price_micros, generation, created_at, updated_at, started_at, stopped_at, \
    terminated_at, transition_due_at, billed_until, billed_seconds, billed_amount_micros";

/// One connection with its statements prepared.
pub struct DbWorker {
    client: Client,
    pool: Statement,
    take_released: Statement,
    advance_counter: Statement,
    insert_server: Statement,
    insert_event: Statement,
    select_server: Statement,
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
        let insert_server = format!(
            "INSERT INTO servers ({SERVER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
             $10, $11, $12, $13, $14, $15, $16, $17, $18) RETURNING {SERVER_COLUMNS}"
        );
        let select_server = format!("SELECT {SERVER_COLUMNS} FROM servers WHERE id = $1 LIMIT 1");
        Ok(DbWorker {
            pool: client
                .prepare(
                    "SELECT region, cidr::text, size, next_offset FROM ip_pools \
                     WHERE region = $1 LIMIT 1",
                )
                .await?,
            take_released: client
                .prepare(
                    "DELETE FROM ip_free WHERE (region, ip_offset) = ( \
                         SELECT region, ip_offset FROM ip_free WHERE region = $1 \
                         ORDER BY ip_offset LIMIT 1 FOR UPDATE SKIP LOCKED) \
                     RETURNING ip_offset",
                )
                .await?,
            advance_counter: client
                .prepare(
                    "UPDATE ip_pools SET next_offset = next_offset + 1 \
                     WHERE region = $1 AND next_offset < size RETURNING next_offset",
                )
                .await?,
            insert_server: client.prepare(&insert_server).await?,
            insert_event: client
                .prepare(
                    "INSERT INTO events (server_id, at, kind, from_state, to_state, actor, \
                     request_id, message) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .await?,
            select_server: client.prepare(&select_server).await?,
            client,
        })
    }

    /// Provisions server number `n` at `now` as the fleet phase would (same region and type),
    /// in one transaction, and returns its id.
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
        let tx = self.client.transaction().await?;
        let pool_row = tx.query_one(&self.pool, &[&region.name]).await?;
        let cidr: String = pool_row.get(1);
        let pool: IpPool = cidr.parse().context("the stored pool")?;
        let offset: i64 = match tx.query_opt(&self.take_released, &[&region.name]).await? {
            Some(row) => row.get(0),
            None => {
                let next: i64 = tx
                    .query_one(&self.advance_counter, &[&region.name])
                    .await
                    .context("the pool is exhausted")?
                    .get(0);
                next - 1
            }
        };
        let ip = u64::try_from(offset)
            .ok()
            .and_then(|o| pool.address(o))
            .context("offset outside the pool")?;
        let name = format!("{}-{}", server_type.name, &id.to_string()[..8]);
        let none: Option<DateTime<Utc>> = None;
        tx.query_one(
            &self.insert_server,
            &[
                &id,
                &name,
                &region.name,
                &server_type.name,
                &"provisioning",
                &IpAddr::V4(ip),
                &offset,
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
            ],
        )
        .await?;
        let message = format!("provisioned as {} in {}", server_type.name, region.name);
        let request_id = Uuid::new_v4().to_string();
        tx.execute(
            &self.insert_event,
            &[
                &id,
                &now,
                &"created",
                &None::<&str>,
                &Some("provisioning"),
                &"api",
                &Some(request_id),
                &message,
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(id)
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
