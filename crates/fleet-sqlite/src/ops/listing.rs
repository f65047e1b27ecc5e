//! A page of servers: the filters and the keyset cursor as SQL, and a label selector by
//! whichever of its two translations (`selector`) costs less for the page at hand.
//!
//! SQLite keeps no statistics here (fleetd never analyzes the file), so it cannot tell a
//! selector that matches a third of the servers from one that matches a handful, and for
//! `servers.id IN (…)` it builds the whole list first: 33,000 ids for `env=prod` over
//! 100,000 servers (10–25 ms) to fill a page of 20. Testing each server the scan passes
//! (a primary-key lookup, about 2 µs) costs what the page needs instead, unless few
//! servers match, when the scan would pass them all (a list costs about 0.3 µs a server it
//! holds). So a page with a selector is read in up to three steps, each a statement of its
//! own:
//!
//! 1. where the window of the next [`WINDOW`] servers the other filters let through after
//!    the cursor ends (an index-only walk);
//! 2. the page among them, each tested by lookups: the answer when it is full, or when no
//!    server lies beyond the window;
//! 3. otherwise (fewer than a page matched among [`WINDOW`]: a selector that matches few
//!    servers, whose lists are short unless its requirements are common alone and rare
//!    together) the page by the lists.
//!
//! Step 2's page is the start of the full answer whatever changed between the statements:
//! it holds every matching server up to the last it returns.

use diesel::SqliteConnection;
use diesel::dsl::count_star;
use diesel::prelude::*;
use diesel::sqlite::Sqlite;
use fleet_domain::page::{Cursor, PageRequest};
use fleet_domain::ports::BadRow;
use fleet_domain::selector::Requirement;
use fleet_domain::server::{Server, ServerFilter, ServerTally, TerminatedServers};
use fleet_domain::state::ServerState;

use crate::errors::TxError;
use crate::mapping::{id_text, micros, project_text};
use crate::ops::selector::{self, Condition};
use crate::rows::ServerRow;
use crate::schema::servers;

type Result<T> = std::result::Result<T, TxError>;

/// How many servers a page with a selector tests one by one before it asks for the lists.
pub(crate) const WINDOW: i64 = 1_000;

/// A page of servers matching `filter` in (created_at, id) order.
pub(crate) fn list(
    conn: &mut SqliteConnection,
    filter: &ServerFilter,
    page: &PageRequest,
) -> Result<Vec<Server>> {
    let requirements = filter
        .selector
        .as_ref()
        .map(|selector| selector.requirements())
        .unwrap_or_default();
    if requirements.is_empty() {
        return load(conn, page, filtered(filter, page.after));
    }
    let walked = selected(filtered(filter, page.after), requirements, selector::lookup);
    let Some((at, id)) = nth(conn, filter, page, WINDOW)? else {
        return load(conn, page, walked);
    };
    let window = walked.filter(
        servers::created_at
            .lt(at)
            .or(servers::created_at.eq(at).and(servers::id.le(id))),
    );
    let found = load(conn, page, window)?;
    if found.len() >= page.limit as usize {
        return Ok(found);
    }
    let listed = selected(
        filtered(filter, page.after),
        requirements,
        selector::membership,
    );
    load(conn, page, listed)
}

/// The `n`th server (from 1) after the cursor among those the other filters let through,
/// by its place in list order.
fn nth(
    conn: &mut SqliteConnection,
    filter: &ServerFilter,
    page: &PageRequest,
    n: i64,
) -> Result<Option<(i64, String)>> {
    Ok(filtered(filter, page.after)
        .select((servers::created_at, servers::id))
        .order((servers::created_at.asc(), servers::id.asc()))
        .offset(n - 1)
        .limit(1)
        .first(conn)
        .optional()?)
}

/// How many servers match `filter`: every one must be found, so by the selector's lists.
pub(crate) fn count(conn: &mut SqliteConnection, filter: &ServerFilter) -> Result<u64> {
    let count: i64 = matching(filter).count().get_result(conn)?;
    Ok(u64::try_from(count).unwrap_or_default())
}

/// Every server `filter` lets through, by the selector's lists.
fn matching<'a>(filter: &ServerFilter) -> servers::BoxedQuery<'a, Sqlite> {
    let requirements = filter
        .selector
        .as_ref()
        .map(|selector| selector.requirements())
        .unwrap_or_default();
    selected(filtered(filter, None), requirements, selector::membership)
}

/// How many servers match `filter` in each state and region that has any.
pub(crate) fn tally(
    conn: &mut SqliteConnection,
    filter: &ServerFilter,
) -> Result<Vec<ServerTally>> {
    // Grouped over the filter as a subquery: diesel groups only a query it has not boxed,
    // and the filter is built boxed.
    let rows: Vec<(String, String, i64)> = servers::table
        .filter(servers::id.eq_any(matching(filter).select(servers::id)))
        .group_by((servers::state, servers::region))
        .select((servers::state, servers::region, count_star()))
        .load(conn)?;
    rows.into_iter()
        .map(|(state, region, count)| {
            Ok(ServerTally {
                state: state.parse().map_err(|_| BadRow::new("state", &state))?,
                region,
                count: u64::try_from(count).unwrap_or_default(),
            })
        })
        .collect()
}

