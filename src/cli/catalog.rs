//! `cspmove catalog show|search TEXT|fetch --country CC`: the product catalog in use.
//!
//! `show` and `search` print the built-in catalog, extended by `--catalog` when given
//! (text in en/ko/ja, the `--catalog` CSV, or JSON); `fetch` reads a Partner Center
//! market's new-commerce catalog (against `--endpoint` with the `apply` credentials, or
//! an in-process `--sandbox`) and writes it in the same forms, CSV by default, so the
//! file can be given to `plan --catalog`. Exit codes: 0 done, 1 a failure while running
//! (API, writing), 2 usage or a `--catalog` that cannot be read.

use anyhow::Context;
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, Subcommand, ValueEnum};
use cspmove::apply::auth::{Credentials, Secret, TokenSource};
use cspmove::apply::client::{Client, RetryPolicy};
use cspmove::apply::http;
use cspmove::catalog::{Catalog, show};

use super::LangArg;
use super::UsageError;
use super::catalog_fetch;
use super::plan::load_catalog;

#[derive(Debug, Args)]
pub struct CatalogArgs {
    #[command(subcommand)]
    pub action: Option<Action>,
    /// Extend and override the built-in catalog with this file (CSV or Excel; also
    /// Microsoft's licensing CSV).
    #[arg(long, value_name = "FILE", global = true)]
    pub catalog: Option<PathBuf>,
    /// Write to FILE instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE", global = true)]
    pub output: Option<PathBuf>,
    /// Output format (default: text for show/search, csv for fetch; with -o, from the
    /// file's extension .csv/.json/.txt).
    #[arg(long, value_enum, global = true)]
    pub format: Option<CatalogFormat>,
    /// Language of the text output.
    #[arg(long, value_enum, default_value_t = LangArg::En, global = true)]
    pub lang: LangArg,
}

#[derive(Debug, Subcommand)]
pub enum Action {
    /// Print the whole catalog in use (the default).
    Show,
    /// Print the products whose names, part number, skuId or offer IDs contain TEXT
    /// (matched ignoring case, spaces, punctuation and width).
    Search {
        #[arg(value_name = "TEXT")]
        text: String,
    },
    /// Build a catalog from a Partner Center market's new-commerce products.
    Fetch {
        /// The market (ISO 3166 alpha-2 country code).
        #[arg(long, value_name = "CC")]
        country: String,
        /// Partner Center API base URL (credentials from CSPMOVE_* as for `apply`).
        #[arg(
            long,
            value_name = "URL",
            conflicts_with = "sandbox",
            required_unless_present = "sandbox"
        )]
        endpoint: Option<String>,
        /// Read the catalog of an in-process sandbox.
        #[arg(long)]
        sandbox: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CatalogFormat {
    Text,
    Csv,
    Json,
}

fn format_of(args: &CatalogArgs, default: CatalogFormat) -> anyhow::Result<CatalogFormat> {
    if let Some(format) = args.format {
        return Ok(format);
    }
    let Some(path) = &args.output else {
        return Ok(default);
    };
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "csv" => Ok(CatalogFormat::Csv),
        "json" => Ok(CatalogFormat::Json),
        "txt" | "text" => Ok(CatalogFormat::Text),
        _ => Err(UsageError(format!(
            "-o {}: say the format with --format text|csv|json (or use .csv, .json, .txt)",
            path.display()
        ))
        .into()),
    }
}

/// Writes `products` of `catalog` as `format` to `-o` (atomically) or stdout.
fn emit(
    args: &CatalogArgs,
    format: CatalogFormat,
    catalog: &Catalog,
    products: &[u32],
) -> anyhow::Result<()> {
    let mut bytes = Vec::new();
    match format {
        CatalogFormat::Text => show::write_text(&mut bytes, catalog, products, args.lang.into())?,
        CatalogFormat::Csv => show::write_csv(&mut bytes, catalog, products)?,
        CatalogFormat::Json => show::write_json(&mut bytes, catalog, products)?,
    }
    match &args.output {
        // The error names the path already.
        Some(path) => cspmove::fsx::write_atomic(path, &bytes)?,
        None => super::to_stdout(|out| Ok(out.write_all(&bytes)?))?,
    }
    Ok(())
}

