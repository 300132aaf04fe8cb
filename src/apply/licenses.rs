//! Licence moves (DESIGN §8 step 3): for lines whose licence SKU changes, once their
//! seats are bought, swap exactly the planned users from the old SKU to the new one.
//!
//! The main decisions: a line moves at most `licenses_to_reassign` users, counting the
//! ones earlier runs moved for it, so a shared licence pool (other lines keep users on
//! the same old SKU) loses exactly the planned users and a re-run moves nobody twice;
//! the users are chosen deterministically (users holding the old SKU and not the new
//! one, in order of `userPrincipalName`, then ID), so every run and the execution
//! report agree on who moves; only the old SKU is removed, in the same call that
//! assigns the new one. Before the first swap the new SKU's free seats are checked: too
//! few ends the customer `blocked` with the numbers and the next step, never an endless
//! wait, and a 403 on the user or licence calls is `blocked` too, naming the GDAP roles.
//!
//! What the step reads before the first swap (the unsure swaps of earlier runs, the new
//! SKUs' pools, the users and their licences), the choice of users and the capacity check
//! are written once ([`preview`]) and shared with `apply --dry-run`, which lists the users
//! a shared licence pool would move from the very same reads and choice, without a change.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::Ordering;

use serde_json::Value;

use super::client::{ApiError, Client};
use super::journal::{Action, Event, State};
use super::pc;
use super::reason::{Note, Reason};
use super::run::{Ctx, Halt, fail_event, request_id, task_id};
use super::status::{Done, Progress};
use crate::model::{Customer, Line, TaskKind};

/// One planned move of one line: from → to, at most `limit` more users.
#[derive(Debug, Clone)]
pub(crate) struct Move<'a> {
    pub line: &'a Line,
    pub from: String,
    pub to: String,
    /// Users still to move for this line (`licenses_to_reassign` less those moved).
    pub limit: u64,
}

/// The moves of `lines`, given the users earlier runs moved (`progress`) and the swaps
/// an earlier run left unsure that went through (`confirmed`, per line). A line without
/// both licence SKUs is a plan error: its ID comes back.
pub(crate) fn moves<'a>(
    lines: &[&'a Line],
    progress: &Progress,
    confirmed: &HashMap<String, u64>,
) -> Result<Vec<Move<'a>>, &'a Line> {
    lines
        .iter()
        .map(|l| {
            let (Some(from), Some(to)) = (&l.from_sku, &l.to_sku) else {
                return Err(*l);
            };
            let moved = progress.moved_for_line(&l.id) + confirmed.get(&l.id).copied().unwrap_or(0);
            Ok(Move {
                line: l,
                from: from.to_ascii_lowercase(),
                to: to.to_ascii_lowercase(),
                limit: l.licenses_to_reassign.saturating_sub(moved),
            })
        })
        .collect()
}

/// A swap an earlier run left unsure that went through: the user moved for the line.
#[derive(Debug, Clone)]
pub(crate) struct SwapDone {
    pub line: String,
    pub user: String,
}

/// Reads the licences of the users whose swap an earlier run left ambiguous (GET only):
/// one who holds the line's new SKU and not its old one moved. The others are chosen
/// again like everyone else.
pub(crate) async fn unsure_swaps_done(
    client: &Client,
    tenant_id: &str,
    lines: &[&Line],
    progress: &Progress,
) -> Result<Vec<SwapDone>, ApiError> {
    let mut done = Vec::new();
    for l in lines {
        let (Some(from), Some(to)) = (&l.from_sku, &l.to_sku) else {
            continue;
        };
        let (from, to) = (from.to_ascii_lowercase(), to.to_ascii_lowercase());
        let Some(unsure) = progress.swap_unsure.get(&l.id) else {
            continue;
        };
        for uid in unsure {
            if progress
                .moved_by_line
                .get(&l.id)
                .is_some_and(|m| m.contains(uid))
            {
                continue;
            }
            let held = match client.user_license_skus(tenant_id, uid).await {
                Ok(h) => h,
                Err(e) if e.code.as_deref() == Some("60002") => continue,
                Err(e) => return Err(e),
            };
            if held.contains(&to) && !held.contains(&from) {
                done.push(SwapDone {
                    line: l.id.clone(),
                    user: uid.clone(),
                });
            }
        }
    }
    Ok(done)
}

