//! A typed async client for the Partner Center routes `apply` uses
//! (partner-center-api.md §1–§10): HTTP, both error body shapes, paging, retries and one
//! global rate limit.
//!
//! The main decision is how a failure is classified, because that decides whether money
//! can be spent twice. Every call says whether it is *safe to repeat* (reads) or not
//! (orders, checkouts, license updates). A safe call is retried on 429 (after
//! `Retry-After`), 5xx, 408, timeouts and dropped connections, with exponential backoff
//! and jitter, a bounded number of times. An unsafe call is retried only when the request
//! certainly did not take effect (429, a refused connection); any other transient
//! failure comes back as [`ApiError::ambiguous`] so the executor reconciles by reading
//! before it sends again. Every attempt of one action carries the same `MS-RequestId`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rand::Rng;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;
use serde_json::Value;
use url::Url;
use uuid::Uuid;

use super::auth::{AuthError, TokenSource};
use super::http::{scrub, strip_bom, without_url};
use super::pc;
use crate::i18n::{Lang, texts};

/// Page size of the customer and user sweeps (one call per 500 customers).
pub const PAGE_SIZE: usize = 500;

/// What went wrong, in the terms the executor acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// 401, or the token could not be obtained: the run stops at once.
    Auth,
    /// The token cannot do user operations (403 `900329`, 400 `900316`): the run stops.
    UserOperations,
    /// 429 still after every retry.
    Throttled,
    /// 5xx, 408, a timeout or a dropped connection.
    Transient,
    /// Any other answer: the request was refused and nothing changed.
    Refused,
    /// Connections failed many times in a row (the endpoint is down or unreachable): the
    /// run stops rather than retrying every remaining call with backoff.
    Unreachable,
    /// 401 `900421`: the App+User token lacks the MFA claim. The run stops.
    Mfa,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Auth => "auth",
            ErrorKind::UserOperations => "user_operations",
            ErrorKind::Throttled => "throttled",
            ErrorKind::Transient => "transient",
            ErrorKind::Refused => "refused",
            ErrorKind::Unreachable => "unreachable",
            ErrorKind::Mfa => "mfa",
        }
    }

    pub fn parse(text: &str) -> Option<ErrorKind> {
        [
            ErrorKind::Auth,
            ErrorKind::UserOperations,
            ErrorKind::Throttled,
            ErrorKind::Transient,
            ErrorKind::Refused,
            ErrorKind::Unreachable,
            ErrorKind::Mfa,
        ]
        .into_iter()
        .find(|k| k.as_str() == text)
    }
}

/// One failed call with everything a person needs: HTTP status, Partner Center's code
/// and description, the request ID to quote to Microsoft support, and a hint. The
/// journal keeps its own copy of these facts ([`super::journal::ErrorRecord`]).
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
#[error("{}", self.render())]
pub struct ApiError {
    pub kind: ErrorKind,
    /// Whether the request may have taken effect (sent, but no definite answer).
    pub ambiguous: bool,
    /// `POST /v1/customers/{id}/orders` etc.
    pub call: String,
    pub status: Option<u16>,
    pub code: Option<String>,
    pub description: String,
    pub request_id: Option<String>,
    pub hint: String,
}

impl ApiError {
    fn render(&self) -> String {
        render_error(
            &self.call,
            self.status,
            self.code.as_deref(),
            &self.description,
            self.request_id.as_deref(),
            &self.hint,
        )
    }

    /// Errors after which the run must stop at once.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::Auth | ErrorKind::UserOperations | ErrorKind::Unreachable | ErrorKind::Mfa
        )
    }

    /// A 403 on a user or licence call: the partner lacks a GDAP role in this tenant.
    pub fn is_missing_role(&self) -> bool {
        self.status == Some(403)
            && self.kind == ErrorKind::Refused
            && (self.call.contains("/users") || self.call.contains("/subscribedskus"))
            && !matches!(self.code.as_deref(), Some("20002" | "900309"))
    }

    fn new(kind: ErrorKind, call: &str, description: impl Into<String>) -> ApiError {
        let description = description.into();
        ApiError {
            kind,
            ambiguous: false,
            call: call.to_string(),
            status: None,
            code: None,
            hint: hint_for(None, None, kind),
            description,
            request_id: None,
        }
    }
}

/// `CALL: HTTP 403 code 20002 description (request ID …) — hint`: one way of writing a
/// failure, for the client's errors and the journal's records alike.
pub fn render_error(
    call: &str,
    status: Option<u16>,
    code: Option<&str>,
    description: &str,
    request_id: Option<&str>,
    hint: &str,
) -> String {
    let mut s = call.to_string();
    if let Some(status) = status {
        s.push_str(&format!(": HTTP {status}"));
    } else {
        s.push(':');
    }
    if let Some(code) = code {
        s.push_str(&format!(" code {code}"));
    }
    s.push_str(&format!(" {description}"));
    if let Some(id) = request_id {
        s.push_str(&format!(" (request ID {id})"));
    }
    if !hint.is_empty() {
        s.push_str(&format!(" — {hint}"));
    }
    s
}

/// A hint a person can act on, by Partner Center code first and HTTP status second, in
/// English (what the journal and JSON keep; [`hint_key`] gives its i18n key).
pub fn hint_for(status: Option<u16>, code: Option<&str>, kind: ErrorKind) -> String {
    hint_key(status, code, kind)
        .map(|key| texts(Lang::En).get(key).to_string())
        .unwrap_or_default()
}

/// The i18n keys of every hint cspmove may give for a failure: [`hint_key`]'s, and for a
/// legacy offer Partner Center no longer sells (403 `2091`, the cart's `500600`) the
/// purchase's own hint (`api_hint.legacy_refused`). A recorded hint that is one of these
/// keys' English text is said in the reader's language.
pub fn hint_keys(status: Option<u16>, code: Option<&str>, kind: ErrorKind) -> Vec<&'static str> {
    let mut keys: Vec<&'static str> = hint_key(status, code, kind).into_iter().collect();
    if matches!(code, Some("2091" | "500600")) {
        keys.push("api_hint.legacy_refused");
    }
    keys
}

