//! Synthetic plans for tests and benchmarks of `apply`: N customers with same-offer lines
//! and N with a licence reassignment, built as [`Plan`] values rather than from
//! spreadsheets so the executor can be exercised at any size without the planner.
//!
//! The targets are today's purchases: new-commerce `PRODUCT:SKU` items
//! (partner-center-api.md §10.1: Office 365 E3 `CFQ7TTC0LF8R:0001`, Microsoft 365 E3
//! `CFQ7TTC0LFLX:0001`), bought through carts, as `plan` writes them; the current offers
//! and licence SKUs are the legacy IDs of §4 the customers hold. Tests of the legacy order
//! path set a legacy target ([`O365_E3_OFFER`], [`M365_E3_OFFER`]) on purpose.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use uuid::Uuid;

use crate::model::{
    Billing, Customer, LicenseAction, Line, OriginalAction, Plan, Relationship, SCHEMA, Summary,
    Task, TaskKind, Term,
};

pub const O365_E3_OFFER: &str = "796B6B5F-613C-4E24-A17C-EBA730D49C02";
pub const O365_E3_SKU: &str = "6fd2c87f-b296-42f0-b197-1e91e994b900";
pub const M365_E3_OFFER: &str = "2B3B8D2D-10AA-4BE4-B5FD-7F2FEB0C3091";
pub const M365_E3_SKU: &str = "05e9a617-0261-4cee-bb44-138d3ef5d965";
/// Office 365 E3 in new commerce (its provisioning ID is [`O365_E3_SKU`]).
pub const O365_E3_NCE: &str = "CFQ7TTC0LF8R:0001";
/// Microsoft 365 E3 in new commerce (its provisioning ID is [`M365_E3_SKU`]).
pub const M365_E3_NCE: &str = "CFQ7TTC0LFLX:0001";

/// A deterministic tenant ID for customer number `i`.
pub fn tenant_id(i: usize) -> String {
    Uuid::new_v5(
        &Uuid::NAMESPACE_DNS,
        format!("c{i}.cspmove.test").as_bytes(),
    )
    .to_string()
}

/// `same` customers keeping Office 365 E3 (25 seats, bought anew in new commerce: the
/// same licence, users keep it), then `reassign` customers moving from Office 365 E3 to
/// Microsoft 365 E3 in new commerce (10 seats, 3 users), then `by_domain` customers
/// planned by domain alone (same licence). Every line is due on `as_of`, for one year
/// billed monthly.
pub fn plan_with(same: usize, reassign: usize, by_domain: usize) -> Plan {
    let as_of = NaiveDate::from_ymd_opt(2026, 11, 21).expect("valid date");
    let expires = NaiveDate::from_ymd_opt(2026, 11, 25).expect("valid date");
    let mut customers = Vec::new();
    let total = same + reassign + by_domain;
    for i in 0..total {
        let n = i + 1;
        let is_reassign = i >= same && i < same + reassign;
        let by_domain_only = i >= same + reassign;
        let domain = format!("c{n}.cspmove.test");
        let id = tenant_id(n);
        let key = if by_domain_only {
            domain.clone()
        } else {
            id.clone()
        };
        let (target_offer, target_id, seats, assigned) = if is_reassign {
            ("Microsoft 365 E3", M365_E3_NCE, 10, 3)
        } else {
            ("Office 365 E3", O365_E3_NCE, 25, 20)
        };
        let line = Line {
            id: format!("c{n}-l1"),
            input: 0,
            row: (n + 1) as u64,
            current_offer: "Office 365 E3".to_string(),
            current_offer_id: Some(O365_E3_OFFER.to_string()),
            target_offer: target_offer.to_string(),
            target_offer_id: Some(target_id.to_string()),
            seats,
            target_seats: seats,
            same_offer: false,
            same_license: !is_reassign,
            license_action: if is_reassign {
                LicenseAction::Reassign
            } else {
                LicenseAction::None
            },
            licenses_to_reassign: if is_reassign { assigned } else { 0 },
            from_sku: is_reassign.then(|| O365_E3_SKU.to_string()),
            to_sku: is_reassign.then(|| M365_E3_SKU.to_string()),
            expires_on: Some(expires),
            provision_on: as_of,
            wave: "2026-11".to_string(),
            original_action: OriginalAction::LetExpire,
            subscription_id: None,
            program: Some("Open".to_string()),
            assigned: Some(assigned),
            auto_renew: Some(false),
            term: Term::P1Y,
            billing: Billing::Monthly,
            warnings: Vec::new(),
        };
        let mut tasks = vec![Task {
            id: format!("c{n}-t1"),
            kind: TaskKind::RequestRelationship,
            due: as_of,
            depends_on: vec![],
            line_rows: vec![],
            line_ids: vec![],
        }];
        tasks.push(Task {
            id: format!("c{n}-t2"),
            kind: TaskKind::Provision,
            due: as_of,
            depends_on: vec![format!("c{n}-t1")],
            line_rows: vec![line.row],
            line_ids: vec![line.id.clone()],
        });
        if is_reassign {
            tasks.push(Task {
                id: format!("c{n}-t3"),
                kind: TaskKind::ReassignLicenses,
                due: as_of,
                depends_on: vec![format!("c{n}-t2")],
                line_rows: vec![line.row],
                line_ids: vec![line.id.clone()],
            });
        }
        customers.push(Customer {
            key,
            customer_id: (!by_domain_only).then_some(id),
            domain: Some(domain),
            name: Some(format!("Customer {n}")),
            contact_email: Some(format!("admin@c{n}.cspmove.test")),
            country: Some("US".to_string()),
            relationship: Relationship::Request,
            lines: vec![line],
            tasks,
        });
    }
    let lines = customers.len() as u64;
    Plan {
        schema: SCHEMA.to_string(),
        generated_by: crate::GENERATED_BY.to_string(),
        as_of,
        lead_days: 7,
        inputs: vec![],
        summary: Summary {
            customers: customers.len() as u64,
            lines,
            same_offer: 0,
            same_license: (same + by_domain) as u64,
            reassign: reassign as u64,
            rejected_rows: 0,
            repeated_rows: 0,
            warnings: BTreeMap::new(),
            waves: BTreeMap::new(),
        },
        customers,
        rejected: vec![],
    }
}

/// `plan` with every target set to its legacy offer (Office 365 E3 or Microsoft 365 E3 by
/// `POST …/orders`), as a plan written before new commerce named them: for the tests of the
/// legacy order path, which today's Partner Center refuses (403 `2091`) and a sandbox
/// started with `--sell-legacy-offers` still sells.
pub fn with_legacy_targets(mut plan: Plan) -> Plan {
    for l in plan.customers.iter_mut().flat_map(|c| c.lines.iter_mut()) {
        match l.target_offer_id.as_deref() {
            Some(O365_E3_NCE) => l.target_offer_id = Some(O365_E3_OFFER.to_string()),
            Some(M365_E3_NCE) => l.target_offer_id = Some(M365_E3_OFFER.to_string()),
            _ => {}
        }
        l.same_offer = l.target_offer_id == l.current_offer_id;
    }
    plan
}
