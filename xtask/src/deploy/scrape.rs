//! The Prometheus text format, read into the sample names and their label names.

use std::collections::{BTreeMap, BTreeSet};

/// What a `/metrics` page exports.
#[derive(Debug, Default)]
pub struct Scrape {
    /// Each sample name (`x_bucket`, `x_sum`, `x_count` for a histogram `x`) with the label
    /// names seen on it.
    pub series: BTreeMap<String, BTreeSet<String>>,
}

impl Scrape {
    /// Reads a page in the Prometheus text format.
    pub fn parse(text: &str) -> Scrape {
        let mut scrape = Scrape::default();
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let end = line.find(['{', ' ']).unwrap_or(line.len());
            let labels = scrape.series.entry(line[..end].to_owned()).or_default();
            if line[end..].starts_with('{') {
                labels.extend(label_names(&line[end + 1..]));
            }
        }
        scrape
    }
}

/// The names of `a="x",b="y\"z"}…`, up to the closing brace.
fn label_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut chars = text.chars();
    let mut name = String::new();
    while let Some(c) = chars.next() {
        match c {
            '}' => break,
            '=' => {
                names.push(
                    std::mem::take(&mut name)
                        .trim()
                        .trim_start_matches(',')
                        .trim()
                        .to_owned(),
                );
                // The quoted value, escapes included.
                let _ = chars.next();
                let mut escaped = false;
                for v in chars.by_ref() {
                    if escaped {
                        escaped = false;
                    } else if v == '\\' {
                        escaped = true;
                    } else if v == '"' {
                        break;
                    }
                }
            }
            c => name.push(c),
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_and_their_labels_are_read() {
        let page = "# HELP fleet_servers Servers in each state\n# TYPE fleet_servers gauge\n\
                    fleet_servers{state=\"running\"} 1\n\
                    fleet_http_requests_total{method=\"GET\",route=\"/servers/{id}\",status=\"200\"} 3\n\
                    fleet_x_bucket{le=\"0.5\",note=\"a \\\"}\\\" b\"} 2\nfleet_plain 7\n";
        let scrape = Scrape::parse(page);
        let labels = |m: &str| scrape.series[m].iter().cloned().collect::<Vec<_>>();
        assert_eq!(labels("fleet_servers"), ["state"]);
        assert_eq!(
            labels("fleet_http_requests_total"),
            ["method", "route", "status"]
        );
        assert_eq!(labels("fleet_x_bucket"), ["le", "note"]);
        assert!(scrape.series.contains_key("fleet_plain"));
        assert!(!scrape.series.contains_key("fleet_x"));
    }
}
