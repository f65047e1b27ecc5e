//! `fleet budgets ...`: monthly amounts whose 50, 80 and 100 % are announced by events.

use comfy_table::Table;
use fleet_client::types;

use super::Session;
use crate::cli::{Budgets, Output};
use crate::exit::Exit;
use crate::output::{fields, line, money, or_dash, print, table, time};

pub async fn run(session: &Session, command: Budgets) -> Result<(), Exit> {
    match command {
        Budgets::Create {
            name,
            amount,
            label_selector,
            forecast,
        } => {
            let basis = forecast.then_some(types::BudgetBasis::Forecast);
            let request = session.client.create_budget().body_map(|body| {
                body.name(name)
                    .amount(amount)
                    .label_selector(label_selector)
                    .basis(basis)
            });
            match request.send().await {
                Ok(budget) => print(session.output, &*budget, |b| vec![budget_fields(b)]),
                Err(e) => Err(session.failed(e).await),
            }
        }
        Budgets::List => match session.client.list_budgets().send().await {
            Ok(list) => print(session.output, &*list, |l| vec![budgets_table(&l.items)]),
            Err(e) => Err(session.failed(e).await),
        },
        Budgets::Get(budget) => match session.client.get_budget().id(budget.id).send().await {
            Ok(budget) => print(session.output, &*budget, |b| vec![budget_fields(b)]),
            Err(e) => Err(session.failed(e).await),
        },
        Budgets::Delete(budget) => {
            match session.client.delete_budget().id(budget.id).send().await {
                // No body to print as JSON: the exit status says it.
                Ok(_) if session.output == Output::Json => Ok(()),
                Ok(_) => line(&format!("budget {} deleted", budget.id)).map(|_| ()),
                Err(e) => Err(session.failed(e).await),
            }
        }
    }
}

fn basis(budget: &types::Budget) -> &'static str {
    match budget.basis {
        types::BudgetBasis::Actual => "actual",
        types::BudgetBasis::Forecast => "forecast",
    }
}

fn announced(budget: &types::Budget) -> String {
    match budget.announced_percent {
        0 => "-".to_owned(),
        percent => format!("{percent} %"),
    }
}

fn budget_fields(budget: &types::Budget) -> Table {
    fields(vec![
        ("id", budget.id.to_string()),
        ("name", budget.name.to_string()),
        ("amount", money(&budget.amount)),
        (
            "selector",
            or_dash(budget.label_selector.clone().map(String::from)),
        ),
        ("basis", basis(budget).to_owned()),
        ("month", budget.month.clone()),
        ("actual", money(&budget.actual)),
        ("forecast", money(&budget.forecast)),
        ("announced", announced(budget)),
        ("created", time(&budget.created_at)),
    ])
}

fn budgets_table(budgets: &[types::Budget]) -> Table {
    let mut rows = table(&[
        "ID",
        "NAME",
        "AMOUNT",
        "SELECTOR",
        "BASIS",
        "ACTUAL",
        "FORECAST",
        "ANNOUNCED",
    ]);
    for budget in budgets {
        rows.add_row(vec![
            budget.id.to_string(),
            budget.name.to_string(),
            money(&budget.amount),
            or_dash(budget.label_selector.clone().map(String::from)),
            basis(budget).to_owned(),
            money(&budget.actual),
            money(&budget.forecast),
            announced(budget),
        ]);
    }
    rows
}
