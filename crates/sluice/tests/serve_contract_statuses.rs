//! Every operation of the contract answers every status the contract documents for it, each
//! body valid against the contract's schema: success, 400, 401, 403, 404, 409 where Sluice has a
//! conflict to report, and 429. The test ends by comparing what it saw with the contract, so an
//! operation or status added to the contract fails here until it is covered or listed below.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value as Json};
use support::contract::{Contract, ContractOperation};
use support::*;

/// Documented statuses Sluice never answers, and why. (500 is left out everywhere: it is only
/// for faults of the server itself, which a test cannot cause on purpose.)
const NEVER: &[(&str, u16, &str)] = &[
    ("deleteGroupStreamVpcPeeringConnection", 202, "no peering request reaches a self-hosted server"),
    ("acceptGroupStreamVpcPeeringConnection", 202, "no peering request reaches a self-hosted server"),
    ("rejectGroupStreamVpcPeeringConnection", 202, "no peering request reaches a self-hosted server"),
    ("downloadGroupStreamAuditLogs", 409, "logs are always there to read"),
    ("downloadGroupStreamOperationalLogs", 409, "logs are always there to read"),
    ("deleteGroupStreamConnection", 409, "a connection in use is 403 STREAM_CONNECTION_HAS_STREAM_PROCESSORS"),
    ("updateGroupStreamConnection", 409, "a connection cannot be renamed, so no update collides"),
];

const REGION: &str = "VIRGINIA_USA";

struct Checker {
    contract: Contract,
    ops: BTreeMap<String, ContractOperation>,
    /// Path parameters and their values.
    params: BTreeMap<&'static str, String>,
    seen: Mutex<BTreeSet<(String, u16)>>,
}

impl Checker {
    fn op(&self, id: &str) -> &ContractOperation {
        self.ops.get(id).unwrap_or_else(|| panic!("no operation {}", id))
    }

    fn path(&self, id: &str, overrides: &[(&str, &str)]) -> String {
        let mut path = self.op(id).path.clone();
        for (k, v) in &self.params {
            let v = overrides.iter().find(|(o, _)| o == k).map_or(v.as_str(), |(_, o)| *o);
            path = path.replace(&format!("{{{}}}", k), v);
        }
        path
    }

