//! `$function`: a JavaScript function, compiled once with the pipeline, called per document with
//! its evaluated `args` (see [`crate::js`] for the runtime, its limits and the conversions).

use std::borrow::Cow;

use smallvec::SmallVec;

use super::compile::{compile_in, CompileScope};
use super::{CompileError, Expr, ExprError, Input, Scope};
use crate::js::{JsError, JsProgram};
use crate::{Document, Str, Value};

/// A compiled `$function`: the program and its argument expressions.
#[derive(Debug, Clone)]
pub struct JsCall {
    program: JsProgram,
    args: Vec<Expr>,
}

/// The source of a function given as a string or as BSON JavaScript code (`{"$code": "..."}`
/// in Extended JSON); `field` names it in the error.
pub(crate) fn js_source(op: &str, field: &str, v: &Value) -> Result<Str, CompileError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Document(d) if d.len() == 1 => match d.get("$code") {
            Some(Value::String(s)) => Ok(s.clone()),
            _ => Err(not_code(op, field, v)),
        },
        _ => Err(not_code(op, field, v)),
    }
}

fn not_code(op: &str, field: &str, v: &Value) -> CompileError {
    CompileError(format!("{} '{}' must be of type string or code, found {}", op, field, v.bson_type().alias()))
}

/// Checks `lang`, which MongoDB requires and which must be "js".
pub(crate) fn check_lang(op: &str, d: &Document) -> Result<(), CompileError> {
    match d.get("lang") {
        Some(Value::String(s)) if s == "js" => Ok(()),
        Some(Value::String(s)) => {
            Err(CompileError(format!("{} currently only supports language 'js', found '{}'", op, s)))
        }
        Some(other) => {
            Err(CompileError(format!("{} 'lang' must be the string \"js\", found {}", op, other.bson_type().alias())))
        }
        None => Err(CompileError(format!("{} requires 'lang' (\"js\")", op))),
    }
}

/// The pipeline error for a function that does not compile: which field, and why.
pub(crate) fn compile_failure(op: &str, field: &str, e: &JsError) -> CompileError {
    CompileError(format!("{} '{}' {}", op, field, e))
}

/// Compiles `{$function: {body, args, lang}}`.
pub(crate) fn compile(arg: &Value, scope: &mut CompileScope) -> Result<JsCall, CompileError> {
    const OP: &str = "$function";
    let Value::Document(d) = arg else {
        return Err(CompileError(format!("{} requires an object as its argument", OP)));
    };
    if let Some(k) = d.keys().find(|k| !matches!(k.as_str(), "body" | "args" | "lang")) {
        return Err(CompileError(format!("{} found an unknown argument: {}", OP, k)));
    }
    check_lang(OP, d)?;
    let body = js_source(OP, "body", d.get("body").ok_or_else(|| CompileError(format!("{} requires 'body'", OP)))?)?;
    let args = match d.get("args") {
        Some(Value::Array(items)) => items.iter().map(|a| compile_in(a, scope)).collect::<Result<Vec<_>, _>>()?,
        Some(other) => {
            return Err(CompileError(format!("{} 'args' must be an array, found {}", OP, other.bson_type().alias())))
        }
        None => return Err(CompileError(format!("{} requires 'args' (an array, [] for none)", OP))),
    };
    let program = JsProgram::compile(vec![body]).map_err(|(_, e)| compile_failure(OP, "body", &e))?;
    Ok(JsCall { program, args })
}

