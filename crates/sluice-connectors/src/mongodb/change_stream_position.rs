//! Where a change stream `$source` stands, typed. It is kept in checkpoints as
//! `{resumeToken: {...}}` once the stream has given a token, `{startAtOperationTime: <timestamp>}`
//! while it is still to start at a time, and null while it is to start now: the forms every
//! checkpoint written so far has.

use sluice_mql::{Document, Str, Value};

/// A change stream's position.
#[derive(Debug, Clone, PartialEq)]
pub enum ChangeStreamPosition {
    /// No token yet, to start with the changes made from now on.
    Now,
    /// No token yet, to start at this cluster time (seconds, increment).
    AtOperationTime(u32, u32),
    /// After the event of this resume token (the server's document, kept as it is).
    After(Document),
}

impl ChangeStreamPosition {
    /// The checkpoint form.
    pub fn to_value(&self) -> Value {
        let (key, v) = match self {
            ChangeStreamPosition::Now => return Value::Null,
            ChangeStreamPosition::AtOperationTime(t, i) => ("startAtOperationTime", Value::Timestamp(*t, *i)),
            ChangeStreamPosition::After(token) => ("resumeToken", Value::Document(token.clone())),
        };
        let mut d = Document::with_capacity(1);
        d.push_unique(Str::from(key), v);
        Value::Document(d)
    }

    /// Reads the checkpoint form; anything else says what is wrong.
    pub fn from_value(v: &Value) -> Result<ChangeStreamPosition, String> {
        let d = match v {
            Value::Null => return Ok(ChangeStreamPosition::Now),
            Value::Document(d) => d,
            other => return Err(format!("position must be a document or null, not {}", other.bson_type().alias())),
        };
        match (d.get("resumeToken"), d.get("startAtOperationTime")) {
            (Some(Value::Document(token)), _) => Ok(ChangeStreamPosition::After(token.clone())),
            (Some(_), _) => Err("position.resumeToken must be a document".into()),
            (None, Some(Value::Timestamp(t, i))) => Ok(ChangeStreamPosition::AtOperationTime(*t, *i)),
            (None, Some(_)) => Err("position.startAtOperationTime must be a timestamp".into()),
            (None, None) => Ok(ChangeStreamPosition::Now),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_mql::json::parse_document;

    #[test]
    fn round_trips_each_form() {
        let token = parse_document(r#"{"_data": "8263"}"#).unwrap();
        for p in
            [ChangeStreamPosition::Now, ChangeStreamPosition::AtOperationTime(5, 2), ChangeStreamPosition::After(token)]
        {
            assert_eq!(ChangeStreamPosition::from_value(&p.to_value()).unwrap(), p);
        }
    }

    #[test]
    fn refuses_what_is_not_a_position() {
        assert!(ChangeStreamPosition::from_value(&Value::Int64(3)).unwrap_err().contains("document or null"));
        let bad = Value::Document(parse_document(r#"{"resumeToken": 1}"#).unwrap());
        assert!(ChangeStreamPosition::from_value(&bad).unwrap_err().contains("resumeToken"));
    }
}
