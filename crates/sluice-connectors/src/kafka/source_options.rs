//! The Kafka-specific fields of a `$source` stage.

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

impl KafkaSourceOptions {
    /// Parses the connector options of a `$source` (what is left after the common fields).
    pub fn parse(options: &Document) -> Result<KafkaSourceOptions, String> {
        let mut o = KafkaSourceOptions { key_error_to_dlq: true, commit_offsets: true, ..Default::default() };
        for (k, _) in options.iter() {
            if !matches!(k.as_str(), "topic" | "config" | "schemaRegistry") {
                return Err(format!("$source.{} is not a field of a Kafka $source", k));
            }
        }
        o.topics = match options.get("topic") {
            None => return Err("$source.topic is required for a Kafka connection".into()),
            Some(Value::String(t)) => vec![t.to_string()],
            Some(Value::Array(items)) => items
                .iter()
                .map(|t| t.as_str().map(str::to_string).ok_or("$source.topic must hold strings"))
                .collect::<Result<_, _>>()?,
            Some(_) => return Err("$source.topic must be a string or an array of strings".into()),
        };
        if o.topics.is_empty() || o.topics.iter().any(String::is_empty) {
            return Err("$source.topic must name at least one topic".into());
        }
        if options.contains_key("schemaRegistry") {
            return Err("$source.schemaRegistry is not supported: Sluice reads JSON messages".into());
        }
        let Some(config) = options.get("config") else { return Ok(o) };
        let config = config.as_document().ok_or("$source.config must be an object")?;
        for (k, v) in config.iter() {
            let text = || v.as_str().ok_or_else(|| format!("$source.config.{} must be a string", k));
            match k.as_str() {
                "group_id" => o.group_id = Some(text()?.to_string()),
                "auto_offset_reset" => {
                    o.offset_reset = match text()? {
                        "earliest" | "smallest" | "beginning" => OffsetReset::Earliest,
                        "latest" | "largest" | "end" => OffsetReset::Latest,
                        other => {
                            return Err(format!(
                                "$source.config.auto_offset_reset must be earliest or latest, got '{}'",
                                other
                            ))
                        }
                    }
                }
                "keyFormat" => {
                    let t = text()?;
                    o.key_format = KeyFormat::parse(t).ok_or_else(|| {
                        format!("$source.config.keyFormat must be one of {}, got '{}'", KeyFormat::NAMES, t)
                    })?;
                }
                "keyFormatError" => {
                    o.key_error_to_dlq = match text()? {
                        "dlq" => true,
                        "passThrough" => false,
                        other => {
                            return Err(format!(
                                "$source.config.keyFormatError must be dlq or passThrough, got '{}'",
                                other
                            ))
                        }
                    }
                }
                "enable_auto_commit" => {
                    o.commit_offsets = match v {
                        Value::Bool(b) => *b,
                        _ => return Err("$source.config.enable_auto_commit must be a boolean".into()),
                    }
                }
                other => return Err(format!("$source.config.{} is not a Kafka $source setting", other)),
            }
        }
        Ok(o)
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
