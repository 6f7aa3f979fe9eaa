//! The checkpoint file format: one consistent state of a whole pipeline, as bytes.
//!
//! Layout (all integers little-endian), documented in `docs/checkpoints.md`:
//!
//! | bytes | what |
//! |---|---|
//! | 8 | magic `SLUICECK` |
//! | 2 | format version ([`CHECKPOINT_FORMAT`]) |
//! | 2 | reserved, zero |
//! | 4 | CRC-32 (IEEE) of the payload |
//! | 8 | payload length |
//! | n | payload: one BSON document `{seq, takenAt, fingerprint, state}` |
//!
//! A reader refuses anything whose magic, version, length or checksum does not match, so a
//! truncated or damaged file is never taken for a checkpoint.

use sluice_mql::bson::{decode_document, encode_fields_into};
use sluice_mql::{Str, Value};

/// The format version this build writes and reads.
pub const CHECKPOINT_FORMAT: u16 = 1;

const MAGIC: &[u8; 8] = b"SLUICECK";
const HEADER_LEN: usize = 24;

/// One checkpoint of a processor.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    /// Increases by one with every checkpoint of a processor.
    pub seq: u64,
    /// When it was taken, milliseconds since the epoch.
    pub taken_at_ms: i64,
    /// What the state depends on in the pipeline (its `$source` and window stages): a pipeline
    /// whose fingerprint differs cannot resume from this checkpoint.
    pub fingerprint: String,
    /// The executor's state ([`crate::Executor::snapshot`]).
    pub state: Value,
}

/// A checkpoint read from its bytes, its state left in them.
#[derive(Debug, Clone, PartialEq)]
pub struct RawCheckpoint<'a> {
    /// As [`Checkpoint::seq`].
    pub seq: u64,
    /// As [`Checkpoint::taken_at_ms`].
    pub taken_at_ms: i64,
    /// As [`Checkpoint::fingerprint`].
    pub fingerprint: String,
    /// The state document's bytes.
    pub state: &'a [u8],
}

/// Why bytes are not a checkpoint.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid checkpoint: {0}")]
pub struct CheckpointError(pub String);

impl Checkpoint {
    /// The file form.
    pub fn encode(&self) -> Result<Vec<u8>, CheckpointError> {
        self.encode_sized(0)
    }

    /// The file form, written into one buffer of about `size_hint` bytes (the previous
    /// checkpoint's size): the state is encoded where it lies, never copied or regrown.
    pub fn encode_sized(&self, size_hint: usize) -> Result<Vec<u8>, CheckpointError> {
        let mut out = Vec::with_capacity(HEADER_LEN + size_hint.max(256) + size_hint / 8);
        out.extend_from_slice(&[0; HEADER_LEN]);
        let seq = Value::Int64(self.seq as i64);
        let taken_at = Value::DateTime(self.taken_at_ms);
        let fingerprint = Value::String(Str::from(self.fingerprint.as_str()));
        let fields = [("seq", &seq), ("takenAt", &taken_at), ("fingerprint", &fingerprint), ("state", &self.state)];
        encode_fields_into(&mut out, &fields).map_err(|e| CheckpointError(e.0))?;
        Self::seal(&mut out);
        Ok(out)
    }

    /// The file form of a checkpoint whose state `write_state` writes as the field `state`
    /// ([`crate::Executor::write_snapshot`]): the same bytes as [`Checkpoint::encode_sized`] of
    /// the snapshot's value, without building that value.
    pub fn encode_streamed(
        seq: u64,
        taken_at_ms: i64,
        fingerprint: &str,
        size_hint: usize,
        write_state: impl FnOnce(&mut Vec<u8>) -> Result<(), sluice_mql::bson::BsonError>,
    ) -> Result<Vec<u8>, CheckpointError> {
        use sluice_mql::bson::stream;
        let mut out = Vec::with_capacity(HEADER_LEN + size_hint.max(256) + size_hint / 8);
        out.extend_from_slice(&[0; HEADER_LEN]);
        let fail = |e: sluice_mql::bson::BsonError| CheckpointError(e.0);
        let doc = stream::begin(&mut out);
        stream::field(&mut out, "seq", &Value::Int64(seq as i64)).map_err(fail)?;
        stream::field(&mut out, "takenAt", &Value::DateTime(taken_at_ms)).map_err(fail)?;
        stream::field(&mut out, "fingerprint", &Value::String(Str::from(fingerprint))).map_err(fail)?;
        write_state(&mut out).map_err(fail)?;
        stream::end(&mut out, doc).map_err(fail)?;
        Self::seal(&mut out);
        Ok(out)
    }

    /// Writes the header of a file whose payload follows it.
    fn seal(out: &mut [u8]) {
        let payload_len = (out.len() - HEADER_LEN) as u64;
        let crc = crc32fast::hash(&out[HEADER_LEN..]);
        let mut header = [0u8; HEADER_LEN];
        header[..8].copy_from_slice(MAGIC);
        header[8..10].copy_from_slice(&CHECKPOINT_FORMAT.to_le_bytes());
        header[12..16].copy_from_slice(&crc.to_le_bytes());
        header[16..24].copy_from_slice(&payload_len.to_le_bytes());
        out[..HEADER_LEN].copy_from_slice(&header);
    }

