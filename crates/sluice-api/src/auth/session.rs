//! Browser sessions of the web console: an API key or a service account is exchanged once
//! (`POST /console/api/session`) for a random session token, kept by the browser in an
//! HttpOnly, SameSite=Strict cookie, so the browser never keeps the private key. Each session
//! also has a CSRF token that the console sends in a header on every write.
//!
//! Sessions live in memory only (hashed, as bearer tokens are): after a restart users sign in
//! again. A session ends after [`SESSION_IDLE`] without use or [`SESSION_MAX_AGE`] after sign-in,
//! whichever comes first; the table holds at most [`MAX_SESSIONS`], the oldest dropped first.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Instant;

use axum::http::{header, HeaderMap, Method};
use sha2::{Digest, Sha256};

use crate::auth::Principal;
use crate::limits::{MAX_SESSIONS, SESSION_IDLE, SESSION_MAX_AGE};

/// The session cookie's name.
pub const COOKIE: &str = "sluice_session";
/// The header that carries the CSRF token on writes.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// A token's hash: the table never holds a usable token.
type TokenKey = [u8; 32];

/// One signed-in browser.
#[derive(Debug, Clone)]
struct Session {
    principal: Principal,
    csrf: String,
    created: Instant,
    last_used: Instant,
}

impl Session {
    fn expired(&self, now: Instant) -> bool {
        now.duration_since(self.last_used) >= SESSION_IDLE || now.duration_since(self.created) >= SESSION_MAX_AGE
    }
}

#[derive(Default)]
struct Table {
    live: HashMap<TokenKey, Session>,
    /// Every session in creation order: the front is the oldest.
    order: VecDeque<TokenKey>,
}

impl Table {
    fn sweep(&mut self, now: Instant) {
        // Sessions past their maximum age leave from the front; idle ones are dropped when met.
        while let Some(k) = self.order.front().copied() {
            match self.live.get(&k) {
                Some(s) if !s.expired(now) && self.live.len() <= MAX_SESSIONS => break,
                _ => {
                    self.order.pop_front();
                    self.live.remove(&k);
                }
            }
        }
        // Keys of sessions closed behind a long-lived front one: compact now and then.
        if self.order.len() > 2 * MAX_SESSIONS {
            let live = &self.live;
            self.order.retain(|k| live.contains_key(k));
        }
    }
}

/// A new session: the token for the cookie and the CSRF token for the console.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSession {
    /// The cookie's value.
    pub token: String,
    /// What the console sends in [`CSRF_HEADER`] on writes.
    pub csrf: String,
}

/// Why a session did not authenticate a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionFailure {
    /// No such session, or it expired: sign in again.
    Unknown,
    /// A write without the session's CSRF token.
    Csrf,
}

/// The live sessions.
#[derive(Default)]
pub struct SessionBook {
    table: Mutex<Table>,
}

fn key(token: &str) -> TokenKey {
    Sha256::digest(token.as_bytes()).into()
}

/// Equal without telling, by its timing, how much of a guess was right.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether a request of `method` changes something (and so needs the CSRF token).
pub fn is_write(method: &str) -> bool {
    !(method == Method::GET || method == Method::HEAD || method == Method::OPTIONS)
}

/// The session cookie's value in a request, if it sends one.
pub fn cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

impl SessionBook {
    /// Opens a session for `principal`.
    pub fn open(&self, principal: Principal) -> NewSession {
        self.open_at(principal, Instant::now())
    }

    fn open_at(&self, principal: Principal, now: Instant) -> NewSession {
        let s = NewSession { token: sluice_control::random_hex(32), csrf: sluice_control::random_hex(32) };
        let k = key(&s.token);
        if let Ok(mut t) = self.table.lock() {
            t.live.insert(k, Session { principal, csrf: s.csrf.clone(), created: now, last_used: now });
            t.order.push_back(k);
            t.sweep(now);
        }
        s
    }

    /// The caller of a request carrying session `token`: the session must be live, and a write
    /// must carry the session's CSRF token. Use keeps an idle session alive.
    pub fn check(&self, token: &str, method: &str, csrf: Option<&str>) -> Result<(Principal, String), SessionFailure> {
        self.check_at(token, method, csrf, Instant::now())
    }

