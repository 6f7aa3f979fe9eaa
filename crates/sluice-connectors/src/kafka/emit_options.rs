//! The Kafka-specific fields of an `$emit` stage.

use serde::Deserialize;
use sluice_mql::expr::{compile, Expr};
use sluice_mql::json::JsonMode;
use sluice_mql::serde_value::{from_document, Raw};
use sluice_mql::{Document, Value};

use super::KeyFormat;

/// Where each document goes: one topic, or an expression evaluated per document.
#[derive(Debug, Clone)]
pub enum TopicSpec {
    /// A fixed topic name.
    Fixed(String),
    /// An expression giving the topic name.
    Computed(Expr),
}

/// `$emit` to a Kafka connection.
#[derive(Debug, Clone)]
pub struct KafkaEmitOptions {
    /// `topic`.
    pub topic: TopicSpec,
    /// `config.key`: an expression giving each message's key.
    pub key: Option<Expr>,
    /// `config.keyFormat`.
    pub key_format: KeyFormat,
    /// `config.headers`: an expression giving an object (name → value) or an array of `{k, v}`.
    pub headers: Option<Expr>,
    /// `config.outputFormat`: relaxed (default) or canonical Extended JSON.
    pub output: JsonMode,
    /// `config.dateFormat: "ISO8601"` writes dates as ISO-8601 strings instead of `{"$date": ...}`.
    pub iso_dates: bool,
    /// `config.compression_type`: none, gzip, snappy, lz4, zstd.
    pub compression: String,
    /// `config.acks`: `0`, `1` or `-1` (all). Default all.
    pub acks: i32,
    /// `config.linger_ms` (a Sluice extension): how long the producer waits to fill a batch
    /// before sending it. Unset: the connection's `config` `linger.ms`, else 5; 0 sends at once
    /// (lowest latency, more requests).
    pub linger_ms: Option<u32>,
    /// `config.batch_size` (a Sluice extension): the most bytes of a batch to one partition.
    /// Default librdkafka's 1 MB.
    pub batch_size: Option<u32>,
    /// `config.deliveryGuarantee` (a Sluice extension): at-least-once (the default, as Atlas) or
    /// exactly-once (transactions committed with the checkpoints).
    pub guarantee: DeliveryGuarantee,
}

/// What a reader of the output topic sees after a failure and a resume.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum DeliveryGuarantee {
    /// Every record, some perhaps twice (what was written after the last checkpoint is written
    /// again on resume).
    #[default]
    AtLeastOnce,
    /// Every record once, to a `read_committed` consumer: output is written in transactions that
    /// commit with the checkpoints, so it becomes visible once per checkpoint interval.
    ExactlyOnce,
}

/// The fields of a Kafka `$emit` as Atlas names them (`connectionName` taken out).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Fields {
    topic: Option<Raw>,
    config: Option<Config>,
}

/// `$emit.config` of a Kafka connection.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Config {
    key: Option<Raw>,
    headers: Option<Raw>,
    #[serde(rename = "keyFormat")]
    key_format: Option<String>,
    #[serde(rename = "outputFormat")]
    output_format: Option<OutputFormat>,
    #[serde(rename = "dateFormat")]
    date_format: Option<DateFormat>,
    compression_type: Option<Compression>,
    acks: Option<Raw>,
    linger_ms: Option<u32>,
    batch_size: Option<u32>,
    #[serde(rename = "deliveryGuarantee")]
    delivery_guarantee: Option<DeliveryGuarantee>,
}

/// `outputFormat`.
#[derive(Deserialize)]
enum OutputFormat {
    #[serde(rename = "relaxedJson")]
    Relaxed,
    #[serde(rename = "canonicalJson")]
    Canonical,
}

/// `dateFormat`.
#[derive(Deserialize)]
enum DateFormat {
    #[serde(rename = "default")]
    Default,
    #[serde(rename = "ISO8601")]
    Iso8601,
}

/// `compression_type`.
#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum Compression {
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

impl Compression {
    fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }
}

