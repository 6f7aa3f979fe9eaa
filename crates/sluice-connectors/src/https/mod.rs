//! `$https`: each document enriched with the answer of an HTTP(S) endpoint.

mod connection;
mod connector;
mod enricher;
mod options;

pub use connection::HttpsConnection;
pub use connector::HttpsConnector;
pub use enricher::{HttpsEnricher, MAX_IN_FLIGHT};
pub use options::{HttpsOptions, Method};
