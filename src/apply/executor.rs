//! The executor: one run of `apply` over a plan (DESIGN §8), resumable at any point.
//!
//! A run sweeps the customer list once (acceptance, and tenant IDs of customers planned by
//! domain), writes `invitations.csv` for those who have not accepted, then works on the
//! accepted customers `--concurrency` at a time: reconcile any purchase left without an
//! outcome, place one order (or cart checkout) for the lines now due, then move licences
//! for lines whose offer changed. The main decision is the order of writes: the journal
//! records `started` (with the stable `MS-RequestId`) before a purchase is sent and the
//! outcome after, so whatever kills the process, the next run knows which purchases may
//! exist and reads the customer's orders before buying again. Licence moves need no such
//! care: each run reads every user's licences and only swaps users still on the old SKU.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use super::bars::Bars;
use super::client::{ApiError, Client, ErrorKind, PcCustomer};
use super::invitations::{self, Invitation};
use super::journal::{Action, Event, GroupCommit, Journal, State};
use super::status::{self, CustomerRow, PendingPurchase, Progress, is_due, lines_key};
use crate::model::{Customer, LicenseAction, Line, Plan};

/// The namespace of cspmove's request IDs (uuid v5 of plan, customer and action).
const REQUEST_ID_NAMESPACE: Uuid = Uuid::from_u128(0x6a1c_94c2_3f0e_4d0b_9b3e_5e3c_7a28_c5d1);

/// A stable `MS-RequestId`: the same plan, customer, action and generation always give
/// the same ID, so every retry of one action (in this run or the next) reuses it.
pub fn request_id(plan_sha256: &str, customer: &str, action: &str, generation: u32) -> Uuid {
    Uuid::new_v5(
        &REQUEST_ID_NAMESPACE,
        format!("{plan_sha256}|{customer}|{action}|{generation}").as_bytes(),
    )
}

/// Checked options of one run.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    pub today: NaiveDate,
    /// Provision every line now, whatever its `provision_on`.
    pub now: bool,
    pub concurrency: usize,
    pub only: Vec<String>,
    pub max_failures: usize,
    pub invitations_path: PathBuf,
    pub show_progress: bool,
}

/// What is about to be bought, for the confirmation before the first purchase.
#[derive(Debug, Clone)]
pub struct PurchasePreview {
    pub customers: usize,
    pub lines: usize,
    pub seats: u64,
}

/// The outcome of a run.
#[derive(Debug)]
pub struct RunOutcome {
    pub rows: Vec<CustomerRow>,
    pub requests: u64,
    pub retries: u64,
    pub throttled: u64,
    pub elapsed: Duration,
    pub orders_placed: u64,
    pub users_moved: u64,
    pub customers_failed: usize,
    /// Why the run stopped early (auth failure, `--max-failures`).
    pub stopped: Option<String>,
    pub invitations: Option<(PathBuf, usize)>,
    pub correlation_id: Uuid,
}

/// Why a customer's work ended early.
enum Halt {
    /// Recorded in the journal; the run goes on.
    Customer,
    /// The whole run stops (an auth failure).
    Run(Box<ApiError>),
    /// The journal could not be written: nothing may be sent without it.
    Journal(anyhow::Error),
}

struct Ctx {
    client: Client,
    journal: GroupCommit,
    /// Every event of this run, appended in the same order as the journal.
    events: Mutex<Vec<Event>>,
    plan_sha256: String,
    opts: ApplyOptions,
    failures: AtomicUsize,
    stop: AtomicBool,
    stop_reason: Mutex<Option<String>>,
    orders_placed: AtomicU64,
    users_moved: AtomicU64,
    done: Mutex<HashMap<String, Vec<String>>>,
    bars: Bars,
    /// Legacy add-on offers (lower case) and the base offers they require, read once per
    /// run from `GET /v1/offers/{id}` for every offer about to be ordered.
    addons: std::sync::OnceLock<HashMap<String, Vec<String>>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purchase {
    Order,
    AddOns,
    Cart,
}

impl Ctx {
    /// Makes events durable in the journal before the caller goes on.
    async fn record_all(&self, events: Vec<Event>) -> Result<(), Halt> {
        if events.is_empty() {
            return Ok(());
        }
        self.journal
            .append_all(&events)
            .await
            .map_err(|e| Halt::Journal(anyhow::Error::new(e)))?;
        self.events.lock().expect("events lock").extend(events);
        Ok(())
    }

    async fn record(&self, event: Event) -> Result<(), Halt> {
        self.record_all(vec![event]).await
    }

    /// The prerequisite offers of a line's target, when it is an add-on.
    fn addon_prerequisites(&self, line: &Line) -> Option<&Vec<String>> {
        self.addons
            .get()?
            .get(&line.target_offer_id.as_deref()?.to_ascii_lowercase())
    }

    fn did(&self, customer: &str, what: String) {
        self.done
            .lock()
            .expect("done lock")
            .entry(customer.to_string())
            .or_default()
            .push(what);
    }

