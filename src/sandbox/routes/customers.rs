//! Customers: the relationship request (§2), the customer list and lookup (§3), and the
//! agreements a customer confirms (MCA).

use std::ops::Bound;
use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use serde_json::json;

use super::{Filter, continuation, created, ok, page_size};
use crate::sandbox::app::{App, Caller};
use crate::sandbox::requests::AgreementRequest;
use crate::sandbox::state::customer_json;
use crate::sandbox::wire::{
    ApiError, ApiResult, PageToken, page, parse_body, query_get, query_pairs,
};

/// Default and largest page of `GET /v1/customers`.
pub const CUSTOMERS_PAGE: (usize, usize) = (200, 1000);

/// `GET /v1/customers/relationshiprequests`: the partner's one invitation link (§2).
pub async fn relationship_request(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
) -> ApiResult {
    caller.require_user()?;
    let partner = app.lock().partner_tenant_id.clone();
    ok(&json!({
        "url": format!("https://admin.microsoft.com/Adminportal/Home?invType=ResellerRelationship&partnerId={partner}&msppId=0&DAP=false#/BillingAccounts/partner-invitation"),
        "attributes": {"objectType": "RelationshipRequest"},
    }))
}

/// `GET /v1/customers[?size&filter&seekOperation]`: accepted customers, seek-paged by id.
pub async fn list_customers(
    State(app): State<Arc<App>>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> ApiResult {
    let pairs = query_pairs(raw.as_deref());
    let (after, size, filter_text) = match continuation(&headers, &pairs, "customers")? {
        Some(t) => (Some(t.after), t.size, t.filter),
        None => (
            None,
            page_size(&pairs, CUSTOMERS_PAGE)?,
            query_get(&pairs, "filter").map(str::to_string),
        ),
    };
    let filter = Filter::customer(filter_text.as_deref())?;
    let st = app.lock();
    let range = match &after {
        Some(a) => st
            .customers
            .range::<String, _>((Bound::Excluded(a.clone()), Bound::Unbounded)),
        None => st.customers.range::<String, _>(..),
    };
    let mut items = Vec::new();
    let mut last = None;
    let mut more = false;
    for t in range
        .map(|(_, t)| t)
        .filter(|t| t.accepted && filter.as_ref().is_none_or(|f| f.matches_customer(t)))
    {
        if items.len() == size {
            more = true;
            break;
        }
        items.push(customer_json(t, false));
        last = Some(t.id.clone());
    }
    drop(st);
    let next = match (more, last) {
        (true, Some(after)) => {
            let token = PageToken {
                scope: "customers".into(),
                after,
                size,
                filter: filter_text,
            };
            Some((
                format!("/customers?size={size}&seekOperation=Next"),
                token.encode(),
            ))
        }
        _ => None,
    };
    ok(&page(items, &format!("/customers?size={size}"), next))
}

/// `GET /v1/customers/{id}`: 404 `1000` for a customer that has not accepted.
pub async fn get_customer(State(app): State<Arc<App>>, Path(cid): Path<String>) -> ApiResult {
    let st = app.lock();
    match st.customers.get(&cid.to_ascii_lowercase()) {
        Some(t) if t.accepted => ok(&customer_json(t, true)),
        _ => Err(ApiError::not_found("Customer")),
    }
}

/// `POST /v1/customers/{id}/agreements`: records that the customer accepted the MCA.
pub async fn create_agreement(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    Path(cid): Path<String>,
    body: Bytes,
) -> ApiResult {
    caller.require_user()?;
    let req = AgreementRequest::parse(&parse_body(&body)?)?;
    let out = app.lock().add_agreement(&cid, &req)?;
    created(&out)
}
