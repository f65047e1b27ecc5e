//! The problems of watching: reading and following events, waiting, action records.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use fleet_domain::ServerState;
use fleet_domain::error::{ActionError, EventsError, WaitError};
use paperclip::actix::OperationModifier;
use paperclip::v2::models::{DefaultOperationRaw, DefaultSchemaRaw};
use paperclip::v2::schema::Apiv2Errors;

use super::{FAULT_INJECTED, document_problems};
use crate::problem::Problem;

impl From<EventsError> for Problem {
    fn from(error: EventsError) -> Self {
        let detail = error.to_string();
        match error {
            EventsError::BadCursor { .. } => Problem::bad_request("invalid-cursor", detail),
            EventsError::BadLimit { .. } | EventsError::UnknownType { .. } => {
                Problem::bad_request("invalid-query", detail)
            }
            EventsError::BadSelector(error) => Problem::invalid_label_selector(&error, detail),
            EventsError::Expired { .. } => Problem::new(StatusCode::GONE, "cursor-expired", detail),
            EventsError::Injected(fault) => fault.into(),
            EventsError::Store(e) => e.into(),
        }
    }
}

impl From<WaitError> for Problem {
    fn from(error: WaitError) -> Self {
        let detail = error.to_string();
        match error {
            WaitError::NotFound(_) => Problem::not_found(detail),
            WaitError::NoStates => Problem::bad_request("invalid-query", detail),
            WaitError::Unreachable { state, .. } => {
                let mut problem = Problem::new(StatusCode::CONFLICT, "state-unreachable", detail);
                problem.state = Some(state.into());
                problem
            }
            WaitError::Injected(fault) => fault.into(),
            WaitError::Store(e) => e.into(),
        }
    }
}

impl From<ActionError> for Problem {
    fn from(error: ActionError) -> Self {
        let detail = error.to_string();
        match error {
            ActionError::NotFound(_) | ActionError::ServerNotFound(_) => Problem::not_found(detail),
            ActionError::BadLimit { .. } => Problem::bad_request("invalid-query", detail),
            ActionError::BadCursor(_) => Problem::bad_request("invalid-cursor", detail),
            ActionError::Store(e) => e.into(),
        }
    }
}

impl Problem {
    /// 408: a wait ran out of time with the server in `state`.
    pub fn wait_timeout(state: ServerState, seconds: u32) -> Self {
        let mut problem = Problem::new(
            StatusCode::REQUEST_TIMEOUT,
            "wait-timeout",
            format!("the server is still {state} after {seconds} s"),
        );
        problem.state = Some(state.into());
        problem
    }

    /// 503: the service is shutting down; another replica, or this one restarted, answers
    /// a retry.
    pub fn shutting_down() -> Self {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting-down",
            "the service is shutting down; retry",
        )
    }
}

failure!(
    /// Why listing events failed.
    EventsFailure {
        400 => "`after` is not a sequence number, or `server_id`, `type` or `limit` is invalid (the problem names which), or the label selector (`invalid-label-selector`, with the `position` where it went wrong).",
        410 => "Events after `after` were pruned (older than the retention window): read the current state, then follow from a newer cursor.",
        500 => "The service failed.",
        502 => FAULT_INJECTED,
        503 => "The store is unavailable, overloaded or contended; retry after `Retry-After` seconds.",
        504 => FAULT_INJECTED,
    }
);

failure!(
    /// Why a stream of events could not start.
    StreamFailure {
        400 => "`after` or `Last-Event-ID` is not a sequence number, or `server_id` or `type` is invalid (the problem names which), or the label selector (`invalid-label-selector`, with the `position` where it went wrong).",
        410 => "Events after the cursor were pruned (older than the retention window): read the current state, then follow from a newer cursor.",
        500 => "The service failed.",
        503 => "The store is unavailable, overloaded or contended; retry after `Retry-After` seconds.",
    }
);

failure!(
    /// Why a wait failed.
    WaitFailure {
        400 => "The id is neither a UUID nor an EC2 instance id (`i-` and 17 hex digits), no `state` was given, a `state` is not a state, or `timeout` is not 1 to 60.",
        404 => "No server has this id.",
        408 => "The timeout passed first; the problem's `state` is the server's state then.",
        409 => "The server is in a state from which none of the states asked for can be reached (waiting for `running` on a terminated server); the problem's `state` names it.",
        500 => "The service failed.",
        502 => FAULT_INJECTED,
        503 => "The store is unavailable, overloaded or contended, or the service is shutting down; retry after `Retry-After` seconds.",
        504 => FAULT_INJECTED,
    }
);

failure!(
    /// Why reading an action failed.
    ActionFailure {
        400 => "The id is not a UUID.",
        404 => "No action has this id.",
        500 => "The service failed.",
        503 => "The store is unavailable, overloaded or contended; retry after `Retry-After` seconds.",
    }
);

failure!(
    /// Why listing a server's actions failed.
    ServerActionsFailure {
        400 => "The id is neither a UUID nor an EC2 instance id (`i-` and 17 hex digits), or `limit` or `cursor` is invalid.",
        404 => "No server has this id.",
        500 => "The service failed.",
        503 => "The store is unavailable, overloaded or contended; retry after `Retry-After` seconds.",
    }
);

#[cfg(test)]
mod tests {
    use fleet_domain::error::StoreError;
    use fleet_domain::{ActionId, ServerId};

    use super::*;

    #[test]
    fn each_watching_error_has_its_status_and_type() {
        let id = ServerId::random();
        let cases: Vec<(Problem, u16, &str)> = vec![
            (
                EventsError::BadCursor { given: "-1".into() }.into(),
                400,
                "invalid-cursor",
            ),
            (
                EventsError::UnknownType {
                    given: "x".into(),
                    known: "server.billed".into(),
                }
                .into(),
                400,
                "invalid-query",
            ),
            (
                EventsError::Expired {
                    after: 3,
                    pruned_through: 9,
                }
                .into(),
                410,
                "cursor-expired",
            ),
            (WaitError::NotFound(id).into(), 404, "not-found"),
            (WaitError::NoStates.into(), 400, "invalid-query"),
            (
                ActionError::NotFound(ActionId::random()).into(),
                404,
                "not-found",
            ),
            (ActionError::ServerNotFound(id).into(), 404, "not-found"),
            (
                StoreError::Unavailable(anyhow::anyhow!("down")).into(),
                503,
                "unavailable",
            ),
            (Problem::shutting_down(), 503, "shutting-down"),
        ];
        for (problem, status, slug) in cases {
            assert_eq!(problem.status, status, "{problem}");
            assert_eq!(problem.problem_type, format!("urn:fleet:problem:{slug}"));
        }
    }

    #[test]
    fn an_unreachable_state_and_a_timeout_name_the_state() {
        let unreachable: Problem = WaitError::Unreachable {
            id: ServerId::random(),
            state: ServerState::Terminated,
            wanted: vec![ServerState::Running],
        }
        .into();
        assert_eq!(unreachable.status, 409);
        assert_eq!(unreachable.state, Some(crate::dto::ServerState::Terminated));
        assert!(
            unreachable.detail.contains("never be running"),
            "{}",
            unreachable.detail
        );
        let timeout = Problem::wait_timeout(ServerState::Starting, 5);
        assert_eq!(timeout.status, 408);
        assert_eq!(timeout.state, Some(crate::dto::ServerState::Starting));
        assert!(timeout.detail.contains("starting"), "{}", timeout.detail);
    }
}
