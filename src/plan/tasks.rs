//! The task graph of one customer (DESIGN §5, docs/planning.md "Tasks").
//!
//! The main decision is the shape of the graph, chosen so that `apply` can walk it in
//! order and every dependency points to an earlier task:
//!
//! - `request_relationship` (once, unless accepted): due `as_of`, covers every line;
//! - `provision`: one per distinct `provision_on` of the customer (one order per day),
//!   due that day, depending on `request_relationship`;
//! - `disable_auto_renew`: one per line with auto-renew on, due the provisioning day but
//!   never later than the day before the original ends, nor before `as_of`; it depends on
//!   nothing, since turning auto-renew off does not stop the running subscription;
//! - `reassign_licenses`: one per reassign line, due its `provision_on`, depending on the
//!   provision task of the line (the new seats must exist first);
//! - `let_expire`: one per line, due `expires_on` (never before `provision_on`),
//!   depending on the line's provision task and, for reassign lines, its
//!   `reassign_licenses` task.
//!
//! Tasks are ordered by due date, then kind (in [`TaskKind`]'s order), then the
//! position of their first line, and numbered `c{n}-t{m}` in that order.

use chrono::NaiveDate;

use crate::model::{LicenseAction, Line, Relationship, Task, TaskKind};
use crate::plan::rules::{disable_auto_renew_due, let_expire_due};

/// Which lines a task covers. Kept allocation-free: at a million lines the task graph
/// is built some 2.5 million times over, so tasks name their lines by position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Covers {
    /// Every line of the customer (`request_relationship`).
    All,
    /// Every line provisioned on that day (`provision`).
    ProvisionedOn(NaiveDate),
    /// One line.
    Line(usize),
}

/// What the task graph needs of a line: the same for a [`Line`] and for a line that is
/// written straight from its row and decision (`plan::emit`), so both get one graph.
#[derive(Clone, Copy, Debug)]
pub struct TaskLine {
    pub row: u64,
    pub provision_on: NaiveDate,
    pub expires_on: Option<NaiveDate>,
    pub auto_renew: Option<bool>,
    pub reassign: bool,
}

impl TaskLine {
    pub fn of(line: &Line) -> TaskLine {
        TaskLine {
            row: line.row,
            provision_on: line.provision_on,
            expires_on: line.expires_on,
            auto_renew: line.auto_renew,
            reassign: line.license_action == LicenseAction::Reassign,
        }
    }
}

/// One task of a customer's graph, in task order: task `m` (0-based) is `c{n}-t{m+1}`.
#[derive(Clone, Copy, Debug)]
pub struct TaskPlan {
    pub kind: TaskKind,
    pub due: NaiveDate,
    pub covers: Covers,
    /// Up to two earlier tasks (by position) this one depends on.
    pub depends_on: [Option<usize>; 2],
}

impl TaskPlan {
    /// Positions of the lines this task covers, in line order.
    pub fn lines<'l>(&self, lines: &'l [TaskLine]) -> impl Iterator<Item = usize> + 'l {
        let covers = self.covers;
        (0..lines.len()).filter(move |&i| match covers {
            Covers::All => true,
            Covers::ProvisionedOn(day) => lines[i].provision_on == day,
            Covers::Line(l) => i == l,
        })
    }
}

struct Draft {
    kind: TaskKind,
    due: NaiveDate,
    covers: Covers,
    /// Up to two other drafts this one depends on.
    depends_on: [Option<usize>; 2],
    /// Position of the first line covered, to order tasks of one kind and day.
    first_line: usize,
}

/// The id of line or task `n` of customer `customer` (`kind` `l` or `t`), such as
/// `c12-t3`: what `format!("c{customer}-{kind}{n}")` gives, without the formatting
/// machinery (a million-line plan has some five million ids).
pub fn item_id(customer: usize, kind: char, n: usize) -> String {
    let mut numbers = (itoa::Buffer::new(), itoa::Buffer::new());
    let (customer, n) = (numbers.0.format(customer), numbers.1.format(n));
    let mut id = String::with_capacity(3 + customer.len() + n.len());
    id.push('c');
    id.push_str(customer);
    id.push('-');
    id.push(kind);
    id.push_str(n);
    id
}

