//! Billing policies as the catalog and a server's billing show them.

use fleet_domain::billing::{self, RunCharge};
use paperclip::actix::Apiv2Schema;
use serde::Serialize;

use super::Money;

/// The billing rules of real clouds fleet can apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Apiv2Schema)]
#[serde(rename_all = "snake_case")]
pub enum BillingPolicyName {
    /// To the second, each run at least `minimum_seconds` and `minimum_amount` (EC2 Linux;
    /// DigitalOcean since 2026).
    PerSecond,
    /// Every started hour of a run billed whole.
    PerHour,
    /// Every started hour billed whole, a calendar month (UTC) costing at most
    /// `monthly_cap` (Hetzner; DigitalOcean until 2025).
    HourlyCappedMonthly,
}

/// How a server's time is charged. A server keeps the policy of its type when it was
/// provisioned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Apiv2Schema)]
pub struct BillingPolicy {
    /// Which policy.
    pub policy: BillingPolicyName,
    /// `per_second`: seconds every run is billed at least.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minimum_seconds: Option<i64>,
    /// `per_second`: amount every run is billed at least.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minimum_amount: Option<Money>,
    /// `hourly_capped_monthly`: the most a server costs in a calendar month (UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monthly_cap: Option<Money>,
    /// Percent of the hourly price billed, to the second, while the server is stopping,
    /// stopped or starting; absent when that time is free (as on EC2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_percent: Option<u8>,
}

impl From<billing::BillingPolicy> for BillingPolicy {
    fn from(policy: billing::BillingPolicy) -> Self {
        let (name, minimum_seconds, minimum_amount, monthly_cap) = match policy.run {
            RunCharge::PerSecond {
                minimum_seconds,
                minimum_amount,
            } => (
                BillingPolicyName::PerSecond,
                Some(minimum_seconds),
                Some(minimum_amount.into()),
                None,
            ),
            RunCharge::PerHour => (BillingPolicyName::PerHour, None, None, None),
            RunCharge::HourlyCappedMonthly { monthly_cap } => (
                BillingPolicyName::HourlyCappedMonthly,
                None,
                None,
                Some(monthly_cap.into()),
            ),
        };
        Self {
            policy: name,
            minimum_seconds,
            minimum_amount,
            monthly_cap,
            stopped_percent: policy.stopped_percent,
        }
    }
}
