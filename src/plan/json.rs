//! The plan's customers as JSON, written by hand: the bytes `serde_json::to_writer`
//! writes for a [`Customer`], some three times faster.
//!
//! At a million lines the plan file is about 1 GB, and serde's generic path (each key
//! escaped byte by byte at run time, each field through a trait call) was the largest
//! single cost of `cspmove plan`. Here keys are byte literals written once, numbers go
//! through `itoa`, and strings are scanned for the few bytes JSON escapes. Main
//! decision: this writer must give exactly serde's bytes, so readers (and the tests,
//! which compare the two on generated customers) need no second notion of the format.
//! Every struct is destructured without `..`, so a field added to the model does not
//! compile here until it is written.

use chrono::NaiveDate;

use crate::model::{
    Billing, Customer, LicenseAction, Line, OriginalAction, Relationship, Task, TaskKind, Term,
    WarningCode, iso_date,
};

/// How serde_json escapes each byte: 0 = as is, `u` = `\u00XX`, else `\` and that byte.
const ESCAPE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = b'u';
        b += 1;
    }
    table[0x08] = b'b';
    table[0x09] = b't';
    table[0x0a] = b'n';
    table[0x0c] = b'f';
    table[0x0d] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

/// Whether any of the 8 bytes in `word` is one JSON escapes (below 0x20, `"` or `\\`).
/// Exact as an "any" test: the borrows of the subtractions only ever add false bits
/// above a byte that is already a true hit.
fn any_escape(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let control = word.wrapping_sub(0x20 * ONES) & !word & HIGH;
    let quote = zero_byte(word ^ (u64::from(b'"') * ONES));
    let backslash = zero_byte(word ^ (u64::from(b'\\') * ONES));
    control | quote | backslash != 0
}

fn string(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    // `bytes[..start]` is written; runs of 8 bytes with nothing to escape are skipped
    // whole, the others looked at byte by byte.
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        if let Some(word) = bytes.get(i..i + 8) {
            let word = u64::from_le_bytes(word.try_into().expect("8 bytes"));
            if !any_escape(word) {
                i += 8;
                continue;
            }
        }
        for (j, &b) in bytes.iter().enumerate().take(i + 8).skip(i) {
            let escape = ESCAPE[b as usize];
            if escape == 0 {
                continue;
            }
            out.extend_from_slice(&bytes[start..j]);
            if escape == b'u' {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[(b >> 4) as usize]);
                out.push(HEX[(b & 0xf) as usize]);
            } else {
                out.push(b'\\');
                out.push(escape);
            }
            start = j + 1;
        }
        i += 8;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

