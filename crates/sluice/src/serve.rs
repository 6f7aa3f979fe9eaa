//! `sluice serve`: the management API on an embedded store, running the processors.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use sluice_api::AppState;
use sluice_control::{ClusterConfig, Controller};
use sluice_store::MetadataStore;
use sluice_store::{CheckpointStore, FsCheckpointStore, ObjectCheckpointStore};

use crate::admin;
use crate::metadata::{Store, StoreArgs};
use crate::node;

/// Arguments of `sluice serve`.
#[derive(Args)]
pub struct ServeArgs {
    /// Where metadata, the sealing key and checkpoints live.
    #[command(flatten)]
    store: StoreArgs,
    /// Address to listen on.
    #[arg(long, env = "SLUICE_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// This server's name among the nodes sharing a store. Default: the host name and the API's
    /// port (`HOST:PORT`).
    #[arg(long, env = "SLUICE_NODE_ID")]
    node_id: Option<String>,
    /// Where the other nodes sharing the store reach this one's API (`HOST:PORT`). Default: the
    /// listen address, with the host name when listening on every interface.
    #[arg(long, env = "SLUICE_ADVERTISE")]
    advertise: Option<String>,
    /// Requests per second each API key or service account may make (also its burst); past it,
    /// 429 RATE_LIMITED. 0: no limit.
    #[arg(long, env = "SLUICE_RATE_LIMIT", default_value_t = 2000)]
    rate_limit: u32,
    /// Where checkpoints live: an object store URL (`s3://bucket/prefix`, `gs://...`,
    /// `az://...`, `file:///dir`) that several servers can share, configured by the backend's
    /// own environment variables (`AWS_ENDPOINT`, `AWS_ACCESS_KEY_ID`, ...). Default: the
    /// `checkpoints` directory of the data dir.
    #[arg(long, env = "SLUICE_CHECKPOINT_STORE")]
    checkpoint_store: Option<String>,
    /// Also serve the MongoDB wire protocol here (`HOST:PORT`), for mongosh's `sp.*` and the
    /// drivers: a connection string's database names the workspace, SCRAM with an API key.
    #[arg(long, env = "SLUICE_MONGODB_LISTEN")]
    mongodb_listen: Option<SocketAddr>,
    /// MongoDB wire connections served at once; past it a new one is closed.
    #[arg(long, env = "SLUICE_MONGODB_MAX_CONNECTIONS", default_value_t = 1024)]
    mongodb_max_connections: usize,
    /// Serve the MongoDB wire protocol over TLS with this certificate chain (PEM); needs
    /// `--mongodb-tls-key`. Clients then connect with `tls=true`.
    #[arg(long, env = "SLUICE_MONGODB_TLS_CERT", requires = "mongodb_tls_key")]
    mongodb_tls_cert: Option<PathBuf>,
    /// The private key (PEM) of `--mongodb-tls-cert`.
    #[arg(long, env = "SLUICE_MONGODB_TLS_KEY", requires = "mongodb_tls_cert")]
    mongodb_tls_key: Option<PathBuf>,
    /// HTTP connections served at once; one more is answered 503 and closed.
    #[arg(long, env = "SLUICE_MAX_CONNECTIONS", default_value_t = 1024)]
    max_connections: usize,
    /// Seconds a client has to send a request's headers (also how long an idle keep-alive
    /// connection stays open); past it the connection is closed, with 408 if a request had begun.
    #[arg(long, env = "SLUICE_HEADER_TIMEOUT", default_value_t = 10)]
    header_timeout: u64,
    /// Seconds a connection may pass without a byte either way before it is closed.
    #[arg(long, env = "SLUICE_IDLE_TIMEOUT", default_value_t = 60)]
    idle_timeout: u64,
    #[command(flatten)]
    js_limits: crate::js_limits::JsLimitArgs,
}

/// The newest checkpoints of each processor that are kept.
const CHECKPOINTS_KEPT: usize = 3;

/// The checkpoint store `args` name, and how to show it (never with credentials).
fn checkpoint_store(args: &ServeArgs) -> Result<(Arc<dyn CheckpointStore>, String), String> {
    match &args.checkpoint_store {
        Some(url) => {
            let store = ObjectCheckpointStore::open(url, Vec::new(), CHECKPOINTS_KEPT).map_err(|e| e.to_string())?;
            Ok((Arc::new(store), url.clone()))
        }
        None => {
            let dir = args.store.data_dir.join("checkpoints");
            Ok((Arc::new(FsCheckpointStore::new(&dir, CHECKPOINTS_KEPT)), dir.display().to_string()))
        }
    }
}

/// Runs the server until SIGTERM or Ctrl-C.
pub fn serve(args: ServeArgs) -> Result<(), String> {
    // Before any pipeline is compiled (recovered processors included).
    args.js_limits.apply();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    rt.block_on(serve_async(args))
}

