//! The sandbox's catalog: the legacy offers of partner-center-api.md §4 and the
//! new-commerce products, SKUs and availabilities of §10.1, plus whatever a seed plan
//! names that neither table knows.
//!
//! The main decision: a legacy offer's `product.id` is the Entra licence `skuId` it grants,
//! and an NCE SKU's `dynamicAttributes.provisioningId` is the same thing, so one lower-case
//! `skuId` string ties offers, subscriptions, licence pools and user licences together.
//! Offers unknown to the tables get stable, derived IDs (uuid v5) so that a seed always
//! builds the same catalog.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::wire::link;
use crate::catalog::OfferKind;
use crate::model::{Billing, Term, sells};

/// A legacy license-based offer (`/v1/offers`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LegacyOffer {
    /// Upper-case GUID, as the recorded catalog writes it.
    pub id: String,
    pub name: String,
    pub min_quantity: u64,
    pub max_quantity: u64,
    /// Lower-case licence skuId (`product.id` of the offer).
    pub sku_id: String,
    pub sku_part_number: String,
    /// `None` or `Concurrent` (Business offers: at most `limit` subscriptions at a time).
    pub limit_unit: String,
    pub limit: u64,
    pub is_add_on: bool,
    /// Offer IDs one of which a parent subscription must have (add-ons only).
    pub prerequisite_offers: Vec<String>,
    /// No longer sold to new buyers (DEPR in the price list): a new order is refused with
    /// 403 `2091` (partner-center-api.md §11).
    #[serde(default)]
    pub deprecated: bool,
}

/// One new-commerce SKU with its single availability (`/v1/products/...`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NceSku {
    pub product_id: String,
    pub product_title: String,
    pub sku_id: String,
    pub sku_title: String,
    pub availability_id: String,
    pub min_quantity: u64,
    pub max_quantity: u64,
    /// Lower-case licence skuId the seats land in.
    pub provisioning_id: String,
    pub sku_part_number: String,
    /// Concurrent subscriptions of this SKU a customer may own (Business SKUs: 2).
    pub asset_limit: Option<u64>,
    /// Monthly list price per seat in USD (made-up round figures; the sandbox bills nothing).
    pub list_price: f64,
    /// The one market that sells it (`None`: every market).
    #[serde(default)]
    pub country: Option<String>,
}

impl NceSku {
    pub fn catalog_item_id(&self) -> String {
        format!(
            "{}:{}:{}",
            self.product_id, self.sku_id, self.availability_id
        )
    }
}

/// Name and part number of a licence SKU, for `subscribedskus` and licences.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkuInfo {
    pub sku_id: String,
    pub name: String,
    pub sku_part_number: String,
}

/// The term/billing pairs every sandbox availability offers: those new commerce sells
/// ([`crate::model::sells`]: `P1M` monthly; `P1Y` monthly or annual; `P3Y` monthly,
/// annual or triennial), with the billing cycle as availabilities write it (PascalCase).
pub fn terms() -> Vec<(Term, Billing, &'static str)> {
    let mut out = Vec::new();
    for term in Term::ALL {
        for billing in Billing::ALL {
            if sells(term, billing) {
                let pascal = match billing {
                    Billing::Monthly => "Monthly",
                    Billing::Annual => "Annual",
                    Billing::Triennial => "Triennial",
                };
                out.push((term, billing, pascal));
            }
        }
    }
    out
}

/// Whether an availability offers this term and billing cycle (as a cart line writes
/// them, in any case).
pub fn offers_term(term: &str, billing: &str) -> bool {
    match (term.parse::<Term>(), billing.parse::<Billing>()) {
        (Ok(t), Ok(b)) => sells(t, b),
        _ => false,
    }
}

const MAX: u64 = 10_000_000;

/// Seat cap of Microsoft 365 Business products; such a product also has an ownership
/// limit of [`BUSINESS_LIMIT`] concurrent subscriptions per customer (§4, §10.1, §11).
const BUSINESS_MAX: u64 = 300;
const BUSINESS_LIMIT: u64 = 2;