/// The i18n key (`api_hint.*`) of the hint for a failure, if there is one: readers in
/// other languages translate a recorded hint that is still this key's English text.
pub fn hint_key(status: Option<u16>, code: Option<&str>, kind: ErrorKind) -> Option<&'static str> {
    let by_code = match code.unwrap_or("") {
        "20002" => "api_hint.20002",
        "900421" => "api_hint.900421",
        "900329" | "900316" => "api_hint.900329",
        "900309" => "api_hint.900309",
        "800004" => "api_hint.800004",
        "900275" | "2002" | "10010" | "10015" => "api_hint.900275",
        "10001" => "api_hint.10001",
        "10013" => "api_hint.10013",
        "800071" => "api_hint.800071",
        "60012" => "api_hint.60012",
        "60002" => "api_hint.60002",
        "60003" => "api_hint.60003",
        "13605" => "api_hint.13605",
        "2091" | "500600" => "api_hint.2091",
        "2085" | "800020" => "api_hint.2085",
        "800070" => "api_hint.800070",
        "800066" | "800089" | "800067" | "800088" => "api_hint.800066",
        "800060" | "800064" => "api_hint.800060",
        "800065" => "api_hint.800065",
        "800008" | "400019" => "api_hint.800008",
        "800005" => "api_hint.800005",
        _ => "",
    };
    if !by_code.is_empty() {
        return Some(by_code);
    }
    Some(match (kind, status) {
        (ErrorKind::Auth, _) => "api_hint.auth",
        (ErrorKind::Unreachable, _) => "api_hint.unreachable",
        (ErrorKind::Mfa, _) => "api_hint.mfa",
        (ErrorKind::UserOperations, _) => "api_hint.user_operations",
        (_, Some(429)) | (ErrorKind::Throttled, _) => "api_hint.throttled",
        (_, Some(403)) => "api_hint.http_403",
        (_, Some(404)) => "api_hint.http_404",
        (_, Some(408)) | (_, Some(500..=599)) | (ErrorKind::Transient, _) => "api_hint.transient",
        _ => return None,
    })
}

/// Parses both error body shapes: `{code, description, data, source}` and the gateway's
/// `{statusCode, message}`. `code` may be a JSON string or number.
pub fn parse_error_body(bytes: &[u8]) -> (Option<String>, Option<String>) {
    let Ok(value) = serde_json::from_slice::<Value>(strip_bom(bytes)) else {
        let text = String::from_utf8_lossy(bytes).trim().to_string();
        let text: String = text.chars().take(300).collect();
        return (None, (!text.is_empty()).then_some(text));
    };
    let get = |names: &[&str]| {
        names.iter().find_map(|n| {
            value
                .as_object()?
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(n))
                .map(|(_, v)| v.clone())
        })
    };
    let code = get(&["code", "errorCode"]).and_then(|v| match v {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    });
    let description = get(&["description", "message", "errorDescription"])
        .and_then(|v| v.as_str().map(str::to_string));
    (code, description)
}

/// One global rate limit for every request of the run, shared by all workers: requests
/// are spaced `1/rate` apart, with a small burst so workers do not queue in lock-step.
#[derive(Debug)]
pub struct RateLimiter {
    interval: Duration,
    burst: Duration,
    next: tokio::sync::Mutex<tokio::time::Instant>,
}

impl RateLimiter {
    pub fn new(per_second: f64) -> RateLimiter {
        let interval = Duration::from_secs_f64(1.0 / per_second.max(0.001));
        RateLimiter {
            interval,
            burst: interval * 2,
            next: tokio::sync::Mutex::new(tokio::time::Instant::now()),
        }
    }

    /// Waits for this request's slot.
    pub async fn acquire(&self) {
        let slot = {
            let mut next = self.next.lock().await;
            let now = tokio::time::Instant::now();
            // Unused time is banked only up to the burst, never beyond.
            let earliest = now.checked_sub(self.burst).unwrap_or(now);
            let slot = (*next).max(earliest);
            *next = slot + self.interval;
            slot
        };
        tokio::time::sleep_until(slot).await;
    }

    /// Gives the slot of a request the server refused unserved (a 429) back to the
    /// next request, so throttled answers do not eat the run's rate.
    pub async fn give_back(&self) {
        let mut next = self.next.lock().await;
        let now = tokio::time::Instant::now();
        *next = next.checked_sub(self.interval).unwrap_or(now).max(now);
    }
}

/// Throttled answers get their rate slot back only while fewer than one answer in this
/// many is a 429: under throttling that persists, the run slows to `--rate` sent.
const GIVE_BACK_WHILE_THROTTLED_BELOW: u64 = 4;

/// Retry bounds. The SDK makes 3 retries; throttling gets a few more because it is common
/// under load and harmless to wait out.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub max_retries: u32,
    pub max_throttle_retries: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 4,
            max_throttle_retries: 8,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            timeout: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// (2^n − 1)/2 s like the SDK, capped, with full jitter on the last half.
    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(attempt.min(16)))
            .min(self.max_delay);
        let half = exp / 2;
        let jitter = rand::rng().random_range(0.0..=1.0);
        half + half.mul_f64(jitter)
    }
}

/// Counters for the summary and the benchmark.
#[derive(Debug, Default)]
pub struct CallStats {
    pub requests: AtomicU64,
    pub retries: AtomicU64,
    pub throttled: AtomicU64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat {
    /// Reads: repeat on any transient failure.
    Safe,
    /// Purchases and license changes: repeat only when the request certainly did nothing.
    Unsafe,
}

/// The Partner Center client.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    auth: Arc<TokenSource>,
    limiter: Arc<RateLimiter>,
    policy: RetryPolicy,
    correlation_id: Uuid,
    pub stats: Arc<CallStats>,
    /// Connection failures (refused, timed out) in a row over every call of the run.
    connection_failures: Arc<AtomicU64>,
}

/// After this many connection failures in a row, across all calls, the endpoint is taken
/// as down and the run stops: retrying every remaining call with backoff would take an
/// hour for a large customer and still do nothing.
pub const UNREACHABLE_AFTER: u64 = 8;

/// A collection page: `{"totalCount","items","links":{"next":{uri,headers}}}`.
#[derive(Deserialize)]
struct Page {
    #[serde(default)]
    items: Vec<Value>,
    #[serde(default)]
    links: Option<PageLinks>,
}

#[derive(Deserialize)]
struct PageLinks {
    #[serde(default)]
    next: Option<Link>,
}

#[derive(Deserialize)]
struct Link {
    uri: String,
    #[serde(default)]
    headers: Vec<LinkHeader>,
}

#[derive(Deserialize)]
struct LinkHeader {
    key: String,
    value: String,
}

impl Client {
    pub fn new(
        base: Url,
        auth: Arc<TokenSource>,
        rate: f64,
        policy: RetryPolicy,
    ) -> Result<Client, super::ApplyError> {
        let http = super::http::http_client(policy.timeout)?;
        Ok(Client {
            http,
            base,
            auth,
            limiter: Arc::new(RateLimiter::new(rate)),
            policy,
            correlation_id: Uuid::new_v4(),
            stats: Arc::new(CallStats::default()),
            connection_failures: Arc::new(AtomicU64::new(0)),
        })
    }

    pub fn correlation_id(&self) -> Uuid {
        self.correlation_id
    }

    /// The base URL every call goes to.
    pub fn base(&self) -> &Url {
        &self.base
    }

