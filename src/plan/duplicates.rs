//! Rows that repeat an earlier row: `DUPLICATE_ROW`, repeated subscriptions and
//! `CONFLICTING_SUBSCRIPTION` (DESIGN §3, §5).
//!
//! A row **with** a `subscription_id` is one subscription: rows that share it (compared
//! without case and punctuation, so `ABC-1` is `abc1`) and agree on every other field
//! are that one subscription listed again (a reconciliation file lists it once per
//! charge): one line, the repeats counted, not rejected. Rows that share it and disagree
//! are rejected `CONFLICTING_SUBSCRIPTION`, naming the first row and the fields that
//! differ: which of them is right is the user's call, and planning both would buy the
//! seats twice. A row **without** one repeats an earlier row when their parsed
//! [`SourceRow`]s are equal apart from where they came from (`input`, `row`): ordering it
//! would buy its seats twice, so it is rejected `DUPLICATE_ROW`. In both cases the
//! "first" row is the first in input order. Main decision: hash every row in parallel,
//! sort (hash, position) pairs in parallel and compare rows only within runs of equal
//! hashes, so the cost stays near linear and the result does not depend on the thread
//! count.

use std::hash::BuildHasher;

use rayon::prelude::*;

use crate::input::{SourceRow, SubscriptionText};

/// Every mapped field of a row (not where it came from), comparable and hashable.
fn content(r: &SourceRow) -> impl std::hash::Hash + Eq + '_ {
    r.content()
}

fn content_hash(r: &SourceRow) -> u64 {
    // A fixed seed: the hash only groups candidates, which are then compared in full.
    foldhash::fast::FixedState::default().hash_one(content(r))
}

/// The letters and digits of a subscription ID, lower case: the comparison key.
fn subscription_key(id: &str) -> impl Iterator<Item = char> + '_ {
    id.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
}

/// The hash of [`subscription_key`] as UTF-8. IDs are nearly always ASCII (GUIDs): those
/// are keyed byte by byte on the stack, without the Unicode case tables, to the same
/// bytes the general path makes.
fn subscription_hash(id: &str) -> u64 {
    // For ASCII the key is the match key: letters and digits, lower case.
    match crate::text::ascii_match_key(id, &mut [0u8; 64]) {
        Some(key) => key_hash(key.as_bytes()),
        None => key_hash(subscription_key(id).collect::<String>().as_bytes()),
    }
}

/// The hash of a subscription key's UTF-8 bytes (a fixed seed: it only groups
/// candidates, which are then compared in full).
fn key_hash(key: &[u8]) -> u64 {
    foldhash::fast::FixedState::default().hash_one(key)
}

/// The row's subscription ID when it has one with a letter or digit in it.
fn subscription(r: &SourceRow) -> Option<SubscriptionText<'_>> {
    r.subscription_id().filter(|s| {
        s.bytes().any(|b| b.is_ascii_alphanumeric())
            || (!s.is_ascii() && s.chars().any(char::is_alphanumeric))
    })
}

/// The fields in which two rows differ, by their input names (`subscription_id`, and
/// where the rows came from, are not compared). [`SourceRow::content`] destructures
/// the row without `..`, so a new field is a compile error there until it is
/// considered; the test `differing_fields_name_every_field` checks this list.
pub fn differing_fields(a: &SourceRow, b: &SourceRow) -> Vec<&'static str> {
    let mut out = Vec::new();
    let mut differ = |same: bool, name: &'static str| {
        if !same {
            out.push(name);
        }
    };
    differ(a.customer_id() == b.customer_id(), "customer_id");
    differ(
        a.invalid_customer_id() == b.invalid_customer_id(),
        "customer_id",
    );
    differ(a.domain() == b.domain(), "domain");
    differ(a.customer_name() == b.customer_name(), "customer_name");
    differ(a.contact_email() == b.contact_email(), "contact_email");
    differ(a.country() == b.country(), "country");
    differ(a.program() == b.program(), "program");
    differ(a.current_offer() == b.current_offer(), "current_offer");
    differ(
        a.current_offer_id() == b.current_offer_id(),
        "current_offer_id",
    );
    differ(a.seats == b.seats, "seats");
    differ(a.assigned == b.assigned, "assigned");
    differ(a.expires_on == b.expires_on, "expires_on");
    differ(a.auto_renew == b.auto_renew, "auto_renew");
    differ(a.target_offer() == b.target_offer(), "target_offer");
    differ(a.target_seats == b.target_seats, "target_seats");
    differ(
        a.relationship_accepted == b.relationship_accepted,
        "relationship",
    );
    differ(a.term == b.term, "term");
    differ(a.billing == b.billing, "billing");
    out.dedup();
    // Every field but where the row came from and its subscription ID is compared
    // above: the same rows with their subscription IDs set equal have equal content.
    out
}

/// How a row repeats an earlier one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RepeatKind {
    /// No subscription ID, equal in every field: `DUPLICATE_ROW`.
    Duplicate,
    /// The same subscription, equal in every field: counted, not planned again.
    Subscription,
    /// The same subscription with other values (these fields): `CONFLICTING_SUBSCRIPTION`.
    Conflict(Vec<&'static str>),
}

/// A row that repeats an earlier one: positions in `rows`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repeat {
    pub repeat: usize,
    pub original: usize,
    pub kind: RepeatKind,
}

