//! SPEC S15 against a real SMTP server (aiosmtpd, started by the test): the real binary
//! sends what its outbox holds — an invitation by email, an answer to the inviter, a
//! deactivation — never what a person turned off; a server that refuses for a while gets the
//! message once it is back; two instances on PostgreSQL deliver each message exactly once;
//! names from the PSA directory with CR/LF or `<script>` add no header and are escaped.

use std::path::Path;
use std::time::Duration;

use hubkeep_e2e::api::Api;
use hubkeep_e2e::smtp::{Received, SmtpServer};
use hubkeep_e2e::{
    PgDatabase, Server, ServerOptions, launch_assertion, stub_web_dir, tenant_cli, workspace_root,
};
use serde_json::{Value, json};

/// Margaret Chen in the demo directory: the first to sign in, so primary and elevated. Her
/// name is made hostile by [`hostile_directory`].
const PRIMARY: i64 = 29_682_885;
const PRIMARY_EMAIL: &str = "margaret.chen@northwindit.example";
/// David Okafor and Priya Raman: Administrators, limited (the Access tab saves no level).
const DAVID: i64 = 29_682_891;
const DAVID_EMAIL: &str = "david.okafor@northwindit.example";
const PRIYA: i64 = 29_682_902;
const SECRETS_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const METRICS_TOKEN: &str = "notification-tests-metrics";
/// The connection's name: markup too, which the HTML part must escape.
const CONNECTION: &str = "<script>alert(2)</script> Books";
/// How long a message may take to arrive: the sender looks every 100 ms.
const ARRIVAL: Duration = Duration::from_secs(20);

/// The demo directory, with the primary user's name carrying a line break, a header and a
/// script, as a PSA could hold them.
fn hostile_directory(dir: &Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string(workspace_root().join("config/demo-directory.toml"))
        .expect("the demo directory");
    let mut directory: toml::Value = toml::from_str(&text).expect("TOML");
    let resources = directory["resources"].as_array_mut().expect("resources");
    let margaret = resources
        .iter_mut()
        .find(|r| r["id"].as_integer() == Some(PRIMARY))
        .expect("Margaret is in the directory");
    margaret["first_name"] = toml::Value::String("Margaret\r\nBcc: evil@attacker.example".into());
    margaret["last_name"] = toml::Value::String("<script>alert(1)</script>".into());
    let path = dir.join("directory.toml");
    std::fs::write(&path, toml::to_string(&directory).expect("TOML out")).unwrap();
    path
}

/// One hub (one or two instances on one database) delivering to `smtp`.
struct Hub {
    instances: Vec<Server>,
    http: reqwest::Client,
    psa_id: String,
    launch_secret: String,
    _work: tempfile::TempDir,
    _web: tempfile::TempDir,
}

impl Hub {
    async fn start(smtp: &SmtpServer, database_url: Option<&str>, instances: usize) -> Self {
        let work = tempfile::tempdir().unwrap();
        let web = stub_web_dir();
        let directory = hostile_directory(work.path());
        let created = tenant_cli(
            work.path(),
            database_url,
            &[
                "create",
                "--name",
                "Northwind IT",
                "--psa",
                "directory",
                "--directory",
                directory.to_str().unwrap(),
            ],
            &[("HUBKEEP_SECRETS__KEY", SECRETS_KEY)],
        );
        let config = work.path().join("hubkeep.toml");
        std::fs::write(
            &config,
            format!(
                "[auth]\nsigning_key_id = \"k1\"\n[[auth.keys]]\nid = \"k1\"\n\
                 secret = \"{}{}\"\n\
                 [secrets]\nkey = \"{SECRETS_KEY}\"\n\
                 [rate_limit]\nlaunch_per_window = 0\nrefresh_per_window = 0\n\
                 [smtp]\nurl = \"{}\"\nfrom = \"Northwind Hub <hub@northwindit.example>\"\n\
                 poll_ms = 100\nretry_base_secs = 1\nretry_max_secs = 2\ntimeout_secs = 3\n\
                 [metrics]\ntoken = \"{METRICS_TOKEN}\"\n",
                uuid::Uuid::new_v4().simple(),
                uuid::Uuid::new_v4().simple(),
                smtp.url()
            ),
        )
        .unwrap();
        let http = reqwest::Client::new();
        let mut servers = Vec::new();
        for i in 0..instances {
            // On SQLite the database is in the data dir the tenant was made in.
            let data_dir = match database_url {
                None => work.path().to_owned(),
                Some(_) => work.path().join(format!("instance-{i}")),
            };
            std::fs::create_dir_all(&data_dir).unwrap();
            let server = Server::start_with(
                &data_dir,
                &ServerOptions {
                    database_url: database_url.map(str::to_owned),
                    config: Some(config.clone()),
                    web_dir: Some(web.path().to_owned()),
                    ..ServerOptions::default()
                },
            );
            server.wait_ready(&http).await;
            servers.push(server);
        }
        Self {
            instances: servers,
            http,
            psa_id: created["psa_id"].as_str().unwrap().to_owned(),
            launch_secret: created["launch_secret"].as_str().unwrap().to_owned(),
            _work: work,
            _web: web,
        }
    }

