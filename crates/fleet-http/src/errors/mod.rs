//! The one mapping from each use case's error to a problem response, and the error types
//! handlers return, each documenting in the spec the statuses it can produce.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use fleet_domain::PreconditionFailed;
use fleet_domain::error::{
    ActError, BulkActError, FaultRuleError, GetError, HistoryError, IdempotencyError, ListError,
    ProjectError, ProvisionError, StoreError, UpdateError,
};
use fleet_domain::faults::{InjectedFault, InvalidFaultRule};
use fleet_domain::quota::QuotaExceeded;
use fleet_domain::tenancy::{Forbidden, InvalidText};
use paperclip::actix::OperationModifier;
use paperclip::v2::models::{DefaultOperationRaw, DefaultSchemaRaw, Either, Response};
use paperclip::v2::schema::Apiv2Errors;

use crate::conditional::ETag;
use crate::problem::Problem;

impl From<StoreError> for Problem {
    fn from(error: StoreError) -> Self {
        let cause = error.to_string();
        match error {
            StoreError::Saturated { .. } => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "overloaded",
                "the service is overloaded: no database connection became free in time; \
                 retry later",
            )
            .with_cause(cause),
            StoreError::Contended(_) => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "contended",
                "the change waited too long for concurrent changes to the same data; retry \
                 later",
            )
            .with_cause(cause),
            // A schema this service does not expect (another version is rolling out) is a
            // passing condition for the client, as an unreachable database is.
            StoreError::Unavailable(_)
            | StoreError::SchemaBehind { .. }
            | StoreError::SchemaAhead { .. } => Problem::unavailable().with_cause(cause),
            StoreError::PoolCidrChanged(_) | StoreError::Corrupt(_) | StoreError::Unknown(_) => {
                Problem::internal(cause)
            }
        }
    }
}

impl From<Forbidden> for Problem {
    fn from(forbidden: Forbidden) -> Self {
        let mut problem = Problem::new(StatusCode::FORBIDDEN, "forbidden", forbidden.to_string());
        problem.required_role = Some(forbidden.needed.into());
        problem
    }
}

impl From<QuotaExceeded> for Problem {
    fn from(exceeded: QuotaExceeded) -> Self {
        let mut problem = Problem::new(
            StatusCode::FORBIDDEN,
            "quota-exceeded",
            exceeded.to_string(),
        );
        problem.quota = Some(exceeded.quota.as_str().to_owned());
        problem.limit = Some(exceeded.limit);
        problem.used = Some(exceeded.used);
        problem.requested = Some(exceeded.requested);
        problem
    }
}

impl From<PreconditionFailed> for Problem {
    fn from(failed: PreconditionFailed) -> Self {
        let etag = ETag::at(failed.current_generation).to_string();
        let mut problem = Problem::new(
            StatusCode::PRECONDITION_FAILED,
            "precondition-failed",
            format!(
                "the server changed since the version If-Match names: its ETag is now \
                 {etag}; nothing changed"
            ),
        );
        problem.etag = Some(etag);
        problem
    }
}

impl From<InjectedFault> for Problem {
    fn from(fault: InjectedFault) -> Self {
        let status =
            StatusCode::from_u16(fault.status.code()).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        let mut problem = Problem::new(status, &fault.problem_type, fault.to_string());
        problem.retry_after_secs = fault.retry_after_seconds.map(u64::from);
        problem
    }
}

impl From<FaultRuleError> for Problem {
    fn from(error: FaultRuleError) -> Self {
        let detail = error.to_string();
        match error {
            FaultRuleError::Forbidden(forbidden) => forbidden.into(),
            FaultRuleError::NotFound(_) => Problem::not_found(detail),
            FaultRuleError::TooMany { .. } => {
                Problem::new(StatusCode::CONFLICT, "too-many-fault-rules", detail)
            }
            FaultRuleError::Invalid(_) => Problem::unprocessable("invalid-fault-rule", detail),
            FaultRuleError::BadLimit { .. } => Problem::bad_request("invalid-query", detail),
            FaultRuleError::BadCursor(_) => Problem::bad_request("invalid-cursor", detail),
            FaultRuleError::Store(e) => e.into(),
        }
    }
}

