//! The per-line planning rules of DESIGN §5, as pure functions.
//!
//! Each rule takes the few values it needs and returns a value, so every edge (expiry
//! today, exactly `lead_days` away, expired yesterday, no date) has its own unit test.
//! [`decide_line`] applies them all to one row and [`materialise`] turns the decision
//! into the plan's [`Line`] ([`evaluate_line`] does both). Offer texts are resolved through a
//! [`Resolver`], a per-worker cache: exports repeat a handful of offer names a million
//! times, so each distinct text is normalised and looked up once per worker.

use foldhash::HashMap;

use chrono::{Datelike, Days, NaiveDate};

use crate::input::SourceRow;
use crate::model::{Billing, LicenseAction, Line, OriginalAction, Term, WarningCode};
use crate::plan::catalog::{Catalog, OfferMap};
use crate::plan::offer::{OfferId, offer_key};

/// When to provision a line, and the timing warning it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    pub provision_on: NaiveDate,
    pub warning: Option<WarningCode>,
}

/// `d = expires_on - as_of`: no date → at `as_of` (on acceptance) with `NO_EXPIRY`;
/// `d < 0` → at once with `EXPIRED`; `0 <= d <= lead_days` → at once with
/// `EXPIRES_SOON`; otherwise `expires_on - lead_days`.
pub fn timing(expires_on: Option<NaiveDate>, as_of: NaiveDate, lead_days: u32) -> Timing {
    let Some(expires_on) = expires_on else {
        return Timing {
            provision_on: as_of,
            warning: Some(WarningCode::NoExpiry),
        };
    };
    let d = (expires_on - as_of).num_days();
    if d < 0 {
        Timing {
            provision_on: as_of,
            warning: Some(WarningCode::Expired),
        }
    } else if d <= i64::from(lead_days) {
        Timing {
            provision_on: as_of,
            warning: Some(WarningCode::ExpiresSoon),
        }
    } else {
        Timing {
            provision_on: expires_on - Days::new(u64::from(lead_days)),
            warning: None,
        }
    }
}

/// The ISO month (`YYYY-MM`) of the provisioning date.
pub fn wave(provision_on: NaiveDate) -> String {
    format!("{:04}-{:02}", provision_on.year(), provision_on.month())
}

/// Due date of `disable_auto_renew`: the provisioning day, but never later than the day
/// before the original ends (with `--lead-days 0` provisioning falls on the end date
/// itself, too late to stop a renewal), and never before `as_of`.
pub fn disable_auto_renew_due(
    provision_on: NaiveDate,
    expires_on: Option<NaiveDate>,
    as_of: NaiveDate,
) -> NaiveDate {
    let day_before_end = expires_on.and_then(|e| e.pred_opt());
    let due = match day_before_end {
        Some(d) => provision_on.min(d),
        None => provision_on,
    };
    due.max(as_of)
}

/// Due date of `let_expire`: the original's end date, but never before the line is
/// provisioned (an expired or undated original is let go once the new seats exist).
pub fn let_expire_due(provision_on: NaiveDate, expires_on: Option<NaiveDate>) -> NaiveDate {
    expires_on.map_or(provision_on, |e| e.max(provision_on))
}

/// Licenses to move for a line: none for the same offer, else `assigned` when known,
/// else every seat.
pub fn licenses_to_reassign(same_offer: bool, assigned: Option<u64>, seats: u64) -> u64 {
    if same_offer {
        0
    } else {
        assigned.unwrap_or(seats)
    }
}

/// The offer to provision: `target_offer || offer_map[current_offer] || current_offer`.
pub fn target_text<'a>(
    target_offer: Option<&'a str>,
    mapped: Option<&'a str>,
    current_offer: &'a str,
) -> &'a str {
    target_offer
        .filter(|t| !t.trim().is_empty())
        .or(mapped)
        .unwrap_or(current_offer)
}

