//! The row as the planner holds it: [`SourceRow`], nearly without allocations of its own.
//!
//! At a million rows the rows as read are most of the memory `cspmove plan` touches, and
//! on a VM every fresh megabyte costs time on a cold run (docs/benchmarks.md). Before
//! this module a row was a ~330-byte struct of a dozen `Option<String>`s, about eight
//! allocations and 540 MB for the benchmark's 1M rows. Now the texts that repeat from
//! row to row (offers, program, country) are interned [`Sym`]s; the customer's texts
//! (customer ID and domain, name, contact) are kept end to end in one shared `str`
//! with their ends beside it, one copy for the consecutive rows of a customer; and a
//! subscription ID that is a GUID is kept as its 16 bytes (and the case of its letters,
//! so it comes back byte for byte). The main decision: the row keeps the reader's
//! promise (every text trimmed, normalised and never empty: an empty text is absent)
//! and is read through accessors; [`RowValues`], the same row with a plain field per
//! value, builds one (tests, examples) and shows one (`SourceRow::values`).

use std::cell::RefCell;
use std::sync::Arc;

use chrono::NaiveDate;

use super::intern::Sym;
use super::value::GuidText;
use crate::model::{Billing, Term};

/// The customer's texts, in the order they are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Text {
    CustomerId,
    InvalidCustomerId,
    Domain,
    CustomerName,
    ContactEmail,
}

/// How many [`Text`]s there are.
const CUSTOMER_TEXTS: usize = 5;

/// The row's texts. The customer's (ID, domain, name, contact) are end to end in one
/// shared `str`, with their ends beside it: consecutive rows of one customer, as exports
/// list them, share one copy ([`shared_customer_text`]). The subscription ID is the
/// row's own.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct RowText {
    customer: Option<Arc<str>>,
    ends: [u32; CUSTOMER_TEXTS],
    subscription_id: Option<SubscriptionId>,
}

/// A subscription ID as a row keeps it. Exports give subscription IDs as GUIDs: those
/// are kept as their 16 bytes and the case of each hex letter, which gives back the
/// text byte for byte without an allocation per row; a short other text (up to
/// [`SHORT`] bytes, `SUB-1`) is kept in the same 24 bytes, and only a longer one has an
/// allocation of its own.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum SubscriptionId {
    Guid(GuidText),
    Short { len: u8, bytes: [u8; SHORT] },
    Text(Box<str>),
}

/// The longest subscription ID kept in the row itself when it is not a GUID.
const SHORT: usize = 22;

impl SubscriptionId {
    fn new(text: &str) -> SubscriptionId {
        if let Some(guid) = GuidText::read(text) {
            return SubscriptionId::Guid(guid);
        }
        match u8::try_from(text.len()) {
            Ok(len) if text.len() <= SHORT => {
                let mut bytes = [0u8; SHORT];
                bytes[..text.len()].copy_from_slice(text.as_bytes());
                SubscriptionId::Short { len, bytes }
            }
            _ => SubscriptionId::Text(Box::from(text)),
        }
    }

    /// The GUID's 32 hex digits in lower case, when this is a GUID.
    fn lower_hex(&self) -> Option<[u8; 32]> {
        match self {
            SubscriptionId::Guid(guid) => Some(guid.lower_hex()),
            _ => None,
        }
    }

    fn text(&self) -> SubscriptionText<'_> {
        match self {
            SubscriptionId::Text(text) => SubscriptionText(Repr::Borrowed(text)),
            SubscriptionId::Short { len, bytes } => {
                let text = std::str::from_utf8(&bytes[..*len as usize])
                    .expect("the bytes of a str, cut at its end");
                SubscriptionText(Repr::Borrowed(text))
            }
            SubscriptionId::Guid(guid) => SubscriptionText(Repr::Guid(guid.write())),
        }
    }
}

/// A row's subscription ID as text: it derefs to `str`.
#[derive(Clone, Copy)]
pub struct SubscriptionText<'a>(Repr<'a>);

