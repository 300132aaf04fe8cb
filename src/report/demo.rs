//! A synthetic, deterministic plan for report tests, the benchmark and the screenshot.
//!
//! It is built directly from the plan types (not through the planner) so the reports can
//! be tested on their own, and it follows the planning rules of DESIGN §5 closely enough to
//! look like a real plan: several lines per customer, same-offer and reassigned lines,
//! every warning, every task kind and every rejection code. On purpose it also carries
//! Korean and Japanese names and hostile values (`=HYPERLINK(…)`, `@SUM(A1)`,
//! `<script>…`) that every report must neutralise or escape.

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate};

use crate::model::{
    Billing, Customer, InputInfo, LicenseAction, Line, OriginalAction, Plan, RejectCode, Rejection,
    Relationship, SCHEMA, Summary, Task, TaskKind, Term, WarningCode, WaveSummary,
};

/// Hostile values that appear as customer names, offers and rejected values.
pub const HOSTILE: [&str; 6] = [
    "=HYPERLINK(\"http://evil.example/x\",\"Click me\")",
    "@SUM(A1)",
    "<script>alert('x')</script>",
    "+1-555-0100",
    "-2+3",
    "\t=1+1",
];

const NAMES: [&str; 12] = [
    "Contoso Ltd",
    "주식회사 한빛소프트",
    "株式会社さくらテクノロジー",
    "Fabrikam, Inc.",
    "Northwind | Traders",
    "(주)푸른바다물산",
    "有限会社みなと商事",
    "Tailspin Toys",
    "Adatum Corporation",
    "대한정밀 주식회사",
    "東京データシステムズ株式会社",
    "Wingtip Toys",
];

/// (current offer, target offer, from SKU, to SKU); the same offer when both names match.
const OFFERS: [(&str, &str, &str, &str); 4] = [
    (
        "Microsoft 365 Business Standard",
        "Microsoft 365 Business Standard",
        "f245ecc8-75af-4f8e-b61f-27d8114de5f3",
        "f245ecc8-75af-4f8e-b61f-27d8114de5f3",
    ),
    (
        "Office 365 E3",
        "Microsoft 365 E3",
        "6fd2c87f-b296-42f0-b197-1e91e994b900",
        "05e9a617-0261-4cee-bb44-138d3ef5d965",
    ),
    (
        "Microsoft 365 Business Basic",
        "Microsoft 365 Business Basic",
        "3b555118-da6a-4418-894f-7df1e2096870",
        "3b555118-da6a-4418-894f-7df1e2096870",
    ),
    (
        "Exchange Online (Plan 1)",
        "Exchange Online (Plan 2)",
        "4b9405b0-7788-4568-add1-99614e613b69",
        "19ec0d23-8335-4cbd-94ac-6050e30712fa",
    ),
];

const PROGRAMS: [&str; 4] = ["Open", "Enterprise Agreement", "Direct", "오픈 라이선스"];
const COUNTRIES: [&str; 4] = ["KR", "JP", "US", "KR"];

/// The plan date of every demo plan.
pub fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 21).expect("valid date")
}

/// A plan of `lines` planned lines (1 to 4 per customer) plus about one rejected row per
/// 40 lines (at least one of each code when `lines >= 10`).
pub fn plan(lines: usize) -> Plan {
    let as_of = as_of();
    let lead_days = 7u32;
    let mut customers = Vec::new();
    let mut planned = 0usize;
    let mut row = 2u64;
    let mut i = 0usize;
    while planned < lines {
        let n_lines = (i % 4 + 1).min(lines - planned);
        customers.push(customer(i, n_lines, &mut row, as_of, lead_days));
        planned += n_lines;
        i += 1;
    }
    let n_rejected = (lines / 40).max(if lines >= 10 {
        RejectCode::ALL.len()
    } else {
        0
    });
    let rejected = (0..n_rejected)
        .map(|k| rejection(k, row + 3 * k as u64))
        .collect::<Vec<_>>();
    let summary = summarise(&customers, rejected.len());
    Plan {
        schema: SCHEMA.to_string(),
        generated_by: crate::GENERATED_BY.to_string(),
        as_of,
        lead_days,
        inputs: vec![InputInfo {
            path: "customers.xlsx".to_string(),
            sha256: "9f2c".repeat(16),
            sheet: Some("고객".to_string()),
            rows: row - 2 + rejected.len() as u64,
        }],
        summary,
        customers,
        rejected,
    }
}

