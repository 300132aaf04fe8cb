//! A local emulator of the Partner Center API subset `apply` uses (DESIGN §9), so that
//! partners can rehearse a migration and every test of `apply` talks to a real HTTP server
//! on 127.0.0.1.
//!
//! The main decision: be faithful where a client can tell — paths, JSON shapes, status
//! codes, both error body shapes, paging, `MS-RequestId` replays — and keep everything
//! else simple: one in-memory state behind one lock, made durable with `--state FILE` by
//! an append-only change log. [`start`] is the one entry point: the `cspmove sandbox`
//! command and `apply --sandbox` (in-process) both call it.
//!
//! Modules: [`app`] (shared state and the route table), [`routes`] (one handler file per
//! resource), [`requests`] (typed request bodies), [`rules`] (the business rules, as
//! methods of the state), [`state`] (tenants, seeding, resource shapes), [`persist`] (the
//! change log), [`catalog`] (offers and products), [`wire`] (JSON conventions), [`auth`]
//! (tokens, MFA), [`faults`] (fault injection), [`layers`] (request-id echo and replay),
//! [`server`] (the accept loop).

pub mod app;
pub mod auth;
pub mod catalog;
pub mod faults;
pub mod layers;
pub mod persist;
pub mod requests;
pub mod routes;
pub mod rules;
pub mod server;
pub mod state;
pub mod wire;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::watch;

pub use state::SandboxState;
pub use state::{Accept, StateFileError};

/// Why a sandbox could not start. Each variant names its address or file.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// A fraction of the configuration lies outside 0–1.
    #[error("the {name} must lie between 0 and 1, not {value}")]
    OutOfRange { name: &'static str, value: f64 },
    #[error("the token must not be empty")]
    EmptyToken,
    /// The `--state` file cannot be read or is not a sandbox state.
    #[error(transparent)]
    StateFile(#[from] StateFileError),
    /// The state file cannot be written (its compaction on start).
    #[error("cannot write the sandbox state file {}", .path.display())]
    WriteState {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot listen on {addr}")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    /// The blocking task that reads or writes the state file panicked or was cancelled.
    #[error("the sandbox's state file task failed")]
    Task(#[from] tokio::task::JoinError),
}

/// How to run a sandbox. Build it with [`SandboxConfig::new`] and change fields.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    pub listen: SocketAddr,
    /// Tenants to create from a plan (ignored when `state_file` already exists).
    pub seed: Option<crate::model::Plan>,
    /// Tenants already made from a plan file ([`SandboxState::seed_from_file`], which
    /// streams the plan); used instead of `seed`, and ignored like it when `state_file`
    /// already exists.
    pub seeded: Option<Box<SandboxState>>,
    pub accept: Accept,
    /// The App+User bearer token accepted on every route.
    pub token: String,
    pub latency_ms: u64,
    pub fail_rate: f64,
    pub throttle_rate: f64,
    /// Requests per second before answering 429 (0 = no limit).
    pub rate_limit: u32,
    pub fault_seed: Option<u64>,
    /// The durable state (change log); `None` keeps the state in memory only.
    pub state_file: Option<PathBuf>,
    /// App+User calls from a token without the MFA claim get 401 `900421`.
    pub require_mfa: bool,
    /// That share of customers (0–1, deterministic per customer) refuses user and licence
    /// calls with 403: the partner has no GDAP role there.
    pub missing_role: f64,
    /// Sell deprecated legacy offers to new buyers, as before 2022 (default: refuse them
    /// with 403 `2091`, as Partner Center does today).
    pub sell_legacy_offers: bool,
}

impl SandboxConfig {
    /// Loopback on a free port, everyone accepts, no faults, state in memory only.
    pub fn new(token: String) -> Self {
        SandboxConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            seed: None,
            seeded: None,
            accept: Accept::All,
            token,
            latency_ms: 0,
            fail_rate: 0.0,
            throttle_rate: 0.0,
            rate_limit: 0,
            fault_seed: None,
            state_file: None,
            require_mfa: false,
            missing_role: 0.0,
            sell_legacy_offers: false,
        }
    }
}

/// A sandbox serving in the background of the current tokio runtime.
pub struct RunningSandbox {
    addr: SocketAddr,
    token: String,
    app: Arc<app::App>,
    shutdown: watch::Sender<bool>,
    server: tokio::task::JoinHandle<()>,
    writer: Option<tokio::task::JoinHandle<()>>,
    /// Whether the state was loaded from `--state` rather than seeded.
    pub restored: bool,
    /// What loading `--state` found: batches replayed after the snapshot, and whether a
    /// torn last record (a write cut short by a crash) was ignored.
    pub replayed_batches: usize,
    pub torn_tail: bool,
}

impl RunningSandbox {
    /// `http://127.0.0.1:PORT`: the base URL; API paths start with `/v1`, token
    /// endpoints with `/{tenant}/oauth2/`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn token(&self) -> &str {
        &self.token
    }

    /// The same JSON as `GET /sandbox/state`, without going through HTTP.
    pub fn state_json(&self) -> serde_json::Value {
        let stats = self.app.stats_json();
        self.app.lock().inspect(None, stats)
    }

    /// Stops accepting, lets open requests finish (at most 5 s) and compacts the state
    /// file into one snapshot.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.server.await;
        if let Some(w) = self.writer {
            w.abort();
        }
        let app = self.app.clone();
        let compacted = tokio::task::spawn_blocking(move || app.compact()).await;
        if let Ok(Err(err)) = compacted {
            tracing::error!("cannot compact the sandbox state file: {err:#}");
        }
    }
}

