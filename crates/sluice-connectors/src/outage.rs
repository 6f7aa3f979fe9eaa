//! A connector's view of an external system it cannot reach: when the trouble began, how long it
//! may last before the processor fails, and the run's health board it is reported on.

use std::time::{Duration, Instant};

use sluice_engine::Health;

/// The wall clock in milliseconds since the epoch.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// One connection's outage, if any.
#[derive(Debug)]
pub(crate) struct Outage {
    connection: String,
    since: Option<Instant>,
    limit: Duration,
    health: Health,
}

impl Outage {
    /// No outage yet on `connection`; one lasting `limit` fails the processor unless the run's
    /// health board says otherwise.
    pub fn new(connection: &str, limit: Duration) -> Outage {
        Outage { connection: connection.to_string(), since: None, limit, health: Health::default() }
    }

    /// Reports on `health` from now on, and takes its retry limit when it sets one.
    pub fn attach(&mut self, health: &Health) {
        self.health = health.clone();
        if let Some(limit) = health.retry_for() {
            self.limit = limit;
        }
    }

    /// Sets the limit (tests shorten it).
    pub fn set_limit(&mut self, limit: Duration) {
        self.limit = limit;
    }

    /// An attempt failed with `message`: the outage begins or goes on.
    pub fn failed(&mut self, message: &str) {
        self.since.get_or_insert_with(Instant::now);
        self.health.failing(&self.connection, message, now_ms());
    }

    /// The system answered: the outage, if any, is over.
    pub fn ok(&mut self) {
        if self.since.take().is_some() {
            self.health.recovered(&self.connection, now_ms());
        }
    }

    /// Whether an outage is going on.
    pub fn ongoing(&self) -> bool {
        self.since.is_some()
    }

    /// How long the outage has lasted, if one is going on.
    pub fn elapsed(&self) -> Option<Duration> {
        self.since.map(|s| s.elapsed())
    }

    /// Whether the outage has lasted past its limit, or the run is stopping (no use waiting).
    pub fn exhausted(&self) -> bool {
        self.health.stopping() || self.since.is_some_and(|s| s.elapsed() >= self.limit)
    }
}
