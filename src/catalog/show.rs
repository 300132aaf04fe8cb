//! The catalog as people and files see it (`cspmove catalog show|search`): text in
//! English, Korean or Japanese, the `--catalog` CSV, or JSON.
//!
//! Main decision: the CSV is exactly the `--catalog` format (`offer_id, offer_name,
//! sku_id, sku_part_number, min_quantity, max_quantity, country, product_name,
//! former_names`), one row per offer and one for a licence without offers, so what
//! `show --format csv` writes can be edited and given back as `--catalog` to the same
//! effect. Cells are written as they are (not formula-neutralised): the file is data
//! for cspmove, and neutralising would change the names it matches.

use std::io::{self, Write};

use serde::Serialize;

use super::{Catalog, CatalogRow, OfferKind};
use crate::i18n::{Lang, texts};

/// The header of the catalog CSV.
pub const CSV_HEADER: [&str; 9] = [
    "offer_id",
    "offer_name",
    "sku_id",
    "sku_part_number",
    "min_quantity",
    "max_quantity",
    "country",
    "product_name",
    "former_names",
];

fn kind_key(kind: OfferKind) -> &'static str {
    match kind {
        OfferKind::NewCommerce => "catalog_show.new_commerce",
        OfferKind::Legacy => "catalog_show.legacy_offer",
        OfferKind::Other => "catalog_show.other_offer",
    }
}

fn bounds(min: Option<u64>, max: Option<u64>) -> String {
    match (min, max) {
        (None, None) => String::new(),
        (min, max) => format!(
            " [{}–{}]",
            min.map_or(String::new(), |n| n.to_string()),
            max.map_or(String::new(), |n| n.to_string())
        ),
    }
}

/// The products (indices into `catalog`) as text, one block each.
pub fn write_text(
    out: &mut impl Write,
    catalog: &Catalog,
    products: &[u32],
    lang: Lang,
) -> io::Result<()> {
    let t = texts(lang);
    for &p in products {
        let product = catalog.product(p);
        writeln!(
            out,
            "{}  {}  {}",
            product.name,
            product.sku_part_number.as_deref().unwrap_or("-"),
            product.sku_id.as_deref().unwrap_or("-")
        )?;
        if !product.former_names.is_empty() {
            writeln!(
                out,
                "  {}: {}",
                t.get("catalog_show.former_names"),
                product.former_names.join("; ")
            )?;
        }
        if product.offers.is_empty() {
            writeln!(out, "  {}", t.get("catalog_show.no_offer"))?;
        }
        for offer in &product.offers {
            let country = offer
                .country
                .as_deref()
                .map(|c| format!(" ({c})"))
                .unwrap_or_default();
            writeln!(
                out,
                "  {}: {}{country} \"{}\"{}",
                t.get(kind_key(offer.kind)),
                offer.id,
                offer.name,
                bounds(offer.min_quantity, offer.max_quantity)
            )?;
        }
    }
    writeln!(
        out,
        "{}",
        t.fill(
            "catalog_show.count",
            &[
                ("shown", &products.len().to_string()),
                ("total", &catalog.len().to_string())
            ]
        )
    )
}

/// The rows of the products (indices into `catalog`) as a `--catalog` CSV.
pub fn write_csv(out: &mut impl Write, catalog: &Catalog, products: &[u32]) -> io::Result<()> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out);
    writer.write_record(CSV_HEADER)?;
    let wanted: std::collections::HashSet<u32> = products.iter().copied().collect();
    let all = catalog.rows_by_product();
    for (p, rows) in all {
        if !wanted.contains(&p) {
            continue;
        }
        for row in rows {
            write_row(&mut writer, &row)?;
        }
    }
    writer.flush()
}

fn write_row<W: Write>(writer: &mut csv::Writer<W>, row: &CatalogRow) -> io::Result<()> {
    let number = |n: Option<u64>| n.map(|n| n.to_string()).unwrap_or_default();
    writer.write_record([
        row.offer_id.clone().unwrap_or_default(),
        row.offer_name.clone(),
        row.sku_id.clone().unwrap_or_default(),
        row.sku_part_number.clone().unwrap_or_default(),
        number(row.min_quantity),
        number(row.max_quantity),
        row.country.clone().unwrap_or_default(),
        row.product_name.clone().unwrap_or_default(),
        row.former_names.join("; "),
    ])?;
    Ok(())
}

#[derive(Serialize)]
struct JsonProduct<'a> {
    name: &'a str,
    former_names: &'a [String],
    sku_part_number: Option<&'a str>,
    sku_id: Option<&'a str>,
    offers: Vec<JsonOffer<'a>>,
}

#[derive(Serialize)]
struct JsonOffer<'a> {
    id: &'a str,
    kind: &'static str,
    name: &'a str,
    min_quantity: Option<u64>,
    max_quantity: Option<u64>,
    country: Option<&'a str>,
}

/// The products as a JSON array.
pub fn write_json(out: &mut impl Write, catalog: &Catalog, products: &[u32]) -> io::Result<()> {
    let list: Vec<JsonProduct<'_>> = products
        .iter()
        .map(|&p| {
            let product = catalog.product(p);
            JsonProduct {
                name: &product.name,
                former_names: &product.former_names,
                sku_part_number: product.sku_part_number.as_deref(),
                sku_id: product.sku_id.as_deref(),
                offers: product
                    .offers
                    .iter()
                    .map(|o| JsonOffer {
                        id: &o.id,
                        kind: match o.kind {
                            OfferKind::NewCommerce => "new_commerce",
                            OfferKind::Legacy => "legacy",
                            OfferKind::Other => "other",
                        },
                        name: &o.name,
                        min_quantity: o.min_quantity,
                        max_quantity: o.max_quantity,
                        country: o.country.as_deref(),
                    })
                    .collect(),
            }
        })
        .collect();
    serde_json::to_writer_pretty(&mut *out, &list).map_err(io::Error::from)?;
    writeln!(out)
}