/// The add-on's prerequisites: the real offer lists 47; the sandbox keeps those of the
/// table above that include Exchange Online.
const ARCHIVING_PREREQUISITES: [&str; 10] = [
    "91FD106F-4B2C-4938-95AC-F54F74E9A239",
    "796B6B5F-613C-4E24-A17C-EBA730D49C02",
    "A044B16A-1861-4308-8086-A3A3B506FAC2",
    "195416C1-3447-423A-B37B-EE59A99A19C4",
    "2F707C7C-2433-49A5-A437-9CA7CF40D3EB",
    "2B3B8D2D-10AA-4BE4-B5FD-7F2FEB0C3091",
    // Business Essentials, Business Premium, Microsoft 365 E5 and Microsoft 365 Business
    // all carry Exchange Online, so archiving can be added to them too.
    "BD938F12-058F-4927-BBA3-AE36B1D2501C",
    "031C9E47-4802-4248-838E-778FB1D2CC05",
    "8BDBB60B-E526-43E9-92EF-AB760C8E0B72",
    "61795CAB-2ABD-43F6-88E9-C9ADAE5746E0",
];

/// What the sandbox adds to the built-in catalog's new-commerce items: the availability
/// seen in a doc sample (else one is derived) and a made-up monthly list price, by
/// `PRODUCT:SKU`.
const NCE_EXTRAS: [(&str, &str, f64); 11] = [
    ("CFQ7TTC0LH18:0001", "CFQ7TTC0K971", 6.0),
    ("CFQ7TTC0LDPB:0001", "", 12.5),
    ("CFQ7TTC0LCHC:0002", "CFQ7TTC0X6RN", 22.0),
    ("CFQ7TTC0LF8Q:0001", "CFQ7TTC0K39X", 10.0),
    ("CFQ7TTC0LF8R:0001", "CFQ7TTC0KCSV", 23.0),
    ("CFQ7TTC0LH05:0001", "", 8.0),
    ("CFQ7TTC0LFLX:0001", "CFQ7TTC0LB30", 36.0),
    ("CFQ7TTC0LFLZ:0002", "", 57.0),
    ("CFQ7TTC0LH16:0001", "", 4.0),
    ("CFQ7TTC0LH1P:0001", "", 8.0),
    ("CFQ7TTC0LFLS:0002", "CFQ7TTC0KDLJ", 6.0),
];

/// "(no Teams)" siblings of two built-in products (third-party price lists; §10.6 asks
/// for one): their own derived `provisioningId`, so seats land in another pool.
/// (product, sku, title, part number, price).
const NO_TEAMS: [(&str, &str, &str, &str, f64); 2] = [
    (
        "CFQ7TTC0LH18",
        "000P",
        "Microsoft 365 Business Basic (no Teams)",
        "O365_BUSINESS_ESSENTIALS_NO_TEAMS",
        4.75,
    ),
    (
        "CFQ7TTC0LFLX",
        "0021",
        "Microsoft 365 E3 (no Teams)",
        "SPE_E3_NO_TEAMS",
        33.75,
    ),
];

/// A stable GUID derived from some text (uuid v5 in a sandbox namespace).
pub fn derived_guid(kind: &str, text: &str) -> String {
    let namespace = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, b"urn:cspmove:sandbox");
    uuid::Uuid::new_v5(
        &namespace,
        format!("{kind}:{}", text.trim().to_lowercase()).as_bytes(),
    )
    .to_string()
}

/// A stable 12-character availability id (`CFQ7TTC0` + 4) for catalog rows that lack one.
pub fn derived_availability(product: &str, sku: &str) -> String {
    let guid = derived_guid("availability", &format!("{product}:{sku}"));
    format!("CFQ7TTC0{}", guid[..4].to_ascii_uppercase())
}

