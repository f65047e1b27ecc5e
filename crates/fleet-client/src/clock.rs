//! The virtual clock's two operations (`GET /admin/clock`, `POST /admin/clock/advance`),
//! written by hand because the committed document leaves out the routes fleetd serves only
//! with `--clock virtual`. Their shapes are fleetd's `ClockReading` and `AdvanceReport` as
//! its virtual-clock document (`/api/spec/v3`) describes them; this module goes once
//! `docs/openapi.json` carries the two operations and the generator writes them.

use chrono::{DateTime, Utc};
use progenitor_client::{ClientInfo, Error, ResponseValue};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::Client;
use crate::types::Problem;

/// The virtual clock's time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockReading {
    /// The current virtual instant.
    pub now: DateTime<Utc>,
}

/// What moving the virtual clock did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdvanceReport {
    /// The virtual instant after the move.
    pub now: DateTime<Utc>,
    /// Transitional states completed on the way.
    pub completed: u32,
    /// Billing accruals made on the way.
    pub accrued: u32,
    /// Idle servers reaped on the way.
    pub reaped: u32,
}

impl Client {
    /// Reads the virtual clock (admin only; fleetd with `--clock virtual`).
    pub async fn read_clock(&self) -> Result<ResponseValue<ClockReading>, Error<Problem>> {
        let request = self.client().get(format!("{}/admin/clock", self.baseurl()));
        answer(request).await
    }

    /// Moves the virtual clock `seconds` forward, doing the work due on the way.
    pub async fn advance_clock(
        &self,
        seconds: i64,
    ) -> Result<ResponseValue<AdvanceReport>, Error<Problem>> {
        let request = self
            .client()
            .post(format!("{}/admin/clock/advance", self.baseurl()))
            .json(&serde_json::json!({ "seconds": seconds }));
        answer(request).await
    }
}

/// The typed body of a success, or the problem of a refusal, as the generated operations
/// answer them.
async fn answer<T: DeserializeOwned>(
    request: reqwest::RequestBuilder,
) -> Result<ResponseValue<T>, Error<Problem>> {
    let response = request
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await?;
    if response.status().is_success() {
        return ResponseValue::from_response(response).await;
    }
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.bytes().await.map_err(Error::ResponseBodyError)?;
    match serde_json::from_slice::<Problem>(&body) {
        Ok(problem) => Err(Error::ErrorResponse(ResponseValue::new(
            problem, status, headers,
        ))),
        Err(e) => Err(Error::InvalidResponsePayload(body, e)),
    }
}
