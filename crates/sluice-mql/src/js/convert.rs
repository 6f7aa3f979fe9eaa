//! Values between BSON and JavaScript.
//!
//! | BSON | JavaScript | back to BSON |
//! |---|---|---|
//! | missing, undefined | `undefined` | null (a document field set to `undefined` is left out) |
//! | null, bool, string | the same | the same |
//! | int, double | number | double (a JavaScript number is a double, as in MongoDB) |
//! | long | number when a safe integer (2^53 − 1 at most), else `NumberLong` | double; `NumberLong` and a BigInt give a long |
//! | decimal | `NumberDecimal` (its text; arithmetic goes through `valueOf`, a double) | decimal |
//! | document | object, fields in order (integer-like keys first, as JavaScript orders them) | document |
//! | array | array | array (holes become null) |
//! | date | `Date` | date |
//! | regex | `RegExp` (JavaScript's flags); `BSONRegExp` when JavaScript cannot take it | regex |
//! | objectId, timestamp, binData, minKey, maxKey | `ObjectId`, `Timestamp`, `BinData`, `MinKey`, `MaxKey` | the same |
//!
//! A function or a symbol has no BSON form: returning one is an error. What comes back is capped
//! at [`MAX_EXPRESSION_BYTES`] and [`MAX_DEPTH`] levels (a JavaScript object may refer to itself).

use rquickjs::function::This;
use rquickjs::object::Filter;
use rquickjs::{Array, Coerced, Constructor, Ctx, Function, JsLifetime, Object, Type, Value as JsValue};

use crate::expr::MAX_EXPRESSION_BYTES;
use crate::json::base64;
use crate::{Decimal128, Document, ObjectId, Str, Value};

/// The deepest value converted back from JavaScript (BSON documents nest 100 deep at most).
pub const MAX_DEPTH: usize = 100;

/// The largest integer a JavaScript number holds exactly.
const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;

/// Why a conversion failed.
pub(super) enum Fail {
    /// JavaScript threw (a getter, a constructor, the time or memory cap).
    Js(rquickjs::Error),
    /// The value has no BSON form, or is too large or too deep.
    Bad(String),
}

impl From<rquickjs::Error> for Fail {
    fn from(e: rquickjs::Error) -> Fail {
        Fail::Js(e)
    }
}

/// The constructors conversions use, looked up once per runtime.
#[derive(Clone)]
pub(super) struct Classes<'js> {
    pub(super) date: Constructor<'js>,
    pub(super) get_time: Function<'js>,
    pub(super) regexp: Constructor<'js>,
    pub(super) object_id: Constructor<'js>,
    pub(super) long: Constructor<'js>,
    pub(super) decimal: Constructor<'js>,
    pub(super) timestamp: Constructor<'js>,
    pub(super) bin_data: Constructor<'js>,
    pub(super) bson_regexp: Constructor<'js>,
    pub(super) min_key: Constructor<'js>,
    pub(super) max_key: Constructor<'js>,
}

// SAFETY: `Classes<'js>` holds only JavaScript values of the lifetime `'js`, and `Changed<'to>` is
// the same type with `'js` replaced by `'to`, as the trait requires.
#[allow(unsafe_code)]
unsafe impl<'js> JsLifetime<'js> for Classes<'js> {
    type Changed<'to> = Classes<'to>;
}

