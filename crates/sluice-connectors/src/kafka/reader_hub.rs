//! Readers shared by the Kafka sources of one process that read the same partitions from the
//! same offsets: a hub's consumers fetch and decode each message once and hand every batch to
//! each source subscribed to it. Many processors reading one topic (several pipelines over one
//! stream, all caught up) then cost the brokers and this process one set of consumers instead
//! of one per processor, and a server start resuming them connects once.
//!
//! A source joins a hub only when the hub's next offset of every partition is the source's
//! start, so each source still sees exactly the messages after its own position, in order. A
//! hub never lets one source hold the others back: while several are subscribed, one whose
//! batches have waited [`DETACH_AFTER`] for room (a slow or paused processor) is detached; it
//! reads what it was handed, then starts readers of its own at its next offsets. A hub with one
//! source waits for it as a reader of its own would.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{bounded, Receiver, SendTimeoutError, Sender};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::BaseConsumer;

use super::readers::Read;
use super::record::Decoding;
use super::shared_client::settings_key;

/// How long a hub with several sources waits for room in one source's queue before detaching it.
const DETACH_AFTER: Duration = Duration::from_millis(100);
/// Batches a source may have waiting, per reader, before the hub waits for it.
const QUEUED_BATCHES: usize = 4;

/// A source's place at a hub: its queue of batches and whether the hub let it go.
pub(crate) struct Subscription {
    /// Dropped before the hub, so a reader waiting to hand this source a batch stops waiting.
    pub rx: Receiver<Vec<Read>>,
    pub hub: Arc<Hub>,
    /// Set when the hub dropped this source for falling behind the others.
    pub detached: Arc<AtomicBool>,
    id: u64,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        locked(&self.hub.shared.state).subscribers.retain(|s| s.id != self.id);
    }
}

struct Subscriber {
    id: u64,
    tx: Sender<Vec<Read>>,
    detached: Arc<AtomicBool>,
}

/// A hub's subscribers and how far it has handed each partition out.
struct HubState {
    subscribers: Vec<Subscriber>,
    /// Per partition (by watermark index): the offset after the last message handed out.
    next: Vec<Option<i64>>,
}

/// What a hub's reader threads and its subscribers share.
pub(crate) struct Shared {
    state: Mutex<HubState>,
}

/// Consumers reading a set of partitions, and the threads that feed their subscribers.
pub(crate) struct Hub {
    pub consumers: Vec<Arc<BaseConsumer>>,
    /// Watermark index → the consumer that reads it.
    pub reader_of: Vec<usize>,
    /// What its reader threads hand batches through.
    pub shared: Arc<Shared>,
    /// Tells its reader threads to end.
    pub stop: Arc<AtomicBool>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Drop for Hub {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in locked(&self.threads).drain(..) {
            let _ = t.join();
        }
    }
}

/// `m` locked; a panic while it was held left its value whole (each change is made at once).
fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The hubs that sources may join, by what they read and how.
fn hubs() -> &'static Mutex<HashMap<String, Vec<Weak<Hub>>>> {
    static HUBS: OnceLock<Mutex<HashMap<String, Vec<Weak<Hub>>>>> = OnceLock::new();
    HUBS.get_or_init(|| Mutex::new(HashMap::new()))
}

fn next_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// What a hub reads and how, as one key: the client settings but the group (readers only
/// fetch; they never join or commit), the decoding, the number of readers and the partitions
/// in watermark order. It stays in memory only.
pub(crate) fn key_of(config: &ClientConfig, decoding: Decoding, readers: usize, parts: &[(String, i32)]) -> String {
    let mut key = format!("{:?}\u{1}{}\u{2}{}", decoding, readers, settings_key(config, &["group.id"]));
    for (t, p) in parts {
        key.push_str(t);
        key.push('\u{1}');
        key.push_str(&p.to_string());
        key.push('\u{2}');
    }
    key
}

