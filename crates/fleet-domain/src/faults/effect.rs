//! What a fault rule does when it fires.
//!
//! One variant per effect. The API effects (an error, added latency) are checked before an
//! operation runs; lifecycle effects (failed provisioning, capacity, slow or stuck
//! transitions, interruptions, host failure) will be further variants, checked where the
//! lifecycle plans its changes. An effect is accepted only once something applies it.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The longest latency a rule may add, in milliseconds: longer would outlast client
/// timeouts and hold a worker's request for nothing.
pub const MAX_LATENCY_MS: u32 = 30_000;
/// The longest `Retry-After` a rule may ask for, in seconds.
pub const MAX_RETRY_AFTER_SECONDS: u32 = 3_600;
/// The longest problem type a rule may name.
pub const MAX_PROBLEM_TYPE_CHARS: usize = 64;
/// How many standard deviations from its mean a normal latency may stray before it is cut.
pub const DEFAULT_NORMAL_CLAMP: f64 = 4.0;

/// What a rule does when it fires.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultEffect {
    /// The operation is refused with an error, and nothing changes.
    Error(ErrorFault),
    /// The operation runs after a delay.
    Latency(Latency),
}

impl FaultEffect {
    /// The kind, as metrics and events name it.
    pub fn kind(&self) -> &'static str {
        match self {
            FaultEffect::Error(_) => "error",
            FaultEffect::Latency(_) => "latency",
        }
    }
}

/// The statuses an injected error may have: the ones real clouds answer when they fail or
/// throttle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u16", into = "u16")]
pub enum ErrorStatus {
    /// 429 Too Many Requests.
    TooManyRequests,
    /// 500 Internal Server Error.
    Internal,
    /// 502 Bad Gateway.
    BadGateway,
    /// 503 Service Unavailable.
    Unavailable,
    /// 504 Gateway Timeout.
    GatewayTimeout,
}

impl ErrorStatus {
    /// Every status, in a fixed order.
    pub const ALL: [ErrorStatus; 5] = [
        ErrorStatus::TooManyRequests,
        ErrorStatus::Internal,
        ErrorStatus::BadGateway,
        ErrorStatus::Unavailable,
        ErrorStatus::GatewayTimeout,
    ];

    /// The HTTP status code.
    pub fn code(self) -> u16 {
        match self {
            ErrorStatus::TooManyRequests => 429,
            ErrorStatus::Internal => 500,
            ErrorStatus::BadGateway => 502,
            ErrorStatus::Unavailable => 503,
            ErrorStatus::GatewayTimeout => 504,
        }
    }

    /// The status with this code, if it is one a rule may use.
    pub fn from_code(code: u16) -> Option<ErrorStatus> {
        ErrorStatus::ALL.into_iter().find(|s| s.code() == code)
    }

    /// The problem type a rule answers with when it names none.
    pub fn default_problem_type(self) -> &'static str {
        match self {
            ErrorStatus::TooManyRequests => "throttled",
            ErrorStatus::Internal => "internal-error",
            ErrorStatus::BadGateway => "bad-gateway",
            ErrorStatus::Unavailable => "service-unavailable",
            ErrorStatus::GatewayTimeout => "gateway-timeout",
        }
    }
}

impl TryFrom<u16> for ErrorStatus {
    type Error = String;

    fn try_from(code: u16) -> Result<Self, Self::Error> {
        ErrorStatus::from_code(code).ok_or_else(|| format!("status {code} is not injectable"))
    }
}

impl From<ErrorStatus> for u16 {
    fn from(status: ErrorStatus) -> u16 {
        status.code()
    }
}

/// An error answered instead of running the operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorFault {
    /// The status.
    pub status: ErrorStatus,
    /// The problem type's slug (`throttled`, `service-unavailable`, …).
    pub problem_type: String,
    /// The `Retry-After` to send, in seconds.
    pub retry_after_seconds: Option<u32>,
}

/// How long an operation is held before it runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "distribution", rename_all = "snake_case")]
pub enum Latency {
    /// Always this long.
    Fixed {
        /// Milliseconds.
        ms: u32,
    },
    /// Uniformly between two bounds.
    Uniform {
        /// The shortest, in milliseconds.
        min_ms: u32,
        /// The longest, in milliseconds.
        max_ms: u32,
    },
    /// Normally distributed around a mean, cut at zero, at four deviations and at the most
    /// a rule may add.
    Normal {
        /// The mean, in milliseconds.
        mean_ms: u32,
        /// The standard deviation, in milliseconds.
        stddev_ms: u32,
    },
}

impl Latency {
    /// A delay for two uniform draws in `[0, 1)` (the second used by `normal` only).
    pub fn sample(&self, first: f64, second: f64) -> Duration {
        let ms = match *self {
            Latency::Fixed { ms } => f64::from(ms),
            Latency::Uniform { min_ms, max_ms } => {
                f64::from(min_ms) + first * f64::from(max_ms - min_ms)
            }
            Latency::Normal { mean_ms, stddev_ms } => {
                // Box–Muller; `1 - first` is in (0, 1], so its logarithm is finite.
                let z = (-2.0 * (1.0 - first).ln()).sqrt()
                    * (2.0 * std::f64::consts::PI * second).cos();
                let z = z.clamp(-DEFAULT_NORMAL_CLAMP, DEFAULT_NORMAL_CLAMP);
                f64::from(mean_ms) + z * f64::from(stddev_ms)
            }
        };
        let bounded = ms.clamp(0.0, f64::from(MAX_LATENCY_MS));
        Duration::from_micros((bounded * 1_000.0).round() as u64)
    }

    /// Whether it needs a second draw.
    pub fn draws_twice(&self) -> bool {
        matches!(self, Latency::Normal { .. })
    }
}
