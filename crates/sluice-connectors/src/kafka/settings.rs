//! A stored Kafka connection's fields (Atlas's names) read into the client's settings.

use serde::Deserialize;
use serde_json::{Map, Value as Json};

use super::{KafkaConnection, SaslMechanism, SecurityProtocol};

/// The fields of a stored Kafka connection that its client uses (the API has checked them; the
/// others, such as `networking`, are the API's).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Stored {
    bootstrap_servers: Option<String>,
    #[serde(default)]
    security: Security,
    #[serde(default)]
    authentication: Authentication,
    #[serde(default)]
    config: Map<String, Json>,
}

/// `security`.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Security {
    protocol: Option<String>,
    broker_public_certificate: Option<String>,
}

/// `authentication`.
#[derive(Deserialize, Default)]
struct Authentication {
    mechanism: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

impl KafkaConnection {
    /// `bootstrapServers`, `security.protocol`, `security.brokerPublicCertificate`,
    /// `authentication.{mechanism, username, password}` and the extra client properties of
    /// `config`, of the connection `name`.
    pub fn from_settings(name: &str, f: &Json) -> Result<KafkaConnection, String> {
        let s = Stored::deserialize(f).map_err(|e| format!("connection {}: {}", name, e))?;
        let bootstrap_servers =
            s.bootstrap_servers.ok_or_else(|| format!("connection {} has no bootstrapServers", name))?;
        let protocol = match s.security.protocol {
            None => SecurityProtocol::Plaintext,
            Some(p) => SecurityProtocol::parse(&p)
                .ok_or_else(|| format!("connection {}: unknown security.protocol {}", name, p))?,
        };
        let mechanism = match s.authentication.mechanism {
            None => None,
            Some(m) => Some(
                SaslMechanism::parse(&m)
                    .ok_or_else(|| format!("connection {}: authentication.mechanism {} is not supported", name, m))?,
            ),
        };
        let extra = s.config.into_iter().filter_map(|(k, v)| Some((k, v.as_str()?.to_string()))).collect();
        Ok(KafkaConnection {
            name: name.to_string(),
            bootstrap_servers,
            protocol,
            ca_pem: s.security.broker_public_certificate,
            mechanism,
            username: s.authentication.username,
            password: s.authentication.password,
            extra,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_every_atlas_kafka_field() {
        let k = KafkaConnection::from_settings(
            "k",
            &json!({
                "bootstrapServers": "a:1,b:2",
                "security": {"protocol": "SASL_SSL", "brokerPublicCertificate": "PEM"},
                "authentication": {"mechanism": "SCRAM-512", "username": "u", "password": "p"},
                "config": {"client.id": "sluice"}
            }),
        )
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
        assert!(KafkaConnection::from_settings("k", &json!({})).unwrap_err().contains("bootstrapServers"));
        let oauth = json!({"bootstrapServers": "a:1", "authentication": {"mechanism": "OAUTHBEARER"}});
        assert!(KafkaConnection::from_settings("k", &oauth).unwrap_err().contains("OAUTHBEARER"));
    }
}
