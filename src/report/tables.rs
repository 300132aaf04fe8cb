//! The tables every report is drawn from: which columns a reviewer sees, in which order,
//! with typed cells.
//!
//! A cell is text, a whole number or a date, so that the spreadsheet writers can write
//! real numbers and real dates while every piece of text (which may come from the input)
//! goes through one neutralising path. Labels and codes are translated here; dates stay
//! dates until a renderer formats them. Wave and expiry counts are computed from the
//! lines themselves, so a report always agrees with the rows it shows.

use std::borrow::Cow;
use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};

use crate::i18n::Texts;
use crate::model::{
    Customer, InputInfo, LicenseAction, Line, Plan, Rejection, Relationship, WarningCode,
};

#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Int(u64),
    Date(NaiveDate),
    Empty,
}

impl Cell {
    fn text(value: impl Into<String>) -> Cell {
        Cell::Text(value.into())
    }

    fn opt_text(value: Option<&str>) -> Cell {
        match value {
            Some(v) if !v.is_empty() => Cell::Text(v.to_string()),
            _ => Cell::Empty,
        }
    }

    /// The cell, borrowed.
    pub fn borrowed(&self) -> CellRef<'_> {
        match self {
            Cell::Text(s) => CellRef::Text(Cow::Borrowed(s)),
            Cell::Int(n) => CellRef::Int(*n),
            Cell::Date(d) => CellRef::Date(*d),
            Cell::Empty => CellRef::Empty,
        }
    }

    /// The cell as plain text in `t`'s language (numbers with separators when `grouped`).
    pub fn display(&self, t: &Texts, grouped: bool) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Int(n) if grouped => t.number(*n),
            Cell::Int(n) => n.to_string(),
            Cell::Date(d) => t.date(*d),
            Cell::Empty => String::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Number,
    Date,
}

#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// Translation key of the header.
    pub key: &'static str,
    pub kind: Kind,
}

const fn col(key: &'static str, kind: Kind) -> Column {
    Column { key, kind }
}

#[derive(Debug, Clone)]
pub struct Table {
    /// Stable identifier (`moves`, `tasks`, ...), used for HTML ids and tests.
    pub id: &'static str,
    /// The XLSX sheet name: fixed in every language so that scripts can find it.
    pub sheet: &'static str,
    /// Translation key of the heading.
    pub heading: &'static str,
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Cell>>,
}

pub const MOVE_COLUMNS: [Column; 23] = [
    col("col.customer_name", Kind::Text),
    col("col.customer_id", Kind::Text),
    col("col.domain", Kind::Text),
    col("col.country", Kind::Text),
    col("col.relationship", Kind::Text),
    col("col.input", Kind::Text),
    col("col.row", Kind::Number),
    col("col.program", Kind::Text),
    col("col.subscription_id", Kind::Text),
    col("col.current_offer", Kind::Text),
    col("col.target_offer", Kind::Text),
    col("col.target_offer_id", Kind::Text),
    col("col.seats", Kind::Number),
    col("col.target_seats", Kind::Number),
    col("col.term", Kind::Text),
    col("col.billing", Kind::Text),
    col("col.license_action", Kind::Text),
    col("col.licenses_to_reassign", Kind::Number),
    col("col.expires_on", Kind::Date),
    col("col.auto_renew", Kind::Text),
    col("col.provision_on", Kind::Date),
    col("col.wave", Kind::Text),
    col("col.warnings", Kind::Text),
];

/// The four tables after the summary, in the order every report shows them, as their
/// rows come customer by customer from the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    Moves,
    Tasks,
    Reassignments,
    Rejected,
}

impl Which {
    pub const ALL: [Which; 4] = [
        Which::Moves,
        Which::Tasks,
        Which::Reassignments,
        Which::Rejected,
    ];