#[derive(Clone, Copy)]
enum Repr<'a> {
    Borrowed(&'a str),
    /// A GUID written out (ASCII).
    Guid([u8; 36]),
}

impl std::ops::Deref for SubscriptionText<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        match &self.0 {
            Repr::Borrowed(text) => text,
            Repr::Guid(text) => std::str::from_utf8(text).expect("a GUID is ASCII"),
        }
    }
}

impl std::fmt::Debug for SubscriptionText<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&**self, f)
    }
}

impl std::fmt::Display for SubscriptionText<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self)
    }
}

impl PartialEq for SubscriptionText<'_> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for SubscriptionText<'_> {}

impl Default for SubscriptionText<'_> {
    fn default() -> Self {
        SubscriptionText(Repr::Borrowed(""))
    }
}

impl RowText {
    fn get(&self, field: Text) -> Option<&str> {
        customer_text(self.customer.as_deref(), &self.ends, field as usize)
    }

    /// From the customer's texts in [`Text`] order, then the subscription ID; empty
    /// texts are absent.
    fn new(texts: [Option<&str>; CUSTOMER_TEXTS + 1]) -> RowText {
        let [id, invalid, domain, name, email, subscription_id] = texts;
        let (customer, ends) = shared_customer_text([id, invalid, domain, name, email]);
        RowText {
            customer,
            ends,
            subscription_id: subscription_id
                .filter(|t| !t.is_empty())
                .map(SubscriptionId::new),
        }
    }
}

/// Text `i` of the customer texts `text` with the given ends (`None` when empty).
fn customer_text<'t>(
    text: Option<&'t str>,
    ends: &[u32; CUSTOMER_TEXTS],
    i: usize,
) -> Option<&'t str> {
    let start = if i == 0 { 0 } else { ends[i - 1] } as usize;
    let end = ends[i] as usize;
    (end > start).then(|| &text.unwrap_or_default()[start..end])
}

thread_local! {
    /// The customer texts this thread stored last, for the next row to share.
    static LAST_CUSTOMER: RefCell<Option<(Arc<str>, [u32; CUSTOMER_TEXTS])>> =
        const { RefCell::new(None) };
    /// Where a new customer's texts are put end to end before they are shared.
    static SCRATCH: RefCell<String> = const { RefCell::new(String::new()) };
}

/// The customer texts end to end (`None` when all are empty) and their ends: the copy
/// the previous row parsed on this thread holds when its texts are the same, else a new
/// one. At a million rows of some 285,000 customers this keeps one copy per customer
/// instead of one per row (~70 MB less), for one comparison per row. Rows of one
/// customer that are not next to each other get copies of their own, 16 bytes more each
/// than a copy cost before (the `Arc`'s counts).
fn shared_customer_text(
    texts: [Option<&str>; CUSTOMER_TEXTS],
) -> (Option<Arc<str>>, [u32; CUSTOMER_TEXTS]) {
    let len: usize = texts.iter().flatten().map(|t| t.len()).sum();
    if len == 0 {
        return (None, [0; CUSTOMER_TEXTS]);
    }
    let len = u32::try_from(len).expect("a row's texts are under 4 GB");
    LAST_CUSTOMER.with_borrow_mut(|last| {
        if let Some((text, ends)) = last.as_ref()
            && ends[CUSTOMER_TEXTS - 1] == len
            && (0..CUSTOMER_TEXTS)
                .all(|i| customer_text(Some(text), ends, i) == texts[i].filter(|t| !t.is_empty()))
        {
            return (Some(Arc::clone(text)), *ends);
        }
        let (text, ends) = SCRATCH.with_borrow_mut(|joined| {
            joined.clear();
            let mut ends = [0; CUSTOMER_TEXTS];
            for (end, t) in ends.iter_mut().zip(texts) {
                joined.push_str(t.unwrap_or_default());
                *end = joined.len() as u32;
            }
            // One allocation: the texts are copied once, into the shared `str`.
            (Arc::<str>::from(joined.as_str()), ends)
        });
        *last = Some((Arc::clone(&text), ends));
        (Some(text), ends)
    })
}

