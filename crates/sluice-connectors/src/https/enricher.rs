//! The `$https` connector: one request per document, up to [`MAX_IN_FLIGHT`] at a time, retried
//! with backoff on connection failures, timeouts, 429 and 5xx. The JSON answer becomes the
//! document's `as` field and `_stream_meta.https` tells `{url, method, httpStatusCode,
//! responseTimeMs}`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice_engine::{EnrichRequest, Enriched, Enricher};
use sluice_mql::expr::{Input, Scope};
use sluice_mql::json::{parse_value, to_json_string, JsonMode};
use sluice_mql::{format_iso_millis, Document, Str, Value};
use tokio::runtime::Runtime;
use tokio::sync::Semaphore;

use super::{HttpsConnection, HttpsOptions};

/// Requests in flight at once, per stage.
pub const MAX_IN_FLIGHT: usize = 16;
/// Attempts per request when the failure may pass (connection, timeout, 429, 5xx).
const ATTEMPTS: u32 = 3;
/// The first retry's delay; each next one doubles it.
const BACKOFF: Duration = Duration::from_millis(100);
/// How much of an error response's body a DLQ reason quotes.
const BODY_EXCERPT: usize = 200;

/// One request, ready to send.
struct Prepared {
    url: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Option<String>,
}

/// The `$https` connector of one stage.
pub struct HttpsEnricher {
    conn: HttpsConnection,
    opts: HttpsOptions,
    client: reqwest::Client,
    runtime: Runtime,
}

impl HttpsEnricher {
    /// Builds the HTTP client (connections are made per request, kept alive between them).
    pub fn open(conn: &HttpsConnection, opts: HttpsOptions) -> Result<HttpsEnricher, String> {
        let client = reqwest::Client::builder()
            .connect_timeout(opts.connect_timeout)
            .timeout(opts.request_timeout)
            .build()
            .map_err(|e| format!("connection {}: cannot build an HTTP client: {}", conn.name, e))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("connection {}: cannot start the HTTP runtime: {}", conn.name, e))?;
        Ok(HttpsEnricher { conn: conn.clone(), opts, client, runtime })
    }

    /// The request for one document, or why it cannot be made.
    fn prepare(&self, req: &EnrichRequest<'_>, scope: &mut Scope) -> Result<Prepared, String> {
        let input = Input::doc(req.doc);
        let mut url = self.conn.url.clone();
        if let Some(p) = &self.opts.path {
            let v = p.eval(&input, scope).map_err(|e| format!("path: {}", e))?;
            let path = v.as_str().ok_or_else(|| format!("path must be a string, found {}", v.bson_type().alias()))?;
            if !path.is_empty() {
                url = format!("{}/{}", url.trim_end_matches('/'), path.trim_start_matches('/'));
            }
        }
        let mut query = Vec::with_capacity(self.opts.parameters.len());
        for (k, e) in &self.opts.parameters {
            let v = e.eval(&input, scope).map_err(|e| format!("parameters.{}: {}", k, e))?;
            match parameter_text(&v) {
                Some(t) => query.push((k.clone(), t)),
                None if matches!(*v, Value::Missing) => {}
                None => {
                    return Err(format!(
                        "parameters.{} must be a string, number, boolean or date, found {}",
                        k,
                        v.bson_type().alias()
                    ))
                }
            }
        }
        let mut headers = self.conn.headers.clone();
        for (k, e) in &self.opts.headers {
            let v = e.eval(&input, scope).map_err(|e| format!("headers.{}: {}", k, e))?;
            let text =
                v.as_str().ok_or_else(|| format!("headers.{} must be a string, found {}", k, v.bson_type().alias()))?;
            headers.push((k.clone(), text.to_string()));
        }
        let body = match (&req.payload, self.opts.method.sends_document()) {
            (Some(p), _) => Some(to_json_string(p, JsonMode::Relaxed)),
            (None, true) => Some(to_json_string(req.doc, JsonMode::Relaxed)),
            (None, false) => None,
        };
        Ok(Prepared { url, query, headers, body })
    }
}

