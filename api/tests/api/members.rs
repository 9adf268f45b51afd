//! Members, invitations and ownership (SPEC S5.1–S5.4, S7). Expected outcomes are written
//! here from the SPEC, never derived from `shared`.

use hubkeep_shared::ConnectionRole as Role;
use hubkeep_shared::UserId;
use hubkeep_shared::api::{NewInvitation, RecoverOwnership, UserPatch};
use serde_json::{Value, json};

use crate::client::{email_invitation, invitation};
use crate::helpers::{
    Backend, TestApp, create_connection, entries, entries_of, exec, grant, id, people::*,
    spawn_app, team,
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
    s14_an_email_invitation_binds_to_the_current_psa_email_at_accept_time,
);

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
    let cid = create_connection(&app, &ada, "Ladder", "autotask_quickbooks").await;
    grant(&app, &tenant, &cid, &id(&tess), "it_admin").await;

    let as_tess = app.as_(&tess);
    as_tess
        .create_invitation(&cid, &invitation(&id(&bob), Role::BusinessAdmin))
        .await
        .problem(403, "forbidden")
        .await;
    as_tess
        .create_invitation(&cid, &invitation(&id(&bob), Role::Owner))
        .await
        .problem(403, "forbidden")
        .await;
    assert_eq!(app.count("invitations").await, 0);
    assert_eq!(entries_of(&app, &cid, "invitation.created").await, 0);

    // Down the ladder is fine.
    let body = as_tess
        .create_invitation(&cid, &invitation(&id(&bob), Role::ItAdmin))
        .await
        .expect_json(201)
        .await;
    assert_eq!(body["role"], "it_admin");
    assert_eq!(body["status"], "pending");
    assert_eq!(body["invited_by"], id(&tess));
    assert_eq!(entries_of(&app, &cid, "invitation.created").await, 1);

    // A business administrator may invite business administrators, not owners.
    grant(&app, &tenant, &cid, &id(&bob), "business_admin").await;
    let as_bob = app.as_(&bob);
    as_bob
        .create_invitation(&cid, &invitation(&id(&tess), Role::BusinessAdmin))
        .await
        .expect(201)
        .await;
    as_bob
        .create_invitation(&cid, &invitation(&id(&tess), Role::Owner))
        .await
        .problem(403, "forbidden")
        .await;
    // Unknown fields are refused whole.
    app.as_(&ada)
        .raw(
            reqwest::Method::POST,
            &format!("/api/v1/connections/{cid}/invitations"),
            Some(&json!({"user_id": id(&tess), "role": "read_only", "status": "accepted"})),
        )
        .await
        .problem(422, "validation_failed")
        .await;
    // Exactly one of user_id and email.
    let neither = NewInvitation {
        user_id: None,
        email: None,
        role: Role::ReadOnly,
        retain_role: None,
    };
    app.as_(&ada)
        .create_invitation(&cid, &neither)
        .await
        .problem(422, "validation_failed")
        .await;
    assert_eq!(entries_of(&app, &cid, "invitation.created").await, 2);
}

