//! The one registry of connectors: for each connection type, the [`Connector`] that checks the
//! stages using such a connection and opens their sources, sinks and enrichers. A processor's
//! wiring asks here and nowhere else; adding a connector is a folder with its `connector.rs` and
//! one line in [`CONNECTORS`].

use std::any::Any;

use serde_json::Value as Json;
use sluice_engine::{Enricher, Sink, Source};
use sluice_pipeline::{EnrichSpec, SinkSpec, SourceSpec};
use sluice_types::ConnectionType;

use crate::https::HttpsConnector;
use crate::kafka::KafkaConnector;
use crate::mongodb::MongoConnector;
use crate::sample_connector::SampleConnector;

/// Every connector of this build, one per connection type.
static CONNECTORS: [&dyn Connector; 4] = [&SampleConnector, &KafkaConnector, &MongoConnector, &HttpsConnector];

/// The connector of a connection type, if this build has one.
pub fn connector(ctype: ConnectionType) -> Option<&'static dyn Connector> {
    CONNECTORS.iter().copied().find(|c| c.connection_type() == ctype)
}

/// What a connection is used for in a processor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `$source`.
    Source,
    /// `$emit`.
    Emit,
    /// `$merge`.
    Merge,
    /// `options.dlq`: dead letters written to a collection.
    Dlq,
    /// An enrichment stage (`$https`, `$lookup`, `$cachedLookup`), by its name.
    Enrich(&'static str),
}

impl Role {
    /// How the role reads in a message: the stage (or option) that uses the connection.
    pub fn stage(self) -> &'static str {
        match self {
            Role::Source => "$source",
            Role::Emit => "$emit",
            Role::Merge => "$merge",
            Role::Dlq => "options.dlq",
            Role::Enrich(stage) => stage,
        }
    }
}

/// A connection of a workspace's registry as it is stored: its name, type and settings (the
/// API's fields, secrets already unsealed).
#[derive(Debug, Clone, Copy)]
pub struct ConnectionRef<'a> {
    /// Its name in the registry.
    pub name: &'a str,
    /// Its type.
    pub ctype: ConnectionType,
    /// Its settings.
    pub config: &'a Json,
}

/// A use of a connection by a processor, with the stage's own fields.
#[derive(Debug, Clone, Copy)]
pub enum Use<'p> {
    /// The `$source` stage.
    Source(&'p SourceSpec),
    /// The `$emit` or `$merge` stage.
    Sink(&'p SinkSpec),
    /// `options.dlq {db, coll}`.
    Dlq {
        /// The database.
        db: &'p str,
        /// The collection.
        coll: &'p str,
    },
    /// An enrichment stage.
    Enrich(&'p EnrichSpec),
}

impl Use<'_> {
    /// The role this use plays.
    pub fn role(&self) -> Role {
        match self {
            Use::Source(_) => Role::Source,
            Use::Sink(SinkSpec::Emit { .. }) => Role::Emit,
            Use::Sink(SinkSpec::Merge { .. }) => Role::Merge,
            Use::Dlq { .. } => Role::Dlq,
            Use::Enrich(e) => Role::Enrich(e.stage),
        }
    }
}

/// A use's connector options as [`Connector::check`] read them, typed by the connector: what its
/// `open_*` takes, so that what is opened is exactly what was checked, read once.
pub struct StageOptions {
    role: Role,
    typed: Box<dyn Any + Send>,
}

impl std::fmt::Debug for StageOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StageOptions({})", self.role.stage())
    }
}

impl StageOptions {
    /// The options of a use playing `role`.
    pub fn new<T: Any + Send>(role: Role, typed: T) -> StageOptions {
        StageOptions { role, typed: Box::new(typed) }
    }

    /// The role of the use they were checked for.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The options, if they are a `T`.
    pub fn get<T: Any>(&self) -> Option<&T> {
        self.typed.downcast_ref()
    }

    /// The options as the connector of `c` reads them: a `T`, or else they were checked by
    /// another connector, a wiring fault (not the user's).
    pub fn take<T: Any>(self, c: &ConnectionRef<'_>) -> Result<T, String> {
        let role = self.role;
        self.typed.downcast::<T>().map(|t| *t).map_err(|_| {
            format!(
                "internal error: connection {} was opened as {} with options checked for another use",
                c.name,
                role.stage()
            )
        })
    }
}

