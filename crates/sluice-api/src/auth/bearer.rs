//! Service accounts: the OAuth 2 client-credentials grant issues bearer tokens that expire.
//! Tokens are kept (hashed) in memory only: after a restart clients ask for a new one, as they
//! do when one expires. Lookups are O(1); expired tokens leave in issue order (they all live
//! as long), and an account holds at most [`MAX_LIVE_TOKENS`] at once, the oldest revoked first.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use sluice_types::Role;

use crate::limits::MAX_LIVE_TOKENS;

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

/// A token's hash.
type TokenKey = [u8; 32];

#[derive(Default)]
struct Tokens {
    live: HashMap<TokenKey, (TokenGrant, Instant)>,
    /// Every live token in issue order, with its expiry: the front expires first.
    by_expiry: VecDeque<(Instant, TokenKey)>,
    /// Each account's live tokens in issue order.
    by_account: HashMap<String, VecDeque<TokenKey>>,
}

impl Tokens {
    fn revoke(&mut self, key: &TokenKey) {
        if let Some((grant, _)) = self.live.remove(key) {
            if let Some(q) = self.by_account.get_mut(&grant.client_id) {
                q.retain(|k| k != key);
                if q.is_empty() {
                    self.by_account.remove(&grant.client_id);
                }
            }
        }
    }

    fn expire(&mut self, now: Instant) {
        while let Some((exp, key)) = self.by_expiry.front().copied() {
            if exp > now {
                break;
            }
            self.by_expiry.pop_front();
            self.revoke(&key);
        }
    }
}

/// Issued tokens by their hash.
#[derive(Default)]
pub struct TokenBook {
    tokens: Mutex<Tokens>,
}

/// The salted hash a service account's secret is stored as.
pub fn secret_hash(salt: &str, secret: &str) -> String {
    hex::encode(Sha256::digest(format!("{}{}", salt, secret).as_bytes()))
}

fn token_key(token: &str) -> TokenKey {
    Sha256::digest(token.as_bytes()).into()
}

impl TokenBook {
    /// Issues a token for `grant`.
    pub fn issue(&self, grant: TokenGrant) -> String {
        let token = sluice_control::random_hex(32);
        let key = token_key(&token);
        if let Ok(mut t) = self.tokens.lock() {
            let now = Instant::now();
            t.expire(now);
            let account = t.by_account.entry(grant.client_id.clone()).or_default();
            account.push_back(key);
            // The account's queue is at most MAX_LIVE_TOKENS + 1 long, so this retain in
            // `revoke` stays small.
            let oldest = if account.len() > MAX_LIVE_TOKENS { account.front().copied() } else { None };
            let exp = now + TOKEN_LIFETIME;
            t.live.insert(key, (grant, exp));
            t.by_expiry.push_back((exp, key));
            if let Some(old) = oldest {
                t.revoke(&old);
            }
        }
        token
    }

    /// The grant of a live token.
    pub fn check(&self, token: &str) -> Option<TokenGrant> {
        let t = self.tokens.lock().ok()?;
        t.live.get(&token_key(token)).filter(|(_, exp)| *exp > Instant::now()).map(|(g, _)| g.clone())
    }

    /// How many tokens are live.
    pub fn live(&self) -> usize {
        self.tokens.lock().map(|t| t.live.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(id: &str) -> TokenGrant {
        TokenGrant { client_id: id.into(), project_id: "p".into(), roles: vec![Role::ProjectOwner] }
    }

    #[test]
    fn issued_tokens_check_and_others_do_not() {
        let b = TokenBook::default();
        let t = b.issue(grant("c"));
        assert_eq!(b.check(&t), Some(grant("c")));
        assert_eq!(b.check("nope"), None);
        assert_ne!(secret_hash("a", "s"), secret_hash("b", "s"));
    }

    #[test]
    fn an_account_keeps_at_most_its_cap_and_loses_the_oldest_first() {
        let b = TokenBook::default();
        let first = b.issue(grant("c"));
        let mut last = String::new();
        for _ in 0..MAX_LIVE_TOKENS {
            last = b.issue(grant("c"));
        }
        let other = b.issue(grant("d"));
        assert_eq!(b.check(&first), None, "the oldest was revoked");
        assert_eq!(b.check(&last), Some(grant("c")));
        assert_eq!(b.check(&other), Some(grant("d")));
        assert_eq!(b.live(), MAX_LIVE_TOKENS + 1);
    }

    #[test]
    fn expired_tokens_leave_the_book() {
        let b = TokenBook::default();
        let t = b.issue(grant("c"));
        b.tokens.lock().unwrap().expire(Instant::now() + TOKEN_LIFETIME + Duration::from_secs(1));
        assert_eq!(b.check(&t), None);
        assert_eq!(b.live(), 0);
        assert!(b.tokens.lock().unwrap().by_account.is_empty());
    }
}
