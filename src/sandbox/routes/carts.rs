//! New-commerce carts (§10.2) and checkout (§10.3).
//!
//! As the docs describe, a cart line that fails validation does not fail the request —
//! the cart comes back 201 with an `error` on that line — and checkout then refuses the
//! whole cart with 400 `800009`. A checked-out cart keeps its `CartCheckoutResult`, so
//! checking it out again returns the first result instead of buying twice.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde_json::{Value, json};

use super::{created, ok, request_id};
use crate::sandbox::app::App;
use crate::sandbox::requests::CartRequest;
use crate::sandbox::state::{Cart, Tenant};
use crate::sandbox::wire::{ApiResult, link, parse_body, ts};

fn cart_json(t: &Tenant, cart: &Cart) -> Value {
    let lines: Vec<Value> = cart
        .line_items
        .iter()
        .map(|l| {
            let months = if l.billing_cycle == "annual" { 12.0 } else { 1.0 };
            let mut v = json!({
                "id": l.id,
                "catalogItemId": l.catalog_item_id,
                "quantity": l.quantity,
                "currencyCode": "USD",
                "billingCycle": l.billing_cycle,
                "termDuration": l.term_duration,
                "provisioningContext": l.provisioning_context,
                "orderGroup": "0",
                "pricing": {
                    "listPrice": l.list_price,
                    "discountedPrice": l.list_price,
                    "proratedPrice": l.list_price,
                    "price": l.list_price,
                    "extendedPrice": l.list_price * l.quantity as f64 * months,
                },
            });
            if let Some(name) = &l.friendly_name {
                v["friendlyName"] = json!(name);
            }
            if let Some((code, text)) = &l.error {
                v["error"] = json!({"errorCode": code, "errorDescription": text, "additionalInformation": {}});
            }
            v
        })
        .collect();
    json!({
        "id": cart.id,
        "creationTimestamp": ts(&cart.creation),
        "lastModifiedTimestamp": ts(&cart.last_modified),
        "expirationTimestamp": ts(&cart.expiration),
        "lastModifiedUser": "sandbox-partner-user",
        "status": cart.status,
        "lineItems": lines,
        "links": {"self": link(format!("/customers/{}/carts/{}", t.id, cart.id))},
        "attributes": {"objectType": "Cart"},
    })
}

/// `POST /v1/customers/{id}/carts` → 201 Cart.
pub async fn create_cart(
    State(app): State<Arc<App>>,
    Path(cid): Path<String>,
    body: Bytes,
) -> ApiResult {
    let mut st = app.lock();
    st.related(&cid)?;
    let req = CartRequest::parse(&parse_body(&body)?)?;
    let cart = st.create_cart(&app.catalog, &cid, &req)?;
    created(&cart_json(st.related(&cid)?, &cart))
}

/// `GET /v1/customers/{id}/carts/{cartId}`.
pub async fn get_cart(
    State(app): State<Arc<App>>,
    Path((cid, cart_id)): Path<(String, String)>,
) -> ApiResult {
    let st = app.lock();
    let cart = st.cart(&cid, &cart_id)?;
    ok(&cart_json(st.related(&cid)?, cart))
}

/// `PUT /v1/customers/{id}/carts/{cartId}` with the whole cart → 201 (as the doc sample).
pub async fn put_cart(
    State(app): State<Arc<App>>,
    Path((cid, cart_id)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let mut st = app.lock();
    st.related(&cid)?;
    let req = CartRequest::parse(&parse_body(&body)?)?;
    let cart = st.update_cart(&app.catalog, &cid, &cart_id, &req)?;
    created(&cart_json(st.related(&cid)?, &cart))
}

/// `POST /v1/customers/{id}/carts/{cartId}/checkout` → 201 CartCheckoutResult. The body
/// is ignored (the SDK posts `"success"`, the docs send nothing).
pub async fn checkout(
    State(app): State<Arc<App>>,
    Path((cid, cart_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    let request_id = request_id(&headers);
    let result = app
        .lock()
        .checkout(&app.catalog, &cid, &cart_id, request_id.as_deref())?;
    created(&result)
}
