//! Handlers of the legacy Partner Center routes (partner-center-api.md §2–§7, §9 item 1):
//! the relationship request, customers, offers, orders, subscriptions, licence pools,
//! users and licence updates.
//!
//! The main decision: each handler takes the state lock once, validates and acts with no
//! `.await` while holding it, and builds its JSON answer before letting go. So a request is
//! atomic against every other (two orders never interleave), and the checks happen in the
//! order the docs imply: token kind, relationship, body, then business rules.

use std::collections::BTreeSet;
use std::ops::Bound;
use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::{Duration, Months};
use serde_json::{Value, json};

use super::catalog::{is_guid, offer_json};
use super::server::{App, Caller};
use super::state::{
    Order, OrderLine, SandboxState, Subscription, Tenant, customer_json, license_json, order_json,
    subscribed_sku_json, subscription_json, user_json,
};
use super::wire::{
    ApiError, ApiResult, PageToken, bool_field, collection, enum_key, int_field, json_response,
    new_guid, page, parse_body, query_get, query_pairs, str_field,
};

/// Default and largest page of `GET /v1/customers`.
pub const CUSTOMERS_PAGE: (usize, usize) = (200, 1000);
/// Default and largest page of `GET /v1/customers/{id}/users`.
pub const USERS_PAGE: (usize, usize) = (100, 1000);

/// A customer the partner may trade with: known and accepted, else 403 `20002`.
pub fn related<'a>(st: &'a SandboxState, id: &str) -> Result<&'a Tenant, ApiError> {
    st.customers
        .get(&id.to_ascii_lowercase())
        .filter(|t| t.accepted)
        .ok_or_else(ApiError::no_relationship)
}

pub fn related_mut<'a>(st: &'a mut SandboxState, id: &str) -> Result<&'a mut Tenant, ApiError> {
    st.customers
        .get_mut(&id.to_ascii_lowercase())
        .filter(|t| t.accepted)
        .ok_or_else(ApiError::no_relationship)
}

/// The tenant behind a user or licence call: unknown → 404 `60003`, unrelated → 403 `20002`.
fn directory<'a>(st: &'a SandboxState, id: &str) -> Result<&'a Tenant, ApiError> {
    match st.customers.get(&id.to_ascii_lowercase()) {
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            60003,
            format!("Tenant {id} not found."),
        )),
        Some(t) if !t.accepted => Err(ApiError::no_relationship()),
        Some(t) => Ok(t),
    }
}

fn user_not_found(uid: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        60002,
        format!("User {uid} not found."),
    )
}

fn ok(body: &Value) -> ApiResult {
    Ok(json_response(StatusCode::OK, body))
}

/// The page size asked for: absent or 0 means the default; above the maximum is capped.
fn page_size(
    pairs: &[(String, String)],
    (default, max): (usize, usize),
) -> Result<usize, ApiError> {
    match query_get(pairs, "size") {
        None | Some("") => Ok(default),
        Some(text) => match text.trim().parse::<usize>() {
            Ok(0) => Ok(default),
            Ok(n) => Ok(n.min(max)),
            Err(_) => Err(ApiError::bad_input(format!(
                "size {text:?} is not a number."
            ))),
        },
    }
}

/// Where a seek-based listing resumes: from the `MS-ContinuationToken` header, checked to
/// belong to this listing. `seekOperation=Next` without a token is a bad request.
fn continuation(
    headers: &HeaderMap,
    pairs: &[(String, String)],
    scope: &str,
) -> Result<Option<PageToken>, ApiError> {
    let header = headers
        .get("ms-continuationtoken")
        .and_then(|v| v.to_str().ok());
    match header {
        Some(text) => match PageToken::decode(text) {
            Some(token) if token.scope == scope => Ok(Some(token)),
            _ => Err(ApiError::bad_input("The continuation token is not valid.")),
        },
        None if query_get(pairs, "seekOperation")
            .is_some_and(|s| !s.eq_ignore_ascii_case("first")) =>
        {
            Err(ApiError::bad_input(
                "seekOperation needs the MS-ContinuationToken header of the previous page.",
            ))
        }
        None => Ok(None),
    }
}

/// A `filter` query parameter: URL-decoded JSON `{"Field","Value","Operator"}`.
struct Filter {
    field: String,
    value: String,
    operator: String,
}

