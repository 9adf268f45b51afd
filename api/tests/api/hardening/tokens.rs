//! Token attacks (OWASP API2 broken authentication; ASVS V3 session management, V9 tokens):
//! forged, tampered, expired, not-yet-valid, mis-addressed and revoked access tokens; launch
//! assertions that are replayed, too long-lived or signed wrongly; refresh-token reuse; API
//! and engine tokens that are revoked, expired, out of scope, of a deactivated user or of
//! the wrong kind; garbage `Authorization` headers. Each attack is one row with the exact
//! status and problem `code` the API must answer. Every pure refusal must leave the
//! database exactly as it was; the refresh-token reuse must revoke exactly its session.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use serde_json::{Value, json};

use super::bad_input::problem_mismatch;
use super::common::summary;
use super::common::{snapshot, snapshot_diff};
use hubkeep_shared::TokenScope;
use hubkeep_shared::api::{CreateEngineToken, CreateToken, UserPatch};

use crate::client::{Client, new_connection, view as view_body};
use crate::helpers::{
    Backend, TestApp, exec, id, people, session_from, sign_hs256, spawn_app, team,
};
use crate::on_each_backend;

on_each_backend!(hardening_token_attacks_are_refused);

const UNAUTHENTICATED: (u16, &str) = (401, "unauthenticated");
const REAUTHORIZE: (u16, &str) = (401, "reauthorization_required");
const SCOPE: (u16, &str) = (403, "insufficient_scope");

/// One attack: a request and the refusal it must get.
struct Attack {
    family: &'static str,
    what: String,
    method: Method,
    path: String,
    /// The raw `Authorization` header, when one is sent.
    auth: Option<HeaderValue>,
    body: Option<Value>,
    status: u16,
    code: &'static str,
}

fn bearer(token: &str) -> Option<HeaderValue> {
    Some(HeaderValue::from_str(&format!("Bearer {token}")).unwrap())
}

