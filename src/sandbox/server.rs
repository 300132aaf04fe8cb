//! The HTTP side of the sandbox: the shared [`App`], the route table, the layers every
//! request passes (header echo, faults, bearer check, `MS-RequestId` replay and
//! persistence), the admin routes and the accept loop.
//!
//! The main decision: the accept loop is our own (hyper's HTTP/1 connection builder, not
//! `axum::serve`), so that the fault layer can drop a connection for real: each
//! connection task listens on a [`ConnKill`] it hands to its requests and, when told,
//! drops the socket without writing an answer. A second decision: a changing request is
//! answered only after the state file holding its change has been written (group commit
//! through two `watch` channels, so concurrent changes share one write).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::Utc;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};

use super::catalog::Catalog;
use super::faults::{FaultConfig, FaultState};
use super::state::{Replay, SandboxState};
use super::wire::{ApiError, JSON_UTF8, gateway_response, json_response, query_get, query_pairs};
use super::{api, auth, faults, nce};

/// Who is calling, from the bearer token.
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    /// An App+User token (`--token`, or from the refresh-token grant).
    pub app_user: bool,
}

/// Tells a connection task to drop its socket without answering.
#[derive(Clone)]
pub struct ConnKill(pub Arc<Notify>);

#[derive(Default)]
pub struct Stats {
    pub requests: AtomicU64,
    pub throttled: AtomicU64,
    pub faults: AtomicU64,
}

/// Group commit to `--state FILE`.
pub struct Persist {
    pub path: PathBuf,
    /// The newest state version someone is waiting to see written.
    pub wanted: watch::Sender<u64>,
    /// The newest state version written.
    pub done: watch::Sender<u64>,
}

/// Everything a request handler can reach.
pub struct App {
    state: Mutex<SandboxState>,
    pub catalog: Catalog,
    /// The fixed App+User token (`--token`).
    pub token: String,
    pub faults: FaultConfig,
    pub fault_state: Mutex<FaultState>,
    pub stats: Stats,
    pub persist: Option<Persist>,
    /// One lock per `MS-RequestId` being served, so a retry racing its original waits.
    inflight: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl App {
    pub fn new(
        state: SandboxState,
        token: String,
        faults: FaultConfig,
        fault_seed: Option<u64>,
        persist: Option<Persist>,
    ) -> App {
        App {
            catalog: state.catalog(),
            state: Mutex::new(state),
            token,
            faults,
            fault_state: Mutex::new(FaultState::new(fault_seed)),
            stats: Stats::default(),
            persist,
            inflight: Mutex::new(HashMap::new()),
        }
    }

    /// The state, locked. Handlers never hold it across an `.await`.
    pub fn lock(&self) -> MutexGuard<'_, SandboxState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The caller a bearer token stands for, if the token is valid.
    pub fn caller_for(&self, token: &str) -> Option<Caller> {
        if token == self.token {
            return Some(Caller { app_user: true });
        }
        let st = self.lock();
        st.tokens
            .get(token)
            .filter(|t| t.expires_at > Utc::now())
            .map(|t| Caller {
                app_user: t.app_user,
            })
    }

    pub fn stats_json(&self) -> serde_json::Value {
        json!({
            "requests": self.stats.requests.load(Ordering::Relaxed),
            "throttled": self.stats.throttled.load(Ordering::Relaxed),
            "faults": self.stats.faults.load(Ordering::Relaxed),
        })
    }

    /// Returns once the state file holds every change made so far (at once without
    /// `--state`).
    pub async fn wait_persisted(&self) {
        let Some(p) = &self.persist else { return };
        let version = self.lock().version;
        if *p.done.borrow() >= version {
            return;
        }
        p.wanted.send_if_modified(|w| {
            if *w < version {
                *w = version;
                true
            } else {
                false
            }
        });
        let mut done = p.done.subscribe();
        let _ = done.wait_for(|d| *d >= version).await;
    }

    /// Serialises the state and writes it atomically (temp file, fsync, rename).
    /// Returns the version written.
    pub fn write_state_now(&self) -> anyhow::Result<u64> {
        let Some(p) = &self.persist else {
            return Ok(0);
        };
        let (bytes, version) = {
            let st = self.lock();
            (serde_json::to_vec(&*st)?, st.version)
        };
        write_atomic(&p.path, &bytes)?;
        Ok(version)
    }

    fn inflight_lock(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self.inflight.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(key.to_string()).or_default().clone()
    }

    fn inflight_release(&self, key: &str) {
        let mut map = self.inflight.lock().unwrap_or_else(|e| e.into_inner());
        if map.get(key).is_some_and(|m| Arc::strong_count(m) <= 1) {
            map.remove(key);
        }
    }
}

/// Temp file beside the target, fsync, rename: a crash leaves the old or the new file
/// ([`crate::fsx::write_atomic`]).
pub fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> Result<(), crate::fsx::WriteError> {
    crate::fsx::write_atomic(path, bytes)
}

/// The persister task: writes whenever a waiter asks, batching everyone who asked meanwhile.
pub async fn persist_loop(app: Arc<App>, mut wanted: watch::Receiver<u64>) {
    while wanted.changed().await.is_ok() {
        let app2 = app.clone();
        match tokio::task::spawn_blocking(move || app2.write_state_now()).await {
            Ok(Ok(version)) => {
                if let Some(p) = &app.persist {
                    p.done.send_if_modified(|d| {
                        let moved = version > *d;
                        *d = (*d).max(version);
                        moved
                    });
                }
            }
            Ok(Err(err)) => {
                tracing::error!("cannot write the sandbox state file: {err:#}");
                // Release the waiters rather than hang every request; the next change
                // tries again.
                if let Some(p) = &app.persist {
                    let version = app.lock().version;
                    p.done.send_replace(version);
                }
            }
            Err(_) => break,
        }
    }
}

/// Echoes `MS-RequestId`/`MS-CorrelationId` (new ones when the client sent none).
async fn echo_headers(req: Request, next: Next) -> Response {
    let (request_id, correlation_id) = {
        let pick = |name: &str| {
            req.headers().get(name).cloned().unwrap_or_else(|| {
                HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()).expect("ascii")
            })
        };
        (pick("ms-requestid"), pick("ms-correlationid"))
    };
    let (method, path) = (req.method().clone(), req.uri().path().to_string());
    let mut resp = next.run(req).await;
    tracing::debug!("{method} {path} -> {}", resp.status().as_u16());
    let h = resp.headers_mut();
    h.insert("ms-requestid", request_id);
    h.insert("ms-correlationid", correlation_id);
    h.insert("ms-serverid", HeaderValue::from_static("cspmove-sandbox"));
    resp
}

