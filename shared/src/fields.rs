//! Field rules (SPEC S17): each rule a newtype whose `parse` is the only way to build it, used
//! by the server's handlers and the console's forms alike, so a form refuses exactly what the
//! server refuses and with the same words. [`FieldErrors`] collects the refusals of one input
//! into the `errors` of a 422 problem.
//!
//! `parse` takes the text as typed or sent (surrounding spaces are ignored where the rule says
//! so) and answers the value in its canonical form, or the message a 422 shows for the field.

use std::fmt;

use crate::problem::FieldError;

/// Why a value is refused: the message of its field error (`"must be 1 to 200 characters"`).
pub type RuleMessage = String;

/// A field rule: text in, a checked value or the refusal's message out.
pub trait FieldRule: Sized {
    fn parse(raw: &str) -> Result<Self, RuleMessage>;
}

/// The refusals of one input, field by field: the `errors` of a 422 problem.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a refusal of `field`.
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }

    /// Whether a refusal of `field` is recorded already.
    pub fn has(&self, field: &str) -> bool {
        self.0.iter().any(|e| e.field == field)
    }

    /// Parses `raw` as `T` for `field`: the value, or `None` with the refusal recorded.
    pub fn check<T: FieldRule>(&mut self, field: &str, raw: &str) -> Option<T> {
        match T::parse(raw) {
            Ok(value) => Some(value),
            Err(message) => {
                self.add(field, message);
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The refusals, in the order they were found.
    pub fn into_vec(self) -> Vec<FieldError> {
        self.0
    }

    /// The refusals as `field: message` lines, as forms show them.
    pub fn lines(&self) -> Vec<String> {
        self.0
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect()
    }
}

macro_rules! text_newtype {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }
    };
}

/// A name or label of 1 to `MAX` characters after trimming surrounding spaces, without
/// control characters: connection, group, view and token names, account labels, budget ids
/// and names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Label<const MAX: usize>(String);

impl<const MAX: usize> Label<MAX> {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl<const MAX: usize> fmt::Display for Label<MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<const MAX: usize> From<Label<MAX>> for String {
    fn from(value: Label<MAX>) -> Self {
        value.0
    }
}

/// The longest connection name, group name, account label, budget id and budget name.
pub const MAX_LABEL_CHARS: usize = 200;
/// The longest view name and token name.
pub const MAX_SHORT_LABEL_CHARS: usize = 100;

/// A connection, group or budget name, an account label (1–200 characters).
pub type Name = Label<MAX_LABEL_CHARS>;
/// A view or token name (1–100 characters).
pub type ShortName = Label<MAX_SHORT_LABEL_CHARS>;

impl<const MAX: usize> FieldRule for Label<MAX> {
    fn parse(raw: &str) -> Result<Self, RuleMessage> {
        let value = raw.trim();
        if value.is_empty() || value.chars().count() > MAX {
            Err(format!("must be 1 to {MAX} characters"))
        } else if value.chars().any(char::is_control) {
            Err("must not contain control characters".to_owned())
        } else {
            Ok(Self(value.to_owned()))
        }
    }
}

text_newtype!(
    /// An email address as invitations take it: one `@`, a dotted domain, no spaces or control
    /// characters, at most 254 characters; kept as typed (trimmed), compared lower-cased.
    Email
);

/// The longest email address (RFC 5321's path limit).
pub const MAX_EMAIL_CHARS: usize = 254;

impl FieldRule for Email {
    fn parse(raw: &str) -> Result<Self, RuleMessage> {
        let email = raw.trim();
        let well_formed = email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
        });
        if well_formed
            && email.chars().count() <= MAX_EMAIL_CHARS
            && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            Ok(Self(email.to_owned()))
        } else {
            Err("must be an email address".to_owned())
        }
    }
}

text_newtype!(
    /// An IANA time zone name that the tz database knows (surrounding spaces ignored), in its
    /// canonical spelling: `Europe/London`, `UTC`.
    TimezoneName
);

impl FieldRule for TimezoneName {
    fn parse(raw: &str) -> Result<Self, RuleMessage> {
        raw.trim()
            .parse::<chrono_tz::Tz>()
            .map(|tz| Self(tz.name().to_owned()))
            .map_err(|_| {
                "must be an IANA time zone name, such as `Europe/London` or `UTC`".to_owned()
            })
    }
}

text_newtype!(
    /// An active ISO 4217 currency code in upper case (`USD`); lower case is refused rather
    /// than corrected, and so is any surrounding space.
    CurrencyCode
);

/// The ISO 4217 codes accepted: the active currency codes of the ISO 4217 list as of 2026
/// (funds codes such as `BOV`, `CHE`, `CLF`, `USN` included; precious metals, the SDR, test
/// and "no currency" codes such as `XAU`, `XDR`, `XTS`, `XXX` excluded; withdrawn codes such
/// as `HRK`, `SLL`, `ZWL`, `ANG`, `CUC` excluded). Sorted, so a lookup is a binary search.
pub const ISO_4217_ACTIVE: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN",
    "BHD", "BIF", "BMD", "BND", "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD",
    "CDF", "CHE", "CHF", "CHW", "CLF", "CLP", "CNY", "COP", "COU", "CRC", "CUP", "CVE", "CZK",
    "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS",
    "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD",
    "IRR", "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD",
    "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT",
    "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MXV", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK",
    "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD",
    "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP",
    "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS",
    "UAH", "UGX", "USD", "USN", "UYI", "UYU", "UYW", "UZS", "VED", "VES", "VND", "VUV", "WST",
    "XAF", "XCD", "XCG", "XOF", "XPF", "YER", "ZAR", "ZMW", "ZWG",
];

