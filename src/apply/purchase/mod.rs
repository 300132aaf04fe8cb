//! Buying a customer's due lines, exactly once: pending purchases settled first, then
//! one purchase per path (a new-commerce cart, a legacy order, legacy add-ons).
//!
//! The main decision is that every purchase, whatever its path, records its attempts
//! through one [`Attempts`]: `started` (with its stable `MS-RequestId`, and its cart) is
//! durable before the request leaves; a definite answer settles it; an ambiguous one
//! (timeout, dropped connection, 5xx, an unreadable 2xx, `800060`/`800064`/`800065`) is
//! reconciled by reading the customer's orders and subscriptions, and never re-bought
//! under a new request ID. Once any attempt was ambiguous, a later refusal leaves the
//! purchase pending for the next run instead of "failed, nothing bought".

pub(crate) mod cart;
pub(crate) mod order;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::Ordering;

use super::client::ApiError;
use super::due;
use super::journal::{Action, Event, State};
use super::pc;
use super::reconcile::reconcile;
use super::run::{Ctx, Halt, Work, plan_fail_event};
use super::status::{Done, PendingPurchase, Purchase, lines_key};
use crate::model::{Customer, Line};

/// Rounds of one purchase under the same request ID (or cart) before it is left pending.
const ROUNDS: usize = 3;

/// How much older than this run's first attempt a returned order must be to count as an
/// earlier run's order replayed (clock skew between this machine and Partner Center).
const REPLAY_SKEW_SECONDS: i64 = 2;

pub(crate) const REFUSED_AFTER_AMBIGUOUS: &str =
    "refused after an ambiguous attempt: left pending, the next run reconciles it";

