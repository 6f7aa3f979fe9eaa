//! The cross-cutting part of every request: who calls ([`Call`], an extractor that
//! authenticates), and, per operation, the version, group and role checks ([`Call::begin`]).

use std::sync::Arc;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, Request, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::auth::{session, Principal};
use crate::error::ApiError;
use crate::negotiate::{negotiate, Version};
use crate::operation::Operation;
use crate::rejection::{self, RequestInfo};
use crate::reply::{self, Flags};
use crate::state::AppState;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // Plain here; `shape_errors` applies envelope/pretty, which it reads from the request.
        let mut r = reply::error(&self, Flags::default());
        r.extensions_mut().insert(self);
        r
    }
}

/// Middleware: errors honour `envelope` and `pretty` like successes do, and the answers axum
/// gives before a handler runs are turned into Atlas's error body ([`crate::rejection`]).
pub async fn shape_errors(State(state): State<Arc<AppState>>, req: Request<axum::body::Body>, next: Next) -> Response {
    let flags = flags(req.uri().query());
    let uri = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
    if uri.len() > crate::limits::MAX_URI_BYTES {
        return reply::error(&ApiError::uri_too_long(crate::limits::MAX_URI_BYTES), flags);
    }
    let peer = req.extensions().get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
    let mut credentials = axum::http::HeaderMap::new();
    for name in [header::AUTHORIZATION, header::COOKIE, header::HeaderName::from_static(session::CSRF_HEADER)] {
        if let Some(v) = req.headers().get(&name) {
            credentials.insert(name, v.clone());
        }
    }
    // Requests without credentials (a Digest client's first, or a flood) are answered a few at
    // a time, so that they cannot crowd out signed-in callers.
    // So are calls between nodes (a forwarded start may wait on its processor's systems), once
    // their token checks out.
    let node_call = req
        .headers()
        .get(sluice_control::NODE_TOKEN_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| state.controller.is_node_token(t));
    let signed =
        credentials.contains_key(header::AUTHORIZATION) || session::cookie(&credentials).is_some() || node_call;
    let _permit = if signed { None } else { state.anonymous.acquire().await.ok() };
    let info = RequestInfo { method: req.method().clone(), uri: uri.to_string(), credentials, peer };
    let r = next.run(req).await;
    let e = match r.extensions().get::<ApiError>() {
        Some(e) => e.clone(),
        None if rejection::is_foreign_error(&r) => rejection::to_atlas(&state, &info, r).await,
        None => return r,
    };
    // A Digest challenge must stay a real 401, or no client could ever authenticate with
    // `envelope=true`.
    let flags = if e.status == StatusCode::UNAUTHORIZED { Flags { envelope: false, ..flags } } else { flags };
    reply::error(&e, flags)
}

/// The query flags of a request.
pub fn flags(query: Option<&str>) -> Flags {
    let mut f = Flags::default();
    for pair in query.unwrap_or("").split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let on = v.eq_ignore_ascii_case("true");
        match k {
            "envelope" => f.envelope = on,
            "pretty" => f.pretty = on,
            _ => {}
        }
    }
    f
}

/// 400 unless the query's `envelope` and `pretty`, when given, are booleans (the contract
/// declares both `type: boolean`; Atlas refuses other values rather than reading them as false).
fn check_flags(query: Option<&str>) -> Result<(), ApiError> {
    for pair in query.unwrap_or("").split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if matches!(k, "envelope" | "pretty") && !(v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false")) {
            return Err(ApiError::invalid_query(&format!("{} must be true or false.", k)).params([k]));
        }
    }
    Ok(())
}

/// An authenticated request.
pub struct Call {
    /// Who calls.
    pub principal: Principal,
    /// The Accept header.
    accept: Option<String>,
    /// `envelope` / `pretty`.
    pub flags: Flags,
    /// `http://host` as the client addressed us, for `links`.
    pub base: String,
    /// The request path.
    pub path: String,
    /// The raw query string.
    pub query: Option<String>,
}

/// What an operation needs once its checks passed.
pub struct Ctx {
    /// The chosen version.
    pub version: Version,
    /// `envelope` / `pretty`.
    pub flags: Flags,
    /// The project.
    pub group_id: String,
    /// `http://host` for `links`.
    pub base: String,
    /// Who calls (for the audit log).
    pub subject: String,
}

impl Ctx {
    /// A `links` array with one `self` link to `path`.
    pub fn self_link(&self, path: &str) -> serde_json::Value {
        serde_json::json!([{"href": format!("{}{}", self.base, path), "rel": "self"}])
    }
}

impl FromRequestParts<Arc<AppState>> for Call {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Call, ApiError> {
        let uri = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/").to_string();
        let principal = state.auth.authenticate(&parts.headers, parts.method.as_str(), &uri, peer_ip(parts)).await?;
        state.limiter.admit(&principal.subject)?;
        check_flags(parts.uri.query())?;
        let host = parts.headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
        Ok(Call {
            principal,
            accept: parts.headers.get(header::ACCEPT).and_then(|h| h.to_str().ok()).map(str::to_string),
            flags: flags(parts.uri.query()),
            base: format!("http://{}", host),
            path: parts.uri.path().to_string(),
            query: parts.uri.query().map(str::to_string),
        })
    }
}

/// The client's address, when the server knows it (`ConnectInfo`).
pub fn peer_ip(parts: &Parts) -> Option<std::net::IpAddr> {
    parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip())
}

/// Whether `id` is 24 lowercase hex digits (`^([a-f0-9]{24})$`).
pub fn is_object_id(id: &str) -> bool {
    id.len() == 24 && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl Call {
    /// Checks version, group id, project access and role for `op` on `group_id`.
    pub async fn begin(&self, state: &AppState, op: &Operation, group_id: &str) -> Result<Ctx, ApiError> {
        let version = negotiate(op, self.accept.as_deref())?;
        self.authorize(state, op, group_id).await?;
        Ok(Ctx {
            version,
            flags: self.flags,
            group_id: group_id.to_string(),
            base: self.base.clone(),
            subject: self.principal.subject.clone(),
        })
    }

    /// Checks group id, project access and role for `op` on `group_id` (no media-type version:
    /// the EnOS routes have none).
    pub async fn authorize(&self, state: &AppState, op: &Operation, group_id: &str) -> Result<(), ApiError> {
        if !is_object_id(group_id) {
            return Err(ApiError::invalid_group_id(group_id));
        }
        if self.principal.project_id != group_id {
            // Another project's key learns nothing about whether this one exists.
            return match state.store.project(group_id).await {
                Ok(_) => Err(ApiError::forbidden_role(op.id)),
                Err(_) => Err(ApiError::group_not_found(group_id)),
            };
        }
        if !op.allows(&self.principal.roles) {
            return Err(ApiError::forbidden_role(op.id));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_and_pretty_must_be_booleans() {
        assert!(check_flags(None).is_ok());
        assert!(check_flags(Some("envelope=true&pretty=FALSE&pageNum=2")).is_ok());
        let e = check_flags(Some("pageNum=1&pretty=%C2%82")).unwrap_err();
        assert_eq!((e.code, e.parameters.clone()), ("INVALID_QUERY_PARAMETER", vec!["pretty".to_string()]));
        assert_eq!(check_flags(Some("envelope=")).unwrap_err().code, "INVALID_QUERY_PARAMETER");
        assert_eq!(check_flags(Some("envelope")).unwrap_err().code, "INVALID_QUERY_PARAMETER");
    }
}
