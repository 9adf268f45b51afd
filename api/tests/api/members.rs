//! Members, invitations and ownership (SPEC S5.1–S5.4, S7). Expected outcomes are written
//! here from the SPEC, never derived from `shared`.

use serde_json::{Value, json};

use crate::helpers::{
    Backend, Session, TestApp, assert_problem, exec, grant, id, patch, people::*, spawn_app, team,
};
use crate::on_each_backend;

on_each_backend!(
    s5_1_the_ladder_it_admin_cannot_invite_a_business_admin,
    s5_1_only_the_invitee_accepts,
    s5_1_an_expired_invitation_is_gone,
    s5_1_a_duplicate_pending_invitation_is_409,
    s5_1_email_invitations_wait_for_the_hub_user,
    s5_1_revoke_by_the_inviter_or_whoever_could_issue_it,
    s5_3_transfer_keeps_exactly_one_owner_and_the_retained_role,
    s5_3_the_previous_owner_without_other_roles_loses_access,
    s5_2_the_owner_cannot_leave_or_be_removed,
    s5_2_roles_are_removed_by_whoever_could_invite_them,
    s5_4_recovery_only_when_the_owner_has_no_access,
    s5_3_concurrent_accepts_transfers_and_removals_leave_exactly_one_owner,
    s5_members_and_invitations_are_invisible_to_non_members,
);

