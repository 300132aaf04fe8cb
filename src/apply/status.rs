//! Where each customer stands, rebuilt from the plan and the journal alone (no API call).
//!
//! `apply` uses this replay to resume (what is ordered, what may have been ordered, who
//! was moved) and `cspmove status` prints it. The main decision is what `done` means:
//! every planned line provisioned and every reassignment complete. Letting the original
//! subscription expire (and turning its auto-renew off) is the customer's step, outside
//! Partner Center's API; it is shown as the next step with its date, but for cspmove the
//! customer is `done`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write as _;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::journal::{Action, ErrorRecord, Event, State};
use super::reason::Note;
use crate::i18n::{Lang, Texts, display_width, pad, texts};
use crate::model::{Customer, LicenseAction, Line, Relationship};

/// The statuses of DESIGN §8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CustomerStatus {
    AwaitingAcceptance,
    Scheduled,
    Provisioned,
    Reassigning,
    /// Nothing can go on until the partner acts: seats short, an admin role missing.
    Blocked,
    Done,
    Failed,
}

impl CustomerStatus {
    pub const ALL: [CustomerStatus; 7] = [
        CustomerStatus::AwaitingAcceptance,
        CustomerStatus::Scheduled,
        CustomerStatus::Provisioned,
        CustomerStatus::Reassigning,
        CustomerStatus::Blocked,
        CustomerStatus::Done,
        CustomerStatus::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CustomerStatus::AwaitingAcceptance => "awaiting_acceptance",
            CustomerStatus::Scheduled => "scheduled",
            CustomerStatus::Provisioned => "provisioned",
            CustomerStatus::Reassigning => "reassigning",
            CustomerStatus::Blocked => "blocked",
            CustomerStatus::Done => "done",
            CustomerStatus::Failed => "failed",
        }
    }

    /// The status as a person reads it in `lang` (English shows the code itself).
    pub fn label(self, t: &Texts) -> &str {
        t.get(match self {
            CustomerStatus::AwaitingAcceptance => "apply_status.awaiting_acceptance",
            CustomerStatus::Scheduled => "apply_status.scheduled",
            CustomerStatus::Provisioned => "apply_status.provisioned",
            CustomerStatus::Reassigning => "apply_status.reassigning",
            CustomerStatus::Blocked => "apply_status.blocked",
            CustomerStatus::Done => "apply_status.done",
            CustomerStatus::Failed => "apply_status.failed",
        })
    }
}

/// What a customer's next step is, as data, so that each output says it in its language
/// ([`NextStep::text`]). A block's reason and a plan problem are data too; what Partner
/// Center answered (descriptions) and notes of old journals stay as they were recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextStep {
    /// Blocked until the partner acts; the note says what to do.
    Blocked(Note),
    /// A call failed: fix what the hint (else the description) says, then re-run.
    Fix(Box<ErrorRecord>),
    AcceptRelationship,
    /// Done for cspmove; the customer lets the original expire (turning auto-renew off
    /// first when it is on).
    LetExpire {
        on: Option<NaiveDate>,
        auto_renew: bool,
    },
    FinishReassign {
        users_moved: u64,
    },
    /// Licences move once the waiting note is true (seats not yet available).
    ReassignWhen(Note),
    Reassign,
    /// More lines to provision on a date, after some were provisioned.
    ProvisionMore {
        lines: usize,
        on: NaiveDate,
    },
    Provision {
        lines: usize,
        on: NaiveDate,
    },
}

impl NextStep {
    pub fn text(&self, t: &Texts) -> String {
        let count = |n: usize| t.number(n as u64);
        match self {
            NextStep::Blocked(note) => note.text(t),
            NextStep::Fix(err) => {
                let hint = err.hint_in(t);
                let what = if hint.is_empty() {
                    err.description_in(t)
                } else {
                    hint
                };
                t.fill("next_step.fix", &[("what", &what)])
            }
            NextStep::AcceptRelationship => t.get("next_step.accept_relationship").to_string(),
            NextStep::LetExpire {
                on: Some(d),
                auto_renew: true,
            } => t.fill("next_step.turn_off_auto_renew", &[("date", &t.date(*d))]),
            NextStep::LetExpire {
                on: Some(d),
                auto_renew: false,
            } => t.fill("next_step.let_expire", &[("date", &t.date(*d))]),
            NextStep::LetExpire { on: None, .. } => {
                t.get("next_step.let_expire_no_date").to_string()
            }
            NextStep::FinishReassign { users_moved } => t.fill(
                "next_step.finish_reassign",
                &[("users", &t.number(*users_moved))],
            ),
            NextStep::ReassignWhen(note) => {
                t.fill("next_step.reassign_when", &[("note", &note.text(t))])
            }
            NextStep::Reassign => t.get("next_step.reassign").to_string(),
            NextStep::ProvisionMore { lines, on } => t.fill(
                "next_step.provision_more",
                &[("count", &count(*lines)), ("date", &t.date(*on))],
            ),
            NextStep::Provision { lines, on } => t.fill(
                "next_step.provision",
                &[("count", &count(*lines)), ("date", &t.date(*on))],
            ),
        }
    }
}

/// How a purchase went through, for [`Done::Bought`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purchase {
    /// A legacy order (`POST …/orders`).
    Ordered,
    /// A new-commerce cart checkout.
    CheckedOut,
    /// A legacy add-on added to its parent subscription's order.
    AddedToOrder,
}

/// One thing a run did for a customer, kept as data and put into words where the
/// execution report is written ([`Done::text`]), like [`NextStep`]. Offer, line, order
/// and subscription IDs and user names are data; so is a `Blocked` reason (a note of an
/// old journal stays as it was recorded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Done {
    RelationshipAccepted,
    InvitationListed,
    Blocked(Note),
    WaitingForSeats {
        offer: String,
        free: u64,
        users: u64,
    },
    NobodyLeftToMove,
    MovedUsers(Vec<String>),
    UsersNotMoved(Vec<String>),
    ReconciledOrder(String),
    AlreadyBought {
        line: String,
        subscription: String,
    },
    FoundEarlierOrder {
        order: String,
        lines: Vec<String>,
    },
    Bought {
        how: Purchase,
        lines: Vec<String>,
        order: String,
        /// The order went through despite a failed answer.
        reconciled: bool,
    },
}

