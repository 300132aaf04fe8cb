//! `apply --dry-run`: the calls a run would make, without making any.
//!
//! The main decision: the dry run selects lines with the same code as the real run
//! ([`super::due`]), so what it lists is what a run would buy and move. It makes no API
//! call at all, so acceptance is unknown without the sweep: purchases are listed for
//! every customer, marked "(if accepted)" where the journal has not seen an acceptance,
//! and licence moves name the rule that chooses the users (the run lists the users it
//! moved in its execution report). The plan streams through [`PlanReader`]: each
//! customer's calls are written as it is read and nothing of it is kept, so the dry run
//! of a million-customer plan needs the memory of one batch of the reader; the calls
//! made once per run depend on every customer and are listed last.

use std::io::{Read, Write};

use super::ApplyError;
use super::due;
use super::journal::Event;
use super::run::ApplyOptions;
use super::status::{self, Progress};
use crate::i18n::{Texts, texts};
use crate::model::{Customer, Line, Plan, PlanReader, Relationship};

/// What the calls of the whole run depend on, gathered while the customers stream by.
#[derive(Debug, Default)]
struct Totals {
    customers: usize,
    calls: usize,
    /// Some customer has not been seen accepted: the run may fetch the invitation link.
    maybe_invite: bool,
    /// Some line targets a legacy offer: the run reads offers to find add-ons.
    any_legacy: bool,
}

/// The text `--dry-run` prints, for a plan held in memory.
pub fn dry_run(plan: &Plan, prior: &[Event], opts: &ApplyOptions) -> String {
    let mut out = Vec::new();
    let progress = status::replay(prior);
    let t = texts(opts.lang);
    out.extend_from_slice(sweep_line(t).as_bytes());
    let mut totals = Totals::default();
    for c in plan
        .customers
        .iter()
        .filter(|c| status::matches_only(c, &opts.only))
    {
        for call in customer_calls(c, progress.get(&c.key), opts, &mut totals) {
            out.extend_from_slice(call.as_bytes());
            out.push(b'\n');
        }
    }
    out.extend_from_slice(closing_lines(&totals, t).as_bytes());
    String::from_utf8(out).expect("the dry run writes text")
}

/// Streams the plan `reader` holds and writes the dry run to `out` as the customers come
/// by: nothing of a customer is kept once its calls are written, so a plan of any size
/// runs in the memory of one batch of the reader. The calls made once per run (the
/// invitation link, the offer reads) depend on every customer and come last. Returns
/// the plan's sha256.
pub fn dry_run_streaming<R: Read>(
    mut reader: PlanReader<R>,
    prior: &[Event],
    opts: &ApplyOptions,
    out: &mut dyn Write,
) -> Result<String, ApplyError> {
    let progress = status::replay(prior);
    let written = ApplyError::DryRunOutput;
    let t = texts(opts.lang);
    out.write_all(sweep_line(t).as_bytes()).map_err(written)?;
    let mut totals = Totals::default();
    while let Some(c) = reader.next_customer()? {
        if !status::matches_only(&c, &opts.only) {
            continue;
        }
        for call in customer_calls(&c, progress.get(&c.key), opts, &mut totals) {
            out.write_all(call.as_bytes()).map_err(written)?;
            out.write_all(b"\n").map_err(written)?;
        }
    }
    let sha = reader.finish()?;
    out.write_all(closing_lines(&totals, t).as_bytes())
        .map_err(written)?;
    Ok(sha)
}

fn sweep_line(t: &Texts) -> String {
    let size = super::client::PAGE_SIZE.to_string();
    format!("{}\n", t.fill("dry_run.sweep", &[("size", &size)]))
}

/// The calls made once per run, and the count of everything listed.
fn closing_lines(totals: &Totals, t: &Texts) -> String {
    let mut out = String::new();
    if totals.maybe_invite {
        out.push_str(t.get("dry_run.invitation_link"));
        out.push('\n');
    }
    if totals.any_legacy {
        // `{id}` is part of the path, not a value.
        out.push_str(&t.fill("dry_run.offers", &[("id", "{id}")]));
        out.push('\n');
    }
    let customers = totals.customers.to_string();
    let calls = (totals.calls + 1 + usize::from(totals.maybe_invite)).to_string();
    out.push_str(&t.fill(
        "dry_run.summary",
        &[("customers", &customers), ("calls", &calls)],
    ));
    out.push('\n');
    out
}

