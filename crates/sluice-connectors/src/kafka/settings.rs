//! A stored Kafka connection's fields (Atlas's names) read into the client's settings.

use serde_json::Value as Json;

use super::{KafkaConnection, SaslMechanism, SecurityProtocol};

impl KafkaConnection {
    /// `bootstrapServers`, `security.protocol`, `security.brokerPublicCertificate`,
    /// `authentication.{mechanism, username, password}` and the extra client properties of
    /// `config`, of the connection `name`.
    pub fn from_settings(name: &str, f: &Json) -> Result<KafkaConnection, String> {
        let text = |ptr: &str| f.pointer(ptr).and_then(Json::as_str).map(str::to_string);
        let bootstrap_servers =
            text("/bootstrapServers").ok_or_else(|| format!("connection {} has no bootstrapServers", name))?;
        let protocol = match text("/security/protocol") {
            None => SecurityProtocol::Plaintext,
            Some(p) => SecurityProtocol::parse(&p)
                .ok_or_else(|| format!("connection {}: unknown security.protocol {}", name, p))?,
        };
        let mechanism = match text("/authentication/mechanism") {
            None => None,
            Some(m) => Some(
                SaslMechanism::parse(&m)
                    .ok_or_else(|| format!("connection {}: authentication.mechanism {} is not supported", name, m))?,
            ),
        };
        let extra = f
            .get("config")
            .and_then(Json::as_object)
            .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect())
            .unwrap_or_default();
        Ok(KafkaConnection {
            name: name.to_string(),
            bootstrap_servers,
            protocol,
            ca_pem: text("/security/brokerPublicCertificate"),
            mechanism,
            username: text("/authentication/username"),
            password: text("/authentication/password"),
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
