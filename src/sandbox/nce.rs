//! New-commerce routes (partner-center-api.md §10): the product → SKU → availability
//! catalog (global and customer-scoped), carts and checkout.
//!
//! The main decision: as the docs describe, a cart line that fails validation does not
//! fail the request — the cart comes back 201 with an `error` on that line — and checkout
//! then refuses the whole cart with 400 `800009`. A checked-out cart keeps its
//! `CartCheckoutResult`, so checking it out again returns the first result (checkout is
//! documented as idempotent per cart) instead of buying twice.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use chrono::{DateTime, Duration, Months, Utc};
use serde_json::{Value, json};

use super::api::{related, related_mut};
use super::catalog::{NceSku, TERMS, availability_json, is_guid, product_json, sku_json};
use super::server::App;
use super::state::{Cart, CartLine, Order, OrderLine, Subscription, Tenant, order_json};
use super::wire::{
    ApiError, ApiResult, collection, enum_key, int_field, json_response, link, new_guid,
    new_order_id_nce, parse_body, query_get, query_pairs, str_field, ts,
};

/// Days a cart stays usable (2023 NCE sample: creation + 7 days).
const CART_DAYS: i64 = 7;

/// Adds the new-commerce routes to the `/v1` router.
pub fn routes(r: Router<Arc<App>>) -> Router<Arc<App>> {
    let mut r = r;
    for prefix in ["", "/customers/{cid}"] {
        r = r
            .route(&format!("{prefix}/products"), get(list_products))
            .route(&format!("{prefix}/products/{{pid}}"), get(get_product))
            .route(&format!("{prefix}/products/{{pid}}/skus"), get(list_skus))
            .route(
                &format!("{prefix}/products/{{pid}}/skus/{{sid}}"),
                get(get_sku),
            )
            .route(
                &format!("{prefix}/products/{{pid}}/skus/{{sid}}/availabilities"),
                get(list_availabilities),
            )
            .route(
                &format!("{prefix}/products/{{pid}}/skus/{{sid}}/availabilities/{{aid}}"),
                get(get_availability),
            );
    }
    r.route("/customers/{cid}/carts", post(create_cart))
        .route("/customers/{cid}/carts/{cart}", get(get_cart).put(put_cart))
        .route("/customers/{cid}/carts/{cart}/checkout", post(checkout))
}

type Params = Path<HashMap<String, String>>;

/// The market of a catalog call: `country` on global routes, the customer's own country on
/// customer-scoped ones (which also need the relationship). Returns (country, customer).
fn market(
    app: &App,
    params: &HashMap<String, String>,
    pairs: &[(String, String)],
) -> Result<(String, Option<String>), ApiError> {
    match params.get("cid") {
        Some(cid) => {
            let st = app.lock();
            let t = related(&st, cid)?;
            Ok((t.country.clone(), Some(t.id.clone())))
        }
        None => query_get(pairs, "country")
            .filter(|c| !c.trim().is_empty())
            .map(|c| (c.trim().to_ascii_uppercase(), None))
            .ok_or_else(|| ApiError::bad_input("The country query parameter is required.")),
    }
}

/// Only the commercial segment exists in the sandbox; other segments list nothing.
fn commercial(pairs: &[(String, String)]) -> bool {
    query_get(pairs, "targetSegment").is_none_or(|s| s.eq_ignore_ascii_case("commercial"))
}

fn product_not_found(pid: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        400013,
        format!("Product {pid} was not found."),
    )
}

fn sku_not_found(sid: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        400018,
        format!("SKU {sid} was not found."),
    )
}

fn availability_not_found(aid: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        400019,
        format!("Availability {aid} was not found."),
    )
}

fn param<'a>(params: &'a HashMap<String, String>, name: &str) -> &'a str {
    params.get(name).map(String::as_str).unwrap_or("")
}

fn ok(body: &Value) -> ApiResult {
    Ok(json_response(StatusCode::OK, body))
}

async fn list_products(
    State(app): State<Arc<App>>,
    Path(params): Params,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let pairs = query_pairs(raw.as_deref());
    let (country, customer) = market(&app, &params, &pairs)?;
    match query_get(&pairs, "targetView") {
        None => {
            return Err(ApiError::bad_input(
                "The targetView query parameter is required (OnlineServices).",
            ));
        }
        Some(view) if !view.eq_ignore_ascii_case("OnlineServices") => {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                400036,
                format!("targetView {view} is not allowed in the sandbox: use OnlineServices."),
            ));
        }
        Some(_) => {}
    }
    let items: Vec<Value> = if commercial(&pairs) {
        app.catalog
            .nce_product_ids()
            .into_iter()
            .filter_map(|pid| app.catalog.nce_product(pid).first().copied())
            .map(|sku| product_json(sku, &country, customer.as_deref()))
            .collect()
    } else {
        Vec::new()
    };
    ok(&collection(
        items,
        &format!("/products?country={country}&targetView=OnlineServices"),
    ))
}