async fn s5_1_only_the_invitee_accepts(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_tenant, ada, bob, tess) = team(&app).await;
    let cid = create_connection(&app, &ada, "Accepts", "autotask_quickbooks").await;
    let inv = app
        .as_(&ada)
        .create_invitation(&cid, &invitation(&id(&tess), Role::ReadOnly))
        .await
        .expect_json(201)
        .await;
    let inv_id = inv["id"].as_str().unwrap().to_owned();
    assert_eq!(inv["connection_id"], cid.as_str());
    assert_eq!(inv["invitee"]["user_id"], id(&tess));
    let created =
        chrono::DateTime::parse_from_rfc3339(inv["created_at"].as_str().unwrap()).unwrap();
    let expires =
        chrono::DateTime::parse_from_rfc3339(inv["expires_at"].as_str().unwrap()).unwrap();
    assert_eq!((expires - created).num_days(), 7, "the default expiry");

    // The inviter and a stranger cannot answer it.
    for who in [&ada, &bob] {
        app.as_(who)
            .accept_invitation(&inv_id)
            .await
            .problem(404, "not_found")
            .await;
    }
    app.as_(&bob)
        .decline_invitation(&inv_id)
        .await
        .problem(404, "not_found")
        .await;
    assert!(roles_of(&app, &cid, &id(&tess)).await.is_empty());

    let as_tess = app.as_(&tess);
    let mine = as_tess.list_my_invitations().await.json().await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    assert_eq!(mine["items"][0]["id"], inv_id.as_str());
    assert_eq!(mine["items"][0]["connection_name"], "Accepts");
    assert_eq!(mine["items"][0]["connection_kind"], "autotask_quickbooks");

    let body = as_tess
        .accept_invitation(&inv_id)
        .await
        .expect_json(200)
        .await;
    assert_eq!(body["status"], "accepted");
    assert_eq!(roles_of(&app, &cid, &id(&tess)).await, vec!["read_only"]);
    assert_eq!(entries_of(&app, &cid, "invitation.accepted").await, 1);
    let conn = as_tess.get_connection(&cid).await.json().await;
    assert_eq!(conn["my_roles"], json!(["read_only"]));
    // Not pending any more.
    as_tess
        .accept_invitation(&inv_id)
        .await
        .problem(409, "conflict")
        .await;

    // Declining.
    let inv2 = app
        .as_(&ada)
        .create_invitation(&cid, &invitation(&id(&tess), Role::ItAdmin))
        .await
        .expect(201)
        .await
        .id;
    let body = as_tess
        .decline_invitation(&inv2)
        .await
        .expect_json(200)
        .await;
    assert_eq!(body["status"], "declined");
    assert_eq!(entries_of(&app, &cid, "invitation.declined").await, 1);
    assert_eq!(roles_of(&app, &cid, &id(&tess)).await, vec!["read_only"]);
    assert_eq!(entries_of(&app, &cid, "invitation.accepted").await, 1);
}

async fn s5_1_an_expired_invitation_is_gone(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_tenant, ada, _bob, tess) = team(&app).await;
    let cid = create_connection(&app, &ada, "Expiry", "autotask_quickbooks").await;
    let as_ada = app.as_(&ada);
    let as_tess = app.as_(&tess);
    let inv = as_ada
        .create_invitation(&cid, &invitation(&id(&tess), Role::ReadOnly))
        .await
        .expect(201)
        .await
        .id;
    let past = crate::helpers::past_timestamp(&app);
    exec(
        &app,
        &format!("UPDATE invitations SET expires_at = {past} WHERE id = '{inv}'"),
    )
    .await;

    let mine = as_tess.list_my_invitations().await.json().await;
    assert!(mine["items"].as_array().unwrap().is_empty());
    let listed = as_ada.list_connection_invitations(&cid).await.json().await;
    assert!(listed["items"].as_array().unwrap().is_empty());

    as_tess
        .accept_invitation(&inv)
        .await
        .problem(410, "invitation_expired")
        .await;
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM invitations WHERE id = '{inv}' AND status = 'expired'"
        ))
        .await,
        1
    );
    assert_eq!(entries_of(&app, &cid, "invitation.expired").await, 1);
    assert!(roles_of(&app, &cid, &id(&tess)).await.is_empty());
    // Now not pending: 409.
    as_tess
        .accept_invitation(&inv)
        .await
        .problem(409, "conflict")
        .await;

    // A stale pending invitation never blocks a new one: it is marked expired on the way.
    let inv2 = as_ada
        .create_invitation(&cid, &invitation(&id(&tess), Role::ItAdmin))
        .await
        .expect(201)
        .await
        .id;
    exec(
        &app,
        &format!("UPDATE invitations SET expires_at = {past} WHERE id = '{inv2}'"),
    )
    .await;
    as_ada
        .create_invitation(&cid, &invitation(&id(&tess), Role::ItAdmin))
        .await
        .expect(201)
        .await;
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM invitations WHERE id = '{inv2}' AND status = 'expired'"
        ))
        .await,
        1
    );
    assert_eq!(entries_of(&app, &cid, "invitation.created").await, 3);
}

