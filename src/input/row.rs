//! One data row in, a [`SourceRow`] or a [`Rejection`] out.
//!
//! Rows are parsed independently (in parallel, see `csv.rs`), so everything a row needs
//! is in [`RowContext`]. The main decisions: a row is rejected with its *first* problem
//! in field order (customer, offer, seats, assigned, target seats, date, yes/no cells),
//! and the message of that rejection lists the other problems, so one fix-and-rerun
//! round is enough; entirely empty rows are skipped, never rejected; a customer ID that is
//! not a GUID does not reject a row that has a domain (the planner warns instead); and a
//! day/month-ambiguous date leaves the row *pending* until the whole column is known.

use chrono::NaiveDate;

use super::date::{DateRead, parse_date};
use super::header::{HeaderMap, header_key};
use super::value::{
    clean, is_canonical_guid, is_iso_country, normalize_country, parse_billing, parse_bool,
    parse_guid, parse_relationship, parse_term, parse_whole,
};
use std::borrow::Cow;

use super::compact::Texts;
use super::{DateOrder, Field, InputTable, SourceRow};
use crate::model::{Billing, InputInfo, RejectCode, Rejection, Term, sells, unsold_message};

/// Access to one row's cells by column index.
pub(crate) trait Cells {
    fn cell(&self, column: usize) -> Option<&str>;
    fn len(&self) -> usize;

    /// Every cell empty or blank: the row is skipped.
    fn is_blank(&self) -> bool {
        (0..self.len()).all(|c| self.cell(c).is_none_or(|s| s.trim().is_empty()))
    }
}

impl Cells for csv::ByteRecord {
    fn cell(&self, column: usize) -> Option<&str> {
        // The text was decoded to UTF-8 before parsing and fields split at ASCII bytes,
        // so every field is valid UTF-8.
        self.get(column).and_then(|b| std::str::from_utf8(b).ok())
    }
    fn len(&self) -> usize {
        csv::ByteRecord::len(self)
    }

    fn is_blank(&self) -> bool {
        // The fields concatenated trim to nothing exactly when every field does; a
        // visible ASCII byte (the usual case) settles it without decoding.
        let bytes = self.as_slice();
        if bytes
            .iter()
            .any(|b| b.is_ascii() && !b.is_ascii_whitespace())
        {
            return false;
        }
        std::str::from_utf8(bytes).is_ok_and(|s| s.trim().is_empty())
    }
}

impl<S: AsRef<str>> Cells for [S] {
    fn cell(&self, column: usize) -> Option<&str> {
        self.get(column).map(AsRef::as_ref)
    }
    fn len(&self) -> usize {
        <[S]>::len(self)
    }
}

/// What parsing rows of one table needs to know.
pub(crate) struct RowContext<'a> {
    pub path: &'a str,
    pub input: usize,
    pub map: &'a HeaderMap,
    pub date_order: Option<DateOrder>,
    /// What the rows showed that is worth a warning but keeps the row.
    pub notes: RowNotes,
}

/// Findings that keep the row, gathered from the parallel row parsers and logged once
/// per table (deterministically: counts, and the first row by number).
#[derive(Debug, Default)]
pub(crate) struct RowNotes(std::sync::Mutex<Notes>);

/// Rows, first row, and that row's two values.
type Disagreement = (u64, u64, String, String);

#[derive(Debug, Default)]
struct Notes {
    /// (field, chosen column, other column) → the disagreement.
    disagree: std::collections::BTreeMap<(usize, usize, usize), Disagreement>,
    /// Rows whose country is not an ISO 3166 alpha-2 code: (rows, first row, value).
    country: Option<(u64, u64, String)>,
}

