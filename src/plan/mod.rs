//! Planning: typed rows in, a deterministic [`crate::model::Plan`] out (DESIGN §5).
//!
//! Planning knows nothing of flags, files or terminals. It runs in parallel with rayon
//! on a pool of its own (sized by [`PlanOptions::threads`]) and keeps input order so
//! the same rows and `as_of` give the same plan for any thread count. The stages:
//!
//! 1. repeats of earlier rows are rejected ([`duplicates`]);
//! 2. each row gets its customer key (the lower-case `customer_id`; a row with only a
//!    domain joins the customer whose rows carry that domain with an ID, else the domain
//!    is the key) and rows are sorted by (key, input position) in parallel, so customers
//!    come out sorted by key and their lines in input order;
//! 3. every line is decided in parallel, customer by customer ([`rules::decide_line`],
//!    `CONFLICTING_CUSTOMER`), and the decisions are counted into the [`summary`];
//!    rejections are sorted by (input, row). This is [`prepare`]: the plan's head is
//!    now final;
//! 4. customers are built in parallel from their rows and decisions (line ids
//!    `c{n}-l{m}`, the [`tasks`] graph), either all at once as structs
//!    ([`Prepared::build`]) or a few at a time, written as JSON straight from the rows
//!    and decisions, without building them ([`Prepared::write_customers`]).
//!
//! Main decision: deciding every line before building any customer. The summary sits
//! before the customers in the plan file (DESIGN §6), so it must be known before the
//! first customer is written; with the decisions counted first, the plan file is
//! written front to back in one pass while only the customers in flight are held.
//! Rows are moved, not copied, into the plan's lines: at a million rows the strings of
//! the input are most of the memory the command uses.

pub mod duplicates;
pub mod json;

pub mod rules;
pub mod summary;
pub mod tasks;
pub mod write;

use foldhash::{HashMap, HashSet};
use std::borrow::Cow;
use std::io::Write;

use chrono::NaiveDate;
use rayon::prelude::*;

use crate::catalog::{Catalog, OfferMap};
use crate::input::{InputTable, SourceRow};
use crate::model::{
    Billing, Customer, InputInfo, Plan, RejectCode, Rejection, Relationship, SCHEMA, Term,
    WarningCode,
};
use crate::plan::rules::{
    Decision, LineDefaults, Resolver, decide_line, mark_shared_pools, materialise,
};
use crate::text::match_key as normalise;

/// Checked planning options.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    pub as_of: NaiveDate,
    pub lead_days: u32,
    /// Term of lines whose row names none (`--term`).
    pub term: Term,
    /// Billing of lines whose row names none (`--billing`).
    pub billing: Billing,
    /// Worker threads; `None` = one per core.
    pub threads: Option<usize>,
}

impl PlanOptions {
    /// Options with the defaults of DESIGN §2: `P1Y`, billed monthly, one thread per core.
    pub fn new(as_of: NaiveDate, lead_days: u32) -> PlanOptions {
        PlanOptions {
            as_of,
            lead_days,
            term: Term::P1Y,
            billing: Billing::Monthly,
            threads: None,
        }
    }

    fn line_defaults(&self) -> LineDefaults {
        LineDefaults {
            as_of: self.as_of,
            lead_days: self.lead_days,
            term: self.term,
            billing: self.billing,
        }
    }
}

/// The lookup tables of DESIGN §4: the catalog (the built-in one unless `--catalog`
/// extends it) and the optional offer map.
#[derive(Debug, Clone, Copy)]
pub struct Lookups<'a> {
    pub catalog: &'a Catalog,
    pub offer_map: Option<&'a OfferMap>,
}

