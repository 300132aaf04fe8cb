//! Bytes in, text or workbook out: reading a file or stdin once, telling a workbook from
//! text from anything else, and decoding text without ever replacing a byte silently.
//!
//! The main decision: the content decides what a file is, not its name (a CSV saved as
//! `.txt` or `.xls` is read as text; a `.csv` that starts like a PNG is refused). Text
//! that is valid UTF-8 is used as it is (no copy); otherwise a BOM, `--encoding`, or a
//! detector that tries CP949 and Shift_JIS without replacement and scores how plausible
//! the result is as Korean or Japanese picks the encoding. Bytes that still do not decode
//! are kept as U+FFFD in the text *and* recorded with their offset and original bytes, so
//! the rows holding them can be rejected with `INVALID_ENCODING` and a hex rendering.

use std::io::Read;

use encoding_rs::{DecoderResult, EUC_KR, Encoding, SHIFT_JIS, UTF_8, UTF_16BE, UTF_16LE};

use super::InputError;

/// What the first bytes of an input say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A ZIP container: .xlsx .xlsm .xlsb .ods.
    Zip,
    /// An OLE compound file: .xls (or an encrypted OOXML package).
    Cfb,
    /// Anything that may be CSV/TSV text.
    Text,
}

const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
const ZIP_EMPTY_MAGIC: &[u8] = b"PK\x05\x06";
const CFB_MAGIC: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";

/// Known non-spreadsheet formats, named so the error can say what the file is.
const OTHER_MAGICS: &[(&[u8], &str)] = &[
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xFF\xD8\xFF", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"%PDF-", "a PDF document"),
    (b"\x1F\x8B", "a gzip archive"),
    (b"7z\xBC\xAF\x27\x1C", "a 7-Zip archive"),
    (b"Rar!\x1A\x07", "a RAR archive"),
    (b"\x7FELF", "an executable"),
    (b"MZ", "a Windows executable"),
];

/// Reads the whole input once. `display` is the path as given, for messages.
pub(crate) fn read_bytes(
    path: Option<&std::path::Path>,
    display: &str,
) -> Result<Vec<u8>, InputError> {
    let result = match path {
        Some(path) => std::fs::read(path),
        None => {
            let mut buf = Vec::new();
            std::io::stdin().lock().read_to_end(&mut buf).map(|_| buf)
        }
    };
    result.map_err(|source| InputError::Unreadable {
        path: display.to_string(),
        source,
    })
}

/// Tells a workbook from text from anything else. Empty input is an error here, so every
/// later stage may assume at least one byte.
pub(crate) fn sniff(bytes: &[u8], display: &str) -> Result<Kind, InputError> {
    sniff_as(bytes, display, None)
}

/// [`sniff`] knowing `--encoding`: UTF-16 text without a BOM is full of NUL bytes, so
/// the binary check is skipped when the user says the file is UTF-16.
pub(crate) fn sniff_as(
    bytes: &[u8],
    display: &str,
    forced: Option<&'static Encoding>,
) -> Result<Kind, InputError> {
    if bytes.is_empty() {
        return Err(InputError::Empty {
            path: display.to_string(),
        });
    }
    if bytes.starts_with(ZIP_MAGIC) || bytes.starts_with(ZIP_EMPTY_MAGIC) {
        return Ok(Kind::Zip);
    }
    if bytes.starts_with(CFB_MAGIC) {
        if is_encrypted_package(bytes) {
            return Err(InputError::PasswordProtected {
                path: display.to_string(),
            });
        }
        return Ok(Kind::Cfb);
    }
    for (magic, what) in OTHER_MAGICS {
        if bytes.starts_with(magic) {
            return Err(InputError::NotASpreadsheet {
                path: display.to_string(),
                detail: format!("it is {what}"),
            });
        }
    }
    if let Some(what) = markup(bytes) {
        return Err(InputError::NotASpreadsheet {
            path: display.to_string(),
            detail: format!(
                "it is {what} (some systems save one under an .xls name): open it in Excel and save it as .xlsx or CSV"
            ),
        });
    }
    let utf16 = forced.is_some_and(|e| e == UTF_16LE || e == UTF_16BE);
    if bom(bytes).is_none() && !utf16 && looks_binary(bytes) {
        return Err(InputError::NotASpreadsheet {
            path: display.to_string(),
            detail: "it holds binary data (NUL or control bytes), not text or a workbook".into(),
        });
    }
    Ok(Kind::Text)
}

