//! Printing results: the API's JSON, or tables that fit the terminal.

use std::io::Write;

use chrono::{DateTime, SecondsFormat, Utc};
use comfy_table::{ContentArrangement, Table, presets};
use fleet_client::types;
use serde::Serialize;

use crate::cli::Output;
use crate::exit::Exit;

/// Prints `value` as JSON, or as the tables `tables` makes of it.
pub fn print<T: Serialize>(
    output: Output,
    value: &T,
    tables: impl FnOnce(&T) -> Vec<Table>,
) -> Result<(), Exit> {
    let text = match output {
        Output::Json => serde_json::to_string_pretty(value)
            .map_err(|e| Exit::unreachable(format!("cannot print the answer: {e}")))?,
        Output::Table => {
            let printed: Vec<String> = tables(value).iter().map(ToString::to_string).collect();
            printed.join("\n\n")
        }
    };
    line(&text).map(|_| ())
}

/// Whether stdout still has a reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    Reading,
    /// A reader that stopped early (`| head`) has what it wanted.
    Gone,
}

/// Prints `text` and a newline at once, for a reader following along (`| jq`, a log).
pub fn line(text: &str) -> Result<Reader, Exit> {
    let mut stdout = std::io::stdout().lock();
    match writeln!(stdout, "{text}").and_then(|()| stdout.flush()) {
        Ok(()) => Ok(Reader::Reading),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(Reader::Gone),
        Err(e) => Err(Exit::unreachable(format!("cannot print the answer: {e}"))),
    }
}

/// A table with these column headers, as wide as the terminal allows, without borders so
/// it reads like `kubectl get` and greps line by line.
pub fn table(headers: &[&str]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(headers.to_vec());
    table
}

/// A two-column table of one resource's fields.
pub fn fields(rows: Vec<(&str, String)>) -> Table {
    let mut table = table(&["FIELD", "VALUE"]);
    for (name, value) in rows {
        table.add_row(vec![name.to_owned(), value]);
    }
    table
}

/// An instant to the second, in UTC.
pub fn time(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// An optional instant, `-` when absent.
pub fn maybe_time(at: Option<&DateTime<Utc>>) -> String {
    at.map_or_else(|| "-".to_owned(), time)
}

/// A text, `-` when absent.
pub fn or_dash(value: Option<String>) -> String {
    value.unwrap_or_else(|| "-".to_owned())
}

/// An amount with its currency, e.g. `0.011600 USD`.
pub fn money(money: &types::Money) -> String {
    format!("{} {}", money.amount, money.currency)
}

/// An amount and the seconds it pays for, e.g. `0.011600 USD for 3600 s`.
pub fn spent(amount: &types::Money, seconds: i64) -> String {
    format!("{} for {seconds} s", money(amount))
}

/// Labels as a selector would name them, `key=value` by key and comma-separated, or `-`.
pub fn labels(labels: &types::Labels) -> String {
    let mut pairs: Vec<String> = labels
        .iter()
        .map(|(key, value)| format!("{key}={}", value.as_str()))
        .collect();
    if pairs.is_empty() {
        return "-".to_owned();
    }
    pairs.sort();
    pairs.join(",")
}
