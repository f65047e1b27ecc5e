//! Fault rules as the stores keep them: the columns the store needs to act on (project,
//! counts) and the rest as the client's own JSON, read back through the client's checks.

use chrono::{DateTime, Utc};

use crate::faults::effect::FaultEffect;
use crate::faults::matcher::FaultMatch;
use crate::faults::rule::{FaultRule, FaultRuleDraft};
use crate::ids::{FaultRuleId, ProjectId};
use crate::ports::BadRow;

/// A rule as a store reads or writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFault {
    /// Its id.
    pub id: FaultRuleId,
    /// Its project, `None` for every project.
    pub project: Option<ProjectId>,
    /// The JSON of its [`FaultRuleDraft`].
    pub spec: String,
    /// At most this many firings.
    pub max_count: Option<i64>,
    /// How often it fired.
    pub fired: i64,
    /// When it was made.
    pub created_at: DateTime<Utc>,
}

/// The JSON a store keeps for a rule's matcher and effect.
pub fn encode_spec(spec: &FaultRuleDraft) -> String {
    // A draft holds strings, numbers and instants only: it always serializes.
    serde_json::to_string(spec).unwrap_or_default()
}

/// The spec a store kept, with the matcher and effect it describes, checked as a client's
/// would be.
pub fn decode_spec(text: &str) -> Result<(FaultRuleDraft, FaultMatch, FaultEffect), BadRow> {
    let bad = || BadRow::new("fault_rules.spec", text);
    let spec: FaultRuleDraft = serde_json::from_str(text).map_err(|_| bad())?;
    let (matcher, effect) = spec.check().map_err(|_| bad())?;
    Ok((spec, matcher, effect))
}

impl StoredFault {
    /// The row of a rule.
    pub fn from_rule(rule: &FaultRule) -> StoredFault {
        StoredFault {
            id: rule.id,
            project: rule.project,
            spec: encode_spec(&rule.spec),
            max_count: rule.max_count.map(|c| i64::try_from(c).unwrap_or(i64::MAX)),
            fired: i64::try_from(rule.fired).unwrap_or(i64::MAX),
            created_at: rule.created_at,
        }
    }

    /// The rule a row holds, or the column that is bad.
    pub fn into_rule(self) -> Result<FaultRule, BadRow> {
        let (spec, matcher, effect) = decode_spec(&self.spec)?;
        let max_count = self
            .max_count
            .map(|c| u64::try_from(c).map_err(|_| BadRow::new("fault_rules.max_count", c)))
            .transpose()?;
        let fired =
            u64::try_from(self.fired).map_err(|_| BadRow::new("fault_rules.fired", self.fired))?;
        Ok(FaultRule {
            id: self.id,
            project: self.project,
            matcher,
            effect,
            max_count,
            fired,
            created_at: self.created_at,
            spec,
        })
    }
}
