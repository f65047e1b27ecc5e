//! The scale test's catalog: the built-in regions and server types, each region with a /12
//! pool rather than its /16. Four /16s hold 262,136 addresses and every seeded server that
//! is not terminated holds one, so a million servers need larger pools; the names and
//! prices stay the built-in ones, so the queries and the cost report's groups are the same.
//! fleetd is started with it as its `--catalog`, so the pools it syncs at start are those
//! the seeds took addresses from.

use std::fmt::Write;
use std::path::Path;

use anyhow::{Context, Result, ensure};
use fleet_domain::Catalog;
use fleet_domain::catalog::RegionSpec;

/// The prefix length of each region's pool: 1,048,574 addresses, each region's share of a
/// million servers four times over.
const PREFIX: u8 = 12;

/// The built-in catalog with a /12 pool per region (`10.0.0.0/12`, `10.16.0.0/12`, …).
pub fn catalog() -> Result<Catalog> {
    let built_in = Catalog::default();
    let step = 1u32 << (32 - PREFIX);
    let regions = built_in
        .regions()
        .iter()
        .zip(0u32..)
        .map(|(region, i)| {
            let first = std::net::Ipv4Addr::from((10u32 << 24) + i * step);
            Ok(RegionSpec {
                name: region.name.clone(),
                cidr: format!("{first}/{PREFIX}").parse().context("a pool")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Catalog::new(regions, built_in.server_types().to_vec()).context("the scale catalog")
}

/// Writes `catalog` as the TOML file fleetd's `--catalog` reads.
pub fn write(catalog: &Catalog, path: &Path) -> Result<()> {
    let mut text = String::new();
    for region in catalog.regions() {
        let _ = writeln!(
            text,
            "[[regions]]\nname = \"{}\"\ncidr = \"{}\"\n",
            region.name, region.cidr
        );
    }
    for t in catalog.server_types() {
        // The built-in types all take the default policy, which a file without one gets.
        ensure!(
            t.billing.is_none(),
            "type {} has a policy of its own",
            t.name
        );
        let _ = writeln!(
            text,
            "[[server_types]]\nname = \"{}\"\nvcpus = {}\nmemory_mib = {}\n\
             hourly_price_micros = {}\n",
            t.name, t.vcpus, t.memory_mib, t.hourly_price_micros
        );
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}
