//! HTTP routes. Every API operation is registered through [`configure`], which goes through
//! utoipa's actix integration: a route cannot exist without being in the OpenAPI document.

pub mod activity;
pub mod auth;
pub mod connection_actions;
pub mod connections;
pub mod console;
pub mod demo;
pub mod health;
pub mod me;
pub mod members;
pub mod meta;
pub mod notifications;
pub mod oidc;
pub mod permissions;
pub mod psa;
pub mod runs;
pub mod settings;
pub mod tokens;
pub mod users;
pub mod views;

use utoipa_actix_web::scope;
use utoipa_actix_web::service_config::ServiceConfig;

// long: the list of every operation (76 of them), in one place so that their order (a
// literal path before a parameter that would take it) is visible; splitting it would hide it.
/// Registers every documented operation.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(health::get_healthz)
        .service(health::get_readyz)
        .service(
            scope::scope("/api/v1")
                // A scope of its own, first: the router tries the resources of a scope one by
                // one, each with a path parameter by regular expression, so the operations
                // under `/connections/{id}` (the most requested) would otherwise try every
                // parameterised path before them and be tried by every path after them. No
                // other path starts with `/connections`. Their paths in the handlers'
                // attributes are relative to it.
                .service(
                    scope::scope("/connections")
                        .service(connections::create_connection)
                        .service(connections::list_connections)
                        // Before `/{id}`, so `governance` is never taken for an id.
                        .service(connections::list_governance_connections)
                        .service(connections::get_connection)
                        .service(connection_actions::update_connection)
                        .service(connection_actions::pay_connection)
                        .service(connection_actions::cancel_connection)
                        .service(connection_actions::disconnect_endpoint)
                        .service(connection_actions::reconnect_endpoint)
                        .service(runs::request_run)
                        .service(runs::list_runs)
                        .service(runs::hide_run)
                        .service(runs::unhide_run)
                        .service(runs::report_run_progress)
                        .service(views::list_views)
                        .service(views::create_view)
                        .service(views::update_view)
                        .service(views::delete_view)
                        .service(members::list_connection_members)
                        .service(members::remove_member_role)
                        .service(members::leave_connection)
                        .service(members::create_invitation)
                        .service(members::list_connection_invitations)
                        .service(members::recover_ownership),
                )
                .service(permissions::get_permissions)
                .service(meta::get_openapi)
                .service(auth::launch)
                .service(auth::refresh_session)
                .service(auth::logout)
                .service(oidc::get_tenant_sign_in)
                .service(oidc::start_oidc_sign_in)
                .service(oidc::finish_oidc_sign_in)
                .service(oidc::exchange_oidc_code)
                .service(demo::list_demo_identities)
                .service(demo::demo_launch)
                .service(me::get_me)
                .service(me::list_my_tokens)
                .service(me::create_my_token)
                .service(me::revoke_my_token)
                .service(me::get_my_preferences)
                .service(me::update_my_preferences)
                .service(notifications::list_notifications)
                .service(notifications::retry_notification)
                .service(users::list_security_levels)
                .service(users::get_elevated_levels)
                .service(users::save_elevated_levels)
                .service(users::list_users)
                .service(users::search_people)
                .service(users::refresh_users)
                .service(users::get_user)
                .service(users::update_user)
                .service(tokens::list_tenant_tokens)
                .service(tokens::revoke_tenant_token)
                .service(settings::get_settings)
                .service(settings::update_settings)
                .service(settings::rotate_launch_secret)
                .service(settings::test_psa_connection)
                .service(psa::get_psa_status)
                .service(psa::reconcile_psa)
                .service(psa::subscribe_psa_webhook)
                .service(psa::unsubscribe_psa_webhook)
                .service(psa::receive_autotask_callout)
                .service(psa::receive_autotask_deactivation)
                .service(activity::list_activity)
                // Before `/activity/{id}`, which would take `export` for an id.
                .service(activity::export_activity)
                .service(activity::get_activity)
                .service(runs::create_engine_token)
                .service(runs::list_engine_tokens)
                .service(runs::revoke_engine_token)
                .service(runs::get_sync_status)
                .service(members::list_my_invitations)
                .service(members::accept_invitation)
                .service(members::decline_invitation)
                .service(members::revoke_invitation),
        );
}