impl Default for Lookups<'_> {
    /// The built-in catalog and no offer map.
    fn default() -> Self {
        Lookups {
            catalog: Catalog::builtin(),
            offer_map: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("cannot start the planning threads")]
    ThreadPool(#[from] rayon::ThreadPoolBuildError),
}

/// Plans the rows of `tables` (input index = position in `tables`) into a plan with
/// its customers as structs.
pub fn plan(
    tables: Vec<InputTable>,
    lookups: Lookups<'_>,
    options: &PlanOptions,
) -> Result<Plan, PlanError> {
    Ok(prepare(tables, lookups, options)?.build())
}

/// The rejection of a whole row (no one column to blame), with its input's index.
fn whole_row(
    inputs: &[InputInfo],
    r: &SourceRow,
    code: RejectCode,
    message: String,
) -> (usize, Rejection) {
    let rejection = Rejection {
        input: inputs[r.input].path.clone(),
        row: r.row,
        column: None,
        value: None,
        code,
        message,
    };
    (r.input, rejection)
}

/// CPU seconds the process has used so far (user + system, Linux `/proc/self/stat`, in
/// clock ticks of 10 ms), for `-vv` timings: against the wall time of a stage it shows
/// how busy the cores were.
pub fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces):
    // utime and stime are the 12th and 13th.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let ticks: u64 = after
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|f| f.parse::<u64>().ok())
        .sum();
    ticks as f64 / 100.0
}

/// The MB of the `fields` of Linux's `/proc/self/status` (`VmRSS:`, `VmHWM:`), "?" each
/// where there is none.
fn status_mb<const N: usize>(fields: [&str; N]) -> [String; N] {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    fields.map(|field| {
        status
            .lines()
            .find(|l| l.starts_with(field))
            .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            .map_or_else(|| "?".to_string(), |kb| (kb / 1024).to_string())
    })
}

/// The process's resident and peak memory (Linux `VmRSS`, `VmHWM`), for `-vv` timings.
fn memory() -> String {
    let [resident, peak] = status_mb(["VmRSS:", "VmHWM:"]);
    format!("resident {resident} MB, peak {peak} MB")
}

/// The process's peak resident memory so far (Linux `VmHWM`), for `-v` timings.
pub fn peak_memory() -> String {
    let [peak] = status_mb(["VmHWM:"]);
    format!("{peak} MB")
}

/// What the customer sort compares of a row's key before the key itself.
/// 32 bytes, a million of them at once.
struct SortKey {
    /// The key as a number when it is a GUID as the reader writes one (lower-case
    /// hex, hyphenated): hex digits order as their text does, and every such GUID has
    /// its hyphens at the same places, so two GUID keys order as their numbers.
    guid: u128,
    /// [`key_prefix`] of the key.
    prefix: u64,
    /// Position of the row.
    index: u32,
    /// Whether `guid` is the key's number.
    is_guid: bool,
}

impl SortKey {
    /// A row with no key (excluded, or neither ID nor domain); dropped before the sort.
    const NONE: SortKey = SortKey {
        guid: 0,
        prefix: 0,
        index: u32::MAX,
        is_guid: false,
    };

    fn new(key: &str, index: usize) -> SortKey {
        let guid = guid_number(key);
        SortKey {
            guid: guid.unwrap_or(0),
            prefix: key_prefix(key),
            index: u32::try_from(index)
                .ok()
                .filter(|&i| i != u32::MAX)
                .expect("an input of fewer than 4 billion rows"),
            is_guid: guid.is_some(),
        }
    }
}

/// `key` as a number when it is a lower-case hyphenated GUID (`8-4-4-4-12` hex digits).
fn guid_number(key: &str) -> Option<u128> {
    crate::input::GuidText::read(key)
        .filter(|g| g.is_lower())
        .map(|g| g.number())
}

/// The first 8 bytes of `key` as a big-endian number, zero-padded.
fn key_prefix(key: &str) -> u64 {
    let mut prefix = [0u8; 8];
    let n = key.len().min(8);
    prefix[..n].copy_from_slice(&key.as_bytes()[..n]);
    u64::from_be_bytes(prefix)
}

fn lower(s: &str) -> Cow<'_, str> {
    crate::text::lower(Cow::Borrowed(s))
}

fn upper(s: &str) -> Cow<'_, str> {
    crate::text::upper(Cow::Borrowed(s))
}

/// The customer key of a row (DESIGN §5); `None` when it has neither ID nor domain.
/// The reader trims every value and leaves empty cells absent (DESIGN §3), so the hot
/// paths here do not trim again.
fn key_of<'a>(row: &'a SourceRow, domain_ids: &'a HashMap<String, String>) -> Option<Cow<'a, str>> {
    if let Some(id) = row.customer_id().filter(|s| !s.is_empty()) {
        return Some(lower(id));
    }
    let domain = lower(row.domain()?);
    if domain.is_empty() {
        return None;
    }
    match domain_ids.get(domain.as_ref()) {
        Some(id) => Some(Cow::Borrowed(id)),
        None => Some(domain),
    }
}

