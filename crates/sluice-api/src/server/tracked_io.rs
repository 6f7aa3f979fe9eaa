//! A connection's socket as hyper sees it, watched: when a byte last went either way, whether a
//! request has begun arriving since the last answer, and hyper's own empty error answers (to a
//! request it cannot parse) held back so that the server can send Atlas's JSON instead.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// What the server reads of a connection while hyper drives it.
pub struct Activity {
    start: Instant,
    last_ms: AtomicU64,
    partial_request: AtomicBool,
    held_status: AtomicU16,
}

impl Activity {
    /// A connection that has just been accepted.
    pub fn new() -> Arc<Activity> {
        Arc::new(Activity {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
            partial_request: AtomicBool::new(false),
            held_status: AtomicU16::new(0),
        })
    }

    fn touch(&self) {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    /// How long since a byte last went either way.
    pub fn idle_for(&self) -> std::time::Duration {
        let now = self.start.elapsed();
        now.saturating_sub(std::time::Duration::from_millis(self.last_ms.load(Ordering::Relaxed)))
    }

    /// Whether part of a request arrived that has had no answer yet.
    pub fn partial_request(&self) -> bool {
        self.partial_request.load(Ordering::Relaxed)
    }

    /// The status of an automatic error answer of hyper's that was held back, if any.
    pub fn held_error(&self) -> Option<u16> {
        match self.held_status.load(Ordering::Relaxed) {
            0 => None,
            s => Some(s),
        }
    }
}

/// The status of `buf` if it is one of hyper's automatic answers to an unparseable request: a
/// whole head with no body, for 400, 414 or 431 (the API's own errors always have a body).
fn automatic_error(buf: &[u8]) -> Option<u16> {
    let status = match buf.get(..13)? {
        b"HTTP/1.1 400 " => 400,
        b"HTTP/1.1 414 " => 414,
        b"HTTP/1.1 431 " => 431,
        _ => return None,
    };
    let text = std::str::from_utf8(buf).ok()?;
    (text.ends_with("\r\n\r\n") && text.to_ascii_lowercase().contains("\r\ncontent-length: 0\r\n")).then_some(status)
}

/// A socket wrapped for [`Activity`].
pub struct TrackedIo<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S> TrackedIo<S> {
    /// Wraps `inner`, reporting to `activity`.
    pub fn new(inner: S, activity: Arc<Activity>) -> TrackedIo<S> {
        TrackedIo { inner, activity }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for TrackedIo<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.touch();
            self.activity.partial_request.store(true, Ordering::Relaxed);
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for TrackedIo<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if self.activity.held_error().is_some() {
            // Hyper closes the connection after such an answer; nothing else follows it.
            return Poll::Ready(Ok(buf.len()));
        }
        if let Some(status) = automatic_error(buf) {
            self.activity.held_status.store(status, Ordering::Relaxed);
            return Poll::Ready(Ok(buf.len()));
        }
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
            self.activity.partial_request.store(false, Ordering::Relaxed);
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.activity.held_error().is_some() {
            // The server still has to send the answer it held back.
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hypers_empty_error_heads_are_held() {
        let head = b"HTTP/1.1 414 URI Too Long\r\ncontent-length: 0\r\ndate: Sun, 06 Dec 2026 06:00:00 GMT\r\n\r\n";
        assert_eq!(automatic_error(head), Some(414));
        assert_eq!(
            automatic_error(b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n\r\n"),
            Some(431)
        );
        // An answer of the API's own carries a body.
        assert_eq!(automatic_error(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 120\r\n\r\n"), None);
        assert_eq!(automatic_error(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"), None);
        assert_eq!(automatic_error(b"HTTP/1.1 414 URI Too Long\r\ncontent-length: 0\r\n"), None);
    }
}
