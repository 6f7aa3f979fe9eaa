//! The Kafka-specific fields of an `$emit` stage.

use sluice_mql::expr::{compile, Expr};
use sluice_mql::json::JsonMode;
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeliveryGuarantee {
    /// Every record, some perhaps twice (what was written after the last checkpoint is written
    /// again on resume).
    #[default]
    AtLeastOnce,
    /// Every record once, to a `read_committed` consumer: output is written in transactions that
    /// commit with the checkpoints, so it becomes visible once per checkpoint interval.
    ExactlyOnce,
}

impl KafkaEmitOptions {
    /// Parses the connector options of an `$emit` (everything but `connectionName`).
    pub fn parse(options: &Document) -> Result<KafkaEmitOptions, String> {
        for (k, _) in options.iter() {
            if !matches!(k.as_str(), "topic" | "config") {
                return Err(format!("$emit.{} is not a field of a Kafka $emit", k));
            }
        }
        let topic = match options.get("topic") {
            None => return Err("$emit.topic is required for a Kafka connection".into()),
            Some(Value::String(t)) if !t.starts_with('$') => {
                if t.is_empty() {
                    return Err("$emit.topic must not be empty".into());
                }
                TopicSpec::Fixed(t.to_string())
            }
            Some(v) => TopicSpec::Computed(compile(v).map_err(|e| format!("$emit.topic: {}", e))?),
        };
        let mut o = KafkaEmitOptions {
            topic,
            key: None,
            key_format: KeyFormat::BinData,
            headers: None,
            output: JsonMode::Relaxed,
            iso_dates: false,
            compression: "none".into(),
            acks: -1,
            linger_ms: None,
            batch_size: None,
            guarantee: DeliveryGuarantee::AtLeastOnce,
        };
        let Some(config) = options.get("config") else { return Ok(o) };
        let config = config.as_document().ok_or("$emit.config must be an object")?;
        for (k, v) in config.iter() {
            let name = k.as_str();
            let text = || v.as_str().ok_or_else(|| format!("$emit.config.{} must be a string", name));
            match name {
                "key" => o.key = Some(compile(v).map_err(|e| format!("$emit.config.key: {}", e))?),
                "headers" => o.headers = Some(compile(v).map_err(|e| format!("$emit.config.headers: {}", e))?),
                "keyFormat" => {
                    let t = text()?;
                    o.key_format = KeyFormat::parse(t).ok_or_else(|| {
                        format!("$emit.config.keyFormat must be one of {}, got '{}'", KeyFormat::NAMES, t)
                    })?;
                }
                "outputFormat" => {
                    o.output = match text()? {
                        "relaxedJson" => JsonMode::Relaxed,
                        "canonicalJson" => JsonMode::Canonical,
                        other => {
                            return Err(format!(
                                "$emit.config.outputFormat must be relaxedJson or canonicalJson, got '{}'",
                                other
                            ))
                        }
                    }
                }
                "dateFormat" => {
                    o.iso_dates = match text()? {
                        "default" => false,
                        "ISO8601" => true,
                        other => {
                            return Err(format!("$emit.config.dateFormat must be default or ISO8601, got '{}'", other))
                        }
                    }
                }
                "compression_type" => {
                    let t = text()?;
                    if !matches!(t, "none" | "gzip" | "snappy" | "lz4" | "zstd") {
                        return Err(format!(
                            "$emit.config.compression_type must be one of none, gzip, snappy, lz4, zstd, got '{}'",
                            t
                        ));
                    }
                    o.compression = t.to_string();
                }
                "acks" => {
                    o.acks = match v.as_exact_i64().or_else(|| (v.as_str() == Some("all")).then_some(-1)) {
                        Some(n @ -1..=1) => n as i32,
                        _ => return Err("$emit.config.acks must be 0, 1, -1 or \"all\"".into()),
                    }
                }
                "linger_ms" => {
                    o.linger_ms = match v.as_exact_i64() {
                        Some(n @ 0..=60_000) => Some(n as u32),
                        _ => return Err("$emit.config.linger_ms must be an integer from 0 to 60000".into()),
                    }
                }
                "batch_size" => {
                    o.batch_size = match v.as_exact_i64() {
                        Some(n @ 1..=2_147_483_647) => Some(n as u32),
                        _ => return Err("$emit.config.batch_size must be a positive integer (bytes)".into()),
                    }
                }
                "deliveryGuarantee" => {
                    o.guarantee = match text()? {
                        "atLeastOnce" => DeliveryGuarantee::AtLeastOnce,
                        "exactlyOnce" => DeliveryGuarantee::ExactlyOnce,
                        other => {
                            return Err(format!(
                                "$emit.config.deliveryGuarantee must be atLeastOnce or exactlyOnce, got '{}'",
                                other
                            ))
                        }
                    }
                }
                other => return Err(format!("$emit.config.{} is not a Kafka $emit setting", other)),
            }
        }
        if o.guarantee == DeliveryGuarantee::ExactlyOnce && o.acks != -1 {
            return Err("$emit.config.deliveryGuarantee exactlyOnce needs acks -1 (all), the default".into());
        }
        Ok(o)
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
