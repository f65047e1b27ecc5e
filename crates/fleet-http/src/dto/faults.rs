//! Fault rules (`/faults`): what a client asks fleet to do wrong on purpose.
//!
//! The effect is one flat object whose `kind` says which of its fields apply (the others
//! are refused): paperclip describes no tagged union, and a flat object keeps the document
//! one generated clients can use.

use chrono::{DateTime, Utc};
use fleet_domain::faults::{
    self as domain, EffectDraft, ErrorFault, FactorDraft, FaultRuleDraft, InvalidFaultRule,
    LatencyDraft,
};
use fleet_domain::page::Page;
use fleet_domain::service::NewFaultRule;
use paperclip::actix::Apiv2Schema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// An operation a fault rule can hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Apiv2Schema)]
pub enum FaultOperation {
    /// Every operation below.
    #[serde(rename = "*")]
    Any,
    /// `POST /servers`.
    #[serde(rename = "provision")]
    Provision,
    /// `GET /servers/{id}`.
    #[serde(rename = "get")]
    Get,
    /// `GET /servers`.
    #[serde(rename = "list")]
    List,
    /// `PATCH /servers/{id}`.
    #[serde(rename = "update")]
    Update,
    /// `POST /servers/{id}/action` with `start`.
    #[serde(rename = "action:start")]
    ActionStart,
    /// `POST /servers/{id}/action` with `stop`.
    #[serde(rename = "action:stop")]
    ActionStop,
    /// `POST /servers/{id}/action` with `reboot`.
    #[serde(rename = "action:reboot")]
    ActionReboot,
    /// `POST /servers/{id}/action` with `terminate`.
    #[serde(rename = "action:terminate")]
    ActionTerminate,
    /// `GET /servers/{id}/logs` and `GET /events`.
    #[serde(rename = "events")]
    Events,
    /// `GET /servers/{id}/wait`.
    #[serde(rename = "wait")]
    Wait,
}

impl FaultOperation {
    fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    fn parse(name: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::from(name)).ok()
    }
}

/// What a rule does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Apiv2Schema)]
#[serde(rename_all = "snake_case")]
pub enum FaultEffectKind {
    /// Answers an error instead of running the operation: nothing changes.
    Error,
    /// Runs the operation after a delay.
    Latency,
    /// Refuses `provision` or `action:start` with a 503 `insufficient-capacity` problem:
    /// always (at the rule's probability), or once `max_running` servers of the rule's
    /// regions and types hold capacity.
    Capacity,
    /// Provisioning fails when it would complete: the server ends `failed` with
    /// `Server.InternalError`, its address released, nothing billed.
    LaunchFailure,
    /// A transition takes `factor` times its usual delay (drawn per transition).
    Slow,
    /// A transition never completes while the rule stands; deleting the rule (or its
    /// `ends_at` passing) lets it complete.
    Stuck,
    /// Running servers matched are interrupted at `rate_per_hour` each: a
    /// `server.interruption_warning` event, then after `notice_seconds` a stop or a
    /// termination with `Server.SpotInstanceShutdown` or `Server.SpotInstanceTermination`.
    Interruption,
    /// Running servers matched lose their host at `rate_per_hour` each: stopped with
    /// `Server.InternalError`, without warning.
    HostFailure,
}

/// How a latency or a slow transition's factor is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Apiv2Schema)]
#[serde(rename_all = "snake_case")]
pub enum LatencyDistribution {
    /// Always `ms` (or `factor`).
    Fixed,
    /// Uniformly between `min_ms` and `max_ms` (or `min_factor` and `max_factor`).
    Uniform,
    /// Normally around `mean_ms` with `stddev_ms` (or `mean_factor` with `stddev_factor`),
    /// cut at four deviations, at 0 and 30,000 ms (at 1 and 10,000 for a factor).
    Normal,
}

