//! The plan file (`cspmove.plan/v1`): the one data structure every later stage reads.
//!
//! `plan` writes it, `report` renders it, `sandbox --seed` builds tenants from it and
//! `apply`/`status` carry it out. Field names follow DESIGN.md §6 exactly; the few fields
//! added beyond §6 (`input` and `id` on lines, `current_offer_id`, `auto_renew`, ...) are
//! optional extras a reader of §6 can ignore. Maps are `BTreeMap` and lists are sorted by
//! the planner so that serialising the same plan always gives the same bytes.

pub mod read;

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

pub use read::{Count, PlanHead, PlanReader, Sha};

/// The schema tag; `apply` refuses any other.
pub const SCHEMA: &str = "cspmove.plan/v1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub schema: String,
    pub generated_by: String,
    pub as_of: NaiveDate,
    pub lead_days: u32,
    pub inputs: Vec<InputInfo>,
    pub summary: Summary,
    pub customers: Vec<Customer>,
    pub rejected: Vec<Rejection>,
}

/// One input file as it was read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputInfo {
    /// The path as the user gave it (`-` for stdin).
    pub path: String,
    pub sha256: String,
    /// The sheet the table came from (Excel inputs only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sheet: Option<String>,
    /// Data rows read below the header (blank rows not counted).
    pub rows: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub customers: u64,
    pub lines: u64,
    pub same_offer: u64,
    /// Lines whose offer changes but whose licence SKU stays (a legacy offer → its
    /// new-commerce twin): no licence change. `lines = same_offer + same_license +
    /// reassign`.
    #[serde(default)]
    pub same_license: u64,
    pub reassign: u64,
    pub rejected_rows: u64,
    /// Rows that list a subscription again with the same values (a reconciliation
    /// file lists it once per charge): counted, not planned again (DESIGN §3).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub repeated_rows: u64,
    /// Lines carrying each warning code.
    pub warnings: BTreeMap<WarningCode, u64>,
    /// Lines per wave (`YYYY-MM`).
    #[serde(default)]
    pub waves: BTreeMap<String, WaveSummary>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaveSummary {
    pub lines: u64,
    pub same_offer: u64,
    /// Different offer, same licence SKU (see [`Summary::same_license`]).
    #[serde(default)]
    pub same_license: u64,
    pub reassign: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Customer {
    /// `customer_id` in lower case, else the domain in lower case (DESIGN §5).
    pub key: String,
    pub customer_id: Option<String>,
    pub domain: Option<String>,
    pub name: Option<String>,
    pub contact_email: Option<String>,
    pub country: Option<String>,
    pub relationship: Relationship,
    pub lines: Vec<Line>,
    pub tasks: Vec<Task>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Relationship {
    /// A reseller relationship request must be sent and accepted first.
    Request,
    /// The input says the customer already accepted.
    Accepted,
}

/// One planned move: one input row, one original subscription.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Line {
    /// Stable within the plan: `c{customer}-l{line}`, both 1-based.
    pub id: String,
    /// Index into `Plan::inputs` of the file this row came from.
    pub input: usize,
    /// The row number the user sees in the spreadsheet.
    pub row: u64,
    pub current_offer: String,
    /// The catalog offer ID the current offer resolved to, when a catalog was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_offer_id: Option<String>,
    pub target_offer: String,
    /// Catalog ID to order: a legacy offer GUID or a new-commerce `PRODUCT:SKU` item.
    /// When no catalog resolves the name, the target text itself if it looks like an ID.
    pub target_offer_id: Option<String>,
    pub seats: u64,
    pub target_seats: u64,
    pub same_offer: bool,
    /// Current and target grant the same licence SKU (true whenever `same_offer` is):
    /// users keep their licences.
    #[serde(default)]
    pub same_license: bool,
    pub license_action: LicenseAction,
    pub licenses_to_reassign: u64,
    /// License SKU (Entra `skuId`) users hold today; only for `reassign`.
    pub from_sku: Option<String>,
    /// License SKU users must hold after the move; only for `reassign`.
    pub to_sku: Option<String>,
    #[serde(serialize_with = "date_opt")]
    pub expires_on: Option<NaiveDate>,
    #[serde(serialize_with = "date")]
    pub provision_on: NaiveDate,
    pub wave: String,
    pub original_action: OriginalAction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_renew: Option<bool>,
    /// New-commerce term of what is bought: the row's, else `--term`.
    #[serde(default)]
    pub term: Term,
    /// Billing frequency of what is bought: the row's, else `--billing`.
    #[serde(default)]
    pub billing: Billing,
    pub warnings: Vec<WarningCode>,
}

/// A new-commerce term duration (partner-center-api.md §10.1).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub enum Term {
    /// One month.
    P1M,
    /// One year (the default of `plan --term`).
    #[default]
    P1Y,
    /// Three years.
    P3Y,
}

