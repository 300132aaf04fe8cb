//! Every product fact cspmove knows: which licence (Entra `skuId`) a product grants, what
//! it is called now and was called before, its part number, the legacy offers and the
//! new-commerce `PRODUCT:SKU` that sell it, and their quantity bounds (DESIGN §4).
//!
//! A [`Catalog`] is a list of [`Product`]s, one per licence, each with the [`Offer`]s
//! that sell it. The built-in table ([`Catalog::builtin`], `builtin.csv` embedded in the
//! binary) holds the products partners move most; `--catalog` files extend and override
//! it ([`Catalog::extend`]), and `cspmove catalog fetch` writes one from a Partner
//! Center market. Main decision: products are keyed by licence SKU, because that is
//! what decides whether users keep their licences; a text names a product in any form
//! (display name, former name, part number, `skuId`, legacy offer GUID, `PRODUCT:SKU`),
//! matched like headers ([`crate::text::match_key`]) through hash maps built once, so
//! [`Catalog::resolve`] is a few lookups whatever the catalog's size. A name that
//! belongs to several licences resolves to the one new commerce sells when exactly one
//! does, and otherwise to [`Resolution::Ambiguous`], never to a guess.

mod builtin;
pub mod file;
mod offer_id;
pub mod show;

use std::sync::OnceLock;

use foldhash::HashMap;

pub use file::{read_catalog, read_offer_map};
pub use offer_id::{OfferId, offer_key};

use crate::text::match_key;

/// How an offer is bought.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OfferKind {
    /// A legacy license-based offer (a GUID): no longer sold to new customers.
    Legacy,
    /// A new-commerce `PRODUCT:SKU` item: what a move into CSP buys today.
    NewCommerce,
    /// An ID of another form, taken from a `--catalog` file as written.
    Other,
}

/// One purchasable item that grants its product's licence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    /// Canonical ID: upper-case GUID, upper-case `PRODUCT:SKU`, or the trimmed
    /// upper-case text of another ID.
    pub id: String,
    pub kind: OfferKind,
    /// The offer's own name (a legacy offer keeps the name it was sold under).
    pub name: String,
    pub min_quantity: Option<u64>,
    pub max_quantity: Option<u64>,
    /// ISO 3166 alpha-2, upper case; `None` = any market.
    pub country: Option<String>,
}

impl Offer {
    /// Whether `seats` lies within the offer's min/max quantity (unknown bounds pass).
    pub fn quantity_ok(&self, seats: u64) -> bool {
        self.min_quantity.is_none_or(|min| seats >= min)
            && self.max_quantity.is_none_or(|max| seats <= max)
    }
}

/// One licence product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    /// Today's display name ("Office 365 E3").
    pub name: String,
    /// Names the same licence was sold under before ("Office 365 Enterprise E3").
    pub former_names: Vec<String>,
    /// The licence's part number (`ENTERPRISEPACK`), as Microsoft writes it.
    pub sku_part_number: Option<String>,
    /// The licence `skuId` (lower-case GUID); `None` when no source gave it.
    pub sku_id: Option<String>,
    pub offers: Vec<Offer>,
}

impl Product {
    /// The legacy offer GUIDs that sold this licence.
    pub fn legacy_offer_ids(&self) -> impl Iterator<Item = &str> {
        self.offers
            .iter()
            .filter(|o| o.kind == OfferKind::Legacy)
            .map(|o| o.id.as_str())
    }

    /// The index of the new-commerce offer to buy in `country`: one of that country,
    /// else one for any market, else the first.
    pub fn new_commerce_index(&self, country: Option<&str>) -> Option<usize> {
        let nce = || {
            self.offers
                .iter()
                .enumerate()
                .filter(|(_, o)| o.kind == OfferKind::NewCommerce)
        };
        country
            .and_then(|c| {
                nce().find(|(_, o)| {
                    o.country
                        .as_deref()
                        .is_some_and(|oc| oc.eq_ignore_ascii_case(c))
                })
            })
            .or_else(|| nce().find(|(_, o)| o.country.is_none()))
            .or_else(|| nce().next())
            .map(|(i, _)| i)
    }

