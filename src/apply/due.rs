//! Which lines of a customer a run works on, and by which purchase path: written once
//! and used by the real run and by `--dry-run`, so the dry run lists exactly what a run
//! would buy and move.
//!
//! The main decision is the purchase path of a line, read from its target alone: a
//! new-commerce `PRODUCT:SKU` item goes through a cart (the default of DESIGN §5), a
//! legacy offer GUID through `POST …/orders` (only a plan that names a legacy offer gets
//! there, and Partner Center refuses most such purchases since 2022), and a line without
//! a target ID is a plan error that buys nothing.

use super::status::{Progress, is_due};
use crate::model::{Customer, LicenseAction, Line};

/// What one customer has to do in this run.
#[derive(Debug)]
pub struct CustomerWork<'a> {
    /// Due lines not yet provisioned.
    pub due: Vec<&'a Line>,
    /// Lines whose licences still have to move, once their seats are bought.
    pub reassign: Vec<&'a Line>,
}

impl CustomerWork<'_> {
    /// Whether the run has anything to do for this customer (purchases pending a
    /// reconciliation count too).
    pub fn is_empty(&self, progress: &Progress) -> bool {
        self.due.is_empty() && self.reassign.is_empty() && progress.pending.is_empty()
    }
}

/// The due lines and pending licence moves of `c`, given what the journal knows.
pub fn select<'a>(
    c: &'a Customer,
    p: &Progress,
    today: chrono::NaiveDate,
    now: bool,
) -> CustomerWork<'a> {
    let due: Vec<&Line> = c
        .lines
        .iter()
        .filter(|l| !p.provisioned.contains_key(&l.id) && is_due(l, today, now))
        .collect();
    let reassign = c
        .lines
        .iter()
        .filter(|l| {
            l.license_action == LicenseAction::Reassign
                && !p.reassigned.contains(&l.id)
                && (p.provisioned.contains_key(&l.id) || due.iter().any(|d| d.id == l.id))
        })
        .collect();
    CustomerWork { due, reassign }
}

/// How a line is bought.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    /// A new-commerce `PRODUCT:SKU` item: cart and checkout.
    Cart,
    /// A legacy offer GUID: `POST /v1/customers/{id}/orders`.
    Order,
    /// A legacy add-on: a PATCH of its base subscription's order.
    AddOn,
    /// No target offer ID: nothing can be bought.
    Missing,
}

/// Whether a catalog ID is a new-commerce item (`PRODUCT:SKU[:AVAILABILITY]`).
pub fn is_new_commerce(offer_id: &str) -> bool {
    offer_id.contains(':')
}

/// The purchase path of `line`; `is_addon` says whether a legacy offer is an add-on.
pub fn path(line: &Line, is_addon: impl Fn(&str) -> bool) -> Path {
    match line.target_offer_id.as_deref() {
        None => Path::Missing,
        Some(id) if is_new_commerce(id) => Path::Cart,
        Some(id) if is_addon(id) => Path::AddOn,
        Some(_) => Path::Order,
    }
}

/// Due lines split by purchase path, each group in plan order.
#[derive(Debug, Default)]
pub struct Groups<'a> {
    pub missing: Vec<&'a Line>,
    pub order: Vec<&'a Line>,
    pub addons: Vec<&'a Line>,
    pub cart: Vec<&'a Line>,
}

pub fn group<'a>(lines: &[&'a Line], is_addon: impl Fn(&str) -> bool) -> Groups<'a> {
    let mut g = Groups::default();
    for l in lines {
        match path(l, &is_addon) {
            Path::Missing => g.missing.push(l),
            Path::Order => g.order.push(l),
            Path::AddOn => g.addons.push(l),
            Path::Cart => g.cart.push(l),
        }
    }
    g
}
