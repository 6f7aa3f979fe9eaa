//! One metadata client per Kafka cluster and set of client settings, shared by every source of
//! the process that reads from it. Opening a source asks it for the topics' partitions instead of
//! making a client (its threads, connections and login) of its own, so that many processors of a
//! connection start, or resume after a restart, at the cost of one client and one request each.
//! A client lives while a source holds it.
//!
//! A broker answers one connection's requests one at a time, so sources opening together ask for
//! a topic's partitions once: the first asks, the others wait for its answer and take it.

use std::collections::HashMap;
use std::ops::Deref;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::BaseConsumer;

use super::client_errors::ErrorsContext;

/// A client for metadata and watermarks (it joins no group and is never assigned).
pub(crate) type MetadataClient = BaseConsumer<ErrorsContext>;

/// How long a topic's partitions, or the failure to learn them, are taken as they were asked.
const FRESH: Duration = Duration::from_secs(1);
/// A failure that took this long (brokers that do not answer) is shared with those waiting; a
/// quick one (a topic that does not exist yet) is not, so each asks again.
const SLOW: Duration = Duration::from_millis(500);

/// What was last learnt of a topic's partitions, and when.
type Learnt = Option<(Instant, Result<Vec<i32>, String>)>;

/// A shared metadata client, with the topics' partitions its sources opened with.
pub(crate) struct SharedClient {
    client: MetadataClient,
    partitions: Mutex<HashMap<String, Arc<Mutex<Learnt>>>>,
}

impl Deref for SharedClient {
    type Target = MetadataClient;

    fn deref(&self) -> &MetadataClient {
        &self.client
    }
}

/// `m` locked; a panic while it was held left its value whole (each is replaced at once).
fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl SharedClient {
    /// The partitions of `topic`: asked with `ask` unless they were learnt within the last
    /// second (or brokers failed to answer then). One source asks at a time; those waiting take
    /// its answer.
    pub(crate) fn partitions(
        &self,
        topic: &str,
        ask: impl FnOnce(&MetadataClient) -> Result<Vec<i32>, String>,
    ) -> Result<Vec<i32>, String> {
        let slot = locked(&self.partitions).entry(topic.to_string()).or_default().clone();
        let mut learnt = locked(&slot);
        if let Some((at, answer)) = &*learnt {
            if at.elapsed() < FRESH {
                return answer.clone();
            }
        }
        let asked = Instant::now();
        let answer = ask(&self.client);
        *learnt = (answer.is_ok() || asked.elapsed() >= SLOW).then(|| (Instant::now(), answer.clone()));
        answer
    }
}

/// The live shared clients, by their settings.
fn clients() -> &'static Mutex<HashMap<String, Weak<SharedClient>>> {
    static CLIENTS: OnceLock<Mutex<HashMap<String, Weak<SharedClient>>>> = OnceLock::new();
    CLIENTS.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The settings as one key: every property but `skip`, in name order. It stays in memory only.
pub(crate) fn settings_key(config: &ClientConfig, skip: &[&str]) -> String {
    let mut pairs: Vec<(&String, &String)> =
        config.config_map().iter().filter(|(k, _)| !skip.contains(&k.as_str())).collect();
    pairs.sort();
    let mut key = String::new();
    for (k, v) in pairs {
        key.push_str(k);
        key.push('\u{1}');
        key.push_str(v);
        key.push('\u{2}');
    }
    key
}

/// The shared client of `config` (a connection's settings, without any group), made when no
/// source holds one.
pub(crate) fn shared_client(config: &ClientConfig) -> Result<Arc<SharedClient>, String> {
    let key = settings_key(config, &[]);
    let mut live = locked(clients());
    if let Some(client) = live.get(&key).and_then(Weak::upgrade) {
        return Ok(client);
    }
    // It connects to the brokers it learns at once, not one by one when first needed: every
    // opening source waits on its first answers, and librdkafka's sparse connections wait
    // ~11 ms after retiring the bootstrap connection before making the next (a first request
    // answered in 6-10 ms rather than 6-17 ms on the test broker). One client per cluster.
    let mut config = config.clone();
    config.set("enable.sparse.connections", "false");
    let client = Arc::new(SharedClient {
        client: config
            .create_with_context(ErrorsContext::default())
            .map_err(|e| format!("cannot create a Kafka client: {}", e))?,
        partitions: Mutex::new(HashMap::new()),
    });
    live.retain(|_, w| w.strong_count() > 0);
    live.insert(key, Arc::downgrade(&client));
    Ok(client)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(servers: &str) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", servers).set("log_level", "0");
        c
    }

    #[test]
    fn one_client_per_settings_while_held() {
        let a = shared_client(&config("127.0.0.1:1")).unwrap();
        let b = shared_client(&config("127.0.0.1:1")).unwrap();
        assert!(Arc::ptr_eq(&a, &b), "same settings, same client");
        let other = shared_client(&config("127.0.0.1:2")).unwrap();
        assert!(!Arc::ptr_eq(&a, &other), "other settings, another client");
        let weak = Arc::downgrade(&a);
        drop((a, b));
        assert!(weak.upgrade().is_none(), "closed when no source holds it");
        let again = shared_client(&config("127.0.0.1:1")).unwrap();
        assert!(!Arc::ptr_eq(&again, &other));
    }

    #[test]
    fn a_topic_is_asked_once_while_its_answer_is_fresh() {
        let c = shared_client(&config("127.0.0.1:3")).unwrap();
        let asked = std::sync::atomic::AtomicUsize::new(0);
        let ask = |_: &MetadataClient| {
            asked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(vec![0, 1])
        };
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| assert_eq!(c.partitions("t", ask), Ok(vec![0, 1])));
            }
        });
        assert_eq!(asked.load(std::sync::atomic::Ordering::SeqCst), 1, "eight opens, one request");
        assert_eq!(c.partitions("u", |_| Err("no such topic".to_string())), Err("no such topic".to_string()));
        assert_eq!(c.partitions("u", |_| Ok(vec![0])), Ok(vec![0]), "a quick failure is asked again");
        let unanswered = |_: &MetadataClient| {
            std::thread::sleep(SLOW);
            Err("unanswered".to_string())
        };
        assert_eq!(c.partitions("v", unanswered), Err("unanswered".to_string()));
        assert_eq!(c.partitions("v", |_| Ok(vec![0])), Err("unanswered".to_string()), "a slow failure is shared");
    }
}
