//! One metadata client per Kafka cluster and set of client settings, shared by every source of
//! the process that reads from it. Opening a source asks it for the topics' partitions instead of
//! making a client (its threads, connections and login) of its own, so that many processors of a
//! connection start, or resume after a restart, at the cost of one client and one request each.
//! A client lives while a source holds it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::BaseConsumer;

use super::client_errors::ErrorsContext;

/// A client for metadata and watermarks (it joins no group and is never assigned).
pub(crate) type MetadataClient = BaseConsumer<ErrorsContext>;

/// The live shared clients, by their settings.
fn clients() -> &'static Mutex<HashMap<String, Weak<MetadataClient>>> {
    static CLIENTS: OnceLock<Mutex<HashMap<String, Weak<MetadataClient>>>> = OnceLock::new();
    CLIENTS.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The settings as one key: every property, in name order. It stays in memory only.
fn key_of(config: &ClientConfig) -> String {
    let mut pairs: Vec<(&String, &String)> = config.config_map().iter().collect();
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
pub(crate) fn shared_client(config: &ClientConfig) -> Result<Arc<MetadataClient>, String> {
    let key = key_of(config);
    let mut live = match clients().lock() {
        Ok(m) => m,
        // A panic while holding the lock left the map whole: each entry is inserted at once.
        Err(poisoned) => poisoned.into_inner(),
    };
    if let Some(client) = live.get(&key).and_then(Weak::upgrade) {
        return Ok(client);
    }
    let client: Arc<MetadataClient> = Arc::new(
        config
            .create_with_context(ErrorsContext::default())
            .map_err(|e| format!("cannot create a Kafka client: {}", e))?,
    );
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
}
