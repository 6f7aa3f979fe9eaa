//! Dead-letter queue records: what failed, where, and why.

use sluice_mql::{Document, Str, Value};

/// A document that an operator could not process.
#[derive(Debug, Clone, PartialEq)]
pub struct DlqRecord {
    /// The operator (stage) that rejected it, e.g. `$validate` or `$tumblingWindow`.
    pub operator_name: String,
    /// Why, e.g. `$divide: can't $divide by zero` or `late event`.
    pub reason: String,
    /// The document as the operator received it (absent for undecodable input).
    pub doc: Option<Document>,
    /// The raw input, for input that could not be decoded.
    pub raw: Option<Vec<u8>>,
    /// The event's stream metadata.
    pub meta: Option<Document>,
}

impl DlqRecord {
    /// The DLQ document Atlas writes: `{processorName, dlqTime, operatorName, errInfo: {reason}, doc, _stream_meta}`.
    pub fn to_document(&self, processor_name: &str, now_ms: i64) -> Document {
        let mut d = Document::with_capacity(6);
        d.push_unique(Str::from("processorName"), Value::str(processor_name));
        d.push_unique(Str::from("dlqTime"), Value::DateTime(now_ms));
        d.push_unique(Str::from("operatorName"), Value::str(&self.operator_name));
        let mut err = Document::with_capacity(1);
        err.push_unique(Str::from("reason"), Value::str(&self.reason));
        d.push_unique(Str::from("errInfo"), Value::Document(err));
        if let Some(doc) = &self.doc {
            d.push_unique(Str::from("doc"), Value::Document(doc.clone()));
        }
        if let Some(raw) = &self.raw {
            // Text stays readable; other bytes are kept exactly, as binary data.
            let v = match std::str::from_utf8(raw) {
                Ok(text) => Value::str(text),
                Err(_) => Value::Binary(0, raw.clone()),
            };
            d.push_unique(Str::from("raw"), v);
        }
        if let Some(meta) = &self.meta {
            d.push_unique(Str::from("_stream_meta"), Value::Document(meta.clone()));
        }
        d
    }
}
