//! `invitations.csv`: who still has to accept the reseller relationship, and the link to
//! send them.
//!
//! Partner Center has one relationship request link per partner, not per customer, so the
//! link is fetched once per run and repeated on every row. The file is rewritten on every
//! run to list exactly the customers still awaiting acceptance. Cells that came from the
//! input are neutralised against formula injection, as in every CSV cspmove writes. The
//! column names are fixed (scripts read them); the note on each row is a text of
//! [`crate::i18n`] in the run's language.

use std::io::Write as _;
use std::path::Path;

use crate::fsx::WriteError;
use crate::i18n::{Lang, texts};
use crate::model::Customer;
use crate::report::safe::neutralise;

#[derive(Debug, Clone, PartialEq)]
pub struct Invitation {
    pub customer: String,
    pub name: String,
    pub contact_email: String,
    pub link: String,
}

impl Invitation {
    pub fn for_customer(c: &Customer, link: &str) -> Invitation {
        Invitation {
            customer: c
                .customer_id
                .clone()
                .or_else(|| c.domain.clone())
                .unwrap_or_else(|| c.key.clone()),
            name: c.name.clone().unwrap_or_default(),
            contact_email: c.contact_email.clone().unwrap_or_default(),
            link: link.to_string(),
        }
    }
}

/// What every row says about the link (`invitation_csv.note`): accepting it gives the
/// partner no admin access, and the licence moves need a GDAP relationship, requested
/// separately (partner-center-api.md §11).
pub fn link_note(lang: Lang) -> &'static str {
    texts(lang).get("invitation_csv.note")
}

/// The UTF-8 byte order mark: Excel reads a CSV without it in the machine's legacy code
/// page, which garbles Korean and Japanese names.
pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Writes the file atomically and durably ([`crate::fsx::write_atomic_with`]: temp file,
/// fsync, rename) so a crash never leaves half of it. UTF-8 with a BOM, for Excel. The
/// rows stream into the file as `invitations` yields them (a run can invite hundreds of
/// thousands of customers: neither they nor the CSV are held in memory). Returns the
/// rows written; the error names the path.
pub fn write(
    path: &Path,
    invitations: impl IntoIterator<Item = Invitation>,
    lang: Lang,
) -> Result<usize, WriteError> {
    let mut rows = 0;
    crate::fsx::write_atomic_with(path, crate::fsx::Durability::Fsync, |file| {
        let mut out = std::io::BufWriter::with_capacity(1 << 16, file);
        out.write_all(UTF8_BOM)?;
        let mut w = csv::Writer::from_writer(out);
        w.write_record(["customer", "name", "contact_email", "link", "note"])?;
        for i in invitations {
            w.write_record([
                neutralise(&i.customer).as_ref(),
                neutralise(&i.name).as_ref(),
                neutralise(&i.contact_email).as_ref(),
                i.link.as_str(),
                link_note(lang),
            ])?;
            rows += 1;
        }
        w.into_inner().map_err(|e| e.into_error())?.flush()
    })?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_and_injection_guard() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("invitations.csv");
        let mut plan = crate::apply::testplan::plan_with(1, 0, 0);
        plan.customers[0].name = Some("=HYPERLINK(\"x\")".into());
        let inv = Invitation::for_customer(&plan.customers[0], "https://admin.example/inv");
        write(&path, [inv.clone()], Lang::En).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let mut lines = text.lines();
        assert_eq!(
            lines.next(),
            Some("\u{feff}customer,name,contact_email,link,note")
        );
        let row = lines.next().unwrap();
        assert!(row.contains("'=HYPERLINK"), "{row}");
        assert!(row.contains(",https://admin.example/inv,"), "{row}");
        assert!(
            row.contains("no admin access") && row.contains("GDAP"),
            "{row}"
        );
        assert!(row.starts_with(&plan.customers[0].customer_id.clone().unwrap()));

        // The note follows the language; the columns and the link do not.
        for (lang, words) in [(Lang::Ko, "관리자 권한"), (Lang::Ja, "管理者アクセス権")]
        {
            write(&path, [inv.clone()], lang).unwrap();
            let text = std::fs::read_to_string(&path).unwrap();
            let mut lines = text.lines();
            assert_eq!(
                lines.next(),
                Some("\u{feff}customer,name,contact_email,link,note")
            );
            let row = lines.next().unwrap();
            assert!(row.contains(words) && row.contains("GDAP"), "{row}");
            assert!(row.contains(",https://admin.example/inv,"), "{row}");
        }
    }
}
