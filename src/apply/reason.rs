//! Why a customer is blocked or waiting, and why a line cannot be bought, as data: a
//! code and its numbers and IDs, put into words only where a person reads them.
//!
//! The main decision: the journal records the [`Reason`] (its `reason` field) beside the
//! English `note` kept for people reading the file, and `status`, the execution report,
//! `apply`'s summary and the `--dry-run` listing say the reason in their own language
//! (keys `reason.*` in src/i18n). A journal written before reasons existed has only the
//! note: it reads as [`Note::Written`] and is shown as it was written, so old journals
//! stay readable. JSON for scripts keeps the English text.

use serde::{Deserialize, Serialize};

use crate::i18n::{Lang, Texts, texts};

/// cspmove's own words about what stops a customer or a line, as data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reason {
    /// Blocked: fewer free seats of the new SKU than users to move.
    SeatsShort {
        offer: String,
        free: u64,
        users: u64,
    },
    /// Waiting: the seats bought are not all in the tenant yet.
    SeatsArriving {
        offer: String,
        bought: u64,
        present: u64,
        free: u64,
        users: u64,
    },
    /// Blocked: a 403 on a user or licence call, no GDAP role for it in the tenant.
    MissingRole {
        call: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<String>,
    },
    /// A line without a target offer ID.
    NoTargetOfferId { line: String },
    /// A line whose target offer ID is neither a GUID nor `PRODUCT:SKU`.
    BadTargetOfferId { line: String, id: String },
    /// A line with 0 seats to buy.
    NoSeats { line: String },
    /// A line whose licence SKU is not a GUID.
    SkuNotGuid { line: String, sku: String },
    /// A line that moves licences without both licence SKUs.
    NoLicenceSkus { line: String },
    /// A plan customer ID that is not a GUID.
    CustomerIdNotGuid { id: String },
    /// A product not sold with the line's term and billing in the customer's market.
    NotSold {
        offer: String,
        item: String,
        term: String,
        billing: String,
        country: String,
        sells: String,
    },
    /// A legacy add-on whose base offer the customer does not hold.
    AddOnWithoutBase { line: String, offer: String },
}

impl Reason {
    /// The sentence that says what is wrong (and, for a block, what to do).
    pub fn text(&self, t: &Texts) -> String {
        let n = |v: &u64| t.number(*v);
        match self {
            Reason::SeatsShort { offer, free, users } => {
                let missing = users.saturating_sub(*free);
                t.fill(
                    "reason.seats_short",
                    &[
                        ("offer", offer),
                        ("free", &counted(t, "reason.seats", *free)),
                        ("users", &counted(t, "reason.users", *users)),
                        ("missing", &counted(t, "reason.more_seats", missing)),
                    ],
                )
            }
            Reason::SeatsArriving {
                offer,
                bought,
                present,
                free,
                users,
            } => t.fill(
                if *bought == 1 {
                    "reason.seats_arriving_one"
                } else {
                    "reason.seats_arriving"
                },
                &[
                    ("offer", offer),
                    ("bought", &n(bought)),
                    ("present", &n(present)),
                    ("free", &n(free)),
                    ("users", &counted(t, "reason.users", *users)),
                ],
            ),
            Reason::MissingRole { call, code } => {
                let status = match code {
                    Some(code) => format!("HTTP 403 code {code}"),
                    None => "HTTP 403".to_string(),
                };
                t.fill(
                    if call.starts_with("GET") {
                        "reason.missing_role_read"
                    } else {
                        "reason.missing_role_write"
                    },
                    &[("call", call), ("status", &status)],
                )
            }
            Reason::NoTargetOfferId { line } => {
                t.fill("reason.no_target_offer_id", &[("line", line)])
            }
            Reason::BadTargetOfferId { line, id } => t.fill(
                "reason.bad_target_offer_id",
                &[("line", line), ("id", &format!("{id:?}"))],
            ),
            Reason::NoSeats { line } => t.fill("reason.no_seats", &[("line", line)]),
            Reason::SkuNotGuid { line, sku } => t.fill(
                "reason.sku_not_guid",
                &[("line", line), ("sku", &format!("{sku:?}"))],
            ),
            Reason::NoLicenceSkus { line } => t.fill("reason.no_licence_skus", &[("line", line)]),
            Reason::CustomerIdNotGuid { id } => {
                t.fill("reason.customer_id_not_guid", &[("id", &format!("{id:?}"))])
            }
            Reason::NotSold {
                offer,
                item,
                term,
                billing,
                country,
                sells,
            } => t.fill(
                "reason.not_sold",
                &[
                    ("offer", offer),
                    ("item", item),
                    ("term", term),
                    ("billing", billing),
                    ("country", country),
                    ("sells", sells),
                ],
            ),
            Reason::AddOnWithoutBase { line, offer } => t.fill(
                "reason.addon_without_base",
                &[("line", line), ("offer", offer)],
            ),
        }
    }

