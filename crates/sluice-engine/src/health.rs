//! A run's health: what its connectors report while an external system (a broker, a database, an
//! HTTP service) fails them. Connectors retry such failures in place, so that the output stays
//! exactly what it would have been; while they do, the processor stays STARTED and its stats and
//! operational log show the trouble. Shared between the run's thread, its connectors' own threads
//! and the readers of its stats, and read without waiting on any of them.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a run retries an external system that keeps failing before it fails, by default.
pub const DEFAULT_RETRY_FOR: Duration = Duration::from_secs(300);

/// An external system failing a connector, as last reported.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Trouble {
    /// The connection (or stage) that fails.
    pub connection: String,
    /// What the last attempt gave.
    pub message: String,
    /// When the trouble began, milliseconds since the epoch.
    pub since_ms: i64,
    /// Attempts that failed since it began.
    pub attempts: u64,
}

/// A change of a run's health, for its operational log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthEvent {
    /// A connection started failing.
    Failing(Trouble),
    /// A connection works again after failing for `after_ms`.
    Recovered {
        /// The connection.
        connection: String,
        /// How long it failed.
        after_ms: i64,
        /// Attempts that failed meanwhile.
        attempts: u64,
    },
}

/// Where a run's health changes are sent (its processor's actor).
pub type HealthEvents = tokio::sync::mpsc::UnboundedSender<HealthEvent>;

#[derive(Debug)]
struct Inner {
    /// One entry per failing connection, oldest first.
    troubles: Mutex<Vec<Trouble>>,
    retries: AtomicU64,
    stopping: AtomicBool,
    retry_for: Option<Duration>,
    events: Option<HealthEvents>,
}

/// A run's health board; clones share it.
#[derive(Debug, Clone)]
pub struct Health(Arc<Inner>);

impl Default for Health {
    /// A board nobody reads, leaving each connector its own retry limit.
    fn default() -> Health {
        Health(Arc::new(Inner {
            troubles: Mutex::new(Vec::new()),
            retries: AtomicU64::new(0),
            stopping: AtomicBool::new(false),
            retry_for: None,
            events: None,
        }))
    }
}

impl Health {
    /// A board whose connectors retry for `retry_for` before failing; changes go to `events`.
    pub fn new(retry_for: Duration, events: Option<HealthEvents>) -> Health {
        Health(Arc::new(Inner {
            troubles: Mutex::new(Vec::new()),
            retries: AtomicU64::new(0),
            stopping: AtomicBool::new(false),
            retry_for: Some(retry_for),
            events,
        }))
    }

    /// How long an external system may keep failing before the run fails; `None`: as long as
    /// each connector's own default.
    pub fn retry_for(&self) -> Option<Duration> {
        self.0.retry_for
    }

    /// An attempt on `connection` failed with `message` at `now_ms`; it will be retried.
    pub fn failing(&self, connection: &str, message: &str, now_ms: i64) {
        self.0.retries.fetch_add(1, Ordering::Relaxed);
        let Ok(mut all) = self.0.troubles.lock() else { return };
        match all.iter_mut().find(|t| t.connection == connection) {
            Some(t) => {
                t.attempts += 1;
                t.message = message.to_string();
            }
            None => {
                let fresh = Trouble {
                    connection: connection.to_string(),
                    message: message.to_string(),
                    since_ms: now_ms,
                    attempts: 1,
                };
                self.send(HealthEvent::Failing(fresh.clone()));
                all.push(fresh);
            }
        }
    }

    /// `connection` works again (a no-op when it was not failing).
    pub fn recovered(&self, connection: &str, now_ms: i64) {
        let Ok(mut all) = self.0.troubles.lock() else { return };
        if let Some(i) = all.iter().position(|t| t.connection == connection) {
            let old = all.remove(i);
            self.send(HealthEvent::Recovered {
                connection: old.connection,
                after_ms: now_ms - old.since_ms,
                attempts: old.attempts,
            });
        }
    }

    /// The connections failing now, the longest failing first.
    pub fn troubles(&self) -> Vec<Trouble> {
        self.0.troubles.lock().map(|t| t.clone()).unwrap_or_default()
    }

    /// Failed attempts in this run, all connections together.
    pub fn retries(&self) -> u64 {
        self.0.retries.load(Ordering::Relaxed)
    }

    /// The run is asked to stop: connectors waiting to retry give up at once.
    pub fn stop(&self) {
        self.0.stopping.store(true, Ordering::Relaxed);
    }

    /// Whether the run is asked to stop.
    pub fn stopping(&self) -> bool {
        self.0.stopping.load(Ordering::Relaxed)
    }

    /// Waits `pause` before the next attempt, in short steps so that a stop ends the wait;
    /// `false` when the run is stopping.
    pub fn wait_to_retry(&self, pause: Duration) -> bool {
        let step = Duration::from_millis(50);
        let mut left = pause;
        while !left.is_zero() {
            if self.stopping() {
                return false;
            }
            let now = left.min(step);
            std::thread::sleep(now);
            left -= now;
        }
        !self.stopping()
    }

    fn send(&self, e: HealthEvent) {
        if let Some(tx) = &self.0.events {
            // The actor may be gone at shutdown; nothing is left to tell then.
            let _ = tx.send(e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trouble_begins_once_counts_attempts_and_ends_with_its_length() {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let h = Health::new(Duration::from_secs(1), Some(tx));
        h.failing("mongo", "no server", 1_000);
        h.failing("mongo", "still no server", 1_500);
        let t = h.troubles().remove(0);
        assert_eq!((t.attempts, t.since_ms, t.message.as_str()), (2, 1_000, "still no server"));
        h.recovered("kafka", 1_800); // not failing: no change
        assert_eq!(h.troubles().len(), 1);
        h.recovered("mongo", 2_000);
        assert_eq!(h.troubles(), vec![]);
        assert_eq!(h.retries(), 2);
        let first = rx.try_recv().unwrap();
        assert!(matches!(first, HealthEvent::Failing(ref t) if t.connection == "mongo" && t.attempts == 1));
        assert_eq!(
            rx.try_recv().unwrap(),
            HealthEvent::Recovered { connection: "mongo".into(), after_ms: 1_000, attempts: 2 }
        );
        assert!(rx.try_recv().is_err(), "one event per change");
    }

    #[test]
    fn two_connections_fail_side_by_side() {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let h = Health::new(Duration::from_secs(1), Some(tx));
        for _ in 0..3 {
            h.failing("kafka", "down", 1_000);
            h.failing("mongo", "down", 1_100);
        }
        let names: Vec<String> = h.troubles().into_iter().map(|t| t.connection).collect();
        assert_eq!(names, ["kafka", "mongo"]);
        let mut events = 0;
        while rx.try_recv().is_ok() {
            events += 1;
        }
        assert_eq!(events, 2, "each connection's trouble begins once, however they alternate");
    }

    #[test]
    fn a_stop_ends_the_wait_before_a_retry() {
        let h = Health::default();
        let other = h.clone();
        let t = std::thread::spawn(move || other.wait_to_retry(Duration::from_secs(30)));
        std::thread::sleep(Duration::from_millis(100));
        h.stop();
        assert!(!t.join().unwrap(), "the wait gives up when the run stops");
    }
}
