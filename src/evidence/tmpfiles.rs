//! The root's systemd-tmpfiles rules (`/etc/tmpfiles.d/*.conf`, on NixOS a
//! link through `/etc/static` into the store): an `L` line makes a symlink at
//! every boot. One into storage keeps a path (preservation writes such rules
//! in `preservation.conf`, and many configurations add their own); any other
//! is a link something recreates (nix-ld's loader, a configuration's links),
//! so the link itself is not at stake. `d`/`f` rules only create empty
//! parents and files, so they are evidence of neither.

use std::collections::HashMap;

use super::{Listed, list_in_root, read_in_root};
use crate::paths::{is_under, normalize};
use crate::resolve::Resolver;

/// What the tmpfiles rules say.
#[derive(Debug, Default)]
pub(super) struct Rules {
    /// Paths linked into storage at boot.
    pub kept: Vec<Listed>,
    /// Other paths linked at boot, with the file of the rule.
    pub links: HashMap<Vec<u8>, String>,
}

/// The most rule files read.
const MAX_FILES: usize = 2_000;

/// Reads every `*.conf` of `/etc/tmpfiles.d`.
pub(super) fn read(res: &Resolver<'_>, storage: &[Vec<u8>]) -> Rules {
    let mut out = Rules::default();
    let mut files = list_in_root(res, b"/etc/tmpfiles.d");
    files.sort();
    files.truncate(MAX_FILES);
    for file in files.iter().filter(|f| f.ends_with(b".conf")) {
        let Some(text) = read_in_root(res, file) else {
            continue;
        };
        // Named as the system sees it, not as the store path it resolved to.
        let name = file.rsplit(|&b| b == b'/').next().unwrap_or(file);
        let origin = format!("/etc/tmpfiles.d/{}", String::from_utf8_lossy(name));
        for line in String::from_utf8_lossy(&text).lines() {
            let fields = tmpfiles_fields(line);
            if fields.len() < 7 || !fields[0].starts_with('L') {
                continue;
            }
            let path = normalize(fields[1].as_bytes());
            let target = normalize(fields[6].as_bytes());
            if let Some(s) = storage.iter().find(|s| is_under(&target, s)) {
                out.kept.push(Listed {
                    path,
                    storage: s.clone(),
                    is_file: true,
                    by_symlink: true,
                    origin: origin.clone(),
                    what: Some(target),
                });
            } else {
                out.links.entry(path).or_insert_with(|| origin.clone());
            }
        }
    }
    out
}

/// Splits a tmpfiles.d line into fields, honouring single and double quotes.
fn tmpfiles_fields(line: &str) -> Vec<String> {
    let line = line.trim();
    if line.starts_with('#') {
        return Vec::new();
    }
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut started = false;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                started = true;
            }
            (None, c) if c.is_whitespace() => {
                if started {
                    fields.push(std::mem::take(&mut cur));
                    started = false;
                }
            }
            (None, c) => {
                cur.push(c);
                started = true;
            }
        }
    }
    if started {
        fields.push(cur);
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tmpfiles_lines_with_quotes() {
        assert_eq!(
            tmpfiles_fields("'L+' '/etc/machine-id' - - - - /persist/etc/machine-id"),
            [
                "L+",
                "/etc/machine-id",
                "-",
                "-",
                "-",
                "-",
                "/persist/etc/machine-id"
            ]
        );
        assert!(tmpfiles_fields("# comment").is_empty());
    }
}
