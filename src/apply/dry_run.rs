//! `apply --dry-run`: the calls a run would make, without making any.
//!
//! The main decision: the dry run selects lines with the same code as the real run
//! ([`super::due`]), so what it lists is what a run would buy and move. It makes no API
//! call at all, so acceptance is unknown without the sweep: purchases are listed for
//! every customer, marked "(if accepted)" where the journal has not seen an acceptance,
//! and licence moves name the rule that chooses the users (the run lists the users it
//! moved in its execution report).

use super::due;
use super::journal::Event;
use super::run::ApplyOptions;
use super::status::{self, Progress};
use crate::model::{Customer, Line, Plan, Relationship};

/// The text `--dry-run` prints.
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
    let mut any_legacy = false;
    let mut calls = Vec::new();
    for c in &scope {
        let p = progress.get(&c.key).unwrap_or(&empty);
        let known = p.accepted == Some(true)
            || (p.accepted.is_none() && c.relationship == Relationship::Accepted);
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
        let todo = due::select(c, p, opts.today, opts.now);
        let groups = due::group(&todo.due, |_| false);
        if !todo.due.is_empty() {
            calls.push(format!(
                "{}: GET /v1/customers/{id}/subscriptions (what earlier runs bought, by the tag in the friendly name){cond}",
                c.key
            ));
        }
        let item = |l: &&Line| {
            format!(
                "{} {} x{}",
                l.id,
                l.target_offer_id.as_deref().unwrap_or("(no offer ID)"),
                l.target_seats
            )
        };
        for (_, why) in &groups.invalid {
            calls.push(format!("{}: nothing bought: {why}", c.key));
        }
        if !groups.order.is_empty() {
            any_legacy = true;
            calls.push(format!(
                "{}: POST /v1/customers/{id}/orders [{}] (legacy offers: Partner Center refuses most new legacy purchases){cond}",
                c.key,
                groups.order.iter().map(item).collect::<Vec<_>>().join("; ")
            ));
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
            calls.push(format!(
                "{}: GET availabilities (once per product and market), POST /v1/customers/{id}/carts, POST …/carts/{{cart}}/checkout [{}]{cond}",
                c.key,
                items.join("; ")
            ));
        }
        for l in &todo.reassign {
            let left = l
                .licenses_to_reassign
                .saturating_sub(p.moved_for_line(&l.id));
            calls.push(format!(
                "{}: GET /v1/customers/{id}/subscribedskus, GET …/users (paged), GET …/users/{{uid}}/licenses per user, \
                 then POST …/users/{{uid}}/licenseupdates for {left} users of line {} (assign {}, remove {}): \
                 the first {left} by userPrincipalName holding {} and not {}{cond}",
                c.key,
                l.id,
                l.to_sku.as_deref().unwrap_or("?"),
                l.from_sku.as_deref().unwrap_or("?"),
                l.from_sku.as_deref().unwrap_or("?"),
                l.to_sku.as_deref().unwrap_or("?"),
            ));
        }
    }
    if maybe_invite {
        out.push_str(
            "GET /v1/customers/relationshiprequests (once, if any customer has not accepted; writes invitations.csv)\n",
        );
    }
    if any_legacy {
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
}
