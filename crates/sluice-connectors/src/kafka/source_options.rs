//! The Kafka-specific fields of a `$source` stage.

use serde::de::IgnoredAny;
use serde::Deserialize;
use sluice_mql::serde_value::{from_document, Raw};
use sluice_mql::{Document, Value};

use super::KeyFormat;

/// Where a partition with no checkpointed or committed offset starts (`config.auto_offset_reset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OffsetReset {
    /// The oldest message still in the topic.
    Earliest,
    /// Only messages produced from now on. Atlas's default.
    #[default]
    Latest,
}

/// `$source` on a Kafka connection.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct KafkaSourceOptions {
    /// `topic`: one name or several.
    pub topics: Vec<String>,
    /// `config.group_id`; Atlas's default is derived from the processor.
    pub group_id: Option<String>,
    /// `config.auto_offset_reset`.
    pub offset_reset: OffsetReset,
    /// `config.keyFormat`.
    pub key_format: KeyFormat,
    /// `config.keyFormatError`: `dlq` (the default) sends a message whose key does not decode to
    /// the DLQ; `passThrough` keeps it, with the key as binary data.
    pub key_error_to_dlq: bool,
    /// `config.enable_auto_commit`: commit offsets to the consumer group after each checkpoint.
    pub commit_offsets: bool,
}

/// The fields of a Kafka `$source` as Atlas names them (the common ones taken out).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Fields {
    topic: Option<Raw>,
    config: Option<Config>,
    #[serde(rename = "schemaRegistry")]
    schema_registry: Option<IgnoredAny>,
}

/// `$source.config` of a Kafka connection.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Config {
    group_id: Option<String>,
    auto_offset_reset: Option<OffsetResetName>,
    #[serde(rename = "keyFormat")]
    key_format: Option<String>,
    #[serde(rename = "keyFormatError")]
    key_format_error: Option<KeyFormatError>,
    enable_auto_commit: Option<bool>,
}

/// `auto_offset_reset`, with librdkafka's other spellings.
#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum OffsetResetName {
    #[serde(alias = "smallest", alias = "beginning")]
    Earliest,
    #[serde(alias = "largest", alias = "end")]
    Latest,
}

/// `keyFormatError`.
#[derive(Deserialize)]
enum KeyFormatError {
    #[serde(rename = "dlq")]
    Dlq,
    #[serde(rename = "passThrough")]
    PassThrough,
}

impl KafkaSourceOptions {
    /// Parses the connector options of a `$source` (what is left after the common fields).
    pub fn parse(options: &Document) -> Result<KafkaSourceOptions, String> {
        let f: Fields = from_document(options).map_err(|e| e.describe("$source"))?;
        let topics = match f.topic.map(|r| r.0) {
            None => return Err("$source.topic is required for a Kafka connection".into()),
            Some(Value::String(t)) => vec![t.to_string()],
            Some(Value::Array(items)) => items
                .iter()
                .map(|t| t.as_str().map(str::to_string).ok_or("$source.topic must hold strings"))
                .collect::<Result<_, _>>()?,
            Some(_) => return Err("$source.topic must be a string or an array of strings".into()),
        };
        if topics.is_empty() || topics.iter().any(String::is_empty) {
            return Err("$source.topic must name at least one topic".into());
        }
        if f.schema_registry.is_some() {
            return Err("$source.schemaRegistry is not supported: Sluice reads JSON messages".into());
        }
        let c = f.config.unwrap_or_default();
        let key_format = match c.key_format {
            None => KeyFormat::default(),
            Some(t) => KeyFormat::parse(&t)
                .ok_or_else(|| format!("$source.config.keyFormat must be one of {}, got '{}'", KeyFormat::NAMES, t))?,
        };
        Ok(KafkaSourceOptions {
            topics,
            group_id: c.group_id,
            offset_reset: match c.auto_offset_reset {
                Some(OffsetResetName::Earliest) => OffsetReset::Earliest,
                Some(OffsetResetName::Latest) | None => OffsetReset::Latest,
            },
            key_format,
            key_error_to_dlq: !matches!(c.key_format_error, Some(KeyFormatError::PassThrough)),
            commit_offsets: c.enable_auto_commit.unwrap_or(true),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_mql::json::parse_document;

    fn parse(json: &str) -> Result<KafkaSourceOptions, String> {
        KafkaSourceOptions::parse(&parse_document(json).unwrap())
    }

    #[test]
    fn reads_atlas_fields() {
        let o = parse(
            r#"{"topic": ["a", "b"], "config": {"group_id": "g", "auto_offset_reset": "earliest",
                "keyFormat": "string", "keyFormatError": "passThrough", "enable_auto_commit": false}}"#,
        )
        .unwrap();
        assert_eq!(o.topics, vec!["a", "b"]);
        assert_eq!(o.group_id.as_deref(), Some("g"));
        assert_eq!(o.offset_reset, OffsetReset::Earliest);
        assert_eq!(o.key_format, KeyFormat::String);
        assert!(!o.key_error_to_dlq);
        assert!(!o.commit_offsets);
        let d = parse(r#"{"topic": "t"}"#).unwrap();
        assert_eq!(
            (d.offset_reset, d.key_format, d.key_error_to_dlq, d.commit_offsets),
            (OffsetReset::Latest, KeyFormat::BinData, true, true)
        );
    }

    #[test]
    fn errors_name_the_field() {
        assert!(parse("{}").unwrap_err().contains("topic"));
        assert!(parse(r#"{"topic": 3}"#).unwrap_err().contains("topic"));
        assert!(parse(r#"{"topic": "t", "config": {"auto_offset_reset": "middle"}}"#)
            .unwrap_err()
            .contains("auto_offset_reset"));
        assert!(parse(r#"{"topic": "t", "config": {"keyFormat": "xml"}}"#).unwrap_err().contains("keyFormat"));
        assert!(parse(r#"{"topic": "t", "config": {"fetch.max.bytes": "1"}}"#)
            .unwrap_err()
            .contains("fetch.max.bytes"));
        assert!(parse(r#"{"topic": "t", "db": "x"}"#).unwrap_err().contains("db"));
    }
}
