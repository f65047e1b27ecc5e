//! The requests of each fleet phase, as load operations over one worker's connection.

use std::cell::RefCell;
use std::net::SocketAddr;

use anyhow::Result;
use chrono::{DateTime, Utc};
use fleet_domain::Catalog;
use fleet_domain::catalog::{RegionSpec, ServerTypeSpec};
use hyper::StatusCode;
use serde::Deserialize;
use uuid::Uuid;

use crate::http::{Conn, encode_query_value};

/// The list queries the list phases cycle through: no filter, each filter alone, and the
/// combinations, every one paginated with its cursor.
pub const LIST_FILTERS: &[&str] = &[
    "",
    "region=us-east-1",
    "type=t2.micro",
    "state=running",
    "state=stopping",
    "region=eu-west-1&state=running",
    "region=us-west-2&type=m5.large",
    "region=ap-southeast-1&type=t2.small&state=running",
];
/// Pages a worker follows through one filter before moving to the next.
pub const PAGES_PER_FILTER: u32 = 5;

/// One load worker: a connection, and where its listing is.
pub struct HttpWorker {
    conn: Conn,
    filter: usize,
    cursor: Option<String>,
    pages: u32,
}

impl HttpWorker {
    /// Opens `count` workers on fleetd at `addr`, each sending `key` if there is one.
    pub async fn open(
        addr: SocketAddr,
        count: usize,
        key: Option<&str>,
    ) -> Result<Vec<HttpWorker>> {
        let mut workers = Vec::with_capacity(count);
        for i in 0..count {
            let conn = Conn::connect(addr).await?;
            workers.push(HttpWorker {
                conn: match key {
                    Some(key) => conn.with_key(key)?,
                    None => conn,
                },
                filter: i % LIST_FILTERS.len(),
                cursor: None,
                pages: 0,
            });
        }
        Ok(workers)
    }

    /// Starts listing afresh, from the first page of the first filter.
    pub fn reset_listing(&mut self) {
        self.filter = 0;
        self.cursor = None;
        self.pages = 0;
    }
}

/// The region and type of the `n`th server provisioned, spread evenly over the catalog.
pub fn placement(catalog: &Catalog, n: u64) -> (&RegionSpec, &ServerTypeSpec) {
    let regions = catalog.regions();
    let types = catalog.server_types();
    (
        &regions[(n % regions.len() as u64) as usize],
        &types[(n % types.len() as u64) as usize],
    )
}

#[derive(Deserialize)]
struct Created {
    id: Uuid,
}

#[derive(Deserialize)]
struct Listed {
    next_cursor: Option<String>,
}

/// `GET /healthz`: the HTTP limit of the same server.
pub async fn healthz(w: &mut HttpWorker) -> Result<(), String> {
    w.conn
        .get("/healthz")
        .await?
        .expect(StatusCode::OK, "GET /healthz")
        .map(drop)
}

/// `POST /servers` for the `n`th server, keeping its id.
pub async fn provision(
    w: &mut HttpWorker,
    catalog: &Catalog,
    made: &RefCell<Vec<Uuid>>,
    n: u64,
) -> Result<(), String> {
    let (region, server_type) = placement(catalog, n);
    let body = serde_json::json!({ "region": region.name, "type": server_type.name });
    let response = w
        .conn
        .post("/servers", body.to_string())
        .await?
        .expect(StatusCode::CREATED, "POST /servers")?;
    let created: Created = serde_json::from_slice(&response.body)
        .map_err(|e| format!("POST /servers answered a body without an id: {e}"))?;
    made.borrow_mut().push(created.id);
    Ok(())
}

/// The server request `n` reads: spread over all of `ids` (Fibonacci hashing), the same
/// sequence for fleet and for the direct select.
pub fn pick<T: Clone>(ids: &[T], n: u64) -> Result<T, String> {
    let spread = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 16;
    let index = spread
        .checked_rem(ids.len() as u64)
        .ok_or("no servers to read")?;
    Ok(ids[index as usize].clone())
}

/// `GET /servers/{id}` of server `pick(ids, n)`.
pub async fn get(w: &mut HttpWorker, ids: &[Uuid], n: u64) -> Result<(), String> {
    let id = pick(ids, n)?;
    let path = format!("/servers/{id}");
    w.conn
        .get(&path)
        .await?
        .expect(StatusCode::OK, &path)
        .map(drop)
}

