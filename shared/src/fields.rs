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

/// Every IANA time zone name [`TimezoneName`] accepts, canonical names and links alike, in
/// the IANA database's order: the console's timezone picker offers exactly these.
pub fn timezone_names() -> impl Iterator<Item = &'static str> {
    chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name())
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

text_newtype!(
    /// A tenant's slug, the name of its sign-in page (`/t/{slug}`, SPEC S13): 2 to 40
    /// lowercase ASCII letters, digits and single hyphens, starting and ending with a letter
    /// or digit. Refused rather than corrected (`Northwind` is not `northwind`), so a link
    /// that works is the one that was typed.
    TenantSlug
);

/// The longest tenant slug.
pub const MAX_SLUG_CHARS: usize = 40;

impl FieldRule for TenantSlug {
    fn parse(raw: &str) -> Result<Self, RuleMessage> {
        let ok = (2..=MAX_SLUG_CHARS).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !raw.starts_with('-')
            && !raw.ends_with('-')
            && !raw.contains("--");
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(
                "must be 2 to 40 lowercase letters, digits and single hyphens, \
                 starting and ending with a letter or digit"
                    .to_owned(),
            )
        }
    }
}

impl TenantSlug {
    /// The slug a tenant name suggests: its ASCII letters and digits, lower-cased, each run
    /// of anything else one hyphen (`Northwind IT (demo)` → `northwind-it-demo`); `tenant`
    /// when nothing is left, padded to two characters.
    pub fn derive(name: &str) -> Self {
        let mut slug = String::new();
        for c in name.chars() {
            if c.is_ascii_alphanumeric() {
                if slug.len() == MAX_SLUG_CHARS {
                    break;
                }
                slug.push(c.to_ascii_lowercase());
            } else if !slug.is_empty() && !slug.ends_with('-') {
                slug.push('-');
            }
        }
        while slug.ends_with('-') || slug.len() > MAX_SLUG_CHARS {
            slug.pop();
        }
        match slug.len() {
            0 => Self("tenant".to_owned()),
            1 => Self(format!("{slug}0")),
            _ => Self(slug),
        }
    }

    /// This slug with `-{n}` appended, shortened so that it stays within 40 characters:
    /// the next candidate when a derived slug is taken.
    pub fn numbered(&self, n: u32) -> Self {
        let suffix = format!("-{n}");
        let mut base = self.0.clone();
        base.truncate(MAX_SLUG_CHARS - suffix.len());
        while base.ends_with('-') {
            base.pop();
        }
        Self(format!("{base}{suffix}"))
    }
}

text_newtype!(
    /// Where the console goes after a sign-in (`return_to`, SPEC S13): a path of the console
    /// itself — one leading `/`, never `//` or `/\` (which browsers read as another host), no
    /// scheme, no `/api/`, not a sign-in page (`/t/…`, `/signin…`, `/launch…`), no encoded `/` or `\` (`%2F`, `%5C`, which a later decoding could
    /// turn into `//`), no control characters or spaces, at most 500 characters. Anything
    /// else is refused, so a sign-in can never be turned into a redirect to another site.
    ConsolePath
);

impl FieldRule for ConsolePath {
    fn parse(raw: &str) -> Result<Self, RuleMessage> {
        let ok = raw.starts_with('/')
            && !raw.starts_with("//")
            && !raw.starts_with("/\\")
            && raw.len() <= 500
            && raw != "/api"
            && !raw.starts_with("/api/")
            // The sign-in pages themselves are no place to return to.
            && !raw.starts_with("/t/")
            && !raw.starts_with("/signin")
            && !raw.starts_with("/launch")
            && !raw.contains('\\')
            && !raw.to_ascii_lowercase().contains("%2f")
            && !raw.to_ascii_lowercase().contains("%5c")
            && !raw
                .chars()
                .any(|c| c.is_control() || c.is_whitespace() || c == '#');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err("must be a path of the console, such as `/users`".to_owned())
        }
    }
}