/// Lower-case domain → lower-case customer ID of the rows (in input order) that carry
/// both, for the domains of rows that have no ID; and the domains that rows with two or
/// more different IDs carry: a row with only such a domain joins neither customer
/// (it is keyed by its domain and warned `CONFLICTING_CUSTOMER`), since joining the
/// first would let `--only` act on both.
fn domain_ids(rows: &[SourceRow], excluded: &[bool]) -> (HashMap<String, String>, HashSet<String>) {
    let has_id = |r: &SourceRow| r.customer_id().is_some_and(|s| !s.is_empty());
    let wanted: HashSet<String> = rows
        .par_iter()
        .zip(excluded.par_iter())
        .filter(|(r, ex)| !**ex && !has_id(r))
        .filter_map(|(r, _)| r.domain().map(|d| lower(d).into_owned()))
        .collect();
    let mut map: HashMap<String, String> = HashMap::default();
    let mut ambiguous: HashMap<String, Vec<String>> = HashMap::default();
    if wanted.is_empty() {
        return (map, HashSet::default());
    }
    let carriers: Vec<(String, String)> = rows
        .par_iter()
        .zip(excluded.par_iter())
        .filter(|(r, ex)| !**ex && has_id(r))
        .filter_map(|(r, _)| {
            let domain = lower(r.domain()?);
            wanted.contains(domain.as_ref()).then(|| {
                (
                    domain.into_owned(),
                    lower(r.customer_id().unwrap_or_default()).into_owned(),
                )
            })
        })
        .collect();
    for (domain, id) in carriers {
        match map.get(&domain) {
            None if !ambiguous.contains_key(&domain) => {
                map.insert(domain, id);
            }
            Some(first) if *first != id => {
                let first = map.remove(&domain).unwrap_or_default();
                ambiguous.insert(domain, vec![first, id]);
            }
            _ => {}
        }
    }
    let mut shown: Vec<(&String, &Vec<String>)> = ambiguous.iter().collect();
    shown.sort();
    for (domain, ids) in shown {
        tracing::warn!(
            "domain {domain:?} is carried by rows of two customer IDs ({} and {}): rows that give only this domain join neither and are planned as a customer of their own (CONFLICTING_CUSTOMER); fill in their customer ID",
            ids[0],
            ids[1]
        );
    }
    (map, ambiguous.into_keys().collect())
}

/// At most this many examples of a catalog warning are logged; the plan has them all.
const LOGGED_EXAMPLES: usize = 5;

/// Says on stderr what a line's warning code alone cannot: the candidates of each
/// ambiguous product name, and how many seats a reassignment lacks.
fn log_catalog_warnings(
    rows: &[SourceRow],
    order: &[usize],
    decisions: &[Decision],
    catalog: &Catalog,
    inputs: &[InputInfo],
) {
    use std::collections::BTreeMap;
    let mut ambiguous: BTreeMap<&str, u32> = BTreeMap::new();
    let mut short = Vec::new();
    let mut short_lines = 0u64;
    for (d, &i) in decisions.iter().zip(order) {
        let row = &rows[i];
        if d.warnings.contains(WarningCode::AmbiguousProduct) {
            if let crate::catalog::Resolution::Ambiguous(a) = d.current {
                ambiguous.insert(row.current_offer(), a);
            }
            if let (crate::catalog::Resolution::Ambiguous(a), Some(t)) =
                (d.target, row.target_offer())
            {
                ambiguous.insert(t, a);
            }
        }
        if d.warnings.contains(WarningCode::TargetSeatsBelowAssigned) {
            short_lines += 1;
            if short.len() < LOGGED_EXAMPLES {
                let target_seats = row.target_seats.unwrap_or(row.seats);
                let to_move = row.assigned.unwrap_or(row.seats);
                short.push(format!(
                    "{} row {}: {to_move} licences to reassign, {target_seats} target seats ({} more needed)",
                    inputs[row.input].path,
                    row.row,
                    to_move - target_seats
                ));
            }
        }
    }
    for (text, a) in ambiguous {
        let candidates: Vec<String> = catalog
            .ambiguity(a)
            .iter()
            .map(|&p| {
                let p = catalog.product(p);
                format!(
                    "{} ({})",
                    p.sku_part_number.as_deref().unwrap_or("?"),
                    p.sku_id.as_deref().unwrap_or("no skuId")
                )
            })
            .collect();
        tracing::warn!(
            "{text:?} names {} licences: {}; its lines carry AMBIGUOUS_PRODUCT: name the part number or skuId instead (or add the product with --catalog)",
            candidates.len(),
            candidates.join(", ")
        );
    }
    if short_lines > 0 {
        tracing::warn!(
            "{short_lines} lines have fewer target seats than licences to reassign (TARGET_SEATS_BELOW_ASSIGNED): {}{}",
            short.join("; "),
            if short_lines > short.len() as u64 {
                "; …"
            } else {
                ""
            }
        );
    }
}

