//! One run of `apply` over a plan (DESIGN §8), resumable at any point: the run loop and
//! the context its workers share.
//!
//! A run sweeps the customer list once (acceptance, and tenant IDs of customers planned by
//! domain), writes `invitations.csv` for those who have not accepted, then works on the
//! accepted customers `--concurrency` at a time: reconcile any purchase left without an
//! outcome (`reconcile`), buy the lines now due (`purchase`), then move
//! licences for lines whose licence SKU changes (`licenses`). The main decision
//! is the order of writes: the journal records `started` (with the stable `MS-RequestId`)
//! before a purchase is sent and the outcome after, so whatever kills the process, the
//! next run knows which purchases may exist and reads the customer's orders before
//! buying again. Every failed call ends the same way (`Ctx::give_up`): a fatal one
//! stops the run, any other is recorded for its customer.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use uuid::Uuid;

use super::client::{ApiError, Client, PcCustomer};
use super::due::{self, CustomerWork};
use super::error::{ApplyError, StopReason};
use super::invitations::{self, Invitation};
use super::journal::{self, Action, Event, GroupCommit, Journal, JournalError, State};
use super::progress::Observer;
use super::reason::Reason;
use super::status::{self, CustomerRow, Done, Progress};
use crate::i18n::{Lang, texts};
use crate::model::{Customer, Line, PlanReader, TaskKind};

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
    /// The language of the texts a run writes (the note of invitations.csv).
    pub lang: Lang,
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
    pub stopped: Option<StopReason>,
    pub invitations: Option<(PathBuf, usize)>,
    pub correlation_id: Uuid,
}

/// Why a customer's work ended early.
pub(crate) enum Halt {
    /// Recorded in the journal; the run goes on.
    Customer,
    /// The whole run stops (an auth failure).
    Run(Box<ApiError>),
    /// The journal could not be written: nothing may be sent without it.
    Journal(JournalError),
}

/// What every worker of a run shares.
pub(crate) struct Ctx<'o> {
    pub client: Client,
    journal: GroupCommit,
    pub plan_sha256: String,
    pub opts: ApplyOptions,
    failures: AtomicUsize,
    pub stop: AtomicBool,
    stop_reason: Mutex<Option<StopReason>>,
    pub orders_placed: AtomicU64,
    pub users_moved: AtomicU64,
    done: Mutex<HashMap<String, Vec<Done>>>,
    pub observer: &'o dyn Observer,
    /// Legacy add-on offers (lower case) and the base offers they require, read once per
    /// run from `GET /v1/offers/{id}` for every legacy offer about to be ordered.
    pub addons: OnceLock<HashMap<String, Vec<String>>>,
    /// New-commerce availabilities read in this run, per product, SKU and market.
    pub availabilities: super::purchase::cart::Availabilities,
}

