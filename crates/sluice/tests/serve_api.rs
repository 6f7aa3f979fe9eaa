//! `sluice serve` end to end with real HTTP clients: the seed scenario, the contract's error
//! bodies, versions, envelope, roles, bearer tokens, and a restart that keeps everything.

mod support;

use reqwest::StatusCode;
use serde_json::{json, Value as Json};
use support::*;

fn window_pipeline() -> Json {
    json!([
        {"$source": {"connectionName": "sample_stream_solar"}},
        {"$tumblingWindow": {"interval": {"size": 1, "unit": "second"},
            "pipeline": [{"$group": {"_id": "$group_id", "avgWatts": {"$avg": "$obs.watts"}, "n": {"$count": {}}}}]}}
    ])
}

fn assert_error(r: &Reply, status: u16, code: &str) {
    assert_eq!(r.status.as_u16(), status, "{:?}", r.body);
    assert_eq!(r.body["error"], json!(status), "{:?}", r.body);
    assert_eq!(r.body["errorCode"], json!(code), "{:?}", r.body);
    assert!(r.body["detail"].is_string() && r.body["reason"].is_string(), "{:?}", r.body);
    assert!(r.body["parameters"].is_array(), "{:?}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_scenario_with_digest_then_restart_keeps_everything_running() {
    let dir = temp_dir("seed");
    let server = Server::start(&dir);
    let group = server.banner_value("groupId");
    let c = owner(&server, "MD5");
    let streams = format!("/api/atlas/v2/groups/{}/streams", group);

    // Seed 003: create a workspace with the solar sample.
    let r = c
        .post(
            &streams,
            &json!({"name": "ws1", "dataProcessRegion": {"cloudProvider": "AWS", "region": "VIRGINIA_USA"},
            "sampleConnections": {"solar": true}, "streamConfig": {"tier": "SP10"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.content_type, "application/vnd.atlas.2023-02-01+json;charset=utf-8");
    assert_eq!(r.body["name"], "ws1");
    assert_eq!(r.body["groupId"], json!(group));
    assert_eq!(r.body["streamConfig"]["tier"], "SP10");
    assert_eq!(r.body["connections"][0]["name"], "sample_stream_solar");
    assert_eq!(r.body["connections"][0]["type"], "Sample");
    assert!(sluice_api::is_object_id(r.body["_id"].as_str().unwrap()));

    // A processor with a tumbling window; start it (seed 001), see its stats grow.
    let ws = format!("{}/ws1", streams);
    let r = c.post(&format!("{}/processor", ws), &json!({"name": "solarAvg", "pipeline": window_pipeline()})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["state"], "CREATED");
    assert_eq!(r.content_type, "application/vnd.atlas.2024-05-30+json;charset=utf-8");
    let r = c.post(&format!("{}/processor/solarAvg:start", ws), &json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let proc_path = format!("{}/processor/solarAvg", ws);
    let first = eventually(20, || async {
        let r = c.get(&proc_path).await;
        let n = r.body["stats"]["outputMessageCount"].as_u64().unwrap_or(0);
        (r.body["state"] == "STARTED" && n > 0).then_some(r.body["stats"]["inputMessageCount"].as_u64().unwrap())
    })
    .await;
    eventually(20, || async {
        let r = c.get(&proc_path).await;
        (r.body["stats"]["inputMessageCount"].as_u64().unwrap_or(0) > first).then_some(())
    })
    .await;
    // Processing latency, as Atlas shows it: percentiles in microseconds over a period.
    let stats = c.get(&proc_path).await.body["stats"].clone();
    assert_eq!(stats["latency"]["unit"], "microseconds", "{:?}", stats);
    let (p50, p99) = (stats["latency"]["p50"].as_u64().unwrap_or(0), stats["latency"]["p99"].as_u64().unwrap_or(0));
    assert!(p50 > 0 && p99 >= p50, "{:?}", stats["latency"]);
    assert!(stats["latency"]["start"].is_string() && stats["latency"]["end"].is_string(), "{:?}", stats["latency"]);
    let sample = c.get(&format!("{}/sample?limit=3", proc_path)).await;
    let docs = sample.body["results"].as_array().unwrap();
    assert!(!docs.is_empty());
    assert!(docs
        .iter()
        .all(|d| d["avgWatts"].is_number() && d["_stream_meta"]["window"]["start"]["$date"].is_string()));
    assert_error(&c.get(&format!("{}/sample?limit=many", proc_path)).await, 400, "INVALID_ATTRIBUTE");

    // Seed 000: stop with a 2024-11-13 Accept (answered with 2024-05-30), then start again.
    let mut stop_client = c.clone();
    stop_client.accept = "application/vnd.atlas.2024-11-13+json".into();
    let r = stop_client.post(&format!("{}:stop", proc_path), &json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.content_type, "application/vnd.atlas.2024-05-30+json;charset=utf-8");
    assert_eq!(c.get(&proc_path).await.body["state"], "STOPPED");
    let r = c.post(&format!("{}:stop", proc_path), &json!({})).await;
    assert_error(&r, 400, "STREAM_PROCESSOR_GENERIC_ERROR");
    assert!(r.body["detail"].as_str().unwrap().contains("status cannot be changed from [STOPPED] to Stopped"));
    // Seed 002: startWith (tier change).
    let r = c.post(&format!("{}:startWith", proc_path), &json!({"tier": "SP30", "resumeFromCheckpoint": true})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let r = c.get(&proc_path).await;
    assert_eq!((r.body["state"].clone(), r.body["tier"].clone()), (json!("STARTED"), json!("SP30")));

    // Restart: SIGTERM, start again; the workspace, processor and its running state are back.
    server.terminate();
    let server = Server::start(&dir);
    assert!(server.banner.iter().all(|l| !l.contains("privateKey")), "bootstrap runs once");
    let c = Client { base: format!("http://{}", server.addr), ..c };
    let r = c.get(&proc_path).await;
    assert_eq!(r.body["state"], "STARTED", "{:?}", r.body);
    eventually(20, || async {
        let r = c.get(&proc_path).await;
        (r.body["stats"]["outputMessageCount"].as_u64().unwrap_or(0) > 0).then_some(())
    })
    .await;
    let r = c.get(&format!("{}/processors", ws)).await;
    assert_eq!(r.body["totalCount"], 1);
    assert_eq!(r.body["results"][0]["name"], "solarAvg");
    server.terminate();
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_versions_envelope_and_roles_follow_the_contract() {
    let dir = temp_dir("errors");
    let server = Server::start(&dir);
    let group = server.banner_value("groupId");
    let c = owner(&server, "SHA-256");
    let streams = format!("/api/atlas/v2/groups/{}/streams", group);

    // Authentication.
    let anon = Client::new(&server, Auth::None);
    assert_error(&anon.get(&streams).await, 401, "USER_UNAUTHORIZED");
    let wrong = Client::new(
        &server,
        Auth::Digest { user: server.banner_value("publicKey"), password: "nope".into(), algorithm: "MD5" },
    );
    assert_error(&wrong.get(&streams).await, 401, "USER_UNAUTHORIZED");
    assert_error(&anon.get("/no/such/route").await, 401, "USER_UNAUTHORIZED");
    assert_error(&c.get("/no/such/route").await, 404, "RESOURCE_NOT_FOUND");

    // Versions.
    let mut old = c.clone();
    old.accept = "application/vnd.atlas.2023-01-01+json".into();
    assert_error(&old.get(&streams).await, 406, "INVALID_VERSION_DATE");
    old.accept = "application/json".into();
    assert_error(&old.get(&streams).await, 406, "INVALID_VERSION_DATE");

    // Group ids and bodies.
    assert_error(&c.get("/api/atlas/v2/groups/XYZ/streams").await, 400, "INVALID_GROUP_ID");
    assert_error(&c.get("/api/atlas/v2/groups/aaaaaaaaaaaaaaaaaaaaaaaa/streams").await, 404, "GROUP_NOT_FOUND");
    let region = json!({"cloudProvider": "AWS", "region": "VIRGINIA_USA"});
    let r = c.call(reqwest::Method::POST, &streams, None).await;
    assert_error(&r, 400, "MISSING_ATTRIBUTE");
    let raw = c.http_post_raw(&streams, "{not json").await;
    assert_error(&raw, 400, "INVALID_JSON");
    let r = c.post(&streams, &json!({"name": "w", "dataProcessRegion": region, "colour": "blue"})).await;
    assert_error(&r, 400, "INVALID_JSON_ATTRIBUTE");
    assert_eq!(r.body["parameters"], json!(["colour"]));
    assert_eq!(r.body["badRequestDetail"]["fields"][0]["field"], "colour");
    let r =
        c.post(&streams, &json!({"name": "w", "dataProcessRegion": {"cloudProvider": "AWS", "region": "MARS"}})).await;
    assert_error(&r, 400, "INVALID_ENUM_VALUE");
    let r = c.post(&streams, &json!({"name": "w", "dataProcessRegion": region})).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["streamConfig"]["tier"], "SP30", "Atlas's default tier");
    assert_error(
        &c.post(&streams, &json!({"name": "w", "dataProcessRegion": region})).await,
        409,
        "STREAM_TENANT_NAME_ALREADY_EXISTS",
    );
    let r = c.get(&format!("{}/nope", streams)).await;
    assert_error(&r, 404, "STREAM_TENANT_NOT_FOUND_FOR_NAME");
    assert_eq!(r.body["parameters"], json!([group, "nope"]));

    // Envelope and pretty.
    let r = c.get(&format!("{}/nope?envelope=true", streams)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["status"], 404);
    assert_eq!(r.body["content"]["errorCode"], "STREAM_TENANT_NOT_FOUND_FOR_NAME");
    let r = c.get(&format!("{}?envelope=true&pretty=true", streams)).await;
    assert_eq!((r.body["status"].clone(), r.body["totalCount"].clone()), (json!(200), json!(1)));
    assert!(String::from_utf8_lossy(&r.raw).contains("\n  \"results\""));
    let r = c.get(&format!("{}?itemsPerPage=0", streams)).await;
    assert_error(&r, 400, "INVALID_QUERY_PARAMETER");

    // Connections: secrets are write-only; a used connection cannot be deleted.
    let conns = format!("{}/w/connections", streams);
    let kafka = json!({"name": "k", "type": "Kafka", "bootstrapServers": "127.0.0.1:9092",
        "authentication": {"mechanism": "PLAIN", "username": "u", "password": "hunter2"},
        "security": {"protocol": "SASL_PLAINTEXT"}});
    let r = c.post(&conns, &kafka).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert!(!String::from_utf8_lossy(&r.raw).contains("hunter2"));
    assert_eq!(r.body["authentication"]["username"], "u");
    let r = c.get(&format!("{}/k", conns)).await;
    assert!(!String::from_utf8_lossy(&r.raw).contains("hunter2"));
    assert_error(&c.get(&format!("{}/missing", conns)).await, 404, "STREAM_CONNECTION_NOT_FOUND_FOR_NAME");
    assert_error(&c.post(&conns, &json!({"name": "k2", "type": "Kafka"})).await, 400, "MISSING_ATTRIBUTE");
    c.post(&conns, &json!({"name": "sample_stream_solar", "type": "Sample"})).await;
    let pipe = json!([{"$source": {"connectionName": "sample_stream_solar"}}, {"$emit": {"connectionName": "k", "topic": "t"}}]);
    let r = c.post(&format!("{}/w/processor", streams), &json!({"name": "toKafka", "pipeline": pipe})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_error(&c.delete(&format!("{}/k", conns)).await, 403, "STREAM_CONNECTION_HAS_STREAM_PROCESSORS");

    // Processors: the engine's message for a bad pipeline; a missing connection; 404; 204 on delete.
    let procs = format!("{}/w/processor", streams);
    let r = c.post(&procs, &json!({"name": "bad", "pipeline": [{"$source": {"connectionName": "sample_stream_solar"}}, {"$bogus": {}}]})).await;
    assert_error(&r, 400, "STREAM_PROCESSOR_GENERIC_ERROR");
    assert!(r.body["detail"].as_str().unwrap().contains("$bogus"), "{:?}", r.body);
    let r = c.post(&procs, &json!({"name": "bad", "pipeline": [{"$source": {"connectionName": "nope"}}]})).await;
    assert!(r.body["detail"].as_str().unwrap().contains("connection named nope does not exist"), "{:?}", r.body);
    assert_error(&c.get(&format!("{}/ghost", procs)).await, 404, "STREAM_PROCESSOR_NOT_FOUND");
    let r = c.delete(&format!("{}/toKafka", procs)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(c.delete(&format!("{}/k", conns)).await.status, StatusCode::ACCEPTED);

    // Roles: a read-only key reads but cannot change; a service account's bearer token works.
    let ro = cli(&server.dir, &["keys", "create", "--project", &group, "--role", "GROUP_READ_ONLY"]);
    let reader = Client::new(
        &server,
        Auth::Digest { user: line_value(&ro, "publicKey"), password: line_value(&ro, "privateKey"), algorithm: "MD5" },
    );
    assert_eq!(reader.get(&streams).await.status, StatusCode::OK);
    assert_error(
        &reader.post(&streams, &json!({"name": "x", "dataProcessRegion": region})).await,
        403,
        "USER_UNAUTHORIZED",
    );
    let sa = cli(
        &server.dir,
        &["service-accounts", "create", "--project", &group, "--role", "GROUP_STREAM_PROCESSING_OWNER"],
    );
    let token = c.oauth_token(&line_value(&sa, "clientId"), &line_value(&sa, "clientSecret")).await.expect("token");
    let bearer = Client::new(&server, Auth::Bearer(token));
    assert_eq!(bearer.get(&streams).await.status, StatusCode::OK);
    assert_error(&Client::new(&server, Auth::Bearer("forged".into())).get(&streams).await, 401, "USER_UNAUTHORIZED");
    assert!(c.oauth_token(&line_value(&sa, "clientId"), "wrong").await.is_none());
    // Another project's key sees nothing of this one.
    let other = line_value(&cli(&server.dir, &["projects", "create", "--name", "other"]), "groupId");
    let ok = cli(&server.dir, &["keys", "create", "--project", &other, "--role", "GROUP_OWNER"]);
    let outsider = Client::new(
        &server,
        Auth::Digest { user: line_value(&ok, "publicKey"), password: line_value(&ok, "privateKey"), algorithm: "MD5" },
    );
    assert_error(&outsider.get(&streams).await, 403, "USER_UNAUTHORIZED");

    assert_eq!(c.delete(&format!("{}/w", streams)).await.status, StatusCode::ACCEPTED);
    assert_error(&c.get(&format!("{}/w", streams)).await, 404, "STREAM_TENANT_NOT_FOUND_FOR_NAME");
    server.terminate();
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_that_floods_the_server_gets_atlas_429_until_its_budget_refills() {
    let dir = temp_dir("rate-limit");
    let server = Server::start_with_env(&dir, &[("SLUICE_RATE_LIMIT", "10")]);
    let c = owner(&server, "MD5");
    let streams = format!("/api/atlas/v2/groups/{}/streams", server.banner_value("groupId"));
    let mut limited = None;
    for _ in 0..40 {
        let r = c.get(&streams).await;
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(r);
            break;
        }
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    }
    let r = limited.expect("40 requests at once exceed 10 per second");
    assert_error(&r, 429, "RATE_LIMITED");
    assert_eq!(r.body["reason"], "Too Many Requests");
    let header = |k: &str| r.headers.get(k).and_then(|v| v.to_str().ok()).map(str::to_string);
    assert_eq!(
        (header("RateLimit-Limit").as_deref(), header("RateLimit-Remaining").as_deref()),
        (Some("10"), Some("0"))
    );
    let wait: u64 = header("Retry-After").and_then(|s| s.parse().ok()).expect("Retry-After in seconds");
    tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
    assert_eq!(c.get(&streams).await.status, StatusCode::OK, "the budget refilled");
    server.terminate();
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_reads_the_projects_processors_with_a_bearer_token() {
    let dir = temp_dir("metrics");
    let server = Server::start(&dir);
    let group = server.banner_value("groupId");
    let c = owner(&server, "SHA-256");
    let streams = sample_workspace(&c, &server).await;
    let r =
        c.post(&format!("{}/ws/processor", streams), &json!({"name": "solar", "pipeline": window_pipeline()})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(c.post(&format!("{}/ws/processor/solar:start", streams), &json!({})).await.status, StatusCode::OK);

    let sa = cli(&server.dir, &["service-accounts", "create", "--project", &group, "--role", "GROUP_READ_ONLY"]);
    let token = c.oauth_token(&line_value(&sa, "clientId"), &line_value(&sa, "clientSecret")).await.expect("token");
    let prometheus = Client::new(&server, Auth::Bearer(token));
    let text = eventually(20, || async {
        let r = prometheus.get("/metrics").await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.content_type.starts_with("application/openmetrics-text; version=1.0.0"), "{}", r.content_type);
        let text = String::from_utf8_lossy(&r.raw).to_string();
        let input = text
            .lines()
            .find(|l| l.starts_with(r#"sluice_processor_input_messages_total{workspace="ws",processor="solar"}"#))
            .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .unwrap_or(0.0);
        (input > 0.0).then_some(text)
    })
    .await;
    // OpenMetrics: a counter's family is named without `_total`, its samples with it.
    assert!(text.contains("# TYPE sluice_processor_input_messages counter"), "{}", text);
    assert!(text.ends_with("# EOF\n"), "{}", text);
    assert!(text.contains(r#"sluice_processor_up{workspace="ws",processor="solar",state="STARTED"} 1"#), "{}", text);
    assert!(text.contains("sluice_processor_state_bytes{"), "{}", text);
    assert_error(&Client::new(&server, Auth::None).get("/metrics").await, 401, "USER_UNAUTHORIZED");
    // Another project's key sees none of this project's processors.
    let other = line_value(&cli(&server.dir, &["projects", "create", "--name", "other"]), "groupId");
    let k = cli(&server.dir, &["keys", "create", "--project", &other, "--role", "GROUP_OWNER"]);
    let outsider = Client::new(
        &server,
        Auth::Digest { user: line_value(&k, "publicKey"), password: line_value(&k, "privateKey"), algorithm: "MD5" },
    );
    let r = outsider.get("/metrics").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(!String::from_utf8_lossy(&r.raw).contains("processor=\"solar\""));
    server.terminate();
    let _ = std::fs::remove_dir_all(dir);
}
