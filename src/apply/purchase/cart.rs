//! The new-commerce purchase path (partner-center-api.md §10), cspmove's default: look
//! up the availability for the line's term and billing in the customer's market, create
//! one cart for the customer's due lines, check it out.
//!
//! The main decisions: availabilities are read just before buying (their IDs change over
//! time) but once per product, SKU and market in a run ([`Availabilities`]), so 5,000
//! customers buying the same product cost one lookup, not 5,000; a product that does not
//! sell the line's term and billing fails that line with a hint and buys nothing; and
//! checkout is idempotent per cart, so a checkout left without an answer is retried on
//! the same cart under the same `MS-RequestId`, never on a new cart.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::Ordering;

use serde_json::json;
use uuid::Uuid;

use super::{Attempts, Buy, REFUSED_AFTER_AMBIGUOUS, purchase_event};
use crate::apply::client::{ApiError, ErrorKind, hint_for};
use crate::apply::journal::{Action, Event, State};
use crate::apply::pc;
use crate::apply::reason::Reason;
use crate::apply::run::{Ctx, Halt, fail_event, plan_error, plan_fail_event, request_id, task_id};
use crate::apply::status::{Done, PendingPurchase, Purchase, lines_key};
use crate::model::{Customer, Line, TaskKind};

/// Availabilities read in this run, by (product, SKU, country), lower case.
///
/// Single flight: the first worker to need a key reads it while the others needing the
/// same key wait for its answer, so `--concurrency` workers starting on customers of
/// one product make one call, not one each. A failed read is not kept: the next worker
/// that needs the key tries again.
#[derive(Debug, Default)]
pub struct Availabilities {
    cache: Mutex<HashMap<(String, String, String), AvailabilityCell>>,
}

type AvailabilityCell = std::sync::Arc<tokio::sync::OnceCell<Vec<pc::Availability>>>;

impl Availabilities {
    async fn get(
        &self,
        ctx: &Ctx<'_>,
        product: &str,
        sku: &str,
        country: &str,
    ) -> Result<Vec<pc::Availability>, ApiError> {
        let key = (
            product.to_ascii_lowercase(),
            sku.to_ascii_lowercase(),
            country.to_ascii_lowercase(),
        );
        let cell = self
            .cache
            .lock()
            .expect("cache")
            .entry(key)
            .or_default()
            .clone();
        cell.get_or_try_init(|| ctx.client.availabilities(product, sku, country))
            .await
            .cloned()
    }
}

/// The term and billing frequency a line buys.
pub(crate) fn term_of(l: &Line) -> (String, String) {
    (l.term.as_str().to_string(), l.billing.as_str().to_string())
}

/// The catalog item of the availability that sells `term` billed `billing`, if any.
pub(crate) fn pick_availability(
    avail: &[pc::Availability],
    term: &str,
    billing: &str,
) -> Option<String> {
    avail
        .iter()
        .filter(|a| a.is_purchasable != Some(false) && !a.catalog_item_id.is_empty())
        .find(|a| {
            a.terms.iter().any(|t| {
                t.duration.eq_ignore_ascii_case(term)
                    && t.billing_cycle.eq_ignore_ascii_case(billing)
            })
        })
        .map(|a| a.catalog_item_id.clone())
}

/// What the availabilities of a product do sell, for the hint when the line's term is
/// not among them: `P1M/monthly, P1Y/annual`.
fn terms_on_offer(avail: &[pc::Availability]) -> String {
    let mut seen: Vec<String> = avail
        .iter()
        .filter(|a| a.is_purchasable != Some(false))
        .flat_map(|a| a.terms.iter())
        .map(|t| format!("{}/{}", t.duration, t.billing_cycle.to_ascii_lowercase()))
        .collect();
    seen.sort();
    seen.dedup();
    if seen.is_empty() {
        "nothing purchasable".to_string()
    } else {
        seen.join(", ")
    }
}

/// The market of a customer's purchases: its country, else the US catalog.
fn market(c: &Customer) -> String {
    c.country
        .clone()
        .filter(|cc| cc.len() == 2 && cc.bytes().all(|b| b.is_ascii_alphabetic()))
        .unwrap_or_else(|| "US".to_string())
}

