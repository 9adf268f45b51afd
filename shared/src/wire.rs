//! `wire_enum!`: how the enums of the API's bodies are declared, once.

/// An enum of the API's bodies: sent, stored and parsed by its snake_case name, which
/// `as_str()`, `Display` and `FromStr` (strum) agree on with serde. With the `db` feature (the
/// server's), it is also a sea-orm `ActiveEnum` stored as that name in a text column, so an
/// entity's column has the enum's type and a stored value outside it fails to load.
macro_rules! wire_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(
            Debug,
            Clone,
            Copy,
            PartialEq,
            Eq,
            Hash,
            PartialOrd,
            Ord,
            strum::VariantArray,
            serde::Serialize,
            serde::Deserialize,
            strum::Display,
            strum::IntoStaticStr,
            strum::EnumString,
        )]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[cfg_attr(feature = "db", derive(sea_orm::DeriveActiveEnum, sea_orm::EnumIter))]
        #[cfg_attr(
            feature = "db",
            sea_orm(rs_type = "String", db_type = "Text", rename_all = "snake_case")
        )]
        #[serde(rename_all = "snake_case")]
        #[strum(serialize_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// The snake_case name, as sent and stored.
            pub fn as_str(self) -> &'static str {
                self.into()
            }
        }
    };
}
