//! From a plan and its workspace's connection registry to the engine's source, sinks and
//! enrichers. Which connector serves which connection is the connectors' registry's business
//! (`sluice_connectors::connector`); this file only finds the uses of each connection.

use sluice_connectors::kafka::{DeliveryGuarantee, KafkaEmitOptions, TRANSACTION_TIMEOUT};
use sluice_connectors::{connector, ConnectionRef, Connector, MemorySink, Role, StageOptions, TestLog, Use};
use sluice_engine::{Enricher, Sink, Source};
use sluice_mql::Value;
use sluice_pipeline::{Plan, SinkSpec, Stage};
use sluice_store::Connection;

/// The reserved connection name of the in-memory output log (Atlas: `__testLog`).
pub const TEST_LOG: &str = "__testLog";

/// Dead letters kept in memory when the processor has no `options.dlq`.
pub const DLQ_KEPT: usize = 1000;

/// A processor's opened connectors.
pub struct Endpoints {
    /// The `$source`.
    pub source: Box<dyn Source>,
    /// The `$emit` or `$merge` (or the test log).
    pub sink: Box<dyn Sink>,
    /// The dead-letter queue.
    pub dlq: Box<dyn Sink>,
    /// The connector of each enrichment stage (`$https`, `$lookup`), in pipeline order.
    pub enrichers: Vec<Box<dyn Enricher>>,
}

/// Every connection the processor uses, by name, with its use.
fn uses<'p>(plan: &'p Plan, options: &'p serde_json::Value) -> Vec<(&'p str, Use<'p>)> {
    let mut used = Vec::new();
    if let Some(n) = plan.source.connection_name.as_deref() {
        used.push((n, Use::Source(&plan.source)));
    }
    for s in &plan.stages {
        if let Stage::Enrich(e) = s {
            used.push((e.connection_name.as_str(), Use::Enrich(e)));
        }
    }
    match &plan.sink {
        Some(sink @ SinkSpec::Emit { connection_name, .. }) if connection_name != TEST_LOG => {
            used.push((connection_name.as_str(), Use::Sink(sink)))
        }
        Some(sink @ SinkSpec::Merge { into, .. }) => {
            if let Some(Value::String(n)) = into.get("connectionName") {
                used.push((n.as_str(), Use::Sink(sink)));
            }
        }
        _ => {}
    }
    used.extend(dlq_use(options));
    used
}

/// `options.dlq {connectionName, db, coll}` as a use of its connection (the API has checked its
/// fields when the processor was created).
fn dlq_use(options: &serde_json::Value) -> Option<(&str, Use<'_>)> {
    let dlq = options.get("dlq")?;
    let field = |k: &str| dlq.get(k).and_then(|v| v.as_str());
    Some((field("connectionName")?, Use::Dlq { db: field("db")?, coll: field("coll")? }))
}

/// The registry entry named `name`, as the connectors see it.
fn connection<'c>(conns: &'c [Connection], name: &str) -> Result<ConnectionRef<'c>, String> {
    conns
        .iter()
        .find(|c| c.name == name)
        .map(|c| ConnectionRef { name: &c.name, ctype: c.ctype, config: &c.config })
        // Atlas's wording.
        .ok_or_else(|| {
            format!("connection named {} does not exist. Check sp.listConnections() for available connections.", name)
        })
}