    fn base(&self) -> &str {
        &self.instances[0].base
    }

    /// Signs `resource` in; answers its access token and user id.
    async fn sign_in(&self, resource: i64) -> (String, String) {
        let assertion = launch_assertion(&self.psa_id, &self.launch_secret, resource);
        let res = self
            .http
            .post(format!("{}/api/v1/auth/launch", self.base()))
            .json(&json!({ "assertion": assertion }))
            .send()
            .await
            .expect("the hub answers");
        assert_eq!(res.status(), 200, "launch of {resource}");
        let body: Value = res.json().await.expect("a JSON answer");
        (
            body["access_token"].as_str().unwrap().to_owned(),
            body["user"]["id"].as_str().unwrap().to_owned(),
        )
    }

    /// The API of the first instance, called with a bearer token; any 2xx.
    async fn call(
        &self,
        method: reqwest::Method,
        token: &str,
        path: &str,
        body: Option<Value>,
    ) -> Value {
        let api = Api {
            base: self.base().to_owned(),
            http: self.http.clone(),
        };
        api.expect(method, token, path, body).await
    }

    async fn connection(&self, token: &str) -> String {
        let c = self
            .call(
                reqwest::Method::POST,
                token,
                "/connections",
                Some(
                    json!({"name": CONNECTION, "kind": "autotask_xero", "timezone": "Europe/London"}),
                ),
            )
            .await;
        c["id"].as_str().unwrap().to_owned()
    }

    async fn invite(&self, token: &str, connection: &str, invitee: Value) -> Value {
        self.call(
            reqwest::Method::POST,
            token,
            &format!("/connections/{connection}/invitations"),
            Some(invitee),
        )
        .await
    }

