//! Synthetic partner exports of any size, for benchmarks of `cspmove plan`.
//!
//! `cargo run --release --example generate -- --rows N --format csv|xlsx --out FILE [--seed S]`
//!
//! The output has the 15 columns of `samples/customers-en.csv`, several rows per customer,
//! offer names from `samples/catalog.csv`, a mix of same-offer rows and rows with a target
//! offer, end dates spread over ~14 months around `--as-of` (default 2026-11-21, so a
//! benchmark can plan with a fixed `--as-of`), and about 0.5% bad rows of the kinds
//! `samples/README.md` lists. The output is a pure function of the flags: a seeded
//! ChaCha RNG and no clock. CSV rows average ~215 bytes (1,000,000 rows ≈ 215 MB).
//! XLSX goes through rust_xlsxwriter's constant-memory mode, which streams each row to
//! disk, so 100k+ rows never sit in memory.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use chrono::{Datelike, Duration, NaiveDate};
use clap::{Parser, ValueEnum};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rust_xlsxwriter::{Format, Workbook, Worksheet};
use uuid::Uuid;

#[derive(Debug, Parser)]
#[command(about = "Write a deterministic synthetic partner export (CSV or XLSX)")]
struct Args {
    /// Number of data rows (the header is extra).
    #[arg(long)]
    rows: u64,
    /// Output format; default from the extension of --out.
    #[arg(long, value_enum)]
    format: Option<OutFormat>,
    /// Output file.
    #[arg(long)]
    out: PathBuf,
    /// RNG seed: the same seed and flags give the same bytes.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Day the dates are spread around.
    #[arg(long, default_value = "2026-11-21")]
    as_of: NaiveDate,
    /// Fraction of deliberately bad rows.
    #[arg(long, default_value_t = 0.005)]
    bad_fraction: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OutFormat {
    Csv,
    Xlsx,
}

const HEADERS: [&str; 15] = [
    "Customer Name",
    "Tenant ID",
    "Primary Domain",
    "Contact Email",
    "Country",
    "Licensing Program",
    "Product",
    "Subscription ID",
    "Quantity",
    "Assigned",
    "End Date",
    "Auto Renew",
    "Target Offer",
    "Target Seats",
    "Relationship",
];

const PREFIXES: &[&str] = &[
    "Northwind",
    "Contoso",
    "Fabrikam",
    "Tailspin",
    "Woodgrove",
    "Litware",
    "Proseware",
    "Alpine",
    "Coho",
    "Lamna",
    "Relecloud",
    "Humongous",
    "Lucerne",
    "Adatum",
    "Bellows",
    "Tailwind",
    "Hanbit",
    "Daehan",
    "Mirae",
    "Saehan",
    "Gaon",
    "Nuri",
    "Hanul",
    "Seorin",
    "Cheonji",
    "Taeyang",
    "Sakura",
    "Midori",
    "Tohto",
    "Aozora",
    "Kawasemi",
    "Hoshino",
    "Nishiki",
    "Yamabuki",
    "Fujimi",
    "Shiosai",
    "Thames",
    "Pennine",
    "Kestrel",
    "Brunel",
    "Rheinland",
    "Alster",
    "Merlion",
    "Fjord",
];

const INDUSTRIES: &[&str] = &[
    "Logistics",
    "Precision",
    "Foods",
    "Pharma",
    "Engineering",
    "Textiles",
    "Software",
    "Construction",
    "Dental",
    "Design",
    "Education",
    "Marine",
    "Accounting",
    "Electronics",
    "Games",
    "Medical",
    "Cosmetics",
    "Steel",
    "Legal",
    "Travel",
    "Trading",
    "Insurance",
    "Publishing",
    "Hotels",
    "Analytics",
];

/// (country, weight, company suffix, custom-domain TLD)
const COUNTRIES: &[(&str, u32, &str, &str)] = &[
    ("KR", 30, "Co., Ltd.", "co.kr"),
    ("JP", 25, "K.K.", "co.jp"),
    ("US", 20, "Inc.", "com"),
    ("GB", 10, "Ltd", "co.uk"),
    ("DE", 5, "GmbH", "de"),
    ("AU", 4, "Pty Ltd", "com.au"),
    ("SG", 3, "Pte. Ltd.", "com.sg"),
    ("FR", 3, "SARL", "fr"),
];

const SMB_SUITES: &[(&str, u64, u64)] = &[
    ("Office 365 Business Essentials", 3, 120),
    ("Office 365 Business Premium", 5, 150),
    ("Office 365 Business", 2, 40),
    ("Microsoft 365 Business", 5, 200),
];
const ENTERPRISE_SUITES: &[(&str, u64, u64)] = &[
    ("Office 365 Enterprise E3", 50, 2500),
    ("Office 365 Enterprise E1", 30, 900),
    ("Microsoft 365 E3", 100, 3000),
    ("Office 365 Enterprise E5", 10, 400),
    ("Microsoft 365 E5", 10, 300),
];
const SMB_ADD_ONS: &[(&str, u64, u64)] = &[
    ("Exchange Online (Plan 1)", 2, 60),
    ("Exchange Online (Plan 2)", 1, 20),
    ("Power BI Pro", 1, 25),
    ("Exchange Online Archiving for Exchange Online", 1, 30),
];
const ENTERPRISE_ADD_ONS: &[(&str, u64, u64)] = &[
    ("Enterprise Mobility + Security E3", 20, 800),
    ("Power BI Pro", 5, 150),
    ("Office 365 ProPlus", 10, 250),
    ("Office 365 F1", 20, 600),
    ("Microsoft 365 F1", 20, 400),
    ("Exchange Online (Plan 2)", 5, 120),
    ("Exchange Online Archiving for Exchange Online", 10, 300),
];

/// Offer changes a partner writes into the sheet: names and new-commerce IDs.
fn target_choices(current: &str) -> &'static [&'static str] {
    match current {
        "Office 365 Enterprise E3" => &[
            "Microsoft 365 E3",
            "Microsoft 365 E3 (NCE)",
            "CFQ7TTC0LFLX:0001",
        ],
        "Office 365 Enterprise E1" => &["Office 365 Enterprise E3", "Office 365 E3 (NCE)"],
        "Office 365 Business Essentials" => {
            &["CFQ7TTC0LH18:0001", "Microsoft 365 Business Basic (NCE)"]
        }
        "Office 365 Business Premium" => {
            &["Microsoft 365 Business Premium (NCE)", "CFQ7TTC0LCHC:0002"]
        }
        "Office 365 Business" => &["Microsoft 365 Business Standard (NCE)"],
        "Microsoft 365 E3" => &["Microsoft 365 E5", "CFQ7TTC0LFLZ:0002"],
        "Exchange Online (Plan 1)" => &["Exchange Online (Plan 2)"],
        _ => &[],
    }
}

