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

use crate::catalog::{Catalog, Hit, OfferId, OfferKind, OfferMap, Resolution, offer_key};
use crate::input::{SourceRow, Sym};
use crate::model::{Billing, LicenseAction, Line, OriginalAction, Term, WarningCode};

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

/// Licenses to move for a line: none for the same licence, else `assigned` when known,
/// else every seat.
pub fn licenses_to_reassign(same_license: bool, assigned: Option<u64>, seats: u64) -> u64 {
    if same_license {
        0
    } else {
        assigned.unwrap_or(seats)
    }
}

/// Whether a line moves between two offers of one product (DESIGN §5): both resolved
/// to the same product and offer; when either does not resolve, their texts' interned
/// [`offer_key`]s are equal.
pub fn same_offer(
    current: Resolution,
    target: Resolution,
    current_key: u32,
    target_key: u32,
) -> bool {
    match (current.hit(), target.hit()) {
        (Some(c), Some(t)) => c == t,
        _ => current_key == target_key,
    }
}

/// Whether users keep their licences: the same offer, or two offers of one product
/// (one licence SKU), such as a legacy offer and its new-commerce twin.
pub fn same_license(same_offer: bool, current: Resolution, target: Resolution) -> bool {
    same_offer
        || matches!((current.hit(), target.hit()), (Some(c), Some(t)) if c.product == t.product)
}

/// One offer text as resolved for one country.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Resolved {
    resolution: Resolution,
    /// Interned [`offer_key`] of the text.
    key: u32,
    /// The default target when this text is the current offer: the new-commerce
    /// offer of its product, when the catalog knows one.
    default: Option<Hit>,
}

/// A key no text interns to: the default target has no text of its own.
const NO_KEY: u32 = u32::MAX;

/// Resolves offer texts against the catalog and the offer map, caching per text and
/// country. One per worker; results never depend on which worker resolved a text.
pub struct Resolver<'a> {
    catalog: &'a Catalog,
    offer_map: Option<&'a OfferMap>,
    /// Country ("" when none) → offer text → resolution.
    cache: HashMap<String, HashMap<String, Resolved>>,
    keys: HashMap<String, u32>,
    /// Offer-map target per current text and country ("" when none).
    mapped: HashMap<String, HashMap<String, Option<Sym>>>,
}

impl<'a> Resolver<'a> {
    pub fn new(catalog: &'a Catalog, offer_map: Option<&'a OfferMap>) -> Resolver<'a> {
        Resolver {
            catalog,
            offer_map,
            cache: HashMap::default(),
            keys: HashMap::default(),
            mapped: HashMap::default(),
        }
    }

    pub fn catalog(&self) -> &'a Catalog {
        self.catalog
    }

    fn resolve(&mut self, text: &str, country: Option<&str>) -> Resolved {
        let country_key = country.unwrap_or("");
        // Look up before inserting: `entry` would allocate the keys on every hit.
        if let Some(r) = self.cache.get(country_key).and_then(|m| m.get(text)) {
            return *r;
        }
        let resolution = self.catalog.resolve(text, country);
        let default = resolution.hit().and_then(|hit| {
            let offer = self
                .catalog
                .product(hit.product)
                .new_commerce_index(country)?;
            Some(Hit {
                product: hit.product,
                offer: Some(offer as u32),
            })
        });
        let key = offer_key(text);
        let next = self.keys.len() as u32;
        let key = *self.keys.entry(key).or_insert(next);
        let r = Resolved {
            resolution,
            key,
            default,
        };
        self.cache
            .entry(country_key.to_string())
            .or_default()
            .insert(text.to_string(), r);
        r
    }

    /// The offer map's target for `current`, interned: a decision holds it as a 4-byte
    /// [`Sym`] rather than a 16-byte `&str` (a million decisions are held at once).
    fn mapped_target(&mut self, current: &str, country: Option<&str>) -> Option<Sym> {
        let offer_map = self.offer_map?;
        if let Some(hit) = self
            .mapped
            .get(country.unwrap_or(""))
            .and_then(|m| m.get(current))
        {
            return *hit;
        }
        let product = self
            .resolve(current, country)
            .resolution
            .hit()
            .map(|h| h.product);
        let target = offer_map.target_for(current, product).map(Sym::new);
        self.mapped
            .entry(country.unwrap_or("").to_string())
            .or_default()
            .insert(current.to_string(), target);
        target
    }
}

/// A set of [`WarningCode`]s, iterated in the codes' order (the order a line lists them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Warnings(u32);

