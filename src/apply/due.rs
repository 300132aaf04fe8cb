//! Which lines of a customer a run works on, and by which purchase path: written once
//! and used by the real run and by `--dry-run`, so the dry run lists exactly what a run
//! would buy and move.
//!
//! The main decision is the purchase path of a line, read from its target alone: a
//! new-commerce `PRODUCT:SKU` item goes through a cart (the default of DESIGN §5), a
//! legacy offer GUID through `POST …/orders` (only a plan that names a legacy offer gets
//! there, and Partner Center refuses most such purchases since 2022), and a line without
//! a target ID is a plan error that buys nothing.

use super::reason::Reason;
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Path {
    /// A new-commerce `PRODUCT:SKU` item: cart and checkout.
    Cart,
    /// A legacy offer GUID: `POST /v1/customers/{id}/orders`.
    Order,
    /// A legacy add-on: a PATCH of its base subscription's order.
    AddOn,
    /// No usable target (no offer ID, one that is neither a GUID nor `PRODUCT:SKU`, or
    /// no seats): nothing can be bought; the reason says why.
    Invalid(Reason),
}

/// Whether `text` is a GUID (`8-4-4-4-12` hex digits).
pub fn is_guid(text: &str) -> bool {
    text.len() == 36 && uuid::Uuid::try_parse(text).is_ok()
}

/// Whether `text` is a new-commerce catalog ID: `PRODUCT:SKU` or
/// `PRODUCT:SKU:AVAILABILITY`, each part letters and digits.
pub fn is_catalog_item(text: &str) -> bool {
    let parts: Vec<&str> = text.split(':').collect();
    (2..=3).contains(&parts.len())
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 32 && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Why a line cannot be bought as planned, if it cannot (as data: the run's journal and
/// the dry run say it in their language). Plan fields reach request paths and bodies,
/// so only the shapes Partner Center uses pass.
pub fn line_problem(line: &Line) -> Option<Reason> {
    let l = || line.id.clone();
    let Some(id) = line.target_offer_id.as_deref() else {
        return Some(Reason::NoTargetOfferId { line: l() });
    };
    if !is_guid(id) && !is_catalog_item(id) {
        return Some(Reason::BadTargetOfferId {
            line: l(),
            id: id.to_string(),
        });
    }
    if line.target_seats == 0 {
        return Some(Reason::NoSeats { line: l() });
    }
    for sku in [&line.from_sku, &line.to_sku].into_iter().flatten() {
        if !is_guid(sku) {
            return Some(Reason::SkuNotGuid {
                line: l(),
                sku: sku.clone(),
            });
        }
    }
    None
}

/// Whether a catalog ID is a new-commerce item (`PRODUCT:SKU[:AVAILABILITY]`).
pub fn is_new_commerce(offer_id: &str) -> bool {
    offer_id.contains(':')
}

/// The purchase path of `line`; `is_addon` says whether a legacy offer is an add-on.
pub fn path(line: &Line, is_addon: impl Fn(&str) -> bool) -> Path {
    if let Some(problem) = line_problem(line) {
        return Path::Invalid(problem);
    }
    match line.target_offer_id.as_deref() {
        None => Path::Invalid(Reason::NoTargetOfferId {
            line: line.id.clone(),
        }),
        Some(id) if is_new_commerce(id) => Path::Cart,
        Some(id) if is_addon(id) => Path::AddOn,
        Some(_) => Path::Order,
    }
}

/// Due lines split by purchase path, each group in plan order.
#[derive(Debug, Default)]
pub struct Groups<'a> {
    /// Lines that cannot be bought, with why.
    pub invalid: Vec<(&'a Line, Reason)>,
    pub order: Vec<&'a Line>,
    pub addons: Vec<&'a Line>,
    pub cart: Vec<&'a Line>,
}

pub fn group<'a>(lines: &[&'a Line], is_addon: impl Fn(&str) -> bool) -> Groups<'a> {
    let mut g = Groups::default();
    for l in lines {
        match path(l, &is_addon) {
            Path::Invalid(why) => g.invalid.push((l, why)),
            Path::Order => g.order.push(l),
            Path::AddOn => g.addons.push(l),
            Path::Cart => g.cart.push(l),
        }
    }
    g
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_id_shapes_partner_center_uses_pass() {
        assert!(is_guid("796B6B5F-613C-4E24-A17C-EBA730D49C02"));
        assert!(!is_guid("796B6B5F613C4E24A17CEBA730D49C02"));
        assert!(!is_guid("x/../../sandbox/clock?x="));
        assert!(is_catalog_item("CFQ7TTC0LFLX:0001"));
        assert!(is_catalog_item("CFQ7TTC0LFLX:0001:CFQ7TTC0LB30"));
        assert!(!is_catalog_item("CFQ7TTC0LFLX"));
        assert!(!is_catalog_item("CFQ7TTC0LFLX:../x"));
        assert!(!is_catalog_item("a:b:c:d"));
        let plan = crate::apply::testplan::plan_with(1, 1, 0);
        let mut l = plan.customers[0].lines[0].clone();
        assert_eq!(line_problem(&l), None);
        l.target_seats = 0;
        assert_eq!(
            line_problem(&l),
            Some(Reason::NoSeats { line: l.id.clone() })
        );
        l.target_seats = 5;
        l.target_offer_id = Some("x/../../sandbox/clock?x=".into());
        let en = crate::i18n::texts(crate::i18n::Lang::En);
        assert!(line_problem(&l).unwrap().text(en).contains("neither"));
        let mut r = plan.customers[1].lines[0].clone();
        r.to_sku = Some("../users".into());
        assert_eq!(
            line_problem(&r),
            Some(Reason::SkuNotGuid {
                line: r.id.clone(),
                sku: "../users".into()
            })
        );
        let ko = crate::i18n::texts(crate::i18n::Lang::Ko);
        assert!(
            line_problem(&r)
                .unwrap()
                .text(ko)
                .contains("GUID가 아닙니다")
        );
    }
}
