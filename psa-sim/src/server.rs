//! The HTTP surface: Autotask-style routes, fault injection and the `/_sim` control routes.

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::http::StatusCode;
use actix_web::http::header::RETRY_AFTER;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::{Map, Value, json};

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

use crate::faults::{AUTOTASK_THREAD_LIMIT, Faults, SimStats};
use crate::webhooks::{Outgoing, Refusal, Webhooks};
use crate::{DirectoryFile, MAX_PAGE_SIZE, PsaResource, PsaSecurityLevel, SimConfig};

/// Autotask's answer when an integration exceeds its concurrent-thread allowance.
const THREAD_LIMIT_MESSAGE: &str = "Thread threshold of 3 threads has been exceeded for this API \
     integration and the current Autotask database. Please wait and try again.";
/// Autotask's answer when the hourly request allowance is exhausted.
const RATE_LIMIT_MESSAGE: &str = "API request threshold has been exceeded for the current Autotask database. Please wait and try again.";
/// A body that starts like a real answer and stops mid-string.
const MALFORMED_BODY: &str = r#"{"items":[{"id":29682885,"firstName":"Marg"#;

/// Everything the request handlers share with [`crate::SimHandle`].
#[derive(Debug)]
pub(crate) struct Shared {
    directory: RwLock<DirectoryFile>,
    faults: Mutex<Faults>,
    stats: Mutex<SimStats>,
    api_user: String,
    integration_code: String,
    secret: String,
    page_size: usize,
    missing_resource_as_404: bool,
    pub(crate) public_url: Option<String>,
    /// Whether Resources offers webhooks ([`SimConfig::resource_webhooks`]).
    resource_webhooks: bool,
    webhooks: Mutex<Webhooks>,
    callouts: UnboundedSender<Outgoing>,
    /// Taken once by the dispatcher when the server starts.
    pub(crate) callout_queue: Mutex<Option<UnboundedReceiver<Outgoing>>>,
}

impl Shared {
    pub(crate) fn new(config: SimConfig) -> Self {
        let public_url = config.public_url.map(|url| {
            if url.ends_with('/') {
                url
            } else {
                format!("{url}/")
            }
        });
        let (callouts, queue) = tokio::sync::mpsc::unbounded_channel();
        Self {
            directory: RwLock::new(config.directory),
            faults: Mutex::new(config.faults),
            stats: Mutex::new(SimStats::default()),
            api_user: config.api_user,
            integration_code: config.integration_code,
            secret: config.secret,
            page_size: config.page_size.clamp(1, MAX_PAGE_SIZE),
            missing_resource_as_404: config.missing_resource_as_404,
            public_url,
            resource_webhooks: config.resource_webhooks,
            webhooks: Mutex::new(Webhooks::default()),
            callouts,
            callout_queue: Mutex::new(Some(queue)),
        }
    }

    pub(crate) fn webhooks(&self) -> MutexGuard<'_, Webhooks> {
        self.webhooks.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Serves `directory` from now on; every webhook hears of the resources that changed.
    pub(crate) fn replace_directory(&self, directory: DirectoryFile) {
        let mut served = self.directory_mut();
        let out = self
            .webhooks()
            .changed(&served.resources, &directory.resources);
        *served = directory;
        drop(served);
        self.send(out);
    }

    fn send(&self, out: impl IntoIterator<Item = Outgoing>) {
        for callout in out {
            // The dispatcher lives as long as the server; after it, nobody listens.
            let _ = self.callouts.send(callout);
        }
    }

    // A panicking handler must not wedge the simulator for every later test, so poisoned
    // locks are simply taken over.
    pub(crate) fn faults(&self) -> MutexGuard<'_, Faults> {
        self.faults.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn stats(&self) -> MutexGuard<'_, SimStats> {
        self.stats.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn directory(&self) -> RwLockReadGuard<'_, DirectoryFile> {
        self.directory
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn directory_mut(&self) -> RwLockWriteGuard<'_, DirectoryFile> {
        self.directory
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn reset_stats(&self) {
        let mut stats = self.stats();
        let in_flight = stats.in_flight;
        *stats = SimStats {
            in_flight,
            peak_in_flight: in_flight,
            ..SimStats::default()
        };
    }

