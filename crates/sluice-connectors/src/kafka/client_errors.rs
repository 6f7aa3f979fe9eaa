//! What librdkafka reports on a client's own threads: a refused password or an untrusted
//! certificate shows there, while the call that failed only says the brokers were not reached.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::client::Client;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::metadata::Metadata;
use rdkafka::ClientContext;

/// How long one metadata request may wait before the client's errors are looked at again.
const ATTEMPT: Duration = Duration::from_millis(500);

/// The last error a client reported, shared with its context.
#[derive(Clone, Default)]
pub struct ClientErrors(Arc<Mutex<Option<String>>>);

impl ClientErrors {
    /// Keeps `reason` (librdkafka's text, which names the broker and never a password).
    pub fn record(&self, error: &KafkaError, reason: &str) {
        self.keep(if reason.is_empty() { error.to_string() } else { format!("{} ({})", reason, error) });
    }

    /// Keeps an error logged by the client.
    pub fn keep(&self, message: String) {
        if let Ok(mut last) = self.0.lock() {
            *last = Some(message);
        }
    }

    /// The last error reported, if any.
    pub fn last(&self) -> Option<String> {
        self.0.lock().ok().and_then(|l| l.clone())
    }

    /// Whether the last error is one retrying cannot mend: a refused login or a failed TLS
    /// handshake (an untrusted certificate, a plaintext client on a TLS listener).
    pub fn refused(&self) -> bool {
        self.last().is_some_and(|m| {
            let m = m.to_ascii_lowercase();
            m.contains("authentication")
                || m.contains("ssl handshake")
                || m.contains("certificate verify failed")
                || m.contains("incorrect security.protocol")
        })
    }

    /// `message`, followed by the client's last error when there is one.
    pub fn explain(&self, message: String) -> String {
        match self.last() {
            Some(why) => format!("{}: {}", message, why),
            None => message,
        }
    }
}

/// A consumer's context that keeps its errors.
#[derive(Clone, Default)]
pub struct ErrorsContext(pub ClientErrors);

impl ClientContext for ErrorsContext {
    fn error(&self, error: KafkaError, reason: &str) {
        self.0.record(&error, reason);
    }

    /// A consumer's broker errors (a refused login, a failed handshake) reach its context only
    /// when it is polled; librdkafka logs them at once, from its own threads.
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        if (level as i32) <= (RDKafkaLogLevel::Error as i32) {
            self.0.keep(format!("{} ({})", message, facility));
        }
    }
}

impl ConsumerContext for ErrorsContext {}

/// The metadata of `topic` (of the whole cluster when None), asked for in short attempts within
/// `timeout`: a refused login or a failed handshake ends the wait at once rather than after the
/// whole timeout. `serve` hands the client's waiting events to its context (a consumer's reach
/// it only when polled; a threaded producer serves its own).
pub fn metadata_unless_refused<C: ClientContext>(
    client: &Client<C>,
    topic: Option<&str>,
    timeout: Duration,
    errors: &ClientErrors,
    serve: &dyn Fn(),
) -> Result<Metadata, KafkaError> {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match client.fetch_metadata(topic, ATTEMPT.min(left)) {
            Ok(md) => return Ok(md),
            Err(e) => {
                serve();
                if errors.refused() || left <= ATTEMPT {
                    return Err(e);
                }
            }
        }
    }
}

/// Serves the error events waiting on `consumer` (they reach a consumer's context only when it
/// is polled), keeping them in its [`ClientErrors`]; the last error reported, if any.
pub fn drain(consumer: &BaseConsumer<ErrorsContext>) -> Option<String> {
    while let Some(event) = consumer.poll(Duration::ZERO) {
        if let Err(e) = event {
            consumer.context().0.record(&e, "");
        }
    }
    consumer.context().0.last()
}
