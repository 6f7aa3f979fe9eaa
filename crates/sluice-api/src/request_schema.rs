//! Request bodies checked against the contract's own schemas (`spec/atlas-streams-openapi.json`,
//! built into the binary) before anything is stored, so that every later read of what was
//! stored matches the contract too. A violation is Atlas's 400 naming the attribute, with the
//! codes the hand-written checks of `body.rs` use: `MISSING_ATTRIBUTE`, `INVALID_ENUM_VALUE`,
//! `INVALID_JSON_ATTRIBUTE` for an undeclared one, `INVALID_ATTRIBUTE` for a wrong type or value.

use std::collections::HashMap;
use std::sync::OnceLock;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{Draft, Validator};
use serde_json::{json, Map, Value as Json};

use crate::error::ApiError;
use crate::openapi_schema::{discriminators_as_json_schema, nullable_as_json_schema, Branches};

/// The contract, as the repository keeps it.
const CONTRACT: &str = include_str!("../../../spec/atlas-streams-openapi.json");

/// A schema of the contract that a request body must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestSchema {
    /// `StreamsTenant`: a workspace to create.
    Workspace,
    /// `StreamsTenantUpdateRequest`: a workspace's changes.
    WorkspaceUpdate,
    /// `StreamsConnection`: a connection as stored (created, or after a PATCH).
    Connection,
    /// `StreamsFailoverConnection`: a failover connection as stored.
    FailoverConnection,
    /// `StreamsPrivateLinkConnection`: a Private Link record as stored.
    PrivateLink,
    /// `StreamsPrivateLinkConnectionRequest`: a Private Link PATCH body.
    PrivateLinkUpdate,
    /// `StreamsProcessor`: a processor to create.
    Processor,
    /// `StreamsModifyStreamProcessor`: a processor's changes.
    ProcessorUpdate,
    /// `StreamsStartStreamProcessorWith`: the options of `:startWith`.
    StartWith,
}

impl RequestSchema {
    const ALL: [RequestSchema; 9] = [
        RequestSchema::Workspace,
        RequestSchema::WorkspaceUpdate,
        RequestSchema::Connection,
        RequestSchema::FailoverConnection,
        RequestSchema::PrivateLink,
        RequestSchema::PrivateLinkUpdate,
        RequestSchema::Processor,
        RequestSchema::ProcessorUpdate,
        RequestSchema::StartWith,
    ];

    /// The schema's name in the contract's `components.schemas`.
    fn name(self) -> &'static str {
        match self {
            RequestSchema::Workspace => "StreamsTenant",
            RequestSchema::WorkspaceUpdate => "StreamsTenantUpdateRequest",
            RequestSchema::Connection => "StreamsConnection",
            RequestSchema::FailoverConnection => "StreamsFailoverConnection",
            RequestSchema::PrivateLink => "StreamsPrivateLinkConnection",
            RequestSchema::PrivateLinkUpdate => "StreamsPrivateLinkConnectionRequest",
            RequestSchema::Processor => "StreamsProcessor",
            RequestSchema::ProcessorUpdate => "StreamsModifyStreamProcessor",
            RequestSchema::StartWith => "StreamsStartStreamProcessorWith",
        }
    }

    /// 400 naming the first attribute of `body` the schema refuses.
    pub fn check(self, body: &Map<String, Json>) -> Result<(), ApiError> {
        let Some(validators) = validators() else {
            // The contract is compiled into the binary and tested to load (see the tests below).
            return Err(ApiError::unexpected("the contract's request schemas do not compile"));
        };
        let Some(v) = validators.get(&self) else {
            return Err(ApiError::unexpected("a request schema is missing from the contract"));
        };
        let instance = Json::Object(body.clone());
        let first = v.iter_errors(&instance).next().map(|e| to_api_error(&e));
        match first {
            None => Ok(()),
            Some(e) => Err(e),
        }
    }

    /// The attributes the schema declares for a connection of type `ctype` (its discriminator
    /// branch and what that branch inherits), so that undeclared ones can be refused.
    pub fn declared_attributes(self, ctype: &str) -> Vec<String> {
        let Some(spec) = contract() else { return Vec::new() };
        let schemas = &spec["components"]["schemas"];
        let root = &schemas[self.name()];
        let branch = root["discriminator"]["mapping"].get(ctype).and_then(Json::as_str);
        let mut out = Vec::new();
        collect_properties(schemas, root, &mut out);
        if let Some(b) = branch {
            collect_properties(schemas, &schemas[b.trim_start_matches("#/components/schemas/")], &mut out);
        }
        out
    }
}