/// Replays the first successful answer to a POST/PATCH/PUT with the same `MS-RequestId`,
/// and holds every changing request's answer until its change is on disk.
async fn replay_and_persist(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let changing = matches!(*req.method(), Method::POST | Method::PATCH | Method::PUT);
    if !changing {
        return next.run(req).await;
    }
    let key = req
        .headers()
        .get("ms-requestid")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.trim().is_empty())
        .map(|rid| {
            format!(
                "{} {} {}",
                req.method(),
                req.uri().path().to_ascii_lowercase(),
                rid.trim().to_ascii_lowercase()
            )
        });
    let lock = key.as_ref().map(|k| app.inflight_lock(k));
    let _guard = match &lock {
        Some(l) => Some(l.clone().lock_owned().await),
        None => None,
    };
    if let Some(k) = &key {
        let stored = app.lock().replays.get(k).cloned();
        if let Some(r) = stored {
            drop(_guard);
            drop(lock);
            app.inflight_release(k);
            return replay_response(&r);
        }
    }
    let resp = next.run(req).await;
    let (parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    if let Some(k) = &key
        && parts.status.is_success()
    {
        let mut st = app.lock();
        st.replays.insert(
            k.clone(),
            Replay {
                status: parts.status.as_u16(),
                body: bytes.to_vec(),
                location: parts
                    .headers
                    .get(header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string),
            },
        );
        st.touch();
    }
    app.wait_persisted().await;
    drop(_guard);
    drop(lock);
    if let Some(k) = &key {
        app.inflight_release(k);
    }
    Response::from_parts(parts, Body::from(bytes))
}