async fn s5_1_a_duplicate_pending_invitation_is_409(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_tenant, ada, bob, tess) = team(&app).await;
    let cid = create_connection(&app, &ada, "Duplicates", "autotask_quickbooks").await;
    let as_ada = app.as_(&ada);
    as_ada
        .create_invitation(&cid, &invitation(&id(&tess), Role::ReadOnly))
        .await
        .expect(201)
        .await;
    as_ada
        .create_invitation(&cid, &invitation(&id(&tess), Role::ReadOnly))
        .await
        .problem(409, "conflict")
        .await;
    // The same person by email is the same invitee.
    let email = tess.user["email"].as_str().unwrap().to_uppercase();
    as_ada
        .create_invitation(&cid, &email_invitation(&email, Role::ReadOnly))
        .await
        .problem(409, "conflict")
        .await;
    // Another role is another invitation.
    as_ada
        .create_invitation(&cid, &invitation(&id(&tess), Role::ItAdmin))
        .await
        .expect(201)
        .await;

    // One pending owner invitation per connection.
    as_ada
        .create_invitation(&cid, &invitation(&id(&bob), Role::Owner))
        .await
        .expect(201)
        .await;
    as_ada
        .create_invitation(&cid, &invitation(&id(&tess), Role::Owner))
        .await
        .problem(409, "conflict")
        .await;
    // Inviting someone to a role they hold.
    as_ada
        .create_invitation(&cid, &invitation(&id(&ada), Role::Owner))
        .await
        .problem(409, "conflict")
        .await;
    assert_eq!(app.count("invitations").await, 3);
    assert_eq!(entries_of(&app, &cid, "invitation.created").await, 3);
}

async fn s5_1_email_invitations_wait_for_the_hub_user(backend: Backend) {
    let app = spawn_app(backend).await;
    let (tenant, ada, _bob, _tess) = team(&app).await;
    let cid = create_connection(&app, &ada, "By email", "autotask_quickbooks").await;
    let as_ada = app.as_(&ada);
    let body = as_ada
        .create_invitation(
            &cid,
            &email_invitation("Tom.Tech@Example.TEST", Role::ItAdmin),
        )
        .await
        .expect_json(201)
        .await;
    let inv = body["id"].as_str().unwrap().to_owned();
    assert_eq!(body["invitee"]["user_id"], Value::Null);
    assert_eq!(body["invitee"]["email"], "Tom.Tech@Example.TEST");
    // An owner invitation needs an existing hub user.
    as_ada
        .create_invitation(&cid, &email_invitation("nobody@example.test", Role::Owner))
        .await
        .problem(422, "validation_failed")
        .await;

    let tom = app.sign_in(&tenant, TOM_TECH).await;
    let as_tom = app.as_(&tom);
    let mine = as_tom.list_my_invitations().await.json().await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    assert_eq!(mine["items"][0]["id"], inv.as_str());
    as_tom.accept_invitation(&inv).await.expect(200).await;
    assert_eq!(roles_of(&app, &cid, &id(&tom)).await, vec!["it_admin"]);
    assert_eq!(as_tom.get_connection(&cid).await.status(), 200);
    let members = as_tom.list_connection_members(&cid).await.json().await;
    let items = members["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let tom_row = items.iter().find(|m| m["user"]["id"] == id(&tom)).unwrap();
    assert_eq!(tom_row["roles"], json!(["it_admin"]));
    assert_eq!(tom_row["user"]["access_level"], "limited");
    let ada_row = items.iter().find(|m| m["user"]["id"] == id(&ada)).unwrap();
    assert_eq!(ada_row["roles"], json!(["owner"]));
    assert_eq!(entries_of(&app, &cid, "invitation.accepted").await, 1);
}

async fn s5_1_revoke_by_the_inviter_or_whoever_could_issue_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let (tenant, ada, bob, tess) = team(&app).await;
    let cid = create_connection(&app, &ada, "Revoke", "autotask_quickbooks").await;
    let inv = app
        .as_(&ada)
        .create_invitation(&cid, &email_invitation("x@example.test", Role::ItAdmin))
        .await
        .expect(201)
        .await
        .id;
    app.as_(&bob)
        .revoke_invitation(&inv)
        .await
        .problem(404, "not_found")
        .await;
    grant(&app, &tenant, &cid, &id(&bob), "read_only").await;
    app.as_(&bob)
        .revoke_invitation(&inv)
        .await
        .problem(403, "forbidden")
        .await;
    grant(&app, &tenant, &cid, &id(&tess), "it_admin").await;
    let body = app
        .as_(&tess)
        .revoke_invitation(&inv)
        .await
        .expect_json(200)
        .await;
    assert_eq!(body["status"], "revoked");
    app.as_(&ada)
        .revoke_invitation(&inv)
        .await
        .problem(409, "conflict")
        .await;
    assert_eq!(entries_of(&app, &cid, "invitation.revoked").await, 1);
    // The inviter may revoke their own.
    let inv2 = app
        .as_(&tess)
        .create_invitation(&cid, &invitation(&id(&bob), Role::ItAdmin))
        .await
        .expect(201)
        .await
        .id;
    app.as_(&tess)
        .revoke_invitation(&inv2)
        .await
        .expect(200)
        .await;
    assert_eq!(entries_of(&app, &cid, "invitation.revoked").await, 2);
}

