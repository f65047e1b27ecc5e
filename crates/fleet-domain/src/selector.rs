//! Label selectors in the Kubernetes grammar, parsed once here into a typed [`Selector`] that
//! each store translates into SQL with bound parameters only.
//!
//! ```text
//! selector    := "" | requirement ("," requirement)*
//! requirement := key | "!" key | key ("=" | "==" | "!=") value
//!              | key ("in" | "notin") "(" value ("," value)* ")"
//! ```
//!
//! Requirements are ANDed. As in Kubernetes, `k!=v` and `k notin (…)` also match a server
//! without the label `k`, and whitespace is the ASCII space, tab, carriage return and line
//! feed (so that one regular expression in the spec states the same grammar).

use std::collections::BTreeSet;

use crate::labels::{self, Labels};

/// The longest selector accepted, in bytes: ample for people and scripts, and short enough
/// that the longest, percent-encoded in a URL (3 bytes a character), still fits in a query
/// string with the other parameters.
pub const MAX_SELECTOR_LEN: usize = 1_024;
/// The most requirements one selector may have.
pub const MAX_REQUIREMENTS: usize = 32;
/// The most values one `in`/`notin` set may have, counted as written (a repeated value
/// counts each time).
pub const MAX_SET_VALUES: usize = 64;

/// One condition on a server's labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    /// `k=v`, `k==v`: the label is present with this value.
    Equals {
        /// The key.
        key: String,
        /// The value.
        value: String,
    },
    /// `k!=v`: the label is absent or has another value.
    NotEquals {
        /// The key.
        key: String,
        /// The value.
        value: String,
    },
    /// `k in (a,b)`: the label is present with one of these values.
    In {
        /// The key.
        key: String,
        /// The values.
        values: BTreeSet<String>,
    },
    /// `k notin (a,b)`: the label is absent or has none of these values.
    NotIn {
        /// The key.
        key: String,
        /// The values.
        values: BTreeSet<String>,
    },
    /// `k`: the label is present.
    Exists {
        /// The key.
        key: String,
    },
    /// `!k`: the label is absent.
    NotExists {
        /// The key.
        key: String,
    },
}

impl Requirement {
    /// The label key it is about.
    pub fn key(&self) -> &str {
        match self {
            Requirement::Equals { key, .. }
            | Requirement::NotEquals { key, .. }
            | Requirement::In { key, .. }
            | Requirement::NotIn { key, .. }
            | Requirement::Exists { key }
            | Requirement::NotExists { key } => key,
        }
    }

    /// Whether `labels` satisfy it.
    pub fn matches(&self, labels: &Labels) -> bool {
        match self {
            Requirement::Equals { key, value } => labels.get(key) == Some(value.as_str()),
            Requirement::NotEquals { key, value } => labels.get(key) != Some(value.as_str()),
            Requirement::In { key, values } => labels.get(key).is_some_and(|v| values.contains(v)),
            Requirement::NotIn { key, values } => {
                labels.get(key).is_none_or(|v| !values.contains(v))
            }
            Requirement::Exists { key } => labels.get(key).is_some(),
            Requirement::NotExists { key } => labels.get(key).is_none(),
        }
    }
}

/// A parsed selector: all of its requirements must hold. Empty matches every server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selector {
    requirements: Vec<Requirement>,
}

/// Why a selector was refused: what was expected, and where (a character offset).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectorError {
    /// Longer than [`MAX_SELECTOR_LEN`].
    #[error("the selector is {0} bytes long; at most {MAX_SELECTOR_LEN} are accepted")]
    TooLong(usize),
    /// More requirements than [`MAX_REQUIREMENTS`].
    #[error("the selector has more than {MAX_REQUIREMENTS} requirements")]
    TooManyRequirements,
    /// A set with more values than [`MAX_SET_VALUES`].
    #[error("a set at character {0} has more than {MAX_SET_VALUES} values")]
    TooManyValues(usize),
    /// The grammar was broken.
    #[error("at character {at}: {message}")]
    Syntax {
        /// Where, counted in characters from 0.
        at: usize,
        /// What was expected there.
        message: String,
    },
    /// A key or value breaks the label rules.
    #[error("at character {at}: {source}")]
    Label {
        /// Where the key or value starts.
        at: usize,
        /// The rule it breaks.
        source: labels::LabelError,
    },
}

