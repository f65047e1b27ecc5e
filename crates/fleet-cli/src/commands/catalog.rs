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
    let mut types = table(&["TYPE", "VCPUS", "MEMORY (MIB)", "HOURLY PRICE", "BILLING"]);
    for server_type in &catalog.server_types {
        types.add_row(vec![
            server_type.name.clone(),
            server_type.vcpus.to_string(),
            server_type.memory_mib.to_string(),
            money(&server_type.hourly_price),
            policy(&server_type.billing),
        ]);
    }
    vec![regions, types]
}

/// A policy in a few words, e.g. `per_second, min 60 s` or `hourly_capped_monthly, cap
/// 4.590000 USD, stopped 100%`.
fn policy(policy: &types::BillingPolicy) -> String {
    let mut words = vec![policy.policy.to_string()];
    if let Some(seconds) = policy.minimum_seconds.filter(|s| *s > 0) {
        words.push(format!("min {seconds} s"));
    }
    if let Some(amount) = policy.minimum_amount.as_ref().filter(|a| a.micros > 0) {
        words.push(format!("min {}", money(amount)));
    }
    if let Some(cap) = &policy.monthly_cap {
        words.push(format!("cap {}/month", money(cap)));
    }
    if let Some(percent) = policy.stopped_percent {
        words.push(format!("stopped {percent}%"));
    }
    words.join(", ")
}
