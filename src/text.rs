//! The one text normaliser that decides when two spellings name the same thing.
//!
//! Headers (`Tenant ID`, `tenant_id`, `ＴＥＮＡＮＴ－ＩＤ`), product names (`Office 365 E3`,
//! `OFFICE-365 e3`, full-width `Ｏｆｆｉｃｅ　３６５　Ｅ３`), part numbers and company names
//! are all compared by their [`match_key`]: NFKC (full width → ASCII, half-width katakana
//! → full width), lower case, and only letters and digits kept. Main decision: one
//! function for every such comparison, so a name that matches as a header also matches
//! as a product, and nobody has to remember which of two normalisers a table uses.

use unicode_normalization::UnicodeNormalization;

/// The comparison key of a text (see the module comment). Whole-key equality is the
/// match; keys are never compared as substrings.
pub fn match_key(text: &str) -> String {
    // Plain ASCII, by far the most common case in exports, needs no NFKC.
    if text.is_ascii() {
        return text
            .bytes()
            .filter(u8::is_ascii_alphanumeric)
            .map(|b| b.to_ascii_lowercase() as char)
            .collect();
    }
    text.nfkc()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ignores_case_spaces_punctuation_and_width() {
        assert_eq!(match_key("Office 365 E3"), "office365e3");
        assert_eq!(match_key("  OFFICE-365  e3. "), "office365e3");
        assert_eq!(match_key("Ｏｆｆｉｃｅ　３６５　Ｅ３"), "office365e3");
        assert_eq!(match_key("Exchange Online (Plan 1)"), "exchangeonlineplan1");
        assert_eq!(match_key("ENTERPRISEPACK"), "enterprisepack");
        assert_eq!(match_key("마이크로소프트 365"), "마이크로소프트365");
        assert_eq!(match_key("ﾏｲｸﾛｿﾌﾄ"), match_key("マイクロソフト"));
        assert_eq!(match_key(" テナント・ID "), "テナントid");
    }
}
