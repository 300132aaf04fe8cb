//! The catalog: legacy offers (§4, `/v1/offers`) and the new-commerce product → SKU →
//! availability tree (§10.1), global (`country` in the query) and customer-scoped (the
//! customer's own market, which also needs the relationship).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use serde_json::Value;

use super::{country_of, locale_of, ok};
use crate::sandbox::app::App;
use crate::sandbox::catalog::{NceSku, availability_json, offer_json, product_json, sku_json};
use crate::sandbox::wire::{ApiError, ApiResult, collection, query_get, query_pairs};

/// Adds the catalog routes (legacy offers; new-commerce products with and without the
/// customer prefix) to the `/v1` router.
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
    r.route("/offers", get(list_offers))
        .route("/offers/{oid}", get(get_offer))
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
            let t = st.related(cid)?;
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
            .filter_map(|pid| {
                app.catalog
                    .nce_product(pid)
                    .into_iter()
                    .find(|s| sold_in(s, &country))
            })
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

/// Whether the SKU is sold in this market (a catalog row without a country: everywhere).
fn sold_in(sku: &NceSku, country: &str) -> bool {
    sku.country
        .as_deref()
        .is_none_or(|c| c.eq_ignore_ascii_case(country))
}

fn find_product<'a>(app: &'a App, pid: &str, country: &str) -> Result<Vec<&'a NceSku>, ApiError> {
    let skus: Vec<&NceSku> = app
        .catalog
        .nce_product(pid)
        .into_iter()
        .filter(|s| sold_in(s, country))
        .collect();
    if skus.is_empty() {
        Err(product_not_found(pid))
    } else {
        Ok(skus)
    }
}

fn find_sku<'a>(app: &'a App, pid: &str, sid: &str, country: &str) -> Result<&'a NceSku, ApiError> {
    find_product(app, pid, country)?;
    app.catalog
        .nce_sku(pid, sid)
        .filter(|s| sold_in(s, country))
        .ok_or_else(|| sku_not_found(sid))
}

async fn get_product(
    State(app): State<Arc<App>>,
    Path(params): Params,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let pairs = query_pairs(raw.as_deref());
    let (country, customer) = market(&app, &params, &pairs)?;
    let skus = find_product(&app, param(&params, "pid"), &country)?;
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
    let skus = find_product(&app, pid, &country)?;
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
    let sku = find_sku(&app, param(&params, "pid"), param(&params, "sid"), &country)?;
    ok(&sku_json(sku, &country, customer.as_deref()))
}

async fn list_availabilities(
    State(app): State<Arc<App>>,
    Path(params): Params,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let pairs = query_pairs(raw.as_deref());
    let (country, customer) = market(&app, &params, &pairs)?;
    let sku = find_sku(&app, param(&params, "pid"), param(&params, "sid"), &country)?;
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
    let sku = find_sku(&app, param(&params, "pid"), param(&params, "sid"), &country)?;
    let aid = param(&params, "aid");
    if !sku.availability_id.eq_ignore_ascii_case(aid) {
        return Err(availability_not_found(aid));
    }
    ok(&availability_json(sku, &country, customer.as_deref()))
}

/// `GET /v1/offers?country=` (optional `offset`, `size`).
pub async fn list_offers(
    State(app): State<Arc<App>>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> ApiResult {
    let pairs = query_pairs(raw.as_deref());
    let country = country_of(&pairs)?;
    let locale = locale_of(&headers);
    let offset: usize = query_get(&pairs, "offset")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let size: usize = query_get(&pairs, "size")
        .and_then(|s| s.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(usize::MAX);
    let items: Vec<Value> = app
        .catalog
        .offers
        .iter()
        .skip(offset)
        .take(size)
        .map(|o| offer_json(o, &country, &locale))
        .collect();
    ok(&collection(items, &format!("/offers?country={country}")))
}

/// `GET /v1/offers/{id}?country=`.
pub async fn get_offer(
    State(app): State<Arc<App>>,
    Path(oid): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> ApiResult {
    let pairs = query_pairs(raw.as_deref());
    let country = country_of(&pairs)?;
    match app.catalog.offer(&oid) {
        Some(o) => ok(&offer_json(o, &country, &locale_of(&headers))),
        None => Err(ApiError::not_found("Offer")),
    }
}
