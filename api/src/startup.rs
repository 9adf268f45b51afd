//! Building and running the server (the zero-to-production shape: `build` binds, `port`
//! tells where, `run_until_stopped` serves).

use std::net::{SocketAddr, TcpListener};

use actix_web::dev::Server;
use actix_web::middleware::{Compress, from_fn};
use actix_web::{App, HttpServer, web};
use actix_web_prom::PrometheusMetricsBuilder;
use anyhow::Context;
use hubkeep_migrations::{Migrator, MigratorTrait};
use tracing_actix_web::TracingLogger;
use utoipa_swagger_ui::{Config as SwaggerConfig, SwaggerUi};

use std::sync::Arc;

use crate::AppState;
use crate::config::Settings;
use crate::db::pool::{backend_name, connect, connect_reader, shm_file};
use crate::db::rekey;
use crate::error::ApiError;
use crate::http::client_address::TrustedProxies;
use crate::http::error::{json_error_handler, path_error_handler, query_error_handler};
use crate::http::headers::{SecurityHeaders, security_headers};
use crate::http::metrics::{self as metrics_access, MetricsToken};
use crate::http::middleware::{
    body_guard, cache_barrier, method_guard, nul_guard, problem_details,
};
use crate::http::openapi::check::Contract;
use crate::http::{openapi, routes};
use crate::identity::keys::Keys;
use crate::psa::budget::PsaMetrics;
use crate::psa::registry::PsaRegistry;
use crate::tenant::provision;

/// The largest JSON request body read, in bytes; a larger one is 422 `validation_failed`
/// before it is parsed. The largest legitimate body is a settings update with the maximum
/// 1000 accounting mappings: about 380 KB in ASCII, about 780 KB with 3-byte UTF-8
/// descriptions (the hardening suite sends it). View definitions and run details are at
/// most 64 KiB each.
pub const MAX_JSON_BODY_BYTES: usize = 1024 * 1024;

/// A server that is bound and ready to run.
pub struct Application {
    address: SocketAddr,
    /// The metrics listener (`[metrics] bind`), when there is one.
    metrics: Option<(SocketAddr, Server)>,
    contract: Option<web::Data<Contract>>,
    server: Server,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl Application {
    /// Connects to and migrates the database, binds the listener and prepares the server.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let db = connect(&settings).await?;
        Migrator::up(&db, None)
            .await
            .context("migrating the database")?;

        let listener = TcpListener::bind(&settings.bind)
            .with_context(|| format!("binding {}", settings.bind))?;
        let address = listener.local_addr()?;

        // One Prometheus registry per server, so several servers in one process (the tests)
        // do not collide; the HTTP metrics and the PSA call metrics share it.
        let prometheus = prometheus::Registry::new();
        let state = web::Data::new(app_state(&settings, db, &prometheus, address).await?);
        spawn_jobs(&settings, state.get_ref(), address, &prometheus)?;
        let (doc, routes, contract) = documented(&settings);
        let web_dir = settings.web_dir.clone();
        if !routes::console::is_built(&web_dir) {
            tracing::warn!(dir = %web_dir.display(), "console not built: run `just web`");
        }
        let metrics_listener = metrics_listener(&settings, prometheus.clone())?;
        let edge = Edge::new(&settings)?;
        let metrics = http_metrics(prometheus)?;
        let served_contract = contract.clone();
        let mut server = HttpServer::new(move || {
            let web_dir = web_dir.clone();
            let contract = served_contract.clone();
            let edge = edge.clone();
            // The last `wrap` runs first. Compression must see the final body: inside it,
            // `problem_details` rewrites error bodies, which would otherwise leave plain JSON
            // labelled `content-encoding: gzip` (browsers then fail to read every problem).
            App::new()
                .wrap(from_fn(cache_barrier))
                .wrap(from_fn(body_guard))
                .wrap(from_fn(method_guard))
                .wrap(from_fn(nul_guard))
                .wrap(metrics.clone())
                .wrap(from_fn(metrics_access::guard))
                .wrap(from_fn(problem_details))
                .wrap(from_fn(security_headers))
                .wrap(TracingLogger::<crate::http::root_span::PathOnlyRootSpan>::new())
                .wrap(Compress::default())
                .configure(|cfg| edge.configure(cfg))
                .app_data(state.clone())
                .app_data(doc.clone())
                .app_data(routes.clone())
                .configure(|cfg| {
                    if let Some(contract) = contract {
                        cfg.app_data(contract);
                    }
                })
                .configure(extractor_errors)
                .configure(|cfg| {
                    routes::configure(&mut utoipa_actix_web::service_config::ServiceConfig::new(
                        cfg,
                    ))
                })
                .service(web::redirect("/api/docs", "/api/docs/"))
                .service(
                    SwaggerUi::new("/api/docs/{_:.*}")
                        .config(SwaggerConfig::new(["/api/v1/openapi.json"])),
                )
                .default_service(web::to(|| async {
                    actix_web::ResponseError::error_response(&ApiError::not_found())
                }))
                .configure(move |cfg| routes::console::configure(cfg, web_dir))
        })
        .listen(listener)?
        .shutdown_timeout(10);
        if let Some(workers) = settings.workers {
            server = server.workers(workers);
        }
        tracing::info!(%address, database = backend_name(&settings), "hubkeep started");
        Ok(Self {
            address,
            metrics: metrics_listener,
            contract,
            server: server.run(),
        })
    }