/// One output row as text (dates kept typed so XLSX can write date cells).
#[derive(Clone, Default)]
struct Row {
    name: String,
    tenant_id: String,
    domain: String,
    email: String,
    country: &'static str,
    program: &'static str,
    offer: &'static str,
    subscription_id: String,
    seats: String,
    assigned: String,
    ends: Option<NaiveDate>,
    /// Replaces `ends` when set: a date cell typed as (bad) text.
    ends_text: Option<&'static str>,
    auto_renew: &'static str,
    target: &'static str,
    target_seats: String,
    relationship: &'static str,
}

struct Generator {
    rng: StdRng,
    as_of: NaiveDate,
    bad_fraction: f64,
    /// The customer whose rows are being written, and how many rows it has left.
    customer: Row,
    enterprise: bool,
    left: u32,
    subscription_no: u32,
    anniversary: NaiveDate,
    /// Rows with a deliberate problem, by kind (printed at the end).
    bad: [u64; 7],
}

const BAD_KINDS: [&str; 7] = [
    "negative seats",
    "text seats",
    "bad date",
    "duplicate row",
    "no tenant ID and no domain",
    "assigned > seats",
    "conflicting name",
];

impl Generator {
    fn new(seed: u64, as_of: NaiveDate, bad_fraction: f64) -> Self {
        Generator {
            rng: StdRng::seed_from_u64(seed),
            as_of,
            bad_fraction,
            customer: Row::default(),
            enterprise: false,
            left: 0,
            subscription_no: 0,
            anniversary: as_of,
            bad: [0; 7],
        }
    }

    fn guid(&mut self) -> Uuid {
        uuid::Builder::from_random_bytes(self.rng.random()).into_uuid()
    }