impl RowNotes {
    fn with(&self, f: impl FnOnce(&mut Notes)) {
        let mut notes = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut notes);
    }

    fn disagree(&self, key: (usize, usize, usize), row: u64, a: &str, b: &str) {
        self.with(|n| {
            let e = n
                .disagree
                .entry(key)
                .or_insert_with(|| (0, row, a.to_string(), b.to_string()));
            e.0 += 1;
            if row < e.1 {
                *e = (e.0, row, a.to_string(), b.to_string());
            }
        });
    }

    fn country(&self, row: u64, value: &str) {
        self.with(|n| {
            let e = n.country.get_or_insert_with(|| (0, row, value.to_string()));
            e.0 += 1;
            if row < e.1 {
                *e = (e.0, row, value.to_string());
            }
        });
    }

    /// Logs the findings of the table read from `path` as warnings.
    pub(crate) fn log(&self, path: &str, map: &HeaderMap) {
        let notes = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let input = path;
        for (&(field, a, b), (rows, first, va, vb)) in &notes.disagree {
            let name = Field::ALL[field].as_str();
            tracing::warn!(
                input,
                "columns {:?} and {:?} both give {name} and differ in {rows} row(s) (first at row {first}: {va:?} and {vb:?}); {:?} is used: name the right column with --map {name}=HEADER",
                map.header(a),
                map.header(b),
                map.header(a),
            );
        }
        if let Some((rows, first, value)) = &notes.country {
            tracing::warn!(
                input,
                "{rows} row(s) have a country that is not an ISO 3166 alpha-2 code such as KR, JP or US (first at row {first}: {value:?}); it is kept as written"
            );
        }
    }
}

/// The outcome of one row.
// Not boxed: outcomes live only in a batch and are moved straight into the final row
// vector; a box per row would cost a million allocations on a big file.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(crate) enum RowOutcome {
    Blank,
    Row(SourceRow),
    /// Valid except that its date reads two ways; settled once the column is known.
    Pending {
        row: SourceRow,
        mdy: NaiveDate,
        dmy: NaiveDate,
        value: String,
    },
    Rejected(Rejection),
}

/// One thing wrong with a row.
struct Problem {
    code: RejectCode,
    column: Option<usize>,
    value: Option<String>,
    message: String,
}

