//! The MongoDB (`Cluster`) connector of the registry: a change-stream `$source`, `$merge`, the
//! DLQ collection of `options.dlq`, and `$lookup` / `$cachedLookup`.

use serde_json::Value as Json;
use sluice_engine::{Enricher, Sink, Source};
use sluice_mql::{Document, Str, Value};
use sluice_pipeline::{EnrichSpec, SinkSpec, SourceSpec};
use sluice_types::ConnectionType;

use super::MongoConnection;
use super::{ChangeStreamOptions, ChangeStreamSource, LookupEnricher, LookupOptions, MergeOptions, MergeSink};
use crate::registry::{cannot_play, ConnectionRef, Connector, Role, Use};

/// `Cluster` connections.
pub struct MongoConnector;

impl MongoConnection {
    /// A stored `Cluster` connection's driver settings. Atlas names a cluster of the project
    /// (`clusterName`); self-hosted Sluice needs its `connectionString` (a Sluice extension).
    pub fn from_settings(name: &str, f: &Json) -> Result<MongoConnection, String> {
        match f.get("connectionString").and_then(Json::as_str) {
            Some(uri) => Ok(MongoConnection::new(name, uri)),
            None => Err(format!(
                "connection {} names cluster {} but has no connectionString: self-hosted Sluice reaches MongoDB \
                 through the connection's connectionString",
                name,
                f.get("clusterName").and_then(Json::as_str).unwrap_or("?")
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

    fn check(&self, u: &Use<'_>) -> Result<(), String> {
        match u {
            Use::Source(spec) => ChangeStreamOptions::parse(&spec.options).map(|_| ()),
            Use::Sink(SinkSpec::Merge { into, options }) => MergeOptions::parse(into, options).map(|_| ()),
            Use::Enrich(e) => LookupOptions::parse(&e.options, e.stage == "$cachedLookup").map(|_| ()),
            _ => Ok(()),
        }
    }

    fn probe(&self, c: &ConnectionRef<'_>) -> Result<(), String> {
        MongoConnection::from_settings(c.name, c.config)?.probe()
    }

    fn open_source(&self, c: &ConnectionRef<'_>, spec: &SourceSpec, _: &str) -> Result<Box<dyn Source>, String> {
        let opts = ChangeStreamOptions::parse(&spec.options)?;
        Ok(Box::new(ChangeStreamSource::open(&MongoConnection::from_settings(c.name, c.config)?, opts)?))
    }

    fn open_sink(&self, c: &ConnectionRef<'_>, u: &Use<'_>, _processor_id: &str) -> Result<Box<dyn Sink>, String> {
        let opts = match u {
            Use::Sink(SinkSpec::Merge { into, options }) => MergeOptions::parse(into, options)?,
            Use::Dlq { db, coll } => MergeOptions::parse(&dlq_into(db, coll), &Document::new())?,
            other => return Err(cannot_play(c, other.role())),
        };
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

    fn open_enricher(&self, c: &ConnectionRef<'_>, e: &EnrichSpec) -> Result<Box<dyn Enricher>, String> {
        let opts = LookupOptions::parse(&e.options, e.stage == "$cachedLookup")?;
        Ok(Box::new(LookupEnricher::open(&MongoConnection::from_settings(c.name, c.config)?, opts)?))
    }
}
