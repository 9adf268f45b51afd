//! Where Autotask credentials may go (SPEC S11): an Autotask web-services host over HTTPS, or
//! a host the operator allowed in the configuration file. Every PSA call checks its URL
//! here before the `Secret` header is attached, and the settings API refuses a zone outside
//! it, so an elevated user cannot point the stored secret at a host of their choosing.

use url::Url;

/// The hosts Autotask credentials may be sent to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ZonePolicy {
    /// Operator-allowed `host` (any port) or `host:port` entries, lower-cased.
    extra: Vec<(String, Option<u16>)>,
}

/// Why a zone URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZoneError {
    #[error("{0}")]
    Invalid(String),
    #[error(
        "{0} is not an Autotask web-services host (https://webservicesN.autotask.net) nor a host \
         allowed in [psa] extra_zone_hosts"
    )]
    NotAllowed(String),
}

impl ZonePolicy {
    /// A policy allowing Autotask's hosts and `extra` (`"127.0.0.1:8090"`, `"psa.test"`,
    /// `"[::1]:9000"`); entries that are not a host are refused.
    pub fn new(extra: &[String]) -> Result<Self, String> {
        let extra = extra
            .iter()
            .map(|entry| {
                let entry = entry.trim();
                let parsed = Url::parse(&format!("http://{entry}/"))
                    .ok()
                    .filter(|u| u.username().is_empty() && u.password().is_none())
                    .filter(|u| u.path() == "/" && u.query().is_none());
                // `Url::port` hides a port equal to the scheme's default (`host:80`), which
                // must still mean that port only, not any.
                let explicit_port = entry.rsplit_once(':').is_some_and(|(host, port)| {
                    !port.is_empty()
                        && port.bytes().all(|b| b.is_ascii_digit())
                        && (!host.contains(':') || host.ends_with(']'))
                });
                let port = parsed
                    .as_ref()
                    .filter(|_| explicit_port)
                    .and_then(Url::port_or_known_default);
                match parsed.as_ref().and_then(Url::host_str) {
                    Some(host) => Ok((host.to_ascii_lowercase(), port)),
                    None => Err(format!(
                        "[psa] extra_zone_hosts: {entry:?} is not a host or host:port"
                    )),
                }
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { extra })
    }

    /// Whether credentials may be sent to this URL.
    pub fn allows(&self, url: &Url) -> bool {
        if !url.username().is_empty() || url.password().is_some() {
            return false;
        }
        let Some(host) = url.host_str().map(str::to_ascii_lowercase) else {
            return false;
        };
        if url.scheme() == "https" && url.port().is_none() && is_autotask_host(&host) {
            return true;
        }
        matches!(url.scheme(), "http" | "https")
            && self.extra.iter().any(|(allowed, port)| {
                *allowed == host && port.is_none_or(|p| url.port_or_known_default() == Some(p))
            })
    }

    /// The REST base (`…/ATServicesRest/v1.0/`, always ending in `/` so relative joins stay
    /// inside it) of a zone URL as Autotask announces it (`https://host/ATServicesRest/`, any
    /// letter case, with or without the slash) or as an operator may write it (the bare host,
    /// or the root with `v1.0`); refused unless the host is allowed.
    pub fn rest_base(&self, zone: &str) -> Result<Url, ZoneError> {
        let mut url = Url::parse(zone.trim())
            .map_err(|e| ZoneError::Invalid(format!("the zone URL {zone:?} is not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(ZoneError::Invalid(format!(
                "the zone URL {zone:?} is not an http(s) URL"
            )));
        }
        url.set_query(None);
        url.set_fragment(None);
        let path = url.path().trim_end_matches('/').to_owned();
        let lower = path.to_ascii_lowercase();
        let path = if lower.ends_with("/atservicesrest/v1.0") {
            format!("{path}/")
        } else if lower.ends_with("/atservicesrest") {
            format!("{path}/v1.0/")
        } else if path.is_empty() {
            "/atservicesrest/v1.0/".to_owned()
        } else {
            return Err(ZoneError::Invalid(format!(
                "the zone URL {zone:?} must be the zone's host or its ATServicesRest root"
            )));
        };
        url.set_path(&path);
        if !self.allows(&url) {
            return Err(ZoneError::NotAllowed(url.origin().ascii_serialization()));
        }
        Ok(url)
    }
}

