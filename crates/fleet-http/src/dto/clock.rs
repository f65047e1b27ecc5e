//! The virtual clock's admin API (only with `--clock virtual`).

use chrono::{DateTime, Utc};
use paperclip::actix::Apiv2Schema;
use serde::{Deserialize, Serialize};

/// The virtual clock's time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Apiv2Schema)]
pub struct ClockReading {
    /// The current virtual instant.
    pub now: DateTime<Utc>,
}

/// How far to move the virtual clock.
#[derive(Debug, Clone, Deserialize, Apiv2Schema)]
#[serde(deny_unknown_fields)]
pub struct AdvanceRequest {
    /// Seconds to move forward, 0 to 31,536,000 (a year).
    pub seconds: i64,
}

/// What moving the clock did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Apiv2Schema)]
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
