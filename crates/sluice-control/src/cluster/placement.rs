//! Where processors run: on the least loaded live node, a node's load being the tier weights of
//! the processors it holds leases on. Every node computes the same answer from the same view of
//! the store, so they agree without talking; the store's lease decides any race.

use std::collections::BTreeMap;
use std::time::Duration;

use sluice_store::{ClusterView, Node};
use sluice_types::Tier;

/// A node whose heartbeat is older than this is down: it takes no work.
pub const NODE_DOWN_AFTER: Duration = Duration::from_secs(6);

/// A processor's weight in its node's load: its tier's number (an SP10 weighs as five SP2s).
pub fn weight(tier: Tier) -> u64 {
    match tier {
        Tier::SP2 => 2,
        Tier::SP5 => 5,
        Tier::SP10 => 10,
        Tier::SP30 => 30,
        Tier::SP50 => 50,
    }
}

/// How a node stands, as others see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeState {
    /// Alive and taking work.
    Live,
    /// Alive, handing its processors over before it stops.
    Draining,
    /// Its heartbeat stopped.
    Down,
}

impl NodeState {
    /// The API's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            NodeState::Live => "LIVE",
            NodeState::Draining => "DRAINING",
            NodeState::Down => "DOWN",
        }
    }
}

/// How node `n` stands at the store's time `now`.
pub fn node_state(n: &Node, now: i64) -> NodeState {
    if now - n.last_heartbeat > NODE_DOWN_AFTER.as_millis() as i64 {
        NodeState::Down
    } else if n.draining {
        NodeState::Draining
    } else {
        NodeState::Live
    }
}

/// The load of every live node, by id.
fn loads(view: &ClusterView) -> BTreeMap<&str, u64> {
    let mut loads: BTreeMap<&str, u64> =
        view.nodes.iter().filter(|n| node_state(n, view.now) == NodeState::Live).map(|n| (n.id.as_str(), 0)).collect();
    for l in &view.leases {
        if let Some(load) = loads.get_mut(l.node_id.as_str()) {
            *load += weight(l.tier);
        }
    }
    loads
}

/// The least loaded of `loads` (ties to the smallest id).
fn lightest<'a>(loads: &BTreeMap<&'a str, u64>) -> Option<&'a str> {
    loads.iter().min_by_key(|(id, load)| (**load, **id)).map(|(id, _)| *id)
}

/// The node a processor starting now should run on; `None` when no node is live.
pub fn target(view: &ClusterView) -> Option<String> {
    lightest(&loads(view)).map(str::to_string)
}

/// The orphaned processors node `me` should take, in the order of the view's orphans: each
/// orphan goes to the node that is least loaded once the orphans before it are placed.
pub fn orphans_for(view: &ClusterView, me: &str) -> Vec<String> {
    let mut loads = loads(view);
    let mut mine = Vec::new();
    for o in &view.orphans {
        let Some(node) = lightest(&loads) else { break };
        if node == me {
            mine.push(o.processor_id.clone());
        }
        if let Some(load) = loads.get_mut(node) {
            *load += weight(o.tier);
        }
    }
    mine
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_store::{HeldLease, Orphan};

    fn node(id: &str, beat: i64, draining: bool) -> Node {
        Node { id: id.into(), address: format!("{}:1", id), started_at: 0, last_heartbeat: beat, draining }
    }

    fn lease(p: &str, node: &str, tier: Tier) -> HeldLease {
        HeldLease { processor_id: p.into(), node_id: node.into(), epoch: 1, tier }
    }

    fn view(leases: Vec<HeldLease>, orphans: &[(&str, Tier)]) -> ClusterView {
        ClusterView {
            now: 100_000,
            nodes: vec![node("a", 99_000, false), node("b", 99_500, false), node("c", 99_900, false)],
            leases,
            orphans: orphans.iter().map(|(p, t)| Orphan { processor_id: p.to_string(), tier: *t }).collect(),
        }
    }

    #[test]
    fn new_work_goes_to_the_least_loaded_node_by_tier_weight() {
        assert_eq!(target(&view(vec![], &[])).as_deref(), Some("a"), "ties go to the smallest id");
        let v = view(vec![lease("p1", "a", Tier::SP10), lease("p2", "b", Tier::SP2), lease("p3", "b", Tier::SP5)], &[]);
        assert_eq!(target(&v).as_deref(), Some("c"));
        let v = view(vec![lease("p1", "a", Tier::SP10), lease("p2", "b", Tier::SP2), lease("p3", "c", Tier::SP5)], &[]);
        assert_eq!(target(&v).as_deref(), Some("b"), "b carries 2, c 5, a 10");
    }

    #[test]
    fn down_and_draining_nodes_take_nothing() {
        let mut v = view(vec![lease("p1", "a", Tier::SP50)], &[]);
        v.nodes[1].last_heartbeat = 90_000;
        v.nodes[2].draining = true;
        assert_eq!(node_state(&v.nodes[1], v.now), NodeState::Down);
        assert_eq!(node_state(&v.nodes[2], v.now), NodeState::Draining);
        assert_eq!(target(&v).as_deref(), Some("a"), "the only live node, however loaded");
        v.nodes[0].last_heartbeat = 0;
        assert_eq!(target(&v), None);
    }

    #[test]
    fn orphans_are_spread_so_every_node_agrees_who_takes_which() {
        let v = view(vec![lease("p0", "a", Tier::SP10)], &[("o1", Tier::SP10), ("o2", Tier::SP10), ("o3", Tier::SP2)]);
        // b takes o1 (b 10), c takes o2 (c 10), o3 goes to the smallest id of the three at 10.
        assert_eq!(orphans_for(&v, "a"), ["o3"]);
        assert_eq!(orphans_for(&v, "b"), ["o1"]);
        assert_eq!(orphans_for(&v, "c"), ["o2"]);
        assert!(orphans_for(&v, "zz").is_empty(), "a node not in the view takes nothing");
    }
}