impl Term {
    pub const ALL: [Term; 3] = [Term::P1M, Term::P1Y, Term::P3Y];

    /// The ISO 8601 duration as the plan file and carts write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Term::P1M => "P1M",
            Term::P1Y => "P1Y",
            Term::P3Y => "P3Y",
        }
    }
}

impl std::fmt::Display for Term {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Term {
    type Err = String;

    /// The canonical forms `P1M`, `P1Y`, `P3Y` in any case (the input module reads
    /// the other spellings of DESIGN §3).
    fn from_str(s: &str) -> Result<Term, String> {
        Term::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("{s:?} is not a term: use P1M, P1Y or P3Y"))
    }
}

/// A new-commerce billing frequency (carts write it in lower case).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Billing {
    /// Billed every month (the default of `plan --billing`).
    #[default]
    Monthly,
    /// Billed once a year.
    Annual,
    /// Billed once for three years.
    Triennial,
}

impl Billing {
    pub const ALL: [Billing; 3] = [Billing::Monthly, Billing::Annual, Billing::Triennial];

    pub fn as_str(self) -> &'static str {
        match self {
            Billing::Monthly => "monthly",
            Billing::Annual => "annual",
            Billing::Triennial => "triennial",
        }
    }
}

impl std::fmt::Display for Billing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Billing {
    type Err = String;

    /// The canonical forms `monthly`, `annual`, `triennial` in any case.
    fn from_str(s: &str) -> Result<Billing, String> {
        Billing::ALL
            .into_iter()
            .find(|b| b.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                format!("{s:?} is not a billing frequency: use monthly, annual or triennial")
            })
    }
}

/// Whether new commerce sells `term` billed `billing`: a billing period never longer
/// than the term (`P1M` monthly only; `P1Y` monthly or annual; `P3Y` monthly, annual or
/// triennial; partner-center-api.md §10.1, §11).
pub fn sells(term: Term, billing: Billing) -> bool {
    match term {
        Term::P1M => billing == Billing::Monthly,
        Term::P1Y => matches!(billing, Billing::Monthly | Billing::Annual),
        Term::P3Y => true,
    }
}

/// The message for a combination [`sells`] refuses.
pub fn unsold_message(term: Term, billing: Billing) -> String {
    let allowed: Vec<&str> = Billing::ALL
        .into_iter()
        .filter(|b| sells(term, *b))
        .map(Billing::as_str)
        .collect();
    format!(
        "new commerce does not sell the term {term} billed {billing}: {term} is billed {}",
        allowed.join(" or ")
    )
}

/// A date as `YYYY-MM-DD`, as chrono writes it, without the formatting machinery (a
/// million-line plan writes some five million dates); `None` for a year outside
/// 0..=9999, which chrono writes with a sign.
pub(crate) fn iso_date(d: NaiveDate) -> Option<[u8; 10]> {
    use chrono::Datelike;
    let (y, m, day) = (d.year(), d.month(), d.day());
    let y = u32::try_from(y).ok().filter(|y| *y <= 9999)?;
    let digit = |n: u32| b'0' + (n % 10) as u8;
    Some([
        digit(y / 1000),
        digit(y / 100),
        digit(y / 10),
        digit(y),
        b'-',
        digit(m / 10),
        digit(m),
        b'-',
        digit(day / 10),
        digit(day),
    ])
}

/// Serialises a date as [`iso_date`] writes it (chrono's own form for other years).
fn date<S: serde::Serializer>(d: &NaiveDate, s: S) -> Result<S::Ok, S::Error> {
    match iso_date(*d) {
        Some(text) => s.serialize_str(std::str::from_utf8(&text).expect("ASCII digits")),
        None => s.collect_str(d),
    }
}

