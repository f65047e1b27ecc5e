//! `/costs` and `/costs/forecast`: what the caller's servers cost and where it is heading.

use fleet_domain::costs::{CostQuery, Granularity};
use paperclip::actix::{api_v2_operation, web};

use crate::auth::ApiCaller;
use crate::dto;
use crate::errors::{CostForecastFailure, CostReportFailure};
use crate::query::Query;
use crate::responses::CostReportResponse;
use crate::state::AppState;

/// Get a cost report
///
/// What the caller's project (every project, for an admin) cost from `from` to `to`, in
/// buckets of the `granularity` and groups by `group_by`: the usage ledger plus what open
/// billing has accrued up to now, so a report up to now agrees with the servers' billing
/// totals to the micro-unit. Ask for `text/csv` to get it as CSV.
#[api_v2_operation(
    operation_id = "getCosts",
    tags(Costs),
    produces = "application/json, text/csv, application/problem+json"
)]
pub async fn report(
    state: web::Data<AppState>,
    caller: ApiCaller,
    query: Query<dto::CostQuery>,
) -> Result<CostReportResponse, CostReportFailure> {
    let query = query.into_inner();
    let granularity = query.granularity.map_or(Granularity::Day, Into::into);
    let query = CostQuery::new(
        query.from,
        query.to,
        granularity,
        query.group_by.as_deref().unwrap_or_default(),
    )?;
    let report = state.costs.report(&caller, query).await?;
    Ok(CostReportResponse(report.into()))
}

/// Get a cost forecast
///
/// The current calendar month's cost so far and the projection up to `until` (the month's
/// end by default) at the rate of the servers billing now, each held in its state.
#[api_v2_operation(
    operation_id = "getCostForecast",
    tags(Costs),
    produces = "application/json, application/problem+json"
)]
pub async fn forecast(
    state: web::Data<AppState>,
    caller: ApiCaller,
    query: Query<dto::ForecastQuery>,
) -> Result<web::Json<dto::CostForecast>, CostForecastFailure> {
    let forecast = state.costs.forecast(&caller, query.until).await?;
    Ok(web::Json(forecast.into()))
}
