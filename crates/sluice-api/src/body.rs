//! Request bodies: JSON objects checked attribute by attribute, so a wrong request gets the
//! Atlas error naming the attribute (`INVALID_JSON_ATTRIBUTE`, `MISSING_ATTRIBUTE`, ...).

use serde_json::{Map, Value as Json};

use crate::error::ApiError;

/// A JSON object body with the path it sits at (`""` for the root, `"dataProcessRegion."` inside).
pub struct Obj<'a> {
    map: &'a Map<String, Json>,
    prefix: String,
}

/// Parses a body that must be a JSON object; an empty body is an empty object.
/// The JSON object of a PATCH's body, which the contract requires: an empty body is refused
/// rather than read as an empty change.
pub fn parse_required_object(bytes: &[u8]) -> Result<Map<String, Json>, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::missing_body());
    }
    parse_object(bytes)
}

/// The JSON object of a request body; an empty body is an empty object (`:start`, `:stop`, and
/// creates, which then name the first missing attribute).
pub fn parse_object(bytes: &[u8]) -> Result<Map<String, Json>, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Json>(bytes) {
        Ok(Json::Object(m)) => Ok(m),
        _ => Err(ApiError::invalid_json()),
    }
}

impl<'a> Obj<'a> {
    /// The root object.
    pub fn root(map: &'a Map<String, Json>) -> Obj<'a> {
        Obj { map, prefix: String::new() }
    }

    fn path(&self, k: &str) -> String {
        format!("{}{}", self.prefix, k)
    }

    /// Refuses any attribute not in `allowed` (read-only `links` and `_id` are ignored as Atlas does).
    pub fn only(&self, allowed: &[&str]) -> Result<(), ApiError> {
        match self.map.keys().find(|k| !allowed.contains(&k.as_str()) && *k != "links") {
            Some(k) => Err(ApiError::unknown_attribute(&self.path(k))),
            None => Ok(()),
        }
    }

    /// A raw value.
    pub fn get(&self, k: &str) -> Option<&'a Json> {
        self.map.get(k).filter(|v| !v.is_null())
    }

    /// An optional string.
    pub fn str(&self, k: &str) -> Result<Option<&'a str>, ApiError> {
        match self.get(k) {
            None => Ok(None),
            Some(Json::String(s)) => Ok(Some(s)),
            Some(_) => Err(ApiError::invalid_attribute(&self.path(k), "must be a string")),
        }
    }

    /// A required string.
    pub fn req_str(&self, k: &str) -> Result<&'a str, ApiError> {
        self.str(k)?.ok_or_else(|| ApiError::missing_attribute(&self.path(k)))
    }

    /// An optional boolean.
    pub fn bool(&self, k: &str) -> Result<Option<bool>, ApiError> {
        match self.get(k) {
            None => Ok(None),
            Some(Json::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(ApiError::invalid_attribute(&self.path(k), "must be a boolean")),
        }
    }

    /// An optional nested object.
    pub fn obj(&self, k: &str) -> Result<Option<Obj<'a>>, ApiError> {
        match self.get(k) {
            None => Ok(None),
            Some(Json::Object(m)) => Ok(Some(Obj { map: m, prefix: format!("{}.", self.path(k)) })),
            Some(_) => Err(ApiError::invalid_attribute(&self.path(k), "must be an object")),
        }
    }

    /// A required nested object.
    pub fn req_obj(&self, k: &str) -> Result<Obj<'a>, ApiError> {
        self.obj(k)?.ok_or_else(|| ApiError::missing_attribute(&self.path(k)))
    }

    /// An optional string that must be one of `values`.
    pub fn enumerated(&self, k: &str, values: &[&str]) -> Result<Option<&'a str>, ApiError> {
        match self.str(k)? {
            Some(v) if !values.contains(&v) => Err(ApiError::invalid_enum(&self.path(k), v)),
            other => Ok(other),
        }
    }

    /// The underlying map.
    pub fn map(&self) -> &'a Map<String, Json> {
        self.map
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_attribute() {
        assert_eq!(parse_object(b"{nope").unwrap_err().code, "INVALID_JSON");
        assert_eq!(parse_object(b"[1]").unwrap_err().code, "INVALID_JSON");
        let m = parse_object(br#"{"a": {"b": 1, "c": "x"}, "z": true}"#).unwrap();
        let root = Obj::root(&m);
        let e = root.only(&["a"]).unwrap_err();
        assert_eq!((e.code, e.parameters.clone()), ("INVALID_JSON_ATTRIBUTE", vec!["z".to_string()]));
        let a = root.req_obj("a").unwrap();
        assert_eq!(a.req_str("b").unwrap_err().parameters, vec!["a.b".to_string()]);
        assert_eq!(a.req_str("d").unwrap_err().code, "MISSING_ATTRIBUTE");
        assert_eq!(a.enumerated("c", &["y"]).unwrap_err().code, "INVALID_ENUM_VALUE");
        assert_eq!(root.bool("z").unwrap(), Some(true));
    }
}
