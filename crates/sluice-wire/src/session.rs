//! One connection: reads messages, answers each command, and remembers who authenticated,
//! which workspace the connection works on, and its sample cursors. A malformed message closes
//! the connection; the server goes on serving the others.

use std::collections::HashMap;
use std::sync::Arc;

use bson::Document;
use sluice_api::auth::Principal;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::commands;
use crate::compress;
use crate::error::CommandError;
use crate::frame::{read_frame, write_frame, HEADER_LEN, OP_COMPRESSED, OP_MSG, OP_QUERY, OP_REPLY};
use crate::op_msg::{self, MORE_TO_COME};
use crate::op_query;
use crate::scram::Conversation;
use crate::server::WireState;

/// A sample cursor: where a connection's reading of a processor's output stands.
#[derive(Debug, Clone)]
pub struct SampleCursor {
    /// The processor sampled.
    pub processor_id: String,
    /// Its name (the `getMoreSampleStreamProcessor` argument).
    pub processor_name: String,
    /// Output documents of the run already passed (or skipped).
    pub seen: u64,
    /// Documents still to return before the cursor ends (`None`: until the processor stops).
    pub remaining: Option<u64>,
}

/// A SCRAM conversation under way.
pub struct PendingAuth {
    /// The server's side of it.
    pub conversation: Conversation,
    /// The API key the client named (none: no such key, and the proof will fail); it
    /// authenticates only if the proof matches.
    pub key: Option<sluice_store::ApiKey>,
    /// The database authenticated against (the workspace).
    pub db: String,
    /// The client asked to skip the empty last exchange (`options.skipEmptyExchange`).
    pub skip_empty_exchange: bool,
}

/// A connection's state.
pub struct Session {
    /// Shared server state.
    pub state: Arc<WireState>,
    /// `hello`'s `connectionId`.
    pub connection_id: i64,
    /// Who authenticated, once someone has.
    pub principal: Option<Principal>,
    /// The database authenticated against: the workspace this connection works on.
    pub auth_db: Option<String>,
    /// A SCRAM conversation between `saslStart` and the `saslContinue` with the proof.
    pub pending_auth: Option<PendingAuth>,
    /// Open sample cursors by id.
    pub cursors: HashMap<i64, SampleCursor>,
    /// Processors `processStreamProcessor` made, dropped when the connection ends.
    pub ephemeral: Vec<String>,
    next_cursor: i64,
    next_reply: i32,
}

impl Session {
    /// A new, unauthenticated connection.
    pub fn new(state: Arc<WireState>) -> Session {
        let connection_id = state.connection_id();
        Session {
            state,
            connection_id,
            principal: None,
            auth_db: None,
            pending_auth: None,
            cursors: HashMap::new(),
            ephemeral: Vec::new(),
            next_cursor: (connection_id % 100_000) * 10_000 + 1,
            next_reply: 1,
        }
    }

    /// A fresh cursor id (small and positive: mongosh passes it back as a JavaScript number).
    pub fn cursor_id(&mut self) -> i64 {
        let id = self.next_cursor;
        self.next_cursor += 1;
        id
    }

    /// Serves the connection until the peer closes it or sends something malformed.
    pub async fn run<S: AsyncRead + AsyncWrite + Unpin>(mut self, mut stream: S) {
        loop {
            let read = read_frame(&mut stream, self.state.limits.max_message_bytes);
            let frame = if self.principal.is_none() {
                match tokio::time::timeout(self.state.limits.unauthenticated_idle, read).await {
                    Ok(f) => f,
                    Err(_) => break,
                }
            } else {
                read.await
            };
            let (header, body) = match frame {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => {
                    tracing::debug!(error = %e, "wire protocol: closing a connection");
                    break;
                }
            };
            // OP_COMPRESSED: unwrap, answer, and compress the reply the same way.
            let (op_code, body, compressor) = if header.op_code == OP_COMPRESSED {
                let max_body = self.state.limits.max_message_bytes - HEADER_LEN;
                match compress::decompress(&body, max_body) {
                    Ok(d) => (d.op_code, d.body, Some(d.compressor)),
                    Err(e) => {
                        tracing::debug!(error = %e, "wire protocol: closing a connection");
                        break;
                    }
                }
            } else {
                (header.op_code, body, None)
            };
            let (reply_op, reply) = match op_code {
                OP_MSG => match op_msg::parse(&body) {
                    Ok(m) => {
                        let db = m.command.get_str("$db").unwrap_or("admin").to_string();
                        let out = commands::run(&mut self, &db, &m.command).await;
                        if m.flags & MORE_TO_COME != 0 {
                            continue;
                        }
                        (OP_MSG, op_msg::encode(&out))
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "wire protocol: closing a connection");
                        break;
                    }
                },
                OP_QUERY => match op_query::parse(&body) {
                    Ok(q) => {
                        let out = commands::run_legacy(&mut self, &q.command).await;
                        (OP_REPLY, op_query::encode_reply(&out))
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "wire protocol: closing a connection");
                        let out = CommandError::unsupported_op_query(&e.to_string()).to_document();
                        let _ =
                            self.send(&mut stream, header.request_id, OP_REPLY, &op_query::encode_reply(&out)).await;
                        break;
                    }
                },
                other => {
                    // The removed legacy opcodes, and compressed messages inside compressed ones.
                    tracing::debug!(op_code = other, "wire protocol: unsupported opcode, closing the connection");
                    break;
                }
            };
            let (reply_op, reply) = match compressor {
                Some(c) => (OP_COMPRESSED, compress::compress(reply_op, &reply, c)),
                None => (reply_op, reply),
            };
            if self.send(&mut stream, header.request_id, reply_op, &reply).await.is_err() {
                break;
            }
        }
        self.end().await;
    }

    async fn send<S: AsyncWrite + Unpin>(
        &mut self,
        stream: &mut S,
        to: i32,
        op: i32,
        body: &[u8],
    ) -> std::io::Result<()> {
        let id = self.next_reply;
        self.next_reply = self.next_reply.wrapping_add(1);
        write_frame(stream, id, to, op, body).await
    }

    /// Drops the processors `processStreamProcessor` made on this connection.
    async fn end(&mut self) {
        if self.ephemeral.is_empty() {
            return;
        }
        if let Ok(w) = commands::workspace(self, "admin").await {
            for name in std::mem::take(&mut self.ephemeral) {
                let _ = self.state.controller.delete(&w, &name).await;
            }
        }
    }
}

/// The fields of a command drivers add that no command reads.
pub fn is_envelope_field(k: &str) -> bool {
    k.starts_with('$')
        || matches!(
            k,
            "lsid"
                | "txnNumber"
                | "autocommit"
                | "startTransaction"
                | "apiVersion"
                | "apiStrict"
                | "apiDeprecationErrors"
                | "maxTimeMS"
                | "comment"
                | "readConcern"
                | "writeConcern"
        )
}

/// The command's arguments: every field but its name and the envelope fields.
pub fn arguments(cmd: &Document) -> Document {
    cmd.iter().skip(1).filter(|(k, _)| !is_envelope_field(k)).map(|(k, v)| (k.clone(), v.clone())).collect()
}