/// The catalog item that sells `l`'s term and billing in `country`, or `None` after
/// recording that line's failure (nothing is bought for it).
async fn catalog_item(
    ctx: &Ctx<'_>,
    c: &Customer,
    l: &Line,
    ids: &[String],
    country: &str,
) -> Result<Option<String>, Halt> {
    let offer = l.target_offer_id.as_deref().unwrap_or_default();
    let (term, billing) = term_of(l);
    let mut parts = offer.split(':');
    let (product, sku) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let avail = ctx
        .read(
            c,
            Action::Provision,
            ids,
            ctx.availabilities.get(ctx, product, sku, country).await,
        )
        .await?;
    if let Some(item) = pick_availability(&avail, &term, &billing) {
        return Ok(Some(item));
    }
    let reason = Reason::NotSold {
        offer: l.target_offer.clone(),
        item: format!("{product}:{sku}"),
        term: term.to_string(),
        billing: billing.to_string(),
        country: country.to_string(),
        sells: terms_on_offer(&avail),
    };
    let mut ev = plan_fail_event(c, Action::Provision, std::slice::from_ref(&l.id), reason);
    ev.note = Some("no availability for the line's term and billing".into());
    ctx.record(ev).await?;
    Ok(None)
}

/// The lines of a new cart that can be bought as planned: a line whose product does not
/// sell its term and billing fails on its own (recorded), and the others go on.
pub(crate) async fn sellable<'l>(
    ctx: &Ctx<'_>,
    c: &Customer,
    lines: &[&'l Line],
) -> Result<(Vec<&'l Line>, bool), Halt> {
    let ids: Vec<String> = lines.iter().map(|l| l.id.clone()).collect();
    let country = market(c);
    let mut ok = Vec::new();
    let mut any_failed = false;
    for l in lines {
        match catalog_item(ctx, c, l, &ids, &country).await? {
            Some(_) => ok.push(*l),
            None => any_failed = true,
        }
    }
    Ok((ok, any_failed))
}

