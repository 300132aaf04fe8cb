//! Preflight (`cspmove doctor`, and the start of every `apply`): will a run get through?
//!
//! Checks, in order: the endpoint answers and takes the token; the token's kind (an
//! App+User token is needed for the relationship link and every licence call; an
//! app-only token is refused there with 403 `900329`); the MFA claim that Partner Center
//! requires on App+User calls since 2026 (the `ValidateMfa: true` header, answered with
//! `isMfaCompliant`; a 401 `900421` anywhere means the user did not sign in with MFA);
//! and, for `doctor` with a plan, per customer whose licences move, whether the partner
//! may read the tenant's users (a 403 names the GDAP roles to ask for).
//!
//! The main decision is what stops a run: only what would stop it anyway (no endpoint, a
//! refused token, no MFA, an app-only token), found before anything is bought. A missing
//! GDAP role stops nothing: it blocks that customer's licence moves, and the run says so
//! for that customer. Writing licences cannot be tested without changing one, so the
//! write role is named in the hint rather than checked.

use serde::Serialize;
use uuid::Uuid;

use super::client::{ApiError, Client, ErrorKind, Repeat};
use super::due;
use super::licenses::missing_role_note;
use crate::i18n::{Lang, display_width, pad, texts};
use crate::model::{LicenseAction, Plan};

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Ok,
    /// Worth knowing, does not stop a run.
    Warn,
    /// A run would stop, or a customer would be blocked.
    Fail,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Warn => "warn",
            Verdict::Fail => "FAIL",
        }
    }
}

/// One line of the preflight table.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// `endpoint`, `token`, `mfa`, `roles`.
    pub check: &'static str,
    /// What was checked: the endpoint, or a customer.
    pub subject: String,
    pub verdict: Verdict,
    pub detail: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub hint: String,
    /// Whether this failure stops a whole `apply` run (else it blocks one customer).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub stops_run: bool,
    /// The failed call in full (HTTP status, code, request ID), when one failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Check {
    fn ok(check: &'static str, subject: &str, detail: impl Into<String>) -> Check {
        Check {
            check,
            subject: subject.to_string(),
            verdict: Verdict::Ok,
            detail: detail.into(),
            hint: String::new(),
            stops_run: false,
            error: None,
        }
    }

    /// The failure as one sentence: the failed call when there is one, else the detail
    /// and the hint.
    pub fn error_text(&self) -> String {
        match &self.error {
            Some(e) if self.detail.is_empty() || e.contains(&self.hint) => e.clone(),
            Some(e) => format!("{} — {e}", self.detail),
            None => format!("{} — {}", self.detail, self.hint),
        }
    }

    fn failed(check: &'static str, subject: &str, e: &ApiError) -> Check {
        Check {
            check,
            subject: subject.to_string(),
            verdict: Verdict::Fail,
            detail: e.description.clone(),
            hint: e.hint.clone(),
            stops_run: e.is_fatal(),
            error: Some(e.to_string()),
        }
    }
}

/// Everything preflight found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Preflight {
    pub checks: Vec<Check>,
}

impl Preflight {
    /// The first failure that stops a run, if any.
    pub fn stopper(&self) -> Option<&Check> {
        self.checks
            .iter()
            .find(|c| c.verdict == Verdict::Fail && c.stops_run)
    }

    pub fn any_failed(&self) -> bool {
        self.checks.iter().any(|c| c.verdict == Verdict::Fail)
    }

    /// The table `cspmove doctor` prints, its headings and verdict line in `lang`
    /// (columns line up by display width). Details and hints are English: they come
    /// from the checks and from Partner Center's answers.
    pub fn render_text(&self, lang: Lang) -> String {
        let t = texts(lang);
        let heading = |key: &str| t.get(key).to_string();
        let (h_check, h_subject, h_result) = (
            heading("doctor.col.check"),
            heading("doctor.col.subject"),
            heading("doctor.col.result"),
        );
        let w_check = self
            .checks
            .iter()
            .map(|c| display_width(c.check))
            .max()
            .unwrap_or(0)
            .max(display_width(&h_check))
            .max(5);
        let w_subject = self
            .checks
            .iter()
            .map(|c| display_width(&c.subject))
            .max()
            .unwrap_or(0)
            .max(display_width(&h_subject))
            .clamp(7, 40);
        let w_result = display_width(&h_result).max(6);
        let mut out = format!(
            "{}  {}  {}  {}\n",
            pad(&h_check, w_check),
            pad(&h_subject, w_subject),
            pad(&h_result, w_result),
            t.get("doctor.col.detail")
        );
        for c in &self.checks {
            out.push_str(&format!(
                "{}  {}  {}  {}\n",
                pad(c.check, w_check),
                pad(&c.subject, w_subject),
                pad(c.verdict.as_str(), w_result),
                c.detail
            ));
            if !c.hint.is_empty() && c.verdict != Verdict::Ok {
                out.push_str(&format!(
                    "{}  {}  {}  → {}\n",
                    pad("", w_check),
                    pad("", w_subject),
                    pad("", w_result),
                    c.hint
                ));
            }
        }
        let failed = self
            .checks
            .iter()
            .filter(|c| c.verdict == Verdict::Fail)
            .count();
        let count = t.number(failed as u64);
        out.push_str(&match (failed, self.stopper()) {
            (0, _) => t.get("doctor.all_passed").to_string(),
            (_, Some(_)) => t.fill("doctor.failed_stop", &[("count", &count)]),
            (_, None) => t.fill("doctor.failed_blocked", &[("count", &count)]),
        });
        out.push('\n');
        out
    }
}

