//! A fault rule, and the checks a client's rule passes before it is kept.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::faults::effect::{
    Capacity, DEFAULT_NOTICE_SECONDS, ErrorFault, ErrorStatus, Factor, FaultEffect, Interruption,
    InterruptionAction, Latency, MAX_CAPACITY_CAP, MAX_LATENCY_MS, MAX_NOTICE_SECONDS,
    MAX_PROBLEM_TYPE_CHARS, MAX_RATE_PER_HOUR, MAX_RETRY_AFTER_SECONDS, MAX_SLOW_FACTOR, Rate,
};
use crate::faults::matcher::{FaultMatch, FaultTarget, MAX_MATCH_VALUES};
use crate::faults::operation::Operation;
use crate::ids::{FaultRuleId, ProjectId};
use crate::selector::Selector;

/// The largest `max_count` a rule may have.
pub const MAX_FAULT_COUNT: u64 = 1_000_000_000;

/// A fault rule as kept.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultRule {
    /// Its id.
    pub id: FaultRuleId,
    /// The project it applies to; `None` for every project.
    pub project: Option<ProjectId>,
    /// Which requests it applies to.
    pub matcher: FaultMatch,
    /// What it does to them.
    pub effect: FaultEffect,
    /// At most this many firings, across every replica.
    pub max_count: Option<u64>,
    /// How often it has fired.
    pub fired: u64,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// The rule as the client gave it (ids and counts apart): what the store keeps.
    pub spec: FaultRuleDraft,
}

impl FaultRule {
    /// Whether it has fired as often as it may (as last read: the store decides).
    pub fn spent(&self) -> bool {
        self.max_count.is_some_and(|max| self.fired >= max)
    }

    /// Whether the rule may fire on `operation` on `target` at `at`, before its draw: its
    /// project, its count (as last read), its effect's operations and its match.
    pub fn hits(&self, operation: Operation, target: &FaultTarget<'_>, at: DateTime<Utc>) -> bool {
        self.project.is_none_or(|p| p == target.project())
            && !self.spent()
            && self.effect.applicable_operations().contains(&operation)
            && self.matcher.applies(operation, target, at)
    }
}

/// A rule as a client sends it, unchecked. Also the form the stores keep (as JSON), so a
/// stored rule is read back through the same checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultRuleDraft {
    /// Operation names, `*` for every one; every one when empty.
    #[serde(default)]
    pub operations: Vec<String>,
    /// Region names.
    #[serde(default)]
    pub regions: Vec<String>,
    /// Server type names.
    #[serde(default)]
    pub server_types: Vec<String>,
    /// A label selector.
    #[serde(default)]
    pub label_selector: Option<String>,
    /// 0 to 1; 1 when absent.
    #[serde(default)]
    pub probability: Option<f64>,
    /// Not before.
    #[serde(default)]
    pub starts_at: Option<DateTime<Utc>>,
    /// Only before.
    #[serde(default)]
    pub ends_at: Option<DateTime<Utc>>,
    /// The effect.
    pub effect: EffectDraft,
}

/// An effect as a client sends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EffectDraft {
    /// An error.
    Error {
        /// The HTTP status.
        status: i64,
        /// The problem type's slug; the status's usual one when absent.
        #[serde(default)]
        problem_type: Option<String>,
        /// Seconds for `Retry-After`.
        #[serde(default)]
        retry_after_seconds: Option<i64>,
    },
    /// Added latency.
    Latency(LatencyDraft),
    /// Capacity refusals.
    Capacity {
        /// Refuse only once this many matching servers hold capacity.
        #[serde(default)]
        max_running: Option<i64>,
        /// Seconds for `Retry-After`.
        #[serde(default)]
        retry_after_seconds: Option<i64>,
    },
    /// Failed launches.
    LaunchFailure,
    /// Slow transitions.
    Slow(FactorDraft),
    /// Stuck transitions.
    Stuck,
    /// Spot-style interruptions.
    Interruption {
        /// Expected interruptions per running server and hour.
        rate_per_hour: f64,
        /// Seconds of notice; 120 when absent.
        #[serde(default)]
        notice_seconds: Option<i64>,
        /// `stop` or `terminate`; `terminate` when absent.
        #[serde(default)]
        action: Option<String>,
    },
    /// Host failures.
    HostFailure {
        /// Expected failures per running server and hour.
        rate_per_hour: f64,
    },
}

