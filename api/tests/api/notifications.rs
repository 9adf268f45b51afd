//! Notifications (SPEC S15, issue 23): the transactional outbox, each person's categories,
//! the elevated outbox list and retry, and the sender's files without SMTP — on each backend.
//! Delivery to a real SMTP server is `e2e/tests/notifications.rs`.

use std::time::Duration;

use hubkeep_shared::ConnectionRole;
use hubkeep_shared::api::{
    Notification, NotificationPreferences, NotificationPreferencesPatch, NotificationQuery,
    NotificationStatus, Page, UserPatch,
};
use serde_json::Value;

use crate::client::{email_invitation, invitation};
use crate::helpers::{
    Backend, TestApp, create_connection, exec, fixture_directory, id, people, spawn_app,
    spawn_app_with, team,
};
use crate::on_each_backend;

on_each_backend!(
    s15_an_invitation_by_email_writes_one_message_to_the_invitee,
    s15_a_category_turned_off_writes_no_message,
    s15_preferences_refuse_bad_input_and_change_nothing,
    s15_a_change_rolled_back_after_the_outbox_insert_leaves_no_message,
    s15_answers_to_an_invitation_tell_the_inviter_and_no_one_hears_of_their_own_act,
    s15_hub_access_changes_tell_the_person,
    s15_ownership_recovered_tells_the_new_owner,
    s15_the_outbox_is_for_elevated_users_and_retry_queues_only_failed_or_dead,
    s15_without_smtp_the_sender_writes_eml_files_and_marks_them_sent,
    s15_the_expiry_job_expires_invitations_past_their_time_and_tells_the_inviter,
    s15_a_tenants_sender_name_is_the_from_of_its_emails,
    s15_elevation_emails_follow_the_access_a_person_has_and_the_access_tab_sends_them_too,
    s15_an_invitation_by_email_goes_to_the_address_typed_not_the_hubs_copy,
);

/// Every outbox row of the app, oldest first, as JSON.
async fn rows(app: &TestApp) -> Vec<Value> {
    use sea_orm::{FromQueryResult, JsonValue, Statement};
    JsonValue::find_by_statement(Statement::from_string(
        app.db.get_database_backend(),
        "SELECT id, category, kind, recipient_user_id, recipient_email, recipient_name, \
         subject, status, attempts FROM notifications ORDER BY id",
    ))
    .all(&app.db)
    .await
    .unwrap()
}

async fn s15_an_invitation_by_email_writes_one_message_to_the_invitee(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_tenant, ada, _bob, tess) = team(&app).await;
    let cid = create_connection(&app, &ada, "Northwind <Books>", "autotask_xero").await;
    assert!(rows(&app).await.is_empty());

    let created = app
        .as_(&ada)
        .create_invitation(
            &cid,
            &email_invitation("New.Person@Example.com", ConnectionRole::ReadOnly),
        )
        .await
        .expect_json(201)
        .await;
    let outbox = rows(&app).await;
    assert_eq!(outbox.len(), 1, "exactly one message: {outbox:?}");
    let m = &outbox[0];
    assert_eq!(m["category"], "invitations");
    assert_eq!(m["kind"], "invitation.created");
    assert_eq!(m["recipient_email"], "New.Person@Example.com");
    assert_eq!(m["recipient_user_id"], Value::Null);
    assert_eq!(m["status"], "queued");
    let ada_name = ada.user["display_name"].as_str().unwrap();
    assert_eq!(
        m["subject"],
        format!("{ada_name} invited you to Northwind <Books>")
    );

    // The elevated list shows it rendered: the link into the console, the Message-ID.
    let page: Page<Notification> = app
        .as_(&ada)
        .list_notifications(&NotificationQuery::default())
        .await
        .expect(200)
        .await;
    assert_eq!(page.items.len(), 1);
    let n = &page.items[0];
    assert_eq!(n.status, NotificationStatus::Queued);
    assert!(
        n.body_text.contains(&format!(
            "Open your invitations: {}/invitations",
            app.address
        )),
        "{}",
        n.body_text
    );
    assert!(
        n.body_text
            .contains("Read-only on the connection Northwind <Books>")
    );
    assert_eq!(n.message_id, format!("<{}@localhost>", n.id));
    assert_eq!(created["status"], "pending");

    // An invitation to a hub user goes to the address the hub has for them.
    app.as_(&ada)
        .create_invitation(&cid, &invitation(&id(&tess), ConnectionRole::ItAdmin))
        .await
        .expect(201)
        .await;
    let outbox = rows(&app).await;
    assert_eq!(outbox.len(), 2);
    assert_eq!(outbox[1]["recipient_user_id"], id(&tess).as_str());
    assert_eq!(outbox[1]["recipient_email"], tess.user["email"]);
    assert_eq!(outbox[1]["recipient_name"], tess.user["display_name"]);
}