/// Customers built and serialised per work item of [`Prepared::write_customers`].
const JSON_CHUNK: usize = 64;
/// Work items built while the previous ones are written.
const JSON_BATCH: usize = 32;

/// A plan with every line decided and counted but no customer built yet: its head
/// (inputs, summary) and rejections are final. [`Prepared::build`] builds the customers
/// as structs; [`Prepared::write_customers`] builds and serialises them a few at a time
/// and drops them, so a plan file can be written front to back without ever holding
/// all its customers, as structs or as JSON.
pub struct Prepared<'a> {
    pool: rayon::ThreadPool,
    decided: Decided<'a>,
}

/// What [`prepare`] works out, before any customer is built.
struct Decided<'a> {
    /// The plan without its customers.
    head: Plan,
    /// The rows in input order. [`Prepared::build`] takes each row (leaving it empty)
    /// when it builds its customer; [`Prepared::write_customers`] reads them in place.
    rows: Vec<SourceRow>,
    /// Indices into `rows`, customer after customer, each customer's rows in input
    /// order (rows of no customer, such as repeats, are not in it).
    order: Vec<usize>,
    /// Where each customer's rows end in `order`.
    ends: Vec<usize>,
    /// The decision for each row of `order`, at the same position.
    decisions: Vec<Decision>,
    domain_ids: HashMap<String, String>,
    catalog: &'a Catalog,
    options: PlanOptions,
}

/// Decides every line and counts the summary: stages 1–3 of the module docs. Stage 4,
/// building the customers, is [`Prepared::build`] or [`Prepared::write_customers`].
pub fn prepare<'a>(
    tables: Vec<InputTable>,
    lookups: Lookups<'a>,
    options: &PlanOptions,
) -> Result<Prepared<'a>, PlanError> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(options.threads.unwrap_or(0))
        .thread_name(|i| format!("cspmove-plan-{i}"))
        .build()?;
    let decided = pool.install(|| decide(tables, lookups, options));
    Ok(Prepared { pool, decided })
}

