//! Who is calling: HTTP Digest with an API key, a bearer token of a service account, or the
//! web console's session cookie (which one of those two was exchanged for). Every route goes
//! through [`Authenticator::authenticate`]; nothing answers without it.

pub mod bearer;
pub mod digest;
pub mod session;

use std::net::IpAddr;
use std::sync::Arc;

use axum::http::{header, HeaderMap};
use sluice_store::MetadataStore;
use sluice_types::Role;

use crate::error::ApiError;
use crate::limits::{FAILED_LOGINS_PER_SECOND, FAILED_LOGIN_BURST, TOKENS_PER_SECOND, TOKEN_ISSUE_BURST};
use crate::rate_limit::RateLimiter;
use bearer::{secret_hash, TokenBook};
use digest::{Algorithm, DigestFailure, DigestFields, NonceBook};
use session::{SessionBook, SessionFailure};

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    /// The API key's public key or the service account's client id.
    pub subject: String,
    /// The project its roles are in.
    pub project_id: String,
    /// Its roles there.
    pub roles: Vec<Role>,
}

/// Checks credentials.
pub struct Authenticator {
    store: Arc<dyn MetadataStore>,
    /// Digest nonces.
    pub nonces: NonceBook,
    /// Bearer tokens.
    pub tokens: TokenBook,
    /// Console sessions.
    pub sessions: SessionBook,
    /// Failed logins by client address and by user name.
    failures: RateLimiter,
    /// Bearer tokens issued by service account and by client address.
    pub token_issue: RateLimiter,
}

impl Authenticator {
    /// An authenticator over the store's keys and service accounts.
    pub fn new(store: Arc<dyn MetadataStore>) -> Authenticator {
        Authenticator {
            store,
            nonces: NonceBook::default(),
            tokens: TokenBook::default(),
            sessions: SessionBook::default(),
            failures: RateLimiter::with_burst(FAILED_LOGINS_PER_SECOND, FAILED_LOGIN_BURST),
            token_issue: RateLimiter::with_burst(TOKENS_PER_SECOND, TOKEN_ISSUE_BURST),
        }
    }

    /// Refuses with 429 a caller whose address or user name failed too often lately.
    pub fn check_failures(&self, peer: Option<IpAddr>, user: Option<&str>) -> Result<(), ApiError> {
        if let Some(ip) = peer {
            self.failures.allows(&format!("ip:{}", ip))?;
        }
        if let Some(u) = user {
            self.failures.allows(&format!("user:{}", u))?;
        }
        Ok(())
    }

    /// Counts a failed login against the address and the user name.
    pub fn record_failure(&self, peer: Option<IpAddr>, user: Option<&str>) {
        if let Some(ip) = peer {
            let _ = self.failures.admit(&format!("ip:{}", ip));
        }
        if let Some(u) = user {
            let _ = self.failures.admit(&format!("user:{}", u));
        }
    }

    fn challenge(&self, stale: bool) -> ApiError {
        let mut e = ApiError::unauthorized();
        for c in self.nonces.challenges(stale) {
            e.headers.push(("www-authenticate", c));
        }
        e
    }

    /// The caller of a request from `peer`, or 401 with a Digest challenge (429 once the
    /// address or the user name has failed too often).
    pub async fn authenticate(
        &self,
        headers: &HeaderMap,
        method: &str,
        uri: &str,
        peer: Option<IpAddr>,
    ) -> Result<Principal, ApiError> {
        let Some(auth) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
            return match session::cookie(headers) {
                Some(token) => self.session_caller(token, headers, method),
                None => Err(self.challenge(false)),
            };
        };
        if let Some(token) = strip_scheme(auth, "Bearer") {
            self.check_failures(peer, None)?;
            let Some(g) = self.tokens.check(token.trim()) else {
                self.record_failure(peer, None);
                return Err(ApiError::unauthorized());
            };
            return Ok(Principal { subject: g.client_id, project_id: g.project_id, roles: g.roles });
        }
        let Some(fields) = strip_scheme(auth, "Digest") else { return Err(self.challenge(false)) };
        let fields = DigestFields::parse(fields);
        let user = fields.get("username").unwrap_or_default().to_string();
        self.check_failures(peer, Some(&user))?;
        let key = self.store.api_key(&user).await.ok();
        let stored = |_: &str, alg: Algorithm| {
            key.as_ref().map(|k| if alg == Algorithm::Md5 { k.ha1_md5.clone() } else { k.ha1_sha256.clone() })
        };
        match self.nonces.verify(&fields, method, uri, stored) {
            Ok(_) => match key {
                Some(k) => Ok(Principal { subject: k.public_key, project_id: k.project_id, roles: k.roles }),
                None => Err(self.challenge(false)),
            },
            Err(DigestFailure::Stale) => Err(self.challenge(true)),
            Err(DigestFailure::Invalid) => {
                self.record_failure(peer, Some(&user));
                Err(self.challenge(false))
            }
        }
    }
}

impl Authenticator {
    /// The caller of a console request. No Digest challenge when the session is gone: the
    /// browser would show its own password prompt, and the console signs in again instead.
    fn session_caller(&self, token: &str, headers: &HeaderMap, method: &str) -> Result<Principal, ApiError> {
        let csrf = headers.get(session::CSRF_HEADER).and_then(|v| v.to_str().ok());
        match self.sessions.check(token, method, csrf) {
            Ok((p, _)) => Ok(p),
            Err(SessionFailure::Unknown) => Err(ApiError::unauthorized()),
            Err(SessionFailure::Csrf) => Err(ApiError::csrf_refused()),
        }
    }

    /// The holder of an API key, checked as Digest would check it (against the stored HA1, so
    /// the private key itself is never stored); `None` when the key or the secret is wrong.
    pub async fn verify_api_key(&self, public_key: &str, private_key: &str) -> Option<Principal> {
        let k = self.store.api_key(public_key).await.ok()?;
        let ha1 = digest::ha1(Algorithm::Sha256, public_key, private_key);
        session::constant_time_eq(ha1.as_bytes(), k.ha1_sha256.as_bytes()).then_some(Principal {
            subject: k.public_key,
            project_id: k.project_id,
            roles: k.roles,
        })
    }

    /// The service account of a client id and secret; `None` when either is wrong.
    pub async fn verify_service_account(&self, client_id: &str, secret: &str) -> Option<Principal> {
        let a = self.store.service_account(client_id).await.ok()?;
        let hash = secret_hash(&a.secret_salt, secret);
        session::constant_time_eq(hash.as_bytes(), a.secret_hash.as_bytes()).then_some(Principal {
            subject: a.client_id,
            project_id: a.project_id,
            roles: a.roles,
        })
    }
}

fn strip_scheme<'a>(auth: &'a str, scheme: &str) -> Option<&'a str> {
    let (s, rest) = auth.split_once(' ')?;
    s.eq_ignore_ascii_case(scheme).then_some(rest)
}