    /// Resolves a path or a `links.*.uri` (relative, maybe without `/v1`) against the
    /// base. An absolute link to another origin is refused: the token must not leave.
    fn resolve(&self, path: &str) -> Result<Url, String> {
        if path.starts_with("http://") || path.starts_with("https://") {
            let url = Url::parse(path).map_err(|e| e.to_string())?;
            if url.origin() != self.base.origin() {
                return Err(format!(
                    "a link points to another host ({}); not following it",
                    url.host_str().unwrap_or("?")
                ));
            }
            return Ok(url);
        }
        let rel = if path.starts_with("/v1/") || path == "/v1" {
            path.to_string()
        } else {
            format!("/v1{}", if path.starts_with('/') { "" } else { "/" }) + path
        };
        let base = self.base.as_str().trim_end_matches('/');
        Url::parse(&format!("{base}{rel}")).map_err(|e| e.to_string())
    }

    /// The one rule for a transient failure (a dropped connection, a body cut off, a
    /// 5xx): a purchase whose request may have reached the server (`sent`) is ambiguous
    /// and never re-sent here; anything else waits its backoff and is tried again, until
    /// the retries run out. `Err` is the error to give up with.
    async fn retry_transient(
        &self,
        mut e: ApiError,
        repeat: Repeat,
        sent: bool,
        retries: &mut u32,
    ) -> Result<(), ApiError> {
        if repeat == Repeat::Unsafe && sent {
            e.ambiguous = true;
            return Err(e);
        }
        if *retries >= self.policy.max_retries {
            return Err(e);
        }
        tokio::time::sleep(self.policy.backoff(*retries)).await;
        *retries += 1;
        self.stats.retries.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Sends one logical call with retries; returns the parsed JSON body (`Null` if empty).
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        request_id: Uuid,
        repeat: Repeat,
        extra_headers: &[(String, String)],
    ) -> Result<Value, ApiError> {
        // The call's name in errors and logs: the path without its query.
        let name = format!("{method} {}", path.split('?').next().unwrap_or(path));
        let url = self
            .resolve(path)
            .map_err(|e| ApiError::new(ErrorKind::Refused, &name, e))?;
        let mut transient_retries = 0u32;
        let mut throttle_retries = 0u32;
        let mut refreshed = false;
        loop {
            self.limiter.acquire().await;
            let token = self.auth.token().await.map_err(|e| auth_error(&name, e))?;
            let mut req = self
                .http
                .request(method.clone(), url.clone())
                .bearer_auth(token.expose())
                .header("Accept", "application/json")
                .header("MS-RequestId", request_id.to_string())
                .header("MS-CorrelationId", self.correlation_id.to_string())
                .header("X-Locale", "en-US");
            for (k, v) in extra_headers {
                if let (Ok(k), Ok(v)) = (
                    HeaderName::from_bytes(k.as_bytes()),
                    HeaderValue::from_str(v),
                ) {
                    req = req.header(k, v);
                }
            }
            if let Some(body) = body {
                req = req.json(body);
            }
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            let outcome = req.send().await;
            let response = match outcome {
                Ok(r) => r,
                Err(err) => {
                    // A refused connection sent nothing; anything later may have been applied.
                    let sent = !err.is_connect();
                    let mut e = ApiError::new(ErrorKind::Transient, &name, without_url(&err));
                    e.request_id = Some(request_id.to_string());
                    if err.is_connect() || err.is_timeout() {
                        let n = self.connection_failures.fetch_add(1, Ordering::SeqCst) + 1;
                        if n >= UNREACHABLE_AFTER {
                            let mut down = ApiError::new(
                                ErrorKind::Unreachable,
                                &name,
                                format!(
                                    "{} cannot be reached: {n} connections in a row failed (last: {})",
                                    self.base.as_str().trim_end_matches('/'),
                                    without_url(&err)
                                ),
                            );
                            // A purchase whose request may have left stays ambiguous.
                            down.ambiguous = repeat == Repeat::Unsafe && sent;
                            down.request_id = Some(request_id.to_string());
                            return Err(down);
                        }
                    }
                    self.retry_transient(e, repeat, sent, &mut transient_retries)
                        .await?;
                    continue;
                }
            };
            self.connection_failures.store(0, Ordering::SeqCst);
            let status = response.status().as_u16();
            let retry_after = retry_after(response.headers());
            let echoed_id = response
                .headers()
                .get("MS-RequestId")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let bytes = match response.bytes().await {
                Ok(b) => b,
                Err(err) => {
                    // The status line arrived but the body was cut: treat like a drop.
                    let mut e = ApiError::new(ErrorKind::Transient, &name, without_url(&err));
                    e.status = Some(status);
                    e.request_id = Some(request_id.to_string());
                    self.retry_transient(e, repeat, true, &mut transient_retries)
                        .await?;
                    continue;
                }
            };
            if (200..300).contains(&status) {
                let bytes = strip_bom(&bytes);
                if bytes.iter().all(u8::is_ascii_whitespace) {
                    return Ok(Value::Null);
                }
                return serde_json::from_slice(bytes).map_err(|e| {
                    // A 2xx to a purchase means it probably went through: a body we
                    // cannot read must leave the order ambiguous (reconciled, never
                    // re-bought), not a definite refusal the next run would order again.
                    let kind = if repeat == Repeat::Unsafe {
                        ErrorKind::Transient
                    } else {
                        ErrorKind::Refused
                    };
                    let mut err = ApiError::new(
                        kind,
                        &name,
                        format!("the answer is not the JSON expected: {e}"),
                    );
                    err.status = Some(status);
                    err.request_id = Some(request_id.to_string());
                    err.ambiguous = repeat == Repeat::Unsafe;
                    err
                });
            }
            let (code, description) = parse_error_body(&bytes);
            let kind = match (status, code.as_deref()) {
                (401, Some("900421")) => ErrorKind::Mfa,
                (403, Some("900329")) | (400, Some("900316")) => ErrorKind::UserOperations,
                (401, _) => ErrorKind::Auth,
                (429, _) => ErrorKind::Throttled,
                (408, _) | (500..=599, _) => ErrorKind::Transient,
                _ => ErrorKind::Refused,
            };
            let make = |kind: ErrorKind| ApiError {
                kind,
                ambiguous: false,
                call: name.clone(),
                status: Some(status),
                hint: hint_for(Some(status), code.as_deref(), kind),
                code: code.clone(),
                // An answer that echoes the request must not carry the token into the
                // journal, a report or the terminal.
                description: scrub(
                    description
                        .clone()
                        .unwrap_or_else(|| http_reason(status).to_string()),
                    &[token.expose()],
                ),
                request_id: echoed_id.clone().or_else(|| Some(request_id.to_string())),
            };
            match kind {
                ErrorKind::Auth => {
                    if !refreshed && self.auth.can_refresh() {
                        refreshed = true;
                        self.auth.invalidate().await;
                        continue;
                    }
                    return Err(make(kind));
                }
                ErrorKind::UserOperations
                | ErrorKind::Refused
                | ErrorKind::Mfa
                | ErrorKind::Unreachable => return Err(make(kind)),
                ErrorKind::Throttled => {
                    // A 429 is refused before it runs: repeating it is always safe, and it
                    // used none of the quota `--rate` keeps to, so its slot goes to the
                    // next request while 429s stay rare (docs/apply.md "Load").
                    let throttled = self.stats.throttled.fetch_add(1, Ordering::Relaxed) + 1;
                    let requests = self.stats.requests.load(Ordering::Relaxed);
                    if throttled * GIVE_BACK_WHILE_THROTTLED_BELOW < requests {
                        self.limiter.give_back().await;
                    }
                    if throttle_retries >= self.policy.max_throttle_retries {
                        return Err(make(kind));
                    }
                    let wait = retry_after
                        .unwrap_or_else(|| self.policy.backoff(throttle_retries))
                        .min(Duration::from_secs(120));
                    // Throttled again: keep the Retry-After wait and add backoff (the guidance).
                    let extra = if throttle_retries > 0 {
                        self.policy.backoff(throttle_retries - 1)
                    } else {
                        Duration::ZERO
                    };
                    tokio::time::sleep(wait + extra).await;
                    throttle_retries += 1;
                    self.stats.retries.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                ErrorKind::Transient => {
                    self.retry_transient(make(kind), repeat, true, &mut transient_retries)
                        .await?;
                    continue;
                }
            }
        }
    }

    /// GET one resource (safe to repeat), with a fresh request ID.
    pub async fn get(&self, path: &str) -> Result<Value, ApiError> {
        self.call(
            reqwest::Method::GET,
            path,
            None,
            Uuid::new_v4(),
            Repeat::Safe,
            &[],
        )
        .await
    }

    /// GETs every page of a collection by following `links.next` (with its headers, e.g.
    /// `MS-ContinuationToken`). `on_page` sees each page's item count.
    pub async fn get_all(
        &self,
        path: &str,
        mut on_page: impl FnMut(usize),
    ) -> Result<Vec<Value>, ApiError> {
        let mut items = Vec::new();
        let mut next = Some((path.to_string(), Vec::new()));
        // A server that keeps sending the same `next` must not loop forever.
        let mut pages = 0usize;
        while let Some((uri, headers)) = next.take() {
            pages += 1;
            if pages > 100_000 {
                return Err(ApiError::new(
                    ErrorKind::Refused,
                    path,
                    "paging did not end after 100000 pages",
                ));
            }
            let value = self
                .call(
                    reqwest::Method::GET,
                    &uri,
                    None,
                    Uuid::new_v4(),
                    Repeat::Safe,
                    &headers,
                )
                .await?;
            let page: Page = serde_json::from_value(value).map_err(|e| {
                ApiError::new(
                    ErrorKind::Refused,
                    &format!("GET {path}"),
                    format!("not a collection: {e}"),
                )
            })?;
            on_page(page.items.len());
            let empty = page.items.is_empty();
            items.extend(page.items);
            if let Some(link) = page.links.and_then(|l| l.next)
                && !empty
            {
                let headers = link.headers.into_iter().map(|h| (h.key, h.value)).collect();
                next = Some((link.uri, headers));
            }
        }
        Ok(items)
    }

    /// Every page of a collection, each item read as `T`.
    #[allow(clippy::result_large_err)]
    async fn get_all_as<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        on_page: impl FnMut(usize),
    ) -> Result<Vec<T>, ApiError> {
        let items = self.get_all(path, on_page).await?;
        items
            .into_iter()
            .map(|v| {
                serde_json::from_value(v).map_err(|e| {
                    ApiError::new(
                        ErrorKind::Refused,
                        &format!("GET {}", path.split('?').next().unwrap_or(path)),
                        format!("an item is not the JSON expected: {e}"),
                    )
                })
            })
            .collect()
    }