impl SelectorError {
    /// The character, counted from 0, where the selector went wrong, when one place did.
    pub fn position(&self) -> Option<usize> {
        match self {
            SelectorError::Syntax { at, .. } | SelectorError::Label { at, .. } => Some(*at),
            SelectorError::TooManyValues(at) => Some(*at),
            SelectorError::TooLong(_) | SelectorError::TooManyRequirements => None,
        }
    }
}

impl Selector {
    /// Parses `text` (see the module documentation).
    pub fn parse(text: &str) -> Result<Selector, SelectorError> {
        if text.len() > MAX_SELECTOR_LEN {
            return Err(SelectorError::TooLong(text.len()));
        }
        let tokens = lex(text)?;
        Parser { tokens, next: 0 }.selector(text.chars().count())
    }

    /// A filter's selector as a client gave it: none when it gave none, or an empty one
    /// (which would match everything).
    pub fn parse_filter(text: Option<&str>) -> Result<Option<Selector>, SelectorError> {
        Ok(text
            .map(Selector::parse)
            .transpose()?
            .filter(|selector| !selector.is_empty()))
    }

    /// Its requirements, in the order written.
    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }

    /// Whether it has no requirement (and so matches everything).
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// Whether `labels` satisfy every requirement.
    pub fn matches(&self, labels: &Labels) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Equals,
    DoubleEquals,
    NotEquals,
    Bang,
    Open,
    Close,
    Comma,
}

impl Token {
    fn describe(&self) -> String {
        match self {
            Token::Word(word) => format!("'{}'", labels::shown(word)),
            Token::Equals => "'='".to_owned(),
            Token::DoubleEquals => "'=='".to_owned(),
            Token::NotEquals => "'!='".to_owned(),
            Token::Bang => "'!'".to_owned(),
            Token::Open => "'('".to_owned(),
            Token::Close => "')'".to_owned(),
            Token::Comma => "','".to_owned(),
        }
    }
}

/// Whitespace between tokens, as Kubernetes' selector lexer has it.
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// Characters a key or a value may hold; anything else outside the operators is refused.
fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/')
}

fn lex(text: &str) -> Result<Vec<(usize, Token)>, SelectorError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut at = 0;
    while let Some(&c) = chars.get(at) {
        let start = at;
        let token = match c {
            c if is_space(c) => {
                at += 1;
                continue;
            }
            '(' => Token::Open,
            ')' => Token::Close,
            ',' => Token::Comma,
            '=' if chars.get(at + 1) == Some(&'=') => {
                at += 1;
                Token::DoubleEquals
            }
            '=' => Token::Equals,
            '!' if chars.get(at + 1) == Some(&'=') => {
                at += 1;
                Token::NotEquals
            }
            '!' => Token::Bang,
            c if is_word_char(c) => {
                let mut word = String::new();
                while let Some(&c) = chars.get(at).filter(|c| is_word_char(**c)) {
                    word.push(c);
                    at += 1;
                }
                tokens.push((start, Token::Word(word)));
                continue;
            }
            other => {
                return Err(SelectorError::Syntax {
                    at,
                    message: format!("unexpected character {other:?}"),
                });
            }
        };
        tokens.push((start, token));
        at += 1;
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<(usize, Token)>,
    next: usize,
}

impl Parser {
    fn selector(mut self, end: usize) -> Result<Selector, SelectorError> {
        let mut requirements = Vec::new();
        if self.tokens.is_empty() {
            return Ok(Selector { requirements });
        }
        loop {
            if requirements.len() == MAX_REQUIREMENTS {
                return Err(SelectorError::TooManyRequirements);
            }
            requirements.push(self.requirement(end)?);
            match self.take() {
                None => return Ok(Selector { requirements }),
                Some((_, Token::Comma)) => {}
                Some((at, token)) => {
                    return Err(syntax(
                        at,
                        format!("expected ',' or the end, found {}", token.describe()),
                    ));
                }
            }
        }
    }

