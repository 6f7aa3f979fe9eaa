//! Every kind of response the server gives, validated against the contract's JSON schema for
//! the operation and status (with `SOURCE.md`'s three exceptions): workspaces, connections of
//! each runnable type, processors through their lifecycle, account details, and error bodies.

mod support;

use reqwest::StatusCode;
use serde_json::json;
use support::contract::Contract;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_match_the_contracts_schemas() {
    let contract = Contract::load();
    let dir = temp_dir("contract");
    let server = Server::start(&dir);
    let group = server.banner_value("groupId");
    let c = owner(&server, "MD5");
    let streams = format!("/api/atlas/v2/groups/{}/streams", group);
    let check = |op: &str, r: &Reply, status: StatusCode| {
        assert_eq!(r.status, status, "{}: {:?}", op, r.body);
        contract.assert_valid(op, r);
    };
    let region = json!({"cloudProvider": "AWS", "region": "VIRGINIA_USA"});

    // Workspaces.
    let r = c
        .post(&streams, &json!({"name": "ws", "dataProcessRegion": region, "sampleConnections": {"solar": true}}))
        .await;
    check("createGroupStreamWorkspace", &r, StatusCode::OK);
    check("getGroupStreamWorkspace", &c.get(&format!("{}/ws", streams)).await, StatusCode::OK);
    check("listGroupStreamWorkspaces", &c.get(&streams).await, StatusCode::OK);
    let mut samples = c.clone();
    samples.accept = "application/vnd.atlas.2024-08-05+json".into();
    let r = samples
        .post(&format!("{}:withSampleConnections", streams), &json!({"name": "ws2", "dataProcessRegion": region}))
        .await;
    check("withGroupStreamSampleConnections", &r, StatusCode::OK);
    let r = c.patch(&format!("{}/ws2", streams), &json!({"cloudProvider": "AWS", "region": "VIRGINIA_USA"})).await;
    check("updateGroupStreamWorkspace", &r, StatusCode::OK);

    // Networking, with its self-hosted meaning.
    let mut v2024_11 = c.clone();
    v2024_11.accept = "application/vnd.atlas.2024-11-13+json".into();
    let r = v2024_11.get(&format!("{}/accountDetails?cloudProvider=aws&regionName=US_EAST_1", streams)).await;
    check("getGroupStreamAccountDetails", &r, StatusCode::OK);
    assert_eq!(r.body["cloudProvider"], "aws");
    let links = format!("{}/privateLinkConnections", streams);
    let r = c.post(&links, &json!({"provider": "AWS", "vendor": "CONFLUENT", "region": "us-east-1",
        "serviceEndpointId": "com.amazonaws.vpce.us-east-1.vpce-svc-1", "dnsDomain": "kafka.example.test", "dnsSubDomain": []})).await;
    check("createGroupStreamPrivateLinkConnection", &r, StatusCode::OK);
    assert_eq!(r.body["state"], "DONE");
    let id = r.body["_id"].as_str().expect("_id").to_string();
    check("getGroupStreamPrivateLinkConnection", &c.get(&format!("{}/{}", links, id)).await, StatusCode::OK);
    check("listGroupStreamPrivateLinkConnections", &c.get(&links).await, StatusCode::OK);
    let mut v2025 = c.clone();
    v2025.accept = "application/vnd.atlas.2025-03-12+json".into();
    let r = v2025.patch(&format!("{}/{}", links, id), &json!({"dnsDomain": "kafka2.example.test"})).await;
    check("updateGroupStreamPrivateLinkConnection", &r, StatusCode::OK);
    assert_eq!(r.body["dnsDomain"], "kafka2.example.test");
    check(
        "createGroupStreamPrivateLinkConnection",
        &c.post(&links, &json!({"vendor": "MSK"})).await,
        StatusCode::BAD_REQUEST,
    );
    assert_eq!(c.delete(&format!("{}/{}", links, id)).await.status, StatusCode::ACCEPTED);
    check("getGroupStreamPrivateLinkConnection", &c.get(&format!("{}/{}", links, id)).await, StatusCode::NOT_FOUND);
    let r = c.get(&format!("{}/vpcPeeringConnections", streams)).await;
    check("listGroupStreamVpcPeeringConnections", &r, StatusCode::OK);
    assert_eq!(r.body["results"], json!([]), "no peering requests reach a self-hosted server");
    check(
        "listGroupStreamActiveVpcPeeringConnections",
        &v2024_11.get(&format!("{}/activeVpcPeeringConnections", streams)).await,
        StatusCode::OK,
    );
    let r = c.post(&format!("{}/vpcPeeringConnections/6b0ee41e26c10c888188d3fc:accept", streams), &json!({})).await;
    check("acceptGroupStreamVpcPeeringConnection", &r, StatusCode::NOT_FOUND);

    // Connections of each type Sluice runs.
    let conns = format!("{}/ws/connections", streams);
    for body in [
        json!({"name": "kafka", "type": "Kafka", "bootstrapServers": "127.0.0.1:9092",
            "authentication": {"mechanism": "SCRAM-256", "username": "u", "password": "p"},
            "security": {"protocol": "SASL_SSL"}}),
        json!({"name": "mongo", "type": "Cluster", "clusterName": "c0", "dbRoleToExecute": {"role": "readWriteAnyDatabase", "type": "BUILT_IN"}}),
        json!({"name": "api", "type": "Https", "url": "https://example.test/v1", "headers": {"Authorization": "Bearer x"}}),
    ] {
        check("createGroupStreamConnection", &c.post(&conns, &body).await, StatusCode::OK);
    }
    check("getGroupStreamConnection", &c.get(&format!("{}/kafka", conns)).await, StatusCode::OK);
    check("getGroupStreamConnection", &c.get(&format!("{}/sample_stream_solar", conns)).await, StatusCode::OK);
    check("listGroupStreamConnections", &c.get(&conns).await, StatusCode::OK);
    let r = c
        .patch(&format!("{}/api", conns), &json!({"name": "api", "type": "Https", "url": "https://example.test/v2"}))
        .await;
    check("updateGroupStreamConnection", &r, StatusCode::OK);

    // Failover connections of a connection (kept as declared: one region, no failover here).
    let mut v2025f = c.clone();
    v2025f.accept = "application/vnd.atlas.2025-03-12+json".into();
    let failovers = format!("{}/kafka/failoverConnections", conns);
    let r = v2025f
        .post(
            &failovers,
            &json!({"type": "Kafka", "region": "US_WEST_2", "bootstrapServers": "127.0.0.2:9092",
            "authentication": {"mechanism": "PLAIN", "username": "u", "password": "fo-s3cret"}}),
        )
        .await;
    check("createGroupStreamConnectionFailoverConnection", &r, StatusCode::CREATED);
    assert!(!r.raw.windows(9).any(|w| w == b"fo-s3cret"), "the password is never returned");
    assert_eq!(r.body["state"], "READY");
    let fid = r.body["id"].as_str().expect("id").to_string();
    check(
        "getGroupStreamConnectionFailoverConnection",
        &v2025f.get(&format!("{}/{}", failovers, fid)).await,
        StatusCode::OK,
    );
    let r = v2025f.get(&failovers).await;
    check("listGroupStreamConnectionFailoverConnections", &r, StatusCode::OK);
    assert_eq!(r.body["totalCount"], 1);
    let r = v2025f.patch(&format!("{}/{}", failovers, fid), &json!({"bootstrapServers": "127.0.0.3:9092"})).await;
    check("updateGroupStreamConnectionFailoverConnection", &r, StatusCode::OK);
    assert_eq!(r.body["bootstrapServers"], "127.0.0.3:9092");
    let r = v2025f.post(&failovers, &json!({"type": "Cluster", "clusterName": "c1"})).await;
    check("createGroupStreamConnectionFailoverConnection", &r, StatusCode::BAD_REQUEST);
    assert_eq!(
        v2025f.get(&format!("{}/mongo/failoverConnections", conns)).await.body["totalCount"],
        0,
        "each connection its own"
    );
    assert_eq!(v2025f.delete(&format!("{}/{}", failovers, fid)).await.status, StatusCode::NO_CONTENT);
    check(
        "getGroupStreamConnectionFailoverConnection",
        &v2025f.get(&format!("{}/{}", failovers, fid)).await,
        StatusCode::NOT_FOUND,
    );

    // Processors through their lifecycle.
    let procs = format!("{}/ws/processor", streams);
    let pipeline = json!([
        {"$source": {"connectionName": "sample_stream_solar"}},
        {"$tumblingWindow": {"interval": {"size": 1, "unit": "second"},
            "pipeline": [{"$group": {"_id": "$group_id", "n": {"$count": {}}}}]}}
    ]);
    check(
        "createGroupStreamProcessor",
        &c.post(&procs, &json!({"name": "p", "pipeline": pipeline})).await,
        StatusCode::OK,
    );
    let p = format!("{}/p", procs);
    check("startGroupStreamProcessor", &c.post(&format!("{}:start", p), &json!({})).await, StatusCode::OK);
    eventually(20, || async {
        (c.get(&p).await.body["stats"]["outputMessageCount"].as_u64().unwrap_or(0) > 0).then_some(())
    })
    .await;
    check("getGroupStreamProcessor", &c.get(&p).await, StatusCode::OK);
    check("getGroupStreamProcessors", &c.get(&format!("{}/ws/processors", streams)).await, StatusCode::OK);
    check("stopGroupStreamProcessor", &c.post(&format!("{}:stop", p), &json!({})).await, StatusCode::OK);
    check("getGroupStreamProcessor", &c.get(&p).await, StatusCode::OK);
    let r = c.patch(&p, &json!({"name": "p", "pipeline": pipeline, "options": {"checkpointIntervalMs": 5000}})).await;
    check("updateGroupStreamProcessor", &r, StatusCode::OK);
    let mut with = c.clone();
    with.accept = "application/vnd.atlas.2025-03-12+json".into();
    check(
        "startGroupStreamProcessorWith",
        &with.post(&format!("{}:startWith", p), &json!({"tier": "SP30"})).await,
        StatusCode::OK,
    );

    // Error bodies.
    let anon = Client::new(&server, Auth::None);
    check("listGroupStreamWorkspaces", &anon.get(&streams).await, StatusCode::UNAUTHORIZED);
    check("getGroupStreamWorkspace", &c.get(&format!("{}/nope", streams)).await, StatusCode::NOT_FOUND);
    let r = c.post(&streams, &json!({"name": "ws", "dataProcessRegion": region, "colour": 1})).await;
    check("createGroupStreamWorkspace", &r, StatusCode::BAD_REQUEST);
    check("getGroupStreamProcessor", &c.get(&format!("{}/ghost", procs)).await, StatusCode::NOT_FOUND);
    let r = c.post(&procs, &json!({"name": "bad", "pipeline": [{"$source": {"connectionName": "sample_stream_solar"}}, {"$bogus": {}}]})).await;
    check("createGroupStreamProcessor", &r, StatusCode::BAD_REQUEST);
    let ro = cli(&server.dir, &["keys", "create", "--project", &group, "--role", "GROUP_READ_ONLY"]);
    let reader = Client::new(
        &server,
        Auth::Digest { user: line_value(&ro, "publicKey"), password: line_value(&ro, "privateKey"), algorithm: "MD5" },
    );
    check("deleteGroupStreamWorkspace", &reader.delete(&format!("{}/ws2", streams)).await, StatusCode::FORBIDDEN);
    server.terminate();
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_checker_refuses_bodies_the_contract_does_not_allow() {
    let contract = Contract::load();
    let reply = |body: serde_json::Value| Reply {
        status: StatusCode::OK,
        headers: Default::default(),
        content_type: String::new(),
        raw: body.to_string().into_bytes(),
        body,
    };
    let good = json!({"name": "ws", "dataProcessRegion": {"cloudProvider": "AWS", "region": "VIRGINIA_USA"}});
    contract.assert_valid("getGroupStreamWorkspace", &reply(good));
    for bad in [
        json!({"name": 5}),
        json!({"name": "ws", "streamConfig": {"tier": "SP7"}}),
        json!({"name": "ws", "connections": [{"name": "k", "type": "Kafka", "bootstrapServers": 9092}]}),
    ] {
        let shown = bad.to_string();
        let caught = std::panic::catch_unwind(|| contract.assert_valid("getGroupStreamWorkspace", &reply(bad)));
        assert!(caught.is_err(), "{} passed the check", shown);
    }
}
