//! The MongoDB (`Cluster`) connector of the registry: a change-stream `$source`, `$merge`, the
//! DLQ collection of `options.dlq`, and `$lookup` / `$cachedLookup`.

use serde::Deserialize;
use serde_json::Value as Json;
use sluice_engine::{Enricher, Sink, Source};
use sluice_mql::{Document, Str, Value};
use sluice_pipeline::SinkSpec;
use sluice_types::ConnectionType;

use super::MongoConnection;
use super::{ChangeStreamOptions, ChangeStreamSource, LookupEnricher, LookupOptions, MergeOptions, MergeSink};
use crate::registry::{cannot_play, ConnectionRef, Connector, Role, StageOptions, Use};

/// `Cluster` connections.
pub struct MongoConnector;

/// The fields of a stored `Cluster` connection that its driver uses.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Stored {
    connection_string: Option<String>,
    cluster_name: Option<String>,
}

impl MongoConnection {
    /// A stored `Cluster` connection's driver settings. Atlas names a cluster of the project
    /// (`clusterName`); self-hosted Sluice needs its `connectionString` (a Sluice extension).
    pub fn from_settings(name: &str, f: &Json) -> Result<MongoConnection, String> {
        let s = Stored::deserialize(f).map_err(|e| format!("connection {}: {}", name, e))?;
        match s.connection_string {
            Some(uri) => Ok(MongoConnection::new(name, &uri)),
            None => Err(format!(
                "connection {} names cluster {} but has no connectionString: self-hosted Sluice reaches MongoDB \
                 through the connection's connectionString",
                name,
                s.cluster_name.as_deref().unwrap_or("?")
            )),
        }
    }
}

/// The `into` of a DLQ collection: each dead letter is a new document (no `_id`, so `$merge`
/// gives it one and inserts it).
fn dlq_into(db: &str, coll: &str) -> Document {
    [(Str::from("db"), Value::str(db)), (Str::from("coll"), Value::str(coll))].into_iter().collect()
}

impl Connector for MongoConnector {
    fn connection_type(&self) -> ConnectionType {
        ConnectionType::Cluster
    }

    fn plays(&self, role: Role) -> bool {
        matches!(role, Role::Source | Role::Merge | Role::Dlq | Role::Enrich("$lookup" | "$cachedLookup"))
    }

    fn check(&self, u: &Use<'_>) -> Result<StageOptions, String> {
        let role = u.role();
        match u {
            Use::Source(spec) => Ok(StageOptions::new(role, ChangeStreamOptions::parse(&spec.options)?)),
            Use::Sink(SinkSpec::Merge { into, options }) => {
                Ok(StageOptions::new(role, MergeOptions::parse(into, options)?))
            }
            Use::Dlq { db, coll } => {
                Ok(StageOptions::new(role, MergeOptions::parse(&dlq_into(db, coll), &Document::new())?))
            }
            Use::Enrich(e) => {
                Ok(StageOptions::new(role, LookupOptions::parse(&e.options, e.stage == "$cachedLookup")?))
            }
            other => Err(format!("a MongoDB connection cannot be used as {}", other.role().stage())),
        }
    }

    fn probe(&self, c: &ConnectionRef<'_>) -> Result<(), String> {
        MongoConnection::from_settings(c.name, c.config)?.probe()
    }

    fn open_source(&self, c: &ConnectionRef<'_>, options: StageOptions, _: &str) -> Result<Box<dyn Source>, String> {
        let opts: ChangeStreamOptions = options.take(c)?;
        Ok(Box::new(ChangeStreamSource::open(&MongoConnection::from_settings(c.name, c.config)?, opts)?))
    }

    fn open_sink(&self, c: &ConnectionRef<'_>, options: StageOptions, _: &str) -> Result<Box<dyn Sink>, String> {
        if !matches!(options.role(), Role::Merge | Role::Dlq) {
            return Err(cannot_play(c, options.role()));
        }
        let opts: MergeOptions = options.take(c)?;
        Ok(Box::new(MergeSink::open(&MongoConnection::from_settings(c.name, c.config)?, opts)?))
    }

    fn newest_dead_letters(
        &self,
        c: &ConnectionRef<'_>,
        db: &str,
        coll: &str,
        n: usize,
    ) -> Result<Vec<Document>, String> {
        super::newest_documents(&MongoConnection::from_settings(c.name, c.config)?, db, coll, n)
    }

    fn open_enricher(&self, c: &ConnectionRef<'_>, options: StageOptions) -> Result<Box<dyn Enricher>, String> {
        let opts: LookupOptions = options.take(c)?;
        Ok(Box::new(LookupEnricher::open(&MongoConnection::from_settings(c.name, c.config)?, opts)?))
    }
}
