//! Tenants' OpenID providers (SPEC S13): discovery, the JWKS cache, the code exchange and
//! ID-token verification, all through the `openidconnect` crate — nothing here parses or
//! checks a JWT by hand.
//!
//! Discovery documents are cached per issuer for an hour. An ID token signed with a key the
//! cached JWKS does not have makes the JWKS be fetched again, at most once a minute per
//! issuer, so a provider's key rotation works without letting a stream of forged `kid`s turn
//! the hub into a load generator against the provider.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hubkeep_shared::ProblemCode;
use openidconnect::core::{
    CoreClient, CoreIdToken, CoreIdTokenVerifier, CoreJsonWebKeySet, CoreJwsSigningAlgorithm,
    CoreProviderMetadata,
};
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, IssuerUrl, Nonce,
    PkceCodeVerifier, RedirectUrl, SignatureVerificationError, TokenResponse as _,
};

use crate::error::ApiError;

/// How long a discovery document is reused.
const DISCOVERY_TTL: Duration = Duration::from_secs(3600);
/// The least time between two JWKS fetches of one issuer for an unknown `kid`.
const JWKS_REFETCH_EVERY: Duration = Duration::from_secs(60);
/// One call to a provider (discovery, JWKS, token endpoint).
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// Clock skew tolerated for `iat`.
const IAT_LEEWAY_SECS: i64 = 60;

/// A provider as discovered.
struct Discovered {
    metadata: CoreProviderMetadata,
    fetched_at: Instant,
    /// When the JWKS was last fetched again for an unknown key (the discovery's own fetch
    /// does not count: a key rotated just after it must still be found).
    jwks_refetched_at: Option<Instant>,
}

/// The providers the tenants use, by issuer, and the HTTP client that talks to them.
pub struct OidcProviders {
    http: Guarded,
    cache: Mutex<HashMap<String, Arc<Discovered>>>,
    allow_http: bool,
}

impl std::fmt::Debug for OidcProviders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcProviders")
            .field("allow_http", &self.allow_http)
            .finish_non_exhaustive()
    }
}

/// What a verified ID token says, as the sign-in needs it.
#[derive(Debug)]
pub struct VerifiedToken {
    /// The token's payload (its signature and standard claims checked), for the tenant's
    /// `email_claim` and `email_verified`.
    pub claims: serde_json::Value,
}

/// The tenant's client at its provider, for one exchange.
pub struct ClientConfig<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub client_secret: &'a str,
    pub redirect_uri: &'a str,
}

impl std::fmt::Debug for ClientConfig<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConfig")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

fn unavailable(why: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        ProblemCode::IdentityProviderUnavailable,
        format!("The identity provider could not be used: {why}."),
    )
}

pub(super) fn rejected(why: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        ProblemCode::OidcRejected,
        format!("The sign-in was refused: {why}."),
    )
}

impl OidcProviders {
    /// `allow_http`: `[oidc] allow_http`.
    pub fn new(allow_http: bool) -> anyhow::Result<Self> {
        let mut http = reqwest::Client::builder()
            // Following redirects would let a provider's answer send the client secret or
            // the code elsewhere (and is an SSRF vector): never.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(CALL_TIMEOUT)
            .https_only(!allow_http)
            // A proxy would resolve the provider's name itself, past the address guard.
            .no_proxy();
        if !allow_http {
            // A tenant's administrator chooses the issuer, and the issuer's discovery
            // document names the other endpoints: none may reach this network's own hosts.
            http = http.dns_resolver(Arc::new(PublicOnly));
        }
        let http = Guarded {
            client: http.build()?,
            allow_http,
        };
        Ok(Self {
            http,
            cache: Mutex::new(HashMap::new()),
            allow_http,
        })
    }

    /// Whether plain `http://` issuers are accepted.
    pub fn allows_http(&self) -> bool {
        self.allow_http
    }

    /// An endpoint the hub may send a browser to ([`endpoint_allowed`]).
    fn reachable(&self, url: &url::Url) -> Result<(), ApiError> {
        endpoint_allowed(self.allow_http, url).map_err(unavailable)
    }

