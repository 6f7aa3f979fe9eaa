//! The file checkpoint store: atomic saves, newest first, retention, ignoring interrupted saves.

use sluice_store::{CheckpointStore, FsCheckpointStore, StoreError};

fn scratch(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("sluice-ckpt-{}-{}", name, std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn keeps_the_newest_and_prunes_the_rest() {
    let root = scratch("prune");
    let store = FsCheckpointStore::new(&root, 3);
    assert_eq!(store.list("abc123").unwrap(), Vec::<u64>::new());
    for seq in 1..=5u64 {
        store.save("abc123", seq, format!("state {}", seq).as_bytes()).unwrap();
    }
    assert_eq!(store.list("abc123").unwrap(), vec![5, 4, 3]);
    assert_eq!(store.load("abc123", 5).unwrap(), b"state 5");
    assert_eq!(store.load("abc123", 1), Err(StoreError::NotFound));
    // Numbering is numeric, not lexical.
    store.save("abc123", 10, b"ten").unwrap();
    assert_eq!(store.list("abc123").unwrap(), vec![10, 5, 4]);
    store.clear("abc123").unwrap();
    assert_eq!(store.list("abc123").unwrap(), Vec::<u64>::new());
    store.clear("abc123").unwrap();
    let _ = std::fs::remove_dir_all(&root);
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

#[test]
fn ids_that_are_not_plain_names_never_reach_the_file_system() {
    let store = FsCheckpointStore::new(scratch("ids"), 3);
    for id in ["", "../etc", "a/b", "."] {
        assert!(matches!(store.save(id, 1, b"x"), Err(StoreError::Backend(_))), "{:?}", id);
    }
}
