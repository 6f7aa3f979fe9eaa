//! Command errors as MongoDB sends them: `{ok: 0.0, errmsg, code, codeName}`, each built in one place.

use bson::{doc, Document};
use sluice_api::error::ApiError;
use sluice_control::ControlError;

/// A failed command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandError {
    /// MongoDB's error code.
    pub code: i32,
    /// Its name.
    pub code_name: &'static str,
    /// What went wrong.
    pub errmsg: String,
}

impl CommandError {
    fn new(code: i32, code_name: &'static str, errmsg: impl Into<String>) -> CommandError {
        CommandError { code, code_name, errmsg: errmsg.into() }
    }

    /// 1: the server failed (the store); not the caller's fault.
    pub fn internal(m: impl Into<String>) -> CommandError {
        CommandError::new(1, "InternalError", m)
    }

    /// 2: a field of the command is wrong.
    pub fn bad_value(m: impl Into<String>) -> CommandError {
        CommandError::new(2, "BadValue", m)
    }

    /// 9: the pipeline does not parse or validate.
    pub fn failed_to_parse(m: impl Into<String>) -> CommandError {
        CommandError::new(9, "FailedToParse", m)
    }

    /// 13: not authenticated, or the key's roles do not allow the command.
    pub fn unauthorized(m: impl Into<String>) -> CommandError {
        CommandError::new(13, "Unauthorized", m)
    }

    /// 14: a field has the wrong type.
    pub fn type_mismatch(m: impl Into<String>) -> CommandError {
        CommandError::new(14, "TypeMismatch", m)
    }

    /// 18: wrong credentials.
    pub fn auth_failed(m: impl Into<String>) -> CommandError {
        CommandError::new(18, "AuthenticationFailed", m)
    }

    /// 20: refused by the processor lifecycle.
    pub fn illegal_operation(m: impl Into<String>) -> CommandError {
        CommandError::new(20, "IllegalOperation", m)
    }

    /// 26: no such workspace or processor.
    pub fn not_found(m: impl Into<String>) -> CommandError {
        CommandError::new(26, "NamespaceNotFound", m)
    }

    /// 43: no such sample cursor.
    pub fn cursor_not_found(id: i64) -> CommandError {
        CommandError::new(43, "CursorNotFound", format!("cursor id {} not found", id))
    }

    /// 48: a processor of that name exists.
    pub fn exists(m: impl Into<String>) -> CommandError {
        CommandError::new(48, "NamespaceExists", m)
    }

    /// 59: a command this server does not have.
    pub fn command_not_found(name: &str) -> CommandError {
        CommandError::new(59, "CommandNotFound", format!("no such command: '{}'", name))
    }

    /// 462: the caller's request budget (shared with the HTTP API) is spent.
    pub fn rate_limited(m: impl Into<String>) -> CommandError {
        CommandError::new(462, "IngressRequestRateLimitExceeded", m)
    }

    /// 17: a SASL step out of order.
    pub fn protocol_error(m: impl Into<String>) -> CommandError {
        CommandError::new(17, "ProtocolError", m)
    }

    /// 352: only the handshake is served over the legacy `OP_QUERY`.
    pub fn unsupported_op_query(what: &str) -> CommandError {
        CommandError::new(
            352,
            "UnsupportedOpQueryCommand",
            format!("Unsupported OP_QUERY command: {}. Use OP_MSG.", what),
        )
    }

    /// 2 (BadValue) from an API validation error: the same message the HTTP API gives.
    pub fn from_api(e: ApiError) -> CommandError {
        CommandError::bad_value(e.detail)
    }

    /// A controller refusal about processor `name`.
    pub fn from_control(name: &str, e: ControlError) -> CommandError {
        match e {
            ControlError::NotFound => CommandError::processor_not_found(name),
            ControlError::Duplicate => CommandError::exists(format!("stream processor '{}' already exists", name)),
            ControlError::Invalid(m) => CommandError::failed_to_parse(m),
            ControlError::Transition(t) => CommandError::illegal_operation(t.to_string()),
            ControlError::StartFailed(m) => CommandError::internal(format!("cannot start '{}': {}", name, m)),
            ControlError::Store(s) => CommandError::internal(s.to_string()),
            ControlError::Internal(m) => CommandError::internal(m),
        }
    }

    /// No processor of that name in the connection's workspace.
    pub fn processor_not_found(name: &str) -> CommandError {
        CommandError::not_found(format!("stream processor '{}' does not exist", name))
    }

    /// The reply document.
    pub fn to_document(&self) -> Document {
        doc! {"ok": 0.0, "errmsg": &self.errmsg, "code": self.code, "codeName": self.code_name}
    }
}