text_newtype!(
    /// An OpenID provider's issuer (SPEC S13): an absolute `https://` URL (or `http://`, which
    /// the server accepts only when its operator allows it) with a host, without query,
    /// fragment or credentials, at most 300 characters; kept as typed, except that one
    /// trailing `/` is kept too — the ID token's `iss` must equal it exactly.
    OidcIssuer
);

impl FieldRule for OidcIssuer {
    fn parse(raw: &str) -> Result<Self, RuleMessage> {
        let value = raw.trim();
        let refused = || {
            "must be the provider's issuer URL, such as `https://login.example.com/tenant/v2.0`"
                .to_owned()
        };
        let rest = value
            .strip_prefix("https://")
            .or_else(|| value.strip_prefix("http://"))
            .ok_or_else(refused)?;
        let host = rest.split('/').next().unwrap_or_default();
        let ok = !host.is_empty()
            && value.len() <= 300
            && !value.contains(['?', '#', '@', '\\'])
            && !value.chars().any(|c| c.is_control() || c.is_whitespace());
        if ok {
            Ok(Self(value.to_owned()))
        } else {
            Err(refused())
        }
    }
}

impl OidcIssuer {
    /// Whether the issuer is plain `http://`.
    pub fn is_plain_http(&self) -> bool {
        self.0.starts_with("http://")
    }
}

text_newtype!(
    /// The claim of the ID token that holds the email address (`email`; Microsoft Entra ID
    /// tenants often use `preferred_username` or `upn`): 1 to 100 letters, digits and
    /// `_ - . : /` (claim names can be URLs).
    OidcClaimName
);

impl FieldRule for OidcClaimName {
    fn parse(raw: &str) -> Result<Self, RuleMessage> {
        let value = raw.trim();
        let ok = (1..=100).contains(&value.len())
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_-.:/".contains(&b));
        if ok {
            Ok(Self(value.to_owned()))
        } else {
            Err("must be a claim name of 1 to 100 letters, digits and _ - . : /".to_owned())
        }
    }
}

/// An OpenID Connect client id (1–300 characters, no control characters).
pub type OidcClientId = Label<300>;
/// An OpenID Connect client secret (1–500 characters, no control characters).
pub type OidcClientSecret = Label<500>;
/// The most email domains a tenant may allow to sign in.
pub const MAX_ALLOWED_EMAIL_DOMAINS: usize = 50;

text_newtype!(
    /// An email domain allowed to sign in (`northwindit.example`): a dotted DNS name of at
    /// most 253 characters, lower-cased; a leading `@` is dropped.
    EmailDomain
);

