//! A Kafka connection of the registry, as the Kafka client needs it.

use rdkafka::ClientConfig;

/// How the client talks to the brokers (Atlas `security.protocol`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SecurityProtocol {
    /// No TLS, no authentication.
    #[default]
    Plaintext,
    /// TLS, no SASL.
    Ssl,
    /// SASL without TLS.
    SaslPlaintext,
    /// SASL over TLS.
    SaslSsl,
}

impl SecurityProtocol {
    /// Parses Atlas's spelling.
    pub fn parse(s: &str) -> Option<SecurityProtocol> {
        Some(match s {
            "PLAINTEXT" => SecurityProtocol::Plaintext,
            "SSL" => SecurityProtocol::Ssl,
            "SASL_PLAINTEXT" => SecurityProtocol::SaslPlaintext,
            "SASL_SSL" => SecurityProtocol::SaslSsl,
            _ => return None,
        })
    }

    fn client_value(self) -> &'static str {
        match self {
            SecurityProtocol::Plaintext => "plaintext",
            SecurityProtocol::Ssl => "ssl",
            SecurityProtocol::SaslPlaintext => "sasl_plaintext",
            SecurityProtocol::SaslSsl => "sasl_ssl",
        }
    }

    fn uses_sasl(self) -> bool {
        matches!(self, SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl)
    }
}

/// A SASL mechanism (Atlas `authentication.mechanism`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaslMechanism {
    /// PLAIN.
    Plain,
    /// SCRAM-SHA-256 (Atlas spells it `SCRAM-256`).
    ScramSha256,
    /// SCRAM-SHA-512 (Atlas spells it `SCRAM-512`).
    ScramSha512,
}

impl SaslMechanism {
    /// Parses Atlas's spelling, and the Kafka one.
    pub fn parse(s: &str) -> Option<SaslMechanism> {
        Some(match s {
            "PLAIN" => SaslMechanism::Plain,
            "SCRAM-256" | "SCRAM-SHA-256" => SaslMechanism::ScramSha256,
            "SCRAM-512" | "SCRAM-SHA-512" => SaslMechanism::ScramSha512,
            _ => return None,
        })
    }

    fn client_value(self) -> &'static str {
        match self {
            SaslMechanism::Plain => "PLAIN",
            SaslMechanism::ScramSha256 => "SCRAM-SHA-256",
            SaslMechanism::ScramSha512 => "SCRAM-SHA-512",
        }
    }
}

/// The first wait before reconnecting to a broker (librdkafka's default is 100 ms): see
/// [`KafkaConnection::client_config`].
const RECONNECT_BACKOFF_MS: &str = "20";

/// Everything needed to reach a Kafka cluster. `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct KafkaConnection {
    /// The connection's name in the registry, for messages.
    pub name: String,
    /// `bootstrapServers`: `host:port[,host:port...]`.
    pub bootstrap_servers: String,
    /// `security.protocol`.
    pub protocol: SecurityProtocol,
    /// `security.brokerPublicCertificate`: a PEM CA certificate to trust.
    pub ca_pem: Option<String>,
    /// `authentication.mechanism`, with SASL protocols.
    pub mechanism: Option<SaslMechanism>,
    /// `authentication.username`.
    pub username: Option<String>,
    /// `authentication.password` (write-only in the API).
    pub password: Option<String>,
    /// `config`: extra client properties, applied last.
    pub extra: Vec<(String, String)>,
}