    /// The new-commerce offer to buy in `country` (see [`Product::new_commerce_index`]).
    pub fn new_commerce(&self, country: Option<&str>) -> Option<&Offer> {
        self.new_commerce_index(country).map(|i| &self.offers[i])
    }

    /// The new-commerce `PRODUCT:SKU` for any market, when one is known.
    pub fn new_commerce_id(&self) -> Option<&str> {
        self.new_commerce(None).map(|o| o.id.as_str())
    }

    /// Whether new commerce sells this licence (in some market).
    pub fn sold_in_new_commerce(&self) -> bool {
        self.offers.iter().any(|o| o.kind == OfferKind::NewCommerce)
    }

    /// The offer a name, part number or `skuId` stands for: the new-commerce one, else
    /// the first legacy offer, else the first offer.
    fn canonical_offer(&self, country: Option<&str>) -> Option<usize> {
        self.new_commerce_index(country)
            .or_else(|| self.offers.iter().position(|o| o.kind == OfferKind::Legacy))
            .or(if self.offers.is_empty() {
                None
            } else {
                Some(0)
            })
    }

    /// The offer a former name stands for: the first legacy offer, if any.
    fn legacy_offer(&self) -> Option<usize> {
        self.offers.iter().position(|o| o.kind == OfferKind::Legacy)
    }
}

/// What a text resolved to: a product, and the offer when the text names one (an ID,
/// an offer's name) or stands for one (see [`Product`]'s canonical offer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Hit {
    pub product: u32,
    pub offer: Option<u32>,
}

/// The result of [`Catalog::resolve`]. `Copy`, so resolutions can be cached per text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resolution {
    Found(Hit),
    /// The text names several licences and new commerce does not settle which: the
    /// candidates are [`Catalog::ambiguity`] of this number.
    Ambiguous(u32),
    Unknown,
}

impl Resolution {
    pub fn hit(self) -> Option<Hit> {
        match self {
            Resolution::Found(h) => Some(h),
            _ => None,
        }
    }
}

/// Which offer of a product a name stands for, decided at lookup time (it may depend
/// on the customer's country).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Pick {
    /// The product's display name, part number or `skuId`: its canonical offer.
    Canonical,
    /// An offer's own name.
    Offer(u32),
    /// A former name: the legacy offer, if any.
    Legacy,
}

/// A name (or part number) key's meaning.
#[derive(Debug, Clone)]
enum Named {
    One(u32, Pick),
    Ambiguous(u32),
}

/// One row of a catalog table (the built-in CSV, a `--catalog` file, Microsoft's
/// licensing CSV, or `catalog fetch`): an offer and the licence it grants, or a
/// licence alone when `offer_id` is `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CatalogRow {
    /// Legacy offer GUID or new-commerce `PRODUCT:SKU` (`PRODUCT:SKU:AVAILABILITY` is
    /// reduced to `PRODUCT:SKU`).
    pub offer_id: Option<String>,
    pub offer_name: String,
    /// Licence `skuId` the offer grants (lower-case GUID).
    pub sku_id: Option<String>,
    pub sku_part_number: Option<String>,
    pub min_quantity: Option<u64>,
    pub max_quantity: Option<u64>,
    pub country: Option<String>,
    /// The licence's display name, when it differs from the offer's name.
    pub product_name: Option<String>,
    pub former_names: Vec<String>,
}

