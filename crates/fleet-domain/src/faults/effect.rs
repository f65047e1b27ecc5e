//! What a fault rule does when it fires.
//!
//! One variant per effect. The API effects (an error, added latency, a capacity refusal)
//! are checked before an operation runs, so nothing changes; the lifecycle effects are
//! applied by the engine where it plans a server's changes: failed launches, slow and stuck
//! transitions when a transition falls due ([`crate::faults::chaos`]), interruptions and
//! host failures on a schedule drawn for each running server.

use std::time::Duration;

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};

use crate::faults::operation::Operation;
use crate::reason::StateReason;
use crate::state::Action;

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
#[derive(Debug, Clone, PartialEq)]
pub enum FaultEffect {
    /// The operation is refused with an error, and nothing changes.
    Error(ErrorFault),
    /// The operation runs after a delay.
    Latency(Latency),
    /// Provisioning or a start is refused for want of capacity in the region and type.
    Capacity(Capacity),
    /// Provisioning fails when it would complete: the server ends `failed`.
    LaunchFailure,
    /// A transition takes longer: its delay is multiplied by a drawn factor.
    Slow(Factor),
    /// A transition never completes while the rule stands.
    Stuck,
    /// Running servers are interrupted, as spot instances are, after a warning.
    Interruption(Interruption),
    /// Running servers' hosts fail: they are stopped without warning.
    HostFailure(Rate),
}

impl FaultEffect {
    /// Every kind, as [`FaultEffect::kind`] names them.
    pub const KINDS: [&'static str; 8] = [
        "error",
        "latency",
        "capacity",
        "launch_failure",
        "slow",
        "stuck",
        "interruption",
        "host_failure",
    ];

    /// The kind, as metrics and events name it.
    pub fn kind(&self) -> &'static str {
        match self {
            FaultEffect::Error(_) => "error",
            FaultEffect::Latency(_) => "latency",
            FaultEffect::Capacity(_) => "capacity",
            FaultEffect::LaunchFailure => "launch_failure",
            FaultEffect::Slow(_) => "slow",
            FaultEffect::Stuck => "stuck",
            FaultEffect::Interruption(_) => "interruption",
            FaultEffect::HostFailure(_) => "host_failure",
        }
    }

    /// The operations it can apply to: an API effect to every one, capacity to those that
    /// need some, a transition's effect to those that begin a transition, and a scheduled
    /// one to none (it hits running servers, not requests).
    pub fn applicable_operations(&self) -> &'static [Operation] {
        match self {
            FaultEffect::Error(_) | FaultEffect::Latency(_) => &Operation::ALL,
            FaultEffect::Capacity(_) => &[Operation::Provision, Operation::Act(Action::Start)],
            FaultEffect::LaunchFailure => &[Operation::Provision],
            FaultEffect::Slow(_) | FaultEffect::Stuck => &Operation::TRANSITIONS,
            FaultEffect::Interruption(_) | FaultEffect::HostFailure(_) => &[],
        }
    }

    /// Whether it is checked before a request runs (rather than by the engine).
    pub fn checked_on_requests(&self) -> bool {
        matches!(
            self,
            FaultEffect::Error(_) | FaultEffect::Latency(_) | FaultEffect::Capacity(_)
        )
    }

    /// Whether it acts on running servers on a schedule of its own, drawn per server.
    pub fn is_scheduled(&self) -> bool {
        matches!(
            self,
            FaultEffect::Interruption(_) | FaultEffect::HostFailure(_)
        )
    }
}

/// The problem type of a capacity refusal.
pub const INSUFFICIENT_CAPACITY: &str = "insufficient-capacity";
/// The largest running-server cap a capacity rule may set.
pub const MAX_CAPACITY_CAP: u32 = 1_000_000;
/// The largest factor a slow transition may be drawn with: a 5 s boot takes at most 14 h.
pub const MAX_SLOW_FACTOR: f64 = 10_000.0;
/// The highest rate of interruptions or host failures, per running server and hour.
pub const MAX_RATE_PER_HOUR: f64 = 3_600.0;
/// The longest interruption notice, in seconds.
pub const MAX_NOTICE_SECONDS: u32 = 86_400;
/// The notice a spot interruption gives: two minutes.
pub const DEFAULT_NOTICE_SECONDS: u32 = 120;