/// The swaps of `done` counted per line.
pub(crate) fn confirmed_per_line(done: &[SwapDone]) -> HashMap<String, u64> {
    let mut per_line: HashMap<String, u64> = HashMap::new();
    for d in done {
        *per_line.entry(d.line.clone()).or_default() += 1;
    }
    per_line
}

/// Whether the new SKUs hold the seats for the users chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Capacity {
    Enough,
    /// The seats bought are not all in the tenant yet (provisioning takes a while).
    NotInTenantYet {
        offer: String,
        bought: u64,
        total: u64,
        free: u64,
        users: u64,
    },
    /// Too few free seats: the partner buys more (or frees some), then re-runs.
    Short {
        offer: String,
        free: u64,
        users: u64,
    },
}

impl Capacity {
    /// The reason the journal records for a shortfall (said in each reader's language,
    /// and in English as the event's note), `None` when the seats suffice.
    pub fn reason(&self) -> Option<Reason> {
        match self {
            Capacity::Enough => None,
            Capacity::NotInTenantYet {
                offer,
                bought,
                total,
                free,
                users,
            } => Some(Reason::SeatsArriving {
                offer: offer.clone(),
                bought: *bought,
                present: *total,
                free: *free,
                users: *users,
            }),
            Capacity::Short { offer, free, users } => Some(Reason::SeatsShort {
                offer: offer.clone(),
                free: *free,
                users: *users,
            }),
        }
    }
}

/// What the licence step finds before its first swap: the users chosen per move (in the
/// order of `moves`), the users per move skipped because they hold its new SKU already,
/// and whether the new SKUs hold the seats.
#[derive(Debug)]
pub(crate) struct Preview {
    pub chosen: Vec<Vec<pc::CustomerUser>>,
    pub skipped: Vec<Vec<pc::CustomerUser>>,
    pub capacity: Capacity,
}

