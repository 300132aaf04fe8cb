//! `--catalog` and `--offer-map` files: small tables read with the input module's
//! readers (encodings, delimiter sniffing, header aliases, Excel), but strict: a bad row
//! is an error naming its row and column, because a wrong catalog would mis-order every
//! customer that uses the product.
//!
//! A `--catalog` file is either cspmove's own format (`offer_id, offer_name, sku_id,
//! sku_part_number, min_quantity, max_quantity` [, `country`, `product_name`,
//! `former_names`]; what `catalog show --format csv` writes) or Microsoft's licensing
//! reference CSV as downloaded from Microsoft Learn (`Product_Display_Name, String_Id,
//! GUID, Service_Plan_Name, …`, one row per service plan). Main decision: the licensing
//! CSV is recognised by its header alone (all four columns), and its rows become one
//! licence per `GUID`, with no offers: it says what every licence is called, not what
//! sells it.

use std::path::Path;
use std::sync::OnceLock;

use encoding_rs::Encoding;

use super::builtin::split_names;
use super::{CatalogRow, OfferMapEntry};
use crate::input::{
    FieldSpec, InputError, Schema, SmallTable, clean, parse_guid, parse_whole, read_small_table,
};

const OFFER_ID: usize = 0;
const OFFER_NAME: usize = 1;
const SKU_ID: usize = 2;
const SKU_PART_NUMBER: usize = 3;
const MIN_QUANTITY: usize = 4;
const MAX_QUANTITY: usize = 5;
const COUNTRY: usize = 6;
const PRODUCT_NAME: usize = 7;
const FORMER_NAMES: usize = 8;

static CATALOG_SCHEMA: Schema = Schema {
    what: "catalog",
    fields: &[
        FieldSpec {
            name: "offer_id",
            aliases: &[
                "Offer ID",
                "Catalog item ID",
                "Catalog ID",
                "Product ID",
                "Offer GUID",
                "오퍼 ID",
                "제품 ID",
                "オファー ID",
                "製品 ID",
            ],
        },
        FieldSpec {
            name: "offer_name",
            aliases: &[
                "Offer name",
                "Name",
                "Offer",
                "Product name",
                "Product title",
                "Title",
                "오퍼 이름",
                "제품 이름",
                "제품명",
                "オファー名",
                "製品名",
                "プラン",
            ],
        },
        FieldSpec {
            name: "sku_id",
            aliases: &[
                "SKU ID",
                "skuId",
                "License SKU ID",
                "Entra SKU ID",
                "License SKU",
                "SKU GUID",
                "라이선스 SKU ID",
                "ライセンス SKU ID",
            ],
        },
        FieldSpec {
            name: "sku_part_number",
            aliases: &[
                "SKU part number",
                "skuPartNumber",
                "String ID",
                "Part number",
                "SKU name",
                "SKU",
            ],
        },
        FieldSpec {
            name: "min_quantity",
            aliases: &[
                "Min quantity",
                "Minimum quantity",
                "Min",
                "Minimum",
                "Min licenses",
                "Minimum seats",
                "최소 수량",
                "最小数量",
            ],
        },
        FieldSpec {
            name: "max_quantity",
            aliases: &[
                "Max quantity",
                "Maximum quantity",
                "Max",
                "Maximum",
                "Max licenses",
                "Maximum seats",
                "최대 수량",
                "最大数量",
            ],
        },
        FieldSpec {
            name: "country",
            aliases: &["Country", "Market", "Country code", "국가", "国"],
        },
        FieldSpec {
            name: "product_name",
            aliases: &[
                "Licence name",
                "License name",
                "Licence display name",
                "License display name",
                "라이선스 이름",
                "ライセンス名",
            ],
        },
        FieldSpec {
            name: "former_names",
            aliases: &[
                "Former names",
                "Former name",
                "Previous names",
                "이전 이름",
                "旧名称",
            ],
        },
    ],
    // A licence known only by its skuId or part number is a row without an offer ID.
    required: &[
        &[OFFER_ID, SKU_ID, SKU_PART_NUMBER] as &[usize],
        &[OFFER_NAME],
    ],
    contextual: &[],
    index: OnceLock::new(),
};