/// A slow transition's factor as a client sends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "distribution", rename_all = "snake_case")]
pub enum FactorDraft {
    /// Always this factor.
    Fixed {
        /// The factor.
        factor: f64,
    },
    /// Uniformly between two factors.
    Uniform {
        /// The smallest.
        min_factor: f64,
        /// The largest.
        max_factor: f64,
    },
    /// Normally distributed.
    Normal {
        /// The mean.
        mean_factor: f64,
        /// The standard deviation.
        stddev_factor: f64,
    },
}

/// A latency as a client sends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "distribution", rename_all = "snake_case")]
pub enum LatencyDraft {
    /// Always this long.
    Fixed {
        /// Milliseconds.
        ms: i64,
    },
    /// Uniformly between two bounds.
    Uniform {
        /// Milliseconds.
        min_ms: i64,
        /// Milliseconds.
        max_ms: i64,
    },
    /// Normally distributed.
    Normal {
        /// Milliseconds.
        mean_ms: i64,
        /// Milliseconds.
        stddev_ms: i64,
    },
}

/// A rule refused: the field at fault and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct InvalidFaultRule {
    /// The field, as the API names it (`effect.status`, `probability`, …).
    pub field: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

fn invalid(field: &'static str, reason: impl Into<String>) -> InvalidFaultRule {
    InvalidFaultRule {
        field,
        reason: reason.into(),
    }
}

impl FaultRuleDraft {
    /// The matcher and effect it describes, or the first field that is wrong. Region and
    /// type names are checked against the catalog by the use case, which knows it.
    pub fn check(&self) -> Result<(FaultMatch, FaultEffect), InvalidFaultRule> {
        let matcher = FaultMatch {
            operations: operations(&self.operations)?,
            regions: names("regions", &self.regions)?,
            server_types: names("server_types", &self.server_types)?,
            label_selector: match &self.label_selector {
                None => None,
                Some(text) => Some((
                    text.clone(),
                    Selector::parse(text).map_err(|e| invalid("label_selector", e.to_string()))?,
                )),
            },
            probability: probability(self.probability)?,
            starts_at: self.starts_at,
            ends_at: self.ends_at,
        };
        if let (Some(start), Some(end)) = (self.starts_at, self.ends_at)
            && end <= start
        {
            return Err(invalid("ends_at", "must be after starts_at"));
        }
        let effect = self.effect.check()?;
        applicable(&matcher, &effect, self.probability.is_some())?;
        Ok((matcher, effect))
    }
}

/// Refuses a match its effect cannot honour: operations it never sees, or a probability
/// where a rate decides.
fn applicable(
    matcher: &FaultMatch,
    effect: &FaultEffect,
    probability_given: bool,
) -> Result<(), InvalidFaultRule> {
    let allowed = effect.applicable_operations();
    if let Some(ops) = &matcher.operations
        && let Some(op) = ops.iter().find(|op| !allowed.contains(op))
    {
        let names: Vec<&str> = allowed.iter().map(|op| op.as_str()).collect();
        let reason = if names.is_empty() {
            format!(
                "a {} rule hits running servers, not operations: leave operations out",
                effect.kind()
            )
        } else {
            format!(
                "a {} rule cannot hit '{op}'; it hits {}",
                effect.kind(),
                names.join(", ")
            )
        };
        return Err(invalid("operations", reason));
    }
    if probability_given && effect.is_scheduled() {
        return Err(invalid(
            "probability",
            format!(
                "a {} rule is drawn by its effect's rate_per_hour: leave probability out",
                effect.kind()
            ),
        ));
    }
    Ok(())
}

