//! Signing in and out: `GET`, `POST` and `DELETE /console/session`.
//!
//! Signing in takes an API key once (`POST`, JSON only: a form of another site cannot post
//! JSON without the browser asking first, so no other page can sign a browser in) and sets
//! the session cookie: HttpOnly (no script reads it), SameSite=Strict (no other site's
//! request carries it), Secure when the request came over TLS. The page learns who it is
//! and its CSRF token from the answer, never the key or the token.

use actix_web::cookie::{Cookie, SameSite, time};
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder, web};
use fleet_domain::Caller;
use fleet_domain::error::AuthError;
use fleet_domain::service::Authenticated;
use fleet_ops::RequestScope;
use fleet_ops::session::{
    CSRF_DETAIL, CSRF_PROBLEM, SESSION_COOKIE, presented_csrf, session_token,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::state::ConsoleState;

/// Who the console acts as, and what it may show.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct SessionView {
    /// `open` (no key needed) or `keys`.
    pub mode: &'static str,
    /// Whether a session cookie acts for this browser.
    pub signed_in: bool,
    /// The project it acts in; absent when it may not act (keys mode, signed out).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_id: Option<Uuid>,
    /// Its role; absent when it may not act.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<&'static str>,
    /// The key the session acts as; absent in open mode without a session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<Uuid>,
    /// What the page sends in `X-CSRF-Token` with every change; absent without a session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csrf_token: Option<String>,
    /// Whether fleetd runs on a virtual clock.
    pub virtual_clock: bool,
}

/// A sign-in: the API key to act as.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    key: String,
}

/// The largest sign-in body read: a key is under 100 bytes.
const SIGN_IN_LIMIT: usize = 1024;

/// Who this browser acts as. A cookie that no longer works (expired, revoked, from a
/// restarted process) is cleared, and the answer is what the browser is without it.
pub async fn show(req: HttpRequest, state: web::Data<ConsoleState>) -> HttpResponse {
    let Some(token) = session_token(&req) else {
        return private(HttpResponse::Ok()).json(signed_out(&state));
    };
    match state.projects.session(&token, now()).await {
        Ok(who) => private(HttpResponse::Ok()).json(signed_in(&state, who, &token)),
        Err(AuthError::Store(e)) => unavailable(&req, &e),
        Err(_) => private(HttpResponse::Ok())
            .cookie(removal())
            .json(signed_out(&state)),
    }
}

/// Signs in with a key: sets the session cookie and answers who the session is.
pub async fn sign_in(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<ConsoleState>,
) -> HttpResponse {
    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return refusal(
            &req,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "sign in with a JSON body {\"key\": \"fleet_...\"} (Content-Type: application/json)",
        );
    }
    // Read no further than the limit: a key is under 100 bytes.
    let Ok(read) = payload.to_bytes_limited(SIGN_IN_LIMIT).await else {
        return refusal(
            &req,
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            "a sign-in body is at most 1024 bytes",
        );
    };
    let Ok(body) = read else {
        return refusal(
            &req,
            StatusCode::BAD_REQUEST,
            "invalid-body",
            "the sign-in body did not arrive whole",
        );
    };
    let Ok(SignIn { key }) = serde_json::from_slice(&body) else {
        return refusal(
            &req,
            StatusCode::BAD_REQUEST,
            "invalid-body",
            "sign in with a JSON body {\"key\": \"fleet_...\"} and nothing else",
        );
    };
    let opened = state
        .projects
        .open_session(key.trim(), now(), state.session_lifetime_s)
        .await;
    match opened {
        Ok(session) => {
            let cookie = Cookie::build(SESSION_COOKIE, session.token.expose().to_owned())
                .path("/")
                .http_only(true)
                .same_site(SameSite::Strict)
                .secure(req.connection_info().scheme() == "https")
                .max_age(time::Duration::seconds(state.session_lifetime_s))
                .finish();
            let view = signed_in(&state, session.who, session.token.expose());
            private(HttpResponse::Ok()).cookie(cookie).json(view)
        }
        Err(AuthError::Store(e)) => unavailable(&req, &e),
        Err(refused) => {
            slog::debug!(RequestScope::of(&req).logger(), "console sign-in refused";
                "reason" => %refused);
            refusal(
                &req,
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "that is not a valid API key (fleet_<key id>_<secret>), or it was revoked",
            )
        }
    }
}

/// Signs out: clears the cookie. With a session, only with its CSRF token, so that no
/// other site can sign a browser out.
pub async fn sign_out(req: HttpRequest, state: web::Data<ConsoleState>) -> HttpResponse {
    if let Some(token) = session_token(&req) {
        let presented = presented_csrf(&req).unwrap_or_default();
        if state.projects.session(&token, now()).await.is_ok()
            && !state.projects.csrf_matches(&token, presented)
        {
            return csrf_refusal(&req);
        }
    }
    private(HttpResponse::NoContent())
        .cookie(removal())
        .finish()
}

/// The 403 of a sign-out without the session's CSRF token.
fn csrf_refusal(req: &HttpRequest) -> HttpResponse {
    refusal(req, StatusCode::FORBIDDEN, CSRF_PROBLEM, CSRF_DETAIL)
}

fn signed_in(state: &ConsoleState, who: Authenticated, token: &str) -> SessionView {
    SessionView {
        mode: mode(state),
        signed_in: true,
        project_id: Some(who.caller.project.as_uuid()),
        role: Some(who.caller.role.as_str()),
        key_id: who.caller.key.map(|key| key.as_uuid()),
        csrf_token: state.projects.csrf_token(token),
        virtual_clock: state.virtual_clock,
    }
}

fn signed_out(state: &ConsoleState) -> SessionView {
    let open = (!state.keys_required).then(Caller::open);
    SessionView {
        mode: mode(state),
        signed_in: false,
        project_id: open.map(|c| c.project.as_uuid()),
        role: open.map(|c| c.role.as_str()),
        key_id: None,
        csrf_token: None,
        virtual_clock: state.virtual_clock,
    }
}

fn mode(state: &ConsoleState) -> &'static str {
    if state.keys_required { "keys" } else { "open" }
}

/// An answer no cache keeps or shares: it says who a cookie is and carries its CSRF token.
fn private(mut response: HttpResponseBuilder) -> HttpResponseBuilder {
    response
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::VARY, "Cookie"));
    response
}

/// A cookie that removes the session cookie.
fn removal() -> Cookie<'static> {
    let mut cookie = Cookie::build(SESSION_COOKIE, "")
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .finish();
    cookie.make_removal();
    cookie
}

/// Now, in Unix seconds of the system's clock: a session's life is a person's, so a
/// virtual clock advanced by days does not sign anyone out.
fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn refusal(req: &HttpRequest, status: StatusCode, slug: &str, detail: &str) -> HttpResponse {
    fleet_ops::problem(status, slug, detail, RequestScope::of(req).id(), None)
}

fn unavailable(req: &HttpRequest, error: &impl std::fmt::Display) -> HttpResponse {
    fleet_ops::problem(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        "the store is unavailable; retry later",
        RequestScope::of(req).id(),
        Some(error.to_string()),
    )
}
