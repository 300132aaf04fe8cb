//! The lowest layer of `apply`'s HTTP: what both the token source ([`super::auth`]) and
//! the Partner Center client ([`super::client`]) need, so neither imports the other
//! backwards (auth → http ← client, client → auth).
//!
//! The main decision is that nothing here may leak a secret: the reqwest client follows
//! no redirect (a redirect could carry the bearer token or a refresh-token form to
//! another host), and [`without_url`] describes a transport error without the URL, which
//! could hold a query with a secret.

use std::time::Duration;

use url::Url;

use super::ApplyError;

/// A base URL that cspmove will not send a token to. Each variant names the URL as given.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EndpointError {
    #[error("{text:?} is not a URL")]
    NotAUrl {
        text: String,
        #[source]
        source: url::ParseError,
    },
    #[error(
        "{text}: plain http:// is refused except to loopback (a token would travel unencrypted); use https://"
    )]
    PlainHttp { text: String },
    #[error("{text}: unsupported scheme {scheme:?}; use https://")]
    Scheme { text: String, scheme: String },
}

/// Refuses a base URL that is not https, except plain http to a loopback host.
pub fn check_endpoint_url(text: &str) -> Result<Url, EndpointError> {
    let url = Url::parse(text.trim()).map_err(|source| EndpointError::NotAUrl {
        text: text.to_string(),
        source,
    })?;
    match url.scheme() {
        "https" => Ok(url),
        "http" => {
            let loopback = match url.host() {
                Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                None => false,
            };
            if loopback {
                Ok(url)
            } else {
                Err(EndpointError::PlainHttp {
                    text: text.to_string(),
                })
            }
        }
        other => Err(EndpointError::Scheme {
            text: text.to_string(),
            scheme: other.to_string(),
        }),
    }
}

/// JSON bodies may begin with a UTF-8 byte order mark (several doc samples do).
pub fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

/// The reqwest client: rustls, a per-request timeout, no redirects (a redirect could
/// carry the bearer token to another host).
pub fn http_client(timeout: Duration) -> Result<reqwest::Client, ApplyError> {
    reqwest::Client::builder()
        .use_rustls_tls()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(15))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(crate::GENERATED_BY)
        .build()
        .map_err(ApplyError::HttpClient)
}

/// A reqwest error's text without the URL (a URL could carry a query with a secret).
pub fn without_url(err: &reqwest::Error) -> String {
    let mut text = String::new();
    let mut source: Option<&dyn std::error::Error> = Some(err);
    let mut first = true;
    while let Some(e) = source {
        let piece = if first {
            // reqwest's own Display appends the URL; describe the kind instead.
            first = false;
            if err.is_timeout() {
                "timed out".to_string()
            } else if err.is_connect() {
                "connection failed".to_string()
            } else if err.is_body() || err.is_decode() {
                "reading the body failed".to_string()
            } else {
                "request failed".to_string()
            }
        } else {
            e.to_string()
        };
        // A cause that repeats the text before it (hyper and io often do) says nothing new.
        if !text.ends_with(&piece) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&piece);
        }
        source = e.source();
    }
    text
}

/// `text` with every secret of `secrets` replaced by `***` (secrets shorter than 6
/// characters are left alone: they would blank out ordinary words).
pub fn scrub(text: String, secrets: &[&str]) -> String {
    secrets.iter().filter(|s| s.len() >= 6).fold(text, |t, s| {
        if t.contains(s) {
            t.replace(s, "***")
        } else {
            t
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_scheme_rules() {
        assert!(check_endpoint_url("https://api.partnercenter.microsoft.com").is_ok());
        assert!(check_endpoint_url("http://127.0.0.1:8080").is_ok());
        assert!(check_endpoint_url("http://localhost:8080").is_ok());
        assert!(check_endpoint_url("http://[::1]:8080").is_ok());
        let err = check_endpoint_url("http://api.example.com").unwrap_err();
        assert!(err.to_string().contains("loopback"), "{err}");
        assert!(check_endpoint_url("ftp://x").is_err());
    }

    #[test]
    fn bom_is_stripped() {
        assert_eq!(strip_bom(b"\xEF\xBB\xBF{}"), b"{}");
        assert_eq!(strip_bom(b"{}"), b"{}");
    }
}