async fn s5_3_transfer_keeps_exactly_one_owner_and_the_retained_role(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_tenant, ada, bob, tess) = team(&app).await;
    let cid = create_connection(&app, &ada, "Transfer", "autotask_quickbooks").await;
    let as_ada = app.as_(&ada);
    // retain_role only with an owner invitation.
    let read_only_retaining = NewInvitation {
        retain_role: Some(Role::ItAdmin),
        ..invitation(&id(&tess), Role::ReadOnly)
    };
    as_ada
        .create_invitation(&cid, &read_only_retaining)
        .await
        .problem(422, "validation_failed")
        .await;
    let ownership = NewInvitation {
        retain_role: Some(Role::BusinessAdmin),
        ..invitation(&id(&bob), Role::Owner)
    };
    let inv = as_ada
        .create_invitation(&cid, &ownership)
        .await
        .expect(201)
        .await
        .id;
    // Until accepted nothing changes.
    assert_eq!(the_owner(&app, &cid).await, id(&ada));
    assert!(roles_of(&app, &cid, &id(&bob)).await.is_empty());

    let before = entries(&app, &cid).await;
    app.as_(&bob)
        .accept_invitation(&inv)
        .await
        .expect(200)
        .await;
    assert_eq!(the_owner(&app, &cid).await, id(&bob));
    assert_eq!(
        roles_of(&app, &cid, &id(&ada)).await,
        vec!["business_admin"]
    );
    assert_eq!(roles_of(&app, &cid, &id(&bob)).await, vec!["owner"]);
    assert_eq!(entries(&app, &cid).await, before + 1);
    assert_eq!(
        entries_of(&app, &cid, "connection.ownership_transferred").await,
        1
    );

    let conn = as_ada.get_connection(&cid).await.json().await;
    assert_eq!(conn["my_roles"], json!(["business_admin"]));
    assert_eq!(conn["owner"]["id"], id(&bob));
    // Ada is no longer the owner: she cannot transfer again.
    as_ada
        .create_invitation(&cid, &invitation(&id(&tess), Role::Owner))
        .await
        .problem(403, "forbidden")
        .await;
}

