//! A MongoDB (`Cluster`) connection of the registry, as the driver needs it.

/// How long a connection check waits for a server of the deployment.
pub const PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

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

    /// Pings the deployment, waiting at most [`PROBE_TIMEOUT`] for a server (unless the
    /// connection string sets `serverSelectionTimeoutMS`): the connection check's answer.
    pub fn probe(&self) -> Result<(), String> {
        let mut options = mongodb::options::ClientOptions::parse(self.uri.as_str())
            .run()
            .map_err(|e| format!("connection {}: invalid connection string: {}", self.name, e.kind))?;
        options.server_selection_timeout.get_or_insert(PROBE_TIMEOUT);
        let client = mongodb::sync::Client::with_options(options)
            .map_err(|e| format!("connection {}: cannot create a client: {}", self.name, e.kind))?;
        client
            .database("admin")
            .run_command(mongodb::bson::doc! {"ping": 1})
            .run()
            .map(|_| ())
            .map_err(|e| format!("connection {}: cannot reach MongoDB: {}", self.name, e.kind))
    }

    /// A client; the driver connects lazily, so this only checks the string.
    pub fn client(&self) -> Result<mongodb::sync::Client, String> {
        mongodb::sync::Client::with_uri_str(&self.uri)
            .map_err(|e| format!("connection {}: invalid connection string: {}", self.name, e.kind))
    }
}
