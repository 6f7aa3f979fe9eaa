//! The fields of a `$https` stage that its connector reads: `path`, `method`, `headers`,
//! `parameters` and `config` (timeouts). `connectionName`, `as`, `onError` and `payload` are the
//! pipeline's.

use std::time::Duration;

use serde::Deserialize;
use sluice_mql::expr::{compile, Expr};
use sluice_mql::serde_value::{from_document, Entries, Raw};
use sluice_mql::Document;

/// The HTTP method of `$https`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET (the default).
    Get,
    /// POST.
    Post,
    /// PUT.
    Put,
    /// PATCH.
    Patch,
    /// DELETE.
    Delete,
}

impl Method {
    /// The method's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }

    /// Whether a request sends the document as its body when the stage has no `payload`.
    pub fn sends_document(self) -> bool {
        matches!(self, Method::Post | Method::Put | Method::Patch)
    }
}

/// `$https` as its connector needs it.
#[derive(Debug, Clone)]
pub struct HttpsOptions {
    /// `path`: appended to the connection's URL; a string or an expression.
    pub path: Option<Expr>,
    /// `method`.
    pub method: Method,
    /// `headers`: name and value (a string or an expression).
    pub headers: Vec<(String, Expr)>,
    /// `parameters`: query parameters, name and value (an expression).
    pub parameters: Vec<(String, Expr)>,
    /// `config.connectionTimeoutSec`.
    pub connect_timeout: Duration,
    /// `config.requestTimeoutSec`.
    pub request_timeout: Duration,
}

/// Timeouts when the stage gives none.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The connector's fields of `$https` as Atlas names them.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Fields {
    path: Option<Raw>,
    method: Option<String>,
    #[serde(default)]
    headers: Entries<Raw>,
    #[serde(default)]
    parameters: Entries<Raw>,
    #[serde(default)]
    config: Config,
}

/// `$https.config`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Config {
    connection_timeout_sec: Option<i64>,
    request_timeout_sec: Option<i64>,
}

fn expressions(entries: Entries<Raw>, what: &str) -> Result<Vec<(String, Expr)>, String> {
    entries
        .0
        .into_iter()
        .map(|(k, v)| {
            let e = compile(&v.0).map_err(|e| format!("$https.{}.{}: {}", what, k, e))?;
            Ok((k, e))
        })
        .collect()
}

fn seconds(given: Option<i64>, key: &str) -> Result<Duration, String> {
    match given {
        None => Ok(DEFAULT_TIMEOUT),
        Some(s) if s > 0 => Ok(Duration::from_secs(s as u64)),
        Some(_) => Err(format!("$https.config.{} must be a positive whole number of seconds", key)),
    }
}

impl HttpsOptions {
    /// Parses the connector's fields of a `$https` stage.
    pub fn parse(options: &Document) -> Result<HttpsOptions, String> {
        let f: Fields = from_document(options).map_err(|e| e.describe("$https"))?;
        let path = f.path.map(|v| compile(&v.0).map_err(|e| format!("$https.path: {}", e))).transpose()?;
        let method = match f.method.map(|m| m.to_ascii_uppercase()).as_deref() {
            None | Some("GET") => Method::Get,
            Some("POST") => Method::Post,
            Some("PUT") => Method::Put,
            Some("PATCH") => Method::Patch,
            Some("DELETE") => Method::Delete,
            Some(_) => return Err("$https.method must be one of GET, POST, PUT, PATCH, DELETE".into()),
        };
        Ok(HttpsOptions {
            path,
            method,
            headers: expressions(f.headers, "headers")?,
            parameters: expressions(f.parameters, "parameters")?,
            connect_timeout: seconds(f.config.connection_timeout_sec, "connectionTimeoutSec")?,
            request_timeout: seconds(f.config.request_timeout_sec, "requestTimeoutSec")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_mql::json::parse_document;

    fn parse(json: &str) -> Result<HttpsOptions, String> {
        HttpsOptions::parse(&parse_document(json).unwrap())
    }

    #[test]
    fn defaults_and_fields() {
        let o = parse("{}").unwrap();
        assert_eq!(o.method, Method::Get);
        assert_eq!(o.request_timeout, DEFAULT_TIMEOUT);
        let o = parse(
            r#"{"path": {"$concat": ["/users/", "$user"]}, "method": "post", "headers": {"X-Id": "$id"},
                "parameters": {"q": "$q", "n": 5}, "config": {"connectionTimeoutSec": 2, "requestTimeoutSec": 3}}"#,
        )
        .unwrap();
        assert_eq!(o.method, Method::Post);
        assert!(o.path.is_some());
        assert_eq!(o.headers.len(), 1);
        assert_eq!(o.parameters.len(), 2);
        assert_eq!((o.connect_timeout, o.request_timeout), (Duration::from_secs(2), Duration::from_secs(3)));
    }

    #[test]
    fn refusals_name_the_field() {
        for (json, field) in [
            (r#"{"method": "FETCH"}"#, "$https.method"),
            (r#"{"headers": "x"}"#, "$https.headers"),
            (r#"{"parameters": {"q": {"$nope": 1}}}"#, "$https.parameters.q"),
            (r#"{"config": {"requestTimeoutSec": 0}}"#, "requestTimeoutSec"),
            (r#"{"config": {"retries": 3}}"#, "$https.config.retries"),
        ] {
            let e = parse(json).unwrap_err();
            assert!(e.contains(field), "{} -> {}", json, e);
        }
    }
}