/// `webservices.autotask.net`, `webservices14.autotask.net`, … (SPEC S11).
fn is_autotask_host(host: &str) -> bool {
    host.strip_prefix("webservices")
        .and_then(|rest| rest.strip_suffix(".autotask.net"))
        .is_some_and(|zone| zone.chars().all(|c| c.is_ascii_alphanumeric()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(extra: &[&str]) -> ZonePolicy {
        ZonePolicy::new(&extra.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
            .expect("valid hosts")
    }

    #[test]
    fn s11_zone_urls_of_every_form_normalise_to_the_same_rest_base() {
        let base = |zone: &str| policy(&[]).rest_base(zone).map(|u| u.to_string());
        let lower = "https://webservices14.autotask.net/atservicesrest/v1.0/";
        let upper = "https://webservices14.autotask.net/ATServicesRest/v1.0/";
        assert_eq!(
            base("https://webservices14.autotask.net/ATServicesRest/").as_deref(),
            Ok(upper)
        );
        assert_eq!(
            base("https://webservices14.autotask.net/ATServicesRest").as_deref(),
            Ok(upper)
        );
        assert_eq!(
            base("https://webservices14.autotask.net/atservicesrest").as_deref(),
            Ok(lower)
        );
        assert_eq!(
            base("https://webservices14.autotask.net/").as_deref(),
            Ok(lower)
        );
        assert_eq!(
            base("https://webservices14.autotask.net").as_deref(),
            Ok(lower)
        );
        assert_eq!(
            base(" https://webservices14.autotask.net/atservicesrest/v1.0 ").as_deref(),
            Ok(lower)
        );
        assert_eq!(
            base("https://webservices14.autotask.net/ATServicesRest/V1.0/").as_deref(),
            Ok("https://webservices14.autotask.net/ATServicesRest/V1.0/")
        );
        assert!(matches!(base("not a url"), Err(ZoneError::Invalid(_))));
        assert!(matches!(
            base("ftp://webservices1.autotask.net/"),
            Err(ZoneError::Invalid(_))
        ));
        assert!(matches!(
            base("https://webservices1.autotask.net/other/"),
            Err(ZoneError::Invalid(_))
        ));
    }

    #[test]
    fn s11_credentials_go_only_to_autotask_hosts_over_https_or_operator_hosts() {
        let none = policy(&[]);
        for allowed in [
            "https://webservices.autotask.net/",
            "https://webservices2.autotask.net/",
            "https://WebServices14.AutoTask.net/ATServicesRest/",
        ] {
            assert!(none.rest_base(allowed).is_ok(), "{allowed}");
        }
        for refused in [
            "http://webservices2.autotask.net/",
            "https://webservices2.autotask.net:8443/",
            "https://attacker.example/",
            "http://attacker:9999",
            "https://webservices2.autotask.net.attacker.example/",
            "https://evil-webservices2.autotask.net/",
            "https://webservices2.evil.autotask.net/",
            "https://user:pw@webservices2.autotask.net/",
            "http://127.0.0.1:8090/",
        ] {
            assert!(
                matches!(none.rest_base(refused), Err(ZoneError::NotAllowed(_))),
                "{refused}"
            );
        }
        let default_port = policy(&["psa.example:80", "[::1]:9000"]);
        assert!(default_port.rest_base("http://psa.example/").is_ok());
        assert!(
            default_port.rest_base("http://psa.example:8080/").is_err(),
            "only :80"
        );
        assert!(default_port.rest_base("http://[::1]:9000/").is_ok());
        assert!(default_port.rest_base("http://[::1]:9001/").is_err());
        let sim = policy(&["127.0.0.1:8090", "psa.test"]);
        assert!(
            sim.rest_base("http://127.0.0.1:8090/ATServicesRest/")
                .is_ok()
        );
        assert!(
            sim.rest_base("http://127.0.0.1:8091/").is_err(),
            "another port"
        );
        assert!(
            sim.rest_base("http://psa.test:1234/").is_ok(),
            "any port of a bare host"
        );
        assert!(sim.rest_base("https://psa.test/").is_ok());
        assert!(ZonePolicy::new(&["http://x/".to_owned()]).is_err());
        assert!(ZonePolicy::new(&["a b".to_owned()]).is_err());
    }
}