/// A query parameter's text.
fn parameter_text(v: &Value) -> Option<String> {
    Some(match v {
        Value::String(s) => s.to_string(),
        Value::Int32(n) => n.to_string(),
        Value::Int64(n) => n.to_string(),
        Value::Double(d) => d.to_string(),
        Value::Decimal(d) => d.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::DateTime(ms) => format_iso_millis(*ms),
        _ => return None,
    })
}

/// A response body as a value: JSON as its document or value, other text as a string, nothing
/// as null.
fn answer_value(body: &[u8]) -> Value {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Value::Null;
    }
    match std::str::from_utf8(body) {
        Ok(text) => parse_value(text).unwrap_or_else(|_| Value::str(text)),
        Err(_) => Value::Binary(0, body.to_vec()),
    }
}

fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut end = text.len().min(BODY_EXCERPT);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

/// Sends one request, retrying what may pass.
async fn send(client: reqwest::Client, method: reqwest::Method, p: Prepared) -> Result<Enriched, String> {
    let mut delay = BACKOFF;
    let mut attempt = 1;
    loop {
        let started = Instant::now();
        let mut rb = client.request(method.clone(), &p.url).query(&p.query);
        for (k, v) in &p.headers {
            rb = rb.header(k.as_str(), v.as_str());
        }
        if let Some(b) = &p.body {
            rb = rb.header("Content-Type", "application/json").body(b.clone());
        }
        let outcome = match rb.send().await {
            Ok(resp) => {
                let status = resp.status();
                match resp.bytes().await {
                    Ok(body) => Ok((status, body)),
                    Err(e) => Err(format!("reading the answer of {} {} failed: {}", method, p.url, e)),
                }
            }
            Err(e) => Err(format!("{} {} failed: {}", method, p.url, describe(&e))),
        };
        let elapsed = started.elapsed().as_millis() as i64;
        let retry = match &outcome {
            Err(_) => true,
            Ok((status, _)) => status.is_server_error() || status.as_u16() == 429,
        };
        if retry && attempt < ATTEMPTS {
            tokio::time::sleep(delay).await;
            delay *= 2;
            attempt += 1;
            continue;
        }
        let (status, body) = outcome?;
        if !status.is_success() {
            return Err(format!("{} {} answered HTTP {}: {}", method, p.url, status.as_u16(), excerpt(&body)));
        }
        let mut meta = Document::with_capacity(4);
        meta.push_unique(Str::from("url"), Value::str(&p.url));
        meta.push_unique(Str::from("method"), Value::str(method.as_str()));
        meta.push_unique(Str::from("httpStatusCode"), Value::Int32(status.as_u16() as i32));
        meta.push_unique(Str::from("responseTimeMs"), Value::Int64(elapsed));
        return Ok(Enriched { value: answer_value(&body), meta: Some(meta) });
    }
}

/// A transport error in a few words (reqwest's own text nests its causes).
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "cannot connect".into()
    } else {
        e.to_string()
    }
}

impl Enricher for HttpsEnricher {
    fn meta_key(&self) -> &str {
        "https"
    }

    /// Never fails as a whole: an endpoint that cannot be reached fails each request, which the
    /// stage's `onError` handles.
    fn enrich(
        &mut self,
        requests: &[EnrichRequest<'_>],
        scope: &mut Scope,
    ) -> Result<Vec<Result<Enriched, String>>, String> {
        let prepared: Vec<Result<Prepared, String>> = requests.iter().map(|r| self.prepare(r, scope)).collect();
        let method = reqwest::Method::from_bytes(self.opts.method.as_str().as_bytes()).unwrap_or(reqwest::Method::GET);
        let client = self.client.clone();
        Ok(self.runtime.block_on(async move {
            let permits = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
            let mut tasks = Vec::with_capacity(prepared.len());
            for p in prepared {
                let (client, method, permits) = (client.clone(), method.clone(), permits.clone());
                tasks.push(tokio::spawn(async move {
                    let p = p?;
                    let _permit = permits.acquire_owned().await.map_err(|e| e.to_string())?;
                    send(client, method, p).await
                }));
            }
            let mut out = Vec::with_capacity(tasks.len());
            for t in tasks {
                out.push(t.await.unwrap_or_else(|e| Err(format!("the request task failed: {}", e))));
            }
            out
        }))
    }
}
