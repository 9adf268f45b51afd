//! The OpenAPI document: served, committed, and in step with the code.

use std::path::PathBuf;

use crate::helpers::{Backend, spawn_app};

fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../openapi/openapi.json")
}

#[test]
fn openapi_committed_document_matches_the_code() {
    let generated = format!("{}\n", hubkeep_api::http::openapi::document_json());
    if std::env::var_os("HUBKEEP_BLESS").is_some() {
        std::fs::write(committed_path(), &generated).unwrap();
    }
    let committed = std::fs::read_to_string(committed_path()).unwrap_or_default();
    similar_asserts::assert_eq!(
        committed,
        generated,
        "openapi/openapi.json is out of date: run `just openapi` and review the diff"
    );
}

/// The operations anyone may call without credentials.
const PUBLIC: [&str; 13] = [
    "get_healthz",
    "get_readyz",
    "get_permissions",
    "get_openapi",
    "launch_session",
    "refresh_session",
    "list_demo_identities",
    // OpenID Connect sign-in (SPEC S13): the provider's answer is the credential.
    "get_tenant_sign_in",
    "start_oidc_sign_in",
    "finish_oidc_sign_in",
    "exchange_oidc_code",
    // Autotask's callouts: the signature is the credential.
    "receive_autotask_callout",
    "receive_autotask_deactivation",
];

fn document() -> serde_json::Value {
    hubkeep_api::http::openapi::document()
}

#[test]
fn openapi_document_is_3_1_and_every_operation_is_named_tagged_described_and_secured() {
    let doc = document();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    const VERBS: [&str; 35] = [
        "get",
        "test",
        "list",
        "create",
        "update",
        "save",
        "delete",
        "revoke",
        "launch",
        "refresh",
        "end",
        "cancel",
        "pay",
        "disconnect",
        "reconnect",
        "leave",
        "remove",
        "recover",
        "accept",
        "decline",
        "request",
        "report",
        "hide",
        "unhide",
        "rotate",
        "reconcile",
        "subscribe",
        "unsubscribe",
        "receive",
        "start",
        "finish",
        "exchange",
        "export",
        "search",
        "retry",
    ];
    let verb_noun = |id: &str| {
        let words: Vec<&str> = id.split('_').collect();
        words.len() >= 2
            && VERBS.contains(&words[0])
            && words
                .iter()
                .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
    };
    let mut ids = std::collections::BTreeSet::new();
    let mut public = Vec::new();
    for (method, path, op) in hubkeep_api::http::openapi::operations(&doc) {
        let id = op["operationId"]
            .as_str()
            .unwrap_or_else(|| panic!("{method} {path} has an operationId"));
        assert!(ids.insert(id.to_owned()), "duplicate operationId {id}");
        assert!(verb_noun(id), "{id} is verb_noun");
        assert_eq!(op["tags"].as_array().unwrap().len(), 1, "{id} has one tag");
        assert!(op["summary"].is_string(), "{id} has a summary");
        assert!(op["description"].is_string(), "{id} has a description");
        let security = op["security"].as_array().unwrap();
        let schemes: Vec<&str> = security
            .iter()
            .flat_map(|s| s.as_object().unwrap().keys().map(String::as_str))
            .collect();
        if schemes.is_empty() {
            public.push(id.to_owned());
        }
        let responses = op["responses"].as_object().unwrap();
        // The OIDC sign-in's navigations succeed with a redirect.
        assert!(
            responses
                .keys()
                .any(|s| s.starts_with('2') || (s.starts_with('3') && id.ends_with("_sign_in"))),
            "{id} documents its success"
        );
        let errors: Vec<&String> = responses
            .keys()
            .filter(|s| s.starts_with('4') || s.starts_with('5'))
            .collect();
        if id != "get_healthz" && id != "get_openapi" && id != "get_permissions" {
            assert!(!errors.is_empty(), "{id} documents its errors");
        }
        if !schemes.is_empty() {
            assert!(responses.contains_key("401"), "{id} documents 401");
        }
        for status in errors {
            let content = &responses[status]["content"]["application/problem+json"];
            assert_eq!(
                content["schema"]["$ref"], "#/components/schemas/Problem",
                "{id} {status} is a problem"
            );
            let examples = content["examples"].as_object().unwrap();
            assert!(!examples.is_empty(), "{id} {status} lists its codes");
            for (code, example) in examples {
                assert_eq!(example["value"]["code"], code.as_str(), "{id} {status}");
                assert_eq!(example["value"]["status"].to_string(), *status, "{id}");
                assert!(
                    responses[status]["description"]
                        .as_str()
                        .unwrap()
                        .contains(&format!("`{code}`")),
                    "{id} {status} names `{code}` in its description"
                );
            }
        }
        assert!(
            hubkeep_api::http::openapi::problems::specific(id).is_some(),
            "{id} is in api/src/http/openapi/problems.rs"
        );
    }
    public.sort();
    let mut expected = PUBLIC.to_vec();
    expected.push("launch_demo_session");
    expected.sort();
    assert_eq!(public, expected, "only these operations are public");
    assert_eq!(ids.len(), 76, "every operation is documented");
}