    /// Counts one API request and marks it in flight until the guard drops (also when the
    /// client gives up and the handler is cancelled).
    fn enter(&self, route: &str) -> InFlight<'_> {
        let mut stats = self.stats();
        stats.requests += 1;
        *stats.by_route.entry(route.to_owned()).or_default() += 1;
        stats.in_flight += 1;
        stats.peak_in_flight = stats.peak_in_flight.max(stats.in_flight);
        InFlight {
            shared: self,
            at_entry: stats.in_flight,
        }
    }

    /// Runs one Autotask request through latency, faults and authentication before `answer`.
    async fn serve(
        &self,
        req: &HttpRequest,
        route: &str,
        authenticated: bool,
        answer: impl FnOnce(&Self) -> HttpResponse,
    ) -> HttpResponse {
        let flight = self.enter(route);
        let latency = self.faults().latency_ms;
        if latency > 0 {
            actix_web::rt::time::sleep(Duration::from_millis(latency)).await;
        }
        let response = match self.injected_fault(req, authenticated, flight.at_entry) {
            Some(response) => response,
            None => answer(self),
        };
        *self
            .stats()
            .by_status
            .entry(response.status().as_u16())
            .or_default() += 1;
        drop(flight);
        response
    }

    fn injected_fault(
        &self,
        req: &HttpRequest,
        authenticated: bool,
        in_flight: usize,
    ) -> Option<HttpResponse> {
        let mut faults = self.faults();
        if authenticated && faults.bad_credentials {
            return Some(errors(
                StatusCode::UNAUTHORIZED,
                "The UserName or Secret is not valid (simulated).",
            ));
        }
        if faults.fail_500 > 0 {
            faults.fail_500 -= 1;
            return Some(errors(
                StatusCode::INTERNAL_SERVER_ERROR,
                "An unexpected error occurred on the server (simulated).",
            ));
        }
        // Zone discovery is exempt from Autotask's request and thread limits.
        if !authenticated {
            drop(faults);
            return None;
        }
        if faults.rate_limit > 0 {
            faults.rate_limit -= 1;
            return Some(too_many(RATE_LIMIT_MESSAGE, faults.retry_after_secs));
        }
        if faults.thread_limit > 0 {
            faults.thread_limit -= 1;
            return Some(too_many(THREAD_LIMIT_MESSAGE, faults.retry_after_secs));
        }
        if faults.enforce_thread_limit && in_flight > AUTOTASK_THREAD_LIMIT {
            return Some(too_many(THREAD_LIMIT_MESSAGE, faults.retry_after_secs));
        }
        if faults.malformed_json > 0 {
            faults.malformed_json -= 1;
            return Some(
                HttpResponse::Ok()
                    .content_type("application/json")
                    .body(MALFORMED_BODY),
            );
        }
        drop(faults);
        if authenticated {
            return self.check_credentials(req);
        }
        None
    }

    /// Autotask answers bad user credentials with 401 but a bad integration code with 500.
    fn check_credentials(&self, req: &HttpRequest) -> Option<HttpResponse> {
        let header = |name: &str| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
        };
        let user_ok = header("UserName").is_some_and(|u| u.eq_ignore_ascii_case(&self.api_user));
        let secret_ok = header("Secret") == Some(self.secret.as_str());
        if !(user_ok && secret_ok) {
            return Some(errors(
                StatusCode::UNAUTHORIZED,
                "The UserName or Secret is not valid.",
            ));
        }
        if header("ApiIntegrationCode") != Some(self.integration_code.as_str()) {
            return Some(errors(
                StatusCode::INTERNAL_SERVER_ERROR,
                "IntegrationCode is invalid.",
            ));
        }
        None
    }

    fn base_url(&self, req: &HttpRequest) -> String {
        match &self.public_url {
            Some(url) => url.clone(),
            None => {
                let info = req.connection_info();
                format!("{}://{}/", info.scheme(), info.host())
            }
        }
    }

    fn zone_information(&self, req: &HttpRequest, user: Option<&str>) -> HttpResponse {
        match user {
            Some(user) if user.trim().eq_ignore_ascii_case(&self.api_user) => {
                let base = self.base_url(req);
                // Autotask announces the REST root with its `ATServicesRest/` path (SPEC S11).
                HttpResponse::Ok().json(json!({
                    "zoneName": "Hubkeep PSA simulator",
                    "url": format!("{base}ATServicesRest/"),
                    "webUrl": base,
                    "ci": 29_680_000,
                }))
            }
            _ => errors(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Zone information could not be determined for the user.",
            ),
        }
    }

    fn bridged(&self) -> bool {
        !self.faults().missing_bridge
    }

    /// The entity named by a path segment, as this database has it: without the bridge,
    /// `SecurityLevels` does not exist.
    fn entity(&self, segment: &str) -> Option<Entity> {
        Entity::parse(segment).filter(|e| *e != Entity::SecurityLevels || self.bridged())
    }

    fn items(&self, entity: Entity) -> Vec<Value> {
        let bridged = self.bridged();
        let directory = self.directory();
        let mut items: Vec<(i64, Value)> = match entity {
            Entity::Resources => directory
                .resources
                .iter()
                .map(|r| {
                    let mut item = resource_json(r);
                    if !bridged && let Some(object) = item.as_object_mut() {
                        object.remove("securityLevelID");
                    }
                    (r.id, item)
                })
                .collect(),
            Entity::SecurityLevels => directory
                .security_levels
                .iter()
                .map(|l| (l.id, level_json(l)))
                .collect(),
        };
        items.sort_by_key(|(id, _)| *id);
        items.into_iter().map(|(_, item)| item).collect()
    }

    fn query(
        &self,
        req: &HttpRequest,
        entity: &str,
        search: Result<Value, String>,
        offset: usize,
    ) -> HttpResponse {
        let Some(entity) = self.entity(entity) else {
            return unknown_entity(entity);
        };
        let search = match search.and_then(|s| Search::parse(&s).map(|parsed| (s, parsed))) {
            Ok(search) => search,
            Err(message) => return errors(StatusCode::INTERNAL_SERVER_ERROR, message),
        };
        let (
            raw_search,
            Search {
                filter,
                max_records,
            },
        ) = search;
        // Unknown fields and operators are refused even when nothing would match.
        let mut template = entity.template();
        if !self.bridged()
            && let Some(object) = template.as_object_mut()
        {
            object.remove("securityLevelID");
        }
        if let Err(message) = matches_all(&template, &filter) {
            return errors(StatusCode::INTERNAL_SERVER_ERROR, message);
        }
        let matching: Vec<Value> = self
            .items(entity)
            .into_iter()
            .filter(|item| matches_all(item, &filter).unwrap_or(false))
            .collect();
        let page = max_records.min(self.page_size);
        let start = offset.min(matching.len());
        let end = (start + page).min(matching.len());
        let items = &matching[start..end];
        let base = self.base_url(req);
        let link = |at: usize| page_link(&base, entity, at, max_records, &raw_search);
        let next = (end < matching.len()).then(|| link(end));
        let prev = (start > 0).then(|| link(start.saturating_sub(page)));
        HttpResponse::Ok().json(json!({
            "items": items,
            "pageDetails": {
                "count": items.len(),
                "requestCount": max_records,
                "prevPageUrl": prev,
                "nextPageUrl": next,
            }
        }))
    }

    /// `GET {Entity}/entityInformation`: what the API may do with the entity. Autotask's
    /// page lists these fields; the `info` envelope is how its answers arrive.
    fn entity_information(&self, entity: &str) -> HttpResponse {
        let Some(entity) = self.entity(entity) else {
            return unknown_entity(entity);
        };
        HttpResponse::Ok().json(json!({
            "info": {
                "name": entity.singular(),
                "canCreate": false,
                "canDelete": false,
                "canQuery": true,
                "canUpdate": false,
                "userAccessForCreate": 0,
                "userAccessForDelete": 0,
                "userAccessForQuery": 1,
                "userAccessForUpdate": 0,
                "hasUserDefinedFields": entity == Entity::Resources,
                // Autotask documents no webhooks for Resources; the switch models the day it
                // does (crate::webhooks).
                "supportsWebhookCallouts": entity == Entity::Resources && self.resource_webhooks,
            }
        }))
    }

    fn by_id(&self, entity: &str, id: &str) -> HttpResponse {
        let Some(entity) = self.entity(entity) else {
            return unknown_entity(entity);
        };
        let Ok(id) = id.trim().parse::<i64>() else {
            return errors(
                StatusCode::NOT_FOUND,
                format!("'{id}' is not a valid {} id.", entity.name()),
            );
        };
        let found = self
            .items(entity)
            .into_iter()
            .find(|item| item.get("id").and_then(Value::as_i64) == Some(id));
        match found {
            Some(item) => HttpResponse::Ok().json(json!({ "item": item })),
            None if self.missing_resource_as_404 => {
                HttpResponse::NotFound().json(json!({ "item": null }))
            }
            None => HttpResponse::Ok().json(json!({ "item": null })),
        }
    }
}

