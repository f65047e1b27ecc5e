//! `Query<T>`: a query string of bounded length, parsed into `T`. The bound keeps what a
//! refusal echoes (an unknown region, a bad enum value) and what parsing costs small,
//! whatever a client sends. `MultiQuery<T, D>`: the same for parameters that repeat
//! (`?state=running&state=stopped`), parsed as text so each refusal can name its
//! parameter, and documented as `D`.

use actix_web::dev::Payload;
use actix_web::error::QueryPayloadError;
use actix_web::{FromRequest, HttpRequest, web};
use paperclip::actix::OperationModifier;
use paperclip::v2::models::{DefaultOperationRaw, DefaultSchemaRaw};
use paperclip::v2::schema::Apiv2Schema;
use serde::de::DeserializeOwned;
use std::future::{Ready, ready};
use std::marker::PhantomData;

use crate::problem::Problem;

/// The longest query string accepted, in bytes: every parameter of this API at its longest
/// fits, the longest label selector percent-encoded (3 bytes a character) with a cursor, a
/// region and a type name and paging beside it.
pub const MAX_QUERY_BYTES: usize = 4_096;

/// The query parameters of a request; a string longer than [`MAX_QUERY_BYTES`] or one that
/// does not parse is a 400 `invalid-query` problem.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T> Query<T> {
    /// The parameters.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Query<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(parse(req.query_string()))
    }
}

fn parse<T: DeserializeOwned>(query: &str) -> Result<Query<T>, actix_web::Error> {
    bounded(query)?;
    web::Query::<T>::from_query(query)
        .map(|query| Query(query.into_inner()))
        .map_err(|e| invalid(&e).into())
}

fn bounded(query: &str) -> Result<(), actix_web::Error> {
    if query.len() > MAX_QUERY_BYTES {
        return Err(Problem::bad_request(
            "invalid-query",
            format!("the query string must be at most {MAX_QUERY_BYTES} bytes"),
        )
        .into());
    }
    Ok(())
}

fn invalid(error: &QueryPayloadError) -> Problem {
    Problem::bad_request("invalid-query", format!("invalid query string: {error}"))
}

impl<T: Apiv2Schema> Apiv2Schema for Query<T> {}

impl<T: Apiv2Schema> OperationModifier for Query<T> {
    fn update_parameter(op: &mut DefaultOperationRaw) {
        <web::Query<T> as OperationModifier>::update_parameter(op);
    }

    fn update_definitions(map: &mut std::collections::BTreeMap<String, DefaultSchemaRaw>) {
        <web::Query<T> as OperationModifier>::update_definitions(map);
    }
}

/// Query parameters that may repeat, parsed into `T` (text fields and `Vec`s, so that the
/// use case or the handler names what is wrong) and documented in the spec as `D`.
#[derive(Debug)]
pub struct MultiQuery<T, D>(pub T, PhantomData<D>);

impl<T, D> MultiQuery<T, D> {
    /// The parameters.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: DeserializeOwned, D> FromRequest for MultiQuery<T, D> {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(parse_multi(req.query_string()))
    }
}

fn parse_multi<T: DeserializeOwned, D>(query: &str) -> Result<MultiQuery<T, D>, actix_web::Error> {
    bounded(query)?;
    serde_html_form::from_str(query)
        .map(|parsed| MultiQuery(parsed, PhantomData))
        .map_err(|e| {
            Problem::bad_request("invalid-query", format!("invalid query string: {e}")).into()
        })
}

impl<T, D: Apiv2Schema> Apiv2Schema for MultiQuery<T, D> {}

impl<T, D: Apiv2Schema> OperationModifier for MultiQuery<T, D> {
    fn update_parameter(op: &mut DefaultOperationRaw) {
        <web::Query<D> as OperationModifier>::update_parameter(op);
    }

    fn update_definitions(map: &mut std::collections::BTreeMap<String, DefaultSchemaRaw>) {
        <web::Query<D> as OperationModifier>::update_definitions(map);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dto::{ListQuery, WaitParams, WaitQuery};

    #[test]
    fn a_long_query_is_refused_without_being_echoed() {
        let long = format!("region={}", "x".repeat(MAX_QUERY_BYTES));
        let error = parse::<ListQuery>(&long).expect_err("too long");
        let problem = error.as_error::<Problem>().expect("a problem");
        assert_eq!(problem.status, 400);
        assert!(!problem.detail.contains("xxx"), "{}", problem.detail);
        let fits = format!("region={}", "x".repeat(MAX_QUERY_BYTES - "region=".len()));
        let query = parse::<ListQuery>(&fits).expect("at the limit");
        assert_eq!(
            query.region.as_deref().map(str::len),
            Some(MAX_QUERY_BYTES - 7)
        );
    }

    #[test]
    fn repeated_parameters_are_all_kept_and_a_long_query_refused() {
        let query = parse_multi::<WaitParams, WaitQuery>("state=running&timeout=5&state=stopped")
            .expect("parsed")
            .into_inner();
        assert_eq!(query.state, ["running", "stopped"]);
        assert_eq!(query.timeout.as_deref(), Some("5"));
        assert!(
            parse_multi::<WaitParams, WaitQuery>("state=running&timeout=1&timeout=2").is_err(),
            "a parameter that does not repeat is given once"
        );
        let long = format!("state={}", "x".repeat(MAX_QUERY_BYTES));
        let error = parse_multi::<WaitParams, WaitQuery>(&long).expect_err("too long");
        assert_eq!(error.as_error::<Problem>().map(|p| p.status), Some(400));
    }
}