impl Hub {
    /// A new hub over `consumers`, its first source subscribed; registered under `key` for
    /// others to join when every start offset is known.
    pub(crate) fn new(
        key: Option<String>,
        consumers: Vec<Arc<BaseConsumer>>,
        reader_of: Vec<usize>,
        starts: Vec<Option<i64>>,
    ) -> (Arc<Hub>, Subscription) {
        let shared = Arc::new(Shared { state: Mutex::new(HubState { subscribers: Vec::new(), next: starts }) });
        let hub = Arc::new(Hub {
            consumers,
            reader_of,
            shared: shared.clone(),
            stop: Arc::new(AtomicBool::new(false)),
            threads: Mutex::new(Vec::new()),
        });
        let first = subscribe(&hub, &mut locked(&shared.state));
        if let Some(key) = key {
            let mut all = locked(hubs());
            all.retain(|_, v| {
                v.retain(|w| w.strong_count() > 0);
                !v.is_empty()
            });
            all.entry(key).or_default().push(Arc::downgrade(&hub));
        }
        (hub, first)
    }

    /// Keeps the hub's reader threads, for its end to stop and join them.
    pub(crate) fn keep_threads(&self, threads: Vec<JoinHandle<()>>) {
        locked(&self.threads).extend(threads);
    }

    /// A place at a hub registered under `key` whose next offsets are `starts`, if one runs.
    pub(crate) fn join(key: &str, starts: &[Option<i64>]) -> Option<Subscription> {
        let live: Vec<Arc<Hub>> =
            locked(hubs()).get(key).map(|v| v.iter().filter_map(Weak::upgrade).collect()).unwrap_or_default();
        live.into_iter().find_map(|hub| {
            let mut state = locked(&hub.shared.state);
            if state.next != starts || state.subscribers.is_empty() {
                return None;
            }
            let sub = subscribe(&hub, &mut state);
            drop(state);
            Some(sub)
        })
    }
}

fn subscribe(hub: &Arc<Hub>, state: &mut HubState) -> Subscription {
    let (tx, rx) = bounded(QUEUED_BATCHES * hub.consumers.len().max(1));
    let detached = Arc::new(AtomicBool::new(false));
    let id = next_id();
    state.subscribers.push(Subscriber { id, tx, detached: detached.clone() });
    Subscription { rx, hub: hub.clone(), detached, id }
}

impl Shared {
    /// Hands `batch` to every subscriber. Returns false when none is left.
    pub(crate) fn deliver(&self, batch: Vec<Read>, stop: &AtomicBool) -> bool {
        let targets: Vec<(u64, Sender<Vec<Read>>)> = {
            let mut state = locked(&self.state);
            for read in &batch {
                if let Read::Record { part, offset, .. } = read {
                    if let Some(n) = state.next.get_mut(*part as usize) {
                        *n = Some(offset + 1);
                    }
                }
            }
            state.subscribers.iter().map(|s| (s.id, s.tx.clone())).collect()
        };
        let Some(((last_id, last_tx), rest)) = targets.split_last() else { return false };
        for (id, tx) in rest {
            self.hand(*id, tx, batch.clone(), stop);
        }
        self.hand(*last_id, last_tx, batch, stop);
        !locked(&self.state).subscribers.is_empty()
    }

    /// Hands one subscriber its batch: waits for room while it is the only one, detaches it
    /// once it has kept others waiting [`DETACH_AFTER`].
    fn hand(&self, id: u64, tx: &Sender<Vec<Read>>, mut batch: Vec<Read>, stop: &AtomicBool) {
        loop {
            match tx.send_timeout(batch, DETACH_AFTER) {
                Ok(()) => return,
                Err(SendTimeoutError::Disconnected(_)) => return self.remove(id, false),
                Err(SendTimeoutError::Timeout(back)) => {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    if locked(&self.state).subscribers.len() > 1 {
                        return self.remove(id, true);
                    }
                    batch = back;
                }
            }
        }
    }

    fn remove(&self, id: u64, detach: bool) {
        let mut state = locked(&self.state);
        if let Some(i) = state.subscribers.iter().position(|s| s.id == id) {
            let s = state.subscribers.remove(i);
            if detach {
                s.detached.store(true, Ordering::Relaxed);
            }
        }
    }
}
