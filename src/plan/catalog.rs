//! The `--catalog` and `--offer-map` files as lookup tables (DESIGN §4).
//!
//! A [`Catalog`] resolves an offer text to one catalog offer, by ID (legacy GUID in any
//! case; new-commerce `PRODUCT:SKU`, with `PRODUCT:SKU:AVAILABILITY` reduced to
//! `PRODUCT:SKU`) or by normalised name. Offer IDs differ by market, so the main
//! decision is how a customer's country picks among entries of one offer: an entry of
//! that country first, then an entry without a country, then the first entry of the file
//! (so a catalog of one market still resolves everything rather than warning on every
//! row). Among equal candidates the earlier line of the file wins.
//!
//! An [`OfferMap`] maps a legacy offer to the CSP offer to provision; its `from` side
//! matches by ID, by normalised name, or by the catalog offer both resolve to.

use foldhash::HashMap;

use crate::input::{CatalogEntry, OfferMapEntry};
use crate::plan::offer::{OfferId, normalise};

/// One offer of the catalog, with its ID in canonical form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogOffer {
    /// Canonical ID: upper-case GUID or `PRODUCT:SKU`.
    pub offer_id: String,
    pub offer_name: String,
    /// Entra license SKU (lower case GUID).
    pub sku_id: Option<String>,
    pub sku_part_number: Option<String>,
    pub min_quantity: Option<u64>,
    pub max_quantity: Option<u64>,
    /// ISO 3166 alpha-2, upper case.
    pub country: Option<String>,
}

impl CatalogOffer {
    /// Whether `seats` lies within the offer's min/max quantity (unknown bounds pass).
    pub fn quantity_ok(&self, seats: u64) -> bool {
        self.min_quantity.is_none_or(|min| seats >= min)
            && self.max_quantity.is_none_or(|max| seats <= max)
    }
}

/// The catalog, indexed by canonical ID and by normalised name.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    offers: Vec<CatalogOffer>,
    /// Canonical ID → entry indices in file order.
    by_id: HashMap<String, Vec<usize>>,
    /// Normalised name → entry indices in file order.
    by_name: HashMap<String, Vec<usize>>,
}

impl Catalog {
    pub fn new(entries: Vec<CatalogEntry>) -> Catalog {
        let mut catalog = Catalog::default();
        for entry in entries {
            // An ID cell that is not a recognisable ID is still usable as a key, in the
            // same trimmed upper-case form the lookups use.
            let offer_id = match OfferId::parse(&entry.offer_id) {
                Some(id) => id.as_str().to_string(),
                None => entry.offer_id.trim().to_uppercase(),
            };
            let index = catalog.offers.len();
            catalog
                .by_id
                .entry(offer_id.clone())
                .or_default()
                .push(index);
            let name = normalise(&entry.offer_name);
            if !name.is_empty() {
                catalog.by_name.entry(name).or_default().push(index);
            }
            catalog.offers.push(CatalogOffer {
                offer_id,
                offer_name: entry.offer_name.trim().to_string(),
                sku_id: entry.sku_id.map(|s| s.trim().to_lowercase()),
                sku_part_number: entry.sku_part_number,
                min_quantity: entry.min_quantity,
                max_quantity: entry.max_quantity,
                country: entry.country.map(|c| c.trim().to_uppercase()),
            });
        }
        catalog
    }

    pub fn len(&self) -> usize {
        self.offers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.offers.is_empty()
    }

    pub fn offer(&self, index: usize) -> &CatalogOffer {
        &self.offers[index]
    }

    /// Resolves an offer text (ID or name) for a customer in `country`; returns the
    /// index of the catalog entry.
    pub fn resolve_index(&self, text: &str, country: Option<&str>) -> Option<usize> {
        let candidates = match OfferId::parse(text) {
            Some(id) => self.by_id.get(id.as_str()),
            None => self
                .by_id
                .get(text.trim().to_uppercase().as_str())
                .or_else(|| self.by_name.get(&normalise(text))),
        }?;
        let country_of = |i: &usize| self.offers[*i].country.as_deref();
        let by_country = country.and_then(|c| {
            candidates
                .iter()
                .find(|i| country_of(i).is_some_and(|ic| ic.eq_ignore_ascii_case(c)))
        });
        by_country
            .or_else(|| candidates.iter().find(|i| country_of(i).is_none()))
            .or_else(|| candidates.first())
            .copied()
    }

    /// Resolves an offer text (ID or name) for a customer in `country`.
    pub fn resolve(&self, text: &str, country: Option<&str>) -> Option<&CatalogOffer> {
        self.resolve_index(text, country).map(|i| &self.offers[i])
    }
}

/// `--offer-map`: legacy offer → CSP offer to provision.
#[derive(Debug, Clone, Default)]
pub struct OfferMap {
    /// `id:<canonical id>` or `name:<normalised>` → target text. First entry wins.
    by_key: HashMap<String, String>,
    /// Canonical catalog offer ID of `from` → target text, when a catalog resolves it.
    by_catalog_id: HashMap<String, String>,
}