async fn create_connection(app: &TestApp, who: &Session, name: &str) -> String {
    let res = app
        .post_json(
            "/api/v1/connections",
            Some(&who.access_token),
            &json!({"name": name, "kind": "autotask_quickbooks"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    body["id"].as_str().unwrap().to_owned()
}

async fn post(app: &TestApp, who: &Session, path: &str, body: &Value) -> reqwest::Response {
    app.post_json(path, Some(&who.access_token), body).await
}

async fn invite(app: &TestApp, who: &Session, cid: &str, body: &Value) -> reqwest::Response {
    post(
        app,
        who,
        &format!("/api/v1/connections/{cid}/invitations"),
        body,
    )
    .await
}

/// Invites and answers the invitation's id (the invitation must be created).
async fn invited(app: &TestApp, who: &Session, cid: &str, body: &Value) -> String {
    let res = invite(app, who, cid, body).await;
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    body["id"].as_str().unwrap().to_owned()
}

async fn accept(app: &TestApp, who: &Session, inv: &str) -> reqwest::Response {
    post(
        app,
        who,
        &format!("/api/v1/invitations/{inv}/accept"),
        &json!({}),
    )
    .await
}

async fn entries(app: &TestApp, cid: &str, action: &str) -> i64 {
    app.scalar(&format!(
        "SELECT COUNT(*) FROM activity_log WHERE connection_id = '{cid}' AND action = '{action}'"
    ))
    .await
}

async fn all_entries(app: &TestApp, cid: &str) -> i64 {
    app.scalar(&format!(
        "SELECT COUNT(*) FROM activity_log WHERE connection_id = '{cid}'"
    ))
    .await
}

async fn roles_of(app: &TestApp, cid: &str, user: &str) -> Vec<String> {
    use sea_orm::ConnectionTrait as _;
    let rows = app
        .db
        .query_all_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            format!(
                "SELECT role FROM role_assignments WHERE connection_id = '{cid}' \
                 AND user_id = '{user}' ORDER BY role"
            ),
        ))
        .await
        .unwrap();
    rows.iter()
        .map(|r| r.try_get_by_index::<String>(0).unwrap())
        .collect()
}

async fn owner_rows(app: &TestApp, cid: &str) -> i64 {
    app.scalar(&format!(
        "SELECT COUNT(*) FROM role_assignments WHERE role = 'owner' AND connection_id = '{cid}'"
    ))
    .await
}

/// The one owner: the `owner` row and `connections.owner_user_id` agree.
async fn the_owner(app: &TestApp, cid: &str) -> String {
    use sea_orm::ConnectionTrait as _;
    assert_eq!(owner_rows(app, cid).await, 1, "exactly one owner row");
    let q = |sql: String| async move {
        app.db
            .query_one_raw(sea_orm::Statement::from_string(
                app.db.get_database_backend(),
                sql,
            ))
            .await
            .unwrap()
            .unwrap()
            .try_get_by_index::<String>(0)
            .unwrap()
    };
    let row = q(format!(
        "SELECT user_id FROM role_assignments WHERE role = 'owner' AND connection_id = '{cid}'"
    ))
    .await;
    let col = q(format!(
        "SELECT owner_user_id FROM connections WHERE id = '{cid}'"
    ))
    .await;
    assert_eq!(row, col, "connections.owner_user_id matches the owner row");
    row
}

async fn s5_1_the_ladder_it_admin_cannot_invite_a_business_admin(backend: Backend) {
    let app = spawn_app(backend).await;
    let (tenant, ada, bob, tess) = team(&app).await;
    let cid = create_connection(&app, &ada, "Ladder").await;
    grant(&app, &tenant, &cid, &id(&tess), "it_admin").await;

    let res = invite(
        &app,
        &tess,
        &cid,
        &json!({"user_id": id(&bob), "role": "business_admin"}),
    )
    .await;
    assert_problem(res, 403, "forbidden").await;
    let res = invite(
        &app,
        &tess,
        &cid,
        &json!({"user_id": id(&bob), "role": "owner"}),
    )
    .await;
    assert_problem(res, 403, "forbidden").await;
    assert_eq!(app.count("invitations").await, 0);
    assert_eq!(entries(&app, &cid, "invitation.created").await, 0);

    // Down the ladder is fine.
    let res = invite(
        &app,
        &tess,
        &cid,
        &json!({"user_id": id(&bob), "role": "it_admin"}),
    )
    .await;
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["role"], "it_admin");
    assert_eq!(body["status"], "pending");
    assert_eq!(body["invited_by"], id(&tess));
    assert_eq!(entries(&app, &cid, "invitation.created").await, 1);

    // A business administrator may invite business administrators, not owners.
    grant(&app, &tenant, &cid, &id(&bob), "business_admin").await;
    let res = invite(
        &app,
        &bob,
        &cid,
        &json!({"user_id": id(&tess), "role": "business_admin"}),
    )
    .await;
    assert_eq!(res.status(), 201);
    let res = invite(
        &app,
        &bob,
        &cid,
        &json!({"user_id": id(&tess), "role": "owner"}),
    )
    .await;
    assert_problem(res, 403, "forbidden").await;
    // Unknown fields are refused whole.
    let res = invite(
        &app,
        &ada,
        &cid,
        &json!({"user_id": id(&tess), "role": "read_only", "status": "accepted"}),
    )
    .await;
    assert_problem(res, 422, "validation_failed").await;
    // Exactly one of user_id and email.
    let res = invite(&app, &ada, &cid, &json!({"role": "read_only"})).await;
    assert_problem(res, 422, "validation_failed").await;
    assert_eq!(entries(&app, &cid, "invitation.created").await, 2);
}