/// The property names of `schema` and of the schemas its `allOf` names.
fn collect_properties(schemas: &Json, schema: &Json, out: &mut Vec<String>) {
    if let Some(p) = schema.get("properties").and_then(Json::as_object) {
        out.extend(p.keys().filter(|k| !out.contains(k)).cloned().collect::<Vec<_>>());
    }
    for part in schema.get("allOf").and_then(Json::as_array).into_iter().flatten() {
        match part.get("$ref").and_then(Json::as_str) {
            // The branches name their parent; its properties are already in.
            Some(r) => {
                let target = &schemas[r.trim_start_matches("#/components/schemas/")];
                if target.get("discriminator").is_none() {
                    collect_properties(schemas, target, out);
                }
            }
            None => collect_properties(schemas, part, out),
        }
    }
}

/// The contract parsed, once.
fn contract() -> Option<&'static Json> {
    static SPEC: OnceLock<Option<Json>> = OnceLock::new();
    SPEC.get_or_init(|| serde_json::from_str(CONTRACT).ok()).as_ref()
}

/// One compiled validator per request schema, built once.
fn validators() -> Option<&'static HashMap<RequestSchema, Validator>> {
    static VALIDATORS: OnceLock<Option<HashMap<RequestSchema, Validator>>> = OnceLock::new();
    VALIDATORS.get_or_init(build).as_ref()
}

fn build() -> Option<HashMap<RequestSchema, Validator>> {
    let mut components = contract()?["components"].clone();
    let schemas = &mut components["schemas"];
    // SOURCE.md: the region is sent as a string (`VIRGINIA_USA`), not the declared object.
    schemas["BaseStreamsRegion"] = json!({"type": "string"});
    // A pipeline stage is `Document`, declared as an object of objects; but a stage's value is
    // any value (`{"$limit": 5}`, `{"$unset": "a"}`), and the pipeline parser checks stages and
    // names the one at fault. So a stage is only required to be an object here.
    schemas["Document"] = json!({"type": "object"});
    discriminators_as_json_schema(schemas, Branches::IfThen);
    nullable_as_json_schema(schemas);
    let mut out = HashMap::new();
    for s in RequestSchema::ALL {
        let root = json!({"allOf": [{"$ref": format!("#/components/schemas/{}", s.name())}], "components": components});
        let v = jsonschema::options().with_draft(Draft::Draft7).should_validate_formats(true).build(&root).ok()?;
        out.insert(s, v);
    }
    Some(out)
}

/// `/a/b/0` as the dotted path the other checks name (`a.b.0`).
fn dotted(pointer: &str) -> String {
    pointer.trim_start_matches('/').replace('/', ".").replace("~1", "/").replace("~0", "~")
}

fn type_name(kind: &TypeKind) -> String {
    let name = |t: &jsonschema::JsonType| match t.to_string().as_str() {
        "object" => "an object".to_string(),
        "array" => "an array".to_string(),
        "integer" => "an integer".to_string(),
        other => format!("a {}", other),
    };
    match kind {
        TypeKind::Single(t) => name(t),
        TypeKind::Multiple(ts) => ts.iter().map(|t| name(&t)).collect::<Vec<_>>().join(" or "),
    }
}

fn to_api_error(e: &jsonschema::ValidationError) -> ApiError {
    let path = dotted(e.instance_path().as_str());
    let child = |name: &str| if path.is_empty() { name.to_string() } else { format!("{}.{}", path, name) };
    match e.kind() {
        ValidationErrorKind::Required { property } => missing(&child(property.as_str().unwrap_or_default())),
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            ApiError::unknown_attribute(&child(unexpected.first().map(String::as_str).unwrap_or_default()))
        }
        ValidationErrorKind::Enum { .. } | ValidationErrorKind::Constant { .. } => match e.instance().as_str() {
            Some(value) => ApiError::invalid_enum(&path, value),
            None => ApiError::invalid_attribute(&path, "not one of the allowed values"),
        },
        ValidationErrorKind::Type { kind } => {
            ApiError::invalid_attribute(&path, &format!("must be {}", type_name(kind)))
        }
        _ => ApiError::invalid_attribute(&path, &e.to_string()),
    }
}

