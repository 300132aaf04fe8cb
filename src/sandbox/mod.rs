//! A local emulator of the Partner Center API subset `apply` uses (DESIGN §9), so that
//! partners can rehearse a migration and every test of `apply` talks to a real HTTP server
//! on 127.0.0.1.
//!
//! The main decision: be faithful where a client can tell — paths, JSON shapes, status
//! codes, both error body shapes, paging, `MS-RequestId` replays — and keep everything
//! else simple: one in-memory state behind one lock, optionally written to a file after
//! every change. [`start`] is the one entry point: the `cspmove sandbox` command and
//! `apply --sandbox` (in-process) both call it.
//!
//! Modules: [`wire`] (JSON conventions), [`catalog`] (offers and products), [`state`]
//! (tenants, seeding, persistence format), [`api`] and [`nce`] (route handlers),
//! [`auth`] (tokens), [`faults`] (fault injection), [`server`] (layers and accept loop).

pub mod api;
pub mod auth;
pub mod catalog;
pub mod faults;
pub mod nce;
pub mod server;
pub mod state;
pub mod wire;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use tokio::sync::watch;

pub use state::Accept;
use state::SandboxState;

/// How to run a sandbox. Build it with [`SandboxConfig::new`] and change fields.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    pub listen: SocketAddr,
    /// Tenants to create from a plan (ignored when `state_file` already exists).
    pub seed: Option<crate::model::Plan>,
    pub accept: Accept,
    /// The App+User bearer token accepted on every route.
    pub token: String,
    pub latency_ms: u64,
    pub fail_rate: f64,
    pub throttle_rate: f64,
    /// Requests per second before answering 429 (0 = no limit).
    pub rate_limit: u32,
    pub fault_seed: Option<u64>,
    pub state_file: Option<PathBuf>,
}

impl SandboxConfig {
    /// Loopback on a free port, everyone accepts, no faults, state in memory only.
    pub fn new(token: String) -> Self {
        SandboxConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            seed: None,
            accept: Accept::All,
            token,
            latency_ms: 0,
            fail_rate: 0.0,
            throttle_rate: 0.0,
            rate_limit: 0,
            fault_seed: None,
            state_file: None,
        }
    }
}

/// A sandbox serving in the background of the current tokio runtime.
pub struct RunningSandbox {
    addr: SocketAddr,
    token: String,
    app: Arc<server::App>,
    shutdown: watch::Sender<bool>,
    server: tokio::task::JoinHandle<()>,
    persister: Option<tokio::task::JoinHandle<()>>,
    /// Whether the state was loaded from `--state` rather than seeded.
    pub restored: bool,
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

    /// Stops accepting, lets open requests finish (at most 5 s) and writes the state file
    /// a last time.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.server.await;
        if let Some(p) = self.persister {
            p.abort();
        }
        if let Err(err) = self.app.write_state_now() {
            tracing::error!("cannot write the sandbox state file: {err:#}");
        }
    }
}

/// Binds, spawns the server task and returns at once.
pub async fn start(config: SandboxConfig) -> anyhow::Result<RunningSandbox> {
    for (name, rate) in [
        ("fail rate", config.fail_rate),
        ("throttle rate", config.throttle_rate),
    ] {
        anyhow::ensure!(
            (0.0..=1.0).contains(&rate),
            "the {name} must lie between 0 and 1, not {rate}"
        );
    }
    if let Accept::Fraction(f) = config.accept {
        anyhow::ensure!(
            (0.0..=1.0).contains(&f),
            "the accept fraction must lie between 0 and 1, not {f}"
        );
    }
    anyhow::ensure!(
        !config.token.trim().is_empty(),
        "the token must not be empty"
    );

    // An existing state file wins over the seed: a restart must not undo a rehearsal.
    let existing = config.state_file.as_ref().filter(|p| p.exists());
    let (state, restored) = match existing {
        Some(path) => (SandboxState::load(path)?, true),
        None => match &config.seed {
            Some(plan) => (SandboxState::seed(plan, config.accept), false),
            None => (SandboxState::empty(), false),
        },
    };

    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;

    let (persist, wanted_rx) = match &config.state_file {
        Some(path) => {
            let (wanted, wanted_rx) = watch::channel(0u64);
            let (done, _) = watch::channel(0u64);
            (
                Some(server::Persist {
                    path: path.clone(),
                    wanted,
                    done,
                }),
                Some(wanted_rx),
            )
        }
        None => (None, None),
    };
    let faults = faults::FaultConfig {
        latency_ms: config.latency_ms,
        fail_rate: config.fail_rate,
        throttle_rate: config.throttle_rate,
        rate_limit: config.rate_limit,
    };
    let app = Arc::new(server::App::new(
        state,
        config.token.clone(),
        faults,
        config.fault_seed,
        persist,
    ));
    // The seeded (or restored) state is on disk before the first request is served.
    app.write_state_now()
        .context("cannot write the sandbox state file")?;
    let persister = wanted_rx.map(|rx| tokio::spawn(server::persist_loop(app.clone(), rx)));

    let (shutdown, shutdown_rx) = watch::channel(false);
    let router = server::router(app.clone());
    let server = tokio::spawn(server::serve(listener, router, shutdown_rx));
    Ok(RunningSandbox {
        addr,
        token: config.token,
        app,
        shutdown,
        server,
        persister,
        restored,
    })
}
