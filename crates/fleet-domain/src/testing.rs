//! Fixtures shared by the domain's unit tests.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};

use crate::billing::{BillingPolicy, MonthToDate};
use crate::event::{Actor, Event, EventKind, EventSubject, NewEvent};
use crate::ids::{ProjectId, ServerId};
use crate::labels::Labels;
use crate::lifecycle::LifecycleConfig;
use crate::money::Money;
use crate::server::Server;
use crate::state::ServerState;

/// 2026-01-01T00:00:00Z, a fixed start for deterministic tests.
pub fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_225_600, 0).expect("valid timestamp")
}

/// `t0` plus whole seconds.
pub fn at(seconds: i64) -> DateTime<Utc> {
    t0() + TimeDelta::seconds(seconds)
}

/// Labels from pairs, valid by the rules a client's are checked by.
pub fn labels(pairs: &[(&str, &str)]) -> Labels {
    let map: BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Labels::from_client(map).expect("valid labels")
}

/// A t2.micro-priced server created at `t0` in `state`, with no run open.
pub fn server(state: ServerState) -> Server {
    Server {
        id: ServerId::random(),
        project: ProjectId::DEFAULT,
        name: "test".to_owned(),
        labels: Labels::default(),
        region: "us-east-1".to_owned(),
        server_type: "t2.micro".to_owned(),
        state,
        state_reason: None,
        ip: Some("10.0.0.1".parse().expect("valid ip")),
        hourly_price: Money::from_micros(11_600),
        generation: 0,
        created_at: t0(),
        updated_at: t0(),
        started_at: None,
        stopped_at: None,
        terminated_at: None,
        transition_due_at: None,
        billed_until: None,
        billed_seconds: 0,
        billed_stopped_seconds: 0,
        billed_amount: Money::ZERO,
        policy: BillingPolicy::default(),
        month_to_date: MonthToDate::default(),
        chaos: Default::default(),
    }
}

/// An event of `kind` about `server` (with its project and labels) at `seq`.
pub fn event(seq: i64, server: &Server, kind: EventKind) -> Event {
    Event {
        id: seq,
        seq: Some(seq),
        project: server.project,
        labels: server.labels.clone(),
        event: NewEvent {
            subject: EventSubject::Server(server.id),
            at: at(seq),
            kind,
            from_state: None,
            to_state: None,
            actor: Actor::Api,
            request_id: None,
            trace: None,
            key: None,
            message: String::new(),
            reason: None,
        },
    }
}

/// Delays of 10 s (provisioning), 5 s (start, stop, reboot, terminate); billing every 60 s;
/// idle after 30 minutes.
pub fn config() -> LifecycleConfig {
    let five = TimeDelta::seconds(5);
    LifecycleConfig {
        delays: crate::lifecycle::TransitionDelays {
            provisioning: TimeDelta::seconds(10),
            starting: five,
            stopping: five,
            rebooting: five,
            terminating: five,
        },
        billing_period: TimeDelta::seconds(60),
        idle_timeout: TimeDelta::minutes(30),
    }
}
