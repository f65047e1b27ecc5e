//! Creating servers and applying guarded state changes.

use std::collections::BTreeMap;

use diesel::SqliteConnection;
use diesel::prelude::*;
use fleet_domain::ports::ProvisionStoreError;
use fleet_domain::quota::QuotaExceeded;
use fleet_domain::server::{NewServer, Server};
use fleet_domain::{NewEvent, StateChange};

use crate::errors::TxError;
use crate::mapping::id_text;
use crate::ops::INSERT_CHUNK;
use crate::ops::batch::{self, Written};
use crate::ops::rollups::Additions;
use crate::ops::{actions, pools, quotas, reads, sequence, tenancy};
use crate::rows::{NewEventRow, NewServerRow, ServerRow, UsageRow};
use crate::schema::{events, fault_rules, servers, usage_records};

/// Checks that the project exists and its quotas, allocates an address and inserts the
/// server with its event (numbered) and the record of its provisioning. Returns the server
/// and the event's number. Call inside a write transaction: it keeps the project and the
/// quota's count true until the insert commits, and a refusal leaves nothing behind only if
/// the caller rolls back.
pub(crate) fn provision(
    conn: &mut SqliteConnection,
    new: &NewServer,
) -> Result<(Server, i64), TxError> {
    let mut server = new.server.clone();
    // A project deleted (with its keys) after the caller's key was checked.
    if tenancy::project(conn, server.project)?.is_none() {
        return Err(TxError::Provision(ProvisionStoreError::NoProject(
            server.project,
        )));
    }
    quotas::check(conn, server.project, 1, u64::from(new.vcpus))?
        .map_err(|exceeded| TxError::Provision(exceeded.into()))?;
    server.ip = Some(pools::allocate(conn, &server.region)?);
    diesel::insert_into(servers::table)
        .values(NewServerRow {
            server: ServerRow::from_domain(&server),
            vcpus: i64::from(new.vcpus),
        })
        .execute(conn)?;
    let seq = sequence::take(conn, 1)?;
    diesel::insert_into(events::table)
        .values(NewEventRow::from_domain(&new.event, &server, seq))
        .execute(conn)?;
    actions::write(conn, std::iter::empty(), std::iter::once(&new.action))?;
    Ok((server, seq))
}

/// What a batch of changes did: each change's server after it (`None` where stale), and
/// the highest number its events took, if it appended any.
pub(crate) struct AppliedBatch {
    /// The servers, in the order of the changes.
    pub servers: Vec<Option<Server>>,
    /// The sequence's new latest, when events were appended.
    pub latest: Option<i64>,
}

/// Applies each change whose server is still at its expected generation (one guarded
/// update for the whole batch, see `batch`), then appends the events (numbered in order) and
/// usage of those applied (one multi-row insert per table and chunk) and adds the usage to
/// its rollups, ends and opens their
/// action records, and releases their addresses. Call inside a write transaction.
pub(crate) fn apply_all(
    conn: &mut SqliteConnection,
    changes: &[StateChange],
) -> Result<AppliedBatch, TxError> {
    let written = batch::update_all(conn, changes)?;
    let mut applied = Vec::with_capacity(changes.len());
    let mut applied_changes = Vec::with_capacity(changes.len());
    let mut new_usage = Vec::new();
    let mut rollups = Additions::default();
    let mut released = Vec::new();
    for (change, written) in changes.iter().zip(written) {
        let Some(Written {
            row,
            released: address,
        }) = written
        else {
            applied.push(None);
            continue;
        };
        let server = row.into_domain()?;
        new_usage.extend(change.usage.iter().map(UsageRow::from_domain));
        rollups.add(&server, change.usage.iter());
        released.extend(address.map(|a| (server.region.clone(), a)));
        applied_changes.push(change);
        applied.push(Some(server));
    }
    // Each event with its server as written, whose labels it keeps.
    let new_events: Vec<(&NewEvent, &Server)> = applied
        .iter()
        .flatten()
        .zip(&applied_changes)
        .flat_map(|(server, change)| change.events.iter().map(move |event| (event, server)))
        .collect();
    let latest = if new_events.is_empty() {
        None
    } else {
        let first = sequence::take(conn, new_events.len())?;
        let rows: Vec<NewEventRow> = (first..)
            .zip(new_events)
            .map(|(seq, (event, server))| NewEventRow::from_domain(event, server, seq))
            .collect();
        for chunk in rows.chunks(INSERT_CHUNK) {
            diesel::insert_into(events::table)
                .values(chunk)
                .execute(conn)?;
        }
        rows.last().map(|row| row.seq)
    };
    actions::write(
        conn,
        applied_changes.iter().filter_map(|change| {
            change
                .action_ended
                .as_ref()
                .map(|end| (change.server.id, end))
        }),
        applied_changes
            .iter()
            .filter_map(|change| change.action_opened.as_ref()),
    )?;
    for chunk in new_usage.chunks(INSERT_CHUNK) {
        diesel::insert_into(usage_records::table)
            .values(chunk)
            .execute(conn)?;
    }
    rollups.write(conn)?;
    pools::release(conn, &released)?;
    count_faults(conn, &applied_changes)?;
    Ok(AppliedBatch {
        servers: applied,
        latest,
    })
}

/// Counts the firings of fault rules the applied changes carry, one statement per rule.
fn count_faults(conn: &mut SqliteConnection, applied: &[&StateChange]) -> Result<(), TxError> {
    let mut counts: BTreeMap<String, i64> = BTreeMap::new();
    for rule in applied.iter().flat_map(|change| &change.faults_fired) {
        *counts.entry(rule.to_string()).or_default() += 1;
    }
    for (rule, count) in counts {
        diesel::update(fault_rules::table.find(rule))
            .set(fault_rules::fired.eq(fault_rules::fired + count))
            .execute(conn)?;
    }
    Ok(())
}

/// Whether applying `change` would take its server's project past its vCPU quota: only a
/// change from a state that holds no vCPUs to one that does (a start) is checked, and only
/// while the stored server is still the one it was planned from (a stale change applies
/// nothing). Call inside the write transaction that applies it.
pub(crate) fn exceeds_quota(
    conn: &mut SqliteConnection,
    change: &StateChange,
) -> Result<Option<QuotaExceeded>, TxError> {
    let Some(stored) = reads::get(conn, change.server.id)? else {
        return Ok(None);
    };
    if stored.generation != change.expected_generation
        || !stored.state.takes_vcpus_to(change.server.state)
    {
        return Ok(None);
    }
    let vcpus = quotas::vcpus_of(conn, &id_text(stored.id))?;
    Ok(quotas::check(conn, stored.project, 0, vcpus)?.err())
}
