//! Helpers shared by the connector tests.

#![allow(dead_code)]

pub mod kafka;
pub mod mongodb;
pub mod tls_proxy;