    /// One resource read as `T`.
    async fn get_as<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, ApiError> {
        let v = self.get(path).await?;
        from_answer(path, v)
    }

    // ---- typed routes -------------------------------------------------------------
    // Every plan field that reaches a path goes through `seg`, so an ID like
    // `x/../../sandbox/clock?y=` stays one segment.

    /// Every customer with a relationship to the partner (one paged sweep).
    pub async fn customers(&self, on_page: impl FnMut(usize)) -> Result<Vec<PcCustomer>, ApiError> {
        let items: Vec<pc::CustomerJson> = self
            .get_all_as(&format!("/v1/customers?size={PAGE_SIZE}"), on_page)
            .await?;
        Ok(items
            .into_iter()
            .filter_map(PcCustomer::from_json)
            .collect())
    }

    /// The partner's reseller relationship link (one for every customer).
    pub async fn relationship_link(&self) -> Result<String, ApiError> {
        let r: pc::RelationshipRequest = self.get_as("/v1/customers/relationshiprequests").await?;
        r.url.ok_or_else(|| {
            ApiError::new(
                ErrorKind::Refused,
                "GET /v1/customers/relationshiprequests",
                "the answer has no url",
            )
        })
    }

    /// A legacy offer, to learn whether it is an add-on.
    pub async fn offer(&self, offer_id: &str, country: &str) -> Result<pc::Offer, ApiError> {
        self.get_as(&format!(
            "/v1/offers/{}?country={}",
            seg(offer_id),
            seg(country)
        ))
        .await
    }

    /// POST an order. Unsafe to repeat blindly: see the module comment.
    pub async fn create_order(
        &self,
        customer_id: &str,
        body: &Value,
        request_id: Uuid,
    ) -> Result<pc::Order, ApiError> {
        let path = format!("/v1/customers/{}/orders", seg(customer_id));
        let v = self
            .call(
                reqwest::Method::POST,
                &path,
                Some(body),
                request_id,
                Repeat::Unsafe,
                &[],
            )
            .await?;
        purchase_answer(&path, v, request_id)
    }

    /// PATCH a legacy order with add-on line items (partner-center-api.md §5: an add-on
    /// of a legacy subscription is a PATCH of its parent's order).
    pub async fn patch_order(
        &self,
        customer_id: &str,
        order_id: &str,
        body: &Value,
        request_id: Uuid,
    ) -> Result<pc::Order, ApiError> {
        let path = format!(
            "/v1/customers/{}/orders/{}",
            seg(customer_id),
            seg(order_id)
        );
        let v = self
            .call(
                reqwest::Method::PATCH,
                &path,
                Some(body),
                request_id,
                Repeat::Unsafe,
                &[],
            )
            .await?;
        purchase_answer(&path, v, request_id)
    }

    pub async fn orders(&self, customer_id: &str) -> Result<Vec<pc::Order>, ApiError> {
        self.get_all_as(
            &format!("/v1/customers/{}/orders", seg(customer_id)),
            |_| {},
        )
        .await
    }

    pub async fn subscriptions(
        &self,
        customer_id: &str,
    ) -> Result<Vec<pc::Subscription>, ApiError> {
        self.get_all_as(
            &format!("/v1/customers/{}/subscriptions", seg(customer_id)),
            |_| {},
        )
        .await
    }

    pub async fn subscribed_skus(
        &self,
        customer_id: &str,
    ) -> Result<Vec<pc::SubscribedSku>, ApiError> {
        self.get_all_as(
            &format!("/v1/customers/{}/subscribedskus", seg(customer_id)),
            |_| {},
        )
        .await
    }

