//! `wire_enum!`: how the enums of the API's bodies are declared, once.

/// An enum of the API's bodies: sent, stored and parsed by its snake_case name, which
/// `as_str()`, `Display` and `FromStr` (strum) agree on with serde.
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