async fn s5_3_the_previous_owner_without_other_roles_loses_access(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_tenant, ada, bob, tess) = team(&app).await;
    let cid = create_connection(&app, &ada, "Handover", "autotask_quickbooks").await;
    let as_ada = app.as_(&ada);
    let to_tess = as_ada
        .create_invitation(&cid, &invitation(&id(&tess), Role::ReadOnly))
        .await
        .expect(201)
        .await
        .id;
    let inv = as_ada
        .create_invitation(&cid, &invitation(&id(&bob), Role::Owner))
        .await
        .expect(201)
        .await
        .id;
    assert_eq!(app.as_(&bob).accept_invitation(&inv).await.status(), 200);
    assert_eq!(the_owner(&app, &cid).await, id(&bob));
    assert!(roles_of(&app, &cid, &id(&ada)).await.is_empty());
    as_ada
        .get_connection(&cid)
        .await
        .problem(404, "not_found")
        .await;
    as_ada
        .list_connection_members(&cid)
        .await
        .problem(404, "not_found")
        .await;
    // Her pending invitation no longer holds: the inviter may no longer issue it.
    app.as_(&tess)
        .accept_invitation(&to_tess)
        .await
        .problem(409, "conflict")
        .await;
    assert!(roles_of(&app, &cid, &id(&tess)).await.is_empty());
}

async fn s5_2_the_owner_cannot_leave_or_be_removed(backend: Backend) {
    let app = spawn_app(backend).await;
    let (tenant, ada, _bob, tess) = team(&app).await;
    let cid = create_connection(&app, &ada, "Stay", "autotask_quickbooks").await;
    grant(&app, &tenant, &cid, &id(&tess), "business_admin").await;
    let (as_ada, as_tess) = (app.as_(&ada), app.as_(&tess));
    as_ada
        .leave_connection(&cid)
        .await
        .problem(409, "owner_must_transfer")
        .await;
    as_ada
        .remove_member_role(&cid, &id(&ada), "owner")
        .await
        .problem(409, "owner_must_transfer")
        .await;
    as_tess
        .remove_member_role(&cid, &id(&ada), "owner")
        .await
        .problem(403, "forbidden")
        .await;
    assert_eq!(the_owner(&app, &cid).await, id(&ada));

    // Anyone else may leave.
    assert_eq!(as_tess.leave_connection(&cid).await.status(), 204);
    assert!(roles_of(&app, &cid, &id(&tess)).await.is_empty());
    as_tess
        .get_connection(&cid)
        .await
        .problem(404, "not_found")
        .await;
    assert_eq!(entries_of(&app, &cid, "member.left").await, 1);
    assert_eq!(entries_of(&app, &cid, "member.role_removed").await, 0);
}

async fn s5_2_roles_are_removed_by_whoever_could_invite_them(backend: Backend) {
    let app = spawn_app(backend).await;
    let (tenant, ada, bob, tess) = team(&app).await;
    let cid = create_connection(&app, &ada, "Removals", "autotask_quickbooks").await;
    grant(&app, &tenant, &cid, &id(&tess), "it_admin").await;
    grant(&app, &tenant, &cid, &id(&bob), "business_admin").await;
    grant(&app, &tenant, &cid, &id(&bob), "read_only").await;
    let (as_ada, as_bob, as_tess) = (app.as_(&ada), app.as_(&bob), app.as_(&tess));
    // An IT administrator cannot invite business administrators, so cannot remove one.
    as_tess
        .remove_member_role(&cid, &id(&bob), "business_admin")
        .await
        .problem(403, "forbidden")
        .await;
    assert_eq!(
        as_tess
            .remove_member_role(&cid, &id(&bob), "read_only")
            .await
            .status(),
        204
    );
    assert_eq!(
        roles_of(&app, &cid, &id(&bob)).await,
        vec!["business_admin"]
    );
    // A role the member does not hold, or a role that does not exist.
    as_tess
        .remove_member_role(&cid, &id(&bob), "read_only")
        .await
        .problem(404, "not_found")
        .await;
    as_ada
        .remove_member_role(&cid, &id(&bob), "superuser")
        .await
        .problem(404, "not_found")
        .await;
    // A business administrator removes the IT administrator, who then loses access.
    assert_eq!(
        as_bob
            .remove_member_role(&cid, &id(&tess), "it_admin")
            .await
            .status(),
        204
    );
    as_tess
        .get_connection(&cid)
        .await
        .problem(404, "not_found")
        .await;
    assert_eq!(entries_of(&app, &cid, "member.role_removed").await, 2);
}