    fn stop_run(&self, reason: String) {
        let mut r = self.stop_reason.lock().expect("stop lock");
        if r.is_none() {
            *r = Some(reason);
        }
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// One accepted customer's work in this run.
struct Work<'a> {
    customer: &'a Customer,
    tenant_id: String,
    progress: Progress,
    /// Due lines not yet provisioned.
    due: Vec<&'a Line>,
}

/// Runs `apply` once. `prior` are the journal's events from earlier runs; `confirm` is
/// asked before the first purchase and may refuse.
pub async fn execute(
    plan: &Plan,
    plan_sha256: &str,
    client: Client,
    journal: Journal,
    prior: Vec<Event>,
    opts: ApplyOptions,
    confirm: impl FnOnce(&PurchasePreview) -> bool,
) -> anyhow::Result<RunOutcome> {
    let started = Instant::now();
    let scope: Vec<&Customer> = plan
        .customers
        .iter()
        .filter(|c| status::matches_only(c, &opts.only))
        .collect();
    if scope.is_empty() && !opts.only.is_empty() {
        anyhow::bail!(
            "--only {} matches no customer of the plan (give a plan key, customer ID or domain)",
            opts.only.join(", ")
        );
    }
    let mut progress = status::replay(&prior);
    let bars = Bars::new(opts.show_progress);
    let ctx = Arc::new(Ctx {
        client,
        journal: journal.group_commit(),
        events: Mutex::new(Vec::new()),
        plan_sha256: plan_sha256.to_string(),
        opts: opts.clone(),
        failures: AtomicUsize::new(0),
        stop: AtomicBool::new(false),
        stop_reason: Mutex::new(None),
        orders_placed: AtomicU64::new(0),
        users_moved: AtomicU64::new(0),
        done: Mutex::new(HashMap::new()),
        bars,
        addons: std::sync::OnceLock::new(),
    });

    // 1. One sweep of the customer list for everyone.
    let sweep_bar = ctx.bars.sweep();
    let listed = ctx
        .client
        .customers(|n| sweep_bar.inc(n as u64))
        .await
        .map_err(|e| anyhow::anyhow!("listing customers failed: {e}"))?;
    sweep_bar.finish();
    let mut by_id: HashMap<&str, &PcCustomer> = HashMap::new();
    let mut by_domain: HashMap<&str, &PcCustomer> = HashMap::new();
    for c in &listed {
        by_id.insert(c.id.as_str(), c);
        if let Some(d) = &c.domain {
            by_domain.insert(d.as_str(), c);
        }
    }
    let mut awaiting: Vec<&Customer> = Vec::new();
    let mut accepted: Vec<(&Customer, String)> = Vec::new();
    // What the sweep learnt is committed as one batch: one fsync, not one per customer.
    let mut learnt: Vec<Event> = Vec::new();
    for c in &scope {
        let found = c
            .customer_id
            .as_deref()
            .map(|id| by_id.get(id.to_ascii_lowercase().as_str()))
            .unwrap_or_else(|| {
                c.domain
                    .as_deref()
                    .and_then(|d| by_domain.get(d.to_ascii_lowercase().as_str()))
            })
            .filter(|pc| pc.is_reseller());
        let p = progress.entry(c.key.clone()).or_default();
        match found {
            Some(pc) => {
                if p.accepted != Some(true) || p.tenant_id.as_deref() != Some(pc.id.as_str()) {
                    let mut e = Event::new(&c.key, Action::Relationship, State::Succeeded);
                    e.tenant_id = Some(pc.id.clone());
                    e.task = task_id(c, crate::model::TaskKind::RequestRelationship);
                    learnt.push(e);
                    p.accepted = Some(true);
                    p.tenant_id = Some(pc.id.clone());
                    ctx.did(&c.key, "relationship accepted".into());
                }
                accepted.push((c, pc.id.clone()));
            }
            None => {
                if p.accepted != Some(false) {
                    let mut e = Event::new(&c.key, Action::Relationship, State::Waiting);
                    e.note = Some("not in the partner's customer list yet".into());
                    learnt.push(e);
                    p.accepted = Some(false);
                }
                awaiting.push(c);
            }
        }
    }
    record_or_fail(&ctx, learnt).await?;

    // 2. The invitation link, fetched once for all who have not accepted.
    let mut invitations_written = None;
    if !awaiting.is_empty() {
        match ctx.client.relationship_link().await {
            Ok(link) => {
                let list: Vec<Invitation> = awaiting
                    .iter()
                    .map(|c| Invitation::for_customer(c, &link))
                    .collect();
                invitations::write(&opts.invitations_path, &list)?;
                let mut invited = Vec::new();
                for c in &awaiting {
                    let p = progress.entry(c.key.clone()).or_default();
                    if !p.invited {
                        let mut e = Event::new(&c.key, Action::Invitation, State::Succeeded);
                        e.note = Some(format!("listed in {}", opts.invitations_path.display()));
                        invited.push(e);
                        p.invited = true;
                        ctx.did(&c.key, "invitation listed".into());
                    }
                }
                record_or_fail(&ctx, invited).await?;
                invitations_written = Some((opts.invitations_path.clone(), list.len()));
            }
            Err(e) if e.is_fatal() => {
                ctx.stop_run(format!("stopped: {e}"));
            }
            Err(e) => {
                tracing::warn!("could not fetch the relationship request link: {e}");
            }
        }
    }

    // 3. Work for accepted customers.
    let mut work: Vec<Work> = Vec::new();
    for (c, tenant_id) in accepted {
        let p = progress.remove(&c.key).unwrap_or_default();
        let due: Vec<&Line> = c
            .lines
            .iter()
            .filter(|l| !p.provisioned.contains_key(&l.id) && is_due(l, opts.today, opts.now))
            .collect();
        let reassign_pending = c.lines.iter().any(|l| {
            l.license_action == LicenseAction::Reassign
                && !p.reassigned.contains(&l.id)
                && (p.provisioned.contains_key(&l.id) || due.iter().any(|d| d.id == l.id))
        });
        if due.is_empty() && p.pending.is_empty() && !reassign_pending {
            continue;
        }
        work.push(Work {
            customer: c,
            tenant_id,
            progress: p,
            due,
        });
    }

    // Which offers about to be ordered are add-ons: one read per distinct offer.
    let mut offers: BTreeMap<String, String> = BTreeMap::new();
    for w in &work {
        for l in &w.due {
            if let Some(id) = l.target_offer_id.as_deref().filter(|id| !is_nce(id)) {
                offers
                    .entry(id.to_ascii_lowercase())
                    .or_insert_with(|| w.customer.country.clone().unwrap_or_else(|| "US".into()));
            }
        }
    }
    let mut addons = HashMap::new();
    if !ctx.stop.load(Ordering::SeqCst) {
        for (offer, country) in &offers {
            match ctx
                .client
                .get(&format!("/v1/offers/{offer}?country={country}"))
                .await
            {
                Ok(v) if v.get("isAddOn").and_then(Value::as_bool) == Some(true) => {
                    let prereqs = v
                        .get("prerequisiteOffers")
                        .and_then(Value::as_array)
                        .map(|a| {
                            a.iter()
                                .filter_map(Value::as_str)
                                .map(str::to_ascii_lowercase)
                                .collect()
                        })
                        .unwrap_or_default();
                    addons.insert(offer.clone(), prereqs);
                }
                Ok(_) => {}
                Err(e) if e.is_fatal() => ctx.stop_run(format!("stopped: {e}")),
                // An unknown offer fails its order with a clear 800004 later on.
                Err(e) => tracing::warn!("reading offer {offer}: {e}"),
            }
        }
    }
    let _ = ctx.addons.set(addons);

    let preview = PurchasePreview {
        customers: work.iter().filter(|w| !w.due.is_empty()).count(),
        lines: work.iter().map(|w| w.due.len()).sum(),
        seats: work
            .iter()
            .flat_map(|w| w.due.iter().map(|l| l.target_seats))
            .sum(),
    };
    if preview.lines > 0
        && !ctx.stop.load(Ordering::SeqCst)
        && !ctx.bars.suspend(|| confirm(&preview))
    {
        anyhow::bail!("not confirmed: nothing was bought");
    }

    let provision_total = work.len() as u64;
    let reassign_total = work
        .iter()
        .filter(|w| {
            w.customer
                .lines
                .iter()
                .any(|l| l.license_action == LicenseAction::Reassign)
        })
        .count() as u64;
    ctx.bars.start_work(provision_total, reassign_total);

    let next = AtomicUsize::new(0);
    let journal_error: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    let workers = opts.concurrency.max(1).min(work.len().max(1));
    {
        let work = &work;
        let ctx = &ctx;
        let next = &next;
        let journal_error = &journal_error;
        let tasks = (0..workers).map(|_| async move {
            loop {
                if ctx.stop.load(Ordering::SeqCst) {
                    break;
                }
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(w) = work.get(i) else { break };
                match process_customer(ctx, w).await {
                    Ok(()) => {}
                    Err(Halt::Customer) => {
                        let n = ctx.failures.fetch_add(1, Ordering::SeqCst) + 1;
                        if n >= ctx.opts.max_failures {
                            ctx.stop_run(format!(
                                "stopped after {n} failed customers (--max-failures {})",
                                ctx.opts.max_failures
                            ));
                        }
                    }
                    Err(Halt::Run(e)) => ctx.stop_run(format!("stopped: {e}")),
                    Err(Halt::Journal(e)) => {
                        ctx.stop_run(format!("stopped: the journal cannot be written: {e:#}"));
                        *journal_error.lock().expect("lock") = Some(e);
                    }
                }
            }
        });
        // Workers share one task: their concurrency is I/O, and the journal lock is
        // synchronous, so a single-task join keeps ordering simple and memory flat.
        futures_join_all(tasks).await;
    }
    ctx.bars.finish();
    if let Some(e) = journal_error.into_inner().expect("lock") {
        return Err(e);
    }

    let mut all_events = prior;
    all_events.extend(ctx.events.lock().expect("events").drain(..));
    let mut rows = status::rows(plan, &all_events, opts.today, &opts.only);
    let mut done = std::mem::take(&mut *ctx.done.lock().expect("done"));
    for r in &mut rows {
        if let Some(d) = done.remove(&r.key) {
            r.done_this_run = d;
        }
    }
    let stats = &ctx.client.stats;
    let customers_failed = rows
        .iter()
        .filter(|r| r.status == status::CustomerStatus::Failed)
        .count();
    Ok(RunOutcome {
        rows,
        requests: stats.requests.load(Ordering::Relaxed),
        retries: stats.retries.load(Ordering::Relaxed),
        throttled: stats.throttled.load(Ordering::Relaxed),
        elapsed: started.elapsed(),
        orders_placed: ctx.orders_placed.load(Ordering::Relaxed),
        users_moved: ctx.users_moved.load(Ordering::Relaxed),
        customers_failed,
        stopped: ctx.stop_reason.lock().expect("stop").clone(),
        invitations: invitations_written,
        correlation_id: ctx.client.correlation_id(),
    })
}

/// Polls futures together on the current task (a tiny `join_all`).
async fn futures_join_all<F: std::future::Future<Output = ()>>(futures: impl Iterator<Item = F>) {
    let mut set: Vec<std::pin::Pin<Box<F>>> = futures.map(Box::pin).collect();
    std::future::poll_fn(|cx| {
        set.retain_mut(|f| f.as_mut().poll(cx).is_pending());
        if set.is_empty() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await
}

async fn record_or_fail(ctx: &Ctx, events: Vec<Event>) -> anyhow::Result<()> {
    match ctx.record_all(events).await {
        Ok(()) => Ok(()),
        Err(Halt::Journal(e)) => Err(e),
        Err(_) => unreachable!("record only fails on the journal"),
    }
}

fn task_id(c: &Customer, kind: crate::model::TaskKind) -> Option<String> {
    c.tasks
        .iter()
        .find(|t| t.kind == kind)
        .map(|t| t.id.clone())
}

fn is_nce(offer_id: &str) -> bool {
    offer_id.contains(':')
}

async fn process_customer(ctx: &Ctx, w: &Work<'_>) -> Result<(), Halt> {
    let c = w.customer;
    let mut claimed: Vec<String> = w.progress.orders.iter().cloned().collect();
    let mut provisioned: BTreeMap<String, String> = w.progress.provisioned.clone();
    let mut generation = w.progress.purchase_failures;
    let mut reuse: HashMap<String, PendingPurchase> = HashMap::new();

    // Purchases sent earlier without a recorded outcome: read before buying again.
    for (key, pending) in &w.progress.pending {
        match reconcile(ctx, c, &w.tenant_id, pending, &claimed).await? {
            Some((order_id, subs)) => {
                let mut e = Event::new(&c.key, Action::Reconcile, State::Succeeded);
                e.lines = pending.lines.clone();
                e.request_id = Some(pending.request_id.clone());
                e.order_id = Some(order_id.clone());
                e.subscription_ids = subs;
                e.note = Some("found the order sent before the interruption".into());
                ctx.record(e).await?;
                for l in &pending.lines {
                    provisioned.insert(l.clone(), order_id.clone());
                }
                claimed.push(order_id.clone());
                ctx.did(&c.key, format!("reconciled order {order_id}"));
            }
            None => {
                let due_ids: HashSet<&str> = w.due.iter().map(|l| l.id.as_str()).collect();
                if pending.lines.iter().any(|l| due_ids.contains(l.as_str())) {
                    // Not listed (yet: a new order can take 15 minutes to appear) is no
                    // proof it was never placed, and the journal cannot prove the POST
                    // never left. Send again under the same request ID (the same cart for
                    // a checkout) so a server that did see it dedups; never a new one.
                    reuse.insert(key.clone(), pending.clone());
                } else {
                    // None of its lines is due any more (all provisioned by another
                    // order): nothing left to buy under this request.
                    let mut e = Event::new(&c.key, Action::Provision, State::Failed);
                    e.lines = pending.lines.clone();
                    e.request_id = Some(pending.request_id.clone());
                    e.note = Some("reconciled: its lines were provisioned by another order".into());
                    ctx.record(e).await?;
                    generation += 1;
                }
            }
        }
    }

    // Purchase the due lines: legacy offers in one order, new-commerce items in one cart.
    let due: Vec<&Line> = w
        .due
        .iter()
        .copied()
        .filter(|l| !provisioned.contains_key(&l.id))
        .collect();
    let mut failed = false;
    if !due.is_empty() {
        let (missing, due): (Vec<&Line>, Vec<&Line>) =
            due.into_iter().partition(|l| l.target_offer_id.is_none());
        if !missing.is_empty() {
            let mut e = Event::new(&c.key, Action::Provision, State::Failed);
            e.lines = missing.iter().map(|l| l.id.clone()).collect();
            e.error = Some(plan_error(
                &format!(
                    "line {} has no target offer ID",
                    missing
                        .iter()
                        .map(|l| l.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                "re-plan with --catalog so every target offer resolves to a catalog ID",
            ));
            ctx.record(e).await?;
            failed = true;
        }
        let (nce, legacy): (Vec<&Line>, Vec<&Line>) = due
            .into_iter()
            .partition(|l| is_nce(l.target_offer_id.as_deref().unwrap_or("")));
        // Add-ons need an active base subscription, so they follow the base order.
        let (addons, base): (Vec<&Line>, Vec<&Line>) = legacy
            .into_iter()
            .partition(|l| ctx.addon_prerequisites(l).is_some());
        for (group, kind) in [
            (base, Purchase::Order),
            (addons, Purchase::AddOns),
            (nce, Purchase::Cart),
        ] {
            if group.is_empty() || (kind == Purchase::AddOns && failed) {
                continue;
            }
            let ids: Vec<String> = group.iter().map(|l| l.id.clone()).collect();
            let key = lines_key(&ids);
            let pending = reuse.get(&key);
            // Each pending purchase is keyed by its own group (base order, add-ons, cart).
            // A pending one that holds some of these lines but not exactly this group may
            // still have gone through: buying them under a new request could order twice.
            if pending.is_none()
                && let Some(other) = reuse
                    .values()
                    .find(|p| p.lines.iter().any(|l| ids.contains(l)))
            {
                let mut e = Event::new(&c.key, Action::Provision, State::Ambiguous);
                e.lines = other.lines.clone();
                e.request_id = Some(other.request_id.clone());
                e.cart_id = other.cart_id.clone();
                e.note = Some(
                    "a pending purchase no longer matches the plan's order groups: left pending, not bought again".into(),
                );
                ctx.record(e).await?;
                failed = true;
                continue;
            }
            let result = match kind {
                Purchase::Cart => {
                    purchase_cart(ctx, c, &w.tenant_id, &group, generation, pending, &claimed).await
                }
                Purchase::Order => {
                    purchase_order(
                        ctx,
                        c,
                        &w.tenant_id,
                        &group,
                        generation,
                        pending,
                        &claimed,
                        &HashMap::new(),
                    )
                    .await
                }
                Purchase::AddOns => match addon_parents(ctx, c, &w.tenant_id, &group).await {
                    Ok(parents) => {
                        purchase_order(
                            ctx,
                            c,
                            &w.tenant_id,
                            &group,
                            generation,
                            pending,
                            &claimed,
                            &parents,
                        )
                        .await
                    }
                    Err(halt) => Err(halt),
                },
            };
            match result {
                Ok(order_id) => {
                    for l in &ids {
                        provisioned.insert(l.clone(), order_id.clone());
                    }
                    claimed.push(order_id);
                }
                Err(Halt::Customer) => failed = true,
                Err(other) => return Err(other),
            }
        }
    }
    ctx.bars.provisioned();
    if failed {
        return Err(Halt::Customer);
    }

    // Licence moves for provisioned lines whose offer changed.
    let reassign: Vec<&Line> = c
        .lines
        .iter()
        .filter(|l| {
            l.license_action == LicenseAction::Reassign
                && provisioned.contains_key(&l.id)
                && !w.progress.reassigned.contains(&l.id)
        })
        .collect();
    if !reassign.is_empty() {
        let r = reassign_licenses(ctx, c, &w.tenant_id, &reassign, &w.progress).await;
        ctx.bars.reassigned();
        r?;
    }
    Ok(())
}

/// For each add-on line, an active subscription of one of its prerequisite offers.
async fn addon_parents(
    ctx: &Ctx,
    c: &Customer,
    tenant_id: &str,
    lines: &[&Line],
) -> Result<HashMap<String, String>, Halt> {
    let ids: Vec<String> = lines.iter().map(|l| l.id.clone()).collect();
    let subs = match ctx.client.subscriptions(tenant_id).await {
        Ok(s) => s,
        Err(e) if e.is_fatal() => return Err(Halt::Run(Box::new(e))),
        Err(e) => {
            ctx.record(fail_event(c, Action::Provision, &ids, &e))
                .await?;
            return Err(Halt::Customer);
        }
    };
    let mut parents = HashMap::new();
    for l in lines {
        let prereqs = ctx.addon_prerequisites(l).cloned().unwrap_or_default();
        let parent = subs.iter().find(|s| {
            s.get("status").and_then(Value::as_str) == Some("active")
                && s.get("offerId")
                    .and_then(Value::as_str)
                    .is_some_and(|o| prereqs.contains(&o.to_ascii_lowercase()))
        });
        match parent.and_then(|p| p.get("id").and_then(Value::as_str)) {
            Some(id) => {
                parents.insert(l.id.clone(), id.to_string());
            }
            None => {
                let e = plan_error(
                    &format!(
                        "line {} is an add-on ({}) but the customer has no active subscription to an offer it requires",
                        l.id, l.target_offer
                    ),
                    "an add-on needs its base offer bought through Partner Center first: plan the base offer as a legacy offer it accepts, or drop the add-on",
                );
                ctx.record(fail_event(c, Action::Provision, &ids, &e))
                    .await?;
                return Err(Halt::Customer);
            }
        }
    }
    Ok(parents)
}

/// A JSON value as text: a string as it is, anything else (a number) as JSON.
fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A refusal Partner Center reports inside a successful (201) answer: a cart line's
/// `error` or a checkout's `orderErrors` entry, with its code and description.
fn refused_in_body(
    call: String,
    code: Option<&Value>,
    description: Option<&Value>,
    default_description: &str,
    request_id: Uuid,
) -> ApiError {
    let code = code.map(value_text);
    ApiError {
        kind: ErrorKind::Refused,
        ambiguous: false,
        call,
        status: Some(201),
        hint: super::client::hint_for(None, code.as_deref(), ErrorKind::Refused),
        code,
        description: description
            .and_then(Value::as_str)
            .unwrap_or(default_description)
            .to_string(),
        request_id: Some(request_id.to_string()),
    }
}

fn plan_error(description: &str, hint: &str) -> ApiError {
    ApiError {
        kind: ErrorKind::Refused,
        ambiguous: false,
        call: "plan".to_string(),
        status: None,
        code: None,
        description: description.to_string(),
        request_id: None,
        hint: hint.to_string(),
    }
}

/// An event about one purchase attempt: its plan lines, the `MS-RequestId` it was sent
/// under and, for a new-commerce purchase, its cart. Both purchase paths (orders and
/// cart checkouts) record their outcomes through it so their journal lines agree.
fn purchase_event(
    c: &Customer,
    action: Action,
    state: State,
    lines: &[String],
    request_id: impl std::fmt::Display,
    cart_id: Option<&String>,
) -> Event {
    let mut e = Event::new(&c.key, action, state);
    e.lines = lines.to_vec();
    e.request_id = Some(request_id.to_string());
    e.cart_id = cart_id.cloned();
    e
}

fn fail_event(c: &Customer, action: Action, lines: &[String], err: &ApiError) -> Event {
    let mut e = Event::new(&c.key, action, State::Failed);
    e.lines = lines.to_vec();
    e.request_id = err.request_id.clone();
    e.error = Some(err.clone());
    e
}

/// Subscription ids from an order's line items (present once provisioned).
fn order_subscriptions(order: &Value) -> Vec<String> {
    order
        .get("lineItems")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|li| li.get("subscriptionId").and_then(Value::as_str))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Rounds of one purchase under the same request ID (or cart) before it is left pending.
const ROUNDS: usize = 3;

/// The outcomes of one purchase's attempts, recorded the same way for orders and cart
/// checkouts: what was bought, what failed for sure, and what stays pending.
struct Attempts<'a> {
    ctx: &'a Ctx,
    c: &'a Customer,
    tenant_id: &'a str,
    /// The purchase as the journal knows it: lines, request ID, cart.
    now: PendingPurchase,
    claimed: &'a [String],
    /// What buying is called in progress lines: "ordered", "checked out".
    what: &'static str,
    /// An attempt (in this run or an earlier one) may have gone through.
    was_ambiguous: bool,
    last: Option<ApiError>,
}

impl<'a> Attempts<'a> {
    fn new(
        ctx: &'a Ctx,
        c: &'a Customer,
        tenant_id: &'a str,
        now: PendingPurchase,
        claimed: &'a [String],
        what: &'static str,
        was_ambiguous: bool,
    ) -> Attempts<'a> {
        Attempts {
            ctx,
            c,
            tenant_id,
            now,
            claimed,
            what,
            was_ambiguous,
            last: None,
        }
    }

    fn event(&self, action: Action, state: State) -> Event {
        purchase_event(
            self.c,
            action,
            state,
            &self.now.lines,
            &self.now.request_id,
            self.now.cart_id.as_ref(),
        )
    }

    /// Records `order` as bought and returns its id.
    async fn bought(&self, order: &Value) -> Result<String, Halt> {
        let order_id = order
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let mut e = self.event(Action::Provision, State::Succeeded);
        e.order_id = Some(order_id.clone());
        e.subscription_ids = order_subscriptions(order);
        self.ctx.record(e).await?;
        self.ctx.orders_placed.fetch_add(1, Ordering::Relaxed);
        self.ctx.did(
            &self.c.key,
            format!(
                "{} {} (order {order_id})",
                self.what,
                self.now.lines.join(", ")
            ),
        );
        Ok(order_id)
    }

    /// Handles a failed attempt. `Ok(Some(order id))`: reconciliation found the order
    /// after all; `Ok(None)`: ambiguous, try another round; `Err`: settled (refused,
    /// left pending after a refusal that followed an ambiguous attempt, or fatal).
    async fn failed(&mut self, e: ApiError) -> Result<Option<String>, Halt> {
        let (ctx, c) = (self.ctx, self.c);
        if e.is_fatal() {
            return Err(Halt::Run(Box::new(e)));
        }
        if treat_as_ambiguous(&e) {
            self.was_ambiguous = true;
            let mut ev = self.event(Action::Provision, State::Ambiguous);
            ev.error = Some(e.clone());
            ctx.record(ev).await?;
            if let Some((order_id, subs)) =
                reconcile(ctx, c, self.tenant_id, &self.now, self.claimed).await?
            {
                let mut ev = self.event(Action::Reconcile, State::Succeeded);
                ev.order_id = Some(order_id.clone());
                ev.subscription_ids = subs;
                ev.note = Some("the order went through despite the failed answer".into());
                ctx.record(ev).await?;
                ctx.orders_placed.fetch_add(1, Ordering::Relaxed);
                ctx.did(
                    &c.key,
                    format!(
                        "{} {} (order {order_id}, reconciled)",
                        self.what,
                        self.now.lines.join(", ")
                    ),
                );
                return Ok(Some(order_id));
            }
            self.last = Some(e);
            return Ok(None);
        }
        if self.was_ambiguous {
            // Refused now, but an earlier attempt may have gone through: leave it
            // pending so the next run reconciles, never "failed, nothing bought".
            let mut ev = self.event(Action::Provision, State::Ambiguous);
            ev.error = Some(e);
            ev.note = Some(REFUSED_AFTER_AMBIGUOUS.into());
            ctx.record(ev).await?;
            return Err(Halt::Customer);
        }
        // A definite refusal (or throttling that never let up): nothing was bought.
        ctx.record(fail_event(c, Action::Provision, &self.now.lines, &e))
            .await?;
        Err(Halt::Customer)
    }

    /// Still ambiguous after every round: left pending; the next run reconciles first.
    async fn still_pending(self) -> Result<String, Halt> {
        let mut ev = self.event(Action::Provision, State::Ambiguous);
        ev.error = self.last;
        self.ctx.record(ev).await?;
        Err(Halt::Customer)
    }
}

// The purchase's whole context is spelled out rather than bundled: each argument is
// one fact the reconciliation depends on.
#[allow(clippy::too_many_arguments)]
async fn purchase_order(
    ctx: &Ctx,
    c: &Customer,
    tenant_id: &str,
    lines: &[&Line],
    generation: u32,
    pending: Option<&PendingPurchase>,
    claimed: &[String],
    parents: &HashMap<String, String>,
) -> Result<String, Halt> {
    let ids: Vec<String> = lines.iter().map(|l| l.id.clone()).collect();
    let key = lines_key(&ids);
    let rid = match pending {
        Some(p) => Uuid::parse_str(&p.request_id).unwrap_or_else(|_| {
            request_id(
                &ctx.plan_sha256,
                &c.key,
                &format!("order:{key}"),
                generation,
            )
        }),
        None => request_id(
            &ctx.plan_sha256,
            &c.key,
            &format!("order:{key}"),
            generation,
        ),
    };
    let body = json!({
        "referenceCustomerId": tenant_id,
        "billingCycle": "monthly",
        "lineItems": lines.iter().enumerate().map(|(i, l)| {
            let mut item = json!({
                "lineItemNumber": i,
                "offerId": l.target_offer_id.as_deref().unwrap_or_default(),
                "friendlyName": format!("{} (cspmove {})", l.target_offer, l.id),
                "quantity": l.target_seats,
            });
            if let Some(parent) = parents.get(&l.id) {
                item["parentSubscriptionId"] = json!(parent);
            }
            item
        }).collect::<Vec<_>>(),
    });
    let mut started = purchase_event(c, Action::Provision, State::Started, &ids, rid, None);
    started.task = task_id(c, crate::model::TaskKind::Provision);
    let started_at = pending.and_then(|p| p.started).unwrap_or(started.at);
    ctx.record(started).await?;
    let pending_now = PendingPurchase {
        lines: ids.clone(),
        request_id: rid.to_string(),
        cart_id: None,
        started: Some(started_at),
    };
    let mut attempts = Attempts::new(
        ctx,
        c,
        tenant_id,
        pending_now,
        claimed,
        "ordered",
        pending.is_some(),
    );
    for _round in 0..ROUNDS {
        match ctx.client.create_order(tenant_id, &body, rid).await {
            Ok(order) => return attempts.bought(&order).await,
            Err(e) => {
                if let Some(order_id) = attempts.failed(e).await? {
                    return Ok(order_id);
                }
            }
        }
    }
    attempts.still_pending().await
}

/// How a checkout with `orderErrors` split the cart's lines.
#[derive(Debug, Default, PartialEq)]
struct CheckoutSplit {
    /// (order id, its plan lines, its subscription ids) for every returned order.
    ordered: Vec<(String, Vec<String>, Vec<String>)>,
    /// Lines of an order group listed in `orderErrors`: definitely not bought.
    failed: Vec<String>,
    /// Lines in neither (their group is unknown): possibly bought, left pending.
    unknown: Vec<String>,
}

/// Attributes a checkout result's orders to plan lines by offer and quantity (each line
/// once), and the rest to the failed order groups when the cart's groups are known.
fn split_checkout(
    lines: &[&Line],
    result: &Value,
    order_groups: &HashMap<String, String>,
) -> CheckoutSplit {
    let mut split = CheckoutSplit::default();
    let mut left: Vec<&Line> = lines.to_vec();
    for order in result
        .get("orders")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let mut order_lines = Vec::new();
        for li in order
            .get("lineItems")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let have = li
                .get("offerId")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let qty = li.get("quantity").and_then(Value::as_u64);
            if let Some(i) = left.iter().position(|l| {
                Some(l.target_seats) == qty
                    && offer_matches(have, l.target_offer_id.as_deref().unwrap_or_default())
            }) {
                order_lines.push(left.remove(i).id.clone());
            }
        }
        let id = order.get("id").and_then(Value::as_str).unwrap_or_default();
        if !order_lines.is_empty() && !id.is_empty() {
            split
                .ordered
                .push((id.to_string(), order_lines, order_subscriptions(order)));
        }
    }
    let failed_groups: HashSet<String> = result
        .get("orderErrors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| e.get("orderGroupId"))
        .map(value_text)
        .collect();
    for l in left {
        match order_groups.get(&l.id) {
            Some(g) if failed_groups.contains(g) => split.failed.push(l.id.clone()),
            _ => split.unknown.push(l.id.clone()),
        }
    }
    split
}

/// Whether an order's offer is the plan's: new-commerce orders carry
/// PRODUCT:SKU:AVAILABILITY where the plan may hold PRODUCT:SKU.
fn offer_matches(have: &str, want: &str) -> bool {
    let (have, want) = (have.to_ascii_lowercase(), want.to_ascii_lowercase());
    have == want || (want.contains(':') && have.starts_with(&format!("{want}:")))
}

/// How far before a purchase's `started` time an order may be dated and still be ours
/// (clock skew between this machine and Partner Center).
const RECONCILE_SKEW_MINUTES: i64 = 5;

/// Whether an order or subscription was created at or after `started` (less the skew).
/// Without a `creationDate` (or a start time) it is given the benefit of the doubt.
fn created_after_start(v: &Value, started: Option<DateTime<Utc>>) -> bool {
    let Some(started) = started else {
        return true;
    };
    let Some(created) = v
        .get("creationDate")
        .and_then(Value::as_str)
        .and_then(|d| DateTime::parse_from_rfc3339(d).ok())
    else {
        return true;
    };
    created.with_timezone(&Utc) >= started - chrono::Duration::minutes(RECONCILE_SKEW_MINUTES)
}

const REFUSED_AFTER_AMBIGUOUS: &str =
    "refused after an ambiguous attempt: left pending, the next run reconciles it";

/// Whether a purchase error leaves the purchase possibly placed: an ambiguous send, or
/// Partner Center saying the same order/cart is still being processed (partner-center-api.md: `800060`
/// order in progress, `800064` cart in process, `800065` checkout already running).
fn treat_as_ambiguous(e: &ApiError) -> bool {
    e.ambiguous || matches!(e.code.as_deref(), Some("800060" | "800064" | "800065"))
}

/// After an ambiguous purchase: is there an order (not claimed by another line set) with
/// our request ID or exactly our line items? Orders first; subscriptions if no order matches.
async fn reconcile(
    ctx: &Ctx,
    c: &Customer,
    tenant_id: &str,
    pending: &PendingPurchase,
    claimed: &[String],
) -> Result<Option<(String, Vec<String>)>, Halt> {
    let lines: Vec<&Line> = c
        .lines
        .iter()
        .filter(|l| pending.lines.contains(&l.id))
        .collect();
    let mut want: Vec<(String, u64)> = lines
        .iter()
        .map(|l| {
            (
                l.target_offer_id
                    .clone()
                    .unwrap_or_default()
                    .to_ascii_lowercase(),
                l.target_seats,
            )
        })
        .collect();
    want.sort();
    // Orders created well before the purchase started were bought by someone else (by
    // hand, or by an earlier plan): matching by items must never claim them.
    let recent_enough = |v: &Value| created_after_start(v, pending.started);
    let orders = match ctx.client.orders(tenant_id).await {
        Ok(o) => o,
        Err(e) if e.is_fatal() => return Err(Halt::Run(Box::new(e))),
        Err(e) => {
            let mut ev = fail_event(c, Action::Reconcile, &pending.lines, &e);
            ev.state = State::Ambiguous;
            ev.note = Some("could not read orders to reconcile".into());
            ctx.record(ev).await?;
            return Err(Halt::Customer);
        }
    };
    for o in &orders {
        let Some(id) = o.get("id").and_then(Value::as_str) else {
            continue;
        };
        if claimed.iter().any(|c| c == id) {
            continue;
        }
        let by_request = o
            .as_object()
            .and_then(|m| {
                m.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("requestId"))
                    .and_then(|(_, v)| v.as_str())
            })
            .is_some_and(|r| r.eq_ignore_ascii_case(&pending.request_id));
        let mut have: Vec<(String, u64)> = o
            .get("lineItems")
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .map(|li| {
                        (
                            li.get("offerId")
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                                .to_ascii_lowercase(),
                            li.get("quantity").and_then(Value::as_u64).unwrap_or(0),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        have.sort();
        let by_items = have.len() == want.len()
            && have
                .iter()
                .zip(&want)
                .all(|(h, w)| h.1 == w.1 && offer_matches(&h.0, &w.0));
        if by_request || (by_items && recent_enough(o)) {
            return Ok(Some((id.to_string(), order_subscriptions(o))));
        }
    }
    // Orders can take a while to be listed; subscriptions of our offers and quantities
    // that no recorded order claims also prove the purchase.
    let subs = match ctx.client.subscriptions(tenant_id).await {
        Ok(s) => s,
        Err(e) if e.is_fatal() => return Err(Halt::Run(Box::new(e))),
        Err(e) => {
            let mut ev = fail_event(c, Action::Reconcile, &pending.lines, &e);
            ev.state = State::Ambiguous;
            ev.note = Some("could not read subscriptions to reconcile".into());
            ctx.record(ev).await?;
            return Err(Halt::Customer);
        }
    };
    let mut used = vec![false; subs.len()];
    let mut found: Vec<(String, String)> = Vec::new();
    for (offer, qty) in &want {
        let hit = subs.iter().enumerate().find(|(i, s)| {
            !used[*i]
                && recent_enough(s)
                && s.get("status").and_then(Value::as_str) != Some("deleted")
                && s.get("orderId")
                    .and_then(Value::as_str)
                    .is_some_and(|o| !claimed.iter().any(|c| c == o))
                && s.get("quantity").and_then(Value::as_u64) == Some(*qty)
                && s.get("offerId")
                    .and_then(Value::as_str)
                    .is_some_and(|have| offer_matches(have, offer))
        });
        match hit {
            Some((i, s)) => {
                used[i] = true;
                found.push((
                    s.get("orderId")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    s.get("id")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                ));
            }
            None => return Ok(None),
        }
    }
    let order_id = found.first().map(|f| f.0.clone()).unwrap_or_default();
    if found.iter().all(|f| f.0 == order_id) && !order_id.is_empty() {
        Ok(Some((order_id, found.into_iter().map(|f| f.1).collect())))
    } else {
        Ok(None)
    }
}

async fn purchase_cart(
    ctx: &Ctx,
    c: &Customer,
    tenant_id: &str,
    lines: &[&Line],
    generation: u32,
    pending: Option<&PendingPurchase>,
    claimed: &[String],
) -> Result<String, Halt> {
    let ids: Vec<String> = lines.iter().map(|l| l.id.clone()).collect();
    let key = lines_key(&ids);
    let fail = |e: &ApiError| fail_event(c, Action::Provision, &ids, e);
    // Plan line id → the cart's `orderGroup`, known when the cart is created in this run.
    let mut order_groups: HashMap<String, String> = HashMap::new();
    let (cart_id, rid, started_at) = match pending
        .and_then(|p| p.cart_id.clone().map(|cid| (cid, p)))
    {
        // Checkout is idempotent per cart: retry the same cart, never a new one.
        Some((cart_id, p)) => (
            cart_id,
            Uuid::parse_str(&p.request_id).unwrap_or_else(|_| Uuid::new_v4()),
            p.started,
        ),
        None => {
            let country = c.country.clone().unwrap_or_else(|| "US".to_string());
            let mut items = Vec::new();
            for (i, l) in lines.iter().enumerate() {
                let offer = l.target_offer_id.as_deref().unwrap_or_default();
                let parts: Vec<&str> = offer.split(':').collect();
                let (catalog_item, term, cycle) = if parts.len() >= 3 {
                    (offer.to_string(), "P1Y".to_string(), "monthly".to_string())
                } else {
                    let avail = match ctx
                        .client
                        .availabilities(parts[0], parts.get(1).copied().unwrap_or(""), &country)
                        .await
                    {
                        Ok(a) => a,
                        Err(e) if e.is_fatal() => return Err(Halt::Run(Box::new(e))),
                        Err(e) => {
                            ctx.record(fail(&e)).await?;
                            return Err(Halt::Customer);
                        }
                    };
                    match pick_availability(&avail) {
                        Some(x) => x,
                        None => {
                            let e = plan_error(
                                &format!("no purchasable availability for {offer} in {country}"),
                                "check the offer in Partner Center's catalog for this market",
                            );
                            ctx.record(fail(&e)).await?;
                            return Err(Halt::Customer);
                        }
                    }
                };
                items.push(json!({
                    "id": i,
                    "catalogItemId": catalog_item,
                    "quantity": l.target_seats,
                    "billingCycle": cycle,
                    "termDuration": term,
                    "friendlyName": format!("{} (cspmove {})", l.target_offer, l.id),
                }));
            }
            let body = json!({ "lineItems": items });
            let cart_rid = request_id(&ctx.plan_sha256, &c.key, &format!("cart:{key}"), generation);
            let cart = match ctx.client.create_cart(tenant_id, &body, cart_rid).await {
                Ok(cart) => cart,
                Err(e) if e.is_fatal() => return Err(Halt::Run(Box::new(e))),
                Err(e) => {
                    ctx.record(fail(&e)).await?;
                    return Err(Halt::Customer);
                }
            };
            if let Some(err) = cart
                .get("lineItems")
                .and_then(Value::as_array)
                .and_then(|items| items.iter().find_map(|li| li.get("error")))
                .filter(|e| !e.is_null())
            {
                let e = refused_in_body(
                    format!("POST /v1/customers/{tenant_id}/carts"),
                    err.get("errorCode"),
                    err.get("errorDescription"),
                    "a cart line was refused",
                    cart_rid,
                );
                ctx.record(fail(&e)).await?;
                return Err(Halt::Customer);
            }
            for li in cart
                .get("lineItems")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let line = li
                    .get("id")
                    .and_then(Value::as_u64)
                    .and_then(|i| lines.get(usize::try_from(i).ok()?));
                let group = li.get("orderGroup").map(value_text);
                if let (Some(line), Some(group)) = (line, group) {
                    order_groups.insert(line.id.clone(), group);
                }
            }
            let Some(cart_id) = cart.get("id").and_then(Value::as_str).map(str::to_string) else {
                let e = plan_error("the cart has no id", "re-run apply");
                ctx.record(fail(&e)).await?;
                return Err(Halt::Customer);
            };
            let rid = request_id(
                &ctx.plan_sha256,
                &c.key,
                &format!("checkout:{key}"),
                generation,
            );
            let mut started = purchase_event(
                c,
                Action::Provision,
                State::Started,
                &ids,
                rid,
                Some(&cart_id),
            );
            started.task = task_id(c, crate::model::TaskKind::Provision);
            let at = started.at;
            ctx.record(started).await?;
            (cart_id, rid, Some(at))
        }
    };
    let pending_now = PendingPurchase {
        lines: ids.clone(),
        request_id: rid.to_string(),
        cart_id: Some(cart_id.clone()),
        started: started_at,
    };
    let mut attempts = Attempts::new(
        ctx,
        c,
        tenant_id,
        pending_now,
        claimed,
        "checked out",
        pending.is_some(),
    );
    for _round in 0..ROUNDS {
        match ctx.client.checkout(tenant_id, &cart_id, rid).await {
            Ok(result) => {
                if let Some(err) = result
                    .get("orderErrors")
                    .and_then(Value::as_array)
                    .and_then(|e| e.first())
                {
                    let e = refused_in_body(
                        format!("POST /v1/customers/{tenant_id}/carts/{cart_id}/checkout"),
                        err.get("code"),
                        err.get("description"),
                        "the order group failed",
                        rid,
                    );
                    // A checkout can partly succeed (one order per order group): the lines
                    // in returned orders are bought, only the failed groups' lines failed.
                    let split = split_checkout(lines, &result, &order_groups);
                    for (order_id, order_lines, subs) in &split.ordered {
                        let mut ev = Event::new(&c.key, Action::Provision, State::Succeeded);
                        ev.lines = order_lines.clone();
                        ev.request_id = Some(rid.to_string());
                        ev.cart_id = Some(cart_id.clone());
                        ev.order_id = Some(order_id.clone());
                        ev.subscription_ids = subs.clone();
                        ctx.record(ev).await?;
                        ctx.orders_placed.fetch_add(1, Ordering::Relaxed);
                        ctx.did(
                            &c.key,
                            format!("checked out {} (order {order_id})", order_lines.join(", ")),
                        );
                    }
                    if !split.failed.is_empty() {
                        let mut ev = fail_event(c, Action::Provision, &split.failed, &e);
                        ev.cart_id = Some(cart_id.clone());
                        if attempts.was_ambiguous {
                            // An earlier attempt may have bought them: reconcile, never re-buy.
                            ev.state = State::Ambiguous;
                            ev.request_id = Some(rid.to_string());
                            ev.note = Some(REFUSED_AFTER_AMBIGUOUS.into());
                        }
                        ctx.record(ev).await?;
                    }
                    if !split.unknown.is_empty() {
                        let mut ev = Event::new(&c.key, Action::Provision, State::Ambiguous);
                        ev.lines = split.unknown.clone();
                        ev.request_id = Some(rid.to_string());
                        ev.cart_id = Some(cart_id.clone());
                        ev.error = Some(e);
                        ev.note = Some(
                            "the checkout partly failed and these lines are in no returned order nor a known failed group: left pending".into(),
                        );
                        ctx.record(ev).await?;
                    }
                    return Err(Halt::Customer);
                }
                let order = result
                    .get("orders")
                    .and_then(Value::as_array)
                    .and_then(|o| o.first())
                    .cloned()
                    .unwrap_or(Value::Null);
                return attempts.bought(&order).await;
            }
            Err(e) => {
                if let Some(order_id) = attempts.failed(e).await? {
                    return Ok(order_id);
                }
            }
        }
    }
    attempts.still_pending().await
}

/// The catalog item and term to buy: a one-year term billed monthly when offered, else
/// the first term of the first purchasable availability.
fn pick_availability(avail: &[Value]) -> Option<(String, String, String)> {
    let purchasable = avail
        .iter()
        .filter(|a| a.get("isPurchasable").and_then(Value::as_bool) != Some(false));
    let mut fallback = None;
    for a in purchasable {
        let Some(item) = a.get("catalogItemId").and_then(Value::as_str) else {
            continue;
        };
        let terms = a
            .get("terms")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for t in &terms {
            let d = t.get("duration").and_then(Value::as_str).unwrap_or("");
            let b = t
                .get("billingCycle")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_ascii_lowercase();
            if d == "P1Y" && b == "monthly" {
                return Some((item.to_string(), d.to_string(), b));
            }
            if fallback.is_none() && !d.is_empty() {
                fallback = Some((
                    item.to_string(),
                    d.to_string(),
                    if b.is_empty() { "monthly".into() } else { b },
                ));
            }
        }
        if fallback.is_none() {
            fallback = Some((item.to_string(), "P1Y".to_string(), "monthly".to_string()));
        }
    }
    fallback
}

async fn reassign_licenses(
    ctx: &Ctx,
    c: &Customer,
    tenant_id: &str,
    lines: &[&Line],
    progress: &Progress,
) -> Result<(), Halt> {
    let ids: Vec<String> = lines.iter().map(|l| l.id.clone()).collect();
    macro_rules! try_read {
        ($e:expr) => {
            match $e {
                Ok(v) => v,
                Err(e) if e.is_fatal() => return Err(Halt::Run(Box::new(e))),
                Err(e) => {
                    ctx.record(fail_event(c, Action::Reassign, &ids, &e))
                        .await?;
                    return Err(Halt::Customer);
                }
            }
        };
    }
    // (from, to) pairs and the lines each covers.
    let mut pairs: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for l in lines {
        match (&l.from_sku, &l.to_sku) {
            (Some(f), Some(t)) => pairs
                .entry((f.to_ascii_lowercase(), t.to_ascii_lowercase()))
                .or_default()
                .push(l.id.clone()),
            _ => {
                let e = plan_error(
                    &format!(
                        "line {} moves licences but the plan has no from_sku/to_sku",
                        l.id
                    ),
                    "re-plan with --catalog so both offers resolve to licence SKUs",
                );
                ctx.record(fail_event(c, Action::Reassign, &ids, &e))
                    .await?;
                return Err(Halt::Customer);
            }
        }
    }
    let mut started = Event::new(&c.key, Action::Reassign, State::Started);
    started.lines = ids.clone();
    started.task = task_id(c, crate::model::TaskKind::ReassignLicenses);
    ctx.record(started).await?;

    let skus = try_read!(ctx.client.subscribed_skus(tenant_id).await);
    let available: HashMap<String, i64> = skus
        .iter()
        .filter_map(|s| {
            let id = s.pointer("/productSku/id")?.as_str()?.to_ascii_lowercase();
            let avail = s
                .get("availableUnits")
                .and_then(Value::as_i64)
                .unwrap_or_else(|| {
                    let total = s.get("totalUnits").and_then(Value::as_i64).unwrap_or(0);
                    let used = s.get("consumedUnits").and_then(Value::as_i64).unwrap_or(0);
                    total - used
                });
            Some((id, avail))
        })
        .collect();
    let users = try_read!(ctx.client.users(tenant_id).await);
    // Users still on an old SKU without its new one, per pair.
    let mut to_move: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for u in &users {
        if u.get("state").and_then(Value::as_str) == Some("inactive") {
            continue;
        }
        let Some(uid) = u.get("id").and_then(Value::as_str) else {
            continue;
        };
        let held = match ctx.client.user_license_skus(tenant_id, uid).await {
            Ok(h) => h,
            Err(e) if e.is_fatal() => return Err(Halt::Run(Box::new(e))),
            Err(e) if e.code.as_deref() == Some("60002") => continue,
            Err(e) => {
                ctx.record(fail_event(c, Action::Reassign, &ids, &e))
                    .await?;
                return Err(Halt::Customer);
            }
        };
        for (from, to) in pairs.keys() {
            if held.contains(from) && !held.contains(to) {
                to_move
                    .entry((from.clone(), to.clone()))
                    .or_default()
                    .push(uid.to_string());
            }
        }
    }
    // The capacity check: never start a pair that cannot finish.
    for ((from, to), users) in &to_move {
        let have = available.get(to).copied().unwrap_or(0);
        if (users.len() as i64) > have {
            let mut e = Event::new(&c.key, Action::Reassign, State::Waiting);
            e.lines = ids.clone();
            e.users_remaining = Some(users.len() as u64);
            e.note = Some(format!(
                "{need} seats of SKU {to} are available (now {have}) for the {need} users still on {from}",
                need = users.len()
            ));
            ctx.record(e).await?;
            ctx.did(
                &c.key,
                format!(
                    "waiting for seats of {to} ({have} of {} available)",
                    users.len()
                ),
            );
            return Ok(());
        }
    }
    let mut moved = 0u64;
    // Users whose swap failed: one user's bad data (say, no usage location) must not keep
    // every later user of the customer from moving.
    let mut failed_users: Vec<String> = Vec::new();
    for ((from, to), users) in &to_move {
        for uid in users {
            if ctx.stop.load(Ordering::SeqCst) {
                return Ok(());
            }
            let generation = progress.license_failures.get(uid).copied().unwrap_or(0);
            let rid = request_id(
                &ctx.plan_sha256,
                &c.key,
                &format!("license:{uid}:{from}:{to}"),
                generation,
            );
            let mut outcome = ctx
                .client
                .license_update(tenant_id, uid, to, from, rid)
                .await;
            for _ in 0..2 {
                match &outcome {
                    Err(e) if e.ambiguous => {
                        // Read the user's licences: did the swap happen?
                        match ctx.client.user_license_skus(tenant_id, uid).await {
                            Ok(held) if held.contains(to) && !held.contains(from) => {
                                outcome = Ok(Value::Null);
                            }
                            Ok(_) => {
                                outcome = ctx
                                    .client
                                    .license_update(tenant_id, uid, to, from, rid)
                                    .await;
                            }
                            Err(e) if e.is_fatal() => return Err(Halt::Run(Box::new(e))),
                            Err(_) => break,
                        }
                    }
                    _ => break,
                }
            }
            match outcome {
                Ok(_) => {
                    let mut e = Event::new(&c.key, Action::LicenseUpdate, State::Succeeded);
                    e.lines = pairs[&(from.clone(), to.clone())].clone();
                    e.user = Some(uid.clone());
                    e.request_id = Some(rid.to_string());
                    ctx.record(e).await?;
                    moved += 1;
                    ctx.users_moved.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) if e.is_fatal() => return Err(Halt::Run(Box::new(e))),
                Err(e) if e.code.as_deref() == Some("60002") => continue,
                Err(e) => {
                    let mut ev = fail_event(c, Action::LicenseUpdate, &ids, &e);
                    ev.user = Some(uid.clone());
                    if e.ambiguous {
                        ev.state = State::Ambiguous;
                    }
                    ctx.record(ev).await?;
                    if stops_the_licence_moves(&e) {
                        if moved > 0 {
                            ctx.did(&c.key, format!("moved {moved} users"));
                        }
                        report_failed_users(ctx, c, &failed_users);
                        return Err(Halt::Customer);
                    }
                    failed_users.push(uid.clone());
                }
            }
        }
    }
    if !failed_users.is_empty() {
        ctx.did(&c.key, format!("moved {moved} users"));
        report_failed_users(ctx, c, &failed_users);
        return Err(Halt::Customer);
    }
    let mut e = Event::new(&c.key, Action::Reassign, State::Succeeded);
    e.lines = ids;
    e.users_moved = Some(moved);
    e.users_remaining = Some(0);
    ctx.record(e).await?;
    ctx.did(&c.key, format!("moved {moved} users to the new SKU"));
    Ok(())
}

/// Whether a failed licence swap stops the customer's remaining swaps: only running out
/// of licences (`60012`), which every later user would hit too. Anything else is about
/// this user (usage location, a blocked account): record it and move the others.
fn stops_the_licence_moves(e: &ApiError) -> bool {
    e.code.as_deref() == Some("60012")
}

fn report_failed_users(ctx: &Ctx, c: &Customer, users: &[String]) {
    if !users.is_empty() {
        ctx.did(
            &c.key,
            format!(
                "{} users could not be moved (see the journal): {}",
                users.len(),
                users.join(", ")
            ),
        );
    }
}

/// The calls a run would make, without making any (`--dry-run`). Acceptance is not known
/// without the sweep, so purchases are listed for every customer, marked "if accepted"
/// where the journal has not seen an acceptance.
pub fn dry_run(plan: &Plan, prior: &[Event], opts: &ApplyOptions) -> String {
    let progress = status::replay(prior);
    let mut out = String::new();
    out.push_str(&format!(
        "GET /v1/customers?size={} (paged: one sweep finds every accepted customer)\n",
        super::client::PAGE_SIZE
    ));
    let scope: Vec<&Customer> = plan
        .customers
        .iter()
        .filter(|c| status::matches_only(c, &opts.only))
        .collect();
    let empty = Progress::default();
    let mut maybe_invite = false;
    let mut calls = Vec::new();
    for c in &scope {
        let p = progress.get(&c.key).unwrap_or(&empty);
        let known = p.accepted == Some(true)
            || (p.accepted.is_none() && c.relationship == crate::model::Relationship::Accepted);
        if !known {
            maybe_invite = true;
        }
        let cond = if known { "" } else { " (if accepted)" };
        let id = p
            .tenant_id
            .clone()
            .or_else(|| c.customer_id.clone())
            .unwrap_or_else(|| format!("{{tenant of {}}}", c.domain.as_deref().unwrap_or(&c.key)));
        for pend in p.pending.values() {
            calls.push(format!(
                "{}: GET /v1/customers/{id}/orders (reconcile request {}){cond}",
                c.key, pend.request_id
            ));
        }
        let due: Vec<&Line> = c
            .lines
            .iter()
            .filter(|l| !p.provisioned.contains_key(&l.id) && is_due(l, opts.today, opts.now))
            .collect();
        let (nce, legacy): (Vec<&Line>, Vec<&Line>) = due
            .iter()
            .partition(|l| is_nce(l.target_offer_id.as_deref().unwrap_or("")));
        if !legacy.is_empty() {
            let items: Vec<String> = legacy
                .iter()
                .map(|l| {
                    format!(
                        "{} {} x{}",
                        l.id,
                        l.target_offer_id.as_deref().unwrap_or("(no offer ID)"),
                        l.target_seats
                    )
                })
                .collect();
            calls.push(format!(
                "{}: POST /v1/customers/{id}/orders [{}]{cond}",
                c.key,
                items.join("; ")
            ));
        }
        if !nce.is_empty() {
            let items: Vec<String> = nce
                .iter()
                .map(|l| {
                    format!(
                        "{} {} x{}",
                        l.id,
                        l.target_offer_id.as_deref().unwrap_or(""),
                        l.target_seats
                    )
                })
                .collect();
            calls.push(format!(
                "{}: GET availabilities, POST /v1/customers/{id}/carts, POST …/carts/{{cart}}/checkout [{}]{cond}",
                c.key,
                items.join("; ")
            ));
        }
        for l in c.lines.iter().filter(|l| {
            l.license_action == LicenseAction::Reassign
                && !p.reassigned.contains(&l.id)
                && (p.provisioned.contains_key(&l.id) || due.iter().any(|d| d.id == l.id))
        }) {
            calls.push(format!(
                "{}: GET /v1/customers/{id}/subscribedskus, GET …/users (paged), GET …/users/{{uid}}/licenses per user, \
                 POST …/users/{{uid}}/licenseupdates per user on {} (assign {}, remove {}; about {} users){cond}",
                c.key,
                l.from_sku.as_deref().unwrap_or("?"),
                l.to_sku.as_deref().unwrap_or("?"),
                l.from_sku.as_deref().unwrap_or("?"),
                l.licenses_to_reassign
            ));
        }
    }
    if maybe_invite {
        out.push_str(
            "GET /v1/customers/relationshiprequests (once, if any customer has not accepted; writes invitations.csv)\n",
        );
    }
    if calls.iter().any(|c| c.contains("/orders [")) {
        out.push_str(
            "GET /v1/offers/{id} (once per distinct legacy offer ordered, to find add-ons)\n",
        );
    }
    for call in &calls {
        out.push_str(call);
        out.push('\n');
    }
    out.push_str(&format!(
        "dry run: {} customers in scope, {} calls listed above; nothing was changed\n",
        scope.len(),
        calls.len() + 1 + usize::from(maybe_invite)
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::testplan::plan_with;

    #[test]
    fn request_ids_are_stable_per_action_and_generation() {
        let a = request_id("sha", "c1", "order:c1-l1", 0);
        assert_eq!(a, request_id("sha", "c1", "order:c1-l1", 0));
        assert_ne!(a, request_id("sha", "c1", "order:c1-l1", 1));
        assert_ne!(a, request_id("sha", "c2", "order:c1-l1", 0));
        assert_ne!(a, request_id("other", "c1", "order:c1-l1", 0));
    }

    #[test]
    fn dry_run_lists_one_order_per_customer_and_the_licence_calls() {
        let plan = plan_with(2, 1, 0);
        let opts = ApplyOptions {
            today: plan.as_of,
            now: false,
            concurrency: 1,
            only: vec![],
            max_failures: 1,
            invitations_path: PathBuf::from("invitations.csv"),
            show_progress: false,
        };
        let text = dry_run(&plan, &[], &opts);
        assert_eq!(text.matches("/orders [").count(), 3, "{text}");
        assert_eq!(text.matches("licenseupdates").count(), 1, "{text}");
        assert!(text.contains("relationshiprequests"));
        assert!(text.contains("nothing was changed"));
    }

    #[test]
    fn a_partly_failed_checkout_keeps_the_orders_that_went_through() {
        let plan = crate::apply::testplan::plan_with(1, 0, 0);
        let mut a = plan.customers[0].lines[0].clone();
        a.id = "c1-a".into();
        a.target_offer_id = Some("CFQ7TTC0LFLX:0001".into());
        a.target_seats = 5;
        let mut b = a.clone();
        b.id = "c1-b".into();
        b.target_offer_id = Some("CFQ7TTC0LF8S:0001".into());
        let mut d = a.clone();
        d.id = "c1-d".into();
        d.target_offer_id = Some("CFQ7TTC0LF8R:0001".into());
        let lines = [&a, &b, &d];
        let result = json!({
            "orders": [{"id": "a68736758d9c", "lineItems": [
                {"lineItemNumber": 0, "offerId": "CFQ7TTC0LFLX:0001:CFQ7TTC0N81H", "quantity": 5,
                 "subscriptionId": "s-1"}]}],
            "orderErrors": [{"orderGroupId": "1", "code": 800089, "description": "over the limit"}],
        });
        let groups: HashMap<String, String> = [("c1-a", "0"), ("c1-b", "1")]
            .into_iter()
            .map(|(l, g)| (l.to_string(), g.to_string()))
            .collect();
        let split = split_checkout(&lines, &result, &groups);
        assert_eq!(
            split,
            CheckoutSplit {
                ordered: vec![(
                    "a68736758d9c".into(),
                    vec!["c1-a".into()],
                    vec!["s-1".into()]
                )],
                failed: vec!["c1-b".into()],
                // Its group is unknown: it may have been bought, so it is not "failed".
                unknown: vec!["c1-d".into()],
            }
        );
    }

    #[test]
    fn reconcile_ignores_orders_created_before_the_purchase_started() {
        let started = DateTime::parse_from_rfc3339("2026-11-21T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let at = |d: &str| json!({"creationDate": d});
        assert!(!created_after_start(
            &at("2026-11-20T09:00:00Z"),
            Some(started)
        ));
        assert!(!created_after_start(
            &at("2026-11-21T09:54:00Z"),
            Some(started)
        ));
        assert!(created_after_start(
            &at("2026-11-21T09:56:00Z"),
            Some(started)
        ));
        assert!(created_after_start(
            &at("2026-11-21T10:03:00.123Z"),
            Some(started)
        ));
        assert!(created_after_start(&json!({}), Some(started)));
        assert!(created_after_start(&at("2026-11-20T09:00:00Z"), None));
    }

    #[test]
    fn only_running_out_of_licences_stops_the_other_users_moves() {
        let mut e = plan_error(
            "License assignment cannot be done for user with invalid usage location.",
            "",
        );
        e.status = Some(400);
        assert!(!stops_the_licence_moves(&e));
        e.code = Some("60002".into());
        assert!(!stops_the_licence_moves(&e));
        e.code = Some("60012".into());
        assert!(stops_the_licence_moves(&e));
    }

    #[test]
    fn order_or_cart_in_progress_is_ambiguous_not_a_refusal() {
        let mut e = plan_error("conflict", "");
        e.status = Some(409);
        for code in ["800060", "800064", "800065"] {
            e.code = Some(code.into());
            assert!(treat_as_ambiguous(&e), "{code}");
        }
        e.code = Some("800002".into());
        assert!(!treat_as_ambiguous(&e));
    }

    #[test]
    fn availability_prefers_one_year_monthly() {
        let avail = vec![json!({
            "catalogItemId": "P:0001:A1",
            "terms": [{"duration": "P1M", "billingCycle": "Monthly"},
                      {"duration": "P1Y", "billingCycle": "Monthly"}]
        })];
        assert_eq!(
            pick_availability(&avail),
            Some(("P:0001:A1".into(), "P1Y".into(), "monthly".into()))
        );
        assert_eq!(pick_availability(&[]), None);
    }
}
