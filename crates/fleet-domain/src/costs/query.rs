//! What a cost report asks for, checked before any store is read.

use std::fmt;

use chrono::{DateTime, Datelike, TimeDelta, Timelike, Utc};

use crate::billing;

use crate::labels::{self, LabelError};
use crate::server::Server;

/// The most buckets one report has.
pub const MAX_BUCKETS: usize = 10_000;

/// The most keys a report is grouped by.
pub const MAX_GROUP_KEYS: usize = 3;

/// How long a report's buckets are; each starts on its boundary (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    /// Clock hours.
    Hour,
    /// Days.
    Day,
    /// Calendar months.
    Month,
}

impl Granularity {
    /// The name a query spells it with.
    pub fn as_str(self) -> &'static str {
        match self {
            Granularity::Hour => "hour",
            Granularity::Day => "day",
            Granularity::Month => "month",
        }
    }

    /// The start of the bucket `at` lies in.
    pub fn start_of(self, at: DateTime<Utc>) -> DateTime<Utc> {
        let day = at.date_naive();
        let start = match self {
            Granularity::Hour => day.and_hms_opt(at.hour(), 0, 0),
            Granularity::Day => day.and_hms_opt(0, 0, 0),
            Granularity::Month => day.with_day(1).and_then(|d| d.and_hms_opt(0, 0, 0)),
        };
        start.map_or(at, |start| start.and_utc())
    }

    /// The start of the bucket after the one starting at `start`.
    pub fn next(self, start: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Granularity::Hour => start + TimeDelta::hours(1),
            Granularity::Day => start + TimeDelta::days(1),
            Granularity::Month => billing::month_end(start),
        }
    }
}

impl std::str::FromStr for Granularity {
    type Err = CostQueryError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "hour" => Ok(Granularity::Hour),
            "day" => Ok(Granularity::Day),
            "month" => Ok(Granularity::Month),
            other => Err(CostQueryError::UnknownGranularity(other.to_owned())),
        }
    }
}

/// What a report's groups are told apart by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupKey {
    /// The server's project (its id).
    Project,
    /// The server's region.
    Region,
    /// The server's type.
    Type,
    /// The server (its id).
    Server,
    /// The value of the server's label with this key, as it is now; none when unset.
    Label(String),
}

impl GroupKey {
    /// The key as a query spells it: `region`, `label:team`.
    pub fn name(&self) -> String {
        match self {
            GroupKey::Project => "project".to_owned(),
            GroupKey::Region => "region".to_owned(),
            GroupKey::Type => "type".to_owned(),
            GroupKey::Server => "server".to_owned(),
            GroupKey::Label(key) => format!("label:{key}"),
        }
    }

    /// The key's value for `server`.
    pub fn value_of(&self, server: &Server) -> Option<String> {
        match self {
            GroupKey::Project => Some(server.project.to_string()),
            GroupKey::Region => Some(server.region.clone()),
            GroupKey::Type => Some(server.server_type.clone()),
            GroupKey::Server => Some(server.id.to_string()),
            GroupKey::Label(key) => server.labels.get(key).map(str::to_owned),
        }
    }

    fn parse(text: &str) -> Result<GroupKey, CostQueryError> {
        match text {
            "project" => Ok(GroupKey::Project),
            "region" => Ok(GroupKey::Region),
            "type" => Ok(GroupKey::Type),
            "server" => Ok(GroupKey::Server),
            other => match other.strip_prefix("label:") {
                Some(key) => labels::validate_key(key)
                    .map(|()| GroupKey::Label(key.to_owned()))
                    .map_err(|e| CostQueryError::BadLabelKey(key.to_owned(), e)),
                None => Err(CostQueryError::UnknownGroupKey(other.to_owned())),
            },
        }
    }
}

impl fmt::Display for GroupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// Why a cost query was refused; each names the parameter and the limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CostQueryError {
    /// `to` not after `from`.
    #[error("`to` ({to}) must be after `from` ({from})")]
    Reversed {
        /// The range's start.
        from: DateTime<Utc>,
        /// The range's end.
        to: DateTime<Utc>,
    },
    /// More buckets than [`MAX_BUCKETS`].
    #[error(
        "from {from} to {to} by {granularity} is more than {MAX_BUCKETS} buckets; \
         narrow the range or choose a coarser `granularity`"
    )]
    TooManyBuckets {
        /// The range's start.
        from: DateTime<Utc>,
        /// The range's end.
        to: DateTime<Utc>,
        /// The granularity asked for.
        granularity: &'static str,
    },
    /// A granularity other than hour, day or month.
    #[error("unknown `granularity` '{0}'; it is one of hour, day and month")]
    UnknownGranularity(String),
    /// A group key other than the known ones.
    #[error(
        "unknown `group_by` key '{0}'; the keys are project, region, type, server and label:KEY"
    )]
    UnknownGroupKey(String),
    /// A `label:KEY` whose key breaks the label rules.
    #[error("`group_by` key 'label:{0}': {1}")]
    BadLabelKey(String, LabelError),
    /// The same key twice.
    #[error("`group_by` names '{0}' twice")]
    DuplicateGroupKey(String),
    /// More keys than [`MAX_GROUP_KEYS`].
    #[error("`group_by` names more than {MAX_GROUP_KEYS} keys")]
    TooManyGroupKeys,
}

/// A checked cost query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CostQuery {
    /// Records whose period starts at or after this count.
    pub from: DateTime<Utc>,
    /// Records whose period starts before this count.
    pub to: DateTime<Utc>,
    /// The buckets' length.
    pub granularity: Granularity,
    /// The group keys, in the order the groups' values are listed.
    pub group_by: Vec<GroupKey>,
}

impl CostQuery {
    /// A query from its parts; `group_by` is a comma-separated list of keys (empty: one
    /// group per bucket).
    pub fn new(
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        granularity: Granularity,
        group_by: &str,
    ) -> Result<CostQuery, CostQueryError> {
        if to <= from {
            return Err(CostQueryError::Reversed { from, to });
        }
        let mut keys: Vec<GroupKey> = Vec::new();
        for text in group_by.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let key = GroupKey::parse(text)?;
            if keys.contains(&key) {
                return Err(CostQueryError::DuplicateGroupKey(key.name()));
            }
            keys.push(key);
            if keys.len() > MAX_GROUP_KEYS {
                return Err(CostQueryError::TooManyGroupKeys);
            }
        }
        let query = CostQuery {
            from,
            to,
            granularity,
            group_by: keys,
        };
        if query.bucket_starts().len() > MAX_BUCKETS {
            return Err(CostQueryError::TooManyBuckets {
                from,
                to,
                granularity: granularity.as_str(),
            });
        }
        Ok(query)
    }

    /// The start of every bucket of the range, oldest first (at most one more than
    /// [`MAX_BUCKETS`], which is how a too-long range is told).
    pub fn bucket_starts(&self) -> Vec<DateTime<Utc>> {
        let mut starts = Vec::new();
        let mut start = self.granularity.start_of(self.from);
        while start < self.to && starts.len() <= MAX_BUCKETS {
            starts.push(start);
            start = self.granularity.next(start);
        }
        starts
    }
}