async fn s5_1_only_the_invitee_accepts(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_tenant, ada, bob, tess) = team(&app).await;
    let cid = create_connection(&app, &ada, "Accepts").await;
    let res = invite(
        &app,
        &ada,
        &cid,
        &json!({"user_id": id(&tess), "role": "read_only"}),
    )
    .await;
    assert_eq!(res.status(), 201);
    let inv: Value = res.json().await.unwrap();
    let inv_id = inv["id"].as_str().unwrap().to_owned();
    assert_eq!(inv["connection_id"], cid.as_str());
    assert_eq!(inv["invitee"]["user_id"], id(&tess));
    let created =
        chrono::DateTime::parse_from_rfc3339(inv["created_at"].as_str().unwrap()).unwrap();
    let expires =
        chrono::DateTime::parse_from_rfc3339(inv["expires_at"].as_str().unwrap()).unwrap();
    assert_eq!((expires - created).num_days(), 7, "the default expiry");

    // The inviter and a stranger cannot answer it.
    assert_problem(accept(&app, &ada, &inv_id).await, 404, "not_found").await;
    assert_problem(accept(&app, &bob, &inv_id).await, 404, "not_found").await;
    let res = post(
        &app,
        &bob,
        &format!("/api/v1/invitations/{inv_id}/decline"),
        &json!({}),
    )
    .await;
    assert_problem(res, 404, "not_found").await;
    assert!(roles_of(&app, &cid, &id(&tess)).await.is_empty());

    let mine: Value = app
        .get_as("/api/v1/me/invitations", &tess.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    assert_eq!(mine["items"][0]["id"], inv_id.as_str());
    assert_eq!(mine["items"][0]["connection_name"], "Accepts");
    assert_eq!(mine["items"][0]["connection_kind"], "autotask_quickbooks");

    let res = accept(&app, &tess, &inv_id).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "accepted");
    assert_eq!(roles_of(&app, &cid, &id(&tess)).await, vec!["read_only"]);
    assert_eq!(entries(&app, &cid, "invitation.accepted").await, 1);
    let conn: Value = app
        .get_as(&format!("/api/v1/connections/{cid}"), &tess.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(conn["my_roles"], json!(["read_only"]));
    // Not pending any more.
    assert_problem(accept(&app, &tess, &inv_id).await, 409, "conflict").await;

    // Declining.
    let inv2 = invited(
        &app,
        &ada,
        &cid,
        &json!({"user_id": id(&tess), "role": "it_admin"}),
    )
    .await;
    let res = post(
        &app,
        &tess,
        &format!("/api/v1/invitations/{inv2}/decline"),
        &json!({}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "declined");
    assert_eq!(entries(&app, &cid, "invitation.declined").await, 1);
    assert_eq!(roles_of(&app, &cid, &id(&tess)).await, vec!["read_only"]);
    assert_eq!(entries(&app, &cid, "invitation.accepted").await, 1);
}

async fn s5_1_an_expired_invitation_is_gone(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_tenant, ada, _bob, tess) = team(&app).await;
    let cid = create_connection(&app, &ada, "Expiry").await;
    let inv = invited(
        &app,
        &ada,
        &cid,
        &json!({"user_id": id(&tess), "role": "read_only"}),
    )
    .await;
    let past = if app.is_postgres() {
        "TIMESTAMPTZ '2020-01-01T00:00:00+00:00'"
    } else {
        "'2020-01-01 00:00:00+00:00'"
    };
    exec(
        &app,
        &format!("UPDATE invitations SET expires_at = {past} WHERE id = '{inv}'"),
    )
    .await;

    let mine: Value = app
        .get_as("/api/v1/me/invitations", &tess.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert!(mine["items"].as_array().unwrap().is_empty());
    let listed: Value = app
        .get_as(
            &format!("/api/v1/connections/{cid}/invitations"),
            &ada.access_token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(listed["items"].as_array().unwrap().is_empty());

    assert_problem(accept(&app, &tess, &inv).await, 410, "invitation_expired").await;
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM invitations WHERE id = '{inv}' AND status = 'expired'"
        ))
        .await,
        1
    );
    assert_eq!(entries(&app, &cid, "invitation.expired").await, 1);
    assert!(roles_of(&app, &cid, &id(&tess)).await.is_empty());
    // Now not pending: 409.
    assert_problem(accept(&app, &tess, &inv).await, 409, "conflict").await;

    // A stale pending invitation never blocks a new one: it is marked expired on the way.
    let inv2 = invited(
        &app,
        &ada,
        &cid,
        &json!({"user_id": id(&tess), "role": "it_admin"}),
    )
    .await;
    exec(
        &app,
        &format!("UPDATE invitations SET expires_at = {past} WHERE id = '{inv2}'"),
    )
    .await;
    let res = invite(
        &app,
        &ada,
        &cid,
        &json!({"user_id": id(&tess), "role": "it_admin"}),
    )
    .await;
    assert_eq!(res.status(), 201);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM invitations WHERE id = '{inv2}' AND status = 'expired'"
        ))
        .await,
        1
    );
    assert_eq!(entries(&app, &cid, "invitation.created").await, 3);
}

