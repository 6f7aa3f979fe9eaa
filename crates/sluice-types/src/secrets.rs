//! Which fields of a connection's settings are secrets: write-only in the API, sealed at rest.

/// Field names whose values are secrets, at any depth of a connection's settings.
pub const SECRET_FIELDS: &[&str] =
    &["password", "clientSecret", "secret", "privateKey", "secretAccessKey", "sslKeyPassword"];

/// The field whose values are all secrets (an HTTPS connection's headers carry tokens).
pub const SECRET_MAP_FIELD: &str = "headers";

/// Whether a field of this name holds a secret.
pub fn is_secret_field(name: &str) -> bool {
    SECRET_FIELDS.contains(&name)
}