/// One valid data row, parsed. The planner never sees a raw cell. Every text value is
/// trimmed and NFKC-normalised, and never empty (an empty cell is `None`): the planner
/// relies on this and does not trim again.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct SourceRow {
    /// Index of the input file (into the plan's `inputs`).
    pub input: usize,
    /// Row number the user sees in the spreadsheet.
    pub row: u64,
    pub seats: u64,
    pub assigned: Option<u64>,
    pub target_seats: Option<u64>,
    pub expires_on: Option<NaiveDate>,
    pub auto_renew: Option<bool>,
    /// `Some(true)` when the input says the reseller relationship is already accepted.
    pub relationship_accepted: Option<bool>,
    /// New-commerce term the row asks for; `None` = the `--term` default.
    pub term: Option<Term>,
    /// Billing frequency the row asks for; `None` = the `--billing` default.
    pub billing: Option<Billing>,
    country: Option<Sym>,
    program: Option<Sym>,
    current_offer: Option<Sym>,
    current_offer_id: Option<Sym>,
    target_offer: Option<Sym>,
    text: RowText,
}

/// A [`SourceRow`] with a plain field per value: what tests and examples build rows
/// from, and what [`SourceRow::values`] shows. Empty texts become absent in the row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RowValues {
    pub input: usize,
    pub row: u64,
    /// A GUID, lower case.
    pub customer_id: Option<String>,
    /// The customer ID cell held something that is not a GUID (the row has a domain).
    pub invalid_customer_id: Option<String>,
    pub domain: Option<String>,
    pub customer_name: Option<String>,
    pub contact_email: Option<String>,
    /// ISO 3166 alpha-2, upper case.
    pub country: Option<String>,
    pub program: Option<String>,
    /// The offer name when the file has one, else its offer ID.
    pub current_offer: String,
    /// The offer ID the file gives beside the offer name (`OfferId` beside `OfferName`),
    /// kept for the catalog: an ID resolves without the doubts a name can have.
    pub current_offer_id: Option<String>,
    pub subscription_id: Option<String>,
    pub seats: u64,
    pub assigned: Option<u64>,
    pub expires_on: Option<NaiveDate>,
    pub auto_renew: Option<bool>,
    pub target_offer: Option<String>,
    pub target_seats: Option<u64>,
    pub relationship_accepted: Option<bool>,
    pub term: Option<Term>,
    pub billing: Option<Billing>,
}

fn sym(text: Option<&str>) -> Option<Sym> {
    text.filter(|t| !t.is_empty()).map(Sym::new)
}

/// The texts of a row, as the reader hands them to [`SourceRow::new`].
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Texts<'a> {
    pub customer_id: Option<&'a str>,
    pub invalid_customer_id: Option<&'a str>,
    pub domain: Option<&'a str>,
    pub customer_name: Option<&'a str>,
    pub contact_email: Option<&'a str>,
    pub country: Option<&'a str>,
    pub program: Option<&'a str>,
    pub current_offer: Option<&'a str>,
    pub current_offer_id: Option<&'a str>,
    pub subscription_id: Option<&'a str>,
    pub target_offer: Option<&'a str>,
}

impl SourceRow {
    /// A row with the given texts and every number, date and flag unset.
    pub(crate) fn new(input: usize, row: u64, texts: Texts<'_>) -> SourceRow {
        SourceRow {
            input,
            row,
            country: sym(texts.country),
            program: sym(texts.program),
            current_offer: sym(texts.current_offer),
            current_offer_id: sym(texts.current_offer_id),
            target_offer: sym(texts.target_offer),
            text: RowText::new([
                texts.customer_id,
                texts.invalid_customer_id,
                texts.domain,
                texts.customer_name,
                texts.contact_email,
                texts.subscription_id,
            ]),
            ..SourceRow::default()
        }
    }