fn date_opt<S: serde::Serializer>(d: &Option<NaiveDate>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => date(d, s),
        None => s.serialize_none(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LicenseAction {
    /// Same offer: the new seats join the same license pool, nobody is touched.
    None,
    /// Different offer: every user's license moves from `from_sku` to `to_sku`.
    Reassign,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OriginalAction {
    /// Cancelling early is never advised: cancellations are not refunded.
    LetExpire,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// `c{customer}-t{task}`, both 1-based, in the order of the customer's tasks.
    pub id: String,
    pub kind: TaskKind,
    #[serde(serialize_with = "date")]
    pub due: NaiveDate,
    pub depends_on: Vec<String>,
    pub line_rows: Vec<u64>,
    /// Ids of the lines this task covers (unambiguous when several inputs are merged).
    #[serde(default)]
    pub line_ids: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    RequestRelationship,
    Provision,
    DisableAutoRenew,
    ReassignLicenses,
    LetExpire,
}

/// Warnings keep a line in the plan but ask a person to look (DESIGN §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WarningCode {
    /// No end date: provisioned on acceptance.
    NoExpiry,
    /// The original already ended: service may be interrupted.
    Expired,
    /// The original ends within `lead_days`: provisioned at once.
    ExpiresSoon,
    /// The original renews by itself unless auto-renew is turned off.
    AutoRenewOn,
    /// The catalog (built in, or extended by `--catalog`) does not know the product.
    OfferNotInCatalog,
    /// Seats outside the catalog's min/max quantity for the target offer.
    QuantityOutOfRange,
    /// More licenses assigned than seats bought.
    AssignedExceedsSeats,
    /// One customer key, two different names or domains.
    ConflictingCustomer,
    /// The customer ID cell was not a GUID; the row was planned by its domain.
    InvalidCustomerId,
    /// The catalog knows no new-commerce product for the licence: the target is the
    /// current offer itself (the product may be end of sale; see channel transfers).
    NoNewCommerceOffer,
    /// The licence SKU of the current or the target offer is not known: offers were
    /// compared by text.
    SkuUnknown,
    /// More licences to reassign than target seats bought: the reassignment cannot
    /// finish (`licenses_to_reassign - target_seats` more seats are needed).
    TargetSeatsBelowAssigned,
    /// Another line of the customer holds users on the same old licence SKU: the users
    /// of that SKU are shared between the lines.
    SharedLicensePool,
    /// The product name belongs to several licences and none is the one new commerce
    /// sells: name the part number or `skuId` instead.
    AmbiguousProduct,
}

impl WarningCode {
    pub const ALL: [WarningCode; 14] = [
        WarningCode::NoExpiry,
        WarningCode::Expired,
        WarningCode::ExpiresSoon,
        WarningCode::AutoRenewOn,
        WarningCode::OfferNotInCatalog,
        WarningCode::QuantityOutOfRange,
        WarningCode::AssignedExceedsSeats,
        WarningCode::ConflictingCustomer,
        WarningCode::InvalidCustomerId,
        WarningCode::NoNewCommerceOffer,
        WarningCode::SkuUnknown,
        WarningCode::TargetSeatsBelowAssigned,
        WarningCode::SharedLicensePool,
        WarningCode::AmbiguousProduct,
    ];

    /// The code as it appears in the plan file (`NO_EXPIRY`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            WarningCode::NoExpiry => "NO_EXPIRY",
            WarningCode::Expired => "EXPIRED",
            WarningCode::ExpiresSoon => "EXPIRES_SOON",
            WarningCode::AutoRenewOn => "AUTO_RENEW_ON",
            WarningCode::OfferNotInCatalog => "OFFER_NOT_IN_CATALOG",
            WarningCode::QuantityOutOfRange => "QUANTITY_OUT_OF_RANGE",
            WarningCode::AssignedExceedsSeats => "ASSIGNED_EXCEEDS_SEATS",
            WarningCode::ConflictingCustomer => "CONFLICTING_CUSTOMER",
            WarningCode::InvalidCustomerId => "INVALID_CUSTOMER_ID",
            WarningCode::NoNewCommerceOffer => "NO_NEW_COMMERCE_OFFER",
            WarningCode::SkuUnknown => "SKU_UNKNOWN",
            WarningCode::TargetSeatsBelowAssigned => "TARGET_SEATS_BELOW_ASSIGNED",
            WarningCode::SharedLicensePool => "SHARED_LICENSE_POOL",
            WarningCode::AmbiguousProduct => "AMBIGUOUS_PRODUCT",
        }
    }
}