/// The product catalog with its lookup maps.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    products: Vec<Product>,
    /// Canonical offer ID → (product, offer) for every market that lists it.
    by_id: HashMap<String, Vec<(u32, u32)>>,
    /// Lower-case `skuId` → product.
    by_sku: HashMap<String, u32>,
    /// [`match_key`] of a display, former or offer name → what it names.
    by_name: HashMap<String, Named>,
    /// [`match_key`] of a part number → what it names.
    by_part: HashMap<String, Named>,
    /// Candidates of each ambiguous name, in catalog order.
    ambiguous: Vec<Vec<u32>>,
}

impl Catalog {
    /// The built-in catalog (built once from the embedded table).
    pub fn builtin() -> &'static Catalog {
        static BUILTIN: OnceLock<Catalog> = OnceLock::new();
        BUILTIN.get_or_init(|| Catalog::from_rows(builtin::rows()))
    }

    /// A catalog of these rows alone.
    pub fn from_rows(rows: impl IntoIterator<Item = CatalogRow>) -> Catalog {
        let mut catalog = Catalog::default();
        catalog.extend(rows);
        catalog
    }

    /// Adds rows; a row for a licence or offer the catalog knows overrides what it says
    /// (names, part number, quantities), other rows add products and offers.
    pub fn extend(&mut self, rows: impl IntoIterator<Item = CatalogRow>) {
        for row in rows {
            self.merge_row(row);
        }
        self.index();
    }

    pub fn products(&self) -> &[Product] {
        &self.products
    }

    pub fn product(&self, index: u32) -> &Product {
        &self.products[index as usize]
    }

    pub fn len(&self) -> usize {
        self.products.len()
    }

    pub fn is_empty(&self) -> bool {
        self.products.is_empty()
    }

    /// The offer of a hit, when it has one.
    pub fn offer(&self, hit: Hit) -> Option<&Offer> {
        hit.offer
            .map(|o| &self.products[hit.product as usize].offers[o as usize])
    }

    /// The candidates of an ambiguous resolution.
    pub fn ambiguity(&self, index: u32) -> &[u32] {
        &self.ambiguous[index as usize]
    }

    /// Resolves a product text in any form for a customer in `country`.
    pub fn resolve(&self, text: &str, country: Option<&str>) -> Resolution {
        let text = text.trim();
        if let Some(id) = OfferId::parse(text) {
            if let Some(hit) = self.by_offer_id(id.as_str(), country) {
                return Resolution::Found(hit);
            }
            if let OfferId::Legacy(guid) = &id
                && let Some(&p) = self.by_sku.get(guid.to_ascii_lowercase().as_str())
            {
                return Resolution::Found(self.pick(p, Pick::Canonical, country));
            }
            return Resolution::Unknown;
        }
        if !self.by_id.is_empty()
            && let Some(hit) = self.by_offer_id(&text.to_uppercase(), country)
        {
            return Resolution::Found(hit);
        }
        let key = match_key(text);
        if key.is_empty() {
            return Resolution::Unknown;
        }
        match self.by_name.get(&key).or_else(|| self.by_part.get(&key)) {
            Some(Named::One(p, pick)) => Resolution::Found(self.pick(*p, *pick, country)),
            Some(Named::Ambiguous(a)) => Resolution::Ambiguous(*a),
            None => Resolution::Unknown,
        }
    }

    /// Products with a name or part number in which `text` starts at a word (so "E3"
    /// finds "Office 365 E3" but not the `e3` inside "Office365"), or whose `skuId` or
    /// offer IDs start with it (at least 4 letters or digits), compared as
    /// [`match_key`]s, in catalog order. A scan: for people, not rows.
    pub fn search(&self, text: &str) -> Vec<u32> {
        let key = match_key(text);
        if key.is_empty() {
            return (0..self.products.len() as u32).collect();
        }
        (0..self.products.len() as u32)
            .filter(|&p| {
                let product = &self.products[p as usize];
                let mut names = std::iter::once(product.name.as_str())
                    .chain(product.former_names.iter().map(String::as_str))
                    .chain(product.sku_part_number.as_deref())
                    .chain(product.offers.iter().map(|o| o.name.as_str()));
                let mut ids = product
                    .sku_id
                    .as_deref()
                    .into_iter()
                    .chain(product.offers.iter().map(|o| o.id.as_str()));
                names.any(|t| starts_at_a_word(t, &key))
                    || (key.len() >= 4 && ids.any(|t| match_key(t).starts_with(&key)))
            })
            .collect()
    }

    /// The catalog as rows (one per offer, one for a licence without offers), in the
    /// form [`Catalog::from_rows`] reads back to the same catalog.
    pub fn rows(&self) -> Vec<CatalogRow> {
        self.rows_by_product()
            .into_iter()
            .flat_map(|(_, rows)| rows)
            .collect()
    }

    /// [`Catalog::rows`], grouped by product.
    pub fn rows_by_product(&self) -> Vec<(u32, Vec<CatalogRow>)> {
        let mut all = Vec::with_capacity(self.products.len());
        for (index, p) in self.products.iter().enumerate() {
            let row = |offer: Option<&Offer>, first: bool| CatalogRow {
                offer_id: offer.map(|o| o.id.clone()),
                offer_name: offer.map_or_else(|| p.name.clone(), |o| o.name.clone()),
                sku_id: p.sku_id.clone(),
                sku_part_number: p.sku_part_number.clone(),
                min_quantity: offer.and_then(|o| o.min_quantity),
                max_quantity: offer.and_then(|o| o.max_quantity),
                country: offer.and_then(|o| o.country.clone()),
                product_name: Some(p.name.clone()),
                former_names: if first {
                    p.former_names.clone()
                } else {
                    Vec::new()
                },
            };
            let mut rows = Vec::new();
            if p.offers.is_empty() {
                rows.push(row(None, true));
            }
            for (i, o) in p.offers.iter().enumerate() {
                rows.push(row(Some(o), i == 0));
            }
            all.push((index as u32, rows));
        }
        all
    }

    fn by_offer_id(&self, id: &str, country: Option<&str>) -> Option<Hit> {
        let candidates = self.by_id.get(id)?;
        let country_of = |&(p, o): &(u32, u32)| {
            self.products[p as usize].offers[o as usize]
                .country
                .as_deref()
        };
        let chosen = country
            .and_then(|c| {
                candidates
                    .iter()
                    .find(|x| country_of(x).is_some_and(|xc| xc.eq_ignore_ascii_case(c)))
            })
            .or_else(|| candidates.iter().find(|x| country_of(x).is_none()))
            .or_else(|| candidates.first())?;
        Some(Hit {
            product: chosen.0,
            offer: Some(chosen.1),
        })
    }

    fn pick(&self, product: u32, pick: Pick, country: Option<&str>) -> Hit {
        let p = &self.products[product as usize];
        let offer = match pick {
            Pick::Canonical => p.canonical_offer(country),
            Pick::Offer(o) => Some(o as usize),
            Pick::Legacy => p.legacy_offer(),
        };
        Hit {
            product,
            offer: offer.map(|o| o as u32),
        }
    }

    /// The product a row belongs to: by `skuId`, else by part number, else by offer ID.
    fn product_of(&self, row: &CatalogRow, offer_id: Option<&str>) -> Option<usize> {
        if let Some(sku) = &row.sku_id {
            return self
                .products
                .iter()
                .position(|p| p.sku_id.as_deref() == Some(sku.as_str()));
        }
        if let Some(part) = &row.sku_part_number {
            let key = match_key(part);
            if let Some(p) = self.products.iter().position(|p| {
                p.sku_part_number.as_deref().map(match_key).as_deref() == Some(key.as_str())
            }) {
                return Some(p);
            }
        }
        let id = offer_id?;
        self.products
            .iter()
            .position(|p| p.offers.iter().any(|o| o.id == id))
    }

    fn merge_row(&mut self, row: CatalogRow) {
        let offer_id = row.offer_id.as_deref().map(canonical_offer_id);
        let sku_id = row
            .sku_id
            .as_deref()
            .map(|s| s.trim().to_ascii_lowercase())
            .filter(|s| !s.is_empty());
        let row = CatalogRow { sku_id, ..row };
        let country = row
            .country
            .as_deref()
            .map(|c| c.trim().to_ascii_uppercase())
            .filter(|c| !c.is_empty());
        let index = match self.product_of(&row, offer_id.as_ref().map(|(id, _)| id.as_str())) {
            Some(i) => i,
            None => {
                self.products.push(Product {
                    name: row
                        .product_name
                        .clone()
                        .unwrap_or_else(|| row.offer_name.clone()),
                    former_names: Vec::new(),
                    sku_part_number: None,
                    sku_id: None,
                    offers: Vec::new(),
                });
                self.products.len() - 1
            }
        };
        // An offer listed under another licence before moves to this one.
        if let Some((id, _)) = &offer_id {
            for (i, p) in self.products.iter_mut().enumerate() {
                if i != index {
                    p.offers.retain(|o| !(o.id == *id && o.country == country));
                }
            }
        }
        let product = &mut self.products[index];
        if let Some(name) = row.product_name.as_ref().filter(|n| !n.trim().is_empty()) {
            product.name = name.trim().to_string();
        }
        if row.sku_id.is_some() {
            product.sku_id = row.sku_id.clone();
        }
        if let Some(part) = row
            .sku_part_number
            .as_ref()
            .filter(|p| !p.trim().is_empty())
        {
            product.sku_part_number = Some(part.trim().to_string());
        }
        for former in &row.former_names {
            let key = match_key(former);
            if !key.is_empty() && !product.former_names.iter().any(|f| match_key(f) == key) {
                product.former_names.push(former.trim().to_string());
            }
        }
        if let Some((id, kind)) = offer_id {
            let offer = Offer {
                id,
                kind,
                name: row.offer_name.trim().to_string(),
                min_quantity: row.min_quantity,
                max_quantity: row.max_quantity,
                country,
            };
            match product
                .offers
                .iter_mut()
                .find(|o| o.id == offer.id && o.country == offer.country)
            {
                Some(existing) => *existing = offer,
                None => product.offers.push(offer),
            }
        }
    }

    /// Rebuilds the lookup maps from `products`.
    fn index(&mut self) {
        let mut by_id: HashMap<String, Vec<(u32, u32)>> = HashMap::default();
        let mut by_sku = HashMap::default();
        let mut names: HashMap<String, Vec<(u32, Pick)>> = HashMap::default();
        let mut parts: HashMap<String, Vec<(u32, Pick)>> = HashMap::default();
        for (p, product) in self.products.iter().enumerate() {
            let p = p as u32;
            if let Some(sku) = &product.sku_id {
                by_sku.entry(sku.clone()).or_insert(p);
            }
            if let Some(part) = &product.sku_part_number {
                parts
                    .entry(match_key(part))
                    .or_default()
                    .push((p, Pick::Canonical));
            }
            names
                .entry(match_key(&product.name))
                .or_default()
                .push((p, Pick::Canonical));
            for (o, offer) in product.offers.iter().enumerate() {
                by_id
                    .entry(offer.id.clone())
                    .or_default()
                    .push((p, o as u32));
                names
                    .entry(match_key(&offer.name))
                    .or_default()
                    .push((p, Pick::Offer(o as u32)));
            }
            for former in &product.former_names {
                names
                    .entry(match_key(former))
                    .or_default()
                    .push((p, Pick::Legacy));
            }
        }
        let mut ambiguous = Vec::new();
        let products = &self.products;
        let mut settle = |hits: Vec<(u32, Pick)>| -> Named {
            let mut candidates: Vec<u32> = hits.iter().map(|(p, _)| *p).collect();
            candidates.dedup();
            candidates.sort_unstable();
            candidates.dedup();
            let chosen = if candidates.len() == 1 {
                Some(candidates[0])
            } else {
                let sold: Vec<u32> = candidates
                    .iter()
                    .copied()
                    .filter(|&p| products[p as usize].sold_in_new_commerce())
                    .collect();
                (sold.len() == 1).then(|| sold[0])
            };
            match chosen {
                Some(p) => {
                    // The most specific meaning this product has for the name.
                    let pick = hits
                        .iter()
                        .filter(|(hp, _)| *hp == p)
                        .map(|(_, pick)| *pick)
                        .min()
                        .expect("the product is among the hits");
                    Named::One(p, pick)
                }
                None => {
                    ambiguous.push(candidates);
                    Named::Ambiguous(ambiguous.len() as u32 - 1)
                }
            }
        };
        let by_name = names
            .into_iter()
            .filter(|(k, _)| !k.is_empty())
            .map(|(k, hits)| (k, settle(hits)))
            .collect::<Vec<_>>();
        let by_part = parts
            .into_iter()
            .filter(|(k, _)| !k.is_empty())
            .map(|(k, hits)| (k, settle(hits)))
            .collect::<Vec<_>>();
        self.by_id = by_id;
        self.by_sku = by_sku;
        self.by_name = by_name.into_iter().collect();
        self.by_part = by_part.into_iter().collect();
        self.ambiguous = ambiguous;
    }
}

