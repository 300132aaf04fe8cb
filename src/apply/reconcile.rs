//! After an ambiguous purchase (sent, no definite answer): is there an order that is
//! ours? Read the customer's orders, then its subscriptions, before buying again.
//!
//! The main decision is what counts as ours: an order carrying our `MS-RequestId`, or
//! one with exactly our line items (offer and quantity) that no other line has claimed
//! and that was created no earlier than the purchase started (less clock skew), so an
//! order bought by hand before is never taken for ours. Orders can take up to 15
//! minutes to be listed; subscriptions of our offers and quantities then prove it too.

use chrono::{DateTime, Utc};

use super::journal::{Action, State};
use super::pc;
use super::run::{Ctx, Halt, fail_event};
use super::status::PendingPurchase;
use crate::model::{Customer, Line};

/// How far before a purchase's `started` time an order may be dated and still be ours
/// (clock skew between this machine and Partner Center).
const RECONCILE_SKEW_MINUTES: i64 = 5;

/// Whether an order's offer is the plan's: new-commerce orders carry
/// PRODUCT:SKU:AVAILABILITY where the plan may hold PRODUCT:SKU.
pub(crate) fn offer_matches(have: &str, want: &str) -> bool {
    let (have, want) = (have.to_ascii_lowercase(), want.to_ascii_lowercase());
    have == want || (want.contains(':') && have.starts_with(&format!("{want}:")))
}

/// Whether something created at `created` may belong to a purchase started at
/// `started`. Without either date it is given the benefit of the doubt.
pub(crate) fn created_after_start(
    created: Option<DateTime<Utc>>,
    started: Option<DateTime<Utc>>,
) -> bool {
    match (created, started) {
        (Some(created), Some(started)) => {
            created >= started - chrono::Duration::minutes(RECONCILE_SKEW_MINUTES)
        }
        _ => true,
    }
}

/// Is there an order (not claimed by another line set) with our request ID or exactly
/// our line items? Orders first; subscriptions if no order matches.
/// `Ok(Some((order id, subscription ids)))` when found.
pub(crate) async fn reconcile(
    ctx: &Ctx<'_>,
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
    let unreadable = async |what: &str, e| -> Halt {
        if let Err(halt) = check_fatal(&e) {
            return halt;
        }
        let mut ev = fail_event(c, Action::Reconcile, &pending.lines, &e);
        ev.state = State::Ambiguous;
        ev.note = Some(format!("could not read {what} to reconcile"));
        match ctx.record(ev).await {
            Ok(()) => Halt::Customer,
            Err(h) => h,
        }
    };
    let orders = match ctx.client.orders(tenant_id).await {
        Ok(o) => o,
        Err(e) => return Err(unreadable("orders", e).await),
    };
    if let Some(o) = matching_order(&orders, &want, pending, claimed) {
        return Ok(Some((o.id.clone(), o.subscription_ids())));
    }
    let subs = match ctx.client.subscriptions(tenant_id).await {
        Ok(s) => s,
        Err(e) => return Err(unreadable("subscriptions", e).await),
    };
    if let Some(found) = tagged_subscriptions(c, &lines, &subs) {
        return Ok(Some(found));
    }
    Ok(matching_subscriptions(&subs, &want, pending, claimed))
}

fn check_fatal(e: &crate::apply::client::ApiError) -> Result<(), Halt> {
    if e.is_fatal() {
        Err(Halt::Run(Box::new(e.clone())))
    } else {
        Ok(())
    }
}