/// HTML tables and Excel 2003 XML are what old portals export as ".xls": calamine
/// reads neither, and read as CSV they would only give a confusing "no header row".
fn markup(bytes: &[u8]) -> Option<&'static str> {
    let start = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let head: Vec<u8> = start
        .iter()
        .skip_while(|b| b.is_ascii_whitespace())
        .take(512)
        .map(u8::to_ascii_lowercase)
        .collect();
    let contains = |needle: &[u8]| head.windows(needle.len()).any(|w| w == needle);
    if head.starts_with(b"<!doctype html")
        || head.starts_with(b"<html")
        || head.starts_with(b"<table")
    {
        Some("an HTML page")
    } else if head.starts_with(b"<?xml")
        && contains(b"urn:schemas-microsoft-com:office:spreadsheet")
    {
        Some("an Excel 2003 XML spreadsheet")
    } else if head.starts_with(b"<?xml") || (head.starts_with(b"<") && contains(b"xmlns")) {
        Some("an XML document")
    } else {
        None
    }
}

/// An OOXML file saved with a password is an OLE compound file holding a stream named
/// `EncryptedPackage` (MS-OFFCRYPTO); its directory entry names are UTF-16LE.
fn is_encrypted_package(bytes: &[u8]) -> bool {
    let needle: Vec<u8> = "EncryptedPackage"
        .encode_utf16()
        .flat_map(|u| u.to_le_bytes())
        .collect();
    bytes.windows(needle.len()).any(|w| w == needle.as_slice())
}

/// NUL bytes, or many C0 control bytes other than tab/CR/LF/FF, in the first 8 KiB mean
/// binary data (UTF-16 without a BOM is not supported: Excel always writes the BOM).
fn looks_binary(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(8192)];
    if head.contains(&0) {
        return true;
    }
    let controls = head
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0C) || b == 0x7F)
        .count();
    controls * 20 > head.len()
}

/// The BOM at the start of the bytes, with its length.
fn bom(bytes: &[u8]) -> Option<(&'static Encoding, usize)> {
    Encoding::for_bom(bytes)
}

/// Bytes that did not decode: where their U+FFFD stands in the text, and what they were.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadBytes {
    pub offset: usize,
    pub bytes: Vec<u8>,
}

/// Decoded text plus the places where the bytes did not decode.
#[derive(Debug)]
pub(crate) struct Decoded {
    pub text: String,
    pub encoding: &'static Encoding,
    /// Sorted by offset; empty for a clean decode.
    pub bad: Vec<BadBytes>,
    /// The original bytes when `text` is not simply them (BOM, another encoding), for
    /// the input's sha256.
    pub raw: Option<Vec<u8>>,
}

/// `\xB0\xA1` style rendering of raw bytes, for messages.
pub(crate) fn hex_bytes(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("\\x{b:02X}")).collect()
}

/// Decodes text input: BOM first, then `forced`, then UTF-8, then detection.
pub(crate) fn decode(bytes: Vec<u8>, forced: Option<&'static Encoding>) -> Decoded {
    if let Some((encoding, len)) = bom(&bytes) {
        // A BOM is stronger evidence than a flag: Excel writes it and nothing else does.
        let (text, bad) = decode_marking(encoding, &bytes[len..]);
        return Decoded {
            text,
            encoding,
            bad,
            raw: Some(bytes),
        };
    }
    if let Some(encoding) = forced {
        if encoding == UTF_8 {
            return decode_utf8(bytes);
        }
        let (text, bad) = decode_marking(encoding, &bytes);
        return Decoded {
            text,
            encoding,
            bad,
            raw: Some(bytes),
        };
    }
    if std::str::from_utf8(&bytes).is_ok() {
        return decode_utf8(bytes);
    }
    let encoding = detect_legacy(&bytes);
    let (text, bad) = decode_marking(encoding, &bytes);
    Decoded {
        text,
        encoding,
        bad,
        raw: Some(bytes),
    }
}

