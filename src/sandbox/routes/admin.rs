//! The `/sandbox/*` admin routes (same bearer token, never faulted): the whole state for
//! tests, accepting an invitation as the customer would, and the sandbox clock.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::sandbox::app::App;
use crate::sandbox::requests::ClockRequest;
use crate::sandbox::rules::clock_json;
use crate::sandbox::wire::{ApiError, json_response, parse_body, query_get, query_pairs};

/// `GET /sandbox/state[?customer=ID]` (DESIGN §9).
pub async fn state(State(app): State<Arc<App>>, RawQuery(raw): RawQuery) -> Response {
    let pairs = query_pairs(raw.as_deref());
    let only = query_get(&pairs, "customer").map(str::to_string);
    let stats = app.stats_json();
    let body = app.lock().inspect(only.as_deref(), stats);
    json_response(StatusCode::OK, &body)
}

/// `POST /sandbox/customers/{id}/accept`: the customer's admin accepts the invitation.
pub async fn accept(State(app): State<Arc<App>>, Path(cid): Path<String>) -> Response {
    let found = app.lock().accept(&cid);
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

/// `GET /sandbox/clock`: the sandbox's current time and how far it runs ahead.
pub async fn clock(State(app): State<Arc<App>>) -> Response {
    json_response(StatusCode::OK, &clock_json(&app.lock()))
}

/// `POST /sandbox/clock` with `{"advanceDays":N}` or `{"now":"2027-02-01T00:00:00Z"}`:
/// moves the sandbox's clock forward (never back), to rehearse expiries and the
/// 7-day windows of new-commerce subscriptions.
pub async fn set_clock(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let answer = parse_body(&body)
        .and_then(|b| ClockRequest::parse(&b))
        .and_then(|req| {
            let mut st = app.lock();
            st.set_clock(&req)?;
            Ok(clock_json(&st))
        });
    match answer {
        Ok(v) => {
            app.wait_persisted().await;
            json_response(StatusCode::OK, &v)
        }
        Err(e) => e.into_response(),
    }
}
