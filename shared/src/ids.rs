//! Typed ids: a connection's id is not a user's id, though both are opaque strings on the
//! wire. With the `db` feature an id is also a sea-orm value type, so an entity's id column
//! has the id's type.

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(
            Debug,
            Clone,
            PartialEq,
            Eq,
            Hash,
            PartialOrd,
            Ord,
            serde::Serialize,
            serde::Deserialize,
        )]
        #[serde(transparent)]
        #[cfg_attr(feature = "db", derive(sea_orm::DeriveValueType))]
        pub struct $name(String);

        impl $name {
            /// Wraps an id read from a request path or a row.
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        /// An id reads as the text it is wherever text is expected (a path, a log field); the
        /// other way round needs [`Self::new`], so a user's id never passes for a connection's.
        impl std::ops::Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&$name> for String {
            fn from(id: &$name) -> Self {
                id.0.clone()
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        #[cfg(feature = "db")]
        impl From<&$name> for sea_orm::Value {
            fn from(id: &$name) -> Self {
                id.0.as_str().into()
            }
        }

        /// Ids are text: a number never converts to one (sea-orm asks primary keys for it).
        #[cfg(feature = "db")]
        impl sea_orm::TryFromU64 for $name {
            fn try_from_u64(_: u64) -> Result<Self, sea_orm::DbErr> {
                Err(sea_orm::DbErr::ConvertFromU64(stringify!($name)))
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }
    };
}

id_type! {
    /// A connection's id.
    ConnectionId
}

id_type! {
    /// A hub user's id (not the PSA's resource id, which is a number).
    UserId
}

id_type! {
    /// An invitation's id.
    InvitationId
}

id_type! {
    /// A sync run's id.
    RunId
}

id_type! {
    /// A saved view's id.
    ViewId
}

id_type! {
    /// An API token's id (never the token itself).
    TokenId
}

id_type! {
    /// A message in the notification outbox (SPEC S15).
    NotificationId
}

#[cfg(test)]
mod tests {
    use super::ConnectionId;

    #[test]
    fn an_id_is_its_text_on_the_wire() {
        let id = ConnectionId::new("01J0CONN");
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"01J0CONN\"");
        let back: ConnectionId = serde_json::from_str("\"01J0CONN\"").unwrap();
        assert_eq!(back, id);
        assert_eq!(id.to_string(), "01J0CONN");
        assert_eq!(&*id, "01J0CONN");
        assert!(serde_json::from_str::<ConnectionId>("42").is_err());
    }
}