    /// A GUID, lower case.
    pub fn customer_id(&self) -> Option<&str> {
        self.text.get(Text::CustomerId)
    }
    /// The customer ID cell held something that is not a GUID (the row has a domain).
    pub fn invalid_customer_id(&self) -> Option<&str> {
        self.text.get(Text::InvalidCustomerId)
    }
    pub fn domain(&self) -> Option<&str> {
        self.text.get(Text::Domain)
    }
    pub fn customer_name(&self) -> Option<&str> {
        self.text.get(Text::CustomerName)
    }
    pub fn contact_email(&self) -> Option<&str> {
        self.text.get(Text::ContactEmail)
    }
    pub fn subscription_id(&self) -> Option<SubscriptionText<'_>> {
        self.text.subscription_id.as_ref().map(SubscriptionId::text)
    }
    /// The subscription ID's 32 hex digits in lower case, when it is a GUID: its letters
    /// and digits as `plan::duplicates` compares them, without writing it out.
    pub fn subscription_guid_hex(&self) -> Option<[u8; 32]> {
        self.text.subscription_id.as_ref()?.lower_hex()
    }
    /// ISO 3166 alpha-2, upper case (or as written when it is no such code).
    pub fn country(&self) -> Option<&'static str> {
        self.country.map(Sym::as_str)
    }
    pub fn program(&self) -> Option<&'static str> {
        self.program.map(Sym::as_str)
    }
    /// The offer name when the file has one, else its offer ID.
    pub fn current_offer(&self) -> &'static str {
        self.current_offer.map_or("", Sym::as_str)
    }
    /// The offer ID the file gives beside the offer name (`OfferId` beside `OfferName`),
    /// kept for the catalog: an ID resolves without the doubts a name can have.
    pub fn current_offer_id(&self) -> Option<&'static str> {
        self.current_offer_id.map(Sym::as_str)
    }
    pub fn target_offer(&self) -> Option<&'static str> {
        self.target_offer.map(Sym::as_str)
    }

    /// The interned current offer, for lookups keyed by symbol.
    pub fn current_offer_sym(&self) -> Option<Sym> {
        self.current_offer
    }

    /// Every value of the row but where it came from (`input`, `row`), for comparing
    /// rows. Destructured without `..`: a field added to the row does not compile here
    /// until it is considered (and then in `plan::duplicates::differing_fields`).
    #[allow(clippy::type_complexity)]
    pub fn content(
        &self,
    ) -> (
        &RowText,
        [Option<Sym>; 5],
        (u64, Option<u64>, Option<u64>, Option<NaiveDate>),
        (Option<bool>, Option<bool>, Option<Term>, Option<Billing>),
    ) {
        let SourceRow {
            input: _,
            row: _,
            seats,
            assigned,
            target_seats,
            expires_on,
            auto_renew,
            relationship_accepted,
            term,
            billing,
            country,
            program,
            current_offer,
            current_offer_id,
            target_offer,
            text,
        } = self;
        (
            text,
            [
                *country,
                *program,
                *current_offer,
                *current_offer_id,
                *target_offer,
            ],
            (*seats, *assigned, *target_seats, *expires_on),
            (*auto_renew, *relationship_accepted, *term, *billing),
        )
    }

    /// Every value of the row as a plain field each.
    pub fn values(&self) -> RowValues {
        let owned = |s: Option<&str>| s.map(str::to_string);
        RowValues {
            input: self.input,
            row: self.row,
            customer_id: owned(self.customer_id()),
            invalid_customer_id: owned(self.invalid_customer_id()),
            domain: owned(self.domain()),
            customer_name: owned(self.customer_name()),
            contact_email: owned(self.contact_email()),
            country: owned(self.country()),
            program: owned(self.program()),
            current_offer: self.current_offer().to_string(),
            current_offer_id: owned(self.current_offer_id()),
            subscription_id: self.subscription_id().map(|s| s.to_string()),
            seats: self.seats,
            assigned: self.assigned,
            expires_on: self.expires_on,
            auto_renew: self.auto_renew,
            target_offer: owned(self.target_offer()),
            target_seats: self.target_seats,
            relationship_accepted: self.relationship_accepted,
            term: self.term,
            billing: self.billing,
        }
    }
}

