//! The handshake drivers and mongosh send: `hello`/`isMaster` (with compression negotiation), `buildInfo`, and the informational
//! commands mongosh asks at start (`getParameter`, `getLog`, `connectionStatus`, `hostInfo`).

use bson::{doc, Bson, DateTime, Document};

use super::Reply;
use crate::error::CommandError;
use crate::scram::Mechanism;
use crate::session::Session;

/// The MongoDB version Sluice answers as (the wire versions of 7.0).
const VERSION: &str = "7.0.0";
const MAX_WIRE_VERSION: i32 = 21;

/// `hello` / `isMaster`: a standalone server, zlib if the client offers it, the SCRAM
/// mechanisms for `saslSupportedMechs`, and the first SCRAM
/// step when the client starts it speculatively (`speculativeAuthenticate`).
pub async fn hello(s: &mut Session, name: &str, cmd: &Document) -> Reply {
    let mut d = Document::new();
    if name == "hello" || cmd.get_bool("helloOk").unwrap_or(false) {
        d.insert("helloOk", true);
    }
    if name == "hello" {
        d.insert("isWritablePrimary", true);
    } else {
        d.insert("ismaster", true);
    }
    d.insert("maxBsonObjectSize", 16 * 1024 * 1024);
    d.insert("maxMessageSizeBytes", s.state.limits.max_message_bytes as i32);
    d.insert("maxWriteBatchSize", 100_000);
    d.insert("localTime", DateTime::now());
    d.insert("logicalSessionTimeoutMinutes", 30);
    d.insert("connectionId", s.connection_id);
    d.insert("minWireVersion", 0);
    d.insert("maxWireVersion", MAX_WIRE_VERSION);
    d.insert("readOnly", false);
    // Compression: what the client offers that Sluice has (zlib), in the client's order.
    if let Ok(offered) = cmd.get_array("compression") {
        let agreed: Vec<Bson> = offered
            .iter()
            .filter_map(Bson::as_str)
            .filter(|c| crate::compress::OFFERED.contains(c))
            .map(|c| Bson::String(c.to_string()))
            .collect();
        if !agreed.is_empty() {
            d.insert("compression", agreed);
        }
    }
    // The same for every user: which keys exist is not told before authentication. (A key
    // made before SCRAM credentials were kept then hears why at saslStart.)
    if cmd.contains_key("saslSupportedMechs") {
        let mechs: Vec<Bson> = Mechanism::ALL.iter().map(|m| Bson::String(m.as_str().to_string())).collect();
        d.insert("saslSupportedMechs", mechs);
    }
    // A failed speculative step is left out: the client then authenticates the usual way and
    // sees the error there.
    if let Ok(spec) = cmd.get_document("speculativeAuthenticate") {
        if spec.contains_key("saslStart") {
            let db = spec.get_str("db").unwrap_or("admin").to_string();
            if let Ok(first) = super::auth::sasl_start(s, &db, spec).await {
                d.insert("speculativeAuthenticate", first);
            }
        }
    }
    Ok(d)
}

/// `buildInfo`.
pub fn build_info() -> Document {
    doc! {
        "version": VERSION,
        "gitVersion": "sluice",
        "versionArray": [7, 0, 0, 0],
        "modules": [],
        "sysInfo": "deprecated",
        "bits": 64,
        "debug": false,
        "maxBsonObjectSize": 16 * 1024 * 1024,
        "storageEngines": [],
        "sluiceVersion": env!("CARGO_PKG_VERSION"),
    }
}

/// `connectionStatus`: the key and its roles.
pub fn connection_status(s: &Session) -> Document {
    let (users, roles) = match &s.principal {
        Some(p) => (
            vec![Bson::Document(doc! {"user": &p.subject, "db": s.auth_db.clone().unwrap_or_default()})],
            p.roles.iter().map(|r| Bson::Document(doc! {"role": r.as_str(), "db": "admin"})).collect(),
        ),
        None => (Vec::new(), Vec::new()),
    };
    doc! {"authInfo": {"authenticatedUsers": users, "authenticatedUserRoles": roles}}
}

/// `getParameter`: only `featureCompatibilityVersion` is known.
pub fn get_parameter(cmd: &Document) -> Reply {
    if cmd.contains_key("featureCompatibilityVersion") {
        return Ok(doc! {"featureCompatibilityVersion": {"version": "7.0"}});
    }
    Err(CommandError::bad_value("no option found to get"))
}

/// `getLog`: Sluice keeps no server log to return here; the lists are empty.
pub fn get_log(cmd: &Document) -> Reply {
    match cmd.get("getLog") {
        Some(Bson::String(s)) if s == "*" => Ok(doc! {"names": ["startupWarnings"]}),
        Some(Bson::String(_)) => Ok(doc! {"totalLinesWritten": 0, "log": []}),
        _ => Err(CommandError::type_mismatch("getLog takes a log name")),
    }
}

/// `hostInfo`.
pub fn host_info() -> Document {
    doc! {"system": {"currentTime": DateTime::now()}, "os": {"type": std::env::consts::OS}}
}
