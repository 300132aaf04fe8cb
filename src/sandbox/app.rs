//! The running sandbox's shared [`App`] (state, catalog, settings, counters, change log)
//! and its route table, [`router`]: which path goes to which handler in `routes/*`, and
//! which layers (fault injection, bearer check, `MS-RequestId` replay and durability) wrap
//! which routes.
//!
//! The main decision: the state sits behind one `std` mutex that handlers never hold
//! across an `.await`. A request takes the lock once, and the rule it calls validates and
//! acts under it, so requests are atomic against each other (two orders never
//! interleave), and the change log's writer drains pending changes under the same lock,
//! so every batch it writes is a consistent cut.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::middleware;
use axum::routing::{get, post};
use chrono::Utc;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::catalog::Catalog;
use super::faults::{self, FaultConfig, FaultState};
use super::persist::ChangeLog;
use super::state::SandboxState;
use super::{auth, layers, routes};

/// Who is calling, from the bearer token.
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    /// An App+User token (`--token`, or from the refresh-token grant).
    pub app_user: bool,
    /// The token carries the MFA claim.
    pub mfa: bool,
}

#[derive(Default)]
pub struct Stats {
    pub requests: AtomicU64,
    pub throttled: AtomicU64,
    pub faults: AtomicU64,
    /// Requests per method, in the order of [`Stats::METHODS`] (the last: any other):
    /// a test proves with it that a dry run sends nothing that changes anything.
    pub by_method: [AtomicU64; 6],
}

impl Stats {
    pub const METHODS: [&'static str; 6] = ["GET", "POST", "PATCH", "PUT", "DELETE", "other"];

    /// Counts one request of `method`.
    pub fn count_method(&self, method: &axum::http::Method) {
        let i = Stats::METHODS[..5]
            .iter()
            .position(|m| *m == method.as_str())
            .unwrap_or(5);
        self.by_method[i].fetch_add(1, Ordering::Relaxed);
    }
}

/// Partner Center's rules of today that can be switched on (DESIGN §9).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Strictness {
    /// `--require-mfa`: App+User calls from a token without the MFA claim get 401 `900421`.
    pub require_mfa: bool,
    /// `--missing-role F`: that share of customers (deterministic per customer) refuses
    /// user and licence calls with 403, the partner lacking a GDAP role there.
    pub missing_role: f64,
    /// `--sell-legacy-offers`: sell deprecated legacy offers as Partner Center did before
    /// 2022 (off: a new order of one is refused with 403 `2091`).
    pub sell_legacy_offers: bool,
}

impl Strictness {
    /// Whether the partner lacks a GDAP role in this customer (same hash rule as
    /// `--accept`, with its own salt so the two fractions pick independent customers).
    pub fn lacks_role(&self, tenant_id: &str) -> bool {
        if self.missing_role <= 0.0 {
            return false;
        }
        let digest = Sha256::digest(format!("gdap:{}", tenant_id.to_ascii_lowercase()));
        let mut head = [0u8; 8];
        head.copy_from_slice(&digest[..8]);
        (u64::from_be_bytes(head) as f64 / u64::MAX as f64) < self.missing_role
    }
}