impl Ctx<'_> {
    /// Makes events durable in the journal before the caller goes on.
    pub async fn record_all(&self, events: Vec<Event>) -> Result<(), Halt> {
        if events.is_empty() {
            return Ok(());
        }
        self.journal
            .append_all(&events)
            .await
            .map_err(Halt::Journal)
    }

    pub async fn record(&self, event: Event) -> Result<(), Halt> {
        self.record_all(vec![event]).await
    }

    /// The one answer to a failed call: a fatal error (authentication, MFA, an endpoint
    /// that is down) stops the run; any other is recorded as the customer's failure on
    /// `lines`, and the customer's work in this run ends.
    pub async fn give_up(
        &self,
        c: &Customer,
        action: Action,
        lines: &[String],
        e: ApiError,
    ) -> Halt {
        if e.is_fatal() {
            return Halt::Run(Box::new(e));
        }
        match self.record(fail_event(c, action, lines, &e)).await {
            Ok(()) => Halt::Customer,
            Err(halt) => halt,
        }
    }

    /// [`Ctx::give_up`] for a problem found in the plan itself (no call was made).
    pub async fn give_up_plan(
        &self,
        c: &Customer,
        action: Action,
        lines: &[String],
        reason: Reason,
    ) -> Halt {
        match self.record(plan_fail_event(c, action, lines, reason)).await {
            Ok(()) => Halt::Customer,
            Err(halt) => halt,
        }
    }

    /// A read's value, or [`Ctx::give_up`] on its error.
    pub async fn read<T>(
        &self,
        c: &Customer,
        action: Action,
        lines: &[String],
        result: Result<T, ApiError>,
    ) -> Result<T, Halt> {
        match result {
            Ok(v) => Ok(v),
            Err(e) => Err(self.give_up(c, action, lines, e).await),
        }
    }

    /// The prerequisite offers of a legacy add-on offer (lower case), if it is one.
    pub fn addon_prerequisites(&self, offer_id: &str) -> Option<&Vec<String>> {
        self.addons.get()?.get(&offer_id.to_ascii_lowercase())
    }

    pub fn is_addon(&self, offer_id: &str) -> bool {
        self.addon_prerequisites(offer_id).is_some()
    }

    /// Notes what this run did for a customer (the execution report, which puts it into
    /// words in its language).
    pub fn did(&self, customer: &str, what: Done) {
        self.done
            .lock()
            .expect("done lock")
            .entry(customer.to_string())
            // Most customers get one note a run: no room for four.
            .or_insert_with(|| Vec::with_capacity(1))
            .push(what);
    }

    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    pub fn stop_run(&self, reason: StopReason) {
        let mut r = self.stop_reason.lock().expect("stop lock");
        if r.is_none() {
            *r = Some(reason);
        }
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// An event recording the failure `err` of `action` on `lines`.
pub(crate) fn fail_event(c: &Customer, action: Action, lines: &[String], err: &ApiError) -> Event {
    let mut e = Event::new(&c.key, action, State::Failed);
    e.lines = lines.to_vec();
    e.request_id = err.request_id.clone();
    e.error = Some(err.into());
    e
}

/// The failure event of a problem found in the plan itself (no call was made): the
/// reason as data in the error record, and in English in its description and hint.
pub(crate) fn plan_fail_event(
    c: &Customer,
    action: Action,
    lines: &[String],
    reason: Reason,
) -> Event {
    let en = texts(Lang::En);
    let err = plan_error(&reason.text(en), &reason.hint(en));
    let mut e = fail_event(c, action, lines, &err);
    if let Some(record) = e.error.as_mut() {
        record.reason = Some(Box::new(reason));
    }
    e
}

/// A failure found in the plan itself (no call was made).
pub(crate) fn plan_error(description: &str, hint: &str) -> ApiError {
    ApiError {
        kind: super::client::ErrorKind::Refused,
        ambiguous: false,
        call: "plan".to_string(),
        status: None,
        code: None,
        description: description.to_string(),
        request_id: None,
        hint: hint.to_string(),
    }
}

pub(crate) fn task_id(c: &Customer, kind: TaskKind) -> Option<String> {
    c.tasks
        .iter()
        .find(|t| t.kind == kind)
        .map(|t| t.id.clone())
}

/// The partner's customer list of one sweep, looked up as the plan names a customer:
/// by tenant ID, else by domain. Written once for the run and the dry run.
pub(crate) struct Listing<'a> {
    by_id: HashMap<&'a str, &'a PcCustomer>,
    by_domain: HashMap<&'a str, &'a PcCustomer>,
}

impl<'a> Listing<'a> {
    pub fn new(listed: &'a [PcCustomer]) -> Self {
        let mut by_id = HashMap::new();
        let mut by_domain = HashMap::new();
        // Tenant IDs from the listing reach request paths: only GUIDs are used.
        for c in listed.iter().filter(|c| due::is_guid(&c.id)) {
            by_id.insert(c.id.as_str(), c);
            if let Some(d) = &c.domain {
                by_domain.insert(d.as_str(), c);
            }
        }
        Listing { by_id, by_domain }
    }

