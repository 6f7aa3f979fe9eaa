//! Request bodies are checked against the contract's schemas before anything is stored: a
//! value of the wrong type, or an attribute the type does not declare, is Atlas's 400 naming
//! the attribute, and nothing changes. So every later read still matches the contract. Query
//! flags the contract declares boolean take only booleans.

mod support;

use reqwest::StatusCode;
use serde_json::{json, Value as Json};
use support::contract::Contract;
use support::*;

fn assert_refused(r: &Reply, code: &str, field: &str) {
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);
    assert_eq!(r.body["errorCode"], code, "{:?}", r.body);
    assert_eq!(r.body["badRequestDetail"]["fields"][0]["field"], field, "{:?}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_outside_the_contract_are_refused_before_they_are_stored() {
    let dir = temp_dir("request-schema");
    let server = Server::start(&dir);
    let c = owner(&server, "MD5");
    let contract = Contract::load();
    let streams = sample_workspace(&c, &server).await;

    // Private Link: a PATCH of `dnsDomain` with an object is refused, and the record keeps its
    // domain.
    let links = format!("{}/privateLinkConnections", streams);
    let r = c
        .post(
            &links,
            &json!({"provider": "AWS", "vendor": "CONFLUENT", "region": "us-east-1",
        "dnsDomain": "a.example", "dnsSubDomain": []}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let link = format!("{}/{}", links, r.body["_id"].as_str().expect("_id"));
    let r = c.patch(&link, &json!({"dnsDomain": {}})).await;
    assert_refused(&r, "INVALID_ATTRIBUTE", "dnsDomain");
    assert_eq!(r.body["parameters"], json!(["dnsDomain"]), "{:?}", r.body);
    let r = c.patch(&link, &json!({"dnsSubDomain": "not-a-list"})).await;
    assert_refused(&r, "INVALID_ATTRIBUTE", "dnsSubDomain");
    let r = c.get(&link).await;
    assert_eq!(r.body["dnsDomain"], "a.example", "{:?}", r.body);
    contract.assert_valid("getGroupStreamPrivateLinkConnection", &r);
    let r = c.patch(&link, &json!({"dnsDomain": "b.example"})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    contract.assert_valid("updateGroupStreamPrivateLinkConnection", &r);
    let r = c.post(&links, &json!({"provider": "AWS", "azureResourceIds": [{"nested": true}]})).await;
    assert_refused(&r, "INVALID_ATTRIBUTE", "azureResourceIds.0");

    // Failover connections of a Kafka connection: nested values of the wrong type are refused
    // on create and on update.
    let conns = format!("{}/ws/connections", streams);
    let kafka = json!({"name": "k", "type": "Kafka", "bootstrapServers": "127.0.0.1:9092"});
    assert_eq!(c.post(&conns, &kafka).await.status, StatusCode::OK);
    let failovers = format!("{}/k/failoverConnections", conns);
    let bad = json!({"type": "Kafka", "region": "OHIO_USA", "bootstrapServers": "b:9092",
        "security": {"protocol": {"deep": [1, {"x": null}]}}});
    assert_refused(&c.post(&failovers, &bad).await, "INVALID_ATTRIBUTE", "security.protocol");
    let bad = json!({"type": "Kafka", "region": "OHIO_USA", "bootstrapServers": "b:9092", "config": {"a": {"b": 1}}});
    assert_refused(&c.post(&failovers, &bad).await, "INVALID_ATTRIBUTE", "config.a");
    let good = json!({"type": "Kafka", "region": "OHIO_USA", "bootstrapServers": "b:9092", "config": {"a": "1"}});
    let r = c.post(&failovers, &good).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let failover = format!("{}/{}", failovers, r.body["id"].as_str().expect("id"));
    let r = c.patch(&failover, &json!({"networking": {"access": {"type": ["PUBLIC"]}}})).await;
    assert_refused(&r, "INVALID_ATTRIBUTE", "networking.access.type");
    let r = c.patch(&failover, &json!({"authentication": {"mechanism": 5}})).await;
    assert_refused(&r, "INVALID_ATTRIBUTE", "authentication.mechanism");
    let r = c.get(&failovers).await;
    assert_eq!(r.body["results"].as_array().map(Vec::len), Some(1), "{:?}", r.body);
    contract.assert_valid("listGroupStreamConnectionFailoverConnections", &r);

    // Schema Registry connections (stored, not run): undeclared attributes and nested values
    // of the wrong type are refused; a declared one is stored and read back within the contract.
    let registry = |extra: Json| {
        let mut b = json!({"name": "sr", "type": "SchemaRegistry", "provider": "CONFLUENT",
            "schemaRegistryUrls": ["https://registry.example:8081"],
            "schemaRegistryAuthentication": {"type": "USER_INFO", "username": "u", "password": "p"}});
        if let (Some(m), Json::Object(e)) = (b.as_object_mut(), extra) {
            m.extend(e);
        }
        b
    };
    assert_refused(
        &c.post(&conns, &registry(json!({"whatever": {"a": [1]}}))).await,
        "INVALID_JSON_ATTRIBUTE",
        "whatever",
    );
    let r = c
        .post(
            &conns,
            &registry(json!({"schemaRegistryAuthentication": {"type": "USER_INFO", "username": 7, "password": "p"}})),
        )
        .await;
    assert_refused(&r, "INVALID_ATTRIBUTE", "schemaRegistryAuthentication.username");
    let r = c.post(&conns, &registry(json!({"schemaRegistryUrls": "https://registry.example"}))).await;
    assert_refused(&r, "INVALID_ATTRIBUTE", "schemaRegistryUrls");
    let r = c.post(&conns, &registry(json!({"provider": "SOMEONE"}))).await;
    assert_refused(&r, "INVALID_ENUM_VALUE", "provider");
    let r = c.post(&conns, &json!({"name": "sr", "type": "SchemaRegistry"})).await;
    assert_eq!(r.body["errorCode"], "MISSING_ATTRIBUTE", "{:?}", r.body);
    let r = c.post(&conns, &registry(json!({}))).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    contract.assert_valid("createGroupStreamConnection", &r);
    let r = c.patch(&format!("{}/sr", conns), &json!({"schemaRegistryUrls": [{"url": "x"}]})).await;
    assert_refused(&r, "INVALID_ATTRIBUTE", "schemaRegistryUrls.0");
    let r = c.get(&format!("{}/sr", conns)).await;
    contract.assert_valid("getGroupStreamConnection", &r);
    assert_eq!(r.body["schemaRegistryUrls"], json!(["https://registry.example:8081"]), "{:?}", r.body);
    let r = c.get(&format!("{}/ws", streams)).await;
    contract.assert_valid("getGroupStreamWorkspace", &r);

    // Processors and workspaces: values of the wrong type inside declared objects.
    let processors = format!("{}/ws/processor", streams);
    let pipeline = json!([{"$source": {"connectionName": "sample_stream_solar"}}]);
    let r = c
        .post(&processors, &json!({"name": "p", "pipeline": pipeline, "options": {"dlq": {"connectionName": 1}}}))
        .await;
    assert_refused(&r, "INVALID_ATTRIBUTE", "options.dlq.connectionName");
    // A stage's value need not be an object, whatever the contract's `Document` says.
    let pipeline = json!([{"$source": {"connectionName": "sample_stream_solar"}}, {"$unset": "obs"}]);
    let r = c.post(&processors, &json!({"name": "p", "pipeline": pipeline})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let r = c.patch(&format!("{}/ws", streams), &json!({"streamConfig": {"tier": 30}})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);

    // Query flags the contract declares boolean are booleans.
    for query in ["includeConnections=maybe", "pretty=1", "envelope=yes"] {
        let r = c.get(&format!("{}/ws?{}", streams, query)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}: {:?}", query, r.body);
        assert_eq!(r.body["errorCode"], "INVALID_QUERY_PARAMETER", "{}: {:?}", query, r.body);
    }
    let r = c.get(&format!("{}/ws?includeConnections=FALSE", streams)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert!(r.body.get("connections").is_none(), "{:?}", r.body);
    server.terminate();
    let _ = std::fs::remove_dir_all(dir);
}