fn replay_response(r: &Replay) -> Response {
    let mut resp = (
        StatusCode::from_u16(r.status).unwrap_or(StatusCode::OK),
        r.body.clone(),
    )
        .into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_UTF8));
    if let Some(loc) = r
        .location
        .as_deref()
        .and_then(|l| HeaderValue::from_str(l).ok())
    {
        resp.headers_mut().insert(header::LOCATION, loc);
    }
    resp
}

/// `GET /sandbox/state[?customer=ID]` (DESIGN §9).
async fn admin_state(State(app): State<Arc<App>>, RawQuery(raw): RawQuery) -> Response {
    let pairs = query_pairs(raw.as_deref());
    let only = query_get(&pairs, "customer").map(str::to_string);
    let stats = app.stats_json();
    let body = app.lock().inspect(only.as_deref(), stats);
    json_response(StatusCode::OK, &body)
}

/// `POST /sandbox/customers/{id}/accept`: the customer's admin accepts the invitation.
async fn admin_accept(State(app): State<Arc<App>>, Path(cid): Path<String>) -> Response {
    let found = {
        let mut st = app.lock();
        match st.customers.get_mut(&cid.to_ascii_lowercase()) {
            Some(t) => {
                t.accepted = true;
                let id = t.id.clone();
                st.touch();
                Some(id)
            }
            None => None,
        }
    };
    match found {
        Some(id) => {
            app.wait_persisted().await;
            json_response(StatusCode::OK, &json!({"id": id, "accepted": true}))
        }
        None => ApiError::new(
            StatusCode::NOT_FOUND,
            60003,
            format!("Tenant {cid} not found."),
        )
        .into_response(),
    }
}

fn clock_json(st: &SandboxState) -> serde_json::Value {
    json!({"now": super::wire::ts(&st.now()), "offsetSeconds": st.clock_offset_seconds})
}

/// `GET /sandbox/clock`: the sandbox's current time and how far it runs ahead.
async fn admin_clock(State(app): State<Arc<App>>) -> Response {
    json_response(StatusCode::OK, &clock_json(&app.lock()))
}

/// `POST /sandbox/clock` with `{"advanceDays":N}` or `{"now":"2027-02-01T00:00:00Z"}`:
/// moves the sandbox's clock forward (never back), to rehearse expiries and the
/// 7-day windows of new-commerce subscriptions.
async fn admin_clock_set(State(app): State<Arc<App>>, body: axum::body::Bytes) -> Response {
    let body = match super::wire::parse_body(&body) {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    let answer = {
        let mut st = app.lock();
        let real = Utc::now();
        let target = if let Some(days) = super::wire::int_field(&body, "advancedays") {
            Some(st.now() + chrono::Duration::days(days))
        } else {
            super::wire::str_field(&body, "now")
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&Utc))
        };
        match target {
            Some(t) if t >= st.now() => {
                st.clock_offset_seconds = (t - real).num_seconds();
                st.touch();
                Ok(clock_json(&st))
            }
            Some(_) => Err(ApiError::bad_input("The sandbox clock only moves forward.")),
            None => Err(ApiError::bad_input(
                "Give {\"advanceDays\":N} or {\"now\":\"an RFC 3339 date-time\"}.",
            )),
        }
    };
    match answer {
        Ok(v) => {
            app.wait_persisted().await;
            json_response(StatusCode::OK, &v)
        }
        Err(e) => e.into_response(),
    }
}

async fn not_found() -> Response {
    gateway_response(StatusCode::NOT_FOUND, "Resource not found")
}

async fn method_not_allowed() -> Response {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        405,
        "The HTTP method is not allowed on this resource.",
    )
    .into_response()
}

