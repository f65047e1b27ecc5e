//! Profiles: written owner-only, and their URL and key used unless a flag or the
//! environment says otherwise.

use fleet_client::Client;

use crate::fleetd::Fleetd;
use crate::run::fleet;

/// A new key of the default project with this role, made through the API (open mode
/// serves a keyless request as its admin).
async fn key(url: &str, role: &str) -> String {
    let client = Client::connect(url, None).expect("client");
    let projects = client.list_projects().send().await.expect("projects");
    let default = projects
        .items
        .iter()
        .find(|p| p.name == "default")
        .expect("the default project");
    client
        .create_key()
        .id(default.id)
        .body_map(|body| body.role(role))
        .send()
        .await
        .expect("create a key")
        .into_inner()
        .key
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_is_private_and_its_url_and_key_are_used() {
    let service = Fleetd::start().await;
    let viewer = key(&service.url, "viewer").await;
    let member = key(&service.url, "member").await;
    let dir = tempfile::tempdir().expect("dir");
    let config = dir.path().join("fleet").join("config.toml");

    fleet(
        &config,
        &[],
        &[
            "profile",
            "set",
            "work",
            "--url",
            &service.url,
            "--api-key",
            &viewer,
        ],
    )
    .await
    .ok();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&config)
            .expect("written")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the file holds keys");
    }

    let listed = fleet(&config, &[], &["profile", "list"]).await.ok();
    assert!(listed.stdout.contains("work"), "{}", listed.stdout);
    assert!(
        !listed.stdout.contains(&viewer),
        "a key is never printed whole"
    );

    // The profile's URL is reached and its viewer key is sent: reading works, creating is
    // refused for the role.
    let work = [("FLEET_PROFILE", "work")];
    fleet(&config, &work, &["servers", "list"]).await.ok();
    let create = [
        "servers",
        "create",
        "--region",
        "us-east-1",
        "--type",
        "t2.micro",
    ];
    let refused = fleet(&config, &work, &create).await;
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(
        refused.stderr.contains("required role: member"),
        "{}",
        refused.stderr
    );

    // The environment's key wins over the profile's, and a flag over the environment.
    let with_member = [
        ("FLEET_PROFILE", "work"),
        ("FLEET_API_KEY", member.as_str()),
    ];
    fleet(&config, &with_member, &create).await.ok();
    let flagged = fleet(
        &config,
        &with_member,
        &[&["--api-key", viewer.as_str()][..], &create[..]].concat(),
    )
    .await;
    assert_eq!(flagged.code, 1, "{flagged:?}");

    // Without --profile, the one named `default`; a value from the environment is never
    // stored by `profile set`.
    fleet(
        &config,
        &[("FLEET_API_KEY", member.as_str())],
        &["profile", "set", "default", "--url", &service.url],
    )
    .await
    .ok();
    let stored = std::fs::read_to_string(&config).expect("config");
    assert!(!stored.contains(&member), "{stored}");
    fleet(&config, &[], &["catalog"]).await.ok();
}
