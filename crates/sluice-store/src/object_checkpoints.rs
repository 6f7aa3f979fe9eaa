//! Checkpoints in an object store (S3 or what speaks its protocol, GCS, Azure Blob, a local
//! directory), so that several nodes see the same checkpoints: `<prefix>/<processor id>/<seq>.ckpt`.
//! A put is atomic in every one of these stores (an object appears whole or not at all), so a
//! reader never sees half a checkpoint; pruning follows the put, as in the file store.

use std::sync::Arc;

use object_store::path::Path;
use object_store::{ObjectStore, PutPayload};

use crate::checkpoints::{check_id, file_name, seq_of};
use crate::{CheckpointStore, StoreError, StoreResult};

/// A [`CheckpointStore`] over an [`ObjectStore`], blocking on a small runtime of its own.
pub struct ObjectCheckpointStore {
    store: Arc<dyn ObjectStore>,
    prefix: Path,
    keep: usize,
    rt: OwnRuntime,
    /// What to call the store in messages (its URL, without credentials).
    shown: String,
}

impl ObjectCheckpointStore {
    /// A store at `url` (`s3://bucket/prefix`, `gs://...`, `az://...`, `file:///dir`) keeping the
    /// newest `keep` checkpoints of each processor. `options` configure the backend
    /// (`aws_endpoint`, `aws_access_key_id`, `google_service_account`, ...); the backend's own
    /// environment variables (`AWS_...`, `GOOGLE_...`, `AZURE_...`) are read as well.
    pub fn open(url: &str, options: Vec<(String, String)>, keep: usize) -> StoreResult<ObjectCheckpointStore> {
        let bad = |e: String| StoreError::Backend(format!("checkpoint store {}: {}", url, e));
        let parsed = url::Url::parse(url).map_err(|e| bad(e.to_string()))?;
        let mut opts: Vec<(String, String)> = std::env::vars()
            .filter(|(k, _)| ["AWS_", "GOOGLE_", "AZURE_"].iter().any(|p| k.starts_with(p)))
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect();
        opts.extend(options);
        let (store, prefix) = object_store::parse_url_opts(&parsed, opts).map_err(|e| bad(e.to_string()))?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("sluice-checkpoint-store")
            .enable_all()
            .build()
            .map_err(|e| bad(e.to_string()))?;
        let rt = OwnRuntime(Some(rt));
        Ok(ObjectCheckpointStore { store: Arc::from(store), prefix, keep: keep.max(1), rt, shown: url.to_string() })
    }

    /// Runs `f` to completion on the store's runtime (from a thread of its own when the caller
    /// is itself on a runtime, which cannot block).
    fn block<T: Send>(&self, f: impl std::future::Future<Output = StoreResult<T>> + Send) -> StoreResult<T> {
        let Some(rt) = &self.rt.0 else { return Err(StoreError::Backend("the checkpoint store is closed".into())) };
        if tokio::runtime::Handle::try_current().is_err() {
            return rt.block_on(f);
        }
        std::thread::scope(|s| {
            s.spawn(|| rt.block_on(f))
                .join()
                .unwrap_or_else(|_| Err(StoreError::Backend("the checkpoint store's thread panicked".into())))
        })
    }

    fn dir(&self, processor_id: &str) -> StoreResult<Path> {
        check_id(processor_id)?;
        Ok(self.prefix.child(processor_id))
    }

    fn failed(&self, what: &str, e: object_store::Error) -> StoreError {
        StoreError::Backend(format!("cannot {} in checkpoint store {}: {}", what, self.shown, e))
    }

    async fn seqs(&self, dir: &Path) -> StoreResult<Vec<u64>> {
        use futures_util::TryStreamExt;
        let objects: Vec<_> = self.store.list(Some(dir)).try_collect().await.map_err(|e| self.failed("list", e))?;
        let mut seqs: Vec<u64> = objects.iter().filter_map(|o| o.location.filename().and_then(seq_of)).collect();
        seqs.sort_unstable_by(|a, b| b.cmp(a));
        Ok(seqs)
    }
}

/// The store's runtime, shut down without waiting when the store goes (which may happen on
/// another runtime, where a runtime cannot be dropped the ordinary way).
struct OwnRuntime(Option<tokio::runtime::Runtime>);

impl Drop for OwnRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

impl CheckpointStore for ObjectCheckpointStore {
    fn save(&self, processor_id: &str, seq: u64, bytes: &[u8]) -> StoreResult<()> {
        let dir = self.dir(processor_id)?;
        let payload = PutPayload::from(bytes.to_vec());
        self.block(async {
            self.store.put(&dir.child(file_name(seq)), payload).await.map_err(|e| self.failed("write", e))?;
            for old in self.seqs(&dir).await?.into_iter().skip(self.keep) {
                self.store.delete(&dir.child(file_name(old))).await.map_err(|e| self.failed("prune", e))?;
            }
            Ok(())
        })
    }

    fn list(&self, processor_id: &str) -> StoreResult<Vec<u64>> {
        let dir = self.dir(processor_id)?;
        self.block(self.seqs(&dir))
    }

    fn load(&self, processor_id: &str, seq: u64) -> StoreResult<Vec<u8>> {
        let at = self.dir(processor_id)?.child(file_name(seq));
        self.block(async {
            match self.store.get(&at).await {
                Ok(r) => Ok(r.bytes().await.map_err(|e| self.failed("read", e))?.to_vec()),
                Err(object_store::Error::NotFound { .. }) => Err(StoreError::NotFound),
                Err(e) => Err(self.failed("read", e)),
            }
        })
    }

    fn clear(&self, processor_id: &str) -> StoreResult<()> {
        let dir = self.dir(processor_id)?;
        self.block(async {
            for seq in self.seqs(&dir).await? {
                self.store.delete(&dir.child(file_name(seq))).await.map_err(|e| self.failed("delete", e))?;
            }
            Ok(())
        })
    }
}
