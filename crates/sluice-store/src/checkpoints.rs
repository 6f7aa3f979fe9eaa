//! Where checkpoints are kept: [`CheckpointStore`], and [`FsCheckpointStore`] in the data
//! directory. Checkpoints are opaque bytes here; the engine owns their format.
//!
//! The trait is synchronous because its caller is a processor's own engine thread. An object
//! store (the `object_store` crate: S3, GCS, Azure) implements it for several nodes by blocking on
//! its runtime: [`crate::ObjectCheckpointStore`].

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::{StoreError, StoreResult};

/// Keeps the checkpoints of every processor, numbered by a sequence that increases.
pub trait CheckpointStore: Send + Sync {
    /// Saves checkpoint `seq` of a processor atomically: a reader sees all of it or none of it.
    /// Older checkpoints beyond the store's retention are pruned.
    fn save(&self, processor_id: &str, seq: u64, bytes: &[u8]) -> StoreResult<()>;
    /// The sequence numbers kept for a processor, newest first.
    fn list(&self, processor_id: &str) -> StoreResult<Vec<u64>>;
    /// One checkpoint's bytes.
    fn load(&self, processor_id: &str, seq: u64) -> StoreResult<Vec<u8>>;
    /// Drops every checkpoint of a processor (a fresh start, or the processor deleted).
    fn clear(&self, processor_id: &str) -> StoreResult<()>;
}

/// Checkpoints as files `<root>/<processor id>/<seq>.ckpt`, written to a temporary file, synced,
/// renamed into place and the directory synced: a crash at any point leaves either the old set
/// or the new one, never a half-written checkpoint under a checkpoint's name.
pub struct FsCheckpointStore {
    root: PathBuf,
    keep: usize,
}

const SUFFIX: &str = ".ckpt";

fn backend(what: &str, path: &Path, e: std::io::Error) -> StoreError {
    StoreError::Backend(format!("cannot {} {}: {}", what, path.display(), e))
}

impl FsCheckpointStore {
    /// A store under `root` that keeps the newest `keep` checkpoints of each processor (at least 1).
    pub fn new(root: impl Into<PathBuf>, keep: usize) -> FsCheckpointStore {
        FsCheckpointStore { root: root.into(), keep: keep.max(1) }
    }

    fn dir(&self, processor_id: &str) -> StoreResult<PathBuf> {
        check_id(processor_id)?;
        Ok(self.root.join(processor_id))
    }
}

/// Ids are generated hex; anything else must not become part of a path.
pub(crate) fn check_id(processor_id: &str) -> StoreResult<()> {
    if processor_id.is_empty() || !processor_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(StoreError::Backend(format!("invalid processor id {:?}", processor_id)));
    }
    Ok(())
}

/// A checkpoint's name: its sequence number, zero-padded so that names sort as numbers do.
pub(crate) fn file_name(seq: u64) -> String {
    format!("{:020}{}", seq, SUFFIX)
}

/// The sequence number a checkpoint's name holds (None for anything else, e.g. a temporary file).
pub(crate) fn seq_of(name: &str) -> Option<u64> {
    name.strip_suffix(SUFFIX)?.parse().ok()
}

fn sync_dir(dir: &Path) -> StoreResult<()> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| backend("sync", dir, e))
}

impl CheckpointStore for FsCheckpointStore {
    fn save(&self, processor_id: &str, seq: u64, bytes: &[u8]) -> StoreResult<()> {
        let dir = self.dir(processor_id)?;
        fs::create_dir_all(&dir).map_err(|e| backend("create", &dir, e))?;
        let tmp = dir.join(format!("{}.tmp", file_name(seq)));
        let dest = dir.join(file_name(seq));
        let mut f = File::create(&tmp).map_err(|e| backend("create", &tmp, e))?;
        f.write_all(bytes).and_then(|_| f.sync_all()).map_err(|e| backend("write", &tmp, e))?;
        drop(f);
        fs::rename(&tmp, &dest).map_err(|e| backend("rename", &tmp, e))?;
        sync_dir(&dir)?;
        for old in self.list(processor_id)?.into_iter().skip(self.keep) {
            let p = dir.join(file_name(old));
            fs::remove_file(&p).map_err(|e| backend("remove", &p, e))?;
        }
        Ok(())
    }

    fn list(&self, processor_id: &str) -> StoreResult<Vec<u64>> {
        let dir = self.dir(processor_id)?;
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(backend("list", &dir, e)),
        };
        let mut seqs: Vec<u64> = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| backend("list", &dir, e))?;
            let name = entry.file_name();
            // Temporary files of an interrupted save are not checkpoints.
            if let Some(seq) = name.to_str().and_then(seq_of) {
                seqs.push(seq);
            }
        }
        seqs.sort_unstable_by(|a, b| b.cmp(a));
        Ok(seqs)
    }

    fn load(&self, processor_id: &str, seq: u64) -> StoreResult<Vec<u8>> {
        let p = self.dir(processor_id)?.join(file_name(seq));
        match fs::read(&p) {
            Ok(b) => Ok(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(StoreError::NotFound),
            Err(e) => Err(backend("read", &p, e)),
        }
    }

    fn clear(&self, processor_id: &str) -> StoreResult<()> {
        let dir = self.dir(processor_id)?;
        match fs::remove_dir_all(&dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(backend("remove", &dir, e)),
        }
    }
}
