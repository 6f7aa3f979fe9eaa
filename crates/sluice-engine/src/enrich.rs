//! The interface of connectors that enrich documents (`$https`, `$lookup`, `$cachedLookup`):
//! given a batch of documents, what the connection answered for each.

use sluice_mql::expr::Scope;
use sluice_mql::{Document, Value};

/// One document to enrich.
#[derive(Debug, Clone, PartialEq)]
pub struct EnrichRequest<'a> {
    /// The document as it reached the stage.
    pub doc: &'a Document,
    /// The request body the stage's `payload` pipeline made of it, if the stage has one.
    pub payload: Option<Document>,
}

/// What the connection answered for one document.
#[derive(Debug, Clone, PartialEq)]
pub struct Enriched {
    /// The value written to the stage's `as` field.
    pub value: Value,
    /// Metadata of the exchange, added to `_stream_meta` under the connector's key (`https`).
    pub meta: Option<Document>,
}

/// A connector behind an enrichment stage.
pub trait Enricher: Send {
    /// The key of this connector's metadata in `_stream_meta` (`https`).
    fn meta_key(&self) -> &str;

    /// Answers every request, in order: each is the answer or why there is none (the stage's
    /// `onError` decides what then happens to the document). `Err` when the connection itself
    /// failed for good (a database gone past its retries): the processor fails.
    fn enrich(
        &mut self,
        requests: &[EnrichRequest<'_>],
        scope: &mut Scope,
    ) -> Result<Vec<Result<Enriched, String>>, String>;

    /// The run's health board: an enricher that retries an unreachable system in place reports
    /// its trouble there and gives up after [`crate::Health::retry_for`].
    fn attach_health(&mut self, _health: &crate::Health) {}
}