/// The failed MFA check: the partner user behind the token did not sign in with MFA
/// (partner-center-api.md §11), and every App+User call would be refused.
fn no_mfa(endpoint: &str, error: Option<String>) -> Check {
    Check {
        check: "mfa",
        subject: endpoint.to_string(),
        verdict: Verdict::Fail,
        detail: "the partner user did not sign in with multi-factor authentication: Partner Center refuses App+User calls from this token (401 900421)".into(),
        hint: "sign in with multi-factor authentication: consent again with MFA, then set the new CSPMOVE_REFRESH_TOKEN or CSPMOVE_TOKEN (docs/apply.md)".into(),
        stops_run: true,
        error,
    }
}

/// The endpoint, token-kind and MFA checks (3 calls). `apply` runs these at its start.
pub async fn token_checks(client: &Client, endpoint: &str) -> Preflight {
    let mut p = Preflight::default();
    // 1. The endpoint answers and takes the token (a read every token kind may make).
    match client.get("/v1/customers?size=1").await {
        Ok(_) => p.checks.push(Check::ok(
            "endpoint",
            endpoint,
            "answers, and accepts the token",
        )),
        Err(e) if e.kind == ErrorKind::Mfa => {
            // 401 900421: the endpoint answered and knows the token, whose user did not
            // sign in with MFA. Say that, under the check it belongs to.
            p.checks.push(Check::ok(
                "endpoint",
                endpoint,
                "answers (and refuses the token for want of MFA, below)",
            ));
            p.checks.push(no_mfa(endpoint, Some(e.to_string())));
            return p;
        }
        Err(e) => {
            // Without a customer list no run gets anywhere.
            let mut c = Check::failed("endpoint", endpoint, &e);
            c.stops_run = true;
            p.checks.push(c);
            return p;
        }
    }
    // 2. The token's kind: the relationship link is App+User only (§1).
    match client.get("/v1/customers/relationshiprequests").await {
        Ok(_) => p.checks.push(Check::ok(
            "token",
            endpoint,
            "App+User token (can fetch the relationship link and change licences)",
        )),
        Err(e) if e.kind == ErrorKind::UserOperations => {
            let mut c = Check::failed("token", endpoint, &e);
            c.detail = "an app-only token: it cannot do user operations (the relationship link, reading or changing licences)".into();
            c.hint = "use an App+User token (Secure Application Model: CSPMOVE_REFRESH_TOKEN with the app's ID and secret, or CSPMOVE_TOKEN); see docs/apply.md".into();
            c.error = None;
            p.checks.push(c);
            return p;
        }
        Err(e) => {
            p.checks.push(Check::failed("token", endpoint, &e));
            if e.is_fatal() {
                return p;
            }
        }
    }
    // 3. MFA: ask Partner Center to validate the token's MFA claim.
    let answer = client
        .call(
            reqwest::Method::GET,
            "/v1/customers?size=1",
            None,
            Uuid::new_v4(),
            Repeat::Safe,
            &[("ValidateMfa".to_string(), "true".to_string())],
        )
        .await;
    match answer {
        Ok(v) => match v.get("isMfaCompliant").and_then(serde_json::Value::as_bool) {
            Some(true) => p.checks.push(Check::ok(
                "mfa",
                endpoint,
                "the token carries the MFA claim",
            )),
            Some(false) => p.checks.push(no_mfa(endpoint, None)),
            None => p.checks.push(Check {
                check: "mfa",
                subject: endpoint.to_string(),
                verdict: Verdict::Warn,
                detail: "the endpoint did not say whether the token carries the MFA claim (no isMfaCompliant in the answer)".into(),
                hint: "if App+User calls fail with 401 900421, sign in with multi-factor authentication".into(),
                stops_run: false,
                error: None,
            }),
        },
        Err(e) => p.checks.push(Check::failed("mfa", endpoint, &e)),
    }
    p
}

