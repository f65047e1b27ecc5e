//! `/projects/{id}/keys` and `/keys/{id}`: the admin's API keys.

use fleet_domain::{KeyId, ProjectId};
use paperclip::actix::{api_v2_operation, web};
use uuid::Uuid;

use crate::auth::ApiCaller;
use crate::body::JsonBody;
use crate::dto;
use crate::errors::{CreateKeyFailure, KeysFailure, RevokeKeyFailure};
use crate::responses::KeyCreated;
use crate::state::AppState;

/// Create an API key
///
/// A key of the project with a role. The answer holds the key's text, shown this once:
/// fleet keeps only a hash of its secret. Admin only.
#[api_v2_operation(
    operation_id = "createKey",
    tags(Keys),
    consumes = "application/json",
    produces = "application/json, application/problem+json"
)]
pub async fn create(
    state: web::Data<AppState>,
    caller: ApiCaller,
    id: web::Path<Uuid>,
    body: JsonBody<dto::CreateKeyRequest>,
) -> Result<KeyCreated, CreateKeyFailure> {
    let body = body.into_inner();
    let created = state
        .projects
        .create_key(
            &caller,
            ProjectId::from(id.into_inner()),
            body.role.into(),
            body.description.as_deref().unwrap_or_default(),
        )
        .await?;
    Ok(KeyCreated(created.into()))
}

/// List a project's API keys
///
/// Its keys, oldest first, revoked ones included, without their secrets. Admin only.
#[api_v2_operation(
    operation_id = "listKeys",
    tags(Keys),
    produces = "application/json, application/problem+json"
)]
pub async fn list(
    state: web::Data<AppState>,
    caller: ApiCaller,
    id: web::Path<Uuid>,
) -> Result<web::Json<dto::KeyList>, KeysFailure> {
    let keys = state
        .projects
        .keys(&caller, ProjectId::from(id.into_inner()))
        .await?;
    Ok(web::Json(dto::KeyList {
        items: keys.into_iter().map(Into::into).collect(),
    }))
}

/// Revoke an API key
///
/// The key stops working at once on the replica that answers, and on the others within the
/// key cache's TTL (5 seconds by default). The answer is the key, with `revoked_at`;
/// revoking a revoked key changes nothing and answers the same. Admin only.
#[api_v2_operation(
    operation_id = "revokeKey",
    tags(Keys),
    produces = "application/json, application/problem+json"
)]
pub async fn revoke(
    state: web::Data<AppState>,
    caller: ApiCaller,
    id: web::Path<Uuid>,
) -> Result<web::Json<dto::ApiKey>, RevokeKeyFailure> {
    let id = KeyId::from(id.into_inner());
    let key = state.projects.revoke_key(&caller, id).await?;
    state.auth.forget_key(id);
    Ok(web::Json(key.into()))
}
