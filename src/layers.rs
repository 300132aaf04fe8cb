//! The layering test: reads every `src/**/*.rs` of the library and fails when a module
//! uses a module its row in the table of `src/lib.rs` does not allow.
//!
//! Main decision: the allowed uses are read from the table in the crate documentation,
//! so the documented pipeline and the checked one cannot drift apart, and a new module
//! without a row fails the test. A use is any `crate::NAME` path in code; comments,
//! strings and `#[cfg(test)]` modules are skipped (a test may build its fixtures with
//! a higher layer, as the plan-file reader's tests write plans with `plan::write`). The
//! binary (`src/main.rs`, `src/cli/`) is glue and may use every layer. A Cargo workspace
//! would let the compiler enforce this; it was not wanted while several people move
//! files at once, so this test stands in for it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The rows of the layer table in `src/lib.rs`: module → modules it may use.
fn allowed(lib_rs: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut table = BTreeMap::new();
    for line in lib_rs.lines() {
        let Some(row) = line.strip_prefix("//! | `") else {
            continue;
        };
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let module = cells[0].trim_end_matches('`').to_string();
        let uses = cells
            .get(1)
            .map(|c| {
                c.split(',')
                    .map(|u| u.trim().trim_matches('`').to_string())
                    .filter(|u| !u.is_empty() && u != "—")
                    .collect()
            })
            .unwrap_or_default();
        table.insert(module, uses);
    }
    table
}

