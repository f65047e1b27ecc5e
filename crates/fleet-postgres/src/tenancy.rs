//! Projects and API keys.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DbError};
use diesel::sql_types::{Nullable, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use fleet_domain::keys::StoredSecret;
use fleet_domain::ports::{BadRow, ProjectDeletion, StoredKey};
use fleet_domain::project_update::ProjectUpdate;
use fleet_domain::tenancy::{ApiKey, Project};
use fleet_domain::{KeyId, ProjectId, ServerState};
use uuid::Uuid;

use crate::errors::TxError;
use crate::mapping;
use crate::rows::{KeyRow, ProjectRow};
use crate::schema::{
    actions, api_keys, budgets, events, idempotency_keys, project_quotas, projects, servers,
    usage_records, usage_rollups, webhook_subscriptions,
};

/// The unique constraint on project names (named in the migration): its violation is a
/// name taken, any other unique violation a fault.
const PROJECT_NAME_KEY: &str = "projects_name_unique";

diesel::define_sql_function! {
    /// SQL's `coalesce` of two instants: the first that is not NULL.
    fn coalesce(first: Nullable<Timestamptz>, second: Timestamptz) -> Timestamptz;
}

/// Stores a new project; a taken name is [`TxError::NameTaken`].
pub(crate) async fn create_project(
    conn: &mut AsyncPgConnection,
    project: &Project,
) -> Result<(), TxError> {
    diesel::insert_into(projects::table)
        .values(mapping::project_row(project))
        .execute(conn)
        .await
        .map_err(|e| name_taken(e, &project.name))?;
    Ok(())
}

/// The project with this id.
pub(crate) async fn project(
    conn: &mut AsyncPgConnection,
    id: ProjectId,
) -> Result<Option<Project>, TxError> {
    let row: Option<ProjectRow> = projects::table
        .find(id.as_uuid())
        .select(ProjectRow::as_select())
        .first(conn)
        .await
        .optional()?;
    Ok(row.map(mapping::project).transpose()?)
}

/// The project with this name.
pub(crate) async fn project_named(
    conn: &mut AsyncPgConnection,
    name: &str,
) -> Result<Option<Project>, TxError> {
    let row: Option<ProjectRow> = projects::table
        .filter(projects::name.eq(name))
        .select(ProjectRow::as_select())
        .first(conn)
        .await
        .optional()?;
    Ok(row.map(mapping::project).transpose()?)
}

/// Every project, by name.
pub(crate) async fn projects(conn: &mut AsyncPgConnection) -> Result<Vec<Project>, TxError> {
    let rows: Vec<ProjectRow> = projects::table
        .order(projects::name)
        .select(ProjectRow::as_select())
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(mapping::project)
        .collect::<Result<_, _>>()?)
}

/// Changes what `update` names of a project in one statement (an empty update only reads
/// it); `None` when there is none with this id, [`TxError::NameTaken`] when another has the
/// name.
pub(crate) async fn update_project(
    conn: &mut AsyncPgConnection,
    id: ProjectId,
    update: &ProjectUpdate,
) -> Result<Option<Project>, TxError> {
    if update.is_empty() {
        return project(conn, id).await;
    }
    let taken_name = update.name.as_deref().unwrap_or_default();
    let row: Option<ProjectRow> = diesel::update(projects::table.find(id.as_uuid()))
        .set(mapping::project_changeset(update))
        .returning(ProjectRow::as_returning())
        .get_result(conn)
        .await
        .optional()
        .map_err(|e| name_taken(e, taken_name))?;
    Ok(row.map(mapping::project).transpose()?)
}