async fn s5_1_a_duplicate_pending_invitation_is_409(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_tenant, ada, bob, tess) = team(&app).await;
    let cid = create_connection(&app, &ada, "Duplicates").await;
    invited(
        &app,
        &ada,
        &cid,
        &json!({"user_id": id(&tess), "role": "read_only"}),
    )
    .await;
    let res = invite(
        &app,
        &ada,
        &cid,
        &json!({"user_id": id(&tess), "role": "read_only"}),
    )
    .await;
    assert_problem(res, 409, "conflict").await;
    // The same person by email is the same invitee.
    let email = tess.user["email"].as_str().unwrap().to_uppercase();
    let res = invite(
        &app,
        &ada,
        &cid,
        &json!({"email": email, "role": "read_only"}),
    )
    .await;
    assert_problem(res, 409, "conflict").await;
    // Another role is another invitation.
    invited(
        &app,
        &ada,
        &cid,
        &json!({"user_id": id(&tess), "role": "it_admin"}),
    )
    .await;

    // One pending owner invitation per connection.
    invited(
        &app,
        &ada,
        &cid,
        &json!({"user_id": id(&bob), "role": "owner"}),
    )
    .await;
    let res = invite(
        &app,
        &ada,
        &cid,
        &json!({"user_id": id(&tess), "role": "owner"}),
    )
    .await;
    assert_problem(res, 409, "conflict").await;
    // Inviting someone to a role they hold.
    let res = invite(
        &app,
        &ada,
        &cid,
        &json!({"user_id": id(&ada), "role": "owner"}),
    )
    .await;
    assert_problem(res, 409, "conflict").await;
    assert_eq!(app.count("invitations").await, 3);
    assert_eq!(entries(&app, &cid, "invitation.created").await, 3);
}

async fn s5_1_email_invitations_wait_for_the_hub_user(backend: Backend) {
    let app = spawn_app(backend).await;
    let (tenant, ada, _bob, _tess) = team(&app).await;
    let cid = create_connection(&app, &ada, "By email").await;
    let res = invite(
        &app,
        &ada,
        &cid,
        &json!({"email": "Tom.Tech@Example.TEST", "role": "it_admin"}),
    )
    .await;
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    let inv = body["id"].as_str().unwrap().to_owned();
    assert_eq!(body["invitee"]["user_id"], Value::Null);
    assert_eq!(body["invitee"]["email"], "Tom.Tech@Example.TEST");
    // An owner invitation needs an existing hub user.
    let res = invite(
        &app,
        &ada,
        &cid,
        &json!({"email": "nobody@example.test", "role": "owner"}),
    )
    .await;
    assert_problem(res, 422, "validation_failed").await;

    let tom = app.sign_in(&tenant, TOM_TECH).await;
    let mine: Value = app
        .get_as("/api/v1/me/invitations", &tom.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    assert_eq!(mine["items"][0]["id"], inv.as_str());
    let res = accept(&app, &tom, &inv).await;
    assert_eq!(res.status(), 200);
    assert_eq!(roles_of(&app, &cid, &id(&tom)).await, vec!["it_admin"]);
    assert_eq!(
        app.get_as(&format!("/api/v1/connections/{cid}"), &tom.access_token)
            .await
            .status(),
        200
    );
    let members: Value = app
        .get_as(
            &format!("/api/v1/connections/{cid}/members"),
            &tom.access_token,
        )
        .await
        .json()
        .await
        .unwrap();
    let items = members["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let tom_row = items.iter().find(|m| m["user"]["id"] == id(&tom)).unwrap();
    assert_eq!(tom_row["roles"], json!(["it_admin"]));
    assert_eq!(tom_row["user"]["access_level"], "limited");
    let ada_row = items.iter().find(|m| m["user"]["id"] == id(&ada)).unwrap();
    assert_eq!(ada_row["roles"], json!(["owner"]));
    assert_eq!(entries(&app, &cid, "invitation.accepted").await, 1);
}

async fn s5_1_revoke_by_the_inviter_or_whoever_could_issue_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let (tenant, ada, bob, tess) = team(&app).await;
    let cid = create_connection(&app, &ada, "Revoke").await;
    let inv = invited(
        &app,
        &ada,
        &cid,
        &json!({"email": "x@example.test", "role": "it_admin"}),
    )
    .await;
    let revoke = |who: &Session| {
        let path = format!("/api/v1/invitations/{inv}");
        let token = who.access_token.clone();
        let app = &app;
        async move { app.delete_as(&path, &token).await }
    };
    assert_problem(revoke(&bob).await, 404, "not_found").await;
    grant(&app, &tenant, &cid, &id(&bob), "read_only").await;
    assert_problem(revoke(&bob).await, 403, "forbidden").await;
    grant(&app, &tenant, &cid, &id(&tess), "it_admin").await;
    let res = revoke(&tess).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "revoked");
    assert_problem(revoke(&ada).await, 409, "conflict").await;
    assert_eq!(entries(&app, &cid, "invitation.revoked").await, 1);
    // The inviter may revoke their own.
    let inv2 = invited(
        &app,
        &tess,
        &cid,
        &json!({"user_id": id(&bob), "role": "it_admin"}),
    )
    .await;
    let res = app
        .delete_as(&format!("/api/v1/invitations/{inv2}"), &tess.access_token)
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(entries(&app, &cid, "invitation.revoked").await, 2);
}