    fn new_customer(&mut self) {
        let tenant = self.guid();
        let tenant_id = tenant.hyphenated().to_string();
        let total: u32 = COUNTRIES.iter().map(|c| c.1).sum();
        let mut pick = self.rng.random_range(0..total);
        let mut country = COUNTRIES[0];
        for c in COUNTRIES {
            if pick < c.1 {
                country = *c;
                break;
            }
            pick -= c.1;
        }
        let prefix = *PREFIXES.choose(&mut self.rng).expect("non-empty");
        let industry = *INDUSTRIES.choose(&mut self.rng).expect("non-empty");
        // Six hex digits of the tenant ID keep domains apart across ~300k customers.
        let tag = &tenant_id[..6];
        let name = format!("{prefix} {industry} {}", country.2);
        let slug = prefix.to_lowercase();
        let domain = if self.rng.random_bool(0.45) {
            format!("{slug}-{tag}.onmicrosoft.com")
        } else {
            format!("{slug}-{tag}.{}", country.3)
        };
        let mailbox = *["it", "admin", "o365", "m365"]
            .choose(&mut self.rng)
            .expect("non-empty");
        self.enterprise = self.rng.random_bool(0.4);
        let program = if self.enterprise {
            *["Enterprise Agreement", "Enterprise Agreement", "Open Value"]
                .choose(&mut self.rng)
                .expect("non-empty")
        } else {
            *[
                "Open",
                "Open Value",
                "Open Value Subscription",
                "Direct (web)",
                "MOSP",
            ]
            .choose(&mut self.rng)
            .expect("non-empty")
        };
        self.anniversary = self.end_date(program);
        self.customer = Row {
            email: format!("{mailbox}@{domain}"),
            name,
            tenant_id,
            domain,
            country: country.0,
            program,
            relationship: if self.rng.random_bool(0.3) {
                "Accepted"
            } else {
                ""
            },
            ..Row::default()
        };
        self.left = self.rng.random_range(1..=6);
        self.subscription_no = 0;
    }

    /// End dates from ~3 weeks ago to ~13 months ahead; Open and EA terms end at a
    /// month end.
    fn end_date(&mut self, program: &str) -> NaiveDate {
        let date = self.as_of + Duration::days(self.rng.random_range(-20..400));
        if matches!(program, "Direct (web)" | "MOSP") {
            return date;
        }
        let (y, m) = if date.month() == 12 {
            (date.year() + 1, 1)
        } else {
            (date.year(), date.month() + 1)
        };
        NaiveDate::from_ymd_opt(y, m, 1).expect("valid date") - Duration::days(1)
    }

    /// The next row, and whether it is written twice (an exact duplicate, as when a
    /// block is pasted twice).
    fn next_row(&mut self) -> (Row, bool) {
        let mut row = self.good_row();
        if !self.rng.random_bool(self.bad_fraction) {
            return (row, false);
        }
        let kind = self.rng.random_range(0..BAD_KINDS.len());
        self.bad[kind] += 1;
        match kind {
            0 => row.seats = format!("-{}", row.seats),
            1 => row.seats = "TBD".into(),
            2 => row.ends_text = Some("2027-02-30"),
            3 => return (row, true),
            4 => {
                row.tenant_id.clear();
                row.domain.clear();
            }
            5 => row.assigned = (row.seats.parse::<u64>().unwrap_or(1) + 3).to_string(),
            _ => row.name.push_str(" (old name)"),
        }
        (row, false)
    }

    fn good_row(&mut self) -> Row {
        if self.left == 0 {
            self.new_customer();
        }
        self.left -= 1;
        let list = match (self.subscription_no, self.enterprise) {
            (0, true) => ENTERPRISE_SUITES,
            (0, false) => SMB_SUITES,
            (_, true) => ENTERPRISE_ADD_ONS,
            (_, false) => SMB_ADD_ONS,
        };
        self.subscription_no += 1;
        let (offer, low, high) = *list.choose(&mut self.rng).expect("non-empty");
        let seats = self.rng.random_range(low..=high);
        let assigned = seats - self.rng.random_range(0..=seats / 6);
        let ends = if self.rng.random_bool(0.2) {
            let program = self.customer.program;
            self.end_date(program)
        } else {
            self.anniversary
        };
        let target = if self.rng.random_bool(0.15) {
            target_choices(offer)
                .choose(&mut self.rng)
                .copied()
                .unwrap_or("")
        } else {
            ""
        };
        let target_seats = if self.rng.random_bool(0.03) {
            (seats + self.rng.random_range(1..=seats / 4 + 1)).to_string()
        } else {
            String::new()
        };
        let auto_on = matches!(self.customer.program, "Direct (web)" | "MOSP");
        let flip = self.rng.random_bool(0.15);
        let subscription_id = self.guid().hyphenated().to_string().to_uppercase();
        Row {
            offer,
            subscription_id,
            seats: seats.to_string(),
            assigned: assigned.to_string(),
            ends: Some(ends),
            ends_text: None,
            auto_renew: if auto_on != flip { "Yes" } else { "No" },
            target,
            target_seats,
            ..self.customer.clone()
        }
    }
}

