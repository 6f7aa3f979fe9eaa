//! Where a Kafka `$source` stands, typed: for each partition, the next offset to read. It is
//! kept in checkpoints as `{partitions: [{topic, partition, offset}]}`, the form every checkpoint
//! written so far has, and the form `:resetOffsets`-style requests name offsets in.

use serde::Deserialize;
use sluice_mql::serde_value::from_value;
use sluice_mql::{Document, Str, Value};

/// One partition's next offset.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartitionOffset {
    /// The topic.
    pub topic: String,
    /// The partition of the topic.
    pub partition: i32,
    /// The next offset to read.
    pub offset: i64,
}

/// A Kafka source's position: the partitions it has a place in.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaPosition {
    /// Each partition's next offset.
    #[serde(default)]
    pub partitions: Vec<PartitionOffset>,
}

impl PartitionOffset {
    /// `{topic, partition, offset}`.
    pub fn to_value(&self) -> Value {
        let mut d = Document::with_capacity(3);
        d.push_unique(Str::from("topic"), Value::str(&self.topic));
        d.push_unique(Str::from("partition"), Value::Int32(self.partition));
        d.push_unique(Str::from("offset"), Value::Int64(self.offset));
        Value::Document(d)
    }

    /// A list of `{topic, partition, offset}`, as a request names offsets.
    pub fn list_from_value(v: &Value) -> Result<Vec<PartitionOffset>, String> {
        from_value(v).map_err(|e| e.describe("offsets"))
    }
}

impl KafkaPosition {
    /// The checkpoint form.
    pub fn to_value(&self) -> Value {
        let mut d = Document::with_capacity(1);
        d.push_unique(Str::from("partitions"), Value::Array(self.partitions.iter().map(|p| p.to_value()).collect()));
        Value::Document(d)
    }

    /// Reads the checkpoint form; the error names the field that is wrong.
    pub fn from_value(v: &Value) -> Result<KafkaPosition, String> {
        from_value(v).map_err(|e| e.describe("position"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_mql::json::parse_value;

    #[test]
    fn round_trips_the_checkpoint_form() {
        let p = KafkaPosition {
            partitions: vec![
                PartitionOffset { topic: "a".into(), partition: 0, offset: 7 },
                PartitionOffset { topic: "b".into(), partition: 3, offset: 0 },
            ],
        };
        assert_eq!(KafkaPosition::from_value(&p.to_value()).unwrap(), p);
        // As written by earlier versions (and by mongosh, with whole doubles).
        let old = parse_value(r#"{"partitions": [{"topic": "a", "partition": 0, "offset": 7.0}]}"#).unwrap();
        assert_eq!(KafkaPosition::from_value(&old).unwrap().partitions[0].offset, 7);
        assert_eq!(KafkaPosition::from_value(&parse_value("{}").unwrap()).unwrap(), KafkaPosition::default());
    }

    #[test]
    fn errors_name_the_field() {
        let e = KafkaPosition::from_value(&parse_value(r#"{"partitions": [{"topic": "a", "offset": 1}]}"#).unwrap())
            .unwrap_err();
        assert!(e.contains("partition"), "{}", e);
        let e = PartitionOffset::list_from_value(
            &parse_value(r#"[{"topic": "a", "partition": "x", "offset": 1}]"#).unwrap(),
        )
        .unwrap_err();
        assert!(e.contains("offsets.0.partition"), "{}", e);
    }
}
