//! From a plan and its workspace's connection registry to the engine's source and sink.

use sluice_connectors::https::{HttpsEnricher, HttpsOptions};
use sluice_connectors::kafka::{KafkaEmitOptions, KafkaSink, KafkaSource, KafkaSourceOptions};
use sluice_connectors::mongodb::{
    ChangeStreamOptions, ChangeStreamSource, LookupEnricher, LookupOptions, MergeOptions, MergeSink,
};
use sluice_connectors::{open_source, MemorySink, SolarConfig, TestLog};
use sluice_engine::{Enricher, Sink, Source};
use sluice_mql::{Document, Str, Value};
use sluice_pipeline::{EnrichSpec, Plan, SinkSpec, Stage};
use sluice_store::Connection;

use crate::connection_config;
use sluice_types::ConnectionType;

/// The reserved connection name of the in-memory output log (Atlas: `__testLog`).
pub const TEST_LOG: &str = "__testLog";

/// A processor's opened connectors.
pub struct Endpoints {
    /// The `$source`.
    pub source: Box<dyn Source>,
    /// The `$emit` or `$merge` (or the test log).
    pub sink: Box<dyn Sink>,
    /// The dead-letter queue.
    pub dlq: Box<dyn Sink>,
    /// The connector of each enrichment stage (`$https`), in pipeline order.
    pub enrichers: Vec<Box<dyn Enricher>>,
}

/// Every connection name the processor uses, with the role it plays there.
fn used_connections<'p>(plan: &'p Plan, options: &'p serde_json::Value) -> Vec<(&'p str, &'static str)> {
    let mut used = Vec::new();
    if let Some(n) = plan.source.connection_name.as_deref() {
        used.push((n, "$source"));
    }
    for s in &plan.stages {
        if let Stage::Enrich(e) = s {
            used.push((e.connection_name.as_str(), e.stage));
        }
    }
    match &plan.sink {
        Some(SinkSpec::Emit { connection_name, .. }) if connection_name != TEST_LOG => {
            used.push((connection_name.as_str(), "$emit"))
        }
        Some(SinkSpec::Merge { into, .. }) => {
            if let Some(Value::String(n)) = into.get("connectionName") {
                used.push((n.as_str(), "$merge"));
            }
        }
        _ => {}
    }
    if let Some(n) = options.pointer("/dlq/connectionName").and_then(|v| v.as_str()) {
        used.push((n, "options.dlq"));
    }
    used
}

/// Atlas refuses a processor that names a connection its workspace does not have.
pub fn check_connections(plan: &Plan, options: &serde_json::Value, conns: &[Connection]) -> Result<(), String> {
    for (name, _) in used_connections(plan, options) {
        if !conns.iter().any(|c| c.name == name) {
            // Atlas's wording.
            return Err(format!(
                "connection named {} does not exist. Check sp.listConnections() for available connections.",
                name
            ));
        }
    }
    Ok(())
}

/// Connection types this build has a connector for, per role.
fn runnable(ctype: ConnectionType, role: &str) -> bool {
    matches!(
        (ctype, role),
        (ConnectionType::Sample, "$source")
            | (ConnectionType::Kafka, "$source")
            | (ConnectionType::Cluster, "$source")
            | (ConnectionType::Kafka, "$emit")
            | (ConnectionType::Cluster, "$merge")
            | (ConnectionType::Cluster, "options.dlq")
            | (ConnectionType::Https, "$https")
            | (ConnectionType::Cluster, "$lookup")
            | (ConnectionType::Cluster, "$cachedLookup")
    )
}

/// Checks that every connection the processor uses exists, has a connector for its role, and
/// that the stage's connector fields are valid for it (so a bad topic or key format is refused
/// when the processor is created, not when it starts).
pub fn check(plan: &Plan, options: &serde_json::Value, conns: &[Connection]) -> Result<(), String> {
    check_connections(plan, options, conns)?;
    for (name, role) in used_connections(plan, options) {
        let Some(c) = conns.iter().find(|c| c.name == name) else { continue };
        if !runnable(c.ctype, role) {
            return Err(format!(
                "connection {} of type {} cannot be used as {} yet: this build of Sluice has no such connector",
                name,
                c.ctype.as_str(),
                role
            ));
        }
        match (c.ctype, role) {
            (ConnectionType::Kafka, "$source") => {
                KafkaSourceOptions::parse(&plan.source.options)?;
            }
            (ConnectionType::Cluster, "$source") => {
                ChangeStreamOptions::parse(&plan.source.options)?;
            }
            (ConnectionType::Kafka, "$emit") => {
                if let Some(SinkSpec::Emit { options, .. }) = &plan.sink {
                    KafkaEmitOptions::parse(options)?;
                }
            }
            (ConnectionType::Cluster, "$merge") => {
                if let Some(SinkSpec::Merge { into, options }) = &plan.sink {
                    MergeOptions::parse(into, options)?;
                }
            }
            _ => {}
        }
    }
    for s in &plan.stages {
        if let Stage::Enrich(e) = s {
            check_enrichment(e)?;
        }
    }
    Ok(())
}