/// UTF-8 without a copy when it is valid (the common, big-file case).
fn decode_utf8(bytes: Vec<u8>) -> Decoded {
    match String::from_utf8(bytes) {
        Ok(text) => Decoded {
            text,
            encoding: UTF_8,
            bad: Vec::new(),
            raw: None,
        },
        Err(err) => {
            let bytes = err.into_bytes();
            let (text, bad) = decode_marking(UTF_8, &bytes);
            Decoded {
                text,
                encoding: UTF_8,
                bad,
                raw: Some(bytes),
            }
        }
    }
}

/// Decodes without replacement; every malformed sequence becomes one U+FFFD in the text
/// and one [`BadBytes`] entry.
fn decode_marking(encoding: &'static Encoding, src: &[u8]) -> (String, Vec<BadBytes>) {
    let mut decoder = encoding.new_decoder_without_bom_handling();
    let mut text = String::with_capacity(
        decoder
            .max_utf8_buffer_length_without_replacement(src.len())
            .unwrap_or(src.len()),
    );
    let mut bad = Vec::new();
    let mut pos = 0;
    loop {
        let (result, read) =
            decoder.decode_to_string_without_replacement(&src[pos..], &mut text, true);
        pos += read;
        match result {
            DecoderResult::InputEmpty => break,
            DecoderResult::OutputFull => {
                let more = decoder
                    .max_utf8_buffer_length_without_replacement(src.len() - pos)
                    .unwrap_or(1024)
                    .max(16);
                text.reserve(more);
            }
            DecoderResult::Malformed(len, extra) => {
                let end = pos - extra as usize;
                let start = end.saturating_sub(len as usize);
                bad.push(BadBytes {
                    offset: text.len(),
                    bytes: src[start..end].to_vec(),
                });
                text.push('\u{FFFD}');
            }
        }
    }
    (text, bad)
}

/// How many malformed sequences the encoding finds in `sample`.
fn count_malformed(encoding: &'static Encoding, sample: &[u8]) -> usize {
    let mut decoder = encoding.new_decoder_without_bom_handling();
    let mut out = vec![0u8; 64 * 1024];
    let mut pos = 0;
    let mut errors = 0;
    loop {
        let (result, read, _) =
            decoder.decode_to_utf8_without_replacement(&sample[pos..], &mut out, true);
        pos += read;
        match result {
            DecoderResult::InputEmpty => return errors,
            DecoderResult::OutputFull => {}
            DecoderResult::Malformed(..) => errors += 1,
        }
    }
}

/// Plausibility of `sample` as CP949 Korean: two-byte codes in the KS X 1001 Hangul
/// block (lead 0xB0–0xC8, trail 0xA1–0xFE) hold the 2,350 syllables real text uses.
fn korean_score(sample: &[u8]) -> i64 {
    let mut score = 0;
    let mut i = 0;
    while i < sample.len() {
        let b = sample[i];
        if b < 0x80 {
            i += 1;
            continue;
        }
        match sample.get(i + 1) {
            Some(&t) if (0xB0..=0xC8).contains(&b) && (0xA1..=0xFE).contains(&t) => score += 2,
            Some(_) => score -= 1,
            None => {}
        }
        i += 2;
    }
    score
}

/// Plausibility of `sample` as Shift_JIS Japanese: hiragana, katakana, JIS symbols and
/// level-1/2 kanji count for it; half-width katakana (what Korean bytes turn into) against.
fn japanese_score(sample: &[u8]) -> i64 {
    let mut score = 0;
    let mut i = 0;
    while i < sample.len() {
        let b = sample[i];
        if b < 0x80 {
            i += 1;
            continue;
        }
        if (0xA1..=0xDF).contains(&b) {
            score -= 1;
            i += 1;
            continue;
        }
        let t = sample.get(i + 1).copied().unwrap_or(0);
        score += match b {
            0x82 if (0x9F..=0xF1).contains(&t) => 2,
            0x83 if (0x40..=0x96).contains(&t) => 2,
            0x81 => 1,
            0x88..=0x9F | 0xE0..=0xEA if (0x40..=0xFC).contains(&t) => 1,
            _ => -1,
        };
        i += 2;
    }
    score
}