/// Reads the new SKUs' pools (`subscribedskus`), the users and each active user's
/// licences (GET only), chooses the users of each move ([`choose`]) and checks the
/// capacity per new SKU. `extra_seats` (new SKU, lower case → seats) are seats bought
/// before the swaps that the pools do not show yet: the dry run's purchases of this run;
/// the real run, which reads after buying, passes none.
pub(crate) async fn preview(
    client: &Client,
    tenant_id: &str,
    moves: &[Move<'_>],
    extra_seats: &HashMap<String, u64>,
) -> Result<Preview, ApiError> {
    let skus = client.subscribed_skus(tenant_id).await?;
    let pools: HashMap<String, &pc::SubscribedSku> = skus
        .iter()
        .map(|s| (s.product_sku.id.to_ascii_lowercase(), s))
        .collect();
    let users = distinct(client.users(tenant_id).await?);
    let froms: HashSet<&str> = moves.iter().map(|m| m.from.as_str()).collect();
    let mut with_licences: Vec<(pc::CustomerUser, Vec<String>)> = Vec::new();
    for u in users
        .into_iter()
        .filter(|u| !u.is_inactive() && !u.id.is_empty())
    {
        let held = match client.user_license_skus(tenant_id, &u.id).await {
            Ok(h) => h,
            Err(e) if e.code.as_deref() == Some("60002") => continue,
            Err(e) => return Err(e),
        };
        if held.iter().any(|h| froms.contains(h.as_str())) {
            with_licences.push((u, held));
        }
    }
    let chosen: Vec<Vec<pc::CustomerUser>> = choose(moves, &with_licences)
        .into_iter()
        .map(|v| v.into_iter().cloned().collect())
        .collect();
    let skipped = moves
        .iter()
        .map(|m| {
            with_licences
                .iter()
                .filter(|(_, held)| held.contains(&m.from) && held.contains(&m.to))
                .map(|(u, _)| u.clone())
                .collect()
        })
        .collect();

    // The capacity check, per new SKU: never start a move that cannot finish.
    let mut need: BTreeMap<&str, (u64, Vec<&Move>)> = BTreeMap::new();
    for (m, users) in moves.iter().zip(&chosen) {
        let entry = need.entry(m.to.as_str()).or_default();
        entry.0 += users.len() as u64;
        entry.1.push(m);
    }
    let mut capacity = Capacity::Enough;
    for (to, (users, of)) in &need {
        let pool = pools.get(*to);
        let extra = extra_seats.get(*to).copied().unwrap_or(0);
        let free = pool.map_or(0, |p| p.available().max(0)) as u64 + extra;
        if *users <= free {
            continue;
        }
        let offer = of[0].line.target_offer.clone();
        let bought: u64 = of.iter().map(|m| m.line.target_seats).sum();
        let total = pool.map_or(0, |p| p.total_units.max(0)) as u64 + extra;
        capacity = if total < bought {
            Capacity::NotInTenantYet {
                offer,
                bought,
                total,
                free,
                users: *users,
            }
        } else {
            Capacity::Short {
                offer,
                free,
                users: *users,
            }
        };
        break;
    }
    Ok(Preview {
        chosen,
        skipped,
        capacity,
    })
}

/// The users chosen for each line, deterministically, from the users' licences: for
/// each line in plan order, the first `limit` users (by UPN, then ID) holding its old SKU
/// and not its new one, each user chosen for one line at most.
pub(crate) fn choose<'u>(
    moves: &[Move<'_>],
    users: &'u [(pc::CustomerUser, Vec<String>)],
) -> Vec<Vec<&'u pc::CustomerUser>> {
    let mut order: Vec<usize> = (0..users.len()).collect();
    order.sort_by(|a, b| {
        let key = |i: usize| {
            (
                users[i]
                    .0
                    .user_principal_name
                    .clone()
                    .unwrap_or_default()
                    .to_lowercase(),
                users[i].0.id.to_ascii_lowercase(),
            )
        };
        key(*a).cmp(&key(*b))
    });
    let mut taken: HashSet<usize> = HashSet::new();
    moves
        .iter()
        .map(|m| {
            let mut chosen = Vec::new();
            for &i in &order {
                if chosen.len() as u64 >= m.limit {
                    break;
                }
                let held = &users[i].1;
                if !taken.contains(&i) && held.contains(&m.from) && !held.contains(&m.to) {
                    taken.insert(i);
                    chosen.push(&users[i].0);
                }
            }
            chosen
        })
        .collect()
}

/// Each user once: a seek-based listing can repeat a user (the list changed while
/// paging), and a repeated user would take two of a line's moves, leaving another user
/// on the old SKU while the line reads as finished.
pub(crate) fn distinct(mut users: Vec<pc::CustomerUser>) -> Vec<pc::CustomerUser> {
    let mut seen: HashSet<String> = HashSet::new();
    users.retain(|u| seen.insert(u.id.to_ascii_lowercase()));
    users
}

/// A user's display name in reports: the UPN, else the ID.
pub(crate) fn user_name(u: &pc::CustomerUser) -> String {
    u.user_principal_name
        .clone()
        .unwrap_or_else(|| u.id.clone())
}