fn decide<'a>(tables: Vec<InputTable>, lookups: Lookups<'a>, options: &PlanOptions) -> Decided<'a> {
    let mut inputs = Vec::with_capacity(tables.len());
    let mut rejected: Vec<(usize, Rejection)> = Vec::new();
    let mut rows: Vec<SourceRow> = Vec::new();
    for (index, mut table) in tables.into_iter().enumerate() {
        inputs.push(table.info);
        rejected.extend(table.rejected.into_iter().map(|r| (index, r)));
        table.rows.par_iter_mut().for_each(|r| r.input = index);
        if rows.is_empty() {
            rows = table.rows;
        } else {
            rows.append(&mut table.rows);
        }
    }

    let clock = std::time::Instant::now();
    let lap = |stage: &str| {
        tracing::debug!(
            "plan stage {stage}: {:.3}s, cpu {:.2}s ({})",
            clock.elapsed().as_secs_f64(),
            cpu_seconds(),
            memory()
        )
    };

    // 1. Repeats.
    let mut excluded = vec![false; rows.len()];
    let mut repeated_rows = 0;
    for repeat in duplicates::find_repeats(&rows) {
        excluded[repeat.repeat] = true;
        let (r, o) = (&rows[repeat.repeat], &rows[repeat.original]);
        let (code, message) = match repeat.kind {
            duplicates::RepeatKind::Subscription => {
                repeated_rows += 1;
                continue;
            }
            duplicates::RepeatKind::Duplicate => (
                RejectCode::DuplicateRow,
                format!(
                    "repeats row {} of {} in every field; planning it too would order its seats twice",
                    o.row, inputs[o.input].path
                ),
            ),
            duplicates::RepeatKind::Conflict(fields) => (
                RejectCode::ConflictingSubscription,
                format!(
                    "subscription {} is also on row {} of {} with another {}: the rows disagree about one subscription and planning both would order its seats twice; keep one row per subscription, or make the rows agree",
                    r.subscription_id().unwrap_or_default(),
                    o.row,
                    inputs[o.input].path,
                    fields.join(", ")
                ),
            ),
        };
        rejected.push(whole_row(&inputs, r, code, message));
    }
    // A row that gives its term or its billing but not both takes the other from the
    // flags; the reader checked pairs given in the row, this the pairs with a flag.
    for (i, r) in rows.iter().enumerate() {
        if excluded[i] || (r.term.is_none() && r.billing.is_none()) {
            continue;
        }
        let (term, billing) = (
            r.term.unwrap_or(options.term),
            r.billing.unwrap_or(options.billing),
        );
        if !crate::model::sells(term, billing) {
            excluded[i] = true;
            let from = if r.term.is_none() {
                "--term"
            } else {
                "--billing"
            };
            let message = format!(
                "{} (the row's {} with {from}): give the row's {} too, or pass another {from}",
                crate::model::unsold_message(term, billing),
                if r.term.is_none() { "billing" } else { "term" },
                if r.term.is_none() { "term" } else { "billing" },
            );
            rejected.push(whole_row(&inputs, r, RejectCode::InvalidBilling, message));
        }
    }
    lap("duplicates");

    // 2. Customer keys, then one sort that gives customers in key order and each
    // customer's rows in input order.
    let (domain_ids, ambiguous_domains) = domain_ids(&rows, &excluded);
    // Sorted by the first 8 bytes of the key as a big-endian number first (zero-padded:
    // that orders like the strings wherever the prefixes differ), then, for two GUID
    // keys, by the GUID as a number, and only otherwise by the full key: most
    // comparisons are then integer compares instead of string compares, and the rows of
    // one customer (equal keys) are told apart without reading their keys. The keys are
    // not kept (24 MB at a million rows): the rare comparison that needs one makes it.
    // Collected from an exact-size `map` and filtered in place: rayon collects a
    // `filter_map` into pieces that are then joined, holding the keys twice.
    let mut sortable: Vec<SortKey> = rows
        .par_iter()
        .zip(excluded.par_iter())
        .enumerate()
        .map(|(i, (r, ex))| {
            (!*ex)
                .then(|| key_of(r, &domain_ids))
                .flatten()
                .map_or(SortKey::NONE, |k| SortKey::new(&k, i))
        })
        .collect();
    sortable.retain(|k| k.index != SortKey::NONE.index);
    let kept = excluded.iter().filter(|ex| !**ex).count();
    if sortable.len() < kept {
        // The reader rejects such rows already; this keeps the planner total.
        for (i, r) in rows.iter().enumerate() {
            if !excluded[i] && key_of(r, &domain_ids).is_none() {
                let message = "neither a customer ID nor a domain".to_string();
                rejected.push(whole_row(&inputs, r, RejectCode::MissingCustomer, message));
            }
        }
    }
    let key = |k: &SortKey| key_of(&rows[k.index as usize], &domain_ids);
    let same_key = |a: &SortKey, b: &SortKey| {
        a.prefix == b.prefix
            && match (a.is_guid, b.is_guid) {
                (true, true) => a.guid == b.guid,
                _ => key(a) == key(b),
            }
    };
    sortable.par_sort_unstable_by(|a, b| {
        a.prefix
            .cmp(&b.prefix)
            .then_with(|| match (a.is_guid, b.is_guid) {
                (true, true) => a.guid.cmp(&b.guid),
                _ => key(a).cmp(&key(b)),
            })
            .then(a.index.cmp(&b.index))
    });
    let ends: Vec<usize> = sortable
        .par_chunk_by(same_key)
        .map(<[SortKey]>::len)
        .collect::<Vec<_>>()
        .into_iter()
        .scan(0, |end, len| {
            *end += len;
            Some(*end)
        })
        .collect();
    let order: Vec<usize> = sortable.into_par_iter().map(|k| k.index as usize).collect();
    lap("customer keys and grouping");

    // 3. Every line decided, customer by customer (a line's country and
    // CONFLICTING_CUSTOMER depend on its customer's other rows), then counted.
    // Written in place, customer by customer: collecting per-customer vectors would
    // hold the decisions twice while they are concatenated (~70 MB at a million rows).
    let mut decisions: Vec<Decision> = vec![Decision::placeholder(options.as_of); order.len()];
    split(&mut decisions, &ends)
        .into_par_iter()
        .enumerate()
        .for_each_init(
            || Resolver::new(lookups.catalog, lookups.offer_map),
            |resolver, (c, out)| {
                let members = &order[range_of(&ends, c)];
                decide_customer(&rows, members, &ambiguous_domains, resolver, options, out);
            },
        );
    let mut summary = summary::count_decisions(&decisions);
    lap("lines decided and counted");
    log_catalog_warnings(&rows, &order, &decisions, lookups.catalog, &inputs);

    // The rest of the head: rejections in (input, row) order, and the counts.
    rejected.sort_by_key(|(input, r)| (*input, r.row));
    let rejected: Vec<Rejection> = rejected.into_iter().map(|(_, r)| r).collect();
    summary.customers = ends.len() as u64;
    summary.rejected_rows = rejected.len() as u64;
    summary.repeated_rows = repeated_rows;
    let head = Plan {
        schema: SCHEMA.to_string(),
        generated_by: crate::GENERATED_BY.to_string(),
        as_of: options.as_of,
        lead_days: options.lead_days,
        inputs,
        summary,
        customers: Vec::new(),
        rejected,
    };
    Decided {
        head,
        rows,
        order,
        ends,
        decisions,
        domain_ids,
        catalog: lookups.catalog,
        options: options.clone(),
    }
}

