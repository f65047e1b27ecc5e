//! Server-Sent Events from a response body, parsed by `sse-stream` (it also yields a
//! message without data, such as the `retry:` hint fleetd sends first). A connection is
//! taken for dropped when its body fails, or when nothing at all (not even a keep-alive
//! comment) comes for a while.

use std::fmt;
use std::time::Duration;

use bytes::Buf;
use futures::{Stream, StreamExt, stream};
use sse_stream::SseStream;
pub use sse_stream::{Error, Sse};

/// Why a connection counts as dropped.
#[derive(Debug)]
pub enum Dropped {
    /// Nothing came for this long, though fleetd sends a keep-alive every 15 s.
    Silent(Duration),
    /// The body failed.
    Failed(String),
}

impl fmt::Display for Dropped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dropped::Silent(after) => {
                write!(f, "nothing came for {}", humantime::format_duration(*after))
            }
            Dropped::Failed(reason) => f.write_str(reason),
        }
    }
}

impl std::error::Error for Dropped {}

/// The messages of `body`; a body failure or a `silence` without bytes ends them with a
/// [`Error::Body`] holding a [`Dropped`].
pub fn messages<S, B, E>(body: S, silence: Duration) -> impl Stream<Item = Result<Sse, Error>>
where
    S: Stream<Item = Result<B, E>> + Unpin,
    B: Buf,
    E: std::error::Error,
{
    SseStream::from_bytes_stream(watched(body, silence))
}

/// The chunks of `body` until it ends, fails or stays silent for `silence`.
fn watched<S, B, E>(body: S, silence: Duration) -> impl Stream<Item = Result<B, Dropped>>
where
    S: Stream<Item = Result<B, E>> + Unpin,
    E: std::error::Error,
{
    stream::unfold(Some(body), move |body| async move {
        let mut body = body?;
        match tokio::time::timeout(silence, body.next()).await {
            Ok(Some(Ok(chunk))) => Some((Ok(chunk), Some(body))),
            Ok(Some(Err(e))) => Some((Err(Dropped::Failed(innermost(&e))), None)),
            Ok(None) => None,
            Err(_) => Some((Err(Dropped::Silent(silence)), None)),
        }
    })
}

/// The innermost cause of an error ("connection reset by peer"), which reqwest's own
/// message leaves out.
fn innermost(error: &dyn std::error::Error) -> String {
    let mut cause = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    type Chunk = Result<Bytes, std::io::Error>;

    fn chunks(parts: &[&'static str]) -> Vec<Chunk> {
        parts
            .iter()
            .map(|p| Ok(Bytes::from_static(p.as_bytes())))
            .collect()
    }

    async fn read(body: Vec<Chunk>) -> Vec<Result<Sse, Error>> {
        messages(stream::iter(body), Duration::from_secs(5))
            .collect()
            .await
    }

    #[tokio::test]
    async fn messages_split_across_chunks_come_whole_and_comments_are_skipped() {
        let body = chunks(&[
            "retry: 3000\n\n",
            ": keep-alive\n\n",
            "id: 7\nevent: server.provisioned\nda",
            "ta: {\"seq\":7}\n\nid: 8\ndata: {\"seq\":8}\n\n",
        ]);
        let read: Vec<Sse> = read(body).await.into_iter().map(Result::unwrap).collect();
        assert_eq!(read[0].retry, Some(3000));
        assert_eq!(read[0].data, None);
        let events: Vec<_> = read[1..]
            .iter()
            .map(|m| (m.id.as_deref(), m.data.as_deref()))
            .collect();
        assert_eq!(
            events,
            vec![
                (Some("7"), Some("{\"seq\":7}")),
                (Some("8"), Some("{\"seq\":8}"))
            ]
        );
        assert_eq!(read[1].event.as_deref(), Some("server.provisioned"));
    }

    #[tokio::test]
    async fn a_failing_body_ends_the_messages_with_why() {
        let mut body = chunks(&["id: 1\ndata: {}\n\n"]);
        body.push(Err(std::io::Error::other("connection reset by peer")));
        body.extend(chunks(&["id: 2\ndata: {}\n\n"]));
        let read = read(body).await;
        assert_eq!(read.len(), 2, "{read:?}");
        assert!(read[0].is_ok());
        match &read[1] {
            Err(Error::Body(e)) => assert_eq!(e.to_string(), "connection reset by peer"),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn a_silent_body_counts_as_dropped() {
        let silent = stream::pending::<Chunk>();
        let mut read = Box::pin(messages(silent, Duration::from_millis(50)));
        match read.next().await {
            Some(Err(Error::Body(e))) => assert_eq!(e.to_string(), "nothing came for 50ms"),
            other => panic!("{other:?}"),
        }
    }
}
