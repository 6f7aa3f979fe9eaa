use super::*;
use crate::json::{parse_document, parse_value};

/// Runs an accumulator over documents and returns the result.
fn run(spec: &str, docs: &[&str]) -> Value {
    let d = parse_document(spec).expect("valid spec");
    let (op, arg) = d.first().expect("one field");
    let acc = Accumulator::compile(op, arg).expect("valid accumulator");
    let mut state = acc.new_state();
    let mut scope = Scope::default();
    for doc in docs {
        let doc = parse_document(doc).expect("valid doc");
        acc.accumulate(&mut state, &Input::doc(&doc), &mut scope).expect("no error");
    }
    // Every state must survive a snapshot round trip unchanged.
    let restored = AccState::restore(&state.snapshot()).expect("restorable");
    assert_eq!(restored, state);
    acc.finish(&state).expect("finishes")
}

fn v(json: &str) -> Value {
    parse_value(json).expect("valid value")
}

const DOCS: [&str; 4] = [r#"{"x": 4, "s": "a"}"#, r#"{"x": 1.5, "s": "b"}"#, r#"{"s": "a"}"#, r#"{"x": 10, "s": "c"}"#];

#[test]
fn sum_avg_min_max_count() {
    assert_eq!(run(r#"{"$sum": "$x"}"#, &DOCS), v("15.5"));
    assert_eq!(run(r#"{"$sum": 1}"#, &DOCS), v("4"));
    assert_eq!(run(r#"{"$avg": "$x"}"#, &DOCS), v("5.166666666666667"));
    assert_eq!(run(r#"{"$avg": "$nope"}"#, &DOCS), Value::Null);
    assert_eq!(run(r#"{"$min": "$x"}"#, &DOCS), v("1.5"));
    assert_eq!(run(r#"{"$max": "$x"}"#, &DOCS), v("10"));
    assert_eq!(run(r#"{"$count": {}}"#, &DOCS), v("4"));
}

#[test]
fn first_last_push_add_to_set() {
    assert_eq!(run(r#"{"$first": "$x"}"#, &DOCS), v("4"));
    assert_eq!(run(r#"{"$last": "$s"}"#, &DOCS), v(r#""c""#));
    assert_eq!(run(r#"{"$push": "$x"}"#, &DOCS), v("[4, 1.5, 10]"));
    assert_eq!(run(r#"{"$addToSet": "$s"}"#, &DOCS), v(r#"["a", "b", "c"]"#));
}

#[test]
fn statistics() {
    // Population std dev of 4, 1.5, 10: mean 5.1667, variance 12.722.
    let pop = run(r#"{"$stdDevPop": "$x"}"#, &DOCS).as_f64().expect("number");
    assert!((pop - 3.566_822_5).abs() < 1e-6, "{}", pop);
    let samp = run(r#"{"$stdDevSamp": "$x"}"#, &DOCS).as_f64().expect("number");
    assert!((samp - 4.368_447).abs() < 1e-5, "{}", samp);
    assert_eq!(run(r#"{"$median": {"input": "$x", "method": "approximate"}}"#, &DOCS), v("4.0"));
    assert_eq!(
        run(r#"{"$percentile": {"input": "$x", "p": [0.1, 0.9], "method": "approximate"}}"#, &DOCS),
        v("[1.5, 10.0]")
    );
}

#[test]
fn percentile_p_is_checked_as_mongod_checks_it() {
    let e = Accumulator::compile("$percentile", &v(r#"{"input": "$x", "p": [0.5, 2], "method": "approximate"}"#))
        .expect_err("p = 2");
    assert_eq!(e.0, "$percentile: The $percentile 'p' field must be an array of numbers from [0.0, 1.0], but found: 2");
    for p in ["[]", "0.5", r#"["0.5"]"#, "[true]"] {
        let spec = format!(r#"{{"input": "$x", "p": {}, "method": "approximate"}}"#, p);
        assert!(Accumulator::compile("$percentile", &v(&spec)).is_err(), "{}", p);
    }
}

#[test]
fn percentile_of_no_numbers_is_a_null_per_percentile() {
    let spec = r#"{"$percentile": {"input": "$s", "p": [0.5, 0.9], "method": "approximate"}}"#;
    assert_eq!(run(spec, &DOCS), v("[null, null]"));
    assert_eq!(run(r#"{"$median": {"input": "$s", "method": "approximate"}}"#, &DOCS), Value::Null);
}

#[test]
fn ranked_accumulators() {
    assert_eq!(run(r#"{"$top": {"sortBy": {"x": -1}, "output": "$s"}}"#, &DOCS), v(r#""c""#));
    assert_eq!(run(r#"{"$bottom": {"sortBy": {"x": -1}, "output": "$s"}}"#, &DOCS), v(r#""a""#));
    assert_eq!(run(r#"{"$topN": {"n": 2, "sortBy": {"x": 1}, "output": "$x"}}"#, &DOCS), v("[null, 1.5]"));
    // In sort order, as MongoDB returns them: the last two of null, 1.5, 4, 10.
    assert_eq!(run(r#"{"$bottomN": {"n": 2, "sortBy": {"x": 1}, "output": "$x"}}"#, &DOCS), v("[4, 10]"));
    assert_eq!(run(r#"{"$firstN": {"input": "$x", "n": 2}}"#, &DOCS), v("[4, 1.5]"));
    assert_eq!(run(r#"{"$lastN": {"input": "$x", "n": 2}}"#, &DOCS), v("[null, 10]"));
    assert_eq!(run(r#"{"$maxN": {"input": "$x", "n": 2}}"#, &DOCS), v("[10, 4]"));
    assert_eq!(run(r#"{"$minN": {"input": "$x", "n": 5}}"#, &DOCS), v("[1.5, 4, 10]"));
}

/// Runs an accumulator over the documents of one group whose key is `key`, as `$group` does:
/// the state is created for the key, and must survive a snapshot round trip.
fn run_keyed(spec: &str, key: &str, docs: &[&str]) -> Result<Value, ExprError> {
    let d = parse_document(spec).expect("valid spec");
    let (op, arg) = d.first().expect("one field");
    let acc = Accumulator::compile(op, arg).expect("valid accumulator");
    let mut scope = Scope::default();
    let mut state = acc.new_state_for_key(&v(key), &mut scope)?;
    for doc in docs {
        let doc = parse_document(doc).expect("valid doc");
        acc.accumulate(&mut state, &Input::doc(&doc), &mut scope).expect("no error");
    }
    assert_eq!(AccState::restore(&state.snapshot()).expect("restorable"), state);
    acc.finish(&state)
}

/// MongoDB's "Computing n Based on the Group Key" example ($topN): `_id: {gameId: "$gameId"}`,
/// one group per game.
const G1: [&str; 4] = [r#"{"x": 31}"#, r#"{"x": 33}"#, r#"{"x": 99}"#, r#"{"x": 1}"#];
const G2: [&str; 4] = [r#"{"x": 10}"#, r#"{"x": 14}"#, r#"{"x": 66}"#, r#"{"x": 80}"#];
const KEY1: &str = r#"{"gameId": "G1"}"#;
const KEY2: &str = r#"{"gameId": "G2"}"#;
/// n read from the key document, which is `$$ROOT` when n is evaluated.
const N_OF_GAME: &str = r#"{"$cond": {"if": {"$eq": ["$gameId", "G2"]}, "then": 1, "else": 3}}"#;

#[test]
fn n_computed_from_the_group_key() {
    let top = format!(r#"{{"$topN": {{"n": {}, "sortBy": {{"x": -1}}, "output": "$x"}}}}"#, N_OF_GAME);
    assert_eq!(run_keyed(&top, KEY1, &G1), Ok(v("[99, 33, 31]")));
    assert_eq!(run_keyed(&top, KEY2, &G2), Ok(v("[80]")));
    let bottom = format!(r#"{{"$bottomN": {{"n": {}, "sortBy": {{"x": -1}}, "output": "$x"}}}}"#, N_OF_GAME);
    assert_eq!(run_keyed(&bottom, KEY1, &G1), Ok(v("[33, 31, 1]")));
    assert_eq!(run_keyed(&bottom, KEY2, &G2), Ok(v("[10]")));
    for (op, g1, g2) in [
        ("$firstN", "[31, 33, 99]", "[10]"),
        ("$lastN", "[33, 99, 1]", "[80]"),
        ("$maxN", "[99, 33, 31]", "[80]"),
        ("$minN", "[1, 31, 33]", "[10]"),
    ] {
        let spec = format!(r#"{{"{}": {{"n": {}, "input": "$x"}}}}"#, op, N_OF_GAME);
        assert_eq!(run_keyed(&spec, KEY1, &G1), Ok(v(g1)), "{}", op);
        assert_eq!(run_keyed(&spec, KEY2, &G2), Ok(v(g2)), "{}", op);
    }
    // A key that is not a document: n is evaluated against an empty document.
    let fallback = r#"{"$firstN": {"n": {"$ifNull": ["$gameId", 2]}, "input": "$x"}}"#;
    assert_eq!(run_keyed(fallback, r#""G1""#, &G1), Ok(v("[31, 33]")));
    // A constant n is the same for every group.
    assert_eq!(run_keyed(r#"{"$firstN": {"n": 1, "input": "$x"}}"#, KEY2, &G2), Ok(v("[10]")));
}

#[test]
fn a_computed_n_that_is_not_a_positive_integer_is_an_error() {
    let zero = r#"{"$firstN": {"n": {"$subtract": ["$k", 3]}, "input": "$x"}}"#;
    let e = run_keyed(zero, r#"{"k": 3}"#, &G1).expect_err("n = 0");
    assert_eq!(e.message, "'n' must be greater than 0, found 0");
    let e = run_keyed(r#"{"$maxN": {"n": "$gameId", "input": "$x"}}"#, KEY1, &G1).expect_err("a string");
    assert_eq!(e.message, r#"Value for 'n' must be of integral type, but found "G1""#);
    let e = run_keyed(r#"{"$lastN": {"n": "$k", "input": "$x"}}"#, r#"{"k": 2.5}"#, &G1).expect_err("2.5");
    assert_eq!(e.message, "Value for 'n' must be of integral type, but found 2.5");
    // The group key's fields, not the documents': "$x" is missing in the key.
    assert!(run_keyed(r#"{"$lastN": {"n": "$x", "input": "$x"}}"#, KEY1, &G1).is_err());
    // A constant n is checked when the pipeline is parsed.
    assert!(Accumulator::compile("$topN", &v(r#"{"n": 2.5, "sortBy": {"x": 1}, "output": "$x"}"#)).is_err());
}

#[test]
fn n_accumulator_specs_are_checked_in_mongods_words() {
    let err = |op: &str, arg: &str| Accumulator::compile(op, &v(arg)).map(|_| ()).map_err(|e| e.0);
    assert_eq!(err("$firstN", "0"), Err("specification must be an object; found $firstN: 0".into()));
    assert_eq!(err("$maxN", r#"{"input": "$x"}"#), Err("Missing value for 'n'".into()));
    assert_eq!(err("$lastN", r#"{"input": "$x", "n": 1, "k": 1}"#), Err("Unknown argument for 'n' operator: k".into()));
}

#[test]
fn bad_specs_are_compile_errors() {
    for (op, arg) in [
        ("$sum", "[1, 2]"),
        ("$count", "1"),
        ("$topN", r#"{"n": 0, "sortBy": {"x": 1}, "output": "$x"}"#),
        ("$median", r#"{"input": "$x", "method": "continuous"}"#),
        ("$percentile", r#"{"input": "$x", "p": [0.5], "method": "discrete"}"#),
        ("$nope", "1"),
    ] {
        assert!(Accumulator::compile(op, &v(arg)).is_err(), "{} {}", op, arg);
    }
}

mod sum_property {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// `$sum` adds in place where it can; the result is always `$add`'s, folded left to right:
        /// int overflow to long, long overflow to double, promotion to double.
        #[test]
        fn sum_in_place_agrees_with_add(values in prop::collection::vec(
            prop_oneof![
                any::<i32>().prop_map(Value::Int32),
                any::<i64>().prop_map(Value::Int64),
                any::<f64>().prop_map(Value::Double),
            ],
            0..12,
        )) {
            let acc = Accumulator::compile("$sum", &v(r#""$x""#)).expect("valid accumulator");
            let mut state = acc.new_state();
            let mut expected = Value::Int32(0);
            for x in &values {
                let mut doc = Document::new();
                doc.insert("x", x.clone());
                acc.accumulate(&mut state, &Input::doc(&doc), &mut Scope::default()).expect("no error");
                expected = crate::expr::add_numbers(&expected, x).expect("numbers");
            }
            let got = acc.finish(&state).expect("finishes");
            match (&got, &expected) {
                // NaN is not equal to itself: compare what it is, not by ==.
                (Value::Double(a), Value::Double(b)) if a.is_nan() => prop_assert!(b.is_nan()),
                _ => prop_assert_eq!(got, expected),
            }
        }
    }
}
