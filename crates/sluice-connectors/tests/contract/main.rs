//! The contract every source and sink passes (issue 18), in the manner of Vector's component
//! compliance tests: a harness written once over `dyn Source` and `dyn Sink`
//! (`source_checks.rs`, `sink_checks.rs`), and one small test per connector
//! that plugs its factory into it (`sources.rs`, `sinks.rs`).
//!
//! Sources (sample, documents, JSON lines, Kafka, change stream): `seek(position())`
//! round-trips; a stop after any batch neither loses nor repeats records; end of input is final
//! and only bounded sources end; `on_checkpoint_saved` may be called twice. Sinks (memory, JSON
//! lines, Kafka, `$merge`, the DLQ collection): after `flush` everything written is durable;
//! refused documents come back through `take_rejected` with a reason while the rest of their
//! batch is written; `on_checkpoint_saved` may be called twice without output written twice.
//!
//! Kafka and MongoDB are the real test servers of `scripts/test-servers.sh`.

#[path = "../support/mod.rs"]
mod support;

mod harness_catches;
mod read;
mod sink_checks;
mod sinks;
mod source_checks;
mod sources;

use std::path::PathBuf;
use std::time::Duration;

/// A short wait between polls of a server that had nothing yet (inside a deadline loop).
pub fn brief_wait() {
    std::thread::sleep(Duration::from_millis(10));
}

/// A new file holding `content`, under a name no other test uses.
pub fn scratch_file(name: &str, content: &[u8]) -> PathBuf {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("sluice-contract-{}-{}-{}", std::process::id(), n, name));
    std::fs::write(&path, content).expect("scratch file");
    path
}