async fn serve_async(args: ServeArgs) -> Result<(), String> {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("SLUICE_LOG").unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .try_init();
    if args.store.store.is_some() && args.checkpoint_store.is_none() {
        return Err("with --store postgres://... every node must reach every processor's checkpoints: give the \
             nodes one shared --checkpoint-store (s3://..., or file:///DIR on one machine)"
            .into());
    }
    let opened = args.store.open().await?;
    let store: Arc<dyn MetadataStore> = opened.shared();
    let (checkpoints, checkpoints_at) = checkpoint_store(&args)?;
    eprintln!(
        "sluice serve: data dir {} (metadata {}, checkpoints {}), listening on http://{}, rate limit {}",
        args.store.data_dir.display(),
        args.store.describe(),
        checkpoints_at,
        args.listen,
        if args.rate_limit == 0 { "off".to_string() } else { format!("{} requests/s per caller", args.rate_limit) }
    );
    bootstrap(store.as_ref()).await?;
    let controller = Controller::new(store.clone(), checkpoints);
    // A node of several resumes its share of the running processors once it has joined.
    if let Store::Sqlite(_) = &opened {
        recover_alone(&controller, store.as_ref()).await?;
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {}", args.listen, e))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    let node_id = args.node_id.clone().unwrap_or_else(|| node::default_id(local.port()));
    eprintln!("sluice serve: node {}", node_id);
    if let Store::Postgres(pg) = &opened {
        let address = args.advertise.clone().unwrap_or_else(|| node::advertised(local));
        let token = pg.node_token().ok_or("the PostgreSQL store has no sealing key")?;
        let config = ClusterConfig { node_id: node_id.clone(), address, store: Arc::new(pg.clone()), token };
        controller.join_cluster(config).await?;
    }
    let mut hostnames = vec![local.to_string()];
    let mut wire_server = None;
    if let Some(addr) = args.mongodb_listen {
        let wire = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| format!("cannot listen on {} (MongoDB wire protocol): {}", addr, e))?;
        let wire_local = wire.local_addr().map_err(|e| e.to_string())?;
        let tls = match (&args.mongodb_tls_cert, &args.mongodb_tls_key) {
            (Some(cert), Some(key)) => Some(sluice_wire::tls::acceptor(cert, key)?),
            _ => None,
        };
        println!("MongoDB wire protocol: mongodb://{}", wire_local);
        if tls.is_some() {
            println!("MongoDB wire protocol over TLS: connect with tls=true");
        }
        hostnames.push(wire_local.to_string());
        let limits = sluice_wire::WireLimits {
            max_connections: args.mongodb_max_connections.max(1),
            ..sluice_wire::WireLimits::default()
        };
        wire_server = Some((wire, limits, tls));
    }
    let shutdown = shutdown_signal();
    // Tests start the server on port 0 and read the real port from this line.
    println!("listening on {}", local);
    let state = AppState::for_node(store, controller.clone(), hostnames, args.rate_limit, node_id);
    if let Some((wire, limits, tls)) = wire_server {
        // The wire protocol shares the API's state: request budgets and the audit log.
        tokio::spawn(sluice_wire::serve(wire, sluice_wire::WireState::new(state.clone(), limits), tls));
    }
    let limits = sluice_api::limits::ConnectionLimits {
        max_connections: args.max_connections.max(1),
        header_read_timeout: std::time::Duration::from_secs(args.header_timeout.max(1)),
        idle_timeout: std::time::Duration::from_secs(args.idle_timeout.max(1)),
    };
    sluice_api::server::serve(listener, sluice_api::router(state), limits, shutdown)
        .await
        .map_err(|e| e.to_string())?;
    eprintln!("shutting down: stopping processors");
    controller.shutdown().await;
    Ok(())
}

/// A single server's start: drops mongosh's `sp.process` processors left by connections open at
/// the last shutdown, then runs again every processor that was running.
async fn recover_alone(controller: &Controller, store: &dyn MetadataStore) -> Result<(), String> {
    let temporary = sluice_wire::drop_temporary(store, controller).await?;
    if temporary > 0 {
        eprintln!("dropped {} temporary processor(s) of sp.process sessions", temporary);
    }
    let recovering = std::time::Instant::now();
    let resumed = controller.recover().await.map_err(|e| e.to_string())?;
    if resumed > 0 {
        eprintln!("resumed {} processor(s) that were running in {} ms", resumed, recovering.elapsed().as_millis());
    }
    Ok(())
}

/// On the first start (no project yet): one organization, one project, one Project Owner key,
/// printed once. The private key is not stored and cannot be shown again. Of nodes starting at
/// once on an empty shared store, the store lets exactly one add them; the others print nothing.
async fn bootstrap(store: &dyn MetadataStore) -> Result<(), String> {
    if !store.projects().await.map_err(|e| e.to_string())?.is_empty() {
        return Ok(());
    }
    let (first, private) = admin::first_project("default");
    if !store.insert_first_project(&first).await.map_err(|e| format!("cannot create the first project: {}", e))? {
        return Ok(());
    }
    let (p, public) = (&first.project, &first.api_key.public_key);
    println!("first start: created project {} (groupId {})", p.name, p.id);
    println!("groupId: {}", p.id);
    println!("publicKey: {}", public);
    println!("privateKey: {}", private);
    println!("Keep the private key now: it is not stored and will not be shown again.");
    Ok(())
}

/// SIGTERM or Ctrl-C. The SIGTERM handler is installed when this is called, not when the future
/// is first polled: a SIGTERM sent as soon as the server says it listens must not meet the
/// default action, which kills the process without stopping the processors.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    async move {
        let ctrl_c = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        #[cfg(unix)]
        let term = async move {
            match term {
                Some(mut s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            _ = ctrl_c => {},
            _ = term => {},
        }
    }
}
