//! Which thresholds a budget's spending has newly crossed.

use super::{Budget, BudgetBasis, THRESHOLDS};
use crate::event::EventSubject;
use crate::ids::{BudgetId, ServerId};
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

impl Crossed {
    /// The highest threshold announced in `month`: none in a month after the mark's.
    pub fn percent_in(self, month: i32) -> u8 {
        match self.month == month {
            true => self.percent,
            false => 0,
        }
    }
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

/// The columns a store keeps an event's crossing in, as read: all present for an event
/// about a budget, all absent for one about a server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredCrossing {
    /// The budget.
    pub budget: Option<BudgetId>,
    /// The threshold, in percent.
    pub threshold: Option<i64>,
    /// The amount, in micro-units.
    pub amount_micros: Option<i64>,
    /// What was spent or forecast, in micro-units.
    pub spent_micros: Option<i64>,
    /// `actual` or `forecast`.
    pub basis: Option<String>,
}

impl StoredCrossing {
    /// The columns of `crossing`, or all absent.
    pub fn of(crossing: Option<&BudgetCrossing>) -> StoredCrossing {
        let Some(c) = crossing else {
            return StoredCrossing::default();
        };
        StoredCrossing {
            budget: Some(c.budget),
            threshold: Some(i64::from(c.threshold)),
            amount_micros: Some(c.amount.micros()),
            spent_micros: Some(c.spent.micros()),
            basis: Some(c.basis.as_str().to_owned()),
        }
    }

    /// What an event with these columns and this server is about, or `None` when they
    /// do not make one subject (a store's row the domain cannot read).
    pub fn subject(self, server: Option<ServerId>) -> Option<EventSubject> {
        match (server, self) {
            (Some(server), StoredCrossing { budget: None, .. }) => {
                Some(EventSubject::Server(server))
            }
            (
                None,
                StoredCrossing {
                    budget: Some(budget),
                    threshold: Some(threshold),
                    amount_micros: Some(amount),
                    spent_micros: Some(spent),
                    basis: Some(basis),
                },
            ) => Some(EventSubject::Budget(BudgetCrossing {
                budget,
                threshold: THRESHOLDS
                    .into_iter()
                    .find(|t| i64::from(*t) == threshold)?,
                amount: Money::from_micros(amount),
                spent: Money::from_micros(spent),
                basis: BudgetBasis::parse(&basis)?,
            })),
            _ => None,
        }
    }
}

/// The thresholds `spent` crosses in `month` that `budget` has not announced yet, lowest
/// first, and the mark to keep after announcing them; `None` when there is none.
pub fn crossings(budget: &Budget, month: i32, spent: Money) -> Option<(Crossed, Vec<u8>)> {
    let announced = budget.crossed.percent_in(month);
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