    fn requirement(&mut self, end: usize) -> Result<Requirement, SelectorError> {
        if let Some((_, Token::Bang)) = self.peek() {
            self.next += 1;
            let key = self.key(end)?;
            return Ok(Requirement::NotExists { key });
        }
        let key = self.key(end)?;
        let requirement = match self.peek().cloned() {
            None | Some((_, Token::Comma)) => Requirement::Exists { key },
            Some((_, Token::Equals | Token::DoubleEquals)) => {
                self.next += 1;
                let value = self.value(&key)?;
                Requirement::Equals { key, value }
            }
            Some((_, Token::NotEquals)) => {
                self.next += 1;
                let value = self.value(&key)?;
                Requirement::NotEquals { key, value }
            }
            Some((_, Token::Word(word))) if word == "in" || word == "notin" => {
                self.next += 1;
                let values = self.set(&key, end)?;
                if word == "in" {
                    Requirement::In { key, values }
                } else {
                    Requirement::NotIn { key, values }
                }
            }
            Some((at, token)) => {
                return Err(syntax(
                    at,
                    format!(
                        "expected '=', '==', '!=', 'in', 'notin', ',' or the end after a key, \
                         found {}",
                        token.describe()
                    ),
                ));
            }
        };
        Ok(requirement)
    }

    fn key(&mut self, end: usize) -> Result<String, SelectorError> {
        match self.take() {
            Some((at, Token::Word(key))) => {
                labels::validate_key(&key).map_err(|source| SelectorError::Label { at, source })?;
                Ok(key)
            }
            Some((at, token)) => Err(syntax(
                at,
                format!("expected a label key, found {}", token.describe()),
            )),
            None => Err(syntax(
                end,
                "expected a label key, found the end".to_owned(),
            )),
        }
    }

    /// A value after `=`, `==` or `!=`; empty when nothing follows before `,` or the end.
    fn value(&mut self, key: &str) -> Result<String, SelectorError> {
        match self.peek().cloned() {
            Some((at, Token::Word(value))) => {
                self.next += 1;
                labels::validate_value(key, &value)
                    .map_err(|source| SelectorError::Label { at, source })?;
                Ok(value)
            }
            None | Some((_, Token::Comma)) => Ok(String::new()),
            Some((at, token)) => Err(syntax(
                at,
                format!("expected a value, found {}", token.describe()),
            )),
        }
    }

    /// `( value, … )` after `in` or `notin`: at least one value, none empty.
    fn set(&mut self, key: &str, end: usize) -> Result<BTreeSet<String>, SelectorError> {
        let open_at = match self.take() {
            Some((at, Token::Open)) => at,
            Some((at, token)) => {
                return Err(syntax(
                    at,
                    format!("expected '(' to open the set, found {}", token.describe()),
                ));
            }
            None => return Err(syntax(end, "expected '(' to open the set".to_owned())),
        };
        let mut values = BTreeSet::new();
        let mut written = 0;
        loop {
            match self.take() {
                Some((at, Token::Word(value))) => {
                    labels::validate_value(key, &value)
                        .map_err(|source| SelectorError::Label { at, source })?;
                    written += 1;
                    if written > MAX_SET_VALUES {
                        return Err(SelectorError::TooManyValues(open_at));
                    }
                    values.insert(value);
                }
                Some((at, Token::Close)) if values.is_empty() => {
                    return Err(syntax(at, "a set needs at least one value".to_owned()));
                }
                Some((at, token)) => {
                    return Err(syntax(
                        at,
                        format!("expected a value in the set, found {}", token.describe()),
                    ));
                }
                None => return Err(syntax(end, "the set is not closed with ')'".to_owned())),
            }
            match self.take() {
                Some((_, Token::Comma)) => {}
                Some((_, Token::Close)) => return Ok(values),
                Some((at, token)) => {
                    return Err(syntax(
                        at,
                        format!("expected ',' or ')' in the set, found {}", token.describe()),
                    ));
                }
                None => return Err(syntax(end, "the set is not closed with ')'".to_owned())),
            }
        }
    }

