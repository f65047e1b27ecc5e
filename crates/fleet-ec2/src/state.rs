//! What the EC2 endpoint needs: the domain's use cases (a server worker's own), and the
//! process's authentication policy and rate-limit counters.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use fleet_domain::KeyId;
use fleet_domain::service::{IdempotencyService, ProjectService, ServerService};
use fleet_ops::ratelimit::RateLimits;
use fleet_ops::usage::UsageMarks;

/// Whether requests must be signed by a fleet API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ec2AuthMode {
    /// Any credentials (or none) act as the admin of the project `default`.
    Open,
    /// Requests are signed with SigV4 by a fleet key: access key id = the key's id,
    /// secret = the key's secret.
    Keys,
}

/// Whose requests are counted together against a rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Requester {
    /// A key's.
    Key(KeyId),
    /// An address's unsigned (open mode) requests.
    Address(IpAddr),
}

/// The process's authentication policy; clones share the counters.
#[derive(Clone)]
pub struct Ec2Auth {
    /// The mode.
    pub mode: Ec2AuthMode,
    /// Requests a minute where a project sets no limit of its own; `None`: unlimited.
    pub default_per_minute: Option<NonZeroU32>,
    pub(crate) limits: Arc<RateLimits<Requester>>,
    pub(crate) marks: Arc<UsageMarks<KeyId>>,
}

impl Ec2Auth {
    /// A policy in `mode` with `default_per_minute` requests a minute per key (or per
    /// address for unsigned requests in open mode).
    pub fn new(mode: Ec2AuthMode, default_per_minute: Option<NonZeroU32>) -> Self {
        Self {
            mode,
            default_per_minute,
            limits: Arc::new(RateLimits::default()),
            marks: Arc::new(UsageMarks::default()),
        }
    }
}

/// What the endpoint's handler reaches.
#[derive(Clone)]
pub struct Ec2State {
    /// Servers, as instances.
    pub servers: Arc<ServerService>,
    /// Keys, whose secrets check signatures.
    pub projects: Arc<ProjectService>,
    /// Client tokens.
    pub idempotency: Arc<IdempotencyService>,
    /// Authentication and rate limits.
    pub auth: Ec2Auth,
}
