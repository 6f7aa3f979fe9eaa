//! The HTTP server: accepts connections up to a cap (one more is answered 503), gives each a
//! header-read timeout and an idle timeout ([`ConnectionLimits`]), tells handlers the peer's
//! address (`ConnectInfo`), and stops gracefully. Hyper's own answers to requests it cannot
//! parse are sent as Atlas's JSON error body too.

mod tracked_io;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};

use crate::error::ApiError;
use crate::limits::{ConnectionLimits, MAX_URI_BYTES};
use tracked_io::{Activity, TrackedIo};

/// How often a connection's watchdog looks at its activity.
const WATCH_EVERY: Duration = Duration::from_millis(500);
/// How long, and how many bytes, a closing connection reads and drops (see [`linger_close`]).
const LINGER_TIME: Duration = Duration::from_secs(1);
const LINGER_BYTES: usize = 2 * crate::limits::MAX_BODY_BYTES;
/// Connections over the cap answered 503 at once; more are closed without an answer.
const MAX_REFUSING: usize = 64;
/// How long open connections get to finish once the server is told to stop.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `app` on `listener` within `limits` until `shutdown` completes, then lets open
/// connections finish their current request (up to 10 s).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    // Connections being told 503 hold a descriptor for up to the linger time: a few at once.
    let refusals = Arc::new(Semaphore::new(MAX_REFUSING));
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                // Out of file descriptors and the like: wait a little rather than spin.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        match slots.clone().try_acquire_owned() {
            Ok(permit) => {
                let (app, stop) = (app.clone(), stop_rx.clone());
                tokio::spawn(async move {
                    connection(stream, peer, app, limits, stop).await;
                    drop(permit);
                });
            }
            Err(_) => {
                // Past that, a connection is closed without an answer rather than let a flood of
                // them hold descriptors.
                if let Ok(permit) = refusals.clone().try_acquire_owned() {
                    tokio::spawn(async move {
                        refuse(stream).await;
                        drop(permit);
                    });
                }
            }
        }
    }
    let _ = stop_tx.send(true);
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, slots.acquire_many(all)).await;
    Ok(())
}

/// Answers a connection over the cap with 503 and closes it.
async fn refuse(mut stream: TcpStream) {
    write_error(&stream, &ApiError::too_many_connections(1)).await;
    linger_close(&mut stream).await;
}

/// Closes a connection the client may still be writing to without a reset: closing a socket
/// with unread bytes would send RST, and the client could lose the answer just written.
async fn linger_close(stream: &mut TcpStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let _ = stream.shutdown().await;
    let mut sink = [0u8; 16 * 1024];
    let mut left = LINGER_BYTES;
    let deadline = tokio::time::Instant::now() + LINGER_TIME;
    while left > 0 {
        match tokio::time::timeout_at(deadline, stream.read(&mut sink)).await {
            Ok(Ok(n)) if n > 0 => left = left.saturating_sub(n),
            _ => return,
        }
    }
}

/// Writes `e` as a whole HTTP/1.1 answer that closes the connection, without waiting on a
/// client that does not read.
async fn write_error(stream: &TcpStream, e: &ApiError) {
    let body = e.body().to_string();
    let mut head = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
        e.status.as_u16(),
        e.status.canonical_reason().unwrap_or(""),
        body.len()
    );
    for (k, v) in &e.headers {
        head.push_str(&format!("{}: {}\r\n", k, v));
    }
    head.push_str("\r\n");
    head.push_str(&body);
    let bytes = head.as_bytes();
    let mut written = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
    while written < bytes.len() {
        if tokio::time::timeout_at(deadline, stream.writable()).await.is_err() {
            return;
        }
        match stream.try_write(&bytes[written..]) {
            Ok(n) => written += n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(_) => return,
        }
    }
}

/// Serves one connection until it closes, times out, goes idle or the server stops.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    limits: ConnectionLimits,
    mut stop: watch::Receiver<bool>,
) {
    // A second handle on the socket, to answer after hyper has given the connection up.
    let Ok(std_stream) = stream.into_std() else { return };
    let Ok(mut spare) = std_stream.try_clone().and_then(TcpStream::from_std) else { return };
    let Ok(stream) = TcpStream::from_std(std_stream) else { return };
    let activity = Activity::new();
    let io = TokioIo::new(TrackedIo::new(stream, activity.clone()));
    let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        let mut app = app.clone();
        async move { tower_service::Service::call(&mut app, req).await }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true)
        .serve_connection(io, service);
    // Boxed, not pinned on the stack, so that it can be dropped (closing hyper's handle on the
    // socket) before the server answers on the spare one.
    let mut conn = Box::pin(conn);
    let mut closing = false;
    let result = loop {
        tokio::select! {
            r = conn.as_mut() => break r,
            _ = stop.changed(), if !closing => {
                conn.as_mut().graceful_shutdown();
                closing = true;
            }
            _ = tokio::time::sleep(WATCH_EVERY) => {
                let idle = activity.idle_for();
                if !closing && idle >= limits.idle_timeout {
                    conn.as_mut().graceful_shutdown();
                    closing = true;
                } else if closing && idle >= limits.idle_timeout * 2 {
                    // Nothing moved in twice the idle time: the client is gone or stalling.
                    return;
                }
            }
        }
    };
    drop(conn);
    let timed_out = matches!(&result, Err(e) if e.is_timeout()) && activity.partial_request();
    if timed_out {
        write_error(&spare, &ApiError::request_timeout()).await;
    }
    match activity.held_error() {
        Some(414) => write_error(&spare, &ApiError::uri_too_long(MAX_URI_BYTES)).await,
        Some(431) => {
            write_error(
                &spare,
                &ApiError::new(
                    StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                    "REQUEST_HEADER_FIELDS_TOO_LARGE",
                    "The request's headers are larger than the limit.",
                ),
            )
            .await
        }
        Some(_) => {
            write_error(
                &spare,
                &ApiError::new(StatusCode::BAD_REQUEST, "INVALID_REQUEST", "The request is not valid HTTP/1.1."),
            )
            .await
        }
        None => {}
    }
    // Hyper closes a connection whose request body it did not read (a 413, a 401 before the
    // body) with the body still arriving: linger so that the client reads the answer.
    linger_close(&mut spare).await;
}