impl Warnings {
    fn bit(code: WarningCode) -> u32 {
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

/// Where a line's target came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetSource {
    /// The row's own `target_offer`.
    Row,
    /// The offer map's `to` for the current offer.
    Mapped(Sym),
    /// The new-commerce offer granting the current offer's licence.
    NewCommerce,
    /// The current offer itself (no new-commerce offer known, or an unknown product).
    Current,
}

/// Everything §5 decides about one line, without any of its text: what [`decide_line`]
/// works out and [`materialise`] turns into a [`Line`]. The planner decides every line
/// first (which gives the summary before any line is built, so the plan file can be
/// written front to back in one pass) and builds the lines afterwards from these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub current: Resolution,
    pub target: Resolution,
    pub source: TargetSource,
    pub same_offer: bool,
    /// Current and target grant the same licence SKU (true whenever `same_offer` is).
    pub same_license: bool,
    pub provision_on: NaiveDate,
    pub term: Term,
    pub billing: Billing,
    pub warnings: Warnings,
}

impl Decision {
    /// A decision to be overwritten: what a vector of decisions is filled with before
    /// each line's own is written into its place.
    pub fn placeholder(as_of: NaiveDate) -> Self {
        Decision {
            current: Resolution::Unknown,
            target: Resolution::Unknown,
            source: TargetSource::Current,
            same_offer: false,
            same_license: false,
            provision_on: as_of,
            term: Term::P1Y,
            billing: Billing::Monthly,
            warnings: Warnings::default(),
        }
    }

    pub fn license_action(&self) -> LicenseAction {
        if self.same_license {
            LicenseAction::None
        } else {
            LicenseAction::Reassign
        }
    }

    /// The product whose licence users hold today, when the current offer resolved.
    pub fn current_product(&self) -> Option<u32> {
        self.current.hit().map(|h| h.product)
    }
}

fn row_target(row: &SourceRow) -> Option<&str> {
    row.target_offer().filter(|t| !t.trim().is_empty())
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

/// Decides one row: its target (`target_offer || offer_map[current] || the new-commerce
/// offer of the same licence || current`), whether offer and licence stay the same, when
/// to provision and its line-level warnings. Customer-level warnings
/// (`CONFLICTING_CUSTOMER`, `SHARED_LICENSE_POOL`) are added by the caller.
pub fn decide_line<'a>(
    row: &SourceRow,
    country: Option<&str>,
    resolver: &mut Resolver<'a>,
    defaults: &LineDefaults,
) -> Decision {
    let LineDefaults {
        as_of,
        lead_days,
        term,
        billing,
    } = *defaults;
    // An offer ID given beside the name (reconciliation files, PowerShell exports)
    // resolves without the doubts a name can have; the name is the fallback.
    let current = match row.current_offer_id() {
        Some(id) => match resolver.resolve(id, country) {
            by_id if by_id.resolution.hit().is_some() => by_id,
            _ => resolver.resolve(row.current_offer(), country),
        },
        None => resolver.resolve(row.current_offer(), country),
    };
    let (source, target) = match row_target(row) {
        Some(text) => (TargetSource::Row, resolver.resolve(text, country)),
        None => match resolver.mapped_target(row.current_offer(), country) {
            Some(to) => (
                TargetSource::Mapped(to),
                resolver.resolve(to.as_str(), country),
            ),
            None => match current.default {
                Some(hit) => (
                    TargetSource::NewCommerce,
                    Resolved {
                        resolution: Resolution::Found(hit),
                        key: NO_KEY,
                        default: Some(hit),
                    },
                ),
                None => (TargetSource::Current, current),
            },
        },
    };
    let catalog = resolver.catalog;
    let same = same_offer(
        current.resolution,
        target.resolution,
        current.key,
        target.key,
    );
    let same_lic = same_license(same, current.resolution, target.resolution);
    let target_seats = row.target_seats.unwrap_or(row.seats);

    let when = timing(row.expires_on, as_of, lead_days);
    let mut warnings = Warnings::default();
    if let Some(w) = when.warning {
        warnings.insert(w);
    }
    if row.auto_renew == Some(true) {
        warnings.insert(WarningCode::AutoRenewOn);
    }
    for r in [current.resolution, target.resolution] {
        match r {
            Resolution::Found(_) => {}
            Resolution::Ambiguous(_) => warnings.insert(WarningCode::AmbiguousProduct),
            Resolution::Unknown => warnings.insert(WarningCode::OfferNotInCatalog),
        }
    }
    let sku = |r: Resolution| {
        r.hit()
            .and_then(|h| catalog.product(h.product).sku_id.as_ref())
    };
    if sku(current.resolution).is_none() || sku(target.resolution).is_none() {
        warnings.insert(WarningCode::SkuUnknown);
    }
    if let Some(hit) = target.resolution.hit() {
        match catalog.offer(hit) {
            Some(offer) => {
                if offer.kind != OfferKind::NewCommerce {
                    warnings.insert(WarningCode::NoNewCommerceOffer);
                }
                if !offer.quantity_ok(target_seats) {
                    warnings.insert(WarningCode::QuantityOutOfRange);
                }
            }
            None => warnings.insert(WarningCode::NoNewCommerceOffer),
        }
    }
    if row.assigned.is_some_and(|a| a > row.seats) {
        warnings.insert(WarningCode::AssignedExceedsSeats);
    }
    if !same_lic && licenses_to_reassign(false, row.assigned, row.seats) > target_seats {
        warnings.insert(WarningCode::TargetSeatsBelowAssigned);
    }
    if row.invalid_customer_id().is_some() {
        warnings.insert(WarningCode::InvalidCustomerId);
    }
    Decision {
        current: current.resolution,
        target: target.resolution,
        source,
        same_offer: same,
        same_license: same_lic,
        provision_on: when.provision_on,
        term: row.term.unwrap_or(term),
        billing: row.billing.unwrap_or(billing),
        warnings,
    }
}