impl Filter {
    fn parse(text: &str) -> Result<Filter, ApiError> {
        let v = parse_body(text.as_bytes())
            .map_err(|_| ApiError::bad_input("The filter is not valid JSON."))?;
        let get = |k: &str| str_field(&v, k).map(str::to_string);
        match (get("field"), get("value"), get("operator")) {
            (Some(field), Some(value), Some(operator)) => Ok(Filter {
                field: enum_key(&field),
                value: value.to_lowercase(),
                operator: enum_key(&operator),
            }),
            _ => Err(ApiError::bad_input(
                "The filter needs Field, Value and Operator.",
            )),
        }
    }

    /// Customers: `starts_with` (case-insensitive) on Domain or CompanyName. The indirect
    /// reseller fields match nothing: the sandbox has no indirect resellers.
    fn customer(text: Option<&str>) -> Result<Option<Filter>, ApiError> {
        let Some(text) = text else { return Ok(None) };
        let f = Filter::parse(text)?;
        if f.operator != "startswith" {
            return Err(ApiError::bad_input(format!(
                "Operator {:?} is not supported: only starts_with.",
                f.operator
            )));
        }
        match f.field.as_str() {
            "domain" | "companyname" | "indirectreseller" | "indirectcloudsolutionprovider" => {
                Ok(Some(f))
            }
            _ => Err(ApiError::bad_input(format!(
                "Filter field {:?} is not supported.",
                f.field
            ))),
        }
    }

    fn matches_customer(&self, t: &Tenant) -> bool {
        match self.field.as_str() {
            "domain" => t.domain.to_lowercase().starts_with(&self.value),
            "companyname" => t.company_name.to_lowercase().starts_with(&self.value),
            _ => false,
        }
    }

    /// Users: only `{"Field":"UserState","Value":"Active"|"Inactive","Operator":"equals"}`.
    fn user(text: Option<&str>) -> Result<Option<Filter>, ApiError> {
        let Some(text) = text else { return Ok(None) };
        let f = Filter::parse(text)?;
        if f.field != "userstate" || f.operator != "equals" {
            return Err(ApiError::bad_input(
                "Only the UserState equals filter is supported on users.",
            ));
        }
        Ok(Some(f))
    }
}

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
    let body = parse_body(&body)?;
    let mut st = app.lock();
    let tenant = related_mut(&mut st, &cid)?;
    let contact = body.get("primarycontact").cloned().unwrap_or(Value::Null);
    let (Some(template), Some(date), Some(first), Some(last), Some(email)) = (
        str_field(&body, "templateid"),
        str_field(&body, "dateagreed"),
        str_field(&contact, "firstname"),
        str_field(&contact, "lastname"),
        str_field(&contact, "email"),
    ) else {
        return Err(ApiError::bad_input(
            "An agreement needs templateId, dateAgreed and primaryContact{firstName,lastName,email}.",
        ));
    };
    let kind = str_field(&body, "type").unwrap_or("MicrosoftCustomerAgreement");
    if enum_key(kind) != "microsoftcustomeragreement" && enum_key(kind) != "microsoftcloudagreement"
    {
        return Err(ApiError::bad_input(format!(
            "Agreement type {kind:?} is not supported."
        )));
    }
    let mut out = json!({
        "primaryContact": {"firstName": first, "lastName": last, "email": email},
        "templateId": template,
        "dateAgreed": date,
        "type": kind,
        "agreementLink": "https://aka.ms/customeragreement",
        "attributes": {"objectType": "Agreement"},
    });
    if let Some(phone) = str_field(&contact, "phonenumber") {
        out["primaryContact"]["phoneNumber"] = json!(phone);
    }
    tenant.agreements.push(out.clone());
    st.touch();
    Ok(json_response(StatusCode::CREATED, &out))
}

fn country_of(pairs: &[(String, String)]) -> Result<String, ApiError> {
    query_get(pairs, "country")
        .filter(|c| !c.trim().is_empty())
        .map(|c| c.trim().to_ascii_uppercase())
        .ok_or_else(|| ApiError::bad_input("The country query parameter is required."))
}

