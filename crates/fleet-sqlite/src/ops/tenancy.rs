//! Projects and API keys.

use chrono::{DateTime, Utc};
use diesel::SqliteConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable};
use fleet_domain::ids::{KeyId, ProjectId};
use fleet_domain::keys::StoredSecret;
use fleet_domain::ports::{BadRow, ProjectDeletion, StoredKey};
use fleet_domain::project_update::ProjectUpdate;
use fleet_domain::state::ServerState;
use fleet_domain::tenancy::{ApiKey, Project};

use crate::errors::TxError;
use crate::mapping::{key_text, micros, project_text, rate_limit};
use crate::rows::{KeyRow, NewKeyRow, ProjectChangeset, ProjectRow};
use crate::schema::{
    actions, api_keys, budgets, events, idempotency_keys, project_quotas, projects, servers,
    usage_records, usage_rollups, webhook_subscriptions,
};

type Result<T> = std::result::Result<T, TxError>;

diesel::define_sql_function! {
    /// SQL's `coalesce` of two instants: the first that is not NULL.
    fn coalesce(first: Nullable<BigInt>, second: BigInt) -> BigInt;
}

/// Stores a new project; a taken name is [`TxError::NameTaken`]. Call inside a write
/// transaction, which keeps the name free between the check and the insert (SQLite does not
/// say which constraint an insert violated).
pub(crate) fn create_project(conn: &mut SqliteConnection, project: &Project) -> Result<()> {
    refuse_taken_name(conn, &project.name, project.id)?;
    diesel::insert_into(projects::table)
        .values(ProjectRow::from_domain(project))
        .execute(conn)?;
    Ok(())
}

/// The project with this id.
pub(crate) fn project(conn: &mut SqliteConnection, id: ProjectId) -> Result<Option<Project>> {
    let row: Option<ProjectRow> = projects::table
        .find(project_text(id))
        .select(ProjectRow::as_select())
        .get_result(conn)
        .optional()?;
    Ok(row.map(ProjectRow::into_domain).transpose()?)
}

/// The project with this name.
pub(crate) fn project_named(conn: &mut SqliteConnection, name: &str) -> Result<Option<Project>> {
    let row: Option<ProjectRow> = projects::table
        .filter(projects::name.eq(name))
        .select(ProjectRow::as_select())
        .get_result(conn)
        .optional()?;
    Ok(row.map(ProjectRow::into_domain).transpose()?)
}

/// Every project, by name.
pub(crate) fn projects(conn: &mut SqliteConnection) -> Result<Vec<Project>> {
    projects::table
        .order(projects::name)
        .select(ProjectRow::as_select())
        .load(conn)?
        .into_iter()
        .map(|row: ProjectRow| Ok(row.into_domain()?))
        .collect()
}

/// Changes what `update` names of a project (an empty update only reads it); `None` when
/// there is none with this id (whatever the name), [`TxError::NameTaken`] when another has
/// the name. Call inside a write transaction.
pub(crate) fn update_project(
    conn: &mut SqliteConnection,
    id: ProjectId,
    update: &ProjectUpdate,
) -> Result<Option<Project>> {
    let Some(current) = project(conn, id)? else {
        return Ok(None);
    };
    if update.is_empty() {
        return Ok(Some(current));
    }
    if let Some(name) = &update.name {
        refuse_taken_name(conn, name, id)?;
    }
    let row: Option<ProjectRow> = diesel::update(projects::table.find(project_text(id)))
        .set(ProjectChangeset::from_domain(update))
        .returning(ProjectRow::as_returning())
        .get_result(conn)
        .optional()?;
    Ok(row.map(ProjectRow::into_domain).transpose()?)
}

/// [`TxError::NameTaken`] if a project other than `id` is named `name`.
fn refuse_taken_name(conn: &mut SqliteConnection, name: &str, id: ProjectId) -> Result<()> {
    let taken: bool = diesel::select(diesel::dsl::exists(
        projects::table
            .filter(projects::name.eq(name))
            .filter(projects::id.ne(project_text(id))),
    ))
    .get_result(conn)?;
    if taken {
        return Err(TxError::NameTaken(name.to_owned()));
    }
    Ok(())
}

