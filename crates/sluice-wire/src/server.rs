//! The listener: accepts connections under a total and a per-client-address cap, and runs one
//! [`Session`](crate::session::Session) per connection.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sluice_api::AppState;
use sluice_control::Controller;
use sluice_store::MetadataStore;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;

use crate::commands::sample::TEMPORARY_OPTION;
use crate::session::Session;

/// The caps of the wire listener (documented in docs/limits.md).
#[derive(Debug, Clone, PartialEq)]
pub struct WireLimits {
    /// The largest message accepted, header included (MongoDB's `maxMessageSizeBytes`).
    pub max_message_bytes: usize,
    /// Connections open at once; past it a new one is closed at once.
    pub max_connections: usize,
    /// Connections open at once from one client address.
    pub max_connections_per_ip: usize,
    /// Sample cursors one connection may hold open.
    pub max_cursors_per_connection: usize,
    /// How long a connection may stay unauthenticated between messages.
    pub unauthenticated_idle: Duration,
}

impl Default for WireLimits {
    fn default() -> WireLimits {
        WireLimits {
            max_message_bytes: 48_000_000,
            max_connections: 1024,
            max_connections_per_ip: 256,
            max_cursors_per_connection: 16,
            unauthenticated_idle: Duration::from_secs(60),
        }
    }
}

/// What every connection shares.
pub struct WireState {
    /// Metadata: keys, workspaces, processors.
    pub store: Arc<dyn MetadataStore>,
    /// Processor lifecycle, the same controller the HTTP API asks.
    pub controller: Arc<Controller>,
    /// The caps.
    pub limits: WireLimits,
    /// The HTTP API's state: its rate limiter and audit log are shared.
    pub app: Arc<AppState>,
    /// Derives the decoy credentials of unknown users (see [`crate::scram::decoy`]).
    pub decoy_secret: Vec<u8>,
    next_connection: AtomicI64,
    per_ip: Mutex<HashMap<IpAddr, usize>>,
}

impl WireState {
    /// State over the HTTP API's: the same store, controller, per-caller request budgets and
    /// audit log.
    pub fn new(app: Arc<AppState>, limits: WireLimits) -> Arc<WireState> {
        Arc::new(WireState {
            store: app.store.clone(),
            controller: app.controller.clone(),
            app,
            limits,
            decoy_secret: hex::decode(sluice_control::random_hex(32)).unwrap_or_default(),
            next_connection: AtomicI64::new(1),
            per_ip: Mutex::new(HashMap::new()),
        })
    }

    /// A fresh connection id (`hello`'s `connectionId`).
    pub fn connection_id(&self) -> i64 {
        self.next_connection.fetch_add(1, Ordering::Relaxed)
    }

    fn enter(&self, ip: IpAddr) -> bool {
        let Ok(mut m) = self.per_ip.lock() else { return false };
        let n = m.entry(ip).or_insert(0);
        if *n >= self.limits.max_connections_per_ip {
            return false;
        }
        *n += 1;
        true
    }

    fn leave(&self, ip: IpAddr) {
        if let Ok(mut m) = self.per_ip.lock() {
            if let Some(n) = m.get_mut(&ip) {
                *n -= 1;
                if *n == 0 {
                    m.remove(&ip);
                }
            }
        }
    }
}

/// Drops the temporary processors `processStreamProcessor` made that a previous run of the server
/// could not drop (it stopped while their connections were open); call before
/// [`Controller::recover`] so they do not start again. Returns how many were dropped.
pub async fn drop_temporary(store: &dyn MetadataStore, controller: &Controller) -> Result<usize, String> {
    use sluice_types::ProcessorState::*;
    let mut n = 0;
    for state in [Created, Started, Paused, Stopped, Failed] {
        for p in store.processors_in_state(state).await.map_err(|e| e.to_string())? {
            if p.options.get(TEMPORARY_OPTION) != Some(&serde_json::Value::Bool(true)) {
                continue;
            }
            let w = store.workspace_by_id(&p.workspace_id).await.map_err(|e| e.to_string())?;
            controller.delete(&w, &p.name).await.map_err(|e| e.to_string())?;
            n += 1;
        }
    }
    Ok(n)
}

/// Serves connections from `listener` until the task is dropped; over TLS when `tls` is given
/// (a failed handshake closes only that connection).
pub async fn serve(listener: TcpListener, state: Arc<WireState>, tls: Option<TlsAcceptor>) {
    let slots = Arc::new(Semaphore::new(state.limits.max_connections));
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "wire protocol: cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            tracing::warn!(%peer, "wire protocol: connection cap reached, closing a new connection");
            continue;
        };
        if !state.enter(peer.ip()) {
            tracing::warn!(%peer, "wire protocol: per-address connection cap reached");
            continue;
        }
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let ip = peer.ip();
            match tls {
                None => Session::new(state.clone()).run(stream).await,
                Some(acceptor) => {
                    let handshake = tokio::time::timeout(state.limits.unauthenticated_idle, acceptor.accept(stream));
                    match handshake.await {
                        Ok(Ok(s)) => Session::new(state.clone()).run(s).await,
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "wire protocol: TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "wire protocol: TLS handshake timed out"),
                    }
                }
            }
            state.leave(ip);
            drop(permit);
        });
    }
}
