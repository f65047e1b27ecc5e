//! The JSON shapes of the API, apart from the domain types so the wire format changes only
//! on purpose. Optional fields are left out when empty (never `null`), so the generated
//! spec's "optional, not nullable" is the truth; in requests likewise, a `null` for such a
//! field is refused (`optional`).

mod action;
mod billing_policy;
mod budgets;
mod bulk;
mod catalog;
mod clock;
mod costs;
mod counts;
mod enums;
mod faults;
mod history;
mod labels;
mod money;
mod optional;
mod quotas;
mod reason;
mod server;
mod tenancy;
mod watch;
mod webhooks;

pub use action::{ActionCommand, ActionList, ActionListQuery, ActionRecord, ActionStatus};
pub use billing_policy::{BillingPolicy, BillingPolicyName};
pub use budgets::{Budget, BudgetBasis, BudgetCrossing, BudgetList, CreateBudgetRequest};
pub use bulk::{
    BulkActionCounts, BulkActionOutcome, BulkActionReport, BulkActionRequest, BulkActionResult,
};
pub use catalog::{Catalog, Pool, Region, ServerType};
pub use clock::{AdvanceReport, AdvanceRequest, ClockReading};
pub use costs::{
    CostBucket, CostForecast, CostGranularity, CostGroup, CostGroupKey, CostQuery, CostReport,
    ForecastQuery,
};
pub use counts::{CountsQuery, RegionCount, ServerCounts, StateCount, StateRegionCount};
pub use enums::{Action, Actor, EventType, ServerState};
pub use faults::{
    CreateFaultRuleRequest, FaultEffect, FaultEffectKind, FaultListQuery, FaultOperation,
    FaultRule, FaultRuleList, InterruptionAction, LatencyDistribution,
};
pub use history::{BillingQuery, BillingReport, Event, EventList, UsageRecord};
pub use labels::{LabelPatch, Labels, UpdateServerRequest};
pub use money::Money;
pub use quotas::{ProjectQuotas, SetQuotasRequest};
pub use reason::{StateReason, StateReasonCode};
pub use server::{
    ActionRequest, Billing, HistoryQuery, ListQuery, ProvisionRequest, Server, ServerList,
};
pub use tenancy::{
    ApiKey, CreateKeyRequest, CreateProjectRequest, CreatedKey, KeyList, Project, ProjectDetail,
    ProjectList, Role, UpdateProjectRequest,
};
pub use watch::{
    EventPage, EventsParams, EventsQuery, StreamQuery, WaitParams, WaitQuery, WatchEvent,
    WatchEventData, WatchEventType,
};
pub use webhooks::{
    CreateWebhookRequest, DeliveryStatus, UpdateWebhookRequest, Webhook, WebhookDelivery,
    WebhookDeliveryList, WebhookList, WebhookListQuery, WebhookWithSecret,
};