/// An order with our request ID, or with exactly our items and created after we started.
fn matching_order<'o>(
    orders: &'o [pc::Order],
    want: &[(String, u64)],
    pending: &PendingPurchase,
    claimed: &[String],
) -> Option<&'o pc::Order> {
    orders.iter().find(|o| {
        if o.id.is_empty() || claimed.contains(&o.id) {
            return false;
        }
        let by_request = o
            .request_id
            .as_deref()
            .is_some_and(|r| r.eq_ignore_ascii_case(&pending.request_id));
        let mut have: Vec<(String, u64)> = o
            .line_items
            .iter()
            .map(|li| (li.offer_id.to_ascii_lowercase(), li.quantity))
            .collect();
        have.sort();
        let by_items = have.len() == want.len()
            && have
                .iter()
                .zip(want)
                .all(|(h, w)| h.1 == w.1 && offer_matches(&h.0, &w.0));
        by_request || (by_items && created_after_start(o.creation_date, pending.started))
    })
}

/// The subscriptions carrying each line's purchase tag (`[cspmove:…]` in the friendly
/// name): what cspmove bought for exactly these lines, whatever the order's dates or
/// claims. This is how a legacy add-on is found, whose PATCH changed an order that is
/// older than the purchase and already claimed by its base line.
fn tagged_subscriptions(
    c: &Customer,
    lines: &[&Line],
    subs: &[pc::Subscription],
) -> Option<(String, Vec<String>)> {
    if lines.is_empty() {
        return None;
    }
    let found: Vec<&pc::Subscription> = lines
        .iter()
        .map(|l| super::purchase::tagged_subscription(c, l, subs))
        .collect::<Option<_>>()?;
    let order_id = found[0]
        .order_id
        .clone()
        .filter(|o| !o.is_empty())
        .unwrap_or_else(|| found[0].id.clone());
    Some((order_id, found.iter().map(|s| s.id.clone()).collect()))
}

/// Subscriptions of our offers and quantities from one order no recorded order claims.
fn matching_subscriptions(
    subs: &[pc::Subscription],
    want: &[(String, u64)],
    pending: &PendingPurchase,
    claimed: &[String],
) -> Option<(String, Vec<String>)> {
    let mut used = vec![false; subs.len()];
    let mut found: Vec<(String, String)> = Vec::new();
    for (offer, qty) in want {
        let (i, s) = subs.iter().enumerate().find(|(i, s)| {
            !used[*i]
                && created_after_start(s.creation_date, pending.started)
                && !s.is_deleted()
                && s.order_id
                    .as_deref()
                    .is_some_and(|o| !claimed.iter().any(|c| c == o))
                && s.quantity == *qty
                && offer_matches(&s.offer_id, offer)
        })?;
        used[i] = true;
        found.push((s.order_id.clone().unwrap_or_default(), s.id.clone()));
    }
    let order_id = found.first().map(|f| f.0.clone()).unwrap_or_default();
    (found.iter().all(|f| f.0 == order_id) && !order_id.is_empty())
        .then(|| (order_id, found.into_iter().map(|f| f.1).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconcile_ignores_orders_created_before_the_purchase_started() {
        let t = |d: &str| Some(DateTime::parse_from_rfc3339(d).unwrap().with_timezone(&Utc));
        let started = t("2026-11-21T10:00:00Z");
        assert!(!created_after_start(t("2026-11-20T09:00:00Z"), started));
        assert!(!created_after_start(t("2026-11-21T09:54:00Z"), started));
        assert!(created_after_start(t("2026-11-21T09:56:00Z"), started));
        assert!(created_after_start(t("2026-11-21T10:03:00.123Z"), started));
        assert!(created_after_start(None, started));
        assert!(created_after_start(t("2026-11-20T09:00:00Z"), None));
    }

    #[test]
    fn a_new_commerce_order_matches_the_plans_product_and_sku() {
        assert!(offer_matches(
            "CFQ7TTC0LFLX:0001:CFQ7TTC0LB30",
            "cfq7ttc0lflx:0001"
        ));
        assert!(!offer_matches("CFQ7TTC0LFLX:0002:X", "cfq7ttc0lflx:0001"));
        assert!(offer_matches(
            "796b6b5f-613c-4e24-a17c-eba730d49c02",
            "796B6B5F-613C-4E24-A17C-EBA730D49C02"
        ));
    }
}
