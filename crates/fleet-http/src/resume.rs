//! `Last-Event-ID`: the header a reconnecting Server-Sent Events client (an `EventSource`)
//! sends with the id of the last message it received, so `GET /events/stream` resumes after
//! it. Sequence numbers are 1 to 18 digits here (`after` takes any `int64`): a header has no
//! integer type in OpenAPI, and a pattern that bounds the value by `i64::MAX` exactly would
//! be unreadable, so the header takes what the pattern says and nothing more.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use paperclip::actix::OperationModifier;
use paperclip::v2::models::{DataType, DefaultOperationRaw, Either, Parameter, ParameterIn};
use paperclip::v2::schema::Apiv2Schema;

use crate::problem::Problem;

/// The header's name.
pub const LAST_EVENT_ID: &str = "Last-Event-ID";
/// What the header may hold (`spec::limits` writes it into the documents).
pub const PATTERN: &str = "^[0-9]{1,18}$";
/// The most digits a sequence number may have in the header.
const MAX_DIGITS: usize = 18;

/// The cursor a reconnecting client sent, if it sent one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastEventId(pub Option<String>);

/// The cursor in `value`, if it is one.
fn cursor(value: &[u8]) -> Option<String> {
    let digits = (1..=MAX_DIGITS).contains(&value.len()) && value.iter().all(u8::is_ascii_digit);
    digits.then(|| String::from_utf8_lossy(value).into_owned())
}

impl FromRequest for LastEventId {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(value) = req.headers().get(LAST_EVENT_ID) else {
            return ready(Ok(LastEventId(None)));
        };
        ready(
            cursor(value.as_bytes())
                .map(|text| LastEventId(Some(text)))
                .ok_or_else(|| {
                    Problem::bad_request(
                        "invalid-cursor",
                        "Last-Event-ID must be a sequence number: 1 to 18 digits",
                    )
                    .into()
                }),
        )
    }
}

impl Apiv2Schema for LastEventId {}

impl OperationModifier for LastEventId {
    fn update_parameter(op: &mut DefaultOperationRaw) {
        op.parameters.push(Either::Right(Parameter {
            name: LAST_EVENT_ID.to_owned(),
            in_: ParameterIn::Header,
            description: Some(
                "The `seq` of the last event you received (an `EventSource` sends it when it \
                 reconnects): the stream resumes after it, in place of `after`. Anything but \
                 1 to 18 digits is a 400 `invalid-cursor` problem."
                    .to_owned(),
            ),
            required: false,
            data_type: Some(DataType::String),
            ..Default::default()
        }));
    }
}

#[cfg(test)]
mod tests {
    use actix_web::http::StatusCode;
    use actix_web::test::TestRequest;

    use super::*;

    async fn sent(value: Option<&[u8]>) -> Result<LastEventId, actix_web::Error> {
        let mut req = TestRequest::default();
        if let Some(value) = value {
            req = req.insert_header((
                LAST_EVENT_ID,
                actix_web::http::header::HeaderValue::from_bytes(value).expect("a header value"),
            ));
        }
        let (req, mut payload) = req.to_http_parts();
        LastEventId::from_request(&req, &mut payload).await
    }

    #[actix_web::test]
    async fn the_header_holds_1_to_18_digits_as_its_pattern_says() {
        let pattern = regress::Regex::new(PATTERN).expect("the pattern");
        let matches = |text: &str| pattern.find(text).is_some();
        assert_eq!(sent(None).await.expect("absent"), LastEventId(None));
        let longest = "9".repeat(18);
        for good in ["0", "42", "007", longest.as_str()] {
            let taken = sent(Some(good.as_bytes())).await.expect(good);
            assert_eq!(taken, LastEventId(Some(good.to_owned())));
            assert!(matches(good), "{good}");
        }
        let too_long = "1".repeat(19);
        for bad in ["", "-1", "+1", " 1", "1.0", "x", too_long.as_str()] {
            let refused = sent(Some(bad.as_bytes())).await.expect_err(bad);
            assert_eq!(
                refused.as_response_error().status_code(),
                StatusCode::BAD_REQUEST
            );
            assert!(!matches(bad), "{bad:?}");
        }
        let refused = sent(Some(b"1\xff")).await.expect_err("not UTF-8");
        assert_eq!(
            refused.as_response_error().status_code(),
            StatusCode::BAD_REQUEST
        );
    }
}
