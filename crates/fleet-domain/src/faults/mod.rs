//! Fault rules: what a client asks fleet to do wrong on purpose, so that the tools tested
//! against it meet the errors and the slowness of a real cloud.
//!
//! A rule is a [`FaultMatch`] (which operations, where, how likely, when, how often) and a
//! [`FaultEffect`]. Rules are checked by the use cases before an operation changes
//! anything, against the rules held in memory by a [`FaultBook`]; [`FaultInjector`] decides,
//! counts the firing in the store (so `max_count` holds across replicas) and records it.

pub(crate) mod draw;
mod effect;
mod injector;
mod matcher;
mod operation;
mod rule;
mod stored;

pub use draw::{Draw, FixedDraw};
pub use effect::{
    DEFAULT_NORMAL_CLAMP, ErrorFault, ErrorStatus, FaultEffect, Latency, MAX_LATENCY_MS,
    MAX_PROBLEM_TYPE_CHARS, MAX_RETRY_AFTER_SECONDS,
};
pub use injector::{
    FaultBook, FaultDecision, FaultError, FaultInjector, FaultObserver, FaultRecord, InjectedFault,
    InjectorParts, Pause,
};
#[cfg(any(test, feature = "mock"))]
pub use injector::{MockFaultObserver, MockPause};
pub use matcher::{FaultMatch, FaultTarget, MAX_MATCH_VALUES};
pub use operation::Operation;
pub use rule::{
    EffectDraft, FaultRule, FaultRuleDraft, InvalidFaultRule, LatencyDraft, MAX_FAULT_COUNT,
    check_max_count,
};
pub use stored::{StoredFault, decode_spec, encode_spec};

#[cfg(test)]
mod tests;
