//! Reading partner exports: every CSV/TSV and spreadsheet setting lives here.
//!
//! This module is the only place that builds a `csv::ReaderBuilder` or opens a workbook.
//! It finds the header row (below any title block), maps headers to [`Field`]s through
//! English, Korean and Japanese aliases, decodes legacy encodings, parses every cell
//! into a typed [`SourceRow`] and turns each bad cell into a [`Rejection`] that names the
//! file, the row the user sees, the column header and the value. Whole-file problems
//! (unreadable, not a spreadsheet, no header) are an [`InputError`].

use std::path::PathBuf;

use chrono::NaiveDate;

use crate::plan::model::{InputInfo, Rejection};

/// The fields of DESIGN §3, named as `--map FIELD=HEADER` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    CustomerId,
    Domain,
    CustomerName,
    ContactEmail,
    Country,
    Program,
    CurrentOffer,
    SubscriptionId,
    Seats,
    Assigned,
    ExpiresOn,
    AutoRenew,
    TargetOffer,
    TargetSeats,
    Relationship,
}

impl Field {
    pub const ALL: [Field; 15] = [
        Field::CustomerId,
        Field::Domain,
        Field::CustomerName,
        Field::ContactEmail,
        Field::Country,
        Field::Program,
        Field::CurrentOffer,
        Field::SubscriptionId,
        Field::Seats,
        Field::Assigned,
        Field::ExpiresOn,
        Field::AutoRenew,
        Field::TargetOffer,
        Field::TargetSeats,
        Field::Relationship,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Field::CustomerId => "customer_id",
            Field::Domain => "domain",
            Field::CustomerName => "customer_name",
            Field::ContactEmail => "contact_email",
            Field::Country => "country",
            Field::Program => "program",
            Field::CurrentOffer => "current_offer",
            Field::SubscriptionId => "subscription_id",
            Field::Seats => "seats",
            Field::Assigned => "assigned",
            Field::ExpiresOn => "expires_on",
            Field::AutoRenew => "auto_renew",
            Field::TargetOffer => "target_offer",
            Field::TargetSeats => "target_seats",
            Field::Relationship => "relationship",
        }
    }

    pub fn parse(name: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.as_str() == name)
    }
}

/// Where an input comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputSource {
    Path(PathBuf),
    /// `-`: CSV on standard input.
    Stdin,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateOrder {
    Ymd,
    Mdy,
    Dmy,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SheetSelector {
    Name(String),
    /// 1-based.
    Index(usize),
}

/// Checked reading options (built from the flags before any row is read).
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    pub sheet: Option<SheetSelector>,
    /// `--map FIELD=HEADER` overrides, applied before aliases.
    pub map: Vec<(Field, String)>,
    /// `--encoding`; `None` = detect.
    pub encoding: Option<&'static encoding_rs::Encoding>,
    pub date_order: Option<DateOrder>,
}

/// One valid data row, parsed. The planner never sees a raw cell.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SourceRow {
    /// Index of the input file (into the plan's `inputs`).
    pub input: usize,
    /// Row number the user sees in the spreadsheet.
    pub row: u64,
    /// A GUID, lower case.
    pub customer_id: Option<String>,
    /// The customer ID cell held something that is not a GUID (the row has a domain).
    pub invalid_customer_id: Option<String>,
    pub domain: Option<String>,
    pub customer_name: Option<String>,
    pub contact_email: Option<String>,
    /// ISO 3166 alpha-2, upper case.
    pub country: Option<String>,
    pub program: Option<String>,
    pub current_offer: String,
    pub subscription_id: Option<String>,
    pub seats: u64,
    pub assigned: Option<u64>,
    pub expires_on: Option<NaiveDate>,
    pub auto_renew: Option<bool>,
    pub target_offer: Option<String>,
    pub target_seats: Option<u64>,
    /// `Some(true)` when the input says the reseller relationship is already accepted.
    pub relationship_accepted: Option<bool>,
}

/// What one input file gave.
#[derive(Debug, Clone)]
pub struct InputTable {
    pub info: InputInfo,
    pub rows: Vec<SourceRow>,
    pub rejected: Vec<Rejection>,
}

/// One row of a `--catalog` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogEntry {
    /// Legacy offer GUID or new-commerce `PRODUCT:SKU` (or `PRODUCT:SKU:AVAILABILITY`).
    pub offer_id: String,
    pub offer_name: String,
    /// Entra license SKU the offer grants (lower case GUID).
    pub sku_id: Option<String>,
    pub sku_part_number: Option<String>,
    pub min_quantity: Option<u64>,
    pub max_quantity: Option<u64>,
    pub country: Option<String>,
}

/// One `from, to` pair of an `--offer-map` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferMapEntry {
    pub from: String,
    pub to: String,
}

/// A whole input that cannot be used. Exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{path}: {message}")]
    File { path: String, message: String },
}