/// Settles pending purchases and buys the due lines of one customer. Returns every line
/// provisioned so far (from the journal and this run), line id → order id.
pub(crate) async fn provision(
    ctx: &Ctx<'_>,
    w: &Work<'_>,
) -> Result<BTreeMap<String, String>, Halt> {
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
                ctx.did(&c.key, Done::ReconciledOrder(order_id.clone()));
            }
            None => {
                let due_ids: HashSet<&str> = w.todo.due.iter().map(|l| l.id.as_str()).collect();
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

    let due: Vec<&Line> = w
        .todo
        .due
        .iter()
        .copied()
        .filter(|l| !provisioned.contains_key(&l.id))
        .collect();
    if due.is_empty() {
        return Ok(provisioned);
    }
    // Never twice, whatever the journal: what an earlier run (under this plan or an
    // earlier plan of the same input) bought for a line carries the line's tag in its
    // friendly name. One read of the customer's subscriptions finds it.
    let subs = ctx
        .read(
            c,
            Action::Provision,
            &due.iter().map(|l| l.id.clone()).collect::<Vec<_>>(),
            ctx.client.subscriptions(&w.tenant_id).await,
        )
        .await?;
    let mut found = Vec::new();
    for l in &due {
        if let Some(s) = tagged_subscription(c, l, &subs)
            && !found.iter().any(|(_, id): &(String, String)| *id == s.id)
        {
            found.push((l.id.clone(), s.id.clone()));
            let order_id = s.order_id.clone().unwrap_or_else(|| s.id.clone());
            let mut e = Event::new(&c.key, Action::Reconcile, State::Succeeded);
            e.lines = vec![l.id.clone()];
            e.order_id = Some(order_id.clone());
            e.subscription_ids = vec![s.id.clone()];
            e.note = Some(format!(
                "already bought: subscription {} carries this line's tag {} (an earlier run or plan bought it); not bought again",
                s.id,
                purchase_tag(c, l)
            ));
            ctx.record(e).await?;
            provisioned.insert(l.id.clone(), order_id.clone());
            claimed.push(order_id);
            ctx.did(
                &c.key,
                Done::AlreadyBought {
                    line: l.id.clone(),
                    subscription: s.id.clone(),
                },
            );
        }
    }
    let due: Vec<&Line> = due
        .into_iter()
        .filter(|l| !provisioned.contains_key(&l.id))
        .collect();
    if due.is_empty() {
        return Ok(provisioned);
    }
    let groups = due::group(&due, |id| ctx.is_addon(id));
    let mut failed = false;
    for (l, why) in &groups.invalid {
        ctx.record(plan_fail_event(
            c,
            Action::Provision,
            std::slice::from_ref(&l.id),
            why.clone(),
        ))
        .await?;
        failed = true;
    }
    // Add-ons need an active base subscription, so they follow the base order.
    for (group, kind) in [
        (groups.order, due::Path::Order),
        (groups.addons, due::Path::AddOn),
        (groups.cart, due::Path::Cart),
    ] {
        if group.is_empty() || (kind == due::Path::AddOn && failed) {
            continue;
        }
        if kind == due::Path::AddOn {
            // One PATCH per order that bought the add-ons' parents, each its own purchase.
            match addons(ctx, w, &group, generation, &reuse, &claimed).await {
                Ok((bought, some_failed)) => {
                    failed |= some_failed;
                    for (ids, order_id) in bought {
                        for l in &ids {
                            provisioned.insert(l.clone(), order_id.clone());
                        }
                        claimed.push(order_id);
                    }
                }
                Err(Halt::Customer) => failed = true,
                Err(other) => return Err(other),
            }
            continue;
        }
        let mut group = group;
        let mut ids: Vec<String> = group.iter().map(|l| l.id.clone()).collect();
        let mut key = lines_key(&ids);
        let mut pending = reuse.get(&key);
        if kind == due::Path::Cart && pending.is_none() {
            // A new cart holds only the lines whose term and billing are sold.
            let (ok, some_failed) = cart::sellable(ctx, c, &group).await?;
            failed |= some_failed;
            if ok.is_empty() {
                continue;
            }
            if ok.len() < group.len() {
                group = ok;
                ids = group.iter().map(|l| l.id.clone()).collect();
                key = lines_key(&ids);
                pending = reuse.get(&key);
            }
        }
        if pending.is_none() && overlapping_pending(ctx, c, &ids, &reuse).await? {
            failed = true;
            continue;
        }
        let buy = Buy {
            c,
            tenant_id: &w.tenant_id,
            lines: &group,
            generation,
            pending,
            claimed: &claimed,
        };
        let result = match kind {
            due::Path::Cart => cart::purchase(ctx, &buy).await,
            due::Path::Order => order::purchase(ctx, &buy).await,
            due::Path::AddOn | due::Path::Invalid(_) => unreachable!("handled above"),
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
    if failed {
        return Err(Halt::Customer);
    }
    Ok(provisioned)
}

/// Each pending purchase is keyed by its own group (base order, add-ons of one parent
/// order, cart). A pending one that holds some of `ids` but not exactly them may still
/// have gone through: buying them under a new request could order twice, so it is left
/// pending (recorded) and `true` is returned.
async fn overlapping_pending(
    ctx: &Ctx<'_>,
    c: &Customer,
    ids: &[String],
    reuse: &HashMap<String, PendingPurchase>,
) -> Result<bool, Halt> {
    let Some(other) = reuse
        .values()
        .find(|p| p.lines.iter().any(|l| ids.contains(l)))
    else {
        return Ok(false);
    };
    let mut e = Event::new(&c.key, Action::Provision, State::Ambiguous);
    e.lines = other.lines.clone();
    e.request_id = Some(other.request_id.clone());
    e.cart_id = other.cart_id.clone();
    e.note = Some(
        "a pending purchase no longer matches the plan's order groups: left pending, not bought again".into(),
    );
    ctx.record(e).await?;
    Ok(true)
}

/// Buys legacy add-on lines on Partner Center's documented path: each add-on's parent is
/// an active subscription of one of its prerequisite offers, and the add-ons whose
/// parents one order bought are added to that order by one `PATCH` (one purchase, with
/// its own request ID). Returns (lines, order id) of each PATCH that went through, and
/// whether any failed.
#[allow(clippy::type_complexity)]
async fn addons(
    ctx: &Ctx<'_>,
    w: &Work<'_>,
    group: &[&Line],
    generation: u32,
    reuse: &HashMap<String, PendingPurchase>,
    claimed: &[String],
) -> Result<(Vec<(Vec<String>, String)>, bool), Halt> {
    let c = w.customer;
    let all = Buy {
        c,
        tenant_id: &w.tenant_id,
        lines: group,
        generation,
        pending: None,
        claimed,
    };
    let parents = order::addon_parents(ctx, &all).await?;
    let mut by_order: BTreeMap<String, Vec<&Line>> = BTreeMap::new();
    for l in group {
        if let Some(p) = parents.get(&l.id) {
            by_order.entry(p.order_id.clone()).or_default().push(l);
        }
    }
    let mut bought = Vec::new();
    let mut failed = false;
    for (order_id, lines) in by_order {
        let ids: Vec<String> = lines.iter().map(|l| l.id.clone()).collect();
        let pending = reuse.get(&lines_key(&ids));
        if pending.is_none() && overlapping_pending(ctx, c, &ids, reuse).await? {
            failed = true;
            continue;
        }
        let buy = Buy {
            c,
            tenant_id: &w.tenant_id,
            lines: &lines,
            generation,
            pending,
            claimed,
        };
        match order::patch(ctx, &buy, &order_id, &parents).await {
            Ok(id) => bought.push((ids, id)),
            Err(Halt::Customer) => failed = true,
            Err(other) => return Err(other),
        }
    }
    Ok((bought, failed))
}

/// One purchase to make: whose, which lines, and what the journal knows about it.
pub(crate) struct Buy<'a> {
    pub c: &'a Customer,
    pub tenant_id: &'a str,
    pub lines: &'a [&'a Line],
    /// Definite failures so far: the request ID moves on only after one.
    pub generation: u32,
    /// The same purchase, sent before without a recorded outcome.
    pub pending: Option<&'a PendingPurchase>,
    /// Orders already claimed by other lines (a reconciliation never claims one twice).
    pub claimed: &'a [String],
}

