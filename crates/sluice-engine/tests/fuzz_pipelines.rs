//! Pipelines and expressions under fuzzing: definitions made of Sluice's own vocabulary (every
//! stage, most operators, field paths and variables, extreme numbers), parsed and, when valid,
//! run over generated events within a state budget. Nothing may panic; a bad definition is an
//! error, a bad event a dead letter, and no expression or window can take unbounded memory (the
//! expression and state limits hold).
//!
//! The number of cases is `FUZZ_CASES` (default 200, CI's bounded run); run longer with, e.g.,
//! `FUZZ_CASES=200000 cargo test --release -p sluice-engine --test fuzz_pipelines`.

mod support;

use proptest::prelude::*;
use sluice_engine::{Executor, ExecutorConfig};
use sluice_mql::{Document, Str, Value};
use sluice_pipeline::parse_pipeline;
use support::{Discard, Documents};

const OPERATORS: &[&str] = &[
    "$add",
    "$subtract",
    "$multiply",
    "$divide",
    "$mod",
    "$abs",
    "$pow",
    "$sqrt",
    "$exp",
    "$ln",
    "$log",
    "$log10",
    "$trunc",
    "$round",
    "$ceil",
    "$floor",
    "$concat",
    "$substr",
    "$substrCP",
    "$toUpper",
    "$split",
    "$strLenCP",
    "$indexOfCP",
    "$replaceAll",
    "$regexMatch",
    "$regexFindAll",
    "$range",
    "$size",
    "$map",
    "$filter",
    "$reduce",
    "$arrayElemAt",
    "$concatArrays",
    "$slice",
    "$reverseArray",
    "$zip",
    "$in",
    "$sortArray",
    "$setUnion",
    "$objectToArray",
    "$arrayToObject",
    "$mergeObjects",
    "$getField",
    "$setField",
    "$cond",
    "$ifNull",
    "$switch",
    "$let",
    "$literal",
    "$eq",
    "$ne",
    "$gt",
    "$lt",
    "$and",
    "$or",
    "$not",
    "$cmp",
    "$toString",
    "$toInt",
    "$toLong",
    "$toDouble",
    "$toDecimal",
    "$toDate",
    "$convert",
    "$type",
    "$dateFromString",
    "$dateToString",
    "$dateAdd",
    "$dateDiff",
    "$dateTrunc",
    "$year",
    "$sum",
    "$avg",
    "$max",
    "$min",
    "$first",
    "$last",
    "$firstN",
    "$maxN",
    "$bitAnd",
    "$sin",
    "$setIntersection",
    "$median",
    "$bsonSize",
];

const FIELDS: &[&str] = &["a", "b", "s", "arr", "d", "n", "x.y", "input", "n", "as", "in", "cond", "then", "else"];

const OPTION_KEYS: &[&str] = &[
    "interval",
    "hopSize",
    "size",
    "unit",
    "pipeline",
    "_id",
    "path",
    "preserveNullAndEmptyArrays",
    "includeArrayIndex",
    "validator",
    "validationAction",
    "newRoot",
    "partitionBy",
    "gap",
    "allowedLateness",
    "boundary",
    "idleTimeout",
    "offset",
    "format",
    "to",
    "onError",
    "onNull",
    "initialValue",
    "sortBy",
    "n",
];

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        prop_oneof![Just(0), Just(1), Just(-1), Just(3), Just(1000), Just(i32::MAX), Just(i32::MIN)]
            .prop_map(Value::Int32),
        prop_oneof![Just(0i64), Just(i64::MAX), Just(i64::MIN), Just(1 << 40)].prop_map(Value::Int64),
        prop_oneof![Just(0.5), Just(-2.5), Just(f64::NAN), Just(f64::INFINITY), Just(1e308)].prop_map(Value::Double),
        prop_oneof![
            Just("second"),
            Just("ms"),
            Just("hour"),
            Just("x"),
            Just(""),
            Just("%Y-%m-%d"),
            Just("2024-01-01")
        ]
        .prop_map(Value::str),
        proptest::sample::select(FIELDS).prop_map(|f| Value::str(&format!("${}", f))),
        prop_oneof![Just("$$ROOT"), Just("$$this"), Just("$$value"), Just("$$NOW"), Just("$$CURRENT"), Just("$$nope")]
            .prop_map(Value::str),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::sample::select(OPERATORS).prop_map(str::to_string),
        2 => proptest::sample::select(FIELDS).prop_map(str::to_string),
        2 => proptest::sample::select(OPTION_KEYS).prop_map(str::to_string),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(5, 48, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::vec((key(), inner), 1..4).prop_map(|fields| {
                let mut d = Document::new();
                for (k, v) in fields {
                    d.insert(Str::from(k.as_str()), v);
                }
                Value::Document(d)
            }),
        ]
    })
}

const STAGES: &[&str] = &[
    "$match",
    "$project",
    "$addFields",
    "$set",
    "$unset",
    "$replaceRoot",
    "$replaceWith",
    "$redact",
    "$unwind",
    "$validate",
    "$tumblingWindow",
    "$hoppingWindow",
    "$sessionWindow",
    "$group",
    "$sort",
    "$limit",
    "$count",
];

fn stage() -> impl Strategy<Value = Value> {
    (proptest::sample::select(STAGES), value()).prop_map(|(name, body)| {
        let mut d = Document::new();
        d.insert(Str::from(name), body);
        Value::Document(d)
    })
}

fn pipeline() -> impl Strategy<Value = Value> {
    proptest::collection::vec(stage(), 1..4).prop_map(|stages| {
        let source = sluice_mql::json::parse_value(r#"{"$source": {"connectionName": "in", "timeField": "$d"}}"#)
            .expect("a valid source");
        Value::Array(std::iter::once(source).chain(stages).collect())
    })
}

fn event() -> impl Strategy<Value = Document> {
    (proptest::collection::vec((proptest::sample::select(FIELDS), value()), 0..5), 0i64..100_000).prop_map(
        |(fields, t)| {
            let mut d = Document::new();
            for (k, v) in fields {
                d.insert(Str::from(k), v);
            }
            d.insert(Str::from("d"), Value::DateTime(t));
            d
        },
    )
}

fn cases() -> u32 {
    std::env::var("FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(200)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_pipeline_is_refused_or_runs_without_panicking(p in pipeline(), events in proptest::collection::vec(event(), 0..20)) {
        if let Ok(plan) = parse_pipeline(&p) {
            let config = ExecutorConfig { max_state_bytes: Some(8 << 20), batch_size: 7, ..ExecutorConfig::new("fuzz") };
            let source = Box::new(Documents(events.into()));
            if let Ok(mut exec) = Executor::new(&plan, source, Box::new(Discard), Box::new(Discard), config) {
                // A run may fail (a state limit, onError: fail), but must end.
                let _ = exec.run(|_| true, || {});
            }
        }
    }

    #[test]
    fn any_expression_compiles_or_is_refused_and_evaluates_without_panicking(e in value(), doc in event()) {
        if let Ok(expr) = sluice_mql::expr::compile(&e) {
            let mut scope = sluice_mql::expr::Scope::new(0);
            let input = sluice_mql::expr::Input { root: &doc, meta: None };
            if let Ok(v) = expr.eval_owned(&input, &mut scope) {
                prop_assert!(v.approx_size() <= sluice_mql::expr::MAX_EXPRESSION_BYTES * 2);
            }
        }
    }
}
