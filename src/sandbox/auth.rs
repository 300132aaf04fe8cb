//! Tokens: the sandbox's own Entra-like token endpoints (`/{tenant}/oauth2/token` and
//! `/{tenant}/oauth2/v2.0/token`) and the bearer check in front of every API route.
//!
//! The main decision: the refresh-token grant yields an **App+User** token and the
//! client-credentials grant an **app-only** one, whatever `resource` or `scope` says, so a
//! client can rehearse both the Secure Application Model and the "app token on a user
//! route" failure (403 `900329`). Any non-empty refresh token is accepted except one that
//! starts with `invalid` or `revoked` (answered `invalid_grant`), so the failure path can
//! be rehearsed too. `--token` is an App+User token that never expires.
//!
//! MFA (`--require-mfa`, partner-center-api.md §11): every App+User token carries the MFA
//! claim except those issued for a refresh token starting with `nomfa`, so a test asks
//! for either kind by the refresh token it sends. With the switch on, an App+User call
//! from a token without the claim gets 401 `900421`; app-only calls are never affected.
//! A request carrying `ValidateMfa: true` is not carried out: it is answered 200 with
//! `{"isMfaCompliant":…}` for the token it came with, switch or not.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use chrono::{Duration, Utc};
use serde_json::{Value, json};

use super::app::{App, Caller};
use super::state::{Change, IssuedToken};
use super::wire::{ApiError, json_response, new_guid};

/// Lifetime of an issued access token, in seconds.
pub const TOKEN_SECONDS: i64 = 3600;

/// The bearer token of a request, if any.
pub fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Middleware of the API routes: 401 without a valid token; the `ValidateMfa` check;
/// 401 `900421` for an App+User token without the MFA claim under `--require-mfa`;
/// otherwise the request carries a [`Caller`].
pub async fn require_token(State(app): State<Arc<App>>, mut req: Request, next: Next) -> Response {
    let Some(caller) = bearer(req.headers()).and_then(|t| app.caller_for(t)) else {
        return unauthorized();
    };
    let validate = req
        .headers()
        .get("validatemfa")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    if validate && caller.app_user {
        return json_response(
            StatusCode::OK,
            &json!({
                "isMfaCompliant": caller.mfa,
                "mfaRequired": app.strict.require_mfa,
                "attributes": {"objectType": "MfaValidation"},
            }),
        );
    }
    if app.strict.require_mfa && caller.app_user && !caller.mfa {
        return mfa_required();
    }
    req.extensions_mut().insert(caller);
    next.run(req).await
}

/// Middleware of the `/sandbox/*` admin routes: any valid token (MFA is not asked).
pub async fn require_admin_token(
    State(app): State<Arc<App>>,
    mut req: Request,
    next: Next,
) -> Response {
    match bearer(req.headers()).and_then(|t| app.caller_for(t)) {
        Some(caller) => {
            req.extensions_mut().insert(caller);
            next.run(req).await
        }
        None => unauthorized(),
    }
}

/// The `code` of the answer to an App+User call without MFA (§11).
pub const MFA_REQUIRED_CODE: i64 = 900421;

/// 401 `900421`, with the `WWW-Authenticate` header of every 401.
fn mfa_required() -> Response {
    let err = ApiError::new(
        StatusCode::UNAUTHORIZED,
        MFA_REQUIRED_CODE,
        "Multi-factor authentication is required: the access token has no MFA claim. Sign in again with multi-factor authentication (Secure Application Model) and use the new token.",
    );
    let mut resp = axum::response::IntoResponse::into_response(err);
    resp.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("OAuth realm=\"cspmove-sandbox\", error=\"insufficient_claims\""),
    );
    resp
}

fn unauthorized() -> Response {
    let err = ApiError::new(
        StatusCode::UNAUTHORIZED,
        401,
        "Authorization failed: the bearer token is missing, not valid or expired.",
    );
    let mut resp = axum::response::IntoResponse::into_response(err);
    resp.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("OAuth realm=\"cspmove-sandbox\""),
    );
    resp
}

/// An AADSTS-style error body, as Entra answers token requests.
fn aad_error(status: StatusCode, error: &str, code: u32, message: &str) -> Response {
    let now = Utc::now();
    json_response(
        status,
        &json!({
            "error": error,
            "error_description": format!("AADSTS{code}: {message}"),
            "error_codes": [code],
            "timestamp": now.format("%Y-%m-%d %H:%M:%SZ").to_string(),
            "trace_id": new_guid(),
            "correlation_id": new_guid(),
        }),
    )
}