    /// The contract check's record, when `contract_check` is on (see `openapi::check`).
    pub fn contract(&self) -> Option<Arc<Contract>> {
        self.contract.as_ref().map(|c| c.clone().into_inner())
    }

    /// The bound address (useful with port 0).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// A handle to stop the server from elsewhere (tests, signal handlers).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// The metrics listener's address (`[metrics] bind`), when there is one.
    pub fn metrics_address(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(|(address, _)| *address)
    }

    /// Serves until SIGINT/SIGTERM, then drains in-flight requests. The metrics listener
    /// stops with the main server.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let Some((_, metrics)) = self.metrics else {
            return self.server.await;
        };
        let metrics_handle = metrics.handle();
        let metrics = tokio::spawn(metrics);
        let served = self.server.await;
        metrics_handle.stop(true).await;
        match metrics.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "the metrics listener failed"),
            Err(e) => tracing::error!(error = %e, "the metrics listener panicked"),
        }
        served
    }
}

/// The background jobs of one instance: the PSA change feed (SPEC S12), the invitation
/// expiry and the notification sender (SPEC S15), each unless configured off; and the
/// warnings an operator should see about emails.
fn spawn_jobs(
    settings: &Settings,
    state: &AppState,
    address: SocketAddr,
    prometheus: &prometheus::Registry,
) -> anyhow::Result<()> {
    // The read cache's listener and lease on PostgreSQL (issue 24).
    if crate::cache::postgres::applies(&state.db) {
        crate::cache::postgres::spawn(
            state.db.clone(),
            settings
                .database
                .listen_url
                .clone()
                .unwrap_or_else(|| settings.database_url()),
            Arc::clone(&state.instance_id),
            Arc::clone(state.cache.gate()),
        );
    }
    // The PSA change feed (SPEC S12), unless `[psa] reconcile_minutes` is 0.
    crate::feed::reconcile::spawn(state.clone());
    // Invitations past their time become `expired` and their inviters are told (SPEC
    // S15), unless `[smtp] expire_every_secs` is 0.
    crate::connections::invitations::spawn_expiry(state);
    if !settings.demo && settings.smtp.url.is_none() {
        tracing::warn!(
            dir = %settings.data_dir.join("outbox").display(),
            "no [smtp] url: notification emails are only written to files there; nobody \
             receives them"
        );
    }
    if !settings.demo && settings.http.public_url.is_none() {
        tracing::warn!(
            %address,
            "no [http] public_url: links in notification emails point at the address \
             this server listens on"
        );
    }
    // The notification outbox's sender (SPEC S15), unless `[smtp] poll_ms` is 0.
    crate::notify::sender::spawn(
        state.clone(),
        crate::notify::sender::Transport::from_settings(settings)?,
        crate::notify::sender::OutboxMetrics::register(prometheus)
            .context("registering the notification metrics")?,
    );
    Ok(())
}

/// The state every handler shares: the pools, the signing keys and the PSA providers. In
/// demo mode the demo tenant is seeded first.
async fn app_state(
    settings: &Settings,
    db: sea_orm::DatabaseConnection,
    prometheus: &prometheus::Registry,
    address: std::net::SocketAddr,
) -> anyhow::Result<AppState> {
    let keys = Keys::load(&settings.auth, &settings.data_dir).context("loading signing keys")?;
    let secrets = Arc::new(rekey::open_keyring(settings, &db).await?);
    if settings.demo {
        let tenant =
            provision::ensure_demo_tenant(&db, &secrets, settings.auth.session_lifetime_hours)
                .await
                .context("creating the demo tenant")?;
        tracing::warn!(
            tenant = %tenant.id,
            "demo mode: anyone can sign in as any directory resource at /api/v1/demo/launch"
        );
    }
    if settings.database.prune_every_secs > 0 {
        crate::identity::prune::spawn(
            db.clone(),
            std::time::Duration::from_secs(settings.database.prune_every_secs),
            settings.rate_limit.window_secs,
        );
    }
    let reader = connect_reader(settings, &db).await?;
    // The read cache's gate (issue 24): on SQLite the database's WAL index says whether
    // anything committed; on PostgreSQL the gate opens only under a lease.
    let gate = match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => crate::cache::Gate::leased(),
        _ => crate::cache::Gate::sqlite(shm_file(settings)),
    };
    let psa_metrics = PsaMetrics::register(prometheus, settings.psa.hourly_budget)
        .context("registering the PSA metrics")?;
    let psa = PsaRegistry::new(
        settings.psa.clone(),
        Some(db.clone()),
        Arc::clone(&secrets),
        psa_metrics,
    )
    .context("the [psa] settings")?;
    Ok(AppState {
        db,
        reader,
        psa: Arc::new(psa),
        oidc: Arc::new(
            crate::identity::oidc::provider::OidcProviders::new(settings.oidc.allow_http)
                .context("the OpenID Connect HTTP client")?,
        ),
        keys: Arc::new(keys),
        verified_tokens: Arc::default(),
        secrets,
        settings: Arc::new(settings.clone()),
        instance_id: {
            let random = crate::db::new_id();
            format!("{}-{}", std::process::id(), &random[random.len() - 8..])
        }
        .into(),
        letterhead: Arc::new(crate::notify::sender::Letterhead::from_settings(
            settings, address,
        )?),
        cache: Arc::new(crate::cache::ReadCache::new(gate)),
    })
}

