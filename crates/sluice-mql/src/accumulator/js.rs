//! `$accumulator`: a group accumulator written in JavaScript. Its state is a BSON value (what
//! `init` and `accumulate` return), so it checkpoints with the other states; each step converts
//! the state to JavaScript and back.
//!
//! `initArgs` are evaluated, as mongod does, with the group's key document as `$$ROOT` when the
//! group is created; `accumulateArgs` for each document. `merge` combines two partial states;
//! the engine never splits a group today (a session window keeps its documents, not states),
//! so it is compiled and checked, and called only through [`Accumulator::merge`].

use smallvec::SmallVec;

use super::{AccKind, AccState, Accumulator};
use crate::expr::{check_lang, compile, compile_failure, js_source, CompileError, Expr, ExprError};
use crate::js::JsProgram;
use crate::{Document, Str, Value};

const OP: &str = "$accumulator";

/// The position of each function in the program.
const INIT: usize = 0;
const ACCUMULATE: usize = 1;
const MERGE: usize = 2;
const FINALIZE: usize = 3;

/// The functions' field names, in program order.
const FUNCTIONS: [&str; 4] = ["init", "accumulate", "merge", "finalize"];

/// A compiled `$accumulator`'s functions.
#[derive(Debug, Clone, PartialEq)]
pub struct JsAccumulator {
    program: JsProgram,
    finalize: bool,
}

/// An argument array (`initArgs`, `accumulateArgs`) compiled as one array expression.
fn args_field(d: &Document, field: &str) -> Result<Option<Expr>, CompileError> {
    match d.get(field) {
        None => Ok(None),
        Some(v @ Value::Array(_)) => compile(v).map(Some),
        Some(other) => {
            Err(CompileError(format!("{} '{}' must be an array, found {}", OP, field, other.bson_type().alias())))
        }
    }
}

/// Compiles `{$accumulator: {init, initArgs, accumulate, accumulateArgs, merge, finalize, lang}}`.
pub(super) fn compile_accumulator(arg: &Value) -> Result<Accumulator, CompileError> {
    let d = arg.as_document().ok_or_else(|| CompileError(format!("{} expects an object", OP)))?;
    let allowed = ["init", "initArgs", "accumulate", "accumulateArgs", "merge", "finalize", "lang"];
    if let Some(k) = d.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(CompileError(format!("{} found an unknown argument: {}", OP, k)));
    }
    check_lang(OP, d)?;
    let mut sources: Vec<Str> = Vec::with_capacity(4);
    for (i, field) in FUNCTIONS.iter().enumerate() {
        match d.get(field) {
            Some(v) => sources.push(js_source(OP, field, v)?),
            None if i == FINALIZE => {}
            None => return Err(CompileError(format!("{} requires '{}'", OP, field))),
        }
    }
    let input = args_field(d, "accumulateArgs")?
        .ok_or_else(|| CompileError(format!("{} requires 'accumulateArgs' (an array)", OP)))?;
    let init_args = args_field(d, "initArgs")?;
    let finalize = sources.len() > FINALIZE;
    let program = JsProgram::compile(sources).map_err(|(i, e)| compile_failure(OP, FUNCTIONS[i], &e))?;
    Ok(Accumulator { kind: AccKind::Js(JsAccumulator { program, finalize }), input, name: OP, of_key: init_args })
}

fn failed(e: crate::js::JsError, function: usize) -> ExprError {
    ExprError::new(OP, format!("{}: {}", FUNCTIONS[function], e))
}

impl JsAccumulator {
    /// `init(...initArgs)`: a new group's state.
    pub(super) fn init(&self, init_args: &Value) -> Result<AccState, ExprError> {
        let args: SmallVec<[&Value; 4]> = init_args.as_array().unwrap_or_default().iter().collect();
        self.program.call(INIT, &args).map(AccState::Js).map_err(|e| failed(e, INIT))
    }

    /// `accumulate(state, ...accumulateArgs)`: the next state.
    pub(super) fn accumulate(&self, state: &Value, args: &Value) -> Result<AccState, ExprError> {
        let mut all: SmallVec<[&Value; 4]> = SmallVec::with_capacity(4);
        all.push(state);
        all.extend(args.as_array().unwrap_or_default());
        self.program.call(ACCUMULATE, &all).map(AccState::Js).map_err(|e| failed(e, ACCUMULATE))
    }