    fn peek(&self) -> Option<&(usize, Token)> {
        self.tokens.get(self.next)
    }

    fn take(&mut self) -> Option<(usize, Token)> {
        let token = self.tokens.get(self.next).cloned();
        self.next += 1;
        token
    }
}

fn syntax(at: usize, message: String) -> SelectorError {
    SelectorError::Syntax { at, message }
}

#[cfg(test)]
#[path = "selector_tests.rs"]
mod tests;

/// The table every store's selector translation must agree with: labelled servers and, for
/// each selector, which of them it matches. Shared by this crate's tests and the store
/// conformance suite.
pub mod conformance {
    /// The servers of the table, by name, with their labels.
    pub const SERVERS: &[(&str, &[(&str, &str)])] = &[
        (
            "web-prod",
            &[
                ("env", "prod"),
                ("tier", "web"),
                ("app.kubernetes.io/name", "shop"),
            ],
        ),
        ("db-prod", &[("env", "prod"), ("tier", "db")]),
        (
            "web-dev",
            &[("env", "dev"), ("tier", "web"), ("canary", "")],
        ),
        ("bare", &[]),
        (
            "cache-stage",
            &[("env", "staging"), ("tier", "cache"), ("team", "a-b_c.d")],
        ),
    ];

    const ALL: &[&str] = &["web-prod", "db-prod", "web-dev", "bare", "cache-stage"];

    /// Selectors and the servers each matches.
    pub const CASES: &[(&str, &[&str])] = &[
        ("", ALL),
        ("env=prod", &["web-prod", "db-prod"]),
        ("env==prod", &["web-prod", "db-prod"]),
        ("env!=prod", &["web-dev", "bare", "cache-stage"]),
        ("env", &["web-prod", "db-prod", "web-dev", "cache-stage"]),
        ("!env", &["bare"]),
        ("env in (prod,dev)", &["web-prod", "db-prod", "web-dev"]),
        ("env notin (prod,dev)", &["bare", "cache-stage"]),
        ("env in (prod)", &["web-prod", "db-prod"]),
        ("env=prod,tier=web", &["web-prod"]),
        ("env=prod,tier!=web", &["db-prod"]),
        ("tier in (web,db),env!=dev", &["web-prod", "db-prod"]),
        ("canary", &["web-dev"]),
        ("canary=", &["web-dev"]),
        ("canary!=", &["web-prod", "db-prod", "bare", "cache-stage"]),
        ("!canary,env", &["web-prod", "db-prod", "cache-stage"]),
        ("app.kubernetes.io/name=shop", &["web-prod"]),
        ("app.kubernetes.io/name", &["web-prod"]),
        (
            "!app.kubernetes.io/name",
            &["db-prod", "web-dev", "bare", "cache-stage"],
        ),
        ("team=a-b_c.d", &["cache-stage"]),
        ("env=Prod", &[]),
        ("missing=x", &[]),
        ("missing!=x", ALL),
        ("missing notin (x)", ALL),
        ("missing in (x)", &[]),
        (" env = prod , tier == db ", &["db-prod"]),
        ("env in (prod, dev) , tier notin (web)", &["db-prod"]),
        ("env,tier,!canary", &["web-prod", "db-prod", "cache-stage"]),
        ("env=prod,env=dev", &[]),
        ("env in (staging),tier in (cache,web)", &["cache-stage"]),
        ("tier notin (web,db,cache)", &["bare"]),
        ("!env,!tier", &["bare"]),
        ("env!=prod,env!=dev", &["bare", "cache-stage"]),
        ("env notin (prod),tier in (web)", &["web-dev"]),
    ];
}