    /// What to do about a failure found in the plan (the hint of its error record); a
    /// block's text says it already.
    pub fn hint(&self, t: &Texts) -> String {
        let key = match self {
            Reason::SeatsShort { .. }
            | Reason::SeatsArriving { .. }
            | Reason::MissingRole { .. } => return String::new(),
            Reason::NoTargetOfferId { .. }
            | Reason::BadTargetOfferId { .. }
            | Reason::NoSeats { .. }
            | Reason::SkuNotGuid { .. } => "reason_hint.fix_line",
            Reason::NoLicenceSkus { .. } => "reason_hint.no_licence_skus",
            Reason::CustomerIdNotGuid { .. } => "reason_hint.customer_id_not_guid",
            Reason::NotSold { .. } => "reason_hint.not_sold",
            Reason::AddOnWithoutBase { .. } => "reason_hint.addon_without_base",
        };
        t.get(key).to_string()
    }

    /// [`Reason::text`] in English: the journal's `note`, and JSON.
    pub fn english(&self) -> String {
        self.text(texts(Lang::En))
    }
}

/// A count with its noun (`key`: "{count} seats"), or the singular `key_one` when the
/// count is 1 ([`crate::i18n::one_or_many`]). A sentence with two or three counts fills
/// each from its own key instead of having a variant per combination.
fn counted(t: &Texts, key: &'static str, count: u64) -> String {
    let key = crate::i18n::one_or_many(key, count);
    t.fill(key, &[("count", &t.number(count))])
}

/// A journal note as a reader gets it: a [`Reason`] said in the reader's language, or,
/// from a journal written before reasons existed, the English sentence it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    Reason(Box<Reason>),
    Written(String),
}

impl Note {
    /// The note of an event: its reason when it has one, else its written note.
    pub fn of(reason: Option<&Reason>, note: Option<&str>) -> Note {
        match reason {
            Some(r) => Note::Reason(Box::new(r.clone())),
            None => Note::Written(note.unwrap_or_default().to_string()),
        }
    }

