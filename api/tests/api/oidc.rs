//! Sign in with OpenID Connect (SPEC S13), on each backend, against a stand-in provider that
//! the test controls completely — the attacker's issuer: it answers discovery and the JWKS,
//! and its token endpoint hands back whatever ID token the test forged. (The browser walk
//! against the certified `oidc-provider` lives in `e2e/tests/oidc.rs`.)

use std::sync::{Arc, Mutex, PoisonError};

use base64::Engine as _;
use hubkeep_shared::api::{OidcExchange, UpdateOidc, UpdateSettings};
use reqwest::header::{ACCEPT, LOCATION};
use serde_json::{Value, json};

use crate::helpers::{
    Backend, TestApp, TestTenant, assert_problem, fixture_directory, people::*, sign_hs256,
    spawn_app_for_simulator, spawn_app_with, start_simulator_with,
};
use crate::on_each_backend;
use crate::standin::{Reply, StandIn};

on_each_backend!(
    s13_a_person_signs_in_at_the_provider_as_the_psa_person_of_their_email,
    s13_id_token_and_flow_attacks_are_refused_and_create_nothing,
    s13_the_client_secret_is_write_only_sealed_and_bound_to_its_provider,
    s13_the_sign_in_page_names_the_tenant_and_its_provider,
    s13_an_unknown_signing_key_refetches_the_jwks_at_most_once_a_minute,
    s13_a_silent_attempt_the_provider_refuses_returns_to_the_sign_in_page,
    s13_unfinished_sign_ins_and_unredeemed_codes_are_pruned,
);

const CLIENT_ID: &str = "hubkeep-test-client";
const CLIENT_SECRET: &str = "oidc-test-client-secret-0123456789";

fn keys() -> Value {
    serde_json::from_str(include_str!("fixtures/oidc-test-keys.json")).unwrap()
}

/// What the stand-in provider answers: the keys its JWKS lists, the next ID token.
#[derive(Default)]
struct IdpState {
    kids: Vec<&'static str>,
    next_id_token: Option<String>,
}

struct Idp {
    standin: StandIn,
    state: Arc<Mutex<IdpState>>,
}

impl Idp {
    fn start() -> Self {
        let state = Arc::new(Mutex::new(IdpState {
            kids: vec!["k1"],
            next_id_token: None,
        }));
        let shared = Arc::clone(&state);
        let standin = StandIn::start(move |call, root| {
            let state = shared.lock().unwrap_or_else(PoisonError::into_inner);
            match call.path.as_str() {
                "/.well-known/openid-configuration" => Reply::json(
                    200,
                    &json!({
                        "issuer": root,
                        "authorization_endpoint": format!("{root}/auth"),
                        "token_endpoint": format!("{root}/token"),
                        "jwks_uri": format!("{root}/jwks"),
                        "response_types_supported": ["code"],
                        "subject_types_supported": ["public"],
                        // HS256 is announced on purpose: the hub must still never accept it.
                        "id_token_signing_alg_values_supported": ["RS256", "HS256"],
                    }),
                ),
                "/jwks" => {
                    let keys = keys();
                    let listed: Vec<Value> = state
                        .kids
                        .iter()
                        .map(|kid| {
                            json!({"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
                                   "n": keys["keys"][kid]["n"], "e": "AQAB"})
                        })
                        .collect();
                    Reply::json(200, &json!({ "keys": listed }))
                }
                "/token" => match &state.next_id_token {
                    Some(token) => Reply::json(
                        200,
                        &json!({"access_token": "provider-access-token", "token_type": "Bearer",
                                "expires_in": 300, "id_token": token}),
                    ),
                    None => Reply::json(400, &json!({"error": "invalid_grant"})),
                },
                _ => Reply::json(404, &json!({"error": "not_found"})),
            }
        });
        Self { standin, state }
    }

    fn issuer(&self) -> String {
        self.standin.root()
    }

    fn answer_with(&self, id_token: String) {
        self.state.lock().unwrap().next_id_token = Some(id_token);
    }

    fn count(&self, path: &str) -> usize {
        self.standin
            .calls()
            .iter()
            .filter(|c| c.path == path)
            .count()
    }
}