impl OfferMap {
    /// Builds the map; `catalog` (when given) lets a `from` name match rows that give
    /// the offer's ID and the other way round.
    pub fn new(entries: Vec<OfferMapEntry>, catalog: Option<&Catalog>) -> OfferMap {
        let mut map = OfferMap::default();
        for entry in entries {
            let to = entry.to.trim().to_string();
            if to.is_empty() {
                continue;
            }
            map.by_key
                .entry(crate::plan::offer::offer_key(&entry.from))
                .or_insert_with(|| to.clone());
            if let Some(offer) = catalog.and_then(|c| c.resolve(&entry.from, None)) {
                map.by_catalog_id
                    .entry(offer.offer_id.clone())
                    .or_insert(to);
            }
        }
        map
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// The offer to provision for `current`, whose catalog ID (if resolved) is
    /// `current_catalog_id`. A direct match on the text wins over a catalog match.
    pub fn target_for(&self, current: &str, current_catalog_id: Option<&str>) -> Option<&str> {
        self.by_key
            .get(&crate::plan::offer::offer_key(current))
            .or_else(|| current_catalog_id.and_then(|id| self.by_catalog_id.get(id)))
            .map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn entry(id: &str, name: &str, sku: &str, country: Option<&str>) -> CatalogEntry {
        CatalogEntry {
            offer_id: id.into(),
            offer_name: name.into(),
            sku_id: Some(sku.into()),
            sku_part_number: None,
            min_quantity: Some(1),
            max_quantity: Some(300),
            country: country.map(Into::into),
        }
    }

    fn sample() -> Catalog {
        Catalog::new(vec![
            entry(
                "796B6B5F-613C-4E24-A17C-EBA730D49C02",
                "Office 365 Enterprise E3",
                "6FD2C87F-B296-42F0-B197-1E91E994B900",
                None,
            ),
            entry(
                "CFQ7TTC0LH18:0001:CFQ7TTC0K971",
                "Microsoft 365 Business Basic",
                "3b555118-da6a-4418-894f-7df1e2096870",
                Some("US"),
            ),
            entry(
                "CFQ7TTC0LH18:0002",
                "Microsoft 365 Business Basic",
                "3b555118-da6a-4418-894f-7df1e2096870",
                Some("kr"),
            ),
        ])
    }

    #[test]
    fn resolves_legacy_guid_case_insensitively() {
        let c = sample();
        let offer = c
            .resolve("796b6b5f-613c-4e24-a17c-eba730d49c02", None)
            .unwrap();
        assert_eq!(offer.offer_id, "796B6B5F-613C-4E24-A17C-EBA730D49C02");
        assert_eq!(
            offer.sku_id.as_deref(),
            Some("6fd2c87f-b296-42f0-b197-1e91e994b900")
        );
    }

    #[test]
    fn resolves_new_commerce_id_with_or_without_availability() {
        let c = sample();
        assert_eq!(
            c.resolve("CFQ7TTC0LH18:0001", None).unwrap().offer_id,
            "CFQ7TTC0LH18:0001"
        );
        assert_eq!(
            c.resolve("cfq7ttc0lh18:0001:ANYOTHERAVAIL", None)
                .unwrap()
                .offer_id,
            "CFQ7TTC0LH18:0001"
        );
    }

    #[test]
    fn resolves_names_normalised_and_by_country() {
        let c = sample();
        assert_eq!(
            c.resolve("ＯＦＦＩＣＥ３６５ enterprise-e3", Some("JP"))
                .unwrap()
                .offer_id,
            "796B6B5F-613C-4E24-A17C-EBA730D49C02"
        );
        let kr = c
            .resolve("microsoft 365 business basic", Some("KR"))
            .unwrap();
        assert_eq!(kr.offer_id, "CFQ7TTC0LH18:0002");
        let us = c
            .resolve("microsoft 365 business basic", Some("US"))
            .unwrap();
        assert_eq!(us.offer_id, "CFQ7TTC0LH18:0001");
        // No entry for the country and none without one: the first entry of the file.
        let de = c
            .resolve("microsoft 365 business basic", Some("DE"))
            .unwrap();
        assert_eq!(de.offer_id, "CFQ7TTC0LH18:0001");
        assert!(c.resolve("Office 365 E5", None).is_none());
    }

    #[test]
    fn quantity_bounds() {
        let c = sample();
        let offer = c.resolve("Office 365 Enterprise E3", None).unwrap();
        assert!(offer.quantity_ok(1));
        assert!(offer.quantity_ok(300));
        assert!(!offer.quantity_ok(0));
        assert!(!offer.quantity_ok(301));
    }

    #[test]
    fn offer_map_matches_by_name_and_by_id() {
        let c = sample();
        let map = OfferMap::new(
            vec![
                OfferMapEntry {
                    from: "Office 365 Enterprise E3".into(),
                    to: "Microsoft 365 E3".into(),
                },
                OfferMapEntry {
                    from: "cfq7ttc0lh18:0001".into(),
                    to: "Microsoft 365 Business Standard".into(),
                },
                OfferMapEntry {
                    from: "office 365 enterprise e3".into(),
                    to: "ignored: the first entry wins".into(),
                },
            ],
            Some(&c),
        );
        assert_eq!(
            map.target_for("OFFICE 365 ENTERPRISE E3", None),
            Some("Microsoft 365 E3")
        );
        // The row gives the ID of the offer that the map names by name.
        assert_eq!(
            map.target_for(
                "796B6B5F-613C-4E24-A17C-EBA730D49C02",
                Some("796B6B5F-613C-4E24-A17C-EBA730D49C02")
            ),
            Some("Microsoft 365 E3")
        );
        assert_eq!(
            map.target_for("CFQ7TTC0LH18:0001:CFQ7TTC0K971", None),
            Some("Microsoft 365 Business Standard")
        );
        assert_eq!(map.target_for("Office 365 E1", None), None);
    }
}
