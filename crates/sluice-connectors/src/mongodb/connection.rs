//! A MongoDB (`Cluster`) connection of the registry, as the driver needs it.

/// How to reach a MongoDB deployment. `Debug` never shows the connection string, which may hold
/// a password.
#[derive(Clone, PartialEq, Eq)]
pub struct MongoConnection {
    /// The connection's name in the registry, for messages.
    pub name: String,
    /// `connectionString` (a Sluice extension: Atlas names a cluster of the project instead).
    pub uri: String,
}

impl std::fmt::Debug for MongoConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MongoConnection").field("name", &self.name).field("uri", &"<redacted>").finish()
    }
}

impl MongoConnection {
    /// A connection named `name` to `uri`.
    pub fn new(name: &str, uri: &str) -> MongoConnection {
        MongoConnection { name: name.into(), uri: uri.into() }
    }

    /// A client of a deployment that answers: the driver connects lazily, so this pings it, and
    /// an unreachable one is refused naming the connection.
    pub fn connect(&self) -> Result<mongodb::sync::Client, String> {
        let client = self.client()?;
        client
            .database("admin")
            .run_command(mongodb::bson::doc! {"ping": 1})
            .run()
            .map_err(|e| format!("connection {}: cannot reach MongoDB: {}", self.name, e.kind))?;
        Ok(client)
    }

    /// A client; the driver connects lazily, so this only checks the string.
    pub fn client(&self) -> Result<mongodb::sync::Client, String> {
        mongodb::sync::Client::with_uri_str(&self.uri)
            .map_err(|e| format!("connection {}: invalid connection string: {}", self.name, e.kind))
    }
}