/// Same offer when both resolve in the catalog and their catalog IDs are equal; when
/// either does not resolve, when their [`offer_key`]s are equal.
pub fn same_offer<K: PartialEq + ?Sized>(
    current_catalog_id: Option<&str>,
    target_catalog_id: Option<&str>,
    current_key: &K,
    target_key: &K,
) -> bool {
    match (current_catalog_id, target_catalog_id) {
        (Some(c), Some(t)) => c == t,
        _ => current_key == target_key,
    }
}

/// One offer text as resolved for one country.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Resolved {
    /// Catalog entry index.
    catalog: Option<u32>,
    /// Interned [`offer_key`] of the text.
    key: u32,
}

/// Resolves offer texts against the catalog and the offer map, caching per text and
/// country. One per worker; results never depend on which worker resolved a text.
pub struct Resolver<'a> {
    catalog: Option<&'a Catalog>,
    offer_map: Option<&'a OfferMap>,
    /// Country ("" when none) → offer text → resolution.
    cache: HashMap<String, HashMap<String, Resolved>>,
    keys: HashMap<String, u32>,
    /// Offer-map target per current text and country ("" when none).
    mapped: HashMap<String, HashMap<String, Option<&'a str>>>,
}

impl<'a> Resolver<'a> {
    pub fn new(catalog: Option<&'a Catalog>, offer_map: Option<&'a OfferMap>) -> Resolver<'a> {
        Resolver {
            catalog,
            offer_map,
            cache: HashMap::default(),
            keys: HashMap::default(),
            mapped: HashMap::default(),
        }
    }

    fn resolve(&mut self, text: &str, country: Option<&str>) -> Resolved {
        let country_key = country.unwrap_or("");
        // Look up before inserting: `entry` would allocate the keys on every hit.
        if let Some(r) = self.cache.get(country_key).and_then(|m| m.get(text)) {
            return *r;
        }
        let catalog = self
            .catalog
            .and_then(|c| c.resolve_index(text, country))
            .map(|i| u32::try_from(i).expect("a catalog has fewer than 2^32 offers"));
        let key = offer_key(text);
        let next = self.keys.len() as u32;
        let key = *self.keys.entry(key).or_insert(next);
        let r = Resolved { catalog, key };
        self.cache
            .entry(country_key.to_string())
            .or_default()
            .insert(text.to_string(), r);
        r
    }

    fn mapped_target(&mut self, current: &str, country: Option<&str>) -> Option<&'a str> {
        let offer_map = self.offer_map?;
        if let Some(hit) = self
            .mapped
            .get(country.unwrap_or(""))
            .and_then(|m| m.get(current))
        {
            return *hit;
        }
        let catalog_id = self
            .resolve(current, country)
            .catalog
            .zip(self.catalog)
            .map(|(i, c)| c.offer(i as usize).offer_id.as_str());
        let target = offer_map.target_for(current, catalog_id);
        self.mapped
            .entry(country.unwrap_or("").to_string())
            .or_default()
            .insert(current.to_string(), target);
        target
    }
}

/// A set of [`WarningCode`]s, iterated in the codes' order (the order a line lists them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Warnings(u16);

impl Warnings {
    fn bit(code: WarningCode) -> u16 {
        let index = WarningCode::ALL
            .iter()
            .position(|&c| c == code)
            .expect("WarningCode::ALL lists every code");
        1 << index
    }

    pub fn insert(&mut self, code: WarningCode) {
        self.0 |= Warnings::bit(code);
    }

    pub fn contains(self, code: WarningCode) -> bool {
        self.0 & Warnings::bit(code) != 0
    }

    /// The codes in [`WarningCode`]'s order, which is the sorted order.
    pub fn iter(self) -> impl Iterator<Item = WarningCode> {
        WarningCode::ALL
            .into_iter()
            .enumerate()
            .filter(move |(i, _)| self.0 & (1 << i) != 0)
            .map(|(_, c)| c)
    }
}

