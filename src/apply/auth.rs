//! Credentials for Partner Center: a fixed App+User access token (`CSPMOVE_TOKEN`) or the
//! refresh-token flow of the Secure Application Model.
//!
//! The main decision: a secret lives only inside [`Secret`], whose `Debug` and `Display`
//! print `***`, so no log line, error, journal event or report can carry one by accident.
//! The refresh flow renews the access token 30 s before it expires (as the official SDK
//! does) and once more when the API answers 401; a second 401 is final.

use std::fmt;
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::Mutex;

use super::http::{check_endpoint_url, scrub, strip_bom, without_url};

/// A token or client secret. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The raw value, for the one place that must send it (an HTTP header or form).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Where the access token comes from.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// An App+User access token used as is (`CSPMOVE_TOKEN`, or the sandbox's token).
    Token(Secret),
    /// The refresh-token flow against `{authority}/{tenant}/oauth2/token` (v1 form).
    Refresh {
        authority: String,
        tenant_id: String,
        client_id: String,
        client_secret: Secret,
        refresh_token: Secret,
    },
}

/// What is missing or wrong in the environment.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error(
        "no credentials: set CSPMOVE_TOKEN (an App+User access token), or CSPMOVE_REFRESH_TOKEN \
         with CSPMOVE_CLIENT_ID, CSPMOVE_CLIENT_SECRET and CSPMOVE_TENANT_ID (see docs/apply.md)"
    )]
    Missing,
    #[error("CSPMOVE_REFRESH_TOKEN is set but not {0} (see docs/apply.md)")]
    Incomplete(String),
    #[error("CSPMOVE_AUTHORITY")]
    Authority(#[source] super::http::EndpointError),
}

impl Credentials {
    /// Reads the `CSPMOVE_*` variables through `get` (the environment in production).
    pub fn from_lookup(
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<Credentials, CredentialsError> {
        let non_empty = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        if let Some(token) = non_empty("CSPMOVE_TOKEN") {
            return Ok(Credentials::Token(Secret::new(token.trim())));
        }
        let Some(refresh) = non_empty("CSPMOVE_REFRESH_TOKEN") else {
            return Err(CredentialsError::Missing);
        };
        let missing: Vec<&str> = [
            "CSPMOVE_CLIENT_ID",
            "CSPMOVE_CLIENT_SECRET",
            "CSPMOVE_TENANT_ID",
        ]
        .into_iter()
        .filter(|n| non_empty(n).is_none())
        .collect();
        if !missing.is_empty() {
            return Err(CredentialsError::Incomplete(missing.join(", ")));
        }
        let need = |name: &str| non_empty(name).unwrap_or_default();
        let authority = non_empty("CSPMOVE_AUTHORITY")
            .unwrap_or_else(|| "https://login.microsoftonline.com".to_string());
        check_endpoint_url(&authority).map_err(CredentialsError::Authority)?;
        Ok(Credentials::Refresh {
            authority: authority.trim_end_matches('/').to_string(),
            tenant_id: need("CSPMOVE_TENANT_ID"),
            client_id: need("CSPMOVE_CLIENT_ID"),
            client_secret: Secret::new(need("CSPMOVE_CLIENT_SECRET")),
            refresh_token: Secret::new(refresh.trim()),
        })
    }

    pub fn from_env() -> Result<Credentials, CredentialsError> {
        Credentials::from_lookup(|name| std::env::var(name).ok())
    }
}

/// Failure to get an access token. Stops the run. The kinds differ in what to do: an
/// endpoint that cannot be reached is a network or `CSPMOVE_AUTHORITY` problem, not a
/// refused token.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("token endpoint {url} cannot be reached: {message}")]
    Unreachable { url: String, message: String },
    #[error("token endpoint {url} refused the refresh token: {message}")]
    Refused { url: String, message: String },
    #[error("token endpoint {url}: {message}")]
    BadAnswer { url: String, message: String },
}

