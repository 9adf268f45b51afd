//! sea-orm entities for the tables the API reads and writes. The schema itself is SQL in the
//! migrations crate; these mirror it column for column.
//!
//! An enum column has the type of the shared enum the API sends (`ConnectionStatus`,
//! `InvitationStatus`, `ConnectionRole`, …: `hubkeep_shared`'s `wire_enum!` derives sea-orm's
//! `ActiveEnum` with the `db` feature), stored as its snake_case wire name. A test below
//! checks that each enum's names are exactly the values the schema's CHECK constraint allows
//! (`invitations.retain_role` allows all roles but `owner`). Two typed columns have no CHECK,
//! `connection_endpoints.system` and `users.access_source`: only the server writes them, from
//! the enum; a value outside it would fail to load the row (a 500), so renaming a variant
//! needs a data migration.

pub mod accounting_mappings;
pub mod activity_log;
pub mod api_tokens;
pub mod connection_endpoints;
pub mod connection_groups;
pub mod connection_views;
pub mod connections;
pub mod elevated_levels;
pub mod invitations;
pub mod launch_assertions;
pub mod notification_preferences;
pub mod notifications;
pub mod oidc_codes;
pub mod oidc_logins;
pub mod payments;
pub mod psa_feed;
pub mod psa_settings;
pub mod psa_webhook_callouts;
pub mod psa_webhooks;
pub mod refresh_tokens;
pub mod role_assignments;
pub mod security_levels;
pub mod sessions;
pub mod sync_runs;
pub mod tenant_oidc;
pub mod tenant_settings;
pub mod tenants;
pub mod users;

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use hubkeep_migrations::{Migrator, MigratorTrait};
    use hubkeep_shared::api::{
        ActorKind, ConnectionStatus, EndpointSide, EndpointStatus, InvitationStatus,
        NotificationCategory, NotificationStatus, PsaProvider, RunOrigin, RunStatus,
    };
    use hubkeep_shared::{ConnectionKind, ConnectionRole, Elevation};
    use sea_orm::{ActiveEnum, ConnectionTrait, Database, Statement};

    use super::api_tokens::StoredScope;

    /// The stored names of an enum's variants, as sea-orm writes them.
    fn names<E: ActiveEnum<Value = String> + sea_orm::Iterable>() -> BTreeSet<String> {
        E::iter().map(|v| v.to_value()).collect()
    }

    /// The values `CHECK (<column> IN (…))` of `table` allows, read from the migrated schema.
    async fn allowed(
        db: &sea_orm::DatabaseConnection,
        table: &str,
        column: &str,
    ) -> BTreeSet<String> {
        let sql: String = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                format!("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = '{table}'"),
            ))
            .await
            .unwrap()
            .unwrap()
            .try_get_by_index(0)
            .unwrap();
        let flat = sql.split_whitespace().collect::<Vec<_>>().join(" ");
        let start = format!("CHECK ({column} IN (");
        let at = flat
            .find(&start)
            .unwrap_or_else(|| panic!("{table}.{column} has no CHECK … IN list: {flat}"));
        let list = &flat[at + start.len()..];
        list[..list.find(')').unwrap()]
            .split(',')
            .map(|v| v.trim().trim_matches('\'').to_owned())
            .collect()
    }

    #[tokio::test]
    async fn each_enum_column_stores_exactly_the_names_its_check_allows() {
        let db = Database::connect("sqlite::memory:").await.unwrap();
        Migrator::up(&db, None).await.unwrap();
        let cases: Vec<(&str, &str, BTreeSet<String>)> = vec![
            ("connections", "kind", names::<ConnectionKind>()),
            ("connections", "status", names::<ConnectionStatus>()),
            ("connection_endpoints", "side", names::<EndpointSide>()),
            ("connection_endpoints", "status", names::<EndpointStatus>()),
            ("invitations", "status", names::<InvitationStatus>()),
            ("invitations", "role", names::<ConnectionRole>()),
            ("role_assignments", "role", names::<ConnectionRole>()),
            ("sync_runs", "origin", names::<RunOrigin>()),
            ("notifications", "category", names::<NotificationCategory>()),
            ("notifications", "status", names::<NotificationStatus>()),
            (
                "notification_preferences",
                "category",
                names::<NotificationCategory>(),
            ),
            ("sync_runs", "status", names::<RunStatus>()),
            ("activity_log", "actor_kind", names::<ActorKind>()),
            ("psa_settings", "provider", names::<PsaProvider>()),
            ("users", "elevation", names::<Elevation>()),
            ("api_tokens", "scope", names::<StoredScope>()),
        ];
        for (table, column, stored) in cases {
            assert_eq!(
                allowed(&db, table, column).await,
                stored,
                "{table}.{column}: the enum and the schema's CHECK disagree"
            );
        }
        // The retained role is any role but the owner's: its CHECK lists a part of the enum.
        let retain = allowed(&db, "invitations", "retain_role").await;
        let roles = names::<ConnectionRole>();
        assert!(
            retain.is_subset(&roles) && !retain.contains("owner"),
            "{retain:?}"
        );
        assert_eq!(retain.len() + 1, roles.len());
    }

    /// Every enum stored in a column: its stored name is its wire name (what the API sends).
    macro_rules! stored_as_sent {
        ($($enum:ty),+ $(,)?) => {
            $(
                for v in <$enum as strum::VariantArray>::VARIANTS {
                    assert_eq!(v.to_value(), v.as_str(), "{}", stringify!($enum));
                    assert_eq!(v.to_value(), serde_json::to_value(v).unwrap());
                }
            )+
        };
    }

    #[test]
    fn stored_names_are_the_wire_names() {
        use hubkeep_shared::{AccessSource, System};
        stored_as_sent!(
            ConnectionKind,
            ConnectionStatus,
            ConnectionRole,
            EndpointSide,
            EndpointStatus,
            System,
            InvitationStatus,
            RunOrigin,
            RunStatus,
            ActorKind,
            PsaProvider,
            Elevation,
            AccessSource,
        );
    }

    /// S14/S17: a row holding secrets (sealed) can be logged with `{:?}` without showing them.
    #[test]
    fn rows_with_secrets_debug_without_them() {
        use crate::db::{Keyring, SecretColumn as C, SecretText};
        let ring = Keyring::of_key([3; 32]);
        let seal = |c, v| ring.seal(c, "t1", &SecretText::new(v));
        let now = chrono::Utc::now();
        let psa = super::psa_settings::Model {
            tenant_id: "t1".into(),
            provider: PsaProvider::Autotask,
            directory_path: None,
            autotask_zone_url: Some("https://webservices5.autotask.net/ATServicesRest/".into()),
            autotask_api_user: Some("api@example.com".into()),
            autotask_integration_code: Some(seal(C::AutotaskIntegrationCode, "INTEGRATION-CODE-1")),
            autotask_secret: Some(seal(C::AutotaskSecret, "autotask-secret-1")),
            launch_secret: seal(C::LaunchSecret, "launch-secret-1"),
            launch_secret_rotated_at: now,
            levels_fetched_at: None,
            updated_at: now,
        };
        let shown = format!("{psa:?}");
        for secret in ["INTEGRATION-CODE-1", "autotask-secret-1", "launch-secret-1"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("api@example.com"), "{shown}");
    }
}