/// Everything §5 decides about one line, without any of its text: what [`decide_line`]
/// works out and [`materialise`] turns into a [`Line`]. The planner decides every line
/// first (which gives the summary before any line is built, so the plan file can be
/// written front to back in one pass) and builds the lines afterwards from these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision<'a> {
    /// Catalog index of the current offer.
    current: Option<u32>,
    /// Catalog index of the target offer.
    target: Option<u32>,
    /// The offer map's target, when the row names no target of its own.
    mapped: Option<&'a str>,
    pub same_offer: bool,
    /// Current and target grant the same licence SKU (true whenever `same_offer` is).
    pub same_license: bool,
    pub provision_on: NaiveDate,
    pub term: Term,
    pub billing: Billing,
    pub warnings: Warnings,
}

impl Decision<'_> {
    pub fn license_action(&self) -> LicenseAction {
        if self.same_license {
            LicenseAction::None
        } else {
            LicenseAction::Reassign
        }
    }
}

fn row_target(row: &SourceRow) -> Option<&str> {
    row.target_offer.as_deref().filter(|t| !t.trim().is_empty())
}

/// What a line takes when its row does not say: the planning day and lead time, and the
/// term and billing of `--term`/`--billing`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineDefaults {
    pub as_of: NaiveDate,
    pub lead_days: u32,
    pub term: Term,
    pub billing: Billing,
}

/// Decides one row: its target, whether the offer stays the same, when to provision
/// and its line-level warnings. Customer-level warnings (`CONFLICTING_CUSTOMER`) are
/// added by the caller.
pub fn decide_line<'a>(
    row: &SourceRow,
    country: Option<&str>,
    resolver: &mut Resolver<'a>,
    defaults: &LineDefaults,
) -> Decision<'a> {
    let LineDefaults {
        as_of,
        lead_days,
        term,
        billing,
    } = *defaults;
    let mapped = match row_target(row) {
        Some(_) => None,
        None => resolver.mapped_target(&row.current_offer, country),
    };
    let target = target_text(row_target(row), mapped, &row.current_offer);
    let current_r = resolver.resolve(&row.current_offer, country);
    let target_r = if std::ptr::eq(target, row.current_offer.as_str()) {
        current_r
    } else {
        resolver.resolve(target, country)
    };
    let catalog = resolver.catalog;
    let entry = |r: Resolved| r.catalog.zip(catalog).map(|(i, c)| c.offer(i as usize));
    let (current_entry, target_entry) = (entry(current_r), entry(target_r));
    let same = same_offer(
        current_entry.map(|o| o.offer_id.as_str()),
        target_entry.map(|o| o.offer_id.as_str()),
        // Keys are interned per resolver, so comparing their numbers is comparing them.
        &current_r.key,
        &target_r.key,
    );
    let target_seats = row.target_seats.unwrap_or(row.seats);

    let when = timing(row.expires_on, as_of, lead_days);
    let mut warnings = Warnings::default();
    if let Some(w) = when.warning {
        warnings.insert(w);
    }
    if row.auto_renew == Some(true) {
        warnings.insert(WarningCode::AutoRenewOn);
    }
    if catalog.is_some() && (current_entry.is_none() || target_entry.is_none()) {
        warnings.insert(WarningCode::OfferNotInCatalog);
    }
    if target_entry.is_some_and(|o| !o.quantity_ok(target_seats)) {
        warnings.insert(WarningCode::QuantityOutOfRange);
    }
    if row.assigned.is_some_and(|a| a > row.seats) {
        warnings.insert(WarningCode::AssignedExceedsSeats);
    }
    if row.invalid_customer_id.is_some() {
        warnings.insert(WarningCode::InvalidCustomerId);
    }
    Decision {
        current: current_r.catalog,
        target: target_r.catalog,
        mapped,
        same_offer: same,
        same_license: same,
        provision_on: when.provision_on,
        term: row.term.unwrap_or(term),
        billing: row.billing.unwrap_or(billing),
        warnings,
    }
}

