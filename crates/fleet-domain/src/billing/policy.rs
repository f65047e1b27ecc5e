//! Billing policies: how real clouds turn a server's time into money.
//!
//! A policy is named in the catalog per server type (with a catalog-wide default) and kept by
//! each server for its whole life, like its hourly price: a catalog change bills new servers
//! only. The arithmetic lives in [`super`]; this module holds what a policy is, how a catalog
//! names it, and the text a store keeps.

use serde::Deserialize;

use crate::money::Money;

/// Seconds every run is billed at least under the default policy, as EC2 bills Linux.
pub const MINIMUM_RUN_SECONDS: i64 = 60;

/// The hours of a month DigitalOcean capped hourly billing at (28 days × 24).
pub const DEFAULT_CAP_HOURS: i64 = 672;

/// How a run (a stretch of `running`) is charged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunCharge {
    /// To the second, each run at least `minimum_seconds` and at least `minimum_amount`
    /// (EC2 Linux: 60 s; DigitalOcean since 2026: 60 s or one cent).
    PerSecond {
        /// Seconds every run is billed at least.
        minimum_seconds: i64,
        /// Amount every run is billed at least.
        minimum_amount: Money,
    },
    /// Every started hour of a run billed whole.
    PerHour,
    /// Every started hour billed whole, a calendar month (UTC) costing at most `monthly_cap`
    /// (Hetzner; DigitalOcean until 2025 with 672 × the hourly price).
    HourlyCappedMonthly {
        /// The most one server costs in a calendar month.
        monthly_cap: Money,
    },
}

/// A server's billing policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BillingPolicy {
    /// How running time is charged.
    pub run: RunCharge,
    /// Percent of the hourly price billed while the server is not running but not yet
    /// terminated (stopping, stopped, starting), to the second; `None` bills nothing then,
    /// as EC2 does. Hetzner and DigitalOcean bill stopped servers in full (100).
    pub stopped_percent: Option<u8>,
}

impl Default for BillingPolicy {
    /// EC2 Linux: per second with a 60-second minimum; stopped servers cost nothing.
    fn default() -> Self {
        Self {
            run: RunCharge::PerSecond {
                minimum_seconds: MINIMUM_RUN_SECONDS,
                minimum_amount: Money::ZERO,
            },
            stopped_percent: None,
        }
    }
}

impl BillingPolicy {
    /// The monthly cap, if the policy has one.
    pub fn monthly_cap(&self) -> Option<Money> {
        match self.run {
            RunCharge::HourlyCappedMonthly { monthly_cap } => Some(monthly_cap),
            _ => None,
        }
    }

    /// The hourly price while stopped, if stopped time is billed: the percentage of
    /// `hourly`, rounded down to a micro-unit.
    pub fn stopped_price(&self, hourly: Money) -> Option<Money> {
        self.stopped_percent
            .map(|percent| Money::from_micros(hourly.micros() * i64::from(percent) / 100))
    }

    /// The text a store keeps, e.g. `per_second:60:0`, `hourly_capped_monthly:7795200+stopped:100`.
    /// Stores read the stopped percent in SQL as the number after `+stopped:` (the cost
    /// rate gauge), so that part keeps its form.
    pub fn encode(&self) -> String {
        let run = match self.run {
            RunCharge::PerSecond {
                minimum_seconds,
                minimum_amount,
            } => format!("per_second:{minimum_seconds}:{}", minimum_amount.micros()),
            RunCharge::PerHour => "per_hour".to_owned(),
            RunCharge::HourlyCappedMonthly { monthly_cap } => {
                format!("hourly_capped_monthly:{}", monthly_cap.micros())
            }
        };
        match self.stopped_percent {
            Some(percent) => format!("{run}+stopped:{percent}"),
            None => run,
        }
    }

    /// The policy a store kept, if the text is one [`BillingPolicy::encode`] wrote.
    pub fn decode(text: &str) -> Option<BillingPolicy> {
        let (run, stopped) = match text.split_once("+stopped:") {
            Some((run, percent)) => (run, Some(percent.parse::<u8>().ok()?)),
            None => (text, None),
        };
        let mut parts = run.split(':');
        let run = match (parts.next()?, parts.next(), parts.next(), parts.next()) {
            ("per_second", Some(seconds), Some(micros), None) => RunCharge::PerSecond {
                minimum_seconds: seconds.parse().ok()?,
                minimum_amount: Money::from_micros(micros.parse().ok()?),
            },
            ("per_hour", None, None, None) => RunCharge::PerHour,
            ("hourly_capped_monthly", Some(cap), None, None) => RunCharge::HourlyCappedMonthly {
                monthly_cap: Money::from_micros(cap.parse().ok()?),
            },
            _ => return None,
        };
        let policy = BillingPolicy {
            run,
            stopped_percent: stopped,
        };
        policy.check().ok().map(|()| policy)
    }