pub fn run(args: CatalogArgs) -> anyhow::Result<super::Outcome> {
    if let Some(path) = &args.output
        && let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty())
        && !dir.is_dir()
    {
        return Err(UsageError(format!(
            "-o {}: directory {} does not exist",
            path.display(),
            dir.display()
        ))
        .into());
    }
    if let Some(path) = &args.catalog
        && !path.is_file()
    {
        return Err(UsageError(format!("--catalog {}: no such file", path.display())).into());
    }
    match &args.action {
        None | Some(Action::Show) => {
            let format = format_of(&args, CatalogFormat::Text)?;
            let catalog = load_catalog(args.catalog.as_deref(), None)?;
            let all: Vec<u32> = (0..catalog.len() as u32).collect();
            emit(&args, format, &catalog, &all)?;
            Ok(super::Outcome::Done)
        }
        Some(Action::Search { text }) => {
            let format = format_of(&args, CatalogFormat::Text)?;
            let catalog = load_catalog(args.catalog.as_deref(), None)?;
            let found = catalog.search(text);
            if found.is_empty() {
                eprintln!("cspmove: no product matches {text:?}");
            }
            emit(&args, format, &catalog, &found)?;
            Ok(super::Outcome::Done)
        }
        Some(Action::Fetch {
            country,
            endpoint,
            sandbox,
        }) => {
            let format = format_of(&args, CatalogFormat::Csv)?;
            let country = country.trim().to_ascii_uppercase();
            if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_alphabetic()) {
                return Err(UsageError(format!(
                    "--country {country:?}: give the market as an ISO 3166 alpha-2 code (KR, JP, US, ...)"
                ))
                .into());
            }
            let target = if *sandbox {
                None
            } else {
                let endpoint = endpoint.as_deref().unwrap_or_default();
                let url = http::check_endpoint_url(endpoint)?;
                let creds = Credentials::from_env()?;
                Some((url, creds))
            };
            let rows = fetch(&country, target)?;
            let catalog = Catalog::from_rows(rows);
            let all: Vec<u32> = (0..catalog.len() as u32).collect();
            emit(&args, format, &catalog, &all)?;
            Ok(super::Outcome::Done)
        }
    }
}

/// Runs the fetch on a small runtime of its own, against `target` or a sandbox.
fn fetch(
    country: &str,
    target: Option<(url::Url, Credentials)>,
) -> anyhow::Result<Vec<cspmove::catalog::CatalogRow>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let (base, creds, sandbox) = match target {
            Some((url, creds)) => (url, creds, None),
            None => {
                let token = format!("sandbox-{}", uuid::Uuid::new_v4());
                let running =
                    cspmove::sandbox::start(cspmove::sandbox::SandboxConfig::new(token)).await?;
                let url = url::Url::parse(&running.url())?;
                let creds = Credentials::Token(Secret::new(running.token().to_string()));
                (url, creds, Some(running))
            }
        };
        let http = http::http_client(std::time::Duration::from_secs(60))?;
        let auth = Arc::new(TokenSource::new(creds, http));
        let client = Client::new(base, auth, 10.0, RetryPolicy::default())?;
        let result = catalog_fetch::fetch(&client, country, |title| {
            tracing::info!("catalog fetch: {title}");
        })
        .await;
        if let Some(running) = sandbox {
            running.shutdown().await;
        }
        let fetched = result.context("catalog fetch")?;
        eprintln!(
            "cspmove: {} new-commerce SKUs read from {} products of market {country}{}",
            fetched.rows.len(),
            fetched.products_listed,
            if fetched.without_licence > 0 {
                format!(
                    " ({} without a provisioningId: their licence is unknown)",
                    fetched.without_licence
                )
            } else {
                String::new()
            }
        );
        Ok(fetched.rows)
    })
}
