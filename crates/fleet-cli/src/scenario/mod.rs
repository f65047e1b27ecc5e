//! `fleet scenario run FILE`: plays a scenario's steps against a fleetd in order, prints
//! each step's outcome, and stops at the first that fails (exit status 1), since later
//! steps build on what earlier ones did. With `--record FILE`, every answer and then the
//! whole event log go into FILE as JSON lines.

mod event_log;
mod file;
mod http;
mod record;
mod saved;

use std::path::Path;
use std::time::Duration;

use fleet_client::ClientInfo;
use reqwest::Method;
use serde_json::{Value, json};

use self::file::{ExpectStep, FaultStep, RequestStep, Scenario, Step};
use self::http::{Failure, Http};
use self::record::{Answer, Recorder};
use self::saved::Saved;
use crate::commands::Session;
use crate::exit::Exit;

/// How often an `expect … within` asks again, and the event log is read again.
const POLL: Duration = Duration::from_millis(100);

/// Runs the scenario in `path`.
pub async fn run(session: &Session, path: &Path, record: Option<&Path>) -> Result<(), Exit> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Exit::usage(format!("cannot read {}: {e}", path.display())))?;
    let scenario = Scenario::parse(path, &text)
        .map_err(|e| Exit::usage(format!("{}: {e}", path.display())))?;
    let mut player = Player {
        http: Http {
            client: session.client.client().clone(),
            base: session.client.baseurl().to_owned(),
        },
        saved: Saved::default(),
        recorder: Recorder::create(record).map_err(Exit::usage)?,
    };
    if let Some(name) = &scenario.name {
        println!("{name}");
    }
    let total = scenario.steps.len();
    for (index, step) in scenario.steps.iter().enumerate() {
        let number = index + 1;
        match player.play(number, step).await {
            Ok(summary) => println!("ok   {number}/{total} {summary}"),
            Err(failure) => {
                println!("FAIL {number}/{total} {failure}");
                player.recorder.finish().map_err(Exit::usage)?;
                return Err(failure.exit(number, &session.url));
            }
        }
    }
    if player.recorder.is_recording() {
        event_log::record(&player.http, &mut player.recorder)
            .await
            .map_err(|failure| failure.exit_reading_the_log(&session.url))?;
    }
    player.recorder.finish().map_err(Exit::usage)?;
    println!("passed: {total} steps");
    Ok(())
}

struct Player {
    http: Http,
    saved: Saved,
    recorder: Recorder,
}

impl Player {
    /// Plays one step; its one-line summary, or why it failed.
    async fn play(&mut self, number: usize, step: &Step) -> Result<String, Failure> {
        match step {
            Step::Request(request) => self.request(number, request).await,
            Step::Advance(seconds) => {
                let body = json!({ "seconds": seconds });
                self.call(
                    number,
                    &Method::POST,
                    "/admin/clock/advance",
                    &[],
                    Some(&body),
                    Some(200),
                )
                .await?;
                Ok(format!("advance {seconds} s"))
            }
            Step::Fault(fault) => self.fault(number, fault).await,
            Step::Expect(expect) => self.expect(number, expect).await,
        }
    }

    async fn request(&mut self, number: usize, step: &RequestStep) -> Result<String, Failure> {
        let method = Method::from_bytes(step.method.to_ascii_uppercase().as_bytes())
            .map_err(|_| format!("{:?} is not an HTTP method", step.method))?;
        let path = self.saved.text(&step.path)?;
        let body = step.body.as_ref().map(|b| self.saved.json(b)).transpose()?;
        let headers = step
            .headers
            .iter()
            .map(|(name, value)| Ok((name.clone(), self.saved.text(value)?)))
            .collect::<Result<Vec<_>, String>>()?;
        let answer = self
            .call(number, &method, &path, &headers, body.as_ref(), step.status)
            .await?;
        for (name, pointer) in &step.save {
            let value = answer
                .body
                .pointer(pointer)
                .ok_or_else(|| format!("the answer has nothing at {pointer} to save as {name}"))?;
            self.saved.save(name, value.clone());
        }
        Ok(format!("{method} {path} → {}", answer.status))
    }

    async fn fault(&mut self, number: usize, step: &FaultStep) -> Result<String, Failure> {
        match (&step.add, &step.save, &step.remove) {
            (Some(rule), Some(name), _) => {
                let rule = self.saved.json(rule)?;
                let answer = self
                    .call(
                        number,
                        &Method::POST,
                        "/faults",
                        &[],
                        Some(&rule),
                        Some(201),
                    )
                    .await?;
                let id = answer
                    .body
                    .get("id")
                    .ok_or_else(|| "the new fault rule has no id".to_owned())?
                    .clone();
                self.saved.save(name, id);
                Ok(format!("fault {name} added"))
            }
            (_, _, Some(name)) => {
                let path = self.saved.text(&format!("/faults/${{{name}}}"))?;
                self.call(number, &Method::DELETE, &path, &[], None, None)
                    .await?;
                Ok(format!("fault {name} removed"))
            }
            _ => Err(Failure::Step(
                "a fault step adds or removes a rule".to_owned(),
            )),
        }
    }

    async fn expect(&mut self, number: usize, step: &ExpectStep) -> Result<String, Failure> {
        let (path, pointer, wanted) = match (&step.server, &step.state) {
            (Some(server), Some(state)) => (
                format!("/servers/{server}"),
                "/state".to_owned(),
                Value::String(state.clone()),
            ),
            _ => (
                step.path.clone().unwrap_or_default(),
                step.pointer.clone().unwrap_or_default(),
                step.equals.clone().unwrap_or(Value::Null),
            ),
        };
        let path = self.saved.text(&path)?;
        let wanted = self.saved.json(&wanted)?;
        let deadline =
            tokio::time::Instant::now() + Duration::from_secs_f64(step.within.unwrap_or(0.0));
        loop {
            let answer = self.http.send(&Method::GET, &path, &[], None).await?;
            let got = answer.body.pointer(&pointer).cloned();
            if got.as_ref() == Some(&wanted) {
                self.recorder.answer(json!(number), "GET", &path, &answer);
                return Ok(format!("{path}{pointer} is {wanted}"));
            }
            if tokio::time::Instant::now() >= deadline {
                self.recorder.answer(json!(number), "GET", &path, &answer);
                let got = got.map_or_else(|| "nothing".to_owned(), |v| v.to_string());
                return Err(Failure::Step(format!(
                    "{path}{pointer} is {got}, not {wanted} (status {})",
                    answer.status
                )));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Sends a request, records its answer, and checks its status: `expected`, or any 2xx.
    async fn call(
        &mut self,
        number: usize,
        method: &Method,
        path: &str,
        headers: &[(String, String)],
        body: Option<&Value>,
        expected: Option<u16>,
    ) -> Result<Answer, Failure> {
        let answer = self.http.send(method, path, headers, body).await?;
        self.recorder
            .answer(json!(number), method.as_str(), path, &answer);
        let fits = match expected {
            Some(status) => answer.status == status,
            None => (200..300).contains(&answer.status),
        };
        if fits {
            return Ok(answer);
        }
        let wanted = expected.map_or_else(|| "a 2xx".to_owned(), |s| s.to_string());
        Err(Failure::Step(format!(
            "{method} {path} answered {}, not {wanted}: {}",
            answer.status, answer.body
        )))
    }
}
