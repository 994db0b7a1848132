//! The module map of `src/lib.rs` is true: data flows one way, so a module
//! uses only modules declared above it in `lib.rs`, and the map's list names
//! every module in that order. Source files are lexed as Rust (proc-macro2),
//! so comments and strings never count and paths inside macros and attributes
//! do (`#[error(.., crate::text::quote_path(..))]`).
#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use proc_macro2::{Delimiter, TokenStream, TokenTree};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The modules of `lib.rs` in declaration order, and the names it
/// re-exports (`Error` → `error`).
fn lib_map() -> (Vec<String>, HashMap<String, String>) {
    let lib = std::fs::read_to_string(src().join("lib.rs")).unwrap();
    let mut order = Vec::new();
    let mut reexports = HashMap::new();
    for line in lib.lines() {
        if let Some(name) = line
            .strip_prefix("pub mod ")
            .and_then(|r| r.strip_suffix(';'))
        {
            order.push(name.trim().to_string());
        } else if let Some(rest) = line.strip_prefix("pub use ") {
            let (module, names) = rest.split_once("::").unwrap();
            for name in names.trim_matches(|c| "{};".contains(c)).split(',') {
                reexports.insert(name.trim().to_string(), module.to_string());
            }
        }
    }
    (order, reexports)
}

/// Every `.rs` file below `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn is_ident(t: Option<&TokenTree>, name: &str) -> bool {
    matches!(t, Some(TokenTree::Ident(i)) if i == name)
}

fn is_colon(t: Option<&TokenTree>) -> bool {
    matches!(t, Some(TokenTree::Punct(p)) if p.as_char() == ':')
}

/// The first identifier of each comma-separated part of a `{..}` use group.
fn group_heads(stream: TokenStream, out: &mut Vec<String>) {
    let mut expect = true;
    for t in stream {
        match t {
            TokenTree::Ident(i) if expect => {
                out.push(i.to_string());
                expect = false;
            }
            TokenTree::Punct(p) if p.as_char() == ',' => expect = true,
            _ => {}
        }
    }
}

/// Collects the crate-root names `stream` refers to (`crate::X`, `crate::{X,
/// Y::..}`, and `super::` chains that climb `depth` modules to the root).
/// `depth` is how many modules the code is nested below the crate root; an
/// inline `mod m { .. }` adds one.
fn roots_used(stream: TokenStream, depth: usize, out: &mut Vec<String>) {
    let tokens: Vec<TokenTree> = stream.into_iter().collect();
    let mut i = 0;
    while i < tokens.len() {
        let after_dollar =
            i > 0 && matches!(&tokens[i - 1], TokenTree::Punct(p) if p.as_char() == '$');
        // `crate::` or `super::super::..` reaching the root, then the name.
        let mut at = None;
        if is_ident(tokens.get(i), "crate") && !after_dollar {
            at = Some(i + 1);
        } else if is_ident(tokens.get(i), "super") && (i == 0 || !is_colon(tokens.get(i - 1))) {
            let mut j = i;
            let mut climbed = 0;
            while is_ident(tokens.get(j), "super") && is_colon(tokens.get(j + 1)) {
                climbed += 1;
                j += 3;
            }
            if climbed == depth {
                at = Some(j - 2);
            }
        }
        if let Some(a) = at
            && is_colon(tokens.get(a))
            && is_colon(tokens.get(a + 1))
        {
            match tokens.get(a + 2) {
                Some(TokenTree::Ident(name)) => out.push(name.to_string()),
                Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Brace => {
                    group_heads(g.stream(), out)
                }
                _ => {}
            }
        }
        if let TokenTree::Group(g) = &tokens[i] {
            let inline_mod = g.delimiter() == Delimiter::Brace
                && i >= 2
                && is_ident(tokens.get(i - 2), "mod")
                && matches!(tokens.get(i - 1), Some(TokenTree::Ident(_)));
            roots_used(g.stream(), depth + usize::from(inline_mod), out);
        }
        i += 1;
    }
}