fn find_product<'a>(app: &'a App, pid: &str) -> Result<Vec<&'a NceSku>, ApiError> {
    let skus = app.catalog.nce_product(pid);
    if skus.is_empty() {
        Err(product_not_found(pid))
    } else {
        Ok(skus)
    }
}

fn find_sku<'a>(app: &'a App, pid: &str, sid: &str) -> Result<&'a NceSku, ApiError> {
    find_product(app, pid)?;
    app.catalog
        .nce_sku(pid, sid)
        .ok_or_else(|| sku_not_found(sid))
}

async fn get_product(
    State(app): State<Arc<App>>,
    Path(params): Params,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let pairs = query_pairs(raw.as_deref());
    let (country, customer) = market(&app, &params, &pairs)?;
    let skus = find_product(&app, param(&params, "pid"))?;
    ok(&product_json(skus[0], &country, customer.as_deref()))
}

async fn list_skus(
    State(app): State<Arc<App>>,
    Path(params): Params,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let pairs = query_pairs(raw.as_deref());
    let (country, customer) = market(&app, &params, &pairs)?;
    let pid = param(&params, "pid");
    let skus = find_product(&app, pid)?;
    let items = if commercial(&pairs) {
        skus.iter()
            .map(|s| sku_json(s, &country, customer.as_deref()))
            .collect()
    } else {
        Vec::new()
    };
    ok(&collection(
        items,
        &format!("/products/{}/skus?country={country}", skus[0].product_id),
    ))
}

async fn get_sku(
    State(app): State<Arc<App>>,
    Path(params): Params,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let pairs = query_pairs(raw.as_deref());
    let (country, customer) = market(&app, &params, &pairs)?;
    let sku = find_sku(&app, param(&params, "pid"), param(&params, "sid"))?;
    ok(&sku_json(sku, &country, customer.as_deref()))
}

async fn list_availabilities(
    State(app): State<Arc<App>>,
    Path(params): Params,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let pairs = query_pairs(raw.as_deref());
    let (country, customer) = market(&app, &params, &pairs)?;
    let sku = find_sku(&app, param(&params, "pid"), param(&params, "sid"))?;
    let items = if commercial(&pairs) {
        vec![availability_json(sku, &country, customer.as_deref())]
    } else {
        Vec::new()
    };
    ok(&collection(
        items,
        &format!(
            "/products/{}/skus/{}/availabilities?country={country}",
            sku.product_id, sku.sku_id
        ),
    ))
}

async fn get_availability(
    State(app): State<Arc<App>>,
    Path(params): Params,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let pairs = query_pairs(raw.as_deref());
    let (country, customer) = market(&app, &params, &pairs)?;
    let sku = find_sku(&app, param(&params, "pid"), param(&params, "sid"))?;
    let aid = param(&params, "aid");
    if !sku.availability_id.eq_ignore_ascii_case(aid) {
        return Err(availability_not_found(aid));
    }
    ok(&availability_json(sku, &country, customer.as_deref()))
}

// ---------------------------------------------------------------------------------------
// Carts.