/// What an interruption does after its notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Apiv2Schema)]
#[serde(rename_all = "snake_case")]
pub enum InterruptionAction {
    /// Stops the server (`Server.SpotInstanceShutdown`).
    Stop,
    /// Terminates the server (`Server.SpotInstanceTermination`).
    Terminate,
}

/// What a rule does when it fires. A field that does not apply to `kind` (or to its
/// `distribution`) is refused, so a mistyped kind never leaves a setting unused.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Apiv2Schema)]
#[serde(deny_unknown_fields)]
pub struct FaultEffect {
    /// What the rule does.
    pub kind: Option<FaultEffectKind>,
    /// For `error`: the status answered, one of 429, 500, 502, 503, 504; 503 when left out.
    #[serde(default, deserialize_with = "super::optional::not_null")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<i64>,
    /// For `error`: the problem's type (`urn:fleet:problem:<this>`), lowercase letters,
    /// digits and inner hyphens; the status's usual one (`throttled`, `internal-error`,
    /// `bad-gateway`, `service-unavailable`, `gateway-timeout`) when left out.
    #[serde(default, deserialize_with = "super::optional::not_null")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem_type: Option<String>,
    /// For `error` and `capacity`: the `Retry-After` sent, in seconds; none when left out.
    #[serde(default, deserialize_with = "super::optional::not_null")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<i64>,
    /// For `capacity`: refuse only once this many servers of the rule's regions and types
    /// (in its project, or in all) are running or heading there; every time when left out.
    #[serde(default, deserialize_with = "super::optional::not_null")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_running: Option<i64>,
    /// For `latency` and `slow`: how the delay or factor is drawn; `fixed` when left out.
    #[serde(default, deserialize_with = "super::optional::not_null")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distribution: Option<LatencyDistribution>,
    /// For a `fixed` latency: the delay in milliseconds; 0 when left out.
    #[serde(default, deserialize_with = "super::optional::not_null")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ms: Option<i64>,
    /// For a `uniform` latency: the shortest delay in milliseconds; 0 when left out.
    #[serde(default, deserialize_with = "super::optional::not_null")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_ms: Option<i64>,
    /// For a `uniform` latency: the longest delay in milliseconds, at least `min_ms`;
    /// `min_ms` when left out.
    #[serde(default, deserialize_with = "super::optional::not_null")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_ms: Option<i64>,
    /// For a `normal` latency: the mean delay in milliseconds; 0 when left out.
    #[serde(default, deserialize_with = "super::optional::not_null")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean_ms: Option<i64>,
    /// For a `normal` latency: the standard deviation in milliseconds; 0 when left out.
    #[serde(default, deserialize_with = "super::optional::not_null")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stddev_ms: Option<i64>,
    /// For a `fixed` slow transition: the factor, 1 to 10,000; 10 when left out.
    #[serde(default, deserialize_with = "super::optional::not_null")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub factor: Option<f64>,
    /// For a `uniform` slow transition: the smallest factor, 1 to 10,000; 1 when left out.
    #[serde(default, deserialize_with = "super::optional::not_null")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_factor: Option<f64>,
    /// For a `uniform` slow transition: the largest factor, at least `min_factor`;
    /// `min_factor` when left out.
    #[serde(default, deserialize_with = "super::optional::not_null")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_factor: Option<f64>,
    /// For a `normal` slow transition: the mean factor, 1 to 10,000; 1 when left out.
    #[serde(default, deserialize_with = "super::optional::not_null")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean_factor: Option<f64>,
    /// For a `normal` slow transition: the standard deviation of the factor; 0 when left out.
    #[serde(default, deserialize_with = "super::optional::not_null")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stddev_factor: Option<f64>,
    /// For `interruption` and `host_failure` (required): how often each matched running
    /// server is hit, per hour, above 0 and at most 3,600 (0.5: half of them within an
    /// hour's exponential wait, on average).
    #[serde(default, deserialize_with = "super::optional::not_null")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_per_hour: Option<f64>,
    /// For `interruption`: seconds between the warning and the interruption, 0 to 86,400;
    /// 120 (a spot instance's notice) when left out.
    #[serde(default, deserialize_with = "super::optional::not_null")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notice_seconds: Option<i64>,
    /// For `interruption`: what happens after the notice; `terminate` when left out.
    #[serde(default, deserialize_with = "super::optional::not_null")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<InterruptionAction>,
}