/// `SHARED_LICENSE_POOL` on the reassigning lines of one customer whose users hold a
/// licence another line of the customer also holds (DESIGN §5): the users of that SKU
/// are shared between the lines, and apply moves exactly `licenses_to_reassign` of them.
pub fn mark_shared_pools(decisions: &mut [Decision]) {
    if decisions.len() < 2 {
        return;
    }
    for i in 0..decisions.len() {
        if decisions[i].same_license {
            continue;
        }
        let Some(product) = decisions[i].current_product() else {
            continue;
        };
        let shared = decisions
            .iter()
            .enumerate()
            .any(|(j, d)| j != i && d.current_product() == Some(product));
        if shared {
            decisions[i].warnings.insert(WarningCode::SharedLicensePool);
        }
    }
}

/// A line as [`materialise`] builds it, with every text borrowed from its row or the
/// catalog (the line's id and `wave` are left to the writer): what the plan file's
/// writer serialises without building a [`Line`] (`plan::emit`).
#[derive(Debug, Clone)]
pub struct LineFacts<'a> {
    pub input: usize,
    pub row: u64,
    pub current_offer: &'a str,
    pub current_offer_id: Option<&'a str>,
    pub target_offer: &'a str,
    pub target_offer_id: Option<std::borrow::Cow<'a, str>>,
    pub seats: u64,
    pub target_seats: u64,
    pub same_offer: bool,
    pub same_license: bool,
    pub license_action: LicenseAction,
    pub licenses_to_reassign: u64,
    pub from_sku: Option<&'a str>,
    pub to_sku: Option<&'a str>,
    pub expires_on: Option<NaiveDate>,
    pub provision_on: NaiveDate,
    pub subscription_id: Option<crate::input::SubscriptionText<'a>>,
    pub program: Option<&'a str>,
    pub assigned: Option<u64>,
    pub auto_renew: Option<bool>,
    pub term: Term,
    pub billing: Billing,
    pub warnings: Warnings,
}

/// The facts of the line of `source` decided as `decision` (DESIGN §5's fields).
pub fn line_facts<'a>(
    source: &'a SourceRow,
    decision: &Decision,
    catalog: &'a Catalog,
) -> LineFacts<'a> {
    let SourceRow {
        input,
        row,
        seats,
        assigned,
        expires_on,
        auto_renew,
        target_seats,
        ..
    } = *source;
    let current_offer = source.current_offer();
    let current_hit = decision.current.hit();
    let target_hit = decision.target.hit();
    let target_offer: &'a str = match decision.source {
        TargetSource::Row => source.target_offer().unwrap_or_default(),
        TargetSource::Mapped(m) => m.as_str(),
        TargetSource::NewCommerce => target_hit
            .and_then(|h| catalog.offer(h))
            .map_or(current_offer, |o| o.name.as_str()),
        TargetSource::Current => current_offer,
    };
    let target_offer_id = match target_hit.and_then(|h| catalog.offer(h)) {
        Some(o) => Some(std::borrow::Cow::Borrowed(o.id.as_str())),
        None if target_hit.is_some() => None,
        None => OfferId::parse(target_offer).map(|id| match id {
            OfferId::Legacy(s) | OfferId::NewCommerce(s) => std::borrow::Cow::Owned(s),
        }),
    };
    let same = decision.same_license;
    let sku = |h: Option<Hit>| h.and_then(|h| catalog.product(h.product).sku_id.as_deref());
    let (from_sku, to_sku) = if same {
        (None, None)
    } else {
        (sku(current_hit), sku(target_hit))
    };
    LineFacts {
        input,
        row,
        current_offer_id: current_hit
            .and_then(|h| catalog.offer(h))
            .map(|o| o.id.as_str()),
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
        subscription_id: source.subscription_id(),
        program: source.program(),
        assigned,
        auto_renew,
        term: decision.term,
        billing: decision.billing,
        warnings: decision.warnings,
    }
}

