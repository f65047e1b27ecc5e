//! Address pools: created from the catalog, never silently changed, and their use.

use std::collections::HashMap;

use diesel::dsl::count_star;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use fleet_domain::IpPool;
use fleet_domain::catalog::RegionSpec;
use fleet_domain::error::StoreError;
use fleet_domain::ports::{BadRow, PoolCidrChanged, PoolUsage};
use ipnet::IpNet;

use crate::errors::TxError;
use crate::mapping;
use crate::rows::PoolRow;
use crate::schema::{free_addresses, ip_pools};

/// Creates the missing pools of `regions` and checks the existing ones still have their
/// CIDR; runs inside the caller's transaction.
pub(crate) async fn sync(
    conn: &mut AsyncPgConnection,
    regions: &[RegionSpec],
) -> Result<(), TxError> {
    if regions.is_empty() {
        return Ok(());
    }
    let rows = regions
        .iter()
        .map(|r| {
            Ok(PoolRow {
                region: r.name.clone(),
                cidr: IpNet::V4(r.cidr.network()),
                size: i64::try_from(r.cidr.size())
                    .map_err(|_| BadRow::new("ip_pools.size", r.cidr.size()))?,
                next_offset: 0,
            })
        })
        .collect::<Result<Vec<_>, TxError>>()?;
    diesel::insert_into(ip_pools::table)
        .values(&rows)
        .on_conflict(ip_pools::region)
        .do_nothing()
        .execute(conn)
        .await?;
    let names: Vec<&str> = regions.iter().map(|r| r.name.as_str()).collect();
    let stored: Vec<PoolRow> = ip_pools::table
        .filter(ip_pools::region.eq_any(names))
        .select(PoolRow::as_select())
        .load(conn)
        .await?;
    for spec in regions {
        let Some(row) = stored.iter().find(|row| row.region == spec.name) else {
            continue;
        };
        let pool = mapping::pool(row).map_err(TxError::Corrupt)?;
        if pool != spec.cidr {
            return Err(TxError::Store(StoreError::PoolCidrChanged(
                PoolCidrChanged {
                    region: spec.name.clone(),
                    stored: pool,
                    wanted: spec.cidr,
                },
            )));
        }
    }
    Ok(())
}

/// The pool of `region`, if the store has one.
pub(crate) async fn find(
    conn: &mut AsyncPgConnection,
    region: &str,
) -> Result<Option<IpPool>, TxError> {
    let row: Option<PoolRow> = ip_pools::table
        .find(region)
        .select(PoolRow::as_select())
        .first(conn)
        .await
        .optional()?;
    row.map(|row| mapping::pool(&row).map_err(TxError::Corrupt))
        .transpose()
}

/// Every pool with its allocated and free address counts.
pub(crate) async fn usage(conn: &mut AsyncPgConnection) -> Result<Vec<PoolUsage>, TxError> {
    let pools: Vec<PoolRow> = ip_pools::table
        .order(ip_pools::region)
        .select(PoolRow::as_select())
        .load(conn)
        .await?;
    let released: HashMap<String, i64> = free_addresses::table
        .group_by(free_addresses::region)
        .select((free_addresses::region, count_star()))
        .load::<(String, i64)>(conn)
        .await?
        .into_iter()
        .collect();
    pools
        .into_iter()
        .map(|row| {
            let cidr = mapping::pool(&row).map_err(TxError::Corrupt)?;
            let count = |n: i64| u64::try_from(n).map_err(|_| BadRow::new("ip_pools counter", n));
            let next_offset = count(row.next_offset)?;
            let released = count(released.get(&row.region).copied().unwrap_or(0))?;
            PoolUsage::from_counter(row.region, cidr, next_offset, released)
                .map_err(|e| TxError::Corrupt(BadRow::new("ip_pools counter", e)))
        })
        .collect()
}