/// Deletes a project whose servers are all terminated, with its API and idempotency keys and
/// those servers' usage, events, action records and rows. Runs inside the caller's transaction.
///
/// The project's row is locked first: a concurrent provision into the project (or a key
/// created for it) checks its foreign key against that row, so it waits, and then fails
/// on the deleted project, rather than slipping a live server in after the count.
pub(crate) async fn delete_project(
    conn: &mut AsyncPgConnection,
    id: ProjectId,
) -> Result<ProjectDeletion, TxError> {
    let id = id.as_uuid();
    let locked: Option<Uuid> = projects::table
        .find(id)
        .select(projects::id)
        .for_update()
        .first(conn)
        .await
        .optional()?;
    if locked.is_none() {
        return Ok(ProjectDeletion::Missing);
    }
    let live: i64 = servers::table
        .filter(servers::project_id.eq(id))
        .filter(servers::state.ne(ServerState::Terminated.as_str()))
        .count()
        .get_result(conn)
        .await?;
    if live > 0 {
        let live = u64::try_from(live).map_err(|_| BadRow::new("servers count", live))?;
        return Ok(ProjectDeletion::HasLiveServers(live));
    }
    let of_project = || {
        servers::table
            .filter(servers::project_id.eq(id))
            .select(servers::id)
    };
    diesel::delete(usage_records::table.filter(usage_records::server_id.eq_any(of_project())))
        .execute(conn)
        .await?;
    diesel::delete(usage_rollups::table.filter(usage_rollups::project_id.eq(id)))
        .execute(conn)
        .await?;
    // Budgets before events: a check announcing a crossing meanwhile then either finds its
    // budget gone or has its events deleted below, never leaving one of a deleted project.
    diesel::delete(budgets::table.filter(budgets::project_id.eq(id)))
        .execute(conn)
        .await?;
    diesel::delete(events::table.filter(events::project_id.eq(id)))
        .execute(conn)
        .await?;
    diesel::delete(actions::table.filter(actions::server_id.eq_any(of_project())))
        .execute(conn)
        .await?;
    diesel::delete(servers::table.filter(servers::project_id.eq(id)))
        .execute(conn)
        .await?;
    diesel::delete(api_keys::table.filter(api_keys::project_id.eq(id)))
        .execute(conn)
        .await?;
    diesel::delete(idempotency_keys::table.filter(idempotency_keys::project_id.eq(id)))
        .execute(conn)
        .await?;
    // Their deliveries go with them (ON DELETE CASCADE).
    diesel::delete(webhook_subscriptions::table.filter(webhook_subscriptions::project_id.eq(id)))
        .execute(conn)
        .await?;
    diesel::delete(project_quotas::table.find(id))
        .execute(conn)
        .await?;
    diesel::delete(projects::table.find(id))
        .execute(conn)
        .await?;
    Ok(ProjectDeletion::Deleted)
}

/// Stores a new key with the hash of its secret.
pub(crate) async fn create_key(
    conn: &mut AsyncPgConnection,
    key: &ApiKey,
    secret: &StoredSecret,
) -> Result<(), TxError> {
    diesel::insert_into(api_keys::table)
        .values(mapping::new_key_row(key, secret))
        .execute(conn)
        .await?;
    Ok(())
}

/// The keys of a project, oldest first.
pub(crate) async fn keys(
    conn: &mut AsyncPgConnection,
    project: ProjectId,
) -> Result<Vec<ApiKey>, TxError> {
    let rows: Vec<KeyRow> = api_keys::table
        .filter(api_keys::project_id.eq(project.as_uuid()))
        .order((api_keys::created_at, api_keys::id))
        .select(KeyRow::as_select())
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(mapping::key)
        .collect::<Result<_, _>>()?)
}

/// A key with the hash of its secret and its project's rate limit, in one query.
pub(crate) async fn key_with_hash(
    conn: &mut AsyncPgConnection,
    id: KeyId,
) -> Result<Option<StoredKey>, TxError> {
    let row: Option<(KeyRow, String, Option<String>, Option<i32>)> = api_keys::table
        .inner_join(projects::table)
        .filter(api_keys::id.eq(id.as_uuid()))
        .select((
            KeyRow::as_select(),
            api_keys::secret_hash,
            api_keys::secret_sealed,
            projects::rate_limit_per_minute,
        ))
        .first(conn)
        .await
        .optional()?;
    let Some((key, secret_hash, sealed_secret, limit)) = row else {
        return Ok(None);
    };
    Ok(Some(StoredKey {
        key: mapping::key(key)?,
        secret_hash,
        sealed_secret,
        project_rate_limit: limit.map(mapping::rate_limit).transpose()?,
    }))
}