async fn s5_3_transfer_keeps_exactly_one_owner_and_the_retained_role(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_tenant, ada, bob, tess) = team(&app).await;
    let cid = create_connection(&app, &ada, "Transfer").await;
    // retain_role only with an owner invitation.
    let res = invite(
        &app,
        &ada,
        &cid,
        &json!({"user_id": id(&tess), "role": "read_only", "retain_role": "it_admin"}),
    )
    .await;
    assert_problem(res, 422, "validation_failed").await;
    let inv = invited(
        &app,
        &ada,
        &cid,
        &json!({"user_id": id(&bob), "role": "owner", "retain_role": "business_admin"}),
    )
    .await;
    // Until accepted nothing changes.
    assert_eq!(the_owner(&app, &cid).await, id(&ada));
    assert!(roles_of(&app, &cid, &id(&bob)).await.is_empty());

    let before = all_entries(&app, &cid).await;
    let res = accept(&app, &bob, &inv).await;
    assert_eq!(res.status(), 200);
    assert_eq!(the_owner(&app, &cid).await, id(&bob));
    assert_eq!(
        roles_of(&app, &cid, &id(&ada)).await,
        vec!["business_admin"]
    );
    assert_eq!(roles_of(&app, &cid, &id(&bob)).await, vec!["owner"]);
    assert_eq!(all_entries(&app, &cid).await, before + 1);
    assert_eq!(
        entries(&app, &cid, "connection.ownership_transferred").await,
        1
    );

    let conn: Value = app
        .get_as(&format!("/api/v1/connections/{cid}"), &ada.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(conn["my_roles"], json!(["business_admin"]));
    assert_eq!(conn["owner"]["id"], id(&bob));
    // Ada is no longer the owner: she cannot transfer again.
    let res = invite(
        &app,
        &ada,
        &cid,
        &json!({"user_id": id(&tess), "role": "owner"}),
    )
    .await;
    assert_problem(res, 403, "forbidden").await;
}

async fn s5_3_the_previous_owner_without_other_roles_loses_access(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_tenant, ada, bob, tess) = team(&app).await;
    let cid = create_connection(&app, &ada, "Handover").await;
    let to_tess = invited(
        &app,
        &ada,
        &cid,
        &json!({"user_id": id(&tess), "role": "read_only"}),
    )
    .await;
    let inv = invited(
        &app,
        &ada,
        &cid,
        &json!({"user_id": id(&bob), "role": "owner"}),
    )
    .await;
    assert_eq!(accept(&app, &bob, &inv).await.status(), 200);
    assert_eq!(the_owner(&app, &cid).await, id(&bob));
    assert!(roles_of(&app, &cid, &id(&ada)).await.is_empty());
    for path in [
        format!("/api/v1/connections/{cid}"),
        format!("/api/v1/connections/{cid}/members"),
    ] {
        assert_problem(app.get_as(&path, &ada.access_token).await, 404, "not_found").await;
    }
    // Her pending invitation no longer holds: the inviter may no longer issue it.
    assert_problem(accept(&app, &tess, &to_tess).await, 409, "conflict").await;
    assert!(roles_of(&app, &cid, &id(&tess)).await.is_empty());
}

