//! Writes the committed reader fixtures of `tests/fixtures/` (the CSV/XLSX twins, the
//! Korean CP949 and Japanese Shift_JIS files, the broken and hostile files, the catalog
//! and offer-map files) that `src/input/tests.rs` reads back. It is a generator, not a
//! test: run it on purpose after changing a fixture,
//!
//! ```sh
//! cargo run --example write_fixtures [-- OUT_DIR]   # default tests/fixtures
//! ```
//!
//! and commit the files it writes. The output is a pure function of this file (fixed
//! cell values, no clock, no randomness), so an unchanged generator rewrites every
//! fixture byte for byte. `basic.ods` and `basic.xls` come from `make_ods.py` and
//! `make_xls.py` beside the fixtures; `tests/fixtures/README.md` lists them all.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use encoding_rs::{EUC_KR, SHIFT_JIS};
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook};

const CONTOSO: &str = "0f5a3c1e-2b4d-4e6f-8a9b-1c2d3e4f5a6b";

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn main() {
    let dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"));
    write_fixtures(&dir);
    eprintln!("fixtures written to {}", dir.display());
}

/// A cell of a generated workbook.
#[derive(Clone)]
enum X {
    S(&'static str),
    N(f64),
    D(NaiveDate),
    E,
}

/// A sheet to write: name, top-left cell (row, column), rows.
type SheetSpec<'a> = (&'a str, (u32, u16), Vec<Vec<X>>);

fn write_xlsx(path: &Path, sheets: &[SheetSpec<'_>]) {
    let mut book = Workbook::new();
    // The creation time the committed workbooks carry, so a rerun writes the same bytes.
    let created = ExcelDateTime::from_ymd(2026, 11, 21)
        .and_then(|d| d.and_hms(12, 13, 4))
        .unwrap();
    book.set_properties(&DocProperties::new().set_creation_datetime(&created));
    let date = Format::new().set_num_format("yyyy-mm-dd");
    for (name, (r0, c0), rows) in sheets {
        let sheet = book.add_worksheet();
        sheet.set_name(*name).unwrap();
        for (r, row) in rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                let (r, c) = (r0 + r as u32, c0 + c as u16);
                match cell {
                    X::S(s) => {
                        sheet.write_string(r, c, *s).unwrap();
                    }
                    X::N(n) => {
                        sheet.write_number(r, c, *n).unwrap();
                    }
                    X::D(day) => {
                        sheet.write_datetime_with_format(r, c, day, &date).unwrap();
                    }
                    X::E => {}
                }
            }
        }
    }
    book.save(path).unwrap();
}

/// The CSV twin of a sheet: numbers as Excel would save them, dates as ISO.
fn to_csv(rows: &[Vec<X>]) -> String {
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .map(|cell| match cell {
                X::S(s) if s.contains([',', '"', '\n']) => {
                    format!("\"{}\"", s.replace('"', "\"\""))
                }
                X::S(s) => s.to_string(),
                X::N(n) => format!("{n}"),
                X::D(day) => day.to_string(),
                X::E => String::new(),
            })
            .collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out
}

