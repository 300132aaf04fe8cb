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

/// The term/billing pairs every sandbox availability offers (§10.6 item 1).
pub const TERMS: [(&str, &str); 4] = [
    ("P1M", "Monthly"),
    ("P1Y", "Monthly"),
    ("P1Y", "Annual"),
    ("P3Y", "Annual"),
];

const MAX: u64 = 10_000_000;

/// partner-center-api.md §4: (offer id, name, min, max, concurrent limit, skuId, part number).
const LEGACY: [(&str, &str, u64, u64, u64, &str, &str); 17] = [
    (
        "91FD106F-4B2C-4938-95AC-F54F74E9A239",
        "Office 365 Enterprise E1",
        1,
        MAX,
        0,
        "18181a46-0d4e-45cd-891e-60aabd171b4e",
        "STANDARDPACK",
    ),
    (
        "796B6B5F-613C-4E24-A17C-EBA730D49C02",
        "Office 365 Enterprise E3",
        1,
        MAX,
        0,
        "6fd2c87f-b296-42f0-b197-1e91e994b900",
        "ENTERPRISEPACK",
    ),
    (
        "A044B16A-1861-4308-8086-A3A3B506FAC2",
        "Office 365 Enterprise E5",
        1,
        MAX,
        0,
        "c7df2760-2c81-4ef7-b578-5b5392b571df",
        "ENTERPRISEPREMIUM",
    ),
    (
        "BD938F12-058F-4927-BBA3-AE36B1D2501C",
        "Office 365 Business Essentials",
        1,
        300,
        2,
        "3b555118-da6a-4418-894f-7df1e2096870",
        "O365_BUSINESS_ESSENTIALS",
    ),
    (
        "031C9E47-4802-4248-838E-778FB1D2CC05",
        "Office 365 Business Premium",
        1,
        300,
        2,
        "f245ecc8-75af-4f8e-b61f-27d8114de5f3",
        "O365_BUSINESS_PREMIUM",
    ),
    (
        "5C9FD4CC-EDCE-44A8-8E91-07DF09744609",
        "Office 365 Business",
        1,
        300,
        2,
        "cdd28e44-67e3-425e-be4c-737fab2899d3",
        "O365_BUSINESS",
    ),
    (
        "BE57FF4C-100C-4F1F-B82D-F1C5AB63A665",
        "Office 365 ProPlus",
        1,
        MAX,
        0,
        "c2273bd0-dff7-4215-9ef5-2c7bcfb06425",
        "OFFICESUBSCRIPTION",
    ),
    (
        "6FBAD345-B7DE-42A6-B6AB-79B363D0B371",
        "Office 365 F1",
        1,
        MAX,
        0,
        "4b585984-651b-448a-9e53-3b10f069cf7f",
        "DESKLESSPACK",
    ),
    (
        "3451A3B0-8CDA-44A7-BAD7-C30BE81C4AAA",
        "Microsoft 365 F1",
        1,
        MAX,
        0,
        "66b55226-6b4f-492c-910c-a3b7a3c9d993",
        "SPE_F1",
    ),
    (
        "2B3B8D2D-10AA-4BE4-B5FD-7F2FEB0C3091",
        "Microsoft 365 E3",
        1,
        MAX,
        0,
        "05e9a617-0261-4cee-bb44-138d3ef5d965",
        "SPE_E3",
    ),
    (
        "8BDBB60B-E526-43E9-92EF-AB760C8E0B72",
        "Microsoft 365 E5",
        1,
        MAX,
        0,
        "06ebc4ee-1bb5-47dd-8120-11324bc54e06",
        "SPE_E5",
    ),
    (
        "61795CAB-2ABD-43F6-88E9-C9ADAE5746E0",
        "Microsoft 365 Business",
        1,
        300,
        2,
        "cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46",
        "SPB",
    ),
    (
        "79C29AF7-3CD0-4A6F-B182-A81E31DEC84E",
        "Enterprise Mobility + Security E3",
        1,
        MAX,
        0,
        "efccb6f7-5641-4e0e-bd10-b4976e1bf68e",
        "EMS",
    ),
    (
        "195416C1-3447-423A-B37B-EE59A99A19C4",
        "Exchange Online (Plan 1)",
        1,
        MAX,
        0,
        "4b9405b0-7788-4568-add1-99614e613b69",
        "EXCHANGESTANDARD",
    ),
    (
        "2F707C7C-2433-49A5-A437-9CA7CF40D3EB",
        "Exchange Online (Plan 2)",
        1,
        MAX,
        0,
        "19ec0d23-8335-4cbd-94ac-6050e30712fa",
        "EXCHANGEENTERPRISE",
    ),
    (
        "800F4F3B-CFE1-42C1-9CEA-675512810488",
        "Power BI Pro",
        1,
        MAX,
        0,
        "f8a1db68-be16-40ed-86d5-cb42ce701560",
        "POWER_BI_PRO",
    ),
    (
        "2828BE95-46BA-4F91-B2FD-0BEF192ECF60",
        "Exchange Online Archiving for Exchange Online",
        1,
        MAX,
        0,
        "ee02fd1b-340e-4a4b-b355-4a514e4c8943",
        "EXCHANGEARCHIVE_ADDON",
    ),
];

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

