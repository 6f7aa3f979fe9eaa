//! What librdkafka reports on a client's own threads: a refused password or an untrusted
//! certificate shows there, while the call that failed only says the brokers were not reached.

use std::sync::{Arc, Mutex};

use rdkafka::config::RDKafkaLogLevel;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::ClientContext;

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
