//! The web console (issue 23): a browser front end served at `/console/` from files embedded in
//! the binary (plain ES modules and CSS from `crates/sluice-api/console/`, no build step), and
//! its sign-in, which exchanges an API key or a service account for a session cookie
//! ([`crate::auth::session`]). The console calls the same Atlas and Sluice routes as every other
//! client, so every role check applies to it unchanged.

mod assets;
mod session;

use std::sync::Arc;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

use crate::error::ApiError;
use crate::state::AppState;

/// The console's Content-Security-Policy: its own files only, no inline script or style, no
/// framing, no form posted elsewhere.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
frame-ancestors 'none'";

/// The console's routes: its files and its session.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/console", get(|| async { Redirect::permanent("/console/") }))
        .route("/console/", get(|| async { file("index.html") }))
        .route("/console/api/session", get(session::current).post(session::sign_in).delete(session::sign_out))
        .route("/console/{*path}", get(|axum::extract::Path(p): axum::extract::Path<String>| async move { file(&p) }))
        .layer(axum::middleware::map_response(secure))
}

/// One embedded file, or 404.
fn file(path: &str) -> Response {
    match assets::find(path) {
        Some((content_type, bytes)) => {
            ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "no-cache")], bytes).into_response()
        }
        None => ApiError::new(StatusCode::NOT_FOUND, "RESOURCE_NOT_FOUND", format!("No console file {}.", path))
            .into_response(),
    }
}

/// The headers every console answer carries.
async fn secure(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    r
}
