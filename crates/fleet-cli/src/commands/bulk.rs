//! `fleet servers stop|start|reboot|terminate -l SELECTOR`: one action on every server a
//! selector picks, and each server's outcome.

use comfy_table::Table;
use fleet_client::types;

use super::Session;
use crate::cli::Output;
use crate::exit::Exit;
use crate::output::{print, table};

/// Asks for `action` on every server `selector` picks and prints each outcome; exits 1
/// (the API refused part of it) when any server was a conflict or failed.
pub async fn act(
    session: &Session,
    selector: types::BulkActionRequestLabelSelector,
    action: types::Action,
    key: &str,
) -> Result<(), Exit> {
    let request = session
        .client
        .act_on_servers()
        .idempotency_key(key)
        .body_map(|body| body.label_selector(selector).action(action));
    let report = match request.send().await {
        Ok(report) => report.into_inner(),
        Err(e) => return Err(session.failed_keyed(e, key).await),
    };
    print(session.output, &report, |r| vec![outcomes_table(r)])?;
    let counts = &report.counts;
    if session.output == Output::Table {
        eprintln!(
            "{action}: {} matched: {} accepted, {} no-op, {} conflict, {} failed",
            report.matched, counts.accepted, counts.noop, counts.conflict, counts.failed
        );
    }
    if counts.conflict + counts.failed > 0 {
        return Err(Exit::refused(format!(
            "{action} was refused on {} of {} servers (see each server's problem)",
            counts.conflict + counts.failed,
            report.matched
        )));
    }
    Ok(())
}

fn outcomes_table(report: &types::BulkActionReport) -> Table {
    let mut table = table(&["ID", "NAME", "OUTCOME", "STATE", "DETAIL"]);
    for result in &report.results {
        let detail = match (&result.action, &result.problem) {
            (Some(action), _) => format!("action {}", action.id),
            (None, Some(problem)) => problem.detail.clone(),
            (None, None) => "-".to_owned(),
        };
        table.add_row(vec![
            result.server_id.to_string(),
            result.name.clone(),
            result.outcome.to_string(),
            result.state.to_string(),
            detail,
        ]);
    }
    table
}