/// What the middleware at the edge reads: the security headers (SPEC S14), the proxies
/// whose forwarding headers name the client (SPEC S14) and the metrics token (SPEC S14).
#[derive(Clone)]
struct Edge {
    headers: web::Data<SecurityHeaders>,
    proxies: web::Data<TrustedProxies>,
    metrics_token: Option<web::Data<MetricsToken>>,
}

impl Edge {
    fn new(settings: &Settings) -> anyhow::Result<Self> {
        let header = settings.http.forwarded_header.as_deref();
        let proxies = TrustedProxies::parse(
            &settings.http.trusted_proxies,
            header.unwrap_or("x-forwarded-for"),
        )
        .map_err(|e| anyhow::anyhow!("[http] trusted_proxies: {e}"))?;
        Ok(Self {
            headers: web::Data::new(SecurityHeaders::new(settings)),
            proxies: web::Data::new(proxies),
            metrics_token: settings
                .metrics
                .token
                .as_deref()
                .map(|t| web::Data::new(MetricsToken::new(t))),
        })
    }

    fn configure(&self, cfg: &mut web::ServiceConfig) {
        cfg.app_data(self.headers.clone())
            .app_data(self.proxies.clone());
        if let Some(token) = &self.metrics_token {
            cfg.app_data(token.clone());
        }
    }
}

/// How the extractors refuse bad input: a problem+json answer, and JSON bodies within
/// [`MAX_JSON_BODY_BYTES`].
fn extractor_errors(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(MAX_JSON_BODY_BYTES)
            .error_handler(json_error_handler),
    )
    .app_data(web::QueryConfig::default().error_handler(query_error_handler))
    .app_data(web::PathConfig::default().error_handler(path_error_handler));
}

/// The listener of `[metrics] bind` (SPEC S14): `/metrics` from the shared registry, and 404
/// for anything else.
fn metrics_listener(
    settings: &Settings,
    prometheus: prometheus::Registry,
) -> anyhow::Result<Option<(SocketAddr, Server)>> {
    let Some(bind) = &settings.metrics.bind else {
        return Ok(None);
    };
    let listener =
        TcpListener::bind(bind).with_context(|| format!("binding the metrics address {bind}"))?;
    let address = listener.local_addr()?;
    let registry = web::Data::new(prometheus);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(registry.clone())
            .route(metrics_access::PATH, web::get().to(metrics_access::serve))
    })
    .workers(1)
    .listen(listener)?
    .shutdown_timeout(1)
    .run();
    tracing::info!(%address, "metrics served");
    Ok(Some((address, server)))
}

/// Prometheus metrics at /metrics (SPEC S8; who may read them: `http::metrics`); paths no
/// route matches are counted under one label, so a scanner cannot blow up the label space.
fn http_metrics(
    prometheus: prometheus::Registry,
) -> anyhow::Result<actix_web_prom::PrometheusMetrics> {
    PrometheusMetricsBuilder::new("hubkeep")
        .registry(prometheus)
        .endpoint(metrics_access::PATH)
        .mask_unmatched_patterns("UNMATCHED")
        .build()
        .map_err(|e| anyhow::anyhow!("building the metrics registry: {e}"))
}

/// What the server derives from its OpenAPI document: the document served, the methods of
/// each path (for 405), and the contract check when it is on.
fn documented(
    settings: &Settings,
) -> (
    web::Data<routes::meta::Served>,
    web::Data<openapi::Routes>,
    Option<web::Data<Contract>>,
) {
    let document = openapi::document();
    let doc = web::Data::new(routes::meta::Served::from_document(&document));
    let routes = web::Data::new(openapi::Routes::from_document(&document));
    let contract = settings
        .contract_check
        .then(|| web::Data::new(Contract::from_document(&document)));
    (doc, routes, contract)
}
