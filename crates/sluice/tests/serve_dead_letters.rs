//! The last dead letters of a processor whose `options.dlq` names a MongoDB collection are read
//! from that collection (`GET .../processor/{name}/dlq`, which the console shows), also once
//! the processor has stopped.

mod support;

#[path = "../../sluice-connectors/tests/support/mongodb.rs"]
mod mongo;

use reqwest::StatusCode;
use serde_json::json;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_in_a_collection_are_listed_newest_last() {
    let server = Server::start(&temp_dir("dlq-collection"));
    let c = owner(&server, "SHA-256");
    let streams = sample_workspace(&c, &server).await;
    let conn = json!({"name": "mongo", "type": "Cluster", "connectionString": mongo::uri()});
    assert_eq!(c.post(&format!("{}/ws/connections", streams), &conn).await.status, StatusCode::OK);
    let db = mongo::unique_db("dlq");
    let pipeline = json!([
        {"$source": {"connectionName": "sample_stream_solar"}},
        {"$addFields": {"ratio": {"$divide": ["$obs.watts", 0]}}}
    ]);
    let options = json!({"dlq": {"connectionName": "mongo", "db": db, "coll": "dead"}});
    let body = json!({"name": "bad", "pipeline": pipeline, "options": options});
    assert_eq!(c.post(&format!("{}/ws/processor", streams), &body).await.status, StatusCode::OK);
    let p = format!("{}/ws/processor/bad", streams);
    assert_eq!(c.get(&format!("{}/dlq", p)).await.body["results"], json!([]), "an empty collection");

    assert_eq!(c.post(&format!("{}:start", p), &json!({})).await.status, StatusCode::OK);
    let d = db.clone();
    eventually(30, || {
        let d = d.clone();
        async move { (blocking(move || mongo::all(&d, "dead")).await.len() >= 3).then_some(()) }
    })
    .await;
    assert_eq!(c.post(&format!("{}:stop", p), &json!({})).await.status, StatusCode::OK);

    let stored = blocking(move || mongo::all(&db, "dead")).await;
    let listed = c.get(&format!("{}/dlq?limit=2", p)).await.body;
    assert_eq!(listed["totalCount"], 2, "{}", listed);
    let record = &listed["results"][1];
    assert_eq!(record["processorName"], "bad", "{}", listed);
    assert!(record["errInfo"]["reason"].as_str().is_some_and(|r| r.contains("divide")), "{}", listed);
    // The newest two, oldest first: the collection's last two by insertion.
    let newest: Vec<String> = stored[stored.len() - 2..]
        .iter()
        .map(|d| match d.get("_id") {
            Some(sluice_mql::Value::ObjectId(id)) => id.to_hex(),
            other => panic!("a dead letter's _id is an ObjectId: {:?}", other),
        })
        .collect();
    let shown: Vec<String> =
        listed["results"].as_array().unwrap().iter().map(|r| r["_id"]["$oid"].as_str().unwrap().to_string()).collect();
    assert_eq!(shown, newest, "{}", listed);
    server.terminate();
}
