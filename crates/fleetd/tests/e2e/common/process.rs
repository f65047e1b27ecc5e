//! The real fleetd binary as a child process, for what only a process can show: several
//! replicas on one database, and a crash (SIGKILL) in the middle of work.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::Value;

/// A running fleetd process.
pub struct Fleetd {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    client: reqwest::Client,
    /// Every JSON log line read from its stdout so far.
    log: Arc<Mutex<Vec<Value>>>,
    reader: Option<JoinHandle<()>>,
}

impl Fleetd {
    /// Starts fleetd on `database_url` with a random port and `args`, and waits until it listens.
    pub fn start(database_url: &str, args: &[String]) -> Fleetd {
        let mut child = Command::new(env!("CARGO_BIN_EXE_fleetd"))
            .args(["--bind", "127.0.0.1:0"])
            .args(args)
            .env("DATABASE_URL", database_url)
            .env_remove("FLEET_CONFIG")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start fleetd");
        let stdout = child.stdout.take().expect("piped stdout");
        let (found, address) = mpsc::channel();
        let log = Arc::new(Mutex::new(Vec::new()));
        let kept = log.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let entry = serde_json::from_str::<Value>(&line).unwrap_or(Value::Null);
                if entry["msg"] == "fleetd listening" {
                    let _ = found.send(entry["address"].as_str().unwrap_or("").to_owned());
                }
                kept.lock().expect("the log").push(entry);
            }
        });
        let Ok(base) = address.recv_timeout(Duration::from_secs(60)) else {
            // Not left running after the test fails.
            let _ = child.kill();
            let _ = child.wait();
            panic!("fleetd did not log the address it listens on within 60 s");
        };
        Fleetd {
            child,
            base,
            client: reqwest::Client::new(),
            log,
            reader: Some(reader),
        }
    }

    /// The JSON log lines it has written so far.
    pub fn log(&self) -> Vec<Value> {
        self.log.lock().expect("the log").clone()
    }

    /// Sends SIGTERM, waits for the process to exit, and returns its exit status's success
    /// and every log line it wrote.
    pub fn terminate(mut self) -> (bool, Vec<Value>) {
        let signalled = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(signalled.success(), "kill -TERM");
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait for fleetd") {
                break status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "fleetd did not exit within 60 s of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        if let Some(reader) = self.reader.take() {
            reader.join().expect("the log reader");
        }
        (status.success(), self.log())
    }

    /// Kills the process with SIGKILL: no shutdown, no cleanup.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL fleetd");
        self.child.wait().expect("reap fleetd");
    }

    pub async fn get(&self, path: &str) -> Value {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("request");
        assert!(
            response.status().is_success(),
            "GET {path}: {}",
            response.status()
        );
        response.json().await.expect("json")
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Waits (up to `limit`) until `server`'s state is `state`.
    pub async fn wait_for_state(&self, id: &str, state: &str, limit: Duration) -> Value {
        let deadline = std::time::Instant::now() + limit;
        loop {
            let server = self.get(&format!("/servers/{id}")).await;
            if server["state"] == state {
                return server;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "server {id} still {} after {limit:?}, expected {state}",
                server["state"]
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Fleetd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