impl From<&RowValues> for SourceRow {
    fn from(v: &RowValues) -> SourceRow {
        let texts = Texts {
            customer_id: v.customer_id.as_deref(),
            invalid_customer_id: v.invalid_customer_id.as_deref(),
            domain: v.domain.as_deref(),
            customer_name: v.customer_name.as_deref(),
            contact_email: v.contact_email.as_deref(),
            country: v.country.as_deref(),
            program: v.program.as_deref(),
            current_offer: Some(v.current_offer.as_str()),
            current_offer_id: v.current_offer_id.as_deref(),
            subscription_id: v.subscription_id.as_deref(),
            target_offer: v.target_offer.as_deref(),
        };
        SourceRow {
            seats: v.seats,
            assigned: v.assigned,
            target_seats: v.target_seats,
            expires_on: v.expires_on,
            auto_renew: v.auto_renew,
            relationship_accepted: v.relationship_accepted,
            term: v.term,
            billing: v.billing,
            ..SourceRow::new(v.input, v.row, texts)
        }
    }
}

impl From<RowValues> for SourceRow {
    fn from(v: RowValues) -> SourceRow {
        SourceRow::from(&v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> RowValues {
        RowValues {
            input: 2,
            row: 17,
            customer_id: Some("0f5a3c1e-2b4d-4e6f-8a9b-1c2d3e4f5a6b".into()),
            invalid_customer_id: Some("n/a".into()),
            domain: Some("contoso.com".into()),
            customer_name: Some("Contoso 회사 名".into()),
            contact_email: Some("it@contoso.com".into()),
            country: Some("KR".into()),
            program: Some("Open Value".into()),
            current_offer: "Office 365 E3".into(),
            current_offer_id: Some("796B6B5F-613C-4E24-A17C-EBA730D49C02".into()),
            subscription_id: Some("SUB-1".into()),
            seats: 10,
            assigned: Some(8),
            expires_on: NaiveDate::from_ymd_opt(2027, 1, 31),
            auto_renew: Some(true),
            target_offer: Some("Microsoft 365 E3".into()),
            target_seats: Some(12),
            relationship_accepted: Some(false),
            term: Some(Term::P1Y),
            billing: Some(Billing::Annual),
        }
    }

    #[test]
    fn every_value_comes_back_as_given() {
        let values = full();
        assert_eq!(SourceRow::from(&values).values(), values);
        // Each text alone, the others absent: ends of empty texts in any position.
        let texts: [fn(&mut RowValues) -> &mut Option<String>; 6] = [
            |v| &mut v.customer_id,
            |v| &mut v.invalid_customer_id,
            |v| &mut v.domain,
            |v| &mut v.customer_name,
            |v| &mut v.contact_email,
            |v| &mut v.subscription_id,
        ];
        for keep in 0..texts.len() {
            let mut values = full();
            for (i, field) in texts.iter().enumerate() {
                if i != keep {
                    *field(&mut values) = None;
                }
            }
            assert_eq!(
                SourceRow::from(&values).values(),
                values,
                "only text {keep}"
            );
        }
        let empty = RowValues::default();
        assert_eq!(SourceRow::from(&empty).values(), empty);
    }

    #[test]
    fn empty_texts_are_absent() {
        let values = RowValues {
            domain: Some(String::new()),
            program: Some(String::new()),
            ..full()
        };
        let row = SourceRow::from(&values);
        assert_eq!(row.domain(), None);
        assert_eq!(row.program(), None);
        assert_eq!(row.customer_name(), Some("Contoso 회사 名"));
    }

    #[test]
    fn rows_are_small() {
        // The struct itself (in the row vector): 152 bytes, with the shared customer
        // text as the only allocation (and a subscription ID that is not a GUID).
        assert!(std::mem::size_of::<SourceRow>() <= 152);
        assert_eq!(std::mem::size_of::<Option<Sym>>(), 4);
    }

    #[test]
    fn subscription_ids_come_back_byte_for_byte() {
        for (id, is_guid) in [
            ("3F03F94E-C89A-47BF-9C6A-1E22B69D667E", true),
            ("3f03f94e-c89a-47bf-9c6a-1e22b69d667e", true),
            ("3f03F94e-C89a-47bF-9C6A-1e22b69D667E", true),
            ("00000000-0000-0000-0000-000000000000", true),
            ("FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF", true),
            // Not a GUID as written: kept as text.
            ("3F03F94E-C89A-47BF-9C6A-1E22B69D667", false),
            ("3F03F94EC89A-47BF-9C6A-1E22B69D667E-", false),
            ("3G03F94E-C89A-47BF-9C6A-1E22B69D667E", false),
            ("{3F03F94E-C89A-47BF-9C6A-1E22B69D667E}", false),
            ("3F03F94E-C89A-47BF-9C6A-1E22B69D66７E", false),
            ("SUB-1", false),
            ("구독-1", false),
        ] {
            assert_eq!(GuidText::read(id).is_some(), is_guid, "{id}");
            let key: String = id
                .chars()
                .filter(char::is_ascii_hexdigit)
                .map(|c| c.to_ascii_lowercase())
                .collect();
            let hex = SubscriptionId::new(id).lower_hex();
            assert_eq!(hex.is_some(), is_guid, "{id}");
            if let Some(hex) = hex {
                assert_eq!(std::str::from_utf8(&hex).unwrap(), key, "{id}");
            }
            let values = RowValues {
                subscription_id: Some(id.to_string()),
                ..full()
            };
            let row = SourceRow::from(&values);
            assert_eq!(row.subscription_id().as_deref(), Some(id));
            assert_eq!(row.values(), values);
        }
        // Two IDs that differ only in case are different rows' texts.
        let a = SubscriptionId::new("3f03f94e-c89a-47bf-9c6a-1e22b69d667e");
        let b = SubscriptionId::new("3F03F94E-C89A-47BF-9C6A-1E22B69D667E");
        assert_ne!(a, b);
    }

    proptest::proptest! {
        /// Any text comes back as it went in, and GUID-shaped ones in every case mix.
        #[test]
        fn any_subscription_id_comes_back_as_given(
            text in "\\PC{0,40}",
            hex in "[0-9a-fA-F]{32}",
        ) {
            let guid = format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..]);
            for text in [text.as_str(), guid.as_str(), &guid[..35], &hex] {
                let id = SubscriptionId::new(text);
                proptest::prop_assert_eq!(&*id.text(), text);
            }
            proptest::prop_assert!(GuidText::read(&guid).is_some());
        }
    }

