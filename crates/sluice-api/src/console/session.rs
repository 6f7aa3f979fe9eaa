//! `/console/api/session`: sign-in (POST an API key or a service account's credentials, once),
//! the current session (GET, for a reloaded page) and sign-out (DELETE). The answer names the
//! caller, its project and roles, what those roles allow (from the one role table, so the
//! console disables what the server would refuse) and the session's CSRF token; the session
//! token itself travels only in the HttpOnly cookie.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use serde::Deserialize;
use serde_json::json;

use crate::auth::session::{self, SessionFailure};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::limits::SESSION_MAX_AGE;
use crate::operation::ops;
use crate::state::AppState;

/// What sign-in takes: an API key, or a service account.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SignIn {
    public_key: Option<String>,
    private_key: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// POST: checks the credentials as the API's own authentication does (failed attempts count
/// towards the same limits) and opens a session.
pub async fn sign_in(
    State(state): State<Arc<AppState>>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    // JSON only: a cross-site form cannot send it without the browser asking this server first.
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json"));
    if !json {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "INVALID_MEDIA_TYPE",
            "Sign-in takes a JSON body.",
        ));
    }
    let req: SignIn = serde_json::from_slice(&body)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "INVALID_JSON", e.to_string()))?;
    let peer = peer.map(|c| c.0 .0.ip());
    let (user, secret, key) = match (req.public_key, req.private_key, req.client_id, req.client_secret) {
        (Some(u), Some(s), None, None) => (u, s, true),
        (None, None, Some(u), Some(s)) => (u, s, false),
        _ => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "MISSING_ATTRIBUTE",
                "Sign in with publicKey and privateKey, or with clientId and clientSecret.",
            ))
        }
    };
    state.auth.check_failures(peer, Some(&user))?;
    let principal = if key {
        state.auth.verify_api_key(&user, &secret).await
    } else {
        state.auth.verify_service_account(&user, &secret).await
    };
    let Some(principal) = principal else {
        state.auth.record_failure(peer, Some(&user));
        return Err(ApiError::unauthorized());
    };
    tracing::info!(subject = %principal.subject, "console sign-in");
    let s = state.auth.sessions.open(principal.clone());
    let mut cookie = format!(
        "{}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}",
        session::COOKIE,
        s.token,
        SESSION_MAX_AGE.as_secs()
    );
    // Behind a TLS proxy the cookie never travels in clear.
    if headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()) == Some("https") {
        cookie.push_str("; Secure");
    }
    let mut r = answer(&state, &principal, &s.csrf).await;
    if let Ok(v) = cookie.parse() {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(r)
}

/// GET: the current session (a reloaded page asks for its CSRF token again), or 401.
pub async fn current(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Result<Response, ApiError> {
    let token = session::cookie(&headers).ok_or_else(ApiError::unauthorized)?;
    let (principal, csrf) = state.auth.sessions.check(token, "GET", None).map_err(|_| ApiError::unauthorized())?;
    Ok(answer(&state, &principal, &csrf).await)
}

/// DELETE: signs out (needs the CSRF token, as every write) and clears the cookie.
pub async fn sign_out(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(token) = session::cookie(&headers) {
        let csrf = headers.get(session::CSRF_HEADER).and_then(|v| v.to_str().ok());
        match state.auth.sessions.check(token, "DELETE", csrf) {
            Ok(_) => state.auth.sessions.close(token),
            Err(SessionFailure::Csrf) => return Err(ApiError::csrf_refused()),
            Err(SessionFailure::Unknown) => {}
        }
    }
    let clear = format!("{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0", session::COOKIE);
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, clear)]).into_response())
}

/// The session's description: who, where, what the roles allow, and the CSRF token.
async fn answer(state: &AppState, p: &Principal, csrf: &str) -> Response {
    let project_name = state.store.project(&p.project_id).await.map(|x| x.name).unwrap_or_default();
    let body = json!({
        "subject": p.subject,
        "projectId": p.project_id,
        "projectName": project_name,
        "roles": p.roles,
        "can": {
            "manageWorkspaces": ops::CREATE_WORKSPACE.allows(&p.roles),
            "manageProcessors": ops::CREATE_PROCESSOR.allows(&p.roles),
            "readLogs": ops::OPERATIONAL_LOGS.allows(&p.roles),
        },
        "csrfToken": csrf,
        "idleTimeoutSeconds": crate::limits::SESSION_IDLE.as_secs(),
    });
    ([(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "no-store")], body.to_string())
        .into_response()
}