/// The status an error rule answers when it names none, as LocalStack's chaos rules do.
const DEFAULT_STATUS: i64 = 503;
/// The factor a fixed slow transition has when it names none.
const DEFAULT_FACTOR: f64 = 10.0;

impl FaultEffect {
    fn draft(&self) -> Result<EffectDraft, InvalidFaultRule> {
        self.refuse_inapplicable()?;
        let Some(kind) = self.kind else {
            return Err(InvalidFaultRule {
                field: "effect.kind",
                reason: "name the effect: error, latency, capacity, launch_failure, slow, \
                         stuck, interruption or host_failure"
                    .to_owned(),
            });
        };
        let distribution = self.distribution.unwrap_or(LatencyDistribution::Fixed);
        Ok(match kind {
            FaultEffectKind::Error => EffectDraft::Error {
                status: self.status.unwrap_or(DEFAULT_STATUS),
                problem_type: self.problem_type.clone(),
                retry_after_seconds: self.retry_after_seconds,
            },
            FaultEffectKind::Latency => EffectDraft::Latency(match distribution {
                LatencyDistribution::Fixed => LatencyDraft::Fixed {
                    ms: self.ms.unwrap_or(0),
                },
                LatencyDistribution::Uniform => {
                    let min_ms = self.min_ms.unwrap_or(0);
                    LatencyDraft::Uniform {
                        min_ms,
                        max_ms: self.max_ms.unwrap_or(min_ms),
                    }
                }
                LatencyDistribution::Normal => LatencyDraft::Normal {
                    mean_ms: self.mean_ms.unwrap_or(0),
                    stddev_ms: self.stddev_ms.unwrap_or(0),
                },
            }),
            FaultEffectKind::Capacity => EffectDraft::Capacity {
                max_running: self.max_running,
                retry_after_seconds: self.retry_after_seconds,
            },
            FaultEffectKind::LaunchFailure => EffectDraft::LaunchFailure,
            FaultEffectKind::Slow => EffectDraft::Slow(match distribution {
                LatencyDistribution::Fixed => FactorDraft::Fixed {
                    factor: self.factor.unwrap_or(DEFAULT_FACTOR),
                },
                LatencyDistribution::Uniform => {
                    let min_factor = self.min_factor.unwrap_or(1.0);
                    FactorDraft::Uniform {
                        min_factor,
                        max_factor: self.max_factor.unwrap_or(min_factor),
                    }
                }
                LatencyDistribution::Normal => FactorDraft::Normal {
                    mean_factor: self.mean_factor.unwrap_or(1.0),
                    stddev_factor: self.stddev_factor.unwrap_or(0.0),
                },
            }),
            FaultEffectKind::Stuck => EffectDraft::Stuck,
            FaultEffectKind::Interruption => EffectDraft::Interruption {
                rate_per_hour: self.rate()?,
                notice_seconds: self.notice_seconds,
                action: self.action.map(|action| match action {
                    InterruptionAction::Stop => "stop".to_owned(),
                    InterruptionAction::Terminate => "terminate".to_owned(),
                }),
            },
            FaultEffectKind::HostFailure => EffectDraft::HostFailure {
                rate_per_hour: self.rate()?,
            },
        })
    }

    fn rate(&self) -> Result<f64, InvalidFaultRule> {
        self.rate_per_hour.ok_or_else(|| InvalidFaultRule {
            field: "effect.rate_per_hour",
            reason: "is required for this kind".to_owned(),
        })
    }