/// The next page of the worker's current list query: the first page of the next filter
/// after [`PAGES_PER_FILTER`] pages or the last page.
pub async fn list(w: &mut HttpWorker, filters: &[&str]) -> Result<(), String> {
    if w.pages >= PAGES_PER_FILTER {
        w.filter = (w.filter + 1) % filters.len();
        w.cursor = None;
        w.pages = 0;
    }
    let mut path = format!("/servers?limit=20&{}", filters[w.filter % filters.len()]);
    if let Some(cursor) = &w.cursor {
        path.push_str("&cursor=");
        path.push_str(&encode_query_value(cursor));
    }
    let response = w.conn.get(&path).await?.expect(StatusCode::OK, &path)?;
    let listed: Listed = serde_json::from_slice(&response.body)
        .map_err(|e| format!("{path} answered an unreadable page: {e}"))?;
    w.pages = if listed.next_cursor.is_some() {
        w.pages + 1
    } else {
        PAGES_PER_FILTER
    };
    w.cursor = listed.next_cursor;
    Ok(())
}

/// `GET path`, which must answer 200.
pub async fn read(w: &mut HttpWorker, path: &str) -> Result<(), String> {
    w.conn.get(path).await?.expect(StatusCode::OK, path)?;
    Ok(())
}

/// `POST /servers/{id}/action` with `action`, which must change the server (202).
pub async fn act(w: &mut HttpWorker, id: Uuid, action: &str) -> Result<(), String> {
    let path = format!("/servers/{id}/action");
    let body = serde_json::json!({ "action": action }).to_string();
    w.conn
        .post(&path, body)
        .await?
        .expect(StatusCode::ACCEPTED, &path)
        .map(drop)
}

/// The EC2 Query API's path on fleetd.
const EC2: &str = "/ec2";

/// EC2 `RunInstances` of one `t2.micro` (unsigned: the bench's fleetd is in open mode,
/// where it lands in the catalog's first region), keeping its instance id.
pub async fn run_instance(w: &mut HttpWorker, made: &RefCell<Vec<String>>) -> Result<(), String> {
    let form = "Action=RunInstances&Version=2016-11-15&ImageId=ami-0f1ee700000000001\
                &InstanceType=t2.micro&MinCount=1&MaxCount=1";
    let response = w
        .conn
        .post_form(EC2, form.to_owned())
        .await?
        .expect(StatusCode::OK, "EC2 RunInstances")?;
    let body = String::from_utf8_lossy(&response.body);
    let id = body
        .split_once("<instanceId>")
        .and_then(|(_, rest)| rest.split_once("</instanceId>"))
        .map(|(id, _)| id.to_owned())
        .ok_or_else(|| format!("RunInstances answered no instance id: {body}"))?;
    made.borrow_mut().push(id);
    Ok(())
}

/// EC2 `DescribeInstances` of instance `pick(ids, n)`.
pub async fn describe_instance(w: &mut HttpWorker, ids: &[String], n: u64) -> Result<(), String> {
    let form = format!(
        "Action=DescribeInstances&Version=2016-11-15&InstanceId.1={}",
        pick(ids, n)?
    );
    w.conn
        .post_form(EC2, form)
        .await?
        .expect(StatusCode::OK, "EC2 DescribeInstances")
        .map(drop)
}

/// The read-heavy mix: of every 20 requests, 16 gets, 3 list pages and 1 provisioning.
pub async fn mixed(
    w: &mut HttpWorker,
    catalog: &Catalog,
    ids: &[Uuid],
    made: &RefCell<Vec<Uuid>>,
    n: u64,
) -> Result<(), String> {
    match n % 20 {
        0 => provision(w, catalog, made, n).await,
        1..=3 => list(w, LIST_FILTERS).await,
        _ => get(w, ids, n).await,
    }
}

#[derive(Deserialize)]
struct ClockReading {
    now: DateTime<Utc>,
}

/// fleetd's virtual clock.
pub async fn clock_now(conn: &mut Conn) -> Result<DateTime<Utc>> {
    let reading: ClockReading = conn.get_json("/admin/clock").await?;
    Ok(reading.now)
}

/// Moves fleetd's virtual clock by `seconds`, which runs all the work that falls due.
pub async fn advance_clock(conn: &mut Conn, seconds: i64) -> Result<()> {
    let body = serde_json::json!({ "seconds": seconds }).to_string();
    conn.post("/admin/clock/advance", body)
        .await
        .map_err(anyhow::Error::msg)?
        .expect(StatusCode::OK, "POST /admin/clock/advance")
        .map_err(anyhow::Error::msg)?;
    Ok(())
}
