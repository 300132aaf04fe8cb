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
//!
//! A line is written from a [`Line`] or from the borrowed [`LineFacts`] of a row and its
//! decision, and a task from a [`Task`] or from its [`TaskPlan`]; both go through one
//! writer of borrowed fields (ids `c{n}-l{m}` as digits), so `cspmove plan` writes its
//! customers without building them and still gives serde's bytes (`plan::tests` compares
//! the two paths).

use chrono::NaiveDate;

use crate::model::{
    Billing, Customer, LicenseAction, Line, OriginalAction, Relationship, Task, TaskKind, Term,
    WarningCode, iso_date,
};
use crate::plan::rules::{LineFacts, Warnings};
use crate::plan::tasks::{TaskLine, TaskPlan};

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
    list_of(out, items, |out, it| item(out, it));
}

fn list_of<T>(
    out: &mut Vec<u8>,
    items: impl IntoIterator<Item = T>,
    mut item: impl FnMut(&mut Vec<u8>, &T),
) {
    out.push(b'[');
    for (i, it) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        item(out, &it);
    }
    out.push(b']');
}

/// A line's or task's id: a text, or `c{customer}-{kind}{n}` (what
/// [`crate::plan::tasks::item_id`] makes) written without building it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Id<'a> {
    Text(&'a str),
    Item(usize, u8, usize),
}

fn id(out: &mut Vec<u8>, id: &Id<'_>) {
    match *id {
        Id::Text(s) => string(out, s),
        Id::Item(customer, kind, n) => {
            // Digits, a hyphen and a letter: nothing to escape.
            out.extend_from_slice(b"\"c");
            number(out, customer as u64);
            out.push(b'-');
            out.push(kind);
            number(out, n as u64);
            out.push(b'"');
        }
    }
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

/// The fields of a customer before its lines and tasks, borrowed.
pub(crate) struct CustomerHead<'a> {
    pub key: &'a str,
    pub customer_id: Option<&'a str>,
    pub domain: Option<&'a str>,
    pub name: Option<&'a str>,
    pub contact_email: Option<&'a str>,
    pub country: Option<&'a str>,
    pub relationship: Relationship,
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
        relationship,
        lines,
        tasks,
    } = customer;
    let head = CustomerHead {
        key,
        customer_id: customer_id.as_deref(),
        domain: domain.as_deref(),
        name: name.as_deref(),
        contact_email: contact_email.as_deref(),
        country: country.as_deref(),
        relationship: *relationship,
    };
    write_customer_start(out, &head);
    list(out, lines, write_line);
    write_customer_tasks(out);
    list(out, tasks, write_task);
    out.push(b'}');
}

/// Appends a customer's head as [`write_customer`] writes it, up to its lines: the
/// caller then writes the list of lines, [`write_customer_tasks`], the list of tasks and
/// a closing `}`.
pub(crate) fn write_customer_start(out: &mut Vec<u8>, head: &CustomerHead<'_>) {
    let opt = |out: &mut Vec<u8>, s: Option<&str>| match s {
        Some(s) => string(out, s),
        None => out.extend_from_slice(b"null"),
    };
    out.extend_from_slice(b"{\"key\":");
    string(out, head.key);
    out.extend_from_slice(b",\"customer_id\":");
    opt(out, head.customer_id);
    out.extend_from_slice(b",\"domain\":");
    opt(out, head.domain);
    out.extend_from_slice(b",\"name\":");
    opt(out, head.name);
    out.extend_from_slice(b",\"contact_email\":");
    opt(out, head.contact_email);
    out.extend_from_slice(b",\"country\":");
    opt(out, head.country);
    out.extend_from_slice(b",\"relationship\":");
    out.extend_from_slice(relationship(head.relationship));
    out.extend_from_slice(b",\"lines\":");
}

/// What comes between a customer's lines and its tasks.
pub(crate) fn write_customer_tasks(out: &mut Vec<u8>) {
    out.extend_from_slice(b",\"tasks\":");
}

/// A line's `wave`: its text, or the one [`crate::plan::rules::wave`] makes of a date.
enum Wave<'a> {
    Text(&'a str),
    Of(NaiveDate),
}

/// A line's warnings: a list, or the set a decision carries (written in its order).
enum Warns<'a> {
    List(&'a [WarningCode]),
    Set(Warnings),
}