impl Buy<'_> {
    pub fn ids(&self) -> Vec<String> {
        self.lines.iter().map(|l| l.id.clone()).collect()
    }

    /// The `MS-RequestId` of this purchase: the pending one's when it is sent again (so
    /// a server that saw it dedups), else the stable ID of `action` at this generation.
    pub fn request_id(&self, plan_sha256: &str, action: &str) -> uuid::Uuid {
        let fresh = || super::run::request_id(plan_sha256, &self.c.key, action, self.generation);
        match self.pending {
            Some(p) => uuid::Uuid::parse_str(&p.request_id).unwrap_or_else(|_| fresh()),
            None => fresh(),
        }
    }
}

/// An event about one purchase attempt: its plan lines, the `MS-RequestId` it was sent
/// under and, for a new-commerce purchase, its cart.
pub(crate) fn purchase_event(
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

/// Whether a purchase error leaves the purchase possibly placed: an ambiguous send, or
/// Partner Center saying the same order/cart is still being processed (`800060` order in
/// progress, `800064` cart in process, `800065` checkout already submitted).
pub(crate) fn treat_as_ambiguous(e: &ApiError) -> bool {
    e.ambiguous || matches!(e.code.as_deref(), Some("800060" | "800064" | "800065"))
}

/// The outcomes of one purchase's attempts, recorded the same way for orders and cart
/// checkouts: what was bought, what failed for sure, and what stays pending.
pub(crate) struct Attempts<'a, 'o> {
    ctx: &'a Ctx<'o>,
    c: &'a Customer,
    tenant_id: &'a str,
    /// The purchase as the journal knows it: lines, request ID, cart.
    now: PendingPurchase,
    claimed: &'a [String],
    /// How this purchase buys (an order, a checkout), for what the run did.
    what: Purchase,
    /// An attempt (in this run or an earlier one) may have gone through.
    pub was_ambiguous: bool,
    /// This purchase was sent by an earlier run (resent now under the same request ID).
    resent: bool,
    /// When this run's attempts began.
    sent_at: chrono::DateTime<chrono::Utc>,
    last: Option<ApiError>,
}

impl<'a, 'o> Attempts<'a, 'o> {
    pub fn new(
        ctx: &'a Ctx<'o>,
        buy: &'a Buy<'a>,
        now: PendingPurchase,
        what: Purchase,
    ) -> Attempts<'a, 'o> {
        Attempts {
            ctx,
            c: buy.c,
            tenant_id: buy.tenant_id,
            now,
            claimed: buy.claimed,
            what,
            was_ambiguous: buy.pending.is_some(),
            resent: buy.pending.is_some(),
            sent_at: chrono::Utc::now(),
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

    /// Records `order` as bought and returns its id. An order created before this run
    /// sent anything is the answer to an earlier run's request, replayed by a server that
    /// recognised the request ID: it is recorded as found, not as a new order.
    pub async fn bought(&self, order: &pc::Order) -> Result<String, Halt> {
        let replayed = is_replayed(self.resent, order.creation_date, self.sent_at);
        self.record_bought(&order.id, order.subscription_ids(), replayed)
            .await
    }

    /// Records order `order_id` (with `subs`) as bought; `replayed` when it is an earlier
    /// run's purchase answered again for its request ID.
    pub async fn record_bought(
        &self,
        order_id: &str,
        subs: Vec<String>,
        replayed: bool,
    ) -> Result<String, Halt> {
        if replayed {
            let mut e = self.event(Action::Reconcile, State::Succeeded);
            e.order_id = Some(order_id.to_string());
            e.subscription_ids = subs;
            e.note = Some(
                "the earlier run's order, answered again for its request ID: not a new order"
                    .into(),
            );
            self.ctx.record(e).await?;
            self.ctx.did(
                &self.c.key,
                Done::FoundEarlierOrder {
                    order: order_id.to_string(),
                    lines: self.now.lines.clone(),
                },
            );
            return Ok(order_id.to_string());
        }
        let mut e = self.event(Action::Provision, State::Succeeded);
        e.order_id = Some(order_id.to_string());
        e.subscription_ids = subs;
        self.ctx.record(e).await?;
        self.ctx.orders_placed.fetch_add(1, Ordering::Relaxed);
        self.ctx.did(
            &self.c.key,
            Done::Bought {
                how: self.what,
                lines: self.now.lines.clone(),
                order: order_id.to_string(),
                reconciled: false,
            },
        );
        Ok(order_id.to_string())
    }

    /// Handles a failed attempt. `Ok(Some(order id))`: reconciliation found the order
    /// after all; `Ok(None)`: ambiguous, try another round; `Err`: settled (refused,
    /// left pending after a refusal that followed an ambiguous attempt, or fatal).
    pub async fn failed(&mut self, e: ApiError) -> Result<Option<String>, Halt> {
        let (ctx, c) = (self.ctx, self.c);
        if treat_as_ambiguous(&e) {
            self.was_ambiguous = true;
            let mut ev = self.event(Action::Provision, State::Ambiguous);
            ev.error = Some((&e).into());
            ctx.record(ev).await?;
            if e.is_fatal() {
                // Left pending (recorded above); the next run reconciles it.
                return Err(Halt::Run(Box::new(e)));
            }
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
                    Done::Bought {
                        how: self.what,
                        lines: self.now.lines.clone(),
                        order: order_id.to_string(),
                        reconciled: true,
                    },
                );
                return Ok(Some(order_id));
            }
            self.last = Some(e);
            return Ok(None);
        }
        if e.is_fatal() {
            return Err(Halt::Run(Box::new(e)));
        }
        if self.was_ambiguous {
            // Refused now, but an earlier attempt may have gone through: leave it
            // pending so the next run reconciles, never "failed, nothing bought".
            let mut ev = self.event(Action::Provision, State::Ambiguous);
            ev.error = Some(e.into());
            ev.note = Some(REFUSED_AFTER_AMBIGUOUS.into());
            ctx.record(ev).await?;
            return Err(Halt::Customer);
        }
        // A definite refusal (or throttling that never let up): nothing was bought.
        Err(ctx.give_up(c, Action::Provision, &self.now.lines, e).await)
    }

    /// Still ambiguous after every round: left pending; the next run reconciles first.
    pub async fn still_pending(self) -> Result<String, Halt> {
        let mut ev = self.event(Action::Provision, State::Ambiguous);
        ev.error = self.last.as_ref().map(Into::into);
        self.ctx.record(ev).await?;
        Err(Halt::Customer)
    }

    pub fn rounds() -> std::ops::Range<usize> {
        0..ROUNDS
    }
}

/// Whether an order answered to a purchase this run *resent* (under an earlier run's
/// request ID) is that earlier run's order, replayed by a server that recognised the
/// request ID: it was created before this run sent anything (less clock skew). Such an
/// order is recorded as found, not counted as a new order.
pub(crate) fn is_replayed(
    resent: bool,
    created: Option<chrono::DateTime<chrono::Utc>>,
    sent_at: chrono::DateTime<chrono::Utc>,
) -> bool {
    resent && created.is_some_and(|t| t < sent_at - chrono::Duration::seconds(REPLAY_SKEW_SECONDS))
}

/// The tag cspmove writes into a purchase's friendly name: `cspmove:` and 12 hex digits
/// of a sha256 over the customer and the input row's identity, so that a re-plan of the
/// same input row (whose plan line ID may differ) finds what an earlier plan bought.
///
/// The row's identity is the original subscription ID when the input has one, else the
/// row's content: current offer, original seats, expiry date and programme. The target
/// is part of it too (`PRODUCT:SKU`, lower case), so re-planning a row to another
/// product buys that product. Limits (docs/apply.md): a row whose seats or dates were
/// edited is another row; two rows identical in all of these are one.
pub(crate) fn purchase_tag(c: &Customer, l: &Line) -> String {
    use sha2::{Digest, Sha256};
    let customer = c
        .customer_id
        .as_deref()
        .or(c.domain.as_deref())
        .unwrap_or(&c.key)
        .trim()
        .to_ascii_lowercase();
    let row = match l
        .subscription_id
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(sub) => format!("sub|{}", sub.to_ascii_lowercase()),
        None => format!(
            "row|{}|{}|{}|{}",
            l.current_offer.trim().to_lowercase(),
            l.seats,
            l.expires_on.map(|d| d.to_string()).unwrap_or_default(),
            l.program.as_deref().unwrap_or("").trim().to_lowercase(),
        ),
    };
    let target = catalog_product(l.target_offer_id.as_deref().unwrap_or_default());
    let digest = Sha256::digest(format!("{customer}|{row}|{target}").as_bytes());
    format!("cspmove:{}", &hex::encode(digest)[..12])
}