/// Parses an enrichment stage's connector fields, so a bad one is refused at creation.
fn check_enrichment(e: &EnrichSpec) -> Result<(), String> {
    match e.stage {
        "$https" => HttpsOptions::parse(&e.options).map(|_| ()),
        stage => LookupOptions::parse(&e.options, stage == "$cachedLookup").map(|_| ()),
    }
}

/// Opens the connector of one enrichment stage.
fn open_enrichment(e: &EnrichSpec, conns: &[Connection]) -> Result<Box<dyn Enricher>, String> {
    let c = connection(conns, &e.connection_name)?;
    Ok(match e.stage {
        "$https" => Box::new(HttpsEnricher::open(&connection_config::https(c)?, HttpsOptions::parse(&e.options)?)?),
        stage => Box::new(LookupEnricher::open(
            &connection_config::mongodb(c)?,
            LookupOptions::parse(&e.options, stage == "$cachedLookup")?,
        )?),
    })
}

fn connection<'c>(conns: &'c [Connection], name: &str) -> Result<&'c Connection, String> {
    conns.iter().find(|c| c.name == name).ok_or_else(|| format!("connection named {} does not exist", name))
}

/// Opens the processor's source and sink (blocking: a Kafka source asks the brokers for its
/// topics' partitions). Output without a sink stage, or `$emit` to `__testLog`, goes to `log`
/// (sampled by the API), and dead letters without `options.dlq` to `dlq_log`. `processor_id`
/// names the default Kafka consumer group, as Atlas does.
pub fn open(
    plan: &Plan,
    options: &serde_json::Value,
    conns: &[Connection],
    (log, dlq_log): (TestLog, TestLog),
    processor_id: &str,
) -> Result<Endpoints, String> {
    check(plan, options, conns)?;
    let source = open_source_of(plan, conns, processor_id)?;
    let sink: Box<dyn Sink> = match &plan.sink {
        Some(SinkSpec::Emit { connection_name, options }) if connection_name != TEST_LOG => {
            let c = connection(conns, connection_name)?;
            Box::new(KafkaSink::open(&connection_config::kafka(c)?, KafkaEmitOptions::parse(options)?)?)
        }
        Some(SinkSpec::Merge { into, options }) => {
            let name = into.get("connectionName").and_then(Value::as_str).unwrap_or_default();
            let c = connection(conns, name)?;
            Box::new(MergeSink::open(&connection_config::mongodb(c)?, MergeOptions::parse(into, options)?)?)
        }
        _ => Box::new(MemorySink::new(TEST_LOG, log)),
    };
    let mut enrichers = Vec::new();
    for s in &plan.stages {
        if let Stage::Enrich(e) = s {
            enrichers.push(open_enrichment(e, conns)?);
        }
    }
    Ok(Endpoints { source, sink, dlq: open_dlq(options, conns, dlq_log)?, enrichers })
}

/// Opens the processor's `$source` alone (blocking, as [`open`]).
pub fn open_source_of(plan: &Plan, conns: &[Connection], processor_id: &str) -> Result<Box<dyn Source>, String> {
    Ok(match plan.source.connection_name.as_deref().map(|n| connection(conns, n)) {
        Some(Ok(c)) if c.ctype == ConnectionType::Kafka => {
            let opts = KafkaSourceOptions::parse(&plan.source.options)?;
            let group = format!("asp-{}-consumer", processor_id);
            Box::new(KafkaSource::open(&connection_config::kafka(c)?, &opts, &group)?)
        }
        Some(Ok(c)) if c.ctype == ConnectionType::Cluster => {
            let opts = ChangeStreamOptions::parse(&plan.source.options)?;
            Box::new(ChangeStreamSource::open(&connection_config::mongodb(c)?, opts)?)
        }
        // The sample stream paces itself: a few readings per second, as Atlas's does.
        _ => open_source(&plan.source, SolarConfig::default()).map_err(|e| e.to_string())?,
    })
}

/// Atlas `options.dlq {connectionName, db, coll}`: dead letters inserted into a MongoDB
/// collection. Without it they are counted and kept in memory, in `log` (the last
/// [`DLQ_KEPT`], which the API shows).
fn open_dlq(options: &serde_json::Value, conns: &[Connection], log: TestLog) -> Result<Box<dyn Sink>, String> {
    let Some(dlq) = options.get("dlq") else {
        return Ok(Box::new(MemorySink::new("dlq", log)));
    };
    let field = |k: &str| dlq.get(k).and_then(|v| v.as_str()).ok_or_else(|| format!("options.dlq.{} is required", k));
    let c = connection(conns, field("connectionName")?)?;
    let into: Document = [(Str::from("db"), Value::str(field("db")?)), (Str::from("coll"), Value::str(field("coll")?))]
        .into_iter()
        .collect();
    // Each dead letter is a new document: no _id, so $merge gives it one and inserts it.
    let opts = MergeOptions::parse(&into, &Document::new())?;
    Ok(Box::new(MergeSink::open(&connection_config::mongodb(c)?, opts)?))
}

/// Dead letters kept in memory when the processor has no `options.dlq`.
pub const DLQ_KEPT: usize = 1000;
