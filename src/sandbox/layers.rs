//! The layers every API request passes besides faults and the bearer check (which live
//! in `faults` and `auth`): `MS-RequestId`/`MS-CorrelationId` echo, and the replay of a
//! repeated changing request together with the wait for its change to be durable.
//!
//! The main decision: the first *successful* answer to a POST, PATCH or PUT is kept under
//! its method, path and `MS-RequestId` and returned again byte for byte, and no changing
//! request is answered before the change log holds its change (and its stored answer).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::app::App;
use super::state::{Change, Replay};
use super::wire::{ApiError, JSON_UTF8, gateway_response};

/// Echoes `MS-RequestId`/`MS-CorrelationId` (new ones when the client sent none).
pub async fn echo_headers(req: Request, next: Next) -> Response {
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
pub async fn replay_and_persist(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
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
        st.changed(Change::Replay(k.clone()));
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

pub async fn not_found() -> Response {
    gateway_response(StatusCode::NOT_FOUND, "Resource not found")
}

pub async fn method_not_allowed() -> Response {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        405,
        "The HTTP method is not allowed on this resource.",
    )
    .into_response()
}