    /// Calls `id` as `client` (with the operation's media type), with `overrides` of path
    /// parameters and a query, and checks the status and the body against the contract.
    async fn expect(
        &self,
        client: &Client,
        id: &str,
        overrides: &[(&str, &str)],
        query: &str,
        body: Option<Json>,
        status: u16,
    ) -> Reply {
        let op = self.op(id);
        let mut client = client.clone();
        client.accept = op.accept.clone();
        let path = format!("{}{}", self.path(id, overrides), query);
        let body = body.or_else(|| matches!(op.method, Method::POST | Method::PATCH).then(|| json!({})));
        let reply = client.call(op.method.clone(), &path, body.as_ref()).await;
        assert_eq!(reply.status.as_u16(), status, "{} {}: {}", id, path, reply.body);
        if reply.content_type.contains("+gzip") {
            assert!(reply.raw.starts_with(&[0x1f, 0x8b]), "{}: a gzip body", id);
        } else {
            self.contract.assert_valid(id, &reply);
        }
        self.seen.lock().expect("seen").insert((id.to_string(), status));
        reply
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_answers_every_documented_status() {
    let contract = Contract::load();
    let ops = contract.operations().into_iter().map(|o| (o.id.clone(), o)).collect();
    let dir = temp_dir("statuses");
    let server = Server::start(&dir);
    let group = server.banner_value("groupId");
    let c = owner(&server, "MD5");
    let other = line_value(&cli(&server.dir, &["projects", "create", "--name", "other"]), "groupId");
    let ok = cli(&server.dir, &["keys", "create", "--project", &other, "--role", "GROUP_OWNER"]);
    let outsider = Client::new(
        &server,
        Auth::Digest { user: line_value(&ok, "publicKey"), password: line_value(&ok, "privateKey"), algorithm: "MD5" },
    );
    let anon = Client::new(&server, Auth::None);
    let params = BTreeMap::from([
        ("groupId", group.clone()),
        ("tenantName", "ws".to_string()),
        ("connectionName", "kafka".to_string()),
        ("processorName", "p".to_string()),
        ("connectionId", String::new()),
        ("id", "6b0ee41e26c10c888188d3fc".to_string()),
        ("failoverConnectionId", String::new()),
    ]);
    let mut k = Checker { contract, ops, params, seen: Mutex::new(BTreeSet::new()) };
    let region = json!({"cloudProvider": "AWS", "region": REGION});

    // The resources the other calls address.
    let ws = json!({"name": "ws", "dataProcessRegion": region, "sampleConnections": {"solar": true}});
    k.expect(&c, "createGroupStreamWorkspace", &[], "", Some(ws.clone()), 200).await;
    k.expect(&c, "createGroupStreamWorkspace", &[], "", Some(json!({"name": "x", "colour": 1})), 400).await;
    let ws2 = json!({"name": "ws2", "dataProcessRegion": region});
    k.expect(&c, "withGroupStreamSampleConnections", &[], "", Some(ws2), 200).await;
    k.expect(&c, "withGroupStreamSampleConnections", &[], "", Some(json!({"dataProcessRegion": 5})), 400).await;
    let kafka = json!({"name": "kafka", "type": "Kafka", "bootstrapServers": "127.0.0.1:9092",
        "authentication": {"mechanism": "PLAIN", "username": "u", "password": "p"}});
    k.expect(&c, "createGroupStreamConnection", &[], "", Some(kafka.clone()), 200).await;
    k.expect(&c, "createGroupStreamConnection", &[], "", Some(kafka), 409).await;
    k.expect(&c, "createGroupStreamConnection", &[], "", Some(json!({"name": "k2", "type": "Kafka"})), 400).await;
    let failover = json!({"type": "Kafka", "region": "US_WEST_2", "bootstrapServers": "127.0.0.2:9092"});
    let r = k.expect(&c, "createGroupStreamConnectionFailoverConnection", &[], "", Some(failover.clone()), 201).await;
    k.params.insert("failoverConnectionId", r.body["id"].as_str().expect("id").to_string());
    k.expect(&c, "createGroupStreamConnectionFailoverConnection", &[], "", Some(failover), 409).await;
    let bad = json!({"type": "Cluster", "clusterName": "c1"});
    k.expect(&c, "createGroupStreamConnectionFailoverConnection", &[], "", Some(bad), 400).await;
    let link = json!({"provider": "AWS", "vendor": "CONFLUENT", "region": "us-east-1",
        "serviceEndpointId": "com.amazonaws.vpce.us-east-1.vpce-svc-1", "dnsDomain": "kafka.example.test"});
    let r = k.expect(&c, "createGroupStreamPrivateLinkConnection", &[], "", Some(link.clone()), 200).await;
    k.params.insert("connectionId", r.body["_id"].as_str().expect("_id").to_string());
    k.expect(&c, "createGroupStreamPrivateLinkConnection", &[], "", Some(link), 409).await;
    k.expect(&c, "createGroupStreamPrivateLinkConnection", &[], "", Some(json!({"vendor": "MSK"})), 400).await;
    let pipeline = json!([{"$source": {"connectionName": "sample_stream_solar"}},
        {"$tumblingWindow": {"interval": {"size": 1, "unit": "second"},
            "pipeline": [{"$group": {"_id": "$group_id", "n": {"$count": {}}}}]}}]);
    let processor = json!({"name": "p", "pipeline": pipeline});
    k.expect(&c, "createGroupStreamProcessor", &[], "", Some(processor.clone()), 200).await;
    k.expect(&c, "createGroupStreamProcessor", &[], "", Some(processor.clone()), 409).await;
    let bogus = json!({"name": "q", "pipeline": [{"$bogus": {}}]});
    k.expect(&c, "createGroupStreamProcessor", &[], "", Some(bogus), 400).await;

    // Authentication, project access and the group id, on every operation.
    let ids: Vec<String> = k.ops.keys().cloned().collect();
    for id in &ids {
        k.expect(&anon, id, &[], "", None, 401).await;
        k.expect(&outsider, id, &[], "", None, 403).await;
        k.expect(&c, id, &[("groupId", "0123456789abcdef01234567")], "", None, 404).await;
        if k.op(id).statuses.contains(&400) {
            k.expect(&c, id, &[("groupId", "not-a-group")], "", None, 400).await;
        }
    }

    // Reads, and what they answer for what does not exist.
    for id in ["listGroupStreamWorkspaces", "getGroupStreamWorkspace", "listGroupStreamConnections"] {
        k.expect(&c, id, &[], "", None, 200).await;
    }
    k.expect(&c, "getGroupStreamWorkspace", &[("tenantName", "nope")], "", None, 404).await;
    k.expect(&c, "listGroupStreamConnections", &[("tenantName", "nope")], "", None, 404).await;
    k.expect(&c, "getGroupStreamConnection", &[], "", None, 200).await;
    k.expect(&c, "getGroupStreamConnection", &[("connectionName", "nope")], "", None, 404).await;
    k.expect(&c, "getGroupStreamAccountDetails", &[], "?cloudProvider=aws&regionName=US_EAST_1", None, 200).await;
    k.expect(&c, "listGroupStreamActiveVpcPeeringConnections", &[], "", None, 200).await;
    k.expect(&c, "listGroupStreamVpcPeeringConnections", &[], "", None, 200).await;
    for id in [
        "deleteGroupStreamVpcPeeringConnection",
        "acceptGroupStreamVpcPeeringConnection",
        "rejectGroupStreamVpcPeeringConnection",
    ] {
        k.expect(&c, id, &[], "", None, 404).await;
    }
    k.expect(&c, "listGroupStreamPrivateLinkConnections", &[], "", None, 200).await;
    k.expect(&c, "getGroupStreamPrivateLinkConnection", &[], "", None, 200).await;
    let ghost = [("connectionId", "6b0ee41e26c10c888188d3fd")];
    k.expect(&c, "getGroupStreamPrivateLinkConnection", &ghost, "", None, 404).await;
    k.expect(&c, "listGroupStreamConnectionFailoverConnections", &[], "", None, 200).await;
    k.expect(&c, "listGroupStreamConnectionFailoverConnections", &[], "?itemsPerPage=0", None, 400).await;
    k.expect(&c, "listGroupStreamConnectionFailoverConnections", &[("connectionName", "nope")], "", None, 404).await;
    k.expect(&c, "getGroupStreamConnectionFailoverConnection", &[], "", None, 200).await;
    let ghost = [("failoverConnectionId", "6b0ee41e26c10c888188d3fd")];
    k.expect(&c, "getGroupStreamConnectionFailoverConnection", &ghost, "", None, 404).await;
    k.expect(&c, "getGroupStreamProcessor", &[], "", None, 200).await;
    k.expect(&c, "getGroupStreamProcessor", &[("processorName", "nope")], "", None, 404).await;
    k.expect(&c, "getGroupStreamProcessors", &[], "", None, 200).await;
    k.expect(&c, "getGroupStreamProcessors", &[], "?itemsPerPage=-1", None, 400).await;
    k.expect(&c, "getGroupStreamProcessors", &[("tenantName", "nope")], "", None, 404).await;
    for id in ["downloadGroupStreamAuditLogs", "downloadGroupStreamOperationalLogs"] {
        k.expect(&c, id, &[], "", None, 200).await;
        k.expect(&c, id, &[], "?startDate=yesterday", None, 400).await;
        k.expect(&c, id, &[("tenantName", "nope")], "", None, 404).await;
    }

    // Changes.
    let patch = json!({"cloudProvider": "AWS", "region": REGION});
    k.expect(&c, "updateGroupStreamWorkspace", &[], "", Some(patch.clone()), 200).await;
    k.expect(&c, "updateGroupStreamWorkspace", &[], "", Some(json!({"colour": 1})), 400).await;
    k.expect(&c, "updateGroupStreamWorkspace", &[("tenantName", "nope")], "", Some(patch), 404).await;
    let patch = json!({"bootstrapServers": "127.0.0.1:9093"});
    k.expect(&c, "updateGroupStreamConnection", &[], "", Some(patch.clone()), 200).await;
    k.expect(&c, "updateGroupStreamConnection", &[], "", Some(json!({"type": "Https"})), 400).await;
    k.expect(&c, "updateGroupStreamConnection", &[("connectionName", "nope")], "", Some(patch), 404).await;
    let patch = json!({"dnsDomain": "kafka2.example.test"});
    k.expect(&c, "updateGroupStreamPrivateLinkConnection", &[], "", Some(patch.clone()), 200).await;
    k.expect(&c, "updateGroupStreamPrivateLinkConnection", &[], "", Some(json!({"provider": "IBM"})), 400).await;
    let second = json!({"provider": "AWS", "vendor": "CONFLUENT", "region": "us-east-1",
        "serviceEndpointId": "com.amazonaws.vpce.us-east-1.vpce-svc-2", "dnsDomain": "kafka3.example.test"});
    let r = k.expect(&c, "createGroupStreamPrivateLinkConnection", &[], "", Some(second), 200).await;
    let second_id = r.body["_id"].as_str().expect("_id").to_string();
    let same_endpoint = json!({"serviceEndpointId": "com.amazonaws.vpce.us-east-1.vpce-svc-1"});
    let r = k
        .expect(
            &c,
            "updateGroupStreamPrivateLinkConnection",
            &[("connectionId", &second_id)],
            "",
            Some(same_endpoint),
            409,
        )
        .await;
    assert_eq!(r.body["errorCode"], "STREAM_PRIVATE_LINK_ALREADY_EXISTS");
    let ghost = [("connectionId", "6b0ee41e26c10c888188d3fd")];
    k.expect(&c, "updateGroupStreamPrivateLinkConnection", &ghost, "", Some(patch), 404).await;
    let patch = json!({"bootstrapServers": "127.0.0.3:9092"});
    k.expect(&c, "updateGroupStreamConnectionFailoverConnection", &[], "", Some(patch.clone()), 200).await;
    let ghost = [("failoverConnectionId", "6b0ee41e26c10c888188d3fd")];
    k.expect(&c, "updateGroupStreamConnectionFailoverConnection", &ghost, "", Some(patch), 404).await;
    let with_options = json!({"name": "p", "pipeline": pipeline, "options": {"checkpointIntervalMs": 5000}});
    k.expect(&c, "updateGroupStreamProcessor", &[], "", Some(with_options.clone()), 200).await;
    k.expect(&c, "updateGroupStreamProcessor", &[], "", Some(json!({"pipeline": 5})), 400).await;
    k.expect(&c, "updateGroupStreamProcessor", &[("processorName", "nope")], "", Some(with_options), 404).await;

    // The processor's lifecycle.
    k.expect(&c, "startGroupStreamProcessor", &[], "", None, 200).await;
    k.expect(&c, "startGroupStreamProcessor", &[("processorName", "nope")], "", None, 404).await;
    k.expect(&c, "stopGroupStreamProcessor", &[], "", None, 200).await;
    k.expect(&c, "stopGroupStreamProcessor", &[("processorName", "nope")], "", None, 404).await;
    k.expect(&c, "startGroupStreamProcessorWith", &[], "", Some(json!({"tier": "SP7"})), 400).await;
    k.expect(&c, "startGroupStreamProcessorWith", &[("processorName", "nope")], "", None, 404).await;
    k.expect(&c, "startGroupStreamProcessorWith", &[], "", Some(json!({"tier": "SP30"})), 200).await;
    k.expect(&c, "stopGroupStreamProcessor", &[], "", None, 200).await;

    // Deletes, last: each answers 404 once done.
    k.expect(&c, "deleteGroupStreamProcessor", &[], "", None, 204).await;
    k.expect(&c, "deleteGroupStreamProcessor", &[], "", None, 404).await;
    k.expect(&c, "deleteGroupStreamConnectionFailoverConnection", &[], "", None, 204).await;
    k.expect(&c, "deleteGroupStreamConnectionFailoverConnection", &[], "", None, 404).await;
    k.expect(&c, "deleteGroupStreamPrivateLinkConnection", &[], "", None, 202).await;
    k.expect(&c, "deleteGroupStreamPrivateLinkConnection", &[], "", None, 404).await;
    let failover = json!({"type": "Kafka", "region": "EU_WEST_1", "bootstrapServers": "127.0.0.4:9092"});
    k.expect(&c, "createGroupStreamConnectionFailoverConnection", &[], "", Some(failover), 201).await;
    k.expect(&c, "deleteGroupStreamConnection", &[], "", None, 202).await;
    k.expect(&c, "deleteGroupStreamConnection", &[], "", None, 404).await;
    let kafka = json!({"name": "kafka", "type": "Kafka", "bootstrapServers": "127.0.0.1:9092"});
    k.expect(&c, "createGroupStreamConnection", &[], "", Some(kafka), 200).await;
    let r = k.expect(&c, "listGroupStreamConnectionFailoverConnections", &[], "", None, 200).await;
    assert_eq!(r.body["totalCount"], 0, "a deleted connection's failover connections went with it");
    k.expect(&c, "deleteGroupStreamWorkspace", &[("tenantName", "ws2")], "", None, 202).await;
    k.expect(&c, "deleteGroupStreamWorkspace", &[("tenantName", "ws2")], "", None, 404).await;
    server.terminate();
    let _ = std::fs::remove_dir_all(dir);

    // 429 from a server that allows one request a second per caller.
    let dir = temp_dir("statuses-429");
    let server = Server::start_with_env(&dir, &[("SLUICE_RATE_LIMIT", "1")]);
    let c = owner(&server, "MD5");
    k.params.insert("groupId", server.banner_value("groupId"));
    for id in &ids {
        let op = k.op(id);
        let mut client = c.clone();
        client.accept = op.accept.clone();
        let path = k.path(id, &[]);
        let body = matches!(op.method, Method::POST | Method::PATCH).then(|| json!({}));
        let mut limited = false;
        for _ in 0..5 {
            let r = client.call(op.method.clone(), &path, body.as_ref()).await;
            if r.status == StatusCode::TOO_MANY_REQUESTS {
                k.contract.assert_valid(id, &r);
                assert_eq!(r.body["errorCode"], "RATE_LIMITED");
                k.seen.lock().expect("seen").insert((id.clone(), 429));
                limited = true;
                break;
            }
        }
        assert!(limited, "{}: five requests at once exceed one a second", id);
    }
    server.terminate();
    let _ = std::fs::remove_dir_all(dir);

    // What was seen is exactly what the contract documents, but for 500 and the list above.
    let never: BTreeSet<(String, u16)> = NEVER.iter().map(|(id, s, _)| (id.to_string(), *s)).collect();
    let documented: BTreeSet<(String, u16)> = k
        .ops
        .values()
        .flat_map(|o| o.statuses.iter().map(|s| (o.id.clone(), *s)))
        .filter(|(_, s)| *s != 500)
        .filter(|pair| !never.contains(pair))
        .collect();
    let seen = k.seen.into_inner().expect("seen");
    let missing: Vec<_> = documented.difference(&seen).collect();
    assert!(missing.is_empty(), "documented but not exercised: {:?}", missing);
    for pair in &never {
        assert!(!seen.contains(pair), "{:?} is listed as never answered, yet was", pair);
        assert!(k.ops.get(&pair.0).is_some_and(|o| o.statuses.contains(&pair.1)), "{:?}: not in the contract", pair);
    }
}
