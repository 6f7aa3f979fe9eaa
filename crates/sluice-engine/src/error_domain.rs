//! Whose a failure is, and whether trying again can help: every source and sink error says it, so
//! that the controller records and reports a failure for what it is.

/// Whose a failure is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ErrorDomain {
    /// The user's configuration: a topic that does not exist, a refused password, a pipeline
    /// whose stage fails with `onError: "fail"`. Retrying cannot fix it; the user can.
    User,
    /// An external system (a broker, a database, an HTTP service) failed, past what the
    /// connector retries in place.
    #[default]
    External,
    /// Sluice itself failed (a checkpoint that does not fit its source, a poisoned lock).
    Internal,
}

impl ErrorDomain {
    /// The domain's name in logs and operational log lines.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorDomain::User => "user",
            ErrorDomain::External => "external",
            ErrorDomain::Internal => "internal",
        }
    }
}