/// Every row that repeats an earlier one, sorted by the repeat's position. Runs on the
/// current rayon pool.
pub fn find_repeats(rows: &[SourceRow]) -> Vec<Repeat> {
    let mut hashed: Vec<(bool, u64, usize)> = rows
        .par_iter()
        .enumerate()
        .map(|(i, r)| match r.subscription_guid_hex() {
            // A GUID's letters and digits in lower case are its key as they stand.
            Some(key) => (true, key_hash(&key), i),
            None => match subscription(r) {
                Some(id) => (true, subscription_hash(&id), i),
                None => (false, content_hash(r), i),
            },
        })
        .collect();
    hashed.par_sort_unstable();
    let mut found: Vec<Repeat> = hashed
        .par_chunk_by(|a, b| (a.0, a.1) == (b.0, b.1))
        .filter(|run| run.len() > 1)
        .flat_map_iter(|run| {
            // Within a run positions ascend; each row is compared with the distinct
            // originals seen so far (nearly always exactly one).
            let mut originals: Vec<usize> = Vec::new();
            let mut out = Vec::new();
            for &(by_subscription, _, i) in run {
                if by_subscription {
                    let id = |r: usize| subscription(&rows[r]).unwrap_or_default();
                    let same_id =
                        |o: &usize| subscription_key(&id(*o)).eq(subscription_key(&id(i)));
                    match originals.iter().find(|o| same_id(o)) {
                        Some(&o) => {
                            let differ = differing_fields(&rows[o], &rows[i]);
                            let kind = if differ.is_empty() {
                                RepeatKind::Subscription
                            } else {
                                RepeatKind::Conflict(differ)
                            };
                            out.push(Repeat {
                                repeat: i,
                                original: o,
                                kind,
                            });
                        }
                        None => originals.push(i),
                    }
                } else {
                    match originals
                        .iter()
                        .find(|&&o| content(&rows[o]) == content(&rows[i]))
                    {
                        Some(&o) => out.push(Repeat {
                            repeat: i,
                            original: o,
                            kind: RepeatKind::Duplicate,
                        }),
                        None => originals.push(i),
                    }
                }
            }
            out
        })
        .collect();
    found.par_sort_unstable_by_key(|r| r.repeat);
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::RowValues;
    use crate::plan::rules::tests::row;

    fn find_duplicates(rows: &[RowValues]) -> Vec<(usize, usize)> {
        find_repeats(&compact(rows))
            .into_iter()
            .map(|r| {
                assert_eq!(r.kind, RepeatKind::Duplicate);
                (r.repeat, r.original)
            })
            .collect()
    }

    fn compact(rows: &[RowValues]) -> Vec<SourceRow> {
        rows.iter().map(SourceRow::from).collect()
    }

    fn with_subscription(mut r: RowValues, id: &str) -> RowValues {
        r.subscription_id = Some(id.to_string());
        r
    }

    #[test]
    fn a_subscription_listed_per_charge_is_one_and_a_disagreeing_one_conflicts() {
        let rows = vec![
            with_subscription(row(2, "a", "E3", 10), "5A6B-11"),
            with_subscription(row(3, "a", "E3", 10), "5a6b11"),
            with_subscription(row(4, "a", "E3", 12), "{5A6B-11}"),
            with_subscription(row(5, "b", "E3", 10), "7"),
            row(6, "a", "E3", 10),
            with_subscription(row(7, "a", "E3", 10), "5a6b-11"),
        ];
        assert_eq!(
            find_repeats(&compact(&rows)),
            vec![
                Repeat {
                    repeat: 1,
                    original: 0,
                    kind: RepeatKind::Subscription
                },
                Repeat {
                    repeat: 2,
                    original: 0,
                    kind: RepeatKind::Conflict(vec!["seats"])
                },
                Repeat {
                    repeat: 5,
                    original: 0,
                    kind: RepeatKind::Subscription
                },
            ]
        );
    }

    #[test]
    fn the_ascii_subscription_hash_is_the_hash_of_the_key() {
        let general = |id: &str| {
            foldhash::fast::FixedState::default()
                .hash_one(subscription_key(id).collect::<String>().as_bytes())
        };
        let long = "A-".repeat(40);
        for id in [
            "ABC-1",
            "abc1",
            "a1B2-C3d4_E5",
            "--",
            "",
            long.as_str(),
            "\u{212A}123",
            "K123",
        ] {
            assert_eq!(subscription_hash(id), general(id), "{id:?}");
        }
        // The Kelvin sign lower-cases to an ASCII `k`: one key, one hash, either path.
        assert_eq!(subscription_hash("\u{212A}123"), subscription_hash("K-123"));
        assert_ne!(subscription_hash("K123"), subscription_hash("K124"));
    }

    #[test]
    fn subscription_id_differing_in_case_or_punctuation_is_one_subscription() {
        let rows = vec![
            with_subscription(
                row(2, "a", "E3", 10),
                "B36B1E39-1BA8-430B-B260-DF74FA0A610E",
            ),
            with_subscription(row(3, "a", "E3", 10), "b36b1e391ba8430bb260df74fa0a610e"),
        ];
        let found = find_repeats(&compact(&rows));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].kind, RepeatKind::Subscription);
    }

    #[test]
    fn finds_repeats_of_the_first_occurrence() {
        let mut rows = vec![
            row(2, "a", "E3", 10),
            row(3, "a", "E3", 11),
            row(4, "a", "E3", 10),
            row(5, "b", "E3", 10),
            row(6, "a", "E3", 10),
        ];
        rows[4].input = 1;
        assert_eq!(find_duplicates(&rows), vec![(2, 0), (4, 0)]);
    }

    #[test]
    fn any_differing_field_is_not_a_repeat() {
        let a = row(2, "a", "E3", 10);
        let mut b = row(3, "a", "E3", 10);
        b.contact_email = Some("x@example.com".into());
        let mut c = row(4, "a", "E3", 10);
        c.auto_renew = Some(false);
        assert!(find_duplicates(&[a, b, c]).is_empty());
    }
}
