//! String operators: `$concat $substrCP $substrBytes $substr $toLower $toUpper $split $trim $ltrim $rtrim
//! $regexMatch $regexFind $regexFindAll $strLenCP $strLenBytes $indexOfCP $indexOfBytes $replaceAll $replaceOne $strcasecmp`.

use std::borrow::Cow;

use super::registry::{type_name, value_text, Arity, FuncDef};
use super::ExprError;
use crate::{compile_regex, Document, Str, Value};

type Args<'a, 'b> = &'a [Cow<'b, Value>];

const REGEX_ARGS: &[&str] = &["input", "regex", "options"];
const REPLACE_ARGS: &[&str] = &["input", "find", "replacement"];
const TRIM_ARGS: &[&str] = &["input", "chars"];

pub(crate) const FUNCS: &[FuncDef] = &[
    FuncDef { name: "$concat", arity: Arity::Any, f: concat },
    FuncDef { name: "$substrCP", arity: Arity::Exact(3), f: substr_cp },
    FuncDef { name: "$substrBytes", arity: Arity::Exact(3), f: substr_bytes },
    FuncDef { name: "$substr", arity: Arity::Exact(3), f: substr_bytes },
    FuncDef { name: "$toLower", arity: Arity::Exact(1), f: to_lower },
    FuncDef { name: "$toUpper", arity: Arity::Exact(1), f: to_upper },
    FuncDef { name: "$split", arity: Arity::Exact(2), f: split },
    FuncDef { name: "$trim", arity: Arity::Named(TRIM_ARGS, 1), f: trim },
    FuncDef { name: "$ltrim", arity: Arity::Named(TRIM_ARGS, 1), f: ltrim },
    FuncDef { name: "$rtrim", arity: Arity::Named(TRIM_ARGS, 1), f: rtrim },
    FuncDef { name: "$regexMatch", arity: Arity::Named(REGEX_ARGS, 2), f: regex_match },
    FuncDef { name: "$regexFind", arity: Arity::Named(REGEX_ARGS, 2), f: regex_find },
    FuncDef { name: "$regexFindAll", arity: Arity::Named(REGEX_ARGS, 2), f: regex_find_all },
    FuncDef { name: "$strLenCP", arity: Arity::Exact(1), f: str_len_cp },
    FuncDef { name: "$strLenBytes", arity: Arity::Exact(1), f: str_len_bytes },
    FuncDef { name: "$indexOfCP", arity: Arity::Range(2, 4), f: index_of_cp },
    FuncDef { name: "$indexOfBytes", arity: Arity::Range(2, 4), f: index_of_bytes },
    FuncDef { name: "$replaceAll", arity: Arity::Named(REPLACE_ARGS, 3), f: replace_all },
    FuncDef { name: "$replaceOne", arity: Arity::Named(REPLACE_ARGS, 3), f: replace_one },
    FuncDef { name: "$strcasecmp", arity: Arity::Exact(2), f: strcasecmp },
];

fn string_arg<'v>(op: &'static str, v: &'v Value) -> Result<&'v str, ExprError> {
    v.as_str().ok_or_else(|| ExprError::new(op, format!("requires a string argument, found: {}", type_name(v))))
}

fn concat(args: Args) -> Result<Value, ExprError> {
    let total = args.iter().filter_map(|a| a.as_str()).map(str::len).sum::<usize>();
    super::memory::check("$concat", total)?;
    let mut out = String::with_capacity(total);
    for a in args {
        match &**a {
            v if v.is_nullish() => return Ok(Value::Null),
            Value::String(s) => out.push_str(s),
            v => return Err(ExprError::new("$concat", format!("$concat only supports strings, not {}", type_name(v)))),
        }
    }
    Ok(Value::String(Str::from(out)))
}

fn int_arg(op: &'static str, what: &str, v: &Value) -> Result<i64, ExprError> {
    v.as_exact_i64()
        .ok_or_else(|| ExprError::new(op, format!("{} must be a numeric integer, found {}", what, type_name(v))))
}

