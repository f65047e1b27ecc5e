//! Bulk actions: one action on every server of the caller's project a selector picks.

use fleet_domain::error::ActError;
use fleet_domain::service::{BulkActRequest, BulkActResult};
use paperclip::actix::Apiv2Schema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Action, ActionRecord, ServerState};
use crate::problem::Problem;

/// A request to act on every server of your project that a label selector picks.
#[derive(Debug, Clone, Deserialize, Apiv2Schema)]
#[serde(deny_unknown_fields)]
pub struct BulkActionRequest {
    /// Which servers: a label selector in the grammar of `GET /servers`' `label_selector`,
    /// with at least one requirement, so that a slip cannot act on every server (an empty
    /// one is a 422 `label-selector-required`, a malformed one a 400
    /// `invalid-label-selector` with its `position`).
    pub label_selector: String,
    /// What to do to each.
    pub action: Action,
    /// Only servers in this region: one of the catalog's; another is a 422
    /// `unknown-region`.
    #[serde(default, deserialize_with = "super::optional::not_null")]
    pub region: Option<String>,
    /// Only servers of this type: one of the catalog's; another is a 422
    /// `unknown-server-type`.
    #[serde(
        default,
        rename = "type",
        deserialize_with = "super::optional::not_null"
    )]
    pub server_type: Option<String>,
    /// Only servers in this state.
    #[serde(default, deserialize_with = "super::optional::not_null")]
    pub state: Option<ServerState>,
}

impl From<BulkActionRequest> for BulkActRequest {
    fn from(request: BulkActionRequest) -> Self {
        Self {
            label_selector: request.label_selector,
            action: request.action.into(),
            region: request.region,
            server_type: request.server_type,
            state: request.state.map(Into::into),
        }
    }
}

/// What became of the action on one server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Apiv2Schema)]
#[serde(rename_all = "snake_case")]
pub enum BulkActionOutcome {
    /// The server moved into the action's transitional state (or past it): `action` is
    /// the action's record.
    Accepted,
    /// The server already was in, or heading to, the state the action asks for; nothing
    /// changed.
    Noop,
    /// The server's state does not allow the action: `problem` names the state and the
    /// actions it allows.
    Conflict,
    /// The action failed on this server for another reason (a quota, contention, the
    /// store): `problem` says which, as the same action on this server alone would have.
    Failed,
}

/// The action on one server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Apiv2Schema)]
pub struct BulkActionResult {
    /// The server.
    pub server_id: Uuid,
    /// Its name.
    pub name: String,
    /// What became of the action.
    pub outcome: BulkActionOutcome,
    /// The server's state after the action; as selected when it failed.
    pub state: ServerState,
    /// For `accepted`: the action's record (follow it with `GET /actions/{id}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<ActionRecord>,
    /// For `conflict` and `failed`: why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<Problem>,
}

impl BulkActionResult {
    /// The result of acting on one server; a problem carries the request's id.
    pub fn new(result: BulkActResult, request_id: &str) -> Self {
        let selected = result.server;
        match result.outcome {
            Ok(outcome) => {
                let server = outcome.view.server;
                Self {
                    server_id: server.id.as_uuid(),
                    name: server.name,
                    outcome: if outcome.changed {
                        BulkActionOutcome::Accepted
                    } else {
                        BulkActionOutcome::Noop
                    },
                    state: server.state.into(),
                    action: outcome.view.action.map(Into::into),
                    problem: None,
                }
            }
            Err(error) => Self {
                server_id: selected.id.as_uuid(),
                name: selected.name,
                outcome: if matches!(error, ActError::Conflict(_)) {
                    BulkActionOutcome::Conflict
                } else {
                    BulkActionOutcome::Failed
                },
                state: selected.state.into(),
                action: None,
                problem: Some(Problem::from(error).with_request_id(request_id)),
            },
        }
    }
}

/// How many servers had each outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Apiv2Schema)]
pub struct BulkActionCounts {
    /// Servers the action changed.
    pub accepted: u64,
    /// Servers already where the action leads.
    pub noop: u64,
    /// Servers whose state does not allow the action.
    pub conflict: u64,
    /// Servers the action failed on for another reason.
    pub failed: u64,
}

/// What a bulk action did, server by server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Apiv2Schema)]
pub struct BulkActionReport {
    /// The action asked.
    pub action: Action,
    /// How many servers the selector and filters picked: each has a result.
    pub matched: u64,
    /// How many had each outcome.
    pub counts: BulkActionCounts,
    /// Each server's result, oldest server first.
    pub results: Vec<BulkActionResult>,
}

impl BulkActionReport {
    /// The report of `action` from its results.
    pub fn new(action: Action, results: Vec<BulkActionResult>) -> Self {
        let mut counts = BulkActionCounts::default();
        for result in &results {
            let count = match result.outcome {
                BulkActionOutcome::Accepted => &mut counts.accepted,
                BulkActionOutcome::Noop => &mut counts.noop,
                BulkActionOutcome::Conflict => &mut counts.conflict,
                BulkActionOutcome::Failed => &mut counts.failed,
            };
            *count += 1;
        }
        Self {
            action,
            matched: results.len() as u64,
            counts,
            results,
        }
    }
}
