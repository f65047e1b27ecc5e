//! Conditional requests (RFC 9110 §13): a server's `ETag` is its generation, which every
//! stored change moves on; `If-None-Match` lets a read answer 304 when the client's copy is
//! current, and `If-Match` lets a change apply only to the generation the client read (the
//! domain's [`GenerationMatch`], checked by the store's guard in the write itself).

pub mod tags;

use std::fmt;
use std::future::{Ready, ready};

use actix_web::HttpResponse;
use actix_web::dev::Payload;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::{FromRequest, HttpRequest};
use fleet_domain::{GenerationMatch, Server};
use paperclip::actix::OperationModifier;
use paperclip::v2::models::{DataType, DefaultOperationRaw, Either, Parameter, ParameterIn};
use paperclip::v2::schema::Apiv2Schema;

use crate::problem::Problem;
use tags::{EntityTag, Tags};

/// A server's strong entity-tag: its generation, quoted (`"7"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ETag(i64);

impl ETag {
    /// The entity-tag of `server` as it is.
    pub fn of(server: &Server) -> Self {
        Self(server.generation)
    }

    /// The entity-tag of a server at `generation`.
    pub fn at(generation: i64) -> Self {
        Self(generation)
    }

    /// Sets the response's `ETag` header to this tag.
    pub fn stamp(self, response: &mut HttpResponse) {
        // A quoted integer is always a valid header value.
        if let Ok(value) = HeaderValue::from_str(&self.to_string()) {
            response.headers_mut().insert(header::ETAG, value);
        }
    }

    /// Whether a tag a client sent is this one: the same opaque text, and not weak unless
    /// `weak_allowed` (weak comparison, for `If-None-Match`; `If-Match` compares strongly).
    fn matches(self, tag: &EntityTag, weak_allowed: bool) -> bool {
        (weak_allowed || !tag.weak) && tag.opaque == self.0.to_string()
    }

    /// The generation a tag a client sent names, if it is one of ours.
    fn generation_of(tag: &EntityTag) -> Option<i64> {
        let generation: i64 = tag.opaque.parse().ok()?;
        Self(generation).matches(tag, false).then_some(generation)
    }
}

impl fmt::Display for ETag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", self.0)
    }
}

/// The `If-Match` of a change: absent, or the generations the server must be at. `*`
/// asks only that the server exists, which every change already requires (`None`); a weak
/// or foreign tag matches no server (strong comparison).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfMatch(pub Option<GenerationMatch>);

impl IfMatch {
    /// The condition, for the use case.
    pub fn condition(&self) -> Option<&GenerationMatch> {
        self.0.as_ref()
    }
}

/// The `If-None-Match` of a read: the tags of the copies the client holds, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfNoneMatch(Option<Tags>);

impl IfNoneMatch {
    /// Whether the client's copy is current (answer 304): `*`, or a tag that is `etag` by
    /// weak comparison.
    pub fn holds_current(&self, etag: ETag) -> bool {
        match &self.0 {
            None => false,
            Some(Tags::Any) => true,
            Some(Tags::List(tags)) => tags.iter().any(|tag| etag.matches(tag, true)),
        }
    }
}

/// The tags of header `name` (its lines joined as one list), `None` when absent.
fn read(req: &HttpRequest, name: &HeaderName) -> Result<Option<Tags>, actix_web::Error> {
    let lines: Vec<&[u8]> = req
        .headers()
        .get_all(name)
        .map(HeaderValue::as_bytes)
        .collect();
    if lines.is_empty() {
        return Ok(None);
    }
    let joined = lines.join(&b","[..]);
    tags::parse(&joined).map(Some).map_err(|malformed| {
        Problem::bad_request(
            "invalid-precondition",
            format!(
                "{name}: not `*` or a list of entity-tags (\"...\" or W/\"...\", visible \
                 ASCII but '\"'); wrong at byte {}",
                malformed.at
            ),
        )
        .into()
    })
}

impl FromRequest for IfMatch {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(read(req, &header::IF_MATCH).map(|tags| {
            IfMatch(tags.and_then(|tags| match tags {
                Tags::Any => None,
                Tags::List(tags) => Some(GenerationMatch::any_of(
                    tags.iter().filter_map(ETag::generation_of),
                )),
            }))
        }))
    }
}

impl FromRequest for IfNoneMatch {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(read(req, &header::IF_NONE_MATCH).map(IfNoneMatch))
    }
}

