//! A cost report as JSON or, for a client that asks for `text/csv`, as CSV.

use std::collections::BTreeMap;

use actix_web::body::BoxBody;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, Responder, ResponseError};
use paperclip::actix::OperationModifier;
use paperclip::v2::models::{DefaultOperationRaw, DefaultSchemaRaw, Either, Response};
use paperclip::v2::schema::Apiv2Schema;

use super::{json, schema_of};
use crate::dto;
use crate::negotiate::{CSV, prefers_csv};
use crate::problem::Problem;

/// A cost report, in the media type the client prefers.
pub struct CostReportResponse(pub dto::CostReport);

impl Responder for CostReportResponse {
    type Body = BoxBody;

    fn respond_to(self, req: &HttpRequest) -> HttpResponse {
        if !prefers_csv(req) {
            return json(StatusCode::OK, &self.0);
        }
        match csv(&self.0) {
            Ok(body) => HttpResponse::Ok()
                .content_type(format!("{CSV}; charset=utf-8"))
                .insert_header(("Content-Disposition", "attachment; filename=\"costs.csv\""))
                .body(body),
            Err(e) => Problem::internal(e).error_response(),
        }
    }
}

/// The report as CSV with a stable header: `bucket_start,bucket_end`, one column per group
/// key (named as `group_by` names it), then `amount,currency,seconds`; one row per bucket
/// and group, and one row with empty keys for a bucket without usage.
pub fn csv(report: &dto::CostReport) -> Result<Vec<u8>, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["bucket_start".to_owned(), "bucket_end".to_owned()];
    header.extend(report.group_by.iter().cloned());
    header.extend(["amount", "currency", "seconds"].map(str::to_owned));
    writer.write_record(&header)?;
    let empty = dto::CostGroup {
        keys: Vec::new(),
        amount: fleet_domain::Money::ZERO.into(),
        seconds: 0,
    };
    for bucket in &report.buckets {
        let groups = if bucket.groups.is_empty() {
            std::slice::from_ref(&empty)
        } else {
            &bucket.groups[..]
        };
        for group in groups {
            let mut row = vec![bucket.start.to_rfc3339(), bucket.end.to_rfc3339()];
            for i in 0..report.group_by.len() {
                row.push(
                    group
                        .keys
                        .get(i)
                        .and_then(|k| k.value.clone())
                        .unwrap_or_default(),
                );
            }
            row.push(group.amount.amount.clone());
            row.push(group.amount.currency.clone());
            row.push(group.seconds.to_string());
            writer.write_record(&row)?;
        }
    }
    writer.into_inner().map_err(|e| e.into_error().into())
}

impl Apiv2Schema for CostReportResponse {}

impl OperationModifier for CostReportResponse {
    fn update_response(op: &mut DefaultOperationRaw) {
        op.responses.insert(
            "200".to_owned(),
            Either::Right(Response {
                description: Some(
                    "The report: as JSON, or as CSV (`text/csv`, one row per bucket and \
                     group: `bucket_start,bucket_end`, the `group_by` keys, \
                     `amount,currency,seconds`) for a client whose `Accept` prefers it."
                        .to_owned(),
                ),
                schema: Some(schema_of::<dto::CostReport>()),
                headers: Default::default(),
            }),
        );
    }

    fn update_definitions(map: &mut BTreeMap<String, DefaultSchemaRaw>) {
        <dto::CostReport as OperationModifier>::update_definitions(map);
    }
}