/// A row that was not planned, with everything a person needs to fix it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rejection {
    /// The input path as given.
    pub input: String,
    /// The row number the user sees in the spreadsheet.
    pub row: u64,
    /// The column header as it appears in the file; `None` for whole-row problems.
    pub column: Option<String>,
    pub value: Option<String>,
    pub code: RejectCode,
    /// An English sentence; reports translate by `code`.
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RejectCode {
    /// Neither a valid customer ID (GUID) nor a domain.
    MissingCustomer,
    /// No current offer.
    MissingOffer,
    /// Seats empty, not a whole number, or not > 0.
    InvalidSeats,
    /// Assigned not a whole number >= 0.
    InvalidAssigned,
    /// Target seats not a whole number > 0.
    InvalidTargetSeats,
    /// A date cell that is not a date.
    InvalidDate,
    /// Day and month cannot be told apart and the file does not settle it.
    AmbiguousDate,
    /// A yes/no cell (auto renew, relationship) that is neither.
    InvalidBoolean,
    /// Bytes that do not decode in the file's encoding.
    InvalidEncoding,
    /// A row identical to an earlier one in every mapped field.
    DuplicateRow,
    /// A row of a subscription listed before with other values.
    ConflictingSubscription,
    /// A term that is not P1M, P1Y or P3Y (in any of the forms of DESIGN §3).
    InvalidTerm,
    /// A billing frequency that is not monthly, annual or triennial, or one that new
    /// commerce does not sell with the line's term.
    InvalidBilling,
}

impl RejectCode {
    pub const ALL: [RejectCode; 13] = [
        RejectCode::MissingCustomer,
        RejectCode::MissingOffer,
        RejectCode::InvalidSeats,
        RejectCode::InvalidAssigned,
        RejectCode::InvalidTargetSeats,
        RejectCode::InvalidDate,
        RejectCode::AmbiguousDate,
        RejectCode::InvalidBoolean,
        RejectCode::InvalidEncoding,
        RejectCode::DuplicateRow,
        RejectCode::ConflictingSubscription,
        RejectCode::InvalidTerm,
        RejectCode::InvalidBilling,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RejectCode::MissingCustomer => "MISSING_CUSTOMER",
            RejectCode::MissingOffer => "MISSING_OFFER",
            RejectCode::InvalidSeats => "INVALID_SEATS",
            RejectCode::InvalidAssigned => "INVALID_ASSIGNED",
            RejectCode::InvalidTargetSeats => "INVALID_TARGET_SEATS",
            RejectCode::InvalidDate => "INVALID_DATE",
            RejectCode::AmbiguousDate => "AMBIGUOUS_DATE",
            RejectCode::InvalidBoolean => "INVALID_BOOLEAN",
            RejectCode::InvalidEncoding => "INVALID_ENCODING",
            RejectCode::DuplicateRow => "DUPLICATE_ROW",
            RejectCode::ConflictingSubscription => "CONFLICTING_SUBSCRIPTION",
            RejectCode::InvalidTerm => "INVALID_TERM",
            RejectCode::InvalidBilling => "INVALID_BILLING",
        }
    }
}

impl Plan {
    /// Reads a plan file held in memory and checks its schema tag (through
    /// [`PlanReader`], so it refuses what every command refuses).
    pub fn from_json_slice(bytes: &[u8]) -> Result<Plan, PlanFileError> {
        Ok(PlanReader::new(bytes)?.read_all()?.0)
    }

    /// Reads and checks a whole plan file from disk. Commands that can work customer by
    /// customer use [`PlanReader`] instead.
    pub fn read(path: &std::path::Path) -> Result<Plan, PlanFileError> {
        Ok(PlanReader::open(path)?.read_all()?.0)
    }

    /// All lines with their customer, in plan order.
    pub fn lines(&self) -> impl Iterator<Item = (&Customer, &Line)> {
        self.customers
            .iter()
            .flat_map(|c| c.lines.iter().map(move |l| (c, l)))
    }
}

#[cfg(test)]
mod date_tests {
    use super::*;

    #[test]
    fn dates_serialise_as_chrono_writes_them() {
        #[derive(Serialize)]
        struct Ours {
            #[serde(serialize_with = "date")]
            d: NaiveDate,
            #[serde(serialize_with = "date_opt")]
            o: Option<NaiveDate>,
        }
        #[derive(Serialize)]
        struct Chrono {
            d: NaiveDate,
            o: Option<NaiveDate>,
        }
        let mut days = vec![
            NaiveDate::MIN,
            NaiveDate::MAX,
            NaiveDate::from_ymd_opt(0, 1, 1).unwrap(),
            NaiveDate::from_ymd_opt(-1, 12, 31).unwrap(),
            NaiveDate::from_ymd_opt(9999, 12, 31).unwrap(),
            NaiveDate::from_ymd_opt(10000, 1, 1).unwrap(),
            NaiveDate::from_ymd_opt(7, 3, 9).unwrap(),
        ];
        let start = NaiveDate::from_ymd_opt(1999, 12, 25).unwrap();
        days.extend((0..12_000).map(|n| start + chrono::Duration::days(n)));
        for d in days {
            for o in [None, Some(d)] {
                assert_eq!(
                    serde_json::to_string(&Ours { d, o }).unwrap(),
                    serde_json::to_string(&Chrono { d, o }).unwrap()
                );
            }
        }
    }
}