    /// Refuses the first field sent that `kind` and `distribution` do not use.
    fn refuse_inapplicable(&self) -> Result<(), InvalidFaultRule> {
        use FaultEffectKind as K;
        use LatencyDistribution as D;
        let is = |kinds: &[K]| self.kind.is_some_and(|kind| kinds.contains(&kind));
        let drawn = |kind: K, distribution: D| {
            self.kind == Some(kind) && self.distribution.unwrap_or(D::Fixed) == distribution
        };
        let fields = [
            ("effect.status", self.status.is_some(), is(&[K::Error])),
            (
                "effect.problem_type",
                self.problem_type.is_some(),
                is(&[K::Error]),
            ),
            (
                "effect.retry_after_seconds",
                self.retry_after_seconds.is_some(),
                is(&[K::Error, K::Capacity]),
            ),
            (
                "effect.max_running",
                self.max_running.is_some(),
                is(&[K::Capacity]),
            ),
            (
                "effect.distribution",
                self.distribution.is_some(),
                is(&[K::Latency, K::Slow]),
            ),
            ("effect.ms", self.ms.is_some(), drawn(K::Latency, D::Fixed)),
            (
                "effect.min_ms",
                self.min_ms.is_some(),
                drawn(K::Latency, D::Uniform),
            ),
            (
                "effect.max_ms",
                self.max_ms.is_some(),
                drawn(K::Latency, D::Uniform),
            ),
            (
                "effect.mean_ms",
                self.mean_ms.is_some(),
                drawn(K::Latency, D::Normal),
            ),
            (
                "effect.stddev_ms",
                self.stddev_ms.is_some(),
                drawn(K::Latency, D::Normal),
            ),
            (
                "effect.factor",
                self.factor.is_some(),
                drawn(K::Slow, D::Fixed),
            ),
            (
                "effect.min_factor",
                self.min_factor.is_some(),
                drawn(K::Slow, D::Uniform),
            ),
            (
                "effect.max_factor",
                self.max_factor.is_some(),
                drawn(K::Slow, D::Uniform),
            ),
            (
                "effect.mean_factor",
                self.mean_factor.is_some(),
                drawn(K::Slow, D::Normal),
            ),
            (
                "effect.stddev_factor",
                self.stddev_factor.is_some(),
                drawn(K::Slow, D::Normal),
            ),
            (
                "effect.rate_per_hour",
                self.rate_per_hour.is_some(),
                is(&[K::Interruption, K::HostFailure]),
            ),
            (
                "effect.notice_seconds",
                self.notice_seconds.is_some(),
                is(&[K::Interruption]),
            ),
            (
                "effect.action",
                self.action.is_some(),
                is(&[K::Interruption]),
            ),
        ];
        match fields
            .into_iter()
            .find(|(_, sent, applies)| *sent && !applies)
        {
            Some((field, _, _)) => Err(InvalidFaultRule {
                field,
                reason: "does not apply to this effect's kind and distribution".to_owned(),
            }),
            None => Ok(()),
        }
    }