/// Binds, spawns the server task and returns at once.
pub async fn start(mut config: SandboxConfig) -> Result<RunningSandbox, SandboxError> {
    let accept = match config.accept {
        Accept::Fraction(f) => f,
        Accept::All | Accept::None => 0.0,
    };
    for (name, value) in [
        ("fail rate", config.fail_rate),
        ("throttle rate", config.throttle_rate),
        ("accept fraction", accept),
        ("missing-role fraction", config.missing_role),
    ] {
        if !(0.0..=1.0).contains(&value) {
            return Err(SandboxError::OutOfRange { name, value });
        }
    }
    if config.token.trim().is_empty() {
        return Err(SandboxError::EmptyToken);
    }

    // An existing state file wins over the seed: a restart must not undo a rehearsal.
    let existing = config.state_file.as_ref().filter(|p| p.exists());
    let (state, restored, replayed_batches, torn_tail, compacted) = match existing {
        Some(path) => {
            let path = path.clone();
            let loaded = tokio::task::spawn_blocking(move || persist::load(&path)).await??;
            (
                loaded.state,
                true,
                loaded.batches,
                loaded.torn_tail,
                loaded.compacted,
            )
        }
        None => match (config.seeded.take(), &config.seed) {
            (Some(seeded), _) => (*seeded, false, 0, false, false),
            (None, Some(plan)) => (
                SandboxState::seed(plan, config.accept),
                false,
                0,
                false,
                false,
            ),
            (None, None) => (SandboxState::empty(), false, 0, false, false),
        },
    };
    if torn_tail {
        tracing::warn!("the last record of the state file was cut short by a crash and is ignored");
    }

    let listen_err = |source| SandboxError::Listen {
        addr: config.listen,
        source,
    };
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(listen_err)?;
    let addr = listener.local_addr().map_err(listen_err)?;

    // Compaction on start: the loaded (or seeded) state becomes the file's one snapshot,
    // on disk before the first request is served.
    let (state, log) = match &config.state_file {
        Some(path) => {
            let path = path.clone();
            tokio::task::spawn_blocking(move || {
                // A file a clean stop left as one snapshot is compacted already.
                let log = if compacted {
                    persist::ChangeLog::reopen(&path, &state)
                } else {
                    persist::ChangeLog::create(&path, &state)
                }
                .map_err(|source| SandboxError::WriteState { path, source })?;
                Ok::<_, SandboxError>((state, Some(log)))
            })
            .await??
        }
        None => (state, None),
    };
    let faults = faults::FaultConfig {
        latency_ms: config.latency_ms,
        fail_rate: config.fail_rate,
        throttle_rate: config.throttle_rate,
        rate_limit: config.rate_limit,
    };
    let strict = app::Strictness {
        require_mfa: config.require_mfa,
        missing_role: config.missing_role,
        sell_legacy_offers: config.sell_legacy_offers,
    };
    let app = Arc::new(app::App::new(
        state,
        config.token.clone(),
        strict,
        faults,
        config.fault_seed,
        log,
    ));
    let writer = app.log.as_ref().map(|log| {
        let rx = log.wanted.subscribe();
        tokio::spawn(persist::writer(app.clone(), rx))
    });

    let (shutdown, shutdown_rx) = watch::channel(false);
    let router = app::router(app.clone());
    let server = tokio::spawn(server::serve(listener, router, shutdown_rx));
    Ok(RunningSandbox {
        addr,
        token: config.token,
        app,
        shutdown,
        server,
        writer,
        restored,
        replayed_batches,
        torn_tail,
    })
}
