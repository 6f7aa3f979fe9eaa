//! `POST /api/oauth/token`: the OAuth 2 client-credentials grant for service accounts
//! (HTTP Basic `client_id:client_secret`, body `grant_type=client_credentials`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use serde_json::json;

use crate::auth::bearer::{secret_hash, TokenGrant, TOKEN_LIFETIME};
use crate::error::ApiError;
use crate::state::AppState;

fn oauth_error(status: StatusCode, code: &str) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], json!({"error": code}).to_string()).into_response()
}

fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, b64) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("Basic") {
        return None;
    }
    let raw = sluice_mql::json::base64::decode(b64.trim())?;
    let text = String::from_utf8(raw).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

/// 429 in OAuth's shape, with Atlas's rate-limit headers.
fn too_many(e: ApiError) -> Response {
    let mut r = oauth_error(StatusCode::TOO_MANY_REQUESTS, "slow_down");
    for (k, v) in &e.headers {
        if let Ok(v) = axum::http::HeaderValue::from_str(v) {
            r.headers_mut().append(*k, v);
        }
    }
    r
}

/// Issues a bearer token (RFC 6749 section 4.4). Token issue is rate-limited per client
/// address and per service account, and failed secrets count as failed logins.
pub async fn token(
    State(state): State<Arc<AppState>>,
    peer: Option<Extension<ConnectInfo<std::net::SocketAddr>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let peer = peer.map(|c| c.0 .0.ip());
    let form = String::from_utf8_lossy(&body);
    let grant = form.split('&').filter_map(|p| p.split_once('=')).find(|(k, _)| *k == "grant_type").map(|(_, v)| v);
    if grant != Some("client_credentials") {
        return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }
    let Some((client_id, secret)) = basic(&headers) else {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    };
    if let Err(e) = state.auth.check_failures(peer, Some(&client_id)) {
        return too_many(e);
    }
    let account = match state.store.service_account(&client_id).await {
        Ok(a) if secret_hash(&a.secret_salt, &secret) == a.secret_hash => a,
        _ => {
            state.auth.record_failure(peer, Some(&client_id));
            return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
        }
    };
    let by_address = peer.map(|ip| state.auth.token_issue.admit(&format!("ip:{}", ip))).unwrap_or(Ok(()));
    if let Err(e) = by_address.and_then(|_| state.auth.token_issue.admit(&format!("sa:{}", client_id))) {
        return too_many(e);
    }
    let token = state.auth.tokens.issue(TokenGrant {
        client_id: account.client_id,
        project_id: account.project_id,
        roles: account.roles,
    });
    let body = json!({"access_token": token, "token_type": "Bearer", "expires_in": TOKEN_LIFETIME.as_secs()});
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "no-store")],
        body.to_string(),
    )
        .into_response()
}
