//! The catalog: regions with their address pools, server types with their prices.

use fleet_domain::ports::PoolUsage;
use paperclip::actix::Apiv2Schema;
use serde::Serialize;

use super::{BillingPolicy, Money};

/// How a region's address pool is used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Apiv2Schema)]
pub struct Pool {
    /// The IPv4 block, e.g. "10.0.0.0/16".
    pub cidr: String,
    /// Addresses the pool can hand out.
    pub size: u64,
    /// Addresses held by servers.
    pub allocated: u64,
    /// Addresses free to hand out.
    pub free: u64,
}

/// A region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Apiv2Schema)]
pub struct Region {
    /// Its name, used in `POST /servers`.
    pub name: String,
    /// Its address pool.
    pub pool: Pool,
}

/// A server type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Apiv2Schema)]
pub struct ServerType {
    /// Its name, used in `POST /servers`.
    pub name: String,
    /// Virtual CPUs.
    pub vcpus: u32,
    /// Memory in MiB.
    pub memory_mib: u32,
    /// Price per hour of uptime.
    pub hourly_price: Money,
    /// How its servers' time is charged.
    pub billing: BillingPolicy,
}

/// What the cloud offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Apiv2Schema)]
pub struct Catalog {
    /// The regions, with how their pools are used.
    pub regions: Vec<Region>,
    /// The server types, with their prices.
    pub server_types: Vec<ServerType>,
}

impl Catalog {
    /// The catalog with the pool usage the store reported; a region the store did not
    /// report has its whole pool free.
    pub fn new(catalog: &fleet_domain::Catalog, usage: &[PoolUsage]) -> Self {
        let regions = catalog
            .regions()
            .iter()
            .map(|region| {
                let size = region.cidr.size();
                let used = usage.iter().find(|u| u.region == region.name);
                Region {
                    name: region.name.clone(),
                    pool: Pool {
                        cidr: region.cidr.to_string(),
                        size,
                        allocated: used.map_or(0, |u| u.allocated),
                        free: used.map_or(size, |u| u.free),
                    },
                }
            })
            .collect();
        let server_types = catalog
            .server_types()
            .iter()
            .map(|t| ServerType {
                name: t.name.clone(),
                vcpus: t.vcpus,
                memory_mib: t.memory_mib,
                hourly_price: t.hourly_price().into(),
                billing: catalog.policy(t).into(),
            })
            .collect();
        Self {
            regions,
            server_types,
        }
    }
}
