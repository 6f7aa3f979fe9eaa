//! The HTTPS connector of the registry: `$https`.

use serde::Deserialize;
use serde_json::Value as Json;
use sluice_engine::Enricher;
use sluice_types::ConnectionType;

use super::{HttpsConnection, HttpsEnricher, HttpsOptions};
use crate::registry::{ConnectionRef, Connector, Role, StageOptions, Use};

/// `Https` connections.
pub struct HttpsConnector;

/// The fields of a stored `Https` connection that its requests use.
#[derive(Deserialize)]
struct Stored {
    url: Option<String>,
    #[serde(default)]
    headers: serde_json::Map<String, Json>,
}

impl HttpsConnection {
    /// A stored `Https` connection's `url` and `headers`.
    pub fn from_settings(name: &str, f: &Json) -> Result<HttpsConnection, String> {
        let s = Stored::deserialize(f).map_err(|e| format!("connection {}: {}", name, e))?;
        let url = s.url.ok_or_else(|| format!("connection {} has no url", name))?;
        let headers = s.headers.into_iter().filter_map(|(k, v)| Some((k, v.as_str()?.to_string()))).collect();
        Ok(HttpsConnection { name: name.to_string(), url, headers })
    }
}

impl Connector for HttpsConnector {
    fn connection_type(&self) -> ConnectionType {
        ConnectionType::Https
    }

    fn plays(&self, role: Role) -> bool {
        role == Role::Enrich("$https")
    }

    fn check(&self, u: &Use<'_>) -> Result<StageOptions, String> {
        match u {
            Use::Enrich(e) => Ok(StageOptions::new(u.role(), HttpsOptions::parse(&e.options)?)),
            other => Err(format!("an HTTPS connection cannot be used as {}", other.role().stage())),
        }
    }

    fn open_enricher(&self, c: &ConnectionRef<'_>, options: StageOptions) -> Result<Box<dyn Enricher>, String> {
        let opts: HttpsOptions = options.take(c)?;
        Ok(Box::new(HttpsEnricher::open(&HttpsConnection::from_settings(c.name, c.config)?, opts)?))
    }
}
