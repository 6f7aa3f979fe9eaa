//! The legacy `OP_QUERY` a driver opens with (`isMaster`/`hello` on `admin.$cmd`), and the
//! `OP_REPLY` that answers it. Nothing else is served over `OP_QUERY`.

use bson::Document;

use crate::op_msg::{document_at, MsgError};

/// A parsed `OP_QUERY` on a `$cmd` collection.
#[derive(Debug, Clone, PartialEq)]
pub struct OpQuery {
    /// The database the command is for (`admin` of `admin.$cmd`).
    pub db: String,
    /// The command (unwrapped from `$query` when a read preference was attached).
    pub command: Document,
}

/// Parses an `OP_QUERY` body (after the header).
pub fn parse(body: &[u8]) -> Result<OpQuery, MsgError> {
    let rest = body.get(4..).ok_or_else(|| MsgError("truncated OP_QUERY".into()))?;
    let nul = rest.iter().position(|&c| c == 0).ok_or_else(|| MsgError("collection name not terminated".into()))?;
    let ns = std::str::from_utf8(&rest[..nul]).map_err(|_| MsgError("collection name is not UTF-8".into()))?;
    let Some(db) = ns.strip_suffix(".$cmd") else {
        return Err(MsgError(format!("OP_QUERY on {} is not supported: only commands", ns)));
    };
    // numberToSkip and numberToReturn, then the query.
    let q = rest.get(nul + 1 + 8..).ok_or_else(|| MsgError("truncated OP_QUERY".into()))?;
    let (mut command, _) = document_at(q)?;
    if let Ok(inner) = command.get_document("$query") {
        command = inner.clone();
    }
    Ok(OpQuery { db: db.to_string(), command })
}

/// The body of an `OP_REPLY` holding `doc`.
pub fn encode_reply(doc: &Document) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(&0i32.to_le_bytes()); // responseFlags
    out.extend_from_slice(&0i64.to_le_bytes()); // cursorID
    out.extend_from_slice(&0i32.to_le_bytes()); // startingFrom
    out.extend_from_slice(&1i32.to_le_bytes()); // numberReturned
    if doc.to_writer(&mut out).is_err() {
        tracing::warn!("cannot encode a wire reply");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    fn query(ns: &str, d: &Document) -> Vec<u8> {
        let mut b = 0i32.to_le_bytes().to_vec();
        b.extend_from_slice(ns.as_bytes());
        b.push(0);
        b.extend_from_slice(&[0; 4]);
        b.extend_from_slice(&(-1i32).to_le_bytes());
        d.to_writer(&mut b).unwrap();
        b
    }

    #[test]
    fn an_is_master_query_parses_and_other_collections_are_refused() {
        let q = parse(&query("admin.$cmd", &doc! {"isMaster": 1, "client": {"a": 1}})).unwrap();
        assert_eq!(q.db, "admin");
        assert_eq!(q.command.get_i32("isMaster"), Ok(1));
        let wrapped = parse(&query("w.$cmd", &doc! {"$query": {"hello": 1}, "$readPreference": {}})).unwrap();
        assert_eq!(wrapped.command, doc! {"hello": 1});
        assert!(parse(&query("db.coll", &doc! {})).is_err());
        assert!(parse(&[0, 0]).is_err());
    }
}
