//! From a registry connection (its fields as the API stored them) to a connector's typed
//! connection settings.

use serde_json::Value as Json;
use sluice_connectors::https::HttpsConnection;
use sluice_connectors::kafka::{KafkaConnection, SaslMechanism, SecurityProtocol};
use sluice_connectors::mongodb::MongoConnection;
use sluice_store::Connection;

/// A Kafka connection's client settings: `bootstrapServers`, `security.protocol`,
/// `security.brokerPublicCertificate`, `authentication.{mechanism, username, password}` and the
/// extra client properties of `config`.
pub fn kafka(c: &Connection) -> Result<KafkaConnection, String> {
    let f = &c.config;
    let text = |ptr: &str| f.pointer(ptr).and_then(Json::as_str).map(str::to_string);
    let bootstrap_servers =
        text("/bootstrapServers").ok_or_else(|| format!("connection {} has no bootstrapServers", c.name))?;
    let protocol = match text("/security/protocol") {
        None => SecurityProtocol::Plaintext,
        Some(p) => SecurityProtocol::parse(&p)
            .ok_or_else(|| format!("connection {}: unknown security.protocol {}", c.name, p))?,
    };
    let mechanism = match text("/authentication/mechanism") {
        None => None,
        Some(m) => Some(
            SaslMechanism::parse(&m)
                .ok_or_else(|| format!("connection {}: authentication.mechanism {} is not supported", c.name, m))?,
        ),
    };
    let extra = f
        .get("config")
        .and_then(Json::as_object)
        .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect())
        .unwrap_or_default();
    Ok(KafkaConnection {
        name: c.name.clone(),
        bootstrap_servers,
        protocol,
        ca_pem: text("/security/brokerPublicCertificate"),
        mechanism,
        username: text("/authentication/username"),
        password: text("/authentication/password"),
        extra,
    })
}

/// An `Https` connection's `url` and `headers`.
pub fn https(c: &Connection) -> Result<HttpsConnection, String> {
    let url = c.config.get("url").and_then(Json::as_str).ok_or_else(|| format!("connection {} has no url", c.name))?;
    let headers = c
        .config
        .get("headers")
        .and_then(Json::as_object)
        .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect())
        .unwrap_or_default();
    Ok(HttpsConnection { name: c.name.clone(), url: url.to_string(), headers })
}

/// A `Cluster` connection's driver settings. Atlas names a cluster of the project
/// (`clusterName`); self-hosted Sluice needs its `connectionString` (a Sluice extension).
pub fn mongodb(c: &Connection) -> Result<MongoConnection, String> {
    match c.config.get("connectionString").and_then(Json::as_str) {
        Some(uri) => Ok(MongoConnection::new(&c.name, uri)),
        None => Err(format!(
            "connection {} names cluster {} but has no connectionString: self-hosted Sluice reaches MongoDB \
             through the connection's connectionString",
            c.name,
            c.config.get("clusterName").and_then(Json::as_str).unwrap_or("?")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use sluice_types::ConnectionType;

    fn conn(config: Json) -> Connection {
        Connection {
            id: "0".repeat(24),
            workspace_id: "1".repeat(24),
            name: "k".into(),
            ctype: ConnectionType::Kafka,
            config,
            created_at: 0,
        }
    }

    #[test]
    fn reads_every_atlas_kafka_field() {
        let k = kafka(&conn(json!({
            "bootstrapServers": "a:1,b:2",
            "security": {"protocol": "SASL_SSL", "brokerPublicCertificate": "PEM"},
            "authentication": {"mechanism": "SCRAM-512", "username": "u", "password": "p"},
            "config": {"client.id": "sluice"}
        })))
        .unwrap();
        assert_eq!(k.bootstrap_servers, "a:1,b:2");
        assert_eq!(k.protocol, SecurityProtocol::SaslSsl);
        assert_eq!(k.mechanism, Some(SaslMechanism::ScramSha512));
        assert_eq!(
            (k.username.as_deref(), k.password.as_deref(), k.ca_pem.as_deref()),
            (Some("u"), Some("p"), Some("PEM"))
        );
        assert_eq!(k.extra, vec![("client.id".to_string(), "sluice".to_string())]);
    }

    #[test]
    fn refuses_what_it_cannot_use() {
        assert!(kafka(&conn(json!({}))).unwrap_err().contains("bootstrapServers"));
        let oauth = json!({"bootstrapServers": "a:1", "authentication": {"mechanism": "OAUTHBEARER"}});
        assert!(kafka(&conn(oauth)).unwrap_err().contains("OAUTHBEARER"));
    }
}
