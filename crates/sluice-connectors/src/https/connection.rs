//! An `Https` connection of the registry: the base URL and headers sent with every request.

/// How to reach an HTTP(S) endpoint. `Debug` never shows header values, which often hold API
/// keys or tokens.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpsConnection {
    /// The connection's name in the registry, for messages.
    pub name: String,
    /// `url`: requests go to this URL, with the stage's `path` appended.
    pub url: String,
    /// `headers`: sent with every request (the stage's own headers come after them).
    pub headers: Vec<(String, String)>,
}

impl std::fmt::Debug for HttpsConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("HttpsConnection")
            .field("name", &self.name)
            .field("url", &self.url)
            .field("headers", &names)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_header_values() {
        let c = HttpsConnection {
            name: "api".into(),
            url: "https://example.test".into(),
            headers: vec![("Authorization".into(), "Bearer s3cret".into())],
        };
        let shown = format!("{:?}", c);
        assert!(shown.contains("Authorization"), "{}", shown);
        assert!(!shown.contains("s3cret"), "{}", shown);
    }
}
