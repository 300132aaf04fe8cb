//! Subscriptions (§6): listing, reading, and the PATCH of a whole subscription.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;

use super::ok;
use crate::sandbox::app::App;
use crate::sandbox::requests::SubscriptionPatch;
use crate::sandbox::state::subscription_json;
use crate::sandbox::wire::{ApiError, ApiResult, collection, parse_body, query_get, query_pairs};

/// `GET /v1/customers/{id}/subscriptions[?order_id=]`: never paged.
pub async fn list_subscriptions(
    State(app): State<Arc<App>>,
    Path(cid): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let pairs = query_pairs(raw.as_deref());
    let order = query_get(&pairs, "order_id");
    let st = app.lock();
    let t = st.related(&cid)?;
    let now = st.now();
    let items = t
        .subscriptions
        .iter()
        .filter(|s| order.is_none_or(|o| s.order_id.eq_ignore_ascii_case(o)))
        .map(|s| subscription_json(t, s, now))
        .collect();
    ok(&collection(
        items,
        &format!("/customers/{}/subscriptions", t.id),
    ))
}

/// `GET /v1/customers/{id}/subscriptions/{sid}`.
pub async fn get_subscription(
    State(app): State<Arc<App>>,
    Path((cid, sid)): Path<(String, String)>,
) -> ApiResult {
    let st = app.lock();
    let t = st.related(&cid)?;
    match t.subscription(&sid) {
        Some(s) => ok(&subscription_json(t, s, st.now())),
        None => Err(ApiError::not_found("Subscription")),
    }
}

/// `PATCH /v1/customers/{id}/subscriptions/{sid}` with the whole subscription (§6).
/// A body without `autoRenewEnabled` turns auto-renew off, as the docs warn it does.
pub async fn patch_subscription(
    State(app): State<Arc<App>>,
    Path((cid, sid)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let mut st = app.lock();
    st.related(&cid)?;
    let patch = SubscriptionPatch::parse(&parse_body(&body)?)?;
    let if_match = headers.get("if-match").and_then(|v| v.to_str().ok());
    let sub = st.patch_subscription(&cid, &sid, if_match, &patch)?;
    let now = st.now();
    ok(&subscription_json(st.related(&cid)?, &sub, now))
}