impl JsCall {
    /// Evaluates the arguments and calls the function; a throw, the time cap or the memory cap
    /// is an error for this document (it goes to the DLQ).
    pub(super) fn eval<'a>(&'a self, input: &Input<'a>, scope: &mut Scope) -> Result<Cow<'a, Value>, ExprError> {
        let mut values: SmallVec<[Cow<'a, Value>; 4]> = SmallVec::with_capacity(self.args.len());
        for a in &self.args {
            values.push(a.eval(input, scope)?);
        }
        // `args` is an array expression, as in MongoDB: a missing value in it is null.
        let refs: SmallVec<[&Value; 4]> =
            values.iter().map(|v| if v.is_missing() { &Value::Null } else { &**v }).collect();
        self.program.call(0, &refs).map(Cow::Owned).map_err(|e| ExprError::new("$function", e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use crate::expr::{compile, Input, Scope};
    use crate::json::{parse_document, parse_value};
    use crate::Value;

    fn function(spec: &str) -> Result<crate::expr::Expr, String> {
        compile(&parse_value(spec).expect("valid JSON")).map_err(|e| e.to_string())
    }

    fn eval(spec: &str, doc: &str) -> Result<Value, String> {
        let e = function(spec)?;
        let d = parse_document(doc).expect("valid document");
        e.eval_owned(&Input::doc(&d), &mut Scope::default()).map_err(|e| e.to_string())
    }

    #[test]
    fn calls_the_body_with_evaluated_args() {
        let spec = r#"{"$function": {"body": "function(a, b) { return a * b; }", "args": ["$x", {"$add": [1, 2]}], "lang": "js"}}"#;
        assert_eq!(eval(spec, r#"{"x": 4}"#), Ok(Value::Double(12.0)));
        // A missing field is null in `args`, as in MongoDB's array expressions.
        let kind = r#"{"$function": {"body": "function(a) { return a === null; }", "args": ["$nope"], "lang": "js"}}"#;
        assert_eq!(eval(kind, "{}"), Ok(Value::Bool(true)));
        let root = r#"{"$function": {"body": "function(d) { return d.a.b; }", "args": ["$$ROOT"], "lang": "js"}}"#;
        assert_eq!(eval(root, r#"{"a": {"b": "deep"}}"#), Ok(Value::str("deep")));
        let code = r#"{"$function": {"body": {"$code": "function() { return 1; }"}, "args": [], "lang": "js"}}"#;
        assert_eq!(eval(code, "{}"), Ok(Value::Double(1.0)));
    }

    #[test]
    fn a_throw_is_an_error_of_the_document() {
        let spec = r#"{"$function": {"body": "function() { throw new Error('no'); }", "args": [], "lang": "js"}}"#;
        assert_eq!(eval(spec, "{}"), Err("$function: Error: no".into()));
    }

    #[test]
    fn refuses_a_bad_specification_when_compiled() {
        let cases = [
            (
                r#"{"$function": {"body": "function() {}", "args": [], "lang": "python"}}"#,
                "$function currently only supports language 'js', found 'python'",
            ),
            (r#"{"$function": {"body": "function() {}", "args": []}}"#, "$function requires 'lang' (\"js\")"),
            (
                r#"{"$function": {"body": "42", "args": [], "lang": "js"}}"#,
                "$function 'body' must be a JavaScript function, found int",
            ),
            (
                r#"{"$function": {"body": 42, "args": [], "lang": "js"}}"#,
                "$function 'body' must be of type string or code, found int",
            ),
            (
                r#"{"$function": {"body": "function() {}", "args": "$a", "lang": "js"}}"#,
                "$function 'args' must be an array, found string",
            ),
            (
                r#"{"$function": {"body": "function() {}", "lang": "js"}}"#,
                "$function requires 'args' (an array, [] for none)",
            ),
            (
                r#"{"$function": {"body": "function() {}", "args": [], "lang": "js", "x": 1}}"#,
                "$function found an unknown argument: x",
            ),
            (r#"{"$function": "function() {}"}"#, "$function requires an object as its argument"),
        ];
        for (spec, message) in cases {
            assert_eq!(function(spec).map(|_| ()), Err(message.to_string()), "{}", spec);
        }
        let syntax =
            function(r#"{"$function": {"body": "function( { }", "args": [], "lang": "js"}}"#).expect_err("syntax");
        assert!(syntax.starts_with("$function 'body' SyntaxError: "), "{}", syntax);
    }
}
