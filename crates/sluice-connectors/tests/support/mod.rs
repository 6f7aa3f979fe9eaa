//! Helpers shared by the connector tests.

pub mod kafka;