async fn s15_a_category_turned_off_writes_no_message(backend: Backend) {
    let app = spawn_app(backend).await;
    let (tenant, ada, _bob, tess) = team(&app).await;
    let cid = create_connection(&app, &ada, "Books", "autotask_xero").await;

    let prefs: NotificationPreferences =
        app.as_(&tess).get_my_preferences().await.expect(200).await;
    assert_eq!(
        prefs,
        NotificationPreferences::default(),
        "all on until turned off"
    );
    let off = NotificationPreferencesPatch {
        invitations: Some(false),
        ..NotificationPreferencesPatch::default()
    };
    let after: NotificationPreferences = app
        .as_(&tess)
        .update_my_preferences(&off)
        .await
        .expect(200)
        .await;
    assert!(!after.invitations && after.invitation_updates && after.ownership && after.hub_access);
    assert_eq!(
        app.activity_count(&tenant, "user.preferences_updated")
            .await,
        1
    );
    // The same again changes nothing and logs nothing.
    app.as_(&tess)
        .update_my_preferences(&off)
        .await
        .expect(200)
        .await;
    assert_eq!(
        app.activity_count(&tenant, "user.preferences_updated")
            .await,
        1
    );
    let read: NotificationPreferences = app.as_(&tess).get_my_preferences().await.expect(200).await;
    assert_eq!(read, after);

    app.as_(&ada)
        .create_invitation(&cid, &invitation(&id(&tess), ConnectionRole::ReadOnly))
        .await
        .expect(201)
        .await;
    assert!(rows(&app).await.is_empty(), "Tess turned invitations off");

    // Another person's choice is theirs alone: an invitation to Bob is written.
    let bob = app.sign_in(&tenant, people::BOB_FINANCE).await;
    app.as_(&ada)
        .create_invitation(&cid, &invitation(&id(&bob), ConnectionRole::ReadOnly))
        .await
        .expect(201)
        .await;
    assert_eq!(rows(&app).await.len(), 1);
}

async fn s15_preferences_refuse_bad_input_and_change_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let (tenant, _ada, _bob, tess) = team(&app).await;
    let client = app.as_(&tess);
    for body in [
        serde_json::json!({}),
        serde_json::json!({"email": false}),
        serde_json::json!({"invitations": "no"}),
        serde_json::json!({"invitations": null}),
    ] {
        client
            .raw(
                reqwest::Method::PATCH,
                "/api/v1/me/preferences",
                Some(&body),
            )
            .await
            .problem(422, "validation_failed")
            .await;
    }
    assert_eq!(app.count("notification_preferences").await, 0);
    assert_eq!(
        app.activity_count(&tenant, "user.preferences_updated")
            .await,
        0
    );
}

