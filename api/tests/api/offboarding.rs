//! SPEC S12, losing access loses every credential: whatever takes a person's hub access to
//! `none` (hub deactivation, a refused sign-in, a refresh, a Users-tab refresh, a security
//! level that loses its facts) revokes their sessions **and API tokens** in the same
//! transaction, names them in the log, and nothing brings them back; an invitation whose
//! sender lost access can no longer be accepted. Expected outcomes are written from the SPEC.

use hubkeep_shared::ConnectionRole as Role;
use serde_json::Value;

use crate::client::{active, invitation};
use crate::helpers::{
    Backend, Session, TestApp, TestTenant, create_connection, grant, id, levels, people::*,
    spawn_app, team,
};
use crate::on_each_backend;

on_each_backend!(
    s12_hub_deactivation_revokes_every_session_and_api_token_and_reactivation_revives_none,
    s12_a_sign_in_the_psa_refuses_revokes_the_api_tokens,
    s12_a_refresh_that_finds_access_gone_revokes_every_credential,
    s12_a_users_tab_refresh_revokes_the_credentials_of_whoever_lost_access,
    s12_a_level_that_loses_the_hub_menu_revokes_the_credentials_of_its_people,
    s12_an_invitation_from_someone_who_lost_access_cannot_be_accepted,
);

/// Live (not revoked) sessions and API tokens of a user.
async fn live_credentials(app: &TestApp, user_id: &str) -> (i64, i64) {
    let sessions = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM sessions WHERE user_id = '{user_id}' AND revoked_at IS NULL"
        ))
        .await;
    let tokens = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM api_tokens WHERE user_id = '{user_id}' AND revoked_at IS NULL"
        ))
        .await;
    (sessions, tokens)
}

/// The details of the `user.credentials_revoked` entries about a user, oldest first.
async fn revocations(app: &TestApp, user_id: &str) -> Vec<Value> {
    use sea_orm::ConnectionTrait as _;
    let rows = app
        .db
        .query_all_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            format!(
                "SELECT details FROM activity_log WHERE action = 'user.credentials_revoked' \
                 AND target_id = '{user_id}' ORDER BY at, id"
            ),
        ))
        .await
        .unwrap();
    rows.iter()
        .map(|r| serde_json::from_str(&r.try_get::<String>("", "details").unwrap()).unwrap())
        .collect()
}

/// The API token answers like a token that was revoked: 401, not the 403 of a user whose
/// access is merely `none` for now.
async fn assert_token_revoked(app: &TestApp, token: &str) {
    let problem = app
        .with_token(token)
        .get_me()
        .await
        .problem(401, "unauthenticated")
        .await;
    assert!(
        problem["detail"].as_str().unwrap().contains("revoked"),
        "{problem}"
    );
}

/// Tess with a second session and a token of each scope.
async fn tess_with_credentials(app: &TestApp, tenant: &TestTenant, tess: &Session) -> Vec<String> {
    app.sign_in(tenant, TESS_TECH).await;
    vec![
        app.create_token(&tess.access_token, "read").await,
        app.create_token(&tess.access_token, "read_write").await,
    ]
}

