//! Budgets: an amount per calendar month (UTC) for a project's servers, or those of its
//! servers a label selector picks, and the thresholds whose crossing is announced once per
//! month by a `budget.threshold_crossed` event, as AWS Budgets alerts at a share of a
//! monthly limit.
//!
//! What a budget has announced is kept on it as the month and the highest threshold
//! crossed in it. A check compares what was spent (or is forecast) with the thresholds
//! above that mark and moves the mark with a guarded write, so of several replicas
//! checking at once one announces each crossing.

mod crossing;
mod stored;

pub use crossing::{BudgetCrossing, Crossed, StoredCrossing, crossings};
pub use stored::StoredBudget;

use chrono::{DateTime, Utc};

use crate::ids::{BudgetId, ProjectId};
use crate::money::Money;
use crate::selector::{Requirement, Selector, SelectorError};

/// The shares of a budget, in percent, whose crossing is announced.
pub const THRESHOLDS: [u8; 3] = [50, 80, 100];
/// The most budgets one project may have: every check reads each one's month.
pub const MAX_BUDGETS_PER_PROJECT: usize = 20;
/// The longest name, in characters.
pub const MAX_BUDGET_NAME_LEN: usize = 64;
/// The most label keys a budget's selector may name: its spending is read as a cost
/// report grouped by those keys, which takes at most this many.
pub const MAX_BUDGET_SELECTOR_KEYS: usize = crate::costs::MAX_GROUP_KEYS;
/// The largest amount, in micro-units: a billion units of currency a month.
pub const MAX_BUDGET_MICROS: i64 = 1_000_000_000 * 1_000_000;

/// What a budget compares with its thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BudgetBasis {
    /// What the month has cost so far.
    Actual,
    /// What the month will have cost at its end, at the rate of the servers billing now
    /// (`GET /costs/forecast`): a warning before the money is spent.
    Forecast,
}

impl BudgetBasis {
    /// The name used in the API and the stores.
    pub fn as_str(self) -> &'static str {
        match self {
            BudgetBasis::Actual => "actual",
            BudgetBasis::Forecast => "forecast",
        }
    }

    /// The basis called `name`, if any.
    pub fn parse(name: &str) -> Option<BudgetBasis> {
        [BudgetBasis::Actual, BudgetBasis::Forecast]
            .into_iter()
            .find(|b| b.as_str() == name)
    }
}

/// A budget as a client asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBudget {
    /// What it is for.
    pub name: String,
    /// The monthly amount, in micro-units.
    pub amount_micros: i64,
    /// Only the servers matching this selector count; all the project's when `None`.
    pub selector: Option<String>,
    /// What is compared with the thresholds; `Actual` when `None`.
    pub basis: Option<BudgetBasis>,
}

/// A stored budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Budget {
    /// Its id.
    pub id: BudgetId,
    /// The project whose servers it counts.
    pub project: ProjectId,
    /// What it is for.
    pub name: String,
    /// The amount per calendar month.
    pub amount: Money,
    /// The selector as the client wrote it, if any.
    pub selector_text: Option<String>,
    /// The selector, parsed.
    pub selector: Option<Selector>,
    /// What is compared with the thresholds.
    pub basis: BudgetBasis,
    /// The highest threshold announced, and in which month.
    pub crossed: Crossed,
    /// When it was made.
    pub created_at: DateTime<Utc>,
}

/// Why a budget was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadBudget {
    /// The amount is zero, negative or too large.
    #[error("amount must be more than 0 and at most {max} micros a month, got {0}", max = MAX_BUDGET_MICROS)]
    Amount(i64),
    /// The name is empty or too long.
    #[error("name must be 1 to {MAX_BUDGET_NAME_LEN} characters, got {0}")]
    Name(usize),
    /// The selector does not parse.
    #[error("invalid label selector: {0}")]
    Selector(#[from] SelectorError),
    /// The selector names more label keys than a budget can count by.
    #[error(
        "a budget's label selector may name at most {MAX_BUDGET_SELECTOR_KEYS} label keys, \
         this one names {0}"
    )]
    SelectorKeys(usize),
}

impl NewBudget {
    /// The checked budget, or why it is refused.
    pub fn check(self) -> Result<CheckedBudget, BadBudget> {
        let length = self.name.chars().count();
        if length == 0 || length > MAX_BUDGET_NAME_LEN {
            return Err(BadBudget::Name(length));
        }
        if !(1..=MAX_BUDGET_MICROS).contains(&self.amount_micros) {
            return Err(BadBudget::Amount(self.amount_micros));
        }
        let selector = Selector::parse_filter(self.selector.as_deref())?;
        let keys = selector.as_ref().map(selector_keys).unwrap_or_default();
        if keys.len() > MAX_BUDGET_SELECTOR_KEYS {
            return Err(BadBudget::SelectorKeys(keys.len()));
        }
        Ok(CheckedBudget {
            name: self.name,
            amount: Money::from_micros(self.amount_micros),
            selector_text: selector.as_ref().and(self.selector),
            selector,
            basis: self.basis.unwrap_or(BudgetBasis::Actual),
        })
    }
}

/// A budget that passed its checks, not yet stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedBudget {
    /// What it is for.
    pub name: String,
    /// The amount per calendar month.
    pub amount: Money,
    /// The selector as written.
    pub selector_text: Option<String>,
    /// The selector.
    pub selector: Option<Selector>,
    /// What is compared with the thresholds.
    pub basis: BudgetBasis,
}

/// The distinct label keys `selector` names, in their first order.
pub fn selector_keys(selector: &Selector) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for key in selector.requirements().iter().map(Requirement::key) {
        if !keys.iter().any(|known| known == key) {
            keys.push(key.to_owned());
        }
    }
    keys
}

#[cfg(test)]
mod tests;
