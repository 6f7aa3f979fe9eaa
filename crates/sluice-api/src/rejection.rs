//! Answers that axum gives before a handler runs (a body over the limit, a query string or a
//! path parameter it cannot read, a method the route does not have) in Atlas's error body, so
//! that every rejection speaks the same JSON. A 405 comes only after authentication: without
//! credentials a caller learns nothing about which routes exist.

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Response, StatusCode};

use crate::error::ApiError;
use crate::state::AppState;

/// The most of a rejection's text read to put in `detail`.
const DETAIL_LIMIT: usize = 4096;

/// What a rejection needs to know of its request.
pub struct RequestInfo {
    /// The request's method.
    pub method: Method,
    /// The request target as sent (Digest signs it).
    pub uri: String,
    /// The request's credentials (`Authorization`, or the console's cookie and CSRF token):
    /// the only headers a rejection reads.
    pub credentials: HeaderMap,
    /// The client's address.
    pub peer: Option<std::net::IpAddr>,
}

/// Whether `r` is an error answer that is not already Atlas's JSON.
pub fn is_foreign_error(r: &Response<Body>) -> bool {
    let json = r
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json") || t.contains("+json"));
    (r.status().is_client_error() || r.status().is_server_error()) && !json
}

/// The Atlas error for a foreign error answer `r` to the request `req`.
pub async fn to_atlas(state: &AppState, req: &RequestInfo, r: Response<Body>) -> ApiError {
    let status = r.status();
    let allow = r.headers().get(header::ALLOW).and_then(|v| v.to_str().ok()).map(str::to_string);
    let text = match axum::body::to_bytes(r.into_body(), DETAIL_LIMIT).await {
        Ok(b) => String::from_utf8_lossy(&b).trim().to_string(),
        Err(_) => String::new(),
    };
    match status {
        StatusCode::METHOD_NOT_ALLOWED => {
            // The handler never ran, so the Digest nonce count is still unused here.
            let headers = &req.credentials;
            if let Err(challenge) = state.auth.authenticate(headers, req.method.as_str(), &req.uri, req.peer).await {
                return challenge;
            }
            ApiError::method_not_allowed(req.method.as_str(), allow.as_deref().unwrap_or(""))
        }
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::payload_too_large(),
        StatusCode::BAD_REQUEST if text.starts_with("Failed to deserialize query string") => {
            ApiError::invalid_query(&text)
        }
        StatusCode::BAD_REQUEST if text.starts_with("Invalid URL") || text.contains("path") => {
            ApiError::invalid_path(&text)
        }
        other => {
            let detail = if text.is_empty() { other.canonical_reason().unwrap_or("").to_string() } else { text };
            ApiError::new(other, "INVALID_REQUEST", detail)
        }
    }
}