/// Per customer whose licences move (and who has accepted), whether the partner may read
/// the tenant's users: one `GET …/users?size=1` each.
pub async fn role_checks(client: &Client, plan: &Plan, p: &mut Preflight) {
    let movers: Vec<_> = plan
        .customers
        .iter()
        .filter(|c| {
            c.lines
                .iter()
                .any(|l| l.license_action == LicenseAction::Reassign)
        })
        .collect();
    if movers.is_empty() {
        return;
    }
    let listed = match client.customers(|_| {}).await {
        Ok(l) => l,
        Err(e) => {
            p.checks.push(Check::failed("roles", "customer list", &e));
            return;
        }
    };
    for c in movers {
        let tenant = listed.iter().find(|pc| {
            c.customer_id
                .as_deref()
                .is_some_and(|id| id.eq_ignore_ascii_case(&pc.id))
                || (c.customer_id.is_none()
                    && c.domain
                        .as_deref()
                        .zip(pc.domain.as_deref())
                        .is_some_and(|(a, b)| a.eq_ignore_ascii_case(b)))
        });
        let Some(tenant) = tenant.filter(|t| due::is_guid(&t.id)) else {
            p.checks.push(Check {
                check: "roles",
                subject: c.key.clone(),
                verdict: Verdict::Warn,
                detail: "not in the partner's customer list yet (has not accepted): roles cannot be checked".into(),
                hint: String::new(),
                stops_run: false,
                error: None,
            });
            continue;
        };
        let path = format!(
            "/v1/customers/{}/users?size=1",
            super::client::seg(&tenant.id)
        );
        match client.get(&path).await {
            Ok(_) => p.checks.push(Check::ok(
                "roles",
                &c.key,
                "users can be read (licence changes need License Administrator or User Administrator)",
            )),
            Err(e) if e.is_missing_role() => p.checks.push(Check {
                check: "roles",
                subject: c.key.clone(),
                verdict: Verdict::Fail,
                detail: format!("HTTP 403 on {}: no GDAP role in this tenant", e.call),
                hint: missing_role_note(&e),
                stops_run: false,
                error: None,
            }),
            Err(e) => {
                let fatal = e.is_fatal();
                p.checks.push(Check::failed("roles", &c.key, &e));
                if fatal {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod table_tests {
    use super::*;

    fn report() -> Preflight {
        let mut failed = Check::ok("mfa", "https://api.example", "");
        failed.verdict = Verdict::Fail;
        failed.detail = "the token has no MFA claim".into();
        failed.hint = "sign in with MFA".into();
        failed.stops_run = true;
        Preflight {
            checks: vec![
                Check::ok("endpoint", "https://api.example", "answers"),
                failed,
            ],
        }
    }

    #[test]
    fn the_doctor_table_follows_the_language_and_lines_up() {
        let en = report().render_text(Lang::En);
        assert_eq!(
            en.lines().next().unwrap(),
            "check     subject              result  detail"
        );
        assert!(en.ends_with("1 checks failed: a run would stop; fix the first one above\n"));
        for (lang, heading, verdict) in [
            (Lang::Ko, "세부 정보", "검사 1개 실패: 실행이 중지됩니다"),
            (
                Lang::Ja,
                "詳細",
                "1 件のチェックに失敗しました: 実行は停止します",
            ),
        ] {
            let text = report().render_text(lang);
            let lines: Vec<&str> = text.lines().collect();
            assert!(lines[0].ends_with(heading), "{text}");
            assert!(lines.last().unwrap().starts_with(verdict), "{text}");
            // The detail column starts at one display column on the heading and rows.
            let at = |l: &str, word: &str| display_width(&l[..l.find(word).unwrap()]);
            assert_eq!(at(lines[0], heading), at(lines[1], "answers"), "{text}");
            assert_eq!(at(lines[0], heading), at(lines[2], "the token"), "{text}");
        }
        let passed = Preflight {
            checks: vec![Check::ok("endpoint", "x", "answers")],
        };
        assert!(
            passed
                .render_text(Lang::Ja)
                .ends_with("すべてのチェックに合格しました: 実行を開始できます\n")
        );
    }
}