/// Does this text look like a GUID?
pub fn is_guid(text: &str) -> bool {
    uuid::Uuid::parse_str(text.trim()).is_ok() && text.trim().len() == 36
}

/// The legacy offers of the built-in catalog (partner-center-api.md §4), with the rules
/// the catalog does not carry: Business offers (300 seats) may be held twice at a time,
/// the archiving add-on needs a parent, and every one of them is deprecated.
pub fn builtin_offers() -> Vec<LegacyOffer> {
    let mut out = Vec::new();
    for product in crate::catalog::Catalog::builtin().products() {
        let sku_id = product
            .sku_id
            .clone()
            .unwrap_or_else(|| derived_guid("sku", &product.name));
        let part = product
            .sku_part_number
            .clone()
            .unwrap_or_else(|| "UNKNOWN".into());
        for offer in product
            .offers
            .iter()
            .filter(|o| o.kind == OfferKind::Legacy)
        {
            let max = offer.max_quantity.unwrap_or(MAX);
            let limit = if max == BUSINESS_MAX {
                BUSINESS_LIMIT
            } else {
                0
            };
            let add_on = part == "EXCHANGEARCHIVE_ADDON";
            out.push(LegacyOffer {
                id: offer.id.to_ascii_uppercase(),
                name: offer.name.clone(),
                min_quantity: offer.min_quantity.unwrap_or(1),
                max_quantity: max,
                sku_id: sku_id.to_ascii_lowercase(),
                sku_part_number: part.clone(),
                limit_unit: if limit > 0 { "Concurrent" } else { "None" }.to_string(),
                limit,
                is_add_on: add_on,
                prerequisite_offers: if add_on {
                    ARCHIVING_PREREQUISITES
                        .iter()
                        .map(|s| s.to_string())
                        .collect()
                } else {
                    Vec::new()
                },
                // Since March 2022 every seat-based legacy offer is sold only through
                // new commerce (partner-center-api.md §11).
                deprecated: true,
            });
        }
    }
    out
}

/// Every new-commerce item of the built-in catalog, as SKUs with one availability each,
/// plus the "(no Teams)" siblings.
pub fn builtin_nce() -> Vec<NceSku> {
    let mut out = Vec::new();
    for product in crate::catalog::Catalog::builtin().products() {
        for offer in product
            .offers
            .iter()
            .filter(|o| o.kind == OfferKind::NewCommerce)
        {
            let Some((pid, sid)) = offer.id.split_once(':') else {
                continue;
            };
            let part = product
                .sku_part_number
                .clone()
                .unwrap_or_else(|| "UNKNOWN".into());
            let extra = NCE_EXTRAS
                .iter()
                .find(|(id, _, _)| id.eq_ignore_ascii_case(&offer.id));
            let max = offer.max_quantity.unwrap_or(MAX);
            out.push(NceSku {
                product_id: pid.to_ascii_uppercase(),
                product_title: product.name.clone(),
                sku_id: sid.to_ascii_uppercase(),
                sku_title: offer.name.clone(),
                availability_id: match extra {
                    Some((_, a, _)) if !a.is_empty() => a.to_string(),
                    _ => derived_availability(pid, sid),
                },
                min_quantity: offer.min_quantity.unwrap_or(1),
                max_quantity: max,
                provisioning_id: product
                    .sku_id
                    .clone()
                    .unwrap_or_else(|| derived_guid("sku", &part))
                    .to_ascii_lowercase(),
                sku_part_number: part,
                asset_limit: (max == BUSINESS_MAX).then_some(BUSINESS_LIMIT),
                list_price: extra.map(|(_, _, p)| *p).unwrap_or(20.0),
                country: offer.country.clone(),
            });
        }
    }
    for (pid, sid, title, part, price) in NO_TEAMS {
        let Some(base) = out.iter().find(|s| s.product_id == pid).cloned() else {
            continue;
        };
        out.push(NceSku {
            sku_id: sid.to_string(),
            sku_title: title.to_string(),
            availability_id: derived_availability(pid, sid),
            provisioning_id: derived_guid("sku", part),
            sku_part_number: part.to_string(),
            list_price: price,
            ..base
        });
    }
    out
}