    /// The listed reseller customer the plan's `c` is, if it has accepted.
    pub fn find(&self, c: &Customer) -> Option<&'a PcCustomer> {
        c.customer_id
            .as_deref()
            .map(|id| self.by_id.get(id.to_ascii_lowercase().as_str()))
            .unwrap_or_else(|| {
                c.domain
                    .as_deref()
                    .and_then(|d| self.by_domain.get(d.to_ascii_lowercase().as_str()))
            })
            .copied()
            .filter(|pc| pc.is_reseller())
    }
}

/// One accepted customer's work in this run.
pub(crate) struct Work<'a> {
    pub customer: &'a Customer,
    pub tenant_id: String,
    pub progress: Progress,
    pub todo: CustomerWork<'a>,
}

/// Refuses an `--only` that matches no customer of the plan (before the journal opens or
/// anything is sent: a typo must not cost a run, nor start a journal). The plan streams
/// up to the first customer that matches.
pub fn check_only(plan: &Path, only: &[String]) -> Result<(), ApplyError> {
    if only.is_empty() {
        return Ok(());
    }
    let mut reader = PlanReader::open(plan)?;
    while let Some(c) = reader.next_customer()? {
        if status::matches_only(&c, only) {
            return Ok(());
        }
    }
    Err(ApplyError::OnlyMatchesNothing {
        only: only.to_vec(),
    })
}

/// An accepted customer with work in this run, as kept while the plan streams by: only
/// its lines that are due or whose licences still move ([`due::select`] on the kept
/// lines chooses the same work as on all of them, since it judges each line on its own).
struct Kept {
    customer: Customer,
    tenant_id: String,
    progress: Progress,
}

/// Customers whose relationship events are committed together while the plan streams.
const SWEEP_BATCH: usize = 4_096;

