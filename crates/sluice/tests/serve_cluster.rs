//! Several nodes as one service (issue 20): three `sluice serve` nodes on one PostgreSQL
//! database and one checkpoint directory. Processors spread over the nodes and every node
//! answers for every processor; the owner of a Kafka -> window -> MongoDB processor is killed
//! (SIGKILL) or drained (SIGTERM) and another node carries on with the output exact; an owner
//! stopped (SIGSTOP) past its lease writes nothing once it wakes up; and a node refuses to
//! start on PostgreSQL without a shared checkpoint store. Needs the servers of
//! scripts/test-servers.sh (PostgreSQL, Kafka, MongoDB-wire).

mod support;

#[path = "../../sluice-connectors/tests/support/kafka.rs"]
mod kafka;
#[path = "../../sluice-connectors/tests/support/mongodb.rs"]
mod mongo;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use kafka::{broker, create_topic, produce, unique_topic, Msg};
use mongodb::bson::{doc, Bson, Document as BsonDoc};
use reqwest::StatusCode;
use serde_json::{json, Value as Json};
use support::cluster::*;
use support::*;

/// Issue 20: a killed owner's processor runs again on another node within 15 s.
const TAKEOVER: Duration = Duration::from_secs(15);
/// Issue 20 says a drained node's processors run elsewhere within ~5 s of SIGTERM; 8 s leaves
/// room for a loaded CI machine (three nodes, Kafka, MongoDB and PostgreSQL on two cores).
const DRAIN: Duration = Duration::from_secs(8);