/// Reads and validates the lines of a cart body. Whole-request problems are errors;
/// line problems are stored on the line (§10.6 item 2).
fn cart_lines(app: &App, body: &Value) -> Result<Vec<CartLine>, ApiError> {
    let lines = match body.get("lineitems").and_then(Value::as_array) {
        Some(lines) if !lines.is_empty() => lines,
        _ => return Err(ApiError::bad_input("A cart needs at least one line item.")),
    };
    let mut ids = BTreeSet::new();
    let mut out = Vec::new();
    for line in lines {
        let Some(id) = int_field(line, "id") else {
            return Err(ApiError::bad_input(
                "Each cart line item needs an integer id.",
            ));
        };
        if !ids.insert(id) {
            return Err(ApiError::bad_input(format!(
                "Cart line item id {id} is used twice."
            )));
        }
        let Some(item) = str_field(line, "catalogitemid").filter(|s| !s.trim().is_empty()) else {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                900142,
                "The catalog item ID is missing.",
            ));
        };
        let quantity = match int_field(line, "quantity") {
            Some(q) if q >= 0 => q as u64,
            _ => {
                return Err(ApiError::bad_input(format!(
                    "Cart line item {id} needs a whole-number quantity."
                )));
            }
        };
        let billing = str_field(line, "billingcycle").unwrap_or("").to_string();
        let term = str_field(line, "termduration").map(|t| t.trim().to_ascii_uppercase());
        let sku = app.catalog.nce_item(item);
        let error = if is_guid(item) && app.catalog.offer(item).is_some() {
            Some((
                500600,
                "Legacy offers are not eligible for purchase in a cart.".to_string(),
            ))
        } else if let Some(sku) = sku {
            if quantity > sku.max_quantity {
                Some((
                    10015,
                    format!(
                        "At most {} seats per subscription of {item}.",
                        sku.max_quantity
                    ),
                ))
            } else if quantity < sku.min_quantity {
                Some((
                    10010,
                    format!("At least {} seats of {item}.", sku.min_quantity),
                ))
            } else {
                match &term {
                    None => Some((10010, "termDuration is required.".to_string())),
                    Some(t)
                        if !TERMS.iter().any(|(d, b)| {
                            d.eq_ignore_ascii_case(t) && enum_key(b) == enum_key(&billing)
                        }) =>
                    {
                        Some((
                            10013,
                            format!(
                                "Billing cycle {billing:?} with term {t} is not offered for {item}."
                            ),
                        ))
                    }
                    Some(_) => None,
                }
            }
        } else {
            Some((10001, format!("The catalog item ID {item} is not valid.")))
        };
        out.push(CartLine {
            id,
            catalog_item_id: item.trim().to_string(),
            quantity,
            billing_cycle: billing.to_ascii_lowercase(),
            term_duration: term,
            friendly_name: str_field(line, "friendlyname").map(str::to_string),
            provisioning_context: line
                .get("provisioningcontext")
                .cloned()
                .unwrap_or_else(|| json!({})),
            error,
            list_price: sku.map(|s| s.list_price).unwrap_or(0.0),
        });
    }
    out.sort_by_key(|l| l.id);
    Ok(out)
}

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

fn cart_not_found(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        800008,
        format!("Cart {id} was not found."),
    )
}

/// An Active cart past its expiry is gone.
fn usable_cart<'a>(
    t: &'a mut Tenant,
    id: &str,
    now: DateTime<Utc>,
) -> Result<&'a mut Cart, ApiError> {
    t.carts
        .iter_mut()
        .find(|c| c.id.eq_ignore_ascii_case(id))
        .filter(|c| c.status == "Ordered" || c.expiration > now)
        .ok_or_else(|| cart_not_found(id))
}

/// `POST /v1/customers/{id}/carts` → 201 Cart.
async fn create_cart(
    State(app): State<Arc<App>>,
    Path(cid): Path<String>,
    body: Bytes,
) -> ApiResult {
    let mut st = app.lock();
    related(&st, &cid)?;
    let body = parse_body(&body)?;
    let lines = cart_lines(&app, &body)?;
    let now = st.now();
    let cart = Cart {
        id: new_guid(),
        status: "Active".into(),
        creation: now,
        last_modified: now,
        expiration: now + Duration::days(CART_DAYS),
        line_items: lines,
        checkout_result: None,
    };
    let t = related_mut(&mut st, &cid)?;
    let out = cart_json(t, &cart);
    t.carts.push(cart);
    st.touch();
    Ok(json_response(StatusCode::CREATED, &out))
}

/// `GET /v1/customers/{id}/carts/{cartId}`.
async fn get_cart(
    State(app): State<Arc<App>>,
    Path((cid, cart_id)): Path<(String, String)>,
) -> ApiResult {
    let mut st = app.lock();
    let now = st.now();
    let t = related_mut(&mut st, &cid)?;
    let cart = usable_cart(t, &cart_id, now)?.clone();
    ok(&cart_json(t, &cart))
}

/// `PUT /v1/customers/{id}/carts/{cartId}` with the whole cart → 201 (as the doc sample).
async fn put_cart(
    State(app): State<Arc<App>>,
    Path((cid, cart_id)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let mut st = app.lock();
    related(&st, &cid)?;
    let body = parse_body(&body)?;
    let lines = cart_lines(&app, &body)?;
    let now = st.now();
    let t = related_mut(&mut st, &cid)?;
    let cart = usable_cart(t, &cart_id, now)?;
    if cart.status == "Ordered" {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            800065,
            "The cart has already been submitted.",
        ));
    }
    cart.line_items = lines;
    cart.last_modified = now;
    let cart = cart.clone();
    let out = cart_json(t, &cart);
    st.touch();
    Ok(json_response(StatusCode::CREATED, &out))
}