/// The servers the filters other than the selector let through, after `after`.
fn filtered<'a>(filter: &ServerFilter, after: Option<Cursor>) -> servers::BoxedQuery<'a, Sqlite> {
    let mut query = servers::table.into_boxed();
    if let Some(project) = filter.project {
        query = query.filter(servers::project_id.eq(project_text(project)));
    }
    if let Some(region) = &filter.region {
        query = query.filter(servers::region.eq(region.clone()));
    }
    if let Some(server_type) = &filter.server_type {
        query = query.filter(servers::server_type.eq(server_type.clone()));
    }
    if let Some(state) = filter.state {
        query = query.filter(servers::state.eq(state.as_str()));
    }
    match filter.terminated {
        TerminatedServers::All => {}
        TerminatedServers::Since(instant) => {
            query = query.filter(
                servers::state
                    .ne(ServerState::Terminated.as_str())
                    .or(servers::terminated_at.ge(micros(instant))),
            );
        }
        TerminatedServers::None => {
            query = query.filter(servers::state.ne(ServerState::Terminated.as_str()));
        }
    }
    if let Some(after) = after {
        let at = micros(after.created_at);
        query = query.filter(
            servers::created_at.gt(at).or(servers::created_at
                .eq(at)
                .and(servers::id.gt(id_text(after.id)))),
        );
    }
    query
}

/// `query` narrowed by every requirement, each translated by `translate`.
fn selected<'a>(
    mut query: servers::BoxedQuery<'a, Sqlite>,
    requirements: &[Requirement],
    translate: fn(&Requirement) -> Condition,
) -> servers::BoxedQuery<'a, Sqlite> {
    for requirement in requirements {
        query = query.filter(translate(requirement));
    }
    query
}

/// The page of `query`: in list order, after the offset, at most the limit.
fn load(
    conn: &mut SqliteConnection,
    page: &PageRequest,
    query: servers::BoxedQuery<'_, Sqlite>,
) -> Result<Vec<Server>> {
    query
        .select(ServerRow::as_select())
        .order((servers::created_at.asc(), servers::id.asc()))
        .offset(i64::try_from(page.offset).unwrap_or(i64::MAX))
        .limit(i64::from(page.limit))
        .load(conn)?
        .into_iter()
        .map(|row: ServerRow| Ok(row.into_domain()?))
        .collect()
}

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;
    use fleet_domain::Selector;

    use super::*;

    /// 10,000 servers (ten windows), two to a creation instant so the id breaks ties: `env`
    /// on every one (a third each), `team=z` on twenty, one in seven stopping.
    fn fleet() -> SqliteConnection {
        let mut conn = SqliteConnection::establish(":memory:").expect("a database");
        crate::migrate::migrate(&mut conn).expect("migrated");
        conn.batch_execute(
            "INSERT INTO ip_pools (region, cidr, size, next_offset)
                 VALUES ('r', '10.0.0.0/16', 65534, 10000);
             WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 9999)
             INSERT INTO servers (id, name, region, server_type, state, ip,
                 hourly_price_micros, vcpus, generation, created_at, updated_at,
                 billed_seconds, billed_amount_micros, labels)
             SELECT printf('00000000-0000-4000-8000-%012x', 10000 - i), 's' || i, 'r', 't',
                 CASE WHEN i % 7 = 0 THEN 'stopping' ELSE 'running' END,
                 '10.0.' || ((i + 1) / 256) || '.' || ((i + 1) % 256), 1, 1, 0,
                 1767225600000000 + i / 2 * 1000000, 1767225600000000, 0, 0,
                 json_patch(json_object('env', json_extract('[\"prod\", \"dev\", \"qa\"]',
                                                            '$[' || (i % 3) || ']')),
                            CASE WHEN i % 500 = 7 THEN '{\"team\": \"z\"}' ELSE '{}' END)
             FROM n",
        )
        .expect("servers");
        conn
    }

    /// Every server, in list order: what a page is cut from.
    fn all(conn: &mut SqliteConnection) -> Vec<Server> {
        let everything = PageRequest {
            limit: 10_000,
            after: None,
            offset: 0,
        };
        list(conn, &ServerFilter::default(), &everything).expect("list")
    }

    /// The page the domain's own matching cuts from `servers`.
    fn expected(servers: &[Server], filter: &ServerFilter, page: &PageRequest) -> Vec<Server> {
        let selector = filter.selector.as_ref().expect("a selector");
        servers
            .iter()
            .filter(|s| filter.state.is_none_or(|state| s.state == state))
            .filter(|s| selector.matches(&s.labels))
            .filter(|s| {
                page.after
                    .is_none_or(|c| (s.created_at, s.id) > (c.created_at, c.id))
            })
            .skip(page.offset as usize)
            .take(page.limit as usize)
            .cloned()
            .collect()
    }

    #[test]
    fn every_page_is_the_one_the_domains_matching_cuts_by_either_plan() {
        let mut conn = fleet();
        let servers = all(&mut conn);
        assert_eq!(servers.len(), 10_000);
        let cases = [
            // Many match: the window's lookups fill the page.
            ("env=prod", None),
            ("env!=prod,env notin (qa)", None),
            // Five match: the window falls short, the lists answer.
            ("team=z", None),
            ("!env", None),
            ("team=z,env in (prod,dev)", Some(ServerState::Running)),
            // The state leaves fewer servers than a window.
            ("env=dev", Some(ServerState::Stopping)),
            ("team", Some(ServerState::Stopping)),
        ];
        for (text, state) in cases {
            let filter = ServerFilter {
                state,
                selector: Some(Selector::parse(text).expect("a selector")),
                ..ServerFilter::default()
            };
            for (limit, offset) in [(20, 0), (1, 3), (100, 40)] {
                let mut after: Option<Cursor> = None;
                for _ in 0..4 {
                    let page = PageRequest {
                        limit,
                        after,
                        offset,
                    };
                    let read = list(&mut conn, &filter, &page).expect("list");
                    assert_eq!(
                        read,
                        expected(&servers, &filter, &page),
                        "{text:?} {state:?} {limit}/{offset} after {after:?}"
                    );
                    let Some(last) = read.last() else { break };
                    after = Some(Cursor {
                        created_at: last.created_at,
                        id: last.id,
                    });
                }
            }
        }
    }
}
