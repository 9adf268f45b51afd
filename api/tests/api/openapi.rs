//! The OpenAPI document: served, committed, and in step with the code.

use std::path::PathBuf;

use crate::helpers::{Backend, spawn_app};

fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../openapi/openapi.json")
}

#[test]
fn openapi_committed_document_matches_the_code() {
    let generated = format!("{}\n", hubkeep_api::openapi::document_json());
    if std::env::var_os("HUBKEEP_BLESS").is_some() {
        std::fs::write(committed_path(), &generated).unwrap();
    }
    let committed = std::fs::read_to_string(committed_path()).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi/openapi.json is out of date: run `just openapi` and review the diff"
    );
}

#[test]
fn openapi_document_is_3_1_and_every_operation_is_named_tagged_and_secured() {
    let doc: serde_json::Value =
        serde_json::from_str(&hubkeep_api::openapi::document_json()).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let mut ids = std::collections::BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path}"));
            assert!(ids.insert(id.to_owned()), "duplicate operationId {id}");
            assert!(!op["tags"].as_array().unwrap().is_empty(), "{id} has a tag");
            assert!(op["summary"].is_string(), "{id} has a summary");
            assert!(op["security"].is_array(), "{id} states its security");
            let responses = op["responses"].as_object().unwrap();
            for (status, response) in responses {
                assert!(
                    response["description"].is_string(),
                    "{id} {status} has a description"
                );
                if status.starts_with('4') || status.starts_with('5') {
                    assert!(
                        response["content"]["application/problem+json"].is_object(),
                        "{id} {status} is problem+json"
                    );
                }
            }
            let secured = op["security"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s.get("bearer").is_some());
            if secured {
                assert!(responses.contains_key("401"), "{id} documents 401");
            }
        }
    }
    for id in [
        "get_healthz",
        "get_readyz",
        "get_permissions",
        "get_openapi",
        "launch",
        "refresh_session",
        "logout",
        "get_me",
        "list_my_tokens",
        "create_my_token",
        "revoke_my_token",
        "list_demo_identities",
        "demo_launch",
        "list_security_levels",
        "get_elevated_levels",
        "save_elevated_levels",
        "list_users",
        "get_user",
        "update_user",
        "refresh_users",
        "list_tenant_tokens",
        "revoke_tenant_token",
        "get_settings",
        "update_settings",
        "rotate_launch_secret",
        "list_activity",
        "get_activity",
        "create_connection",
        "list_connections",
        "list_governance_connections",
        "get_connection",
        "update_connection",
        "pay_connection",
        "cancel_connection",
        "disconnect_endpoint",
        "reconnect_endpoint",
        "create_engine_token",
        "list_engine_tokens",
        "revoke_engine_token",
        "request_run",
        "list_runs",
        "hide_run",
        "unhide_run",
        "report_run_progress",
        "get_sync_status",
        "list_views",
        "create_view",
        "update_view",
        "delete_view",
        "list_connection_members",
        "remove_member_role",
        "leave_connection",
        "create_invitation",
        "list_connection_invitations",
        "list_my_invitations",
        "accept_invitation",
        "decline_invitation",
        "revoke_invitation",
        "recover_ownership",
    ] {
        assert!(ids.contains(id), "{id} documented");
    }
}

#[tokio::test]
async fn openapi_served_document_is_the_committed_one() {
    let app = spawn_app(Backend::Sqlite).await;
    let res = app.get("/api/v1/openapi.json").await;
    assert_eq!(res.status(), 200);
    let served: serde_json::Value = res.json().await.unwrap();
    let committed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(committed_path()).unwrap()).unwrap();
    assert_eq!(served, committed);
}
