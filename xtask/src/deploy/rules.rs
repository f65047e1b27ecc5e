//! The alert rules: `promtool check config` (which checks the rule files too) and `promtool
//! test rules` when promtool is installed; a schema check of the rules always.

use std::collections::BTreeSet;
use std::process::Command;

use serde_yaml::Value;

use super::Report;
use super::files::{ALERT_TESTS, ALERTS, DeployFiles, PROMETHEUS, seq_at, str_at};

/// Checks the rules, with promtool when it is there.
pub fn check(deploy: &DeployFiles, report: &mut Report) {
    check_schema(&deploy.alerts, report);
    let root = &deploy.root;
    let promtool = |args: &[&str]| {
        Command::new("promtool")
            .args(args)
            .current_dir(root)
            .output()
    };
    match promtool(&["check", "config", PROMETHEUS]) {
        Err(_) => eprintln!(
            "deploy-check: promtool not found (Debian: apt-get install prometheus), \
             checking the rules against their schema only"
        ),
        Ok(output) => {
            report.check(output.status.success(), || {
                format!("promtool check config {PROMETHEUS}: {}", text(&output))
            });
            if root.join(ALERT_TESTS).exists() {
                match promtool(&["test", "rules", ALERT_TESTS]) {
                    Ok(output) => report.check(output.status.success(), || {
                        format!("promtool test rules {ALERT_TESTS}: {}", text(&output))
                    }),
                    Err(e) => report.fail(format!("promtool test rules: {e}")),
                }
            }
        }
    }
}

fn text(output: &std::process::Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout).trim(),
        String::from_utf8_lossy(&output.stderr).trim()
    )
}

/// Every group has a name and rules; every rule is an alert or a recording rule with an
/// expression, a valid `for`, and (alerts) a severity and a summary; names are unique.
pub fn check_schema(alerts: &Value, report: &mut Report) {
    let groups = seq_at(alerts, &["groups"]);
    report.check(!groups.is_empty(), || format!("{ALERTS}: no groups"));
    let mut names = BTreeSet::new();
    for group in groups {
        let group_name = str_at(group, &["name"]).unwrap_or_default();
        report.check(
            !group_name.is_empty() && names.insert(group_name.to_owned()),
            || format!("{ALERTS}: a group has no name, or one another group has"),
        );
        let rules = seq_at(group, &["rules"]);
        report.check(!rules.is_empty(), || {
            format!("{ALERTS}: group {group_name} has no rules")
        });
        for rule in rules {
            let alert = str_at(rule, &["alert"]);
            let record = str_at(rule, &["record"]);
            let name = alert.or(record).unwrap_or("?");
            report.check(alert.is_some() != record.is_some(), || {
                format!("{ALERTS}: rule {name} must be either an alert or a record")
            });
            let expr = str_at(rule, &["expr"]).unwrap_or_default();
            report.check(!expr.trim().is_empty() && balanced(expr), || {
                format!("{ALERTS}: rule {name} has no expression, or unbalanced brackets")
            });
            if let Some(duration) = rule.get("for") {
                report.check(duration.as_str().is_some_and(is_duration), || {
                    format!("{ALERTS}: rule {name}: `for: {duration:?}` is not a duration")
                });
            }
            if alert.is_some() {
                report.check(str_at(rule, &["labels", "severity"]).is_some(), || {
                    format!("{ALERTS}: alert {name} has no severity label")
                });
                report.check(str_at(rule, &["annotations", "summary"]).is_some(), || {
                    format!("{ALERTS}: alert {name} has no summary annotation")
                });
            }
        }
    }
}

/// A Prometheus duration: one or more `<number><unit>`, e.g. `5m`, `1h30m`.
fn is_duration(text: &str) -> bool {
    let mut rest = text;
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 {
            return false;
        }
        rest = &rest[digits..];
        let Some(unit) = ["ms", "s", "m", "h", "d", "w", "y"]
            .into_iter()
            .find(|u| rest.starts_with(u))
        else {
            return false;
        };
        rest = &rest[unit.len()..];
    }
    true
}

/// Whether the brackets of `expr` balance, strings aside.
fn balanced(expr: &str) -> bool {
    let mut stack = Vec::new();
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in expr.chars() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' | '`' => quote = Some(c),
            '(' | '[' | '{' => stack.push(c),
            ')' | ']' | '}' => {
                let open = match c {
                    ')' => '(',
                    ']' => '[',
                    _ => '{',
                };
                if stack.pop() != Some(open) {
                    return false;
                }
            }
            _ => {}
        }
    }
    stack.is_empty() && quote.is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_brackets() {
        assert!(is_duration("5m") && is_duration("1h30m") && is_duration("250ms"));
        assert!(!is_duration("5") && !is_duration("m") && !is_duration("5 m"));
        assert!(balanced(r#"sum(rate(x{a="(}"}[5m]))"#));
        assert!(!balanced("sum(rate(x[5m])"));
    }

    #[test]
    fn a_bad_rule_is_named() {
        let alerts: Value = serde_yaml::from_str(
            "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up == 0\n    for: 5\n    labels: {severity: page}\n    annotations: {summary: s}\n  - alert: B\n    expr: 'sum(up'\n",
        )
        .expect("yaml");
        let mut report = Report::default();
        check_schema(&alerts, &mut report);
        let problems = report.problems.join("\n");
        assert!(problems.contains("rule A: `for"), "{problems}");
        assert!(
            problems.contains("rule B has no expression, or unbalanced"),
            "{problems}"
        );
        assert!(problems.contains("alert B has no severity"), "{problems}");
    }
}