/// Why a plan file cannot be read. [`Plan::read`] and [`PlanReader::open`] name the file
/// ([`PlanFileError::InFile`]). A cause (an I/O or JSON error) is the error's `source`,
/// not part of its text, so a chain printed with `{:#}` says it once.
#[derive(Debug, thiserror::Error)]
pub enum PlanFileError {
    /// The error below, in the plan file at `path`.
    #[error("{}", .path.display())]
    InFile {
        path: std::path::PathBuf,
        #[source]
        source: Box<PlanFileError>,
    },
    #[error("cannot read the plan file")]
    Io(#[source] std::io::Error),
    #[error("not a cspmove plan file")]
    Json(#[source] serde_json::Error),
    #[error("not a cspmove plan file: line {line}: {message}")]
    Syntax { line: u64, message: String },
    #[error("not a cspmove plan file: {what} (line {line})")]
    Value {
        what: String,
        line: u64,
        #[source]
        source: serde_json::Error,
    },
    #[error("the plan file is broken at customer {n} (line {line}); re-run `cspmove plan`")]
    Customer {
        n: u64,
        line: u64,
        #[source]
        source: serde_json::Error,
    },
    #[error("not a complete cspmove plan file: {0} is missing")]
    Missing(&'static str),
    #[error(
        "the plan file is incomplete: it ends {0}. It was cut short (a copy or a `cspmove plan` \
         that did not finish?); nothing was read from it: re-run `cspmove plan` or copy it again"
    )]
    Truncated(String),
    #[error("plan schema is {0:?}, this cspmove reads \"{SCHEMA}\": re-run `cspmove plan`")]
    Schema(String),
    /// The path leads (through `link_to`, when it is a symlink) to something that is not
    /// a regular file; it was not opened.
    #[error(
        "{}is {kind}, not a plan file (give the file `cspmove plan` wrote)",
        .link_to.as_ref().map(|t| format!("is a link to {}, which ", t.display())).unwrap_or_default()
    )]
    NotRegular {
        link_to: Option<std::path::PathBuf>,
        /// As "a FIFO (named pipe)", "a directory".
        kind: &'static str,
    },
}

impl PlanFileError {
    /// This error, naming the plan file at `path` (once: an error that names a file
    /// already is returned as it is).
    pub fn in_file(self, path: &std::path::Path) -> PlanFileError {
        match self {
            PlanFileError::InFile { .. } => self,
            other => PlanFileError::InFile {
                path: path.to_path_buf(),
                source: Box::new(other),
            },
        }
    }

    /// The plan file the error names, if any.
    pub fn path(&self) -> Option<&std::path::Path> {
        match self {
            PlanFileError::InFile { path, .. } => Some(path),
            _ => None,
        }
    }
}

#[cfg(test)]
mod term_tests {
    use super::*;

    #[test]
    fn new_commerce_sells_billing_periods_no_longer_than_the_term() {
        use Billing::*;
        let sold: Vec<(Term, Billing)> = Term::ALL
            .into_iter()
            .flat_map(|t| Billing::ALL.into_iter().map(move |b| (t, b)))
            .filter(|&(t, b)| sells(t, b))
            .collect();
        assert_eq!(
            sold,
            vec![
                (Term::P1M, Monthly),
                (Term::P1Y, Monthly),
                (Term::P1Y, Annual),
                (Term::P3Y, Monthly),
                (Term::P3Y, Annual),
                (Term::P3Y, Triennial),
            ]
        );
        assert_eq!(
            unsold_message(Term::P1M, Annual),
            "new commerce does not sell the term P1M billed annual: P1M is billed monthly"
        );
    }

    #[test]
    fn canonical_forms_round_trip() {
        for t in Term::ALL {
            assert_eq!(t.to_string().parse::<Term>(), Ok(t));
            assert_eq!(serde_json::to_string(&t).unwrap(), format!("\"{t}\""));
        }
        for b in Billing::ALL {
            assert_eq!(b.to_string().to_uppercase().parse::<Billing>(), Ok(b));
            assert_eq!(serde_json::to_string(&b).unwrap(), format!("\"{b}\""));
        }
        assert!("P2Y".parse::<Term>().is_err());
        assert!("weekly".parse::<Billing>().is_err());
    }
}