    fn from_domain(effect: &domain::FaultEffect) -> Self {
        let of = |kind| Self {
            kind: Some(kind),
            ..Self::default()
        };
        match effect {
            domain::FaultEffect::Error(ErrorFault {
                status,
                problem_type,
                retry_after_seconds,
            }) => Self {
                status: Some(i64::from(status.code())),
                problem_type: Some(problem_type.clone()),
                retry_after_seconds: retry_after_seconds.map(i64::from),
                ..of(FaultEffectKind::Error)
            },
            domain::FaultEffect::Latency(latency) => {
                let ms = |v: u32| Some(i64::from(v));
                let base = of(FaultEffectKind::Latency);
                match *latency {
                    domain::Latency::Fixed { ms: fixed } => Self {
                        distribution: Some(LatencyDistribution::Fixed),
                        ms: ms(fixed),
                        ..base
                    },
                    domain::Latency::Uniform { min_ms, max_ms } => Self {
                        distribution: Some(LatencyDistribution::Uniform),
                        min_ms: ms(min_ms),
                        max_ms: ms(max_ms),
                        ..base
                    },
                    domain::Latency::Normal { mean_ms, stddev_ms } => Self {
                        distribution: Some(LatencyDistribution::Normal),
                        mean_ms: ms(mean_ms),
                        stddev_ms: ms(stddev_ms),
                        ..base
                    },
                }
            }
            domain::FaultEffect::Capacity(capacity) => Self {
                max_running: capacity.max_running.map(i64::from),
                retry_after_seconds: capacity.retry_after_seconds.map(i64::from),
                ..of(FaultEffectKind::Capacity)
            },
            domain::FaultEffect::LaunchFailure => of(FaultEffectKind::LaunchFailure),
            domain::FaultEffect::Slow(factor) => {
                let base = of(FaultEffectKind::Slow);
                match *factor {
                    domain::Factor::Fixed(factor) => Self {
                        distribution: Some(LatencyDistribution::Fixed),
                        factor: Some(factor),
                        ..base
                    },
                    domain::Factor::Uniform(min, max) => Self {
                        distribution: Some(LatencyDistribution::Uniform),
                        min_factor: Some(min),
                        max_factor: Some(max),
                        ..base
                    },
                    domain::Factor::Normal(mean, stddev) => Self {
                        distribution: Some(LatencyDistribution::Normal),
                        mean_factor: Some(mean),
                        stddev_factor: Some(stddev),
                        ..base
                    },
                }
            }
            domain::FaultEffect::Stuck => of(FaultEffectKind::Stuck),
            domain::FaultEffect::Interruption(interruption) => Self {
                rate_per_hour: Some(interruption.rate.per_hour),
                notice_seconds: Some(i64::from(interruption.notice_seconds)),
                action: Some(match interruption.action {
                    domain::InterruptionAction::Stop => InterruptionAction::Stop,
                    domain::InterruptionAction::Terminate => InterruptionAction::Terminate,
                }),
                ..of(FaultEffectKind::Interruption)
            },
            domain::FaultEffect::HostFailure(rate) => Self {
                rate_per_hour: Some(rate.per_hour),
                ..of(FaultEffectKind::HostFailure)
            },
        }
    }
}

/// A request to make a fault rule.
#[derive(Debug, Clone, Deserialize, Apiv2Schema)]
#[serde(deny_unknown_fields)]
pub struct CreateFaultRuleRequest {
    /// The project whose requests it hits; every project's when left out.
    #[serde(default, deserialize_with = "super::optional::not_null")]
    pub project: Option<Uuid>,
    /// The operations it hits; every one when left out or empty, or when it holds `*`.
    #[serde(default, deserialize_with = "super::optional::not_null")]
    pub operations: Option<Vec<FaultOperation>>,
    /// Only servers in these regions (the catalog's), at most 16; any region when left out
    /// or empty. A rule that names regions, types or a selector never hits a list.
    #[serde(default, deserialize_with = "super::optional::not_null")]
    pub regions: Option<Vec<String>>,
    /// Only servers of these types (the catalog's), at most 16; any type when left out or
    /// empty.
    #[serde(default, deserialize_with = "super::optional::not_null")]
    pub server_types: Option<Vec<String>>,
    /// Only servers whose labels match this selector (provisioning: the labels asked for).
    #[serde(default, deserialize_with = "super::optional::not_null")]
    pub label_selector: Option<String>,
    /// How likely a matching request is to be hit, 0 to 1; 1 when left out.
    #[serde(default, deserialize_with = "super::optional::not_null")]
    pub probability: Option<f64>,
    /// Not before this instant (the service's clock, virtual or not).
    #[serde(default, deserialize_with = "super::optional::not_null")]
    pub starts_at: Option<DateTime<Utc>>,
    /// Only before this instant, which must be after `starts_at`.
    #[serde(default, deserialize_with = "super::optional::not_null")]
    pub ends_at: Option<DateTime<Utc>>,
    /// At most this many firings, counted across every replica; no limit when left out.
    #[serde(default, deserialize_with = "super::optional::not_null")]
    pub max_count: Option<i64>,
    /// What it does.
    pub effect: FaultEffect,
}

