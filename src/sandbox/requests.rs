//! Typed request bodies of the emulated API: each changing route reads its body into one
//! of these structs before the state is touched, so the business rules in
//! [`super::rules`] work on checked values instead of raw JSON.
//!
//! The main decision: bodies are read from the key-lower-cased `Value` of
//! [`super::wire::parse_body`] by hand rather than through `serde` derives, because
//! Partner Center is lenient in ways derives are not (PascalCase or camelCase keys,
//! numbers sent as strings, enum values in any case, unknown fields ignored), and because
//! each missing or bad field must give the documented code (400 `800002`, `900142`, …)
//! with a message naming the field.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::wire::{ApiError, bool_field, enum_key, int_field, str_field};
use axum::http::StatusCode;

/// `POST /v1/customers/{id}/orders`.
#[derive(Debug, Clone)]
pub struct OrderRequest {
    /// Lower snake case (`monthly`, `annual`, …); `monthly` when left out.
    pub billing_cycle: String,
    pub lines: Vec<OrderLineRequest>,
}

#[derive(Debug, Clone)]
pub struct OrderLineRequest {
    pub number: i64,
    pub offer_id: String,
    pub quantity: i64,
    pub friendly_name: Option<String>,
    pub parent_subscription_id: Option<String>,
}

/// Billing cycles as Partner Center writes them (lower snake case).
pub fn billing_cycle(text: Option<&str>) -> Result<String, ApiError> {
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

impl OrderRequest {
    pub fn parse(body: &Value) -> Result<OrderRequest, ApiError> {
        let billing_cycle = billing_cycle(str_field(body, "billingcycle"))?;
        let raw = match body.get("lineitems").and_then(Value::as_array) {
            Some(lines) if !lines.is_empty() => lines,
            _ => {
                return Err(ApiError::bad_input(
                    "An order needs at least one line item.",
                ));
            }
        };
        let mut lines = Vec::with_capacity(raw.len());
        for line in raw {
            let (Some(number), Some(offer_id), Some(quantity)) = (
                int_field(line, "lineitemnumber"),
                str_field(line, "offerid"),
                int_field(line, "quantity"),
            ) else {
                return Err(ApiError::bad_input(
                    "Each line item needs lineItemNumber, offerId and quantity.",
                ));
            };
            lines.push(OrderLineRequest {
                number,
                offer_id: offer_id.to_string(),
                quantity,
                friendly_name: str_field(line, "friendlyname").map(str::to_string),
                parent_subscription_id: str_field(line, "parentsubscriptionid").map(str::to_string),
            });
        }
        Ok(OrderRequest {
            billing_cycle,
            lines,
        })
    }
}

/// `POST …/carts` and `PUT …/carts/{id}`: the whole cart.
#[derive(Debug, Clone)]
pub struct CartRequest {
    pub lines: Vec<CartLineRequest>,
}

#[derive(Debug, Clone)]
pub struct CartLineRequest {
    pub id: i64,
    pub catalog_item_id: String,
    pub quantity: u64,
    /// As sent, lower-cased (`monthly`, `annual`, or empty when left out).
    pub billing_cycle: String,
    /// Upper-cased (`P1M`, `P1Y`, `P3Y`).
    pub term_duration: Option<String>,
    pub friendly_name: Option<String>,
    pub provisioning_context: Value,
}

impl CartRequest {
    pub fn parse(body: &Value) -> Result<CartRequest, ApiError> {
        let raw = match body.get("lineitems").and_then(Value::as_array) {
            Some(lines) if !lines.is_empty() => lines,
            _ => return Err(ApiError::bad_input("A cart needs at least one line item.")),
        };
        let mut ids = std::collections::BTreeSet::new();
        let mut lines = Vec::with_capacity(raw.len());
        for line in raw {
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
            let Some(item) = str_field(line, "catalogitemid").filter(|s| !s.trim().is_empty())
            else {
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
            lines.push(CartLineRequest {
                id,
                catalog_item_id: item.trim().to_string(),
                quantity,
                billing_cycle: str_field(line, "billingcycle")
                    .unwrap_or("")
                    .to_ascii_lowercase(),
                term_duration: str_field(line, "termduration")
                    .map(|t| t.trim().to_ascii_uppercase()),
                friendly_name: str_field(line, "friendlyname").map(str::to_string),
                provisioning_context: line
                    .get("provisioningcontext")
                    .cloned()
                    .unwrap_or_else(|| json!({})),
            });
        }
        lines.sort_by_key(|l| l.id);
        Ok(CartRequest { lines })
    }
}

/// `PATCH …/subscriptions/{id}`: the fields of the whole subscription the sandbox acts on.
#[derive(Debug, Clone)]
pub struct SubscriptionPatch {
    /// `None` when absent or `null` (the quantity stays).
    pub quantity: Option<i64>,
    /// As sent; checked against the subscription by the rule.
    pub status: Option<String>,
    /// Absent means **off**, as the docs warn.
    pub auto_renew_enabled: bool,
    pub friendly_name: Option<String>,
}

impl SubscriptionPatch {
    pub fn parse(body: &Value) -> Result<SubscriptionPatch, ApiError> {
        if !body.is_object() {
            return Err(ApiError::bad_input(
                "PATCH a subscription with the whole subscription as a JSON object.",
            ));
        }
        let quantity = match body.get("quantity") {
            None | Some(Value::Null) => None,
            Some(_) => Some(
                int_field(body, "quantity")
                    .ok_or_else(|| ApiError::bad_input("quantity must be a whole number."))?,
            ),
        };
        Ok(SubscriptionPatch {
            quantity,
            status: str_field(body, "status").map(str::to_string),
            auto_renew_enabled: bool_field(body, "autorenewenabled").unwrap_or(false),
            friendly_name: str_field(body, "friendlyname").map(str::to_string),
        })
    }
}

/// `POST …/users/{uid}/licenseupdates`: lower-case skuIds to assign and to remove.
#[derive(Debug, Clone)]
pub struct LicenseUpdate {
    pub assign: Vec<String>,
    pub remove: Vec<String>,
}

impl LicenseUpdate {
    pub fn parse(body: &Value) -> Result<LicenseUpdate, ApiError> {
        let is_guid = super::catalog::is_guid;
        let mut assign = Vec::new();
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
        let mut remove = Vec::new();
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
        Ok(LicenseUpdate { assign, remove })
    }
}

/// `POST …/agreements`.
#[derive(Debug, Clone)]
pub struct AgreementRequest {
    pub template_id: String,
    pub date_agreed: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone: Option<String>,
    pub kind: String,
}

impl AgreementRequest {
    pub fn parse(body: &Value) -> Result<AgreementRequest, ApiError> {
        let contact = body.get("primarycontact").cloned().unwrap_or(Value::Null);
        let (Some(template), Some(date), Some(first), Some(last), Some(email)) = (
            str_field(body, "templateid"),
            str_field(body, "dateagreed"),
            str_field(&contact, "firstname"),
            str_field(&contact, "lastname"),
            str_field(&contact, "email"),
        ) else {
            return Err(ApiError::bad_input(
                "An agreement needs templateId, dateAgreed and primaryContact{firstName,lastName,email}.",
            ));
        };
        let kind = str_field(body, "type").unwrap_or("MicrosoftCustomerAgreement");
        if enum_key(kind) != "microsoftcustomeragreement"
            && enum_key(kind) != "microsoftcloudagreement"
        {
            return Err(ApiError::bad_input(format!(
                "Agreement type {kind:?} is not supported."
            )));
        }
        Ok(AgreementRequest {
            template_id: template.to_string(),
            date_agreed: date.to_string(),
            first_name: first.to_string(),
            last_name: last.to_string(),
            email: email.to_string(),
            phone: str_field(&contact, "phonenumber").map(str::to_string),
            kind: kind.to_string(),
        })
    }
}

/// The largest step `POST /sandbox/clock` takes at once (about a century).
pub const MAX_ADVANCE_DAYS: i64 = 36_525;

/// `POST /sandbox/clock`.
#[derive(Debug, Clone, PartialEq)]
pub enum ClockRequest {
    AdvanceDays(i64),
    At(DateTime<Utc>),
}

impl ClockRequest {
    pub fn parse(body: &Value) -> Result<ClockRequest, ApiError> {
        if let Some(raw) = body.get("advancedays") {
            // Any JSON number is accepted by the parser (1e308 too): only a whole number
            // of days within a century is a clock move.
            let days = match raw {
                Value::Number(n) => n.as_i64().or_else(|| {
                    n.as_f64()
                        .filter(|f| f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15)
                        .map(|f| f as i64)
                }),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            };
            return match days {
                Some(d) if (0..=MAX_ADVANCE_DAYS).contains(&d) => Ok(ClockRequest::AdvanceDays(d)),
                _ => Err(ApiError::bad_input(format!(
                    "advanceDays must be a whole number of days from 0 to {MAX_ADVANCE_DAYS}, not {raw}."
                ))),
            };
        }
        match str_field(body, "now").map(chrono::DateTime::parse_from_rfc3339) {
            Some(Ok(t)) => Ok(ClockRequest::At(t.with_timezone(&Utc))),
            _ => Err(ApiError::bad_input(
                "Give {\"advanceDays\":N} or {\"now\":\"an RFC 3339 date-time\"}.",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_refuses_huge_and_fractional_days() {
        for bad in [
            json!(1e308),
            json!(-1),
            json!(1.5),
            json!(36526),
            json!("x"),
        ] {
            let err = ClockRequest::parse(&json!({"advancedays": bad})).unwrap_err();
            assert_eq!(err.code, 800002, "{bad}");
        }
        assert_eq!(
            ClockRequest::parse(&json!({"advancedays": 30.0})).unwrap(),
            ClockRequest::AdvanceDays(30)
        );
    }

    #[test]
    fn order_needs_lines_and_defaults_to_monthly() {
        assert_eq!(OrderRequest::parse(&json!({})).unwrap_err().code, 800002);
        let order = OrderRequest::parse(
            &json!({"lineitems":[{"lineitemnumber":0,"offerid":"X","quantity":"3"}]}),
        )
        .unwrap();
        assert_eq!(order.billing_cycle, "monthly");
        assert_eq!(order.lines[0].quantity, 3);
    }
}
