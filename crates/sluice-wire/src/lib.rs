//! The MongoDB wire protocol on `sluice serve`, so mongosh's `sp.*` and the official drivers
//! manage the same processors the HTTP API manages: message framing ([`frame`]), `OP_MSG`
//! ([`op_msg`]) and the legacy `OP_QUERY` handshake ([`op_query`]), SCRAM with API keys
//! ([`scram`]), one [`session`] per connection, and the commands, one file per group
//! ([`commands`]), optionally over TLS ([`tls`]). A connection works on one workspace: the
//! database it authenticated against.

pub mod commands;
pub mod compress;
pub mod convert;
pub mod error;
pub mod frame;
pub mod op_msg;
pub mod op_query;
pub mod scram;
pub mod server;
pub mod session;
pub mod tls;

pub use server::{drop_temporary, serve, WireLimits, WireState};
