//! A typed client of the API for the tests: `app.as_(&session)`, `app.with_token(token)` (API
//! and engine tokens, or any credential a test wants to try) or `app.anonymous()`, then one
//! method per operation of the OpenAPI document, named by its operationId. Request bodies and
//! answers are the shared types (`hubkeep_shared::api`); the tests' expected outcomes stay
//! literal, written from the SPEC ([`Answer::expect_json`] checks that a body decodes as the
//! shared type and hands it back as JSON for those checks).
//!
//! Every request goes through the app's own `reqwest::Client` to the app's address, as
//! `app.url(…)` builds it: the server checks each answer against the OpenAPI document
//! (`contract_check: true` in `spawn_app_with`) and the `TestApp` fails the test on drop if
//! any answer was outside it, whichever way the request was made. [`Client::raw`] is for what
//! a typed body cannot express: malformed or out-of-schema bodies, bad query strings, paths
//! and methods outside the document.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use hubkeep_shared::api::*;
use hubkeep_shared::{ConnectionRole, PermissionMatrix, PsaTestReport, UserId};
use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::helpers::{Session, TestApp, assert_problem};

impl TestApp {
    /// A client signed in as `session` (its access token).
    pub fn as_(&self, session: &Session) -> Client<'_> {
        self.with_token(&session.access_token)
    }

    /// A client sending `token` as its bearer credential: an API token, an engine token, an
    /// access token, or anything else a test wants to try.
    pub fn with_token(&self, token: &str) -> Client<'_> {
        Client {
            http: self.client.clone(),
            address: self.address.clone(),
            token: Some(token.to_owned()),
            headers: Vec::new(),
            app: PhantomData,
        }
    }

    /// A client without credentials.
    pub fn anonymous(&self) -> Client<'_> {
        Client {
            http: self.client.clone(),
            address: self.address.clone(),
            token: None,
            headers: Vec::new(),
            app: PhantomData,
        }
    }
}

/// The API as one caller sees it: the app's `reqwest::Client` and address, and a credential.
#[derive(Debug, Clone)]
pub struct Client<'a> {
    http: reqwest::Client,
    address: String,
    token: Option<String>,
    /// Sent with every request besides the credential (see [`Client::with_header`]).
    headers: Vec<(String, String)>,
    app: PhantomData<&'a TestApp>,
}

/// An answer of the API, to be read as `T` (the operation's success body) or as a problem.
pub struct Answer<T> {
    res: reqwest::Response,
    /// `METHOD /path`, for failure messages.
    what: String,
    body: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for Answer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Answer")
            .field("what", &self.what)
            .field("status", &self.res.status())
            .finish_non_exhaustive()
    }
}

/// Decodes a body as `T`; an empty body reads as `null` (so `()` for 204 answers).
fn decode<T: DeserializeOwned>(what: &str, status: u16, text: &str) -> T {
    let parsed = if text.is_empty() {
        serde_json::from_value(Value::Null)
    } else {
        serde_json::from_str(text)
    };
    parsed.unwrap_or_else(|e| {
        panic!(
            "{what}: the {status} answer does not decode as {}: {e}\n{text}",
            std::any::type_name::<T>()
        )
    })
}

impl<T: DeserializeOwned> Answer<T> {
    pub fn status(&self) -> reqwest::StatusCode {
        self.res.status()
    }

    /// `METHOD /path?query` of the request.
    pub fn what(&self) -> &str {
        &self.what
    }

    pub fn headers(&self) -> &reqwest::header::HeaderMap {
        self.res.headers()
    }

    /// The response itself (headers, raw bytes).
    pub fn into_inner(self) -> reqwest::Response {
        self.res
    }

    async fn read(self) -> (String, u16, String) {
        let status = self.res.status().as_u16();
        let text = self.res.text().await.unwrap();
        (self.what, status, text)
    }

    /// Asserts a 2xx and decodes the body.
    pub async fn ok(self) -> T {
        let (what, status, text) = self.read().await;
        assert!(
            (200..300).contains(&status),
            "{what}: expected success, got {status}: {text}"
        );
        decode(&what, status, &text)
    }

