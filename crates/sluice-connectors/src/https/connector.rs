//! The HTTPS connector of the registry: `$https`.

use serde_json::Value as Json;
use sluice_engine::Enricher;
use sluice_pipeline::EnrichSpec;
use sluice_types::ConnectionType;

use super::{HttpsConnection, HttpsEnricher, HttpsOptions};
use crate::registry::{ConnectionRef, Connector, Role, Use};

/// `Https` connections.
pub struct HttpsConnector;

impl HttpsConnection {
    /// A stored `Https` connection's `url` and `headers`.
    pub fn from_settings(name: &str, f: &Json) -> Result<HttpsConnection, String> {
        let url = f.get("url").and_then(Json::as_str).ok_or_else(|| format!("connection {} has no url", name))?;
        let headers = f
            .get("headers")
            .and_then(Json::as_object)
            .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect())
            .unwrap_or_default();
        Ok(HttpsConnection { name: name.to_string(), url: url.to_string(), headers })
    }
}

impl Connector for HttpsConnector {
    fn connection_type(&self) -> ConnectionType {
        ConnectionType::Https
    }

    fn plays(&self, role: Role) -> bool {
        role == Role::Enrich("$https")
    }

    fn check(&self, u: &Use<'_>) -> Result<(), String> {
        match u {
            Use::Enrich(e) => HttpsOptions::parse(&e.options).map(|_| ()),
            _ => Ok(()),
        }
    }

    fn open_enricher(&self, c: &ConnectionRef<'_>, e: &EnrichSpec) -> Result<Box<dyn Enricher>, String> {
        let opts = HttpsOptions::parse(&e.options)?;
        Ok(Box::new(HttpsEnricher::open(&HttpsConnection::from_settings(c.name, c.config)?, opts)?))
    }
}