impl Prepared<'_> {
    /// The plan without its customers: inputs, summary and rejections are final.
    pub fn head(&self) -> &Plan {
        &self.decided.head
    }

    /// Builds every customer: the whole plan as structs.
    pub fn build(self) -> Plan {
        let Prepared { pool, mut decided } = self;
        let mut rows = std::mem::take(&mut decided.rows);
        let mut rows = decided.in_order(&mut rows);
        let customers: Vec<Customer> = pool.install(|| {
            split(&mut rows, &decided.ends)
                .into_par_iter()
                .enumerate()
                .map(|(c, rows)| decided.customer(c, rows))
                .collect()
        });
        let mut plan = decided.head;
        plan.customers = customers;
        plan
    }

    /// Builds the customers and writes each to `out` as a compact JSON object, in plan
    /// order, separated by `,\n` (no brackets); returns the plan without its customers.
    /// The bytes are those [`write::write_plan`] writes between the brackets of
    /// `"customers"` for the plan [`Prepared::build`] returns.
    pub fn write_customers(self, out: &mut (dyn Write + Send)) -> std::io::Result<Plan> {
        let Prepared { pool, decided } = self;
        let written = pool.install(|| {
            let decided = &decided;
            let mut customers = 0..decided.ends.len();
            let batches = std::iter::from_fn(|| {
                let start = customers.start;
                let batch = customers.by_ref().take(JSON_CHUNK * JSON_BATCH).count();
                (batch > 0).then_some(start..start + batch)
            });
            write::write_batches(out, batches, JSON_BATCH, |batch, buffers| {
                Ok(decided.serialise_batch(batch, buffers))
            })
        });
        tracing::debug!(
            "plan customers written: cpu {:.2}s ({})",
            cpu_seconds(),
            memory()
        );
        // The rows are handed back to the allocator on every thread at once.
        let Decided { head, rows, .. } = decided;
        pool.install(|| rows.into_par_iter().for_each(drop));
        tracing::debug!("plan rows freed: cpu {:.2}s", cpu_seconds());
        written?;
        Ok(head)
    }
}

/// The rows of customer `c` (0-based) in `rows`, given where each customer ends.
fn range_of(ends: &[usize], c: usize) -> std::ops::Range<usize> {
    let start = if c == 0 { 0 } else { ends[c - 1] };
    start..ends[c]
}

/// `items` cut into consecutive slices ending where `ends` says.
fn split<'s, T>(items: &'s mut [T], ends: &[usize]) -> Vec<&'s mut [T]> {
    let mut rest = items;
    let mut start = 0;
    let mut out = Vec::with_capacity(ends.len());
    for &end in ends {
        let (mine, tail) = std::mem::take(&mut rest).split_at_mut(end - start);
        out.push(mine);
        rest = tail;
        start = end;
    }
    out
}

