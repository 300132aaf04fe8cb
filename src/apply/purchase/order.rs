//! The legacy purchase path: `POST /v1/customers/{id}/orders` for a plan line whose
//! target is a legacy offer GUID (partner-center-api.md §5), and its add-ons, bought on
//! Partner Center's documented path: a `PATCH /v1/customers/{id}/orders/{orderId}` of
//! the order that bought the parent subscription, one line per add-on carrying
//! `parentSubscriptionId`.
//!
//! The main decision is that this path exists only for plans that name a legacy offer:
//! Partner Center sells no new legacy seat-based subscriptions since March 2022 (§11),
//! so its refusal (403 `2091`, or the sandbox's equivalent) is recorded with a hint that
//! says why and what to plan instead, and nothing is bought. A PATCH changes an order
//! that exists already, so its outcome is told by the add-on subscriptions carrying the
//! lines' tags, never by the order's creation date.

use std::collections::HashMap;

use serde_json::json;

use super::{Attempts, Buy, purchase_event};
use crate::apply::journal::{Action, State};
use crate::apply::reason::Reason;
use crate::apply::run::{Ctx, Halt, task_id};
use crate::apply::status::{PendingPurchase, Purchase, lines_key};
use crate::i18n::{Lang, texts};
use crate::model::TaskKind;

/// Buys `buy.lines` (legacy offers, no add-on) in one new order.
pub(crate) async fn purchase(ctx: &Ctx<'_>, buy: &Buy<'_>) -> Result<String, Halt> {
    let c = buy.c;
    let ids = buy.ids();
    let key = lines_key(&ids);
    let rid = buy.request_id(&ctx.plan_sha256, &format!("order:{key}"));
    let body = json!({
        "referenceCustomerId": buy.tenant_id,
        "billingCycle": "monthly",
        "lineItems": buy.lines.iter().enumerate().map(|(i, l)| json!({
            "lineItemNumber": i,
            "offerId": l.target_offer_id.as_deref().unwrap_or_default(),
            "friendlyName": super::friendly_name(c, l),
            "quantity": l.target_seats,
        })).collect::<Vec<_>>(),
    });
    let mut started = purchase_event(c, Action::Provision, State::Started, &ids, rid, None);
    started.task = task_id(c, TaskKind::Provision);
    let started_at = buy.pending.and_then(|p| p.started).unwrap_or(started.at);
    ctx.record(started).await?;
    let now = PendingPurchase {
        lines: ids.clone(),
        request_id: rid.to_string(),
        cart_id: None,
        started: Some(started_at),
    };
    let mut attempts = Attempts::new(ctx, buy, now, Purchase::Ordered);
    for _round in Attempts::rounds() {
        match ctx.client.create_order(buy.tenant_id, &body, rid).await {
            Ok(order) => return attempts.bought(&order).await,
            Err(mut e) => {
                if legacy_refusal(e.code.as_deref()) {
                    e.hint = legacy_refused_hint();
                }
                if let Some(order_id) = attempts.failed(e).await? {
                    return Ok(order_id);
                }
            }
        }
    }
    attempts.still_pending().await
}

/// Partner Center's answers to a legacy offer it no longer sells: 403 `2091` "offer no
/// longer available for purchase" and the cart's `500600` (partner-center-api.md §11).
pub(crate) fn legacy_refusal(code: Option<&str>) -> bool {
    matches!(code, Some("2091" | "500600"))
}

/// The hint for such a refusal, in English (`api_hint.legacy_refused`; readers say it in
/// their language).
pub(crate) fn legacy_refused_hint() -> String {
    texts(Lang::En).get("api_hint.legacy_refused").to_string()
}

/// The base subscription of an add-on line: its id and the order that bought it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Parent {
    pub subscription_id: String,
    pub order_id: String,
}