/// One use of a module by another: (user, used, file below src/).
struct Import {
    user: String,
    used: String,
    file: String,
}

/// Every use of one top-level module by another in src/.
fn imports() -> Vec<Import> {
    let (order, reexports) = lib_map();
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut out = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(src()).unwrap();
        let parts: Vec<String> = rel
            .iter()
            .map(|c| c.to_string_lossy().into_owned())
            .collect();
        let me = parts[0].trim_end_matches(".rs");
        if !order.iter().any(|m| m == me) {
            continue; // lib.rs, main.rs
        }
        // src/x.rs and src/x/mod.rs are one module below the root; src/x/y.rs two.
        let depth = parts.len() - usize::from(parts.last().unwrap() == "mod.rs");
        let text = std::fs::read_to_string(file).unwrap();
        let stream = TokenStream::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: not lexable as Rust: {e}", rel.display()));
        let mut names = Vec::new();
        roots_used(stream, depth, &mut names);
        for name in names {
            let used = reexports.get(&name).unwrap_or(&name);
            // `crate::*` or a root item that is not a module does not count.
            if used != me && order.contains(used) {
                out.push(Import {
                    user: me.to_string(),
                    used: used.clone(),
                    file: rel.display().to_string(),
                });
            }
        }
    }
    // The lexer found the real imports (audit uses scan, classify, ...).
    assert!(
        out.len() > 100,
        "only {} imports found: the lexer is broken",
        out.len()
    );
    out
}

/// The imports of `imports` that `bad` rejects, one line each.
fn offending(imports: &[Import], bad: impl Fn(&Import) -> bool) -> String {
    let mut lines: Vec<String> = imports
        .iter()
        .filter(|i| bad(i))
        .map(|i| format!("{} uses {}", i.file, i.used))
        .collect();
    lines.sort();
    lines.dedup();
    lines.join("\n  ")
}

#[test]
fn no_module_uses_a_module_declared_below_it_in_lib_rs() {
    let (order, _) = lib_map();
    assert!(order.len() > 20, "lib.rs declares {order:?}");
    let rank = |m: &str| order.iter().position(|o| o == m).unwrap();
    let upward = offending(&imports(), |i| rank(&i.used) > rank(&i.user));
    assert!(
        upward.is_empty(),
        "imports of a module declared below the importer in src/lib.rs \
         (move the code, or the module, so data flows one way):\n  {upward}"
    );
}

#[test]
fn the_tui_uses_neither_the_command_line_nor_the_printers() {
    let bad = offending(&imports(), |i| {
        i.user == "tui" && ["cli", "settings", "report", "summary"].contains(&i.used.as_str())
    });
    assert!(
        bad.is_empty(),
        "the TUI gets its settings and text helpers from below it:\n  {bad}"
    );
}

#[test]
fn the_map_in_lib_rs_lists_every_module_in_declaration_order() {
    let (order, _) = lib_map();
    let lib = std::fs::read_to_string(src().join("lib.rs")).unwrap();
    let mut listed = Vec::new();
    for line in lib.lines() {
        let Some(item) = line.strip_prefix("//! - ") else {
            continue;
        };
        let head = item.split_once(": ").map_or(item, |(h, _)| h);
        for part in head.split("[`").skip(1) {
            listed.push(part.split('`').next().unwrap().to_string());
        }
    }
    assert_eq!(
        listed, order,
        "the `//! - [`module`]: ..` list of src/lib.rs"
    );
}

#[test]
fn the_lexer_sees_crate_paths_in_attributes_and_super_chains_only_at_the_root() {
    let code = r#"
        use crate::{a::X, b};
        #[error("{p}", p = crate::c::quote(p))]
        struct E;
        // crate::comment
        const S: &str = "crate::string";
        fn f() { super::d::g(); $crate::e::h(); }
        mod tests { use super::*; use super::super::f::Y; }
    "#;
    let mut names = Vec::new();
    roots_used(TokenStream::from_str(code).unwrap(), 1, &mut names);
    assert_eq!(names, ["a", "b", "c", "d", "f"]);
}