/// Marks a request in flight; see [`Shared::enter`].
struct InFlight<'a> {
    shared: &'a Shared,
    at_entry: usize,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let mut stats = self.shared.stats();
        stats.in_flight = stats.in_flight.saturating_sub(1);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entity {
    Resources,
    SecurityLevels,
}

impl Entity {
    /// Autotask's paths are case-insensitive.
    fn parse(segment: &str) -> Option<Self> {
        if segment.eq_ignore_ascii_case("Resources") {
            Some(Self::Resources)
        } else if segment.eq_ignore_ascii_case("SecurityLevels") {
            Some(Self::SecurityLevels)
        } else {
            None
        }
    }

    const fn name(self) -> &'static str {
        match self {
            Self::Resources => "Resources",
            Self::SecurityLevels => "SecurityLevels",
        }
    }

    const fn singular(self) -> &'static str {
        match self {
            Self::Resources => "Resource",
            Self::SecurityLevels => "SecurityLevel",
        }
    }

    /// An item with every field, to validate filters against.
    fn template(self) -> Value {
        match self {
            Self::Resources => resource_json(&PsaResource {
                id: 0,
                first_name: String::new(),
                last_name: String::new(),
                email: String::new(),
                user_name: String::new(),
                is_active: false,
                security_level_id: 0,
            }),
            Self::SecurityLevels => level_json(&PsaSecurityLevel {
                id: 0,
                name: String::new(),
                is_active: false,
                hub_menu: false,
                qbo_extension_admin: false,
                other_extensions_admin: false,
                resource_impersonation: false,
            }),
        }
    }
}