impl FieldRule for CurrencyCode {
    fn parse(raw: &str) -> Result<Self, RuleMessage> {
        if ISO_4217_ACTIVE.binary_search(&raw).is_ok() {
            Ok(Self(raw.to_owned()))
        } else {
            Err("must be an active ISO 4217 currency code in upper case, such as `USD`".to_owned())
        }
    }
}

text_newtype!(
    /// A PostgreSQL connection string for the Power BI kinds: starts with `postgres://` or
    /// `postgresql://`, at most 2000 characters, no control characters (surrounding spaces
    /// ignored). Write-only: the API never returns it.
    PostgresUrl
);

/// The longest Postgres connection string.
pub const MAX_POSTGRES_URL_CHARS: usize = 2000;

impl FieldRule for PostgresUrl {
    fn parse(raw: &str) -> Result<Self, RuleMessage> {
        let value = raw.trim();
        if !(value.starts_with("postgres://") || value.starts_with("postgresql://")) {
            Err(
                "must be a connection string starting with `postgres://` or `postgresql://`"
                    .to_owned(),
            )
        } else if value.chars().count() > MAX_POSTGRES_URL_CHARS
            || value.chars().any(char::is_control)
        {
            Err(format!(
                "must be at most {MAX_POSTGRES_URL_CHARS} characters, without control characters"
            ))
        } else {
            Ok(Self(value.to_owned()))
        }
    }
}

/// The most calendar months one payment may buy (`months` is 1 to this).
pub const MAX_PAYMENT_MONTHS: u32 = 36;

/// A saved view's definition: a JSON object of at most 64 KiB serialized. The text measured
/// is the text kept, so the definition is serialized once.
#[derive(Debug, Clone, PartialEq)]
pub struct ViewDefinition {
    value: serde_json::Value,
    json: String,
}

/// The largest view definition, serialized.
pub const MAX_VIEW_DEFINITION_BYTES: usize = 64 * 1024;

impl ViewDefinition {
    /// Checks an already-parsed JSON value (the API's body holds one).
    pub fn from_value(value: &serde_json::Value) -> Result<Self, RuleMessage> {
        if !value.is_object() {
            return Err("must be a JSON object".to_owned());
        }
        let json = value.to_string();
        if json.len() > MAX_VIEW_DEFINITION_BYTES {
            return Err("must be at most 64 KiB".to_owned());
        }
        Ok(Self {
            value: value.clone(),
            json,
        })
    }

    /// The definition as JSON.
    pub fn to_value(&self) -> serde_json::Value {
        self.value.clone()
    }

    /// The definition serialized, as stored.
    pub fn into_json_string(self) -> String {
        self.json
    }
}

impl FieldRule for ViewDefinition {
    /// Parses JSON text (the console's editor holds text).
    fn parse(raw: &str) -> Result<Self, RuleMessage> {
        let value: serde_json::Value =
            serde_json::from_str(raw).map_err(|_| "must be a JSON object".to_owned())?;
        Self::from_value(&value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_label_is_trimmed_and_bounded_in_characters() {
        assert_eq!(Name::parse("  Books ").unwrap().as_str(), "Books");
        assert!(Name::parse("   ").is_err());
        assert!(Name::parse(&"é".repeat(200)).is_ok());
        assert!(Name::parse(&"é".repeat(201)).is_err());
        assert_eq!(
            Name::parse("a\u{7}b").unwrap_err(),
            "must not contain control characters"
        );
        assert_eq!(
            ShortName::parse(&"x".repeat(101)).unwrap_err(),
            "must be 1 to 100 characters"
        );
    }

    #[test]
    fn a_timezone_is_canonical_and_known() {
        assert_eq!(
            TimezoneName::parse(" Europe/London ").unwrap().as_str(),
            "Europe/London"
        );
        assert!(TimezoneName::parse("Mars/Olympus").is_err());
        assert!(TimezoneName::parse("").is_err());
    }

    #[test]
    fn a_currency_is_an_active_iso_code_in_upper_case() {
        assert!(ISO_4217_ACTIVE.windows(2).all(|w| w[0] < w[1]), "sorted");
        for ok in ["GBP", "USD", "EUR"] {
            assert!(CurrencyCode::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["gbp", "XXX", "HRK", "ABC", " USD", ""] {
            assert!(CurrencyCode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_collector_keeps_every_refusal_in_order() {
        let mut errors = FieldErrors::new();
        let name: Option<Name> = errors.check("name", "");
        let tz: Option<TimezoneName> = errors.check("timezone", "UTC");
        let currency: Option<CurrencyCode> = errors.check("currency", "usd");
        assert!(name.is_none() && tz.is_some() && currency.is_none());
        assert_eq!(
            errors.lines(),
            vec![
                "name: must be 1 to 200 characters".to_owned(),
                "currency: must be an active ISO 4217 currency code in upper case, such as `USD`"
                    .to_owned(),
            ]
        );
    }
}