/// Every field of a line, borrowed: what both [`Line`] and [`LineFacts`] are written
/// through, so they give the same bytes.
struct LineOut<'a> {
    id: Id<'a>,
    input: usize,
    row: u64,
    current_offer: &'a str,
    current_offer_id: Option<&'a str>,
    target_offer: &'a str,
    target_offer_id: Option<&'a str>,
    seats: u64,
    target_seats: u64,
    same_offer: bool,
    same_license: bool,
    license_action: LicenseAction,
    licenses_to_reassign: u64,
    from_sku: Option<&'a str>,
    to_sku: Option<&'a str>,
    expires_on: Option<NaiveDate>,
    provision_on: NaiveDate,
    wave: Wave<'a>,
    original_action: OriginalAction,
    subscription_id: Option<&'a str>,
    program: Option<&'a str>,
    assigned: Option<u64>,
    auto_renew: Option<bool>,
    term: Term,
    billing: Billing,
    warnings: Warns<'a>,
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
    write_line_out(
        out,
        &LineOut {
            id: Id::Text(id),
            input: *input,
            row: *row,
            current_offer,
            current_offer_id: current_offer_id.as_deref(),
            target_offer,
            target_offer_id: target_offer_id.as_deref(),
            seats: *seats,
            target_seats: *target_seats,
            same_offer: *same_offer,
            same_license: *same_license,
            license_action: *license_action,
            licenses_to_reassign: *licenses_to_reassign,
            from_sku: from_sku.as_deref(),
            to_sku: to_sku.as_deref(),
            expires_on: *expires_on,
            provision_on: *provision_on,
            wave: Wave::Text(wave),
            original_action: *original_action,
            subscription_id: subscription_id.as_deref(),
            program: program.as_deref(),
            assigned: *assigned,
            auto_renew: *auto_renew,
            term: *term,
            billing: *billing,
            warnings: Warns::List(warnings),
        },
    );
}

/// Appends the line `facts` describe, with id `line_id`: the bytes of the [`Line`]
/// `facts.to_line()` with that id.
pub(crate) fn write_line_facts(out: &mut Vec<u8>, line_id: Id<'_>, facts: &LineFacts<'_>) {
    let LineFacts {
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
        subscription_id,
        program,
        assigned,
        auto_renew,
        term,
        billing,
        warnings,
    } = facts;
    write_line_out(
        out,
        &LineOut {
            id: line_id,
            input: *input,
            row: *row,
            current_offer,
            current_offer_id: *current_offer_id,
            target_offer,
            target_offer_id: target_offer_id.as_deref(),
            seats: *seats,
            target_seats: *target_seats,
            same_offer: *same_offer,
            same_license: *same_license,
            license_action: *license_action,
            licenses_to_reassign: *licenses_to_reassign,
            from_sku: *from_sku,
            to_sku: *to_sku,
            expires_on: *expires_on,
            provision_on: *provision_on,
            wave: Wave::Of(*provision_on),
            original_action: OriginalAction::LetExpire,
            subscription_id: subscription_id.as_deref(),
            program: *program,
            assigned: *assigned,
            auto_renew: *auto_renew,
            term: *term,
            billing: *billing,
            warnings: Warns::Set(*warnings),
        },
    );
}

