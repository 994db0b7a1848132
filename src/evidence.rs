//! The facts classification needs beyond the trees themselves, gathered once:
//! the storage roots, what the whitelist keeps (from the given configs and
//! from the live system: storage bind mounts, mount units, preservation's
//! tmpfiles links), `/etc/.clean`, and the user's ignore rules. This is the
//! only classification stage that reads files, and it reads only small
//! configuration files inside ROOT, without touching their atime.

use std::collections::{BTreeMap, HashSet};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::mountinfo::Mount;
use crate::resolve::{Beyond, Ending, Resolver, is_under};
use crate::scan::{Kind, Tree};
use crate::{Error, Result};

/// A path the configuration says to keep.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    /// In-root absolute path.
    pub path: Vec<u8>,
    /// The storage root holding its data (`/persist`).
    pub storage: Vec<u8>,
    /// A file entry (else a directory).
    pub is_file: bool,
    /// Kept by a symlink into storage (else a bind mount).
    pub by_symlink: bool,
    /// Where it was listed, for reasons (`environment.persistence."/persist" in cfg.json`).
    pub origin: String,
}

/// What is known about one kept path.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Kept {
    /// Listed in a configuration (or a mount unit / tmpfiles rule): where.
    pub listed: Option<String>,
    /// Backed on the live system: how (`bind mount from /persist/var/log`).
    pub live: Option<String>,
}

/// Everything classification knows besides the trees.
#[derive(Debug, Default)]
pub struct Evidence {
    /// Persistent storage roots (in-root paths).
    pub storage: Vec<Vec<u8>>,
    /// Kept paths by in-root path.
    pub kept: BTreeMap<Vec<u8>, Kept>,
    /// In-root paths listed in `/etc/.clean` (copied by activation).
    pub etc_clean: HashSet<Vec<u8>>,
    /// The user's ignore rules (`--ignore`).
    pub ignore: Option<ignore::gitignore::Gitignore>,
    /// Disagreements between configuration and the live system.
    pub warnings: Vec<String>,
}

/// Inputs of [`gather`].
pub struct GatherInput<'a> {
    /// The root's tree.
    pub tree: &'a Tree,
    /// Storage roots (in-root paths): `--storage` and the storage roots of
    /// the `--persistence` configs, those with no entries included; empty
    /// for the default.
    pub storage: &'a [PathBuf],
    /// Paths listed by the `--persistence` configs.
    pub listed: Vec<Listed>,
    /// `--ignore FILE`.
    pub ignore_file: Option<&'a Path>,
    /// Lookups below mount points the scan did not enter.
    pub beyond: &'a dyn Beyond,
    /// The mount table of the process (for the storage mounts' devices).
    pub host_mounts: &'a [Mount],
}

/// Gathers the evidence for one audit.
pub fn gather(input: GatherInput<'_>) -> Result<Evidence> {
    let GatherInput {
        tree,
        storage,
        listed,
        ignore_file,
        beyond,
        host_mounts,
    } = input;
    let configs_given = !listed.is_empty();
    let res = Resolver::new(tree, beyond);
    let mut ev = Evidence::default();
    // `--storage` adds to the configs' storage roots, never hides them.
    let mut roots: Vec<Vec<u8>> = storage
        .iter()
        .map(|p| normalize(p.as_os_str().as_bytes()))
        .collect();
    roots.extend(listed.iter().map(|l| l.storage.clone()));
    if roots.is_empty() {
        roots.push(b"/persist".to_vec());
    }
    roots.sort();
    roots.dedup();
    ev.storage = roots;

    let mut all_listed = listed;
    all_listed.extend(mount_units(&res, &ev.storage));
    all_listed.extend(tmpfiles_links(&res, &ev.storage));
    for l in &all_listed {
        let k = ev.kept.entry(l.path.clone()).or_default();
        if k.listed.is_none() {
            k.listed = Some(l.origin.clone());
        }
    }

    // Live bind mounts from storage, read off the mount points the scan met.
    let root_host = tree.root.as_os_str().as_bytes().to_vec();
    for m in &tree.mounts {
        let path = tree.path(m.entry as usize);
        if let Some(source) = storage_source(&ev.storage, &root_host, host_mounts, m) {
            let k = ev.kept.entry(path.clone()).or_default();
            k.live = Some(format!(
                "bind mount from {}",
                String::from_utf8_lossy(&source)
            ));
            if configs_given && k.listed.is_none() {
                ev.warnings.push(format!(
                    "{} is bind-mounted from {} but not listed in the given persistence configs",
                    crate::text::escape_bytes(&path),
                    crate::text::escape_bytes(&source)
                ));
            }
        }
    }
    // Listed paths backed by a symlink into storage, and listed paths not backed at all.
    for l in &all_listed {
        let Some(k) = res.lookup(&l.path) else {
            continue; // listed but absent from the root: nothing to lose
        };
        let e = &tree.entries[k];
        let kept = ev.kept.entry(l.path.clone()).or_default();
        if kept.live.is_some() {
            continue;
        }
        if e.kind == Kind::Symlink {
            let r = res.resolve(&l.path);
            if let Some(s) = ev.storage.iter().find(|s| is_under(&r.path, s)) {
                let _ = s;
                kept.live = Some(format!("symlink into {}", String::from_utf8_lossy(&r.path)));
                continue;
            }
        }
        if e.is_mount {
            continue; // mounted from elsewhere: classified by its mount
        }
        ev.warnings.push(format!(
            "{} is listed in {} but neither mounted nor linked: its data sits on the root and \
             would be hidden (then lost) once the whitelist is active; move it to {}{} first",
            crate::text::escape_bytes(&l.path),
            l.origin,
            crate::text::escape_bytes(&l.storage),
            crate::text::escape_bytes(&l.path),
        ));
    }
    ev.warnings.sort();
    ev.warnings.dedup();

    if let Some(text) = read_in_root(&res, b"/etc/.clean") {
        for line in text.split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if !line.is_empty() {
                let mut p = b"/etc/".to_vec();
                p.extend_from_slice(line);
                ev.etc_clean.insert(normalize(&p));
            }
        }
    }
    if let Some(f) = ignore_file {
        ev.ignore = load_ignore(f)?;
    }
    Ok(ev)
}

