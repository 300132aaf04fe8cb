//! `apply --dry-run`: the calls a run would make, without making any that changes
//! anything.
//!
//! The main decision: the dry run selects lines with the same code as the real run
//! ([`super::due`]), so what it lists is what a run would buy and move. The plan streams
//! through [`PlanReader`]: each customer's calls are written as it is read and nothing of
//! it is kept, so the dry run of a million-customer plan needs the memory of one batch of
//! the reader; the calls made once per run depend on every customer and are listed last.
//! Acceptance is unknown without the sweep: purchases are listed for every customer,
//! marked "(if accepted)" where the journal has not seen an acceptance.
//!
//! A **shared licence pool** (`SHARED_LICENSE_POOL`: other lines keep users on the same
//! old SKU) moves exactly `licenses_to_reassign` users, chosen from the tenant's users, so
//! who moves is known only from Partner Center. Of a customer whose due work moves such a
//! pool only its licence lines are kept while the plan streams; after the pass
//! [`list_pool_users`] makes the real run's reads for those customers alone (preflight,
//! the customer sweep, `subscribedskus`, users, their licences: GET only, through the
//! client's rate limit, `--concurrency` customers at a time) and runs the real run's one
//! choice (`licenses::preview`), so the users listed are the users a run would move. A
//! plan without a shared pool makes no call at all.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use super::ApplyError;
use super::client::{ApiError, Client};
use super::due;
use super::journal::Event;
use super::licenses::{self, Capacity};
use super::run::{ApplyOptions, Listing, futures_join_all};
use super::status::{self, Progress};
use crate::i18n::{Texts, one_or_many, texts};
use crate::model::{Customer, Line, Plan, PlanReader, Relationship, WarningCode};

/// What the calls of the whole run depend on, gathered while the customers stream by.
#[derive(Debug, Default)]
struct Totals {
    customers: usize,
    calls: usize,
    /// Some customer has not been seen accepted: the run may fetch the invitation link.
    maybe_invite: bool,
    /// Some line targets a legacy offer: the run reads offers to find add-ons.
    any_legacy: bool,
    /// Keep the customers whose licence moves share a pool (their users are listed).
    keep_pools: bool,
    /// Customers whose due work moves a shared licence pool.
    pool_customers: usize,
    pools: Vec<PoolCustomer>,
}

/// A customer whose due work moves a shared licence pool, as kept while the plan streams
/// by: only its lines whose licences move, and what the journal knows of it.
#[derive(Debug)]
struct PoolCustomer {
    customer: Customer,
    progress: Progress,
    /// Seats this run would buy before the swaps, per new SKU (lower case): the pools
    /// read now do not hold them yet.
    extra_seats: HashMap<String, u64>,
}

/// What the streaming pass found: the plan's sha256, and what the closing lines and the
/// listing of the shared pools' users need.
#[derive(Debug)]
pub struct Pass {
    pub sha256: String,
    totals: Totals,
}

impl Pass {
    /// Customers whose due work moves a shared licence pool: their users are listed only
    /// after [`list_pool_users`] has read them.
    pub fn pool_customers(&self) -> usize {
        self.totals.pool_customers
    }
}

/// The users of the shared pools, as listed after the pass.
#[derive(Debug)]
pub enum PoolListing {
    /// Not read; the text (in the dry run's language) says why and what to do.
    NotRead(String),
    /// Read: the lines to print, in plan order, and the requests it took.
    Read { lines: Vec<String>, requests: u64 },
}

/// The text `--dry-run` prints, for a plan held in memory, without reading any user
/// (the shared pools' users are listed by [`list_pool_users`]).
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
    let pass = Pass {
        sha256: String::new(),
        totals,
    };
    finish(&pass, None, opts, &mut out).expect("writing to memory");
    String::from_utf8(out).expect("the dry run writes text")
}

