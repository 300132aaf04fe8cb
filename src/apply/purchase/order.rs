//! The legacy purchase path: `POST /v1/customers/{id}/orders` for a plan line whose
//! target is a legacy offer GUID (partner-center-api.md §5), and its add-ons.
//!
//! The main decision is that this path exists only for plans that name a legacy offer:
//! Partner Center sells no new legacy seat-based subscriptions since March 2022 (§11),
//! so its refusal (403 `2091`, or the sandbox's equivalent) is recorded with a hint that
//! says why and what to plan instead, and nothing is bought.

use std::collections::HashMap;

use serde_json::json;
use uuid::Uuid;

use super::{Attempts, Buy, purchase_event};
use crate::apply::journal::{Action, State};
use crate::apply::run::{Ctx, Halt, plan_error, request_id, task_id};
use crate::apply::status::{PendingPurchase, lines_key};
use crate::model::TaskKind;

/// Buys `buy.lines` in one order; `parents` gives each add-on line its base subscription.
pub(crate) async fn purchase(
    ctx: &Ctx<'_>,
    buy: &Buy<'_>,
    parents: &HashMap<String, String>,
) -> Result<String, Halt> {
    let c = buy.c;
    let ids = buy.ids();
    let key = lines_key(&ids);
    let fresh = || {
        request_id(
            &ctx.plan_sha256,
            &c.key,
            &format!("order:{key}"),
            buy.generation,
        )
    };
    let rid = match buy.pending {
        Some(p) => Uuid::parse_str(&p.request_id).unwrap_or_else(|_| fresh()),
        None => fresh(),
    };
    let body = json!({
        "referenceCustomerId": buy.tenant_id,
        "billingCycle": "monthly",
        "lineItems": buy.lines.iter().enumerate().map(|(i, l)| {
            let mut item = json!({
                "lineItemNumber": i,
                "offerId": l.target_offer_id.as_deref().unwrap_or_default(),
                "friendlyName": super::friendly_name(c, l),
                "quantity": l.target_seats,
            });
            if let Some(parent) = parents.get(&l.id) {
                item["parentSubscriptionId"] = json!(parent);
            }
            item
        }).collect::<Vec<_>>(),
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
    let mut attempts = Attempts::new(ctx, buy, now, "ordered");
    for _round in Attempts::rounds() {
        match ctx.client.create_order(buy.tenant_id, &body, rid).await {
            Ok(order) => return attempts.bought(&order).await,
            Err(mut e) => {
                if legacy_refusal(e.code.as_deref()) {
                    e.hint = LEGACY_REFUSED_HINT.to_string();
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

pub(crate) const LEGACY_REFUSED_HINT: &str = "Partner Center no longer sells new legacy (license-based) subscriptions: since March 2022 new seats are bought in new commerce. Re-plan with a new-commerce target (PRODUCT:SKU, e.g. from `cspmove catalog`) and re-run; nothing was bought";

/// For each add-on line, an active subscription of one of its prerequisite offers.
pub(crate) async fn addon_parents(
    ctx: &Ctx<'_>,
    buy: &Buy<'_>,
) -> Result<HashMap<String, String>, Halt> {
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
        let parent = subs
            .iter()
            .find(|s| s.is_active() && prereqs.contains(&s.offer_id.to_ascii_lowercase()));
        match parent {
            Some(p) => {
                parents.insert(l.id.clone(), p.id.clone());
            }
            None => {
                let e = plan_error(
                    &format!(
                        "line {} is an add-on ({}) but the customer has no active subscription to an offer it requires",
                        l.id, l.target_offer
                    ),
                    "an add-on needs its base offer bought through Partner Center first: plan the base offer as a legacy offer it accepts, or drop the add-on",
                );
                return Err(ctx.give_up(c, Action::Provision, &ids, e).await);
            }
        }
    }
    Ok(parents)
}
