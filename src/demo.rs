//! `darlings demo`: builds the sample NixOS-like root described by
//! `assets/demo/root.txt` (compiled in) in a temporary directory, with an
//! old copy as the baseline, so anyone can try the TUI without NixOS.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// The manifest of the sample root.
pub const MANIFEST: &str = include_str!("../assets/demo/root.txt");

/// The whitelist in effect on the sample root, and the file the demo writes to.
pub const WHITELIST: &str = include_str!("../assets/demo/persist.nix");

/// A built sample root; removed when dropped.
pub struct Demo {
    /// The temporary directory holding everything.
    pub dir: tempfile::TempDir,
    /// The sample root.
    pub root: PathBuf,
    /// The baseline: the same root a week earlier.
    pub baseline: PathBuf,
}

/// mtime of everything that did not change since the baseline.
const OLD: i64 = 1_763_460_000; // 2025-11-18
/// mtime of what changed since.
const NEW: i64 = 1_764_064_800; // 2025-11-25

/// Decodes `\n`, `\t`, `\\` and `\xNN` in manifest text.
fn unescape(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut k = 0;
    while k < b.len() {
        if b[k] == b'\\' && k + 1 < b.len() {
            match b[k + 1] {
                b'n' => out.push(b'\n'),
                b't' => out.push(b'\t'),
                b'\\' => out.push(b'\\'),
                b'x' if k + 3 < b.len() => {
                    if let Ok(v) = u8::from_str_radix(&s[k + 2..k + 4], 16) {
                        out.push(v);
                        k += 4;
                        continue;
                    }
                    out.push(b'\\');
                    k += 1;
                    continue;
                }
                other => {
                    out.push(b'\\');
                    out.push(other);
                }
            }
            k += 2;
        } else {
            out.push(b[k]);
            k += 1;
        }
    }
    out
}

fn size(s: &str) -> Option<u64> {
    let (num, mul) = match s.as_bytes().last()? {
        b'K' => (&s[..s.len() - 1], 1u64 << 10),
        b'M' => (&s[..s.len() - 1], 1 << 20),
        b'G' => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    num.parse::<u64>().ok().map(|n| n * mul)
}

fn mode(s: Option<&str>) -> Option<u32> {
    s.and_then(|m| u32::from_str_radix(m, 8).ok())
}

fn io<'a>(op: &'static str, p: &'a Path) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |e| Error::io(op, p, e)
}

/// Creates one manifest entry below `top`.
fn apply(top: &Path, line: &str, lineno: usize) -> Result<()> {
    let bad = |why: &str| Error::Internal(format!("demo manifest line {lineno}: {why}"));
    let (head, text) = match line.split_once(" = ") {
        Some((h, t)) => (h, Some(t)),
        None => match line.strip_suffix(" =") {
            Some(h) => (h, Some("")),
            None => (line, None),
        },
    };
    let mut f = head.split_whitespace();
    let kind = f.next().ok_or_else(|| bad("empty"))?;
    let rel = f.next().ok_or_else(|| bad("no path"))?;
    let path = top.join(rel.trim_start_matches('/'));
    let parent = path.parent().ok_or_else(|| bad("bad path"))?;
    std::fs::create_dir_all(parent).map_err(io("cannot create", parent))?;
    let set_mode = |p: &Path, m: Option<u32>| -> Result<()> {
        if let Some(m) = m {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(m))
                .map_err(io("cannot chmod", p))?;
        }
        Ok(())
    };
    match kind {
        "d" => {
            std::fs::create_dir_all(&path).map_err(io("cannot create", &path))?;
            set_mode(&path, mode(f.next()))?;
        }
        "f" => {
            let data = unescape(text.ok_or_else(|| bad("a file needs ' = TEXT'"))?);
            std::fs::write(&path, data).map_err(io("cannot write", &path))?;
            set_mode(&path, mode(f.next()))?;
        }
        "s" => {
            let n = f.next().and_then(size).ok_or_else(|| bad("bad size"))?;
            let file = std::fs::File::create(&path).map_err(io("cannot create", &path))?;
            file.set_len(n).map_err(io("cannot write", &path))?;
            set_mode(&path, mode(f.next()))?;
        }
        "n" => {
            let count: usize = f
                .next()
                .and_then(|c| c.parse().ok())
                .ok_or_else(|| bad("bad count"))?;
            let each = f.next().and_then(size).ok_or_else(|| bad("bad size"))?;
            std::fs::create_dir_all(&path).map_err(io("cannot create", &path))?;
            for k in 0..count {
                let p = path.join(format!("{k:04}"));
                let data = format!("{k:04}\n").repeat((each as usize / 5).max(1));
                std::fs::write(&p, data).map_err(io("cannot write", &p))?;
            }
        }
        "l" => {
            let target = match (f.next(), f.next()) {
                (Some("->"), Some(t)) => t,
                _ => return Err(bad("a link needs '-> TARGET'")),
            };
            std::os::unix::fs::symlink(target, &path).map_err(io("cannot link", &path))?;
        }
        other => return Err(bad(&format!("unknown kind '{other}'"))),
    }
    Ok(())
}