/// The connector of connection `c` for use `u`, or why there is none.
fn connector_for(c: &ConnectionRef<'_>, role: Role) -> Result<&'static dyn Connector, String> {
    connector(c.ctype).filter(|k| k.plays(role)).ok_or_else(|| sluice_connectors::registry::cannot_play(c, role))
}

/// A use of a connection, checked: the connection's name and what its connector read.
struct CheckedUse {
    connection: String,
    options: StageOptions,
}

/// Every connection use of a processor, checked by its connector: what [`open`] opens.
#[derive(Default)]
pub struct Wiring {
    source: Option<CheckedUse>,
    sink: Option<CheckedUse>,
    dlq: Option<CheckedUse>,
    enrichers: Vec<CheckedUse>,
}

/// Checks that every connection the processor uses exists, has a connector for its use, and
/// that the stage's connector fields are valid for it (so a bad topic or key format is refused
/// when the processor is created, not when it starts). Returns what the connectors read, for
/// [`open`] to open.
pub fn check(plan: &Plan, options: &serde_json::Value, conns: &[Connection]) -> Result<Wiring, String> {
    let used = uses(plan, options);
    for (name, _) in &used {
        connection(conns, name)?;
    }
    let mut wiring = Wiring::default();
    for (name, u) in &used {
        let c = connection(conns, name)?;
        let wired = CheckedUse { connection: name.to_string(), options: connector_for(&c, u.role())?.check(u)? };
        match u {
            Use::Source(_) => wiring.source = Some(wired),
            Use::Sink(_) => wiring.sink = Some(wired),
            Use::Dlq { .. } => wiring.dlq = Some(wired),
            Use::Enrich(_) => wiring.enrichers.push(wired),
        }
    }
    check_transaction_span(&wiring, options)?;
    Ok(wiring)
}

/// An exactly-once Kafka `$emit` keeps its output in a transaction until the next checkpoint
/// commits it: the checkpoint interval must end well before the broker would abort it.
fn check_transaction_span(wiring: &Wiring, options: &serde_json::Value) -> Result<(), String> {
    let exactly_once = wiring
        .sink
        .as_ref()
        .and_then(|w| w.options.get::<KafkaEmitOptions>())
        .is_some_and(|o| o.guarantee == DeliveryGuarantee::ExactlyOnce);
    let longest = TRANSACTION_TIMEOUT / 3;
    if exactly_once && crate::services::checkpoint_interval(options) > longest {
        return Err(format!(
            "options.{} must be at most {} with $emit.config.deliveryGuarantee exactlyOnce: the output waits in a \
             Kafka transaction until the next checkpoint, and the broker aborts one open for {} s",
            crate::CHECKPOINT_INTERVAL_OPTION,
            longest.as_millis(),
            TRANSACTION_TIMEOUT.as_secs()
        ));
    }
    Ok(())
}

/// Opens what [`check`] checked: the processor's source, sinks and enrichers (blocking: a Kafka
/// source asks the brokers for its topics' partitions). Output without a sink stage, or `$emit`
/// to `__testLog`, goes to `log` (sampled by the API); dead letters without `options.dlq` to
/// `dlq_log` (the last [`DLQ_KEPT`], which the API shows). `processor_id` names the default
/// Kafka consumer group, as Atlas does.
pub fn open(
    plan: &Plan,
    wiring: Wiring,
    conns: &[Connection],
    (log, dlq_log): (TestLog, TestLog),
    processor_id: &str,
) -> Result<Endpoints, String> {
    let open_sink = |w: CheckedUse| {
        let c = connection(conns, &w.connection)?;
        connector_for(&c, w.options.role())?.open_sink(&c, w.options, processor_id)
    };
    let mut endpoints = Endpoints {
        source: open_source(plan, wiring.source, conns, processor_id)?,
        sink: Box::new(MemorySink::new(TEST_LOG, log)),
        dlq: Box::new(MemorySink::new("dlq", dlq_log)),
        enrichers: Vec::with_capacity(wiring.enrichers.len()),
    };
    if let Some(w) = wiring.sink {
        endpoints.sink = open_sink(w)?;
    }
    if let Some(w) = wiring.dlq {
        endpoints.dlq = open_sink(w)?;
    }
    for w in wiring.enrichers {
        let c = connection(conns, &w.connection)?;
        endpoints.enrichers.push(connector_for(&c, w.options.role())?.open_enricher(&c, w.options)?);
    }
    Ok(endpoints)
}

/// Opens a checked `$source`: its connection's, or the inline `documents` (blocking, as
/// [`open`]).
fn open_source(
    plan: &Plan,
    wired: Option<CheckedUse>,
    conns: &[Connection],
    processor_id: &str,
) -> Result<Box<dyn Source>, String> {
    match wired {
        Some(w) if plan.source.documents.is_none() => {
            let c = connection(conns, &w.connection)?;
            connector_for(&c, Role::Source)?.open_source(&c, w.options, processor_id)
        }
        _ => sluice_connectors::open_source(&plan.source, sluice_connectors::SolarConfig::default())
            .map_err(|e| e.to_string()),
    }
}

/// Readies the upstream system of the checked `$source` ahead of its opening (blocking), as
/// its connector does it (`Connector::prepare_source`); `None` when there is nothing to ready.
pub fn prepare_source(wiring: &Wiring, conns: &[Connection]) -> Option<Box<dyn std::any::Any + Send>> {
    let w = wiring.source.as_ref()?;
    let c = connection(conns, &w.connection).ok()?;
    connector_for(&c, Role::Source).ok()?.prepare_source(&c, &w.options)
}

/// Opens the checked `$source` alone (blocking, as [`open`]).
pub fn open_source_of(
    plan: &Plan,
    wiring: Wiring,
    conns: &[Connection],
    processor_id: &str,
) -> Result<Box<dyn Source>, String> {
    open_source(plan, wiring.source, conns, processor_id)
}

/// The newest `n` dead letters of a processor whose `options.dlq` names a collection, oldest
/// first (blocking: it asks the database); `None` when its dead letters stay in memory.
pub fn newest_dead_letters(
    options: &serde_json::Value,
    conns: &[Connection],
    n: usize,
) -> Result<Option<Vec<sluice_mql::Document>>, String> {
    let Some((name, Use::Dlq { db, coll })) = dlq_use(options) else { return Ok(None) };
    let c = connection(conns, name)?;
    connector_for(&c, Role::Dlq)?.newest_dead_letters(&c, db, coll, n).map(Some)
}

/// Reaches the system behind `conn` as a processor would (blocking, a few seconds at most):
/// `Err` says why it cannot be used. A type without a connector has nothing to reach.
pub fn probe(conn: &Connection) -> Result<(), String> {
    let c = ConnectionRef { name: &conn.name, ctype: conn.ctype, config: &conn.config };
    connector(c.ctype).map_or(Ok(()), |k| k.probe(&c))
}
