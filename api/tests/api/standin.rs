//! An Autotask stand-in written from Autotask's documentation, not from our simulator: a
//! tiny HTTP server whose answers each test spells out, and which records every request it
//! receives (so a test can assert on what reached it, and what did not).

use std::net::TcpListener;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::Value;

/// One request the stand-in received.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    /// The path as sent, letter case included.
    pub path: String,
    pub query: String,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Call {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What to answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub delay: Duration,
}

impl Reply {
    pub fn json(status: u16, body: &Value) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string(),
            delay: Duration::ZERO,
        }
    }

    pub fn not_found() -> Self {
        Self::json(404, &serde_json::json!({ "errors": ["Not found."] }))
    }
}

type Handler = dyn Fn(&Call) -> Reply + Send + Sync;

/// A running stand-in; stopped when dropped.
pub struct StandIn {
    port: u16,
    calls: Arc<Mutex<Vec<Call>>>,
    server: actix_web::dev::ServerHandle,
}

impl std::fmt::Debug for StandIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StandIn").field("port", &self.port).finish()
    }
}

impl StandIn {
    /// Listens on a free port of 127.0.0.1; `handler` sees each request and the stand-in's
    /// own root URL (`http://127.0.0.1:PORT`).
    pub fn start(handler: impl Fn(&Call, &str) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let root = format!("http://127.0.0.1:{port}");
        let handler: Arc<Handler> = Arc::new(move |call: &Call| handler(call, &root));
        let calls = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&calls);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = HttpServer::new(move || {
                    let handler = Arc::clone(&handler);
                    let recorded = Arc::clone(&recorded);
                    App::new().default_service(web::to(
                        move |req: HttpRequest, body: web::Bytes| {
                            let handler = Arc::clone(&handler);
                            let recorded = Arc::clone(&recorded);
                            async move {
                                let call = Call {
                                    method: req.method().to_string(),
                                    path: req.path().to_owned(),
                                    query: req.query_string().to_owned(),
                                    headers: req
                                        .headers()
                                        .iter()
                                        .map(|(n, v)| {
                                            (
                                                n.as_str().to_owned(),
                                                v.to_str().unwrap_or("").to_owned(),
                                            )
                                        })
                                        .collect(),
                                    body: String::from_utf8_lossy(&body).into_owned(),
                                };
                                recorded
                                    .lock()
                                    .unwrap_or_else(PoisonError::into_inner)
                                    .push(call.clone());
                                let reply = handler(&call);
                                if !reply.delay.is_zero() {
                                    actix_web::rt::time::sleep(reply.delay).await;
                                }
                                let mut response = HttpResponse::build(
                                    actix_web::http::StatusCode::from_u16(reply.status).unwrap(),
                                );
                                for (name, value) in &reply.headers {
                                    response.insert_header((name.as_str(), value.as_str()));
                                }
                                response.body(reply.body)
                            }
                        },
                    ))
                })
                .workers(1)
                .disable_signals()
                .shutdown_timeout(0)
                .listen(listener)
                .unwrap()
                .run();
                tx.send(server.handle()).unwrap();
                let _ = server.await;
            });
        });
        let server = rx.recv().unwrap();
        Self {
            port,
            calls,
            server,
        }
    }

    /// `127.0.0.1:PORT`, as `[psa] extra_zone_hosts` names it.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn root(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn count(&self) -> usize {
        self.calls().len()
    }

    /// Calls whose path ends with `suffix` (letter case ignored).
    pub fn count_path(&self, suffix: &str) -> usize {
        let suffix = suffix.to_ascii_lowercase();
        self.calls()
            .iter()
            .filter(|c| c.path.to_ascii_lowercase().ends_with(&suffix))
            .count()
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        drop(self.server.stop(false));
    }
}