/// Runs `apply` once over the plan file `plan`, whose sha256 (checked again as it streams
/// by) is `plan_sha256`. `prior` is what the journal's events from earlier runs say of
/// each customer (a [`status::Replay`] of them, made while [`Journal::open_each`] reads
/// them, so no event is held); `confirm` is asked before the first purchase and may
/// refuse; `observer` hears about progress.
///
/// The plan is streamed ([`PlanReader`]) after the customer sweep, and of each customer
/// only the work due in this run is kept, so memory follows the work, not the plan. A
/// plan that turns out broken or changed while read stops the run before anything is
/// bought. The status rows of the outcome come from a second pass over the plan.
#[allow(clippy::too_many_arguments)]
pub async fn execute(
    plan: &Path,
    plan_sha256: &str,
    client: Client,
    journal: Journal,
    prior: HashMap<String, Box<Progress>>,
    opts: ApplyOptions,
    observer: &dyn Observer,
    confirm: impl FnOnce(&PurchasePreview) -> bool,
) -> Result<RunOutcome, ApplyError> {
    let started = Instant::now();
    // The head first: a plan that cannot be read stops the run before any call.
    let mut reader = PlanReader::open(plan)?;
    // The final rows read the journal again (it holds the earlier events and the run's),
    // so no event is kept: memory follows the customers, not the events.
    let mut progress = prior;
    let ctx = Ctx {
        client,
        journal: journal.group_commit(),
        plan_sha256: plan_sha256.to_string(),
        opts: opts.clone(),
        failures: AtomicUsize::new(0),
        stop: AtomicBool::new(false),
        stop_reason: Mutex::new(None),
        orders_placed: AtomicU64::new(0),
        users_moved: AtomicU64::new(0),
        done: Mutex::new(HashMap::new()),
        observer,
        addons: OnceLock::new(),
        availabilities: Default::default(),
    };

    // 1. One sweep of the customer list for everyone.
    let listed = ctx
        .client
        .customers(|n| observer.customers_listed(n))
        .await
        .map_err(|source| ApplyError::ListCustomers {
            endpoint: ctx.client.base().as_str().trim_end_matches('/').to_string(),
            source: Box::new(source),
        })?;
    let listing = Listing::new(&listed);

    // 2. The plan, one customer at a time: who has accepted, and what is due for them.
    let mut in_scope = 0usize;
    let mut awaiting: Vec<(Customer, bool)> = Vec::new();
    let mut work: Vec<Kept> = Vec::new();
    let mut preview = PurchasePreview {
        customers: 0,
        lines: 0,
        seats: 0,
    };
    let mut reassign_total = 0u64;
    // Legacy offers about to be ordered (lower case) → a market to read them in.
    let mut offers: BTreeMap<String, String> = BTreeMap::new();
    // What the sweep learnt is committed in batches: one fsync per batch, not per customer.
    let mut learnt: Vec<Event> = Vec::new();
    while let Some(mut c) = reader.next_customer()? {
        if !status::matches_only(&c, &opts.only) {
            continue;
        }
        in_scope += 1;
        if learnt.len() >= SWEEP_BATCH {
            record_or_fail(&ctx, std::mem::take(&mut learnt)).await?;
        }
        if let Some(id) = c.customer_id.as_deref().filter(|id| !due::is_guid(id)) {
            let reason = Reason::CustomerIdNotGuid { id: id.to_string() };
            learnt.push(plan_fail_event(&c, Action::Relationship, &[], reason));
            continue;
        }
        let Some(pc) = listing.find(&c) else {
            // Of a customer still awaiting acceptance only what invitations.csv needs is
            // kept (its names, and whether it was listed before), not its lines.
            let p = progress.remove(&c.key).unwrap_or_default();
            if p.accepted != Some(false) {
                let mut e = Event::new(&c.key, Action::Relationship, State::Waiting);
                e.note = Some("not in the partner's customer list yet".into());
                learnt.push(e);
            }
            c.lines = Vec::new();
            c.tasks = Vec::new();
            awaiting.push((c, p.invited));
            continue;
        };
        let p = progress.entry(c.key.clone()).or_default();
        if p.accepted != Some(true) || p.tenant_id.as_deref() != Some(pc.id.as_str()) {
            let mut e = Event::new(&c.key, Action::Relationship, State::Succeeded);
            e.tenant_id = Some(pc.id.clone());
            e.task = task_id(&c, TaskKind::RequestRelationship);
            learnt.push(e);
            p.accepted = Some(true);
            p.tenant_id = Some(pc.id.clone());
            ctx.did(&c.key, Done::RelationshipAccepted);
        }
        let p = progress.remove(&c.key).unwrap_or_default();
        let todo = due::select(&c, &p, opts.today, opts.now);
        if todo.is_empty(&p) {
            continue;
        }
        if !todo.due.is_empty() {
            preview.customers += 1;
            preview.lines += todo.due.len();
            preview.seats += todo.due.iter().map(|l| l.target_seats).sum::<u64>();
        }
        if !todo.reassign.is_empty() {
            reassign_total += 1;
        }
        for l in &todo.due {
            if due::path(l, |_| false) == due::Path::Order {
                let id = l.target_offer_id.as_deref().unwrap_or_default();
                offers
                    .entry(id.to_ascii_lowercase())
                    .or_insert_with(|| c.country.clone().unwrap_or_else(|| "US".into()));
            }
        }
        let keep: HashSet<String> = todo
            .due
            .iter()
            .chain(&todo.reassign)
            .map(|l| l.id.clone())
            .collect();
        c.lines.retain(|l| keep.contains(&l.id));
        work.push(Kept {
            customer: c,
            tenant_id: pc.id.clone(),
            progress: *p,
        });
    }
    let streamed_sha = reader.finish()?;
    check_unchanged(plan, plan_sha256, &streamed_sha)?;
    if in_scope == 0 && !opts.only.is_empty() {
        return Err(ApplyError::OnlyMatchesNothing {
            only: opts.only.clone(),
        });
    }
    record_or_fail(&ctx, learnt).await?;
    drop(listing);
    drop(listed);

    // 3. The invitation link, fetched once for all who have not accepted.
    let mut invitations_written = None;
    if !awaiting.is_empty() {
        match ctx.client.relationship_link().await {
            Ok(link) => {
                let listed = invitations::write(
                    &opts.invitations_path,
                    awaiting
                        .iter()
                        .map(|(c, _)| Invitation::for_customer(c, &link)),
                    opts.lang,
                )?;
                // Committed in batches, like the sweep's events.
                let mut invited = Vec::new();
                for (c, _) in awaiting.iter().filter(|(_, before)| !before) {
                    if invited.len() >= SWEEP_BATCH {
                        record_or_fail(&ctx, std::mem::take(&mut invited)).await?;
                    }
                    let mut e = Event::new(&c.key, Action::Invitation, State::Succeeded);
                    e.note = Some(format!("listed in {}", opts.invitations_path.display()));
                    invited.push(e);
                    ctx.did(&c.key, Done::InvitationListed);
                }
                record_or_fail(&ctx, invited).await?;
                invitations_written = Some((opts.invitations_path.clone(), listed));
            }
            Err(e) if e.is_fatal() => {
                ctx.stop_run(StopReason::Fatal(Box::new(e)));
            }
            Err(e) => {
                tracing::warn!("could not fetch the relationship request link: {e}");
            }
        }
    }
    drop(awaiting);
    drop(progress);

    // Which legacy offers about to be ordered are add-ons: one read per distinct offer.
    let mut addons = HashMap::new();
    if !ctx.stopped() {
        for (offer, country) in &offers {
            match ctx.client.offer(offer, country).await {
                Ok(o) if o.is_add_on => {
                    let prereqs = o
                        .prerequisite_offers
                        .iter()
                        .map(|p| p.to_ascii_lowercase())
                        .collect();
                    addons.insert(offer.clone(), prereqs);
                }
                Ok(_) => {}
                Err(e) if e.is_fatal() => ctx.stop_run(StopReason::Fatal(Box::new(e))),
                // An unknown offer fails its order with a clear 800004 later on.
                Err(e) => tracing::warn!("reading offer {offer}: {e}"),
            }
        }
    }
    let _ = ctx.addons.set(addons);

    let mut confirm = Some(confirm);
    if preview.lines > 0
        && !ctx.stopped()
        && !observer.around_prompt(&mut || confirm.take().is_some_and(|f| f(&preview)))
    {
        return Err(ApplyError::NotConfirmed);
    }

    observer.work_started(work.len() as u64, reassign_total);

    // Workers take customers one at a time; each is dropped once its work is done.
    let workers = opts.concurrency.max(1).min(work.len().max(1));
    let queue = Mutex::new(work.into_iter());
    let journal_error: Mutex<Option<JournalError>> = Mutex::new(None);
    {
        let ctx = &ctx;
        let queue = &queue;
        let journal_error = &journal_error;
        let tasks = (0..workers).map(|_| async move {
            loop {
                if ctx.stopped() {
                    break;
                }
                let next = queue.lock().expect("queue lock").next();
                let Some(Kept {
                    customer,
                    tenant_id,
                    progress,
                }) = next
                else {
                    break;
                };
                let todo = due::select(&customer, &progress, ctx.opts.today, ctx.opts.now);
                let w = Work {
                    customer: &customer,
                    tenant_id,
                    progress,
                    todo,
                };
                match process_customer(ctx, &w).await {
                    Ok(()) => {}
                    Err(Halt::Customer) => {
                        let n = ctx.failures.fetch_add(1, Ordering::SeqCst) + 1;
                        if n >= ctx.opts.max_failures {
                            ctx.stop_run(StopReason::MaxFailures {
                                failed: n,
                                max: ctx.opts.max_failures,
                            });
                        }
                    }
                    Err(Halt::Run(e)) => ctx.stop_run(StopReason::Fatal(e)),
                    Err(Halt::Journal(e)) => {
                        ctx.stop_run(StopReason::Journal);
                        *journal_error.lock().expect("lock") = Some(e);
                    }
                }
            }
        });
        // Workers share one task: their concurrency is I/O, and the journal lock is
        // synchronous, so a single-task join keeps ordering simple and memory flat.
        futures_join_all(tasks).await;
    }
    observer.finished();
    if let Some(e) = journal_error.into_inner().expect("lock") {
        return Err(e.into());
    }

    let mut rows = final_rows(plan, plan_sha256, ctx.journal.path(), &opts)?;
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

/// Refuses a plan whose bytes changed since its sha256 was taken for the journal.
fn check_unchanged(plan: &Path, expected: &str, streamed: &str) -> Result<(), ApplyError> {
    if expected != streamed {
        return Err(ApplyError::PlanChanged {
            path: plan.to_path_buf(),
        });
    }
    Ok(())
}

/// Where every customer in scope stands after the run: the journal (earlier runs' events
/// and this run's) streamed into each customer's progress, then a second pass over the
/// plan, one customer at a time, as `cspmove status` reads it. A customer's progress is
/// dropped once its row is made, so the memory is one customer's progress or row each,
/// never the run's events.
fn final_rows(
    plan: &Path,
    plan_sha256: &str,
    journal: &Path,
    opts: &ApplyOptions,
) -> Result<Vec<CustomerRow>, ApplyError> {
    let mut replay = status::Replay::default();
    journal::for_each_event(journal, |e| replay.push(&e))?;
    let mut progress = replay.finish_boxed();
    let mut reader = PlanReader::open(plan)?;
    let mut rows = Vec::new();
    while let Some(c) = reader.next_customer()? {
        if status::matches_only(&c, &opts.only) {
            let p = progress.remove(&c.key);
            rows.push(status::derive(&c, p.as_deref(), opts.today));
        }
    }
    check_unchanged(plan, plan_sha256, &reader.finish()?)?;
    Ok(rows)
}

/// Polls futures together on the current task (a tiny `join_all`).
pub(crate) async fn futures_join_all<F: std::future::Future<Output = ()>>(
    futures: impl Iterator<Item = F>,
) {
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

async fn record_or_fail(ctx: &Ctx<'_>, events: Vec<Event>) -> Result<(), JournalError> {
    match ctx.record_all(events).await {
        Ok(()) => Ok(()),
        Err(Halt::Journal(e)) => Err(e),
        Err(_) => unreachable!("record only fails on the journal"),
    }
}

/// One customer: settle pending purchases, buy what is due, then move licences.
async fn process_customer(ctx: &Ctx<'_>, w: &Work<'_>) -> Result<(), Halt> {
    let c = w.customer;
    let bought = super::purchase::provision(ctx, w).await;
    ctx.observer.customer_provisioned();
    let provisioned = bought?;

    // Licence moves for provisioned lines whose licence SKU changes.
    let reassign: Vec<&Line> = w
        .todo
        .reassign
        .iter()
        .copied()
        .filter(|l| provisioned.contains_key(&l.id))
        .collect();
    if !reassign.is_empty() {
        let r = super::licenses::reassign(ctx, c, &w.tenant_id, &reassign, &w.progress).await;
        ctx.observer.customer_reassigned();
        r?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_stable_per_action_and_generation() {
        let a = request_id("sha", "c1", "order:c1-l1", 0);
        assert_eq!(a, request_id("sha", "c1", "order:c1-l1", 0));
        assert_ne!(a, request_id("sha", "c1", "order:c1-l1", 1));
        assert_ne!(a, request_id("sha", "c2", "order:c1-l1", 0));
        assert_ne!(a, request_id("other", "c1", "order:c1-l1", 0));
    }
}
