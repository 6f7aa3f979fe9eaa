//! Several `sluice serve` nodes on one PostgreSQL database (`--store postgres://...`, a fresh
//! database on the test server of scripts/test-servers.sh) and one checkpoint directory
//! (`--checkpoint-store file:///...`), each with its own data dir and `--node-id`; and the
//! cluster endpoint, `GET /api/sluice/v1/cluster`, which says what each node runs.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value as Json;

use super::postgres::fresh_database;
use super::{temp_dir, Auth, Client, Server};

/// The sealing key every node of a test shares.
pub const KEY: &str = "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a";

/// The cluster endpoint (a Sluice extension).
pub const CLUSTER: &str = "/api/sluice/v1/cluster";

/// A checkpoint directory several nodes share: the directory and its `file://` URL.
pub fn shared_checkpoints(label: &str) -> (PathBuf, String) {
    let dir = temp_dir(&format!("{}-checkpoints", label));
    let url = format!("file://{}", dir.display());
    (dir, url)
}

/// A node named `id` on the database of `url`, checkpointing to `checkpoints` (a URL), with a
/// data dir of its own.
pub fn node(url: &str, checkpoints: &str, id: &str) -> Server {
    let args = ["--store", url, "--node-id", id, "--checkpoint-store", checkpoints];
    Server::start_with(&temp_dir(&format!("node-{}", id)), &args, &[("SLUICE_SECRET_KEY", KEY)])
}

/// Nodes `n1`, `n2`, ... sharing a fresh database and a checkpoint directory.
pub struct Cluster {
    /// The database's URL.
    pub url: String,
    /// The checkpoint store's URL.
    pub checkpoints: String,
    checkpoint_dir: PathBuf,
    /// The nodes by index (`n1` is 0); None once killed or drained.
    pub nodes: Vec<Option<Server>>,
    /// The first start's project and Project Owner key: `groupId`, `publicKey`, `privateKey`.
    pub group: String,
    public_key: String,
    private_key: String,
}

impl Cluster {
    /// Starts `count` nodes one after another; `n1` makes the first project and key.
    pub async fn start(label: &str, count: usize) -> Cluster {
        // A database name takes no `-`.
        let url = fresh_database(&label.replace('-', "_")).await;
        let (checkpoint_dir, checkpoints) = shared_checkpoints(label);
        let nodes: Vec<Option<Server>> =
            (1..=count).map(|i| Some(node(&url, &checkpoints, &format!("n{}", i)))).collect();
        let first = nodes[0].as_ref().expect("n1");
        let (group, public_key, private_key) =
            (first.banner_value("groupId"), first.banner_value("publicKey"), first.banner_value("privateKey"));
        Cluster { url, checkpoints, checkpoint_dir, nodes, group, public_key, private_key }
    }

    /// The node with id `id`.
    pub fn server(&self, id: &str) -> &Server {
        self.nodes[index(id)].as_ref().unwrap_or_else(|| panic!("{} is no longer running", id))
    }

    /// Takes node `id` out of the cluster's hands (to kill or drain it).
    pub fn take(&mut self, id: &str) -> Server {
        self.nodes[index(id)].take().unwrap_or_else(|| panic!("{} is no longer running", id))
    }

    /// The ids of the nodes still in hand.
    pub fn ids(&self) -> Vec<String> {
        (0..self.nodes.len()).filter(|i| self.nodes[*i].is_some()).map(|i| format!("n{}", i + 1)).collect()
    }

    /// A client of node `id` with the Project Owner key.
    pub fn client(&self, id: &str) -> Client {
        let auth =
            Auth::Digest { user: self.public_key.clone(), password: self.private_key.clone(), algorithm: "SHA-256" };
        Client::new(self.server(id), auth)
    }

    /// The first project's `.../streams` path.
    pub fn streams(&self) -> String {
        format!("/api/atlas/v2/groups/{}/streams", self.group)
    }
}