/// The calls a run would make for one customer, given what the journal knows of it.
fn customer_calls(
    c: &Customer,
    p: Option<&Progress>,
    opts: &ApplyOptions,
    totals: &mut Totals,
) -> Vec<String> {
    let empty = Progress::default();
    let p = p.unwrap_or(&empty);
    let t = texts(opts.lang);
    let mut calls = Vec::new();
    totals.customers += 1;
    let known = p.accepted == Some(true)
        || (p.accepted.is_none() && c.relationship == Relationship::Accepted);
    if !known {
        totals.maybe_invite = true;
    }
    let cond = if known {
        ""
    } else {
        t.get("dry_run.if_accepted")
    };
    let id = p
        .tenant_id
        .clone()
        .or_else(|| c.customer_id.clone())
        .unwrap_or_else(|| {
            let who = c.domain.as_deref().unwrap_or(&c.key);
            format!("{{{}}}", t.fill("dry_run.tenant_of", &[("who", who)]))
        });
    // Every line names the customer, the tenant in its paths and the condition; `{uid}`
    // and `{cart}` are parts of paths, not values.
    let line = |key: &str, more: &[(&str, &str)]| {
        let mut values: Vec<(&str, &str)> = more.to_vec();
        values.extend([
            ("customer", c.key.as_str()),
            ("id", id.as_str()),
            ("cond", cond),
            ("uid", "{uid}"),
            ("cart", "{cart}"),
        ]);
        t.fill(key, &values)
    };
    for pend in p.pending.values() {
        calls.push(line(
            "dry_run.reconcile",
            &[("request", pend.request_id.as_str())],
        ));
    }
    let todo = due::select(c, p, opts.today, opts.now);
    let groups = due::group(&todo.due, |_| false);
    if !todo.due.is_empty() {
        calls.push(line("dry_run.subscriptions", &[]));
    }
    let item = |l: &&Line| {
        format!(
            "{} {} x{}",
            l.id,
            l.target_offer_id
                .as_deref()
                .unwrap_or(t.get("dry_run.no_offer_id")),
            l.target_seats
        )
    };
    for (_, why) in &groups.invalid {
        calls.push(line("dry_run.nothing_bought", &[("why", &why.text(t))]));
    }
    if !groups.order.is_empty() {
        totals.any_legacy = true;
        let items = groups.order.iter().map(item).collect::<Vec<_>>().join("; ");
        calls.push(line("dry_run.order", &[("items", &items)]));
    }
    if !groups.cart.is_empty() {
        let items: Vec<String> = groups
            .cart
            .iter()
            .map(|l| {
                let (term, billing) = super::purchase::cart::term_of(l);
                format!("{} {term}/{billing}", item(l))
            })
            .collect();
        calls.push(line("dry_run.cart", &[("items", &items.join("; "))]));
    }
    for l in &todo.reassign {
        let left = l
            .licenses_to_reassign
            .saturating_sub(p.moved_for_line(&l.id));
        let left = left.to_string();
        calls.push(line(
            "dry_run.reassign",
            &[
                ("left", &left),
                ("line", &l.id),
                ("to", l.to_sku.as_deref().unwrap_or("?")),
                ("from", l.from_sku.as_deref().unwrap_or("?")),
            ],
        ));
    }
    totals.calls += calls.len();
    calls
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::testplan::plan_with;
    use std::path::PathBuf;

    #[test]
    fn dry_run_lists_one_purchase_per_customer_and_the_licence_calls() {
        let plan = plan_with(2, 1, 0);
        let opts = ApplyOptions {
            today: plan.as_of,
            now: false,
            concurrency: 1,
            only: vec![],
            max_failures: 1,
            invitations_path: PathBuf::from("invitations.csv"),
            lang: crate::i18n::Lang::En,
        };
        let text = dry_run(&plan, &[], &opts);
        assert_eq!(
            text.matches("/orders [").count() + text.matches("/carts,").count(),
            3,
            "{text}"
        );
        assert_eq!(
            text.matches("licenseupdates for 3 users").count(),
            1,
            "{text}"
        );
        assert!(text.contains("relationshiprequests"));
        assert!(text.contains("nothing was changed"));
    }

    #[test]
    fn the_streamed_dry_run_is_the_dry_run_of_the_plan_in_memory() {
        let plan = plan_with(3, 2, 1);
        let bytes = serde_json::to_vec(&plan).unwrap();
        let opts = ApplyOptions {
            today: plan.as_of,
            now: true,
            concurrency: 1,
            only: vec![],
            max_failures: 1,
            invitations_path: PathBuf::from("invitations.csv"),
            lang: crate::i18n::Lang::En,
        };
        let mut out = Vec::new();
        let reader = PlanReader::new(&bytes[..]).unwrap();
        let sha = dry_run_streaming(reader, &[], &opts, &mut out).unwrap();
        assert_eq!(sha, crate::fsx::sha256_hex(&bytes));
        assert_eq!(String::from_utf8(out).unwrap(), dry_run(&plan, &[], &opts));
    }

    #[test]
    fn the_dry_run_follows_the_language_and_keeps_paths_and_ids() {
        let plan = plan_with(2, 1, 0);
        let mut opts = ApplyOptions {
            today: plan.as_of,
            now: true,
            concurrency: 1,
            only: vec![],
            max_failures: 1,
            invitations_path: PathBuf::from("invitations.csv"),
            lang: crate::i18n::Lang::Ko,
        };
        let ko = dry_run(&plan, &[], &opts);
        assert!(ko.contains("/licenseupdates("), "{ko}");
        assert!(ko.contains("항목 c3-l1의 사용자 3명"), "{ko}");
        assert!(ko.contains("POST …/carts/{cart}/checkout ["), "{ko}");
        assert!(
            ko.lines()
                .last()
                .unwrap()
                .starts_with("시험 실행: 대상 고객 3곳"),
            "{ko}"
        );
        opts.lang = crate::i18n::Lang::Ja;
        let ja = dry_run(&plan, &[], &opts);
        assert!(ja.contains("GET …/users/{uid}/licenses"), "{ja}");
        assert!(
            ja.lines()
                .last()
                .unwrap()
                .starts_with("ドライ ラン: 対象の顧客 3 社"),
            "{ja}"
        );
    }
}
