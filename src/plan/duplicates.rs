//! Rows that repeat an earlier row in every mapped field (`DUPLICATE_ROW`).
//!
//! Ordering a repeated row would buy its seats twice, so a repeat is rejected, naming
//! the row it repeats. Two rows are the same when their parsed [`SourceRow`]s are equal
//! apart from where they came from (`input`, `row`); a row "repeats" the first such
//! row in input order. Main decision: hash every row in parallel, sort (hash, position)
//! pairs in parallel and compare full rows only within runs of equal hashes, so the
//! cost stays near linear and the result does not depend on the thread count.

use std::hash::BuildHasher;

use rayon::prelude::*;

use crate::input::SourceRow;

/// Every mapped field of a row, borrowed. Destructuring without `..` makes adding a
/// field to [`SourceRow`] a compile error here until it is considered.
#[allow(clippy::type_complexity)]
fn content(
    r: &SourceRow,
) -> (
    (
        &Option<String>,
        &Option<String>,
        &Option<String>,
        &Option<String>,
        &Option<String>,
        &Option<String>,
        &Option<String>,
        &String,
        &Option<String>,
    ),
    (
        &Option<String>,
        u64,
        Option<u64>,
        Option<chrono::NaiveDate>,
        Option<bool>,
        &Option<String>,
        Option<u64>,
        Option<bool>,
    ),
) {
    let SourceRow {
        input: _,
        row: _,
        customer_id,
        invalid_customer_id,
        domain,
        customer_name,
        contact_email,
        country,
        program,
        current_offer,
        current_offer_id,
        subscription_id,
        seats,
        assigned,
        expires_on,
        auto_renew,
        target_offer,
        target_seats,
        relationship_accepted,
    } = r;
    (
        (
            customer_id,
            invalid_customer_id,
            domain,
            customer_name,
            contact_email,
            country,
            program,
            current_offer,
            current_offer_id,
        ),
        (
            subscription_id,
            *seats,
            *assigned,
            *expires_on,
            *auto_renew,
            target_offer,
            *target_seats,
            *relationship_accepted,
        ),
    )
}

fn content_hash(r: &SourceRow) -> u64 {
    // A fixed seed: the hash only groups candidates, which are then compared in full.
    foldhash::fast::FixedState::default().hash_one(content(r))
}

/// For each row that repeats an earlier one: `(repeat, original)` positions in `rows`,
/// sorted by the repeat's position. Runs on the current rayon pool.
pub fn find_duplicates(rows: &[SourceRow]) -> Vec<(usize, usize)> {
    let mut hashed: Vec<(u64, usize)> = rows
        .par_iter()
        .enumerate()
        .map(|(i, r)| (content_hash(r), i))
        .collect();
    hashed.par_sort_unstable();
    let mut found: Vec<(usize, usize)> = hashed
        .par_chunk_by(|a, b| a.0 == b.0)
        .filter(|run| run.len() > 1)
        .flat_map_iter(|run| {
            // Within a run positions ascend; each row is compared with the distinct
            // originals seen so far (nearly always exactly one).
            let mut originals: Vec<usize> = Vec::new();
            let mut out = Vec::new();
            for &(_, i) in run {
                match originals
                    .iter()
                    .find(|&&o| content(&rows[o]) == content(&rows[i]))
                {
                    Some(&o) => out.push((i, o)),
                    None => originals.push(i),
                }
            }
            out
        })
        .collect();
    found.par_sort_unstable();
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::rules::tests::row;

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
