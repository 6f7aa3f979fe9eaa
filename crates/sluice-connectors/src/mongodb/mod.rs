//! MongoDB: `$merge` into collections, through the official driver.

mod connection;
mod convert;
mod merge_options;
mod merge_sink;

pub use connection::MongoConnection;
pub use convert::{from_driver, to_driver};
pub use merge_options::{MergeOptions, NameSpec, WhenMatched};
pub use merge_sink::MergeSink;
