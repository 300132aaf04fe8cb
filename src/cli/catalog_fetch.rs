//! `cspmove catalog fetch`: a complete, current catalog from a Partner Center market.
//! (In the binary, beside the other commands that call Partner Center, so the catalog
//! module itself stays free of HTTP.)
//!
//! Reads `GET /v1/products?country=CC&targetView=OnlineServices` (every page), keeps the
//! new-commerce products (`productType.id = OnlineServicesNCE`), and reads each one's
//! SKUs: a SKU's `dynamicAttributes.provisioningId` is the licence `skuId` its seats
//! land in (partner-center-api.md §10.1), so each SKU becomes one catalog row
//! `PRODUCT:SKU → skuId` with its title and min/max quantity, tagged with the market's
//! country. Main decision: the calls go through the apply client (same auth, retries,
//! rate limit and error messages as `apply`), and only read; availabilities are not
//! stored, since they change over time and are looked up just before buying.

use serde::Deserialize;

use cspmove::apply::client::{Client, seg};
use cspmove::catalog::CatalogRow;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Product {
    id: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    product_type: Option<ProductType>,
}

#[derive(Debug, Deserialize)]
struct ProductType {
    #[serde(default)]
    id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Sku {
    id: String,
    #[serde(default)]
    product_id: Option<String>,
    #[serde(default)]
    title: String,
    #[serde(default)]
    minimum_quantity: Option<u64>,
    #[serde(default)]
    maximum_quantity: Option<u64>,
    #[serde(default)]
    dynamic_attributes: Option<DynamicAttributes>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DynamicAttributes {
    #[serde(default)]
    provisioning_id: Option<String>,
}

/// What a fetch found, beside its rows.
#[derive(Debug, Default)]
pub struct Fetched {
    pub rows: Vec<CatalogRow>,
    /// Products listed (every product type).
    pub products_listed: usize,
    /// SKUs without a `provisioningId` (their licence is unknown).
    pub without_licence: usize,
}

fn not_json(path: &str, e: serde_json::Error) -> anyhow::Error {
    anyhow::anyhow!(
        "GET {}: an item is not the JSON expected: {e}",
        path.split('?').next().unwrap_or(path)
    )
}

/// Reads the new-commerce catalog of market `country` (ISO 3166 alpha-2), in the
/// order the API lists products and SKUs. `on_product` sees each product's title.
pub async fn fetch(
    client: &Client,
    country: &str,
    mut on_product: impl FnMut(&str),
) -> anyhow::Result<Fetched> {
    let country = country.trim().to_ascii_uppercase();
    let path = format!(
        "/v1/products?country={}&targetView=OnlineServices",
        seg(&country)
    );
    let products = client.get_all(&path, |_| {}).await?;
    let mut fetched = Fetched {
        products_listed: products.len(),
        ..Fetched::default()
    };
    for value in products {
        let product: Product = serde_json::from_value(value).map_err(|e| not_json(&path, e))?;
        let nce = product
            .product_type
            .as_ref()
            .is_some_and(|t| t.id.eq_ignore_ascii_case("OnlineServicesNCE"));
        if !nce {
            continue;
        }
        on_product(&product.title);
        let skus_path = format!(
            "/v1/products/{}/skus?country={}",
            seg(&product.id),
            seg(&country)
        );
        for value in client.get_all(&skus_path, |_| {}).await? {
            let sku: Sku = serde_json::from_value(value).map_err(|e| not_json(&skus_path, e))?;
            let product_id = sku.product_id.as_deref().unwrap_or(&product.id);
            let sku_id = sku
                .dynamic_attributes
                .and_then(|d| d.provisioning_id)
                .and_then(|p| uuid::Uuid::try_parse(p.trim()).ok())
                .map(|u| u.hyphenated().to_string());
            if sku_id.is_none() {
                fetched.without_licence += 1;
            }
            let title = if sku.title.trim().is_empty() {
                product.title.clone()
            } else {
                sku.title
            };
            fetched.rows.push(CatalogRow {
                offer_id: Some(format!("{}:{}", product_id, sku.id)),
                offer_name: title,
                sku_id,
                min_quantity: sku.minimum_quantity,
                max_quantity: sku.maximum_quantity,
                country: Some(country.clone()),
                ..CatalogRow::default()
            });
        }
    }
    Ok(fetched)
}
