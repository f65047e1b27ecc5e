//! `fleet catalog`.

use comfy_table::Table;
use fleet_client::types;

use super::Session;
use crate::exit::Exit;
use crate::output::{money, print, table};

pub async fn run(session: &Session) -> Result<(), Exit> {
    match session.client.get_catalog().send().await {
        Ok(catalog) => print(session.output, &*catalog, tables),
        Err(e) => Err(session.failed(e).await),
    }
}

fn tables(catalog: &types::Catalog) -> Vec<Table> {
    let mut regions = table(&["REGION", "POOL", "FREE", "ALLOCATED", "SIZE"]);
    for region in &catalog.regions {
        regions.add_row(vec![
            region.name.clone(),
            region.pool.cidr.clone(),
            region.pool.free.to_string(),
            region.pool.allocated.to_string(),
            region.pool.size.to_string(),
        ]);
    }
    let mut types = table(&["TYPE", "VCPUS", "MEMORY (MIB)", "HOURLY PRICE"]);
    for server_type in &catalog.server_types {
        types.add_row(vec![
            server_type.name.clone(),
            server_type.vcpus.to_string(),
            server_type.memory_mib.to_string(),
            money(&server_type.hourly_price),
        ]);
    }
    vec![regions, types]
}
