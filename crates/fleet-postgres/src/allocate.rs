//! Address allocation inside the provisioning transaction: the lowest released offset if
//! one is free, else the pool's counter, else the pool is exhausted.

use std::net::Ipv4Addr;

use anyhow::anyhow;
use diesel::OptionalExtension;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use fleet_domain::ports::ProvisionStoreError;

use crate::errors::TxError;
use crate::mapping;
use crate::rows::PoolRow;
use crate::schema::ip_pools;

#[derive(QueryableByName)]
struct Offset {
    #[diesel(sql_type = BigInt)]
    ip_offset: i64,
}

/// Takes an address of `region`'s pool for a server about to be inserted in the same
/// transaction: its address and offset.
pub(crate) async fn allocate(
    conn: &mut AsyncPgConnection,
    region: &str,
) -> Result<(Ipv4Addr, i64), TxError> {
    let row: PoolRow = ip_pools::table
        .find(region)
        .select(PoolRow::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| TxError::Provision(ProvisionStoreError::NoPool(region.to_owned())))?;
    let pool = mapping::pool(&row).map_err(TxError::Corrupt)?;
    let offset = match take_released(conn, region).await? {
        Some(offset) => offset,
        None => advance_counter(conn, region).await?.ok_or_else(|| {
            TxError::Provision(ProvisionStoreError::PoolExhausted(region.to_owned()))
        })?,
    };
    let address = u64::try_from(offset)
        .ok()
        .and_then(|o| pool.address(o))
        .ok_or_else(|| {
            TxError::Corrupt(anyhow!(
                "offset {offset} is outside pool {pool} of {region}"
            ))
        })?;
    Ok((address, offset))
}

/// The lowest released offset, removed from the free list; rows other transactions are
/// taking are skipped rather than waited for.
async fn take_released(conn: &mut AsyncPgConnection, region: &str) -> Result<Option<i64>, TxError> {
    let taken = diesel::sql_query(
        "DELETE FROM ip_free WHERE (region, ip_offset) = ( \
             SELECT region, ip_offset FROM ip_free WHERE region = $1 \
             ORDER BY ip_offset LIMIT 1 FOR UPDATE SKIP LOCKED) \
         RETURNING ip_offset",
    )
    .bind::<Text, _>(region)
    .get_result::<Offset>(conn)
    .await
    .optional()?;
    Ok(taken.map(|o| o.ip_offset))
}

/// The next never-used offset, if the pool has one left.
async fn advance_counter(
    conn: &mut AsyncPgConnection,
    region: &str,
) -> Result<Option<i64>, TxError> {
    let next = diesel::update(
        ip_pools::table
            .filter(ip_pools::region.eq(region))
            .filter(ip_pools::next_offset.lt(ip_pools::size)),
    )
    .set(ip_pools::next_offset.eq(ip_pools::next_offset + 1))
    .returning(ip_pools::next_offset)
    .get_result::<i64>(conn)
    .await
    .optional()?;
    Ok(next.map(|n| n - 1))
}
