//! `/admin/clock`: the virtual clock, registered only in virtual-clock mode. The committed
//! document lists them all the same, with their 404 on the system clock, so that generated
//! clients have them.

use chrono::TimeDelta;
use fleet_domain::Role;
use fleet_domain::tenancy::Forbidden;
use paperclip::actix::{api_v2_operation, web};

use crate::auth::ApiCaller;
use crate::body::JsonBody;
use crate::dto;
use crate::errors::{AdvanceFailure, ClockFailure};
use crate::problem::Problem;
use crate::request::ApiScope;
use crate::state::{AppState, VirtualClock};

/// The longest single move of the virtual clock: a year.
pub const MAX_ADVANCE_SECONDS: i64 = 365 * 24 * 3_600;

/// The virtual clock, for an admin. Only registered in virtual-clock mode, so its absence
/// is a fault of the wiring, not of the request.
fn virtual_clock<'a, F: From<Forbidden> + From<Problem>>(
    state: &'a AppState,
    caller: &ApiCaller,
) -> Result<&'a VirtualClock, F> {
    caller.require(Role::Admin)?;
    state.virtual_clock.as_deref().ok_or_else(|| {
        Problem::internal("the clock routes are mounted without a virtual clock").into()
    })
}

/// Read the virtual clock
///
/// Admin only. Exists only when fleetd runs with `--clock virtual`; otherwise a 404
/// `route-not-found` problem.
#[api_v2_operation(
    operation_id = "readClock",
    tags(Admin),
    produces = "application/json, application/problem+json"
)]
pub async fn read(
    state: web::Data<AppState>,
    caller: ApiCaller,
) -> Result<web::Json<dto::ClockReading>, ClockFailure> {
    let clock = virtual_clock::<ClockFailure>(&state, &caller)?;
    Ok(web::Json(dto::ClockReading {
        now: fleet_domain::ports::Clock::now(clock.clock.as_ref()),
    }))
}

/// Advance the virtual clock
///
/// Moves the clock forward and, before answering, does all the work that fell due on the
/// way, in time order: transitions, billing accruals and idle reaping. Admin only. Exists
/// only when fleetd runs with `--clock virtual`; otherwise a 404 `route-not-found` problem.
#[api_v2_operation(
    operation_id = "advanceClock",
    tags(Admin),
    consumes = "application/json",
    produces = "application/json, application/problem+json"
)]
pub async fn advance(
    state: web::Data<AppState>,
    caller: ApiCaller,
    scope: ApiScope,
    body: JsonBody<dto::AdvanceRequest>,
) -> Result<web::Json<dto::AdvanceReport>, AdvanceFailure> {
    let clock = virtual_clock::<AdvanceFailure>(&state, &caller)?;
    let seconds = body.seconds;
    if !(0..=MAX_ADVANCE_SECONDS).contains(&seconds) {
        return Err(Problem::unprocessable(
            "invalid-body",
            format!("seconds must be between 0 and {MAX_ADVANCE_SECONDS}, got {seconds}"),
        )
        .into());
    }
    let _moving = clock.moving.lock().await;
    let report = clock
        .engine
        .advance(&clock.clock, TimeDelta::seconds(seconds))
        .await?;
    let now = fleet_domain::ports::Clock::now(clock.clock.as_ref());
    slog::info!(scope.logger(), "virtual clock advanced";
        "seconds" => seconds, "now" => now.to_rfc3339(), "completed" => report.completed,
        "accrued" => report.accrued, "reaped" => report.reaped);
    Ok(web::Json(dto::AdvanceReport {
        now,
        completed: report.completed,
        accrued: report.accrued,
        reaped: report.reaped,
    }))
}
