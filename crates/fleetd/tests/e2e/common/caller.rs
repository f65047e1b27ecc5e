//! Requests made as one API key, checked against the spec like every other request.

use reqwest::Method;
use serde_json::{Value, json};

use super::{Reply, TestApp};

/// The app, called with `Authorization: Bearer <key>`.
pub struct As<'a> {
    app: &'a TestApp,
    key: String,
}

impl TestApp {
    /// Requests made with `key`.
    pub fn as_key(&self, key: &str) -> As<'_> {
        As {
            app: self,
            key: key.to_owned(),
        }
    }
}

impl As<'_> {
    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let name = method.as_str().to_lowercase();
        let mut request = self
            .app
            .client()
            .request(method, self.app.url(path))
            .bearer_auth(&self.key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        self.app.send(request, &name, path).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Reply {
        self.send(Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.send(Method::DELETE, path, None).await
    }

    /// Provisions a t2.micro in us-east-1; returns its id.
    pub async fn provision(&self, name: &str) -> String {
        let reply = self
            .post(
                "/servers",
                json!({"region": "us-east-1", "type": "t2.micro", "name": name}),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        reply.body["id"].as_str().expect("id").to_owned()
    }

    /// The ids of the servers the key lists.
    pub async fn listed(&self) -> Vec<String> {
        let reply = self.get("/servers?limit=100").await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        let mut ids: Vec<String> = reply.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|s| s["id"].as_str().map(str::to_owned))
            .collect();
        ids.sort();
        ids
    }

    /// Creates a project; returns its id.
    pub async fn create_project(&self, name: &str) -> String {
        let reply = self.post("/projects", json!({ "name": name })).await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        reply.body["id"].as_str().expect("id").to_owned()
    }

    /// Creates a key of `project` with `role`; returns its id and text.
    pub async fn create_key(&self, project: &str, role: &str) -> (String, String) {
        let reply = self
            .post(
                &format!("/projects/{project}/keys"),
                json!({ "role": role, "description": format!("e2e {role}") }),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        let id = reply.body["id"].as_str().expect("id").to_owned();
        (id, reply.body["key"].as_str().expect("key").to_owned())
    }
}
