//! From a Kafka message to a source record: the JSON value becomes the document, and the key,
//! headers, topic, partition, offset and timestamp become its `_stream_meta.source`.

use rdkafka::message::{Headers, Message};
use sluice_engine::SourceRecord;
use sluice_mql::json::parse_document_bytes;
use sluice_mql::{Document, Str, Value};

use super::KeyFormat;

/// How to decode messages of one source.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Decoding {
    pub key_format: KeyFormat,
    pub key_error_to_dlq: bool,
}

/// Decodes one message read from the partition with watermark index `partition`.
pub(crate) fn decode<M: Message>(m: &M, partition: u32, how: Decoding) -> SourceRecord {
    let payload = m.payload().unwrap_or_default();
    let mut key_error = None;
    let key = m.key().map(|k| match how.key_format.decode(k) {
        Ok(v) => v,
        Err(e) => {
            key_error = Some(e);
            Value::Binary(0, k.to_vec())
        }
    });
    let meta = Box::new(stream_meta(m, key));
    if m.payload().is_none() {
        return SourceRecord::Malformed { raw: Vec::new(), error: "message has no value".into(), meta: Some(meta) };
    }
    if let (Some(e), true) = (key_error, how.key_error_to_dlq) {
        return SourceRecord::Malformed { raw: payload.to_vec(), error: e, meta: Some(meta) };
    }
    match parse_document_bytes(payload) {
        Ok(doc) => {
            let time = m.timestamp().to_millis();
            SourceRecord::FromPartition { doc, bytes: payload.len(), partition, meta, time }
        }
        Err(e) => SourceRecord::Malformed {
            raw: payload.to_vec(),
            error: format!("message value is not a JSON document: {}", e),
            meta: Some(meta),
        },
    }
}

/// Atlas `_stream_meta`: `{source: {type, topic, partition, offset, key, headers, ts}}`.
fn stream_meta<M: Message>(m: &M, key: Option<Value>) -> Document {
    let mut src = Document::with_capacity(7);
    src.push_unique(Str::from("type"), Value::str("kafka"));
    src.push_unique(Str::from("topic"), Value::str(m.topic()));
    src.push_unique(Str::from("partition"), Value::Int32(m.partition()));
    src.push_unique(Str::from("offset"), Value::Int64(m.offset()));
    if let Some(k) = key {
        src.push_unique(Str::from("key"), k);
    }
    if let Some(h) = m.headers() {
        let items = h
            .iter()
            .map(|h| {
                let mut d = Document::with_capacity(2);
                d.push_unique(Str::from("k"), Value::str(h.key));
                d.push_unique(Str::from("v"), h.value.map(|v| Value::Binary(0, v.to_vec())).unwrap_or(Value::Null));
                Value::Document(d)
            })
            .collect();
        src.push_unique(Str::from("headers"), Value::Array(items));
    }
    if let Some(ms) = m.timestamp().to_millis() {
        src.push_unique(Str::from("ts"), Value::DateTime(ms));
    }
    let mut meta = Document::with_capacity(1);
    meta.push_unique(Str::from("source"), Value::Document(src));
    meta
}
