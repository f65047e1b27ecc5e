//! Keeping the usage rollups: the records a batch appends, summed per project, region,
//! type and start hour, added to `usage_rollups` in the same transaction.

use std::collections::BTreeMap;

use diesel::SqliteConnection;
use diesel::prelude::*;
use diesel::upsert::excluded;
use fleet_domain::UsageRecord;
use fleet_domain::server::Server;

use crate::errors::TxError;
use crate::mapping::{micros, project_text};
use crate::schema::usage_rollups;

const MICROS_PER_HOUR: i64 = 3_600_000_000;

/// One rollup's key: project, region, type and hour (Unix microseconds).
type Key = (String, String, String, i64);

/// What a batch adds to each rollup, in key order.
#[derive(Default)]
pub(crate) struct Additions(BTreeMap<Key, (i64, i64)>);

impl Additions {
    /// Counts `records` of `server`.
    pub(crate) fn add<'a>(
        &mut self,
        server: &Server,
        records: impl Iterator<Item = &'a UsageRecord>,
    ) {
        for record in records {
            let hour = micros(record.period_start).div_euclid(MICROS_PER_HOUR) * MICROS_PER_HOUR;
            let key = (
                project_text(server.project),
                server.region.clone(),
                server.server_type.clone(),
                hour,
            );
            let sum = self.0.entry(key).or_default();
            sum.0 += record.amount.micros();
            sum.1 += record.seconds;
        }
    }

    /// Adds the sums to their rollups, creating those that do not exist. Call inside the
    /// write transaction that appends the records.
    pub(crate) fn write(self, conn: &mut SqliteConnection) -> Result<(), TxError> {
        for ((project, region, server_type, hour), (amount, seconds)) in self.0 {
            diesel::insert_into(usage_rollups::table)
                .values((
                    usage_rollups::project_id.eq(project),
                    usage_rollups::region.eq(region),
                    usage_rollups::server_type.eq(server_type),
                    usage_rollups::hour.eq(hour),
                    usage_rollups::amount_micros.eq(amount),
                    usage_rollups::seconds.eq(seconds),
                ))
                .on_conflict((
                    usage_rollups::project_id,
                    usage_rollups::region,
                    usage_rollups::server_type,
                    usage_rollups::hour,
                ))
                .do_update()
                .set((
                    usage_rollups::amount_micros
                        .eq(usage_rollups::amount_micros + excluded(usage_rollups::amount_micros)),
                    usage_rollups::seconds
                        .eq(usage_rollups::seconds + excluded(usage_rollups::seconds)),
                ))
                .execute(conn)?;
        }
        Ok(())
    }
}