/// One kind of connection's connector. Opening is blocking: it may ask the upstream servers
/// (a Kafka source learns its topics' partitions).
pub trait Connector: Sync {
    /// The connection type it serves.
    fn connection_type(&self) -> ConnectionType;

    /// Whether it can play `role`.
    fn plays(&self, role: Role) -> bool;

    /// Reads and checks the stage's connector fields for this use, so that a bad one is refused
    /// when the processor is created (naming the stage and the field), not when it starts. What
    /// it read is what `open_*` takes.
    fn check(&self, u: &Use<'_>) -> Result<StageOptions, String>;

    /// Opens the `$source` with its checked options. `processor_id` names the default Kafka
    /// consumer group, as Atlas does.
    fn open_source(
        &self,
        c: &ConnectionRef<'_>,
        _options: StageOptions,
        _processor_id: &str,
    ) -> Result<Box<dyn Source>, String> {
        Err(cannot_play(c, Role::Source))
    }

    /// Readies what opening a `$source` of connection `c` with these checked options needs
    /// from the upstream system, ahead of the opening (blocking), so that sources opening
    /// together pay for it once: a Kafka cluster's shared client connects and learns the
    /// topics' partitions. What it returns keeps it ready while held. Best effort: a failure
    /// is left for the opening to report.
    fn prepare_source(&self, _c: &ConnectionRef<'_>, _options: &StageOptions) -> Option<Box<dyn Any + Send>> {
        None
    }

    /// Reaches the system behind connection `c` as a processor would (blocking, a few seconds
    /// at most): `Err` says why it cannot be used (unreachable, a refused password, an untrusted
    /// certificate). Connectors with nothing to reach before a processor uses them answer Ok.
    fn probe(&self, _c: &ConnectionRef<'_>) -> Result<(), String> {
        Ok(())
    }

    /// Opens the `$emit` or `$merge`, or the DLQ collection of `options.dlq`, with their checked
    /// options, for processor `processor_id` (an exactly-once Kafka `$emit` names its
    /// transactions after it).
    fn open_sink(
        &self,
        c: &ConnectionRef<'_>,
        options: StageOptions,
        _processor_id: &str,
    ) -> Result<Box<dyn Sink>, String> {
        Err(cannot_play(c, options.role()))
    }

    /// Opens an enrichment stage's connector with its checked options.
    fn open_enricher(&self, c: &ConnectionRef<'_>, options: StageOptions) -> Result<Box<dyn Enricher>, String> {
        Err(cannot_play(c, options.role()))
    }

    /// The newest `n` dead letters of an `options.dlq {db, coll}` on this connection, oldest
    /// first (for the API and the console to show).
    fn newest_dead_letters(
        &self,
        c: &ConnectionRef<'_>,
        _db: &str,
        _coll: &str,
        _n: usize,
    ) -> Result<Vec<sluice_mql::Document>, String> {
        Err(cannot_play(c, Role::Dlq))
    }
}

/// Why a connection cannot be used in a role: this build has no such connector.
pub fn cannot_play(c: &ConnectionRef<'_>, role: Role) -> String {
    format!(
        "connection {} of type {} cannot be used as {} yet: this build of Sluice has no such connector",
        c.name,
        c.ctype.as_str(),
        role.stage()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_connector_per_type_and_the_roles_atlas_gives_them() {
        let plays = |t: ConnectionType, r: Role| connector(t).is_some_and(|c| c.plays(r));
        assert!(plays(ConnectionType::Sample, Role::Source));
        assert!(plays(ConnectionType::Kafka, Role::Source) && plays(ConnectionType::Kafka, Role::Emit));
        for r in [Role::Source, Role::Merge, Role::Dlq, Role::Enrich("$lookup"), Role::Enrich("$cachedLookup")] {
            assert!(plays(ConnectionType::Cluster, r), "{:?}", r);
        }
        assert!(plays(ConnectionType::Https, Role::Enrich("$https")));
        assert!(!plays(ConnectionType::Kafka, Role::Merge));
        assert!(!plays(ConnectionType::Https, Role::Source));
        for (i, a) in CONNECTORS.iter().enumerate() {
            for b in &CONNECTORS[i + 1..] {
                assert_ne!(a.connection_type(), b.connection_type(), "one connector per type");
            }
        }
    }
}