impl FieldRule for EmailDomain {
    fn parse(raw: &str) -> Result<Self, RuleMessage> {
        let value = raw.trim().trim_start_matches('@').to_ascii_lowercase();
        let ok = value.len() <= 253
            && value.contains('.')
            && value.split('.').all(|label| {
                (1..=63).contains(&label.len())
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if ok {
            Ok(Self(value))
        } else {
            Err("must be a domain name, such as `northwindit.example`".to_owned())
        }
    }
}

impl EmailDomain {
    /// Whether `email`'s domain is this one (case-insensitive; subdomains do not count).
    pub fn allows(&self, email: &str) -> bool {
        email
            .rsplit_once('@')
            .is_some_and(|(_, domain)| domain.eq_ignore_ascii_case(&self.0))
    }
}

text_newtype!(
    /// The text of a people search (`GET /api/v1/people?q=`, SPEC S16): 2 to 100 characters
    /// after trimming surrounding spaces, without control characters. The console's
    /// type-ahead asks nothing until what was typed parses.
    PeopleSearch
);

/// The shortest people search: one character would match most of a tenant.
pub const MIN_PEOPLE_SEARCH_CHARS: usize = 2;
/// The longest people search.
pub const MAX_PEOPLE_SEARCH_CHARS: usize = 100;

impl FieldRule for PeopleSearch {
    fn parse(raw: &str) -> Result<Self, RuleMessage> {
        let value = raw.trim();
        let chars = value.chars().count();
        if !(MIN_PEOPLE_SEARCH_CHARS..=MAX_PEOPLE_SEARCH_CHARS).contains(&chars) {
            Err(format!(
                "must be {MIN_PEOPLE_SEARCH_CHARS} to {MAX_PEOPLE_SEARCH_CHARS} characters"
            ))
        } else if value.chars().any(char::is_control) {
            Err("must not contain control characters".to_owned())
        } else {
            Ok(Self(value.to_owned()))
        }
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
    fn s16_a_people_search_is_2_to_100_characters_after_trimming() {
        assert_eq!(PeopleSearch::parse("  ad ").unwrap().as_str(), "ad");
        assert!(PeopleSearch::parse(&"é".repeat(100)).is_ok());
        for bad in ["", " a ", "a", &"x".repeat(101)] {
            assert_eq!(
                PeopleSearch::parse(bad).unwrap_err(),
                "must be 2 to 100 characters",
                "{bad}"
            );
        }
        assert_eq!(
            PeopleSearch::parse("a\u{0}b").unwrap_err(),
            "must not contain control characters"
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
    fn the_timezone_picker_offers_exactly_what_the_rule_accepts() {
        let names: Vec<&str> = timezone_names().collect();
        assert!(names.len() > 400, "{} names", names.len());
        for name in &names {
            assert_eq!(
                TimezoneName::parse(name).map(String::from).as_deref(),
                Ok(*name)
            );
        }
        for expected in ["Europe/London", "America/New_York", "UTC", "Asia/Kolkata"] {
            assert!(names.contains(&expected), "{expected}");
        }
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

    #[test]
    fn s13_a_slug_is_lowercase_letters_digits_and_single_hyphens() {
        assert!(TenantSlug::parse("northwind-it").is_ok());
        for bad in [
            "N",
            "Northwind",
            "-a",
            "a-",
            "a--b",
            "a b",
            "ab/c",
            &"a".repeat(41),
        ] {
            assert!(TenantSlug::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            TenantSlug::derive("Northwind IT (demo)").as_str(),
            "northwind-it-demo"
        );
        assert_eq!(TenantSlug::derive("  ÆØÅ ").as_str(), "tenant");
        assert_eq!(TenantSlug::derive("X").as_str(), "x0");
        let long = TenantSlug::derive(&"abc ".repeat(30));
        assert!(TenantSlug::parse(long.as_str()).is_ok(), "{long}");
        let numbered = long.numbered(12);
        assert!(numbered.as_str().ends_with("-12") && numbered.as_str().len() <= 40);
        assert!(TenantSlug::parse(numbered.as_str()).is_ok(), "{numbered}");
    }

    #[test]
    fn s13_return_to_is_only_ever_a_console_path() {
        for good in ["/", "/users", "/connections/abc/members?tab=1"] {
            assert!(ConsolePath::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example",
            "evil.example",
            "",
            "/api/v1/me",
            "/api",
            "/a b",
            "/a\nb",
            "/x#code",
            "javascript:alert(1)",
            "/%2F%2Fevil.example",
            "/%5cevil.example",
            "/signin/complete",
            "/launch?assertion=x",
            "/t/demo",
        ] {
            assert!(ConsolePath::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn s13_an_issuer_is_an_absolute_url_without_query_or_credentials() {
        assert!(OidcIssuer::parse("https://login.microsoftonline.com/abc/v2.0").is_ok());
        assert!(
            OidcIssuer::parse("http://127.0.0.1:9400")
                .unwrap()
                .is_plain_http()
        );
        for bad in [
            "login.example.com",
            "https://",
            "https://a.example/?x=1",
            "https://u@a.example",
            "ftp://a.example",
        ] {
            assert!(OidcIssuer::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn s13_allowed_domains_match_the_whole_domain_only() {
        let domain = EmailDomain::parse("@NorthwindIT.example").unwrap();
        assert_eq!(domain.as_str(), "northwindit.example");
        assert!(domain.allows("Laura@NORTHWINDIT.example"));
        assert!(!domain.allows("laura@evil-northwindit.example"));
        assert!(!domain.allows("laura@mail.northwindit.example"));
        assert!(!domain.allows("northwindit.example"));
        assert!(EmailDomain::parse("localhost").is_err());
        assert!(OidcClaimName::parse("preferred_username").is_ok());
        assert!(OidcClaimName::parse("a b").is_err());
    }
}
