//! Neutralising input values for the place they are written to.
//!
//! Spreadsheet exports are written by customers and resellers, so a company name can be
//! `=HYPERLINK("http://evil","click")` and a reviewer opens our report in Excel. The
//! decision (OWASP "CSV injection"): any text cell whose first character is `=`, `+`,
//! `-`, `@`, tab or carriage return gets a leading apostrophe, in CSV *and* in XLSX.
//! In XLSX the cell is also always written as a string, never as a formula, so it could
//! not run even without the apostrophe; the apostrophe stays so the value is still inert
//! when someone re-saves the sheet as CSV and opens that. Numbers and dates we compute
//! are written as real numbers and dates, never as text. In HTML every value is escaped
//! (or set with `textContent`), in Markdown escaped so it cannot open a link, a table
//! cell or raw HTML.

/// Characters that make a spreadsheet read a cell as a formula (or, for tab and CR, that
/// some spreadsheets strip before doing so).
const FORMULA_TRIGGERS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Whether a spreadsheet could read `text` as a formula.
pub fn is_formula_like(text: &str) -> bool {
    text.starts_with(FORMULA_TRIGGERS)
}

/// The text as it is written into a CSV or XLSX cell: a leading apostrophe when the text
/// could be read as a formula, unchanged otherwise.
pub fn neutralise(text: &str) -> std::borrow::Cow<'_, str> {
    if is_formula_like(text) {
        std::borrow::Cow::Owned(format!("'{text}"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// Escapes text for HTML element content and double-quoted attribute values.
pub fn html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(ch),
        }
    }
    out
}

/// Escapes text for one Markdown table cell or paragraph: no raw HTML, no links, no
/// emphasis, no cell breaks, no line breaks.
pub fn markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '|' => out.push_str("\\|"),
            '\r' | '\n' | '\t' => out.push(' '),
            '\\' | '`' | '*' | '_' | '[' | ']' | '#' | '~' => {
                out.push('\\');
                out.push(ch);
            }
            _ => out.push(ch),
        }
    }
    out
}

/// JSON for a `<script type="application/json">` block: `<`, `>` and `&` become `\u003c`
/// and friends so that no value (`</script>`, `<!--`) can end the block early. They only
/// ever occur inside JSON strings, where the escapes mean the same characters.
pub fn json_in_html(json: &str) -> String {
    let mut out = String::with_capacity(json.len() + 64);
    for ch in json.chars() {
        match ch {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            _ => out.push(ch),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_triggers_get_an_apostrophe() {
        for hostile in [
            "=HYPERLINK(\"http://x\",\"y\")",
            "+1",
            "-3",
            "@SUM(A1)",
            "\t=1",
            "\r=1",
        ] {
            assert_eq!(neutralise(hostile), format!("'{hostile}"));
        }
        for plain in ["Contoso", "주식회사 가나다", "株式会社", "1=1", "a-b", ""] {
            assert_eq!(neutralise(plain), plain);
        }
    }

    #[test]
    fn html_and_markdown_escape_markup() {
        assert_eq!(
            html("<script>alert('x')</script>&"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;"
        );
        assert_eq!(
            markdown("a|b [x](http://e) <b>\n*"),
            "a\\|b \\[x\\](http://e) &lt;b&gt; \\*"
        );
    }

    #[test]
    fn json_cannot_close_the_script_block() {
        let json = serde_json::to_string("</script><script>alert(1)</script>").unwrap();
        let safe = json_in_html(&json);
        assert!(!safe.contains("</"));
        let back: String = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, "</script><script>alert(1)</script>");
    }
}