/// Records the customer as `blocked` on `lines`: nothing goes on until the partner acts.
/// The journal keeps the reason as data (and in English as its note).
async fn blocked(
    ctx: &Ctx<'_>,
    c: &Customer,
    lines: &[String],
    reason: Reason,
    error: Option<&ApiError>,
) -> Halt {
    let mut e = Event::new(&c.key, Action::Reassign, State::Blocked);
    e.lines = lines.to_vec();
    e.note = Some(reason.english());
    e.reason = Some(Box::new(reason.clone()));
    e.error = error.map(Into::into);
    if let Err(h) = ctx.record(e).await {
        return h;
    }
    ctx.did(&c.key, Done::Blocked(Note::Reason(Box::new(reason))));
    Halt::Customer
}

/// A read for the licence moves: a 403 (no GDAP role in this tenant) blocks the customer
/// with the roles to ask for; anything else goes the usual way ([`Ctx::give_up`]).
async fn read<T>(
    ctx: &Ctx<'_>,
    c: &Customer,
    lines: &[String],
    result: Result<T, ApiError>,
) -> Result<T, Halt> {
    match result {
        Ok(v) => Ok(v),
        Err(e) if e.is_missing_role() => {
            Err(blocked(ctx, c, lines, missing_role(&e), Some(&e)).await)
        }
        Err(e) => Err(ctx.give_up(c, Action::Reassign, lines, e).await),
    }
}

/// A 403 on users or licences: the GDAP roles to ask for (partner-center-api.md §1,
/// §11), said by [`Reason::text`].
pub(crate) fn missing_role(e: &ApiError) -> Reason {
    Reason::MissingRole {
        call: e.call.clone(),
        code: e.code.clone(),
    }
}

