//! Responses checked against the contract (`spec/atlas-streams-openapi.json`): the
//! schema of the operation's response for the status received, with the three exceptions
//! `SOURCE.md` lists (where the upstream schema contradicts what Atlas sends).

#![allow(dead_code)]

use serde_json::{json, Value as Json};

use sluice_api::openapi_schema::{discriminators_as_json_schema, Branches};

use super::Reply;

/// OpenAPI: a `writeOnly` property "SHALL NOT be sent as part of the response" and its
/// `required` applies to requests only. These schemas check responses, so a password the
/// server keeps to itself is not missing. (The contract lists some of them as required beside
/// an `allOf` that declares them, so the names are gathered from every schema first.)
fn write_only_not_required(schemas: &mut Json) {
    fn gather(v: &Json, out: &mut Vec<Json>) {
        match v {
            Json::Object(m) => {
                for (k, s) in m.get("properties").and_then(Json::as_object).into_iter().flatten() {
                    if s["writeOnly"] == json!(true) && !out.contains(&json!(k)) {
                        out.push(json!(k));
                    }
                }
                m.values().for_each(|v| gather(v, out));
            }
            Json::Array(a) => a.iter().for_each(|v| gather(v, out)),
            _ => {}
        }
    }
    fn drop_required(v: &mut Json, names: &[Json]) {
        match v {
            Json::Object(m) => {
                if let Some(required) = m.get_mut("required").and_then(Json::as_array_mut) {
                    required.retain(|r| !names.contains(r));
                }
                m.values_mut().for_each(|v| drop_required(v, names));
            }
            Json::Array(a) => a.iter_mut().for_each(|v| drop_required(v, names)),
            _ => {}
        }
    }
    let mut names = Vec::new();
    gather(schemas, &mut names);
    drop_required(schemas, &names);
}

/// One operation as the contract declares it.
pub struct ContractOperation {
    pub id: String,
    /// GET, POST, PATCH or DELETE.
    pub method: reqwest::Method,
    /// The path template, `{groupId}` and the other parameters unfilled.
    pub path: String,
    /// Every status its responses document.
    pub statuses: Vec<u16>,
    /// The media type of its success response, the newest version the contract lists.
    pub accept: String,
}

/// The contract, loaded once per test.
pub struct Contract {
    spec: Json,
}

impl Contract {
    /// Reads the contract and applies `SOURCE.md`'s exceptions.
    pub fn load() -> Contract {
        let mut spec = Contract::openapi_with_documented_exceptions();
        discriminators_as_json_schema(&mut spec["components"]["schemas"], Branches::IfThen);
        write_only_not_required(&mut spec["components"]["schemas"]);
        Contract { spec }
    }

    /// The repository's contract as an OpenAPI document, with only the three schema details
    /// `SOURCE.md` lists as contradicting what Atlas sends replaced by what it sends.
    pub fn openapi_with_documented_exceptions() -> Json {
        // Read at run time: a target dir shared by clones at other paths keeps another's path.
        let manifest = std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into());
        let path = std::path::Path::new(&manifest).join("../../spec/atlas-streams-openapi.json");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {}", path.display(), e));
        let mut spec: Json = serde_json::from_str(&text).expect("the contract is JSON");
        let schemas = &mut spec["components"]["schemas"];
        // The region is sent as a string (`VIRGINIA_USA`).
        schemas["BaseStreamsRegion"] = json!({"type": "string"});
        // Processor stats are numbers (and Sluice's extensions), not objects.
        if let Some(stats) = schemas["StreamsProcessorWithStats"]["properties"].get_mut("stats") {
            *stats = json!({"type": "object"});
        }
        // ApiError.parameters are plain strings.
        if let Some(p) = schemas["ApiError"]["properties"].get_mut("parameters") {
            *p = json!({"type": "array", "items": {}});
        }
        spec
    }

    /// Every operation of the contract.
    pub fn operations(&self) -> Vec<ContractOperation> {
        let mut out = Vec::new();
        for (path, item) in self.spec["paths"].as_object().expect("paths") {
            for (method, op) in item.as_object().expect("a path item") {
                let Ok(method) = method.to_uppercase().parse::<reqwest::Method>() else { continue };
                let Some(responses) = op.get("responses").and_then(Json::as_object) else { continue };
                let statuses: Vec<u16> = responses.keys().filter_map(|k| k.parse().ok()).collect();
                let success = responses.iter().find(|(k, _)| k.starts_with('2')).map(|(_, r)| r);
                let accept = success
                    .and_then(|r| r.get("content"))
                    .and_then(Json::as_object)
                    .and_then(|c| c.keys().max().cloned())
                    .unwrap_or_else(|| "application/vnd.atlas.2023-02-01+json".into());
                out.push(ContractOperation {
                    id: op["operationId"].as_str().expect("operationId").to_string(),
                    method,
                    path: path.clone(),
                    statuses,
                    accept,
                });
            }
        }
        out
    }

    /// The response schema of `operation_id` for `status`, as a JSON pointer-free schema
    /// (`$ref` into this contract's components), or None when the contract declares no body.
    fn response_schema(&self, operation_id: &str, status: u16) -> Option<Json> {
        let op = self.spec["paths"]
            .as_object()
            .expect("paths")
            .values()
            .flat_map(|item| item.as_object().into_iter().flat_map(|m| m.values()))
            .find(|o| o["operationId"] == operation_id)
            .unwrap_or_else(|| panic!("no operation {} in the contract", operation_id));
        let mut response = op["responses"]
            .get(status.to_string())
            .unwrap_or_else(|| panic!("the contract lists no {} response for {}", status, operation_id));
        if let Some(r) = response.get("$ref").and_then(Json::as_str) {
            let name = r.trim_start_matches("#/components/responses/");
            response = &self.spec["components"]["responses"][name];
        }
        let content = response.get("content")?.as_object()?;
        let (_, media) = content.iter().next()?;
        // Some operations declare a media type but no schema (`:start` answers `{}`).
        media.get("schema").cloned()
    }

    /// Panics, naming every violation, unless `reply`'s body is what the contract says
    /// `operation_id` answers with its status.
    pub fn assert_valid(&self, operation_id: &str, reply: &Reply) {
        let status = reply.status.as_u16();
        let Some(schema) = self.response_schema(operation_id, status) else {
            assert!(
                reply.raw.is_empty() || reply.body == json!({}),
                "{} {}: the contract declares no body",
                operation_id,
                status
            );
            return;
        };
        let root = json!({"allOf": [schema], "components": self.spec["components"]});
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft7)
            .build(&root)
            .unwrap_or_else(|e| panic!("{} {}: the contract's schema does not compile: {}", operation_id, status, e));
        let errors: Vec<String> =
            validator.iter_errors(&reply.body).map(|e| format!("{} at {}", e, e.instance_path())).collect();
        assert!(
            errors.is_empty(),
            "{} {} does not match the contract:\n{}\nbody: {}",
            operation_id,
            status,
            errors.join("\n"),
            reply.body
        );
    }
}