/// The whole route table.
pub fn router(app: Arc<App>) -> Router {
    let customer_scoped = Router::new()
        .route("/customers", get(api::list_customers))
        .route(
            "/customers/relationshiprequests",
            get(api::relationship_request),
        )
        .route("/customers/{cid}", get(api::get_customer))
        .route("/customers/{cid}/agreements", post(api::create_agreement))
        .route(
            "/customers/{cid}/orders",
            get(api::list_orders).post(api::create_order),
        )
        .route("/customers/{cid}/orders/{oid}", get(api::get_order))
        .route(
            "/customers/{cid}/orders/{oid}/provisioningstatus",
            get(api::provisioning_status),
        )
        .route(
            "/customers/{cid}/subscriptions",
            get(api::list_subscriptions),
        )
        .route(
            "/customers/{cid}/subscriptions/{sid}",
            get(api::get_subscription).patch(api::patch_subscription),
        )
        .route("/customers/{cid}/subscribedskus", get(api::subscribed_skus))
        .route("/customers/{cid}/users", get(api::list_users))
        .route("/customers/{cid}/users/{uid}", get(api::get_user))
        .route(
            "/customers/{cid}/users/{uid}/licenses",
            get(api::user_licenses),
        )
        .route(
            "/customers/{cid}/users/{uid}/licenseupdates",
            post(api::license_updates),
        )
        .route("/offers", get(api::list_offers))
        .route("/offers/{oid}", get(api::get_offer));
    let v1 = nce::routes(customer_scoped)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(
            app.clone(),
            replay_and_persist,
        ))
        .layer(middleware::from_fn_with_state(
            app.clone(),
            auth::require_token,
        ))
        .layer(middleware::from_fn_with_state(app.clone(), faults::inject));
    let admin = Router::new()
        .route("/sandbox/state", get(admin_state))
        .route("/sandbox/customers/{cid}/accept", post(admin_accept))
        .route("/sandbox/clock", get(admin_clock).post(admin_clock_set))
        .layer(middleware::from_fn_with_state(
            app.clone(),
            auth::require_token,
        ));
    Router::new()
        .nest("/v1", v1)
        .merge(admin)
        .route("/{tenant}/oauth2/token", post(auth::token_v1))
        .route("/{tenant}/oauth2/v2.0/token", post(auth::token_v2))
        .fallback(not_found)
        .layer(middleware::from_fn(echo_headers))
        .with_state(app)
}

/// The first path segments of API resources, which links may name without `/v1`.
const RESOURCE_ROOTS: [&str; 3] = ["/customers", "/offers", "/products"];

/// Partner Center paths are case-insensitive; the route table is lower case, so API paths
/// are folded (IDs are compared case-insensitively anyway). Resource links in Partner
/// Center are relative and may lack `/v1` (`/customers/…`), so such paths are served as if
/// they had it: a client may GET a link exactly as given, or put `/v1` in front of it.
fn fold_path(req: &mut Request<hyper::body::Incoming>) {
    let uri = req.uri();
    let lower = uri.path().to_ascii_lowercase();
    let rewritten = if lower.starts_with("/v1/") {
        lower
    } else if RESOURCE_ROOTS
        .iter()
        .any(|root| lower == *root || lower.starts_with(&format!("{root}/")))
    {
        format!("/v1{lower}")
    } else {
        return;
    };
    if rewritten == uri.path() {
        return;
    }
    let folded = match uri.query() {
        Some(q) => format!("{rewritten}?{q}"),
        None => rewritten,
    };
    if let Ok(pq) = folded.parse::<axum::http::uri::PathAndQuery>() {
        let mut parts = uri.clone().into_parts();
        parts.path_and_query = Some(pq);
        if let Ok(new) = axum::http::Uri::from_parts(parts) {
            *req.uri_mut() = new;
        }
    }
}

/// Accepts connections until `shutdown` fires, then lets open connections finish
/// (at most 5 s).
pub async fn serve(listener: TcpListener, router: Router, mut shutdown: watch::Receiver<bool>) {
    let mut conns = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    conns.spawn(serve_connection(stream, router.clone(), shutdown.clone()));
                }
                Err(err) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!("accept failed: {err}");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            },
            _ = shutdown.changed() => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    let drain = async { while conns.join_next().await.is_some() {} };
    let _ = tokio::time::timeout(Duration::from_secs(5), drain).await;
    conns.abort_all();
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    router: Router,
    mut shutdown: watch::Receiver<bool>,
) {
    use tower::ServiceExt;
    let kill = Arc::new(Notify::new());
    let handle = ConnKill(kill.clone());
    let service = hyper::service::service_fn(move |mut req: Request<hyper::body::Incoming>| {
        fold_path(&mut req);
        req.extensions_mut().insert(handle.clone());
        router.clone().oneshot(req)
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = kill.notified() => {
            // Dropping the connection future closes the socket with no answer written.
        }
        _ = shutdown.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(Duration::from_secs(5), conn.as_mut()).await;
        }
    }
}