impl LineFacts<'_> {
    /// The plan's line, with an empty id.
    pub fn to_line(&self) -> Line {
        let own = |s: Option<&str>| s.map(str::to_string);
        Line {
            id: String::new(),
            input: self.input,
            row: self.row,
            current_offer: self.current_offer.to_string(),
            current_offer_id: own(self.current_offer_id),
            target_offer: self.target_offer.to_string(),
            target_offer_id: self.target_offer_id.as_deref().map(str::to_string),
            seats: self.seats,
            target_seats: self.target_seats,
            same_offer: self.same_offer,
            same_license: self.same_license,
            license_action: self.license_action,
            licenses_to_reassign: self.licenses_to_reassign,
            from_sku: own(self.from_sku),
            to_sku: own(self.to_sku),
            expires_on: self.expires_on,
            provision_on: self.provision_on,
            wave: wave(self.provision_on),
            original_action: OriginalAction::LetExpire,
            subscription_id: own(self.subscription_id.as_deref()),
            program: own(self.program),
            assigned: self.assigned,
            auto_renew: self.auto_renew,
            term: self.term,
            billing: self.billing,
            warnings: self.warnings.iter().collect(),
        }
    }
}

/// The plan's [`Line`] for `source` decided as `decision`, with an empty id.
pub fn materialise(source: &SourceRow, decision: &Decision, catalog: &Catalog) -> Line {
    line_facts(source, decision, catalog).to_line()
}