    /// `hubkeep_notification_attempts_total{outcome}` of instance `i`.
    async fn attempts(&self, i: usize, outcome: &str) -> u64 {
        let text = self
            .http
            .get(format!("{}/metrics", self.instances[i].base))
            .bearer_auth(METRICS_TOKEN)
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .unwrap_or_default();
        let key = format!("hubkeep_notification_attempts_total{{outcome=\"{outcome}\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&key))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    }

    async fn outbox(&self, token: &str) -> Vec<Value> {
        self.call(reqwest::Method::GET, token, "/notifications", None)
            .await["items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

/// The messages sent to `address`.
fn to(received: &[Received], address: &str) -> Vec<Received> {
    received
        .iter()
        .filter(|m| m.rcpt_tos.iter().any(|r| r == address))
        .cloned()
        .collect()
}

/// The first `http://…` address in `text`.
fn first_link(text: &str) -> String {
    let start = text.find("http://").expect("a link");
    text[start..]
        .split(|c: char| c.is_whitespace() || c == '"' || c == '<')
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn s15_invitation_answer_and_deactivation_each_send_one_message_and_a_category_turned_off_none()
 {
    let smtp = SmtpServer::start();
    let hub = Hub::start(&smtp, None, 1).await;
    let (admin, _) = hub.sign_in(PRIMARY).await;
    let (david, david_id) = hub.sign_in(DAVID).await;
    let (priya, priya_id) = hub.sign_in(PRIYA).await;
    let books = hub.connection(&admin).await;

    // An invitation by email to someone who never signed in.
    hub.invite(
        &admin,
        &books,
        json!({"email": "newcomer@example.com", "role": "read_only"}),
    )
    .await;
    let got = smtp.wait_for(1, ARRIVAL).await;
    assert_eq!(got.len(), 1);
    let m = &got[0];
    assert_eq!(m.rcpt_tos, ["newcomer@example.com"]);
    assert_eq!(m.mail_from, "hub@northwindit.example");
    assert_eq!(
        m.header("From").unwrap(),
        "\"Northwind Hub\" <hub@northwindit.example>"
    );
    // The PSA's hostile name: one Subject, no header of its own, no script in the HTML.
    let names: Vec<String> = m
        .header_names()
        .iter()
        .map(|h| h.to_ascii_lowercase())
        .collect();
    assert!(!names.contains(&"bcc".to_owned()), "{names:?}");
    assert_eq!(names.iter().filter(|h| *h == "subject").count(), 1);
    let subject = m.header("Subject").unwrap();
    assert!(subject.contains("Bcc: evil@attacker.example"), "{subject}");
    let message_id = m.header("Message-ID").unwrap();
    assert!(
        message_id.ends_with("@northwindit.example>"),
        "{message_id}"
    );
    let body = m.decoded_body();
    // Plain text says it as it is; the HTML part escapes it.
    let html = body
        .split("Content-Type: text/html")
        .nth(1)
        .expect("an HTML part");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    assert!(
        html.contains("&lt;script&gt;alert(2)&lt;/script&gt; Books"),
        "{html}"
    );
    assert!(!html.contains("<script>"), "{html}");
    assert!(
        !body
            .lines()
            .any(|l| l.to_ascii_lowercase().starts_with("bcc:")),
        "{body}"
    );
    // Its link opens the console's invitations page on this hub.
    let link = first_link(&body);
    assert_eq!(link, format!("{}/invitations", hub.base()));
    let page = hub.http.get(&link).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("<title>Hubkeep</title>")
    );

    // David accepts an invitation: one message, to the inviter.
    let inv = hub
        .invite(
            &admin,
            &books,
            json!({"user_id": david_id, "role": "it_admin"}),
        )
        .await;
    let got = smtp.wait_for(2, ARRIVAL).await;
    assert_eq!(to(&got, DAVID_EMAIL).len(), 1, "the invitation to David");
    hub.call(
        reqwest::Method::POST,
        &david,
        &format!("/invitations/{}/accept", inv["id"].as_str().unwrap()),
        Some(json!({})),
    )
    .await;
    let got = smtp.wait_for(3, ARRIVAL).await;
    let to_admin = to(&got, PRIMARY_EMAIL);
    assert_eq!(to_admin.len(), 1);
    assert!(
        to_admin[0]
            .header("Subject")
            .unwrap()
            .contains(&format!("accepted your invitation to {CONNECTION}"))
    );

    // Priya turns invitations off: an invitation to her sends nothing.
    hub.call(
        reqwest::Method::PATCH,
        &priya,
        "/me/preferences",
        Some(json!({"invitations": false})),
    )
    .await;
    hub.invite(
        &admin,
        &books,
        json!({"user_id": priya_id, "role": "read_only"}),
    )
    .await;
    // Deactivating David: one message to him. It is written after Priya's invitation, so
    // once it has arrived the sender has passed hers.
    hub.call(
        reqwest::Method::PATCH,
        &admin,
        &format!("/users/{david_id}"),
        Some(json!({"active": false})),
    )
    .await;
    let got = smtp.wait_for(4, ARRIVAL).await;
    let to_david = to(&got, DAVID_EMAIL);
    assert_eq!(to_david.len(), 2, "the invitation, then the deactivation");
    assert_eq!(
        to_david[1].header("Subject").unwrap(),
        "Your Hubkeep access was deactivated"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got = smtp.received();
    assert_eq!(
        got.len(),
        4,
        "nothing else: {:?}",
        got.iter().map(|m| m.rcpt_tos.clone()).collect::<Vec<_>>()
    );
    assert!(to(&got, "priya.raman@northwindit.example").is_empty());
    // The outbox says the same.
    let outbox = hub.outbox(&admin).await;
    assert_eq!(outbox.len(), 4);
    assert!(
        outbox
            .iter()
            .all(|n| n["status"] == "sent" && n["attempts"] == 1),
        "{outbox:?}"
    );
}

#[tokio::test]
async fn s15_a_refusing_smtp_server_gets_the_message_once_when_it_comes_back() {
    let smtp = SmtpServer::start();
    let hub = Hub::start(&smtp, None, 1).await;
    let (admin, _) = hub.sign_in(PRIMARY).await;
    let books = hub.connection(&admin).await;
    smtp.refuse(true);
    // The request that causes the message answers while the server refuses: delivery is
    // not in the request's path.
    let created = hub
        .invite(
            &admin,
            &books,
            json!({"email": "later@example.com", "role": "read_only"}),
        )
        .await;
    assert_eq!(created["status"], "pending");
    assert!(smtp.received().is_empty());
    // Refused at least twice (the first attempt and a retry after the backoff).
    let deadline = std::time::Instant::now() + ARRIVAL;
    while smtp.refused() < 2 {
        assert!(std::time::Instant::now() < deadline, "the sender retried");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let outbox = hub.outbox(&admin).await;
    assert_eq!(outbox[0]["status"], "failed", "{outbox:?}");
    assert!(
        outbox[0]["last_error"].as_str().unwrap().contains("421"),
        "{outbox:?}"
    );
    smtp.refuse(false);
    let got = smtp.wait_for(1, ARRIVAL).await;
    assert_eq!(got[0].rcpt_tos, ["later@example.com"]);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(smtp.received().len(), 1, "delivered once");
    let outbox = hub.outbox(&admin).await;
    assert_eq!(outbox[0]["status"], "sent");
    let attempts = outbox[0]["attempts"].as_u64().unwrap();
    assert_eq!(attempts as usize, smtp.refused() + 1, "{outbox:?}");
}

#[tokio::test]
#[cfg_attr(
    not(hubkeep_test_postgres),
    ignore = "HUBKEEP_TEST_POSTGRES_URL is not set: two instances need PostgreSQL"
)]
async fn s15_two_instances_on_postgresql_deliver_each_message_exactly_once() {
    let admin_url = hubkeep_e2e::postgres_admin_url()
        .expect("HUBKEEP_TEST_POSTGRES_URL is not set: two instances need PostgreSQL");
    let pg = PgDatabase::create(&admin_url).await;
    let smtp = SmtpServer::start();
    let hub = Hub::start(&smtp, Some(&pg.url), 2).await;
    let (admin, _) = hub.sign_in(PRIMARY).await;
    let books = hub.connection(&admin).await;
    const N: usize = 40;
    // Refused while they are written, so that all forty fall due again at about the same
    // moment (one backoff later) and both instances' senders find work at once.
    smtp.refuse(true);
    for i in 0..N {
        hub.invite(
            &admin,
            &books,
            json!({"email": format!("person{i}@example.com"), "role": "read_only"}),
        )
        .await;
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while smtp.refused() < N {
        assert!(
            std::time::Instant::now() < deadline,
            "every message was tried once"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    smtp.refuse(false);
    let got = smtp.wait_for(N, Duration::from_secs(60)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let got_after = smtp.received();
    assert_eq!(got_after.len(), N, "no message twice (got {})", got.len());
    let mut addresses: Vec<String> = got_after.iter().flat_map(|m| m.rcpt_tos.clone()).collect();
    addresses.sort();
    addresses.dedup();
    assert_eq!(addresses.len(), N, "each address once");
    let mut ids: Vec<String> = got_after
        .iter()
        .map(|m| m.header("Message-ID").unwrap())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), N);
    // Both instances sent, and together exactly N.
    let (one, two) = (hub.attempts(0, "sent").await, hub.attempts(1, "sent").await);
    assert_eq!(
        one + two,
        N as u64,
        "sent by the first {one}, by the second {two}"
    );
    assert!(one > 0 && two > 0, "both senders worked: {one} and {two}");
}

#[tokio::test]
async fn s15_a_server_that_stops_answering_is_given_up_on_after_the_time_limit() {
    let smtp = SmtpServer::start();
    let hub = Hub::start(&smtp, None, 1).await;
    let (admin, _) = hub.sign_in(PRIMARY).await;
    let books = hub.connection(&admin).await;
    smtp.stall(true);
    hub.invite(
        &admin,
        &books,
        json!({"email": "patient@example.com", "role": "read_only"}),
    )
    .await;
    // The whole exchange has `timeout_secs` (3 s): the attempt fails, the sender is free.
    let deadline = std::time::Instant::now() + ARRIVAL;
    loop {
        let outbox = hub.outbox(&admin).await;
        if outbox[0]["status"] == "failed" {
            assert!(
                outbox[0]["last_error"]
                    .as_str()
                    .unwrap()
                    .contains("timed out"),
                "{outbox:?}"
            );
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "given up on: {outbox:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(smtp.stalled() >= 1);
    smtp.stall(false);
    let got = smtp.wait_for(1, ARRIVAL).await;
    assert_eq!(got[0].rcpt_tos, ["patient@example.com"]);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(smtp.received().len(), 1, "delivered once");
    assert_eq!(hub.outbox(&admin).await[0]["status"], "sent");
}