    /// `merge(state1, state2)`: two partial states as one.
    pub(super) fn merge(&self, a: &Value, b: &Value) -> Result<AccState, ExprError> {
        self.program.call(MERGE, &[a, b]).map(AccState::Js).map_err(|e| failed(e, MERGE))
    }

    /// `finalize(state)`, or the state itself without a `finalize`.
    pub(super) fn finish(&self, state: &Value) -> Result<Value, ExprError> {
        if !self.finalize {
            return Ok(if state.is_missing() { Value::Null } else { state.clone() });
        }
        self.program.call(FINALIZE, &[state]).map_err(|e| failed(e, FINALIZE))
    }
}

#[cfg(test)]
mod tests {
    use super::super::{AccState, Accumulator};
    use crate::expr::{Input, Scope};
    use crate::json::{parse_document, parse_value};
    use crate::Value;

    /// MongoDB's `$accumulator` example: `$avg` in JavaScript.
    const AVG: &str = r#"{"init": "function() { return {count: 0, sum: 0}; }",
        "accumulate": "function(state, n) { return {count: state.count + 1, sum: state.sum + n}; }",
        "accumulateArgs": ["$copies"],
        "merge": "function(a, b) { return {count: a.count + b.count, sum: a.sum + b.sum}; }",
        "finalize": "function(state) { return state.sum / state.count; }",
        "lang": "js"}"#;

    fn compile(spec: &str) -> Result<Accumulator, String> {
        Accumulator::compile("$accumulator", &parse_value(spec).expect("valid JSON")).map_err(|e| e.to_string())
    }

    fn add(acc: &Accumulator, state: &mut AccState, doc: &str) -> Result<(), String> {
        let d = parse_document(doc).expect("valid document");
        acc.accumulate(state, &Input::doc(&d), &mut Scope::default()).map_err(|e| e.to_string())
    }

    fn copies(acc: &Accumulator, ns: &[i32]) -> AccState {
        let mut state = acc.new_state_for_key(&Value::str("Dante"), &mut Scope::default()).expect("init");
        for n in ns {
            add(acc, &mut state, &format!(r#"{{"copies": {}}}"#, n)).expect("accumulates");
        }
        state
    }

    #[test]
    fn runs_the_documented_average() {
        let acc = compile(AVG).expect("compiles");
        let state = copies(&acc, &[2, 1, 2]);
        assert_eq!(acc.finish(&state), Ok(Value::Double(5.0 / 3.0)));
        // The state is the BSON value `accumulate` returned.
        assert_eq!(state, AccState::Js(parse_value(r#"{"count": 3.0, "sum": 5.0}"#).expect("value")));
    }

    #[test]
    fn the_state_survives_a_snapshot_and_goes_on() {
        let acc = compile(AVG).expect("compiles");
        let mut state = copies(&acc, &[2, 1]);
        let mut restored = AccState::restore(&state.snapshot()).expect("restorable");
        assert_eq!(restored, state);
        add(&acc, &mut state, r#"{"copies": 2}"#).expect("accumulates");
        add(&acc, &mut restored, r#"{"copies": 2}"#).expect("accumulates");
        assert_eq!(acc.finish(&restored), acc.finish(&state));
        // A state made before its group's key was known restores as such.
        let fresh = acc.new_state();
        assert_eq!(AccState::restore(&fresh.snapshot()), Some(fresh));
    }

    #[test]
    fn merges_partial_states() {
        let acc = compile(AVG).expect("compiles");
        let merged = acc.merge(&copies(&acc, &[2, 1]), &copies(&acc, &[2])).expect("merges");
        assert_eq!(acc.finish(&merged), acc.finish(&copies(&acc, &[2, 1, 2])));
        let sum = Accumulator::compile("$sum", &Value::str("$x")).expect("compiles");
        assert!(sum.merge(&sum.new_state(), &sum.new_state()).is_err());
    }

    #[test]
    fn init_args_are_evaluated_on_the_group_key() {
        let acc = compile(
            r#"{"init": "function(city, home) { return {max: city === home ? 2 : 1, names: []}; }",
                "initArgs": ["$city", "Bettles"],
                "accumulate": "function(s, name) { if (s.names.length < s.max) s.names.push(name); return s; }",
                "accumulateArgs": ["$name"],
                "merge": "function(a, b) { return a; }",
                "finalize": "function(s) { return s.names; }",
                "lang": "js"}"#,
        )
        .expect("compiles");
        let mut scope = Scope::default();
        for (city, expected) in [("Bettles", r#"["a", "b"]"#), ("Onida", r#"["a"]"#)] {
            let key = parse_value(&format!(r#"{{"city": "{}"}}"#, city)).expect("key");
            let mut state = acc.new_state_for_key(&key, &mut scope).expect("init");
            for name in ["a", "b", "c"] {
                add(&acc, &mut state, &format!(r#"{{"name": "{}"}}"#, name)).expect("accumulates");
            }
            assert_eq!(acc.finish(&state), Ok(parse_value(expected).expect("value")));
        }
        // Without a key, `init` runs at the first document.
        let mut state = acc.new_state();
        add(&acc, &mut state, r#"{"name": "z"}"#).expect("accumulates");
        assert_eq!(acc.finish(&state), Ok(parse_value(r#"["z"]"#).expect("value")));
    }

    #[test]
    fn a_failing_step_leaves_the_state_as_it_was() {
        let acc = compile(
            r#"{"init": "function() { return 0; }",
                "accumulate": "function(t, n) { if (n < 0) throw new Error('negative'); return t + n; }",
                "accumulateArgs": ["$n"],
                "merge": "function(a, b) { return a + b; }",
                "finalize": "function(t) { if (t > 100) throw new Error('too big'); return t; }",
                "lang": "js"}"#,
        )
        .expect("compiles");
        let mut state = acc.new_state_for_key(&Value::Null, &mut Scope::default()).expect("init");
        add(&acc, &mut state, r#"{"n": 5}"#).expect("accumulates");
        let before = state.clone();
        assert_eq!(add(&acc, &mut state, r#"{"n": -1}"#), Err("$accumulator: accumulate: Error: negative".into()));
        assert_eq!(state, before);
        add(&acc, &mut state, r#"{"n": 500}"#).expect("accumulates");
        assert_eq!(acc.finish(&state).map_err(|e| e.to_string()), Err("$accumulator: finalize: Error: too big".into()));
        // Without `finalize`, the result is the state.
        let plain = compile(&AVG.replace(r#""finalize": "function(state) { return state.sum / state.count; }","#, ""))
            .expect("compiles");
        assert_eq!(plain.finish(&copies(&plain, &[4])), Ok(parse_value(r#"{"count": 1.0, "sum": 4.0}"#).expect("v")));
    }

    #[test]
    fn refuses_a_bad_specification_when_compiled() {
        let without = |field: &str| {
            let mut d = parse_document(AVG).expect("doc");
            d.remove(field);
            compile(&crate::json::to_json_string(&d, crate::json::JsonMode::Relaxed))
        };
        assert_eq!(without("merge").map(|_| ()), Err("$accumulator requires 'merge'".into()));
        assert_eq!(without("init").map(|_| ()), Err("$accumulator requires 'init'".into()));
        assert_eq!(
            without("accumulateArgs").map(|_| ()),
            Err("$accumulator requires 'accumulateArgs' (an array)".into())
        );
        assert_eq!(without("lang").map(|_| ()), Err("$accumulator requires 'lang' (\"js\")".into()));
        let bad_merge = AVG.replace("function(a, b) { return", "function(a, b) { retur n");
        let err = compile(&bad_merge).map(|_| ()).expect_err("syntax");
        assert!(err.starts_with("$accumulator 'merge' SyntaxError"), "{}", err);
        let bad_lang = AVG.replace(r#""lang": "js""#, r#""lang": "ruby""#);
        assert_eq!(
            compile(&bad_lang).map(|_| ()),
            Err("$accumulator currently only supports language 'js', found 'ruby'".into())
        );
        let args = AVG.replace(r#""accumulateArgs": ["$copies"]"#, r#""accumulateArgs": "$copies""#);
        assert_eq!(
            compile(&args).map(|_| ()),
            Err("$accumulator 'accumulateArgs' must be an array, found string".into())
        );
    }
}
