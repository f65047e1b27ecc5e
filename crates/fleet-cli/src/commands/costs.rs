//! `fleet costs` (a report, the current month by default) and `fleet costs forecast`.

use comfy_table::Table;
use fleet_client::types;

use super::Session;
use crate::cli::{CostsArgs, CostsCommand};
use crate::exit::Exit;
use crate::output::{fields, money, print, table, time};

pub async fn run(session: &Session, args: CostsArgs) -> Result<(), Exit> {
    match args.command {
        Some(CostsCommand::Forecast { until }) => forecast(session, until).await,
        None => report(session, args).await,
    }
}

async fn report(session: &Session, args: CostsArgs) -> Result<(), Exit> {
    let (from, to) = match (args.from, args.to) {
        (Some(from), Some(to)) => (from, to),
        (from, to) => {
            // The current month on the service's clock, which may be virtual.
            let month = month(session).await?;
            (from.unwrap_or(month.from), to.unwrap_or(month.until))
        }
    };
    let mut request = session.client.get_costs().from(from).to(to);
    if let Some(granularity) = args.granularity {
        request = request.granularity(types::CostGranularity::from(granularity));
    }
    if let Some(group_by) = args.group_by {
        request = request.group_by(group_by);
    }
    match request.send().await {
        Ok(report) => print(session.output, &*report, |r| vec![report_table(r)]),
        Err(e) => Err(session.failed(e).await),
    }
}

async fn month(session: &Session) -> Result<types::CostForecast, Exit> {
    match session.client.get_cost_forecast().send().await {
        Ok(forecast) => Ok(forecast.into_inner()),
        Err(e) => Err(session.failed(e).await),
    }
}

async fn forecast(
    session: &Session,
    until: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<(), Exit> {
    let mut request = session.client.get_cost_forecast();
    if let Some(until) = until {
        request = request.until(until);
    }
    match request.send().await {
        Ok(forecast) => print(session.output, &*forecast, |f| {
            vec![fields(vec![
                ("from", time(&f.from)),
                ("now", time(&f.now)),
                ("until", time(&f.until)),
                ("actual", money(&f.actual)),
                ("projected", money(&f.projected)),
                ("total", money(&f.total)),
                ("hourly rate", money(&f.hourly_rate)),
                ("servers billing", f.billing_servers.to_string()),
            ])]
        }),
        Err(e) => Err(session.failed(e).await),
    }
}

/// A row per bucket and group with usage, then the total.
fn report_table(report: &types::CostReport) -> Table {
    let mut headers = vec!["BUCKET".to_owned()];
    headers.extend(report.group_by.iter().map(|k| k.to_uppercase()));
    headers.extend(["AMOUNT".to_owned(), "SECONDS".to_owned()]);
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
    let mut rows = table(&headers);
    for bucket in &report.buckets {
        for group in &bucket.groups {
            let mut row = vec![time(&bucket.start)];
            row.extend(
                group
                    .keys
                    .iter()
                    .map(|k| k.value.clone().unwrap_or_else(|| "-".to_owned())),
            );
            row.extend([money(&group.amount), group.seconds.to_string()]);
            rows.add_row(row);
        }
    }
    let mut total = vec!["TOTAL".to_owned()];
    total.extend(report.group_by.iter().map(|_| String::new()));
    total.extend([money(&report.total), report.total_seconds.to_string()]);
    rows.add_row(total);
    rows
}
