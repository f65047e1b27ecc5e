//! `JsonBody<T>`: a JSON request body read in two steps, so that a body that is not JSON
//! (400) is told apart from JSON of the wrong shape (422), which serde alone cannot do, and
//! read within a time limit.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, web};
use fleet_domain::Fingerprint;
use paperclip::actix::OperationModifier;
use paperclip::v2::models::{DefaultOperationRaw, DefaultSchemaRaw};
use paperclip::v2::schema::Apiv2Schema;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::problem::Problem;

/// How long a body may take to arrive. actix bounds the time of the request head (5 s), not
/// of the body: without this, a client trickling a body in holds its connection and a task
/// for as long as it likes. Bodies here are at most 8 KiB.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(5);

/// A JSON body: size, media type and syntax are checked by the [`crate::extract`]
/// configuration, then the shape by `T`'s `Deserialize`, refusing with 422; a body that
/// takes longer than [`BODY_TIMEOUT`] to arrive is a 408. The JSON as parsed is kept for
/// the request's fingerprint.
#[derive(Debug)]
pub struct JsonBody<T> {
    body: T,
    json: Value,
}

impl<T> JsonBody<T> {
    /// The body.
    pub fn into_inner(self) -> T {
        self.body
    }

    /// The fingerprint of `operation` on `target` with this body, which whitespace and the
    /// order of an object's members do not change.
    pub fn fingerprint(&self, operation: &str, target: &str) -> Fingerprint {
        Fingerprint::of(operation, target, &canonical(&self.json))
    }
}

impl<T> std::ops::Deref for JsonBody<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.body
    }
}

/// `value` as compact JSON with every object's members sorted by name, whatever order the
/// map type keeps them in.
fn canonical(value: &Value) -> String {
    match value {
        Value::Object(members) => {
            let mut sorted: Vec<_> = members.iter().collect();
            sorted.sort_by_key(|&(name, _)| name);
            let members: Vec<String> = sorted
                .into_iter()
                .map(|(name, value)| format!("{}:{}", Value::from(name.as_str()), canonical(value)))
                .collect();
            format!("{{{}}}", members.join(","))
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(canonical).collect();
            format!("[{}]", items.join(","))
        }
        scalar => scalar.to_string(),
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let value = web::Json::<Value>::from_request(req, payload);
        Box::pin(async move {
            let json = within(BODY_TIMEOUT, value).await?.into_inner();
            let body = shaped(&json)?;
            Ok(JsonBody { body, json })
        })
    }
}

/// `value` read as `T`, every body of this API being an object: serde would also read a
/// struct from an array of its fields in order (`[null, null]`), which no client means.
fn shaped<T: DeserializeOwned>(value: &Value) -> Result<T, actix_web::Error> {
    if !value.is_object() {
        return Err(
            Problem::unprocessable("invalid-body", "the body must be a JSON object").into(),
        );
    }
    T::deserialize(value).map_err(|e| {
        Problem::unprocessable("invalid-body", format!("the body does not fit: {e}")).into()
    })
}

/// `read`'s outcome, or a 408 problem when it takes longer than `limit`.
async fn within<T>(
    limit: Duration,
    read: impl Future<Output = Result<T, actix_web::Error>>,
) -> Result<T, actix_web::Error> {
    actix_web::rt::time::timeout(limit, read)
        .await
        .map_err(|_| {
            Problem::new(
                StatusCode::REQUEST_TIMEOUT,
                "body-timeout",
                format!(
                    "the body did not arrive within {} seconds",
                    limit.as_secs_f64()
                ),
            )
        })?
}

impl<T: Apiv2Schema> Apiv2Schema for JsonBody<T> {
    fn name() -> Option<String> {
        T::name()
    }

    fn raw_schema() -> DefaultSchemaRaw {
        T::raw_schema()
    }
}

impl<T: Apiv2Schema + DeserializeOwned> OperationModifier for JsonBody<T> {
    fn update_parameter(op: &mut DefaultOperationRaw) {
        <web::Json<T> as OperationModifier>::update_parameter(op);
    }

    fn update_definitions(map: &mut std::collections::BTreeMap<String, DefaultSchemaRaw>) {
        <web::Json<T> as OperationModifier>::update_definitions(map);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::dto::SetQuotasRequest;

    #[test]
    fn a_body_is_an_object_of_the_right_shape() {
        let refusal = |body: Value| {
            let error = shaped::<SetQuotasRequest>(&body).expect_err("refused");
            error.as_error::<Problem>().expect("a problem").clone()
        };
        for not_an_object in [
            json!([null, null]),
            json!([]),
            json!(7),
            json!("x"),
            json!(null),
        ] {
            let problem = refusal(not_an_object.clone());
            assert_eq!(problem.status, 422, "{not_an_object}");
            assert_eq!(problem.detail, "the body must be a JSON object");
        }
        let problem = refusal(json!({"max_servers": "ten"}));
        assert_eq!(problem.problem_type, "urn:fleet:problem:invalid-body");
        let quotas = shaped::<SetQuotasRequest>(&json!({"max_servers": 3})).expect("an object");
        assert_eq!(quotas.max_servers, Some(3));
    }

    #[test]
    fn the_canonical_form_ignores_whitespace_and_member_order_but_not_values() {
        let text = r#"{ "b" : [ {"y": 1, "x": "é\"q"}, null ], "a": {"d": true, "c": 2.5} }"#;
        let parsed: Value = serde_json::from_str(text).expect("json");
        assert_eq!(
            canonical(&parsed),
            r#"{"a":{"c":2.5,"d":true},"b":[{"x":"é\"q","y":1},null]}"#
        );
        let reordered: Value =
            serde_json::from_str(r#"{"a":{"d":true,"c":2.5},"b":[{"x":"é\"q","y":1},null]}"#)
                .expect("json");
        assert_eq!(canonical(&parsed), canonical(&reordered));
        let changed: Value =
            serde_json::from_str(r#"{"a":{"d":true,"c":2.5},"b":[{"x":"é\"q","y":2},null]}"#)
                .expect("json");
        assert_ne!(canonical(&parsed), canonical(&changed));
    }

    #[actix_web::test]
    async fn a_body_that_does_not_arrive_in_time_is_a_408() {
        let never = std::future::pending::<Result<(), actix_web::Error>>();
        let error = within(Duration::from_millis(10), never)
            .await
            .expect_err("timed out");
        let problem = error.as_error::<Problem>().expect("a problem");
        assert_eq!(problem.status, 408);
        assert_eq!(problem.problem_type, "urn:fleet:problem:body-timeout");
        let arrived = within(Duration::from_millis(10), async { Ok(7) }).await;
        assert_eq!(arrived.expect("in time"), 7);
    }
}