/// Streams the plan `reader` holds and writes each customer's calls to `out` as the
/// customers come by: nothing of a customer is kept once its calls are written (but the
/// licence lines of one whose due work moves a shared pool, when `keep_pools`), so a plan
/// of any size runs in the memory of one batch of the reader. The closing lines (the
/// shared pools' users, the calls made once per run, the count) are [`finish`]'s.
pub fn dry_run_streaming<R: Read>(
    mut reader: PlanReader<R>,
    prior: &[Event],
    opts: &ApplyOptions,
    keep_pools: bool,
    out: &mut dyn Write,
) -> Result<Pass, ApplyError> {
    let progress = status::replay(prior);
    let written = ApplyError::DryRunOutput;
    let t = texts(opts.lang);
    out.write_all(sweep_line(t).as_bytes()).map_err(written)?;
    let mut totals = Totals {
        keep_pools,
        ..Totals::default()
    };
    while let Some(c) = reader.next_customer()? {
        if !status::matches_only(&c, &opts.only) {
            continue;
        }
        for call in customer_calls(&c, progress.get(&c.key), opts, &mut totals) {
            out.write_all(call.as_bytes()).map_err(written)?;
            out.write_all(b"\n").map_err(written)?;
        }
    }
    let sha256 = reader.finish()?;
    Ok(Pass { sha256, totals })
}

/// Writes the closing lines: the users of the shared pools (`listing`; `None` when the
/// dry run has no credentials to read them), the calls made once per run, the count.
pub fn finish(
    pass: &Pass,
    listing: Option<&PoolListing>,
    opts: &ApplyOptions,
    out: &mut dyn Write,
) -> Result<(), ApplyError> {
    let written = ApplyError::DryRunOutput;
    let t = texts(opts.lang);
    if pass.totals.pool_customers > 0 {
        let count = t.number(pass.totals.pool_customers as u64);
        let text = match listing {
            None => vec![t.fill("dry_run.pools_no_credentials", &[("count", &count)])],
            Some(PoolListing::NotRead(why)) => vec![why.clone()],
            Some(PoolListing::Read { lines, requests }) => {
                let mut text = vec![t.get("dry_run.pools_heading").to_string()];
                text.extend(lines.iter().cloned());
                text.push(t.fill(
                    "dry_run.pools_reads",
                    &[("requests", &t.number(*requests)), ("count", &count)],
                ));
                text
            }
        };
        for l in text {
            out.write_all(l.as_bytes()).map_err(written)?;
            out.write_all(b"\n").map_err(written)?;
        }
    }
    out.write_all(closing_lines(&pass.totals, t).as_bytes())
        .map_err(written)
}

/// The text of a listing that was not read because the run would stop (the preflight,
/// the customer sweep, a token refused): the error itself follows on stderr.
pub fn pools_stopped(pass: &Pass, opts: &ApplyOptions) -> PoolListing {
    let t = texts(opts.lang);
    let count = t.number(pass.totals.pool_customers as u64);
    PoolListing::NotRead(t.fill("dry_run.pools_stopped", &[("count", &count)]))
}

/// Reads, for every customer of `pass` whose due work moves a shared licence pool, what
/// the real run reads before its first swap (GET only: the customer sweep once, then per
/// customer the unsure swaps, `subscribedskus`, users and their licences) and lists the
/// users the run's one choice (`licenses::preview`) would move, the users skipped as
/// already on the new SKU, and a seat shortfall. `opts.concurrency` customers are read at
/// once, through `client`'s rate limit. A customer not yet accepted and a 403 (no GDAP
/// role) are said per customer; an error that would stop a run (authentication, MFA, an
/// endpoint gone) or a customer list that cannot be read stops the listing.
pub async fn list_pool_users(
    client: &Client,
    pass: &Pass,
    opts: &ApplyOptions,
) -> Result<PoolListing, ApplyError> {
    let pools = &pass.totals.pools;
    let t = texts(opts.lang);
    let listed = client
        .customers(|_| {})
        .await
        .map_err(|source| ApplyError::ListCustomers {
            endpoint: client.base().as_str().trim_end_matches('/').to_string(),
            source: Box::new(source),
        })?;
    let listing = Listing::new(&listed);
    let results: Mutex<Vec<Option<Vec<String>>>> = Mutex::new(vec![None; pools.len()]);
    let next = Mutex::new(0usize);
    let stop = AtomicBool::new(false);
    let fatal: Mutex<Option<Box<ApiError>>> = Mutex::new(None);
    {
        let (listing, results, next, stop, fatal) = (&listing, &results, &next, &stop, &fatal);
        let workers = opts.concurrency.max(1).min(pools.len().max(1));
        let tasks = (0..workers).map(|_| async move {
            loop {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let i = {
                    let mut n = next.lock().expect("queue lock");
                    let i = *n;
                    *n += 1;
                    i
                };
                let Some(pool) = pools.get(i) else { break };
                match pool_lines(client, listing, pool, t).await {
                    Ok(lines) => results.lock().expect("results lock")[i] = Some(lines),
                    Err(e) => {
                        stop.store(true, Ordering::SeqCst);
                        fatal.lock().expect("fatal lock").get_or_insert(e);
                    }
                }
            }
        });
        futures_join_all(tasks).await;
    }
    if let Some(e) = fatal.into_inner().expect("fatal lock") {
        return Err(ApplyError::Stopped(super::StopReason::Fatal(e)));
    }
    let lines = results
        .into_inner()
        .expect("results lock")
        .into_iter()
        .flatten()
        .flatten()
        .collect();
    Ok(PoolListing::Read {
        lines,
        // The client is the listing's own: its count includes the preflight's calls.
        requests: client.stats.requests.load(Ordering::Relaxed),
    })
}