impl CreateFaultRuleRequest {
    /// The use case's request, or the field that is wrong.
    pub fn into_domain(self) -> Result<NewFaultRule, InvalidFaultRule> {
        Ok(NewFaultRule {
            project: self.project.map(Into::into),
            max_count: self.max_count,
            spec: FaultRuleDraft {
                operations: self
                    .operations
                    .unwrap_or_default()
                    .into_iter()
                    .map(FaultOperation::name)
                    .collect(),
                regions: self.regions.unwrap_or_default(),
                server_types: self.server_types.unwrap_or_default(),
                label_selector: self.label_selector,
                probability: self.probability,
                starts_at: self.starts_at,
                ends_at: self.ends_at,
                effect: self.effect.draft()?,
            },
        })
    }
}

/// A fault rule, with how often it fired.
#[derive(Debug, Clone, PartialEq, Serialize, Apiv2Schema)]
pub struct FaultRule {
    /// Its id.
    pub id: Uuid,
    /// The project whose requests it hits; absent for every project.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<Uuid>,
    /// The operations it hits (`*` for every one).
    pub operations: Vec<FaultOperation>,
    /// Only servers in these regions; any when empty.
    pub regions: Vec<String>,
    /// Only servers of these types; any when empty.
    pub server_types: Vec<String>,
    /// Only servers whose labels match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<String>,
    /// How likely a matching request is to be hit.
    pub probability: f64,
    /// Not before this instant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<DateTime<Utc>>,
    /// Only before this instant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<DateTime<Utc>>,
    /// At most this many firings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_count: Option<u64>,
    /// How often it fired, across every replica (as last read).
    pub fired: u64,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// What it does.
    pub effect: FaultEffect,
}

impl From<domain::FaultRule> for FaultRule {
    fn from(rule: domain::FaultRule) -> Self {
        let operations = match &rule.matcher.operations {
            None => vec![FaultOperation::Any],
            Some(ops) => ops
                .iter()
                .filter_map(|op| FaultOperation::parse(op.as_str()))
                .collect(),
        };
        Self {
            id: rule.id.as_uuid(),
            project: rule.project.map(|p| p.as_uuid()),
            operations,
            regions: rule.matcher.regions.clone(),
            server_types: rule.matcher.server_types.clone(),
            label_selector: rule.matcher.label_selector.map(|(text, _)| text),
            probability: rule.matcher.probability,
            starts_at: rule.matcher.starts_at,
            ends_at: rule.matcher.ends_at,
            max_count: rule.max_count,
            fired: rule.fired,
            created_at: rule.created_at,
            effect: FaultEffect::from_domain(&rule.effect),
        }
    }
}

/// One page of fault rules.
#[derive(Debug, Clone, PartialEq, Serialize, Apiv2Schema)]
pub struct FaultRuleList {
    /// The rules, oldest first.
    pub items: Vec<FaultRule>,
    /// Pass as `cursor` to read the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl From<Page<domain::FaultRule>> for FaultRuleList {
    fn from(page: Page<domain::FaultRule>) -> Self {
        Self {
            items: page.items.into_iter().map(FaultRule::from).collect(),
            next_cursor: page.next.map(|cursor| cursor.encode()),
        }
    }
}

/// Paging of the fault rules.
#[derive(Debug, Clone, Default, Deserialize, Apiv2Schema)]
pub struct FaultListQuery {
    /// Page size, 1 to 100; 20 when left out.
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}