fn opt_string(out: &mut Vec<u8>, s: &Option<String>) {
    match s {
        Some(s) => string(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

fn number(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

fn boolean(out: &mut Vec<u8>, b: bool) {
    out.extend_from_slice(if b { b"true" } else { b"false" });
}

/// `"YYYY-MM-DD"`, as the model's date serialiser writes it.
fn date(out: &mut Vec<u8>, d: NaiveDate) {
    match iso_date(d) {
        Some(text) => {
            out.push(b'"');
            out.extend_from_slice(&text);
            out.push(b'"');
        }
        None => string(out, &d.to_string()),
    }
}

fn list<T>(out: &mut Vec<u8>, items: &[T], mut item: impl FnMut(&mut Vec<u8>, &T)) {
    out.push(b'[');
    for (i, it) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        item(out, it);
    }
    out.push(b']');
}

fn relationship(r: Relationship) -> &'static [u8] {
    match r {
        Relationship::Request => b"\"request\"",
        Relationship::Accepted => b"\"accepted\"",
    }
}

fn task_kind(k: TaskKind) -> &'static [u8] {
    match k {
        TaskKind::RequestRelationship => b"\"request_relationship\"",
        TaskKind::Provision => b"\"provision\"",
        TaskKind::DisableAutoRenew => b"\"disable_auto_renew\"",
        TaskKind::ReassignLicenses => b"\"reassign_licenses\"",
        TaskKind::LetExpire => b"\"let_expire\"",
    }
}

fn warning(out: &mut Vec<u8>, w: &WarningCode) {
    out.push(b'"');
    out.extend_from_slice(w.as_str().as_bytes());
    out.push(b'"');
}

/// Appends `customer` as compact JSON: the bytes `serde_json::to_writer` writes.
pub fn write_customer(out: &mut Vec<u8>, customer: &Customer) {
    let Customer {
        key,
        customer_id,
        domain,
        name,
        contact_email,
        country,
        relationship: rel,
        lines,
        tasks,
    } = customer;
    out.extend_from_slice(b"{\"key\":");
    string(out, key);
    out.extend_from_slice(b",\"customer_id\":");
    opt_string(out, customer_id);
    out.extend_from_slice(b",\"domain\":");
    opt_string(out, domain);
    out.extend_from_slice(b",\"name\":");
    opt_string(out, name);
    out.extend_from_slice(b",\"contact_email\":");
    opt_string(out, contact_email);
    out.extend_from_slice(b",\"country\":");
    opt_string(out, country);
    out.extend_from_slice(b",\"relationship\":");
    out.extend_from_slice(relationship(*rel));
    out.extend_from_slice(b",\"lines\":");
    list(out, lines, write_line);
    out.extend_from_slice(b",\"tasks\":");
    list(out, tasks, write_task);
    out.push(b'}');
}

fn write_line(out: &mut Vec<u8>, line: &Line) {
    let Line {
        id,
        input,
        row,
        current_offer,
        current_offer_id,
        target_offer,
        target_offer_id,
        seats,
        target_seats,
        same_offer,
        same_license,
        license_action,
        licenses_to_reassign,
        from_sku,
        to_sku,
        expires_on,
        provision_on,
        wave,
        original_action,
        subscription_id,
        program,
        assigned,
        auto_renew,
        term,
        billing,
        warnings,
    } = line;
    out.extend_from_slice(b"{\"id\":");
    string(out, id);
    out.extend_from_slice(b",\"input\":");
    number(out, *input as u64);
    out.extend_from_slice(b",\"row\":");
    number(out, *row);
    out.extend_from_slice(b",\"current_offer\":");
    string(out, current_offer);
    if let Some(id) = current_offer_id {
        out.extend_from_slice(b",\"current_offer_id\":");
        string(out, id);
    }
    out.extend_from_slice(b",\"target_offer\":");
    string(out, target_offer);
    out.extend_from_slice(b",\"target_offer_id\":");
    opt_string(out, target_offer_id);
    out.extend_from_slice(b",\"seats\":");
    number(out, *seats);
    out.extend_from_slice(b",\"target_seats\":");
    number(out, *target_seats);
    out.extend_from_slice(b",\"same_offer\":");
    boolean(out, *same_offer);
    out.extend_from_slice(b",\"same_license\":");
    boolean(out, *same_license);
    out.extend_from_slice(match license_action {
        LicenseAction::None => b",\"license_action\":\"none\"",
        LicenseAction::Reassign => b",\"license_action\":\"reassign\"",
    });
    out.extend_from_slice(b",\"licenses_to_reassign\":");
    number(out, *licenses_to_reassign);
    out.extend_from_slice(b",\"from_sku\":");
    opt_string(out, from_sku);
    out.extend_from_slice(b",\"to_sku\":");
    opt_string(out, to_sku);
    out.extend_from_slice(b",\"expires_on\":");
    match expires_on {
        Some(d) => date(out, *d),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"provision_on\":");
    date(out, *provision_on);
    out.extend_from_slice(b",\"wave\":");
    string(out, wave);
    out.extend_from_slice(match original_action {
        OriginalAction::LetExpire => b",\"original_action\":\"let_expire\"",
    });
    if let Some(s) = subscription_id {
        out.extend_from_slice(b",\"subscription_id\":");
        string(out, s);
    }
    if let Some(p) = program {
        out.extend_from_slice(b",\"program\":");
        string(out, p);
    }
    if let Some(a) = assigned {
        out.extend_from_slice(b",\"assigned\":");
        number(out, *a);
    }
    if let Some(r) = auto_renew {
        out.extend_from_slice(b",\"auto_renew\":");
        boolean(out, *r);
    }
    out.extend_from_slice(b",\"term\":");
    out.extend_from_slice(match term {
        Term::P1M => b"\"P1M\"",
        Term::P1Y => b"\"P1Y\"",
        Term::P3Y => b"\"P3Y\"",
    });
    out.extend_from_slice(b",\"billing\":");
    out.extend_from_slice(match billing {
        Billing::Monthly => b"\"monthly\"",
        Billing::Annual => b"\"annual\"",
        Billing::Triennial => b"\"triennial\"",
    });
    out.extend_from_slice(b",\"warnings\":");
    list(out, warnings, warning);
    out.push(b'}');
}

fn write_task(out: &mut Vec<u8>, task: &Task) {
    let Task {
        id,
        kind,
        due,
        depends_on,
        line_rows,
        line_ids,
    } = task;
    out.extend_from_slice(b"{\"id\":");
    string(out, id);
    out.extend_from_slice(b",\"kind\":");
    out.extend_from_slice(task_kind(*kind));
    out.extend_from_slice(b",\"due\":");
    date(out, *due);
    out.extend_from_slice(b",\"depends_on\":");
    list(out, depends_on, |out, s| string(out, s));
    out.extend_from_slice(b",\"line_rows\":");
    list(out, line_rows, |out, n| number(out, *n));
    out.extend_from_slice(b",\"line_ids\":");
    list(out, line_ids, |out, s| string(out, s));
    out.push(b'}');
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::model::WarningCode;

    fn serde_bytes(c: &Customer) -> Vec<u8> {
        serde_json::to_vec(c).unwrap()
    }

    fn ours(c: &Customer) -> Vec<u8> {
        let mut out = Vec::new();
        write_customer(&mut out, c);
        out
    }

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-zA-Z0-9 .,-]{0,12}",
            // Every character class JSON cares about: quotes, backslashes, every
            // control character, DEL, non-ASCII and astral characters.
            prop::collection::vec(
                prop_oneof![
                    Just('"'),
                    Just('\\'),
                    Just('/'),
                    (0u32..0x20).prop_map(|c| char::from_u32(c).unwrap()),
                    Just('\u{7f}'),
                    Just('회'),
                    Just('名'),
                    Just('\u{2028}'),
                    Just('😀'),
                    any::<char>(),
                ],
                0..8
            )
            .prop_map(|cs| cs.into_iter().collect()),
        ]
    }

    fn date_strategy() -> impl Strategy<Value = NaiveDate> {
        prop_oneof![
            (1900i32..2200, 1u32..13, 1u32..29)
                .prop_map(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d).unwrap()),
            Just(NaiveDate::MIN),
            Just(NaiveDate::MAX),
            Just(NaiveDate::from_ymd_opt(-1, 12, 31).unwrap()),
            Just(NaiveDate::from_ymd_opt(10000, 1, 1).unwrap()),
        ]
    }

    prop_compose! {
        fn line()(
            (id, input, row, current_offer, current_offer_id, target_offer, target_offer_id)
                in (text(), any::<usize>(), any::<u64>(), text(),
                    prop::option::of(text()), text(), prop::option::of(text())),
            (seats, target_seats, same_offer, reassign, licenses_to_reassign, from_sku, to_sku)
                in (any::<u64>(), any::<u64>(), any::<bool>(), any::<bool>(), any::<u64>(),
                    prop::option::of(text()), prop::option::of(text())),
            (same_license, term, billing) in (any::<bool>(),
                prop::sample::select(Term::ALL.to_vec()),
                prop::sample::select(Billing::ALL.to_vec())),
            (expires_on, provision_on, wave, subscription_id, program, assigned, auto_renew)
                in (prop::option::of(date_strategy()), date_strategy(), text(),
                    prop::option::of(text()), prop::option::of(text()),
                    prop::option::of(any::<u64>()), prop::option::of(any::<bool>())),
            warnings in prop::sample::subsequence(WarningCode::ALL.to_vec(), 0..4),
        ) -> Line {
            Line {
                id, input, row, current_offer, current_offer_id, target_offer,
                target_offer_id, seats, target_seats, same_offer, same_license,
                license_action: if reassign { LicenseAction::Reassign } else { LicenseAction::None },
                licenses_to_reassign, from_sku, to_sku, expires_on, provision_on, wave,
                original_action: OriginalAction::LetExpire,
                subscription_id, program, assigned, auto_renew, term, billing, warnings,
            }
        }
    }

    prop_compose! {
        fn task()(
            id in text(),
            kind in prop::sample::select(vec![
                TaskKind::RequestRelationship, TaskKind::Provision,
                TaskKind::DisableAutoRenew, TaskKind::ReassignLicenses, TaskKind::LetExpire,
            ]),
            due in date_strategy(),
            depends_on in prop::collection::vec(text(), 0..3),
            line_rows in prop::collection::vec(any::<u64>(), 0..4),
            line_ids in prop::collection::vec(text(), 0..4),
        ) -> Task {
            Task { id, kind, due, depends_on, line_rows, line_ids }
        }
    }

    prop_compose! {
        fn customer()(
            key in text(),
            (customer_id, domain, name, contact_email, country) in (
                prop::option::of(text()), prop::option::of(text()), prop::option::of(text()),
                prop::option::of(text()), prop::option::of(text())),
            accepted in any::<bool>(),
            lines in prop::collection::vec(line(), 0..4),
            tasks in prop::collection::vec(task(), 0..5),
        ) -> Customer {
            Customer {
                key, customer_id, domain, name, contact_email, country,
                relationship: if accepted { Relationship::Accepted } else { Relationship::Request },
                lines, tasks,
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn customers_are_written_as_serde_json_writes_them(c in customer()) {
            prop_assert_eq!(String::from_utf8(ours(&c)).unwrap(), String::from_utf8(serde_bytes(&c)).unwrap());
        }
    }

    #[test]
    fn escapes_are_found_at_every_position_of_a_word() {
        for special in ['"', '\\', '\n', '\u{1}', '\u{1f}', '\u{7f}', ' ', '~', '회'] {
            for len in 0..20 {
                for at in 0..len {
                    let mut text: Vec<char> = "abcdefghijklmnopqrst".chars().take(len).collect();
                    text[at] = special;
                    let text: String = text.into_iter().collect();
                    let mut out = Vec::new();
                    string(&mut out, &text);
                    assert_eq!(out, serde_json::to_vec(&text).unwrap(), "{text:?}");
                }
            }
        }
    }

    #[test]
    fn every_byte_escapes_as_serde_json_escapes_it() {
        let all: String = (0u32..0x800).filter_map(char::from_u32).collect();
        let mut out = Vec::new();
        string(&mut out, &all);
        assert_eq!(out, serde_json::to_vec(&all).unwrap());
    }
}