fn operations(names: &[String]) -> Result<Option<Vec<Operation>>, InvalidFaultRule> {
    if names.is_empty() || names.iter().any(|n| n == "*") {
        return Ok(None);
    }
    let mut ops = Vec::with_capacity(names.len());
    for name in names {
        let op = Operation::parse(name).ok_or_else(|| {
            let known: Vec<&str> = Operation::ALL.iter().map(|op| op.as_str()).collect();
            invalid(
                "operations",
                format!("unknown operation '{name}'; known: *, {}", known.join(", ")),
            )
        })?;
        if !ops.contains(&op) {
            ops.push(op);
        }
    }
    Ok(Some(ops))
}

fn names(field: &'static str, values: &[String]) -> Result<Vec<String>, InvalidFaultRule> {
    if values.len() > MAX_MATCH_VALUES {
        return Err(invalid(field, format!("at most {MAX_MATCH_VALUES} names")));
    }
    if values.iter().any(|v| v.is_empty()) {
        return Err(invalid(field, "a name must not be empty"));
    }
    Ok(values.to_vec())
}

fn probability(given: Option<f64>) -> Result<f64, InvalidFaultRule> {
    match given {
        None => Ok(1.0),
        Some(p) if (0.0..=1.0).contains(&p) => Ok(p),
        Some(p) => Err(invalid(
            "probability",
            format!("must be between 0 and 1, got {p}"),
        )),
    }
}

impl EffectDraft {
    fn check(&self) -> Result<FaultEffect, InvalidFaultRule> {
        match self {
            EffectDraft::Error {
                status,
                problem_type,
                retry_after_seconds,
            } => {
                let status = u16::try_from(*status)
                    .ok()
                    .and_then(ErrorStatus::from_code)
                    .ok_or_else(|| {
                        invalid(
                            "effect.status",
                            format!("must be one of 429, 500, 502, 503, 504, got {status}"),
                        )
                    })?;
                let problem_type = match problem_type {
                    None => status.default_problem_type().to_owned(),
                    Some(slug) if is_slug(slug) => slug.clone(),
                    Some(_) => {
                        return Err(invalid(
                            "effect.problem_type",
                            format!(
                                "must be 1 to {MAX_PROBLEM_TYPE_CHARS} lowercase letters, \
                                 digits and inner hyphens"
                            ),
                        ));
                    }
                };
                let retry_after_seconds = retry_after_seconds
                    .map(|s| bounded("effect.retry_after_seconds", s, 0, MAX_RETRY_AFTER_SECONDS))
                    .transpose()?;
                Ok(FaultEffect::Error(ErrorFault {
                    status,
                    problem_type,
                    retry_after_seconds,
                }))
            }
            EffectDraft::Latency(latency) => Ok(FaultEffect::Latency(latency.check()?)),
            EffectDraft::Capacity {
                max_running,
                retry_after_seconds,
            } => Ok(FaultEffect::Capacity(Capacity {
                max_running: max_running
                    .map(|n| bounded("effect.max_running", n, 0, MAX_CAPACITY_CAP))
                    .transpose()?,
                retry_after_seconds: retry_after_seconds
                    .map(|s| bounded("effect.retry_after_seconds", s, 0, MAX_RETRY_AFTER_SECONDS))
                    .transpose()?,
            })),
            EffectDraft::LaunchFailure => Ok(FaultEffect::LaunchFailure),
            EffectDraft::Slow(factor) => Ok(FaultEffect::Slow(factor.check()?)),
            EffectDraft::Stuck => Ok(FaultEffect::Stuck),
            EffectDraft::Interruption {
                rate_per_hour,
                notice_seconds,
                action,
            } => Ok(FaultEffect::Interruption(Interruption {
                rate: rate(*rate_per_hour)?,
                notice_seconds: notice_seconds
                    .map(|s| bounded("effect.notice_seconds", s, 0, MAX_NOTICE_SECONDS))
                    .transpose()?
                    .unwrap_or(DEFAULT_NOTICE_SECONDS),
                action: match action.as_deref() {
                    None | Some("terminate") => InterruptionAction::Terminate,
                    Some("stop") => InterruptionAction::Stop,
                    Some(other) => {
                        return Err(invalid(
                            "effect.action",
                            format!("must be stop or terminate, got '{other}'"),
                        ));
                    }
                },
            })),
            EffectDraft::HostFailure { rate_per_hour } => {
                Ok(FaultEffect::HostFailure(rate(*rate_per_hour)?))
            }
        }
    }
}

