//! Offer text as the planner compares it: normalised names and recognised offer IDs.
//!
//! Exports spell one offer many ways (`Office 365 E3`, `OFFICE 365 E3`, full-width
//! `Ｏｆｆｉｃｅ　３６５　Ｅ３`), and IDs come in upper or lower case, legacy GUIDs or
//! new-commerce `PRODUCT:SKU[:AVAILABILITY]`. The main decision: two texts name the same
//! offer when their [`offer_key`]s are equal, where an ID-looking text keys on its
//! canonical ID (availability dropped, because availabilities change over time and only
//! `PRODUCT:SKU` identifies what is bought) and any other text keys on its
//! [`normalise`]d name.

use unicode_normalization::UnicodeNormalization;

/// A name reduced for matching: NFKC (full/half width), lower case, and only letters
/// and digits kept (spaces and punctuation dropped).
pub fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    // Fast path for plain ASCII, by far the most common case in exports.
    if text.is_ascii() {
        out.extend(
            text.bytes()
                .filter(u8::is_ascii_alphanumeric)
                .map(|b| b.to_ascii_lowercase() as char),
        );
        return out;
    }
    for c in text.nfkc() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        }
    }
    out
}

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
        None => format!("name:{}", normalise(text)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalise_ignores_case_spaces_punctuation_and_width() {
        assert_eq!(normalise("Office 365 E3"), "office365e3");
        assert_eq!(normalise("  OFFICE-365  e3. "), "office365e3");
        assert_eq!(normalise("Ｏｆｆｉｃｅ　３６５　Ｅ３"), "office365e3");
        assert_eq!(normalise("Exchange Online (Plan 1)"), "exchangeonlineplan1");
        assert_eq!(normalise("마이크로소프트 365"), "마이크로소프트365");
        assert_eq!(normalise("ﾏｲｸﾛｿﾌﾄ"), normalise("マイクロソフト"));
    }

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