fn basic_rows() -> Vec<Vec<X>> {
    use X::*;
    let header = [
        "Customer ID",
        "Domain",
        "Customer name",
        "Contact email",
        "Country",
        "Program",
        "Product name",
        "Subscription ID",
        "Quantity",
        "Assigned licenses",
        "End date",
        "Auto-renew",
        "Target offer",
        "Relationship",
    ];
    vec![
        header.iter().map(|h| S(h)).collect(),
        vec![
            S(CONTOSO),
            S("Contoso.com"),
            S("Contoso Ltd"),
            S("admin@contoso.com"),
            S("kr"),
            S("Open Value"),
            S("Microsoft 365 Business Premium"),
            S("5d1e8f2a-1111-4c3b-9a7d-000000000001"),
            N(25.0),
            N(20.0),
            D(d(2027, 1, 31)),
            S("Yes"),
            E,
            S("Accepted"),
        ],
        vec![
            S(CONTOSO),
            S("contoso.com"),
            S("Contoso Ltd"),
            S("admin@contoso.com"),
            S("KR"),
            S("Open Value"),
            S("Microsoft 365 E3"),
            S("5d1e8f2a-1111-4c3b-9a7d-000000000002"),
            N(1200.0),
            N(1000.0),
            D(d(2026, 12, 15)),
            S("No"),
            S("Microsoft 365 E5"),
            S("Accepted"),
        ],
        vec![
            E,
            S("fabrikam.co.kr"),
            S("Fabrikam"),
            S("it@fabrikam.co.kr"),
            S("KR"),
            S("Enterprise Agreement"),
            S("Office 365 E1"),
            E,
            N(10.0),
            E,
            D(d(2026, 11, 25)),
            E,
            E,
            E,
        ],
        vec![
            S("n/a"),
            S("tailspin.jp"),
            S("Tailspin Toys"),
            E,
            S("JP"),
            S("Open"),
            S("Microsoft 365 Business Standard"),
            E,
            N(5.0),
            N(5.0),
            E,
            S("no"),
            E,
            S("pending"),
        ],
        vec![
            E,
            S("wingtip.com"),
            S("Wingtip"),
            E,
            S("US"),
            S("Open"),
            S("Office 365 E3"),
            E,
            N(-3.0),
            E,
            E,
            E,
            E,
            E,
        ],
    ]
}

fn title_rows() -> Vec<Vec<X>> {
    use X::*;
    let mut rows = vec![
        vec![S("Microsoft 365 subscriptions export")],
        vec![S("Generated 2026-11-21 by Partner Center")],
        vec![],
    ];
    rows.extend(basic_rows());
    rows
}

