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

use super::client::{ApiError, Client, ErrorKind, Repeat, hint_keys};
use super::due;
use super::licenses::missing_role;
use super::reason::Reason;
use crate::i18n::{Lang, Texts, display_width, pad, texts};
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

    /// The verdict as the table shows it in the language of `t` (English shows the code).
    pub fn label(self, t: &Texts) -> &str {
        t.get(match self {
            Verdict::Ok => "doctor.verdict.ok",
            Verdict::Warn => "doctor.verdict.warn",
            Verdict::Fail => "doctor.verdict.fail",
        })
    }
}

/// A check's name as the table shows it in the language of `t` (`check` is the code JSON
/// keeps; English shows it as it is).
fn check_label<'t>(check: &'static str, t: &'t Texts) -> &'t str {
    match check {
        "endpoint" => t.get("doctor.check.endpoint"),
        "token" => t.get("doctor.check.token"),
        "mfa" => t.get("doctor.check.mfa"),
        "roles" => t.get("doctor.check.roles"),
        other => other,
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
    /// The i18n keys of `detail` and `hint` when they are cspmove's own words (not
    /// Partner Center's), so the table can say them in its language; `detail` and
    /// `hint` hold them in English (JSON, and `apply`'s messages).
    #[serde(skip)]
    words: Words,
}

/// The i18n keys (and placeholder values) of a check's own subject, detail and hint.
#[derive(Debug, Clone, Default)]
struct Words {
    subject: Option<&'static str>,
    detail: Option<(&'static str, Vec<(&'static str, String)>)>,
    hint: Option<Hint>,
}

/// A check's own hint: a fixed text, or a reason with its values.
#[derive(Debug, Clone)]
enum Hint {
    Key(&'static str),
    Reason(Reason),
}

impl Check {
    #[cfg(test)]
    fn ok(check: &'static str, subject: &str, detail: impl Into<String>) -> Check {
        Check {
            check,
            subject: subject.to_string(),
            verdict: Verdict::Ok,
            detail: detail.into(),
            hint: String::new(),
            stops_run: false,
            error: None,
            words: Words::default(),
        }
    }