/// A resource as Autotask serialises it: camelCase, with some of the many fields Hubkeep does
/// not read, so clients prove they tolerate them.
fn resource_json(r: &PsaResource) -> Value {
    json!({
        "id": r.id,
        "firstName": r.first_name,
        "middleName": null,
        "lastName": r.last_name,
        "email": r.email,
        "email2": null,
        "userName": r.user_name,
        "isActive": r.is_active,
        "securityLevelID": r.security_level_id,
        "resourceType": "Employee",
        "licenseType": 1,
        "userType": 1,
        "title": null,
        "userDefinedFields": [],
    })
}

fn level_json(l: &PsaSecurityLevel) -> Value {
    json!({
        "id": l.id,
        "name": l.name,
        "isActive": l.is_active,
        "hubMenu": l.hub_menu,
        "qboExtensionAdmin": l.qbo_extension_admin,
        "otherExtensionsAdmin": l.other_extensions_admin,
        "resourceImpersonation": l.resource_impersonation,
    })
}

fn errors(status: StatusCode, message: impl Into<String>) -> HttpResponse {
    HttpResponse::build(status).json(json!({ "errors": [message.into()] }))
}

fn too_many(message: &str, retry_after_secs: Option<u64>) -> HttpResponse {
    let mut response = HttpResponse::build(StatusCode::TOO_MANY_REQUESTS);
    if let Some(secs) = retry_after_secs {
        response.insert_header((RETRY_AFTER, secs.to_string()));
    }
    response.json(json!({ "errors": [message] }))
}

fn unknown_entity(segment: &str) -> HttpResponse {
    errors(
        StatusCode::NOT_FOUND,
        format!("The entity '{segment}' does not exist."),
    )
}

/// The absolute link to another page of the same query; Autotask's links are GETs that carry
/// the paging state and the original search in the query string.
fn page_link(
    base: &str,
    entity: Entity,
    offset: usize,
    max_records: usize,
    search: &Value,
) -> String {
    let paging = json!({ "offset": offset, "maxRecords": max_records }).to_string();
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("paging", &paging)
        .append_pair("search", &search.to_string())
        .finish();
    format!(
        "{base}ATServicesRest/V1.0/{}/query/next?{query}",
        entity.name()
    )
}

/// A parsed query body.
struct Search {
    filter: Vec<Value>,
    max_records: usize,
}

impl Search {
    fn parse(value: &Value) -> Result<Self, String> {
        let object = value
            .as_object()
            .ok_or("The query must be a JSON object.")?;
        let filter = match get_ci(object, "filter") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(filter)) => filter.clone(),
            Some(_) => return Err("'filter' must be an array of conditions.".into()),
        };
        let max_records = match get_ci(object, "maxRecords") {
            None | Some(Value::Null) => MAX_PAGE_SIZE,
            Some(value) => match value.as_u64().and_then(|n| usize::try_from(n).ok()) {
                Some(n) if (1..=MAX_PAGE_SIZE).contains(&n) => n,
                _ => return Err(format!("MaxRecords must be between 1 and {MAX_PAGE_SIZE}.")),
            },
        };
        Ok(Self {
            filter,
            max_records,
        })
    }
}

/// Autotask matches JSON keys and field names case-insensitively.
fn get_ci<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    object
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

/// Top-level conditions are ANDed, as in Autotask.
fn matches_all(item: &Value, filter: &[Value]) -> Result<bool, String> {
    let mut all = true;
    for condition in filter {
        // Evaluate every condition so an invalid one is reported even after a false one.
        all &= matches(item, condition)?;
    }
    Ok(all)
}

