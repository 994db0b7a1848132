//! Merging promotions into the canonical form of a whitelist file: where
//! each path goes (a location, `users.NAME`), in which form (a plain path,
//! or an attribute set with owner and mode), and which paths the file
//! already covers.

use std::path::{Path, PathBuf};

use super::doc::{Doc, Item, Lists, print_doc};
use super::read::read_doc;
use super::{Flavor, Promotion};
use crate::error::{Error, Result};
use crate::nix::{Attrs, Value};
use crate::persistence::default_home;

/// [`render`](super::render), naming the existing file (`path`) in its errors.
pub fn render_named(
    existing: Option<(&Path, &str)>,
    flavor: Flavor,
    storage: &Path,
    promotions: &[Promotion],
    homes: &[(String, PathBuf)],
) -> Result<String> {
    let mut doc = match existing {
        Some((path, text)) => read_doc(path, text)?,
        None => Doc::default(),
    };
    let Some(storage_name) = storage
        .to_str()
        .filter(|s| s.starts_with('/'))
        .map(normalise)
    else {
        return Err(Error::bad_input(
            storage,
            "the storage root must be an absolute UTF-8 path",
        ));
    };
    // A home at `/` (or a relative one) would swallow every path.
    let mut homes: Vec<(String, PathBuf)> = homes
        .iter()
        .filter(|(_, dir)| dir.is_absolute() && dir.parent().is_some())
        .cloned()
        .collect();
    for loc in doc.locations.values() {
        for (user, lists) in &loc.users {
            homes.push((user.clone(), home_of(user, lists, &homes)));
        }
    }
    let mut taken = persisted_paths(&doc, &homes);
    let mut sorted: Vec<&Promotion> = promotions.iter().collect();
    // Ancestors first, so a promoted directory covers promotions below it.
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    for p in sorted {
        let Some(path) = p.path.to_str() else {
            return Err(Error::bad_input(
                &p.path,
                "not valid UTF-8: a Nix file cannot name it",
            ));
        };
        if !path.starts_with('/') {
            return Err(Error::bad_input(
                &p.path,
                "a promoted path must be absolute",
            ));
        }
        let path = normalise(path);
        if is_covered(&taken, &path) {
            continue;
        }
        let loc = doc
            .locations
            .entry(location_key(&doc, flavor, &storage_name))
            .or_default();
        let home = homes
            .iter()
            .filter(|(_, dir)| {
                Path::new(&path)
                    .strip_prefix(dir)
                    .is_ok_and(|r| !r.as_os_str().is_empty())
            })
            .max_by_key(|(_, dir)| dir.as_os_str().len());
        let (lists, written, owner) = match home {
            Some((user, dir)) => {
                let rel = Path::new(&path)
                    .strip_prefix(dir)
                    .map(|r| r.display().to_string())
                    .unwrap_or_default();
                let lists = loc.users.entry(user.clone()).or_default();
                // preservation's docs ask for `home` whenever it is not
                // /home/NAME, root included (impermanence removed the option:
                // it must not be written there).
                if flavor == Flavor::Preservation
                    && lists.attrs.get("home").is_none()
                    && *dir != Path::new("/home").join(user)
                {
                    let home = Value::Str(dir.display().to_string());
                    lists.attrs.0.push(("home".into(), home));
                }
                (lists, rel, Some(user.as_str()))
            }
            None => (&mut loc.lists, path.clone(), None),
        };
        let item = promoted_item(flavor, p, &path, written, owner);
        if p.is_dir {
            lists.dirs.push(item);
        } else {
            lists.files.push(item);
        }
        taken.push((path, p.is_dir));
    }
    Ok(print_doc(&doc))
}

/// The location new entries for `storage` go to: an existing one of the
/// flavour whose storage path it is (by name or `persistentStoragePath`),
/// else one named after the storage path.
fn location_key(doc: &Doc, flavor: Flavor, storage: &str) -> (Flavor, String) {
    let same = |v: &Value| matches!(v, Value::Str(s) | Value::Path(s) if normalise(s) == storage);
    doc.locations
        .iter()
        .filter(|((f, _), _)| *f == flavor)
        .find(
            |((_, name), loc)| match loc.lists.attrs.get("persistentStoragePath") {
                Some(v) => same(v),
                None => normalise(name) == storage,
            },
        )
        .map_or_else(|| (flavor, storage.to_string()), |(key, _)| key.clone())
}

