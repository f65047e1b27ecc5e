//! Which thresholds a budget's spending has newly crossed.

use super::{Budget, BudgetBasis, THRESHOLDS};
use crate::ids::BudgetId;
use crate::money::Money;

/// The highest threshold a budget has announced, and the month it did (months since
/// 1970-01, as [`crate::billing::month_index`] counts them). A new month starts from none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Crossed {
    /// The month.
    pub month: i32,
    /// The highest threshold announced in it, in percent; 0 for none.
    pub percent: u8,
}

/// What a `budget.threshold_crossed` event records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetCrossing {
    /// The budget.
    pub budget: BudgetId,
    /// The threshold crossed, in percent of the amount.
    pub threshold: u8,
    /// The budget's amount for the month.
    pub amount: Money,
    /// What was spent (or forecast, by the budget's basis) when the crossing was seen.
    pub spent: Money,
    /// Whether `spent` is the month so far or the forecast for it.
    pub basis: BudgetBasis,
}

/// The thresholds `spent` crosses in `month` that `budget` has not announced yet, lowest
/// first, and the mark to keep after announcing them; `None` when there is none.
pub fn crossings(budget: &Budget, month: i32, spent: Money) -> Option<(Crossed, Vec<u8>)> {
    let announced = match budget.crossed.month == month {
        true => budget.crossed.percent,
        false => 0,
    };
    let reached = |percent: u8| {
        i128::from(spent.micros()) * 100 >= i128::from(budget.amount.micros()) * i128::from(percent)
    };
    let new: Vec<u8> = THRESHOLDS
        .into_iter()
        .filter(|&t| t > announced && reached(t))
        .collect();
    let highest = *new.last()?;
    Some((
        Crossed {
            month,
            percent: highest,
        },
        new,
    ))
}
