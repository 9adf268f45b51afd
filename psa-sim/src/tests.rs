//! The simulator over real HTTP, as the `autotask` provider sees it.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::*;

fn start(edit: impl FnOnce(&mut SimConfig)) -> SimHandle {
    let mut config = SimConfig::demo().expect("demo config");
    edit(&mut config);
    Simulator::start(config).expect("simulator starts")
}

fn authed(client: &reqwest::Client, method: reqwest::Method, url: &str) -> reqwest::RequestBuilder {
    client
        .request(method, url)
        .header("ApiIntegrationCode", DEMO_INTEGRATION_CODE)
        .header("UserName", DEMO_API_USER)
        .header("Secret", DEMO_SECRET)
}

async fn post_query(sim: &SimHandle, entity: &str, body: Value) -> (StatusCode, Value) {
    let client = reqwest::Client::new();
    let url = format!("{}{entity}/query", sim.api_url());
    let response = authed(&client, reqwest::Method::POST, &url)
        .json(&body)
        .send()
        .await
        .expect("request");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn get(sim: &SimHandle, path: &str) -> (StatusCode, Value) {
    let client = reqwest::Client::new();
    let response = authed(
        &client,
        reqwest::Method::GET,
        &format!("{}{path}", sim.api_url()),
    )
    .send()
    .await
    .expect("request");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn email_filter(email: &str) -> Value {
    json!({"filter":[{"op":"eq","field":"email","value":email}],"maxRecords":500})
}

#[test]
fn the_demo_directory_is_valid() {
    let directory = demo_directory().expect("valid");
    assert!(directory.resources.len() >= 40);
    assert!(directory.security_levels.len() >= 8);
}

#[tokio::test]
async fn zone_discovery_announces_the_simulator_itself() {
    let sim = start(|_| {});
    let client = reqwest::Client::new();
    let zone: Value = client
        .get(sim.discovery_url())
        .query(&[("user", DEMO_API_USER.to_uppercase())])
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    // SPEC S11: the zone's REST root, `ATServicesRest/` included, as Autotask answers.
    assert_eq!(zone["url"], json!(sim.zone_url()));
    assert!(
        zone["url"]
            .as_str()
            .is_some_and(|u| u.ends_with("/ATServicesRest/"))
    );
    assert!(zone["zoneName"].is_string() && zone["webUrl"].is_string() && zone["ci"].is_number());

    let unknown = client
        .get(sim.discovery_url())
        .query(&[("user", "nobody@example.com")])
        .send()
        .await
        .expect("request");
    assert_eq!(unknown.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body: Value = unknown.json().await.expect("json");
    assert!(
        body["errors"][0]
            .as_str()
            .is_some_and(|e| e.contains("Zone"))
    );
    sim.stop().await;
}

#[tokio::test]
async fn credentials_are_checked_like_autotask() {
    let sim = start(|_| {});
    let client = reqwest::Client::new();
    let url = format!("{}Resources/29682885", sim.api_url());
    let status = |r: reqwest::Response| r.status();

    let ok = client
        .get(&url)
        .header("apiintegrationcode", DEMO_INTEGRATION_CODE)
        .header("USERNAME", DEMO_API_USER.to_uppercase())
        .header("secret", DEMO_SECRET)
        .send()
        .await
        .expect("request");
    assert_eq!(
        status(ok),
        StatusCode::OK,
        "header names and user name ignore case"
    );

    let bad_secret = client
        .get(&url)
        .header("ApiIntegrationCode", DEMO_INTEGRATION_CODE)
        .header("UserName", DEMO_API_USER)
        .header("Secret", "wrong")
        .send()
        .await
        .expect("request");
    assert_eq!(bad_secret.status(), StatusCode::UNAUTHORIZED);
    let body: Value = bad_secret.json().await.expect("json");
    assert!(body["errors"].is_array());

    let missing = client.get(&url).send().await.expect("request");
    assert_eq!(status(missing), StatusCode::UNAUTHORIZED);

    let bad_code = client
        .get(&url)
        .header("ApiIntegrationCode", "WRONG")
        .header("UserName", DEMO_API_USER)
        .header("Secret", DEMO_SECRET)
        .send()
        .await
        .expect("request");
    assert_eq!(bad_code.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body: Value = bad_code.json().await.expect("json");
    assert_eq!(body, json!({"errors": ["IntegrationCode is invalid."]}));
    sim.stop().await;
}

#[tokio::test]
async fn query_by_email_ignores_case_and_returns_camel_case() {
    let sim = start(|_| {});
    let (status, body) = post_query(
        &sim,
        "Resources",
        email_filter("MARGARET.CHEN@northwindit.example"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let items = body["items"].as_array().expect("items");
    assert_eq!(items.len(), 1);
    let item = &items[0];
    assert_eq!(item["id"], json!(29682885));
    assert_eq!(item["firstName"], json!("Margaret"));
    assert_eq!(item["lastName"], json!("Chen"));
    assert_eq!(item["userName"], json!("mchen"));
    assert_eq!(item["isActive"], json!(true));
    assert_eq!(item["securityLevelID"], json!(1));
    assert_eq!(body["pageDetails"]["count"], json!(1));
    assert_eq!(body["pageDetails"]["requestCount"], json!(500));
    assert_eq!(body["pageDetails"]["nextPageUrl"], Value::Null);
    assert_eq!(body["pageDetails"]["prevPageUrl"], Value::Null);

    let (_, none) = post_query(&sim, "resources", email_filter("nobody@example.com")).await;
    assert_eq!(none["items"], json!([]));

    let (status, bad) = post_query(
        &sim,
        "Resources",
        json!({"filter":[{"op":"eq","field":"shoeSize","value":1}]}),
    )
    .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(bad["errors"].is_array());
    sim.stop().await;
}

#[tokio::test]
async fn paging_follows_absolute_next_page_urls() {
    let sim = start(|c| c.page_size = 7);
    let total = sim.directory().resources.len();
    let client = reqwest::Client::new();
    let (status, mut page) = post_query(
        &sim,
        "Resources",
        json!({"filter":[{"op":"exist","field":"id"}],"maxRecords":500}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let mut ids = Vec::new();
    let mut pages = 1;
    loop {
        let items = page["items"].as_array().expect("items");
        assert!(items.len() <= 7);
        assert_eq!(page["pageDetails"]["count"], json!(items.len()));
        ids.extend(items.iter().map(|i| i["id"].as_i64().expect("id")));
        let Some(next) = page["pageDetails"]["nextPageUrl"].as_str() else {
            break;
        };
        assert!(next.starts_with(&sim.base_url()), "{next}");
        let response = authed(&client, reqwest::Method::GET, next)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::OK);
        page = response.json().await.expect("json");
        assert!(page["pageDetails"]["prevPageUrl"].is_string());
        pages += 1;
    }
    assert_eq!(pages, total.div_ceil(7));
    assert_eq!(ids.len(), total);
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted, ids, "ids come sorted and never twice");

    let (_, levels) = post_query(&sim, "SecurityLevels", json!({"filter":[]})).await;
    assert_eq!(levels["items"].as_array().expect("items").len(), 7);
    let first = &levels["items"][0];
    for field in [
        "id",
        "name",
        "isActive",
        "hubMenu",
        "qboExtensionAdmin",
        "otherExtensionsAdmin",
        "resourceImpersonation",
    ] {
        assert!(!first[field].is_null(), "{field}");
    }
    sim.stop().await;
}

#[tokio::test]
async fn missing_ids_answer_null_or_404() {
    let sim = start(|_| {});
    let (status, body) = get(&sim, "Resources/29682885").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["item"]["email"],
        json!("margaret.chen@northwindit.example")
    );
    assert_eq!(
        get(&sim, "Resources/1").await,
        (StatusCode::OK, json!({"item": null}))
    );
    sim.stop().await;

    let sim = start(|c| c.missing_resource_as_404 = true);
    let (status, _) = get(&sim, "Resources/1").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = get(&sim, "SecurityLevels/1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["item"]["name"], json!("Administrator"));
    sim.stop().await;
}

#[tokio::test]
async fn counted_faults_hit_the_next_requests_only() {
    let sim = start(|c| {
        c.faults = Faults {
            fail_500: 1,
            rate_limit: 1,
            retry_after_secs: Some(2),
            thread_limit: 1,
            malformed_json: 1,
            ..Faults::default()
        };
    });
    let client = reqwest::Client::new();
    let url = format!("{}Resources/29682885", sim.api_url());
    let send = || authed(&client, reqwest::Method::GET, &url).send();

    let r = send().await.expect("request");
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(r.json::<Value>().await.expect("json")["errors"].is_array());

    let r = send().await.expect("request");
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        r.headers().get("retry-after").map(|v| v.as_bytes()),
        Some(&b"2"[..])
    );

    let r = send().await.expect("request");
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let body: Value = r.json().await.expect("json");
    assert!(
        body["errors"][0]
            .as_str()
            .is_some_and(|e| e.contains("Thread threshold"))
    );

    let r = send().await.expect("request");
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.json::<Value>().await.is_err(), "malformed JSON");

    let r = send().await.expect("request");
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.json::<Value>().await.is_ok());

    assert_eq!(
        sim.faults(),
        Faults {
            retry_after_secs: Some(2),
            ..Faults::default()
        }
    );
    assert_eq!(sim.request_count(), 5);
    let stats = sim.stats();
    assert_eq!(stats.by_status.get(&429), Some(&2));
    assert_eq!(stats.by_route.get("GET Resources/{id}"), Some(&5));
    sim.stop().await;
}

#[tokio::test]
async fn bad_credentials_and_latency_switch_at_runtime() {
    let sim = start(|_| {});
    sim.set_faults(Faults {
        bad_credentials: true,
        ..Faults::default()
    });
    assert_eq!(
        get(&sim, "Resources/29682885").await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get(&sim, "Resources/29682885").await.0,
        StatusCode::UNAUTHORIZED
    );
    // Zone discovery carries no credentials, so it still answers.
    let zone = reqwest::Client::new()
        .get(sim.discovery_url())
        .query(&[("user", DEMO_API_USER)])
        .send()
        .await
        .expect("request");
    assert_eq!(zone.status(), StatusCode::OK);

    sim.set_faults(Faults {
        latency_ms: 150,
        ..Faults::default()
    });
    let started = Instant::now();
    assert_eq!(get(&sim, "Resources/29682885").await.0, StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(150));
    sim.stop().await;
}

#[tokio::test]
async fn faults_and_stats_over_http() {
    let sim = start(|_| {});
    let client = reqwest::Client::new();
    let faults_url = format!("{}_sim/faults", sim.base_url());
    let put = client
        .put(&faults_url)
        .json(&json!({"fail_500": 2, "latency_ms": 1}))
        .send()
        .await
        .expect("request");
    assert_eq!(put.status(), StatusCode::OK);
    assert_eq!(
        sim.faults(),
        Faults {
            fail_500: 2,
            latency_ms: 1,
            ..Faults::default()
        }
    );

    let typo = client
        .put(&faults_url)
        .json(&json!({"fail500": 2}))
        .send()
        .await
        .expect("request");
    assert_eq!(
        typo.status(),
        StatusCode::BAD_REQUEST,
        "unknown switches are refused"
    );

    assert_eq!(
        get(&sim, "Resources/29682885").await.0,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    let faults: Value = client
        .get(&faults_url)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(faults["fail_500"], json!(1));

    let stats_url = format!("{}_sim/stats", sim.base_url());
    let stats: Value = client
        .get(&stats_url)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(
        stats["requests"],
        json!(1),
        "control requests are not counted"
    );
    let reset = client.delete(&stats_url).send().await.expect("request");
    assert_eq!(reset.status(), StatusCode::NO_CONTENT);
    assert_eq!(sim.request_count(), 0);

    let mut directory = sim.directory();
    directory.resources.truncate(3);
    let put = client
        .put(format!("{}_sim/directory", sim.base_url()))
        .json(&directory)
        .send()
        .await
        .expect("request");
    assert_eq!(put.status(), StatusCode::NO_CONTENT);
    sim.set_faults(Faults::default());
    let (_, all) = post_query(&sim, "Resources", json!({"filter":[]})).await;
    assert_eq!(all["items"].as_array().expect("items").len(), 3);
    sim.stop().await;
}

#[tokio::test]
async fn the_thread_limit_can_be_enforced() {
    let sim = start(|c| {
        c.faults = Faults {
            enforce_thread_limit: true,
            latency_ms: 300,
            ..Faults::default()
        };
    });
    let one = || get(&sim, "Resources/29682885");
    let (a, b, c, d, e) = tokio::join!(one(), one(), one(), one(), one());
    let statuses = [a.0, b.0, c.0, d.0, e.0];
    let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    let limited = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((ok, limited), (3, 2), "{statuses:?}");
    assert_eq!(sim.stats().peak_in_flight, 5);
    sim.stop().await;
}

#[test]
fn invalid_configs_are_refused() {
    let mut config = SimConfig::demo().expect("demo");
    config.page_size = 0;
    assert!(Simulator::start(config).is_err());
    let mut config = SimConfig::demo().expect("demo");
    let duplicate = config.directory.resources[0].clone();
    config.directory.resources.push(duplicate);
    assert!(Simulator::start(config).is_err());
}

#[tokio::test]
async fn s11_paths_ignore_letter_case_like_autotask() {
    let sim = start(|_| {});
    let client = reqwest::Client::new();
    let root = sim.base_url();
    for path in [
        "atservicesrest/v1.0/Resources/29682885",
        "ATServicesRest/V1.0/resources/29682885",
        "ATSERVICESREST/v1.0/RESOURCES/29682885",
    ] {
        let response = authed(&client, reqwest::Method::GET, &format!("{root}{path}"))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["item"]["id"], 29682885, "{path}");
    }
    let zone = client
        .get(format!("{root}ATServicesRest/V1.0/ZoneInformation"))
        .query(&[("user", DEMO_API_USER)])
        .send()
        .await
        .expect("request");
    assert_eq!(zone.status(), StatusCode::OK);
    // A path outside the REST root is not served, whatever its case.
    let (status, _) = get(&sim, "../Resources/29682885").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    sim.stop().await;
}

#[tokio::test]
async fn s11_zone_discovery_is_exempt_from_throttling() {
    let sim = start(|c| {
        c.faults = Faults {
            rate_limit: 5,
            thread_limit: 5,
            ..Faults::default()
        }
    });
    let client = reqwest::Client::new();
    let zone = client
        .get(sim.discovery_url())
        .query(&[("user", DEMO_API_USER)])
        .send()
        .await
        .expect("request");
    assert_eq!(zone.status(), StatusCode::OK);
    let (status, _) = get(&sim, "Resources/29682885").await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "the entity call is throttled"
    );
    sim.stop().await;
}

#[tokio::test]
async fn s11_without_the_bridge_there_is_no_security_level_entity_or_field() {
    let sim = start(|c| {
        c.faults = Faults {
            missing_bridge: true,
            ..Faults::default()
        }
    });
    let (status, body) = post_query(&sim, "SecurityLevels", json!({"filter":[]})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        body["errors"][0]
            .as_str()
            .is_some_and(|e| e.contains("SecurityLevels"))
    );
    let (status, _) = get(&sim, "SecurityLevels/entityInformation").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = get(&sim, "Resources/29682885").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body["item"].get("securityLevelID").is_none(), "{body}");
    assert_eq!(body["item"]["userType"], 1);
    let (status, info) = get(&sim, "Resources/entityInformation").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(info["info"]["name"], "Resource");
    // Autotask documents no webhooks for Resources.
    assert_eq!(info["info"]["supportsWebhookCallouts"], false);
    sim.stop().await;
}

async fn send(
    sim: &SimHandle,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let client = reqwest::Client::new();
    let mut request = authed(&client, method, &format!("{}{path}", sim.api_url()));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn resource_webhooks_exist_only_when_offered_and_follow_the_documented_entities() {
    let hook = json!({
        "IsActive": true,
        "Name": "test",
        "WebhookUrl": "http://127.0.0.1:9/callout",
        "DeactivationUrl": "http://127.0.0.1:9/deactivated",
        "SecretKey": "0123456789abcdef",
        "IsSubscribedToUpdateEvents": true,
    });
    let plain = start(|_| {});
    let (status, _) = send(
        &plain,
        reqwest::Method::POST,
        "ResourceWebhooks",
        Some(hook.clone()),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "an entity this Autotask does not have"
    );
    plain.stop().await;

    let sim = start(|c| c.resource_webhooks = true);
    let (_, info) = get(&sim, "Resources/entityInformation").await;
    assert_eq!(info["info"]["supportsWebhookCallouts"], true);
    // Paths in any letter case, as everywhere in Autotask.
    let (status, created) = send(&sim, reqwest::Method::POST, "resourcewebhooks", Some(hook)).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let id = created["itemId"].as_i64().unwrap();
    let (_, item) = get(&sim, &format!("ResourceWebhooks/{id}")).await;
    assert_eq!(item["item"]["isReady"], false, "no field yet: {item}");
    assert!(item["item"].get("secretKey").is_none(), "{item}");
    // Without a subscribed field a change calls nobody.
    let mut directory = sim.directory();
    directory.resources[0].is_active = !directory.resources[0].is_active;
    sim.set_directory(directory.clone()).unwrap();
    assert!(sim.callouts().is_empty());
    let field = json!({"FieldID": 1, "IsSubscribedField": true});
    let (status, _) = send(
        &sim,
        reqwest::Method::POST,
        &format!("ResourceWebhooks/{id}/fields"),
        Some(field),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, item) = get(&sim, &format!("ResourceWebhooks/{id}")).await;
    assert_eq!(item["item"]["isReady"], true, "{item}");
    directory.resources[0].is_active = !directory.resources[0].is_active;
    sim.set_directory(directory).unwrap();
    let sent = sim.callouts();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].url, "http://127.0.0.1:9/callout");
    assert_eq!(
        sent[0].signature,
        crate::webhooks::signature("0123456789abcdef", sent[0].body.as_bytes())
    );
    let (status, _) = send(
        &sim,
        reqwest::Method::DELETE,
        &format!("ResourceWebhooks/{id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = get(&sim, &format!("ResourceWebhooks/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Deleting told the deactivation URL.
    let sent = sim.callouts();
    assert_eq!(sent.len(), 2);
    assert_eq!(
        (sent[1].kind, sent[1].url.as_str()),
        ("deactivation", "http://127.0.0.1:9/deactivated")
    );
    sim.stop().await;
}