/// Converts a scalar to the string `$substr*`/`$toLower` operate on (numbers and dates print).
fn stringish(op: &'static str, v: &Value) -> Result<Option<String>, ExprError> {
    Ok(match v {
        v if v.is_nullish() => None,
        Value::String(s) => Some(s.to_string()),
        Value::Int32(_) | Value::Int64(_) | Value::Double(_) | Value::Decimal(_) | Value::DateTime(_) => {
            super::to_string_value(v).ok().and_then(|s| s.as_str().map(str::to_string))
        }
        v => return Err(ExprError::new(op, format!("can't convert from BSON type {} to String", type_name(v)))),
    })
}

fn substr_cp(args: Args) -> Result<Value, ExprError> {
    let Some(s) = stringish("$substrCP", &args[0])? else { return Ok(Value::str("")) };
    let start = int_arg("$substrCP", "starting index", &args[1])?;
    let len = int_arg("$substrCP", "length", &args[2])?;
    if start < 0 {
        return Err(ExprError::new("$substrCP", "starting index must be non-negative"));
    }
    let taken: String = if len < 0 {
        s.chars().skip(start as usize).collect()
    } else {
        s.chars().skip(start as usize).take(len as usize).collect()
    };
    Ok(Value::String(Str::from(taken)))
}

fn substr_bytes(args: Args) -> Result<Value, ExprError> {
    let Some(s) = stringish("$substrBytes", &args[0])? else { return Ok(Value::str("")) };
    let start = int_arg("$substrBytes", "starting index", &args[1])?;
    let len = int_arg("$substrBytes", "length", &args[2])?;
    if start < 0 {
        return Err(ExprError::new("$substrBytes", "starting index must be non-negative"));
    }
    let start = (start as usize).min(s.len());
    let end = if len < 0 { s.len() } else { start.saturating_add(len as usize).min(s.len()) };
    let part = s
        .get(start..end)
        .ok_or_else(|| ExprError::new("$substrBytes", "byte index is in the middle of a UTF-8 character"))?;
    Ok(Value::str(part))
}

fn to_lower(args: Args) -> Result<Value, ExprError> {
    Ok(Value::String(Str::from(stringish("$toLower", &args[0])?.unwrap_or_default().to_lowercase())))
}

fn to_upper(args: Args) -> Result<Value, ExprError> {
    Ok(Value::String(Str::from(stringish("$toUpper", &args[0])?.unwrap_or_default().to_uppercase())))
}

fn split(args: Args) -> Result<Value, ExprError> {
    if args[0].is_nullish() {
        return Ok(Value::Null);
    }
    let s = string_arg("$split", &args[0])?;
    let sep = string_arg("$split", &args[1])?;
    if sep.is_empty() {
        return Err(ExprError::new("$split", "requires a non-empty separator"));
    }
    super::memory::check_elements("$split", s.matches(sep).count() + 1)?;
    Ok(Value::Array(s.split(sep).map(Value::str).collect()))
}

fn trim_with(op: &'static str, args: Args, left: bool, right: bool) -> Result<Value, ExprError> {
    if args[0].is_nullish() {
        return Ok(Value::Null);
    }
    let s = string_arg(op, &args[0])?;
    let chars: Option<Vec<char>> = match &*args[1] {
        Value::Missing => None,
        v if v.is_nullish() => return Ok(Value::Null),
        v => Some(string_arg(op, v)?.chars().collect()),
    };
    // Default: whitespace as MongoDB defines it (ASCII and Unicode spaces, and NUL).
    let is_trim = |c: char| match &chars {
        Some(set) => set.contains(&c),
        None => c.is_whitespace() || c == '\0',
    };
    let mut out = s;
    if left {
        out = out.trim_start_matches(is_trim);
    }
    if right {
        out = out.trim_end_matches(is_trim);
    }
    Ok(Value::str(out))
}