    /// An empty table of this kind.
    pub fn table(self) -> Table {
        let (id, sheet, heading, columns): (_, _, _, &[Column]) = match self {
            Which::Moves => ("moves", "Moves", "heading.moves", &MOVE_COLUMNS),
            Which::Tasks => ("tasks", "Tasks", "heading.tasks", &TASK_COLUMNS),
            Which::Reassignments => (
                "reassignments",
                "Reassignments",
                "heading.reassignments",
                &REASSIGNMENT_COLUMNS,
            ),
            Which::Rejected => (
                "rejected",
                "Rejected",
                "heading.rejected",
                &REJECTED_COLUMNS,
            ),
        };
        Table {
            id,
            sheet,
            heading,
            columns: columns.to_vec(),
            rows: Vec::new(),
        }
    }
}

/// A cell borrowed from the plan or the texts: what the renderers that write every row
/// as it comes (`.csv`, `.xlsx`) take, so a row costs no allocation per cell.
#[derive(Debug, Clone, PartialEq)]
pub enum CellRef<'a> {
    Text(Cow<'a, str>),
    Int(u64),
    Date(NaiveDate),
    Empty,
}

impl<'a> CellRef<'a> {
    fn text(value: &'a str) -> CellRef<'a> {
        CellRef::Text(Cow::Borrowed(value))
    }

    fn opt_text(value: Option<&'a str>) -> CellRef<'a> {
        match value {
            Some(v) if !v.is_empty() => CellRef::text(v),
            _ => CellRef::Empty,
        }
    }

    /// The owned cell.
    pub fn into_cell(self) -> Cell {
        match self {
            CellRef::Text(s) => Cell::Text(s.into_owned()),
            CellRef::Int(n) => Cell::Int(n),
            CellRef::Date(d) => Cell::Date(d),
            CellRef::Empty => Cell::Empty,
        }
    }
}

/// The Moves row of one line.
pub fn move_row(inputs: &[InputInfo], customer: &Customer, line: &Line, t: &Texts) -> Vec<Cell> {
    move_cells(inputs, customer, line, t)
        .into_iter()
        .map(CellRef::into_cell)
        .collect()
}

/// The Moves row of one line, borrowed.
pub fn move_cells<'a>(
    inputs: &'a [InputInfo],
    customer: &'a Customer,
    line: &'a Line,
    t: &'a Texts,
) -> [CellRef<'a>; MOVE_COLUMNS.len()] {
    let input = inputs.get(line.input).map(|i| i.path.as_str());
    let warnings = match line.warnings.as_slice() {
        [] => CellRef::Empty,
        [one] => CellRef::Text(line_warning(*one, line, t)),
        many => CellRef::Text(Cow::Owned(warning_list(many, line, t))),
    };
    [
        CellRef::opt_text(customer.name.as_deref()),
        CellRef::opt_text(customer.customer_id.as_deref()),
        CellRef::opt_text(customer.domain.as_deref()),
        CellRef::opt_text(customer.country.as_deref()),
        CellRef::text(t.relationship(customer.relationship)),
        CellRef::opt_text(input),
        CellRef::Int(line.row),
        CellRef::opt_text(line.program.as_deref()),
        CellRef::opt_text(line.subscription_id.as_deref()),
        CellRef::text(&line.current_offer),
        CellRef::text(&line.target_offer),
        CellRef::opt_text(line.target_offer_id.as_deref()),
        CellRef::Int(line.seats),
        CellRef::Int(line.target_seats),
        CellRef::text(line.term.as_str()),
        CellRef::text(line.billing.as_str()),
        CellRef::text(
            if line.license_action == LicenseAction::None && !line.same_offer {
                t.get("value.license_action.same_license")
            } else {
                t.license_action(line.license_action)
            },
        ),
        CellRef::Int(line.licenses_to_reassign),
        line.expires_on.map_or(CellRef::Empty, CellRef::Date),
        CellRef::opt_text(Some(t.yes_no(line.auto_renew))),
        CellRef::Date(line.provision_on),
        CellRef::text(&line.wave),
        warnings,
    ]
}

/// Whether a line is one a reviewer must look at: it carries a warning or its users'
/// licences are reassigned.
pub fn needs_review(line: &Line) -> bool {
    !line.warnings.is_empty() || line.license_action == LicenseAction::Reassign
}

const TASK_COLUMNS: [Column; 8] = [
    col("col.customer_name", Kind::Text),
    col("col.customer_key", Kind::Text),
    col("col.task_id", Kind::Text),
    col("col.task", Kind::Text),
    col("col.description", Kind::Text),
    col("col.due", Kind::Date),
    col("col.depends_on", Kind::Text),
    col("col.rows", Kind::Text),
];

const REASSIGNMENT_COLUMNS: [Column; 10] = [
    col("col.customer_name", Kind::Text),
    col("col.customer_key", Kind::Text),
    col("col.row", Kind::Number),
    col("col.current_offer", Kind::Text),
    col("col.target_offer", Kind::Text),
    col("col.from_sku", Kind::Text),
    col("col.to_sku", Kind::Text),
    col("col.licenses_to_reassign", Kind::Number),
    col("col.provision_on", Kind::Date),
    col("col.wave", Kind::Text),
];

const REJECTED_COLUMNS: [Column; 6] = [
    col("col.input", Kind::Text),
    col("col.row", Kind::Number),
    col("col.column", Kind::Text),
    col("col.value", Kind::Text),
    col("col.code", Kind::Text),
    col("col.reason", Kind::Text),
];

fn warning_list(codes: &[WarningCode], line: &Line, t: &Texts) -> String {
    codes
        .iter()
        .map(|c| line_warning(*c, line, t))
        .collect::<Vec<_>>()
        .join("; ")
}

/// A warning as a line's Warnings cell says it: with the line's own figures where they
/// tell what to do (how many seats are missing), else the warning's text.
pub fn line_warning<'a>(code: WarningCode, line: &Line, t: &'a Texts) -> Cow<'a, str> {
    match code {
        WarningCode::TargetSeatsBelowAssigned if line.licenses_to_reassign > line.target_seats => {
            let missing = line.licenses_to_reassign - line.target_seats;
            Cow::Owned(t.fill(
                "warning_line.TARGET_SEATS_BELOW_ASSIGNED",
                &[("missing", &t.number(missing))],
            ))
        }
        other => Cow::Borrowed(t.warning(other)),
    }
}