fn missing(path: &str) -> ApiError {
    ApiError::missing_attribute(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Json) -> Map<String, Json> {
        v.as_object().cloned().expect("an object")
    }

    fn err(s: RequestSchema, v: Json) -> (&'static str, Vec<String>) {
        let e = s.check(&obj(v)).expect_err("refused");
        (e.code, e.fields.iter().map(|(f, _)| f.clone()).collect())
    }

    #[test]
    fn every_request_schema_compiles() {
        assert_eq!(validators().map(HashMap::len), Some(RequestSchema::ALL.len()));
    }

    #[test]
    fn wrong_types_name_the_attribute() {
        let e = RequestSchema::PrivateLinkUpdate.check(&obj(json!({"dnsDomain": {}}))).expect_err("refused");
        assert_eq!((e.code, e.parameters.clone()), ("INVALID_ATTRIBUTE", vec!["dnsDomain".to_string()]));
        assert!(e.detail.contains("must be a string"), "{}", e.detail);
        assert!(RequestSchema::PrivateLinkUpdate.check(&obj(json!({"dnsDomain": "x.example"}))).is_ok());
        assert_eq!(
            err(
                RequestSchema::Workspace,
                json!({"name": "w", "dataProcessRegion": {"cloudProvider": "AWS", "region": 3}})
            ),
            ("INVALID_ATTRIBUTE", vec!["dataProcessRegion.region".to_string()])
        );
        assert_eq!(
            err(RequestSchema::Workspace, json!({"name": "w", "dataProcessRegion": {"region": "VIRGINIA_USA"}})),
            ("MISSING_ATTRIBUTE", vec!["dataProcessRegion.cloudProvider".to_string()])
        );
        assert_eq!(
            err(RequestSchema::ProcessorUpdate, json!({"tier": "SP1000"})),
            ("INVALID_ENUM_VALUE", vec!["tier".to_string()])
        );
        // A stage's value is any value; the pipeline parser judges stages.
        let stages = json!([{"$source": {"connectionName": "s"}}, {"$limit": 5}, {"$unset": "a"}, {"$nope": 1}]);
        assert!(RequestSchema::Processor.check(&obj(json!({"name": "p", "pipeline": stages}))).is_ok());
        assert_eq!(
            err(RequestSchema::Processor, json!({"name": "p", "pipeline": [1]})),
            ("INVALID_ATTRIBUTE", vec!["pipeline.0".to_string()])
        );
        // OpenAPI's nullable.
        assert!(RequestSchema::Workspace.check(&obj(json!({"name": "w", "streamConfig": null}))).is_ok());
    }

    #[test]
    fn connections_are_checked_by_their_type() {
        let kafka = json!({"name": "k", "type": "Kafka", "bootstrapServers": "b:9092", "config": {"a": 1}});
        assert_eq!(err(RequestSchema::Connection, kafka), ("INVALID_ATTRIBUTE", vec!["config.a".to_string()]));
        let registry = json!({"name": "r", "type": "SchemaRegistry", "provider": "CONFLUENT",
            "schemaRegistryUrls": ["https://r.example"], "schemaRegistryAuthentication": {"type": 7}});
        assert_eq!(
            err(RequestSchema::Connection, registry),
            ("INVALID_ATTRIBUTE", vec!["schemaRegistryAuthentication.type".to_string()])
        );
        let registry = json!({"name": "r", "type": "SchemaRegistry", "provider": "CONFLUENT"});
        assert_eq!(err(RequestSchema::Connection, registry).0, "MISSING_ATTRIBUTE");
        assert!(RequestSchema::Connection
            .check(&obj(json!({"name": "sample_stream_solar", "type": "Sample"})))
            .is_ok());
        let failover = json!({"type": "Kafka", "bootstrapServers": "b:9092", "security": {"protocol": {"deep": [1]}}});
        assert_eq!(
            err(RequestSchema::FailoverConnection, failover),
            ("INVALID_ATTRIBUTE", vec!["security.protocol".to_string()])
        );
        let declared = RequestSchema::Connection.declared_attributes("SchemaRegistry");
        for k in ["name", "type", "provider", "schemaRegistryUrls", "schemaRegistryAuthentication"] {
            assert!(declared.iter().any(|d| d == k), "{} in {:?}", k, declared);
        }
        assert!(!declared.iter().any(|d| d == "bootstrapServers"));
    }
}