/// A user as the dry run lists them: the UPN, with the display name when there is one.
fn user_text(u: &super::pc::CustomerUser) -> String {
    let upn = licenses::user_name(u);
    match u
        .display_name
        .as_deref()
        .filter(|n| !n.is_empty() && *n != upn)
    {
        Some(name) => format!("{upn} ({name})"),
        None => upn,
    }
}

/// The listing of one customer's shared pool; `Err` only for an error that would stop a
/// run (it stops the listing).
async fn pool_lines(
    client: &Client,
    listing: &Listing<'_>,
    pool: &PoolCustomer,
    t: &Texts,
) -> Result<Vec<String>, Box<ApiError>> {
    let c = &pool.customer;
    let customer = c.key.as_str();
    let Some(found) = listing.find(c) else {
        return Ok(vec![
            t.fill("dry_run.pool_not_accepted", &[("customer", customer)]),
        ]);
    };
    let lines: Vec<&Line> = c.lines.iter().collect();
    let refused = |e: ApiError| -> Result<Vec<String>, Box<ApiError>> {
        if e.is_fatal() {
            return Err(Box::new(e));
        }
        let text = if e.is_missing_role() {
            t.fill(
                "dry_run.pool_no_role",
                &[("customer", customer), ("call", &e.call)],
            )
        } else {
            t.fill(
                "dry_run.pool_failed",
                &[("customer", customer), ("error", &e.to_string())],
            )
        };
        Ok(vec![text])
    };
    let done = match licenses::unsure_swaps_done(client, &found.id, &lines, &pool.progress).await {
        Ok(d) => d,
        Err(e) => return refused(e),
    };
    let moves = match licenses::moves(&lines, &pool.progress, &licenses::confirmed_per_line(&done))
    {
        Ok(m) => m,
        Err(l) => {
            return Ok(vec![t.fill(
                "dry_run.pool_no_skus",
                &[("customer", customer), ("line", &l.id)],
            )]);
        }
    };
    let preview = if moves.iter().any(|m| m.limit > 0) {
        match licenses::preview(client, &found.id, &moves, &pool.extra_seats).await {
            Ok(p) => Some(p),
            Err(e) => return refused(e),
        }
    } else {
        None
    };
    let mut out = Vec::new();
    for (i, m) in moves.iter().enumerate() {
        let l = m.line;
        let planned = t.number(l.licenses_to_reassign);
        let base = [
            ("customer", customer),
            ("line", l.id.as_str()),
            ("from", l.current_offer.as_str()),
            ("to", l.target_offer.as_str()),
            ("planned", planned.as_str()),
        ];
        let Some(p) = preview.as_ref().filter(|_| m.limit > 0) else {
            let key = one_or_many("dry_run.pool_nobody_left", l.licenses_to_reassign);
            out.push(t.fill(key, &base));
            continue;
        };
        let chosen = &p.chosen[i];
        let count = t.number(chosen.len() as u64);
        let left = t.number(m.limit);
        let mut values = base.to_vec();
        values.extend([("count", count.as_str()), ("left", left.as_str())]);
        // A shortfall makes the real run move nobody of this customer: the users listed
        // are then the ones it moves once the seats are there, never "would move" now.
        let once = once_seats(&p.capacity, l, t);
        let header = match &once {
            None => one_or_many("dry_run.pool_moves", m.limit),
            Some(once) => {
                values.push(("once", once.as_str()));
                one_or_many("dry_run.pool_moves_later", m.limit)
            }
        };
        // With nobody left to move, the line below says so alone: no "would move 0".
        if !chosen.is_empty() {
            out.push(t.fill(header, &values));
        }
        for u in chosen {
            out.push(format!("    {}", user_text(u)));
        }
        if (chosen.len() as u64) < m.limit {
            // Nobody left at all (they moved outside cspmove, or lost the old SKU):
            // say so, not "only 0 users hold".
            let key = match chosen.len() {
                0 => "dry_run.pool_fewer_none",
                n => one_or_many("dry_run.pool_fewer", n as u64),
            };
            out.push(t.fill(key, &values));
        }
        let skipped = &p.skipped[i];
        if !skipped.is_empty() {
            let n = t.number(skipped.len() as u64);
            // By userPrincipalName, as the users chosen are (the tenant lists in its own
            // order).
            let mut skipped: Vec<&super::pc::CustomerUser> = skipped.iter().collect();
            skipped.sort_by_cached_key(|u| {
                let upn = u.user_principal_name.as_deref().unwrap_or_default();
                (upn.to_lowercase(), u.id.to_ascii_lowercase())
            });
            let names: Vec<String> = skipped.iter().map(|u| user_text(u)).collect();
            let names = names.join(", ");
            let mut values = base.to_vec();
            values.extend([("count", n.as_str()), ("users", names.as_str())]);
            let key = one_or_many("dry_run.pool_skipped", skipped.len() as u64);
            out.push(t.fill(key, &values));
        }
    }
    // A shortfall is said as the real run records it (the same reason, the same
    // numbers), framed by what the run would do about it.
    if let Some(p) = &preview
        && let Some(reason) = p.capacity.reason()
    {
        let key = match p.capacity {
            Capacity::NotInTenantYet { .. } => "dry_run.pool_waiting",
            _ => "dry_run.pool_blocked",
        };
        out.push(t.fill(key, &[("customer", customer), ("reason", &reason.text(t))]));
    }
    Ok(out)
}