/// Deletes a project whose servers are all terminated, with its API and idempotency keys and
/// those servers' usage, events, action records and rows. Call inside a write transaction:
/// no server can be provisioned into the project between the count and the deletes.
pub(crate) fn delete_project(
    conn: &mut SqliteConnection,
    id: ProjectId,
) -> Result<ProjectDeletion> {
    let id = project_text(id);
    let exists: bool =
        diesel::select(diesel::dsl::exists(projects::table.find(&id))).get_result(conn)?;
    if !exists {
        return Ok(ProjectDeletion::Missing);
    }
    let live: i64 = servers::table
        .filter(servers::project_id.eq(&id))
        .filter(servers::state.ne(ServerState::Terminated.as_str()))
        .count()
        .get_result(conn)?;
    if live > 0 {
        let live = u64::try_from(live).map_err(|_| BadRow::new("servers count", live))?;
        return Ok(ProjectDeletion::HasLiveServers(live));
    }
    let of_project = || {
        servers::table
            .filter(servers::project_id.eq(&id))
            .select(servers::id)
    };
    diesel::delete(usage_records::table.filter(usage_records::server_id.eq_any(of_project())))
        .execute(conn)?;
    diesel::delete(budgets::table.filter(budgets::project_id.eq(&id))).execute(conn)?;
    diesel::delete(events::table.filter(events::project_id.eq(&id))).execute(conn)?;
    diesel::delete(usage_rollups::table.filter(usage_rollups::project_id.eq(&id))).execute(conn)?;
    diesel::delete(actions::table.filter(actions::server_id.eq_any(of_project()))).execute(conn)?;
    diesel::delete(servers::table.filter(servers::project_id.eq(&id))).execute(conn)?;
    diesel::delete(api_keys::table.filter(api_keys::project_id.eq(&id))).execute(conn)?;
    diesel::delete(idempotency_keys::table.filter(idempotency_keys::project_id.eq(&id)))
        .execute(conn)?;
    // Their deliveries go with them (ON DELETE CASCADE).
    diesel::delete(webhook_subscriptions::table.filter(webhook_subscriptions::project_id.eq(&id)))
        .execute(conn)?;
    diesel::delete(project_quotas::table.find(&id)).execute(conn)?;
    diesel::delete(projects::table.find(&id)).execute(conn)?;
    Ok(ProjectDeletion::Deleted)
}

/// Stores a new key with the hash of its secret.
pub(crate) fn create_key(
    conn: &mut SqliteConnection,
    key: &ApiKey,
    secret: &StoredSecret,
) -> Result<()> {
    diesel::insert_into(api_keys::table)
        .values(NewKeyRow::from_domain(key, secret))
        .execute(conn)?;
    Ok(())
}

/// The keys of a project, oldest first.
pub(crate) fn keys(conn: &mut SqliteConnection, project: ProjectId) -> Result<Vec<ApiKey>> {
    api_keys::table
        .filter(api_keys::project_id.eq(project_text(project)))
        .order((api_keys::created_at, api_keys::id))
        .select(KeyRow::as_select())
        .load(conn)?
        .into_iter()
        .map(|row: KeyRow| Ok(row.into_domain()?))
        .collect()
}

/// A key with the hash of its secret and its project's rate limit, in one query.
pub(crate) fn key_with_hash(conn: &mut SqliteConnection, id: KeyId) -> Result<Option<StoredKey>> {
    let row: Option<(KeyRow, String, Option<String>, Option<i64>)> = api_keys::table
        .inner_join(projects::table)
        .filter(api_keys::id.eq(key_text(id)))
        .select((
            KeyRow::as_select(),
            api_keys::secret_hash,
            api_keys::secret_sealed,
            projects::rate_limit_per_minute,
        ))
        .first(conn)
        .optional()?;
    let Some((key, secret_hash, sealed_secret, limit)) = row else {
        return Ok(None);
    };
    Ok(Some(StoredKey {
        sealed_secret,
        key: key.into_domain()?,
        secret_hash,
        project_rate_limit: limit.map(rate_limit).transpose()?,
    }))
}

/// Revokes a key at `at` unless it was revoked before, in one statement; `None` when there
/// is no such key.
pub(crate) fn revoke_key(
    conn: &mut SqliteConnection,
    id: KeyId,
    at: DateTime<Utc>,
) -> Result<Option<ApiKey>> {
    let row: Option<KeyRow> = diesel::update(api_keys::table.find(key_text(id)))
        .set(api_keys::revoked_at.eq(coalesce(api_keys::revoked_at, micros(at)).nullable()))
        .returning(KeyRow::as_returning())
        .get_result(conn)
        .optional()?;
    Ok(row.map(KeyRow::into_domain).transpose()?)
}

/// Gives a key stored without a sealed secret this one.
pub(crate) fn seal_key(conn: &mut SqliteConnection, id: KeyId, sealed: &str) -> Result<bool> {
    let sealed_now = diesel::update(
        api_keys::table
            .find(key_text(id))
            .filter(api_keys::secret_sealed.is_null()),
    )
    .set(api_keys::secret_sealed.eq(sealed))
    .execute(conn)?;
    Ok(sealed_now == 1)
}

/// Records that the keys were used at `at`, in one statement. A key used later already
/// keeps its time, so processes flushing their marks out of order never move it back.
pub(crate) fn mark_keys_used(
    conn: &mut SqliteConnection,
    ids: &[KeyId],
    at: DateTime<Utc>,
) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let at = micros(at);
    let ids: Vec<String> = ids.iter().copied().map(key_text).collect();
    diesel::update(
        api_keys::table.filter(api_keys::id.eq_any(ids)).filter(
            api_keys::last_used_at
                .is_null()
                .or(api_keys::last_used_at.lt(at)),
        ),
    )
    .set(api_keys::last_used_at.eq(at))
    .execute(conn)?;
    Ok(())
}
