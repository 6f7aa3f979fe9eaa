//! The Atlas error body `{error, errorCode, reason, detail, parameters, badRequestDetail}`, and
//! every error the API answers, built in one place.

use axum::http::StatusCode;
use serde_json::{json, Value as Json};
use sluice_control::ControlError;
use sluice_store::StoreError;

/// An error response.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Atlas's `errorCode`.
    pub code: &'static str,
    /// Human-readable detail.
    pub detail: String,
    /// The values the detail names, as Atlas sends them (plain strings).
    pub parameters: Vec<String>,
    /// Field violations (`badRequestDetail.fields`).
    pub fields: Vec<(String, String)>,
    /// Extra headers (a Digest challenge).
    pub headers: Vec<(&'static str, String)>,
}

impl ApiError {
    /// An error with a status, code and detail.
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            detail: detail.into(),
            parameters: Vec::new(),
            fields: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// Adds the parameters the detail names.
    pub fn params<I: IntoIterator<Item = S>, S: Into<String>>(mut self, p: I) -> ApiError {
        self.parameters = p.into_iter().map(Into::into).collect();
        self
    }

    /// The body Atlas sends.
    pub fn body(&self) -> Json {
        let mut b = json!({
            "error": self.status.as_u16(),
            "errorCode": self.code,
            "reason": self.status.canonical_reason().unwrap_or(""),
            "detail": self.detail,
            "parameters": self.parameters,
        });
        if !self.fields.is_empty() {
            b["badRequestDetail"] = json!({
                "fields": self.fields.iter().map(|(f, d)| json!({"field": f, "description": d})).collect::<Vec<_>>()
            });
        }
        b
    }