impl Done {
    pub fn text(&self, t: &Texts) -> String {
        match self {
            Done::RelationshipAccepted => t.get("done.relationship_accepted").to_string(),
            Done::InvitationListed => t.get("done.invitation_listed").to_string(),
            Done::Blocked(note) => t.fill("done.blocked", &[("note", &note.text(t))]),
            Done::WaitingForSeats { offer, free, users } => t.fill(
                "done.waiting_for_seats",
                &[
                    ("offer", offer),
                    ("free", &free.to_string()),
                    ("users", &users.to_string()),
                ],
            ),
            Done::NobodyLeftToMove => t.get("done.nobody_left_to_move").to_string(),
            Done::MovedUsers(users) => t.fill(
                "done.moved_users",
                &[
                    ("count", &users.len().to_string()),
                    ("users", &users.join(", ")),
                ],
            ),
            Done::UsersNotMoved(users) => t.fill(
                "done.users_not_moved",
                &[
                    ("count", &users.len().to_string()),
                    ("users", &users.join(", ")),
                ],
            ),
            Done::ReconciledOrder(order) => t.fill("done.reconciled_order", &[("order", order)]),
            Done::AlreadyBought { line, subscription } => t.fill(
                "done.already_bought",
                &[("line", line), ("subscription", subscription)],
            ),
            Done::FoundEarlierOrder { order, lines } => t.fill(
                "done.found_earlier_order",
                &[("order", order), ("lines", &lines.join(", "))],
            ),
            Done::Bought {
                how,
                lines,
                order,
                reconciled,
            } => {
                let key = match (how, reconciled) {
                    (Purchase::Ordered, false) => "done.ordered",
                    (Purchase::Ordered, true) => "done.ordered_reconciled",
                    (Purchase::CheckedOut, false) => "done.checked_out",
                    (Purchase::CheckedOut, true) => "done.checked_out_reconciled",
                    (Purchase::AddedToOrder, false) => "done.added_to_order",
                    (Purchase::AddedToOrder, true) => "done.added_to_order_reconciled",
                };
                t.fill(key, &[("lines", &lines.join(", ")), ("order", order)])
            }
        }
    }
}

/// In JSON (the execution report's `.json`, for scripts) a done entry is its English
/// text, as before it was data.
impl Serialize for Done {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text(texts(Lang::En)))
    }
}

/// Who or what the customer's next step waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitingOn {
    /// The customer must accept the reseller relationship.
    CustomerAcceptance,
    /// A line's `provision_on` date.
    DueDate,
    /// The next `apply` run (work is due now).
    NextRun,
    /// The new seats must appear in the tenant before licences move.
    NewSeats,
    /// The customer lets the original subscription expire.
    CustomerExpiry,
    /// A person must fix what failed.
    Partner,
}

/// A purchase that was sent (or about to be) with no known outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingPurchase {
    pub lines: Vec<String>,
    pub request_id: String,
    pub cart_id: Option<String>,
    /// When the purchase was first started (its `started` event): reconciliation only
    /// accepts orders created around or after it, never one bought earlier by hand.
    pub started: Option<DateTime<Utc>>,
}

/// One customer's history, folded from its journal events.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    pub accepted: Option<bool>,
    pub tenant_id: Option<String>,
    pub invited: bool,
    /// line id → order id.
    pub provisioned: BTreeMap<String, String>,
    /// Orders already claimed by a line (so a reconciliation never claims one twice).
    pub orders: BTreeSet<String>,
    /// Purchases sent without a recorded outcome, by line-set key.
    pub pending: BTreeMap<String, PendingPurchase>,
    /// Definite purchase failures, which move the request ID to its next generation.
    pub purchase_failures: u32,
    /// Lines whose reassignment finished.
    pub reassigned: BTreeSet<String>,
    /// Users moved so far (over all runs).
    pub users_moved: u64,
    pub reassign_started: bool,
    /// Users whose swap failed definitely, with how often.
    pub license_failures: HashMap<String, u32>,
    /// A note from the last `waiting` event (e.g. seats not yet available).
    pub waiting_note: Option<Note>,
    /// What blocks the customer until the partner acts (the last `blocked` event, not
    /// followed by a new attempt): the next step, and the refusal behind it if any.
    pub blocked: Option<(Note, Option<ErrorRecord>)>,
    /// Users moved, per line (a line moves at most `licenses_to_reassign`).
    pub moved_by_line: HashMap<String, BTreeSet<String>>,
    /// Users whose swap for a line was sent without a definite answer (an `ambiguous`
    /// licence update not followed by a success or a refusal), per line: the next run
    /// reads their licences, and counts them as moved if the swap went through.
    pub swap_unsure: HashMap<String, BTreeSet<String>>,
    /// Names (UPN, else ID) of the users moved, in the order they moved.
    pub moved_users: Vec<String>,
    /// Failures not followed by a success of the same line or phase.
    pub errors: BTreeMap<String, (DateTime<Utc>, ErrorRecord)>,
    /// The latest of `errors`.
    pub error: Option<ErrorRecord>,
    pub error_at: Option<DateTime<Utc>>,
    pub last_event: Option<DateTime<Utc>>,
}

impl Progress {
    /// Users moved so far for one line, over all runs.
    pub fn moved_for_line(&self, line: &str) -> u64 {
        self.moved_by_line.get(line).map_or(0, |u| u.len() as u64)
    }
}

/// The key of a purchase: its sorted line ids.
pub fn lines_key(lines: &[String]) -> String {
    let mut sorted = lines.to_vec();
    sorted.sort();
    sorted.join(",")
}

/// An outcome for `lines` settles every pending purchase holding any of them: a partly
/// failed checkout records its outcome per order group, a subset of the cart's lines
/// (whatever is still open is recorded `ambiguous` again, under its own lines).
fn settle_pending(pending: &mut BTreeMap<String, PendingPurchase>, lines: &[String]) {
    pending.retain(|_, p| !p.lines.iter().any(|l| lines.contains(l)));
}

/// Folds journal events into per-customer progress.
pub fn replay(events: &[Event]) -> HashMap<String, Progress> {
    let mut r = Replay::default();
    for e in events {
        r.push(e);
    }
    r.finish()
}

/// [`replay`] one event at a time, for events that stream by (a journal read line by
/// line, [`super::journal::for_each_event`]): memory follows the customers, not the
/// events.
/// Each progress is boxed: a table of a few hundred thousand customers holds pointers,
/// not progresses (a [`Progress`] is large and a hash table never shrinks as its
/// entries are taken out).
#[derive(Debug, Default)]
pub struct Replay {
    all: HashMap<String, Box<Progress>>,
}

impl Replay {
    /// Folds one event into its customer's progress.
    pub fn push(&mut self, e: &Event) {
        let p = match self.all.get_mut(&e.customer) {
            Some(p) => p,
            None => self.all.entry(e.customer.clone()).or_default(),
        };
        fold(p, e);
    }

    /// Every customer's progress.
    pub fn finish(self) -> HashMap<String, Progress> {
        self.finish_boxed()
            .into_iter()
            .map(|(k, p)| (k, *p))
            .collect()
    }

