//! Licence pools, users and licences (§7), all App+User only. With `--missing-role`,
//! the customers picked answer every call here with 403: the partner user holds no GDAP
//! role in that tenant.

use std::ops::Bound;
use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use super::{Filter, continuation, group1_wanted, ok, page_size};
use crate::sandbox::app::{App, Caller};
use crate::sandbox::requests::LicenseUpdate;
use crate::sandbox::state::{SandboxState, Tenant, license_json, subscribed_sku_json, user_json};
use crate::sandbox::wire::{
    ApiError, ApiResult, PageToken, collection, json_response, page, parse_body, query_get,
    query_pairs,
};

/// Default and largest page of `GET /v1/customers/{id}/users`.
pub const USERS_PAGE: (usize, usize) = (100, 1000);

/// GDAP roles that let a partner user read users and licence pools
/// (partner-center-api.md §1, §11).
pub const READ_ROLES: &str = "Directory Readers, Global Reader or User Administrator";
/// GDAP roles that let a partner user change licences.
pub const WRITE_ROLES: &str = "License Administrator, User Administrator or Directory Writers";

/// The tenant of a user or licence call, after the GDAP role check of `--missing-role`.
/// The 403's body names what is missing: the code and wording of the real answer are
/// UNCONFIRMED (docs/sandbox.md), the message is the one Partner Center gives for a role
/// without the rights ("The supplied role does not have the rights …").
fn directory<'a>(
    app: &App,
    st: &'a SandboxState,
    cid: &str,
    write: bool,
) -> Result<&'a Tenant, ApiError> {
    let t = st.directory(cid)?;
    if app.strict.lacks_role(&t.id) {
        let (roles, permission) = if write {
            (WRITE_ROLES, "microsoft.directory/users/assignLicense")
        } else {
            (READ_ROLES, "microsoft.directory/users/standard/read")
        };
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            MISSING_ROLE_CODE,
            format!(
                "The supplied role does not have the rights to perform the requested operation: the partner user has no GDAP role in customer {} that grants {permission}. Ask the customer to approve a GDAP relationship with {roles}.",
                t.id
            ),
        )
        .with_data(format!("MissingPermission : {permission}"))
        .with_data(format!("RequiredGdapRoles : {roles}")));
    }
    Ok(t)
}

/// The `code` of the missing-role 403 (UNCONFIRMED: no recorded answer found).
pub const MISSING_ROLE_CODE: i64 = 403;

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
    let t = directory(&app, &st, &cid, false)?;
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
    let t = directory(&app, &st, &cid, false)?;
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
    let t = directory(&app, &st, &cid, false)?;
    let u = t.users.get(&uid.to_ascii_lowercase()).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            60002,
            format!("User {uid} not found."),
        )
    })?;
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
    let t = directory(&app, &st, &cid, false)?;
    let u = t.users.get(&uid.to_ascii_lowercase()).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            60002,
            format!("User {uid} not found."),
        )
    })?;
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

/// `POST /v1/customers/{id}/users/{uid}/licenseupdates` (App+User): see
/// [`SandboxState::update_licenses`].
pub async fn license_updates(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    Path((cid, uid)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    caller.require_user()?;
    let mut st = app.lock();
    let t = directory(&app, &st, &cid, true)?;
    if !t.users.contains_key(&uid.to_ascii_lowercase()) {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            60002,
            format!("User {} not found.", uid.to_ascii_lowercase()),
        ));
    }
    let upd = LicenseUpdate::parse(&parse_body(&body)?)?;
    st.update_licenses(&app.catalog, &cid, &uid, &upd)?;
    let assigned: Vec<Value> = upd.assign.iter().map(|s| json!({"skuId": s})).collect();
    Ok(json_response(
        StatusCode::CREATED,
        &json!({"licensesToAssign": assigned, "licenseWarnings": [], "attributes": {"objectType": "LicenseUpdate"}}),
    ))
}
