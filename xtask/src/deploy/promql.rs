//! Just enough PromQL to find the metrics an expression selects and the labels it matches
//! on them: strings, ranges, Grafana variables, functions, aggregations and keywords are
//! skipped.

/// A metric an expression selects, with the label names its matchers use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    /// The metric name.
    pub metric: String,
    /// The label names of `{…}` right after it.
    pub labels: Vec<String>,
}

/// Words that are operators, modifiers or aggregations, never metric names.
const KEYWORDS: &[&str] = &[
    "and",
    "or",
    "unless",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "offset",
    "atan2",
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
    "limitk",
    "limit_ratio",
    "inf",
    "nan",
];

/// The selectors of `expr`, in order.
pub fn selectors(expr: &str) -> Vec<Selector> {
    let chars: Vec<char> = expr.chars().collect();
    let mut out: Vec<Selector> = Vec::new();
    let mut i = 0;
    let mut last_was_metric = false;
    while i < chars.len() {
        let c = chars[i];
        if c == '"' || c == '\'' || c == '`' {
            i = skip_string(&chars, i);
            last_was_metric = false;
        } else if c == '[' {
            i = skip_past(&chars, i, ']');
            last_was_metric = false;
        } else if c == '{' {
            let end = skip_past(&chars, i, '}');
            if last_was_metric && let Some(selector) = out.last_mut() {
                selector.labels = label_names(&chars[i + 1..end.saturating_sub(1)]);
            }
            i = end;
            last_was_metric = false;
        } else if c == '$' {
            i = skip_while(&chars, i + 1, |c| {
                c.is_ascii_alphanumeric() || "_{}".contains(c)
            });
        } else if c.is_ascii_digit() || c == '.' {
            i = skip_while(&chars, i, |c| c.is_ascii_alphanumeric() || c == '.');
            last_was_metric = false;
        } else if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let end = skip_while(&chars, i, |c| {
                c.is_ascii_alphanumeric() || c == '_' || c == ':'
            });
            let word: String = chars[i..end].iter().collect();
            let next = skip_while(&chars, end, char::is_whitespace);
            let call = chars.get(next) == Some(&'(');
            if [
                "by",
                "without",
                "on",
                "ignoring",
                "group_left",
                "group_right",
            ]
            .contains(&word.as_str())
                && call
            {
                i = skip_past(&chars, next, ')');
                last_was_metric = false;
                continue;
            }
            last_was_metric = !call && !KEYWORDS.contains(&word.as_str());
            if last_was_metric {
                out.push(Selector {
                    metric: word,
                    labels: Vec::new(),
                });
            }
            i = end;
        } else {
            if !c.is_whitespace() {
                last_was_metric = false;
            }
            i += 1;
        }
    }
    out
}

fn skip_while(chars: &[char], from: usize, keep: impl Fn(char) -> bool) -> usize {
    let mut i = from;
    while i < chars.len() && keep(chars[i]) {
        i += 1;
    }
    i
}

/// The index just past the string that starts at `from`.
fn skip_string(chars: &[char], from: usize) -> usize {
    let quote = chars[from];
    let mut i = from + 1;
    while i < chars.len() && chars[i] != quote {
        i += if chars[i] == '\\' && quote != '`' {
            2
        } else {
            1
        };
    }
    i + 1
}

/// The index just past the `close` that ends what starts at `from`, strings skipped.
fn skip_past(chars: &[char], from: usize, close: char) -> usize {
    let mut i = from + 1;
    while i < chars.len() && chars[i] != close {
        i = if matches!(chars[i], '"' | '\'' | '`') {
            skip_string(chars, i)
        } else {
            i + 1
        };
    }
    (i + 1).min(chars.len())
}

/// The label names of the matchers `a="x", b=~"y"`.
fn label_names(matchers: &[char]) -> Vec<String> {
    let mut names = Vec::new();
    let mut i = 0;
    while i < matchers.len() {
        let c = matchers[i];
        if matches!(c, '"' | '\'' | '`') {
            i = skip_string(matchers, i);
        } else if c.is_ascii_alphabetic() || c == '_' {
            let end = skip_while(matchers, i, |c| c.is_ascii_alphanumeric() || c == '_');
            names.push(matchers[i..end].iter().collect());
            i = end;
        } else {
            i += 1;
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics(expr: &str) -> Vec<String> {
        selectors(expr).into_iter().map(|s| s.metric).collect()
    }

    #[test]
    fn functions_aggregations_groupings_and_ranges_are_not_metrics() {
        let expr = r#"histogram_quantile(0.99, sum by (le, route) (rate(fleet_http_request_duration_seconds_bucket{status=~"5.."}[$__rate_interval]))) > 1e3"#;
        assert_eq!(
            metrics(expr),
            ["fleet_http_request_duration_seconds_bucket"]
        );
        let selector = &selectors(expr)[0];
        assert_eq!(selector.labels, ["status"]);
    }

    #[test]
    fn binary_operators_and_modifiers_keep_both_sides() {
        let expr = "max(fleet_servers{state=~\"a|b\"}) > 0\n  and on() sum(increase(fleet_transitions_completed_total[15m] offset 5m)) == 0 or up{job=\"fleetd\"}";
        assert_eq!(
            metrics(expr),
            ["fleet_servers", "fleet_transitions_completed_total", "up"]
        );
        assert_eq!(selectors(expr)[2].labels, ["job"]);
    }

    #[test]
    fn strings_with_braces_do_not_confuse_it() {
        let expr = r#"sum(fleet_http_requests_total{route="/servers/{id}", method!="GET"}) / sum without (route) (x_total)"#;
        let found = selectors(expr);
        assert_eq!(found[0].labels, ["route", "method"]);
        assert_eq!(metrics(expr), ["fleet_http_requests_total", "x_total"]);
    }
}
