//! A server start resumes many processors at once. What they share is read and readied once for
//! all of them, while their runs are being set up:
//! - each workspace and its connection registry are read once, not once per processor;
//! - the upstream system of each distinct `$source` is readied in the background as soon as its
//!   connections are known (a Kafka cluster's shared client connects and learns the topics'
//!   partitions), so the processors' openings find it ready instead of each waiting on it.
//!
//! Each actor checks its processor's pipeline itself. It takes the row read for the recovery
//! only when it has handled no request before (every change of a row goes through its
//! processor's actor, and a single server recovers before it serves); otherwise it reads the row
//! again, so what it runs is what the store holds when its turn comes.

use std::any::Any;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use sluice_store::{Connection, Processor, Workspace};

use crate::endpoints;
use crate::services::Services;

/// A processor's workspace and its connections, as read for a recovery.
#[derive(Clone)]
pub(crate) struct Known {
    pub ws: Workspace,
    pub conns: Arc<Vec<Connection>>,
}

/// What a recovery read and readied for the processors it resumes.
#[derive(Default)]
pub(crate) struct Recovery {
    /// Workspace id → its row and connections.
    known: HashMap<String, Known>,
    /// The processors' rows as read, by id.
    rows: HashMap<String, Processor>,
    /// What the connectors readied (shared clients); held until the recovery is over.
    held: Mutex<Vec<Box<dyn Any + Send>>>,
}

impl std::fmt::Debug for Recovery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Recovery({} workspaces)", self.known.len())
    }
}

impl Recovery {
    /// Reads the workspaces of `processors` and their connections, once each, and starts
    /// readying each distinct `$source`'s upstream in the background. A workspace that cannot
    /// be read is left to each actor to read (and report) on its own.
    pub async fn prepare(services: &Arc<Services>, processors: &[Processor]) -> Arc<Recovery> {
        let mut known = HashMap::new();
        for p in processors {
            if known.contains_key(&p.workspace_id) {
                continue;
            }
            let Ok(ws) = services.store.workspace_by_id(&p.workspace_id).await else { continue };
            let Ok(conns) = services.store.connections(&ws.id).await else { continue };
            known.insert(ws.id.clone(), Known { ws, conns: Arc::new(conns) });
        }
        let rows = processors.iter().map(|p| (p.id.clone(), p.clone())).collect();
        let recovery = Arc::new(Recovery { known, rows, held: Mutex::new(Vec::new()) });
        let mut readied = HashSet::new();
        for p in processors {
            let Some(k) = recovery.known.get(&p.workspace_id) else { continue };
            let source = p.pipeline.get(0).map(|s| s.to_string()).unwrap_or_default();
            if !readied.insert((p.workspace_id.clone(), source)) {
                continue;
            }
            // A pipeline that no longer checks is refused by its actor, with the reason.
            let Ok(wired) = services.wire_with(&p.pipeline, &p.options, k.conns.to_vec()) else { continue };
            let holder = recovery.clone();
            tokio::task::spawn_blocking(move || {
                if let Some(ready) = endpoints::prepare_source(&wired.wiring, &wired.conns) {
                    if let Ok(mut held) = holder.held.lock() {
                        held.push(ready);
                    }
                }
            });
        }
        recovery
    }

    /// The row of processor `id` as read for the recovery.
    pub fn row(&self, id: &str) -> Option<Processor> {
        self.rows.get(id).cloned()
    }

    /// The workspace and connections read for processor `p`, if they were.
    pub fn known(&self, p: &Processor) -> Option<Known> {
        self.known.get(&p.workspace_id).cloned()
    }
}