impl From<InvalidFaultRule> for Problem {
    fn from(invalid: InvalidFaultRule) -> Self {
        FaultRuleError::Invalid(invalid).into()
    }
}

impl From<ProvisionError> for Problem {
    fn from(error: ProvisionError) -> Self {
        let detail = error.to_string();
        match error {
            ProvisionError::Forbidden(forbidden) => forbidden.into(),
            ProvisionError::UnknownRegion { .. } => {
                Problem::unprocessable("unknown-region", detail)
            }
            ProvisionError::UnknownServerType { .. } => {
                Problem::unprocessable("unknown-server-type", detail)
            }
            ProvisionError::InvalidName(_) => Problem::unprocessable("invalid-name", detail),
            ProvisionError::InvalidLabels(_) => Problem::unprocessable("invalid-labels", detail),
            ProvisionError::PoolExhausted(_) => {
                Problem::new(StatusCode::CONFLICT, "pool-exhausted", detail)
            }
            ProvisionError::QuotaExceeded(exceeded) => exceeded.into(),
            // The key's project, and with it the key, is gone: the key is no longer valid.
            ProvisionError::ProjectGone(_) => Problem::unauthorized(true).with_cause(detail),
            ProvisionError::Injected(fault) => fault.into(),
            ProvisionError::Store(e) => e.into(),
        }
    }
}

impl From<GetError> for Problem {
    fn from(error: GetError) -> Self {
        match error {
            GetError::NotFound(_) | GetError::NoInstance(_) => {
                Problem::not_found(error.to_string())
            }
            GetError::Injected(fault) => fault.into(),
            GetError::Store(e) => e.into(),
        }
    }
}

impl From<ListError> for Problem {
    fn from(error: ListError) -> Self {
        let detail = error.to_string();
        match error {
            // The types provisioning answers for the same names.
            ListError::UnknownFilter { kind: "region", .. } => {
                Problem::bad_request("unknown-region", detail)
            }
            ListError::UnknownFilter { .. } => Problem::bad_request("unknown-server-type", detail),
            ListError::BadLimit { .. } | ListError::BadOffset { .. } => {
                Problem::bad_request("invalid-query", detail)
            }
            ListError::BadCursor(_) => Problem::bad_request("invalid-cursor", detail),
            ListError::BadSelector(error) => Problem::invalid_label_selector(&error, detail),
            ListError::Injected(fault) => fault.into(),
            ListError::Store(e) => e.into(),
        }
    }
}

impl From<UpdateError> for Problem {
    fn from(error: UpdateError) -> Self {
        let detail = error.to_string();
        match error {
            UpdateError::Forbidden(forbidden) => forbidden.into(),
            UpdateError::NotFound(_) => Problem::not_found(detail),
            UpdateError::InvalidName(_) => Problem::unprocessable("invalid-name", detail),
            UpdateError::InvalidLabels(_) => Problem::unprocessable("invalid-labels", detail),
            UpdateError::PreconditionFailed(failed) => failed.into(),
            UpdateError::Contended { .. } => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "contended",
                format!("{detail}; retry later"),
            ),
            UpdateError::Injected(fault) => fault.into(),
            UpdateError::Store(e) => e.into(),
        }
    }
}

impl From<ActError> for Problem {
    fn from(error: ActError) -> Self {
        match error {
            ActError::Forbidden(forbidden) => forbidden.into(),
            ActError::NotFound(_) => Problem::not_found(error.to_string()),
            ActError::Conflict(conflict) => {
                let mut problem =
                    Problem::new(StatusCode::CONFLICT, "invalid-state", conflict.to_string());
                problem.state = Some(conflict.state.into());
                problem.allowed_actions =
                    Some(conflict.allowed.iter().map(|a| (*a).into()).collect());
                problem
            }
            ActError::Contended { .. } => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "contended",
                format!("{error}; retry later"),
            ),
            ActError::QuotaExceeded(exceeded) => exceeded.into(),
            ActError::PreconditionFailed(failed) => failed.into(),
            ActError::Injected(fault) => fault.into(),
            ActError::Store(e) => e.into(),
        }
    }
}