    /// Every customer's progress, boxed (for a caller that keeps many).
    pub fn finish_boxed(self) -> HashMap<String, Box<Progress>> {
        let mut all = self.all;
        for p in all.values_mut() {
            if let Some((at, err)) = p.errors.values().max_by_key(|(at, _)| *at) {
                p.error = Some(err.clone());
                p.error_at = Some(*at);
            }
        }
        all
    }
}

/// One event of a customer, folded into its progress `p`.
fn fold(p: &mut Progress, e: &Event) {
    {
        p.last_event = Some(e.at);
        match (e.action, e.state) {
            (Action::Relationship, State::Succeeded) => {
                p.accepted = Some(true);
                if e.tenant_id.is_some() {
                    p.tenant_id = e.tenant_id.clone();
                }
            }
            (Action::Relationship, State::Waiting) => p.accepted = Some(false),
            (Action::Invitation, State::Succeeded) => p.invited = true,
            (Action::Provision, State::Started | State::Ambiguous) => {
                if let Some(rid) = &e.request_id {
                    let key = lines_key(&e.lines);
                    // An `ambiguous` event follows its `started`: keep the earliest time.
                    let started = p
                        .pending
                        .get(&key)
                        .and_then(|old| old.started)
                        .map_or(e.at, |t| t.min(e.at));
                    p.pending.insert(
                        key,
                        PendingPurchase {
                            lines: e.lines.clone(),
                            request_id: rid.clone(),
                            cart_id: e.cart_id.clone(),
                            started: Some(started),
                        },
                    );
                }
            }
            (Action::Provision, State::Succeeded) | (Action::Reconcile, State::Succeeded) => {
                settle_pending(&mut p.pending, &e.lines);
                if let Some(order) = &e.order_id {
                    p.orders.insert(order.clone());
                    for l in &e.lines {
                        p.provisioned.insert(l.clone(), order.clone());
                    }
                }
            }
            (Action::Provision, State::Failed) => {
                settle_pending(&mut p.pending, &e.lines);
                p.purchase_failures += 1;
            }
            (Action::LicenseUpdate, State::Succeeded) => {
                p.users_moved += 1;
                p.reassign_started = true;
                if let Some(u) = &e.user {
                    for set in p.swap_unsure.values_mut() {
                        set.remove(u);
                    }
                    for l in &e.lines {
                        p.moved_by_line
                            .entry(l.clone())
                            .or_default()
                            .insert(u.clone());
                    }
                    p.moved_users
                        .push(e.user_name.clone().unwrap_or_else(|| u.clone()));
                }
            }
            (Action::Reassign, State::Blocked) => {
                p.blocked = Some((
                    Note::of(e.reason.as_deref(), e.note.as_deref()),
                    e.error.clone(),
                ));
                p.errors.remove("reassign");
                p.errors.retain(|k, _| !k.starts_with("user:"));
            }
            (Action::LicenseUpdate, State::Failed) => {
                if let Some(u) = &e.user {
                    *p.license_failures.entry(u.clone()).or_default() += 1;
                    for set in p.swap_unsure.values_mut() {
                        set.remove(u);
                    }
                }
            }
            (Action::LicenseUpdate, State::Ambiguous) => {
                if let Some(u) = &e.user {
                    for l in &e.lines {
                        p.swap_unsure
                            .entry(l.clone())
                            .or_default()
                            .insert(u.clone());
                    }
                }
            }
            (Action::Reassign, State::Started) => {
                p.reassign_started = true;
                p.blocked = None;
            }
            (Action::Reassign, State::Succeeded) => {
                p.blocked = None;
                for l in &e.lines {
                    p.reassigned.insert(l.clone());
                }
            }
            _ => {}
        }
        // Failures are kept per line (purchases) or per phase (licences), so a success
        // elsewhere in the same customer does not hide them.
        let scopes: Vec<String> = match e.action {
            Action::Provision | Action::Reconcile if !e.lines.is_empty() => {
                e.lines.iter().map(|l| format!("line:{l}")).collect()
            }
            // One user's swap failing is that user's: another user's success must not
            // hide it (the customer would look `reassigning` and the run exit 0).
            Action::LicenseUpdate => match &e.user {
                Some(u) => vec![format!("user:{u}")],
                None => vec!["reassign".to_string()],
            },
            Action::Reassign => vec!["reassign".to_string()],
            other => vec![format!("{other:?}")],
        };
        match e.state {
            State::Failed | State::Ambiguous if e.error.is_some() => {
                for scope in scopes {
                    p.errors
                        .insert(scope, (e.at, e.error.clone().expect("checked")));
                }
            }
            State::Succeeded => {
                for scope in scopes {
                    p.errors.remove(&scope);
                }
                // The whole reassignment finished: no user's failure stands any more.
                if e.action == Action::Reassign {
                    p.errors.retain(|k, _| !k.starts_with("user:"));
                }
            }
            _ => {}
        }
        match e.state {
            State::Waiting => {
                p.waiting_note = (e.reason.is_some() || e.note.is_some())
                    .then(|| Note::of(e.reason.as_deref(), e.note.as_deref()))
            }
            State::Succeeded if e.action == Action::Reassign || e.action == Action::Provision => {
                p.waiting_note = None
            }
            _ => {}
        }
    }
}

/// Whether a line is due for provisioning.
pub fn is_due(line: &Line, today: NaiveDate, now: bool) -> bool {
    now || line.provision_on <= today
}

/// One customer's row in `status` and in the execution report.
#[derive(Debug, Clone, Serialize)]
pub struct CustomerRow {
    pub key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub status: CustomerStatus,
    pub lines: usize,
    pub lines_provisioned: usize,
    pub reassign_lines: usize,
    pub reassign_done: usize,
    pub users_moved: u64,
    /// The users moved to a new SKU (UPN, else ID), over all runs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub moved_users: Vec<String>,
    /// [`CustomerRow::next`] in English, for JSON (`status --format json`, the
    /// execution report's `.json`), whose readers are scripts.
    pub next_step: String,
    /// The next step as data, for the texts that follow a language.
    #[serde(skip)]
    pub next: NextStep,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_date: Option<NaiveDate>,
    pub waiting_on: WaitingOn,
    /// What this run did (execution report only), as data: English in `.json`, in the
    /// report's language in `.md` and `.csv`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub done_this_run: Vec<Done>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorRecord>,
}

/// What `status` reads of each customer of the plan (the plan's field names; the plan
/// reader skips every other field without building it).
#[derive(Debug, Clone, Deserialize)]
pub struct StatusCustomer {
    pub key: String,
    pub customer_id: Option<String>,
    pub domain: Option<String>,
    pub name: Option<String>,
    pub relationship: Relationship,
    pub lines: Vec<StatusLine>,
}

