//! Shapes a response: the version's content type, `envelope=true` (`{status, content}`, or the
//! list object with `status` added), `pretty=true` (indented).

use axum::body::Body;
use axum::http::{header, HeaderValue, Response, StatusCode};
use serde_json::{json, Value as Json};

use crate::error::ApiError;
use crate::negotiate::Version;

/// The query flags every operation takes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flags {
    /// `envelope=true`
    pub envelope: bool,
    /// `pretty=true`
    pub pretty: bool,
}

/// Builds a JSON response.
pub fn json_response(
    status: StatusCode,
    body: Json,
    is_list: bool,
    flags: Flags,
    content_type: &str,
) -> Response<Body> {
    let (status, body) = if flags.envelope {
        let wrapped = match body {
            Json::Object(mut m) if is_list => {
                m.insert("status".into(), json!(status.as_u16()));
                Json::Object(m)
            }
            other => json!({"status": status.as_u16(), "content": other}),
        };
        (StatusCode::OK, wrapped)
    } else {
        (status, body)
    };
    let text = if flags.pretty { serde_json::to_string_pretty(&body) } else { serde_json::to_string(&body) }
        .unwrap_or_else(|_| "{}".into());
    let mut r = Response::new(Body::from(text));
    *r.status_mut() = status;
    if let Ok(v) = HeaderValue::from_str(content_type) {
        r.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    r
}

/// A successful answer of an operation.
pub fn ok(status: StatusCode, body: Json, version: &Version, flags: Flags) -> Response<Body> {
    json_response(status, body, false, flags, &version.content_type())
}

/// A successful list answer (`results`, `totalCount`, `links`).
pub fn list(body: Json, version: &Version, flags: Flags) -> Response<Body> {
    json_response(StatusCode::OK, body, true, flags, &version.content_type())
}

/// An error answer. Errors are `application/json` as Atlas sends them.
pub fn error(e: &ApiError, flags: Flags) -> Response<Body> {
    let mut r = json_response(e.status, e.body(), false, flags, "application/json");
    for (k, v) in &e.headers {
        if let Ok(v) = HeaderValue::from_str(v) {
            r.headers_mut().append(*k, v);
        }
    }
    r
}

/// A binary answer (gzip log downloads).
pub fn bytes(data: Vec<u8>, version: &Version) -> Response<Body> {
    let mut r = Response::new(Body::from(data));
    if let Ok(v) = HeaderValue::from_str(&version.content_type()) {
        r.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    r
}