/// Everything the sandbox sells, read-only once the server runs.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub offers: Vec<LegacyOffer>,
    pub nce: Vec<NceSku>,
    offer_index: HashMap<String, usize>,
    skus: HashMap<String, SkuInfo>,
}

impl Catalog {
    /// The built-in tables plus a seed's additions (which win on a clash).
    pub fn new(extra_offers: &[LegacyOffer], extra_nce: &[NceSku], extra_skus: &[SkuInfo]) -> Self {
        let mut cat = Catalog::default();
        for offer in builtin_offers()
            .into_iter()
            .chain(extra_offers.iter().cloned())
        {
            let key = offer.id.to_ascii_uppercase();
            cat.skus
                .entry(offer.sku_id.to_ascii_lowercase())
                .or_insert_with(|| SkuInfo {
                    sku_id: offer.sku_id.to_ascii_lowercase(),
                    name: offer.name.clone(),
                    sku_part_number: offer.sku_part_number.clone(),
                });
            match cat.offer_index.get(&key) {
                Some(&i) => cat.offers[i] = offer,
                None => {
                    cat.offer_index.insert(key, cat.offers.len());
                    cat.offers.push(offer);
                }
            }
        }
        for sku in builtin_nce().into_iter().chain(extra_nce.iter().cloned()) {
            cat.skus
                .entry(sku.provisioning_id.to_ascii_lowercase())
                .or_insert_with(|| SkuInfo {
                    sku_id: sku.provisioning_id.to_ascii_lowercase(),
                    name: sku.sku_title.clone(),
                    sku_part_number: sku.sku_part_number.clone(),
                });
            cat.nce
                .retain(|s| !(s.product_id == sku.product_id && s.sku_id == sku.sku_id));
            cat.nce.push(sku);
        }
        for info in extra_skus {
            cat.skus
                .insert(info.sku_id.to_ascii_lowercase(), info.clone());
        }
        cat
    }

    pub fn offer(&self, id: &str) -> Option<&LegacyOffer> {
        self.offer_index
            .get(&id.trim().to_ascii_uppercase())
            .map(|&i| &self.offers[i])
    }

    /// A legacy offer by its name, case-insensitively (for seeding from plan text).
    pub fn offer_by_name(&self, name: &str) -> Option<&LegacyOffer> {
        let name = name.trim();
        self.offers
            .iter()
            .find(|o| o.name.eq_ignore_ascii_case(name))
    }

    pub fn sku_info(&self, sku_id: &str) -> SkuInfo {
        let key = sku_id.to_ascii_lowercase();
        self.skus.get(&key).cloned().unwrap_or_else(|| SkuInfo {
            sku_id: key.clone(),
            name: key,
            sku_part_number: "UNKNOWN".to_string(),
        })
    }

    pub fn knows_sku(&self, sku_id: &str) -> bool {
        self.skus.contains_key(&sku_id.to_ascii_lowercase())
    }

    pub fn nce_product(&self, product_id: &str) -> Vec<&NceSku> {
        self.nce
            .iter()
            .filter(|s| s.product_id.eq_ignore_ascii_case(product_id))
            .collect()
    }

    pub fn nce_sku(&self, product_id: &str, sku_id: &str) -> Option<&NceSku> {
        self.nce.iter().find(|s| {
            s.product_id.eq_ignore_ascii_case(product_id) && s.sku_id.eq_ignore_ascii_case(sku_id)
        })
    }

    /// The SKU behind a full `PRODUCT:SKU:AVAILABILITY` catalog item id.
    pub fn nce_item(&self, catalog_item_id: &str) -> Option<&NceSku> {
        let parts: Vec<&str> = catalog_item_id.trim().split(':').collect();
        match parts.as_slice() {
            [p, s, a] => self
                .nce_sku(p, s)
                .filter(|sku| sku.availability_id.eq_ignore_ascii_case(a)),
            _ => None,
        }
    }

