//! Profiles: written owner-only, and their URL and key used unless a flag or the
//! environment says otherwise.

use fleet_client::Client;

use crate::run::Shell;

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
    let shell = Shell::with_fleetd().await;
    let url = shell.url();
    let viewer = key(url, "viewer").await;
    let member = key(url, "member").await;

    let set = ["profile", "set", "work", "--url", url, "--api-key", &viewer];
    shell.fleet(&[], &set).await.ok();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&shell.config)
            .expect("written")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the file holds keys");
    }

    let listed = shell.fleet(&[], &["profile", "list"]).await.ok();
    assert!(listed.stdout.contains("work"), "{}", listed.stdout);
    assert!(
        !listed.stdout.contains(&viewer),
        "a key is never printed whole"
    );

    // The profile's URL is reached and its viewer key is sent: reading works, creating is
    // refused for the role.
    let work = [("FLEET_PROFILE", "work")];
    shell.fleet(&work, &["servers", "list"]).await.ok();
    let create = [
        "servers",
        "create",
        "--region",
        "us-east-1",
        "--type",
        "t2.micro",
    ];
    let refused = shell.fleet(&work, &create).await;
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
    shell.fleet(&with_member, &create).await.ok();
    let flag = ["--api-key", viewer.as_str()];
    let flagged = shell
        .fleet(&with_member, &[&flag[..], &create[..]].concat())
        .await;
    assert_eq!(flagged.code, 1, "{flagged:?}");

    // Without --profile, the one named `default`; a value from the environment is never
    // stored by `profile set`.
    let env_key = [("FLEET_API_KEY", member.as_str())];
    shell
        .fleet(&env_key, &["profile", "set", "default", "--url", url])
        .await
        .ok();
    let stored = std::fs::read_to_string(&shell.config).expect("config");
    assert!(!stored.contains(&member), "{stored}");
    let id = shell.create_server("us-east-1", "t2.micro").await;
    shell.fleet(&[], &["servers", "get", &id]).await.ok();
}