/// Claims of a good ID token for `email`.
fn claims(idp: &Idp, nonce: &str, email: &str) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({
        "iss": idp.issuer(), "aud": CLIENT_ID, "sub": format!("sub-{email}"),
        "iat": now, "exp": now + 300, "nonce": nonce,
        "email": email, "email_verified": true,
    })
}

fn rs256(kid: &str, claims: &Value) -> String {
    rs256_as(kid, kid, claims)
}

/// An RS256 token signed by `signer`'s key but naming `kid` in its header.
fn rs256_as(signer: &str, kid: &str, claims: &Value) -> String {
    let keys = keys();
    let pem = keys["keys"][signer]["pem"].as_str().unwrap();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(
        &header,
        claims,
        &jsonwebtoken::EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
    )
    .unwrap()
}

fn unsigned(claims: &Value) -> String {
    let b64 = |v: &Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string().as_bytes())
    };
    format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(claims)
    )
}

fn email_of(id: i64) -> String {
    let directory = fixture_directory();
    directory
        .resources
        .iter()
        .find(|r| r.id == id)
        .unwrap()
        .email
        .clone()
}

/// An app that accepts the stand-in's plain-http issuer, an Autotask tenant (the simulator)
/// whose Tom shares Tess's email — Autotask does not keep emails unique, a directory file
/// does — Ada signed in and OIDC configured.
async fn setup(backend: Backend) -> (TestApp, TestTenant, Idp, reqwest::Client) {
    let tess = email_of(TESS_TECH);
    let sim = start_simulator_with(|c| {
        let tom = c
            .directory
            .resources
            .iter_mut()
            .find(|r| r.id == TOM_TECH)
            .unwrap();
        tom.email = tess.to_uppercase();
    });
    let app = spawn_app_for_simulator(backend, &sim, |s| s.oidc.allow_http = true).await;
    // The simulator lives as long as the test (the app holds no handle to it).
    Box::leak(Box::new(sim));
    let tenant = app.autotask_tenant(None).await;
    let ada = app.sign_in(&tenant, ADA_ADMIN).await;
    let idp = Idp::start();
    let res = app
        .as_(&ada)
        .update_settings(&UpdateSettings {
            oidc: Some(Some(UpdateOidc {
                issuer: Some(idp.issuer()),
                client_id: Some(CLIENT_ID.into()),
                client_secret: Some(CLIENT_SECRET.into()),
                label: Some("Contoso Entra ID".into()),
                ..Default::default()
            })),
            ..Default::default()
        })
        .await;
    assert_eq!(res.status().as_u16(), 200, "OIDC is configured");
    let browserless = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    (app, tenant, idp, browserless)
}

/// A started sign-in: the `state` and `nonce` the hub sent to the provider.
struct Started {
    state: String,
    nonce: String,
    query: Vec<(String, String)>,
    /// `hubkeep_oidc_browser=…`: the cookie that binds the sign-in to the browser.
    cookie: String,
}