impl AuthError {
    /// What a person does about it.
    pub fn hint(&self) -> &'static str {
        match self {
            AuthError::Unreachable { .. } => {
                "check the network and CSPMOVE_AUTHORITY (default https://login.microsoftonline.com), then re-run"
            }
            AuthError::Refused { .. } => {
                "the refresh token is expired or revoked, or the app ID/secret/tenant do not match it: consent again (docs/apply.md)"
            }
            AuthError::BadAnswer { .. } => {
                "the token endpoint did not answer like Entra ID: check CSPMOVE_AUTHORITY"
            }
        }
    }
}

/// The token endpoint's answer; v1 sends numbers as strings, v2 as numbers.
#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
    #[serde(default)]
    refresh_token: Option<String>,
}

struct Cached {
    token: Secret,
    refresh_at: Instant,
    /// A refresh token may rotate; the newest one is used for the next exchange.
    refresh_token: Option<Secret>,
}

/// Hands out access tokens, refreshing them when due.
pub struct TokenSource {
    credentials: Credentials,
    http: reqwest::Client,
    cached: Mutex<Option<Cached>>,
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSource")
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

/// Renew this long before the token's stated expiry.
const REFRESH_MARGIN: Duration = Duration::from_secs(30);

impl TokenSource {
    pub fn new(credentials: Credentials, http: reqwest::Client) -> TokenSource {
        TokenSource {
            credentials,
            http,
            cached: Mutex::new(None),
        }
    }

    /// Whether a 401 can be answered by fetching a new token.
    pub fn can_refresh(&self) -> bool {
        matches!(self.credentials, Credentials::Refresh { .. })
    }

    /// A valid access token.
    pub async fn token(&self) -> Result<Secret, AuthError> {
        let (authority, tenant_id, client_id, client_secret, refresh_token) =
            match &self.credentials {
                Credentials::Token(token) => return Ok(token.clone()),
                Credentials::Refresh {
                    authority,
                    tenant_id,
                    client_id,
                    client_secret,
                    refresh_token,
                } => (
                    authority,
                    tenant_id,
                    client_id,
                    client_secret,
                    refresh_token,
                ),
            };
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref()
            && Instant::now() < c.refresh_at
        {
            return Ok(c.token.clone());
        }
        let current_refresh = cached
            .as_ref()
            .and_then(|c| c.refresh_token.clone())
            .unwrap_or_else(|| refresh_token.clone());
        let url = format!("{authority}/{tenant_id}/oauth2/token");
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", current_refresh.expose()),
            ("client_id", client_id.as_str()),
            ("client_secret", client_secret.expose()),
            ("resource", "https://api.partnercenter.microsoft.com"),
            ("scope", "openid"),
        ];
        let unreachable = |message: String| AuthError::Unreachable {
            url: url.clone(),
            message,
        };
        let response = self
            .http
            .post(&url)
            .form(&form)
            .send()
            .await
            .map_err(|e| unreachable(without_url(&e)))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| unreachable(format!("reading the answer: {}", without_url(&e))))?;
        if !status.is_success() {
            // The AAD error body (`error`, `error_description`) names no secret; keep it short.
            let text = String::from_utf8_lossy(&bytes);
            let short: String = text.chars().take(300).collect();
            return Err(AuthError::Refused {
                url: url.clone(),
                message: scrub(
                    format!("HTTP {status}: {short}"),
                    &[current_refresh.expose(), client_secret.expose()],
                ),
            });
        }
        let parsed: TokenResponse =
            serde_json::from_slice(strip_bom(&bytes)).map_err(|e| AuthError::BadAnswer {
                url: url.clone(),
                message: format!("unexpected answer: {e}"),
            })?;
        let lifetime = parsed
            .expires_in
            .as_ref()
            .and_then(parse_seconds)
            .unwrap_or(3600);
        let refresh_at =
            Instant::now() + Duration::from_secs(lifetime).saturating_sub(REFRESH_MARGIN);
        let token = Secret::new(parsed.access_token);
        *cached = Some(Cached {
            token: token.clone(),
            refresh_at,
            refresh_token: parsed
                .refresh_token
                .map(Secret::new)
                .or(Some(current_refresh)),
        });
        Ok(token)
    }

    /// Forgets the cached token so the next call fetches a new one (after a 401).
    pub async fn invalidate(&self) {
        if let Some(c) = self.cached.lock().await.as_mut() {
            c.refresh_at = Instant::now();
        }
    }
}