/// What `status` reads of each planned line.
#[derive(Debug, Clone, Deserialize)]
pub struct StatusLine {
    pub id: String,
    pub license_action: LicenseAction,
    pub provision_on: NaiveDate,
    pub expires_on: Option<NaiveDate>,
    #[serde(default)]
    pub auto_renew: Option<bool>,
}

/// The facts of one line [`derive()`] works from.
#[derive(Debug, Clone, Copy)]
pub struct LineFacts<'a> {
    pub id: &'a str,
    pub reassign: bool,
    pub provision_on: NaiveDate,
    pub expires_on: Option<NaiveDate>,
    pub auto_renew: Option<bool>,
}

/// A customer as [`derive()`] sees it: a plan [`Customer`] (`apply`) or a
/// [`StatusCustomer`] (`status`).
pub trait CustomerFacts {
    fn key(&self) -> &str;
    fn customer_id(&self) -> Option<&str>;
    fn domain(&self) -> Option<&str>;
    fn name(&self) -> Option<&str>;
    fn relationship(&self) -> Relationship;
    fn line_facts(&self) -> Vec<LineFacts<'_>>;
}

impl CustomerFacts for Customer {
    fn key(&self) -> &str {
        &self.key
    }
    fn customer_id(&self) -> Option<&str> {
        self.customer_id.as_deref()
    }
    fn domain(&self) -> Option<&str> {
        self.domain.as_deref()
    }
    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    fn relationship(&self) -> Relationship {
        self.relationship
    }
    fn line_facts(&self) -> Vec<LineFacts<'_>> {
        self.lines
            .iter()
            .map(|l: &Line| LineFacts {
                id: &l.id,
                reassign: l.license_action == LicenseAction::Reassign,
                provision_on: l.provision_on,
                expires_on: l.expires_on,
                auto_renew: l.auto_renew,
            })
            .collect()
    }
}

impl CustomerFacts for StatusCustomer {
    fn key(&self) -> &str {
        &self.key
    }
    fn customer_id(&self) -> Option<&str> {
        self.customer_id.as_deref()
    }
    fn domain(&self) -> Option<&str> {
        self.domain.as_deref()
    }
    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    fn relationship(&self) -> Relationship {
        self.relationship
    }
    fn line_facts(&self) -> Vec<LineFacts<'_>> {
        self.lines
            .iter()
            .map(|l| LineFacts {
                id: &l.id,
                reassign: l.license_action == LicenseAction::Reassign,
                provision_on: l.provision_on,
                expires_on: l.expires_on,
                auto_renew: l.auto_renew,
            })
            .collect()
    }
}

/// Derives the status of one customer from its journal progress (`None`: nothing yet).
pub fn derive<C: CustomerFacts + ?Sized>(
    customer: &C,
    progress: Option<&Progress>,
    today: NaiveDate,
) -> CustomerRow {
    let empty = Progress::default();
    let p = progress.unwrap_or(&empty);
    let all = customer.line_facts();
    let lines = all.len();
    let lines_provisioned = all
        .iter()
        .filter(|l| p.provisioned.contains_key(l.id))
        .count();
    let reassign: Vec<&LineFacts> = all.iter().filter(|l| l.reassign).collect();
    let reassign_done = reassign
        .iter()
        .filter(|l| p.reassigned.contains(l.id))
        .count();
    let accepted = p
        .accepted
        .unwrap_or(customer.relationship() == Relationship::Accepted);
    let unprovisioned: Vec<&LineFacts> = all
        .iter()
        .filter(|l| !p.provisioned.contains_key(l.id))
        .collect();
    let next_provision = unprovisioned.iter().map(|l| l.provision_on).min();
    let pending_reassign: Vec<&&LineFacts> = reassign
        .iter()
        .filter(|l| p.provisioned.contains_key(l.id) && !p.reassigned.contains(l.id))
        .collect();

    let (status, next, next_date, waiting_on) = if let Some((note, _)) = &p.blocked {
        (
            CustomerStatus::Blocked,
            NextStep::Blocked(note.clone()),
            None,
            WaitingOn::Partner,
        )
    } else if let Some(err) = &p.error {
        (
            CustomerStatus::Failed,
            NextStep::Fix(Box::new(err.clone())),
            None,
            WaitingOn::Partner,
        )
    } else if !accepted {
        (
            CustomerStatus::AwaitingAcceptance,
            NextStep::AcceptRelationship,
            None,
            WaitingOn::CustomerAcceptance,
        )
    } else if unprovisioned.is_empty() && pending_reassign.is_empty() {
        let expiry = all.iter().filter_map(|l| l.expires_on).max();
        let auto_renew = all.iter().any(|l| l.auto_renew == Some(true));
        (
            CustomerStatus::Done,
            NextStep::LetExpire {
                on: expiry,
                auto_renew,
            },
            expiry,
            WaitingOn::CustomerExpiry,
        )
    } else if p.reassign_started && !pending_reassign.is_empty() {
        (
            CustomerStatus::Reassigning,
            NextStep::FinishReassign {
                users_moved: p.users_moved,
            },
            None,
            WaitingOn::NextRun,
        )
    } else if lines_provisioned > 0 {
        if !pending_reassign.is_empty() {
            let (step, waiting) = match &p.waiting_note {
                Some(note) => (NextStep::ReassignWhen(note.clone()), WaitingOn::NewSeats),
                None => (NextStep::Reassign, WaitingOn::NextRun),
            };
            (CustomerStatus::Provisioned, step, None, waiting)
        } else {
            let d = next_provision.expect("unprovisioned lines remain");
            (
                CustomerStatus::Provisioned,
                NextStep::ProvisionMore {
                    lines: unprovisioned.len(),
                    on: d,
                },
                Some(d),
                if d <= today {
                    WaitingOn::NextRun
                } else {
                    WaitingOn::DueDate
                },
            )
        }
    } else {
        let d = next_provision.expect("lines remain unprovisioned");
        (
            CustomerStatus::Scheduled,
            NextStep::Provision {
                lines: unprovisioned.len(),
                on: d,
            },
            Some(d),
            if d <= today {
                WaitingOn::NextRun
            } else {
                WaitingOn::DueDate
            },
        )
    };
    CustomerRow {
        key: customer.key().to_string(),
        customer_id: p
            .tenant_id
            .clone()
            .or_else(|| customer.customer_id().map(str::to_string)),
        domain: customer.domain().map(str::to_string),
        name: customer.name().map(str::to_string),
        status,
        lines,
        lines_provisioned,
        reassign_lines: reassign.len(),
        reassign_done,
        users_moved: p.users_moved,
        moved_users: p.moved_users.clone(),
        next_step: next.text(texts(Lang::En)),
        next,
        next_date,
        waiting_on,
        done_this_run: Vec::new(),
        error: p
            .blocked
            .as_ref()
            .and_then(|(_, e)| e.clone())
            .or_else(|| p.error.clone()),
    }
}