async fn s5_2_the_owner_cannot_leave_or_be_removed(backend: Backend) {
    let app = spawn_app(backend).await;
    let (tenant, ada, _bob, tess) = team(&app).await;
    let cid = create_connection(&app, &ada, "Stay").await;
    grant(&app, &tenant, &cid, &id(&tess), "business_admin").await;
    let leave = |who: &Session| {
        let path = format!("/api/v1/connections/{cid}/leave");
        let token = who.access_token.clone();
        let app = &app;
        async move { app.post_json(&path, Some(&token), &json!({})).await }
    };
    assert_problem(leave(&ada).await, 409, "owner_must_transfer").await;
    let remove_owner = format!("/api/v1/connections/{cid}/members/{}/roles/owner", id(&ada));
    assert_problem(
        app.delete_as(&remove_owner, &ada.access_token).await,
        409,
        "owner_must_transfer",
    )
    .await;
    assert_problem(
        app.delete_as(&remove_owner, &tess.access_token).await,
        403,
        "forbidden",
    )
    .await;
    assert_eq!(the_owner(&app, &cid).await, id(&ada));

    // Anyone else may leave.
    assert_eq!(leave(&tess).await.status(), 204);
    assert!(roles_of(&app, &cid, &id(&tess)).await.is_empty());
    assert_problem(
        app.get_as(&format!("/api/v1/connections/{cid}"), &tess.access_token)
            .await,
        404,
        "not_found",
    )
    .await;
    assert_eq!(entries(&app, &cid, "member.left").await, 1);
    assert_eq!(entries(&app, &cid, "member.role_removed").await, 0);
}

async fn s5_2_roles_are_removed_by_whoever_could_invite_them(backend: Backend) {
    let app = spawn_app(backend).await;
    let (tenant, ada, bob, tess) = team(&app).await;
    let cid = create_connection(&app, &ada, "Removals").await;
    grant(&app, &tenant, &cid, &id(&tess), "it_admin").await;
    grant(&app, &tenant, &cid, &id(&bob), "business_admin").await;
    grant(&app, &tenant, &cid, &id(&bob), "read_only").await;
    let path = |user: &Session, role: &str| {
        format!(
            "/api/v1/connections/{cid}/members/{}/roles/{role}",
            id(user)
        )
    };
    // An IT administrator cannot invite business administrators, so cannot remove one.
    assert_problem(
        app.delete_as(&path(&bob, "business_admin"), &tess.access_token)
            .await,
        403,
        "forbidden",
    )
    .await;
    assert_eq!(
        app.delete_as(&path(&bob, "read_only"), &tess.access_token)
            .await
            .status(),
        204
    );
    assert_eq!(
        roles_of(&app, &cid, &id(&bob)).await,
        vec!["business_admin"]
    );
    // A role the member does not hold, or a role that does not exist.
    assert_problem(
        app.delete_as(&path(&bob, "read_only"), &tess.access_token)
            .await,
        404,
        "not_found",
    )
    .await;
    assert_problem(
        app.delete_as(&path(&bob, "superuser"), &ada.access_token)
            .await,
        404,
        "not_found",
    )
    .await;
    // A business administrator removes the IT administrator, who then loses access.
    assert_eq!(
        app.delete_as(&path(&tess, "it_admin"), &bob.access_token)
            .await
            .status(),
        204
    );
    assert_problem(
        app.get_as(&format!("/api/v1/connections/{cid}"), &tess.access_token)
            .await,
        404,
        "not_found",
    )
    .await;
    assert_eq!(entries(&app, &cid, "member.role_removed").await, 2);
}