    /// A check whose detail (and hint) are cspmove's words: the i18n key `detail` filled
    /// with `values`, and the key `hint`; kept in English in `detail` and `hint`.
    fn said(
        check: &'static str,
        subject: &str,
        verdict: Verdict,
        detail: &'static str,
        values: &[(&'static str, &str)],
        hint: Option<&'static str>,
    ) -> Check {
        let values: Vec<(&'static str, String)> =
            values.iter().map(|(n, v)| (*n, v.to_string())).collect();
        let mut c = Check {
            check,
            subject: subject.to_string(),
            verdict,
            detail: String::new(),
            hint: String::new(),
            stops_run: false,
            error: None,
            words: Words {
                subject: None,
                detail: Some((detail, values)),
                hint: hint.map(Hint::Key),
            },
        };
        let en = texts(Lang::En);
        c.detail = c.detail_in(en);
        c.hint = c.hint_in(en);
        c
    }

    /// `detail` in the language of `t` (as it is when it came from Partner Center).
    fn detail_in(&self, t: &Texts) -> String {
        match &self.words.detail {
            Some((key, values)) => {
                let values: Vec<(&str, &str)> =
                    values.iter().map(|(n, v)| (*n, v.as_str())).collect();
                t.fill(key, &values)
            }
            None => self.detail.clone(),
        }
    }

    /// `hint` in the language of `t`: the check's own, or the hint cspmove gives for the
    /// failed call's code or status.
    fn hint_in(&self, t: &Texts) -> String {
        match &self.words.hint {
            Some(Hint::Key(key)) => t.get(key).to_string(),
            Some(Hint::Reason(reason)) => reason.text(t),
            None => self.hint.clone(),
        }
    }

    /// `subject` in the language of `t` (an endpoint or a customer stays as it is).
    fn subject_in(&self, t: &Texts) -> String {
        match self.words.subject {
            Some(key) => t.get(key).to_string(),
            None => self.subject.clone(),
        }
    }

    /// The hint is `reason`, said in the reader's language (in English in `hint`).
    fn with_hint(mut self, reason: Reason) -> Check {
        self.hint = reason.english();
        self.words.hint = Some(Hint::Reason(reason));
        self
    }

    /// The line `apply` prints on stderr for a check that warns, in `lang`: the check's
    /// own words, or Partner Center's as they came.
    pub fn warning_text(&self, lang: Lang) -> String {
        let t = texts(lang);
        let detail = self.detail_in(t);
        let hint = self.hint_in(t);
        if hint.is_empty() {
            t.fill(
                "preflight.warning_no_hint",
                &[("check", check_label(self.check, t)), ("detail", &detail)],
            )
        } else {
            t.fill(
                "preflight.warning",
                &[
                    ("check", check_label(self.check, t)),
                    ("detail", &detail),
                    ("hint", &hint),
                ],
            )
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
        // The hint for the call's code or status is cspmove's: the table says it in its
        // language. Partner Center's description stays as it came.
        let hint = hint_keys(e.status, e.code.as_deref(), e.kind)
            .into_iter()
            .find(|key| texts(Lang::En).get(key) == e.hint && !e.hint.is_empty())
            .map(Hint::Key);
        Check {
            check,
            subject: subject.to_string(),
            verdict: Verdict::Fail,
            detail: e.description.clone(),
            hint: e.hint.clone(),
            stops_run: e.is_fatal(),
            error: Some(e.to_string()),
            words: Words {
                hint,
                ..Words::default()
            },
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

    /// The table `cspmove doctor` prints, in `lang` (columns line up by display width):
    /// headings, verdict line, and the checks' own details and hints; what came from
    /// Partner Center's answers (descriptions, hints of failed calls) stays as it came.
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
            .map(|c| display_width(check_label(c.check, t)))
            .max()
            .unwrap_or(0)
            .max(display_width(&h_check))
            .max(5);
        let w_subject = self
            .checks
            .iter()
            .map(|c| display_width(&c.subject_in(t)))
            .max()
            .unwrap_or(0)
            .max(display_width(&h_subject))
            .clamp(7, 40);
        let w_result = [Verdict::Ok, Verdict::Warn, Verdict::Fail]
            .iter()
            .map(|v| display_width(v.label(t)))
            .max()
            .unwrap_or(0)
            .max(display_width(&h_result))
            .max(6);
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
                pad(check_label(c.check, t), w_check),
                pad(&c.subject_in(t), w_subject),
                pad(c.verdict.label(t), w_result),
                c.detail_in(t)
            ));
            if !c.hint.is_empty() && c.verdict != Verdict::Ok {
                out.push_str(&format!(
                    "{}  {}  {}  → {}\n",
                    pad("", w_check),
                    pad("", w_subject),
                    pad("", w_result),
                    c.hint_in(t)
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
    let mut c = Check::said(
        "mfa",
        endpoint,
        Verdict::Fail,
        "preflight.no_mfa",
        &[],
        Some("preflight.no_mfa_hint"),
    );
    c.stops_run = true;
    c.error = error;
    c
}

/// The endpoint, token-kind and MFA checks (3 calls). `apply` runs these at its start.
pub async fn token_checks(client: &Client, endpoint: &str) -> Preflight {
    let mut p = Preflight::default();
    // 1. The endpoint answers and takes the token (a read every token kind may make).
    match client.get("/v1/customers?size=1").await {
        Ok(_) => p.checks.push(Check::said(
            "endpoint",
            endpoint,
            Verdict::Ok,
            "preflight.endpoint_ok",
            &[],
            None,
        )),
        Err(e) if e.kind == ErrorKind::Mfa => {
            // 401 900421: the endpoint answered and knows the token, whose user did not
            // sign in with MFA. Say that, under the check it belongs to.
            p.checks.push(Check::said(
                "endpoint",
                endpoint,
                Verdict::Ok,
                "preflight.endpoint_mfa",
                &[],
                None,
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
        Ok(_) => p.checks.push(Check::said(
            "token",
            endpoint,
            Verdict::Ok,
            "preflight.app_user_token",
            &[],
            None,
        )),
        Err(e) if e.kind == ErrorKind::UserOperations => {
            let mut c = Check::said(
                "token",
                endpoint,
                Verdict::Fail,
                "preflight.app_only_token",
                &[],
                Some("preflight.app_only_token_hint"),
            );
            c.stops_run = e.is_fatal();
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
            Some(true) => p.checks.push(Check::said(
                "mfa",
                endpoint,
                Verdict::Ok,
                "preflight.mfa_ok",
                &[],
                None,
            )),
            Some(false) => p.checks.push(no_mfa(endpoint, None)),
            None => p.checks.push(Check::said(
                "mfa",
                endpoint,
                Verdict::Warn,
                "preflight.mfa_unknown",
                &[],
                Some("preflight.mfa_unknown_hint"),
            )),
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
            // The subject is cspmove's word for the sweep (English in JSON).
            let mut check = Check::failed("roles", "customer list", &e);
            check.words.subject = Some("preflight.subject.customer_list");
            p.checks.push(check);
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
            p.checks.push(Check::said(
                "roles",
                &c.key,
                Verdict::Warn,
                "preflight.not_accepted",
                &[],
                None,
            ));
            continue;
        };
        let path = format!(
            "/v1/customers/{}/users?size=1",
            super::client::seg(&tenant.id)
        );
        match client.get(&path).await {
            Ok(_) => p.checks.push(Check::said(
                "roles",
                &c.key,
                Verdict::Ok,
                "preflight.users_readable",
                &[],
                None,
            )),
            Err(e) if e.is_missing_role() => {
                // The roles to ask for, as the run's journal says them.
                let check = Check::said(
                    "roles",
                    &c.key,
                    Verdict::Fail,
                    "preflight.no_role",
                    &[("call", &e.call)],
                    None,
                )
                .with_hint(missing_role(&e));
                p.checks.push(check);
            }
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

    #[test]
    fn the_roles_hint_and_the_customer_list_subject_follow_the_language() {
        let e = ApiError {
            kind: ErrorKind::Refused,
            ambiguous: false,
            call: "GET /v1/customers/t/users?size=1".into(),
            status: Some(403),
            code: None,
            description: "Forbidden".into(),
            request_id: None,
            hint: String::new(),
        };
        let role = Check::said(
            "roles",
            "c1",
            Verdict::Fail,
            "preflight.no_role",
            &[("call", &e.call)],
            None,
        )
        .with_hint(missing_role(&e));
        let mut list = Check::failed("roles", "customer list", &e);
        list.words.subject = Some("preflight.subject.customer_list");
        let report = Preflight {
            checks: vec![role, list],
        };
        let json = serde_json::to_string(&report).unwrap();
        assert!(json.contains("\"subject\":\"customer list\""), "{json}");
        assert!(
            json.contains("Ask the customer to approve a GDAP relationship"),
            "{json}"
        );
        let ko = report.render_text(Lang::Ko);
        assert!(
            ko.contains("→ Partner Center가 GET /v1/customers/t/users?size=1을(를) 거부했습니다"),
            "{ko}"
        );
        assert!(ko.contains("디렉터리 읽기 권한자"), "{ko}");
        assert!(ko.contains("고객 목록"), "{ko}");
        assert!(!ko.contains("customer list"), "{ko}");
        let ja = report.render_text(Lang::Ja);
        assert!(ja.contains("顧客一覧"), "{ja}");
        // Check names and verdicts follow the table's language; JSON keeps the codes.
        assert!(ko.contains("GDAP 역할") && ko.contains("실패"), "{ko}");
        assert!(!ko.contains("FAIL") && !ko.contains("roles"), "{ko}");
        assert!(json.contains("\"check\":\"roles\"") && json.contains("\"verdict\":\"fail\""));
        assert!(ja.contains("ディレクトリ閲覧者"), "{ja}");
    }

    #[test]
    fn the_warning_apply_prints_follows_the_language() {
        let warn = Check::said(
            "mfa",
            "https://api.example",
            Verdict::Warn,
            "preflight.mfa_unknown",
            &[],
            Some("preflight.mfa_unknown_hint"),
        );
        assert_eq!(
            warn.warning_text(Lang::En),
            "warning: mfa: the endpoint did not say whether the token carries the MFA claim \
             (no isMfaCompliant in the answer) (if App+User calls fail with 401 900421, sign in \
             with multi-factor authentication)"
        );
        let ko = warn.warning_text(Lang::Ko);
        assert!(ko.starts_with("경고: MFA: 엔드포인트가"), "{ko}");
        assert!(ko.contains("다단계 인증으로 로그인하세요"), "{ko}");
        let ja = warn.warning_text(Lang::Ja);
        assert!(ja.starts_with("警告: MFA: "), "{ja}");
        assert!(!ja.contains("the endpoint"), "{ja}");
        // Partner Center's words pass through; no empty brackets without a hint.
        let mut plain = Check::ok("roles", "c1", "as Partner Center said it");
        plain.verdict = Verdict::Warn;
        assert_eq!(
            plain.warning_text(Lang::Ja),
            "警告: GDAP ロール: as Partner Center said it"
        );
    }

    #[test]
    fn the_checks_own_words_follow_the_language_and_stay_english_in_json() {
        let report = Preflight {
            checks: vec![
                Check::said(
                    "endpoint",
                    "https://api.example",
                    Verdict::Ok,
                    "preflight.endpoint_ok",
                    &[],
                    None,
                ),
                no_mfa("https://api.example", None),
            ],
        };
        assert_eq!(report.checks[0].detail, "answers, and accepts the token");
        assert!(
            report.checks[1]
                .hint
                .starts_with("sign in with multi-factor")
        );
        let json = serde_json::to_string(&report).unwrap();
        assert!(json.contains("the partner user did not sign in"), "{json}");
        let en = report.render_text(Lang::En);
        assert!(en.contains("answers, and accepts the token\n"), "{en}");
        let ko = report.render_text(Lang::Ko);
        assert!(ko.contains("응답하며 토큰을 받아들입니다"), "{ko}");
        assert!(ko.contains("→ 다단계 인증으로 로그인하세요"), "{ko}");
        assert!(ko.contains("(401 900421)"), "{ko}");
        let ja = report.render_text(Lang::Ja);
        assert!(ja.contains("応答し、トークンを受け入れます"), "{ja}");
        assert!(ja.contains("多要素認証でサインインしていません"), "{ja}");
    }
}