/// `GET /api/v1/me` with a forged or stolen credential.
fn me(
    family: &'static str,
    what: &str,
    token: &str,
    (status, code): (u16, &'static str),
) -> Attack {
    Attack {
        family,
        what: what.to_owned(),
        method: Method::GET,
        path: "/api/v1/me".into(),
        auth: bearer(token),
        body: None,
        status,
        code,
    }
}

fn call(
    family: &'static str,
    what: &str,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
    (status, code): (u16, &'static str),
) -> Attack {
    Attack {
        family,
        what: format!("{what}: {method} {path}"),
        method,
        path: path.to_owned(),
        auth: bearer(token),
        body,
        status,
        code,
    }
}

fn public(what: &str, path: &str, body: Value, (status, code): (u16, &'static str)) -> Attack {
    Attack {
        family: if path.ends_with("launch") {
            "launch assertion"
        } else {
            "refresh token"
        },
        what: what.to_owned(),
        method: Method::POST,
        path: path.to_owned(),
        auth: None,
        body: Some(body),
        status,
        code,
    }
}

fn launch(what: &str, assertion: &str) -> Attack {
    public(
        what,
        "/api/v1/auth/launch",
        json!({ "assertion": assertion }),
        UNAUTHENTICATED,
    )
}

fn refresh(what: &str, token: &str, expect: (u16, &'static str)) -> Attack {
    public(
        what,
        "/api/v1/auth/refresh",
        json!({ "refresh_token": token }),
        expect,
    )
}

impl Attack {
    /// The attack as a request of a client without credentials of its own: the exact
    /// `Authorization` header (or none) and body of the row.
    fn request(&self, c: &Client<'_>) -> reqwest::RequestBuilder {
        let mut req = c.request(self.method.clone(), &self.path);
        if let Some(auth) = &self.auth {
            req = req.header(AUTHORIZATION, auth.clone());
        }
        if let Some(body) = &self.body {
            req = req.json(body);
        }
        req
    }
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

/// A JWS with exactly this header, HMAC-signed with `alg` (whatever the header says).
fn jws(header: &Value, claims: &Value, secret: &[u8], alg: Algorithm) -> String {
    let input = format!("{}.{}", b64(header), b64(claims));
    let signature =
        jsonwebtoken::crypto::sign(input.as_bytes(), &EncodingKey::from_secret(secret), alg)
            .unwrap();
    format!("{input}.{signature}")
}

/// A JWS with this header and a signature of random bytes.
fn junk_signed(header: &Value, claims: &Value) -> String {
    let junk: Vec<u8> = (0..64).map(|_| rand::random::<u8>()).collect();
    format!(
        "{}.{}.{}",
        b64(header),
        b64(claims),
        URL_SAFE_NO_PAD.encode(junk)
    )
}

fn unsigned(header: &Value, claims: &Value) -> String {
    format!("{}.{}.", b64(header), b64(claims))
}

fn claims_of(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn with(claims: &Value, field: &str, value: Value) -> Value {
    let mut c = claims.clone();
    if value.is_null() {
        c.as_object_mut().unwrap().remove(field);
    } else {
        c[field] = value;
    }
    c
}

/// The server's generated signing key (`signing-key.json` in the data directory).
fn server_key(app: &TestApp) -> (String, String) {
    let text = std::fs::read_to_string(app.data_dir().join("signing-key.json")).unwrap();
    let key: Value = serde_json::from_str(&text).unwrap();
    (
        key["id"].as_str().unwrap().to_owned(),
        key["secret"].as_str().unwrap().to_owned(),
    )
}

/// A token named `name` with `scope`.
fn token(name: &str, scope: TokenScope) -> CreateToken {
    CreateToken {
        name: name.to_owned(),
        scope,
        expires_at: None,
    }
}
async fn hardening_token_attacks_are_refused(backend: Backend) {
    let backend_name = backend.clone();
    let app = spawn_app(backend).await;
    let (tenant, ada, bob, tess) = team(&app).await;
    let (kid, secret) = server_key(&app);
    let now = chrono::Utc::now().timestamp();

    // ---- Setup: the credentials the attacks start from (legitimate changes). ----
    let as_ada = app.as_(&ada);
    let conn = as_ada
        .create_connection(&new_connection("Books", "xero_power_bi"))
        .await
        .expect(201)
        .await
        .id;
    let view = as_ada
        .create_view(&conn, &view_body("Board pack", json!({})))
        .await
        .expect(201)
        .await
        .id;
    let read = as_ada
        .create_my_token(&token("read", TokenScope::Read))
        .await
        .expect(201)
        .await;
    let read_id = read.id;
    let read = read.token;
    let read_write = app.create_token(&ada.access_token, "read_write").await;
    let revoked = as_ada
        .create_my_token(&token("to revoke", TokenScope::ReadWrite))
        .await
        .expect(201)
        .await;
    as_ada.revoke_my_token(&revoked.id).await.expect(204).await;
    let revoked = revoked.token;
    let soon = chrono::Utc::now() + chrono::Duration::hours(1);
    let expired = as_ada
        .create_my_token(&CreateToken {
            expires_at: Some(soon),
            ..token("to expire", TokenScope::ReadWrite)
        })
        .await
        .expect(201)
        .await;
    let past = if app.is_postgres() {
        "NOW() - INTERVAL '1 second'"
    } else {
        "'2000-01-01T00:00:00+00:00'"
    };
    exec(
        &app,
        &format!(
            "UPDATE api_tokens SET expires_at = {past} WHERE id = '{}'",
            expired.id
        ),
    )
    .await;
    let expired = expired.token;
    let engine = as_ada
        .create_engine_token(&CreateEngineToken {
            name: "engine".into(),
        })
        .await
        .expect(201)
        .await
        .token;
    let revoked_engine = as_ada
        .create_engine_token(&CreateEngineToken {
            name: "old engine".into(),
        })
        .await
        .expect(201)
        .await;
    as_ada
        .revoke_engine_token(&revoked_engine.id)
        .await
        .expect(204)
        .await;
    let revoked_engine = revoked_engine.token;

    // Tess's token, then Tess is deactivated by an elevated user.
    let tess_token = app.create_token(&tess.access_token, "read_write").await;
    let res = as_ada
        .update_user(
            &id(&tess),
            &UserPatch {
                active: Some(false),
                elevation: None,
            },
        )
        .await;
    assert_eq!(res.status(), 200, "Ada deactivates Tess");

    // A session that signed out.
    let gone = app.sign_in(&tenant, people::ADA_ADMIN).await;
    assert_eq!(app.as_(&gone).end_session().await.status(), 204);

    // A launch assertion that was used once.
    let used = tenant.assertion(people::ADA_ADMIN);
    assert_eq!(app.launch(&used).await.status(), 200);
    let used_jti = claims_of(&used)["jti"].clone();

    // The credentials the attacks imitate work (each use is recorded before the snapshot).
    for token in [&ada.access_token, &read, &read_write] {
        assert_eq!(app.with_token(token).get_me().await.status(), 200);
    }
    let ada_header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(ada.access_token.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(ada_header["kid"], kid.as_str());
    let claims = claims_of(&ada.access_token);
    let hs =
        |header: &Value, claims: &Value| jws(header, claims, secret.as_bytes(), Algorithm::HS256);
    let header = json!({"alg": "HS256", "typ": "JWT", "kid": kid});
    assert_eq!(
        app.with_token(&hs(&header, &claims))
            .get_me()
            .await
            .status(),
        200,
        "re-signing Ada's claims with the server key works: the attacks vary one thing"
    );
    let (head, rest) = ada.access_token.split_once('.').unwrap();
    let (payload, signature) = rest.split_once('.').unwrap();
    let bob_signature = bob.access_token.rsplit('.').next().unwrap();
    let other_tenant = app.tenant().await;
    let tess_claims = claims_of(&tess.access_token);

    // ---- Access tokens (GET /api/v1/me). ----
    const AT: &str = "access token";
    let mut attacks = vec![
        me(
            AT,
            "alg none, no signature",
            &unsigned(&json!({"alg": "none", "typ": "JWT", "kid": kid}), &claims),
            UNAUTHENTICATED,
        ),
        me(
            AT,
            "alg None (capitalised)",
            &unsigned(&json!({"alg": "None", "typ": "JWT", "kid": kid}), &claims),
            UNAUTHENTICATED,
        ),
        me(
            AT,
            "alg none keeping the real signature",
            &format!(
                "{}.{payload}.{signature}",
                b64(&json!({"alg": "none", "typ": "JWT", "kid": kid}))
            ),
            UNAUTHENTICATED,
        ),
        me(
            AT,
            "alg empty",
            &unsigned(&json!({"alg": "", "typ": "JWT", "kid": kid}), &claims),
            UNAUTHENTICATED,
        ),
        me(
            AT,
            "no alg",
            &unsigned(&json!({"typ": "JWT", "kid": kid}), &claims),
            UNAUTHENTICATED,
        ),
        me(
            AT,
            "HS256 with a guessed key",
            &jws(&header, &claims, b"secret", Algorithm::HS256),
            UNAUTHENTICATED,
        ),
        me(
            AT,
            "HS256 with an empty key",
            &jws(&header, &claims, b"", Algorithm::HS256),
            UNAUTHENTICATED,
        ),
        me(
            AT,
            "HS256 with the tenant's launch secret",
            &jws(
                &header,
                &claims,
                tenant.launch_secret.as_bytes(),
                Algorithm::HS256,
            ),
            UNAUTHENTICATED,
        ),
        me(
            AT,
            "HS256 with the key id as the key",
            &jws(&header, &claims, kid.as_bytes(), Algorithm::HS256),
            UNAUTHENTICATED,
        ),
        me(
            AT,
            "RS256 header, HMAC with the server key (algorithm confusion)",
            &jws(
                &json!({"alg": "RS256", "typ": "JWT", "kid": kid}),
                &claims,
                secret.as_bytes(),
                Algorithm::HS256,
            ),
            UNAUTHENTICATED,
        ),
        me(
            AT,
            "RS256 header, junk signature",
            &junk_signed(&json!({"alg": "RS256", "typ": "JWT", "kid": kid}), &claims),
            UNAUTHENTICATED,
        ),
        me(
            AT,
            "ES256 header, junk signature",
            &junk_signed(&json!({"alg": "ES256", "typ": "JWT", "kid": kid}), &claims),
            UNAUTHENTICATED,
        ),
        me(
            AT,
            "PS256 header, junk signature",
            &junk_signed(&json!({"alg": "PS256", "typ": "JWT", "kid": kid}), &claims),
            UNAUTHENTICATED,
        ),
        me(
            AT,
            "EdDSA header, junk signature",
            &junk_signed(&json!({"alg": "EdDSA", "typ": "JWT", "kid": kid}), &claims),
            UNAUTHENTICATED,
        ),
        me(
            AT,
            "HS512 with the server key",
            &jws(
                &json!({"alg": "HS512", "typ": "JWT", "kid": kid}),
                &claims,
                secret.as_bytes(),
                Algorithm::HS512,
            ),
            UNAUTHENTICATED,
        ),
        me(
            AT,
            "HS384 with the server key",
            &jws(
                &json!({"alg": "HS384", "typ": "JWT", "kid": kid}),
                &claims,
                secret.as_bytes(),
                Algorithm::HS384,
            ),
            UNAUTHENTICATED,
        ),
        me(
            AT,
            "an embedded jwk header",
            &jws(
                &json!({
                    "alg": "HS256", "typ": "JWT", "kid": kid,
                    "jwk": {"kty": "oct", "k": b64(&json!("attacker"))},
                }),
                &claims,
                b"attacker",
                Algorithm::HS256,
            ),
            UNAUTHENTICATED,
        ),
        me(
            AT,
            "a jku header pointing elsewhere",
            &jws(
                &json!({
                    "alg": "HS256", "typ": "JWT", "kid": kid,
                    "jku": "https://attacker.example/jwks",
                }),
                &claims,
                b"attacker",
                Algorithm::HS256,
            ),
            UNAUTHENTICATED,
        ),
        me(
            AT,
            "tampered sub (Bob), signature kept",
            &format!(
                "{head}.{}.{signature}",
                b64(&with(&claims, "sub", json!(id(&bob))))
            ),
            UNAUTHENTICATED,
        ),
        me(
            AT,
            "tampered tid, signature kept",
            &format!(
                "{head}.{}.{signature}",
                b64(&with(&claims, "tid", json!(other_tenant.id)))
            ),
            UNAUTHENTICATED,
        ),
        me(
            AT,
            "tampered sid (Tess's session), signature kept",
            &format!(
                "{head}.{}.{signature}",
                b64(&with(&claims, "sid", tess_claims["sid"].clone()))
            ),
            UNAUTHENTICATED,
        ),
        me(
            AT,
            "tampered exp (a year), signature kept",
            &format!(
                "{head}.{}.{signature}",
                b64(&with(&claims, "exp", json!(now + 31_536_000)))
            ),
            UNAUTHENTICATED,
        ),
        me(
            AT,
            "the payload re-encoded with padding",
            &format!("{head}.{}=.{signature}", payload),
            UNAUTHENTICATED,
        ),
        me(
            AT,
            "signature stripped",
            &format!("{head}.{payload}."),
            UNAUTHENTICATED,
        ),
        me(
            AT,
            "Bob's signature on Ada's token",
            &format!("{head}.{payload}.{bob_signature}"),
            UNAUTHENTICATED,
        ),
        me(
            AT,
            "a flipped signature byte",
            &format!("{head}.{payload}.{}", flip(signature)),
            UNAUTHENTICATED,
        ),
        me(
            AT,
            "a fourth segment",
            &format!("{}.x", ada.access_token),
            UNAUTHENTICATED,
        ),
        me(
            AT,
            "expired two minutes ago (server key)",
            &hs(&header, &with(&claims, "exp", json!(now - 120))),
            UNAUTHENTICATED,
        ),
        me(
            AT,
            "no exp (server key)",
            &hs(&header, &with(&claims, "exp", Value::Null)),
            UNAUTHENTICATED,
        ),
        me(
            AT,
            "exp not a number (server key)",
            &hs(&header, &with(&claims, "exp", json!("tomorrow"))),
            UNAUTHENTICATED,
        ),
        me(
            AT,
            "not valid before an hour from now (server key)",
            &hs(&header, &with(&claims, "nbf", json!(now + 3600))),
            UNAUTHENTICATED,
        ),
        me(
            AT,
            "issued an hour in the future (server key)",
            &hs(&header, &with(&claims, "iat", json!(now + 3600))),
            UNAUTHENTICATED,
        ),
        me(
            AT,
            "the launch audience (server key)",
            &hs(&header, &with(&claims, "aud", json!("hubkeep"))),
            UNAUTHENTICATED,
        ),
        me(
            AT,
            "no aud (server key)",
            &hs(&header, &with(&claims, "aud", Value::Null)),
            UNAUTHENTICATED,
        ),
        me(
            AT,
            "a foreign aud list (server key)",
            &hs(&header, &with(&claims, "aud", json!(["evil", "other"]))),
            UNAUTHENTICATED,
        ),
        me(
            AT,
            "wrong iss (server key)",
            &hs(
                &header,
                &with(&claims, "iss", json!("https://evil.example")),
            ),
            UNAUTHENTICATED,
        ),
        me(
            AT,
            "no iss (server key)",
            &hs(&header, &with(&claims, "iss", Value::Null)),
            UNAUTHENTICATED,
        ),
        me(
            AT,
            "typ refresh+jwt (server key)",
            &hs(
                &json!({"alg": "HS256", "typ": "refresh+jwt", "kid": kid}),
                &claims,
            ),
            UNAUTHENTICATED,
        ),
        me(
            AT,
            "no typ (server key)",
            &hs(&json!({"alg": "HS256", "kid": kid}), &claims),
            UNAUTHENTICATED,
        ),
        me(
            AT,
            "an unknown kid (server key)",
            &hs(
                &json!({"alg": "HS256", "typ": "JWT", "kid": "rotated-away"}),
                &claims,
            ),
            UNAUTHENTICATED,
        ),
        me(
            AT,
            "no kid (server key)",
            &hs(&json!({"alg": "HS256", "typ": "JWT"}), &claims),
            UNAUTHENTICATED,
        ),
        me(
            AT,
            "an empty kid (server key)",
            &hs(&json!({"alg": "HS256", "typ": "JWT", "kid": ""}), &claims),
            UNAUTHENTICATED,
        ),
        me(
            AT,
            "a path-traversal kid (server key)",
            &hs(
                &json!({"alg": "HS256", "typ": "JWT", "kid": "../signing-key.json"}),
                &claims,
            ),
            UNAUTHENTICATED,
        ),
        me(
            AT,
            "a kid that is a number (server key)",
            &hs(&json!({"alg": "HS256", "typ": "JWT", "kid": 1}), &claims),
            UNAUTHENTICATED,
        ),
        me(
            AT,
            "a launch assertion as an access token",
            &tenant.assertion(people::ADA_ADMIN),
            UNAUTHENTICATED,
        ),
        me(
            AT,
            "a refresh token as an access token",
            &ada.refresh_token,
            UNAUTHENTICATED,
        ),
        me(
            AT,
            "a signed-out session's access token",
            &gone.access_token,
            REAUTHORIZE,
        ),
        me(
            AT,
            "a deactivated user's access token",
            &tess.access_token,
            REAUTHORIZE,
        ),
        me(
            AT,
            "Ada's session with Bob as sub (server key)",
            &hs(&header, &with(&claims, "sub", json!(id(&bob)))),
            REAUTHORIZE,
        ),
        me(
            AT,
            "Ada's session in another tenant (server key)",
            &hs(&header, &with(&claims, "tid", json!(other_tenant.id))),
            REAUTHORIZE,
        ),
        me(
            AT,
            "a session that never existed (server key)",
            &hs(
                &header,
                &with(&claims, "sid", json!(uuid::Uuid::now_v7().to_string())),
            ),
            REAUTHORIZE,
        ),
    ];

    // ---- Launch assertions (POST /api/v1/auth/launch). ----
    let template = json!({
        "iss": tenant.psa_id, "aud": "hubkeep", "sub": people::ADA_ADMIN.to_string(),
        "iat": now, "exp": now + 60, "jti": "",
    });
    let launch_claims = |adjust: &dyn Fn(&mut Value)| adjusted(&template, adjust);
    let valid_launch = launch_claims(&|_: &mut Value| {});
    let launch_hs = |c: &Value| sign_hs256(c, &tenant.launch_secret);
    let hs_header = json!({"alg": "HS256", "typ": "JWT"});
    for (what, assertion) in [
        ("a replayed assertion (jti used)", used.clone()),
        (
            "a fresh assertion reusing a used jti",
            launch_hs(&launch_claims(&|c: &mut Value| c["jti"] = used_jti.clone())),
        ),
        (
            "exp − iat of 121 s",
            launch_hs(&launch_claims(&|c: &mut Value| c["exp"] = json!(now + 121))),
        ),
        (
            "exp − iat of a day",
            launch_hs(&launch_claims(&|c: &mut Value| {
                c["exp"] = json!(now + 86_400)
            })),
        ),
        (
            "expired",
            launch_hs(&launch_claims(&|c: &mut Value| {
                c["iat"] = json!(now - 300);
                c["exp"] = json!(now - 200);
            })),
        ),
        (
            "nbf an hour from now",
            launch_hs(&launch_claims(&|c: &mut Value| {
                c["nbf"] = json!(now + 3600)
            })),
        ),
        (
            "iat an hour from now",
            launch_hs(&launch_claims(&|c: &mut Value| {
                c["iat"] = json!(now + 3600);
                c["exp"] = json!(now + 3660);
            })),
        ),
        (
            "alg none",
            unsigned(&json!({"alg": "none", "typ": "JWT"}), &valid_launch),
        ),
        ("alg none keeping a real signature", {
            let real = launch_hs(&valid_launch);
            format!(
                "{}.{}",
                b64(&json!({"alg": "none"})),
                real.split_once('.').unwrap().1
            )
        }),
        (
            "RS256 header, HMAC with the launch secret",
            jws(
                &json!({"alg": "RS256", "typ": "JWT"}),
                &valid_launch,
                tenant.launch_secret.as_bytes(),
                Algorithm::HS256,
            ),
        ),
        (
            "ES256 header, junk signature",
            junk_signed(&json!({"alg": "ES256", "typ": "JWT"}), &valid_launch),
        ),
        (
            "HS512 with the launch secret",
            jws(
                &json!({"alg": "HS512", "typ": "JWT"}),
                &valid_launch,
                tenant.launch_secret.as_bytes(),
                Algorithm::HS512,
            ),
        ),
        (
            "signed with a wrong secret",
            sign_hs256(&valid_launch, "not-the-launch-secret-not-the-launch-secret"),
        ),
        (
            "signed with another tenant's secret",
            sign_hs256(&valid_launch, &other_tenant.launch_secret),
        ),
        (
            "another tenant's iss, this tenant's secret",
            launch_hs(&launch_claims(&|c: &mut Value| {
                c["iss"] = json!(other_tenant.psa_id)
            })),
        ),
        (
            "signed with the server's access-token key",
            jws(
                &hs_header,
                &valid_launch,
                secret.as_bytes(),
                Algorithm::HS256,
            ),
        ),
        ("tampered sub, signature kept", {
            let real = launch_hs(&valid_launch);
            let sig = real.rsplit('.').next().unwrap().to_owned();
            format!(
                "{}.{}.{sig}",
                b64(&hs_header),
                b64(&with(
                    &valid_launch,
                    "sub",
                    json!(people::BOB_FINANCE.to_string())
                ))
            )
        }),
        (
            "wrong aud",
            launch_hs(&launch_claims(&|c: &mut Value| {
                c["aud"] = json!("hubkeep-api")
            })),
        ),
        (
            "no aud",
            launch_hs(&launch_claims(&|c: &mut Value| {
                c.as_object_mut().unwrap().remove("aud");
            })),
        ),
        (
            "an unknown iss",
            launch_hs(&launch_claims(&|c: &mut Value| {
                c["iss"] = json!("not-a-tenant")
            })),
        ),
        (
            "an empty iss",
            launch_hs(&launch_claims(&|c: &mut Value| c["iss"] = json!(""))),
        ),
        (
            "an iss with a NUL",
            launch_hs(&launch_claims(&|c: &mut Value| {
                c["iss"] = json!(format!("{}\u{0}", tenant.psa_id))
            })),
        ),
        (
            "an iss that is a number",
            launch_hs(&launch_claims(&|c: &mut Value| c["iss"] = json!(42))),
        ),
        (
            "an iss of 10 000 characters",
            launch_hs(&launch_claims(&|c: &mut Value| {
                c["iss"] = json!("i".repeat(10_000))
            })),
        ),
        (
            "a jti with a NUL",
            launch_hs(&launch_claims(&|c: &mut Value| c["jti"] = json!("a\u{0}b"))),
        ),
        (
            "an empty jti",
            launch_hs(&launch_claims(&|c: &mut Value| c["jti"] = json!(""))),
        ),
        (
            "no jti",
            launch_hs(&launch_claims(&|c: &mut Value| {
                c.as_object_mut().unwrap().remove("jti");
            })),
        ),
        (
            "a jti of 201 characters",
            launch_hs(&launch_claims(&|c: &mut Value| {
                c["jti"] = json!("j".repeat(201))
            })),
        ),
        (
            "no exp",
            launch_hs(&launch_claims(&|c: &mut Value| {
                c.as_object_mut().unwrap().remove("exp");
            })),
        ),
        (
            "sub not a resource id",
            launch_hs(&launch_claims(&|c: &mut Value| c["sub"] = json!("ada"))),
        ),
        (
            "sub beyond i64",
            launch_hs(&launch_claims(&|c: &mut Value| {
                c["sub"] = json!("99999999999999999999")
            })),
        ),
        ("an access token as an assertion", ada.access_token.clone()),
        ("not a JWT", "hello".to_owned()),
        ("an empty assertion", String::new()),
    ] {
        attacks.push(launch(what, &assertion));
    }

    // ---- Refresh tokens (POST /api/v1/auth/refresh; reuse is its own phase below). ----
    for (what, token, expect) in [
        (
            "a made-up refresh token",
            "hkr_made-up".to_owned(),
            UNAUTHENTICATED,
        ),
        ("an empty refresh token", String::new(), UNAUTHENTICATED),
        (
            "a refresh token with a changed last character",
            flip(&ada.refresh_token),
            UNAUTHENTICATED,
        ),
        (
            "an access token as a refresh token",
            ada.access_token.clone(),
            UNAUTHENTICATED,
        ),
        (
            "an API token as a refresh token",
            read_write.clone(),
            UNAUTHENTICATED,
        ),
        (
            "a signed-out session's refresh token",
            gone.refresh_token.clone(),
            REAUTHORIZE,
        ),
        (
            "a deactivated user's refresh token",
            tess.refresh_token.clone(),
            REAUTHORIZE,
        ),
    ] {
        attacks.push(refresh(what, &token, expect));
    }

    // ---- API tokens. ----
    const API: &str = "API token";
    let writes: Vec<(Method, String, Option<Value>)> = vec![
        (
            Method::POST,
            "/api/v1/me/tokens".into(),
            Some(json!({"name": "child", "scope": "read"})),
        ),
        (Method::DELETE, format!("/api/v1/me/tokens/{read_id}"), None),
        (
            Method::POST,
            "/api/v1/connections".into(),
            Some(json!({"name": "x", "kind": "xero_power_bi"})),
        ),
        (
            Method::PATCH,
            format!("/api/v1/connections/{conn}"),
            Some(json!({"name": "renamed"})),
        ),
        (
            Method::POST,
            format!("/api/v1/connections/{conn}/views"),
            Some(json!({"name": "v", "definition": {}})),
        ),
        (
            Method::PUT,
            format!("/api/v1/connections/{conn}/views/{view}"),
            Some(json!({"name": "v", "definition": {}})),
        ),
        (
            Method::DELETE,
            format!("/api/v1/connections/{conn}/views/{view}"),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/connections/{conn}/runs"),
            Some(json!({})),
        ),
        (
            Method::POST,
            format!("/api/v1/connections/{conn}/cancel"),
            Some(json!({})),
        ),
        (
            Method::POST,
            format!("/api/v1/connections/{conn}/invitations"),
            Some(json!({"user_id": id(&bob), "role": "read_only"})),
        ),
        (
            Method::PUT,
            "/api/v1/settings".into(),
            Some(json!({"invitation_expiry_days": 3})),
        ),
        (Method::POST, "/api/v1/settings/launch-secret".into(), None),
        (
            Method::PUT,
            "/api/v1/access/elevated-levels".into(),
            Some(json!({"level_ids": []})),
        ),
        (
            Method::PATCH,
            format!("/api/v1/users/{}", id(&bob)),
            Some(json!({"active": false})),
        ),
        (Method::POST, "/api/v1/users/refresh".into(), None),
        (
            Method::POST,
            "/api/v1/engine-tokens".into(),
            Some(json!({"name": "e"})),
        ),
        (Method::POST, "/api/v1/auth/logout".into(), None),
    ];
    for (method, path, body) in &writes {
        attacks.push(call(
            API,
            "a read token writing",
            method.clone(),
            path,
            &read,
            body.clone(),
            SCOPE,
        ));
    }
    for (method, path, body) in writes.iter().take(4) {
        attacks.push(call(
            API,
            "a deactivated user's token (revoked with her access, SPEC S12)",
            method.clone(),
            path,
            &tess_token,
            body.clone(),
            UNAUTHENTICATED,
        ));
        attacks.push(call(
            API,
            "an engine token as a user",
            method.clone(),
            path,
            &engine,
            body.clone(),
            SCOPE,
        ));
        attacks.push(call(
            API,
            "a revoked token",
            method.clone(),
            path,
            &revoked,
            body.clone(),
            UNAUTHENTICATED,
        ));
        attacks.push(call(
            API,
            "an expired token",
            method.clone(),
            path,
            &expired,
            body.clone(),
            UNAUTHENTICATED,
        ));
    }
    for (what, token, expect) in [
        (
            "a deactivated user's token (revoked with her access, SPEC S12)",
            tess_token.clone(),
            UNAUTHENTICATED,
        ),
        ("a revoked token", revoked.clone(), UNAUTHENTICATED),
        ("an expired token", expired.clone(), UNAUTHENTICATED),
        ("an engine token as a user", engine.clone(), SCOPE),
        (
            "a revoked engine token as a user",
            revoked_engine.clone(),
            UNAUTHENTICATED,
        ),
        (
            "a token with a changed last character",
            flip(&read_write),
            UNAUTHENTICATED,
        ),
        (
            "a token in capitals",
            read_write.to_uppercase(),
            UNAUTHENTICATED,
        ),
        (
            "a token without its prefix",
            read_write.trim_start_matches("hk_").to_owned(),
            UNAUTHENTICATED,
        ),
        (
            "a token with a doubled prefix",
            format!("hk_{read_write}"),
            UNAUTHENTICATED,
        ),
        (
            "a token's shown prefix only",
            read_write[..10].to_owned(),
            UNAUTHENTICATED,
        ),
    ] {
        attacks.push(me(API, what, &token, expect));
    }

    // ---- The engine-only endpoint (PATCH a run's progress). ----
    const ENGINE: &str = "engine token";
    let progress = format!("/api/v1/connections/{conn}/runs/{}", uuid::Uuid::now_v7());
    let body = Some(json!({"status": "running"}));
    for (what, token, expect) in [
        ("a session access token", ada.access_token.clone(), SCOPE),
        ("a read_write personal token", read_write.clone(), SCOPE),
        (
            "a deactivated user's personal token (revoked with her access)",
            tess_token.clone(),
            UNAUTHENTICATED,
        ),
        (
            "a revoked engine token",
            revoked_engine.clone(),
            UNAUTHENTICATED,
        ),
        (
            "an engine token with a changed last character",
            flip(&engine),
            UNAUTHENTICATED,
        ),
        (
            "a forged alg-none access token",
            unsigned(&json!({"alg": "none", "typ": "JWT", "kid": kid}), &claims),
            UNAUTHENTICATED,
        ),
        (
            "a signed-out session's access token",
            gone.access_token.clone(),
            SCOPE,
        ),
        ("garbage", "garbage".to_owned(), UNAUTHENTICATED),
    ] {
        attacks.push(call(
            ENGINE,
            what,
            Method::PATCH,
            &progress,
            &token,
            body.clone(),
            expect,
        ));
    }
    attacks.push(Attack {
        family: ENGINE,
        what: "no credentials".into(),
        method: Method::PATCH,
        path: progress.clone(),
        auth: None,
        body: body.clone(),
        status: 401,
        code: "unauthenticated",
    });

    // ---- Garbage Authorization headers (GET /api/v1/me). ----
    const GARBAGE: &str = "garbage header";
    let random_hk = format!(
        "hk_{}",
        URL_SAFE_NO_PAD.encode((0..32).map(|_| rand::random::<u8>()).collect::<Vec<u8>>())
    );
    let raw_headers: Vec<(&str, Option<HeaderValue>)> = vec![
        ("no Authorization header", None),
        ("hk_ and 256 random bits", bearer(&random_hk)),
        ("hk_ alone", bearer("hk_")),
        (
            "Bearer and nothing",
            Some(HeaderValue::from_static("Bearer ")),
        ),
        (
            "Bearer without a space",
            Some(HeaderValue::from_static("Bearer")),
        ),
        ("an empty header", Some(HeaderValue::from_static(""))),
        (
            "Basic with the access token",
            Some(HeaderValue::from_str(&format!("Basic {}", ada.access_token)).unwrap()),
        ),
        (
            "Token with the access token",
            Some(HeaderValue::from_str(&format!("Token {}", ada.access_token)).unwrap()),
        ),
        (
            "the access token without a scheme",
            Some(HeaderValue::from_str(&ada.access_token).unwrap()),
        ),
        (
            "non-ASCII bytes",
            Some(HeaderValue::from_bytes("Bearer hk_ünïcødé".as_bytes()).unwrap()),
        ),
        (
            "an emoji token",
            Some(HeaderValue::from_bytes("Bearer 😀.😀.😀".as_bytes()).unwrap()),
        ),
        (
            "Latin-1 bytes",
            Some(HeaderValue::from_bytes(b"Bearer \xe9\xe8\xff").unwrap()),
        ),
        ("not.a.jwt", bearer("not.a.jwt")),
        ("three empty segments", bearer("..")),
        ("base64 junk segments", bearer("eyJ.eyJ.eyJ")),
        (
            "a JSON header that is a list",
            bearer(&format!("{}.{payload}.{signature}", b64(&json!(["HS256"])))),
        ),
        ("8 KiB of A", bearer(&"A".repeat(8 * 1024))),
        (
            "two bearer tokens",
            Some(
                HeaderValue::from_str(&format!("Bearer {} Bearer {}", revoked, ada.access_token))
                    .unwrap(),
            ),
        ),
        (
            "a comma-joined list",
            Some(
                HeaderValue::from_str(&format!("Bearer {revoked}, Bearer {}", ada.access_token))
                    .unwrap(),
            ),
        ),
    ];
    for (what, auth) in raw_headers {
        attacks.push(Attack {
            family: GARBAGE,
            what: what.into(),
            method: Method::GET,
            path: "/api/v1/me".into(),
            auth,
            body: None,
            status: 401,
            code: "unauthenticated",
        });
    }

    // ---- Run the pure refusals: each must change nothing. ----
    let mut failures = Vec::new();
    let mut before = snapshot(&app, None).await;
    let initial = before.clone();
    let anonymous = app.anonymous();
    for attack in &attacks {
        let res = anonymous
            .send::<Value>(attack.request(&anonymous))
            .await
            .into_inner();
        if let Some(why) = problem_mismatch(res, attack.status, attack.code).await {
            failures.push(format!("[{}] {}: {why}", attack.family, attack.what));
        }
        let after = snapshot(&app, None).await;
        if let Some(why) = snapshot_diff(&before, &after) {
            failures.push(format!("[{}] {}: {why}", attack.family, attack.what));
            before = after;
        }
    }
    if let Some(why) = snapshot_diff(&initial, &snapshot(&app, None).await) {
        failures.push(format!("after all refusals: {why}"));
    }
    // The legitimate credentials still work: the refusals did not lock anyone out.
    for token in [&ada.access_token, &read_write, &read] {
        if app.with_token(token).get_me().await.status() != 200 {
            failures.push("a legitimate credential stopped working".into());
        }
    }

    // ---- Refresh-token reuse: refused, and the whole session is revoked. ----
    let victim = app.sign_in(&tenant, people::ADA_ADMIN).await;
    let res = app.refresh(&victim.refresh_token).await;
    assert_eq!(res.status(), 200);
    let rotated = session_from(res.json().await);
    let revoked_sessions = "SELECT COUNT(*) FROM sessions WHERE revoked_at IS NOT NULL";
    let sessions_revoked_before = app.scalar(revoked_sessions).await;
    let revocations_before = app.activity_count(&tenant, "session.revoked").await;
    let reuse = [
        refresh(
            "reuse of a rotated refresh token",
            &victim.refresh_token,
            REAUTHORIZE,
        ),
        me(
            "refresh reuse",
            "the newer access token after the reuse",
            &rotated.access_token,
            REAUTHORIZE,
        ),
        refresh(
            "the newer refresh token after the reuse",
            &rotated.refresh_token,
            REAUTHORIZE,
        ),
        refresh(
            "the rotated refresh token once more",
            &victim.refresh_token,
            REAUTHORIZE,
        ),
    ];
    for attack in &reuse {
        let res = anonymous
            .send::<Value>(attack.request(&anonymous))
            .await
            .into_inner();
        if let Some(why) = problem_mismatch(res, attack.status, attack.code).await {
            failures.push(format!("[refresh reuse] {}: {why}", attack.what));
        }
    }
    if app.scalar(revoked_sessions).await != sessions_revoked_before + 1 {
        failures.push("refresh reuse: not exactly one more session revoked".into());
    }
    if app.activity_count(&tenant, "session.revoked").await != revocations_before + 1 {
        failures.push("refresh reuse: not exactly one session.revoked entry".into());
    }
    if as_ada.get_me().await.status() != 200 {
        failures.push("refresh reuse: Ada's other session was revoked too".into());
    }

    let count = |family: &str| attacks.iter().filter(|a| a.family == family).count();
    summary(
        "tokens",
        &backend_name,
        &format!(
            "{} attacks tried: {} access-token, {} launch-assertion, {} refresh-token, {} \
             API-token, {} engine-token, {} garbage-header, {} refresh-reuse; database \
             unchanged after each pure refusal",
            attacks.len() + reuse.len(),
            count(AT),
            count("launch assertion"),
            count("refresh token"),
            count(API),
            count(ENGINE),
            count(GARBAGE),
            reuse.len(),
        ),
        failures.len(),
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Launch claims with a fresh `jti`, then adjusted.
fn adjusted(template: &Value, adjust: &dyn Fn(&mut Value)) -> Value {
    let mut claims = template.clone();
    claims["jti"] = json!(uuid::Uuid::new_v4().to_string());
    adjust(&mut claims);
    claims
}

/// The same text with its last character changed.
fn flip(text: &str) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    if let Some(last) = chars.last_mut() {
        *last = if *last == 'A' { 'B' } else { 'A' };
    }
    chars.into_iter().collect()
}
