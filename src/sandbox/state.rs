//! Everything the sandbox remembers: the partner, its customers' tenants (relationship,
//! orders, subscriptions, carts, users and licence pools), issued tokens and the answers
//! kept for `MS-RequestId` replays; how that state is seeded from a plan, and how it is
//! written to and read back from `--state FILE`.
//!
//! The main decision: licence pools are *derived*, never stored. A tenant keeps the
//! old-channel seats it bought outside CSP (`other_channel`), the CSP subscriptions and
//! the users' assignments; `activeUnits`, `warningUnits` and `consumedUnits` are computed
//! from those on every read, so an order, a PATCH or a licence swap can never leave a
//! pool out of step with the subscriptions it is made of.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::catalog::{Catalog, LegacyOffer, NceSku, SkuInfo, derived_guid, is_guid};
use super::wire::{link, ts};
use crate::model::{Plan, Relationship};

/// The schema tag of a `--state` file.
pub const STATE_SCHEMA: &str = "cspmove.sandbox-state/v1";

/// A `--state` file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StateFileError {
    #[error("{}: cannot read the sandbox state file", path.display())]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{}: not a sandbox state file", path.display())]
    Json {
        path: std::path::PathBuf,
        source: serde_json::Error,
    },
    #[error("{}: state schema is {found:?}, this cspmove reads {STATE_SCHEMA:?} and {:?}", path.display(), super::persist::LOG_SCHEMA)]
    Schema {
        path: std::path::PathBuf,
        found: String,
    },
    #[error("{}: not a sandbox state file: {what}", path.display())]
    NotState {
        path: std::path::PathBuf,
        what: String,
    },
    #[error("{}: the sandbox state file is damaged at byte {offset}: {what}; restore it from a copy or delete it to seed afresh", path.display())]
    Damaged {
        path: std::path::PathBuf,
        offset: usize,
        what: String,
    },
}

/// Which customers accept the reseller relationship when seeded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Accept {
    All,
    None,
    /// Customers whose id hashes below this fraction accept (deterministic per customer).
    Fraction(f64),
}