/// `POST /v1/customers/{id}/carts/{cartId}/checkout` → 201 CartCheckoutResult. The body
/// is ignored (the SDK posts `"success"`, the docs send nothing).
async fn checkout(
    State(app): State<Arc<App>>,
    Path((cid, cart_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    let request_id = headers
        .get("ms-requestid")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut st = app.lock();
    let now = st.now();
    let t = related_mut(&mut st, &cid)?;
    let cart = usable_cart(t, &cart_id, now)?.clone();
    if let Some(result) = &cart.checkout_result {
        return Ok(json_response(StatusCode::CREATED, result));
    }
    if let Some(bad) = cart.line_items.iter().find(|l| l.error.is_some()) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            800009,
            format!("Error in cart item(s): line {} is not valid.", bad.id),
        ));
    }
    let skus: Vec<&NceSku> = cart
        .line_items
        .iter()
        .map(|l| {
            app.catalog
                .nce_item(&l.catalog_item_id)
                .expect("validated line")
        })
        .collect();

    // Every line shares order group "0": one order, or one orderErrors entry.
    let mut order_errors = Vec::new();
    for sku in &skus {
        let Some(limit) = sku.asset_limit else {
            continue;
        };
        let prefix = format!("{}:{}:", sku.product_id, sku.sku_id);
        let owned = t
            .subscriptions
            .iter()
            .filter(|s| {
                s.offer_id
                    .to_ascii_uppercase()
                    .starts_with(&prefix.to_ascii_uppercase())
                    && s.effective_status(now) == "active"
            })
            .count() as u64;
        let asked = skus
            .iter()
            .filter(|s| s.product_id == sku.product_id && s.sku_id == sku.sku_id)
            .count() as u64;
        if owned + asked > limit {
            order_errors.push(json!({
                "orderGroupId": "0",
                "code": 800089,
                "description": format!(
                    "The requested number of {asked} asset(s) exceeded the remaining limit of {} assets allowed per customer.",
                    limit.saturating_sub(owned)
                ),
            }));
            break;
        }
    }
    if !order_errors.is_empty() {
        let result = json!({"orders": [], "orderErrors": order_errors, "attributes": {"objectType": "CartCheckoutResult"}});
        return Ok(json_response(StatusCode::CREATED, &result));
    }

    let order_id = new_order_id_nce();
    let mut order_lines = Vec::new();
    for (n, (line, sku)) in cart.line_items.iter().zip(&skus).enumerate() {
        let term = line.term_duration.clone().unwrap_or_else(|| "P1Y".into());
        let months = match term.as_str() {
            "P1M" => 1,
            "P3Y" => 36,
            _ => 12,
        };
        let start = now.date_naive();
        let end = (start + Months::new(months) - Duration::days(1))
            .and_hms_opt(0, 0, 0)
            .expect("midnight")
            .and_utc();
        let sid = new_guid();
        t.subscriptions.push(Subscription {
            id: sid.clone(),
            offer_id: sku.catalog_item_id(),
            offer_name: sku.sku_title.clone(),
            friendly_name: line
                .friendly_name
                .clone()
                .unwrap_or_else(|| sku.sku_title.clone()),
            quantity: line.quantity,
            min_quantity: sku.min_quantity,
            max_quantity: sku.max_quantity,
            sku_id: sku.provisioning_id.to_ascii_lowercase(),
            status: "active".into(),
            auto_renew_enabled: true,
            billing_cycle: line.billing_cycle.clone(),
            term_duration: term.clone(),
            order_id: order_id.clone(),
            parent_subscription_id: None,
            creation_date: now,
            commitment_end_date: end,
            nce: true,
            revision: 0,
        });
        order_lines.push(OrderLine {
            line_item_number: n as i64,
            offer_id: sku.catalog_item_id(),
            subscription_id: Some(sid),
            friendly_name: line
                .friendly_name
                .clone()
                .or_else(|| Some(sku.sku_title.clone())),
            quantity: line.quantity,
            term_duration: Some(term),
            parent_subscription_id: None,
        });
    }
    let order = Order {
        id: order_id,
        request_id,
        billing_cycle: cart
            .line_items
            .first()
            .map(|l| l.billing_cycle.clone())
            .unwrap_or_else(|| "monthly".into()),
        line_items: order_lines,
        creation_date: now,
        status: "completed".into(),
        nce: true,
    };
    let mut order_out = order_json(t, &order);
    // A fresh order reads `pending` in the checkout answer, as in the docs' sample.
    order_out["status"] = json!("pending");
    let total: f64 = cart
        .line_items
        .iter()
        .map(|l| l.list_price * l.quantity as f64)
        .sum();
    order_out["totalPrice"] = json!(total);
    let result = json!({"orders": [order_out], "orderErrors": [], "attributes": {"objectType": "CartCheckoutResult"}});
    t.orders.push(order);
    if let Some(c) = t.carts.iter_mut().find(|c| c.id == cart.id) {
        c.status = "Ordered".into();
        c.last_modified = now;
        c.checkout_result = Some(result.clone());
    }
    st.touch();
    Ok(json_response(StatusCode::CREATED, &result))
}
