//! Budgets (`/budgets`) and what their crossings record.

use chrono::{DateTime, Utc};
use fleet_domain as domain;
use fleet_domain::budgets::THRESHOLDS;
use paperclip::actix::Apiv2Schema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Money;

/// What a budget compares with its thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Apiv2Schema)]
#[serde(rename_all = "snake_case")]
pub enum BudgetBasis {
    /// What the month has cost so far.
    Actual,
    /// What the month will have cost at its end, at the rate of the servers billing now
    /// (as `GET /costs/forecast` projects it): a warning before the money is spent.
    Forecast,
}

impl From<domain::budgets::BudgetBasis> for BudgetBasis {
    fn from(basis: domain::budgets::BudgetBasis) -> Self {
        match basis {
            domain::budgets::BudgetBasis::Actual => Self::Actual,
            domain::budgets::BudgetBasis::Forecast => Self::Forecast,
        }
    }
}

impl From<BudgetBasis> for domain::budgets::BudgetBasis {
    fn from(basis: BudgetBasis) -> Self {
        match basis {
            BudgetBasis::Actual => Self::Actual,
            BudgetBasis::Forecast => Self::Forecast,
        }
    }
}

/// A new budget.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Apiv2Schema)]
#[serde(deny_unknown_fields)]
pub struct CreateBudgetRequest {
    /// What it is for: 1 to 64 characters.
    pub name: String,
    /// The amount per calendar month (UTC) in USD, as a decimal string with at most six
    /// places, e.g. `"100"` or `"12.50"`; more than 0.
    pub amount: String,
    /// Only the servers whose labels match this selector (as they are labelled now) count;
    /// every server of the project when left out. At most 3 distinct label keys.
    #[serde(default, deserialize_with = "super::optional::not_null")]
    pub label_selector: Option<String>,
    /// What is compared with the thresholds; `actual` when left out.
    #[serde(default, deserialize_with = "super::optional::not_null")]
    pub basis: Option<BudgetBasis>,
}

/// A budget: a monthly amount whose 50, 80 and 100 % are each announced once a month by a
/// `budget.threshold_crossed` event, with what its month has cost so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Apiv2Schema)]
pub struct Budget {
    /// Its id.
    pub id: Uuid,
    /// The project whose servers it counts.
    pub project_id: Uuid,
    /// What it is for.
    pub name: String,
    /// The amount per calendar month (UTC).
    pub amount: Money,
    /// The selector of the servers it counts; absent when it counts them all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<String>,
    /// What is compared with the thresholds.
    pub basis: BudgetBasis,
    /// The shares of the amount, in percent, whose crossing is announced.
    pub thresholds: Vec<u8>,
    /// The month it is compared with now, `YYYY-MM` (UTC).
    pub month: String,
    /// What its servers have cost in the month so far.
    pub actual: Money,
    /// What they will have cost by the month's end at the rate of those billing now.
    pub forecast: Money,
    /// The highest threshold announced this month, in percent; 0 when none has been.
    pub announced_percent: u8,
    /// When it was made.
    pub created_at: DateTime<Utc>,
}

impl From<domain::service::BudgetStatus> for Budget {
    fn from(status: domain::service::BudgetStatus) -> Self {
        let budget = status.budget;
        Self {
            id: budget.id.as_uuid(),
            project_id: budget.project.as_uuid(),
            name: budget.name,
            amount: budget.amount.into(),
            label_selector: budget.selector_text,
            basis: budget.basis.into(),
            thresholds: THRESHOLDS.to_vec(),
            month: month_name(status.month),
            actual: status.actual.into(),
            forecast: status.forecast.into(),
            announced_percent: status.announced,
            created_at: budget.created_at,
        }
    }
}

/// The budgets the caller sees.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Apiv2Schema)]
pub struct BudgetList {
    /// The budgets, by project, oldest first (at most 20 per project).
    pub items: Vec<Budget>,
}

/// What a `budget.threshold_crossed` event crossed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Apiv2Schema)]
pub struct BudgetCrossing {
    /// The budget (it may have been deleted since).
    pub budget_id: Uuid,
    /// The threshold crossed, in percent of the amount: 50, 80 or 100.
    pub threshold_percent: u8,
    /// The budget's amount for the month.
    pub amount: Money,
    /// What was spent (or forecast, by `basis`) when the crossing was seen.
    pub spent: Money,
    /// Whether `spent` is the month so far or its forecast.
    pub basis: BudgetBasis,
}

impl From<&domain::budgets::BudgetCrossing> for BudgetCrossing {
    fn from(crossing: &domain::budgets::BudgetCrossing) -> Self {
        Self {
            budget_id: crossing.budget.as_uuid(),
            threshold_percent: crossing.threshold,
            amount: crossing.amount.into(),
            spent: crossing.spent.into(),
            basis: crossing.basis.into(),
        }
    }
}

/// `YYYY-MM` of a month counted since 1970-01.
fn month_name(index: i32) -> String {
    format!(
        "{:04}-{:02}",
        1970 + index.div_euclid(12),
        index.rem_euclid(12) + 1
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_named_by_year_and_month() {
        assert_eq!(month_name(0), "1970-01");
        assert_eq!(month_name(683), "2026-12");
        assert_eq!(month_name(684), "2027-01");
    }
}