    fn check(&self) -> Result<(), &'static str> {
        match self.run {
            RunCharge::PerSecond {
                minimum_seconds,
                minimum_amount,
            } => {
                if !(0..=86_400).contains(&minimum_seconds) {
                    return Err("minimum_seconds must be between 0 and 86400");
                }
                if minimum_amount.micros() < 0 {
                    return Err("minimum_micros must not be negative");
                }
            }
            RunCharge::PerHour => {}
            RunCharge::HourlyCappedMonthly { monthly_cap } => {
                if monthly_cap.micros() < 0 {
                    return Err("monthly_cap_micros must not be negative");
                }
            }
        }
        match self.stopped_percent {
            Some(percent) if !(1..=100).contains(&percent) => {
                Err("stopped_percent must be between 1 and 100")
            }
            _ => Ok(()),
        }
    }
}

/// The policies a catalog can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyName {
    /// [`RunCharge::PerSecond`].
    PerSecond,
    /// [`RunCharge::PerHour`].
    PerHour,
    /// [`RunCharge::HourlyCappedMonthly`].
    HourlyCappedMonthly,
}

/// A policy as a catalog file names it, e.g.
/// `billing = { policy = "hourly_capped_monthly", stopped_percent = 100 }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySpec {
    /// Which policy.
    pub policy: PolicyName,
    /// `per_second` only: seconds every run is billed at least (default 60).
    #[serde(default)]
    pub minimum_seconds: Option<i64>,
    /// `per_second` only: micro-units every run is billed at least (default 0).
    #[serde(default)]
    pub minimum_micros: Option<i64>,
    /// `hourly_capped_monthly` only: the monthly cap in micro-units (default 672 × the
    /// type's hourly price).
    #[serde(default)]
    pub monthly_cap_micros: Option<i64>,
    /// Any policy: percent of the price billed while stopped (1-100; unset bills nothing).
    #[serde(default)]
    pub stopped_percent: Option<u8>,
}

impl Default for PolicySpec {
    fn default() -> Self {
        Self {
            policy: PolicyName::PerSecond,
            minimum_seconds: None,
            minimum_micros: None,
            monthly_cap_micros: None,
            stopped_percent: None,
        }
    }
}

impl PolicySpec {
    /// The policy for a type priced `hourly`, or what is wrong with the spec.
    pub fn resolve(&self, hourly: Money) -> Result<BillingPolicy, &'static str> {
        let foreign = |given: Option<i64>, field: &'static str| match given {
            Some(_) => Err(field),
            None => Ok(()),
        };
        let per_second_only = || {
            foreign(
                self.minimum_seconds,
                "minimum_seconds is for per_second only",
            )?;
            foreign(self.minimum_micros, "minimum_micros is for per_second only")
        };
        let capped_only = || {
            foreign(
                self.monthly_cap_micros,
                "monthly_cap_micros is for hourly_capped_monthly only",
            )
        };
        let run = match self.policy {
            PolicyName::PerSecond => {
                capped_only()?;
                RunCharge::PerSecond {
                    minimum_seconds: self.minimum_seconds.unwrap_or(MINIMUM_RUN_SECONDS),
                    minimum_amount: Money::from_micros(self.minimum_micros.unwrap_or(0)),
                }
            }
            PolicyName::PerHour => {
                per_second_only()?;
                capped_only()?;
                RunCharge::PerHour
            }
            PolicyName::HourlyCappedMonthly => {
                per_second_only()?;
                RunCharge::HourlyCappedMonthly {
                    monthly_cap: Money::from_micros(
                        self.monthly_cap_micros
                            .unwrap_or(hourly.micros().saturating_mul(DEFAULT_CAP_HOURS)),
                    ),
                }
            }
        };
        let policy = BillingPolicy {
            run,
            stopped_percent: self.stopped_percent,
        };
        policy.check().map(|()| policy)
    }
}