/// A catalog ID without its availability: `PRODUCT:SKU` (lower case), or the legacy GUID.
pub(crate) fn catalog_product(offer_id: &str) -> String {
    let lower = offer_id.trim().to_ascii_lowercase();
    let mut parts = lower.splitn(3, ':');
    match (parts.next(), parts.next()) {
        (Some(p), Some(s)) => format!("{p}:{s}"),
        _ => lower,
    }
}

/// The friendly name of a purchase: the target's name and the [`purchase_tag`].
pub(crate) fn friendly_name(c: &Customer, l: &Line) -> String {
    let name: String = l.target_offer.chars().take(60).collect();
    format!("{name} [{}]", purchase_tag(c, l))
}

/// The subscription an earlier purchase for this line left, found by its tag (and the
/// same product), that no other line claims.
pub(crate) fn tagged_subscription<'s>(
    c: &Customer,
    l: &Line,
    subs: &'s [pc::Subscription],
) -> Option<&'s pc::Subscription> {
    let tag = purchase_tag(c, l);
    let want = catalog_product(l.target_offer_id.as_deref().unwrap_or_default());
    subs.iter().find(|s| {
        !s.is_deleted()
            && s.friendly_name.as_deref().is_some_and(|n| n.contains(&tag))
            && catalog_product(&s.offer_id) == want
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::run::plan_error;

    #[test]
    fn an_earlier_runs_order_answered_again_is_not_a_new_order() {
        let sent = chrono::Utc::now();
        let an_hour_ago = Some(sent - chrono::Duration::hours(1));
        // Resent under the earlier run's request ID, answered with an order from before.
        assert!(is_replayed(true, an_hour_ago, sent));
        // Created now: the resend placed it (or the clocks differ by a second).
        assert!(!is_replayed(true, Some(sent), sent));
        assert!(!is_replayed(
            true,
            Some(sent - chrono::Duration::seconds(1)),
            sent
        ));
        // A first send is never a replay, whatever the date; no date, no claim.
        assert!(!is_replayed(false, an_hour_ago, sent));
        assert!(!is_replayed(true, None, sent));
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
}
