//! Action records: opened by provisioning and accepted actions, ended by the changes that
//! complete or abandon them (one at a time, through `apply` or in a batch of due work), and
//! read one by one or as a server's history, newest first.

use std::sync::Arc;

use fleet_domain::action::{ActionCommand, ActionRecord, ActionStatus};
use fleet_domain::lifecycle;
use fleet_domain::ports::DueWork;
use fleet_domain::{Action, PageRequest, ServerId, ServerState};

use crate::TestedStore;
use crate::fixtures::{
    apply, at, config, get, instant_config, new_server, plan, pools, processed, stopped,
};

/// A server's actions, newest first, in one page.
async fn actions_of(store: &Arc<dyn TestedStore>, server: ServerId) -> Vec<ActionRecord> {
    let page = PageRequest {
        limit: 100,
        ..PageRequest::default()
    };
    store
        .server_actions(server, &page)
        .await
        .expect("server_actions")
}

/// The commands and statuses of `actions`.
fn outline(actions: &[ActionRecord]) -> Vec<(ActionCommand, ActionStatus)> {
    actions.iter().map(|a| (a.command, a.status)).collect()
}

/// Provisioning stores its record running; completing the transition (by `apply` or by due
/// work) succeeds it at the completion's time; an accepted action opens the next one; a
/// terminate in mid-transition fails the running action with the reason and runs itself.
pub async fn action_records_are_opened_and_ended_by_the_changes(store: Arc<dyn TestedStore>) {
    pools(&store, &[("lab-a", "10.10.0.0/24")]).await;
    let new = new_server("lab-a", "t2.micro", at(0));
    let provisioning = new.action.clone();
    let server = store.provision(new).await.expect("provision");
    assert_eq!(
        store.action(provisioning.id).await.expect("action"),
        Some(provisioning.clone())
    );
    assert_eq!(
        actions_of(&store, server.id).await,
        std::slice::from_ref(&provisioning)
    );

    let work = DueWork::Transitions { due_by: at(60) };
    let complete = |s: &fleet_domain::Server| lifecycle::plan_completion(s, at(60), &config());
    assert_eq!(processed(&store, work, 10, &complete).await, 1);
    let provisioned = store
        .action(provisioning.id)
        .await
        .expect("action")
        .expect("stored");
    assert_eq!(provisioned.status, ActionStatus::Success);
    assert_eq!(
        provisioned.finished_at,
        Some(at(10)),
        "dated at its completion"
    );
    assert_eq!(provisioned.error, None);

    let running = get(&store, server.id).await;
    let stop = plan(&running, Action::Stop, at(100), &config());
    let stop_record = stop.action_opened.clone().expect("a stop record");
    let stopping = apply(&store, &stop).await;
    let terminate = plan(&stopping, Action::Terminate, at(102), &config());
    let terminate_record = terminate.action_opened.clone().expect("a terminate record");
    let terminating = apply(&store, &terminate).await;
    let failed_stop = store
        .action(stop_record.id)
        .await
        .expect("action")
        .expect("stored");
    assert_eq!(
        (
            failed_stop.status,
            failed_stop.finished_at,
            failed_stop.error.as_deref()
        ),
        (
            ActionStatus::Error,
            Some(at(102)),
            Some("terminate requested while stopping")
        )
    );
    let due = terminating.transition_due_at.expect("terminating");
    let done = lifecycle::plan_completion(&terminating, due, &config()).expect("due");
    assert_eq!(apply(&store, &done).await.state, ServerState::Terminated);

    let history = actions_of(&store, server.id).await;
    assert_eq!(
        outline(&history),
        [
            (
                ActionCommand::Lifecycle(Action::Terminate),
                ActionStatus::Success
            ),
            (ActionCommand::Lifecycle(Action::Stop), ActionStatus::Error),
            (ActionCommand::Provision, ActionStatus::Success),
        ],
        "newest first"
    );
    assert_eq!(history[0].id, terminate_record.id);
    assert_eq!(history[0].request_id, terminate_record.request_id);
    assert_eq!(history[0].finished_at, Some(due));

    let first = PageRequest {
        limit: 2,
        ..PageRequest::default()
    };
    let page = store
        .server_actions(server.id, &first)
        .await
        .expect("server_actions");
    assert_eq!(page, history[..2].to_vec());
    let next = PageRequest {
        after: Some(page[1].cursor()),
        ..first
    };
    let rest = store
        .server_actions(server.id, &next)
        .await
        .expect("server_actions");
    assert_eq!(
        rest,
        history[2..].to_vec(),
        "the cursor continues after the page"
    );
}

/// An action whose transition completes within its own change (no delay) is stored already
/// succeeded, and the reaper's terminate, applied with due work, is recorded as any other.
pub async fn actions_completed_at_once_and_the_reaper_s_are_recorded(store: Arc<dyn TestedStore>) {
    pools(&store, &[("lab-a", "10.10.0.0/24")]).await;
    let down = stopped(&store, "lab-a", at(0)).await;
    let start = plan(&down, Action::Start, at(100), &instant_config());
    let started = start.action_opened.clone().expect("a start record");
    assert_eq!(apply(&store, &start).await.state, ServerState::Running);
    let stored = store
        .action(started.id)
        .await
        .expect("action")
        .expect("stored");
    assert_eq!(
        (stored.status, stored.finished_at),
        (ActionStatus::Success, Some(at(100)))
    );

    let idle = stopped(&store, "lab-a", at(200)).await;
    let now = at(200) + config().idle_timeout + chrono::TimeDelta::minutes(1);
    let reap = move |s: &fleet_domain::Server| {
        lifecycle::plan_reap(s, now, &config(), &fleet_domain::Entropy::os())
    };
    let work = DueWork::Idle { stopped_by: now };
    assert_eq!(processed(&store, work, 10, &reap).await, 1);
    let newest = actions_of(&store, idle.id).await;
    assert_eq!(
        outline(&newest[..1]),
        [(
            ActionCommand::Lifecycle(Action::Terminate),
            ActionStatus::Running
        )]
    );
    assert!(
        newest[1..]
            .iter()
            .all(|a| a.status == ActionStatus::Success),
        "the provision and the stop had completed: {newest:?}"
    );
}

/// A no-op action (a start of a server already starting, whose start is overdue) opens no
/// record: its change only completes the running start.
pub async fn a_no_op_action_records_nothing(store: Arc<dyn TestedStore>) {
    pools(&store, &[("lab-a", "10.10.0.0/24")]).await;
    let down = stopped(&store, "lab-a", at(0)).await;
    let starting = apply(&store, &plan(&down, Action::Start, at(100), &config())).await;
    let before = actions_of(&store, down.id).await;
    let overdue = lifecycle::plan_action(
        &starting,
        Action::Start,
        at(200),
        &config(),
        &fleet_domain::RequestContext::api("req-again"),
        &fleet_domain::Entropy::os(),
    )
    .expect("allowed")
    .expect("the overdue start completes");
    assert!(overdue.action_opened.is_none());
    assert_eq!(apply(&store, &overdue).await.state, ServerState::Running);
    let after = actions_of(&store, down.id).await;
    assert_eq!(after.len(), before.len(), "no record for the no-op");
    assert_eq!(
        outline(&after[..1]),
        [(
            ActionCommand::Lifecycle(Action::Start),
            ActionStatus::Success
        )]
    );
    assert_eq!(after[0].id, before[0].id);
}