fn write_line_out(out: &mut Vec<u8>, line: &LineOut<'_>) {
    let opt = |out: &mut Vec<u8>, s: Option<&str>| match s {
        Some(s) => string(out, s),
        None => out.extend_from_slice(b"null"),
    };
    out.extend_from_slice(b"{\"id\":");
    id(out, &line.id);
    out.extend_from_slice(b",\"input\":");
    number(out, line.input as u64);
    out.extend_from_slice(b",\"row\":");
    number(out, line.row);
    out.extend_from_slice(b",\"current_offer\":");
    string(out, line.current_offer);
    if let Some(id) = line.current_offer_id {
        out.extend_from_slice(b",\"current_offer_id\":");
        string(out, id);
    }
    out.extend_from_slice(b",\"target_offer\":");
    string(out, line.target_offer);
    out.extend_from_slice(b",\"target_offer_id\":");
    opt(out, line.target_offer_id);
    out.extend_from_slice(b",\"seats\":");
    number(out, line.seats);
    out.extend_from_slice(b",\"target_seats\":");
    number(out, line.target_seats);
    out.extend_from_slice(b",\"same_offer\":");
    boolean(out, line.same_offer);
    out.extend_from_slice(b",\"same_license\":");
    boolean(out, line.same_license);
    out.extend_from_slice(match line.license_action {
        LicenseAction::None => b",\"license_action\":\"none\"",
        LicenseAction::Reassign => b",\"license_action\":\"reassign\"",
    });
    out.extend_from_slice(b",\"licenses_to_reassign\":");
    number(out, line.licenses_to_reassign);
    out.extend_from_slice(b",\"from_sku\":");
    opt(out, line.from_sku);
    out.extend_from_slice(b",\"to_sku\":");
    opt(out, line.to_sku);
    out.extend_from_slice(b",\"expires_on\":");
    match line.expires_on {
        Some(d) => date(out, d),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"provision_on\":");
    date(out, line.provision_on);
    out.extend_from_slice(b",\"wave\":");
    match line.wave {
        Wave::Text(w) => string(out, w),
        // `YYYY-MM` of the date as [`iso_date`] writes it; `rules::wave` for other years.
        Wave::Of(d) => match iso_date(d) {
            Some(text) => {
                out.push(b'"');
                out.extend_from_slice(&text[..7]);
                out.push(b'"');
            }
            None => string(out, &crate::plan::rules::wave(d)),
        },
    }
    out.extend_from_slice(match line.original_action {
        OriginalAction::LetExpire => b",\"original_action\":\"let_expire\"",
    });
    if let Some(s) = line.subscription_id {
        out.extend_from_slice(b",\"subscription_id\":");
        string(out, s);
    }
    if let Some(p) = line.program {
        out.extend_from_slice(b",\"program\":");
        string(out, p);
    }
    if let Some(a) = line.assigned {
        out.extend_from_slice(b",\"assigned\":");
        number(out, a);
    }
    if let Some(r) = line.auto_renew {
        out.extend_from_slice(b",\"auto_renew\":");
        boolean(out, r);
    }
    out.extend_from_slice(b",\"term\":");
    out.extend_from_slice(match line.term {
        Term::P1M => b"\"P1M\"",
        Term::P1Y => b"\"P1Y\"",
        Term::P3Y => b"\"P3Y\"",
    });
    out.extend_from_slice(b",\"billing\":");
    out.extend_from_slice(match line.billing {
        Billing::Monthly => b"\"monthly\"",
        Billing::Annual => b"\"annual\"",
        Billing::Triennial => b"\"triennial\"",
    });
    out.extend_from_slice(b",\"warnings\":");
    match line.warnings {
        Warns::List(list_) => list(out, list_, warning),
        Warns::Set(set) => list_of(out, set.iter(), warning),
    }
    out.push(b'}');
}

fn write_task(out: &mut Vec<u8>, task: &Task) {
    let Task {
        id: task_id,
        kind,
        due,
        depends_on,
        line_rows,
        line_ids,
    } = task;
    write_task_out(
        out,
        Id::Text(task_id),
        *kind,
        *due,
        depends_on.iter().map(|s| Id::Text(s)),
        line_rows.iter().copied(),
        line_ids.iter().map(|s| Id::Text(s)),
    );
}

/// Appends task `m` (0-based) of `plan`, of customer number `customer` (1-based), whose
/// lines are `lines`: the bytes of the [`Task`] `tasks::build_tasks` makes of it, when
/// line `i` has the id `c{customer}-l{i+1}`.
pub(crate) fn write_task_plan(
    out: &mut Vec<u8>,
    customer: usize,
    m: usize,
    plan: &TaskPlan,
    lines: &[TaskLine],
) {
    write_task_out(
        out,
        Id::Item(customer, b't', m + 1),
        plan.kind,
        plan.due,
        plan.depends_on
            .iter()
            .flatten()
            .map(|&dep| Id::Item(customer, b't', dep + 1)),
        plan.lines(lines).map(|i| lines[i].row),
        plan.lines(lines).map(|i| Id::Item(customer, b'l', i + 1)),
    );
}

fn write_task_out<'a>(
    out: &mut Vec<u8>,
    task_id: Id<'a>,
    kind: TaskKind,
    due: NaiveDate,
    depends_on: impl Iterator<Item = Id<'a>>,
    line_rows: impl Iterator<Item = u64>,
    line_ids: impl Iterator<Item = Id<'a>>,
) {
    out.extend_from_slice(b"{\"id\":");
    id(out, &task_id);
    out.extend_from_slice(b",\"kind\":");
    out.extend_from_slice(task_kind(kind));
    out.extend_from_slice(b",\"due\":");
    date(out, due);
    out.extend_from_slice(b",\"depends_on\":");
    list_of(out, depends_on, id);
    out.extend_from_slice(b",\"line_rows\":");
    list_of(out, line_rows, |out, n| number(out, *n));
    out.extend_from_slice(b",\"line_ids\":");
    list_of(out, line_ids, id);
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