/// Whether `key` (a [`match_key`]) starts at one of `text`'s words and runs on
/// through the following ones ("365 e3" in "Office 365 E3").
fn starts_at_a_word(text: &str, key: &str) -> bool {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .map(match_key)
        .filter(|w| !w.is_empty())
        .collect();
    (0..words.len()).any(|i| {
        let mut joined = String::new();
        for w in &words[i..] {
            joined.push_str(w);
            if joined.len() >= key.len() {
                break;
            }
        }
        joined.starts_with(key)
    })
}

/// An offer ID cell in canonical form, with its kind.
fn canonical_offer_id(text: &str) -> (String, OfferKind) {
    match OfferId::parse(text) {
        Some(OfferId::Legacy(id)) => (id, OfferKind::Legacy),
        Some(OfferId::NewCommerce(id)) => (id, OfferKind::NewCommerce),
        None => (text.trim().to_uppercase(), OfferKind::Other),
    }
}

/// `--offer-map`: a product (any form) → the product to buy.
#[derive(Debug, Clone, Default)]
pub struct OfferMap {
    /// [`offer_key`] of `from` → target text. First entry wins.
    by_key: HashMap<String, String>,
    /// Product `from` resolves to → target text. First entry wins.
    by_product: HashMap<u32, String>,
}

/// One `from, to` pair of an `--offer-map` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferMapEntry {
    pub from: String,
    pub to: String,
}

impl OfferMap {
    /// Builds the map; `from` texts are resolved in `catalog`, so a row matches an entry
    /// whatever form either names the product in.
    pub fn new(entries: Vec<OfferMapEntry>, catalog: &Catalog) -> OfferMap {
        let mut map = OfferMap::default();
        for entry in entries {
            let to = entry.to.trim().to_string();
            if to.is_empty() {
                continue;
            }
            map.by_key
                .entry(offer_key(&entry.from))
                .or_insert_with(|| to.clone());
            if let Some(hit) = catalog.resolve(&entry.from, None).hit() {
                map.by_product.entry(hit.product).or_insert(to);
            }
        }
        map
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// The product to buy for `current`, which resolved to `current_product` (if it
    /// did). The text itself matching wins over a match by product.
    pub fn target_for(&self, current: &str, current_product: Option<u32>) -> Option<&str> {
        self.by_key
            .get(&offer_key(current))
            .or_else(|| current_product.and_then(|p| self.by_product.get(&p)))
            .map(String::as_str)
    }
}

#[cfg(test)]
mod tests;
