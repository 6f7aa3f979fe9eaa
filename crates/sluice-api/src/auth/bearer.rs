//! Service accounts: the OAuth 2 client-credentials grant issues bearer tokens that expire.
//! Tokens are kept (hashed) in memory only: after a restart clients ask for a new one, as they
//! do when one expires.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use sluice_types::Role;

/// How long a token lives (Atlas: one hour).
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

/// Who a token speaks for.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenGrant {
    /// The service account.
    pub client_id: String,
    /// Its project.
    pub project_id: String,
    /// Its roles.
    pub roles: Vec<Role>,
}

/// Issued tokens by their hash.
#[derive(Default)]
pub struct TokenBook {
    tokens: Mutex<HashMap<String, (TokenGrant, Instant)>>,
}

/// The salted hash a service account's secret is stored as.
pub fn secret_hash(salt: &str, secret: &str) -> String {
    hex::encode(Sha256::digest(format!("{}{}", salt, secret).as_bytes()))
}

fn token_key(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

impl TokenBook {
    /// Issues a token for `grant`.
    pub fn issue(&self, grant: TokenGrant) -> String {
        let token = sluice_control::random_hex(32);
        if let Ok(mut m) = self.tokens.lock() {
            m.retain(|_, (_, exp)| *exp > Instant::now());
            m.insert(token_key(&token), (grant, Instant::now() + TOKEN_LIFETIME));
        }
        token
    }

    /// The grant of a live token.
    pub fn check(&self, token: &str) -> Option<TokenGrant> {
        let m = self.tokens.lock().ok()?;
        m.get(&token_key(token)).filter(|(_, exp)| *exp > Instant::now()).map(|(g, _)| g.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_tokens_check_and_others_do_not() {
        let b = TokenBook::default();
        let g = TokenGrant { client_id: "c".into(), project_id: "p".into(), roles: vec![Role::ProjectOwner] };
        let t = b.issue(g.clone());
        assert_eq!(b.check(&t), Some(g));
        assert_eq!(b.check("nope"), None);
        assert_ne!(secret_hash("a", "s"), secret_hash("b", "s"));
    }
}