/// Builds the line of `row` as `decision` (made by [`decide_line`] for this row with
/// the same `catalog`) says. The line's `id` is left empty: it depends on the customer's
/// position, which the caller knows.
pub fn materialise(row: SourceRow, decision: &Decision<'_>, catalog: Option<&Catalog>) -> Line {
    let SourceRow {
        input,
        row,
        invalid_customer_id: _,
        program,
        current_offer,
        subscription_id,
        seats,
        assigned,
        expires_on,
        auto_renew,
        target_offer,
        target_seats,
        ..
    } = row;
    let entry = |i: Option<u32>| i.zip(catalog).map(|(i, c)| c.offer(i as usize));
    let (current_entry, target_entry) = (entry(decision.current), entry(decision.target));
    let target_offer = match target_offer.filter(|t| !t.trim().is_empty()) {
        Some(t) => t,
        None => match decision.mapped {
            Some(m) => m.to_string(),
            None => current_offer.clone(),
        },
    };
    let target_offer_id = match target_entry {
        Some(o) => Some(o.offer_id.clone()),
        None => OfferId::parse(&target_offer).map(|id| id.as_str().to_string()),
    };
    let same = decision.same_license;
    let (from_sku, to_sku) = if same {
        (None, None)
    } else {
        (
            current_entry.and_then(|o| o.sku_id.clone()),
            target_entry.and_then(|o| o.sku_id.clone()),
        )
    };
    Line {
        id: String::new(),
        input,
        row,
        current_offer_id: current_entry.map(|o| o.offer_id.clone()),
        current_offer,
        target_offer,
        target_offer_id,
        seats,
        target_seats: target_seats.unwrap_or(seats),
        same_offer: decision.same_offer,
        same_license: decision.same_license,
        license_action: decision.license_action(),
        licenses_to_reassign: licenses_to_reassign(same, assigned, seats),
        from_sku,
        to_sku,
        expires_on,
        provision_on: decision.provision_on,
        wave: wave(decision.provision_on),
        original_action: OriginalAction::LetExpire,
        subscription_id,
        program,
        assigned,
        auto_renew,
        term: decision.term,
        billing: decision.billing,
        warnings: decision.warnings.iter().collect(),
    }
}