fn rate(per_hour: f64) -> Result<Rate, InvalidFaultRule> {
    if per_hour > 0.0 && per_hour <= MAX_RATE_PER_HOUR {
        Ok(Rate { per_hour })
    } else {
        Err(invalid(
            "effect.rate_per_hour",
            format!("must be above 0 and at most {MAX_RATE_PER_HOUR}, got {per_hour}"),
        ))
    }
}

impl FactorDraft {
    fn check(&self) -> Result<Factor, InvalidFaultRule> {
        let factor = |field: &'static str, value: f64| {
            if (1.0..=MAX_SLOW_FACTOR).contains(&value) {
                Ok(value)
            } else {
                Err(invalid(
                    field,
                    format!("must be between 1 and {MAX_SLOW_FACTOR}, got {value}"),
                ))
            }
        };
        match *self {
            FactorDraft::Fixed { factor: value } => {
                Ok(Factor::Fixed(factor("effect.factor", value)?))
            }
            FactorDraft::Uniform {
                min_factor,
                max_factor,
            } => {
                let min = factor("effect.min_factor", min_factor)?;
                let max = factor("effect.max_factor", max_factor)?;
                if max < min {
                    return Err(invalid("effect.max_factor", "must be at least min_factor"));
                }
                Ok(Factor::Uniform(min, max))
            }
            FactorDraft::Normal {
                mean_factor,
                stddev_factor,
            } => {
                let mean = factor("effect.mean_factor", mean_factor)?;
                if !(0.0..=MAX_SLOW_FACTOR).contains(&stddev_factor) {
                    return Err(invalid(
                        "effect.stddev_factor",
                        format!("must be between 0 and {MAX_SLOW_FACTOR}, got {stddev_factor}"),
                    ));
                }
                Ok(Factor::Normal(mean, stddev_factor))
            }
        }
    }
}

impl LatencyDraft {
    fn check(&self) -> Result<Latency, InvalidFaultRule> {
        let ms = |field, value| bounded(field, value, 0, MAX_LATENCY_MS);
        match *self {
            LatencyDraft::Fixed { ms: value } => Ok(Latency::Fixed {
                ms: ms("effect.ms", value)?,
            }),
            LatencyDraft::Uniform { min_ms, max_ms } => {
                let (min_ms, max_ms) = (ms("effect.min_ms", min_ms)?, ms("effect.max_ms", max_ms)?);
                if max_ms < min_ms {
                    return Err(invalid("effect.max_ms", "must be at least min_ms"));
                }
                Ok(Latency::Uniform { min_ms, max_ms })
            }
            LatencyDraft::Normal { mean_ms, stddev_ms } => Ok(Latency::Normal {
                mean_ms: ms("effect.mean_ms", mean_ms)?,
                stddev_ms: ms("effect.stddev_ms", stddev_ms)?,
            }),
        }
    }
}

fn bounded(field: &'static str, value: i64, min: u32, max: u32) -> Result<u32, InvalidFaultRule> {
    u32::try_from(value)
        .ok()
        .filter(|v| (min..=max).contains(v))
        .ok_or_else(|| {
            invalid(
                field,
                format!("must be between {min} and {max}, got {value}"),
            )
        })
}

/// A problem type slug: lowercase ASCII letters and digits, hyphens inside.
fn is_slug(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= MAX_PROBLEM_TYPE_CHARS
        && !text.starts_with('-')
        && !text.ends_with('-')
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// A rule's `max_count` as a client gives it: at least 1, at most [`MAX_FAULT_COUNT`].
pub fn check_max_count(given: Option<i64>) -> Result<Option<u64>, InvalidFaultRule> {
    given
        .map(|count| {
            u64::try_from(count)
                .ok()
                .filter(|c| (1..=MAX_FAULT_COUNT).contains(c))
                .ok_or_else(|| {
                    invalid(
                        "max_count",
                        format!("must be between 1 and {MAX_FAULT_COUNT}, got {count}"),
                    )
                })
        })
        .transpose()
}
