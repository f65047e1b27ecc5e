//! Quotas across replicas: two fleetd processes on one Postgres never take a project past
//! its quota, however their requests interleave.

use futures::future::join_all;
use serde_json::{Value, json};

use crate::common::pg::TempDatabase;
use crate::common::process::Fleetd;

/// The project `default`, where keyless requests in open mode (loopback) provision.
const DEFAULT_PROJECT: &str = "00000000-0000-0000-0000-000000000001";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_provisions_on_two_replicas_never_pass_the_server_quota() {
    let database = TempDatabase::create().await;
    let replicas = [
        Fleetd::start(&database.url, &[]),
        Fleetd::start(&database.url, &[]),
    ];
    let client = reqwest::Client::new();
    let set = client
        .put(format!(
            "{}/projects/{DEFAULT_PROJECT}/quotas",
            replicas[0].base
        ))
        .json(&json!({ "max_servers": 10 }))
        .send()
        .await
        .expect("PUT quotas");
    assert_eq!(
        set.status(),
        200,
        "{}",
        set.text().await.unwrap_or_default()
    );

    let attempts = (0..64).map(|i| {
        let replica = &replicas[i % 2];
        replica.post(
            "/servers",
            json!({ "region": "us-east-1", "type": "t2.micro", "name": format!("q-{i}") }),
        )
    });
    let answers: Vec<(u16, Value)> = join_all(attempts).await;
    let created = answers.iter().filter(|(status, _)| *status == 201).count();
    let refused: Vec<&Value> = answers
        .iter()
        .filter(|(status, _)| *status == 403)
        .map(|(_, body)| body)
        .collect();
    assert_eq!(created, 10, "exactly the quota: {answers:?}");
    assert_eq!(refused.len(), 54, "{answers:?}");
    for problem in refused {
        assert!(
            problem["type"]
                .as_str()
                .is_some_and(|t| t.ends_with("quota-exceeded")),
            "{problem}"
        );
        assert_eq!(problem["quota"], "servers", "{problem}");
        assert_eq!(problem["limit"], 10, "{problem}");
        assert_eq!(problem["used"], 10, "{problem}");
    }
    let quotas = replicas[1]
        .get(&format!("/projects/{DEFAULT_PROJECT}/quotas"))
        .await;
    assert_eq!(quotas["servers"], 10, "{quotas}");
    assert_eq!(quotas["max_servers"], 10, "{quotas}");
    let project = replicas[0]
        .get(&format!("/projects/{DEFAULT_PROJECT}"))
        .await;
    assert_eq!(
        project["quotas"], quotas,
        "a project shows its limits and use"
    );
    for replica in replicas {
        let (stopped, _) = replica.terminate();
        assert!(stopped, "fleetd exits cleanly");
    }
}