async fn s12_hub_deactivation_revokes_every_session_and_api_token_and_reactivation_revives_none(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let (tenant, ada, _, tess) = team(&app).await;
    let tokens = tess_with_credentials(&app, &tenant, &tess).await;
    assert_eq!(live_credentials(&app, &id(&tess)).await, (2, 2));
    app.with_token(&tokens[0]).get_me().await.expect(200).await;

    let body: Value = app
        .as_(&ada)
        .update_user(&id(&tess), &active(false))
        .await
        .json()
        .await;
    assert_eq!(body["access_level"], "none");
    assert_eq!(live_credentials(&app, &id(&tess)).await, (0, 0));
    for token in &tokens {
        assert_token_revoked(&app, token).await;
    }
    // One entry names what was revoked; the deactivation entry counts it.
    let logged = revocations(&app, &id(&tess)).await;
    assert_eq!(logged.len(), 1, "{logged:?}");
    assert_eq!(logged[0]["reason"], "user_deactivated");
    assert_eq!(logged[0]["sessions"].as_array().unwrap().len(), 2);
    assert_eq!(logged[0]["api_tokens"].as_array().unwrap().len(), 2);
    let deactivated = app
        .scalar_text(&format!(
            "SELECT details FROM activity_log WHERE action = 'user.deactivated' \
             AND target_id = '{}'",
            id(&tess)
        ))
        .await;
    let deactivated: Value = serde_json::from_str(&deactivated).unwrap();
    assert_eq!(deactivated["sessions_revoked"], 2, "{deactivated}");
    assert_eq!(deactivated["api_tokens_revoked"], 2, "{deactivated}");
    // Revoked by the elevated user who deactivated her.
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM api_tokens WHERE revoked_by = '{}'",
            id(&ada)
        ))
        .await,
        2
    );

    // Reactivation restores access, never a credential.
    let body: Value = app
        .as_(&ada)
        .update_user(&id(&tess), &active(true))
        .await
        .json()
        .await;
    assert_eq!(body["access_level"], "limited");
    for token in &tokens {
        assert_token_revoked(&app, token).await;
    }
    assert_eq!(live_credentials(&app, &id(&tess)).await, (0, 0));
    // A new sign-in and a new token work.
    let again = app.sign_in(&tenant, TESS_TECH).await;
    let fresh = app.create_token(&again.access_token, "read").await;
    app.with_token(&fresh).get_me().await.expect(200).await;
    // Nothing more was revoked by the reactivation.
    assert_eq!(revocations(&app, &id(&tess)).await.len(), 1);
}

async fn s12_a_sign_in_the_psa_refuses_revokes_the_api_tokens(backend: Backend) {
    let app = spawn_app(backend).await;
    let (tenant, _ada, _, tess) = team(&app).await;
    let tokens = tess_with_credentials(&app, &tenant, &tess).await;
    tenant.edit_directory(|d| {
        let r = d.resources.iter_mut().find(|r| r.id == TESS_TECH).unwrap();
        r.is_active = false;
    });
    app.launch(&tenant.assertion(TESS_TECH))
        .await
        .problem(403, "access_not_eligible")
        .await;
    assert_eq!(live_credentials(&app, &id(&tess)).await, (0, 0));
    for token in &tokens {
        assert_token_revoked(&app, token).await;
    }
    let logged = revocations(&app, &id(&tess)).await;
    assert_eq!(logged.len(), 1, "{logged:?}");
    assert_eq!(logged[0]["reason"], "access_withdrawn");
    assert_eq!(logged[0]["api_tokens"].as_array().unwrap().len(), 2);
    // The PSA lets her back in: access returns, the old tokens do not.
    tenant.edit_directory(|d| {
        let r = d.resources.iter_mut().find(|r| r.id == TESS_TECH).unwrap();
        r.is_active = true;
    });
    app.sign_in(&tenant, TESS_TECH).await;
    for token in &tokens {
        assert_token_revoked(&app, token).await;
    }
}

async fn s12_a_refresh_that_finds_access_gone_revokes_every_credential(backend: Backend) {
    let app = spawn_app(backend).await;
    let (tenant, _ada, _, tess) = team(&app).await;
    let tokens = tess_with_credentials(&app, &tenant, &tess).await;
    tenant.edit_directory(|d| {
        d.resources.retain(|r| r.id != TESS_TECH);
    });
    app.refresh(&tess.refresh_token)
        .await
        .problem(401, "reauthorization_required")
        .await;
    // The refreshed session, her other session and both tokens.
    assert_eq!(live_credentials(&app, &id(&tess)).await, (0, 0));
    for token in &tokens {
        assert_token_revoked(&app, token).await;
    }
    let logged = revocations(&app, &id(&tess)).await;
    assert_eq!(logged.len(), 1, "{logged:?}");
    assert_eq!(logged[0]["sessions"].as_array().unwrap().len(), 1);
    assert_eq!(logged[0]["api_tokens"].as_array().unwrap().len(), 2);
}

