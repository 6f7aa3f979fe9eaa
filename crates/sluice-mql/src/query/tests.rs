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
