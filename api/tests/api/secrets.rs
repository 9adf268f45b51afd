//! SPEC S14, secrets at rest (issue 19, defect 1): launch secrets, the Autotask credentials
//! and connections' Postgres DB strings are sealed with AES-256-GCM under the master key; the
//! raw database never holds them; `hubkeep secrets rotate-key` re-seals them under a new key
//! and the old key id disappears; rows from before sealing are sealed on start; the data
//! directory and the database file are private.

use hubkeep_api::config::SecretsSettings;
use hubkeep_api::db::rekey::{self as sealed, key_ids_in_use};
use hubkeep_shared::api::{ConnectionPatch, UpdatePsa, UpdateSettings};
use sea_orm::ConnectionTrait as _;

use crate::helpers::{
    Backend, SIM_INTEGRATION_CODE, SIM_SECRET, TestApp, create_connection, people::*,
    spawn_app_for_simulator, start_simulator,
};
use crate::on_each_backend;

on_each_backend!(s14_stored_secrets_are_sealed_and_survive_a_key_rotation);

const PG_SECRET: &str = "postgresql://bi:pg-secret-7f3a@db.example.test:5432/bi";

/// Every stored form of the secrets: the raw bytes of the SQLite files (the write-ahead log
/// too), or on PostgreSQL the raw text of every secret column.
async fn raw_storage(app: &TestApp) -> Vec<u8> {
    if app.is_postgres() {
        let mut text = String::new();
        for sql in [
            "SELECT COALESCE(string_agg(launch_secret || ' ' || COALESCE(autotask_secret, '') \
             || ' ' || COALESCE(autotask_integration_code, ''), ' '), '') FROM psa_settings",
            "SELECT COALESCE(string_agg(COALESCE(postgres_db, ''), ' '), '') FROM connections",
        ] {
            text.push_str(&app.scalar_text(sql).await);
            text.push(' ');
        }
        return text.into_bytes();
    }
    let mut bytes = Vec::new();
    for name in ["hubkeep.db", "hubkeep.db-wal"] {
        if let Ok(b) = std::fs::read(app.server_data_dir().join(name)) {
            bytes.extend(b);
        }
    }
    assert!(
        !bytes.is_empty(),
        "the database file is where the test looks"
    );
    bytes
}

fn holds(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

async fn s14_stored_secrets_are_sealed_and_survive_a_key_rotation(backend: Backend) {
    let sim = start_simulator();
    let app = spawn_app_for_simulator(backend, &sim, |s| {
        // A data directory the server creates itself, to see the mode it gives it.
        s.data_dir = s.data_dir.join("data");
    })
    .await;
    let tenant = app.autotask_tenant(None).await;
    // The Autotask secret reaches its PSA: sign-in reads the resource with it.
    let ada = app.sign_in(&tenant, ADA_ADMIN).await;
    let cid = create_connection(&app, &ada, "Board pack", "xero_power_bi").await;
    let as_ada = app.as_(&ada);
    as_ada
        .update_connection(
            &cid,
            &ConnectionPatch {
                postgres_db: Some(Some(PG_SECRET.into())),
                ..Default::default()
            },
        )
        .await
        .expect(200)
        .await;

    let raw = raw_storage(&app).await;
    for secret in [
        tenant.launch_secret.as_str(),
        SIM_SECRET,
        SIM_INTEGRATION_CODE,
        PG_SECRET,
    ] {
        assert!(!holds(&raw, secret), "{secret} is stored in clear");
    }
    let before = app.secrets().current_id();
    assert!(holds(&raw, &format!("sealed:v1:{before}:")));
    let in_use = key_ids_in_use(&app.db).await.unwrap();
    assert_eq!(in_use.len(), 1, "{in_use:?}");
    assert_eq!(in_use[&Some(before.clone())], 4, "{in_use:?}");

    #[cfg(unix)]
    if !app.is_postgres() {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let dir = app.server_data_dir();
        assert_eq!(mode(dir), 0o700, "data directory");
        assert_eq!(mode(&dir.join("hubkeep.db")), 0o600, "database file");
        assert_eq!(mode(&dir.join("hubkeep.db-wal")), 0o600, "write-ahead log");
        assert_eq!(mode(&dir.join("secrets-key.json")), 0o600, "key file");
    }

    // `hubkeep secrets rotate-key` (the same function), while the server runs.
    let rotation = sealed::rotate(&app.db, &SecretsSettings::default(), app.server_data_dir())
        .await
        .unwrap();
    assert_eq!(rotation.resealed, 4);
    assert_eq!(rotation.retired, std::slice::from_ref(&before));
    let after = rotation.key_id.clone();
    assert_ne!(after, before);
    let in_use = key_ids_in_use(&app.db).await.unwrap();
    assert_eq!(in_use.keys().collect::<Vec<_>>(), [&Some(after.clone())]);
    let raw = raw_storage(&app).await;
    assert!(
        !holds(&raw, &format!("sealed:v1:{before}:")),
        "old key id gone"
    );
    let key_file = std::fs::read_to_string(app.server_data_dir().join("secrets-key.json")).unwrap();
    assert!(!key_file.contains(&before), "the old key left the key file");

    // The running server follows: the launch secret verifies a launch, the stored Autotask
    // credentials and Postgres DB compare equal to themselves (no change, nothing logged).
    let again = app.sign_in(&tenant, ADA_ADMIN).await;
    let entries = app.activity_count(&tenant, "settings.updated").await;
    app.as_(&again)
        .update_settings(&UpdateSettings {
            psa: Some(UpdatePsa {
                secret: Some(Some(SIM_SECRET.into())),
                integration_code: Some(Some(SIM_INTEGRATION_CODE.into())),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect(200)
        .await;
    assert_eq!(
        app.activity_count(&tenant, "settings.updated").await,
        entries,
        "the same credentials are no change"
    );
    let updates = app.activity_count(&tenant, "connection.updated").await;
    app.as_(&again)
        .update_connection(
            &cid,
            &ConnectionPatch {
                postgres_db: Some(Some(PG_SECRET.into())),
                ..Default::default()
            },
        )
        .await
        .expect(200)
        .await;
    assert_eq!(
        app.activity_count(&tenant, "connection.updated").await,
        updates,
        "the same Postgres DB is no change"
    );
    let report = app
        .as_(&again)
        .test_psa_connection()
        .await
        .expect_json(200)
        .await;
    assert_eq!(report["ok"], true, "{report}");

    // A row from before sealing (written in clear) is sealed by the start-up step.
    let legacy = "legacy-launch-secret-in-clear";
    app.db
        .execute_unprepared(&format!(
            "UPDATE psa_settings SET launch_secret = '{legacy}' WHERE tenant_id = '{}'",
            tenant.id
        ))
        .await
        .unwrap();
    let keyring = app.secrets();
    let done = sealed::reseal_all(&app.db, &keyring).await.unwrap();
    assert_eq!((done.were_clear, done.were_other_key), (1, 0));
    assert!(!holds(&raw_storage(&app).await, legacy));
    let launcher = crate::helpers::TestTenant {
        launch_secret: legacy.into(),
        ..tenant.clone()
    };
    app.sign_in(&launcher, ADA_ADMIN).await;
    sim.stop().await;
}