/// A condition header as the spec states it; its pattern is [`tags::PATTERN`], written by
/// `spec::limits`.
fn document(op: &mut DefaultOperationRaw, name: &str, description: &str) {
    op.parameters.push(Either::Right(Parameter {
        name: name.to_owned(),
        in_: ParameterIn::Header,
        description: Some(description.to_owned()),
        required: false,
        data_type: Some(DataType::String),
        ..Default::default()
    }));
}

impl Apiv2Schema for IfMatch {}

impl OperationModifier for IfMatch {
    fn update_parameter(op: &mut DefaultOperationRaw) {
        document(
            op,
            "If-Match",
            "Change the server only if it is still as read: its `ETag` (or one of a \
             comma-separated list; weak tags never match), else a 412 \
             `precondition-failed` problem naming its current `ETag`, and nothing \
             changes. `*` matches any server. A malformed value is a 400 \
             `invalid-precondition` problem.",
        );
    }
}

impl Apiv2Schema for IfNoneMatch {}

impl OperationModifier for IfNoneMatch {
    fn update_parameter(op: &mut DefaultOperationRaw) {
        document(
            op,
            "If-None-Match",
            "The `ETag`s of the copies you hold (weak comparison; `*` for any): when one \
             is the server's current `ETag`, the answer is a 304 without a body. A \
             malformed value is a 400 `invalid-precondition` problem.",
        );
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    async fn if_match(values: &[&str]) -> Result<IfMatch, actix_web::Error> {
        let mut req = TestRequest::default();
        for value in values {
            req = req.append_header((header::IF_MATCH, *value));
        }
        let (req, mut payload) = req.to_http_parts();
        IfMatch::from_request(&req, &mut payload).await
    }

    async fn if_none_match(value: Option<&str>) -> IfNoneMatch {
        let mut req = TestRequest::default();
        if let Some(value) = value {
            req = req.insert_header((header::IF_NONE_MATCH, value));
        }
        let (req, mut payload) = req.to_http_parts();
        IfNoneMatch::from_request(&req, &mut payload)
            .await
            .expect("well-formed")
    }

    #[test]
    fn a_server_s_tag_is_its_generation_quoted() {
        assert_eq!(ETag::at(7).to_string(), "\"7\"");
        let mut response = HttpResponse::Ok().finish();
        ETag::at(12).stamp(&mut response);
        assert_eq!(
            response.headers().get(header::ETAG),
            Some(&HeaderValue::from_static("\"12\""))
        );
    }

    #[actix_web::test]
    async fn if_match_names_the_generations_of_its_strong_tags_of_ours() {
        let condition = |m: IfMatch| m.0;
        assert_eq!(condition(if_match(&[]).await.expect("absent")), None);
        assert_eq!(condition(if_match(&["*"]).await.expect("any")), None);
        let listed = if_match(&["\"3\", W/\"4\"", "\"x\", \"05\", \"-1\""])
            .await
            .expect("two lines");
        let listed = listed.0.expect("a condition");
        assert!(listed.holds_for(3));
        assert!(listed.holds_for(-1), "never sent, but ours in form");
        assert!(!listed.holds_for(4), "a weak tag never matches a change");
        assert!(
            !listed.holds_for(5),
            "\"05\" is not the tag of generation 5"
        );
        let none = if_match(&["W/\"3\""]).await.expect("well-formed");
        assert_eq!(none.0, Some(GenerationMatch::any_of([])));
    }

    #[actix_web::test]
    async fn a_malformed_condition_is_a_400_problem() {
        let refused = if_match(&["3"]).await.expect_err("unquoted");
        let response = refused.error_response();
        assert_eq!(response.status(), actix_web::http::StatusCode::BAD_REQUEST);
        let problem = response
            .extensions()
            .get::<Problem>()
            .cloned()
            .expect("a problem");
        assert_eq!(
            problem.problem_type,
            "urn:fleet:problem:invalid-precondition"
        );
        assert!(problem.detail.contains("if-match"), "{}", problem.detail);
    }

    #[actix_web::test]
    async fn if_none_match_holds_the_current_copy_by_weak_comparison() {
        let etag = ETag::at(7);
        assert!(!if_none_match(None).await.holds_current(etag));
        assert!(if_none_match(Some("*")).await.holds_current(etag));
        assert!(if_none_match(Some("\"7\"")).await.holds_current(etag));
        assert!(
            if_none_match(Some("\"6\", W/\"7\""))
                .await
                .holds_current(etag)
        );
        assert!(
            !if_none_match(Some("\"6\", \"07\""))
                .await
                .holds_current(etag)
        );
        assert!(!if_none_match(Some("")).await.holds_current(etag));
    }
}