    /// The new-commerce SKU whose seats land in this licence pool (the first one listed),
    /// named when a deprecated legacy offer is refused.
    pub fn nce_for_sku(&self, sku_id: &str) -> Option<&NceSku> {
        self.nce
            .iter()
            .find(|s| s.provisioning_id.eq_ignore_ascii_case(sku_id))
    }

    /// Product ids in catalog order, each once.
    pub fn nce_product_ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = Vec::new();
        for s in &self.nce {
            if !ids.contains(&s.product_id.as_str()) {
                ids.push(&s.product_id);
            }
        }
        ids
    }
}

/// An Offer resource (§4).
pub fn offer_json(offer: &LegacyOffer, country: &str, locale: &str) -> Value {
    let self_uri = format!("/offers/{}?country={country}", offer.id);
    json!({
        "id": offer.id,
        "name": offer.name,
        "description": format!("{} (cspmove sandbox catalog).", offer.name),
        "minimumQuantity": offer.min_quantity,
        "maximumQuantity": offer.max_quantity,
        "rank": 0,
        "uri": self_uri,
        "locale": locale,
        "country": country,
        "category": {"id": "Productivity", "name": "Productivity", "rank": 10, "locale": locale, "country": country},
        "limitUnitOfMeasure": offer.limit_unit,
        "limit": offer.limit,
        "termUnitOfMeasure": "Year",
        "term": 1,
        "prerequisiteOffers": offer.prerequisite_offers,
        "isAddOn": offer.is_add_on,
        "hasAddOns": !offer.is_add_on,
        "isAvailableForPurchase": true,
        "billing": "license",
        "supportedBillingCycles": ["annual", "monthly"],
        "isAutoRenewable": true,
        "isInternal": false,
        "isMicrosoftProduct": true,
        "conversionTargetOffers": [],
        "reselleeQualifications": [],
        "resellerQualifications": [],
        "salesGroupId": "Office",
        "isTrial": false,
        "acquisitionType": "PurchaseOrTrial",
        "supportedCatalogTypes": ["Standard"],
        "actions": ["Cancel", "Edit"],
        "product": {"id": offer.sku_id.to_ascii_uppercase(), "name": offer.name, "unit": "Licenses"},
        "unitType": if offer.is_add_on { "Add-On Licenses" } else { "Licenses" },
        "links": {"self": link(self_uri)},
        "attributes": {"objectType": "Offer"},
    })
}

fn product_prefix(customer: Option<&str>) -> String {
    match customer {
        Some(c) => format!("/customers/{c}/products"),
        None => "/products".to_string(),
    }
}

/// A Product resource (§10.1).
pub fn product_json(sku: &NceSku, country: &str, customer: Option<&str>) -> Value {
    let base = format!("{}/{}", product_prefix(customer), sku.product_id);
    json!({
        "id": sku.product_id,
        "title": sku.product_title,
        "description": format!("{} (cspmove sandbox catalog).", sku.product_title),
        "productType": {"id": "OnlineServicesNCE", "displayName": "OnlineServicesNCE"},
        "isMicrosoftProduct": true,
        "publisherName": "Microsoft Corporation",
        "links": {
            "skus": link(format!("{base}/skus?country={country}")),
            "self": link(format!("{base}?country={country}")),
        },
        "attributes": {"objectType": "Product"},
    })
}