impl From<BulkActError> for Problem {
    fn from(error: BulkActError) -> Self {
        let detail = error.to_string();
        match error {
            BulkActError::Forbidden(forbidden) => forbidden.into(),
            BulkActError::NoSelector => Problem::unprocessable("label-selector-required", detail),
            BulkActError::BadSelector(error) => ListError::BadSelector(error).into(),
            // The types provisioning answers for the same names in a body.
            BulkActError::UnknownFilter { kind: "region", .. } => {
                Problem::unprocessable("unknown-region", detail)
            }
            BulkActError::UnknownFilter { .. } => {
                Problem::unprocessable("unknown-server-type", detail)
            }
            BulkActError::TooMany { matched, .. } => {
                let mut problem = Problem::unprocessable("too-many-servers", detail);
                problem.matched = Some(matched);
                problem
            }
            BulkActError::Store(e) => e.into(),
        }
    }
}

impl From<IdempotencyError> for Problem {
    fn from(error: IdempotencyError) -> Self {
        let detail = error.to_string();
        match error {
            IdempotencyError::Forbidden(forbidden) => forbidden.into(),
            IdempotencyError::Reused => Problem::unprocessable("idempotency-key-reused", detail),
            IdempotencyError::InFlight => {
                let mut problem =
                    Problem::new(StatusCode::CONFLICT, "idempotency-key-in-flight", detail);
                problem.retry_after_secs = Some(crate::idempotency::IN_FLIGHT_RETRY_AFTER);
                problem
            }
            IdempotencyError::Store(e) => e.into(),
        }
    }
}

impl From<HistoryError> for Problem {
    fn from(error: HistoryError) -> Self {
        match error {
            HistoryError::NotFound(_) => Problem::not_found(error.to_string()),
            HistoryError::BadLimit { .. } => {
                Problem::bad_request("invalid-query", error.to_string())
            }
            HistoryError::BadCursor(_) => Problem::bad_request("invalid-cursor", error.to_string()),
            HistoryError::Injected(fault) => fault.into(),
            HistoryError::Store(e) => e.into(),
        }
    }
}

impl From<InvalidText> for Problem {
    fn from(invalid: InvalidText) -> Self {
        let (slug, field) = match invalid {
            InvalidText::ProjectName => ("invalid-name", "name"),
            InvalidText::Description => ("invalid-description", "description"),
            InvalidText::KeyText => ("invalid-key", "key"),
        };
        Problem::unprocessable(slug, format!("{field}: {invalid}"))
    }
}

impl From<ProjectError> for Problem {
    fn from(error: ProjectError) -> Self {
        let detail = error.to_string();
        match error {
            ProjectError::Forbidden(forbidden) => forbidden.into(),
            ProjectError::ProjectNotFound(_) | ProjectError::KeyNotFound(_) => {
                Problem::not_found(detail)
            }
            ProjectError::Invalid(invalid) => invalid.into(),
            ProjectError::InvalidRateLimit(_) => Problem::unprocessable(
                "invalid-rate-limit",
                format!("rate_limit_per_minute: {detail}"),
            ),
            ProjectError::InvalidQuota(_) => Problem::unprocessable("invalid-quota", detail),
            ProjectError::NameTaken(_) => Problem::new(StatusCode::CONFLICT, "name-taken", detail),
            ProjectError::HasLiveServers { .. } => {
                Problem::new(StatusCode::CONFLICT, "project-has-servers", detail)
            }
            ProjectError::DefaultProject => {
                Problem::new(StatusCode::CONFLICT, "default-project", detail)
            }
            ProjectError::NoRandomness(_) => Problem::internal(detail),
            ProjectError::Store(e) => e.into(),
        }
    }
}

/// Adds a response with the `Problem` schema for each status to an operation of the spec.
pub(crate) fn document_problems(op: &mut DefaultOperationRaw, statuses: &[(u16, &str)]) {
    for (status, description) in statuses {
        op.responses.insert(
            status.to_string(),
            Either::Right(Response {
                description: Some((*description).to_owned()),
                schema: Some(DefaultSchemaRaw {
                    name: Some("Problem".to_owned()),
                    reference: Some("#/definitions/Problem".to_owned()),
                    ..Default::default()
                }),
                ..Default::default()
            }),
        );
    }
}

