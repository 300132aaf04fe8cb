//! The wire format of the emulated Partner Center API: error bodies, collections, links,
//! timestamps, continuation tokens and case-insensitive request bodies.
//!
//! The main decision: request bodies are parsed into a `serde_json::Value` whose object
//! keys are all lower-cased (`lower_keys`), because Partner Center's own samples mix
//! PascalCase (`"LineItems"`) and camelCase; handlers then read fields by their lower-case
//! name. Everything written goes out in camelCase through `json!` literals, so the shapes
//! in partner-center-api.md can be compared against this file line by line.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// `application/json; charset=utf-8`, as Partner Center answers.
pub const JSON_UTF8: &str = "application/json; charset=utf-8";

/// A full ISO 8601 date-time in UTC with fractional seconds (`2026-11-21T11:58:20.123456Z`).
pub fn ts(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// A JSON answer with Partner Center's content type.
pub fn json_response(status: StatusCode, body: &Value) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut resp = (status, bytes).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_UTF8));
    resp
}

/// The gateway-shaped body (`{"statusCode":429,"message":…}`) that 429s and some 404s
/// carry instead of the code/description shape (partner-center-api.md §8).
pub fn gateway_response(status: StatusCode, message: &str) -> Response {
    json_response(
        status,
        &json!({"statusCode": status.as_u16(), "message": message}),
    )
}

/// A Partner Center service error: `{"code":N,"description":…,"data":[…],"source":"PartnerFD"}`.
/// `code` is written as a JSON number, as in every real payload found (§8).
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: i64,
    pub description: String,
    pub data: Vec<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: i64, description: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            description: description.into(),
            data: Vec::new(),
        }
    }

    pub fn with_data(mut self, data: impl Into<String>) -> ApiError {
        self.data.push(data.into());
        self
    }

    pub fn body(&self) -> Value {
        json!({"code": self.code, "description": self.description, "data": self.data, "source": "PartnerFD"})
    }

    /// 400 `800002`: the request body or a query parameter is not valid.
    pub fn bad_input(description: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, 800002, description)
    }

    /// 403 `20002`: the customer has not accepted (or left) the reseller relationship.
    pub fn no_relationship() -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            20002,
            "No relationship between caller and account.",
        )
    }

    /// 404 `1000`: the generic "not found" of the docs, for an unknown resource.
    pub fn not_found(what: &str) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, 1000, format!("{what} not found."))
    }

    /// 403 `900329`: a user-only route called with an app-only token.
    pub fn app_only() -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            900329,
            "This resource does not support application-only authentication.",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        json_response(self.status, &self.body())
    }
}

pub type ApiResult = Result<Response, ApiError>;

/// A link object: `{"uri":…,"method":"GET","headers":[]}`.
pub fn link(uri: impl Into<String>) -> Value {
    json!({"uri": uri.into(), "method": "GET", "headers": []})
}

/// A plain collection (no paging): `{"totalCount","items","links":{"self"},"attributes"}`.
pub fn collection(items: Vec<Value>, self_uri: &str) -> Value {
    json!({
        "totalCount": items.len(),
        "items": items,
        "links": {"self": link(self_uri)},
        "attributes": {"objectType": "Collection"},
    })
}

/// A seek-based collection page. With a next page, `links.next` carries the uri (with
/// `seekOperation=Next`) and the continuation token as an `MS-ContinuationToken` header,
/// and the token is also given as `continuationToken` (§3).
pub fn page(items: Vec<Value>, self_uri: &str, next: Option<(String, String)>) -> Value {
    let mut body = collection(items, self_uri);
    if let Some((uri, token)) = next {
        body["links"]["next"] = json!({
            "uri": uri,
            "method": "GET",
            "headers": [{"key": "MS-ContinuationToken", "value": token}],
        });
        body["continuationToken"] = Value::String(token);
    }
    body
}

/// Where the next page of a seek-based listing starts. Opaque to clients: hex of JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PageToken {
    /// Which listing (`customers` or `users:<tenant>`): a token is not valid elsewhere.
    pub scope: String,
    /// The last id returned; the next page starts after it.
    pub after: String,
    pub size: usize,
    /// The raw `filter` of the first request, kept so every page applies it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
}

impl PageToken {
    pub fn encode(&self) -> String {
        hex::encode(serde_json::to_vec(self).unwrap_or_default())
    }

    pub fn decode(text: &str) -> Option<PageToken> {
        let bytes = hex::decode(text.trim()).ok()?;
        serde_json::from_slice(&bytes).ok()
    }
}

/// Lower-cases every object key, recursively, so that handlers can read `"LineItems"`
/// and `"lineItems"` alike.
pub fn lower_keys(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), lower_keys(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(lower_keys).collect()),
        other => other,
    }
}

/// Parses a request body (a leading UTF-8 BOM is skipped; an empty body is `null`) and
/// lower-cases its keys.
pub fn parse_body(bytes: &[u8]) -> Result<Value, ApiError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice::<Value>(bytes)
        .map(lower_keys)
        .map_err(|e| ApiError::bad_input(format!("The request body is not valid JSON: {e}")))
}

/// A string field of a lower-cased body.
pub fn str_field<'a>(body: &'a Value, key: &str) -> Option<&'a str> {
    body.get(key).and_then(Value::as_str)
}

/// A whole-number field that may arrive as a number or a numeric string.
pub fn int_field(body: &Value, key: &str) -> Option<i64> {
    match body.get(key)? {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A boolean field that may arrive as `true` or `"true"`.
pub fn bool_field(body: &Value, key: &str) -> Option<bool> {
    match body.get(key)? {
        Value::Bool(b) => Some(*b),
        Value::String(s) => s.trim().to_ascii_lowercase().parse().ok(),
        _ => None,
    }
}

/// Enum values arrive as `Monthly`, `monthly` or `one_time`/`OneTime`; compare in one form.
pub fn enum_key(value: &str) -> String {
    value
        .chars()
        .filter(|c| *c != '_' && *c != ' ' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Query parameters in order, repeated keys kept (`licenseGroupIds=Group1&licenseGroupIds=Group2`).
pub fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The first value of a query parameter, matched case-insensitively by name.
pub fn query_get<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// A new lower-case GUID.
pub fn new_guid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A new 12-hex-character id, the shape of new-commerce order ids.
pub fn new_order_id_nce() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lower_keys_reaches_nested_objects() {
        let v = lower_keys(json!({"LineItems":[{"OfferId":"X","Quantity":2}]}));
        assert_eq!(v, json!({"lineitems":[{"offerid":"X","quantity":2}]}));
    }

    #[test]
    fn page_token_round_trips_and_rejects_garbage() {
        let t = PageToken {
            scope: "customers".into(),
            after: "abc".into(),
            size: 5,
            filter: None,
        };
        assert_eq!(PageToken::decode(&t.encode()), Some(t));
        assert_eq!(PageToken::decode("zz"), None);
    }

    #[test]
    fn enum_key_ignores_case_and_underscores() {
        assert_eq!(enum_key("OneTime"), enum_key("one_time"));
        assert_eq!(enum_key("Monthly"), "monthly");
    }

    #[test]
    fn bom_is_skipped_and_empty_body_is_null() {
        assert_eq!(
            parse_body(b"\xEF\xBB\xBF{\"A\":1}").unwrap(),
            json!({"a":1})
        );
        assert_eq!(parse_body(b"").unwrap(), Value::Null);
        assert_eq!(parse_body(b"{").unwrap_err().code, 800002);
    }
}