/// Rows for every customer of the plan (or those `only` names), from plan and journal.
pub fn rows(
    plan: &crate::model::Plan,
    events: &[Event],
    today: NaiveDate,
    only: &[String],
) -> Vec<CustomerRow> {
    let progress = replay(events);
    plan.customers
        .iter()
        .filter(|c| matches_only(c, only))
        .map(|c| derive(c, progress.get(&c.key), today))
        .collect()
}

/// `--only` matches a plan key, customer ID or domain, case-insensitively.
pub fn matches_only(c: &Customer, only: &[String]) -> bool {
    if only.is_empty() {
        return true;
    }
    only.iter().any(|o| {
        let o = o.trim();
        c.key.eq_ignore_ascii_case(o)
            || c.customer_id
                .as_deref()
                .is_some_and(|id| id.eq_ignore_ascii_case(o))
            || c.domain
                .as_deref()
                .is_some_and(|d| d.eq_ignore_ascii_case(o))
    })
}

/// Counts per status, in the fixed order of [`CustomerStatus::ALL`].
pub fn counts(rows: &[CustomerRow]) -> Vec<(CustomerStatus, usize)> {
    CustomerStatus::ALL
        .iter()
        .map(|s| (*s, rows.iter().filter(|r| r.status == *s).count()))
        .collect()
}

/// The document `status --format json` prints.
#[derive(Serialize)]
struct StatusJson<'a> {
    status: &'static str,
    journal: &'a str,
    counts: BTreeMap<&'static str, usize>,
    customers: &'a [CustomerRow],
}

/// `status --format json` built while the plan streams: each row is serialised as it is
/// derived, into a temporary file (a row lists every user moved, so a whole plan's rows
/// can be far bigger than the plan's view of them), and only the counts stay in memory.
/// [`JsonRows::write`] prints the document: the same bytes as serialising every row at
/// once ([`json_document`]).
pub struct JsonRows {
    rows: std::io::BufWriter<std::fs::File>,
    n: usize,
    counts: [usize; CustomerStatus::ALL.len()],
    scratch: Vec<u8>,
}

impl JsonRows {
    pub fn new() -> std::io::Result<JsonRows> {
        Ok(JsonRows {
            rows: std::io::BufWriter::with_capacity(1 << 20, tempfile::tempfile()?),
            n: 0,
            counts: [0; CustomerStatus::ALL.len()],
            scratch: Vec::new(),
        })
    }

    pub fn push(&mut self, row: &CustomerRow) -> std::io::Result<()> {
        self.scratch.clear();
        serde_json::to_writer_pretty(&mut self.scratch, row)?;
        // As an item of the document's "customers" list: four more spaces on every line
        // (a raw line break never occurs inside a JSON string).
        self.rows
            .write_all(if self.n == 0 { b"\n    " } else { b",\n    " })?;
        let mut from = 0;
        for at in memchr::memchr_iter(b'\n', &self.scratch) {
            self.rows.write_all(&self.scratch[from..=at])?;
            self.rows.write_all(b"    ")?;
            from = at + 1;
        }
        self.rows.write_all(&self.scratch[from..])?;
        let i = CustomerStatus::ALL
            .iter()
            .position(|s| *s == row.status)
            .expect("every status is in ALL");
        self.counts[i] += 1;
        self.n += 1;
        Ok(())
    }

    /// Prints the document (`journal` is the journal's path as shown), with its final
    /// line break.
    pub fn write(self, journal: &str, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        use std::io::{Read as _, Seek as _};
        let doc = StatusJson {
            status: "cspmove.status/v1",
            journal,
            counts: CustomerStatus::ALL
                .iter()
                .zip(self.counts)
                .map(|(s, n)| (s.as_str(), n))
                .collect(),
            customers: &[],
        };
        let head = serde_json::to_vec_pretty(&doc)?;
        let empty = b"[]\n}";
        if self.n == 0 || !head.ends_with(empty) {
            out.write_all(&head)?;
            return out.write_all(b"\n");
        }
        out.write_all(&head[..head.len() - empty.len() + 1])?;
        let mut file = self.rows.into_inner().map_err(|e| e.into_error())?;
        file.rewind()?;
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            out.write_all(&buf[..n])?;
        }
        out.write_all(b"\n  ]\n}\n")
    }
}

/// The `status --format json` document of `rows`, serialised at once (what
/// [`JsonRows`] prints as it streams).
pub fn json_document(rows: &[CustomerRow], journal: &str) -> Vec<u8> {
    let doc = StatusJson {
        status: "cspmove.status/v1",
        journal,
        counts: counts(rows)
            .into_iter()
            .map(|(s, n)| (s.as_str(), n))
            .collect(),
        customers: rows,
    };
    let mut out = serde_json::to_vec_pretty(&doc).expect("rows serialise");
    out.push(b'\n');
    out
}

/// The text table `cspmove status` prints, in `lang`. Columns line up by display width
/// (a Hangul syllable or a kanji takes two columns).
pub fn render_text(rows: &[CustomerRow], lang: Lang) -> String {
    let mut table = TextTable::new(lang);
    for r in rows {
        table.push(r);
    }
    let mut out = Vec::new();
    table.write(&mut out).expect("write to memory");
    String::from_utf8(out).expect("UTF-8 in, UTF-8 out")
}

/// The table of [`render_text`], gathered row by row: only what it prints is kept (a
/// 285,000-customer plan's table is some 40 MB, its [`CustomerRow`]s several times
/// that).
#[derive(Debug)]
pub struct TextTable {
    t: &'static Texts,
    rows: Vec<TextRow>,
    w_key: usize,
    w_date: usize,
    counts: [usize; CustomerStatus::ALL.len()],
}

#[derive(Debug)]
struct TextRow {
    key: Box<str>,
    status: CustomerStatus,
    date: Option<NaiveDate>,
    next: NextStep,
}

impl TextTable {
    pub fn new(lang: Lang) -> TextTable {
        TextTable {
            t: texts(lang),
            rows: Vec::new(),
            w_key: 0,
            w_date: 0,
            counts: [0; CustomerStatus::ALL.len()],
        }
    }

    pub fn push(&mut self, r: &CustomerRow) {
        self.w_key = self.w_key.max(display_width(&r.key));
        if let Some(d) = r.next_date {
            self.w_date = self.w_date.max(display_width(&self.t.date(d)));
        }
        if let Some(i) = CustomerStatus::ALL.iter().position(|s| *s == r.status) {
            self.counts[i] += 1;
        }
        self.rows.push(TextRow {
            key: r.key.as_str().into(),
            status: r.status,
            date: r.next_date,
            next: r.next.clone(),
        });
    }