/// What names a customer in a table: its ID, else its domain (the plan's key).
fn customer_key(customer: &Customer) -> Cell {
    Cell::text(
        customer
            .customer_id
            .as_deref()
            .or(customer.domain.as_deref())
            .unwrap_or(&customer.key),
    )
}

fn join_rows(rows: &[u64]) -> String {
    rows.iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A customer's Tasks rows in due order; tasks due the same day keep the planner's
/// order, which already puts a dependency before what depends on it.
pub fn task_rows(customer: &Customer, t: &Texts) -> Vec<Vec<Cell>> {
    let mut tasks: Vec<_> = customer.tasks.iter().collect();
    tasks.sort_by_key(|task| task.due);
    tasks
        .into_iter()
        .map(|task| {
            let line_rows = join_rows(&task.line_rows);
            vec![
                Cell::opt_text(customer.name.as_deref()),
                customer_key(customer),
                Cell::text(&task.id),
                Cell::text(t.task(task.kind)),
                Cell::text(t.task_description(task.kind, &line_rows)),
                Cell::Date(task.due),
                Cell::opt_text(Some(&task.depends_on.join(", "))),
                Cell::opt_text(Some(&line_rows)),
            ]
        })
        .collect()
}

/// The Reassignments row of a line whose offer changes, `None` for other lines.
pub fn reassignment_row(customer: &Customer, line: &Line) -> Option<Vec<Cell>> {
    (line.license_action == LicenseAction::Reassign).then(|| {
        vec![
            Cell::opt_text(customer.name.as_deref()),
            customer_key(customer),
            Cell::Int(line.row),
            Cell::text(&line.current_offer),
            Cell::text(&line.target_offer),
            Cell::opt_text(line.from_sku.as_deref()),
            Cell::opt_text(line.to_sku.as_deref()),
            Cell::Int(line.licenses_to_reassign),
            Cell::Date(line.provision_on),
            Cell::text(&line.wave),
        ]
    })
}

/// A rejected row with the reason in the report's language.
pub fn rejected_row(r: &Rejection, t: &Texts) -> Vec<Cell> {
    vec![
        Cell::text(&r.input),
        Cell::Int(r.row),
        Cell::opt_text(r.column.as_deref()),
        Cell::opt_text(r.value.as_deref()),
        Cell::text(r.code.as_str()),
        Cell::text(t.rejection(r.code, r.row, r.column.as_deref(), r.value.as_deref())),
    ]
}

/// Every table of a plan held in memory, whole (for tests and small plans).
pub fn all(plan: &Plan, t: &Texts) -> Vec<Table> {
    let mut tables: Vec<Table> = Which::ALL.iter().map(|w| w.table()).collect();
    for customer in &plan.customers {
        for line in &customer.lines {
            tables[0]
                .rows
                .push(move_row(&plan.inputs, customer, line, t));
        }
        tables[1].rows.extend(task_rows(customer, t));
        for line in &customer.lines {
            tables[2].rows.extend(reassignment_row(customer, line));
        }
    }
    tables[3].rows = plan.rejected.iter().map(|r| rejected_row(r, t)).collect();
    tables
}

/// A table that keeps at most `cap` of the rows it is shown: the rows a reviewer must
/// look at first (in plan order), then the others in plan order; it counts them all.
pub struct Kept {
    table: Table,
    cap: usize,
    seen: u64,
    review: Vec<(u64, Vec<Cell>)>,
    plain: Vec<(u64, Vec<Cell>)>,
}

impl Kept {
    pub fn new(table: Table, cap: usize) -> Kept {
        Kept {
            table,
            cap,
            seen: 0,
            review: Vec::new(),
            plain: Vec::new(),
        }
    }

    /// Whether a row of this kind would still be kept.
    pub fn wants(&self, review: bool) -> bool {
        if review {
            self.review.len() < self.cap
        } else {
            self.plain.len() < self.cap
        }
    }

    /// Counts `n` rows that are not kept (not even built).
    pub fn skip(&mut self, n: u64) {
        self.seen += n;
    }

    /// Counts a row and keeps it (building it only then) if there is room.
    pub fn push(&mut self, review: bool, row: impl FnOnce() -> Vec<Cell>) {
        let seq = self.seen;
        self.seen += 1;
        if self.wants(review) {
            let kept = if review {
                &mut self.review
            } else {
                &mut self.plain
            };
            kept.push((seq, row()));
        }
    }

    /// The table with the rows kept, in plan order, and how many rows it was shown.
    pub fn into_table(self) -> (Table, u64) {
        let Kept {
            mut table,
            cap,
            seen,
            review,
            mut plain,
        } = self;
        plain.truncate(cap.saturating_sub(review.len()));
        let mut rows: Vec<(u64, Vec<Cell>)> = review.into_iter().chain(plain).collect();
        rows.sort_unstable_by_key(|(seq, _)| *seq);
        table.rows = rows.into_iter().map(|(_, row)| row).collect();
        (table, seen)
    }
}

/// Figures for the summary, counted from the plan's lines.
#[derive(Debug, Clone, Default)]
pub struct Figures {
    pub customers: u64,
    pub lines: u64,
    pub same_offer: u64,
    /// Lines to another offer granting the same licence (no licence change).
    pub same_license: u64,
    pub reassign: u64,
    pub seats: u64,
    pub licenses_to_reassign: u64,
    pub tasks: u64,
    pub relationship_requests: u64,
    pub rejected_rows: u64,
    pub lines_with_warnings: u64,
    /// Per wave (`YYYY-MM`): lines, same offer, reassignment.
    pub waves: BTreeMap<String, (u64, u64, u64)>,
    pub warnings: BTreeMap<WarningCode, u64>,
    /// Lines whose original expires in each month (`YYYY-MM`).
    pub expiries: BTreeMap<String, u64>,
    pub no_expiry: u64,
}

impl Figures {
    pub fn of(plan: &Plan) -> Figures {
        let mut f = Figures::default();
        for customer in &plan.customers {
            f.add_customer(customer, customer.tasks.len() as u64);
        }
        for _ in &plan.rejected {
            f.add_rejection();
        }
        f
    }

    /// Counts one customer, its lines and its `tasks` tasks (its `tasks` list may have
    /// been only counted by a reader that needed no task).
    pub fn add_customer(&mut self, customer: &Customer, tasks: u64) {
        let f = self;
        f.customers += 1;
        f.tasks += tasks;
        if customer.relationship == Relationship::Request {
            f.relationship_requests += 1;
        }
        for line in &customer.lines {
            f.lines += 1;
            f.seats += line.target_seats;
            f.licenses_to_reassign += line.licenses_to_reassign;
            let wave = match f.waves.get_mut(&line.wave) {
                Some(wave) => wave,
                None => f.waves.entry(line.wave.clone()).or_default(),
            };
            wave.0 += 1;
            if line.license_action == LicenseAction::Reassign {
                f.reassign += 1;
                wave.2 += 1;
            } else {
                if line.same_offer {
                    f.same_offer += 1;
                } else {
                    f.same_license += 1;
                }
                wave.1 += 1;
            }
            if !line.warnings.is_empty() {
                f.lines_with_warnings += 1;
            }
            for code in &line.warnings {
                *f.warnings.entry(*code).or_default() += 1;
            }
            match line.expires_on {
                Some(d) => {
                    let month = match d.year() {
                        y @ 0..=9999 => format!("{y:04}-{:02}", d.month()),
                        _ => d.format("%Y-%m").to_string(),
                    };
                    *f.expiries.entry(month).or_default() += 1
                }
                None => f.no_expiry += 1,
            }
        }
    }

    pub fn add_rejection(&mut self) {
        self.rejected_rows += 1;
    }

    /// The headline figures as (translation key, value) in display order.
    pub fn items(&self) -> Vec<(&'static str, u64)> {
        vec![
            ("summary.customers", self.customers),
            ("summary.lines", self.lines),
            ("summary.same_offer", self.same_offer),
            ("summary.same_license", self.same_license),
            ("summary.reassign", self.reassign),
            ("summary.seats", self.seats),
            ("summary.licenses_to_reassign", self.licenses_to_reassign),
            ("summary.relationship_requests", self.relationship_requests),
            ("summary.tasks", self.tasks),
            ("summary.lines_with_warnings", self.lines_with_warnings),
            ("summary.rejected_rows", self.rejected_rows),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::{Lang, texts};

    #[test]
    fn a_line_short_of_target_seats_says_how_many_are_missing_in_every_language() {
        let plan = crate::report::demo::plan(400);
        let (c, line) = plan
            .lines()
            .find(|(_, l)| {
                l.warnings.contains(&WarningCode::TargetSeatsBelowAssigned)
                    && l.licenses_to_reassign > l.target_seats
            })
            .expect("a short line in the demo plan");
        assert_eq!(line.licenses_to_reassign - line.target_seats, 3);
        for (lang, want) in [
            (Lang::En, "buy 3 more seats"),
            (Lang::Ko, "사용자 수를 3개 더"),
            (Lang::Ja, "あと 3 シート追加"),
        ] {
            let t = texts(lang);
            let cells = move_cells(&plan.inputs, c, line, t);
            let CellRef::Text(text) = &cells[MOVE_COLUMNS.len() - 1] else {
                panic!("no warnings cell");
            };
            assert!(text.contains(want), "{lang:?}: {text}");
        }
        // Figures that do not show a shortage keep the warning's own text.
        let mut odd = line.clone();
        odd.target_seats = odd.licenses_to_reassign;
        let t = texts(Lang::En);
        assert_eq!(
            line_warning(WarningCode::TargetSeatsBelowAssigned, &odd, t),
            t.warning(WarningCode::TargetSeatsBelowAssigned)
        );
    }
}