async fn s5_4_recovery_only_when_the_owner_has_no_access(backend: Backend) {
    let app = spawn_app(backend).await;
    let (tenant, ada, bob, tess) = team(&app).await;
    let cid = create_connection(&app, &bob, "Orphan", "autotask_quickbooks").await;
    grant(&app, &tenant, &cid, &id(&bob), "read_only").await;
    let (as_ada, as_tess) = (app.as_(&ada), app.as_(&tess));
    let to = |user: &str| RecoverOwnership {
        user_id: UserId::new(user),
        retain_role: None,
    };
    // The owner still has access.
    as_ada
        .recover_ownership(&cid, &to(&id(&tess)))
        .await
        .problem(409, "conflict")
        .await;
    // Limited users cannot recover.
    as_tess
        .recover_ownership(&cid, &to(&id(&tess)))
        .await
        .problem(403, "elevated_access_required")
        .await;
    let deactivate = UserPatch {
        active: Some(false),
        elevation: None,
    };
    as_ada
        .update_user(&id(&bob), &deactivate)
        .await
        .expect(200)
        .await;
    // The new owner must have hub access.
    as_ada
        .recover_ownership(&cid, &to(&id(&bob)))
        .await
        .problem(422, "validation_failed")
        .await;
    as_ada
        .recover_ownership(&cid, &to("no-such-user"))
        .await
        .problem(422, "validation_failed")
        .await;
    let body = as_ada
        .recover_ownership(
            &cid,
            &RecoverOwnership {
                retain_role: Some(Role::ItAdmin),
                ..to(&id(&tess))
            },
        )
        .await
        .expect_json(200)
        .await;
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
        entries_of(&app, &cid, "connection.ownership_recovered").await,
        1
    );
    // Tess now has access and owns it: no second recovery.
    as_ada
        .recover_ownership(&cid, &to(&id(&ada)))
        .await
        .problem(409, "conflict")
        .await;
    let conn = as_tess.get_connection(&cid).await.json().await;
    assert_eq!(conn["my_roles"], json!(["owner"]));
}

