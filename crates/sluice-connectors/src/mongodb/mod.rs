//! MongoDB: change streams as `$source`, `$merge` into collections, through the official driver.

mod change_stream_options;
mod change_stream_source;
mod connection;
mod convert;
mod merge_options;
mod merge_sink;

pub use change_stream_options::{BeforeChange, ChangeStreamOptions, FullDocument, StartPoint, WatchScope};
pub use change_stream_source::ChangeStreamSource;
pub use connection::MongoConnection;
pub use convert::{from_driver, to_driver};
pub use merge_options::{MergeOptions, NameSpec, WhenMatched};
pub use merge_sink::MergeSink;
