//! Orders of legacy offers (§5): placing one, adding a legacy add-on to the order of its
//! parent subscription (PATCH), listing, reading and its provisioning status.

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde_json::{Value, json};

use super::{created, ok, request_id};
use crate::sandbox::app::{App, Caller};
use crate::sandbox::requests::OrderRequest;
use crate::sandbox::state::order_json;
use crate::sandbox::wire::{ApiError, ApiResult, collection, parse_body};

/// `POST /v1/customers/{id}/orders` (§5, §9 item 4): see [`crate::sandbox::rules`].
pub async fn create_order(
    State(app): State<Arc<App>>,
    Path(cid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let request_id = request_id(&headers);
    let mut st = app.lock();
    st.related(&cid)?;
    let req = OrderRequest::parse(&parse_body(&body)?);
    // An order already placed under this request id wins over a body that no longer parses.
    let order = match req {
        Ok(req) => st.place_order(
            &app.catalog,
            app.strict.sell_legacy_offers,
            &cid,
            request_id.as_deref(),
            &req,
        )?,
        Err(e) => {
            let placed = request_id.as_deref().and_then(|rid| {
                st.related(&cid)
                    .ok()?
                    .orders
                    .iter()
                    .find(|o| o.request_id.as_deref() == Some(rid) && !o.nce)
                    .cloned()
            });
            placed.ok_or(e)?
        }
    };
    let out = order_json(st.related(&cid)?, &order);
    created(&out)
}

/// `PATCH /v1/customers/{id}/orders/{oid}` (§5: a legacy add-on): see
/// [`crate::sandbox::rules`]. Answers 200 with the updated order.
pub async fn patch_order(
    State(app): State<Arc<App>>,
    Path((cid, oid)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let req = OrderRequest::parse(&parse_body(&body)?)?;
    let mut st = app.lock();
    let order = st.patch_order(
        &app.catalog,
        app.strict.sell_legacy_offers,
        &cid,
        &oid,
        &req,
    )?;
    let out = order_json(st.related(&cid)?, &order);
    ok(&out)
}

/// `GET /v1/customers/{id}/orders`.
pub async fn list_orders(State(app): State<Arc<App>>, Path(cid): Path<String>) -> ApiResult {
    let st = app.lock();
    let t = st.related(&cid)?;
    let items = t.orders.iter().map(|o| order_json(t, o)).collect();
    ok(&collection(items, &format!("/customers/{}/orders", t.id)))
}

/// `GET /v1/customers/{id}/orders/{oid}`.
pub async fn get_order(
    State(app): State<Arc<App>>,
    Path((cid, oid)): Path<(String, String)>,
) -> ApiResult {
    let st = app.lock();
    let t = st.related(&cid)?;
    match t.orders.iter().find(|o| o.id.eq_ignore_ascii_case(&oid)) {
        Some(o) => ok(&order_json(t, o)),
        None => Err(ApiError::not_found("Order")),
    }
}

/// `GET /v1/customers/{id}/orders/{oid}/provisioningstatus` (App+User).
pub async fn provisioning_status(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    Path((cid, oid)): Path<(String, String)>,
) -> ApiResult {
    caller.require_user()?;
    let st = app.lock();
    let t = st.related(&cid)?;
    let o = t
        .orders
        .iter()
        .find(|o| o.id.eq_ignore_ascii_case(&oid))
        .ok_or_else(|| ApiError::not_found("Order"))?;
    let items: Vec<Value> = o
        .line_items
        .iter()
        .map(|l| {
            json!({
                "lineItemNumber": l.line_item_number,
                "status": "fulfilled",
                "quantityProvisioningInformation": [{"quantity": l.quantity, "status": "fulfilled"}],
            })
        })
        .collect();
    ok(
        &json!({"totalCount": items.len(), "items": items, "attributes": {"objectType": "Collection"}}),
    )
}