/// For each add-on line, an active subscription of one of its prerequisite offers (and
/// the order that bought it, which the add-on's PATCH changes).
pub(crate) async fn addon_parents(
    ctx: &Ctx<'_>,
    buy: &Buy<'_>,
) -> Result<HashMap<String, Parent>, Halt> {
    let c = buy.c;
    let ids = buy.ids();
    let subs = ctx
        .read(
            c,
            Action::Provision,
            &ids,
            ctx.client.subscriptions(buy.tenant_id).await,
        )
        .await?;
    let mut parents = HashMap::new();
    for l in buy.lines {
        let offer = l.target_offer_id.as_deref().unwrap_or_default();
        let prereqs = ctx.addon_prerequisites(offer).cloned().unwrap_or_default();
        let parent = subs.iter().find(|s| {
            s.is_active()
                && prereqs.contains(&s.offer_id.to_ascii_lowercase())
                && s.order_id.as_deref().is_some_and(|o| !o.is_empty())
        });
        match parent {
            Some(p) => {
                parents.insert(
                    l.id.clone(),
                    Parent {
                        subscription_id: p.id.clone(),
                        order_id: p.order_id.clone().unwrap_or_default(),
                    },
                );
            }
            None => {
                let reason = Reason::AddOnWithoutBase {
                    line: l.id.clone(),
                    offer: l.target_offer.clone(),
                };
                return Err(ctx.give_up_plan(c, Action::Provision, &ids, reason).await);
            }
        }
    }
    Ok(parents)
}

/// Buys the add-on lines `buy.lines`, whose parents were all bought by `order_id`, with
/// one `PATCH` of that order (partner-center-api.md §5). Returns the order id.
pub(crate) async fn patch(
    ctx: &Ctx<'_>,
    buy: &Buy<'_>,
    order_id: &str,
    parents: &HashMap<String, Parent>,
) -> Result<String, Halt> {
    let c = buy.c;
    let ids = buy.ids();
    let key = lines_key(&ids);
    let rid = buy.request_id(&ctx.plan_sha256, &format!("addon:{order_id}:{key}"));
    let body = json!({
        "referenceCustomerId": buy.tenant_id,
        "lineItems": buy.lines.iter().enumerate().map(|(i, l)| json!({
            "lineItemNumber": i,
            "offerId": l.target_offer_id.as_deref().unwrap_or_default(),
            "friendlyName": super::friendly_name(c, l),
            "quantity": l.target_seats,
            "parentSubscriptionId": parents.get(&l.id).map(|p| p.subscription_id.clone()),
        })).collect::<Vec<_>>(),
        "attributes": {"objectType": "Order"},
    });
    let mut started = purchase_event(c, Action::Provision, State::Started, &ids, rid, None);
    started.task = task_id(c, TaskKind::Provision);
    started.order_id = Some(order_id.to_string());
    started.note = Some(format!("add-ons: PATCH of order {order_id}"));
    let started_at = buy.pending.and_then(|p| p.started).unwrap_or(started.at);
    ctx.record(started).await?;
    let now = PendingPurchase {
        lines: ids.clone(),
        request_id: rid.to_string(),
        cart_id: None,
        started: Some(started_at),
    };
    let mut attempts = Attempts::new(ctx, buy, now, Purchase::AddedToOrder);
    for _round in Attempts::rounds() {
        match ctx
            .client
            .patch_order(buy.tenant_id, order_id, &body, rid)
            .await
        {
            Ok(order) => {
                // The answer is the whole order: the add-ons are the lines carrying our
                // tags (the base lines were there before).
                let subs: Vec<String> = buy
                    .lines
                    .iter()
                    .filter_map(|l| {
                        let tag = super::purchase_tag(c, l);
                        order
                            .line_items
                            .iter()
                            .find(|li| {
                                li.friendly_name
                                    .as_deref()
                                    .is_some_and(|n| n.contains(&tag))
                            })
                            .and_then(|li| li.subscription_id.clone())
                    })
                    .collect();
                let id = if order.id.is_empty() {
                    order_id.to_string()
                } else {
                    order.id.clone()
                };
                return attempts.record_bought(&id, subs, false).await;
            }
            Err(mut e) => {
                if legacy_refusal(e.code.as_deref()) {
                    e.hint = legacy_refused_hint();
                }
                if let Some(order_id) = attempts.failed(e).await? {
                    return Ok(order_id);
                }
            }
        }
    }
    attempts.still_pending().await
}
