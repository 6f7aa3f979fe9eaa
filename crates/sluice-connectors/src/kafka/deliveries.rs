//! What the brokers answered for the messages a producer sent, gathered on its thread.

use std::sync::{Arc, Mutex};

use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::producer::{DeliveryResult, ProducerContext};
use rdkafka::ClientContext;

use super::client_errors::ClientErrors;

/// One message the brokers acknowledged: where it lies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    /// Its topic.
    pub topic: String,
    /// Its partition.
    pub partition: i32,
    /// Its offset there.
    pub offset: i64,
}

/// Delivery reports since the last [`Deliveries::take_witness`].
#[derive(Default)]
pub struct Deliveries {
    /// Messages that could not be delivered.
    pub failed: u64,
    /// The first reason one could not.
    pub first_error: Option<String>,
    /// The first message acknowledged since the last take: a transaction's witness, whose
    /// visibility to a `read_committed` reader tells whether that transaction committed.
    witness: Option<Delivered>,
}

impl Deliveries {
    /// The first message acknowledged since the last call.
    pub fn take_witness(&mut self) -> Option<Delivered> {
        self.witness.take()
    }
}

/// The producer's context: records each delivery report in the shared [`Deliveries`], and the
/// client's errors.
pub struct DeliveryContext(pub Arc<Mutex<Deliveries>>, pub ClientErrors);

impl ClientContext for DeliveryContext {
    fn error(&self, error: KafkaError, reason: &str) {
        self.1.record(&error, reason);
    }

    /// A refused login or a failed handshake is logged at once, from the client's own threads.
    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, facility: &str, message: &str) {
        if (level as i32) <= (rdkafka::config::RDKafkaLogLevel::Error as i32) {
            self.1.keep(format!("{} ({})", message, facility));
        }
    }
}

impl ProducerContext for DeliveryContext {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        let Ok(mut d) = self.0.lock() else { return };
        match result {
            Ok(m) => {
                if d.witness.is_none() {
                    d.witness =
                        Some(Delivered { topic: m.topic().to_string(), partition: m.partition(), offset: m.offset() });
                }
            }
            Err((e, _)) => {
                d.failed += 1;
                d.first_error.get_or_insert_with(|| e.to_string());
            }
        }
    }
}