/// Plans one row on its own: [`decide_line`], then [`materialise`].
pub fn evaluate_line(
    row: SourceRow,
    country: Option<&str>,
    resolver: &mut Resolver<'_>,
    defaults: &LineDefaults,
) -> Line {
    let decision = decide_line(&row, country, resolver, defaults);
    let catalog = resolver.catalog;
    materialise(row, &decision, catalog)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::input::CatalogEntry;

    pub(crate) fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    pub(crate) fn row(n: u64, customer: &str, offer: &str, seats: u64) -> SourceRow {
        SourceRow {
            input: 0,
            row: n,
            customer_id: Some(customer.to_string()),
            invalid_customer_id: None,
            domain: None,
            customer_name: None,
            contact_email: None,
            country: None,
            program: None,
            current_offer: offer.to_string(),
            current_offer_id: None,
            subscription_id: None,
            seats,
            assigned: None,
            expires_on: None,
            auto_renew: None,
            target_offer: None,
            target_seats: None,
            relationship_accepted: None,
            term: None,
            billing: None,
        }
    }

    const AS_OF: &str = "2026-11-21";

    pub(crate) fn defaults() -> LineDefaults {
        LineDefaults {
            as_of: d(AS_OF),
            lead_days: 7,
            term: Term::P1Y,
            billing: Billing::Monthly,
        }
    }

    #[test]
    fn timing_edges() {
        let as_of = d(AS_OF);
        let t = |e: Option<&str>| timing(e.map(d), as_of, 7);
        assert_eq!(
            t(None),
            Timing {
                provision_on: as_of,
                warning: Some(WarningCode::NoExpiry)
            }
        );
        // Expired yesterday.
        assert_eq!(
            t(Some("2026-11-20")),
            Timing {
                provision_on: as_of,
                warning: Some(WarningCode::Expired)
            }
        );
        // Expires today.
        assert_eq!(
            t(Some("2026-11-21")),
            Timing {
                provision_on: as_of,
                warning: Some(WarningCode::ExpiresSoon)
            }
        );
        // Exactly lead_days away: still at once.
        assert_eq!(
            t(Some("2026-11-28")),
            Timing {
                provision_on: as_of,
                warning: Some(WarningCode::ExpiresSoon)
            }
        );
        // lead_days + 1: scheduled, the day after as_of.
        assert_eq!(
            t(Some("2026-11-29")),
            Timing {
                provision_on: d("2026-11-22"),
                warning: None
            }
        );
        assert_eq!(
            timing(Some(d("2027-01-31")), as_of, 7).provision_on,
            d("2027-01-24")
        );
        // lead_days 0: provision on the end date itself.
        assert_eq!(
            timing(Some(d("2026-11-22")), as_of, 0),
            Timing {
                provision_on: d("2026-11-22"),
                warning: None
            }
        );
    }

    #[test]
    fn wave_is_the_iso_month() {
        assert_eq!(wave(d("2027-01-24")), "2027-01");
        assert_eq!(wave(d("2026-11-01")), "2026-11");
    }

    #[test]
    fn disable_auto_renew_due_dates() {
        let as_of = d(AS_OF);
        // Scheduled line: due the provisioning day.
        assert_eq!(
            disable_auto_renew_due(d("2027-01-24"), Some(d("2027-01-31")), as_of),
            d("2027-01-24")
        );
        // lead_days 0: the day before the end.
        assert_eq!(
            disable_auto_renew_due(d("2027-01-31"), Some(d("2027-01-31")), as_of),
            d("2027-01-30")
        );
        // Expires today or already expired: as soon as possible.
        assert_eq!(disable_auto_renew_due(as_of, Some(as_of), as_of), as_of);
        assert_eq!(
            disable_auto_renew_due(as_of, Some(d("2026-10-01")), as_of),
            as_of
        );
        assert_eq!(disable_auto_renew_due(as_of, None, as_of), as_of);
    }

    #[test]
    fn let_expire_never_before_provisioning() {
        assert_eq!(
            let_expire_due(d("2027-01-24"), Some(d("2027-01-31"))),
            d("2027-01-31")
        );
        assert_eq!(let_expire_due(d(AS_OF), Some(d("2026-10-01"))), d(AS_OF));
        assert_eq!(let_expire_due(d(AS_OF), None), d(AS_OF));
    }

    #[test]
    fn reassign_counts() {
        assert_eq!(licenses_to_reassign(true, Some(5), 10), 0);
        assert_eq!(licenses_to_reassign(false, Some(5), 10), 5);
        assert_eq!(licenses_to_reassign(false, None, 10), 10);
        assert_eq!(licenses_to_reassign(false, Some(12), 10), 12);
    }

    #[test]
    fn target_precedence() {
        assert_eq!(target_text(Some("A"), Some("B"), "C"), "A");
        assert_eq!(target_text(None, Some("B"), "C"), "B");
        assert_eq!(target_text(Some("  "), Some("B"), "C"), "B");
        assert_eq!(target_text(None, None, "C"), "C");
    }

    pub(crate) fn catalog() -> Catalog {
        let e = |id: &str, name: &str, sku: &str, max: u64| CatalogEntry {
            offer_id: id.into(),
            offer_name: name.into(),
            sku_id: Some(sku.into()),
            sku_part_number: None,
            min_quantity: Some(1),
            max_quantity: Some(max),
            country: None,
        };
        Catalog::new(vec![
            e(
                "796B6B5F-613C-4E24-A17C-EBA730D49C02",
                "Office 365 Enterprise E3",
                "6fd2c87f-b296-42f0-b197-1e91e994b900",
                10_000_000,
            ),
            e(
                "2B3B8D2D-10AA-4BE4-B5FD-7F2FEB0C3091",
                "Microsoft 365 E3",
                "05e9a617-0261-4cee-bb44-138d3ef5d965",
                10_000_000,
            ),
            e(
                "031C9E47-4802-4248-838E-778FB1D2CC05",
                "Office 365 Business Premium",
                "f245ecc8-75af-4f8e-b61f-27d8114de5f3",
                300,
            ),
        ])
    }

    fn eval(r: SourceRow, catalog: Option<&Catalog>, map: Option<&OfferMap>) -> Line {
        let mut resolver = Resolver::new(catalog, map);
        evaluate_line(r, None, &mut resolver, &defaults())
    }

    #[test]
    fn same_offer_by_text_without_catalog() {
        let mut r = row(2, "c", "Office 365 E3", 10);
        r.target_offer = Some("OFFICE 365  e3".into());
        let line = eval(r, None, None);
        assert!(line.same_offer);
        assert_eq!(line.license_action, LicenseAction::None);
        assert_eq!(line.licenses_to_reassign, 0);
        assert_eq!(line.target_offer, "OFFICE 365  e3");
        assert_eq!(line.target_offer_id, None);
        assert_eq!(line.warnings, vec![WarningCode::NoExpiry]);
    }

    #[test]
    fn catalog_id_equal_but_names_differ_is_the_same_offer() {
        let cat = catalog();
        let mut r = row(2, "c", "796b6b5f-613c-4e24-a17c-eba730d49c02", 10);
        r.target_offer = Some("Office 365 Enterprise E3".into());
        r.expires_on = Some(d("2027-01-31"));
        let line = eval(r, Some(&cat), None);
        assert!(line.same_offer);
        assert_eq!(
            line.target_offer_id.as_deref(),
            Some("796B6B5F-613C-4E24-A17C-EBA730D49C02")
        );
        assert_eq!(
            line.current_offer_id.as_deref(),
            Some("796B6B5F-613C-4E24-A17C-EBA730D49C02")
        );
        assert_eq!(line.from_sku, None);
        assert!(line.warnings.is_empty());
        assert_eq!(line.provision_on, d("2027-01-24"));
        assert_eq!(line.wave, "2027-01");
    }

    #[test]
    fn different_offer_reassigns_with_skus() {
        let cat = catalog();
        let mut r = row(2, "c", "Office 365 Enterprise E3", 10);
        r.target_offer = Some("Microsoft 365 E3".into());
        r.assigned = Some(8);
        let line = eval(r, Some(&cat), None);
        assert!(!line.same_offer);
        assert_eq!(line.license_action, LicenseAction::Reassign);
        assert_eq!(line.licenses_to_reassign, 8);
        assert_eq!(
            line.from_sku.as_deref(),
            Some("6fd2c87f-b296-42f0-b197-1e91e994b900")
        );
        assert_eq!(
            line.to_sku.as_deref(),
            Some("05e9a617-0261-4cee-bb44-138d3ef5d965")
        );
    }

    #[test]
    fn reassign_to_unknown_offer_has_no_sku_and_warns_with_catalog() {
        let cat = catalog();
        let mut r = row(2, "c", "Office 365 Enterprise E3", 10);
        r.target_offer = Some("Contoso Special".into());
        let line = eval(r, Some(&cat), None);
        assert_eq!(line.license_action, LicenseAction::Reassign);
        assert_eq!(line.licenses_to_reassign, 10);
        assert!(line.from_sku.is_some());
        assert_eq!(line.to_sku, None);
        assert_eq!(line.target_offer_id, None);
        assert!(line.warnings.contains(&WarningCode::OfferNotInCatalog));
        // Without a catalog the same row carries no catalog warning.
        let mut r = row(2, "c", "Office 365 Enterprise E3", 10);
        r.target_offer = Some("Contoso Special".into());
        let line = eval(r, None, None);
        assert!(!line.warnings.contains(&WarningCode::OfferNotInCatalog));
    }

    #[test]
    fn quantity_out_of_range_uses_target_seats() {
        let cat = catalog();
        let mut r = row(2, "c", "Office 365 Business Premium", 300);
        let line = eval(r.clone(), Some(&cat), None);
        assert!(!line.warnings.contains(&WarningCode::QuantityOutOfRange));
        r.target_seats = Some(301);
        let line = eval(r, Some(&cat), None);
        assert_eq!(line.target_seats, 301);
        assert!(line.warnings.contains(&WarningCode::QuantityOutOfRange));
    }

    #[test]
    fn assigned_above_seats_warns() {
        let mut r = row(2, "c", "E3", 10);
        r.assigned = Some(10);
        assert!(
            !eval(r.clone(), None, None)
                .warnings
                .contains(&WarningCode::AssignedExceedsSeats)
        );
        r.assigned = Some(11);
        assert!(
            eval(r, None, None)
                .warnings
                .contains(&WarningCode::AssignedExceedsSeats)
        );
    }

    #[test]
    fn auto_renew_on_and_off() {
        let mut r = row(2, "c", "E3", 10);
        r.expires_on = Some(d("2027-03-01"));
        r.auto_renew = Some(false);
        assert!(eval(r.clone(), None, None).warnings.is_empty());
        r.auto_renew = Some(true);
        assert_eq!(eval(r, None, None).warnings, vec![WarningCode::AutoRenewOn]);
    }

    #[test]
    fn offer_map_by_name_and_by_id() {
        let cat = catalog();
        let map = OfferMap::new(
            vec![crate::input::OfferMapEntry {
                from: "office 365 enterprise e3".into(),
                to: "Microsoft 365 E3".into(),
            }],
            Some(&cat),
        );
        let by_name = eval(
            row(2, "c", "Office 365 Enterprise E3", 5),
            Some(&cat),
            Some(&map),
        );
        assert_eq!(by_name.target_offer, "Microsoft 365 E3");
        assert!(!by_name.same_offer);
        let by_id = eval(
            row(3, "c", "796B6B5F-613C-4E24-A17C-EBA730D49C02", 5),
            Some(&cat),
            Some(&map),
        );
        assert_eq!(by_id.target_offer, "Microsoft 365 E3");
        assert_eq!(
            by_id.target_offer_id.as_deref(),
            Some("2B3B8D2D-10AA-4BE4-B5FD-7F2FEB0C3091")
        );
        // An explicit target wins over the map.
        let mut r = row(4, "c", "Office 365 Enterprise E3", 5);
        r.target_offer = Some("Office 365 Enterprise E3".into());
        let explicit = eval(r, Some(&cat), Some(&map));
        assert!(explicit.same_offer);
    }

    #[test]
    fn target_id_without_catalog_is_kept_when_it_looks_like_one() {
        let mut r = row(2, "c", "Office 365 E3", 5);
        r.target_offer = Some("cfq7ttc0lh18:0001:cfq7ttc0k971".into());
        let line = eval(r, None, None);
        assert_eq!(line.target_offer_id.as_deref(), Some("CFQ7TTC0LH18:0001"));
        assert!(!line.same_offer);
    }

    #[test]
    fn invalid_customer_id_warns() {
        let mut r = row(2, "c", "E3", 5);
        r.customer_id = None;
        r.domain = Some("contoso.com".into());
        r.invalid_customer_id = Some("not-a-guid".into());
        assert!(
            eval(r, None, None)
                .warnings
                .contains(&WarningCode::InvalidCustomerId)
        );
    }
}
