//! The one error type of the apply layer, [`ApplyError`], and why a run stopped early,
//! [`StopReason`].
//!
//! The finer errors stay where they arise and keep their own facts: [`ApiError`] (one
//! failed call: HTTP status, Partner Center's code, request ID, hint), [`AuthError`],
//! [`CredentialsError`], [`EndpointError`], [`JournalError`], [`ExecReportError`] and
//! [`WriteError`] (each names its file or URL). `ApplyError` gathers them, plus what only
//! a run as a whole can say (the `--only` that matches nobody, the preflight that stops
//! a run, a run that stopped), so that the binary maps one type to exit codes. The main
//! decision is that every variant's text says only its own part and leaves its cause to
//! [`std::error::Error::source`]: printed with its chain (`{:#}` in the binary, or
//! [`chain_text`]), each cause is named once.

use super::auth::{AuthError, CredentialsError};
use super::client::ApiError;
use super::exec_report::ExecReportError;
use super::http::EndpointError;
use super::journal::JournalError;
use crate::fsx::WriteError;

/// Why `apply`, `doctor` or `catalog fetch` could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// `--endpoint` (or `CSPMOVE_AUTHORITY`) is not a URL cspmove may send a token to.
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    /// The `CSPMOVE_*` variables are missing or incomplete.
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    /// The HTTPS client could not be built (the TLS set-up failed).
    #[error("cannot set up the HTTPS client")]
    HttpClient(#[source] reqwest::Error),
    /// No access token could be obtained.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The journal cannot be read, is another plan's or mode's, or is locked.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// An execution report has an unknown extension or cannot be written.
    #[error(transparent)]
    ExecReport(#[from] ExecReportError),
    /// `invitations.csv` cannot be written.
    #[error(transparent)]
    Write(#[from] WriteError),
    /// The plan file cannot be read (as it streams by during the run).
    #[error(transparent)]
    Plan(#[from] crate::model::PlanFileError),
    /// The plan's bytes changed between the sha256 the journal was opened for and the
    /// pass that read its customers: nothing was bought from it.
    #[error(
        "{} changed while apply read it (its sha256 is no longer the one the journal was opened for); nothing more was done: re-run apply once the plan is written",
        .path.display()
    )]
    PlanChanged { path: std::path::PathBuf },
    /// The dry run's listing could not be written (a closed standard output is told
    /// apart by the binary from the I/O error kept as the source).
    #[error("cannot write the dry run")]
    DryRunOutput(#[source] std::io::Error),
    /// `--only` names no customer of the plan: nothing was done.
    #[error(
        "--only {} matches no customer of the plan (give a plan key, customer ID or domain)",
        .only.join(", ")
    )]
    OnlyMatchesNothing { only: Vec<String> },
    /// The customer sweep at the start of a run failed.
    #[error("listing customers at {endpoint} failed")]
    ListCustomers {
        endpoint: String,
        #[source]
        source: Box<ApiError>,
    },
    /// Preflight found what would stop the run; nothing was bought.
    #[error("preflight {check}: {text}")]
    Preflight {
        /// `endpoint`, `token`, `mfa`, `roles`.
        check: &'static str,
        /// The endpoint or customer checked.
        subject: String,
        /// The failed call in full, or what was found and the hint.
        text: String,
    },
    /// `doctor`: checks failed (the table on stdout says which).
    #[error(
        "{failed} preflight checks failed{}",
        if *.stops_run { ": a run would stop" } else { ": the customers named are blocked" }
    )]
    ChecksFailed { failed: usize, stops_run: bool },
    /// The person at the terminal did not confirm the first purchase.
    #[error("not confirmed: nothing was bought")]
    NotConfirmed,
    /// The run stopped early; the summary and the execution report were written.
    #[error(transparent)]
    Stopped(#[from] StopReason),
    /// The run ended, but customers failed or wait for the partner to act.
    #[error(
        "{}",
        if *.failed == 0 {
            format!("{blocked} customers are blocked until you act (the summary above says what to do); then re-run apply")
        } else {
            format!(
                "{failed} customers failed (see the summary above{}); fix and re-run apply",
                if *.with_report { " and the report" } else { "" }
            )
        }
    )]
    Unfinished {
        failed: usize,
        blocked: usize,
        /// Whether an execution report was written (the text points to it).
        with_report: bool,
    },
}

/// Why a run stopped before working on every customer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StopReason {
    /// A call failed in a way that stops every call after it: authentication, a token
    /// without MFA or unable to do user operations, an endpoint that is down
    /// ([`ApiError::is_fatal`]).
    #[error("stopped")]
    Fatal(#[source] Box<ApiError>),
    /// `--max-failures` customers failed.
    #[error("stopped after {failed} failed customers (--max-failures {max})")]
    MaxFailures { failed: usize, max: usize },
    /// The journal could not be written; the run's result is the journal's error.
    #[error("stopped: the journal cannot be written")]
    Journal,
}

impl StopReason {
    /// The reason with its cause, as the summary and the execution report show it.
    pub fn text(&self) -> String {
        chain_text(self)
    }
}

/// An error and its causes as one line, each named once (`a: b: c`): what the binary
/// prints with `{:#}`, for the files that carry an error as text.
pub fn chain_text(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::client::ErrorKind;

    fn mfa() -> ApiError {
        ApiError {
            kind: ErrorKind::Mfa,
            ambiguous: false,
            call: "GET /v1/customers".into(),
            status: Some(401),
            code: Some("900421".into()),
            description: "MFA required".into(),
            request_id: Some("r-1".into()),
            hint: "sign in with MFA".into(),
        }
    }

    #[test]
    fn a_stop_names_its_cause_once() {
        let stop = StopReason::Fatal(Box::new(mfa()));
        let text = stop.text();
        assert!(
            text.starts_with("stopped: GET /v1/customers: HTTP 401 code 900421"),
            "{text}"
        );
        assert_eq!(text.matches("900421").count(), 1, "{text}");
        let err = ApplyError::from(stop);
        assert_eq!(chain_text(&err), text);
    }

    #[test]
    fn the_sweep_error_keeps_its_call_as_source() {
        let err = ApplyError::ListCustomers {
            endpoint: "http://127.0.0.1:9".into(),
            source: Box::new(mfa()),
        };
        assert_eq!(
            err.to_string(),
            "listing customers at http://127.0.0.1:9 failed"
        );
        let source = std::error::Error::source(&err).expect("source");
        assert_eq!(source.to_string(), mfa().to_string());
        assert!(chain_text(&err).contains("(request ID r-1)"));
    }

    #[test]
    fn unfinished_runs_say_what_to_do() {
        let blocked = ApplyError::Unfinished {
            failed: 0,
            blocked: 2,
            with_report: false,
        };
        assert!(blocked.to_string().starts_with("2 customers are blocked"));
        let failed = ApplyError::Unfinished {
            failed: 3,
            blocked: 1,
            with_report: true,
        };
        assert_eq!(
            failed.to_string(),
            "3 customers failed (see the summary above and the report); fix and re-run apply"
        );
    }
}