fn customer(i: usize, n_lines: usize, row: &mut u64, as_of: NaiveDate, lead_days: u32) -> Customer {
    let c = i + 1;
    let hostile = i % 9 == 4;
    let name = if hostile {
        HOSTILE[(i / 9) % HOSTILE.len()].to_string()
    } else if i < NAMES.len() {
        NAMES[i].to_string()
    } else {
        format!("{} {}", NAMES[i % NAMES.len()], c)
    };
    let domain = format!("tenant{c}.onmicrosoft.com");
    // Every eleventh customer is known by its domain alone.
    let customer_id = (i % 11 != 10).then(|| guid(0x5eed_0000 + i as u64, c as u64));
    let relationship = if i % 3 == 2 {
        Relationship::Accepted
    } else {
        Relationship::Request
    };
    let mut lines = Vec::with_capacity(n_lines);
    for j in 0..n_lines {
        lines.push(line(i, j, *row, as_of, lead_days));
        *row += 1;
    }
    if i % 13 == 7 {
        for l in &mut lines {
            l.warnings.push(WarningCode::ConflictingCustomer);
            l.warnings.sort();
        }
    }
    let tasks = tasks(c, relationship, &lines, as_of);
    Customer {
        key: customer_id.clone().unwrap_or_else(|| domain.clone()),
        customer_id,
        domain: Some(domain),
        name: Some(name),
        contact_email: Some(format!("it@tenant{c}.example")),
        country: Some(COUNTRIES[i % COUNTRIES.len()].to_string()),
        relationship,
        lines,
        tasks,
    }
}

fn guid(a: u64, b: u64) -> String {
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        a & 0xffff_ffff,
        (a >> 8) & 0xffff,
        b & 0xfff,
        (a ^ b) & 0xfff,
        b.wrapping_mul(0x9e37_79b9) & 0xffff_ffff_ffff
    )
}

fn line(i: usize, j: usize, row: u64, as_of: NaiveDate, lead_days: u32) -> Line {
    let (current, target, from_sku, to_sku) = OFFERS[(i + j) % OFFERS.len()];
    let current = if i % 9 == 4 && j == 0 {
        // A hostile offer name as an export could carry it.
        "=cmd|' /C calc'!A0".to_string()
    } else {
        current.to_string()
    };
    let same_offer = current == target;
    let seats = 5 + ((i * 7 + j * 13) % 300) as u64;
    let assigned = j
        .is_multiple_of(2)
        .then(|| seats - (i as u64 % 5).min(seats));
    let mut warnings = Vec::new();
    if i % 17 == 3 {
        warnings.push(WarningCode::AssignedExceedsSeats);
    }
    if i % 19 == 5 {
        warnings.push(WarningCode::OfferNotInCatalog);
    }
    if i % 23 == 6 {
        warnings.push(WarningCode::QuantityOutOfRange);
    }
    if i % 11 == 10 {
        warnings.push(WarningCode::InvalidCustomerId);
    }
    for (n, k, code) in [
        (29, 7, WarningCode::NoNewCommerceOffer),
        (31, 8, WarningCode::SkuUnknown),
        (37, 9, WarningCode::TargetSeatsBelowAssigned),
        (41, 10, WarningCode::SharedLicensePool),
        (43, 11, WarningCode::AmbiguousProduct),
    ] {
        if i % n == k {
            warnings.push(code);
        }
    }
    let expires_on = (!(j == 3 || i % 10 == 9))
        .then(|| as_of + Duration::days(((i * 37 + j * 11) % 420) as i64 - 20));
    let provision_on = match expires_on {
        None => {
            warnings.push(WarningCode::NoExpiry);
            as_of
        }
        Some(d) => {
            let days = (d - as_of).num_days();
            if days < 0 {
                warnings.push(WarningCode::Expired);
                as_of
            } else if days <= i64::from(lead_days) {
                warnings.push(WarningCode::ExpiresSoon);
                as_of
            } else {
                d - Duration::days(i64::from(lead_days))
            }
        }
    };
    let auto_renew = Some(i.is_multiple_of(5));
    if auto_renew == Some(true) && expires_on.is_some() {
        warnings.push(WarningCode::AutoRenewOn);
    }
    warnings.sort();
    let licenses = if same_offer {
        0
    } else {
        assigned.unwrap_or(seats)
    };
    // A line short of target seats is short by three, as its warning says.
    let short = warnings.contains(&WarningCode::TargetSeatsBelowAssigned) && licenses > 3;
    let target_seats = if short { licenses - 3 } else { seats };
    Line {
        id: format!("c{}-l{}", i + 1, j + 1),
        input: 0,
        row,
        current_offer: current,
        current_offer_id: None,
        target_offer: target.to_string(),
        target_offer_id: Some(guid(0x0ffe_0000 + ((i + j) % 4) as u64, 7)),
        seats,
        target_seats,
        same_offer,
        same_license: same_offer,
        license_action: if same_offer {
            LicenseAction::None
        } else {
            LicenseAction::Reassign
        },
        licenses_to_reassign: licenses,
        from_sku: (!same_offer).then(|| from_sku.to_string()),
        to_sku: (!same_offer).then(|| to_sku.to_string()),
        expires_on,
        provision_on,
        wave: format!("{:04}-{:02}", provision_on.year(), provision_on.month()),
        original_action: OriginalAction::LetExpire,
        subscription_id: Some(guid(0x50b5_0000 + i as u64, (j + 1) as u64)),
        program: Some(PROGRAMS[i % PROGRAMS.len()].to_string()),
        assigned,
        auto_renew,
        term: Term::P1Y,
        billing: Billing::Monthly,
        warnings,
    }
}