/// Sets the mtime of every entry: `OLD` where the baseline has the same
/// file, `NEW` where it differs or is new.
fn set_times(root: &Path, baseline: &Path) -> Result<()> {
    for (tree, other) in [(root, baseline), (baseline, root)] {
        let mut stack = vec![tree.to_path_buf()];
        let mut all = Vec::new();
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).map_err(io("cannot read", &d))? {
                let e = e.map_err(io("cannot read", &d))?;
                let p = e.path();
                let ft = e.file_type().map_err(io("cannot stat", &p))?;
                if ft.is_dir() {
                    stack.push(p.clone());
                }
                all.push((p, ft));
            }
        }
        // Children before parents: setting a child's time does not touch the
        // parent's, but creating files did; directories are set last.
        all.sort_by(|a, b| b.0.cmp(&a.0));
        for (p, ft) in all {
            let rel = p.strip_prefix(tree).unwrap_or(&p);
            let twin = other.join(rel);
            let same = ft.is_dir()
                || (ft.is_file()
                    && std::fs::read(&twin)
                        .ok()
                        .is_some_and(|b| std::fs::read(&p).ok().is_some_and(|a| a == b)));
            let t = filetime_of(if same || tree == baseline { OLD } else { NEW });
            set_mtime(&p, t)?;
        }
    }
    Ok(())
}

fn filetime_of(secs: i64) -> rustix::fs::Timestamps {
    rustix::fs::Timestamps {
        last_access: rustix::fs::Timespec {
            tv_sec: secs,
            tv_nsec: 0,
        },
        last_modification: rustix::fs::Timespec {
            tv_sec: secs,
            tv_nsec: 0,
        },
    }
}

fn set_mtime(p: &Path, t: rustix::fs::Timestamps) -> Result<()> {
    rustix::fs::utimensat(
        rustix::fs::CWD,
        p,
        &t,
        rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
    )
    .map_err(|e| Error::io("cannot set the time of", p, e.into()))
}

/// Builds the sample root and its baseline in a new temporary directory.
pub fn build() -> Result<Demo> {
    let dir = tempfile::Builder::new()
        .prefix("darlings-demo-")
        .tempdir()
        .map_err(|e| Error::io("cannot create", std::env::temp_dir(), e))?;
    let root = dir.path().join("root");
    let baseline = dir.path().join("root-a-week-ago");
    for p in [&root, &baseline] {
        std::fs::create_dir_all(p).map_err(io("cannot create", p))?;
    }
    for (n, line) in MANIFEST.lines().enumerate() {
        let line = line.trim_end();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line.strip_prefix("b ") {
            Some(rest) => apply(&baseline, rest, n + 1)?,
            None => apply(&root, line, n + 1)?,
        }
    }
    set_times(&root, &baseline)?;
    Ok(Demo {
        dir,
        root,
        baseline,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_root_builds_with_links_modes_and_sparse_files() {
        let d = build().unwrap();
        let meta = std::fs::symlink_metadata(d.root.join("etc/static")).unwrap();
        assert!(meta.file_type().is_symlink());
        let key = std::fs::metadata(d.root.join("etc/ssh/ssh_host_ed25519_key")).unwrap();
        assert_eq!(key.permissions().mode() & 0o777, 0o600);
        let big = std::fs::metadata(
            d.root
                .join("var/lib/docker/overlay2/3f9c1a/diff/usr/lib/x86_64-linux-gnu/libLLVM.so.17"),
        )
        .unwrap();
        assert_eq!(big.len(), 180 << 20);
        assert_eq!(
            std::fs::read(d.root.join("var/lib/systemd/random-seed")).unwrap(),
            b"binary-seed\x00\x01"
        );
        assert!(d.baseline.join("etc/nixos/configuration.nix").is_file());
    }
}