fn missing(name: &str) -> Response {
    aad_error(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        900144,
        &format!("The request body must contain the following parameter: '{name}'."),
    )
}

/// `POST /{tenant}/oauth2/token` (v1: numbers as strings, `resource`).
pub async fn token_v1(
    State(app): State<Arc<App>>,
    Path(_tenant): Path<String>,
    body: Bytes,
) -> Response {
    issue(&app, &body, false).await
}

/// `POST /{tenant}/oauth2/v2.0/token` (v2: numbers as numbers, `scope`).
pub async fn token_v2(
    State(app): State<Arc<App>>,
    Path(_tenant): Path<String>,
    body: Bytes,
) -> Response {
    issue(&app, &body, true).await
}

async fn issue(app: &Arc<App>, body: &[u8], v2: bool) -> Response {
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let get = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let Some(grant) = get("grant_type") else {
        return missing("grant_type");
    };
    if get("client_id").is_none() {
        return missing("client_id");
    }
    let mut mfa = true;
    let app_user = match grant.as_str() {
        "client_credentials" => {
            if get("client_secret").is_none() && get("client_assertion").is_none() {
                return aad_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    7000216,
                    "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.",
                );
            }
            false
        }
        "refresh_token" => {
            let Some(refresh) = get("refresh_token") else {
                return missing("refresh_token");
            };
            let lower = refresh.to_ascii_lowercase();
            if lower.starts_with("invalid") || lower.starts_with("revoked") {
                return aad_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    700082,
                    "The refresh token has expired or been revoked.",
                );
            }
            // A refresh token from a sign-in without MFA yields tokens without the claim.
            mfa = !lower.starts_with("nomfa");
            true
        }
        other => {
            return aad_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                70003,
                &format!("The app requested an unsupported grant type '{other}'."),
            );
        }
    };
    let access = format!(
        "sbx-{}-{}",
        if app_user { "user" } else { "app" },
        uuid::Uuid::new_v4().simple()
    );
    let now = Utc::now();
    let expires = now + Duration::seconds(TOKEN_SECONDS);
    {
        let mut st = app.lock();
        // Expired tokens are dropped here so the table does not grow without bound.
        st.tokens.retain(|_, t| t.expires_at > now);
        st.tokens.insert(
            access.clone(),
            IssuedToken {
                app_user,
                mfa: app_user && mfa,
                expires_at: expires,
            },
        );
        st.changed(Change::Token(access.clone()));
    }
    app.wait_persisted().await;

    // The new refresh token keeps what the old one said about MFA.
    let refresh = app_user.then(|| {
        let kind = if mfa {
            "sbx-refresh"
        } else {
            "nomfa-sbx-refresh"
        };
        format!("{kind}-{}", uuid::Uuid::new_v4().simple())
    });
    let mut out: Value = if v2 {
        let scope = get("scope").unwrap_or_else(|| {
            if app_user {
                "https://api.partnercenter.microsoft.com/user_impersonation".into()
            } else {
                "https://api.partnercenter.microsoft.com/.default".into()
            }
        });
        json!({
            "token_type": "Bearer",
            "scope": scope,
            "expires_in": TOKEN_SECONDS,
            "ext_expires_in": TOKEN_SECONDS,
            "access_token": access,
        })
    } else {
        let resource =
            get("resource").unwrap_or_else(|| "https://api.partnercenter.microsoft.com".into());
        let mut v = json!({
            "token_type": "Bearer",
            "expires_in": TOKEN_SECONDS.to_string(),
            "ext_expires_in": TOKEN_SECONDS.to_string(),
            "expires_on": expires.timestamp().to_string(),
            "not_before": now.timestamp().to_string(),
            "resource": resource,
            "access_token": access,
        });
        if app_user {
            v["scope"] = json!("user_impersonation");
        }
        v
    };
    if let Some(refresh) = refresh {
        out["refresh_token"] = json!(refresh);
    }
    json_response(StatusCode::OK, &out)
}

impl Caller {
    /// User-only routes refuse app-only tokens with 403 `900329` (§1).
    pub fn require_user(&self) -> Result<(), ApiError> {
        if self.app_user {
            Ok(())
        } else {
            Err(ApiError::app_only())
        }
    }
}