fn tasks(c: usize, relationship: Relationship, lines: &[Line], as_of: NaiveDate) -> Vec<Task> {
    let mut tasks: Vec<Task> = Vec::new();
    let mut push = |kind, due, depends_on: Vec<String>, ls: Vec<&Line>| {
        let id = format!("c{c}-t{}", tasks.len() + 1);
        tasks.push(Task {
            id: id.clone(),
            kind,
            due,
            depends_on,
            line_rows: ls.iter().map(|l| l.row).collect(),
            line_ids: ls.iter().map(|l| l.id.clone()).collect(),
        });
        id
    };
    let first = (relationship == Relationship::Request).then(|| {
        push(
            TaskKind::RequestRelationship,
            as_of,
            vec![],
            lines.iter().collect(),
        )
    });
    for line in lines {
        let after: Vec<String> = first.iter().cloned().collect();
        if line.auto_renew == Some(true)
            && let Some(expires) = line.expires_on
        {
            let due = (expires - Duration::days(1)).max(as_of);
            push(TaskKind::DisableAutoRenew, due, vec![], vec![line]);
        }
        let provision = push(TaskKind::Provision, line.provision_on, after, vec![line]);
        if line.license_action == LicenseAction::Reassign {
            push(
                TaskKind::ReassignLicenses,
                line.provision_on,
                vec![provision.clone()],
                vec![line],
            );
        }
        if let Some(expires) = line.expires_on {
            push(
                TaskKind::LetExpire,
                expires.max(as_of),
                vec![provision],
                vec![line],
            );
        }
    }
    tasks
}

fn rejection(k: usize, row: u64) -> Rejection {
    let code = RejectCode::ALL[k % RejectCode::ALL.len()];
    let (column, value): (Option<&str>, Option<String>) = match code {
        RejectCode::MissingCustomer => (None, None),
        RejectCode::MissingOffer => (Some("제품"), None),
        RejectCode::InvalidSeats => (Some("Seats"), Some("-3".into())),
        RejectCode::InvalidAssigned => (Some("割り当て済み"), Some(HOSTILE[0].into())),
        RejectCode::InvalidTargetSeats => (Some("Target seats"), Some("@SUM(A1)".into())),
        RejectCode::InvalidDate => (Some("만료 날짜"), Some(HOSTILE[2].into())),
        RejectCode::AmbiguousDate => (Some("End date"), Some("03/04/2027".into())),
        RejectCode::InvalidBoolean => (Some("自動更新"), Some("+maybe".into())),
        RejectCode::InvalidEncoding => (None, None),
        RejectCode::DuplicateRow => (None, None),
        RejectCode::ConflictingSubscription => (None, None),
        RejectCode::InvalidTerm => (Some("약정 기간"), Some("2 years".into())),
        RejectCode::InvalidBilling => (Some("請求頻度"), Some("隔月".into())),
    };
    Rejection {
        input: "customers.xlsx".to_string(),
        row,
        column: column.map(str::to_string),
        value,
        code,
        message: format!("row {row}: {}", code.as_str()),
    }
}

fn summarise(customers: &[Customer], rejected: usize) -> Summary {
    let mut summary = Summary {
        customers: customers.len() as u64,
        rejected_rows: rejected as u64,
        ..Summary::default()
    };
    let mut waves: BTreeMap<String, WaveSummary> = BTreeMap::new();
    for line in customers.iter().flat_map(|c| &c.lines) {
        summary.lines += 1;
        let wave = waves.entry(line.wave.clone()).or_default();
        wave.lines += 1;
        if line.same_offer {
            summary.same_offer += 1;
            wave.same_offer += 1;
        } else {
            summary.reassign += 1;
            wave.reassign += 1;
        }
        for code in &line.warnings {
            *summary.warnings.entry(*code).or_default() += 1;
        }
    }
    summary.waves = waves;
    summary
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_plan_has_every_kind_of_row() {
        let plan = plan(200);
        assert_eq!(plan.summary.lines, 200);
        assert_eq!(plan.lines().count(), 200);
        assert!(plan.summary.same_offer > 0 && plan.summary.reassign > 0);
        for code in WarningCode::ALL {
            assert!(plan.summary.warnings.contains_key(&code), "{code:?}");
        }
        for code in RejectCode::ALL {
            assert!(plan.rejected.iter().any(|r| r.code == code), "{code:?}");
        }
        for kind in crate::i18n::TASK_KINDS {
            assert!(
                plan.customers
                    .iter()
                    .flat_map(|c| &c.tasks)
                    .any(|t| t.kind == kind),
                "{kind:?}"
            );
        }
        // The plan survives its own file format.
        let json = serde_json::to_vec(&plan).unwrap();
        assert_eq!(Plan::from_json_slice(&json).unwrap(), plan);
    }
}