/// Picks among UTF-8, CP949 and Shift_JIS for bytes that are not valid UTF-8: fewest
/// malformed sequences wins, a legacy encoding only when its text is plausible, ties go
/// to the more plausible one. UTF-8 is the fallback, so a UTF-8 file with a few bad
/// bytes keeps its good rows and rejects the bad ones.
fn detect_legacy(bytes: &[u8]) -> &'static Encoding {
    // Cut the sample at a line end so that no character is split.
    let mut end = bytes.len().min(1 << 20);
    if end < bytes.len()
        && let Some(nl) = bytes[..end].iter().rposition(|&b| b == b'\n')
    {
        end = nl + 1;
    }
    let sample = &bytes[..end];
    let utf8_errors = count_malformed(UTF_8, sample);
    // Mostly good UTF-8 with a few bad bytes is a UTF-8 file with a few bad rows: legacy
    // decoders would read its multi-byte characters as (valid-looking) nonsense.
    let (utf8_text, _) = UTF_8.decode_without_bom_handling(sample);
    let utf8_chars = utf8_text
        .chars()
        .filter(|&c| !c.is_ascii() && c != '\u{FFFD}')
        .count();
    if utf8_chars >= 4 * utf8_errors {
        return UTF_8;
    }
    let mut best = (UTF_8, utf8_errors, 0i64);
    for (encoding, score) in [
        (EUC_KR, korean_score(sample)),
        (SHIFT_JIS, japanese_score(sample)),
    ] {
        if score <= 0 {
            continue;
        }
        let errors = count_malformed(encoding, sample);
        if errors < best.1 || (errors == best.1 && score > best.2) {
            best = (encoding, errors, score);
        }
    }
    tracing::debug!(
        encoding = best.0.name(),
        malformed = best.1,
        "detected the text encoding"
    );
    best.0
}

