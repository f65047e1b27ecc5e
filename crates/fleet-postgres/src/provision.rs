//! Provisioning as one statement: take the lowest released offset of the region's pool (or
//! else the next one from its counter), insert the server at that address, append its
//! event (unsequenced: the sequencer numbers it after the commit; with the labels of the
//! server as inserted) and store the record of
//! its provisioning. For a project with quota limits the statement does nothing unless run, as checked,
//! inside a transaction holding the project's lock (see [`provision`] and `quotas`).
//!
//! One statement is one round trip, committed on its own, so no client time is spent while the
//! pool's counter row is locked: concurrent provisions of a region queue on that row only for
//! as long as Postgres takes to run and commit the statement. (As five statements in a
//! transaction, the lock was held over three round trips to fleetd.) The statement is
//! prepared once per connection.

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment};
use diesel::result::DatabaseErrorKind;
use diesel::sql_types::{
    BigInt, Bool, Inet, Integer, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid,
};
use diesel::{OptionalExtension, QueryResult};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use fleet_domain::ports::{BadRow, ProvisionStoreError};
use fleet_domain::quota;
use fleet_domain::{IpPool, NewServer, ProjectId, Server};
use ipnet::IpNet;
use uuid::Uuid;

use crate::errors::TxError;
use crate::fixed;
use crate::mapping;
use crate::quotas;
use crate::rows::{NewActionRow, NewEventRow, ServerRow, server_columns};

/// The provisioning statement. `$7` is the pool's first address, so the address stored is
/// the pool's address at the offset taken (the rule of [`IpPool::address`]).
///
/// Public so that the benchmark's database limit sends exactly this statement.
pub const PROVISION_STATEMENT: &str = concat!(
    "\
WITH gate AS (
    SELECT $27::boolean OR NOT EXISTS (
        SELECT FROM project_quotas WHERE project_id = $3
        AND (max_servers IS NOT NULL OR max_vcpus IS NOT NULL)) AS open
), released AS (
    DELETE FROM free_addresses
    WHERE (SELECT open FROM gate) AND (region, ip_offset) = (
        SELECT region, ip_offset FROM free_addresses WHERE region = $1
        ORDER BY ip_offset LIMIT 1 FOR UPDATE SKIP LOCKED)
    RETURNING ip_offset
), counted AS (
    UPDATE ip_pools SET next_offset = next_offset + 1
    WHERE region = $1 AND next_offset < size AND NOT EXISTS (SELECT FROM released)
        AND (SELECT open FROM gate)
    RETURNING next_offset - 1 AS ip_offset
), taken AS (
    SELECT ip_offset FROM released UNION ALL SELECT ip_offset FROM counted
), server AS (
    INSERT INTO servers (id, project_id, name, region, server_type, state, ip, ip_offset,
        hourly_price_micros, generation, created_at, updated_at, started_at, stopped_at,
        terminated_at, transition_due_at, billed_until, billed_seconds, billed_amount_micros,
        vcpus, labels, state_reason, billing_policy)
    SELECT $2, $3, $4, $1, $5, $6, $7::inet + taken.ip_offset, taken.ip_offset, $8, $9, $10,
        $11, $12, $13, $14, $15, $16, $17, $18, $28, $37, $38, $40
    FROM taken
    RETURNING ",
    server_columns!(),
    "
), event AS (
    INSERT INTO events (server_id, project_id, at, kind, event_type, from_state, to_state,
        actor, request_id, key_id, message, labels, reason, trace_id, span_id)
    SELECT id, project_id, $19, $20, $29, $21, $22, $23, $24, $25, $26, labels, $39, $41, $42
    FROM server
), action AS (
    INSERT INTO actions (id, project_id, server_id, command, status, started_at, finished_at,
        error, request_id)
    SELECT $30, project_id, id, $31, $32, $33, $34, $35, $36 FROM server
)
SELECT * FROM server"
);

