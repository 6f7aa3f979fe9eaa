//! What a runtime holds before the pipeline's functions: `hex_md5` (native, as mongod has it),
//! the BSON classes and mongod's `Array` helpers (prelude.js).

use md5::{Digest, Md5};
use rquickjs::{Coerced, Ctx, Function, Object};

use super::convert::Classes;
use crate::ObjectId;

/// The prelude's JavaScript.
const PRELUDE: &str = include_str!("prelude.js");

/// Installs the prelude in a fresh context and returns the classes conversions use.
pub(super) fn install<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Classes<'js>> {
    let g = ctx.globals();
    g.set("hex_md5", Function::new(ctx.clone(), |s: Coerced<String>| hex::encode(Md5::digest(s.0.as_bytes())))?)?;
    g.set("__newObjectIdHex", Function::new(ctx.clone(), || ObjectId::generate().to_hex())?)?;
    ctx.eval::<(), _>(PRELUDE)?;
    let date: Object = g.get("Date")?;
    let date_proto: Object = date.get("prototype")?;
    Ok(Classes {
        get_time: date_proto.get("getTime")?,
        date: g.get("Date")?,
        regexp: g.get("RegExp")?,
        object_id: g.get("ObjectId")?,
        long: g.get("NumberLong")?,
        decimal: g.get("NumberDecimal")?,
        timestamp: g.get("Timestamp")?,
        bin_data: g.get("BinData")?,
        bson_regexp: g.get("BSONRegExp")?,
        min_key: g.get("MinKey")?,
        max_key: g.get("MaxKey")?,
    })
}