impl Accept {
    /// Whether the customer with this tenant id accepts at seeding time.
    pub fn accepts(self, tenant_id: &str) -> bool {
        match self {
            Accept::All => true,
            Accept::None => false,
            Accept::Fraction(f) => {
                let digest = Sha256::digest(tenant_id.to_ascii_lowercase().as_bytes());
                let mut head = [0u8; 8];
                head.copy_from_slice(&digest[..8]);
                (u64::from_be_bytes(head) as f64 / u64::MAX as f64) < f
            }
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SandboxState {
    pub schema: String,
    /// The partner's own tenant: the invitation link names it.
    pub partner_tenant_id: String,
    /// Keyed by lower-case tenant id; ordered, so seek paging is stable.
    pub customers: BTreeMap<String, Tenant>,
    /// Catalog additions from the seed plan.
    pub extra_offers: Vec<LegacyOffer>,
    pub extra_nce: Vec<NceSku>,
    pub extra_skus: Vec<SkuInfo>,
    /// `METHOD path MS-RequestId` → the first successful answer.
    pub replays: HashMap<String, Replay>,
    /// Access tokens issued by the token endpoints.
    pub tokens: HashMap<String, IssuedToken>,
    /// How far the sandbox's clock runs ahead of the real one (`POST /sandbox/clock`), so
    /// that expiries and cancellation windows can be rehearsed.
    #[serde(default)]
    pub clock_offset_seconds: i64,
    /// Bumped by every change; the persister writes when it moves.
    #[serde(skip)]
    pub version: u64,
    /// The changes not yet in the change log (only collected with `--state`).
    #[serde(skip)]
    pub changes: Vec<Change>,
    /// Whether changes are collected for a change log.
    #[serde(skip)]
    pub recording: bool,
}

/// What a change touched, by key: the change log writes the current value of each.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Change {
    /// A tenant's own fields (relationship, agreements, …), not its collections.
    Tenant(String),
    User(String, String),
    Subscription(String, String),
    Order(String, String),
    Cart(String, String),
    Replay(String),
    Token(String),
    Clock,
}

/// A stored answer to a POST/PATCH/PUT, returned again for the same `MS-RequestId`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Replay {
    pub status: u16,
    /// Written as text (the answers are JSON), read back from text or, as v1 wrote it,
    /// from an array of bytes.
    #[serde(with = "body_text")]
    pub body: Vec<u8>,
    #[serde(default)]
    pub location: Option<String>,
}

mod body_text {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(body: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&String::from_utf8_lossy(body))
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Body {
        Text(String),
        Bytes(Vec<u8>),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        Ok(match Body::deserialize(d)? {
            Body::Text(t) => t.into_bytes(),
            Body::Bytes(b) => b,
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IssuedToken {
    /// App+User (`true`) or app-only.
    pub app_user: bool,
    /// Whether the token carries the MFA claim (`amr` holds `mfa`). Tokens from before
    /// this field existed had it (the Secure Application Model needs MFA at consent).
    #[serde(default = "yes")]
    pub mfa: bool,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tenant {
    pub id: String,
    pub commerce_id: String,
    pub domain: String,
    pub company_name: String,
    pub country: String,
    pub email: Option<String>,
    pub accepted: bool,
    pub orders: Vec<Order>,
    pub subscriptions: Vec<Subscription>,
    /// Seats bought outside CSP (EA, Open, web): in the pools, never in `subscriptions`.
    pub other_channel: Vec<OtherChannelSeats>,
    /// Keyed by user id.
    pub users: BTreeMap<String, User>,
    pub carts: Vec<Cart>,
    pub agreements: Vec<Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OtherChannelSeats {
    pub sku_id: String,
    pub units: u64,
    /// After this day the units go to warning (30 days), then suspended (90 days), then away.
    pub expires_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Order {
    pub id: String,
    pub request_id: Option<String>,
    pub billing_cycle: String,
    pub line_items: Vec<OrderLine>,
    pub creation_date: DateTime<Utc>,
    pub status: String,
    /// A new-commerce order (12-hex id, from a cart checkout).
    pub nce: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrderLine {
    pub line_item_number: i64,
    pub offer_id: String,
    pub subscription_id: Option<String>,
    pub friendly_name: Option<String>,
    pub quantity: u64,
    pub term_duration: Option<String>,
    pub parent_subscription_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Subscription {
    pub id: String,
    pub offer_id: String,
    pub offer_name: String,
    pub friendly_name: String,
    pub quantity: u64,
    pub min_quantity: u64,
    pub max_quantity: u64,
    /// Lower-case licence skuId whose pool these seats join.
    pub sku_id: String,
    /// `active`, `suspended`, `deleted` (`expired` is derived from the dates).
    pub status: String,
    pub auto_renew_enabled: bool,
    pub billing_cycle: String,
    pub term_duration: String,
    pub order_id: String,
    pub parent_subscription_id: Option<String>,
    pub creation_date: DateTime<Utc>,
    pub commitment_end_date: DateTime<Utc>,
    pub nce: bool,
    /// Bumped by every PATCH: the etag is derived from it.
    pub revision: u64,
}

impl Subscription {
    /// `expired` once past the term end with auto-renew off; otherwise the stored status.
    pub fn effective_status(&self, now: DateTime<Utc>) -> &str {
        if self.status == "active"
            && !self.auto_renew_enabled
            && now > self.commitment_end_date + Duration::days(1)
        {
            "expired"
        } else {
            &self.status
        }
    }

    pub fn etag(&self) -> String {
        derived_guid("etag", &format!("{}:{}", self.id, self.revision)).replace('-', "")
    }

    /// Seats counted in the pool (active subscriptions only).
    pub fn pool_units(&self, now: DateTime<Utc>) -> u64 {
        if self.effective_status(now) == "active" {
            self.quantity
        } else {
            0
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub user_principal_name: String,
    pub first_name: String,
    pub last_name: String,
    pub usage_location: Option<String>,
    /// Lower-case skuIds.
    pub licenses: BTreeSet<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cart {
    pub id: String,
    pub status: String,
    pub creation: DateTime<Utc>,
    pub last_modified: DateTime<Utc>,
    pub expiration: DateTime<Utc>,
    pub line_items: Vec<CartLine>,
    /// The checkout answer, replayed when an `Ordered` cart is checked out again.
    pub checkout_result: Option<Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CartLine {
    pub id: i64,
    pub catalog_item_id: String,
    pub quantity: u64,
    pub billing_cycle: String,
    pub term_duration: Option<String>,
    pub friendly_name: Option<String>,
    pub provisioning_context: Value,
    pub error: Option<(i64, String)>,
    pub list_price: f64,
}

/// One licence pool as `subscribedskus` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pool {
    pub sku_id: String,
    pub active: u64,
    pub warning: u64,
    pub suspended: u64,
    pub consumed: u64,
}

impl Pool {
    pub fn total(&self) -> u64 {
        self.active + self.warning
    }
    pub fn available(&self) -> u64 {
        self.total().saturating_sub(self.consumed)
    }
}

impl Tenant {
    pub fn new(id: &str, domain: &str, name: &str, country: &str) -> Tenant {
        Tenant {
            id: id.to_ascii_lowercase(),
            commerce_id: derived_guid("commerce", id),
            domain: domain.to_ascii_lowercase(),
            company_name: name.to_string(),
            country: country.to_ascii_uppercase(),
            email: None,
            accepted: false,
            orders: Vec::new(),
            subscriptions: Vec::new(),
            other_channel: Vec::new(),
            users: BTreeMap::new(),
            carts: Vec::new(),
            agreements: Vec::new(),
        }
    }

    /// Every licence pool of the tenant, in skuId order.
    pub fn pools(&self, now: DateTime<Utc>) -> Vec<Pool> {
        let today = now.date_naive();
        let mut pools: BTreeMap<String, Pool> = BTreeMap::new();
        let entry = |pools: &mut BTreeMap<String, Pool>, sku: &str| {
            let key = sku.to_ascii_lowercase();
            pools.entry(key.clone()).or_insert(Pool {
                sku_id: key,
                active: 0,
                warning: 0,
                suspended: 0,
                consumed: 0,
            });
            sku.to_ascii_lowercase()
        };
        for seats in &self.other_channel {
            let key = entry(&mut pools, &seats.sku_id);
            let pool = pools.get_mut(&key).expect("inserted");
            match seats.expires_on {
                Some(end) if today > end + Duration::days(120) => {}
                Some(end) if today > end + Duration::days(30) => pool.suspended += seats.units,
                Some(end) if today > end => pool.warning += seats.units,
                _ => pool.active += seats.units,
            }
        }
        for sub in &self.subscriptions {
            let key = entry(&mut pools, &sub.sku_id);
            pools.get_mut(&key).expect("inserted").active += sub.pool_units(now);
        }
        for user in self.users.values() {
            for sku in &user.licenses {
                let key = entry(&mut pools, sku);
                pools.get_mut(&key).expect("inserted").consumed += 1;
            }
        }
        pools.into_values().collect()
    }

    pub fn pool(&self, sku_id: &str, now: DateTime<Utc>) -> Option<Pool> {
        let key = sku_id.to_ascii_lowercase();
        self.pools(now).into_iter().find(|p| p.sku_id == key)
    }

    pub fn subscription_mut(&mut self, id: &str) -> Option<&mut Subscription> {
        self.subscriptions
            .iter_mut()
            .find(|s| s.id.eq_ignore_ascii_case(id))
    }

    pub fn subscription(&self, id: &str) -> Option<&Subscription> {
        self.subscriptions
            .iter()
            .find(|s| s.id.eq_ignore_ascii_case(id))
    }
}

impl SandboxState {
    pub fn empty() -> SandboxState {
        SandboxState {
            schema: STATE_SCHEMA.to_string(),
            partner_tenant_id: uuid::Uuid::new_v4().to_string(),
            customers: BTreeMap::new(),
            extra_offers: Vec::new(),
            extra_nce: Vec::new(),
            extra_skus: Vec::new(),
            replays: HashMap::new(),
            tokens: HashMap::new(),
            clock_offset_seconds: 0,
            version: 0,
            changes: Vec::new(),
            recording: false,
        }
    }

    /// The sandbox's "now": the real time plus the clock offset.
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now()
            .checked_add_signed(Duration::seconds(self.clock_offset_seconds))
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    pub fn catalog(&self) -> Catalog {
        Catalog::new(&self.extra_offers, &self.extra_nce, &self.extra_skus)
    }

    /// Marks a change: the version moves, and with a change log the key is kept so the
    /// log can write the entity's new value before the change is answered.
    pub fn changed(&mut self, change: Change) {
        self.version += 1;
        if self.recording {
            self.changes.push(change);
        }
    }

    /// Builds tenants, users, pools and catalog additions for every customer of a plan
    /// (DESIGN §9).
    pub fn seed(plan: &Plan, accept: Accept) -> SandboxState {
        let mut seeder = Seeder::new(&plan.generated_by, accept);
        for customer in &plan.customers {
            seeder.add(&SeedCustomer::of(customer));
        }
        seeder.finish()
    }

    /// [`seed`](SandboxState::seed) from the plan file at `path`, which streams: each
    /// customer is read (only what its tenant needs, [`SeedCustomer`]), becomes its
    /// tenant and is dropped. A plan cut short or broken is refused, as every command
    /// refuses it.
    pub fn seed_from_file(
        path: &Path,
        accept: Accept,
    ) -> Result<SandboxState, crate::model::PlanFileError> {
        let mut reader = crate::model::PlanReader::open_as::<SeedCustomer>(path)?;
        let mut seeder = Seeder::new(&reader.head().generated_by, accept);
        while let Some(customer) = reader.next_customer()? {
            seeder.add(&customer);
        }
        reader.finish()?;
        Ok(seeder.finish())
    }
}

/// What seeding reads of a plan's customer: the plan's field names; the plan reader
/// skips every other field (tasks, warnings, dates to provision, …) without building it.
#[derive(Debug, Clone, Deserialize)]
pub struct SeedCustomer {
    pub key: String,
    pub customer_id: Option<String>,
    pub domain: Option<String>,
    pub name: Option<String>,
    pub contact_email: Option<String>,
    pub country: Option<String>,
    pub relationship: Relationship,
    pub lines: Vec<SeedLine>,
}

/// What seeding reads of a planned line.
#[derive(Debug, Clone, Deserialize)]
pub struct SeedLine {
    pub current_offer: String,
    #[serde(default)]
    pub current_offer_id: Option<String>,
    pub target_offer: String,
    pub target_offer_id: Option<String>,
    pub seats: u64,
    pub same_offer: bool,
    pub from_sku: Option<String>,
    pub to_sku: Option<String>,
    pub expires_on: Option<NaiveDate>,
    #[serde(default)]
    pub assigned: Option<u64>,
}

impl SeedCustomer {
    /// The seeding view of a customer held in memory.
    pub fn of(c: &crate::model::Customer) -> SeedCustomer {
        SeedCustomer {
            key: c.key.clone(),
            customer_id: c.customer_id.clone(),
            domain: c.domain.clone(),
            name: c.name.clone(),
            contact_email: c.contact_email.clone(),
            country: c.country.clone(),
            relationship: c.relationship,
            lines: c
                .lines
                .iter()
                .map(|l| SeedLine {
                    current_offer: l.current_offer.clone(),
                    current_offer_id: l.current_offer_id.clone(),
                    target_offer: l.target_offer.clone(),
                    target_offer_id: l.target_offer_id.clone(),
                    seats: l.seats,
                    same_offer: l.same_offer,
                    from_sku: l.from_sku.clone(),
                    to_sku: l.to_sku.clone(),
                    expires_on: l.expires_on,
                    assigned: l.assigned,
                })
                .collect(),
        }
    }
}

/// A sandbox state being seeded, one customer at a time.
pub struct Seeder {
    state: SandboxState,
    accept: Accept,
    base: Catalog,
    extra_offers: Vec<LegacyOffer>,
    extra_nce: Vec<NceSku>,
    extra_skus: BTreeMap<String, SkuInfo>,
}

impl Seeder {
    /// A seeder for a plan written by `generated_by`.
    pub fn new(generated_by: &str, accept: Accept) -> Seeder {
        let mut state = SandboxState::empty();
        // The partner id is stable for a given plan, so rehearsals print the same link.
        state.partner_tenant_id = derived_guid("partner", generated_by);
        Seeder {
            state,
            accept,
            base: Catalog::new(&[], &[], &[]),
            extra_offers: Vec::new(),
            extra_nce: Vec::new(),
            extra_skus: BTreeMap::new(),
        }
    }

    /// The state with every customer added.
    pub fn finish(self) -> SandboxState {
        let mut state = self.state;
        state.extra_offers = self.extra_offers;
        state.extra_nce = self.extra_nce;
        state.extra_skus = self.extra_skus.into_values().collect();
        state
    }

    /// Adds the tenant, users, pools and catalog additions of one customer.
    pub fn add(&mut self, customer: &SeedCustomer) {
        let Seeder {
            state,
            accept,
            base,
            extra_offers,
            extra_nce,
            extra_skus,
        } = self;
        let accept = *accept;
        {
            let id = match &customer.customer_id {
                Some(id) if is_guid(id) => id.to_ascii_lowercase(),
                _ => {
                    let domain = customer.domain.as_deref().unwrap_or(&customer.key);
                    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_DNS, domain.to_lowercase().as_bytes())
                        .to_string()
                }
            };
            let name = customer
                .name
                .clone()
                .or_else(|| customer.domain.clone())
                .unwrap_or_else(|| format!("Customer {}", &id[..8]));
            let domain = customer.domain.clone().unwrap_or_else(|| {
                let slug: String = name
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric())
                    .flat_map(char::to_lowercase)
                    .collect();
                let slug = if slug.is_empty() {
                    format!("tenant{}", &id[..8])
                } else {
                    slug
                };
                format!("{slug}.onmicrosoft.com")
            });
            let country = customer.country.clone().unwrap_or_else(|| "US".to_string());
            let mut tenant = Tenant::new(&id, &domain, &name, &country);
            tenant.email = customer.contact_email.clone();
            tenant.accepted =
                customer.relationship == Relationship::Accepted || accept.accepts(&id);

            let mut next_user = 1usize;
            for line in &customer.lines {
                // The SKU users hold today: the plan's from_sku, else the catalog's SKU of
                // the current offer, else a synthetic one stable for the offer text.
                let known = line
                    .current_offer_id
                    .as_deref()
                    .and_then(|o| base.offer(o))
                    .or_else(|| base.offer(&line.current_offer))
                    .or_else(|| base.offer_by_name(&line.current_offer));
                // A new-commerce current offer (`PRODUCT:SKU[:…]`) grants its provisioningId.
                let known_nce = line.current_offer_id.as_deref().and_then(|o| {
                    let parts: Vec<&str> = o.split(':').collect();
                    (parts.len() >= 2)
                        .then(|| base.nce_sku(parts[0], parts[1]))
                        .flatten()
                });
                let old_sku = line
                    .from_sku
                    .clone()
                    .map(|s| s.to_ascii_lowercase())
                    .or_else(|| known.map(|o| o.sku_id.clone()))
                    .or_else(|| known_nce.map(|s| s.provisioning_id.clone()))
                    .unwrap_or_else(|| derived_guid("sku", &line.current_offer));
                if !base.knows_sku(&old_sku) {
                    extra_skus
                        .entry(old_sku.clone())
                        .or_insert_with(|| SkuInfo {
                            sku_id: old_sku.clone(),
                            name: line.current_offer.clone(),
                            sku_part_number: part_number(&line.current_offer),
                        });
                }
                tenant.other_channel.push(OtherChannelSeats {
                    sku_id: old_sku.clone(),
                    units: line.seats,
                    expires_on: line.expires_on,
                });
                let holders = line.assigned.unwrap_or(line.seats);
                for _ in 0..holders {
                    let user =
                        seeded_user(&tenant.id, &tenant.domain, next_user, &country, &old_sku);
                    tenant.users.insert(user.id.clone(), user);
                    next_user += 1;
                }

                // The target offer, when the catalog does not know it.
                let Some(target) = line.target_offer_id.as_deref() else {
                    continue;
                };
                let new_sku = line
                    .to_sku
                    .clone()
                    .map(|s| s.to_ascii_lowercase())
                    .or_else(|| line.same_offer.then(|| old_sku.clone()))
                    .unwrap_or_else(|| derived_guid("sku", &line.target_offer));
                if is_guid(target) {
                    let known_offer = base.offer(target).is_some()
                        || extra_offers
                            .iter()
                            .any(|o| o.id.eq_ignore_ascii_case(target));
                    if !known_offer {
                        extra_offers.push(LegacyOffer {
                            id: target.to_ascii_uppercase(),
                            name: line.target_offer.clone(),
                            min_quantity: 1,
                            max_quantity: 10_000_000,
                            sku_id: new_sku.clone(),
                            sku_part_number: part_number(&line.target_offer),
                            limit_unit: "None".into(),
                            limit: 0,
                            is_add_on: false,
                            prerequisite_offers: Vec::new(),
                            // Not in the recorded catalog: nothing says it is deprecated.
                            deprecated: false,
                        });
                    }
                } else {
                    let parts: Vec<&str> = target.split(':').collect();
                    if parts.len() >= 2 {
                        let (product, sku) =
                            (parts[0].to_ascii_uppercase(), parts[1].to_ascii_uppercase());
                        let known_nce = base.nce_sku(&product, &sku).is_some()
                            || extra_nce
                                .iter()
                                .any(|s| s.product_id == product && s.sku_id == sku);
                        if !known_nce {
                            extra_nce.push(NceSku {
                                availability_id: parts
                                    .get(2)
                                    .map(|a| a.to_ascii_uppercase())
                                    .unwrap_or_else(|| {
                                        super::catalog::derived_availability(&product, &sku)
                                    }),
                                product_id: product,
                                product_title: line.target_offer.clone(),
                                sku_id: sku,
                                sku_title: line.target_offer.clone(),
                                min_quantity: 1,
                                max_quantity: 10_000_000,
                                provisioning_id: new_sku.clone(),
                                sku_part_number: part_number(&line.target_offer),
                                asset_limit: None,
                                list_price: 20.0,
                                country: None,
                            });
                        }
                    }
                }
                if !base.knows_sku(&new_sku) {
                    extra_skus
                        .entry(new_sku.clone())
                        .or_insert_with(|| SkuInfo {
                            sku_id: new_sku.clone(),
                            name: line.target_offer.clone(),
                            sku_part_number: part_number(&line.target_offer),
                        });
                }
            }
            // A second plan row for the same tenant (same id) merges into it.
            match state.customers.get_mut(&tenant.id) {
                Some(existing) => {
                    existing.other_channel.extend(tenant.other_channel);
                    let offset = existing.users.len();
                    for (i, mut user) in tenant.users.into_values().enumerate() {
                        user = seeded_user(
                            &existing.id,
                            &existing.domain,
                            offset + i + 1,
                            &existing.country,
                            user.licenses
                                .iter()
                                .next()
                                .map(String::as_str)
                                .unwrap_or(""),
                        );
                        existing.users.insert(user.id.clone(), user);
                    }
                    existing.accepted |= tenant.accepted;
                }
                None => {
                    state.customers.insert(tenant.id.clone(), tenant);
                }
            }
        }
    }
}

impl SandboxState {
    /// Reads a v1 `--state` file (the whole state as one JSON document).
    pub fn from_v1(path: &Path, bytes: &[u8]) -> Result<SandboxState, StateFileError> {
        let state: SandboxState =
            serde_json::from_slice(bytes).map_err(|source| StateFileError::Json {
                path: path.to_path_buf(),
                source,
            })?;
        if state.schema != STATE_SCHEMA {
            return Err(StateFileError::Schema {
                path: path.to_path_buf(),
                found: state.schema,
            });
        }
        Ok(state)
    }

    /// `GET /sandbox/state` (DESIGN §9), optionally for one customer.
    pub fn inspect(&self, only: Option<&str>, stats: Value) -> Value {
        let now = self.now();
        let customers: Vec<Value> = self
            .customers
            .values()
            .filter(|t| only.is_none_or(|id| t.id.eq_ignore_ascii_case(id)))
            .map(|t| {
                json!({
                    "id": t.id,
                    "domain": t.domain,
                    "accepted": t.accepted,
                    "orders": t.orders.iter().map(|o| json!({
                        "id": o.id,
                        "requestId": o.request_id,
                        "lineItems": o.line_items.iter().map(|l| json!({
                            "offerId": l.offer_id, "quantity": l.quantity, "subscriptionId": l.subscription_id,
                        })).collect::<Vec<_>>(),
                    })).collect::<Vec<_>>(),
                    "subscriptions": t.subscriptions.iter().map(|s| json!({
                        "id": s.id, "offerId": s.offer_id, "quantity": s.quantity, "status": s.effective_status(now),
                    })).collect::<Vec<_>>(),
                    "skus": t.pools(now).iter().map(|p| json!({
                        "skuId": p.sku_id, "activeUnits": p.active, "consumedUnits": p.consumed,
                    })).collect::<Vec<_>>(),
                    "users": t.users.values().map(|u| json!({
                        "id": u.id, "userPrincipalName": u.user_principal_name, "licenses": u.licenses,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        json!({"customers": customers, "stats": stats})
    }
}

fn yes() -> bool {
    true
}

/// A licence part number made from offer text (`Contoso Suite` → `CONTOSO_SUITE`).
fn part_number(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_uppercase());
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    let out = out.trim_end_matches('_').to_string();
    if out.is_empty() {
        "SANDBOX_SKU".into()
    } else {
        out
    }
}

fn seeded_user(tenant: &str, domain: &str, n: usize, country: &str, sku: &str) -> User {
    User {
        id: derived_guid("user", &format!("{tenant}:{n}")),
        user_principal_name: format!("user{n:04}@{domain}"),
        first_name: "User".to_string(),
        last_name: format!("{n:04}"),
        usage_location: Some(country.to_ascii_uppercase()),
        licenses: if sku.is_empty() {
            BTreeSet::new()
        } else {
            BTreeSet::from([sku.to_ascii_lowercase()])
        },
    }
}

// ---------------------------------------------------------------------------------------
// Resource shapes (partner-center-api.md §3, §5, §6, §7).

pub fn customer_json(t: &Tenant, full: bool) -> Value {
    let mut v = json!({
        "id": t.id,
        "commerceId": t.commerce_id,
        "companyProfile": {
            "tenantId": t.id,
            "domain": t.domain,
            "companyName": t.company_name,
            "links": {"self": link(format!("/customers/{}/profiles/company", t.id))},
            "attributes": {"objectType": "CustomerCompanyProfile"},
        },
        "relationshipToPartner": "reseller",
        "links": {"self": link(format!("/customers/{}", t.id))},
        "attributes": {"objectType": "Customer"},
    });
    if full {
        v["companyProfile"]["address"] = json!({"country": t.country});
        if let Some(email) = &t.email {
            v["companyProfile"]["email"] = json!(email);
        }
        v["billingProfile"] = json!({
            "id": derived_guid("billing", &t.id),
            "companyName": t.company_name,
            "culture": "en-US",
            "language": "en",
            "defaultAddress": {"country": t.country},
            "attributes": {"etag": derived_guid("billing-etag", &t.id), "objectType": "CustomerBillingProfile"},
        });
        v["allowDelegatedAccess"] = json!(true);
        v["customDomains"] = json!([t.domain]);
    }
    v
}

pub fn subscription_json(t: &Tenant, s: &Subscription, now: DateTime<Utc>) -> Value {
    let start = s.creation_date.date_naive();
    let end = s.commitment_end_date;
    let mut v = json!({
        "id": s.id,
        "offerId": s.offer_id,
        "offerName": s.offer_name,
        "friendlyName": s.friendly_name,
        "quantity": s.quantity,
        "unitType": "Licenses",
        "creationDate": ts(&s.creation_date),
        "effectiveStartDate": format!("{start}T00:00:00Z"),
        "commitmentEndDate": format!("{}T00:00:00Z", end.date_naive()),
        "commitmentEndDateTime": format!("{}T23:59:59Z", end.date_naive()),
        "status": s.effective_status(now),
        "autoRenewEnabled": s.auto_renew_enabled,
        "billingType": "license",
        "billingCycle": s.billing_cycle,
        "termDuration": s.term_duration,
        "contractType": "subscription",
        "isTrial": false,
        "hasPurchasableAddons": !s.nce,
        "actions": ["edit", "cancel"],
        "suspensionReasons": [],
        "orderId": s.order_id,
        "links": {
            "self": link(format!("/customers/{}/subscriptions/{}", t.id, s.id)),
        },
        "attributes": {"etag": s.etag(), "objectType": "Subscription"},
    });
    if let Some(parent) = &s.parent_subscription_id {
        v["parentSubscriptionId"] = json!(parent);
    }
    if s.nce {
        let window_end = s.creation_date + Duration::days(7);
        let parts: Vec<&str> = s.offer_id.split(':').collect();
        v["productType"] = json!({"id": "OnlineServicesNCE", "displayName": "OnlineServicesNCE"});
        v["renewalTermDuration"] = json!("");
        v["cancellationAllowedUntilDate"] = json!(ts(&window_end));
        v["refundOptions"] = json!([{"type": "Full", "expiresAt": ts(&window_end)}]);
        v["refundableQuantity"] = if now <= window_end {
            json!({"totalQuantity": s.quantity, "details": [{"quantity": s.quantity, "allowedUntilDateTime": ts(&window_end)}]})
        } else {
            json!({"totalQuantity": 0, "details": []})
        };
        if parts.len() == 3 {
            v["links"]["product"] = link(format!("/products/{}?country={}", parts[0], t.country));
            v["links"]["sku"] = link(format!(
                "/products/{}/skus/{}?country={}",
                parts[0], parts[1], t.country
            ));
            v["links"]["availability"] = link(format!(
                "/products/{}/skus/{}/availabilities/{}?country={}",
                parts[0], parts[1], parts[2], t.country
            ));
        }
    } else {
        v["links"]["offer"] = link(format!("/offers/{}?country={}", s.offer_id, t.country));
    }
    v
}

pub fn order_json(t: &Tenant, o: &Order) -> Value {
    let lines: Vec<Value> = o
        .line_items
        .iter()
        .map(|l| {
            let mut line = json!({
                "lineItemNumber": l.line_item_number,
                "offerId": l.offer_id,
                "friendlyName": l.friendly_name.clone().unwrap_or_default(),
                "quantity": l.quantity,
                "links": {},
            });
            if let Some(sid) = &l.subscription_id {
                line["subscriptionId"] = json!(sid);
                line["links"]["subscription"] =
                    link(format!("/customers/{}/subscriptions/{sid}", t.id));
            }
            if let Some(term) = &l.term_duration {
                line["termDuration"] = json!(term);
                line["transactionType"] = json!("New");
            }
            if let Some(parent) = &l.parent_subscription_id {
                line["parentSubscriptionId"] = json!(parent);
            }
            line
        })
        .collect();
    let self_uri = format!("/customers/{}/orders/{}", t.id, o.id);
    let mut v = json!({
        "id": o.id,
        "referenceCustomerId": t.id,
        "billingCycle": o.billing_cycle,
        "currencyCode": "USD",
        "currencySymbol": "$",
        "lineItems": lines,
        "creationDate": ts(&o.creation_date),
        "status": o.status,
        "links": {
            "self": link(self_uri.clone()),
            "provisioningStatus": link(format!("{self_uri}/provisioningstatus")),
        },
        "attributes": {"etag": derived_guid("order-etag", &o.id).replace('-', ""), "objectType": "Order"},
    });
    if o.nce {
        v["alternateId"] = json!(o.id);
        v["transactionType"] = json!("UserPurchase");
        v["links"]["patchOperation"] = json!({"uri": self_uri, "method": "PATCH", "headers": []});
    }
    v
}

pub fn user_json(t: &Tenant, u: &User) -> Value {
    let mut v = json!({
        "id": u.id,
        "userPrincipalName": u.user_principal_name,
        "firstName": u.first_name,
        "lastName": u.last_name,
        "displayName": format!("{} {}", u.first_name, u.last_name),
        "userDomainType": "none",
        "state": "active",
        "links": {"self": link(format!("/customers/{}/users/{}", t.id, u.id))},
        "attributes": {"objectType": "CustomerUser"},
    });
    if let Some(loc) = &u.usage_location {
        v["usageLocation"] = json!(loc);
    }
    v
}

fn service_plans(info: &SkuInfo, status: &str) -> Value {
    json!([{
        "displayName": info.name,
        "serviceName": info.sku_part_number,
        "id": derived_guid("service-plan", &info.sku_id),
        "capabilityStatus": status,
        "targetType": "User",
    }])
}

pub fn subscribed_sku_json(cat: &Catalog, p: &Pool) -> Value {
    let info = cat.sku_info(&p.sku_id);
    json!({
        "availableUnits": p.available(),
        "activeUnits": p.active,
        "consumedUnits": p.consumed,
        "suspendedUnits": p.suspended,
        "totalUnits": p.total(),
        "warningUnits": p.warning,
        "productSku": {
            "id": p.sku_id,
            "name": info.name,
            "skuPartNumber": info.sku_part_number,
            "targetType": "User",
            "licenseGroupId": "group1",
        },
        "servicePlans": service_plans(&info, "Enabled"),
        "capabilityStatus": if p.total() > 0 { "Enabled" } else if p.suspended > 0 { "Suspended" } else { "Deleted" },
        "attributes": {"objectType": "SubscribedSku"},
    })
}

pub fn license_json(cat: &Catalog, sku: &str) -> Value {
    let info = cat.sku_info(sku);
    json!({
        "servicePlans": service_plans(&info, "Assigned"),
        "productSku": {
            "id": info.sku_id,
            "name": info.name,
            "skuPartNumber": info.sku_part_number,
            "targetType": "User",
            "licenseGroupId": "group1",
        },
        "attributes": {"objectType": "License"},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeding_from_the_plan_file_is_seeding_from_the_plan() {
        let plan = crate::apply::testplan::plan_with(3, 4, 2);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.json");
        let mut bytes = Vec::new();
        crate::plan::write::write_plan(&plan, &mut bytes).unwrap();
        std::fs::write(&path, &bytes).unwrap();
        for accept in [Accept::All, Accept::None, Accept::Fraction(0.5)] {
            let streamed = SandboxState::seed_from_file(&path, accept).unwrap();
            let held = SandboxState::seed(&plan, accept);
            assert!(!held.customers.is_empty());
            assert_eq!(
                serde_json::to_value(&streamed).unwrap(),
                serde_json::to_value(&held).unwrap()
            );
        }
        // A plan cut in the middle of a customer seeds nothing.
        let second = bytes.iter().position(|b| *b == b'\n').unwrap() + 1;
        std::fs::write(&path, &bytes[..second + 30]).unwrap();
        let err = SandboxState::seed_from_file(&path, Accept::All).unwrap_err();
        let mut chain = err.to_string();
        let mut source = std::error::Error::source(&err);
        while let Some(e) = source {
            chain.push_str(&format!(": {e}"));
            source = e.source();
        }
        assert!(
            chain.contains("plan.json") && chain.contains("in the middle of customer 1"),
            "{chain}"
        );
    }

    #[test]
    fn fraction_accept_is_deterministic_and_roughly_fair() {
        let ids: Vec<String> = (0..1000)
            .map(|i| derived_guid("t", &i.to_string()))
            .collect();
        let n = ids
            .iter()
            .filter(|id| Accept::Fraction(0.3).accepts(id))
            .count();
        assert!((230..370).contains(&n), "{n}");
        assert_eq!(
            Accept::Fraction(0.3).accepts(&ids[7]),
            Accept::Fraction(0.3).accepts(&ids[7])
        );
        assert!(!Accept::Fraction(0.0).accepts(&ids[0]));
    }

    #[test]
    fn pools_add_other_channel_and_active_subscriptions() {
        let now = Utc::now();
        let mut t = Tenant::new("a", "a.com", "A", "US");
        t.other_channel.push(OtherChannelSeats {
            sku_id: "X".into(),
            units: 5,
            expires_on: None,
        });
        t.other_channel.push(OtherChannelSeats {
            sku_id: "x".into(),
            units: 3,
            expires_on: Some(now.date_naive() - Duration::days(2)),
        });
        let user = seeded_user("a", "a.com", 1, "US", "x");
        t.users.insert(user.id.clone(), user);
        let pools = t.pools(now);
        assert_eq!(
            pools,
            vec![Pool {
                sku_id: "x".into(),
                active: 5,
                warning: 3,
                suspended: 0,
                consumed: 1
            }]
        );
        assert_eq!(pools[0].available(), 7);
    }

    #[test]
    fn part_numbers_are_upper_snake() {
        assert_eq!(part_number("Contoso  Suite (v2)"), "CONTOSO_SUITE_V2");
    }
}