/// [`PROVISION_STATEMENT`] with its parameters, as a query diesel prepares once per
/// connection (a `sql_query` would be parsed and planned again on every call).
struct Provision<'a> {
    server: &'a Server,
    id: Uuid,
    project: Uuid,
    price_micros: i64,
    billed_amount_micros: i64,
    first_address: IpNet,
    event: NewEventRow,
    action: NewActionRow,
    vcpus: i32,
    labels: serde_json::Value,
    state_reason: Option<&'static str>,
    billing_policy: String,
    /// Whether the caller checked the project's quotas under its lock: otherwise a project
    /// with limits gets nothing from the statement (see [`provision`]).
    checked: bool,
}

fixed::prepared_once!(Provision<'_>);

impl QueryFragment<Pg> for Provision<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        fixed::walk(PROVISION_STATEMENT, &mut out, |n, out| self.bind(n, out))
    }
}

impl<'a> Provision<'a> {
    /// Binds parameter `$number` of [`PROVISION_STATEMENT`].
    fn bind<'b>(&'b self, number: &str, out: &mut AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let server: &'a Server = self.server;
        let event = &self.event;
        let action = &self.action;
        match number {
            "1" => out.push_bind_param::<Text, _>(&server.region),
            "2" => out.push_bind_param::<SqlUuid, _>(&self.id),
            "3" => out.push_bind_param::<SqlUuid, _>(&self.project),
            "4" => out.push_bind_param::<Text, _>(&server.name),
            "5" => out.push_bind_param::<Text, _>(&server.server_type),
            "6" => out.push_bind_param::<Text, _>(server.state.as_str()),
            "7" => out.push_bind_param::<Inet, _>(&self.first_address),
            "8" => out.push_bind_param::<BigInt, _>(&self.price_micros),
            "9" => out.push_bind_param::<BigInt, _>(&server.generation),
            "10" => out.push_bind_param::<Timestamptz, _>(&server.created_at),
            "11" => out.push_bind_param::<Timestamptz, _>(&server.updated_at),
            "12" => out.push_bind_param::<Nullable<Timestamptz>, _>(&server.started_at),
            "13" => out.push_bind_param::<Nullable<Timestamptz>, _>(&server.stopped_at),
            "14" => out.push_bind_param::<Nullable<Timestamptz>, _>(&server.terminated_at),
            "15" => out.push_bind_param::<Nullable<Timestamptz>, _>(&server.transition_due_at),
            "16" => out.push_bind_param::<Nullable<Timestamptz>, _>(&server.billed_until),
            "17" => out.push_bind_param::<BigInt, _>(&server.billed_seconds),
            "18" => out.push_bind_param::<BigInt, _>(&self.billed_amount_micros),
            "19" => out.push_bind_param::<Timestamptz, _>(&event.at),
            "20" => out.push_bind_param::<Text, _>(event.kind),
            "21" => out.push_bind_param::<Nullable<Text>, _>(&event.from_state),
            "22" => out.push_bind_param::<Nullable<Text>, _>(&event.to_state),
            "23" => out.push_bind_param::<Text, _>(event.actor),
            "24" => out.push_bind_param::<Nullable<Text>, _>(&event.request_id),
            "25" => out.push_bind_param::<Nullable<SqlUuid>, _>(&event.key_id),
            "26" => out.push_bind_param::<Text, _>(&event.message),
            "27" => out.push_bind_param::<Bool, _>(&self.checked),
            "28" => out.push_bind_param::<Integer, _>(&self.vcpus),
            "29" => out.push_bind_param::<Text, _>(event.event_type),
            "30" => out.push_bind_param::<SqlUuid, _>(&action.id),
            "31" => out.push_bind_param::<Text, _>(action.command),
            "32" => out.push_bind_param::<Text, _>(action.status),
            "33" => out.push_bind_param::<Timestamptz, _>(&action.started_at),
            "34" => out.push_bind_param::<Nullable<Timestamptz>, _>(&action.finished_at),
            "35" => out.push_bind_param::<Nullable<Text>, _>(&action.error),
            "36" => out.push_bind_param::<Nullable<Text>, _>(&action.request_id),
            "37" => out.push_bind_param::<Jsonb, _>(&self.labels),
            "38" => out.push_bind_param::<Nullable<Text>, _>(&self.state_reason),
            "39" => out.push_bind_param::<Nullable<Text>, _>(&event.reason),
            "40" => out.push_bind_param::<Text, _>(&self.billing_policy),
            "41" => out.push_bind_param::<Nullable<Text>, _>(&event.trace.trace_id),
            "42" => out.push_bind_param::<Nullable<Text>, _>(&event.trace.span_id),
            other => Err(fixed::unknown_parameter("provisioning", other)),
        }
    }
}