fn write_csv(args: &Args, generator: &mut Generator) -> Result<u64, Box<dyn std::error::Error>> {
    let file = BufWriter::with_capacity(1 << 20, File::create(&args.out)?);
    let mut writer = csv::Writer::from_writer(file);
    writer.write_record(HEADERS)?;
    let mut date_text = String::new();
    let mut written = 0;
    while written < args.rows {
        let (row, twice) = generator.next_row();
        date_text.clear();
        if let Some(text) = row.ends_text {
            date_text.push_str(text);
        } else if let Some(d) = row.ends {
            use std::fmt::Write as _;
            write!(date_text, "{:04}-{:02}-{:02}", d.year(), d.month(), d.day())?;
        }
        let record = [
            row.name.as_str(),
            &row.tenant_id,
            &row.domain,
            &row.email,
            row.country,
            row.program,
            row.offer,
            &row.subscription_id,
            &row.seats,
            &row.assigned,
            &date_text,
            row.auto_renew,
            row.target,
            &row.target_seats,
            row.relationship,
        ];
        writer.write_record(record)?;
        written += 1;
        if twice && written < args.rows {
            writer.write_record(record)?;
            written += 1;
        }
    }
    let mut file = writer.into_inner().map_err(|e| e.into_error())?;
    file.flush()?;
    Ok(std::fs::metadata(&args.out)?.len())
}

fn write_cell(
    sheet: &mut Worksheet,
    r: u32,
    c: u16,
    text: &str,
) -> Result<(), rust_xlsxwriter::XlsxError> {
    if !text.is_empty() {
        sheet.write_string(r, c, text)?;
    }
    Ok(())
}

fn write_xlsx(args: &Args, generator: &mut Generator) -> Result<u64, Box<dyn std::error::Error>> {
    let mut workbook = Workbook::new();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let bold = Format::new().set_bold();
    let sheet = workbook.add_worksheet_with_constant_memory()?;
    sheet.set_name("Subscriptions")?;
    for (c, h) in HEADERS.iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, *h, &bold)?;
    }
    let mut r = 0u32;
    let mut pending: Option<Row> = None;
    while u64::from(r) < args.rows {
        r += 1;
        let row = match pending.take() {
            Some(row) => row,
            None => {
                let (row, twice) = generator.next_row();
                if twice {
                    pending = Some(row.clone());
                }
                row
            }
        };
        write_cell(sheet, r, 0, &row.name)?;
        write_cell(sheet, r, 1, &row.tenant_id)?;
        write_cell(sheet, r, 2, &row.domain)?;
        write_cell(sheet, r, 3, &row.email)?;
        write_cell(sheet, r, 4, row.country)?;
        write_cell(sheet, r, 5, row.program)?;
        write_cell(sheet, r, 6, row.offer)?;
        write_cell(sheet, r, 7, &row.subscription_id)?;
        // Numbers as number cells, as Excel keeps them; bad ones stay text.
        for (c, value) in [(8u16, &row.seats), (9, &row.assigned)] {
            match value.parse::<f64>() {
                Ok(n) => {
                    sheet.write_number(r, c, n)?;
                }
                Err(_) => write_cell(sheet, r, c, value)?,
            }
        }
        match (row.ends_text, row.ends) {
            (Some(text), _) => write_cell(sheet, r, 10, text)?,
            (None, Some(d)) => {
                sheet.write_datetime_with_format(r, 10, d, &date)?;
            }
            (None, None) => {}
        }
        write_cell(sheet, r, 11, row.auto_renew)?;
        write_cell(sheet, r, 12, row.target)?;
        match row.target_seats.parse::<f64>() {
            Ok(n) => {
                sheet.write_number(r, 13, n)?;
            }
            Err(_) => write_cell(sheet, r, 13, &row.target_seats)?,
        }
        write_cell(sheet, r, 14, row.relationship)?;
    }
    workbook.save(&args.out)?;
    Ok(std::fs::metadata(&args.out)?.len())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let format = match args.format {
        Some(f) => f,
        None if args
            .out
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("xlsx")) =>
        {
            OutFormat::Xlsx
        }
        None => OutFormat::Csv,
    };
    if format == OutFormat::Xlsx && args.rows >= 1_048_576 {
        return Err("an .xlsx sheet holds at most 1,048,575 data rows".into());
    }
    let started = Instant::now();
    let mut generator = Generator::new(args.seed, args.as_of, args.bad_fraction);
    let bytes = match format {
        OutFormat::Csv => write_csv(&args, &mut generator)?,
        OutFormat::Xlsx => write_xlsx(&args, &mut generator)?,
    };
    eprintln!(
        "wrote {} rows ({:.1} MB, {:.0} bytes/row) to {} in {:.2} s",
        args.rows,
        bytes as f64 / 1e6,
        bytes as f64 / args.rows.max(1) as f64,
        args.out.display(),
        started.elapsed().as_secs_f64()
    );
    let bad: Vec<String> = BAD_KINDS
        .iter()
        .zip(generator.bad)
        .map(|(kind, n)| format!("{kind}: {n}"))
        .collect();
    eprintln!("deliberately bad rows: {}", bad.join(", "));
    Ok(())
}