fn matches(item: &Value, condition: &Value) -> Result<bool, String> {
    let condition = condition
        .as_object()
        .ok_or("Each filter condition must be an object.")?;
    let op = get_ci(condition, "op")
        .and_then(Value::as_str)
        .ok_or("Each filter condition needs an 'op'.")?
        .to_ascii_lowercase();
    if op == "and" || op == "or" {
        let items = get_ci(condition, "items")
            .and_then(Value::as_array)
            .ok_or_else(|| format!("The '{op}' condition needs 'items'."))?;
        let results = items
            .iter()
            .map(|c| matches(item, c))
            .collect::<Result<Vec<bool>, String>>()?;
        return Ok(if op == "and" {
            results.iter().all(|r| *r)
        } else {
            results.iter().any(|r| *r)
        });
    }
    let field = get_ci(condition, "field")
        .and_then(Value::as_str)
        .ok_or("Each filter condition needs a 'field'.")?;
    let object = item.as_object().ok_or("Items are objects.")?;
    let actual = get_ci(object, field)
        .ok_or_else(|| format!("Unable to find the field '{field}' in the entity."))?;
    let value = get_ci(condition, "value");
    let expected = || value.ok_or_else(|| format!("The '{op}' condition needs a 'value'."));
    let text = |v: &Value| scalar_text(v).to_lowercase();
    Ok(match op.as_str() {
        "exist" => !actual.is_null(),
        "notexist" => actual.is_null(),
        "eq" => scalar_eq(actual, expected()?),
        "noteq" => !scalar_eq(actual, expected()?),
        "contains" => text(actual).contains(&text(expected()?)),
        "beginswith" => text(actual).starts_with(&text(expected()?)),
        "endswith" => text(actual).ends_with(&text(expected()?)),
        "in" | "notin" => {
            let options = expected()?
                .as_array()
                .ok_or_else(|| format!("The '{op}' condition needs an array 'value'."))?;
            let found = options.iter().any(|o| scalar_eq(actual, o));
            found == (op == "in")
        }
        "gt" | "gte" | "lt" | "lte" => {
            let (Some(a), Some(b)) = (actual.as_f64(), expected()?.as_f64()) else {
                return Err(format!("The '{op}' condition compares numbers only."));
            };
            match op.as_str() {
                "gt" => a > b,
                "gte" => a >= b,
                "lt" => a < b,
                _ => a <= b,
            }
        }
        other => return Err(format!("The operator '{other}' is not supported.")),
    })
}