fn locale_of(headers: &HeaderMap) -> String {
    headers
        .get("x-locale")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("en-US")
        .to_string()
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

/// Billing cycles as Partner Center writes them (lower snake case).
fn billing_cycle(text: Option<&str>) -> Result<String, ApiError> {
    let Some(text) = text else {
        return Ok("monthly".to_string());
    };
    let known = [
        "monthly",
        "annual",
        "none",
        "one_time",
        "triennial",
        "biennial",
        "unknown",
    ];
    known
        .iter()
        .find(|k| enum_key(k) == enum_key(text))
        .map(|k| k.to_string())
        .ok_or_else(|| ApiError::bad_input(format!("Billing cycle {text:?} is not valid.")))
}

/// `POST /v1/customers/{id}/orders` (§5, §9 item 4): one subscription per line, seats
/// added to the pool of the offer's SKU.
pub async fn create_order(
    State(app): State<Arc<App>>,
    Path(cid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let request_id = headers
        .get("ms-requestid")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut st = app.lock();
    let tenant = related(&st, &cid)?;
    // Belt and braces behind the replay layer: an order already placed under this
    // `MS-RequestId` is answered again, even if the process died between recording the
    // order and recording its answer.
    if let Some(rid) = &request_id
        && let Some(order) = tenant
            .orders
            .iter()
            .find(|o| o.request_id.as_deref() == Some(rid.as_str()) && !o.nce)
    {
        return Ok(json_response(
            StatusCode::CREATED,
            &order_json(tenant, order),
        ));
    }
    let body = parse_body(&body)?;
    let cycle = billing_cycle(str_field(&body, "billingcycle"))?;
    let lines = match body.get("lineitems").and_then(Value::as_array) {
        Some(lines) if !lines.is_empty() => lines.clone(),
        _ => {
            return Err(ApiError::bad_input(
                "An order needs at least one line item.",
            ));
        }
    };

    struct Wanted<'c> {
        number: i64,
        offer: &'c super::catalog::LegacyOffer,
        quantity: u64,
        friendly: Option<String>,
        parent: Option<String>,
    }
    let mut wanted = Vec::new();
    for line in &lines {
        let (Some(number), Some(offer_id), Some(quantity)) = (
            int_field(line, "lineitemnumber"),
            str_field(line, "offerid"),
            int_field(line, "quantity"),
        ) else {
            return Err(ApiError::bad_input(
                "Each line item needs lineItemNumber, offerId and quantity.",
            ));
        };
        let offer = app.catalog.offer(offer_id).ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                800004,
                format!("The offer ID {offer_id} is not valid."),
            )
        })?;
        if quantity < offer.min_quantity as i64 || quantity > offer.max_quantity as i64 {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                900275,
                format!(
                    "Quantity {quantity} is not allowed for offer {}: it must be between {} and {}.",
                    offer.id, offer.min_quantity, offer.max_quantity
                ),
            ));
        }
        wanted.push(Wanted {
            number,
            offer,
            quantity: quantity as u64,
            friendly: str_field(line, "friendlyname").map(str::to_string),
            parent: str_field(line, "parentsubscriptionid").map(str::to_string),
        });
    }
    let numbers: BTreeSet<i64> = wanted.iter().map(|w| w.number).collect();
    if numbers.len() != wanted.len() || numbers.iter().copied().ne(0..wanted.len() as i64) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            800071,
            "Line item numbers must run 0…n-1 without repeats.",
        ));
    }
    let now = st.now();
    let tenant = related(&st, &cid)?;
    for w in &wanted {
        if w.offer.is_add_on {
            let parent_ok = w
                .parent
                .as_deref()
                .and_then(|p| tenant.subscription(p))
                .is_some_and(|p| {
                    p.effective_status(now) == "active"
                        && w.offer
                            .prerequisite_offers
                            .iter()
                            .any(|o| o.eq_ignore_ascii_case(&p.offer_id))
                });
            if !parent_ok {
                return Err(ApiError::bad_input(format!(
                    "Add-on offer {} needs parentSubscriptionId of an active subscription to one of its prerequisite offers.",
                    w.offer.id
                )));
            }
        }
        if w.offer.limit > 0 {
            let owned = tenant
                .subscriptions
                .iter()
                .filter(|s| {
                    s.offer_id.eq_ignore_ascii_case(&w.offer.id)
                        && s.effective_status(now) == "active"
                })
                .count() as u64;
            let asked = wanted.iter().filter(|x| x.offer.id == w.offer.id).count() as u64;
            if owned + asked > w.offer.limit {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    800066,
                    format!(
                        "The customer may own at most {} subscriptions of offer {} at a time.",
                        w.offer.limit, w.offer.id
                    ),
                ));
            }
        }
    }

    let order_id = new_guid();
    let end = (now.date_naive() + Months::new(12))
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc();
    let mut subs = Vec::new();
    let mut order_lines = Vec::new();
    for w in &wanted {
        let sid = new_guid();
        subs.push(Subscription {
            id: sid.clone(),
            offer_id: w.offer.id.clone(),
            offer_name: w.offer.name.clone(),
            friendly_name: w.friendly.clone().unwrap_or_else(|| w.offer.name.clone()),
            quantity: w.quantity,
            min_quantity: w.offer.min_quantity,
            max_quantity: w.offer.max_quantity,
            sku_id: w.offer.sku_id.to_ascii_lowercase(),
            status: "active".into(),
            auto_renew_enabled: true,
            billing_cycle: cycle.clone(),
            term_duration: "P1Y".into(),
            order_id: order_id.clone(),
            parent_subscription_id: w.parent.clone(),
            creation_date: now,
            commitment_end_date: end,
            nce: false,
            revision: 0,
        });
        order_lines.push(OrderLine {
            line_item_number: w.number,
            offer_id: w.offer.id.clone(),
            subscription_id: Some(sid),
            friendly_name: w.friendly.clone(),
            quantity: w.quantity,
            term_duration: None,
            parent_subscription_id: w.parent.clone(),
        });
    }
    order_lines.sort_by_key(|l| l.line_item_number);
    let order = Order {
        id: order_id,
        request_id,
        billing_cycle: cycle,
        line_items: order_lines,
        creation_date: now,
        status: "completed".into(),
        nce: false,
    };
    let tenant = related_mut(&mut st, &cid)?;
    tenant.subscriptions.extend(subs);
    let out = order_json(tenant, &order);
    tenant.orders.push(order);
    st.touch();
    Ok(json_response(StatusCode::CREATED, &out))
}

