//! `GET /events/stream`'s response: Server-Sent Events, one message per event (`id:` its
//! sequence number, `event:` its type, `data:` the event as JSON).
//!
//! The body pulls batches from the follower only as fast as the connection takes them (actix
//! polls a body while its write buffer has room), so a slow client holds one batch and a
//! cursor, never a growing queue; when it falls behind the in-memory fan-out, the follower
//! reads from the store. Batches of one stream go out at most every [`PACE`], so that events
//! arriving faster are written together. No task is spawned: when the client goes away, actix drops the
//! body and with it the follower and its wait. The shutdown signal ends the body cleanly.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use actix_web::body::BoxBody;
use actix_web::{HttpRequest, HttpResponse, Responder};
use actix_web_lab::sse;
use fleet_domain::service::Follower;
use futures::{Stream, StreamExt, stream};
use paperclip::actix::OperationModifier;
use paperclip::v2::models::{DataType, DefaultOperationRaw, DefaultSchemaRaw, Either, Response};
use paperclip::v2::schema::Apiv2Schema;

use crate::dto::WatchEvent;
use crate::metrics::OpenWatch;
use crate::shutdown::Shutdown;

/// A comment is sent after this long without a message, so proxies keep the connection.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// How long a client should wait before reconnecting (the `retry:` field).
pub const RETRY: Duration = Duration::from_secs(3);
/// How long the follower waits for news before looking again.
const PATIENCE: Duration = Duration::from_secs(30);
/// The shortest time between two batches of one stream: while events come faster, they
/// gather and go in one write, which spares a busy service a wake and a system call per
/// stream per event for at most this much more delay.
const PACE: Duration = Duration::from_millis(25);

/// A stream of events following `follower` until the client leaves or the service stops.
pub struct EventStream {
    /// Where the stream is and what it follows.
    pub follower: Follower,
    /// Ends the stream on shutdown.
    pub shutdown: Shutdown,
    /// The request's logger, for a stream ended by a failure.
    pub logger: slog::Logger,
}

impl Responder for EventStream {
    type Body = BoxBody;

    fn respond_to(self, req: &HttpRequest) -> HttpResponse {
        let mut response = sse::Sse::from_stream(messages(self))
            .with_keep_alive(KEEP_ALIVE)
            .with_retry_duration(RETRY)
            .respond_to(req);
        // Proxies that buffer responses (nginx) would hold the messages back.
        response.headers_mut().insert(
            actix_web::http::header::HeaderName::from_static("x-accel-buffering"),
            actix_web::http::header::HeaderValue::from_static("no"),
        );
        response
    }
}

/// What a stream holds while it is open.
struct Open {
    follower: Follower,
    shutdown: Shutdown,
    logger: slog::Logger,
    /// When the last batch went out, if it left the stream caught up (one that is behind
    /// does not pause).
    sent: Option<Instant>,
    _counted: OpenWatch,
}

fn messages(stream: EventStream) -> impl Stream<Item = Result<sse::Event, serde_json::Error>> {
    let first = stream::once(std::future::ready(Ok(origin(stream.follower.origin()))));
    let open = Open {
        follower: stream.follower,
        shutdown: stream.shutdown,
        logger: stream.logger,
        sent: None,
        _counted: OpenWatch::open("stream"),
    };
    let events = stream::unfold(open, |mut open| async move {
        if let Some(sent) = open.sent {
            tokio::select! {
                () = open.shutdown.fired() => return None,
                () = tokio::time::sleep_until((sent + PACE).into()) => {}
            }
        }
        loop {
            tokio::select! {
                () = open.shutdown.fired() => return None,
                batch = open.follower.next(PATIENCE) => match batch {
                    Ok(events) if events.is_empty() => {}
                    Ok(events) => {
                        // A stream that is behind catches up at full speed.
                        open.sent = open.follower.caught_up().then(Instant::now);
                        return Some((events, open));
                    }
                    Err(e) => {
                        // The client reconnects with its Last-Event-ID and loses nothing.
                        slog::warn!(open.logger, "an event stream ended on a failure";
                            "error" => %e);
                        return None;
                    }
                },
            }
        }
    })
    .flat_map(|events| stream::iter(events.into_iter().map(message)));
    first.chain(events)
}

/// The first message: only `id:` the cursor the stream starts from, with empty data, which
/// an `EventSource` records as its last event id without firing an event. A client that
/// started "from now" and drops before any event still knows where to resume.
fn origin(cursor: i64) -> sse::Event {
    sse::Data::new("").id(cursor.to_string()).into()
}

/// One event as a message.
pub fn message(event: fleet_domain::Event) -> Result<sse::Event, serde_json::Error> {
    let name = event.event.event_type().as_str();
    let event = WatchEvent::from(event);
    let id = event.seq.to_string();
    Ok(sse::Data::new_json(&event)?.id(id).event(name).into())
}

impl Apiv2Schema for EventStream {}

impl OperationModifier for EventStream {
    fn update_response(op: &mut DefaultOperationRaw) {
        op.responses.insert(
            "200".to_owned(),
            Either::Right(Response {
                description: Some(
                    "A `text/event-stream` (Server-Sent Events). Each event is a message with \
                     `id:` its `seq`, `event:` its type and `data:` the `WatchEvent` as JSON; \
                     a `: keep-alive` comment comes after 15 s without one, and the first \
                     line is a `retry:` hint, then a message with only `id:` (empty `data:`) naming the \
                     cursor the stream starts from. Reconnect with `Last-Event-ID` (or `after`) to \
                     receive exactly what you missed, in order."
                        .to_owned(),
                ),
                schema: Some(DefaultSchemaRaw {
                    data_type: Some(DataType::String),
                    ..Default::default()
                }),
                headers: BTreeMap::new(),
            }),
        );
    }

    fn update_definitions(map: &mut BTreeMap<String, DefaultSchemaRaw>) {
        <WatchEvent as OperationModifier>::update_definitions(map);
    }
}