/// Provisions `new` in `pool`, the pool its region has in this database.
///
/// A project without limits takes the one-statement path. The statement gives a project
/// with limits nothing (and takes no address), so then, and only then, the provision is
/// done again in a transaction that locks the project, counts its use after the lock is
/// granted (see [`quotas`]) and runs the statement as checked.
pub(crate) async fn provision(
    conn: &mut AsyncPgConnection,
    pool: IpPool,
    new: &NewServer,
) -> Result<Server, TxError> {
    if let Some(server) = insert(conn, pool, new, false).await? {
        return Ok(server);
    }
    let project = new.server.project;
    let exhausted = || {
        TxError::Provision(ProvisionStoreError::PoolExhausted(
            new.server.region.clone(),
        ))
    };
    if quotas::limits_of(conn, project).await?.is_unlimited() {
        return Err(exhausted());
    }
    conn.transaction::<_, TxError, _>(async |conn| {
        // A project deleted meanwhile has no limits, and the insert's reference fails.
        let quotas = quotas::lock_and_read(conn, project)
            .await?
            .unwrap_or_default();
        quota::check(&quotas.limits, quotas.used, 1, u64::from(new.vcpus))
            .map_err(|exceeded| TxError::Provision(exceeded.into()))?;
        insert(conn, pool, new, true).await?.ok_or_else(exhausted)
    })
    .await
}

/// Runs the statement; `None` when it inserted nothing (no address left, or a project with
/// limits and `checked` false).
async fn insert(
    conn: &mut AsyncPgConnection,
    pool: IpPool,
    new: &NewServer,
    checked: bool,
) -> Result<Option<Server>, TxError> {
    let server = &new.server;
    let first = pool
        .address(0)
        .ok_or_else(|| BadRow::new("ip_pools.cidr", pool))?;
    let vcpus = i32::try_from(new.vcpus).map_err(|_| BadRow::new("catalog vcpus", new.vcpus))?;
    let row: Option<ServerRow> = Provision {
        server,
        id: server.id.as_uuid(),
        project: server.project.as_uuid(),
        price_micros: server.hourly_price.micros(),
        billed_amount_micros: server.billed_amount.micros(),
        first_address: mapping::inet(first),
        event: mapping::new_event_row(&new.event, server),
        action: mapping::new_action_row(&new.action),
        vcpus,
        labels: mapping::labels_json(&server.labels),
        state_reason: mapping::reason_code(server.state_reason),
        billing_policy: server.policy.encode(),
        checked,
    }
    .get_result(conn)
    .await
    .optional()
    .map_err(|e| no_project(e, server.project))?;
    let Some(row) = row else {
        return Ok(None);
    };
    check_address(pool, &row)?;
    mapping::server(row).map(Some).map_err(TxError::Corrupt)
}

/// The server's reference to its project failed: the project was deleted (with its keys)
/// after the caller's key was checked. Any other failure stays what it is.
fn no_project(error: diesel::result::Error, project: ProjectId) -> TxError {
    match &error {
        diesel::result::Error::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, info)
            if info.constraint_name() == Some(PROJECT_REFERENCE) =>
        {
            TxError::Provision(ProvisionStoreError::NoProject(project))
        }
        _ => error.into(),
    }
}

/// The constraint by which a server references its project (Postgres's default name).
const PROJECT_REFERENCE: &str = "servers_project_id_fkey";