/// Microsoft's "Product names and service plan identifiers for licensing" CSV.
static LICENSING_SCHEMA: Schema = Schema {
    what: "Microsoft licensing reference",
    fields: &[
        FieldSpec {
            name: "Product_Display_Name",
            aliases: &[],
        },
        FieldSpec {
            name: "String_Id",
            aliases: &[],
        },
        FieldSpec {
            name: "GUID",
            aliases: &[],
        },
        FieldSpec {
            name: "Service_Plan_Name",
            aliases: &[],
        },
    ],
    required: &[&[0], &[1], &[2], &[3]],
    contextual: &[],
    index: OnceLock::new(),
};

static OFFER_MAP_SCHEMA: Schema = Schema {
    what: "offer map",
    fields: &[
        FieldSpec {
            name: "from",
            aliases: &[
                "Legacy offer",
                "Current offer",
                "Source offer",
                "Old offer",
                "Offer",
                "Current product",
                "Legacy product",
                "기존 제품",
                "현재 제품",
                "기존 오퍼",
                "移行元",
                "移行元プラン",
                "現在のプラン",
            ],
        },
        FieldSpec {
            name: "to",
            aliases: &[
                "CSP offer",
                "Target offer",
                "New offer",
                "Target product",
                "New product",
                "CSP product",
                "대상 제품",
                "새 제품",
                "CSP 제품",
                "移行先",
                "移行先プラン",
                "新しいプラン",
            ],
        },
    ],
    required: &[&[0], &[1]],
    contextual: &[],
    index: OnceLock::new(),
};

/// A cell of a small table, cleaned; `None` when absent or empty.
fn cell(table: &SmallTable, cells: &[String], field: usize) -> Option<(usize, String)> {
    let column = table.map.column(field)?;
    let raw = cells.get(column)?;
    clean(raw).map(|c| (column, c.into_owned()))
}

fn bad_row(table: &SmallTable, row: u64, column: usize, message: String) -> InputError {
    InputError::InvalidRow {
        path: table.display.clone(),
        row,
        column: table.map.header(column).to_string(),
        message,
    }
}

fn required(
    table: &SmallTable,
    row: u64,
    cells: &[String],
    field: usize,
    what: &str,
) -> Result<String, InputError> {
    match cell(table, cells, field) {
        Some((_, text)) => Ok(text),
        None => Err(bad_row(
            table,
            row,
            table.map.column(field).unwrap_or(0),
            format!("the {what} is empty: every row needs one"),
        )),
    }
}

fn quantity(
    table: &SmallTable,
    row: u64,
    cells: &[String],
    field: usize,
) -> Result<Option<u64>, InputError> {
    match cell(table, cells, field) {
        None => Ok(None),
        Some((column, text)) => parse_whole(&text).map(Some).map_err(|why| {
            bad_row(
                table,
                row,
                column,
                format!("{text:?} {why}: quantities are whole numbers"),
            )
        }),
    }
}