    fn check_at(
        &self,
        token: &str,
        method: &str,
        csrf: Option<&str>,
        now: Instant,
    ) -> Result<(Principal, String), SessionFailure> {
        let mut t = self.table.lock().map_err(|_| SessionFailure::Unknown)?;
        let k = key(token);
        let Some(s) = t.live.get_mut(&k) else { return Err(SessionFailure::Unknown) };
        if s.expired(now) {
            t.live.remove(&k);
            return Err(SessionFailure::Unknown);
        }
        if is_write(method) && !csrf.is_some_and(|c| constant_time_eq(c.as_bytes(), s.csrf.as_bytes())) {
            return Err(SessionFailure::Csrf);
        }
        s.last_used = now;
        Ok((s.principal.clone(), s.csrf.clone()))
    }

    /// Ends a session (sign-out).
    pub fn close(&self, token: &str) {
        if let Ok(mut t) = self.table.lock() {
            t.live.remove(&key(token));
        }
    }

    /// How many sessions are live.
    pub fn live(&self) -> usize {
        self.table.lock().map(|t| t.live.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_types::Role;
    use std::time::Duration;

    fn who(id: &str) -> Principal {
        Principal { subject: id.into(), project_id: "p".into(), roles: vec![Role::ProjectReadOnly] }
    }

    #[test]
    fn reads_need_the_session_and_writes_its_csrf_token_too() {
        let b = SessionBook::default();
        let s = b.open(who("k"));
        assert_eq!(b.check(&s.token, "GET", None).map(|x| x.0), Ok(who("k")));
        assert_eq!(b.check("nope", "GET", None).err(), Some(SessionFailure::Unknown));
        assert_eq!(b.check(&s.token, "POST", None).err(), Some(SessionFailure::Csrf));
        assert_eq!(b.check(&s.token, "DELETE", Some("wrong")).err(), Some(SessionFailure::Csrf));
        assert!(b.check(&s.token, "POST", Some(&s.csrf)).is_ok());
        b.close(&s.token);
        assert_eq!(b.check(&s.token, "GET", None).err(), Some(SessionFailure::Unknown));
    }

    #[test]
    fn sessions_expire_when_idle_and_at_their_maximum_age() {
        let b = SessionBook::default();
        let t0 = Instant::now();
        let s = b.open_at(who("k"), t0);
        assert!(b.check_at(&s.token, "GET", None, t0 + SESSION_IDLE / 2).is_ok());
        // Use moved the idle deadline on.
        assert!(b.check_at(&s.token, "GET", None, t0 + SESSION_IDLE).is_ok());
        let late = t0 + SESSION_IDLE * 2 + Duration::from_secs(1);
        assert_eq!(b.check_at(&s.token, "GET", None, late).err(), Some(SessionFailure::Unknown));
        assert_eq!(b.live(), 0);

        let s = b.open_at(who("k"), t0);
        let mut now = t0;
        while now < t0 + SESSION_MAX_AGE - SESSION_IDLE / 2 {
            now += SESSION_IDLE / 2;
            assert!(b.check_at(&s.token, "GET", None, now).is_ok());
        }
        now += SESSION_IDLE / 2;
        assert_eq!(b.check_at(&s.token, "GET", None, now).err(), Some(SessionFailure::Unknown));
    }

    #[test]
    fn the_table_is_bounded_and_drops_the_oldest() {
        let b = SessionBook::default();
        let t0 = Instant::now();
        let first = b.open_at(who("a"), t0);
        for _ in 0..MAX_SESSIONS {
            b.open_at(who("b"), t0);
        }
        assert_eq!(b.live(), MAX_SESSIONS);
        assert_eq!(b.check_at(&first.token, "GET", None, t0).err(), Some(SessionFailure::Unknown));
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, "a=1; sluice_session=abc ; b=2".parse().unwrap());
        assert_eq!(cookie(&h), Some("abc"));
        h.insert(header::COOKIE, "sluice_session=".parse().unwrap());
        assert_eq!(cookie(&h), None);
        assert!(constant_time_eq(b"ab", b"ab") && !constant_time_eq(b"ab", b"ac") && !constant_time_eq(b"a", b"ab"));
    }
}
