//! The EC2 endpoint end to end on both stores (open mode, unsigned, as `cargo run` serves
//! it; boto3, the AWS CLI and signatures are the contract's `ec2.py`): instances launched
//! through EC2 are the REST API's servers, which take their instance ids in paths, and
//! DescribeInstances pages every instance once.

use std::collections::BTreeSet;

use crate::common::TestApp;
use crate::common::pg::TempDatabase;

const FORM: &str = "application/x-www-form-urlencoded; charset=utf-8";

/// An EC2 request's status and body.
async fn ec2(app: &TestApp, form: &str) -> (u16, String) {
    let reply = app
        .post_raw(
            "/ec2",
            Some(FORM),
            format!("Version=2016-11-15&{form}").into_bytes(),
        )
        .await;
    (reply.status, reply.text)
}

/// The texts of every `<name>` element, in order.
fn elements(xml: &str, name: &str) -> Vec<String> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    xml.split(&open)
        .skip(1)
        .filter_map(|rest| rest.split_once(&close).map(|(text, _)| text.to_owned()))
        .collect()
}

async fn run(app: &TestApp, count: u32) -> Vec<String> {
    let (status, xml) = ec2(
        app,
        &format!(
            "Action=RunInstances&ImageId=ami-0f1ee700000000002&InstanceType=t2.micro\
             &MinCount={count}&MaxCount={count}&TagSpecification.1.ResourceType=instance\
             &TagSpecification.1.Tag.1.Key=team&TagSpecification.1.Tag.1.Value=blue"
        ),
    )
    .await;
    assert_eq!(status, 200, "{xml}");
    let ids = elements(&xml, "instanceId");
    assert_eq!(ids.len(), count as usize, "{xml}");
    ids
}

async fn instances_are_servers(app: &TestApp) {
    let ids = run(app, 3).await;
    let first = &ids[0];

    let server = app.get(&format!("/servers/{first}")).await;
    assert_eq!(server.status, 200, "{}", server.text);
    let uuid = server.body["id"].as_str().expect("id").replace('-', "");
    assert_eq!(
        &uuid[..17],
        &first[2..],
        "the instance id is the server id's first digits"
    );
    assert_eq!(server.body["labels"]["team"], "blue");
    assert_eq!(
        server.body["labels"]["ec2.fleet.dev/image"],
        "ami-0f1ee700000000002"
    );
    assert_eq!(
        server.body["region"], "us-east-1",
        "the first region, unsigned"
    );

    app.advance(10).await;
    let (status, xml) = ec2(
        app,
        &format!("Action=DescribeInstances&InstanceId.1={first}"),
    )
    .await;
    assert_eq!(status, 200, "{xml}");
    assert_eq!(elements(&xml, "name"), ["running"], "{xml}");
    assert_eq!(
        elements(&xml, "privateIpAddress"),
        [server.body["ip"].as_str().expect("ip").to_owned()]
    );

    let stop = app.act(first, "stop").await;
    assert_eq!(
        stop.status, 202,
        "REST acts on an instance id: {}",
        stop.text
    );
    let (_, xml) = ec2(
        app,
        "Action=DescribeInstances&Filter.1.Name=instance-state-name&Filter.1.Value.1=stopping\
         &Filter.2.Name=tag:team&Filter.2.Value.1=blue",
    )
    .await;
    assert_eq!(
        elements(&xml, "instanceId"),
        std::slice::from_ref(first),
        "{xml}"
    );
    for read in ["logs", "billing", "actions"] {
        let reply = app.get(&format!("/servers/{first}/{read}")).await;
        assert_eq!(reply.status, 200, "/{read} by instance id: {}", reply.text);
    }
    let waited = app
        .get(&format!("/servers/{first}/wait?state=stopping&timeout=1"))
        .await;
    assert_eq!(waited.status, 200, "{}", waited.text);

    let (status, xml) = ec2(
        app,
        &format!("Action=TerminateInstances&InstanceId.1={}", ids[1]),
    )
    .await;
    assert_eq!(status, 200, "{xml}");
    assert_eq!(
        elements(&xml, "name"),
        ["shutting-down", "running"],
        "{xml}"
    );
    app.advance(10).await;
    let (status, xml) = ec2(
        app,
        &format!("Action=StartInstances&InstanceId.1={}", ids[1]),
    )
    .await;
    assert_eq!(status, 400, "{xml}");
    assert_eq!(elements(&xml, "Code"), ["IncorrectInstanceState"], "{xml}");

    let unknown = "i-00000000000000000";
    assert_eq!(app.get(&format!("/servers/{unknown}")).await.status, 404);
    let (status, xml) = ec2(
        app,
        &format!("Action=DescribeInstances&InstanceId.1={unknown}"),
    )
    .await;
    assert_eq!(
        (status, elements(&xml, "Code")),
        (400, vec!["InvalidInstanceID.NotFound".to_owned()])
    );
    let (status, xml) = ec2(
        app,
        "Action=DescribeInstances&Filter.1.Name=vpc-id&Filter.1.Value.1=x",
    )
    .await;
    assert_eq!(
        (status, elements(&xml, "Code")),
        (400, vec!["InvalidParameterValue".to_owned()]),
        "an unknown filter is refused, not ignored"
    );
    let (status, xml) = ec2(app, "Action=DescribeVpcs").await;
    assert_eq!(
        (status, elements(&xml, "Code")),
        (400, vec!["InvalidAction".to_owned()])
    );
}

async fn pages_hold_every_instance_once(app: &TestApp) {
    let mut launched: BTreeSet<String> = run(app, 9).await.into_iter().collect();
    launched.extend(run(app, 3).await);
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut form = "Action=DescribeInstances&MaxResults=5&Filter.1.Name=tag:team\
                        &Filter.1.Value.1=blue"
            .to_owned();
        if let Some(token) = &token {
            form.push_str(&format!("&NextToken={token}"));
        }
        let (status, xml) = ec2(app, &form).await;
        assert_eq!(status, 200, "{xml}");
        let page = elements(&xml, "instanceId");
        assert!(page.len() <= 5, "{xml}");
        seen.extend(page);
        token = elements(&xml, "nextToken").pop();
        if token.is_none() {
            break;
        }
    }
    let unique: BTreeSet<String> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "no instance twice: {seen:?}");
    assert!(launched.is_subset(&unique), "every instance once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ec2_instances_are_rest_servers_on_sqlite() {
    let app = TestApp::spawn().await;
    instances_are_servers(&app).await;
    pages_hold_every_instance_once(&app).await;
    app.shut_down().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ec2_instances_are_rest_servers_on_postgres() {
    let database = TempDatabase::create().await;
    let app = TestApp::spawn_on(&database).await;
    instances_are_servers(&app).await;
    pages_hold_every_instance_once(&app).await;
    app.shut_down().await.expect("clean shutdown");
}
