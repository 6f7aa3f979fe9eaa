//! The checkpoint stores: the file store in the data dir (atomic saves, newest first, retention,
//! ignoring interrupted saves), and the object store, on a local directory and on a real
//! S3-protocol server (`scripts/test-servers.sh` starts one), behaving the same.

use sluice_store::{CheckpointStore, FsCheckpointStore, ObjectCheckpointStore, StoreError};

fn scratch(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("sluice-ckpt-{}-{}", name, std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// What every checkpoint store does, given one that keeps 3.
fn keeps_the_newest_three(store: &dyn CheckpointStore) {
    assert_eq!(store.list("abc123").unwrap(), Vec::<u64>::new());
    assert_eq!(store.load("abc123", 1), Err(StoreError::NotFound));
    for seq in 1..=5u64 {
        store.save("abc123", seq, format!("state {}", seq).as_bytes()).unwrap();
    }
    assert_eq!(store.list("abc123").unwrap(), vec![5, 4, 3]);
    assert_eq!(store.load("abc123", 5).unwrap(), b"state 5");
    assert_eq!(store.load("abc123", 1), Err(StoreError::NotFound));
    // Numbering is numeric, not lexical.
    store.save("abc123", 10, b"ten").unwrap();
    assert_eq!(store.list("abc123").unwrap(), vec![10, 5, 4]);
    // Each processor its own.
    store.save("def456", 1, b"other").unwrap();
    assert_eq!(store.list("def456").unwrap(), vec![1]);
    store.clear("abc123").unwrap();
    assert_eq!(store.list("abc123").unwrap(), Vec::<u64>::new());
    assert_eq!(store.list("def456").unwrap(), vec![1]);
    store.clear("abc123").unwrap();
    for id in ["", "../etc", "a/b", "."] {
        assert!(matches!(store.save(id, 1, b"x"), Err(StoreError::Backend(_))), "{:?}", id);
    }
}

#[test]
fn the_file_store_keeps_the_newest_and_prunes_the_rest() {
    let root = scratch("prune");
    keeps_the_newest_three(&FsCheckpointStore::new(&root, 3));
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn an_object_store_on_a_directory_keeps_the_newest_and_prunes_the_rest() {
    let root = scratch("object-dir");
    std::fs::create_dir_all(&root).unwrap();
    let url = format!("file://{}", root.display());
    keeps_the_newest_three(&ObjectCheckpointStore::open(&url, Vec::new(), 3).expect("store"));
    let _ = std::fs::remove_dir_all(&root);
}

/// The S3-protocol server's options (any key works there).
fn s3_options() -> Vec<(String, String)> {
    let endpoint = std::env::var("SLUICE_TEST_S3")
        .expect("SLUICE_TEST_S3 is not set: run the tests through scripts/test.sh, which starts the S3 server");
    [("aws_endpoint", endpoint.as_str()), ("aws_allow_http", "true"), ("aws_region", "us-east-1")]
        .into_iter()
        .chain([("aws_access_key_id", "test"), ("aws_secret_access_key", "test")])
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn an_object_store_on_s3_keeps_the_newest_and_prunes_the_rest() {
    let url = format!("s3://sluice-test/checkpoints-{}", std::process::id());
    keeps_the_newest_three(&ObjectCheckpointStore::open(&url, s3_options(), 3).expect("store"));
    // Another node opening the same place sees the same checkpoints.
    let a = ObjectCheckpointStore::open(&url, s3_options(), 3).expect("store");
    let b = ObjectCheckpointStore::open(&url, s3_options(), 3).expect("store");
    a.save("shared1", 7, b"seven").unwrap();
    assert_eq!(b.list("shared1").unwrap(), vec![7]);
    assert_eq!(b.load("shared1", 7).unwrap(), b"seven");
    b.clear("shared1").unwrap();
}

#[test]
fn an_unreachable_object_store_is_an_error_naming_it() {
    let mut options = s3_options();
    options[0].1 = "http://127.0.0.1:9".into();
    let store = ObjectCheckpointStore::open("s3://sluice-test/x", options, 3).expect("opening does not connect");
    match store.save("p1", 1, b"x") {
        Err(StoreError::Backend(m)) => assert!(m.contains("s3://sluice-test/x"), "{}", m),
        other => panic!("{:?}", other),
    }
}

#[test]
fn an_interrupted_save_is_not_a_checkpoint() {
    let root = scratch("tmp");
    let store = FsCheckpointStore::new(&root, 3);
    store.save("p1", 1, b"one").unwrap();
    // What a crash between write and rename leaves behind.
    std::fs::write(root.join("p1").join("00000000000000000002.ckpt.tmp"), b"half").unwrap();
    assert_eq!(store.list("p1").unwrap(), vec![1]);
    // The next save of that number replaces the leftover.
    store.save("p1", 2, b"two").unwrap();
    assert_eq!(store.list("p1").unwrap(), vec![2, 1]);
    assert_eq!(store.load("p1", 2).unwrap(), b"two");
    let _ = std::fs::remove_dir_all(&root);
}