/// §10.1: (product, sku, title, availability or "" to derive, min, max, provisioningId or
/// "" to derive, part number, asset limit, list price).
type NceRow = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    u64,
    u64,
    &'static str,
    &'static str,
    u64,
    f64,
);
const NCE: [NceRow; 10] = [
    (
        "CFQ7TTC0LH18",
        "0001",
        "Microsoft 365 Business Basic",
        "CFQ7TTC0K971",
        1,
        300,
        "3b555118-da6a-4418-894f-7df1e2096870",
        "O365_BUSINESS_ESSENTIALS",
        2,
        6.0,
    ),
    (
        "CFQ7TTC0LH18",
        "000P",
        "Microsoft 365 Business Basic (no Teams)",
        "",
        1,
        300,
        "",
        "O365_BUSINESS_ESSENTIALS_NO_TEAMS",
        2,
        4.75,
    ),
    (
        "CFQ7TTC0LDPB",
        "0001",
        "Microsoft 365 Business Standard",
        "",
        1,
        300,
        "f245ecc8-75af-4f8e-b61f-27d8114de5f3",
        "O365_BUSINESS_PREMIUM",
        2,
        12.5,
    ),
    (
        "CFQ7TTC0LCHC",
        "0002",
        "Microsoft 365 Business Premium",
        "CFQ7TTC0X6RN",
        1,
        300,
        "cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46",
        "SPB",
        2,
        22.0,
    ),
    (
        "CFQ7TTC0LF8Q",
        "0001",
        "Office 365 E1",
        "CFQ7TTC0K39X",
        1,
        MAX,
        "18181a46-0d4e-45cd-891e-60aabd171b4e",
        "STANDARDPACK",
        0,
        10.0,
    ),
    (
        "CFQ7TTC0LF8R",
        "0001",
        "Office 365 E3",
        "CFQ7TTC0KCSV",
        1,
        MAX,
        "6fd2c87f-b296-42f0-b197-1e91e994b900",
        "ENTERPRISEPACK",
        0,
        23.0,
    ),
    (
        "CFQ7TTC0LFLX",
        "0001",
        "Microsoft 365 E3",
        "CFQ7TTC0LB30",
        1,
        MAX,
        "05e9a617-0261-4cee-bb44-138d3ef5d965",
        "SPE_E3",
        0,
        36.0,
    ),
    (
        "CFQ7TTC0LFLX",
        "0021",
        "Microsoft 365 E3 (no Teams)",
        "",
        1,
        MAX,
        "",
        "SPE_E3_NO_TEAMS",
        0,
        33.75,
    ),
    (
        "CFQ7TTC0LFLZ",
        "0002",
        "Microsoft 365 E5",
        "",
        1,
        MAX,
        "06ebc4ee-1bb5-47dd-8120-11324bc54e06",
        "SPE_E5",
        0,
        57.0,
    ),
    (
        "CFQ7TTC0LFLS",
        "0002",
        "Microsoft Entra ID P1",
        "CFQ7TTC0KDLJ",
        1,
        MAX,
        "",
        "AAD_PREMIUM",
        0,
        6.0,
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

/// The legacy offers of §4.
pub fn builtin_offers() -> Vec<LegacyOffer> {
    LEGACY
        .iter()
        .map(|(id, name, min, max, limit, sku, part)| LegacyOffer {
            id: id.to_string(),
            name: name.to_string(),
            min_quantity: *min,
            max_quantity: *max,
            sku_id: sku.to_string(),
            sku_part_number: part.to_string(),
            limit_unit: if *limit > 0 { "Concurrent" } else { "None" }.to_string(),
            limit: *limit,
            is_add_on: *part == "EXCHANGEARCHIVE_ADDON",
            prerequisite_offers: if *part == "EXCHANGEARCHIVE_ADDON" {
                ARCHIVING_PREREQUISITES
                    .iter()
                    .map(|s| s.to_string())
                    .collect()
            } else {
                Vec::new()
            },
            // Since March 2022 every seat-based legacy offer of this table is sold only
            // through new commerce (partner-center-api.md §11).
            deprecated: true,
        })
        .collect()
}

/// The new-commerce SKUs of §10.1 (with a "(no Teams)" sibling whose seats land in
/// another pool).
pub fn builtin_nce() -> Vec<NceSku> {
    NCE.iter()
        .map(
            |(product, sku, title, availability, min, max, prov, part, limit, price)| NceSku {
                product_id: product.to_string(),
                product_title: title.trim_end_matches(" (no Teams)").to_string(),
                sku_id: sku.to_string(),
                sku_title: title.to_string(),
                availability_id: if availability.is_empty() {
                    derived_availability(product, sku)
                } else {
                    availability.to_string()
                },
                min_quantity: *min,
                max_quantity: *max,
                provisioning_id: if prov.is_empty() {
                    derived_guid("sku", part)
                } else {
                    prov.to_string()
                },
                sku_part_number: part.to_string(),
                asset_limit: (*limit > 0).then_some(*limit),
                list_price: *price,
            },
        )
        .collect()
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
        "supportedBillingCycles": ["annual", "monthly"],
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
    let terms: Vec<Value> = TERMS
        .iter()
        .map(|(duration, billing)| {
            json!({
                "id": term_id(sku, duration, billing),
                "duration": duration,
                "description": format!("{duration} commitment, {} billing", billing.to_lowercase()),
                "billingCycle": billing,
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