async fn s5_4_recovery_only_when_the_owner_has_no_access(backend: Backend) {
    let app = spawn_app(backend).await;
    let (tenant, ada, bob, tess) = team(&app).await;
    let cid = create_connection(&app, &bob, "Orphan").await;
    grant(&app, &tenant, &cid, &id(&bob), "read_only").await;
    let recover = |who: &Session, body: Value| {
        let path = format!("/api/v1/connections/{cid}/recover-ownership");
        let token = who.access_token.clone();
        let app = &app;
        async move { app.post_json(&path, Some(&token), &body).await }
    };
    // The owner still has access.
    assert_problem(
        recover(&ada, json!({"user_id": id(&tess)})).await,
        409,
        "conflict",
    )
    .await;
    // Limited users cannot recover.
    assert_problem(
        recover(&tess, json!({"user_id": id(&tess)})).await,
        403,
        "elevated_access_required",
    )
    .await;
    let res = patch(
        &app,
        &ada.access_token,
        &format!("/api/v1/users/{}", id(&bob)),
        &json!({"active": false}),
    )
    .await;
    assert_eq!(res.status(), 200);
    // The new owner must have hub access.
    assert_problem(
        recover(&ada, json!({"user_id": id(&bob)})).await,
        422,
        "validation_failed",
    )
    .await;
    assert_problem(
        recover(&ada, json!({"user_id": "no-such-user"})).await,
        422,
        "validation_failed",
    )
    .await;
    let res = recover(
        &ada,
        json!({"user_id": id(&tess), "retain_role": "it_admin"}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["owner"]["id"], id(&tess));
    assert_eq!(body["previous_owner"]["id"], id(&bob));
    assert_eq!(the_owner(&app, &cid).await, id(&tess));
    assert_eq!(roles_of(&app, &cid, &id(&tess)).await, vec!["owner"]);
    assert_eq!(
        roles_of(&app, &cid, &id(&bob)).await,
        vec!["it_admin", "read_only"]
    );
    assert!(roles_of(&app, &cid, &id(&ada)).await.is_empty());
    assert_eq!(
        entries(&app, &cid, "connection.ownership_recovered").await,
        1
    );
    // Tess now has access and owns it: no second recovery.
    assert_problem(
        recover(&ada, json!({"user_id": id(&ada)})).await,
        409,
        "conflict",
    )
    .await;
    let conn: Value = app
        .get_as(&format!("/api/v1/connections/{cid}"), &tess.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(conn["my_roles"], json!(["owner"]));
}

async fn s5_3_concurrent_accepts_transfers_and_removals_leave_exactly_one_owner(backend: Backend) {
    let app = spawn_app(backend).await;
    let (tenant, ada, bob, tess) = team(&app).await;
    let tom = app.sign_in(&tenant, TOM_TECH).await;
    let cid = create_connection(&app, &ada, "Contended").await;
    grant(&app, &tenant, &cid, &id(&bob), "it_admin").await;
    grant(&app, &tenant, &cid, &id(&tess), "read_only").await;
    let to_bob = invited(
        &app,
        &ada,
        &cid,
        &json!({"user_id": id(&bob), "role": "owner", "retain_role": "read_only"}),
    )
    .await;
    let to_tess = invited(
        &app,
        &ada,
        &cid,
        &json!({"user_id": id(&tess), "role": "business_admin"}),
    )
    .await;
    let to_tom = invited(
        &app,
        &ada,
        &cid,
        &json!({"user_id": id(&tom), "role": "it_admin"}),
    )
    .await;
    let before = all_entries(&app, &cid).await;

    let mut calls: Vec<(&'static str, String, String, Value)> = Vec::new();
    let base = format!("/api/v1/connections/{cid}");
    for i in 0..6 {
        calls.push((
            "POST",
            format!("/api/v1/invitations/{to_bob}/accept"),
            bob.access_token.clone(),
            json!({}),
        ));
        calls.push((
            "POST",
            format!("{base}/invitations"),
            ada.access_token.clone(),
            json!({"user_id": id(&tess), "role": "owner"}),
        ));
        calls.push((
            "POST",
            format!("{base}/invitations"),
            bob.access_token.clone(),
            json!({"user_id": id(&tom), "role": "owner"}),
        ));
        calls.push((
            "POST",
            format!("/api/v1/invitations/{to_tess}/accept"),
            tess.access_token.clone(),
            json!({}),
        ));
        calls.push((
            "POST",
            format!("/api/v1/invitations/{to_tom}/accept"),
            tom.access_token.clone(),
            json!({}),
        ));
        calls.push((
            "DELETE",
            format!("{base}/members/{}/roles/owner", id(&ada)),
            ada.access_token.clone(),
            json!({}),
        ));
        calls.push((
            "DELETE",
            format!("{base}/members/{}/roles/owner", id(&bob)),
            bob.access_token.clone(),
            json!({}),
        ));
        calls.push((
            "DELETE",
            format!("{base}/members/{}/roles/it_admin", id(&bob)),
            ada.access_token.clone(),
            json!({}),
        ));
        calls.push((
            "DELETE",
            format!("{base}/members/{}/roles/read_only", id(&tess)),
            bob.access_token.clone(),
            json!({}),
        ));
        calls.push((
            "POST",
            format!("{base}/leave"),
            if i % 2 == 0 {
                ada.access_token.clone()
            } else {
                bob.access_token.clone()
            },
            json!({}),
        ));
    }
    assert!(calls.len() >= 50);
    let mut handles = Vec::new();
    for (method, path, token, body) in calls {
        let client = app.client.clone();
        let url = app.url(&path);
        handles.push(tokio::spawn(async move {
            let req = if method == "POST" {
                client.post(url).json(&body)
            } else {
                client.delete(url)
            };
            let res = req.bearer_auth(token).send().await.unwrap();
            (method, path, res.status().as_u16())
        }));
    }
    let mut successes = 0;
    for handle in handles {
        let (method, path, status) = handle.await.unwrap();
        assert!(status < 500, "{method} {path} answered {status}");
        assert!(
            [200, 201, 204, 403, 404, 409].contains(&status),
            "{method} {path} answered {status}"
        );
        if status < 300 {
            successes += 1;
        }
    }
    // Bob's accept is the only way the owner can change here: it happens exactly once.
    assert_eq!(the_owner(&app, &cid).await, id(&bob));
    assert_eq!(
        entries(&app, &cid, "connection.ownership_transferred").await,
        1
    );
    assert_eq!(
        all_entries(&app, &cid).await - before,
        successes,
        "exactly one activity entry per successful change"
    );
    assert!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM invitations WHERE connection_id = '{cid}' AND role = 'owner' AND status = 'pending'"
        ))
        .await
            <= 1
    );
}

