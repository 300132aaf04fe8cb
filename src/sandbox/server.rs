//! The accept loop of the sandbox: hyper's HTTP/1 connection builder serving the
//! [`super::app::router`], with API paths folded to the route table's form.
//!
//! The main decision: the accept loop is our own (not `axum::serve`), so that the fault
//! layer can drop a connection for real: each connection task listens on a [`ConnKill`]
//! it hands to its requests and, when told, drops the socket without writing an answer.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};

/// Tells a connection task to drop its socket without answering.
#[derive(Clone)]
pub struct ConnKill(pub Arc<Notify>);

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