async fn s5_3_concurrent_accepts_transfers_and_removals_leave_exactly_one_owner(backend: Backend) {
    let app = spawn_app(backend).await;
    let (tenant, ada, bob, tess) = team(&app).await;
    let tom = app.sign_in(&tenant, TOM_TECH).await;
    let cid = create_connection(&app, &ada, "Contended", "autotask_quickbooks").await;
    grant(&app, &tenant, &cid, &id(&bob), "it_admin").await;
    grant(&app, &tenant, &cid, &id(&tess), "read_only").await;
    let as_ada = app.as_(&ada);
    let to_bob = NewInvitation {
        retain_role: Some(Role::ReadOnly),
        ..invitation(&id(&bob), Role::Owner)
    };
    let to_bob = as_ada
        .create_invitation(&cid, &to_bob)
        .await
        .expect(201)
        .await
        .id;
    let to_tess = as_ada
        .create_invitation(&cid, &invitation(&id(&tess), Role::BusinessAdmin))
        .await
        .expect(201)
        .await
        .id;
    let to_tom = as_ada
        .create_invitation(&cid, &invitation(&id(&tom), Role::ItAdmin))
        .await
        .expect(201)
        .await
        .id;
    let before = entries(&app, &cid).await;

    // Every call is built first, then each runs in its own task, all at once.
    type Call = std::pin::Pin<Box<dyn std::future::Future<Output = u16> + Send>>;
    let mut calls: Vec<(String, Call)> = Vec::new();
    let (ada_c, bob_c, tess_c, tom_c) = (
        app.as_(&ada).detached(),
        app.as_(&bob).detached(),
        app.as_(&tess).detached(),
        app.as_(&tom).detached(),
    );
    for i in 0..6 {
        for (c, inv, who) in [
            (bob_c.clone(), to_bob.clone(), "Bob"),
            (tess_c.clone(), to_tess.clone(), "Tess"),
            (tom_c.clone(), to_tom.clone(), "Tom"),
        ] {
            calls.push((
                format!("POST /api/v1/invitations/{inv}/accept as {who}"),
                Box::pin(async move { c.accept_invitation(&inv).await.status().as_u16() }),
            ));
        }
        for (c, invitee, who) in [
            (ada_c.clone(), id(&tess), "Ada"),
            (bob_c.clone(), id(&tom), "Bob"),
        ] {
            let (cid, body) = (cid.clone(), invitation(&invitee, Role::Owner));
            calls.push((
                format!("POST invitations (owner → {invitee}) as {who}"),
                Box::pin(async move { c.create_invitation(&cid, &body).await.status().as_u16() }),
            ));
        }
        for (c, user, role, who) in [
            (ada_c.clone(), id(&ada), "owner", "Ada"),
            (bob_c.clone(), id(&bob), "owner", "Bob"),
            (ada_c.clone(), id(&bob), "it_admin", "Ada"),
            (bob_c.clone(), id(&tess), "read_only", "Bob"),
        ] {
            let cid = cid.clone();
            calls.push((
                format!("DELETE members/{user}/roles/{role} as {who}"),
                Box::pin(async move {
                    c.remove_member_role(&cid, &user, role)
                        .await
                        .status()
                        .as_u16()
                }),
            ));
        }
        let (c, who) = if i % 2 == 0 {
            (ada_c.clone(), "Ada")
        } else {
            (bob_c.clone(), "Bob")
        };
        let cid = cid.clone();
        calls.push((
            format!("POST leave as {who}"),
            Box::pin(async move { c.leave_connection(&cid).await.status().as_u16() }),
        ));
    }
    assert!(calls.len() >= 50);
    let mut handles = Vec::new();
    for (what, call) in calls {
        handles.push(tokio::spawn(async move { (what, call.await) }));
    }
    let mut successes = 0;
    for handle in handles {
        let (what, status) = handle.await.unwrap();
        assert!(status < 500, "{what} answered {status}");
        assert!(
            [200, 201, 204, 403, 404, 409].contains(&status),
            "{what} answered {status}"
        );
        if status < 300 {
            successes += 1;
        }
    }
    // Bob's accept is the only way the owner can change here: it happens exactly once.
    assert_eq!(the_owner(&app, &cid).await, id(&bob));
    assert_eq!(
        entries_of(&app, &cid, "connection.ownership_transferred").await,
        1
    );
    assert_eq!(
        entries(&app, &cid).await - before,
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
    let cid = create_connection(&app, &ada, "Private", "autotask_quickbooks").await;
    let tom = app.sign_in(&tenant, TOM_TECH).await;
    let inv = app
        .as_(&ada)
        .create_invitation(&cid, &invitation(&id(&tom), Role::ReadOnly))
        .await
        .expect(201)
        .await
        .id;
    let before = entries(&app, &cid).await;
    // Bob is elevated, Tess limited: neither holds a role.
    for who in [&bob, &tess] {
        let c = app.as_(who);
        c.list_connection_members(&cid)
            .await
            .problem(404, "not_found")
            .await;
        c.list_connection_invitations(&cid)
            .await
            .problem(404, "not_found")
            .await;
        c.create_invitation(&cid, &invitation(&id(&tess), Role::ReadOnly))
            .await
            .problem(404, "not_found")
            .await;
        c.leave_connection(&cid)
            .await
            .problem(404, "not_found")
            .await;
        c.accept_invitation(&inv)
            .await
            .problem(404, "not_found")
            .await;
        c.decline_invitation(&inv)
            .await
            .problem(404, "not_found")
            .await;
        for role in ["owner", "read_only"] {
            c.remove_member_role(&cid, &id(&ada), role)
                .await
                .problem(404, "not_found")
                .await;
        }
        c.revoke_invitation(&inv)
            .await
            .problem(404, "not_found")
            .await;
    }
    // An unknown connection or invitation is the same 404.
    let as_ada = app.as_(&ada);
    as_ada
        .list_connection_members("nope")
        .await
        .problem(404, "not_found")
        .await;
    as_ada
        .accept_invitation("nope")
        .await
        .problem(404, "not_found")
        .await;
    let mine = app.as_(&bob).list_my_invitations().await.json().await;
    assert!(mine["items"].as_array().unwrap().is_empty());
    assert_eq!(entries(&app, &cid).await, before);
}

/// SPEC S14 (issue 19, defect 8): an invitation by email is bound when it is accepted, to the
/// person whose email the PSA has then — not to whoever the hub's cached copy of an email
/// names — and `/me` counts exactly what `/me/invitations` lists.
async fn s14_an_email_invitation_binds_to_the_current_psa_email_at_accept_time(backend: Backend) {
    let app = spawn_app(backend).await;
    let (tenant, ada, _bob, tess) = team(&app).await;
    let cid = create_connection(&app, &ada, "Rehomed email", "autotask_quickbooks").await;
    let old_email = tess.user["email"].as_str().unwrap().to_owned();
    let body = app
        .as_(&ada)
        .create_invitation(&cid, &email_invitation(&old_email, Role::ReadOnly))
        .await
        .expect_json(201)
        .await;
    let inv = body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        body["invitee"]["user_id"],
        Value::Null,
        "unbound until accepted"
    );
    // The same person by id is the same invitee.
    app.as_(&ada)
        .create_invitation(&cid, &invitation(&id(&tess), Role::ReadOnly))
        .await
        .problem(409, "conflict")
        .await;
    // Another invitation to Tess by id, for another role: /me counts what the list shows.
    app.as_(&ada)
        .create_invitation(&cid, &invitation(&id(&tess), Role::ItAdmin))
        .await
        .expect(201)
        .await;
    assert_eq!(count_and_list(&app, &tess).await, (2, 2));

    // The PSA gives Tess a new address and her old one to Tom; Tess's session still holds
    // the old one.
    tenant.edit_directory(|d| {
        for r in &mut d.resources {
            if r.id == TESS_TECH {
                r.email = "tess.new@example.test".into();
            } else if r.id == TOM_TECH {
                r.email.clone_from(&old_email);
            }
        }
    });
    app.as_(&tess)
        .accept_invitation(&inv)
        .await
        .problem(404, "not_found")
        .await;
    assert!(roles_of(&app, &cid, &id(&tess)).await.is_empty());
    // Her copy of the email is now the PSA's: the invitation is no longer listed as hers.
    assert_eq!(count_and_list(&app, &tess).await, (1, 1));

    let tom = app.sign_in(&tenant, TOM_TECH).await;
    assert_eq!(count_and_list(&app, &tom).await, (1, 1));
    app.as_(&tom)
        .accept_invitation(&inv)
        .await
        .expect(200)
        .await;
    assert_eq!(roles_of(&app, &cid, &id(&tom)).await, vec!["read_only"]);
    assert_eq!(
        app.scalar_text(&format!(
            "SELECT invitee_user_id FROM invitations WHERE id = '{inv}'"
        ))
        .await,
        id(&tom),
        "bound to who accepted it"
    );
    assert_eq!(count_and_list(&app, &tom).await, (0, 0));
}

/// `/me`'s `pending_invitations` and the length of `/me/invitations`.
async fn count_and_list(app: &TestApp, who: &crate::helpers::Session) -> (u64, u64) {
    let me = app.as_(who).get_me().await.expect_json(200).await;
    let list = app
        .as_(who)
        .list_my_invitations()
        .await
        .expect_json(200)
        .await;
    (
        me["pending_invitations"].as_u64().unwrap(),
        list["items"].as_array().unwrap().len() as u64,
    )
}
