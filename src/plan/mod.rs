//! Planning: typed rows in, a deterministic [`model::Plan`] out (DESIGN §5).
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
//! 3. customers are built in parallel: the [`rules`] per line, `CONFLICTING_CUSTOMER`,
//!    line ids `c{n}-l{m}` and the [`tasks`] graph;
//! 4. the [`summary`] is counted, and rejections are sorted by (input, row).
//!
//! Rows are moved, not copied, into the plan's lines: at a million rows the strings of
//! the input are most of the memory the command uses.

pub mod catalog;
pub mod duplicates;
pub mod model;
pub mod offer;
pub mod rules;
pub mod summary;
pub mod tasks;
pub mod write;

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::sync::{Mutex, PoisonError};

use chrono::NaiveDate;
use rayon::prelude::*;

use crate::input::{InputTable, SourceRow};
use crate::plan::catalog::{Catalog, OfferMap};
use crate::plan::model::{
    Customer, Plan, RejectCode, Rejection, Relationship, SCHEMA, Summary, WarningCode,
};
use crate::plan::offer::normalise;
use crate::plan::rules::{Resolver, evaluate_line};

/// Checked planning options.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    pub as_of: NaiveDate,
    pub lead_days: u32,
    /// Worker threads; `None` = one per core.
    pub threads: Option<usize>,
}

impl PlanOptions {
    pub fn new(as_of: NaiveDate, lead_days: u32) -> PlanOptions {
        PlanOptions {
            as_of,
            lead_days,
            threads: None,
        }
    }
}

/// The lookup tables of DESIGN §4, both optional.
#[derive(Debug, Clone, Copy, Default)]
pub struct Lookups<'a> {
    pub catalog: Option<&'a Catalog>,
    pub offer_map: Option<&'a OfferMap>,
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("cannot start the planning threads: {0}")]
    ThreadPool(#[from] rayon::ThreadPoolBuildError),
    #[error("cannot write the planned customers: {0}")]
    Write(#[from] std::io::Error),
}

/// Plans the rows of `tables` (input index = position in `tables`).
pub fn plan(
    tables: Vec<InputTable>,
    lookups: Lookups<'_>,
    options: &PlanOptions,
) -> Result<Plan, PlanError> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(options.threads.unwrap_or(0))
        .thread_name(|i| format!("cspmove-plan-{i}"))
        .build()?;
    let plan = pool.install(|| plan_in_pool(tables, lookups, options, Output::Customers));
    Ok(plan.expect("planning into structs does no I/O"))
}

/// Like [`plan`], but writes each customer to `customers_out` as soon as it is built
/// and drops it: the customers as compact JSON objects in plan order, separated by
/// `,\n` (no brackets). The plan returned has no customers (its summary counts them
/// all); [`write::write_json_plan_file`] puts the two together into the same bytes
/// [`write::write_plan_file`] writes for the plan [`plan`] returns. `cspmove plan`
/// uses it when no report needs the customers as structs: a million lines held as
/// structs were most of its memory, and the serialising runs on the planning threads
/// while each customer is still in cache.
pub fn plan_json(
    tables: Vec<InputTable>,
    lookups: Lookups<'_>,
    options: &PlanOptions,
    customers_out: &mut (dyn Write + Send),
) -> Result<Plan, PlanError> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(options.threads.unwrap_or(0))
        .thread_name(|i| format!("cspmove-plan-{i}"))
        .build()?;
    Ok(pool.install(|| plan_in_pool(tables, lookups, options, Output::Json(customers_out)))?)
}

/// The first 8 bytes of `key` as a big-endian number, zero-padded.
fn key_prefix(key: &str) -> u64 {
    let mut prefix = [0u8; 8];
    let n = key.len().min(8);
    prefix[..n].copy_from_slice(&key.as_bytes()[..n]);
    u64::from_be_bytes(prefix)
}