/// When the new SKUs lack seats (`capacity`), the condition under which the run moves
/// line `l`'s users: the seats missing when the shortfall is on its offer, else "once
/// the seats are there" (the reason that follows names the offer short of seats).
/// `None` when the seats suffice.
fn once_seats(capacity: &Capacity, l: &Line, t: &Texts) -> Option<String> {
    let ours = |offer: &str| offer == l.target_offer;
    Some(match capacity {
        Capacity::Enough => return None,
        Capacity::Short { offer, free, users } if ours(offer) => {
            let missing = users.saturating_sub(*free);
            t.fill(
                one_or_many("dry_run.pool_once_short", missing),
                &[("missing", &t.number(missing)), ("offer", offer)],
            )
        }
        Capacity::NotInTenantYet { offer, .. } if ours(offer) => {
            t.fill("dry_run.pool_once_arriving", &[("offer", offer)])
        }
        _ => t.get("dry_run.pool_once_seats").to_string(),
    })
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
    let count = |key: &'static str, n: u64| t.fill(one_or_many(key, n), &[("count", &t.number(n))]);
    let customers = count("dry_run.summary_customers", totals.customers as u64);
    let calls = count(
        "dry_run.summary_calls",
        (totals.calls + 1 + usize::from(totals.maybe_invite)) as u64,
    );
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
    if todo.reassign.iter().any(|l| shares_a_pool(l)) {
        totals.pool_customers += 1;
        if totals.keep_pools {
            totals.pools.push(pool_customer(c, p, &todo.reassign));
        }
    }
    for l in &todo.reassign {
        let left = l
            .licenses_to_reassign
            .saturating_sub(p.moved_for_line(&l.id));
        let key = one_or_many("dry_run.reassign", left);
        let left = t.number(left);
        calls.push(line(
            key,
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

/// Whether a line moving licences shares its old SKU's pool with other lines.
fn shares_a_pool(l: &Line) -> bool {
    l.warnings.contains(&WarningCode::SharedLicensePool)
}

/// What the listing of a shared pool keeps of customer `c`: its licence lines `reassign`,
/// its journal progress and the seats this run would buy before the swaps.
fn pool_customer(c: &Customer, p: &Progress, reassign: &[&Line]) -> PoolCustomer {
    let mut extra_seats: HashMap<String, u64> = HashMap::new();
    for l in reassign {
        if let Some(to) = &l.to_sku
            && !p.provisioned.contains_key(&l.id)
        {
            *extra_seats.entry(to.to_ascii_lowercase()).or_default() += l.target_seats;
        }
    }
    let customer = Customer {
        key: c.key.clone(),
        customer_id: c.customer_id.clone(),
        domain: c.domain.clone(),
        name: c.name.clone(),
        contact_email: None,
        country: c.country.clone(),
        relationship: c.relationship,
        lines: reassign.iter().map(|l| (*l).clone()).collect(),
        tasks: Vec::new(),
    };
    PoolCustomer {
        customer,
        progress: p.clone(),
        extra_seats,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::testplan::{M365_E3_SKU, O365_E3_SKU, plan_with};
    use std::path::PathBuf;

    /// Options of a dry run of `plan` today, in English, one customer at a time.
    fn test_options(plan: &Plan) -> ApplyOptions {
        ApplyOptions {
            today: plan.as_of,
            now: true,
            concurrency: 1,
            only: vec![],
            max_failures: 1,
            invitations_path: PathBuf::from("invitations.csv"),
            lang: crate::i18n::Lang::En,
        }
    }

    #[test]
    fn dry_run_lists_one_purchase_per_customer_and_the_licence_calls() {
        let plan = plan_with(2, 1, 0);
        let opts = ApplyOptions {
            now: false,
            ..test_options(&plan)
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
    fn counts_of_one_read_in_the_singular() {
        let mut plan = plan_with(0, 1, 0);
        plan.customers[0].lines[0].licenses_to_reassign = 1;
        let opts = test_options(&plan);
        let text = dry_run(&plan, &[], &opts);
        let want = format!(
            "licenseupdates for 1 user of line c1-l1 (assign {M365_E3_SKU}, remove {O365_E3_SKU}): \
             the first by userPrincipalName holding"
        );
        assert!(text.contains(&want), "{text}");
        let summary = text.lines().last().unwrap();
        assert!(
            summary.starts_with("dry run: 1 customer in scope, 5 calls listed above;"),
            "{text}"
        );
        assert!(
            !text.contains(" 1 users") && !text.contains(" 1 customers"),
            "{text}"
        );

        // No customer: the sweep is the one call.
        let mut empty = plan.clone();
        empty.customers.clear();
        let text = dry_run(&empty, &[], &opts);
        assert_eq!(
            text.lines().last().unwrap(),
            "dry run: 0 customers in scope, 1 call listed above; nothing was changed",
            "{text}"
        );
    }

    #[test]
    fn the_streamed_dry_run_is_the_dry_run_of_the_plan_in_memory() {
        let plan = plan_with(3, 2, 1);
        let bytes = serde_json::to_vec(&plan).unwrap();
        let opts = test_options(&plan);
        let mut out = Vec::new();
        let reader = PlanReader::new(&bytes[..]).unwrap();
        let pass = dry_run_streaming(reader, &[], &opts, false, &mut out).unwrap();
        let sha = pass.sha256.clone();
        finish(&pass, None, &opts, &mut out).unwrap();
        assert_eq!(sha, crate::fsx::sha256_hex(&bytes));
        assert_eq!(String::from_utf8(out).unwrap(), dry_run(&plan, &[], &opts));
    }

    #[test]
    fn the_dry_run_follows_the_language_and_keeps_paths_and_ids() {
        let plan = plan_with(2, 1, 0);
        let mut opts = ApplyOptions {
            lang: crate::i18n::Lang::Ko,
            ..test_options(&plan)
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