impl Cluster {
    /// Runs a client command of the binary (`projects create ...`) on the cluster's store; its
    /// standard output.
    pub fn cli(&self, args: &[&str]) -> String {
        let data_dir = temp_dir("cluster-cli");
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(args)
            .args(["--store", &self.url, "--data-dir"])
            .arg(&data_dir)
            .env("SLUICE_SECRET_KEY", KEY)
            .env("SLUICE_LOG", "warn")
            .output()
            .expect("sluice runs");
        let _ = std::fs::remove_dir_all(data_dir);
        assert!(out.status.success(), "sluice {:?}: {}", args, String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let dirs: Vec<PathBuf> = self.nodes.iter().flatten().map(|s| s.dir.clone()).collect();
        self.nodes.clear();
        for d in dirs.iter().chain([&self.checkpoint_dir]) {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

/// The index of node `n<i>`.
fn index(id: &str) -> usize {
    id.strip_prefix('n').and_then(|i| i.parse::<usize>().ok()).expect("a node id n<i>") - 1
}

/// `c` asking for plain JSON as well as the Atlas media type (the endpoint is no Atlas
/// operation; either answer shape is JSON).
pub fn json_client(c: &Client) -> Client {
    Client { accept: "application/json, application/vnd.atlas.2025-03-12+json".into(), ..c.clone() }
}

/// The cluster endpoint's answer to `c`, which must be 200.
pub async fn view(c: &Client) -> Json {
    let r = json_client(c).get(CLUSTER).await;
    assert_eq!(r.status, StatusCode::OK, "GET {} on {}: {:?}", CLUSTER, c.base, String::from_utf8_lossy(&r.raw));
    r.body
}

/// The ids of the nodes listing processor `name` of workspace `ws` of `group` in `view`.
pub fn running_on(view: &Json, group: &str, ws: &str, name: &str) -> Vec<String> {
    nodes(view)
        .iter()
        .filter(|n| listed(n).iter().any(|p| p["groupId"] == group && p["workspace"] == ws && p["name"] == name))
        .map(|n| n["id"].as_str().expect("a node id").to_string())
        .collect()
}

/// The nodes of a cluster view.
pub fn nodes(view: &Json) -> Vec<Json> {
    view["nodes"].as_array().unwrap_or_else(|| panic!("nodes in {}", view)).clone()
}

/// The processors a node of a view lists.
pub fn listed(node: &Json) -> Vec<Json> {
    node["processors"].as_array().unwrap_or_else(|| panic!("processors in {}", node)).clone()
}

/// Polls the cluster endpoint through `c` until exactly one node, other than `not`, lists
/// processor `name` (of workspace `ws` of `group`), for at most `within`; that node's id and
/// when it was first seen there.
pub async fn wait_running(
    c: &Client,
    (group, ws, name): (&str, &str, &str),
    not: Option<&str>,
    within: Duration,
) -> (String, Instant) {
    let deadline = Instant::now() + within;
    loop {
        let v = view(c).await;
        let on = running_on(&v, group, ws, name);
        if on.len() == 1 && Some(on[0].as_str()) != not {
            return (on[0].clone(), Instant::now());
        }
        assert!(on.len() <= 1, "{} listed under several nodes: {}", name, v);
        assert!(
            Instant::now() < deadline,
            "{} not running on a node other than {:?} within {:?}: {}",
            name,
            not,
            within,
            v
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A view without what changes from one call to the next (`lastHeartbeat`), processors sorted:
/// what every node must answer alike.
pub fn settled(view: &Json) -> Json {
    let mut v = view.clone();
    for n in v["nodes"].as_array_mut().expect("nodes") {
        n.as_object_mut().expect("a node").remove("lastHeartbeat");
        let ps = n["processors"].as_array_mut().expect("processors");
        ps.sort_by_key(|p| p.to_string());
    }
    v
}

/// Whether `s` is an ISO-8601 UTC date-time (`YYYY-MM-DDTHH:MM:SS[.fff]Z` or `+00:00`).
pub fn is_utc_date_time(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let shape = b.len() >= 20
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19);
    shape && (s.ends_with('Z') || s.ends_with("+00:00"))
}