    /// Asserts the status and decodes the body.
    pub async fn expect(self, status: u16) -> T {
        let (what, got, text) = self.read().await;
        assert_eq!(got, status, "{what}: {text}");
        decode(&what, got, &text)
    }

    /// Asserts the status and that the body decodes as `T`; answers the body as JSON, for
    /// tests that check its fields against literal values.
    pub async fn expect_json(self, status: u16) -> Value {
        let (what, got, text) = self.read().await;
        assert_eq!(got, status, "{what}: {text}");
        decode::<T>(&what, got, &text);
        decode(&what, got, &text)
    }

    /// Asserts a documented problem (see [`assert_problem`]); answers its body.
    pub async fn problem(self, status: u16, code: &str) -> Value {
        assert_problem(self.res, status, code).await
    }

    /// The body as JSON (`null` when empty), whatever the status.
    pub async fn json(self) -> Value {
        let (what, status, text) = self.read().await;
        decode(&what, status, &text)
    }

    /// The body as text, whatever the status.
    pub async fn text(self) -> String {
        self.res.text().await.unwrap()
    }
}

impl Client<'_> {
    /// The same client for a spawned task (it holds nothing of the app but its address; the
    /// app must outlive the task's requests, as the tests' `TestApp` does).
    pub fn detached(&self) -> Client<'static> {
        Client {
            http: self.http.clone(),
            address: self.address.clone(),
            token: self.token.clone(),
            headers: self.headers.clone(),
            app: PhantomData,
        }
    }

    /// The same client sending `name: value` with every request (an `Accept-Encoding`, a
    /// `User-Agent`, a forwarded address…).
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// A request to `path` with this client's credentials, for what the typed methods do not
    /// send (extra headers, bodies that are not JSON); send it with [`Client::send`].
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let mut req = self.http.request(method, format!("{}{path}", self.address));
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        for (name, value) in &self.headers {
            req = req.header(name, value);
        }
        req
    }

    /// Sends a request built by [`Client::request`].
    pub async fn send<T>(&self, req: reqwest::RequestBuilder) -> Answer<T> {
        self.try_send(req).await.unwrap()
    }

    /// Sends a request built by [`Client::request`]; a transport error (a connection the
    /// server closed before answering) is the caller's to judge.
    pub async fn try_send<T>(&self, req: reqwest::RequestBuilder) -> reqwest::Result<Answer<T>> {
        let (http, request) = req.build_split();
        let request = request.unwrap();
        let url = request.url();
        let what = match url.query() {
            Some(query) => format!("{} {}?{query}", request.method(), url.path()),
            None => format!("{} {}", request.method(), url.path()),
        };
        Ok(Answer {
            res: http.execute(request).await?,
            what,
            body: PhantomData,
        })
    }

    async fn call<T>(
        &self,
        method: Method,
        path: &str,
        query: Option<&(dyn erased::Query + Sync + '_)>,
        body: Option<&(dyn erased::Body + Sync + '_)>,
    ) -> Answer<T> {
        let mut req = self.request(method, path);
        if let Some(query) = query {
            req = query.apply(req);
        }
        if let Some(body) = body {
            req = body.apply(req);
        }
        self.send(req).await
    }

    /// Any request with an optional JSON body, for what a typed body cannot express.
    pub async fn raw(&self, method: Method, path: &str, body: Option<&Value>) -> Answer<Value> {
        self.call(
            method,
            path,
            None,
            body.map(|b| b as &(dyn erased::Body + Sync)),
        )
        .await
    }

    async fn get<T>(&self, path: &str) -> Answer<T> {
        self.call(Method::GET, path, None, None).await
    }

    async fn get_with<T, Q: Serialize + Sync>(&self, path: &str, query: &Q) -> Answer<T> {
        self.call(Method::GET, path, Some(query), None).await
    }

    async fn post<T>(&self, path: &str) -> Answer<T> {
        self.call(Method::POST, path, None, None).await
    }

    async fn post_with<T, B: Serialize + Sync>(&self, path: &str, body: &B) -> Answer<T> {
        self.call(Method::POST, path, None, Some(body)).await
    }

    async fn put_with<T, B: Serialize + Sync>(&self, path: &str, body: &B) -> Answer<T> {
        self.call(Method::PUT, path, None, Some(body)).await
    }

    async fn patch_with<T, B: Serialize + Sync>(&self, path: &str, body: &B) -> Answer<T> {
        self.call(Method::PATCH, path, None, Some(body)).await
    }

    async fn delete<T>(&self, path: &str) -> Answer<T> {
        self.call(Method::DELETE, path, None, None).await
    }

    // --- Probes and documents --------------------------------------------------------

    pub async fn get_healthz(&self) -> Answer<HealthStatus> {
        self.get("/healthz").await
    }

    pub async fn get_readyz(&self) -> Answer<HealthStatus> {
        self.get("/readyz").await
    }

    pub async fn get_openapi(&self) -> Answer<Value> {
        self.get("/api/v1/openapi.json").await
    }

    pub async fn get_permissions(&self) -> Answer<PermissionMatrix> {
        self.get("/api/v1/permissions").await
    }

    // --- Sessions ----------------------------------------------------------------------

    pub async fn launch_session(&self, body: &LaunchRequest) -> Answer<TokenResponse> {
        self.post_with("/api/v1/auth/launch", body).await
    }

    pub async fn refresh_session(&self, body: &RefreshRequest) -> Answer<TokenResponse> {
        self.post_with("/api/v1/auth/refresh", body).await
    }

    pub async fn end_session(&self) -> Answer<()> {
        self.post("/api/v1/auth/logout").await
    }

    // --- OpenID Connect sign-in (SPEC S13) ----------------------------------------------

    pub async fn get_tenant_sign_in(
        &self,
        slug: &str,
    ) -> Answer<hubkeep_shared::api::TenantSignIn> {
        self.get(&format!("/api/v1/auth/tenants/{slug}")).await
    }

    /// The start of a sign-in, as a script sees it (a 302 on success is not followed:
    /// the typed client's `reqwest` follows redirects, so only refusals are meaningful here).
    pub async fn start_oidc_sign_in(&self, slug: &str) -> Answer<()> {
        self.get(&format!("/api/v1/auth/oidc/{slug}/start?return_to=%2F"))
            .await
    }

    /// The provider's redirect back, with `state` and `code`.
    pub async fn finish_oidc_sign_in(&self, state: &str, code: &str) -> Answer<()> {
        self.get(&format!(
            "/api/v1/auth/oidc/callback?state={state}&code={code}"
        ))
        .await
    }

    pub async fn exchange_oidc_code(
        &self,
        body: &hubkeep_shared::api::OidcExchange,
    ) -> Answer<TokenResponse> {
        self.post_with("/api/v1/auth/oidc/exchange", body).await
    }

    pub async fn list_demo_identities(&self) -> Answer<DemoIdentities> {
        self.get("/api/v1/demo/identities").await
    }

    pub async fn launch_demo_session(&self, body: &DemoLaunch) -> Answer<TokenResponse> {
        self.post_with("/api/v1/demo/launch", body).await
    }

    // --- The caller --------------------------------------------------------------------

    pub async fn get_me(&self) -> Answer<Me> {
        self.get("/api/v1/me").await
    }

    pub async fn list_my_invitations(&self) -> Answer<Items<MyInvitation>> {
        self.get("/api/v1/me/invitations").await
    }

    pub async fn list_my_tokens(&self, page: &PageQuery) -> Answer<Page<ApiToken>> {
        self.get_with("/api/v1/me/tokens", page).await
    }

    pub async fn create_my_token(&self, body: &CreateToken) -> Answer<CreatedToken> {
        self.post_with("/api/v1/me/tokens", body).await
    }

    pub async fn revoke_my_token(&self, id: &str) -> Answer<()> {
        self.delete(&format!("/api/v1/me/tokens/{id}")).await
    }

    // --- Tenant settings and the PSA ---------------------------------------------------

    pub async fn get_settings(&self) -> Answer<Settings> {
        self.get("/api/v1/settings").await
    }

    pub async fn update_settings(&self, body: &UpdateSettings) -> Answer<Settings> {
        self.put_with("/api/v1/settings", body).await
    }

    pub async fn rotate_launch_secret(&self) -> Answer<LaunchSecret> {
        self.post("/api/v1/settings/launch-secret").await
    }

    pub async fn test_psa_connection(&self) -> Answer<PsaTestReport> {
        self.post("/api/v1/psa/test").await
    }

    pub async fn get_psa_status(&self) -> Answer<PsaStatus> {
        self.get("/api/v1/psa/status").await
    }

    pub async fn reconcile_psa(&self) -> Answer<ReconcileSummary> {
        self.post("/api/v1/psa/reconcile").await
    }

    pub async fn subscribe_psa_webhook(&self) -> Answer<WebhookStatus> {
        self.post("/api/v1/psa/webhook").await
    }

    pub async fn unsubscribe_psa_webhook(&self) -> Answer<()> {
        self.delete("/api/v1/psa/webhook").await
    }

    /// What Autotask posts: `body` as sent, signed by `signature` (`X-Hook-Signature`).
    pub async fn receive_autotask_callout(
        &self,
        tenant_id: &str,
        body: &AutotaskCallout,
        signature: &str,
    ) -> Answer<CalloutReceipt> {
        let path = format!("/api/v1/psa/autotask/webhooks/{tenant_id}");
        let req = self
            .request(Method::POST, &path)
            .header("X-Hook-Signature", signature)
            .json(body);
        self.send(req).await
    }

    /// Autotask's notice that it deactivated the subscription.
    pub async fn receive_autotask_deactivation(
        &self,
        tenant_id: &str,
        body: &Value,
        signature: &str,
    ) -> Answer<CalloutReceipt> {
        let path = format!("/api/v1/psa/autotask/webhooks/{tenant_id}/deactivated");
        let req = self
            .request(Method::POST, &path)
            .header("X-Hook-Signature", signature)
            .json(body);
        self.send(req).await
    }

    // --- The Access tab ----------------------------------------------------------------

    pub async fn get_elevated_levels(&self) -> Answer<ElevatedLevels> {
        self.get("/api/v1/access/elevated-levels").await
    }

    pub async fn save_elevated_levels(&self, body: &ElevatedLevels) -> Answer<ElevatedLevels> {
        self.put_with("/api/v1/access/elevated-levels", body).await
    }

    pub async fn list_security_levels(&self) -> Answer<SecurityLevels> {
        self.get("/api/v1/security-levels").await
    }

    // --- Notifications (SPEC S15) --------------------------------------------------------

    pub async fn get_my_preferences(&self) -> Answer<NotificationPreferences> {
        self.get("/api/v1/me/preferences").await
    }

    pub async fn update_my_preferences(
        &self,
        body: &NotificationPreferencesPatch,
    ) -> Answer<NotificationPreferences> {
        self.patch_with("/api/v1/me/preferences", body).await
    }

    pub async fn list_notifications(
        &self,
        query: &NotificationQuery,
    ) -> Answer<Page<Notification>> {
        self.get_with("/api/v1/notifications", query).await
    }

    pub async fn retry_notification(&self, id: &str) -> Answer<Notification> {
        self.post(&format!("/api/v1/notifications/{id}/retry"))
            .await
    }

    // --- Users -------------------------------------------------------------------------

    pub async fn list_users(&self, query: &UserQuery) -> Answer<Page<UserListItem>> {
        self.get_with("/api/v1/users", query).await
    }

    /// `GET /api/v1/people`: the people picker's search (SPEC S16).
    pub async fn search_people(&self, query: &PeopleQuery) -> Answer<Items<Person>> {
        self.get_with("/api/v1/people", query).await
    }

    pub async fn get_user(&self, id: &str) -> Answer<UserListItem> {
        self.get(&format!("/api/v1/users/{id}")).await
    }

    pub async fn update_user(&self, id: &str, body: &UserPatch) -> Answer<UpdatedUser> {
        self.patch_with(&format!("/api/v1/users/{id}"), body).await
    }

    pub async fn refresh_users(&self) -> Answer<RefreshSummary> {
        self.post("/api/v1/users/refresh").await
    }

    /// Every row of the Users tab the caller lists with `query` (its paging aside), `limit`
    /// per page (see [`all_pages`]).
    pub async fn all_users(&self, query: &UserQuery, limit: u64) -> Vec<Value> {
        all_pages(limit, async |page| {
            let query = UserQuery {
                limit: page.limit,
                cursor: page.cursor,
                ..query.clone()
            };
            self.list_users(&query).await
        })
        .await
    }

    // --- Activity log ------------------------------------------------------------------

    pub async fn list_activity(&self, query: &ActivityQuery) -> Answer<Page<ActivityEntry>> {
        self.get_with("/api/v1/activity", query).await
    }

    /// `GET /api/v1/activity/export`: the file, read with [`Answer::text`].
    pub async fn export_activity(&self, query: &ActivityExportQuery) -> Answer<String> {
        self.get_with("/api/v1/activity/export", query).await
    }

    pub async fn get_activity(&self, id: &str) -> Answer<ActivityEntry> {
        self.get(&format!("/api/v1/activity/{id}")).await
    }

    /// Every activity entry the caller lists with `query` (its paging aside), `limit` per
    /// page (see [`all_pages`]).
    pub async fn all_activity(&self, query: &ActivityQuery, limit: u64) -> Vec<Value> {
        all_pages(limit, async |page| {
            let query = ActivityQuery {
                limit: page.limit,
                cursor: page.cursor,
                ..query.clone()
            };
            self.list_activity(&query).await
        })
        .await
    }
    // --- Sync status -------------------------------------------------------------------

    pub async fn get_sync_status(&self, page: &PageQuery) -> Answer<Page<SyncStatusItem>> {
        self.get_with("/api/v1/sync-status", page).await
    }

    // --- Tokens of the tenant and of the engine ----------------------------------------

    pub async fn list_tenant_tokens(&self, page: &PageQuery) -> Answer<Page<TenantApiToken>> {
        self.get_with("/api/v1/tokens", page).await
    }

    pub async fn revoke_tenant_token(&self, id: &str) -> Answer<()> {
        self.delete(&format!("/api/v1/tokens/{id}")).await
    }

    pub async fn list_engine_tokens(&self, page: &PageQuery) -> Answer<Page<EngineToken>> {
        self.get_with("/api/v1/engine-tokens", page).await
    }

    pub async fn create_engine_token(
        &self,
        body: &CreateEngineToken,
    ) -> Answer<CreatedEngineToken> {
        self.post_with("/api/v1/engine-tokens", body).await
    }

    pub async fn revoke_engine_token(&self, id: &str) -> Answer<()> {
        self.delete(&format!("/api/v1/engine-tokens/{id}")).await
    }

    // --- Connections -------------------------------------------------------------------

    pub async fn list_connections(&self, page: &PageQuery) -> Answer<Page<Connection>> {
        self.get_with("/api/v1/connections", page).await
    }

    pub async fn create_connection(&self, body: &NewConnection) -> Answer<Connection> {
        self.post_with("/api/v1/connections", body).await
    }

    pub async fn list_governance_connections(
        &self,
        page: &PageQuery,
    ) -> Answer<Page<GovernanceItem>> {
        self.get_with("/api/v1/connections/governance", page).await
    }

    pub async fn get_connection(&self, id: &str) -> Answer<Connection> {
        self.get(&format!("/api/v1/connections/{id}")).await
    }

    pub async fn update_connection(&self, id: &str, body: &ConnectionPatch) -> Answer<Connection> {
        self.patch_with(&format!("/api/v1/connections/{id}"), body)
            .await
    }

    pub async fn cancel_connection(&self, id: &str) -> Answer<Connection> {
        self.post(&format!("/api/v1/connections/{id}/cancel")).await
    }

    pub async fn pay_connection(&self, id: &str, body: &PaymentInput) -> Answer<Connection> {
        self.post_with(&format!("/api/v1/connections/{id}/pay"), body)
            .await
    }

    pub async fn disconnect_endpoint(&self, id: &str, side: &str) -> Answer<Connection> {
        self.post(&format!(
            "/api/v1/connections/{id}/endpoints/{side}/disconnect"
        ))
        .await
    }

    pub async fn reconnect_endpoint(
        &self,
        id: &str,
        side: &str,
        body: &ReconnectInput,
    ) -> Answer<Connection> {
        self.post_with(
            &format!("/api/v1/connections/{id}/endpoints/{side}/reconnect"),
            body,
        )
        .await
    }

    pub async fn recover_ownership(
        &self,
        id: &str,
        body: &RecoverOwnership,
    ) -> Answer<OwnershipRecovered> {
        self.post_with(&format!("/api/v1/connections/{id}/recover-ownership"), body)
            .await
    }

    // --- Members and invitations -------------------------------------------------------

    pub async fn list_connection_members(&self, id: &str) -> Answer<Items<Member>> {
        self.get(&format!("/api/v1/connections/{id}/members")).await
    }

    pub async fn remove_member_role(&self, id: &str, user_id: &str, role: &str) -> Answer<()> {
        self.delete(&format!(
            "/api/v1/connections/{id}/members/{user_id}/roles/{role}"
        ))
        .await
    }

    pub async fn leave_connection(&self, id: &str) -> Answer<()> {
        self.post(&format!("/api/v1/connections/{id}/leave")).await
    }

    pub async fn list_connection_invitations(&self, id: &str) -> Answer<Items<Invitation>> {
        self.get(&format!("/api/v1/connections/{id}/invitations"))
            .await
    }

    pub async fn create_invitation(&self, id: &str, body: &NewInvitation) -> Answer<Invitation> {
        self.post_with(&format!("/api/v1/connections/{id}/invitations"), body)
            .await
    }

    pub async fn revoke_invitation(&self, id: &str) -> Answer<Invitation> {
        self.delete(&format!("/api/v1/invitations/{id}")).await
    }

    pub async fn accept_invitation(&self, id: &str) -> Answer<Invitation> {
        self.post(&format!("/api/v1/invitations/{id}/accept")).await
    }

    pub async fn decline_invitation(&self, id: &str) -> Answer<Invitation> {
        self.post(&format!("/api/v1/invitations/{id}/decline"))
            .await
    }

    // --- Sync runs ---------------------------------------------------------------------

    /// `include_hidden`: `None` leaves the parameter out.
    pub async fn list_runs(
        &self,
        id: &str,
        include_hidden: Option<bool>,
        page: &PageQuery,
    ) -> Answer<Page<SyncRun>> {
        #[derive(Serialize)]
        struct Query<'q> {
            #[serde(skip_serializing_if = "Option::is_none")]
            include_hidden: Option<bool>,
            #[serde(skip_serializing_if = "Option::is_none")]
            limit: Option<u64>,
            #[serde(skip_serializing_if = "Option::is_none")]
            cursor: Option<&'q str>,
        }
        let query = Query {
            include_hidden,
            limit: page.limit,
            cursor: page.cursor.as_deref(),
        };
        self.get_with(&format!("/api/v1/connections/{id}/runs"), &query)
            .await
    }

    pub async fn request_run(&self, id: &str, body: &RunRequest) -> Answer<SyncRun> {
        self.post_with(&format!("/api/v1/connections/{id}/runs"), body)
            .await
    }

    pub async fn report_run_progress(
        &self,
        id: &str,
        run_id: &str,
        body: &RunProgress,
    ) -> Answer<SyncRun> {
        self.patch_with(&format!("/api/v1/connections/{id}/runs/{run_id}"), body)
            .await
    }

    pub async fn hide_run(&self, id: &str, run_id: &str) -> Answer<SyncRun> {
        self.post(&format!("/api/v1/connections/{id}/runs/{run_id}/hide"))
            .await
    }

    pub async fn unhide_run(&self, id: &str, run_id: &str) -> Answer<SyncRun> {
        self.post(&format!("/api/v1/connections/{id}/runs/{run_id}/unhide"))
            .await
    }

    // --- Views -------------------------------------------------------------------------

    pub async fn list_views(&self, id: &str, page: &PageQuery) -> Answer<Page<ConnectionView>> {
        self.get_with(&format!("/api/v1/connections/{id}/views"), page)
            .await
    }

    pub async fn create_view(&self, id: &str, body: &ViewInput) -> Answer<ConnectionView> {
        self.post_with(&format!("/api/v1/connections/{id}/views"), body)
            .await
    }

    pub async fn update_view(
        &self,
        id: &str,
        view_id: &str,
        body: &ViewInput,
    ) -> Answer<ConnectionView> {
        self.put_with(&format!("/api/v1/connections/{id}/views/{view_id}"), body)
            .await
    }

    pub async fn delete_view(&self, id: &str, view_id: &str) -> Answer<()> {
        self.delete(&format!("/api/v1/connections/{id}/views/{view_id}"))
            .await
    }
}

