//! Typed Partner Center bodies that `apply` reads (partner-center-api.md §3–§10): orders,
//! subscriptions, licence pools, users, offers, availabilities, carts and checkout
//! results, instead of `.get("…")` chains spread over the executor.
//!
//! The main decision is leniency: every field is optional or defaulted, so an answer
//! that adds, drops or renames a field we do not need still reads, and codes that
//! Partner Center sends as a JSON number in one place and a string in another
//! (`errorCode`, `orderGroup`, `code`) are read as text either way ([`Text`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer};

/// A JSON string or number, kept as text (`800089` and `"800089"` are the same code).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Text(pub String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Text, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        Ok(Text(match v {
            serde_json::Value::String(s) => s,
            serde_json::Value::Null => String::new(),
            other => other.to_string(),
        }))
    }
}

/// A date-time Partner Center writes (`2017-03-30T10:43:07.157-07:00`); unreadable text
/// reads as none rather than failing the whole answer.
fn lenient_time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    let v: Option<String> = Option::deserialize(d)?;
    Ok(v.and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
        .map(|t| t.with_timezone(&Utc)))
}

/// A quantity; a missing or non-numeric one reads as 0 (it then matches nothing).
fn lenient_u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    Ok(v.as_u64().unwrap_or(0))
}

/// An order (legacy `POST …/orders`, or one order of a checkout).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Order {
    pub id: String,
    /// The `MS-RequestId` the sandbox records with an order (Partner Center does not
    /// list it; matching by items covers that case).
    #[serde(alias = "RequestId", alias = "requestID")]
    pub request_id: Option<String>,
    pub line_items: Vec<OrderLineItem>,
    #[serde(deserialize_with = "lenient_time")]
    pub creation_date: Option<DateTime<Utc>>,
    pub status: Option<String>,
}

impl Order {
    /// Subscription ids of its line items (present once provisioned).
    pub fn subscription_ids(&self) -> Vec<String> {
        self.line_items
            .iter()
            .filter_map(|li| li.subscription_id.clone())
            .collect()
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OrderLineItem {
    pub offer_id: String,
    pub subscription_id: Option<String>,
    #[serde(deserialize_with = "lenient_u64")]
    pub quantity: u64,
    pub friendly_name: Option<String>,
}

/// A subscription of the customer (§6, §10.4).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Subscription {
    pub id: String,
    pub offer_id: String,
    #[serde(deserialize_with = "lenient_u64")]
    pub quantity: u64,
    pub status: Option<String>,
    pub order_id: Option<String>,
    pub friendly_name: Option<String>,
    #[serde(deserialize_with = "lenient_time")]
    pub creation_date: Option<DateTime<Utc>>,
    pub term_duration: Option<String>,
    pub billing_cycle: Option<String>,
}

impl Subscription {
    pub fn is_deleted(&self) -> bool {
        self.status.as_deref() == Some("deleted")
    }

    pub fn is_active(&self) -> bool {
        self.status.as_deref() == Some("active")
    }
}

/// A licence pool of the tenant (`subscribedskus`, §7).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SubscribedSku {
    pub available_units: Option<i64>,
    pub total_units: i64,
    pub consumed_units: i64,
    pub product_sku: ProductSku,
}

impl SubscribedSku {
    /// `availableUnits`, or `totalUnits - consumedUnits` when it is left out (§7 arithmetic).
    pub fn available(&self) -> i64 {
        self.available_units
            .unwrap_or(self.total_units - self.consumed_units)
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProductSku {
    pub id: String,
    pub name: Option<String>,
    pub sku_part_number: Option<String>,
}

/// A user of the customer's tenant (§7).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CustomerUser {
    pub id: String,
    pub user_principal_name: Option<String>,
    pub display_name: Option<String>,
    pub state: Option<String>,
}

impl CustomerUser {
    pub fn is_inactive(&self) -> bool {
        self.state.as_deref() == Some("inactive")
    }
}

/// One licence a user holds (`users/{uid}/licenses`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct License {
    pub product_sku: ProductSku,
}

/// A legacy offer (`GET /v1/offers/{id}`, §4): what `apply` needs to know of add-ons.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Offer {
    pub is_add_on: bool,
    pub prerequisite_offers: Vec<String>,
}

/// A new-commerce availability (§10.1).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Availability {
    pub catalog_item_id: String,
    pub is_purchasable: Option<bool>,
    pub terms: Vec<Term>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Term {
    /// `P1M`, `P1Y`, `P3Y`.
    pub duration: String,
    /// PascalCase in availabilities (`Annual`), lower case elsewhere.
    pub billing_cycle: String,
}

/// A cart as created (§10.2).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Cart {
    pub id: Option<String>,
    pub line_items: Vec<CartLineItem>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CartLineItem {
    pub id: Option<u64>,
    pub order_group: Option<Text>,
    pub error: Option<CartError>,
}

/// A cart line refused inside a 201 (`errorCode` an integer, §10.2).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CartError {
    pub error_code: Option<Text>,
    pub error_description: Option<String>,
}

/// The answer to a checkout (§10.3): one order per order group, errors for the others.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CheckoutResult {
    pub orders: Vec<Order>,
    pub order_errors: Vec<OrderError>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OrderError {
    pub order_group_id: Option<Text>,
    pub code: Option<Text>,
    pub description: Option<String>,
}

/// `GET /v1/customers/relationshiprequests` (§2).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RelationshipRequest {
    pub url: Option<String>,
}

/// A customer as the sweep lists it (§3).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CustomerJson {
    pub id: Option<String>,
    pub company_profile: CompanyProfile,
    pub relationship_to_partner: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CompanyProfile {
    pub tenant_id: Option<String>,
    pub domain: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_read_as_text_whether_number_or_string() {
        let r: CheckoutResult = serde_json::from_str(
            r#"{"orders":[],"orderErrors":[{"orderGroupId":1,"code":800089,"description":"x"},{"orderGroupId":"2","code":"800088"}]}"#,
        )
        .unwrap();
        assert_eq!(r.order_errors[0].order_group_id, Some(Text("1".into())));
        assert_eq!(r.order_errors[0].code, Some(Text("800089".into())));
        assert_eq!(r.order_errors[1].code, Some(Text("800088".into())));
    }

    #[test]
    fn unknown_and_missing_fields_do_not_fail_an_answer() {
        let o: Order = serde_json::from_str(
            r#"{"id":"o1","creationDate":"not a date","lineItems":[{"offerId":"X","quantity":"five","new":1}]}"#,
        )
        .unwrap();
        assert_eq!(o.id, "o1");
        assert_eq!(o.creation_date, None);
        assert_eq!(o.line_items[0].quantity, 0);
        let s: SubscribedSku =
            serde_json::from_str(r#"{"totalUnits":10,"consumedUnits":3,"productSku":{"id":"a"}}"#)
                .unwrap();
        assert_eq!(s.available(), 7);
    }
}