/// Strings compare case-insensitively, and `"29682885"` equals `29682885` (Autotask accepts
/// either form of a value).
fn scalar_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Null, Value::Null) => true,
        (Value::Null, _) | (_, Value::Null) => false,
        _ => scalar_text(a).to_lowercase() == scalar_text(b).to_lowercase(),
    }
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.trim().to_owned(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

type Sim = web::Data<Shared>;
type QueryMap = web::Query<HashMap<String, String>>;

fn param<'a>(query: &'a QueryMap, name: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn parse_json(text: &str, what: &str) -> Result<Value, String> {
    serde_json::from_str(text).map_err(|e| format!("The {what} is not valid JSON: {e}"))
}

async fn zone_information(req: HttpRequest, sim: Sim, query: QueryMap) -> HttpResponse {
    sim.serve(&req, "GET zoneInformation", false, |sim| {
        sim.zone_information(&req, param(&query, "user"))
    })
    .await
}

async fn query_post(
    req: HttpRequest,
    sim: Sim,
    entity: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let route = format!("POST {entity}/query");
    sim.serve(&req, &route, true, |sim| {
        let search = std::str::from_utf8(&body)
            .map_err(|_| "The request body is not UTF-8.".to_owned())
            .and_then(|text| parse_json(text, "request body"));
        sim.query(&req, &entity, search, 0)
    })
    .await
}

async fn query_get(
    req: HttpRequest,
    sim: Sim,
    entity: web::Path<String>,
    query: QueryMap,
) -> HttpResponse {
    let route = format!("GET {entity}/query");
    sim.serve(&req, &route, true, |sim| {
        let search = param(&query, "search")
            .ok_or_else(|| "The 'search' parameter is required.".to_owned())
            .and_then(|text| parse_json(text, "search parameter"));
        sim.query(&req, &entity, search, 0)
    })
    .await
}

async fn query_next(
    req: HttpRequest,
    sim: Sim,
    entity: web::Path<String>,
    query: QueryMap,
) -> HttpResponse {
    let route = format!("GET {entity}/query/next");
    sim.serve(&req, &route, true, |sim| {
        let offset = param(&query, "paging")
            .ok_or_else(|| "The 'paging' parameter is required.".to_owned())
            .and_then(|text| parse_json(text, "paging parameter"))
            .and_then(|paging| {
                paging
                    .get("offset")
                    .and_then(Value::as_u64)
                    .and_then(|n| usize::try_from(n).ok())
                    .ok_or_else(|| "The paging parameter has no offset.".to_owned())
            });
        let offset = match offset {
            Ok(offset) => offset,
            Err(message) => return errors(StatusCode::INTERNAL_SERVER_ERROR, message),
        };
        let search = param(&query, "search")
            .ok_or_else(|| "The 'search' parameter is required.".to_owned())
            .and_then(|text| parse_json(text, "search parameter"));
        sim.query(&req, &entity, search, offset)
    })
    .await
}

async fn by_id(req: HttpRequest, sim: Sim, path: web::Path<(String, String)>) -> HttpResponse {
    let (entity, id) = path.into_inner();
    if id.eq_ignore_ascii_case("entityInformation") {
        let route = format!("GET {entity}/entityInformation");
        return sim
            .serve(&req, &route, true, |sim| sim.entity_information(&entity))
            .await;
    }
    let route = format!("GET {entity}/{{id}}");
    sim.serve(&req, &route, true, |sim| sim.by_id(&entity, &id))
        .await
}

async fn get_faults(sim: Sim) -> HttpResponse {
    HttpResponse::Ok().json(&*sim.faults())
}

async fn put_faults(sim: Sim, faults: web::Json<Faults>) -> HttpResponse {
    let faults = faults.into_inner();
    *sim.faults() = faults.clone();
    HttpResponse::Ok().json(faults)
}

async fn get_stats(sim: Sim) -> HttpResponse {
    HttpResponse::Ok().json(&*sim.stats())
}

async fn delete_stats(sim: Sim) -> HttpResponse {
    sim.reset_stats();
    HttpResponse::NoContent().finish()
}

async fn put_directory(sim: Sim, directory: web::Json<DirectoryFile>) -> HttpResponse {
    let directory = directory.into_inner();
    if let Err(e) = crate::check_directory(&directory) {
        return errors(StatusCode::BAD_REQUEST, e.to_string());
    }
    sim.replace_directory(directory);
    HttpResponse::NoContent().finish()
}

fn refused(refusal: Refusal) -> HttpResponse {
    match refusal {
        Refusal::NotFound(message) => errors(StatusCode::NOT_FOUND, message),
        Refusal::Invalid(message) => errors(StatusCode::INTERNAL_SERVER_ERROR, message),
    }
}

fn webhook_id(id: &str) -> Result<i64, Refusal> {
    id.trim()
        .parse::<i64>()
        .map_err(|_| Refusal::NotFound(format!("'{id}' is not a valid id.")))
}

/// Runs one `ResourceWebhooks` request through [`Shared::serve`]; an unknown entity when the
/// simulator offers no Resource webhooks.
async fn webhook_call(
    req: &HttpRequest,
    sim: &Sim,
    route: &str,
    answer: impl FnOnce(&Shared) -> HttpResponse,
) -> HttpResponse {
    sim.serve(req, route, true, |sim| {
        if sim.resource_webhooks {
            answer(sim)
        } else {
            unknown_entity("ResourceWebhooks")
        }
    })
    .await
}

async fn create_webhook(req: HttpRequest, sim: Sim, body: web::Json<Value>) -> HttpResponse {
    webhook_call(&req, &sim, "POST ResourceWebhooks", |sim| {
        match sim.webhooks().create(&body) {
            Ok(id) => HttpResponse::Ok().json(json!({ "itemId": id })),
            Err(refusal) => refused(refusal),
        }
    })
    .await
}

async fn get_webhook(req: HttpRequest, sim: Sim, id: web::Path<String>) -> HttpResponse {
    webhook_call(
        &req,
        &sim,
        "GET ResourceWebhooks/{id}",
        |sim| match webhook_id(&id).and_then(|id| sim.webhooks().get(id)) {
            Ok(item) => HttpResponse::Ok().json(json!({ "item": item })),
            Err(refusal) => refused(refusal),
        },
    )
    .await
}

async fn delete_webhook(req: HttpRequest, sim: Sim, id: web::Path<String>) -> HttpResponse {
    webhook_call(&req, &sim, "DELETE ResourceWebhooks/{id}", |sim| {
        let deleted = webhook_id(&id).and_then(|id| Ok((id, sim.webhooks().delete(id)?)));
        match deleted {
            Ok((id, notice)) => {
                sim.send([notice]);
                HttpResponse::Ok().json(json!({ "itemId": id }))
            }
            Err(refusal) => refused(refusal),
        }
    })
    .await
}

async fn add_webhook_field(
    req: HttpRequest,
    sim: Sim,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> HttpResponse {
    webhook_call(
        &req,
        &sim,
        "POST ResourceWebhooks/{id}/Fields",
        |sim| match webhook_id(&id).and_then(|id| sim.webhooks().add_field(id, &body)) {
            Ok(row) => HttpResponse::Ok().json(json!({ "itemId": row })),
            Err(refusal) => refused(refusal),
        },
    )
    .await
}

async fn list_webhook_fields(req: HttpRequest, sim: Sim, id: web::Path<String>) -> HttpResponse {
    webhook_call(
        &req,
        &sim,
        "GET ResourceWebhooks/{id}/Fields",
        |sim| match webhook_id(&id).and_then(|id| sim.webhooks().fields(id)) {
            Ok(items) => HttpResponse::Ok().json(json!({ "items": items })),
            Err(refusal) => refused(refusal),
        },
    )
    .await
}

async fn get_callouts(sim: Sim) -> HttpResponse {
    HttpResponse::Ok().json(&sim.webhooks().sent)
}

async fn get_webhooks(sim: Sim) -> HttpResponse {
    HttpResponse::Ok().json(sim.webhooks().list())
}

async fn deactivate_webhook(sim: Sim, id: web::Path<i64>) -> HttpResponse {
    let deactivated = sim.webhooks().deactivate(id.into_inner());
    match deactivated {
        Ok(notice) => {
            sim.send([notice]);
            HttpResponse::NoContent().finish()
        }
        Err(refusal) => refused(refusal),
    }
}

/// The fixed segments of Autotask's REST paths, in the spelling the routes below use.
const FIXED_SEGMENTS: [&str; 7] = [
    "atservicesrest",
    "v1.0",
    "zoneInformation",
    "query",
    "next",
    "ResourceWebhooks",
    "Fields",
];

/// Autotask's paths are case-insensitive (`ATServicesRest/V1.0/zoneinformation` works as
/// well as `atservicesrest/v1.0/zoneInformation`), but actix matches literally: the fixed
/// segments are rewritten to one spelling before routing. Entity names are matched
/// case-insensitively by [`Entity::parse`].
fn canonical_path(path: &str) -> Option<String> {
    let mut changed = false;
    let segments: Vec<&str> = path
        .split('/')
        .map(|segment| {
            match FIXED_SEGMENTS
                .iter()
                .find(|fixed| fixed.eq_ignore_ascii_case(segment))
            {
                Some(fixed) if *fixed != segment => {
                    changed = true;
                    *fixed
                }
                _ => segment,
            }
        })
        .collect();
    changed.then(|| segments.join("/"))
}

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/atservicesrest/v1.0")
            .service(web::resource("/zoneInformation").route(web::get().to(zone_information)))
            .service(web::resource("/ResourceWebhooks").route(web::post().to(create_webhook)))
            .service(
                web::resource("/ResourceWebhooks/{id}")
                    .route(web::get().to(get_webhook))
                    .route(web::delete().to(delete_webhook)),
            )
            .service(
                web::resource("/ResourceWebhooks/{id}/Fields")
                    .route(web::post().to(add_webhook_field))
                    .route(web::get().to(list_webhook_fields)),
            )
            .service(
                web::resource("/{entity}/query")
                    .route(web::post().to(query_post))
                    .route(web::get().to(query_get)),
            )
            .service(web::resource("/{entity}/query/next").route(web::get().to(query_next)))
            .service(web::resource("/{entity}/{id}").route(web::get().to(by_id))),
    );
    cfg.service(
        web::scope("/_sim")
            .service(
                web::resource("/faults")
                    .route(web::get().to(get_faults))
                    .route(web::put().to(put_faults)),
            )
            .service(
                web::resource("/stats")
                    .route(web::get().to(get_stats))
                    .route(web::delete().to(delete_stats)),
            )
            .service(web::resource("/directory").route(web::put().to(put_directory)))
            .service(web::resource("/callouts").route(web::get().to(get_callouts)))
            .service(web::resource("/webhooks").route(web::get().to(get_webhooks)))
            .service(
                web::resource("/webhooks/{id}/deactivate")
                    .route(web::post().to(deactivate_webhook)),
            ),
    );
}