/// An operation's answer with its type erased, for tables of calls.
pub type Pending<'a> = Pin<Box<dyn Future<Output = reqwest::Response> + 'a>>;

/// Erases the type of an operation's answer (see [`Pending`]).
pub fn pending<'a, T: DeserializeOwned + 'a>(
    answer: impl Future<Output = Answer<T>> + 'a,
) -> Pending<'a> {
    Box::pin(async move { answer.await.into_inner() })
}

/// Every item of a paginated list, `limit` per page: `page` asks for one page (with the
/// `limit` and `cursor` given), which must answer 200 with at most `limit` items; the next
/// `cursor` is the page's `next_cursor`, until it is absent.
pub async fn all_pages<P: DeserializeOwned>(
    limit: u64,
    mut page: impl AsyncFnMut(PageQuery) -> Answer<P>,
) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..1000 {
        let query = PageQuery {
            limit: Some(limit),
            cursor: cursor.take(),
        };
        let body = page(query).await.expect_json(200).await;
        let got = body["items"].as_array().unwrap();
        assert!(got.len() <= usize::try_from(limit).unwrap(), "{body}");
        items.extend(got.iter().cloned());
        match body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return items,
        }
    }
    panic!("the list never ended");
}

// --- Request bodies the tests build often -----------------------------------------------

