//! An Atlas Admin API client signing with HTTP Digest (MD5, `qop=auth`, through `http-auth`):
//! each client keeps its nonce and counts it up, so a request is one round trip. Used by the client commands and by
//! `sluice bench api`.

use http_auth::{DigestClient as DigestState, PasswordParams};
use reqwest::StatusCode;
use serde_json::Value as Json;

/// One Digest client: the challenge it answers (its nonce, counted up with each request, and
/// a fresh random cnonce each time), kept by `http-auth`.
pub struct DigestClient {
    http: reqwest::Client,
    base: String,
    user: String,
    password: String,
    digest: DigestState,
}

impl DigestClient {
    /// A client of the server at `base` (`http://host:port`) with an API key.
    pub async fn new(base: &str, public_key: &str, private_key: &str) -> Result<DigestClient, String> {
        let http = reqwest::Client::new();
        let base = base.trim_end_matches('/').to_string();
        let digest = challenge(&http, &base).await?;
        Ok(DigestClient { http, base, user: public_key.to_string(), password: private_key.to_string(), digest })
    }

    fn authorization(&mut self, method: &str, uri: &str) -> Result<String, String> {
        self.digest.respond(&PasswordParams { username: &self.user, password: &self.password, uri, method, body: None })
    }

    /// Sends an authenticated request; a stale nonce is renewed once.
    pub async fn send(
        &mut self,
        method: reqwest::Method,
        uri: &str,
        body: Option<&Json>,
    ) -> Result<(StatusCode, Json), String> {
        for _ in 0..2 {
            let auth = self.authorization(method.as_str(), uri)?;
            let mut rb = self
                .http
                .request(method.clone(), format!("{}{}", self.base, uri))
                .header("Authorization", auth)
                .header("Accept", "application/vnd.atlas.2024-05-30+json");
            if let Some(b) = body {
                rb = rb.header("Content-Type", "application/json").body(b.to_string());
            }
            let r = rb.send().await.map_err(|e| e.to_string())?;
            if r.status() == StatusCode::UNAUTHORIZED {
                self.digest = challenge(&self.http, &self.base).await?;
                continue;
            }
            let status = r.status();
            let body = r.json::<Json>().await.unwrap_or(Json::Null);
            return Ok((status, body));
        }
        Err("authentication kept failing".into())
    }
}

/// Asks for a fresh nonce (an unauthenticated request answers with challenges) and keeps the
/// MD5 one: every server version offers it.
async fn challenge(http: &reqwest::Client, base: &str) -> Result<DigestState, String> {
    let r = http.get(format!("{}/api/atlas/v2/groups", base)).send().await.map_err(|e| e.to_string())?;
    for value in r.headers().get_all("www-authenticate").iter().filter_map(|v| v.to_str().ok()) {
        for c in http_auth::parse_challenges(value).map_err(|e| e.to_string())? {
            if !c.scheme.eq_ignore_ascii_case("Digest") {
                continue;
            }
            let d = DigestState::try_from(&c)?;
            if d.algorithm() == http_auth::digest::Algorithm::Md5 {
                return Ok(d);
            }
        }
    }
    Err("no MD5 Digest challenge".into())
}
