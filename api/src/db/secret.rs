//! A column that holds a secret: a tenant's launch secret, the Autotask secret and
//! integration code, a connection's Postgres connection string. The value lives in a
//! [`secrecy::SecretString`] (zeroed when dropped; the copies the database driver makes on
//! the way in and out are ordinary strings), `Debug` shows `***`, and reading it takes
//! [`SecretText::expose_secret`], so a secret reaches only code that says it hands it to its
//! own peer. An entity holding one can derive `Debug` without leaking it into a log.

use std::fmt;

use sea_orm::sea_query::{ArrayType, ColumnType, Nullable, Value, ValueType, ValueTypeErr};
use sea_orm::{ColIdx, QueryResult, TryGetError, TryGetable};
use secrecy::{ExposeSecret as _, SecretString};

#[derive(Clone)]
pub struct SecretText(SecretString);

impl SecretText {
    pub fn new(secret: impl Into<String>) -> Self {
        Self(SecretString::from(secret.into()))
    }

    /// The secret itself: for the peer it belongs to, never for a response or a log.
    pub fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }

    /// An empty value (a cleared field), which counts as no secret.
    pub fn is_empty(&self) -> bool {
        self.0.expose_secret().is_empty()
    }
}

impl fmt::Debug for SecretText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretText(***)")
    }
}

/// Rows compare by value (entities derive `PartialEq`).
impl PartialEq for SecretText {
    fn eq(&self, other: &Self) -> bool {
        self.expose_secret() == other.expose_secret()
    }
}

impl Eq for SecretText {}

impl From<SecretText> for Value {
    fn from(secret: SecretText) -> Self {
        secret.expose_secret().to_owned().into()
    }
}

impl From<&SecretText> for Value {
    fn from(secret: &SecretText) -> Self {
        secret.expose_secret().to_owned().into()
    }
}

impl TryGetable for SecretText {
    fn try_get_by<I: ColIdx>(res: &QueryResult, index: I) -> Result<Self, TryGetError> {
        String::try_get_by(res, index).map(Self::new)
    }
}

impl ValueType for SecretText {
    fn try_from(v: Value) -> Result<Self, ValueTypeErr> {
        <String as ValueType>::try_from(v).map(Self::new)
    }

    fn type_name() -> String {
        "SecretText".to_owned()
    }

    fn array_type() -> ArrayType {
        <String as ValueType>::array_type()
    }

    fn column_type() -> ColumnType {
        <String as ValueType>::column_type()
    }
}

impl Nullable for SecretText {
    fn null() -> Value {
        <String as Nullable>::null()
    }
}

#[cfg(test)]
mod tests {
    use super::SecretText;

    #[test]
    fn debug_never_shows_the_secret() {
        let secret = SecretText::new("s3cr3t-launch-key");
        let shown = format!("{secret:?} {:?}", Some(secret.clone()));
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert_eq!(secret.expose_secret(), "s3cr3t-launch-key");
        assert_eq!(secret, SecretText::new("s3cr3t-launch-key"));
    }
}