/// A BSON value as a JavaScript value.
pub(super) fn to_js<'js>(ctx: &Ctx<'js>, c: &Classes<'js>, v: &Value) -> Result<JsValue<'js>, Fail> {
    Ok(match v {
        Value::Missing | Value::Undefined => JsValue::new_undefined(ctx.clone()),
        Value::Null => JsValue::new_null(ctx.clone()),
        Value::Bool(b) => JsValue::new_bool(ctx.clone(), *b),
        Value::Int32(i) => JsValue::new_int(ctx.clone(), *i),
        Value::Int64(i) if i.unsigned_abs() <= MAX_SAFE_INTEGER as u64 => JsValue::new_number(ctx.clone(), *i as f64),
        Value::Int64(i) => c.long.construct((i.to_string(),))?,
        Value::Double(d) => JsValue::new_float(ctx.clone(), *d),
        Value::Decimal(d) => c.decimal.construct((d.to_string(),))?,
        Value::String(s) => rquickjs::String::from_str(ctx.clone(), s)?.into_value(),
        Value::Document(d) => {
            let obj = Object::new(ctx.clone())?;
            for (k, fv) in d.iter() {
                obj.set(k.as_str(), to_js(ctx, c, fv)?)?;
            }
            obj.into_value()
        }
        Value::Array(items) => {
            let arr = Array::new(ctx.clone())?;
            for (i, item) in items.iter().enumerate() {
                arr.set(i, to_js(ctx, c, item)?)?;
            }
            arr.into_value()
        }
        Value::Binary(subtype, bytes) => c.bin_data.construct((*subtype, base64::encode(bytes)))?,
        Value::ObjectId(oid) => c.object_id.construct((oid.to_hex(),))?,
        Value::DateTime(ms) => c.date.construct((*ms as f64,))?,
        Value::Timestamp(t, i) => c.timestamp.construct((*t, *i))?,
        Value::Regex(r) => regex_to_js(ctx, c, &r.0, &r.1)?,
        Value::MinKey => c.min_key.construct(())?,
        Value::MaxKey => c.max_key.construct(())?,
    })
}

/// A BSON regex as a JavaScript `RegExp` when JavaScript takes its pattern and options, else as
/// a `BSONRegExp` holding both.
fn regex_to_js<'js>(ctx: &Ctx<'js>, c: &Classes<'js>, pattern: &str, options: &str) -> Result<JsValue<'js>, Fail> {
    if options.chars().all(|o| matches!(o, 'i' | 'm' | 's' | 'u')) {
        match c.regexp.construct::<_, JsValue>((pattern, options)) {
            Ok(v) => return Ok(v),
            // The pattern is not JavaScript's syntax: drop the SyntaxError, keep the text.
            Err(rquickjs::Error::Exception) => drop(ctx.catch()),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(c.bson_regexp.construct((pattern, options))?)
}

/// Counts what a conversion back has built, against the size cap.
struct Budget(usize);

impl Budget {
    fn take(&mut self, bytes: usize) -> Result<(), Fail> {
        self.0 = self.0.saturating_add(bytes);
        if self.0 > MAX_EXPRESSION_BYTES {
            return Err(Fail::Bad(format!(
                "the value JavaScript returned would use too much memory (over {} bytes)",
                MAX_EXPRESSION_BYTES
            )));
        }
        Ok(())
    }
}

/// What a function returned, as BSON: `undefined` becomes null.
pub(super) fn from_js_result<'js>(c: &Classes<'js>, v: JsValue<'js>) -> Result<Value, Fail> {
    match from_js(c, v, 0, &mut Budget(0))? {
        Value::Missing => Ok(Value::Null),
        other => Ok(other),
    }
}

/// A JavaScript value as BSON; `undefined` gives `Missing` (the caller decides what it means).
fn from_js<'js>(c: &Classes<'js>, v: JsValue<'js>, depth: usize, budget: &mut Budget) -> Result<Value, Fail> {
    budget.take(std::mem::size_of::<Value>())?;
    Ok(match v.type_of() {
        Type::Undefined | Type::Uninitialized => Value::Missing,
        Type::Null => Value::Null,
        Type::Bool => Value::Bool(v.as_bool().unwrap_or(false)),
        Type::Int | Type::Float => Value::Double(v.as_number().unwrap_or(f64::NAN)),
        Type::String => {
            let s = v.as_string().map(|s| s.to_string()).transpose()?.unwrap_or_default();
            budget.take(s.len())?;
            Value::String(Str::from(s))
        }
        Type::BigInt => {
            let n = v.into_big_int().map(|b| b.to_i64()).transpose()?;
            Value::Int64(n.ok_or_else(|| Fail::Bad("a BigInt out of the range of a long".into()))?)
        }
        Type::Array => {
            let arr = v.into_array().ok_or_else(|| Fail::Bad("not an array".into()))?;
            let depth = deeper(depth)?;
            let mut out = Vec::with_capacity(arr.len().min(1024));
            for item in arr.iter::<JsValue>() {
                out.push(match from_js(c, item?, depth, budget)? {
                    Value::Missing => Value::Null,
                    other => other,
                });
            }
            Value::Array(out)
        }
        Type::Object | Type::Exception | Type::Proxy | Type::Promise => {
            let obj = v.into_object().ok_or_else(|| Fail::Bad("not an object".into()))?;
            object_from_js(c, obj, deeper(depth)?, budget)?
        }
        Type::Function | Type::Constructor => return Err(Fail::Bad("a function cannot be converted to BSON".into())),
        other => return Err(Fail::Bad(format!("a JavaScript {} cannot be converted to BSON", other))),
    })
}