impl Decided<'_> {
    /// This plan's rows (`rows`, in input order) as references in customer order: the
    /// rows stay where the reader put them and only 8-byte references are reordered, so
    /// each customer gets its rows as one slice to take them from.
    fn in_order<'r>(&self, rows: &'r mut [SourceRow]) -> Vec<&'r mut SourceRow> {
        let mut refs: Vec<Option<&mut SourceRow>> = rows.iter_mut().map(Some).collect();
        self.order
            .iter()
            .map(|&i| refs[i].take().expect("a row belongs to one customer"))
            .collect()
    }

    /// Builds and serialises the customers numbered `batch` (0-based) into `buffers`,
    /// one buffer per `JSON_CHUNK` customers; returns how many buffers it filled.
    fn serialise_batch(&self, batch: std::ops::Range<usize>, buffers: &mut [Vec<u8>]) -> usize {
        let chunks = batch.len().div_ceil(JSON_CHUNK);
        buffers[..chunks]
            .par_iter_mut()
            .enumerate()
            .for_each(|(k, buf)| {
                buf.clear();
                let start = batch.start + k * JSON_CHUNK;
                for c in start..(start + JSON_CHUNK).min(batch.end) {
                    if c > start {
                        buf.extend_from_slice(b",\n");
                    }
                    self.emit_customer(buf, c);
                }
            });
        chunks
    }

    /// Appends customer `c` (0-based) as JSON straight from its rows and decisions: the
    /// bytes [`json::write_customer`] writes for the customer [`Decided::customer`]
    /// builds, without building its lines and tasks (at a million rows that was some
    /// twenty million small strings and vectors made and freed). The rows stay where
    /// the reader put them and are read through `order`.
    fn emit_customer(&self, out: &mut Vec<u8>, c: usize) {
        let no = c + 1;
        let range = range_of(&self.ends, c);
        let decisions = &self.decisions[range.clone()];
        let rows = || self.order[range.clone()].iter().map(|&i| &self.rows[i]);
        let first = |f: fn(&SourceRow) -> Option<&str>| first_of(rows(), f);
        let key = rows()
            .next()
            .and_then(|r| key_of(r, &self.domain_ids))
            .unwrap_or_default();
        let customer_id = first(SourceRow::customer_id).map(lower);
        let domain = first(SourceRow::domain).map(lower);
        let country = first(SourceRow::country).map(upper);
        let relationship = if rows().any(|r| r.relationship_accepted == Some(true)) {
            Relationship::Accepted
        } else {
            Relationship::Request
        };
        let head = json::CustomerHead {
            key: &key,
            customer_id: customer_id.as_deref(),
            domain: domain.as_deref(),
            name: first(SourceRow::customer_name),
            contact_email: first(SourceRow::contact_email),
            country: country.as_deref(),
            relationship,
        };
        let mut task_lines = Vec::with_capacity(range.len());
        json::write_customer_start(out, &head);
        out.push(b'[');
        for (m, (row, decision)) in rows().zip(decisions).enumerate() {
            if m > 0 {
                out.push(b',');
            }
            let facts = rules::line_facts(row, decision, self.catalog);
            task_lines.push(tasks::TaskLine {
                row: facts.row,
                provision_on: facts.provision_on,
                expires_on: facts.expires_on,
                auto_renew: facts.auto_renew,
                reassign: facts.license_action == crate::model::LicenseAction::Reassign,
            });
            json::write_line_facts(out, json::Id::Item(no, b'l', m + 1), &facts);
        }
        out.push(b']');
        json::write_customer_tasks(out);
        let plan = tasks::plan_tasks(relationship, &task_lines, self.options.as_of);
        out.push(b'[');
        for (m, task) in plan.iter().enumerate() {
            if m > 0 {
                out.push(b',');
            }
            json::write_task_plan(out, no, m, task, &task_lines);
        }
        out.extend_from_slice(b"]}");
    }

    /// Builds customer `c` (0-based) from its rows, taking them.
    fn customer(&self, c: usize, rows: &mut [&mut SourceRow]) -> Customer {
        let rows: Vec<SourceRow> = rows.iter_mut().map(|r| std::mem::take(&mut **r)).collect();
        build_customer(
            c + 1,
            rows,
            &self.decisions[range_of(&self.ends, c)],
            &self.domain_ids,
            self.catalog,
            &self.options,
        )
    }
}

