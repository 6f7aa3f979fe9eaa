//! Expression semantics, checked against values MongoDB documents or returns.

use super::*;
use crate::json::{parse_document, parse_value};
use crate::Decimal128;
use proptest::prelude::*;

const DOC: &str = r#"{"a": 5, "b": 2, "l": {"$numberLong": "7"}, "d": 2.5, "s": " Hello World ", "n": null,
    "arr": [3, 1, 2], "objs": [{"k": "x", "v": 1}, {"k": "y", "v": 2}],
    "t": {"$date": "2024-08-12T21:41:01.788Z"}, "dec": {"$numberDecimal": "1.10"},
    "obs": {"watts": 252, "temp": 17}, "max_watts": 450}"#;

pub(super) fn eval(expr: &str) -> Result<Value, ExprError> {
    let e = compile(&parse_value(expr).expect("valid json")).expect("compiles");
    let doc = parse_document(DOC).expect("valid doc");
    e.eval_owned(&Input::doc(&doc), &mut Scope::new(1_000))
}

pub(super) fn ok(expr: &str) -> Value {
    eval(expr).unwrap_or_else(|e| panic!("{} failed: {}", expr, e))
}

pub(super) fn v(json: &str) -> Value {
    parse_value(json).expect("valid value")
}

#[test]
fn field_paths_variables_and_literals() {
    assert_eq!(ok(r#""$obs.watts""#), v("252"));
    assert_eq!(ok(r#""$objs.k""#), v(r#"["x", "y"]"#));
    assert!(ok(r#""$nope""#).is_missing());
    assert_eq!(ok(r#""$$ROOT.a""#), v("5"));
    assert_eq!(ok(r#"{"$literal": "$a"}"#), v(r#""$a""#));
    assert_eq!(ok(r#""$$NOW""#), Value::DateTime(1_000));
    assert_eq!(ok(r#"{"$let": {"vars": {"x": "$a"}, "in": {"$multiply": ["$$x", 2]}}}"#), v("10"));
    assert_eq!(ok(r#"{"x": "$a", "y": "$nope"}"#), v(r#"{"x": 5}"#));
    assert_eq!(ok(r#"["$a", "$nope"]"#), v("[5, null]"));
}

#[test]
fn arithmetic_keeps_mongodb_types() {
    assert_eq!(ok(r#"{"$add": ["$a", "$b"]}"#), v("7"));
    assert_eq!(ok(r#"{"$add": ["$a", "$l"]}"#), Value::Int64(12));
    assert_eq!(ok(r#"{"$add": ["$a", "$d"]}"#), v("7.5"));
    assert_eq!(ok(r#"{"$add": ["$a", "$n"]}"#), Value::Null);
    assert_eq!(ok(r#"{"$add": ["$t", 1000]}"#), Value::DateTime(1_723_498_862_788));
    assert_eq!(ok(r#"{"$subtract": ["$t", {"$date": "2024-08-12T21:41:00.788Z"}]}"#), Value::Int64(1000));
    assert_eq!(ok(r#"{"$divide": ["$obs.watts", "$max_watts"]}"#), v("0.56"));
    assert_eq!(ok(r#"{"$divide": [10, 4]}"#), v("2.5"));
    assert_eq!(ok(r#"{"$mod": [7, 3]}"#), v("1"));
    assert_eq!(ok(r#"{"$multiply": ["$dec", 2]}"#), v(r#"{"$numberDecimal": "2.20"}"#));
    assert_eq!(ok(r#"{"$abs": -3}"#), v("3"));
    assert_eq!(ok(r#"{"$ceil": 2.1}"#), v("3.0"));
    assert_eq!(ok(r#"{"$floor": -2.1}"#), v("-3.0"));
    assert_eq!(ok(r#"{"$round": [2.5, 0]}"#), v("2.0"));
    assert_eq!(ok(r#"{"$round": [3.5]}"#), v("4.0"));
    assert_eq!(ok(r#"{"$round": [1.2345, 2]}"#), v("1.23"));
    assert_eq!(ok(r#"{"$trunc": [-2.7]}"#), v("-2.0"));
    assert_eq!(ok(r#"{"$sqrt": 16}"#), v("4.0"));
    assert_eq!(ok(r#"{"$pow": [2, 10]}"#), v("1024"));
    assert_eq!(ok(r#"{"$pow": [2, -1]}"#), v("0.5"));
    assert_eq!(ok(r#"{"$exp": 0}"#), v("1.0"));
    assert_eq!(ok(r#"{"$ln": 1}"#), v("0.0"));
    assert_eq!(ok(r#"{"$log": [8, 2]}"#), v("3.0"));
    assert_eq!(ok(r#"{"$log10": 1000}"#), v("3.0"));
}

#[test]
fn arithmetic_errors_name_the_operator() {
    let e = eval(r#"{"$divide": ["$a", 0]}"#).expect_err("divide by zero");
    assert_eq!(e.op, "$divide");
    assert!(eval(r#"{"$add": ["$a", "$s"]}"#).is_err());
    assert!(eval(r#"{"$sqrt": -1}"#).is_err());
    assert!(eval(r#"{"$mod": [1, 0]}"#).is_err());
}

#[test]
fn comparison_boolean_and_conditionals() {
    assert_eq!(ok(r#"{"$gt": ["$a", "$b"]}"#), v("true"));
    assert_eq!(ok(r#"{"$eq": ["$a", 5.0]}"#), v("true"));
    assert_eq!(ok(r#"{"$eq": ["$nope", null]}"#), v("false"));
    assert_eq!(ok(r#"{"$lt": ["$nope", null]}"#), v("true"));
    assert_eq!(ok(r#"{"$cmp": ["b", "a"]}"#), v("1"));
    assert_eq!(ok(r#"{"$and": [1, "$a", true]}"#), v("true"));
    assert_eq!(ok(r#"{"$or": [0, null, "$nope"]}"#), v("false"));
    assert_eq!(ok(r#"{"$not": [0]}"#), v("true"));
    assert_eq!(ok(r#"{"$cond": {"if": {"$gte": ["$a", 5]}, "then": "hi", "else": "lo"}}"#), v(r#""hi""#));
    assert_eq!(ok(r#"{"$cond": [false, 1, 2]}"#), v("2"));
    assert_eq!(ok(r#"{"$ifNull": ["$n", "$nope", "x"]}"#), v(r#""x""#));
    assert_eq!(
        ok(
            r#"{"$switch": {"branches": [{"case": {"$lt": ["$a", 0]}, "then": "neg"}, {"case": {"$gt": ["$a", 0]}, "then": "pos"}], "default": "zero"}}"#
        ),
        v(r#""pos""#)
    );
    assert!(eval(r#"{"$switch": {"branches": [{"case": false, "then": 1}]}}"#).is_err());
    // $and short-circuits: the division by zero is never evaluated.
    assert_eq!(ok(r#"{"$and": [false, {"$divide": [1, 0]}]}"#), v("false"));
}

#[test]
fn strings() {
    assert_eq!(ok(r#"{"$concat": ["a", "-", "b"]}"#), v(r#""a-b""#));
    assert_eq!(ok(r#"{"$concat": ["a", "$n"]}"#), Value::Null);
    assert_eq!(ok(r#"{"$substrCP": ["héllo", 1, 3]}"#), v(r#""éll""#));
    assert_eq!(ok(r#"{"$toLower": "AbC"}"#), v(r#""abc""#));
    assert_eq!(ok(r#"{"$toUpper": "AbC"}"#), v(r#""ABC""#));
    assert_eq!(ok(r#"{"$split": ["a,b,c", ","]}"#), v(r#"["a", "b", "c"]"#));
    assert_eq!(ok(r#"{"$trim": {"input": "$s"}}"#), v(r#""Hello World""#));
    assert_eq!(ok(r#"{"$ltrim": {"input": "xxhixx", "chars": "x"}}"#), v(r#""hixx""#));
    assert_eq!(ok(r#"{"$regexMatch": {"input": "device_8", "regex": "^DEVICE_\\d$", "options": "i"}}"#), v("true"));
    assert_eq!(
        ok(r#"{"$regexFind": {"input": "ab12", "regex": "(\\d)(\\d)"}}"#),
        v(r#"{"match": "12", "idx": 2, "captures": ["1", "2"]}"#)
    );
    assert_eq!(ok(r#"{"$strLenCP": "héllo"}"#), v("5"));
    assert_eq!(ok(r#"{"$strLenBytes": "héllo"}"#), v("6"));
    assert_eq!(ok(r#"{"$indexOfCP": ["cafétéria", "té"]}"#), v("4"));
    assert_eq!(ok(r#"{"$indexOfCP": ["abc", "z"]}"#), v("-1"));
    assert_eq!(ok(r#"{"$replaceAll": {"input": "a.b.c", "find": ".", "replacement": "/"}}"#), v(r#""a/b/c""#));
    assert_eq!(ok(r#"{"$replaceOne": {"input": "a.b.c", "find": ".", "replacement": "/"}}"#), v(r#""a/b.c""#));
    assert!(eval(r#"{"$concat": ["a", 1]}"#).is_err());
}

#[test]
fn arrays() {
    assert_eq!(ok(r#"{"$size": "$arr"}"#), v("3"));
    assert!(eval(r#"{"$size": "$a"}"#).is_err());
    assert_eq!(ok(r#"{"$arrayElemAt": ["$arr", -1]}"#), v("2"));
    assert!(ok(r#"{"$arrayElemAt": ["$arr", 9]}"#).is_missing());
    assert_eq!(ok(r#"{"$in": [1, "$arr"]}"#), v("true"));
    assert_eq!(ok(r#"{"$concatArrays": ["$arr", [9]]}"#), v("[3, 1, 2, 9]"));
    assert_eq!(ok(r#"{"$slice": ["$arr", -2]}"#), v("[1, 2]"));
    assert_eq!(ok(r#"{"$slice": ["$arr", 1, 1]}"#), v("[1]"));
    assert_eq!(ok(r#"{"$first": "$arr"}"#), v("3"));
    assert_eq!(ok(r#"{"$last": "$arr"}"#), v("2"));
    assert_eq!(ok(r#"{"$filter": {"input": "$arr", "as": "x", "cond": {"$gte": ["$$x", 2]}}}"#), v("[3, 2]"));
    assert_eq!(ok(r#"{"$filter": {"input": "$arr", "cond": {"$gte": ["$$this", 2]}, "limit": 1}}"#), v("[3]"));
    assert_eq!(ok(r#"{"$map": {"input": "$arr", "as": "x", "in": {"$multiply": ["$$x", 10]}}}"#), v("[30, 10, 20]"));
    assert_eq!(
        ok(r#"{"$reduce": {"input": "$arr", "initialValue": 0, "in": {"$add": ["$$value", "$$this"]}}}"#),
        v("6")
    );
    assert_eq!(ok(r#"{"$sortArray": {"input": "$arr", "sortBy": -1}}"#), v("[3, 2, 1]"));
    assert_eq!(
        ok(r#"{"$sortArray": {"input": "$objs", "sortBy": {"v": -1}}}"#),
        v(r#"[{"k": "y", "v": 2}, {"k": "x", "v": 1}]"#)
    );
    assert_eq!(ok(r#"{"$sum": "$arr"}"#), v("6"));
    assert_eq!(ok(r#"{"$max": ["$a", "$b", "$n"]}"#), v("5"));
    assert_eq!(ok(r#"{"$range": [0, 6, 2]}"#), v("[0, 2, 4]"));
    assert!(compile(&v(r#"{"$map": {"input": "$arr", "in": "$$undefinedVar"}}"#)).is_err());
}

#[test]
fn types_and_conversion() {
    assert_eq!(ok(r#"{"$type": "$a"}"#), v(r#""int""#));
    assert_eq!(ok(r#"{"$type": "$nope"}"#), v(r#""missing""#));
    assert_eq!(ok(r#"{"$type": "$l"}"#), v(r#""long""#));
    assert_eq!(ok(r#"{"$isNumber": "$dec"}"#), v("true"));
    assert_eq!(ok(r#"{"$toInt": "42"}"#), v("42"));
    assert_eq!(ok(r#"{"$toInt": 2.9}"#), v("2"));
    assert_eq!(ok(r#"{"$toLong": "$t"}"#), Value::Int64(1_723_498_861_788));
    assert_eq!(ok(r#"{"$toDouble": "1.5"}"#), v("1.5"));
    assert_eq!(ok(r#"{"$toDecimal": 2.5}"#), v(r#"{"$numberDecimal": "2.5"}"#));
    assert_eq!(ok(r#"{"$toString": 1.0}"#), v(r#""1""#));
    assert_eq!(ok(r#"{"$toString": "$t"}"#), v(r#""2024-08-12T21:41:01.788Z""#));
    assert_eq!(ok(r#"{"$toBool": 0}"#), v("false"));
    assert_eq!(ok(r#"{"$toBool": ""}"#), v("true"));
    assert_eq!(ok(r#"{"$toDate": "2024-08-12T21:41:01.788+00:00"}"#), ok(r#""$t""#));
    assert_eq!(ok(r#"{"$toObjectId": "5f1d7a5e0000000000000001"}"#), v(r#"{"$oid": "5f1d7a5e0000000000000001"}"#));
    assert!(eval(r#"{"$toInt": "abc"}"#).is_err());
    assert!(eval(r#"{"$toInt": 3000000000}"#).is_err());
    assert_eq!(ok(r#"{"$convert": {"input": "abc", "to": "int", "onError": -1}}"#), v("-1"));
    assert_eq!(ok(r#"{"$convert": {"input": "$nope", "to": "int", "onNull": 0}}"#), v("0"));
    assert_eq!(ok(r#"{"$convert": {"input": "12", "to": 18}}"#), Value::Int64(12));
}

#[test]
fn dates() {
    assert_eq!(ok(r#"{"$year": "$t"}"#), v("2024"));
    assert_eq!(ok(r#"{"$month": "$t"}"#), v("8"));
    assert_eq!(ok(r#"{"$dayOfMonth": "$t"}"#), v("12"));
    assert_eq!(ok(r#"{"$hour": {"date": "$t", "timezone": "+05:30"}}"#), v("3"));
    assert_eq!(ok(r#"{"$minute": "$t"}"#), v("41"));
    assert_eq!(ok(r#"{"$second": "$t"}"#), v("1"));
    assert_eq!(ok(r#"{"$millisecond": "$t"}"#), v("788"));
    assert_eq!(ok(r#"{"$dayOfWeek": "$t"}"#), v("2"));
    assert_eq!(
        ok(r#"{"$dateToString": {"date": "$t", "format": "%Y/%m/%d %H:%M:%S.%L %j %V"}}"#),
        v(r#""2024/08/12 21:41:01.788 225 33""#)
    );
    assert_eq!(ok(r#"{"$dateToString": {"date": "$t"}}"#), v(r#""2024-08-12T21:41:01.788Z""#));
    assert_eq!(ok(r#"{"$dateFromString": {"dateString": "2024-08-12T21:41:01.788+00:00"}}"#), ok(r#""$t""#));
    assert_eq!(
        ok(r#"{"$dateFromString": {"dateString": "12/08/2024 21:41", "format": "%d/%m/%Y %H:%M"}}"#),
        v(r#"{"$date": "2024-08-12T21:41:00Z"}"#)
    );
    assert_eq!(ok(r#"{"$dateFromString": {"dateString": "nonsense", "onError": "bad"}}"#), v(r#""bad""#));
    assert!(eval(r#"{"$dateFromString": {"dateString": "nonsense"}}"#).is_err());
    assert_eq!(ok(r#"{"$dateTrunc": {"date": "$t", "unit": "hour"}}"#), v(r#"{"$date": "2024-08-12T21:00:00Z"}"#));
    assert_eq!(
        ok(r#"{"$dateTrunc": {"date": "$t", "unit": "minute", "binSize": 15}}"#),
        v(r#"{"$date": "2024-08-12T21:30:00Z"}"#)
    );
    assert_eq!(ok(r#"{"$dateTrunc": {"date": "$t", "unit": "month"}}"#), v(r#"{"$date": "2024-08-01T00:00:00Z"}"#));
    assert_eq!(ok(r#"{"$dateTrunc": {"date": "$t", "unit": "week"}}"#), v(r#"{"$date": "2024-08-11T00:00:00Z"}"#));
    assert_eq!(ok(r#"{"$dateTrunc": {"date": "$t", "unit": "quarter"}}"#), v(r#"{"$date": "2024-07-01T00:00:00Z"}"#));
    assert_eq!(
        ok(r#"{"$dateAdd": {"startDate": {"$date": "2024-01-31T00:00:00Z"}, "unit": "month", "amount": 1}}"#),
        v(r#"{"$date": "2024-02-29T00:00:00Z"}"#)
    );
    assert_eq!(
        ok(r#"{"$dateSubtract": {"startDate": "$t", "unit": "day", "amount": 12}}"#),
        v(r#"{"$date": "2024-07-31T21:41:01.788Z"}"#)
    );
    assert_eq!(
        ok(
            r#"{"$dateDiff": {"startDate": {"$date": "2023-12-31T23:59:00Z"}, "endDate": {"$date": "2024-01-01T00:01:00Z"}, "unit": "year"}}"#
        ),
        Value::Int64(1)
    );
    assert_eq!(
        ok(r#"{"$dateDiff": {"startDate": {"$date": "2024-01-01T00:00:00Z"}, "endDate": "$t", "unit": "day"}}"#),
        Value::Int64(224)
    );
    assert!(eval(r#"{"$year": {"date": "$t", "timezone": "Mars/Base"}}"#).is_err());
}

#[test]
fn objects() {
    assert_eq!(ok(r#"{"$mergeObjects": ["$obs", {"temp": 20, "x": 1}]}"#), v(r#"{"watts": 252, "temp": 20, "x": 1}"#));
    assert_eq!(ok(r#"{"$getField": "a"}"#), v("5"));
    assert_eq!(ok(r#"{"$getField": {"field": "temp", "input": "$obs"}}"#), v("17"));
    assert_eq!(
        ok(r#"{"$setField": {"field": "z", "input": "$obs", "value": 1}}"#),
        v(r#"{"watts": 252, "temp": 17, "z": 1}"#)
    );
    assert_eq!(ok(r#"{"$objectToArray": "$obs"}"#), v(r#"[{"k": "watts", "v": 252}, {"k": "temp", "v": 17}]"#));
    assert_eq!(ok(r#"{"$arrayToObject": [[["a", 1], ["b", 2]]]}"#), v(r#"{"a": 1, "b": 2}"#));
    assert_eq!(ok(r#"{"$arrayToObject": "$objs"}"#), v(r#"{"x": 1, "y": 2}"#));
}

#[test]
fn compile_errors() {
    for bad in [
        r#"{"$bogus": 1}"#,
        r#"{"$add": 1, "$sub": 2}"#,
        r#""$""#,
        r#""$$nope""#,
        r#"{"$subtract": [1]}"#,
        r#"{"$meta": "textScore"}"#,
    ] {
        assert!(compile(&v(bad)).is_err(), "{} should not compile", bad);
    }
}

#[test]
fn meta_reads_stream_metadata() {
    let meta = parse_document(r#"{"source": {"topic": "t1"}}"#).expect("valid");
    let doc = Document::new();
    let e = compile(&v(r#"{"$meta": "stream.source.topic"}"#)).expect("compiles");
    let input = Input { root: &doc, meta: Some(&meta) };
    assert_eq!(e.eval_owned(&input, &mut Scope::default()), Ok(v(r#""t1""#)));
}

proptest! {
    /// `$divide`'s shortcut for ints, longs and doubles answers as the general numeric path
    /// (`divide_numbers`), division by zero included; decimals take the general path.
    #[test]
    fn divide_agrees_with_the_general_numeric_path(
        a in prop_oneof![any::<i32>().prop_map(Value::Int32), any::<i64>().prop_map(Value::Int64),
            any::<f64>().prop_map(Value::Double), (-5i32..5).prop_map(Value::Int32),
            Just(Value::Decimal(Decimal128::parse("2.5").expect("valid")))],
        b in prop_oneof![any::<i32>().prop_map(Value::Int32), any::<i64>().prop_map(Value::Int64),
            any::<f64>().prop_map(Value::Double), (-2i32..2).prop_map(Value::Int32), Just(Value::Double(-0.0)),
            Just(Value::Decimal(Decimal128::parse("0.5").expect("valid")))],
    ) {
        let mut doc = Document::new();
        doc.insert("a", a.clone());
        doc.insert("b", b.clone());
        let e = compile(&v(r#"{"$divide": ["$a", "$b"]}"#)).expect("compiles");
        let got = e.eval_owned(&Input::doc(&doc), &mut Scope::default());
        match crate::expr::numeric::divide_numbers(&a, &b) {
            Ok(Some(Value::Double(q))) if q.is_nan() => {
                prop_assert!(matches!(got, Ok(Value::Double(g)) if g.is_nan()), "{:?}", got)
            }
            Ok(Some(q)) => prop_assert_eq!(got, Ok(q)),
            Ok(None) => prop_assert!(false, "numbers are numbers"),
            Err(()) => prop_assert!(got.is_err()),
        }
    }

    #[test]
    fn int_addition_promotes_instead_of_overflowing(a in any::<i32>(), b in any::<i32>()) {
        let e = compile(&v(&format!(r#"{{"$add": [{}, {}]}}"#, a, b))).expect("compiles");
        let r = e.eval_owned(&Input::doc(&Document::new()), &mut Scope::default()).expect("ok");
        let exact = i64::from(a) + i64::from(b);
        match i32::try_from(exact) {
            Ok(i) => prop_assert_eq!(r, Value::Int32(i)),
            Err(_) => prop_assert_eq!(r, Value::Int64(exact)),
        }
    }

    #[test]
    fn date_add_then_diff_round_trips(start in 0i64..4_000_000_000_000, days in -1000i64..1000) {
        let e = compile(&v(&format!(
            r#"{{"$dateDiff": {{"startDate": {{"$date": {{"$numberLong": "{s}"}}}}, "endDate": {{"$dateAdd": {{"startDate": {{"$date": {{"$numberLong": "{s}"}}}}, "unit": "hour", "amount": {h}}}}}, "unit": "hour"}}}}"#,
            s = start, h = days * 24
        ))).expect("compiles");
        let r = e.eval_owned(&Input::doc(&Document::new()), &mut Scope::default()).expect("ok");
        prop_assert_eq!(r, Value::Int64(days * 24));
    }

    /// `{$dateFromString: {dateString}}` compiles to its one-argument form, which must answer as
    /// the general form does with the same defaults spelled out (here: `timezone: "UTC"`).
    #[test]
    fn date_from_string_alone_matches_the_general_form(
        date in "(19|20)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|2[0-8])[T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\\.[0-9]{1,3})?)?(Z|[+-](0[0-9]|1[0-4]):?[0-5][0-9])?",
        noise in "[0-9T:.+Z -]{0,30}",
        pick in 0u8..5,
    ) {
        let x = match pick {
            0 | 1 => Value::String(Str::from(date.as_str())),
            2 => Value::String(Str::from(noise.as_str())),
            3 => Value::Null,
            _ => Value::Int32(7),
        };
        let mut doc = Document::new();
        doc.insert(Str::from("x"), x);
        let of_field = compile(&v(r#"{"$dateFromString": {"dateString": "$x"}}"#)).expect("compiles");
        prop_assert!(matches!(&of_field, Expr::IsoDateOf(_)));
        let alone = compile(&v(r#"{"$dateFromString": {"dateString": {"$ifNull": ["$x", null]}}}"#)).expect("compiles");
        prop_assert!(matches!(&alone, Expr::Call(_, _, args) if args.len() == 1));
        let general =
            compile(&v(r#"{"$dateFromString": {"dateString": "$x", "timezone": "UTC"}}"#)).expect("compiles");
        let input = Input::doc(&doc);
        let expected = general.eval_owned(&input, &mut Scope::default());
        if pick < 2 {
            // Every generated date is valid: the comparison covers parsed dates, not only errors.
            prop_assert!(matches!(expected, Ok(Value::DateTime(_))));
        }
        prop_assert_eq!(alone.eval_owned(&input, &mut Scope::default()), expected.clone());
        prop_assert_eq!(of_field.eval_owned(&input, &mut Scope::default()), expected.clone());
        // A timeField's reading: the milliseconds of a date, the type of anything else.
        let as_date = of_field.eval_date(&input, &mut Scope::default());
        match expected {
            Ok(Value::DateTime(ms)) => prop_assert_eq!(as_date, Ok(Ok(ms))),
            Ok(other) => prop_assert_eq!(as_date, Ok(Err(other.bson_type()))),
            Err(e) => prop_assert_eq!(as_date, Err(e)),
        }
    }
}

#[test]
fn named_time_zones_in_date_operators() {
    // 2024-08-12T21:41:01.788Z is 23:41 in Paris (CEST, +2) and 17:41 in New York (EDT, -4).
    assert_eq!(ok(r#"{"$hour": {"date": "$t", "timezone": "Europe/Paris"}}"#), v("23"));
    assert_eq!(ok(r#"{"$hour": {"date": "$t", "timezone": "America/New_York"}}"#), v("17"));
    assert_eq!(
        ok(r#"{"$dateToString": {"date": "$t", "format": "%Y-%m-%d %H:%M %z", "timezone": "Europe/Paris"}}"#),
        v(r#""2024-08-12 23:41 +0200""#)
    );
    assert_eq!(
        ok(r#"{"$dateTrunc": {"date": "$t", "unit": "day", "timezone": "Europe/Paris"}}"#),
        v(r#"{"$date": "2024-08-11T22:00:00Z"}"#)
    );
    assert_eq!(
        ok(
            r#"{"$dateFromString": {"dateString": "2024-01-15 08:00", "format": "%Y-%m-%d %H:%M", "timezone": "Europe/Paris"}}"#
        ),
        v(r#"{"$date": "2024-01-15T07:00:00Z"}"#)
    );
}

#[test]
fn value_ref_borrows_constants_and_plain_paths_and_leaves_the_rest_to_eval() {
    let doc = parse_document(DOC).expect("valid doc");
    for (expr, borrowed) in [
        ("7", true),
        (r#""$obs.watts""#, true),
        (r#""$nope""#, true),
        (r#""$a.b""#, true),
        (r#""$objs.k""#, false),
        (r#"{"$add": ["$a", 1]}"#, false),
        (r#""$$ROOT""#, false),
    ] {
        let e = compile(&v(expr)).expect("compiles");
        let got = e.value_ref(&doc);
        assert_eq!(got.is_some(), borrowed, "{}", expr);
        if let Some(r) = got {
            // Where it answers, it answers as evaluation does.
            assert_eq!(Ok(r.clone()), e.eval_owned(&Input::doc(&doc), &mut Scope::default()), "{}", expr);
        }
    }
}
