//! The built-in table: `builtin.csv`, embedded in the binary.
//!
//! The CSV is the `--catalog` format (one row per offer, a licence without known offers
//! as a row with no `offer_id`) plus a `source` column saying where each fact comes
//! from (docs/catalog.md). Main decision: the table is text in the repository, read by
//! the same rules as a user's catalog, so it can be reviewed and diffed, and
//! `cspmove catalog show --format csv` writes it back out as a file to start from.

use super::CatalogRow;

const BUILTIN_CSV: &str = include_str!("builtin.csv");

/// `;`-separated former names.
pub(crate) fn split_names(cell: &str) -> Vec<String> {
    cell.split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// The rows of the embedded table. The table is part of the program: a row that does
/// not read is a bug, caught by the tests.
pub(crate) fn rows() -> Vec<CatalogRow> {
    let mut reader = csv::ReaderBuilder::new().from_reader(BUILTIN_CSV.as_bytes());
    let headers = reader.headers().expect("builtin.csv has a header").clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("builtin.csv has no column {name}"))
    };
    let [id, name, sku, part, min, max, country, product, former] = [
        "offer_id",
        "offer_name",
        "sku_id",
        "sku_part_number",
        "min_quantity",
        "max_quantity",
        "country",
        "product_name",
        "former_names",
    ]
    .map(column);
    reader
        .records()
        .map(|record| {
            let record = record.expect("builtin.csv is valid CSV");
            let text = |i: usize| Some(record[i].trim().to_string()).filter(|s| !s.is_empty());
            let number = |i: usize| {
                text(i).map(|n| {
                    n.parse::<u64>()
                        .expect("builtin.csv quantities are numbers")
                })
            };
            CatalogRow {
                offer_id: text(id),
                offer_name: text(name).expect("builtin.csv rows have a name"),
                sku_id: text(sku),
                sku_part_number: text(part),
                min_quantity: number(min),
                max_quantity: number(max),
                country: text(country),
                product_name: text(product),
                former_names: split_names(&record[former]),
            }
        })
        .collect()
}
