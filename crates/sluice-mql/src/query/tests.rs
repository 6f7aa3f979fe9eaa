use super::*;
use crate::json::parse_document;

fn m(query: &str, doc: &str) -> bool {
    let q = parse_document(query).expect("valid query json");
    let d = parse_document(doc).expect("valid doc json");
    compile_filter(&q).expect("valid query").matches(&d)
}

#[test]
fn comparison_operators_respect_type_brackets() {
    assert!(m(r#"{"obs.watts": {"$gt": 50}}"#, r#"{"obs": {"watts": 51}}"#));
    assert!(!m(r#"{"obs.watts": {"$gt": 50}}"#, r#"{"obs": {"watts": 50}}"#));
    assert!(!m(r#"{"a": {"$gt": 5}}"#, r#"{"a": "z"}"#));
    assert!(m(r#"{"a": {"$gte": 1.0, "$lt": 2}}"#, r#"{"a": 1}"#));
    assert!(m(r#"{"a": {"$lte": {"$numberLong": "3"}}}"#, r#"{"a": 3.0}"#));
}

#[test]
fn arrays_are_traversed_implicitly() {
    assert!(m(r#"{"tags": "b"}"#, r#"{"tags": ["a", "b"]}"#));
    assert!(m(r#"{"tags": ["a", "b"]}"#, r#"{"tags": ["a", "b"]}"#));
    assert!(m(r#"{"items.qty": {"$gt": 5}}"#, r#"{"items": [{"qty": 1}, {"qty": 9}]}"#));
    assert!(!m(r#"{"items.qty": {"$gt": 10}}"#, r#"{"items": [{"qty": 1}, {"qty": 9}]}"#));
    assert!(m(r#"{"items.1.qty": 9}"#, r#"{"items": [{"qty": 1}, {"qty": 9}]}"#));
}

#[test]
fn null_matches_missing_and_exists_does_not() {
    assert!(m(r#"{"a": null}"#, r#"{"b": 1}"#));
    assert!(m(r#"{"a": null}"#, r#"{"a": null}"#));
    assert!(!m(r#"{"a": null}"#, r#"{"a": 0}"#));
    assert!(!m(r#"{"a": {"$exists": true}}"#, r#"{"b": 1}"#));
    assert!(m(r#"{"a": {"$exists": false}}"#, r#"{"b": 1}"#));
    assert!(m(r#"{"a": {"$ne": null}}"#, r#"{"a": 1}"#));
    assert!(!m(r#"{"a": {"$ne": null}}"#, r#"{"b": 1}"#));
    // $in with null matches a missing field too, and $nin with null excludes it.
    assert!(m(r#"{"a": {"$in": [5, null]}}"#, r#"{"b": 1}"#));
    assert!(m(r#"{"a": {"$in": [null]}}"#, r#"{"a": null}"#));
    assert!(!m(r#"{"a": {"$in": [5]}}"#, r#"{"b": 1}"#));
    assert!(!m(r#"{"a": {"$nin": [null]}}"#, r#"{"b": 1}"#));
    assert!(m(r#"{"a": {"$nin": [null]}}"#, r#"{"a": 2}"#));
}

#[test]
fn logical_and_set_operators() {
    let doc = r#"{"a": 1, "b": "x", "c": [1, 2, 3]}"#;
    assert!(m(r#"{"$or": [{"a": 2}, {"b": "x"}]}"#, doc));
    assert!(!m(r#"{"$nor": [{"a": 1}]}"#, doc));
    assert!(m(r#"{"$and": [{"a": 1}, {"c": 2}]}"#, doc));
    assert!(m(r#"{"a": {"$in": [5, 1]}}"#, doc));
    assert!(m(r#"{"a": {"$nin": [5, 6]}}"#, doc));
    assert!(m(r#"{"c": {"$all": [3, 1]}}"#, doc));
    assert!(!m(r#"{"c": {"$all": [3, 4]}}"#, doc));
    assert!(m(r#"{"c": {"$size": 3}}"#, doc));
    assert!(m(r#"{"c": {"$elemMatch": {"$gt": 2, "$lt": 4}}}"#, doc));
    assert!(!m(r#"{"c": {"$elemMatch": {"$gt": 3}}}"#, doc));
    assert!(m(r#"{"a": {"$not": {"$gt": 5}}}"#, doc));
}

#[test]
fn type_regex_mod_and_expr() {
    let doc = r#"{"a": 1, "l": {"$numberLong": "4"}, "s": "Device_8", "arr": [{"k": 1}, {"k": 5}]}"#;
    assert!(m(r#"{"a": {"$type": "int"}}"#, doc));
    assert!(m(r#"{"l": {"$type": "number"}}"#, doc));
    assert!(m(r#"{"l": {"$type": 18}}"#, doc));
    assert!(m(r#"{"arr": {"$type": "array"}}"#, doc));
    assert!(m(r#"{"s": {"$regex": "^device", "$options": "i"}}"#, doc));
    assert!(!m(r#"{"s": {"$regex": "^device"}}"#, doc));
    assert!(m(r#"{"s": {"$regularExpression": {"pattern": "_8$", "options": ""}}}"#, doc));
    assert!(m(r#"{"l": {"$mod": [3, 1]}}"#, doc));
    assert!(m(r#"{"$expr": {"$gt": ["$l", "$a"]}}"#, doc));
    assert!(m(r#"{"arr": {"$elemMatch": {"k": {"$gte": 5}}}}"#, doc));
}

#[test]
fn bad_queries_are_errors() {
    for q in [
        r#"{"$foo": 1}"#,
        r#"{"a": {"$bogus": 1}}"#,
        r#"{"$or": []}"#,
        r#"{"a": {"$mod": [0, 1]}}"#,
        r#"{"a": {"$size": -1}}"#,
    ] {
        let parsed = parse_document(q).expect("valid json");
        assert!(compile_filter(&parsed).is_err(), "{} should not compile", q);
    }
}

#[test]
fn json_schema_validates_types_ranges_and_structure() {
    let schema = r#"{"$jsonSchema": {"bsonType": "object", "required": ["device_id", "obs"],
        "properties": {
            "device_id": {"bsonType": "string", "pattern": "^device_[0-9]+$"},
            "group_id": {"bsonType": ["int", "long"], "minimum": 0, "maximum": 10, "exclusiveMaximum": true},
            "obs": {"bsonType": "object", "required": ["watts"], "additionalProperties": false,
                    "properties": {"watts": {"bsonType": "number", "minimum": 0}, "temp": {"type": "number"}}},
            "tags": {"bsonType": "array", "items": {"bsonType": "string"}, "maxItems": 2, "uniqueItems": true},
            "kind": {"enum": ["a", "b"]}}}}"#;
    assert!(m(
        schema,
        r#"{"device_id": "device_1", "group_id": 3, "obs": {"watts": 2.5, "temp": 1}, "tags": ["x"], "kind": "a"}"#
    ));
    assert!(!m(schema, r#"{"device_id": "dev", "obs": {"watts": 1}}"#), "pattern");
    assert!(!m(schema, r#"{"device_id": "device_1"}"#), "required");
    assert!(!m(schema, r#"{"device_id": "device_1", "obs": {"watts": -1}}"#), "minimum");
    assert!(!m(schema, r#"{"device_id": "device_1", "obs": {"watts": 1, "x": 1}}"#), "additionalProperties");
    assert!(!m(schema, r#"{"device_id": "device_1", "group_id": 10, "obs": {"watts": 1}}"#), "exclusiveMaximum");
    assert!(!m(schema, r#"{"device_id": "device_1", "group_id": 1.5, "obs": {"watts": 1}}"#), "bsonType int");
    assert!(!m(schema, r#"{"device_id": "device_1", "obs": {"watts": 1}, "tags": ["x", "x"]}"#), "uniqueItems");
    assert!(!m(schema, r#"{"device_id": "device_1", "obs": {"watts": 1}, "tags": ["x", 1]}"#), "items");
    assert!(!m(schema, r#"{"device_id": "device_1", "obs": {"watts": 1}, "kind": "c"}"#), "enum");
    assert!(m(
        r#"{"$jsonSchema": {"anyOf": [{"required": ["a"]}, {"required": ["b"]}]}, "c": 1}"#,
        r#"{"b": 1, "c": 1}"#
    ));
    assert!(!m(r#"{"$jsonSchema": {"not": {"required": ["a"]}}}"#, r#"{"a": 1}"#));
    let bad = parse_document(r#"{"$jsonSchema": {"bsonType": "nonsense"}}"#).expect("valid json");
    assert!(compile_filter(&bad).is_err());
    let bad = parse_document(r#"{"$jsonSchema": {"$ref": "x"}}"#).expect("valid json");
    assert!(compile_filter(&bad).is_err());
}

#[test]
fn sample_rate_keeps_about_that_share_of_documents() {
    assert!(m(r#"{"$sampleRate": 1}"#, "{}"));
    assert!(!m(r#"{"$sampleRate": 0}"#, "{}"));
    let kept = (0..2000).filter(|_| m(r#"{"$sampleRate": 0.33}"#, "{}")).count();
    assert!((500..820).contains(&kept), "{} of 2000", kept);
    for bad in [r#"{"$sampleRate": 1.5}"#, r#"{"$sampleRate": -0.1}"#, r#"{"$sampleRate": "0.5"}"#] {
        assert!(compile_filter(&parse_document(bad).expect("valid json")).is_err(), "{}", bad);
    }
}
