//! Leases on a real PostgreSQL server: one holder at a time, epochs that only grow, expiry by the
//! database's clock, orphans, and statistics only the holder publishes.

use std::time::Duration;

use sluice_store::*;
use sluice_types::{ProcessorState, Tier};

use super::fresh_store;
use super::suite::fixtures::{processor, project, workspace};

/// A store with one workspace (tier SP10) and processors `a` (STARTED, own tier SP2) and `b`
/// (STARTED) and `c` (STOPPED).
async fn store_with_processors() -> PostgresStore {
    let s = fresh_store().await;
    s.insert_project(&project()).await.unwrap();
    s.insert_workspace(&workspace("w", "w1"), &[]).await.unwrap();
    for (id, state, tier) in [
        ("a", ProcessorState::Started, Some(Tier::SP2)),
        ("b", ProcessorState::Started, None),
        ("c", ProcessorState::Stopped, None),
    ] {
        let mut p = processor("w1", id, id);
        p.state = state;
        p.tier = tier;
        s.insert_processor(&p).await.unwrap();
    }
    s
}

#[tokio::test]
async fn one_node_holds_a_lease_until_it_expires_or_is_released() {
    let s = store_with_processors().await;
    assert_eq!(s.acquire_lease("a", "n1", 60_000).await.unwrap(), Some(1));
    assert_eq!(s.acquire_lease("a", "n2", 60_000).await.unwrap(), None, "n1 holds it");
    let holder = s.lease_holder("a").await.unwrap();
    assert_eq!(holder.map(|h| (h.node_id, h.epoch)), None, "n1 has no node row, so no address to show");
    s.node_started("n1", "127.0.0.1:1").await.unwrap();
    let holder = s.lease_holder("a").await.unwrap().unwrap();
    assert_eq!((holder.node_id.as_str(), holder.address.as_str(), holder.epoch), ("n1", "127.0.0.1:1", 1));
    // Its holder may take it again: a new epoch.
    assert_eq!(s.acquire_lease("a", "n1", 60_000).await.unwrap(), Some(2));
    // A release by an older epoch changes nothing; by the current one it frees the lease.
    s.release_lease("a", "n1", 1).await.unwrap();
    assert_eq!(s.acquire_lease("a", "n2", 60_000).await.unwrap(), None);
    s.release_lease("a", "n1", 2).await.unwrap();
    assert!(s.lease_holder("a").await.unwrap().is_none());
    assert_eq!(s.acquire_lease("a", "n2", 60_000).await.unwrap(), Some(3), "the epoch survives a release");
    assert_eq!(s.acquire_lease("gone", "n2", 60_000).await, Err(StoreError::NotFound));
}

#[tokio::test]
async fn an_unrenewed_lease_expires_and_is_not_revived() {
    let s = store_with_processors().await;
    assert_eq!(s.acquire_lease("a", "n1", 300).await.unwrap(), Some(1));
    assert_eq!(s.acquire_lease("b", "n1", 60_000).await.unwrap(), Some(1));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(s.renew_leases("n1", 60_000).await.unwrap(), vec![("b".to_string(), 1)], "a expired");
    assert_eq!(s.acquire_lease("a", "n2", 60_000).await.unwrap(), Some(2), "another node takes it");
    assert_eq!(s.renew_leases("n1", 60_000).await.unwrap(), vec![("b".to_string(), 1)]);
}

#[tokio::test]
async fn the_view_shows_nodes_leases_and_orphans() {
    let s = store_with_processors().await;
    s.node_started("n1", "127.0.0.1:1").await.unwrap();
    let view = s.cluster_view().await.unwrap();
    assert_eq!(view.nodes.len(), 1);
    assert!(view.now >= view.nodes[0].last_heartbeat);
    assert!(view.leases.is_empty());
    let orphans: Vec<(&str, Tier)> = view.orphans.iter().map(|o| (o.processor_id.as_str(), o.tier)).collect();
    assert_eq!(orphans, [("a", Tier::SP2), ("b", Tier::SP10)], "STARTED without a lease; c is STOPPED");
    s.acquire_lease("b", "n1", 60_000).await.unwrap();
    let view = s.cluster_view().await.unwrap();
    assert_eq!(view.orphans.iter().map(|o| o.processor_id.as_str()).collect::<Vec<_>>(), ["a"]);
    assert_eq!(
        view.leases,
        vec![HeldLease { processor_id: "b".into(), node_id: "n1".into(), epoch: 1, tier: Tier::SP10 }]
    );
    let placed = s.placed_processors().await.unwrap();
    assert_eq!(placed.len(), 1);
    assert_eq!((placed[0].node_id.as_str(), placed[0].workspace.as_str(), placed[0].name.as_str()), ("n1", "w", "b"));
    assert_eq!((placed[0].group_id.clone(), placed[0].state), (project().id, ProcessorState::Started));
}

#[tokio::test]
async fn only_the_holder_publishes_statistics() {
    let s = store_with_processors().await;
    s.acquire_lease("a", "n1", 60_000).await.unwrap();
    s.publish_stats("n1", &[("a".into(), "{\"n\":1}".into())]).await.unwrap();
    s.publish_stats("n2", &[("a".into(), "{\"n\":99}".into())]).await.unwrap();
    let (at, stats) = s.published_stats("a").await.unwrap().unwrap();
    assert_eq!(stats, "{\"n\":1}");
    assert!(at > 0);
    assert_eq!(s.published_stats("b").await.unwrap(), None);
    let ids = ["a".to_string(), "b".to_string()];
    assert_eq!(s.published_stats_of(&ids).await.unwrap(), vec![("a".to_string(), "{\"n\":1}".to_string())]);
    // The processor's deletion takes its lease and statistics along.
    s.delete_processor("a").await.unwrap();
    assert_eq!(s.published_stats("a").await.unwrap(), None);
    assert!(s.lease_holder("a").await.unwrap().is_none());
}