fn trim(args: Args) -> Result<Value, ExprError> {
    trim_with("$trim", args, true, true)
}
fn ltrim(args: Args) -> Result<Value, ExprError> {
    trim_with("$ltrim", args, true, false)
}
fn rtrim(args: Args) -> Result<Value, ExprError> {
    trim_with("$rtrim", args, false, true)
}

/// The input string and compiled regex of a `$regex*` call; `None` when the input is null.
fn regex_args(op: &'static str, args: Args) -> Result<Option<(String, regex::Regex)>, ExprError> {
    let input = match &*args[0] {
        v if v.is_nullish() => return Ok(None),
        Value::String(s) => s.to_string(),
        v => return Err(ExprError::new(op, format!("input must be of type string, found {}", type_name(v)))),
    };
    let (pattern, mut options) = match &*args[1] {
        Value::String(s) => (s.to_string(), String::new()),
        Value::Regex(r) => (r.0.to_string(), r.1.to_string()),
        v if v.is_nullish() => return Ok(None),
        v => return Err(ExprError::new(op, format!("regex must be of type string or regex, found {}", type_name(v)))),
    };
    match &*args[2] {
        Value::String(o) => {
            if !options.is_empty() {
                return Err(ExprError::new(op, "options set in both regex and options"));
            }
            options = o.to_string();
        }
        v if v.is_nullish() => {}
        v => return Err(ExprError::new(op, format!("options must be of type string, found {}", type_name(v)))),
    }
    let re = compile_regex(&pattern, &options).map_err(|m| ExprError::new(op, m))?;
    Ok(Some((input, re)))
}

fn regex_match(args: Args) -> Result<Value, ExprError> {
    Ok(Value::Bool(match regex_args("$regexMatch", args)? {
        Some((input, re)) => re.is_match(&input),
        None => false,
    }))
}

fn match_document(input: &str, caps: &regex::Captures) -> Value {
    let whole = caps.get(0).map(|m| m.as_str()).unwrap_or("");
    let idx = caps.get(0).map(|m| input[..m.start()].chars().count()).unwrap_or(0);
    let captures: Vec<Value> =
        caps.iter().skip(1).map(|c| c.map(|m| Value::str(m.as_str())).unwrap_or(Value::Null)).collect();
    let mut d = Document::with_capacity(3);
    d.push_unique(Str::from("match"), Value::str(whole));
    d.push_unique(Str::from("idx"), Value::Int32(idx as i32));
    d.push_unique(Str::from("captures"), Value::Array(captures));
    Value::Document(d)
}

fn regex_find(args: Args) -> Result<Value, ExprError> {
    Ok(match regex_args("$regexFind", args)? {
        Some((input, re)) => re.captures(&input).map(|c| match_document(&input, &c)).unwrap_or(Value::Null),
        None => Value::Null,
    })
}

fn regex_find_all(args: Args) -> Result<Value, ExprError> {
    Ok(Value::Array(match regex_args("$regexFindAll", args)? {
        Some((input, re)) => {
            let mut out = Vec::new();
            let mut bytes = 0usize;
            for c in re.captures_iter(&input) {
                let m = match_document(&input, &c);
                bytes += m.approx_size();
                super::memory::check("$regexFindAll", bytes)?;
                out.push(m);
            }
            out
        }
        None => Vec::new(),
    }))
}

fn str_len_cp(args: Args) -> Result<Value, ExprError> {
    let s = args[0].as_str().ok_or_else(|| {
        ExprError::new("$strLenCP", format!("$strLenCP requires a string argument, found: {}", type_name(&args[0])))
    })?;
    Ok(Value::Int32(s.chars().count() as i32))
}