    #[test]
    fn consecutive_rows_of_a_customer_share_its_texts() {
        let first = SourceRow::from(&full());
        let second = SourceRow::from(&RowValues {
            row: 18,
            subscription_id: Some("SUB-2".into()),
            seats: 3,
            ..full()
        });
        let shared = |a: &SourceRow, b: &SourceRow| match (&a.text.customer, &b.text.customer) {
            (Some(x), Some(y)) => Arc::ptr_eq(x, y),
            _ => false,
        };
        assert!(shared(&first, &second), "one copy for the customer's rows");
        assert_eq!(second.subscription_id().as_deref(), Some("SUB-2"));
        // Another customer in between: its own texts; then the first customer's rows
        // get a copy of their own, with the same values.
        let other = SourceRow::from(&RowValues {
            customer_name: Some("Fabrikam".into()),
            ..full()
        });
        assert!(!shared(&first, &other));
        assert_eq!(other.customer_name(), Some("Fabrikam"));
        let third = SourceRow::from(&full());
        assert!(!shared(&first, &third));
        assert_eq!(third.values(), full());
        // Texts that differ only in where one ends and the next begins are not shared.
        let moved = SourceRow::from(&RowValues {
            domain: Some("contoso.co".into()),
            customer_name: Some("mContoso 회사 名".into()),
            ..full()
        });
        assert!(!shared(&third, &moved));
        assert_eq!(moved.domain(), Some("contoso.co"));
        assert_eq!(moved.customer_name(), Some("mContoso 회사 名"));
    }
}