/// Builds the server on an already bound listener; must run inside an actix system.
pub(crate) fn build(
    shared: Arc<Shared>,
    listener: TcpListener,
    handle_signals: bool,
) -> anyhow::Result<Server> {
    let queue = shared
        .callout_queue
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
    if let Some(queue) = queue {
        actix_web::rt::spawn(crate::webhooks::dispatch(Arc::clone(&shared), queue));
    }
    let data = web::Data::from(shared);
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(web::JsonConfig::default().limit(4 << 20))
            .wrap_fn(|mut req, srv| {
                if let Some(path) = canonical_path(req.path()) {
                    let query = req.query_string();
                    let uri = if query.is_empty() {
                        path
                    } else {
                        format!("{path}?{query}")
                    };
                    if let Ok(uri) = uri.parse::<actix_web::http::Uri>() {
                        req.match_info_mut().get_mut().update(&uri);
                        req.head_mut().uri = uri;
                    }
                }
                actix_web::dev::Service::call(srv, req)
            })
            .configure(routes)
    })
    // One worker is plenty: every handler is async, so requests still overlap (which the
    // thread-limit switch relies on), and tests start many simulators.
    .workers(1)
    .shutdown_timeout(1);
    if !handle_signals {
        server = server.disable_signals();
    }
    Ok(server.listen(listener)?.run())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource() -> Value {
        resource_json(&PsaResource {
            id: 29682885,
            first_name: "Margaret".into(),
            last_name: "Chen".into(),
            email: "Margaret.Chen@northwindit.example".into(),
            user_name: "mchen".into(),
            is_active: true,
            security_level_id: 1,
        })
    }

    fn check(filter: Value) -> Result<bool, String> {
        let filter = filter.as_array().cloned().unwrap_or_default();
        matches_all(&resource(), &filter)
    }

    #[test]
    fn eq_ignores_case_of_fields_and_strings() {
        assert_eq!(
            check(json!([{"op":"eq","field":"email","value":"margaret.chen@NORTHWINDIT.example"}])),
            Ok(true)
        );
        assert_eq!(
            check(json!([{"op":"EQ","field":"UserName","value":"MCHEN"}])),
            Ok(true)
        );
        assert_eq!(
            check(json!([{"op":"eq","field":"id","value":29682885}])),
            Ok(true)
        );
        assert_eq!(
            check(json!([{"op":"eq","field":"id","value":"29682885"}])),
            Ok(true)
        );
        assert_eq!(
            check(json!([{"op":"eq","field":"isActive","value":true}])),
            Ok(true)
        );
        assert_eq!(
            check(json!([{"op":"eq","field":"isActive","value":false}])),
            Ok(false)
        );
        assert_eq!(
            check(json!([{"op":"eq","field":"email","value":"someone@else"}])),
            Ok(false)
        );
    }

    #[test]
    fn other_operators_and_groups() {
        assert_eq!(check(json!([{"op":"exist","field":"id"}])), Ok(true));
        assert_eq!(check(json!([{"op":"notExist","field":"title"}])), Ok(true));
        assert_eq!(
            check(json!([{"op":"beginsWith","field":"lastName","value":"ch"}])),
            Ok(true)
        );
        assert_eq!(
            check(json!([{"op":"in","field":"securityLevelID","value":[1,2]}])),
            Ok(true)
        );
        assert_eq!(
            check(json!([{"op":"gt","field":"id","value":29682885}])),
            Ok(false)
        );
        assert_eq!(
            check(json!([{"op":"or","items":[
                {"op":"eq","field":"id","value":1},
                {"op":"eq","field":"userName","value":"mchen"}
            ]}])),
            Ok(true)
        );
        assert_eq!(check(json!([])), Ok(true));
    }

    #[test]
    fn unknown_fields_and_operators_are_errors() {
        assert!(check(json!([{"op":"eq","field":"shoeSize","value":42}])).is_err());
        assert!(check(json!([{"op":"like","field":"email","value":"x"}])).is_err());
        assert!(check(json!([{"field":"email","value":"x"}])).is_err());
        assert!(check(json!([{"op":"eq","field":"email"}])).is_err());
    }

    #[test]
    fn search_parsing() {
        let parsed = Search::parse(&json!({"filter":[], "MaxRecords": 7})).expect("valid");
        assert_eq!(parsed.max_records, 7);
        assert_eq!(
            Search::parse(&json!({})).expect("valid").max_records,
            MAX_PAGE_SIZE
        );
        assert!(Search::parse(&json!({"maxRecords": 501})).is_err());
        assert!(Search::parse(&json!({"maxRecords": 0})).is_err());
        assert!(Search::parse(&json!({"filter": {}})).is_err());
        assert!(Search::parse(&json!([])).is_err());
    }
}
