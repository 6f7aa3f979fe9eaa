//! The fields of a `$merge` stage (MongoDB's semantics).

use serde::de::IgnoredAny;
use serde::Deserialize;
use sluice_mql::expr::{compile, Expr};
use sluice_mql::serde_value::{from_document, Entries, Raw};
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

/// `into` of `$merge` (of a DLQ collection: `db` and `coll` only).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Into {
    #[serde(rename = "connectionName")]
    _connection_name: Option<IgnoredAny>,
    db: Option<Raw>,
    coll: Option<Raw>,
}

/// The other fields of `$merge`, as Atlas names them.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Fields {
    on: Option<Raw>,
    #[serde(rename = "let")]
    vars: Option<Entries<Raw>>,
    #[serde(rename = "whenMatched")]
    when_matched: Option<Raw>,
    #[serde(rename = "whenNotMatched")]
    when_not_matched: Option<Raw>,
    parallelism: Option<i64>,
}

/// The most writers Atlas lets `$merge.parallelism` ask for.
pub const MAX_PARALLELISM: i64 = 16;

fn name_spec(v: Option<Raw>, what: &str) -> Result<NameSpec, String> {
    match v.map(|r| r.0) {
        None => Err(format!("$merge.into.{} is required", what)),
        Some(Value::String(s)) if !s.starts_with('$') => {
            if s.is_empty() {
                return Err(format!("$merge.into.{} must not be empty", what));
            }
            Ok(NameSpec::Fixed(s.to_string()))
        }
        Some(other) => Ok(NameSpec::Computed(compile(&other).map_err(|e| format!("$merge.into.{}: {}", what, e))?)),
    }
}

fn on_fields(on: Option<Raw>) -> Result<Vec<Str>, String> {
    Ok(match on.map(|r| r.0) {
        None => vec![Str::from("_id")],
        Some(Value::String(s)) => vec![s],
        Some(Value::Array(items)) if !items.is_empty() => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                _ => Err("$merge.on must hold field names".to_string()),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err("$merge.on must be a field name or an array of field names".into()),
    })
}

fn when_matched(w: Option<Raw>) -> Result<WhenMatched, String> {
    Ok(match w.map(|r| r.0) {
        None => WhenMatched::Merge,
        Some(Value::String(s)) => match s.as_str() {
            "merge" => WhenMatched::Merge,
            "replace" => WhenMatched::Replace,
            "keepExisting" => WhenMatched::KeepExisting,
            "fail" => WhenMatched::Fail,
            other => return Err(format!("$merge.whenMatched: unknown mode '{}'", other)),
        },
        Some(Value::Array(stages)) => WhenMatched::Pipeline(stages),
        Some(_) => return Err("$merge.whenMatched must be a mode or a pipeline".into()),
    })
}

impl MergeOptions {
    /// Parses `into` and the other fields of a `$merge` stage.
    pub fn parse(into: &Document, options: &Document) -> Result<MergeOptions, String> {
        let i: Into = from_document(into).map_err(|e| e.describe("$merge.into"))?;
        let f: Fields = from_document(options).map_err(|e| e.describe("$merge"))?;
        let db = name_spec(i.db, "db")?;
        let coll = name_spec(i.coll, "coll")?;
        let on = on_fields(f.on)?;
        let when_matched = when_matched(f.when_matched)?;
        let insert_unmatched = match f.when_not_matched.map(|r| r.0) {
            None => true,
            Some(Value::String(s)) if s.as_str() == "insert" => true,
            Some(Value::String(s)) if s.as_str() == "discard" => false,
            _ => return Err("$merge.whenNotMatched must be insert or discard".into()),
        };
        if matches!(when_matched, WhenMatched::Fail) && !insert_unmatched {
            return Err("$merge with whenMatched: fail and whenNotMatched: discard would write nothing".into());
        }
        if let Some(n) = f.parallelism.filter(|n| !(1..=MAX_PARALLELISM).contains(n)) {
            return Err(format!("$merge.parallelism must be a whole number from 1 to {}, got {}", MAX_PARALLELISM, n));
        }
        let vars = f
            .vars
            .unwrap_or_default()
            .0
            .into_iter()
            .map(|(k, v)| Ok((Str::from(k.as_str()), compile(&v.0).map_err(|e| format!("$merge.let.{}: {}", k, e))?)))
            .collect::<Result<Vec<_>, String>>()?;
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
        assert!(parse(into, r#"{"parallelism": 17}"#).unwrap_err().contains("parallelism"));
        assert!(parse(into, r#"{"parallelism": 4}"#).is_ok());
        assert!(parse(r#"{"db": "d", "coll": "c", "collection": "x"}"#, "{}").unwrap_err().contains("into.collection"));
    }
}