/// Creates workspace `ws` of the cluster's first project with a Kafka and a MongoDB connection.
async fn kafka_mongo_workspace(c: &Client, streams: &str) {
    let r = c
        .post(streams, &json!({"name": "ws", "dataProcessRegion": {"cloudProvider": "AWS", "region": "VIRGINIA_USA"}}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    for conn in [
        json!({"name": "kafka", "type": "Kafka", "bootstrapServers": broker()}),
        json!({"name": "mongo", "type": "Cluster", "connectionString": mongo::uri()}),
    ] {
        let r = c.post(&format!("{}/ws/connections", streams), &conn).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    }
}

/// Creates processor `name` of workspace `ws` with `pipeline` and a checkpoint every 500 ms,
/// and starts it through `c`; its path.
async fn create_and_start(c: &Client, streams: &str, name: &str, pipeline: Json) -> String {
    let body = json!({"name": name, "pipeline": pipeline, "options": {"checkpointIntervalMs": 500}});
    let r = c.post(&format!("{}/ws/processor", streams), &body).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let p = format!("{}/ws/processor/{}", streams, name);
    let r = c.post(&format!("{}:start", p), &json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    p
}

/// A topic of one partition (so that event time only moves forward).
async fn topic(prefix: &str) -> String {
    let t = unique_topic(prefix);
    let t2 = t.clone();
    blocking(move || create_topic(&broker(), &t2, 1)).await;
    t
}

/// Produces `values` to `topic` in order.
async fn produce_all(topic: &str, values: Vec<String>) {
    let topic = topic.to_string();
    blocking(move || {
        let msgs: Vec<Msg<'_>> =
            values.iter().map(|v| Msg { key: None, value: v.as_bytes(), partition: None }).collect();
        produce(&broker(), &topic, &msgs);
    })
    .await
}

/// An integer field of a document, whether stored as a 32- or a 64-bit integer.
fn int(d: &BsonDoc, field: &str) -> Option<i64> {
    match d.get(field)? {
        Bson::Int32(n) => Some(i64::from(*n)),
        Bson::Int64(n) => Some(*n),
        _ => None,
    }
}

/// Every document of `db.coll`, sorted by `_id`.
async fn documents(db: &str, coll: &str) -> Vec<BsonDoc> {
    let (db, coll) = (db.to_string(), coll.to_string());
    blocking(move || {
        let c = mongo::client().database(&db).collection::<BsonDoc>(&coll);
        c.find(doc! {}).sort(doc! {"_id": 1}).run().expect("find").map(|d| d.expect("a document")).collect()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processors_spread_over_three_nodes_and_every_node_answers_for_each() {
    let cl = Cluster::start("spread", 3).await;
    let (c1, streams, group) = (cl.client("n1"), cl.streams(), cl.group.clone());
    let r = c1
        .post(
            &streams,
            &json!({"name": "ws", "dataProcessRegion": {"cloudProvider": "AWS", "region": "VIRGINIA_USA"},
                "sampleConnections": {"solar": true}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let pipeline = json!([{"$source": {"connectionName": "sample_stream_solar"}},
        {"$addFields": {"kw": {"$divide": ["$obs.watts", 1000]}}}]);
    // Started one after another through n1, each once the cluster lists it: all on n1's word,
    // placed by load (ties by node id), so one on each node.
    let names = ["p1", "p2", "p3"];
    let mut owners = BTreeMap::new();
    for name in names {
        create_and_start(&c1, &streams, name, pipeline.clone()).await;
        let (on, _) = wait_running(&c1, (&group, "ws", name), None, Duration::from_secs(15)).await;
        owners.insert(name, on);
    }
    let mut distinct: Vec<&String> = owners.values().collect();
    distinct.sort();
    assert_eq!(distinct, ["n1", "n2", "n3"], "three processors of one tier on three fresh nodes: {:?}", owners);

    // Every node answers GET of every processor: STARTED, with live stats (a node that does
    // not run it shows them at most ~2 s old, so they keep growing there too).
    let clients: Vec<(String, Client)> = cl.ids().into_iter().map(|id| (id.clone(), cl.client(&id))).collect();
    let mut first_counts = BTreeMap::new();
    for (id, c) in &clients {
        for name in names {
            let n = eventually(15, || async {
                let b = c.get(&format!("{}/ws/processor/{}", streams, name)).await.body;
                assert_eq!(b["state"], "STARTED", "{} on {}: {}", name, id, b);
                b["stats"]["inputMessageCount"].as_u64().filter(|n| *n > 0)
            })
            .await;
            first_counts.insert((id.clone(), name), n);
        }
    }
    for ((id, name), first) in &first_counts {
        let c = &clients.iter().find(|(i, _)| i == id).expect("a client").1;
        eventually(15, || async {
            let b = c.get(&format!("{}/ws/processor/{}", streams, name)).await.body;
            (b["stats"]["inputMessageCount"].as_u64().unwrap_or(0) > *first).then_some(())
        })
        .await;
    }

    // And the list, likewise.
    for (id, c) in &clients {
        eventually(15, || async {
            let b = c.get(&format!("{}/ws/processors", streams)).await.body;
            let results = b["results"].as_array().cloned().unwrap_or_default();
            assert_eq!(results.len(), 3, "the list on {}: {}", id, b);
            results
                .iter()
                .all(|p| p["state"] == "STARTED" && p["stats"]["inputMessageCount"].as_u64().unwrap_or(0) > 0)
                .then_some(())
        })
        .await;
    }

    // The cluster endpoint: every node, its address and heartbeat, what it runs; alike from
    // every node.
    let v = view(&c1).await;
    let listed_nodes = nodes(&v);
    let ids: Vec<&str> = listed_nodes.iter().map(|n| n["id"].as_str().expect("id")).collect();
    assert_eq!(ids, ["n1", "n2", "n3"], "every node, sorted by id: {}", v);
    for n in &listed_nodes {
        let id = n["id"].as_str().expect("id");
        assert_eq!(n["address"], cl.server(id).addr.as_str(), "{}", n);
        assert_eq!(n["state"], "LIVE", "{}", n);
        assert!(is_utc_date_time(n["lastHeartbeat"].as_str().unwrap_or_default()), "{}", n);
        let ps = listed(n);
        assert_eq!(ps.len(), 1, "one processor on {}: {}", id, n);
        assert_eq!(ps[0]["groupId"], group.as_str());
        assert_eq!(ps[0]["workspace"], "ws");
        assert_eq!(ps[0]["state"], "STARTED");
        assert_eq!(owners[ps[0]["name"].as_str().expect("name")], id, "{}", v);
    }
    eventually(10, || async {
        let mut views = Vec::new();
        for (_, c) in &clients {
            views.push(settled(&view(c).await));
        }
        views.iter().all(|w| *w == views[0]).then_some(())
    })
    .await;

    // :stop sent to a node that does not run it stops it everywhere.
    let (stopped, owner) = ("p2", owners["p2"].clone());
    let other = cl.ids().into_iter().find(|id| *id != owner).expect("another node");
    let r = cl.client(&other).post(&format!("{}/ws/processor/{}:stop", streams, stopped), &json!({})).await;
    assert_eq!(r.status, StatusCode::OK, ":stop through {} for {}'s processor: {:?}", other, owner, r.body);
    for (id, c) in &clients {
        eventually(10, || async {
            let b = c.get(&format!("{}/ws/processor/{}", streams, stopped)).await.body;
            (b["state"] == "STOPPED").then_some(())
        })
        .await;
        let b = c.get(&format!("{}/ws/processor/{}", streams, stopped)).await.body;
        assert_eq!(b["state"], "STOPPED", "{} on {}", stopped, id);
    }
    eventually(10, || async { running_on(&view(&c1).await, &group, "ws", stopped).is_empty().then_some(()) }).await;
    let v = view(&c1).await;
    for name in ["p1", "p3"] {
        assert_eq!(running_on(&v, &group, "ws", name), [owners[name].clone()], "{}", v);
    }

    // A second project's key sees its own processors only; a read-only key of the first sees
    // the first's; without credentials, 401.
    let second = line_value(&cl.cli(&["projects", "create", "--name", "second"]), "groupId");
    let out = cl.cli(&["keys", "create", "--project", &second, "--role", "GROUP_OWNER"]);
    let auth = Auth::Digest {
        user: line_value(&out, "publicKey"),
        password: line_value(&out, "privateKey"),
        algorithm: "MD5",
    };
    let c2 = Client::new(cl.server("n2"), auth);
    let streams2 = format!("/api/atlas/v2/groups/{}/streams", second);
    let r = c2
        .post(
            &streams2,
            &json!({"name": "ws", "dataProcessRegion": {"cloudProvider": "AWS", "region": "VIRGINIA_USA"},
                "sampleConnections": {"solar": true}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    create_and_start(&c2, &streams2, "q", pipeline.clone()).await;
    wait_running(&c2, (&second, "ws", "q"), None, Duration::from_secs(15)).await;
    let theirs = view(&c2).await;
    assert_eq!(nodes(&theirs).len(), 3, "{}", theirs);
    let seen: Vec<Json> = nodes(&theirs).iter().flat_map(listed).collect();
    assert_eq!(seen.len(), 1, "the second project sees its processor only: {}", theirs);
    assert_eq!((&seen[0]["groupId"], &seen[0]["name"]), (&json!(second), &json!("q")), "{}", theirs);
    let ours = view(&c1).await;
    let seen: Vec<Json> = nodes(&ours).iter().flat_map(listed).collect();
    assert!(seen.iter().all(|p| p["groupId"] == group.as_str()), "{}", ours);
    assert_eq!(seen.len(), 2, "p1 and p3: {}", ours);

    let out = cl.cli(&["keys", "create", "--project", &group, "--role", "GROUP_READ_ONLY"]);
    let auth = Auth::Digest {
        user: line_value(&out, "publicKey"),
        password: line_value(&out, "privateKey"),
        algorithm: "SHA-256",
    };
    let reader = Client::new(cl.server("n3"), auth);
    let read = view(&reader).await;
    assert_eq!(nodes(&read).iter().flat_map(listed).count(), 2, "a read-only key sees p1 and p3: {}", read);
    for id in cl.ids() {
        let r = json_client(&Client::new(cl.server(&id), Auth::None)).get(CLUSTER).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{} without credentials: {:?}", id, r.body);
    }
}

/// How the owner of a running processor leaves.
#[derive(Clone, Copy, Debug)]
enum Leave {
    /// SIGKILL: its lease must expire first.
    Crash,
    /// SIGTERM: it hands its processors back and exits 0.
    Drain,
}

/// Readings of three devices, one a second of event time from second `from` to `to`: device
/// `d<k>` reads `10 s + k` watts at second `s`.
fn readings(from: i64, to: i64) -> Vec<String> {
    (from..to)
        .flat_map(|s| (0..3).map(move |k| (s, k)))
        .map(|(s, k)| format!(r#"{{"device": "d{}", "watts": {}, "ts": {{"$date": {}}}}}"#, k, s * 10 + k, s * 1000))
        .collect()
}

/// Kafka -> 10 s tumbling window by device ($group count and sum) -> $merge into MongoDB on
/// three nodes; the owner leaves (`how`) after the first windows are written, another node must
/// run the processor within `bound` of the signal, and the collection must end up with every
/// window of the whole input exactly once with exact counts and sums.
async fn window_output_survives(label: &str, how: Leave, bound: Duration) {
    let mut cl = Cluster::start(label, 3).await;
    let (c1, streams, group) = (cl.client("n1"), cl.streams(), cl.group.clone());
    kafka_mongo_workspace(&c1, &streams).await;
    let input = topic(label).await;
    let db = mongo::unique_db(label);
    let pipeline = json!([
        {"$source": {"connectionName": "kafka", "topic": input, "timeField": "$ts",
            "config": {"auto_offset_reset": "earliest"}}},
        {"$tumblingWindow": {"interval": {"size": 10, "unit": "second"},
            "pipeline": [{"$group": {"_id": "$device", "n": {"$sum": 1}, "total": {"$sum": "$watts"}}}]}},
        {"$addFields": {"_id": {"device": "$_id", "start": {"$meta": "stream.window.start"}}}},
        {"$merge": {"into": {"connectionName": "mongo", "db": db, "coll": "windows"}}}
    ]);
    create_and_start(&c1, &streams, "w", pipeline).await;
    let key = (group.as_str(), "ws", "w");
    let (owner, _) = wait_running(&c1, key, None, Duration::from_secs(15)).await;

    // Seconds 0..30: windows [0,10) and [10,20) close; [20,30) is open when the owner leaves.
    produce_all(&input, readings(0, 30)).await;
    eventually(30, || async { (documents(&db, "windows").await.len() >= 6).then_some(()) }).await;
    let mut leaving = cl.take(&owner);
    let signalled = Instant::now();
    match how {
        Leave::Crash => leaving.signal("KILL"),
        Leave::Drain => leaving.signal("TERM"),
    }
    let survivor = cl.ids()[0].clone();
    let c = cl.client(&survivor);
    let (next, at) = wait_running(&c, key, Some(&owner), bound).await;
    eprintln!("{:?} of {}: {} runs w {} ms after the signal", how, owner, next, (at - signalled).as_millis());
    let (left_dir, status) = blocking(move || (leaving.dir.clone(), leaving.wait_exit(Duration::from_secs(30)))).await;
    let _ = std::fs::remove_dir_all(left_dir);
    match how {
        Leave::Drain => assert!(status.is_some_and(|s| s.success()), "a drained node exits 0: {:?}", status),
        // Its heartbeat stopped with it: DOWN once it is 6 s old.
        Leave::Crash => {
            eventually(15, || async {
                let v = view(&c).await;
                nodes(&v).iter().any(|n| n["id"] == owner.as_str() && n["state"] == "DOWN").then_some(())
            })
            .await
        }
    }

    // Seconds 30..60, and a reading at 75 s that closes [50,60) (its own window stays open).
    let mut rest = readings(30, 60);
    rest.push(r#"{"device": "closer", "watts": 1000000, "ts": {"$date": 75000}}"#.to_string());
    produce_all(&input, rest).await;
    let p = format!("{}/ws/processor/w", streams);
    eventually(60, || async {
        let b = c.get(&p).await.body;
        let parts = b["stats"]["kafkaPartitions"].as_array().cloned().unwrap_or_default();
        let read = parts.iter().map(|p| p["currentOffset"].as_i64().unwrap_or(0)).sum::<i64>();
        (read == 3 * 60 + 1 && documents(&db, "windows").await.len() >= 18).then_some(())
    })
    .await;

    let mut got = BTreeMap::new();
    for d in documents(&db, "windows").await {
        let id = d.get_document("_id").unwrap_or_else(|_| panic!("a {{device, start}} _id: {}", d));
        let device = id.get_str("device").expect("device").to_string();
        let start = id.get_datetime("start").expect("start").timestamp_millis();
        assert!(got.insert((device, start), (int(&d, "n"), int(&d, "total"))).is_none());
    }
    let mut expected = BTreeMap::new();
    for w in 0..6i64 {
        for k in 0..3i64 {
            let total = (w * 10..w * 10 + 10).map(|s| s * 10 + k).sum::<i64>();
            expected.insert((format!("d{}", k), w * 10_000), (Some(10), Some(total)));
        }
    }
    assert_eq!(got, expected, "every window of every device once, with exact counts and sums");
    for id in cl.ids() {
        let b = cl.client(&id).get(&p).await.body;
        assert_eq!(b["state"], "STARTED", "on {}: {}", id, b);
    }
    assert_eq!(running_on(&view(&c).await, &group, "ws", "w"), [next]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_owners_windowed_processor_runs_on_another_node_with_exact_output() {
    window_output_survives("cluster-kill", Leave::Crash, TAKEOVER).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drained_owner_hands_its_processor_over_and_exits_0() {
    window_output_survives("cluster-drain", Leave::Drain, DRAIN).await;
}

/// What the change stream on the output saw after the position, and whether it saw the marker
/// written at the end (which shows that it was reading).
struct Watched {
    after_position: Vec<String>,
    saw_marker: bool,
}

/// Opens a change stream on `db.coll`, waits until it has seen nothing for 2 s (the new owner
/// has written everything), then sends the documents on `ready` (the position), waits for `go`
/// and watches for `watch` more; then writes a marker and reads until it arrives.
fn watch_output(
    db: &str,
    coll: &str,
    ready: mpsc::Sender<Vec<BsonDoc>>,
    go: mpsc::Receiver<()>,
    watch: Duration,
) -> Watched {
    let c = mongo::client().database(db).collection::<BsonDoc>(coll);
    let mut stream = c.watch().max_await_time(Duration::from_millis(200)).run().expect("a change stream");
    let (started, mut last) = (Instant::now(), Instant::now());
    while last.elapsed() < Duration::from_secs(2) {
        assert!(started.elapsed() < Duration::from_secs(60), "the output never went quiet");
        if stream.next_if_any().expect("change stream").is_some() {
            last = Instant::now();
        }
    }
    let all = c.find(doc! {}).sort(doc! {"_id": 1}).run().expect("find").map(|d| d.expect("doc")).collect();
    ready.send(all).expect("the test waits");
    go.recv().expect("go");
    let mut after_position = Vec::new();
    let until = Instant::now() + watch;
    while Instant::now() < until {
        if let Some(e) = stream.next_if_any().expect("change stream") {
            after_position.push(format!("{:?} {:?}", e.operation_type, e.document_key));
        }
    }
    c.insert_one(doc! {"_id": "marker"}).run().expect("the marker");
    let mut saw_marker = false;
    let until = Instant::now() + Duration::from_secs(10);
    while !saw_marker && Instant::now() < until {
        match stream.next_if_any().expect("change stream") {
            Some(e) if e.document_key.as_ref().is_some_and(|k| k.get_str("_id") == Ok("marker")) => saw_marker = true,
            Some(e) => after_position.push(format!("{:?} {:?}", e.operation_type, e.document_key)),
            None => {}
        }
    }
    Watched { after_position, saw_marker }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_stopped_past_its_lease_writes_nothing_when_it_wakes_up() {
    let mut cl = Cluster::start("cluster-fence", 3).await;
    let (c1, streams, group) = (cl.client("n1"), cl.streams(), cl.group.clone());
    kafka_mongo_workspace(&c1, &streams).await;
    let input = topic("fence").await;
    let db = mongo::unique_db("fence");
    // Each write stamps the time it was made, so a stale node writing a document again, even
    // one the new owner wrote, changes it.
    let pipeline = json!([
        {"$source": {"connectionName": "kafka", "topic": input, "config": {"auto_offset_reset": "earliest"}}},
        {"$addFields": {"at": "$$NOW"}},
        {"$merge": {"into": {"connectionName": "mongo", "db": db, "coll": "out"}}}
    ]);
    create_and_start(&c1, &streams, "f", pipeline).await;
    let key = (group.as_str(), "ws", "f");
    let (owner, _) = wait_running(&c1, key, None, Duration::from_secs(15)).await;

    // Input keeps arriving, 300 a second, before, during and after the owner's stop: when it
    // wakes up it has a backlog it has not written (and may hold fetched input it had not yet
    // written when stopped).
    let (stop, produced) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicI64::new(0)));
    let (s2, p2, t2) = (stop.clone(), produced.clone(), input.clone());
    let producer = tokio::task::spawn_blocking(move || {
        while !s2.load(Ordering::SeqCst) {
            let from = p2.load(Ordering::SeqCst);
            let values: Vec<String> = (from..from + 30).map(|n| format!(r#"{{"_id": {}}}"#, n)).collect();
            let msgs: Vec<Msg<'_>> =
                values.iter().map(|v| Msg { key: None, value: v.as_bytes(), partition: None }).collect();
            produce(&broker(), &t2, &msgs);
            p2.store(from + 30, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    eventually(30, || async { (documents(&db, "out").await.len() >= 200).then_some(()) }).await;
    cl.server(&owner).signal("STOP");
    let at_stop = produced.load(Ordering::SeqCst);
    let other = cl.ids().into_iter().find(|id| *id != owner).expect("another node");
    let c = cl.client(&other);
    let (next, _) = wait_running(&c, key, Some(&owner), TAKEOVER).await;
    stop.store(true, Ordering::SeqCst);
    producer.await.expect("the producer");
    let total = produced.load(Ordering::SeqCst);
    assert!(total >= at_stop + 300, "input arrived while the owner was stopped: {} then {}", at_stop, total);

    // The new owner writes everything.
    eventually(90, || async {
        let ids: Vec<i64> = documents(&db, "out").await.iter().filter_map(|d| int(d, "_id")).collect();
        (ids == (0..total).collect::<Vec<_>>()).then_some(())
    })
    .await;

    // The position: the output quiet for 2 s. Then the stopped owner wakes up.
    let (ready_tx, ready_rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel();
    let (d2, watch) = (db.clone(), Duration::from_secs(5));
    let watcher = tokio::task::spawn_blocking(move || watch_output(&d2, "out", ready_tx, go_rx, watch));
    let before = blocking(move || ready_rx.recv_timeout(Duration::from_secs(90)).expect("the output goes quiet")).await;
    let mut woken = cl.take(&owner);
    woken.signal("CONT");
    go_tx.send(()).expect("the watcher waits");
    let watched = watcher.await.expect("the watcher");
    assert!(watched.saw_marker, "the change stream saw the marker written after the watch");
    assert!(
        watched.after_position.is_empty(),
        "{} writes reached the output after {} lost its lease and woke up, the first: {:?}",
        watched.after_position.len(),
        owner,
        &watched.after_position[..watched.after_position.len().min(5)]
    );
    let mut after = documents(&db, "out").await;
    after.retain(|d| d.get_str("_id") != Ok("marker"));
    assert!(after == before, "the output changed after the stale owner woke up");

    // The woken node lives on, and every node, itself included, lists the processor under the
    // new owner only.
    assert!(woken.wait_exit(Duration::ZERO).is_none(), "the woken node stays up");
    eventually(15, || async {
        let v = view(&c).await;
        nodes(&v).iter().any(|n| n["id"] == owner.as_str() && n["state"] == "LIVE").then_some(())
    })
    .await;
    let woken_client = Client { base: format!("http://{}", woken.addr), ..c.clone() };
    for client in [&c1, &c, &woken_client] {
        let v = view(client).await;
        assert_eq!(running_on(&v, &group, "ws", "f"), [next.as_str()], "from {}: {}", client.base, v);
    }
    // And the processor still runs there: new input is written.
    produce_all(&input, vec![format!(r#"{{"_id": {}}}"#, total)]).await;
    eventually(30, || async { documents(&db, "out").await.iter().any(|d| int(d, "_id") == Some(total)).then_some(()) })
        .await;
    let woken_dir = woken.dir.clone();
    drop(woken);
    let _ = std::fs::remove_dir_all(woken_dir);
}

#[tokio::test]
async fn a_node_on_postgresql_without_a_checkpoint_store_refuses_to_start() {
    let url = support::postgres::fresh_database("nockpt").await;
    let dir = temp_dir("cluster-nockpt");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["serve", "--listen", "127.0.0.1:0", "--node-id", "n1", "--store", &url, "--data-dir"])
        .arg(&dir)
        .env("SLUICE_SECRET_KEY", KEY)
        .env_remove("SLUICE_CHECKPOINT_STORE")
        .env("SLUICE_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("sluice runs");
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(s) = child.try_wait().expect("try_wait") {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            let _ = std::fs::remove_dir_all(&dir);
            panic!("it started without --checkpoint-store: {}", String::from_utf8_lossy(&out.stdout));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let out = child.wait_with_output().expect("output");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!status.success(), "it must not start");
    assert!(!stdout.contains("listening on"), "{}", stdout);
    assert!(stderr.contains("--checkpoint-store"), "the message names the option: {}", stderr);
    let _ = std::fs::remove_dir_all(dir);
}
