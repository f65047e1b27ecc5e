//! `fleet scenario run FILE`: plays a scenario's steps against a fleetd in order, prints
//! each step's outcome, and stops at the first that fails (exit status 1), since later
//! steps build on what earlier ones did. With `--record FILE`, every answer and then the
//! whole event log go into FILE as JSON lines.

mod file;
mod record;
mod saved;

use std::path::Path;
use std::time::Duration;

use fleet_client::{CALL_TIMEOUT, ClientInfo};
use reqwest::Method;
use serde_json::{Value, json};

use self::file::{ExpectStep, FaultStep, RequestStep, Scenario, Step};
use self::record::{Answer, Recorder};
use self::saved::Saved;
use crate::commands::Session;
use crate::exit::Exit;

/// How often an `expect … within` asks again.
const POLL: Duration = Duration::from_millis(100);
/// How long the final event log may take to hold every event (Postgres numbers events
/// shortly after their commit).
const EVENTS_SETTLE: Duration = Duration::from_secs(10);

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
        player
            .record_events()
            .await
            .map_err(|failure| failure.exit(total + 1, &session.url))?;
    }
    player.recorder.finish().map_err(Exit::usage)?;
    println!("passed: {total} steps");
    Ok(())
}

/// Why a step failed.
enum Failure {
    /// The service did not answer.
    Unreachable(String),
    /// It answered otherwise than the step expects, or the step cannot be played.
    Step(String),
}

impl Failure {
    fn exit(self, number: usize, url: &str) -> Exit {
        match self {
            Failure::Unreachable(reason) => Exit::unreachable(format!(
                "step {number}: could not reach fleet at {url}: {reason}"
            )),
            Failure::Step(reason) => {
                Exit::refused(format!("the scenario failed at step {number}: {reason}"))
            }
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Unreachable(reason) | Failure::Step(reason) => f.write_str(reason),
        }
    }
}

impl From<String> for Failure {
    fn from(reason: String) -> Self {
        Failure::Step(reason)
    }
}

/// HTTP to the service, with the session's API key.
struct Http {
    client: reqwest::Client,
    base: String,
}

impl Http {
    async fn send(
        &self,
        method: &Method,
        path: &str,
        headers: &[(String, String)],
        body: Option<&Value>,
    ) -> Result<Answer, Failure> {
        let mut request = self
            .client
            .request(method.clone(), format!("{}{path}", self.base))
            .timeout(CALL_TIMEOUT);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| {
            // A path or header that makes no request is the scenario's fault, not the
            // network's.
            if e.is_builder() {
                Failure::Step(format!("{method} {path} cannot be sent: {e}"))
            } else {
                Failure::Unreachable(e.to_string())
            }
        })?;
        let status = response.status().as_u16();
        let text = response
            .text()
            .await
            .map_err(|e| Failure::Unreachable(e.to_string()))?;
        Ok(Answer::new(status, &text))
    }
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

    /// Records the global event log from its start, page by page, once it holds every
    /// event the servers' own logs hold.
    async fn record_events(&mut self) -> Result<(), Failure> {
        let expected = self.events_of_servers().await?;
        let deadline = tokio::time::Instant::now() + EVENTS_SETTLE;
        loop {
            let pages = self.event_pages().await?;
            let count: usize = pages.iter().map(|(_, page)| items(&page.body).len()).sum();
            if count >= expected || tokio::time::Instant::now() >= deadline {
                for (path, page) in &pages {
                    self.recorder.answer(json!("events"), "GET", path, page);
                }
                return Ok(());
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The pages of `GET /events` from the start, up to the first empty one.
    async fn event_pages(&self) -> Result<Vec<(String, Answer)>, Failure> {
        let (mut pages, mut after) = (Vec::new(), 0);
        loop {
            let path = format!("/events?after={after}&limit=100");
            let page = self.http.send(&Method::GET, &path, &[], None).await?;
            if page.status != 200 {
                return Err(Failure::Step(format!(
                    "{path} answered {}: {}",
                    page.status, page.body
                )));
            }
            let done = items(&page.body).is_empty();
            after = page.body["next_after"].as_i64().unwrap_or(after);
            pages.push((path, page));
            if done {
                return Ok(pages);
            }
        }
    }

    /// How many events the logs of every server hold (each shows at most its newest 100).
    async fn events_of_servers(&self) -> Result<usize, Failure> {
        let (mut count, mut cursor) = (0, None::<String>);
        loop {
            let path = match &cursor {
                Some(cursor) => format!("/servers?limit=100&cursor={cursor}"),
                None => "/servers?limit=100".to_owned(),
            };
            let page = self.http.send(&Method::GET, &path, &[], None).await?;
            for server in items(&page.body) {
                let id = server["id"].as_str().unwrap_or_default();
                let logs = self
                    .http
                    .send(&Method::GET, &format!("/servers/{id}/logs"), &[], None)
                    .await?;
                count += items(&logs.body).len();
            }
            match page.body["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => return Ok(count),
            }
        }
    }
}

fn items(body: &Value) -> &[Value] {
    body["items"].as_array().map_or(&[], Vec::as_slice)
}
