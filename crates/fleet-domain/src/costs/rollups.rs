//! When a store's usage rollups answer a cost read exactly.
//!
//! A rollup sums the ledger per project, region, server type and clock hour of each
//! record's start, which is how [`crate::ports::CostStore::hourly_costs`] groups the hours
//! it reads. It answers a read whose range is whole hours (a record starting at 10:17 is in
//! 10:00's rollup, so a range from 10:30 could not leave it out) and whose keys are among
//! those three; any other read goes to the ledger.

use chrono::{DateTime, Utc};

use super::query::{Granularity, GroupKey};

/// Whether rollups answer the hours of `[from, to)` grouped by `group_by` exactly.
pub fn rollups_answer(from: DateTime<Utc>, to: DateTime<Utc>, group_by: &[GroupKey]) -> bool {
    let whole_hour = |at: DateTime<Utc>| Granularity::Hour.start_of(at) == at;
    whole_hour(from)
        && whole_hour(to)
        && group_by
            .iter()
            .all(|key| matches!(key, GroupKey::Project | GroupKey::Region | GroupKey::Type))
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;
    use crate::testing::t0;

    #[test]
    fn whole_hours_by_project_region_and_type_only() {
        let (from, to) = (t0(), t0() + TimeDelta::days(30));
        let keys = [GroupKey::Region, GroupKey::Type, GroupKey::Project];
        assert!(rollups_answer(from, to, &keys));
        assert!(rollups_answer(from, to, &[]));
        assert!(!rollups_answer(from + TimeDelta::minutes(30), to, &keys));
        assert!(!rollups_answer(
            from,
            to - TimeDelta::microseconds(1),
            &keys
        ));
        assert!(!rollups_answer(
            from,
            to,
            &[GroupKey::Region, GroupKey::Server]
        ));
        assert!(!rollups_answer(from, to, &[GroupKey::Label("team".into())]));
    }
}