    pub fn write(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        let t = self.t;
        let col = |key: &str| t.get(key).to_string();
        let (h_customer, h_status, h_date) = (
            col("apply_status.col.customer"),
            col("apply_status.col.status"),
            col("apply_status.col.date"),
        );
        let w_key = self.w_key.max(display_width(&h_customer)).max(8);
        // Every status's width, not only those shown: the table keeps its shape run to run.
        let w_status = CustomerStatus::ALL
            .iter()
            .map(|s| display_width(s.label(t)))
            .max()
            .unwrap_or(0)
            .max(display_width(&h_status));
        let rows_w_date = if self.rows.iter().any(|r| r.date.is_none()) {
            self.w_date.max(display_width("-"))
        } else {
            self.w_date
        };
        let w_date = rows_w_date.max(display_width(&h_date)).max(10);
        let mut buf = Vec::with_capacity(1 << 16);
        writeln!(
            buf,
            "{}  {}  {}  {}",
            pad(&h_customer, w_key),
            pad(&h_status, w_status),
            pad(&h_date, w_date),
            t.get("apply_status.col.next_step")
        )?;
        for r in &self.rows {
            let date = r.date.map(|d| t.date(d)).unwrap_or_else(|| "-".into());
            writeln!(
                buf,
                "{}  {}  {}  {}",
                pad(&r.key, w_key),
                pad(r.status.label(t), w_status),
                pad(&date, w_date),
                r.next.text(t)
            )?;
            if buf.len() >= 1 << 16 {
                out.write_all(&buf)?;
                buf.clear();
            }
        }
        let counts: Vec<(CustomerStatus, usize)> = CustomerStatus::ALL
            .iter()
            .copied()
            .zip(self.counts)
            .collect();
        writeln!(
            buf,
            "{}",
            t.fill(
                "apply_status.total",
                &[
                    ("count", &t.number(self.rows.len() as u64)),
                    ("statuses", &counts_text(&counts, t)),
                ],
            )
        )?;
        out.write_all(&buf)
    }
}

/// `scheduled 3, done 2` (statuses with no customer left out), or "none", in `t`'s
/// language: the count line of `status`, the `apply` summary and the execution report.
pub fn status_counts(rows: &[CustomerRow], t: &Texts) -> String {
    counts_text(&counts(rows), t)
}

