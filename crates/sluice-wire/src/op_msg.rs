//! `OP_MSG`: flag bits, a body section (kind 0) and document sequences (kind 1), which are
//! folded into the body as arrays under their identifier, as a server does.

use bson::{Bson, Document};

/// The checksum (CRC-32C) trails the sections.
const CHECKSUM_PRESENT: u32 = 1;
/// The sender expects no reply.
pub const MORE_TO_COME: u32 = 1 << 1;
/// Required bits are the low 16: unknown ones must be refused.
const KNOWN_REQUIRED: u32 = CHECKSUM_PRESENT | MORE_TO_COME;

/// A parsed `OP_MSG` request.
#[derive(Debug, Clone, PartialEq)]
pub struct OpMsg {
    /// The flag bits.
    pub flags: u32,
    /// The command, with document sequences folded in.
    pub command: Document,
}

/// Why an `OP_MSG` body does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid OP_MSG: {0}")]
pub struct MsgError(pub String);

fn bad<T>(m: impl Into<String>) -> Result<T, MsgError> {
    Err(MsgError(m.into()))
}

fn le_i32(b: &[u8], at: usize) -> Option<i32> {
    b.get(at..at + 4).map(|s| i32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// One BSON document at the start of `b`; returns it and its length.
pub fn document_at(b: &[u8]) -> Result<(Document, usize), MsgError> {
    let Some(len) = le_i32(b, 0) else { return bad("truncated document") };
    if len < 5 || len as usize > b.len() {
        return bad(format!("document length {} does not fit", len));
    }
    let len = len as usize;
    let doc = Document::from_reader(&mut &b[..len]).map_err(|e| MsgError(format!("bad BSON: {}", e)))?;
    Ok((doc, len))
}

/// Parses an `OP_MSG` body (after the header).
pub fn parse(body: &[u8]) -> Result<OpMsg, MsgError> {
    let Some(flags) = le_i32(body, 0).map(|f| f as u32) else { return bad("no flag bits") };
    if flags & 0xffff & !KNOWN_REQUIRED != 0 {
        return bad(format!("unknown required flag bits {:#x}", flags & 0xffff & !KNOWN_REQUIRED));
    }
    let end = if flags & CHECKSUM_PRESENT != 0 {
        match body.len().checked_sub(4) {
            Some(e) if e >= 4 => e,
            _ => return bad("no room for the checksum"),
        }
    } else {
        body.len()
    };
    let mut at = 4;
    let mut command: Option<Document> = None;
    let mut sequences: Vec<(String, Vec<Bson>)> = Vec::new();
    while at < end {
        let kind = body[at];
        at += 1;
        match kind {
            0 => {
                if command.is_some() {
                    return bad("two body sections");
                }
                let (doc, n) = document_at(&body[at..end])?;
                command = Some(doc);
                at += n;
            }
            1 => {
                let Some(size) = le_i32(&body[..end], at) else { return bad("truncated sequence") };
                if size < 5 || at + size as usize > end {
                    return bad(format!("sequence size {} does not fit", size));
                }
                let seq_end = at + size as usize;
                let mut p = at + 4;
                let Some(nul) = body[p..seq_end].iter().position(|&c| c == 0) else {
                    return bad("sequence identifier is not terminated");
                };
                let id =
                    std::str::from_utf8(&body[p..p + nul]).map_err(|_| MsgError("identifier is not UTF-8".into()))?;
                let id = id.to_string();
                p += nul + 1;
                let mut docs = Vec::new();
                while p < seq_end {
                    let (doc, n) = document_at(&body[p..seq_end])?;
                    docs.push(Bson::Document(doc));
                    p += n;
                }
                sequences.push((id, docs));
                at = seq_end;
            }
            k => return bad(format!("unknown section kind {}", k)),
        }
    }
    let Some(mut command) = command else { return bad("no body section") };
    for (id, docs) in sequences {
        if command.contains_key(&id) {
            return bad(format!("{} is both in the body and a document sequence", id));
        }
        command.insert(id, Bson::Array(docs));
    }
    Ok(OpMsg { flags, command })
}

/// The body of an `OP_MSG` reply holding `doc`.
pub fn encode(doc: &Document) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(&0u32.to_le_bytes());
    out.push(0);
    // Writing into a Vec cannot fail for a document that was built in memory.
    if doc.to_writer(&mut out).is_err() {
        tracing::warn!("cannot encode a wire reply");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    fn body(flags: u32, sections: &[Vec<u8>]) -> Vec<u8> {
        let mut b = flags.to_le_bytes().to_vec();
        for s in sections {
            b.extend_from_slice(s);
        }
        b
    }

    fn kind0(d: &Document) -> Vec<u8> {
        let mut v = vec![0];
        d.to_writer(&mut v).unwrap();
        v
    }

    #[test]
    fn document_sequences_become_arrays_of_the_command() {
        let mut seq = Vec::new();
        seq.extend_from_slice(b"documents\0");
        doc! {"a": 1}.to_writer(&mut seq).unwrap();
        doc! {"a": 2}.to_writer(&mut seq).unwrap();
        let mut kind1 = vec![1];
        kind1.extend_from_slice(&((seq.len() + 4) as i32).to_le_bytes());
        kind1.extend_from_slice(&seq);
        let m = parse(&body(0, &[kind0(&doc! {"insert": "c", "$db": "w"}), kind1])).unwrap();
        assert_eq!(m.command, doc! {"insert": "c", "$db": "w", "documents": [{"a": 1}, {"a": 2}]});
    }

    #[test]
    fn malformed_bodies_are_refused() {
        assert!(parse(&[1, 0]).is_err());
        assert!(parse(&body(1 << 3, &[kind0(&doc! {"ping": 1})])).is_err());
        assert!(parse(&body(0, &[vec![0, 200, 0, 0, 0, 1]])).is_err());
        assert!(parse(&body(0, &[vec![7]])).is_err());
        assert!(parse(&body(0, &[])).is_err());
        let mut two = kind0(&doc! {"ping": 1});
        two.extend(kind0(&doc! {"ping": 1}));
        assert!(parse(&body(0, &[two])).is_err());
        // A checksum is stripped, not read as a section.
        let mut with_sum = body(CHECKSUM_PRESENT, &[kind0(&doc! {"ping": 1})]);
        with_sum.extend_from_slice(&[0, 0, 0, 0]);
        assert_eq!(parse(&with_sum).unwrap().command, doc! {"ping": 1});
    }
}