impl std::fmt::Debug for KafkaConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaConnection")
            .field("name", &self.name)
            .field("bootstrap_servers", &self.bootstrap_servers)
            .field("protocol", &self.protocol)
            .field("mechanism", &self.mechanism)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl KafkaConnection {
    /// A plaintext connection to `bootstrap_servers`.
    pub fn plaintext(name: &str, bootstrap_servers: &str) -> KafkaConnection {
        KafkaConnection { name: name.into(), bootstrap_servers: bootstrap_servers.into(), ..Default::default() }
    }

    /// The client properties for this connection (consumer and producer alike).
    pub fn client_config(&self) -> Result<ClientConfig, String> {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.bootstrap_servers);
        c.set("security.protocol", self.protocol.client_value());
        if let Some(pem) = &self.ca_pem {
            c.set("ssl.ca.pem", pem);
        }
        if self.protocol.uses_sasl() {
            let mechanism = self.mechanism.unwrap_or(SaslMechanism::Plain);
            c.set("sasl.mechanism", mechanism.client_value());
            let user = self.username.as_deref().ok_or_else(|| {
                format!("connection {}: authentication.username is required with {:?}", self.name, self.protocol)
            })?;
            c.set("sasl.username", user);
            c.set("sasl.password", self.password.as_deref().unwrap_or(""));
        }
        // librdkafka logs through its own callback; keep its noise out of stderr.
        c.set("log_level", "3");
        // A new client's first request goes to the bootstrap address; the answer names the
        // brokers, librdkafka retires the bootstrap entry and drops what was waiting on it, and
        // asks again once it may open the next connection: half of reconnect.backoff.ms after the
        // last one (its sparse-connection interval). With the default 100 ms that wait is ~50 ms
        // on every start's first metadata request (and every reader's first fetch); at 20 ms it
        // is librdkafka's floor of 11 ms. A broker that stays down is still retried with a
        // backoff that doubles up to reconnect.backoff.max.ms (10 s). The connection's `config`
        // may set it otherwise.
        c.set("reconnect.backoff.ms", RECONNECT_BACKOFF_MS);
        for (k, v) in &self.extra {
            c.set(k, v);
        }
        Ok(c)
    }
}

impl KafkaConnection {
    /// Asks the brokers for the cluster's metadata, as opening a source or a sink does first:
    /// `Err` names the connection and says why they did not answer (in librdkafka's words: a
    /// refused login or an untrusted certificate, not only "transport failure").
    pub fn probe(&self) -> Result<(), String> {
        use rdkafka::consumer::{BaseConsumer, Consumer};
        let errors = super::client_errors::ErrorsContext::default();
        let client: BaseConsumer<super::client_errors::ErrorsContext> = self
            .client_config()?
            .create_with_context(errors.clone())
            .map_err(|e| format!("connection {}: cannot create a Kafka client: {}", self.name, e))?;
        super::client_errors::metadata_unless_refused(client.client(), None, super::OPEN_TIMEOUT, &errors.0, &|| {
            super::client_errors::drain(&client);
        })
        .map(|_| ())
        .map_err(|e| {
            super::client_errors::drain(&client);
            errors.0.explain(format!(
                "connection {}: cannot reach the Kafka brokers {}: {}",
                self.name, self.bootstrap_servers, e
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_password() {
        let c = KafkaConnection { password: Some("hunter2".into()), ..KafkaConnection::plaintext("k", "h:1") };
        let shown = format!("{:?}", c);
        assert!(!shown.contains("hunter2"), "{}", shown);
        assert!(shown.contains("redacted"));
    }

    #[test]
    fn sasl_needs_a_user_and_maps_mechanisms() {
        let mut c = KafkaConnection {
            protocol: SecurityProtocol::SaslSsl,
            mechanism: SaslMechanism::parse("SCRAM-256"),
            ..KafkaConnection::plaintext("k", "h:1")
        };
        assert!(c.client_config().unwrap_err().contains("username"));
        c.username = Some("u".into());
        let cfg = c.client_config().unwrap();
        assert_eq!(cfg.get("sasl.mechanism"), Some("SCRAM-SHA-256"));
        assert_eq!(cfg.get("security.protocol"), Some("sasl_ssl"));
    }

    #[test]
    fn reconnect_backoff_is_short_unless_the_connection_sets_it() {
        let c = KafkaConnection::plaintext("k", "h:1");
        assert_eq!(c.client_config().unwrap().get("reconnect.backoff.ms"), Some(RECONNECT_BACKOFF_MS));
        let own = KafkaConnection { extra: vec![("reconnect.backoff.ms".into(), "250".into())], ..c };
        assert_eq!(own.client_config().unwrap().get("reconnect.backoff.ms"), Some("250"));
    }
}
