//! Offer IDs recognised in a text, and the key two offer texts compare by when no
//! catalog entry settles it.
//!
//! IDs come in upper or lower case, legacy GUIDs or new-commerce
//! `PRODUCT:SKU[:AVAILABILITY]`. The main decision: two texts name the same offer when
//! their [`offer_key`]s are equal, where an ID-looking text keys on its canonical ID
//! (availability dropped, because availabilities change over time and only
//! `PRODUCT:SKU` identifies what is bought) and any other text keys on its
//! [`match_key`].

use crate::text::match_key;

/// An offer identifier recognised in a text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OfferId {
    /// A legacy offer GUID, stored in Partner Center's upper-case hyphenated form.
    Legacy(String),
    /// A new-commerce `PRODUCT:SKU` catalog ID, upper case.
    NewCommerce(String),
}

impl OfferId {
    /// Recognises a legacy GUID or a new-commerce `PRODUCT:SKU[:AVAILABILITY]` ID
    /// (availability dropped). Anything else is a name, not an ID.
    pub fn parse(text: &str) -> Option<OfferId> {
        let text = text.trim();
        if text.len() >= 32
            && let Ok(guid) = uuid::Uuid::try_parse(text)
        {
            let mut s = guid.hyphenated().to_string();
            s.make_ascii_uppercase();
            return Some(OfferId::Legacy(s));
        }
        let mut parts = text.split(':');
        let product = parts.next()?;
        let sku = parts.next()?;
        let availability = parts.next();
        if parts.next().is_some() {
            return None;
        }
        let is_code = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric());
        // A product ID is long (`CFQ7TTC0LH18`); requiring some length keeps names such
        // as "E3:Plan" from passing for IDs.
        if product.len() < 6 || !is_code(product) || !is_code(sku) {
            return None;
        }
        if availability.is_some_and(|a| !is_code(a)) {
            return None;
        }
        Some(OfferId::NewCommerce(format!(
            "{}:{}",
            product.to_ascii_uppercase(),
            sku.to_ascii_uppercase()
        )))
    }

    /// The ID as written into the plan.
    pub fn as_str(&self) -> &str {
        match self {
            OfferId::Legacy(s) | OfferId::NewCommerce(s) => s,
        }
    }
}

/// The comparison key of an offer text when no catalog settles it: `id:` plus the
/// canonical ID for ID-looking texts, `name:` plus the normalised name otherwise.
pub fn offer_key(text: &str) -> String {
    match OfferId::parse(text) {
        Some(id) => format!("id:{}", id.as_str()),
        None => format!("name:{}", match_key(text)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_legacy_guid_in_any_case() {
        let upper = OfferId::parse("796B6B5F-613C-4E24-A17C-EBA730D49C02").unwrap();
        let lower = OfferId::parse(" 796b6b5f-613c-4e24-a17c-eba730d49c02 ").unwrap();
        assert_eq!(upper, lower);
        assert_eq!(upper.as_str(), "796B6B5F-613C-4E24-A17C-EBA730D49C02");
    }

    #[test]
    fn new_commerce_id_drops_the_availability() {
        let full = OfferId::parse("CFQ7TTC0LH18:0001:CFQ7TTC0K971").unwrap();
        let short = OfferId::parse("cfq7ttc0lh18:0001").unwrap();
        assert_eq!(full, short);
        assert_eq!(full.as_str(), "CFQ7TTC0LH18:0001");
    }

    #[test]
    fn names_are_not_ids() {
        assert_eq!(OfferId::parse("Office 365 E3"), None);
        assert_eq!(OfferId::parse("E3:Plan"), None);
        assert_eq!(OfferId::parse("Plan: Office 365 E3"), None);
        assert_eq!(OfferId::parse("A:B:C:D"), None);
    }

    #[test]
    fn offer_key_compares_ids_and_names() {
        assert_eq!(offer_key("Office 365 E3"), offer_key("office365 e3"));
        assert_eq!(
            offer_key("CFQ7TTC0LH18:0001:CFQ7TTC0K971"),
            offer_key("CFQ7TTC0LH18:0001")
        );
        assert_ne!(offer_key("Office 365 E3"), offer_key("Office 365 E5"));
    }
}
