//! SPEC S11, Autotask as it really is: the zone's real shape, credentials bound to their
//! zone, no redirects, the directory file as the operator's, permanent versus transient
//! failures, the call budget and the connection test. The PSA here is mostly a stand-in
//! written from Autotask's documentation (`standin.rs`), so the provider is checked against
//! the documents and not only against our own simulator.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use hubkeep_psa_sim::Faults;
use hubkeep_shared::api::{PsaProvider, UpdatePsa, UpdateSettings};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{
    Backend, SIM_API_USER, SIM_INTEGRATION_CODE, SIM_SECRET, TestApp, fixture_directory, people::*,
    spawn_app_for_simulator, spawn_app_with, start_simulator,
};
use crate::on_each_backend;
use crate::standin::{Call, Reply, StandIn};

on_each_backend!(
    s11_a_zone_in_autotasks_real_shape_signs_a_resource_in,
    s11_changing_the_zone_without_the_credentials_is_refused_and_sends_nothing,
    s11_a_redirect_from_the_psa_is_not_followed,
    s11_the_directory_file_is_the_operators,
    s11_a_missing_bridge_is_named_and_not_retried,
    s11_permanent_refusals_are_misconfigured_and_outages_unavailable,
    s11_a_psa_that_times_out_is_unavailable_after_the_bounded_retries,
    s11_background_reads_stop_at_the_budget_while_sign_in_goes_on,
    s11_the_connection_test_passes_every_step_against_the_simulator,
    s12_reconciliation_reads_the_documented_autotask_in_lists_of_at_most_500_ids,
    s12_the_documented_autotask_offers_no_resource_webhooks_and_nothing_is_subscribed,
);

/// How the stand-in behaves.
const NORMAL: u8 = 0;
/// A plain Autotask: no `SecurityLevels` entity, no `securityLevelID` on resources.
const NO_BRIDGE: u8 = 1;
/// Every call answers Autotask's 500 naming the missing entity.
const ALL_500_NO_SECURITY_LEVELS: u8 = 2;

/// The REST root, in the letter case Autotask's zone discovery announces it.
const ROOT: &str = "/ATServicesRest/";

