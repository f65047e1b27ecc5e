//! What a client may change of a server apart from its lifecycle: its name and its labels
//! (`PATCH /servers/{id}`, a JSON merge patch), planned as a guarded [`StateChange`] with an
//! event, as every other change is.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::event::{EventKind, EventSubject, NewEvent, RequestContext};
use crate::labels::Labels;
use crate::lifecycle::StateChange;
use crate::server::Server;

/// A client's update of a server, as sent: a field left out stays as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerUpdate {
    /// A new name (checked as at provisioning).
    pub name: Option<String>,
    /// Labels to set (a value) or remove (`None`), the others kept (RFC 7396).
    pub labels: BTreeMap<String, Option<String>>,
}

/// The change that gives `server` the name `name` and the labels `labels` at `now`, with
/// an event saying what changed; `None` when both are what the server has already.
pub fn plan_update(
    server: &Server,
    name: &str,
    labels: Labels,
    now: DateTime<Utc>,
    ctx: &RequestContext,
) -> Option<StateChange> {
    let renamed = name != server.name;
    if !renamed && labels == server.labels {
        return None;
    }
    let mut parts = Vec::new();
    if renamed {
        parts.push(format!("name '{}' → '{name}'", server.name));
    }
    let set: Vec<&str> = labels
        .iter()
        .filter(|(key, value)| server.labels.get(key) != Some(*value))
        .map(|(key, _)| key)
        .collect();
    if !set.is_empty() {
        parts.push(format!("labels set: {}", set.join(", ")));
    }
    let removed: Vec<&str> = server
        .labels
        .iter()
        .filter(|(key, _)| labels.get(key).is_none())
        .map(|(key, _)| key)
        .collect();
    if !removed.is_empty() {
        parts.push(format!("labels removed: {}", removed.join(", ")));
    }
    let mut change = StateChange::from(server);
    change.server.name = name.to_owned();
    change.server.labels = labels;
    change.server.updated_at = now;
    change.events.push(NewEvent {
        subject: EventSubject::Server(server.id),
        at: now,
        kind: EventKind::Updated,
        from_state: None,
        to_state: None,
        actor: ctx.actor,
        request_id: ctx.request_id.clone(),
        trace: ctx.trace,
        key: ctx.key,
        message: format!("updated by {}: {}", ctx.actor, parts.join("; ")),
        reason: None,
    });
    Some(change)
}

#[cfg(test)]
#[path = "server_update_tests.rs"]
mod tests;
