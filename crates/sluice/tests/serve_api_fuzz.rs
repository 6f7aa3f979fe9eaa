//! A bounded fuzz of the HTTP API against its contract: schemathesis (from the test venv that
//! `scripts/test-servers.sh` provides) generates requests for all 37 operations of
//! `spec/atlas-streams-openapi.json`, with a fixed seed, a few examples per operation and a time
//! budget, signed with a bearer token of an owner service account, and applies every check but
//! one: no 5xx, no status, content type, header or body outside the contract, no schema-violating
//! request accepted, 405 with `Allow` for a method a path lacks. Where the contract contradicts
//! itself or Atlas, the exceptions are narrow and explained below. Run longer by hand with
//! `SLUICE_API_FUZZ_EXAMPLES` and `SLUICE_API_FUZZ_SECONDS`.

mod support;

use std::path::PathBuf;

use reqwest::StatusCode;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_requests_for_every_operation_get_answers_within_the_contract() {
    let python = std::env::var("SLUICE_PYTHON")
        .expect("SLUICE_PYTHON is not set: run the tests through scripts/test.sh, which provides the venv");
    let st = PathBuf::from(&python).with_file_name("st");
    assert!(st.exists(), "no schemathesis at {}: scripts/test-servers.sh installs it", st.display());
    let dir = temp_dir("api-fuzz");
    let server = Server::start_with_env(&dir, &[("SLUICE_RATE_LIMIT", "0")]);
    let group = server.banner_value("groupId");
    let c = owner(&server, "MD5");
    let sa = cli(&server.dir, &["service-accounts", "create", "--project", &group, "--role", "GROUP_OWNER"]);
    let token = c.oauth_token(&line_value(&sa, "clientId"), &line_value(&sa, "clientSecret")).await.expect("token");
    // A workspace with a Kafka connection and a processor, so that requests naming them reach
    // past the lookups; and one of each to delete, so that the deletes do not take them away.
    let streams = sample_workspace(&c, &server).await;
    let region = serde_json::json!({"cloudProvider": "AWS", "region": "VIRGINIA_USA"});
    let r = c.post(&streams, &serde_json::json!({"name": "doomed", "dataProcessRegion": region})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    for name in ["kafka1", "doomed"] {
        let kafka = serde_json::json!({"name": name, "type": "Kafka", "bootstrapServers": "127.0.0.1:9"});
        let r = c.post(&format!("{}/ws/connections", streams), &kafka).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    }
    for name in ["p1", "doomed"] {
        let pipeline = serde_json::json!([{"$source": {"connectionName": "sample_stream_solar"}}]);
        let r = c
            .post(&format!("{}/ws/processor", streams), &serde_json::json!({"name": name, "pipeline": pipeline}))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    }

    // The repository's contract, with the three schema details SOURCE.md documents as
    // contradicting what Atlas sends replaced by what it sends, 400 documented where the
    // contract omits it, and its discriminators in JSON Schema's terms (both explained below).
    let spec = dir.join("contract.json");
    let mut contract = support::contract::Contract::openapi_with_documented_exceptions();
    document_bad_request_everywhere(&mut contract);
    // The fuzzer picks one `oneOf` branch to generate from: each branch pinned to its value.
    sluice_api::openapi_schema::discriminators_as_json_schema(
        &mut contract["components"]["schemas"],
        sluice_api::openapi_schema::Branches::OneOf,
    );
    std::fs::write(&spec, serde_json::to_vec(&contract).expect("JSON")).expect("write the contract");
    // The project, workspace, connection and processor are the server's (random names are just
    // 404, and the deletes get names of their own); `envelope=true` is left out
    // because it changes every answer's shape (a 200 wrapping `{status, content}`) in a way
    // the contract describes in words only: `serve_contract` checks the envelope instead.
    let config = dir.join("schemathesis.toml");
    // The coverage phase (every boundary of every schema, and the methods a path lacks) takes
    // minutes over the recursive connection schemas, so it covers the operations without a
    // request body; the others get the examples and the bounded fuzzing.
    let toml = format!(
        "[parameters]\n\"path.groupId\" = \"{}\"\n\"query.envelope\" = \"false\"\n\
         \"path.tenantName\" = \"ws\"\n\"path.connectionName\" = \"kafka1\"\n\"path.processorName\" = \"p1\"\n\n\
         [[operations]]\ninclude-method = [\"POST\", \"PATCH\"]\nphases.coverage.enabled = false\n\n\
         [[operations]]\ninclude-operation-id = \"deleteGroupStreamWorkspace\"\nparameters = {{ \"path.tenantName\" = \"doomed\" }}\n\n\
         [[operations]]\ninclude-operation-id = \"deleteGroupStreamConnection\"\nparameters = {{ \"path.connectionName\" = \"doomed\" }}\n\n\
         [[operations]]\ninclude-operation-id = \"deleteGroupStreamProcessor\"\nparameters = {{ \"path.processorName\" = \"doomed\" }}\n",
        group
    );
    std::fs::write(&config, toml).expect("write the schemathesis config");
    let examples = std::env::var("SLUICE_API_FUZZ_EXAMPLES").unwrap_or_else(|_| "3".into());
    let seconds = std::env::var("SLUICE_API_FUZZ_SECONDS").unwrap_or_else(|_| "60".into());
    let out = tokio::process::Command::new(&st)
        .current_dir(&dir)
        .arg("--config-file")
        .arg(&config)
        .arg("run")
        .arg(&spec)
        .args(["--url", &format!("http://{}", server.addr)])
        .args(["-H", &format!("Authorization: Bearer {}", token)])
        // Every operation answers JSON but the two log downloads, which answer gzip.
        .args(["-H", "Accept: application/vnd.atlas.2025-03-12+json, application/vnd.atlas.2025-03-12+gzip"])
        .args(["--checks", "all", "--phases", "examples,coverage,fuzzing", "--seed", "1", "--workers", "1"])
        // The contract's request schemas are looser than the validation its own descriptions
        // (and Atlas) apply: objects are open where Atlas refuses an unknown attribute
        // (INVALID_JSON_ATTRIBUTE), names have no pattern, `provider` and `cloudProvider` list
        // their values in prose only, and `:withSampleConnections` takes any object. So a
        // schema-valid request may rightly be refused, and this one check cannot hold.
        .args(["--exclude-checks", "positive_data_acceptance"])
        .args(["--max-examples", &examples, "--max-time", &seconds, "--suppress-health-check", "all", "--no-color"])
        .output()
        .await
        .expect("schemathesis runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let summary: Vec<&str> = text.lines().filter(|l| l.contains("generated") || l.contains("passed")).collect();
    println!("{}", summary.join("\n"));
    assert!(out.status.success(), "schemathesis found answers outside the contract:\n{}", text);
    assert!(text.contains("Tested: 37"), "{}", text);
    // The server is still up and answering.
    let r = c.get(&format!("{}/ws", streams)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    server.terminate();
    let _ = std::fs::remove_dir_all(dir);
}

/// Atlas answers 400 to a malformed parameter (a page number that is not a number, an
/// unknown `:action`) on every operation, and the generated negative cases send exactly
/// those; the contract lists 400 on only 19 of its 37 operations. The others get the
/// contract's own `badRequest` response, so that every other status is still checked.
fn document_bad_request_everywhere(contract: &mut serde_json::Value) {
    let bad_request = serde_json::json!({"$ref": "#/components/responses/badRequest"});
    for item in contract["paths"].as_object_mut().expect("paths").values_mut() {
        for op in item.as_object_mut().expect("a path item").values_mut() {
            if let Some(responses) = op.get_mut("responses").and_then(serde_json::Value::as_object_mut) {
                responses.entry("400").or_insert_with(|| bad_request.clone());
            }
        }
    }
}