/// Autotask per its documentation: global zone discovery under `/atservicesrest/v1.0/`,
/// announcing `url` = `<zone>/ATServicesRest/`; entities only under `<url>v1.0/` (matched to
/// the letter here, so a client that builds the path wrongly fails); `ApiIntegrationCode`,
/// `UserName`, `Secret` headers; 401 for a bad user or secret, 500 naming the integration
/// code for a bad one. A query's `filter` is applied as the documents describe it (top-level
/// conditions all hold; `exist`, `eq` ignoring letter case, `in` over a list of values; an
/// unknown operator is a 500), at most `maxRecords` (≤ 500) items a page. The directory is
/// shared, so a test changes people the way an Autotask administrator would.
fn autotask(
    mode: Arc<AtomicU8>,
    directory: Arc<Mutex<hubkeep_shared::DirectoryFile>>,
) -> impl Fn(&Call, &str) -> Reply + Send + Sync + 'static {
    move |call, root| {
        let directory = directory
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let mode = mode.load(Ordering::SeqCst);
        if call.method == "GET" && call.path == "/atservicesrest/v1.0/zoneInformation" {
            return if call.query == format!("user={}", SIM_API_USER.replace('@', "%40")) {
                Reply::json(
                    200,
                    &json!({"zoneName": "Stand-in zone", "url": format!("{root}{ROOT}"),
                            "webUrl": format!("{root}/"), "ci": 29_683_000}),
                )
            } else {
                Reply::json(
                    500,
                    &json!({"errors": ["Zone information could not be determined"]}),
                )
            };
        }
        let Some(rest) = call.path.strip_prefix(&format!("{ROOT}v1.0/")) else {
            return Reply::not_found();
        };
        if call.header("UserName") != Some(SIM_API_USER)
            || call.header("Secret") != Some(SIM_SECRET)
        {
            return Reply::json(
                401,
                &json!({"errors": ["The user name or secret is not valid."]}),
            );
        }
        if call.header("ApiIntegrationCode") != Some(SIM_INTEGRATION_CODE) {
            return Reply::json(500, &json!({"errors": ["IntegrationCode is invalid."]}));
        }
        if mode == ALL_500_NO_SECURITY_LEVELS {
            return Reply::json(
                500,
                &json!({"errors": ["The requested resource SecurityLevels was not found."]}),
            );
        }
        let resource = |r: &hubkeep_shared::PsaResource| {
            let mut item = json!({"id": r.id, "firstName": r.first_name, "lastName": r.last_name,
                "email": r.email, "userName": r.user_name, "isActive": r.is_active,
                "licenseType": 1, "resourceType": "Employee", "userType": 1});
            if mode != NO_BRIDGE {
                item["securityLevelID"] = json!(r.security_level_id);
            }
            item
        };
        let page = |items: Vec<Value>| {
            json!({"items": items, "pageDetails": {"count": 0, "requestCount": 500,
                    "prevPageUrl": null, "nextPageUrl": null}})
        };
        match (call.method.as_str(), rest) {
            // Autotask's webhook pages list Companies, Contacts, Configuration Items, Tickets
            // and Ticket Notes: Resources offer no callouts (and `ResourceWebhooks` is an
            // entity this Autotask does not have: the 404 below).
            ("GET", "Resources/entityInformation") => Reply::json(
                200,
                &json!({"info": {"name": "Resource", "canQuery": true, "supportsWebhookCallouts": false}}),
            ),
            ("POST", "Resources/query") => {
                let body: Value = serde_json::from_str(&call.body).unwrap_or(Value::Null);
                let max = body["maxRecords"].as_u64().unwrap_or(500).min(500) as usize;
                let mut items = Vec::new();
                for item in directory.resources.iter().map(resource) {
                    match matches_filter(&item, &body["filter"]) {
                        Ok(true) => items.push(item),
                        Ok(false) => {}
                        Err(error) => return Reply::json(500, &json!({ "errors": [error] })),
                    }
                }
                Reply::json(200, &page(items.into_iter().take(max).collect()))
            }
            ("POST", "SecurityLevels/query") if mode != NO_BRIDGE => {
                let items = directory
                    .security_levels
                    .iter()
                    .map(|l| {
                        json!({"id": l.id, "name": l.name, "isActive": l.is_active,
                               "hubMenu": l.hub_menu, "qboExtensionAdmin": l.qbo_extension_admin,
                               "otherExtensionsAdmin": l.other_extensions_admin,
                               "resourceImpersonation": l.resource_impersonation})
                    })
                    .collect();
                Reply::json(200, &page(items))
            }
            ("GET", path) if path.starts_with("Resources/") => {
                let id: i64 = path["Resources/".len()..].parse().unwrap_or(-1);
                let item = directory
                    .resources
                    .iter()
                    .find(|r| r.id == id)
                    .map(resource);
                Reply::json(200, &json!({ "item": item }))
            }
            _ => Reply::json(404, &json!({"errors": [format!("{rest} does not exist.")]})),
        }
    }
}