impl RowContext<'_> {
    fn raw<'c>(&self, cells: &'c (impl Cells + ?Sized), field: Field) -> Option<(usize, &'c str)> {
        let column = self.map.column(field as usize)?;
        Some((column, cells.cell(column).unwrap_or("")))
    }

    /// The cleaned text of a field, `None` when the column is absent or the cell empty;
    /// borrowed from the cell when cleaning changes nothing.
    fn text_ref<'c>(&self, cells: &'c (impl Cells + ?Sized), field: Field) -> Option<Cow<'c, str>> {
        self.raw(cells, field).and_then(|(_, raw)| clean(raw))
    }

    pub(crate) fn rejection(
        &self,
        row: u64,
        column: Option<usize>,
        value: Option<String>,
        code: RejectCode,
        message: String,
    ) -> Rejection {
        Rejection {
            input: self.path.to_string(),
            row,
            column: column.map(|c| self.map.header(c).to_string()),
            value,
            code,
            message,
        }
    }

    /// Parses one row. Also returns which day/month order the row's date revealed.
    pub(crate) fn parse<C: Cells + ?Sized>(
        &self,
        cells: &C,
        row: u64,
    ) -> (RowOutcome, Option<DateOrder>) {
        if cells.is_blank() {
            return (RowOutcome::Blank, None);
        }
        let mut problems: Vec<Problem> = Vec::new();

        // Customer: a GUID, or a domain; a non-GUID ID is kept aside when a domain exists.
        // Texts already as the row keeps them are borrowed from the cell (most are):
        // at a million rows a copy of each would be millions of allocations.
        let domain = self.text_ref(cells, Field::Domain).map(crate::text::lower);
        let mut customer_id: Option<Cow<'_, str>> = None;
        let mut invalid_customer_id = None;
        match self.raw(cells, Field::CustomerId) {
            Some((column, raw)) if !raw.trim().is_empty() => {
                let cleaned = clean(raw).unwrap_or_default();
                let id = match cleaned {
                    Cow::Borrowed(text) if is_canonical_guid(text) => Some(Cow::Borrowed(text)),
                    cleaned => parse_guid(&cleaned).map(Cow::Owned),
                };
                match id {
                    Some(id) => customer_id = Some(id),
                    None if domain.is_some() => invalid_customer_id = Some(raw.trim().to_string()),
                    None => problems.push(Problem {
                        code: RejectCode::MissingCustomer,
                        column: Some(column),
                        value: Some(raw.trim().to_string()),
                        message: format!(
                            "{:?} is not a customer tenant ID (a GUID such as 0f5a3c1e-2b4d-4e6f-8a9b-1c2d3e4f5a6b) and the row has no domain: correct the ID or fill in the customer's primary domain",
                            raw.trim()
                        ),
                    }),
                }
            }
            _ => {
                if domain.is_none() {
                    let column = self
                        .map
                        .column(Field::CustomerId as usize)
                        .or(self.map.column(Field::Domain as usize));
                    problems.push(Problem {
                        code: RejectCode::MissingCustomer,
                        column,
                        value: None,
                        message: "the row has neither a customer tenant ID nor a domain: fill in the customer's Microsoft ID (a GUID) or primary domain".into(),
                    });
                }
            }
        }

        let offer_name = self.text_ref(cells, Field::CurrentOffer);
        let offer_id = self.text_ref(cells, Field::CurrentOfferId);
        let (current_offer, current_offer_id) = match (offer_name, offer_id) {
            (Some(name), id) => (Some(name), id),
            (None, id) => (id, None),
        };
        if current_offer.is_none() {
            problems.push(Problem {
                code: RejectCode::MissingOffer,
                column: self
                    .map
                    .column(Field::CurrentOffer as usize)
                    .or(self.map.column(Field::CurrentOfferId as usize)),
                value: None,
                message: "the row has no current offer: fill in the product the customer has today (name or offer ID)".into(),
            });
        }

        let seats = self.whole(
            cells,
            Field::Seats,
            1,
            RejectCode::InvalidSeats,
            "seats",
            &mut problems,
        );
        let assigned = self.whole(
            cells,
            Field::Assigned,
            0,
            RejectCode::InvalidAssigned,
            "assigned licenses",
            &mut problems,
        );
        let target_seats = self.whole(
            cells,
            Field::TargetSeats,
            1,
            RejectCode::InvalidTargetSeats,
            "target seats",
            &mut problems,
        );

        let mut expires_on = None;
        let mut evidence = None;
        let mut pending = None;
        if let Some((column, raw)) = self.raw(cells, Field::ExpiresOn)
            && let Some(text) = clean(raw)
        {
            match parse_date(&text, self.date_order) {
                DateRead::Date { date, order } => {
                    expires_on = Some(date);
                    evidence = order;
                }
                DateRead::Ambiguous { mdy, dmy } => pending = Some((mdy, dmy, raw.trim().to_string())),
                DateRead::Invalid(why) => problems.push(Problem {
                    code: RejectCode::InvalidDate,
                    column: Some(column),
                    value: Some(raw.trim().to_string()),
                    message: format!("{:?} {why}: write the end date as 2026-11-21 (or any form in docs/input-format.md)", raw.trim()),
                }),
            }
        }

        let auto_renew = self.yes_no(
            cells,
            Field::AutoRenew,
            parse_bool,
            "auto-renew",
            &mut problems,
        );
        let relationship_accepted = self.yes_no(
            cells,
            Field::Relationship,
            parse_relationship,
            "reseller relationship",
            &mut problems,
        );

        let (term, billing) = self.term_billing(cells, &mut problems);

        if !problems.is_empty() {
            let first = problems.remove(0);
            let mut message = first.message;
            if !problems.is_empty() {
                let others: Vec<String> = problems
                    .iter()
                    .map(|p| match p.column {
                        Some(c) => format!("column {:?}: {}", self.map.header(c), p.message),
                        None => p.message.clone(),
                    })
                    .collect();
                message.push_str(&format!(" (also: {})", others.join("; ")));
            }
            return (
                RowOutcome::Rejected(self.rejection(
                    row,
                    first.column,
                    first.value,
                    first.code,
                    message,
                )),
                evidence,
            );
        }

        for &(field, other) in &self.map.also {
            self.compare(cells, field, other, row);
        }
        let country = self.text_ref(cells, Field::Country).map(|c| {
            if c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()) {
                c
            } else {
                Cow::Owned(normalize_country(&c))
            }
        });
        if let Some(c) = &country
            && !is_iso_country(c)
        {
            self.notes.country(row, c);
        }
        // Texts that need no change are borrowed from the cell until the row is built.
        let customer_name = self.text_ref(cells, Field::CustomerName);
        let contact_email = self.text_ref(cells, Field::ContactEmail);
        let program = self.text_ref(cells, Field::Program);
        let subscription_id = self.text_ref(cells, Field::SubscriptionId);
        let target_offer = self.text_ref(cells, Field::TargetOffer);
        let texts = Texts {
            customer_id: customer_id.as_deref(),
            invalid_customer_id: invalid_customer_id.as_deref(),
            domain: domain.as_deref(),
            customer_name: customer_name.as_deref(),
            contact_email: contact_email.as_deref(),
            country: country.as_deref(),
            program: program.as_deref(),
            current_offer: current_offer.as_deref(),
            current_offer_id: current_offer_id.as_deref(),
            subscription_id: subscription_id.as_deref(),
            target_offer: target_offer.as_deref(),
        };
        let mut source = SourceRow::new(self.input, row, texts);
        source.seats = seats.unwrap_or_default();
        source.assigned = assigned;
        source.expires_on = expires_on;
        source.auto_renew = auto_renew;
        source.target_seats = target_seats;
        source.relationship_accepted = relationship_accepted;
        source.term = term;
        source.billing = billing;
        let outcome = match pending {
            Some((mdy, dmy, value)) => RowOutcome::Pending {
                row: source,
                mdy,
                dmy,
                value,
            },
            None => RowOutcome::Row(source),
        };
        (outcome, evidence)
    }

    /// The row's term and billing. A value that is not a term or a billing frequency,
    /// or a pair new commerce does not sell, is a problem. When the row gives one of
    /// them and only one value of the other is sold with it (`P1M` is billed monthly,
    /// triennial billing is for `P3Y`), that value is the row's; otherwise a missing
    /// one is left to `--term`/`--billing` (the planner checks that pair).
    fn term_billing<C: Cells + ?Sized>(
        &self,
        cells: &C,
        problems: &mut Vec<Problem>,
    ) -> (Option<Term>, Option<Billing>) {
        let read = |field: Field| {
            self.raw(cells, field)
                .and_then(|(column, raw)| clean(raw).map(|text| (column, raw, text)))
        };
        let mut term = None;
        if let Some((column, raw, text)) = read(Field::Term) {
            term = parse_term(&text);
            if term.is_none() {
                problems.push(Problem {
                    code: RejectCode::InvalidTerm,
                    column: Some(column),
                    value: Some(raw.trim().to_string()),
                    message: format!(
                        "{:?} is not a new-commerce term: write P1M, P1Y or P3Y (1 month, 1 year, 3 years; 1개월, 1년, 3년; 1か月, 1年, 3年)",
                        raw.trim()
                    ),
                });
            }
        }
        let mut billing = None;
        if let Some((column, raw, text)) = read(Field::Billing) {
            billing = parse_billing(&text);
            match (term, billing) {
                (_, None) => problems.push(Problem {
                    code: RejectCode::InvalidBilling,
                    column: Some(column),
                    value: Some(raw.trim().to_string()),
                    message: format!(
                        "{:?} is not a billing frequency: write monthly, annual or triennial (월별, 연간; 月払い, 年払い)",
                        raw.trim()
                    ),
                }),
                (Some(t), Some(b)) if !sells(t, b) => problems.push(Problem {
                    code: RejectCode::InvalidBilling,
                    column: Some(column),
                    value: Some(raw.trim().to_string()),
                    message: format!(
                        "{}: correct the term or the billing of the row",
                        unsold_message(t, b)
                    ),
                }),
                _ => {}
            }
        }
        match (term, billing) {
            (Some(Term::P1M), None) => billing = Some(Billing::Monthly),
            (None, Some(Billing::Triennial)) => term = Some(Term::P3Y),
            _ => {}
        }
        (term, billing)
    }

    /// Notes when column `other`, which also names `field`, holds another value than
    /// the column chosen for it (compared like headers: case, spaces, punctuation).
    fn compare<C: Cells + ?Sized>(&self, cells: &C, field: usize, other: usize, row: u64) {
        let Some(chosen) = self.map.column(field) else {
            return;
        };
        let (Some(a), Some(b)) = (
            cells.cell(chosen).and_then(clean),
            cells.cell(other).and_then(clean),
        ) else {
            return;
        };
        if a != b && header_key(&a) != header_key(&b) {
            self.notes.disagree((field, chosen, other), row, &a, &b);
        }
    }

    /// A whole-number cell ≥ `min`; seats (min 1) must be present, the others may be empty.
    fn whole<C: Cells + ?Sized>(
        &self,
        cells: &C,
        field: Field,
        min: u64,
        code: RejectCode,
        what: &str,
        problems: &mut Vec<Problem>,
    ) -> Option<u64> {
        let (column, raw) = self.raw(cells, field)?;
        let bound = if min == 0 {
            "0 or more"
        } else {
            "greater than 0"
        };
        let Some(text) = clean(raw) else {
            if field == Field::Seats {
                problems.push(Problem {
                    code,
                    column: Some(column),
                    value: None,
                    message: "seats is empty: fill in the number of licenses purchased (a whole number greater than 0)".into(),
                });
            }
            return None;
        };
        let reason = match parse_whole(&text) {
            Ok(n) if n >= min => return Some(n),
            Ok(_) => "is 0",
            Err(why) => why,
        };
        let mut message = format!(
            "{:?} {reason}: {what} must be a whole number {bound}",
            raw.trim()
        );
        if text.contains('.') && reason == "is not a whole number" {
            message.push_str(
                " (a '.' is read as a decimal point; write 1200 or 1,200 for twelve hundred)",
            );
        }
        problems.push(Problem {
            code,
            column: Some(column),
            value: Some(raw.trim().to_string()),
            message,
        });
        None
    }

    fn yes_no<C: Cells + ?Sized>(
        &self,
        cells: &C,
        field: Field,
        parse: fn(&str) -> Option<bool>,
        what: &str,
        problems: &mut Vec<Problem>,
    ) -> Option<bool> {
        let (column, raw) = self.raw(cells, field)?;
        let text = clean(raw)?;
        match parse(&text) {
            Some(b) => Some(b),
            None => {
                problems.push(Problem {
                    code: RejectCode::InvalidBoolean,
                    column: Some(column),
                    value: Some(raw.trim().to_string()),
                    message: format!(
                        "{:?} is not a yes/no value for {what}: write yes or no (예/아니요, はい/いいえ, true/false)",
                        raw.trim()
                    ),
                });
                None
            }
        }
    }
}

