//! Helpers shared by the connector tests.

#![allow(dead_code)]

pub mod certs;
pub mod kafka;
pub mod mongodb;
