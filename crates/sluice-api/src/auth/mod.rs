//! Who is calling: HTTP Digest with an API key, or a bearer token of a service account. Every
//! route goes through [`Authenticator::authenticate`]; nothing answers without it.

pub mod bearer;
pub mod digest;

use std::sync::Arc;

use axum::http::{header, HeaderMap};
use sluice_store::MetadataStore;
use sluice_types::Role;

use crate::error::ApiError;
use bearer::TokenBook;
use digest::{Algorithm, DigestFailure, DigestFields, NonceBook};

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
}

impl Authenticator {
    /// An authenticator over the store's keys and service accounts.
    pub fn new(store: Arc<dyn MetadataStore>) -> Authenticator {
        Authenticator { store, nonces: NonceBook::default(), tokens: TokenBook::default() }
    }

    fn challenge(&self, stale: bool) -> ApiError {
        let mut e = ApiError::unauthorized();
        for c in self.nonces.challenges(stale) {
            e.headers.push(("www-authenticate", c));
        }
        e
    }

    /// The caller of a request, or 401 with a Digest challenge.
    pub async fn authenticate(&self, headers: &HeaderMap, method: &str, uri: &str) -> Result<Principal, ApiError> {
        let Some(auth) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
            return Err(self.challenge(false));
        };
        if let Some(token) = strip_scheme(auth, "Bearer") {
            let g = self.tokens.check(token.trim()).ok_or_else(ApiError::unauthorized)?;
            return Ok(Principal { subject: g.client_id, project_id: g.project_id, roles: g.roles });
        }
        let Some(fields) = strip_scheme(auth, "Digest") else { return Err(self.challenge(false)) };
        let fields = DigestFields::parse(fields);
        let user = fields.get("username").unwrap_or_default().to_string();
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
            Err(DigestFailure::Invalid) => Err(self.challenge(false)),
        }
    }
}

fn strip_scheme<'a>(auth: &'a str, scheme: &str) -> Option<&'a str> {
    let (s, rest) = auth.split_once(' ')?;
    s.eq_ignore_ascii_case(scheme).then_some(rest)
}