async fn s15_a_change_rolled_back_after_the_outbox_insert_leaves_no_message(backend: Backend) {
    // The forced failure is a 500 the document rightly does not promise.
    let app = spawn_app_with(backend, |s| s.contract_check = false).await;
    let (_tenant, ada, _bob, tess) = team(&app).await;
    let cid = create_connection(&app, &ada, "Books", "autotask_xero").await;
    // The activity entry is written after the outbox row: make writing it fail.
    if app.is_postgres() {
        exec(
            &app,
            "CREATE FUNCTION refuse_entry() RETURNS trigger AS $$ BEGIN \
             RAISE EXCEPTION 'forced failure'; END; $$ LANGUAGE plpgsql",
        )
        .await;
        exec(
            &app,
            "CREATE TRIGGER refuse_entry BEFORE INSERT ON activity_log \
             FOR EACH ROW EXECUTE FUNCTION refuse_entry()",
        )
        .await;
    } else {
        exec(
            &app,
            "CREATE TRIGGER refuse_entry BEFORE INSERT ON activity_log \
             BEGIN SELECT RAISE(ABORT, 'forced failure'); END",
        )
        .await;
    }
    let invitations_before = app.count("invitations").await;
    app.as_(&ada)
        .create_invitation(&cid, &invitation(&id(&tess), ConnectionRole::ReadOnly))
        .await
        .problem(500, "internal_error")
        .await;
    assert_eq!(
        app.count("notifications").await,
        0,
        "the message went with the change"
    );
    assert_eq!(app.count("invitations").await, invitations_before);
}