async fn s5_members_and_invitations_are_invisible_to_non_members(backend: Backend) {
    let app = spawn_app(backend).await;
    let (tenant, ada, bob, tess) = team(&app).await;
    let cid = create_connection(&app, &ada, "Private").await;
    let tom = app.sign_in(&tenant, TOM_TECH).await;
    let inv = invited(
        &app,
        &ada,
        &cid,
        &json!({"user_id": id(&tom), "role": "read_only"}),
    )
    .await;
    let before = all_entries(&app, &cid).await;
    let base = format!("/api/v1/connections/{cid}");
    // Bob is elevated, Tess limited: neither holds a role.
    for who in [&bob, &tess] {
        let t = who.access_token.as_str();
        for path in [format!("{base}/members"), format!("{base}/invitations")] {
            assert_problem(app.get_as(&path, t).await, 404, "not_found").await;
        }
        for (path, body) in [
            (
                format!("{base}/invitations"),
                json!({"user_id": id(&tess), "role": "read_only"}),
            ),
            (format!("{base}/leave"), json!({})),
            (format!("/api/v1/invitations/{inv}/accept"), json!({})),
            (format!("/api/v1/invitations/{inv}/decline"), json!({})),
        ] {
            assert_problem(app.post_json(&path, Some(t), &body).await, 404, "not_found").await;
        }
        for path in [
            format!("{base}/members/{}/roles/owner", id(&ada)),
            format!("{base}/members/{}/roles/read_only", id(&ada)),
            format!("/api/v1/invitations/{inv}"),
        ] {
            assert_problem(app.delete_as(&path, t).await, 404, "not_found").await;
        }
    }
    // An unknown connection or invitation is the same 404.
    let t = ada.access_token.as_str();
    assert_problem(
        app.get_as("/api/v1/connections/nope/members", t).await,
        404,
        "not_found",
    )
    .await;
    assert_problem(accept(&app, &ada, "nope").await, 404, "not_found").await;
    let mine: Value = app
        .get_as("/api/v1/me/invitations", &bob.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert!(mine["items"].as_array().unwrap().is_empty());
    assert_eq!(all_entries(&app, &cid).await, before);
}