/// Everything a request handler can reach.
pub struct App {
    state: Mutex<SandboxState>,
    pub catalog: Catalog,
    /// The fixed App+User token (`--token`), which carries the MFA claim.
    pub token: String,
    pub strict: Strictness,
    pub faults: FaultConfig,
    pub fault_state: Mutex<FaultState>,
    pub stats: Stats,
    /// The change log of `--state FILE`.
    pub log: Option<ChangeLog>,
    /// One lock per `MS-RequestId` being served, so a retry racing its original waits.
    inflight: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl App {
    pub fn new(
        mut state: SandboxState,
        token: String,
        strict: Strictness,
        faults: FaultConfig,
        fault_seed: Option<u64>,
        log: Option<ChangeLog>,
    ) -> App {
        state.recording = log.is_some();
        App {
            catalog: state.catalog(),
            state: Mutex::new(state),
            token,
            strict,
            faults,
            fault_state: Mutex::new(FaultState::new(fault_seed)),
            stats: Stats::default(),
            log,
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
            return Some(Caller {
                app_user: true,
                mfa: true,
            });
        }
        let st = self.lock();
        st.tokens
            .get(token)
            .filter(|t| t.expires_at > Utc::now())
            .map(|t| Caller {
                app_user: t.app_user,
                mfa: t.app_user && t.mfa,
            })
    }

    pub fn stats_json(&self) -> serde_json::Value {
        json!({
            "requests": self.stats.requests.load(Ordering::Relaxed),
            "throttled": self.stats.throttled.load(Ordering::Relaxed),
            "faults": self.stats.faults.load(Ordering::Relaxed),
            "by_method": Stats::METHODS
                .iter()
                .zip(&self.stats.by_method)
                .map(|(m, n)| (m.to_string(), json!(n.load(Ordering::Relaxed))))
                .collect::<serde_json::Map<_, _>>(),
        })
    }

    /// Returns once the change log holds every change made so far (at once without
    /// `--state`).
    pub async fn wait_persisted(&self) {
        let Some(log) = &self.log else { return };
        let version = self.lock().version;
        if *log.done.borrow() >= version {
            return;
        }
        log.wanted.send_if_modified(|w| {
            if *w < version {
                *w = version;
                true
            } else {
                false
            }
        });
        let mut done = log.done.subscribe();
        let _ = done.wait_for(|d| *d >= version).await;
    }

    /// Rewrites the state file as one snapshot (at a clean shutdown).
    pub fn compact(&self) -> std::io::Result<()> {
        let Some(log) = &self.log else { return Ok(()) };
        let mut st = self.lock();
        st.changes.clear();
        log.compact(&st)
    }

    pub(crate) fn inflight_lock(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self.inflight.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(key.to_string()).or_default().clone()
    }

    pub(crate) fn inflight_release(&self, key: &str) {
        let mut map = self.inflight.lock().unwrap_or_else(|e| e.into_inner());
        if map.get(key).is_some_and(|m| Arc::strong_count(m) <= 1) {
            map.remove(key);
        }
    }
}

/// The whole route table.
pub fn router(app: Arc<App>) -> Router {
    use routes::{admin, carts, customers, offers, orders, subscriptions, users};
    let v1 = Router::new()
        .route("/customers", get(customers::list_customers))
        .route(
            "/customers/relationshiprequests",
            get(customers::relationship_request),
        )
        .route("/customers/{cid}", get(customers::get_customer))
        .route(
            "/customers/{cid}/agreements",
            post(customers::create_agreement),
        )
        .route(
            "/customers/{cid}/orders",
            get(orders::list_orders).post(orders::create_order),
        )
        .route(
            "/customers/{cid}/orders/{oid}",
            get(orders::get_order).patch(orders::patch_order),
        )
        .route(
            "/customers/{cid}/orders/{oid}/provisioningstatus",
            get(orders::provisioning_status),
        )
        .route(
            "/customers/{cid}/subscriptions",
            get(subscriptions::list_subscriptions),
        )
        .route(
            "/customers/{cid}/subscriptions/{sid}",
            get(subscriptions::get_subscription).patch(subscriptions::patch_subscription),
        )
        .route(
            "/customers/{cid}/subscribedskus",
            get(users::subscribed_skus),
        )
        .route("/customers/{cid}/users", get(users::list_users))
        .route("/customers/{cid}/users/{uid}", get(users::get_user))
        .route(
            "/customers/{cid}/users/{uid}/licenses",
            get(users::user_licenses),
        )
        .route(
            "/customers/{cid}/users/{uid}/licenseupdates",
            post(users::license_updates),
        )
        .route("/customers/{cid}/carts", post(carts::create_cart))
        .route(
            "/customers/{cid}/carts/{cart}",
            get(carts::get_cart).put(carts::put_cart),
        )
        .route(
            "/customers/{cid}/carts/{cart}/checkout",
            post(carts::checkout),
        );
    let v1 = offers::routes(v1)
        .method_not_allowed_fallback(layers::method_not_allowed)
        .layer(middleware::from_fn_with_state(
            app.clone(),
            layers::replay_and_persist,
        ))
        .layer(middleware::from_fn_with_state(
            app.clone(),
            auth::require_token,
        ))
        .layer(middleware::from_fn_with_state(app.clone(), faults::inject));
    let admin = Router::new()
        .route("/sandbox/state", get(admin::state))
        .route("/sandbox/customers/{cid}/accept", post(admin::accept))
        .route("/sandbox/clock", get(admin::clock).post(admin::set_clock))
        .layer(middleware::from_fn_with_state(
            app.clone(),
            auth::require_admin_token,
        ));
    Router::new()
        .nest("/v1", v1)
        .merge(admin)
        .route("/{tenant}/oauth2/token", post(auth::token_v1))
        .route("/{tenant}/oauth2/v2.0/token", post(auth::token_v2))
        .fallback(layers::not_found)
        .layer(middleware::from_fn(layers::echo_headers))
        .with_state(app)
}
