//! The one text normaliser that decides when two spellings name the same thing.
//!
//! Headers (`Tenant ID`, `tenant_id`, `ＴＥＮＡＮＴ－ＩＤ`), product names (`Office 365 E3`,
//! `OFFICE-365 e3`, full-width `Ｏｆｆｉｃｅ　３６５　Ｅ３`), part numbers and company names
//! are all compared by their [`match_key`]: NFKC (full width → ASCII, half-width katakana
//! → full width), lower case, and only letters and digits kept. Main decision: one
//! function for every such comparison, so a name that matches as a header also matches
//! as a product, and nobody has to remember which of two normalisers a table uses.

use std::borrow::Cow;

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

/// `text` in lower case, borrowed when it is already (the common case: a million cells
/// keyed without a copy each).
pub fn lower(text: Cow<'_, str>) -> Cow<'_, str> {
    if text
        .bytes()
        .any(|b| b.is_ascii_uppercase() || !b.is_ascii())
    {
        Cow::Owned(text.to_lowercase())
    } else {
        text
    }
}

/// `text` in upper case, borrowed when it is already.
pub fn upper(text: Cow<'_, str>) -> Cow<'_, str> {
    if text
        .bytes()
        .any(|b| b.is_ascii_lowercase() || !b.is_ascii())
    {
        Cow::Owned(text.to_uppercase())
    } else {
        text
    }
}

/// [`match_key`] of a short ASCII `text`, made in `buf` instead of a new `String`:
/// `None` when `text` is not ASCII or longer than `buf` (then call [`match_key`]). The
/// readers key a million cells this way without an allocation each.
pub fn ascii_match_key<'b, const N: usize>(text: &str, buf: &'b mut [u8; N]) -> Option<&'b str> {
    if !text.is_ascii() || text.len() > N {
        return None;
    }
    let mut len = 0;
    for b in text.bytes().filter(u8::is_ascii_alphanumeric) {
        buf[len] = b.to_ascii_lowercase();
        len += 1;
    }
    std::str::from_utf8(&buf[..len]).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ascii_key_is_the_match_key() {
        let mut buf = [0u8; 18];
        for text in [
            "Office 365 E3",
            "  OFFICE-365  e3. ",
            "",
            "--",
            "0123456789abcdef",
        ] {
            assert_eq!(
                ascii_match_key(text, &mut buf),
                Some(match_key(text).as_str())
            );
        }
        // Longer than the buffer, or not ASCII: the caller makes the key itself.
        assert_eq!(ascii_match_key("0123456789abcdefghi", &mut buf), None);
        assert_eq!(ascii_match_key("Ｅ３", &mut buf), None);
    }

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
