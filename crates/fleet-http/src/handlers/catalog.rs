//! `/catalog`: what can be provisioned.

use paperclip::actix::{api_v2_operation, web};

use crate::auth::ApiCaller;
use crate::dto;
use crate::errors::CatalogFailure;
use crate::state::AppState;

/// Get the catalog
///
/// The regions, with their address pools and how many addresses are free, and the server
/// types with their hourly prices. Any role may read it.
#[api_v2_operation(
    operation_id = "getCatalog",
    tags(Catalog),
    produces = "application/json, application/problem+json"
)]
pub async fn catalog(
    state: web::Data<AppState>,
    _caller: ApiCaller,
) -> Result<web::Json<dto::Catalog>, CatalogFailure> {
    let usage = state.catalog.pool_usage().await?;
    Ok(web::Json(dto::Catalog::new(
        state.catalog.catalog(),
        &usage,
    )))
}