/// Loads gitignore-style rules, relative to ROOT. A missing file is an empty
/// rule set (the TUI creates it on the first dismissal).
pub fn load_ignore(file: &Path) -> Result<Option<ignore::gitignore::Gitignore>> {
    let text = match crate::safe_open::read_regular(file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("cannot read ignore file", file, e)),
    };
    parse_ignore(text, file).map(Some)
}

/// Parses gitignore-style rules read from `file` (named in errors).
pub fn parse_ignore(text: Vec<u8>, file: &Path) -> Result<ignore::gitignore::Gitignore> {
    let text = String::from_utf8(text)
        .map_err(|_| Error::bad_input(file, "ignore rules must be UTF-8 text"))?;
    let mut b = ignore::gitignore::GitignoreBuilder::new("/");
    for (n, line) in text.lines().enumerate() {
        b.add_line(None, line).map_err(|e| {
            Error::bad_input(
                file,
                format!("line {}: invalid rule '{}': {e}", n + 1, line),
            )
        })?;
    }
    b.build()
        .map_err(|e| Error::bad_input(file, format!("invalid rules: {e}")))
}

/// Collapses `//` and trailing slashes of an absolute path.
pub fn normalize(p: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(p.len() + 1);
    for c in p
        .split(|&b| b == b'/')
        .filter(|c| !c.is_empty() && *c != b".")
    {
        out.push(b'/');
        out.extend_from_slice(c);
    }
    if out.is_empty() {
        out.push(b'/');
    }
    out
}

/// The storage path a mount shows, when it is a bind mount from storage:
/// same device as the storage's file system, and a file system path below
/// the storage's (DOMAIN §1.6).
fn storage_source(
    storage: &[Vec<u8>],
    root_host: &[u8],
    host_mounts: &[Mount],
    m: &crate::scan::MountPoint,
) -> Option<Vec<u8>> {
    for s in storage {
        let mut host = root_host.to_vec();
        if host.ends_with(b"/") {
            host.pop();
        }
        host.extend_from_slice(s);
        let host = normalize(&host);
        // The mount holding the storage path: the longest (and, for equal
        // paths, the last mounted) mount point above it.
        let holder = host_mounts
            .iter()
            .filter(|hm| is_under(&host, &hm.mount_point))
            .max_by_key(|hm| hm.mount_point.len())?;
        if holder.dev != m.dev {
            continue;
        }
        let rest = &host[holder.mount_point.len().min(host.len())..];
        let mut fs_path = holder.fs_root.clone();
        fs_path.extend_from_slice(rest);
        let fs_path = normalize(&fs_path);
        let fs_root = normalize(&m.fs_root);
        if is_under(&fs_root, &fs_path) && fs_root != fs_path {
            let mut source = s.clone();
            source.extend_from_slice(&fs_root[if fs_path == b"/" { 0 } else { fs_path.len() }..]);
            return Some(normalize(&source));
        }
    }
    None
}

/// Reads a small text file (1 MiB at most) at an in-root path, links
/// resolved inside ROOT by the kernel, opened without touching its atime;
/// `None` when it is missing or not a regular file.
fn read_in_root(res: &Resolver<'_>, path: &[u8]) -> Option<Vec<u8>> {
    crate::safe_open::read_in_root(&res.tree().root, path, 1 << 20).ok()
}

