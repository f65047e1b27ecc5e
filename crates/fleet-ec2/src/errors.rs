//! EC2's errors: a code clients branch on (`InvalidInstanceID.NotFound`), a message, and
//! the status EC2 answers with (a client error is a 4xx, a server error a 5xx; botocore
//! reads an error body only under a status of 301 or more and retries 500 and 503).

use actix_web::http::StatusCode;
use fleet_domain::error::{
    ActError, AuthError, GetError, IdempotencyError, ListError, ProvisionError, StoreError,
    UpdateError,
};
use fleet_domain::faults::{FaultError, INSUFFICIENT_CAPACITY, InjectedFault};
use fleet_domain::tenancy::Forbidden;
use fleet_domain::{QuotaExceeded, QuotaKind};

/// An error answer in EC2's shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ec2Error {
    /// The HTTP status.
    pub status: StatusCode,
    /// EC2's error code.
    pub code: &'static str,
    /// What went wrong, for a person.
    pub message: String,
    /// The internal cause, for the access log only (a store failure's detail).
    pub cause: Option<String>,
}

impl Ec2Error {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            cause: None,
        }
    }

    /// A client error (400) with this code.
    pub fn client(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// `InvalidParameterValue`.
    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::client("InvalidParameterValue", message)
    }

    /// `MissingParameter` for `name`.
    pub fn missing(name: &str) -> Self {
        Self::client(
            "MissingParameter",
            format!("The request must contain the parameter {name}"),
        )
    }

    /// `AuthFailure` (401): the credentials were not accepted.
    pub fn auth(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "AuthFailure", message)
    }

    /// `UnauthorizedOperation` (403): the key's role may not do this.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "UnauthorizedOperation", message)
    }

    /// `InvalidInstanceID.NotFound` naming the ids.
    pub fn not_found(ids: &[String]) -> Self {
        let message = if ids.len() == 1 {
            format!("The instance ID '{}' does not exist", ids[0])
        } else {
            format!("The instance IDs '{}' do not exist", ids.join(", "))
        };
        Self::client("InvalidInstanceID.NotFound", message)
    }

    /// `InvalidInstanceID.Malformed`.
    pub fn malformed_id(id: &str) -> Self {
        Self::client(
            "InvalidInstanceID.Malformed",
            format!("Invalid id: \"{id}\" (expecting \"i-...\" and 17 hex digits)"),
        )
    }

    /// `RequestLimitExceeded` (503, which botocore retries in every mode).
    pub fn throttled(retry_after_secs: u64) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "RequestLimitExceeded",
            format!("Request limit exceeded; retry in {retry_after_secs} s"),
        )
    }

    /// `InternalError` (500) for a failure of fleet's own.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self {
            cause: Some(cause.to_string()),
            ..Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "An internal error has occurred",
            )
        }
    }
}

impl From<StoreError> for Ec2Error {
    fn from(error: StoreError) -> Self {
        Self::internal(error)
    }
}

impl From<Forbidden> for Ec2Error {
    fn from(error: Forbidden) -> Self {
        Self::forbidden(error.to_string())
    }
}

impl From<InjectedFault> for Ec2Error {
    /// A fault rule's error as EC2 would have failed: capacity and throttling by their EC2
    /// codes, anything else as the 5xx or 4xx it names.
    fn from(fault: InjectedFault) -> Self {
        let status =
            StatusCode::from_u16(fault.status.code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let message = fault.to_string();
        match (fault.problem_type.as_str(), status) {
            (INSUFFICIENT_CAPACITY, _) => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InsufficientInstanceCapacity",
                message,
            ),
            (_, StatusCode::TOO_MANY_REQUESTS) => {
                Self::throttled(fault.retry_after_seconds.map_or(1, u64::from))
            }
            (_, StatusCode::SERVICE_UNAVAILABLE) => Self::new(status, "Unavailable", message),
            (_, s) if s.is_server_error() => Self::new(status, "InternalError", message),
            _ => Self::new(status, "InvalidRequest", message),
        }
    }
}

impl From<FaultError> for Ec2Error {
    fn from(error: FaultError) -> Self {
        match error {
            FaultError::Injected(fault) => fault.into(),
            FaultError::Store(e) => e.into(),
        }
    }
}

