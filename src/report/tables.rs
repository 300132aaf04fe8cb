//! The tables every report is drawn from: which columns a reviewer sees, in which order,
//! with typed cells.
//!
//! A cell is text, a whole number or a date, so that the spreadsheet writers can write
//! real numbers and real dates while every piece of text (which may come from the input)
//! goes through one neutralising path. Labels and codes are translated here; dates stay
//! dates until a renderer formats them. Wave and expiry counts are computed from the
//! lines themselves, so a report always agrees with the rows it shows.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use crate::i18n::Texts;
use crate::model::{Customer, LicenseAction, Plan, Relationship, WarningCode};

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

    fn opt_date(value: Option<NaiveDate>) -> Cell {
        value.map(Cell::Date).unwrap_or(Cell::Empty)
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

/// One row per planned line, in plan order.
pub fn moves(plan: &Plan, t: &Texts) -> Table {
    let mut rows = Vec::with_capacity(plan.lines().count());
    for (customer, line) in plan.lines() {
        let input = plan.inputs.get(line.input).map(|i| i.path.as_str());
        rows.push(vec![
            Cell::opt_text(customer.name.as_deref()),
            Cell::opt_text(customer.customer_id.as_deref()),
            Cell::opt_text(customer.domain.as_deref()),
            Cell::opt_text(customer.country.as_deref()),
            Cell::text(t.relationship(customer.relationship)),
            Cell::opt_text(input),
            Cell::Int(line.row),
            Cell::opt_text(line.program.as_deref()),
            Cell::opt_text(line.subscription_id.as_deref()),
            Cell::text(&line.current_offer),
            Cell::text(&line.target_offer),
            Cell::opt_text(line.target_offer_id.as_deref()),
            Cell::Int(line.seats),
            Cell::Int(line.target_seats),
            Cell::text(line.term.as_str()),
            Cell::text(line.billing.as_str()),
            Cell::text(
                if line.license_action == LicenseAction::None && !line.same_offer {
                    t.get("value.license_action.same_license")
                } else {
                    t.license_action(line.license_action)
                },
            ),
            Cell::Int(line.licenses_to_reassign),
            Cell::opt_date(line.expires_on),
            Cell::opt_text(Some(t.yes_no(line.auto_renew))),
            Cell::Date(line.provision_on),
            Cell::text(&line.wave),
            Cell::opt_text(Some(&warning_list(&line.warnings, t))),
        ]);
    }
    Table {
        id: "moves",
        sheet: "Moves",
        heading: "heading.moves",
        columns: MOVE_COLUMNS.to_vec(),
        rows,
    }
}

fn warning_list(codes: &[WarningCode], t: &Texts) -> String {
    codes
        .iter()
        .map(|c| t.warning(*c))
        .collect::<Vec<_>>()
        .join("; ")
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

/// Per customer (in plan order) its tasks in due order; tasks due the same day keep the
/// planner's order, which already puts a dependency before what depends on it.
pub fn tasks(plan: &Plan, t: &Texts) -> Table {
    let mut rows = Vec::new();
    for customer in &plan.customers {
        let mut tasks: Vec<_> = customer.tasks.iter().collect();
        tasks.sort_by_key(|task| task.due);
        for task in tasks {
            let line_rows = join_rows(&task.line_rows);
            rows.push(vec![
                Cell::opt_text(customer.name.as_deref()),
                customer_key(customer),
                Cell::text(&task.id),
                Cell::text(t.task(task.kind)),
                Cell::text(t.task_description(task.kind, &line_rows)),
                Cell::Date(task.due),
                Cell::opt_text(Some(&task.depends_on.join(", "))),
                Cell::opt_text(Some(&line_rows)),
            ]);
        }
    }
    Table {
        id: "tasks",
        sheet: "Tasks",
        heading: "heading.tasks",
        columns: vec![
            col("col.customer_name", Kind::Text),
            col("col.customer_key", Kind::Text),
            col("col.task_id", Kind::Text),
            col("col.task", Kind::Text),
            col("col.description", Kind::Text),
            col("col.due", Kind::Date),
            col("col.depends_on", Kind::Text),
            col("col.rows", Kind::Text),
        ],
        rows,
    }
}

/// Lines whose offer changes, with the SKUs and the number of licenses to move.
pub fn reassignments(plan: &Plan, _t: &Texts) -> Table {
    let rows = plan
        .lines()
        .filter(|(_, line)| line.license_action == LicenseAction::Reassign)
        .map(|(customer, line)| {
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
        .collect();
    Table {
        id: "reassignments",
        sheet: "Reassignments",
        heading: "heading.reassignments",
        columns: vec![
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
        ],
        rows,
    }
}

/// Rejected rows with the reason in the report's language.
pub fn rejected(plan: &Plan, t: &Texts) -> Table {
    let rows = plan
        .rejected
        .iter()
        .map(|r| {
            vec![
                Cell::text(&r.input),
                Cell::Int(r.row),
                Cell::opt_text(r.column.as_deref()),
                Cell::opt_text(r.value.as_deref()),
                Cell::text(r.code.as_str()),
                Cell::text(t.rejection(r.code, r.row, r.column.as_deref(), r.value.as_deref())),
            ]
        })
        .collect();
    Table {
        id: "rejected",
        sheet: "Rejected",
        heading: "heading.rejected",
        columns: vec![
            col("col.input", Kind::Text),
            col("col.row", Kind::Number),
            col("col.column", Kind::Text),
            col("col.value", Kind::Text),
            col("col.code", Kind::Text),
            col("col.reason", Kind::Text),
        ],
        rows,
    }
}

/// The tables after the summary, in the order every report shows them.
pub fn all(plan: &Plan, t: &Texts) -> Vec<Table> {
    vec![
        moves(plan, t),
        tasks(plan, t),
        reassignments(plan, t),
        rejected(plan, t),
    ]
}

/// Figures for the summary, counted from the plan's lines.
#[derive(Debug, Clone, Default)]
pub struct Figures {
    pub customers: u64,
    pub lines: u64,
    pub same_offer: u64,
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
        let mut f = Figures {
            customers: plan.customers.len() as u64,
            rejected_rows: plan.rejected.len() as u64,
            ..Figures::default()
        };
        for customer in &plan.customers {
            f.tasks += customer.tasks.len() as u64;
            if customer.relationship == Relationship::Request {
                f.relationship_requests += 1;
            }
        }
        for (_, line) in plan.lines() {
            f.lines += 1;
            f.seats += line.target_seats;
            f.licenses_to_reassign += line.licenses_to_reassign;
            let wave = f.waves.entry(line.wave.clone()).or_default();
            wave.0 += 1;
            if line.license_action == LicenseAction::Reassign {
                f.reassign += 1;
                wave.2 += 1;
            } else {
                f.same_offer += 1;
                wave.1 += 1;
            }
            if !line.warnings.is_empty() {
                f.lines_with_warnings += 1;
            }
            for code in &line.warnings {
                *f.warnings.entry(*code).or_default() += 1;
            }
            match line.expires_on {
                Some(d) => *f.expiries.entry(d.format("%Y-%m").to_string()).or_default() += 1,
                None => f.no_expiry += 1,
            }
        }
        f
    }

    /// The headline figures as (translation key, value) in display order.
    pub fn items(&self) -> Vec<(&'static str, u64)> {
        vec![
            ("summary.customers", self.customers),
            ("summary.lines", self.lines),
            ("summary.same_offer", self.same_offer),
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