/// Builds the tasks of customer number `customer_no` (1-based) from its lines (whose ids
/// are already set).
pub fn build_tasks(
    customer_no: usize,
    relationship: Relationship,
    lines: &[Line],
    as_of: NaiveDate,
) -> Vec<Task> {
    let facts: Vec<TaskLine> = lines.iter().map(TaskLine::of).collect();
    plan_tasks(relationship, &facts, as_of)
        .iter()
        .enumerate()
        .map(|(m, task)| {
            let (line_rows, line_ids) = task
                .lines(&facts)
                .map(|i| (lines[i].row, lines[i].id.clone()))
                .unzip();
            Task {
                id: item_id(customer_no, 't', m + 1),
                kind: task.kind,
                due: task.due,
                depends_on: task
                    .depends_on
                    .iter()
                    .flatten()
                    .map(|&dep| item_id(customer_no, 't', dep + 1))
                    .collect(),
                line_rows,
                line_ids,
            }
        })
        .collect()
}

/// The task graph of a customer's lines, in task order (module docs).
pub fn plan_tasks(
    relationship: Relationship,
    lines: &[TaskLine],
    as_of: NaiveDate,
) -> Vec<TaskPlan> {
    let mut drafts: Vec<Draft> = Vec::with_capacity(lines.len() * 3 + 1);
    let request = (relationship == Relationship::Request).then(|| {
        drafts.push(Draft {
            kind: TaskKind::RequestRelationship,
            due: as_of,
            covers: Covers::All,
            depends_on: [None, None],
            first_line: 0,
        });
        drafts.len() - 1
    });

    // One provision task per day; a customer has a handful of lines, so a linear
    // search beats a map.
    let mut provision_of_line: Vec<usize> = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        let earlier = (0..i).find(|&j| lines[j].provision_on == line.provision_on);
        let draft = match earlier {
            Some(j) => provision_of_line[j],
            None => {
                drafts.push(Draft {
                    kind: TaskKind::Provision,
                    due: line.provision_on,
                    covers: Covers::ProvisionedOn(line.provision_on),
                    depends_on: [request, None],
                    first_line: i,
                });
                drafts.len() - 1
            }
        };
        provision_of_line.push(draft);
    }

    for (i, line) in lines.iter().enumerate() {
        let provision = provision_of_line[i];
        if line.auto_renew == Some(true) {
            drafts.push(Draft {
                kind: TaskKind::DisableAutoRenew,
                due: disable_auto_renew_due(line.provision_on, line.expires_on, as_of),
                covers: Covers::Line(i),
                depends_on: [None, None],
                first_line: i,
            });
        }
        let mut reassign = None;
        if line.reassign {
            drafts.push(Draft {
                kind: TaskKind::ReassignLicenses,
                due: line.provision_on,
                covers: Covers::Line(i),
                depends_on: [Some(provision), None],
                first_line: i,
            });
            reassign = Some(drafts.len() - 1);
        }
        drafts.push(Draft {
            kind: TaskKind::LetExpire,
            due: let_expire_due(line.provision_on, line.expires_on),
            covers: Covers::Line(i),
            depends_on: [Some(provision), reassign],
            first_line: i,
        });
    }

    let mut order: Vec<usize> = (0..drafts.len()).collect();
    order.sort_unstable_by_key(|&d| (drafts[d].due, drafts[d].kind, drafts[d].first_line, d));
    // Position of each draft in the result; dependencies always come earlier.
    let mut position = vec![usize::MAX; drafts.len()];
    for (p, &d) in order.iter().enumerate() {
        position[d] = p;
    }
    order
        .iter()
        .map(|&d| {
            let draft = &drafts[d];
            TaskPlan {
                kind: draft.kind,
                due: draft.due,
                covers: draft.covers,
                depends_on: draft.depends_on.map(|dep| dep.map(|dep| position[dep])),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::rules::tests::{d, defaults, row};
    use crate::plan::rules::{Resolver, evaluate_line};

    #[test]
    fn ids_are_what_format_writes() {
        for (c, k, n) in [
            (1, 'l', 1),
            (12, 't', 3),
            (284_770, 't', 10),
            (usize::MAX, 'l', 0),
        ] {
            assert_eq!(item_id(c, k, n), format!("c{c}-{k}{n}"));
        }
    }

    fn line(n: u64, expires: Option<&str>, auto_renew: bool, target: Option<&str>) -> Line {
        let mut r = row(n, "c", "Office 365 E3", 10);
        r.expires_on = expires.map(d);
        r.auto_renew = Some(auto_renew);
        r.target_offer = target.map(str::to_string);
        let mut resolver = Resolver::new(crate::catalog::Catalog::builtin(), None);
        let mut l = evaluate_line(
            &crate::input::SourceRow::from(r),
            None,
            &mut resolver,
            &defaults(),
        );
        l.id = format!("c1-l{}", n);
        l
    }

    fn kinds(tasks: &[Task]) -> Vec<(TaskKind, String, Vec<String>, Vec<u64>)> {
        tasks
            .iter()
            .map(|t| {
                (
                    t.kind,
                    t.due.to_string(),
                    t.depends_on.clone(),
                    t.line_rows.clone(),
                )
            })
            .collect()
    }

    #[test]
    fn graph_of_a_customer_with_two_dates_a_reassignment_and_auto_renew() {
        let lines = vec![
            line(1, Some("2027-01-31"), true, None),
            line(2, Some("2027-01-31"), false, Some("Microsoft 365 E3")),
            line(3, None, false, None),
        ];
        let tasks = build_tasks(1, Relationship::Request, &lines, d("2026-11-21"));
        let s = |x: &str| x.to_string();
        assert_eq!(
            kinds(&tasks),
            vec![
                (
                    TaskKind::RequestRelationship,
                    s("2026-11-21"),
                    vec![],
                    vec![1, 2, 3]
                ),
                (
                    TaskKind::Provision,
                    s("2026-11-21"),
                    vec![s("c1-t1")],
                    vec![3]
                ),
                (
                    TaskKind::LetExpire,
                    s("2026-11-21"),
                    vec![s("c1-t2")],
                    vec![3]
                ),
                (
                    TaskKind::Provision,
                    s("2027-01-24"),
                    vec![s("c1-t1")],
                    vec![1, 2]
                ),
                (TaskKind::DisableAutoRenew, s("2027-01-24"), vec![], vec![1]),
                (
                    TaskKind::ReassignLicenses,
                    s("2027-01-24"),
                    vec![s("c1-t4")],
                    vec![2]
                ),
                (
                    TaskKind::LetExpire,
                    s("2027-01-31"),
                    vec![s("c1-t4")],
                    vec![1]
                ),
                (
                    TaskKind::LetExpire,
                    s("2027-01-31"),
                    vec![s("c1-t4"), s("c1-t6")],
                    vec![2]
                ),
            ]
        );
        let ids: Vec<&str> = tasks.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "c1-t1", "c1-t2", "c1-t3", "c1-t4", "c1-t5", "c1-t6", "c1-t7", "c1-t8"
            ]
        );
        assert_eq!(tasks[5].line_ids, vec!["c1-l2".to_string()]);
    }

    #[test]
    fn accepted_relationship_has_no_request_task() {
        let lines = vec![line(1, Some("2027-01-31"), false, None)];
        let tasks = build_tasks(7, Relationship::Accepted, &lines, d("2026-11-21"));
        assert_eq!(tasks.len(), 2);
        assert_eq!(tasks[0].kind, TaskKind::Provision);
        assert!(tasks[0].depends_on.is_empty());
        assert_eq!(tasks[0].id, "c7-t1");
        assert_eq!(tasks[1].depends_on, vec!["c7-t1".to_string()]);
    }

    #[test]
    fn dependencies_always_point_backwards() {
        let lines = vec![
            line(1, Some("2026-11-22"), true, Some("X")),
            line(2, Some("2026-10-01"), true, Some("Y")),
            line(3, Some("2028-05-05"), true, None),
        ];
        let tasks = build_tasks(1, Relationship::Request, &lines, d("2026-11-21"));
        for (i, t) in tasks.iter().enumerate() {
            for dep in &t.depends_on {
                let j = tasks.iter().position(|x| &x.id == dep).unwrap();
                assert!(j < i, "{} depends on later {}", t.id, dep);
                assert!(tasks[j].due <= t.due);
            }
        }
    }
}