    fn cached(&self, issuer: &str) -> Option<Arc<Discovered>> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .get(issuer)
            .filter(|d| d.fetched_at.elapsed() < DISCOVERY_TTL)
            .cloned()
    }

    fn remember(&self, issuer: &str, discovered: Discovered) -> Arc<Discovered> {
        let discovered = Arc::new(discovered);
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.insert(issuer.to_owned(), Arc::clone(&discovered));
        discovered
    }

    /// The provider's metadata, from the cache or `{issuer}/.well-known/openid-configuration`
    /// (whose `issuer` must be exactly `issuer`, which the crate checks).
    async fn discover(&self, issuer: &str) -> Result<Arc<Discovered>, ApiError> {
        if let Some(found) = self.cached(issuer) {
            return Ok(found);
        }
        let url = IssuerUrl::new(issuer.to_owned()).map_err(|_| unavailable("bad issuer URL"))?;
        self.reachable(url.url())?;
        let metadata = CoreProviderMetadata::discover_async(url, &self.http)
            .await
            .map_err(|e| {
                tracing::warn!(issuer, error = %e, "OpenID discovery failed");
                unavailable("its discovery document could not be read")
            })?;
        self.reachable(metadata.authorization_endpoint().url())?;
        self.reachable(metadata.jwks_uri().url())?;
        if let Some(token) = metadata.token_endpoint() {
            self.reachable(token.url())?;
        }
        Ok(self.remember(
            issuer,
            Discovered {
                metadata,
                fetched_at: Instant::now(),
                jwks_refetched_at: None,
            },
        ))
    }

    /// The authorization request's URL (code flow, PKCE S256, `state`, `nonce`, scopes
    /// `openid email profile`, and `prompt=none` for a silent attempt).
    pub async fn authorization_url(
        &self,
        client: &ClientConfig<'_>,
        state: &str,
        nonce: &str,
        pkce_verifier: &str,
        silent: bool,
    ) -> Result<String, ApiError> {
        let discovered = self.discover(client.issuer).await?;
        let oidc = self.client(&discovered, client)?;
        let challenge = openidconnect::PkceCodeChallenge::from_code_verifier_sha256(
            &PkceCodeVerifier::new(pkce_verifier.to_owned()),
        );
        let (state, nonce) = (state.to_owned(), nonce.to_owned());
        let mut request = oidc
            .authorize_url(
                openidconnect::core::CoreAuthenticationFlow::AuthorizationCode,
                move || openidconnect::CsrfToken::new(state),
                move || Nonce::new(nonce),
            )
            .add_scope(openidconnect::Scope::new("email".to_owned()))
            .add_scope(openidconnect::Scope::new("profile".to_owned()))
            .set_pkce_challenge(challenge);
        if silent {
            request = request.add_prompt(openidconnect::core::CoreAuthPrompt::None);
        }
        let (url, _, _) = request.url();
        Ok(url.to_string())
    }

    fn client(
        &self,
        discovered: &Discovered,
        client: &ClientConfig<'_>,
    ) -> Result<
        openidconnect::core::CoreClient<
            openidconnect::EndpointSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointMaybeSet,
            openidconnect::EndpointMaybeSet,
        >,
        ApiError,
    > {
        let redirect = RedirectUrl::new(client.redirect_uri.to_owned())
            .map_err(|_| unavailable("the redirect URI is not a URL"))?;
        Ok(CoreClient::from_provider_metadata(
            discovered.metadata.clone(),
            ClientId::new(client.client_id.to_owned()),
            Some(ClientSecret::new(client.client_secret.to_owned())),
        )
        .set_redirect_uri(redirect))
    }

    /// Redeems the provider's `code` at its token endpoint (with the PKCE verifier) and
    /// verifies the ID token it answers with.
    pub async fn redeem(
        &self,
        client: &ClientConfig<'_>,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
    ) -> Result<VerifiedToken, ApiError> {
        let discovered = self.discover(client.issuer).await?;
        let oidc = self.client(&discovered, client)?;
        let response = oidc
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|_| unavailable("it announces no token endpoint"))?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()))
            .request_async(&self.http)
            .await
            .map_err(|e| {
                use openidconnect::RequestTokenError as E;
                tracing::warn!(issuer = client.issuer, error = %e, "OpenID code exchange failed");
                match e {
                    E::ServerResponse(answer) => rejected(format!(
                        "the provider refused the code ({})",
                        answer.error()
                    )),
                    E::Parse(..) => rejected("the provider's token response is not valid"),
                    E::Request(_) | E::Other(_) => unavailable("its token endpoint did not answer"),
                }
            })?;
        let id_token = response
            .id_token()
            .ok_or_else(|| rejected("the provider sent no ID token"))?;
        self.verify(client, discovered, id_token, nonce).await
    }

    /// Verifies `id_token`: signature by a key of the JWKS with an asymmetric algorithm the
    /// provider announces (never `none`, never an HMAC keyed with the client secret), `iss`,
    /// `aud`, `azp`, `exp`, `iat` and `nonce`. An unknown key makes the JWKS be fetched again
    /// (at most once a minute) and the token checked once more.
    async fn verify(
        &self,
        client: &ClientConfig<'_>,
        discovered: Arc<Discovered>,
        id_token: &CoreIdToken,
        nonce: &str,
    ) -> Result<VerifiedToken, ApiError> {
        let first = check(&discovered, client, id_token, nonce);
        let unknown_key = matches!(
            first,
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey
            ))
        );
        let may_refetch = discovered
            .jwks_refetched_at
            .is_none_or(|at| at.elapsed() >= JWKS_REFETCH_EVERY);
        let result = if unknown_key && may_refetch {
            let refreshed = self.refetch_jwks(client.issuer, &discovered).await?;
            check(&refreshed, client, id_token, nonce)
        } else {
            first
        };
        result.map_err(|e| {
            tracing::info!(issuer = client.issuer, error = %e, "ID token refused");
            rejected(format!("the ID token is not valid ({e})"))
        })?;
        let claims = payload(id_token)?;
        // The crate checks `aud` (and refuses other audiences) but not `azp`: when present it
        // must name this client (OpenID Connect Core 3.1.3.7, steps 4–5).
        if let Some(azp) = claims.get("azp")
            && azp.as_str() != Some(client.client_id)
        {
            return Err(rejected("the ID token was issued to another client (azp)"));
        }
        Ok(VerifiedToken { claims })
    }

    async fn refetch_jwks(
        &self,
        issuer: &str,
        discovered: &Discovered,
    ) -> Result<Arc<Discovered>, ApiError> {
        let jwks = CoreJsonWebKeySet::fetch_async(discovered.metadata.jwks_uri(), &self.http)
            .await
            .map_err(|e| {
                tracing::warn!(issuer, error = %e, "JWKS fetch failed");
                unavailable("its signing keys could not be read")
            })?;
        Ok(self.remember(
            issuer,
            Discovered {
                metadata: discovered.metadata.clone().set_jwks(jwks),
                fetched_at: discovered.fetched_at,
                jwks_refetched_at: Some(Instant::now()),
            },
        ))
    }

    /// Forgets every cached provider (tests; a changed issuer simply misses the cache).
    pub fn forget(&self) {
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

/// An endpoint the hub may call or send a browser to: `https://` (plain http only with
/// `[oidc] allow_http`), and, unless allowed, not an address of this network (a literal one
/// here; names are checked when resolved, [`PublicOnly`]).
fn endpoint_allowed(allow_http: bool, url: &url::Url) -> Result<(), String> {
    if allow_http {
        return Ok(());
    }
    if url.scheme() != "https" {
        return Err("it names an endpoint that is not https://".to_owned());
    }
    let private = match url.host() {
        Some(url::Host::Ipv4(ip)) => !is_public(std::net::IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => !is_public(std::net::IpAddr::V6(ip)),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => true,
    };
    if private {
        return Err("it names an address of the hub's own network".to_owned());
    }
    Ok(())
}

/// The HTTP client of every call the `openidconnect` crate makes (discovery, the JWKS it
/// fetches on its own, the token endpoint): each request's URL passes [`endpoint_allowed`]
/// first, since a literal address never reaches the resolver.
struct Guarded {
    client: reqwest::Client,
    allow_http: bool,
}

impl<'c> openidconnect::AsyncHttpClient<'c> for Guarded {
    type Error = openidconnect::HttpClientError<reqwest::Error>;
    type Future = std::pin::Pin<
        Box<
            dyn std::future::Future<Output = Result<openidconnect::HttpResponse, Self::Error>>
                + Send
                + Sync
                + 'c,
        >,
    >;

    fn call(&'c self, request: openidconnect::HttpRequest) -> Self::Future {
        Box::pin(async move {
            let url = url::Url::parse(&request.uri().to_string())
                .map_err(|e| openidconnect::HttpClientError::Other(e.to_string()))?;
            endpoint_allowed(self.allow_http, &url)
                .map_err(openidconnect::HttpClientError::Other)?;
            self.client.call(request).await
        })
    }
}

/// Whether an address is on the public internet: not loopback, private, link-local, shared
/// (CGNAT), documentation, unspecified or broadcast, nor an IPv6 unique-local or link-local
/// one (an IPv4-mapped IPv6 address is judged as the IPv4 one).
fn is_public(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_multicast()
                || a == 0
                || a >= 240
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (18..20).contains(&b))
                || (a == 192 && b == 0 && c == 0))
        }
        std::net::IpAddr::V6(v6) => {
            let s = v6.segments();
            // An IPv4 address carried inside (mapped, compatible, NAT64, 6to4) is judged as
            // that address.
            let embedded = |hi: u16, lo: u16| {
                let [h1, h2] = hi.to_be_bytes();
                let [l1, l2] = lo.to_be_bytes();
                std::net::Ipv4Addr::new(h1, h2, l1, l2)
            };
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(std::net::IpAddr::V4(v4));
            }
            if s[..6] == [0; 6] && !v6.is_loopback() && !v6.is_unspecified() {
                return is_public(std::net::IpAddr::V4(embedded(s[6], s[7])));
            }
            if s[0] == 0x64 && s[1] == 0xff9b {
                return is_public(std::net::IpAddr::V4(embedded(s[6], s[7])));
            }
            if s[0] == 0x2002 {
                return is_public(std::net::IpAddr::V4(embedded(s[1], s[2])));
            }
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] & 0xffc0) == 0xfec0
                || (s[0] == 0x2001 && s[1] == 0x0db8)
                || (s[0] == 0x0100 && s[1..4] == [0, 0, 0]))
        }
    }
}