/// `--encoding` names: the usual Windows and IANA spellings, then any WHATWG label.
pub fn parse_encoding_name(name: &str) -> Option<&'static Encoding> {
    let key: String = name
        .trim()
        .chars()
        .filter(|c| !matches!(c, '-' | '_' | ' '))
        .flat_map(char::to_lowercase)
        .collect();
    let known = match key.as_str() {
        "utf8" | "utf8bom" | "utf8sig" | "unicode" => Some(UTF_8),
        "utf16le" | "utf16" | "ucs2" | "ucs2le" | "unicodele" => Some(UTF_16LE),
        "utf16be" | "ucs2be" | "unicodebe" => Some(UTF_16BE),
        "cp949" | "ms949" | "windows949" | "uhc" | "euckr" | "ksc56011987" | "ksc5601"
        | "korean" => Some(EUC_KR),
        "shiftjis" | "sjis" | "cp932" | "ms932" | "windows31j" | "windows932" | "mskanji"
        | "xsjis" => Some(SHIFT_JIS),
        _ => None,
    };
    known.or_else(|| Encoding::for_label(name.trim().as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_names() {
        for (name, enc) in [
            ("utf-8", UTF_8),
            ("UTF8", UTF_8),
            ("utf-16le", UTF_16LE),
            ("UTF-16BE", UTF_16BE),
            ("cp949", EUC_KR),
            ("euc-kr", EUC_KR),
            ("ks_c_5601-1987", EUC_KR),
            ("shift_jis", SHIFT_JIS),
            ("sjis", SHIFT_JIS),
            ("CP932", SHIFT_JIS),
            ("windows-31j", SHIFT_JIS),
            ("windows-1252", encoding_rs::WINDOWS_1252),
        ] {
            assert_eq!(parse_encoding_name(name), Some(enc), "{name}");
        }
        assert_eq!(parse_encoding_name("klingon"), None);
    }

    #[test]
    fn detects_cp949_korean() {
        let (bytes, _, _) =
            EUC_KR.encode("고객 ID,제품,수량\n1,마이크로소프트 365 비즈니스 프리미엄,10\n");
        let decoded = decode(bytes.into_owned(), None);
        assert_eq!(decoded.encoding, EUC_KR);
        assert!(decoded.text.starts_with("고객 ID,제품,수량"));
        assert!(decoded.bad.is_empty());
    }

    #[test]
    fn detects_shift_jis_japanese() {
        let (bytes, _, _) =
            SHIFT_JIS.encode("テナント ID,プラン,数量\n1,マイクロソフト 365 ビジネス スタンダード,10\n顧客名,会社名,有効期限\n");
        let decoded = decode(bytes.into_owned(), None);
        assert_eq!(decoded.encoding, SHIFT_JIS);
        assert!(decoded.text.starts_with("テナント ID,プラン,数量"));
        assert!(decoded.bad.is_empty());
    }

    #[test]
    fn utf16_with_bom() {
        let text = "顧客名\tシート数\n고객\t5\n";
        let mut le = vec![0xFF, 0xFE];
        le.extend(text.encode_utf16().flat_map(|u| u.to_le_bytes()));
        let mut be = vec![0xFE, 0xFF];
        be.extend(text.encode_utf16().flat_map(|u| u.to_be_bytes()));
        for (bytes, enc) in [(le, UTF_16LE), (be, UTF_16BE)] {
            assert_eq!(sniff(&bytes, "x").unwrap(), Kind::Text);
            let decoded = decode(bytes, None);
            assert_eq!(decoded.encoding, enc);
            assert_eq!(decoded.text, text);
        }
    }

    #[test]
    fn utf8_bom_is_stripped() {
        let decoded = decode(b"\xEF\xBB\xBFa,b\n".to_vec(), None);
        assert_eq!(decoded.text, "a,b\n");
    }

    #[test]
    fn bad_utf8_bytes_are_marked_not_replaced_silently() {
        let decoded = decode(b"a,b\nx\xFFy,2\n".to_vec(), None);
        assert_eq!(decoded.encoding, UTF_8);
        assert_eq!(decoded.text, "a,b\nx\u{FFFD}y,2\n");
        assert_eq!(
            decoded.bad,
            vec![BadBytes {
                offset: 5,
                bytes: vec![0xFF]
            }]
        );
        assert_eq!(hex_bytes(&decoded.bad[0].bytes), "\\xFF");
    }

    #[test]
    fn forced_encoding_wins_over_detection() {
        let (bytes, _, _) = SHIFT_JIS.encode("ドメイン,数量\n");
        let decoded = decode(bytes.into_owned(), Some(SHIFT_JIS));
        assert_eq!(decoded.text, "ドメイン,数量\n");
    }

    #[test]
    fn sniffs_kinds() {
        assert_eq!(sniff(b"PK\x03\x04rest", "x").unwrap(), Kind::Zip);
        assert_eq!(sniff(CFB_MAGIC, "x").unwrap(), Kind::Cfb);
        assert!(matches!(sniff(b"", "x"), Err(InputError::Empty { .. })));
        assert!(matches!(
            sniff(b"\x89PNG\r\n\x1a\n\0\0", "x"),
            Err(InputError::NotASpreadsheet { .. })
        ));
        assert!(matches!(
            sniff(b"ab\0\0cd", "x"),
            Err(InputError::NotASpreadsheet { .. })
        ));
        assert!(matches!(
            sniff(b"<html><body><table><tr><td>Domain</td></tr></table>", "x"),
            Err(InputError::NotASpreadsheet { detail, .. }) if detail.contains("HTML")
        ));
        let bomless: Vec<u8> = "Domain\tOffer"
            .encode_utf16()
            .flat_map(|u| u.to_le_bytes())
            .collect();
        assert!(sniff(&bomless, "x").is_err());
        assert_eq!(sniff_as(&bomless, "x", Some(UTF_16LE)).unwrap(), Kind::Text);
        let mut encrypted = CFB_MAGIC.to_vec();
        encrypted.extend(
            "EncryptedPackage"
                .encode_utf16()
                .flat_map(|u| u.to_le_bytes()),
        );
        assert!(matches!(
            sniff(&encrypted, "x"),
            Err(InputError::PasswordProtected { .. })
        ));
    }
}
