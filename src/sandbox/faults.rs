//! Fault injection for rehearsals: added latency, 5xx answers, dropped connections
//! (before or *after* the change was applied), random throttling and a requests-per-second
//! limit, all counted in `/sandbox/state` `stats`.
//!
//! The main decision: every API request draws exactly three numbers (throttle roll,
//! failure roll, failure kind), whatever happens to it. A changing request (POST, PATCH,
//! PUT) that carries an `MS-RequestId` draws them from an RNG seeded by `--fault-seed`,
//! its method and request ID and how often that request arrived before, so a purchase
//! (whose request ID is stable) meets the same fate in every run whatever the order in
//! which concurrent requests arrive; every other request draws from one seeded sequence,
//! reproducible for the same request sequence. A dropped connection
//! is real: the connection task is told to drop the socket without answering (see
//! `server::ConnKill`), so a client sees a transport error, not an HTTP status. Faults
//! apply only to `/v1` routes, never to the token endpoints or `/sandbox/*`.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::{Rng, SeedableRng};

use super::app::App;
use super::server::ConnKill;
use super::wire::{ApiError, gateway_response};

/// Seconds a throttled client is told to wait (`Retry-After`).
pub const RETRY_AFTER_SECONDS: u64 = 1;

/// The fault settings of a running sandbox.
#[derive(Debug, Clone)]
pub struct FaultConfig {
    pub latency_ms: u64,
    pub fail_rate: f64,
    pub throttle_rate: f64,
    pub rate_limit: u32,
}

/// The moving parts: the seeded RNG, the arrivals of each changing request, and the
/// current one-second window.
pub struct FaultState {
    rng: rand::rngs::StdRng,
    /// The seed of the per-request draws (`--fault-seed`, else random).
    seed: u64,
    /// `METHOD request-id` → how often it arrived.
    arrivals: std::collections::HashMap<String, u32>,
    window_start: std::time::Instant,
    window_count: u32,
}

impl FaultState {
    pub fn new(seed: Option<u64>) -> FaultState {
        let seed = seed.unwrap_or_else(rand::random);
        FaultState {
            rng: rand::rngs::StdRng::seed_from_u64(seed),
            seed,
            arrivals: std::collections::HashMap::new(),
            window_start: std::time::Instant::now(),
            window_count: 0,
        }
    }

    /// The RNG of one request: its own for a changing request with a request ID (seed,
    /// method, ID and arrival number), else the shared sequence.
    fn rng_for(&mut self, key: Option<String>) -> rand::rngs::StdRng {
        match key {
            Some(key) => {
                use sha2::{Digest, Sha256};
                let n = self.arrivals.entry(key.clone()).or_insert(0);
                *n += 1;
                let digest = Sha256::digest(format!("{}|{key}|{n}", self.seed).as_bytes());
                let mut bytes = [0u8; 8];
                bytes.copy_from_slice(&digest[..8]);
                rand::rngs::StdRng::seed_from_u64(u64::from_le_bytes(bytes))
            }
            None => rand::rngs::StdRng::seed_from_u64(self.rng.random()),
        }
    }
}

/// The key of a request's own fault draws: `METHOD request-id` for a POST, PATCH or PUT
/// carrying an `MS-RequestId`.
fn request_key(req: &Request) -> Option<String> {
    use axum::http::Method;
    if !matches!(*req.method(), Method::POST | Method::PATCH | Method::PUT) {
        return None;
    }
    let rid = req.headers().get("ms-requestid")?.to_str().ok()?.trim();
    (!rid.is_empty()).then(|| format!("{} {}", req.method(), rid.to_ascii_lowercase()))
}

/// What the fault layer decided for one request.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fate {
    Serve,
    Throttle,
    Fail500,
    Fail503,
    DropBefore,
    ActThen500,
    ActThenDrop,
}

fn decide(app: &App, key: Option<String>) -> Fate {
    let cfg = &app.faults;
    let mut fs = app.fault_state.lock().unwrap_or_else(|e| e.into_inner());
    let mut rng = fs.rng_for(key);
    let throttle_roll: f64 = rng.random();
    let fail_roll: f64 = rng.random();
    let kind: u32 = rng.random_range(0..5);
    if cfg.rate_limit > 0 {
        let now = std::time::Instant::now();
        if now.duration_since(fs.window_start) >= Duration::from_secs(1) {
            fs.window_start = now;
            fs.window_count = 0;
        }
        if fs.window_count >= cfg.rate_limit {
            return Fate::Throttle;
        }
        fs.window_count += 1;
    }
    if throttle_roll < cfg.throttle_rate {
        return Fate::Throttle;
    }
    if fail_roll < cfg.fail_rate {
        return match kind {
            0 => Fate::Fail500,
            1 => Fate::Fail503,
            2 => Fate::DropBefore,
            3 => Fate::ActThen500,
            _ => Fate::ActThenDrop,
        };
    }
    Fate::Serve
}

fn throttled() -> Response {
    let mut resp = gateway_response(
        StatusCode::TOO_MANY_REQUESTS,
        &format!("Rate limit is exceeded. Try again in {RETRY_AFTER_SECONDS} seconds."),
    );
    resp.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
    resp
}

fn server_error() -> Response {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        500,
        "An internal error occurred (sandbox fault injection).",
    )
    .into_response()
}

fn unavailable() -> Response {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        503,
        "The service is busy (sandbox fault injection).",
    )
    .into_response()
}

/// Ends the request by dropping its connection; never returns an answer.
async fn drop_connection(req_kill: Option<ConnKill>) -> Response {
    match req_kill {
        Some(kill) => {
            kill.0.notify_one();
            std::future::pending::<Response>().await
        }
        None => server_error(),
    }
}

/// Middleware in front of every `/v1` route.
pub async fn inject(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    app.stats.requests.fetch_add(1, Ordering::Relaxed);
    app.stats.count_method(req.method());
    let fate = decide(&app, request_key(&req));
    if fate == Fate::Throttle {
        app.stats.throttled.fetch_add(1, Ordering::Relaxed);
        return throttled();
    }
    if app.faults.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(app.faults.latency_ms)).await;
    }
    if fate != Fate::Serve {
        app.stats.faults.fetch_add(1, Ordering::Relaxed);
    }
    let kill = req.extensions().get::<ConnKill>().cloned();
    match fate {
        Fate::Serve | Fate::Throttle => next.run(req).await,
        Fate::Fail500 => server_error(),
        Fate::Fail503 => unavailable(),
        Fate::DropBefore => drop_connection(kill).await,
        Fate::ActThen500 => {
            let _ = next.run(req).await;
            server_error()
        }
        Fate::ActThenDrop => {
            let _ = next.run(req).await;
            drop_connection(kill).await
        }
    }
}
