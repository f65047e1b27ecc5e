//! Fault rules: what a client asks fleet to do wrong on purpose, so that the tools tested
//! against it meet the errors and the slowness of a real cloud.
//!
//! A rule is a [`FaultMatch`] (which operations, where, how likely, when, how often) and a
//! [`FaultEffect`]. Rules are checked by the use cases before an operation changes
//! anything, against the rules held in memory by a [`FaultBook`]; [`FaultInjector`] decides,
//! counts the firing in the store (so `max_count` holds across replicas) and records it.

mod chaos;
pub(crate) mod draw;
mod effect;
mod injector;
mod matcher;
mod operation;
mod pending;
mod rule;
mod stored;

pub use chaos::LifecycleFaults;
pub use draw::{Draw, FixedDraw};
pub use effect::{
    Capacity, DEFAULT_NORMAL_CLAMP, DEFAULT_NOTICE_SECONDS, ErrorFault, ErrorStatus, Factor,
    FaultEffect, INSUFFICIENT_CAPACITY, Interruption, InterruptionAction, Latency,
    MAX_CAPACITY_CAP, MAX_LATENCY_MS, MAX_NOTICE_SECONDS, MAX_PROBLEM_TYPE_CHARS,
    MAX_RATE_PER_HOUR, MAX_RETRY_AFTER_SECONDS, MAX_SLOW_FACTOR, Rate,
};
pub use injector::{
    FaultBook, FaultDecision, FaultError, FaultInjector, FaultObserver, FaultRecord, InjectedFault,
    InjectorParts, Pause,
};
#[cfg(any(test, feature = "mock"))]
pub use injector::{MockFaultObserver, MockPause};
pub use matcher::{FaultMatch, FaultTarget, MAX_MATCH_VALUES};
pub use operation::Operation;
pub use pending::{ChaosState, PendingFault};
pub use rule::{
    EffectDraft, FactorDraft, FaultRule, FaultRuleDraft, InvalidFaultRule, LatencyDraft,
    MAX_FAULT_COUNT, check_max_count,
};
pub use stored::{StoredFault, decode_spec, encode_spec};

#[cfg(test)]
mod tests;
