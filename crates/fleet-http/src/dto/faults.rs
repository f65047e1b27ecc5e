//! Fault rules (`/faults`): what a client asks fleet to do wrong on purpose.
//!
//! The effect is one flat object whose `kind` says which of its fields apply (the others
//! are ignored): paperclip describes no tagged union, and a flat object keeps the document
//! one generated clients can use.

use chrono::{DateTime, Utc};
use fleet_domain::faults::{
    self as domain, EffectDraft, ErrorFault, FaultRuleDraft, InvalidFaultRule, LatencyDraft,
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
}

/// How an added latency is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Apiv2Schema)]
#[serde(rename_all = "snake_case")]
pub enum LatencyDistribution {
    /// Always `ms`.
    Fixed,
    /// Uniformly between `min_ms` and `max_ms`.
    Uniform,
    /// Normally around `mean_ms` with `stddev_ms`, cut at 0, at four deviations and at
    /// 30,000 ms.
    Normal,
}

/// What a rule does when it fires. A field that does not apply to `kind` (or to the
/// latency's `distribution`) is refused, so a mistyped kind never leaves a setting unused.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, Apiv2Schema)]
#[serde(deny_unknown_fields)]
pub struct FaultEffect {
    /// `error` or `latency`.
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
    /// For `error`: the `Retry-After` sent, in seconds; none when left out.
    #[serde(default, deserialize_with = "super::optional::not_null")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<i64>,
    /// For `latency`: how the delay is drawn; `fixed` when left out.
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
}

/// The status an error rule answers when it names none, as LocalStack's chaos rules do.
const DEFAULT_STATUS: i64 = 503;

impl FaultEffect {
    fn draft(&self) -> Result<EffectDraft, InvalidFaultRule> {
        self.refuse_inapplicable()?;
        match self.kind {
            None => Err(InvalidFaultRule {
                field: "effect.kind",
                reason: "name the effect: error or latency".to_owned(),
            }),
            Some(FaultEffectKind::Error) => Ok(EffectDraft::Error {
                status: self.status.unwrap_or(DEFAULT_STATUS),
                problem_type: self.problem_type.clone(),
                retry_after_seconds: self.retry_after_seconds,
            }),
            Some(FaultEffectKind::Latency) => Ok(EffectDraft::Latency(
                match self.distribution.unwrap_or(LatencyDistribution::Fixed) {
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
                },
            )),
        }
    }

    /// Refuses the first field sent that `kind` and `distribution` do not use.
    fn refuse_inapplicable(&self) -> Result<(), InvalidFaultRule> {
        let error = self.kind == Some(FaultEffectKind::Error);
        let latency = |distribution| {
            self.kind == Some(FaultEffectKind::Latency)
                && self.distribution.unwrap_or(LatencyDistribution::Fixed) == distribution
        };
        let fields = [
            ("effect.status", self.status.is_some(), error),
            ("effect.problem_type", self.problem_type.is_some(), error),
            (
                "effect.retry_after_seconds",
                self.retry_after_seconds.is_some(),
                error,
            ),
            (
                "effect.distribution",
                self.distribution.is_some(),
                self.kind == Some(FaultEffectKind::Latency),
            ),
            (
                "effect.ms",
                self.ms.is_some(),
                latency(LatencyDistribution::Fixed),
            ),
            (
                "effect.min_ms",
                self.min_ms.is_some(),
                latency(LatencyDistribution::Uniform),
            ),
            (
                "effect.max_ms",
                self.max_ms.is_some(),
                latency(LatencyDistribution::Uniform),
            ),
            (
                "effect.mean_ms",
                self.mean_ms.is_some(),
                latency(LatencyDistribution::Normal),
            ),
            (
                "effect.stddev_ms",
                self.stddev_ms.is_some(),
                latency(LatencyDistribution::Normal),
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
        match effect {
            domain::FaultEffect::Error(ErrorFault {
                status,
                problem_type,
                retry_after_seconds,
            }) => Self {
                kind: Some(FaultEffectKind::Error),
                status: Some(i64::from(status.code())),
                problem_type: Some(problem_type.clone()),
                retry_after_seconds: retry_after_seconds.map(i64::from),
                ..Self::default()
            },
            domain::FaultEffect::Latency(latency) => {
                let ms = |v: u32| Some(i64::from(v));
                let base = Self {
                    kind: Some(FaultEffectKind::Latency),
                    ..Self::default()
                };
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