/// A capacity refusal: with `max_running`, only once that many servers of the rule's
/// regions and types (in its project, or in all) hold capacity — running or heading there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacity {
    /// The cap; every matching request (at the rule's probability) is refused without one.
    pub max_running: Option<u32>,
    /// The `Retry-After` to send, in seconds.
    pub retry_after_seconds: Option<u32>,
}

/// How much longer a slowed transition takes: its delay times a factor, drawn for each
/// transition.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Factor {
    /// Always this factor.
    Fixed(f64),
    /// Uniformly between two factors.
    Uniform(f64, f64),
    /// Normally distributed around a mean factor with a deviation, cut at four deviations
    /// and kept between 1 and [`MAX_SLOW_FACTOR`].
    Normal(f64, f64),
}

impl Factor {
    /// The factor for two uniform draws in `[0, 1)` (the second used by `normal` only).
    pub fn sample(&self, first: f64, second: f64) -> f64 {
        let factor = match *self {
            Factor::Fixed(factor) => factor,
            Factor::Uniform(min, max) => min + first * (max - min),
            Factor::Normal(mean, stddev) => mean + stddev * standard_normal(first, second),
        };
        factor.clamp(1.0, MAX_SLOW_FACTOR)
    }
}

/// A standard normal value from two uniform draws (Box–Muller), cut at
/// [`DEFAULT_NORMAL_CLAMP`] deviations.
fn standard_normal(first: f64, second: f64) -> f64 {
    // `1 - first` is in (0, 1], so its logarithm is finite.
    let z = (-2.0 * (1.0 - first).ln()).sqrt() * (2.0 * std::f64::consts::PI * second).cos();
    z.clamp(-DEFAULT_NORMAL_CLAMP, DEFAULT_NORMAL_CLAMP)
}

/// How often a scheduled effect hits each running server it matches.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Expected hits per running server and hour: each server is hit after an exponentially
    /// distributed time with this rate, as a Poisson process would.
    pub per_hour: f64,
}

impl Rate {
    /// The time until a hit, for a uniform draw in `[0, 1)`, in whole seconds (at least
    /// one), as the clouds' own notices and billing count.
    pub fn wait(&self, draw: f64) -> TimeDelta {
        let seconds = -(1.0 - draw).ln() / self.per_hour * 3_600.0;
        // Beyond a century is never, for a simulation: keep the arithmetic in range.
        TimeDelta::seconds(seconds.ceil().clamp(1.0, 3.2e9) as i64)
    }
}

/// What an interruption does after its notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InterruptionAction {
    /// The server is stopped (`Server.SpotInstanceShutdown`).
    Stop,
    /// The server is terminated (`Server.SpotInstanceTermination`).
    Terminate,
}

impl InterruptionAction {
    /// The name clients use.
    pub fn as_str(self) -> &'static str {
        match self {
            InterruptionAction::Stop => "stop",
            InterruptionAction::Terminate => "terminate",
        }
    }

    /// The action it takes.
    pub fn action(self) -> Action {
        match self {
            InterruptionAction::Stop => Action::Stop,
            InterruptionAction::Terminate => Action::Terminate,
        }
    }

    /// The reason the server is given.
    pub fn reason(self) -> StateReason {
        match self {
            InterruptionAction::Stop => StateReason::SpotInstanceShutdown,
            InterruptionAction::Terminate => StateReason::SpotInstanceTermination,
        }
    }
}

/// Spot-style interruptions: a warning, then after the notice a stop or a termination.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interruption {
    /// How often each matched running server is interrupted.
    pub rate: Rate,
    /// Seconds between the warning and the interruption.
    pub notice_seconds: u32,
    /// What the interruption does.
    pub action: InterruptionAction,
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
                f64::from(mean_ms) + standard_normal(first, second) * f64::from(stddev_ms)
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
