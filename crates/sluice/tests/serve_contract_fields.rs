//! Fields the contract declares are accepted, not refused as unknown attributes: a processor's
//! `tier` and `failoverEnabled` on create and update, `failover` on `:startWith`, a workspace's
//! `failoverRegions`. What a single-region server cannot honour (enabling failover, a failover
//! region) is refused naming the field and why.

mod support;

use reqwest::StatusCode;
use serde_json::json;
use support::*;

fn solar() -> serde_json::Value {
    json!([{"$source": {"connectionName": "sample_stream_solar"}}, {"$match": {"obs.watts": {"$gte": 0}}}])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declared_fields_are_accepted_and_failover_is_refused_naming_the_field() {
    let dir = temp_dir("contract-fields");
    let server = Server::start(&dir);
    let c = owner(&server, "MD5");
    let streams = sample_workspace(&c, &server).await;
    let processors = format!("{}/ws/processor", streams);

    let r =
        c.post(&processors, &json!({"name": "p", "pipeline": solar(), "tier": "SP30", "failoverEnabled": false})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["tier"], "SP30", "{:?}", r.body);
    assert_eq!(c.get(&format!("{}/p", processors)).await.body["tier"], "SP30");

    let r = c.patch(&format!("{}/p", processors), &json!({"tier": "SP5", "failoverEnabled": false})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["tier"], "SP5", "{:?}", r.body);

    for (path, body) in [
        (processors.clone(), json!({"name": "q", "pipeline": solar(), "failoverEnabled": true})),
        (format!("{}/p", processors), json!({"failoverEnabled": true})),
    ] {
        let r = if path.ends_with("/p") { c.patch(&path, &body).await } else { c.post(&path, &body).await };
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);
        assert_eq!(r.body["errorCode"], "INVALID_ATTRIBUTE", "{:?}", r.body);
        assert_eq!(r.body["parameters"], json!(["failoverEnabled"]), "{:?}", r.body);
    }
    let r = c.post(&format!("{}/p:startWith", processors), &json!({"failover": {"mode": "GRACEFUL"}})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);
    assert_eq!(r.body["parameters"], json!(["failover"]), "{:?}", r.body);
    let r = c.post(&format!("{}/p:startWith", processors), &json!({"failover": {"mode": "SOMETIMES"}})).await;
    assert_eq!(r.body["errorCode"], "INVALID_ENUM_VALUE", "{:?}", r.body);

    let region = json!({"cloudProvider": "AWS", "region": "VIRGINIA_USA"});
    let r = c.post(&streams, &json!({"name": "ws2", "dataProcessRegion": region, "failoverRegions": []})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let r = c.post(&streams, &json!({"name": "ws3", "dataProcessRegion": region, "failoverRegions": [region]})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);
    assert_eq!(r.body["parameters"], json!(["failoverRegions"]), "{:?}", r.body);
    let r = c.patch(&format!("{}/ws2", streams), &json!({"failoverRegions": []})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let r = c.patch(&format!("{}/ws2", streams), &json!({"failoverRegions": [region]})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);

    // The contract requires a body for PATCH: an empty one is refused, not read as an empty
    // change; a create without one names its first missing attribute; `:start` takes none.
    for path in [
        format!("{}/ws2", streams),
        format!("{}/p", processors),
        format!("{}/ws/connections/sample_stream_solar", streams),
    ] {
        let r = c.call(reqwest::Method::PATCH, &path, None).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}: {:?}", path, r.body);
        assert_eq!(r.body["errorCode"], "INVALID_JSON", "{}: {:?}", path, r.body);
    }
    let r = c.call(reqwest::Method::POST, &processors, None).await;
    assert_eq!(r.body["errorCode"], "MISSING_ATTRIBUTE", "{:?}", r.body);
    let r = c.call(reqwest::Method::POST, &format!("{}/p:start", processors), None).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    server.terminate();
}