/// The item for a promotion: the plain path when the module's defaults
/// recreate the owner and mode, else the attribute-set form with them.
pub(super) fn promoted_item(
    flavor: Flavor,
    p: &Promotion,
    path: &str,
    written: String,
    owner: Option<&str>,
) -> Item {
    let mode = p.mode & 0o7777;
    let default_mode = if p.is_dir { 0o755 } else { 0o644 };
    // Defaults: root:root at top level; in users.NAME the user and their
    // primary group (which darlings does not know, so the group is written
    // whenever anything else has to be).
    let default_owner = match owner {
        None => p.user == "root" && p.group == "root",
        Some(name) => p.user == name,
    };
    // impermanence has no owner or mode for files (the stored file keeps its
    // own); preservation enforces them at every boot, so they must be right.
    let has_perms = p.is_dir || flavor == Flavor::Preservation;
    let mut attrs = Attrs::default();
    if has_perms && !(default_owner && mode == default_mode) {
        attrs.0.push(("user".into(), Value::Str(p.user.clone())));
        attrs.0.push(("group".into(), Value::Str(p.group.clone())));
        attrs
            .0
            .push(("mode".into(), Value::Str(format!("{mode:04o}"))));
    }
    if flavor == Flavor::Preservation && owner.is_none() {
        attrs.0.extend(preservation_extras(path));
    }
    Item {
        path: written,
        attrs,
    }
}

/// What preservation's documentation (its README and examples page) says
/// some well-known paths need beyond a bind mount.
fn preservation_extras(path: &str) -> Vec<(String, Value)> {
    let set = |pairs: &[(&str, Value)]| {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), v.clone()))
            .collect()
    };
    let yes = Value::Bool(true);
    let symlink = Value::Str("symlink".into());
    match path {
        // Needed before the switch to the real root: the uid/gid maps for
        // user activation, the machine id for the journal.
        "/etc/machine-id" | "/var/lib/nixos" => set(&[("inInitrd", yes)]),
        // Missing until systemd first writes it: a link lets it be created
        // in storage.
        "/var/lib/systemd/random-seed" => set(&[
            ("how", symlink),
            ("inInitrd", yes.clone()),
            ("configureParent", yes),
        ]),
        // A bind mount would pre-create an empty key file, which sshd would
        // then neither regenerate nor load.
        p if p.starts_with("/etc/ssh/ssh_host_") => {
            set(&[("how", symlink), ("configureParent", yes)])
        }
        _ => Vec::new(),
    }
}

/// The home directory of `users.NAME` as the modules would resolve it.
fn home_of(user: &str, lists: &Lists, homes: &[(String, PathBuf)]) -> PathBuf {
    if let Some(Value::Str(h)) = lists.attrs.get("home") {
        return PathBuf::from(h);
    }
    if let Some((_, dir)) = homes.iter().find(|(u, _)| u == user) {
        return dir.clone();
    }
    default_home(user)
}

/// Every path the document already persists, absolute, with whether it is a
/// directory.
fn persisted_paths(doc: &Doc, homes: &[(String, PathBuf)]) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut add = |lists: &Lists, home: Option<&Path>| {
        for (items, is_dir) in [(&lists.dirs, true), (&lists.files, false)] {
            for item in items {
                let abs = match home {
                    Some(h) if !item.path.starts_with('/') => {
                        format!("{}/{}", h.display(), item.path)
                    }
                    _ => item.path.clone(),
                };
                out.push((normalise(&abs), is_dir));
            }
        }
    };
    for loc in doc.locations.values() {
        add(&loc.lists, None);
        for (user, lists) in &loc.users {
            add(lists, Some(&home_of(user, lists, homes)));
        }
    }
    out
}

/// True if `path` is already persisted: listed itself, or below a directory.
fn is_covered(taken: &[(String, bool)], path: &str) -> bool {
    taken.iter().any(|(t, is_dir)| {
        t == path
            || (*is_dir
                && (t == "/"
                    || path
                        .strip_prefix(t.as_str())
                        .is_some_and(|r| r.starts_with('/'))))
    })
}

pub(super) fn normalise(path: &str) -> String {
    let parts: Vec<&str> = path
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    if path.starts_with('/') {
        format!("/{}", parts.join("/"))
    } else {
        parts.join("/")
    }
}