fn lower(s: &str) -> Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase() || !b.is_ascii()) {
        Cow::Owned(s.to_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

/// The customer key of a row (DESIGN §5); `None` when it has neither ID nor domain.
/// The reader trims every value and leaves empty cells absent (DESIGN §3), so the hot
/// paths here do not trim again.
fn key_of<'a>(row: &'a SourceRow, domain_ids: &'a HashMap<String, String>) -> Option<Cow<'a, str>> {
    if let Some(id) = row.customer_id.as_deref().filter(|s| !s.is_empty()) {
        return Some(lower(id));
    }
    let domain = lower(row.domain.as_deref()?);
    if domain.is_empty() {
        return None;
    }
    match domain_ids.get(domain.as_ref()) {
        Some(id) => Some(Cow::Borrowed(id)),
        None => Some(domain),
    }
}

/// Lower-case domain → lower-case customer ID of the first row (in input order) that
/// carries both, for the domains of rows that have no ID.
fn domain_ids(rows: &[SourceRow], excluded: &[bool]) -> HashMap<String, String> {
    let has_id = |r: &SourceRow| r.customer_id.as_deref().is_some_and(|s| !s.is_empty());
    let wanted: HashSet<String> = rows
        .par_iter()
        .zip(excluded.par_iter())
        .filter(|(r, ex)| !**ex && !has_id(r))
        .filter_map(|(r, _)| r.domain.as_deref().map(|d| lower(d).into_owned()))
        .collect();
    let mut map = HashMap::new();
    if wanted.is_empty() {
        return map;
    }
    let carriers: Vec<(String, String)> = rows
        .par_iter()
        .zip(excluded.par_iter())
        .filter(|(r, ex)| !**ex && has_id(r))
        .filter_map(|(r, _)| {
            let domain = lower(r.domain.as_deref()?);
            wanted.contains(domain.as_ref()).then(|| {
                (
                    domain.into_owned(),
                    lower(r.customer_id.as_deref().unwrap_or_default()).into_owned(),
                )
            })
        })
        .collect();
    for (domain, id) in carriers {
        map.entry(domain).or_insert(id);
    }
    map
}

/// Customers serialised per work item of [`plan_json`].
const JSON_CHUNK: usize = 64;
/// Work items built while the previous ones are written.
const JSON_BATCH: usize = 32;

/// What [`plan_in_pool`] hands back besides the plan's head and rejections.
enum Output<'w> {
    /// The customers as structs, in `Plan::customers`.
    Customers,
    /// The customers as JSON objects separated by `,\n`, written here;
    /// `Plan::customers` stays empty.
    Json(&'w mut (dyn Write + Send)),
}

fn plan_in_pool(
    tables: Vec<InputTable>,
    lookups: Lookups<'_>,
    options: &PlanOptions,
    output: Output<'_>,
) -> std::io::Result<Plan> {
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
    let lap =
        |stage: &str| tracing::debug!("plan stage {stage}: {:.3}s", clock.elapsed().as_secs_f64());

    // 1. Repeats.
    let mut excluded = vec![false; rows.len()];
    for (repeat, original) in duplicates::find_duplicates(&rows) {
        excluded[repeat] = true;
        let (r, o) = (&rows[repeat], &rows[original]);
        rejected.push((
            r.input,
            Rejection {
                input: inputs[r.input].path.clone(),
                row: r.row,
                column: None,
                value: None,
                code: RejectCode::DuplicateRow,
                message: format!(
                    "repeats row {} of {} in every field; planning it too would order its seats twice",
                    o.row, inputs[o.input].path
                ),
            },
        ));
    }

    lap("duplicates");

    // 2. Customer keys, then one sort that gives customers in key order and each
    // customer's rows in input order.
    let domain_ids = domain_ids(&rows, &excluded);
    let keys: Vec<Option<Cow<'_, str>>> = rows
        .par_iter()
        .zip(excluded.par_iter())
        .map(|(r, ex)| if *ex { None } else { key_of(r, &domain_ids) })
        .collect();
    for (i, r) in rows.iter().enumerate() {
        // The reader rejects such rows already; this keeps the planner total.
        if !excluded[i] && keys[i].is_none() {
            rejected.push((
                r.input,
                Rejection {
                    input: inputs[r.input].path.clone(),
                    row: r.row,
                    column: None,
                    value: None,
                    code: RejectCode::MissingCustomer,
                    message: "neither a customer ID nor a domain".to_string(),
                },
            ));
        }
    }
    // Sorted by the first 8 bytes of the key as a big-endian number first (zero-padded:
    // that orders like the strings wherever the prefixes differ), the full key only on a
    // tie: most comparisons are then one integer compare instead of a string compare.
    let mut sortable: Vec<(u64, usize)> = keys
        .par_iter()
        .enumerate()
        .filter_map(|(i, k)| k.as_deref().map(|k| (key_prefix(k), i)))
        .collect();
    sortable.par_sort_unstable_by(|&(pa, a), &(pb, b)| {
        pa.cmp(&pb)
            .then_with(|| keys[a].cmp(&keys[b]))
            .then(a.cmp(&b))
    });
    let order: Vec<usize> = sortable.into_par_iter().map(|(_, i)| i).collect();
    let groups: Vec<&[usize]> = order.par_chunk_by(|&a, &b| keys[a] == keys[b]).collect();
    drop(keys);
    lap("customer keys and grouping");

    // 3. Customers, each taking its rows by value. Each row is boxed so that the
    // memory of a row goes back to the allocator as soon as its customer is built,
    // rather than all rows staying in one big buffer until the last customer is done:
    // at a million rows that buffer alone is some 300 MB.
    let slots: Vec<Mutex<Option<Box<SourceRow>>>> = rows
        .into_par_iter()
        .map(|r| Mutex::new(Some(Box::new(r))))
        .collect();
    lap("rows handed over");
    let take_rows = |members: &[usize]| -> Vec<SourceRow> {
        members
            .iter()
            .filter_map(|&i| {
                slots[i]
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .take()
                    .map(|row| *row)
            })
            .collect()
    };
    let (customers, mut summary) = match output {
        Output::Customers => {
            let customers: Vec<Customer> = groups
                .par_iter()
                .enumerate()
                .map_init(
                    || Resolver::new(lookups.catalog, lookups.offer_map),
                    |resolver, (c, members)| {
                        build_customer(c + 1, take_rows(members), &domain_ids, resolver, options)
                    },
                )
                .collect();
            let summary = summary::summarize(&customers, 0);
            (customers, summary)
        }
        Output::Json(out) => {
            // Each work item builds `JSON_CHUNK` customers, serialises them, counts
            // them for the summary and drops them: only the customers in flight are
            // ever held, as structs or as JSON. A batch of work items is written out
            // while the next batch is built, in plan order.
            let build_batch = |(b, batch): (usize, &[&[usize]])| -> Vec<(Vec<u8>, Summary)> {
                batch
                    .par_chunks(JSON_CHUNK)
                    .enumerate()
                    .map_init(
                        || Resolver::new(lookups.catalog, lookups.offer_map),
                        |resolver, (k, chunk)| {
                            let first = b * JSON_CHUNK * JSON_BATCH + k * JSON_CHUNK + 1;
                            let customers: Vec<Customer> = chunk
                                .iter()
                                .enumerate()
                                .map(|(j, members)| {
                                    let rows = take_rows(members);
                                    build_customer(first + j, rows, &domain_ids, resolver, options)
                                })
                                .collect();
                            let mut buf = Vec::with_capacity(customers.len() * 4096);
                            for (i, customer) in customers.iter().enumerate() {
                                if i > 0 {
                                    buf.extend_from_slice(b",\n");
                                }
                                serde_json::to_writer(&mut buf, customer)
                                    .expect("a customer always serialises to JSON");
                            }
                            (buf, summary::count_lines(&customers))
                        },
                    )
                    .collect()
            };
            let mut summary = Summary::default();
            let mut batches = groups.chunks(JSON_CHUNK * JSON_BATCH).enumerate();
            let mut ready = batches.next().map(build_batch).unwrap_or_default();
            let mut first = true;
            while !ready.is_empty() {
                let next = batches.next();
                let (written, built) = rayon::join(
                    || -> std::io::Result<Summary> {
                        let mut counted = Summary::default();
                        for (buf, s) in ready.drain(..) {
                            if !first {
                                out.write_all(b",\n")?;
                            }
                            first = false;
                            out.write_all(&buf)?;
                            counted = summary::merge(counted, s);
                        }
                        Ok(counted)
                    },
                    || next.map(build_batch).unwrap_or_default(),
                );
                summary = summary::merge(summary, written?);
                ready = built;
            }
            (Vec::new(), summary)
        }
    };
    drop(slots);
    lap("customers, lines and tasks");

    // 4. Summary and rejections.
    rejected.sort_by_key(|(input, r)| (*input, r.row));
    let rejected: Vec<Rejection> = rejected.into_iter().map(|(_, r)| r).collect();
    summary.customers = groups.len() as u64;
    summary.rejected_rows = rejected.len() as u64;
    lap("summary");
    let plan = Plan {
        schema: SCHEMA.to_string(),
        generated_by: crate::GENERATED_BY.to_string(),
        as_of: options.as_of,
        lead_days: options.lead_days,
        inputs,
        summary,
        customers,
        rejected,
    };
    Ok(plan)
}

/// Builds customer number `no` (1-based) from its rows, in input order.
fn build_customer(
    no: usize,
    rows: Vec<SourceRow>,
    domain_ids: &HashMap<String, String>,
    resolver: &mut Resolver<'_>,
    options: &PlanOptions,
) -> Customer {
    let key = rows
        .first()
        .and_then(|r| key_of(r, domain_ids))
        .map(Cow::into_owned)
        .unwrap_or_default();
    let first = |f: fn(&SourceRow) -> Option<&String>| {
        rows.iter()
            .filter_map(f)
            .map(|s| s.trim())
            .find(|s| !s.is_empty())
            .map(str::to_string)
    };
    let customer_id = first(|r| r.customer_id.as_ref()).map(|s| s.to_lowercase());
    let domain = first(|r| r.domain.as_ref()).map(|s| s.to_lowercase());
    let name = first(|r| r.customer_name.as_ref());
    let contact_email = first(|r| r.contact_email.as_ref());
    let country = first(|r| r.country.as_ref()).map(|s| s.to_uppercase());
    let relationship = if rows.iter().any(|r| r.relationship_accepted == Some(true)) {
        Relationship::Accepted
    } else {
        Relationship::Request
    };

    // CONFLICTING_CUSTOMER on the rows whose name or domain disagrees with the first
    // one given. Names compare normalised (case, spaces, punctuation, width): "Contoso
    // Ltd." and "CONTOSO LTD" are one company; domains compare case-insensitively.
    let first_name = rows
        .iter()
        .find_map(|r| r.customer_name.as_deref().filter(|s| !s.is_empty()));
    let first_name_norm = first_name.map(normalise);
    let conflicts: Vec<bool> = rows
        .iter()
        .map(|r| {
            let name_differs = r.customer_name.as_deref().is_some_and(|n| {
                !n.is_empty() && Some(n) != first_name && Some(normalise(n)) != first_name_norm
            });
            let domain_differs = r.domain.as_deref().is_some_and(|d| {
                !d.is_empty() && domain.as_deref().is_some_and(|first| lower(d) != first)
            });
            name_differs || domain_differs
        })
        .collect();

    let lines: Vec<_> = rows
        .into_iter()
        .zip(conflicts)
        .enumerate()
        .map(|(m, (mut row, conflict))| {
            // Catalog lookups compare countries case-insensitively; no copy needed.
            let row_country = row.country.take();
            let line_country = row_country.as_deref().or(country.as_deref());
            let mut line = evaluate_line(
                row,
                line_country,
                resolver,
                options.as_of,
                options.lead_days,
            );
            line.id = format!("c{no}-l{}", m + 1);
            if conflict {
                line.warnings.push(WarningCode::ConflictingCustomer);
                line.warnings.sort_unstable();
            }
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
