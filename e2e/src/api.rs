//! The HTTP API of a server under test, called with a bearer token: setup for the browser
//! tests and the checks of what the console did.

use serde_json::{Value, json};

use crate::Server;
use crate::browser::demo_launch;

/// The HTTP API of one server, for setup and for checking what a test did.
#[derive(Debug, Clone)]
pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
}

impl Api {
    pub fn new(server: &Server) -> Self {
        Self {
            base: server.base.clone(),
            http: reqwest::Client::new(),
        }
    }

    pub async fn launch(&self, resource_id: i64) -> Value {
        demo_launch(&self.base, resource_id).await
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        token: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}/api/v1{path}", self.base))
            .bearer_auth(token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.expect("the API answers");
        let status = res.status().as_u16();
        let text = res.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn expect(
        &self,
        method: reqwest::Method,
        token: &str,
        path: &str,
        body: Option<Value>,
    ) -> Value {
        let (status, value) = self.call(method.clone(), token, path, body).await;
        assert!(
            (200..300).contains(&status),
            "{method} {path}: {status} {value}"
        );
        value
    }

    pub async fn get(&self, token: &str, path: &str) -> Value {
        self.expect(reqwest::Method::GET, token, path, None).await
    }

    pub async fn post(&self, token: &str, path: &str, body: Value) -> Value {
        self.expect(reqwest::Method::POST, token, path, Some(body))
            .await
    }

    pub async fn identities(&self) -> Vec<Value> {
        let v: Value = self
            .http
            .get(format!("{}/api/v1/demo/identities", self.base))
            .send()
            .await
            .expect("identities")
            .json()
            .await
            .expect("identities json");
        v["items"].as_array().cloned().unwrap_or_default()
    }

    pub async fn create_connection(&self, token: &str, name: &str, kind: &str) -> String {
        let c = self
            .post(
                token,
                "/connections",
                json!({"name": name, "kind": kind, "timezone": "Europe/London"}),
            )
            .await;
        c["id"].as_str().expect("connection id").to_owned()
    }

    pub async fn reconnect(&self, token: &str, connection: &str, side: &str) {
        self.post(
            token,
            &format!("/connections/{connection}/endpoints/{side}/reconnect"),
            json!({"account_label": format!("{side} account")}),
        )
        .await;
    }

    /// Invites `user_id` with `role` (as `token`) and accepts as `invitee_token`.
    pub async fn invite_and_accept(
        &self,
        token: &str,
        connection: &str,
        user_id: &str,
        role: &str,
        retain: Option<&str>,
        invitee_token: &str,
    ) {
        let mut body = json!({"user_id": user_id, "role": role});
        if let Some(r) = retain {
            body["retain_role"] = json!(r);
        }
        let inv = self
            .post(
                token,
                &format!("/connections/{connection}/invitations"),
                body,
            )
            .await;
        let id = inv["id"].as_str().expect("invitation id");
        self.post(
            invitee_token,
            &format!("/invitations/{id}/accept"),
            json!({}),
        )
        .await;
    }
}

/// The access token of a launch (or refresh) answer.
pub fn token(launch: &Value) -> String {
    launch["access_token"]
        .as_str()
        .expect("access token")
        .to_owned()
}

/// The hub user id of a launch answer.
pub fn user_id(launch: &Value) -> String {
    launch["user"]["id"].as_str().expect("user id").to_owned()
}
