//! Sampling: `startSampleStreamProcessor` opens a cursor over a running processor's output,
//! `getMoreSampleStreamProcessor` reads it (`messages`, and `cursorId: 0` once the `limit` is
//! reached or the processor stopped), and `processStreamProcessor` runs a pipeline as a
//! temporary processor sampled the same way (dropped by mongosh at the end, or when the
//! connection closes).

use bson::{doc, Bson, Document};
use serde_json::{json, Value as Json};
use sluice_api::operation::ops;
use sluice_api::processor_requests::create_request;
use sluice_control::StartOptions;

use super::processors::{find, number, options_of};
use super::{authorize, target, workspace, Reply};
use crate::convert::{from_engine, to_document, to_json};
use crate::error::CommandError;
use crate::session::{SampleCursor, Session};

/// The option that marks a `processStreamProcessor` processor (shown in its options).
pub const TEMPORARY_OPTION: &str = "temporary";

/// Documents one `getMoreSampleStreamProcessor` returns at most.
const BATCH: usize = 100;
/// Bytes of documents one `getMoreSampleStreamProcessor` returns at most (one document more
/// when the first alone is larger), well under the 16 MB a reply document may hold.
const BATCH_BYTES: usize = 8 * 1024 * 1024;

fn limit_of(options: &Document) -> Result<Option<u64>, CommandError> {
    match number(options.get("limit")) {
        None => Ok(None),
        Some(n) if n >= 1.0 => Ok(Some(n as u64)),
        Some(_) => Err(CommandError::bad_value("limit must be a positive number")),
    }
}

fn open(s: &mut Session, cursor: SampleCursor) -> Result<i64, CommandError> {
    if s.cursors.len() >= s.state.limits.max_cursors_per_connection {
        return Err(CommandError::bad_value(format!(
            "too many open sample cursors on this connection (at most {})",
            s.state.limits.max_cursors_per_connection
        )));
    }
    let id = s.cursor_id();
    s.cursors.insert(id, cursor);
    Ok(id)
}

/// `startSampleStreamProcessor: NAME, limit?: N`.
pub async fn start(s: &mut Session, db: &str, cmd: &Document) -> Reply {
    authorize(s, &ops::SAMPLE_PROCESSOR, "startSampleStreamProcessor")?;
    let name = target(cmd, "startSampleStreamProcessor")?;
    let w = workspace(s, db).await?;
    let limit = limit_of(&to_document(Json::Object(options_of(cmd, &[]))))?;
    let p = find(s, &w, &name).await?;
    if s.state.controller.live_stats(&p.id).is_none() {
        return Err(CommandError::illegal_operation(format!(
            "stream processor '{}' is not running ({}): start it to sample its output",
            name,
            p.state.as_str()
        )));
    }
    let id = open(s, SampleCursor { processor_id: p.id, processor_name: name, seen: 0, remaining: limit })?;
    Ok(doc! {"cursorId": id})
}

/// `getMoreSampleStreamProcessor: NAME, cursorId: ID`.
pub async fn get_more(s: &mut Session, _db: &str, cmd: &Document) -> Reply {
    authorize(s, &ops::SAMPLE_PROCESSOR, "getMoreSampleStreamProcessor")?;
    let name = target(cmd, "getMoreSampleStreamProcessor")?;
    let id =
        number(cmd.get("cursorId")).ok_or_else(|| CommandError::type_mismatch("cursorId must be a number"))? as i64;
    let Some(cursor) = s.cursors.get_mut(&id).filter(|c| c.processor_name == name) else {
        return Err(CommandError::cursor_not_found(id));
    };
    let max = cursor.remaining.map_or(BATCH, |r| (r as usize).min(BATCH));
    let mut messages = Vec::new();
    let next = match s.state.controller.sample_since(&cursor.processor_id, cursor.seen, max) {
        Some((docs, seen)) => {
            // Documents past the byte budget stay for the next getMore: the reply must fit a
            // message.
            let start = seen - docs.len() as u64;
            let (mut bytes, mut taken) = (0, 0);
            for d in &docs {
                // A document BSON cannot hold (none should reach here) is passed over.
                if let Some(d) = from_engine(d) {
                    let size = bson::to_vec(&d).map_or(0, |v| v.len());
                    if !messages.is_empty() && bytes + size > BATCH_BYTES {
                        break;
                    }
                    bytes += size;
                    messages.push(Bson::Document(d));
                }
                taken += 1;
            }
            cursor.seen = start + taken as u64;
            if let Some(r) = &mut cursor.remaining {
                *r -= taken as u64;
            }
            if cursor.remaining == Some(0) {
                0
            } else {
                id
            }
        }
        // The processor is not running any more: the sample ends.
        None => 0,
    };
    if next == 0 {
        s.cursors.remove(&id);
    }
    Ok(doc! {"messages": messages, "cursorId": next})
}

/// `processStreamProcessor: [pipeline], options?: {limit}`: a temporary processor, started and
/// sampled; its name comes back with the cursor.
pub async fn process(s: &mut Session, db: &str, cmd: &Document) -> Reply {
    authorize(s, &ops::CREATE_PROCESSOR, "processStreamProcessor")?;
    authorize(s, &ops::START_PROCESSOR, "processStreamProcessor")?;
    let w = workspace(s, db).await?;
    let pipeline = match cmd.get("processStreamProcessor") {
        Some(p @ Bson::Array(_)) => to_json(p),
        _ => return Err(CommandError::type_mismatch("processStreamProcessor takes a pipeline (an array of stages)")),
    };
    let options = to_document(Json::Object(options_of(cmd, &[])));
    let limit = limit_of(&options)?;
    let name = format!("process-{}", sluice_control::random_hex(8));
    let body = serde_json::Map::from_iter([("name".to_string(), json!(name)), ("pipeline".to_string(), pipeline)]);
    let req = create_request(&body).map_err(CommandError::from_api)?;
    // Marked, so a restarted server drops it if its connection could not (server::drop_temporary).
    let options = json!({ TEMPORARY_OPTION: true });
    let c = &s.state.controller;
    let p = c.create(&w, &req.name, req.pipeline, options).await.map_err(|e| CommandError::from_control(&name, e))?;
    s.ephemeral.push(name.clone());
    c.start(&w, &name, StartOptions::default()).await.map_err(|e| CommandError::from_control(&name, e))?;
    let id = open(s, SampleCursor { processor_id: p.id, processor_name: name.clone(), seen: 0, remaining: limit })?;
    Ok(doc! {"name": name, "cursorId": id})
}