/// Revokes a key at `at` unless it was revoked before, in one statement; `None` when there
/// is no such key.
pub(crate) async fn revoke_key(
    conn: &mut AsyncPgConnection,
    id: KeyId,
    at: DateTime<Utc>,
) -> Result<Option<ApiKey>, TxError> {
    let row: Option<KeyRow> = diesel::update(api_keys::table.find(id.as_uuid()))
        .set(api_keys::revoked_at.eq(coalesce(api_keys::revoked_at, at).nullable()))
        .returning(KeyRow::as_returning())
        .get_result(conn)
        .await
        .optional()?;
    Ok(row.map(mapping::key).transpose()?)
}

/// Gives a key stored without a sealed secret this one.
pub(crate) async fn seal_key(
    conn: &mut AsyncPgConnection,
    id: KeyId,
    sealed: &str,
) -> Result<bool, TxError> {
    let sealed_now = diesel::update(
        api_keys::table
            .find(id.as_uuid())
            .filter(api_keys::secret_sealed.is_null()),
    )
    .set(api_keys::secret_sealed.eq(sealed))
    .execute(conn)
    .await?;
    Ok(sealed_now == 1)
}

/// Records that the keys were used at `at`, in one statement. A key used later already
/// keeps its time, so replicas flushing their marks out of order never move it back.
pub(crate) async fn mark_keys_used(
    conn: &mut AsyncPgConnection,
    ids: &[KeyId],
    at: DateTime<Utc>,
) -> Result<(), TxError> {
    if ids.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = ids.iter().map(KeyId::as_uuid).collect();
    diesel::update(
        api_keys::table.filter(api_keys::id.eq_any(ids)).filter(
            api_keys::last_used_at
                .is_null()
                .or(api_keys::last_used_at.lt(at)),
        ),
    )
    .set(api_keys::last_used_at.eq(at))
    .execute(conn)
    .await?;
    Ok(())
}

/// A violation of the unique project name is [`TxError::NameTaken`]; any other failure
/// stays what it is.
fn name_taken(error: DbError, name: &str) -> TxError {
    match &error {
        DbError::DatabaseError(DatabaseErrorKind::UniqueViolation, info)
            if info.constraint_name() == Some(PROJECT_NAME_KEY) =>
        {
            TxError::NameTaken(name.to_owned())
        }
        _ => TxError::Db(error),
    }
}

#[cfg(test)]
mod tests {
    use diesel::result::DatabaseErrorInformation;

    use super::*;

    /// A unique violation of the named constraint, as Postgres reports one.
    struct Violation(&'static str);

    impl DatabaseErrorInformation for Violation {
        fn message(&self) -> &str {
            "duplicate key value violates unique constraint"
        }
        fn details(&self) -> Option<&str> {
            None
        }
        fn hint(&self) -> Option<&str> {
            None
        }
        fn table_name(&self) -> Option<&str> {
            Some("projects")
        }
        fn column_name(&self) -> Option<&str> {
            None
        }
        fn constraint_name(&self) -> Option<&str> {
            Some(self.0)
        }
        fn statement_position(&self) -> Option<i32> {
            None
        }
    }

    fn violated(constraint: &'static str) -> TxError {
        let error = DbError::DatabaseError(
            DatabaseErrorKind::UniqueViolation,
            Box::new(Violation(constraint)),
        );
        name_taken(error, "team")
    }

    #[test]
    fn only_the_unique_name_makes_a_name_taken() {
        assert!(matches!(violated(PROJECT_NAME_KEY), TxError::NameTaken(name) if name == "team"));
        assert!(matches!(violated("projects_pkey"), TxError::Db(_)));
        let other = name_taken(DbError::NotFound, "team");
        assert!(matches!(other, TxError::Db(DbError::NotFound)));
    }
}
