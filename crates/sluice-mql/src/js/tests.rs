use std::time::Duration;

use super::runtime::runtimes_on_this_thread;
use super::*;
use crate::json::{parse_document, parse_value};
use crate::{Decimal128, ObjectId};

fn program(body: &str) -> JsProgram {
    JsProgram::compile(vec![Str::from(body)]).expect("compiles")
}

fn call(body: &str, args: &[&Value]) -> Result<Value, JsError> {
    program(body).call(0, args)
}

fn v(json: &str) -> Value {
    parse_value(json).expect("valid value")
}

const IDENTITY: &str = "function(x) { return x; }";

fn round_trip(x: &Value) -> Value {
    call(IDENTITY, &[x]).expect("converts")
}

#[test]
fn calls_a_function_with_its_arguments() {
    let sum = call("function(a, b) { return a + b; }", &[&Value::Int32(2), &Value::Int32(3)]);
    // A JavaScript number is a double, as in MongoDB.
    assert_eq!(sum, Ok(Value::Double(5.0)));
    assert_eq!(call("function() { return 'x'.repeat(3); }", &[]), Ok(v(r#""xxx""#)));
    // A body given with a trailing comment still compiles.
    assert_eq!(call("function() { return true } // done", &[]), Ok(Value::Bool(true)));
}

#[test]
fn values_that_keep_their_type_both_ways() {
    let kept = [
        Value::Null,
        Value::Bool(true),
        Value::Double(2.5),
        Value::Double(f64::INFINITY),
        Value::str("héllo ✓"),
        Value::Int64(i64::MAX),
        Value::Int64(-(1 << 60)),
        Value::Decimal(Decimal128::parse("1.10").expect("decimal")),
        Value::DateTime(1_700_000_000_123),
        Value::DateTime(-86_400_000),
        Value::ObjectId(ObjectId::parse_hex("5f1d7a5e0000000000000001").expect("oid")),
        Value::Timestamp(1_700_000_000, 7),
        Value::Binary(4, vec![0, 1, 2, 255]),
        Value::Regex(Box::new((Str::from("^a.c$"), Str::from("i")))),
        // The `x` option (and PCRE syntax) is not JavaScript's: kept as a BSONRegExp.
        Value::Regex(Box::new((Str::from("a b"), Str::from("x")))),
        Value::Regex(Box::new((Str::from("(?<=a)b"), Str::from("")))),
        Value::MinKey,
        Value::MaxKey,
        v(r#"{"b": "x", "a": {"c": [null, true, "s"]}}"#),
    ];
    for x in &kept {
        assert_eq!(&round_trip(x), x, "{:?}", x);
    }
}

#[test]
fn values_that_change_type_as_documented() {
    // Numbers come back as doubles; a long that is a safe integer becomes a number.
    assert_eq!(round_trip(&Value::Int32(7)), Value::Double(7.0));
    assert_eq!(round_trip(&Value::Int64(1 << 40)), Value::Double((1u64 << 40) as f64));
    assert_eq!(round_trip(&v(r#"[1, {"n": 2}]"#)), v(r#"[1.0, {"n": 2.0}]"#));
    // Missing and undefined reach the function as undefined, which comes back as null.
    assert_eq!(round_trip(&Value::Missing), Value::Null);
    assert_eq!(round_trip(&Value::Undefined), Value::Null);
    assert_eq!(call("function(x) { return typeof x; }", &[&Value::Missing]), Ok(v(r#""undefined""#)));
}

#[test]
fn javascript_values_to_bson() {
    assert_eq!(call("function() { return new Date(86400000); }", &[]), Ok(Value::DateTime(86_400_000)));
    assert_eq!(call("function() { return 2n ** 62n; }", &[]), Ok(Value::Int64(1 << 62)));
    assert_eq!(
        call("function() { return NumberLong('9007199254740993'); }", &[]),
        Ok(Value::Int64(9_007_199_254_740_993))
    );
    assert_eq!(call("function() { return NumberDecimal('0.1'); }", &[]), Ok(v(r#"{"$numberDecimal": "0.1"}"#)));
    assert_eq!(call("function() { return /ab+c/gi; }", &[]), Ok(Value::Regex(Box::new(("ab+c".into(), "i".into())))));
    assert_eq!(call("function() { return [1, , undefined]; }", &[]), Ok(v("[1.0, null, null]")));
    // A field set to undefined is left out, as JSON.stringify does; key order is kept.
    assert_eq!(call("function() { return {z: 1, a: undefined, b: 'x'}; }", &[]), Ok(v(r#"{"z": 1.0, "b": "x"}"#)));
    let oid = call("function() { return ObjectId('5f1d7a5e0000000000000001'); }", &[]).expect("converts");
    assert_eq!(oid, Value::ObjectId(ObjectId::parse_hex("5f1d7a5e0000000000000001").expect("oid")));
    assert!(matches!(call("function() { return ObjectId(); }", &[]), Ok(Value::ObjectId(_))));
    // The helpers work on converted values.
    let id = Value::ObjectId(ObjectId::parse_hex("5f1d7a5e0000000000000001").expect("oid"));
    assert_eq!(call("function(id) { return id.getTimestamp(); }", &[&id]), Ok(Value::DateTime(1_595_767_390_000)));
    let d = Value::Decimal(Decimal128::parse("2.5").expect("decimal"));
    assert_eq!(call("function(d) { return d * 2; }", &[&d]), Ok(Value::Double(5.0)));
}

#[test]
fn values_without_a_bson_form_are_errors() {
    let err = call("function() { return function() {}; }", &[]).expect_err("a function");
    assert!(matches!(err, JsError::Conversion(_)), "{:?}", err);
    let err = call("function() { var a = {}; a.self = a; return a; }", &[]).expect_err("a cycle");
    assert!(err.to_string().contains("nests deeper than 100 levels"), "{}", err);
    let err = call("function() { return Symbol('s'); }", &[]).expect_err("a symbol");
    assert!(matches!(err, JsError::Conversion(_)), "{:?}", err);
    let err = call("function() { return new Date(NaN); }", &[]).expect_err("an invalid date");
    assert!(matches!(err, JsError::Conversion(_)), "{:?}", err);
    // Shared references would multiply on the way back: the size cap stops them.
    let err =
        call("function() { var a = ['x'.repeat(1000)]; for (var i = 0; i < 40; i++) a = [a, a]; return a; }", &[])
            .expect_err("too large");
    assert!(matches!(err, JsError::Conversion(_)), "{:?}", err);
}

#[test]
fn mongod_helpers() {
    let name = v(r#""Miss Ann Thrope""#);
    assert_eq!(call("function(s) { return hex_md5(s); }", &[&name]), Ok(v(r#""15b0a220baa16331e8d80e15367677ad""#)));
    assert_eq!(call("function(a) { return Array.sum(a); }", &[&v("[10, 5, 10]")]), Ok(Value::Double(25.0)));
    assert_eq!(call("function(a) { return Array.avg(a); }", &[&v("[1, 2]")]), Ok(Value::Double(1.5)));
    assert_eq!(call("function(a) { return Array.unique(a); }", &[&v("[1, 1, 2]")]), Ok(v("[1.0, 2.0]")));
    assert_eq!(
        call("function(a) { return isNumber(a[0]) && isString(a[1]); }", &[&v(r#"[1, "s"]"#)]),
        Ok(Value::Bool(true))
    );
}

#[test]
fn compile_errors_say_what_is_wrong() {
    let syntax = JsProgram::compile(vec![Str::from("function(a) { return a +; }")]).expect_err("syntax");
    assert!(matches!(&syntax, (0, JsError::Syntax(m)) if m.starts_with("SyntaxError")), "{:?}", syntax);
    let not_fn = JsProgram::compile(vec![Str::from("function() {}"), Str::from("42")]).expect_err("a number");
    assert_eq!(not_fn, (1, JsError::NotAFunction("int")));
    let obj = JsProgram::compile(vec![Str::from("{a: 1}")]).expect_err("a block");
    assert!(matches!(obj.1, JsError::NotAFunction(_) | JsError::Syntax(_)), "{:?}", obj);
    // A body that runs forever while it is compiled is stopped too.
    let limits = JsLimits { memory_bytes: 8 << 20, call_time: Duration::from_millis(50) };
    let spin = JsProgram::compile_with(vec![Str::from("(function(){ for(;;); })()")], limits).expect_err("spins");
    assert_eq!(spin.1, JsError::TimedOut(50));
}

#[test]
fn a_throw_is_an_error_with_its_message() {
    assert_eq!(
        call("function() { throw new TypeError('bad input'); }", &[]),
        Err(JsError::Thrown("TypeError: bad input".into()))
    );
    assert_eq!(call("function() { throw 'boom'; }", &[]), Err(JsError::Thrown("boom".into())));
    // A message that reads like the memory cap is still the function's own throw.
    assert_eq!(
        call("function() { throw new Error('out of memory'); }", &[]),
        Err(JsError::Thrown("Error: out of memory".into()))
    );
    assert_eq!(
        call("function() { return undefinedName; }", &[]),
        Err(JsError::Thrown("ReferenceError: undefinedName is not defined".into()))
    );
    let deep = call("function f(n) { return f(n + 1) + 1; }", &[&Value::Int32(0)]).expect_err("too deep");
    assert!(deep.to_string().contains("RangeError"), "{}", deep);
}

#[test]
fn the_time_cap_stops_an_endless_loop_and_the_runtime_goes_on() {
    let limits = JsLimits { memory_bytes: 16 << 20, call_time: Duration::from_millis(50) };
    let p = JsProgram::compile_with(vec![Str::from("function(x) { if (x) { for (;;) {} } return 1; }")], limits)
        .expect("compiles");
    let started = std::time::Instant::now();
    assert_eq!(p.call(0, &[&Value::Bool(true)]), Err(JsError::TimedOut(50)));
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(p.call(0, &[&Value::Bool(false)]), Ok(Value::Double(1.0)));
    // A loop that catches what stops it is stopped all the same.
    let stubborn = JsProgram::compile_with(
        vec![Str::from("function() { for (;;) { try { for (;;) {} } catch (e) {} } }")],
        limits,
    )
    .expect("compiles");
    assert_eq!(stubborn.call(0, &[]), Err(JsError::TimedOut(50)));
}

#[test]
fn the_memory_cap_stops_a_memory_bomb_and_the_runtime_goes_on() {
    let limits = JsLimits { memory_bytes: 8 << 20, call_time: Duration::from_secs(10) };
    let p = JsProgram::compile_with(
        vec![Str::from(
            "function(n) { var a = []; for (var i = 0; i < n; i++) a.push('x'.repeat(1000) + i); return a.length; }",
        )],
        limits,
    )
    .expect("compiles");
    assert_eq!(p.call(0, &[&Value::Int32(100_000_000)]), Err(JsError::OutOfMemory(8 << 20)));
    assert_eq!(p.call(0, &[&Value::Int32(10)]), Ok(Value::Double(10.0)));
    let strings = JsProgram::compile_with(vec![Str::from("function() { var s = 'x'; for (;;) s = s + s; }")], limits)
        .expect("compiles");
    assert!(matches!(strings.call(0, &[]), Err(JsError::OutOfMemory(_) | JsError::Thrown(_))));
}

#[test]
fn a_thread_compiles_a_program_once_and_drops_runtimes_no_longer_used() {
    // Each test runs on a thread of its own.
    let p = program("function(x) { return x + 1; }");
    let before = runtimes_on_this_thread();
    for i in 0..10 {
        assert_eq!(p.call(0, &[&Value::Int32(i)]), Ok(Value::Double(f64::from(i + 1))));
    }
    let clone = p.clone();
    assert_eq!(clone.call(0, &[&Value::Int32(1)]), Ok(Value::Double(2.0)));
    assert_eq!(runtimes_on_this_thread(), before + 1);
    drop((p, clone));
    let other = program("function() { return 0; }");
    assert_eq!(other.call(0, &[]), Ok(Value::Double(0.0)));
    assert_eq!(runtimes_on_this_thread(), before + 1);
    // Another thread has runtimes of its own.
    let elsewhere = other.clone();
    let on_thread = std::thread::spawn(move || elsewhere.call(0, &[])).join().expect("joins");
    assert_eq!(on_thread, Ok(Value::Double(0.0)));
}

#[test]
fn documents_keep_their_key_order_and_integer_keys_go_first() {
    let doc = Value::Document(parse_document(r#"{"z": 1, "10": 2, "a": 3, "2": 4}"#).expect("doc"));
    assert_eq!(round_trip(&doc), v(r#"{"2": 4.0, "10": 2.0, "z": 1.0, "a": 3.0}"#));
}

#[test]
fn documents_as_deep_as_bson_allows_convert() {
    let nested = "function(d) { var o = {}; for (var i = 1; i < d; i++) o = {o: o}; return o; }";
    assert!(call(nested, &[&Value::Int32(100)]).is_ok());
    let err = call(nested, &[&Value::Int32(101)]).expect_err("too deep");
    assert!(err.to_string().contains("nests deeper than 100 levels"), "{}", err);
}

#[test]
fn a_thread_keeps_at_most_its_runtime_cap() {
    // Programs still in use past the cap: the oldest runtime goes, and is compiled again when
    // its program is next called.
    let programs: Vec<JsProgram> =
        (0..=MAX_RUNTIMES_PER_THREAD).map(|i| program(&format!("function() {{ return {}; }}", i))).collect();
    for (i, p) in programs.iter().enumerate() {
        assert_eq!(p.call(0, &[]), Ok(Value::Double(i as f64)));
    }
    assert_eq!(runtimes_on_this_thread(), MAX_RUNTIMES_PER_THREAD);
    assert_eq!(programs[0].call(0, &[]), Ok(Value::Double(0.0)));
    assert_eq!(runtimes_on_this_thread(), MAX_RUNTIMES_PER_THREAD);
}