/// `GET /v1/customers/{id}/orders`.
pub async fn list_orders(State(app): State<Arc<App>>, Path(cid): Path<String>) -> ApiResult {
    let st = app.lock();
    let t = related(&st, &cid)?;
    let items = t.orders.iter().map(|o| order_json(t, o)).collect();
    ok(&collection(items, &format!("/customers/{}/orders", t.id)))
}

/// `GET /v1/customers/{id}/orders/{oid}`.
pub async fn get_order(
    State(app): State<Arc<App>>,
    Path((cid, oid)): Path<(String, String)>,
) -> ApiResult {
    let st = app.lock();
    let t = related(&st, &cid)?;
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
    let t = related(&st, &cid)?;
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

/// `GET /v1/customers/{id}/subscriptions[?order_id=]`: never paged.
pub async fn list_subscriptions(
    State(app): State<Arc<App>>,
    Path(cid): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let pairs = query_pairs(raw.as_deref());
    let order = query_get(&pairs, "order_id");
    let st = app.lock();
    let t = related(&st, &cid)?;
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
    let t = related(&st, &cid)?;
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
    related(&st, &cid)?;
    let body = parse_body(&body)?;
    if !body.is_object() {
        return Err(ApiError::bad_input(
            "PATCH a subscription with the whole subscription as a JSON object.",
        ));
    }
    let now = st.now();
    let tenant = related_mut(&mut st, &cid)?;
    let Some(sub) = tenant.subscription_mut(&sid) else {
        return Err(ApiError::not_found("Subscription"));
    };
    if let Some(etag) = headers.get("if-match").and_then(|v| v.to_str().ok()) {
        let given = etag.trim().trim_start_matches("W/").trim_matches('"');
        if given != sub.etag() {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                2055,
                "The etag does not match: GET the subscription again and retry.",
            ));
        }
    }
    if sub.status == "deleted" {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            2011,
            "A deleted subscription cannot be updated.",
        ));
    }
    if sub.effective_status(now) == "expired" {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            900277,
            "The subscription has expired and cannot be updated.",
        ));
    }
    let quantity = match body.get("quantity") {
        None | Some(Value::Null) => sub.quantity as i64,
        Some(_) => int_field(&body, "quantity")
            .ok_or_else(|| ApiError::bad_input("quantity must be a whole number."))?,
    };
    if quantity < sub.min_quantity as i64 || quantity > sub.max_quantity as i64 {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            2002,
            format!(
                "Quantity {quantity} is out of range: it must be between {} and {}.",
                sub.min_quantity, sub.max_quantity
            ),
        ));
    }
    let quantity = quantity as u64;
    let status = match str_field(&body, "status") {
        None => sub.status.clone(),
        Some(s) => match enum_key(s).as_str() {
            "active" => "active".to_string(),
            "suspended" => "suspended".to_string(),
            "deleted" if sub.nce => "deleted".to_string(),
            "deleted" => {
                return Err(ApiError::bad_input(
                    "A license-based subscription is cancelled by suspending it (status \"suspended\").",
                ));
            }
            _ if enum_key(s) == enum_key(&sub.status) => sub.status.clone(),
            _ => {
                return Err(ApiError::bad_input(format!(
                    "Status {s:?} cannot be set on a subscription."
                )));
            }
        },
    };
    if sub.nce && now > sub.creation_date + Duration::days(7) {
        if status == "deleted" {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                900117,
                "The cancellation window of this subscription has passed.",
            ));
        }
        if quantity < sub.quantity {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                800090,
                "Subscription quantity cannot be decreased.",
            ));
        }
    }
    sub.quantity = quantity;
    sub.status = status;
    sub.auto_renew_enabled = bool_field(&body, "autorenewenabled").unwrap_or(false);
    if let Some(name) = str_field(&body, "friendlyname") {
        sub.friendly_name = name.to_string();
    }
    sub.revision += 1;
    let sub = sub.clone();
    let out = subscription_json(tenant, &sub, now);
    st.touch();
    ok(&out)
}