async fn begin(app: &TestApp, http: &reqwest::Client, slug: &str, extra: &str) -> Started {
    let res = http
        .get(app.url(&format!(
            "/api/v1/auth/oidc/{slug}/start?return_to=%2Fusers{extra}"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status().as_u16(),
        302,
        "start redirects to the provider"
    );
    let set_cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"),
        "{set_cookie}"
    );
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let location = url::Url::parse(res.headers()[LOCATION].to_str().unwrap()).unwrap();
    let query: Vec<(String, String)> = location.query_pairs().into_owned().collect();
    let get = |k: &str| {
        query
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    Started {
        state: get("state"),
        nonce: get("nonce"),
        query,
        cookie,
    }
}

/// The provider's redirect back for a started sign-in, in the browser that began it.
async fn callback(
    app: &TestApp,
    http: &reqwest::Client,
    started: &Started,
    html: bool,
) -> reqwest::Response {
    callback_with(app, http, &started.state, Some(&started.cookie), html).await
}

async fn callback_with(
    app: &TestApp,
    http: &reqwest::Client,
    state: &str,
    cookie: Option<&str>,
    html: bool,
) -> reqwest::Response {
    let mut request = http.get(app.url(&format!(
        "/api/v1/auth/oidc/callback?state={state}&code=provider-code"
    )));
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    if html {
        request = request.header(ACCEPT, "text/html,application/xhtml+xml");
    }
    request.send().await.unwrap()
}

/// The one-time code of a `/signin/complete#code=…` redirect.
fn code_from(res: &reqwest::Response) -> String {
    assert_eq!(res.status().as_u16(), 303);
    let location = res.headers()[LOCATION].to_str().unwrap().to_owned();
    let fragment = location.strip_prefix("/signin/complete#").expect(&location);
    url::form_urlencoded::parse(fragment.as_bytes())
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap()
}

async fn exchange(app: &TestApp, code: &str, cookie: Option<&str>) -> reqwest::Response {
    let mut request = app
        .client
        .post(app.url("/api/v1/auth/oidc/exchange"))
        .json(&OidcExchange {
            code: code.to_owned(),
        });
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    request.send().await.unwrap()
}

async fn s13_a_person_signs_in_at_the_provider_as_the_psa_person_of_their_email(backend: Backend) {
    let (app, tenant, idp, http) = setup(backend).await;
    let started = begin(&app, &http, &tenant.slug, "").await;
    let param = |k: &str| {
        started
            .query
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(param("code_challenge_method"), Some("S256"));
    assert_eq!(param("client_id"), Some(CLIENT_ID));
    assert_eq!(param("response_type"), Some("code"));
    assert_eq!(param("prompt"), None);
    assert!(param("scope").unwrap().contains("openid"));
    // Bob, in capitals: the PSA's email is matched without regard to case.
    idp.answer_with(rs256(
        "k1",
        &claims(&idp, &started.nonce, &email_of(BOB_FINANCE).to_uppercase()),
    ));
    let res = callback(&app, &http, &started, true).await;
    let location = res.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(location.contains("return_to=%2Fusers"), "{location}");
    let code = code_from(&res);
    // The token endpoint got the PKCE verifier and the client's credentials.
    let token_call = idp
        .standin
        .calls()
        .into_iter()
        .find(|c| c.path == "/token")
        .unwrap();
    assert!(
        token_call.body.contains("code_verifier="),
        "{}",
        token_call.body
    );
    assert!(
        token_call
            .header("authorization")
            .unwrap()
            .starts_with("Basic ")
    );
    let users_before = app.count("sessions").await;
    // Another browser (no cookie, or another sign-in's) cannot redeem the code.
    assert_problem(exchange(&app, &code, None).await, 401, "oidc_rejected").await;
    let res = exchange(&app, &code, Some(&started.cookie)).await;
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["user"]["psa_resource_id"], BOB_FINANCE);
    assert_eq!(body["user"]["access_level"], "limited");
    assert_eq!(
        app.count("sessions").await,
        users_before,
        "the session was made at the callback"
    );
    let me = app
        .client
        .get(app.url("/api/v1/me"))
        .bearer_auth(body["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(me.status().as_u16(), 200);
    let refreshed = app.refresh(body["refresh_token"].as_str().unwrap()).await;
    assert_eq!(
        refreshed.status().as_u16(),
        200,
        "the console's refresh token works"
    );
    let method = app
        .scalar_text(&format!(
            "SELECT details FROM activity_log WHERE tenant_id = '{}' AND action = 'user.signed_in' \
             ORDER BY at DESC, id DESC LIMIT 1",
            tenant.id
        ))
        .await;
    assert!(method.contains("\"method\":\"oidc\""), "{method}");
    // The code works once.
    assert_problem(
        exchange(&app, &code, Some(&started.cookie)).await,
        401,
        "oidc_rejected",
    )
    .await;
}

/// Each forged answer is refused and leaves users and sessions as they were.
async fn s13_id_token_and_flow_attacks_are_refused_and_create_nothing(backend: Backend) {
    let (app, tenant, idp, http) = setup(backend).await;
    let bob = email_of(BOB_FINANCE);
    type Forge = Box<dyn Fn(&Idp, &str) -> String>;
    let with = |edit: fn(&mut Value)| -> Forge {
        let bob = bob.clone();
        Box::new(move |idp: &Idp, nonce: &str| {
            let mut c = claims(idp, nonce, &bob);
            edit(&mut c);
            rs256("k1", &c)
        })
    };
    let cases: Vec<(&str, Forge, u16, &str)> = vec![
        (
            "wrong aud",
            with(|c| c["aud"] = json!("someone-else")),
            401,
            "oidc_rejected",
        ),
        (
            "wrong iss",
            with(|c| c["iss"] = json!("https://evil.example")),
            401,
            "oidc_rejected",
        ),
        (
            "expired",
            with(|c| {
                c["exp"] = json!(chrono::Utc::now().timestamp() - 600);
                c["iat"] = json!(chrono::Utc::now().timestamp() - 900);
            }),
            401,
            "oidc_rejected",
        ),
        (
            "wrong nonce",
            with(|c| c["nonce"] = json!("not-the-nonce")),
            401,
            "oidc_rejected",
        ),
        (
            "issued to another client (azp)",
            with(|c| c["azp"] = json!("another-client")),
            401,
            "oidc_rejected",
        ),
        (
            "two audiences",
            with(|c| c["aud"] = json!([CLIENT_ID, "another-client"])),
            401,
            "oidc_rejected",
        ),
        (
            "issued in the future",
            with(|c| c["iat"] = json!(chrono::Utc::now().timestamp() + 3600)),
            401,
            "oidc_rejected",
        ),
        (
            "unverified email",
            with(|c| c["email_verified"] = json!(false)),
            403,
            "email_not_verified",
        ),
        (
            "no PSA person",
            with(|c| c["email"] = json!("nobody@example.test")),
            403,
            "psa_resource_not_found",
        ),
        (
            "two PSA people",
            Box::new(|idp: &Idp, nonce: &str| {
                rs256("k1", &claims(idp, nonce, &email_of(TESS_TECH)))
            }),
            403,
            "psa_resource_ambiguous",
        ),
        (
            "bad signature",
            Box::new(move |idp: &Idp, nonce: &str| {
                rs256_as("k2", "k1", &claims(idp, nonce, &email_of(BOB_FINANCE)))
            }),
            401,
            "oidc_rejected",
        ),
        (
            "alg none",
            Box::new(|idp: &Idp, nonce: &str| {
                unsigned(&claims(idp, nonce, &email_of(BOB_FINANCE)))
            }),
            401,
            "oidc_rejected",
        ),
        (
            "HS256 with the client secret",
            Box::new(|idp: &Idp, nonce: &str| {
                let mut token_claims = claims(idp, nonce, &email_of(BOB_FINANCE));
                token_claims["azp"] = json!(CLIENT_ID);
                sign_hs256(&token_claims, CLIENT_SECRET)
            }),
            401,
            "oidc_rejected",
        ),
    ];
    let rows = || async {
        (
            app.count("users").await,
            app.count("sessions").await,
            app.count("oidc_codes").await,
        )
    };
    let before = rows().await;
    for (what, forge, status, code) in cases {
        let started = begin(&app, &http, &tenant.slug, "").await;
        idp.answer_with(forge(&idp, &started.nonce));
        let res = callback(&app, &http, &started, false).await;
        assert_eq!(res.status().as_u16(), status, "{what}");
        let problem: Value = res.json().await.unwrap();
        assert_eq!(problem["code"], code, "{what}: {problem}");
        assert_eq!(rows().await, before, "{what}: nothing is created");
    }
    // A browser is sent back to the sign-in page with the code, still creating nothing.
    let started = begin(&app, &http, &tenant.slug, "").await;
    idp.answer_with(rs256(
        "k1",
        &claims(&idp, &started.nonce, "nobody@example.test"),
    ));
    let res = callback(&app, &http, &started, true).await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(
        res.headers()[LOCATION].to_str().unwrap(),
        format!("/t/{}?error=psa_resource_not_found", tenant.slug)
    );
    // A replayed state: the first use signs in, the second is refused.
    let started = begin(&app, &http, &tenant.slug, "").await;
    idp.answer_with(rs256(
        "k1",
        &claims(&idp, &started.nonce, &email_of(BOB_FINANCE)),
    ));
    code_from(&callback(&app, &http, &started, true).await);
    let after_one = rows().await;
    assert_problem(
        callback(&app, &http, &started, false).await,
        401,
        "oidc_rejected",
    )
    .await;
    assert_eq!(rows().await, after_one, "a replayed state creates nothing");
    // An unknown state; a sign-in finished in a browser that did not begin it (login CSRF:
    // someone hands over their own half-done sign-in).
    let res = callback_with(&app, &http, "made-up-state", None, false).await;
    assert_problem(res, 401, "oidc_rejected").await;
    let started = begin(&app, &http, &tenant.slug, "").await;
    idp.answer_with(rs256(
        "k1",
        &claims(&idp, &started.nonce, &email_of(BOB_FINANCE)),
    ));
    let other = begin(&app, &http, &tenant.slug, "").await;
    for cookie in [None, Some(other.cookie.as_str())] {
        let res = callback_with(&app, &http, &started.state, cookie, false).await;
        assert_problem(res, 401, "oidc_rejected").await;
    }
    assert_eq!(
        rows().await,
        after_one,
        "a sign-in in another browser creates nothing"
    );
    // Another site cannot begin a sign-in in its visitor's browser.
    let res = http
        .get(app.url(&format!(
            "/api/v1/auth/oidc/{}/start?prompt=none",
            tenant.slug
        )))
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_problem(res, 403, "forbidden").await;
    // An email outside the allowed domains (the tenant allows only another one).
    let ada = app.sign_in(&tenant, ADA_ADMIN).await;
    let allow_only = |domains: Vec<String>| UpdateSettings {
        oidc: Some(Some(UpdateOidc {
            allowed_email_domains: Some(domains),
            ..Default::default()
        })),
        ..Default::default()
    };
    let res = app
        .as_(&ada)
        .update_settings(&allow_only(vec!["northwind.example".into()]))
        .await;
    assert_eq!(res.status().as_u16(), 200);
    let before_domains = rows().await;
    let started = begin(&app, &http, &tenant.slug, "").await;
    idp.answer_with(rs256(
        "k1",
        &claims(&idp, &started.nonce, &email_of(BOB_FINANCE)),
    ));
    let res = callback(&app, &http, &started, false).await;
    assert_problem(res, 403, "email_domain_not_allowed").await;
    assert_eq!(
        rows().await,
        before_domains,
        "outside the domains: nothing is created"
    );
    let res = app
        .as_(&ada)
        .update_settings(&allow_only(vec!["EXAMPLE.test".into()]))
        .await;
    assert_eq!(res.status().as_u16(), 200);
    let started = begin(&app, &http, &tenant.slug, "").await;
    idp.answer_with(rs256(
        "k1",
        &claims(&idp, &started.nonce, &email_of(BOB_FINANCE)),
    ));
    code_from(&callback(&app, &http, &started, true).await);
    let logins = app.count("oidc_logins").await;
    for evil in [
        "https%3A%2F%2Fevil.example%2F",
        "%2F%2Fevil.example%2F",
        "%2F%5Cevil.example",
    ] {
        let res = http
            .get(app.url(&format!(
                "/api/v1/auth/oidc/{}/start?return_to={evil}",
                tenant.slug
            )))
            .send()
            .await
            .unwrap();
        let problem = assert_problem(res, 422, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "return_to", "{evil}");
    }
    assert_eq!(
        app.count("oidc_logins").await,
        logins,
        "refused starts store nothing"
    );
}

async fn s13_the_client_secret_is_write_only_sealed_and_bound_to_its_provider(backend: Backend) {
    let (app, tenant, idp, _) = setup(backend).await;
    let ada = app.sign_in(&tenant, ADA_ADMIN).await;
    let settings: Value = app
        .client
        .get(app.url("/api/v1/settings"))
        .bearer_auth(&ada.access_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(settings["slug"], tenant.slug.as_str());
    assert_eq!(settings["oidc"]["issuer"], idp.issuer());
    assert_eq!(settings["oidc"]["client_secret_set"], true);
    // Without `[http] public_url` the server cannot know its public address.
    assert_eq!(settings["oidc"]["redirect_uri"], Value::Null);
    assert!(!settings.to_string().contains(CLIENT_SECRET));
    let stored = app
        .scalar_text(&format!(
            "SELECT client_secret FROM tenant_oidc WHERE tenant_id = '{}'",
            tenant.id
        ))
        .await;
    assert!(stored.starts_with("sealed:v1:") && !stored.contains(CLIENT_SECRET));
    let log = app.scalar_text(&format!(
        "SELECT details FROM activity_log WHERE tenant_id = '{}' AND action = 'settings.updated'",
        tenant.id
    )).await;
    assert!(log.contains("***") && !log.contains(CLIENT_SECRET), "{log}");

    let update = |oidc: UpdateOidc| UpdateSettings {
        oidc: Some(Some(oidc)),
        ..Default::default()
    };
    // A new issuer without the secret: refused, nothing changes.
    let res = app
        .as_(&ada)
        .update_settings(&update(UpdateOidc {
            issuer: Some("https://evil.example".into()),
            ..Default::default()
        }))
        .await;
    let problem = assert_problem(res.into_inner(), 422, "credentials_required").await;
    assert_eq!(problem["errors"][0]["field"], "oidc.client_secret");
    let res = app
        .as_(&ada)
        .update_settings(&update(UpdateOidc {
            client_id: Some("another-client".into()),
            ..Default::default()
        }))
        .await;
    assert_problem(res.into_inner(), 422, "credentials_required").await;
    // Plain http where the operator did not allow it is refused (a second app, default).
    let strict = spawn_app_with(Backend::Sqlite, |_| {}).await;
    let strict_tenant = strict.tenant().await;
    let strict_ada = strict.sign_in(&strict_tenant, ADA_ADMIN).await;
    let res = strict
        .as_(&strict_ada)
        .update_settings(&update(UpdateOidc {
            issuer: Some(idp.issuer()),
            client_id: Some(CLIENT_ID.into()),
            client_secret: Some(CLIENT_SECRET.into()),
            ..Default::default()
        }))
        .await;
    let problem = assert_problem(res.into_inner(), 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "oidc.issuer");
    assert_eq!(strict.count("tenant_oidc").await, 0);
    // An https issuer on this network's own hosts is stored, but never called (SSRF): the
    // sign-in is refused before any request leaves.
    let internal = StandIn::start(|_, _| Reply::json(200, &json!({})));
    let res = strict
        .as_(&strict_ada)
        .update_settings(&update(UpdateOidc {
            issuer: Some(format!("https://{}", internal.host())),
            client_id: Some(CLIENT_ID.into()),
            client_secret: Some(CLIENT_SECRET.into()),
            ..Default::default()
        }))
        .await;
    assert_eq!(res.status().as_u16(), 200);
    let res = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(strict.url(&format!("/api/v1/auth/oidc/{}/start", strict_tenant.slug)))
        .send()
        .await
        .unwrap();
    assert_problem(res, 503, "identity_provider_unavailable").await;
    assert!(
        internal.calls().is_empty(),
        "nothing reached the internal host"
    );
    // Invalid fields are listed; a limited user cannot edit.
    let res = app
        .as_(&ada)
        .update_settings(&update(UpdateOidc {
            email_claim: Some("not a claim".into()),
            allowed_email_domains: Some(vec!["localhost".into()]),
            ..Default::default()
        }))
        .await;
    let problem = assert_problem(res.into_inner(), 422, "validation_failed").await;
    let fields = crate::helpers::error_fields(&problem);
    assert!(
        fields.contains(&"oidc.email_claim".to_owned()),
        "{fields:?}"
    );
    let tess = app.sign_in(&tenant, TESS_TECH).await;
    let res = app
        .as_(&tess)
        .update_settings(&UpdateSettings {
            oidc: Some(None),
            ..Default::default()
        })
        .await;
    assert_problem(res.into_inner(), 403, "elevated_access_required").await;
    // Turning it off forgets the secret.
    let res = app
        .as_(&ada)
        .update_settings(&UpdateSettings {
            oidc: Some(None),
            ..Default::default()
        })
        .await;
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(app.count("tenant_oidc").await, 0);
}

async fn s13_the_sign_in_page_names_the_tenant_and_its_provider(backend: Backend) {
    let (app, tenant, _idp, http) = setup(backend).await;
    let page: Value = app
        .get(&format!("/api/v1/auth/tenants/{}", tenant.slug))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        page,
        json!({"name": "Fabrikam MSP", "sign_in": ["oidc"], "oidc_label": "Contoso Entra ID"})
    );
    let other = app.autotask_tenant(None).await;
    assert_eq!(
        other.slug,
        format!("{}-2", tenant.slug),
        "a second tenant of the same name gets its own slug"
    );
    let page: Value = app
        .get(&format!("/api/v1/auth/tenants/{}", other.slug))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["sign_in"], json!([]));
    assert_problem(
        app.get("/api/v1/auth/tenants/no-such-tenant").await,
        404,
        "not_found",
    )
    .await;
    // A tenant without OIDC has no start either.
    let res = http
        .get(app.url(&format!("/api/v1/auth/oidc/{}/start", other.slug)))
        .send()
        .await
        .unwrap();
    assert_problem(res, 404, "not_found").await;
}

async fn s13_an_unknown_signing_key_refetches_the_jwks_at_most_once_a_minute(backend: Backend) {
    let (app, tenant, idp, http) = setup(backend).await;
    // The provider rotates to k2 after the hub read its keys.
    let started = begin(&app, &http, &tenant.slug, "").await;
    assert_eq!(idp.count("/jwks"), 1);
    idp.state.lock().unwrap().kids = vec!["k1", "k2"];
    idp.answer_with(rs256_as(
        "k2",
        "k2",
        &claims(&idp, &started.nonce, &email_of(BOB_FINANCE)),
    ));
    code_from(&callback(&app, &http, &started, true).await);
    assert_eq!(
        idp.count("/jwks"),
        2,
        "an unknown kid fetched the keys again"
    );
    // Forged kids right after: refused without asking the provider again.
    for forged in ["k3", "k4"] {
        let started = begin(&app, &http, &tenant.slug, "").await;
        idp.answer_with(rs256_as(
            "k2",
            forged,
            &claims(&idp, &started.nonce, &email_of(BOB_FINANCE)),
        ));
        assert_problem(
            callback(&app, &http, &started, false).await,
            401,
            "oidc_rejected",
        )
        .await;
    }
    assert_eq!(idp.count("/jwks"), 2, "at most once a minute");
}

async fn s13_a_silent_attempt_the_provider_refuses_returns_to_the_sign_in_page(backend: Backend) {
    let (app, tenant, _idp, http) = setup(backend).await;
    let started = begin(&app, &http, &tenant.slug, "&prompt=none").await;
    assert!(
        started
            .query
            .contains(&("prompt".to_owned(), "none".to_owned()))
    );
    let res = http
        .get(app.url(&format!(
            "/api/v1/auth/oidc/callback?state={}&error=login_required&error_description=x",
            started.state
        )))
        .header(ACCEPT, "text/html")
        .header("cookie", &started.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(
        res.headers()[LOCATION].to_str().unwrap(),
        format!(
            "/t/{}?error=oidc_rejected&reason=login_required",
            tenant.slug
        )
    );
    let res = http
        .get(app.url(&format!(
            "/api/v1/auth/oidc/{}/start?prompt=login",
            tenant.slug
        )))
        .send()
        .await
        .unwrap();
    assert_problem(res, 422, "validation_failed").await;
}

async fn s13_unfinished_sign_ins_and_unredeemed_codes_are_pruned(backend: Backend) {
    let (app, tenant, idp, http) = setup(backend).await;
    let started = begin(&app, &http, &tenant.slug, "").await;
    idp.answer_with(rs256(
        "k1",
        &claims(&idp, &started.nonce, &email_of(BOB_FINANCE)),
    ));
    code_from(&callback(&app, &http, &started, true).await);
    begin(&app, &http, &tenant.slug, "").await;
    assert_eq!(
        (
            app.count("oidc_logins").await,
            app.count("oidc_codes").await
        ),
        (1, 1)
    );
    let later = chrono::Utc::now() + chrono::Duration::minutes(11);
    let pruned = hubkeep_api::identity::prune::prune(&app.db, later, 60)
        .await
        .unwrap();
    assert_eq!((pruned.oidc_logins, pruned.oidc_codes), (1, 1));
    assert_eq!(
        (
            app.count("oidc_logins").await,
            app.count("oidc_codes").await
        ),
        (0, 0)
    );
}