    /// 401: no or wrong credentials.
    pub fn unauthorized() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "USER_UNAUTHORIZED",
            "Current user is not authorized to perform this action.",
        )
    }

    /// 403: a console session's write without its CSRF token (a cross-site request, or a stale page).
    pub fn csrf_refused() -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "INVALID_CSRF_TOKEN",
            "A console session's write must carry its CSRF token in the X-CSRF-Token header.",
        )
    }

    /// 403: the role does not allow the operation (or another project's key).
    pub fn forbidden_role(op: &str) -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "USER_UNAUTHORIZED",
            format!("The user does not have a role that allows operation {}.", op),
        )
        .params([op])
    }

    /// 406: the Accept header names no version of the operation.
    pub fn invalid_version() -> ApiError {
        ApiError::new(StatusCode::NOT_ACCEPTABLE, "INVALID_VERSION_DATE", "Invalid accept header or version date.")
    }

    /// 400: the group id is not 24 hex digits.
    pub fn invalid_group_id(id: &str) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "INVALID_GROUP_ID", format!("An invalid group ID {} was specified.", id))
            .params([id])
    }

    /// 404: no such project (or not the caller's).
    pub fn group_not_found(id: &str) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "GROUP_NOT_FOUND", format!("No group with ID {} exists.", id)).params([id])
    }

    /// 404: no workspace of that name.
    pub fn tenant_not_found(group: &str, name: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "STREAM_TENANT_NOT_FOUND_FOR_NAME",
            format!("Stream instance for project {} and name {} not found.", group, name),
        )
        .params([group, name])
    }

    /// 409: a workspace of that name exists.
    pub fn tenant_exists(group: &str, name: &str) -> ApiError {
        ApiError::new(
            StatusCode::CONFLICT,
            "STREAM_TENANT_NAME_ALREADY_EXISTS",
            format!("Stream instance with name {} already exists in project {}.", name, group),
        )
        .params([name, group])
    }

    /// 404: no connection of that name.
    pub fn connection_not_found(name: &str, group: &str, tenant: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "STREAM_CONNECTION_NOT_FOUND_FOR_NAME",
            format!("Stream connection with name {} for project {} and name {} not found.", name, group, tenant),
        )
        .params([name, group, tenant])
    }

    /// 409: a connection of that name exists.
    pub fn connection_exists(name: &str) -> ApiError {
        ApiError::new(
            StatusCode::CONFLICT,
            "STREAM_CONNECTION_NAME_ALREADY_EXISTS",
            format!("Stream connection with name {} already exists.", name),
        )
        .params([name])
    }

    /// 403: processors use the connection.
    pub fn connection_in_use(name: &str, processors: &[String]) -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "STREAM_CONNECTION_HAS_STREAM_PROCESSORS",
            format!("Stream connection {} is used by stream processors: {}.", name, processors.join(", ")),
        )
        .params([name.to_string(), processors.join(", ")])
    }

    /// 404: no processor of that name.
    pub fn processor_not_found(name: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "STREAM_PROCESSOR_NOT_FOUND",
            format!("Stream processor with name {} not found.", name),
        )
        .params([name])
    }

    /// 400: Atlas's catch-all for a processor request the engine refuses.
    pub fn processor_problem(name: &str, problem: &str) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "STREAM_PROCESSOR_GENERIC_ERROR",
            format!("Streams Processor with this name ({}) had a problem occur: {}", name, problem),
        )
        .params([name, problem])
    }

    /// 429: the caller has used its request budget (Atlas `RATE_LIMITED`), with the budget and
    /// when to try again in `RateLimit-Limit`, `RateLimit-Remaining` and `Retry-After`.
    pub fn rate_limited(limit: u32, retry_after_secs: u64) -> ApiError {
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "RATE_LIMITED",
            format!(
                "You have exceeded the rate limit of {} requests per second. Try again in {} seconds.",
                limit, retry_after_secs
            ),
        );
        e.headers.push(("RateLimit-Limit", limit.to_string()));
        e.headers.push(("RateLimit-Remaining", "0".to_string()));
        e.headers.push(("Retry-After", retry_after_secs.to_string()));
        e
    }

    /// 400: the operation requires a body and none was sent.
    pub fn missing_body() -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "INVALID_JSON",
            "The request body is missing; this operation requires one.",
        )
    }

    /// 400: the body is not JSON.
    pub fn invalid_json() -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "INVALID_JSON", "Received JSON is malformed.")
    }

    /// 400: an attribute the operation does not take.
    pub fn unknown_attribute(path: &str) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "INVALID_JSON_ATTRIBUTE",
            format!("Invalid attribute {} specified.", path),
        )
        .params([path])
        .field(path, "unknown attribute")
    }

    /// 400: a required attribute is missing.
    pub fn missing_attribute(path: &str) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "MISSING_ATTRIBUTE",
            format!("The required attribute {} was not specified.", path),
        )
        .params([path])
        .field(path, "required")
    }

    /// 400: an attribute of the wrong type or value.
    pub fn invalid_attribute(path: &str, why: &str) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "INVALID_ATTRIBUTE",
            format!("Invalid attribute {} specified: {}.", path, why),
        )
        .params([path])
        .field(path, why)
    }

    /// 400: a value outside an enumeration.
    pub fn invalid_enum(path: &str, value: &str) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "INVALID_ENUM_VALUE",
            format!("An invalid enumeration value {} was specified.", value),
        )
        .params([value])
        .field(path, "not one of the allowed values")
    }

    /// 405: the route exists but not with this method; `allow` lists the methods it has.
    pub fn method_not_allowed(method: &str, allow: &str) -> ApiError {
        let mut e = ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            format!("The method {} is not allowed on this resource.", method),
        )
        .params([method]);
        if !allow.is_empty() {
            e.headers.push(("Allow", allow.to_string()));
        }
        e
    }

    /// 413: the request body is over the limit.
    pub fn payload_too_large() -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            format!("The request body is larger than the limit of {} bytes.", crate::limits::MAX_BODY_BYTES),
        )
    }

    /// 414: the request target is longer than the limit.
    pub fn uri_too_long(limit: usize) -> ApiError {
        ApiError::new(
            StatusCode::URI_TOO_LONG,
            "URI_TOO_LONG",
            format!("The request URI is longer than the limit of {} bytes.", limit),
        )
    }

    /// 400: the query string cannot be read (a parameter repeated, of the wrong type).
    pub fn invalid_query(why: &str) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "INVALID_QUERY_PARAMETER", why.to_string())
    }

    /// 400: a path segment cannot be read (not UTF-8 once decoded).
    pub fn invalid_path(why: &str) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "INVALID_PATH_PARAMETER", why.to_string())
    }

    /// 503: the server is at its connection limit; retry after `retry_after_secs`.
    pub fn too_many_connections(retry_after_secs: u64) -> ApiError {
        let mut e = ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "SERVICE_UNAVAILABLE",
            "The server is at its connection limit; retry later.",
        );
        e.headers.push(("Retry-After", retry_after_secs.to_string()));
        e
    }

    /// 408: the request was not received in time.
    pub fn request_timeout() -> ApiError {
        ApiError::new(StatusCode::REQUEST_TIMEOUT, "REQUEST_TIMEOUT", "The request was not received in time.")
    }

    /// 404: a route that does not exist.
    pub fn no_such_resource(path: &str) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "RESOURCE_NOT_FOUND", format!("Cannot find resource {}.", path))
            .params([path])
    }

    /// 500: the server failed; the detail says what without leaking internals.
    pub fn unexpected(what: &str) -> ApiError {
        tracing::error!(error = %what, "unexpected error");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "UNEXPECTED_ERROR", "Unexpected error.")
    }

    fn field(mut self, path: &str, why: &str) -> ApiError {
        self.fields.push((path.to_string(), why.to_string()));
        self
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        ApiError::unexpected(&e.to_string())
    }
}

/// Maps a controller error for processor `name`.
pub fn control_error(name: &str, e: ControlError) -> ApiError {
    match e {
        ControlError::NotFound => ApiError::processor_not_found(name),
        ControlError::Duplicate => ApiError::new(
            StatusCode::CONFLICT,
            "STREAM_PROCESSOR_NAME_ALREADY_EXISTS",
            format!("Stream processor with name {} already exists.", name),
        )
        .params([name]),
        ControlError::Invalid(m) | ControlError::StartFailed(m) => ApiError::processor_problem(name, &m),
        ControlError::Transition(t) => ApiError::processor_problem(name, &t.to_string()),
        ControlError::Store(s) => s.into(),
        ControlError::Internal(m) => ApiError::unexpected(&format!("processor {}: {}", name, m)),
    }
}
