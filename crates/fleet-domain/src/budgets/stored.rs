//! A budget as a store keeps it: plain columns, read back through the checks a client's
//! budget passes, so a row the domain cannot read is reported rather than trusted.

use chrono::{DateTime, Utc};

use super::{Budget, BudgetBasis, Crossed};
use crate::ids::{BudgetId, ProjectId};
use crate::money::Money;
use crate::ports::BadRow;
use crate::selector::Selector;

/// The columns of a stored budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBudget {
    /// Its id.
    pub id: BudgetId,
    /// Its project.
    pub project: ProjectId,
    /// Its name.
    pub name: String,
    /// The monthly amount in micro-units.
    pub amount_micros: i64,
    /// The selector as written.
    pub label_selector: Option<String>,
    /// `actual` or `forecast`.
    pub basis: String,
    /// The month of the highest threshold announced.
    pub crossed_month: i32,
    /// That threshold, in percent.
    pub crossed_percent: i64,
    /// When it was made.
    pub created_at: DateTime<Utc>,
}

impl StoredBudget {
    /// The columns of `budget`.
    pub fn of(budget: &Budget) -> StoredBudget {
        StoredBudget {
            id: budget.id,
            project: budget.project,
            name: budget.name.clone(),
            amount_micros: budget.amount.micros(),
            label_selector: budget.selector_text.clone(),
            basis: budget.basis.as_str().to_owned(),
            crossed_month: budget.crossed.month,
            crossed_percent: i64::from(budget.crossed.percent),
            created_at: budget.created_at,
        }
    }

    /// The budget these columns hold.
    pub fn into_budget(self) -> Result<Budget, BadRow> {
        let selector = self
            .label_selector
            .as_deref()
            .map(|text| {
                Selector::parse(text).map_err(|_| BadRow::new("budgets.label_selector", text))
            })
            .transpose()?;
        let basis = BudgetBasis::parse(&self.basis)
            .ok_or_else(|| BadRow::new("budgets.basis", &self.basis))?;
        let percent = u8::try_from(self.crossed_percent)
            .ok()
            .filter(|p| *p <= 100)
            .ok_or_else(|| BadRow::new("budgets.crossed_percent", self.crossed_percent))?;
        if self.amount_micros <= 0 {
            return Err(BadRow::new("budgets.amount_micros", self.amount_micros));
        }
        Ok(Budget {
            id: self.id,
            project: self.project,
            name: self.name,
            amount: Money::from_micros(self.amount_micros),
            selector_text: self.label_selector,
            selector,
            basis,
            crossed: Crossed {
                month: self.crossed_month,
                percent,
            },
            created_at: self.created_at,
        })
    }
}
