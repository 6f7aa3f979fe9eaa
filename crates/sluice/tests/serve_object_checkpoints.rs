//! `sluice serve --checkpoint-store s3://...`: a processor's checkpoints go to an S3-protocol
//! store (the real one `scripts/test-servers.sh` starts), none to the data dir, and a server
//! killed and started again resumes the processor from them.

mod support;

use reqwest::StatusCode;
use serde_json::json;
use sluice_store::{CheckpointStore, ObjectCheckpointStore};
use support::*;

const AWS: [(&str, &str); 4] = [
    ("AWS_ALLOW_HTTP", "true"),
    ("AWS_REGION", "us-east-1"),
    ("AWS_ACCESS_KEY_ID", "test"),
    ("AWS_SECRET_ACCESS_KEY", "test"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_in_s3_carry_a_processor_over_a_crash() {
    let endpoint = std::env::var("SLUICE_TEST_S3")
        .expect("SLUICE_TEST_S3 is not set: run the tests through scripts/test.sh, which starts the S3 server");
    let url = format!("s3://sluice-test/serve-{}", std::process::id());
    let mut env: Vec<(&str, &str)> = vec![("SLUICE_CHECKPOINT_STORE", &url), ("AWS_ENDPOINT", &endpoint)];
    env.extend(AWS);
    let dir = temp_dir("s3-checkpoints");
    let server = Server::start_with_env(&dir, &env);
    let c = owner(&server, "MD5");
    let streams = sample_workspace(&c, &server).await;
    let pipeline = json!([
        {"$source": {"connectionName": "sample_stream_solar"}},
        {"$tumblingWindow": {"interval": {"size": 1, "unit": "hour"},
            "pipeline": [{"$group": {"_id": "$group_id", "n": {"$count": {}}}}]}}
    ]);
    let p = format!("{}/ws/processor/p", streams);
    let body = json!({"name": "p", "pipeline": pipeline, "options": {"checkpointIntervalMs": 200}});
    let r = c.post(&format!("{}/ws/processor", streams), &body).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let id = r.body["_id"].as_str().expect("_id").to_string();
    assert_eq!(c.post(&format!("{}:start", p), &json!({})).await.status, StatusCode::OK);
    let count = |b: &serde_json::Value, f: &str| b["stats"][f].as_u64().unwrap_or(0);
    let seen = checkpointed_input(&c, &p).await;
    server.crash();

    // They are in the object store, and nowhere in the data dir.
    let options: Vec<(String, String)> = std::iter::once(("aws_endpoint", endpoint.as_str()))
        .chain(AWS)
        .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
        .collect();
    let listed = {
        let (url, id) = (url.clone(), id.clone());
        move || ObjectCheckpointStore::open(&url, options.clone(), 3).expect("store").list(&id).expect("listed")
    };
    let kept = blocking(listed.clone()).await;
    assert!(!kept.is_empty() && kept.len() <= 3, "checkpoints in S3: {:?}", kept);
    assert!(!dir.join("checkpoints").exists(), "no checkpoint in the data dir");

    let server = Server::start_with_env(&dir, &env);
    let c = Client { base: format!("http://{}", server.addr), ..c };
    let b = c.get(&p).await.body;
    assert_eq!(b["state"], "STARTED", "{:?}", b);
    let resumed = count(&b, "inputMessageCount");
    assert!(resumed >= seen, "restarted at {} input messages, {} had been checkpointed", resumed, seen);
    assert!(count(&b, "stateSize") > 0, "the window's state came back from S3: {:?}", b);
    eventually(20, || async { (count(&c.get(&p).await.body, "inputMessageCount") > resumed).then_some(()) }).await;
    assert_eq!(c.post(&format!("{}:stop", p), &json!({})).await.status, StatusCode::OK);
    assert_eq!(c.delete(&p).await.status, StatusCode::NO_CONTENT);
    assert_eq!(blocking(listed).await, Vec::<u64>::new(), "a deleted processor's checkpoints are gone from S3");
    server.terminate();
    let _ = std::fs::remove_dir_all(dir);
}
