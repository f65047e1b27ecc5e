//! `/projects`: the admin's projects.

use fleet_domain::ProjectId;
use paperclip::actix::{api_v2_operation, web};
use uuid::Uuid;

use crate::auth::ApiCaller;
use crate::body::JsonBody;
use crate::dto;
use crate::errors::{
    CreateProjectFailure, DeleteProjectFailure, ProjectFailure, ProjectsFailure,
    UpdateProjectFailure,
};
use crate::responses::{CreatedAt, Deleted, ProjectCreated};
use crate::state::AppState;

/// Create a project
///
/// A new, empty project. Admin only.
#[api_v2_operation(
    operation_id = "createProject",
    tags(Projects),
    consumes = "application/json",
    produces = "application/json, application/problem+json"
)]
pub async fn create(
    state: web::Data<AppState>,
    caller: ApiCaller,
    body: JsonBody<dto::CreateProjectRequest>,
) -> Result<ProjectCreated, CreateProjectFailure> {
    let project = state.projects.create_project(&caller, &body.name).await?;
    Ok(CreatedAt(project.into()))
}

/// List projects
///
/// Every project, by name. Admin only.
#[api_v2_operation(
    operation_id = "listProjects",
    tags(Projects),
    produces = "application/json, application/problem+json"
)]
pub async fn list(
    state: web::Data<AppState>,
    caller: ApiCaller,
) -> Result<web::Json<dto::ProjectList>, ProjectsFailure> {
    let projects = state.projects.projects(&caller).await?;
    Ok(web::Json(dto::ProjectList {
        items: projects.into_iter().map(Into::into).collect(),
    }))
}

/// Get a project
///
/// The project, with its quotas' limits and its use of them. Admin only.
#[api_v2_operation(
    operation_id = "getProject",
    tags(Projects),
    produces = "application/json, application/problem+json"
)]
pub async fn get(
    state: web::Data<AppState>,
    caller: ApiCaller,
    id: web::Path<Uuid>,
) -> Result<web::Json<dto::ProjectDetail>, ProjectFailure> {
    let id = ProjectId::from(id.into_inner());
    let project = state.projects.project(&caller, id).await?;
    let quotas = state.projects.quotas(&caller, id).await?;
    Ok(web::Json(dto::ProjectDetail::new(project, quotas)))
}

/// Update a project
///
/// Renames it, or sets or clears (`null`) its rate limit; a field left out stays as it
/// is. A new rate limit applies to the project's keys at once on this replica and within
/// the key cache's TTL on the others. Admin only.
#[api_v2_operation(
    operation_id = "updateProject",
    tags(Projects),
    consumes = "application/json",
    produces = "application/json, application/problem+json"
)]
pub async fn update(
    state: web::Data<AppState>,
    caller: ApiCaller,
    id: web::Path<Uuid>,
    body: JsonBody<dto::UpdateProjectRequest>,
) -> Result<web::Json<dto::Project>, UpdateProjectFailure> {
    let id = ProjectId::from(id.into_inner());
    let project = state
        .projects
        .update_project(&caller, id, body.into_inner().into())
        .await?;
    // Its keys' cached verifications carry the old rate limit.
    state.auth.forget_project(id);
    Ok(web::Json(project.into()))
}

/// Delete a project
///
/// Deletes a project whose servers are all terminated, with its keys, which stop working at
/// once on this replica and within the key cache's TTL on the others. `default` cannot be
/// deleted. Admin only.
#[api_v2_operation(
    operation_id = "deleteProject",
    tags(Projects),
    produces = "application/json, application/problem+json"
)]
pub async fn delete(
    state: web::Data<AppState>,
    caller: ApiCaller,
    id: web::Path<Uuid>,
) -> Result<Deleted, DeleteProjectFailure> {
    let id = ProjectId::from(id.into_inner());
    state.projects.delete_project(&caller, id).await?;
    state.auth.forget_project(id);
    Ok(Deleted)
}