impl From<QuotaExceeded> for Ec2Error {
    fn from(exceeded: QuotaExceeded) -> Self {
        let code = match exceeded.quota {
            QuotaKind::Vcpus => "VcpuLimitExceeded",
            QuotaKind::Servers => "InstanceLimitExceeded",
        };
        Self::client(code, exceeded.to_string())
    }
}

impl From<AuthError> for Ec2Error {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::Store(e) => e.into(),
            // One answer whatever the key's state, so an id alone tells nothing about its key
            // (revoked, or made without a sealed secret: docs/ec2.md says why).
            AuthError::Malformed
            | AuthError::Unknown
            | AuthError::Revoked
            | AuthError::Unsealed
            | AuthError::Expired => {
                Self::auth("AWS was not able to validate the provided access credentials")
            }
        }
    }
}

impl From<GetError> for Ec2Error {
    fn from(error: GetError) -> Self {
        match error {
            GetError::NotFound(_) | GetError::NoInstance(_) => {
                Self::client("InvalidInstanceID.NotFound", error.to_string())
            }
            GetError::Injected(fault) => fault.into(),
            GetError::Store(e) => e.into(),
        }
    }
}

impl From<ListError> for Ec2Error {
    fn from(error: ListError) -> Self {
        match error {
            ListError::Injected(fault) => fault.into(),
            ListError::Store(e) => e.into(),
            ListError::BadCursor(_) => Self::invalid_parameter("The NextToken is not valid"),
            other => Self::invalid_parameter(other.to_string()),
        }
    }
}

impl From<ProvisionError> for Ec2Error {
    fn from(error: ProvisionError) -> Self {
        match error {
            ProvisionError::Forbidden(e) => e.into(),
            ProvisionError::QuotaExceeded(e) => e.into(),
            ProvisionError::Injected(fault) => fault.into(),
            ProvisionError::Store(e) => e.into(),
            ProvisionError::PoolExhausted(region) => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InsufficientFreeAddressesInSubnet",
                format!("The address pool of {region} has no free address"),
            ),
            ProvisionError::ProjectGone(_) => Self::auth(error.to_string()),
            other => Self::invalid_parameter(other.to_string()),
        }
    }
}

impl From<ActError> for Ec2Error {
    fn from(error: ActError) -> Self {
        match error {
            ActError::Forbidden(e) => e.into(),
            ActError::NotFound(_) => Self::client("InvalidInstanceID.NotFound", error.to_string()),
            ActError::Conflict(conflict) => {
                Self::client("IncorrectInstanceState", conflict.to_string())
            }
            ActError::QuotaExceeded(e) => e.into(),
            ActError::Injected(fault) => fault.into(),
            ActError::Store(e) => e.into(),
            ActError::PreconditionFailed(_) | ActError::Contended { .. } => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "Unavailable",
                format!("{error}; retry"),
            ),
        }
    }
}

impl From<UpdateError> for Ec2Error {
    fn from(error: UpdateError) -> Self {
        match error {
            UpdateError::Forbidden(e) => e.into(),
            UpdateError::NotFound(_) => {
                Self::client("InvalidInstanceID.NotFound", error.to_string())
            }
            UpdateError::InvalidLabels(e) => Self::invalid_parameter(format!(
                "fleet keeps tags as labels, and this tag is not one: {e}"
            )),
            UpdateError::Injected(fault) => fault.into(),
            UpdateError::Store(e) => e.into(),
            other => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "Unavailable",
                other.to_string(),
            ),
        }
    }
}

impl From<IdempotencyError> for Ec2Error {
    fn from(error: IdempotencyError) -> Self {
        match error {
            IdempotencyError::Forbidden(e) => e.into(),
            IdempotencyError::Reused => Self::client(
                "IdempotentParameterMismatch",
                "The client token was used for a request with different parameters",
            ),
            IdempotencyError::InFlight => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "Unavailable",
                "A request with this client token is still running; retry when it has finished",
            ),
            IdempotencyError::Store(e) => e.into(),
        }
    }
}
