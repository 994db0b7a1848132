//! preservation's tmpfiles rules (`/etc/tmpfiles.d/preservation.conf`): its
//! `L` lines link kept files into storage.

use super::{Listed, read_in_root};
use crate::paths::{is_under, normalize};
use crate::resolve::Resolver;

/// preservation's symlink rules (`L /path - - - - /persist/path`) in
/// `/etc/tmpfiles.d/preservation.conf`. Its `d`/`f` rules also create
/// intermediate parents, so they are not evidence of a kept path.
pub(super) fn tmpfiles_links(res: &Resolver<'_>, storage: &[Vec<u8>]) -> Vec<Listed> {
    let Some(text) = read_in_root(res, b"/etc/tmpfiles.d/preservation.conf") else {
        return Vec::new();
    };
    let text = String::from_utf8_lossy(&text);
    let mut out = Vec::new();
    for line in text.lines() {
        let fields = tmpfiles_fields(line);
        if fields.len() < 7 || !fields[0].starts_with('L') {
            continue;
        }
        let target = normalize(fields[6].as_bytes());
        if let Some(s) = storage.iter().find(|s| is_under(&target, s)) {
            out.push(Listed {
                path: normalize(fields[1].as_bytes()),
                storage: s.clone(),
                is_file: true,
                by_symlink: true,
                origin: "/etc/tmpfiles.d/preservation.conf".to_string(),
            });
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
