//! `sluice serve` with `$cachedLookup` and `$lookup` on a real MongoDB-wire server: the sample
//! solar stream enriched with each device's site from a collection, merged into another.

mod support;

#[path = "../../sluice-connectors/tests/support/mongodb.rs"]
mod mongo;

use reqwest::StatusCode;
use serde_json::json;
use sluice_mql::Value;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sample_stream_enriched_from_a_collection() {
    let db = mongo::unique_db("sites");
    let d2 = db.clone();
    blocking(move || {
        let devices: Vec<String> =
            (0..10).map(|i| format!(r#"{{"_id": "device_{}", "site": "site-{}"}}"#, i, i % 3)).collect();
        mongo::insert(&d2, "devices", &devices.iter().map(String::as_str).collect::<Vec<_>>());
    })
    .await;

    let dir = temp_dir("lookup");
    let server = Server::start(&dir);
    let c = owner(&server, "MD5");
    let ws = sample_workspace(&c, &server).await;
    let r = c
        .post(
            &format!("{}/ws/connections", ws),
            &json!({"name": "mongo", "type": "Cluster", "connectionString": mongo::uri()}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);

    // $cachedLookup refuses a pipeline, naming it, at creation.
    let bad = json!({"name": "bad", "pipeline": [{"$source": {"connectionName": "sample_stream_solar"}},
        {"$cachedLookup": {"from": {"connectionName": "mongo", "db": db, "coll": "devices"},
            "localField": "device_id", "foreignField": "_id", "as": "d", "ttl": {"size": 1, "unit": "minute"},
            "pipeline": []}}]});
    let r = c.post(&format!("{}/ws/processor", ws), &bad).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);
    assert!(r.body["detail"].as_str().unwrap_or("").contains("pipeline"), "{:?}", r.body);

    let pipeline = json!([
        {"$source": {"connectionName": "sample_stream_solar"}},
        {"$cachedLookup": {"from": {"connectionName": "mongo", "db": db, "coll": "devices"},
            "localField": "device_id", "foreignField": "_id", "as": "device",
            "ttl": {"size": 1, "unit": "minute"}, "maxMemUsageBytes": 1048576}},
        {"$lookup": {"from": {"connectionName": "mongo", "db": db, "coll": "devices"},
            "let": {"site": {"$first": "$device.site"}},
            "pipeline": [{"$match": {"$expr": {"$eq": ["$site", "$$site"]}}}, {"$count": "n"}],
            "as": "sameSite"}},
        {"$project": {"_id": "$device_id", "site": {"$first": "$device.site"},
            "peers": {"$first": "$sameSite.n"}}},
        {"$merge": {"into": {"connectionName": "mongo", "db": db, "coll": "enriched"}}}
    ]);
    let r = c.post(&format!("{}/ws/processor", ws), &json!({"name": "sites", "pipeline": pipeline})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let p = format!("{}/ws/processor/sites", ws);
    assert_eq!(c.post(&format!("{}:start", p), &json!({})).await.status, StatusCode::OK);

    let docs = eventually(30, || {
        let db = db.clone();
        async move {
            let docs = blocking(move || mongo::all(&db, "enriched")).await;
            (docs.len() >= 3).then_some(docs)
        }
    })
    .await;
    for d in &docs {
        let id = d.get("_id").and_then(Value::as_str).expect("device id");
        let n: i32 = id.trim_start_matches("device_").parse().expect("device number");
        assert_eq!(d.get("site"), Some(&Value::str(&format!("site-{}", n % 3))), "{:?}", d);
        // Sites 0 has devices 0, 3, 6, 9; sites 1 and 2 have three each.
        let peers = if n % 3 == 0 { 4 } else { 3 };
        assert_eq!(d.get("peers").and_then(Value::as_exact_i64), Some(peers), "{:?}", d);
    }
    let b = c.get(&p).await.body;
    assert_eq!(b["state"], "STARTED", "{:?}", b);
    assert_eq!(b["stats"]["dlqMessageCount"].as_u64().unwrap_or(0), 0, "{:?}", b);
    server.terminate();
    let _ = std::fs::remove_dir_all(dir);
}
