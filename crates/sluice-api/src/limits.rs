//! The HTTP server's limits, each a named setting with its default (`docs/limits.md` lists them
//! all, with the flag that changes each).

use std::time::Duration;

/// The largest request body read, in bytes (a pipeline definition is far smaller).
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// The longest request target (path and query), in bytes.
pub const MAX_URI_BYTES: usize = 16 * 1024;

/// Requests without credentials (answered 401 with a Digest challenge) handled at once; the
/// rest wait their turn without using the CPU, so that a flood of them leaves signed-in
/// callers served.
pub const ANONYMOUS_IN_FLIGHT: usize = 4;

/// Limits on the HTTP connections of one server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Connections served at once; one more is answered 503 and closed.
    pub max_connections: usize,
    /// Time a client has to send a request's headers, counted from when the server waits for
    /// them (so also how long an idle keep-alive connection stays open); past it the
    /// connection is closed, with 408 if part of a request had arrived.
    pub header_read_timeout: Duration,
    /// Time a connection may pass without a byte either way (a request body that stops
    /// arriving) before it is closed once its answer, if any, is sent.
    pub idle_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max_connections: 1024,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
        }
    }
}

/// Failed logins (a wrong Digest response, an unknown key, a wrong client secret) allowed per
/// client address and per user name: a burst of this many, then one a second; past it, 429.
pub const FAILED_LOGIN_BURST: f64 = 20.0;
/// The refill rate of [`FAILED_LOGIN_BURST`], per second.
pub const FAILED_LOGINS_PER_SECOND: f64 = 1.0;

/// Bearer tokens issued per service account and per client address: a burst of this many, then
/// [`TOKENS_PER_SECOND`]; past it, 429.
pub const TOKEN_ISSUE_BURST: f64 = 20.0;
/// The refill rate of [`TOKEN_ISSUE_BURST`], per second.
pub const TOKENS_PER_SECOND: f64 = 2.0;

/// Live bearer tokens per service account; a new one past it revokes the oldest.
pub const MAX_LIVE_TOKENS: usize = 100;

/// A console session ends after this long without a request.
pub const SESSION_IDLE: Duration = Duration::from_secs(30 * 60);
/// A console session ends this long after sign-in, however much it is used.
pub const SESSION_MAX_AGE: Duration = Duration::from_secs(8 * 3600);
/// Live console sessions kept at once; a sign-in past it ends the oldest.
pub const MAX_SESSIONS: usize = 10_000;