fn str_len_bytes(args: Args) -> Result<Value, ExprError> {
    let s = args[0].as_str().ok_or_else(|| {
        ExprError::new(
            "$strLenBytes",
            format!("$strLenBytes requires a string argument, found: {}", type_name(&args[0])),
        )
    })?;
    Ok(Value::Int32(s.len() as i32))
}

fn index_of_cp(args: Args) -> Result<Value, ExprError> {
    if args[0].is_nullish() {
        return Ok(Value::Null);
    }
    let s = string_arg("$indexOfCP", &args[0])?;
    let needle = string_arg("$indexOfCP", &args[1])?;
    let chars: Vec<char> = s.chars().collect();
    let start = match args.get(2) {
        Some(v) => int_arg("$indexOfCP", "starting index", v)?,
        None => 0,
    };
    let end = match args.get(3) {
        Some(v) => int_arg("$indexOfCP", "ending index", v)?,
        None => chars.len() as i64,
    };
    if start < 0 || end < 0 {
        return Err(ExprError::new("$indexOfCP", "index must be non-negative"));
    }
    let needle: Vec<char> = needle.chars().collect();
    let (start, end) = (start as usize, (end as usize).min(chars.len()));
    let mut i = start;
    while i + needle.len() <= end {
        if chars[i..i + needle.len()] == needle[..] {
            return Ok(Value::Int32(i as i32));
        }
        i += 1;
    }
    Ok(Value::Int32(-1))
}

/// `$indexOfBytes`: the byte offset of the first occurrence of a substring within
/// `[start, end)`, or -1; null when the string is null or missing.
fn index_of_bytes(args: Args) -> Result<Value, ExprError> {
    let op = "$indexOfBytes";
    let s = match &*args[0] {
        v if v.is_nullish() => return Ok(Value::Null),
        Value::String(s) => s.as_bytes(),
        v => {
            return Err(ExprError::new(
                op,
                format!("$indexOfBytes requires a string as the first argument, found: {}", type_name(v)),
            ))
        }
    };
    let Value::String(needle) = &*args[1] else {
        return Err(ExprError::new(
            op,
            format!("$indexOfBytes requires a string as the second argument, found: {}", type_name(&args[1])),
        ));
    };
    let bound = |i: usize, what: &str, default: usize| -> Result<usize, ExprError> {
        let Some(v) = args.get(i) else { return Ok(default) };
        match v.as_exact_i64().filter(|_| v.is_number()) {
            Some(n) if n >= 0 => Ok(usize::try_from(n).unwrap_or(usize::MAX)),
            Some(n) => Err(ExprError::new(op, format!("$indexOfBytes requires a nonnegative {}, found: {}", what, n))),
            None => Err(ExprError::new(
                op,
                format!(
                    "$indexOfBytes requires an integral {}, found a value of type: {}, with value: {}",
                    what,
                    type_name(v),
                    value_text(v)
                ),
            )),
        }
    };
    let start = bound(2, "starting index", 0)?;
    let end = bound(3, "ending index", s.len())?.min(s.len());
    let needle = needle.as_bytes();
    if start > end || end - start < needle.len() {
        return Ok(Value::Int32(-1));
    }
    let found = s[start..end].windows(needle.len().max(1)).position(|w| needle.is_empty() || w == needle);
    Ok(Value::Int32(match found {
        Some(i) => (start + i) as i32,
        // An empty needle is found at the start, even at the very end of the string.
        None if needle.is_empty() => start as i32,
        None => -1,
    }))
}

fn replace(op: &'static str, args: Args, all: bool) -> Result<Value, ExprError> {
    if args.iter().any(|a| a.is_nullish()) {
        return Ok(Value::Null);
    }
    let input = string_arg(op, &args[0])?;
    let find = string_arg(op, &args[1])?;
    let with = string_arg(op, &args[2])?;
    if with.len() > find.len() {
        let times = if all { input.matches(find).count() } else { usize::from(input.contains(find)) };
        super::memory::check(op, input.len() + times.saturating_mul(with.len() - find.len()))?;
    }
    Ok(Value::String(Str::from(if all { input.replace(find, with) } else { input.replacen(find, with, 1) })))
}