/// A Sku resource (§10.1).
pub fn sku_json(sku: &NceSku, country: &str, customer: Option<&str>) -> Value {
    let base = format!(
        "{}/{}/skus/{}",
        product_prefix(customer),
        sku.product_id,
        sku.sku_id
    );
    json!({
        "id": sku.sku_id,
        "productId": sku.product_id,
        "title": sku.sku_title,
        "description": format!("{} (cspmove sandbox catalog).", sku.sku_title),
        "minimumQuantity": sku.min_quantity,
        "maximumQuantity": sku.max_quantity,
        "isTrial": false,
        "supportedBillingCycles": ["annual", "monthly", "triennial"],
        "purchasePrerequisites": ["MicrosoftCloudAgreement"],
        "inventoryVariables": [],
        "provisioningVariables": [],
        "actions": ["Refund"],
        "dynamicAttributes": {
            "isMicrosoftProduct": true,
            "hasConstraints": sku.asset_limit.is_some(),
            "isAddon": false,
            "prerequisiteSkus": [],
            "upgradeTargetOffers": [],
            "provisioningId": sku.provisioning_id,
            "internal": false,
        },
        "links": {
            "availabilities": link(format!("{base}/availabilities?country={country}")),
            "self": link(format!("{base}?country={country}")),
        },
        "attributes": {"objectType": "Sku"},
    })
}

/// The id of one term of an availability (stable, derived).
pub fn term_id(sku: &NceSku, duration: &str, billing: &str) -> String {
    derived_guid(
        "term",
        &format!("{}:{duration}:{billing}", sku.catalog_item_id()),
    )[..12]
        .to_string()
}

/// An Availability resource (§10.1) with the four term/billing pairs.
pub fn availability_json(sku: &NceSku, country: &str, customer: Option<&str>) -> Value {
    let uri = format!(
        "{}/{}/skus/{}/availabilities/{}?country={country}",
        product_prefix(customer),
        sku.product_id,
        sku.sku_id,
        sku.availability_id
    );
    let terms: Vec<Value> = terms()
        .into_iter()
        .map(|(term, billing, pascal)| {
            let duration = term.as_str();
            json!({
                "id": term_id(sku, duration, pascal),
                "duration": duration,
                "description": format!("{duration} commitment, {billing} billing"),
                "billingCycle": pascal,
                "cancellationPolicies": [{"refundOptions": [{"sequenceId": 0, "type": "Full", "expiresAfter": "P7D"}]}],
            })
        })
        .collect();
    let term_ids: Vec<Value> = terms.iter().map(|t| t["id"].clone()).collect();
    json!({
        "id": sku.availability_id,
        "productId": sku.product_id,
        "skuId": sku.sku_id,
        "catalogItemId": sku.catalog_item_id(),
        "defaultCurrency": {"code": "USD", "symbol": "$"},
        "segment": "commercial",
        "country": country,
        "isPurchasable": true,
        "isRenewable": true,
        "renewalInstructions": [{"applicableTermIds": term_ids, "renewalOptions": [{"renewToId": format!("{}:{}", sku.product_id, sku.sku_id), "isAutoRenewable": true}]}],
        "terms": terms,
        "links": {"self": link(uri)},
        "attributes": {"objectType": "Availability"},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_offer_product_id_is_the_sku() {
        let cat = Catalog::new(&[], &[], &[]);
        let e3 = cat.offer("796b6b5f-613c-4e24-a17c-eba730d49c02").unwrap();
        assert_eq!(e3.sku_id, "6fd2c87f-b296-42f0-b197-1e91e994b900");
        assert_eq!(cat.sku_info(&e3.sku_id).sku_part_number, "ENTERPRISEPACK");
    }

    #[test]
    fn no_teams_sibling_has_its_own_pool() {
        let cat = Catalog::new(&[], &[], &[]);
        let e3 = cat.nce_sku("CFQ7TTC0LFLX", "0001").unwrap();
        let no_teams = cat.nce_sku("cfq7ttc0lflx", "0021").unwrap();
        assert_ne!(e3.provisioning_id, no_teams.provisioning_id);
        assert_eq!(
            cat.nce_item("CFQ7TTC0LFLX:0001:CFQ7TTC0LB30")
                .unwrap()
                .provisioning_id,
            "05e9a617-0261-4cee-bb44-138d3ef5d965"
        );
        assert!(cat.nce_item("CFQ7TTC0LFLX:0001").is_none());
    }
}
