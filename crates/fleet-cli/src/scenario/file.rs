//! The scenario file: a list of steps, in YAML or (for a `.toml` file) TOML. The format is
//! documented in docs/scenarios/README.md.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

/// A scenario as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// What it shows, printed before the steps.
    #[serde(default)]
    pub name: Option<String>,
    /// The steps, played in order. Each is a map of one key (`- advance: 5`), which
    /// serde_yaml reads as an enum only when told.
    #[serde(deserialize_with = "serde_yaml::with::singleton_map_recursive::deserialize")]
    pub steps: Vec<Step>,
}

/// One step: a map with one key, the step's kind.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// Send a request and check its status.
    Request(RequestStep),
    /// Move the virtual clock by this many seconds.
    Advance(i64),
    /// Add or remove a fault rule.
    Fault(FaultStep),
    /// Check a value the service reports.
    Expect(ExpectStep),
}

/// `request`: any call of the API.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestStep {
    /// The method [default: GET].
    #[serde(default = "get")]
    pub method: String,
    /// The path and query, e.g. `/servers/${web}/action`.
    pub path: String,
    /// Headers to send (e.g. `Idempotency-Key`, `If-Match`).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// A JSON body.
    #[serde(default)]
    pub body: Option<Value>,
    /// The status expected [default: any 2xx].
    #[serde(default)]
    pub status: Option<u16>,
    /// Values to keep for later steps: a name and the JSON pointer into the answer.
    #[serde(default)]
    pub save: BTreeMap<String, String>,
}

fn get() -> String {
    "GET".to_owned()
}

/// `fault`: `add` a rule (the body of `POST /faults`, its id saved under `save`), or
/// `remove` the rule saved under a name.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultStep {
    /// The rule to add.
    #[serde(default)]
    pub add: Option<Value>,
    /// The name its id is saved under.
    #[serde(default)]
    pub save: Option<String>,
    /// The saved name of the rule to remove.
    #[serde(default)]
    pub remove: Option<String>,
}

/// `expect`: the value at `pointer` of what `GET path` answers equals `equals`; or, in
/// short, `server` is in `state`. With `within`, asked again until it holds or that many
/// seconds (real time) pass.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectStep {
    /// The path to read.
    #[serde(default)]
    pub path: Option<String>,
    /// The JSON pointer into the answer [default: the whole answer].
    #[serde(default)]
    pub pointer: Option<String>,
    /// The value expected.
    #[serde(default)]
    pub equals: Option<Value>,
    /// In short: this server's…
    #[serde(default)]
    pub server: Option<String>,
    /// …state.
    #[serde(default)]
    pub state: Option<String>,
    /// Seconds to keep asking.
    #[serde(default)]
    pub within: Option<f64>,
}

impl Scenario {
    /// The scenario in `text`, TOML when `path` ends in `.toml`, YAML otherwise.
    pub fn parse(path: &Path, text: &str) -> Result<Scenario, String> {
        let is_toml = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("toml"));
        let scenario: Scenario = if is_toml {
            toml::from_str(text).map_err(|e| e.to_string())?
        } else {
            serde_yaml::from_str(text).map_err(|e| e.to_string())?
        };
        for (n, step) in scenario.steps.iter().enumerate() {
            step.check().map_err(|e| format!("step {}: {e}", n + 1))?;
        }
        Ok(scenario)
    }
}

impl Step {
    /// Refuses a step that is complete by its types but not by its rules.
    fn check(&self) -> Result<(), String> {
        match self {
            Step::Request(request) => {
                if !request.path.starts_with('/') {
                    return Err(format!("the path {:?} must start with /", request.path));
                }
                for pointer in request.save.values() {
                    check_pointer(pointer)?;
                }
                Ok(())
            }
            Step::Advance(seconds) if *seconds <= 0 => Err(format!(
                "advance takes a positive number of seconds, got {seconds}"
            )),
            Step::Advance(_) => Ok(()),
            Step::Fault(fault) => match (&fault.add, &fault.save, &fault.remove) {
                (Some(_), Some(_), None) => Ok(()),
                (None, None, Some(_)) => Ok(()),
                _ => Err(
                    "a fault step either adds a rule (add and save) or removes one \
                          (remove)"
                        .to_owned(),
                ),
            },
            Step::Expect(expect) => {
                let long = expect.path.is_some() && expect.equals.is_some();
                let short = expect.server.is_some() && expect.state.is_some();
                if long == short || (short && (expect.pointer.is_some() || expect.equals.is_some()))
                {
                    return Err("an expect step names either path and equals (and maybe \
                                pointer) or server and state"
                        .to_owned());
                }
                if let Some(pointer) = &expect.pointer {
                    check_pointer(pointer)?;
                }
                match expect.within {
                    Some(within) if !(0.0..=3_600.0).contains(&within) => {
                        Err(format!("within takes 0 to 3600 seconds, got {within}"))
                    }
                    _ => Ok(()),
                }
            }
        }
    }
}

fn check_pointer(pointer: &str) -> Result<(), String> {
    if pointer.is_empty() || pointer.starts_with('/') {
        Ok(())
    } else {
        Err(format!(
            "{pointer:?} is not a JSON pointer (one starts with /, e.g. /id)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Scenario, String> {
        Scenario::parse(Path::new("s.yaml"), text)
    }

    #[test]
    fn every_kind_of_step_reads_from_yaml() {
        let scenario = parse(
            "name: demo\nsteps:\n\
             - request: {method: POST, path: /servers, body: {region: r}, status: 201, save: {web: /id}}\n\
             - advance: 5\n\
             - fault: {add: {operations: [provision]}, save: boom}\n\
             - fault: {remove: boom}\n\
             - expect: {server: '${web}', state: running, within: 2}\n\
             - expect: {path: /servers, pointer: /items/0/id, equals: '${web}'}\n",
        )
        .expect("a scenario");
        assert_eq!(scenario.steps.len(), 6);
        assert!(matches!(scenario.steps[1], Step::Advance(5)));
    }

    #[test]
    fn the_same_reads_from_toml() {
        let scenario = Scenario::parse(
            Path::new("s.toml"),
            "[[steps]]\nadvance = 5\n\n[[steps.request]]\n",
        );
        assert!(scenario.is_err(), "a table of steps needs its kind");
        let scenario = Scenario::parse(
            Path::new("s.toml"),
            "[[steps]]\nadvance = 5\n[[steps]]\nrequest = { path = \"/servers\" }\n",
        )
        .expect("a scenario");
        assert_eq!(scenario.steps.len(), 2);
    }

    #[test]
    fn incomplete_or_contradictory_steps_are_refused_with_their_number() {
        for (text, says) in [
            ("steps:\n- advance: 0\n", "step 1: advance takes a positive"),
            (
                "steps:\n- advance: 1\n- fault: {add: {}}\n",
                "step 2: a fault step",
            ),
            ("steps:\n- expect: {server: x}\n", "step 1: an expect step"),
            (
                "steps:\n- expect: {server: x, state: running, equals: 1}\n",
                "step 1: an expect step",
            ),
            ("steps:\n- request: {path: servers}\n", "must start with /"),
            (
                "steps:\n- request: {path: /s, save: {a: id}}\n",
                "is not a JSON pointer",
            ),
            ("steps:\n- sleep: 5\n", "unknown variant"),
            ("steps:\n- request: {path: /s, bdy: 1}\n", "unknown field"),
        ] {
            let refused = parse(text).expect_err(text);
            assert!(refused.contains(says), "{text}: {refused}");
        }
    }
}