/// The statuses only a fault rule answers (it may also answer 429, 500 and 503).
pub(crate) const FAULT_INJECTED: &str = "A fault rule (`/faults`) answered instead of the operation: nothing changed; retry after `Retry-After` seconds when it is sent.";

macro_rules! failure {
    ($(#[$doc:meta])* $name:ident { $($status:literal => $description:expr,)+ }) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name(pub Box<Problem>);

        impl<E: Into<Problem>> From<E> for $name {
            fn from(error: E) -> Self {
                Self(Box::new(error.into()))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl ResponseError for $name {
            fn status_code(&self) -> StatusCode {
                self.0.status_code()
            }

            fn error_response(&self) -> HttpResponse {
                self.0.error_response()
            }
        }

        impl Apiv2Errors for $name {
            const ERROR_MAP: &'static [(u16, &'static str)] = &[$(($status, $description)),+];

            fn update_error_definitions(op: &mut DefaultOperationRaw) {
                document_problems(op, Self::ERROR_MAP);
            }

            fn update_definitions(
                map: &mut std::collections::BTreeMap<String, DefaultSchemaRaw>,
            ) {
                <Problem as OperationModifier>::update_definitions(map);
            }
        }
    };
}

failure!(
    /// Why `POST /servers` failed.
    ProvisionFailure {
        400 => "The body is not valid JSON.",
        403 => "The key's role may not create servers (it takes `member`), or the server would take the project past a quota (`quota-exceeded`: the problem names the `quota`, its `limit` and the `used` amount).",
        408 => "The body did not arrive within 5 seconds.",
        409 => "The region's address pool is exhausted.",
        413 => "The body is too large.",
        415 => "The body is not `application/json`.",
        422 => "The body has unknown or missing fields, or names an unknown region or type, or an invalid name, or labels that break the label rules (`invalid-labels`, naming the label).",
        500 => "The service failed.",
        502 => FAULT_INJECTED,
        503 => "The store is unavailable, overloaded or contended; retry after `Retry-After` seconds.",
        504 => FAULT_INJECTED,
    }
);

failure!(
    /// Why reading a server failed.
    GetFailure {
        400 => "The id is neither a UUID nor an EC2 instance id (`i-` and 17 hex digits), or `If-None-Match` is malformed (`invalid-precondition`).",
        404 => "No server has this id.",
        500 => "The service failed.",
        502 => FAULT_INJECTED,
        503 => "The store is unavailable, overloaded or contended; retry after `Retry-After` seconds.",
        504 => FAULT_INJECTED,
    }
);

failure!(
    /// Why listing servers failed.
    ListFailure {
        400 => "A filter, `limit`, `offset` or `cursor` is invalid, or the label selector (`invalid-label-selector`, with the `position` where it went wrong).",
        500 => "The service failed.",
        502 => FAULT_INJECTED,
        503 => "The store is unavailable, overloaded or contended; retry after `Retry-After` seconds.",
        504 => FAULT_INJECTED,
    }
);

failure!(
    /// Why counting servers failed.
    CountFailure {
        400 => "The label selector is invalid (`invalid-label-selector`, with the `position` where it went wrong).",
        500 => "The service failed.",
        502 => FAULT_INJECTED,
        503 => "The store is unavailable, overloaded or contended; retry after `Retry-After` seconds.",
        504 => FAULT_INJECTED,
    }
);

failure!(
    /// Why updating a server failed.
    UpdateFailure {
        400 => "The id is neither a UUID nor an EC2 instance id (`i-` and 17 hex digits), the body is not valid JSON, or `If-Match` is malformed (`invalid-precondition`).",
        403 => "The key's role may not change servers (it takes `member`).",
        404 => "No server has this id.",
        408 => "The body did not arrive within 5 seconds.",
        413 => "The body is too large.",
        412 => "`If-Match` names no `ETag` the server is at: it changed since it was read (`precondition-failed`, with its current `etag`); nothing changed.",
        415 => "The body is not JSON (`application/merge-patch+json` or `application/json`).",
        422 => "The body names fields that cannot be patched (the problem names them) or sets `name` or `labels` to `null`, or has an invalid name, or labels that break the label rules or would leave more than 64 (`invalid-labels`, naming the label).",
        500 => "The service failed.",
        502 => FAULT_INJECTED,
        503 => "The store is unavailable, overloaded or contended; retry after `Retry-After` seconds.",
        504 => FAULT_INJECTED,
    }
);

failure!(
    /// Why an action failed.
    ActFailure {
        400 => "The id is neither a UUID nor an EC2 instance id (`i-` and 17 hex digits), the body is not valid JSON, or `If-Match` is malformed (`invalid-precondition`).",
        403 => "The key's role may not act on servers (it takes `member`), or a start would take the project past its vCPU quota (`quota-exceeded`: the problem names the `quota`, its `limit` and the `used` amount).",
        404 => "No server has this id.",
        409 => "The server's state does not allow the action; the problem names the state and the allowed actions.",
        408 => "The body did not arrive within 5 seconds.",
        412 => "`If-Match` names no `ETag` the server is at: it changed since it was read (`precondition-failed`, with its current `etag`); nothing changed.",
        413 => "The body is too large.",
        415 => "The body is not `application/json`.",
        422 => "The body has unknown or missing fields, or an unknown action.",
        500 => "The service failed.",
        502 => FAULT_INJECTED,
        503 => "The store is unavailable, overloaded or contended; retry after `Retry-After` seconds.",
        504 => FAULT_INJECTED,
    }
);

failure!(
    /// Why a bulk action acted on no server (each server's own failure is in the report).
    BulkActionFailure {
        400 => "The body is not valid JSON, or the label selector is malformed (`invalid-label-selector`, with the `position` where it went wrong).",
        403 => "The key's role may not act on servers (it takes `member`).",
        408 => "The body did not arrive within 5 seconds.",
        413 => "The body is too large.",
        415 => "The body is not `application/json`.",
        422 => "The body has unknown or missing fields, or an unknown action, region or type; or the selector is empty (`label-selector-required`); or more than 1,000 servers match (`too-many-servers`, with how many `matched`).",
        500 => "The service failed.",
        503 => "The store is unavailable, overloaded or contended; retry after `Retry-After` seconds.",
    }
);

failure!(
    /// Why reading a server's history failed.
    HistoryFailure {
        400 => "The id is neither a UUID nor an EC2 instance id (`i-` and 17 hex digits), `limit` is invalid, or `cursor` is not one fleetd handed out (`invalid-cursor`).",
        404 => "No server has this id.",
        500 => "The service failed.",
        502 => FAULT_INJECTED,
        503 => "The store is unavailable, overloaded or contended; retry after `Retry-After` seconds.",
        504 => FAULT_INJECTED,
    }
);

impl From<fleet_domain::costs::CostQueryError> for Problem {
    fn from(error: fleet_domain::costs::CostQueryError) -> Self {
        use fleet_domain::costs::CostQueryError as E;
        let slug = match error {
            E::Reversed { .. } | E::TooManyBuckets { .. } => "invalid-range",
            E::UnknownGranularity(_) => "invalid-query",
            E::UnknownGroupKey(_)
            | E::BadLabelKey(..)
            | E::DuplicateGroupKey(_)
            | E::TooManyGroupKeys => "invalid-group-by",
        };
        Problem::bad_request(slug, error.to_string())
    }
}

impl From<fleet_domain::service::ForecastFailure> for Problem {
    fn from(failure: fleet_domain::service::ForecastFailure) -> Self {
        match failure {
            fleet_domain::service::ForecastFailure::Store(e) => e.into(),
            fleet_domain::service::ForecastFailure::Refused(e) => {
                Problem::bad_request("invalid-range", e.to_string())
            }
        }
    }
}

failure!(
    /// Why a cost report failed.
    CostReportFailure {
        400 => "A parameter is malformed (`invalid-query`), `to` is not after `from` or the range has more than 10,000 buckets of the `granularity` (`invalid-range`), or `group_by` names an unknown, repeated or fourth key (`invalid-group-by`); the problem names the parameter and the limit.",
        500 => "The service failed.",
        503 => "The store is unavailable, overloaded or contended; retry after `Retry-After` seconds.",
    }
);

failure!(
    /// Why a cost forecast failed.
    CostForecastFailure {
        400 => "`until` is malformed (`invalid-query`), or not after now or more than 366 days ahead (`invalid-range`).",
        500 => "The service failed.",
        503 => "The store is unavailable, overloaded or contended; retry after `Retry-After` seconds.",
    }
);

failure!(
    /// Why reading the catalog failed.
    CatalogFailure {
        500 => "The service failed.",
        503 => "The store is unavailable, overloaded or contended; retry after `Retry-After` seconds.",
    }
);

/// The 404 of the clock's routes: fleetd registers them only with `--clock virtual`.
const NO_VIRTUAL_CLOCK: &str = "fleetd does not run with `--clock virtual`, so it has no clock routes: a `route-not-found` problem.";

failure!(
    /// Why reading the virtual clock failed.
    ClockFailure {
        403 => "The virtual clock is for the `admin` role.",
        404 => NO_VIRTUAL_CLOCK,
        500 => "The service failed.",
    }
);

failure!(
    /// Why moving the virtual clock failed.
    AdvanceFailure {
        400 => "The body is not valid JSON.",
        403 => "The virtual clock is for the `admin` role.",
        404 => NO_VIRTUAL_CLOCK,
        408 => "The body did not arrive within 5 seconds.",
        413 => "The body is too large.",
        415 => "The body is not `application/json`.",
        422 => "The body has unknown or missing fields, or `seconds` is out of range.",
        500 => "The service failed.",
        503 => "The store is unavailable, overloaded or contended; retry after `Retry-After` seconds.",
    }
);

/// The statuses every admin operation shares.
macro_rules! admin_failure {
    ($(#[$doc:meta])* $name:ident { $($status:literal => $description:literal,)* }) => {
        failure!(
            $(#[$doc])*
            $name {
                403 => "Managing projects and keys takes the `admin` role.",
                $($status => $description,)*
                500 => "The service failed.",
                503 => "The store is unavailable, overloaded or contended; retry after `Retry-After` seconds.",
            }
        );
    };
}

admin_failure!(
    /// Why listing projects failed.
    ProjectsFailure {}
);

admin_failure!(
    /// Why creating a project failed.
    CreateProjectFailure {
        400 => "The body is not valid JSON.",
        408 => "The body did not arrive within 5 seconds.",
        409 => "Another project has the name.",
        413 => "The body is too large.",
        415 => "The body is not `application/json`.",
        422 => "The body has unknown or missing fields, or the name is not a project name.",
    }
);

admin_failure!(
    /// Why reading a project failed.
    ProjectFailure {
        400 => "The id is not a UUID.",
        404 => "No project has this id.",
    }
);

admin_failure!(
    /// Why updating a project failed.
    UpdateProjectFailure {
        400 => "The id is not a UUID, or the body is not valid JSON.",
        404 => "No project has this id.",
        408 => "The body did not arrive within 5 seconds.",
        409 => "Another project has the name.",
        413 => "The body is too large.",
        415 => "The body is not `application/json`.",
        422 => "The body has unknown fields, or the name is not a project name, or the rate limit is out of range.",
    }
);

admin_failure!(
    /// Why deleting a project failed.
    DeleteProjectFailure {
        400 => "The id is not a UUID.",
        404 => "No project has this id.",
        409 => "The project has servers that are not terminated, or is `default`, which open mode acts in.",
    }
);

admin_failure!(
    /// Why reading a project's quotas failed.
    QuotasFailure {
        400 => "The id is not a UUID.",
        404 => "No project has this id.",
    }
);

admin_failure!(
    /// Why setting a project's quotas failed.
    SetQuotasFailure {
        400 => "The id is not a UUID, or the body is not valid JSON.",
        404 => "No project has this id.",
        408 => "The body did not arrive within 5 seconds.",
        413 => "The body is too large.",
        415 => "The body is not `application/json`.",
        422 => "The body has unknown fields, or a limit is negative or above 1,000,000 (the problem names the field).",
    }
);

admin_failure!(
    /// Why creating a key failed.
    CreateKeyFailure {
        400 => "The id is not a UUID, or the body is not valid JSON.",
        404 => "No project has this id.",
        408 => "The body did not arrive within 5 seconds.",
        413 => "The body is too large.",
        415 => "The body is not `application/json`.",
        422 => "The body has unknown or missing fields, an unknown role, or an invalid description.",
    }
);

admin_failure!(
    /// Why listing a project's keys failed.
    KeysFailure {
        400 => "The id is not a UUID.",
        404 => "No project has this id.",
    }
);

admin_failure!(
    /// Why revoking a key failed.
    RevokeKeyFailure {
        400 => "The id is not a UUID.",
        404 => "No key has this id.",
    }
);

failure!(
    /// Why creating a fault rule failed.
    CreateFaultFailure {
        400 => "The body is not valid JSON.",
        403 => "Making fault rules takes the `admin` role.",
        408 => "The body did not arrive within 5 seconds.",
        413 => "The body is too large.",
        415 => "The body is not `application/json`.",
        409 => "There are already 1,000 rules (`too-many-fault-rules`): delete some first.",
        422 => "The body has unknown or missing fields, or a field the rule's checks refuse (`invalid-fault-rule`, naming the field): an unknown operation, region or type, an operation the effect cannot hit, a probability outside 0 to 1 (or any on an `interruption` or `host_failure`, which a rate drives), a malformed selector, a status that is not 429, 500, 502, 503 or 504, a delay, factor, rate, notice or cap out of range, a field the effect's kind does not use, `ends_at` not after `starts_at`, a maximum below its minimum.",
        500 => "The service failed.",
        503 => "The store is unavailable, overloaded or contended; retry after `Retry-After` seconds.",
    }
);

failure!(
    /// Why listing fault rules failed.
    FaultsFailure {
        400 => "`limit` or `cursor` is invalid.",
        500 => "The service failed.",
        503 => "The store is unavailable, overloaded or contended; retry after `Retry-After` seconds.",
    }
);

failure!(
    /// Why reading a fault rule failed.
    FaultFailure {
        400 => "The id is not a UUID.",
        404 => "No rule that applies to the caller's project has this id.",
        500 => "The service failed.",
        503 => "The store is unavailable, overloaded or contended; retry after `Retry-After` seconds.",
    }
);

failure!(
    /// Why deleting a fault rule failed.
    DeleteFaultFailure {
        400 => "The id is not a UUID.",
        403 => "Deleting fault rules takes the `admin` role.",
        404 => "No rule has this id.",
        500 => "The service failed.",
        503 => "The store is unavailable, overloaded or contended; retry after `Retry-After` seconds.",
    }
);

// After the macros, which they use.
mod budgets;
mod watch;
mod webhooks;

pub use budgets::{BudgetFailure, BudgetsFailure, CreateBudgetFailure, DeleteBudgetFailure};
pub use watch::{ActionFailure, EventsFailure, ServerActionsFailure, StreamFailure, WaitFailure};
pub use webhooks::{
    CreateWebhookFailure, DeliveriesFailure, RetryDeliveryFailure, RotateWebhookSecretFailure,
    UpdateWebhookFailure, WebhookActionFailure, WebhookFailure, WebhooksFailure,
};

#[cfg(test)]
mod tests {
    use super::*;
    use fleet_domain::project_update::InvalidRateLimit;
    use fleet_domain::{Action, ProjectId, Role, ServerId, ServerState, state::Conflict};

    #[test]
    fn each_domain_error_has_its_status() {
        let id = ServerId::random();
        let cases: Vec<(Problem, u16)> = vec![
            (
                ProvisionError::UnknownRegion {
                    name: "mars".into(),
                    known: "us-east-1".into(),
                }
                .into(),
                422,
            ),
            (
                ProvisionError::UnknownServerType {
                    name: "x".into(),
                    known: "t2.micro".into(),
                }
                .into(),
                422,
            ),
            (ProvisionError::InvalidName("must not be empty").into(), 422),
            (ProvisionError::PoolExhausted("lab".into()).into(), 409),
            (
                ProvisionError::ProjectGone(fleet_domain::ProjectId::random()).into(),
                401,
            ),
            (GetError::NotFound(id).into(), 404),
            (ListError::BadLimit { given: 0, max: 100 }.into(), 400),
            (
                ListError::UnknownFilter {
                    kind: "region",
                    name: "x".into(),
                }
                .into(),
                400,
            ),
            (
                ListError::BadCursor(fleet_domain::page::BadCursor).into(),
                400,
            ),
            (ActError::NotFound(id).into(), 404),
            (
                HistoryError::BadLimit {
                    given: 101,
                    max: 100,
                }
                .into(),
                400,
            ),
            (HistoryError::NotFound(id).into(), 404),
            (IdempotencyError::Reused.into(), 422),
            (IdempotencyError::InFlight.into(), 409),
            (
                StoreError::Unavailable(anyhow_error("pool timed out")).into(),
                503,
            ),
            (
                StoreError::Unknown(anyhow_error("disk on fire")).into(),
                500,
            ),
        ];
        for (problem, status) in cases {
            assert_eq!(problem.status, status, "{problem}");
        }
    }

    #[test]
    fn each_project_error_has_its_status_and_type() {
        let id = ProjectId::random();
        let forbidden = Forbidden {
            role: Role::Member,
            needed: Role::Admin,
        };
        let cases: Vec<(ProjectError, u16, &str)> = vec![
            (forbidden.into(), 403, "forbidden"),
            (ProjectError::ProjectNotFound(id), 404, "not-found"),
            (
                ProjectError::KeyNotFound(fleet_domain::KeyId::random()),
                404,
                "not-found",
            ),
            (InvalidText::ProjectName.into(), 422, "invalid-name"),
            (InvalidText::Description.into(), 422, "invalid-description"),
            (
                ProjectError::InvalidRateLimit(InvalidRateLimit),
                422,
                "invalid-rate-limit",
            ),
            (ProjectError::NameTaken("a".into()), 409, "name-taken"),
            (
                ProjectError::HasLiveServers { id, count: 2 },
                409,
                "project-has-servers",
            ),
            (ProjectError::DefaultProject, 409, "default-project"),
        ];
        for (error, status, slug) in cases {
            let problem = Problem::from(error);
            assert_eq!(problem.status, status, "{problem}");
            assert_eq!(problem.problem_type, format!("urn:fleet:problem:{slug}"));
        }
    }

    #[test]
    fn a_refusal_for_the_role_names_the_role_needed() {
        let problem: Problem = ActError::Forbidden(Forbidden {
            role: Role::Viewer,
            needed: Role::Member,
        })
        .into();
        assert_eq!(problem.status, 403);
        assert_eq!(problem.required_role, Some(crate::dto::Role::Member));
        assert!(problem.detail.contains("'member'"), "{}", problem.detail);
        let invalid: Problem = ProjectError::Invalid(InvalidText::Description).into();
        assert!(
            invalid.detail.starts_with("description: "),
            "{}",
            invalid.detail
        );
    }

    #[test]
    fn a_conflict_names_the_state_and_the_allowed_actions() {
        let problem: Problem = ActError::Conflict(Conflict {
            state: ServerState::Stopped,
            action: Action::Reboot,
            allowed: vec![Action::Start, Action::Stop, Action::Terminate],
        })
        .into();
        assert_eq!(problem.status, 409);
        assert_eq!(problem.state, Some(crate::dto::ServerState::Stopped));
        assert_eq!(
            problem.allowed_actions,
            Some(vec![
                crate::dto::Action::Start,
                crate::dto::Action::Stop,
                crate::dto::Action::Terminate
            ])
        );
        assert!(problem.detail.contains("stopped"), "{}", problem.detail);
    }

    #[test]
    fn an_internal_failure_keeps_its_cause_out_of_the_body() {
        let problem: Problem = StoreError::Unknown(anyhow_error("password=hunter2")).into();
        let body = serde_json::to_string(&problem).expect("serializes");
        assert!(!body.contains("hunter2"), "{body}");
        assert!(
            problem
                .cause
                .as_deref()
                .is_some_and(|c| c.contains("hunter2"))
        );
    }

    fn anyhow_error(message: &'static str) -> anyhow::Error {
        anyhow::Error::msg(message)
    }
}