/// Postgres computed the address from the pool's first one; a row whose address is not the
/// pool's address at its offset (the domain's rule) is reported as corrupt rather than
/// handed out. The statement has committed by then, so such a server stays stored (with its
/// offset, for an operator to repair); it cannot arise from offsets this store hands out.
fn check_address(pool: IpPool, row: &ServerRow) -> Result<(), TxError> {
    let expected = row
        .ip_offset
        .and_then(|offset| u64::try_from(offset).ok())
        .and_then(|offset| pool.address(offset))
        .map(mapping::inet);
    if expected.is_some() && expected == row.ip {
        return Ok(());
    }
    Err(TxError::Corrupt(BadRow::new(
        "servers.ip",
        format!("{:?} at offset {:?} of pool {pool}", row.ip, row.ip_offset),
    )))
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;
    use diesel::debug_query;
    use fleet_domain::lifecycle::{self, ServerSpec};
    use fleet_domain::{KeyId, LifecycleConfig, Money, ProjectId, RequestContext, ServerId};

    use super::*;

    #[test]
    fn every_parameter_is_bound_in_the_order_of_its_placeholders() {
        let at = DateTime::from_timestamp(1_767_225_600, 0).expect("a time");
        let (project, key) = (ProjectId::random(), KeyId::random());
        let new = lifecycle::plan_provision(
            ServerSpec {
                id: ServerId::random(),
                project,
                name: "web-1".to_owned(),
                labels: fleet_domain::Labels::from_client(
                    [("env".to_owned(), "prod".to_owned())].into(),
                )
                .expect("a label"),
                region: "lab".to_owned(),
                server_type: "t2.micro".to_owned(),
                hourly_price: Money::from_micros(11_600),
                policy: fleet_domain::billing::BillingPolicy::default(),
                vcpus: 1,
            },
            at,
            &LifecycleConfig::default(),
            &RequestContext::api("req-1").by_key(Some(key)),
            &fleet_domain::Entropy::os(),
        );
        let query = Provision {
            server: &new.server,
            id: new.server.id.as_uuid(),
            project: project.as_uuid(),
            price_micros: new.server.hourly_price.micros(),
            billed_amount_micros: new.server.billed_amount.micros(),
            first_address: mapping::inet("10.0.0.1".parse().expect("an address")),
            event: mapping::new_event_row(&new.event, &new.server),
            action: mapping::new_action_row(&new.action),
            vcpus: 1,
            labels: mapping::labels_json(&new.server.labels),
            state_reason: None,
            billing_policy: new.server.policy.encode(),
            checked: false,
        };
        let rendered = debug_query::<Pg, _>(&query).to_string();
        let (sql, binds) = rendered.split_once(" -- binds: ").expect("binds");
        // `$1` appears three times in the text and `$3` twice, so diesel numbers 45
        // placeholders.
        assert!(sql.contains("$45") && !sql.contains("$46"), "{sql}");
        assert!(sql.contains("$11::inet + taken.ip_offset"), "{sql}");
        assert!(
            sql.contains("RETURNING id, project_id, name, region"),
            "{sql}"
        );
        // In the order of the text: whether checked and the project (the quota gate), the
        // region twice (free list, counter), the id, the project, the name, the region again
        // (the server's), type, state, first address, price...
        let id = new.server.id.as_uuid();
        let expected = format!(
            "[false, {project}, \"lab\", \"lab\", {id}, {project}, \"web-1\", \"lab\", \
             \"t2.micro\", \"provisioning\", 10.0.0.1/32, 11600, 0, "
        );
        assert!(binds.starts_with(&expected), "{binds}");
        // ...the labels after the vCPUs, then its state reason (none for a new server)...
        assert!(
            binds.contains(", 1, Object {\"env\": String(\"prod\")}, None, "),
            "{binds}"
        );
        // ...then the event's type after its kind, its actor, request id, key, message,
        // reason and trace context (none for this request)...
        let expected = format!(
            "\"created\", \"server.provisioned\", None, Some(\"provisioning\"), \"api\", \
             Some(\"req-1\"), Some({key}), \"provisioned as t2.micro in lab\", None, None, None, "
        );
        assert!(binds.contains(&expected), "{binds}");
        // ...and the action record last: its id, command, status, times, error and request.
        let action = new.action.id.as_uuid();
        let expected = format!(
            "{action}, \"provision\", \"running\", 2026-01-01T00:00:00Z, None, None, \
             Some(\"req-1\")]"
        );
        assert!(binds.ends_with(&expected), "{binds}");
    }
}