/// A new connection of `kind` named `name`, in the tenant's default time zone.
pub fn new_connection(name: &str, kind: &str) -> NewConnection {
    NewConnection {
        name: name.to_owned(),
        kind: kind.to_owned(),
        timezone: None,
    }
}

/// A Users-tab change of `active` alone.
pub fn active(active: bool) -> UserPatch {
    UserPatch {
        active: Some(active),
        elevation: None,
    }
}

/// A Users-tab change of `elevation` alone.
pub fn elevation(elevation: hubkeep_shared::Elevation) -> UserPatch {
    UserPatch {
        active: None,
        elevation: Some(elevation),
    }
}

/// An invitation of a hub user to `role`.
pub fn invitation(user_id: &str, role: ConnectionRole) -> NewInvitation {
    NewInvitation {
        user_id: Some(UserId::new(user_id)),
        email: None,
        role,
        retain_role: None,
    }
}

/// An invitation of an email address to `role`.
pub fn email_invitation(email: &str, role: ConnectionRole) -> NewInvitation {
    NewInvitation {
        user_id: None,
        email: Some(email.to_owned()),
        role,
        retain_role: None,
    }
}

/// A view named `name` with `definition`.
pub fn view(name: &str, definition: Value) -> ViewInput {
    ViewInput {
        name: name.to_owned(),
        definition,
    }
}

/// A payment of `months` for `amount_cents` in `currency`.
pub fn payment(months: u32, amount_cents: i64, currency: &str) -> PaymentInput {
    PaymentInput {
        months,
        amount_cents,
        currency: currency.to_owned(),
    }
}

/// A progress report moving a run to `status`, nothing else.
pub fn progress(status: RunStatus) -> RunProgress {
    RunProgress {
        status,
        records_processed: None,
        error: None,
        details: None,
    }
}

/// Query strings and JSON bodies of any serialisable type, behind one non-generic `call`.
mod erased {
    use serde::Serialize;

    pub trait Query {
        fn apply(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder;
    }

    impl<T: Serialize> Query for T {
        fn apply(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
            req.query(self)
        }
    }

    pub trait Body {
        fn apply(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder;
    }

    impl<T: Serialize> Body for T {
        fn apply(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
            req.json(self)
        }
    }
}