async fn s12_a_users_tab_refresh_revokes_the_credentials_of_whoever_lost_access(backend: Backend) {
    let app = spawn_app(backend).await;
    let (tenant, ada, bob, tess) = team(&app).await;
    let tokens = tess_with_credentials(&app, &tenant, &tess).await;
    let bobs = app.create_token(&bob.access_token, "read").await;
    tenant.edit_directory(|d| {
        let r = d.resources.iter_mut().find(|r| r.id == TESS_TECH).unwrap();
        r.is_active = false;
    });
    app.as_(&ada).refresh_users().await.expect(200).await;
    assert_eq!(live_credentials(&app, &id(&tess)).await, (0, 0));
    for token in &tokens {
        assert_token_revoked(&app, token).await;
    }
    // Nobody else lost anything.
    app.with_token(&bobs).get_me().await.expect(200).await;
    assert_eq!(live_credentials(&app, &id(&bob)).await, (1, 1));
    let logged = revocations(&app, &id(&tess)).await;
    assert_eq!(logged.len(), 1, "{logged:?}");
    assert_eq!(logged[0]["reason"], "access_withdrawn");
}

async fn s12_a_level_that_loses_the_hub_menu_revokes_the_credentials_of_its_people(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let (tenant, ada, bob, tess) = team(&app).await;
    let tokens = tess_with_credentials(&app, &tenant, &tess).await;
    let toms = app.sign_in(&tenant, TOM_TECH).await;
    let tom_token = app.create_token(&toms.access_token, "read").await;
    let bobs = app.create_token(&bob.access_token, "read").await;
    // Technicians may no longer open the hub menu; the hub learns it when it next reads the
    // levels (here: an elevated user's refresh of the Users tab).
    tenant.edit_directory(|d| {
        let l = d
            .security_levels
            .iter_mut()
            .find(|l| l.id == levels::TECHNICIAN)
            .unwrap();
        l.hub_menu = false;
    });
    app.as_(&ada).refresh_users().await.expect(200).await;
    for user in [id(&tess), id(&toms)] {
        assert_eq!(live_credentials(&app, &user).await, (0, 0), "{user}");
    }
    for token in tokens.iter().chain([&tom_token]) {
        assert_token_revoked(&app, token).await;
    }
    app.with_token(&bobs).get_me().await.expect(200).await;
    assert_eq!(revocations(&app, &id(&toms)).await.len(), 1);
}

async fn s12_an_invitation_from_someone_who_lost_access_cannot_be_accepted(backend: Backend) {
    let app = spawn_app(backend).await;
    let (tenant, ada, bob, tess) = team(&app).await;
    let cid = create_connection(&app, &ada, "Offboarded inviter", "autotask_quickbooks").await;
    grant(&app, &tenant, &cid, &id(&bob), "business_admin").await;
    let inv = app
        .as_(&bob)
        .create_invitation(&cid, &invitation(&id(&tess), Role::ItAdmin))
        .await
        .expect(201)
        .await
        .id;
    app.as_(&ada)
        .update_user(&id(&bob), &active(false))
        .await
        .expect(200)
        .await;
    let before = app.row_counts().await;
    app.as_(&tess)
        .accept_invitation(&inv)
        .await
        .problem(409, "inviter_lost_access")
        .await;
    assert_eq!(app.row_counts().await, before, "nothing changes");
    assert_eq!(
        app.scalar_text(&format!(
            "SELECT status FROM invitations WHERE id = '{inv}'"
        ))
        .await,
        "pending"
    );
    // Reactivated, Bob vouches for it again (his roles never changed).
    app.as_(&ada)
        .update_user(&id(&bob), &active(true))
        .await
        .expect(200)
        .await;
    let body = app
        .as_(&tess)
        .accept_invitation(&inv)
        .await
        .expect_json(200)
        .await;
    assert_eq!(body["status"], "accepted");
}
