//! The contract's OpenAPI 3.0 schemas as JSON Schema: what a validator (the server's request
//! check, the tests' response check, the fuzzer) needs changed before it can read them.

use serde_json::{json, Value as Json};

/// How a discriminated schema's branches are written in JSON Schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Branches {
    /// "If the property is K, then K's schema", all together: what a validator wants (a value
    /// outside the mapping is left to the property's own `enum`).
    IfThen,
    /// `oneOf` branches made exclusive by pinning the property to each mapping value: what a
    /// generator of examples wants (it picks one branch).
    OneOf,
}

/// OpenAPI's `discriminator` picks one `oneOf` branch by a property; JSON Schema's `oneOf`
/// demands that exactly one branch match, which loose branches never give (and the branches'
/// `allOf` names the parent, a cycle). So each discriminated schema of `schemas` (the contract's
/// `components.schemas`) becomes its parent's fields (a copy without the `oneOf`, which the
/// branches inherit from instead) and its branches written as `style` says.
pub fn discriminators_as_json_schema(schemas: &mut Json, style: Branches) {
    let Some(all) = schemas.as_object() else { return };
    let names: Vec<String> = all
        .iter()
        .filter(|(_, s)| s.get("discriminator").is_some() && s.get("oneOf").is_some())
        .map(|(k, _)| k.clone())
        .collect();
    for name in names {
        let mut base = schemas[&name].clone();
        let (discriminator, base) = match base.as_object_mut() {
            Some(obj) => {
                obj.remove("oneOf");
                (obj.remove("discriminator").unwrap_or(Json::Null), base)
            }
            None => continue,
        };
        let base_name = format!("{}__base", name);
        schemas[&base_name] = base;
        let parent_ref = json!({"$ref": format!("#/components/schemas/{}", name)});
        let base_ref = json!({"$ref": format!("#/components/schemas/{}", base_name)});
        if let Some(all) = schemas.as_object_mut() {
            for schema in all.values_mut() {
                if let Some(parts) = schema.get_mut("allOf").and_then(Json::as_array_mut) {
                    for item in parts.iter_mut().filter(|i| **i == parent_ref) {
                        *item = base_ref.clone();
                    }
                }
            }
        }
        let prop = discriminator["propertyName"].as_str().unwrap_or("type").to_string();
        let branches: Vec<Json> = discriminator["mapping"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(value, target)| match style {
                Branches::IfThen => json!({"if": {"properties": {&prop: {"const": value}}, "required": [&prop]},
                    "then": {"$ref": target}}),
                Branches::OneOf => json!({"allOf": [{"$ref": target},
                    {"properties": {&prop: {"enum": [value]}}, "required": [&prop]}]}),
            })
            .collect();
        schemas[&name] = match style {
            Branches::IfThen => json!({"allOf": [base_ref, {"allOf": branches}]}),
            Branches::OneOf => json!({"allOf": [base_ref], "oneOf": branches}),
        };
    }
}

/// OpenAPI 3.0's `nullable: true` is JSON Schema's `null` among the types.
pub fn nullable_as_json_schema(v: &mut Json) {
    match v {
        Json::Object(m) => {
            if m.get("nullable") == Some(&Json::Bool(true)) {
                m.remove("nullable");
                let inner = Json::Object(std::mem::take(m));
                m.insert("anyOf".into(), json!([{"type": "null"}, inner]));
            } else {
                m.values_mut().for_each(nullable_as_json_schema);
            }
        }
        Json::Array(a) => a.iter_mut().for_each(nullable_as_json_schema),
        _ => {}
    }
}