/// A resolver that answers only public addresses: a provider's name that resolves to this
/// network's own hosts is refused before any connection (SSRF).
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async move {
            let found = tokio::net::lookup_host((name.as_str(), 0)).await?;
            let public: Vec<std::net::SocketAddr> = found.filter(|a| is_public(a.ip())).collect();
            if public.is_empty() {
                return Err(format!("{} resolves to no public address", name.as_str()).into());
            }
            let addrs: reqwest::dns::Addrs = Box::new(public.into_iter());
            Ok(addrs)
        })
    }
}

/// The asymmetric signing algorithms: the only ones an ID token may use here. The provider's
/// own list narrows them further.
fn asymmetric(alg: &CoreJwsSigningAlgorithm) -> bool {
    use CoreJwsSigningAlgorithm as A;
    matches!(
        alg,
        A::RsaSsaPkcs1V15Sha256
            | A::RsaSsaPkcs1V15Sha384
            | A::RsaSsaPkcs1V15Sha512
            | A::EcdsaP256Sha256
            | A::EcdsaP384Sha384
            | A::EcdsaP521Sha512
            | A::RsaSsaPssSha256
            | A::RsaSsaPssSha384
            | A::RsaSsaPssSha512
            | A::EdDsa
    )
}

fn check(
    discovered: &Discovered,
    client: &ClientConfig<'_>,
    id_token: &CoreIdToken,
    nonce: &str,
) -> Result<(), ClaimsVerificationError> {
    let algs: Vec<CoreJwsSigningAlgorithm> = discovered
        .metadata
        .id_token_signing_alg_values_supported()
        .iter()
        .filter(|a| asymmetric(a))
        .cloned()
        .collect();
    // A public-client verifier: it refuses HMAC-signed tokens outright, so a token "signed"
    // with the client secret never passes, whatever the provider announces.
    let verifier = CoreIdTokenVerifier::new_public_client(
        ClientId::new(client.client_id.to_owned()),
        discovered.metadata.issuer().clone(),
        discovered.metadata.jwks().clone(),
    )
    .set_allowed_algs(algs)
    .set_issue_time_verifier_fn(|iat| {
        if iat.timestamp() > chrono::Utc::now().timestamp() + IAT_LEEWAY_SECS {
            Err("issued in the future".to_owned())
        } else {
            Ok(())
        }
    });
    id_token
        .claims(&verifier, &Nonce::new(nonce.to_owned()))
        .map(|_| ())
}

/// The payload of a token whose signature and claims were just verified, as JSON: the
/// tenant's `email_claim` may be any claim, not only the standard ones.
fn payload(id_token: &CoreIdToken) -> Result<serde_json::Value, ApiError> {
    use base64::Engine as _;
    let jwt = id_token.to_string();
    let part = jwt
        .split('.')
        .nth(1)
        .ok_or_else(|| rejected("the ID token is not a JWT"))?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .map_err(|_| rejected("the ID token is not a JWT"))?;
    serde_json::from_slice(&bytes).map_err(|_| rejected("the ID token is not a JWT"))
}

#[cfg(test)]
mod tests {
    use super::is_public;

    #[test]
    fn s13_addresses_of_the_hubs_own_network_are_not_public() {
        for inside in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
            "::10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:a00:1::",
        ] {
            assert!(!is_public(inside.parse().unwrap()), "{inside}");
        }
        for outside in [
            "8.8.8.8",
            "20.190.128.1",
            "2606:4700::1111",
            "64:ff9b::808:808",
        ] {
            assert!(is_public(outside.parse().unwrap()), "{outside}");
        }
    }
}
