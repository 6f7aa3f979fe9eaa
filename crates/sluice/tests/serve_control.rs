//! `sluice serve` keeps a processor's place: pause and resume through Atlas-style actions and the
//! EnOS pipeline API (refusals included, in both APIs' shapes), and a SIGKILL of the server
//! loses nothing that was checkpointed.

mod support;

use reqwest::StatusCode;
use serde_json::{json, Value as Json};
use support::*;

fn window_pipeline() -> Json {
    json!([
        {"$source": {"connectionName": "sample_stream_solar"}},
        {"$tumblingWindow": {"interval": {"size": 1, "unit": "hour"},
            "pipeline": [{"$group": {"_id": "$group_id", "n": {"$count": {}}}}]}}
    ])
}

/// A workspace `ws1` with the solar sample and a processor `p1` on it; the processor's path.
async fn setup(c: &Client, group: &str, options: Json) -> String {
    let ws = format!("/api/atlas/v2/groups/{}/streams", group);
    let r = c
        .post(
            &ws,
            &json!({"name": "ws1", "dataProcessRegion": {"cloudProvider": "AWS", "region": "VIRGINIA_USA"},
                "sampleConnections": {"solar": true}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let r = c
        .post(
            &format!("{}/ws1/processor", ws),
            &json!({"name": "p1", "pipeline": window_pipeline(), "options": options}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    format!("{}/ws1/processor/p1", ws)
}

fn count(body: &Json, field: &str) -> u64 {
    body["stats"][field].as_u64().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_and_resume_through_atlas_style_actions() {
    let dir = temp_dir("pause");
    let server = Server::start(&dir);
    let c = owner(&server, "SHA-256");
    let p = setup(&c, &server.banner_value("groupId"), json!({})).await;

    let r = c.post(&format!("{}:pause", p), &json!({})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);
    assert_eq!(r.body["errorCode"], "STREAM_PROCESSOR_GENERIC_ERROR");
    assert!(r.body["detail"].as_str().unwrap().contains("status cannot be changed from [CREATED] to Paused"));

    assert_eq!(c.post(&format!("{}:start", p), &json!({})).await.status, StatusCode::OK);
    eventually(20, || async { (count(&c.get(&p).await.body, "inputMessageCount") >= 3).then_some(()) }).await;
    let r = c.post(&format!("{}:pause", p), &json!({})).await;
    assert_eq!((r.status, r.body.clone()), (StatusCode::OK, json!({})));
    let paused = c.get(&p).await.body;
    assert_eq!(paused["state"], "PAUSED");
    assert!(paused["stats"]["lastCheckpoint"]["id"].as_u64().is_some(), "a pause checkpoints: {:?}", paused);
    let r = c.post(&format!("{}:resume", p), &json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let at_resume = count(&paused, "inputMessageCount");
    eventually(20, || async {
        let b = c.get(&p).await.body;
        (b["state"] == "STARTED" && count(&b, "inputMessageCount") > at_resume).then_some(())
    })
    .await;
    let r = c.post(&format!("{}:resume", p), &json!({})).await;
    assert!(r.body["detail"].as_str().unwrap().contains("status cannot be changed from [STARTED] to Resumed"));

    // A read-only key may look but not pause.
    let group = server.banner_value("groupId");
    let ro = cli(&server.dir, &["keys", "create", "--project", &group, "--role", "GROUP_READ_ONLY"]);
    let ro = Client::new(
        &server,
        Auth::Digest { user: line_value(&ro, "publicKey"), password: line_value(&ro, "privateKey"), algorithm: "MD5" },
    );
    let r = ro.post(&format!("{}:pause", p), &json!({})).await;
    assert_eq!((r.status, r.body["errorCode"].clone()), (StatusCode::FORBIDDEN, json!("USER_UNAUTHORIZED")));
    server.terminate();
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_enos_pipeline_api_answers_in_enos_shape() {
    let dir = temp_dir("enos");
    let server = Server::start(&dir);
    let c = owner(&server, "MD5");
    let group = server.banner_value("groupId");
    let p = setup(&c, &group, json!({})).await;
    let id = c.get(&p).await.body["_id"].as_str().unwrap().to_string();
    let act = |action: &str| format!("/streaming/v2.0/streaming/pipeline/{}?action={}&orgId={}", id, action, group);
    let refused = |from: &str, to: &str| {
        json!({"code": 61152, "data": null,
            "msg": format!("Status of the stream processing job cannot be changed from [{}] to {}.", from, to)})
    };
    let ok = json!({"code": 0, "msg": "OK", "data": ""});

    let one = format!("/streaming/v2.0/streaming/pipeline/{}?orgId={}", id, group);
    let r = c.get(&one).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!((r.body["code"].clone(), r.body["msg"].clone()), (json!(0), json!("OK")));
    assert_eq!(r.body["data"]["pipelineId"], json!(id));
    assert_eq!(r.body["data"]["pipelineName"], "p1");
    assert_eq!(r.body["data"]["status"], "PUBLISHED");
    assert_eq!(r.body["data"]["pipelineJson"]["pipeline"], window_pipeline());

    assert_eq!(c.post(&act("pause"), &json!({})).await.body, refused("PUBLISHED", "Paused"));
    assert_eq!(c.post(&act("start"), &json!({})).await.body, ok);
    assert_eq!(c.get(&one).await.body["data"]["status"], "RUNNING");
    assert_eq!(c.post(&act("start"), &json!({})).await.body, refused("RUNNING", "Started"));
    assert_eq!(c.post(&act("resume"), &json!({})).await.body, refused("RUNNING", "Resumed"));
    let r = c.post(&act("pause"), &json!({})).await;
    assert_eq!((r.status, r.body), (StatusCode::OK, ok.clone()));
    assert_eq!(c.get(&p).await.body["state"], "PAUSED", "the Atlas view agrees");
    assert_eq!(c.post(&act("pause"), &json!({})).await.body, refused("PAUSED", "Paused"));
    assert_eq!(c.post(&act("resume"), &json!({})).await.body, ok);
    assert_eq!(c.post(&act("stop"), &json!({})).await.body, ok);
    // Seed 004's example refusal.
    assert_eq!(c.post(&act("pause"), &json!({})).await.body, refused("STOPPED", "Paused"));
    assert_eq!(c.post(&act("stop"), &json!({})).await.body, refused("STOPPED", "Stopped"));

    let missing = json!({"code": 61108, "msg": "Stream processing job does not exit.", "data": null});
    let nowhere = format!("/streaming/v2.0/streaming/pipeline/{}?action=pause&orgId={}", "0".repeat(24), group);
    assert_eq!(c.post(&nowhere, &json!({})).await.body, missing);
    // Another organization's id finds nothing, whether it exists or not.
    let other = line_value(&cli(&server.dir, &["projects", "create", "--name", "other"]), "groupId");
    let elsewhere = format!("/streaming/v2.0/streaming/pipeline/{}?action=pause&orgId={}", id, other);
    assert_eq!(c.post(&elsewhere, &json!({})).await.body, missing);
    let r = c.post(&format!("/streaming/v2.0/streaming/pipeline/{}?action=pause", id), &json!({})).await;
    assert_eq!((r.status, r.body["msg"].clone()), (StatusCode::BAD_REQUEST, json!("orgId is required")));
    let r = c.post(&act("explode"), &json!({})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    let list = c.get(&format!("/streaming/v2.0/streaming/pipelines?orgId={}", group)).await;
    assert_eq!(list.body["code"], 0);
    assert_eq!(list.body["data"]["count"], 1);
    assert_eq!(list.body["data"]["pipelines"][0]["pipelineId"], json!(id));
    assert_eq!(list.body["data"]["pipelines"][0]["status"], "STOPPED");
    assert_eq!(list.body["data"]["pipelines"][0]["orgId"], json!(group));
    let page2 = c.get(&format!("/streaming/v2.0/streaming/pipelines?orgId={}&pageNo=2", group)).await;
    assert_eq!(page2.body["data"], json!({"count": 1, "pipelines": []}));

    // Without credentials: a Digest challenge, as on every route.
    let anon = Client::new(&server, Auth::None);
    assert_eq!(anon.post(&act("pause"), &json!({})).await.status, StatusCode::UNAUTHORIZED);
    server.terminate();
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_resumes_its_processors_from_their_last_checkpoint() {
    let dir = temp_dir("kill");
    let server = Server::start(&dir);
    let c = owner(&server, "MD5");
    let p = setup(&c, &server.banner_value("groupId"), json!({"checkpointIntervalMs": 200})).await;
    assert_eq!(c.post(&format!("{}:start", p), &json!({})).await.status, StatusCode::OK);
    let seen = checkpointed_input(&c, &p).await;
    server.crash();

    let server = Server::start(&dir);
    let c = Client { base: format!("http://{}", server.addr), ..c };
    let b = c.get(&p).await.body;
    assert_eq!(b["state"], "STARTED", "{:?}", b);
    let resumed = count(&b, "inputMessageCount");
    assert!(resumed >= seen, "restarted at {} input messages, {} had been checkpointed", resumed, seen);
    assert!(count(&b, "stateSize") > 0, "the window's state was not restored: {:?}", b);
    eventually(20, || async { (count(&c.get(&p).await.body, "inputMessageCount") > resumed).then_some(()) }).await;
    server.terminate();
    let _ = std::fs::remove_dir_all(dir);
}
