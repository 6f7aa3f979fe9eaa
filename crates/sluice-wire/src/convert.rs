//! Between the wire's BSON and the API's JSON (relaxed Extended JSON both ways) and the
//! engine's documents (through their BSON bytes, losslessly).

use bson::{Bson, Document};
use serde_json::Value as Json;

/// A BSON value as relaxed Extended JSON, what the HTTP API's validation reads.
pub fn to_json(v: &Bson) -> Json {
    v.clone().into_relaxed_extjson()
}

/// JSON (Extended JSON understood) as BSON; a non-object becomes an empty document.
pub fn to_document(j: Json) -> Document {
    match Bson::try_from(j) {
        Ok(Bson::Document(d)) => d,
        _ => Document::new(),
    }
}

/// JSON as a BSON value.
pub fn to_bson(j: Json) -> Bson {
    Bson::try_from(j).unwrap_or(Bson::Null)
}

/// An engine document as BSON.
pub fn from_engine(d: &sluice_mql::Document) -> Option<Document> {
    let bytes = sluice_mql::bson::encode_document(d).ok()?;
    Document::from_reader(&mut &bytes[..]).ok()
}

/// A BSON document as an engine document.
pub fn to_engine(d: &Document) -> Option<sluice_mql::Document> {
    let mut bytes = Vec::new();
    d.to_writer(&mut bytes).ok()?;
    sluice_mql::bson::decode_document(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    #[test]
    fn round_trips() {
        let d = doc! {"a": 1, "b": [1.5, "x"], "t": bson::DateTime::from_millis(1_700_000_000_000)};
        assert_eq!(to_document(to_json(&Bson::Document(d.clone()))), d);
        assert_eq!(from_engine(&to_engine(&d).unwrap()).unwrap(), d);
    }
}
