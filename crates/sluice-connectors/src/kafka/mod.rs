//! Kafka: `$source` reads topics, `$emit` writes them, through librdkafka.

mod cached_watermarks;
mod client_errors;
mod connection;
mod connector;
mod deliveries;
mod emit_options;
mod key_format;
mod position;
mod reader_hub;
mod readers;
mod record;
mod settings;
mod shared_client;
mod sink;
mod source;
mod source_options;
mod transactions;

/// How long opening a source or sink waits for the brokers to answer.
pub const OPEN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

pub use connection::{KafkaConnection, SaslMechanism, SecurityProtocol};
pub use connector::KafkaConnector;
pub use emit_options::{DeliveryGuarantee, KafkaEmitOptions, TopicSpec};
pub use key_format::KeyFormat;
pub use position::{KafkaPosition, PartitionOffset};
pub use sink::KafkaSink;
pub use source::{KafkaSource, UNREACHABLE_LIMIT};
pub use source_options::{KafkaSourceOptions, OffsetReset};
pub use transactions::TRANSACTION_TIMEOUT;