/// Plans one row on its own: [`decide_line`], then [`materialise`].
pub fn evaluate_line(
    row: &SourceRow,
    country: Option<&str>,
    resolver: &mut Resolver<'_>,
    defaults: &LineDefaults,
) -> Line {
    let decision = decide_line(row, country, resolver, defaults);
    let catalog = resolver.catalog;
    materialise(row, &decision, catalog)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::input::RowValues;

    pub(crate) fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    pub(crate) fn row(n: u64, customer: &str, offer: &str, seats: u64) -> RowValues {
        RowValues {
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

    fn eval(r: RowValues, map: Option<&OfferMap>) -> Line {
        let mut resolver = Resolver::new(Catalog::builtin(), map);
        evaluate_line(&SourceRow::from(r), None, &mut resolver, &defaults())
    }

    const E3_SKU: &str = "6fd2c87f-b296-42f0-b197-1e91e994b900";
    const M365_E3_SKU: &str = "05e9a617-0261-4cee-bb44-138d3ef5d965";

    #[test]
    fn the_default_target_is_the_new_commerce_offer_of_the_same_licence() {
        // A legacy offer GUID: a different offer, the same licence.
        let mut r = row(2, "c", "796b6b5f-613c-4e24-a17c-eba730d49c02", 10);
        r.expires_on = Some(d("2027-01-31"));
        let line = eval(r, None);
        assert!(!line.same_offer);
        assert!(line.same_license);
        assert_eq!(line.license_action, LicenseAction::None);
        assert_eq!(line.licenses_to_reassign, 0);
        assert_eq!(line.target_offer, "Office 365 E3");
        assert_eq!(line.target_offer_id.as_deref(), Some("CFQ7TTC0LF8R:0001"));
        assert_eq!(
            line.current_offer_id.as_deref(),
            Some("796B6B5F-613C-4E24-A17C-EBA730D49C02")
        );
        assert_eq!((line.from_sku, line.to_sku), (None, None));
        assert!(line.warnings.is_empty(), "{:?}", line.warnings);
        assert_eq!(line.provision_on, d("2027-01-24"));
        // Today's display name: the new-commerce offer itself.
        let line = eval(row(3, "c", "Office 365 E3", 10), None);
        assert!(line.same_offer && line.same_license);
        assert_eq!(line.target_offer_id.as_deref(), Some("CFQ7TTC0LF8R:0001"));
    }

    #[test]
    fn an_upgrade_reassigns_from_the_old_sku_to_the_new() {
        let mut r = row(2, "c", "Office 365 Enterprise E3", 10);
        r.target_offer = Some("Microsoft 365 E3".into());
        r.assigned = Some(8);
        let line = eval(r, None);
        assert!(!line.same_offer && !line.same_license);
        assert_eq!(line.license_action, LicenseAction::Reassign);
        assert_eq!(line.licenses_to_reassign, 8);
        assert_eq!(line.from_sku.as_deref(), Some(E3_SKU));
        assert_eq!(line.to_sku.as_deref(), Some(M365_E3_SKU));
        assert_eq!(line.target_offer_id.as_deref(), Some("CFQ7TTC0LFLX:0001"));
        assert_eq!(line.warnings, vec![WarningCode::NoExpiry]);
    }

    #[test]
    fn an_unknown_product_keeps_its_text_and_is_flagged() {
        let mut r = row(2, "c", "Contoso Special Suite", 10);
        r.expires_on = Some(d("2027-01-31"));
        let line = eval(r, None);
        assert_eq!(line.target_offer, "Contoso Special Suite");
        assert!(line.same_offer && line.same_license);
        assert_eq!(line.target_offer_id, None);
        assert_eq!(
            line.warnings,
            vec![WarningCode::OfferNotInCatalog, WarningCode::SkuUnknown]
        );
        // A known product to an unknown one: reassigned, the target SKU unknown.
        let mut r = row(2, "c", "Office 365 E3", 10);
        r.target_offer = Some("Contoso Special".into());
        let line = eval(r, None);
        assert_eq!(line.license_action, LicenseAction::Reassign);
        assert_eq!(line.from_sku.as_deref(), Some(E3_SKU));
        assert_eq!(line.to_sku, None);
        assert!(line.warnings.contains(&WarningCode::OfferNotInCatalog));
        assert!(line.warnings.contains(&WarningCode::SkuUnknown));
    }

    #[test]
    fn no_new_commerce_offer_keeps_the_current_offer() {
        let mut r = row(2, "c", "Power BI Pro", 10);
        r.expires_on = Some(d("2027-01-31"));
        let line = eval(r, None);
        assert_eq!(line.target_offer, "Power BI Pro");
        assert_eq!(
            line.target_offer_id.as_deref(),
            Some("800F4F3B-CFE1-42C1-9CEA-675512810488")
        );
        assert!(line.same_offer);
        assert_eq!(line.warnings, vec![WarningCode::NoNewCommerceOffer]);
    }

    #[test]
    fn an_ambiguous_name_is_not_guessed() {
        let line = eval(row(2, "c", "Visio Plan 1", 10), None);
        assert!(line.warnings.contains(&WarningCode::AmbiguousProduct));
        assert!(line.warnings.contains(&WarningCode::SkuUnknown));
        assert_eq!(line.target_offer, "Visio Plan 1");
        assert_eq!(line.target_offer_id, None);
    }

    #[test]
    fn quantity_out_of_range_uses_target_seats() {
        let mut r = row(2, "c", "Office 365 Business Premium", 300);
        let line = eval(r.clone(), None);
        assert_eq!(line.target_offer_id.as_deref(), Some("CFQ7TTC0LDPB:0001"));
        assert!(!line.warnings.contains(&WarningCode::QuantityOutOfRange));
        r.target_seats = Some(301);
        let line = eval(r, None);
        assert_eq!(line.target_seats, 301);
        assert!(line.warnings.contains(&WarningCode::QuantityOutOfRange));
    }

    #[test]
    fn target_seats_below_the_licences_to_reassign() {
        let mut r = row(2, "c", "Office 365 E3", 10);
        r.target_offer = Some("Microsoft 365 E3".into());
        r.assigned = Some(9);
        r.target_seats = Some(9);
        assert!(
            !eval(r.clone(), None)
                .warnings
                .contains(&WarningCode::TargetSeatsBelowAssigned)
        );
        r.target_seats = Some(8);
        assert!(
            eval(r.clone(), None)
                .warnings
                .contains(&WarningCode::TargetSeatsBelowAssigned)
        );
        // Without a reassignment nothing needs the seats.
        r.target_offer = None;
        assert!(
            !eval(r, None)
                .warnings
                .contains(&WarningCode::TargetSeatsBelowAssigned)
        );
    }

    #[test]
    fn shared_license_pool_marks_reassignments_from_a_licence_another_line_holds() {
        let catalog = Catalog::builtin();
        let mut resolver = Resolver::new(catalog, None);
        let mut upgrade = row(2, "c", "Office 365 E3", 10);
        upgrade.target_offer = Some("Microsoft 365 E3".into());
        let stays = row(3, "c", "796B6B5F-613C-4E24-A17C-EBA730D49C02", 5);
        let other = row(4, "c", "Office 365 E1", 5);
        let mut decisions: Vec<Decision> = [&upgrade, &stays, &other]
            .into_iter()
            .map(|r| decide_line(&SourceRow::from(r), None, &mut resolver, &defaults()))
            .collect();
        mark_shared_pools(&mut decisions);
        let shared: Vec<bool> = decisions
            .iter()
            .map(|d| d.warnings.contains(WarningCode::SharedLicensePool))
            .collect();
        assert_eq!(shared, vec![true, false, false]);
    }

    #[test]
    fn assigned_above_seats_warns() {
        let mut r = row(2, "c", "Office 365 E3", 10);
        r.assigned = Some(10);
        assert!(
            !eval(r.clone(), None)
                .warnings
                .contains(&WarningCode::AssignedExceedsSeats)
        );
        r.assigned = Some(11);
        assert!(
            eval(r, None)
                .warnings
                .contains(&WarningCode::AssignedExceedsSeats)
        );
    }

    #[test]
    fn auto_renew_on_and_off() {
        let mut r = row(2, "c", "Office 365 E3", 10);
        r.expires_on = Some(d("2027-03-01"));
        r.auto_renew = Some(false);
        assert!(eval(r.clone(), None).warnings.is_empty());
        r.auto_renew = Some(true);
        assert_eq!(eval(r, None).warnings, vec![WarningCode::AutoRenewOn]);
    }

    #[test]
    fn offer_map_by_name_and_by_id() {
        let map = OfferMap::new(
            vec![crate::catalog::OfferMapEntry {
                from: "office 365 enterprise e3".into(),
                to: "Microsoft 365 E3".into(),
            }],
            Catalog::builtin(),
        );
        let by_name = eval(row(2, "c", "Office 365 Enterprise E3", 5), Some(&map));
        assert_eq!(by_name.target_offer, "Microsoft 365 E3");
        assert!(!by_name.same_license);
        let by_id = eval(
            row(3, "c", "796B6B5F-613C-4E24-A17C-EBA730D49C02", 5),
            Some(&map),
        );
        assert_eq!(by_id.target_offer, "Microsoft 365 E3");
        assert_eq!(by_id.target_offer_id.as_deref(), Some("CFQ7TTC0LFLX:0001"));
        // An explicit target wins over the map.
        let mut r = row(4, "c", "Office 365 Enterprise E3", 5);
        r.target_offer = Some("Office 365 Enterprise E3".into());
        let explicit = eval(r, Some(&map));
        assert!(explicit.same_offer);
    }

    #[test]
    fn term_and_billing_are_the_rows_else_the_defaults() {
        let mut r = row(2, "c", "Office 365 E3", 5);
        assert_eq!(
            (eval(r.clone(), None).term, eval(r.clone(), None).billing),
            (Term::P1Y, Billing::Monthly)
        );
        r.term = Some(Term::P3Y);
        r.billing = Some(Billing::Annual);
        let line = eval(r, None);
        assert_eq!((line.term, line.billing), (Term::P3Y, Billing::Annual));
    }

    #[test]
    fn target_id_is_kept_when_it_looks_like_one() {
        let mut r = row(2, "c", "Office 365 E3", 5);
        r.target_offer = Some("cfq7ttc0zzzz:0001:cfq7ttc0k971".into());
        let line = eval(r, None);
        assert_eq!(line.target_offer_id.as_deref(), Some("CFQ7TTC0ZZZZ:0001"));
        assert!(!line.same_offer);
    }

    #[test]
    fn invalid_customer_id_warns() {
        let mut r = row(2, "c", "Office 365 E3", 5);
        r.customer_id = None;
        r.domain = Some("contoso.com".into());
        r.invalid_customer_id = Some("not-a-guid".into());
        assert!(
            eval(r, None)
                .warnings
                .contains(&WarningCode::InvalidCustomerId)
        );
    }
}
