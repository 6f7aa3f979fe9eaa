//! Several nodes (issue 20): every lifecycle call sent to a node that does not run the processor
//! reaches the node that does and answers as it would there: Sluice `:pause` and `:resume`
//! (the paused run stays in its owner's memory, so it resumes on the same node), the EnOS action
//! endpoint with its own refusals, and DELETE. Needs scripts/test-servers.sh's PostgreSQL.

mod support;

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use support::cluster::*;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_resume_enos_actions_and_delete_reach_the_owner_from_any_node() {
    let cl = Cluster::start("routing", 2).await;
    let (c1, streams, group) = (cl.client("n1"), cl.streams(), cl.group.clone());
    let ws = json!({"name": "ws", "dataProcessRegion": {"cloudProvider": "AWS", "region": "VIRGINIA_USA"},
        "sampleConnections": {"solar": true}});
    assert_eq!(c1.post(&streams, &ws).await.status, StatusCode::OK);
    let body = json!({"name": "p", "pipeline": [{"$source": {"connectionName": "sample_stream_solar"}}]});
    assert_eq!(c1.post(&format!("{}/ws/processor", streams), &body).await.status, StatusCode::OK);
    let p = format!("{}/ws/processor/p", streams);
    assert_eq!(c1.post(&format!("{}:start", p), &json!({})).await.status, StatusCode::OK);
    let (owner, _) = wait_running(&c1, (&group, "ws", "p"), None, Duration::from_secs(15)).await;
    let other = if owner == "n1" { "n2" } else { "n1" };
    let (co, cx) = (cl.client(&owner), cl.client(other));

    // Pause through the other node: the owner's run pauses and keeps its lease.
    let r = cx.post(&format!("{}:pause", p), &json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(co.get(&p).await.body["state"], "PAUSED");
    assert_eq!(cx.get(&p).await.body["state"], "PAUSED");
    let v = view(&cx).await;
    assert_eq!(running_on(&v, &group, "ws", "p"), std::slice::from_ref(&owner), "still the owner's: {}", v);
    let paused_at = co.get(&p).await.body["stats"]["inputMessageCount"].as_u64().expect("a count");
    // A refusal from the owner comes back whole.
    let r = cx.post(&format!("{}:pause", p), &json!({})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);
    assert!(r.body["detail"].as_str().unwrap_or_default().contains("cannot be changed from [PAUSED]"), "{:?}", r.body);

    // Resume through the other node: the same run reads again, on the same node.
    let r = cx.post(&format!("{}:resume", p), &json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(co.get(&p).await.body["state"], "STARTED");
    assert_eq!(running_on(&view(&c1).await, &group, "ws", "p"), std::slice::from_ref(&owner));
    eventually(15, || async {
        let n = co.get(&p).await.body["stats"]["inputMessageCount"].as_u64().unwrap_or(0);
        (n > paused_at).then_some(())
    })
    .await;

    // The EnOS endpoint through the other node, with EnOS's answers.
    let id = cx.get(&p).await.body["_id"].as_str().expect("an id").to_string();
    let act = |a: &str| format!("/streaming/v2.0/streaming/pipeline/{}?action={}&orgId={}", id, a, group);
    let ok = json!({"code": 0, "msg": "OK", "data": ""});
    assert_eq!(cx.post(&act("pause"), &json!({})).await.body, ok);
    assert_eq!(co.get(&p).await.body["state"], "PAUSED");
    assert_eq!(cx.post(&act("stop"), &json!({})).await.body, ok);
    assert_eq!(co.get(&p).await.body["state"], "STOPPED");
    assert!(running_on(&view(&co).await, &group, "ws", "p").is_empty(), "stopped: no node runs it");
    let refused = json!({"code": 61152, "data": null,
        "msg": "Status of the stream processing job cannot be changed from [STOPPED] to Paused."});
    assert_eq!(cx.post(&act("pause"), &json!({})).await.body, refused);

    // Start again through the other node, then delete through the node that does not run it.
    assert_eq!(cx.post(&act("start"), &json!({})).await.body, ok);
    let (owner, _) = wait_running(&c1, (&group, "ws", "p"), None, Duration::from_secs(15)).await;
    let other = if owner == "n1" { "n2" } else { "n1" };
    let r = cl.client(other).delete(&p).await;
    assert!(r.status.is_success(), "{:?} {:?}", r.status, r.body);
    for id in ["n1", "n2"] {
        assert_eq!(cl.client(id).get(&p).await.status, StatusCode::NOT_FOUND, "deleted, as {} sees it", id);
    }
    assert!(running_on(&view(&c1).await, &group, "ws", "p").is_empty());
}
