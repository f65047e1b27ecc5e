//! Address pools: one counter row per region plus a free list of released offsets, so a pool
//! as large as a /8 needs no row per address.

use std::collections::{BTreeSet, HashMap};
use std::net::Ipv4Addr;

use diesel::SqliteConnection;
use diesel::dsl::count_star;
use diesel::prelude::*;
use fleet_domain::catalog::RegionSpec;
use fleet_domain::error::StoreError;
use fleet_domain::ip_pool::IpPool;
use fleet_domain::ports::{BadRow, PoolCidrChanged, PoolUsage, ProvisionStoreError};

use crate::errors::TxError;
use crate::ops::INSERT_CHUNK;
use crate::rows::PoolRow;
use crate::schema::{free_addresses, ip_pools};

/// Creates the pools the store lacks; refuses to change the CIDR of one that exists.
pub(crate) fn sync(conn: &mut SqliteConnection, regions: &[RegionSpec]) -> Result<(), TxError> {
    for spec in regions {
        let stored: Option<String> = ip_pools::table
            .find(&spec.name)
            .select(ip_pools::cidr)
            .get_result(conn)
            .optional()?;
        match stored {
            None => {
                diesel::insert_into(ip_pools::table)
                    .values(PoolRow {
                        region: spec.name.clone(),
                        cidr: spec.cidr.to_string(),
                        size: to_i64(spec.cidr.size()),
                        next_offset: 0,
                    })
                    .execute(conn)?;
            }
            Some(stored) => {
                let stored = cidr(&stored)?;
                if stored != spec.cidr {
                    return Err(TxError::Store(StoreError::PoolCidrChanged(
                        PoolCidrChanged {
                            region: spec.name.clone(),
                            stored,
                            wanted: spec.cidr,
                        },
                    )));
                }
            }
        }
    }
    Ok(())
}

/// Takes an address from `region`'s pool: the lowest released one, else the next never used.
pub(crate) fn allocate(conn: &mut SqliteConnection, region: &str) -> Result<Ipv4Addr, TxError> {
    let pool: PoolRow = ip_pools::table
        .find(region)
        .select(PoolRow::as_select())
        .get_result(conn)
        .optional()?
        .ok_or_else(|| TxError::Provision(ProvisionStoreError::NoPool(region.to_owned())))?;
    let released: Option<i64> = free_addresses::table
        .filter(free_addresses::region.eq(region))
        .select(free_addresses::ip_offset)
        .order(free_addresses::ip_offset.asc())
        .get_result(conn)
        .optional()?;
    let offset = match released {
        Some(offset) => {
            diesel::delete(free_addresses::table.find((region, offset))).execute(conn)?;
            offset
        }
        None if pool.next_offset < pool.size => {
            diesel::update(ip_pools::table.find(region))
                .set(ip_pools::next_offset.eq(pool.next_offset + 1))
                .execute(conn)?;
            pool.next_offset
        }
        None => {
            return Err(TxError::Provision(ProvisionStoreError::PoolExhausted(
                region.to_owned(),
            )));
        }
    };
    let address = u64::try_from(offset)
        .ok()
        .and_then(|offset| cidr(&pool.cidr).ok()?.address(offset));
    Ok(address.ok_or_else(|| BadRow::new("address offset", offset))?)
}

/// Puts released addresses back on their pools' free lists, in one statement per chunk.
pub(crate) fn release(
    conn: &mut SqliteConnection,
    addresses: &[(String, Ipv4Addr)],
) -> Result<(), TxError> {
    if addresses.is_empty() {
        return Ok(());
    }
    let regions: BTreeSet<&str> = addresses
        .iter()
        .map(|(region, _)| region.as_str())
        .collect();
    let pools: HashMap<String, String> = ip_pools::table
        .filter(ip_pools::region.eq_any(&regions))
        .select((ip_pools::region, ip_pools::cidr))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    let mut rows = Vec::with_capacity(addresses.len());
    for (region, address) in addresses {
        let offset = pools
            .get(region)
            .and_then(|text| cidr(text).ok()?.offset_of(*address))
            .ok_or_else(|| BadRow::new("released address", address))?;
        rows.push((
            free_addresses::region.eq(region.clone()),
            free_addresses::ip_offset.eq(to_i64(offset)),
        ));
    }
    for chunk in rows.chunks(INSERT_CHUNK) {
        diesel::insert_into(free_addresses::table)
            .values(chunk)
            .execute(conn)?;
    }
    Ok(())
}

/// How each pool is used, by region name.
pub(crate) fn usage(conn: &mut SqliteConnection) -> Result<Vec<PoolUsage>, TxError> {
    let pools: Vec<PoolRow> = ip_pools::table
        .select(PoolRow::as_select())
        .order(ip_pools::region.asc())
        .load(conn)?;
    let released: HashMap<String, i64> = free_addresses::table
        .group_by(free_addresses::region)
        .select((free_addresses::region, count_star()))
        .load::<(String, i64)>(conn)?
        .into_iter()
        .collect();
    pools
        .into_iter()
        .map(|pool| {
            let count = |n: i64| u64::try_from(n).map_err(|_| BadRow::new("ip_pools counter", n));
            let next_offset = count(pool.next_offset)?;
            let released = count(released.get(&pool.region).copied().unwrap_or(0))?;
            let cidr = cidr(&pool.cidr)?;
            Ok(
                PoolUsage::from_counter(pool.region, cidr, next_offset, released)
                    .map_err(|e| BadRow::new("ip_pools counter", e))?,
            )
        })
        .collect()
}

fn cidr(text: &str) -> Result<IpPool, BadRow> {
    text.parse().map_err(|_| BadRow::new("ip_pools.cidr", text))
}

/// A pool size or offset as stored; both are below 2^32.
fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}