fn deeper(depth: usize) -> Result<usize, Fail> {
    if depth >= MAX_DEPTH {
        return Err(Fail::Bad(format!(
            "the value JavaScript returned nests deeper than {} levels (does an object refer to itself?)",
            MAX_DEPTH
        )));
    }
    Ok(depth + 1)
}

/// An object: a date, a regular expression, one of the BSON classes, or a document.
fn object_from_js<'js>(c: &Classes<'js>, obj: Object<'js>, depth: usize, budget: &mut Budget) -> Result<Value, Fail> {
    if obj.is_instance_of(&c.date) {
        let ms: f64 = c.get_time.call((This(obj),))?;
        if !ms.is_finite() {
            return Err(Fail::Bad("an invalid Date cannot be converted to BSON".into()));
        }
        return Ok(Value::DateTime(ms as i64));
    }
    if obj.is_instance_of(&c.regexp) {
        let source: String = obj.get("source")?;
        let flags: String = obj.get("flags")?;
        // BSON keeps the options JavaScript shares with it, in alphabetical order.
        let options: String = flags.chars().filter(|f| matches!(f, 'i' | 'm' | 's' | 'u')).collect();
        budget.take(source.len())?;
        return Ok(Value::Regex(Box::new((Str::from(source), Str::from(options)))));
    }
    let tag: JsValue = obj.get("_bsontype")?;
    if let Some(tag) = tag.as_string() {
        if let Some(v) = bson_class(&obj, &tag.to_string()?)? {
            return Ok(v);
        }
    }
    let mut d = Document::new();
    for prop in obj.own_props::<String, JsValue>(Filter::default()) {
        let (k, fv) = prop?;
        budget.take(k.len())?;
        let fv = from_js(c, fv, depth, budget)?;
        // JSON.stringify's rule: a field set to undefined is left out.
        if !fv.is_missing() {
            d.insert(k, fv);
        }
    }
    Ok(Value::Document(d))
}

/// One of the prelude's BSON classes, by its `_bsontype`; `None` for a tag it does not know.
fn bson_class(obj: &Object<'_>, tag: &str) -> Result<Option<Value>, Fail> {
    let text = |key: &str| -> Result<String, Fail> { Ok(obj.get::<_, Coerced<String>>(key)?.0) };
    let bad = |what: &str, found: String| Fail::Bad(format!("invalid {}: {}", what, found));
    Ok(Some(match tag {
        "ObjectId" => {
            let hex = text("str")?;
            Value::ObjectId(ObjectId::parse_hex(&hex).ok_or_else(|| bad("ObjectId", hex))?)
        }
        "Long" => {
            let s = text("str")?;
            Value::Int64(s.parse().map_err(|_| bad("NumberLong", s))?)
        }
        "Decimal128" => {
            let s = text("str")?;
            Value::Decimal(Decimal128::parse(&s).ok_or_else(|| bad("NumberDecimal", s))?)
        }
        "Timestamp" => Value::Timestamp(obj.get::<_, u32>("t")?, obj.get::<_, u32>("i")?),
        "Binary" => {
            let b64 = text("base64")?;
            let bytes = base64::decode(&b64).ok_or_else(|| bad("BinData", b64))?;
            Value::Binary(obj.get::<_, u8>("subtype")?, bytes)
        }
        "BSONRegExp" => Value::Regex(Box::new((Str::from(text("pattern")?), Str::from(text("options")?)))),
        "MinKey" => Value::MinKey,
        "MaxKey" => Value::MaxKey,
        _ => return Ok(None),
    }))
}