/// Moves the licences of `lines` (all provisioned, all `reassign`) for one customer.
pub(crate) async fn reassign(
    ctx: &Ctx<'_>,
    c: &Customer,
    tenant_id: &str,
    lines: &[&Line],
    progress: &Progress,
) -> Result<(), Halt> {
    let ids: Vec<String> = lines.iter().map(|l| l.id.clone()).collect();
    // Swaps an earlier run sent without a definite answer: if they went through, those
    // users moved for their line (and count against its `licenses_to_reassign`, or a
    // shared pool would lose one user too many).
    let done = read(
        ctx,
        c,
        &ids,
        unsure_swaps_done(&ctx.client, tenant_id, lines, progress).await,
    )
    .await?;
    for d in &done {
        let mut e = Event::new(&c.key, Action::LicenseUpdate, State::Succeeded);
        e.lines = vec![d.line.clone()];
        e.user = Some(d.user.clone());
        e.note = Some("the swap left ambiguous by an earlier run went through".into());
        ctx.record(e).await?;
    }
    let moves = match moves(lines, progress, &confirmed_per_line(&done)) {
        Ok(m) => m,
        Err(l) => {
            let reason = Reason::NoLicenceSkus { line: l.id.clone() };
            return Err(ctx.give_up_plan(c, Action::Reassign, &ids, reason).await);
        }
    };
    let mut started = Event::new(&c.key, Action::Reassign, State::Started);
    started.lines = ids.clone();
    started.task = task_id(c, TaskKind::ReassignLicenses);
    ctx.record(started).await?;

    let mut chosen: Vec<Vec<pc::CustomerUser>> = vec![Vec::new(); moves.len()];
    if moves.iter().any(|m| m.limit > 0) {
        let found = read(
            ctx,
            c,
            &ids,
            preview(&ctx.client, tenant_id, &moves, &HashMap::new()).await,
        )
        .await?;
        match &found.capacity {
            Capacity::Enough => {}
            Capacity::NotInTenantYet {
                offer, free, users, ..
            } => {
                // Wait for the seats, saying how many are there.
                let mut e = Event::new(&c.key, Action::Reassign, State::Waiting);
                e.lines = ids.clone();
                e.users_remaining = Some(*users);
                e.reason = found.capacity.reason().map(Box::new);
                e.note = e.reason.as_ref().map(|r| r.english());
                ctx.record(e).await?;
                ctx.did(
                    &c.key,
                    Done::WaitingForSeats {
                        offer: offer.clone(),
                        free: *free,
                        users: *users,
                    },
                );
                return Ok(());
            }
            Capacity::Short { .. } => {
                let reason = found.capacity.reason().expect("a shortfall has a reason");
                return Err(blocked(ctx, c, &ids, reason, None).await);
            }
        }
        chosen = found.chosen;
    }

    let mut moved = 0u64;
    let mut moved_names: Vec<String> = Vec::new();
    // Users whose swap failed: one user's bad data (say, no usage location) must not keep
    // every later user of the customer from moving.
    let mut failed_users: Vec<String> = Vec::new();
    for (m, users) in moves.iter().zip(&chosen) {
        for u in users {
            if ctx.stopped() {
                return Ok(());
            }
            let uid = &u.id;
            let generation = progress.license_failures.get(uid).copied().unwrap_or(0);
            let rid = request_id(
                &ctx.plan_sha256,
                &c.key,
                &format!("license:{uid}:{}:{}", m.from, m.to),
                generation,
            );
            let mut outcome = ctx
                .client
                .license_update(tenant_id, uid, &m.to, &m.from, rid)
                .await;
            for _ in 0..2 {
                match &outcome {
                    Err(e) if e.ambiguous && !e.is_fatal() => {
                        // Read the user's licences: did the swap happen?
                        match ctx.client.user_license_skus(tenant_id, uid).await {
                            Ok(held) if held.contains(&m.to) && !held.contains(&m.from) => {
                                outcome = Ok(Value::Null);
                            }
                            Ok(_) => {
                                outcome = ctx
                                    .client
                                    .license_update(tenant_id, uid, &m.to, &m.from, rid)
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
                    e.lines = vec![m.line.id.clone()];
                    e.user = Some(uid.clone());
                    e.user_name = u.user_principal_name.clone();
                    e.request_id = Some(rid.to_string());
                    ctx.record(e).await?;
                    moved += 1;
                    moved_names.push(user_name(u));
                    ctx.users_moved.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) if e.is_fatal() => {
                    let mut ev = fail_event(
                        c,
                        Action::LicenseUpdate,
                        std::slice::from_ref(&m.line.id),
                        &e,
                    );
                    ev.user = Some(uid.clone());
                    ev.state = if e.ambiguous {
                        State::Ambiguous
                    } else {
                        State::Failed
                    };
                    ctx.record(ev).await?;
                    return Err(Halt::Run(Box::new(e)));
                }
                Err(e) if e.code.as_deref() == Some("60002") => continue,
                Err(e) if e.is_missing_role() => {
                    return Err(blocked(ctx, c, &ids, missing_role(&e), Some(&e)).await);
                }
                Err(e) => {
                    let mut ev = fail_event(
                        c,
                        Action::LicenseUpdate,
                        std::slice::from_ref(&m.line.id),
                        &e,
                    );
                    ev.user = Some(uid.clone());
                    if e.ambiguous {
                        ev.state = State::Ambiguous;
                    }
                    ctx.record(ev).await?;
                    if stops_the_licence_moves(&e) {
                        report_moved(ctx, c, &moved_names);
                        report_failed_users(ctx, c, &failed_users);
                        return Err(Halt::Customer);
                    }
                    failed_users.push(user_name(u));
                }
            }
        }
    }
    report_moved(ctx, c, &moved_names);
    if !failed_users.is_empty() {
        report_failed_users(ctx, c, &failed_users);
        return Err(Halt::Customer);
    }
    let mut e = Event::new(&c.key, Action::Reassign, State::Succeeded);
    e.lines = ids;
    e.users_moved = Some(moved);
    e.users_remaining = Some(0);
    ctx.record(e).await?;
    if moved == 0 {
        ctx.did(&c.key, Done::NobodyLeftToMove);
    }
    Ok(())
}

/// Whether a failed licence swap stops the customer's remaining swaps: only running out
/// of licences (`60012`), which every later user would hit too. Anything else is about
/// this user (usage location, a blocked account): record it and move the others.
fn stops_the_licence_moves(e: &ApiError) -> bool {
    e.code.as_deref() == Some("60012")
}

fn report_moved(ctx: &Ctx<'_>, c: &Customer, names: &[String]) {
    if !names.is_empty() {
        ctx.did(&c.key, Done::MovedUsers(names.to_vec()));
    }
}

fn report_failed_users(ctx: &Ctx<'_>, c: &Customer, users: &[String]) {
    if !users.is_empty() {
        ctx.did(&c.key, Done::UsersNotMoved(users.to_vec()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::run::plan_error;

    fn user(upn: &str) -> pc::CustomerUser {
        pc::CustomerUser {
            id: format!("id-{upn}"),
            user_principal_name: Some(upn.to_string()),
            display_name: None,
            state: None,
        }
    }

    #[test]
    fn a_shared_pool_moves_exactly_the_planned_users_in_upn_order() {
        let plan = crate::apply::testplan::plan_with(0, 1, 0);
        let line = &plan.customers[0].lines[0];
        let m = Move {
            line,
            from: "old".into(),
            to: "new".into(),
            limit: 2,
        };
        let held = |skus: &[&str]| skus.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let users = vec![
            (user("dora@x"), held(&["old"])),
            (user("alice@x"), held(&["old", "other"])),
            (user("bob@x"), held(&["old", "new"])), // already holds the new SKU
            (user("carol@x"), held(&["old"])),
            (user("erin@x"), held(&["other"])),
        ];
        let chosen = choose(std::slice::from_ref(&m), &users);
        let names: Vec<&str> = chosen[0]
            .iter()
            .map(|u| u.user_principal_name.as_deref().unwrap())
            .collect();
        assert_eq!(names, ["alice@x", "carol@x"]);
        // The same input in another order chooses the same users.
        let mut reversed = users.clone();
        reversed.reverse();
        let again: Vec<String> = choose(std::slice::from_ref(&m), &reversed)[0]
            .iter()
            .map(|u| user_name(u))
            .collect();
        assert_eq!(again, ["alice@x", "carol@x"]);
    }

    #[test]
    fn a_user_listed_twice_takes_one_move_and_the_others_still_move() {
        let plan = crate::apply::testplan::plan_with(0, 1, 0);
        let line = &plan.customers[0].lines[0];
        let m = Move {
            line,
            from: "old".into(),
            to: "new".into(),
            limit: 3,
        };
        // The listing repeated alice (the list changed while paging).
        let listed = distinct(vec![
            user("alice@x"),
            user("bob@x"),
            user("alice@x"),
            user("carol@x"),
        ]);
        let users: Vec<(pc::CustomerUser, Vec<String>)> = listed
            .into_iter()
            .map(|u| (u, vec!["old".to_string()]))
            .collect();
        let names: Vec<String> = choose(std::slice::from_ref(&m), &users)[0]
            .iter()
            .map(|u| user_name(u))
            .collect();
        assert_eq!(names, ["alice@x", "bob@x", "carol@x"]);
    }

    #[test]
    fn two_lines_on_one_old_sku_never_choose_the_same_user() {
        let plan = crate::apply::testplan::plan_with(0, 1, 0);
        let line = &plan.customers[0].lines[0];
        let a = Move {
            line,
            from: "old".into(),
            to: "new1".into(),
            limit: 1,
        };
        let b = Move {
            line,
            from: "old".into(),
            to: "new2".into(),
            limit: 5,
        };
        let users = vec![
            (user("a@x"), vec!["old".to_string()]),
            (user("b@x"), vec!["old".to_string()]),
        ];
        let chosen = choose(&[a, b], &users);
        assert_eq!(chosen[0].len(), 1);
        assert_eq!(chosen[1].len(), 1);
        assert_ne!(chosen[0][0].id, chosen[1][0].id);
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
}