async fn s15_answers_to_an_invitation_tell_the_inviter_and_no_one_hears_of_their_own_act(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let (tenant, ada, _bob, tess) = team(&app).await;
    let tom = app.sign_in(&tenant, people::TOM_TECH).await;
    let cid = create_connection(&app, &ada, "Books", "autotask_xero").await;
    let inv = |who: &str, role| invitation(who, role);

    let to_tess = app
        .as_(&ada)
        .create_invitation(&cid, &inv(&id(&tess), ConnectionRole::ReadOnly))
        .await
        .expect_json(201)
        .await;
    app.as_(&tess)
        .accept_invitation(to_tess["id"].as_str().unwrap())
        .await
        .expect(200)
        .await;
    let to_tom = app
        .as_(&ada)
        .create_invitation(&cid, &inv(&id(&tom), ConnectionRole::ReadOnly))
        .await
        .expect_json(201)
        .await;
    app.as_(&tom)
        .decline_invitation(to_tom["id"].as_str().unwrap())
        .await
        .expect(200)
        .await;
    // Ada revokes her own invitation: she is not told what she did.
    let again = app
        .as_(&ada)
        .create_invitation(&cid, &inv(&id(&tom), ConnectionRole::ItAdmin))
        .await
        .expect_json(201)
        .await;
    app.as_(&ada)
        .revoke_invitation(again["id"].as_str().unwrap())
        .await
        .expect(200)
        .await;

    let outbox = rows(&app).await;
    let to_ada: Vec<&Value> = outbox
        .iter()
        .filter(|m| m["recipient_user_id"] == id(&ada).as_str())
        .collect();
    let kinds: Vec<&str> = to_ada.iter().map(|m| m["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["invitation.accepted", "invitation.declined"],
        "{outbox:?}"
    );
    assert!(to_ada.iter().all(|m| m["category"] == "invitation_updates"));
    let tess_name = tess.user["display_name"].as_str().unwrap();
    assert_eq!(
        to_ada[0]["subject"],
        format!("{tess_name} accepted your invitation to Books")
    );
    // The three invitations themselves went to their invitees.
    assert_eq!(
        outbox
            .iter()
            .filter(|m| m["kind"] == "invitation.created")
            .count(),
        3
    );
}

async fn s15_hub_access_changes_tell_the_person(backend: Backend) {
    let app = spawn_app(backend).await;
    let (tenant, ada, bob, tess) = team(&app).await;
    let admin = app.as_(&ada);
    let deactivate = UserPatch {
        active: Some(false),
        elevation: None,
    };
    admin
        .update_user(&id(&tess), &deactivate)
        .await
        .expect(200)
        .await;
    let reactivate = UserPatch {
        active: Some(true),
        elevation: None,
    };
    admin
        .update_user(&id(&tess), &reactivate)
        .await
        .expect(200)
        .await;
    let revoke = UserPatch {
        active: None,
        elevation: Some(hubkeep_shared::Elevation::Revoked),
    };
    admin
        .update_user(&id(&bob), &revoke)
        .await
        .expect(200)
        .await;

    let outbox = rows(&app).await;
    let summary: Vec<(String, String, String)> = outbox
        .iter()
        .map(|m| {
            (
                m["recipient_user_id"].as_str().unwrap().to_owned(),
                m["kind"].as_str().unwrap().to_owned(),
                m["subject"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                id(&tess),
                "user.deactivated".to_owned(),
                "Your Hubkeep access was deactivated".to_owned()
            ),
            (
                id(&tess),
                "user.activated".to_owned(),
                "Your Hubkeep access was reactivated".to_owned()
            ),
            (
                id(&bob),
                "user.elevation_changed".to_owned(),
                "Your elevated access in Hubkeep was revoked".to_owned()
            ),
        ]
    );
    assert!(outbox.iter().all(|m| m["category"] == "hub_access"));
    // A change that changes nothing tells nobody.
    admin
        .update_user(&id(&tess), &reactivate)
        .await
        .expect(200)
        .await;
    assert_eq!(rows(&app).await.len(), 3);
    let _ = tenant;
}

async fn s15_ownership_recovered_tells_the_new_owner(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_tenant, ada, bob, tess) = team(&app).await;
    // Bob owns a connection, then loses his hub access; Ada gives it to Tess.
    let cid = create_connection(&app, &bob, "Orphan", "autotask_xero").await;
    app.as_(&ada)
        .update_user(
            &id(&bob),
            &UserPatch {
                active: Some(false),
                elevation: None,
            },
        )
        .await
        .expect(200)
        .await;
    let before = rows(&app).await.len();
    app.as_(&ada)
        .recover_ownership(
            &cid,
            &hubkeep_shared::api::RecoverOwnership {
                user_id: hubkeep_shared::UserId::new(id(&tess)),
                retain_role: None,
            },
        )
        .await
        .expect(200)
        .await;
    let outbox = rows(&app).await;
    assert_eq!(outbox.len(), before + 1);
    let m = outbox.last().unwrap();
    assert_eq!(m["recipient_user_id"], id(&tess).as_str());
    assert_eq!(m["category"], "ownership");
    assert_eq!(m["subject"], "You are now the owner of Orphan");
}

async fn s15_the_outbox_is_for_elevated_users_and_retry_queues_only_failed_or_dead(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let (tenant, ada, _bob, tess) = team(&app).await;
    let cid = create_connection(&app, &ada, "Books", "autotask_xero").await;
    app.as_(&ada)
        .create_invitation(
            &cid,
            &email_invitation("x@example.com", ConnectionRole::ReadOnly),
        )
        .await
        .expect(201)
        .await;
    let nid = rows(&app).await[0]["id"].as_str().unwrap().to_owned();

    app.as_(&tess)
        .list_notifications(&NotificationQuery::default())
        .await
        .problem(403, "elevated_access_required")
        .await;
    app.as_(&tess)
        .retry_notification(&nid)
        .await
        .problem(403, "elevated_access_required")
        .await;
    // Queued: nothing to retry.
    app.as_(&ada)
        .retry_notification(&nid)
        .await
        .problem(409, "conflict")
        .await;
    // Dead after its attempts: sent again from zero.
    exec(
        &app,
        &format!(
            "UPDATE notifications SET status = 'dead', attempts = 8, last_error = 'x' WHERE id = '{nid}'"
        ),
    )
    .await;
    let dead: Page<Notification> = app
        .as_(&ada)
        .list_notifications(&NotificationQuery {
            status: Some(NotificationStatus::Dead),
            ..NotificationQuery::default()
        })
        .await
        .expect(200)
        .await;
    assert_eq!(dead.items.len(), 1);
    assert_eq!(dead.items[0].attempts, 8);
    let retried: Notification = app
        .as_(&ada)
        .retry_notification(&nid)
        .await
        .expect(200)
        .await;
    assert_eq!(retried.status, NotificationStatus::Queued);
    assert_eq!(retried.attempts, 0);
    assert_eq!(rows(&app).await[0]["status"], "queued");
    assert_eq!(app.activity_count(&tenant, "notification.retried").await, 1);

    // Another tenant's elevated user neither sees nor retries it.
    let other = app.tenant().await;
    let carl = app.sign_in(&other, people::ADA_ADMIN).await;
    let theirs: Page<Notification> = app
        .as_(&carl)
        .list_notifications(&NotificationQuery::default())
        .await
        .expect(200)
        .await;
    assert!(theirs.items.is_empty());
    app.as_(&carl)
        .retry_notification(&nid)
        .await
        .problem(404, "not_found")
        .await;
    // Filters and paging are checked.
    app.as_(&ada)
        .raw(
            reqwest::Method::GET,
            "/api/v1/notifications?status=lost",
            None,
        )
        .await
        .problem(422, "validation_failed")
        .await;
    app.as_(&ada)
        .raw(reqwest::Method::GET, "/api/v1/notifications?limit=0", None)
        .await
        .problem(422, "validation_failed")
        .await;
}

async fn s15_without_smtp_the_sender_writes_eml_files_and_marks_them_sent(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.smtp.poll_ms = 50).await;
    // Names come from the PSA as they are: Ada's would add a header if it reached one whole.
    let mut directory = fixture_directory();
    for r in &mut directory.resources {
        if r.id == people::ADA_ADMIN {
            r.first_name = "Ada\r\nBcc: evil@example.com".into();
            r.last_name = "<script>alert(1)</script>".into();
        }
    }
    let tenant = app.tenant_with_directory(&directory).await;
    let ada = app.sign_in(&tenant, people::ADA_ADMIN).await;
    let tess = app.sign_in(&tenant, people::TESS_TECH).await;
    let cid = create_connection(&app, &ada, "Books", "autotask_xero").await;
    app.as_(&ada)
        .create_invitation(&cid, &invitation(&id(&tess), ConnectionRole::ReadOnly))
        .await
        .expect(201)
        .await;
    let nid = rows(&app).await[0]["id"].as_str().unwrap().to_owned();
    let file = app
        .server_data_dir()
        .join("outbox")
        .join(format!("{nid}.eml"));
    let mut waited = 0;
    while rows(&app).await[0]["status"] != "sent" {
        assert!(waited < 200, "the sender sent it within 10 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += 1;
    }
    assert_eq!(rows(&app).await[0]["attempts"], 1);
    let eml = std::fs::read_to_string(&file).expect("the .eml file");
    assert!(
        eml.contains(&format!("Message-ID: <{nid}@localhost>")),
        "{eml}"
    );
    assert!(eml.contains(tess.user["email"].as_str().unwrap()), "{eml}");
    assert!(eml.contains("From: Hubkeep <hubkeep@localhost>"), "{eml}");
    assert!(eml.contains("Subject: Ada Bcc: evil@example.com"), "{eml}");
    // The name added no header: no line of the message starts with Bcc.
    assert!(
        !eml.lines()
            .any(|l| l.to_ascii_lowercase().starts_with("bcc:")),
        "{eml}"
    );
    // The HTML part escapes it (the list shows the text part; the HTML is checked by
    // `notify::render`'s unit test, since the .eml holds it transfer-encoded).
    assert!(eml.contains("Content-Type: text/html"), "{eml}");
    // Sent once: no second attempt, one file.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = rows(&app).await;
    assert_eq!(
        (after[0]["status"].as_str(), after[0]["attempts"].as_i64()),
        (Some("sent"), Some(1))
    );
    let files = std::fs::read_dir(file.parent().unwrap()).unwrap().count();
    assert_eq!(files, 1);
    // The attempt is counted in the metrics.
    let metrics = app.metrics().await.text().await.unwrap();
    assert!(
        metrics.contains("hubkeep_notification_attempts_total{outcome=\"sent\"} 1"),
        "{metrics}"
    );
}

async fn s15_the_expiry_job_expires_invitations_past_their_time_and_tells_the_inviter(
    backend: Backend,
) {
    let app = spawn_app_with(backend, |s| s.smtp.expire_every_secs = 1).await;
    let (tenant, ada, bob, tess) = team(&app).await;
    let cid = create_connection(&app, &ada, "Books", "autotask_xero").await;
    let inv = app
        .as_(&ada)
        .create_invitation(&cid, &invitation(&id(&tess), ConnectionRole::ReadOnly))
        .await
        .expect_json(201)
        .await;
    let inv = inv["id"].as_str().unwrap().to_owned();
    let past = crate::helpers::past_timestamp(&app);
    exec(
        &app,
        &format!("UPDATE invitations SET expires_at = {past} WHERE id = '{inv}'"),
    )
    .await;
    let mut waited = 0;
    while app
        .scalar_text(&format!(
            "SELECT status FROM invitations WHERE id = '{inv}'"
        ))
        .await
        != "expired"
    {
        assert!(waited < 100, "the job expired it within 10 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
    }
    assert_eq!(app.activity_count(&tenant, "invitation.expired").await, 1);
    let outbox = rows(&app).await;
    let expired: Vec<&Value> = outbox
        .iter()
        .filter(|m| m["kind"] == "invitation.expired")
        .collect();
    assert_eq!(expired.len(), 1, "{outbox:?}");
    assert_eq!(expired[0]["recipient_user_id"], id(&ada).as_str());
    assert_eq!(expired[0]["category"], "invitation_updates");
    let tess_name = tess.user["display_name"].as_str().unwrap();
    assert_eq!(
        expired[0]["subject"],
        format!("Your invitation of {tess_name} to Books expired")
    );
    // The job does it once: another pass finds nothing.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(app.activity_count(&tenant, "invitation.expired").await, 1);
    assert_eq!(rows(&app).await.len(), outbox.len());
    let _ = bob;
}

async fn s15_a_tenants_sender_name_is_the_from_of_its_emails(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.smtp.poll_ms = 50).await;
    let (tenant, ada, _bob, tess) = team(&app).await;
    let admin = app.as_(&ada);
    // Bad names are refused and change nothing.
    for bad in [
        serde_json::json!({"email_sender_name": "Evil\r\nBcc: x@example.com"}),
        serde_json::json!({"email_sender_name": "   "}),
        serde_json::json!({"email_sender_name": "x".repeat(101)}),
        serde_json::json!({"email_sender_name": 7}),
    ] {
        let problem = admin
            .raw(reqwest::Method::PUT, "/api/v1/settings", Some(&bad))
            .await
            .problem(422, "validation_failed")
            .await;
        if bad["email_sender_name"].is_string() {
            assert_eq!(
                crate::helpers::error_fields(&problem),
                ["email_sender_name"]
            );
        }
    }
    let settings = admin.get_settings().await.expect_json(200).await;
    assert_eq!(settings["email_sender_name"], Value::Null);
    // Limited users may not set it.
    app.as_(&tess)
        .raw(
            reqwest::Method::PUT,
            "/api/v1/settings",
            Some(&serde_json::json!({"email_sender_name": "Tess"})),
        )
        .await
        .problem(403, "elevated_access_required")
        .await;

    let set = serde_json::json!({"email_sender_name": "  Northwind Support  "});
    let after = admin
        .raw(reqwest::Method::PUT, "/api/v1/settings", Some(&set))
        .await
        .expect_json(200)
        .await;
    assert_eq!(after["email_sender_name"], "Northwind Support");
    assert_eq!(app.activity_count(&tenant, "settings.updated").await, 1);

    let cid = create_connection(&app, &ada, "Books", "autotask_xero").await;
    app.as_(&ada)
        .create_invitation(&cid, &invitation(&id(&tess), ConnectionRole::ReadOnly))
        .await
        .expect(201)
        .await;
    let nid = rows(&app).await[0]["id"].as_str().unwrap().to_owned();
    let file = app
        .server_data_dir()
        .join("outbox")
        .join(format!("{nid}.eml"));
    let mut waited = 0;
    while !file.exists() {
        assert!(waited < 200, "the sender wrote it within 10 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += 1;
    }
    let eml = std::fs::read_to_string(&file).unwrap();
    assert!(
        eml.contains("From: \"Northwind Support\" <hubkeep@localhost>"),
        "{eml}"
    );

    // `null` goes back to the operator's name.
    let after = admin
        .raw(
            reqwest::Method::PUT,
            "/api/v1/settings",
            Some(&serde_json::json!({"email_sender_name": null})),
        )
        .await
        .expect_json(200)
        .await;
    assert_eq!(after["email_sender_name"], Value::Null);
}

async fn s15_elevation_emails_follow_the_access_a_person_has_and_the_access_tab_sends_them_too(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let (tenant, ada, bob, tess) = team(&app).await;
    let admin = app.as_(&ada);
    let elevation = |e| UserPatch {
        active: None,
        elevation: Some(e),
    };
    // Bob is elevated through the Access tab: `granted` changes nothing he has.
    admin
        .update_user(&id(&bob), &elevation(hubkeep_shared::Elevation::Granted))
        .await
        .expect(200)
        .await;
    // Tess is a technician (limited): `revoked` takes nothing from her.
    admin
        .update_user(&id(&tess), &elevation(hubkeep_shared::Elevation::Revoked))
        .await
        .expect(200)
        .await;
    assert!(rows(&app).await.is_empty(), "{:?}", rows(&app).await);
    // Back to inherit for Bob, then the Access tab drops his level: he is told.
    admin
        .update_user(&id(&bob), &elevation(hubkeep_shared::Elevation::Inherit))
        .await
        .expect(200)
        .await;
    assert!(rows(&app).await.is_empty());
    let save = |levels: Vec<i64>| hubkeep_shared::api::ElevatedLevels { level_ids: levels };
    admin
        .save_elevated_levels(&save(vec![]))
        .await
        .expect(200)
        .await;
    admin
        .save_elevated_levels(&save(vec![crate::helpers::levels::FINANCE_MANAGER]))
        .await
        .expect(200)
        .await;
    let outbox = rows(&app).await;
    let subjects: Vec<(&str, &str)> = outbox
        .iter()
        .map(|m| {
            (
                m["recipient_user_id"].as_str().unwrap(),
                m["subject"].as_str().unwrap(),
            )
        })
        .collect();
    let bob_id = id(&bob);
    assert_eq!(
        subjects,
        [
            (
                bob_id.as_str(),
                "Your elevated access in Hubkeep was revoked"
            ),
            (
                bob_id.as_str(),
                "You were granted elevated access in Hubkeep"
            ),
        ]
    );
    assert_eq!(
        app.activity_count(&tenant, "access.elevated_levels_saved")
            .await,
        3
    );
}

async fn s15_an_invitation_by_email_goes_to_the_address_typed_not_the_hubs_copy(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_tenant, ada, _bob, tess) = team(&app).await;
    let cid = create_connection(&app, &ada, "Books", "autotask_xero").await;
    let typed = tess.user["email"].as_str().unwrap().to_uppercase();
    app.as_(&ada)
        .create_invitation(&cid, &email_invitation(&typed, ConnectionRole::ReadOnly))
        .await
        .expect(201)
        .await;
    let outbox = rows(&app).await;
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0]["recipient_email"], typed.as_str());
    // Tess's preferences apply: she is the hub user with that address.
    assert_eq!(outbox[0]["recipient_user_id"], id(&tess).as_str());
}