    /// Reads the file form, checking magic, version, length and checksum, without decoding
    /// the state: [`crate::Executor::restore_raw`] reads it where it lies.
    pub fn decode_raw(bytes: &[u8]) -> Result<RawCheckpoint<'_>, CheckpointError> {
        use sluice_mql::bson::raw::{walk, RawField};
        let bad = |m: &str| CheckpointError(m.to_string());
        let payload = Self::verified_payload(bytes)?;
        let (mut seq, mut taken_at_ms, mut fingerprint, mut state) = (None, None, None, None);
        walk(payload, |key, field| {
            match key {
                "seq" => seq = field.to_value()?.as_exact_i64(),
                "takenAt" => {
                    if let Value::DateTime(ms) = field.to_value()? {
                        taken_at_ms = Some(ms);
                    }
                }
                "fingerprint" => fingerprint = field.to_value()?.as_str().map(str::to_string),
                "state" => {
                    if let RawField::Nested { is_array: false, bytes } = field {
                        state = Some(bytes);
                    }
                }
                _ => {}
            }
            Ok(())
        })
        .map_err(|e| CheckpointError(e.0))?;
        Ok(RawCheckpoint {
            seq: seq.filter(|s| *s >= 0).ok_or_else(|| bad("no seq"))? as u64,
            taken_at_ms: taken_at_ms.ok_or_else(|| bad("no takenAt"))?,
            fingerprint: fingerprint.ok_or_else(|| bad("no fingerprint"))?,
            state: state.ok_or_else(|| bad("no state"))?,
        })
    }

    /// The payload of a file whose magic, version, length and checksum are right.
    fn verified_payload(bytes: &[u8]) -> Result<&[u8], CheckpointError> {
        let bad = |m: &str| CheckpointError(m.to_string());
        if bytes.len() < HEADER_LEN || &bytes[..8] != MAGIC {
            return Err(bad("not a Sluice checkpoint"));
        }
        let le16 = |at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]);
        let version = le16(8);
        if version != CHECKPOINT_FORMAT {
            return Err(CheckpointError(format!(
                "format version {} (this build reads version {})",
                version, CHECKPOINT_FORMAT
            )));
        }
        let mut crc = [0u8; 4];
        crc.copy_from_slice(&bytes[12..16]);
        let mut len = [0u8; 8];
        len.copy_from_slice(&bytes[16..24]);
        let payload = &bytes[HEADER_LEN..];
        if payload.len() as u64 != u64::from_le_bytes(len) {
            return Err(bad("truncated"));
        }
        if crc32fast::hash(payload) != u32::from_le_bytes(crc) {
            return Err(bad("checksum mismatch"));
        }
        Ok(payload)
    }

    /// Reads the file form, checking magic, version, length and checksum.
    pub fn decode(bytes: &[u8]) -> Result<Checkpoint, CheckpointError> {
        let bad = |m: &str| CheckpointError(m.to_string());
        let payload = Self::verified_payload(bytes)?;
        let mut doc = decode_document(payload).map_err(|e| CheckpointError(e.0))?;
        let seq = doc.get("seq").and_then(Value::as_exact_i64).filter(|s| *s >= 0).ok_or_else(|| bad("no seq"))?;
        let taken_at_ms = match doc.get("takenAt") {
            Some(Value::DateTime(ms)) => *ms,
            _ => return Err(bad("no takenAt")),
        };
        let fingerprint =
            doc.get("fingerprint").and_then(Value::as_str).ok_or_else(|| bad("no fingerprint"))?.to_string();
        // Moved out, not cloned: the state is most of the checkpoint.
        let state = doc.remove("state").ok_or_else(|| bad("no state"))?;
        Ok(Checkpoint { seq: seq as u64, taken_at_ms, fingerprint, state })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_mql::Document;

    #[test]
    fn the_size_hint_changes_nothing_but_the_buffer() {
        let c = sample();
        let plain = c.encode().unwrap();
        assert_eq!(c.encode_sized(1).unwrap(), plain);
        assert_eq!(c.encode_sized(1 << 20).unwrap(), plain);
        assert_eq!(Checkpoint::decode(&plain).unwrap(), c);
    }

    fn sample() -> Checkpoint {
        let state: Document =
            [(Str::from("maxSeen"), Value::Int64(i64::MIN)), (Str::from("operators"), Value::Array(vec![]))]
                .into_iter()
                .collect();
        Checkpoint { seq: 7, taken_at_ms: 1_700_000_000_123, fingerprint: "abc".into(), state: state.into() }
    }

    #[test]
    fn round_trips() {
        let c = sample();
        assert_eq!(Checkpoint::decode(&c.encode().unwrap()).unwrap(), c);
    }

    #[test]
    fn refuses_damaged_truncated_or_foreign_bytes() {
        let bytes = sample().encode().unwrap();
        let mut flipped = bytes.clone();
        let last = flipped.len() - 2;
        flipped[last] ^= 0x40;
        assert_eq!(Checkpoint::decode(&flipped).unwrap_err().0, "checksum mismatch");
        assert_eq!(Checkpoint::decode(&bytes[..bytes.len() - 1]).unwrap_err().0, "truncated");
        assert_eq!(Checkpoint::decode(b"hello").unwrap_err().0, "not a Sluice checkpoint");
        let mut future = bytes;
        future[8] = 9;
        assert!(Checkpoint::decode(&future).unwrap_err().0.starts_with("format version 9"));
    }
}
