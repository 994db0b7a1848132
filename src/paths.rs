//! Absolute in-root paths as raw bytes (file names need not be UTF-8): the
//! one place that splits, compares and normalises them; and whether two host paths name one file.

/// The non-empty components of `p` (`//` and a trailing `/` give none).
pub fn components(p: &[u8]) -> impl DoubleEndedIterator<Item = &[u8]> {
    p.split(|&b| b == b'/').filter(|c| !c.is_empty())
}

/// Returns true if and only if `path` is `dir` or lies below it, compared
/// component-wise (`/var/lib2` is not under `/var/lib`). Both are normalised.
pub fn is_under(path: &[u8], dir: &[u8]) -> bool {
    if dir == b"/" {
        return true;
    }
    path.starts_with(dir) && (path.len() == dir.len() || path[dir.len()] == b'/')
}

/// `p` as an absolute path without `//`, `.` and trailing slashes; `..` is
/// kept (it can only be resolved against the file system, which the
/// resolver in `resolve.rs`, above this module, does). The empty path and `/` give `/`.
pub fn normalize(p: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(p.len() + 1);
    for c in components(p).filter(|c| *c != b".") {
        out.push(b'/');
        out.extend_from_slice(c);
    }
    if out.is_empty() {
        out.push(b'/');
    }
    out
}

/// `p` with `.` and `..` resolved lexically (`/a/b/../c` is `/a/c`), as if
/// no component were a symlink; `..` above the root stays at the root.
pub fn normalize_lexically(p: &[u8]) -> Vec<u8> {
    let mut done: Vec<&[u8]> = Vec::new();
    for c in components(p) {
        match c {
            b"." => {}
            b".." => {
                done.pop();
            }
            c => done.push(c),
        }
    }
    let mut out = Vec::with_capacity(p.len());
    for c in done {
        out.push(b'/');
        out.extend_from_slice(c);
    }
    if out.is_empty() {
        out.push(b'/');
    }
    out
}

/// The directory part of the absolute `p` (`/a/b` → `/a`, `/a` → `/`).
pub fn parent(p: &[u8]) -> &[u8] {
    match p.iter().rposition(|&b| b == b'/') {
        Some(0) | None => b"/",
        Some(cut) => &p[..cut],
    }
}

/// Where a symlink at `link` with the text `target` points: `target` itself
/// when absolute, else `target` relative to the link's directory (not
/// normalised: `..` must be resolved against the tree).
pub fn link_destination(link: &[u8], target: &[u8]) -> Vec<u8> {
    if target.starts_with(b"/") {
        return target.to_vec();
    }
    let mut out = parent(link).to_vec();
    if out != b"/" {
        out.push(b'/');
    } else {
        out.clear();
        out.push(b'/');
    }
    out.extend_from_slice(target);
    out
}

/// Whether `a` and `b` name the same file (both resolved; false when either is missing).
pub fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    matches!((std::fs::canonicalize(a), std::fs::canonicalize(b)), (Ok(x), Ok(y)) if x == y)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_under_is_component_wise() {
        assert!(is_under(b"/var/lib/x", b"/var/lib"));
        assert!(is_under(b"/var/lib", b"/var/lib"));
        assert!(!is_under(b"/var/lib2", b"/var/lib"));
        assert!(is_under(b"/anything", b"/"));
    }

    #[test]
    fn normalisers_differ_only_on_dot_dot() {
        assert_eq!(normalize(b"//var/./lib//"), b"/var/lib");
        assert_eq!(normalize(b""), b"/");
        assert_eq!(normalize(b"/a/../b"), b"/a/../b");
        assert_eq!(normalize_lexically(b"/a/b/../c/./d"), b"/a/c/d");
        assert_eq!(normalize_lexically(b"/../../x"), b"/x");
        assert_eq!(normalize_lexically(b"/a/.."), b"/");
    }

    #[test]
    fn parents_and_link_destinations() {
        assert_eq!(parent(b"/a/b"), b"/a");
        assert_eq!(parent(b"/a"), b"/");
        assert_eq!(
            link_destination(b"/etc/hosts", b"static/hosts"),
            b"/etc/static/hosts"
        );
        assert_eq!(link_destination(b"/hosts", b"x"), b"/x");
        assert_eq!(link_destination(b"/etc/x", b"/abs"), b"/abs");
    }
}