/// Lists a directory at an in-root path (in the tree, or beyond it on the host).
fn list_in_root(res: &Resolver<'_>, path: &[u8]) -> Vec<Vec<u8>> {
    let tree = res.tree();
    let r = res.resolve(path);
    if r.ending != Ending::Exists {
        return Vec::new();
    }
    if let Some(k) = res.lookup(&r.path)
        && !tree.entries[k].is_mount
    {
        return tree
            .children(Some(k))
            .map(|c| {
                let mut p = r.path.clone();
                p.push(b'/');
                p.extend_from_slice(tree.name(c));
                p
            })
            .collect();
    }
    let host = tree.root.join(std::ffi::OsStr::from_bytes(&r.path[1..]));
    crate::safe_open::list_dir(&host)
        .map(|names| {
            names
                .into_iter()
                .map(|n| {
                    let mut p = r.path.clone();
                    p.push(b'/');
                    p.extend_from_slice(&n);
                    p
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Bind mounts declared as systemd mount units (`What=` in storage, `Where=`).
fn mount_units(res: &Resolver<'_>, storage: &[Vec<u8>]) -> Vec<Listed> {
    let mut out = Vec::new();
    for unit in list_in_root(res, b"/etc/systemd/system") {
        if !unit.ends_with(b".mount") {
            continue;
        }
        let Some(text) = read_in_root(res, &unit) else {
            continue;
        };
        let text = String::from_utf8_lossy(&text);
        let value = |key: &str| {
            text.lines()
                .find_map(|l| l.trim().strip_prefix(key).map(|v| v.trim().to_string()))
        };
        let (Some(what), Some(place)) = (value("What="), value("Where=")) else {
            continue;
        };
        let what = normalize(what.as_bytes());
        if let Some(s) = storage.iter().find(|s| is_under(&what, s) && what != **s) {
            let name = unit.rsplit(|&b| b == b'/').next().unwrap_or(&unit);
            out.push(Listed {
                path: normalize(place.as_bytes()),
                storage: s.clone(),
                is_file: false,
                by_symlink: false,
                origin: format!("mount unit {}", String::from_utf8_lossy(name)),
            });
        }
    }
    out
}

/// preservation's symlink rules (`L /path - - - - /persist/path`) in
/// `/etc/tmpfiles.d/preservation.conf`. Its `d`/`f` rules also create
/// intermediate parents, so they are not evidence of a kept path.
fn tmpfiles_links(res: &Resolver<'_>, storage: &[Vec<u8>]) -> Vec<Listed> {
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

/// A [`Beyond`] that looks at the host below ROOT, for mount points the scan
/// did not enter (`/nix` on a live system). It only lstats and reads links.
pub struct HostBeyond {
    /// The scanned root on the host.
    pub root: PathBuf,
}

impl Beyond for HostBeyond {
    fn lstat(&self, path: &[u8]) -> Option<(Kind, Option<Vec<u8>>)> {
        let host = self
            .root
            .join(std::ffi::OsStr::from_bytes(path.strip_prefix(b"/")?));
        let st = rustix::fs::lstat(&host).ok()?;
        let kind = Kind::from_mode(st.st_mode)?;
        let target = if kind == Kind::Symlink {
            Some(rustix::fs::readlink(&host, Vec::new()).ok()?.into_bytes())
        } else {
            None
        };
        Some((kind, target))
    }
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

    #[test]
    fn storage_source_follows_the_mountinfo_rule() {
        // btrfs: storage subvolume /persist mounted at /persist; a bind of /persist/var/log.
        let host = vec![
            Mount {
                id: 1,
                parent_id: 0,
                dev: (0, 39),
                fs_root: b"/root".to_vec(),
                mount_point: b"/".to_vec(),
                fstype: "btrfs".into(),
                source: "/dev/loop0".into(),
            },
            Mount {
                id: 2,
                parent_id: 1,
                dev: (0, 39),
                fs_root: b"/persist".to_vec(),
                mount_point: b"/persist".to_vec(),
                fstype: "btrfs".into(),
                source: "/dev/loop0".into(),
            },
        ];
        let m = crate::scan::MountPoint {
            entry: 0,
            fstype: "btrfs".into(),
            source: "/dev/loop0".into(),
            fs_root: b"/persist/var/log".to_vec(),
            dev: (0, 39),
        };
        let storage = vec![b"/persist".to_vec()];
        assert_eq!(
            storage_source(&storage, b"/", &host, &m),
            Some(b"/persist/var/log".to_vec())
        );
        // ext4 storage mounted at its own root: the bind shows /var/log, no prefix.
        let mut host2 = host.clone();
        host2[1].dev = (8, 2);
        host2[1].fs_root = b"/".to_vec();
        let m2 = crate::scan::MountPoint {
            fs_root: b"/var/log".to_vec(),
            dev: (8, 2),
            ..m.clone()
        };
        assert_eq!(
            storage_source(&storage, b"/", &host2, &m2),
            Some(b"/persist/var/log".to_vec())
        );
        // Another device: not from storage.
        let m3 = crate::scan::MountPoint { dev: (9, 9), ..m };
        assert_eq!(storage_source(&storage, b"/", &host, &m3), None);
    }
}