/// Whether an item passes a query's top-level `filter` conditions (all must hold), for the
/// operators the documents list that the hub uses; another operator is an error.
fn matches_filter(item: &Value, filter: &Value) -> Result<bool, String> {
    let conditions = filter.as_array().ok_or("The filter is not an array.")?;
    let field = |c: &Value| {
        let name = c["field"].as_str().unwrap_or_default().to_ascii_lowercase();
        item.as_object()
            .and_then(|o| o.iter().find(|(k, _)| k.to_ascii_lowercase() == name))
            .map(|(_, v)| v.clone())
            .unwrap_or(Value::Null)
    };
    let same = |a: &Value, b: &Value| match (a.as_str(), b.as_str()) {
        (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
        _ => a == b,
    };
    for c in conditions {
        let actual = field(c);
        let holds = match c["op"]
            .as_str()
            .unwrap_or_default()
            .to_ascii_lowercase()
            .as_str()
        {
            "exist" => !actual.is_null(),
            "eq" => same(&actual, &c["value"]),
            "in" => c["value"]
                .as_array()
                .ok_or("The 'in' operator needs a list of values.")?
                .iter()
                .any(|v| same(&actual, v)),
            other => return Err(format!("Unsupported filter operator '{other}'.")),
        };
        if !holds {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The fixture directory, shared with a stand-in.
fn fixture() -> Arc<Mutex<hubkeep_shared::DirectoryFile>> {
    Arc::new(Mutex::new(fixture_directory()))
}

/// A stand-in in `mode`, and an app allowed to send credentials to it (and nowhere else),
/// discovering zones through it.
async fn stand_in(backend: Backend, mode: u8) -> (TestApp, StandIn, Arc<AtomicU8>) {
    let (app, psa, switch, _) = stand_in_with(backend, mode, fixture_directory(), |_| {}).await;
    (app, psa, switch)
}

/// [`stand_in`] serving `directory`, which the test may change through the returned handle.
async fn stand_in_with(
    backend: Backend,
    mode: u8,
    directory: hubkeep_shared::DirectoryFile,
    adjust: impl FnOnce(&mut hubkeep_api::config::Settings),
) -> (
    TestApp,
    StandIn,
    Arc<AtomicU8>,
    Arc<Mutex<hubkeep_shared::DirectoryFile>>,
) {
    let switch = Arc::new(AtomicU8::new(mode));
    let directory = Arc::new(Mutex::new(directory));
    let psa = StandIn::start(autotask(Arc::clone(&switch), Arc::clone(&directory)));
    let (host, discovery) = (
        psa.host(),
        format!("{}/atservicesrest/v1.0/zoneInformation", psa.root()),
    );
    let app = spawn_app_with(backend, |s| {
        s.psa.extra_zone_hosts = vec![host];
        s.psa.autotask_discovery_url = discovery;
        s.psa.timeout_ms = 500;
        adjust(s);
    })
    .await;
    (app, psa, switch, directory)
}

async fn s11_a_zone_in_autotasks_real_shape_signs_a_resource_in(backend: Backend) {
    let (app, psa, _) = stand_in(backend, NORMAL).await;

    // Only the API user: the zone is discovered, `{"url": ".../ATServicesRest/"}`.
    let discovered = app.autotask_tenant(None).await;
    let ada = app.sign_in(&discovered, ADA_ADMIN).await;
    assert_eq!(ada.user["access_level"], "elevated");
    assert_eq!(psa.count_path("/zoneInformation"), 1);

    // The operator passes the URL as discovery announces it: no discovery at all.
    let given = app
        .autotask_tenant(Some(format!("{}{ROOT}", psa.root())))
        .await;
    let primary = app.sign_in(&given, ADA_ADMIN).await;
    assert_eq!(primary.user["is_primary"], true);
    let tess = app.sign_in(&given, TESS_TECH).await;
    assert_eq!(tess.user["access_level"], "limited");
    assert_eq!(
        psa.count_path("/zoneInformation"),
        1,
        "the given zone is used as is"
    );

    // Every entity call went under the announced root, with the credentials.
    for call in psa
        .calls()
        .iter()
        .filter(|c| !c.path.ends_with("zoneInformation"))
    {
        assert!(
            call.path.starts_with("/ATServicesRest/v1.0/"),
            "{}",
            call.path
        );
        assert_eq!(call.header("Secret"), Some(SIM_SECRET));
    }
    // Discovery is unauthenticated: the secret never went there.
    for call in psa
        .calls()
        .iter()
        .filter(|c| c.path.ends_with("zoneInformation"))
    {
        assert_eq!(call.header("Secret"), None);
    }
}

async fn psa_row(app: &TestApp, tenant_id: &str) -> Vec<Value> {
    crate::hardening::common::rows(
        app,
        format!(
            "SELECT provider, directory_path, autotask_zone_url, autotask_api_user, \
             autotask_integration_code, autotask_secret, CAST(updated_at AS TEXT) AS updated_at \
             FROM psa_settings WHERE tenant_id = '{tenant_id}'"
        ),
    )
    .await
}

/// A settings change of the PSA part only.
fn psa_change(psa: UpdatePsa) -> UpdateSettings {
    UpdateSettings {
        psa: Some(psa),
        ..Default::default()
    }
}

/// A value set (not cleared) in a settings change.
fn some(value: &str) -> Option<Option<String>> {
    Some(Some(value.to_owned()))
}

async fn s11_changing_the_zone_without_the_credentials_is_refused_and_sends_nothing(
    backend: Backend,
) {
    let (app, psa, _) = stand_in(backend, NORMAL).await;
    let attacker = StandIn::start(|_, _| Reply::json(200, &json!({"items": []})));
    let tenant = app
        .autotask_tenant(Some(format!("{}{ROOT}", psa.root())))
        .await;
    let ada = app.sign_in(&tenant, ADA_ADMIN).await;
    let row = psa_row(&app, &tenant.id).await;
    let entries = app.activity_count(&tenant, "settings.updated").await;

    // The reproduction: only the zone, pointing at another host.
    let as_ada = app.as_(&ada);
    for body in [
        UpdatePsa {
            zone_url: some(&attacker.root()),
            ..Default::default()
        },
        UpdatePsa {
            zone_url: some(&format!("{}{ROOT}", attacker.root())),
            secret: some("s"),
            ..Default::default()
        },
        UpdatePsa {
            api_user: some("someone@attacker.example"),
            ..Default::default()
        },
        UpdatePsa {
            api_user: some(&format!("{SIM_API_USER}/")),
            ..Default::default()
        },
        UpdatePsa {
            provider: Some(PsaProvider::Directory),
            ..Default::default()
        },
    ] {
        let problem = as_ada
            .update_settings(&psa_change(body.clone()))
            .await
            .problem(422, "credentials_required")
            .await;
        assert!(
            problem["errors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["field"] == "psa.integration_code"),
            "{problem}"
        );
        assert_eq!(
            psa_row(&app, &tenant.id).await,
            row,
            "{body:?}: settings unchanged"
        );
    }
    // With the credentials, a host outside the allowed ones is still refused.
    for zone in [
        attacker.root(),
        "https://attacker.example/ATServicesRest/".to_owned(),
    ] {
        let problem = as_ada
            .update_settings(&psa_change(UpdatePsa {
                zone_url: some(&zone),
                integration_code: some("c"),
                secret: some("s"),
                ..Default::default()
            }))
            .await
            .problem(422, "validation_failed")
            .await;
        assert_eq!(problem["errors"][0]["field"], "psa.zone_url", "{problem}");
    }
    assert_eq!(psa_row(&app, &tenant.id).await, row);
    assert_eq!(
        app.activity_count(&tenant, "settings.updated").await,
        entries
    );

    // The same zone spelled another way is no change of destination.
    let res = as_ada
        .update_settings(&psa_change(UpdatePsa {
            zone_url: some(&format!("{}/ATServicesRest", psa.root())),
            ..Default::default()
        }))
        .await;
    assert_eq!(
        res.status(),
        200,
        "no credentials needed for the same destination"
    );
    let now = psa_row(&app, &tenant.id).await;
    assert_eq!(
        now[0]["autotask_zone_url"],
        format!("{}/ATServicesRest", psa.root())
    );
    assert_eq!(now[0]["autotask_secret"], row[0]["autotask_secret"]);

    // The next PSA reads (not from a cache) go where they went before, and the other host
    // heard nothing.
    let before = psa.count();
    as_ada.refresh_users().await.expect(200).await;
    assert!(psa.count() > before, "the refresh read the PSA");
    assert_eq!(attacker.count(), 0, "no request reached the other host");

    // Sent again with the change, the credentials may follow an Autotask zone.
    as_ada
        .update_settings(&psa_change(UpdatePsa {
            zone_url: some("https://webservices14.autotask.net/ATServicesRest/"),
            integration_code: some(SIM_INTEGRATION_CODE),
            secret: some(SIM_SECRET),
            ..Default::default()
        }))
        .await
        .expect(200)
        .await;
    assert_eq!(attacker.count(), 0);
}

async fn s11_a_redirect_from_the_psa_is_not_followed(backend: Backend) {
    let elsewhere = StandIn::start(|_, _| Reply::json(200, &json!({"item": null})));
    let target = format!("{}/ATServicesRest/v1.0/Resources/200", elsewhere.root());
    let normal = Arc::new(AtomicU8::new(NORMAL));
    let answer = autotask(Arc::clone(&normal), fixture());
    let psa = StandIn::start(move |call, root| {
        if call.path.ends_with("/Resources/200") {
            let mut reply = Reply::json(302, &json!({}));
            reply.headers.push(("location".into(), target.clone()));
            reply
        } else {
            answer(call, root)
        }
    });
    let hosts = vec![psa.host(), elsewhere.host()];
    let app = spawn_app_with(backend, |s| s.psa.extra_zone_hosts = hosts).await;
    let tenant = app
        .autotask_tenant(Some(format!("{}{ROOT}", psa.root())))
        .await;
    app.sign_in(&tenant, ADA_ADMIN).await;
    let before = app.row_counts().await;
    app.launch(&tenant.assertion(TESS_TECH))
        .await
        .problem(503, "psa_unavailable")
        .await;
    assert_eq!(elsewhere.count(), 0, "the redirect was not followed");
    assert_eq!(app.row_counts().await, before);
}

async fn s11_the_directory_file_is_the_operators(backend: Backend) {
    let app = spawn_app_with(backend, |_| {}).await;
    let tenant = app.tenant().await;
    let ada = app.sign_in(&tenant, ADA_ADMIN).await;
    // Resource 900 exists only in the new file.
    let mut directory = fixture_directory();
    directory.resources.push(hubkeep_shared::PsaResource {
        id: 900,
        first_name: "Nora".into(),
        last_name: "New".into(),
        email: "nora.new@example.test".into(),
        user_name: "nnew".into(),
        is_active: true,
        security_level_id: crate::helpers::levels::TECHNICIAN,
    });
    let path = app.data_dir().join("second-directory.toml");
    std::fs::write(&path, toml::to_string(&directory).unwrap()).unwrap();
    let row = psa_row(&app, &tenant.id).await;

    // Not through the API, whoever asks (`directory_path` is no field of the body).
    let problem = app
        .as_(&ada)
        .raw(
            Method::PUT,
            "/api/v1/settings",
            Some(&json!({ "psa": { "directory_path": path.display().to_string() } })),
        )
        .await
        .problem(422, "validation_failed")
        .await;
    assert_eq!(problem["errors"][0]["field"], "psa.directory_path");
    assert_eq!(psa_row(&app, &tenant.id).await, row);
    assert_eq!(app.launch(&tenant.assertion(900)).await.status(), 403);

    // The operator's command (`hubkeep tenant set-directory`) does it, and it is logged.
    let entries = app.activity_count(&tenant, "settings.updated").await;
    hubkeep_api::tenant::provision::set_directory(&app.db, &tenant.id, &path.display().to_string())
        .await
        .unwrap()
        .expect("the tenant exists");
    assert_eq!(
        app.activity_count(&tenant, "settings.updated").await,
        entries + 1
    );
    let entry = crate::hardening::common::rows(
        &app,
        format!(
            "SELECT details, actor_kind FROM activity_log WHERE tenant_id = '{}' AND \
             action = 'settings.updated' ORDER BY at DESC, id DESC LIMIT 1",
            tenant.id
        ),
    )
    .await;
    assert_eq!(entry[0]["actor_kind"], "system");
    let details: Value = serde_json::from_str(entry[0]["details"].as_str().unwrap()).unwrap();
    assert_eq!(
        details["psa.directory_path"]["after"],
        path.display().to_string()
    );
    assert_eq!(
        app.launch(&tenant.assertion(900)).await.status(),
        200,
        "at once"
    );
    let missing =
        hubkeep_api::tenant::provision::set_directory(&app.db, "no-such-tenant", "/x.toml")
            .await
            .unwrap();
    assert!(missing.is_none());
}

async fn s11_a_missing_bridge_is_named_and_not_retried(backend: Backend) {
    let (app, psa, mode) = stand_in(backend, NORMAL).await;
    let tenant = app
        .autotask_tenant(Some(format!("{}{ROOT}", psa.root())))
        .await;
    let ada = app.sign_in(&tenant, ADA_ADMIN).await;

    // A plain Autotask: the test says which step fails, and why.
    mode.store(NO_BRIDGE, Ordering::SeqCst);
    let as_ada = app.as_(&ada);
    let report = as_ada.test_psa_connection().await.expect_json(200).await;
    assert_eq!(report["ok"], false);
    let steps = report["steps"].as_array().unwrap();
    let names: Vec<&str> = steps.iter().map(|s| s["step"].as_str().unwrap()).collect();
    assert_eq!(names, ["zone_discovery", "credentials", "resources"]);
    assert_eq!(steps[0]["ok"], true);
    assert_eq!(steps[1]["ok"], true);
    assert_eq!(steps[2]["ok"], false);
    assert_eq!(steps[2]["reason"], "security_levels_bridge_missing");
    assert!(steps[2]["detail"].as_str().unwrap().contains("bridge"));

    // Autotask's 500 naming the entity: one call, then 502 with the reason; nothing changed.
    mode.store(ALL_500_NO_SECURITY_LEVELS, Ordering::SeqCst);
    let before = (app.row_counts().await, psa.count());
    let problem = app
        .launch(&tenant.assertion(TESS_TECH))
        .await
        .problem(502, "psa_misconfigured")
        .await;
    assert_eq!(problem["reason"], "security_levels_bridge_missing");
    assert_eq!(psa.count(), before.1 + 1, "exactly one call, no retries");
    assert_eq!(app.row_counts().await, before.0);
    let problem = app
        .refresh(&ada.refresh_token)
        .await
        .problem(502, "psa_misconfigured")
        .await;
    assert_eq!(problem["reason"], "security_levels_bridge_missing");

    let report = as_ada.test_psa_connection().await.json().await;
    let last = report["steps"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["ok"], false);
    assert_eq!(last["reason"], "security_levels_bridge_missing");
}

async fn s11_permanent_refusals_are_misconfigured_and_outages_unavailable(backend: Backend) {
    let sim = start_simulator();
    let app = spawn_app_for_simulator(backend, &sim, |_| {}).await;
    let tenant = app.autotask_tenant(None).await;
    let ada = app.sign_in(&tenant, ADA_ADMIN).await;
    let as_ada = app.as_(&ada);
    let set_credentials = async |code: &str, user: &str| {
        let body = psa_change(UpdatePsa {
            integration_code: some(code),
            api_user: some(user),
            secret: some(SIM_SECRET),
            ..Default::default()
        });
        as_ada.update_settings(&body).await.expect(200).await;
    };

    // A bad integration code: Autotask's 500 naming it.
    set_credentials("NOT-THE-CODE", SIM_API_USER).await;
    sim.reset_stats();
    let problem = app
        .launch(&tenant.assertion(TESS_TECH))
        .await
        .problem(502, "psa_misconfigured")
        .await;
    assert_eq!(problem["reason"], "bad_integration_code");
    assert!(!problem.to_string().contains("NOT-THE-CODE"));
    // An unknown zone user.
    set_credentials(SIM_INTEGRATION_CODE, "nobody@example.test").await;
    sim.reset_stats();
    let problem = app
        .launch(&tenant.assertion(TESS_TECH))
        .await
        .problem(502, "psa_misconfigured")
        .await;
    assert_eq!(problem["reason"], "zone_not_found");
    assert_eq!(
        sim.stats().by_route.get("GET zoneInformation"),
        Some(&1),
        "not retried"
    );

    // 503s and the thread limit pass: retried, then 503 `psa_unavailable`.
    set_credentials(SIM_INTEGRATION_CODE, SIM_API_USER).await;
    for faults in [
        Faults {
            rate_limit: 100,
            ..Faults::default()
        },
        Faults {
            thread_limit: 100,
            ..Faults::default()
        },
    ] {
        sim.set_faults(faults);
        sim.reset_stats();
        let problem = app
            .launch(&tenant.assertion(TESS_TECH))
            .await
            .problem(503, "psa_unavailable")
            .await;
        assert!(problem.get("reason").is_none());
        // Discovery is exempt from the limits; the entity call was tried max_attempts times.
        assert_eq!(sim.stats().by_status.get(&429), Some(&3));
    }
}

async fn s11_a_psa_that_times_out_is_unavailable_after_the_bounded_retries(backend: Backend) {
    let normal = Arc::new(AtomicU8::new(NORMAL));
    let answer = autotask(normal, fixture());
    let psa = StandIn::start(move |call, root| {
        let mut reply = answer(call, root);
        if call.path.contains("/Resources/") {
            reply.delay = Duration::from_millis(1_500);
        }
        reply
    });
    let host = psa.host();
    let app = spawn_app_with(backend, |s| {
        s.psa.extra_zone_hosts = vec![host];
        s.psa.timeout_ms = 200;
    })
    .await;
    let tenant = app
        .autotask_tenant(Some(format!("{}{ROOT}", psa.root())))
        .await;
    let before = app.row_counts().await;
    app.launch(&tenant.assertion(ADA_ADMIN))
        .await
        .problem(503, "psa_unavailable")
        .await;
    // The test settings allow 3 attempts.
    assert_eq!(psa.count_path("/Resources/100"), 3, "bounded retries");
    assert_eq!(app.row_counts().await, before);
}

async fn s11_background_reads_stop_at_the_budget_while_sign_in_goes_on(backend: Backend) {
    let sim = start_simulator();
    let app = spawn_app_for_simulator(backend, &sim, |s| s.psa.hourly_budget = 10).await;
    let tenant = app.autotask_tenant(Some(sim.zone_url())).await;
    // Sign-in: the resource and two pages of levels.
    let ada = app.sign_in(&tenant, ADA_ADMIN).await;
    assert_eq!(sim.request_count(), 3);
    // Refreshing users is background work: three pages of resources, two of levels.
    let as_ada = app.as_(&ada);
    as_ada.refresh_users().await.expect(200).await;
    assert_eq!(sim.request_count(), 8);
    // The next one runs out after two more calls; then nothing more goes out.
    for _ in 0..3 {
        let res = as_ada.refresh_users().await;
        let retry_after: u64 = res.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=3600).contains(&retry_after));
        res.problem(503, "psa_budget_exhausted").await;
        assert_eq!(
            sim.request_count(),
            10,
            "background reads stop at the budget"
        );
    }

    // A person signing in still gets through.
    let tess = app.sign_in(&tenant, TESS_TECH).await;
    assert_eq!(tess.user["access_level"], "limited");
    assert_eq!(sim.request_count(), 13);
    assert!(app.refresh(&ada.refresh_token).await.status().is_success());
    assert_eq!(sim.request_count(), 16);

    // The count is shared through the database, and shown in the metrics.
    let used = app
        .scalar(&format!(
            "SELECT calls FROM psa_call_budget WHERE tenant_id = '{}'",
            tenant.id
        ))
        .await;
    assert_eq!(used, 16);
    let metrics = app.metrics().await.text().await.unwrap();
    assert!(
        metrics.contains(&format!(
            "hubkeep_psa_budget_used{{tenant=\"{}\"}} 16",
            tenant.id
        )),
        "{metrics}"
    );
    assert!(metrics.contains("hubkeep_psa_hourly_budget 10"));
    assert!(metrics.contains(&format!(
        "hubkeep_psa_calls_refused_total{{tenant=\"{}\"}} 3",
        tenant.id
    )));
}

async fn s11_the_connection_test_passes_every_step_against_the_simulator(backend: Backend) {
    let sim = start_simulator();
    let app = spawn_app_for_simulator(backend, &sim, |_| {}).await;
    let tenant = app.autotask_tenant(None).await;
    let ada = app.sign_in(&tenant, ADA_ADMIN).await;
    let tess = app.sign_in(&tenant, TESS_TECH).await;
    let report = app
        .as_(&ada)
        .test_psa_connection()
        .await
        .expect_json(200)
        .await;
    assert_eq!(report["ok"], true, "{report}");
    let names: Vec<&str> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "zone_discovery",
            "credentials",
            "resources",
            "security_levels"
        ]
    );
    assert!(!report.to_string().contains(SIM_SECRET));
    let rows = app.row_counts().await;
    // Limited users may not run it.
    app.as_(&tess)
        .test_psa_connection()
        .await
        .problem(403, "elevated_access_required")
        .await;
    assert_eq!(app.row_counts().await, rows, "a test changes nothing");
    sim.stop().await;
}

/// SPEC S12 against Autotask as documented (not our simulator): the reconciliation asks for
/// its users with `in` lists of at most 500 ids, re-reads on its own a resource the answer
/// left out (`GET Resources/{id}` answering `{"item": null}`: gone), and offboards whoever
/// Autotask deactivated or no longer knows.
async fn s12_reconciliation_reads_the_documented_autotask_in_lists_of_at_most_500_ids(
    backend: Backend,
) {
    const SEEDED: i64 = 600;
    let directory = crate::helpers::fixture_with_seeded(usize::try_from(SEEDED).unwrap());
    let (app, psa, _, directory) = stand_in_with(backend, NORMAL, directory, |_| {}).await;
    let tenant = app
        .autotask_tenant(Some(format!("{}{ROOT}", psa.root())))
        .await;
    let ada = app.sign_in(&tenant, ADA_ADMIN).await;
    let tess = app.sign_in(&tenant, TESS_TECH).await;
    let token = app.create_token(&tess.access_token, "read").await;
    app.seed_users(&tenant.id, usize::try_from(SEEDED).unwrap())
        .await;
    // In Autotask: Tess is deactivated, the first seeded resource is deleted.
    {
        let mut d = directory.lock().unwrap();
        d.resources
            .iter_mut()
            .find(|r| r.id == TESS_TECH)
            .unwrap()
            .is_active = false;
        d.resources.retain(|r| r.id != 1_000_000);
    }
    let before = psa.count();

    let res = app
        .client
        .post(app.url("/api/v1/psa/reconcile"))
        .bearer_auth(&ada.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let summary: Value = res.json().await.unwrap();
    assert_eq!(summary["users_checked"], SEEDED + 2, "{summary}");
    let all = psa.calls();
    let calls = &all[before..];
    let queries: Vec<Value> = calls
        .iter()
        .filter(|c| c.method == "POST" && c.path.ends_with("/Resources/query"))
        .map(|c| serde_json::from_str(&c.body).unwrap())
        .collect();
    assert_eq!(queries.len(), 2, "602 ids in two queries");
    let mut asked = std::collections::BTreeSet::new();
    for q in &queries {
        let filter = q["filter"].as_array().unwrap();
        assert_eq!(filter.len(), 1, "{q}");
        assert_eq!(filter[0]["op"], "in", "{q}");
        assert_eq!(filter[0]["field"], "id", "{q}");
        let ids = filter[0]["value"].as_array().unwrap();
        assert!(ids.len() <= 500, "{} ids in one list", ids.len());
        asked.extend(ids.iter().map(|v| v.as_i64().unwrap()));
    }
    assert_eq!(asked.len(), 602, "every hub user asked for once");
    let alone: Vec<&str> = calls
        .iter()
        .filter(|c| c.method == "GET" && c.path.contains("/Resources/"))
        .map(|c| c.path.as_str())
        .collect();
    assert_eq!(
        alone,
        [format!("{ROOT}v1.0/Resources/1000000")],
        "only the missing one"
    );

    app.with_token(&token)
        .get_me()
        .await
        .problem(401, "unauthenticated")
        .await;
    assert_eq!(
        app.scalar(
            "SELECT COUNT(*) FROM users WHERE psa_resource_id = 1000000 AND access_rank = 0"
        )
        .await,
        1,
        "a resource Autotask no longer knows has no access"
    );
}

/// SPEC S12 against Autotask as documented: `Resources/entityInformation` reports no webhook
/// callouts, so subscribing is refused after that one question, nothing is created at
/// Autotask or here, and reconciliation stays the offboarding path.
async fn s12_the_documented_autotask_offers_no_resource_webhooks_and_nothing_is_subscribed(
    backend: Backend,
) {
    let (app, psa, _, _) = stand_in_with(backend, NORMAL, fixture_directory(), |s| {
        s.http.public_url = Some("https://hub.example.test".into());
    })
    .await;
    let tenant = app
        .autotask_tenant(Some(format!("{}{ROOT}", psa.root())))
        .await;
    let ada = app.sign_in(&tenant, ADA_ADMIN).await;
    let before = (psa.count(), app.row_counts().await);
    let res = app
        .client
        .post(app.url("/api/v1/psa/webhook"))
        .bearer_auth(&ada.access_token)
        .send()
        .await
        .unwrap();
    crate::helpers::assert_problem(res, 409, "webhooks_unsupported").await;
    let calls = psa.calls();
    let asked: Vec<(&str, &str)> = calls[before.0..]
        .iter()
        .map(|c| (c.method.as_str(), c.path.as_str()))
        .collect();
    assert_eq!(
        asked,
        [(
            "GET",
            format!("{ROOT}v1.0/Resources/entityInformation").as_str()
        )],
        "one question, no ResourceWebhooks call"
    );
    assert_eq!(app.row_counts().await, before.1);
    assert_eq!(app.count("psa_webhooks").await, 0);
    let status: Value = app
        .client
        .get(app.url("/api/v1/psa/status"))
        .bearer_auth(&ada.access_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["webhook"]["state"], "not_subscribed", "{status}");
}
