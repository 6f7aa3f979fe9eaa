//! The memory one expression may use. A few operators make values far larger than their
//! inputs (`$range` from two integers, `$replaceAll` and `$split` expanding a string,
//! `$regexFindAll` a document per match, `$map` and `$reduce` repeating their body): each checks
//! what it is about to build against [`MAX_EXPRESSION_BYTES`], before building it where it can,
//! so that one event cannot take the server's memory. The event goes to the DLQ with MongoDB's
//! wording; the processor goes on.

use super::ExprError;
use crate::Value;

/// The most bytes one operator's result may take (MongoDB caps an expression's memory at
/// 100 MiB and cannot spill it either).
pub const MAX_EXPRESSION_BYTES: usize = 100 * 1024 * 1024;

/// The size counted for each element of an array, besides what it holds.
pub(crate) const ELEMENT_BYTES: usize = std::mem::size_of::<Value>();

/// Refuses `bytes` for `op` past the limit.
pub(crate) fn check(op: &'static str, bytes: usize) -> Result<(), ExprError> {
    if bytes <= MAX_EXPRESSION_BYTES {
        return Ok(());
    }
    Err(ExprError::new(
        op,
        format!(
            "{} would use too much memory ({} bytes) and cannot spill to disk. Memory limit: {} bytes",
            op, bytes, MAX_EXPRESSION_BYTES
        ),
    ))
}

/// Refuses an array of `elements` for `op` past the limit (their contents aside).
pub(crate) fn check_elements(op: &'static str, elements: usize) -> Result<(), ExprError> {
    check(op, elements.saturating_mul(ELEMENT_BYTES))
}

/// Refuses `v` for `op` past the limit, counting everything it holds.
pub(crate) fn check_value(op: &'static str, v: &Value) -> Result<(), ExprError> {
    check(op, v.approx_size())
}

#[cfg(test)]
mod tests {
    use super::super::tests::eval;

    fn err(expr: &str) -> String {
        eval(expr).expect_err("over the limit").to_string()
    }

    #[test]
    fn operators_that_grow_values_stop_at_the_limit() {
        let too_much = "would use too much memory";
        assert!(err(r#"{"$size": {"$range": [0, 2147483647]}}"#).contains(too_much));
        assert!(err(r#"{"$range": [2147483647, -2147483648, -1]}"#).contains(too_much));
        // Doubling a string in $reduce stops once it passes the limit.
        let doubling = r#"{"$reduce": {"input": {"$range": [0, 64]}, "initialValue": "xxxxxxxx",
            "in": {"$concat": ["$$value", "$$value"]}}}"#;
        assert!(err(doubling).contains(too_much), "{}", err(doubling));
        // Arrays of arrays doubling in depth: counted deep.
        let nesting = r#"{"$reduce": {"input": {"$range": [0, 64]}, "initialValue": [1],
            "in": ["$$value", "$$value"]}}"#;
        assert!(err(nesting).contains(too_much), "{}", err(nesting));
        // A map whose body builds a large array for every element.
        let map = r#"{"$map": {"input": {"$range": [0, 100000]}, "in": {"$range": [0, 100000]}}}"#;
        assert!(err(map).contains(too_much), "{}", err(map));
        // Expanding replacement.
        let replace = format!(
            r#"{{"$replaceAll": {{"input": {{"$reduce": {{"input": {{"$range": [0, {}]}}, "initialValue": "", "in": {{"$concat": ["$$value", "a"]}}}}}}, "find": "a", "replacement": "{}"}}}}"#,
            2000,
            "b".repeat(100_000)
        );
        assert!(err(&replace).contains(too_much));
        // Under the limit all of them work as before.
        assert!(eval(r#"{"$size": {"$range": [0, 1000]}}"#).is_ok());
    }
}