    pub fn text(&self, t: &Texts) -> String {
        match self {
            Note::Reason(r) => r.text(t),
            Note::Written(text) => text.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Vec<Reason> {
        let line = || "c1-l1".to_string();
        vec![
            Reason::SeatsShort {
                offer: "Microsoft 365 E3".into(),
                free: 2,
                users: 3,
            },
            Reason::SeatsShort {
                offer: "Microsoft 365 E3".into(),
                free: 0,
                users: 1200,
            },
            Reason::SeatsArriving {
                offer: "Microsoft 365 E3".into(),
                bought: 10,
                present: 4,
                free: 1,
                users: 3,
            },
            Reason::MissingRole {
                call: "GET /v1/customers/x/users".into(),
                code: None,
            },
            Reason::MissingRole {
                call: "POST /v1/customers/x/users/u/licenseupdates".into(),
                code: Some("50001".into()),
            },
            Reason::NoTargetOfferId { line: line() },
            Reason::BadTargetOfferId {
                line: line(),
                id: "x/../y".into(),
            },
            Reason::NoSeats { line: line() },
            Reason::SkuNotGuid {
                line: line(),
                sku: "../users".into(),
            },
            Reason::NoLicenceSkus { line: line() },
            Reason::CustomerIdNotGuid { id: "acme".into() },
            Reason::NotSold {
                offer: "Microsoft 365 E3".into(),
                item: "CFQ7TTC0LFLX:0001".into(),
                term: "P1M".into(),
                billing: "annual".into(),
                country: "KR".into(),
                sells: "P1Y monthly".into(),
            },
            Reason::AddOnWithoutBase {
                line: line(),
                offer: "Extra Storage".into(),
            },
        ]
    }

    #[test]
    fn the_english_texts_are_the_sentences_journals_held_before() {
        let en = texts(Lang::En);
        let r = all();
        assert_eq!(
            r[0].text(en),
            "2 seats of Microsoft 365 E3 for 3 users: buy 1 more seat of Microsoft 365 E3 (or free some), then re-run apply"
        );
        assert!(
            r[1].text(en).contains("buy 1,200 more seats of"),
            "{}",
            r[1].text(en)
        );
        assert_eq!(
            r[2].text(en),
            "the 10 seats of Microsoft 365 E3 bought are not all in the tenant yet (4 there, 1 free) for 3 users"
        );
        assert!(r[3].text(en).starts_with(
            "Partner Center refused GET /v1/customers/x/users (HTTP 403): the partner user has no GDAP role"
        ));
        assert!(r[3].text(en).contains("Directory Readers"));
        assert!(r[4].text(en).contains("(HTTP 403 code 50001)"));
        assert!(!r[4].text(en).contains("Directory Readers"));
        assert_eq!(
            r[6].text(en),
            "line c1-l1: target offer ID \"x/../y\" is neither a legacy offer GUID nor a new-commerce PRODUCT:SKU"
        );
        assert_eq!(r[7].text(en), "line c1-l1: 0 seats to buy");
    }

    fn short(free: u64, users: u64) -> Reason {
        Reason::SeatsShort {
            offer: "Microsoft 365 E3".into(),
            free,
            users,
        }
    }

    fn arriving(bought: u64, users: u64) -> Reason {
        Reason::SeatsArriving {
            offer: "Microsoft 365 E3".into(),
            bought,
            present: 0,
            free: 0,
            users,
        }
    }

    /// Each count (free seats, users, seats missing, seats bought) reads in the singular
    /// when it is 1, whatever the others are.
    #[test]
    fn counts_of_one_read_in_the_singular() {
        let en = texts(Lang::En);
        assert_eq!(
            short(1, 2).text(en),
            "1 seat of Microsoft 365 E3 for 2 users: buy 1 more seat of Microsoft 365 E3 (or free some), then re-run apply"
        );
        assert_eq!(
            short(0, 1).text(en),
            "0 seats of Microsoft 365 E3 for 1 user: buy 1 more seat of Microsoft 365 E3 (or free some), then re-run apply"
        );
        assert_eq!(
            short(1_000, 1_002).text(en),
            "1,000 seats of Microsoft 365 E3 for 1,002 users: buy 2 more seats of Microsoft 365 E3 (or free some), then re-run apply"
        );
        assert_eq!(
            arriving(1, 1).text(en),
            "the 1 seat of Microsoft 365 E3 bought is not in the tenant yet (0 there, 0 free) for 1 user"
        );
        assert_eq!(
            arriving(2, 2).text(en),
            "the 2 seats of Microsoft 365 E3 bought are not all in the tenant yet (0 there, 0 free) for 2 users"
        );
        for r in [short(1, 2), short(0, 1), arriving(1, 1)] {
            let said = r.text(en);
            assert!(
                !said.contains(" 1 seats")
                    && !said.contains(" 1 users")
                    && !said.contains("1 more seats"),
                "{said}"
            );
            for lang in [Lang::Ko, Lang::Ja] {
                let t = texts(lang);
                let text = r.text(t);
                assert_ne!(text, said, "{r:?} is English in {}", lang.code());
                assert!(!text.contains('{'), "{text}");
                assert!(text.contains("Microsoft 365 E3"), "{text}");
            }
        }
        assert_eq!(
            short(1, 2).text(texts(Lang::Ko)),
            "2명에게 필요한 Microsoft 365 E3 라이선스 중 1석만 사용 가능: Microsoft 365 E3을(를) 1석 더 구매하거나 일부를 비운 뒤 apply를 다시 실행하세요"
        );
        assert_eq!(
            short(1, 2).text(texts(Lang::Ja)),
            "2 人のユーザーに対して Microsoft 365 E3 の空きシートが 1 シート: Microsoft 365 E3 をあと 1 シート購入する (または空ける) と、apply を再実行できます"
        );
    }

    #[test]
    fn every_reason_is_said_in_every_language_with_its_ids() {
        for r in all() {
            let en = r.text(texts(Lang::En));
            for lang in [Lang::Ko, Lang::Ja] {
                let said = r.text(texts(lang));
                assert_ne!(said, en, "{r:?} is English in {}", lang.code());
                for id in [
                    "c1-l1",
                    "Microsoft 365 E3",
                    "CFQ7TTC0LFLX:0001",
                    "/v1/customers/x",
                ] {
                    if en.contains(id) {
                        assert!(said.contains(id), "{id} lost in {}: {said}", lang.code());
                    }
                }
                let hint = r.hint(texts(lang));
                assert_eq!(hint.is_empty(), r.hint(texts(Lang::En)).is_empty());
            }
        }
    }

    #[test]
    fn reasons_round_trip_through_the_journal_and_old_notes_stay() {
        for r in all() {
            let json = serde_json::to_string(&r).unwrap();
            assert!(json.starts_with("{\"kind\":"), "{json}");
            assert_eq!(serde_json::from_str::<Reason>(&json).unwrap(), r);
        }
        let old = Note::of(None, Some("2 seats of X for 3 users: buy 1 more seat"));
        assert_eq!(
            old.text(texts(Lang::Ja)),
            "2 seats of X for 3 users: buy 1 more seat"
        );
    }
}