    pub async fn users(&self, customer_id: &str) -> Result<Vec<pc::CustomerUser>, ApiError> {
        self.get_all_as(
            &format!("/v1/customers/{}/users?size={PAGE_SIZE}", seg(customer_id)),
            |_| {},
        )
        .await
    }

    /// The SKU ids (lower case) a user holds.
    pub async fn user_license_skus(
        &self,
        customer_id: &str,
        user_id: &str,
    ) -> Result<Vec<String>, ApiError> {
        let items: Vec<pc::License> = self
            .get_all_as(
                &format!(
                    "/v1/customers/{}/users/{}/licenses",
                    seg(customer_id),
                    seg(user_id)
                ),
                |_| {},
            )
            .await?;
        Ok(items
            .into_iter()
            .map(|l| l.product_sku.id.to_ascii_lowercase())
            .filter(|id| !id.is_empty())
            .collect())
    }

    /// Assigns `assign` and removes `remove` in one call (the licence swap).
    pub async fn license_update(
        &self,
        customer_id: &str,
        user_id: &str,
        assign: &str,
        remove: &str,
        request_id: Uuid,
    ) -> Result<Value, ApiError> {
        let body = serde_json::json!({
            "licensesToAssign": [{"skuId": assign, "excludedPlans": null}],
            "licensesToRemove": [remove],
            "attributes": {"objectType": "LicenseUpdate"},
        });
        self.call(
            reqwest::Method::POST,
            &format!(
                "/v1/customers/{}/users/{}/licenseupdates",
                seg(customer_id),
                seg(user_id)
            ),
            Some(&body),
            request_id,
            Repeat::Unsafe,
            &[],
        )
        .await
    }

    /// Availabilities of a new-commerce `PRODUCT:SKU` in a market (the customer's
    /// country). The global route rather than the customer-scoped one, so one answer
    /// serves every customer of that market (cached per run by the purchase path).
    pub async fn availabilities(
        &self,
        product: &str,
        sku: &str,
        country: &str,
    ) -> Result<Vec<pc::Availability>, ApiError> {
        self.get_all_as(
            &format!(
                "/v1/products/{}/skus/{}/availabilities?country={}",
                seg(product),
                seg(sku),
                seg(country)
            ),
            |_| {},
        )
        .await
    }

    pub async fn create_cart(
        &self,
        customer_id: &str,
        body: &Value,
        request_id: Uuid,
    ) -> Result<pc::Cart, ApiError> {
        let path = format!("/v1/customers/{}/carts", seg(customer_id));
        // A duplicate cart costs nothing (only checkout buys), so creation may be repeated.
        let v = self
            .call(
                reqwest::Method::POST,
                &path,
                Some(body),
                request_id,
                Repeat::Safe,
                &[],
            )
            .await?;
        from_answer(&path, v)
    }

    pub async fn checkout(
        &self,
        customer_id: &str,
        cart_id: &str,
        request_id: Uuid,
    ) -> Result<pc::CheckoutResult, ApiError> {
        let path = format!(
            "/v1/customers/{}/carts/{}/checkout",
            seg(customer_id),
            seg(cart_id)
        );
        let v = self
            .call(
                reqwest::Method::POST,
                &path,
                None,
                request_id,
                Repeat::Unsafe,
                &[],
            )
            .await?;
        purchase_answer(&path, v, request_id)
    }
}

/// One path segment, percent-encoded: a plan field can never add segments or a query.
pub fn seg(text: &str) -> String {
    const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~')
        .remove(b':');
    let encoded = percent_encoding::utf8_percent_encode(text, SEGMENT).to_string();
    // `.` and `..` alone are still dot-segments after encoding: encode them too.
    match encoded.as_str() {
        "." => "%2E".to_string(),
        ".." => "%2E%2E".to_string(),
        _ => encoded,
    }
}

/// A read's answer as `T`; a body of another shape is a refusal of this call.
// The error type of every call; large, but only built on the failure path.
#[allow(clippy::result_large_err)]
fn from_answer<T: serde::de::DeserializeOwned>(path: &str, v: Value) -> Result<T, ApiError> {
    serde_json::from_value(v).map_err(|e| {
        ApiError::new(
            ErrorKind::Refused,
            path.split('?').next().unwrap_or(path),
            format!("the answer is not the JSON expected: {e}"),
        )
    })
}

/// A purchase's 2xx answer as `T`. One that cannot be read means the purchase probably
/// went through: ambiguous (reconciled, never re-bought), not a refusal.
#[allow(clippy::result_large_err)]
fn purchase_answer<T: serde::de::DeserializeOwned>(
    path: &str,
    v: Value,
    request_id: Uuid,
) -> Result<T, ApiError> {
    serde_json::from_value(v).map_err(|e| {
        let mut err = ApiError::new(
            ErrorKind::Transient,
            path,
            format!("the answer is not the JSON expected: {e}"),
        );
        err.ambiguous = true;
        err.status = Some(201);
        err.request_id = Some(request_id.to_string());
        err
    })
}

fn auth_error(call: &str, e: AuthError) -> ApiError {
    let mut err = ApiError::new(ErrorKind::Auth, call, e.to_string());
    err.hint = e.hint().to_string();
    err
}

/// The longest `Retry-After` we honour; larger (or non-finite) values are clamped.
const MAX_RETRY_AFTER_SECS: f64 = 3600.0;

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get("Retry-After")?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<f64>() {
        // A hostile or broken value (`1e30`, `inf`, `NaN`) must not panic in
        // `from_secs_f64`: this runs on every response, a 201 order included.
        // `clamp` maps ±inf to the bounds; NaN has no order, so it waits not at all.
        let secs = if secs.is_nan() {
            0.0
        } else {
            secs.clamp(0.0, MAX_RETRY_AFTER_SECS)
        };
        return Some(Duration::from_secs_f64(secs));
    }
    let when = httpdate_parse(v)?;
    let wait = when.duration_since(std::time::SystemTime::now()).ok()?;
    Some(wait.min(Duration::from_secs_f64(MAX_RETRY_AFTER_SECS)))
}

/// An HTTP date (RFC 9110 §5.6.7: IMF-fixdate, and the obsolete RFC 850 and asctime
/// forms a server may still send).
fn httpdate_parse(v: &str) -> Option<std::time::SystemTime> {
    httpdate::parse_http_date(v).ok()
}

fn http_reason(status: u16) -> &'static str {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("error")
}

/// A customer as the sweep lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct PcCustomer {
    /// Tenant ID, lower case.
    pub id: String,
    pub domain: Option<String>,
    pub relationship: Option<String>,
}

impl PcCustomer {
    fn from_json(v: pc::CustomerJson) -> Option<PcCustomer> {
        let id = v.id.or(v.company_profile.tenant_id)?;
        Some(PcCustomer {
            id: id.to_ascii_lowercase(),
            domain: v.company_profile.domain.map(|d| d.to_ascii_lowercase()),
            relationship: v.relationship_to_partner.map(|r| r.to_ascii_lowercase()),
        })
    }