fn replace_all(args: Args) -> Result<Value, ExprError> {
    replace("$replaceAll", args, true)
}
fn replace_one(args: Args) -> Result<Value, ExprError> {
    replace("$replaceOne", args, false)
}

fn strcasecmp(args: Args) -> Result<Value, ExprError> {
    let a = stringish("$strcasecmp", &args[0])?.unwrap_or_default().to_uppercase();
    let b = stringish("$strcasecmp", &args[1])?.unwrap_or_default().to_uppercase();
    Ok(Value::Int32(match a.cmp(&b) {
        std::cmp::Ordering::Less => -1,
        std::cmp::Ordering::Equal => 0,
        std::cmp::Ordering::Greater => 1,
    }))
}

#[cfg(test)]
mod tests {
    use super::super::tests::{eval, ok};
    use crate::Value;

    #[test]
    fn index_of_bytes() {
        assert_eq!(ok(r#"{"$indexOfBytes": ["cafeteria", "e"]}"#), Value::Int32(3));
        assert_eq!(ok(r#"{"$indexOfBytes": ["cafétéria", "é"]}"#), Value::Int32(3));
        assert_eq!(ok(r#"{"$indexOfBytes": ["cafétéria", "t"]}"#), Value::Int32(5));
        assert_eq!(ok(r#"{"$indexOfBytes": ["cafeteria", "e", 5]}"#), Value::Int32(5));
        assert_eq!(ok(r#"{"$indexOfBytes": ["cafeteria", "e", 6]}"#), Value::Int32(-1));
        assert_eq!(ok(r#"{"$indexOfBytes": ["cafeteria", "e", 0, 3]}"#), Value::Int32(-1));
        assert_eq!(ok(r#"{"$indexOfBytes": ["cafeteria", "e", 5, 2]}"#), Value::Int32(-1));
        assert_eq!(ok(r#"{"$indexOfBytes": ["cafeteria", "", 3]}"#), Value::Int32(3));
        assert_eq!(ok(r#"{"$indexOfBytes": ["cafeteria", "e", 100]}"#), Value::Int32(-1));
        assert_eq!(ok(r#"{"$indexOfBytes": [null, "e"]}"#), Value::Null);
        assert_eq!(ok(r#"{"$indexOfBytes": ["$nope", "e"]}"#), Value::Null);
        let e = eval(r#"{"$indexOfBytes": [1, "e"]}"#).expect_err("an int");
        assert_eq!(e.message, "$indexOfBytes requires a string as the first argument, found: int");
        assert!(eval(r#"{"$indexOfBytes": ["a", null]}"#).is_err());
        let e = eval(r#"{"$indexOfBytes": ["vanilla", "ll", -1]}"#).expect_err("negative start");
        assert_eq!(e.message, "$indexOfBytes requires a nonnegative starting index, found: -1");
        let e = eval(r#"{"$indexOfBytes": ["vanilla", "ll", 0, -1]}"#).expect_err("negative end");
        assert_eq!(e.message, "$indexOfBytes requires a nonnegative ending index, found: -1");
        let e = eval(r#"{"$indexOfBytes": ["vanilla", "ll", "a"]}"#).expect_err("a string start");
        assert_eq!(
            e.message,
            r#"$indexOfBytes requires an integral starting index, found a value of type: string, with value: "a""#
        );
        assert!(eval(r#"{"$indexOfBytes": ["a", "a", 1.5]}"#).is_err());
        assert_eq!(ok(r#"{"$indexOfBytes": ["vanilla", "ll", 0, 2]}"#), Value::Int32(-1));
        assert_eq!(ok(r#"{"$indexOfBytes": ["vanilla", "nilla", 3]}"#), Value::Int32(-1));
    }
}