/// `licenseGroupIds` filters: the sandbox's pools are all `group1`.
fn group1_wanted(pairs: &[(String, String)]) -> bool {
    let groups: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("licenseGroupIds"))
        .map(|(_, v)| v.as_str())
        .collect();
    groups.is_empty() || groups.iter().any(|g| g.eq_ignore_ascii_case("group1"))
}

/// `GET /v1/customers/{id}/subscribedskus` (App+User): the tenant's licence pools.
pub async fn subscribed_skus(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    Path(cid): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    caller.require_user()?;
    let pairs = query_pairs(raw.as_deref());
    let st = app.lock();
    let t = directory(&st, &cid)?;
    let items = if group1_wanted(&pairs) {
        t.pools(st.now())
            .iter()
            .map(|p| subscribed_sku_json(&app.catalog, p))
            .collect()
    } else {
        Vec::new()
    };
    let mut body = collection(items, &format!("/customers/{}/subscribedskus", t.id));
    if let Some(obj) = body.as_object_mut() {
        obj.remove("links");
    }
    ok(&body)
}

/// `GET /v1/customers/{id}/users` (App+User): seek-paged by user id.
pub async fn list_users(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    Path(cid): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> ApiResult {
    caller.require_user()?;
    let pairs = query_pairs(raw.as_deref());
    let scope = format!("users:{}", cid.to_ascii_lowercase());
    let (after, size, filter_text) = match continuation(&headers, &pairs, &scope)? {
        Some(t) => (Some(t.after), t.size, t.filter),
        None => (
            None,
            page_size(&pairs, USERS_PAGE)?,
            query_get(&pairs, "filter").map(str::to_string),
        ),
    };
    let filter = Filter::user(filter_text.as_deref())?;
    // Every sandbox user is active; an Inactive filter lists nobody.
    let inactive_only = filter.as_ref().is_some_and(|f| f.value == "inactive");
    let st = app.lock();
    let t = directory(&st, &cid)?;
    let range = match &after {
        Some(a) => t
            .users
            .range::<String, _>((Bound::Excluded(a.clone()), Bound::Unbounded)),
        None => t.users.range::<String, _>(..),
    };
    let mut items = Vec::new();
    let mut last = None;
    let mut more = false;
    for (_, u) in range.filter(|_| !inactive_only) {
        if items.len() == size {
            more = true;
            break;
        }
        items.push(user_json(t, u));
        last = Some(u.id.clone());
    }
    let tid = t.id.clone();
    drop(st);
    let next = match (more, last) {
        (true, Some(after)) => Some((
            format!("/customers/{tid}/users?size={size}&seekOperation=Next"),
            PageToken {
                scope,
                after,
                size,
                filter: filter_text,
            }
            .encode(),
        )),
        _ => None,
    };
    ok(&page(
        items,
        &format!("/customers/{tid}/users?size={size}"),
        next,
    ))
}

/// `GET /v1/customers/{id}/users/{uid}` (App+User).
pub async fn get_user(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    Path((cid, uid)): Path<(String, String)>,
) -> ApiResult {
    caller.require_user()?;
    let st = app.lock();
    let t = directory(&st, &cid)?;
    let u = t
        .users
        .get(&uid.to_ascii_lowercase())
        .ok_or_else(|| user_not_found(&uid))?;
    ok(&user_json(t, u))
}

/// `GET /v1/customers/{id}/users/{uid}/licenses` (App+User).
pub async fn user_licenses(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    Path((cid, uid)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    caller.require_user()?;
    let pairs = query_pairs(raw.as_deref());
    let st = app.lock();
    let t = directory(&st, &cid)?;
    let u = t
        .users
        .get(&uid.to_ascii_lowercase())
        .ok_or_else(|| user_not_found(&uid))?;
    let items: Vec<Value> = if group1_wanted(&pairs) {
        u.licenses
            .iter()
            .map(|sku| license_json(&app.catalog, sku))
            .collect()
    } else {
        Vec::new()
    };
    ok(
        &json!({"totalCount": items.len(), "items": items, "attributes": {"objectType": "Collection"}}),
    )
}

/// `POST /v1/customers/{id}/users/{uid}/licenseupdates` (App+User): removes first, then
/// assigns, all or nothing; 400 `60012` when any assigned SKU has no unit left.
pub async fn license_updates(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    Path((cid, uid)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    caller.require_user()?;
    let mut st = app.lock();
    let t = directory(&st, &cid)?;
    let uid = uid.to_ascii_lowercase();
    let user = t.users.get(&uid).ok_or_else(|| user_not_found(&uid))?;
    let body = parse_body(&body)?;
    let mut assign: Vec<String> = Vec::new();
    for item in body
        .get("licensestoassign")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        match str_field(item, "skuid") {
            Some(sku) if is_guid(sku) => assign.push(sku.to_ascii_lowercase()),
            other => {
                return Err(ApiError::bad_input(format!(
                    "licensesToAssign holds an invalid skuId: {other:?}."
                )));
            }
        }
    }
    let mut remove: Vec<String> = Vec::new();
    for item in body
        .get("licensestoremove")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        match item.as_str() {
            Some(sku) if is_guid(sku) => remove.push(sku.to_ascii_lowercase()),
            _ => {
                return Err(ApiError::bad_input(format!(
                    "licensesToRemove holds an invalid skuId: {item}."
                )));
            }
        }
    }
    if assign.is_empty() && remove.is_empty() {
        return Err(ApiError::bad_input(
            "A licence update needs licensesToAssign or licensesToRemove.",
        ));
    }
    // Remove first, then assign (our choice, §9 item 5): a unit freed by the removal of
    // one SKU never pays for another, but re-assigning what is removed is allowed.
    let now = st.now();
    let mut after = user.licenses.clone();
    for sku in &remove {
        after.remove(sku);
    }
    for sku in &assign {
        if after.contains(sku) {
            continue;
        }
        let freed = u64::from(user.licenses.contains(sku));
        let available = t.pool(sku, now).map(|p| p.available() + freed).unwrap_or(0);
        if available == 0 {
            let name = app.catalog.sku_info(sku).name;
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                60012,
                format!("Your organization has run out of licenses for {name}: assign fewer or buy more."),
            )
            .with_data(format!(
                "LicenseQuotaExceededException : Not enough available units of SKU {sku} to assign to user {uid}."
            )));
        }
        after.insert(sku.clone());
    }
    let tenant = st
        .customers
        .get_mut(&cid.to_ascii_lowercase())
        .expect("checked above");
    tenant.users.get_mut(&uid).expect("checked above").licenses = after;
    st.touch();
    let assigned: Vec<Value> = assign.iter().map(|s| json!({"skuId": s})).collect();
    Ok(json_response(
        StatusCode::CREATED,
        &json!({"licensesToAssign": assigned, "licenseWarnings": [], "attributes": {"objectType": "LicenseUpdate"}}),
    ))
}
