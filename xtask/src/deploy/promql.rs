//! The metrics a PromQL expression selects, with the label names its matchers use, for the
//! live check. A scanner, not a parser: promtool has already parsed every expression, so
//! this only skips what is not a metric name (strings, ranges, numbers, Grafana variables,
//! function calls, keywords and grouping label lists).

/// A metric an expression selects, with the label names of the `{…}` right after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    /// The metric name.
    pub metric: String,
    /// The label names its matchers use.
    pub labels: Vec<String>,
}

/// Words that are operators, modifiers or aggregations (which may come before `by (…)`
/// rather than right before their parenthesis), never metric names.
const KEYWORDS: &str = "and or unless bool offset atan2 inf nan sum min max avg group stddev \
    stdvar count count_values bottomk topk quantile limitk limit_ratio";

/// Words whose parenthesis holds label names rather than an expression.
const GROUPINGS: &str = "by without on ignoring group_left group_right";

/// Whether `word` is one of the space-separated `words`.
fn one_of(words: &str, word: &str) -> bool {
    words.split_whitespace().any(|w| w == word)
}

/// The selectors of `expr`, in order.
pub fn selectors(expr: &str) -> Vec<Selector> {
    let b = expr.as_bytes();
    let word_byte = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b':';
    let mut out: Vec<Selector> = Vec::new();
    let mut after_metric = false;
    let mut i = 0;
    while i < b.len() {
        let start = i;
        match b[i] {
            b'"' | b'\'' | b'`' => i = past_string(b, i),
            b'[' => i = past(b, i, b']'),
            b'{' => {
                i = past(b, i, b'}');
                if let Some(selector) = out.last_mut().filter(|_| after_metric) {
                    selector.labels = words(&expr[start + 1..i - 1]);
                }
            }
            b'$' => i = skip(b, i + 1, |c| word_byte(c) || c == b'{' || c == b'}'),
            c if c.is_ascii_digit() || c == b'.' => i = skip(b, i, |c| word_byte(c) || c == b'.'),
            c if word_byte(c) => {
                i = skip(b, i, word_byte);
                let word = &expr[start..i];
                let paren = skip(b, i, |c| c.is_ascii_whitespace());
                let call = b.get(paren) == Some(&b'(');
                if call && one_of(GROUPINGS, word) {
                    i = past(b, paren, b')');
                } else if !call && !one_of(KEYWORDS, word) && !one_of(GROUPINGS, word) {
                    out.push(Selector {
                        metric: word.to_owned(),
                        labels: Vec::new(),
                    });
                    after_metric = true;
                    continue;
                }
            }
            c if c.is_ascii_whitespace() => {
                i += 1;
                continue;
            }
            _ => i += 1,
        }
        after_metric = false;
    }
    out
}

/// The index of the first byte from `from` on that `keep` refuses.
fn skip(b: &[u8], from: usize, keep: impl Fn(u8) -> bool) -> usize {
    from + b[from.min(b.len())..]
        .iter()
        .take_while(|c| keep(**c))
        .count()
}

/// The index just past the string that starts at `from` (backquoted: no escapes).
fn past_string(b: &[u8], from: usize) -> usize {
    let mut i = from + 1;
    while i < b.len() && b[i] != b[from] {
        i += if b[i] == b'\\' && b[from] != b'`' {
            2
        } else {
            1
        };
    }
    (i + 1).min(b.len())
}

/// The index just past the `close` that ends what opens at `from`, strings skipped.
fn past(b: &[u8], from: usize, close: u8) -> usize {
    let mut i = from + 1;
    while i < b.len() && b[i] != close {
        i = if matches!(b[i], b'"' | b'\'' | b'`') {
            past_string(b, i)
        } else {
            i + 1
        };
    }
    (i + 1).min(b.len())
}

/// The names outside strings in `matchers` (`a="x", b=~"y"`).
fn words(matchers: &str) -> Vec<String> {
    let b = matchers.as_bytes();
    let mut names = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if matches!(b[i], b'"' | b'\'' | b'`') {
            i = past_string(b, i);
        } else if b[i].is_ascii_alphabetic() || b[i] == b'_' {
            let end = skip(b, i, |c| c.is_ascii_alphanumeric() || c == b'_');
            names.push(matchers[i..end].to_owned());
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
        assert_eq!(selectors(expr)[0].labels, ["status"]);
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
        assert_eq!(selectors(expr)[0].labels, ["route", "method"]);
        assert_eq!(metrics(expr), ["fleet_http_requests_total", "x_total"]);
    }
}
