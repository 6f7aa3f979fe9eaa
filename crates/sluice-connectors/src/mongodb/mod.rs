//! MongoDB: change streams as `$source`, `$merge` into collections, `$lookup` and
//! `$cachedLookup`, through the official driver.

mod change_stream_options;
mod change_stream_position;
mod change_stream_source;
mod connection;
mod connector;
mod convert;
mod lookup;
mod lookup_cache;
mod lookup_options;
mod merge_options;
mod merge_sink;
mod newest;

pub use change_stream_options::{BeforeChange, ChangeStreamOptions, FullDocument, StartPoint, WatchScope};
pub use change_stream_position::ChangeStreamPosition;
pub use change_stream_source::ChangeStreamSource;
pub use connection::MongoConnection;
pub use connector::MongoConnector;
pub use convert::{from_driver, to_driver};
pub use lookup::{LookupEnricher, PARALLEL as LOOKUP_PARALLEL};
pub use lookup_options::{CacheLimits, LookupOptions, DEFAULT_CACHE_BYTES};
pub use merge_options::{MergeOptions, NameSpec, WhenMatched};
pub use merge_sink::MergeSink;
pub use newest::newest_documents;