#[test]
fn openapi_scripts_can_use_api_tokens_except_where_only_a_person_may_act() {
    let doc = document();
    for (_, _, op) in hubkeep_api::http::openapi::operations(&doc) {
        let id = op["operationId"].as_str().unwrap();
        let security = serde_json::to_string(&op["security"]).unwrap();
        let expected = match id {
            _ if PUBLIC.contains(&id) || id == "launch_demo_session" => "[{}]",
            "end_session" | "create_my_token" | "create_engine_token" | "rotate_launch_secret" => {
                r#"[{"session":[]}]"#
            }
            "report_run_progress" => r#"[{"engine_token":[]}]"#,
            _ => r#"[{"session":[]},{"api_token":[]}]"#,
        };
        assert_eq!(security, expected, "{id}");
    }
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    assert_eq!(
        schemes.keys().collect::<Vec<_>>(),
        ["api_token", "engine_token", "session"]
    );
    assert_eq!(schemes["session"]["bearerFormat"], "JWT");
}

/// Walks a schema; `path` names where it is, for the message.
fn inline_objects(schema: &serde_json::Value, path: String, out: &mut Vec<String>) {
    match schema {
        serde_json::Value::Object(map) => {
            if map.contains_key("properties") {
                out.push(path.clone());
            }
            for (key, value) in map {
                inline_objects(value, format!("{path}/{key}"), out);
            }
        }
        serde_json::Value::Array(items) => {
            for (i, value) in items.iter().enumerate() {
                inline_objects(value, format!("{path}/{i}"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn openapi_has_no_anonymous_object_schemas_and_bodies_are_named() {
    let doc = document();
    let mut found = Vec::new();
    for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
        // A named schema's own properties are fine; an object schema nested inside one is
        // anonymous, except the extra fields of an `allOf` that extends a named schema.
        for (key, value) in schema.as_object().unwrap() {
            match key.as_str() {
                "properties" => {
                    for (prop, value) in value.as_object().unwrap() {
                        inline_objects(value, format!("{name}.{prop}"), &mut found);
                    }
                }
                "allOf" => {
                    for part in value.as_array().unwrap() {
                        for (prop, value) in part["properties"].as_object().into_iter().flatten() {
                            inline_objects(value, format!("{name}.{prop}"), &mut found);
                        }
                    }
                }
                _ => inline_objects(value, format!("{name}/{key}"), &mut found),
            }
        }
    }
    for (method, path, op) in hubkeep_api::http::openapi::operations(&doc) {
        let id = op["operationId"].as_str().unwrap();
        inline_objects(&op["requestBody"], format!("{id} request"), &mut found);
        for (status, response) in op["responses"].as_object().unwrap() {
            for (media, content) in response["content"].as_object().into_iter().flatten() {
                inline_objects(
                    &content["schema"],
                    format!("{method} {path} {status} {media}"),
                    &mut found,
                );
            }
        }
    }
    assert!(found.is_empty(), "anonymous object schemas: {found:#?}");
    assert_eq!(
        doc["components"]["schemas"]["Page_Connection"]["properties"]["items"]["items"]["$ref"],
        "#/components/schemas/Connection"
    );
}

#[test]
fn openapi_request_bodies_and_their_schemas_have_examples() {
    let doc = document();
    // And the shapes scripts meet first (SPEC S8.1).
    for name in ["User", "Me", "TokenResponse", "CreatedToken"] {
        assert!(
            doc["components"]["schemas"][name]["examples"].is_array(),
            "{name} has an example"
        );
    }
    for (_, _, op) in hubkeep_api::http::openapi::operations(&doc) {
        let id = op["operationId"].as_str().unwrap();
        let Some(schema) =
            op["requestBody"]["content"]["application/json"]["schema"]["$ref"].as_str()
        else {
            continue;
        };
        let name = schema.rsplit('/').next().unwrap();
        let schema = &doc["components"]["schemas"][name];
        assert!(
            schema["examples"].is_array() || schema["example"].is_object(),
            "{id}: {name} has an example"
        );
    }
}

/// The pagination parameters are documented where lists are paged.
#[test]
fn openapi_paged_lists_document_limit_and_cursor() {
    let doc = document();
    for (method, path, op) in hubkeep_api::http::openapi::operations(&doc) {
        let id = op["operationId"].as_str().unwrap();
        let paged = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
            .as_str()
            .is_some_and(|r| r.contains("/Page_"));
        if !paged {
            continue;
        }
        let names: Vec<&str> = op["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["in"] == "query")
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert!(
            names.contains(&"limit") && names.contains(&"cursor"),
            "{id} ({method} {path}) documents limit and cursor: {names:?}"
        );
    }
}

#[tokio::test]
async fn openapi_served_document_is_the_committed_one() {
    let app = spawn_app(Backend::Sqlite).await;
    let served = app.anonymous().get_openapi().await.expect_json(200).await;
    let committed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(committed_path()).unwrap()).unwrap();
    assert_eq!(served, committed);
}

#[test]
fn openapi_contract_check_flags_undocumented_statuses_and_codes() {
    use hubkeep_api::http::openapi::check::Contract;
    let contract = Contract::from_document(&document());
    contract.check("GET", "/api/v1/users", 200, None);
    contract.check(
        "PATCH",
        "/api/v1/users/{id}",
        403,
        Some("self_deactivation_forbidden"),
    );
    contract.check("GET", "/not/an/operation", 500, Some("internal_error"));
    assert!(
        contract.violations().is_empty(),
        "{:?}",
        contract.violations()
    );

    contract.check("GET", "/api/v1/me", 409, Some("conflict"));
    contract.check(
        "PATCH",
        "/api/v1/users/{id}",
        409,
        Some("owner_must_transfer"),
    );
    contract.check("GET", "/api/v1/users", 500, Some("internal_error"));
    contract.check("GET", "/api/v1/users", 403, Some("owner_must_transfer"));
    let violations = contract.violations();
    assert_eq!(violations.len(), 4, "{violations:#?}");
    assert!(violations[0].starts_with("get_me (GET /api/v1/me) answered 409"));
    assert!(violations[3].contains("`owner_must_transfer`, which its error responses do not list"));
}

fn refs<'a>(value: &'a serde_json::Value, out: &mut Vec<&'a str>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value.as_str()) {
                    ("$ref", Some(target)) => out.push(target),
                    _ => refs(value, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[test]
fn openapi_every_reference_resolves() {
    let doc = document();
    let mut found = Vec::new();
    refs(&doc, &mut found);
    assert!(found.len() > 100, "{} references", found.len());
    for target in found {
        let pointer = target
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("{target} is local"));
        assert!(doc.pointer(pointer).is_some(), "{target} resolves");
    }
}

/// `docs/api.md`'s error-code table is generated from the code (`just api-doc`).
#[test]
fn api_doc_error_codes_table_is_generated_from_the_code() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/api.md");
    let page = std::fs::read_to_string(&path).unwrap();
    let begin = page
        .find("<!-- error-codes:begin")
        .expect("the begin marker");
    let begin = begin + page[begin..].find("-->\n").unwrap() + 4;
    let end = page
        .find("<!-- error-codes:end -->")
        .expect("the end marker");
    let generated = hubkeep_api::http::openapi::error_code_table();
    if std::env::var_os("HUBKEEP_BLESS").is_some() {
        let updated = format!("{}{}{}", &page[..begin], generated, &page[end..]);
        std::fs::write(&path, updated).unwrap();
        return;
    }
    assert!(
        page[begin..end] == generated,
        "docs/api.md's error codes are out of date: run `just api-doc`"
    );
    for code in hubkeep_shared::ProblemCode::all() {
        assert!(generated.contains(&format!("| `{}` |", code.as_str())));
    }
}
