//! The label rules (`fleet_domain::labels`) and the selector grammar
//! (`fleet_domain::selector`) as the patterns the spec states, built from the constants the
//! domain checks with. A label's key cannot be bounded in OpenAPI 3.0 (it has no
//! `propertyNames`): its rules are in the descriptions, and a key that breaks them is a 422
//! `invalid-labels`.
//!
//! Patterns are ECMA 262, as JSON Schema reads them; the selector's uses a lookahead to
//! bound a key's prefix, so the tests judge them with `regress` (an ECMA engine).

use fleet_domain::labels::{MAX_LABELS, MAX_NAME_LEN, MAX_PREFIX_LEN};
use fleet_domain::selector::{MAX_REQUIREMENTS, MAX_SELECTOR_LEN, MAX_SET_VALUES};

use super::limits::Bounds;

/// A name (a key's name part, a value): 1 to 63 letters, digits, `-`, `_` and `.`, starting
/// and ending with a letter or digit.
fn name() -> String {
    format!(
        "[A-Za-z0-9](?:[-_.A-Za-z0-9]{{0,{}}}[A-Za-z0-9])?",
        MAX_NAME_LEN - 2
    )
}

/// A key: an optional DNS-subdomain prefix of at most 253 characters and `/`, then a name.
fn key() -> String {
    let part = "[a-z0-9](?:[-a-z0-9]*[a-z0-9])?";
    format!(
        "(?:(?=[-a-z0-9.]{{1,{MAX_PREFIX_LEN}}}/){part}(?:\\.{part})*/)?{}",
        name()
    )
}

/// A label's value (`fleet_domain::labels::validate_value`): empty or a name.
pub fn label_value() -> Bounds {
    Bounds {
        max_length: Some(MAX_NAME_LEN),
        pattern: Some(format!("^(?:{})?$", name())),
        ..Bounds::default()
    }
}

/// A server's labels: at most [`MAX_LABELS`], each value a label value.
pub fn labels() -> Bounds {
    Bounds {
        max_properties: Some(MAX_LABELS),
        values: Some(Box::new(label_value())),
        ..Bounds::default()
    }
}

/// A patch of labels: a label value or `null` for each; how many it may name depends on the
/// labels it changes, so the count is checked on the result (422).
pub fn label_patch() -> Bounds {
    Bounds {
        values: Some(Box::new(Bounds {
            nullable: true,
            ..label_value()
        })),
        ..Bounds::default()
    }
}

/// A label selector (`fleet_domain::selector::Selector::parse`): at most 4,096 characters of
/// requirements separated by commas, or none, with whitespace (space, tab, CR, LF) between
/// tokens.
///
/// The grammar repeats requirements and set values with `*`; two lookaheads bound their
/// counts (at most 31 commas outside parentheses, at most 63 inside each pair) with
/// character classes that cannot overlap, so a backtracking engine (`regress`, which
/// generated clients use, and Python's) stays linear. Counting inside the grammar (`{0,31}`
/// over a requirement) made `regress` take seconds to refuse 33 requirements.
pub fn label_selector() -> Bounds {
    selector(false)
}

/// A label selector with at least one requirement, as a bulk action takes it
/// (`fleet_domain::service::ServerService::act_on_selected`).
pub fn required_label_selector() -> Bounds {
    selector(true)
}

fn selector(required: bool) -> Bounds {
    let ws = "[ \\t\\r\\n]*";
    let (key, value) = (key(), name());
    let set = format!("\\({ws}{value}(?:{ws},{ws}{value})*{ws}\\)");
    let requirement = format!(
        "(?:!{ws}{key}|{key}(?:{ws}(?:==?|!=)(?:{ws}{value})?|[ \\t\\r\\n]+(?:in|notin){ws}{set})?)"
    );
    let outside_sets = "[^,(]*(?:\\([^)]*\\)[^,(]*)*";
    let requirements = format!(
        "(?={outside_sets}(?:,{outside_sets}){{0,{}}}$)",
        MAX_REQUIREMENTS - 1
    );
    let values = format!(
        "(?=[^(]*(?:\\([^,)]*(?:,[^,)]*){{0,{}}}\\)[^(]*)*$)",
        MAX_SET_VALUES - 1
    );
    let listed = format!("{requirement}(?:{ws},{ws}{requirement})*{ws}");
    let listed = if required {
        listed
    } else {
        format!("(?:{listed})?")
    };
    Bounds {
        max_length: Some(MAX_SELECTOR_LEN),
        pattern: Some(format!("^{requirements}{values}{ws}{listed}$")),
        ..Bounds::default()
    }
}
