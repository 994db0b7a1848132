//! The TUI's seam to the whitelist writer (SPEC §6). The real writer
//! (`crate::whitelist`, rnix-based merge, `users.NAME`) is being built on
//! another branch; until it is merged, [`render`] is a small stand-in that
//! writes the same module shape and merges files it wrote itself. When the
//! writer lands, [`render`]'s body becomes one call to it.

use std::path::Path;

use crate::{Error, Result};

/// The module a written whitelist targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// nix-community/impermanence: `environment.persistence."/persist"`.
    Impermanence,
    /// nix-community/preservation: `preservation.preserveAt."/persist"`.
    Preservation,
}

impl From<crate::cli::FlavorArg> for Flavor {
    fn from(f: crate::cli::FlavorArg) -> Self {
        match f {
            crate::cli::FlavorArg::Impermanence => Flavor::Impermanence,
            crate::cli::FlavorArg::Preservation => Flavor::Preservation,
        }
    }
}

/// One path to persist, with the owner and mode its persistent copy needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Promotion {
    /// Absolute in-root path.
    pub path: Vec<u8>,
    /// A directory (else a file).
    pub is_dir: bool,
    /// Owner name (or number).
    pub user: String,
    /// Group name (or number).
    pub group: String,
    /// Permission bits.
    pub mode: u16,
}

impl Promotion {
    /// A promotion of `path`.
    pub fn new(path: Vec<u8>, is_dir: bool, user: String, group: String, mode: u16) -> Promotion {
        Promotion {
            path,
            is_dir,
            user,
            group,
            mode,
        }
    }
}

const HEADER: &str = "# Written by darlings; safe to edit. Import it from your configuration.";

/// Nix string literal for `s`.
fn nix_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' if chars.peek() == Some(&'{') => out.push_str("\\$"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The list line of one promotion.
fn entry_line(p: &Promotion, path: &str) -> String {
    let plain = p.user == "root" && p.group == "root" && (!p.is_dir || p.mode == 0o755);
    if plain || !p.is_dir {
        return nix_str(path);
    }
    format!(
        "{{ directory = {}; user = {}; group = {}; mode = \"{:04o}\"; }}",
        nix_str(path),
        nix_str(&p.user),
        nix_str(&p.group),
        p.mode
    )
}

/// Renders the whitelist module with `promotions` merged into `existing`.
pub fn render(
    existing: Option<&str>,
    flavor: Flavor,
    storage: &Path,
    promotions: &[Promotion],
) -> Result<String> {
    // (path, line) of directories and files, kept sorted and unique by path.
    let mut dirs: std::collections::BTreeMap<String, String> = Default::default();
    let mut files: std::collections::BTreeMap<String, String> = Default::default();
    if let Some(text) = existing.filter(|t| !t.trim().is_empty()) {
        let mut list = None;
        for line in text.lines().map(str::trim) {
            if line.starts_with("directories = [") {
                list = Some(true);
            } else if line.starts_with("files = [") {
                list = Some(false);
            } else if line == "];" {
                list = None;
            } else if let Some(is_dir) = list
                && let Some(path) = quoted_path(line)
            {
                let map = if is_dir { &mut dirs } else { &mut files };
                map.insert(path, line.to_string());
            }
        }
        if dirs.is_empty() && files.is_empty() && !text.contains("persist") {
            return Err(Error::Usage(
                "the whitelist file exists but was not written by darlings; refusing to overwrite it"
                    .into(),
            ));
        }
    }
    for p in promotions {
        let Ok(path) = std::str::from_utf8(&p.path) else {
            return Err(Error::Usage(format!(
                "'{}' is not valid UTF-8 and cannot be written into a Nix file",
                crate::text::escape_bytes(&p.path)
            )));
        };
        let map = if p.is_dir { &mut dirs } else { &mut files };
        map.entry(path.to_string())
            .or_insert_with(|| entry_line(p, path));
    }
    let storage = storage.to_string_lossy();
    let attr = match flavor {
        Flavor::Impermanence => "environment.persistence",
        Flavor::Preservation => "preservation.preserveAt",
    };
    let mut out = format!("{HEADER}\n{{\n");
    if flavor == Flavor::Preservation {
        out.push_str("  preservation.enable = true;\n");
    }
    out.push_str(&format!("  {attr}.{} = {{\n", nix_str(&storage)));
    for (name, map) in [("directories", &dirs), ("files", &files)] {
        if map.is_empty() {
            continue;
        }
        out.push_str(&format!("    {name} = [\n"));
        for line in map.values() {
            out.push_str(&format!("      {line}\n"));
        }
        out.push_str("    ];\n");
    }
    out.push_str("  };\n}\n");
    Ok(out)
}

/// The path of a list line: `"/x"` or `{ directory = "/x"; ... }` / `{ file = "/x"; ... }`.
fn quoted_path(line: &str) -> Option<String> {
    let start = line.find('"')?;
    let rest = &line[start + 1..];
    let mut out = String::new();
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                c => out.push(c),
            },
            c => out.push(c),
        }
    }
    None
}

/// Writes `text` to `path` atomically, keeping the previous version as `path.bak`.
pub fn write(path: &Path, text: &str) -> Result<()> {
    crate::output::write_atomic(path, true, |w| w.write_all(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(path: &str, is_dir: bool, user: &str, mode: u16) -> Promotion {
        Promotion::new(
            path.as_bytes().to_vec(),
            is_dir,
            user.into(),
            user.into(),
            mode,
        )
    }

    #[test]
    fn renders_sorted_and_merges_its_own_output_stably() {
        let first = render(
            None,
            Flavor::Impermanence,
            Path::new("/persist"),
            &[
                p("/var/lib/docker", true, "root", 0o710),
                p("/etc/machine-id", false, "root", 0o444),
                p("/var/lib/colord", true, "colord", 0o700),
            ],
        )
        .unwrap();
        assert!(first.contains("environment.persistence.\"/persist\" = {"));
        assert!(first.contains(
            "{ directory = \"/var/lib/colord\"; user = \"colord\"; group = \"colord\"; mode = \"0700\"; }"
        ));
        assert!(first.contains("files = [\n      \"/etc/machine-id\"\n    ];"));
        let again = render(
            Some(&first),
            Flavor::Impermanence,
            Path::new("/persist"),
            &[p("/etc/machine-id", false, "root", 0o444)],
        )
        .unwrap();
        assert_eq!(first, again, "writing the same path twice changes nothing");
    }

    #[test]
    fn nix_strings_escape_interpolation_and_quotes() {
        assert_eq!(nix_str("a\"b${c}\\"), "\"a\\\"b\\${c}\\\\\"");
    }
}