/// The first non-empty value of a field among `rows`. The reader trims every value
/// and leaves empty cells absent (DESIGN §3), so values are not trimmed again here.
fn first_of<'r>(
    rows: impl IntoIterator<Item = &'r SourceRow>,
    field: fn(&SourceRow) -> Option<&str>,
) -> Option<&'r str> {
    rows.into_iter().filter_map(field).find(|s| !s.is_empty())
}

/// Decides the lines of one customer, whose rows are `rows[i]` for `i` in `members`
/// (in input order), into `decisions` (one per member).
fn decide_customer<'a>(
    rows: &[SourceRow],
    members: &[usize],
    ambiguous_domains: &HashSet<String>,
    resolver: &mut Resolver<'a>,
    options: &PlanOptions,
    decisions: &mut [Decision],
) {
    let rows = || members.iter().map(|&i| &rows[i]);
    let country = first_of(rows(), SourceRow::country).map(str::to_uppercase);
    let domain = first_of(rows(), SourceRow::domain).map(str::to_lowercase);

    // CONFLICTING_CUSTOMER on the rows whose name or domain disagrees with the first
    // one given. Names compare normalised (case, spaces, punctuation, width): "Contoso
    // Ltd." and "CONTOSO LTD" are one company; domains compare case-insensitively.
    let first_name = rows().find_map(|r| r.customer_name().filter(|s| !s.is_empty()));
    let first_name_norm = first_name.map(normalise);
    for (r, out) in rows().zip(decisions.iter_mut()) {
        *out = {
            let name_differs = r.customer_name().is_some_and(|n| {
                !n.is_empty() && Some(n) != first_name && Some(normalise(n)) != first_name_norm
            });
            let domain_differs = r.domain().is_some_and(|d| {
                !d.is_empty() && domain.as_deref().is_some_and(|first| lower(d) != first)
            });
            // Catalog lookups compare countries case-insensitively; no copy needed.
            let line_country = r.country().or(country.as_deref());
            let mut decision = decide_line(r, line_country, resolver, &options.line_defaults());
            // A row with only a domain that two customer IDs carry.
            let ambiguous = !ambiguous_domains.is_empty()
                && r.customer_id().is_none_or(str::is_empty)
                && r.domain()
                    .is_some_and(|d| ambiguous_domains.contains(lower(d).as_ref()));
            if name_differs || domain_differs || ambiguous {
                decision.warnings.insert(WarningCode::ConflictingCustomer);
            }
            decision
        };
    }
    mark_shared_pools(decisions);
}

/// Builds customer number `no` (1-based) from its rows, in input order, and their
/// decisions.
fn build_customer(
    no: usize,
    rows: Vec<SourceRow>,
    decisions: &[Decision],
    domain_ids: &HashMap<String, String>,
    catalog: &Catalog,
    options: &PlanOptions,
) -> Customer {
    let key = rows
        .first()
        .and_then(|r| key_of(r, domain_ids))
        .map(Cow::into_owned)
        .unwrap_or_default();
    let first = |f: fn(&SourceRow) -> Option<&str>| first_of(&rows, f);
    let customer_id = first(SourceRow::customer_id).map(str::to_lowercase);
    let domain = first(SourceRow::domain).map(str::to_lowercase);
    let name = first(SourceRow::customer_name).map(str::to_string);
    let contact_email = first(SourceRow::contact_email).map(str::to_string);
    let country = first(SourceRow::country).map(str::to_uppercase);
    let relationship = if rows.iter().any(|r| r.relationship_accepted == Some(true)) {
        Relationship::Accepted
    } else {
        Relationship::Request
    };
    let lines: Vec<_> = rows
        .into_iter()
        .zip(decisions)
        .enumerate()
        .map(|(m, (row, decision))| {
            let mut line = materialise(&row, decision, catalog);
            line.id = tasks::item_id(no, 'l', m + 1);
            line
        })
        .collect();
    let tasks = tasks::build_tasks(no, relationship, &lines, options.as_of);
    Customer {
        key,
        customer_id,
        domain,
        name,
        contact_email,
        country,
        relationship,
        lines,
        tasks,
    }
}

#[cfg(test)]
mod tests;
