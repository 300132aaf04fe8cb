//! The route handlers of the emulated API, one file per resource: customers (with the
//! relationship request and agreements), offers and products (legacy and new-commerce
//! catalog), orders, carts, subscriptions, users and licences, and the `/sandbox/*`
//! admin routes.
//!
//! The main decision: a handler only reads its inputs (path, query, headers, a typed
//! body from [`super::requests`]), takes the state lock once, calls a rule of
//! [`super::rules`] or reads, and shapes the JSON answer; checks and changes live in the
//! rules, so the handlers hold no business logic of their own.

pub mod admin;
pub mod carts;
pub mod customers;
pub mod offers;
pub mod orders;
pub mod subscriptions;
pub mod users;

use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;

use super::state::Tenant;
use super::wire::{
    ApiError, ApiResult, PageToken, enum_key, json_response, parse_body, query_get, str_field,
};

pub(crate) fn ok(body: &Value) -> ApiResult {
    Ok(json_response(StatusCode::OK, body))
}

pub(crate) fn created(body: &Value) -> ApiResult {
    Ok(json_response(StatusCode::CREATED, body))
}

/// The `MS-RequestId` of a request, if any.
pub(crate) fn request_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get("ms-requestid")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// The page size asked for: absent or 0 means the default; above the maximum is capped.
pub(crate) fn page_size(
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
pub(crate) fn continuation(
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
pub(crate) struct Filter {
    field: String,
    pub(crate) value: String,
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
    pub(crate) fn customer(text: Option<&str>) -> Result<Option<Filter>, ApiError> {
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

    pub(crate) fn matches_customer(&self, t: &Tenant) -> bool {
        match self.field.as_str() {
            "domain" => t.domain.to_lowercase().starts_with(&self.value),
            "companyname" => t.company_name.to_lowercase().starts_with(&self.value),
            _ => false,
        }
    }

    /// Users: only `{"Field":"UserState","Value":"Active"|"Inactive","Operator":"equals"}`.
    pub(crate) fn user(text: Option<&str>) -> Result<Option<Filter>, ApiError> {
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

pub(crate) fn country_of(pairs: &[(String, String)]) -> Result<String, ApiError> {
    query_get(pairs, "country")
        .filter(|c| !c.trim().is_empty())
        .map(|c| c.trim().to_ascii_uppercase())
        .ok_or_else(|| ApiError::bad_input("The country query parameter is required."))
}

pub(crate) fn locale_of(headers: &HeaderMap) -> String {
    headers
        .get("x-locale")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("en-US")
        .to_string()
}

/// `licenseGroupIds` filters: the sandbox's pools are all `group1`.
pub(crate) fn group1_wanted(pairs: &[(String, String)]) -> bool {
    let groups: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("licenseGroupIds"))
        .map(|(_, v)| v.as_str())
        .collect();
    groups.is_empty() || groups.iter().any(|g| g.eq_ignore_ascii_case("group1"))
}