impl KafkaEmitOptions {
    /// Parses the connector options of an `$emit` (everything but `connectionName`).
    pub fn parse(options: &Document) -> Result<KafkaEmitOptions, String> {
        let f: Fields = from_document(options).map_err(|e| e.describe("$emit"))?;
        let topic = match f.topic.map(|r| r.0) {
            None => return Err("$emit.topic is required for a Kafka connection".into()),
            Some(Value::String(t)) if !t.starts_with('$') => {
                if t.is_empty() {
                    return Err("$emit.topic must not be empty".into());
                }
                TopicSpec::Fixed(t.to_string())
            }
            Some(v) => TopicSpec::Computed(compile(&v).map_err(|e| format!("$emit.topic: {}", e))?),
        };
        let c = f.config.unwrap_or_default();
        let expr = |raw: Option<Raw>, field: &str| -> Result<Option<Expr>, String> {
            raw.map(|r| compile(&r.0).map_err(|e| format!("$emit.config.{}: {}", field, e))).transpose()
        };
        let key_format = match c.key_format {
            None => KeyFormat::BinData,
            Some(t) => KeyFormat::parse(&t)
                .ok_or_else(|| format!("$emit.config.keyFormat must be one of {}, got '{}'", KeyFormat::NAMES, t))?,
        };
        let acks = match c.acks.map(|r| r.0) {
            None => -1,
            Some(v) => match v.as_exact_i64().or_else(|| (v.as_str() == Some("all")).then_some(-1)) {
                Some(n @ -1..=1) => n as i32,
                _ => return Err("$emit.config.acks must be 0, 1, -1 or \"all\"".into()),
            },
        };
        if c.linger_ms.is_some_and(|ms| ms > 60_000) {
            return Err("$emit.config.linger_ms must be an integer from 0 to 60000".into());
        }
        if c.batch_size.is_some_and(|b| b == 0 || b > i32::MAX as u32) {
            return Err("$emit.config.batch_size must be a positive integer (bytes)".into());
        }
        let guarantee = c.delivery_guarantee.unwrap_or_default();
        if guarantee == DeliveryGuarantee::ExactlyOnce && acks != -1 {
            return Err("$emit.config.deliveryGuarantee exactlyOnce needs acks -1 (all), the default".into());
        }
        Ok(KafkaEmitOptions {
            topic,
            key: expr(c.key, "key")?,
            key_format,
            headers: expr(c.headers, "headers")?,
            output: match c.output_format {
                Some(OutputFormat::Canonical) => JsonMode::Canonical,
                Some(OutputFormat::Relaxed) | None => JsonMode::Relaxed,
            },
            iso_dates: matches!(c.date_format, Some(DateFormat::Iso8601)),
            compression: c.compression_type.unwrap_or(Compression::None).name().to_string(),
            acks,
            linger_ms: c.linger_ms,
            batch_size: c.batch_size,
            guarantee,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_mql::json::parse_document;

    fn parse(json: &str) -> Result<KafkaEmitOptions, String> {
        KafkaEmitOptions::parse(&parse_document(json).unwrap())
    }

    #[test]
    fn reads_atlas_fields() {
        let o = parse(
            r#"{"topic": "$device", "config": {"key": "$id", "keyFormat": "string", "headers": {"h": "$x"},
                "outputFormat": "canonicalJson", "dateFormat": "ISO8601", "compression_type": "zstd", "acks": 1}}"#,
        )
        .unwrap();
        assert!(matches!(o.topic, TopicSpec::Computed(_)));
        assert!(o.key.is_some() && o.headers.is_some());
        assert_eq!(
            (o.key_format, o.output, o.iso_dates, o.compression.as_str(), o.acks),
            (KeyFormat::String, JsonMode::Canonical, true, "zstd", 1)
        );
        assert!(matches!(parse(r#"{"topic": "out"}"#).unwrap().topic, TopicSpec::Fixed(ref t) if t == "out"));
    }

    #[test]
    fn errors_name_the_field() {
        assert!(parse("{}").unwrap_err().contains("topic"));
        assert!(parse(r#"{"topic": "t", "config": {"acks": 2}}"#).unwrap_err().contains("acks"));
        assert!(parse(r#"{"topic": "t", "config": {"outputFormat": "xml"}}"#).unwrap_err().contains("outputFormat"));
        assert!(parse(r#"{"topic": "t", "config": {"compression_type": "brotli"}}"#)
            .unwrap_err()
            .contains("compression_type"));
        assert!(parse(r#"{"topic": "t", "coll": "x"}"#).unwrap_err().contains("coll"));
        assert!(parse(r#"{"topic": "t", "config": {"linger_ms": -1}}"#).unwrap_err().contains("linger_ms"));
        assert!(parse(r#"{"topic": "t", "config": {"batch_size": 0}}"#).unwrap_err().contains("batch_size"));
        assert!(parse(r#"{"topic": "t", "config": {"deliveryGuarantee": "once"}}"#)
            .unwrap_err()
            .contains("deliveryGuarantee"));
        assert!(parse(r#"{"topic": "t", "config": {"deliveryGuarantee": "exactlyOnce", "acks": 1}}"#)
            .unwrap_err()
            .contains("acks"));
    }

    #[test]
    fn batching_is_tunable() {
        let o = parse(r#"{"topic": "t"}"#).unwrap();
        assert_eq!((o.linger_ms, o.batch_size), (None, None));
        let o = parse(r#"{"topic": "t", "config": {"linger_ms": 0, "batch_size": 65536}}"#).unwrap();
        assert_eq!((o.linger_ms, o.batch_size), (Some(0), Some(65536)));
    }

    #[test]
    fn at_least_once_unless_asked() {
        assert_eq!(parse(r#"{"topic": "t"}"#).unwrap().guarantee, DeliveryGuarantee::AtLeastOnce);
        let o = parse(r#"{"topic": "t", "config": {"deliveryGuarantee": "exactlyOnce"}}"#).unwrap();
        assert_eq!(o.guarantee, DeliveryGuarantee::ExactlyOnce);
    }
}