/// `expires_in` as a number or a string of digits.
fn parse_seconds(value: &serde_json::Value) -> Option<u64> {
    match value {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn secrets_never_show_in_debug_or_display() {
        let creds = Credentials::from_lookup(env(&[
            ("CSPMOVE_REFRESH_TOKEN", "rt-very-secret"),
            ("CSPMOVE_CLIENT_ID", "app"),
            ("CSPMOVE_CLIENT_SECRET", "cs-very-secret"),
            ("CSPMOVE_TENANT_ID", "tenant"),
        ]))
        .unwrap();
        let shown = format!("{creds:?}");
        assert!(!shown.contains("very-secret"), "{shown}");
        assert_eq!(Secret::new("abc").to_string(), "***");
    }

    #[test]
    fn token_wins_and_missing_pieces_are_named() {
        match Credentials::from_lookup(env(&[("CSPMOVE_TOKEN", " t ")])).unwrap() {
            Credentials::Token(t) => assert_eq!(t.expose(), "t"),
            other => panic!("{other:?}"),
        }
        let err = Credentials::from_lookup(env(&[
            ("CSPMOVE_REFRESH_TOKEN", "rt"),
            ("CSPMOVE_CLIENT_ID", "app"),
        ]))
        .unwrap_err();
        assert!(err.to_string().contains("CSPMOVE_CLIENT_SECRET"), "{err}");
        assert!(matches!(
            Credentials::from_lookup(env(&[])),
            Err(CredentialsError::Missing)
        ));
    }

    #[test]
    fn plain_http_authority_refused_unless_loopback() {
        let base = [
            ("CSPMOVE_REFRESH_TOKEN", "rt"),
            ("CSPMOVE_CLIENT_ID", "app"),
            ("CSPMOVE_CLIENT_SECRET", "cs"),
            ("CSPMOVE_TENANT_ID", "t"),
        ];
        let mut bad = base.to_vec();
        bad.push(("CSPMOVE_AUTHORITY", "http://login.example.com"));
        assert!(Credentials::from_lookup(env(&bad)).is_err());
        let mut good = base.to_vec();
        good.push(("CSPMOVE_AUTHORITY", "http://127.0.0.1:9000/"));
        assert!(Credentials::from_lookup(env(&good)).is_ok());
    }

    #[test]
    fn expires_in_as_string_or_number() {
        assert_eq!(parse_seconds(&serde_json::json!("3599")), Some(3599));
        assert_eq!(parse_seconds(&serde_json::json!(3600)), Some(3600));
        assert_eq!(parse_seconds(&serde_json::json!(null)), None);
    }

    #[tokio::test]
    async fn the_token_is_renewed_30_seconds_before_it_expires() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let issued = Arc::new(AtomicUsize::new(0));
        let counter = issued.clone();
        let app = axum::Router::new().route(
            "/t/oauth2/token",
            axum::routing::post(move || {
                let n = counter.fetch_add(1, Ordering::SeqCst);
                // 31 s of life: due for renewal 1 s from now. A rotated refresh token too.
                async move {
                    axum::Json(serde_json::json!({
                        "access_token": format!("at-{n}"), "expires_in": "31",
                        "refresh_token": format!("rt-{n}")
                    }))
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let source = TokenSource::new(
            Credentials::Refresh {
                authority: url,
                tenant_id: "t".into(),
                client_id: "app".into(),
                client_secret: Secret::new("cs"),
                refresh_token: Secret::new("rt"),
            },
            reqwest::Client::new(),
        );
        assert_eq!(source.token().await.unwrap().expose(), "at-0");
        assert_eq!(source.token().await.unwrap().expose(), "at-0");
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert_eq!(source.token().await.unwrap().expose(), "at-1");
        source.invalidate().await;
        assert_eq!(source.token().await.unwrap().expose(), "at-2");
        assert_eq!(issued.load(Ordering::SeqCst), 3);
    }
}
