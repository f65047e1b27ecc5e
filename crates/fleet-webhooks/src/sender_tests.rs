use std::net::SocketAddr;

use fleet_domain::TraceContext;
use fleet_domain::webhooks::AddressPolicy;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use super::*;

/// A receiver that answers every request with `response` (raw HTTP) after `delay`, and
/// passes on the request's head.
async fn receiver(
    response: &'static [u8],
    delay: Duration,
) -> (SocketAddr, mpsc::UnboundedReceiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let address = listener.local_addr().expect("an address");
    let (heads, received) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let heads = heads.clone();
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 16 * 1024];
                let n = socket.read(&mut buffer).await.unwrap_or(0);
                let _ = heads.send(String::from_utf8_lossy(&buffer[..n]).into_owned());
                tokio::time::sleep(delay).await;
                let _ = socket.write_all(response).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    (address, received)
}

fn message(url: String) -> OutgoingMessage {
    OutgoingMessage {
        url,
        id: "msg_1".to_owned(),
        timestamp: 1_700_000_000,
        signature: "v1,abc".to_owned(),
        body: r#"{"type":"webhook.test"}"#.to_owned(),
        trace: None,
    }
}

fn sender(timeout: Duration, allow_private: bool) -> HttpSender {
    HttpSender::new(SenderSettings {
        timeout,
        connect_timeout: timeout,
        policy: AddressPolicy { allow_private },
    })
    .expect("a client")
}

#[tokio::test]
async fn a_message_carries_the_standard_headers_and_its_answer_is_read() {
    let (address, mut heads) = receiver(
        b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n",
        Duration::ZERO,
    )
    .await;
    let sent = sender(Duration::from_secs(5), true)
        .send(&message(format!("http://{address}/hook")))
        .await;
    assert_eq!(
        sent.outcome,
        AttemptOutcome::Responded {
            status: 204,
            retry_after: None
        }
    );
    let head = heads.recv().await.expect("a request").to_lowercase();
    for header in [
        "post /hook http/1.1",
        "webhook-id: msg_1",
        "webhook-timestamp: 1700000000",
        "webhook-signature: v1,abc",
        "content-type: application/json",
    ] {
        assert!(head.contains(header), "{header} in {head}");
    }
    assert!(!head.contains("traceparent"), "no trace, no header: {head}");
}

#[tokio::test]
async fn a_message_of_a_traced_event_continues_its_trace() {
    let (address, mut heads) = receiver(
        b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n",
        Duration::ZERO,
    )
    .await;
    let trace = TraceContext::new(0x4bf92f3577b34da6a3ce929d0e0e4736, 0x00f067aa0ba902b7)
        .expect("a valid context");
    let traced = OutgoingMessage {
        trace: Some(trace),
        ..message(format!("http://{address}/hook"))
    };
    sender(Duration::from_secs(5), true).send(&traced).await;
    let head = heads.recv().await.expect("a request").to_lowercase();
    let header = head
        .lines()
        .find_map(|line| line.strip_prefix("traceparent: "))
        .unwrap_or_else(|| panic!("a traceparent in {head}"));
    assert!(
        header.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
        "the event's trace: {header}"
    );
    assert!(
        TraceContext::from_traceparent(header).is_some(),
        "well formed: {header}"
    );
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let (address, _) = receiver(
        b"HTTP/1.1 302 Found\r\nlocation: http://169.254.169.254/\r\ncontent-length: 0\r\n\r\n",
        Duration::ZERO,
    )
    .await;
    let sent = sender(Duration::from_secs(5), true)
        .send(&message(format!("http://{address}/")))
        .await;
    assert!(matches!(
        sent.outcome,
        AttemptOutcome::Responded { status: 302, .. }
    ));
}

#[tokio::test]
async fn retry_after_is_read_in_seconds_or_as_a_date() {
    let (address, _) = receiver(
        b"HTTP/1.1 503 Service Unavailable\r\nretry-after: 120\r\ncontent-length: 0\r\n\r\n",
        Duration::ZERO,
    )
    .await;
    let sent = sender(Duration::from_secs(5), true)
        .send(&message(format!("http://{address}/")))
        .await;
    assert_eq!(
        sent.outcome,
        AttemptOutcome::Responded {
            status: 503,
            retry_after: Some(Duration::from_secs(120))
        }
    );
    let now = DateTime::parse_from_rfc2822("Wed, 21 Oct 2015 07:28:00 GMT")
        .expect("a date")
        .with_timezone(&Utc);
    assert_eq!(
        retry_after("Wed, 21 Oct 2015 07:29:30 GMT", now),
        Some(Duration::from_secs(90))
    );
    assert_eq!(retry_after("soon", now), None);
}

#[tokio::test]
async fn a_receiver_that_hangs_times_out() {
    let (address, _) = receiver(b"", Duration::from_secs(30)).await;
    let sent = sender(Duration::from_millis(300), true)
        .send(&message(format!("http://{address}/")))
        .await;
    assert!(
        matches!(&sent.outcome, AttemptOutcome::NoResponse { error } if error.contains("no answer within")),
        "{:?}",
        sent.outcome
    );
    assert!(sent.latency < Duration::from_secs(5));
}

#[tokio::test]
async fn a_huge_answer_is_read_only_in_part() {
    static HUGE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    let body = HUGE.get_or_init(|| {
        let mut response = b"HTTP/1.1 200 OK\r\ncontent-length: 8388608\r\n\r\n".to_vec();
        response.resize(response.len() + 8 * 1024 * 1024, b'x');
        response
    });
    let (address, _) = receiver(body.as_slice(), Duration::ZERO).await;
    let sent = sender(Duration::from_secs(5), true)
        .send(&message(format!("http://{address}/")))
        .await;
    assert!(matches!(
        sent.outcome,
        AttemptOutcome::Responded { status: 200, .. }
    ));
}

#[tokio::test]
async fn forbidden_addresses_are_never_connected_to() {
    let open = sender(Duration::from_secs(2), true);
    let metadata = open
        .send(&message(
            "http://169.254.169.254/latest/meta-data".to_owned(),
        ))
        .await;
    assert!(
        matches!(&metadata.outcome, AttemptOutcome::NoResponse { error } if error.contains("link-local")),
        "{:?}",
        metadata.outcome
    );
    let (address, _) = receiver(
        b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n",
        Duration::ZERO,
    )
    .await;
    let closed = sender(Duration::from_secs(2), false);
    let by_address = closed.send(&message(format!("http://{address}/"))).await;
    assert!(
        matches!(&by_address.outcome, AttemptOutcome::NoResponse { error } if error.contains("private")),
        "{:?}",
        by_address.outcome
    );
    let by_name = closed
        .send(&message(format!("http://localhost:{}/", address.port())))
        .await;
    assert!(
        matches!(&by_name.outcome, AttemptOutcome::NoResponse { error } if error.contains("forbidden address")),
        "{:?}",
        by_name.outcome
    );
}