/// Buys `buy.lines` through one cart and its checkout.
pub(crate) async fn purchase(ctx: &Ctx<'_>, buy: &Buy<'_>) -> Result<String, Halt> {
    let c = buy.c;
    let lines = buy.lines;
    let ids = buy.ids();
    let key = lines_key(&ids);
    // Plan line id → the cart's `orderGroup`, known when the cart is created in this run.
    let mut order_groups: HashMap<String, String> = HashMap::new();
    let (cart_id, rid, started_at) = match buy
        .pending
        .and_then(|p| p.cart_id.clone().map(|cid| (cid, p)))
    {
        // Checkout is idempotent per cart: retry the same cart, never a new one, under
        // the pending checkout's request ID (or, if the journal's is unreadable, the
        // stable one of this checkout: never a random one).
        Some((cart_id, p)) => (
            cart_id,
            buy.request_id(&ctx.plan_sha256, &format!("checkout:{key}")),
            p.started,
        ),
        None => {
            let country = market(c);
            let mut items = Vec::new();
            for (i, l) in lines.iter().enumerate() {
                let (term, billing) = term_of(l);
                let Some(catalog_item) = catalog_item(ctx, c, l, &ids, &country).await? else {
                    // `sellable` let it through, so the availabilities changed under us.
                    return Err(Halt::Customer);
                };
                items.push(json!({
                    "id": i,
                    "catalogItemId": catalog_item,
                    "quantity": l.target_seats,
                    "billingCycle": billing,
                    "termDuration": term,
                    "friendlyName": super::friendly_name(c, l),
                }));
            }
            let body = json!({ "lineItems": items });
            let cart_rid = request_id(
                &ctx.plan_sha256,
                &c.key,
                &format!("cart:{key}"),
                buy.generation,
            );
            let cart = ctx
                .read(
                    c,
                    Action::Provision,
                    &ids,
                    ctx.client.create_cart(buy.tenant_id, &body, cart_rid).await,
                )
                .await?;
            let call = format!("POST /v1/customers/{}/carts", buy.tenant_id);
            if let Some(err) = cart.line_items.iter().find_map(|li| li.error.as_ref()) {
                let mut e = refused_in_body(
                    call,
                    err.error_code.as_ref(),
                    err.error_description.as_deref(),
                    "a cart line was refused",
                    cart_rid,
                );
                if super::order::legacy_refusal(e.code.as_deref()) {
                    e.hint = super::order::legacy_refused_hint();
                }
                return Err(ctx.give_up(c, Action::Provision, &ids, e).await);
            }
            for li in &cart.line_items {
                let line = li.id.and_then(|i| lines.get(usize::try_from(i).ok()?));
                if let (Some(line), Some(group)) = (line, &li.order_group) {
                    order_groups.insert(line.id.clone(), group.0.clone());
                }
            }
            let Some(cart_id) = cart.id.clone() else {
                let e = plan_error("the cart has no id", "re-run apply");
                return Err(ctx.give_up(c, Action::Provision, &ids, e).await);
            };
            let rid = buy.request_id(&ctx.plan_sha256, &format!("checkout:{key}"));
            let mut started = purchase_event(
                c,
                Action::Provision,
                State::Started,
                &ids,
                rid,
                Some(&cart_id),
            );
            started.task = task_id(c, TaskKind::Provision);
            let at = started.at;
            ctx.record(started).await?;
            (cart_id, rid, Some(at))
        }
    };
    let now = PendingPurchase {
        lines: ids.clone(),
        request_id: rid.to_string(),
        cart_id: Some(cart_id.clone()),
        started: started_at,
    };
    let mut attempts = Attempts::new(ctx, buy, now, Purchase::CheckedOut);
    for _round in Attempts::rounds() {
        match ctx.client.checkout(buy.tenant_id, &cart_id, rid).await {
            Ok(result) => {
                if let Some(err) = result.order_errors.first() {
                    let e = refused_in_body(
                        format!(
                            "POST /v1/customers/{}/carts/{cart_id}/checkout",
                            buy.tenant_id
                        ),
                        err.code.as_ref(),
                        err.description.as_deref(),
                        "the order group failed",
                        rid,
                    );
                    return partly_failed(
                        ctx,
                        buy,
                        &attempts,
                        &result,
                        &order_groups,
                        &cart_id,
                        rid,
                        e,
                    )
                    .await;
                }
                let order = result.orders.into_iter().next().unwrap_or_default();
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

/// A checkout that partly succeeded (one order per order group, `orderErrors` for the
/// others): the lines in returned orders are bought, only the failed groups' lines
/// failed, and a line in neither stays pending.
#[allow(clippy::too_many_arguments)]
async fn partly_failed(
    ctx: &Ctx<'_>,
    buy: &Buy<'_>,
    attempts: &Attempts<'_, '_>,
    result: &pc::CheckoutResult,
    order_groups: &HashMap<String, String>,
    cart_id: &str,
    rid: Uuid,
    e: ApiError,
) -> Result<String, Halt> {
    let c = buy.c;
    let split = split_checkout(buy.lines, result, order_groups);
    for (order_id, order_lines, subs) in &split.ordered {
        let mut ev = Event::new(&c.key, Action::Provision, State::Succeeded);
        ev.lines = order_lines.clone();
        ev.request_id = Some(rid.to_string());
        ev.cart_id = Some(cart_id.to_string());
        ev.order_id = Some(order_id.clone());
        ev.subscription_ids = subs.clone();
        ctx.record(ev).await?;
        ctx.orders_placed.fetch_add(1, Ordering::Relaxed);
        ctx.did(
            &c.key,
            Done::Bought {
                how: Purchase::CheckedOut,
                lines: order_lines.clone(),
                order: order_id.to_string(),
                reconciled: false,
            },
        );
    }
    if !split.failed.is_empty() {
        let mut ev = fail_event(c, Action::Provision, &split.failed, &e);
        ev.cart_id = Some(cart_id.to_string());
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
        ev.cart_id = Some(cart_id.to_string());
        ev.error = Some(e.into());
        ev.note = Some(
            "the checkout partly failed and these lines are in no returned order nor a known failed group: left pending".into(),
        );
        ctx.record(ev).await?;
    }
    Err(Halt::Customer)
}

/// A refusal Partner Center reports inside a successful (201) answer: a cart line's
/// `error` or a checkout's `orderErrors` entry, with its code and description.
fn refused_in_body(
    call: String,
    code: Option<&pc::Text>,
    description: Option<&str>,
    default_description: &str,
    request_id: Uuid,
) -> ApiError {
    let code = code.map(|c| c.0.clone()).filter(|c| !c.is_empty());
    ApiError {
        kind: ErrorKind::Refused,
        ambiguous: false,
        call,
        status: Some(201),
        hint: hint_for(None, code.as_deref(), ErrorKind::Refused),
        code,
        description: description.unwrap_or(default_description).to_string(),
        request_id: Some(request_id.to_string()),
    }
}

/// How a checkout with `orderErrors` split the cart's lines.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct CheckoutSplit {
    /// (order id, its plan lines, its subscription ids) for every returned order.
    pub ordered: Vec<(String, Vec<String>, Vec<String>)>,
    /// Lines of an order group listed in `orderErrors`: definitely not bought.
    pub failed: Vec<String>,
    /// Lines in neither (their group is unknown): possibly bought, left pending.
    pub unknown: Vec<String>,
}

/// Attributes a checkout result's orders to plan lines by offer and quantity (each line
/// once), and the rest to the failed order groups when the cart's groups are known.
pub(crate) fn split_checkout(
    lines: &[&Line],
    result: &pc::CheckoutResult,
    order_groups: &HashMap<String, String>,
) -> CheckoutSplit {
    let mut split = CheckoutSplit::default();
    let mut left: Vec<&Line> = lines.to_vec();
    for order in &result.orders {
        let mut order_lines = Vec::new();
        for li in &order.line_items {
            if let Some(i) = left.iter().position(|l| {
                l.target_seats == li.quantity
                    && crate::apply::reconcile::offer_matches(
                        &li.offer_id,
                        l.target_offer_id.as_deref().unwrap_or_default(),
                    )
            }) {
                order_lines.push(left.remove(i).id.clone());
            }
        }
        if !order_lines.is_empty() && !order.id.is_empty() {
            split
                .ordered
                .push((order.id.clone(), order_lines, order.subscription_ids()));
        }
    }
    let failed_groups: HashSet<String> = result
        .order_errors
        .iter()
        .filter_map(|e| e.order_group_id.as_ref().map(|g| g.0.clone()))
        .collect();
    for l in left {
        match order_groups.get(&l.id) {
            Some(g) if failed_groups.contains(g) => split.failed.push(l.id.clone()),
            _ => split.unknown.push(l.id.clone()),
        }
    }
    split
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let result: pc::CheckoutResult = serde_json::from_value(json!({
            "orders": [{"id": "a68736758d9c", "lineItems": [
                {"lineItemNumber": 0, "offerId": "CFQ7TTC0LFLX:0001:CFQ7TTC0N81H", "quantity": 5,
                 "subscriptionId": "s-1"}]}],
            "orderErrors": [{"orderGroupId": "1", "code": 800089, "description": "over the limit"}],
        }))
        .unwrap();
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
    fn the_availability_must_sell_the_lines_term_and_billing() {
        let avail: Vec<pc::Availability> = serde_json::from_value(json!([{
            "catalogItemId": "P:0001:A1",
            "terms": [{"duration": "P1M", "billingCycle": "Monthly"},
                      {"duration": "P1Y", "billingCycle": "Annual"}]
        }]))
        .unwrap();
        assert_eq!(
            pick_availability(&avail, "P1Y", "annual").as_deref(),
            Some("P:0001:A1")
        );
        assert_eq!(pick_availability(&avail, "P1Y", "monthly"), None);
        assert_eq!(pick_availability(&avail, "P3Y", "triennial"), None);
        assert_eq!(terms_on_offer(&avail), "P1M/monthly, P1Y/annual");
        assert_eq!(pick_availability(&[], "P1Y", "monthly"), None);
    }
}
