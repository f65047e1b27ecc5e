//! The problems of budgets.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use fleet_domain::budgets::BadBudget;
use fleet_domain::error::BudgetError;
use paperclip::actix::OperationModifier;
use paperclip::v2::models::{DefaultOperationRaw, DefaultSchemaRaw};
use paperclip::v2::schema::Apiv2Errors;

use super::document_problems;
use crate::problem::Problem;

impl From<BudgetError> for Problem {
    fn from(error: BudgetError) -> Self {
        let detail = error.to_string();
        match error {
            BudgetError::Forbidden(forbidden) => forbidden.into(),
            BudgetError::NotFound(_) => Problem::not_found(detail),
            BudgetError::TooMany { .. } => {
                Problem::new(StatusCode::CONFLICT, "too-many-budgets", detail)
            }
            BudgetError::Invalid(BadBudget::Selector(error)) => {
                Problem::invalid_label_selector(&error, detail)
            }
            BudgetError::Invalid(BadBudget::SelectorKeys(_)) => {
                Problem::unprocessable("invalid-label-selector", detail)
            }
            BudgetError::Invalid(BadBudget::Amount(_)) => {
                Problem::unprocessable("invalid-amount", detail)
            }
            BudgetError::Invalid(BadBudget::Name(_)) => {
                Problem::unprocessable("invalid-name", detail)
            }
            BudgetError::Store(e) => e.into(),
        }
    }
}

failure!(
    /// Why creating a budget failed.
    CreateBudgetFailure {
        400 => "The body is not valid JSON, or the label selector does not parse (`invalid-label-selector`).",
        403 => "Making budgets takes the `member` role.",
        408 => "The body did not arrive within 5 seconds.",
        409 => "The project has 20 budgets already (`too-many-budgets`).",
        413 => "The body is too large.",
        415 => "The body is not `application/json`.",
        422 => "The body has unknown or missing fields, an amount that is not a decimal of at most six places, or is zero, negative or over a billion (`invalid-amount`), a name empty or over 64 characters (`invalid-name`), or a selector naming more than 3 label keys (`invalid-label-selector`).",
        500 => "The service failed.",
        503 => "The store is unavailable, overloaded or contended; retry after `Retry-After` seconds.",
    }
);

failure!(
    /// Why listing budgets failed.
    BudgetsFailure {
        500 => "The service failed.",
        503 => "The store is unavailable, overloaded or contended; retry after `Retry-After` seconds.",
    }
);

failure!(
    /// Why reading a budget failed.
    BudgetFailure {
        400 => "The id is not a UUID.",
        404 => "No budget of the caller's project has this id.",
        500 => "The service failed.",
        503 => "The store is unavailable, overloaded or contended; retry after `Retry-After` seconds.",
    }
);

failure!(
    /// Why deleting a budget failed.
    DeleteBudgetFailure {
        400 => "The id is not a UUID.",
        403 => "Deleting budgets takes the `member` role.",
        404 => "No budget of the caller's project has this id.",
        500 => "The service failed.",
        503 => "The store is unavailable, overloaded or contended; retry after `Retry-After` seconds.",
    }
);
