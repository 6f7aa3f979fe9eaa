//! An Atlas Admin API client signing with HTTP Digest (MD5, `qop=auth`): each client keeps its
//! nonce and counts it up, so a request is one round trip. Used by the client commands and by
//! `sluice bench api`.

use md5::{Digest as _, Md5};
use reqwest::StatusCode;
use serde_json::Value as Json;

fn md5_hex(s: &str) -> String {
    hex::encode(Md5::digest(s.as_bytes()))
}

/// One Digest client: its own nonce, counted up with each request.
pub struct DigestClient {
    http: reqwest::Client,
    base: String,
    user: String,
    password: String,
    realm: String,
    nonce: String,
    nc: u32,
}

fn field<'a>(challenge: &'a str, key: &str) -> Option<&'a str> {
    let start = challenge.find(&format!("{}=\"", key))? + key.len() + 2;
    challenge[start..].split('"').next()
}

impl DigestClient {
    /// A client of the server at `base` (`http://host:port`) with an API key.
    pub async fn new(base: &str, public_key: &str, private_key: &str) -> Result<DigestClient, String> {
        let mut c = DigestClient {
            http: reqwest::Client::new(),
            base: base.trim_end_matches('/').to_string(),
            user: public_key.to_string(),
            password: private_key.to_string(),
            realm: String::new(),
            nonce: String::new(),
            nc: 0,
        };
        c.challenge().await?;
        Ok(c)
    }

    /// Asks for a fresh nonce (an unauthenticated request answers with a challenge).
    async fn challenge(&mut self) -> Result<(), String> {
        let r = self.http.get(format!("{}/api/atlas/v2/groups", self.base)).send().await.map_err(|e| e.to_string())?;
        let c = r
            .headers()
            .get_all("www-authenticate")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.contains("algorithm=MD5"))
            .ok_or("no MD5 Digest challenge")?
            .to_string();
        self.realm = field(&c, "realm").ok_or("no realm")?.to_string();
        self.nonce = field(&c, "nonce").ok_or("no nonce")?.to_string();
        self.nc = 0;
        Ok(())
    }

    fn authorization(&mut self, method: &str, uri: &str) -> String {
        self.nc += 1;
        let nc = format!("{:08x}", self.nc);
        let ha1 = md5_hex(&format!("{}:{}:{}", self.user, self.realm, self.password));
        let ha2 = md5_hex(&format!("{}:{}", method, uri));
        let response = md5_hex(&format!("{}:{}:{}:sluice:auth:{}", ha1, self.nonce, nc, ha2));
        format!(
            r#"Digest username="{}", realm="{}", nonce="{}", uri="{}", algorithm=MD5, qop=auth, nc={}, cnonce="sluice", response="{}""#,
            self.user, self.realm, self.nonce, uri, nc, response
        )
    }

    /// Sends an authenticated request; a stale nonce is renewed once.
    pub async fn send(
        &mut self,
        method: reqwest::Method,
        uri: &str,
        body: Option<&Json>,
    ) -> Result<(StatusCode, Json), String> {
        for _ in 0..2 {
            let auth = self.authorization(method.as_str(), uri);
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
                self.challenge().await?;
                continue;
            }
            let status = r.status();
            let body = r.json::<Json>().await.unwrap_or(Json::Null);
            return Ok((status, body));
        }
        Err("authentication kept failing".into())
    }
}