/// A row whose date waits for the column's day/month order.
struct Pending {
    /// Index into `Collector::rows`.
    index: usize,
    mdy: NaiveDate,
    dmy: NaiveDate,
    value: String,
}

/// Gathers row outcomes in input order into the final vectors, and settles
/// day/month-ambiguous dates once every row of the table has been seen.
#[derive(Default)]
pub(crate) struct Collector {
    pub rows: Vec<SourceRow>,
    pub rejected: Vec<Rejection>,
    pending: Vec<Pending>,
    /// First rows whose dates showed month-first / day-first.
    saw_mdy: Option<u64>,
    saw_dmy: Option<u64>,
    /// Non-blank data rows.
    pub data_rows: u64,
    /// Rows rejected for bytes that did not decode.
    pub bad_rows: u64,
}

impl Collector {
    pub(crate) fn push(&mut self, row: u64, outcome: RowOutcome, order: Option<DateOrder>) {
        match order {
            Some(DateOrder::Mdy) if self.saw_mdy.is_none() => self.saw_mdy = Some(row),
            Some(DateOrder::Dmy) if self.saw_dmy.is_none() => self.saw_dmy = Some(row),
            _ => {}
        }
        match outcome {
            RowOutcome::Blank => return,
            RowOutcome::Row(source) => self.rows.push(source),
            RowOutcome::Rejected(rejection) => {
                if rejection.code == RejectCode::InvalidEncoding {
                    self.bad_rows += 1;
                }
                self.rejected.push(rejection);
            }
            RowOutcome::Pending {
                row,
                mdy,
                dmy,
                value,
            } => {
                self.pending.push(Pending {
                    index: self.rows.len(),
                    mdy,
                    dmy,
                    value,
                });
                self.rows.push(row);
            }
        }
        self.data_rows += 1;
    }

