//! Documents to and from the MongoDB driver's BSON, through the BSON bytes both sides speak.

use mongodb::bson;
use sluice_mql::bson::{decode_document, encode_document};
use sluice_mql::Document;

/// Our document as the driver's.
pub fn to_driver(doc: &Document) -> Result<bson::Document, String> {
    let bytes = encode_document(doc).map_err(|e| e.to_string())?;
    bson::Document::from_reader(&mut bytes.as_slice()).map_err(|e| e.to_string())
}

/// Our document as the driver's raw BSON: encoded once, never parsed into a tree.
pub(crate) fn to_driver_raw(doc: &Document) -> Result<bson::RawDocumentBuf, String> {
    let bytes = encode_document(doc).map_err(|e| e.to_string())?;
    bson::RawDocumentBuf::from_bytes(bytes).map_err(|e| e.to_string())
}

/// The driver's document as ours.
pub fn from_driver(doc: &bson::Document) -> Result<Document, String> {
    let mut bytes = Vec::new();
    doc.to_writer(&mut bytes).map_err(|e| e.to_string())?;
    decode_document(&bytes).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_mql::json::parse_document;

    #[test]
    fn types_survive_the_round_trip() {
        let d = parse_document(
            r#"{"a": {"$numberLong": "5"}, "b": 1.5, "c": {"$date": "2024-01-01T00:00:00Z"},
                "d": {"$oid": "65a1b2c3d4e5f60718293a4b"}, "e": [1, "x", {"f": null}], "g": {"$numberDecimal": "1.10"}}"#,
        )
        .unwrap();
        let there = to_driver(&d).unwrap();
        assert_eq!(there.get_i64("a").unwrap(), 5);
        assert_eq!(from_driver(&there).unwrap(), d);
    }
}