/// Reads a `--catalog` file: cspmove's catalog format or Microsoft's licensing CSV.
/// `encoding` is `--encoding` (`None`: detected, as for inputs).
pub fn read_catalog(
    path: &Path,
    encoding: Option<&'static Encoding>,
) -> Result<Vec<CatalogRow>, InputError> {
    match read_small_table(path, &LICENSING_SCHEMA, encoding) {
        Ok(table) => return licensing_rows(&table),
        Err(InputError::NoHeader { .. }) => {}
        Err(other) => return Err(other),
    }
    let table = read_small_table(path, &CATALOG_SCHEMA, encoding)?;
    let mut entries = Vec::with_capacity(table.rows.len());
    for (row, cells) in &table.rows {
        let row = *row;
        let offer_id = cell(&table, cells, OFFER_ID).map(|(_, t)| t);
        let offer_name = required(&table, row, cells, OFFER_NAME, "offer name")?;
        let sku_id = match cell(&table, cells, SKU_ID) {
            None => None,
            Some((column, text)) => Some(parse_guid(&text).ok_or_else(|| {
                bad_row(
                    &table,
                    row,
                    column,
                    format!("{text:?} is not a license SKU ID (a GUID)"),
                )
            })?),
        };
        let sku_part_number = cell(&table, cells, SKU_PART_NUMBER).map(|(_, t)| t);
        if offer_id.is_none() && sku_id.is_none() && sku_part_number.is_none() {
            let column = table.map.column(OFFER_ID).unwrap_or(0);
            return Err(bad_row(
                &table,
                row,
                column,
                "the row names no offer ID, licence SKU ID or part number: every row needs one"
                    .into(),
            ));
        }
        let min_quantity = quantity(&table, row, cells, MIN_QUANTITY)?;
        let max_quantity = quantity(&table, row, cells, MAX_QUANTITY)?;
        if let (Some(min), Some(max)) = (min_quantity, max_quantity)
            && min > max
        {
            return Err(bad_row(
                &table,
                row,
                table.map.column(MIN_QUANTITY).unwrap_or(0),
                format!("the minimum quantity {min} is above the maximum {max}"),
            ));
        }
        entries.push(CatalogRow {
            offer_id,
            offer_name,
            sku_id,
            sku_part_number,
            min_quantity,
            max_quantity,
            country: cell(&table, cells, COUNTRY).map(|(_, t)| t.to_ascii_uppercase()),
            product_name: cell(&table, cells, PRODUCT_NAME).map(|(_, t)| t),
            former_names: cell(&table, cells, FORMER_NAMES)
                .map(|(_, t)| split_names(&t))
                .unwrap_or_default(),
        });
    }
    Ok(entries)
}

/// One licence per `GUID` of Microsoft's licensing CSV (its rows repeat the product
/// once per service plan; the first row of a GUID names it).
fn licensing_rows(table: &SmallTable) -> Result<Vec<CatalogRow>, InputError> {
    let mut seen = std::collections::HashSet::new();
    let mut rows = Vec::new();
    for (row, cells) in &table.rows {
        let row = *row;
        let name = required(table, row, cells, 0, "product display name")?;
        let part = required(table, row, cells, 1, "String_Id")?;
        let (column, guid) = cell(table, cells, 2).ok_or_else(|| {
            bad_row(
                table,
                row,
                table.map.column(2).unwrap_or(0),
                "the GUID is empty: every row needs one".into(),
            )
        })?;
        let sku_id = parse_guid(&guid).ok_or_else(|| {
            bad_row(
                table,
                row,
                column,
                format!("{guid:?} is not a licence GUID"),
            )
        })?;
        if seen.insert(sku_id.clone()) {
            rows.push(CatalogRow {
                offer_id: None,
                offer_name: name.clone(),
                sku_id: Some(sku_id),
                sku_part_number: Some(part),
                product_name: Some(name),
                ..CatalogRow::default()
            });
        }
    }
    Ok(rows)
}

/// Reads an `--offer-map` file; `encoding` as for [`read_catalog`].
pub fn read_offer_map(
    path: &Path,
    encoding: Option<&'static Encoding>,
) -> Result<Vec<OfferMapEntry>, InputError> {
    let table = read_small_table(path, &OFFER_MAP_SCHEMA, encoding)?;
    table
        .rows
        .iter()
        .map(|(row, cells)| {
            Ok(OfferMapEntry {
                from: required(&table, *row, cells, 0, "legacy offer (from)")?,
                to: required(&table, *row, cells, 1, "CSP offer (to)")?,
            })
        })
        .collect()
}