fn counts_text(counts: &[(CustomerStatus, usize)], t: &Texts) -> String {
    let shown: Vec<String> = counts
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(s, n)| format!("{} {}", s.label(t), t.number(*n as u64)))
        .collect();
    if shown.is_empty() {
        t.get("apply_status.none").to_string()
    } else {
        shown.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::journal::Event;
    use crate::apply::testplan::plan_with;

    fn ev(customer: &str, action: Action, state: State) -> Event {
        Event::new(customer, action, state)
    }

    /// The `status` table in Korean and Japanese: headings, statuses, dates and next
    /// steps in the language, columns aligned by display width; English unchanged.
    #[test]
    fn the_status_table_follows_the_language_and_lines_up() {
        let plan = plan_with(1, 1, 0);
        let today = plan.as_of;
        let mut e = ev(
            &plan.customers[0].key,
            Action::Relationship,
            State::Succeeded,
        );
        e.tenant_id = Some("tid".into());
        let rows = rows(&plan, &[e], today, &[]);
        let en = render_text(&rows, Lang::En);
        let first = en.lines().next().unwrap();
        assert!(first.starts_with("customer "), "{en}");
        assert!(
            first.ends_with("  status               date        next step"),
            "{en}"
        );
        assert!(
            en.contains("  scheduled            2026-11-21  provision 1 line(s) on 2026-11-21\n"),
            "{en}"
        );
        assert!(
            en.ends_with("2 customers: awaiting_acceptance 1, scheduled 1\n"),
            "{en}"
        );
        for (lang, heading, status, step, total) in [
            (
                Lang::Ko,
                "다음 단계",
                "예약됨",
                "2026. 11. 21.에 구독 1개를 프로비전합니다",
                "고객 2곳: 수락 대기 1, 예약됨 1",
            ),
            (
                Lang::Ja,
                "次の手順",
                "予定済み",
                "2026/11/21 に 1 件のサブスクリプションをプロビジョニングします",
                "顧客 2 社: 承認待ち 1, 予定済み 1",
            ),
        ] {
            let text = render_text(&rows, lang);
            let lines: Vec<&str> = text.lines().collect();
            assert!(lines[0].ends_with(heading), "{text}");
            assert!(
                lines
                    .iter()
                    .any(|l| l.contains(status) && l.ends_with(step)),
                "{text}"
            );
            assert_eq!(lines[3], total, "{text}");
            // The next-step column starts at the same display column on every line.
            let starts: Vec<usize> = lines[..3]
                .iter()
                .map(|l| {
                    let last = l.rfind("  ").unwrap();
                    display_width(&l[..last + 2])
                })
                .collect();
            assert!(
                starts.windows(2).all(|w| w[0] == w[1]),
                "{text}\n{starts:?}"
            );
        }
    }

    /// `status --format json` as it streams is the document of all its rows at once,
    /// byte for byte: no customer, one, many with every status and moved users.
    #[test]
    fn the_streamed_status_json_is_the_whole_document() {
        let plan = plan_with(6, 2, 1);
        let today = plan.as_of;
        let mut events = Vec::new();
        let mut e = ev(
            &plan.customers[0].key,
            Action::Relationship,
            State::Succeeded,
        );
        e.tenant_id = Some("tid".into());
        events.push(e);
        let all = rows(&plan, &events, today, &[]);
        for n in [0, 1, all.len()] {
            let rows = &all[..n];
            let mut streamed = JsonRows::new().unwrap();
            for r in rows {
                streamed.push(r).unwrap();
            }
            let mut out = Vec::new();
            streamed.write("a \"journal\".jsonl", &mut out).unwrap();
            let want = json_document(rows, "a \"journal\".jsonl");
            assert_eq!(
                String::from_utf8(out).unwrap(),
                String::from_utf8(want).unwrap(),
                "{n} rows"
            );
        }
    }

    fn refusal(hint: &str) -> Box<ErrorRecord> {
        Box::new(ErrorRecord {
            kind: crate::apply::client::ErrorKind::Refused,
            ambiguous: false,
            call: "POST /v1/customers/x/carts".into(),
            status: Some(400),
            code: None,
            description: "bad offer".into(),
            request_id: None,
            hint: hint.into(),
            reason: None,
        })
    }

    #[test]
    fn every_next_step_has_a_text_in_every_language() {
        let d = NaiveDate::from_ymd_opt(2027, 1, 31).unwrap();
        let steps = [
            NextStep::Blocked(Note::Written("buy 1 more".into())),
            NextStep::Fix(refusal("check the offer")),
            NextStep::AcceptRelationship,
            NextStep::LetExpire {
                on: Some(d),
                auto_renew: true,
            },
            NextStep::LetExpire {
                on: Some(d),
                auto_renew: false,
            },
            NextStep::LetExpire {
                on: None,
                auto_renew: false,
            },
            NextStep::FinishReassign { users_moved: 1200 },
            NextStep::ReassignWhen(Note::Written("seats appear".into())),
            NextStep::Reassign,
            NextStep::ProvisionMore { lines: 2, on: d },
            NextStep::Provision { lines: 3, on: d },
        ];
        for lang in Lang::ALL {
            let t = texts(lang);
            let shown: Vec<String> = steps.iter().map(|s| s.text(t)).collect();
            for (step, text) in steps.iter().zip(&shown) {
                assert!(!text.contains('{'), "{lang:?} {step:?}: {text}");
            }
            // Each step reads differently from the others.
            let distinct: std::collections::BTreeSet<&String> = shown.iter().collect();
            assert_eq!(distinct.len(), shown.len(), "{lang:?}");
            assert!(shown[6].contains("1,200"), "{}", shown[6]);
            assert!(shown[3].contains(&t.date(d)), "{}", shown[3]);
        }
        assert_eq!(
            NextStep::Fix(refusal("check the offer")).text(texts(Lang::En)),
            "fix and re-run apply: check the offer"
        );
        assert_eq!(
            NextStep::Fix(refusal("")).text(texts(Lang::En)),
            "fix and re-run apply: bad offer"
        );
    }

    /// A block or a wait recorded as a reason reads in the reader's language; a note of a
    /// journal written before reasons existed reads as it was written.
    #[test]
    fn reasons_in_the_journal_follow_the_readers_language_and_old_notes_stay() {
        use crate::apply::reason::Reason;
        let plan = plan_with(0, 1, 0);
        let c = &plan.customers[0];
        let line = c.lines[0].id.clone();
        let mut accepted = ev(&c.key, Action::Relationship, State::Succeeded);
        accepted.tenant_id = Some("t".into());
        let mut prov = ev(&c.key, Action::Provision, State::Succeeded);
        prov.lines = vec![line.clone()];
        prov.order_id = Some("o1".into());
        let reason = Reason::SeatsShort {
            offer: "Microsoft 365 E3".into(),
            free: 2,
            users: 3,
        };
        let mut blocked = ev(&c.key, Action::Reassign, State::Blocked);
        blocked.lines = vec![line.clone()];
        blocked.note = Some(reason.english());
        blocked.reason = Some(Box::new(reason));
        // Through the journal's JSON, as `status` reads it.
        let events: Vec<Event> = [accepted, prov, blocked]
            .iter()
            .map(|e| serde_json::from_str(&serde_json::to_string(e).unwrap()).unwrap())
            .collect();
        let row = &rows(&plan, &events, plan.as_of, &[])[0];
        assert_eq!(row.status, CustomerStatus::Blocked);
        assert!(
            row.next_step
                .starts_with("2 seats of Microsoft 365 E3 for 3 users")
        );
        let ko = row.next.text(texts(Lang::Ko));
        assert!(
            ko.contains("Microsoft 365 E3") && ko.contains("1석 더 구매"),
            "{ko}"
        );
        let ja = row.next.text(texts(Lang::Ja));
        assert!(ja.contains("あと 1 シート購入"), "{ja}");

        // A journal line written before `reason`: its English note, in every language.
        let mut old = events.clone();
        let last: &mut Event = old.last_mut().unwrap();
        last.reason = None;
        last.note = Some("2 seats of X for 3 users: buy 1 more seat of X".into());
        let line = serde_json::to_string(last).unwrap();
        assert!(!line.contains("\"reason\""), "{line}");
        let row = &rows(&plan, &old, plan.as_of, &[])[0];
        assert_eq!(
            row.next.text(texts(Lang::Ja)),
            "2 seats of X for 3 users: buy 1 more seat of X"
        );
    }

    #[test]
    fn statuses_follow_the_journal() {
        let plan = plan_with(1, 1, 0);
        let today = plan.as_of;
        let c_same = &plan.customers[0];
        let c_re = &plan.customers[1];
        // Nothing yet: a customer planned as `request` awaits acceptance.
        let rows = rows(&plan, &[], today, &[]);
        assert_eq!(rows[0].status, CustomerStatus::AwaitingAcceptance);

        let mut events = vec![];
        for c in [c_same, c_re] {
            let mut e = ev(&c.key, Action::Relationship, State::Succeeded);
            e.tenant_id = Some(format!("tid-{}", c.key));
            events.push(e);
        }
        let r = super::rows(&plan, &events, today, &[]);
        assert_eq!(r[0].status, CustomerStatus::Scheduled);
        assert_eq!(r[0].waiting_on, WaitingOn::NextRun);

        for c in [c_same, c_re] {
            let mut e = ev(&c.key, Action::Provision, State::Succeeded);
            e.lines = c.lines.iter().map(|l| l.id.clone()).collect();
            e.order_id = Some(format!("o-{}", c.key));
            events.push(e);
        }
        let r = super::rows(&plan, &events, today, &[]);
        assert_eq!(r[0].status, CustomerStatus::Done);
        assert_eq!(r[0].waiting_on, WaitingOn::CustomerExpiry);
        assert_eq!(r[1].status, CustomerStatus::Provisioned);

        events.push(ev(&c_re.key, Action::LicenseUpdate, State::Succeeded));
        assert_eq!(
            super::rows(&plan, &events, today, &[])[1].status,
            CustomerStatus::Reassigning
        );
        let mut e = ev(&c_re.key, Action::Reassign, State::Succeeded);
        e.lines = vec![c_re.lines[0].id.clone()];
        events.push(e);
        let r = super::rows(&plan, &events, today, &[]);
        assert_eq!(r[1].status, CustomerStatus::Done);
        assert_eq!(r[1].users_moved, 1);
    }

    #[test]
    fn a_started_purchase_without_outcome_is_pending_and_a_failure_shows() {
        let plan = plan_with(1, 0, 0);
        let c = &plan.customers[0];
        let mut start = ev(&c.key, Action::Provision, State::Started);
        start.lines = vec![c.lines[0].id.clone()];
        start.request_id = Some("rid".into());
        let p = replay(std::slice::from_ref(&start));
        assert_eq!(p[&c.key].pending.len(), 1);

        let mut fail = ev(&c.key, Action::Provision, State::Failed);
        fail.lines = start.lines.clone();
        fail.error = Some(ErrorRecord {
            kind: crate::apply::client::ErrorKind::Refused,
            ambiguous: false,
            call: "POST /v1/customers/x/orders".into(),
            status: Some(400),
            code: Some("800004".into()),
            description: "bad offer".into(),
            request_id: Some("rid".into()),
            hint: "check the offer".into(),
            reason: None,
        });
        let mut events = vec![start, fail];
        // A success of another line of the same customer does not hide the failure.
        let mut other = ev(&c.key, Action::Provision, State::Succeeded);
        other.lines = vec!["c1-l9".into()];
        other.order_id = Some("o9".into());
        events.push(other);
        let p = replay(&events);
        assert!(p[&c.key].pending.is_empty());
        assert_eq!(p[&c.key].purchase_failures, 1);
        let r = rows(&plan, &events, plan.as_of, &[]);
        assert_eq!(r[0].status, CustomerStatus::Failed);
        assert!(r[0].next_step.contains("check the offer"));
    }

    #[test]
    fn a_partly_failed_checkout_settles_the_cart_and_keeps_only_the_open_lines_pending() {
        let plan = plan_with(1, 0, 0);
        let c = &plan.customers[0];
        let mut start = ev(&c.key, Action::Provision, State::Started);
        start.lines = vec!["a".into(), "b".into(), "d".into()];
        start.request_id = Some("rid".into());
        start.cart_id = Some("cart".into());
        let mut ok = ev(&c.key, Action::Provision, State::Succeeded);
        ok.lines = vec!["a".into()];
        ok.order_id = Some("o1".into());
        let mut failed = ev(&c.key, Action::Provision, State::Failed);
        failed.lines = vec!["b".into()];
        let mut open = ev(&c.key, Action::Provision, State::Ambiguous);
        open.lines = vec!["d".into()];
        open.request_id = Some("rid".into());
        open.cart_id = Some("cart".into());
        let p = &replay(&[start, ok, failed, open])[&c.key];
        assert_eq!(p.provisioned.get("a").map(String::as_str), Some("o1"));
        assert_eq!(p.pending.keys().collect::<Vec<_>>(), ["d"]);
        assert_eq!(p.pending["d"].cart_id.as_deref(), Some("cart"));
        assert_eq!(p.purchase_failures, 1);
    }

    #[test]
    fn the_status_view_of_a_customer_gives_the_same_row_as_the_customer() {
        let plan = plan_with(3, 2, 1);
        let mut events = vec![];
        for (i, c) in plan.customers.iter().enumerate() {
            if i % 2 == 0 {
                events.push(ev(&c.key, Action::Relationship, State::Succeeded));
            }
            if i % 3 == 0 {
                let mut e = ev(&c.key, Action::Provision, State::Succeeded);
                e.lines = vec![c.lines[0].id.clone()];
                e.order_id = Some(format!("o-{i}"));
                events.push(e);
            }
        }
        let progress = replay(&events);
        let mut texts = (TextTable::new(Lang::Ko), Vec::new());
        for c in &plan.customers {
            let json = serde_json::to_string(c).unwrap();
            let view: StatusCustomer = serde_json::from_str(&json).unwrap();
            let p = progress.get(&c.key);
            let (a, b) = (derive(c, p, plan.as_of), derive(&view, p, plan.as_of));
            assert_eq!(
                serde_json::to_value(&a).unwrap(),
                serde_json::to_value(&b).unwrap()
            );
            texts.0.push(&b);
            texts.1.push(a);
        }
        let mut gathered = Vec::new();
        texts.0.write(&mut gathered).unwrap();
        let text = render_text(&texts.1, Lang::Ko);
        assert_eq!(String::from_utf8(gathered).unwrap(), text);
        assert_eq!(text.lines().count(), plan.customers.len() + 2);
    }

    #[test]
    fn only_matches_key_id_or_domain() {
        let plan = plan_with(2, 0, 0);
        let c = &plan.customers[1];
        assert!(matches_only(c, &[c.domain.clone().unwrap().to_uppercase()]));
        assert!(matches_only(c, std::slice::from_ref(&c.key)));
        assert!(!matches_only(c, &["nobody.example".into()]));
    }

    #[test]
    fn one_users_failed_swap_is_not_hidden_by_another_users_success() {
        let plan = plan_with(0, 1, 0);
        let c = &plan.customers[0];
        let line = c.lines[0].id.clone();
        let mut prov = ev(&c.key, Action::Provision, State::Succeeded);
        prov.lines = vec![line.clone()];
        prov.order_id = Some("o1".into());
        let mut accepted = ev(&c.key, Action::Relationship, State::Succeeded);
        accepted.tenant_id = Some("t".into());
        let mut a = ev(&c.key, Action::LicenseUpdate, State::Ambiguous);
        a.user = Some("u-a".into());
        a.lines = vec![line.clone()];
        a.error = Some(ErrorRecord {
            kind: crate::apply::client::ErrorKind::Transient,
            ambiguous: true,
            call: "POST licenseupdates".into(),
            status: Some(503),
            code: None,
            description: "busy".into(),
            request_id: None,
            hint: String::new(),
            reason: None,
        });
        let mut b = ev(&c.key, Action::LicenseUpdate, State::Succeeded);
        b.user = Some("u-b".into());
        b.lines = vec![line.clone()];
        let mut events = vec![accepted, prov, a, b];
        let r = rows(&plan, &events, plan.as_of, &[]);
        assert_eq!(r[0].status, CustomerStatus::Failed);
        let mut done = ev(&c.key, Action::Reassign, State::Succeeded);
        done.lines = vec![line];
        events.push(done);
        assert_eq!(
            rows(&plan, &events, plan.as_of, &[])[0].status,
            CustomerStatus::Done
        );
    }
}

#[cfg(test)]
mod sizes {
    use super::*;

    /// `apply` keeps a `Progress` per customer and a `CustomerRow` per customer reported
    /// (284,770 customers on the 1M-line plan): a reason stored inline (up to six
    /// strings) made both about twice as large, 620 MB against 450 MB at the peak of
    /// that run. Reasons are boxed; these sizes keep it so.
    #[test]
    fn per_customer_state_stays_small() {
        use std::mem::size_of;
        assert_eq!(size_of::<Note>(), 24);
        assert!(
            size_of::<Progress>() <= 680,
            "Progress: {}",
            size_of::<Progress>()
        );
        assert!(
            size_of::<CustomerRow>() <= 384,
            "CustomerRow: {}",
            size_of::<CustomerRow>()
        );
    }
}