    /// The table read from the input shown as `path`: [`Collector::finish`] with the
    /// input's description.
    pub(crate) fn into_table(
        self,
        ctx: &RowContext<'_>,
        path: &str,
        sha256: String,
        sheet: Option<String>,
    ) -> InputTable {
        let rows_read = self.data_rows;
        ctx.notes.log(path, ctx.map);
        let (rows, rejected) = self.finish(ctx);
        InputTable {
            info: InputInfo {
                path: path.to_string(),
                sha256,
                sheet,
                rows: rows_read,
            },
            rows,
            rejected,
        }
    }

    /// Settles pending dates; returns valid rows and rejections, both in row order.
    pub(crate) fn finish(mut self, ctx: &RowContext<'_>) -> (Vec<SourceRow>, Vec<Rejection>) {
        if self.pending.is_empty() {
            return (self.rows, self.rejected);
        }
        let column = ctx.map.column(Field::ExpiresOn as usize);
        let mut dropped = Vec::new();
        for p in std::mem::take(&mut self.pending) {
            match (self.saw_mdy, self.saw_dmy) {
                (Some(_), None) => self.rows[p.index].expires_on = Some(p.mdy),
                (None, Some(_)) => self.rows[p.index].expires_on = Some(p.dmy),
                (mdy_row, dmy_row) => {
                    let why = match (mdy_row, dmy_row) {
                        (Some(m), Some(d)) => format!(
                            "the column mixes month-first (row {m}) and day-first (row {d}) dates"
                        ),
                        _ => "no other date in the column settles whether the day or the month comes first".into(),
                    };
                    let (value, mdy, dmy) = (&p.value, p.mdy, p.dmy);
                    self.rejected.push(ctx.rejection(
                        self.rows[p.index].row,
                        column,
                        Some(value.clone()),
                        RejectCode::AmbiguousDate,
                        format!(
                            "{value:?} could be {mdy} (month first) or {dmy} (day first) and {why}: pass --date-order mdy or --date-order dmy, or write the date as YYYY-MM-DD"
                        ),
                    ));
                    dropped.push(p.index);
                }
            }
        }
        if !dropped.is_empty() {
            let mut index = 0;
            self.rows.retain(|_| {
                let keep = dropped.binary_search(&index).is_err();
                index += 1;
                keep
            });
            // Rows are unique within a table, so this restores row order.
            self.rejected.sort_by_key(|r| r.row);
        }
        (self.rows, self.rejected)
    }
}