/// A minimal OLE compound file holding `EncryptionInfo` and `EncryptedPackage` streams:
/// what Excel writes when a workbook is saved with a password (MS-OFFCRYPTO).
fn encrypted_package() -> Vec<u8> {
    const END: u32 = 0xFFFF_FFFE;
    const FREE: u32 = 0xFFFF_FFFF;
    const FATSECT: u32 = 0xFFFF_FFFD;
    let mut header = vec![0u8; 512];
    header[..8].copy_from_slice(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1");
    header[24..26].copy_from_slice(&0x3Eu16.to_le_bytes());
    header[26..28].copy_from_slice(&3u16.to_le_bytes());
    header[28..30].copy_from_slice(&0xFFFEu16.to_le_bytes());
    header[30..32].copy_from_slice(&9u16.to_le_bytes());
    header[32..34].copy_from_slice(&6u16.to_le_bytes());
    header[44..48].copy_from_slice(&1u32.to_le_bytes()); // FAT sectors
    header[48..52].copy_from_slice(&1u32.to_le_bytes()); // first directory sector
    header[56..60].copy_from_slice(&4096u32.to_le_bytes());
    header[60..64].copy_from_slice(&END.to_le_bytes());
    header[68..72].copy_from_slice(&END.to_le_bytes());
    header[76..80].copy_from_slice(&0u32.to_le_bytes()); // DIFAT[0]: FAT in sector 0
    for i in 1..109 {
        header[76 + 4 * i..80 + 4 * i].copy_from_slice(&FREE.to_le_bytes());
    }
    // FAT: sector 0 FAT, 1 directory, 2..=9 EncryptionInfo, 10..=17 EncryptedPackage.
    let mut fat = vec![FREE; 128];
    fat[0] = FATSECT;
    fat[1] = END;
    for (s, next) in fat.iter_mut().enumerate().take(9).skip(2) {
        *next = s as u32 + 1;
    }
    fat[9] = END;
    for (s, next) in fat.iter_mut().enumerate().take(17).skip(10) {
        *next = s as u32 + 1;
    }
    fat[17] = END;
    let fat: Vec<u8> = fat.iter().flat_map(|v| v.to_le_bytes()).collect();
    let entry = |name: &str, kind: u8, left: u32, right: u32, child: u32, start: u32, size: u64| {
        let mut e = vec![0u8; 128];
        let units: Vec<u8> = name
            .encode_utf16()
            .chain([0])
            .flat_map(|u| u.to_le_bytes())
            .collect();
        e[..units.len()].copy_from_slice(&units);
        e[64..66].copy_from_slice(&(units.len() as u16).to_le_bytes());
        e[66] = kind;
        e[67] = 1; // black
        e[68..72].copy_from_slice(&left.to_le_bytes());
        e[72..76].copy_from_slice(&right.to_le_bytes());
        e[76..80].copy_from_slice(&child.to_le_bytes());
        e[116..120].copy_from_slice(&start.to_le_bytes());
        e[120..128].copy_from_slice(&size.to_le_bytes());
        e
    };
    let mut dir = Vec::new();
    dir.extend(entry("Root Entry", 5, FREE, FREE, 2, END, 0));
    dir.extend(entry("EncryptionInfo", 2, FREE, FREE, FREE, 2, 4096));
    dir.extend(entry("EncryptedPackage", 2, 1, FREE, FREE, 10, 4096));
    dir.extend(vec![0u8; 128]);
    let mut out = header;
    out.extend(fat);
    out.extend(dir);
    out.extend((0..8192u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8));
    out
}

fn write_fixtures(dir: &Path) {
    use X::*;
    let put = |name: &str, bytes: &[u8]| std::fs::write(dir.join(name), bytes).unwrap();

    // Twins: the same table as CSV and as XLSX.
    write_xlsx(
        &dir.join("basic.xlsx"),
        &[("Customers", (0, 0), basic_rows())],
    );
    put("basic.csv", to_csv(&basic_rows()).as_bytes());
    write_xlsx(
        &dir.join("title_block.xlsx"),
        &[("Export", (0, 0), title_rows())],
    );
    put("title_block.csv", to_csv(&title_rows()).as_bytes());
    write_xlsx(
        &dir.join("table_on_second_sheet.xlsx"),
        &[
            (
                "Summary",
                (0, 0),
                vec![
                    vec![S("Customers"), N(4.0)],
                    vec![S("Subscriptions"), N(5.0)],
                ],
            ),
            ("Subscriptions", (0, 0), basic_rows()),
        ],
    );
    // The used range starts at C5: row numbers are the sheet's own.
    write_xlsx(
        &dir.join("table_at_c5.xlsx"),
        &[("Data", (4, 2), basic_rows())],
    );
    let truncated = std::fs::read(dir.join("basic.xlsx")).unwrap();
    put("truncated.xlsx", &truncated[..truncated.len() / 2]);
    put("password_protected.xlsx", &encrypted_package());
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10\0\0\0\x10\x08\x06\0\0\0".to_vec();
    png.extend((0..200u32).map(|i| (i.wrapping_mul(40_503) >> 7) as u8));
    put("not_a_spreadsheet.csv", &png);
    put("empty.csv", b"");
    put("header_only.csv", b"Domain,Offer,Seats\r\n");
    put(
        "no_header.csv",
        "Name,Phone,City\nKim,010-1234-5678,Seoul\n".as_bytes(),
    );

    // Korean: CP949 bytes, Korean headers and Korean dates.
    let korean = "고객 ID,도메인,고객 이름,제품,사용자 수,할당됨,만료 날짜,자동 갱신,재판매인 관계\r\n\
        0f5a3c1e-2b4d-4e6f-8a9b-1c2d3e4f5a6b,contoso.co.kr,콘토소,Microsoft 365 Business Premium,25,20,2027. 1. 31.,예,승인됨\r\n\
        ,fabrikam.co.kr,파브리캄,Microsoft 365 E3,\"1,200\",900,2026년 12월 15일,아니요,\r\n\
        ,tailspin.kr,테일스핀,Office 365 E1,１０,,2026-11-25,사용 안 함,대기 중\r\n";
    put("dates_korean.csv", korean.as_bytes());
    put("cp949_headers.csv", &EUC_KR.encode(korean).0);
    let japanese = "テナント ID,ドメイン,会社名,プラン,数量,割り当て済み,有効期限,自動更新,再販業者関係\r\n\
        0f5a3c1e-2b4d-4e6f-8a9b-1c2d3e4f5a6b,contoso.co.jp,コントソ株式会社,Microsoft 365 Business Premium,25,20,2027年1月31日,はい,承認済み\r\n\
        ,fabrikam.co.jp,ファブリカム,Microsoft 365 E3,\"1,200\",900,令和8年12月15日,いいえ,\r\n\
        ,tailspin.jp,テイルスピン,Office 365 E1,１０,,2026/11/25,無効,保留中\r\n";
    put("dates_japanese.csv", japanese.as_bytes());
    put("shift_jis_headers.csv", &SHIFT_JIS.encode(japanese).0);
    // Excel's "Unicode text": UTF-16LE with a BOM, tab-separated.
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(
        japanese
            .replace(",", "\t")
            .replace("\"1\t200\"", "1200")
            .encode_utf16()
            .flat_map(|u| u.to_le_bytes()),
    );
    put("utf16le_bom.txt", &utf16);
    put(
        "semicolon.csv",
        "Domain;Product;Seats;End date\r\ncontoso.com;Office 365 E3;1.200,0;21.11.2026\r\n"
            .as_bytes(),
    );

    // One row per rejection code, with a blank line and a multi-line quoted cell above
    // some of them so that their row numbers show the counting.
    put(
        "rejections.csv",
        "Customer ID,Domain,Customer name,Product,Seats,Assigned,Target seats,End date,Auto renew,Relationship\n\
         ,,Nobody,Office 365 E1,5,,,,,\n\
         ,a.com,A,,5,,,,,\n\
         \n\
         ,b.com,\"B\nwith a two-line name\",Office 365 E1,-3,,,,,\n\
         ,c.com,C,Office 365 E1,12.5,,,,,\n\
         ,d.com,D,Office 365 E1,5,-1,,,,\n\
         ,e.com,E,Office 365 E1,5,,0,,,\n\
         ,f.com,F,Office 365 E1,5,,,2026-02-30,,\n\
         ,g.com,G,Office 365 E1,5,,,03/04/2026,,\n\
         ,h.com,H,Office 365 E1,5,,,,maybe,\n\
         ,i.com,I,Office 365 E1,5,,,,,someday\n\
         ,j.com,J,Office 365 E1,5,,,,,\n"
            .as_bytes(),
    );
    let mut bad =
        b"Domain,Product,Seats\ncontoso.com,Office 365 E1,5\nfabrikam.com,Office \xFF\xFE E3,7\n"
            .to_vec();
    for i in 0..20 {
        bad.extend(format!("x{i}.com,Office 365 E1,{}\n", i + 1).bytes());
    }
    put("bad_bytes_in_one_row.csv", &bad);
    put(
        "dates_day_first.csv",
        "Domain,Product,Seats,End date\na.com,E1,1,03/04/2026\nb.com,E1,1,25/12/2026\n".as_bytes(),
    );
    put(
        "dates_ambiguous.csv",
        "Domain,Product,Seats,End date\na.com,E1,1,03/04/2026\nb.com,E1,1,05/06/2026\n".as_bytes(),
    );
    put(
        "catalog.csv",
        "offer_id,offer_name,sku_id,sku_part_number,min_quantity,max_quantity,country\n\
         CFQ7TTC0LCHC:0002,Microsoft 365 E3,05E9A617-0261-4CEE-BB44-138D3EF5D965,SPE_E3,1,300,kr\n\
         CFQ7TTC0LDPB:0001,Microsoft 365 Business Premium,cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46,SPB,1,300,\n"
            .as_bytes(),
    );
    put(
        "offer_map.csv",
        "Legacy offer,CSP offer\nOffice 365 E3,Microsoft 365 E3\n".as_bytes(),
    );
    put(
        "catalog_bad_row.csv",
        "Offer ID,Offer name,SKU ID\nX:1,E3,not-a-guid\n".as_bytes(),
    );
}