/// `source` without comments, string and char literals (each replaced by a space) and
/// without `#[cfg(test)]` modules.
fn code_only(source: &str) -> String {
    let bytes = source.as_bytes();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    while i < bytes.len() {
        let rest = &source[i..];
        if rest.starts_with("//") {
            i += rest.find('\n').unwrap_or(rest.len());
        } else if let Some(comment) = rest.strip_prefix("/*") {
            i += comment.find("*/").map_or(rest.len(), |e| e + 4);
        } else if let Some(len) = raw_string_len(rest) {
            i += len;
            out.push(' ');
        } else if rest.starts_with('"') {
            let mut j = 1;
            while j < rest.len() {
                match bytes[i + j] {
                    b'\\' => j += 2,
                    b'"' => break,
                    _ => j += 1,
                }
            }
            i += j + 1;
            out.push(' ');
        } else if let Some(len) = char_literal_len(rest) {
            i += len;
            out.push(' ');
        } else {
            let ch = rest.chars().next().expect("not at the end");
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    strip_test_modules(&out)
}

/// `r"…"`, `r#"…"#`, `br"…"`: the literal's length in bytes.
fn raw_string_len(rest: &str) -> Option<usize> {
    let after_b = rest.strip_prefix('b').unwrap_or(rest);
    let after_r = after_b.strip_prefix('r')?;
    let hashes = after_r.len() - after_r.trim_start_matches('#').len();
    let body = after_r[hashes..].strip_prefix('"')?;
    let close = format!("\"{}", "#".repeat(hashes));
    let end = body.find(&close)?;
    Some(rest.len() - body.len() + end + close.len())
}

/// `'x'`, `'\n'`, `'\u{1F600}'`, `'{'`; a lifetime (`'a`) is not a literal.
fn char_literal_len(rest: &str) -> Option<usize> {
    let body = rest.strip_prefix('\'')?;
    if let Some(escaped) = body.strip_prefix('\\') {
        return Some(1 + 1 + escaped.find('\'')? + 1);
    }
    let ch = body.chars().next()?;
    body[ch.len_utf8()..]
        .starts_with('\'')
        .then_some(1 + ch.len_utf8() + 1)
}

/// Removes every `#[cfg(test)] mod NAME { … }` (the code has no strings left, so the
/// braces balance).
fn strip_test_modules(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let after = rest[at + "#[cfg(test)]".len()..].trim_start();
        let is_inline_mod = after.starts_with("mod ")
            && after
                .find(['{', ';'])
                .is_some_and(|p| after.as_bytes()[p] == b'{');
        if !is_inline_mod {
            rest = &rest[at + "#[cfg(test)]".len()..];
            continue;
        }
        let open = after.find('{').expect("checked");
        let mut depth = 0usize;
        let mut end = after.len();
        for (i, b) in after.bytes().enumerate().skip(open) {
            match b {
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// The crate modules `code` names as `crate::NAME`.
fn uses(code: &str) -> BTreeSet<String> {
    code.match_indices("crate::")
        .filter(|(at, _)| {
            // `cspmove_crate::x` or `$crate::` are not ours.
            let before = code[..*at].chars().next_back();
            !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$')
        })
        .filter_map(|(at, m)| {
            let name: String = code[at + m.len()..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            (!name.is_empty()).then_some(name)
        })
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file of `src/` belongs to (`src/plan/rules.rs` → `plan`);
/// `None` for the crate root and the binary.
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    match first {
        "lib.rs" | "main.rs" | "cli" | "layers.rs" => None,
        name => Some(name.trim_end_matches(".rs").to_string()),
    }
}

/// Files that are tests as a whole (`tests.rs`, `*_tests.rs`), declared with
/// `#[cfg(test)] mod NAME;`.
fn is_test_file(file: &Path) -> bool {
    file.file_stem()
        .and_then(|s| s.to_str())
        .is_some_and(|s| s == "tests" || s.ends_with("_tests"))
}

#[test]
fn every_module_uses_only_the_layers_lib_rs_allows() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib_rs = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    let table = allowed(&lib_rs);
    let declared: BTreeSet<String> = lib_rs
        .lines()
        .filter_map(|l| l.strip_prefix("pub mod "))
        .map(|m| m.trim_end_matches(';').to_string())
        .collect();
    let rows: BTreeSet<String> = table.keys().cloned().collect();
    assert_eq!(
        declared, rows,
        "every `pub mod` of lib.rs needs a row in its layer table"
    );

    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut broken = Vec::new();
    let mut checked = 0;
    for file in files {
        let Some(module) = module_of(&src, &file) else {
            continue;
        };
        if is_test_file(&file) {
            continue;
        }
        let may = &table[&module];
        let code = code_only(&std::fs::read_to_string(&file).unwrap());
        for used in uses(&code) {
            checked += 1;
            if used != module && table.contains_key(&used) && !may.contains(&used) {
                broken.push(format!(
                    "{}: {module} uses {used}",
                    file.strip_prefix(&src).unwrap().display()
                ));
            }
        }
    }
    assert!(
        checked > 50,
        "only {checked} uses found: is the scanner broken?"
    );
    assert_eq!(
        broken,
        Vec::<String>::new(),
        "uses the table in src/lib.rs forbids"
    );
}

/// The scanner sees uses in code, not in strings, comments or test modules.
#[test]
fn the_scanner_finds_uses_only_in_code() {
    let source = r##"
use crate::model::Plan;
// use crate::apply::Nope;
/* crate::sandbox::Nope */
const S: &str = "crate::report::Nope { ";
const R: &str = r#"crate::input::Nope"#;
const C: char = '{';
fn f<'a>(x: &'a str) -> crate::fsx::WriteError { todo!() }
#[cfg(test)]
mod tests {
    use crate::plan::Fixture;
    fn g() { let s = "}"; }
}
fn after() { crate::i18n::texts(); }
#[cfg(test)]
mod file_tests;
"##;
    let found = uses(&code_only(source));
    let expected: BTreeSet<String> = ["model", "fsx", "i18n"].map(String::from).into();
    assert_eq!(found, expected);
}

#[test]
fn the_layer_table_is_read_from_lib_rs() {
    let table = allowed("//! | `plan` | `model`, `input` |\n//! | `fsx` | — |\n");
    assert_eq!(table["plan"], ["model", "input"].map(String::from).into());
    assert!(table["fsx"].is_empty());
}
