//! Who the client is (SPEC S14). Behind the TLS proxy the deployment guide recommends,
//! every request comes from the proxy's address; the proxy says whom it forwards for in
//! `X-Forwarded-For` or `Forwarded` (RFC 7239; `[http] forwarded_header` says which one the
//! proxy writes, and only that one is read). It is believed only from the proxies
//! `[http] trusted_proxies` names (none by default: anyone can send it), and only
//! as far as the chain of trusted proxies goes: the client is the rightmost hop that is not
//! a trusted proxy, the first address no trusted party vouches for being someone else's.

use std::net::IpAddr;

use actix_web::http::header::{FORWARDED, HeaderMap};
use ipnet::IpNet;

const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// The proxies whose forwarding header is believed, and which header that is.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies {
    nets: Vec<IpNet>,
    /// `Forwarded` (RFC 7239) instead of `X-Forwarded-For`. Only the header the proxy writes
    /// may be read: most proxies append to `X-Forwarded-For` and pass a client's own
    /// `Forwarded` through untouched, so reading both would let a client name any address.
    rfc7239: bool,
}

impl TrustedProxies {
    /// CIDRs (`10.0.0.0/8`, `::1/128`) or single addresses, and the header they write
    /// (`x-forwarded-for` or `forwarded`).
    pub fn parse(entries: &[String], header: &str) -> Result<Self, String> {
        let rfc7239 = match header.trim().to_ascii_lowercase().as_str() {
            "x-forwarded-for" => false,
            "forwarded" => true,
            other => {
                return Err(format!(
                    "the forwarded-for header is x-forwarded-for or forwarded, not {other:?}"
                ));
            }
        };
        let nets = entries
            .iter()
            .map(|e| {
                let e = e.trim();
                e.parse::<IpNet>()
                    .or_else(|_| e.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("{e:?} is not an address or a CIDR"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { nets, rfc7239 })
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.nets.iter().any(|net| net.contains(&ip))
    }

    /// The client's address for a request from `peer` with `headers`.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer);
        if !self.trusts(peer) {
            return peer;
        }
        let hops = forwarded_for(headers, self.rfc7239);
        let mut client = peer;
        for hop in hops.iter().rev() {
            // A hop that is no address ("unknown", an obfuscated name, garbage) ends the
            // walk: the last trusted proxy is the best that can be said.
            let Some(ip) = hop.map(canonical) else { break };
            client = ip;
            if !self.trusts(ip) {
                break;
            }
        }
        client
    }
}

/// The address as one client: IPv4-mapped IPv6 as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// The hops the header lists, leftmost (the original client) first; `None` for a hop that
/// is not an address. Every instance of the header, in order.
fn forwarded_for(headers: &HeaderMap, rfc7239: bool) -> Vec<Option<IpAddr>> {
    if rfc7239 {
        return headers
            .get_all(FORWARDED)
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|element| {
                element.split(';').find_map(|pair| {
                    let (name, value) = pair.trim().split_once('=')?;
                    name.trim()
                        .eq_ignore_ascii_case("for")
                        .then(|| node_address(value.trim().trim_matches('"')))
                })?
            })
            .collect();
    }
    headers
        .get_all(X_FORWARDED_FOR)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|hop| node_address(hop.trim()))
        .collect()
}

/// `192.0.2.60`, `192.0.2.60:4711`, `[2001:db8::17]:4711`, `2001:db8::17`.
fn node_address(node: &str) -> Option<IpAddr> {
    if let Ok(ip) = node.parse() {
        return Some(ip);
    }
    if let Some(rest) = node.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    let (host, port) = node.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    host.parse().ok()
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::{HeaderName, HeaderValue};

    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarding_headers_count_only_from_trusted_proxies() {
        let none = TrustedProxies::default();
        let proxy = TrustedProxies::parse(
            &["127.0.0.1/32".into(), "10.0.0.0/8".into()],
            "x-forwarded-for",
        )
        .unwrap();
        let xff = headers(&[("x-forwarded-for", "203.0.113.7")]);
        assert_eq!(none.client(ip("127.0.0.1"), &xff), ip("127.0.0.1"));
        assert_eq!(proxy.client(ip("127.0.0.1"), &xff), ip("203.0.113.7"));
        // Not from a trusted proxy: the header is the client's own say-so.
        assert_eq!(proxy.client(ip("198.51.100.1"), &xff), ip("198.51.100.1"));
        // The rightmost untrusted hop: a spoofed leftmost entry is skipped.
        let chain = headers(&[("x-forwarded-for", "1.2.3.4, 203.0.113.7, 10.0.0.5")]);
        assert_eq!(proxy.client(ip("127.0.0.1"), &chain), ip("203.0.113.7"));
        // Two header lines are one list.
        let split = headers(&[
            ("x-forwarded-for", "1.2.3.4"),
            ("x-forwarded-for", "203.0.113.9"),
        ]);
        assert_eq!(proxy.client(ip("127.0.0.1"), &split), ip("203.0.113.9"));
        // Garbage ends the walk at the last trusted proxy.
        let junk = headers(&[("x-forwarded-for", "203.0.113.7, nonsense")]);
        assert_eq!(proxy.client(ip("127.0.0.1"), &junk), ip("127.0.0.1"));
        // All trusted: the leftmost.
        let inner = headers(&[("x-forwarded-for", "10.1.1.1, 10.0.0.5")]);
        assert_eq!(proxy.client(ip("127.0.0.1"), &inner), ip("10.1.1.1"));
    }

    #[test]
    fn forwarded_is_read_as_rfc_7239_writes_it_and_only_when_chosen() {
        let proxy = TrustedProxies::parse(&["127.0.0.1".into()], "forwarded").unwrap();
        let h = headers(&[(
            "forwarded",
            "for=192.0.2.60;proto=http;by=203.0.113.43, for=\"[2001:db8:cafe::17]:4711\"",
        )]);
        assert_eq!(proxy.client(ip("127.0.0.1"), &h), ip("2001:db8:cafe::17"));
        let both = headers(&[
            ("forwarded", "for=192.0.2.60:8080"),
            ("x-forwarded-for", "203.0.113.7"),
        ]);
        assert_eq!(proxy.client(ip("127.0.0.1"), &both), ip("192.0.2.60"));
        let h = headers(&[("forwarded", "for=unknown")]);
        assert_eq!(proxy.client(ip("127.0.0.1"), &h), ip("127.0.0.1"));
        // A proxy that writes X-Forwarded-For passes a client's own `Forwarded` through:
        // it is never read then.
        let xff = TrustedProxies::parse(&["127.0.0.1".into()], "x-forwarded-for").unwrap();
        assert_eq!(xff.client(ip("127.0.0.1"), &both), ip("203.0.113.7"));
        let spoof = headers(&[("forwarded", "for=192.0.2.60")]);
        assert_eq!(xff.client(ip("127.0.0.1"), &spoof), ip("127.0.0.1"));
        assert!(TrustedProxies::parse(&["not-a-net".into()], "x-forwarded-for").is_err());
        assert!(TrustedProxies::parse(&[], "x-real-ip").is_err());
    }
}
