//! The fields of a `$merge` stage (MongoDB's semantics).

use sluice_mql::expr::{compile, Expr};
use sluice_mql::{Document, Str, Value};

/// A target database or collection: a name, or an expression evaluated per document.
#[derive(Debug, Clone)]
pub enum NameSpec {
    /// A fixed name.
    Fixed(String),
    /// An expression giving the name.
    Computed(Expr),
}

/// What to do with a document that matches an existing one (`whenMatched`).
#[derive(Debug, Clone)]
pub enum WhenMatched {
    /// Set the incoming fields on the existing document (the default).
    Merge,
    /// Replace the existing document.
    Replace,
    /// Keep the existing document.
    KeepExisting,
    /// Refuse the incoming document (it goes to the DLQ).
    Fail,
    /// Update the existing document with this pipeline; `$$new` is the incoming document and
    /// `let` variables are evaluated against it.
    Pipeline(Vec<Value>),
}

/// `$merge` into a MongoDB collection.
#[derive(Debug, Clone)]
pub struct MergeOptions {
    /// `into.db`.
    pub db: NameSpec,
    /// `into.coll`.
    pub coll: NameSpec,
    /// `on`: the fields that identify a document (default `_id`).
    pub on: Vec<Str>,
    /// `let`: variables for a `whenMatched` pipeline (default `{new: "$$ROOT"}`).
    pub vars: Vec<(Str, Expr)>,
    /// `whenMatched`.
    pub when_matched: WhenMatched,
    /// `whenNotMatched: insert` (the default) or `discard`.
    pub insert_unmatched: bool,
}

fn name_spec(v: &Value, what: &str) -> Result<NameSpec, String> {
    match v {
        Value::String(s) if !s.starts_with('$') => {
            if s.is_empty() {
                return Err(format!("$merge.into.{} must not be empty", what));
            }
            Ok(NameSpec::Fixed(s.to_string()))
        }
        other => Ok(NameSpec::Computed(compile(other).map_err(|e| format!("$merge.into.{}: {}", what, e))?)),
    }
}

impl MergeOptions {
    /// Parses `into` and the other fields of a `$merge` stage.
    pub fn parse(into: &Document, options: &Document) -> Result<MergeOptions, String> {
        let db = name_spec(into.get("db").ok_or("$merge.into.db is required")?, "db")?;
        let coll = name_spec(into.get("coll").ok_or("$merge.into.coll is required")?, "coll")?;
        let on = match options.get("on") {
            None => vec![Str::from("_id")],
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(items)) if !items.is_empty() => items
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.clone()),
                    _ => Err("$merge.on must hold field names".to_string()),
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err("$merge.on must be a field name or an array of field names".into()),
        };
        let when_matched = match options.get("whenMatched") {
            None => WhenMatched::Merge,
            Some(Value::String(s)) => match s.as_str() {
                "merge" => WhenMatched::Merge,
                "replace" => WhenMatched::Replace,
                "keepExisting" => WhenMatched::KeepExisting,
                "fail" => WhenMatched::Fail,
                other => return Err(format!("$merge.whenMatched: unknown mode '{}'", other)),
            },
            Some(Value::Array(stages)) => WhenMatched::Pipeline(stages.clone()),
            Some(_) => return Err("$merge.whenMatched must be a mode or a pipeline".into()),
        };
        let insert_unmatched = match options.get("whenNotMatched").map(|v| v.as_str()) {
            None | Some(Some("insert")) => true,
            Some(Some("discard")) => false,
            _ => return Err("$merge.whenNotMatched must be insert or discard".into()),
        };
        if matches!(when_matched, WhenMatched::Fail) && !insert_unmatched {
            return Err("$merge with whenMatched: fail and whenNotMatched: discard would write nothing".into());
        }
        let vars = match options.get("let") {
            None => Vec::new(),
            Some(Value::Document(d)) => d
                .iter()
                .map(|(k, v)| Ok((k.clone(), compile(v).map_err(|e| format!("$merge.let.{}: {}", k, e))?)))
                .collect::<Result<_, String>>()?,
            Some(_) => return Err("$merge.let must be an object".into()),
        };
        if !vars.is_empty() && !matches!(when_matched, WhenMatched::Pipeline(_)) {
            return Err("$merge.let is only allowed with a whenMatched pipeline".into());
        }
        Ok(MergeOptions { db, coll, on, vars, when_matched, insert_unmatched })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_mql::json::parse_document;

    fn parse(into: &str, opts: &str) -> Result<MergeOptions, String> {
        MergeOptions::parse(&parse_document(into).unwrap(), &parse_document(opts).unwrap())
    }

    #[test]
    fn defaults_are_mongodbs() {
        let o = parse(r#"{"connectionName": "c", "db": "d", "coll": "$kind"}"#, "{}").unwrap();
        assert!(matches!(o.db, NameSpec::Fixed(ref d) if d == "d"));
        assert!(matches!(o.coll, NameSpec::Computed(_)));
        assert_eq!(o.on, vec![Str::from("_id")]);
        assert!(matches!(o.when_matched, WhenMatched::Merge));
        assert!(o.insert_unmatched);
    }

    #[test]
    fn every_mode_and_its_errors() {
        let into = r#"{"db": "d", "coll": "c"}"#;
        assert!(matches!(parse(into, r#"{"whenMatched": "replace"}"#).unwrap().when_matched, WhenMatched::Replace));
        assert!(matches!(
            parse(into, r#"{"whenMatched": [{"$set": {"n": "$$new.n"}}], "let": {"x": "$a"}}"#).unwrap().when_matched,
            WhenMatched::Pipeline(_)
        ));
        assert!(parse(into, r#"{"whenMatched": "upsert"}"#).unwrap_err().contains("whenMatched"));
        assert!(parse(into, r#"{"whenNotMatched": "fail"}"#).unwrap_err().contains("whenNotMatched"));
        assert!(parse(into, r#"{"on": 3}"#).unwrap_err().contains("on"));
        assert!(parse(into, r#"{"let": {"x": 1}}"#).unwrap_err().contains("let"));
        assert!(parse(r#"{"coll": "c"}"#, "{}").unwrap_err().contains("into.db"));
    }
}