    /// Whether the partner can sell to this customer (a reseller relationship).
    pub fn is_reseller(&self) -> bool {
        matches!(self.relationship.as_deref(), None | Some("reseller"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_throttled_slot_goes_back_to_the_next_request() {
        // 10 per second: five requests in a row take 0.4 s at least (after the burst).
        let limiter = RateLimiter::new(10.0);
        let t = std::time::Instant::now();
        for _ in 0..5 {
            limiter.acquire().await;
        }
        let paced = t.elapsed();
        assert!(paced >= Duration::from_millis(250), "{paced:?}");
        // Each slot given back (its request was answered 429): no wait at all.
        let limiter = RateLimiter::new(10.0);
        let t = std::time::Instant::now();
        for _ in 0..5 {
            limiter.acquire().await;
            limiter.give_back().await;
        }
        assert!(t.elapsed() < paced, "{:?} vs {paced:?}", t.elapsed());
    }

    #[test]
    fn both_error_shapes_and_numeric_codes() {
        let (code, desc) = parse_error_body(
            br#"{"code":20002,"description":"No relationship between caller and account.","data":[],"source":"PartnerFD"}"#,
        );
        assert_eq!(code.as_deref(), Some("20002"));
        assert_eq!(
            desc.as_deref(),
            Some("No relationship between caller and account.")
        );
        let (code, desc) = parse_error_body(
            "\u{feff}{\"statusCode\":429,\"message\":\"Rate limit is exceeded. Try again in 57 seconds.\"}".as_bytes(),
        );
        assert_eq!(code, None);
        assert!(desc.unwrap().starts_with("Rate limit"));
        let (code, _) = parse_error_body(br#"{"code":"800004","description":"x"}"#);
        assert_eq!(code.as_deref(), Some("800004"));
        let (code, desc) = parse_error_body(b"<html>Bad gateway</html>");
        assert_eq!(code, None);
        assert_eq!(desc.as_deref(), Some("<html>Bad gateway</html>"));
    }

    #[test]
    fn hints_by_code_then_status() {
        assert!(hint_for(Some(403), Some("20002"), ErrorKind::Refused).contains("not accepted"));
        assert!(hint_for(Some(400), Some("60012"), ErrorKind::Refused).contains("not enough"));
        assert!(
            hint_for(Some(403), Some("900329"), ErrorKind::UserOperations).contains("App+User")
        );
        assert!(hint_for(Some(503), None, ErrorKind::Transient).contains("re-run"));
        assert!(hint_for(Some(429), None, ErrorKind::Throttled).contains("--rate"));
    }

    fn client(base: &str) -> Client {
        let auth = Arc::new(TokenSource::new(
            super::super::auth::Credentials::Token(super::super::auth::Secret::new("t")),
            reqwest::Client::new(),
        ));
        Client::new(
            Url::parse(base).unwrap(),
            auth,
            100.0,
            RetryPolicy::default(),
        )
        .unwrap()
    }

    #[test]
    fn links_resolve_with_or_without_v1_and_never_to_another_host() {
        let c = client("http://127.0.0.1:9/");
        assert_eq!(
            c.resolve("/customers?size=5&seekOperation=Next")
                .unwrap()
                .as_str(),
            "http://127.0.0.1:9/v1/customers?size=5&seekOperation=Next"
        );
        assert_eq!(
            c.resolve("/v1/customers/x/orders").unwrap().as_str(),
            "http://127.0.0.1:9/v1/customers/x/orders"
        );
        assert!(c.resolve("http://127.0.0.1:9/v1/customers").is_ok());
        assert!(c.resolve("https://evil.example.com/v1/customers").is_err());
    }

    #[tokio::test]
    async fn rate_limiter_spaces_requests() {
        let limiter = RateLimiter::new(200.0);
        let start = std::time::Instant::now();
        for _ in 0..42 {
            limiter.acquire().await;
        }
        // 42 requests at 200/s with a burst of 2 take at least ~0.2 s.
        assert!(
            start.elapsed() >= Duration::from_millis(190),
            "{:?}",
            start.elapsed()
        );
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy::default();
        assert!(p.backoff(0) <= Duration::from_millis(500));
        assert!(p.backoff(3) >= Duration::from_secs(2));
        assert!(p.backoff(20) <= Duration::from_secs(30));
    }

    #[test]
    fn retry_after_seconds() {
        let mut h = HeaderMap::new();
        h.insert("Retry-After", HeaderValue::from_static("3"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
    }

    #[test]
    fn retry_after_huge_or_infinite_is_clamped_not_a_panic() {
        for v in ["1e30", "inf", "-inf", "NaN", "1e400"] {
            let mut h = HeaderMap::new();
            h.insert("Retry-After", HeaderValue::from_str(v).unwrap());
            let got = retry_after(&h).expect(v);
            assert!(got <= Duration::from_secs(3600), "{v}: {got:?}");
        }
        for v in ["-5", "-inf", "NaN"] {
            let mut h = HeaderMap::new();
            h.insert("Retry-After", HeaderValue::from_str(v).unwrap());
            assert_eq!(retry_after(&h), Some(Duration::ZERO), "{v}");
        }
        let mut h = HeaderMap::new();
        h.insert("Retry-After", HeaderValue::from_static("1e30"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3600)));
    }

    #[test]
    fn retry_after_as_an_http_date() {
        let in_3s = std::time::SystemTime::now() + Duration::from_secs(3);
        for date in [
            httpdate::fmt_http_date(in_3s),
            // The obsolete RFC 850 form a server may still send.
            chrono::DateTime::<chrono::Utc>::from(in_3s)
                .format("%A, %d-%b-%y %H:%M:%S GMT")
                .to_string(),
        ] {
            let mut h = HeaderMap::new();
            h.insert("Retry-After", HeaderValue::from_str(&date).unwrap());
            let got = retry_after(&h).unwrap_or_else(|| panic!("{date} not read"));
            assert!(
                got <= Duration::from_secs(3) && got >= Duration::from_millis(1500),
                "{date}: {got:?}"
            );
        }
        // A date in the past means "now", not a wait; nonsense means no hint.
        let mut h = HeaderMap::new();
        h.insert(
            "Retry-After",
            HeaderValue::from_static("Sun, 06 Nov 1994 08:49:37 GMT"),
        );
        assert_eq!(retry_after(&h), None);
        h.insert("Retry-After", HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn path_segments_from_the_plan_stay_one_segment() {
        assert_eq!(
            seg("x/../../sandbox/clock?x="),
            "x%2F..%2F..%2Fsandbox%2Fclock%3Fx%3D"
        );
        assert_eq!(seg(".."), "%2E%2E");
        assert_eq!(seg("CFQ7TTC0LFLX:0001"), "CFQ7TTC0LFLX:0001");
        assert_eq!(
            seg("796b6b5f-613c-4e24-a17c-eba730d49c02"),
            "796b6b5f-613c-4e24-a17c-eba730d49c02"
        );
    }

    /// A tiny stand-in server for what the sandbox does not exercise: a 401 answered by
    /// one refresh, `Retry-After` on 429, a BOM before JSON, and paging by
    /// `MS-ContinuationToken` header.
    mod wire {
        use super::*;
        use axum::extract::Path;
        use axum::http::{HeaderMap, StatusCode};
        use axum::response::IntoResponse;
        use axum::routing::{get, post};
        use std::sync::atomic::AtomicUsize;

        #[derive(Default)]
        struct Seen {
            tokens_issued: AtomicUsize,
            throttled: AtomicUsize,
            request_ids: std::sync::Mutex<Vec<String>>,
        }

        async fn serve() -> (String, Arc<Seen>) {
            let seen = Arc::new(Seen::default());
            let s1 = seen.clone();
            let s2 = seen.clone();
            let s3 = seen.clone();
            let app = axum::Router::new()
                .route(
                    "/tenant/oauth2/token",
                    post(move || {
                        let s = s1.clone();
                        async move {
                            let n = s.tokens_issued.fetch_add(1, Ordering::SeqCst);
                            // The first token is already refused by the API; the second works.
                            let token = if n == 0 { "stale" } else { "fresh" };
                            axum::Json(serde_json::json!({
                                "access_token": token, "expires_in": "3600", "token_type": "Bearer"
                            }))
                        }
                    }),
                )
                .route(
                    "/v1/customers",
                    get(move |headers: HeaderMap| {
                        let s = s2.clone();
                        async move {
                            let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
                            if auth != Some("Bearer fresh") {
                                return (StatusCode::UNAUTHORIZED, "{}").into_response();
                            }
                            let id = headers.get("ms-requestid").and_then(|v| v.to_str().ok());
                            s.request_ids.lock().unwrap().push(id.unwrap_or("").to_string());
                            let page2 = headers.get("ms-continuationtoken").is_some();
                            let body = if page2 {
                                r#"{"totalCount":1,"items":[{"id":"B","companyProfile":{"domain":"b.example"},"relationshipToPartner":"reseller"}]}"#.to_string()
                            } else {
                                r#"{"totalCount":1,"items":[{"id":"A","companyProfile":{"domain":"A.example"},"relationshipToPartner":"reseller"}],"links":{"next":{"uri":"/customers?size=500&seekOperation=Next","method":"GET","headers":[{"key":"MS-ContinuationToken","value":"tok"}]}}}"#.to_string()
                            };
                            format!("\u{feff}{body}").into_response()
                        }
                    }),
                )
                .route(
                    "/v1/customers/{id}/orders",
                    post(move |Path(customer): Path<String>, headers: HeaderMap| {
                        let s = s3.clone();
                        async move {
                            if customer == "garbled" {
                                // The order went through; the answer was cut mid-body.
                                return (StatusCode::CREATED, r#"{"id":"order-"#).into_response();
                            }
                            let id = headers
                                .get("ms-requestid")
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or("")
                                .to_string();
                            s.request_ids.lock().unwrap().push(id);
                            if s.throttled.fetch_add(1, Ordering::SeqCst) == 0 {
                                return (
                                    StatusCode::TOO_MANY_REQUESTS,
                                    [("Retry-After", "1")],
                                    r#"{"statusCode":429,"message":"Rate limit is exceeded. Try again in 1 seconds."}"#,
                                )
                                    .into_response();
                            }
                            (StatusCode::CREATED, r#"{"id":"order-1"}"#).into_response()
                        }
                    }),
                );
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}", listener.local_addr().unwrap());
            tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
            (url, seen)
        }

        fn refresh_client(url: &str) -> Client {
            let creds = crate::apply::auth::Credentials::Refresh {
                authority: url.to_string(),
                tenant_id: "tenant".into(),
                client_id: "app".into(),
                client_secret: crate::apply::auth::Secret::new("cs"),
                refresh_token: crate::apply::auth::Secret::new("rt"),
            };
            let auth = Arc::new(TokenSource::new(creds, reqwest::Client::new()));
            Client::new(
                Url::parse(url).unwrap(),
                auth,
                1000.0,
                RetryPolicy::default(),
            )
            .unwrap()
        }

        #[tokio::test]
        async fn a_401_refreshes_once_then_pages_follow_the_continuation_token() {
            let (url, seen) = serve().await;
            let client = refresh_client(&url);
            let mut pages = 0;
            let customers = client.customers(|_| pages += 1).await.unwrap();
            assert_eq!(pages, 2);
            let ids: Vec<&str> = customers.iter().map(|c| c.id.as_str()).collect();
            assert_eq!(ids, ["a", "b"]);
            assert_eq!(customers[0].domain.as_deref(), Some("a.example"));
            // One token refused, one refresh, and no more.
            assert_eq!(seen.tokens_issued.load(Ordering::SeqCst), 2);
        }

        #[tokio::test]
        async fn a_429_waits_for_retry_after_and_resends_the_same_request_id() {
            let (url, seen) = serve().await;
            let client = refresh_client(&url);
            client.auth.token().await.unwrap(); // burn the stale token
            let rid = Uuid::new_v4();
            let start = std::time::Instant::now();
            let order = client
                .create_order("c1", &serde_json::json!({"lineItems": []}), rid)
                .await
                .unwrap();
            assert_eq!(order.id, "order-1");
            assert!(
                start.elapsed() >= Duration::from_millis(950),
                "{:?}",
                start.elapsed()
            );
            let ids = seen.request_ids.lock().unwrap().clone();
            assert_eq!(ids, vec![rid.to_string(), rid.to_string()]);
            assert_eq!(client.stats.throttled.load(Ordering::Relaxed), 1);
        }

        /// A server whose `flaky` customer answers reads with 503 twice, and whose `down`
        /// customer answers everything with 503; it counts the requests per path.
        async fn serve_503s() -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
            let seen: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
            let (s1, s2) = (seen.clone(), seen.clone());
            let app = axum::Router::new()
                .route(
                    "/v1/customers/{id}/subscriptions",
                    get(move |Path(customer): Path<String>| {
                        let s = s1.clone();
                        async move {
                            let mut seen = s.lock().unwrap();
                            seen.push(format!("GET {customer}"));
                            let tries = seen
                                .iter()
                                .filter(|p| **p == format!("GET {customer}"))
                                .count();
                            if customer == "down" || (customer == "flaky" && tries <= 2) {
                                return (StatusCode::SERVICE_UNAVAILABLE, "{}").into_response();
                            }
                            r#"{"totalCount":0,"items":[]}"#.into_response()
                        }
                    }),
                )
                .route(
                    "/v1/customers/{id}/orders",
                    post(move |Path(customer): Path<String>| {
                        let s = s2.clone();
                        async move {
                            s.lock().unwrap().push(format!("POST {customer}"));
                            (StatusCode::SERVICE_UNAVAILABLE, "{}").into_response()
                        }
                    }),
                );
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}", listener.local_addr().unwrap());
            tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
            (url, seen)
        }

        #[tokio::test]
        async fn a_5xx_is_retried_for_a_read_and_ambiguous_for_a_purchase() {
            let (url, seen) = serve_503s().await;
            let policy = RetryPolicy {
                max_retries: 2,
                base_delay: Duration::from_millis(1),
                ..RetryPolicy::default()
            };
            let auth = Arc::new(TokenSource::new(
                crate::apply::auth::Credentials::Token(crate::apply::auth::Secret::new("t")),
                reqwest::Client::new(),
            ));
            let client = Client::new(Url::parse(&url).unwrap(), auth, 1000.0, policy).unwrap();
            let count = |what: &str| seen.lock().unwrap().iter().filter(|p| *p == what).count();

            // A read waits and tries again.
            assert!(client.subscriptions("flaky").await.unwrap().is_empty());
            assert_eq!(count("GET flaky"), 3);
            assert_eq!(client.stats.retries.load(Ordering::Relaxed), 2);

            // Until the retries run out: a plain failure, not an ambiguous one.
            let err = client.subscriptions("down").await.unwrap_err();
            assert!(!err.ambiguous, "{err:?}");
            assert_eq!(count("GET down"), 3);

            // A purchase is sent once: it may have gone through, so it is ambiguous.
            let err = client
                .create_order(
                    "down",
                    &serde_json::json!({"lineItems": []}),
                    Uuid::new_v4(),
                )
                .await
                .unwrap_err();
            assert!(err.ambiguous, "{err:?}");
            assert_eq!(count("POST down"), 1);
        }

        #[tokio::test]
        async fn an_unreadable_2xx_to_an_order_is_ambiguous_not_a_refusal() {
            let (url, _) = serve().await;
            let client = refresh_client(&url);
            client.auth.token().await.unwrap(); // burn the stale token
            let err = client
                .create_order(
                    "garbled",
                    &serde_json::json!({"lineItems": []}),
                    Uuid::new_v4(),
                )
                .await
                .unwrap_err();
            assert!(err.ambiguous, "{err:?}");
            assert_eq!(err.status, Some(201));
        }

        /// A server that redirects every call to `target`, and one that echoes the
        /// bearer token in its error description.
        async fn serve_hostile(target: String) -> String {
            let app = axum::Router::new()
                .route(
                    "/v1/customers",
                    get(move || {
                        let t = target.clone();
                        async move {
                            (
                                StatusCode::TEMPORARY_REDIRECT,
                                [("Location", format!("{t}/v1/customers"))],
                                "",
                            )
                                .into_response()
                        }
                    }),
                )
                .route(
                    "/v1/customers/{id}/subscriptions",
                    get(|headers: HeaderMap| async move {
                        let auth = headers
                            .get("authorization")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("")
                            .to_string();
                        (
                            StatusCode::BAD_REQUEST,
                            format!(r#"{{"code":"800002","description":"bad request with header {auth}"}}"#),
                        )
                            .into_response()
                    }),
                );
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}", listener.local_addr().unwrap());
            tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
            url
        }

        fn token_client(url: &str, token: &str) -> Client {
            let auth = Arc::new(TokenSource::new(
                crate::apply::auth::Credentials::Token(crate::apply::auth::Secret::new(token)),
                reqwest::Client::new(),
            ));
            Client::new(
                Url::parse(url).unwrap(),
                auth,
                1000.0,
                RetryPolicy {
                    base_delay: Duration::from_millis(1),
                    ..RetryPolicy::default()
                },
            )
            .unwrap()
        }

        #[tokio::test]
        async fn redirects_are_refused_so_the_token_never_follows_one() {
            let (elsewhere, seen) = serve().await;
            let hostile = serve_hostile(elsewhere).await;
            let client = token_client(&hostile, "bearer-secret-123");
            let err = client.customers(|_| {}).await.unwrap_err();
            assert_eq!(err.status, Some(307), "{err}");
            // The other server never saw a request, so never the token.
            assert!(seen.request_ids.lock().unwrap().is_empty());
        }

        #[tokio::test]
        async fn secrets_are_scrubbed_from_error_text() {
            let hostile = serve_hostile("http://127.0.0.1:9".into()).await;
            let client = token_client(&hostile, "bearer-secret-123");
            let err = client.subscriptions("c1").await.unwrap_err();
            let text = err.to_string();
            assert!(
                text.contains("bad request with header Bearer ***"),
                "{text}"
            );
            assert!(!text.contains("bearer-secret-123"), "{text}");

            // The token endpoint's refusal echoing the refresh token and client secret.
            let app = axum::Router::new().route(
                "/t/oauth2/token",
                post(|body: String| async move {
                    (
                        StatusCode::BAD_REQUEST,
                        format!(r#"{{"error":"invalid_grant","error_description":"AADSTS70000: bad grant {body}"}}"#),
                    )
                }),
            );
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}", listener.local_addr().unwrap());
            tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
            let source = TokenSource::new(
                crate::apply::auth::Credentials::Refresh {
                    authority: url,
                    tenant_id: "t".into(),
                    client_id: "app".into(),
                    client_secret: crate::apply::auth::Secret::new("client-secret-456"),
                    refresh_token: crate::apply::auth::Secret::new("refresh-secret-789"),
                },
                reqwest::Client::new(),
            );
            let err = source.token().await.unwrap_err().to_string();
            assert!(err.contains("refused the refresh token"), "{err}");
            assert!(
                !err.contains("client-secret-456") && !err.contains("refresh-secret-789"),
                "{err}"
            );
        }

        #[tokio::test]
        async fn repeated_connection_failures_stop_as_unreachable() {
            // Nothing listens on port 9 of loopback.
            let client = token_client("http://127.0.0.1:9", "t");
            let first = client.subscriptions("c1").await.unwrap_err();
            assert_eq!(first.kind, ErrorKind::Transient, "{first}");
            let second = client.subscriptions("c1").await.unwrap_err();
            assert_eq!(second.kind, ErrorKind::Unreachable, "{second}");
            assert!(second.is_fatal());
            assert!(second.to_string().contains("cannot be reached"), "{second}");
        }

        #[tokio::test]
        async fn a_refused_token_stops_with_an_auth_error() {
            let (url, _) = serve().await;
            let auth = Arc::new(TokenSource::new(
                crate::apply::auth::Credentials::Token(crate::apply::auth::Secret::new("wrong")),
                reqwest::Client::new(),
            ));
            let client = Client::new(
                Url::parse(&url).unwrap(),
                auth,
                1000.0,
                RetryPolicy::default(),
            )
            .unwrap();
            let err = client.customers(|_| {}).await.unwrap_err();
            assert!(err.is_fatal());
            assert_eq!(err.status, Some(401));
            assert!(err.hint.contains("CSPMOVE_TOKEN"), "{err}");
        }
    }
}
